"""The self-contained HTML report: executive summary, sections, provenance appendix.

Plotly's JavaScript is inlined from the installed package, so the file works offline and
can be mailed as one attachment.
"""

from __future__ import annotations

import datetime as dt
import html
import importlib
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from powderkeg._version import __version__
from powderkeg.data.store import Store
from powderkeg.report.context import Headline, ReportContext, Section

#: Section builders in report order: ``module:function`` returning ``Section | None``.
SECTION_BUILDERS = (
    "powderkeg.report.sections.coverage:section",
    "powderkeg.report.sections.linkage:section",
    "powderkeg.report.sections.liquidity:section",
    "powderkeg.report.sections.bubbles:section",
    "powderkeg.report.sections.contagion:section",
    "powderkeg.report.sections.validation:section",
    "powderkeg.report.sections.energy:section",
)

ProgressCallback = Callable[[int, int, str], None]

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1d2330;
background:#fafbfc}
header{background:#1d2330;color:#fff;padding:24px 40px}header h1{margin:0 0 4px 0}
main{max-width:1200px;margin:0 auto;padding:20px 40px}
section{background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:16px 24px;margin:18px 0}
.pk-table{border-collapse:collapse;font-size:13px;margin:8px 0}
.pk-table th,.pk-table td{border-bottom:1px solid #eceef1;padding:4px 10px;text-align:right}
.pk-table th:first-child,.pk-table td:first-child,.pk-table td.txt{text-align:left}
.headlines{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}
.headline{border-left:4px solid #d9480f;padding:6px 12px;background:#fff7f2}
.headline .v{font-size:22px;font-weight:600}.headline .l{font-size:12px;color:#5c6370}
.headline .r{font-size:13px}
.pk-facts th{text-align:left;padding-right:16px;color:#5c6370}
nav a{margin-right:14px;color:#9fb3c8}
"""


def _builders() -> list[tuple[str, Callable[[ReportContext], Section | None]]]:
    out = []
    for spec in SECTION_BUILDERS:
        module, func = spec.split(":")
        if importlib.util.find_spec(module) is None:
            continue
        out.append((spec, getattr(importlib.import_module(module), func)))
    return out


def build_sections(ctx: ReportContext, progress: ProgressCallback | None = None) -> list[Section]:
    """Run every section builder; a failing section becomes a visible error block."""
    builders = _builders()
    sections = []
    for i, (name, build) in enumerate(builders):
        key = name.split(":")[0].rpartition(".")[2]
        t0 = time.perf_counter()
        try:
            sec = build(ctx)
        except Exception as exc:  # a broken section must not hide the others
            sec = Section(key, key.title())
            sec.blocks.append(
                f"<p class='error'>This section failed: {html.escape(type(exc).__name__)}: "
                f"{html.escape(str(exc))}</p>"
            )
        if sec is not None:
            sec.parameters.setdefault("runtime_s", round(time.perf_counter() - t0, 3))
            sections.append(sec)
        if progress is not None:
            progress(i + 1, len(builders), key)
    return sections


def render(sections: list[Section], ctx: ReportContext) -> str:
    """Render sections into one self-contained HTML document."""
    from plotly.offline import get_plotlyjs

    esc = html.escape
    asof = f"as of {ctx.asof:%Y-%m-%d}" if ctx.asof is not None else "with all stored data"
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>powderkeg report {esc(asof)}</title><style>{_CSS}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
        f"<header><h1>powderkeg risk report</h1><div>{esc(asof)} &middot; generated {generated} "
        f"&middot; powderkeg {__version__}</div><nav>",
    ]
    parts += [f"<a href='#{esc(s.key)}'>{esc(s.title)}</a>" for s in sections]
    parts.append("<a href='#provenance'>Provenance</a></nav></header><main>")
    parts.append("<section id='summary'><h2>Executive summary</h2><div class='headlines'>")
    for sec in sections:
        for h in sec.headlines:
            parts.append(
                f"<div class='headline'><div class='l'>{esc(h.label)}</div>"
                f"<div class='v'>{esc(h.value)}</div><div class='r'>{esc(h.reading)}</div></div>"
            )
    parts.append("</div></section>")
    fig_id = 0
    for sec in sections:
        parts.append(f"<section id='{esc(sec.key)}'><h2>{esc(sec.title)}</h2>")
        if sec.intro:
            parts.append(f"<p>{esc(sec.intro)}</p>")
        for block in sec.blocks:
            if isinstance(block, str):
                parts.append(block)
            else:
                fig_id += 1
                parts.append(
                    block.to_html(
                        full_html=False,
                        include_plotlyjs=False,
                        div_id=f"fig-{fig_id}",
                        config={"displaylogo": False, "responsive": True},
                    )
                )
        parts.append("</section>")
    parts.append(_provenance(sections, ctx))
    parts.append("</main></body></html>")
    return "".join(parts)


def _provenance(sections: list[Section], ctx: ReportContext) -> str:
    esc = html.escape
    rows = ctx.store.provenance(sorted(ctx.used_symbols)) if ctx.used_symbols else []
    out = ["<section id='provenance'><h2>Provenance</h2>"]
    out.append(
        f"<p>powderkeg {__version__}; store <code>{esc(ctx.store.path)}</code>; "
        f"seed {ctx.seed}.</p>"
    )
    if rows:
        frame = pd.DataFrame(rows)
        out.append(frame.to_html(classes="pk-table", border=0, index=False, escape=True))
    out.append("<h3>Parameters by section</h3><table class='pk-table'>")
    for sec in sections:
        params = ", ".join(f"{k}={v}" for k, v in sec.parameters.items())
        out.append(f"<tr><td>{esc(sec.title)}</td><td>{esc(params)}</td></tr>")
    out.append("</table></section>")
    return "".join(out)


@dataclass(frozen=True)
class WrittenReport:
    """A report written to disk and the sections it was rendered from.

    Attributes
    ----------
    path : Path
        The HTML file.
    sections : list of Section
        The sections in report order, with their headlines.
    """

    path: Path
    sections: list[Section]

    @property
    def headlines(self) -> list[Headline]:
        """The executive-summary headlines, in report order."""
        return [h for sec in self.sections for h in sec.headlines]


def write_report(
    store: Store,
    out: str | Path,
    *,
    asof: Any = None,
    seed: int = 20251210,
    quick: bool = False,
    progress: ProgressCallback | None = None,
) -> WrittenReport:
    """Build every section from ``store`` and write the report to ``out``.

    Parameters
    ----------
    store : Store
        The data the sections read.
    out : str or Path
        The HTML file to write (parent folders are created; written atomically).
    asof : date-like, optional
        Render as of this date, with only the data available then.
    seed : int
        Seed for the simulations of the sections.
    quick : bool
        Smaller simulations (tests, previews).
    progress : callable, optional
        Called as ``progress(done, total, section_key)`` after each section.

    Returns
    -------
    WrittenReport
        The file's path and the sections it shows.
    """
    from powderkeg._validation import optional_date

    ctx = ReportContext(store=store, asof=optional_date(asof, "asof"), seed=seed, quick=quick)
    sections = build_sections(ctx, progress)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(render(sections, ctx), encoding="utf-8")
    tmp.replace(path)
    return WrittenReport(path, sections)
