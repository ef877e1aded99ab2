#version 450
// Causal attention with grouped-query heads over the KV cache (KV_F32, KV_F16, KV_BF16 or KV_Q8_0), flash-style:
// keys and values stream through shared memory in tiles of BKV rows while each query row keeps a running maximum,
// denominator and weighted sum (online softmax), so any context length works in fixed memory.
//
// Work: query rows are the pairs (token t, head h); the `group` heads that share KV head g are adjacent, and a
// workgroup takes BQ consecutive such rows of one KV head, so each key and value it loads serves up to BQ rows.
// Long contexts with few query rows (generation) split the keys in n_splits ranges, one workgroup each; every
// split writes its partial (unnormalized sum, maximum, denominator) and attention_combine.comp merges them.
// Query row t at position pos0 + t attends to keys 0 .. pos0 + t.
//
// Specialization: 0 = workgroup size (divides BQ * D / 4), 1 = D (head size, a multiple of 4), 2 = BQ, 3 = BKV.
// Shared memory: (BQ * D + BKV * (D + 4) + BQ * BKV + 3 * BQ) floats, sized by the host to fit the device.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D = 128u;
layout(constant_id = 2) const uint BQ = 16u;
layout(constant_id = 3) const uint BKV = 32u;

layout(binding = 0) readonly buffer QBuf { float Q[]; };
layout(binding = 1) readonly buffer KBuf { uint Kc[]; };
layout(binding = 2) readonly buffer VBuf { uint Vc[]; };
layout(binding = 3) writeonly buffer OBuf { float O[]; };
layout(binding = 4) writeonly buffer PBuf { float Part[]; };

layout(push_constant) uniform Push {
    uint T, n_heads, n_kv_heads, group;
    uint q_off, q_stride;          // floats
    uint k_off, k_stride;          // bytes
    uint v_off, v_stride;          // bytes
    uint o_off, o_stride;          // floats
    uint pos0;
    float scale;
    uint n_splits, keys_per_split;
    uint part_off;                 // floats
} pc;

#include "common.glsl"

#if defined(KV_F32)
#define HEAD_BYTES (4u * D)
#define LOAD_KV(A, head, d) uintBitsToFloat(A[((head) >> 2) + (d)])
#elif defined(KV_F16)
#define HEAD_BYTES (2u * D)
#define LOAD_KV(A, head, d) half_to_float(LOAD_U16(A, (head) + 2u * (d)))
#elif defined(KV_BF16)
#define HEAD_BYTES (2u * D)
#define LOAD_KV(A, head, d) bf16_to_float(LOAD_U16(A, (head) + 2u * (d)))
#elif defined(KV_Q8_0)
#define HEAD_BYTES (34u * (D / 32u))
#define LOAD_KV(A, head, d) \
    (float(int(LOAD_U8(A, (head) + 34u * ((d) / 32u) + 2u + (d) % 32u) << 24) >> 24) * \
     half_to_float(LOAD_U16(A, (head) + 34u * ((d) / 32u))))
#else
#error "KV_* not defined"
#endif

#define NEG_INF uintBitsToFloat(0xFF800000u)

const uint D4 = D / 4u;  // head values in vec4s (the host requires D % 4 == 0)
shared vec4 Qs[BQ * D4];
shared vec4 KVs[BKV * (D4 + 1u)];  // one vec4 of padding per row
shared float S[BQ * BKV];
shared float row_max[BQ], row_sum[BQ], row_alpha[BQ];

vec4 load_kv4(bool values, uint head, uint d4) {
    const uint d = 4u * d4;
    if (values) return vec4(LOAD_KV(Vc, head, d), LOAD_KV(Vc, head, d + 1u), LOAD_KV(Vc, head, d + 2u), LOAD_KV(Vc, head, d + 3u));
    return vec4(LOAD_KV(Kc, head, d), LOAD_KV(Kc, head, d + 1u), LOAD_KV(Kc, head, d + 2u), LOAD_KV(Kc, head, d + 3u));
}

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint WG = gl_WorkGroupSize.x;
    const uint n_rows = pc.T * pc.group;  // query rows per KV head
    const uint n_blocks = (n_rows + BQ - 1u) / BQ;
    uint wg = linear_group();
    const uint split = wg % pc.n_splits;
    wg /= pc.n_splits;
    const uint g = wg % pc.n_kv_heads;
    const uint qb = wg / pc.n_kv_heads;
    if (qb >= n_blocks) return;
    const uint first = qb * BQ;

    // Keys this workgroup may need: up to the last position of its last row, within its split.
    const uint last_t = min(pc.T, (first + BQ + pc.group - 1u) / pc.group) - 1u;
    const uint key_end_all = pc.pos0 + last_t + 1u;
    const uint key_begin = split * pc.keys_per_split;
    const uint key_end = min(key_end_all, key_begin + pc.keys_per_split);

    for (uint i = tid; i < BQ * D4; i += WG) {
        const uint r = i / D4, d = 4u * (i % D4), qi = first + r;
        const uint t = qi / pc.group, h = g * pc.group + qi % pc.group;
        const uint at = pc.q_off + t * pc.q_stride + h * D + d;
        Qs[i] = qi < n_rows ? vec4(Q[at], Q[at + 1u], Q[at + 2u], Q[at + 3u]) : vec4(0.0);
    }
    if (tid < BQ) {
        row_max[tid] = NEG_INF;
        row_sum[tid] = 0.0;
    }
    const uint PER = BQ * D4 / WG;  // output vec4s owned per thread: index tid + WG * e
    vec4 o[PER];
    [[unroll]] for (uint e = 0u; e < PER; ++e) o[e] = vec4(0.0);
    barrier();

    const uint k_head = pc.k_off + g * HEAD_BYTES;
    const uint v_head = pc.v_off + g * HEAD_BYTES;
    for (uint j0 = key_begin; j0 < key_end; j0 += BKV) {
        for (uint i = tid; i < BKV * D4; i += WG) {
            const uint c = i / D4, d4 = i % D4, j = j0 + c;
            KVs[c * (D4 + 1u) + d4] = j < key_end ? load_kv4(false, k_head + j * pc.k_stride, d4) : vec4(0.0);
        }
        barrier();
        for (uint i = tid; i < BQ * BKV; i += WG) {
            const uint r = i / BKV, c = i % BKV, qi = first + r, j = j0 + c;
            float s = NEG_INF;
            if (qi < n_rows && j < key_end && j <= pc.pos0 + qi / pc.group) {
                float acc = 0.0;
                [[dont_unroll]] for (uint d4 = 0u; d4 < D4; ++d4) acc += dot(Qs[r * D4 + d4], KVs[c * (D4 + 1u) + d4]);
                s = acc * pc.scale;
            }
            S[i] = s;
        }
        barrier();
        if (tid < BQ) {
            float m = row_max[tid];
            [[dont_unroll]] for (uint c = 0u; c < BKV; ++c) m = max(m, S[tid * BKV + c]);
            float alpha = 1.0, sum = 0.0;
            if (m != NEG_INF) {
                alpha = row_max[tid] == NEG_INF ? 0.0 : exp(row_max[tid] - m);
                [[dont_unroll]] for (uint c = 0u; c < BKV; ++c) {
                    const float s = S[tid * BKV + c];
                    const float p = s == NEG_INF ? 0.0 : exp(s - m);
                    S[tid * BKV + c] = p;
                    sum += p;
                }
            } else {
                [[dont_unroll]] for (uint c = 0u; c < BKV; ++c) S[tid * BKV + c] = 0.0;
            }
            row_sum[tid] = row_sum[tid] * alpha + sum;
            row_max[tid] = m;
            row_alpha[tid] = alpha;
        }
        barrier();
        for (uint i = tid; i < BKV * D4; i += WG) {
            const uint c = i / D4, d4 = i % D4, j = j0 + c;
            KVs[c * (D4 + 1u) + d4] = j < key_end ? load_kv4(true, v_head + j * pc.v_stride, d4) : vec4(0.0);
        }
        barrier();
        [[unroll]] for (uint e = 0u; e < PER; ++e) {
            const uint i = tid + WG * e, r = i / D4, d4 = i % D4;
            vec4 acc = o[e] * row_alpha[r];
            [[dont_unroll]] for (uint c = 0u; c < BKV; ++c) acc += S[r * BKV + c] * KVs[c * (D4 + 1u) + d4];
            o[e] = acc;
        }
        barrier();
    }

    [[unroll]] for (uint e = 0u; e < PER; ++e) {
        const uint i = tid + WG * e, r = i / D4, d = 4u * (i % D4), qi = first + r;
        if (qi >= n_rows) continue;
        const uint t = qi / pc.group, h = g * pc.group + qi % pc.group;
        if (pc.n_splits == 1u) {
            const uint at = pc.o_off + t * pc.o_stride + h * D + d;
            const vec4 v = o[e] / row_sum[r];
            O[at] = v.x;
            O[at + 1u] = v.y;
            O[at + 2u] = v.z;
            O[at + 3u] = v.w;
        } else {
            const uint p = pc.part_off + ((t * pc.n_heads + h) * pc.n_splits + split) * (D + 2u);
            Part[p + d] = o[e].x;
            Part[p + d + 1u] = o[e].y;
            Part[p + d + 2u] = o[e].z;
            Part[p + d + 3u] = o[e].w;
            if (d == 0u) {
                Part[p + D] = row_max[r];
                Part[p + D + 1u] = row_sum[r];
            }
        }
    }
}
