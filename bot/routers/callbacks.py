"""The "I joined" button: re-check bypassing the cache, then unmute or say what is missing.

The button lifts only a mute the gate itself placed and that is still active (an active
``user_restrictions`` row, :meth:`bot.storage.gate_state.StateWriter.gate_mute_active`): never a
restriction an admin placed, and nothing at all in a group that is no longer protected. With no
row at all yet (the mute is still queued in another replica's state writer, e.g. while the
database was down), a prompt addressed to the presser proves it: the gate sent it. A group-wide
button (a raid's notice or combined prompt, ``user_id`` :data:`bot.gate.checker.EVERYONE`) checks
whoever presses it, and stays for the others when one of them passes.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.types import CallbackQuery

from bot import texts
from bot.gate.actions import EVERYONE, JoinedCallback
from bot.gate.calls import quietly
from bot.gate.language import private_language, prompt_languages
from bot.runtime.services import BotServices
from bot.texts import Texts
from core.models import GateEventType, VerificationTrigger

log = logging.getLogger(__name__)


async def _answer(query: CallbackQuery, text: str | None = None, alert: bool = False) -> None:
    await quietly(query.answer(text=text, show_alert=alert), "answerCallbackQuery")


async def on_joined(
    query: CallbackQuery, callback_data: JoinedCallback, bot: Bot, services: BotServices
) -> None:
    message = query.message
    own = private_language(query.from_user.language_code)
    if message is None:
        await _answer(query, Texts(own)(texts.CALLBACK_EXPIRED))
        return
    if callback_data.user_id not in (EVERYONE, query.from_user.id):
        await _answer(query, Texts(own)(texts.CALLBACK_NOT_YOURS))
        return
    group_id, user = message.chat.id, query.from_user
    checker, actions = services.checker, services.actions

    def clicked(result: str, **detail: Any) -> None:
        actions.event(group_id, user.id, GateEventType.CLICKED, {"result": result, **detail})

    config = await services.repo.group_config(group_id)
    if config is None or not config.active:  # unprotected or switched off meanwhile
        clicked("not_protected")
        await _answer(query, Texts(own)(texts.CALLBACK_NOT_PROTECTED), alert=True)
        return
    # the answers speak the language of the clicker's prompt
    t = Texts(prompt_languages(config.settings, user.language_code)[0])
    try:
        ours = await services.state.gate_mute_active(user.id, group_id)
    except Exception as exc:
        log.warning("mute state of %s in %s unreadable: %s", user.id, group_id, type(exc).__name__)
        clicked("error", error_type="DatabaseError")
        await _answer(query, t(texts.CALLBACK_ERROR), alert=True)
        if services.updates.redelivered:
            # webhook mode: the update fails, Telegram delivers the press again, and it is
            # checked once the database answers (the rehearsal saw presses lost this way)
            raise
        return
    if ours is None:  # no record yet: a prompt addressed to this user proves the gate's mute
        ours = callback_data.user_id == user.id
    if not ours:  # an admin's restriction, or a mute already lifted: not ours to touch
        clicked("no_gate_mute")
        await _answer(query, t(texts.CALLBACK_NO_GATE_MUTE), alert=True)
        return
    result = await checker.check(
        user.id, group_id, VerificationTrigger.CALLBACK, bypass_cache=True, bot=bot, config=config
    )
    if result.passed:
        clicked("passed")
        actions.event(group_id, user.id, GateEventType.PASSED)
        await actions.release(bot, group_id, user.id, detail={"trigger": "callback"})
        if callback_data.user_id != EVERYONE:  # a group-wide button stays for the others
            await quietly(bot.delete_message(group_id, message.message_id), "deleteMessage")
        await _answer(query, t(texts.CALLBACK_OK))
    elif result.failed:
        clicked("failed", missing=[c.id for c in result.missing])
        if result.lost:  # held: a channel the bot lost cannot be checked (bot.gate.channel_access)
            lost = ", ".join(c.label for c in result.lost)
            await _answer(query, t(texts.CALLBACK_LOST, channels=lost)[:200], alert=True)
            return
        missing = ", ".join(c.label for c in result.missing)
        await _answer(query, t(texts.CALLBACK_MISSING, channels=missing)[:200], alert=True)
    else:
        error_type = result.error_type.value if result.error_type is not None else None
        clicked("error", error_type=error_type)
        await _answer(query, t(texts.CALLBACK_ERROR), alert=True)


async def on_other_callback(query: CallbackQuery) -> None:
    """Buttons we do not know (old or forged): stop the client's spinner, nothing else."""
    await _answer(query)


def create_router() -> Router:
    """A fresh router with this module's handlers (one per Dispatcher)."""
    router = Router(name=__name__)
    router.callback_query.register(on_joined, JoinedCallback.filter())
    router.callback_query.register(on_other_callback)
    return router
