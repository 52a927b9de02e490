"""What people do in the simulated groups besides writing and passing the gate: they react to
messages, join through named invite links, get banned by an admin, and admins add bots.

:class:`SocialPlanner` lays these out per day from the day's planned traffic, on a random
stream of its own (the people's traffic of :class:`~sandbox.simulator.traffic.Planner` stays as
it was for a seed):

* reactions to the day's messages, minutes to hours after each, by the group's members and by
  its silent reactors (members who react but never write); some people change or take back
  their reaction later; a few reactions come from anonymous admins (``actor_chat``);
* anonymous reaction totals (``message_reaction_count``) on the newest posts of the discussion
  group's linked channel, which grow (and at times shrink) during the day;
* bans: some accounts of the spam wave soon after they arrive, and now and then a member;
* now and then a bot added to a group by an admin;
* the name of the invite link a newcomer joins by (:meth:`SocialPlanner.invite_link`).

:class:`SocialPlayer` (a part of :class:`~sandbox.simulator.runner.Simulation`) plays them
through the fake world and the real bot, as Telegram would send them: a reaction only to a
message still there, by someone who is a member and not muted, and only while the bot
administers the chat.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Mapping

from sandbox.simulator.context import SimContext
from sandbox.simulator.scenario import Persona, Scenario, SimGroup
from sandbox.simulator.shapes import WorldPlan
from sandbox.simulator.traffic import Event, EventKind, poisson
from sandbox.synth.vocabulary import BOT_NAMES, INVITE_LINKS

#: Mean reactions per message, the share of them by silent reactors and by anonymous admins.
REACTIONS_PER_MESSAGE = 0.07
SILENT_SHARE = 0.35
ANONYMOUS_SHARE = 0.03
#: Chance that a reaction is changed later (half of those: taken back).
CHANGED_SHARE = 0.1
EMOJI = ("👍", "❤", "🔥", "😁", "👏", "🤔", "🎉", "😢")
EMOJI_WEIGHTS = (30, 18, 12, 10, 8, 6, 5, 3)
#: Anonymous total updates on the linked channel's posts per day.
COUNT_UPDATES_PER_DAY = 6.0
#: Chance that a spam-wave account is banned by an admin; member bans per member and day.
SPAMMER_BANNED = 0.3
BANS_PER_MEMBER_DAY = 0.0005
#: Chance per group and day that an admin adds a bot.
BOT_JOIN_PER_DAY = 0.05
#: Share of joins through a named invite link, and the names groups give their links.
INVITE_LINK_SHARE = 0.35
#: Social events' ``seq`` start here: apart from the planner's and the shapes' sequences.
SEQ_START = 10**12


class SocialPlanner:
    """Lays out the day's social events (see the module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        plan: WorldPlan,
        personas: Mapping[tuple[int, int], Persona],
    ) -> None:
        self.scenario = scenario
        self.plan = plan
        self.personas = personas
        self.rng = random.Random(scenario.seed * 15485863 + 5)
        self._seq = itertools.count(SEQ_START)
        self.groups = {g.chat_id: g for g in scenario.groups}

    def _event(
        self,
        at: dt.datetime,
        kind: EventKind,
        chat_id: int,
        user_id: int,
        text: str | None = None,
        target: int | None = None,
    ) -> Event:
        return Event(at, next(self._seq), kind, chat_id, user_id, text, target)

    def day(self, day: dt.datetime, events: list[Event]) -> list[Event]:
        """The social events of the day starting at ``day``, given its planned ``events``."""
        out: list[Event] = []
        for event in events:
            group = self.groups.get(event.chat_id)
            if group is None:
                continue
            if event.kind is EventKind.MESSAGE:
                out += self._reactions(group, event)
            elif event.kind is EventKind.JOIN:
                persona = self.personas.get((group.chat_id, event.user_id))
                if persona is Persona.SPAMMER and self.rng.random() < SPAMMER_BANNED:
                    at = event.at + dt.timedelta(seconds=self.rng.uniform(600, 5400))
                    out.append(self._event(at, EventKind.KICK, group.chat_id, event.user_id))
        for group in self.scenario.groups:
            for _ in range(poisson(self.rng, len(group.members) * BANS_PER_MEMBER_DAY)):
                if group.members:
                    uid = self.rng.choice(group.members)
                    out.append(self._event(self._moment(day), EventKind.KICK, group.chat_id, uid))
            if self.rng.random() < BOT_JOIN_PER_DAY:
                name = self.rng.choice(BOT_NAMES)
                at = self._moment(day)
                out.append(self._event(at, EventKind.BOT_JOIN, group.chat_id, 0, name))
        if self.plan.discussion_group is not None:
            for _ in range(poisson(self.rng, COUNT_UPDATES_PER_DAY)):
                at, newest = self._moment(day), self.rng.randrange(3)
                chat = self.plan.discussion_group
                out.append(self._event(at, EventKind.REACTION_COUNT, chat, newest))
        return out

    def invite_link(self) -> str | None:
        """The name of the invite link a newcomer joins by, or ``None`` (no named link)."""
        if self.rng.random() < INVITE_LINK_SHARE:
            return self.rng.choice(INVITE_LINKS)
        return None

    def _moment(self, day: dt.datetime) -> dt.datetime:
        return day + dt.timedelta(seconds=self.rng.uniform(7 * 3600, 23 * 3600))

    def _emoji(self) -> str:
        return self.rng.choices(EMOJI, weights=EMOJI_WEIGHTS)[0]

    def _reactions(self, group: SimGroup, message: Event) -> list[Event]:
        rng = self.rng
        out: list[Event] = []
        for _ in range(poisson(rng, REACTIONS_PER_MESSAGE)):
            r = rng.random()
            if r < ANONYMOUS_SHARE:
                uid = 0  # an anonymous admin, on behalf of the group
            elif r < ANONYMOUS_SHARE + SILENT_SHARE and group.reactors:
                uid = rng.choice(group.reactors)
            elif group.members:
                uid = rng.choice(group.members)
            else:
                continue
            if uid == message.user_id:
                continue
            at = message.at + dt.timedelta(seconds=rng.expovariate(1 / 900))
            chat = group.chat_id
            out.append(self._event(at, EventKind.REACT, chat, uid, self._emoji(), message.seq))
            if rng.random() < CHANGED_SHARE:
                at += dt.timedelta(seconds=rng.expovariate(1 / 1800))
                again = self._emoji() if rng.random() < 0.5 else ""  # "": taken back
                out.append(self._event(at, EventKind.REACT, chat, uid, again, message.seq))
        return out


class SocialPlayer:
    """Plays the social events (see the module docstring)."""

    def __init__(self, context: SimContext) -> None:
        self.context = context
        #: (chat, message, user: 0 for an anonymous admin) -> the reactions set now
        self._reactions: dict[tuple[int, int, int], tuple[str, ...]] = {}
        #: (channel, post) -> the anonymous totals now
        self._post_totals: dict[tuple[int, int], dict[str, int]] = {}
        self._rng = random.Random(context.scenario.seed * 7727 + 3)

    def _administers(self, chat_id: int) -> bool:
        """Telegram sends reaction updates only to a bot that administers the chat."""
        world = self.context.world
        return world.member_status(chat_id, world.bot_id) == "administrator"

    async def play(self, event: Event) -> None:
        kind = event.kind
        if kind is EventKind.REACT:
            await self._react(event)
        elif kind is EventKind.KICK:
            await self._kick(event)
        elif kind is EventKind.BOT_JOIN:
            await self._bot_join(event)
        elif kind is EventKind.REACTION_COUNT:
            await self._post_reactions(event)

    async def _react(self, event: Event) -> None:
        ctx = self.context
        world = ctx.world
        chat = ctx.chat(ctx.groups[event.chat_id])
        message_id = ctx.message_ids.get(event.reply_to_seq or 0)
        if message_id is None or message_id not in world.chats[chat].messages:
            return  # never written (muted), deleted by the gate, or before a migration
        uid = event.user_id
        if uid and (not world.is_member(chat, uid) or world.is_muted(chat, uid)):
            return
        if not self._administers(chat):
            return
        key = (chat, message_id, uid)
        old = self._reactions.get(key, ())
        new = (event.text,) if event.text else ()
        if old == new:
            return
        if new:
            self._reactions[key] = new
        else:
            self._reactions.pop(key, None)
        await ctx.feed(
            world.reaction_update(
                chat, message_id, uid or None, old=old, new=new, actor_chat_id=None if uid else chat
            )
        )

    async def _kick(self, event: Event) -> None:
        ctx = self.context
        group = ctx.groups[event.chat_id]
        chat, uid = ctx.chat(group), event.user_id
        if ctx.world.member_status(chat, uid) not in ("member", "restricted"):
            return  # gone already, or an admin
        admins = [group.creator_id, *group.admin_ids]
        await ctx.feed(ctx.world.kick_update(chat, uid, by_user_id=admins[uid % len(admins)]))
        ctx.planner.on_left(group, uid)
        if uid in group.reactors:
            group.reactors.remove(uid)

    async def _bot_join(self, event: Event) -> None:
        ctx = self.context
        group = ctx.groups[event.chat_id]
        chat = ctx.chat(group)
        uid = ctx.scenario.next_user_id
        ctx.scenario.next_user_id += 1
        name = event.text or "HelperBot"
        ctx.world.add_user(uid, name, f"{name.lower()}{uid % 10000}_bot", is_bot=True)
        admins = [group.creator_id, *group.admin_ids]
        by = admins[uid % len(admins)]
        for update in ctx.world.double_join_updates(chat, uid, by_user_id=by):
            await ctx.feed(update)

    async def _post_reactions(self, event: Event) -> None:
        """The anonymous totals of one of the linked channel's newest posts change."""
        ctx = self.context
        group = ctx.groups[event.chat_id]
        channel = group.channel_ids[0]
        posts = sorted(ctx.world.chats[channel].messages)[-3:]
        if not posts or not self._administers(channel):
            return
        post = posts[-1 - event.user_id % len(posts)]
        totals = self._post_totals.setdefault((channel, post), {})
        rng = self._rng
        emoji = rng.choices(EMOJI, weights=EMOJI_WEIGHTS)[0]
        totals[emoji] = totals.get(emoji, 0) + rng.randint(1, 6)
        if rng.random() < 0.15:  # someone took theirs back
            gone = rng.choice(sorted(totals))
            totals[gone] -= 1
        await ctx.feed(ctx.world.reaction_count_update(channel, post, totals))
