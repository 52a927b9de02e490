"""The password gate: when ``DASHBOARD_PASSWORD`` is set, nothing but this form is served until
the right password is entered in the session.

Repeated wrong passwords are slowed down (:class:`LoginThrottle`): each check waits longer the
more wrong attempts came before it, from this client (its address, else its session) or from
any client lately; a client with too many failures in a row is locked out for a while. Owners'
sign-in links (:mod:`dashboards.signin`) go through the same throttle.
"""

from __future__ import annotations

import hmac
import math
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
LOCK_AFTER = 10
"""Failed sign-ins from one client within :data:`LOCK_WINDOW_S` that lock it out..."""
LOCK_WINDOW_S = 900.0
LOCK_S = 900.0
"""...for this long (every attempt from it is refused meanwhile, the right password too)."""
LOCKED = "Too many failed sign-ins from here: try again in {minutes} minutes."


class LoginThrottle:
    """Exponential backoff on failed sign-ins, per client and across all clients, and a
    lockout of a client after ``lock_after`` failures within ``lock_window_s``.

    A client is whatever the caller names (:func:`client_id`: the address, else the session).
    :meth:`admit` waits :meth:`delay` for the client (``sleep``), or refuses at once while it is
    locked out; :meth:`record` then counts the attempt: a failure adds to the client's and the
    global count, a success clears the client's. :meth:`check` does both around a password
    comparison. ``clock`` (monotonic seconds) ages failures out after ``window_s``.
    Thread-safe: Streamlit runs each session in its own thread; the wait holds no lock.
    """

    def __init__(
        self,
        *,
        base_s: float = BASE_DELAY_S,
        max_s: float = MAX_DELAY_S,
        global_per_step: int = GLOBAL_FAILURES_PER_STEP,
        window_s: float = WINDOW_S,
        lock_after: int = LOCK_AFTER,
        lock_window_s: float = LOCK_WINDOW_S,
        lock_s: float = LOCK_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_s, self.max_s, self.window_s = base_s, max_s, window_s
        self.global_per_step = global_per_step
        self.lock_after, self.lock_window_s, self.lock_s = lock_after, lock_window_s, lock_s
        self.sleep, self.clock = sleep, clock
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[int, float]] = {}  # client -> (failures, last at)
        self._global: deque[float] = deque(maxlen=10_000)  # when each recent failure was
        self._recent: dict[str, deque[float]] = {}  # client -> its failures (lockout window)
        self._locked: dict[str, float] = {}  # client -> locked out until

    def _forget(self, now: float) -> None:
        horizon = now - self.window_s
        while self._global and self._global[0] <= horizon:
            self._global.popleft()
        for session in [s for s, (_, at) in self._sessions.items() if at <= horizon]:
            del self._sessions[session]
        for client, failures in list(self._recent.items()):
            while failures and failures[0] <= now - self.lock_window_s:
                failures.popleft()
            if not failures:
                del self._recent[client]
        for client in [c for c, until in self._locked.items() if until <= now]:
            del self._locked[client]

    def locked_for(self, client: str) -> float:
        """Seconds ``client`` stays locked out (0: it is not)."""
        with self._lock:
            now = self.clock()
            self._forget(now)
            return max(0.0, self._locked.get(client, now) - now)

    def delay(self, session: str) -> float:
        """Seconds the next check from ``session`` waits (0 before any wrong password)."""
        with self._lock:
            self._forget(self.clock())
            failures = self._sessions.get(session, (0, 0.0))[0]
            level = max(failures, len(self._global) // self.global_per_step)
        return 0.0 if level == 0 else min(self.max_s, self.base_s * 2 ** (level - 1))

    def admit(self, client: str) -> bool:
        """Wait this client's delay and return True; False at once while it is locked out."""
        if self.locked_for(client) > 0:
            return False
        if (wait := self.delay(client)) > 0:
            self.sleep(wait)
        return True

    def record(self, client: str, ok: bool) -> None:
        """Count an attempt of ``client``: a failure slows (and may lock out), a success clears."""
        with self._lock:
            now = self.clock()
            if ok:
                self._sessions.pop(client, None)
                self._recent.pop(client, None)
                return
            failures = self._sessions.get(client, (0, now))[0]
            self._sessions[client] = (failures + 1, now)
            self._global.append(now)
            recent = self._recent.setdefault(client, deque())
            recent.append(now)
            while recent[0] <= now - self.lock_window_s:
                recent.popleft()
            if len(recent) >= self.lock_after:
                self._locked[client] = now + self.lock_s
                del self._recent[client]

    def check(self, session: str, candidate: str, password: SecretStr) -> bool:
        """Wait this client's delay, then compare ``candidate`` with the password (False
        without comparing while the client is locked out)."""
        if not self.admit(session):
            return False
        ok = check(candidate, password)
        self.record(session, ok)
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


def client_id() -> str:
    """Who is signing in, for the throttle: the client's address when Streamlit knows it, else
    a mark kept in this session."""
    address = st.context.ip_address
    if isinstance(address, str) and address:  # (AppTest has a mock here)
        return address
    return str(st.session_state.setdefault(SESSION_KEY, secrets.token_hex(16)))


def locked_message(seconds: float) -> str:
    return LOCKED.format(minutes=max(1, math.ceil(seconds / 60)))


def login_page(password: SecretStr, on_sign_in: Callable[[], None] | None = None) -> None:
    """The only page served to a session that has not entered the password; ``on_sign_in``
    runs once the password is right (the audit)."""
    st.title("gatepulse")
    st.caption("This dashboard is protected. Enter the password set in DASHBOARD_PASSWORD.")
    with st.form("login", clear_on_submit=True):
        candidate = st.text_input("Password", type="password", key=PASSWORD_KEY)
        submitted = st.form_submit_button("Sign in")
    if submitted:
        client, throttle = client_id(), default_throttle()
        if throttle.check(client, candidate or "", password):
            st.session_state[AUTH_KEY] = True
            if on_sign_in is not None:
                on_sign_in()
            st.rerun()
        if locked := throttle.locked_for(client):
            st.error(locked_message(locked))
        else:
            st.error("Wrong password.")


def logout() -> None:
    st.session_state.pop(AUTH_KEY, None)
