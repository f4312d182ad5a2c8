#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace fastmlp {

namespace {

// A 64-byte aligned scratch buffer that only grows; one per thread and precision.
template <class T>
struct Scratch {
    T* data = nullptr;
    std::size_t size = 0;
    T* get(std::size_t n) {
        if (n > size) {
            std::free(data);
            const std::size_t bytes = ((n * sizeof(T) + 63) / 64) * 64;
            data = static_cast<T*>(std::aligned_alloc(64, bytes));
            if (!data) throw std::bad_alloc();
            size = n;
        }
        return data;
    }
    ~Scratch() { std::free(data); }
};

template <class T>
Scratch<T>& packed_b_scratch() {
    static thread_local Scratch<T> s;
    return s;
}
template <class T>
Scratch<T>& packed_a_scratch() {
    static thread_local Scratch<T> s;
    return s;
}

index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

// Split `total` into the fewest blocks of at most `max_block`, as even as possible, rounded up
// to a multiple of `multiple`.
index_t even_block(index_t total, index_t max_block, index_t multiple) {
    if (total <= 0) return multiple;
    const index_t blocks = ceil_div(total, max_block);
    return ceil_div(ceil_div(total, blocks), multiple) * multiple;
}

// One NR-wide panel of B(pc.., jc..): dst(k, j) = B(k, j) for k < kc, j < n, zero for n ≤ j < NR;
// col_sums[j0 + j] += Σ_k B(k, j) when col_sums is not null. NR is a compile-time constant so
// the copy has a fixed trip count and the sums stay in registers for the whole panel.
template <int NR, class T>
void pack_b_panel(T* dst, StridedMatrix<T> B, index_t k0, index_t j0, index_t kc, index_t n,
                  T* col_sums) {
    T sums[NR] = {};
    if (B.cs == 1 && n == NR) {
        for (index_t k = 0; k < kc; ++k) {
            const T* src = B.p + (k0 + k) * B.rs + j0;
            T* d = dst + k * NR;
            for (int j = 0; j < NR; ++j) {
                d[j] = src[j];
                sums[j] += src[j];
            }
        }
    } else {
        for (index_t k = 0; k < kc; ++k) {
            T* d = dst + k * NR;
            for (index_t j = 0; j < n; ++j) {
                d[j] = B.p[(k0 + k) * B.rs + (j0 + j) * B.cs];
                sums[j] += d[j];
            }
            for (index_t j = n; j < NR; ++j) d[j] = T(0);
        }
    }
    if (col_sums)
        for (index_t j = 0; j < n; ++j) col_sums[j0 + j] += sums[j];
}

template <class T>
void pack_b_panel(T* dst, StridedMatrix<T> B, index_t k0, index_t j0, index_t kc, index_t n,
                  int nr, T* col_sums) {
    switch (nr) {
        case 8: return pack_b_panel<8>(dst, B, k0, j0, kc, n, col_sums);
        case 16: return pack_b_panel<16>(dst, B, k0, j0, kc, n, col_sums);
        case 32: return pack_b_panel<32>(dst, B, k0, j0, kc, n, col_sums);
        default: __builtin_unreachable();  // dispatch.cpp admits only these widths, at import
    }
}

// One MR-tall sliver of A(ic.., pc..): dst(i, k) at dst[k·MR + i], rows i ≥ m left unwritten.
template <class T>
void pack_a_sliver(T* dst, StridedMatrix<T> A, index_t i0, index_t k0, index_t m, index_t kc,
                   int mr) {
    for (index_t k = 0; k < kc; ++k) {
        const T* src = A.p + i0 * A.rs + (k0 + k) * A.cs;
        T* d = dst + k * mr;
        for (index_t i = 0; i < m; ++i) d[i] = src[i * A.rs];
    }
}

// Above this many bytes an A block is packed into slivers; below it stays in L2 and is read in place.
constexpr std::size_t kPackAThresholdBytes = 4 * 1024 * 1024;
// Below this many multiply-adds (about 20 µs on one core) the product runs on the calling
// thread: waking a team costs microseconds on a quiet machine and a scheduler slice on a busy
// one, which made small L-BFGS problems 30x slower on 2 threads than on 1.
constexpr index_t kGemmParallelMinFlops = index_t(1) << 21;
// Up to this many rows of C a row-major B is read in place rather than packed...
constexpr index_t kReadBInPlaceMaxRows = 16;
// ...and so is any row-major B this small, whose rows all stay in L1/L2 anyway.
constexpr std::size_t kSmallBBytes = 32 * 1024;

}  // namespace

template <class T>
void gemm(const GemmKernel<T>& ker, T* C, index_t ldc, StridedMatrix<T> A, StridedMatrix<T> B,
          index_t M, index_t N, index_t K, bool accumulate, const Epilogue<T>& ep, T* b_col_sums,
          int n_threads) {
    if (M <= 0 || N <= 0) return;
    if (M == 1 && ker.row && B.cs == 1 && b_col_sums == nullptr) {
        // one row (predicting one sample): stream B's rows in order through the row kernel
        for (index_t j0 = 0; j0 < N; j0 += ker.row_nr) {
            Epilogue<T> chunk_ep = ep;
            if (ep.bias) chunk_ep.bias = ep.bias + j0;
            if (ep.z) chunk_ep.z = ep.z + j0;
            ker.row(K, A.p, A.cs, B.p + j0, B.rs, C + j0, std::min<index_t>(ker.row_nr, N - j0),
                    accumulate, chunk_ep);
        }
        return;
    }
    const index_t MR = ker.mr, NR = ker.nr;
    const index_t kc_max = even_block(K, ker.kc, 1);
    const index_t nc_max = even_block(N, ker.nc, NR);
    const index_t mc_max = even_block(M, ker.mc, MR);
    const index_t k_blocks = std::max<index_t>(1, ceil_div(K, kc_max));
    // A is packed when it outgrows L2, or when its rows, read in place, would be a multiple of
    // 1 KiB apart: then the MR rows of a sliver fall into a few L1 sets (8-way) and evict each
    // other on every k (K = 1024 ran at half speed).
    const std::size_t row_bytes = std::size_t(A.rs) * sizeof(T);
    const bool aliasing_rows = A.cs == 1 && M > 1 && row_bytes % 1024 == 0;
    const bool pack_a = aliasing_rows ||
                        std::size_t(M) * std::size_t(K) * sizeof(T) > kPackAThresholdBytes;
    // B is packed when its rows are not contiguous, when its column sums are wanted, or when
    // enough row slivers reuse a packed copy of a large B; otherwise (a few rows, e.g.
    // predicting one sample, or a small weight matrix) the kernels read a row-major B in place.
    const bool small_b = std::size_t(K) * std::size_t(N) * sizeof(T) <= kSmallBBytes;
    const bool pack_b = B.cs != 1 || b_col_sums != nullptr ||
                        (M > kReadBInPlaceMaxRows && !small_b);

    // both packed blocks are shared: slivers and panels are packed by one thread, read by any
    T* packed_b = pack_b ? packed_b_scratch<T>().get(std::size_t(kc_max) * nc_max) : nullptr;
    T* packed_a = pack_a ? packed_a_scratch<T>().get(std::size_t(kc_max) * mc_max) : nullptr;
    const bool parallel = n_threads > 1 && M * N * std::max<index_t>(K, 1) >= kGemmParallelMinFlops;

#pragma omp parallel num_threads(n_threads) if (parallel)
    {
        // loop 5: N in NC blocks
        for (index_t jc = 0; jc < N; jc += nc_max) {
            const index_t nc = std::min(nc_max, N - jc);
            const index_t n_panels = ceil_div(nc, NR);
            // loop 4: K in KC blocks
            for (index_t kb = 0; kb < k_blocks; ++kb) {
                const index_t pc = kb * kc_max;
                const index_t kc = std::max<index_t>(0, std::min(kc_max, K - pc));
                const bool last_k = kb + 1 == k_blocks;
                const bool acc = accumulate || kb > 0;
                Epilogue<T> tile_ep;  // only the finished sum gets the epilogue

                // pack B(pc.., jc..) into NR-wide panels, shared by all threads
                if (pack_b) {
#pragma omp for schedule(static)
                for (index_t jp = 0; jp < n_panels; ++jp)
                    pack_b_panel(packed_b + jp * kc * NR, B, pc, jc + jp * NR, kc,
                                 std::min(NR, nc - jp * NR), int(NR), b_col_sums);
                }

                // loop 3: M in MC blocks
                for (index_t ic = 0; ic < M; ic += mc_max) {
                    const index_t mc = std::min(mc_max, M - ic);
                    const index_t n_slivers = ceil_div(mc, MR);
                    if (pack_a) {
#pragma omp for schedule(static)
                        for (index_t s = 0; s < n_slivers; ++s)
                            pack_a_sliver(packed_a + s * kc * MR, A, ic + s * MR, pc,
                                          std::min(MR, mc - s * MR), kc, int(MR));
                    }
                    // loops 2 and 1: NR panels × MR slivers, one micro-kernel call per tile.
                    // Threads split the panels: a panel stays in L1 while it meets every sliver
                    // (splitting slivers instead streams all of B per sliver: slower when the
                    // packed B block outgrows L2).
#pragma omp for collapse(2) schedule(static)
                    for (index_t jp = 0; jp < n_panels; ++jp) {
                        for (index_t s = 0; s < n_slivers; ++s) {
                            const index_t i0 = ic + s * MR, j0 = jc + jp * NR;
                            const index_t m = std::min(MR, M - i0), n = std::min(NR, N - j0);
                            if (last_k) {
                                tile_ep = ep;
                                if (ep.bias) tile_ep.bias = ep.bias + j0;
                                if (ep.z) tile_ep.z = ep.z + i0 * ep.ldz + j0;
                            }
                            const T* a;
                            index_t rs_a, cs_a;
                            if (pack_a) {
                                a = packed_a + s * kc * MR;
                                rs_a = 1;
                                cs_a = MR;
                            } else {
                                a = A.p + i0 * A.rs + pc * A.cs;
                                rs_a = A.rs;
                                cs_a = A.cs;
                            }
                            const T* b = pack_b ? packed_b + jp * kc * NR : B.p + pc * B.rs + j0;
                            const index_t ldb = pack_b ? NR : B.rs;
                            ker.ukr(kc, a, rs_a, cs_a, b, ldb, C + i0 * ldc + j0, ldc, m, n, acc,
                                    tile_ep);
                        }
                    }
                }
            }
        }
    }
}

template void gemm<float>(const GemmKernel<float>&, float*, index_t, StridedMatrix<float>,
                          StridedMatrix<float>, index_t, index_t, index_t, bool,
                          const Epilogue<float>&, float*, int);
template void gemm<double>(const GemmKernel<double>&, double*, index_t, StridedMatrix<double>,
                           StridedMatrix<double>, index_t, index_t, index_t, bool,
                           const Epilogue<double>&, double*, int);

}  // namespace fastmlp
