"""Who counts, and under which group id: pure polars filters shared by the transforms.

DESIGN: a *human* is a Telegram user who is not a bot and not a service account
(:data:`core.models.SERVICE_ACCOUNT_IDS`); human activity is ``messages.sender_kind = 'user'``;
group joins and leaves in analytics count humans only. And a group that migrated to a
supergroup (``chat_migrations``) is one group in analytics, under its new id.
"""

from __future__ import annotations

from typing import TypeVar

import polars as pl

from core.models import SERVICE_ACCOUNT_IDS, SenderKind

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

_SERVICE_IDS = pl.Series("service_ids", sorted(SERVICE_ACCOUNT_IDS), dtype=pl.Int64)


def _service_account(user_id: str) -> pl.Expr:
    """True for a service account's id (False for NULL: no sender id is not a service)."""
    return pl.col(user_id).is_in(_SERVICE_IDS.implode()).fill_null(False)


def human_messages(messages: Frame) -> Frame:
    """The messages people wrote: ``sender_kind = 'user'`` (DESIGN's human activity).

    Bots, anonymous admins, channels (linked or "send as channel") and service messages have
    other kinds. Belt and braces for rows that contradict their kind: a bot's message
    (``is_bot_message``) or a service account's id never counts either.
    """
    return messages.filter(
        (pl.col("sender_kind") == SenderKind.USER.value)
        & ~pl.col("is_bot_message")
        & ~_service_account("user_id")
    )


def human_member_events(member_events: Frame) -> Frame:
    """Joins, leaves and kicks of humans: not of a bot (``is_bot``), not of a service account."""
    return member_events.filter(~pl.col("is_bot") & ~_service_account("user_id"))


def bot_joins(member_events: Frame) -> Frame:
    """Bots joining (``is_bot``); a service account is no bot that joined."""
    return member_events.filter(
        pl.col("is_bot") & (pl.col("event") == "join") & ~_service_account("user_id")
    )


def human_reactors(reactions: Frame) -> Frame:
    """Reaction rows of people who added a reaction: a user id (anonymous totals have none),
    not a service account's, ``added > 0``. (``reaction_events`` records no ``is_bot``: the
    service accounts are the non-people it can name.)"""
    return reactions.filter(
        pl.col("user_id").is_not_null() & ~_service_account("user_id") & (pl.col("added") > 0)
    )


def migration_map(migrations: pl.DataFrame) -> dict[int, int]:
    """``{old chat id: the id it is known by now}`` from ``chat_migrations`` rows
    (``old_chat_id``, ``new_chat_id``), a chain of migrations followed to its end."""
    step = dict(zip(migrations["old_chat_id"], migrations["new_chat_id"], strict=True))
    final = {}
    for old in step:
        seen, current = {old}, step[old]
        while current in step and current not in seen:  # a cycle would be bad data: stop
            seen.add(current)
            current = step[current]
        final[int(old)] = int(current)
    return final


def merge_migrated_chats(frame: Frame, column: str | None, migrations: pl.DataFrame) -> Frame:
    """``frame`` with every chat id in ``column`` that a group migrated from replaced by the
    group's current id, so that both ids aggregate as one group. Nothing to do without a
    ``column`` (a read with no chat) or without migrations."""
    if column is None or migrations.height == 0:
        return frame
    mapping = migration_map(migrations)
    return frame.with_columns(
        pl.col(column).replace(
            pl.Series(list(mapping), dtype=pl.Int64),
            pl.Series(list(mapping.values()), dtype=pl.Int64),
        )
    )
