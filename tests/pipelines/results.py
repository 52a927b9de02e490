"""Reading a Dagster run's results by asset key, never by position in a list of events."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg


def materialization(
    result: dg.ExecuteInProcessResult, key: dg.AssetKey | str
) -> dg.AssetMaterialization:
    """The one materialization of the asset ``key`` in ``result`` (fails on none or several)."""
    key = dg.AssetKey.from_user_string(key) if isinstance(key, str) else key
    found = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    others = [e.asset_key for e in result.get_asset_materialization_events()]
    assert len(found) == 1, f"{len(found)} materializations of {key} among {others}"
    return found[0].materialization


def asset_named(
    assets: Iterable[dg.AssetsDefinition], key: dg.AssetKey | str
) -> dg.AssetsDefinition:
    """The asset definition producing ``key`` among ``assets``."""
    key = dg.AssetKey.from_user_string(key) if isinstance(key, str) else key
    found = [a for a in assets if key in a.keys]
    assert len(found) == 1, f"{len(found)} assets produce {key}"
    return found[0]
