#version 450
// Matrix x matrix with 8-bit activations (the fast path for quantized weights, like the CPU's): the
// activations were quantized by quantize_q8.comp into blocks of 32 int8 with a float scale, and every weight
// group of 16 is decoded to int8 codes with a float scale and offset (quants.glsl). Per group the integer dot
// product sum(q_w * q_x) is exact; the floats only scale it:
//   sum_i (scale * qw_i - vmin) * (d * qx_i) = scale * (d * sum_i qw_i qx_i) - vmin * (d * sum_i qx_i).
// USE_DOT: the int8 dot products are OpSDot on packed 4 x int8 (VK_KHR_shader_integer_dot_product, reached
// through GL_EXT_spirv_intrinsics since Debian's glslang lacks GL_EXT_integer_dot_product); otherwise the bytes
// are unpacked and multiplied as integers.
//
// Tile: 64 weight rows x 64 tokens per workgroup of 256 threads (4 x 4 outputs each), 64 values of K per step.
// Shared memory: 2 x 64 x 4 x (16 + 8) bytes = 12 KiB.
#extension GL_GOOGLE_include_directive : require
#if USE_DOT
#extension GL_EXT_spirv_intrinsics : require
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot_4x8_packed(uint a, uint b, spirv_literal int packed_vector_format);
#endif

layout(local_size_x = 256) in;

layout(binding = 0) readonly buffer WeightBuf { uint W[]; };
layout(binding = 1) readonly buffer XqBuf { uint Xq[]; };
layout(binding = 2) writeonly buffer YBuf { float Y[]; };
layout(binding = 3) readonly buffer BiasBuf { float Bias[]; };

layout(push_constant) uniform Push {
    uint K, M, N, w_off, row_bytes;
    uint xq_off;     // word offset of token 0's quantized row in Xq
    uint xq_stride;  // words per token: K / 32 blocks of 11 words (8 code words, d, d*sum(first 16), d*sum(last 16))
    uint y_off, y_stride, bias_off, has_bias;
} pc;

#include "common.glsl"
#include "quants.glsl"

int dot4x8(uint a, uint b) {
#if USE_DOT
    return sdot_4x8_packed(a, b, 0);  // PackedVectorFormat4x8Bit
#else
    const ivec4 x = ivec4(int(a) << 24, int(a) << 16, int(a) << 8, int(a)) >> 24;
    const ivec4 y = ivec4(int(b) << 24, int(b) << 16, int(b) << 8, int(b)) >> 24;
    return x.x * y.x + x.y * y.y + x.z * y.z + x.w * y.w;
#endif
}

const uint BM = 64u, BN = 64u, BG = 4u;  // BG groups of 16 values per step

shared uvec4 Aq[BM * BG];
shared vec2 As[BM * BG];  // (scale, vmin)
shared uvec4 Bq[BN * BG];
shared vec2 Bs[BN * BG];  // (d, d * sum of the group's codes)

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint tx = tid % 16u, ty = tid / 16u;
    const uint m0 = gl_WorkGroupID.x * BM;
    const uint n0 = gl_WorkGroupID.y * BN;

    float acc[4][4];
    [[unroll]] for (uint i = 0u; i < 4u; ++i)
        [[unroll]] for (uint j = 0u; j < 4u; ++j) acc[i][j] = 0.0;

    for (uint k0 = 0u; k0 < pc.K; k0 += 16u * BG) {
        {
            const uint r = tid / BG, gg = tid % BG;
            const uint row = m0 + r, k = k0 + 16u * gg;
            uvec4 q = uvec4(0u);
            float scale = 0.0, vmin = 0.0;
            if (row < pc.M && k < pc.K)
                decode16(group_block(pc.w_off + row * pc.row_bytes, k / 16u), group_in_block(k / 16u), q, scale, vmin);
            Aq[tid] = q;
            As[tid] = vec2(scale, vmin);
        }
        {
            const uint t = tid / BG, gg = tid % BG;
            const uint n = n0 + t, k = k0 + 16u * gg;
            uvec4 q = uvec4(0u);
            vec2 ds = vec2(0.0);
            if (n < pc.N && k < pc.K) {
                const uint base = pc.xq_off + n * pc.xq_stride + (k / 32u) * 11u;
                const uint h = (k / 16u) & 1u;
                q = uvec4(Xq[base + 4u * h], Xq[base + 4u * h + 1u], Xq[base + 4u * h + 2u], Xq[base + 4u * h + 3u]);
                ds = vec2(uintBitsToFloat(Xq[base + 8u]), uintBitsToFloat(Xq[base + 9u + h]));
            }
            Bq[tid] = q;
            Bs[tid] = ds;
        }
        barrier();
        [[dont_unroll]] for (uint gg = 0u; gg < BG; ++gg) {
            uvec4 bq[4];
            vec2 bs[4];
            [[unroll]] for (uint j = 0u; j < 4u; ++j) {
                bq[j] = Bq[(tx + 16u * j) * BG + gg];
                bs[j] = Bs[(tx + 16u * j) * BG + gg];
            }
            [[unroll]] for (uint i = 0u; i < 4u; ++i) {
                const uvec4 aq = Aq[(ty + 16u * i) * BG + gg];
                const vec2 as = As[(ty + 16u * i) * BG + gg];
                [[unroll]] for (uint j = 0u; j < 4u; ++j) {
                    const int s = dot4x8(aq.x, bq[j].x) + dot4x8(aq.y, bq[j].y) + dot4x8(aq.z, bq[j].z) +
                                  dot4x8(aq.w, bq[j].w);
                    acc[i][j] += as.x * (bs[j].x * float(s)) - as.y * bs[j].y;
                }
            }
        }
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
