"""Contract aggregation kernel of the stress engine's :class:`~.balance_sheet.Network`.

Every kernel is written once as a pure-Python function (``*_python``) and bound as a numba
kernel of the same body (the name without the suffix); the test-suite checks that the two
give the same numbers.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["agent_sums", "agent_sums_python"]


def agent_sums_python(
    values: np.ndarray, ptr: np.ndarray, edges: np.ndarray, out: np.ndarray
) -> None:
    """Sum contract values per agent: ``out[p, i] = Σ_{e ∈ edges(i)} values[p, e]``.

    Each agent's contracts (``edges[ptr[i]:ptr[i + 1]]``, ascending) are added in that
    order starting from zero, the order of a sparse (N, E) incidence-matrix product, so
    sums never depend on the number of paths.

    Parameters
    ----------
    values : ndarray (P, E)
        Contract values.
    ptr, edges : ndarray of int (N + 1,), (E,)
        Each agent's contracts (CSR, ascending within an agent).
    out : ndarray (P, N)
        Receives the sums.
    """
    for p in range(values.shape[0]):
        row = values[p]
        for i in range(out.shape[1]):
            total = 0.0
            for j in range(ptr[i], ptr[i + 1]):
                total += row[edges[j]]
            out[p, i] = total


agent_sums = numba.njit(agent_sums_python, cache=True, nogil=True)
