"""The words of the synthetic world: group titles and topics, people's first names, what each
topic talks about, and invite-link names. The generator (:mod:`sandbox.synth`) and the traffic
simulator (:mod:`sandbox.simulator`) draw their names and texts from here."""

from __future__ import annotations

GROUP_NAMES: list[tuple[str, str]] = [
    ("Kyiv Python", "python"), ("Rust Learners", "rust"), ("Crypto Signals", "crypto"),
    ("Book Club", "books"), ("Runners of Lviv", "sport"), ("Remote Jobs EU", "jobs"),
    ("Home Bakers", "food"), ("Indie Games", "games"), ("Data Science RU", "data"),
    ("Photo Walks", "photo"), ("Startup Founders", "startup"), ("Language Exchange", "lang"),
    ("DevOps Chat", "devops"), ("Plant Parents", "plants"), ("Film Nerds", "film"),
    ("Board Gamers", "games"), ("Cycling Odesa", "sport"), ("Frontend Guild", "frontend"),
]  # fmt: skip
"""(title, topic) of the groups, in the order worlds use them."""

GROUP_LANGUAGES: dict[str, str] = {
    "Kyiv Python": "uk",
    "Crypto Signals": "ru",
    "Book Club": "es",
    "Runners of Lviv": "uk",
    "Home Bakers": "es",
    "Data Science RU": "ru",
    "Photo Walks": "uk",
    "Language Exchange": "auto",
    "Cycling Odesa": "uk",
}
"""The language a group's owner sets (``/settings language``) by its title: Kyiv and Lviv in
Ukrainian, Russian- and Spanish-speaking communities, a language exchange that answers each
newcomer in their own; the others stay in English."""

FIRST_NAMES: list[str] = [
    "Olena", "Taras", "Anna", "Dmytro", "Iryna", "Max", "Sofia", "Andrii", "Kateryna", "Ivan",
    "Maria", "Oleh", "Yulia", "Pavlo", "Nina", "Alex", "Emma", "Liam", "Noah", "Mia", "Lucas",
    "Zoe", "Artem", "Daria", "Bohdan", "Vera", "Igor", "Alina", "Marta", "Roman",
]  # fmt: skip

TOPIC_WORDS: dict[str, str] = {
    "python": "python asyncio pandas typing poetry uv django fastapi decorator generator",
    "rust": "rust borrow checker lifetimes cargo tokio traits async unsafe crate clippy",
    "crypto": "bitcoin ethereum wallet staking airdrop exchange ledger altcoin chart pump",
    "books": "novel chapter author poetry library translation fantasy ending audiobook shelf",
    "sport": "marathon intervals pace shoes stretching trail tempo recovery race training",
    "jobs": "vacancy salary remote interview resume contract visa relocation offer senior",
    "food": "sourdough starter flour oven proofing crumb croissant butter recipe yeast",
    "games": "steam demo pixel level boss itch roguelike jam sprite release",
    "data": "dataset polars model feature notebook pipeline dashboard metric sql cluster",
    "photo": "lens aperture film sunset portrait tripod exposure walk street light",
    "startup": "funding pitch investors runway product users growth churn hiring mvp",
    "lang": "grammar vocabulary pronunciation idiom exchange speaking accent lesson fluent",
    "devops": "kubernetes terraform docker pipeline helm prometheus grafana incident deploy",
    "plants": "monstera watering repotting soil sunlight cutting fertilizer pests leaves",
    "film": "director cinema festival screenplay sequel trailer soundtrack premiere cast",
    "frontend": "react css layout vite typescript component accessibility bundle hooks",
}
"""What each topic's members write about (space-separated words)."""

CHAT_WORDS: tuple[str, ...] = (
    "the", "and", "please", "join", "channel", "release", "fix", "test", "thanks",
    "привет", "релиз", "канал", "и", "в", "на", "тест", "реліз", "що", "це", "дякую",
)  # fmt: skip
"""Words of any chat, in English, Russian and Ukrainian (for the summaries' languages)."""

INVITE_LINKS: tuple[str, ...] = ("Website", "Partner chat", "Spring promo", "Newsletter")
"""Names of the invite links people join by."""

BOT_NAMES: tuple[str, ...] = ("Combot", "Shieldy", "QuizMaster", "PollBot", "WeatherNow", "RssFeed")
"""Other bots that join groups."""
