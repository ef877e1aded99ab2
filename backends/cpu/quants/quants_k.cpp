// K-quants, part 1: decoding (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K), the Q8_K activation encoder, and the
// dot products against Q8_K. The weight encoders with their scale searches are in quants_k_quantize.cpp.
//
// A super-block holds 256 values (layouts in blocks.h). Value i of a super-block belongs to sub-block
// i / 16 (Q2_K, Q3_K, Q6_K) or i / 32 (Q4_K, Q5_K), whose small integer scale multiplies the fp16 super-block
// scale. Decoding computes, per sub-block, dl = d * scale (and ml = dmin * min) in float, then each value as
// dl * q (- ml): that is ggml's operation order and keeps the result bit-identical.
#include "quants_internal.h"  // first: sets the floating-point contraction mode

#include <cmath>
#include <cstring>

#include "quants.h"
namespace r1::cpu {

using detail::get_scale_min_k4;
using detail::nearest_int;
using detail::unpack_q3_K_scales;

// ---- where the bits of value i live ----------------------------------------------------------------------

namespace {

// The 2-bit field of value i (0..255) in Q2_K/Q3_K's qs: byte 32*(i/128) + i%32, bits 2*((i%128)/32).
inline int low2_bits(const uint8_t* qs, int i) {
    return (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
}

// The 4-bit field of value i in Q4_K/Q5_K's qs: chunks of 64, low nibbles first, then high nibbles.
inline int low4_bits_k4(const uint8_t* qs, int i) {
    const uint8_t byte = qs[32 * (i / 64) + i % 32];
    return (i % 64) < 32 ? (byte & 0xF) : (byte >> 4);
}

// Bit (i / 32) of mask[i % 32]: the extra high bit of value i in Q3_K's hmask and Q5_K's qh.
inline int high_bit(const uint8_t* mask, int i) { return (mask[i % 32] >> (i / 32)) & 1; }

// The 6-bit code of value i (0..255) of a Q6_K block, 0..63 (see blocks.h).
inline int q6_K_code(const block_q6_K& b, int i) {
    const int half = i / 128, r = i % 128, quarter = r / 32, l = r % 32;
    const uint8_t* ql = b.ql + 64 * half;
    const uint8_t* qh = b.qh + 32 * half;
    const int low = quarter & 1 ? ql[l + 32] : ql[l];
    const int low4 = quarter < 2 ? (low & 0xF) : (low >> 4);
    const int high2 = (qh[l] >> (2 * quarter)) & 3;
    return low4 | high2 << 4;
}

}  // namespace

// ---- decode ----------------------------------------------------------------------------------------------

void dequantize_row_q2_K(const block_q2_K* x, float* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t ib = 0; ib < nb; ++ib, y += QK_K) {
        const block_q2_K& b = x[ib];
        const float d = fp16_to_fp32(b.d);
        const float dmin = fp16_to_fp32(b.dmin);
        for (int s = 0; s < 16; ++s) {  // sub-block s: values 16s .. 16s+15
            const float dl = d * static_cast<float>(b.scales[s] & 0xF);
            const float ml = dmin * static_cast<float>(b.scales[s] >> 4);
            for (int i = 16 * s; i < 16 * s + 16; ++i) {
                y[i] = dl * static_cast<float>(low2_bits(b.qs, i)) - ml;
            }
        }
    }
}

void dequantize_row_q3_K(const block_q3_K* x, float* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t ib = 0; ib < nb; ++ib, y += QK_K) {
        const block_q3_K& b = x[ib];
        const float d_all = fp16_to_fp32(b.d);
        int8_t scales[16];
        unpack_q3_K_scales(b.scales, scales);
        for (int s = 0; s < 16; ++s) {
            const float dl = d_all * static_cast<float>(scales[s] - 32);
            for (int i = 16 * s; i < 16 * s + 16; ++i) {
                const int q = low2_bits(b.qs, i) - (high_bit(b.hmask, i) ? 0 : 4);  // -4 .. 3
                y[i] = dl * static_cast<float>(q);
            }
        }
    }
}

void dequantize_row_q4_K(const block_q4_K* x, float* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t ib = 0; ib < nb; ++ib, y += QK_K) {
        const block_q4_K& b = x[ib];
        const float d = fp16_to_fp32(b.d);
        const float dmin = fp16_to_fp32(b.dmin);
        for (int s = 0; s < 8; ++s) {  // sub-block s: values 32s .. 32s+31
            uint8_t sc, m;
            get_scale_min_k4(s, b.scales, sc, m);
            const float dl = d * static_cast<float>(sc);
            const float ml = dmin * static_cast<float>(m);
            for (int i = 32 * s; i < 32 * s + 32; ++i) {
                y[i] = dl * static_cast<float>(low4_bits_k4(b.qs, i)) - ml;
            }
        }
    }
}

void dequantize_row_q5_K(const block_q5_K* x, float* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t ib = 0; ib < nb; ++ib, y += QK_K) {
        const block_q5_K& b = x[ib];
        const float d = fp16_to_fp32(b.d);
        const float dmin = fp16_to_fp32(b.dmin);
        for (int s = 0; s < 8; ++s) {
            uint8_t sc, m;
            get_scale_min_k4(s, b.scales, sc, m);
            const float dl = d * static_cast<float>(sc);
            const float ml = dmin * static_cast<float>(m);
            for (int i = 32 * s; i < 32 * s + 32; ++i) {
                const int q = low4_bits_k4(b.qs, i) + (high_bit(b.qh, i) ? 16 : 0);  // 0 .. 31
                y[i] = dl * static_cast<float>(q) - ml;
            }
        }
    }
}

void dequantize_row_q6_K(const block_q6_K* x, float* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t ib = 0; ib < nb; ++ib, y += QK_K) {
        const block_q6_K& b = x[ib];
        const float d = fp16_to_fp32(b.d);
        for (int i = 0; i < QK_K; ++i) {
            // ggml: d * sc * q, evaluated left to right: (d * sc) first, then times q.
            const float dl = d * static_cast<float>(b.scales[i / 16]);
            y[i] = dl * static_cast<float>(q6_K_code(b, i) - 32);
        }
    }
}

void dequantize_row_q8_K(const block_q8_K* x, float* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t ib = 0; ib < nb; ++ib, y += QK_K) {
        for (int i = 0; i < QK_K; ++i) y[i] = x[ib].d * static_cast<float>(x[ib].qs[i]);
    }
}

// ---- Q8_K: the activation format of the K-quants ---------------------------------------------------------

void quantize_row_q8_K(const float* x, block_q8_K* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t ib = 0; ib < nb; ++ib, x += QK_K) {
        float max = 0.0f, amax = 0.0f;  // value of largest magnitude, with its sign
        for (int i = 0; i < QK_K; ++i) {
            const float ax = std::fabs(x[i]);
            if (ax > amax) {
                amax = ax;
                max = x[i];
            }
        }
        if (amax == 0.0f) {
            // ggml leaves bsums unwritten here; we zero them (they are only ever multiplied by d = 0).
            std::memset(&y[ib], 0, sizeof(block_q8_K));
            continue;
        }
        // -127 (not -128) so that every code is in -127..127; the largest-magnitude value maps to -127.
        const float iscale = -127.0f / max;
        for (int i = 0; i < QK_K; ++i) {
            const int v = nearest_int(iscale * x[i]);
            y[ib].qs[i] = static_cast<int8_t>(v < 127 ? v : 127);
        }
        for (int s = 0; s < 16; ++s) {
            int sum = 0;
            for (int i = 16 * s; i < 16 * s + 16; ++i) sum += y[ib].qs[i];
            y[ib].bsums[s] = static_cast<int16_t>(sum);
        }
        y[ib].d = 1.0f / iscale;
    }
}

// ---- dot products against Q8_K ---------------------------------------------------------------------------
//
// With w = dw * sc * q - dminw * m and a = da * qa, one super-block contributes
//     dw*da * sum_s sc_s * sum_{i in s} q_i qa_i  -  dminw*da * sum_s m_s * sum_{i in s} qa_i
// where the last inner sums are Q8_K's bsums. The integer sums are exact; the float steps follow ggml's
// generic kernels. For Q3_K..Q6_K those keep 8 float partial sums ("lanes"): lane l accumulates, over the
// super-blocks, d * (integer sum of the terms at positions i with i % 8 == l), and the lanes are added to
// the running min-correction at the very end.

namespace {

// sums[l] += d * lane[l], where lane[l] = sum over positions i = l (mod 8) of scale(i) * q[i] * qa[i].
inline void accumulate_lanes(float sums[8], float d, const int32_t lane[8]) {
    for (int l = 0; l < 8; ++l) sums[l] += d * static_cast<float>(lane[l]);
}

inline float finish_lanes(float sumf, const float sums[8]) {
    for (int l = 0; l < 8; ++l) sumf += sums[l];
    return sumf;
}

}  // namespace

float vec_dot_q2_K_q8_K(int64_t n, const block_q2_K* w, const block_q8_K* a) {
    const int64_t nb = n / QK_K;
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const block_q2_K& b = w[ib];
        int summs = 0;  // sum_s m_s * bsum_s
        for (int s = 0; s < 16; ++s) summs += a[ib].bsums[s] * (b.scales[s] >> 4);
        const float dall = a[ib].d * fp16_to_fp32(b.d);
        const float dmin = a[ib].d * fp16_to_fp32(b.dmin);
        int isum = 0;  // sum_s sc_s * sum_{i in s} q_i qa_i
        for (int s = 0; s < 16; ++s) {
            int isuml = 0;
            for (int i = 16 * s; i < 16 * s + 16; ++i) isuml += a[ib].qs[i] * low2_bits(b.qs, i);
            isum += (b.scales[s] & 0xF) * isuml;
        }
        sumf += dall * static_cast<float>(isum) - dmin * static_cast<float>(summs);
    }
    return sumf;
}

float vec_dot_q3_K_q8_K(int64_t n, const block_q3_K* w, const block_q8_K* a) {
    const int64_t nb = n / QK_K;
    float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t ib = 0; ib < nb; ++ib) {
        const block_q3_K& b = w[ib];
        int8_t scales[16];
        unpack_q3_K_scales(b.scales, scales);
        int32_t lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int i = 0; i < QK_K; ++i) {
            const int q = low2_bits(b.qs, i) - (high_bit(b.hmask, i) ? 0 : 4);
            lane[i % 8] += (scales[i / 16] - 32) * (a[ib].qs[i] * q);
        }
        accumulate_lanes(sums, fp16_to_fp32(b.d) * a[ib].d, lane);
    }
    return finish_lanes(0.0f, sums);
}

float vec_dot_q4_K_q8_K(int64_t n, const block_q4_K* w, const block_q8_K* a) {
    const int64_t nb = n / QK_K;
    float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const block_q4_K& b = w[ib];
        uint8_t sc[8], m[8];
        for (int s = 0; s < 8; ++s) get_scale_min_k4(s, b.scales, sc[s], m[s]);
        int sumi = 0;  // min term: each 32-value sub-block spans two 16-value bsums
        for (int j = 0; j < 16; ++j) sumi += a[ib].bsums[j] * m[j / 2];
        int32_t lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int i = 0; i < QK_K; ++i) lane[i % 8] += sc[i / 32] * (a[ib].qs[i] * low4_bits_k4(b.qs, i));
        accumulate_lanes(sums, fp16_to_fp32(b.d) * a[ib].d, lane);
        const float dmin = fp16_to_fp32(b.dmin) * a[ib].d;
        sumf -= dmin * static_cast<float>(sumi);
    }
    return finish_lanes(sumf, sums);
}

float vec_dot_q5_K_q8_K(int64_t n, const block_q5_K* w, const block_q8_K* a) {
    const int64_t nb = n / QK_K;
    float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const block_q5_K& b = w[ib];
        uint8_t sc[8], m[8];
        for (int s = 0; s < 8; ++s) get_scale_min_k4(s, b.scales, sc[s], m[s]);
        int sumi = 0;
        for (int j = 0; j < 16; ++j) sumi += a[ib].bsums[j] * m[j / 2];
        int32_t lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int i = 0; i < QK_K; ++i) {
            const int q = low4_bits_k4(b.qs, i) + (high_bit(b.qh, i) ? 16 : 0);
            lane[i % 8] += sc[i / 32] * (a[ib].qs[i] * q);
        }
        accumulate_lanes(sums, fp16_to_fp32(b.d) * a[ib].d, lane);
        const float dmin = fp16_to_fp32(b.dmin) * a[ib].d;
        sumf -= dmin * static_cast<float>(sumi);
    }
    return finish_lanes(sumf, sums);
}

float vec_dot_q6_K_q8_K(int64_t n, const block_q6_K* w, const block_q8_K* a) {
    const int64_t nb = n / QK_K;
    float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t ib = 0; ib < nb; ++ib) {
        const block_q6_K& b = w[ib];
        int32_t lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int i = 0; i < QK_K; ++i) {
            lane[i % 8] += b.scales[i / 16] * (a[ib].qs[i] * (q6_K_code(b, i) - 32));
        }
        accumulate_lanes(sums, fp16_to_fp32(b.d) * a[ib].d, lane);
    }
    return finish_lanes(0.0f, sums);
}

}  // namespace r1::cpu
