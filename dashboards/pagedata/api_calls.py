"""API calls: Telegram Bot API usage by method, outcomes over time, latency by method."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboards.metrics import DateRange, histogram_quantile, merge_histogram
from dashboards.queries import Run


@dataclass(frozen=True)
class ApiCalls:
    calls: pd.DataFrame
    """The ``api_calls`` query: calls per day, method, success and error type."""
    methods: pd.DataFrame
    total: int
    errors: int
    histogram: list[tuple[float | None, int]]
    """The API latency histogram merged over the range."""
    p95_ms: float | None
    by_result: pd.DataFrame
    """Calls per method and result (ok | error)."""
    by_outcome: pd.DataFrame
    """Calls per day and outcome (ok or the error type)."""
    errors_by_type: pd.DataFrame


def by_method(api: pd.DataFrame) -> pd.DataFrame:
    """Per method: calls, errors, error rate, average and max latency; most calls first."""
    frame = api.assign(errors=api["calls"].where(~api["success"].astype(bool), 0))
    table = frame.groupby("method", as_index=False).agg(
        calls=("calls", "sum"),
        errors=("errors", "sum"),
        latency_ms_sum=("latency_ms_sum", "sum"),
        max_latency_ms=("latency_ms_max", "max"),
    )
    table["error_rate"] = (table["errors"] / table["calls"]).round(4)
    table["avg_latency_ms"] = (table["latency_ms_sum"] / table["calls"]).round(1)
    table["max_latency_ms"] = table["max_latency_ms"].round(1)
    return table.drop(columns="latency_ms_sum").sort_values(
        ["calls", "method"], ascending=[False, True]
    )


def outcomes(api: pd.DataFrame) -> pd.DataFrame:
    """``api`` with ``outcome``: ``ok`` or the error type."""
    return api.assign(
        outcome=[
            "ok" if ok else (err if isinstance(err, str) and err else "unknown error")
            for ok, err in zip(api["success"].astype(bool), api["error_type"], strict=True)
        ]
    )


def by_result(outcome: pd.DataFrame) -> pd.DataFrame:
    frame = outcome.assign(result=outcome["success"].map(lambda s: "ok" if s else "error"))
    return frame.groupby(["method", "result"], as_index=False)["calls"].sum()


def errors_by_type(api: pd.DataFrame) -> pd.DataFrame:
    """Failed calls per method and error type, most first."""
    return (
        api[~api["success"].astype(bool)]
        .assign(error_type=lambda f: f["error_type"].fillna("unknown error"))
        .groupby(["method", "error_type"], as_index=False)["calls"]
        .sum()
        .sort_values("calls", ascending=False)
    )


def load(run: Run, r: DateRange) -> ApiCalls | None:
    """The API calls page of ``r`` (every group); None when there is no call in it."""
    api = run("api_calls", start=r.start, end=r.end)
    if api.empty:
        return None
    methods = by_method(api)
    merged = merge_histogram(run("histogram", start=r.start, end=r.end, source="api"))
    outcome = outcomes(api)
    return ApiCalls(
        calls=api,
        methods=methods,
        total=int(methods["calls"].sum()),
        errors=int(methods["errors"].sum()),
        histogram=merged,
        p95_ms=histogram_quantile(merged, 0.95),
        by_result=by_result(outcome),
        by_outcome=outcome.groupby(["day", "outcome"], as_index=False)["calls"].sum(),
        errors_by_type=errors_by_type(api),
    )
