#include "gemm_ref.h"

#include <algorithm>

namespace fastmlp {

template <class T>
void gemm_nn_ref(T* C, const T* A, const T* B, index_t M, index_t N, index_t K,
                 bool accumulate, int n_threads) {
    // A is (M,K), B is (K,N), C is (M,N); the inner loop walks a row of B and a row of C
    const bool parallel = M * N * K >= kParallelMinFlops && M > 1;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (parallel)
    for (index_t i = 0; i < M; ++i) {
        T* c = C + i * N;
        if (!accumulate) std::fill(c, c + N, T(0));
        const T* a = A + i * K;
        for (index_t k = 0; k < K; ++k) {
            const T aik = a[k];
            const T* b = B + k * N;
            for (index_t j = 0; j < N; ++j) c[j] += aik * b[j];
        }
    }
}

template <class T>
void gemm_nt_ref(T* C, const T* A, const T* B, index_t M, index_t N, index_t K,
                 bool accumulate, int n_threads) {
    // A is (M,K), B is (N,K), C is (M,N); each element is a dot product of two rows
    const bool parallel = M * N * K >= kParallelMinFlops && M > 1;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (parallel)
    for (index_t i = 0; i < M; ++i) {
        const T* a = A + i * K;
        T* c = C + i * N;
        for (index_t j = 0; j < N; ++j) {
            const T* b = B + j * K;
            T sum = accumulate ? c[j] : T(0);
            for (index_t k = 0; k < K; ++k) sum += a[k] * b[k];
            c[j] = sum;
        }
    }
}

template <class T>
void gemm_tn_ref(T* C, const T* A, const T* B, index_t M, index_t N, index_t K,
                 bool accumulate, int n_threads) {
    // A is (K,M), B is (K,N), C is (M,N); row i of C gathers column i of A against rows of B
    const bool parallel = M * N * K >= kParallelMinFlops && M > 1;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (parallel)
    for (index_t i = 0; i < M; ++i) {
        T* c = C + i * N;
        if (!accumulate) std::fill(c, c + N, T(0));
        for (index_t k = 0; k < K; ++k) {
            const T aki = A[k * M + i];
            const T* b = B + k * N;
            for (index_t j = 0; j < N; ++j) c[j] += aki * b[j];
        }
    }
}

#define FASTMLP_INSTANTIATE_GEMM(T)                                                          \
    template void gemm_nn_ref<T>(T*, const T*, const T*, index_t, index_t, index_t, bool, int); \
    template void gemm_nt_ref<T>(T*, const T*, const T*, index_t, index_t, index_t, bool, int); \
    template void gemm_tn_ref<T>(T*, const T*, const T*, index_t, index_t, index_t, bool, int);
FASTMLP_INSTANTIATE_GEMM(float)
FASTMLP_INSTANTIATE_GEMM(double)

}  // namespace fastmlp
