"""Benchmark: the same traffic through 1 bot process and through 3 sharing Redis.

Each run starts N real ``gatepulse bot`` processes in webhook mode (one PostgreSQL, one Redis,
the fake Bot API server in this process) and posts one stream of updates to them round-robin,
as a load balancer would, ``N`` at a time (each request returns when its update is handled):

* every joiner's join is reported twice, a ``chat_member`` update (with the invite link's
  name) and a ``new_chat_members`` message, one after the other in the stream and so to two
  different replicas (in alternating order), often handled at the same moment;
* every member (subscribed to both linked channels) writes ``--rounds`` messages, spread over
  the replicas.

Then every process is stopped (its log writer drains) and the fake's records and the
database are compared: ``getChatMember`` calls, and each join handled once (one check, one
``restrictChatMember``, one prompt, ``muted`` + ``prompted`` events, one join row with its
link's name). Last line ``replicas_calls_ratio: <3-process calls / 1-process calls>``;
target (DESIGN.md) <= 1.1.

    uv run python -m bench.replicas [--joiners 60] [--members 60] [--rounds 3]

:func:`replicas` and :func:`run_traffic` are what ``tests/e2e/test_replicas.py`` runs too.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench._common import stop_on_sigterm
from core.db import create_engine
from core.migrate import run_migrations
from core.models import (
    ApiCallLog,
    EnforcedChannel,
    GateEvent,
    GroupChannelLink,
    MemberEvent,
    Owner,
    ProtectedGroup,
    VerificationLog,
)
from core.models import (
    Message as MessageLog,
)
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramServer, FakeWorld
from sandbox.postgres import TempPostgres, free_port
from sandbox.redis import TempRedis

BOT_ID = int(DEFAULT_TOKEN.split(":", 1)[0])
GROUP = -1001000000900
CHANNELS = (-1002000000901, -1002000000902)
OWNER = 1900
JOINER0, MEMBER0 = 600_000, 700_000
SECRET = "replicas-webhook-secret_0123456789"
PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
START_TIMEOUT_S = 180.0


def make_world(joiners: int, members: int) -> FakeWorld:
    """A supergroup linking two channels; ``members`` subscribed to both, ``joiners`` to none."""
    world = FakeWorld(bot_id=BOT_ID)
    world.add_user(OWNER, "Owner", username="owner")
    world.add_group(GROUP, "Replicated group", creator_id=OWNER)
    for i, channel in enumerate(CHANNELS):
        world.add_channel(channel, f"News {i}", username=f"gp_replica_news{i}", creator_id=OWNER)
    for i in range(joiners):
        world.add_user(JOINER0 + i, f"Joiner {i}")
    for i in range(members):
        world.add_user(MEMBER0 + i, f"Member {i}")
        world.set_member(GROUP, MEMBER0 + i, "member")
        for channel in CHANNELS:
            world.set_member(channel, MEMBER0 + i, "member")
    return world


def plan(world: FakeWorld, joiners: int, members: int, rounds: int) -> list[dict[str, Any]]:
    """The stream of updates (building them changes the world, as the joins happen)."""
    stream: list[dict[str, Any]] = []
    joins = [JOINER0 + i for i in range(joiners)]
    talk = [MEMBER0 + i for r in range(rounds) for i in range(members)]
    while joins or talk:
        if joins:
            user = joins.pop(0)
            member = world.join_update(GROUP, user, invite_link_name=f"link-{user}")
            message = world.new_members_update(GROUP, [user])
            stream += [member, message] if user % 2 else [message, member]
        for _ in range(2):
            if talk:
                stream.append(world.message_update(GROUP, talk.pop(0), "hello"))
    return stream


async def protect(engine: AsyncEngine) -> None:
    """The group protected, linking both channels (straight into the database)."""
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(Owner).values(id=OWNER, username="owner", created_at=now, updated_at=now)
        )
        await conn.execute(
            sa.insert(ProtectedGroup).values(
                id=GROUP, title="Replicated group", owner_id=OWNER, enabled=True, settings={},
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
        for i, channel in enumerate(CHANNELS):
            await conn.execute(
                sa.insert(EnforcedChannel).values(
                    id=channel, username=f"gp_replica_news{i}", title=f"News {i}", created_at=now
                )
            )
            await conn.execute(
                sa.insert(GroupChannelLink).values(group_id=GROUP, channel_id=channel)
            )


@dataclass
class Replica:
    port: int
    proc: asyncio.subprocess.Process
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@contextlib.asynccontextmanager
async def replicas(
    n: int,
    *,
    db_url: str,
    redis_url: str,
    api_base: str,
    workdir: Path,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[list[Replica]]:
    """``n`` ``gatepulse bot`` processes in webhook mode (their own spool each), listening;
    stopped with SIGTERM on exit (each drains its log writer). ``env`` overrides their
    environment (e.g. ``BOT_WEBHOOK_URL`` for a balancer, ``GATE_RAID_JOINS``)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "GATE_", "LOG_"))}
    overrides = dict(env or {})
    started: list[Replica] = []
    try:
        for i in range(n):
            port = free_port()
            var = workdir / f"replica{i}"
            var.mkdir(parents=True, exist_ok=True)
            env = {
                **base,
                "DATABASE_URL": db_url,
                "REDIS_URL": redis_url,
                "GATEPULSE_VAR_DIR": str(var),
                "LOG_WRITER_SPOOL_DIR": str(var / "spool"),
                "LOG_WRITER_FLUSH_INTERVAL_S": "0.05",
                "BOT_TOKEN": DEFAULT_TOKEN,
                "BOT_API_BASE": api_base,
                "BOT_MODE": "webhook",
                "BOT_WEBHOOK_HOST": "127.0.0.1",
                "BOT_WEBHOOK_PORT": str(port),
                "BOT_WEBHOOK_PATH": PATH,
                "BOT_WEBHOOK_URL": "",  # the balancer (this process) posts to each replica
                "BOT_WEBHOOK_SECRET": SECRET,
                "BOT_REQUEST_TIMEOUT_S": "10",
                "GATE_RAID_JOINS": "100000",  # no raid lockdown: every joiner is prompted
                **overrides,
            }
            log = var / "bot.log"
            with log.open("wb") as out:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "cli", "bot", cwd=var, env=env, stdout=out, stderr=out
                )
            started.append(Replica(port, proc, log))
        deadline = time.monotonic() + START_TIMEOUT_S
        for replica in started:
            while not _listening(replica.port):
                if replica.proc.returncode is not None or time.monotonic() > deadline:
                    tail = replica.log.read_text(errors="replace")[-3000:]
                    code = replica.proc.returncode
                    raise RuntimeError(f"replica on {replica.port} did not start ({code}):\n{tail}")
                await asyncio.sleep(0.1)
        yield started
    finally:
        for replica in started:
            if replica.proc.returncode is None:
                replica.proc.send_signal(signal.SIGTERM)
        for replica in started:
            try:
                await asyncio.wait_for(replica.proc.wait(), timeout=30)
            except TimeoutError:
                replica.proc.kill()
                await replica.proc.wait()


async def post_round_robin(
    targets: list[Replica], stream: list[dict[str, Any]], *, at_once: int
) -> None:
    """Post the stream, update ``i`` to replica ``i % n``, ``at_once`` requests at a time."""
    async with aiohttp.ClientSession() as http:

        async def post(i: int, update: Mapping[str, Any]) -> None:
            target = targets[i % len(targets)]
            async with http.post(
                target.url, json=dict(update), headers={SECRET_HEADER: SECRET}
            ) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"replica {target.port} answered {resp.status}")

        for start in range(0, len(stream), at_once):
            batch = stream[start : start + at_once]
            await asyncio.gather(*(post(start + j, u) for j, u in enumerate(batch)))


@dataclass
class Outcome:
    """What one run did, from the fake's records and the database."""

    processes: int
    seconds: float
    getchatmember: int
    #: per joiner: (checks, restrictChatMember calls, prompts, gate events, join rows)
    per_joiner: dict[int, tuple[int, int, int, tuple[str, ...], tuple[str | None, ...]]]
    member_messages: int
    distinct_member_messages: int
    api_calls_logged: collections.Counter[str]
    api_calls_made: collections.Counter[str]
    exits: list[int | None] = field(default_factory=list)
    #: the replicas' WARNING and ERROR log lines
    warnings: list[str] = field(default_factory=list)

    @property
    def joins_once(self) -> int:
        """Joiners handled exactly once (one of everything, the link's name on the row)."""
        return sum(
            1
            for user, (checks, mutes, prompts, events, rows) in self.per_joiner.items()
            if (checks, mutes, prompts, events, rows) == (1, 1, 1, ("muted", "prompted"),
                                                          (f"link-{user}",))
        )  # fmt: skip


async def run_traffic(
    processes: int,
    *,
    db_url: str,
    redis_url: str,
    workdir: Path,
    joiners: int,
    members: int,
    rounds: int,
) -> Outcome:
    """One run on a fresh world (the database protected first, Redis emptied by the caller)."""
    engine = create_engine(url=db_url)
    try:
        await protect(engine)
        world = make_world(joiners, members)
        stream = plan(world, joiners, members, rounds)
        async with FakeTelegramServer(world) as server:
            async with replicas(
                processes,
                db_url=db_url,
                redis_url=redis_url,
                api_base=server.base_url,
                workdir=workdir,
            ) as bots:
                started = time.perf_counter()
                await post_round_robin(bots, stream, at_once=3)
                seconds = time.perf_counter() - started
            exits = [b.proc.returncode for b in bots]
            warnings = [
                line.split(" ", 2)[-1]
                for b in bots
                for line in b.log.read_text(errors="replace").splitlines()
                if " WARNING " in line or " ERROR " in line
            ]
            made = collections.Counter(name for name, _ in world.calls)
            calls = world.calls
            sent = list(world.sent_messages)
        return Outcome(
            processes=processes,
            seconds=seconds,
            getchatmember=sum(
                1
                for name, p in calls
                if name == "getChatMember" and str(p.get("chat_id")) in {str(c) for c in CHANNELS}
            ),
            per_joiner=await _per_joiner(engine, calls, sent, joiners),
            **await _messages(engine),
            api_calls_logged=await _api_calls(engine),
            api_calls_made=made,
            exits=exits,
            warnings=warnings,
        )
    finally:
        await engine.dispose()


async def _per_joiner(
    engine: AsyncEngine, calls: list[tuple[str, Any]], sent: list[dict[str, Any]], joiners: int
) -> dict[int, tuple[int, int, int, tuple[str, ...], tuple[str | None, ...]]]:
    users = [JOINER0 + i for i in range(joiners)]
    mutes = collections.Counter(
        str(p.get("user_id")) for name, p in calls if name == "restrictChatMember"
    )
    prompts = collections.Counter(
        u for m in sent if m["chat"]["id"] == GROUP for u in users
        if f'tg://user?id={u}"' in (m.get("text") or "")
    )  # fmt: skip
    async with engine.connect() as conn:
        checks = collections.Counter(
            r.user_id
            for r in await conn.execute(
                sa.select(VerificationLog.user_id).where(VerificationLog.trigger == "join")
            )
        )
        events: dict[int, list[str]] = collections.defaultdict(list)
        for r in await conn.execute(
            sa.select(GateEvent.user_id, GateEvent.event).order_by(GateEvent.id)
        ):
            events[r.user_id].append(r.event)
        rows: dict[int, list[str | None]] = collections.defaultdict(list)
        for r in await conn.execute(
            sa.select(MemberEvent.user_id, MemberEvent.invite_link_name).where(
                MemberEvent.event == "join", MemberEvent.chat_id == GROUP
            )
        ):
            rows[r.user_id].append(r.invite_link_name)
    return {
        u: (checks[u], mutes[str(u)], prompts[u], tuple(events[u]), tuple(rows[u])) for u in users
    }


async def _messages(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        query = sa.select(
            sa.func.count(), sa.func.count(sa.distinct(MessageLog.telegram_message_id))
        ).where(MessageLog.is_bot_message.is_(False))
        total, distinct = (await conn.execute(query)).one()
    return {"member_messages": int(total), "distinct_member_messages": int(distinct)}


async def _api_calls(engine: AsyncEngine) -> collections.Counter[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(ApiCallLog.method))
        return collections.Counter(r.method for r in rows)


def _report(outcome: Outcome, joiners: int) -> None:
    for user, got in outcome.per_joiner.items():
        if got != (1, 1, 1, ("muted", "prompted"), (f"link-{user}",)):
            print(f"  joiner {user}: checks, mutes, prompts, events, join rows = {got}")
    for line in outcome.warnings[:10]:
        print(f"  log: {line[:160]}")
    print(
        f"{outcome.processes} process(es): {outcome.seconds:.1f} s, getChatMember "
        f"{outcome.getchatmember}, joins handled once {outcome.joins_once}/{joiners}, "
        f"member messages logged {outcome.member_messages} "
        f"({outcome.distinct_member_messages} distinct)",
        flush=True,
    )


async def _bench(args: argparse.Namespace) -> float:
    with TempPostgres() as pg, TempRedis() as rd, tempfile.TemporaryDirectory() as tmp:
        outcomes = []
        for processes in (1, 3):
            database = f"replicas_{processes}"
            engine = create_engine(url=pg.url())
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
            await engine.dispose()
            url = pg.url(database)
            await asyncio.to_thread(run_migrations, url)
            with redis.Redis(port=rd.port) as client:
                client.flushall()
            outcome = await run_traffic(
                processes,
                db_url=url,
                redis_url=rd.url(),
                workdir=Path(tmp) / str(processes),
                joiners=args.joiners,
                members=args.members,
                rounds=args.rounds,
            )
            _report(outcome, args.joiners)
            outcomes.append(outcome)
    one, three = outcomes
    ratio = three.getchatmember / one.getchatmember
    print(f"getChatMember: 1 process {one.getchatmember}, 3 processes {three.getchatmember}")
    print(f"joins processed once: {three.joins_once}/{args.joiners} (3 processes)")
    print(f"replicas_calls_ratio: {ratio:.3f}")
    return ratio


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] + " Runtime here: about 5 minutes at the defaults."
    )
    parser.add_argument("--joiners", type=int, default=60)
    parser.add_argument("--members", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    stop_on_sigterm()
    if min(args.joiners, args.members, args.rounds) < 1:
        parser.error("--joiners, --members and --rounds must be at least 1")
    asyncio.run(_bench(args))


if __name__ == "__main__":
    main()
