"""Alert rules: which (chat, kind) conditions hold at ``now``, and how open alerts follow them.

The rules are pure polars functions over raw facts read for a window ending at ``now`` (the
reader is :mod:`pipelines.assets.alerts`). "The last hour" is ``[now - 1 h, now)``, the same
half-open window every raw read uses. ``chat_id`` 0 stands for the bot itself. Thresholds come
from the ``ALERT_*`` settings (:class:`core.settings.AlertSettings`):

- ``raid`` (critical), per group: a ``gate_events`` row of the last hour that is the bot's raid
  lockdown notice, exactly as :mod:`bot.gate.raids` writes it when a lockdown begins: event
  ``prompted``, ``user_id`` NULL, detail ``{"raid_lockdown": "started", "joins": N, ...}``.
  Details: ``lockdowns`` (notices in the hour), ``joins`` (the largest N), ``started_at`` (the
  latest notice).
- ``failure_spike`` (warning), per group: ``failures`` = checks with status ``failed`` or
  ``error`` in the last hour; ``hourly_avg_7d`` = such checks in the 7 days before that hour
  (``[now - 7 d - 1 h, now - 1 h)``) / 168. Fires when ``failures >= ALERT_FAILURE_SPIKE_MIN``
  (default 20) and ``failures >= ALERT_FAILURE_SPIKE_FACTOR`` (default 3) x ``hourly_avg_7d``.
- ``permission_lost`` (critical): from the bot's last ``bot_rights`` row per chat (as
  :mod:`pipelines.transforms.rights` defines lacking): in a protected group the bot is not an
  administrator with ``can_restrict_members`` and ``can_delete_messages``; in an enforced
  channel it is not an administrator. Other chats never fire; a chat with no row never fires.
  Details: ``chat_kind`` and the state columns.
- ``throttled`` (warning), per chat of the call (NULL chat -> 0): ``api_call_log`` rows of the
  last hour with ``error_type = 'RetryAfter'`` reach ``ALERT_THROTTLED_MIN`` (default 5).
  Details: ``retry_after``.
- ``stale_pipeline`` (warning), chat 0: some table's newest ``analytics_materializations`` row
  is more than ``ALERT_STALE_HOURS`` (default 26) old. Tables never materialized do not count
  (a fresh install is not stale). One condition for all such tables; details: ``tables``
  (name -> newest ``materialized_at``, ISO).

Reconciling (:func:`reconcile`): a condition with no open alert of its (chat, kind) opens one;
an open alert whose condition no longer holds is resolved at ``now``; an open alert whose
condition still holds is left alone (no repeat, its first details kept). After a resolution the
next firing opens a new alert.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import polars as pl

from core.models.kinds import AlertKind, ErrorType, GateEventType, VerificationStatus
from pipelines.transforms.rights import CHANNEL, GROUP

HOUR = dt.timedelta(hours=1)
BASELINE = dt.timedelta(days=7)
CRITICAL, WARNING = "critical", "warning"
SEVERITY: dict[AlertKind, str] = {
    AlertKind.RAID: CRITICAL,
    AlertKind.PERMISSION_LOST: CRITICAL,
    AlertKind.FAILURE_SPIKE: WARNING,
    AlertKind.THROTTLED: WARNING,
    AlertKind.STALE_PIPELINE: WARNING,
}
BOT_CHAT = 0
"""``chat_id`` of alerts about the bot itself rather than one chat."""

CONDITIONS_SCHEMA = {
    "chat_id": pl.Int64,
    "kind": pl.String,
    "severity": pl.String,
    "details": pl.String,  # JSON text
}


@dataclass(frozen=True)
class Thresholds:
    """The rules' knobs (the ``ALERT_*`` settings)."""

    failure_spike_min: int = 20
    failure_spike_factor: float = 3.0
    throttled_min: int = 5
    stale_hours: float = 26.0


def _conditions(frame: pl.DataFrame, kind: AlertKind, details: list[str]) -> pl.DataFrame:
    """``frame`` (``chat_id`` and the ``details`` columns) as conditions of ``kind``."""
    if frame.height == 0:
        return pl.DataFrame(schema=CONDITIONS_SCHEMA)
    return frame.select(
        pl.col("chat_id").cast(pl.Int64),
        pl.lit(kind.value).alias("kind"),
        pl.lit(SEVERITY[kind]).alias("severity"),
        pl.struct(details).struct.json_encode().alias("details"),
    )


def _last_hour(now: dt.datetime) -> pl.Expr:
    return pl.col("timestamp").is_between(now - HOUR, now, closed="left")


def raid(gate_events: pl.DataFrame, now: dt.datetime) -> pl.DataFrame:
    """``gate_events`` (``group_id``, ``user_id``, ``event``, ``detail`` as JSON text,
    ``timestamp``) -> ``raid`` conditions."""
    started = gate_events.filter(
        _last_hour(now),
        pl.col("event") == GateEventType.PROMPTED.value,
        pl.col("user_id").is_null(),
        pl.col("detail").str.json_path_match("$.raid_lockdown") == "started",
    )
    per_group = started.group_by("group_id").agg(
        pl.len().alias("lockdowns"),
        pl.col("detail")
        .str.json_path_match("$.joins")
        .cast(pl.Int64, strict=False)
        .max()
        .alias("joins"),
        pl.col("timestamp").max().dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").alias("started_at"),
    )
    per_group = per_group.rename({"group_id": "chat_id"}).sort("chat_id")
    return _conditions(per_group, AlertKind.RAID, ["lockdowns", "joins", "started_at"])


def failure_spike(
    verifications: pl.DataFrame, now: dt.datetime, thresholds: Thresholds
) -> pl.DataFrame:
    """``verification_log`` rows (``group_id``, ``status``, ``timestamp``) of
    ``[now - 7 d - 1 h, now)`` -> ``failure_spike`` conditions."""
    failed = verifications.filter(
        pl.col("status").is_in([VerificationStatus.FAILED.value, VerificationStatus.ERROR.value])
    )
    recent = _last_hour(now)
    before = pl.col("timestamp").is_between(now - HOUR - BASELINE, now - HOUR, closed="left")
    hours = BASELINE / HOUR
    per_group = failed.group_by("group_id").agg(
        recent.sum().cast(pl.Int64).alias("failures"),
        (before.sum() / hours).alias("hourly_avg_7d"),
    )
    firing = per_group.filter(
        pl.col("failures") >= thresholds.failure_spike_min,
        pl.col("failures") >= thresholds.failure_spike_factor * pl.col("hourly_avg_7d"),
    )
    firing = firing.rename({"group_id": "chat_id"}).sort("chat_id")
    return _conditions(firing, AlertKind.FAILURE_SPIKE, ["failures", "hourly_avg_7d"])


def permission_lost(
    last_rights: pl.DataFrame, groups: pl.DataFrame, channels: pl.DataFrame
) -> pl.DataFrame:
    """The last ``bot_rights`` row per chat (``chat_id``, ``status``, ``is_admin``,
    ``can_restrict_members``, ``can_delete_messages``) and the ``id`` of each protected group
    and enforced channel -> ``permission_lost`` conditions."""
    kind = (
        pl.when(pl.col("chat_id").is_in(groups["id"].implode()))
        .then(pl.lit(GROUP))
        .when(pl.col("chat_id").is_in(channels["id"].implode()))
        .then(pl.lit(CHANNEL))
    )
    admin = pl.col("is_admin")
    full = admin & pl.col("can_restrict_members") & pl.col("can_delete_messages")
    lacking = (
        last_rights.with_columns(kind.alias("chat_kind"))
        .filter(
            ((pl.col("chat_kind") == GROUP) & ~full) | ((pl.col("chat_kind") == CHANNEL) & ~admin)
        )
        .sort("chat_id")
    )
    state = ["chat_kind", "status", "is_admin", "can_restrict_members", "can_delete_messages"]
    return _conditions(lacking, AlertKind.PERMISSION_LOST, state)


def throttled(api_calls: pl.DataFrame, now: dt.datetime, thresholds: Thresholds) -> pl.DataFrame:
    """``api_call_log`` rows (``chat_id``, ``error_type``, ``timestamp``) -> ``throttled``."""
    per_chat = (
        api_calls.filter(_last_hour(now), pl.col("error_type") == ErrorType.RETRY_AFTER.value)
        .group_by(pl.col("chat_id").fill_null(BOT_CHAT))
        .agg(pl.len().cast(pl.Int64).alias("retry_after"))
        .filter(pl.col("retry_after") >= thresholds.throttled_min)
        .sort("chat_id")
    )
    return _conditions(per_chat, AlertKind.THROTTLED, ["retry_after"])


def stale_pipeline(
    materializations: pl.DataFrame, now: dt.datetime, thresholds: Thresholds
) -> pl.DataFrame:
    """The newest ``materialized_at`` per ``table_name`` -> at most one ``stale_pipeline``."""
    cutoff = now - dt.timedelta(hours=thresholds.stale_hours)
    stale = materializations.filter(pl.col("materialized_at") < cutoff).sort("table_name")
    if stale.height == 0:
        return pl.DataFrame(schema=CONDITIONS_SCHEMA)
    tables = {
        name: when.isoformat()
        for name, when in stale.select("table_name", "materialized_at").rows()
    }
    kind = AlertKind.STALE_PIPELINE
    return pl.DataFrame(
        [(BOT_CHAT, kind.value, SEVERITY[kind], json.dumps({"tables": tables}))],
        schema=CONDITIONS_SCHEMA,
        orient="row",
    )


def conditions(
    *,
    now: dt.datetime,
    thresholds: Thresholds,
    gate_events: pl.DataFrame,
    verifications: pl.DataFrame,
    api_calls: pl.DataFrame,
    last_rights: pl.DataFrame,
    groups: pl.DataFrame,
    channels: pl.DataFrame,
    materializations: pl.DataFrame,
) -> pl.DataFrame:
    """Every condition that holds at ``now``: one row per (``chat_id``, ``kind``)."""
    return pl.concat(
        [
            raid(gate_events, now),
            failure_spike(verifications, now, thresholds),
            permission_lost(last_rights, groups, channels),
            throttled(api_calls, now, thresholds),
            stale_pipeline(materializations, now, thresholds),
        ]
    )


def reconcile(
    open_alerts: pl.DataFrame, current: pl.DataFrame, now: dt.datetime
) -> tuple[pl.DataFrame, list[int]]:
    """Open alerts (``id``, ``chat_id``, ``kind``) and the conditions holding now -> the alerts
    to open (the conditions' columns plus ``opened_at``) and the ids to resolve at ``now``."""
    keys = ["chat_id", "kind"]
    to_open = current.join(open_alerts.select(keys), on=keys, how="anti").with_columns(
        pl.lit(now, dtype=pl.Datetime("us", "UTC")).alias("opened_at")
    )
    cleared = open_alerts.join(current.select(keys), on=keys, how="anti")
    return to_open, sorted(cleared["id"].to_list())
