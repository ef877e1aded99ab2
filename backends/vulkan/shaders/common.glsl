// Helpers shared by every shader: byte addressing of word buffers, exact half/bfloat conversions, rounding.
//
// Buffers are declared as arrays of 32-bit words and addressed in bytes, so that no shader needs the 8- or 16-bit
// storage features (any Vulkan 1.2 device runs them). Block formats are laid out as in GGUF files, 2-byte aligned
// at least; multi-byte fields are little-endian.
#extension GL_EXT_control_flow_attributes : require

// Byte `off` of word array A.
#define LOAD_U8(A, off) ((A[(off) >> 2] >> (((off) & 3u) << 3)) & 0xFFu)
// The 16-bit field at even byte offset `off`.
#define LOAD_U16(A, off) ((A[(off) >> 2] >> (((off) & 2u) << 3)) & 0xFFFFu)
// The 32-bit field at even byte offset `off` (it straddles two words when off % 4 == 2).
#define LOAD_U32(A, off) \
    ((((off) & 2u) == 0u) ? A[(off) >> 2] : ((A[(off) >> 2] >> 16) | (A[((off) >> 2) + 1u] << 16)))

// The workgroup's index in a grid that may be folded into two dimensions (a grid wider than
// maxComputeWorkGroupCount[0] continues in y).
uint linear_group() { return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; }

// fp16 bits -> float, exact for every input including subnormals (which some GPUs flush in unpackHalf2x16).
float half_to_float(uint h) {
    const uint sign = (h & 0x8000u) << 16;
    const uint e = (h >> 10) & 0x1Fu;
    const uint m = h & 0x3FFu;
    if (e == 0u) {
        // m * 2^-24 is a normal float: the product is exact.
        const float v = float(m) * 5.9604644775390625e-8;
        return sign != 0u ? -v : v;
    }
    if (e == 31u) return uintBitsToFloat(sign | 0x7F800000u | (m != 0u ? (0x400000u | (m << 13)) : 0u));
    return uintBitsToFloat(sign | ((e + 112u) << 23) | (m << 13));
}

// float -> fp16 bits, round to nearest even (subnormals included), >= 65520 -> inf, NaN -> 0x7e00 with its sign:
// the same results as the CPU reference (backends/cpu/quants/fp16.h), computed on the bits.
uint float_to_half(float f) {
    const uint x = floatBitsToUint(f);
    const uint sign = (x >> 16) & 0x8000u;
    const uint ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) return sign | 0x7E00u;
    if (ax >= 0x477FF000u) return sign | 0x7C00u;
    if (ax >= 0x38800000u) {
        uint h = (ax >> 13) - (112u << 10);
        const uint rest = ax & 0x1FFFu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) != 0u)) ++h;
        return sign | h;
    }
    if (ax <= 0x33000000u) return sign;
    const uint mant = (ax & 0x7FFFFFu) | 0x800000u;
    const uint shift = 126u - (ax >> 23);
    uint m = mant >> shift;
    const uint rest = mant & ((1u << shift) - 1u);
    const uint halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (m & 1u) != 0u)) ++m;
    return sign | m;
}

float bf16_to_float(uint h) { return uintBitsToFloat(h << 16); }

// float -> bf16 bits: round to nearest even on the bits, NaN forced quiet (as the CPU reference).
uint float_to_bf16(float f) {
    const uint x = floatBitsToUint(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return (x >> 16) | 0x40u;
    return (x + 0x7FFFu + ((x >> 16) & 1u)) >> 16;
}

// C's roundf: halves away from zero (GLSL's round() leaves the direction of halves to the implementation).
float round_half_away(float v) {
    const float t = trunc(v);
    return abs(v - t) >= 0.5 ? t + sign(v) : t;
}

// Sign extension of packed 4 x int8 fields narrower than 8 bits: each byte holds a k-bit two's-complement value
// in its low bits; the multiply copies the sign bit into the high bits of the same byte (no carry between bytes).
uint sext3(uint x) { return x | ((x & 0x04040404u) * 0x3Eu); }
uint sext4(uint x) { return x | ((x & 0x08080808u) * 0x1Eu); }
uint sext5(uint x) { return x | ((x & 0x10101010u) * 0x0Eu); }
uint sext6(uint x) { return x | ((x & 0x20202020u) * 0x06u); }

// The four signed bytes of a word as floats.
vec4 i8x4_to_vec4(uint w) {
    const int s = int(w);
    return vec4(ivec4(s << 24, s << 16, s << 8, s) >> 24);
}
