"""The bot's routers, one per module; :func:`get_routers` returns them in dispatch order.

Two modules here are not routers: :mod:`bot.routers.filters`, the filters the routers share,
and :mod:`bot.routers.privacy`, the ``/mydata`` and ``/forgetme`` handlers that
:mod:`bot.routers.private` registers."""

from __future__ import annotations

from aiogram import Router

from bot.routers import (
    admin,
    callbacks,
    channels,
    chats,
    dashboard,
    gate,
    private,
    reactions,
    requests,
)


def get_routers() -> list[Router]:
    """Fresh routers (a router joins one Dispatcher only), ordered for the hot path.

    A group message is taken by the gate first, without visiting the routers after it:
    every router visited costs aiogram's middleware and filter plumbing. The gate's router
    leaves two kinds of group message to the admin router after it: ``/commands`` and
    migration notices (see :mod:`bot.routers.chats`); a group command no admin handler takes
    goes on to the gate again (:func:`bot.routers.gate.create_command_router`), so that a
    leading ``/`` is no way round the gate. The gate's handlers only take group events, so
    private messages, callback queries and channel updates fall through to the routers after
    it. Join requests and their private "I joined" button (:mod:`bot.routers.requests`) come
    before the callbacks router's catch-all. Reactions (:mod:`bot.routers.reactions`, as
    frequent as messages in a lively group) come soon after the gate: group messages never
    reach them. Registering their handlers is also what puts their update types into
    ``resolve_used_update_types()`` (Telegram sends them only when asked).
    ``/dashboard`` (:mod:`bot.routers.dashboard`): its group handler is a sub-router of the
    admin router (visited by group commands only), its private one comes before the private
    router's catch-all.
    """
    modules = (gate, admin, reactions, requests, dashboard, private, callbacks, channels, chats)
    routers = [m.create_router() for m in modules]
    routers[1].include_router(dashboard.create_group_router())
    routers.insert(2, gate.create_command_router())
    return routers
