"""What the gate does: mute, delete, prompt, release, refuse a channel identity, keep a
blocked user out, and record each step as a ``gate_events`` row; and the Telegram-facing parts it
needs (permissions, the "I joined" button, the prompt). :class:`GateActions` asks its
:class:`bot.gate.checker.GateChecker` (given to it) whether a user must be gated.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.types import ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot import texts
from bot.gate.calls import quietly
from bot.gate.checker import GateChecker, GateResult
from bot.gate.deadlines import prompt_ttl_of, timeout_of
from bot.gate.language import prompt_languages
from bot.gate.welcome import render_welcome, welcome_texts
from bot.storage.config import ChannelInfo, GroupConfig
from bot.storage.gate_state import StateWriter
from bot.storage.shared.client import SharedRedis
from bot.storage.shared.throttle import Throttle
from bot.storage.timers import PROMPT, TIMEOUT, Arm
from bot.storage.updates import put_raw
from bot.texts import ENGLISH, Texts
from core.clock import Clock
from core.content import StoredText
from core.i18n import isolate
from core.languages import DEFAULT_LANGUAGE
from core.models import GateEvent, GateEventType, SenderKind, VerificationTrigger
from core.models import Message as MessageLog
from core.settings import GateSettings

if TYPE_CHECKING:
    from core.log_writer import LogWriter

log = logging.getLogger(__name__)

#: (user, group) prompt throttles held at most (the least recently used go first).
PROMPTED_MAX = 100_000

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


class GateActions:
    """The gate's actions, on the answers of ``checker``."""

    def __init__(
        self,
        checker: GateChecker,
        *,
        writer: LogWriter,
        state: StateWriter,
        settings: GateSettings,
        clock: Clock,
        shared: SharedRedis | None = None,
    ) -> None:
        """``shared``: Redis for the prompt throttle shared by replicas
        (:mod:`bot.storage.shared`)."""
        self.checker = checker
        self.writer = writer
        self.state = state
        self.settings = settings
        self.clock = clock
        #: the checker's counters: mutes, unmutes and prompts are counted with the checks
        self.counters = checker.counters
        #: what of its own messages' text the gate logs (``MESSAGE_CONTENT``)
        self.stored_text = StoredText.from_settings(settings)
        #: (user, group) pairs prompted within ``prompt_throttle_s`` (by any replica)
        self._prompted = Throttle(
            clock,
            settings.prompt_throttle_s,
            max_entries=PROMPTED_MAX,
            shared=shared,
            purpose="prompted",
        )

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
        checker = self.checker
        if user.id in config.blocklist and not await checker.is_admin(
            bot, config.group_id, user.id
        ):
            await self.keep_blocked(bot, config, user.id, message_id)
            return None
        if await checker.bypasses(bot, config, user):
            return None
        result = await checker.check(user.id, config.group_id, trigger, bot=bot, config=config)
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
            if muted:
                self.arm_timeout(config, user.id)
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
        if not await self.state.gate_mute_active(user_id, group_id):  # None: not muted by us
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
            banned = await quietly(
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
        ok = await quietly(bot.delete_message(group_id, message_id), "deleteMessage")
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
        ok = await quietly(bot.restrict_chat_member(group_id, user_id, MUTED), "restrictChatMember")
        if ok:
            self.counters.mutes += 1
            self.state.mute(user_id, group_id, reason[:64], self.clock.now())
            self.event(group_id, user_id, GateEventType.MUTED, detail)
        return bool(ok)

    async def release(
        self, bot: Bot, group_id: int, user_id: int, *, detail: dict[str, Any] | None = None
    ) -> bool:
        """Lift the gate's mute (restrict with full permissions) and record it."""
        ok = await quietly(
            bot.restrict_chat_member(group_id, user_id, UNMUTED), "restrictChatMember"
        )
        if ok:
            self.counters.unmutes += 1
            self.state.lift(user_id, group_id, self.clock.now())
            self.state.disarm(group_id, user_id, PROMPT, TIMEOUT)
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
        langs = prompt_languages(config.settings, getattr(user, "language_code", None))
        sent = await self.post(
            bot,
            config.group_id,
            prompt_text(user, missing, langs, welcomes=welcome_texts(config.settings)),
            prompt_keyboard(user.id, missing, t=Texts(langs[0])),
            thread_id=thread_id,
        )
        if sent:
            self.event(
                config.group_id,
                user.id,
                GateEventType.PROMPTED,
                {
                    **(detail or {}),
                    "message_id": sent.message_id,
                    "thread_id": thread_id,
                    "lang": langs[0],
                },
            )
            self.track_prompt(config, user.id, sent.message_id)
        return bool(sent)

    # ------------------------------------------------------------------ timers
    def arm_timeout(self, config: GroupConfig, user_id: int) -> None:
        """With the group's ``timeout`` on: act on ``user_id`` (just muted) when it runs out,
        unless they pass or leave first (:mod:`bot.gate.timers`). A timeout already running
        keeps its deadline."""
        seconds = timeout_of(config.settings)
        if seconds:
            due = self.clock.now() + dt.timedelta(seconds=seconds)
            self.state.arm(Arm(TIMEOUT, config.group_id, user_id, due))

    def track_prompt(self, config: GroupConfig, user_id: int, message_id: int) -> None:
        """Remember a prompt sent to ``user_id`` (:data:`EVERYONE`: several joiners): deleted
        after the group's ``prompt_ttl`` or, with that off, at the newcomer's timeout (which
        removes it as it acts). Not kept when neither is on."""
        seconds = prompt_ttl_of(config.settings)
        if not seconds and user_id != EVERYONE:
            seconds = timeout_of(config.settings)
        if seconds:
            due = self.clock.now() + dt.timedelta(seconds=seconds)
            self.state.arm(Arm(PROMPT, config.group_id, user_id, due, message_id))

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
        sent: Message | None = await quietly(
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
            put_raw(  # held with the update being handled (bot.storage.updates)
                self.writer,
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

    # ------------------------------------------------------------------ gate events
    def event(
        self,
        group_id: int,
        user_id: int | None,
        event: GateEventType,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """One ``gate_events`` row: something the gate did or saw, now."""
        put_raw(  # held with the update being handled (bot.storage.updates)
            self.writer,
            GateEvent,
            timestamp=self.clock.now(),
            group_id=group_id,
            user_id=user_id,
            event=event.value,
            detail=detail,
        )


def prompt_text(
    user: Any,
    missing: Sequence[ChannelInfo],
    langs: Sequence[str] = (DEFAULT_LANGUAGE,),
    *,
    welcomes: Mapping[str, str] | None = None,
) -> str:
    """The newcomer's prompt (HTML): one paragraph per language of ``langs``, each the group's
    welcome text in that language (:mod:`bot.gate.welcome`) when it has one, else the
    default."""
    chosen = welcomes or {}
    return texts.BILINGUAL_SEPARATOR.join(
        _prompt_in(Texts(lang), user, missing, chosen.get(lang)) for lang in langs
    )


def _prompt_in(
    t: Texts, user: Any, missing: Sequence[ChannelInfo], welcome: str | None = None
) -> str:
    name = html.escape((getattr(user, "first_name", None) or t(texts.THERE))[:64])
    mention = f'<a href="tg://user?id={int(user.id)}">{name}</a>'
    channels = ", ".join(html.escape(c.label) for c in missing) or t(texts.LINKED_CHANNELS)
    if welcome is not None:  # an admin's text: the name and channels set apart all the same
        isolated = {"mention": isolate(t.lang, mention), "channels": isolate(t.lang, channels)}
        return render_welcome(welcome, **isolated)
    return t(texts.PROMPT, mention=mention, channels=channels)


def prompt_keyboard(
    user_id: int,
    missing: Sequence[ChannelInfo],
    joined_data: str | None = None,
    *,
    t: Texts = ENGLISH,
) -> InlineKeyboardMarkup:
    """A join button per channel, then "I joined" (``joined_data``: its callback data, by
    default :class:`JoinedCallback` for ``user_id``), in ``t``'s language."""
    rows = [
        [InlineKeyboardButton(text=t(texts.JOIN_BUTTON, label=c.label), url=c.join_url)]
        for c in missing
        if c.join_url
    ]
    rows.append(
        [
            InlineKeyboardButton(
                text=t(texts.JOINED_BUTTON),
                callback_data=joined_data or JoinedCallback(user_id=user_id).pack(),
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)
