"""Owners' sign-in links to the dashboard: signed, short-lived, single-use.

A link carries a token: the user id, the time it was made and a random nonce, followed by an
HMAC-SHA256 of those with the server's key, all in one base64url string. :func:`verify` checks
the signature in constant time and the age (at most :data:`LINK_TTL`); the dashboard records
the nonce when the link is used, so that a second use is refused (single use is a database
matter: see :mod:`dashboards.signin`).

The key is ``DASHBOARD_LINK_KEY``; when it is empty, :func:`load_key` makes one once in the var
directory (owner-only, created atomically: processes that race end up with the same key) and
every later caller reads it back, so the bot, the dashboard, the demo and ``owner-link`` agree.

Pure: no Streamlit, no aiogram.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import enum
import hashlib
import hmac
import os
import secrets
import stat
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from core.settings import DashboardSettings

LINK_TTL = dt.timedelta(minutes=10)
"""How long a link may be used after it was made."""
CLOCK_SKEW = dt.timedelta(seconds=60)
"""A link made up to this far in the future (another machine's clock) is still accepted."""
QUERY_PARAM = "owner"
"""The dashboard's query parameter that carries the token."""
KEY_FILE = "dashboard_link.key"
"""The generated key's file name in the var directory."""

_DOMAIN = b"gatepulse owner link v1\n"  # signatures of this purpose only
_PAYLOAD = struct.Struct(">qq16s")  # user id, issued at (unix seconds), nonce
_SIGNATURE_BYTES = hashlib.sha256().digest_size
_TOKEN_BYTES = _PAYLOAD.size + _SIGNATURE_BYTES


@dataclass(frozen=True)
class Claim:
    """A valid token: who it signs in, when it was made, its single-use nonce (hex)."""

    user_id: int
    issued_at: dt.datetime
    nonce: str


class Refusal(enum.StrEnum):
    """Why a token was refused (for tests and logs; the visitor is told one sentence)."""

    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"
    REPLAYED = "replayed"


class KeyFileError(RuntimeError):
    """The generated key cannot be made or read safely; the message says what to do."""


def _sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + payload, hashlib.sha256).digest()


def make_token(key: bytes, user_id: int, now: dt.datetime, nonce: bytes | None = None) -> str:
    """A token signing in ``user_id``, made at ``now`` (a random nonce unless given)."""
    if user_id <= 0:
        raise ValueError(f"{user_id} is not a Telegram user id (a positive number)")
    nonce = secrets.token_bytes(16) if nonce is None else nonce
    payload = _PAYLOAD.pack(user_id, int(now.timestamp()), nonce)
    raw = payload + _sign(key, payload)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def make_link(key: bytes, user_id: int, now: dt.datetime, base_url: str) -> str:
    """The dashboard address at ``base_url`` that signs ``user_id`` in (once, for 10 minutes)."""
    query = urlencode({QUERY_PARAM: make_token(key, user_id, now)})
    return f"{base_url.rstrip('/')}/?{query}"


def owner_link(settings: DashboardSettings, user_id: int, now: dt.datetime) -> str:
    """The link the bot sends ``user_id`` (and ``gatepulse owner-link`` prints): the configured
    or generated key, the dashboard's public address."""
    return make_link(load_key(settings), user_id, now, settings.link_base_url)


def verify(key: bytes, token: str, now: dt.datetime) -> Claim | Refusal:
    """The token's claim, or why it is refused: not a token, a wrong signature (forged or
    altered), or too old (or from too far in the future)."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return Refusal.MALFORMED
    if len(raw) != _TOKEN_BYTES:
        return Refusal.MALFORMED
    payload, signature = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
    if not hmac.compare_digest(signature, _sign(key, payload)):
        return Refusal.FORGED
    user_id, issued, nonce = _PAYLOAD.unpack(payload)
    issued_at = dt.datetime.fromtimestamp(issued, dt.UTC)
    if not issued_at - CLOCK_SKEW <= now <= issued_at + LINK_TTL:
        return Refusal.EXPIRED
    return Claim(user_id=user_id, issued_at=issued_at, nonce=nonce.hex())


def load_key(settings: DashboardSettings) -> bytes:
    """``DASHBOARD_LINK_KEY``, else the key generated once in the var directory."""
    configured = settings.link_key.get_secret_value()
    if configured:
        return configured.encode("utf-8")
    return key_file(settings.var_dir / KEY_FILE)


def key_file(path: Path) -> bytes:
    """The key in ``path``, made first when there is none.

    The new key is written to a private temporary file and linked into place, which fails
    when another process linked its own first: every process then reads the one key that won.
    A key file that others may read is refused.
    """
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{KEY_FILE}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path} may be read by others (mode {stat.filemode(mode)}): run chmod 600 on it, "
            "or set DASHBOARD_LINK_KEY"
        )
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise KeyFileError(f"{path} holds no key: delete it (a new one is made) or fix it")
    return key.encode("ascii")
