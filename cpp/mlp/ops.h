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

enum class Activation : int { identity = 0, logistic = 1, tanh = 2, relu = 3 };

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
template <class T>
void linear_forward(T* out, const T* inp, const T* weight, const T* bias, index_t N, index_t C,
                    index_t OC, Activation act, GemmWorkspace<T>& ws);
// dweight(C,OC) (+)= inpᵀ · dout, dbias(OC) (+)= Σ_rows dout (summed while dout is packed),
// dinp(N,C) = (dout · weightᵀ) ⊙ inp_act'(.), the derivative taken from inp, the stored output
// of the previous layer's activation inp_act, in the product's epilogue.
// dinp may be null (the first layer needs no input gradient).
template <class T>
void linear_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                     index_t N, index_t C, index_t OC, Activation inp_act, bool accumulate,
                     GemmWorkspace<T>& ws);

// The same pair with the input taken as rows[0..N) of a CSR matrix with C columns.
template <class T>
void linear_forward_csr(T* out, const InputMatrix<T>& inp, const std::int64_t* rows,
                        const T* weight, const T* bias, index_t N, index_t C, index_t OC);
template <class T>
void linear_backward_csr(T* dweight, T* dbias, const T* dout, const InputMatrix<T>& inp,
                         const std::int64_t* rows, index_t N, index_t C, index_t OC,
                         bool accumulate);

// x(n) = g(x) in place
template <class T>
void activation_forward(Activation kind, T* x, index_t n);
// dx(n) *= g'(.) computed from the stored output out(n) = g(.)
template <class T>
void activation_backward(Activation kind, T* dx, const T* out, index_t n);

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
