"""``/settings`` in a group: every switch a group's admins may set (gate, channel identities,
digest, lost channels, prompt ttl, timeout and what it does, service messages, welcome texts,
language, bilingual prompts), how each reads its words, and the handler that audits a change.
Registered by :mod:`bot.routers.admin`'s router with the other admin commands."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.filters import CommandObject
from aiogram.types import Message

from bot import texts
from bot.gate.actions import BAN_CHANNEL_SENDERS
from bot.gate.channel_access import (
    HOLD,
    LOST_CHANNEL,
    LOST_CHANNEL_DEFAULT,
    OPEN,
)
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
from bot.routers.commands import (
    audit,
    authorized,
    command_args,
    reply,
)
from bot.runtime.services import BotServices
from bot.storage.config import GroupConfig
from bot.texts import ENGLISH, Texts
from core.languages import AUTO, DEFAULT_LANGUAGE, LANGUAGES
from core.models import DigestFrequency, GroupSetting, TimeoutAction

log = logging.getLogger(__name__)

ON_WORDS = frozenset({"on", "enable", "enabled", "true", "yes", "1"})
OFF_WORDS = frozenset({"off", "disable", "disabled", "false", "no", "0"})


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
