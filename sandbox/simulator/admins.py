"""What the groups' owners do through the bot's admin commands: start the bot in private,
protect their group with ``/protect``, set its language and newcomer rules with ``/settings``,
opt in to the weekly digest, open the forum's topics."""

from __future__ import annotations

from sandbox.simulator.context import SimContext
from sandbox.simulator.scenario import SimGroup
from sandbox.simulator.shapes import FORUM_TOPICS


class AdminPlayer:
    """Plays the owners' admin flows (see the module docstring)."""

    def __init__(self, context: SimContext) -> None:
        self.context = context

    async def setup(self) -> None:
        """Each creator starts the bot in private (so alerts can reach them) and protects their
        group with ``/protect`` (the real admin flow; the basic group is refused until it
        becomes a supergroup); the forum gets its topics."""
        ctx = self.context
        groups = ctx.scenario.groups
        for creator in sorted({group.creator_id for group in groups}):
            await ctx.feed(ctx.world.message_update(creator, creator, "/start"))
        for index, group in enumerate(groups):
            await self.protect(group)
            if group.chat_id != ctx.plan.basic_group:
                await self.configure(group)
            if index % 2 == 0 and group.chat_id != ctx.plan.basic_group:
                await self._opt_in_digest(group, top_posters=index % 4 == 0)
            if group.chat_id == ctx.plan.forum_group:
                for name in FORUM_TOPICS:
                    update = ctx.world.topic_created_update(
                        group.chat_id, name, by_user_id=group.creator_id
                    )
                    await ctx.feed(update)
                    ctx.topics.append(int(update["message"]["message_id"]))

    async def protect(self, group: SimGroup) -> None:
        """The creator protects ``group`` with its channels (``/protect @a @b``)."""
        ctx = self.context
        refs = []
        for channel_id in group.channel_ids:
            channel = ctx.scenario.channels[channel_id]
            refs.append(f"@{channel.username}" if channel.username else str(channel_id))
        update = ctx.world.message_update(
            ctx.chat(group), group.creator_id, "/protect " + " ".join(refs)
        )
        await ctx.feed(update)
        ctx.clock.advance(1.0)

    async def configure(self, group: SimGroup) -> None:
        """The owner's ``/settings`` for ``group`` (:func:`settings_commands`)."""
        ctx = self.context
        for text in settings_commands(group):
            await ctx.feed(ctx.world.message_update(ctx.chat(group), group.creator_id, text))
            ctx.clock.advance(1.0)

    async def _opt_in_digest(self, group: SimGroup, *, top_posters: bool) -> None:
        """Half the groups ask for the weekly digest (``/settings digest weekly``), every
        other one of them naming its top posters."""
        ctx = self.context
        commands = ["/settings digest weekly"] + (
            ["/settings top_posters on"] if top_posters else []
        )
        for text in commands:
            await ctx.feed(ctx.world.message_update(ctx.chat(group), group.creator_id, text))
            ctx.clock.advance(1.0)


def settings_commands(group: SimGroup) -> list[str]:
    """The ``/settings`` an owner sends for ``group``: its language (unless English, the
    default for an English-speaking owner), a timeout and what it does, service-message
    cleanup."""
    commands = []
    if group.language != "en":
        commands.append(f"/settings language {group.language}")
    if group.timeout is not None:
        commands.append(f"/settings timeout {group.timeout}")
    if group.on_timeout is not None:
        commands.append(f"/settings on_timeout {group.on_timeout}")
    if group.clean_service:
        commands.append("/settings clean_service on")
    return commands
