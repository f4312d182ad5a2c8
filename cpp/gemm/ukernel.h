// The micro-kernel contract, written once. Every ISA's kernel fills in exactly this.
//
// A micro-kernel computes m rows × at most NR columns of a row-major C, one panel, as tiles of
// MR rows (and a last one of m mod MR):
//
//     C[i][j] = (accumulate ? C[i][j] : 0) + Σ_{k < kc} a(i,k) · b(k,j)      i < m, j < n ≤ NR
//
// and, when ep.kind != none, applies the epilogue to each tile in registers before its single
// store. The driver calls it once per run of a thread's tiles down a panel: called per tile, the
// call and the driver's loop around it had cost as much as a short k loop.
//
//   a(i,k)  is read at a[(i / MR)·sliver + (i mod MR)·rs_a + k·cs_a]: MR-row slivers of A,
//           sliver elements apart. A packed sliver has rs_a = 1, cs_a = MR (and sliver = MR·kc);
//           a row-major operand read in place has rs_a = lda, cs_a = 1, a transposed one rs_a = 1,
//           cs_a = lda (both with sliver = MR·rs_a). Rows i ≥ m are never read.
//   b(k,j)  is read at b[k·ldb + j]: a packed panel (ldb = NR, zero-padded to NR columns, 64-byte
//           aligned) or a row-major operand read in place (ldb = its row stride). Columns j ≥ n
//           are never read, so an in-place operand's last panel may end at its last column.
//   C       has row stride ldc; only the m × n corner is read or written. When accumulate is false
//           C is never read (it may hold garbage or NaN): "beta == 0 never reads C".
//   edges   n < NR is handled with masked loads and stores, m mod MR with a tile of that many rows.
//
// Epilogues (ep pointers are already offset to the first row and column; z and pre advance by
// their row strides down the rows):
//   bias            C += bias[j]
//   bias_relu       C = max(C + bias[j], 0)     (NaN stays NaN, so divergence stays visible)
//   bias_logistic   C = 1 / (1 + exp(-(C + bias[j])))
//   bias_tanh       C = tanh(C + bias[j])
//   relu_grad       C = z[i][j] == 0 ? 0 : C    z is the stored output of the activation
//   logistic_grad   C = C · z · (1 − z)
//   tanh_grad       C = C · (1 − z²)
//
// The other hidden activations (ops.h has the table of formulas). Forward kinds take bias and
// compute v = C + bias[j]; the leaky_relu kinds also take param = s, the negative slope in [0, 1).
//   bias_leaky_relu C = v > 0 ? v : s·v
//   bias_elu        C = v > 0 ? v : eˣ − 1                       (α = 1; expm1, exact near 0)
//   bias_selu       C = λ·(v > 0 ? v : α·(eᵛ − 1))               (PyTorch's λ, α)
//   bias_gelu       C = v·Φ(v) = v·(1 + erf(v/√2))/2             pre[i][j] = v when pre is set
//   bias_silu       C = v·σ(v)                                   pre[i][j] = v when pre is set
//   bias_softplus   C = max(v, 0) + log1p(e^−|v|)                (never overflows)
//   bias_softsign   C = v / (1 + |v|)
//   bias_mish       C = v·tanh(softplus(v))                      pre[i][j] = v when pre is set
//   bias_hard_tanh  C = min(max(v, −1), 1)
// gelu, silu and mish cannot be inverted from their output, so their forward kinds also write
// the pre-activation v to pre (m, ldpre) when it is not null (training), and their *_grad kinds
// read that pre-activation as z. Every other *_grad kind reads z = the stored output y.
//   leaky_relu_grad C = C · (z > 0 ? 1 : s)                      z = y
//   elu_grad        C = C · (z > 0 ? 1 : z + 1)                  z = y
//   selu_grad       C = C · (z > 0 ? λ : z + λα)                 z = y
//   gelu_grad       C = C · (Φ(z) + z·φ(z))                      z = pre-activation
//   silu_grad       C = C · σ(z)·(1 + z·(1 − σ(z)))              z = pre-activation
//   softplus_grad   C = C · (1 − e^−z)  (= σ(x))                 z = y
//   softsign_grad   C = C · (1 − |z|)²  (= 1/(1+|x|)²)           z = y
//   mish_grad       C = C · (t + z·(1 − t²)·σ(z)), t = tanh(softplus(z))   z = pre-activation
//   hard_tanh_grad  C = C · (|z| < 1 ? 1 : 0)                    z = y
// NaN stays NaN through every kind. exp, expm1, log1p, erf and tanh in these formulas are
// cpp/kernels/vector_math.h's (a few ulps; the same operations on every path, so every path
// has the portable kernel's bits), computed in registers before the store like the others.
// An epilogue applies to the finished sum, so the GEMM driver passes it only with the last K block.
#pragma once
#include <cstdint>
#include <limits>

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
    bias_leaky_relu,
    bias_elu,
    bias_selu,
    bias_gelu,
    bias_silu,
    bias_softplus,
    bias_softsign,
    bias_mish,
    bias_hard_tanh,
    leaky_relu_grad,
    elu_grad,
    selu_grad,
    gelu_grad,
    silu_grad,
    softplus_grad,
    softsign_grad,
    mish_grad,
    hard_tanh_grad,
};

template <class T>
struct Epilogue {
    EpilogueKind kind = EpilogueKind::none;
    const T* bias = nullptr;  // (n) for the bias_* kinds
    const T* z = nullptr;     // (m, ldz) for the *_grad kinds
    index_t ldz = 0;
    T* pre = nullptr;         // (m, ldpre): bias_gelu/silu/mish also store the pre-activation
    index_t ldpre = 0;
    T param = T(0);           // the leaky_relu kinds' negative slope
};

template <class T>
using MicroKernel = void (*)(index_t kc, const T* a, index_t rs_a, index_t cs_a, index_t sliver,
                             const T* b, index_t ldb, T* c, index_t ldc, index_t m, index_t n,
                             bool accumulate, const Epilogue<T>& ep);

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

// The one-column kernel (optional): for a single column of C, with A row-major and B's column
// contiguous, both read in place,
//
//     c[i·ldc] = (accumulate ? c[i·ldc] : 0) + Σ_{k < kc} a[i·rs_a + k] · b[k]      i < m
//
// then + bias[0] when ep.kind is bias (the only other kind it takes is none). Each row is a dot
// product along A's contiguous row; the order of its sum is fixed by kc alone.
template <class T>
using ColumnKernel = void (*)(index_t kc, const T* a, index_t rs_a, const T* b, T* c, index_t ldc,
                              index_t m, bool accumulate, const Epilogue<T>& ep);

// The activation pass (required): x(n) = g(x) for a forward kind (bias unused; ep.pre, when
// set, receives x first), x(n) = x·g'(z(n)) for a grad kind, with ep.z unstrided. Exactly the
// epilogue the micro-kernel applies, so a fused and an unfused layer agree to the bit.
template <class T>
using PassKernel = void (*)(T* x, index_t n, const Epilogue<T>& ep);

// The optimizer's step (required), over one stretch of the flat arenas, all (n):
//
//     g = finished gradient (weights: (grad + alpha·w) / Σw, biases: grad / Σw)
//     sgd:  v' = momentum·v − lr·g;  w += v' (Nesterov: momentum·v' − lr·g)    state_1 = v
//     adam: m' = β₁m + (1−β₁)g;  v' = β₂v + (1−β₂)g²;  w += −lr·m' / (√v' + ε)  state_1 = m, state_2 = v
//
// with lr already bias-corrected for Adam. decay (weights only): w·keep + the update, keep = 1 −
// lr·weight_decay (AdamW / SGDW). The same IEEE operations in this order on every path.
template <class T>
struct OptimizerStep {
    bool adam = false, nesterov = false;
    bool weights = false;  // weights take the L2 term (and decay); biases neither
    bool decay = false;
    T alpha = T(0), weight_sum = T(1), lr = T(0);
    T momentum = T(0);
    T beta_1 = T(0), beta_2 = T(0), one_minus_beta_1 = T(0), one_minus_beta_2 = T(0), epsilon = T(0);
    T keep = T(1);
};

template <class T>
using StepKernel = void (*)(T* params, T* state_1, T* state_2, const T* grad, index_t n,
                            const OptimizerStep<T>& step);

// One ISA's GEMM kernel for one precision, with the blocking that suits it.
template <class T>
struct GemmKernel {
    MicroKernel<T> ukr = nullptr;
    int mr = 0, nr = 0;  // register tile
    int kc = 0;          // K block: a KC × NR panel of B is read by every sliver of an M block (from L1 or L2)
    int mc = 0;          // M block: an MC × KC block of packed A stays in L2
    int nc = 0;          // N block: a KC × NC block of packed B stays in L2/L3
    const char* name = "";
    // Up to how many rows of C a row-major B whose K block fits in half of L2 is read in place
    // rather than packed (gemm.cpp says when each is faster)
    index_t b_in_place_max_rows = std::numeric_limits<index_t>::max();
    RowKernel<T> row = nullptr;  // optional one-row kernel
    int row_nr = 0;              // columns of C per row-kernel call
    ColumnKernel<T> column = nullptr;  // optional one-column kernel
    PassKernel<T> pass = nullptr;  // the activation pass
    StepKernel<T> step = nullptr;  // the optimizer's step, compiled for the same ISA
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
