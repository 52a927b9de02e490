"""The bot's gettext catalogs and the language fallback chain, for the bot and the pipelines.

The catalogs live in ``core/locales/<locale>/LC_MESSAGES/messages.po`` (and the compiled
``.mo`` beside it), the layout aiogram's ``aiogram.utils.i18n.I18n`` and Babel's ``pybabel``
use; ``make locales`` extracts, updates and compiles them. A locale directory is the language
code with ``_`` for ``-`` (``pt-BR`` -> ``pt_BR``). The English texts are the message ids, so
a missing catalog or entry reads in English.

Texts are marked with :func:`N_` (one form) or :func:`NP_` (singular and plural, for
``ngettext``) where they are defined, and translated where they are sent with :class:`Texts`.
"""

from __future__ import annotations

import functools
import gettext as _gettext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.languages import DEFAULT_LANGUAGE, LANGUAGES, RTL_LANGUAGES

LOCALES = Path(__file__).resolve().with_name("locales")
DOMAIN = "messages"

_BY_FOLDED = {code.lower(): code for code in LANGUAGES}
_BY_BASE = {code.split("-")[0].lower(): code for code in reversed(LANGUAGES)}

#: Unicode FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE (Unicode's bidi algorithm, UAX #9).
FSI = "\u2068"
PDI = "\u2069"
#: RIGHT-TO-LEFT MARK: starts a right-to-left text, so that an app that takes a paragraph's
#: direction from its first strong character (some skip no isolates) sets it right to left even
#: when the text begins with a Latin name.
RLM = "\u200f"


def locale_dir(lang: str) -> str:
    """The catalog folder of a language code (``pt-BR`` -> ``pt_BR``)."""
    return lang.replace("-", "_")


def match(code: str | None) -> str | None:
    """The catalog for a ``language_code`` (any case, ``-`` or ``_``): the exact code, else its
    base language (``de-AT`` -> ``de``; ``pt``/``pt-PT`` -> ``pt-BR``, the one Portuguese
    catalog), else ``None``."""
    if not code:
        return None
    folded = code.strip().replace("_", "-").lower()
    return _BY_FOLDED.get(folded) or _BY_BASE.get(folded.split("-")[0])


def choose(*codes: str | None) -> str:
    """The first of ``codes`` that :func:`match` finds a catalog for, else English."""
    for code in codes:
        found = match(code)
        if found is not None:
            return found
    return DEFAULT_LANGUAGE


@functools.cache
def translation(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog of one of :data:`LANGUAGES` (English, or none compiled: the
    message ids themselves)."""
    if lang == DEFAULT_LANGUAGE or lang not in LANGUAGES:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, LOCALES, languages=[locale_dir(lang)], fallback=True)


def gettext(lang: str, message: str) -> str:
    """``message`` (an English message id) in ``lang``."""
    return translation(lang).gettext(message)


def ngettext(lang: str, singular: str, plural: str, n: int) -> str:
    """The plural form of ``singular``/``plural`` (English ids) for ``n`` in ``lang``."""
    return translation(lang).ngettext(singular, plural, n)


def isolate(lang: str, text: str) -> str:
    """``text`` (a name, a mention, a list of channels) set apart from the sentence around it
    when ``lang`` is written right to left, so a Latin name keeps its place and direction;
    unchanged otherwise."""
    return f"{FSI}{text}{PDI}" if lang in RTL_LANGUAGES else text


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs; it is translated where it is sent."""
    return message


@dataclass(frozen=True)
class Plural:
    """A text with a singular and a plural form (English ids of an ``ngettext`` entry)."""

    singular: str
    plural: str


def NP_(singular: str, plural: str) -> Plural:
    """Mark a text with plural forms for the catalogs."""
    return Plural(singular, plural)


@dataclass(frozen=True)
class Texts:
    """The bot's texts in one language: ``t(texts.PROMPT, mention=..., channels=...)``.

    In a right-to-left language every string value is wrapped in Unicode isolates, so a Latin
    name, an HTML mention or a channel list keeps its direction inside the sentence, and the
    text starts with :data:`RLM`."""

    lang: str = DEFAULT_LANGUAGE

    def __call__(self, message: str, /, **values: Any) -> str:
        text = gettext(self.lang, message)
        return self._marked(text.format(**self._isolated(values)) if values else text)

    def n(self, plural: Plural, count: int, /, **values: Any) -> str:
        """The form of ``plural`` for ``count`` (``{n}`` in the text is ``count``)."""
        text = ngettext(self.lang, plural.singular, plural.plural, count)
        return self._marked(text.format(n=count, **self._isolated(values)))

    def _marked(self, text: str) -> str:
        return RLM + text if self.lang in RTL_LANGUAGES else text

    def _isolated(self, values: dict[str, Any]) -> dict[str, Any]:
        return {k: isolate(self.lang, v) if isinstance(v, str) else v for k, v in values.items()}


ENGLISH = Texts()
