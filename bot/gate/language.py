"""Which language the bot speaks, where (issue 26, "Choice of language").

A group's language is ``protected_groups.settings["language"]``: a code of
:data:`core.languages.LANGUAGES`, or ``"auto"`` (each newcomer's prompt in their own
``language_code``). ``settings["language_default"]`` keeps the group's own language for
``auto``'s fallbacks and for the group's other messages: the language of the admin who ran
``/protect`` first (stored then, with ``language``, when the group has none), then each fixed
language ``/settings language xx`` chooses. A group without either speaks English.

The fallback chain for a newcomer is the exact code, then its base language (``de-AT`` ->
``de``; any Portuguese -> ``pt-BR``, the one Portuguese catalog: closer to a Portuguese reader
than English), then the group's language, then English (:func:`core.i18n.choose`).
``settings["bilingual"]`` adds the group's language under the newcomer's, when they differ.
Private chats speak the user's own language; replies in a group, the group's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core import i18n
from core.languages import AUTO, LANGUAGES
from core.languages import BILINGUAL as BILINGUAL
from core.languages import LANGUAGE as LANGUAGE
from core.languages import LANGUAGE_DEFAULT as LANGUAGE_DEFAULT
from core.languages import group_language as group_language

LANGUAGE_WORDS: dict[str, str] = {
    form: code
    for code in (*LANGUAGES, AUTO)
    for form in (code.lower(), code.lower().replace("-", "_"))
}
"""``/settings language``'s words (lower case, as ``/settings`` reads them) -> the value stored."""


def parse(word: str) -> str | None:
    """``/settings language``'s argument as stored: a code of :data:`LANGUAGES` (any case,
    ``pt-br`` or ``pt_BR``) or ``"auto"``; ``None`` when it is neither."""
    return LANGUAGE_WORDS.get(word.strip().lower())


def prompt_languages(settings: Mapping[str, Any], user_code: str | None) -> tuple[str, ...]:
    """The languages of a newcomer's prompt, the one shown first (and used for its buttons and
    the answers to them) first: the newcomer's own in ``auto`` (else the group's), then the
    group's under it when ``bilingual`` is on and it differs."""
    group = group_language(settings)
    own = i18n.choose(user_code, group)
    first = own if settings.get(LANGUAGE) == AUTO else group
    if settings.get(BILINGUAL) is True:
        return tuple(dict.fromkeys((own, group)))
    return (first,)


def private_language(user_code: str | None, fallback: str | None = None) -> str:
    """A private chat's language: the user's own, else ``fallback``'s, else English."""
    return i18n.choose(user_code, fallback)


def protect_defaults(settings: Mapping[str, Any], admin_code: str | None) -> dict[str, str]:
    """The language settings to store when an admin runs ``/protect`` in a group that has
    none yet (empty when it has): the admin's language, as the group's language and its
    default."""
    if LANGUAGE in settings or LANGUAGE_DEFAULT in settings:
        return {}
    lang = i18n.choose(admin_code)
    return {LANGUAGE: lang, LANGUAGE_DEFAULT: lang}
