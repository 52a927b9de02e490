"""Pure polars transforms: frames in, frame out. No Dagster, no database."""
