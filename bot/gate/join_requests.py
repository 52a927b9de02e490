"""Join requests to a gated group: approve subscribers, ask the others in private, decline late.

With the gate on in a protected group, a ``chat_join_request`` is answered by the bot
(:meth:`JoinRequests.handle`): the requester is checked against the group's linked channels at
once; a subscriber is approved (``approveChatJoinRequest``), anyone else gets a private message
(to ``user_chat_id``, which Telegram allows for 5 minutes after the request) with the join
buttons and an "I joined" button (:class:`RequestCallback`). Pressing it re-checks bypassing the
cache and approves on success (:meth:`JoinRequests.pressed`). A request still pending after
``GATE_JOIN_REQUEST_TIMEOUT_S`` is declined (:meth:`JoinRequests.sweep`), lazily on the next
update (:class:`SweepMiddleware`) and by the runtime's periodic task (:meth:`JoinRequests.run`).
Every step is a ``gate_events`` row: ``join_request``, ``clicked``, ``approved``, ``expired``,
``declined``.

Pending requests are kept in memory, per process, on the injected clock (a ManualClock drives
them in tests); after a restart a request nobody tracks stays pending for the admins, and its
"I joined" button still works (the press does not need the request to be tracked). With Redis
(``REDIS_URL``) they are kept there instead, for every replica (:mod:`bot.storage.shared.requests`):
the press on any replica takes the request, and one replica's sweep declines it when it is
due; a request that arrives while Redis is unreachable stays in its replica's memory.
"""

from __future__ import annotations

import contextlib
import html
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, ChatJoinRequest, TelegramObject

from bot import texts
from bot.gate.actions import GateActions, prompt_keyboard
from bot.gate.calls import classify, quietly
from bot.gate.language import group_language, private_language
from bot.storage.config import ChannelInfo, GroupConfig
from bot.storage.shared.client import RedisDown, SharedRedis
from bot.storage.shared.requests import SharedRequests
from bot.texts import ENGLISH, Texts
from core.clock import Clock
from core.models import GateEventType, VerificationTrigger

log = logging.getLogger(__name__)

#: How often the runtime's periodic task declines the requests past their deadline.
SWEEP_INTERVAL_S = 15.0

Configs = Callable[[int], Awaitable[GroupConfig | None]]
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class RequestCallback(CallbackData, prefix="gpr"):
    """The "I joined" button under a join request's private message (pressed by the
    requester, in private: the group is in the data)."""

    group_id: int


@dataclass(slots=True)
class Pending:
    """A join request the bot is waiting on."""

    deadline: float
    """``clock.monotonic()`` at which it is declined."""
    title: str | None
    message_id: int | None
    """The private message with the buttons (``None``: it could not be sent)."""
    user_chat_id: int


class JoinRequests:
    """Pending join requests per (group, user), oldest first, and what the bot does with them."""

    def __init__(
        self,
        actions: GateActions,
        configs: Configs,
        clock: Clock,
        *,
        timeout_s: float,
        shared: SharedRedis | None = None,
    ) -> None:
        """``actions``: the gate's actions (events), and through them its checker.
        ``configs(group_id)``: the group's gate config, ``None`` when unprotected.
        ``shared``: Redis, where every replica keeps the pending requests."""
        self.actions = actions
        self.checker = actions.checker
        self.configs = configs
        self.clock = clock
        self.timeout_s = timeout_s
        self.shared = SharedRequests(shared, clock) if shared is not None else None
        #: (group, user) -> the pending request; deadlines grow in insertion order
        self._pending: dict[tuple[int, int], Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def pending(self, group_id: int, user_id: int) -> Pending | None:
        return self._pending.get((group_id, user_id))

    def due(self) -> bool:
        """Whether a request has reached its deadline (cheap: looks at the oldest only)."""
        oldest = next(iter(self._pending.values()), None)
        return oldest is not None and oldest.deadline <= self.clock.monotonic()

    # ------------------------------------------------------------------ a request arrives
    async def handle(self, bot: Bot, config: GroupConfig, request: ChatJoinRequest) -> None:
        """A join request to ``config``'s group (its gate on): approve, decline or ask."""
        group_id, user = config.group_id, request.from_user
        await self._forget(group_id, user.id)  # a repeat starts over
        actions, checker = self.actions, self.checker
        detail: dict[str, Any] = {}
        link = request.invite_link
        if link is not None and link.name:
            detail["invite_link_name"] = link.name[:256]
        if user.id in config.blocklist:
            actions.event(group_id, user.id, GateEventType.JOIN_REQUEST, {**detail, "missing": []})
            if await self._decline(bot, group_id, user.id):
                actions.event(group_id, user.id, GateEventType.DECLINED, {"reason": "blocked"})
            return
        if await checker.bypasses(bot, config, user):
            actions.event(group_id, user.id, GateEventType.JOIN_REQUEST, {**detail, "missing": []})
            await self._approve(bot, group_id, user.id, {"trigger": "join_request", "bypass": True})
            return
        result = await checker.check(
            user.id, group_id, VerificationTrigger.JOIN, bot=bot, config=config
        )
        if result.passed:
            actions.event(group_id, user.id, GateEventType.JOIN_REQUEST, {**detail, "missing": []})
            await self._approve(bot, group_id, user.id, {"trigger": "join_request"})
            return
        missing = result.missing if result.failed else config.channels
        detail["missing"] = [c.id for c in missing]
        if not result.failed:  # the check itself failed: ask for every channel
            detail["check_error"] = result.error_type.value if result.error_type else None
        message_id: int | None = None
        # a private chat: the requester's own language, else the group's
        lang = private_language(user.language_code, group_language(config.settings))
        detail["lang"] = lang
        try:
            sent = await bot.send_message(
                request.user_chat_id,
                request_text(config.title, missing, self.timeout_s, Texts(lang)),
                reply_markup=prompt_keyboard(
                    user.id, missing, RequestCallback(group_id=group_id).pack(), t=Texts(lang)
                ),
                parse_mode="HTML",
            )
        except Exception as exc:  # 403 (blocked), a closed 5-minute window, network faults
            detail["message_error"] = classify(exc).value
            log.info("join request of %s to %s: no private message", user.id, group_id)
        else:
            message_id = detail["message_id"] = sent.message_id
        actions.event(group_id, user.id, GateEventType.JOIN_REQUEST, detail)
        await self._keep(
            group_id,
            user.id,
            Pending(
                self.clock.monotonic() + self.timeout_s,
                config.title,
                message_id,
                request.user_chat_id,
            ),
        )

    # ------------------------------------------------------------------ "I joined"
    async def pressed(
        self, bot: Bot, config: GroupConfig | None, query: CallbackQuery, group_id: int
    ) -> None:
        """The requester pressed "I joined": re-check (no cache), approve or say what is
        missing. Every press is a ``clicked`` event, as in a group (its detail says
        ``"via": "join_request"``), written before the approval it may lead to."""
        user_id = query.from_user.id
        fallback = group_language(config.settings) if config is not None else None
        t = Texts(private_language(query.from_user.language_code, fallback))

        def clicked(result: str, **detail: Any) -> None:
            detail = {"result": result, **detail, "via": "join_request"}
            self.actions.event(group_id, user_id, GateEventType.CLICKED, detail)

        if config is None or not config.active:  # unprotected or switched off meanwhile
            clicked("not_protected")
            await self._forget(group_id, user_id)  # the admins' to answer now
            await _answer(query, t(texts.CALLBACK_NOT_PROTECTED), alert=True)
            return
        result = await self.checker.check(
            user_id,
            group_id,
            VerificationTrigger.CALLBACK,
            bypass_cache=True,
            bot=bot,
            config=config,
        )
        if result.failed:
            clicked("failed", missing=[c.id for c in result.missing])
            missing = ", ".join(c.label for c in result.missing)
            await _answer(query, t(texts.CALLBACK_MISSING, channels=missing)[:200], alert=True)
            return
        if not result.passed:
            clicked("error", error_type=result.error_type.value if result.error_type else None)
            await _answer(query, t(texts.CALLBACK_ERROR), alert=True)
            return
        clicked("passed")
        pending = await self._forget(group_id, user_id)
        approved = await self._approve(bot, group_id, user_id, {"trigger": "callback"})
        if approved is None:  # a fault: keep waiting, the button may be pressed again
            if pending is not None:
                await self._keep(group_id, user_id, pending)
            await _answer(query, t(texts.CALLBACK_ERROR), alert=True)
            return
        if not approved:  # declined, expired or answered by an admin meanwhile
            await _answer(query, t(texts.REQUEST_GONE), alert=True)
            return
        await _answer(query, t(texts.CALLBACK_OK))
        if query.message is not None:
            text = t(texts.REQUEST_APPROVED, group=_group(config.title, t))
            await quietly(
                bot.edit_message_text(
                    text,
                    chat_id=query.message.chat.id,
                    message_id=query.message.message_id,
                    parse_mode="HTML",
                ),
                "editMessageText",
            )

    # ------------------------------------------------------------------ expiry
    async def sweep(self, bot: Bot) -> int:
        """Decline every request past its deadline (``expired`` then ``declined`` events) in
        a group still gated; returns how many were declined. Safe to run concurrently: each
        request is taken out before anything is awaited."""
        now = self.clock.monotonic()
        due: list[tuple[tuple[int, int], Pending]] = []
        for key, pending in self._pending.items():
            if pending.deadline > now:
                break
            due.append((key, pending))
        for key, _ in due:
            del self._pending[key]
        if self.shared is not None:
            with contextlib.suppress(RedisDown):  # they wait in Redis for the next sweep
                for group_id, user_id, title, message_id, chat in await self.shared.due():
                    due.append(((group_id, user_id), Pending(now, title, message_id, chat)))
        declined = 0
        for (group_id, user_id), pending in due:
            config = await self.configs(group_id)
            if config is None or not config.active:
                continue  # the gate went off meanwhile: the admins' to answer
            ok = await self._decline(bot, group_id, user_id)
            expired: dict[str, Any] = {"timeout_s": self.timeout_s}
            if not ok:
                expired["declined"] = False
            self.actions.event(group_id, user_id, GateEventType.EXPIRED, expired)
            if not ok:
                continue
            declined += 1
            self.actions.event(group_id, user_id, GateEventType.DECLINED, {"reason": "expired"})
            if pending.message_id is not None:
                t = Texts(group_language(config.settings))  # the group's: the request's is not kept
                text = t(texts.REQUEST_EXPIRED, group=_group(pending.title, t))
                await quietly(
                    bot.edit_message_text(
                        text,
                        chat_id=pending.user_chat_id,
                        message_id=pending.message_id,
                        parse_mode="HTML",
                    ),
                    "editMessageText",
                )
        return declined

    # ------------------------------------------------------------------ pending
    async def _keep(self, group_id: int, user_id: int, pending: Pending) -> None:
        """Wait on a request: in Redis for every replica, else in this process."""
        if self.shared is not None:
            try:
                await self.shared.put(
                    group_id,
                    user_id,
                    timeout_s=max(0.0, pending.deadline - self.clock.monotonic()),
                    title=pending.title,
                    message_id=pending.message_id,
                    user_chat_id=pending.user_chat_id,
                )
            except RedisDown:
                pass
            else:
                return
        self._pending[(group_id, user_id)] = pending

    async def _forget(self, group_id: int, user_id: int) -> Pending | None:
        """Stop waiting on a request (wherever it is kept); it, when it was pending."""
        pending = self._pending.pop((group_id, user_id), None)
        if self.shared is not None:
            with contextlib.suppress(RedisDown):
                kept = await self.shared.take(group_id, user_id)
                if kept is not None and pending is None:  # a full wait again, if kept again
                    pending = Pending(self.clock.monotonic() + self.timeout_s, *kept)
        return pending

    # ------------------------------------------------------------------ Bot API
    async def _approve(
        self, bot: Bot, group_id: int, user_id: int, detail: dict[str, Any]
    ) -> bool | None:
        """approveChatJoinRequest and its ``approved`` event; ``False`` when Telegram has no
        such request (any more), ``None`` on another fault."""
        try:
            await bot.approve_chat_join_request(group_id, user_id)
        except TelegramBadRequest as exc:
            log.info("approving %s in %s: %s", user_id, group_id, exc.message)
            return False
        except Exception as exc:
            log.info("approving %s in %s failed: %s", user_id, group_id, classify(exc).value)
            return None
        self.actions.event(group_id, user_id, GateEventType.APPROVED, detail)
        return True

    async def _decline(self, bot: Bot, group_id: int, user_id: int) -> bool:
        ok = await quietly(
            bot.decline_chat_join_request(group_id, user_id), "declineChatJoinRequest"
        )
        return bool(ok)


class SweepMiddleware(BaseMiddleware):
    """An update outer middleware: declines the requests past their deadline before the
    update is handled (one look at the oldest request when none is due)."""

    def __init__(self, requests: JoinRequests) -> None:
        self.requests = requests
        self._running = False

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if self.requests.due() and not self._running:
            self._running = True
            try:
                await self.requests.sweep(data["bot"])
            except Exception as exc:
                log.warning("join request sweep failed: %s", type(exc).__name__)
            finally:
                self._running = False
        return await handler(event, data)


def request_text(
    title: str | None, missing: Sequence[ChannelInfo], timeout_s: float, t: Texts = ENGLISH
) -> str:
    channels = ", ".join(html.escape(c.label) for c in missing) or t(texts.LINKED_CHANNELS)
    minutes = max(1, math.ceil(timeout_s / 60))
    return t.n(
        texts.REQUEST_PROMPT, minutes, minutes=minutes, group=_group(title, t), channels=channels
    )


def _group(title: str | None, t: Texts) -> str:
    return f"<b>{html.escape(title)}</b>" if title else t(texts.THE_GROUP)


async def _answer(query: CallbackQuery, text: str | None = None, alert: bool = False) -> None:
    await quietly(query.answer(text=text, show_alert=alert), "answerCallbackQuery")
