"""Message text as gatepulse stores it: in full, as a keyed hash, or not at all.

``MESSAGE_CONTENT=hash`` keeps, instead of a message's text, an HMAC-SHA256 of its normalized
form keyed with ``MESSAGE_HASH_KEY``. Normalizing first (Unicode NFKC, casefold, runs of
whitespace made one space, ends stripped) makes the same spam sent by many accounts, with
fancy letters, odd case or extra spaces, hash to one value, so it stays recognisable; the key
keeps anyone holding the database from testing guesses of what was written (a plain SHA-256
of a short message is easy to reverse by trying candidates).

Pure functions and one small value class, no I/O: the bot, the pipelines and the erasure use
the same definition.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass, field

from core.settings import GateSettings, MessageContent

HASH_HEX_LENGTH = 64
"""Length of :func:`keyed_hash`'s result (``messages.content_hash`` is ``String(64)``)."""

TEXT_LIMIT = 16_384
"""Longest text stored in full (Telegram's own limits are 4096 for text, 1024 for captions)."""


def normalize_text(text: str) -> str:
    """``text`` in the form that is hashed: NFKC, casefolded, whitespace collapsed, stripped.

    NFKC maps compatibility characters (``𝐅𝐑𝐄𝐄``, full-width letters, ligatures) to plain
    ones; casefold is the case-insensitive form Unicode defines (``ß`` → ``ss``);
    :meth:`str.split` without arguments splits on every Unicode whitespace run.
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def keyed_hash(value: str, key: str | bytes) -> str:
    """HMAC-SHA256 of ``value`` (UTF-8) keyed with ``key``, as 64 lowercase hex digits.

    Lone surrogates (which Telegram's JSON can carry) are encoded as they are rather than
    refused, so every string has a hash.
    """
    secret = key.encode("utf-8") if isinstance(key, str) else key
    data = value.encode("utf-8", "surrogatepass")
    return hmac.new(secret, data, hashlib.sha256).hexdigest()


def content_hash(text: str, key: str | bytes) -> str:
    """The ``messages.content_hash`` of ``text``: :func:`keyed_hash` of its normal form."""
    return keyed_hash(normalize_text(text), key)


def clean_text(text: str | None, limit: int = TEXT_LIMIT) -> str | None:
    """Text safe for both databases: no NUL (PostgreSQL refuses it), valid UTF-8, bounded."""
    if text is None:
        return None
    if len(text) > limit:
        text = text[:limit]
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


@dataclass(frozen=True)
class StoredText:
    """What of a message's text goes into ``messages``, by ``MESSAGE_CONTENT``.

    Every place that writes a ``messages`` row asks this for its two text columns, so that in
    ``hash`` and ``none`` modes the text never enters a row at all: not the database, and not
    the log writer's spool either (a row spools exactly as it was put).
    """

    mode: MessageContent
    key: bytes = field(default=b"", repr=False)

    @classmethod
    def from_settings(cls, gate: GateSettings) -> StoredText:
        return cls(gate.message_content, gate.message_hash_key.get_secret_value().encode())

    def columns(self, text: str | None) -> dict[str, str | None]:
        """``content`` and ``content_hash`` for a message whose text (or caption) is
        ``text``; both ``None`` when there is no text or the mode is ``none``."""
        if text is None or self.mode == MessageContent.NONE:
            return {"content": None, "content_hash": None}
        if self.mode == MessageContent.HASH:
            return {"content": None, "content_hash": content_hash(text, self.key)}
        return {"content": clean_text(text), "content_hash": None}
