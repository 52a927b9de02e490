"""The group settings that put a time on the gate's clutter, read from
``protected_groups.settings`` (malformed or unset: the default), and their durations as
``/settings`` writes them (``30m``, ``2h``, ``1d``, ``off``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.models import GroupSetting, TimeoutAction

#: ``prompt_ttl`` while unset: an unanswered prompt goes after 10 minutes.
PROMPT_TTL_DEFAULT_S = 600
#: Telegram deletes a message only within 48 h of sending it: a prompt's ttl stays below that.
PROMPT_TTL_MAX_S = 86_400
#: The longest ``timeout``.
TIMEOUT_MAX_S = 30 * 86_400
_UNITS = {"m": 60, "h": 3600, "d": 86_400}
_DURATION_RE = re.compile(r"^([1-9][0-9]{0,5})([mhd])$")


def parse_duration(word: str) -> int | None:
    """``30m``, ``2h``, ``1d`` as seconds, ``off`` as 0; ``None`` when it is none of these."""
    word = word.strip().lower()
    if word == "off":
        return 0
    match = _DURATION_RE.match(word)
    if match is None:
        return None
    return int(match.group(1)) * _UNITS[match.group(2)]


def show_duration(seconds: int) -> str:
    """Seconds as ``/settings`` takes them: ``off``, ``10m``, ``2h``, ``1d`` (the largest unit
    that divides them; other amounts as ``90s``)."""
    if seconds <= 0:
        return "off"
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def _seconds(settings: Mapping[str, Any] | None, key: GroupSetting, default: int) -> int:
    value = (settings or {}).get(key.value, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return default
    return value


def prompt_ttl_of(settings: Mapping[str, Any] | None) -> int:
    """Seconds an unanswered prompt stays (0: it stays)."""
    return _seconds(settings, GroupSetting.PROMPT_TTL, PROMPT_TTL_DEFAULT_S)


def timeout_of(settings: Mapping[str, Any] | None) -> int:
    """Seconds a newcomer may stay unverified before ``on_timeout`` (0: no limit)."""
    return _seconds(settings, GroupSetting.TIMEOUT, 0)


def on_timeout_of(settings: Mapping[str, Any] | None) -> TimeoutAction:
    """What happens to a newcomer at the timeout (default: they stay muted)."""
    value = (settings or {}).get(GroupSetting.ON_TIMEOUT.value)
    known = {a.value for a in TimeoutAction}
    return TimeoutAction(value) if value in known else TimeoutAction.MUTE


def cleans_service(settings: Mapping[str, Any] | None) -> bool:
    """Whether "X joined" / "X left" service messages are deleted."""
    return (settings or {}).get(GroupSetting.CLEAN_SERVICE.value) is True
