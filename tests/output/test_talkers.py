"""The summary's per-address table against a Python dict of the same flows, through
several growths of the table (a small start, many addresses, repeats and loopback)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from portannot.output.talkers import K_VERSION, K_W0, K_W1, S_FLOWS, S_RECEIVED, S_SENT, TalkerTally


def test_tally_equals_a_dict_of_the_same_flows():
    rng = np.random.default_rng(7)
    tally = TalkerTally(capacity=4)
    expected: dict[tuple[int, int, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    for piece in range(6):
        n = 500 * (piece + 1)
        version = rng.choice(np.array([4, 6], np.uint8), n)
        # few distinct words, so that addresses repeat within and across pieces; the
        # same words under both versions are two addresses
        orig = rng.integers(0, 300, (n, 2)).astype(np.uint64)
        resp = rng.integers(0, 300, (n, 2)).astype(np.uint64)
        resp[::17] = orig[::17]  # loopback: one address at both ends
        orig_bytes = rng.integers(0, 10_000, n)
        resp_bytes = rng.integers(0, 10_000, n)
        tally.add(orig, resp, version, orig_bytes, resp_bytes)
        for i in range(n):
            o = (int(version[i]), int(orig[i, 0]), int(orig[i, 1]))
            r = (int(version[i]), int(resp[i, 0]), int(resp[i, 1]))
            expected[o][0] += int(orig_bytes[i])
            expected[o][1] += int(resp_bytes[i])
            expected[o][2] += 1
            expected[r][0] += int(resp_bytes[i])
            expected[r][1] += int(orig_bytes[i])
            expected[r][2] += r != o
    assert tally.keys.shape[0] > 4  # it grew
    got = {(int(k[K_VERSION]), int(k[K_W0]), int(k[K_W1])):
           [int(s[S_SENT]), int(s[S_RECEIVED]), int(s[S_FLOWS])]
           for k, s in zip(tally.keys[: tally.count], tally.sums[: tally.count])}
    assert tally.count == len(got) == len(expected)
    assert got == dict(expected)
