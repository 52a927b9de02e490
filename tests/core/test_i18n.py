"""The catalogs: every language has every text with the same placeholders, plural forms as its
grammar needs, compiled catalogs that match their sources, and the fallback chain."""

from __future__ import annotations

import gettext
import io
import re
from pathlib import Path

import pytest
from aiogram.utils.i18n import I18n
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from bot import texts
from core import i18n
from core.languages import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
BRACE = re.compile(r"\{(\w*)[^{}]*\}")
PERCENT = re.compile(r"%(?:\(\w+\))?[#0 +-]?\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _catalog(lang: str) -> Catalog:
    path = i18n.LOCALES / i18n.locale_dir(lang) / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    with path.open("rb") as f:
        return read_po(f, locale=i18n.locale_dir(lang))


def _placeholders(text: str) -> tuple[list[str], list[str]]:
    """The {named} fields and the %-conversions of a text (sorted, with repeats)."""
    return sorted(BRACE.findall(text)), sorted(PERCENT.findall(text))


def _ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {m.id for m in catalog if m.id}


def test_the_template_holds_every_text_the_code_marks() -> None:
    """A text added to the code without ``make locales`` fails here."""
    keywords = {**DEFAULT_KEYWORDS, "NP_": (1, 2)}
    found: set[str | tuple[str, ...]] = set()
    for folder in ("bot", "pipelines"):
        for _, _, message, _, _ in extract_from_dir(ROOT / folder, keywords=keywords):
            found.add(message if isinstance(message, str) else tuple(message))
    with (i18n.LOCALES / f"{i18n.DOMAIN}.pot").open("rb") as f:
        template = read_po(f)
    assert found == _ids(template)
    assert texts.PROMPT in found and (texts.UNLINKED.singular, texts.UNLINKED.plural) in found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_catalog_translates_every_text_with_the_same_placeholders(lang: str) -> None:
    with (i18n.LOCALES / f"{i18n.DOMAIN}.pot").open("rb") as f:
        template = read_po(f)
    catalog = _catalog(lang)
    assert _ids(catalog) == _ids(template)
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            forms = message.string
            assert len(forms) == catalog.num_plurals and all(forms), message.id
            fields, conversions = _placeholders(message.id[1])
            for form in forms:  # a form may leave the count out ("one channel"), nothing else
                named, percent = _placeholders(form)
                assert set(named) <= {*fields, "n"} and percent == conversions, (lang, form)
            assert set(fields) - {"n"} <= set(_placeholders("".join(forms))[0]), message.id
        else:
            assert message.string, (lang, message.id)
            assert _placeholders(message.string) == _placeholders(message.id), (lang, message.id)
        assert not message.fuzzy, (lang, message.id)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_catalog_has_its_languages_plural_forms(lang: str) -> None:
    catalog = _catalog(lang)
    assert catalog.num_plurals == get_plural(i18n.locale_dir(lang)).num_plurals
    assert catalog.num_plurals == {"uk": 3, "ru": 3, "ar": 6, "id": 1, "de": 2, "en": 2}.get(
        lang, catalog.num_plurals
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_compiled_catalog_is_its_source_compiled(lang: str) -> None:
    """Compiled in memory and compared byte for byte (a clone's file times mean nothing)."""
    compiled = io.BytesIO()
    write_mo(compiled, _catalog(lang))
    mo = i18n.LOCALES / i18n.locale_dir(lang) / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo"
    assert mo.read_bytes() == compiled.getvalue(), f"run make locales: {mo} is stale"


def test_aiogram_i18n_reads_the_same_catalogs() -> None:
    catalogs = I18n(path=i18n.LOCALES, default_locale="en", domain=i18n.DOMAIN)
    assert set(catalogs.available_locales) == {i18n.locale_dir(code) for code in LANGUAGES}
    for lang in LANGUAGES:
        ours = i18n.gettext(lang, texts.JOINED_BUTTON)
        assert catalogs.gettext(texts.JOINED_BUTTON, locale=i18n.locale_dir(lang)) == ours
    assert i18n.gettext("uk", texts.JOINED_BUTTON) == "Я приєднався"
    assert isinstance(i18n.translation("uk"), gettext.GNUTranslations)


def test_english_is_the_message_ids_and_plurals_follow_each_grammar() -> None:
    assert i18n.gettext("en", texts.PROMPT) == texts.PROMPT
    assert i18n.gettext("xx", texts.PROMPT) == texts.PROMPT  # no catalog: English
    one, many = texts.UNLINKED.singular, texts.UNLINKED.plural
    assert [i18n.ngettext("en", one, many, n) for n in (1, 2)] == [one, many]
    uk = [i18n.ngettext("uk", one, many, n).format(n=n) for n in (1, 3, 5, 11, 21)]
    assert uk == [
        "Від’єднано 1 канал.",
        "Від’єднано 3 канали.",
        "Від’єднано 5 каналів.",
        "Від’єднано 11 каналів.",
        "Від’єднано 21 канал.",
    ]
    ar = [i18n.ngettext("ar", one, many, n).format(n=n) for n in (1, 2, 3, 11)]
    assert ar == [  # one, two, few (3-10), many (11-99)
        "فُكّ ارتباط قناة واحدة (1).",
        "فُكّ ارتباط قناتين (2).",
        "فُكّ ارتباط 3 قنوات.",
        "فُكّ ارتباط 11 قناة.",
    ]


@pytest.mark.parametrize(
    ("code", "found"),
    [
        ("uk", "uk"),
        ("UK", "uk"),
        ("pt-br", "pt-BR"),
        ("pt_BR", "pt-BR"),
        ("pt-PT", "pt-BR"),  # the base language: the one Portuguese catalog
        ("pt", "pt-BR"),
        ("de-AT", "de"),
        ("es-419", "es"),
        ("zh-hans", None),
        ("", None),
        (None, None),
    ],
)
def test_a_language_code_finds_its_catalog_exact_then_by_base(
    code: str | None, found: str | None
) -> None:
    assert i18n.match(code) == found


def test_choose_falls_back_in_order_then_to_english() -> None:
    assert i18n.choose("es", "uk") == "es"
    assert i18n.choose("zh", "uk") == "uk"
    assert i18n.choose(None, "xx") == "en"


def test_right_to_left_languages_isolate_what_they_interpolate() -> None:
    mention = '<a href="tg://user?id=1">Ann</a>'
    assert i18n.isolate("ar", mention) == f"\u2068{mention}\u2069"
    assert i18n.isolate("fa", "@news") == "\u2068@news\u2069"
    assert i18n.isolate("uk", mention) == mention
    shown = texts.Texts("ar")(texts.PROMPT, mention=mention, channels="@news")
    assert f"\u2068{mention}\u2069" in shown and "\u2068@news\u2069" in shown
    assert shown.startswith("\u200f\u2068")  # right to left from its first character on
    assert texts.Texts("en")(texts.PROMPT, mention=mention, channels="@news") == (
        texts.PROMPT.format(mention=mention, channels="@news")
    )
