"""A group's own welcome text: what admins may write (``/settings welcome``) and which one a
prompt uses.

The setting is ``protected_groups.settings["welcome"]``, a dict language code -> text (HTML as
Telegram parses it, with the placeholders ``{mention}`` and ``{channels}``). A prompt shown in a
language with a text there uses it in place of the default prompt text; any other language keeps
the default. :func:`check_welcome` refuses what Telegram would refuse or ``str.format`` would
break on, with one sentence saying why.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

from core.languages import LANGUAGES
from core.models import GroupSetting

#: The longest welcome text accepted (characters, HTML included): the prompt adds the newcomer's
#: name and the channels and must stay far below Telegram's 4096.
MAX_WELCOME = 1000
PLACEHOLDERS = frozenset({"mention", "channels"})
#: Telegram's HTML tags (Bot API, "HTML style") and the attributes each may carry.
ALLOWED_TAGS: Mapping[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "span": frozenset({"class"}),
    "tg-spoiler": frozenset(),
    "a": frozenset({"href"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
}
#: The named entities Telegram knows; numeric ones (``&#39;``) are fine too.
ALLOWED_ENTITIES = frozenset({"lt", "gt", "amp", "quot"})
#: ``LANGUAGES`` by their lower-case spelling (``pt-br`` -> ``pt-BR``).
_BY_LOWER = {code.lower(): code for code in LANGUAGES}


def language_code(word: str) -> str | None:
    """``word`` as one of the bot's language codes (any case), or ``None``."""
    return _BY_LOWER.get(word.lower())


def welcome_texts(settings: Mapping[str, Any] | None) -> dict[str, str]:
    """The group's welcome texts by language (malformed entries left out)."""
    raw = (settings or {}).get(GroupSetting.WELCOME.value)
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if k in LANGUAGES and isinstance(v, str) and v}


def welcome_text(settings: Mapping[str, Any] | None, lang: str) -> str | None:
    """The group's welcome text for a prompt shown in ``lang``; ``None``: the default prompt."""
    return welcome_texts(settings).get(lang)


class WelcomeRefused(ValueError):
    """A welcome text Telegram or the prompt could not use; the message says why."""


class _TagChecker(HTMLParser):
    """Telegram's tags only, each closed in order; entities Telegram knows; no bare ``<``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        allowed = ALLOWED_TAGS.get(tag)
        if allowed is None:
            raise WelcomeRefused(f"<{tag}> is not a tag Telegram shows. {_TAGS_HINT}")
        odd = [name for name, _ in attrs if name not in allowed]
        if odd:
            raise WelcomeRefused(f"<{tag}> cannot carry {odd[0]}=.")
        if any("{" in (value or "") for _, value in attrs):
            raise WelcomeRefused("{mention} and {channels} go in the text, not inside a tag.")
        if tag == "a" and not dict(attrs).get("href"):
            raise WelcomeRefused('A link needs its address: <a href="https://...">text</a>.')
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            raise WelcomeRefused('<span> only works as <span class="tg-spoiler">.')
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise WelcomeRefused(f"<{tag}/> is not HTML Telegram reads: open and close it.")

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            expected = f"</{self.open[-1]}>" if self.open else "no closing tag"
            raise WelcomeRefused(f"</{tag}> does not match: {expected} was due there.")
        self.open.pop()

    def handle_entityref(self, name: str) -> None:
        if name not in ALLOWED_ENTITIES:
            raise WelcomeRefused(f"&{name}; is unknown to Telegram: write &amp; for a bare &.")

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            raise WelcomeRefused("Write &lt; and &gt; for a bare < or >.")

    def handle_comment(self, data: str) -> None:
        raise WelcomeRefused("HTML comments are not shown by Telegram: leave them out.")

    def handle_decl(self, decl: str) -> None:
        raise WelcomeRefused("Only text and Telegram's tags, please.")

    def unknown_decl(self, data: str) -> None:
        raise WelcomeRefused("Only text and Telegram's tags, please.")

    def handle_pi(self, data: str) -> None:
        raise WelcomeRefused("Only text and Telegram's tags, please.")


_TAGS_HINT = "Allowed: " + ", ".join(f"<{t}>" for t in ALLOWED_TAGS) + "."


def check_welcome(text: str) -> str:
    """``text`` (stripped) when Telegram can show it as a prompt; else :class:`WelcomeRefused`
    naming the first problem: empty, longer than :data:`MAX_WELCOME`, a placeholder other
    than ``{mention}``/``{channels}`` (or a stray brace), or HTML Telegram refuses."""
    text = text.strip()
    if not text:
        raise WelcomeRefused("The welcome text is empty.")
    if len(text) > MAX_WELCOME:
        raise WelcomeRefused(
            f"The welcome text has {len(text)} characters; at most {MAX_WELCOME} fit."
        )
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        raise WelcomeRefused(
            "A { or } without its pair: use {mention} and {channels} only."
        ) from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            raise WelcomeRefused(
                f"{{{name}}} is not a placeholder: use {{mention}} and {{channels}} only."
            )
    checker = _TagChecker()
    checker.feed(text)
    checker.close()  # a tag cut off ("x <b") is data then: a bare <
    if checker.open:
        raise WelcomeRefused(f"<{checker.open[-1]}> is never closed.")
    return text


def render_welcome(template: str, *, mention: str, channels: str) -> str:
    """The prompt text from a checked welcome ``template`` (``mention`` and ``channels`` are
    HTML already)."""
    return template.format(mention=mention, channels=channels)
