#include "gemm.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>

#include <unistd.h>

namespace fastmlp {

namespace {

index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

// Split `total` into the fewest blocks of at most `max_block`, as even as possible, rounded up
// to a multiple of `multiple`.
index_t even_block(index_t total, index_t max_block, index_t multiple) {
    if (total <= 0) return multiple;
    const index_t blocks = ceil_div(total, max_block);
    return ceil_div(ceil_div(total, blocks), multiple) * multiple;
}

// The largest block even_block gives for any total up to max_total.
index_t even_block_bound(index_t max_total, index_t max_block, index_t multiple) {
    return ceil_div(std::max<index_t>(1, std::min(max_total, max_block)), multiple) * multiple;
}

// sums[j] += Σ_{k < kc} src[k·ld + j] for j < n ≤ NR, each sum in k order
template <int NR, class T>
void sum_panel_columns(T* sums, const T* src, index_t ld, index_t kc, index_t n) {
    if (n == NR) {  // a constant trip count: the sums vectorise and stay in registers
        for (index_t k = 0; k < kc; ++k)
            for (int j = 0; j < NR; ++j) sums[j] += src[k * ld + j];
    } else {
        for (index_t k = 0; k < kc; ++k)
            for (index_t j = 0; j < n; ++j) sums[j] += src[k * ld + j];
    }
}

// col_sums[j0 + j] = s_j, or += s_j when add
template <class T>
void store_col_sums(T* col_sums, const T* s, index_t j0, index_t n, bool add) {
    for (index_t j = 0; j < n; ++j) col_sums[j0 + j] = add ? col_sums[j0 + j] + s[j] : s[j];
}

// col_sums[j0 + j] (+)= Σ_k B(k, j) over one NR-wide panel of a row-major B read in place
// (k < kc from row k0, j < n), summed as pack_b_panel sums a packed one: the same bits
template <int NR, class T>
void sum_b_panel(StridedMatrix<T> B, index_t k0, index_t j0, index_t kc, index_t n, T* col_sums,
                 bool add) {
    T sums[NR] = {};
    sum_panel_columns<NR>(sums, B.p + k0 * B.rs + j0, B.rs, kc, n);
    store_col_sums(col_sums, sums, j0, n, add);
}

// One NR-wide panel of B(pc.., jc..): dst(k, j) = B(k, j) for k < kc, j < n, zero for n ≤ j < NR;
// col_sums[j0 + j] (+)= Σ_k B(k, j) when col_sums is not null (added when add). NR is a
// compile-time constant so the copy has a fixed trip count and the sums stay in registers for
// the whole panel.
template <int NR, class T>
void pack_b_panel(T* dst, StridedMatrix<T> B, index_t k0, index_t j0, index_t kc, index_t n,
                  T* col_sums, bool add) {
    T sums[NR] = {};
    if (B.cs == 1 && n == NR) {
        // the copy, then the sums over the packed panel (still in L1): written together, the
        // compiler kept NR scalar loads, stores and adds per row; apart, both vectorise
        for (index_t k = 0; k < kc; ++k)
            std::memcpy(dst + k * NR, B.p + (k0 + k) * B.rs + j0, NR * sizeof(T));
        if (col_sums) sum_panel_columns<NR>(sums, dst, NR, kc, n);
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
    if (col_sums) store_col_sums(col_sums, sums, j0, n, add);
}

template <class T>
void pack_b_panel(T* dst, StridedMatrix<T> B, index_t k0, index_t j0, index_t kc, index_t n,
                  int nr, T* col_sums, bool add) {
    switch (nr) {
        case 8: return pack_b_panel<8>(dst, B, k0, j0, kc, n, col_sums, add);
        case 16: return pack_b_panel<16>(dst, B, k0, j0, kc, n, col_sums, add);
        case 32: return pack_b_panel<32>(dst, B, k0, j0, kc, n, col_sums, add);
        default: __builtin_unreachable();  // dispatch.cpp admits only these widths, at import
    }
}

template <class T>
void sum_b_panel(StridedMatrix<T> B, index_t k0, index_t j0, index_t kc, index_t n, int nr,
                 T* col_sums, bool add) {
    switch (nr) {
        case 8: return sum_b_panel<8>(B, k0, j0, kc, n, col_sums, add);
        case 16: return sum_b_panel<16>(B, k0, j0, kc, n, col_sums, add);
        case 32: return sum_b_panel<32>(B, k0, j0, kc, n, col_sums, add);
        default: __builtin_unreachable();
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

// Up to this many rows of C a row-major B is read in place rather than packed...
constexpr index_t kReadBInPlaceMaxRows = 16;

// ...and so is a row-major B whose K block fits in half of this core's L2 (the other half holds
// the A block and the tiles of C): its rows stay in L2 while every sliver of A passes them, and
// the panels are read from there as fast as from a packed copy, without the copy (which cost a
// fifth of a 64×256→256 product). The size is asked once; 512 KiB when the system does not say.
std::size_t l2_bytes() {
    static const std::size_t bytes = [] {
        long size = 0;
#ifdef _SC_LEVEL2_CACHE_SIZE
        size = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
        return size > 0 ? std::size_t(size) : std::size_t(512) * 1024;
    }();
    return bytes;
}

// at (a copy of ep) pointed at the part of C from row i, column j on. Only the pointers are
// written: building a whole copy per call went through the stack in mismatched widths, and the
// stalled store forwarding cost a third of a 200×20→100 layer's driver time.
template <class T>
void point_epilogue_at(Epilogue<T>& at, const Epilogue<T>& ep, index_t i, index_t j) {
    if (ep.bias) at.bias = ep.bias + j;
    if (ep.z) at.z = ep.z + i * ep.ldz + j;
    if (ep.pre) at.pre = ep.pre + i * ep.ldpre + j;
}

}  // namespace

template <class T>
void GemmWorkspace<T>::Free::operator()(T* p) const {
    std::free(p);
}

template <class T>
void GemmWorkspace<T>::prepare(const GemmKernel<T>& kernel, index_t max_dim) {
    const std::size_t kc = even_block_bound(max_dim, kernel.kc, 1);
    const std::size_t a_size = kc * even_block_bound(max_dim, kernel.mc, kernel.mr);
    const std::size_t b_size = kc * even_block_bound(max_dim, kernel.nc, kernel.nr);
    auto grow = [](std::unique_ptr<T[], Free>& buf, std::size_t& size, std::size_t need) {
        if (need <= size) return;
        const std::size_t bytes = ((need * sizeof(T) + 63) / 64) * 64;
        T* p = static_cast<T*>(std::aligned_alloc(64, bytes));
        if (!p) throw std::bad_alloc();
        buf.reset(p);
        size = need;
    };
    grow(a_, a_size_, a_size);
    grow(b_, b_size_, b_size);
    kernel_ = &kernel;
    max_dim_ = max_dim;
}

template <class T>
void gemm_in_team(GemmWorkspace<T>& ws, T* C, index_t ldc, StridedMatrix<T> A,
                  StridedMatrix<T> B, index_t M, index_t N, index_t K, bool accumulate,
                  const Epilogue<T>& ep, T* b_col_sums) {
    if (M <= 0 || N <= 0) return;
    assert(M <= ws.max_dim() && N <= ws.max_dim() && K <= ws.max_dim());
    const GemmKernel<T>& ker = ws.kernel();
    if (M == 1 && ker.row && B.cs == 1 && b_col_sums == nullptr) {
        // one row (predicting one sample): stream B's rows in order through the row kernel
        const index_t n_chunks = ceil_div(N, ker.row_nr);
        Epilogue<T> chunk_ep = ep;
#pragma omp for schedule(static)
        for (index_t chunk = 0; chunk < n_chunks; ++chunk) {
            const index_t j0 = chunk * ker.row_nr;
            point_epilogue_at(chunk_ep, ep, 0, j0);
            ker.row(K, A.p, A.cs, B.p + j0, B.rs, C + j0, std::min<index_t>(ker.row_nr, N - j0),
                    accumulate, chunk_ep);
        }
        return;
    }
    if (N == 1 && ker.column && A.cs == 1 && B.rs == 1 && b_col_sums == nullptr &&
        (ep.kind == EpilogueKind::none || ep.kind == EpilogueKind::bias)) {
        // one column (the output layer of a binary or single-output model): dot products along
        // A's rows, which a tile would compute one lane of a vector at a time
        constexpr index_t kRowsPerChunk = 64;
        const index_t n_chunks = ceil_div(M, kRowsPerChunk);
#pragma omp for schedule(static)
        for (index_t chunk = 0; chunk < n_chunks; ++chunk) {
            const index_t i0 = chunk * kRowsPerChunk;
            ker.column(K, A.p + i0 * A.rs, A.rs, B.p, C + i0 * ldc, ldc,
                       std::min(kRowsPerChunk, M - i0), accumulate, ep);
        }
        return;
    }
    const index_t MR = ker.mr, NR = ker.nr;
    const index_t kc_max = even_block(K, ker.kc, 1);
    if (N == 1 && ker.row && A.rs == 1 && ldc == 1 && ep.kind == EpilogueKind::none) {
        // one column from a transposed A (Xᵀ·δ, the last layer's weight gradient of a binary or
        // single-output model): its transpose cᵀ = bᵀ·Aᵀ is one row over A's contiguous rows,
        // which the row kernel streams in order, where a tile would spend a vector on one column
        const index_t n_chunks = ceil_div(M, ker.row_nr);
#pragma omp for schedule(static) nowait
        for (index_t chunk = 0; chunk < n_chunks; ++chunk) {
            const index_t i0 = chunk * ker.row_nr;
            ker.row(K, B.p, B.rs, A.p + i0, A.cs, C + i0, std::min<index_t>(ker.row_nr, M - i0),
                    accumulate, ep);
        }
        if (b_col_sums) {
            // summed by K block, as packing does (one empty block when K = 0, to write the 0)
#pragma omp single nowait
            for (index_t pc = 0; pc < std::max<index_t>(K, 1); pc += kc_max) {
                T sum = T(0);
                for (index_t k = pc; k < std::min(K, pc + kc_max); ++k) sum += B.p[k * B.rs];
                store_col_sums(b_col_sums, &sum, 0, 1, accumulate || pc > 0);
            }
        }
#pragma omp barrier
        return;
    }
    const index_t nc_max = even_block(N, ker.nc, NR);
    const index_t mc_max = even_block(M, ker.mc, MR);
    const index_t k_blocks = std::max<index_t>(1, ceil_div(K, kc_max));
    // A is read in place, its MC × KC block staying in L2 across the panels of B, unless its
    // rows would be a multiple of 2 KiB apart: then the MR rows of a sliver fall into one or two
    // of L1's 64 sets, more lines than an 8-way L1 holds beside B's, and evict each other on
    // every k (K = 1024 ran at half speed), so it is packed. Rows 1 KiB apart spread over four
    // sets and read well in place (4096×256→128: 168 → 202 GFLOP/s on one AVX-512 thread, 287
    // → 374 on two, 88 → 104 on AVX2). (Large blocks were packed too until the copy, a strided
    // gather, measured slower than reading in place on every path: 4096×784→256 went from 142
    // to 171 GFLOP/s on AVX-512, 83 to 95 on AVX2, and Xᵀ·dY over 20000 rows gained 5-20%.)
    const std::size_t row_bytes = std::size_t(A.rs) * sizeof(T);
    const bool pack_a = A.cs == 1 && M > 1 && row_bytes % 2048 == 0;
    // B is packed when its rows are not contiguous or when many rows of C meet a K block of B
    // that outgrows L2; otherwise (a few rows, e.g. predicting one sample, a weight matrix, or
    // a batch's deltas whose block stays in L2) the kernels read a row-major B in place, and
    // its column sums, when wanted, are summed from there (packing them cost a copy of the
    // deltas: Xᵀ·δ of a 200×20→100 float64 layer went from 12.7 to 9.9 µs, on AVX-512).
    // A kernel for cores that read B's rows in place slower than a packed panel packs it from
    // fewer rows of C (b_in_place_max_rows): on a Zen 3 core (AVX2, 32 KB L1, 512 KB L2) the
    // rows of a 1 KiB-strided panel share four of L1's sets and stream from L2, and rows at
    // other strides split loads across lines. In alternated runs packing from 48 rows on took
    // 120×256→256 float32 from 70 to 81 GFLOP/s (medians; best 81 → 92) and 200×784→100 from
    // 62 to 81; below that the copy is not repaid (32×128→128 lost a little).
    const bool b_block_in_l2 = std::size_t(kc_max) * std::size_t(N) * sizeof(T) <= l2_bytes() / 2;
    const index_t b_in_place_max_rows =
        b_block_in_l2 ? std::max(kReadBInPlaceMaxRows, ker.b_in_place_max_rows) : kReadBInPlaceMaxRows;
    const bool pack_b = B.cs != 1 || M > b_in_place_max_rows;
    // both packed blocks are the team's: each sliver and panel is packed by one thread, read by any
    T* packed_b = ws.packed_b();
    T* packed_a = ws.packed_a();
    Epilogue<T> run_ep = ep;  // pointed at each run of tiles of the last K block
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
            const Epilogue<T> no_ep;  // only the finished sum gets the epilogue

            // pack B(pc.., jc..) into NR-wide panels, shared by all threads
            if (pack_b) {
#pragma omp for schedule(static)
                for (index_t jp = 0; jp < n_panels; ++jp)
                    pack_b_panel(packed_b + jp * kc * NR, B, pc, jc + jp * NR, kc,
                                 std::min(NR, nc - jp * NR), int(NR), b_col_sums, acc);
            } else if (b_col_sums) {  // nothing waits for the sums: no barrier
#pragma omp for schedule(static) nowait
                for (index_t jp = 0; jp < n_panels; ++jp)
                    sum_b_panel(B, pc, jc + jp * NR, kc, std::min(NR, nc - jp * NR), int(NR),
                                b_col_sums, acc);
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
                // loops 2 and 1: NR panels × MR slivers, one micro-kernel call per run of a
                // thread's tiles down a panel. Threads split the tiles, panel by panel: a panel
                // stays in L1 while it meets every sliver (splitting slivers instead streams all
                // of B per sliver: slower when the packed B block outgrows L2). Every M block and
                // K block splits the same grid the same static way, so each tile of C has one
                // thread through all K blocks, and a thread goes on to its next block without
                // waiting for the others, until a packed block is about to be overwritten (or
                // the product ends): a barrier per M block cost 100 of them on a 4096×784→256
                // layer, each a wait for the slower thread on a shared host.
                const T* const a_block = pack_a ? packed_a : A.p + ic * A.rs + pc * A.cs;
                const index_t rs_a = pack_a ? 1 : A.rs, cs_a = pack_a ? MR : A.cs;
                const index_t sliver = pack_a ? kc * MR : MR * A.rs;
                index_t run_jp = -1, run_s0 = 0, run_s1 = 0;  // this thread's slivers [s0, s1) of panel jp
                const auto compute_run = [&] {
                    if (run_s1 <= run_s0) return;
                    const index_t i0 = ic + run_s0 * MR, j0 = jc + run_jp * NR;
                    const index_t m = std::min(run_s1 * MR, mc) - run_s0 * MR, n = std::min(NR, N - j0);
                    if (last_k) point_epilogue_at(run_ep, ep, i0, j0);
                    const T* b = pack_b ? packed_b + run_jp * kc * NR : B.p + pc * B.rs + j0;
                    ker.ukr(kc, a_block + run_s0 * sliver, rs_a, cs_a, sliver, b, pack_b ? NR : B.rs,
                            C + i0 * ldc + j0, ldc, m, n, acc, last_k ? run_ep : no_ep);
                    run_s0 = run_s1;
                };
#pragma omp for collapse(2) schedule(static) nowait
                for (index_t jp = 0; jp < n_panels; ++jp) {
                    for (index_t s = 0; s < n_slivers; ++s) {
                        if (jp != run_jp || s != run_s1) {
                            compute_run();
                            run_jp = jp;
                            run_s0 = s;
                        }
                        run_s1 = s + 1;
                    }
                }
                compute_run();
                if (pack_a) {
#pragma omp barrier
                }
            }
            if (pack_b && !pack_a) {
#pragma omp barrier
            }
        }
    }
    if (!pack_a && !pack_b) {  // (else the last block's barrier was the last thing done)
        // the caller reads C (and the column sums) next
#pragma omp barrier
    }
}

template <class T>
void gemm(const GemmKernel<T>& kernel, T* C, index_t ldc, StridedMatrix<T> A, StridedMatrix<T> B,
          index_t M, index_t N, index_t K, bool accumulate, const Epilogue<T>& ep, T* b_col_sums,
          int n_threads) {
    if (M <= 0 || N <= 0) return;
    // the calling thread's, shared with the team through a local reference (inside the lambda
    // the static's own name would mean each thread's own)
    static thread_local GemmWorkspace<T> callers_ws;
    GemmWorkspace<T>& ws = callers_ws;
    ws.prepare(kernel, std::max({M, N, K}));
    run_in_team(n_threads, M * N * std::max<index_t>(K, 1) >= kTeamMinMacs, [&] {
        gemm_in_team(ws, C, ldc, A, B, M, N, K, accumulate, ep, b_col_sums);
    });
}

#define FASTMLP_INSTANTIATE_GEMM(T)                                                              \
    template class GemmWorkspace<T>;                                                             \
    template void gemm_in_team<T>(GemmWorkspace<T>&, T*, index_t, StridedMatrix<T>,              \
                                  StridedMatrix<T>, index_t, index_t, index_t, bool,             \
                                  const Epilogue<T>&, T*);                                       \
    template void gemm<T>(const GemmKernel<T>&, T*, index_t, StridedMatrix<T>, StridedMatrix<T>, \
                          index_t, index_t, index_t, bool, const Epilogue<T>&, T*, int);
FASTMLP_INSTANTIATE_GEMM(float)
FASTMLP_INSTANTIATE_GEMM(double)

}  // namespace fastmlp
