"""Read endpoints return what ``powderkeg --json ...`` prints; validation, 404 and OpenAPI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from powderkeg.cli.main import run
from tests.api.conftest import strip_volatile

#: (API URL, CLI arguments after ``--json``) pairs over the real reference data.
PAIRS = [
    (
        "/api/link/corr?a=BTC-USD&b=^IXIC&window=30&asof=2025-12-10",
        ["link", "corr", "BTC-USD", "^IXIC", "--window", "30", "--asof", "2025-12-10"],
    ),
    (
        "/api/link/corr?a=BTC-USD&b=NVDA&window=3M&method=spearman&asof=2025-11-20",
        [
            "link",
            "corr",
            "BTC-USD",
            "NVDA",
            "--window",
            "3M",
            "--method",
            "spearman",
            "--asof",
            "2025-11-20",
        ],
    ),
    (
        "/api/link/spurious?a=BTC-USD&b=NVDA&window=63&asof=2025-11-18",
        ["link", "spurious", "BTC-USD", "NVDA", "--window", "63", "--asof", "2025-11-18"],
    ),
    ("/api/link/claims?name=press-2025", ["link", "claims", "press-2025"]),
    (
        "/api/link/beta?asset=BTC-USD&market=ai&start=2023-01-01&asof=2025-12-10",
        ["link", "beta", "BTC-USD", "ai", "--start", "2023-01-01", "--asof", "2025-12-10"],
    ),
    (
        "/api/link/tail?a=BTC-USD&b=NVDA&bootstrap=20&start=2020-01-01",
        ["link", "tail", "BTC-USD", "NVDA", "--bootstrap", "20", "--start", "2020-01-01"],
    ),
    (
        "/api/link/leadlag?a=BTC-USD&b=^IXIC&max_lag=5&start=2022-01-01",
        ["link", "leadlag", "BTC-USD", "^IXIC", "--max-lag", "5", "--start", "2022-01-01"],
    ),
    (
        "/api/link/granger?a=BTC-USD&b=NVDA&control=DGS10&max_lag=5&hac=true",
        ["link", "granger", "BTC-USD", "NVDA", "--control", "DGS10", "--max-lag", "5", "--hac"],
    ),
    (
        "/api/link/partial?a=BTC-USD&b=NVDA&control=DGS10&control=DTWEXBGS",
        ["link", "partial", "BTC-USD", "NVDA", "--control", "DGS10", "--control", "DTWEXBGS"],
    ),
    (
        "/api/link/event?symbols=ORCL&symbols=NVDA&date=2025-12-11&market=^GSPC",
        ["link", "event", "ORCL", "NVDA", "--date", "2025-12-11", "--market", "^GSPC"],
    ),
    (
        "/api/link/dcc?symbols=BTC-USD&symbols=NVDA&start=2023-01-01&asof=2025-12-10",
        ["link", "dcc", "BTC-USD", "NVDA", "--start", "2023-01-01", "--asof", "2025-12-10"],
    ),
    (
        "/api/link/regimes?a=BTC-USD&b=NVDA&window=60&start=2021-01-01",
        ["link", "regimes", "BTC-USD", "NVDA", "--window", "60", "--start", "2021-01-01"],
    ),
    (
        "/api/liq/net?start=2025-01-01&asof=2025-12-10",
        ["liq", "net", "--start", "2025-01-01", "--asof", "2025-12-10"],
    ),
    (
        "/api/liq/beta?symbol=BTC-USD&max_lag_weeks=8&extra=m2",
        ["liq", "beta", "BTC-USD", "--max-lag-weeks", "8", "--extra", "m2"],
    ),
    ("/api/liq/money?asof=2025-12-10", ["liq", "money", "--asof", "2025-12-10"]),
    ("/api/liq/capital?window=126", ["liq", "capital", "--window", "126"]),
    (
        "/api/energy/mining-vs-ai?asof=2024-11-12&hashrate=733.11&fees=0.155",
        [
            "energy",
            "mining-vs-ai",
            "--asof",
            "2024-11-12",
            "--hashrate",
            "733.11",
            "--fees",
            "0.155",
        ],
    ),
    (
        "/api/energy/mining-vs-ai?btc_price=100000&difficulty=150&power_price=45",
        [
            "energy",
            "mining-vs-ai",
            "--btc-price",
            "100000",
            "--difficulty",
            "150",
            "--power-price",
            "45",
        ],
    ),
]

#: Commands that open the store for writing (a cache, the default mode), run on a copy first.
WRITER_PAIRS = [
    (
        "/api/bubble/psy?symbol=NVDA&freq=W&cv=none&start=2022-01-01",
        ["bubble", "psy", "NVDA", "--freq", "W", "--cv", "none", "--start", "2022-01-01"],
    ),
    ("/api/series", ["data", "list"]),
    (
        "/api/series/NVDA?start=2025-12-01&end=2025-12-10",
        ["data", "show", "NVDA", "--start", "2025-12-01", "--end", "2025-12-10"],
    ),
]


def cli_json(db: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> object:
    capsys.readouterr()
    code = run(["--db", str(db), "--json", *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


@pytest.mark.parametrize(("url", "args"), PAIRS, ids=[p[0].split("?")[0] for p in PAIRS])
def test_endpoint_matches_cli_json(
    url: str,
    args: list[str],
    real_client: TestClient,
    real_store_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    response = real_client.get(url)
    assert response.status_code == 200, response.text
    expected = cli_json(real_store_path, args, capsys)
    assert strip_volatile(response.json()) == strip_volatile(expected)


@pytest.mark.parametrize(
    ("url", "args"), WRITER_PAIRS, ids=[p[0].split("?")[0] for p in WRITER_PAIRS]
)
def test_writer_command_matches_cli_json(
    url: str,
    args: list[str],
    real_store_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # DuckDB refuses a read-write and a read-only connection to one file in one process, so
    # the CLI runs on a private copy before a server opens it
    import shutil

    from powderkeg.api.app import ApiSettings, create_app

    db = tmp_path / "copy.duckdb"
    shutil.copy(real_store_path, db)
    expected = cli_json(db, args, capsys)
    with TestClient(create_app(ApiSettings(db=str(db)))) as client:
        response = client.get(url)
    assert response.status_code == 200, response.text
    assert strip_volatile(response.json()) == strip_volatile(expected)


def test_headline_correlation_value(real_client: TestClient) -> None:
    body = real_client.get("/api/link/corr?a=BTC-USD&b=^IXIC&window=30&asof=2025-12-10").json()
    assert body["end"] == "2025-12-10"
    assert body["n"] == 30
    assert 0.4 < body["value"] < 0.7
    assert body["series"][-1]["date"] == "2025-12-10"


class TestValidation:
    def test_bad_enum_names_the_field(self, reader: TestClient) -> None:
        r = reader.get("/api/link/corr?a=BTC-USD&b=NVDA&method=magic")
        assert r.status_code == 422
        (err,) = r.json()["detail"]
        assert err["loc"] == ["query", "method"]
        assert "pearson" in err["msg"]

    def test_missing_parameter(self, reader: TestClient) -> None:
        r = reader.get("/api/link/corr?a=BTC-USD")
        assert r.status_code == 422
        assert ["query", "b"] in [e["loc"] for e in r.json()["detail"]]

    def test_bad_date(self, reader: TestClient) -> None:
        r = reader.get("/api/link/corr?a=BTC-USD&b=NVDA&asof=10/12/2025")
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["query", "asof"]

    def test_out_of_range_number(self, reader: TestClient) -> None:
        r = reader.get("/api/link/leadlag?a=BTC-USD&b=NVDA&max_lag=0")
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["query", "max_lag"]

    def test_input_error_maps_to_422_naming_the_argument(self, reader: TestClient) -> None:
        r = reader.get("/api/link/corr?a=BTC-USD&b=NVDA&calendar=NOPE")
        assert r.status_code == 422, r.text
        (err,) = r.json()["detail"]
        assert err["loc"] == ["query", "calendar"]
        assert "NOPE" in err["msg"]

    def test_impossible_date_is_422(self, reader: TestClient) -> None:
        r = reader.get("/api/link/corr?a=BTC-USD&b=NVDA&asof=2025-13-45")
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["query", "asof"]

    def test_unshipped_claims_name(self, reader: TestClient) -> None:
        r = reader.get("/api/link/claims?name=etc-passwd")
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["query", "name"]

    def test_same_symbol_twice_for_dcc(self, reader: TestClient) -> None:
        r = reader.get("/api/link/dcc?symbols=NVDA&symbols=NVDA")
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["query", "symbols"]


class TestUnknownSymbols:
    @pytest.mark.parametrize(
        "url",
        [
            "/api/series/NOPE",
            "/api/link/corr?a=BTC-USD&b=NOPE",
            "/api/link/beta?asset=NOPE&market=NVDA",
            "/api/bubble/psy?symbol=NOPE&cv=none",
            "/api/frame?symbols=NVDA,NOPE",
        ],
    )
    def test_404(self, reader: TestClient, url: str) -> None:
        r = reader.get(url)
        assert r.status_code == 404, r.text
        assert "NOPE" in r.json()["detail"]


class TestPsyReads:
    def test_uncached_critical_values_are_409(self, reader: TestClient) -> None:
        r = reader.get("/api/bubble/psy?symbol=NVDA&freq=W&cv=mc&reps=100&seed=5")
        assert r.status_code == 409
        assert "POST /api/jobs/bubble/psy" in r.json()["detail"]

    def test_statistics_only(self, reader: TestClient) -> None:
        body = reader.get("/api/bubble/psy?symbol=NVDA&freq=W&cv=none").json()
        assert body["test"] == "GSADF"
        assert len(body["bsadf"]) == len(body["cv_sequence"]) > 10


def test_openapi_lists_every_endpoint(reader: TestClient) -> None:
    schema = reader.get("/openapi.json").json()
    paths = set(schema["paths"])
    for path in [
        "/api/health",
        "/api/series",
        "/api/series/{symbol}",
        "/api/frame",
        "/api/link/corr",
        "/api/link/spurious",
        "/api/link/claims",
        "/api/link/beta",
        "/api/link/tail",
        "/api/link/leadlag",
        "/api/link/granger",
        "/api/link/partial",
        "/api/link/event",
        "/api/link/dcc",
        "/api/link/regimes",
        "/api/bubble/psy",
        "/api/liq/net",
        "/api/liq/beta",
        "/api/liq/money",
        "/api/liq/capital",
        "/api/jobs",
        "/api/jobs/{job_id}",
        "/api/jobs/bubble/psy",
        "/api/data/import",
        "/api/jobs/stress",
        "/api/stress/scenarios",
        "/api/bubble/lppls",
        "/api/jobs/bubble/lppls",
    ]:
        assert path in paths, path
    params = {p["name"] for p in schema["paths"]["/api/link/corr"]["get"]["parameters"]}
    assert {"a", "b", "window", "method", "on", "returns", "calendar", "asof"} <= params


@pytest.mark.parametrize(
    "url", ["/api/bubble/psy?symbol=liquidity&cv=none", "/api/bubble/lppls?symbol=ai"]
)
def test_universe_name_is_not_a_single_series(reader: TestClient, url: str) -> None:
    # found by the fuzzer: universe names expand to baskets in Store.frame
    r = reader.get(url)
    assert r.status_code == 404, r.text
