"""Latency histograms with fixed bins, so that histograms from any process and any minute add up.

Bin 0 holds calls under 0.1 ms; bin k (1..LAST_BIN-1) holds [EDGES[k-1], EDGES[k]); the last bin holds everything
from EDGES[-1] (about 88 s) up. The edges grow by 2^(1/4) (about 19 %), so a percentile read from merged bins is
the upper edge of the bin it falls in: never below the true value, at most 19 % above it.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping

FIRST_EDGE_MS = 0.1
STEP = 2 ** (1 / 4)
EDGES_MS: tuple[float, ...] = tuple(FIRST_EDGE_MS * STEP**k for k in range(80))
LAST_BIN = len(EDGES_MS)  # the overflow bin
RESOLUTION = "bins grow by 2^(1/4): a percentile is the upper edge of its bin, at most 19% above the true value"


def bin_of(seconds: float) -> int:
    """The bin a call of this duration counts in."""
    return bisect.bisect_right(EDGES_MS, max(seconds, 0.0) * 1000)


def upper_edge_ms(bin_index: int) -> float:
    """What a percentile falling in this bin is reported as (the overflow bin: its lower edge)."""
    return round(EDGES_MS[min(bin_index, LAST_BIN - 1)], 3)


def percentile(counts: Mapping[int, int], q: float) -> float | None:
    """The q-th percentile (0 < q <= 1) of a histogram {bin: calls}, in milliseconds; None when it is empty.

    The nearest-rank definition: the smallest value with at least q of the calls at or below it."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = max(1, -(-int(q * 1_000_000) * total // 1_000_000))  # ceil(q * total), in integers
    seen = 0
    for bin_index in sorted(counts):
        seen += counts[bin_index]
        if seen >= rank:
            return upper_edge_ms(bin_index)
    raise AssertionError("unreachable: rank <= total")  # pragma: no cover
