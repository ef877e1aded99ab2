// AVX2 (+FMA, F16C) versions of the non-matmul operations of ops.h, with the contracts of the scalar functions.
//
// exp is a Cephes-style polynomial (range reduction by ln 2 in two parts, degree-6 polynomial, relative error
// about 1 ulp); results therefore differ from the scalar path (std::exp, double sums) by a few ulp.
//
// Attention processes the query heads of one KV head together when they are consecutive items of the range it is
// given: blocks of 8 keys and values are converted to float once (exactly as dequantize_row does) and used by
// every query of the group; scores are computed 8 keys at a time (8 partial-sum vectors, then one transposing
// reduction); softmax is online (running max, the sum in double, the value accumulator rescaled when the max
// grows), so memory does not grow with the context and long contexts keep full precision.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ops.h"
#include "quants/blocks.h"
#include "quants/fp16.h"

#if defined(__x86_64__)

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

#define R1_AVX2OPS_INLINE inline __attribute__((always_inline))
#define R1_AVX2OPS_UNROLL _Pragma("GCC unroll 8")

namespace r1::cpu {
namespace avx2_ops {
namespace {

R1_AVX2OPS_INLINE const float* row_f(const uint8_t* base, size_t stride, int64_t r) {
    return reinterpret_cast<const float*>(base + size_t(r) * stride);
}
R1_AVX2OPS_INLINE float* row_f(uint8_t* base, size_t stride, int64_t r) {
    return reinterpret_cast<float*>(base + size_t(r) * stride);
}
R1_AVX2OPS_INLINE float hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
R1_AVX2OPS_INLINE double hsum_pd(__m256 v) {
    const __m256d d = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(d), _mm256_extractf128_pd(d, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

// e^x, relative error ~1 ulp for x in [-87.3, 88.7]; clamped outside (e^-87.3 ~ 1.2e-38, not 0).
R1_AVX2OPS_INLINE __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33f)), _mm256_set1_ps(88.72f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    // 2^n: n in [-126, 128]; build it in two factors so that n = 128 (x near 88.72) does not overflow the exponent.
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i half = _mm256_srai_epi32(ni, 1);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

// ---- elementwise -------------------------------------------------------------------------------------------------

void rms_norm(const uint8_t* x, size_t x_stride, uint8_t* y, size_t y_stride, const float* w, int64_t cols, float eps,
              int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* xr = row_f(x, x_stride, r);
        float* yr = row_f(y, y_stride, r);
        __m256 s0 = _mm256_setzero_ps(), s1 = s0;
        int64_t i = 0;
        for (; i + 16 <= cols; i += 16) {
            const __m256 a = _mm256_loadu_ps(xr + i), b = _mm256_loadu_ps(xr + i + 8);
            s0 = _mm256_fmadd_ps(a, a, s0);
            s1 = _mm256_fmadd_ps(b, b, s1);
        }
        double sum = hsum_pd(_mm256_add_ps(s0, s1));
        for (; i < cols; ++i) sum += double(xr[i]) * double(xr[i]);
        const float scale = 1.0f / std::sqrt(float(sum / double(cols)) + eps);
        const __m256 vs = _mm256_set1_ps(scale);
        i = 0;
        if (w) {
            for (; i + 8 <= cols; i += 8)
                _mm256_storeu_ps(yr + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xr + i), vs), _mm256_loadu_ps(w + i)));
            for (; i < cols; ++i) yr[i] = (xr[i] * scale) * w[i];
        } else {
            for (; i + 8 <= cols; i += 8) _mm256_storeu_ps(yr + i, _mm256_mul_ps(_mm256_loadu_ps(xr + i), vs));
            for (; i < cols; ++i) yr[i] = xr[i] * scale;
        }
    }
}

void add(const uint8_t* a, size_t a_stride, const uint8_t* b, size_t b_stride, uint8_t* y, size_t y_stride,
         int64_t cols, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* ar = row_f(a, a_stride, r);
        const float* br = row_f(b, b_stride, r);
        float* yr = row_f(y, y_stride, r);
        int64_t i = 0;
        for (; i + 8 <= cols; i += 8) _mm256_storeu_ps(yr + i, _mm256_add_ps(_mm256_loadu_ps(ar + i), _mm256_loadu_ps(br + i)));
        for (; i < cols; ++i) yr[i] = ar[i] + br[i];
    }
}

void silu_mul(const uint8_t* a, size_t a_stride, const uint8_t* b, size_t b_stride, uint8_t* y, size_t y_stride,
              int64_t cols, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* ar = row_f(a, a_stride, r);
        const float* br = row_f(b, b_stride, r);
        float* yr = row_f(y, y_stride, r);
        int64_t i = 0;
        for (; i + 8 <= cols; i += 8) {
            const __m256 v = _mm256_loadu_ps(ar + i);
            const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), v));
            const __m256 s = _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
            _mm256_storeu_ps(yr + i, _mm256_mul_ps(s, _mm256_loadu_ps(br + i)));
        }
        for (; i < cols; ++i) yr[i] = ar[i] / (1.0f + std::exp(-ar[i])) * br[i];
    }
}

void softmax(const uint8_t* x, size_t x_stride, uint8_t* y, size_t y_stride, int64_t cols, float scale, int64_t r0,
             int64_t r1) {
    const __m256 vs = _mm256_set1_ps(scale);
    for (int64_t r = r0; r < r1; ++r) {
        const float* xr = row_f(x, x_stride, r);
        float* yr = row_f(y, y_stride, r);
        __m256 mv = _mm256_set1_ps(-INFINITY);
        int64_t i = 0;
        for (; i + 8 <= cols; i += 8) mv = _mm256_max_ps(mv, _mm256_mul_ps(_mm256_loadu_ps(xr + i), vs));
        float max = hmax(mv);
        for (; i < cols; ++i) max = std::fmax(max, xr[i] * scale);
        const __m256 vm = _mm256_set1_ps(max);
        double sum = 0.0;
        i = 0;
        for (; i + 8 <= cols; i += 8) {
            const __m256 e = exp8(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(xr + i), vs), vm));
            _mm256_storeu_ps(yr + i, e);
            sum += hsum_pd(e);
        }
        for (; i < cols; ++i) {
            const float e = std::exp(xr[i] * scale - max);
            yr[i] = e;
            sum += e;
        }
        const float inv = float(1.0 / sum);
        const __m256 vi = _mm256_set1_ps(inv);
        i = 0;
        for (; i + 8 <= cols; i += 8) _mm256_storeu_ps(yr + i, _mm256_mul_ps(_mm256_loadu_ps(yr + i), vi));
        for (; i < cols; ++i) yr[i] *= inv;
    }
}

// The angles as op_rope computes them (theta advanced by repeated float multiplication), then the rotation of
// every head with vectors. A row of at most 512 rotated pairs keeps its cosines and sines on the stack.
void rope(uint8_t* x, size_t x_stride, const RopeArgs& a, int64_t r0, int64_t r1) {
    const int half = a.n_rot / 2;
    if (half > 512 || a.n_rot % 16 != 0) {
        op_rope(x, x_stride, a, r0, r1);
        return;
    }
    const float theta_scale = std::pow(a.freq_base, -2.0f / float(a.n_rot));
    alignas(32) float c[1024], s[1024];
    for (int64_t r = r0; r < r1; ++r) {
        float* xr = row_f(x, x_stride, r);
        float theta = float(a.pos0 + r);
        for (int i = 0; i < half; ++i) {
            const float factor = a.freq_factors ? a.freq_factors[i] : 1.0f;
            const float angle = a.freq_scale * (theta / factor);
            if (a.neox) {
                c[i] = std::cos(angle);
                s[i] = std::sin(angle);
            } else {  // pairs (2i, 2i+1): cos twice, sin as (-s, s)
                c[2 * i] = c[2 * i + 1] = std::cos(angle);
                s[2 * i + 1] = std::sin(angle);
                s[2 * i] = -s[2 * i + 1];
            }
            theta *= theta_scale;
        }
        for (int h = 0; h < a.n_heads; ++h) {
            float* head = xr + size_t(h) * size_t(a.head_dim);
            if (a.neox) {
                for (int i = 0; i < half; i += 8) {
                    const __m256 v0 = _mm256_loadu_ps(head + i), v1 = _mm256_loadu_ps(head + i + half);
                    const __m256 cv = _mm256_load_ps(c + i), sv = _mm256_load_ps(s + i);
                    _mm256_storeu_ps(head + i, _mm256_fmsub_ps(v0, cv, _mm256_mul_ps(v1, sv)));
                    _mm256_storeu_ps(head + i + half, _mm256_fmadd_ps(v0, sv, _mm256_mul_ps(v1, cv)));
                }
            } else {
                for (int i = 0; i < a.n_rot; i += 8) {
                    const __m256 v = _mm256_loadu_ps(head + i);
                    const __m256 swapped = _mm256_permute_ps(v, 0xB1);  // (x1, x0) per pair
                    _mm256_storeu_ps(head + i, _mm256_fmadd_ps(v, _mm256_load_ps(c + i), _mm256_mul_ps(swapped, _mm256_load_ps(s + i))));
                }
            }
        }
    }
}

// ---- attention ---------------------------------------------------------------------------------------------------

constexpr int kKeys = 8;      // keys per block
constexpr int kMaxGroup = 8;  // query heads sharing a KV head processed together
constexpr int kMaxHeadDim = 512;

size_t scratch_floats(int64_t n_kv, int head_dim) {
    const size_t mine = size_t(2 * kKeys + kMaxGroup) * size_t(head_dim) + 64;
    const size_t scalar = attention_scratch_floats(n_kv, head_dim);
    return mine > scalar ? mine : scalar;
}

// One row of n values of the cache (type t) as floats, exactly as dequantize_row decodes it.
R1_AVX2OPS_INLINE void load_row(DType t, const uint8_t* src, float* dst, int n) {
    switch (t) {
        case DType::F32: std::memcpy(dst, src, size_t(n) * 4); break;
        case DType::F16:
            for (int i = 0; i < n; i += 8)
                _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
            break;
        case DType::BF16:
            for (int i = 0; i < n; i += 8) {
                const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
                _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)));
            }
            break;
        default: {  // Q8_0: float(q) * d
            const auto* b = reinterpret_cast<const block_q8_0*>(src);
            for (int k = 0; k < n / 32; ++k) {
                const __m256 d = _mm256_set1_ps(fp16_to_fp32(b[k].d));
                for (int j = 0; j < 32; j += 8) {
                    const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b[k].qs + j));
                    _mm256_storeu_ps(dst + 32 * k + j, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d));
                }
            }
        }
    }
}

// The sums of 8 vectors, in order, in one vector (see the lane bookkeeping in ops_avx512.cpp).
R1_AVX2OPS_INLINE __m256 reduce8(const __m256* v) {
    __m256 w[4];
    for (int i = 0; i < 4; ++i)
        w[i] = _mm256_add_ps(_mm256_shuffle_ps(v[2 * i], v[2 * i + 1], 0x88), _mm256_shuffle_ps(v[2 * i], v[2 * i + 1], 0xDD));
    const __m256 z0 = _mm256_add_ps(_mm256_shuffle_ps(w[0], w[1], 0x88), _mm256_shuffle_ps(w[0], w[1], 0xDD));
    const __m256 z1 = _mm256_add_ps(_mm256_shuffle_ps(w[2], w[3], 0x88), _mm256_shuffle_ps(w[2], w[3], 0xDD));
    return _mm256_add_ps(_mm256_permute2f128_ps(z0, z1, 0x20), _mm256_permute2f128_ps(z0, z1, 0x31));
}

struct QueryState {
    float max;
    double sum;
};

// Queries h0 .. h0+n_q-1 of token t (all in KV head g): online softmax over keys 0 .. pos0 + t.
void attend_group(const AttentionArgs& a, int64_t t, int h0, int n_q, int g, float* scratch) {
    const int hd = a.head_dim;
    const int64_t n_keys = a.pos0 + t + 1;
    const size_t head_bytes = size_t(dtype_row_bytes(a.kv_type, uint64_t(hd)));
    float* kbuf = scratch;                        // [kKeys][hd]
    float* vbuf = kbuf + size_t(kKeys) * size_t(hd);  // [kKeys][hd]
    float* acc = vbuf + size_t(kKeys) * size_t(hd);   // [n_q][hd]
    QueryState st[kMaxGroup];
    for (int qi = 0; qi < n_q; ++qi) {
        st[qi] = {-INFINITY, 0.0};
        std::memset(acc + size_t(qi) * size_t(hd), 0, size_t(hd) * 4);
    }
    for (int64_t kb = 0; kb < n_keys; kb += kKeys) {
        const int nk = n_keys - kb < kKeys ? int(n_keys - kb) : kKeys;
        for (int k = 0; k < kKeys; ++k) {
            if (k < nk) {
                const int64_t j = kb + k;
                load_row(a.kv_type, a.k + size_t(j) * a.k_stride + size_t(g) * head_bytes, kbuf + size_t(k) * size_t(hd), hd);
                load_row(a.kv_type, a.v + size_t(j) * a.v_stride + size_t(g) * head_bytes, vbuf + size_t(k) * size_t(hd), hd);
            } else {
                std::memset(kbuf + size_t(k) * size_t(hd), 0, size_t(hd) * 4);
                std::memset(vbuf + size_t(k) * size_t(hd), 0, size_t(hd) * 4);
            }
        }
        const __m256 valid = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(nk), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
        for (int qi = 0; qi < n_q; ++qi) {
            const float* q = row_f(a.q, a.q_stride, t) + size_t(h0 + qi) * size_t(hd);
            __m256 part[kKeys];
            R1_AVX2OPS_UNROLL for (int k = 0; k < kKeys; ++k) part[k] = _mm256_setzero_ps();
            for (int c = 0; c < hd; c += 8) {
                const __m256 qv = _mm256_loadu_ps(q + c);
                R1_AVX2OPS_UNROLL for (int k = 0; k < kKeys; ++k)
                    part[k] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kbuf + size_t(k) * size_t(hd) + size_t(c)), part[k]);
            }
            // scores = dot * scale, -inf beyond the causal limit
            const __m256 sc = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_mul_ps(reduce8(part), _mm256_set1_ps(a.scale)), valid);
            const float bmax = hmax(sc);
            QueryState& s = st[qi];
            float* accq = acc + size_t(qi) * size_t(hd);
            if (bmax > s.max) {  // rescale what was accumulated under the old max
                const float corr = s.max == -INFINITY ? 0.0f : std::exp(s.max - bmax);
                s.sum *= double(corr);
                const __m256 cv = _mm256_set1_ps(corr);
                for (int c = 0; c < hd; c += 8) _mm256_storeu_ps(accq + c, _mm256_mul_ps(_mm256_loadu_ps(accq + c), cv));
                s.max = bmax;
            }
            const __m256 p = _mm256_and_ps(exp8(_mm256_sub_ps(sc, _mm256_set1_ps(s.max))), valid);
            s.sum += hsum_pd(p);
            alignas(32) float pk[kKeys];
            _mm256_store_ps(pk, p);
            for (int c = 0; c < hd; c += 8) {
                __m256 o = _mm256_loadu_ps(accq + c);
                R1_AVX2OPS_UNROLL for (int k = 0; k < kKeys; ++k)
                    o = _mm256_fmadd_ps(_mm256_set1_ps(pk[k]), _mm256_loadu_ps(vbuf + size_t(k) * size_t(hd) + size_t(c)), o);
                _mm256_storeu_ps(accq + c, o);
            }
        }
    }
    for (int qi = 0; qi < n_q; ++qi) {
        float* out = row_f(a.out, a.out_stride, t) + size_t(h0 + qi) * size_t(hd);
        const float* accq = acc + size_t(qi) * size_t(hd);
        const __m256 inv = _mm256_set1_ps(float(1.0 / st[qi].sum));
        for (int c = 0; c < hd; c += 8) _mm256_storeu_ps(out + c, _mm256_mul_ps(_mm256_loadu_ps(accq + c), inv));
    }
}

void attention(const AttentionArgs& a, int64_t i0, int64_t i1, float* scratch) {
    const int group = a.n_heads / a.n_kv_heads;
    const bool fast = a.head_dim % 8 == 0 && a.head_dim <= kMaxHeadDim &&
                      (a.kv_type == DType::F32 || a.kv_type == DType::F16 || a.kv_type == DType::BF16 ||
                       (a.kv_type == DType::Q8_0 && a.head_dim % 32 == 0));
    for (int64_t i = i0; i < i1;) {
        const int64_t t = i / a.n_heads;
        const int h = int(i % a.n_heads);
        const int g = h / group;
        // consecutive items of the same token and KV head, at most kMaxGroup
        int n_q = 1;
        while (n_q < kMaxGroup && i + n_q < i1 && (h + n_q) < a.n_heads && (h + n_q) / group == g) ++n_q;
        if (fast) attend_group(a, t, h, n_q, g, scratch);
        else op_attention(a, i, i + n_q, scratch);
        i += n_q;
    }
}

}  // namespace
}  // namespace avx2_ops
}  // namespace r1::cpu

#undef R1_AVX2OPS_INLINE
#undef R1_AVX2OPS_UNROLL

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#pragma GCC diagnostic pop

namespace r1::cpu {

const OpKernels* avx2_op_kernels() {
    static const OpKernels k = [] {
        OpKernels o;
        o.rms_norm = avx2_ops::rms_norm;
        o.add = avx2_ops::add;
        o.silu_mul = avx2_ops::silu_mul;
        o.softmax = avx2_ops::softmax;
        o.rope = avx2_ops::rope;
        o.attention = avx2_ops::attention;
        o.attention_scratch_floats = avx2_ops::scratch_floats;
        return o;
    }();
    return &k;
}

}  // namespace r1::cpu

#else  // not x86-64

namespace r1::cpu {
const OpKernels* avx2_op_kernels() { return nullptr; }
}  // namespace r1::cpu

#endif
