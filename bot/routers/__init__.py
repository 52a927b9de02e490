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

    A group message visits the admin router (a root filter lets only ``/commands`` in) and is
    then taken by the gate's catch-all, without visiting the routers after it: every router
    visited costs aiogram's middleware and filter plumbing. The gate's handlers only take
    group events, so private messages, callback queries and channel updates fall through to
    the routers after it. A migration notice is a group message too: the admin router's root
    filter lets it in (see :mod:`bot.routers.chats`). Join requests and their private "I
    joined" button (:mod:`bot.routers.requests`) come before the callbacks router's catch-all.
    Reactions (:mod:`bot.routers.reactions`, as frequent as messages in a lively group) come
    right after the gate: group messages never reach them, and they pass two routers only.
    Registering their handlers is also what puts their update types into
    ``resolve_used_update_types()`` (Telegram sends them only when asked).
    ``/dashboard`` (:mod:`bot.routers.dashboard`): its group handler is a sub-router of the
    admin router (visited by group commands only), its private one comes before the private
    router's catch-all.
    """
    modules = (admin, gate, reactions, requests, dashboard, private, callbacks, channels, chats)
    routers = [m.create_router() for m in modules]
    routers[0].include_router(dashboard.create_group_router())
    return routers
