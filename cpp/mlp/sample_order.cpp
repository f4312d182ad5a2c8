#include "sample_order.h"

namespace fastmlp {
namespace {

// the smallest all-ones mask covering max
std::uint64_t covering_mask(std::uint64_t max) {
    std::uint64_t mask = max;
    for (int shift = 1; shift <= 32; shift *= 2) mask |= mask >> shift;
    return mask;
}

// numpy's random_interval: a draw in [0, max], by masked rejection
std::uint64_t random_interval(NumpyBitGenerator& bits, std::uint64_t max) {
    if (max == 0) return 0;
    const std::uint64_t mask = covering_mask(max);
    std::uint64_t value;
    if (max <= 0xffffffffu) {
        do value = bits.next_uint32(bits.state) & mask; while (value > max);
    } else {
        do value = bits.next_uint64(bits.state) & mask; while (value > max);
    }
    return value;
}

}  // namespace

void shuffled_like_numpy(std::int64_t* out, std::int64_t* order, const std::int64_t* values,
                         std::int64_t n, NumpyBitGenerator& bits) {
    // j for each i, into out meanwhile (the draws do not depend on the array). Positions past
    // 32 bits draw one at a time; below, draws come in chunks and are accepted or rejected
    // without a branch (numpy's rejection loop mispredicts on a third of its draws). A chunk
    // holds at most as many draws as positions left, each of which takes one draw or more, so
    // no draw is taken that numpy would not take.
    std::int64_t i = n - 1;
    for (; i >= 1 && std::uint64_t(i) > 0xffffffffu; --i) out[i] = std::int64_t(random_interval(bits, std::uint64_t(i)));
    constexpr std::int64_t kChunk = 256;
    std::uint32_t draws[kChunk];
    // the mask follows i down (i falls by at most one a draw): off the chain from one draw's
    // verdict to the next, which is then a compare and a subtract
    std::uint64_t mask = i >= 1 ? covering_mask(std::uint64_t(i)) : 0;
    while (i >= 1) {
        const std::int64_t count = i < kChunk ? i : kChunk;
        for (std::int64_t d = 0; d < count; ++d) draws[d] = bits.next_uint32(bits.state);
        for (std::int64_t d = 0; d < count; ++d) {
            const std::uint64_t value = draws[d] & mask;
            out[i] = std::int64_t(value);  // a rejected draw is overwritten by the next
            i -= value <= std::uint64_t(i);
            if (std::uint64_t(i) <= mask >> 1) mask >>= 1;
        }
    }
    // the swaps, their random lines fetched ahead
    for (std::int64_t k = 0; k < n; ++k) order[k] = k;
    constexpr std::int64_t kAhead = 16;
    for (std::int64_t k = n - 1; k >= 1; --k) {
        if (k - kAhead >= 1) __builtin_prefetch(order + out[k - kAhead], 1);
        const std::int64_t j = out[k];
        const std::int64_t t = order[k];
        order[k] = order[j];
        order[j] = t;
    }
    for (std::int64_t k = 0; k < n; ++k) out[k] = values[order[k]];
}

}  // namespace fastmlp
