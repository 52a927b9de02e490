"""The gatepulse dashboard's entry script: password gate, shared filters, navigation.

Run it with ``gatepulse dashboard`` (``streamlit run dashboards/app.py``). The page scripts live
in ``dashboards/views/``; this script renders the sidebar filters on every run so they are
shared by every page, and stores them in ``st.session_state`` for the page to read.
"""

from __future__ import annotations

import datetime as dt
import functools

import pandas as pd
import sqlalchemy as sa
import streamlit as st
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from streamlit.navigation.page import StreamlitPage

from core.settings import DashboardSettings, Settings, SettingsError, load_settings
from dashboards import auth, signin, ui
from dashboards.cache import CachedRun, get_engine
from dashboards.metrics import DateRange
from dashboards.pages import PAGES, visible_pages
from dashboards.scope import Scope, ScopeError, load_scope

HOME = "home"  # the URL path the root page reserves (Streamlit serves it at ``/``)
DATE_KEY = "date_range"
GROUPS_KEY = "groups"
SEARCH_KEY = "group_search"
DEFAULT_DAYS = 7


def database_url(settings: Settings) -> str:
    """``DASHBOARD_DATABASE_URL`` (a read-only role in production), else ``DATABASE_URL``."""
    return settings.dashboard.database_url or settings.db.url


def _settings() -> Settings:
    """Every setting, read once per script run; a bad value stops here with one line."""
    try:
        return load_settings()
    except SettingsError as exc:
        st.error(f"Invalid settings: {exc}")
        st.stop()


def _date_range(today: dt.date) -> DateRange:
    default = ui.linked_range(st.query_params, today) or (
        today - dt.timedelta(days=DEFAULT_DAYS - 1),
        today,
    )
    picked = st.sidebar.date_input(
        "Date range (UTC)", value=default, key=DATE_KEY, format="YYYY-MM-DD"
    )
    if isinstance(picked, dt.date):
        return DateRange(picked, picked)
    days = [d for d in picked if isinstance(d, dt.date)]
    if not days:
        return DateRange(*default)
    return DateRange(min(days), max(days))  # a half-picked range counts as one day


def _scope(url: str) -> Scope:
    """The viewer's scope, read from the database on every page view (never cached: losing
    admin rights ends access at the next view); the operator's when no owner signed in."""
    user_id = st.session_state.get(signin.VIEWER_USER_KEY)  # set by signin.owner_viewer
    if user_id is None:
        return Scope.operator()
    scope = load_scope(get_engine(url), int(user_id))
    st.session_state[signin.VIEWER_GROUPS_KEY] = list(scope.group_ids)  # for the audit rows
    return scope


def _group_picker(run: CachedRun) -> tuple[tuple[int, ...], dict[int, str]]:
    """The sidebar's group filter: a search over the viewer's groups (title or id, in the
    database, :data:`dashboards.page_queries.catalog.SEARCH_LIMIT` matches at a time) and a
    pick among the matches and the groups already picked. Returns the picked ids and the titles
    of the groups it offered (the pages look up the titles of the rows they show)."""
    text = st.sidebar.text_input(
        "Find groups", key=SEARCH_KEY, placeholder="title or id", help="Type to narrow the list."
    )
    matches = run("group_search", text=text)
    picked = st.session_state.get(GROUPS_KEY)
    picked = [int(g) for g in picked] if isinstance(picked, list) else []
    titles: dict[int, str] = run("group_titles", ids=tuple(sorted(picked))) if picked else {}
    if any(g not in titles for g in picked):
        # a group the viewer no longer administers leaves the selection
        picked = [g for g in picked if g in titles]
        st.session_state[GROUPS_KEY] = picked
    titles |= dict(
        zip(matches.rows["id"].astype(int), matches.rows["title"].fillna(""), strict=True)
    )
    selected = st.sidebar.multiselect(
        "Groups",
        options=list(dict.fromkeys([*picked, *titles])),
        format_func=lambda g: f"{titles.get(g) or 'untitled'} ({g})",
        key=GROUPS_KEY,
        placeholder="All groups" if run.scope.is_operator else "All your groups",
    )
    if matches.total > len(matches.rows):
        st.sidebar.caption(
            f"{len(matches.rows)} of {matches.total:,} matching groups listed: type to narrow."
        )
    return tuple(sorted(int(g) for g in selected)), titles


def _sidebar(run: CachedRun, dashboard: DashboardSettings) -> ui.PageContext:
    today = dt.datetime.now(dt.UTC).date()
    st.sidebar.header("Filters")
    date_range = _date_range(today)
    selected, titles = _group_picker(run)
    if st.sidebar.button("Refresh data", key="refresh", help="Forget cached query results"):
        st.cache_data.clear()
    operator = st.session_state.get(signin.VIEWER_KIND_KEY) == signin.OPERATOR
    if (
        operator
        and auth.is_required(dashboard.password)
        and st.sidebar.button("Sign out", key="sign_out")
    ):
        auth.logout()
        st.rerun()
    ctx = ui.PageContext(
        run=run,
        range=date_range,
        groups=selected,
        group_titles=titles,
        stale_after_h=dashboard.stale_after_h,
    )
    st.session_state[ui.CONTEXT_KEY] = ctx
    return ctx


def _driver_error(exc: Exception) -> sa.exc.DBAPIError | None:
    """The database driver's error behind ``exc`` (``pd.read_sql_query`` wraps it in its own)."""
    cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) else exc
    return cause if isinstance(cause, sa.exc.DBAPIError) else None


def _database_error(url: str, exc: sa.exc.DBAPIError) -> None:
    where = make_url(url).render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    st.error(
        f"Cannot read the dashboard database ({where}): {reason}. "
        "Check DASHBOARD_DATABASE_URL / DATABASE_URL and run `gatepulse migrate`."
    )


def _sign_in(password: SecretStr, url: str) -> None:
    """Serve the sign-in form at the root and at every page's address, so that a bookmarked
    ``/funnel`` asks for the password and, once it is right, reruns into the page itself."""
    form = functools.partial(
        auth.login_page, password, functools.partial(signin.record_operator_sign_in, url)
    )
    login = st.Page(form, title="Sign in", url_path="login", default=True)
    aliases = [
        st.Page(form, title="Sign in", url_path=slug, visibility="hidden") for *_, slug in PAGES
    ]
    st.navigation([login, *aliases], position="hidden").run()


def _pages(operator: bool) -> list[StreamlitPage]:
    """Every page at its own URL path, and a hidden default page at the root that switches
    to the first one.

    Streamlit serves the default page at ``/`` and ignores its ``url_path``, so a visible
    default Overview would answer ``/overview`` with "Page not found"; a non-default Overview
    keeps ``/overview`` and the redirect keeps ``/`` working too.
    """
    pages = [
        st.Page(path, title=title, icon=icon, url_path=slug)
        for path, title, icon, slug in visible_pages(operator)
    ]
    first = pages[0]
    home = st.Page(
        lambda: st.switch_page(first),
        title=first.title,
        url_path=HOME,
        default=True,
        visibility="hidden",
    )
    return [home, *pages]


def main() -> None:
    st.set_page_config(page_title="gatepulse", page_icon=":material/shield:", layout="wide")
    settings = _settings()
    dashboard, url = settings.dashboard, database_url(settings)
    try:
        # an owner signed in from the bot (issue 27), else the operator: password or none
        if signin.owner_viewer(dashboard, url) is None:
            if not auth.is_authenticated(dashboard.password):
                _sign_in(dashboard.password, url)
                return
            st.session_state[signin.VIEWER_KIND_KEY] = signin.OPERATOR
        scope = _scope(url)
        _sidebar(CachedRun(url, dashboard.cache_ttl_s, scope), dashboard)
        st.navigation(_pages(scope.is_operator)).run()
    except ScopeError:
        st.error("This page shows every group's figures: only the operator may see it.")
    except (sa.exc.DBAPIError, pd.errors.DatabaseError) as exc:
        error = _driver_error(exc)  # unreachable server, missing tables, no permission
        if error is None:
            raise
        _database_error(url, error)


main()
