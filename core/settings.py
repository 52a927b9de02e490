"""Settings for every part of gatepulse, read from the environment and `.env`.

One class per area. Each has its own env prefix where that helps; `DATABASE_URL` and
`MESSAGE_CONTENT` keep their conventional names. Nothing here reads the environment at import
time: the entry point calls :func:`load_settings` once and passes the result down (tests build
their own).
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

_ENV = SettingsConfigDict(
    env_file=".env",
    env_file_encoding="utf-8",
    extra="ignore",
    validate_by_name=True,
    validate_by_alias=True,
)

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_SCHEME_ALIASES = {
    "sqlite": "sqlite",
    "sqlite+aiosqlite": "sqlite",
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "postgresql+asyncpg": "postgresql",
    "postgresql+psycopg2": "postgresql",
    "postgresql+psycopg": "postgresql",
}


class SettingsError(ValueError):
    """A setting is invalid. ``str()`` is one line that names the variable."""


def normalize_database_url(value: str | None) -> str:
    """Return ``value`` with the async driver gatepulse uses, or raise ``ValueError``.

    Accepts ``sqlite:///path``, ``postgresql://...`` (and ``postgres://``) and their async
    spellings; anything else is refused with a message saying what is accepted. Parsed with
    SQLAlchemy's :func:`~sqlalchemy.engine.make_url`; messages never show a password.
    """
    if value is None or not value.strip():
        return ""  # DatabaseSettings fills in the embedded default
    value = value.strip()
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        shown = "the value" if "@" in value else repr(value)  # may hold a password
        raise ValueError(
            f"{shown} is not a database URL; expected sqlite:///path/to/file.db "
            "or postgresql://user:password@host:5432/dbname"
        ) from None
    backend = _SCHEME_ALIASES.get(url.drivername.lower())
    if backend is None:
        raise ValueError(
            f"unsupported scheme {url.drivername!r}; use sqlite:/// or postgresql:// "
            "(drivers aiosqlite and asyncpg are chosen for you)"
        )
    shown = url.render_as_string(hide_password=True)
    if backend == "sqlite":
        if not url.database:
            raise ValueError(f"{shown!r} has no file path; expected sqlite:///path/to/file.db")
    elif not url.host or not url.database:
        raise ValueError(
            f"{shown!r} needs a host and a database name, "
            "e.g. postgresql://user:password@127.0.0.1:5432/gatepulse"
        )
    return url.set(drivername=ASYNC_DRIVERS[backend]).render_as_string(hide_password=False)


def display_url(url: str) -> str:
    """``url`` as it may be shown: the password replaced by ``***``."""
    return make_url(url).render_as_string(hide_password=True)


DatabaseUrl = Annotated[str, BeforeValidator(normalize_database_url)]


class MessageContent(StrEnum):
    """How much of a message's text the bot stores: ``full`` in ``messages.content``, ``hash``
    a keyed hash in ``messages.content_hash`` (see :mod:`core.content`), ``none`` neither."""

    FULL = "full"
    HASH = "hash"
    NONE = "none"


HASH_KEY_MIN_LENGTH = 16
"""Shortest ``MESSAGE_HASH_KEY`` accepted: a short key could be found by trying keys."""


class DatabaseSettings(BaseSettings):
    """Where the data lives. ``DATABASE_URL`` defaults to a SQLite file under ``var/``."""

    model_config = SettingsConfigDict(**_ENV, env_prefix="DB_")

    url: DatabaseUrl = Field(default=None, validation_alias="DATABASE_URL")  # type: ignore[assignment]
    var_dir: Path = Field(default=Path("var"), validation_alias="GATEPULSE_VAR_DIR")
    pool_size: int = Field(default=10, ge=1, le=200)
    max_overflow: int = Field(default=20, ge=0, le=500)
    pool_pre_ping: bool = True
    pool_recycle_s: int = Field(default=1800, ge=-1)
    echo: bool = False

    @model_validator(mode="after")
    def _default_url(self) -> DatabaseSettings:
        if not self.url:
            path = (self.var_dir / "gatepulse.db").resolve()
            self.url = f"sqlite+aiosqlite:///{path}"
        return self

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return make_url(self.url).get_backend_name()


class BotSettings(BaseSettings):
    """The Telegram bot: token, API server, polling or webhook."""

    model_config = SettingsConfigDict(**_ENV, env_prefix="BOT_")

    token: SecretStr = SecretStr("123456:TEST-TOKEN-for-the-fake-server")
    api_base: str = Field(default="https://api.telegram.org", validation_alias="BOT_API_BASE")
    mode: str = Field(default="polling", pattern="^(polling|webhook)$")
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_path: str = "/telegram/webhook"
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    request_timeout_s: float = Field(default=30.0, gt=0)
    polling_timeout_s: int = Field(default=10, ge=0, le=50)
    # retries of the Telegram client (bot/runtime/client.py): 429 RetryAfter waits and 5xx/network
    retry_max_attempts: int = Field(default=3, ge=0, le=20)
    retry_max_wait_s: float = Field(default=60.0, gt=0)
    transient_retries: int = Field(default=1, ge=0, le=10)
    #: at start-up, keep retrying an unreachable Bot API or database (false: exit at once with
    #: the reason, as ``gatepulse bot --once`` does)
    start_retry: bool = True
    #: seconds between two ``update_health`` rows (webhook state, pending updates, update
    #: lag; :mod:`bot.runtime.health`); 0 turns the reports off
    health_interval_s: float = Field(default=60.0, ge=0)
    #: seconds a replica holds an update it is handling (renewed while it works; a replica
    #: that dies leaves it to expire): a redelivery meanwhile is answered 503, after it the
    #: update is handled again (:mod:`bot.storage.updates`)
    update_lease_s: float = Field(default=15.0, gt=0)
    #: hours an update's completion is remembered (Telegram redelivers for up to 24 h)
    update_keep_h: float = Field(default=24.0, ge=24.0)
    #: write an update's raw rows to the database (or the writer's spool) before it counts as
    #: done and is answered: a replica killed right after answering loses none of them (each
    #: update with rows then waits for one log-writer flush). Unset: on in webhook mode (an
    #: answered update is never delivered again), off in polling mode
    update_flush: bool | None = None

    @property
    def flushes_updates(self) -> bool:
        """Whether an update's rows are flushed before it is answered (``update_flush``)."""
        return self.update_flush if self.update_flush is not None else self.mode == "webhook"


class GateSettings(BaseSettings):
    """The force-join gate: cache lifetimes, prompt throttling, outgoing rate limits."""

    model_config = SettingsConfigDict(**_ENV, env_prefix="GATE_")

    cache_member_ttl_s: float = Field(default=600.0, gt=0)
    cache_non_member_ttl_s: float = Field(default=60.0, gt=0)
    cache_jitter: float = Field(default=0.15, ge=0, lt=1)
    cache_max_entries: int = Field(default=100_000, ge=100)
    prompt_throttle_s: float = Field(default=60.0, ge=0)
    join_request_timeout_s: float = Field(default=600.0, gt=0)
    group_messages_per_minute: int = Field(default=20, ge=1)
    global_messages_per_second: int = Field(default=30, ge=1)
    user_upsert_interval_s: float = Field(default=3600.0, ge=0)
    config_ttl_s: float = Field(default=30.0, gt=0)
    admin_cache_ttl_s: float = Field(default=300.0, gt=0)
    #: Raids (:mod:`bot.gate.raids`): joiners checked and muted at once, at most this many at
    #: a time.
    raid_concurrency: int = Field(default=20, ge=1, le=200)
    #: ``raid_joins`` joins within ``raid_window_s`` put the group in a raid lockdown for
    #: ``raid_lockdown_s`` (from the last join at that rate).
    raid_joins: int = Field(default=20, ge=2)
    raid_window_s: float = Field(default=60.0, gt=0)
    raid_lockdown_s: float = Field(default=600.0, gt=0)
    message_content: MessageContent = Field(
        default=MessageContent.FULL, validation_alias="MESSAGE_CONTENT"
    )
    #: The HMAC key of ``MESSAGE_CONTENT=hash`` (required then). Changing it makes new hashes
    #: differ from the stored ones: repeated spam is recognised within one key only.
    message_hash_key: SecretStr = Field(
        default=SecretStr(""), validation_alias="MESSAGE_HASH_KEY", validate_default=True
    )

    @field_validator("message_hash_key")
    @classmethod
    def _hash_key_when_hashing(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        hashing = info.data.get("message_content") == MessageContent.HASH
        if hashing and len(value.get_secret_value()) < HASH_KEY_MIN_LENGTH:
            raise ValueError(
                f"MESSAGE_CONTENT=hash needs a secret key of at least {HASH_KEY_MIN_LENGTH} "
                "characters (e.g. the output of: openssl rand -hex 32)"
            )
        return value


class LogWriterSettings(BaseSettings):
    """The batched raw-log writer."""

    model_config = SettingsConfigDict(**_ENV, env_prefix="LOG_WRITER_")

    batch_size: int = Field(default=2000, ge=1)
    flush_interval_s: float = Field(default=0.5, gt=0)
    max_queue: int = Field(default=100_000, ge=10)
    spool_dir: Path = Field(default=None, validate_default=False)  # type: ignore[assignment]
    var_dir: Path = Field(default=Path("var"), validation_alias="GATEPULSE_VAR_DIR")
    retry_max_s: float = Field(default=30.0, gt=0)
    write_timeout_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _default_spool(self) -> LogWriterSettings:
        if self.spool_dir is None:
            self.spool_dir = self.var_dir / "spool"
        return self


CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
"""A cron string's five fields: name, smallest and largest number, the names allowed."""
CRON_ALIASES = ("@hourly", "@daily", "@weekly", "@monthly")
_CRON_PART = re.compile(r"^(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?$")


def validate_cron(value: str) -> str:
    """``value`` stripped, if it is a five-field cron string (``*``, numbers, ranges ``a-b``,
    steps ``/n``, lists ``,``; month and weekday names) or an alias such as ``@hourly``, as
    Dagster's schedules accept them; else ``ValueError`` saying which field is wrong. Checked
    here, without importing Dagster, so that a typo fails at start-up, not at the first tick."""
    value = value.strip()
    if value.lower() in CRON_ALIASES:
        return value
    fields = value.split()
    if len(fields) != len(CRON_FIELDS):
        raise ValueError(
            f"{value!r} is not a cron string: expected 5 fields (minute hour day-of-month "
            f"month day-of-week), e.g. '5 * * * *' (hourly) or '* * * * *' (every minute)"
        )
    for field, (name, low, high, names) in zip(fields, CRON_FIELDS, strict=True):
        for part in field.lower().split(","):
            match = _CRON_PART.match(part)
            bounds = match.group(1).split("-") if match and match.group(1) != "*" else []
            step = match.group(2) if match else None
            numbers = [
                names.index(b) + low if b in names else int(b) if b.isdigit() else -1
                for b in bounds
            ]
            if (
                match is None
                or any(not low <= n <= high for n in numbers)
                or numbers != sorted(numbers)
                or (step is not None and int(step) < 1)
            ):
                raise ValueError(
                    f"{value!r} is not a cron string: {field!r} is not a valid {name} "
                    f"({low}-{high}, '*', ranges a-b, steps /n, lists a,b)"
                )
    return value


class PipelineSettings(BaseSettings):
    """Dagster pipelines: partitions, retention, member-count sync, weekly digests."""

    model_config = SettingsConfigDict(**_ENV, env_prefix="PIPELINES_")

    partitions_start: dt.date | None = None
    """First day of the daily partitions; None: the first raw day (today on an empty database)."""
    retention_days: int = Field(default=90, ge=1, validation_alias="RETENTION_DAYS")
    retention_overrides: dict[str, int] = Field(
        default_factory=dict, validation_alias="RETENTION_DAYS_OVERRIDES"
    )
    retention_batch_size: int = Field(default=5000, ge=100)
    #: PostgreSQL: day partitions of the raw logs made ahead of today (core.partitions)
    partitions_ahead_days: int = Field(default=7, ge=1, le=366)
    sync_concurrency: int = Field(default=8, ge=1)
    sync_rate_per_s: float = Field(default=20.0, gt=0)
    digest_sends_per_s: float = Field(default=5.0, gt=0)
    digest_max_age_days: int = Field(default=14, ge=1)
    refresh_cron: Annotated[str, AfterValidator(validate_cron)] = "5 * * * *"
    """When today's (still growing) analytics partitions are refreshed: a cron string (UTC)."""
    alerts_cron: Annotated[str, AfterValidator(validate_cron)] = "*/5 * * * *"
    """When the alert rules are evaluated (the ``alerts_every_5_minutes`` schedule, named for
    its default): a cron string (UTC)."""
    dagster_home: Path = Field(
        default=None, validation_alias="DAGSTER_HOME", validate_default=False
    )  # type: ignore[assignment]
    var_dir: Path = Field(default=Path("var"), validation_alias="GATEPULSE_VAR_DIR")

    @model_validator(mode="after")
    def _default_dagster_home(self) -> PipelineSettings:
        if self.dagster_home is None:
            self.dagster_home = self.var_dir / "dagster"
        return self

    @field_validator("partitions_start", mode="before")
    @classmethod
    def _empty_start_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("retention_overrides")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in value.items() if v < 1}
        if bad:
            raise ValueError(f"retention days must be >= 1, got {bad}")
        return value


class AlertSettings(BaseSettings):
    """Alert rules' thresholds (see :mod:`pipelines.transforms.alerts` for the rules)."""

    model_config = SettingsConfigDict(**_ENV, env_prefix="ALERT_")

    failure_spike_min: int = Field(default=20, ge=1)
    failure_spike_factor: float = Field(default=3.0, gt=0)
    throttled_min: int = Field(default=5, ge=1)
    stale_hours: float = Field(default=26.0, gt=0)
    #: send alerts to the people who run the group (and to ``admin_chat_id``); off: the
    #: ``alerts`` table and the dashboard only
    delivery: bool = True
    #: a chat (an operators' group, or a user who started the bot) that gets every alert
    admin_chat_id: int | None = None
    #: attempts per recipient before an alert is given up for them (403/400 end at once)
    delivery_max_attempts: int = Field(default=3, ge=1)


def http_url(value: str, example: str) -> str:
    """``value`` stripped of spaces and a trailing ``/``, if empty or an http(s) URL; else
    ``ValueError`` showing ``example``."""
    value = value.strip().rstrip("/")
    if value and not value.startswith(("http://", "https://")):
        raise ValueError(f"{value!r} is not an http(s) URL, e.g. {example}")
    return value


class SummaryLLMSettings(BaseSettings):
    """An optional OpenAI-compatible endpoint that writes the chat summaries.

    Unset ``base_url`` (the default) keeps the deterministic extractive summaries; with it set,
    each summary is asked of ``{base_url}/chat/completions`` and the extractive one is kept
    whenever the endpoint is slow, failing or answers nonsense (docs/OPERATIONS.md).
    """

    model_config = SettingsConfigDict(**_ENV, env_prefix="SUMMARY_LLM_")

    base_url: str = ""
    model: str = ""
    api_key: SecretStr = SecretStr("")
    timeout_s: float = Field(default=20.0, gt=0, le=600)
    #: the prompt (instructions, figures and messages, newest kept) is cut to this estimate
    max_input_tokens: int = Field(default=6000, ge=500)
    #: sent as ``max_tokens``
    max_output_tokens: int = Field(default=400, ge=16, le=8000)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value, "http://127.0.0.1:8000/v1")

    @field_validator("model")
    @classmethod
    def _model_when_enabled(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if info.data.get("base_url") and not value:
            raise ValueError("required when SUMMARY_LLM_BASE_URL is set")
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.base_url)


class DashboardSettings(BaseSettings):
    """The Streamlit dashboard."""

    model_config = SettingsConfigDict(**_ENV, env_prefix="DASHBOARD_")

    host: str = "127.0.0.1"
    port: int = Field(default=8501, ge=1, le=65535)
    password: SecretStr = SecretStr("")
    database_url: DatabaseUrl = ""
    cache_ttl_s: int = Field(default=60, ge=0)
    stale_after_h: float = Field(default=26.0, gt=0)
    #: The HMAC key of owners' sign-in links (:mod:`core.owner_links`). Empty: a key is made
    #: once in ``GATEPULSE_VAR_DIR`` and shared by the bot, the dashboard and ``owner-link``.
    #: Changing it ends every link and every owner session at once.
    link_key: SecretStr = Field(default=SecretStr(""), validate_default=True)
    #: hours an owner stays signed in after following a link
    session_hours: float = Field(default=12.0, gt=0, le=24 * 31)
    #: the dashboard's address as owners' browsers reach it, put in their links; empty:
    #: ``http://DASHBOARD_HOST:DASHBOARD_PORT``
    public_url: str = ""
    var_dir: Path = Field(default=Path("var"), validation_alias="GATEPULSE_VAR_DIR")

    @field_validator("link_key")
    @classmethod
    def _long_link_key(cls, value: SecretStr) -> SecretStr:
        if 0 < len(value.get_secret_value()) < HASH_KEY_MIN_LENGTH:
            raise ValueError(
                f"a link key needs at least {HASH_KEY_MIN_LENGTH} characters "
                "(e.g. the output of: openssl rand -hex 32), or leave it empty"
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _public_http_url(cls, value: str) -> str:
        return http_url(value, "https://stats.example.org")

    @property
    def link_base_url(self) -> str:
        """Where owners' sign-in links point: ``public_url``, else the host and port served."""
        return self.public_url or f"http://{self.host}:{self.port}"


class RedisSettings(BaseSettings):
    """Redis for what bot replicas share (membership cache, join memory, throttles, raid
    counter, send budget). ``REDIS_URL`` empty: every bot process keeps its own, in memory."""

    model_config = SettingsConfigDict(**_ENV, env_prefix="REDIS_")

    url: str = Field(default="", validation_alias="REDIS_URL")

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix:// (or be empty)")
        return value


class Settings(BaseModel):
    """Every area, one attribute each. An area not given is read from the environment."""

    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    bot: BotSettings = Field(default_factory=BotSettings)
    gate: GateSettings = Field(default_factory=GateSettings)
    writer: LogWriterSettings = Field(default_factory=LogWriterSettings)
    pipelines: PipelineSettings = Field(default_factory=PipelineSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    summary_llm: SummaryLLMSettings = Field(default_factory=SummaryLLMSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)

    def replace(self, **areas: BaseSettings) -> Settings:
        """A copy with the given areas swapped (e.g. ``settings.replace(bot=other_bot)``)."""
        return self.model_copy(update=areas)


def describe_error(
    exc: ValidationError, prefix: str = "", model: type[BaseSettings] | None = None
) -> str:
    """One line naming each bad variable and why, no traceback.

    ``model`` maps a field checked at its default (reported by field name) to its variable.
    """
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        name = loc[0] if loc else "?"
        field = model.model_fields.get(name) if model is not None else None
        if field is not None and isinstance(field.validation_alias, str):
            name = field.validation_alias
        variable = name if name.isupper() else f"{prefix}{name}".upper()
        message = err.get("msg", "invalid").removeprefix("Value error, ")
        parts.append(f"{variable}: {message}")
    return "; ".join(parts)


AREAS: dict[str, type[BaseSettings]] = {
    "db": DatabaseSettings,
    "bot": BotSettings,
    "gate": GateSettings,
    "writer": LogWriterSettings,
    "pipelines": PipelineSettings,
    "alerts": AlertSettings,
    "summary_llm": SummaryLLMSettings,
    "dashboard": DashboardSettings,
    "redis": RedisSettings,
}
"""The areas of :class:`Settings`, by attribute name."""


def _prefix(cls: type[BaseSettings]) -> str:
    return str(cls.model_config.get("env_prefix") or "")


def environment_variables() -> dict[str, list[str]]:
    """Every environment variable gatepulse reads, by area (the names in ``.env.example``)."""
    out: dict[str, list[str]] = {}
    for area, cls in AREAS.items():
        names = []
        for name, field in cls.model_fields.items():
            alias = field.validation_alias
            names.append(alias if isinstance(alias, str) else f"{_prefix(cls)}{name}".upper())
        out[area] = names
    return out


def _load(cls: type[BaseSettings]) -> Any:
    try:
        return cls()
    except ValidationError as exc:
        raise SettingsError(describe_error(exc, _prefix(cls), cls)) from None


def load_settings() -> Settings:
    """Read every area from the environment once; raise :class:`SettingsError` on bad values."""
    return Settings(**{area: _load(cls) for area, cls in AREAS.items()})
