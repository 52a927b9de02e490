"""The bot's routers, one per module; :func:`get_routers` returns them in dispatch order."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    """Fresh routers (a router joins one Dispatcher only): private chat, admin commands,
    callbacks, channels, then the gate's catch-all last."""
    from bot.routers import admin, callbacks, channels, gate, private

    return [m.create_router() for m in (private, admin, callbacks, channels, gate)]
