// Helpers shared by the quants_*.cpp files. Private to backends/cpu/quants; include it first.
#pragma once

// Bit-exactness with ggml needs every float operation rounded on its own: a compiler that fuses a*b + c into
// one fma (GCC does so by default in GNU mode, clang within an expression, as soon as the target has FMA,
// e.g. -march=native) changes low bits, and through them the candidate a K-quant or IQ4 scale search picks.
// ggml's reference quantizers are built without FMA. Switch contraction off for the rest of each
// translation unit, whatever the build flags. (-ffast-math is not supported here at all.)
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#elif defined(_MSC_VER)
#pragma fp_contract(off)
#endif

#include <cstdint>
#include <cstring>

#include "blocks.h"
#include "fp16.h"

namespace r1::cpu::detail {

// Groups whose largest magnitude is below this are treated as all zero by the K-quant searches.
constexpr float kGroupMaxEps = 1e-15f;

// Round to the nearest integer, ties to even, the way ggml does it: adding 1.5 * 2^23 pushes the integer
// part into the low mantissa bits (the float add does the rounding), which are then read back.
// Exact for |v| < 2^22; larger, NaN or infinite inputs give some integer in [-2^22, 2^22) instead of
// undefined behaviour, which is also what ggml gets (callers clamp the result).
inline int nearest_int(float v) {
    const float shifted = v + 12582912.f;
    return static_cast<int>(f32_bits(shifted) & 0x007fffffu) - 0x00400000;
}

// C's float -> int conversion (truncation toward zero) without undefined behaviour: out-of-range and NaN
// inputs give INT_MIN, the "integer indefinite" value x86 produces for them, so results match ggml there too.
inline int trunc_to_int(float v) {
    return (v > -2147483648.0f && v < 2147483648.0f) ? static_cast<int>(v) : -2147483647 - 1;
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block (layout in blocks.h).
inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t& sc, uint8_t& m) {
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// The 16 six-bit scales of a Q3_K block, still biased by 32 (0..63).
inline void unpack_q3_K_scales(const uint8_t* packed, int8_t out[16]) {
    for (int s = 0; s < 16; ++s) {
        const int low = s < 8 ? (packed[s] & 0xF) : (packed[s - 8] >> 4);
        const int high = (packed[8 + s % 4] >> (2 * (s / 4))) & 3;
        out[s] = static_cast<int8_t>(low | high << 4);
    }
}

inline uint32_t load_u32_le(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
           static_cast<uint32_t>(p[3]) << 24;
}

inline void store_u32_le(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
    p[2] = static_cast<uint8_t>(v >> 16);
    p[3] = static_cast<uint8_t>(v >> 24);
}

}  // namespace r1::cpu::detail
