"""The batch encoder: stacks to LayerTable row ids. The vectorised path equals the token-by-token
path (layers and errors), hash collisions stay exact, and memory follows the real layers
(rows x mean depth), not rows x the longest stack."""

import csv
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budgets import budget
from rfsearch import SpecError, batch_receptive_fields, parse_layers
from rfsearch.io import encode
from rfsearch.io.encode import CELL_BUDGET, PADDING_FACTOR, SMALL_GROUP, StackEncoder
from rfsearch.io.formats import Rows

PIECES = [
    "conv3", "conv3s1p1", "maxpool2s2", "maxpool3s2p1c", "avgpool2", "relu", "bn", "Conv3", "CONV7S2P3", " conv3",
    "conv3 ", "\tconv5", "conv3 relu", "", " ", "conv3s2p1:0", "conv3d2p2s2p0", "conv1x7p0x3", "conv3x3x3",
    "maxpool3s2p1dilation", "conv3s2psame", "conv5s1p2d2", "conv11s4p2:3d1", "avgpool3s1p1c", "conv3s0",
    "conv99999999999999999999", "bogus", "conv٣", "conv3s1p1conv3", "maxpool2s2c", "identity", "dropout",
]  # fmt: skip


def block(stacks):
    return Rows(list(stacks), {}, lambda i: ("f.csv", i + 2), None, None)


def outcome(encoder, blocks):
    """Per block the layers of each stack, or the error message."""
    got = []
    for b in blocks:
        try:
            flat, depth = encoder.ids(b)
        except SpecError as e:
            got.append(str(e))
            break
        ends = np.cumsum(depth)
        got.append([[encoder.table.layer(int(r)) for r in flat[e - d : e]] for e, d in zip(ends, depth)])
    return got


SPECS = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map(",".join)


@settings(max_examples=budget(ci=3000, dev=200), deadline=None)
@given(st.lists(st.lists(SPECS, min_size=1, max_size=6), min_size=1, max_size=3), st.sampled_from([None, 2]),
       st.booleans())  # fmt: skip
def test_vectorised_ids_equal_token_by_token(blocks, ndim, size_known):
    origin = "the input size 8x8 has 2" if ndim else ""
    fast = outcome(StackEncoder(ndim, origin, size_known), map(block, blocks))
    slow = outcome(StackEncoder(ndim, origin, size_known, vectorised=False), map(block, blocks))
    assert fast == slow


def _parses(piece):
    try:
        parse_layers(piece)
    except SpecError:
        return False
    return True


def test_colliding_hashes_stay_exact(monkeypatch):
    monkeypatch.setattr(encode, "_hash", lambda w0, w1: np.zeros_like(w0))  # every key in one slot chain
    monkeypatch.setattr(encode, "_hash_int", lambda w0, w1: 0)
    stacks = [",".join(PIECES[i % 12] for i in range(j, j + 5)) for j in range(40)]
    stacks = [s for s in stacks if all(_parses(piece) for piece in s.split(","))]
    fast = outcome(StackEncoder(None, "", True), [block(stacks), block(stacks[::-1])])
    slow = outcome(StackEncoder(None, "", True, vectorised=False), [block(stacks), block(stacks[::-1])])
    assert fast == slow and isinstance(fast[0], list)


def test_vocabulary_probes_past_other_keys():
    vocabulary = encode._Vocabulary()
    rng = np.random.default_rng(3)
    keys = rng.integers(1, 2**63, (5000, 2)).astype(np.uint64)
    for row, (a, b) in enumerate(keys[:3000].tolist()):
        vocabulary.add(a, b, row)
    found = vocabulary.lookup(keys[:, 0], keys[:, 1])
    assert found[:3000].tolist() == list(range(3000)) and (found[3000:] == encode.SLOW).all()
    assert all(int(h) == encode._hash_int(int(a), int(b)) for (a, b), h in zip(keys[:50], encode._hash(*keys[:50].T)))


# ----------------------------------------------------------------------------- memory


@settings(max_examples=budget(ci=2000, dev=200), deadline=None)
@given(st.lists(st.integers(1, 3000), min_size=1, max_size=400), st.integers(1000, 50_000))
def test_groups_stay_within_the_budgets(depths, cell_budget):
    encoder = StackEncoder(None, "", True, cell_budget=cell_budget)
    depth = np.array(depths, dtype=np.int64)
    flat = np.arange(int(depth.sum()), dtype=np.int32)
    groups = list(encoder._groups(flat, depth))
    assert [g[0] for g in groups] == [0] + [g[1] for g in groups[:-1]] and groups[-1][1] == len(depth)
    for lo, hi, ids, d in groups:
        real = int(d.sum())
        assert ids.shape == (hi - lo, int(d.max()))
        if hi - lo > 1:  # a single stack is as wide as it is
            assert ids.size <= cell_budget and ids.size <= max(SMALL_GROUP, PADDING_FACTOR * real)
        row_ids = [ids[i, : d[i]].tolist() for i in range(hi - lo)]
        assert sum(row_ids, []) == flat[sum(depths[:lo]) : sum(depths[:hi])].tolist()


def test_one_long_stack_among_many_short_ones(tmp_path):
    """100,000 short rows and one of 13,000 layers: padded as one chunk this would be 1.3e9 ids
    (5.2 GB as int32; the old encoder asked for 9.7 GiB); memory must follow the 313,000 real
    layers. Peak RSS of a fresh process (interpreter and numpy included; Linux /proc)."""
    path = tmp_path / "long.csv"
    long_spec = ",".join(["conv3", "maxpool2s1"] * 6500)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["spec"])
        writer.writerows([["conv3,relu,maxpool2"]] * 50_000 + [[long_spec]] + [["conv3,relu,maxpool2"]] * 50_000)
    # VmHWM: the peak RSS of this process image (ru_maxrss would include the forking parent's pages)
    code = ("import sys; from rfsearch.io import score_file; "
            "assert score_file(sys.argv[1], sys.argv[2]) == 100_001; "
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "out.csv")], capture_output=True,
                          text=True, cwd=tmp_path, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    peak_mb = int(proc.stdout) / 1024  # kB
    assert peak_mb < 400, f"peak RSS {peak_mb:.0f} MB"
    with (tmp_path / "out.csv").open() as f:
        rows = list(csv.DictReader(f))
    dense = batch_receptive_fields(np.array([[3, 2] * 6500]), np.ones((1, 13_000), np.int64))  # the same stack as arrays
    assert int(rows[50_000]["rf"]) == int(dense.rf[0]) == 1 + 6500 * (2 + 1)
    assert rows[0]["rf"] == rows[-1]["rf"] == "4"


def test_default_chunks_fit_the_budget():
    assert 100_000 * 10 <= CELL_BUDGET  # the default chunk of depth-10 stacks is one group


def test_int64_overflow_in_a_token_names_the_layer():
    with pytest.raises(SpecError, match=r"f.csv:3: layer 1: kernel is larger than the int64 range, got 99999999999999999999$"):
        StackEncoder(None, "", True).ids(block(["conv3", "conv3,conv99999999999999999999"]))
