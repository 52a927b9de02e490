"""The gate: is this user a member of every channel the group links? Mute, prompt, unmute.

:meth:`GateService.check` answers for one (user, group) over all linked channels: cached
answers first, then one ``getChatMember`` per missing channel, all concurrently
(``asyncio.gather``). Each check writes one ``verification_log`` row through the log writer.
:meth:`GateService.enforce` acts on the answer (mute, delete the message, post a throttled
prompt, in the forum topic the user wrote in) and :meth:`GateService.release` lifts a mute.
:meth:`GateService.refuse_channel` deletes what a "send as channel" identity posts (and, by the
group's ``ban_channel_senders`` setting, bans that identity). Every step the gate takes is one
``gate_events`` row, in the order it happened.

Telegram faults never escape: a failed ``getChatMember`` makes the check an ``error`` (the
user is left alone: the gate fails open rather than muting people because Telegram hiccuped);
a failed ``restrictChatMember``/``sendMessage``/``deleteMessage`` is logged and skipped, and
a prompt never follows a mute that failed (the gate does not half-act).
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramNetworkError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    ChatMember,
    ChatPermissions,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot import texts
from bot.cache import MembershipCache
from bot.repo import ChannelInfo, ConfigRepo, GroupConfig
from bot.senders import needs_linked_chat, sender_kind
from bot.state import StateWriter
from core.clock import Clock, SystemClock
from core.expiring import ExpiringMap
from core.models import (
    SERVICE_ACCOUNT_IDS,
    ErrorType,
    GateEvent,
    GateEventType,
    SenderKind,
    VerificationLog,
    VerificationStatus,
    VerificationTrigger,
)
from core.models import Message as MessageLog
from core.settings import GateSettings

if TYPE_CHECKING:
    from core.log_writer import LogWriter

log = logging.getLogger(__name__)

MEMBER_STATUSES = frozenset(
    {ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
)
ADMIN_STATUSES = frozenset({ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR})
#: How long a group's admin list keeps serving when reloading it fails.
ADMINS_STALE_RETRY_S = 30.0
#: (user, group) prompt throttles held at most (the least recently used go first).
PROMPTED_MAX = 100_000
#: How long a group's linked discussion channel (getChat's ``linked_chat_id``) is kept; a
#: failed lookup is retried after ``LINKED_RETRY_S``.
LINKED_CHAT_TTL_S = 3600.0
LINKED_RETRY_S = 30.0
#: Groups whose linked channel and gate settings are kept at most.
GROUPS_MAX = 100_000
#: ``protected_groups.settings`` key: also ``banChatSenderChat`` a "send as channel" identity.
BAN_CHANNEL_SENDERS = "ban_channel_senders"

MUTED = ChatPermissions(
    can_send_messages=False,
    can_send_audios=False,
    can_send_documents=False,
    can_send_photos=False,
    can_send_videos=False,
    can_send_video_notes=False,
    can_send_voice_notes=False,
    can_send_polls=False,
    can_send_other_messages=False,
    can_add_web_page_previews=False,
)
UNMUTED = ChatPermissions(
    can_send_messages=True,
    can_send_audios=True,
    can_send_documents=True,
    can_send_photos=True,
    can_send_videos=True,
    can_send_video_notes=True,
    can_send_voice_notes=True,
    can_send_polls=True,
    can_send_other_messages=True,
    can_add_web_page_previews=True,
)


class JoinedCallback(CallbackData, prefix="gpj"):
    """The "I joined" button: only ``user_id`` may press it; ``EVERYONE`` (0): anyone (a raid
    notice's button re-checks whoever presses it)."""

    user_id: int


#: ``JoinedCallback.user_id`` of a button any gate-muted member of the group may press.
EVERYONE = 0


def is_member(member: ChatMember) -> bool:
    """Creator, administrator, member, or restricted while still a member."""
    status = getattr(member, "status", None)
    if status in MEMBER_STATUSES:
        return True
    return status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False))


@dataclass(slots=True)
class GateResult:
    """The outcome of one check of (user, group) over the group's linked channels."""

    status: VerificationStatus
    missing: tuple[ChannelInfo, ...] = ()
    cached: bool = False
    latency_ms: float = 0.0
    error_type: ErrorType | None = None
    channels_checked: int = 0
    muted: bool = False  # the gate muted the user after this check

    @property
    def passed(self) -> bool:
        return self.status is VerificationStatus.SUCCESS

    @property
    def failed(self) -> bool:
        return self.status is VerificationStatus.FAILED


@dataclass
class GateCounters:
    """In-process counters (handy for logs and the simulator)."""

    checks: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    cached: int = 0
    mutes: int = 0
    unmutes: int = 0
    prompts: int = 0
    bypassed: int = 0
    by_trigger: dict[str, int] = field(default_factory=dict)


class GateService:
    """Membership checks and the actions that follow them."""

    def __init__(
        self,
        *,
        writer: LogWriter,
        cache: MembershipCache,
        repo: ConfigRepo,
        state: StateWriter,
        settings: GateSettings,
        clock: Clock | None = None,
        bot: Bot | None = None,
        admin_ttl_s: float = 300.0,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        """``timer`` measures a check's latency: wall time, or for a simulation on a
        ManualClock :func:`bot.telegram.simulated_timer` (the played Telegram latency too)."""
        self.writer = writer
        self.timer = timer
        self.cache = cache
        self.repo = repo
        self.state = state
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.bot = bot
        self.admin_ttl_s = admin_ttl_s
        self.counters = GateCounters()
        #: group -> its admins' ids
        self._admins: ExpiringMap[int, frozenset[int]] = ExpiringMap(
            self.clock.monotonic, admin_ttl_s
        )
        #: (user, group) pairs prompted within ``prompt_throttle_s``
        self._prompted: ExpiringMap[tuple[int, int], bool] = ExpiringMap(
            self.clock.monotonic, settings.prompt_throttle_s, max_entries=PROMPTED_MAX
        )
        #: group -> its linked discussion channel (``None``: none)
        self._linked: ExpiringMap[int, int | None] = ExpiringMap(
            self.clock.monotonic, LINKED_CHAT_TTL_S, max_entries=GROUPS_MAX
        )

    # ------------------------------------------------------------------ checks
    async def check(
        self,
        user_id: int,
        group_id: int,
        trigger: VerificationTrigger | str,
        bypass_cache: bool = False,
        *,
        bot: Bot | None = None,
        config: GroupConfig | None = None,
    ) -> GateResult:
        """Check every linked channel of the group; log one ``verification_log`` row."""
        started = self.timer()
        trigger = VerificationTrigger(trigger)
        if config is None:
            config = await self.repo.group(group_id)
        channels = config.channels if config is not None else ()
        bot = bot or self.bot
        missing: list[ChannelInfo] = []
        to_ask: list[ChannelInfo] = []
        cache = self.cache
        for channel in channels:
            answer = None if bypass_cache else await cache.get(user_id, channel.id)
            if answer is None:
                to_ask.append(channel)
            elif not answer:
                missing.append(channel)
        error: BaseException | None = None
        if to_ask:
            if bot is None:
                raise RuntimeError("GateService.check needs a bot for getChatMember")
            replies: Sequence[ChatMember | BaseException] = await asyncio.gather(
                *(bot.get_chat_member(channel.id, user_id) for channel in to_ask),
                return_exceptions=True,
            )
            for channel, reply in zip(to_ask, replies, strict=True):
                if isinstance(reply, BaseException):
                    if not isinstance(reply, Exception):
                        raise reply  # CancelledError, KeyboardInterrupt: not ours to swallow
                    error = error or reply
                    continue
                member = is_member(reply)
                await cache.set(user_id, channel.id, member)
                if not member:
                    missing.append(channel)
        if missing:
            status = VerificationStatus.FAILED
        elif error is not None:
            status = VerificationStatus.ERROR
        else:
            status = VerificationStatus.SUCCESS
        error_type = _classify(error) if error is not None else None
        if status is VerificationStatus.FAILED:
            order = {c.id: i for i, c in enumerate(channels)}
            missing.sort(key=lambda c: order.get(c.id, 0))
        result = GateResult(
            status=status,
            missing=tuple(missing),
            cached=not to_ask,
            latency_ms=(self.timer() - started) * 1000.0,
            error_type=error_type,
            channels_checked=len(channels),
        )
        self.writer.put(
            VerificationLog,
            user_id=user_id,
            group_id=group_id,
            status=status.value,
            cached=result.cached,
            latency_ms=result.latency_ms,
            error_type=error_type.value if error_type is not None else None,
            trigger=trigger.value,
            channels_checked=len(channels),
            timestamp=self.clock.now(),
        )
        c = self.counters
        c.checks += 1
        c.by_trigger[trigger.value] = c.by_trigger.get(trigger.value, 0) + 1
        if result.cached:
            c.cached += 1
        if status is VerificationStatus.SUCCESS:
            c.passed += 1
        elif status is VerificationStatus.FAILED:
            c.failed += 1
        else:
            c.errors += 1
            log.info("check of user %s in %s: %s (%s)", user_id, group_id, status.value, error_type)
        return result

    # ------------------------------------------------------------------ who skips the check
    async def is_admin(self, bot: Bot, group_id: int, user_id: int) -> bool:
        """Whether the user administers the group (admin list cached for ``admin_ttl_s``; when
        reloading it fails, the previous list serves ``ADMINS_STALE_RETRY_S`` longer)."""

        async def load() -> frozenset[int]:
            try:
                admins = await bot.get_chat_administrators(group_id)
            except Exception as exc:
                log.info("getChatAdministrators(%s) failed: %s", group_id, type(exc).__name__)
                raise
            return frozenset(a.user.id for a in admins)

        try:
            admin_ids = await self._admins.fetch(group_id, load, stale_retry_s=ADMINS_STALE_RETRY_S)
        except Exception:
            return await self._is_admin_direct(bot, group_id, user_id)
        return user_id in admin_ids

    async def _is_admin_direct(self, bot: Bot, group_id: int, user_id: int) -> bool:
        try:
            member = await bot.get_chat_member(group_id, user_id)
        except Exception:
            return False
        return member.status in ADMIN_STATUSES

    def forget_admins(self, group_id: int) -> None:
        self._admins.discard(group_id)

    async def bypasses(self, bot: Bot, config: GroupConfig, user: Any) -> bool:
        """Bots, Telegram's service accounts, whitelisted users and the group's admins pass
        without a check."""
        if (
            getattr(user, "is_bot", False)
            or user.id in SERVICE_ACCOUNT_IDS
            or user.id in config.whitelist
        ):
            self.counters.bypassed += 1
            return True
        if await self.is_admin(bot, config.group_id, user.id):
            self.counters.bypassed += 1
            return True
        return False

    # ------------------------------------------------------------------ who wrote
    async def linked_chat_id(self, bot: Bot, group_id: int) -> int | None:
        """The group's linked discussion channel (``getChat``), kept ``LINKED_CHAT_TTL_S``.

        When ``getChat`` fails and nothing is known, ``None`` is served (and asked again after
        ``LINKED_RETRY_S``): the channel then counts as any other channel identity.
        """

        async def load() -> int | None:
            chat = await bot.get_chat(group_id)
            return chat.linked_chat_id

        try:
            return await self._linked.fetch(group_id, load, stale_retry_s=LINKED_RETRY_S)
        except Exception as exc:
            log.info("getChat(%s) for its linked channel failed: %s", group_id, _classify(exc))
            self._linked.set(group_id, None, LINKED_RETRY_S)
            return None

    async def sender_kind(self, bot: Bot, message: Message) -> SenderKind:
        """Who wrote a group message (:func:`bot.senders.sender_kind`); asks for the group's
        linked channel only when a channel identity other than the group's own speaks."""
        linked = None
        if needs_linked_chat(message):
            linked = await self.linked_chat_id(bot, message.chat.id)
        return sender_kind(message, linked)

    # ------------------------------------------------------------------ gate events
    def event(
        self,
        group_id: int,
        user_id: int | None,
        event: GateEventType,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """One ``gate_events`` row: something the gate did or saw, now."""
        self.writer.put(
            GateEvent,
            timestamp=self.clock.now(),
            group_id=group_id,
            user_id=user_id,
            event=event.value,
            detail=detail,
        )

    # ------------------------------------------------------------------ actions
    async def enforce(
        self,
        bot: Bot,
        config: GroupConfig,
        user: Any,
        trigger: VerificationTrigger,
        *,
        message_id: int | None = None,
        thread_id: int | None = None,
        prompt: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> GateResult | None:
        """Check the user unless they bypass; on failure mute, delete the message, prompt
        (in forum topic ``thread_id`` when the triggering message was written in one).

        No prompt follows a mute that failed; none at all with ``prompt=False`` (a raid's
        joiners: :mod:`bot.raids` prompts them together). ``extra`` goes into the events'
        detail. Returns the check's result, or ``None`` when the user bypassed the check.
        """
        if user.id in config.blocklist and not await self.is_admin(bot, config.group_id, user.id):
            await self.keep_blocked(bot, config, user.id, message_id)
            return None
        if await self.bypasses(bot, config, user):
            return None
        result = await self.check(user.id, config.group_id, trigger, bot=bot, config=config)
        if result.failed:
            detail = {"trigger": str(trigger), "missing": [c.id for c in result.missing]}
            detail.update(extra or {})
            result.muted = muted = await self.mute(
                bot, config.group_id, user.id, reason=f"not_subscribed:{trigger}", detail=detail
            )
            if message_id is not None:
                await self.delete(
                    bot, config.group_id, message_id, user.id, {"reason": "not_subscribed"}
                )
            if muted and prompt:
                await self.prompt(
                    bot, config, user, result.missing, thread_id=thread_id, detail=detail
                )
        return result

    async def keep_blocked(
        self, bot: Bot, config: GroupConfig, user_id: int, message_id: int | None
    ) -> None:
        """A user on the group's block list: their message goes, and they stay muted (no
        check, no prompt: joining the channels does not lift a block)."""
        group_id = config.group_id
        if message_id is not None:
            await self.delete(bot, group_id, message_id, user_id, {"reason": "blocked"})
        if not await self.state.gate_mute_active(user_id, group_id):
            await self.mute(bot, group_id, user_id, reason="blocked", detail={"reason": "blocked"})

    async def refuse_channel(self, bot: Bot, config: GroupConfig, message: Message) -> None:
        """A "send as channel" identity wrote in a protected group: not a way round the gate.

        Its message is deleted, and with the group's ``ban_channel_senders`` setting the
        identity is banned from writing there (``banChatSenderChat``). A channel identity on
        the group's allow list passes, unless it is on the block list too.
        """
        sender_chat = message.sender_chat
        if sender_chat is None:
            return
        blocked = sender_chat.id in config.blocklist
        if sender_chat.id in config.whitelist and not blocked:
            return
        group_id = config.group_id
        detail: dict[str, Any] = {
            "reason": "blocked" if blocked else "channel_sender",
            "sender_chat_id": sender_chat.id,
        }
        if config.settings.get(BAN_CHANNEL_SENDERS):
            banned = await _quietly(
                bot.ban_chat_sender_chat(group_id, sender_chat.id), "banChatSenderChat"
            )
            detail["banned"] = bool(banned)
        await self.delete(bot, group_id, message.message_id, None, detail)

    async def delete(
        self,
        bot: Bot,
        group_id: int,
        message_id: int,
        user_id: int | None,
        detail: dict[str, Any],
    ) -> bool:
        """Delete a message the gate refuses; a ``message_deleted`` event when it is gone."""
        ok = await _quietly(bot.delete_message(group_id, message_id), "deleteMessage")
        if ok:
            self.event(
                group_id,
                user_id,
                GateEventType.MESSAGE_DELETED,
                {"message_id": message_id, **detail},
            )
        return bool(ok)

    async def mute(
        self,
        bot: Bot,
        group_id: int,
        user_id: int,
        *,
        reason: str,
        detail: dict[str, Any] | None = None,
    ) -> bool:
        ok = await _quietly(
            bot.restrict_chat_member(group_id, user_id, MUTED), "restrictChatMember"
        )
        if ok:
            self.counters.mutes += 1
            self.state.mute(user_id, group_id, reason[:64], self.clock.now())
            self.event(group_id, user_id, GateEventType.MUTED, detail)
        return bool(ok)

    async def release(
        self, bot: Bot, group_id: int, user_id: int, *, detail: dict[str, Any] | None = None
    ) -> bool:
        """Lift the gate's mute (restrict with full permissions) and record it."""
        ok = await _quietly(
            bot.restrict_chat_member(group_id, user_id, UNMUTED), "restrictChatMember"
        )
        if ok:
            self.counters.unmutes += 1
            self.state.lift(user_id, group_id, self.clock.now())
            self._prompted.discard((user_id, group_id))
            self.event(group_id, user_id, GateEventType.UNMUTED, detail)
        return bool(ok)

    async def prompt(
        self,
        bot: Bot,
        config: GroupConfig,
        user: Any,
        missing: Sequence[ChannelInfo],
        *,
        thread_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> bool:
        """Post the join prompt unless one went to this user in this group recently; in forum
        topic ``thread_id`` when given."""
        key = (user.id, config.group_id)
        if key in self._prompted:
            return False
        self._prompted.set(key, True)
        sent = await self.post(
            bot,
            config.group_id,
            prompt_text(user, missing),
            prompt_keyboard(user.id, missing),
            thread_id=thread_id,
        )
        if sent:
            self.event(
                config.group_id,
                user.id,
                GateEventType.PROMPTED,
                {**(detail or {}), "message_id": sent.message_id, "thread_id": thread_id},
            )
        return bool(sent)

    async def post(
        self,
        bot: Bot,
        group_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        thread_id: int | None = None,
    ) -> Message | None:
        """Send one of the gate's messages (HTML) and log it as the bot's; ``None`` when
        Telegram refused it."""
        sent: Message | None = await _quietly(
            bot.send_message(
                group_id,
                text,
                message_thread_id=thread_id,
                reply_markup=markup,
                parse_mode="HTML",
            ),
            "sendMessage",
        )
        if sent:
            self.counters.prompts += 1
            self.writer.put(
                MessageLog,
                telegram_message_id=sent.message_id,
                chat_id=group_id,
                user_id=bot.id,
                content=sent.text if self.settings.message_content == "full" else None,
                content_type="text",
                reply_to_message_id=None,
                is_bot_message=True,
                created_at=self.clock.now(),
                sender_kind=SenderKind.BOT.value,
                sender_chat_id=None,
                message_thread_id=thread_id,
            )
        return sent


def prompt_text(user: Any, missing: Sequence[ChannelInfo]) -> str:
    name = html.escape((getattr(user, "first_name", None) or "there")[:64])
    mention = f'<a href="tg://user?id={int(user.id)}">{name}</a>'
    channels = ", ".join(html.escape(c.label) for c in missing) or "the linked channels"
    return texts.PROMPT.format(mention=mention, channels=channels)


def prompt_keyboard(
    user_id: int, missing: Sequence[ChannelInfo], joined_data: str | None = None
) -> InlineKeyboardMarkup:
    """A join button per channel, then "I joined" (``joined_data``: its callback data, by
    default :class:`JoinedCallback` for ``user_id``)."""
    rows = [
        [InlineKeyboardButton(text=texts.JOIN_BUTTON.format(label=c.label), url=c.join_url)]
        for c in missing
        if c.join_url
    ]
    rows.append(
        [
            InlineKeyboardButton(
                text=texts.JOINED_BUTTON,
                callback_data=joined_data or JoinedCallback(user_id=user_id).pack(),
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _classify(exc: BaseException) -> ErrorType:
    from bot.telegram import classify_error  # the one mapping of aiogram errors (lazy: cold path)

    kind = classify_error(exc)
    if kind is not None:
        return kind
    if isinstance(exc, TelegramNetworkError | TimeoutError):
        return ErrorType.NETWORK_ERROR
    return ErrorType.TELEGRAM_ERROR


async def _quietly(call: Any, what: str) -> Any:
    """Await a Bot API call; on a Telegram or network fault log it and return ``None``."""
    try:
        return await call
    except Exception as exc:  # Telegram faults, timeouts, odd replies: never crash the gate
        log.info("%s failed: %s", what, _classify(exc).value)
        return None
