"""The Dagster resources are configured from the settings the entry point built, and the
secrets that came from the environment stay names (``dg.EnvVar``) in Dagster's config."""

from __future__ import annotations

import dagster as dg
import pytest

from core.settings import BotSettings, Settings, SummaryLLMSettings
from pipelines.assets.maintenance import raw_log_retention
from pipelines.definitions import resources_for
from pipelines.resources import (
    BotTelegramResource,
    DatabaseResource,
    PipelineConfigResource,
    SummaryConfigResource,
    SummaryLLMResource,
)
from tests.pipelines.results import materialization
from tests.pipelines.seed import seed


def test_secrets_from_the_environment_are_env_vars(
    monkeypatch: pytest.MonkeyPatch, app_settings: Settings
) -> None:
    monkeypatch.setenv("DATABASE_URL", app_settings.db.url)
    monkeypatch.setenv("BOT_TOKEN", "42:from-the-environment")
    monkeypatch.setenv("SUMMARY_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("SUMMARY_LLM_MODEL", "tiny")
    monkeypatch.setenv("SUMMARY_LLM_API_KEY", "sk-from-the-environment")
    settings = app_settings.replace(
        bot=BotSettings(_env_file=None), summary_llm=SummaryLLMSettings(_env_file=None)
    )
    resources = resources_for(settings)
    database = resources["database"]
    telegram = resources["telegram"]
    llm = resources["summary_llm"]
    assert isinstance(database, DatabaseResource) and isinstance(telegram, BotTelegramResource)
    assert isinstance(llm, SummaryLLMResource)
    # what Dagster stores and shows as the resources' config: names, not values
    assert database._convert_to_config_dictionary() == {"url": {"env": "DATABASE_URL"}}
    assert telegram._convert_to_config_dictionary()["token"] == {"env": "BOT_TOKEN"}
    shown = llm._convert_to_config_dictionary()
    assert shown["api_key"] == {"env": "SUMMARY_LLM_API_KEY"}
    assert (shown["base_url"], shown["model"]) == ("http://127.0.0.1:9/v1", "tiny")


def test_values_not_from_the_environment_are_passed_as_they_are(
    monkeypatch: pytest.MonkeyPatch, app_settings: Settings
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("BOT_TOKEN", "1:some-other-token")  # not the settings' token
    resources = resources_for(app_settings)
    database = resources["database"]
    telegram = resources["telegram"]
    assert isinstance(database, DatabaseResource) and isinstance(telegram, BotTelegramResource)
    assert database._convert_to_config_dictionary() == {"url": app_settings.db.url}
    assert database.database_url == app_settings.db.url
    assert telegram.bot_settings().token == app_settings.bot.token
    config = resources["pipeline_config"]
    assert isinstance(config, PipelineConfigResource)
    assert config.retention_days == app_settings.pipelines.retention_days
    assert config.spool_dir == str(app_settings.writer.spool_dir)
    summary = resources["summary_config"]
    assert isinstance(summary, SummaryConfigResource) and summary.with_text
    llm = resources["summary_llm"]
    assert isinstance(llm, SummaryLLMResource) and not llm.enabled


def test_an_asset_runs_with_the_url_as_an_env_var(
    monkeypatch: pytest.MonkeyPatch, db_url: str, app_settings: Settings
) -> None:
    seed(db_url)
    monkeypatch.setenv("DATABASE_URL", db_url)
    resources = {
        **resources_for(app_settings),
        "pipeline_config": PipelineConfigResource(retention_days=36500),
    }
    result = dg.materialize([raw_log_retention], resources=resources)
    assert result.success
    assert materialization(result, raw_log_retention.key).metadata["row_count"].value == 0


def test_a_database_resource_without_a_url_says_so() -> None:
    with pytest.raises(ValueError, match="no url"):
        _ = DatabaseResource(url="").database_url
