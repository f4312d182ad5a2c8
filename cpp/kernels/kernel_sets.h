// One function per ISA translation unit, each returning its kernels. Only the dispatcher calls
// them, and only after checking that the CPU runs that ISA.
#pragma once
#include "../gemm/ukernel.h"

namespace fastmlp {

KernelSet portable_kernels();
#if defined(FASTMLP_HAVE_X86_KERNELS)
KernelSet avx2_kernels();
KernelSet avx512_kernels();
#endif

}  // namespace fastmlp
