"""A linked channel that silently dropped the bot, found at check time, through the real aiogram
client against the fake Bot API (which answers getChatMember there as Telegram does: ``Bad
Request: member list is inaccessible`` for a public channel, ``Bad Request: chat not found`` for
a private one): recorded in ``bot_rights`` once per change, shown in /status, and the gate holds
newcomers (or, with ``/settings lost_channel open``, lets them write)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.gate.actions import JoinedCallback
from bot.gate.channel_access import ChannelAccess
from bot.storage.config import ConfigRepo
from tests.bot.conftest import BOB, CAROL, CH_DEALS, CH_NEWS, CREATOR, GROUP, Harness

NEWCOMER = 2901


async def _say(h: Harness, user: int, text: str) -> str:
    before = len(h.sent_to(GROUP))
    await h.feed(h.world.message_update(GROUP, user, text))
    return "\n".join(m.get("text", "") for m in h.sent_to(GROUP)[before:])


async def _lost_rows(h: Harness, channel: int) -> list[dict[str, object]]:
    return [r for r in await h.rows("bot_rights", chat_id=channel) if not r["is_admin"]]


@pytest.mark.parametrize(
    ("channel", "error"),
    [(CH_NEWS, "member list is inaccessible"), (CH_DEALS, "chat not found")],
    ids=["public", "private"],
)
async def test_a_lost_channel_is_recorded_once_and_newcomers_are_held(
    http_harness: Harness, channel: int, error: str
) -> None:
    h = http_harness
    await h.protect()
    h.world.set_bot_admin(channel, False)  # removed from the channel; no update tells the bot
    await h.feed(h.world.join_update(GROUP, BOB))  # subscribed to both channels
    assert h.muted(GROUP, BOB)  # held: nobody can be seen in the lost channel
    data = JoinedCallback(user_id=BOB).pack()
    (prompt,) = [m for m in h.sent_to(GROUP) if data in str(m.get("reply_markup"))]
    await h.feed(h.world.callback_update(GROUP, BOB, data, message_id=prompt["message_id"]))
    answer = h.world.answered_callbacks[-1]["text"]
    assert answer.startswith("I can't see who joined") and "admins were told" in answer
    assert h.muted(GROUP, BOB)
    calls = [c for c in await h.rows("api_call_log") if c["method"] == "getChatMember"]
    assert any(error in (c.get("error_message") or "").lower() for c in calls), calls
    await h.feed(h.world.join_update(GROUP, CAROL))
    assert h.muted(GROUP, CAROL)
    (row,) = await _lost_rows(h, channel)  # one row for one change, however many checks
    assert row["status"] == "left" and not row["can_invite_users"]
    status = await _say(h, CREATOR, "/status")
    assert "Channel rights: LOST in" in status and "newcomers are held" in status
    assert len(await _lost_rows(h, channel)) == 1  # /status found the same change
    # another process (a replica, a restart) finds it already recorded
    fresh = ChannelAccess(repo=h.services.repo, clock=h.services.clock)
    assert not await fresh.lost(channel)
    # the bot is added back (my_chat_member records it) and dropped again: a second change
    h.world.set_bot_admin(channel, True)
    await h.feed(h.world.change_bot_rights(channel, by_user_id=CREATOR))
    h.world.set_bot_admin(channel, False)
    h.world.add_user(NEWCOMER, "Newcomer")
    await h.feed(h.world.join_update(GROUP, NEWCOMER))
    assert h.muted(GROUP, NEWCOMER)
    assert len(await _lost_rows(h, channel)) == 2


async def test_with_lost_channel_open_people_write(http_harness: Harness) -> None:
    h = http_harness
    await h.protect()
    assert "open" in await _say(h, CREATOR, "/settings lost_channel open")
    h.world.set_bot_admin(CH_NEWS, False)
    await h.feed(h.world.join_update(GROUP, BOB))
    assert not h.muted(GROUP, BOB)  # the check is an error; the gate lets him write
    assert len(await _lost_rows(h, CH_NEWS)) == 1  # still recorded: the owner is told
    status = await _say(h, CREATOR, "/status")
    assert "LOST in" in status and "may write unchecked" in status


async def test_status_is_quiet_while_every_channel_is_readable(http_harness: Harness) -> None:
    h = http_harness
    await h.protect()
    assert "Channel rights" not in await _say(h, CREATOR, "/status")
    assert await _lost_rows(h, CH_NEWS) == [] and await _lost_rows(h, CH_DEALS) == []


class _DownSession(AsyncSession):
    """A session of a database that is down: it fails to open."""

    async def __aenter__(self) -> AsyncSession:
        raise OSError("the database is down")


def _down(repo: ConfigRepo) -> ConfigRepo:
    """The config repository on ``repo``'s engine with its database down."""
    return ConfigRepo(async_sessionmaker(bind=repo.engine, class_=_DownSession))


async def test_a_loss_met_while_the_database_is_down_is_recorded_once_it_is_back(
    http_harness: Harness,
) -> None:
    """Nothing is written blind (another replica may have recorded the loss already); the next
    check that meets the loss records it, once."""
    h = http_harness
    await h.protect()
    access = ChannelAccess(repo=h.services.repo, clock=h.services.clock)
    up = access.repo
    access.repo = _down(up)
    assert not await access.lost(CH_NEWS)
    await h.writer.flush()
    assert await _lost_rows(h, CH_NEWS) == []
    access.repo = up
    assert await access.lost(CH_NEWS)  # the next check records it
    assert not await access.lost(CH_NEWS)
    assert len(await _lost_rows(h, CH_NEWS)) == 1
    # and a replica that wrote it while this one could not: this one adds nothing
    other = ChannelAccess(repo=_down(up), clock=h.services.clock)
    assert not await other.lost(CH_NEWS)
    other.repo = up
    assert not await other.lost(CH_NEWS)
    assert len(await _lost_rows(h, CH_NEWS)) == 1
