"""Charts of episode replays: the model's band against the observed path, one panel per target."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from powderkeg.figures import TEMPLATE


def episode_chart(episode: dict[str, Any]) -> Any:
    """Plotly figure of one episode scorecard (``ValidationResult.payload["episodes"][i]``).

    Each panel shows a target's daily move: the model's 5–95 % band and median over paths,
    and the observed moves (or the published point).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    charts = episode["charts"]
    n = max(len(charts), 1)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=[c["label"] for c in charts], vertical_spacing=0.12
    )
    start = pd.Timestamp(episode["start"])
    for i, c in enumerate(charts):
        r, k = i // cols + 1, i % cols + 1
        m = c["model"]
        x = [start + pd.Timedelta(days=d) for d in range(len(m["q50"]))]
        legend = i == 0
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1], y=m["q95"] + m["q05"][::-1], fill="toself", opacity=0.2,
                line={"width": 0}, name="model 5–95 %", legendgroup="band", showlegend=legend,
                marker_color="#d9480f",
            ),
            row=r, col=k,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(x=x, y=m["q50"], mode="lines", name="model median", legendgroup="median",
                       showlegend=legend, line={"color": "#d9480f"}),
            row=r, col=k,
        )  # fmt: skip
        if c["observed"] is not None:
            fig.add_trace(
                go.Scatter(x=x, y=c["observed"], mode="lines+markers", name="observed",
                           legendgroup="observed", showlegend=legend, connectgaps=True,
                           line={"color": "#1d2330"}, marker={"size": 3}),
                row=r, col=k,
            )  # fmt: skip
        elif c["observed_point"] is not None:
            pt = c["observed_point"]
            fig.add_trace(
                go.Scatter(x=[start + pd.Timedelta(days=pt["day"])], y=[pt["value"]],
                           mode="markers", name="published", legendgroup="published",
                           marker={"size": 10, "color": "#1d2330", "symbol": "diamond"}),
                row=r, col=k,
            )  # fmt: skip
    fig.update_layout(
        title=f"{episode['title']}: model against history (moves from the pre-episode level)",
        template=TEMPLATE,
        height=280 * rows + 80,
        margin={"l": 50, "r": 20, "t": 80, "b": 40},
    )
    return fig
