"""``group_admins``: who administers each protected group, kept by the bot from /protect's
getChatAdministrators, the daily refresh and chat_member promotions, demotions and leaves."""

from __future__ import annotations

from typing import Any

from bot.storage.admins import REFRESH_AFTER, GroupAdmins
from dashboards.queries import make_engine
from dashboards.scope import load_scope
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOB,
    BOT_ID,
    CH_DEALS,
    CH_NEWS,
    CREATOR,
    GROUP,
    GROUP2,
    NEWS,
    Harness,
)

BASIC = -4000000002
UPGRADED = -1004000000002


async def _admins(h: Harness, group_id: int = GROUP) -> dict[int, str]:
    return {r["user_id"]: r["status"] for r in await h.rows("group_admins", group_id=group_id)}


async def _say(h: Harness, chat_id: int, user: int, text: str) -> None:
    await h.feed(h.world.message_update(chat_id, user, text))


async def test_protect_reads_the_groups_admins(harness: Harness) -> None:
    await _say(harness, GROUP, CREATOR, "/protect @gp_news")
    assert await _admins(harness) == {CREATOR: "creator", ADMIN: "administrator"}
    assert BOT_ID not in await _admins(harness)  # bots (the bot itself) are no owners
    assert await _admins(harness, GROUP2) == {}


async def test_promotions_demotions_leaves_and_kicks_follow_chat_member_updates(
    harness: Harness,
) -> None:
    await harness.protect()
    await harness.services.admins.refresh(harness.bot, GROUP)
    world = harness.world
    world.set_member(GROUP, ALICE, "member")
    world.set_member(GROUP, BOB, "member")
    await harness.feed(world.promote_update(GROUP, ALICE, by_user_id=CREATOR))
    await harness.feed(world.promote_update(GROUP, BOB, by_user_id=CREATOR))
    assert await _admins(harness) == {
        CREATOR: "creator",
        ADMIN: "administrator",
        ALICE: "administrator",
        BOB: "administrator",
    }
    await harness.feed(world.demote_update(GROUP, ALICE, by_user_id=CREATOR))
    await harness.feed(world.leave_update(GROUP, ADMIN))
    await harness.feed(world.kick_update(GROUP, BOB, by_user_id=CREATOR))
    assert await _admins(harness) == {CREATOR: "creator"}
    # the gate's own handling of the same updates still ran (the tracker swallows nothing)
    events = await harness.rows("member_events", chat_id=GROUP)
    assert sorted((e["user_id"], e["event"]) for e in events) == [
        (ADMIN, "leave"),
        (BOB, "kick"),
    ]


async def test_odd_and_foreign_updates_change_nothing(harness: Harness) -> None:
    world = harness.world
    world.set_member(GROUP, ALICE, "member")
    # GROUP is not protected yet: a promotion there stores nothing, and does not fail
    await harness.feed(world.promote_update(GROUP, ALICE, by_user_id=CREATOR))
    assert await harness.rows("group_admins") == []
    await harness.protect()
    update: dict[str, Any] = world.promote_update(GROUP, BOB, by_user_id=CREATOR)
    update["chat_member"]["new_chat_member"]["user"]["is_bot"] = True  # a bot made admin
    await harness.feed(update)
    assert await harness.rows("group_admins") == []


async def test_daily_refresh_reads_stale_groups_once_across_replicas(harness: Harness) -> None:
    await harness.protect(GROUP)
    await harness.protect(GROUP2)
    admins = harness.services.admins
    # never read: both groups are stale, and one sweep reads them
    assert sorted(await admins.stale_groups()) == sorted([GROUP, GROUP2])
    assert await admins.refresh_stale(harness.bot) == 2
    assert await _admins(harness, GROUP2) == {CREATOR: "creator"}
    assert await admins.stale_groups() == []
    # Telegram changed behind the bot's back (no update reached it): a day later it is read again
    harness.world.set_member(GROUP2, ALICE, "administrator")
    harness.clock.advance(REFRESH_AFTER.total_seconds() - 60)
    assert await admins.refresh_stale(harness.bot) == 0
    harness.clock.advance(120)
    other = GroupAdmins(harness.services.sessions, harness.clock)  # a second replica
    assert await other.claim(GROUP2)
    assert not await admins.claim(GROUP2)  # the first claim wins; the stamp is shared
    assert await admins.refresh_stale(harness.bot) == 1  # GROUP only
    assert await _admins(harness, GROUP2) == {CREATOR: "creator"}
    assert await other.refresh(harness.bot, GROUP2)
    assert await _admins(harness, GROUP2) == {CREATOR: "creator", ALICE: "administrator"}


async def test_a_migrated_group_keeps_its_admins(harness: Harness) -> None:
    harness.world.add_group(BASIC, "Basic", creator_id=CREATOR, supergroup=False)
    await harness.protect(BASIC, (NEWS,))
    await harness.services.admins.refresh(harness.bot, BASIC)
    assert await _admins(harness, BASIC) == {CREATOR: "creator"}
    for update in harness.world.migrate_group(BASIC, UPGRADED, by_user_id=CREATOR):
        await harness.feed(update)
    assert await harness.rows("group_admins", group_id=BASIC) == []
    assert await _admins(harness, UPGRADED) == {CREATOR: "creator"}


async def test_a_demoted_admin_loses_the_group_at_the_next_dashboard_read(
    harness: Harness, db_url: str
) -> None:
    """Telegram (the fake) demotes an admin: its chat_member update reaches the bot, which
    drops the row, and the dashboard's next scope read no longer has the group."""
    await _say(harness, GROUP, CREATOR, "/protect @gp_news")
    await _say(harness, GROUP2, CREATOR, "/protect @gp_news")
    harness.world.set_member(GROUP2, ADMIN, "member")
    await harness.feed(harness.world.promote_update(GROUP2, ADMIN, by_user_id=CREATOR))
    await harness.drain()
    engine = make_engine(db_url)
    try:
        before = load_scope(engine, ADMIN)
        assert sorted(before.group_ids) == sorted([GROUP, GROUP2])
        assert before.channel_ids == (CH_NEWS,)
        await harness.feed(harness.world.demote_update(GROUP, ADMIN, by_user_id=CREATOR))
        assert load_scope(engine, ADMIN).group_ids == (GROUP2,)
        await harness.feed(harness.world.demote_update(GROUP2, ADMIN, by_user_id=CREATOR))
        after = load_scope(engine, ADMIN)
        assert (after.group_ids, after.channel_ids) == ((), ())
        assert load_scope(engine, CREATOR).group_ids == tuple(sorted([GROUP, GROUP2]))
        assert CH_DEALS not in load_scope(engine, CREATOR).channel_ids  # never linked
    finally:
        engine.dispose()


async def test_a_group_telegram_will_not_list_waits_a_day_and_takes_no_other_turn(
    harness: Harness,
) -> None:
    await harness.protect(GROUP)
    await harness.protect(GROUP2)
    harness.world.kick_bot(GROUP)  # getChatAdministrators there now fails
    admins = harness.services.admins
    done = [await admins.refresh_stale(harness.bot, limit=1) for _ in range(2)]
    assert sorted(done) == [0, 1]
    # both were tried once: GROUP2 is read, GROUP is not asked again at every sweep
    assert await _admins(harness, GROUP2) == {CREATOR: "creator"}
    assert await admins.stale_groups() == []
    calls = sum(1 for name, p in harness.world.calls if name == "getChatAdministrators")
    assert calls == 2
    harness.clock.advance(REFRESH_AFTER.total_seconds() + 1)  # a day later: asked again
    assert sorted(await admins.stale_groups()) == sorted([GROUP, GROUP2])


async def test_a_change_the_database_missed_is_read_again_at_the_next_sweep(
    harness: Harness, monkeypatch: Any
) -> None:
    await harness.protect()
    admins = harness.services.admins
    await admins.refresh(harness.bot, GROUP)
    harness.world.set_member(GROUP, ALICE, "member")

    async def down(*args: Any) -> None:
        raise ConnectionError("database down")

    with monkeypatch.context() as patch:
        patch.setattr(admins, "set_status", down)
        await harness.feed(harness.world.promote_update(GROUP, ALICE, by_user_id=CREATOR))
    assert ALICE not in await _admins(harness) and admins.pending == {GROUP}
    assert await admins.refresh_stale(harness.bot) == 1
    assert (await _admins(harness))[ALICE] == "administrator" and admins.pending == set()
