"""Repeated wrong dashboard passwords are slowed down: per session and across sessions.

Time is injected (a recording ``sleep`` and a manual clock): the delays are asserted as
values, never measured.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import SecretStr
from streamlit.testing.v1 import AppTest

from core.clock import ManualClock
from dashboards import auth
from dashboards.auth import LoginThrottle

PASSWORD = SecretStr("s3cret")


def throttled(**kwargs: Any) -> tuple[LoginThrottle, ManualClock, list[float]]:
    """A throttle on a manual clock whose sleep records each wait and moves the clock on."""
    clock, slept = ManualClock(dt.datetime(2026, 3, 1, tzinfo=dt.UTC)), []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    return LoginThrottle(sleep=sleep, clock=clock.monotonic, **kwargs), clock, slept


def test_each_wrong_password_makes_the_next_check_of_the_session_wait_longer() -> None:
    gate, _, slept = throttled(base_s=0.25, max_s=4.0, global_per_step=1000)
    assert [gate.check("a", "wrong", PASSWORD) for _ in range(8)] == [False] * 8
    # the first check does not wait; then 0.25 s doubling per wrong password, capped at 4 s
    assert slept == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert gate.delay("b") == 0  # another session is not held up by a's mistakes...
    assert gate.check("a", "s3cret", PASSWORD) is True  # ...and the right password still works
    assert slept[-1] == 4.0
    assert gate.delay("a") == 0  # and clears a's count
    assert gate.check("a", "s3cret", PASSWORD) and slept[-1] == 4.0


def test_wrong_passwords_from_many_sessions_slow_every_session_down() -> None:
    """An attacker who opens a new session for every try is slowed down too."""
    gate, _, slept = throttled(base_s=0.25, max_s=4.0, global_per_step=2)
    for i in range(10):
        assert not gate.check(f"s{i}", "guess", PASSWORD)
    # the global count goes up a step per 2 wrong passwords: checks 3-4 wait 0.25 s, ...
    assert slept == [0.25, 0.25, 0.5, 0.5, 1.0, 1.0, 2.0, 2.0]
    assert gate.delay("newcomer") == 4.0


def test_wrong_passwords_are_forgotten_after_the_window() -> None:
    gate, clock, slept = throttled(base_s=0.25, max_s=4.0, global_per_step=2, window_s=300.0)
    for _ in range(4):
        gate.check("a", "wrong", PASSWORD)
    assert gate.delay("a") == 2.0 and gate.delay("b") == 0.5
    clock.advance(299.0)
    assert gate.delay("a") == 2.0  # still within the window of the last attempt
    clock.advance(300.0)
    assert gate.delay("a") == gate.delay("b") == 0
    assert gate.check("a", "wrong", PASSWORD) is False and slept[-1] == 1.0  # no wait now


def test_the_login_form_waits_through_the_throttle(
    dashboard_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real sign-in page: a session's wrong passwords make its next tries wait longer."""
    from tests.dashboards.conftest import APP

    gate, _, slept = throttled(base_s=0.5, max_s=3.0)
    monkeypatch.setattr(auth, "default_throttle", lambda: gate)
    monkeypatch.setenv("DASHBOARD_PASSWORD", PASSWORD.get_secret_value())
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    for _ in range(4):
        at.text_input(key="password").input("wrong")
        at.button[0].click().run()
        assert [e.value for e in at.error] == ["Wrong password."]
    assert slept == [0.5, 1.0, 2.0]
    at.text_input(key="password").input("s3cret")
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert slept == [0.5, 1.0, 2.0, 3.0]  # the right password waited its turn too
    # the session's count is cleared; the 4 wrong passwords still count once globally
    assert gate.delay(at.session_state[auth.SESSION_KEY]) == gate.delay("elsewhere") == 0.5


def test_ten_failures_in_fifteen_minutes_lock_the_client_out_for_fifteen_minutes() -> None:
    gate, clock, _ = throttled(lock_after=10, lock_window_s=900.0, lock_s=900.0)
    for _ in range(9):
        assert not gate.check("203.0.113.7", "guess", PASSWORD)
    assert gate.locked_for("203.0.113.7") == 0
    assert not gate.check("203.0.113.7", "guess", PASSWORD)  # the tenth
    assert gate.locked_for("203.0.113.7") == 900.0
    assert gate.check("203.0.113.7", "s3cret", PASSWORD) is False  # refused while locked
    assert gate.locked_for("198.51.100.1") == 0  # other clients are not locked out
    clock.advance(900.0)
    assert gate.locked_for("203.0.113.7") == 0
    assert gate.check("203.0.113.7", "s3cret", PASSWORD) is True


def test_failures_spread_beyond_the_lock_window_do_not_lock() -> None:
    gate, clock, _ = throttled(lock_after=3, lock_window_s=900.0, lock_s=900.0)
    for _ in range(5):
        gate.check("c", "guess", PASSWORD)
        clock.advance(500.0)  # never three within 15 minutes
    assert gate.locked_for("c") == 0
