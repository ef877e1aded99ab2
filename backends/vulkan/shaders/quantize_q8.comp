#version 450
// Activations for mmq.comp: each block of 32 floats of a token row becomes 32 int8 codes (8 words), the float
// scale d = max|x| / 127 and d times the sum of each half's codes. Codes are roundf(x / d), as the CPU's
// reference Q8_0/Q8_1 activation quantizers compute them.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;

layout(binding = 0) readonly buffer XBuf { float X[]; };
layout(binding = 1) writeonly buffer XqBuf { uint Xq[]; };

layout(push_constant) uniform Push {
    uint K;          // values per token (a multiple of 32)
    uint N;          // tokens
    uint x_off, x_stride;     // floats
    uint xq_off, xq_stride;   // words
} pc;

#include "common.glsl"

void main() {
    const uint blocks = pc.K / 32u;
    const uint idx = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (idx >= blocks * pc.N) return;
    const uint n = idx / blocks, b = idx % blocks;
    const uint src = pc.x_off + n * pc.x_stride + 32u * b;
    float amax = 0.0;
    for (uint i = 0u; i < 32u; ++i) amax = max(amax, abs(X[src + i]));
    const float d = amax / 127.0;
    const float id = d != 0.0 ? 1.0 / d : 0.0;
    const uint dst = pc.xq_off + n * pc.xq_stride + 11u * b;
    int sums[2] = int[2](0, 0);
    [[unroll]] for (uint w = 0u; w < 8u; ++w) {
        uint word = 0u;
        [[unroll]] for (uint e = 0u; e < 4u; ++e) {
            const int q = clamp(int(round_half_away(X[src + 4u * w + e] * id)), -127, 127);
            sums[w / 4u] += q;
            word |= (uint(q) & 0xFFu) << (8u * e);
        }
        Xq[dst + w] = word;
    }
    Xq[dst + 8u] = floatBitsToUint(d);
    Xq[dst + 9u] = floatBitsToUint(d * float(sums[0]));
    Xq[dst + 10u] = floatBitsToUint(d * float(sums[1]));
}
