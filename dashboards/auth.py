"""The password gate: when ``DASHBOARD_PASSWORD`` is set, nothing but this form is served until
the right password is entered in the session.

Repeated wrong passwords are slowed down (:class:`LoginThrottle`): each check waits longer the
more wrong attempts came before it, from this session or from any session lately.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

import streamlit as st
from pydantic import SecretStr

AUTH_KEY = "gatepulse_authenticated"
PASSWORD_KEY = "password"
SESSION_KEY = "gatepulse_login_session"

BASE_DELAY_S = 0.25
"""The wait before the check that follows one wrong password; it doubles with each more."""
MAX_DELAY_S = 4.0
GLOBAL_FAILURES_PER_STEP = 4
"""Wrong passwords from all sessions together count one step per this many (an attacker who
opens a new session for every try is slowed down too, a user elsewhere only a little)."""
WINDOW_S = 300.0
"""Wrong passwords older than this are forgotten."""


class LoginThrottle:
    """Exponential backoff on wrong passwords, per session and across all sessions.

    :meth:`check` first waits :meth:`delay` for the session (``sleep``), then compares; a wrong
    password adds a failure to the session and to the global count, a right one clears the
    session's. ``clock`` (monotonic seconds) ages failures out after ``window_s``. Thread-safe:
    Streamlit runs each session in its own thread; the wait holds no lock.
    """

    def __init__(
        self,
        *,
        base_s: float = BASE_DELAY_S,
        max_s: float = MAX_DELAY_S,
        global_per_step: int = GLOBAL_FAILURES_PER_STEP,
        window_s: float = WINDOW_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_s, self.max_s, self.window_s = base_s, max_s, window_s
        self.global_per_step = global_per_step
        self.sleep, self.clock = sleep, clock
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[int, float]] = {}  # session -> (failures, last at)
        self._global: deque[float] = deque(maxlen=10_000)  # when each recent failure was

    def _forget(self, now: float) -> None:
        horizon = now - self.window_s
        while self._global and self._global[0] <= horizon:
            self._global.popleft()
        for session in [s for s, (_, at) in self._sessions.items() if at <= horizon]:
            del self._sessions[session]

    def delay(self, session: str) -> float:
        """Seconds the next check from ``session`` waits (0 before any wrong password)."""
        with self._lock:
            self._forget(self.clock())
            failures = self._sessions.get(session, (0, 0.0))[0]
            level = max(failures, len(self._global) // self.global_per_step)
        return 0.0 if level == 0 else min(self.max_s, self.base_s * 2 ** (level - 1))

    def check(self, session: str, candidate: str, password: SecretStr) -> bool:
        """Wait this session's delay, then compare ``candidate`` with the password."""
        if (wait := self.delay(session)) > 0:
            self.sleep(wait)
        ok = check(candidate, password)
        with self._lock:
            now = self.clock()
            if ok:
                self._sessions.pop(session, None)
            else:
                failures = self._sessions.get(session, (0, now))[0]
                self._sessions[session] = (failures + 1, now)
                self._global.append(now)
        return ok


@st.cache_resource
def default_throttle() -> LoginThrottle:
    """The process's one throttle, shared by every session."""
    return LoginThrottle()


def is_required(password: SecretStr) -> bool:
    return bool(password.get_secret_value())


def is_authenticated(password: SecretStr) -> bool:
    """True when no password is configured or this session has entered it."""
    if not is_required(password):
        return True
    return bool(st.session_state.get(AUTH_KEY))


def check(candidate: str, password: SecretStr) -> bool:
    """Constant-time comparison of ``candidate`` with the configured password."""
    return hmac.compare_digest(candidate.encode("utf-8"), password.get_secret_value().encode())


def login_page(password: SecretStr) -> None:
    """The only page served to a session that has not entered the password."""
    st.title("gatepulse")
    st.caption("This dashboard is protected. Enter the password set in DASHBOARD_PASSWORD.")
    with st.form("login", clear_on_submit=True):
        candidate = st.text_input("Password", type="password", key=PASSWORD_KEY)
        submitted = st.form_submit_button("Sign in")
    if submitted:
        session = st.session_state.setdefault(SESSION_KEY, secrets.token_hex(16))
        if default_throttle().check(session, candidate or "", password):
            st.session_state[AUTH_KEY] = True
            st.rerun()
        st.error("Wrong password.")


def logout() -> None:
    st.session_state.pop(AUTH_KEY, None)
