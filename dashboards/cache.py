"""The dashboard's one cached-query layer: :class:`CachedRun`.

``run(query_name, **params)`` answers from ``st.cache_data`` (TTL ``DASHBOARD_CACHE_TTL_S``),
keyed by the database URL, the query name, the viewer's scope and its parameters, so cached
results never leak between databases or viewers; the engine behind it is shared through
``st.cache_resource``. It runs the same :data:`dashboards.queries.QUERIES` as the uncached
:class:`dashboards.queries.DirectRun` that the benchmark uses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st
from sqlalchemy.engine import Engine

from dashboards.queries import QUERIES, make_engine, scoped_params
from dashboards.scope import Scope

MAX_ENTRIES = 4096
"""Cached results kept per process, over every query (about 256 per query)."""


def _dispose(engine: Engine) -> None:
    engine.dispose()


@st.cache_resource(show_spinner=False, on_release=_dispose)
def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url``."""
    return make_engine(url)


def _query(url: str, query: str, **params: Any) -> Any:
    return QUERIES[query](get_engine(url), **params)


@functools.cache
def _cached(ttl_s: int) -> Callable[..., Any]:
    # st.cache_data takes its TTL when it wraps: wrap once, with the TTL from the settings
    return st.cache_data(ttl=ttl_s, show_spinner=False, max_entries=MAX_ENTRIES)(_query)


@dataclass(frozen=True)
class CachedRun:
    """Queries on the database at ``url`` within the viewer's ``scope``, answered from the
    Streamlit cache for ``ttl_s``."""

    url: str
    ttl_s: int
    scope: Scope

    def __call__(self, query: str, /, **params: Any) -> Any:
        return _cached(self.ttl_s)(self.url, query, **scoped_params(self.scope, params))
