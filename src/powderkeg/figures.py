"""Plotly figure helpers shared by the report, the dashboard and ``Result.plot()``."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

TEMPLATE = "plotly_white"


def line_chart(
    series: Mapping[str, pd.Series] | pd.DataFrame,
    title: str,
    yaxis: str = "",
    *,
    log_y: bool = False,
    height: int = 360,
) -> go.Figure:
    """A line chart of one or more date-indexed series."""
    fig = go.Figure()
    for name, s in series.items():
        fig.add_trace(go.Scatter(x=s.index, y=s.to_numpy(), mode="lines", name=str(name)))
    fig.update_layout(
        title=title,
        template=TEMPLATE,
        height=height,
        yaxis_title=yaxis,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h"},
    )
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def bar_chart(values: pd.Series, title: str, yaxis: str = "", height: int = 320) -> go.Figure:
    """A bar chart of a labelled series."""
    fig = go.Figure(go.Bar(x=[str(i) for i in values.index], y=values.to_numpy()))
    fig.update_layout(
        title=title,
        template=TEMPLATE,
        height=height,
        yaxis_title=yaxis,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
    )
    return fig
