"""Three webhook bot processes sharing one PostgreSQL and one Redis, as production scales out.

Real ``gatepulse bot`` subprocesses in webhook mode, the fake Bot API server in this process,
and one stream of updates posted to them round-robin, three at a time (a load balancer), each
join reported twice (``chat_member`` and ``new_chat_members``) to two different replicas
(:mod:`bench.replicas` builds and posts the traffic). Every join must be handled once (one
check, one mute, one prompt, ``muted`` + ``prompted``, one join row with its invite link's
name), every log row must land once, and the membership cache must be shared: Telegram sees
exactly the ``getChatMember`` calls one process would make (two channels per user, once).

PostgreSQL pass only (``postgres``): the replicas share a real server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.replicas import run_traffic

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

JOINERS, MEMBERS, ROUNDS = 8, 6, 2


async def test_three_replicas_handle_each_join_once_and_share_the_cache(
    db_url: str, redis_url: str, tmp_path: Path
) -> None:
    outcome = await run_traffic(
        3,
        db_url=db_url,
        redis_url=redis_url,
        workdir=tmp_path,
        joiners=JOINERS,
        members=MEMBERS,
        rounds=ROUNDS,
    )
    assert outcome.exits == [0, 0, 0]
    assert {user: o for user, o in outcome.per_joiner.items() if o != _once(user)} == {}
    assert outcome.joins_once == JOINERS
    # one process asks once per (user, channel): 2 channels, each joiner and member once
    assert outcome.getchatmember == 2 * (JOINERS + MEMBERS)
    assert (outcome.member_messages, outcome.distinct_member_messages) == (
        MEMBERS * ROUNDS + JOINERS,  # the members' messages and the new_chat_members ones
        MEMBERS * ROUNDS + JOINERS,
    )
    assert outcome.api_calls_logged == outcome.api_calls_made  # every call logged once


def _once(user: int) -> tuple[int, int, int, tuple[str, ...], tuple[str | None, ...]]:
    return (1, 1, 1, ("muted", "prompted"), (f"link-{user}",))
