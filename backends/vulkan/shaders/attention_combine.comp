#version 450
// Merges the n_splits partial results of attention.comp for each query row (token t, head h):
//   out = sum_s e^(m_s - M) * o_s / sum_s e^(m_s - M) * l_s,   M = max_s m_s,
// where o_s is split s's unnormalized weighted sum of values, m_s its largest score and l_s its denominator.
// One thread per output value.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;

layout(binding = 0) readonly buffer PBuf { float Part[]; };
layout(binding = 1) writeonly buffer OBuf { float O[]; };

layout(push_constant) uniform Push {
    uint T, n_heads, D, n_splits;
    uint part_off;        // floats
    uint o_off, o_stride; // floats
} pc;

#include "common.glsl"

void main() {
    const uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= pc.T * pc.n_heads * pc.D) return;
    const uint d = i % pc.D, row = i / pc.D;  // row = t * n_heads + h
    const uint t = row / pc.n_heads, h = row % pc.n_heads;
    const uint base = pc.part_off + row * pc.n_splits * (pc.D + 2u);
    const float neg_inf = uintBitsToFloat(0xFF800000u);
    float m = neg_inf;
    for (uint s = 0u; s < pc.n_splits; ++s) m = max(m, Part[base + s * (pc.D + 2u) + pc.D]);
    float num = 0.0, den = 0.0;
    for (uint s = 0u; s < pc.n_splits; ++s) {
        const uint p = base + s * (pc.D + 2u);
        const float ms = Part[p + pc.D];
        if (ms == neg_inf) continue;
        const float w = exp(ms - m);
        num += w * Part[p + d];
        den += w * Part[p + pc.D + 1u];
    }
    O[pc.o_off + t * pc.o_stride + h * pc.D + d] = num / den;
}
