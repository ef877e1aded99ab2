// avx2 kernels. Not written yet: this family provides no kernels, so matmul_kernels() and op_kernels() fall
// back to the next lower family (see matmul.cpp and ops.cpp).
#include "matmul.h"
#include "ops.h"

namespace r1::cpu {

const FamilyKernels* avx2_family() { return nullptr; }
const OpKernels* avx2_op_kernels() { return nullptr; }

}  // namespace r1::cpu
