"""The demo report opens in headless Chromium: no network, no console error, every chart drawn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from powderkeg.cli.main import run
from tests.api.browser import ARTIFACTS, browser_page


@pytest.mark.slow
def test_demo_report_renders_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    secrets = {"FRED_API_KEY": "fred-0a1b2c3d4e5f6a7b8c9d", "POWDERKEG_API_TOKEN": "tok-5e6f7a8b9c"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert run(["--json", "demo", "--dir", str(tmp_path / "demo"), "--quick"]) == 0
    captured = capsys.readouterr()
    report = Path(json.loads(captured.out)["report"])
    assert report.is_file()
    text = report.read_text(encoding="utf-8")
    for value in secrets.values():
        assert value not in text
        assert value not in captured.out + captured.err

    problems: list[str] = []
    requests: list[str] = []
    with browser_page(problems) as page:
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri(), wait_until="load")
        plots = page.locator("div.plotly-graph-div")
        n_plots = plots.count()
        assert n_plots >= 3
        # every Plotly div gets an svg or a canvas
        for i in range(n_plots):
            plots.nth(i).locator("svg.main-svg, canvas").first.wait_for(
                state="attached", timeout=30_000
            )
        drawn = page.evaluate(
            """() => [...document.querySelectorAll('div.plotly-graph-div')].map(
                   d => d.querySelector('svg.main-svg, canvas') !== null)"""
        )
        assert drawn == [True] * n_plots
        page.screenshot(path=str(ARTIFACTS / "report-demo.png"), full_page=False)
        page.locator("div.plotly-graph-div").first.screenshot(
            path=str(ARTIFACTS / "report-demo-first-chart.png")
        )
    assert problems == []
    # the report is self-contained: only the file itself (and inline data: URLs) load
    assert [r for r in requests if not r.startswith(("file://", "data:", "blob:"))] == []
