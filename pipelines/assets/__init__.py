"""Dagster assets, one module per area; checks live next to their asset."""
