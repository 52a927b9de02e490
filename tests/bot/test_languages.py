"""A Ukrainian group and a Spanish-speaking newcomer, through the whole bot (the real aiogram
client over HTTP against the fake Telegram): the prompt, its buttons and the answer to a press
in the fixed, auto and bilingual modes, and the language each prompt was shown in."""

from __future__ import annotations

from typing import Any

import pytest

from bot import texts
from bot.gate.actions import JoinedCallback
from bot.texts import Texts
from tests.bot.conftest import CREATOR, GROUP, Harness

ESTEBAN = 2101
MENTION = f'<a href="tg://user?id={ESTEBAN}">Esteban</a>'
SPANISH = "para escribir en este grupo, primero únete a @gp_news"
UKRAINIAN = "щоб писати в цій групі, спершу приєднайтеся до @gp_news"


async def _say(h: Harness, text: str) -> str:
    before = len(h.sent_to(GROUP))
    await h.feed(h.world.message_update(GROUP, CREATOR, text))
    return "\n".join(m.get("text", "") for m in h.sent_to(GROUP)[before:])


def _buttons(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


@pytest.mark.parametrize(
    ("commands", "langs"),
    [
        ((), ("uk",)),
        (("/settings language auto",), ("es",)),
        (("/settings bilingual on",), ("es", "uk")),
    ],
    ids=["fixed", "auto", "bilingual"],
)
async def test_a_ukrainian_group_prompts_a_spanish_speaker(
    http_clock_harness: Harness, commands: tuple[str, ...], langs: tuple[str, ...]
) -> None:
    h = http_clock_harness
    h.world.add_user(CREATOR, "Creator", username="creator", language_code="uk")
    h.world.add_user(ESTEBAN, "Esteban", username="esteban", language_code="es")
    # the group takes the language of the admin who protects it, and answers in it
    assert (await _say(h, "/protect @gp_news")).startswith("Захищено.")
    group = (await h.rows("protected_groups"))[0]
    assert group["settings"] == {"language": "uk", "language_default": "uk"}
    for command in commands:
        await _say(h, command)
    shown = await _say(h, "/settings")
    assert "Мова: " + ("auto" if "auto" in " ".join(commands) else "uk") in shown

    await h.feed(h.world.join_update(GROUP, ESTEBAN))
    prompt = h.sent_to(GROUP)[-1]
    paragraphs = prompt["text"].split("\n\n")
    expected = {"es": SPANISH, "uk": UKRAINIAN}
    assert len(paragraphs) == len(langs)
    for paragraph, lang in zip(paragraphs, langs, strict=True):
        assert paragraph.startswith(MENTION) and expected[lang] in paragraph
        assert paragraph == Texts(lang)(texts.PROMPT, mention=MENTION, channels="@gp_news")
    buttons = {
        "es": ["Unirse a @gp_news", "Ya me uní"],
        "uk": ["Приєднатися: @gp_news", "Я приєднався"],
    }
    assert _buttons(prompt) == buttons[langs[0]]

    prompted = [r for r in await h.rows("gate_events") if r["event"] == "prompted"]
    assert [(r["user_id"], r["detail"]["lang"]) for r in prompted] == [(ESTEBAN, langs[0])]

    # the answer to a press speaks the prompt's (first) language
    data = JoinedCallback(user_id=ESTEBAN).pack()
    await h.feed(h.world.callback_update(GROUP, ESTEBAN, data, message_id=prompt["message_id"]))
    answer = h.world.answered_callbacks[-1]["text"]
    assert answer == Texts(langs[0])(texts.CALLBACK_MISSING, channels="@gp_news")
    assert answer.startswith({"es": "Todavía tienes que unirte", "uk": "Вам ще треба"}[langs[0]])


async def test_a_language_change_is_audited_and_refused_when_unknown(
    http_clock_harness: Harness,
) -> None:
    h = http_clock_harness
    h.world.add_user(CREATOR, "Creator", username="creator", language_code="uk")
    await _say(h, "/protect @gp_news")
    assert (await _say(h, "/settings language xx")).startswith("Використання: /settings language")
    assert await _say(h, "/settings language PT-BR") == "Idioma: pt-BR."
    assert await _say(h, "/settings language auto") == "Idioma: auto."
    audit = [a for a in await h.rows("admin_audit_log") if a["action"] == "settings"]
    assert [a["changes"] for a in audit] == [
        {"language": {"from": "uk", "to": "pt-BR"}},
        {"language": {"from": "pt-BR", "to": "auto"}},
    ]
    group = (await h.rows("protected_groups"))[0]
    # auto keeps the last fixed language as the group's own (its replies, auto's fallback)
    assert group["settings"] == {"language": "auto", "language_default": "pt-BR"}
