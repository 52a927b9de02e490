"""Fixtures for the dashboard tests: the app pointed at this test's database, clean caches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import dashboards

APP = Path(dashboards.__file__).resolve().parent / "app.py"
OVERVIEW = "views/overview.py"


def _clear() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def dashboard_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """Point the dashboard at this test's database (no password, no .env); yields the URL."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    monkeypatch.delenv("DASHBOARD_PASSWORD", raising=False)
    monkeypatch.setenv("DASHBOARD_CACHE_TTL_S", "60")
    _clear()
    yield db_url
    _clear()


@pytest.fixture
def open_page(dashboard_env: str) -> Callable[[str], AppTest]:
    """Run the entry script, switch to ``page`` (a path under dashboards/) and run it."""

    def _open(page: str = OVERVIEW) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.run()
        if page != OVERVIEW:
            at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return _open
