"""Container health check of the gatepulse image: one image, a check per service.

    python /app/deploy/healthcheck.py [SERVICE]

SERVICE (or $GATEPULSE_SERVICE) is one of dashboard, dagster-webserver, dagster-daemon, bot,
migrate. Exit 0 = healthy. Standard library only, so it starts fast.

- dashboard: Streamlit's own /_stcore/health answers 200.
- dagster-webserver: /server_info answers 200.
- dagster-daemon: `dagster-daemon liveness-check` (recent heartbeats in the instance storage).
- bot: in webhook mode the webhook server accepts connections; in polling mode there is no port
  to ask, the bot process is the container's main process and its exit restarts the container.
- migrate, or no service: nothing to check.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 5.0


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S):
            return True
    except OSError:
        return False


def check(service: str, env: dict[str, str]) -> tuple[bool, str]:
    """``(healthy, what was checked)`` for ``service``."""
    if service == "dashboard":
        url = f"http://127.0.0.1:{env.get('DASHBOARD_PORT', '8501')}/_stcore/health"
        return _http_ok(url), url
    if service == "dagster-webserver":
        url = f"http://127.0.0.1:{env.get('DAGSTER_WEBSERVER_PORT', '3000')}/server_info"
        return _http_ok(url), url
    if service == "dagster-daemon":
        try:
            done = subprocess.run(
                ["dagster-daemon", "liveness-check"], capture_output=True, text=True, timeout=45
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"dagster-daemon liveness-check: {type(exc).__name__}"
        return done.returncode == 0, "dagster-daemon liveness-check"
    if service == "bot":
        if env.get("BOT_MODE", "polling") != "webhook":
            return True, "polling mode: the process itself"
        port = int(env.get("BOT_WEBHOOK_PORT", "8080"))
        return _port_open(port), f"webhook server on port {port}"
    return True, f"nothing to check for {service or 'an unnamed service'}"


def main(argv: list[str]) -> int:
    service = argv[0] if argv else os.environ.get("GATEPULSE_SERVICE", "")
    healthy, what = check(service, dict(os.environ))
    print(f"{service or '-'}: {'healthy' if healthy else 'UNHEALTHY'} ({what})")
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
