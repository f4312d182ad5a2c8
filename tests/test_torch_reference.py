"""The recording check of tests/_torch_reference.py: exact on the recording machine, within
ROUNDING_ULPS of an array's scale elsewhere, never across dtype, shape or non-finite pattern."""

import numpy as np
import pytest

from _torch_reference import ROUNDING_ULPS, _agree

EPS32 = np.finfo(np.float32).eps


@pytest.fixture
def stored():
    return np.array([0.5, -2.0, 1e-3, 3.0], dtype=np.float32)


def test_exact_mode_refuses_a_one_ulp_change(stored):
    moved = stored.copy()
    moved[2] = np.nextafter(moved[2], np.float32(1))
    assert _agree(stored, stored.copy(), exact=True, eps=EPS32)
    assert not _agree(stored, moved, exact=True, eps=EPS32)


def test_other_machine_accepts_rounding_within_the_bound(stored):
    scale = np.max(np.abs(stored))
    within = stored.copy()
    within[0] += np.float32(0.9 * ROUNDING_ULPS * EPS32 * scale)
    beyond = stored.copy()
    beyond[0] += np.float32(1.5 * ROUNDING_ULPS * EPS32 * scale)
    assert _agree(stored, within, exact=False, eps=EPS32)
    assert not _agree(stored, beyond, exact=False, eps=EPS32)


def test_other_machine_still_refuses_other_dtype_shape_or_nonfinite(stored):
    assert not _agree(stored, stored.astype(np.float64), exact=False, eps=EPS32)
    assert not _agree(stored, stored[:3], exact=False, eps=EPS32)
    nan = stored.copy()
    nan[1] = np.nan
    assert not _agree(stored, nan, exact=False, eps=EPS32)
    inf = stored.copy()
    inf[1] = np.inf
    assert _agree(inf, inf.copy(), exact=False, eps=EPS32)
    assert not _agree(inf, -inf, exact=False, eps=EPS32)


def test_integer_arrays_are_compared_exactly():
    a = np.array([1, 2, 3])
    assert _agree(a, a.copy(), exact=False, eps=EPS32)
    assert not _agree(a, a + np.array([0, 0, 1]), exact=False, eps=EPS32)
