"""Ready-made fake worlds: ``empty`` and ``demo`` (used by ``gatepulse fake-telegram``)."""

from __future__ import annotations

from core.clock import Clock
from sandbox.fake_telegram.world import FakeWorld, FaultPlan

SCENARIOS = ("demo", "empty")

DEMO_GROUP_ID = -1001000000001
DEMO_CHANNEL_ID = -1002000000001  # public, the bot is an administrator
DEMO_PRIVATE_CHANNEL_ID = -1002000000002  # private (invite link), the bot is an administrator
DEMO_FOREIGN_CHANNEL_ID = -1002000000003  # public, the bot is not in it
DEMO_OWNER_ID = 100001
DEMO_ADMIN_ID = 100002


def build_world(
    scenario: str = "demo",
    *,
    seed: int = 0,
    fault_rate: float = 0.0,
    latency_s: float = 0.0,
    latency_spread: float = 0.0,
    clock: Clock | None = None,
    bot_id: int = 123456,
) -> FakeWorld:
    """A world for ``scenario``; raises ``ValueError`` naming the known ones."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    world = FakeWorld(
        bot_id=bot_id,
        seed=seed,
        faults=FaultPlan(rate=fault_rate, seed=seed),
        latency_s=latency_s,
        latency_spread=latency_spread,
        clock=clock,
    )
    if scenario == "demo":
        populate_demo(world)
    return world


def populate_demo(world: FakeWorld) -> None:
    """One protected group, three channels and ten users with mixed memberships."""
    world.add_user(DEMO_OWNER_ID, "Olga", username="olga_owner")
    world.add_user(DEMO_ADMIN_ID, "Arun", username="arun_admin")
    world.add_group(
        DEMO_GROUP_ID, "gatepulse demo group", creator_id=DEMO_OWNER_ID, admin_ids=[DEMO_ADMIN_ID]
    )
    world.add_channel(
        DEMO_CHANNEL_ID, "gatepulse news", username="gatepulse_news", subscribers=1200
    )
    world.add_channel(
        DEMO_PRIVATE_CHANNEL_ID,
        "gatepulse insiders",
        invite_link="https://t.me/+gatepulseInsiders1",
        subscribers=240,
    )
    world.add_channel(
        DEMO_FOREIGN_CHANNEL_ID,
        "someone else's channel",
        username="not_our_channel",
        bot_is_admin=False,
    )
    for n in range(10):
        user_id = 200001 + n
        world.add_user(user_id, f"Member{n}", username=f"member{n}")
        world.set_member(DEMO_GROUP_ID, user_id, "member")
        if n % 2 == 0:
            world.set_member(DEMO_CHANNEL_ID, user_id, "member")
        if n % 3 == 0:
            world.set_member(DEMO_PRIVATE_CHANNEL_ID, user_id, "member")
        if n == 9:
            world.set_member(DEMO_CHANNEL_ID, user_id, "restricted", is_member=True)
