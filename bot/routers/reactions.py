"""Reactions to messages (``message_reaction``, ``message_reaction_count``): recorded, never
gated (:mod:`bot.storage.reactions` says what a row counts).

Telegram sends these updates only to a bot that lists them in ``allowed_updates``; the polling
and webhook setups take that list from ``dp.resolve_used_update_types()``, which names an update
type only when some router handles it: these handlers are what asks for reactions.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import MessageReactionCountUpdated, MessageReactionUpdated

from bot.runtime.services import BotServices


async def on_reaction(event: MessageReactionUpdated, services: BotServices) -> None:
    services.reactions.user_changed(event)


async def on_reaction_count(event: MessageReactionCountUpdated, services: BotServices) -> None:
    await services.reactions.counts_changed(event)


def create_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.message_reaction.register(on_reaction)
    router.message_reaction_count.register(on_reaction_count)
    return router
