"""Summaries: the latest 7-day and 30-day summary of a chat, and every older one."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboards import ui
from dashboards.metrics import group_label
from dashboards.pagedata import summaries
from dashboards.pagedata.summaries import when, written_by
from dashboards.paging import titles_for


def _show(row: pd.Series) -> None:
    st.caption(
        f"{when(row['period_start'])} – {when(row['period_end'])} UTC · "
        f"written {when(row['created_at'])} · {written_by(row)} · "
        f"{int(row['token_count'])} tokens"
    )
    with st.container(border=True):
        st.markdown(str(row["content"]))


def render() -> None:
    ctx = ui.context()
    ui.header("Summaries", ctx)
    st.caption("The latest summaries are shown whatever the date range; older ones below.")
    chats = summaries.chats(ctx.run, ctx.groups)
    if not chats:
        st.info(
            "No chat summaries yet"
            + (" for the selected groups" if ctx.groups else "")
            + ". The summaries asset writes them: run `gatepulse materialize` "
            "(or `make demo`)."
        )
        return
    titles = titles_for(ctx.run, chats, ctx.group_titles)  # the chats offered only
    chat = st.selectbox(
        "Chat", chats, format_func=lambda c: group_label(titles, c), key="summary_chat"
    )
    if len(chats) == summaries.CHATS_LIMIT:
        st.caption(
            f"The first {summaries.CHATS_LIMIT} chats with summaries by title: pick groups in "
            "the sidebar to see others."
        )
    page = summaries.load(ctx.run, int(chat or chats[0]))
    columns = st.columns(2)
    for col, (kind, title) in zip(columns, summaries.TYPES, strict=True):
        with col:
            st.subheader(title)
            latest = page.latest[kind]
            if latest is None:
                st.info(f"No {kind} summary for this chat yet.")
            else:
                _show(latest)

    st.subheader("Older summaries")
    history = page.history
    picked = st.selectbox(
        "Summary", list(page.labels), format_func=lambda i: page.labels[i], key="summary_pick"
    )
    if picked is not None:
        _show(history[history["id"] == picked].iloc[0])
    fig = px.line(
        page.trend,
        x="period_end",
        y="token_count",
        color="summary_type",
        markers=True,
        hover_data={"period_start": "|%Y-%m-%d %H:%M", "period_end": "|%Y-%m-%d %H:%M"},
    )
    fig.update_layout(
        title={"text": "Summary length per period (tokens, at the period's end)", "x": 0},
        height=280,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend_title_text="",
    )
    fig.update_xaxes(title_text="period end (UTC)")
    fig.update_yaxes(title_text="tokens")
    ui.chart(fig, "summaries_tokens")
    ui.table(history, "summaries of this chat")


render()
