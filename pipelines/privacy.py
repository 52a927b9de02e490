"""After an erasure (:mod:`core.erasure`): the summaries it deleted, written again.

An erasure deletes every summary that named or quoted the person and lists the days whose
summaries must be written again (``erasures.rows_removed.summary_days``). ``gatepulse forget``
writes them at once; an erasure asked for in Telegram (``/forgetme``) is picked up by the
``erased_summaries`` sensor, which requests a ``finalize_day_job`` run (analytics and summaries)
for each of those days and marks the erasure done. What is written comes from the raw rows that
are left, so no name comes back.

The weekly digests already posted for the chats and weeks the person was active in are listed
in ``digest_edits`` by the erasure. Once those days are written again (no ``finalize_day_job``
run left queued or running), the same sensor asks for one ``erased_digests_job`` run, which
computes each digest again and edits the message in place (editMessageText, through the
pipelines' logged client): "message is not modified" counts as done, a message that cannot be
edited any more (deleted, 400, 403) is recorded as ``failed`` and not tried again, and a
transient error is tried again by a later run, up to ``MAX_EDIT_ATTEMPTS`` runs.
``gatepulse forget`` does all of it at once.
"""

import asyncio
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import sqlalchemy as sa

from core.models import MAX_EDIT_ATTEMPTS, DigestEditStatus
from core.settings import LogWriterSettings
from pipelines.assets.digests import build_week
from pipelines.io import table
from pipelines.resources import DatabaseResource, PipelineConfigResource, TelegramResource
from pipelines.transforms.digests import title

DIGEST_EDITS_JOB = "erased_digests_job"
_UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def pending(engine: sa.Engine) -> list[tuple[int, list[dt.date]]]:
    """Erasures whose summaries are still to be written again: (id, days)."""
    erasures = table("erasures")
    out: list[tuple[int, list[dt.date]]] = []
    with engine.connect() as conn:
        for erasure_id, removed in conn.execute(
            sa.select(erasures.c.id, erasures.c.rows_removed).order_by(erasures.c.id)
        ):
            details: dict[str, Any] = removed or {}
            if details.get("summaries_rewritten", True):
                continue
            days = [dt.date.fromisoformat(d) for d in details.get("summary_days", [])]
            out.append((int(erasure_id), days))
    return out


def mark_rewritten(engine: sa.Engine, erasure_ids: list[int]) -> None:
    erasures = table("erasures")
    with engine.begin() as conn:
        for erasure_id in erasure_ids:
            removed = conn.scalar(
                sa.select(erasures.c.rows_removed).where(erasures.c.id == erasure_id)
            )
            conn.execute(
                sa.update(erasures)
                .where(erasures.c.id == erasure_id)
                .values(rows_removed={**(removed or {}), "summaries_rewritten": True})
            )


def _busy(instance: dg.DagsterInstance, job_name: str) -> bool:
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=job_name, statuses=_UNFINISHED), limit=1
    )
    return bool(runs)


def build_erasure_sensor(job: Any, edits_job: Any = None) -> dg.SensorDefinition:
    edits_job = edits_job or erased_digests_job

    @dg.sensor(
        name="erased_summaries",
        jobs=[job, edits_job],
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,  # an erasure is an obligation
    )
    def erased_summaries(
        context: dg.SensorEvaluationContext, database: DatabaseResource
    ) -> Iterator[dg.RunRequest]:
        """A finalize run for every day whose summaries an erasure deleted; once they are
        done, one run that edits the posted digests the erasures listed."""
        todo = pending(database.engine)
        days = sorted({day for _, ds in todo for day in ds})
        for day in days:
            key = day.isoformat()
            yield dg.RunRequest(
                run_key=f"erasure-{todo[-1][0]}-{key}", partition_key=key, job_name=job.name
            )
        if todo:
            mark_rewritten(database.engine, [erasure_id for erasure_id, _ in todo])
            context.log.info(f"summaries of {len(days)} days requested after erasures")
            return  # the digests wait for those runs
        edits_key = edit_run_key(database.engine)
        if edits_key is None or _busy(context.instance, job.name):
            return
        if not _busy(context.instance, edits_job.name):
            yield dg.RunRequest(run_key=edits_key, job_name=edits_job.name)

    return erased_summaries


# --------------------------------------------------------------------------- posted digests


WITHDRAWN = "Nothing is left to report for this week."
"""The body of a posted digest whose week has nothing left once the person is erased."""
NOT_MODIFIED = "message is not modified"


@dataclass(frozen=True)
class DigestToEdit:
    digest_id: int
    chat_id: int
    week: dt.date
    message_id: int


@dataclass(frozen=True)
class EditOutcome:
    digest_id: int
    status: str | None  # a DigestEditStatus, or None for a transient failure (tried again)
    error: str | None = None


def pending_edits(engine: sa.Engine) -> list[DigestToEdit]:
    """The posted digests that some erasure still asks to be written again, oldest week first
    (one entry per digest however many erasures asked)."""
    edits, digests = table("digest_edits"), table("digests")
    stmt = (
        sa.select(digests.c.id, digests.c.chat_id, digests.c.period_start)
        .add_columns(digests.c.telegram_message_id)
        .join(edits, edits.c.digest_id == digests.c.id)
        .where(edits.c.status == DigestEditStatus.PENDING.value)
        .distinct()
        .order_by(digests.c.period_start, digests.c.chat_id)
    )
    with engine.connect() as conn:
        return [
            DigestToEdit(int(i), int(c), start.astimezone(dt.UTC).date(), int(m))
            for i, c, start, m in conn.execute(stmt)
        ]


def edit_run_key(engine: sa.Engine) -> str | None:
    """A key naming the pending edits as they stand (None: nothing pending): it changes when
    an erasure asks for more or a transient failure counts an attempt, so the sensor asks for
    one run per state."""
    edits = table("digest_edits")
    with engine.connect() as conn:
        newest, attempts = conn.execute(
            sa.select(
                sa.func.max(edits.c.id), sa.func.coalesce(sa.func.sum(edits.c.attempts), 0)
            ).where(edits.c.status == DigestEditStatus.PENDING.value)
        ).one()
    return None if newest is None else f"digest-edits-{newest}-{attempts}"


def outcome_of(digest_id: int, exc: BaseException | None) -> EditOutcome:
    """What one edit attempt means. Telegram's "message is not modified" is done (the text
    named nobody); any other 400 (message deleted, too old, not the bot's) and a 403 (the bot
    is no longer in the chat) are permanent; the rest (network, 5xx, 429) is tried again."""
    # aiogram loads only when a step talks to Telegram (see BotTelegramResource._bot)
    from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

    from bot.runtime.client import error_message  # aiogram's too, as above

    if exc is None:
        return EditOutcome(digest_id, DigestEditStatus.EDITED.value)
    message = error_message(exc)
    if isinstance(exc, TelegramBadRequest) and NOT_MODIFIED in message.lower():
        return EditOutcome(digest_id, DigestEditStatus.UNCHANGED.value)
    if isinstance(exc, TelegramBadRequest | TelegramForbiddenError):
        return EditOutcome(digest_id, DigestEditStatus.FAILED.value, message)
    return EditOutcome(digest_id, None, message)


def new_texts(db: DatabaseResource, todo: Sequence[DigestToEdit]) -> dict[int, str]:
    """Each digest's text computed again from the tables as they are now (figures, top
    posters, the week's summary written again); a week with nothing left keeps its title."""
    texts: dict[int, str] = {}
    for week in sorted({d.week for d in todo}):
        _, built, _ = build_week(db, week)
        by_chat = {int(c): str(t) for c, t in built.iter_rows()} if built.height else {}
        for d in todo:
            if d.week == week:
                texts[d.digest_id] = by_chat.get(d.chat_id, f"{title(week)}\n\n{WITHDRAWN}")
    return texts


async def _edit_all(
    telegram: TelegramResource,
    todo: Sequence[DigestToEdit],
    texts: dict[int, str],
    database: DatabaseResource,
    writer: LogWriterSettings,
) -> list[EditOutcome]:
    """editMessageText for each digest, through the pipelines' logged client (every call in
    ``api_call_log``); one failure does not stop the others."""
    outcomes: list[EditOutcome] = []
    async with telegram.bot_client(database, writer) as bot:
        for d in todo:
            if bot is None:  # a client that cannot send: try again with a real one
                outcomes.append(EditOutcome(d.digest_id, None, "no Telegram client"))
                continue
            try:
                await bot.edit_message_text(
                    texts[d.digest_id], chat_id=d.chat_id, message_id=d.message_id
                )
            except Exception as exc:
                outcomes.append(outcome_of(d.digest_id, exc))
            else:
                outcomes.append(outcome_of(d.digest_id, None))
    return outcomes


def record_outcomes(engine: sa.Engine, outcomes: Sequence[EditOutcome], now: dt.datetime) -> None:
    """Close the pending requests of each digest with its outcome; a transient failure counts
    an attempt and, past :data:`MAX_EDIT_ATTEMPTS`, is given up (``failed``)."""
    edits = table("digest_edits")
    with engine.begin() as conn:
        for o in outcomes:
            mine = sa.and_(
                edits.c.digest_id == o.digest_id,
                edits.c.status == DigestEditStatus.PENDING.value,
            )
            attempts = edits.c.attempts + 1
            status: Any = o.status
            done: Any = now
            if status is None:
                given_up = attempts >= MAX_EDIT_ATTEMPTS
                status = sa.case(
                    (given_up, DigestEditStatus.FAILED.value),
                    else_=DigestEditStatus.PENDING.value,
                )
                done = sa.case((given_up, now), else_=None)
            conn.execute(
                sa.update(edits)
                .where(mine)
                .values(attempts=attempts, status=status, error=o.error, done_at=done)
            )


def rewrite_digests(
    db: DatabaseResource,
    telegram: TelegramResource,
    config: PipelineConfigResource,
    now: dt.datetime,
) -> dict[str, Any]:
    """Compute again and edit in place every posted digest an erasure listed; a JSON-friendly
    report. Run after the erased days' summaries were written again (the sensor waits for
    their runs; ``gatepulse forget`` runs it after its own)."""
    todo = pending_edits(db.engine)
    if not todo:
        return {"digests": 0, "edited": 0, "unchanged": 0, "failed": [], "retry": 0}
    texts = new_texts(db, todo)
    outcomes = asyncio.run(_edit_all(telegram, todo, texts, db, config.log_writer_settings()))
    record_outcomes(db.engine, outcomes, now)

    def count(status: str | None) -> int:
        return sum(o.status == status for o in outcomes)

    return {
        "digests": len(todo),
        "edited": count(DigestEditStatus.EDITED.value),
        "unchanged": count(DigestEditStatus.UNCHANGED.value),
        "failed": [
            {"digest_id": o.digest_id, "error": o.error}
            for o in outcomes
            if o.status == DigestEditStatus.FAILED.value
        ],
        "retry": count(None),
    }


@dg.op(name="rewrite_erased_digests")
def rewrite_erased_digests(
    context: dg.OpExecutionContext,
    database: DatabaseResource,
    telegram: TelegramResource,
    pipeline_config: PipelineConfigResource,
) -> None:
    """Edits the posted digests that erasures listed, computed again without the person."""
    report = rewrite_digests(database, telegram, pipeline_config, dt.datetime.now(dt.UTC))
    context.log.info(f"digests after erasures: {report}")


@dg.job(name=DIGEST_EDITS_JOB)
def erased_digests_job() -> None:
    """The posted digests erasures asked for, written again (requested by the sensor)."""
    rewrite_erased_digests()
