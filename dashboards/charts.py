"""Plotly figures for the pages. Each takes a tidy frame and returns a figure; no queries here."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards.metrics import bucket_label

STATUS_COLORS = {"success": "#2e9e5b", "failed": "#e8a33d", "error": "#d9534f"}
ERROR_COLORS = {
    "ok": "#4c78a8",
    "RetryAfter": "#e8a33d",
    "Forbidden": "#d9534f",
    "ChatNotFound": "#b279a2",
    "BadRequest": "#9d755d",
    "NetworkError": "#f58518",
    "TelegramError": "#72282c",
    "unknown error": "#bab0ac",
}
HEIGHT = 340


def _style(fig: go.Figure, *, title: str, height: int = HEIGHT) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        height=height,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        legend_title_text="",
    )
    return fig


def _day_axis(fig: go.Figure, frame: pd.DataFrame) -> None:
    """Date ticks on the days themselves (a day, not hours, is the unit of daily charts)."""
    days = sorted(pd.to_datetime(frame["day"]).unique()) if not frame.empty else []
    fig.update_xaxes(title_text="", tickformat="%b %d")
    if 0 < len(days) <= 14:
        fig.update_xaxes(tickvals=days)


def _days(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["day"] = pd.to_datetime(out["day"])
    return out


def stacked_by_day(
    frame: pd.DataFrame, value: str, color: str, *, title: str, colors: dict[str, str] | None = None
) -> go.Figure:
    """Bars per day stacked by ``color``."""
    fig = px.bar(
        _days(frame),
        x="day",
        y=value,
        color=color,
        color_discrete_map=colors or {},
        labels={"day": "", value: value.replace("_", " ")},
    )
    _day_axis(fig, frame)
    return _style(fig, title=title)


def lines_by_day(frame: pd.DataFrame, columns: list[str], *, title: str, y_title: str) -> go.Figure:
    """One line per column over days."""
    long = _days(frame).melt(id_vars="day", value_vars=columns, var_name="series")
    fig = px.line(long, x="day", y="value", color="series", markers=True)
    fig.update_yaxes(title_text=y_title)
    _day_axis(fig, frame)
    return _style(fig, title=title)


def rate_line(frame: pd.DataFrame, column: str, *, title: str) -> go.Figure:
    fig = px.line(_days(frame), x="day", y=column, markers=True)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02], title_text="")
    _day_axis(fig, frame)
    return _style(fig, title=title)


def histogram_bars(buckets: list[tuple[float | None, int]], *, title: str) -> go.Figure:
    labels = [bucket_label(bound) for bound, _ in buckets]
    counts = [count for _, count in buckets]
    fig = go.Figure(go.Bar(x=labels, y=counts, marker_color="#4c78a8"))
    fig.update_xaxes(type="category", title_text="latency")
    fig.update_yaxes(title_text="count")
    return _style(fig, title=title)


def bars(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    title: str,
    color: str | None = None,
    horizontal: bool = False,
    colors: dict[str, str] | None = None,
    barmode: str = "relative",
) -> go.Figure:
    if horizontal:
        fig = px.bar(
            frame,
            x=y,
            y=x,
            color=color,
            orientation="h",
            color_discrete_map=colors or {},
            barmode=barmode,
        )
        fig.update_yaxes(type="category", autorange="reversed", title_text="")
        if barmode != "group":
            fig.update_traces(width=0.6)
        return _style(fig, title=title, height=min(HEIGHT * 2, 120 + 34 * frame[x].nunique()))
    fig = px.bar(frame, x=x, y=y, color=color, color_discrete_map=colors or {}, barmode=barmode)
    fig.update_xaxes(type="category", title_text="")
    return _style(fig, title=title)


def heatmap(frame: pd.DataFrame, value: str, *, title: str) -> go.Figure:
    """Day (rows) x hour (columns) heatmap of ``value``; missing hours are 0."""
    pivot = (
        frame.pivot_table(index="day", columns="hour", values=value, aggfunc="sum", fill_value=0)
        .reindex(columns=range(24), fill_value=0)
        .sort_index()
    )
    fig = go.Figure(
        go.Heatmap(
            z=pivot.to_numpy(),
            x=[f"{h:02d}" for h in pivot.columns],
            y=[str(d) for d in pivot.index],
            colorscale="Blues",
            colorbar={"title": value},
            hovertemplate="%{y} %{x}:00 UTC<br>%{z}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="hour (UTC)", type="category")
    fig.update_yaxes(type="category", autorange="reversed")
    return _style(fig, title=title, height=max(HEIGHT, 60 + 22 * len(pivot.index)))


def history_lines(frame: pd.DataFrame, names: dict[int, str], *, title: str) -> go.Figure:
    """Member/subscriber counts over days, one line per chat."""
    data = _days(frame)
    data["chat"] = [names.get(int(c), str(c)) for c in data["chat_id"]]
    fig = px.line(data, x="day", y="member_count", color="chat", markers=True)
    _day_axis(fig, frame)
    fig.update_yaxes(title_text="members")
    fig = _style(fig, title=title, height=HEIGHT + 60)
    # many chats: a legend under the plot, not over the title
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0})
    return fig


def donut(labels: list[str], values: list[int], *, title: str) -> go.Figure:
    fig = go.Figure(go.Pie(labels=labels, values=values, hole=0.55, sort=False))
    return _style(fig, title=title)


def funnel(stages: pd.DataFrame, *, title: str) -> go.Figure:
    """The funnel of ``stages`` (columns ``stage``, ``users``), each stage as a share of the
    first."""
    fig = go.Figure(
        go.Funnel(
            y=list(stages["stage"]),
            x=[int(v) for v in stages["users"]],
            textinfo="value+percent initial",
            marker={"color": "#4c78a8"},
        )
    )
    return _style(fig, title=title)


def against_limit(
    frame: pd.DataFrame, column: str, limit: float, *, title: str, unit: str
) -> go.Figure:
    """A day's peak as bars, Telegram's limit as a dashed line; bars over it in red."""
    data = _days(frame)
    over = [float(v) > limit for v in data[column]]
    fig = go.Figure(
        go.Bar(
            x=data["day"],
            y=data[column],
            name="peak",
            marker_color=["#d9534f" if o else "#4c78a8" for o in over],
        )
    )
    fig.add_hline(
        y=limit,
        line_dash="dash",
        line_color="#d9534f",
        annotation_text=f"Telegram limit: {limit:g} {unit}",
        annotation_position="top left",
    )
    highest = max([limit, *(float(v) for v in data[column])])
    fig.update_yaxes(range=[0, highest * 1.15], title_text=unit)
    _day_axis(fig, frame)
    return _style(fig, title=title)


FLOW_COLORS = {"joins": "#2e9e5b", "leaves": "#e8a33d", "kicks": "#d9534f"}


def flows_and_count(
    frame: pd.DataFrame, flows: list[str], count: str, *, title: str, count_label: str
) -> go.Figure:
    """Daily flows as bars (joins up; leaves and kicks down) and the synced count as a line on
    its own axis: the growth the events explain beside the count Telegram reports."""
    data = _days(frame)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for flow in flows:
        sign = 1 if flow.startswith("joins") else -1
        fig.add_trace(
            go.Bar(
                x=data["day"],
                y=sign * data[flow],
                name=flow.replace("_", " "),
                marker_color=FLOW_COLORS.get(flow, "#4c78a8"),
            ),
            secondary_y=False,
        )
    counted = data[data[count].notna()]
    fig.add_trace(
        go.Scatter(
            x=counted["day"],
            y=counted[count],
            name=count_label,
            mode="lines+markers",
            line={"color": "#4c78a8"},
        ),
        secondary_y=True,
    )
    fig.update_layout(barmode="relative")
    fig.update_yaxes(title_text="per day", secondary_y=False)
    # its own nice ticks (not synced to the bars' grid: 106.88 members means nothing)
    fig.update_yaxes(title_text=count_label, tickmode="auto", showgrid=False, secondary_y=True)
    _day_axis(fig, frame)
    return _style(fig, title=title)
