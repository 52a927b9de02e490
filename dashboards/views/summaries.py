"""Summaries: the latest 7-day and 30-day summary of a chat, and every older one."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboards import queries, ui

TYPES = (("7day", "Last 7 days"), ("30day", "Last 30 days"))


def _when(value: object) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M") if value is not None else "?"


def _show(row: pd.Series) -> None:
    st.caption(
        f"{_when(row['period_start'])} – {_when(row['period_end'])} UTC · "
        f"written {_when(row['created_at'])} · {int(row['token_count'])} tokens"
    )
    with st.container(border=True):
        st.markdown(str(row["content"]))


def render() -> None:
    ctx = ui.context()
    ui.header("Summaries", ctx)
    st.caption("The latest summaries are shown whatever the date range; older ones below.")
    chats = queries.summary_chats(ctx.url)
    if ctx.groups:
        chats = [c for c in chats if c in ctx.groups]
    if not chats:
        st.info(
            "No chat summaries yet"
            + (" for the selected groups" if ctx.groups else "")
            + ". The summaries asset writes them: run `gatepulse materialize` "
            "(or `make demo`)."
        )
        return
    chat = st.selectbox("Chat", chats, format_func=ctx.group_name, key="summary_chat")
    history = queries.summaries(ctx.url, int(chat or chats[0]))
    columns = st.columns(2)
    for col, (kind, title) in zip(columns, TYPES, strict=True):
        with col:
            st.subheader(title)
            rows = history[history["summary_type"] == kind]
            if rows.empty:
                st.info(f"No {kind} summary for this chat yet.")
            else:
                _show(rows.iloc[0])

    st.subheader("Older summaries")
    labels = {
        int(r.id): f"{r.summary_type} · {_when(r.period_start)} – {_when(r.period_end)}"
        for r in history.itertuples(index=False)
    }
    picked = st.selectbox(
        "Summary", list(labels), format_func=lambda i: labels[i], key="summary_pick"
    )
    if picked is not None:
        _show(history[history["id"] == picked].iloc[0])
    trend = history.assign(created_at=pd.to_datetime(history["created_at"], utc=True))
    fig = px.line(
        trend.sort_values("created_at"),
        x="created_at",
        y="token_count",
        color="summary_type",
        markers=True,
    )
    fig.update_layout(
        title={"text": "Summary length over time (tokens)", "x": 0},
        height=280,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend_title_text="",
    )
    fig.update_xaxes(title_text="")
    ui.chart(fig, "summaries_tokens")
    ui.table(history, "summaries of this chat")


render()
