"""The languages the bot speaks: one list every part shares (the bot's catalogs, the group's
``/settings language``, the welcome texts, the demo and the analytics' ``lang`` values)."""

from __future__ import annotations

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
