"""What an analytics asset reports for the days it computed, daily table or trailing week: its
blocking output check, and its materialization (the days, the rows written and where the time
went; nothing written when the output check fails)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg
import polars as pl

from pipelines.schemas import Validation

OUTPUT_CHECK = "output_valid"


def output_check_result(table: str, output: pl.DataFrame, check: Validation) -> dg.AssetCheckResult:
    """The blocking ``output_valid`` check of ``table``'s computed ``output``."""
    return dg.AssetCheckResult(
        check_name=OUTPUT_CHECK,
        asset_key=table,
        passed=check.ok,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows": output.height,
            **{
                k: dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v
                for k, v in check.metadata().items()
            },
        },
    )


def day_metadata(days: list[dt.date]) -> dict[str, Any]:
    return {"days": len(days), "first_day": days[0].isoformat(), "last_day": days[-1].isoformat()}


def materialized(
    context: dg.AssetExecutionContext,
    table: str,
    model_name: str,
    check: Validation,
    write: Callable[[], Mapping[dt.date, int]],
    seconds: dict[str, float],
    metadata: dict[str, Any],
    checks: list[dg.AssetCheckResult],
    written_metadata: Callable[[], dict[str, Any]] | None = None,
) -> dg.MaterializeResult[Any]:
    """``write()`` (which records its own ``seconds["write"]``) unless ``check`` failed, and the
    materialization: ``metadata``, the rows written and each phase's seconds (and
    ``written_metadata()`` once written)."""
    if not check.ok:
        context.log.error(
            f"{table}: {check.invalid.height} output rows fail {model_name}; nothing written"
        )
        return dg.MaterializeResult(
            asset_key=table,
            metadata={**metadata, "row_count": 0, "written": False},
            check_results=checks,
        )
    written = write()
    return dg.MaterializeResult(
        asset_key=table,
        metadata={
            **metadata,
            "row_count": sum(written.values()),
            "written": True,
            **{f"{phase}_s": round(took, 3) for phase, took in seconds.items()},
            **(written_metadata() if written_metadata else {}),
        },
        check_results=checks,
    )
