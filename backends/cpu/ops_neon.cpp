// The NEON versions of the non-matmul operations (ops.h): rms_norm, add, silu_mul, softmax and attention over an
// F32, F16, BF16 or Q8_0 KV cache. rope stays scalar (its cost is the angles, computed once per row and shared by
// the heads). Only base Advanced SIMD is used (mandatory on AArch64), so no target attribute is needed.
//
// Precision against the scalar ops: rms_norm and softmax sum in double like them (only the order differs); exp is
// a degree-7 polynomial after Cody-Waite range reduction (about 1 ulp); attention is an online softmax over tiles
// of keys (float accumulators, each tile summed separately then added, the normalizer in double).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ops.h"
#include "quants/blocks.h"

#if defined(__aarch64__)

#include <arm_neon.h>

#define R1_NEONOP_INLINE inline __attribute__((always_inline))

namespace r1::cpu {
namespace neon_ops {
namespace {

R1_NEONOP_INLINE const float* ops_row(const uint8_t* base, size_t stride, int64_t r) {
    return reinterpret_cast<const float*>(base + size_t(r) * stride);
}
R1_NEONOP_INLINE float* ops_row(uint8_t* base, size_t stride, int64_t r) {
    return reinterpret_cast<float*>(base + size_t(r) * stride);
}

// e^x for 4 lanes. x = n ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact n * ln2), e^r by the Cephes expf
// polynomial (1 + r + r^2 p(r), relative error about 1 ulp), then times 2^n as 2^(n/2) * 2^(n - n/2) so that
// results down to the subnormals and up to overflow (inf) come out right. NaN stays NaN.
R1_NEONOP_INLINE float32x4_t ops_exp(float32x4_t x) {
    x = vmaxq_f32(vminq_f32(x, vdupq_n_f32(89.0f)), vdupq_n_f32(-104.0f));
    const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    p = vaddq_f32(vfmaq_f32(r, p, vmulq_f32(r, r)), vdupq_n_f32(1.0f));
    const int32x4_t ni = vcvtq_s32_f32(n);  // -150 .. 128
    const int32x4_t n1 = vshrq_n_s32(ni, 1);
    const int32x4_t n2 = vsubq_s32(ni, n1);
    const float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, vdupq_n_s32(127)), 23));
    const float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, vdupq_n_s32(127)), 23));
    return vmulq_f32(vmulq_f32(p, s1), s2);
}

// e^x of one value with the same polynomial (the tails of rows).
R1_NEONOP_INLINE float ops_exp1(float x) { return vgetq_lane_f32(ops_exp(vdupq_n_f32(x)), 0); }

R1_NEONOP_INLINE float64x2_t ops_sum_sq(float64x2_t acc, float32x2_t v) {
    const float64x2_t d = vcvt_f64_f32(v);
    return vfmaq_f64(acc, d, d);  // the product of two floats is exact in double
}

// ---- elementwise -----------------------------------------------------------------------------------------------

void ops_rms_norm(const uint8_t* x, size_t x_stride, uint8_t* y, size_t y_stride, const float* w, int64_t cols,
                  float eps, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* xr = ops_row(x, x_stride, r);
        float* yr = ops_row(y, y_stride, r);
        float64x2_t s0 = vdupq_n_f64(0.0), s1 = vdupq_n_f64(0.0), s2 = vdupq_n_f64(0.0), s3 = vdupq_n_f64(0.0);
        int64_t i = 0;
        for (; i + 8 <= cols; i += 8) {
            const float32x4_t a = vld1q_f32(xr + i), b = vld1q_f32(xr + i + 4);
            s0 = ops_sum_sq(s0, vget_low_f32(a));
            s1 = ops_sum_sq(s1, vget_high_f32(a));
            s2 = ops_sum_sq(s2, vget_low_f32(b));
            s3 = ops_sum_sq(s3, vget_high_f32(b));
        }
        double sum = vaddvq_f64(vaddq_f64(vaddq_f64(s0, s1), vaddq_f64(s2, s3)));
        for (; i < cols; ++i) sum += double(xr[i]) * double(xr[i]);
        const float scale = 1.0f / std::sqrt(float(sum / double(cols)) + eps);
        i = 0;
        if (w) {
            for (; i + 4 <= cols; i += 4)
                vst1q_f32(yr + i, vmulq_f32(vmulq_n_f32(vld1q_f32(xr + i), scale), vld1q_f32(w + i)));
            for (; i < cols; ++i) yr[i] = (xr[i] * scale) * w[i];
        } else {
            for (; i + 4 <= cols; i += 4) vst1q_f32(yr + i, vmulq_n_f32(vld1q_f32(xr + i), scale));
            for (; i < cols; ++i) yr[i] = xr[i] * scale;
        }
    }
}

void ops_add(const uint8_t* a, size_t a_stride, const uint8_t* b, size_t b_stride, uint8_t* y, size_t y_stride,
             int64_t cols, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* ar = ops_row(a, a_stride, r);
        const float* br = ops_row(b, b_stride, r);
        float* yr = ops_row(y, y_stride, r);
        int64_t i = 0;
        for (; i + 4 <= cols; i += 4) vst1q_f32(yr + i, vaddq_f32(vld1q_f32(ar + i), vld1q_f32(br + i)));
        for (; i < cols; ++i) yr[i] = ar[i] + br[i];
    }
}

void ops_silu_mul(const uint8_t* a, size_t a_stride, const uint8_t* b, size_t b_stride, uint8_t* y, size_t y_stride,
                  int64_t cols, int64_t r0, int64_t r1) {
    const float32x4_t one = vdupq_n_f32(1.0f);
    for (int64_t r = r0; r < r1; ++r) {
        const float* ar = ops_row(a, a_stride, r);
        const float* br = ops_row(b, b_stride, r);
        float* yr = ops_row(y, y_stride, r);
        int64_t i = 0;
        for (; i + 4 <= cols; i += 4) {
            const float32x4_t v = vld1q_f32(ar + i);
            const float32x4_t silu = vdivq_f32(v, vaddq_f32(one, ops_exp(vnegq_f32(v))));
            vst1q_f32(yr + i, vmulq_f32(silu, vld1q_f32(br + i)));
        }
        for (; i < cols; ++i) yr[i] = ar[i] / (1.0f + ops_exp1(-ar[i])) * br[i];
    }
}

void ops_softmax(const uint8_t* x, size_t x_stride, uint8_t* y, size_t y_stride, int64_t cols, float scale,
                 int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* xr = ops_row(x, x_stride, r);
        float* yr = ops_row(y, y_stride, r);
        float32x4_t mv = vdupq_n_f32(-INFINITY);
        int64_t i = 0;
        for (; i + 4 <= cols; i += 4) mv = vmaxnmq_f32(mv, vmulq_n_f32(vld1q_f32(xr + i), scale));
        float max = vmaxnmvq_f32(mv);
        for (; i < cols; ++i) max = std::fmax(max, xr[i] * scale);
        float64x2_t s0 = vdupq_n_f64(0.0), s1 = vdupq_n_f64(0.0);
        i = 0;
        for (; i + 4 <= cols; i += 4) {
            const float32x4_t e = ops_exp(vsubq_f32(vmulq_n_f32(vld1q_f32(xr + i), scale), vdupq_n_f32(max)));
            vst1q_f32(yr + i, e);
            s0 = vaddq_f64(s0, vcvt_f64_f32(vget_low_f32(e)));
            s1 = vaddq_f64(s1, vcvt_high_f64_f32(e));
        }
        double sum = vaddvq_f64(vaddq_f64(s0, s1));
        for (; i < cols; ++i) {
            yr[i] = ops_exp1(xr[i] * scale - max);
            sum += yr[i];
        }
        const float inv = float(1.0 / sum);
        i = 0;
        for (; i + 4 <= cols; i += 4) vst1q_f32(yr + i, vmulq_n_f32(vld1q_f32(yr + i), inv));
        for (; i < cols; ++i) yr[i] *= inv;
    }
}

// ---- attention -------------------------------------------------------------------------------------------------

constexpr int kOpsHeadBatch = 4;  // query heads of one KV head computed together (K/V rows read once for them)
constexpr int kOpsKeyTile = 64;   // keys per online-softmax step

size_t ops_attention_scratch_floats(int64_t, int head_dim) {
    // scores [batch][tile], running and tile accumulators [batch][head_dim] each, one converted K or V row.
    return size_t(kOpsHeadBatch) * kOpsKeyTile + 2 * size_t(kOpsHeadBatch) * size_t(head_dim) + size_t(head_dim) + 4;
}

// One K or V head row (head_dim values of the cache's type) as floats: the row itself for F32, else `buf`.
const float* ops_kv_floats(DType type, const uint8_t* src, int n, float* buf) {
    if (type == DType::F32) return reinterpret_cast<const float*>(src);
    int i = 0;
    if (type == DType::F16) {
        for (; i + 8 <= n; i += 8) {
            const float16x8_t h = vreinterpretq_f16_u8(vld1q_u8(src + 2 * i));
            vst1q_f32(buf + i, vcvt_f32_f16(vget_low_f16(h)));
            vst1q_f32(buf + i + 4, vcvt_high_f32_f16(h));
        }
        for (; i < n; ++i) {
            __fp16 h;
            std::memcpy(&h, src + 2 * i, 2);
            buf[i] = float(h);
        }
    } else if (type == DType::BF16) {
        for (; i + 8 <= n; i += 8) {
            const uint16x8_t h = vreinterpretq_u16_u8(vld1q_u8(src + 2 * i));
            vst1q_f32(buf + i, vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16)));
            vst1q_f32(buf + i + 4, vreinterpretq_f32_u32(vshll_high_n_u16(h, 16)));
        }
        for (; i < n; ++i) {
            uint16_t h;
            std::memcpy(&h, src + 2 * i, 2);
            const uint32_t bits = uint32_t(h) << 16;
            std::memcpy(buf + i, &bits, 4);
        }
    } else {  // Q8_0: n is a multiple of 32; value = float(q) * d as the reference decodes it
        for (int b = 0; b < n / 32; ++b, src += sizeof(block_q8_0)) {
            __fp16 h;
            std::memcpy(&h, src, 2);
            const float d = float(h);
            const int8x16_t q[2] = {vld1q_s8(reinterpret_cast<const int8_t*>(src + 2)),
                                    vld1q_s8(reinterpret_cast<const int8_t*>(src + 18))};
            for (int k = 0; k < 2; ++k) {
                const int16x8_t lo = vmovl_s8(vget_low_s8(q[k])), hi = vmovl_high_s8(q[k]);
                float* o = buf + 32 * b + 16 * k;
                vst1q_f32(o, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))), d));
                vst1q_f32(o + 4, vmulq_n_f32(vcvtq_f32_s32(vmovl_high_s16(lo)), d));
                vst1q_f32(o + 8, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))), d));
                vst1q_f32(o + 12, vmulq_n_f32(vcvtq_f32_s32(vmovl_high_s16(hi)), d));
            }
        }
    }
    return buf;
}

R1_NEONOP_INLINE float ops_dot(const float* a, const float* b, int n) {
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = vdupq_n_f32(0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    }
    if (i + 4 <= n) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        i += 4;
    }
    float s = vaddvq_f32(vaddq_f32(s0, s1));
    for (; i < n; ++i) s = std::fma(a[i], b[i], s);
    return s;
}

// y[i] = y[i] * c + x[i] (c = 0: y = x).
R1_NEONOP_INLINE void ops_scale_add(float* y, float c, const float* x, int n) {
    int i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(x + i), vld1q_f32(y + i), c));
    for (; i < n; ++i) y[i] = std::fma(y[i], c, x[i]);
}

// Heads h0 .. h0 + nh - 1 of token t, all reading KV head g.
void ops_attention_heads(const AttentionArgs& a, int64_t t, int h0, int nh, int g, float* scratch) {
    const int hd = a.head_dim;
    const size_t head_bytes = size_t(dtype_row_bytes(a.kv_type, uint64_t(hd)));
    float* scores = scratch;                           // [nh][kOpsKeyTile]
    float* acc = scores + kOpsHeadBatch * kOpsKeyTile;  // [nh][hd]: sum of weight * value so far
    float* tile = acc + size_t(kOpsHeadBatch) * size_t(hd);  // [nh][hd]: this tile's sum
    float* kv = tile + size_t(kOpsHeadBatch) * size_t(hd);   // one converted row
    const float* q[kOpsHeadBatch];
    float max[kOpsHeadBatch];
    double norm[kOpsHeadBatch];
    for (int i = 0; i < nh; ++i) {
        q[i] = ops_row(a.q, a.q_stride, t) + size_t(h0 + i) * size_t(hd);
        max[i] = -INFINITY;
        norm[i] = 0.0;
        std::memset(acc + size_t(i) * size_t(hd), 0, size_t(hd) * sizeof(float));
    }
    const int64_t n_keys = a.pos0 + t + 1;  // causal: positions 0 .. pos0 + t
    for (int64_t j0 = 0; j0 < n_keys; j0 += kOpsKeyTile) {
        const int jn = int(n_keys - j0 < kOpsKeyTile ? n_keys - j0 : kOpsKeyTile);
        for (int jj = 0; jj < jn; ++jj) {
            const float* k = ops_kv_floats(a.kv_type, a.k + size_t(j0 + jj) * a.k_stride + size_t(g) * head_bytes, hd, kv);
            for (int i = 0; i < nh; ++i) scores[i * kOpsKeyTile + jj] = ops_dot(q[i], k, hd) * a.scale;
        }
        float correction[kOpsHeadBatch];
        for (int i = 0; i < nh; ++i) {
            float* s = scores + i * kOpsKeyTile;
            float tile_max = -INFINITY;
            for (int jj = 0; jj < jn; ++jj) tile_max = std::fmax(tile_max, s[jj]);
            const float new_max = std::fmax(max[i], tile_max);
            correction[i] = max[i] == -INFINITY ? 0.0f : ops_exp1(max[i] - new_max);
            max[i] = new_max;
            float64x2_t sum = vdupq_n_f64(0.0);
            int jj = 0;
            for (; jj + 4 <= jn; jj += 4) {
                const float32x4_t e = ops_exp(vsubq_f32(vld1q_f32(s + jj), vdupq_n_f32(new_max)));
                vst1q_f32(s + jj, e);
                sum = vaddq_f64(sum, vaddq_f64(vcvt_f64_f32(vget_low_f32(e)), vcvt_high_f64_f32(e)));
            }
            double total = vaddvq_f64(sum);
            for (; jj < jn; ++jj) {
                s[jj] = ops_exp1(s[jj] - new_max);
                total += s[jj];
            }
            norm[i] = norm[i] * double(correction[i]) + total;
            std::memset(tile + size_t(i) * size_t(hd), 0, size_t(hd) * sizeof(float));
        }
        for (int jj = 0; jj < jn; ++jj) {
            const float* v = ops_kv_floats(a.kv_type, a.v + size_t(j0 + jj) * a.v_stride + size_t(g) * head_bytes, hd, kv);
            for (int i = 0; i < nh; ++i) {
                float* ti = tile + size_t(i) * size_t(hd);
                const float p = scores[i * kOpsKeyTile + jj];
                int d = 0;
                for (; d + 4 <= hd; d += 4) vst1q_f32(ti + d, vfmaq_n_f32(vld1q_f32(ti + d), vld1q_f32(v + d), p));
                for (; d < hd; ++d) ti[d] = std::fma(p, v[d], ti[d]);
            }
        }
        for (int i = 0; i < nh; ++i)
            ops_scale_add(acc + size_t(i) * size_t(hd), correction[i], tile + size_t(i) * size_t(hd), hd);
    }
    for (int i = 0; i < nh; ++i) {
        float* out = ops_row(a.out, a.out_stride, t) + size_t(h0 + i) * size_t(hd);
        const float inv = float(1.0 / norm[i]);
        const float* ai = acc + size_t(i) * size_t(hd);
        int d = 0;
        for (; d + 4 <= hd; d += 4) vst1q_f32(out + d, vmulq_n_f32(vld1q_f32(ai + d), inv));
        for (; d < hd; ++d) out[d] = ai[d] * inv;
    }
}

void ops_attention(const AttentionArgs& a, int64_t i0, int64_t i1, float* scratch) {
    const int group = a.n_heads / a.n_kv_heads;
    for (int64_t item = i0; item < i1;) {
        const int64_t t = item / a.n_heads;
        const int h = int(item % a.n_heads);
        const int g = h / group;
        // The run of heads from h that share KV head g, within [i0, i1) and the batch size.
        int nh = (g + 1) * group - h;
        if (nh > kOpsHeadBatch) nh = kOpsHeadBatch;
        if (int64_t(nh) > i1 - item) nh = int(i1 - item);
        ops_attention_heads(a, t, h, nh, g, scratch);
        item += nh;
    }
}

OpKernels ops_table() {
    OpKernels k;
    k.rms_norm = ops_rms_norm;
    k.add = ops_add;
    k.silu_mul = ops_silu_mul;
    k.softmax = ops_softmax;
    k.attention = ops_attention;
    k.attention_scratch_floats = ops_attention_scratch_floats;
    return k;
}

}  // namespace
}  // namespace neon_ops

const OpKernels* neon_op_kernels() {
    static const OpKernels table = neon_ops::ops_table();
    return &table;
}

}  // namespace r1::cpu

#undef R1_NEONOP_INLINE

#else  // not AArch64

namespace r1::cpu {
const OpKernels* neon_op_kernels() { return nullptr; }
}  // namespace r1::cpu

#endif
