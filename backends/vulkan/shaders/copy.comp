#version 450
// Row conversion y[r][:] = x[r][:] from SRC_* to DST_* (F32, F16, BF16, Q8_0): how keys and values enter the KV
// cache. One thread per 32-bit word of the destination's byte span, so that no two threads ever write the same
// word: a word may hold halves of two rows or of a row and a gap, and the halves outside the view are written
// back unchanged. This needs no 8- or 16-bit storage feature and works for any even offsets and strides.
// Q8_0 destination: each code's thread recomputes its block's scale (32 reads; the cache rows are short).
// Values are converted like the CPU reference: d = max|x| / 127, codes roundf(x / d), fp16 and bf16 round to
// nearest even.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;

layout(binding = 0) readonly buffer SBuf { uint S[]; };
layout(binding = 1) buffer DBuf { uint D[]; };

layout(push_constant) uniform Push {
    uint cols, rows;
    uint s_off, s_stride;   // bytes
    uint d_off, d_stride;   // bytes (even)
    uint d_row_bytes;
    uint d_word0, n_words;  // the destination words this dispatch owns
} pc;

#include "common.glsl"

float src_value(uint r, uint c) {
    const uint row = pc.s_off + r * pc.s_stride;
#if defined(SRC_F32)
    return uintBitsToFloat(S[(row >> 2) + c]);
#elif defined(SRC_F16)
    return half_to_float(LOAD_U16(S, row + 2u * c));
#elif defined(SRC_BF16)
    return bf16_to_float(LOAD_U16(S, row + 2u * c));
#elif defined(SRC_Q8_0)
    const uint block = row + (c / 32u) * 34u;
    const int q = int(LOAD_U8(S, block + 2u + c % 32u) << 24) >> 24;
    return float(q) * half_to_float(LOAD_U16(S, block));
#else
#error "SRC_* not defined"
#endif
}

#if defined(DST_Q8_0)
float block_scale(uint r, uint block) {
    float amax = 0.0;
    for (uint i = 0u; i < 32u; ++i) amax = max(amax, abs(src_value(r, 32u * block + i)));
    return amax / 127.0;
}
uint q8_code(float x, float d) {
    const float id = d != 0.0 ? 1.0 / d : 0.0;
    return uint(clamp(int(round_half_away(x * id)), -127, 127)) & 0xFFu;
}
#endif

#if !defined(DST_F32)
// The 16-bit destination field at (row r, byte b of the row): an element, or a part of a Q8_0 block.
uint dst_half(uint r, uint b) {
#if defined(DST_F16)
    return float_to_half(src_value(r, b / 2u));
#elif defined(DST_BF16)
    return float_to_bf16(src_value(r, b / 2u));
#elif defined(DST_Q8_0)
    const uint block = b / 34u, at = b % 34u;
    const float d = block_scale(r, block);
    if (at == 0u) return float_to_half(d);
    const uint c = 32u * block + at - 2u;  // codes c and c + 1
    return q8_code(src_value(r, c), d) | (q8_code(src_value(r, c + 1u), d) << 8);
#else
#error "DST_* not defined"
#endif
}
#endif

void main() {
    const uint w = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (w >= pc.n_words) return;
    const uint word = pc.d_word0 + w;
#if defined(DST_F32)
    const uint rel = 4u * word - pc.d_off;  // F32 rows are 4-byte aligned: words never straddle
    const uint r = rel / pc.d_stride, b = rel % pc.d_stride;
    if (r < pc.rows && b < pc.d_row_bytes) D[word] = floatBitsToUint(src_value(r, b / 4u));
#else
    uint halves[2] = uint[2](0xFFFFFFFFu, 0xFFFFFFFFu);
    [[unroll]] for (uint h = 0u; h < 2u; ++h) {
        const uint byte = 4u * word + 2u * h;
        if (byte < pc.d_off) continue;
        const uint rel = byte - pc.d_off;
        const uint r = rel / pc.d_stride, b = rel % pc.d_stride;
        if (r < pc.rows && b < pc.d_row_bytes) halves[h] = dst_half(r, b);
    }
    if (halves[0] == 0xFFFFFFFFu && halves[1] == 0xFFFFFFFFu) return;
    const uint old = (halves[0] == 0xFFFFFFFFu || halves[1] == 0xFFFFFFFFu) ? D[word] : 0u;
    const uint lo = halves[0] != 0xFFFFFFFFu ? halves[0] : (old & 0xFFFFu);
    const uint hi = halves[1] != 0xFFFFFFFFu ? halves[1] : (old >> 16);
    D[word] = lo | (hi << 16);
#endif
}
