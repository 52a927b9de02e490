"""Admin commands in groups: /protect, /unprotect, /status, /settings, the allow list
(/allow or /approve, /deny or /unapprove) and the block list (/block, /unblock).

Only the group's creator and administrators may use them (checked with getChatMember of the
caller). Refusals are audited with ``success = false``; every change lands in
``admin_audit_log``. Malformed arguments get the usage text and change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, or_f
from aiogram.types import Message

from bot import texts
from bot.gate.actions import BAN_CHANNEL_SENDERS
from bot.gate.calls import classify
from bot.gate.channel_access import (
    HOLD,
    LOST_CHANNEL,
    LOST_CHANNEL_DEFAULT,
    OPEN,
    is_lost_access,
    lost_channel_policy,
)
from bot.gate.checker import ADMIN_STATUSES
from bot.gate.deadlines import (
    PROMPT_TTL_DEFAULT_S,
    PROMPT_TTL_MAX_S,
    TIMEOUT_MAX_S,
    parse_duration,
    show_duration,
)
from bot.gate.language import (
    BILINGUAL,
    LANGUAGE,
    LANGUAGE_DEFAULT,
    LANGUAGE_WORDS,
    group_language,
)
from bot.gate.welcome import (
    WelcomeRefused,
    check_welcome,
    language_code,
    welcome_texts,
)
from bot.routers.access import cmd_allow, cmd_block, cmd_deny, cmd_unblock
from bot.routers.alert_settings import cmd_alerts
from bot.routers.chats import (
    Migrated,
    describe_missing,
    missing_group_rights,
    on_migration,
    rights_of,
)
from bot.routers.commands import (
    ReplyLanguage,
    audit,
    authorized,
    command_args,
    onboarding_of,
    reply,
)
from bot.routers.filters import CommandLike, InGroup
from bot.runtime.services import BotServices
from bot.storage.config import CHAT_ID_RE, USERNAME_RE, ChannelInfo, GroupConfig
from bot.texts import ENGLISH, Texts
from core.i18n import match
from core.languages import AUTO, DEFAULT_LANGUAGE, LANGUAGES
from core.models import DigestFrequency, ErrorType, GroupSetting, TimeoutAction

log = logging.getLogger(__name__)


MAX_CHANNELS = 10
ON_WORDS = frozenset({"on", "enable", "enabled", "true", "yes", "1"})
OFF_WORDS = frozenset({"off", "disable", "disabled", "false", "no", "0"})


# --------------------------------------------------------------------------- helpers


def _channel_ref(token: str) -> str | int | None:
    """``@name`` or a numeric chat id as getChat wants it; ``None`` when malformed."""
    m = USERNAME_RE.match(token)
    if m and token.startswith("@"):
        return f"@{m.group(1)}"
    if CHAT_ID_RE.match(token) and token.startswith("-"):
        return int(token)
    return None


async def _protect_problems(message: Message, bot: Bot, t: Texts) -> list[str]:
    """Why the gate cannot run in this group (empty: it can): a basic group, missing rights,
    or an anonymous caller whose rights in the channels cannot be checked."""
    if message.chat.type != "supergroup":
        return [t(texts.BASIC_GROUP)]
    try:
        me = await bot.get_chat_member(message.chat.id, bot.id)
    except Exception as exc:
        return [t(texts.RIGHTS_UNCHECKED, error=classify(exc).value)]
    missing = missing_group_rights(rights_of(me))
    if missing:
        text = t(texts.RIGHTS_MISSING, rights=describe_missing(missing, t))
        onboarding = await onboarding_of(bot)
        if onboarding is not None:  # pick this group: Telegram adds the rights to mine
            text += "\n" + t(texts.RIGHTS_LINK, link=onboarding.group)
        return [text]
    if message.sender_chat is not None:
        return [t(texts.PROTECT_ANONYMOUS)]
    return []


async def _not_channel_admin(bot: Bot, label: str, t: Texts) -> str:
    why = t(texts.CHANNEL_NOT_ADMIN, label=label)
    onboarding = await onboarding_of(bot)
    if onboarding is not None:
        why += " " + t(texts.CHANNEL_ADMIN_LINK, link=onboarding.channel)
    return why


async def _describe_channel(
    bot: Bot, ref: str | int, caller: Any = None, t: Texts = ENGLISH
) -> tuple[ChannelInfo | None, str | None]:
    """Look a channel up, check that we administer it and that ``caller`` (when given)
    administers it too: (channel, None) or (None, why)."""
    label = str(ref)
    try:
        chat = await bot.get_chat(ref)
    except Exception as exc:
        kind = classify(exc)
        if kind in (ErrorType.CHAT_NOT_FOUND, ErrorType.BAD_REQUEST):
            return None, t(texts.CHANNEL_NOT_FOUND, label=label)
        if kind is ErrorType.FORBIDDEN:
            return None, t(texts.CHANNEL_HIDDEN, label=label)
        return None, t(texts.CHANNEL_NO_ANSWER, label=label, error=kind.value)
    if chat.type != "channel":
        return None, t(texts.NOT_A_CHANNEL, label=label)
    try:
        me = await bot.get_chat_member(chat.id, bot.id)
    except Exception as exc:
        kind = classify(exc)
        if kind in (ErrorType.FORBIDDEN, ErrorType.CHAT_NOT_FOUND, ErrorType.BAD_REQUEST):
            return None, await _not_channel_admin(bot, label, t)
        return None, t(texts.CHANNEL_NO_ANSWER, label=label, error=kind.value)
    if me.status not in ADMIN_STATUSES:
        return None, await _not_channel_admin(bot, label, t)
    if caller is not None:
        try:
            theirs = await bot.get_chat_member(chat.id, caller.id)
            is_admin = theirs.status in ADMIN_STATUSES
        except Exception as exc:
            kind = classify(exc)
            if kind not in (ErrorType.BAD_REQUEST, ErrorType.CHAT_NOT_FOUND, ErrorType.FORBIDDEN):
                return None, t(texts.CHANNEL_NO_ANSWER, label=label, error=kind.value)
            is_admin = False
        if not is_admin:
            return None, t(texts.CHANNEL_CALLER_NOT_ADMIN, label=label)
    invite = chat.invite_link
    if not chat.username and not invite:
        try:
            link = await bot.create_chat_invite_link(chat.id, name="gatepulse")
            invite = link.invite_link
        except Exception as exc:
            log.info("createChatInviteLink(%s) failed: %s", chat.id, classify(exc).value)
    return ChannelInfo(chat.id, chat.username, chat.title, invite), None


# --------------------------------------------------------------------------- commands


async def cmd_protect(
    message: Message, command: CommandObject, bot: Bot, services: BotServices, t: Texts = ENGLISH
) -> None:
    args = command_args(command)
    refs = [_channel_ref(a) for a in args]
    if not args or len(args) > MAX_CHANNELS or any(r is None for r in refs):
        await reply(message, t(texts.USAGE_PROTECT))
        return
    if not await authorized(message, bot, services, "protect", t):
        return
    unique = list(dict.fromkeys(r for r in refs if r is not None))
    problems = await _protect_problems(message, bot, t)
    if not problems:
        caller = message.from_user if message.sender_chat is None else None
        found = await asyncio.gather(*(_describe_channel(bot, r, caller, t) for r in unique))
        problems = [why for _, why in found if why]
    if problems:
        audit(
            services,
            message,
            "protect",
            resource=" ".join(str(r) for r in unique),
            changes={"refused": problems},
            success=False,
        )
        await reply(message, t(texts.NOTHING_CHANGED) + "\n" + "\n".join(problems))
        return
    channels = [c for c, _ in found if c is not None]
    # a group without a language takes the language of the admin who protects it
    admin = message.from_user if message.sender_chat is None else None
    admin_code = admin.language_code if admin is not None else None
    try:
        added = await services.repo.protect(
            message.chat.id,
            message.chat.title,
            message.from_user,
            channels,
            services.clock.now(),
            language=match(admin_code),
        )
    except Exception as exc:
        log.warning("/protect: database error %s", type(exc).__name__)
        await reply(message, t(texts.DB_UNAVAILABLE))
        return
    for channel in channels:
        audit(
            services,
            message,
            "protect",
            resource=channel.label,
            changes={
                "channel_id": channel.id,
                "title": channel.title,
                "linked": channel in added,
            },
        )
    services.checker.forget_admins(message.chat.id)
    await services.admins.refresh(bot, message.chat.id)  # who may see the group's dashboard
    labels = ", ".join(c.label for c in channels)
    if added:
        await reply(message, t(texts.PROTECTED, channels=labels))
    else:
        await reply(message, t(texts.ALREADY_LINKED, channels=labels))


async def cmd_unprotect(
    message: Message, command: CommandObject, bot: Bot, services: BotServices, t: Texts = ENGLISH
) -> None:
    args = command_args(command)
    if len(args) > 1 or (args and _channel_ref(args[0]) is None):
        await reply(message, t(texts.USAGE_UNPROTECT))
        return
    if not await authorized(message, bot, services, "unprotect", t):
        return
    try:
        channel_id: int | None = None
        if args:
            channel = await services.repo.find_linked_channel(message.chat.id, args[0])
            if channel is None:
                await reply(message, t(texts.NOT_LINKED, channel=args[0]))
                return
            channel_id = channel.id
        removed = await services.repo.unprotect(message.chat.id, channel_id)
    except Exception as exc:
        log.warning("/unprotect: database error %s", type(exc).__name__)
        await reply(message, t(texts.DB_UNAVAILABLE))
        return
    if not removed:
        await reply(message, t(texts.NO_CHANNEL_LINKED))
        return
    audit(
        services,
        message,
        "unprotect",
        resource=args[0] if args else "*",
        changes={"channel_ids": removed},
    )
    await reply(message, t.n(texts.UNLINKED, len(removed)))


async def cmd_status(message: Message, bot: Bot, services: BotServices, t: Texts = ENGLISH) -> None:
    if not await authorized(message, bot, services, "status", t):
        return
    group_id = message.chat.id
    try:
        config = await services.repo.group(group_id)
        muted = await services.repo.muted_count(group_id)
        with contextlib.suppress(Exception):  # rows still queued in the writer count too
            await asyncio.wait_for(services.writer.flush(), 2.0)
        now = services.clock.now()
        start = dt.datetime(now.year, now.month, now.day, tzinfo=dt.UTC)
        checks, cached = await services.repo.checks_between(
            group_id, start, start + dt.timedelta(days=1)
        )
    except Exception as exc:
        log.warning("/status: database error %s", type(exc).__name__)
        await reply(message, t(texts.DB_UNAVAILABLE))
        return
    if config is None:
        await reply(message, t(texts.NOT_PROTECTED))
        return
    channels = ", ".join(c.label for c in config.channels) or t(texts.NONE)
    rate = f"{100.0 * cached / checks:.0f}%" if checks else t(texts.NOT_AVAILABLE)
    stats = services.writer.stats
    lists = t.n(texts.STATUS_LISTS, len(config.whitelist), blocked=len(config.blocklist))
    lines = [
        t(texts.STATUS_GATE, value=SETTINGS[GATE].shown(config.enabled, t)),
        t(texts.STATUS_CHANNELS, channels=channels),
        t(texts.STATUS_MUTED, count=muted),
        t(texts.STATUS_CHECKS, checks=checks, rate=rate),
        lists,
        await _rights_line(bot, group_id, t),
        *await _channel_lines(bot, config, services, t),
        t(
            texts.STATUS_WRITER,
            written=stats.written,
            queued=stats.queued,
            spooled=stats.spooled,
        ),
    ]
    if services.shared is not None:
        lines.append(services.shared.describe())
    await reply(message, "\n".join(lines))


async def _rights_line(bot: Bot, group_id: int, t: Texts) -> str:
    try:
        me = await bot.get_chat_member(group_id, bot.id)
    except Exception as exc:
        return t(texts.RIGHTS_UNKNOWN, error=classify(exc).value)
    missing = missing_group_rights(rights_of(me))
    if missing:
        return t(texts.RIGHTS_STUCK, rights=describe_missing(missing, t))
    return t(texts.RIGHTS_OK)


async def _channel_lines(
    bot: Bot, config: GroupConfig, services: BotServices, t: Texts
) -> list[str]:
    """One line per linked channel the bot can no longer read (asked afresh: a loss found here
    is recorded as a check would), and what the gate does meanwhile."""
    lost: list[str] = []
    for channel in config.channels:
        try:
            await bot.get_chat_member(channel.id, bot.id)
        except Exception as exc:
            if is_lost_access(exc):
                await services.checker.access.lost(channel.id)
                lost.append(channel.label)
            continue
        services.checker.access.readable(channel.id)
    if not lost:
        return []
    held = lost_channel_policy(config.settings) == HOLD
    return [
        t(texts.CHANNEL_RIGHTS_LOST, channels=", ".join(lost)),
        t(texts.WHILE_LOST_HELD) if held else t(texts.WHILE_LOST_OPEN),
    ]


class Refused(ValueError):
    """A ``/settings`` value that cannot be taken; the reply says why (a text of
    :mod:`bot.texts` with its values) and nothing changes."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(message)
        self.message, self.values = message, values

    def said(self, t: Texts) -> str:
        """The reply, in ``t``'s language."""
        return t(self.message, **self.values)


@dataclass(frozen=True)
class Setting:
    """One ``/settings`` entry: the words it accepts (-> the value stored), how it reads."""

    label: str
    """How ``/settings`` lists it."""
    said: str
    """The reply to a change, with ``{value}``."""
    words: Mapping[str, Any]
    default: Any = False
    """Its value while unset."""

    def parse(self, rest: str) -> Any:
        """The value the text after the setting's name asks for; :class:`Refused` when it is
        not one (the usage)."""
        word = rest.strip().lower()
        if word not in self.words:
            raise Refused(texts.USAGE_SETTINGS)
        return self.words[word]

    def value(self, parsed: Any, settings: Mapping[str, Any]) -> Any:
        """The value to store for ``parsed``, given the group's ``settings`` now."""
        return parsed

    def confirm(self, parsed: Any, settings: Mapping[str, Any], t: Texts = ENGLISH) -> str:
        """The reply once ``parsed`` is set (``settings``: the group's before)."""
        return t(self.said, value=self.shown(self.value(parsed, settings), t))

    def stored(self, value: Any) -> Any:
        """A stored value as one of this setting's values (unset or unknown: the default)."""
        if isinstance(self.default, bool):
            return value if isinstance(value, bool) else self.default
        return value if value in set(self.words.values()) else self.default

    def shown(self, value: Any, t: Texts = ENGLISH) -> str:
        """A value as a word ("on", "off" in ``t``'s language; "weekly", "uk" as typed)."""
        if isinstance(value, bool):
            return t(texts.ON) if value else t(texts.OFF)
        return str(value)


@dataclass(frozen=True)
class DurationSetting(Setting):
    """A duration in seconds, given as ``30m``, ``2h``, ``1d`` or ``off`` (0), within
    ``[low_s, high_s]``."""

    low_s: int = 60
    high_s: int = 86_400
    usage: str = ""

    def parse(self, rest: str) -> Any:
        seconds = parse_duration(rest)
        if seconds is None or (seconds and not self.low_s <= seconds <= self.high_s):
            raise Refused(self.usage)
        return seconds

    def stored(self, value: Any) -> Any:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return value if ok else self.default

    def shown(self, value: Any, t: Texts = ENGLISH) -> str:
        return show_duration(int(value))


@dataclass(frozen=True)
class WelcomeChange:
    """``/settings welcome [xx] <text>|off``: ``lang`` None = the group's language; ``text``
    None = back to the default."""

    lang: str | None
    text: str | None


@dataclass(frozen=True)
class WelcomeSetting(Setting):
    """The group's own prompt text per language (:mod:`bot.gate.welcome`), case and line breaks
    kept."""

    def parse(self, rest: str) -> Any:
        words = rest.split(maxsplit=1)
        lang = language_code(words[0]) if words else None
        body = (words[1] if len(words) > 1 else "") if lang is not None else rest.strip()
        if not body:
            raise Refused(texts.USAGE_WELCOME)
        if body.lower() == "off":
            return WelcomeChange(lang, None)
        try:
            return WelcomeChange(lang, check_welcome(body))
        except WelcomeRefused as exc:
            raise Refused(texts.WELCOME_REFUSED, why=str(exc)) from None

    def value(self, parsed: Any, settings: Mapping[str, Any]) -> Any:
        chosen = welcome_texts(settings)
        lang = parsed.lang or group_language(settings)
        if parsed.text is None:
            chosen.pop(lang, None)
        else:
            chosen[lang] = parsed.text
        return chosen

    def confirm(self, parsed: Any, settings: Mapping[str, Any], t: Texts = ENGLISH) -> str:
        lang = parsed.lang or group_language(settings)
        said = texts.WELCOME_DEFAULT if parsed.text is None else texts.WELCOME_SET
        return t(said, lang=lang)

    def stored(self, value: Any) -> Any:
        return welcome_texts({GroupSetting.WELCOME.value: value})

    def shown(self, value: Any, t: Texts = ENGLISH) -> str:
        chosen = self.stored(value)
        if chosen:
            return t(texts.WELCOME_OWN, languages=", ".join(sorted(chosen)))
        return t(texts.WELCOME_NONE)


@dataclass(frozen=True)
class LanguageSetting(Setting):
    """The group's language: a code of ``LANGUAGES`` (any case) or ``auto``."""

    def parse(self, rest: str) -> Any:
        word = rest.strip().lower()
        if word not in self.words:
            raise Refused(texts.USAGE_LANGUAGE, languages="|".join(LANGUAGES))
        return self.words[word]


_ON_OFF: dict[str, Any] = {**dict.fromkeys(ON_WORDS, True), **dict.fromkeys(OFF_WORDS, False)}
GATE = "gate"
SETTINGS: dict[str, Setting] = {
    GATE: Setting(texts.GATE_LABEL, texts.GATE_SWITCHED, _ON_OFF, default=True),
    BAN_CHANNEL_SENDERS: Setting(texts.BAN_CHANNELS_LABEL, texts.BAN_CHANNELS_SWITCHED, _ON_OFF),
    GroupSetting.DIGEST.value: Setting(
        texts.DIGEST_LABEL,
        texts.DIGEST_SWITCHED,
        {
            "weekly": DigestFrequency.WEEKLY.value,
            **dict.fromkeys(OFF_WORDS, DigestFrequency.OFF.value),
        },
        default=DigestFrequency.OFF.value,
    ),
    GroupSetting.TOP_POSTERS.value: Setting(
        texts.TOP_POSTERS_LABEL, texts.TOP_POSTERS_SWITCHED, _ON_OFF
    ),
    LOST_CHANNEL: Setting(
        texts.LOST_CHANNEL_LABEL,
        texts.LOST_CHANNEL_SWITCHED,
        {HOLD: HOLD, OPEN: OPEN},
        default=LOST_CHANNEL_DEFAULT,
    ),
    GroupSetting.PROMPT_TTL.value: DurationSetting(
        texts.PROMPT_TTL_LABEL,
        texts.PROMPT_TTL_SWITCHED,
        {},
        default=PROMPT_TTL_DEFAULT_S,
        high_s=PROMPT_TTL_MAX_S,
        usage=texts.USAGE_PROMPT_TTL,
    ),
    GroupSetting.TIMEOUT.value: DurationSetting(
        texts.TIMEOUT_LABEL,
        texts.TIMEOUT_SWITCHED,
        {},
        default=0,
        high_s=TIMEOUT_MAX_S,
        usage=texts.USAGE_TIMEOUT,
    ),
    GroupSetting.ON_TIMEOUT.value: Setting(
        texts.ON_TIMEOUT_LABEL,
        texts.ON_TIMEOUT_SWITCHED,
        {a.value: a.value for a in TimeoutAction},
        default=TimeoutAction.MUTE.value,
    ),
    GroupSetting.CLEAN_SERVICE.value: Setting(
        texts.CLEAN_SERVICE_LABEL, texts.CLEAN_SERVICE_SWITCHED, _ON_OFF
    ),
    GroupSetting.WELCOME.value: WelcomeSetting(texts.WELCOME_LABEL, "", {}, default={}),
    LANGUAGE: LanguageSetting(
        texts.LANGUAGE_LABEL, texts.LANGUAGE_SWITCHED, LANGUAGE_WORDS, default=DEFAULT_LANGUAGE
    ),
    BILINGUAL: Setting(texts.BILINGUAL_LABEL, texts.BILINGUAL_SWITCHED, _ON_OFF),
}
"""Every setting, in the order ``/settings`` lists them. The gate is ``protected_groups.enabled``;
the others are keys of ``protected_groups.settings`` (the digest's are read by the pipelines)."""
SETTINGS_ALIASES = {"ban_channels": BAN_CHANNEL_SENDERS}


def _listing(config: GroupConfig | None, t: Texts = ENGLISH) -> str:
    """Every setting's state, one a line."""
    if config is None:
        gate = t(texts.NOT_PROTECTED_STATE)
    else:
        gate = SETTINGS[GATE].shown(config.enabled, t)
    chosen = {} if config is None else config.settings
    lines = [t(texts.SETTING_LINE, label=t(texts.GATE_LABEL), value=gate)]
    for name, setting in SETTINGS.items():
        if name == LANGUAGE:  # unset: the group's own language (bot.gate.language)
            value = chosen[LANGUAGE] if chosen.get(LANGUAGE) == AUTO else group_language(chosen)
        elif name != GATE:
            value = setting.stored(chosen.get(name, setting.default))
        if name != GATE:
            line = t(texts.SETTING_LINE, label=t(setting.label), value=setting.shown(value, t))
            lines.append(line)
    return "\n".join(lines)


async def cmd_settings(
    message: Message, command: CommandObject, bot: Bot, services: BotServices, t: Texts = ENGLISH
) -> None:
    args = command_args(command)
    word = args[0].lower() if args else ""
    name = SETTINGS_ALIASES.get(word, word)
    setting = SETTINGS.get(name)
    if args and setting is None:
        await reply(message, t(texts.USAGE_SETTINGS))
        return
    parsed: Any = None
    if setting is not None:  # the raw text after the name: a welcome text keeps its case
        rest = (command.args or "").strip()[len(args[0]) :]
        try:
            parsed = setting.parse(rest)
        except Refused as refused:
            await reply(message, refused.said(t))
            return
    if not await authorized(message, bot, services, "settings", t):
        return
    if setting is None:
        config = await services.repo.group_config(message.chat.id)
        languages = t(texts.USAGE_LANGUAGE, languages="|".join(LANGUAGES))
        usage = t(texts.USAGE_SETTINGS) + "\n" + languages
        await reply(message, _listing(config, t) + "\n" + usage)
        return
    now = services.clock.now()
    before: dict[str, Any] = {}
    try:
        if name == GATE:
            value = parsed
            previous: Any = await services.repo.set_enabled(message.chat.id, value, now)
        else:
            changed = await services.repo.change_setting(
                message.chat.id, name, lambda current: setting.value(parsed, current), now
            )
            previous, value, before = changed or (None, None, {})
            if changed is not None and name == LANGUAGE and value != AUTO:
                # the group's own language, for auto's fallbacks later (bot.gate.language)
                await services.repo.set_setting(message.chat.id, LANGUAGE_DEFAULT, value, now)
    except Exception as exc:
        log.warning("/settings: database error %s", type(exc).__name__)
        await reply(message, t(texts.DB_UNAVAILABLE))
        return
    if previous is None:
        await reply(message, t(texts.NOT_PROTECTED_YET))
        return
    previous = setting.stored(previous)
    if previous != value:
        key = "enabled" if name == GATE else name
        change = {key: {"from": previous, "to": value}}
        audit(services, message, "settings", resource=name, changes=change)
    if name == LANGUAGE and value != AUTO:  # the answer in the language just chosen
        t = Texts(value)
    await reply(message, setting.confirm(parsed, before, t))


def create_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.message.filter(InGroup(), or_f(CommandLike(), Migrated()))
    router.message.middleware(ReplyLanguage())
    router.message.register(on_migration, Migrated())
    router.message.register(cmd_protect, Command("protect"))
    router.message.register(cmd_unprotect, Command("unprotect"))
    router.message.register(cmd_status, Command("status"))
    router.message.register(cmd_settings, Command("settings"))
    router.message.register(cmd_alerts, Command("alerts"))
    router.message.register(cmd_allow, Command("allow", "approve"))
    router.message.register(cmd_deny, Command("deny", "unapprove"))
    router.message.register(cmd_block, Command("block", "blacklist"))
    router.message.register(cmd_unblock, Command("unblock", "unblacklist"))
    return router
