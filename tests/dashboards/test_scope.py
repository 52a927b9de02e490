"""A signed-in owner's scope: every query takes it, the runs refuse to work without one, and
no page or download shows a row of a group (or channel) the owner does not administer."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import streamlit
from streamlit.testing.v1 import AppTest

import dashboards
from core.owner_links import QUERY_PARAM, load_key, make_token
from core.settings import DashboardSettings
from dashboards.cache import CachedRun
from dashboards.pages import OPERATOR_PAGES, PAGES, visible_pages
from dashboards.queries import QUERIES, DirectRun, make_engine
from dashboards.scope import Scope, ScopeError, load_scope
from tests.dashboards.conftest import APP
from tests.dashboards.seed import (
    ALPHA,
    BETA,
    DELTA,
    GAMMA,
    NEWS_A,
    NEWS_B,
    OTHER_OWNER,
    OWNER,
    seed_dashboard,
)


def _query_modules() -> list[str]:
    """The dashboard's query modules, and the parts of a query package (but its table names)."""
    names = []
    for found in pkgutil.iter_modules(dashboards.__path__):
        if not found.name.endswith("queries"):
            continue
        if not found.ispkg:
            names.append(found.name)
            continue
        package = importlib.import_module(f"dashboards.{found.name}")
        parts = pkgutil.iter_modules(package.__path__)
        names += [f"{found.name}.{p.name}" for p in parts if p.name != "tables"]
    return sorted(names)


QUERY_MODULES = _query_modules()
FOREIGN_IDS = (BETA, GAMMA, NEWS_B)
FOREIGN_NAMES = ("Beta", "Gamma", "beta_news", "Beta_News")
OPERATOR_ONLY = {
    "api_calls": {},
    "api_totals": {},
    "api_budget": {},
    "histogram": {"source": "verification"},
    "update_health": {},
}


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


# --------------------------------------------------------------------------- the seam


def _loaders(module: ModuleType) -> dict[str, Callable[..., Any]]:
    return {
        name: f
        for name, f in vars(module).items()
        if name.startswith("load_") and inspect.isfunction(f) and f.__module__ == module.__name__
    }


@pytest.mark.parametrize("name", QUERY_MODULES)
def test_every_query_takes_the_scope_right_after_the_engine(name: str) -> None:
    """A new ``load_*`` without a required ``scope`` fails here."""
    loaders = _loaders(importlib.import_module(f"dashboards.{name}"))
    assert loaders, name
    for load_name, load in loaders.items():
        params = list(inspect.signature(load).parameters.values())
        assert [p.name for p in params[:2]] == ["engine", "scope"], load_name
        assert params[1].default is inspect.Parameter.empty, f"{load_name}: scope is required"


def test_every_query_module_loader_is_a_named_query() -> None:
    """Pages reach queries only through a run, which always passes the scope."""
    named = set(QUERIES.values())
    for name in QUERY_MODULES:
        for load_name, load in _loaders(importlib.import_module(f"dashboards.{name}")).items():
            assert load in named, f"{load_name} is not in QUERIES"


def test_runs_refuse_to_work_without_a_scope(engine: sa.Engine, db_url: str) -> None:
    with pytest.raises(ScopeError):
        DirectRun(engine, None)("groups")  # type: ignore[arg-type]
    with pytest.raises(ScopeError):
        CachedRun(db_url, 60, None)("groups")  # type: ignore[arg-type]
    with pytest.raises(ScopeError):  # a page cannot widen its run's scope
        DirectRun(engine, Scope.owner(OWNER, [], []))("groups", scope=Scope.operator())


def test_operator_only_queries_refuse_a_scoped_viewer(engine: sa.Engine, db_url: str) -> None:
    seed = seed_dashboard(db_url)
    span = {"start": seed.today, "end": seed.today}
    owner = DirectRun(engine, load_scope(engine, OWNER))
    operator = DirectRun(engine, Scope.operator())
    for query, params in OPERATOR_ONLY.items():
        args = {**(span if "start" in inspect.signature(QUERIES[query]).parameters else {})}
        assert isinstance(operator(query, **args, **params), pd.DataFrame)
        with pytest.raises(ScopeError):
            owner(query, **args, **params)
    with pytest.raises(ScopeError):  # the API budget's newest day is every group's too
        owner("newest_day", table="analytics_api_budget_daily")


def test_load_scope_reads_current_admins_and_their_groups_channels(
    engine: sa.Engine, db_url: str
) -> None:
    seed = seed_dashboard(db_url)
    assert load_scope(engine, OWNER) == Scope(False, (DELTA, ALPHA), (NEWS_A,), OWNER)
    assert load_scope(engine, OTHER_OWNER).group_ids == tuple(sorted((BETA, GAMMA)))
    assert load_scope(engine, OTHER_OWNER).channel_ids == (NEWS_B,)
    stranger = load_scope(engine, 999)
    assert (stranger.group_ids, stranger.channel_ids) == ((), ())
    nothing = DirectRun(engine, stranger)
    assert nothing("groups").empty and nothing("channels").empty
    assert nothing("group_days", start=seed.today, end=seed.today).empty
    # the bot removes a demoted admin's row: the next read no longer includes the group
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM group_admins WHERE group_id = :g"), {"g": DELTA})
    assert load_scope(engine, OWNER).group_ids == (ALPHA,)


def test_a_scope_never_widens_to_every_group() -> None:
    owner = Scope.owner(OWNER, [ALPHA], [NEWS_A])
    assert owner.groups() == (ALPHA,) and owner.groups([BETA]) == ()
    assert not owner.every_group() and Scope.operator().every_group()
    assert Scope.operator().groups([BETA]) == (BETA,)


# --------------------------------------------------------------------------- every page


class Downloads:
    """Every CSV the pages hand to ``st.download_button``, by label."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Downloads:
    found = Downloads()
    real = streamlit.download_button

    def recording(label: str, data: Any, *args: Any, **kwargs: Any) -> Any:
        found.files[label] = data if isinstance(data, bytes) else str(data).encode()
        return real(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", recording)
    return found


def _texts(at: AppTest) -> list[str]:
    """Every text the page shows: titles, captions, notes, metrics, picker options, charts."""
    out: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "code"):
        out += [str(e.value) for e in getattr(at, kind)]
    for kind in ("info", "warning", "error", "success", "exception"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [f"{m.label} {m.value} {m.delta}" for m in at.metric]
    for kind in ("selectbox", "multiselect", "radio"):
        for widget in getattr(at, kind):
            out += [str(o) for o in widget.options]
    out += [str(b.proto.label) for b in at.get("download_button")]
    out += [str(c.proto.spec) for c in at.get("plotly_chart")]
    return out


def _foreign_in_frame(frame: pd.DataFrame) -> list[str]:
    found = []
    for column in frame.columns:
        values = frame[column]
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.isin(FOREIGN_IDS).any():
            found.append(f"id in column {column}")
        text = values.astype(str)
        for name in (*FOREIGN_NAMES, *(str(i) for i in FOREIGN_IDS)):
            if text.str.contains(name, regex=False).any():
                found.append(f"{name} in column {column}")
    return found


def _foreign_in_text(texts: list[str]) -> list[str]:
    needles = (*FOREIGN_NAMES, *(str(i) for i in FOREIGN_IDS))
    return [f"{n} in {t[:80]!r}" for t in texts for n in needles if n in t]


def _owner_app(groups: list[int] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    # signed in as the bot's link does it (the key: the one the dashboard makes in var/)
    key = load_key(DashboardSettings())
    at.query_params[QUERY_PARAM] = make_token(key, OWNER, dt.datetime.now(dt.UTC))
    if groups is not None:  # a forged selection (the picker never offers it)
        at.session_state["groups"] = groups
    return at


def _visit_every_page(at: AppTest, downloads: Downloads) -> dict[str, list[str]]:
    """Run every page the owner's navigation lists; what each showed that is not theirs."""
    at.run()
    leaks: dict[str, list[str]] = {}
    for script, *_ in visible_pages(operator=False):
        downloads.files.clear()
        at.switch_page(script).run()
        assert not at.exception, (script, [e.value for e in at.exception])
        found = _foreign_in_text(_texts(at))
        for df in at.dataframe:
            found += _foreign_in_frame(df.value)
        for label, data in downloads.files.items():
            found += [f"{label}: {x}" for x in _foreign_in_text([data.decode("utf-8")])]
        leaks[script] = found
    return leaks


def test_every_page_and_download_of_an_owner_shows_only_their_groups(
    dashboard_env: str, downloads: Downloads
) -> None:
    seed_dashboard(dashboard_env)
    at = _owner_app()
    leaks = _visit_every_page(at, downloads)
    assert set(leaks) == {s for s, *_ in PAGES} - {
        s for s, *_, slug in PAGES if slug in OPERATOR_PAGES
    }
    assert all(not found for found in leaks.values()), leaks
    assert at.session_state["viewer_group_ids"] == [DELTA, ALPHA]
    # their own groups are there: the test would see a foreign row if one were shown
    at.switch_page("views/groups.py").run()
    shown = "\n".join(d.decode() for d in downloads.files.values())
    assert "Alpha" in shown and "Delta" in shown and str(NEWS_A) in shown
    picker = at.sidebar.multiselect[0]
    assert sorted(picker.options) == sorted(["Alpha (-1001)", "Delta (-1004)"])


def test_a_forged_group_selection_shows_nothing_foreign(
    dashboard_env: str, downloads: Downloads
) -> None:
    seed_dashboard(dashboard_env)
    leaks = _visit_every_page(_owner_app(groups=[BETA, GAMMA]), downloads)
    assert all(not found for found in leaks.values()), leaks


def test_operator_pages_are_not_in_an_owners_navigation(dashboard_env: str) -> None:
    seed_dashboard(dashboard_env)
    at = _owner_app()
    at.run()
    with pytest.raises(ValueError):
        at.switch_page("views/api_calls.py")
    assert Path(dashboards.__file__).parent.joinpath("views/api_calls.py").exists()


def test_the_operator_still_sees_every_group(dashboard_env: str, downloads: Downloads) -> None:
    """The same walk without a signed-in owner finds the other groups: the check can fail."""
    seed_dashboard(dashboard_env)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("views/groups.py").run()
    shown = "\n".join(d.decode() for d in downloads.files.values())
    assert "Beta" in shown and "Gamma" in shown
    assert sorted(at.sidebar.multiselect[0].options)[:2] == ["Alpha (-1001)", "Beta (-1002)"]
    assert json.dumps(sorted(visible_pages(operator=True))) == json.dumps(sorted(PAGES))
