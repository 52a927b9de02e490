"""What the gate does: mute, delete, prompt, release, refuse a channel identity, keep a
blocked user out; and the Telegram-facing parts it needs (permissions, the "I joined" button,
the prompt, quiet calls). :class:`GateActions` is a base of :class:`bot.gate.checker.GateService`,
which brings the checks, the caches and the gate-event writer these actions use.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot import texts
from bot.storage.config import ChannelInfo, GroupConfig
from core.models import (
    ErrorType,
    GateEventType,
    SenderKind,
    VerificationStatus,
    VerificationTrigger,
)
from core.models import Message as MessageLog

if TYPE_CHECKING:
    from bot.storage.gate_state import StateWriter
    from core.clock import Clock
    from core.content import StoredText
    from core.log_writer import LogWriter
    from core.settings import GateSettings

log = logging.getLogger(__name__)

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


class GateActions:
    """The gate's actions (a base of :class:`bot.gate.checker.GateService`, which provides what is
    declared here)."""

    if TYPE_CHECKING:
        state: StateWriter
        clock: Clock
        writer: LogWriter
        settings: GateSettings
        stored_text: StoredText
        counters: GateCounters
        _prompted: Any

        async def check(
            self,
            user_id: int,
            group_id: int,
            trigger: VerificationTrigger | str,
            bypass_cache: bool = False,
            *,
            bot: Bot | None = None,
            config: GroupConfig | None = None,
        ) -> GateResult: ...
        async def bypasses(self, bot: Bot, config: GroupConfig, user: Any) -> bool: ...
        async def is_admin(self, bot: Bot, group_id: int, user_id: int) -> bool: ...
        def event(self, group_id: int, user_id: int | None, kind: GateEventType,
                  detail: dict[str, Any] | None = None) -> None: ...  # fmt: skip

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
        joiners: :mod:`bot.gate.raids` prompts them together). ``extra`` goes into the events'
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
            await self._prompted.forget((user_id, group_id))
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
        if not await self._prompted.first((user.id, config.group_id)):
            return False
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
                **self.stored_text.columns(sent.text),
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
    from bot.runtime.client import (
        classify_error,  # the one mapping of aiogram errors (lazy: cold path)
    )

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
