"""`gatepulse wait-db`: the compose `migrate` service waits for PostgreSQL to answer."""

from __future__ import annotations

import threading
import time

import pytest

from cli.production import wait_for_database
from tests.support.pg import TempPostgres, _free_port


def test_gives_up_after_the_timeout_with_the_reason() -> None:
    url = f"postgresql+asyncpg://nobody@127.0.0.1:{_free_port()}/nothing"
    started = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        wait_for_database(url, timeout_s=1.0, interval_s=0.2)
    assert time.monotonic() - started < 15
    message = str(info.value)
    assert "did not answer within 1s" in message
    assert "attempts; last error:" in message


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
