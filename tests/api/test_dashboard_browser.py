"""The dashboard in real headless Chromium against a uvicorn server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from powderkeg.api.app import ApiSettings, create_app
from tests.api.browser import ARTIFACTS, browser_page, serve
from tests.api.conftest import TOKEN


@pytest.mark.enable_socket
def test_dashboard_end_to_end(store_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    requests: list[str] = []
    app = create_app(ApiSettings(db=str(store_path), token=TOKEN))
    with serve(app) as url, browser_page(problems) as page:
        page.on("request", lambda r: requests.append(r.url))
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)

        # linkage view: pick BTC-USD and NVDA, see the rolling correlation
        page.select_option("#corr-a", "BTC-USD")
        page.select_option("#corr-b", "NVDA")
        page.fill("#corr-window", "60")
        page.click("#corr-run")
        page.wait_for_selector("#corr-chart .main-svg", timeout=30_000)
        expect(page.locator("#corr-statement")).to_contain_text("BTC-USD vs NVDA")
        n_points = page.evaluate("() => document.getElementById('corr-chart').data[0].x.length")
        assert n_points > 100
        assert page.locator("#corr-chart .scatterlayer .trace").count() == 1
        page.locator("#linkage").screenshot(path=str(ARTIFACTS / "dashboard-linkage.png"))

        # bubble view: BSADF (critical values not stored yet: the page says so)
        page.select_option("#psy-symbol", "NVDA")
        page.click("#psy-run")
        page.wait_for_selector("#psy-chart .main-svg", timeout=30_000)
        assert "not computed yet" in page.text_content("#psy-statement")

        # liquidity view
        page.click("#liq-run")
        page.wait_for_selector("#liq-chart .main-svg", timeout=30_000)
        assert "USD billions" in page.text_content("#liq-statement")

        # long job with the token: submit, poll, see the result
        kinds = page.eval_on_selector_all("#job-kind option", "els => els.map(e => e.value)")
        kind = "stress" if "stress" in kinds else "bubble-psy"
        page.select_option("#job-kind", kind)
        page.fill("#job-token", TOKEN)
        if kind == "stress":
            page.fill("#job-paths", "100")
        else:
            page.select_option("#job-symbol", "NVDA")
            page.fill("#job-reps", "40")
        page.click("#job-submit")
        expect(page.locator("#job-status")).to_contain_text("finished", timeout=90_000)
        assert page.locator("#job-result table.kv tr").count() > 3
        if kind == "bubble-psy":
            page.wait_for_selector("#job-chart .main-svg")
            # the stored critical values now show in the bubble view
            page.fill("#psy-reps", "40")
            page.click("#psy-run")
            expect(page.locator("#psy-chart .scatterlayer .trace")).to_have_count(2)
            expect(page.locator("#psy-statement")).not_to_contain_text("not computed")
        page.screenshot(path=str(ARTIFACTS / "dashboard-full.png"), full_page=True)

        # a wrong token is refused and said so
        page.fill("#job-token", "wrong")
        page.click("#job-submit")
        expect(page.locator("#job-status")).to_contain_text("401")
    # the only failed responses are the expected ones (the browser logs every non-2xx fetch):
    # 409 = critical values not stored yet (first bubble plot), 401 = the wrong token
    expected = ("status of 409 (Conflict)", "status of 401 (Unauthorized)")
    assert [p for p in problems if not p.endswith(expected)] == []
    assert requests and all(r.startswith(url) for r in requests)
