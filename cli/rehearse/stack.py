"""The production topology on 127.0.0.1, each part its own OS process: PostgreSQL (throwaway, or
the one ``DATABASE_URL`` names), Redis, ``gatepulse migrate``, two ``gatepulse bot`` replicas in
webhook mode, ``dagster-daemon`` and ``dagster-webserver`` on the production instance file
(``deploy/dagster/dagster.yaml``, PostgreSQL storage, the compose file's code location) and
``gatepulse dashboard`` on the read-only role.

Telegram's side (the fake Bot API, its webhook deliverer and the balancer in front of the
replicas) runs in the rehearsal's own process: it is the world the deployment lives in, and the
rehearsal both drives it and watches it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import psycopg2
import yaml
from sqlalchemy.engine import make_url

from cli.rehearse.processes import STOP_TIMEOUT_S, Service, http_ok, leftovers, listening
from core.db import backend_of
from sandbox.postgres import TempPostgres, free_port
from sandbox.redis import TempRedis

ROOT = Path(__file__).resolve().parents[2]
INSTANCE_YAML = ROOT / "deploy" / "dagster" / "dagster.yaml"
COMPOSE_WORKSPACE = ROOT / "deploy" / "dagster" / "workspace.yaml"
WEBHOOK_PATH = "/telegram/webhook"
WEBHOOK_SECRET = "rehearsal-webhook-secret_0123456789"
DASHBOARD_USER = "gatepulse_dashboard"
DASHBOARD_PASSWORD = "rehearsal-dashboard-password"
START_TIMEOUT_S = 240.0
QUIET_SCHEDULES = ("alerts_every_5_minutes", "member_counts_every_15_minutes")
QUIET_JOBS = ("alerts_job", "member_counts_job")
RUN_GRACE_S = 120.0
"""How long a Dagster run launched before the daemon stopped may take to finish."""
#: Environment prefixes of ours that never leak from the caller into the services: the
#: rehearsal sets what each service needs, nothing else.
OWN_PREFIXES = ("BOT_", "GATE_", "LOG_", "DASHBOARD_", "PIPELINES_", "DAGSTER_", "REDIS_",
                "DATABASE_", "ALERT_", "GATEPULSE_", "RETENTION_")  # fmt: skip


@dataclass
class StackConfig:
    """What the stack is built from."""

    workdir: Path
    token: str
    api_base: str  # the fake Bot API
    balancer_url: str  # what the replicas register with setWebhook
    replica_ports: list[int]
    database_url: str | None = None  # a PostgreSQL DATABASE_URL to use instead of a throwaway one
    refresh_cron: str = "* * * * *"
    alerts_cron: str = "* * * * *"
    request_timeout_s: float = 30.0


@dataclass
class Stack:
    """The running services; :meth:`start` brings them up, :meth:`stop` ends them with SIGTERM."""

    config: StackConfig
    pg: TempPostgres | None = None
    redis: TempRedis | None = None
    database_url: str = ""
    dagster_db: str = ""
    replicas: list[Service] = field(default_factory=list)
    daemon: Service | None = None
    webserver: Service | None = None
    dashboard: Service | None = None
    webserver_port: int = 0
    dashboard_port: int = 0
    _pgids: list[int] = field(default_factory=list)

    # ------------------------------------------------------------------ plumbing
    @property
    def services(self) -> list[Service]:
        return [s for s in (*self.replicas, self.daemon, self.webserver, self.dashboard) if s]

    @property
    def owns_database(self) -> bool:
        """Whether the rehearsal runs PostgreSQL itself (and may stop it as a fault)."""
        return self.pg is not None

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
        env["PYTHONPATH"] = str(ROOT)
        return env

    def _service(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        ready: Callable[[], bool] | None = None,
    ) -> Service:
        folder = self.config.workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        return Service(name, argv, env, folder / f"{name}.log", folder, ready)

    def _track(self, service: Service) -> None:
        if service.pid is not None:
            self._pgids.append(service.pid)

    def start_service(self, service: Service, timeout_s: float = START_TIMEOUT_S) -> None:
        service.start()
        self._track(service)
        service.wait_ready(timeout_s)

    # ------------------------------------------------------------------ the parts
    def _databases(self) -> None:
        cfg = self.config
        if cfg.database_url and backend_of(cfg.database_url) == "postgresql":
            self.database_url = cfg.database_url
        else:
            # durable: the PostgreSQL fault is an immediate stop, and a commit must survive it
            self.pg = TempPostgres(durable=True).launch()
            _admin_sql(self.pg.url(), 'CREATE DATABASE "gatepulse"')
            self.database_url = self.pg.url("gatepulse")
        url = make_url(self.database_url)
        self.dagster_db = f"{url.database}_dagster"
        _admin_sql(self.database_url, f'CREATE DATABASE "{self.dagster_db}"', exists_ok=True)
        self.redis = TempRedis().launch()

    def _gatepulse_env(self) -> dict[str, str]:
        cfg = self.config
        return {
            **self._base_env(),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis.url() if self.redis else "",
            "BOT_TOKEN": cfg.token,
            "BOT_API_BASE": cfg.api_base,
        }

    def _migrate(self) -> None:
        env = {**self._gatepulse_env(), "GATEPULSE_VAR_DIR": str(self.config.workdir / "migrate")}
        migrate = self._service("migrate", [sys.executable, "-m", "cli", "migrate"], env)
        if migrate.run_to_end(300) != 0:
            raise RuntimeError(f"gatepulse migrate failed:\n{migrate.tail()}")
        user = self._service(
            "readonly-user",
            [sys.executable, "-m", "cli", "create-readonly-user", DASHBOARD_USER,
             "--password-env", "REHEARSAL_DASHBOARD_PASSWORD"],
            {**env, "REHEARSAL_DASHBOARD_PASSWORD": DASHBOARD_PASSWORD},
        )  # fmt: skip
        if user.run_to_end(120) != 0:
            raise RuntimeError(f"gatepulse create-readonly-user failed:\n{user.tail()}")

    def replica_env(self, index: int) -> dict[str, str]:
        cfg = self.config
        var = cfg.workdir / f"replica{index}"
        return {
            **self._gatepulse_env(),
            "GATEPULSE_VAR_DIR": str(var),
            "LOG_WRITER_SPOOL_DIR": str(self.spool_dir(index)),
            "BOT_MODE": "webhook",
            "BOT_WEBHOOK_HOST": "127.0.0.1",
            "BOT_WEBHOOK_PORT": str(cfg.replica_ports[index]),
            "BOT_WEBHOOK_PATH": WEBHOOK_PATH,
            "BOT_WEBHOOK_URL": cfg.balancer_url + WEBHOOK_PATH,
            "BOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "BOT_REQUEST_TIMEOUT_S": str(cfg.request_timeout_s),
        }

    def spool_dir(self, index: int) -> Path:
        return self.config.workdir / f"replica{index}" / "spool"

    def _replicas(self) -> None:
        for index, port in enumerate(self.config.replica_ports):
            replica = self._service(
                f"replica{index}",
                [sys.executable, "-m", "cli", "bot", "--webhook"],
                self.replica_env(index),
                ready=partial(listening, port),
            )
            self.replicas.append(replica)
        for replica in self.replicas:  # both boot at once; then each must listen
            replica.start()
            self._track(replica)
        for replica in self.replicas:
            replica.wait_ready(START_TIMEOUT_S)

    def dagster_home(self) -> Path:
        """DAGSTER_HOME: the production instance file as it is, and the compose file's code
        location with this checkout as its working directory."""
        home = self.config.workdir / "dagster_home"
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy(INSTANCE_YAML, home / "dagster.yaml")
        workspace = yaml.safe_load(COMPOSE_WORKSPACE.read_text())
        for entry in workspace["load_from"]:
            entry["python_module"]["working_directory"] = str(ROOT)
        (home / "workspace.yaml").write_text(yaml.safe_dump(workspace))
        return home

    def dagster_env(self) -> dict[str, str]:
        url = make_url(self.database_url)
        home = self.dagster_home()
        return {
            **self._gatepulse_env(),
            "GATEPULSE_VAR_DIR": str(self.config.workdir / "pipelines"),
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_USERNAME": url.username or "postgres",
            "DAGSTER_PG_PASSWORD": url.password or "unused-under-trust-auth",
            "DAGSTER_PG_HOST": url.host or "127.0.0.1",
            "DAGSTER_PG_PORT": str(url.port or 5432),
            "DAGSTER_PG_DB": self.dagster_db,
            "DAGSTER_ARTIFACTS_DIR": str(self.config.workdir / "dagster_artifacts"),
            "DAGSTER_COMPUTE_LOGS_DIR": str(self.config.workdir / "dagster_compute_logs"),
            "PIPELINES_REFRESH_CRON": self.config.refresh_cron,
            "PIPELINES_ALERTS_CRON": self.config.alerts_cron,
        }

    def _dagster(self) -> None:
        env = self.dagster_env()
        workspace = str(Path(env["DAGSTER_HOME"]) / "workspace.yaml")
        bin_dir = Path(sys.executable).parent
        schedules = self._service(
            "dagster-schedules",
            [str(bin_dir / "dagster"), "schedule", "start", "--start-all", "-w", workspace],
            env,
        )
        if schedules.run_to_end(300) != 0:
            raise RuntimeError(f"dagster schedule start failed:\n{schedules.tail()}")
        self.daemon = self._service(
            "dagster-daemon", [str(bin_dir / "dagster-daemon"), "run", "-w", workspace], env
        )
        self.start_service(self.daemon)
        self.webserver_port = free_port()
        base = f"http://127.0.0.1:{self.webserver_port}"
        self.webserver = self._service(
            "dagster-webserver",
            [str(bin_dir / "dagster-webserver"), "-h", "127.0.0.1",
             "-p", str(self.webserver_port), "-w", workspace],
            env,
            ready=lambda: http_ok(f"{base}/server_info"),
        )  # fmt: skip
        self.webserver.start()
        self._track(self.webserver)

    def readonly_url(self) -> str:
        url = make_url(self.database_url).set(username=DASHBOARD_USER, password=DASHBOARD_PASSWORD)
        return url.render_as_string(hide_password=False)

    def _dashboard(self) -> None:
        self.dashboard_port = free_port()
        env = {
            **self._base_env(),
            "GATEPULSE_VAR_DIR": str(self.config.workdir / "dashboard"),
            "DASHBOARD_DATABASE_URL": self.readonly_url(),
            "DATABASE_URL": self.readonly_url(),
            "DASHBOARD_PASSWORD": "",
        }
        base = self.dashboard_url
        self.dashboard = self._service(
            "dashboard",
            [sys.executable, "-m", "cli", "dashboard", "--host", "127.0.0.1",
             "--port", str(self.dashboard_port)],
            env,
            ready=lambda: http_ok(f"{base}/_stcore/health", b"ok"),
        )  # fmt: skip
        self.dashboard.start()
        self._track(self.dashboard)

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def webserver_url(self) -> str:
        return f"http://127.0.0.1:{self.webserver_port}"

    # ------------------------------------------------------------------ lifecycle
    def start(self, step: Callable[[str], object] = print) -> None:
        """Bring everything up, in order; ``step(text)`` is told of each part."""
        step("PostgreSQL and Redis")
        self._databases()
        step("gatepulse migrate, the dashboard's read-only user")
        self._migrate()
        step("two gatepulse bot replicas (webhook)")
        self._replicas()
        step("dagster-daemon, dagster-webserver")
        self._dagster()
        step("gatepulse dashboard (read-only role)")
        self._dashboard()
        assert self.webserver is not None and self.dashboard is not None
        self.webserver.wait_ready(START_TIMEOUT_S)
        self.dashboard.wait_ready(START_TIMEOUT_S)

    def restart(self, service: Service) -> None:
        service.start()
        self._track(service)

    def stop_replicas(self) -> dict[str, int | None]:
        """SIGTERM to the bot replicas (their writers drain); each one's exit code."""
        return {r.name: r.stop(STOP_TIMEOUT_S) for r in self.replicas if r.proc is not None}

    def quiet_schedules(self, timeout_s: float = RUN_GRACE_S) -> None:
        """Stop the schedules whose runs call Telegram (and so log API calls): the alerts and
        the member-count sync; wait for such runs still going to end."""
        env = self.dagster_env()
        workspace = str(Path(env["DAGSTER_HOME"]) / "workspace.yaml")
        dagster = str(Path(sys.executable).parent / "dagster")
        for name in QUIET_SCHEDULES:
            stop = self._service(
                f"dagster-schedule-stop-{name}",
                [dagster, "schedule", "stop", name, "-w", workspace],
                env,
            )
            stop.run_to_end(120)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self._runs_going(QUIET_JOBS):
            time.sleep(1.0)

    def _runs_going(self, jobs: tuple[str, ...]) -> bool:
        u = make_url(self.database_url)
        conn = psycopg2.connect(
            host=u.host, port=u.port, user=u.username, password=u.password, dbname=self.dagster_db
        )
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM runs WHERE pipeline_name = ANY(%s) AND status IN "
                    "('QUEUED', 'NOT_STARTED', 'STARTING', 'STARTED')",
                    (list(jobs),),
                )
                row = cur.fetchone()
        finally:
            conn.close()
        return bool(row and row[0])

    def stop(self) -> dict[str, int | None]:
        """SIGTERM to every service while the databases are still up, each one's exit code
        (``None``: it had to be killed). The daemon goes first, so it launches nothing more;
        the runs it launched (its subprocesses, which outlive it by Dagster's design) may
        finish within :data:`RUN_GRACE_S`. Then the replicas (their writers drain), the UI and
        the dashboard."""
        codes = {}
        order = [self.daemon, *self.replicas, self.webserver, self.dashboard]
        for service in order:
            if service is not None and service.proc is not None:
                grace = RUN_GRACE_S if service is self.daemon else 5.0
                codes[service.name] = service.stop(STOP_TIMEOUT_S, children_grace_s=grace)
        return codes

    def cleanup(self, *, keep_database: bool) -> list[int]:
        """Kill whatever still runs, stop Redis and (unless kept) PostgreSQL; the process
        groups that were still alive before the sweep."""
        for service in self.services:
            if service.proc is not None:
                service.kill()
        left = leftovers(self._pgids)  # e.g. a run of a daemon killed earlier, still going
        for pgid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        if self.redis is not None:
            self.redis.cleanup()
        if self.pg is not None and not keep_database:
            self.pg.cleanup()
        return left


def _admin_sql(url: str, sql: str, *, exists_ok: bool = False) -> None:
    """Run one statement outside a transaction on the server of ``url`` (its maintenance db)."""
    u = make_url(url)
    conn = psycopg2.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname="postgres"
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(sql)
            except psycopg2.errors.DuplicateDatabase:
                if not exists_ok:
                    raise
    finally:
        conn.close()
