// Tensor element types, numbered as ggml numbers them in GGUF files.
//
// A quantized type stores `block_elements` consecutive values of a row in `block_bytes` bytes; a row of
// n elements (n a multiple of block_elements) takes n / block_elements * block_bytes bytes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace r1 {

enum class DType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    // 4 and 5 were Q4_2 and Q4_3, removed from ggml long ago.
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    // 31..33 were Q4_0_4_4, Q4_0_4_8, Q4_0_8_8 (in-file repacked layouts, removed from ggml).
    TQ1_0 = 34,
    TQ2_0 = 35,
    // 36..38 were IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8 (removed).
    MXFP4 = 39,
};

// One past the largest id this table knows. Ids below it that are not listed are "removed" ids.
constexpr uint32_t kDTypeIdLimit = 40;

// Elements in a K-quant super-block.
constexpr int kQK_K = 256;

struct DTypeTraits {
    const char* name;         // ggml's name, e.g. "q4_K"; nullptr for ids that are not (or no longer) types
    uint32_t block_elements;  // values per block (1 for plain types)
    uint32_t block_bytes;     // bytes per block
    bool quantized;
};

// Traits of a type id read from a file; nullptr when the id is not a known type.
const DTypeTraits* dtype_traits(uint32_t id);

// The type's name, or "unknown" for ids without traits.
const char* dtype_name(uint32_t id);

// Bytes taken by a row of n elements; 0 when n is not a multiple of the block size or the id is unknown.
uint64_t dtype_row_bytes(DType type, uint64_t n);

inline const DTypeTraits& traits(DType t) { return *dtype_traits(static_cast<uint32_t>(t)); }

}  // namespace r1
