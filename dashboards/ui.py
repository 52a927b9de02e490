"""Small building blocks shared by the pages: the page context, tables with a CSV download,
empty states."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go
import sqlalchemy as sa
import streamlit as st

from dashboards import signin
from dashboards.cache import CachedRun
from dashboards.metrics import DateRange, group_label
from dashboards.paging import Paged
from dashboards.queries import DirectRun, Run
from dashboards.scope import Scope

log = logging.getLogger(__name__)

CONTEXT_KEY = "gatepulse_context"

HOW_TO_FILL = (
    "Run `make demo` to simulate traffic and build everything, or `gatepulse materialize` "
    "to build the analytics tables from the bot's raw logs."
)


@dataclass(frozen=True)
class PageContext:
    """What every page needs: its queries (bound to the dashboard's database) and the shared
    filters."""

    run: Run
    range: DateRange
    groups: tuple[int, ...]
    group_titles: dict[int, str] = field(default_factory=dict)
    stale_after_h: float = 26.0
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def viewer(self) -> Scope:
        """Whose data the pages may show (the run's scope)."""
        return self.run.scope

    def group_name(self, group_id: int) -> str:
        return group_label(self.group_titles, group_id)

    @property
    def scope(self) -> str:
        """``all groups`` or the selected group names, for captions."""
        if not self.groups:
            return "all groups" if self.viewer.is_operator else "all your groups"
        names = [self.group_name(g) for g in self.groups]
        return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def context() -> PageContext:
    """The context the entry script stored for this run."""
    ctx = st.session_state.get(CONTEXT_KEY)
    if not isinstance(ctx, PageContext):  # a page run without the entry script (never in the app)
        st.error("Open the dashboard through its entry script: `gatepulse dashboard`.")
        st.stop()
    return ctx


def header(title: str, ctx: PageContext, *, grouped: bool = True) -> None:
    st.title(title)
    scope = f" · {ctx.scope}" if grouped else ""
    st.caption(f"{ctx.range.label()} (UTC, {ctx.range.days} days){scope}")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "table"


def table(
    frame: pd.DataFrame, name: str, *, key: str | None = None, height: int | None = None
) -> None:
    """A dataframe and, under it, a button that downloads exactly those rows as CSV."""
    slug = _slug(name)
    if height is None:
        st.dataframe(frame, hide_index=True, width="stretch")
    else:
        st.dataframe(frame, hide_index=True, width="stretch", height=height)
    st.download_button(
        f"Download {name} (CSV)",
        data=frame.to_csv(index=False).encode("utf-8"),
        file_name=f"gatepulse_{slug}.csv",
        mime="text/csv",
        key=key or f"csv_{slug}",
        on_click=_downloaded,
        args=(name,),
    )


def page_number(key: str) -> int:
    """The page (from 0) the viewer picked in the page control ``key`` (the first until they
    pick one): read before the page's data is loaded, the control drawn under the table."""
    picked = st.session_state.get(key)
    return max(0, int(picked) - 1) if isinstance(picked, int) else 0


def paged_table(found: Paged, name: str, what: str, key: str) -> None:
    """One page of a top-N table (:func:`table`, its CSV download: the rows shown), the total
    and, when there are several pages, a page control ``key`` (read it with
    :func:`page_number`)."""
    table(found.rows, name)
    if found.pages > 1:
        if st.session_state.get(key, 1) > found.pages:  # fewer pages now: the last one
            st.session_state[key] = found.pages
        left, right = st.columns([1, 3])
        with left:
            st.number_input(
                f"Page (of {found.pages:,})", min_value=1, max_value=found.pages, step=1, key=key
            )
        with right:
            st.caption(found.caption(what))
    else:
        st.caption(found.caption(what))


def _downloaded(name: str) -> None:
    """The audit row of a CSV download (who, when, which groups: :mod:`dashboards.signin`).
    The rows are already in the browser: an audit row the database refused is logged, and the
    page goes on."""
    run = context().run
    try:
        if isinstance(run, CachedRun):
            signin.record_download(run, name)
        elif isinstance(run, DirectRun):
            signin.record_download(run.engine, name)
    except sa.exc.SQLAlchemyError as exc:
        log.warning("download of %r not audited: %s", name, type(exc).__name__)


def chart(figure: go.Figure, key: str) -> None:
    st.plotly_chart(figure, width="stretch", key=key, config={"displaylogo": False})


def empty_state(
    what: str, ctx: PageContext, newest: dt.date | None, table: str | None = None
) -> None:
    """Explain why there is nothing to show and what to run. ``newest`` is the newest day of
    ``table`` (of the first analytics tables when None)."""
    if newest is None:
        where = f"`{table}` is empty" if table else "the analytics tables are empty"
        st.info(f"No {what} yet: {where}. {HOW_TO_FILL}")
    else:
        st.info(
            f"No {what} between {ctx.range.start} and {ctx.range.end} for {ctx.scope}. "
            f"The newest analytics day is {newest}: widen the date range in the sidebar, "
            f"or run `gatepulse materialize` to bring the tables up to date."
        )


def history_note(points: int, what: str) -> None:
    """Say why a member-count history shows no line: a line needs two daily syncs."""
    if points == 0:
        st.info(
            f"No {what} snapshot in this range: the member-count sync asset writes them, run "
            "`gatepulse materialize`."
        )
    elif points == 1:
        st.info(
            f"Only one sync so far in this range: the {what} history grows by one point per "
            "daily sync (the member-count sync asset; `gatepulse materialize` runs it)."
        )


def linked_range(params: Mapping[str, str], today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The date range a link asks for (``?from=YYYY-MM-DD&to=YYYY-MM-DD``; ``to`` defaults to
    today), or ``None`` when it asks for none or for a malformed or reversed one."""
    try:
        start = dt.date.fromisoformat(str(params.get("from", "")))
        end = dt.date.fromisoformat(str(params.get("to", today.isoformat())))
    except ValueError:
        return None
    return (start, end) if start <= end else None
