#version 450
// Matrix x matrix for batches: y[t][r] = sum_k W[r][k] * x[t][k] (+ bias[r]), tiled through shared memory.
//
// A workgroup of 256 threads computes a tile of 64 weight rows x 64 tokens; each thread owns 4 x 4 outputs.
// For every 32-wide slice of K, the weights are decoded once into shared memory (quants.glsl: bit-exact
// dequantization), the activations copied next to them, and the products accumulated in float32.
// FP16_MATH (F16 weights on devices with shaderFloat16, the fast path only): both tiles are held as fp16 (the
// activations rounded to fp16, as the CPU's fast path does) and multiplied with packed half-precision FMAs over
// runs of 8 values, which are then added to float32 accumulators.
// Shared memory: 2 x 64 x 33 floats = 16.5 KiB (half of that with FP16_MATH).
#extension GL_GOOGLE_include_directive : require
#if FP16_MATH
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif

layout(local_size_x = 256) in;

layout(binding = 0) readonly buffer WeightBuf { uint W[]; };
layout(binding = 1) readonly buffer XBuf { float X[]; };
layout(binding = 2) writeonly buffer YBuf { float Y[]; };
layout(binding = 3) readonly buffer BiasBuf { float Bias[]; };

layout(push_constant) uniform Push {
    uint K, M, N, w_off, row_bytes, x_off, x_stride, y_off, y_stride, bias_off, has_bias;
} pc;  // as matvec.comp

#include "common.glsl"
#include "quants.glsl"

const uint BM = 64u, BN = 64u, BK = 32u;

#if FP16_MATH
const uint LD = BK / 2u + 1u;  // f16vec2 per padded tile row
shared f16vec2 As[BM * LD];
shared f16vec2 Bs[BN * LD];
#else
const uint LD = BK + 1u;
shared float As[BM * LD];
shared float Bs[BN * LD];
#endif

void store_a(uint r, uint k, float v[16]) {
#if FP16_MATH
    [[unroll]] for (uint i = 0u; i < 8u; ++i) As[r * LD + k / 2u + i] = f16vec2(v[2u * i], v[2u * i + 1u]);
#else
    [[unroll]] for (uint i = 0u; i < 16u; ++i) As[r * LD + k + i] = v[i];
#endif
}

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint tx = tid % 16u;  // token lane
    const uint ty = tid / 16u;  // row lane
    const uint m0 = gl_WorkGroupID.x * BM;
    const uint n0 = gl_WorkGroupID.y * BN;

    float acc[4][4];
    [[unroll]] for (uint i = 0u; i < 4u; ++i)
        [[unroll]] for (uint j = 0u; j < 4u; ++j) acc[i][j] = 0.0;

    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        // Weights: 64 rows x 2 groups of 16, one group per thread.
        if (tid < BM * 2u) {
            const uint r = tid >> 1, half_k = 16u * (tid & 1u);
            const uint row = m0 + r;
            float v[16];
            [[unroll]] for (uint i = 0u; i < 16u; ++i) v[i] = 0.0;
#if TYPE_IS_FLOAT
            if (row < pc.M) {
                const uint rb = pc.w_off + row * pc.row_bytes;
                [[unroll]] for (uint i = 0u; i < 16u; ++i) {
                    const uint k = k0 + half_k + i;
                    if (k < pc.K) v[i] = load_weight(rb, k);
                }
            }
#else
            if (row < pc.M) {  // K is a multiple of the block size (>= 32): both groups exist
                const uint gi = (k0 + half_k) / 16u;
                uvec4 q;
                float scale, vmin;
                decode16(group_block(pc.w_off + row * pc.row_bytes, gi), group_in_block(gi), q, scale, vmin);
                [[unroll]] for (uint j = 0u; j < 4u; ++j) {
                    const vec4 f = i8x4_to_vec4(q[j]);
                    [[unroll]] for (uint e = 0u; e < 4u; ++e) v[4u * j + e] = scale * f[e] - vmin;
                }
            }
#endif
            store_a(r, half_k, v);
        }
        // Activations: 64 tokens x 32 values.
#if FP16_MATH
        [[unroll]] for (uint j = 0u; j < 4u; ++j) {
            const uint idx = tid + 256u * j;
            const uint t = idx / 16u, kk = 2u * (idx % 16u);
            const uint n = n0 + t, k = k0 + kk;
            const uint base = pc.x_off + n * pc.x_stride + k;
            const float a = (n < pc.N && k < pc.K) ? X[base] : 0.0;
            const float b = (n < pc.N && k + 1u < pc.K) ? X[base + 1u] : 0.0;
            Bs[t * LD + kk / 2u] = f16vec2(a, b);
        }
#else
        [[unroll]] for (uint j = 0u; j < 8u; ++j) {
            const uint idx = tid + 256u * j;
            const uint t = idx / BK, kk = idx % BK;
            const uint n = n0 + t, k = k0 + kk;
            Bs[t * LD + kk] = (n < pc.N && k < pc.K) ? X[pc.x_off + n * pc.x_stride + k] : 0.0;
        }
#endif
        barrier();
#if FP16_MATH
        [[unroll]] for (uint kb = 0u; kb < BK / 2u; kb += 4u) {
            f16vec2 part[4][4];
            [[unroll]] for (uint i = 0u; i < 4u; ++i)
                [[unroll]] for (uint j = 0u; j < 4u; ++j) part[i][j] = f16vec2(0.0);
            [[unroll]] for (uint kk = kb; kk < kb + 4u; ++kk) {
                f16vec2 a[4], b[4];
                [[unroll]] for (uint i = 0u; i < 4u; ++i) a[i] = As[(ty + 16u * i) * LD + kk];
                [[unroll]] for (uint j = 0u; j < 4u; ++j) b[j] = Bs[(tx + 16u * j) * LD + kk];
                [[unroll]] for (uint i = 0u; i < 4u; ++i)
                    [[unroll]] for (uint j = 0u; j < 4u; ++j) part[i][j] = fma(a[i], b[j], part[i][j]);
            }
            [[unroll]] for (uint i = 0u; i < 4u; ++i)
                [[unroll]] for (uint j = 0u; j < 4u; ++j) acc[i][j] += float(part[i][j].x) + float(part[i][j].y);
        }
#else
        [[dont_unroll]] for (uint kk = 0u; kk < BK; ++kk) {
            float a[4], b[4];
            [[unroll]] for (uint i = 0u; i < 4u; ++i) a[i] = As[(ty + 16u * i) * LD + kk];
            [[unroll]] for (uint j = 0u; j < 4u; ++j) b[j] = Bs[(tx + 16u * j) * LD + kk];
            [[unroll]] for (uint i = 0u; i < 4u; ++i)
                [[unroll]] for (uint j = 0u; j < 4u; ++j) acc[i][j] += a[i] * b[j];
        }
#endif
        barrier();
    }

    [[unroll]] for (uint i = 0u; i < 4u; ++i) {
        const uint row = m0 + ty + 16u * i;
        if (row >= pc.M) continue;
        const float bias = pc.has_bias != 0u ? Bias[pc.bias_off + row] : 0.0;
        [[unroll]] for (uint j = 0u; j < 4u; ++j) {
            const uint n = n0 + tx + 16u * j;
            if (n < pc.N) Y[pc.y_off + n * pc.y_stride + row] = acc[i][j] + bias;
        }
    }
}
