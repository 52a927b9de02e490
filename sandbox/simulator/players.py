"""How the simulation plays what is not people chatting: the shapes of
:mod:`sandbox.simulator.shapes`, the day's one-off world events (a migration, a channel that
takes the bot's rights for a day) and join requests. A base of
:class:`~sandbox.simulator.runner.Simulation`, which provides the world, the clock, the planner
and ``_feed``.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING, Any

from bot.gate.join_requests import RequestCallback
from sandbox.simulator.scenario import Persona, SimGroup
from sandbox.simulator.shapes import RAIDERS, Shape

if TYPE_CHECKING:
    from core.clock import ManualClock
    from sandbox.fake_telegram.world import FakeWorld
    from sandbox.simulator.shapes import WorldPlan
    from sandbox.simulator.social import SocialPlanner
    from sandbox.simulator.traffic import Planner


class ShapePlayer:
    """Plays shapes, world events and join requests (see the module's docstring)."""

    if TYPE_CHECKING:
        world: FakeWorld
        clock: ManualClock
        planner: Planner
        plan: WorldPlan
        social: SocialPlanner
        start: dt.datetime
        groups: dict[int, SimGroup]
        groups_by_channel: dict[int, list[SimGroup]]
        stats: Any
        _live: dict[int, int]

        async def _feed(self, update: dict[str, Any]) -> None: ...
        async def _protect(self, group: SimGroup) -> None: ...
        def _chat(self, group: SimGroup) -> int: ...

    async def _raid(self, group: SimGroup) -> None:
        """``RAIDERS`` throwaway accounts join at once, at midnight (one ``new_chat_members``
        update, as a raid added by a script arrives): the gate mutes them together and locks
        the group down for a while."""
        rng = random.Random(self.planner.scenario.seed * 7 + 5)
        raiders = [self.planner.scenario.new_user(rng, bot_like=True) for _ in range(RAIDERS)]
        for raider in raiders:
            self.world.add_user(raider.user_id, raider.first_name, raider.username)
            self.planner.personas[(group.chat_id, raider.user_id)] = Persona.SPAMMER
        chat = self._chat(group)
        await self._feed(self.world.new_members_update(chat, [r.user_id for r in raiders]))

    async def _join_request(self, group: SimGroup, user_id: int) -> None:
        """A newcomer asks to join the group that uses join requests. The bot approves a
        subscriber at once; anyone else gets a private message, and, by their persona, joins
        the channels and presses "I joined" there, or lets the request expire."""
        world, chat = self.world, group.chat_id
        link = self.social.invite_link()
        await self._feed(world.join_request_update(chat, user_id, invite_link_name=link))
        await self._feed_queued()  # an approval's chat_member update, as Telegram sends it
        if world.is_member(chat, user_id):
            self.planner.on_verified(group, user_id)
            return
        if self.planner.persona(chat, user_id) in (Persona.COMPLIES, Persona.EAGER_CLICKER):
            for channel_id in group.channel_ids:
                if not world.is_member(channel_id, user_id):
                    self.clock.advance(self.planner.rng.uniform(20, 240))
                    await self._feed(world.join_update(channel_id, user_id))
            button = self._private_button(user_id, RequestCallback(group_id=chat).pack())
            if button is not None:
                self.clock.advance(self.planner.rng.uniform(5, 60))
                data, message_id = button
                await self._feed(
                    world.callback_update(user_id, user_id, data, message_id=message_id)
                )
                await self._feed_queued()
                if world.is_member(chat, user_id):
                    self.stats.verified += 1
                    self.planner.on_verified(group, user_id)

    def _private_button(self, user_id: int, data: str) -> tuple[str, int] | None:
        """(callback data, message id) of the newest private message to ``user_id`` with a
        button carrying ``data``."""
        for sent in reversed(self.world.sent_messages[-30:]):
            if sent.get("chat", {}).get("id") != user_id:
                continue
            rows = (sent.get("reply_markup") or {}).get("inline_keyboard") or []
            if any(b.get("callback_data") == data for row in rows for b in row):
                return data, int(sent["message_id"])
        return None

    async def _feed_queued(self) -> None:
        """Feed what the world queued for the bot meanwhile (getUpdates would return it)."""
        while self.world.updates:
            await self._feed(self.world.updates.pop(0))

    async def _play_shape(self, shape: Shape) -> None:
        world = self.world
        group = self.groups[shape.chat_id]
        chat = self._chat(group)
        if shape.kind == "anonymous_admin":
            await self._feed(world.anonymous_admin_update(chat, shape.text))
        elif shape.kind == "automatic_forward":
            await self._feed(world.automatic_forward_update(chat, shape.text))
        elif shape.kind == "channel_post" and shape.sender_chat_id is not None:
            await self._feed(world.sender_chat_update(chat, shape.sender_chat_id, shape.text))
        elif shape.kind == "service":
            fields: dict[str, Any] = {}
            if shape.text == "pinned_message":  # an admin pins the newest message still there
                kept = world.chats[chat].messages
                if not kept:
                    return
                fields["message_id"] = max(kept)
            await self._feed(
                world.service_update(chat, shape.text, by_user_id=shape.by_user_id, **fields)
            )

    async def _world_events(self, index: int) -> None:
        """The day's one-off events: a basic group becomes a supergroup (and its creator
        protects it again there), a linked channel takes the bot's rights for a day."""
        plan, world = self.plan, self.world
        day_start = self.start + dt.timedelta(days=index, seconds=30)
        if self.clock.now() < day_start:
            self.clock.set(day_start)
        if index == plan.migration_day and plan.basic_group is not None:
            group = self.groups[plan.basic_group]
            if group.chat_id not in self._live:
                for update in world.migrate_group(group.chat_id, by_user_id=group.creator_id):
                    await self._feed(update)
                new_id = world.migrated_to(group.chat_id)
                assert new_id is not None, "the world migrated the group"
                self._live[group.chat_id] = new_id
                await self._protect(group)
        if index == plan.raid_day and plan.raid_group is not None:
            await self._raid(self.groups[plan.raid_group])
        if plan.rights_channel is not None and index in (plan.rights_day, plan.rights_day + 1):
            owner = self.groups_by_channel[plan.rights_channel][0].creator_id
            status = "left" if index == plan.rights_day else "administrator"
            await self._feed(
                world.change_bot_rights(plan.rights_channel, by_user_id=owner, status=status)
            )
