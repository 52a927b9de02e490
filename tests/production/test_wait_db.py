"""`gatepulse wait-db`: the compose `migrate` service waits for PostgreSQL to answer."""

from __future__ import annotations

import threading

import pytest

from core.db import wait_for_database
from tests.support.pg import TempPostgres, _free_port


class FakeTime:
    """A clock whose ``sleep`` moves ``monotonic`` on instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) > 100:  # a loop that never gives up fails here, not at the timeout
            raise AssertionError(f"still waiting after {len(self.sleeps)} sleeps")
        self.now += seconds


def test_gives_up_after_the_timeout_with_the_reason() -> None:
    fake = FakeTime()
    url = f"postgresql+asyncpg://nobody@127.0.0.1:{_free_port()}/nothing"
    with pytest.raises(TimeoutError) as info:
        wait_for_database(
            url, timeout_s=1.0, interval_s=0.25, monotonic=fake.monotonic, sleep=fake.sleep
        )
    # attempts at 0, 0.25, 0.5, 0.75 and 1.0 s (on the fake clock); one more would be past 1 s
    assert fake.sleeps == [0.25] * 4
    message = str(info.value)
    assert "did not answer within 1s" in message
    assert "(5 attempts; last error:" in message


@pytest.mark.postgres
def test_retries_until_a_late_server_answers() -> None:
    port = _free_port()
    server = TempPostgres(port=port)  # initialised, not started yet
    try:
        starter = threading.Timer(1.0, server.start)
        starter.start()
        attempts = wait_for_database(server.url(), timeout_s=60, interval_s=0.25)
        starter.join()
        assert attempts > 1  # it really did wait for the server to come up
    finally:
        server.cleanup()
