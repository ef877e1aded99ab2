// Non-linear 4-bit formats: IQ4_NL (blocks of 32, one fp16 scale) and IQ4_XS (super-blocks of 256 with
// 6-bit sub-block scales). A code q in 0..15 decodes to scale * kIQ4NLValues[q] (blocks.h).
#include "quants_internal.h"  // first: sets the floating-point contraction mode

#include <cmath>
#include <cstring>

#include "quants.h"
namespace r1::cpu {

using detail::kGroupMaxEps;
using detail::nearest_int;

// ---- decode ----------------------------------------------------------------------------------------------

void dequantize_row_iq4_nl(const block_iq4_nl* x, float* y, int64_t n) {
    const int64_t nb = n / QK4_NL;
    for (int64_t i = 0; i < nb; ++i, y += QK4_NL) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < 16; ++j) {
            y[j] = d * static_cast<float>(kIQ4NLValues[x[i].qs[j] & 0xF]);
            y[j + 16] = d * static_cast<float>(kIQ4NLValues[x[i].qs[j] >> 4]);
        }
    }
}

namespace {

// The 6-bit scale of sub-block s of an IQ4_XS block, 0..63 (decoded as ls - 32).
inline int iq4_xs_scale(const block_iq4_xs& b, int s) {
    return ((b.scales_l[s / 2] >> (4 * (s % 2))) & 0xF) | ((b.scales_h >> (2 * s)) & 3) << 4;
}

}  // namespace

void dequantize_row_iq4_xs(const block_iq4_xs* x, float* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int s = 0; s < 8; ++s, y += 32) {
            const float dl = d * static_cast<float>(iq4_xs_scale(x[i], s) - 32);
            const uint8_t* qs = x[i].qs + 16 * s;
            for (int j = 0; j < 16; ++j) {
                y[j] = dl * static_cast<float>(kIQ4NLValues[qs[j] & 0xF]);
                y[j + 16] = dl * static_cast<float>(kIQ4NLValues[qs[j] >> 4]);
            }
        }
    }
}

// ---- encode ----------------------------------------------------------------------------------------------
// ggml's quantize_row_iq4_nl_impl with no importance matrix and ntry = 7 (what quantize_iq4_nl and
// quantize_iq4_xs use). For each 32-value block, weights w = x^2:
//   1. d0 = max / -127 (max: the value of largest magnitude, signed), codes = nearest codebook entry of x/d0,
//      d = sum(w q x) / sum(w q^2) (q the codebook values);
//   2. try the 15 inverse scales (itry - 127) / max, itry = -7..7: keep the least-squares d of the candidate
//      with the largest sum(w q x)^2 / sum(w q^2).
// IQ4_NL stores that d as fp16 and re-derives the codes with 1/d. IQ4_XS quantizes the 8 block scales to
// 6 bits against D = max_scale / -32 and re-derives each block's codes with 1/(D * l).

namespace {

// The index of the codebook entry nearest to v (kIQ4NLValues is sorted). Level i wins once v reaches the
// midpoint of levels i-1 and i, so an exact midpoint goes up. Comparing 2v with the (integer) sum of the two
// levels keeps the test exact. Branch-free binary search over the 16 levels.
inline int best_index_iq4nl(float v) {
    const float v2 = v + v;
    int idx = 0;
    for (int step = 8; step > 0; step >>= 1) {
        const int j = idx + step;
        if (v2 >= static_cast<float>(kIQ4NLValues[j - 1] + kIQ4NLValues[j])) idx = j;
    }
    return idx;
}

constexpr int kNTry = 7;

// Step 1 and 2 above for one block of 32. Returns d (0 for a block below kGroupMaxEps).
float iq4_block_scale(const float* xb) {
    float weight[32];
    for (int j = 0; j < 32; ++j) weight[j] = xb[j] * xb[j];
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; ++j) {
        const float ax = std::fabs(xb[j]);
        if (ax > amax) {
            amax = ax;
            max = xb[j];
        }
    }
    if (amax < kGroupMaxEps) return 0.0f;
    float d = -max / static_cast<float>(kIQ4NLValues[0]);
    float id = 1.0f / d;
    float sumqx = 0.0f, sumq2 = 0.0f;
    for (int j = 0; j < 32; ++j) {
        const float q = static_cast<float>(kIQ4NLValues[best_index_iq4nl(id * xb[j])]);
        sumqx += weight[j] * q * xb[j];
        sumq2 += weight[j] * q * q;
    }
    d = sumq2 > 0.0f ? sumqx / sumq2 : 0.0f;
    float best = d * sumqx;
    for (int itry = -kNTry; itry <= kNTry; ++itry) {
        id = static_cast<float>(itry + kIQ4NLValues[0]) / max;
        sumqx = sumq2 = 0.0f;
        for (int j = 0; j < 32; ++j) {
            const float q = static_cast<float>(kIQ4NLValues[best_index_iq4nl(id * xb[j])]);
            sumqx += weight[j] * q * xb[j];
            sumq2 += weight[j] * q * q;
        }
        if (sumq2 > 0.0f && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

// Packs the 32 codes of a block: byte j = code j | code j+16 << 4.
inline void pack_nibbles(const uint8_t* L, uint8_t* qs) {
    for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(L[j] | L[j + 16] << 4);
}

}  // namespace

void quantize_row_iq4_nl(const float* x, block_iq4_nl* y, int64_t n) {
    const int64_t nb = n / QK4_NL;
    for (int64_t i = 0; i < nb; ++i, x += QK4_NL) {
        const float d = iq4_block_scale(x);
        y[i].d = fp32_to_fp16(d);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint8_t L[32];
        for (int j = 0; j < 32; ++j) L[j] = static_cast<uint8_t>(best_index_iq4nl(id * x[j]));
        pack_nibbles(L, y[i].qs);
    }
}

void quantize_row_iq4_xs(const float* x, block_iq4_xs* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t i = 0; i < nb; ++i, x += QK_K) {
        block_iq4_xs& b = y[i];
        float scales[8];
        float max_scale = 0.0f, amax_scale = 0.0f;  // block scale of largest magnitude, with its sign
        for (int s = 0; s < 8; ++s) {
            scales[s] = iq4_block_scale(x + 32 * s);
            const float a = std::fabs(scales[s]);
            if (a > amax_scale) {
                amax_scale = a;
                max_scale = scales[s];
            }
        }
        // Note: an all-zero super-block gives d = -0.0f, stored as fp16 0x8000, exactly as ggml does.
        const float d = -max_scale / 32.0f;
        b.d = fp32_to_fp16(d);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b.scales_h = 0;
        std::memset(b.scales_l, 0, sizeof b.scales_l);
        for (int s = 0; s < 8; ++s) {
            int l = nearest_int(id * scales[s]);
            l = l < -32 ? -32 : (l > 31 ? 31 : l);
            const float dl = d * static_cast<float>(l);  // the unrounded float d, as ggml
            const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
            uint8_t L[32];
            for (int j = 0; j < 32; ++j) L[j] = static_cast<uint8_t>(best_index_iq4nl(idl * x[32 * s + j]));
            pack_nibbles(L, b.qs + 16 * s);
            l += 32;
            b.scales_l[s / 2] = static_cast<uint8_t>(b.scales_l[s / 2] | (l & 0xF) << (4 * (s % 2)));
            b.scales_h = static_cast<uint16_t>(b.scales_h | (l >> 4) << (2 * s));
        }
    }
}

// ---- dot products ----------------------------------------------------------------------------------------

float vec_dot_iq4_nl_q8_0(int64_t n, const block_iq4_nl* w, const block_q8_0* a) {
    const int64_t nb = n / QK4_NL;
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(a[i].d) * fp16_to_fp32(w[i].d);
        int sumi1 = 0, sumi2 = 0;
        for (int j = 0; j < 16; ++j) {
            sumi1 += a[i].qs[j] * kIQ4NLValues[w[i].qs[j] & 0xF];
            sumi2 += a[i].qs[j + 16] * kIQ4NLValues[w[i].qs[j] >> 4];
        }
        sumf += d * static_cast<float>(sumi1 + sumi2);
    }
    return sumf;
}

float vec_dot_iq4_xs_q8_K(int64_t n, const block_iq4_xs* w, const block_q8_K* a) {
    const int64_t nb = n / QK_K;
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
        const float d4d8 = fp16_to_fp32(w[i].d) * a[i].d;
        for (int s = 0; s < 8; ++s) {
            const float dl = d4d8 * static_cast<float>(iq4_xs_scale(w[i], s) - 32);
            const uint8_t* qs = w[i].qs + 16 * s;
            const int8_t* q8 = a[i].qs + 32 * s;
            int sumi1 = 0, sumi2 = 0;
            for (int j = 0; j < 16; ++j) {
                sumi1 += q8[j] * kIQ4NLValues[qs[j] & 0xF];
                sumi2 += q8[j + 16] * kIQ4NLValues[qs[j] >> 4];
            }
            sumf += dl * static_cast<float>(sumi1 + sumi2);
        }
    }
    return sumf;
}

}  // namespace r1::cpu
