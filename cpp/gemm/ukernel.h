// The micro-kernel contract, written once. Every ISA's kernel fills in exactly this.
//
// A micro-kernel computes one tile of at most MR rows × NR columns of a row-major C:
//
//     C[i][j] = (accumulate ? C[i][j] : 0) + Σ_{k < kc} a(i,k) · b(k,j)      i < m ≤ MR, j < n ≤ NR
//
// and, when ep.kind != none, applies the epilogue to the tile in registers before its single store.
//
//   a(i,k)  is read at a[i·rs_a + k·cs_a]. A packed sliver has rs_a = 1, cs_a = MR; a row-major
//           operand read in place has rs_a = lda, cs_a = 1; a transposed one rs_a = 1, cs_a = lda.
//           Rows i ≥ m are never read.
//   b(k,j)  is read at b[k·ldb + j]: a packed panel (ldb = NR, zero-padded to NR columns, 64-byte
//           aligned) or a row-major operand read in place (ldb = its row stride). Columns j ≥ n
//           are never read, so an in-place operand's last panel may end at its last column.
//   C       has row stride ldc; only the m × n corner is read or written. When accumulate is false
//           C is never read (it may hold garbage or NaN): "beta == 0 never reads C".
//   edges   n < NR is handled with masked loads and stores, m < MR with a kernel for m rows.
//
// Epilogues (ep pointers are already offset to the tile's first row and column):
//   bias            C += bias[j]
//   bias_relu       C = max(C + bias[j], 0)     (NaN stays NaN, so divergence stays visible)
//   bias_logistic   C = 1 / (1 + exp(-(C + bias[j])))
//   bias_tanh       C = tanh(C + bias[j])
//   relu_grad       C = z[i][j] == 0 ? 0 : C    z is the stored output of the activation
//   logistic_grad   C = C · z · (1 − z)
//   tanh_grad       C = C · (1 − z²)
// An epilogue applies to the finished sum, so the GEMM driver passes it only with the last K block.
#pragma once
#include <cstdint>

namespace fastmlp {

using index_t = std::int64_t;

enum class EpilogueKind : int {
    none = 0,
    bias,
    bias_relu,
    bias_logistic,
    bias_tanh,
    relu_grad,
    logistic_grad,
    tanh_grad,
};

template <class T>
struct Epilogue {
    EpilogueKind kind = EpilogueKind::none;
    const T* bias = nullptr;  // (n) for the bias_* kinds
    const T* z = nullptr;     // (m, ldz) for the *_grad kinds
    index_t ldz = 0;
};

template <class T>
using MicroKernel = void (*)(index_t kc, const T* a, index_t rs_a, index_t cs_a, const T* b,
                             index_t ldb, T* c, index_t ldc, index_t m, index_t n, bool accumulate,
                             const Epilogue<T>& ep);

// The one-row kernel (optional): for a single row of C, with B row-major and read in place,
//
//     c[j] = (accumulate ? c[j] : 0) + Σ_{k < kc} a[k·cs_a] · b[k·ldb + j]      j < n ≤ row_nr
//
// then the epilogue (ep offset to this chunk, z of one row). It keeps a whole chunk of the row in
// registers and walks b's rows in order, so the weights stream sequentially with row_nr / lanes
// independent FMA chains, where a tile kernel would stride down each NR-wide panel.
template <class T>
using RowKernel = void (*)(index_t kc, const T* a, index_t cs_a, const T* b, index_t ldb, T* c,
                           index_t n, bool accumulate, const Epilogue<T>& ep);

// One ISA's GEMM kernel for one precision, with the blocking that suits it.
template <class T>
struct GemmKernel {
    MicroKernel<T> ukr = nullptr;
    int mr = 0, nr = 0;  // register tile
    int kc = 0;          // K block: a KC × NR panel of B stays in L1 across a column of tiles
    int mc = 0;          // M block: an MC × KC block of packed A stays in L2
    int nc = 0;          // N block: a KC × NC block of packed B stays in L2/L3
    const char* name = "";
    RowKernel<T> row = nullptr;  // optional one-row kernel
    int row_nr = 0;              // columns of C per row-kernel call
};

// The kernels of one ISA, both precisions.
struct KernelSet {
    const char* isa = "";
    GemmKernel<float> sgemm;
    GemmKernel<double> dgemm;
};

// A kernel set's GEMM kernel for precision T.
template <class T>
const GemmKernel<T>& gemm_kernel(const KernelSet& k);
template <>
inline const GemmKernel<float>& gemm_kernel<float>(const KernelSet& k) { return k.sgemm; }
template <>
inline const GemmKernel<double>& gemm_kernel<double>(const KernelSet& k) { return k.dgemm; }

}  // namespace fastmlp
