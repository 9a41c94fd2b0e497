"""Sanctions screening throughput: the blocked index against a brute-force scan of the same list, in one run.

    python benchmarks/sanctions.py [--entries 18000] [--queries 3000] [--brute 300]

The list is generated to the size of the real SDN (tests/sanctions/generated.py: ~18k entries, ~16k aliases,
~48k names once listed persons' short forms are added). The queries are names people screen: listed names with a
typo, reordered words, accents, a dropped middle name, and unrelated names. Both paths score with the same
Jaro-Winkler (rapidfuzz, C) at the review threshold; the brute force scores every name, the index only the
names sharing a word end with the query. Matching only (no database): one screening's SQL is one insert.
Recall: on the brute-force sample, every entry the scan finds must be found by the index.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.sanctions.generated import generate, queries

from mcp_payments.services.sanctions import Matcher, Thresholds
from mcp_payments.services.sanctions_ports import ListVersion


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--entries", type=int, default=18_000)
    p.add_argument("--queries", type=int, default=3000)
    p.add_argument("--brute", type=int, default=300, help="queries scanned by brute force (it is slow)")
    args = p.parse_args()
    cutoff = Thresholds().review

    entries = tuple(generate(args.entries))
    started = time.perf_counter()
    matcher = Matcher.of(ListVersion(None, "bench", 0, len(entries), None, None), entries)
    built = time.perf_counter() - started
    sample = queries(list(entries), args.queries)
    aliases = sum(len(e.aliases) for e in entries)
    print(f"list: {len(entries)} entries, {aliases} aliases, {len(matcher.index)} names; index built in {built:.2f} s")

    started = time.perf_counter()
    found = [matcher.index.search(q, cutoff) for q in sample]
    indexed = len(sample) / (time.perf_counter() - started)

    brute_sample = sample[: args.brute]
    started = time.perf_counter()
    scanned = [matcher.index.scan(q, cutoff) for q in brute_sample]
    brute = len(brute_sample) / (time.perf_counter() - started)

    wanted = sum(len(s) for s in scanned)
    missed = sum(len({f.owner for f in s} - {f.owner for f in i}) for s, i in zip(scanned, found, strict=False))
    hits = sum(bool(s) for s in scanned)
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("| path | screenings/s | ratio to brute force |")
    print("| --- | --- | --- |")
    print(f"| brute force (every name, {len(brute_sample)} queries) | {brute:,.0f} | 1.0 |")
    print(f"| index (blocked, {len(sample)} queries) | {indexed:,.0f} | {indexed / brute:.1f} |")
    print(
        f"recall on the brute-force sample: {wanted - missed}/{wanted} entries found ({hits} of "
        f"{len(brute_sample)} queries hit the list); missed: {missed}"
    )


if __name__ == "__main__":
    main()
