import os
import subprocess
import sys

import pytest
from pydantic import SecretStr

from core.settings import (
    BotSettings,
    DatabaseSettings,
    PipelineSettings,
    SettingsError,
    load_settings,
    normalize_database_url,
)


def test_default_database_is_a_sqlite_file_under_var(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("GATEPULSE_VAR_DIR", str(tmp_path / "var"))
    db = DatabaseSettings(_env_file=None)
    assert db.url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'gatepulse.db'}"
    assert db.backend == "sqlite"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@127.0.0.1:5432/gp", "postgresql+asyncpg://u:p@127.0.0.1:5432/gp"),
        ("postgres://u@db/gp", "postgresql+asyncpg://u@db/gp"),
        ("postgresql+asyncpg://u@db/gp", "postgresql+asyncpg://u@db/gp"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
    ],
)
def test_database_urls_get_the_async_driver(given, expected):
    assert normalize_database_url(given) == expected


@pytest.mark.parametrize(
    "bad",
    ["mysql://u@h/db", "not a url", "postgresql://u@h:port/db", "postgresql://u@h", "sqlite://"],
)
def test_bad_database_url_is_refused_with_the_variable_named(monkeypatch, bad):
    monkeypatch.setenv("DATABASE_URL", bad)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith("DATABASE_URL: ")
    assert "\n" not in message


def test_bad_database_url_on_the_command_line_is_one_line_not_a_traceback(tmp_path):
    env = {**os.environ, "DATABASE_URL": "mysql://root@localhost/gp"}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "tables"], env=env, capture_output=True, text=True,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "DATABASE_URL" in lines[0]
    assert "Traceback" not in done.stderr


def test_other_areas_name_their_prefixed_variable(monkeypatch):
    monkeypatch.setenv("GATE_CACHE_JITTER", "2")
    with pytest.raises(SettingsError, match=r"^GATE_CACHE_JITTER: "):
        load_settings()


def test_bot_token_is_secret_and_never_printed(monkeypatch):
    monkeypatch.setenv("BOT_TOKEN", "42:very-secret")
    bot = BotSettings(_env_file=None)
    assert isinstance(bot.token, SecretStr)
    assert "very-secret" not in repr(bot)
    assert "very-secret" not in str(bot.model_dump())
    assert bot.token.get_secret_value() == "42:very-secret"


def test_env_example_lists_every_setting():
    from pathlib import Path

    from core import settings as s

    text = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    listed = {
        line.split("=", 1)[0].lstrip("# ").strip() for line in text.splitlines() if "=" in line
    }
    variables = [name for names in s.environment_variables().values() for name in names]
    assert {"DATABASE_URL", "BOT_TOKEN", "GATE_CACHE_JITTER", "DASHBOARD_PORT"} <= set(variables)
    missing = [name for name in variables if name not in listed]
    assert not missing, f".env.example lacks {missing}"


@pytest.mark.parametrize(
    "bad",
    [
        "postgresql://u:hunter2@h:port/db",
        "postgresql://u:hunter2@:5432/db",
        "mysql://u:hunter2@h/x",
    ],
)
def test_a_refused_database_url_never_shows_its_password(bad):
    with pytest.raises(ValueError) as info:
        normalize_database_url(bad)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    "good", ["5 * * * *", "* * * * *", "*/15 0-6,22 * jan-mar mon-fri", "0 6 * * 1", "@hourly"]
)
def test_the_refresh_cadence_takes_a_cron_string(monkeypatch, good):
    monkeypatch.setenv("PIPELINES_REFRESH_CRON", good)
    assert load_settings().pipelines.refresh_cron == good


def test_the_refresh_cadence_defaults_to_hourly_at_minute_5(monkeypatch):
    monkeypatch.delenv("PIPELINES_REFRESH_CRON", raising=False)
    assert PipelineSettings(_env_file=None).refresh_cron == "5 * * * *"


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("every minute", "expected 5 fields"),
        ("5 * * *", "expected 5 fields"),
        ("60 * * * *", "'60' is not a valid minute"),
        ("* 24 * * *", "'24' is not a valid hour"),
        ("* * 0 * *", "'0' is not a valid day of month"),
        ("* * * 13 *", "'13' is not a valid month"),
        ("* * * * funday", "'funday' is not a valid day of week"),
        ("*/0 * * * *", "'*/0' is not a valid minute"),
        ("30-10 * * * *", "'30-10' is not a valid minute"),
    ],
)
def test_a_bad_refresh_cadence_is_refused_with_the_variable_named(monkeypatch, bad, says):
    monkeypatch.setenv("PIPELINES_REFRESH_CRON", bad)
    with pytest.raises(SettingsError, match=r"^PIPELINES_REFRESH_CRON: ") as info:
        load_settings()
    assert says in str(info.value)


def test_the_alerts_cadence_is_checked_like_the_refresh_cadence(monkeypatch):
    monkeypatch.setenv("PIPELINES_ALERTS_CRON", "* * * * *")
    assert load_settings().pipelines.alerts_cron == "* * * * *"
    monkeypatch.setenv("PIPELINES_ALERTS_CRON", "every minute")
    with pytest.raises(ValueError, match="expected 5 fields"):
        load_settings()
