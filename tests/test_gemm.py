"""The blocked GEMM on every ISA path this machine runs, against a NumPy float64 reference.

Sizes sit on each kernel's edges: 1, MR-1, MR+1 rows, NR-1, NR+1 columns, KC+1 depth (and the
depth whose rows are 2 KiB apart, where A is packed rather than read in place); the three
operand layouts of a training step (A·B, A·Bᵀ, Aᵀ·B) and every epilogue. C and the column sums
start as NaN when not accumulating, so a kernel that reads C (or adds to the sums) under beta == 0
fails.
"""

import itertools

import numpy as np
import pytest

from fastmlp import _core

ISAS = _core.available_isas()
DTYPES = [np.float32, np.float64]
EPILOGUES = {
    "none": 0, "bias": 1, "bias_relu": 2, "bias_logistic": 3, "bias_tanh": 4,
    "relu_grad": 5, "logistic_grad": 6, "tanh_grad": 7,
}
# relative to the magnitude |A|·|B| (+|C| +|bias|) of each element: a sum of K rounded products
RTOL = {np.float32: 2e-6, np.float64: 4e-15}


def reference(A, B, C, kind, bias, z):
    out = A.astype(np.float64) @ B.astype(np.float64)
    if C is not None:
        out = out + C
    if bias is not None and kind.startswith("bias"):
        out = out + bias
    if kind == "bias_relu":
        out = np.maximum(out, 0)
    elif kind == "bias_logistic":
        out = 1 / (1 + np.exp(-out))
    elif kind == "bias_tanh":
        out = np.tanh(out)
    elif kind == "relu_grad":
        out = np.where(z == 0, 0, out)
    elif kind == "logistic_grad":
        out = out * z * (1 - z)
    elif kind == "tanh_grad":
        out = out * (1 - z * z)
    return out


def edge_sizes(isa, dtype):
    info = _core.kernel_info(isa)[np.dtype(dtype).name]
    mr, nr, kc = info["mr"], info["nr"], info["kc"]
    ms = sorted({1, mr - 1, mr, mr + 1, 2 * mr + 1})
    ns = sorted({1, nr - 1, nr + 1, 2 * nr + 3})
    # K of 2 KiB rows: a row-major A is packed (its rows would share L1 sets), else read in place
    ks = sorted({1, 7, 2048 // np.dtype(dtype).itemsize, kc + 1})
    return ms, ns, ks


def run(isa, dtype, M, N, K, trans_a, trans_b, accumulate, kind, n_threads=1, seed=0,
        col_sums=True):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((K, M) if trans_a else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if trans_b else (K, N)).astype(dtype)
    A = a.T if trans_a else a
    B = b.T if trans_b else b
    C = rng.standard_normal((M, N)).astype(dtype) if accumulate else None
    bias = rng.standard_normal(N).astype(dtype) if kind.startswith("bias") else None
    z = None
    if kind.endswith("_grad"):
        if kind == "relu_grad":
            z = np.where(rng.random((M, N)) < 0.4, 0, rng.random((M, N))).astype(dtype)
        elif kind == "logistic_grad":
            z = rng.random((M, N)).astype(dtype)
        else:
            z = rng.uniform(-1, 1, (M, N)).astype(dtype)
    got, col_sums = _core.gemm(a, b, trans_a, trans_b, C, EPILOGUES[kind], bias, z, isa,
                               n_threads, col_sums)
    want = reference(A, B, C, kind, bias, z)
    magnitude = np.abs(A.astype(np.float64)) @ np.abs(B.astype(np.float64)) + 1.0
    if C is not None:
        magnitude += np.abs(C)
    if bias is not None:
        magnitude += np.abs(bias)
    return got, want, magnitude, col_sums, B


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("want_col_sums", [True, False])
def test_products_on_edge_sizes(isa, dtype, trans_a, trans_b, want_col_sums):
    # column sums make the GEMM pack B; without them a row-major B this small is read in place
    ms, ns, ks = edge_sizes(isa, dtype)
    for M, N, K in itertools.product(ms, ns, ks):
        got, want, mag, col_sums, B = run(isa, dtype, M, N, K, trans_a, trans_b, False, "none",
                                          col_sums=want_col_sums)
        assert got.dtype == dtype and got.shape == (M, N)
        np.testing.assert_array_less(np.abs(got - want), RTOL[dtype] * K * mag + 1e-30,
                                     err_msg=f"{isa} {M}x{N}x{K}")
        if want_col_sums:
            np.testing.assert_allclose(col_sums, B.astype(np.float64).sum(axis=0),
                                       rtol=RTOL[dtype] * K, atol=RTOL[dtype] * K * 4)


def check_row_major_product(isa, dtype, M, N, K, want_col_sums):
    # X·W-like: both operands row-major, bias + relu epilogue, column sums of B when wanted
    got, want, mag, col_sums, B = run(isa, dtype, M, N, K, False, False, False, "bias_relu",
                                      col_sums=want_col_sums)
    np.testing.assert_array_less(np.abs(got - want), RTOL[dtype] * (K + 8) * mag,
                                 err_msg=f"{isa} {M}x{N}")
    if want_col_sums:
        np.testing.assert_allclose(col_sums, B.astype(np.float64).sum(axis=0),
                                   rtol=RTOL[dtype] * K, atol=RTOL[dtype] * K * 4)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("want_col_sums", [True, False])
def test_row_major_b_beyond_l2_is_packed_on_edges(isa, dtype, want_col_sums):
    # a K block of B wider than half of any L2 (4 MiB): packed, with or without column sums,
    # unless C has at most 16 rows (then read and summed in place, as a smaller B always is);
    # rows and columns on the tile edges, K over two blocks
    info = _core.kernel_info(isa)[np.dtype(dtype).name]
    N = 4 * 1024 * 1024 // (info["kc"] * np.dtype(dtype).itemsize) + info["nr"] + 1
    K = info["kc"] + 1
    for M in (info["mr"] + 1, 2 * info["mr"] - 1, 17):
        check_row_major_product(isa, dtype, M, N, K, want_col_sums)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("want_col_sums", [True, False])
def test_row_major_b_within_l2_on_both_sides_of_in_place_rows(isa, dtype, want_col_sums):
    # a B whose K block fits in L2: read in place up to the kernel's b_in_place_max_rows rows of
    # C (16 at least; any number when None) and packed beyond, with the bias gradient's column
    # sums from either; M on both sides of the limit and on the tile's edges, K over two blocks
    info = _core.kernel_info(isa)[np.dtype(dtype).name]
    limit = info["b_in_place_max_rows"]
    rows = {16, 17, 3 * info["mr"] + 1}
    if limit is not None:
        rows |= {limit, limit + 1, limit + info["mr"] - 1}
    N, K = 2 * info["nr"] + 3, info["kc"] + 2
    for M in sorted(rows):
        check_row_major_product(isa, dtype, M, N, K, want_col_sums)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", list(EPILOGUES))
@pytest.mark.parametrize("accumulate", [False, True])
def test_epilogues(isa, dtype, kind, accumulate):
    info = _core.kernel_info(isa)[np.dtype(dtype).name]
    # one full tile, one with both edges, and a K split into several blocks
    for M, N, K in [(info["mr"], info["nr"], 5), (info["mr"] + 1, info["nr"] + 3, 9),
                    (3, 2 * info["nr"] - 1, info["kc"] + 1)]:
        got, want, mag, _, _ = run(isa, dtype, M, N, K, False, False, accumulate, kind)
        # logistic/tanh/grad epilogues are Lipschitz-1 (or multiply by a factor in [-1, 1])
        np.testing.assert_array_less(np.abs(got - want), RTOL[dtype] * (K + 8) * mag + 1e-30,
                                     err_msg=f"{isa} {kind} {M}x{N}x{K}")


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_depth_gives_epilogue_of_zero(isa, dtype):
    got, want, _, col_sums, _ = run(isa, dtype, 5, 9, 0, False, False, False, "bias_relu")
    np.testing.assert_array_equal(got, want.astype(dtype))
    np.testing.assert_array_equal(col_sums, np.zeros(9))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_keeps_nan_visible(isa, dtype):
    a = np.full((3, 2), np.nan, dtype=dtype)
    b = np.ones((2, 4), dtype=dtype)
    got, _ = _core.gemm(a, b, False, False, None, EPILOGUES["bias_relu"], np.zeros(4, dtype),
                        None, isa, 1, False)
    assert np.isnan(got).all()


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(257, 100, 784), (64, 256, 256), (1000, 33, 300)])
def test_same_bits_for_any_thread_count(isa, dtype, shape):
    M, N, K = shape
    outs = [run(isa, dtype, M, N, K, True, False, True, "none",
                n_threads=t)[0] for t in (1, 2, 3)]
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_path_agrees_with_portable(dtype):
    results = {isa: run(isa, dtype, 50, 70, 300, False, True, False, "bias_tanh") for isa in ISAS}
    got_portable, want, mag, _, _ = results["portable"]
    for isa, (got, _, _, _, _) in results.items():
        np.testing.assert_array_less(np.abs(got - got_portable), 2 * RTOL[dtype] * 308 * mag,
                                     err_msg=isa)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_benchmark_timing_hook_times_the_tested_product(isa, dtype):
    # bench/bench_gemm.py's in-core figures come from gemm_seconds: it must compute exactly the
    # product the tests above check, however many times it repeats it
    rng = np.random.default_rng(3)
    a = rng.standard_normal((33, 129)).astype(dtype)
    b = rng.standard_normal((129, 65)).astype(dtype)
    want, _ = _core.gemm(a, b, False, False, None, 0, None, None, isa, 2, False)
    for calls in (1, 3):
        seconds, got = _core.gemm_seconds(a, b, isa, 2, calls)
        np.testing.assert_array_equal(got, want)
        assert 0 < seconds < 1
    with pytest.raises(ValueError, match="must agree"):
        _core.gemm_seconds(a, a, isa, 1, 1)
    with pytest.raises(ValueError, match="at least 1"):
        _core.gemm_seconds(a, b, isa, 1, 0)


def test_unavailable_isa_is_value_error():
    with pytest.raises(ValueError, match="not available"):
        _core.gemm(np.ones((2, 2)), np.ones((2, 2)), False, False, None, 0, None, None,
                   "avx1024", 1, False)


def test_dispatch_lists_portable_first_and_activates_the_best():
    isas = _core.available_isas()
    assert isas[0] == "portable"
    assert set(isas) <= {"portable", "avx2", "avx512"}


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", list(EPILOGUES))
@pytest.mark.parametrize("accumulate", [False, True])
def test_one_row_across_row_kernel_chunks(isa, dtype, kind, accumulate):
    # one row of C (predicting one sample) as wide as several chunks of the one-row kernel
    # (paths without one: a tile kernel's single row, on the same sizes)
    row_nr = _core.kernel_info(isa)[np.dtype(dtype).name]["row_nr"] or 64
    lanes = {"avx512": 64, "avx2": 32}.get(isa, 8) // np.dtype(dtype).itemsize  # one vector
    # chunks narrower than the kernel's NV vectors take NV/2, NV/4, ... vectors: sizes on each
    sizes = {1, lanes - 1, lanes + 1, 2 * lanes, 2 * lanes + 1, 4 * lanes, 4 * lanes + 1,
             row_nr - 1, row_nr, row_nr + 1, 2 * row_nr + 37}
    for N in sorted(sizes - {0}):
        got, want, mag, _, _ = run(isa, dtype, 1, N, 300, False, False, accumulate, kind)
        np.testing.assert_array_less(np.abs(got - want), RTOL[dtype] * 308 * mag + 1e-30,
                                     err_msg=f"{isa} {kind} 1x{N}x300")


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", list(EPILOGUES))
@pytest.mark.parametrize("accumulate", [False, True])
def test_one_column_across_row_groups(isa, dtype, kind, accumulate):
    # one column of C (the output layer of a binary or single-output model): the one-column
    # kernel takes none and bias over 8-row groups and a vector tail of K (without column sums:
    # they need B packed), the other kinds stay on tiles; rows on the group and chunk edges,
    # depths on the vector edges, two threads
    lanes = {"avx512": 64, "avx2": 32}.get(isa, 8) // np.dtype(dtype).itemsize
    for M, K in itertools.product([2, 7, 8, 9, 63, 64, 65, 130],
                                  sorted({1, lanes - 1, lanes, lanes + 1, 100})):
        for trans_b in (False, True):
            got, want, mag, _, _ = run(isa, dtype, M, 1, K, False, trans_b, accumulate, kind,
                                       n_threads=2, col_sums=False)
            np.testing.assert_array_less(np.abs(got - want), RTOL[dtype] * (K + 8) * mag + 1e-30,
                                         err_msg=f"{isa} {kind} {M}x1x{K}")
