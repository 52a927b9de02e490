"""``analytics_bot_rights_daily`` on hand-made frames: the state carried over days, the seconds
lacking, groups against channels."""

from __future__ import annotations

import polars as pl

from pipelines import schemas
from pipelines.transforms import rights
from tests.pipelines.test_gate_transforms import D0, D3, days
from tests.pipelines.test_transforms import D1, D2, at, raw_frame

bot_rights = raw_frame(
    "bot_rights",
    (
        "id",
        "chat_id",
        "status",
        "is_admin",
        "can_restrict_members",
        "can_delete_messages",
        "can_invite_users",
    ),
)
ADMIN = ("administrator", True, True, True, True)
MEMBER = ("member", False, False, False, False)
ADMIN_NO_DELETE = ("administrator", True, True, False, True)
ADMIN_NOTHING = ("administrator", True, False, False, False)

GROUPS = pl.DataFrame({"id": [-1, -2, -3]}, schema={"id": pl.Int64})
CHANNELS = pl.DataFrame({"id": [-100, -101, -1]}, schema={"id": pl.Int64})  # -1: a group first

HISTORY = bot_rights(  # the last row per chat before D1, as RIGHTS_BEFORE reads it
    [
        (1, -1, *ADMIN, at(D0, 10)),
        (2, -100, *MEMBER, at(D0, 10)),  # a channel where the bot was never admin
        (3, -101, *ADMIN_NOTHING, at(D0, 10)),  # admin is all a channel needs
        (4, -2, *ADMIN_NO_DELETE, at(D0, 10)),  # a group needs delete too
        (5, -200, *MEMBER, at(D0, 10)),  # neither group nor channel: never lacking
    ]
)
WINDOW = bot_rights(
    [
        (10, -1, *MEMBER, at(D1, 18)),  # lost at 18:00 ...
        (11, -1, *ADMIN, at(D2, 6)),  # ... given back at 06:00 the next day
        (21, -3, *ADMIN, at(D2, 12)),  # first known at noon: unknown (not lacking) before
        (20, -3, *MEMBER, at(D2, 12)),  # the same instant: the later id (21) is the state
        (22, -3, "member", False, False, False, True, at(D3, 23, 59, 59, 999999)),
    ]
)
DAY = 86_400.0


def test_lost_and_regained_carried_and_kinds() -> None:
    out = rights.bot_rights_daily(WINDOW, HISTORY, GROUPS, CHANNELS, days(D1, D2, D3))
    schemas.BotRightsDaily.validate(out)
    rows = {(r[0], r[1]): (r[2], r[3], *r[4:8], r[8], r[9]) for r in out.rows()}
    assert set(rows) == {(d, c) for d in (D1, D2, D3) for c in (-1, -2, -100, -101, -200)} | {
        (D2, -3),
        (D3, -3),
    }
    assert [rows[d, -1] for d in (D1, D2, D3)] == [
        ("group", *MEMBER, 1, 21_600.0),  # 18:00-24:00
        ("group", *ADMIN, 1, 21_600.0),  # 00:00-06:00
        ("group", *ADMIN, 0, 0.0),  # no change: the state carries
    ]
    for d in (D1, D2, D3):
        assert rows[d, -100] == ("channel", *MEMBER, 0, DAY)
        assert rows[d, -101] == ("channel", *ADMIN_NOTHING, 0, 0.0)
        assert rows[d, -2] == ("group", *ADMIN_NO_DELETE, 0, DAY)
        assert rows[d, -200] == ("other", *MEMBER, 0, 0.0)
    assert rows[D2, -3] == ("group", *ADMIN, 2, 0.0)
    # admin from D2 12:00 until the last microsecond of D3
    assert rows[D3, -3] == ("group", "member", False, False, False, True, 1, 1e-6)


def test_one_day_window_and_nothing() -> None:
    out = rights.bot_rights_daily(WINDOW.clear(), HISTORY, GROUPS, CHANNELS, days(D3))
    assert out.filter(pl.col("chat_id") == -1).rows() == [
        (D3, -1, "group", *ADMIN, 0, 0.0)  # history alone gives the state
    ]
    empty = rights.bot_rights_daily(WINDOW.clear(), HISTORY.clear(), GROUPS, CHANNELS, days(D1))
    assert empty.height == 0
    schemas.BotRightsDaily.validate(empty)
    assert rights.bot_rights_daily(WINDOW, HISTORY, GROUPS, CHANNELS, days()).height == 0


def test_output_model_refuses_lacking_outside_the_gate() -> None:
    out = rights.bot_rights_daily(WINDOW, HISTORY, GROUPS, CHANNELS, days(D1))
    bad = out.with_columns(lacking_s=pl.lit(60.0))  # 'other' chats never lack
    assert not schemas.split_valid(bad, schemas.BotRightsDaily).ok
    assert schemas.split_valid(out, schemas.BotRightsDaily).ok
