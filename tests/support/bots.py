"""Closing a real aiogram Bot that talked to the fake Telegram server on 127.0.0.1."""

from __future__ import annotations

from aiogram import Bot


async def close_bot(bot: Bot) -> None:
    """Close the bot's HTTP session without AiohttpSession's 0.25 s wait for TLS shutdown
    (plain HTTP on 127.0.0.1 has none)."""
    inner = getattr(bot.session, "_session", None)
    if inner is not None and not inner.closed:
        await inner.close()
    else:
        await bot.session.close()
