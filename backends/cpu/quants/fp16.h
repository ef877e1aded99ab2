// Half-precision conversions, bit-exact with ggml's portable (non-F16C) code.
//
//   fp16 (IEEE binary16):  s eeeee mmmmmmmmmm        bias 15, subnormals m * 2^-24
//   bf16 (brain float):    s eeeeeeee mmmmmmm        the top 16 bits of an fp32
//
// fp32 -> fp16 rounds to nearest, ties to even, for normals and subnormals alike; values at or above 65520
// become +-inf; NaN becomes the quiet NaN 0x7e00 with the input's sign (what ggml's portable conversion
// gives; F16C hardware would keep the payload instead, which never matters for finite data).
// fp16 -> fp32 is exact; a NaN keeps its payload and comes out quiet.
// fp32 -> bf16 rounds to nearest even by adding 0x7fff + lsb (overflow goes to inf, subnormals are kept);
// NaN keeps its upper 16 bits and is forced quiet by setting bit 6 (ggml_compute_fp32_to_bf16).
// bf16 -> fp32 is a 16-bit shift.
//
// Everything here is integer arithmetic: no dependence on the FPU's rounding mode, FTZ/DAZ or F16C.
#pragma once

#include <cstdint>
#include <cstring>

namespace r1::cpu {

inline uint32_t f32_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

inline float f32_from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) {  // inf or NaN: NaNs come out quiet with the payload kept
        return f32_from_bits(sign | 0x7f800000u | (mant ? 0x00400000u | (mant << 13) : 0u));
    }
    if (exp != 0) {  // normal: rebias 15 -> 127
        return f32_from_bits(sign | ((exp + 112u) << 23) | (mant << 13));
    }
    if (mant == 0) return f32_from_bits(sign);  // +-0
    // subnormal m * 2^-24: shift the leading one up to bit 10, it becomes the implicit bit of an fp32 normal
    int e = -14;
    while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --e;
    }
    return f32_from_bits(sign | (static_cast<uint32_t>(e + 127) << 23) | ((mant & 0x3ffu) << 13));
}

inline uint16_t fp32_to_fp16(float f) {
    const uint32_t x = f32_bits(f);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00u;   // NaN
    if (ax >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 (half-way above 65504) and inf -> inf
    if (ax >= 0x38800000u) {
        // Normal fp16 (>= 2^-14). Keep exponent + top 10 mantissa bits, rebias 127 -> 15, then round on the
        // 13 dropped bits. A carry out of the mantissa correctly bumps the exponent.
        uint32_t h = (ax >> 13) - (112u << 10);
        const uint32_t rest = ax & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
        return static_cast<uint16_t>(sign | h);
    }
    if (ax <= 0x33000000u) return sign;  // <= 2^-25 (a tie at 2^-25 goes to even, i.e. zero)
    // Subnormal fp16: the result is round(value / 2^-24) = (1.mant) >> shift with the exponent's shift.
    const uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - (ax >> 23);  // 14 ... 24
    uint32_t m = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (m & 1u))) ++m;  // may carry into 0x400: the smallest normal
    return static_cast<uint16_t>(sign | m);
}

inline float bf16_to_fp32(uint16_t h) { return f32_from_bits(static_cast<uint32_t>(h) << 16); }

inline uint16_t fp32_to_bf16(float f) {
    const uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
    return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace r1::cpu
