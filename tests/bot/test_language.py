"""Which language the bot speaks where (bot.gate.language): pure decisions, no Telegram."""

from __future__ import annotations

import pytest

from bot.gate.language import (
    BILINGUAL,
    LANGUAGE,
    LANGUAGE_DEFAULT,
    group_language,
    parse,
    private_language,
    prompt_languages,
    protect_defaults,
)

UK_FIXED = {LANGUAGE: "uk", LANGUAGE_DEFAULT: "uk"}
UK_AUTO = {LANGUAGE: "auto", LANGUAGE_DEFAULT: "uk"}


@pytest.mark.parametrize(
    ("word", "stored"),
    [("uk", "uk"), ("UK", "uk"), ("pt-br", "pt-BR"), ("pt_BR", "pt-BR"), ("Auto", "auto"),
     ("pt", None), ("xx", None), ("", None)],
)  # fmt: skip
def test_settings_language_takes_a_catalog_code_or_auto(word: str, stored: str | None) -> None:
    assert parse(word) == stored


def test_the_groups_language_is_its_fixed_one_else_its_default_else_english() -> None:
    assert group_language(UK_FIXED) == "uk"
    assert group_language(UK_AUTO) == "uk"  # auto: the language stored at /protect
    assert group_language({LANGUAGE: "auto"}) == "en"
    assert group_language({}) == "en"
    assert group_language({LANGUAGE: "xx", LANGUAGE_DEFAULT: "ru"}) == "ru"


@pytest.mark.parametrize(
    ("settings", "code", "shown"),
    [
        (UK_FIXED, "es", ("uk",)),  # fixed: the group's language whoever joins
        (UK_AUTO, "es", ("es",)),  # auto: the newcomer's own
        (UK_AUTO, "es-MX", ("es",)),  # its base language
        (UK_AUTO, "pt-PT", ("pt-BR",)),  # the one Portuguese catalog
        (UK_AUTO, "zh-hans", ("uk",)),  # no catalog: the group's
        (UK_AUTO, None, ("uk",)),
        ({LANGUAGE: "auto"}, "zh", ("en",)),  # and no group language: English
        ({**UK_FIXED, BILINGUAL: True}, "es", ("es", "uk")),  # the group's under the newcomer's
        ({**UK_AUTO, BILINGUAL: True}, "es", ("es", "uk")),
        ({**UK_AUTO, BILINGUAL: True}, "uk", ("uk",)),  # the same language once
        ({**UK_FIXED, BILINGUAL: False}, "es", ("uk",)),
    ],
)
def test_a_newcomers_prompt_languages(
    settings: dict[str, object], code: str | None, shown: tuple[str, ...]
) -> None:
    assert prompt_languages(settings, code) == shown


def test_private_chats_speak_the_users_language_then_the_fallback() -> None:
    assert private_language("ru") == "ru"
    assert private_language("zh", "uk") == "uk"
    assert private_language(None) == "en"


def test_protect_stores_the_admins_language_only_when_the_group_has_none() -> None:
    assert protect_defaults({}, "uk-UA") == {LANGUAGE: "uk", LANGUAGE_DEFAULT: "uk"}
    assert protect_defaults({}, "zz") == {LANGUAGE: "en", LANGUAGE_DEFAULT: "en"}
    assert protect_defaults({LANGUAGE: "auto", LANGUAGE_DEFAULT: "ru"}, "uk") == {}
