"""Seeded circular moving-block bootstrap indices for dependent (time-series) samples."""

from __future__ import annotations

import numpy as np

from powderkeg._validation import check_int


def default_block(nobs: int) -> int:
    r"""Block length :math:`\lceil T^{1/3} \rceil`.

    This is the rate-optimal order for variance and quantile estimation (Hall, Horowitz and
    Jing, 1995).
    """
    return max(1, int(np.ceil(nobs ** (1.0 / 3.0))))


def block_indices(nobs: int, reps: int, block: int | None, seed: int | None) -> np.ndarray:
    """Row indices of ``reps`` circular moving-block resamples of a length-``nobs`` series.

    Blocks of ``block`` consecutive rows start at uniform positions and wrap around the end
    (Politis and Romano, 1992), preserving serial dependence within blocks; pairs of series are
    resampled with the same indices, which preserves their cross-dependence.

    Returns
    -------
    ndarray of shape (reps, nobs), int64
    """
    reps = check_int(reps, "reps", minimum=1)
    size = default_block(nobs) if block is None else check_int(block, "block", minimum=1)
    rng = np.random.default_rng(seed)
    nblocks = -(-nobs // size)
    starts = rng.integers(0, nobs, size=(reps, nblocks))
    idx = (starts[:, :, None] + np.arange(size)[None, None, :]) % nobs
    return idx.reshape(reps, nblocks * size)[:, :nobs]
