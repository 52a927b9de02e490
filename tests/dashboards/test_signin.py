"""Owners' sign-in through the link (issue 27): a valid link opens a session, every refusal is
one sentence, sessions end, repeated failures lock a client out, sign-ins are audited.

Streamlit's AppTest runs the real entry script on this test's database (both backends); the
throttle's waits are recorded, not slept, and time is moved by replacing ``signin._now``.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from core import owner_links as ol
from core.db import Base, create_sync_engine
from core.models import AdminStatus, GroupAdmin, ProtectedGroup
from dashboards import auth, signin
from dashboards.auth import LoginThrottle
from tests.dashboards.conftest import APP

KEY = "a-test-link-key-of-some-length"
OWNER = 4_200_000_001


@pytest.fixture
def env(dashboard_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """The dashboard with a link key, no password, a throttle that records its waits."""
    monkeypatch.setenv("DASHBOARD_LINK_KEY", KEY)
    monkeypatch.setenv("GATEPULSE_VAR_DIR", str(tmp_path / "var"))
    slept: list[float] = []
    throttle = LoginThrottle(sleep=slept.append)
    monkeypatch.setattr(auth, "default_throttle", lambda: throttle)
    return {"url": dashboard_env, "slept": slept, "throttle": throttle}


def _open(**params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def _token(user_id: int = OWNER, *, key: str = KEY, ago: dt.timedelta = dt.timedelta()) -> str:
    return ol.make_token(key.encode(), user_id, dt.datetime.now(dt.UTC) - ago)


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _rows(url: str, table: str) -> list[dict[str, Any]]:
    engine = create_sync_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(Base.metadata.tables[table]))
            return [dict(r._mapping) for r in rows]
    finally:
        engine.dispose()


def _administers(url: str, user_id: int, groups: list[int]) -> None:
    """``user_id`` administers ``groups`` (as the bot records it in ``group_admins``)."""
    engine = create_sync_engine(url)
    try:
        with engine.begin() as conn:
            for group_id in groups:
                conn.execute(sa.insert(ProtectedGroup).values(id=group_id, title=f"G{group_id}"))
                conn.execute(
                    sa.insert(GroupAdmin).values(
                        group_id=group_id, user_id=user_id, status=AdminStatus.ADMINISTRATOR
                    )
                )
    finally:
        engine.dispose()


def _signed_in(at: AppTest) -> int | None:
    """The owner this run shows the pages to (None: refused, or the operator's view)."""
    assert not at.exception, [e.value for e in at.exception]
    if signin.VIEWER_KIND_KEY not in at.session_state:
        return None
    if at.session_state[signin.VIEWER_KIND_KEY] != signin.OWNER:
        return None
    return int(at.session_state[signin.VIEWER_USER_KEY])


def test_a_valid_link_signs_the_owner_in_and_a_reload_keeps_the_session(
    env: dict[str, Any],
) -> None:
    _administers(env["url"], OWNER, [-1001, -1002])
    token = _token()
    at = _open(owner=token)
    assert _errors(at) == [] and _signed_in(at) == OWNER
    session = at.query_params[signin.SESSION_PARAM]
    assert session and ol.QUERY_PARAM not in at.query_params  # the token left the address
    assert at.session_state[signin.OWNER_SESSION_KEY] in session
    # a reload of the address bar (a new Streamlit session) keeps the owner signed in
    reloaded = _open(session=at.session_state[signin.OWNER_SESSION_KEY])
    assert _errors(reloaded) == [] and _signed_in(reloaded) == OWNER
    # the link's nonce is recorded, and the sign-in audited without the token
    (use,) = _rows(env["url"], "dashboard_link_uses")
    assert len(use["nonce"]) == 32
    (audit,) = _rows(env["url"], "dashboard_audit_log")
    assert (audit["viewer"], audit["user_id"], audit["action"]) == ("owner", OWNER, "sign_in")
    assert audit["group_ids"] == [-1002, -1001]  # the groups they administer now
    assert token not in str(audit) and token[:20] not in str(audit)
    assert env["slept"] == []  # nothing failed: nothing waited


def _altered_id() -> str:
    raw = bytearray(base64.urlsafe_b64decode(_token() + "=="))
    raw[7] ^= 0x02  # another user id, the signature left as it was
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


REFUSALS: dict[str, Callable[[], str]] = {
    "forged": lambda: _token(key="another-key-the-attacker-chose"),
    "altered_id": _altered_id,
    "expired": lambda: _token(ago=ol.LINK_TTL + dt.timedelta(seconds=5)),
    "garbage": lambda: "not-a-token",
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_bad_link_is_refused_with_one_sentence(env: dict[str, Any], case: str) -> None:
    at = _open(owner=REFUSALS[case]())
    assert _errors(at) == [signin.REFUSED] and _signed_in(at) is None
    assert signin.SESSION_PARAM not in at.query_params
    assert len(at.main) == 1  # the sentence and nothing else: no page, no detail
    assert _rows(env["url"], "dashboard_link_uses") == []
    assert _rows(env["url"], "dashboard_audit_log") == []


def test_a_used_link_is_refused_the_second_time(env: dict[str, Any]) -> None:
    token = _token()
    assert _signed_in(_open(owner=token)) == OWNER
    again = _open(owner=token)
    assert _errors(again) == [signin.REFUSED] and _signed_in(again) is None
    assert len(_rows(env["url"], "dashboard_link_uses")) == 1


def test_a_dashboard_without_the_bots_key_refuses_its_links(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No DASHBOARD_LINK_KEY here: the dashboard makes its own key, which signed nothing."""
    monkeypatch.delenv("DASHBOARD_LINK_KEY")
    at = _open(owner=_token())
    assert _errors(at) == [signin.REFUSED] and _signed_in(at) is None
    assert (tmp_path / "var" / ol.KEY_FILE).exists()
    # a key file others may read is not used at all
    (tmp_path / "var" / ol.KEY_FILE).chmod(0o644)
    at = _open(owner=_token())
    assert _errors(at) == [signin.UNAVAILABLE] and _signed_in(at) is None


def test_the_session_ends_after_the_configured_hours(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHBOARD_SESSION_HOURS", "2")
    at = _open(owner=_token())
    session = at.session_state[signin.OWNER_SESSION_KEY]
    start = dt.datetime.now(dt.UTC)
    monkeypatch.setattr(signin, "_now", lambda: start + dt.timedelta(hours=1, minutes=59))
    assert _signed_in(at.run()) == OWNER
    assert _signed_in(_open(session=session)) == OWNER
    monkeypatch.setattr(signin, "_now", lambda: start + dt.timedelta(hours=2, seconds=1))
    ended = at.run()
    assert _errors(ended) == [signin.SESSION_ENDED] and _signed_in(ended) is None
    assert signin.SESSION_PARAM not in ended.query_params
    reload = _open(session=session)
    assert _errors(reload) == [signin.SESSION_ENDED] and _signed_in(reload) is None


def test_an_unknown_session_id_is_refused(env: dict[str, Any]) -> None:
    at = _open(session="made-up-session-id")
    assert _errors(at) == [signin.SESSION_ENDED] and _signed_in(at) is None


def test_repeated_bad_links_from_one_client_slow_it_then_lock_it_out(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Across sessions (each _open is a new one): the client's address is what counts."""
    monkeypatch.setattr(auth, "client_id", lambda: "203.0.113.7")
    for _ in range(auth.LOCK_AFTER):
        assert _errors(_open(owner=REFUSALS["forged"]())) == [signin.REFUSED]
    assert env["slept"] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    locked = _open(owner=_token())  # even a valid link, while locked out
    assert _errors(locked) == ["Too many failed sign-ins from here: try again in 15 minutes."]
    assert _signed_in(locked) is None and _rows(env["url"], "dashboard_link_uses") == []
    # the password form of the same client is locked out too
    monkeypatch.setenv("DASHBOARD_PASSWORD", "s3cret")
    form = _open()
    form.text_input(key="password").input("s3cret")
    form.button[0].click().run()
    assert _errors(form) == ["Too many failed sign-ins from here: try again in 15 minutes."]
    assert auth.AUTH_KEY not in form.session_state
    # another client is only slowed by the global count
    monkeypatch.setattr(auth, "client_id", lambda: "198.51.100.1")
    assert _signed_in(_open(owner=_token())) == OWNER


def test_the_operators_sign_in_and_downloads_are_audited(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHBOARD_PASSWORD", "s3cret")
    at = _open()
    at.text_input(key="password").input("s3cret")
    at.button[0].click().run()
    assert not at.exception and _errors(at) == []
    assert at.session_state[signin.VIEWER_KIND_KEY] == signin.OPERATOR
    (audit,) = _rows(env["url"], "dashboard_audit_log")
    assert (audit["viewer"], audit["user_id"], audit["action"]) == ("operator", None, "sign_in")
    assert audit["client"]


def _download_page(url: str, engine: bool) -> None:
    # AppTest.from_function runs this function's source alone: it imports what it uses
    from core.db import create_sync_engine
    from dashboards import signin
    from dashboards.cache import CachedRun
    from dashboards.scope import Scope

    run = CachedRun(url, 60, Scope.operator())
    signin.record_download(create_sync_engine(url) if engine else run, "f.csv")


@pytest.mark.parametrize("through", ["cached_run", "engine"])
def test_record_download_names_the_viewer_the_download_and_the_groups(
    env: dict[str, Any], through: str
) -> None:
    """``record_download`` as a page calls it, in an owner's session and the operator's."""
    owner = AppTest.from_function(_download_page, args=(env["url"], through == "engine"))
    owner.session_state[signin.VIEWER_KIND_KEY] = signin.OWNER
    owner.session_state[signin.VIEWER_USER_KEY] = OWNER
    owner.session_state[signin.VIEWER_GROUPS_KEY] = [-1002, -1001]
    assert not owner.run().exception
    operator = AppTest.from_function(_download_page, args=(env["url"], through == "engine"))
    operator.session_state[signin.VIEWER_KIND_KEY] = signin.OPERATOR
    assert not operator.run().exception
    rows = sorted(_rows(env["url"], "dashboard_audit_log"), key=lambda r: r["viewer"])
    shown = [(r["viewer"], r["user_id"], r["action"], r["download"], r["group_ids"]) for r in rows]
    assert shown == [
        ("operator", None, "download", "f.csv", None),
        ("owner", OWNER, "download", "f.csv", [-1002, -1001]),
    ]


def _table_page(url: str) -> None:
    # AppTest.from_function runs this function's source alone: it imports what it uses
    import datetime as dt
    from typing import Any  # noqa: F401 (its annotations run: the function is run alone)

    import pandas as pd
    import streamlit as st

    from dashboards import ui
    from dashboards.cache import CachedRun
    from dashboards.metrics import DateRange
    from dashboards.scope import Scope

    day = dt.date(2026, 3, 2)
    run = CachedRun(url, 60, Scope.operator())
    st.session_state[ui.CONTEXT_KEY] = ui.PageContext(run, DateRange(day, day), ())
    buttons: list[dict[str, Any]] = []
    real = st.download_button

    def download_button(*args: Any, **kwargs: Any) -> bool:
        buttons.append(kwargs)
        return bool(real(*args, **kwargs))

    st.download_button = download_button  # type: ignore[assignment]
    ui.table(pd.DataFrame({"group": ["Alpha"], "passed": [3]}), "funnel by group")
    (button,) = buttons
    button["on_click"](*button["args"])  # what Streamlit calls when the CSV is downloaded


def test_a_pages_csv_download_is_audited(env: dict[str, Any]) -> None:
    """Every page table's download button records who downloaded which table."""
    at = AppTest.from_function(_table_page, args=(env["url"],))
    at.session_state[signin.VIEWER_KIND_KEY] = signin.OWNER
    at.session_state[signin.VIEWER_USER_KEY] = OWNER
    at.session_state[signin.VIEWER_GROUPS_KEY] = [-1001]
    assert not at.run().exception
    (row,) = _rows(env["url"], "dashboard_audit_log")
    assert (row["viewer"], row["user_id"], row["action"], row["download"], row["group_ids"]) == (
        "owner",
        OWNER,
        "download",
        "funnel by group",
        [-1001],
    )
