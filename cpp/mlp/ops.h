// The layers of an MLP as forward/backward pairs, outputs first, then inputs, then sizes.
//
// Letters used in every shape comment:
//   N  rows in the batch          C  input features of a layer     OC  output features
//   K  outputs of the network (classes, labels or regression targets)
// All matrices are row-major and contiguous.
//
// Every op here is team code (gemm.h): all threads of the caller's OpenMP team call it with the
// same arguments, or one thread does outside any region, so a training step opens one parallel
// region for all its ops. Work is shared on a grid that does not depend on the number of
// threads and each output element is produced by one thread in a fixed order, so every op gives
// the same bits for any thread count. Each op ends with a barrier (its last worksharing loop's),
// so the next op may read what it wrote. No op allocates or throws.
#pragma once
#include <cstdint>

#include "../gemm/gemm.h"

namespace fastmlp {

// Hidden activations g, with g' as the backward pass computes it. y = g(x) is the stored output;
// s is leaky_relu's negative slope in [0, 1) (NetSpec::negative_slope); σ the logistic function;
// Φ, φ the standard normal CDF and density; λ = 1.0507009873554804934193349852946 and
// α = 1.6732632423543772848170429916717 (SELU's, as PyTorch).
//
//   code  name        g(x)                              g'(x), computed from
//   0     identity    x                                 1
//   1     logistic    σ(x) = 1/(1 + e⁻ˣ)                y(1 − y)                  y
//   2     tanh        tanh x                            1 − y²                    y
//   3     relu        max(x, 0)                         y > 0 ? 1 : 0             y
//   4     leaky_relu  x > 0 ? x : s·x                   y > 0 ? 1 : s             y
//   5     elu         x > 0 ? x : eˣ − 1                y > 0 ? 1 : y + 1         y
//   6     selu        λ·(x > 0 ? x : α(eˣ − 1))         y > 0 ? λ : y + λα        y
//   7     gelu        x·Φ(x)  (exact, erf)              Φ(x) + x·φ(x)             x (stored)
//   8     silu        x·σ(x)  (swish)                   σ(x)(1 + x(1 − σ(x)))     x (stored)
//   9     softplus    log(1 + eˣ)                       σ(x) = 1 − e⁻ʸ            y
//   10    softsign    x / (1 + |x|)                     1/(1 + |x|)² = (1 − |y|)² y
//   11    mish        x·tanh(softplus(x))               t + x(1 − t²)σ(x),        x (stored)
//                                                       t = tanh(softplus(x))
//   12    hard_tanh   min(max(x, −1), 1)                |y| < 1 ? 1 : 0           y
//
// gelu, silu and mish are not invertible from y: their layers also store the pre-activation x
// (activation_needs_pre), which the forward pass writes beside y and the backward pass reads.
enum class Activation : int {
    identity = 0,
    logistic = 1,
    tanh = 2,
    relu = 3,
    leaky_relu = 4,
    elu = 5,
    selu = 6,
    gelu = 7,
    silu = 8,
    softplus = 9,
    softsign = 10,
    mish = 11,
    hard_tanh = 12,
};
constexpr int kActivationCount = 13;

// Whether g' of this activation needs the pre-activation (not a function of the output).
constexpr bool activation_needs_pre(Activation a) {
    return a == Activation::gelu || a == Activation::silu || a == Activation::mish;
}

// Output map and its canonical loss. The output delta (the loss' gradient in z) is p - y for
// every pair but the robust regression losses (6-8) and gamma, noted below.
enum class Output : int {
    softmax_cross_entropy = 0,   // multiclass
    logistic_binary_cross_entropy = 1,  // binary and multilabel
    identity_squared_error = 2,  // regression
    exp_poisson = 3,             // regression, loss="poisson"
    // multiclass: p = sparsemax(z) = max(z - tau, 0), tau such that Σp = 1 (Martins & Astudillo
    // 2016), with the sparsemax loss ½‖p - y‖² + Σ_k y_k·max(tau - z_k, 0) (their
    // -y·z + ½Σ_{k∈S}(z_k² - tau²) + ½‖y‖², written as a sum of non-negative terms)
    sparsemax = 4,
    // binary and multilabel: each column is the 2-class sparsemax of (0, z),
    // p = clip((z+1)/2, 0, 1), with the 2-class sparsemax loss of target (1 - y, y)
    sparsemax_binary = 5,
    identity_absolute_error = 6,  // |p - y|, delta sign(p - y) (0 at p = y)
    identity_huber = 7,           // ½r² if |r| <= delta else delta·(|r| - delta/2), r = p - y;
                                  // delta clip(r, -delta, delta)
    identity_quantile = 8,        // max(q·(y - p), (q - 1)·(y - p)), delta 1{p > y} - q
                                  // (0 at p = y)
    exp_gamma = 9,                // half gamma deviance log(p/y) + y/p - 1, delta 1 - y/p
};

// The parameters of the losses that take one. Each is read by its own losses only, so the
// defaults leave every loss as it was.
struct LossParams {
    // classification (0, 1, 4, 5): the target becomes (1 - eps)·y + eps/K for multiclass
    // outputs (0, 4), y·(1 - eps) + eps/2 for binary ones (1, 5); in [0, 1)
    double label_smoothing = 0.0;
    double huber_delta = 1.0;  // identity_huber, > 0
    double quantile = 0.5;     // identity_quantile, in (0, 1)
};

// The network's input: dense row-major, or CSR (data/indices/indptr) with no densifying.
template <class T>
struct InputMatrix {
    index_t rows = 0, cols = 0;
    const T* dense = nullptr;
    const T* data = nullptr;
    const std::int64_t* indices = nullptr;
    const std::int64_t* indptr = nullptr;
    bool is_sparse() const { return dense == nullptr; }
};

// out(N,OC) = act(inp(N,C) · weight(C,OC) + bias(OC)), bias and activation fused into the
// GEMM's epilogue before the single store of each tile. ws is prepared for N, C and OC.
// pre(N,OC), when not null and act needs it (activation_needs_pre), receives the
// pre-activation in the same epilogue; slope is leaky_relu's negative slope.
template <class T>
void linear_forward(T* out, const T* inp, const T* weight, const T* bias, index_t N, index_t C,
                    index_t OC, Activation act, GemmWorkspace<T>& ws, T* pre = nullptr,
                    T slope = T(0.01));
// dweight(C,OC) (+)= inpᵀ · dout, dbias(OC) (+)= Σ_rows dout (summed while dout is packed),
// dinp(N,C) = (dout · weightᵀ) ⊙ inp_act'(.), the derivative taken from inp, the stored output
// of the previous layer's activation inp_act, in the product's epilogue.
// dinp may be null (the first layer needs no input gradient). When inp_act needs the
// pre-activation (activation_needs_pre), inp_pre(N,C) is the previous layer's and the derivative
// is taken from it instead; slope is leaky_relu's negative slope.
template <class T>
void linear_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                     index_t N, index_t C, index_t OC, Activation inp_act, bool accumulate,
                     GemmWorkspace<T>& ws, const T* inp_pre = nullptr, T slope = T(0.01));

// The same pair with the input taken as rows[0..N) of a CSR matrix with C columns.
template <class T>
void linear_forward_csr(T* out, const InputMatrix<T>& inp, const std::int64_t* rows,
                        const T* weight, const T* bias, index_t N, index_t C, index_t OC);
template <class T>
void linear_backward_csr(T* dweight, T* dbias, const T* dout, const InputMatrix<T>& inp,
                         const std::int64_t* rows, index_t N, index_t C, index_t OC,
                         bool accumulate);

// x(n) = g(x) in place; pre(n), when not null and kind needs it, receives x first
template <class T>
void activation_forward(Activation kind, T* x, index_t n, T* pre = nullptr, T slope = T(0.01));
// dx(n) *= g'(.) computed from the stored output out(n) = g(.), or, for the kinds that need it,
// from the pre-activation pre(n)
template <class T>
void activation_backward(Activation kind, T* dx, const T* out, index_t n, const T* pre = nullptr,
                         T slope = T(0.01));

// Inverted dropout of a hidden layer's output, with masks from a counter-based generator: element
// e (row-major index in the (N,C) block) is dropped when (splitmix64(key + G·(e+1)) >> 11) <
// ceil(rate·2⁵³), G = 0x9e3779b97f4a7c15, splitmix64 the finaliser of SplitMix64. Integer-only,
// so every thread count and ISA path draws the same mask. dropout_key gives the key of a batch
// and layer. out(N,C) = inp ⊙ mask, mask(N,C) = 0 (dropped) or 1/(1-rate) (kept).
std::uint64_t dropout_key(std::uint64_t seed, std::int64_t batch, std::int64_t layer);
template <class T>
void dropout_forward(T* out, T* mask, const T* inp, index_t N, index_t C, double rate,
                     std::uint64_t key);
// dx(n) *= mask(n), the mask dropout_forward stored
template <class T>
void dropout_backward(T* dx, const T* mask, index_t n);

// z(N,K) becomes p = output map of z, in place.
template <class T>
void output_forward(Output kind, T* z, index_t N, index_t K);
// z(N,K) becomes p in place; delta(N,K) = (the loss' gradient in z)·w, which is (p - y)·w for
// most kinds (see Output); row_loss(N) = the unweighted loss of each row, summed over its K
// outputs. The target is y(N,K), or for softmax and sparsemax the class indices labels(N) (y is
// then null): the same numbers as a one-hot y, without the matrix. sample_weight may be null
// (all ones). Log-losses clip p to [eps, 1-eps] as scikit-learn does.
template <class T>
void output_loss_forward_backward(Output kind, T* delta, double* row_loss, T* z, const T* y,
                                  const std::int32_t* labels, const T* sample_weight,
                                  const LossParams& loss, index_t N, index_t K);

}  // namespace fastmlp
