// The 32-value block formats: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and the activation format Q8_1.
//
// Layouts are in blocks.h. In every block, value j (0..15) sits in the low nibble of qs[j] and value j + 16
// in the high nibble; Q5_* keep the fifth bit of value j in bit j of the little-endian uint32 qh.
// The float expressions below are written in ggml's order (left to right, no fused multiply-add), which is
// what makes the results bit-identical.
#include "quants_internal.h"  // first: sets the floating-point contraction mode

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "quants.h"
namespace r1::cpu {

using detail::load_u32_le;
using detail::store_u32_le;
using detail::trunc_to_int;

// ---- decode ----------------------------------------------------------------------------------------------

void dequantize_row_q4_0(const block_q4_0* x, float* y, int64_t n) {
    const int64_t nb = n / QK4_0;
    for (int64_t i = 0; i < nb; ++i, y += QK4_0) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < 16; ++j) {
            const int q0 = (x[i].qs[j] & 0x0F) - 8;
            const int q1 = (x[i].qs[j] >> 4) - 8;
            y[j] = static_cast<float>(q0) * d;
            y[j + 16] = static_cast<float>(q1) * d;
        }
    }
}

void dequantize_row_q4_1(const block_q4_1* x, float* y, int64_t n) {
    const int64_t nb = n / QK4_1;
    for (int64_t i = 0; i < nb; ++i, y += QK4_1) {
        const float d = fp16_to_fp32(x[i].d);
        const float m = fp16_to_fp32(x[i].m);
        for (int j = 0; j < 16; ++j) {
            const int q0 = x[i].qs[j] & 0x0F;
            const int q1 = x[i].qs[j] >> 4;
            y[j] = static_cast<float>(q0) * d + m;
            y[j + 16] = static_cast<float>(q1) * d + m;
        }
    }
}

void dequantize_row_q5_0(const block_q5_0* x, float* y, int64_t n) {
    const int64_t nb = n / QK5_0;
    for (int64_t i = 0; i < nb; ++i, y += QK5_0) {
        const float d = fp16_to_fp32(x[i].d);
        const uint32_t qh = load_u32_le(x[i].qh);
        for (int j = 0; j < 16; ++j) {
            const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
            const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
            const int q0 = ((x[i].qs[j] & 0x0F) | h0) - 16;
            const int q1 = ((x[i].qs[j] >> 4) | h1) - 16;
            y[j] = static_cast<float>(q0) * d;
            y[j + 16] = static_cast<float>(q1) * d;
        }
    }
}

void dequantize_row_q5_1(const block_q5_1* x, float* y, int64_t n) {
    const int64_t nb = n / QK5_1;
    for (int64_t i = 0; i < nb; ++i, y += QK5_1) {
        const float d = fp16_to_fp32(x[i].d);
        const float m = fp16_to_fp32(x[i].m);
        const uint32_t qh = load_u32_le(x[i].qh);
        for (int j = 0; j < 16; ++j) {
            const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
            const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
            const int q0 = (x[i].qs[j] & 0x0F) | h0;
            const int q1 = (x[i].qs[j] >> 4) | h1;
            y[j] = static_cast<float>(q0) * d + m;
            y[j + 16] = static_cast<float>(q1) * d + m;
        }
    }
}

void dequantize_row_q8_0(const block_q8_0* x, float* y, int64_t n) {
    const int64_t nb = n / QK8_0;
    for (int64_t i = 0; i < nb; ++i, y += QK8_0) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK8_0; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
    }
}

void dequantize_row_q8_1(const block_q8_1* x, float* y, int64_t n) {
    const int64_t nb = n / QK8_1;
    for (int64_t i = 0; i < nb; ++i, y += QK8_1) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK8_1; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
    }
}

// ---- encode ----------------------------------------------------------------------------------------------
// Symmetric types (Q4_0, Q5_0, Q8_0) take the value of largest magnitude, `max` (with its sign), and pick
// d so that max maps to the most negative code (-8, -16) or to +-127. Asymmetric types (Q4_1, Q5_1) map
// [min, max] onto 0..15 / 0..31; +0.5 then truncation rounds halves up. Codes are computed with the unrounded float 1/d, d is then stored as fp16.

namespace {

// C's (int8_t)v as ggml writes it: truncate toward zero, keep the low 8 bits (what x86 does), as an int.
int trunc_to_int8(float v) { return static_cast<int8_t>(trunc_to_int(v)); }

// The value of largest magnitude (the first one on ties), with its sign; 0 for an all-zero block.
float signed_absmax(const float* x, int count) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < count; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

void min_max(const float* x, int count, float& min, float& max) {
    min = std::numeric_limits<float>::max();  // as ggml starts
    max = -std::numeric_limits<float>::max();
    for (int j = 0; j < count; ++j) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
}

}  // namespace

void quantize_row_q4_0(const float* x, block_q4_0* y, int64_t n) {
    const int64_t nb = n / QK4_0;
    for (int64_t i = 0; i < nb; ++i, x += QK4_0) {
        const float max = signed_absmax(x, QK4_0);
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < 16; ++j) {
            // x*id lies in [-8, 8]; +8.5 then truncation rounds half up; 16 (from x == -max) clamps to 15.
            const int q0 = std::min(15, trunc_to_int8(x[j] * id + 8.5f));
            const int q1 = std::min(15, trunc_to_int8(x[j + 16] * id + 8.5f));
            y[i].qs[j] = static_cast<uint8_t>(q0 | q1 << 4);
        }
    }
}

void quantize_row_q4_1(const float* x, block_q4_1* y, int64_t n) {
    const int64_t nb = n / QK4_1;
    for (int64_t i = 0; i < nb; ++i, x += QK4_1) {
        float min, max;
        min_max(x, QK4_1, min, max);
        const float d = (max - min) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(min);
        for (int j = 0; j < 16; ++j) {
            const int q0 = std::min(15, trunc_to_int8((x[j] - min) * id + 0.5f));
            const int q1 = std::min(15, trunc_to_int8((x[j + 16] - min) * id + 0.5f));
            y[i].qs[j] = static_cast<uint8_t>(q0 | q1 << 4);
        }
    }
}

void quantize_row_q5_0(const float* x, block_q5_0* y, int64_t n) {
    const int64_t nb = n / QK5_0;
    for (int64_t i = 0; i < nb; ++i, x += QK5_0) {
        const float max = signed_absmax(x, QK5_0);
        const float d = max / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; ++j) {
            const int q0 = std::min(31, trunc_to_int8(x[j] * id + 16.5f));
            const int q1 = std::min(31, trunc_to_int8(x[j + 16] * id + 16.5f));
            y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | (q1 & 0x0F) << 4);
            qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
            qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
        }
        store_u32_le(y[i].qh, qh);
    }
}

void quantize_row_q5_1(const float* x, block_q5_1* y, int64_t n) {
    const int64_t nb = n / QK5_1;
    for (int64_t i = 0; i < nb; ++i, x += QK5_1) {
        float min, max;
        min_max(x, QK5_1, min, max);
        const float d = (max - min) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(min);
        uint32_t qh = 0;
        for (int j = 0; j < 16; ++j) {
            // ggml does not clamp here ((x - min) * id <= 31 up to rounding); only the low 5 bits are kept.
            const int q0 = static_cast<uint8_t>(trunc_to_int((x[j] - min) * id + 0.5f));
            const int q1 = static_cast<uint8_t>(trunc_to_int((x[j + 16] - min) * id + 0.5f));
            y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | (q1 & 0x0F) << 4);
            qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
            qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
        }
        store_u32_le(y[i].qh, qh);
    }
}

void quantize_row_q8_0(const float* x, block_q8_0* y, int64_t n) {
    const int64_t nb = n / QK8_0;
    for (int64_t i = 0; i < nb; ++i, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        // roundf: halves away from zero. |x * id| <= 127 up to rounding, which roundf cannot push past 127.
        for (int j = 0; j < QK8_0; ++j) y[i].qs[j] = static_cast<int8_t>(trunc_to_int8(std::round(x[j] * id)));
    }
}

void quantize_row_q8_1(const float* x, block_q8_1* y, int64_t n) {
    const int64_t nb = n / QK8_1;
    for (int64_t i = 0; i < nb; ++i, x += QK8_1) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_1; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < QK8_1; ++j) {
            y[i].qs[j] = static_cast<int8_t>(trunc_to_int8(std::round(x[j] * id)));
            sum += y[i].qs[j];
        }
        y[i].s = fp32_to_fp16(static_cast<float>(sum) * d);  // s = d * sum(q), with the unrounded float d
    }
}

// ---- dot products ----------------------------------------------------------------------------------------
// Per block: an exact integer sum of code products, then float scaling and a float running sum, with the
// scale products grouped as in ggml's generic kernels.

float vec_dot_q4_0_q8_0(int64_t n, const block_q4_0* w, const block_q8_0* a) {
    const int64_t nb = n / QK8_0;
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; ++j) {
            sumi0 += ((w[i].qs[j] & 0x0F) - 8) * a[i].qs[j];
            sumi1 += ((w[i].qs[j] >> 4) - 8) * a[i].qs[j + 16];
        }
        const int sumi = sumi0 + sumi1;
        sumf += static_cast<float>(sumi) * fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d);
    }
    return sumf;
}

float vec_dot_q4_1_q8_1(int64_t n, const block_q4_1* w, const block_q8_1* a) {
    const int64_t nb = n / QK8_1;
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; ++j) {
            sumi0 += (w[i].qs[j] & 0x0F) * a[i].qs[j];
            sumi1 += (w[i].qs[j] >> 4) * a[i].qs[j + 16];
        }
        const int sumi = sumi0 + sumi1;
        // sum_j (d q_j + m) * (da qa_j) = d*da * sum(q qa) + m * (da * sum(qa)) = ... + m * s
        sumf += (fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d)) * static_cast<float>(sumi) +
                fp16_to_fp32(w[i].m) * fp16_to_fp32(a[i].s);
    }
    return sumf;
}

float vec_dot_q5_0_q8_0(int64_t n, const block_q5_0* w, const block_q8_0* a) {
    const int64_t nb = n / QK8_0;
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
        const uint32_t qh = load_u32_le(w[i].qh);
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; ++j) {
            const int q0 = ((w[i].qs[j] & 0x0F) | static_cast<int>((qh >> j) & 1u) << 4) - 16;
            const int q1 = ((w[i].qs[j] >> 4) | static_cast<int>((qh >> (j + 16)) & 1u) << 4) - 16;
            sumi0 += q0 * a[i].qs[j];
            sumi1 += q1 * a[i].qs[j + 16];
        }
        const int sumi = sumi0 + sumi1;
        sumf += (fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d)) * static_cast<float>(sumi);
    }
    return sumf;
}

float vec_dot_q5_1_q8_1(int64_t n, const block_q5_1* w, const block_q8_1* a) {
    const int64_t nb = n / QK8_1;
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
        const uint32_t qh = load_u32_le(w[i].qh);
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < 16; ++j) {
            const int q0 = (w[i].qs[j] & 0x0F) | static_cast<int>((qh >> j) & 1u) << 4;
            const int q1 = (w[i].qs[j] >> 4) | static_cast<int>((qh >> (j + 16)) & 1u) << 4;
            sumi0 += q0 * a[i].qs[j];
            sumi1 += q1 * a[i].qs[j + 16];
        }
        const int sumi = sumi0 + sumi1;
        sumf += (fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d)) * static_cast<float>(sumi) +
                fp16_to_fp32(w[i].m) * fp16_to_fp32(a[i].s);
    }
    return sumf;
}

float vec_dot_q8_0_q8_0(int64_t n, const block_q8_0* w, const block_q8_0* a) {
    const int64_t nb = n / QK8_0;
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
        int sumi = 0;
        for (int j = 0; j < QK8_0; ++j) sumi += w[i].qs[j] * a[i].qs[j];
        sumf += static_cast<float>(sumi) * (fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d));
    }
    return sumf;
}

}  // namespace r1::cpu
