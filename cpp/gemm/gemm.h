// The blocked GEMM (BLIS / Goto): five loops around a micro-kernel, written once for every ISA.
//
//   C(M,N) = [C +] A(M,K) · B(K,N), then the epilogue on each finished tile
//
// A and B are read through strides, so the three products of a training step need no transposed
// copy: X·W (A row-major), dY·Wᵀ (B = W read with swapped strides), Xᵀ·dY (A = X read down columns).
// Every element of C is summed by one thread over the same K blocks in the same order, so the
// result is the same bits for any thread count.
#pragma once
#include <cstddef>
#include <memory>

#include "ukernel.h"

namespace fastmlp {

// element (i, j) at p[i·rs + j·cs]
template <class T>
struct StridedMatrix {
    const T* p = nullptr;
    index_t rs = 0, cs = 0;
};

template <class T>
inline StridedMatrix<T> row_major(const T* p, index_t ld) { return {p, ld, 1}; }
template <class T>
inline StridedMatrix<T> transposed(const T* p, index_t ld) { return {p, 1, ld}; }

// Below this many multiply-adds (about 20 µs on one core) work stays on the calling thread: waking
// a team costs microseconds on a quiet machine and a scheduler slice on a busy one, which made
// small L-BFGS problems 30x slower on 2 threads than on 1 when every op woke its own team.
constexpr index_t kTeamMinMacs = index_t(1) << 21;

// Runs f() on a team of n_threads when parallel (and n_threads > 1), else on the calling thread.
// f is team code and must not throw: no exception may cross an OpenMP region.
template <class F>
void run_in_team(int n_threads, bool parallel, F&& f) noexcept {
    // without a team, no parallel region at all: an inactive one still costs libgomp a team
    // set-up per call (a one-row prediction makes one); f's orphaned worksharing constructs
    // then bind to the calling thread alone
    if (!parallel || n_threads <= 1) {
        f();
        return;
    }
#pragma omp parallel num_threads(n_threads)
    f();
}

// A kernel and the blocks it packs into. It belongs to the caller so that every thread of a
// team packs into and reads from the same blocks, and so that nothing is allocated (nothing can
// throw) inside a parallel region.
template <class T>
class GemmWorkspace {
  public:
    // Use `kernel` for products whose M, N and K are all at most max_dim. Allocates, so call it
    // outside any parallel region; cheap when nothing grows.
    void prepare(const GemmKernel<T>& kernel, index_t max_dim);
    const GemmKernel<T>& kernel() const { return *kernel_; }
    T* packed_a() const { return a_.get(); }
    T* packed_b() const { return b_.get(); }
    index_t max_dim() const { return max_dim_; }

  private:
    struct Free {
        void operator()(T* p) const;
    };
    const GemmKernel<T>* kernel_ = nullptr;
    std::unique_ptr<T[], Free> a_, b_;
    std::size_t a_size_ = 0, b_size_ = 0;
    index_t max_dim_ = 0;
};

// Team code: every thread of the enclosing OpenMP team calls it with the same arguments (or a
// single thread, outside any parallel region), and the tiles are shared out by orphaned
// worksharing loops on a grid that does not depend on the number of threads. M, N and K must be
// at most ws.max_dim(). b_col_sums (N), when not null, receives Σ_k B(k, j) as C receives the
// product (added to it when accumulate, else written over it; M ≥ 1): a bias gradient summed
// while B is packed, with no zeroing pass before the product (nor a barrier after one).
template <class T>
void gemm_in_team(GemmWorkspace<T>& ws, T* C, index_t ldc, StridedMatrix<T> A,
                  StridedMatrix<T> B, index_t M, index_t N, index_t K, bool accumulate,
                  const Epilogue<T>& ep, T* b_col_sums);

// The same product called from one thread: it opens a team of n_threads when the product is
// big enough to repay waking one.
template <class T>
void gemm(const GemmKernel<T>& kernel, T* C, index_t ldc, StridedMatrix<T> A, StridedMatrix<T> B,
          index_t M, index_t N, index_t K, bool accumulate, const Epilogue<T>& ep, T* b_col_sums,
          int n_threads);

}  // namespace fastmlp
