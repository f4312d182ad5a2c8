#include "dispatch.h"

#include <atomic>
#include <stdexcept>
#include <string>

#include "../kernels/kernel_sets.h"

namespace fastmlp {

namespace {

// The GEMM packs B for panel widths of 8, 16 or 32 only (gemm.cpp), and every set has its
// required kernels; checked here, once, at import, so that nothing can throw inside a parallel
// region later.
template <class T>
void check_kernel(const GemmKernel<T>& k) {
    if (k.nr != 8 && k.nr != 16 && k.nr != 32)
        throw std::logic_error(std::string(k.name) + ": NR must be 8, 16 or 32");
    if (!k.ukr || !k.pass || !k.step)
        throw std::logic_error(std::string(k.name) + ": a required kernel is missing");
}

struct Table {
    std::vector<KernelSet> sets;  // available ones, best last
    Table() {
        sets.push_back(portable::kernels());
#if defined(FASTMLP_HAVE_X86_KERNELS)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            sets.push_back(avx2::kernels());
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
            sets.push_back(avx512::kernels());
#endif
        for (const KernelSet& k : sets) {
            check_kernel(k.sgemm);
            check_kernel(k.dgemm);
        }
    }
};

const Table& table() {
    static const Table t;
    return t;
}

std::atomic<const KernelSet*>& active() {
    static std::atomic<const KernelSet*> a{&table().sets.back()};
    return a;
}

}  // namespace

std::vector<std::string> available_isas() {
    std::vector<std::string> names;
    for (const KernelSet& s : table().sets) names.emplace_back(s.isa);
    return names;
}

const KernelSet& kernels_for(const std::string& isa) {
    for (const KernelSet& s : table().sets)
        if (isa == s.isa) return s;
    throw std::invalid_argument("ISA '" + isa + "' is not available on this CPU or build");
}

void set_active_isa(const std::string& isa) { active().store(&kernels_for(isa)); }

const KernelSet& active_kernels() { return *active().load(); }

}  // namespace fastmlp
