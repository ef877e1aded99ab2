// K-quants, part 2: the weight encoders Q2_K .. Q6_K, as ggml's reference quantizers compute them when no
// importance matrix is given (quantize_row_qN_K_ref, which ggml_quantize_chunk calls for imatrix == NULL).
//
// All of them work in two levels:
//   1. per sub-block (16 or 32 values), search a float scale (and for Q2/Q4/Q5_K a min) that minimises a
//      weighted error of the sub-block's codes: make_qx_quants / make_q3_quants (symmetric codes) or
//      make_qkx2_quants (codes 0..nmax with an offset);
//   2. quantize those float scales (and mins) to 4, 6 or 8 bits against an fp16 super-block scale, and
//      recompute every value's code with the scale as it will be decoded.
// Every float expression keeps ggml's association order; changing one (or letting the compiler fuse a
// multiply-add) changes which candidate wins a search and so the bytes of some blocks.
#include "quants_internal.h"  // first: sets the floating-point contraction mode

#include <algorithm>
#include <cmath>
#include <cstring>

#include "quants.h"
namespace r1::cpu {

using detail::get_scale_min_k4;
using detail::kGroupMaxEps;
using detail::nearest_int;

namespace {

inline int clamp_int(int v, int lo, int hi) { return std::max(lo, std::min(hi, v)); }

// ---- sub-block scale searches ----------------------------------------------------------------------------

// Symmetric codes l in -nmax .. nmax-1 (stored as l + nmax in L), weights w = x^2 (ggml's rmse_type 1).
// Start from the scale that maps the value of largest magnitude to -nmax, then try the 18 neighbouring
// inverse scales -(nmax + 0.1*is)/max, is = -9..9, keeping the codes whose least-squares scale
// sum(w x l) / sum(w l^2) gives the largest sum(w x l)^2 / sum(w l^2), i.e. the smallest weighted error.
// Returns that scale (x ~ scale * l).
float make_qx_quants(int n, int nmax, const float* x, int8_t* L) {
    float max = 0.0f, amax = 0.0f;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < kGroupMaxEps) {  // all zero
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.0f;
    }
    float iscale = static_cast<float>(-nmax) / max;
    float sumlx = 0.0f, suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
        const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = static_cast<int8_t>(l + nmax);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * static_cast<float>(l);
        suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
        sumlx = suml2 = 0.0f;
        for (int i = 0; i < n; ++i) {
            const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            const float w = x[i] * x[i];
            sumlx += w * x[i] * static_cast<float>(l);
            suml2 += w * static_cast<float>(l) * static_cast<float>(l);
        }
        if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) {
                L[i] = static_cast<int8_t>(nmax + clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// Q3_K's sub-block search: symmetric codes l in -nmax .. nmax-1, weights x^2. Start from the max-magnitude
// scale, then up to 5 sweeps of coordinate descent: for each value, the code that is best for the
// least-squares scale of all the *other* values, kept if it improves sum(w x l)^2 / sum(w l^2).
// L receives l + nmax; returns the least-squares scale.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L) {
    float max = 0.0f, amax = 0.0f;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < kGroupMaxEps) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.0f;
    }
    const float iscale = static_cast<float>(-nmax) / max;
    float sumlx = 0.0f, suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
        const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = static_cast<int8_t>(l);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * static_cast<float>(l);
        suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = x[i] * x[i];
            const float li = static_cast<float>(L[i]);
            float slx = sumlx - w * x[i] * li;  // the sums without value i
            if (slx > 0.0f) {
                float sl2 = suml2 - w * li * li;
                const int new_l = clamp_int(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
                if (new_l != L[i]) {
                    slx += w * x[i] * static_cast<float>(new_l);
                    sl2 += w * static_cast<float>(new_l) * static_cast<float>(new_l);
                    if (sl2 > 0.0f && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = static_cast<int8_t>(new_l);
                        sumlx = slx;
                        suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (n_changed == 0) break;
    }
    for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Codes l in 0..nmax with x ~ scale * l - the_min (the_min >= 0: the offset only ever lowers values).
// Start from the range [min(x, 0), max(x)], then try nstep+1 inverse scales (rmin + rdelta*is + nmax) /
// (max - min); for each candidate's codes, solve the weighted least-squares fit for scale and offset
// (clamping the offset at 0), and keep it if its weighted error (|diff| if use_mad, else diff^2) is lower.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        const float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0.0f) min = 0.0f;
    if (max == min) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        *the_min = -min;
        return 0.0f;
    }
    float iscale = static_cast<float>(nmax) / (max - min);
    float scale = 1.0f / iscale;
    float best_error = 0.0f;
    for (int i = 0; i < n; ++i) {
        L[i] = static_cast<uint8_t>(clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax));
        float diff = scale * static_cast<float>(L[i]) + min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        best_error += weights[i] * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
        float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
        for (int i = 0; i < n; ++i) {
            const int l = clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = static_cast<uint8_t>(l);
            const float w = weights[i];
            const float fl = static_cast<float>(l);
            sum_l += w * fl;
            sum_l2 += w * fl * fl;
            sum_xl += w * fl * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0.0f) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0.0f) {
                this_min = 0.0f;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0.0f;
            for (int i = 0; i < n; ++i) {
                float diff = this_scale * static_cast<float>(Laux[i]) + this_min - x[i];
                diff = use_mad ? std::fabs(diff) : diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                std::memcpy(L, Laux, static_cast<size_t>(n));
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

// Packs 256 2-bit codes the Q2_K / Q3_K way: byte 32*h + l holds values 128h + l + 32k at bits 2k.
void pack_2bit(const uint8_t* L, uint8_t* qs) {
    for (int h = 0; h < 2; ++h) {
        const uint8_t* Lh = L + 128 * h;
        for (int l = 0; l < 32; ++l) {
            qs[32 * h + l] = static_cast<uint8_t>(Lh[l] | Lh[l + 32] << 2 | Lh[l + 64] << 4 | Lh[l + 96] << 6);
        }
    }
}

// Packs 8 six-bit scales and mins into Q4_K / Q5_K's 12 bytes (the inverse of get_scale_min_k4).
void pack_scale_min_k4(const uint8_t ls[8], const uint8_t lm[8], uint8_t* scales) {
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            scales[j] = ls[j];
            scales[j + 4] = lm[j];
        } else {
            scales[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | (lm[j] & 0xF) << 4);
            scales[j - 4] = static_cast<uint8_t>(scales[j - 4] | (ls[j] >> 4) << 6);
            scales[j] = static_cast<uint8_t>(scales[j] | (lm[j] >> 4) << 6);
        }
    }
}

// Q4_K and Q5_K share everything but nmax (15 / 31) and the search grid. Fills d, dmin, scales and the
// final codes L[256] (0..nmax); the caller packs L.
void quantize_k4_superblock(const float* x, int nmax, float rmin, int nstep, uint16_t& d_out,
                            uint16_t& dmin_out, uint8_t* packed_scales, uint8_t* L) {
    float scales[8], mins[8];
    float weights[32];
    uint8_t Laux[32];
    float max_scale = 0.0f, max_min = 0.0f;  // scales and mins are >= 0 here
    for (int j = 0; j < 8; ++j) {
        const float* xs = x + 32 * j;
        // Weights: |x| plus the sub-block's RMS, so small values still count.
        float sum_x2 = 0.0f;
        for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
        const float av_x = std::sqrt(sum_x2 / 32.0f);
        for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
        scales[j] = make_qkx2_quants(32, nmax, xs, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
        max_scale = std::max(max_scale, scales[j]);
        max_min = std::max(max_min, mins[j]);
    }
    // 6-bit sub-block scales/mins relative to the super-block scales max/63.
    const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; ++j) {
        ls[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
        lm[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
    }
    pack_scale_min_k4(ls, lm, packed_scales);
    d_out = fp32_to_fp16(max_scale / 63.0f);
    dmin_out = fp32_to_fp16(max_min / 63.0f);
    // Re-derive the codes against the scales as decoded. A sub-block whose scale quantized to 0 keeps the
    // codes of its search (they decode to -dmin*m regardless).
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        get_scale_min_k4(j, packed_scales, sc, m);
        const float d = fp16_to_fp32(d_out) * static_cast<float>(sc);
        if (d == 0.0f) continue;
        const float dm = fp16_to_fp32(dmin_out) * static_cast<float>(m);
        for (int l = 0; l < 32; ++l) {
            L[32 * j + l] = static_cast<uint8_t>(clamp_int(nearest_int((x[32 * j + l] + dm) / d), 0, nmax));
        }
    }
}

}  // namespace

// ---- Q2_K ------------------------------------------------------------------------------------------------

void quantize_row_q2_K(const float* x, block_q2_K* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t ib = 0; ib < nb; ++ib, x += QK_K) {
        block_q2_K& b = y[ib];
        uint8_t L[QK_K];
        uint8_t Laux[16];
        float weights[16];
        float scales[16], mins[16];
        float max_scale = 0.0f, max_min = 0.0f;
        for (int j = 0; j < 16; ++j) {
            for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
            scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
            max_scale = std::max(max_scale, scales[j]);
            max_min = std::max(max_min, mins[j]);
        }
        // 4-bit sub-block scales (low nibble) and mins (high nibble) against max/15.
        const float q4scale = 15.0f;
        if (max_scale > 0.0f) {
            const float iscale = q4scale / max_scale;
            for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
            b.d = fp32_to_fp16(max_scale / q4scale);
        } else {
            for (int j = 0; j < 16; ++j) b.scales[j] = 0;
            b.d = fp32_to_fp16(0.0f);
        }
        if (max_min > 0.0f) {
            const float iscale = q4scale / max_min;
            for (int j = 0; j < 16; ++j) {
                b.scales[j] = static_cast<uint8_t>(b.scales[j] | nearest_int(iscale * mins[j]) << 4);
            }
            b.dmin = fp32_to_fp16(max_min / q4scale);
        } else {
            b.dmin = fp32_to_fp16(0.0f);
        }
        for (int j = 0; j < 16; ++j) {
            const float d = fp16_to_fp32(b.d) * static_cast<float>(b.scales[j] & 0xF);
            if (d == 0.0f) continue;
            const float dm = fp16_to_fp32(b.dmin) * static_cast<float>(b.scales[j] >> 4);
            for (int l = 0; l < 16; ++l) {
                L[16 * j + l] = static_cast<uint8_t>(clamp_int(nearest_int((x[16 * j + l] + dm) / d), 0, 3));
            }
        }
        pack_2bit(L, b.qs);
    }
}

// ---- Q3_K ------------------------------------------------------------------------------------------------

void quantize_row_q3_K(const float* x, block_q3_K* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t ib = 0; ib < nb; ++ib, x += QK_K) {
        block_q3_K& b = y[ib];
        int8_t L[QK_K];
        float scales[16];
        float max_scale = 0.0f, amax = 0.0f;  // the sub-block scale of largest magnitude, with its sign
        for (int j = 0; j < 16; ++j) {
            scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
            const float a = std::fabs(scales[j]);
            if (a > amax) {
                amax = a;
                max_scale = scales[j];
            }
        }
        // 6-bit signed sub-block scales (stored + 32) against d = max_scale / -32.
        std::memset(b.scales, 0, sizeof b.scales);
        if (max_scale != 0.0f) {
            const float iscale = -32.0f / max_scale;
            for (int j = 0; j < 16; ++j) {
                int l = static_cast<int8_t>(nearest_int(iscale * scales[j]));  // ggml stores it in an int8
                l = clamp_int(l, -32, 31) + 32;
                if (j < 8) {
                    b.scales[j] = static_cast<uint8_t>(l & 0xF);
                } else {
                    b.scales[j - 8] = static_cast<uint8_t>(b.scales[j - 8] | (l & 0xF) << 4);
                }
                b.scales[8 + j % 4] = static_cast<uint8_t>(b.scales[8 + j % 4] | (l >> 4) << (2 * (j / 4)));
            }
            b.d = fp32_to_fp16(1.0f / iscale);
        } else {
            b.d = fp32_to_fp16(0.0f);
        }
        // Codes against the decoded scales; sub-blocks whose scale is 0 keep their search codes.
        int8_t sc[16];
        detail::unpack_q3_K_scales(b.scales, sc);
        for (int j = 0; j < 16; ++j) {
            const float d = fp16_to_fp32(b.d) * static_cast<float>(sc[j] - 32);
            if (d == 0.0f) continue;
            for (int l = 0; l < 16; ++l) {
                L[16 * j + l] = static_cast<int8_t>(clamp_int(nearest_int(x[16 * j + l] / d), -4, 3) + 4);
            }
        }
        // Bit 2 of value i goes to bit i/32 of hmask[i%32]; the low two bits are packed as in Q2_K.
        std::memset(b.hmask, 0, sizeof b.hmask);
        uint8_t low[QK_K];
        for (int i = 0; i < QK_K; ++i) {
            if (L[i] > 3) b.hmask[i % 32] = static_cast<uint8_t>(b.hmask[i % 32] | 1 << (i / 32));
            low[i] = static_cast<uint8_t>(L[i] > 3 ? L[i] - 4 : L[i]);
        }
        pack_2bit(low, b.qs);
    }
}

// ---- Q4_K, Q5_K ------------------------------------------------------------------------------------------

void quantize_row_q4_K(const float* x, block_q4_K* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t ib = 0; ib < nb; ++ib, x += QK_K) {
        block_q4_K& b = y[ib];
        uint8_t L[QK_K];
        quantize_k4_superblock(x, 15, -1.0f, 20, b.d, b.dmin, b.scales, L);
        for (int c = 0; c < 4; ++c) {  // chunk c of 64 values: low nibbles 64c.., high nibbles 64c+32..
            for (int l = 0; l < 32; ++l) {
                b.qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | L[64 * c + 32 + l] << 4);
            }
        }
    }
}

void quantize_row_q5_K(const float* x, block_q5_K* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t ib = 0; ib < nb; ++ib, x += QK_K) {
        block_q5_K& b = y[ib];
        uint8_t L[QK_K];
        quantize_k4_superblock(x, 31, -0.5f, 15, b.d, b.dmin, b.scales, L);
        std::memset(b.qh, 0, sizeof b.qh);
        for (int c = 0; c < 4; ++c) {
            for (int l = 0; l < 32; ++l) {
                int l1 = L[64 * c + l], l2 = L[64 * c + 32 + l];
                if (l1 > 15) {
                    l1 -= 16;
                    b.qh[l] = static_cast<uint8_t>(b.qh[l] | 1 << (2 * c));
                }
                if (l2 > 15) {
                    l2 -= 16;
                    b.qh[l] = static_cast<uint8_t>(b.qh[l] | 2 << (2 * c));
                }
                b.qs[32 * c + l] = static_cast<uint8_t>(l1 | l2 << 4);
            }
        }
    }
}

// ---- Q6_K ------------------------------------------------------------------------------------------------

void quantize_row_q6_K(const float* x, block_q6_K* y, int64_t n) {
    const int64_t nb = n / QK_K;
    for (int64_t ib = 0; ib < nb; ++ib, x += QK_K) {
        block_q6_K& b = y[ib];
        int8_t L[QK_K];
        float scales[16];
        float max_scale = 0.0f, max_abs_scale = 0.0f;
        for (int j = 0; j < 16; ++j) {
            scales[j] = make_qx_quants(16, 32, x + 16 * j, L + 16 * j);
            const float a = std::fabs(scales[j]);
            if (a > max_abs_scale) {
                max_abs_scale = a;
                max_scale = scales[j];
            }
        }
        if (max_abs_scale < kGroupMaxEps) {
            std::memset(&b, 0, sizeof b);
            continue;
        }
        // int8 sub-block scales against d = max_scale / -128.
        const float iscale = -128.0f / max_scale;
        b.d = fp32_to_fp16(1.0f / iscale);
        for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[j])));
        for (int j = 0; j < 16; ++j) {
            const float d = fp16_to_fp32(b.d) * static_cast<float>(b.scales[j]);
            if (d == 0.0f) continue;
            for (int l = 0; l < 16; ++l) {
                L[16 * j + l] = static_cast<int8_t>(clamp_int(nearest_int(x[16 * j + l] / d), -32, 31) + 32);
            }
        }
        // Two halves of 128 values; see blocks.h for where each value's low 4 and high 2 bits go.
        for (int h = 0; h < 2; ++h) {
            const int8_t* Lh = L + 128 * h;
            uint8_t* ql = b.ql + 64 * h;
            uint8_t* qh = b.qh + 32 * h;
            for (int l = 0; l < 32; ++l) {
                const int q1 = Lh[l], q2 = Lh[l + 32], q3 = Lh[l + 64], q4 = Lh[l + 96];
                ql[l] = static_cast<uint8_t>((q1 & 0xF) | (q3 & 0xF) << 4);
                ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | (q4 & 0xF) << 4);
                qh[l] = static_cast<uint8_t>(q1 >> 4 | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
    }
}

}  // namespace r1::cpu
