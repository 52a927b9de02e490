"""The summary's words: which language a chat writes in, and the fixed phrases in it.

The extractive summary quotes people in whatever language they wrote; everything around the
quotes (figures, headings, plural forms, number and quote marks) is written in the chat's
language so that the text reads as one. English, Russian and Ukrainian are known; anything
else is written in English.

Language detection is deliberately simple and explainable (no model): a chat is Cyrillic when
its words in Cyrillic letters outnumber those in Latin letters; a Cyrillic chat is Ukrainian
when letters only Ukrainian uses (і ї є ґ) plus Ukrainian-only stopwords outnumber letters only
Russian uses (ы э ё ъ) plus Russian-only stopwords, else Russian.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipelines.transforms.stopwords import ENGLISH, RUSSIAN, UKRAINIAN

EN, RU, UK = "en", "ru", "uk"
LANGUAGES = (EN, RU, UK)
DEFAULT_LANGUAGE = EN

UK_LETTERS = "[іїєґ]"
RU_LETTERS = "[ыэёъ]"
_RU, _UK = set(RUSSIAN.split()), set(UKRAINIAN.split())
RU_ONLY_STOPWORDS = frozenset(_RU - _UK - set(ENGLISH.split()))
UK_ONLY_STOPWORDS = frozenset(_UK - _RU - set(ENGLISH.split()))


def choose_language(latin_words: int, cyrillic_words: int, uk_marks: int, ru_marks: int) -> str:
    """The chat's language from its counts (see the module's docstring); English by default."""
    if cyrillic_words <= latin_words:
        return EN
    return UK if uk_marks > ru_marks else RU


@dataclass(frozen=True)
class Quote:
    """A message as quoted: who wrote it and its text (one line, already truncated)."""

    author: str
    text: str


@dataclass(frozen=True)
class Thread:
    """The message with the most replies in the window; ``root`` is None when not quoted."""

    replies: int
    root: Quote | None


@dataclass(frozen=True)
class Facts:
    """What a summary says, language-free: the renderer turns it into prose."""

    first_day: dt.date
    last_day: dt.date
    messages: int
    people: int
    busiest_hour: int
    busiest_hour_messages: int
    topics: tuple[str, ...] = ()
    quotes: tuple[Quote, ...] = ()
    thread: Thread | None = None


def _slavic(n: int, one: str, few: str, many: str) -> str:
    """The noun form after ``n`` in Russian and Ukrainian (1 / 2-4 / 5+, teens are many)."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def _english(n: int, one: str, other: str) -> str:
    return one if n == 1 else other


def _number(n: int, language: str) -> str:
    """1,234 in English; 1 234 (a no-break space) in Russian and Ukrainian."""
    grouped = f"{n:,}"
    return grouped if language == EN else grouped.replace(",", "\u00a0")


@dataclass(frozen=True)
class _Phrases:
    """One language's fixed phrases; ``{…}`` are filled by :func:`render`."""

    period: str
    busiest: str
    topics: str
    quotes: str
    thread: str
    thread_quoted: str
    open_quote: str
    close_quote: str
    anonymous: str
    user: str


PHRASES: dict[str, _Phrases] = {
    EN: _Phrases(
        period="From {first} to {last} (UTC) the chat had {messages} from {people}.",
        busiest="The busiest hour was {hours} UTC ({count}).",
        topics="Main topics: {topics}.",
        quotes="Representative messages: {quotes}.",
        thread="The liveliest thread drew {replies}.",
        thread_quoted="The liveliest thread drew {replies}; it began with {quote}.",
        open_quote="“",
        close_quote="”",
        anonymous="anonymous",
        user="user {id}",
    ),
    RU: _Phrases(
        period="С {first} по {last} (UTC) в чате было {messages} от {people}.",
        busiest="Пик активности — {hours} UTC ({count}).",
        topics="Главные темы: {topics}.",
        quotes="Характерные сообщения: {quotes}.",
        thread="Самое живое обсуждение собрало {replies}.",
        thread_quoted="Самое живое обсуждение собрало {replies}; оно началось с сообщения {quote}.",
        open_quote="«",
        close_quote="»",
        anonymous="аноним",
        user="участник {id}",
    ),
    UK: _Phrases(
        period="З {first} по {last} (UTC) у чаті було {messages} від {people}.",
        busiest="Пік активності — {hours} UTC ({count}).",
        topics="Головні теми: {topics}.",
        quotes="Характерні повідомлення: {quotes}.",
        thread="Найжвавіше обговорення зібрало {replies}.",
        thread_quoted=(
            "Найжвавіше обговорення зібрало {replies}; воно почалося з повідомлення {quote}."
        ),
        open_quote="«",
        close_quote="»",
        anonymous="анонім",
        user="учасник {id}",
    ),
}


def _messages(n: int, language: str) -> str:
    count = _number(n, language)
    if language == RU:
        return f"{count} {_slavic(n, 'сообщение', 'сообщения', 'сообщений')}"
    if language == UK:
        return f"{count} {_slavic(n, 'повідомлення', 'повідомлення', 'повідомлень')}"
    return f"{count} {_english(n, 'message', 'messages')}"


def _people(n: int, language: str) -> str:
    """After "from" (Russian от, Ukrainian від take the genitive: 1 участника, 5 участников)."""
    count = _number(n, language)
    if language == RU:
        return f"{count} {_slavic(n, 'участника', 'участников', 'участников')}"
    if language == UK:
        return f"{count} {_slavic(n, 'учасника', 'учасників', 'учасників')}"
    return f"{count} {_english(n, 'person', 'people')}"


def _replies(n: int, language: str) -> str:
    count = _number(n, language)
    if language == RU:
        return f"{count} {_slavic(n, 'ответ', 'ответа', 'ответов')}"
    if language == UK:
        return f"{count} {_slavic(n, 'відповідь', 'відповіді', 'відповідей')}"
    return f"{count} {_english(n, 'reply', 'replies')}"


def author_label(user_id: int | None, names: dict[int, str], language: str) -> str:
    """``@username``, else the first name, else "user 42" in the summary's language."""
    phrases = PHRASES.get(language, PHRASES[DEFAULT_LANGUAGE])
    if user_id is None:
        return phrases.anonymous
    return names.get(user_id) or phrases.user.format(id=user_id)


def render(facts: Facts, language: str) -> str:
    """The summary as a few sentences in ``language``: figures first, then the topics, the
    representative messages and the liveliest thread when the facts have them."""
    lang = language if language in PHRASES else DEFAULT_LANGUAGE
    p = PHRASES[lang]

    def quoted(q: Quote) -> str:
        return f"{q.author}: {p.open_quote}{q.text}{p.close_quote}"

    start = facts.busiest_hour
    sentences = [
        p.period.format(
            first=facts.first_day.isoformat(),
            last=facts.last_day.isoformat(),
            messages=_messages(facts.messages, lang),
            people=_people(facts.people, lang),
        ),
        p.busiest.format(
            hours=f"{start:02d}:00–{(start + 1) % 24:02d}:00",
            count=_messages(facts.busiest_hour_messages, lang),
        ),
    ]
    if facts.topics:
        sentences.append(p.topics.format(topics=", ".join(facts.topics)))
    if facts.quotes:
        sentences.append(p.quotes.format(quotes="; ".join(quoted(q) for q in facts.quotes)))
    if facts.thread is not None:
        replies = _replies(facts.thread.replies, lang)
        if facts.thread.root is None:
            sentences.append(p.thread.format(replies=replies))
        else:
            sentences.append(
                p.thread_quoted.format(replies=replies, quote=quoted(facts.thread.root))
            )
    return " ".join(sentences)
