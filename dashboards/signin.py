"""Owners sign in from the bot (issue 27): ``?owner=<token>`` opens a session, ``?session=<id>``
keeps it across reloads.

A link's token (:mod:`core.owner_links`) is checked, then its nonce is recorded in
``dashboard_link_uses``: the insert fails for a link used before, which is refused. A valid link
opens a session kept in this process (:class:`SessionStore`; Streamlit cannot set cookies), for
``DASHBOARD_SESSION_HOURS``; the address then carries ``?session=<id>`` instead of the token.
The signed-in owner is ``st.session_state["viewer_user_id"]`` (``viewer_kind`` ``"owner"``),
which the pages' scope reads; the operator (password, or none in the demo) is
``viewer_kind`` ``"operator"`` and sees every group.

Every refusal (a wrong or forged signature, an altered id, a link used before or too old, an
unknown or ended session) is one sentence with no detail, and counts as a failed sign-in of the
client in the password form's :class:`dashboards.auth.LoginThrottle`. Sign-ins and downloads are
recorded in ``dashboard_audit_log`` (never the token).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NoReturn

import sqlalchemy as sa
import streamlit as st
from sqlalchemy.engine import Connection, Engine

from core.models import DashboardAuditLog, DashboardLinkUse
from core.owner_links import QUERY_PARAM, Claim, KeyFileError, Refusal, load_key, verify
from core.settings import DashboardSettings
from dashboards import auth
from dashboards.cache import CachedRun, get_engine
from dashboards.scope import load_scope

log = logging.getLogger(__name__)

SESSION_PARAM = "session"
VIEWER_USER_KEY = "viewer_user_id"
VIEWER_KIND_KEY = "viewer_kind"
VIEWER_GROUPS_KEY = "viewer_group_ids"
"""The owner's groups (:mod:`dashboards.scope`, read on each view); recorded with each sign-in
and download."""
OWNER_SESSION_KEY = "gatepulse_owner_session"
OWNER, OPERATOR = "owner", "operator"
SIGN_IN, DOWNLOAD = "sign_in", "download"

REFUSED = (
    "This sign-in link cannot be used (each link works once, within 10 minutes): "
    "send /dashboard to the bot for a new one."
)
SESSION_ENDED = "Your dashboard session has ended: send /dashboard to the bot for a new link."
UNAVAILABLE = "Owner sign-in is not available on this server: ask its operator."


@dataclass(frozen=True)
class OwnerSession:
    user_id: int
    expires_at: dt.datetime


class SessionStore:
    """Owners' sessions in this process, by random id, until they expire. Thread-safe (one
    thread per Streamlit session). A restart ends every session: owners ask for a new link."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, OwnerSession] = {}

    def open(self, user_id: int, now: dt.datetime, hours: float) -> str:
        session_id = secrets.token_urlsafe(24)
        with self._lock:
            self._forget(now)
            self._sessions[session_id] = OwnerSession(user_id, now + dt.timedelta(hours=hours))
        return session_id

    def get(self, session_id: str, now: dt.datetime) -> OwnerSession | None:
        """The session, while it lasts."""
        with self._lock:
            self._forget(now)
            return self._sessions.get(session_id)

    def close(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def _forget(self, now: dt.datetime) -> None:
        for ended in [s for s, v in self._sessions.items() if v.expires_at <= now]:
            del self._sessions[ended]


@st.cache_resource
def session_store() -> SessionStore:
    """The process's one store, shared by every Streamlit session."""
    return SessionStore()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction on the dashboard's engine: its connections autocommit, and the
    read-only role's sessions start read-only (``default_transaction_read_only``), so the
    transaction asks for READ WRITE; the role's grants still allow INSERT into these two
    tables only."""
    level = "SERIALIZABLE" if engine.dialect.name == "sqlite" else "READ COMMITTED"
    with engine.connect() as plain:
        conn = plain.execution_options(isolation_level=level)
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ WRITE")
            yield conn


def use_link(engine: Engine, claim: Claim, now: dt.datetime) -> bool:
    """Record the link's nonce as used; False when it was used before."""
    row = {"nonce": claim.nonce, "used_at": now}
    try:
        with _writing(engine) as conn:
            conn.execute(sa.insert(DashboardLinkUse).values(**row))
    except sa.exc.IntegrityError:
        return False
    return True


def record(
    engine: Engine,
    action: str,
    *,
    viewer: str,
    user_id: int | None,
    download: str | None = None,
    group_ids: list[int] | None = None,
    client: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """One ``dashboard_audit_log`` row (who, when, what, which groups, from where)."""
    row = {
        "id": secrets.token_hex(16),
        "timestamp": now or _now(),
        "viewer": viewer,
        "user_id": user_id,
        "action": action,
        "download": download[:128] if download else None,
        "group_ids": sorted(int(g) for g in group_ids) if group_ids is not None else sa.null(),
        "client": client[:64] if client else None,
    }
    with _writing(engine) as conn:
        conn.execute(sa.insert(DashboardAuditLog).values(**row))


def _record_view(engine: Engine, action: str, download: str | None = None) -> None:
    """Record ``action`` of this session's viewer (owner or operator)."""
    owner = st.session_state.get(VIEWER_KIND_KEY) == OWNER
    groups = st.session_state.get(VIEWER_GROUPS_KEY)
    record(
        engine,
        action,
        viewer=OWNER if owner else OPERATOR,
        user_id=st.session_state.get(VIEWER_USER_KEY) if owner else None,
        download=download,
        group_ids=list(groups) if groups is not None else None,
        client=auth.client_id(),
    )


def record_download(engine_or_run: Engine | CachedRun, name: str) -> None:
    """Record that this session's viewer downloaded ``name`` (a page's CSV, say). Pages call it
    from the download button's ``on_click``."""
    run = engine_or_run
    _record_view(get_engine(run.url) if isinstance(run, CachedRun) else run, DOWNLOAD, name)


def record_operator_sign_in(url: str) -> None:
    """The operator entered the password (``auth.login_page``'s ``on_sign_in``)."""
    st.session_state[VIEWER_KIND_KEY] = OPERATOR
    st.session_state.pop(VIEWER_USER_KEY, None)
    _record_view(get_engine(url), SIGN_IN)


def _refuse(message: str, client: str) -> NoReturn:
    """Say ``message`` (one sentence), count a failure for ``client``, and stop the run."""
    auth.default_throttle().record(client, ok=False)
    _sign_out()
    st.error(message)
    st.stop()


def _sign_out() -> None:
    for key in (VIEWER_USER_KEY, VIEWER_KIND_KEY, OWNER_SESSION_KEY):
        st.session_state.pop(key, None)
    st.query_params.pop(SESSION_PARAM, None)


def _follow_link(token: str, settings: DashboardSettings, url: str, client: str) -> int:
    """The user the link signs in, once its nonce is recorded; otherwise the run stops with
    one sentence."""
    now = _now()
    try:
        key = load_key(settings)
    except (KeyFileError, OSError) as exc:
        log.error("owner sign-in: no link key: %s", exc)
        st.error(UNAVAILABLE)
        st.stop()
    claim = verify(key, token, now)
    if isinstance(claim, Claim) and not use_link(get_engine(url), claim, now):
        claim = Refusal.REPLAYED
    if not isinstance(claim, Claim):
        hint = (
            " (if every link is refused so, the bot signs with another key: give both the "
            "same DASHBOARD_LINK_KEY)"
            if claim is Refusal.FORGED
            else ""
        )
        log.warning("owner sign-in refused: %s, client %s%s", claim.value, client, hint)
        _refuse(REFUSED, client)
    auth.default_throttle().record(client, ok=True)
    return claim.user_id


def owner_viewer(settings: DashboardSettings, url: str) -> int | None:
    """The signed-in owner's user id; ``None`` for the operator's view (password or none).

    Follows ``?owner=`` links, keeps ``?session=`` sessions; a refused link, an unknown or
    ended session, or a locked-out client stops the run with one sentence.
    """
    params = st.query_params
    token, session_id = params.get(QUERY_PARAM), params.get(SESSION_PARAM)
    if token is None and session_id is None and OWNER_SESSION_KEY not in st.session_state:
        if st.session_state.get(VIEWER_KIND_KEY) != OPERATOR:
            st.session_state.pop(VIEWER_USER_KEY, None)
        return None
    client = auth.client_id()
    throttle, store = auth.default_throttle(), session_store()
    known = st.session_state.get(OWNER_SESSION_KEY)
    if token is not None:
        del params[QUERY_PARAM]  # the token leaves the address bar (and the history) at once
    new_sign_in = known is None or token is not None  # slowed, or refused when locked out
    if new_sign_in and not throttle.admit(client):
        _sign_out()
        st.error(auth.locked_message(throttle.locked_for(client)))
        st.stop()
    if token is not None:
        user_id = _follow_link(token, settings, url, client)
        session_id = store.open(user_id, _now(), settings.session_hours)
        st.session_state[OWNER_SESSION_KEY] = session_id
        st.session_state[VIEWER_KIND_KEY] = OWNER
        st.session_state[VIEWER_USER_KEY] = user_id
        engine = get_engine(url)
        st.session_state[VIEWER_GROUPS_KEY] = list(load_scope(engine, user_id).group_ids)
        _record_view(engine, SIGN_IN)
    else:
        session_id = known or session_id
    session = store.get(str(session_id), _now())
    if session is None:
        _refuse(SESSION_ENDED, client)
    st.session_state[OWNER_SESSION_KEY] = session_id
    st.session_state[VIEWER_KIND_KEY] = OWNER
    st.session_state[VIEWER_USER_KEY] = session.user_id
    if params.get(SESSION_PARAM) != session_id:
        params[SESSION_PARAM] = str(session_id)  # a reload keeps the session
    st.sidebar.caption(f"Signed in from Telegram as user {session.user_id}")
    if st.sidebar.button("Sign out", key="owner_sign_out"):
        store.close(str(session_id))
        _sign_out()
        st.rerun()
    return session.user_id
