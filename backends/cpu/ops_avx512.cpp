// AVX-512 versions of the non-matmul operations: attention (16 keys per block); the elementwise operations, which
// are bound by memory, are the AVX2 ones (ops_avx2.cpp).
//
// Attention, as in ops_avx2.cpp: online softmax (running max, the sum in double) over blocks of 16 keys, whose 16
// scores come out of 16 partial-sum vectors with one transposing reduction. A query alone converts keys and values
// (exactly as dequantize_row decodes them) in registers as it reads them; the query heads of one KV head that arrive
// together share each block converted once to float, and go two at a time so that every vector loaded feeds two
// multiply-adds.
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
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")
#endif

#define R1_AVX512OPS_INLINE inline __attribute__((always_inline))
#define R1_AVX512OPS_UNROLL _Pragma("GCC unroll 16")

namespace r1::cpu {
namespace avx512_ops {
namespace {

constexpr int kKeys = 16;
constexpr int kMaxGroup = 8;
constexpr int kMaxHeadDim = 512;

R1_AVX512OPS_INLINE const float* row_f(const uint8_t* base, size_t stride, int64_t r) {
    return reinterpret_cast<const float*>(base + size_t(r) * stride);
}
R1_AVX512OPS_INLINE float* row_f(uint8_t* base, size_t stride, int64_t r) {
    return reinterpret_cast<float*>(base + size_t(r) * stride);
}

// e^x as in ops_avx2.cpp (Cephes polynomial), 2^n applied with vscalefps.
R1_AVX512OPS_INLINE __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33f)), _mm512_set1_ps(88.72f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

R1_AVX512OPS_INLINE double hsum_pd(__m512 v) {
    const __m512d d = _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
    return _mm512_reduce_add_pd(d);
}

size_t scratch_floats(int64_t n_kv, int head_dim) {
    const size_t mine = size_t(2 * kKeys + kMaxGroup) * size_t(head_dim) + 64;
    const size_t scalar = attention_scratch_floats(n_kv, head_dim);
    return mine > scalar ? mine : scalar;
}


// The sums of 16 vectors, in order, in one vector. shuffle_ps(a, b, 0x88 / 0xDD) picks elements (0, 2 | 0, 2) /
// (1, 3 | 1, 3) of a | b inside each 128-bit lane, so their sum holds pair sums of a and b; a second round leaves,
// in 128-bit lane L, the lane-L sums of four sources; shuffle_f32x4 then adds the four lanes of each source.
R1_AVX512OPS_INLINE __m512 reduce16(const __m512* v) {
    __m512 w[8], z[4];
    for (int i = 0; i < 8; ++i)
        w[i] = _mm512_add_ps(_mm512_shuffle_ps(v[2 * i], v[2 * i + 1], 0x88), _mm512_shuffle_ps(v[2 * i], v[2 * i + 1], 0xDD));
    for (int i = 0; i < 4; ++i)
        z[i] = _mm512_add_ps(_mm512_shuffle_ps(w[2 * i], w[2 * i + 1], 0x88), _mm512_shuffle_ps(w[2 * i], w[2 * i + 1], 0xDD));
    const __m512 y01 = _mm512_add_ps(_mm512_shuffle_f32x4(z[0], z[1], 0x88), _mm512_shuffle_f32x4(z[0], z[1], 0xDD));
    const __m512 y23 = _mm512_add_ps(_mm512_shuffle_f32x4(z[2], z[3], 0x88), _mm512_shuffle_f32x4(z[2], z[3], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(y01, y23, 0x88), _mm512_shuffle_f32x4(y01, y23, 0xDD));
}

struct QueryState {
    float max;
    double sum;
};

// Online-softmax step for one query and a block of 16 scores (-inf beyond the valid keys): rescales the query's
// accumulator when the max grows, writes the 16 weights to pk and adds them to the sum.
R1_AVX512OPS_INLINE void softmax_step(__m512 scores, __mmask16 valid, QueryState& s, float* acc, int hd, float* pk) {
    const float bmax = _mm512_reduce_max_ps(scores);
    if (bmax > s.max) {
        const float corr = s.max == -INFINITY ? 0.0f : std::exp(s.max - bmax);
        s.sum *= double(corr);
        const __m512 cv = _mm512_set1_ps(corr);
        for (int c = 0; c < hd; c += 16) _mm512_storeu_ps(acc + c, _mm512_mul_ps(_mm512_loadu_ps(acc + c), cv));
        s.max = bmax;
    }
    const __m512 p = _mm512_maskz_mov_ps(valid, exp16(_mm512_sub_ps(scores, _mm512_set1_ps(s.max))));
    s.sum += hsum_pd(p);
    _mm512_storeu_ps(pk, p);
}

// 16 values of a cache row (type KV) from element c on, as dequantize_row decodes them.
template <DType KV>
R1_AVX512OPS_INLINE __m512 load16(const uint8_t* row, int c) {
    if constexpr (KV == DType::F32) return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + c);
    if constexpr (KV == DType::F16) return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * c)));
    if constexpr (KV == DType::BF16)
        return _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * c))), 16));
    const auto* b = reinterpret_cast<const block_q8_0*>(row) + c / 32;
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b->qs + c % 32));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), _mm512_set1_ps(_cvtsh_ss(b->d)));
}

// One query (no sharing to amortize a conversion buffer): keys and values are converted in registers as they are
// read, one row at a time; the head is processed NC vectors (16 * NC dimensions) at a time. acc: hd floats.
template <DType KV, int NC>
void attend_one(const AttentionArgs& a, int64_t t, int h, int g, float* acc) {
    const int hd = a.head_dim;
    const int64_t n_keys = a.pos0 + t + 1;
    const size_t head_bytes = size_t(dtype_row_bytes(KV, uint64_t(hd)));
    const uint8_t* kbase = a.k + size_t(g) * head_bytes;
    const uint8_t* vbase = a.v + size_t(g) * head_bytes;
    const float* q = row_f(a.q, a.q_stride, t) + size_t(h) * size_t(hd);
    QueryState st{-INFINITY, 0.0};
    std::memset(acc, 0, size_t(hd) * 4);
    alignas(64) float pk[kKeys];
    for (int64_t kb = 0; kb < n_keys; kb += kKeys) {
        const int nk = n_keys - kb < kKeys ? int(n_keys - kb) : kKeys;
        __m512 part[kKeys];
        R1_AVX512OPS_UNROLL for (int k = 0; k < kKeys; ++k) part[k] = _mm512_setzero_ps();
        for (int c0 = 0; c0 < hd; c0 += 16 * NC) {
            __m512 qv[NC];
            R1_AVX512OPS_UNROLL for (int c = 0; c < NC; ++c) qv[c] = _mm512_loadu_ps(q + c0 + 16 * c);
            const uint8_t* row = kbase + size_t(kb) * a.k_stride;
            // Past the causal limit the rows are not read; those keys keep a zero score, masked below.
            R1_AVX512OPS_UNROLL for (int k = 0; k < kKeys; ++k, row += a.k_stride) {
                if (k >= nk) break;
                __m512 s0 = _mm512_mul_ps(qv[0], load16<KV>(row, c0));
                __m512 s1 = NC > 1 ? _mm512_mul_ps(qv[1], load16<KV>(row, c0 + 16)) : _mm512_setzero_ps();
                R1_AVX512OPS_UNROLL for (int c = 2; c < NC; c += 2) {
                    s0 = _mm512_fmadd_ps(qv[c], load16<KV>(row, c0 + 16 * c), s0);
                    s1 = _mm512_fmadd_ps(qv[c + 1], load16<KV>(row, c0 + 16 * c + 16), s1);
                }
                part[k] = _mm512_add_ps(part[k], _mm512_add_ps(s0, s1));
            }
        }
        const __mmask16 valid = __mmask16((1u << nk) - 1u);
        softmax_step(_mm512_mask_mul_ps(_mm512_set1_ps(-INFINITY), valid, reduce16(part), _mm512_set1_ps(a.scale)), valid, st,
                     acc, hd, pk);
        for (int c0 = 0; c0 < hd; c0 += 16 * NC) {
            __m512 o[NC];
            R1_AVX512OPS_UNROLL for (int c = 0; c < NC; ++c) o[c] = _mm512_loadu_ps(acc + c0 + 16 * c);
            const uint8_t* row = vbase + size_t(kb) * a.v_stride;
            for (int k = 0; k < nk; ++k, row += a.v_stride) {
                const __m512 p = _mm512_set1_ps(pk[k]);
                R1_AVX512OPS_UNROLL for (int c = 0; c < NC; ++c) o[c] = _mm512_fmadd_ps(p, load16<KV>(row, c0 + 16 * c), o[c]);
            }
            R1_AVX512OPS_UNROLL for (int c = 0; c < NC; ++c) _mm512_storeu_ps(acc + c0 + 16 * c, o[c]);
        }
    }
    float* out = row_f(a.out, a.out_stride, t) + size_t(h) * size_t(hd);
    const __m512 inv = _mm512_set1_ps(float(1.0 / st.sum));
    for (int c = 0; c < hd; c += 16) _mm512_storeu_ps(out + c, _mm512_mul_ps(_mm512_loadu_ps(acc + c), inv));
}

// Scores of 8 keys (rows of kb, stride hd) for 2 queries: lanes 0..7 query A, 8..15 query B (before scaling).
R1_AVX512OPS_INLINE __m512 scores_2x8(const float* qa, const float* qb, const float* kb, int hd) {
    __m512 v[16];
    R1_AVX512OPS_UNROLL for (int k = 0; k < 16; ++k) v[k] = _mm512_setzero_ps();
    for (int c = 0; c < hd; c += 16) {
        const __m512 qav = _mm512_loadu_ps(qa + c), qbv = _mm512_loadu_ps(qb + c);
        R1_AVX512OPS_UNROLL for (int k = 0; k < 8; ++k) {
            const __m512 kv = _mm512_loadu_ps(kb + size_t(k) * size_t(hd) + size_t(c));
            v[k] = _mm512_fmadd_ps(qav, kv, v[k]);
            v[8 + k] = _mm512_fmadd_ps(qbv, kv, v[8 + k]);
        }
    }
    return reduce16(v);
}

// One row of n values of the cache as floats (n a multiple of 16 * NC).
template <DType KV, int NC>
R1_AVX512OPS_INLINE void load_row(const uint8_t* src, float* dst, int n) {
    for (int i = 0; i < n; i += 16 * NC)
        R1_AVX512OPS_UNROLL for (int c = 0; c < NC; ++c) _mm512_storeu_ps(dst + i + 16 * c, load16<KV>(src, i + 16 * c));
}

// Queries h0 .. h0+n_q-1 of token t (all in KV head g, n_q >= 2): each block of 16 keys and values is converted to
// float once (kbuf, vbuf) and used by all of them, two queries at a time (each loaded key or value vector feeds
// two multiply-adds).
template <DType KV, int NC>
void attend_group(const AttentionArgs& a, int64_t t, int h0, int n_q, int g, float* scratch) {
    const int hd = a.head_dim;
    const int64_t n_keys = a.pos0 + t + 1;
    const size_t head_bytes = size_t(dtype_row_bytes(KV, uint64_t(hd)));
    float* kbuf = scratch;
    float* vbuf = kbuf + size_t(kKeys) * size_t(hd);
    float* acc = vbuf + size_t(kKeys) * size_t(hd);
    QueryState st[kMaxGroup];
    const float* q[kMaxGroup];
    for (int qi = 0; qi < n_q; ++qi) {
        st[qi] = {-INFINITY, 0.0};
        q[qi] = row_f(a.q, a.q_stride, t) + size_t(h0 + qi) * size_t(hd);
        std::memset(acc + size_t(qi) * size_t(hd), 0, size_t(hd) * 4);
    }
    alignas(64) float pk[2][kKeys];
    for (int64_t kb = 0; kb < n_keys; kb += kKeys) {
        const int nk = n_keys - kb < kKeys ? int(n_keys - kb) : kKeys;
        for (int k = 0; k < kKeys; ++k) {
            if (k < nk) {
                const int64_t j = kb + k;
                load_row<KV, NC>(a.k + size_t(j) * a.k_stride + size_t(g) * head_bytes, kbuf + size_t(k) * size_t(hd), hd);
                load_row<KV, NC>(a.v + size_t(j) * a.v_stride + size_t(g) * head_bytes, vbuf + size_t(k) * size_t(hd), hd);
            } else {
                std::memset(kbuf + size_t(k) * size_t(hd), 0, size_t(hd) * 4);
                std::memset(vbuf + size_t(k) * size_t(hd), 0, size_t(hd) * 4);
            }
        }
        const __mmask16 valid = __mmask16((1u << nk) - 1u);
        const __m512 scale = _mm512_set1_ps(a.scale), ninf = _mm512_set1_ps(-INFINITY);
        for (int qi = 0; qi < n_q; qi += 2) {
            const bool pair = qi + 1 < n_q;
            const float* qb = pair ? q[qi + 1] : q[qi];
            const __m512 lo = scores_2x8(q[qi], qb, kbuf, hd);
            const __m512 hi = scores_2x8(q[qi], qb, kbuf + size_t(8) * size_t(hd), hd);
            float* acc_a = acc + size_t(qi) * size_t(hd);
            float* acc_b = pair ? acc + size_t(qi + 1) * size_t(hd) : nullptr;
            softmax_step(_mm512_mask_mul_ps(ninf, valid, _mm512_shuffle_f32x4(lo, hi, 0x44), scale), valid, st[qi], acc_a, hd, pk[0]);
            if (pair)
                softmax_step(_mm512_mask_mul_ps(ninf, valid, _mm512_shuffle_f32x4(lo, hi, 0xEE), scale), valid, st[qi + 1], acc_b,
                             hd, pk[1]);
            constexpr int kC = NC < 4 ? NC : 4;  // vectors of each of the two accumulators at a time
            for (int c0 = 0; c0 < hd; c0 += 16 * kC) {
                __m512 oa[kC], ob[kC];
                R1_AVX512OPS_UNROLL for (int c = 0; c < kC; ++c) {
                    oa[c] = _mm512_loadu_ps(acc_a + c0 + 16 * c);
                    ob[c] = pair ? _mm512_loadu_ps(acc_b + c0 + 16 * c) : _mm512_setzero_ps();
                }
                for (int k = 0; k < nk; ++k) {
                    const __m512 pa = _mm512_set1_ps(pk[0][k]), pb = _mm512_set1_ps(pair ? pk[1][k] : 0.0f);
                    const float* vr = vbuf + size_t(k) * size_t(hd) + size_t(c0);
                    R1_AVX512OPS_UNROLL for (int c = 0; c < kC; ++c) {
                        const __m512 v = _mm512_loadu_ps(vr + 16 * c);
                        oa[c] = _mm512_fmadd_ps(pa, v, oa[c]);
                        ob[c] = _mm512_fmadd_ps(pb, v, ob[c]);
                    }
                }
                R1_AVX512OPS_UNROLL for (int c = 0; c < kC; ++c) {
                    _mm512_storeu_ps(acc_a + c0 + 16 * c, oa[c]);
                    if (pair) _mm512_storeu_ps(acc_b + c0 + 16 * c, ob[c]);
                }
            }
        }
    }
    for (int qi = 0; qi < n_q; ++qi) {
        float* out = row_f(a.out, a.out_stride, t) + size_t(h0 + qi) * size_t(hd);
        const float* accq = acc + size_t(qi) * size_t(hd);
        const __m512 inv = _mm512_set1_ps(float(1.0 / st[qi].sum));
        for (int c = 0; c < hd; c += 16) _mm512_storeu_ps(out + c, _mm512_mul_ps(_mm512_loadu_ps(accq + c), inv));
    }
}

template <DType KV, int NC>
void attention_kv(const AttentionArgs& a, int64_t i0, int64_t i1, float* scratch) {
    const int group = a.n_heads / a.n_kv_heads;
    for (int64_t i = i0; i < i1;) {
        const int64_t t = i / a.n_heads;
        const int h = int(i % a.n_heads);
        const int g = h / group;
        // consecutive items of the same token and KV head, at most kMaxGroup
        int n_q = 1;
        while (n_q < kMaxGroup && i + n_q < i1 && (h + n_q) < a.n_heads && (h + n_q) / group == g) ++n_q;
        if (n_q == 1) attend_one<KV, NC>(a, t, h, g, scratch);
        else attend_group<KV, NC>(a, t, h, n_q, g, scratch);
        i += n_q;
    }
}

template <DType KV>
void attention_type(const AttentionArgs& a, int64_t i0, int64_t i1, float* scratch) {
    // Head dimensions in registers at a time: 8 vectors (128 values) when they divide the head, else 4, else 1.
    if (a.head_dim % 128 == 0) attention_kv<KV, 8>(a, i0, i1, scratch);
    else if (a.head_dim % 64 == 0) attention_kv<KV, 4>(a, i0, i1, scratch);
    else attention_kv<KV, 1>(a, i0, i1, scratch);
}

void attention(const AttentionArgs& a, int64_t i0, int64_t i1, float* scratch) {
    const bool fast = a.head_dim % 16 == 0 && a.head_dim <= kMaxHeadDim && (a.kv_type != DType::Q8_0 || a.head_dim % 32 == 0);
    if (!fast) return op_attention(a, i0, i1, scratch);
    switch (a.kv_type) {
        case DType::F32: return attention_type<DType::F32>(a, i0, i1, scratch);
        case DType::F16: return attention_type<DType::F16>(a, i0, i1, scratch);
        case DType::BF16: return attention_type<DType::BF16>(a, i0, i1, scratch);
        case DType::Q8_0: return attention_type<DType::Q8_0>(a, i0, i1, scratch);
        default: return op_attention(a, i0, i1, scratch);
    }
}

}  // namespace
}  // namespace avx512_ops
}  // namespace r1::cpu

#undef R1_AVX512OPS_INLINE
#undef R1_AVX512OPS_UNROLL

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#pragma GCC diagnostic pop

namespace r1::cpu {

const OpKernels* avx512_op_kernels() {
    const OpKernels* base = avx2_op_kernels();
    if (!base) return nullptr;
    static const OpKernels k = [base] {
        OpKernels o = *base;
        o.attention = avx512_ops::attention;
        o.attention_scratch_floats = avx512_ops::scratch_floats;
        return o;
    }();
    return &k;
}

}  // namespace r1::cpu

#else  // not x86-64

namespace r1::cpu {
const OpKernels* avx512_op_kernels() { return nullptr; }
}  // namespace r1::cpu

#endif
