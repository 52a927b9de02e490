"""Message text as stored (:mod:`core.content`) and the settings of ``MESSAGE_CONTENT=hash``."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from core.content import StoredText, content_hash, normalize_text
from core.settings import MessageContent, SettingsError, load_settings

KEY = "0123456789abcdef"


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("  Free\u00a0CRYPTO\n\n\tnow  ", "free crypto now"),  # NBSP, newlines, tabs, ends
        ("𝐅𝐑𝐄𝐄 ｃｒｙｐｔｏ", "free crypto"),  # mathematical bold and full-width letters
        ("Straße ﬁne", "strasse fine"),  # casefold ß, NFKC ligature
        ("", ""),
    ],
)
def test_normalize_text(text: str, normal: str) -> None:
    assert normalize_text(text) == normal


def test_content_hash_is_the_hmac_of_the_normal_form() -> None:
    expected = hmac.new(KEY.encode(), b"free crypto now", hashlib.sha256).hexdigest()
    assert content_hash("FREE   Crypto NOW", KEY) == expected
    assert content_hash("free crypto now!", KEY) != expected
    assert content_hash("free crypto now", KEY + "x") != expected  # another key, another hash
    assert len(content_hash("\ud800 lone surrogate", KEY)) == 64  # never raises


def test_stored_text_per_mode() -> None:
    text = "Hi\x00 there"
    full = StoredText(MessageContent.FULL)
    hashed = StoredText(MessageContent.HASH, KEY.encode())
    none = StoredText(MessageContent.NONE, KEY.encode())
    assert full.columns(text) == {"content": "Hi\ufffd there", "content_hash": None}
    assert hashed.columns(text) == {"content": None, "content_hash": content_hash(text, KEY)}
    assert none.columns(text) == {"content": None, "content_hash": None}
    assert hashed.columns(None) == {"content": None, "content_hash": None}  # a sticker
    assert KEY not in repr(hashed)


@pytest.mark.parametrize("key", [None, "", "fifteen-chars!!"])
def test_hash_mode_without_a_long_enough_key_is_a_clear_start_up_error(
    monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    monkeypatch.setenv("MESSAGE_CONTENT", "hash")
    if key is None:
        monkeypatch.delenv("MESSAGE_HASH_KEY", raising=False)
    else:
        monkeypatch.setenv("MESSAGE_HASH_KEY", key)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value) == (
        "MESSAGE_HASH_KEY: MESSAGE_CONTENT=hash needs a secret key of at least 16 characters "
        "(e.g. the output of: openssl rand -hex 32)"
    )


def test_a_key_is_needed_only_to_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESSAGE_HASH_KEY", raising=False)
    monkeypatch.setenv("MESSAGE_CONTENT", "none")
    assert load_settings().gate.message_content is MessageContent.NONE
    monkeypatch.setenv("MESSAGE_CONTENT", "hash")
    monkeypatch.setenv("MESSAGE_HASH_KEY", KEY)
    gate = load_settings().gate
    assert gate.message_hash_key.get_secret_value() == KEY and KEY not in repr(gate)
