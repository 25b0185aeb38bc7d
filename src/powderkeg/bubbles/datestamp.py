r"""Date-stamping explosive episodes from the BSADF sequence (Phillips, Shi & Yu 2015).

An episode originates at the first date on which :math:`BSADF_{r_2}` exceeds its critical
value and terminates at the first later date on which it falls back below, provided it
stayed above for at least the minimum duration :math:`\delta \log(T)` observations
(PSY 2015, eq. 13-14; the default :math:`\delta = 1` gives ``round(log(T))``, the
``log(T)/T`` fraction of the sample times :math:`T`). The peak is the date of the highest
price between origination and termination. An episode still running at the last date is
``ongoing`` and has no termination date.

References
----------
Phillips, P. C. B., Shi, S. and Yu, J. (2015). Testing for multiple bubbles: historical
episodes of exuberance and collapse in the S&P 500. *International Economic Review* 56(4),
1043-1078.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import check_int
from powderkeg.exceptions import InputError

__all__ = ["Episode", "datestamp", "default_min_duration"]


@dataclass(frozen=True)
class Episode:
    """One date-stamped explosive episode.

    Attributes
    ----------
    start : Timestamp
        Origination: first date with BSADF above its critical value.
    end : Timestamp or None
        Termination: first later date with BSADF back below (None while ``ongoing``).
    peak : Timestamp
        Date of the highest price from ``start`` to ``end`` (or the last date).
    duration : int
        Observations from origination to termination (to the last date if ongoing).
    ongoing : bool
        Still above the critical value at the last date.
    peak_stat : float
        The highest BSADF value in the episode.
    """

    start: Any
    end: Any
    peak: Any
    duration: int
    ongoing: bool
    peak_stat: float

    def to_dict(self) -> dict[str, Any]:
        """JSON keys ``start``, ``end``, ``peak`` plus ``duration``, ``ongoing``, ``peak_stat``."""
        return {
            "start": self.start,
            "end": self.end,
            "peak": self.peak,
            "duration": self.duration,
            "ongoing": self.ongoing,
            "peak_stat": self.peak_stat,
        }


def default_min_duration(nobs: int, delta: float = 1.0) -> int:
    """PSY's minimum duration ``round(delta * log(T))`` observations (at least 1)."""
    if nobs < 2:
        raise InputError(f"nobs must be >= 2, got {nobs}")
    return max(1, round(delta * math.log(nobs)))


def datestamp(
    bsadf: pd.Series,
    cv: pd.Series,
    price: pd.Series | None = None,
    min_duration: int | None = None,
    nobs: int | None = None,
) -> list[Episode]:
    """Episodes where ``bsadf`` exceeds ``cv`` for at least ``min_duration`` observations.

    Parameters
    ----------
    bsadf, cv : Series
        The BSADF sequence and its critical-value sequence on the same index.
    price : Series, optional
        Levels used to find each episode's peak (default: the BSADF itself).
    min_duration : int, optional
        Minimum run length in observations (default ``round(log(nobs))``).
    nobs : int, optional
        Sample size for the default minimum duration (default ``len(bsadf)``).

    Returns
    -------
    list of Episode
        In time order.
    """
    if len(bsadf) != len(cv) or not bsadf.index.equals(cv.index):
        raise InputError("bsadf and cv must share one index")
    n = len(bsadf) if nobs is None else nobs
    if min_duration is None:
        min_duration = default_min_duration(max(n, 2))
    min_duration = check_int(min_duration, "min_duration", minimum=1)
    above = (bsadf.to_numpy() > cv.to_numpy()) & np.isfinite(cv.to_numpy())
    ref = bsadf if price is None else price.reindex(bsadf.index)
    ref_vals = ref.to_numpy(dtype=np.float64)
    stat = bsadf.to_numpy(dtype=np.float64)
    idx = bsadf.index
    episodes: list[Episode] = []
    i = 0
    n_pts = len(above)
    while i < n_pts:
        if not above[i]:
            i += 1
            continue
        j = i
        while j < n_pts and above[j]:
            j += 1
        # run i..j-1 above; j is the termination point (or past the end)
        ongoing = j >= n_pts
        duration = j - i
        if duration >= min_duration:
            stop = n_pts if ongoing else j + 1
            seg = ref_vals[i:stop]
            seg = np.where(np.isfinite(seg), seg, -np.inf)
            peak_pos = i + int(np.argmax(seg))
            episodes.append(
                Episode(
                    start=idx[i],
                    end=None if ongoing else idx[j],
                    peak=idx[peak_pos],
                    duration=duration,
                    ongoing=ongoing,
                    peak_stat=float(np.nanmax(stat[i:j])),
                )
            )
        i = j
    return episodes
