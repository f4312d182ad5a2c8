// Portable micro-kernels: plain C++ the compiler vectorises for whatever baseline it targets.
// They are the fallback on every CPU and the oracle the SIMD kernels are tested against.
// Everything this file compiles is named fastmlp::portable::... (see epilogue_scalar.h).
#define FASTMLP_ISA_NAMESPACE portable
#include "../gemm_tile_simd.h"
#include "../kernel_sets.h"
#include "../optimizer_step.h"

namespace fastmlp::portable {
namespace {

// One tile: m ≤ MR rows.
template <class T, int MR, int NR>
void portable_tile(index_t kc, const T* a, index_t rs_a, index_t cs_a, const T* b, index_t ldb,
                   T* c, index_t ldc, index_t m, index_t n, bool accumulate, const Epilogue<T>& ep) {
    // a is (m, kc) at strides (rs_a, cs_a), b is (kc, n) of row stride ldb, c is (m, n) of ldc
    T acc[MR][NR] = {};
    for (index_t k = 0; k < kc; ++k) {
        const T* bk = b + k * ldb;
        for (index_t i = 0; i < m; ++i) {
            const T aik = a[i * rs_a + k * cs_a];
            if (n == NR) {  // the full-width loop has a constant trip count and vectorises
                for (int j = 0; j < NR; ++j) acc[i][j] += aik * bk[j];
            } else {
                for (index_t j = 0; j < n; ++j) acc[i][j] += aik * bk[j];
            }
        }
    }
    for (index_t i = 0; i < m; ++i)
        for (index_t j = 0; j < n; ++j) {
            T v = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
            const T bias = epilogue_uses_bias(ep.kind) ? ep.bias[j] : T(0);
            const T z = epilogue_uses_z(ep.kind) ? ep.z[i * ep.ldz + j] : T(0);
            if (epilogue_stores_pre(ep.kind) && ep.pre) ep.pre[i * ep.ldpre + j] = v + bias;
            c[i * ldc + j] = apply_epilogue(ep.kind, v, bias, z, ep.param);
        }
}

// ukernel.h's micro-kernel: m rows of a panel, MR at a time.
template <class T, int MR, int NR>
void gemm_ukr_portable(index_t kc, const T* a, index_t rs_a, index_t cs_a, index_t sliver,
                       const T* b, index_t ldb, T* c, index_t ldc, index_t m, index_t n,
                       bool accumulate, const Epilogue<T>& ep) {
    Epilogue<T> at = ep;
    for (index_t i0 = 0; i0 < m; i0 += MR) {
        portable_tile<T, MR, NR>(kc, a + i0 / MR * sliver, rs_a, cs_a, b, ldb, c + i0 * ldc, ldc,
                                 std::min<index_t>(MR, m - i0), n, accumulate, at);
        advance_rows(at, MR);
    }
}

}  // namespace

KernelSet kernels() {
    KernelSet set;
    set.isa = "portable";
    set.sgemm = {gemm_ukr_portable<float, 4, 16>, 4, 16, 256, 128, 4096, "sgemm_ukr_portable_4x16"};
    set.dgemm = {gemm_ukr_portable<double, 4, 8>, 4, 8, 256, 128, 4096, "dgemm_ukr_portable_4x8"};
    set.sgemm.pass = epilogue_pass<ScalarLane<float>>;
    set.dgemm.pass = epilogue_pass<ScalarLane<double>>;
    set.sgemm.step = optimizer_step<float>;
    set.dgemm.step = optimizer_step<double>;
    return set;
}

}  // namespace fastmlp::portable
