"""Fixed latency bins: any process's histograms add up, and a percentile is the upper edge of its bin."""

from collections import Counter

import pytest

from mcp_payments.domain import latency


def test_a_duration_falls_in_the_bin_whose_edges_hold_it() -> None:
    assert latency.bin_of(0) == 0
    assert latency.bin_of(0.00005) == 0  # 0.05 ms: under the first edge
    for seconds in (0.0001, 0.0007, 0.003, 0.1, 2.5, 60):
        index = latency.bin_of(seconds)
        assert latency.EDGES_MS[index - 1] <= seconds * 1000 < latency.EDGES_MS[index]
    assert latency.bin_of(10_000) == latency.LAST_BIN  # the overflow bin
    assert latency.bin_of(-1) == 0  # a clock step backwards is not a negative latency


def test_a_percentile_is_never_below_the_true_value_and_at_most_19_percent_above() -> None:
    durations = [0.001 * k for k in range(1, 1001)]  # 1 ms .. 1 s
    counts = Counter(latency.bin_of(d) for d in durations)
    for q, true_ms in ((0.5, 500.0), (0.95, 950.0), (0.99, 990.0)):
        reported = latency.percentile(counts, q)
        assert reported is not None
        assert true_ms <= reported <= true_ms * 1.19


def test_histograms_from_two_processes_merge_into_the_histogram_of_all_calls() -> None:
    first = Counter(latency.bin_of(d) for d in (0.002, 0.004, 0.004))
    second = Counter(latency.bin_of(d) for d in (0.2, 0.3))
    assert latency.percentile(first + second, 0.5) == latency.upper_edge_ms(latency.bin_of(0.004))
    assert latency.percentile(first + second, 0.99) == latency.upper_edge_ms(latency.bin_of(0.3))


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_no_calls_have_no_percentile(q: float) -> None:
    assert latency.percentile({}, q) is None
