#version 450
// Matrix x vector(s): y[t][r] = sum_k W[r][k] * x[t][k] (+ bias[r]) for NCOLS <= 8 tokens, the generation path.
//
// Memory-bound: each weight byte is read once. A workgroup owns NR consecutive rows; its threads stride over the
// row in groups of 16 values, decode them in registers (quants.glsl) and multiply in float32 with the tokens'
// activations, which they load once per group for all NR rows. Partial sums are reduced with subgroup adds
// (USE_SUBGROUP) or through shared memory.
//
// Shapes: W is [M][K] (this dispatch's chunk of rows), x is [N][K] floats, y is [N][*] floats.
// Specialization: 0 = workgroup size (a power of two), 1 = NR, 2 = NCOLS (= N).
#extension GL_GOOGLE_include_directive : require
#if USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint NR = 2u;
layout(constant_id = 2) const uint NCOLS = 1u;

layout(binding = 0) readonly buffer WeightBuf { uint W[]; };
layout(binding = 1) readonly buffer XBuf { float X[]; };
layout(binding = 2) writeonly buffer YBuf { float Y[]; };
layout(binding = 3) readonly buffer BiasBuf { float Bias[]; };

layout(push_constant) uniform Push {
    uint K;          // values per row
    uint M;          // rows of this chunk
    uint N;          // tokens
    uint w_off;      // byte offset of row 0 of the chunk in W
    uint row_bytes;  // bytes per weight row
    uint x_off;      // float offset of token 0 in X
    uint x_stride;   // floats between tokens in X
    uint y_off;      // float offset of (token 0, chunk row 0) in Y
    uint y_stride;   // floats between tokens in Y
    uint bias_off;   // float offset of chunk row 0 in Bias
    uint has_bias;
} pc;

#include "common.glsl"
#include "quants.glsl"

shared float red[gl_WorkGroupSize.x * NR * NCOLS];

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint WG = gl_WorkGroupSize.x;
    const uint row0 = linear_group() * NR;
    if (row0 >= pc.M) return;  // uniform across the workgroup

    float acc[NR * NCOLS];
    [[unroll]] for (uint i = 0u; i < NR * NCOLS; ++i) acc[i] = 0.0;

#if TYPE_IS_FLOAT
    const uint n_groups = (pc.K + 15u) / 16u;
    for (uint gi = tid; gi < n_groups; gi += WG) {
        const uint k0 = gi * 16u;
        const uint kn = min(16u, pc.K - k0);
        float xv[NCOLS * 16u];
        [[unroll]] for (uint c = 0u; c < NCOLS; ++c)
            [[unroll]] for (uint e = 0u; e < 16u; ++e)
                xv[c * 16u + e] = e < kn ? X[pc.x_off + c * pc.x_stride + k0 + e] : 0.0;
        [[unroll]] for (uint r = 0u; r < NR; ++r) {
            if (row0 + r >= pc.M) break;
            const uint row = pc.w_off + (row0 + r) * pc.row_bytes;
            float wv[16];
            [[unroll]] for (uint e = 0u; e < 16u; ++e) wv[e] = e < kn ? load_weight(row, k0 + e) : 0.0;
            [[unroll]] for (uint c = 0u; c < NCOLS; ++c) {
                float s = 0.0;
                [[unroll]] for (uint e = 0u; e < 16u; ++e) s += wv[e] * xv[c * 16u + e];
                acc[r * NCOLS + c] += s;
            }
        }
    }
#else
    const uint n_groups = pc.K / 16u;
    for (uint gi = tid; gi < n_groups; gi += WG) {
        vec4 xv[NCOLS * 4u];
        float xsum[NCOLS];
        [[unroll]] for (uint c = 0u; c < NCOLS; ++c) {
            const uint base = pc.x_off + c * pc.x_stride + gi * 16u;
            [[unroll]] for (uint j = 0u; j < 4u; ++j)
                xv[c * 4u + j] = vec4(X[base + 4u * j], X[base + 4u * j + 1u], X[base + 4u * j + 2u], X[base + 4u * j + 3u]);
#if HAS_MIN
            xsum[c] = dot(xv[c * 4u] + xv[c * 4u + 1u] + xv[c * 4u + 2u] + xv[c * 4u + 3u], vec4(1.0));
#else
            xsum[c] = 0.0;
#endif
        }
        [[unroll]] for (uint r = 0u; r < NR; ++r) {
            if (row0 + r >= pc.M) break;
            uvec4 q;
            float scale, vmin;
            decode16(group_block(pc.w_off + (row0 + r) * pc.row_bytes, gi), group_in_block(gi), q, scale, vmin);
            const vec4 q0 = i8x4_to_vec4(q.x), q1 = i8x4_to_vec4(q.y), q2 = i8x4_to_vec4(q.z), q3 = i8x4_to_vec4(q.w);
            [[unroll]] for (uint c = 0u; c < NCOLS; ++c) {
                const float d = dot(q0, xv[c * 4u]) + dot(q1, xv[c * 4u + 1u]) + dot(q2, xv[c * 4u + 2u]) +
                                dot(q3, xv[c * 4u + 3u]);
                acc[r * NCOLS + c] += scale * d - vmin * xsum[c];
            }
        }
    }
#endif

    // Totals: NR * NCOLS values, possibly more than the workgroup has threads.
    const uint NV = NR * NCOLS;
#if USE_SUBGROUP
    [[unroll]] for (uint i = 0u; i < NV; ++i) acc[i] = subgroupAdd(acc[i]);
    if (gl_SubgroupInvocationID == 0u)
        [[unroll]] for (uint i = 0u; i < NV; ++i) red[gl_SubgroupID * NV + i] = acc[i];
    barrier();
#else
    [[unroll]] for (uint i = 0u; i < NV; ++i) red[i * WG + tid] = acc[i];
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1) {
        if (tid < s)
            [[unroll]] for (uint i = 0u; i < NV; ++i) red[i * WG + tid] += red[i * WG + tid + s];
        barrier();
    }
#endif
    for (uint v = tid; v < NV; v += WG) {
        const uint r = v / NCOLS, c = v % NCOLS;
        const uint row = row0 + r;
        if (row >= pc.M) continue;
#if USE_SUBGROUP
        float total = 0.0;
        for (uint sg = 0u; sg < gl_NumSubgroups; ++sg) total += red[sg * NV + v];
#else
        float total = red[v * WG];
#endif
        if (pc.has_bias != 0u) total += Bias[pc.bias_off + row];
        Y[pc.y_off + c * pc.y_stride + row] = total;
    }
}
