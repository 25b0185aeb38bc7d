"""Small systems shared by the stress-engine tests (amounts in USD bn)."""

from __future__ import annotations

import math
from typing import Any

from powderkeg.contagion.system import System

NO_POLICY = {"enabled": False}


def cs_system(
    holdings: list[float],
    illiquid: list[float],
    capital: list[float],
    *,
    depth: float = 500.0,
    impact: str = "exponential",
) -> System:
    """Banks with one marketable asset ``a`` (Π), illiquid loans (I) and capital C, funded by
    household deposits; only the leverage constraint acts (T-CS-1 setting of model-spec §1.8)."""
    agents: dict[str, Any] = {}
    contracts = []
    for i, (pi, il, c) in enumerate(zip(holdings, illiquid, capital)):
        name = f"bank{i}"
        agents[name] = {
            "cash": 0.0,
            "holdings": {"a": pi, "loans": il},
            "params": {"cash_target": 0.0},
        }
        contracts.append(
            {"kind": "deposit", "lender": "households", "borrower": name, "amount": pi + il - c}
        )
    return System.from_dict(
        {
            "assets": {
                "a": {"depth": depth, "impact": impact, "schedule": "daily", "min_depth": 1.0},
                "loans": {"schedule": "marked", "min_depth": 1.0},
            },
            "groups": {
                "banks": {
                    "type": "bank",
                    "agents": agents,
                    "params": {"max_leverage": 1 / 0.03, "target_leverage": 0.95 / 0.03},
                }
            },
            "contracts": contracts,
            "policy": NO_POLICY,
        }
    )


def en_system() -> System:
    """T-EN-1 network: A owes B 1.0 and households 1.0; B owes C 1.5; C owes A 1.0."""
    return System.from_dict(
        {
            "assets": {"a": {"depth": 100.0, "schedule": "daily"}},
            "groups": {
                "banks": {
                    "type": "bank",
                    "agents": {"A": {"cash": 0.5}, "B": {"cash": 0.5}, "C": {"cash": 0.2}},
                    "params": {"max_leverage": math.inf, "target_leverage": math.inf},
                }
            },
            "contracts": [
                {"kind": "interbank", "lender": "B", "borrower": "A", "amount": 1.0},
                {"kind": "deposit", "lender": "households", "borrower": "A", "amount": 1.0},
                {"kind": "interbank", "lender": "C", "borrower": "B", "amount": 1.5},
                {"kind": "interbank", "lender": "A", "borrower": "C", "amount": 1.0},
            ],
            "policy": NO_POLICY,
        }
    )


def stablecoin_system(
    *,
    deposits: float = 10.0,
    bills: float = 60.0,
    btc: float = 0.0,
    cash: float = 5.0,
    buffer: float = 1.0,
) -> System:
    """One issuer with deposits at one bank, T-bills, optional BTC and capital ``buffer``
    (X = R − S); tokens held by households; the bank has equity 10."""
    supply = cash + deposits + bills + btc - buffer
    return System.from_dict(
        {
            "assets": {
                "tbills": {"depth": 20000.0, "impact": "linear", "min_depth": 1.0},
                "btc": {"depth": 500.0, "schedule": "daily", "min_depth": 1.0},
            },
            "groups": {
                "issuers": {
                    "type": "stablecoin",
                    "agents": {"coin": {"cash": cash, "holdings": {"tbills": bills, "btc": btc}}},
                },
                "banks": {
                    "type": "bank",
                    "agents": {"bank": {"cash": 30.0, "holdings": {"tbills": 70.0}}},
                },
                "outside": {
                    "type": "outside",
                    "agents": {
                        "outside": {"cash": 10_000.0, "holdings": {"tbills": 5000.0, "btc": 1000.0}}
                    },
                },
            },
            "contracts": [
                {"kind": "deposit", "lender": "coin", "borrower": "bank", "amount": deposits},
                {
                    "kind": "deposit",
                    "lender": "households",
                    "borrower": "bank",
                    "amount": 90.0 - deposits,
                },
                {
                    "kind": "stablecoin",
                    "lender": "households",
                    "borrower": "coin",
                    "amount": supply,
                },
            ],
            "policy": NO_POLICY,
        }
    )
