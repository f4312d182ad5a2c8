// One function per ISA translation unit, each returning its kernels. Only the dispatcher calls
// them, and only after checking that the CPU runs that ISA. Everything a per-ISA file defines is
// in its ISA's namespace (fastmlp::avx2, fastmlp::avx512; see epilogue_scalar.h).
#pragma once
#include "../gemm/ukernel.h"

namespace fastmlp {

namespace portable {
KernelSet kernels();
}
#if defined(FASTMLP_HAVE_X86_KERNELS)
namespace avx2 {
KernelSet kernels();
}
namespace avx512 {
KernelSet kernels();
}
#endif

}  // namespace fastmlp
