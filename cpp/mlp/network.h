// A whole MLP: its shape, its parameter arena, and the native training loop.
//
// Arenas (llm.c's layout): parameters live in one flat buffer in scikit-learn's `_pack` order
// (every coefs_[l] row-major, then every intercepts_[l]); gradients and optimizer state use the
// same layout, so the optimizer is one flat loop. Activations and deltas live in a workspace
// sized once for the largest batch.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "ops.h"

namespace fastmlp {

struct NetSpec {
    std::vector<index_t> units;  // n_features, hidden sizes..., n_outputs
    std::vector<Activation> hidden;  // one per hidden layer (units.size() - 2 of them)
    Output output = Output::softmax_cross_entropy;
    double negative_slope = 0.01;  // leaky_relu's, in [0, 1)
    LossParams loss;  // the output loss' parameters, set after construction (defaults: none used)

    NetSpec(std::vector<index_t> units, std::vector<Activation> hidden, Output output,
            double negative_slope = 0.01);
    // the same activation on every hidden layer
    NetSpec(std::vector<index_t> units, Activation hidden, Output output);
    index_t n_layers() const { return index_t(units.size()) - 1; }  // weight layers
    // the activation after weight layer l: hidden[l] for a hidden layer, identity for the last
    // (whose output map is `output`)
    Activation activation(index_t l) const { return l + 1 < n_layers() ? hidden[l] : Activation::identity; }
    index_t n_inputs() const { return units.front(); }
    index_t n_outputs() const { return units.back(); }
    index_t widest() const;
    index_t coef_offset(index_t layer) const { return coef_offsets_[layer]; }
    index_t bias_offset(index_t layer) const { return bias_offsets_[layer]; }
    index_t n_coefs() const { return bias_offsets_.front(); }  // weights, before the biases
    index_t n_params() const { return n_params_; }

  private:
    std::vector<index_t> coef_offsets_, bias_offsets_;
    index_t n_params_ = 0;
};

enum class Solver : int { sgd = 0, adam = 1 };

struct Hyper {
    Solver solver = Solver::adam;
    double alpha = 1e-4;
    double learning_rate = 1e-3;  // the current rate of the schedule (SGD) or learning_rate_init (Adam)
    double momentum = 0.9;
    bool nesterov = true;
    double beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-8;
    // decoupled weight decay (AdamW's, also for SGD): the weights, not the biases, are multiplied
    // by 1 - learning_rate·weight_decay in the step; 0 is off
    double weight_decay = 0.0;
    // the finished gradient (with the L2 term) is scaled by min(1, max_grad_norm / (‖g‖₂ + 1e-6))
    // before the step, as torch.nn.utils.clip_grad_norm_; 0 is off
    double max_grad_norm = 0.0;
    // inverted dropout on the hidden layers' outputs: one rate per hidden layer (n_layers - 1 of
    // them), or null for none; the masks of batch b of the epoch come from dropout_key(seed, b, l)
    const double* dropout = nullptr;
    std::uint64_t dropout_seed = 0;
};

// SGD uses velocity; Adam uses m, v and its step count t. Arrays have n_params elements.
template <class T>
struct OptimizerState {
    T* velocity = nullptr;
    T* m = nullptr;
    T* v = nullptr;
    std::int64_t t = 0;
};

// What the network is trained towards: dense (n_samples, K) targets, or, for softmax, the class
// index of each sample (a one-hot matrix without the matrix).
template <class T>
struct Targets {
    const T* dense = nullptr;
    const std::int32_t* labels = nullptr;
};

// What train_epoch and loss_and_grad return.
struct EpochResult {
    // train_epoch: the mean of the batch losses weighted by batch length, as scikit-learn;
    // loss_and_grad: the objective
    double loss = 0.0;
    // `should_stop` said so between two batches (or row blocks): the weights are consistent,
    // loss_and_grad's gradient is not
    bool interrupted = false;
};

template <class T>
class Trainer {
  public:
    // max_rows: the largest batch (train_epoch) or row block (loss_and_grad) this trainer runs
    Trainer(NetSpec spec, index_t max_rows);

    const NetSpec& spec() const { return spec_; }
    index_t max_rows() const { return max_rows_; }

    // One epoch of mini-batch updates over the rows of X in `order` (n of them).
    // Y holds one target per row of X; sample_weight is (rows of X) or null. should_stop is
    // polled between batches and may be empty.
    EpochResult train_epoch(T* params, OptimizerState<T>& state, const InputMatrix<T>& X,
                            const Targets<T>& Y, const T* sample_weight, const std::int64_t* order,
                            index_t n, index_t batch_size, const Hyper& hyper, int n_threads,
                            const std::function<bool()>& should_stop);

    // Objective and its gradient over every row of X, in row blocks of max_rows (L-BFGS);
    // should_stop is polled between row blocks and may be empty.
    EpochResult loss_and_grad(T* grad, const T* params, const InputMatrix<T>& X,
                              const Targets<T>& Y, const T* sample_weight, double alpha,
                              int n_threads, const std::function<bool()>& should_stop);

  private:
    // The workspace for X: the gathered-input buffer (dense X only: sparse input never needs it,
    // and max_rows × n_features can be gigabytes for wide sparse data) and GEMM pack space for
    // the active kernel. Called before each parallel region, since it may allocate.
    void prepare(const InputMatrix<T>& X);
    // Whether a step over B rows has enough multiply-adds to repay waking a team.
    bool step_is_parallel(const InputMatrix<T>& X, index_t B, int n_threads) const;

    // Team code, like the ops. Forward, loss and backward over X's rows[0..B). Adds the
    // unscaled gradient (Xᵀ·delta and Σ delta, no L2) into grad when accumulate, else
    // overwrites it. Adds Σ_rows w·loss_row to batch_loss_ and Σ w to batch_weight_sum_.
    // With dropout (rates, one per hidden layer, or null), hidden layer l's output feeds the next
    // layer through dropped_[l] = acts_[l] ⊙ masks_[l], masks keyed by dropout_key(seed, batch, l).
    void batch_pass(T* grad, const T* params, const InputMatrix<T>& X, const Targets<T>& Y,
                    const T* sample_weight, const std::int64_t* rows, index_t B, bool accumulate,
                    const double* dropout = nullptr, std::uint64_t dropout_seed = 0,
                    std::int64_t batch = 0);
    // Whether hidden layer l drops units under these rates.
    static bool drops(const double* dropout, index_t l) { return dropout && dropout[l] > 0.0; }
    // Sizes dropped_ and masks_ for the layers that drop (outside any parallel region).
    void prepare_dropout(const double* dropout);
    // Team code: grad (raw sums) becomes the finished gradient, scaled to global norm at most
    // max_norm (clip_grad_norm_'s rule), computed in double with a fixed reduction order.
    void clip_gradient(T* grad, const T* params, double alpha, double weight_sum, double max_norm);
    // Team code: l2_ = 0.5·alpha·‖W‖² / weight_sum, the weights' L2 term of the objective
    void l2_term(const T* params, double alpha, double weight_sum);

    NetSpec spec_;
    index_t max_rows_;
    std::vector<T> input_, targets_, weights_;   // gathered batch: X rows, Y rows, sample weights
    std::vector<std::int32_t> labels_;           // gathered class indices, when Y has them
    std::vector<std::vector<T>> acts_, deltas_;  // per layer output, (max_rows, units[l+1])
    std::vector<std::vector<T>> dropped_, masks_;  // per hidden layer that drops, as acts_
    // per layer pre-activation, (max_rows, units[l+1]) for the layers whose activation needs it
    // (activation_needs_pre), empty for the others
    std::vector<std::vector<T>> pres_;
    std::vector<double> row_loss_;
    std::vector<T> grad_;
    std::vector<std::int64_t> block_rows_;
    GemmWorkspace<T> gemm_ws_;
    std::vector<double> square_sums_;  // sum_of_squares's per-chunk partial sums
    // results of team code, written by one thread and read by all after a barrier
    double batch_loss_ = 0.0, batch_weight_sum_ = 0.0, l2_ = 0.0;
};

// out(N,K) = the network's output for every row of X, in row blocks so memory stays
// O(block × widest layer).
template <class T>
void network_forward(T* out, const NetSpec& spec, const T* params, const InputMatrix<T>& X,
                     int n_threads);

// out(N, units[layer + 1]) = the activations of hidden layer `layer` (0-based, < n_layers - 1)
// for every row of X, in row blocks like network_forward.
template <class T>
void network_transform(T* out, const NetSpec& spec, const T* params, const InputMatrix<T>& X,
                       index_t layer, int n_threads);

// True when no value of X (the stored ones, for CSR) is NaN or infinite.
template <class T>
bool all_finite(const InputMatrix<T>& X, int n_threads);

// Team code. One pass over the flat arenas: the gradient finished from the raw sums in grad (L2
// on the first n_coefs entries, the weights; everything divided by weight_sum), then the SGD or
// Adam step; `step` is Adam's step count including this one (the caller stores it in state.t).
template <class T>
void optimizer_update(T* params, const OptimizerState<T>& state, const T* grad, index_t n,
                      index_t n_coefs, double weight_sum, const Hyper& hyper, std::int64_t step);

// Team code. One iRPROP- step (Igel & Hüsken 2000; torch.optim.Rprop's rule) over the flat arenas,
// all (n): grad is the finished full-batch gradient; per parameter, with s = sign(grad·prev):
// s > 0: step = min(step·eta_plus, step_max); s < 0: step = max(step·eta_minus, step_min) and
// the gradient counts as 0 (no move, and prev = 0); s = 0: step clamped to the bounds. Then
// params -= sign(g)·step and prev = g.
template <class T>
void rprop_update(T* params, T* step, T* prev, const T* grad, index_t n, double eta_minus,
                  double eta_plus, double step_min, double step_max);

}  // namespace fastmlp
