"""`gatepulse owner-link USER_ID`: prints a link that verifies for that user, refuses bad ids."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from cli.demo.report import demo_owner, print_owner_link
from cli.main import app
from core import owner_links as ol
from core.settings import load_settings
from sandbox.simulator.scenario import build_scenario


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DASHBOARD_LINK_KEY", raising=False)
    monkeypatch.setenv("GATEPULSE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DASHBOARD_PUBLIC_URL", "https://stats.example.org")
    return tmp_path / "var"


def test_the_printed_link_signs_in_that_user_with_the_shared_key(var_dir: Path) -> None:
    result = CliRunner().invoke(app, ["owner-link", "4200000001"])
    assert result.exit_code == 0, result.output
    link = result.stdout.strip()
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == "https://stats.example.org"
    (token,) = parse_qs(parts.query)[ol.QUERY_PARAM]
    # the key the command made is the one the dashboard and the bot load
    key = ol.load_key(load_settings().dashboard)
    assert (var_dir / ol.KEY_FILE).exists()
    claim = ol.verify(key, token, dt.datetime.now(dt.UTC))
    assert isinstance(claim, ol.Claim) and claim.user_id == 4200000001


@pytest.mark.parametrize("bad", ["abc", "0", "-1001234567890", "12.5"])
def test_a_bad_user_id_is_one_clear_line_and_no_link(var_dir: Path, bad: str) -> None:
    result = CliRunner().invoke(app, ["owner-link", bad])
    assert result.exit_code == 2
    assert "is not a Telegram user id" in result.output and "owner=" not in result.output
    assert not (var_dir / ol.KEY_FILE).exists()


def test_the_demo_prints_an_owners_link_beside_the_operators_address(
    var_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = build_scenario(seed=5, days=1, groups=3, scale=0.05)
    # the person who administers two groups is the one shown (the demo's worlds may have one)
    first, second, third = scenario.groups
    both = first.creator_id
    scenario.groups = [first, replace(second, admin_ids=[*second.admin_ids, both]), third]
    assert demo_owner(scenario) == (both, [first.title, second.title])
    link = print_owner_link(load_settings().dashboard, scenario)
    out = capsys.readouterr().out
    assert link is not None and link in out.replace("\n", "")
    assert "https://stats.example.org" in out and f"owner-link {both}" in out
    (token,) = parse_qs(urlsplit(link).query)[ol.QUERY_PARAM]
    claim = ol.verify(ol.load_key(load_settings().dashboard), token, dt.datetime.now(dt.UTC))
    assert isinstance(claim, ol.Claim) and claim.user_id == both
