"""The languages the bot speaks: one list every part shares (the bot's catalogs, the group's
``/settings language``, the welcome texts, the demo and the analytics' ``lang`` values)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Every language with a catalog, English first (the last fallback). Codes as Telegram's
#: ``language_code`` writes them (IETF tags), with a region only where the catalog is regional.
LANGUAGES: tuple[str, ...] = (
    "en",
    "uk",
    "ru",
    "es",
    "pt-BR",
    "de",
    "fr",
    "it",
    "tr",
    "id",
    "fa",
    "ar",
    "hi",
    "uz",
)
DEFAULT_LANGUAGE = "en"
#: A group language that follows each newcomer's own ``language_code``.
AUTO = "auto"
#: Scripts written right to left.
RTL_LANGUAGES: frozenset[str] = frozenset({"fa", "ar"})

#: ``protected_groups.settings`` keys (bot.gate.language explains the choice they drive): the
#: group's language (a code of :data:`LANGUAGES` or :data:`AUTO`), its own language kept for
#: ``auto`` (the protecting admin's, then the last fixed one), and bilingual prompts.
LANGUAGE = "language"
LANGUAGE_DEFAULT = "language_default"
BILINGUAL = "bilingual"


def group_language(settings: Mapping[str, Any]) -> str:
    """The language the group's own messages use (replies, notices, digests): its fixed
    language, or while ``auto`` its ``language_default``; English when it has none."""
    chosen = settings.get(LANGUAGE)
    if isinstance(chosen, str) and chosen in LANGUAGES:
        return chosen
    fallback = settings.get(LANGUAGE_DEFAULT)
    return fallback if isinstance(fallback, str) and fallback in LANGUAGES else DEFAULT_LANGUAGE
