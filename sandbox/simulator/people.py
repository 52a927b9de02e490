"""What people do in the simulated world, played through the fake world and the real bot: they
write, join (or ask to join), subscribe to channels, press "I joined", and leave.

What they do next depends on what the bot did: a muted person cannot write; a prompted one may
join the channels and press the button (:meth:`~sandbox.simulator.traffic.Planner.on_muted`).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.gate.actions import JoinedCallback
from bot.gate.join_requests import RequestCallback
from sandbox.simulator.context import SimContext
from sandbox.simulator.scenario import Persona, SimGroup
from sandbox.simulator.traffic import Event, EventKind


class PeoplePlayer:
    """Plays the people's events (see the module docstring); ``invite_link`` names the link a
    newcomer joins by (``None``: no named link)."""

    def __init__(self, context: SimContext, invite_link: Callable[[], str | None]) -> None:
        self.context = context
        self.invite_link = invite_link
        self._prompts: dict[tuple[int, int], int] = {}  # (group, user) -> prompt message id

    async def play(self, event: Event) -> None:
        ctx = self.context
        world, planner = ctx.world, ctx.planner
        kind = event.kind
        if kind is EventKind.MESSAGE:
            group = ctx.groups[event.chat_id]
            chat = ctx.chat(group)
            if world.is_muted(chat, event.user_id):
                ctx.stats.skipped_muted += 1  # Telegram would not let them write
                return
            if world.member_status(chat, event.user_id) in ("left", "kicked"):
                return
            reply_to = ctx.message_ids.get(event.reply_to_seq or -1)
            thread = None
            if chat == ctx.plan.forum_group and ctx.topics and reply_to is None:
                thread = ctx.topics[event.seq % len(ctx.topics)]
            update = world.message_update(
                chat, event.user_id, event.text or "", reply_to=reply_to, message_thread_id=thread
            )
            ctx.message_ids[event.seq] = int(update["message"]["message_id"])
            await ctx.feed(update)
            self._after_gate(group, event.user_id, was_muted=False)
        elif kind is EventKind.JOIN:
            group = ctx.groups[event.chat_id]
            if planner.persona(group.chat_id, event.user_id) is Persona.SUBSCRIBED:
                for channel_id in group.channel_ids:  # subscribed long before
                    world.set_member(channel_id, event.user_id, "member")
            chat = ctx.chat(group)
            if chat == ctx.plan.requests_group:
                await self._join_request(group, event.user_id)
                return
            was_muted = world.is_muted(chat, event.user_id)
            link = self.invite_link()
            await ctx.feed(world.join_update(chat, event.user_id, invite_link_name=link))
            self._after_gate(group, event.user_id, was_muted)
            if not world.is_muted(chat, event.user_id):
                planner.on_verified(group, event.user_id)
        elif kind is EventKind.SUBSCRIBE:
            if not world.is_member(event.chat_id, event.user_id):
                await ctx.feed(world.join_update(event.chat_id, event.user_id))
        elif kind is EventKind.CLICK:
            group = ctx.groups[event.chat_id]
            chat = ctx.chat(group)
            prompt = self._prompts.get((chat, event.user_id))
            if prompt is None or not world.is_muted(chat, event.user_id):
                return
            data = JoinedCallback(user_id=event.user_id).pack()
            await ctx.feed(world.callback_update(chat, event.user_id, data, message_id=prompt))
            self._after_gate(group, event.user_id, was_muted=True)
        elif kind is EventKind.CHANNEL_LEAVE:
            if not world.is_member(event.chat_id, event.user_id):
                return
            linked = ctx.groups_by_channel.get(event.chat_id, [])
            before = {g.chat_id: world.is_muted(ctx.chat(g), event.user_id) for g in linked}
            await ctx.feed(world.leave_update(event.chat_id, event.user_id))
            for group in linked:
                self._after_gate(group, event.user_id, before[group.chat_id])
        elif kind is EventKind.GROUP_LEAVE:
            group = ctx.groups[event.chat_id]
            chat = ctx.chat(group)
            if world.member_status(chat, event.user_id) in ("left", "kicked"):
                return
            await ctx.feed(world.leave_update(chat, event.user_id))
            planner.on_left(group, event.user_id)

    def _after_gate(self, group: SimGroup, user_id: int, was_muted: bool) -> None:
        """React to what the bot did to ``user_id`` in ``group``."""
        ctx = self.context
        chat = ctx.chat(group)
        muted = ctx.world.is_muted(chat, user_id)
        if muted and not was_muted:
            ctx.stats.muted += 1
            prompt = ctx.button(chat, JoinedCallback(user_id=user_id).pack(), last=60)
            if prompt is not None:
                self._prompts[(chat, user_id)] = prompt
            missing = [c for c in group.channel_ids if not ctx.world.is_member(c, user_id)]
            for event in ctx.planner.on_muted(group, user_id, ctx.clock.now(), missing):
                ctx.schedule(event)
        elif was_muted and not muted:
            ctx.stats.verified += 1
            ctx.planner.on_verified(group, user_id)

    async def _join_request(self, group: SimGroup, user_id: int) -> None:
        """A newcomer asks to join the group that uses join requests. The bot approves a
        subscriber at once; anyone else gets a private message, and, by their persona, joins
        the channels and presses "I joined" there, or lets the request expire."""
        ctx = self.context
        world, planner, chat = ctx.world, ctx.planner, group.chat_id
        link = self.invite_link()
        await ctx.feed(world.join_request_update(chat, user_id, invite_link_name=link))
        await ctx.feed_queued()  # an approval's chat_member update, as Telegram sends it
        if world.is_member(chat, user_id):
            planner.on_verified(group, user_id)
            return
        if planner.persona(chat, user_id) in (Persona.COMPLIES, Persona.EAGER_CLICKER):
            for channel_id in group.channel_ids:
                if not world.is_member(channel_id, user_id):
                    ctx.clock.advance(planner.rng.uniform(20, 240))
                    await ctx.feed(world.join_update(channel_id, user_id))
            data = RequestCallback(group_id=chat).pack()
            message_id = ctx.button(user_id, data, last=30)
            if message_id is not None:
                ctx.clock.advance(planner.rng.uniform(5, 60))
                await ctx.feed(world.callback_update(user_id, user_id, data, message_id=message_id))
                await ctx.feed_queued()
                if world.is_member(chat, user_id):
                    ctx.stats.verified += 1
                    planner.on_verified(group, user_id)
