"""How the simulation plays what is neither people chatting nor their social life: the shapes of
:mod:`sandbox.simulator.shapes` and the day's one-off world events (a raid, a migration, a
channel that takes the bot's rights for a day)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sandbox.simulator.admins import AdminPlayer
from sandbox.simulator.context import SimContext
from sandbox.simulator.scenario import Persona, SimGroup
from sandbox.simulator.shapes import RAIDERS, Shape


class ShapePlayer:
    """Plays shapes and world events (see the module's docstring) of the run that starts at
    ``start``; ``admins`` protect a group again once it has migrated."""

    def __init__(self, context: SimContext, admins: AdminPlayer, *, start: dt.datetime) -> None:
        self.context = context
        self.admins = admins
        self.start = start

    async def play(self, shape: Shape) -> None:
        ctx = self.context
        world = ctx.world
        chat = ctx.chat(ctx.groups[shape.chat_id])
        if shape.kind == "anonymous_admin":
            await ctx.feed(world.anonymous_admin_update(chat, shape.text))
        elif shape.kind == "automatic_forward":
            await ctx.feed(world.automatic_forward_update(chat, shape.text))
        elif shape.kind == "channel_post" and shape.sender_chat_id is not None:
            await ctx.feed(world.sender_chat_update(chat, shape.sender_chat_id, shape.text))
        elif shape.kind == "service":
            fields: dict[str, Any] = {}
            if shape.text == "pinned_message":  # an admin pins the newest message still there
                kept = world.chats[chat].messages
                if not kept:
                    return
                fields["message_id"] = max(kept)
            await ctx.feed(
                world.service_update(chat, shape.text, by_user_id=shape.by_user_id, **fields)
            )

    async def world_events(self, index: int) -> None:
        """The day's one-off events: a basic group becomes a supergroup (and its creator
        protects it again there), a raid, a linked channel takes the bot's rights for a day."""
        ctx = self.context
        plan, world, clock = ctx.plan, ctx.world, ctx.clock
        day_start = self.start + dt.timedelta(days=index, seconds=30)
        if clock.now() < day_start:
            clock.set(day_start)
        if index == plan.migration_day and plan.basic_group is not None:
            group = ctx.groups[plan.basic_group]
            if group.chat_id not in ctx.live:
                for update in world.migrate_group(group.chat_id, by_user_id=group.creator_id):
                    await ctx.feed(update)
                new_id = world.migrated_to(group.chat_id)
                assert new_id is not None, "the world migrated the group"
                ctx.live[group.chat_id] = new_id
                await self.admins.protect(group)
                await self.admins.configure(group)  # its language, timeout... as the others'
        if index == plan.raid_day and plan.raid_group is not None:
            await self._raid(ctx.groups[plan.raid_group])
        if plan.rights_channel is not None and index in (plan.rights_day, plan.rights_day + 1):
            owner = ctx.groups_by_channel[plan.rights_channel][0].creator_id
            status = "left" if index == plan.rights_day else "administrator"
            await ctx.feed(
                world.change_bot_rights(plan.rights_channel, by_user_id=owner, status=status)
            )

    async def _raid(self, group: SimGroup) -> None:
        """``RAIDERS`` throwaway accounts join at once, at midnight (one ``new_chat_members``
        update, as a raid added by a script arrives): the gate mutes them together and locks
        the group down for a while."""
        ctx = self.context
        scenario, planner = ctx.scenario, ctx.planner
        rng = random.Random(scenario.seed * 7 + 5)
        raiders = [scenario.new_user(rng, bot_like=True) for _ in range(RAIDERS)]
        for raider in raiders:
            ctx.world.add_user(raider.user_id, raider.first_name, raider.username)
            planner.personas[(group.chat_id, raider.user_id)] = Persona.SPAMMER
        chat = ctx.chat(group)
        await ctx.feed(ctx.world.new_members_update(chat, [r.user_id for r in raiders]))
