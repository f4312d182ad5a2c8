// Reference GEMMs: the three products one training step needs, row-major, no transposes
// materialised. They are the fallback and the test oracle for the blocked kernels.
//
// Letters: M rows of C, N columns of C, K the summed dimension.
// Every element of C is summed over K in increasing k by a single thread, so the result is
// the same bits for any thread count.
#pragma once
#include <cstdint>

namespace fastmlp {

using index_t = std::int64_t;

// C(M,N) = A(M,K) · B(K,N), plus C when accumulate
template <class T>
void gemm_nn_ref(T* C, const T* A, const T* B, index_t M, index_t N, index_t K,
                 bool accumulate, int n_threads);

// C(M,N) = A(M,K) · B(N,K)ᵀ, plus C when accumulate
template <class T>
void gemm_nt_ref(T* C, const T* A, const T* B, index_t M, index_t N, index_t K,
                 bool accumulate, int n_threads);

// C(M,N) = A(K,M)ᵀ · B(K,N), plus C when accumulate
template <class T>
void gemm_tn_ref(T* C, const T* A, const T* B, index_t M, index_t N, index_t K,
                 bool accumulate, int n_threads);

// Below this many multiply-adds a product runs on the calling thread: a fork/join costs a few
// microseconds on a quiet machine and a scheduler tick on a loaded one, so small products
// (about 25 µs of work) are not worth a team.
constexpr index_t kParallelMinFlops = 1 << 18;

}  // namespace fastmlp
