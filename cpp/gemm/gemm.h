// The blocked GEMM (BLIS / Goto): five loops around a micro-kernel, written once for every ISA.
//
//   C(M,N) = [C +] A(M,K) · B(K,N), then the epilogue on each finished tile
//
// A and B are read through strides, so the three products of a training step need no transposed
// copy: X·W (A row-major), dY·Wᵀ (B = W read with swapped strides), Xᵀ·dY (A = X read down columns).
// Every element of C is summed by one thread over the same K blocks in the same order, so the
// result is the same bits for any thread count.
#pragma once
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

// b_col_sums (N), when not null, receives += Σ_k B(k, j): a bias gradient summed while B is packed.
template <class T>
void gemm(const GemmKernel<T>& kernel, T* C, index_t ldc, StridedMatrix<T> A, StridedMatrix<T> B,
          index_t M, index_t N, index_t K, bool accumulate, const Epilogue<T>& ep, T* b_col_sums,
          int n_threads);

}  // namespace fastmlp
