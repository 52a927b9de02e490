"""A deterministic world for the simulator: groups, their linked channels, and people.

Everything is drawn from one ``random.Random(seed)``, so a seed gives the same world.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from sandbox.synth.vocabulary import FIRST_NAMES, GROUP_LANGUAGES, GROUP_NAMES

GROUP_ID_BASE = -1_001_500_000_000
CHANNEL_ID_BASE = -1_002_500_000_000
USER_ID_BASE = 5_000_000_000  # above 2**32: real Telegram ids are this large now


NEWCOMER_LANGUAGES: dict[str, tuple[tuple[str, float], ...]] = {
    "uk": (("uk", 0.6), ("ru", 0.15), ("en", 0.1), ("pl", 0.05), ("de", 0.05), ("es", 0.05)),
    "ru": (("ru", 0.6), ("uk", 0.15), ("en", 0.1), ("uz", 0.05), ("tr", 0.05), ("es", 0.05)),
    "es": (("es", 0.6), ("pt-br", 0.15), ("en", 0.15), ("it", 0.05), ("uk", 0.05)),
}
"""The ``language_code`` of newcomers to a group in each language: mostly its own, then its
neighbours' (a code without a catalog, such as ``pl``, too)."""
MIXED = (("en", 0.4), ("uk", 0.2), ("ru", 0.2), ("es", 0.1), ("ar", 0.05), ("de", 0.05))
"""Newcomers to an English group, or one that follows each newcomer's language."""


def newcomer_language(rng: random.Random, group_language: str) -> str:
    """A newcomer's Telegram ``language_code`` for a group in ``group_language``."""
    codes, weights = zip(*NEWCOMER_LANGUAGES.get(group_language, MIXED), strict=True)
    return str(rng.choices(codes, weights=weights)[0])


class Persona(StrEnum):
    """How a newcomer responds to the gate."""

    SUBSCRIBED = "subscribed"  # already in every linked channel
    COMPLIES = "complies"  # joins the channels after the prompt, then clicks "I joined"
    EAGER_CLICKER = "eager_clicker"  # clicks before joining (fails), joins, clicks again
    NEVER = "never"  # never subscribes
    SPAMMER = "spammer"  # arrives in the spam wave, never subscribes, tries to post


@dataclass
class SimChannel:
    chat_id: int
    title: str
    username: str | None
    invite_link: str | None
    subscribers: int


@dataclass
class SimGroup:
    chat_id: int
    title: str
    topic: str
    creator_id: int
    admin_ids: list[int]
    channel_ids: list[int]
    chattiness: float  # mean messages per day
    newcomers_per_day: float
    members: list[int] = field(default_factory=list)  # active, verified members
    legacy_unsubscribed: list[int] = field(default_factory=list)  # joined before the gate
    base_members: int = 0
    reactors: list[int] = field(default_factory=list)  # silent: they react, never write
    language: str = "en"  # the group's ``/settings language``: a code, or "auto"
    timeout: str | None = None  # ``/settings timeout`` (e.g. "2h"), None: off
    on_timeout: str | None = None  # ``/settings on_timeout`` mute|kick|ban, None: the default
    clean_service: bool = False  # ``/settings clean_service on``


@dataclass
class SimUser:
    user_id: int
    first_name: str
    username: str | None
    language_code: str
    activity: float  # relative posting weight


@dataclass
class Scenario:
    seed: int
    days: int
    groups: list[SimGroup]
    channels: dict[int, SimChannel]
    users: dict[int, SimUser]
    spam_day: int  # index of the day with the spam wave
    spam_group: int  # chat id of the group it hits
    next_user_id: int

    def new_user(self, rng: random.Random, *, bot_like: bool = False) -> SimUser:
        uid = self.next_user_id
        self.next_user_id += rng.randint(1, 97)
        if bot_like:
            name = rng.choice(["Free", "Crypto", "Promo", "Win", "Earn"]) + str(rng.randint(1, 999))
            user = SimUser(uid, name, f"promo{uid % 100000}", "en", 1.0)
        else:
            name = rng.choice(FIRST_NAMES)
            username = f"{name.lower()}{uid % 10000}" if rng.random() < 0.7 else None
            user = SimUser(uid, name, username, rng.choice(["uk", "ru", "en", "en"]),
                           rng.paretovariate(1.6))  # fmt: skip
        self.users[uid] = user
        return user


def build_scenario(*, seed: int, days: int, groups: int, scale: float) -> Scenario:
    """A world with ``groups`` groups sized so that ``scale=1`` gives a realistic month."""
    if groups < 1 or groups > len(GROUP_NAMES):
        raise ValueError(f"groups must be between 1 and {len(GROUP_NAMES)}, got {groups}")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    rng = random.Random(seed)
    scenario = Scenario(seed, days, [], {}, {}, spam_day=max(0, (2 * days) // 3),
                        spam_group=0, next_user_id=USER_ID_BASE)  # fmt: skip

    n_channels = max(1, round(groups * 0.75))
    for j in range(n_channels):
        title, topic = GROUP_NAMES[j % len(GROUP_NAMES)]
        public = rng.random() < 0.7
        cid = CHANNEL_ID_BASE - j
        scenario.channels[cid] = SimChannel(
            chat_id=cid,
            title=f"{title} News",
            username=f"{topic}_news_{j}" if public else None,
            invite_link=None if public else f"https://t.me/+sim{abs(cid) % 10**8:08d}",
            subscribers=int(rng.lognormvariate(7.5, 0.8)),
        )
    channel_ids = list(scenario.channels)

    for i in range(groups):
        title, topic = GROUP_NAMES[i]
        creator = scenario.new_user(rng)
        admins = [scenario.new_user(rng).user_id for _ in range(rng.randint(0, 2))]
        linked = rng.sample(channel_ids, k=min(len(channel_ids), rng.choice([1, 1, 2, 2, 3])))
        group = SimGroup(
            chat_id=GROUP_ID_BASE - i,
            title=title,
            topic=topic,
            creator_id=creator.user_id,
            admin_ids=admins,
            channel_ids=linked,
            chattiness=scale * rng.lognormvariate(5.6, 0.6),  # ~320 messages a day, skewed
            newcomers_per_day=scale * rng.lognormvariate(2.3, 0.5),  # ~10 a day
            language=GROUP_LANGUAGES.get(title, "en"),
        )
        n_members = max(5, int(scale * rng.lognormvariate(4.2, 0.5)))
        group.members = [scenario.new_user(rng).user_id for _ in range(n_members)]
        group.legacy_unsubscribed = [
            scenario.new_user(rng).user_id for _ in range(max(1, n_members // 12))
        ]
        group.base_members = n_members * rng.randint(4, 12)  # lurkers who never write
        scenario.groups.append(group)

    scenario.spam_group = max(scenario.groups, key=lambda g: g.chattiness).chat_id
    # Silent reactors come last, from a stream of their own: the world drawn above stays as
    # it was for a seed.
    reactors_rng = random.Random(seed * 31337 + 11)
    for group in scenario.groups:
        count = max(2, len(group.members) // 3)
        group.reactors = [scenario.new_user(reactors_rng).user_id for _ in range(count)]
    # The people of a group in a language speak it mostly (a stream of its own, as above)
    languages_rng = random.Random(seed * 7_654_321 + 13)
    for group in scenario.groups:
        if group.language in NEWCOMER_LANGUAGES:
            for uid in (group.creator_id, *group.admin_ids, *group.members,
                        *group.legacy_unsubscribed, *group.reactors):  # fmt: skip
                scenario.users[uid].language_code = newcomer_language(languages_rng, group.language)
    _shared_owner(scenario)
    _group_settings(scenario)
    return scenario


def _shared_owner(scenario: Scenario) -> None:
    """One owner runs two groups (the dashboard's owner view shows them both and nothing else):
    the first group's creator is an admin of the next group in its language too (of the second
    group when there is none). The last group is never chosen: a large world's last group is
    its basic group, protected only once it becomes a supergroup."""
    first, *others = scenario.groups
    candidates = others[:-1] if len(others) > 1 else others
    same = [g for g in candidates if g.language == first.language]
    second = same[0] if same else next(iter(candidates), None)
    if second is not None and first.creator_id not in second.admin_ids:
        second.admin_ids.append(first.creator_id)


def _group_settings(scenario: Scenario) -> None:
    """What the owners set with ``/settings`` besides the language: every third group removes
    newcomers still unverified after a while (``timeout`` with ``on_timeout kick``), one of
    them after two hours, the others after a day; the first group in a language other than
    English deletes the join and leave service messages (``clean_service on``)."""
    for index, group in enumerate(scenario.groups):
        if index % 3 == 1:
            group.timeout = "2h" if index == 1 else "1d"
            group.on_timeout = "kick"
    cleaner = next((g for g in scenario.groups if g.language not in ("en", "auto")), None)
    if cleaner is not None:
        cleaner.clean_service = True
