// AVX2 + FMA micro-kernels: 6 rows × 2 vectors of features, 12 ymm accumulators (BLIS haswell's
// shape). Compiled with AVX2/FMA flags; reached only through the dispatcher.
#include <immintrin.h>

#include "../epilogue_scalar.h"
#include "../kernel_sets.h"

namespace fastmlp {
namespace {

// lanes j < n of a 32-bit lane mask: a window into -1 ×8, 0 ×8
alignas(32) const int kMaskWindow[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

template <class T>
struct Ymm;

template <>
struct Ymm<float> {
    using reg = __m256;
    using mask = __m256i;
    static constexpr int lanes = 8;
    static mask tail(index_t n) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskWindow + 8 - (n >= 8 ? 8 : n)));
    }
    static reg zero() { return _mm256_setzero_ps(); }
    static reg set1(float x) { return _mm256_set1_ps(x); }
    static reg loadu(const float* p) { return _mm256_loadu_ps(p); }
    static reg loadz(mask k, const float* p) { return _mm256_maskload_ps(p, k); }
    static void store(float* p, mask k, reg v) { _mm256_maskstore_ps(p, k, v); }
    static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
    static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
    static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
    static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
    static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
    static reg keep_nonzero(reg z, reg v) {  // z == 0 ? 0 : v, NaN z keeps v
        return _mm256_and_ps(_mm256_cmp_ps(z, zero(), _CMP_NEQ_UQ), v);
    }
};

template <>
struct Ymm<double> {
    using reg = __m256d;
    using mask = __m256i;
    static constexpr int lanes = 4;
    static mask tail(index_t n) {  // 64-bit lanes: widen the 32-bit window
        const index_t k = n >= 4 ? 4 : n;
        return _mm256_cvtepi32_epi64(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(kMaskWindow + 8 - k)));
    }
    static reg zero() { return _mm256_setzero_pd(); }
    static reg set1(double x) { return _mm256_set1_pd(x); }
    static reg loadu(const double* p) { return _mm256_loadu_pd(p); }
    static reg loadz(mask k, const double* p) { return _mm256_maskload_pd(p, k); }
    static void store(double* p, mask k, reg v) { _mm256_maskstore_pd(p, k, v); }
    static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
    static reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
    static reg sub(reg a, reg b) { return _mm256_sub_pd(a, b); }
    static reg mul(reg a, reg b) { return _mm256_mul_pd(a, b); }
    static reg max(reg a, reg b) { return _mm256_max_pd(a, b); }
    static reg keep_nonzero(reg z, reg v) {
        return _mm256_and_pd(_mm256_cmp_pd(z, zero(), _CMP_NEQ_UQ), v);
    }
};

constexpr int kMR = 6;

template <class T, int M, int NV, bool FullWidth>
void gemm_tile_avx2(index_t kc, const T* a, index_t rs_a, index_t cs_a, const T* b, index_t ldb,
                    T* c, index_t ldc, index_t n, bool accumulate, const Epilogue<T>& ep) {
    // a is (M, kc) at strides (rs_a, cs_a), b is (kc, n ≤ 2·lanes) of row stride ldb, c is (M, n).
    // FullWidth tiles load b whole; edge tiles load it masked, so b's row may end at column n.
    // NV is the number of vectors of accumulators per row: 1 when n fits in one vector, so a
    // narrow tail tile does half the FMAs of a full one.
    using V = Ymm<T>;
    constexpr int L = V::lanes;
    typename V::reg c0[M], c1[M];
#pragma GCC unroll 6
    for (int i = 0; i < M; ++i) c0[i] = c1[i] = V::zero();
    const typename V::mask m0 = V::tail(n), m1 = V::tail(n > L ? n - L : 0);
    for (index_t k = 0; k < kc; ++k) {
        const T* bk = b + k * ldb;
        const typename V::reg b0 = FullWidth ? V::loadu(bk) : V::loadz(m0, bk);
        const typename V::reg b1 = NV == 1 ? V::zero() : FullWidth ? V::loadu(bk + L) : V::loadz(m1, bk + L);
        const T* ak = a + k * cs_a;
#pragma GCC unroll 6
        for (int i = 0; i < M; ++i) {
            const typename V::reg ai = V::set1(ak[i * rs_a]);
            c0[i] = V::fma(ai, b0, c0[i]);
            if constexpr (NV == 2) c1[i] = V::fma(ai, b1, c1[i]);
        }
    }
    const EpilogueKind kind = ep.kind;
    typename V::reg bias0 = V::zero(), bias1 = V::zero();
    if (epilogue_uses_bias(kind)) {
        bias0 = V::loadz(m0, ep.bias);
        if constexpr (NV == 2) bias1 = V::loadz(m1, ep.bias + L);
    }
    const typename V::reg one = V::set1(T(1));
#pragma GCC unroll 6
    for (int i = 0; i < M; ++i) {
        T* ci = c + i * ldc;
        typename V::reg v0 = c0[i], v1 = c1[i];
        if (accumulate) {
            v0 = V::add(V::loadz(m0, ci), v0);
            if constexpr (NV == 2) v1 = V::add(V::loadz(m1, ci + L), v1);
        }
        if (epilogue_uses_bias(kind)) {
            v0 = V::add(v0, bias0);
            v1 = V::add(v1, bias1);
            if (kind == EpilogueKind::bias_relu) {  // max(0, v) returns v when v is NaN
                v0 = V::max(V::zero(), v0);
                v1 = V::max(V::zero(), v1);
            }
        } else if (epilogue_uses_z(kind)) {
            const T* zi = ep.z + i * ep.ldz;
            const typename V::reg z0 = V::loadz(m0, zi);
            const typename V::reg z1 = NV == 2 ? V::loadz(m1, zi + L) : V::zero();
            if (kind == EpilogueKind::relu_grad) {
                v0 = V::keep_nonzero(z0, v0);
                v1 = V::keep_nonzero(z1, v1);
            } else if (kind == EpilogueKind::logistic_grad) {
                v0 = V::mul(V::mul(v0, z0), V::sub(one, z0));
                v1 = V::mul(V::mul(v1, z1), V::sub(one, z1));
            } else {
                v0 = V::mul(v0, V::sub(one, V::mul(z0, z0)));
                v1 = V::mul(v1, V::sub(one, V::mul(z1, z1)));
            }
        }
        V::store(ci, m0, v0);
        if constexpr (NV == 2) V::store(ci + L, m1, v1);
    }
    activate_tile(kind, c, ldc, M, n);
}

template <class T>
void gemm_ukr_avx2(index_t kc, const T* a, index_t rs_a, index_t cs_a, const T* b, index_t ldb,
                   T* c, index_t ldc, index_t m, index_t n, bool accumulate, const Epilogue<T>& ep) {
    constexpr int NR = 2 * Ymm<T>::lanes;
    switch (m) {
#define FASTMLP_TILE_ARGS kc, a, rs_a, cs_a, b, ldb, c, ldc, n, accumulate, ep
#define FASTMLP_ROWS(M) \
    case M:                                                                            \
        if (n == NR) return gemm_tile_avx2<T, M, 2, true>(FASTMLP_TILE_ARGS);           \
        if (n > NR / 2) return gemm_tile_avx2<T, M, 2, false>(FASTMLP_TILE_ARGS);       \
        return gemm_tile_avx2<T, M, 1, false>(FASTMLP_TILE_ARGS);
        FASTMLP_ROWS(6) FASTMLP_ROWS(5) FASTMLP_ROWS(4) FASTMLP_ROWS(3) FASTMLP_ROWS(2) FASTMLP_ROWS(1)
#undef FASTMLP_ROWS
#undef FASTMLP_TILE_ARGS
        default: return;
    }
}

}  // namespace

KernelSet avx2_kernels() {
    KernelSet set;
    set.isa = "avx2";
    set.sgemm = {gemm_ukr_avx2<float>, kMR, 16, 256, 120, 4096, "sgemm_ukr_avx2_6x16"};
    set.dgemm = {gemm_ukr_avx2<double>, kMR, 8, 256, 120, 2048, "dgemm_ukr_avx2_6x8"};
    return set;
}

}  // namespace fastmlp
