#include "dtype.h"

namespace r1 {
namespace {

// Block layouts (bytes) as ggml defines them; the sums in the comments are the block structs' members.
const DTypeTraits kTraits[kDTypeIdLimit] = {
    /* 0  F32     */ {"f32", 1, 4, false},
    /* 1  F16     */ {"f16", 1, 2, false},
    /* 2  Q4_0    */ {"q4_0", 32, 18, true},      // f16 d + 16 nibble bytes
    /* 3  Q4_1    */ {"q4_1", 32, 20, true},      // f16 d, m + 16
    /* 4          */ {nullptr, 0, 0, false},
    /* 5          */ {nullptr, 0, 0, false},
    /* 6  Q5_0    */ {"q5_0", 32, 22, true},      // f16 d + 4 high bits + 16
    /* 7  Q5_1    */ {"q5_1", 32, 24, true},      // f16 d, m + 4 + 16
    /* 8  Q8_0    */ {"q8_0", 32, 34, true},      // f16 d + 32 int8
    /* 9  Q8_1    */ {"q8_1", 32, 36, true},      // f16 d, s + 32 int8
    /* 10 Q2_K    */ {"q2_K", 256, 84, true},     // 16 scales + 64 quants + f16 d, dmin
    /* 11 Q3_K    */ {"q3_K", 256, 110, true},    // 32 hmask + 64 quants + 12 scales + f16 d
    /* 12 Q4_K    */ {"q4_K", 256, 144, true},    // f16 d, dmin + 12 scales + 128 quants
    /* 13 Q5_K    */ {"q5_K", 256, 176, true},    // f16 d, dmin + 12 scales + 32 qh + 128 qs
    /* 14 Q6_K    */ {"q6_K", 256, 210, true},    // 128 ql + 64 qh + 16 int8 scales + f16 d
    /* 15 Q8_K    */ {"q8_K", 256, 292, true},    // f32 d + 256 int8 + 16 int16 block sums
    /* 16 IQ2_XXS */ {"iq2_xxs", 256, 66, true},  // f16 d + 32 uint16
    /* 17 IQ2_XS  */ {"iq2_xs", 256, 74, true},   // f16 d + 32 uint16 + 8 scales
    /* 18 IQ3_XXS */ {"iq3_xxs", 256, 98, true},  // f16 d + 96
    /* 19 IQ1_S   */ {"iq1_s", 256, 50, true},    // f16 d + 32 qs + 8 uint16 qh
    /* 20 IQ4_NL  */ {"iq4_nl", 32, 18, true},    // f16 d + 16
    /* 21 IQ3_S   */ {"iq3_s", 256, 110, true},   // f16 d + 64 qs + 8 qh + 32 signs + 4 scales
    /* 22 IQ2_S   */ {"iq2_s", 256, 82, true},    // f16 d + 64 qs + 8 qh + 8 scales
    /* 23 IQ4_XS  */ {"iq4_xs", 256, 136, true},  // f16 d + uint16 scales_h + 4 scales_l + 128 qs
    /* 24 I8      */ {"i8", 1, 1, false},
    /* 25 I16     */ {"i16", 1, 2, false},
    /* 26 I32     */ {"i32", 1, 4, false},
    /* 27 I64     */ {"i64", 1, 8, false},
    /* 28 F64     */ {"f64", 1, 8, false},
    /* 29 IQ1_M   */ {"iq1_m", 256, 56, true},    // 32 qs + 16 qh + 8 scales
    /* 30 BF16    */ {"bf16", 1, 2, false},
    /* 31         */ {nullptr, 0, 0, false},
    /* 32         */ {nullptr, 0, 0, false},
    /* 33         */ {nullptr, 0, 0, false},
    /* 34 TQ1_0   */ {"tq1_0", 256, 54, true},    // 48 qs + 4 qh + f16 d
    /* 35 TQ2_0   */ {"tq2_0", 256, 66, true},    // 64 qs + f16 d
    /* 36         */ {nullptr, 0, 0, false},
    /* 37         */ {nullptr, 0, 0, false},
    /* 38         */ {nullptr, 0, 0, false},
    /* 39 MXFP4   */ {"mxfp4", 32, 17, true},     // e8m0 exponent + 16
};

}  // namespace

const DTypeTraits* dtype_traits(uint32_t id) {
    if (id >= kDTypeIdLimit || kTraits[id].name == nullptr) return nullptr;
    return &kTraits[id];
}

const char* dtype_name(uint32_t id) {
    const DTypeTraits* t = dtype_traits(id);
    return t ? t->name : "unknown";
}

uint64_t dtype_row_bytes(DType type, uint64_t n) {
    const DTypeTraits* t = dtype_traits(static_cast<uint32_t>(type));
    if (!t || n % t->block_elements != 0) return 0;
    return n / t->block_elements * t->block_bytes;
}

}  // namespace r1
