"""Who may be written to in private (``bot_private_chats``): alert recipients.

Telegram lets a bot message a person only after they started it; it says so with a
``my_chat_member`` update in the private chat when they block (``kicked``) or restart it
(``member``). A person who pressed /start is noted as started; a block sets ``blocked_at``
until the next start. The pipelines' alert delivery reads this table and marks ``blocked_at``
itself when Telegram answers 403.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.db import write_turn
from core.models import BotPrivateChat

log = logging.getLogger(__name__)


async def note_private_chat(
    sessions: async_sessionmaker[AsyncSession], user_id: int, *, blocked: bool, now: dt.datetime
) -> None:
    """The person ``user_id`` started (``blocked=False``) or blocked the bot at ``now``.

    A database error is logged, not raised: a greeting must not fail on bookkeeping.
    """
    engine: AsyncEngine = sessions.kw["bind"]
    try:
        async with write_turn(engine), sessions() as session, session.begin():
            row = await session.get(BotPrivateChat, user_id)
            if row is None:
                if blocked:
                    return  # never started: nothing to remember
                session.add(BotPrivateChat(user_id=user_id, started_at=now, updated_at=now))
                return
            if blocked:
                row.blocked_at = row.blocked_at or now
            else:
                row.started_at = now
                row.blocked_at = None
            row.updated_at = now
    except Exception as exc:
        log.warning("private chat note failed: %s", type(exc).__name__)
