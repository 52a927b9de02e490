"""``/alerts`` in a protected group: which alert kinds its administrators receive.

``/alerts`` lists the kinds and whether each is muted here; ``/alerts mute KIND|all`` and
``/alerts unmute KIND|all`` change that (administrators only, audited when something changes).
The muted kinds are the group setting ``alerts_muted`` (a list), read by the pipelines' alert
delivery; alerts are still recorded and shown on the dashboard.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiogram import Bot
from aiogram.filters import CommandObject
from aiogram.types import Message

from bot import texts
from bot.routers.commands import audit, authorized, command_args, reply
from bot.runtime.services import BotServices
from bot.texts import ENGLISH, N_, Texts
from core.models.kinds import AlertKind, GroupSetting, muted_alert_kinds

log = logging.getLogger(__name__)

MUTED_SETTING = GroupSetting.ALERTS_MUTED.value
KINDS = tuple(k.value for k in AlertKind)
DESCRIPTIONS = {
    AlertKind.RAID.value: N_("a raid: the gate locked the group down"),
    AlertKind.FAILURE_SPIKE.value: N_("far more failed checks than usual in an hour"),
    AlertKind.PERMISSION_LOST.value: N_("I lost a right the gate needs (here or in a channel)"),
    AlertKind.THROTTLED.value: N_("Telegram is slowing my messages down"),
    AlertKind.STALE_PIPELINE.value: N_("the analytics stopped refreshing"),
}


def _muted(settings: Mapping[str, Any] | None) -> list[str]:
    return sorted(muted_alert_kinds(settings))


def _listing(muted: list[str], t: Texts = ENGLISH) -> str:
    lines = [t(texts.ALERTS_HEADER)]
    for kind in KINDS:
        state = t(texts.MUTED) if kind in muted else t(texts.ON)
        lines.append(t(texts.ALERT_LINE, kind=kind, state=state, about=t(DESCRIPTIONS[kind])))
    lines.append(t(texts.USAGE_ALERTS))
    return "\n".join(lines)


async def cmd_alerts(
    message: Message, command: CommandObject, bot: Bot, services: BotServices, t: Texts = ENGLISH
) -> None:
    args = [a.lower() for a in command_args(command)]
    valid = not args or (
        len(args) == 2 and args[0] in ("mute", "unmute") and args[1] in (*KINDS, "all")
    )
    if not valid:
        await reply(message, t(texts.USAGE_ALERTS))
        return
    if not await authorized(message, bot, services, "alerts", t):
        return
    config = await services.repo.group_config(message.chat.id)
    if config is None:
        await reply(message, t(texts.NOT_PROTECTED_YET))
        return
    before = _muted(config.settings)
    if not args:
        await reply(message, _listing(before, t))
        return
    chosen = set(KINDS) if args[1] == "all" else {args[1]}
    after = sorted(set(before) | chosen) if args[0] == "mute" else sorted(set(before) - chosen)
    if after != before:
        try:
            previous = await services.repo.set_setting(
                message.chat.id, MUTED_SETTING, after, services.clock.now()
            )
        except Exception as exc:
            log.warning("/alerts: database error %s", type(exc).__name__)
            await reply(message, t(texts.DB_UNAVAILABLE))
            return
        if previous is None:
            await reply(message, t(texts.NOT_PROTECTED_YET))
            return
        audit(
            services,
            message,
            "alerts",
            resource=MUTED_SETTING,
            changes={MUTED_SETTING: {"from": before, "to": after}},
        )
    muted = ", ".join(after) or t(texts.NONE)
    await reply(message, t(texts.ALERTS_MUTED, kinds=muted))
