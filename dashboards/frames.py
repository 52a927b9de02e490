"""The pages' own computations run in polars: the queries give pandas frames (what Streamlit
caches), the views take pandas frames (what ``st.dataframe`` and plotly are given), and the
grouping, pivoting and ranking in between costs a fraction of pandas' on frames of a few
hundred rows (pandas 3's grouped aggregations cost milliseconds each at any size; a page ran
a dozen). Dates stay ``datetime.date`` on the way back, as the queries gave them."""

from __future__ import annotations

import pandas as pd
import polars as pl


def to_polars(frame: pd.DataFrame) -> pl.DataFrame:
    """``frame`` as polars (a column of ``datetime.date`` becomes ``pl.Date``)."""
    return pl.from_pandas(frame)


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """``frame`` as pandas, built from its columns' Python values: dates stay
    ``datetime.date``, a null in a number column is NaN, as in a query's frame (and on frames
    this small it costs half of going through Arrow)."""
    return pd.DataFrame(frame.to_dict(as_series=False))
