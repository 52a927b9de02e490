"""Join requests (``chat_join_request``) to a gated group, and the "I joined" button of the
private message that answers one (:mod:`bot.gate.join_requests`).

A group that is not protected, or whose gate is off, is left alone: its requests are for its
admins. The button's callback (``gpr:<group>``) is pressed in private; this router comes
before the private and callbacks routers so that it reaches this handler.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, ChatJoinRequest

from bot.gate.join_requests import RequestCallback
from bot.routers.filters import InGroup
from bot.runtime.services import BotServices


async def on_join_request(request: ChatJoinRequest, bot: Bot, services: BotServices) -> None:
    config = await services.repo.group_config(request.chat.id)
    if config is None or not config.active:
        return  # leave it to the group's admins
    await services.join_requests.handle(bot, config, request)


async def on_request_joined(
    query: CallbackQuery, callback_data: RequestCallback, bot: Bot, services: BotServices
) -> None:
    group_id = callback_data.group_id
    config = await services.repo.group_config(group_id)
    await services.join_requests.pressed(bot, config, query, group_id)


def create_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.chat_join_request.register(on_join_request, InGroup())
    router.callback_query.register(on_request_joined, RequestCallback.filter())
    return router
