// neon kernels. Not written yet: this family provides no kernels, so matmul_kernels() and op_kernels() fall
// back to the next lower family (see matmul.cpp and ops.cpp).
#include "matmul.h"
#include "ops.h"

namespace r1::cpu {

const FamilyKernels* neon_family() { return nullptr; }
const OpKernels* neon_op_kernels() { return nullptr; }

}  // namespace r1::cpu
