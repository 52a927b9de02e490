"""deploy/healthcheck.py, the image's per-service health check, against real sockets."""

from __future__ import annotations

import http.server
import importlib.util
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "healthcheck.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gatepulse_healthcheck", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


healthcheck = _load()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path in ("/_stcore/health", "/server_info") else 404
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dashboard_and_webserver_are_healthy_when_their_endpoint_answers(http_port: int) -> None:
    assert healthcheck.check("dashboard", {"DASHBOARD_PORT": str(http_port)})[0]
    assert healthcheck.check("dagster-webserver", {"DAGSTER_WEBSERVER_PORT": str(http_port)})[0]


def test_dashboard_is_unhealthy_when_nothing_answers() -> None:
    healthy, what = healthcheck.check("dashboard", {"DASHBOARD_PORT": str(_closed_port())})
    assert not healthy
    assert "/_stcore/health" in what


def test_webhook_bot_needs_its_port_open_polling_bot_does_not(http_port: int) -> None:
    webhook = {"BOT_MODE": "webhook"}
    assert healthcheck.check("bot", {**webhook, "BOT_WEBHOOK_PORT": str(http_port)})[0]
    assert not healthcheck.check("bot", {**webhook, "BOT_WEBHOOK_PORT": str(_closed_port())})[0]
    assert healthcheck.check("bot", {"BOT_MODE": "polling"})[0]


def test_exit_code_follows_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_PORT", str(_closed_port()))
    assert healthcheck.main(["dashboard"]) == 1
    assert healthcheck.main(["migrate"]) == 0
