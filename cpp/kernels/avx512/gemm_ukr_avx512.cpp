// AVX-512 (F/BW/DQ/VL) micro-kernels: 12 rows × 2 vectors of features, 24 zmm accumulators.
// Compiled with AVX-512 flags; reached only through the dispatcher on CPUs that have them.
#include <immintrin.h>

#include "../epilogue_scalar.h"
#include "../kernel_sets.h"

namespace fastmlp {
namespace {

template <class T>
struct Zmm;

template <>
struct Zmm<float> {
    using reg = __m512;
    using mask = __mmask16;
    static constexpr int lanes = 16;
    static mask tail(index_t n) { return n >= 16 ? mask(0xFFFF) : mask((1u << n) - 1u); }
    static reg zero() { return _mm512_setzero_ps(); }
    static reg set1(float x) { return _mm512_set1_ps(x); }
    static reg loadu(const float* p) { return _mm512_loadu_ps(p); }
    static reg loadz(mask k, const float* p) { return _mm512_maskz_loadu_ps(k, p); }
    static void store(float* p, mask k, reg v) { _mm512_mask_storeu_ps(p, k, v); }
    static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
    static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
    static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
    static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
    static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
    static reg keep_nonzero(reg z, reg v) {  // z == 0 ? 0 : v, NaN z keeps v
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(z, zero(), _CMP_NEQ_UQ), v);
    }
};

template <>
struct Zmm<double> {
    using reg = __m512d;
    using mask = __mmask8;
    static constexpr int lanes = 8;
    static mask tail(index_t n) { return n >= 8 ? mask(0xFF) : mask((1u << n) - 1u); }
    static reg zero() { return _mm512_setzero_pd(); }
    static reg set1(double x) { return _mm512_set1_pd(x); }
    static reg loadu(const double* p) { return _mm512_loadu_pd(p); }
    static reg loadz(mask k, const double* p) { return _mm512_maskz_loadu_pd(k, p); }
    static void store(double* p, mask k, reg v) { _mm512_mask_storeu_pd(p, k, v); }
    static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
    static reg add(reg a, reg b) { return _mm512_add_pd(a, b); }
    static reg sub(reg a, reg b) { return _mm512_sub_pd(a, b); }
    static reg mul(reg a, reg b) { return _mm512_mul_pd(a, b); }
    static reg max(reg a, reg b) { return _mm512_max_pd(a, b); }
    static reg keep_nonzero(reg z, reg v) {
        return _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(z, zero(), _CMP_NEQ_UQ), v);
    }
};

constexpr int kMR = 12;

template <class T, int M, int NV, bool FullWidth>
void gemm_tile_avx512(index_t kc, const T* a, index_t rs_a, index_t cs_a, const T* b, index_t ldb,
                      T* c, index_t ldc, index_t n, bool accumulate, const Epilogue<T>& ep) {
    // a is (M, kc) at strides (rs_a, cs_a), b is (kc, n ≤ 2·lanes) of row stride ldb, c is (M, n).
    // FullWidth tiles load b whole; edge tiles load it masked, so b's row may end at column n.
    // NV is the number of vectors of accumulators per row: 1 when n fits in one vector, so a
    // narrow tail tile does half the FMAs of a full one.
    using V = Zmm<T>;
    constexpr int L = V::lanes;
    typename V::reg c0[M], c1[M];
#pragma GCC unroll 12
    for (int i = 0; i < M; ++i) c0[i] = c1[i] = V::zero();
    const typename V::mask m0 = V::tail(n), m1 = V::tail(n > L ? n - L : 0);
    for (index_t k = 0; k < kc; ++k) {
        const T* bk = b + k * ldb;
        const typename V::reg b0 = FullWidth ? V::loadu(bk) : V::loadz(m0, bk);
        const typename V::reg b1 = NV == 1 ? V::zero() : FullWidth ? V::loadu(bk + L) : V::loadz(m1, bk + L);
        const T* ak = a + k * cs_a;
#pragma GCC unroll 12
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
#pragma GCC unroll 12
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
void gemm_ukr_avx512(index_t kc, const T* a, index_t rs_a, index_t cs_a, const T* b, index_t ldb,
                   T* c, index_t ldc, index_t m, index_t n, bool accumulate, const Epilogue<T>& ep) {
    constexpr int NR = 2 * Zmm<T>::lanes;
    switch (m) {
#define FASTMLP_TILE_ARGS kc, a, rs_a, cs_a, b, ldb, c, ldc, n, accumulate, ep
#define FASTMLP_ROWS(M) \
    case M:                                                                            \
        if (n == NR) return gemm_tile_avx512<T, M, 2, true>(FASTMLP_TILE_ARGS);           \
        if (n > NR / 2) return gemm_tile_avx512<T, M, 2, false>(FASTMLP_TILE_ARGS);       \
        return gemm_tile_avx512<T, M, 1, false>(FASTMLP_TILE_ARGS);
        FASTMLP_ROWS(12) FASTMLP_ROWS(11) FASTMLP_ROWS(10) FASTMLP_ROWS(9) FASTMLP_ROWS(8)
        FASTMLP_ROWS(7) FASTMLP_ROWS(6) FASTMLP_ROWS(5) FASTMLP_ROWS(4) FASTMLP_ROWS(3)
        FASTMLP_ROWS(2) FASTMLP_ROWS(1)
#undef FASTMLP_ROWS
#undef FASTMLP_TILE_ARGS
        default: return;
    }
}

// One row of C in NV vectors: every k reads one contiguous stretch of b's row k.
template <class T, int NV>
void gemm_row_avx512(index_t kc, const T* a, index_t cs_a, const T* b, index_t ldb, T* c,
                     index_t n, bool accumulate, const Epilogue<T>& ep) {
    // a is (kc) at stride cs_a, b is (kc, n ≤ NV·lanes) of row stride ldb, c is (n)
    using V = Zmm<T>;
    constexpr int L = V::lanes;
    typename V::mask mask[NV];
    typename V::reg acc[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
        mask[v] = V::tail(n > v * L ? n - v * L : 0);
        acc[v] = V::zero();
    }
    for (index_t k = 0; k < kc; ++k) {
        const typename V::reg ak = V::set1(a[k * cs_a]);
        const T* bk = b + k * ldb;
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) acc[v] = V::fma(ak, V::loadz(mask[v], bk + v * L), acc[v]);
    }
    const EpilogueKind kind = ep.kind;
    const typename V::reg one = V::set1(T(1));
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
        typename V::reg x = acc[v];
        if (accumulate) x = V::add(V::loadz(mask[v], c + v * L), x);
        if (epilogue_uses_bias(kind)) {
            x = V::add(x, V::loadz(mask[v], ep.bias + v * L));
            if (kind == EpilogueKind::bias_relu) x = V::max(V::zero(), x);
        } else if (epilogue_uses_z(kind)) {
            const typename V::reg z = V::loadz(mask[v], ep.z + v * L);
            if (kind == EpilogueKind::relu_grad) x = V::keep_nonzero(z, x);
            else if (kind == EpilogueKind::logistic_grad) x = V::mul(V::mul(x, z), V::sub(one, z));
            else x = V::mul(x, V::sub(one, V::mul(z, z)));
        }
        V::store(c + v * L, mask[v], x);
    }
    activate_tile(kind, c, n, 1, n);
}

constexpr int kRowVectors = 16;  // 16 accumulators of 32 zmm: a 256-float (128-double) chunk

}  // namespace

KernelSet avx512_kernels() {
    KernelSet set;
    set.isa = "avx512";
    set.sgemm = {gemm_ukr_avx512<float>, kMR, 32, 256, 240, 4096, "sgemm_ukr_avx512_12x32"};
    set.dgemm = {gemm_ukr_avx512<double>, kMR, 16, 256, 120, 2048, "dgemm_ukr_avx512_12x16"};
    set.sgemm.row = gemm_row_avx512<float, kRowVectors>;
    set.sgemm.row_nr = kRowVectors * Zmm<float>::lanes;
    set.dgemm.row = gemm_row_avx512<double, kRowVectors>;
    set.dgemm.row_nr = kRowVectors * Zmm<double>::lanes;
    return set;
}

}  // namespace fastmlp
