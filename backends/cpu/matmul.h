// Matrix multiplication of a weight (any supported type, possibly repacked) with float activations, and the
// per-ISA kernel tables behind it.
//
// Shapes: W is [rows][cols] (a GGUF tensor with ne0 = cols, ne1 = rows), activations X are [n_tokens][cols],
// the output is [n_tokens][rows]: out[t][r] = sum_c W[r][c] * X[t][c].
//
// How a matmul runs (see cpu_backend.cpp): every token row of X is first converted to the activation format the
// kernels read (act_type: Q8_0, Q8_1, Q8_K, F16, BF16 or F32), then the row range [0, rows) is cut into chunks of
// `row_block` rows that the threads claim one at a time, each computing its rows for all tokens.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../../src/dtype.h"
#include "cpu_features.h"

namespace r1::cpu {

// A weight matrix as the CPU kernels read it.
struct CpuWeight {
    DType type = DType::F32;
    int64_t rows = 0;
    int64_t cols = 0;
    size_t row_bytes = 0;          // bytes of one row in GGUF layout: dtype_row_bytes(type, cols)
    const uint8_t* data = nullptr; // GGUF rows, or the repacked copy in `owned`
    int layout = 0;                // 0 = GGUF rows; any other value is private to the kernel family that made it
    uint8_t* owned = nullptr;      // repacked data, freed with the weight (aligned_free)
    size_t owned_bytes = 0;
};

// The kernels of one family for one weight type.
struct MatmulKernels {
    // Format of the activations `gemm` reads (quants.h's activation_type for the integer paths; F32 for exact).
    DType act_type = DType::F32;

    // Converts one activation row of n floats to act_type (dtype_row_bytes(act_type, n) bytes). nullptr: the
    // scalar reference quantizer (quants.h quantize_row).
    void (*quantize)(const float* x, void* out, int64_t n) = nullptr;

    // Optional repack at weight creation: may replace w.data with a new layout in w.owned (setting w.layout).
    // Returns false when it leaves the weight as it was. Must not fail otherwise.
    bool (*repack)(CpuWeight& w) = nullptr;

    // out[t * out_stride + r] = dot(W[r], act[t]) for r in [r0, r1) and t in [0, n_tokens).
    // act: n_tokens rows of act_row_bytes bytes. r0 and r1 are multiples of row_block (r1 may also be w.rows).
    void (*gemm)(const CpuWeight& w, const void* act, size_t act_row_bytes, int64_t n_tokens, int64_t r0,
                 int64_t r1, float* out, size_t out_stride) = nullptr;

    // Granularity of row ranges given to gemm (a multiple of any row interleaving of the repacked layout).
    int row_block = 1;
};

// The kernels to use for weights of `type` on family `isa`. When the family has no kernel for the type, the
// next lower family's (down to Scalar) is returned. `exact` selects the exact-math path (float activations,
// double accumulation), which exists only as scalar code. Returns nullptr for types no family supports.
const MatmulKernels* matmul_kernels(Isa isa, DType type, bool exact);

// Whether any family can multiply by weights of this type.
bool matmul_supported(DType type);

// Kernel tables filled in by each family's translation unit (null entries = not provided). Each function
// returns nullptr when the family is not compiled for this architecture.
struct FamilyKernels {
    const MatmulKernels* by_type[kDTypeIdLimit] = {};
};
const FamilyKernels* scalar_family();
const FamilyKernels* avx2_family();
const FamilyKernels* avx512_family();
const FamilyKernels* neon_family();

}  // namespace r1::cpu
