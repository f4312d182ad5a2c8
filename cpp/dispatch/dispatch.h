// Runtime ISA dispatch: a table of kernel sets filled once, the best one the CPU runs made active.
// FASTMLP_ARCH (read by the Python package at import) may pick another available one.
#pragma once
#include <string>
#include <vector>

#include "../gemm/ukernel.h"

namespace fastmlp {

// Names of the kernel sets this build has and this CPU runs, best last ("portable" always first).
std::vector<std::string> available_isas();
// Make `isa` the active set; throws std::invalid_argument if it is not available.
void set_active_isa(const std::string& isa);
// The active set (the best available until set_active_isa says otherwise).
const KernelSet& active_kernels();
// A kernel set by name; throws std::invalid_argument if it is not available.
const KernelSet& kernels_for(const std::string& isa);

}  // namespace fastmlp
