"""`gatepulse owner-link USER_ID`: prints a link that verifies for that user, refuses bad ids."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from cli.main import app
from core import owner_links as ol
from core.settings import load_settings


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
