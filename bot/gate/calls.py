"""Bot API calls the gate makes without letting a Telegram fault escape.

:func:`quietly` awaits a call and turns a Telegram or network fault into one log line and
``None``; :func:`classify` names the fault (``error_type``) with the client's one mapping of
aiogram errors (:func:`bot.runtime.client.classify_error`), anything else being a Telegram error.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.runtime.client import classify_error
from core.models import ErrorType

log = logging.getLogger(__name__)


def classify(exc: BaseException) -> ErrorType:
    """The ``error_type`` of a failed call; an exception the client does not know is a
    Telegram error."""
    kind = classify_error(exc)
    return kind if kind is not None else ErrorType.TELEGRAM_ERROR


async def quietly(call: Any, what: str) -> Any:
    """Await a Bot API call; on a Telegram or network fault log it and return ``None``."""
    try:
        return await call
    except Exception as exc:  # Telegram faults, timeouts, odd replies: never crash the gate
        log.info("%s failed: %s", what, classify(exc).value)
        return None
