"""Check quantitative claims (press figures, research notes) against the store.

A claims file is YAML: either a list of claims or a mapping with ``title``, ``description``
and ``claims``. Each claim has a ``type`` and the fields of that type; unknown keys are
rejected with the file, the claim index and its line.

Common fields
-------------
``type``
    ``correlation``, ``pct_change``, ``beta`` or ``drawdown``.
``stated``, ``tolerance``
    The claimed figure and how far the computed one may be from it and still support it
    (correlation and beta in their own units; percent changes and drawdowns in percentage
    points).
``source``, ``quote``
    Where the claim comes from, and its words.
``id``, ``note``, ``calendar``
    Optional label, comment, and alignment policy (default ``intersection``).

Per type
--------
``correlation``: ``a``, ``b``, ``window`` (observations or a span like ``3M``), ``end``,
``on`` (``levels`` or ``returns``: what the source most likely computed), ``method``
(default ``pearson``), ``returns`` (``log``/``simple``). Both the level and the return
correlation are always computed and shown; the verdict is on ``on``.

``pct_change``: ``symbol``, ``start``, ``end``: percent change between the closes on (or the
last before) the two dates.

``beta``: ``symbol``, ``market``, ``window``, ``end``, ``returns``: OLS slope of the symbol's
returns on the market's over the window.

``drawdown``: ``symbol``, ``end``, optional ``since``: the close at ``end`` against the
highest close since ``since`` (or since the series starts); the sign of ``stated`` is ignored.

Verdicts: ``supported`` (within tolerance), ``not supported``, ``insufficient data`` (missing
symbol, dates outside the data or after the as-of date, too few observations).
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from powderkeg.exceptions import DataFileError, InputError, InsufficientDataError
from powderkeg.linkage.correlation import correlate, parse_window
from powderkeg.results import Provenance, Result, Summary, Table
from powderkeg.transforms import returns

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INSUFFICIENT = "insufficient data"
#: Largest gap (days) between a requested date and the last close on or before it.
MAX_STALENESS_DAYS = 5


class _Claim(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    source: str
    quote: str | None = None
    note: str | None = None
    stated: float
    tolerance: Annotated[float, Field(ge=0)]
    calendar: str = "intersection"


class CorrelationClaim(_Claim):
    """A correlation over a window ending at a date."""

    type: Literal["correlation"]
    a: str
    b: str
    window: int | str
    end: dt.date
    on: Literal["levels", "returns"]
    method: Literal["pearson", "spearman", "kendall"] = "pearson"
    returns: Literal["log", "simple"] = "log"


class PctChangeClaim(_Claim):
    """A percent change between two dates."""

    type: Literal["pct_change"]
    symbol: str
    start: dt.date
    end: dt.date


class BetaClaim(_Claim):
    """A beta of one asset's returns on a market's over a window."""

    type: Literal["beta"]
    symbol: str
    market: str
    window: int | str
    end: dt.date
    returns: Literal["log", "simple"] = "log"


class DrawdownClaim(_Claim):
    """A drawdown from the running peak at a date."""

    type: Literal["drawdown"]
    symbol: str
    end: dt.date
    since: dt.date | None = None


Claim = CorrelationClaim | PctChangeClaim | BetaClaim | DrawdownClaim
CLAIM_TYPES: dict[str, type[_Claim]] = {
    "correlation": CorrelationClaim,
    "pct_change": PctChangeClaim,
    "beta": BetaClaim,
    "drawdown": DrawdownClaim,
}
_TOP_KEYS = {"title", "description", "claims"}


@dataclass(frozen=True)
class ClaimsFile:
    """A parsed claims file."""

    path: str
    claims: list[Claim]
    title: str = ""
    description: str = ""


def _item_lines(text: str) -> list[tuple[int, dict[str, int]]]:
    """Per claim: its 1-based line and the line of each of its keys (empty if unexpected)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "claims":
                node = value
                break
    if not isinstance(node, yaml.SequenceNode):
        return []
    out = []
    for item in node.value:
        keys = {}
        if isinstance(item, yaml.MappingNode):
            keys = {str(k.value): k.start_mark.line + 1 for k, _ in item.value}
        out.append((item.start_mark.line + 1, keys))
    return out


def _first_bad_key(exc: ValidationError) -> str | None:
    for err in exc.errors():
        if err["type"] != "missing" and err["loc"]:
            return str(err["loc"][0])
    return None


def _validation_message(exc: ValidationError, model: type[_Claim]) -> str:
    parts = []
    allowed = ", ".join(sorted(model.model_fields))
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key {loc!r} (allowed: {allowed})")
        elif err["type"] == "missing":
            parts.append(f"missing key {loc!r}")
        else:
            parts.append(f"{loc}: {err['msg']} (got {err.get('input')!r})")
    return "; ".join(parts)


def parse_claims(text: str, path: str = "<claims>") -> ClaimsFile:
    """Parse and strictly validate the YAML text of a claims file.

    Raises
    ------
    DataFileError
        Naming the file, the claim index (0-based) and its line.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataFileError(path, mark.line + 1 if mark else None, f"invalid YAML: {exc}") from None
    title = description = ""
    if isinstance(data, dict):
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise DataFileError(
                path,
                None,
                f"unknown top-level keys {sorted(unknown)} (allowed: {sorted(_TOP_KEYS)})",
            )
        title, description = str(data.get("title", "")), str(data.get("description", ""))
        data = data.get("claims")
    if not isinstance(data, list) or not data:
        raise DataFileError(path, None, "expected a non-empty list of claims")
    lines = _item_lines(text)
    claims: list[Claim] = []
    for i, item in enumerate(data):
        line, key_lines = lines[i] if i < len(lines) else (None, {})
        where = f"claim {i}"
        if not isinstance(item, dict):
            raise DataFileError(path, line, f"{where}: expected a mapping, got {item!r}")
        # YAML 1.1 reads a bare ``on:`` key as the boolean True; map it back.
        item = {("on" if k is True else k): v for k, v in item.items()}
        if isinstance(item.get("id"), str):
            where += f" ({item['id']})"
        kind = item.get("type")
        if kind not in CLAIM_TYPES:
            raise DataFileError(
                path, line, f"{where}: type must be one of {', '.join(CLAIM_TYPES)}; got {kind!r}"
            )
        model = CLAIM_TYPES[kind]
        try:
            claim = model.model_validate(item)
        except ValidationError as exc:
            bad = _first_bad_key(exc)
            at = key_lines.get(bad, line) if bad is not None else line
            raise DataFileError(path, at, f"{where}: {_validation_message(exc, model)}") from None
        if isinstance(claim, (CorrelationClaim, BetaClaim)):
            try:
                parse_window(claim.window)
            except InputError as exc:
                raise DataFileError(path, line, f"{where}: {exc}") from None
        if isinstance(claim, PctChangeClaim) and claim.start >= claim.end:
            raise DataFileError(path, line, f"{where}: start must be before end")
        claims.append(claim)  # type: ignore[arg-type]
    return ClaimsFile(path, claims, title, description)


def shipped_claims() -> list[str]:
    """Names of the claims files shipped with powderkeg (e.g. ``press-2025``)."""
    folder = importlib.resources.files("powderkeg.linkage") / "claims"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_claims(path: str | Path) -> ClaimsFile:
    """Read a claims file; a bare name such as ``press-2025`` finds a shipped file."""
    p = Path(path)
    if p.is_file():
        return parse_claims(p.read_text(encoding="utf-8"), str(p))
    name = p.name[:-5] if p.name.endswith(".yaml") else p.name
    if p.parent == Path(".") and name in shipped_claims():
        res = importlib.resources.files("powderkeg.linkage") / "claims" / f"{name}.yaml"
        return parse_claims(res.read_text(encoding="utf-8"), f"{name}.yaml (shipped)")
    raise InputError(
        f"claims file {str(path)!r} not found (shipped files: {', '.join(shipped_claims())})"
    )


@dataclass
class ClaimCheck:
    """The evaluation of one claim."""

    index: int
    claim: Claim
    description: str
    verdict: str
    computed: float = math.nan
    method: str = ""
    sample: dict[str, Any] = field(default_factory=dict)
    alternatives: dict[str, float] = field(default_factory=dict)
    explanation: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        c = self.claim
        return {
            "index": self.index,
            "id": c.id,
            "type": c.type,
            "description": self.description,
            "stated": c.stated,
            "tolerance": c.tolerance,
            "computed": self.computed,
            "difference": self.computed - c.stated if math.isfinite(self.computed) else None,
            "verdict": self.verdict,
            "method": self.method,
            "calendar": c.calendar,
            "sample": self.sample,
            "alternatives": self.alternatives,
            "explanation": self.explanation,
            "source": c.source,
            "quote": c.quote,
            "note": c.note,
        }


def _verdict(computed: float, claim: _Claim, stated: float | None = None) -> str:
    target = claim.stated if stated is None else stated
    return SUPPORTED if abs(computed - target) <= claim.tolerance + 1e-12 else NOT_SUPPORTED


def _close_on_or_before(
    series: pd.Series, date: pd.Timestamp, what: str
) -> tuple[float, pd.Timestamp]:
    s = series.dropna()
    s = s.loc[s.index <= date]
    if s.empty or (date - s.index[-1]).days > MAX_STALENESS_DAYS:
        raise InsufficientDataError(
            f"no close of {what} within {MAX_STALENESS_DAYS} days before {date:%Y-%m-%d}"
        )
    return float(s.iloc[-1]), pd.Timestamp(s.index[-1])


def _check_end(frame: pd.DataFrame, end: pd.Timestamp) -> None:
    if frame.empty or (end - frame.index[-1]).days > MAX_STALENESS_DAYS:
        last = "no data" if frame.empty else f"data end {frame.index[-1]:%Y-%m-%d}"
        raise InsufficientDataError(f"nothing aligned near {end:%Y-%m-%d} ({last})")


def _computed(
    c: Claim,
    verdict: str,
    value: float,
    *,
    method: str,
    sample: dict[str, Any],
    explanation: str,
    alternatives: dict[str, float] | None = None,
) -> ClaimCheck:
    """An evaluator's check; :func:`evaluate_claim` sets its index."""
    return ClaimCheck(
        index=-1,
        claim=c,
        description=describe(c),
        verdict=verdict,
        computed=value,
        method=method,
        sample=sample,
        alternatives=alternatives or {},
        explanation=explanation,
    )


def _eval_correlation(c: CorrelationClaim, store: Any) -> ClaimCheck:
    end = pd.Timestamp(c.end)
    prices = store.frame([c.a, c.b], end=end, calendar=c.calendar)
    _check_end(prices, end)
    res = {
        on: correlate(
            prices,
            c.a,
            c.b,
            window=c.window,
            method=c.method,
            on=on,
            returns_kind=c.returns,
            asof=end,
            calendar=c.calendar,
        )
        for on in ("levels", "returns")
    }
    main = res[c.on]
    other_on = "returns" if c.on == "levels" else "levels"
    other = res[other_on]
    verdict = _verdict(main.value, c)
    other_verdict = _verdict(other.value, c)
    expl = (
        f"On {c.on} (what the source most likely computed): {main.value:.3f} vs stated "
        f"{c.stated:g} ± {c.tolerance:g} -> {verdict}. On {other_on}: {other.value:.3f}"
        f" ({'would also be' if other_verdict == SUPPORTED else 'would not be'} within tolerance)."
        f" {main.statement()}"
    )
    recent = main.series.loc[main.series.index > end - pd.DateOffset(years=1)].dropna()
    if verdict == NOT_SUPPORTED and len(recent):
        pos = int(np.argmin(np.abs(recent.to_numpy() - c.stated)))
        expl += (
            f" Closest rolling value on {c.on} in the year to {end:%Y-%m-%d}: "
            f"{recent.iloc[pos]:.3f} on {recent.index[pos]:%Y-%m-%d}."
        )
    if c.on == "levels":
        expl += (
            " A level correlation of trending prices is not evidence of linkage; quote the "
            "return figure."
        )
    return _computed(
        c,
        verdict,
        main.value,
        method=f"{main.method_label} on {main.what}",
        sample={"n": main.n, "start": main.start, "end": main.end, "window": main.window},
        alternatives={
            f"on_{other_on}": other.value,
            "ci95_low": main.ci_low,
            "ci95_high": main.ci_high,
        },
        explanation=expl,
    )


def _eval_pct_change(c: PctChangeClaim, store: Any) -> ClaimCheck:
    start, end = pd.Timestamp(c.start), pd.Timestamp(c.end)
    prices = store.frame([c.symbol], end=end)[c.symbol]
    p0, d0 = _close_on_or_before(prices, start, c.symbol)
    p1, d1 = _close_on_or_before(prices, end, c.symbol)
    value = (p1 / p0 - 1.0) * 100.0
    verdict = _verdict(value, c)
    return _computed(
        c,
        verdict,
        value,
        method="close-to-close percent change, (p_end / p_start - 1) x 100",
        sample={"start": d0, "end": d1, "price_start": p0, "price_end": p1},
        explanation=(
            f"{c.symbol} closed at {p0:,.2f} on {d0:%Y-%m-%d} and {p1:,.2f} on {d1:%Y-%m-%d}: "
            f"{value:+.1f}% vs stated {c.stated:+g}% ± {c.tolerance:g} pp -> {verdict} (each "
            "close is the last one on or before the date, on the symbol's own calendar)."
        ),
    )


def _eval_beta(c: BetaClaim, store: Any) -> ClaimCheck:
    end = pd.Timestamp(c.end)
    prices = store.frame([c.symbol, c.market], end=end, calendar=c.calendar).dropna()
    _check_end(prices, end)
    rets = cast(pd.DataFrame, returns(prices, c.returns))
    spec = parse_window(c.window)
    starts, ends = spec.bounds(pd.DatetimeIndex(rets.index))
    lo, hi = int(starts[-1]), int(ends[-1])
    if hi - lo < 3:
        raise InsufficientDataError(f"only {hi - lo} aligned returns for window {spec.label}")
    win = rets.iloc[lo:hi]
    y = win[c.symbol].to_numpy()
    x = win[c.market].to_numpy()
    xc = x - x.mean()
    value = float(np.dot(xc, y - y.mean()) / np.dot(xc, xc))
    verdict = _verdict(value, c)
    return _computed(
        c,
        verdict,
        value,
        method=f"OLS slope of {c.returns} returns (with intercept)",
        sample={"n": len(win), "start": win.index[0], "end": win.index[-1], "window": spec.label},
        explanation=(
            f"beta {value:.3f} over {len(win)} {c.returns} returns "
            f"{win.index[0]:%Y-%m-%d} to {win.index[-1]:%Y-%m-%d} ({c.calendar} calendar) vs "
            f"stated {c.stated:g} ± {c.tolerance:g} -> {verdict}."
        ),
    )


def _eval_drawdown(c: DrawdownClaim, store: Any) -> ClaimCheck:
    end = pd.Timestamp(c.end)
    prices = store.frame([c.symbol], end=end)[c.symbol].dropna()
    if c.since is not None:
        prices = prices.loc[prices.index >= pd.Timestamp(c.since)]
    p1, d1 = _close_on_or_before(prices, end, c.symbol)
    peak_date = pd.Timestamp(prices.idxmax())
    peak = float(prices.max())
    value = (p1 / peak - 1.0) * 100.0
    verdict = _verdict(value, c, stated=-abs(c.stated))
    return _computed(
        c,
        verdict,
        value,
        method="(close / highest close to date - 1) x 100",
        sample={"peak_date": peak_date, "peak": peak, "end": d1, "price_end": p1},
        explanation=(
            f"peak {peak:,.2f} on {peak_date:%Y-%m-%d}, close {p1:,.2f} on {d1:%Y-%m-%d}: "
            f"{value:.1f}% vs stated -{abs(c.stated):g}% ± {c.tolerance:g} pp -> {verdict}."
        ),
    )


_EVALUATORS: dict[str, Any] = {
    "correlation": _eval_correlation,
    "pct_change": _eval_pct_change,
    "beta": _eval_beta,
    "drawdown": _eval_drawdown,
}


def _claim_symbols(c: Claim) -> list[str]:
    if isinstance(c, CorrelationClaim):
        return [c.a, c.b]
    if isinstance(c, BetaClaim):
        return [c.symbol, c.market]
    return [c.symbol]


def describe(claim: Claim) -> str:
    """A one-line description of what a claim asserts."""
    end = f"{pd.Timestamp(claim.end):%Y-%m-%d}"
    if isinstance(claim, CorrelationClaim):
        return (
            f"{claim.a} vs {claim.b} {claim.method} correlation, window {claim.window} ending {end}"
        )
    if isinstance(claim, PctChangeClaim):
        return f"{claim.symbol} % change {pd.Timestamp(claim.start):%Y-%m-%d} to {end}"
    if isinstance(claim, BetaClaim):
        return f"beta of {claim.symbol} on {claim.market}, window {claim.window} ending {end}"
    since = f" since {pd.Timestamp(claim.since):%Y-%m-%d}" if claim.since else ""
    return f"{claim.symbol} drawdown from peak{since} at {end}"


def evaluate_claim(claim: Claim, store: Any, *, index: int = 0, asof: Any = None) -> ClaimCheck:
    """Evaluate one claim against the store (data up to ``asof`` only, if given)."""
    desc = describe(claim)
    cutoff = None if asof is None else pd.Timestamp(asof)
    last = pd.Timestamp(claim.end)
    if cutoff is not None and last > cutoff:
        return ClaimCheck(
            index,
            claim,
            desc,
            INSUFFICIENT,
            explanation=f"the claim's end date {last:%Y-%m-%d} is after the as-of date "
            f"{cutoff:%Y-%m-%d}.",
        )
    have = set(store.symbols())
    missing = [s for s in _claim_symbols(claim) if s not in have]
    if missing:
        return ClaimCheck(
            index, claim, desc, INSUFFICIENT, explanation=f"not in the store: {', '.join(missing)}."
        )
    try:
        check: ClaimCheck = _EVALUATORS[claim.type](claim, store)
    except InsufficientDataError as exc:
        return ClaimCheck(index, claim, desc, INSUFFICIENT, explanation=f"{exc}.")
    check.index = index
    return check


@dataclass
class ClaimsResult(Result):
    """Verdicts on every claim of a file.

    JSON keys: ``file``, ``title``, ``counts`` (per verdict), ``claims`` (per claim:
    ``stated``, ``computed``, ``verdict``, ``method``, ``calendar``, ``sample``,
    ``alternatives``, ``explanation``, ``source``, ``quote``).
    """

    file: str
    title: str
    checks: list[ClaimCheck]
    provenance: Provenance = field(default_factory=Provenance)

    def counts(self) -> dict[str, int]:
        """Number of claims per verdict."""
        out = {SUPPORTED: 0, NOT_SUPPORTED: 0, INSUFFICIENT: 0}
        for c in self.checks:
            out[c.verdict] += 1
        return out

    def _payload(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "title": self.title,
            "counts": self.counts(),
            "claims": [c.to_dict() for c in self.checks],
        }

    def summary(self) -> Summary:
        """One row per claim; the explanations as notes."""
        rows = [
            [c.index, c.claim.id or c.description, c.claim.stated, c.computed, c.verdict, c.method]
            for c in self.checks
        ]
        table = Table("claims", ["#", "claim", "stated", "computed", "verdict", "method"], rows)
        notes = [f"[{c.index}] {c.explanation} Source: {c.claim.source}." for c in self.checks]
        facts = [(k, v) for k, v in self.counts().items()]
        return Summary(f"Claims: {self.title or self.file}", facts, [table], notes)

    def to_frame(self) -> pd.DataFrame:
        """One row per claim."""
        return pd.DataFrame([c.to_dict() for c in self.checks]).set_index("index")


def evaluate_claims(claims: ClaimsFile, store: Any, *, asof: Any = None) -> ClaimsResult:
    """Evaluate every claim of a file against the store.

    Parameters
    ----------
    claims : ClaimsFile
        From :func:`load_claims` or :func:`parse_claims`.
    store : Store
    asof : date-like, optional
        Use no data after this date (claims ending later are ``insufficient data``).

    Returns
    -------
    ClaimsResult
    """
    checks = [evaluate_claim(c, store, index=i, asof=asof) for i, c in enumerate(claims.claims)]
    symbols = sorted({s for c in claims.claims for s in _claim_symbols(c)} & set(store.symbols()))
    prov = Provenance(
        sources=store.provenance(symbols), parameters={"file": claims.path, "asof": asof}
    )
    return ClaimsResult(claims.path, claims.title, checks, prov)
