"""The bot's own rights per day and chat, and how long it lacked what the gate needs.

The bot writes a ``bot_rights`` row for every change of its status or rights it learns of
(append-only). The dashboard reads analytics tables only, so this turns those changes into a
daily state per chat. Inputs: the window's ``bot_rights`` rows, the last row per chat before the
window (the state at the window's first midnight, from all the history), the ids of
``protected_groups`` and of ``enforced_channels``, and the window's days. Chat ids are merged
by the caller (a migrated group's old id under its new one).

``analytics_bot_rights_daily`` (day, chat_id):
- ``chat_kind``: ``'group'`` for a protected group, else ``'channel'`` for an enforced channel,
  else ``'other'`` (configuration as it is now).
- ``status``, ``is_admin``, ``can_restrict_members``, ``can_delete_messages``,
  ``can_invite_users``: as of the end of the day, i.e. from the chat's last ``bot_rights`` row
  before the next midnight, over all history (two rows at one instant: the later ``id`` wins).
- ``changes``: the chat's ``bot_rights`` rows that day.
- ``lacking_s``: seconds of that UTC day during which the bot lacked what the gate needs there.
  In a group: being an administrator (``is_admin``) with ``can_restrict_members`` AND
  ``can_delete_messages`` (mute newcomers, delete their messages). In a channel: being an
  administrator (to see who is a member). In an ``'other'`` chat: never (0). Piecewise over the
  day: the state at 00:00 comes from the history, each row switches it from its timestamp on.
  Before the chat's first known row the state is unknown and counts as not lacking.
  Exact to the microsecond.
- Rows: every chat with a ``bot_rights`` row at or before the end of the day: the state carries
  forward day by day, so rights lost yesterday and not regained give 86400 today.
"""

from __future__ import annotations

import polars as pl

from pipelines.transforms.daily import ENGINE, epoch_us, utc_day

US_PER_DAY = 86_400_000_000
GROUP, CHANNEL, OTHER = "group", "channel", "other"
RIGHTS = ("is_admin", "can_restrict_members", "can_delete_messages", "can_invite_users")
STATE = ("status", *RIGHTS)
OUTPUT = ("day", "chat_id", "chat_kind", *STATE, "changes", "lacking_s")


def _lacking() -> pl.Expr:
    """True while the bot cannot do the gate's work in the chat (see the module docstring)."""
    admin = pl.col("is_admin")
    return (
        pl.when(pl.col("chat_kind") == GROUP)
        .then(~(admin & pl.col("can_restrict_members") & pl.col("can_delete_messages")))
        .when(pl.col("chat_kind") == CHANNEL)
        .then(~admin)
        .otherwise(False)
    )


def _chat_kind(groups: pl.DataFrame, channels: pl.DataFrame) -> pl.Expr:
    return (
        pl.when(pl.col("chat_id").is_in(groups["id"].implode()))
        .then(pl.lit(GROUP))
        .when(pl.col("chat_id").is_in(channels["id"].implode()))
        .then(pl.lit(CHANNEL))
        .otherwise(pl.lit(OTHER))
    )


def bot_rights_daily(
    bot_rights: pl.DataFrame,
    rights_before: pl.DataFrame,
    groups: pl.DataFrame,
    channels: pl.DataFrame,
    days: pl.DataFrame,
) -> pl.DataFrame:
    """``analytics_bot_rights_daily`` (definitions in the module docstring).

    ``bot_rights``/``rights_before``: ``bot_rights`` rows (``id``, ``chat_id``, the state
    columns, ``timestamp``) of the window and the last one per chat before it; ``groups`` and
    ``channels``: one ``id`` column each; ``days``: the window's days (column ``day``).
    """
    schema = {
        "day": pl.Date,
        "chat_id": pl.Int64,
        "chat_kind": pl.String,
        "status": pl.String,
        **dict.fromkeys(RIGHTS, pl.Boolean),
        "changes": pl.Int64,
        "lacking_s": pl.Float64,
    }
    if days.height == 0:
        return pl.DataFrame(schema=schema)
    first = days["day"].min()
    last = days["day"].max()
    window_start = pl.lit(first).cast(pl.Int32).cast(pl.Int64) * US_PER_DAY
    window_end = (pl.lit(last).cast(pl.Int32).cast(pl.Int64) + 1) * US_PER_DAY
    cols = ["id", "chat_id", *STATE, "timestamp"]
    # each row holds from its timestamp to the chat's next row: a segment, clipped to the window
    segments = (
        pl.concat([rights_before.lazy().select(cols), bot_rights.lazy().select(cols)])
        .with_columns(epoch_us("timestamp").alias("t"))
        .sort("chat_id", "t", "id")
        .with_columns(
            pl.max_horizontal("t", window_start).alias("s"),
            pl.min_horizontal(pl.col("t").shift(-1).over("chat_id"), window_end)
            .fill_null(window_end)
            .alias("e"),
        )
        .filter(pl.col("s") < pl.col("e"))
        .with_columns(_chat_kind(groups, channels).alias("chat_kind"))
        .with_columns(_lacking().alias("lacking"))
    )
    # one piece per day a segment overlaps
    pieces = (
        segments.with_columns(
            pl.int_ranges(pl.col("s") // US_PER_DAY, (pl.col("e") - 1) // US_PER_DAY + 1).alias("d")
        )
        .explode("d")
        .with_columns(
            (
                pl.min_horizontal("e", (pl.col("d") + 1) * US_PER_DAY)
                - pl.max_horizontal("s", pl.col("d") * US_PER_DAY)
            ).alias("overlap"),
            pl.col("d").cast(pl.Int32).cast(pl.Date).alias("day"),
        )
    )
    daily = pieces.group_by("day", "chat_id").agg(
        pl.col("chat_kind").first(),
        *(pl.col(c).sort_by("s").last() for c in STATE),  # the state the day ends in
        (pl.col("overlap") * pl.col("lacking").cast(pl.Int64)).sum().alias("lacking_us"),
    )
    changes = (
        bot_rights.lazy()
        .group_by(utc_day("timestamp"), "chat_id")
        .agg(pl.len().cast(pl.Int64).alias("changes"))
    )
    return (
        daily.join(changes, on=["day", "chat_id"], how="left")
        .with_columns(
            pl.col("changes").fill_null(0),
            # polars divides a column by a scalar as a multiplication by its reciprocal (off
            # in the last bit); rounded to the microsecond, the figure is the exact one
            (pl.col("lacking_us") / 1e6).round(6).alias("lacking_s"),
        )
        .select(OUTPUT)
        .sort("day", "chat_id")
        .collect(engine=ENGINE)
    )
