"""Private chat with the bot: /start, /help, /mydata, /forgetme, and a pointer for anything
else."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot import texts
from bot.gate.calls import quietly
from bot.routers import privacy
from bot.routers.commands import ReplyLanguage, onboarding_of
from bot.routers.filters import CommandLike, InPrivate
from bot.runtime.services import BotServices
from bot.storage.private_chats import note_private_chat
from bot.texts import ENGLISH, Texts

GROUP_COMMANDS = ("protect", "unprotect", "status", "settings", "allow", "deny", "alerts")


async def cmd_start(message: Message, bot: Bot, services: BotServices, t: Texts = ENGLISH) -> None:
    """Greets, then walks an owner through the three steps, with the links that add the bot
    with the rights it needs (:mod:`bot.gate.onboarding`)."""
    user = message.from_user
    if user is not None and not user.is_bot:  # alerts may now be sent to them
        await note_private_chat(services.sessions, user.id, blocked=False, now=services.clock.now())
    onboarding = await onboarding_of(bot)
    steps = onboarding.steps(t) if onboarding is not None else t(texts.STEPS_WITHOUT_LINKS)
    await quietly(message.answer(t(texts.START) + steps), "sendMessage")


async def cmd_help(message: Message, t: Texts = ENGLISH) -> None:
    await quietly(message.answer(t(texts.HELP)), "sendMessage")


async def cmd_group_only(message: Message, t: Texts = ENGLISH) -> None:
    await quietly(message.answer(t(texts.GROUP_ONLY)), "sendMessage")


async def on_unknown_command(message: Message, t: Texts = ENGLISH) -> None:
    text = t(texts.UNKNOWN_COMMAND) + "\n\n" + t(texts.HELP)
    await quietly(message.answer(text), "sendMessage")


def create_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.message.filter(InPrivate())
    router.message.middleware(ReplyLanguage())
    router.message.register(cmd_start, CommandStart())
    router.message.register(cmd_help, Command("help"))
    router.message.register(cmd_group_only, Command(*GROUP_COMMANDS))
    privacy.register(router)  # /mydata, /forgetme and its buttons
    router.message.register(on_unknown_command, CommandLike())
    return router
