"""No clutter, a chosen penalty (issue 26): ``/settings`` durations and welcome texts, prompts
deleted after their ttl, newcomers acted on at their timeout (timers in the database: across a
restart and two replicas), "joined"/"left" service messages deleted."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from bot.gate.actions import JoinedCallback
from bot.gate.deadlines import parse_duration, show_duration
from bot.gate.timers import LEASE_S
from bot.gate.welcome import MAX_WELCOME, WelcomeRefused, check_welcome, welcome_text
from bot.runtime import app
from bot.runtime.app import build_runtime
from bot.storage.timers import PROMPT, TIMEOUT, Arm, Disarm, TimerStore, apply_timers, plan_timers
from core.clock import ManualClock
from core.db import create_engine
from sandbox.fake_telegram import FakeTelegramSession
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    CREATOR,
    GROUP,
    START,
    TOKEN,
    Harness,
    make_settings,
    make_world,
)

G = GROUP


async def _say(h: Harness, user: int, text: str) -> str:
    before = len(h.sent_to(GROUP))
    await h.feed(h.world.message_update(GROUP, user, text))
    return "\n".join(m.get("text", "") for m in h.sent_to(GROUP)[before:])


async def _settings(h: Harness) -> dict[str, Any]:
    return dict((await h.rows("protected_groups"))[0]["settings"])


async def _set(h: Harness, **settings: Any) -> None:
    for name, value in settings.items():
        await h.services.repo.set_setting(GROUP, name, value, START)


def _prompts(h: Harness, user_id: int = ALICE) -> list[dict[str, Any]]:
    """The prompts addressed to ``user_id`` that are still in the group."""
    return [
        m
        for m in h.sent_to(GROUP)
        if f"tg://user?id={user_id}" in str(m.get("entities", "")) + m.get("text", "")
        and (GROUP, m["message_id"]) not in h.world.deleted_messages
    ]


async def _timed_out(h: Harness) -> list[tuple[int | None, Any]]:
    return [(r["user_id"], r["detail"]) for r in await h.rows("gate_events", event="timed_out")]


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("word", "seconds"),
    [("30m", 1800), ("2h", 7200), ("1d", 86400), ("OFF", 0), ("10M", 600)],
)
def test_durations_parse(word: str, seconds: int) -> None:
    assert parse_duration(word) == seconds
    assert parse_duration(show_duration(seconds)) == seconds


@pytest.mark.parametrize("word", ["", "10", "0m", "1w", "-1h", "1.5h", "30 m", "soon", "1h2m"])
def test_bad_durations_are_refused(word: str) -> None:
    assert parse_duration(word) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("x" * (MAX_WELCOME + 1), f"at most {MAX_WELCOME}"),
        ("Hi {name}!", "{name} is not a placeholder"),
        ("Hi {mention!r}", "is not a placeholder"),
        ("Hi {mention", "without its pair"),
        ("Hi } there", "without its pair"),
        ("<b>bold", "<b> is never closed"),
        ("<b><i>x</b></i>", "</b> does not match"),
        ("<script>x</script>", "<script> is not a tag Telegram shows"),
        ('<a title="x">x</a>', "cannot carry title="),
        ("<a>x</a>", "needs its address"),
        ('<a href="{mention}">x</a>', "not inside a tag"),
        ('<span class="big">x</span>', "tg-spoiler"),
        ("1 < 2", "&lt;"),
        ("a &nbsp; b", "&nbsp; is unknown"),
        ("x <b", "&lt;"),  # a tag cut off
    ],
)
def test_bad_welcome_texts_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(WelcomeRefused) as refused:
        check_welcome(text)
    assert why in str(refused.value)


def test_good_welcome_texts_pass() -> None:
    for text in (
        "Hi {mention}! Join {channels} to write.",
        '<b>Hi</b> {mention}, <a href="https://t.me/x">rules</a> &amp; <i>more</i> &#39;',
        '<pre><code class="language-python">x = 1</code></pre> <tg-spoiler>s</tg-spoiler>',
        "Привіт, {mention}!\nПідпишіться на {channels}.",
    ):
        assert check_welcome(f"  {text} ") == text


def test_welcome_text_is_per_language() -> None:
    settings = {"welcome": {"uk": "Привіт {mention}", "xx": "no such language", "es": 3}}
    assert welcome_text(settings, "uk") == "Привіт {mention}"
    assert welcome_text(settings, "en") is None
    assert welcome_text(settings, "es") is None
    assert welcome_text({}, "uk") is None


def test_timer_plan_replays_arms_and_disarms_in_order() -> None:
    due = START + dt.timedelta(minutes=10)
    ops = [
        Arm(TIMEOUT, G, 1, due),
        Arm(TIMEOUT, G, 1, due + dt.timedelta(minutes=5)),  # same timer: the first stays
        Arm(PROMPT, G, 1, due, 11),
        Disarm(G, 1, (PROMPT,)),  # drops the prompt armed above and any stored
        Arm(PROMPT, G, 1, due, 12),
        Arm(TIMEOUT, G, 2, due),
        Disarm(G, 2, (TIMEOUT,)),
    ]
    plan = plan_timers(ops, START)
    assert plan.wiped == {(G, 1, PROMPT), (G, 2, TIMEOUT)}
    assert [(r["kind"], r["user_id"], r["message_id"], r["due_at"]) for r in plan.added] == [
        (TIMEOUT, 1, 0, due),
        (PROMPT, 1, 12, due),
    ]


# --------------------------------------------------------------------------- /settings


async def test_settings_take_durations_and_words_audited_and_listed(harness: Harness) -> None:
    await harness.protect()
    assert await _say(harness, CREATOR, "/settings prompt_ttl 30m") == (
        "Unanswered prompts are deleted after: 30m."
    )
    assert "Timeout for newcomers: 2h" in await _say(harness, ADMIN, "/settings timeout 2H")
    assert "is: kick" in await _say(harness, CREATOR, "/settings on_timeout kick")
    assert "messages: on" in await _say(harness, CREATOR, "/settings clean_service on")
    assert "after: off" in await _say(harness, CREATOR, "/settings prompt_ttl off")
    assert await _settings(harness) == {
        "prompt_ttl": 0,
        "timeout": 7200,
        "on_timeout": "kick",
        "clean_service": True,
    }
    shown = await _say(harness, CREATOR, "/settings")
    assert (
        "Unanswered prompts deleted after: off\nTimeout for newcomers: 2h\n"
        "At the timeout: kick\nDelete join/leave messages: on\nWelcome text: default\n"
    ) in shown
    audit = [a for a in await harness.rows("admin_audit_log") if a["action"] == "settings"]
    assert [a["changes"] for a in audit] == [
        {"prompt_ttl": {"from": 600, "to": 1800}},
        {"timeout": {"from": 0, "to": 7200}},
        {"on_timeout": {"from": "mute", "to": "kick"}},
        {"clean_service": {"from": False, "to": True}},
        {"prompt_ttl": {"from": 1800, "to": 0}},
    ]


async def test_welcome_text_per_language_set_and_reset(harness: Harness) -> None:
    await harness.protect()
    said = await _say(harness, CREATOR, "/settings welcome <b>Hi</b> {mention}!\nJoin {channels}")
    assert said == "Welcome text for en set: prompts in en now use it."
    await _set(harness, language="uk")  # the group's language, which its replies speak now
    assert "для uk встановлено" in await _say(
        harness, CREATOR, "/settings welcome Привіт, {mention}"
    )
    assert "для es встановлено" in await _say(harness, ADMIN, "/settings welcome ES Hola {mention}")
    assert "для pt-BR встановлено" in await _say(harness, ADMIN, "/settings welcome pt-br Olá")
    assert (await _settings(harness))["welcome"] == {
        "en": "<b>Hi</b> {mention}!\nJoin {channels}",
        "uk": "Привіт, {mention}",
        "es": "Hola {mention}",
        "pt-BR": "Olá",
    }
    assert "Текст привітання: власний текст: en, es, pt-BR, uk" in await _say(
        harness, CREATOR, "/settings"
    )
    assert "для es: знову типове" in await _say(harness, CREATOR, "/settings welcome es off")
    assert "для uk: знову типове" in await _say(harness, CREATOR, "/settings welcome OFF")
    assert (await _settings(harness))["welcome"] == {
        "en": "<b>Hi</b> {mention}!\nJoin {channels}",
        "pt-BR": "Olá",
    }
    audit = [a for a in await harness.rows("admin_audit_log") if a["resource"] == "welcome"]
    assert len(audit) == 6
    assert audit[-1]["changes"]["welcome"]["to"] == (await _settings(harness))["welcome"]


@pytest.mark.parametrize(
    "command",
    [
        "/settings welcome Hi {user}",
        "/settings welcome uk <u>Привіт",
        "/settings welcome <blink>hi</blink>",
        "/settings welcome " + "x" * (MAX_WELCOME + 1),
    ],
)
async def test_a_bad_welcome_text_is_refused_once_and_changes_nothing(
    harness: Harness, command: str
) -> None:
    await harness.protect()
    before = await _settings(harness)
    said = await _say(harness, CREATOR, command)
    assert said.startswith("Welcome text refused, nothing was changed: ")
    assert len(said.splitlines()) == 1
    assert await _settings(harness) == before
    assert [a for a in await harness.rows("admin_audit_log") if a["action"] == "settings"] == []


# --------------------------------------------------------------------------- prompts


async def test_the_prompt_uses_the_welcome_text_of_its_language(harness: Harness) -> None:
    await harness.protect()
    await _set(harness, welcome={"en": "<b>Hey</b> {mention}, join {channels}!", "uk": "Привіт"})
    await harness.feed(harness.world.join_update(GROUP, ALICE))
    (prompt,) = _prompts(harness)
    mention = f'<a href="tg://user?id={ALICE}">Alice</a>'
    assert prompt["text"] == f"<b>Hey</b> {mention}, join @gp_news, Deals!"
    assert [b[0]["text"] for b in prompt["reply_markup"]["inline_keyboard"]][-1] == "I joined"


async def test_an_unanswered_prompt_goes_after_its_ttl_and_writing_brings_a_fresh_one(
    harness: Harness,
) -> None:
    await harness.protect()
    await _set(harness, prompt_ttl=300)
    await harness.feed(harness.world.join_update(GROUP, ALICE))
    assert harness.muted(GROUP, ALICE) and len(_prompts(harness)) == 1
    await harness.drain()
    timers = harness.services.timers
    harness.clock.advance(299)
    assert await timers.sweep(harness.bot) == 0 and len(_prompts(harness)) == 1
    harness.clock.advance(1)
    assert await timers.sweep(harness.bot) == 1
    assert _prompts(harness) == [] and harness.muted(GROUP, ALICE)  # still muted
    assert await timers.store.pending() == []
    # writing again (the throttle, 60 s, has passed): a fresh prompt, with its own ttl
    await harness.feed(harness.world.message_update(GROUP, ALICE, "let me in"))
    assert len(_prompts(harness)) == 1
    await harness.feed(harness.world.message_update(GROUP, ALICE, "again"))  # throttled
    assert len(_prompts(harness)) == 1
    await harness.drain()
    harness.clock.advance(300)
    assert await timers.sweep(harness.bot) == 1 and _prompts(harness) == []
    assert await _timed_out(harness) == []


async def test_prompt_ttl_off_keeps_prompts_and_a_pass_clears_the_timers(
    harness: Harness,
) -> None:
    await harness.protect()
    await _set(harness, prompt_ttl=0)
    await harness.feed(harness.world.join_update(GROUP, ALICE))
    await harness.drain()
    assert await harness.services.timers.store.pending() == []  # nothing to delete, ever
    await _set(harness, prompt_ttl=600, timeout=3600)
    harness.services.repo.invalidate()
    harness.clock.advance(61)
    await harness.feed(harness.world.message_update(GROUP, ALICE, "hello?"))
    await harness.drain()
    assert {t["kind"] for t in await harness.services.timers.store.pending()} == {
        PROMPT,
        TIMEOUT,
    }
    harness.services.actions.state.lift(ALICE, GROUP, harness.clock.now())
    await harness.services.actions.release(harness.bot, GROUP, ALICE)
    await harness.drain()
    assert await harness.services.timers.store.pending() == []


# --------------------------------------------------------------------------- timeouts


@pytest.mark.parametrize("action", ["mute", "kick", "ban"])
async def test_timeout_action_through_the_real_client(
    http_clock_harness: Harness, action: str
) -> None:
    h = http_clock_harness
    await h.protect()
    await _set(h, timeout=1800, on_timeout=action)
    await h.feed(h.world.join_update(GROUP, ALICE))
    assert h.muted(GROUP, ALICE)
    await h.drain()
    h.clock.advance(1799)
    await h.services.timers.sweep(h.bot)  # the prompt's ttl (600 s) ran out, not the timeout
    assert await _timed_out(h) == [] and h.muted(GROUP, ALICE)
    h.clock.advance(1)
    assert await h.services.timers.sweep(h.bot) == 1
    assert await _timed_out(h) == [(ALICE, {"action": action, "timeout_s": 1800})]
    assert _prompts(h) == []
    status = h.world.member_status(GROUP, ALICE)
    if action == "mute":
        assert h.muted(GROUP, ALICE) and (GROUP, ALICE) not in h.world.bans
    elif action == "kick":  # out, and free to come back (and be gated again)
        assert status == "left" and (GROUP, ALICE) not in h.world.bans
        await h.feed(h.world.join_update(GROUP, ALICE))
        assert h.world.member_status(GROUP, ALICE) == "restricted" and h.muted(GROUP, ALICE)
    else:
        assert status == "kicked" and (GROUP, ALICE) in h.world.bans
    restrictions = await h.rows("user_restrictions", user_id=ALICE)
    assert restrictions[0]["is_active"] is (action == "mute")
    calls = [name for name, _ in h.world.calls]
    assert calls.count("banChatMember") == (action != "mute")
    assert calls.count("unbanChatMember") == (action == "kick")
    logged = [r["method"] for r in await h.rows("api_call_log")]
    assert ("banChatMember" in logged) is (action != "mute")  # through the logged client
    assert await h.services.timers.sweep(h.bot) == 0  # done once


async def _alice_due_for_a_ban(h: Harness) -> Harness:
    """Alice joined a group that bans at a 30-minute timeout (prompt_ttl off), 30 minutes ago."""
    await h.protect()
    await _set(h, timeout=1800, on_timeout="ban", prompt_ttl=0)
    await h.feed(h.world.join_update(GROUP, ALICE))
    await h.drain()
    h.clock.advance(1800)
    return h


async def test_a_telegram_fault_leaves_the_timer_for_a_later_sweep(harness: Harness) -> None:
    h = await _alice_due_for_a_ban(harness)
    h.world.fail_next("banChatMember", "server_error", count=2)  # the client's try and retry
    # the prompt goes at the timeout (prompt_ttl off); the timeout itself is kept, leased
    assert await h.services.timers.sweep(h.bot) == 1 and _prompts(h) == []
    assert await _timed_out(h) == [] and (GROUP, ALICE) not in h.world.bans
    assert await h.services.timers.sweep(h.bot) == 0  # not claimed again while leased
    h.clock.advance(LEASE_S)
    assert await h.services.timers.sweep(h.bot) == 1
    assert await _timed_out(h) == [(ALICE, {"action": "ban", "timeout_s": 1800})]
    assert (GROUP, ALICE) in h.world.bans


async def test_a_refused_action_ends_the_timer_without_an_event(harness: Harness) -> None:
    h = await _alice_due_for_a_ban(harness)
    h.world.set_bot_admin(GROUP, True, can_restrict_members=False)  # no right to ban now
    assert await h.services.timers.sweep(h.bot) == 2  # the timeout, and the prompt it outlived
    assert await _timed_out(h) == [] and h.world.bans == {}
    assert await h.services.timers.store.pending() == []


async def test_who_passes_or_leaves_before_the_timeout_gets_nothing(harness: Harness) -> None:
    await harness.protect()
    await _set(harness, timeout=1800, on_timeout="ban")
    harness.world.add_user(3001, "Erin")
    await harness.feed(harness.world.join_update(GROUP, ALICE))
    await harness.feed(harness.world.join_update(GROUP, 3001))
    await harness.drain()
    await harness.feed(harness.world.leave_update(GROUP, 3001))  # Erin leaves
    harness.world.set_member(-1002000000001, ALICE, "member")  # Alice joins both channels
    harness.world.set_member(-1002000000002, ALICE, "member")
    prompt = _prompts(harness)[0]
    data = JoinedCallback(user_id=ALICE).pack()
    press = harness.world.callback_update(GROUP, ALICE, data, message_id=prompt["message_id"])
    await harness.feed(press)
    assert not harness.muted(GROUP, ALICE)
    await harness.drain()
    # Alice's timers went with her pass; Erin's prompt stays for its ttl, her timeout went
    pending = await harness.services.timers.store.pending()
    assert [(t["kind"], t["user_id"]) for t in pending] == [(PROMPT, 3001)]
    harness.clock.advance(1800)
    await harness.services.timers.sweep(harness.bot)
    assert await _timed_out(harness) == []
    assert harness.world.bans == {}


async def _process(db_url: str, tmp_path: Any, world: Any, clock: ManualClock) -> Harness:
    """One bot process on ``db_url`` (its own engine and writers) in ``world``."""
    session = FakeTelegramSession(world, token=TOKEN, instant_timeouts=True)
    settings = make_settings(db_url, tmp_path)
    engine = create_engine(url=db_url)
    runtime = await build_runtime(settings, clock=clock, session=session, engine=engine)
    return Harness(world, runtime, clock)


async def test_a_timeout_armed_before_a_restart_is_acted_on_after_it(
    db_url: str, tmp_path: Any
) -> None:
    clock = ManualClock(START)
    world = make_world(clock=clock)
    first = await _process(db_url, tmp_path, world, clock)
    await first.protect()
    await _set(first, timeout=3600, on_timeout="kick")
    await first.feed(world.join_update(GROUP, ALICE))
    await first.runtime.close()  # its state writes land; nothing stays in memory
    clock.advance(3600)
    second = await _process(db_url, tmp_path, world, clock)
    try:
        assert await second.services.timers.sweep(second.bot) == 2  # the prompt, the timeout
        assert await _timed_out(second) == [(ALICE, {"action": "kick", "timeout_s": 3600})]
        assert world.member_status(GROUP, ALICE) == "left"
    finally:
        await second.runtime.close()


@pytest.fixture
async def replicas(db_url: str, tmp_path: Any) -> AsyncIterator[tuple[Harness, Harness]]:
    """Two bot processes on one database and one world."""
    clock = ManualClock(START)
    world = make_world(clock=clock)
    a = await _process(db_url, tmp_path, world, clock)
    b = await _process(db_url, tmp_path, world, clock)
    try:
        yield a, b
    finally:
        await b.runtime.close()
        await a.runtime.close()


async def test_two_replicas_act_on_each_timer_once(replicas: tuple[Harness, Harness]) -> None:
    a, b = replicas
    await a.protect()
    await _set(a, timeout=1800, on_timeout="ban")
    users = [3001 + i for i in range(6)]
    for i, user in enumerate(users):
        a.world.add_user(user, f"U{i}")
        await (a if i % 2 else b).feed(a.world.join_update(GROUP, user))
    await a.drain()
    await b.drain()
    a.clock.advance(1800)
    done = await asyncio.gather(a.services.timers.sweep(a.bot), b.services.timers.sweep(b.bot))
    assert sum(done) == 2 * len(users)  # each prompt and each timeout, by one of them
    bans = [p["user_id"] for name, p in a.world.calls if name == "banChatMember"]
    assert sorted(int(u) for u in bans) == users
    await b.drain()  # the events of b's sweep, through b's log writer
    assert sorted(u for u, _ in await _timed_out(a)) == users
    assert await a.services.timers.store.pending() == []


# --------------------------------------------------------------------------- service messages


async def test_clean_service_deletes_join_and_leave_messages(harness: Harness) -> None:
    await harness.protect()
    join = harness.world.new_members_update(GROUP, [ALICE])
    await harness.feed(join)
    assert (GROUP, join["message"]["message_id"]) not in harness.world.deleted_messages
    await _set(harness, clean_service=True)
    harness.services.repo.invalidate()
    harness.world.add_user(3001, "Erin")
    join = harness.world.new_members_update(GROUP, [3001])
    await harness.feed(join)
    assert (GROUP, join["message"]["message_id"]) in harness.world.deleted_messages
    assert harness.muted(GROUP, 3001)  # and the joiner is gated as ever
    left = harness.world.service_update(GROUP, "left_chat_member", user_id=3001)
    await harness.feed(left)
    assert (GROUP, left["message"]["message_id"]) in harness.world.deleted_messages


async def test_clean_service_without_the_right_does_nothing(harness: Harness) -> None:
    await harness.protect()
    await _set(harness, clean_service=True)
    harness.world.set_bot_admin(GROUP, True, can_delete_messages=False)
    join = harness.world.new_members_update(GROUP, [ALICE])
    await harness.feed(join)
    assert (GROUP, join["message"]["message_id"]) not in harness.world.deleted_messages
    assert harness.muted(GROUP, ALICE)


async def test_concurrent_claims_take_disjoint_timers(db_url: str) -> None:
    """Claims from two engines (two replicas) at once never share a timer, and a claimed timer
    is not claimed again while its lease lasts."""
    engines = [create_engine(url=db_url), create_engine(url=db_url)]
    try:
        async with engines[0].begin() as conn:
            due = START - dt.timedelta(seconds=1)
            await apply_timers(conn, [Arm(TIMEOUT, G, u, due) for u in range(1, 51)], START)
        stores = [TimerStore(e) for e in engines]
        claims = await asyncio.gather(*(stores[i % 2].claim(START, 60, 10) for i in range(4)))
        taken = [t.user_id for batch in claims for t in batch]
        assert len(taken) == len(set(taken)) == 40
        again = await stores[0].claim(START + dt.timedelta(seconds=59), 60, 100)
        assert sorted(t.user_id for t in again) == sorted(set(range(1, 51)) - set(taken))
        expired = await stores[1].claim(START + dt.timedelta(seconds=61), 60, 100)
        assert len(expired) == 40 and {t.attempts for t in expired} == {2}
    finally:
        for engine in engines:
            await engine.dispose()


async def test_housekeeping_sweeps_the_timers_and_survives_a_failed_sweep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    swept = asyncio.Event()
    calls: list[str] = []

    class Timers:
        async def sweep(self, bot: Any) -> int:
            calls.append("sweep")
            if len(calls) == 1:
                raise ConnectionError("database down")
            swept.set()
            return 0

    async def nothing(*args: Any, **kwargs: Any) -> None:
        return None

    part = SimpleNamespace(settle=nothing, sweep=nothing, prune=nothing)
    services = SimpleNamespace(joins=part, join_requests=part, updates=part, timers=Timers())
    monkeypatch.setattr(app, "SWEEP_INTERVAL_S", 0.0)
    task = asyncio.create_task(app._housekeeping(services, bot=None))  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(swept.wait(), 5.0)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert calls[:2] == ["sweep", "sweep"]
