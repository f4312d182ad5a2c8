// scikit-learn's gradient from the raw sum Xᵀ·delta (or Σ delta): weights take the L2 term,
// (raw + alpha·w) / Σw; biases raw / Σw. Internal linkage, so that the copy a per-ISA kernel file
// compiles with its flags is never the one the baseline code calls.
#pragma once

namespace fastmlp {
namespace {

template <bool Weight, class T>
inline T finished_gradient(T raw, T param, T alpha, T weight_sum) {
    return Weight ? (raw + alpha * param) / weight_sum : raw / weight_sum;
}

}  // namespace
}  // namespace fastmlp
