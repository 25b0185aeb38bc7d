"""The modelled financial system: agents, contracts, assets and parameters (model-spec §3).

A :class:`System` is immutable. Build it with :meth:`System.default` (a stylised US system
with every institution type of model-spec §3.3–3.4, USD bn, all sizes [A]) or
:meth:`System.from_dict` (a dict of institution groups, contracts and parameters). Every
asset is a claim on an explicit counterparty: bilateral contracts have a lender and a
borrower among the agents; securities and marked books are claims on issuers outside the
system whose residual float is held by the ``outside`` sector; money is a claim on the
``central_bank``; fund shares are the funds' equity, owned by ``households``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from powderkeg.contagion.balance_sheet import CONTRACT_NAMES, Contract, Network
from powderkeg.contagion.clearing import DebtRankResult, debtrank
from powderkeg.contagion.institutions import (
    AGENT_PARAMS,
    OUTSIDE_SECTORS,
    TYPE_NAMES,
    AgentType,
    default_param,
)
from powderkeg.contagion.markets import SCHEDULES
from powderkeg.contagion.policy import PolicyParams
from powderkeg.contagion.stablecoins import StablecoinParams
from powderkeg.exceptions import InputError

#: Per-asset fields with their defaults (used when an asset spec omits them).
ASSET_FIELDS: dict[str, Any] = {
    "depth": 100.0,  # D⁰, USD bn (model-spec §1.4)
    "impact": "exponential",  # or "linear" (floored)
    "floor": 0.0,  # floor price B_k / P_k⁰
    "schedule": "exchange",  # daily | exchange | marked
    "haircut": 0.15,  # initial repo haircut h₀ (§3.3.2)
    "min_depth": 0.3,  # g_min of the stress depth multiplier (§1.4)
    "priority": 50,  # order in which liquidity sellers dump it (low = first)
    "rate_sensitivity": 0.0,  # return per unit of policy-rate cut (§5.5 item 4) [A]
    "liquidity_beta": 0.0,  # β^liq on Δln NL (§5.3–5.5)
    "stablecoin_beta": 0.0,  # γ_SC on Δln stablecoin supply (§4.3)
    "spread_beta": 0.0,  # share of AI-spread changes passed to this asset's spread [A]
    "spread_duration": 0.0,  # price sensitivity to its spread
    "facility": False,  # eligible for the central-bank facility (collateral, depth support)
    "dealer_capacity": 0.0,  # dealers' balance-sheet capacity (USD bn), split across dealers
}

#: Default asset table (USD bn; [A] values motivated in model-spec §1.4, §3.3.2, §5.3–5.5).
#: Depths follow the square-root-law calibration ``D = c·ADV·√τ/σ`` of the *whole* market
#: (c = 0.5; e.g. BTC: ADV ≈ 30, σ ≈ 2.5 %, τ = 1 ⇒ ≈ 600), so they apply to sales of the
#: modelled institutions into the full free float; stress multiplies them by g(SI) down to
#: ``min_depth`` (BTC 0.1 ⇒ ≈ 50, the 10-Oct-2025 back-of-envelope of §1.4).
DEFAULT_ASSETS: dict[str, dict[str, Any]] = {
    "ai_equity": {
        "depth": 3000.0,
        "haircut": 0.15,
        "min_depth": 0.3,
        "priority": 4,
        "rate_sensitivity": 3.0,
        "liquidity_beta": 1.0,
        "dealer_capacity": 20.0,
    },
    "other_equity": {
        "depth": 10000.0,
        "haircut": 0.15,
        "min_depth": 0.4,
        "priority": 5,
        "rate_sensitivity": 2.0,
        "liquidity_beta": 0.5,
        "dealer_capacity": 40.0,
    },
    "btc": {
        "depth": 500.0,
        "schedule": "daily",
        "haircut": 0.3,
        "min_depth": 0.1,
        "priority": 0,
        "liquidity_beta": 3.0,
        "stablecoin_beta": 0.5,
    },
    "other_crypto": {
        "depth": 150.0,
        "schedule": "daily",
        "haircut": 0.5,
        "min_depth": 0.1,
        "priority": 1,
        "liquidity_beta": 3.5,
        "stablecoin_beta": 0.8,
    },
    "tbills": {
        "depth": 20000.0,
        "impact": "linear",
        "haircut": 0.01,
        "min_depth": 0.5,
        "priority": 2,
        "rate_sensitivity": 0.25,
        "facility": True,
        "dealer_capacity": 200.0,
    },
    "tnotes": {
        "depth": 8000.0,
        "impact": "linear",
        "haircut": 0.02,
        "min_depth": 0.3,
        "priority": 3,
        "rate_sensitivity": 6.0,
        "facility": True,
        "dealer_capacity": 80.0,
    },
    "ig_credit": {
        "depth": 1500.0,
        "haircut": 0.04,
        "min_depth": 0.3,
        "priority": 6,
        "rate_sensitivity": 5.0,
        "spread_beta": 0.3,
        "spread_duration": 7.0,
        "facility": True,
        "dealer_capacity": 15.0,
    },
    "hy_credit": {
        "depth": 300.0,
        "haircut": 0.08,
        "min_depth": 0.2,
        "priority": 7,
        "rate_sensitivity": 3.0,
        "spread_beta": 0.6,
        "spread_duration": 4.0,
        "dealer_capacity": 5.0,
    },
    "loans": {"depth": 1.0, "schedule": "marked", "haircut": 1.0, "priority": 99},
    "data_centres": {"depth": 1.0, "schedule": "marked", "haircut": 1.0, "priority": 99},
}

#: A stylised one-day AI / crypto sell-off on :data:`DEFAULT_ASSETS` (log returns), as used
#: by the engine tests and benchmark.
AI_CRYPTO_SHOCK: dict[str, float] = {
    "ai_equity": -0.35,
    "data_centres": -0.3,
    "btc": -0.15,
    "other_crypto": -0.2,
    "other_equity": -0.1,
    "hy_credit": -0.05,
}


@dataclass(frozen=True)
class EngineParams:
    """Scalar engine parameters (model-spec §1 table, §2.4, §3.3, §7).

    Attributes
    ----------
    execution : float
        ``α``: share of a round's impact borne by the units sold (0.5 = mid-point).
    max_rounds : int
        ``n_max`` sub-rounds per day (§7: 20).
    tol : float
        Order/payment tolerance (USD bn) for the within-day stop.
    haircut_slope : float
        Procyclical haircut slope ``s`` [A].
    dealer_kink : float
        ``g_dealer``: depth multiplier beyond dealer capacity (§3.3.4).
    stress_scale : float
        Scale ``s`` of the stress depth multiplier ``g(SI)``.
    recovery_external, recovery_interbank : float
        Rogers–Veraart ``α`` and ``β`` (1 = Eisenberg–Noe, no default costs).
    mark_speed : float
        ``θ_mark``: daily speed at which private-credit marks catch up with fair value.
    private_credit_duration : float
        Spread duration of private-credit loans.
    theta_leverage, theta_drawdown : float
        AI-spread sensitivities (§3.4 [A]).
    quiet_days : int
        Early stop after this many quiet days (§7 rule b).
    capex_scale : float
        Multiplier on every agent's ``capex`` (0 switches AI capex/commitments off).
    """

    execution: float = 0.5
    max_rounds: int = 20
    tol: float = 1e-9
    haircut_slope: float = 1.0
    dealer_kink: float = 0.2
    stress_scale: float = 2.0
    recovery_external: float = 1.0
    recovery_interbank: float = 1.0
    mark_speed: float = 0.1
    private_credit_duration: float = 3.0
    theta_leverage: float = 5.0
    theta_drawdown: float = 2.0
    quiet_days: int = 10
    capex_scale: float = 1.0


@dataclass(frozen=True)
class System:
    """Agents, contracts and markets of a system-wide stress test (immutable).

    Attributes
    ----------
    agent_names : tuple of str (N)
    agent_types : ndarray of int (N,), :class:`AgentType` codes
    units0 : ndarray (N, K)
        Initial holdings (units; every price starts at 1, so units = USD bn).
    cash0 : ndarray (N,)
    lender, borrower, kind : ndarray of int (E,)
        Contracts (see :class:`~powderkeg.contagion.balance_sheet.Contract`).
    face0 : ndarray (E,)
        Initial nominal amounts (USD bn).
    limit : ndarray (E,)
        Maximum face for drawable contracts (credit lines, private-credit loans,
        central-bank loans); equal to ``face0`` for the others.
    asset_names : tuple of str (K)
    assets : dict of ndarray (K,)
        Per-asset fields (:data:`ASSET_FIELDS`); ``schedule`` is a tuple of str.
    agent_params : dict of ndarray (N,)
        Per-agent parameters (:data:`~powderkeg.contagion.institutions.AGENT_PARAMS`).
    params, policy, stablecoin : parameter dataclasses
    """

    agent_names: tuple[str, ...]
    agent_types: np.ndarray
    units0: np.ndarray
    cash0: np.ndarray
    lender: np.ndarray
    borrower: np.ndarray
    kind: np.ndarray
    face0: np.ndarray
    limit: np.ndarray
    asset_names: tuple[str, ...]
    assets: dict[str, Any]
    agent_params: dict[str, np.ndarray]
    params: EngineParams = field(default_factory=EngineParams)
    policy: PolicyParams = field(default_factory=PolicyParams)
    stablecoin: StablecoinParams = field(default_factory=StablecoinParams)

    # ------------------------------------------------------------------ basic views
    @property
    def n_agents(self) -> int:
        """``N``."""
        return len(self.agent_names)

    @property
    def n_assets(self) -> int:
        """``K``."""
        return len(self.asset_names)

    @property
    def network(self) -> Network:
        """The contract network (aggregation operators)."""
        return Network.build(self.lender, self.borrower, self.kind, self.n_agents)

    def index(self, name: str) -> int:
        """Index of agent ``name``."""
        try:
            return self.agent_names.index(name)
        except ValueError:
            raise InputError(f"unknown agent {name!r}") from None

    def asset_index(self, name: str) -> int:
        """Index of asset ``name``."""
        try:
            return self.asset_names.index(name)
        except ValueError:
            raise InputError(f"unknown asset {name!r}; assets: {self.asset_names}") from None

    def of_type(self, kind: AgentType) -> np.ndarray:
        """Indices of the agents of one type."""
        return np.flatnonzero(self.agent_types == int(kind))

    def initial_equity(self) -> np.ndarray:
        """``E⁰ = A⁰ − L⁰`` per agent (USD bn)."""
        net = self.network
        face = self.face0[None, :]
        assets = self.cash0 + self.units0.sum(axis=1) + net.by_lender(face)[0]
        return assets - net.by_borrower(face)[0]

    def with_params(self, **changes: Any) -> System:
        """A copy with some :class:`EngineParams` fields changed."""
        return replace(self, params=replace(self.params, **changes))

    def permuted(self, order: np.ndarray) -> System:
        """The same system with agents relabelled in ``order`` (for order-independence tests)."""
        order = np.asarray(order)
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return replace(
            self,
            agent_names=tuple(self.agent_names[i] for i in order),
            agent_types=self.agent_types[order],
            units0=self.units0[order],
            cash0=self.cash0[order],
            lender=inverse[self.lender],
            borrower=inverse[self.borrower],
            agent_params={k: v[order] for k, v in self.agent_params.items()},
        )

    def debtrank_screen(self, shock: dict[str, float]) -> DebtRankResult:
        """DebtRank screening of direct exposures (model-spec §2.3), a clearing cross-check.

        Parameters
        ----------
        shock : dict
            Initial relative distress per agent name (1 = default).
        """
        n = self.n_agents
        exposures = np.zeros((n, n))
        np.add.at(exposures, (self.lender, self.borrower), self.face0)
        equity = self.initial_equity()
        keep = np.flatnonzero(
            ~np.isin(self.agent_types, [int(t) for t in OUTSIDE_SECTORS]) & (equity > 0)
        )
        h0 = np.zeros(len(keep))
        names = [self.agent_names[i] for i in keep]
        for name, value in shock.items():
            if name not in names:
                raise InputError(f"{name!r} is not a screened agent (positive equity, not outside)")
            h0[names.index(name)] = value
        return debtrank(exposures[np.ix_(keep, keep)], equity[keep], h0, names=names)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> System:
        """Build a system from a dict of institution groups, contracts and parameters.

        Format::

            {"assets": {name: {field: value}},          # optional, default DEFAULT_ASSETS
             "groups": {group: {"type": "bank",          # an AgentType name
                                "params": {...},         # per-agent params for the group
                                "agents": {name: {"cash": 10, "holdings": {asset: units},
                                                  "params": {...}}}}},
             "contracts": [{"kind": "deposit", "lender": "households",
                            "borrower": "bank_1", "amount": 100, "limit": 150}],
             "params": {...}, "policy": {...}, "stablecoin": {...}}

        ``outside``, ``households`` and ``central_bank`` are added when absent; a
        central-bank loan contract (face 0) is added for every bank and dealer.
        """
        known = {"assets", "groups", "contracts", "params", "policy", "stablecoin"}
        unknown = set(spec) - known
        if unknown:
            raise InputError(f"unknown keys {sorted(unknown)}; supported: {sorted(known)}")
        asset_spec = spec.get("assets", DEFAULT_ASSETS)
        asset_names = tuple(asset_spec)
        assets: dict[str, Any] = {}
        for fname, fdefault in ASSET_FIELDS.items():
            vals = [asset_spec[a].get(fname, fdefault) for a in asset_names]
            for a in asset_names:
                bad = set(asset_spec[a]) - set(ASSET_FIELDS)
                if bad:
                    raise InputError(f"asset {a!r}: unknown fields {sorted(bad)}")
            if fname == "schedule":
                for v in vals:
                    if v not in SCHEDULES:
                        raise InputError(f"schedule must be one of {SCHEDULES}, got {v!r}")
                assets[fname] = tuple(vals)
            elif fname == "impact":
                assets["exponential"] = np.array([v == "exponential" for v in vals])
                for v in vals:
                    if v not in ("exponential", "linear"):
                        raise InputError(f"impact must be 'exponential' or 'linear', got {v!r}")
            elif fname == "facility":
                assets[fname] = np.array(vals, dtype=bool)
            else:
                assets[fname] = np.array(vals, dtype=np.float64)
        if np.any(assets["depth"] <= 0):
            raise InputError("asset depth must be positive")
        K = len(asset_names)
        names: list[str] = []
        types: list[int] = []
        cash: list[float] = []
        holdings: list[np.ndarray] = []
        per_agent: list[dict[str, float]] = []
        for gname, group in spec.get("groups", {}).items():
            tname = group.get("type")
            if tname not in TYPE_NAMES:
                raise InputError(f"group {gname!r}: type must be one of {sorted(TYPE_NAMES)}")
            kind = TYPE_NAMES[tname]
            common = dict(group.get("params", {}))
            for aname, agent in group.get("agents", {}).items():
                if aname in names:
                    raise InputError(f"duplicate agent name {aname!r}")
                names.append(aname)
                types.append(int(kind))
                cash.append(float(agent.get("cash", 0.0)))
                row = np.zeros(K)
                for asset, units in agent.get("holdings", {}).items():
                    if asset not in asset_names:
                        raise InputError(f"agent {aname!r}: unknown asset {asset!r}")
                    row[asset_names.index(asset)] = float(units)
                holdings.append(row)
                params = {**common, **agent.get("params", {})}
                bad = set(params) - set(AGENT_PARAMS)
                if bad:
                    raise InputError(
                        f"agent {aname!r}: unknown params {sorted(bad)}; "
                        f"supported: {sorted(AGENT_PARAMS)}"
                    )
                per_agent.append(params)
        for sector, kind in (
            ("outside", AgentType.OUTSIDE),
            ("households", AgentType.HOUSEHOLDS),
            ("central_bank", AgentType.CENTRAL_BANK),
        ):
            if int(kind) not in types:
                names.append(sector)
                types.append(int(kind))
                cash.append(0.0)
                holdings.append(np.zeros(K))
                per_agent.append({})
            elif types.count(int(kind)) > 1:
                raise InputError(f"only one {kind.name.lower()} agent is allowed")
        type_arr = np.array(types, dtype=np.int64)
        agent_params = {
            pname: np.array(
                [
                    float(p.get(pname, default_param(pname, AgentType(t))))
                    for p, t in zip(per_agent, types)
                ]
            )
            for pname in AGENT_PARAMS
        }
        lenders, borrowers, kinds, faces, limits = [], [], [], [], []
        for c in spec.get("contracts", []):
            kname = c.get("kind")
            if kname not in CONTRACT_NAMES:
                raise InputError(f"contract kind must be one of {sorted(CONTRACT_NAMES)}")
            for role in ("lender", "borrower"):
                if c.get(role) not in names:
                    raise InputError(f"contract {c}: unknown {role} {c.get(role)!r}")
            amount = float(c.get("amount", 0.0))
            if amount < 0:
                raise InputError(f"contract {c}: amount must be >= 0")
            lenders.append(names.index(c["lender"]))
            borrowers.append(names.index(c["borrower"]))
            kinds.append(int(CONTRACT_NAMES[kname]))
            faces.append(amount)
            limits.append(float(c.get("limit", amount)))
        cb = names.index("central_bank")
        for i, t in enumerate(types):
            if t in (int(AgentType.BANK), int(AgentType.DEALER)):
                lenders.append(cb)
                borrowers.append(i)
                kinds.append(int(Contract.CB_LOAN))
                faces.append(0.0)
                limits.append(math.inf)
        engine = EngineParams(**spec.get("params", {}))
        policy = PolicyParams(**spec.get("policy", {}))
        stable = StablecoinParams(**spec.get("stablecoin", {}))
        return cls(
            agent_names=tuple(names),
            agent_types=type_arr,
            units0=np.array(holdings).reshape(len(names), K),
            cash0=np.array(cash),
            lender=np.array(lenders, dtype=np.int64),
            borrower=np.array(borrowers, dtype=np.int64),
            kind=np.array(kinds, dtype=np.int64),
            face0=np.array(faces, dtype=np.float64),
            limit=np.array(limits, dtype=np.float64),
            asset_names=asset_names,
            assets=assets,
            agent_params=agent_params,
            params=engine,
            policy=policy,
            stablecoin=stable,
        )

    @classmethod
    def default(cls, calibration: dict[str, Any] | None = None) -> System:
        """A stylised US system with every institution type (USD bn, sizes [A]).

        Banks (two G-SIB prime brokers, two regionals), four hedge funds (Treasury basis,
        multi-strategy, AI long, crypto), two asset managers, a spot BTC ETF, two
        private-credit funds, two crypto leverage buckets (10x, 3x), two stablecoin issuers
        (USDT-like with BTC reserves, USDC-like with concentrated regional deposits), a
        strategic allocator, a dealer and two AI borrowers (hyperscaler-like, neocloud-like).

        Parameters
        ----------
        calibration : dict, optional
            ``params`` / ``policy`` / ``stablecoin``: parameter overrides;
            ``assets``: ``{asset: {field: value}}`` overrides; ``agent_params``:
            ``{agent: {param: value}}``; ``scale``: ``{type name: count}`` splits each agent
            of that type into ``count / (agents of the type)`` heterogeneous copies (for
            benchmarks with hundreds of institutions).
        """
        cal = dict(calibration or {})
        known = {"params", "policy", "stablecoin", "assets", "agent_params", "scale"}
        bad = set(cal) - known
        if bad:
            raise InputError(f"unknown calibration keys {sorted(bad)}; supported: {sorted(known)}")
        spec = _default_spec()
        assets = {k: dict(v) for k, v in DEFAULT_ASSETS.items()}
        for a, fields in cal.get("assets", {}).items():
            if a not in assets:
                raise InputError(f"unknown asset {a!r}")
            assets[a].update(fields)
        spec["assets"] = assets
        for name, params in cal.get("agent_params", {}).items():
            for group in spec["groups"].values():
                if name in group["agents"]:
                    group["agents"][name].setdefault("params", {}).update(params)
                    break
            else:
                raise InputError(f"unknown agent {name!r}")
        for key in ("params", "policy", "stablecoin"):
            if key in cal:
                spec[key] = dict(cal[key])
        if "scale" in cal:
            spec = _scale_spec(spec, cal["scale"])
        return cls.from_dict(spec)


# --------------------------------------------------------------------------- default data
def _default_spec() -> dict[str, Any]:
    """Stylised balance sheets; bank household deposits are the balancing item."""
    groups: dict[str, Any] = {
        "outside": {
            "type": "outside",
            "agents": {
                "outside": {
                    "cash": 50_000.0,
                    "holdings": {
                        "ai_equity": 20_000,
                        "other_equity": 40_000,
                        "btc": 1_500,
                        "other_crypto": 1_000,
                        "tbills": 6_000,
                        "tnotes": 20_000,
                        "ig_credit": 8_000,
                        "hy_credit": 1_200,
                    },
                }
            },
        },
        "households": {"type": "households", "agents": {"households": {}}},
        "central_bank": {"type": "central_bank", "agents": {"central_bank": {}}},
        "banks": {
            "type": "bank",
            "agents": {
                "gsib_1": {
                    "cash": 250,
                    "holdings": {
                        "tbills": 250,
                        "tnotes": 400,
                        "ig_credit": 150,
                        "other_equity": 50,
                        "loans": 1200,
                    },
                },
                "gsib_2": {
                    "cash": 200,
                    "holdings": {
                        "tbills": 200,
                        "tnotes": 350,
                        "ig_credit": 120,
                        "other_equity": 40,
                        "loans": 1000,
                    },
                },
                "regional_1": {
                    "cash": 30,
                    "holdings": {"tbills": 20, "tnotes": 60, "ig_credit": 20, "loans": 250},
                },
                "regional_2": {
                    "cash": 25,
                    "holdings": {"tbills": 15, "tnotes": 50, "ig_credit": 15, "loans": 200},
                },
            },
        },
        "hedge_funds": {
            "type": "hedge_fund",
            "agents": {
                "hf_basis": {"cash": 25, "holdings": {"tnotes": 1000}},
                "hf_multi": {
                    "cash": 20,
                    "holdings": {
                        "ai_equity": 80,
                        "other_equity": 120,
                        "ig_credit": 40,
                        "hy_credit": 20,
                        "btc": 10,
                    },
                },
                "hf_ai": {
                    "cash": 10,
                    "holdings": {
                        "ai_equity": 150,
                        "other_equity": 30,
                        "btc": 20,
                        "other_crypto": 5,
                    },
                },
                "hf_crypto": {
                    "cash": 5,
                    "holdings": {"btc": 40, "other_crypto": 15, "ai_equity": 10},
                },
            },
        },
        "asset_managers": {
            "type": "asset_manager",
            "agents": {
                "am_equity": {
                    "cash": 30,
                    "holdings": {"ai_equity": 400, "other_equity": 800, "tbills": 20},
                },
                "am_credit": {
                    "cash": 15,
                    "holdings": {"ig_credit": 250, "hy_credit": 80, "tbills": 30, "tnotes": 50},
                },
            },
        },
        "etfs": {"type": "btc_etf", "agents": {"btc_etf": {"cash": 1, "holdings": {"btc": 110}}}},
        "private_credit": {
            "type": "private_credit",
            "agents": {"pc_1": {"cash": 8}, "pc_2": {"cash": 6}},
        },
        "crypto_leverage": {
            "type": "crypto_leverage",
            "agents": {
                "perp_10x": {
                    "holdings": {"btc": 40, "other_crypto": 20},
                    "params": {"maintenance_margin": 0.03},
                },
                "perp_3x": {
                    "holdings": {"btc": 30, "other_crypto": 15},
                    "params": {"maintenance_margin": 0.10},
                },
            },
        },
        "stablecoins": {
            "type": "stablecoin",
            "agents": {
                "usdt_like": {"cash": 8, "holdings": {"tbills": 120, "tnotes": 15, "btc": 10}},
                "usdc_like": {"cash": 7, "holdings": {"tbills": 55}},
            },
        },
        "allocators": {
            "type": "allocator",
            "agents": {
                "allocator": {
                    "cash": 15,
                    "holdings": {
                        "btc": 8,
                        "ai_equity": 40,
                        "other_equity": 60,
                        "tbills": 10,
                        "data_centres": 20,
                    },
                    "params": {"capex": 0.4},
                }
            },
        },
        "dealers": {
            "type": "dealer",
            "agents": {
                "dealer": {"cash": 120, "holdings": {"tnotes": 60, "tbills": 40, "ig_credit": 10}}
            },
        },
        "ai_borrowers": {
            "type": "ai_borrower",
            "agents": {
                "ai_hyperscaler": {
                    "cash": 60,
                    "holdings": {"data_centres": 600},
                    "params": {"capex": 1.0, "spread0": 0.008},
                },
                "ai_neocloud": {
                    "cash": 6,
                    "holdings": {"data_centres": 180},
                    "params": {"capex": 0.4, "spread0": 0.02},
                },
            },
        },
    }
    contracts = [
        ("repo", "gsib_1", "hf_basis", 500),
        ("repo", "gsib_2", "hf_basis", 450),
        ("repo", "gsib_1", "hf_multi", 160),
        ("repo", "gsib_1", "hf_ai", 60),
        ("repo", "gsib_2", "hf_ai", 60),
        ("repo", "gsib_2", "hf_crypto", 30),
        ("interbank", "gsib_1", "regional_1", 30),
        ("interbank", "gsib_2", "regional_2", 20),
        ("interbank", "gsib_2", "dealer", 100),
        ("loan", "gsib_1", "ai_hyperscaler", 40),
        ("loan", "gsib_2", "ai_neocloud", 15),
        ("loan", "regional_2", "ai_neocloud", 10),
        ("margin_loan", "outside", "perp_10x", 54),
        ("margin_loan", "outside", "perp_3x", 30),
        ("deposit", "usdt_like", "gsib_1", 8),
        ("deposit", "usdt_like", "gsib_2", 5),
        ("deposit", "usdt_like", "regional_2", 2),
        ("deposit", "usdc_like", "gsib_1", 4),
        ("deposit", "usdc_like", "gsib_2", 3),
        ("deposit", "usdc_like", "regional_1", 5),
        ("stablecoin", "households", "usdt_like", 160),
        ("stablecoin", "households", "usdc_like", 73),
    ]
    drawable = [
        ("credit_line", "gsib_1", "pc_1", 40, 80),
        ("credit_line", "regional_1", "pc_1", 15, 25),
        ("credit_line", "gsib_2", "pc_2", 30, 60),
        ("private_credit", "pc_1", "ai_hyperscaler", 60, 100),
        ("private_credit", "pc_1", "ai_neocloud", 40, 60),
        ("private_credit", "pc_2", "ai_neocloud", 50, 70),
        ("private_credit", "pc_2", "ai_hyperscaler", 30, 60),
    ]
    out: list[dict[str, Any]] = [
        {"kind": k, "lender": a, "borrower": b, "amount": float(x)} for k, a, b, x in contracts
    ]
    out += [
        {"kind": k, "lender": a, "borrower": b, "amount": float(x), "limit": float(lim)}
        for k, a, b, x, lim in drawable
    ]
    equity_ratio = {"gsib_1": 0.065, "gsib_2": 0.065, "regional_1": 0.08, "regional_2": 0.08}
    for bank, ratio in equity_ratio.items():
        agent = groups["banks"]["agents"][bank]
        assets = agent["cash"] + sum(agent["holdings"].values())
        assets += sum(float(c["amount"]) for c in out if c["lender"] == bank)
        owed = sum(float(c["amount"]) for c in out if c["borrower"] == bank)
        out.append(
            {
                "kind": "deposit",
                "lender": "households",
                "borrower": bank,
                "amount": float(assets - owed - ratio * assets),
            }
        )
    return {"groups": groups, "contracts": out}


def _scale_spec(spec: dict[str, Any], scale: dict[str, int]) -> dict[str, Any]:
    """Split agents of the given types into heterogeneous copies (balance sheets and contracts).

    Copy ``j`` of an agent split ``m`` ways gets weight ``w_j ∝ 1 + 0.5 sin(j + 1)``;
    a contract between agents split ``m_a`` and ``m_b`` ways becomes ``m_a·m_b`` contracts
    with amounts ``x w_a w_b``, so totals are unchanged.
    """
    weights: dict[str, list[tuple[str, float]]] = {}
    new_groups: dict[str, Any] = {}
    for gname, group in spec["groups"].items():
        tname = group["type"]
        agents = group["agents"]
        count = int(scale.get(tname, len(agents)))
        if tname in ("outside", "households", "central_bank") or count <= len(agents):
            new_groups[gname] = group
            for a in agents:
                weights[a] = [(a, 1.0)]
            continue
        per = [
            count // len(agents) + (1 if i < count % len(agents) else 0) for i in range(len(agents))
        ]
        new_agents: dict[str, Any] = {}
        for (aname, agent), m in zip(agents.items(), per):
            w = np.array([1.0 + 0.5 * math.sin(j + 1) for j in range(m)])
            w = w / w.sum()
            weights[aname] = [(f"{aname}_{j}", float(w[j])) for j in range(m)]
            for cname, wj in weights[aname]:
                new_agents[cname] = {
                    "cash": agent.get("cash", 0.0) * wj,
                    "holdings": {k: v * wj for k, v in agent.get("holdings", {}).items()},
                    "params": dict(agent.get("params", {})),
                }
        new_groups[gname] = {**group, "agents": new_agents}
    contracts = []
    for c in spec["contracts"]:
        for la, wa in weights[c["lender"]]:
            for bb, wb in weights[c["borrower"]]:
                new = dict(c, lender=la, borrower=bb, amount=c["amount"] * wa * wb)
                if "limit" in c:
                    new["limit"] = c["limit"] * wa * wb
                contracts.append(new)
    return {**spec, "groups": new_groups, "contracts": contracts}
