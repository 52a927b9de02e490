"""Owners' sign-in tokens: what verifies, what is refused, and the one generated key."""

from __future__ import annotations

import base64
import datetime as dt
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from core import owner_links as ol
from core.settings import DashboardSettings, SettingsError, load_settings

KEY = b"k" * 32
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
USER = 4_200_000_001


def _bytes(token: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_fresh_token_verifies_to_its_user_with_a_fresh_nonce() -> None:
    one, two = ol.make_token(KEY, USER, NOW), ol.make_token(KEY, USER, NOW)
    a, b = ol.verify(KEY, one, NOW), ol.verify(KEY, two, NOW + dt.timedelta(minutes=9))
    assert isinstance(a, ol.Claim) and isinstance(b, ol.Claim)
    assert (a.user_id, a.issued_at) == (USER, NOW)
    assert a.nonce != b.nonce and len(a.nonce) == 32


def test_the_link_points_at_the_dashboard_with_the_token() -> None:
    link = ol.make_link(KEY, USER, NOW, "https://stats.example.org/")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "stats.example.org", "/")
    (token,) = parse_qs(parts.query)[ol.QUERY_PARAM]
    claim = ol.verify(KEY, token, NOW)
    assert isinstance(claim, ol.Claim) and claim.user_id == USER


def test_another_key_is_a_forgery() -> None:
    assert ol.verify(b"x" * 32, ol.make_token(KEY, USER, NOW), NOW) is ol.Refusal.FORGED


def test_an_altered_user_id_breaks_the_signature() -> None:
    raw = _bytes(ol.make_token(KEY, USER, NOW))
    raw[7] ^= 0x01  # the user id's last byte: another user
    assert ol.verify(KEY, _token(bytes(raw)), NOW) is ol.Refusal.FORGED


def test_an_altered_signature_or_time_is_refused() -> None:
    for index in (10, len(_bytes(ol.make_token(KEY, USER, NOW))) - 1):
        raw = _bytes(ol.make_token(KEY, USER, NOW))
        raw[index] ^= 0x80
        assert ol.verify(KEY, _token(bytes(raw)), NOW) is ol.Refusal.FORGED


@pytest.mark.parametrize("token", ["", "abc", "!!!!", "é" * 86, "A" * 86, "A" * 200])
def test_garbage_is_malformed_or_forged_never_accepted(token: str) -> None:
    assert ol.verify(KEY, token, NOW) in (ol.Refusal.MALFORMED, ol.Refusal.FORGED)


def test_a_link_expires_after_ten_minutes_and_is_not_valid_before_it_was_made() -> None:
    token = ol.make_token(KEY, USER, NOW)
    assert isinstance(ol.verify(KEY, token, NOW + ol.LINK_TTL), ol.Claim)
    later = NOW + ol.LINK_TTL + dt.timedelta(seconds=1)
    assert ol.verify(KEY, token, later) is ol.Refusal.EXPIRED
    assert isinstance(ol.verify(KEY, token, NOW - dt.timedelta(seconds=30)), ol.Claim)
    assert ol.verify(KEY, token, NOW - dt.timedelta(minutes=5)) is ol.Refusal.EXPIRED


def test_only_positive_user_ids_get_tokens() -> None:
    with pytest.raises(ValueError, match="not a Telegram user id"):
        ol.make_token(KEY, 0, NOW)


def test_the_configured_key_wins_and_a_short_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DASHBOARD_LINK_KEY", "a-long-enough-secret-key")
    assert ol.load_key(load_settings().dashboard) == b"a-long-enough-secret-key"
    assert not (tmp_path / "var" / ol.KEY_FILE).exists()
    monkeypatch.setenv("DASHBOARD_LINK_KEY", "short")
    with pytest.raises(SettingsError, match="DASHBOARD_LINK_KEY"):
        load_settings()


def test_without_a_key_one_is_made_once_owner_only_and_reused(tmp_path: Path) -> None:
    settings = DashboardSettings(GATEPULSE_VAR_DIR=tmp_path / "var")
    key = ol.load_key(settings)
    path = tmp_path / "var" / ol.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 64 and ol.load_key(settings) == key
    assert [p.name for p in path.parent.iterdir()] == [ol.KEY_FILE]  # no temporary left


MAKE_KEY = (
    "import sys; from pathlib import Path; from core.owner_links import key_file; "
    "print(key_file(Path(sys.argv[1])).decode())"
)


def test_processes_racing_to_make_the_key_end_with_one_key(tmp_path: Path) -> None:
    path = tmp_path / "race" / ol.KEY_FILE
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", MAKE_KEY, str(path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    keys = {racer.communicate(timeout=60)[0].strip() for racer in racers}
    assert [racer.returncode for racer in racers] == [0] * 6
    assert keys == {path.read_text().strip()}


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ol.KEY_FILE
    ol.key_file(path)
    path.chmod(0o644)
    with pytest.raises(ol.KeyFileError, match="chmod 600"):
        ol.key_file(path)


def test_the_public_url_defaults_to_the_served_address() -> None:
    assert DashboardSettings().link_base_url == "http://127.0.0.1:8501"
    public = DashboardSettings(public_url="https://stats.example.org/")
    assert public.link_base_url == "https://stats.example.org"
    with pytest.raises(ValueError, match="not an http"):
        DashboardSettings(public_url="stats.example.org")
