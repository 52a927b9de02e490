"""Dagster pipelines: raw logs -> analytics tables, summaries, member counts, retention."""
