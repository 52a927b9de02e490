"""Private chat with the bot: /start, /help, and a pointer for anything else."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot import texts
from bot.filters import InPrivate
from bot.gate import _quietly

router = Router(name=__name__)
router.message.filter(InPrivate())

GROUP_COMMANDS = ("protect", "unprotect", "status", "settings", "allow", "deny")


@router.message(CommandStart())
async def cmd_start(message: Message) -> None:
    await _quietly(message.answer(texts.START), "sendMessage")


@router.message(Command("help"))
async def cmd_help(message: Message) -> None:
    await _quietly(message.answer(texts.HELP), "sendMessage")


@router.message(Command(*GROUP_COMMANDS))
async def cmd_group_only(message: Message) -> None:
    await _quietly(message.answer(texts.GROUP_ONLY), "sendMessage")


@router.message(F.text.startswith("/"))
async def on_unknown_command(message: Message) -> None:
    await _quietly(message.answer("Unknown command.\n\n" + texts.HELP), "sendMessage")
