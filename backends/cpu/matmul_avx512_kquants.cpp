// AVX-512 VNNI gemm kernels of the 256-value super-block types: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS, reading the
// interleaved 16-row layout of matmul_avx2_repack.cpp and Q8_K activations.
//
// The tile: 16 weight rows (the 16 int32 lanes of a zmm) x N tokens (N = 1, 2, 4, 8 or 12). The weight codes of
// a quad (4 values) of 16 rows are decoded to unsigned bytes once and multiplied, with one vpdpbusd each, by the
// 4 activation bytes of every token of the tile, broadcast from memory. Codes that are signed in the format
// (Q3_K, Q6_K, IQ4_XS) are shifted to unsigned by a constant c, at no instruction: each sub-block's integer sum
// starts at -c * (the sub-block's activation sum, from Q8_K's bsums), a broadcast load. The mins (Q2_K, Q4_K,
// Q5_K) take one vpdpwssd per pair of sub-blocks: int16 pairs of mins against int16 pairs of activation sums.
// Integer sums of a sub-block (16 or 32 values) are exact; they are scaled in float (d * sub-block scale), summed
// over the super-block, multiplied by the token's activation scale and added to the output. Only the order of
// these float operations differs from the scalar reference.
//
// Activations are first copied, per tile of N tokens and slab of super-blocks, into a small buffer with a
// compile-time stride per token (so every broadcast address is one base register plus a constant): the codes,
// d, and 64 bytes of per-type sums (the start values above, or Q8_K's bsums as int16 pairs for the mins).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "matmul.h"
#include "quants/blocks.h"

#if defined(__x86_64__)

// Defined elsewhere; declared here, before the target pragma below, so that they keep the default target (a
// declaration inside the region would name a different, target-specific function in a single-file build).
namespace r1::cpu {
int x86_layout_id();          // matmul_avx2_repack.cpp
int weight_prefetch_bytes();  // cpu_features.cpp
}  // namespace r1::cpu

// GCC 12 warns (-Wuninitialized) about the self-initialized "undefined" vectors inside its own AVX-512 headers
// when their intrinsics are inlined into code compiled under a target pragma. The state applies by location, so
// it must be set before <immintrin.h> is first read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")
#endif

#define R1_AVX512KQ_UNROLL _Pragma("GCC unroll 16")
#define R1_AVX512KQ_INLINE inline __attribute__((always_inline))

namespace r1::cpu {

namespace avx512_kq {
namespace {

// ---- small helpers -------------------------------------------------------------------------------------------

R1_AVX512KQ_INLINE int32_t ld_i32(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
R1_AVX512KQ_INLINE float ld_f32(const uint8_t* p) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
}
R1_AVX512KQ_INLINE uint64_t ld_u64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
R1_AVX512KQ_INLINE __m512i bcast32(const uint8_t* p) { return _mm512_set1_epi32(ld_i32(p)); }
R1_AVX512KQ_INLINE __m512 f16x16(const uint8_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
R1_AVX512KQ_INLINE __m512i ld512(const uint8_t* p) { return _mm512_loadu_si512(p); }
// 32 bytes widened to 32 int16: lane r holds the fields of sub-blocks 2j and 2j + 1 of row r ("pairs").
R1_AVX512KQ_INLINE __m512i pairs_u8(const uint8_t* p) {
    return _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
R1_AVX512KQ_INLINE __m512i nibbles_lo(__m512i x) { return _mm512_and_si512(x, _mm512_set1_epi8(0x0F)); }
R1_AVX512KQ_INLINE __m512i nibbles_hi(__m512i x) {
    return _mm512_and_si512(_mm512_srli_epi16(x, 4), _mm512_set1_epi8(0x0F));
}
// code + 16 (or + 4) in the bytes whose mask bit is set.
R1_AVX512KQ_INLINE __m512i add_masked(__m512i codes, const uint8_t* mask, int8_t value) {
    return _mm512_mask_add_epi8(codes, _cvtu64_mask64(ld_u64(mask)), codes, _mm512_set1_epi8(value));
}

// ---- the activation tile -------------------------------------------------------------------------------------

// Per token, for a slab of kSB super-blocks: codes [kSB][256], d [kSB] (float), sums [kSB][64 bytes] as the
// weight type wants them (SumMode). The buffer is the same size for every N.
template <int N>
struct Tile {
    static constexpr int kSB = 96 / N;
    static constexpr int kD = 256 * kSB;
    static constexpr int kSums = kD + 4 * kSB;
    static constexpr int kStride = kSums + 64 * kSB;
};

enum SumMode {
    kStart16,  // 16 int32: -(sum of the codes of 16-value sub-block s) << shift
    kStart32,  // 8 int32: the same over 32-value sub-blocks
    kPairs16,  // Q8_K's 16 bsums as they are (8 int16 pairs)
    kPairs32,  // the 8 sums over 32 values as 4 int16 pairs
};
constexpr int kTileBytes = 12 * Tile<12>::kStride;
static_assert(Tile<1>::kStride * 1 == kTileBytes && Tile<2>::kStride * 2 == kTileBytes &&
                  Tile<4>::kStride * 4 == kTileBytes && Tile<8>::kStride * 8 == kTileBytes,
              "every tile width uses the same buffer");

// rows[t]: the first super-block of the slab of token t.
template <int N>
void pack_tokens(const block_q8_K* const* rows, int nsb, SumMode mode, int shift, uint8_t* at) {
    using L = Tile<N>;
    const __m128i sh = _mm_cvtsi32_si128(shift);
    for (int t = 0; t < N; ++t) {
        uint8_t* p = at + t * L::kStride;
        for (int sb = 0; sb < nsb; ++sb) {
            const block_q8_K& b = rows[t][sb];
            for (int i = 0; i < 256; i += 64) _mm512_storeu_si512(p + 256 * sb + i, _mm512_loadu_si512(b.qs + i));
            std::memcpy(p + L::kD + 4 * sb, &b.d, 4);
            uint8_t* sums = p + L::kSums + 64 * sb;
            const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.bsums));
            if (mode == kPairs16) {
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums), bs);
            } else if (mode == kStart16) {  // -(bsum << shift), 16 int32
                const __m512i v = _mm512_sll_epi32(_mm512_cvtepi16_epi32(bs), sh);
                _mm512_storeu_si512(sums, _mm512_sub_epi32(_mm512_setzero_si512(), v));
            } else {
                // sums over 32 values: adjacent bsums added (int32), then as int16 pairs or as shifted starts
                const __m256i s32 = _mm256_madd_epi16(bs, _mm256_set1_epi16(1));
                if (mode == kPairs32)
                    _mm_storeu_si128(reinterpret_cast<__m128i*>(sums), _mm256_cvtepi32_epi16(s32));
                else
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums), _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_sll_epi32(s32, sh)));
            }
        }
    }
}

// Prefetches the weights weight_prefetch_bytes() ahead of a block of `bytes` bytes. On Intel one-token products
// are bound by memory latency and the hardware prefetcher alone left about 15% of the bandwidth unused; on AMD
// Zen 4 the same prefetches made generation 20% slower, so there are none.
R1_AVX512KQ_INLINE void prefetch_ahead(const uint8_t* p, int bytes) {
    static const int ahead = weight_prefetch_bytes();
    if (ahead > 0)
        for (int i = 0; i < bytes; i += 64) _mm_prefetch(reinterpret_cast<const char*>(p + ahead + i), _MM_HINT_T0);
}

// acc[t] = the integer start of sub-block s for every token.
template <int N>
R1_AVX512KQ_INLINE void start(const uint8_t* sums, __m512i* acc) {
    R1_AVX512KQ_UNROLL for (int t = 0; t < N; ++t) acc[t] = bcast32(sums + t * Tile<N>::kStride);
}

// acc[t] = sum over the pairs j of  w_pair_j . activation_pair_j  (vpdpwssd), the activation pairs of token t
// at at + t*stride + off + 4j.
template <int N, int Pairs>
R1_AVX512KQ_INLINE void pair_dot(const __m512i* wp, const uint8_t* ap, __m512i* acc) {
    R1_AVX512KQ_UNROLL for (int t = 0; t < N; ++t) acc[t] = _mm512_setzero_si512();
    R1_AVX512KQ_UNROLL for (int j = 0; j < Pairs; ++j) {
        R1_AVX512KQ_UNROLL for (int t = 0; t < N; ++t)
            acc[t] = _mm512_dpwssd_epi32(acc[t], wp[j], bcast32(ap + t * Tile<N>::kStride + 4 * j));
    }
}

// res[t] += f[t] * d_t (the token's Q8_K scale of super-block sb).
template <int N>
R1_AVX512KQ_INLINE void finish_sb(const __m512* f, const uint8_t* at, int sb, float* res) {
    R1_AVX512KQ_UNROLL for (int t = 0; t < N; ++t) {
        const __m512 d = _mm512_set1_ps(ld_f32(at + t * Tile<N>::kStride + Tile<N>::kD + 4 * sb));
        _mm512_storeu_ps(res + 16 * t, _mm512_fmadd_ps(f[t], d, _mm512_loadu_ps(res + 16 * t)));
    }
}

// f[t] += float(acc[t]) * scale.
template <int N>
R1_AVX512KQ_INLINE void scale_add(const __m512i* acc, __m512 scale, __m512* f) {
    R1_AVX512KQ_UNROLL for (int t = 0; t < N; ++t) f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t]), scale, f[t]);
}

// acc[t] += codes . (4 activation bytes at aq + t*stride)
template <int N>
R1_AVX512KQ_INLINE void dot_quad(__m512i codes, const uint8_t* aq, __m512i* acc) {
    R1_AVX512KQ_UNROLL for (int t = 0; t < N; ++t)
        acc[t] = _mm512_dpbusd_epi32(acc[t], codes, bcast32(aq + t * Tile<N>::kStride));
}

template <int N>
R1_AVX512KQ_INLINE void zero(__m512i* acc) {
    R1_AVX512KQ_UNROLL for (int t = 0; t < N; ++t) acc[t] = _mm512_setzero_si512();
}

template <int N>
R1_AVX512KQ_INLINE void zero_res(float* res) {
    R1_AVX512KQ_UNROLL for (int t = 0; t < N; ++t) _mm512_storeu_ps(res + 16 * t, _mm512_setzero_ps());
}

// ---- Q4_K / Q5_K ---------------------------------------------------------------------------------------------
// x = d*sc*q - dmin*m per 32-value sub-block: sum = d * sum_s sc_s * (q . a)_s - dmin * sum_s m_s * asum32_s.

// One 32-value sub-block: 4 chunks, low nibbles = values 4i.., high = values 16 + 4i.. (masks: Q5_K's bit 4).
template <int N, bool Q5>
R1_AVX512KQ_INLINE void k4_sub(const uint8_t* qs, const uint8_t* masks, const uint8_t* aq, __m512 scale, __m512* f) {
    __m512i acc[N];
    zero<N>(acc);
    R1_AVX512KQ_UNROLL for (int i = 0; i < 4; ++i) {
        const __m512i x = ld512(qs + 64 * i);
        __m512i lo = nibbles_lo(x), hi = nibbles_hi(x);
        if (Q5) {
            lo = add_masked(lo, masks + 8 * i, 16);
            hi = add_masked(hi, masks + 8 * (4 + i), 16);
        }
        dot_quad<N>(lo, aq + 4 * i, acc);
        dot_quad<N>(hi, aq + 16 + 4 * i, acc);
    }
    scale_add<N>(acc, scale, f);
}

template <int N, bool Q5>
void k4_tile(const uint8_t* g, const uint8_t* at, int nsb, float* res) {
    using L = Tile<N>;
    constexpr int kBytes = Q5 ? 2880 : 2368;
    constexpr int kQs = Q5 ? 832 : 320;
    zero_res<N>(res);
    for (int sb = 0; sb < nsb; ++sb, g += kBytes) {
        prefetch_ahead(g, kBytes);
        const __m512 d = f16x16(g);
        const __m512 neg_dmin = _mm512_sub_ps(_mm512_setzero_ps(), f16x16(g + 32));
        __m512 f[N];
        __m512i acc[N];
        {
            const __m512i mp[4] = {pairs_u8(g + 192), pairs_u8(g + 224), pairs_u8(g + 256), pairs_u8(g + 288)};
            pair_dot<N, 4>(mp, at + L::kSums + 64 * sb, acc);
        }
        R1_AVX512KQ_UNROLL for (int t = 0; t < N; ++t) f[t] = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[t]), neg_dmin);
        const uint8_t* aq = at + 256 * sb;
        for (int j = 0; j < 4; ++j) {
            const __m512i sp = pairs_u8(g + 64 + 32 * j);
            const __m512 sc_even = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_and_si512(sp, _mm512_set1_epi32(0xFFFF))), d);
            const __m512 sc_odd = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(sp, 16)), d);
            k4_sub<N, Q5>(g + kQs + 512 * j, g + 320 + 128 * j, aq + 64 * j, sc_even, f);
            k4_sub<N, Q5>(g + kQs + 512 * j + 256, g + 320 + 128 * j + 64, aq + 64 * j + 32, sc_odd, f);
        }
        finish_sb<N>(f, at, sb, res);
    }
}

template <int N>
void q4_K_tile(const uint8_t* g, const uint8_t* at, int nsb, float* res) {
    k4_tile<N, false>(g, at, nsb, res);
}
template <int N>
void q5_K_tile(const uint8_t* g, const uint8_t* at, int nsb, float* res) {
    k4_tile<N, true>(g, at, nsb, res);
}

// ---- Q6_K ----------------------------------------------------------------------------------------------------
// x = d * sc * (q - 32) per 16-value sub-block, sc int8: sub-block sum = sc * (q . a - 32 * asum16).

template <int N>
R1_AVX512KQ_INLINE void q6_sub(const uint8_t* c, const uint8_t* aq, const uint8_t* starts, __m512 scale, __m512* f) {
    const __m512i a = ld512(c), b = ld512(c + 64), h = ld512(c + 128);
    const __m512i m30 = _mm512_set1_epi8(0x30);
    // code = low nibble | (2 high bits << 4): (x & 0x0F) | (h' & 0x30) as one ternary-logic op (A | (B & C)).
    const __m512i q0 = _mm512_ternarylogic_epi32(nibbles_lo(a), _mm512_slli_epi16(h, 4), m30, 0xF8);
    const __m512i q1 = _mm512_ternarylogic_epi32(nibbles_hi(a), _mm512_slli_epi16(h, 2), m30, 0xF8);
    const __m512i q2 = _mm512_ternarylogic_epi32(nibbles_lo(b), h, m30, 0xF8);
    const __m512i q3 = _mm512_ternarylogic_epi32(nibbles_hi(b), _mm512_srli_epi16(h, 2), m30, 0xF8);
    __m512i acc[N];
    start<N>(starts, acc);
    dot_quad<N>(q0, aq, acc);
    dot_quad<N>(q1, aq + 4, acc);
    dot_quad<N>(q2, aq + 8, acc);
    dot_quad<N>(q3, aq + 12, acc);
    scale_add<N>(acc, scale, f);
}

// The float scales d * sc of the 16 rows for sub-block s (int8 "scales" layout).
R1_AVX512KQ_INLINE __m512 scale_i8(const uint8_t* scales, int s, __m512 d) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + 16 * s));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v)), d);
}

template <int N>
void q6_K_tile(const uint8_t* g, const uint8_t* at, int nsb, float* res) {
    using L = Tile<N>;
    zero_res<N>(res);
    for (int sb = 0; sb < nsb; ++sb, g += 3360) {
        prefetch_ahead(g, 3360);
        const __m512 d = f16x16(g);
        __m512 f[N];
        R1_AVX512KQ_UNROLL for (int t = 0; t < N; ++t) f[t] = _mm512_setzero_ps();
        const uint8_t* aq = at + 256 * sb;
        const uint8_t* starts = at + L::kSums + 64 * sb;
        for (int s = 0; s < 16; ++s) q6_sub<N>(g + 288 + 192 * s, aq + 16 * s, starts + 4 * s, scale_i8(g + 32, s, d), f);
        finish_sb<N>(f, at, sb, res);
    }
}

// ---- Q3_K ----------------------------------------------------------------------------------------------------
// x = d * sc * (q - 4), q = low 2 bits + 4 * third bit, sc = 6-bit scale - 32 (signed, per 16 values).

template <int N>
R1_AVX512KQ_INLINE void q3_sub(const uint8_t* c, const uint8_t* masks, const uint8_t* aq, const uint8_t* starts,
                               __m512 scale, __m512* f) {
    const __m512i x = ld512(c);
    const __m512i m3 = _mm512_set1_epi8(3);
    __m512i acc[N];
    start<N>(starts, acc);
    R1_AVX512KQ_UNROLL for (int k = 0; k < 4; ++k) {
        __m512i q = _mm512_and_si512(k == 0 ? x : _mm512_srli_epi16(x, 2 * k), m3);
        q = add_masked(q, masks + 8 * k, 4);
        dot_quad<N>(q, aq + 4 * k, acc);
    }
    scale_add<N>(acc, scale, f);
}

template <int N>
void q3_K_tile(const uint8_t* g, const uint8_t* at, int nsb, float* res) {
    using L = Tile<N>;
    zero_res<N>(res);
    for (int sb = 0; sb < nsb; ++sb, g += 1824) {
        prefetch_ahead(g, 1824);
        const __m512 d = f16x16(g);
        __m512 f[N];
        R1_AVX512KQ_UNROLL for (int t = 0; t < N; ++t) f[t] = _mm512_setzero_ps();
        const uint8_t* aq = at + 256 * sb;
        const uint8_t* starts = at + L::kSums + 64 * sb;
        for (int s = 0; s < 16; ++s)
            q3_sub<N>(g + 288 + 64 * s, g + 1312 + 32 * s, aq + 16 * s, starts + 4 * s, scale_i8(g + 32, s, d), f);
        finish_sb<N>(f, at, sb, res);
    }
}

// ---- Q2_K ----------------------------------------------------------------------------------------------------
// x = d*sc*q - dmin*m per 16 values, q 2 bits, sc and m 4 bits (one byte sc | m << 4).

template <int N>
R1_AVX512KQ_INLINE void q2_sub(const uint8_t* c, const uint8_t* aq, __m512 scale, __m512* f) {
    const __m512i x = ld512(c);
    const __m512i m3 = _mm512_set1_epi8(3);
    __m512i acc[N];
    zero<N>(acc);
    R1_AVX512KQ_UNROLL for (int k = 0; k < 4; ++k) {
        const __m512i q = _mm512_and_si512(k == 0 ? x : _mm512_srli_epi16(x, 2 * k), m3);
        dot_quad<N>(q, aq + 4 * k, acc);
    }
    scale_add<N>(acc, scale, f);
}

template <int N>
void q2_K_tile(const uint8_t* g, const uint8_t* at, int nsb, float* res) {
    using L = Tile<N>;
    zero_res<N>(res);
    const __m512i low4 = _mm512_set1_epi32(0xF);
    for (int sb = 0; sb < nsb; ++sb, g += 1344) {
        prefetch_ahead(g, 1344);
        const __m512 d = f16x16(g);
        const __m512 neg_dmin = _mm512_sub_ps(_mm512_setzero_ps(), f16x16(g + 32));
        __m512 f[N];
        __m512i acc[N];
        {
            __m512i mp[8];
            R1_AVX512KQ_UNROLL for (int j = 0; j < 8; ++j) mp[j] = _mm512_srli_epi16(pairs_u8(g + 64 + 32 * j), 4);
            pair_dot<N, 8>(mp, at + L::kSums + 64 * sb, acc);
        }
        R1_AVX512KQ_UNROLL for (int t = 0; t < N; ++t) f[t] = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[t]), neg_dmin);
        const uint8_t* aq = at + 256 * sb;
        for (int j = 0; j < 8; ++j) {
            const __m512i sp = pairs_u8(g + 64 + 32 * j);
            const __m512 sc_even = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_and_si512(sp, low4)), d);
            const __m512 sc_odd = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(sp, 16), low4)), d);
            q2_sub<N>(g + 320 + 128 * j, aq + 32 * j, sc_even, f);
            q2_sub<N>(g + 320 + 128 * j + 64, aq + 32 * j + 16, sc_odd, f);
        }
        finish_sb<N>(f, at, sb, res);
    }
}

// ---- IQ4_XS --------------------------------------------------------------------------------------------------
// x = d * (ls - 32) * codebook[q] per 32 values. Codebook values + 128 are unsigned bytes (1..241).

template <int N>
R1_AVX512KQ_INLINE void iq4_sub(const uint8_t* qs, const uint8_t* aq, const uint8_t* starts, __m512i table,
                                __m512 scale, __m512* f) {
    __m512i acc[N];
    start<N>(starts, acc);
    R1_AVX512KQ_UNROLL for (int i = 0; i < 4; ++i) {
        const __m512i x = ld512(qs + 64 * i);
        dot_quad<N>(_mm512_shuffle_epi8(table, nibbles_lo(x)), aq + 4 * i, acc);
        dot_quad<N>(_mm512_shuffle_epi8(table, nibbles_hi(x)), aq + 16 + 4 * i, acc);
    }
    scale_add<N>(acc, scale, f);
}

template <int N>
void iq4_xs_tile(const uint8_t* g, const uint8_t* at, int nsb, float* res) {
    using L = Tile<N>;
    zero_res<N>(res);
    const __m512i table = _mm512_broadcast_i32x4(
        _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4NLValues)), _mm_set1_epi8(-128)));
    for (int sb = 0; sb < nsb; ++sb, g += 2208) {
        prefetch_ahead(g, 2208);
        const __m512 d = f16x16(g);
        __m512 f[N];
        R1_AVX512KQ_UNROLL for (int t = 0; t < N; ++t) f[t] = _mm512_setzero_ps();
        const uint8_t* aq = at + 256 * sb;
        const uint8_t* starts = at + L::kSums + 64 * sb;
        for (int s = 0; s < 8; ++s) iq4_sub<N>(g + 160 + 256 * s, aq + 32 * s, starts + 4 * s, table, scale_i8(g + 32, s, d), f);
        finish_sb<N>(f, at, sb, res);
    }
}

// ---- the driver ----------------------------------------------------------------------------------------------

using TileFn = void (*)(const uint8_t* g, const uint8_t* at, int nsb, float* res);
using PackFn = void (*)(const block_q8_K* const* rows, int nsb, SumMode mode, int shift, uint8_t* at);

constexpr int kWidths[5] = {1, 2, 4, 8, 12};
constexpr int kSlabs[5] = {Tile<1>::kSB, Tile<2>::kSB, Tile<4>::kSB, Tile<8>::kSB, Tile<12>::kSB};
constexpr PackFn kPack[5] = {pack_tokens<1>, pack_tokens<2>, pack_tokens<4>, pack_tokens<8>, pack_tokens<12>};

struct Kernel {
    DType type;
    int group_bytes;
    SumMode mode;
    int shift;  // log2 of the code offset (kStart*)
    TileFn tile[5];
};

#define R1_AVX512KQ_KERNEL(type, bytes, mode, shift, fn) Kernel{type, bytes, mode, shift, {fn<1>, fn<2>, fn<4>, fn<8>, fn<12>}}
const Kernel kQ2K = R1_AVX512KQ_KERNEL(DType::Q2_K, 1344, kPairs16, 0, q2_K_tile);
const Kernel kQ3K = R1_AVX512KQ_KERNEL(DType::Q3_K, 1824, kStart16, 2, q3_K_tile);
const Kernel kQ4K = R1_AVX512KQ_KERNEL(DType::Q4_K, 2368, kPairs32, 0, q4_K_tile);
const Kernel kQ5K = R1_AVX512KQ_KERNEL(DType::Q5_K, 2880, kPairs32, 0, q5_K_tile);
const Kernel kQ6K = R1_AVX512KQ_KERNEL(DType::Q6_K, 3360, kStart16, 5, q6_K_tile);
const Kernel kIQ4XS = R1_AVX512KQ_KERNEL(DType::IQ4_XS, 2208, kStart32, 7, iq4_xs_tile);
#undef R1_AVX512KQ_KERNEL

// The tile width for `remaining` tokens: 12 while at least 12 remain, else the smallest width that covers them
// (the missing tokens repeat the last one and their results are dropped).
int width_index(int64_t remaining) {
    if (remaining >= 12) return 4;
    if (remaining > 4) return remaining > 8 ? 4 : 3;
    return remaining > 2 ? 2 : remaining > 1 ? 1 : 0;
}

void run(const Kernel& k, const CpuWeight& w, const void* act, size_t act_row_bytes, int64_t n_tokens, int64_t r0,
         int64_t r1, float* out, size_t out_stride) {
    // Not repacked (e.g. out of memory at load), or a range the layout cannot start at: the reference kernel.
    if (w.layout != x86_layout_id() || r0 % 16 != 0) {
        scalar_family()->by_type[uint32_t(k.type)]->gemm(w, act, act_row_bytes, n_tokens, r0, r1, out, out_stride);
        return;
    }
    const int nsb_row = int(w.cols / QK_K);
    const size_t group_stride = size_t(nsb_row) * size_t(k.group_bytes);
    const auto* a = static_cast<const uint8_t*>(act);
    alignas(64) uint8_t tile[kTileBytes];
    alignas(64) float res[12 * 16];
    const int64_t g0 = r0 / 16, g1 = (r1 + 15) / 16;
    for (int64_t t0 = 0; t0 < n_tokens;) {
        const int wi = width_index(n_tokens - t0);
        const int width = kWidths[wi];
        const int64_t real = n_tokens - t0 < width ? n_tokens - t0 : width;
        const block_q8_K* rows[12];
        for (int t = 0; t < width; ++t)
            rows[t] = reinterpret_cast<const block_q8_K*>(a + size_t(t0 + (t < real ? t : real - 1)) * act_row_bytes);
        for (int sb0 = 0; sb0 < nsb_row; sb0 += kSlabs[wi]) {
            const int nsb = nsb_row - sb0 < kSlabs[wi] ? nsb_row - sb0 : kSlabs[wi];
            const block_q8_K* slab_rows[12];
            for (int t = 0; t < width; ++t) slab_rows[t] = rows[t] + sb0;
            kPack[wi](slab_rows, nsb, k.mode, k.shift, tile);
            for (int64_t grp = g0; grp < g1; ++grp) {
                k.tile[wi](w.data + size_t(grp) * group_stride + size_t(sb0) * size_t(k.group_bytes), tile, nsb, res);
                const int64_t valid = r1 - 16 * grp < 16 ? r1 - 16 * grp : 16;
                const __mmask16 mask = __mmask16((1u << valid) - 1u);
                for (int64_t t = 0; t < real; ++t) {
                    float* o = out + size_t(t0 + t) * out_stride + size_t(16 * grp);
                    __m512 v = _mm512_loadu_ps(res + 16 * t);
                    if (sb0 > 0) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, o));
                    _mm512_mask_storeu_ps(o, mask, v);
                }
            }
        }
        t0 += real;
    }
}

void gemm_q2_K(const CpuWeight& w, const void* act, size_t arb, int64_t n, int64_t r0, int64_t r1, float* out, size_t os) {
    run(kQ2K, w, act, arb, n, r0, r1, out, os);
}
void gemm_q3_K(const CpuWeight& w, const void* act, size_t arb, int64_t n, int64_t r0, int64_t r1, float* out, size_t os) {
    run(kQ3K, w, act, arb, n, r0, r1, out, os);
}
void gemm_q4_K(const CpuWeight& w, const void* act, size_t arb, int64_t n, int64_t r0, int64_t r1, float* out, size_t os) {
    run(kQ4K, w, act, arb, n, r0, r1, out, os);
}
void gemm_q5_K(const CpuWeight& w, const void* act, size_t arb, int64_t n, int64_t r0, int64_t r1, float* out, size_t os) {
    run(kQ5K, w, act, arb, n, r0, r1, out, os);
}
void gemm_q6_K(const CpuWeight& w, const void* act, size_t arb, int64_t n, int64_t r0, int64_t r1, float* out, size_t os) {
    run(kQ6K, w, act, arb, n, r0, r1, out, os);
}
void gemm_iq4_xs(const CpuWeight& w, const void* act, size_t arb, int64_t n, int64_t r0, int64_t r1, float* out, size_t os) {
    run(kIQ4XS, w, act, arb, n, r0, r1, out, os);
}

}  // namespace
}  // namespace avx512_kq

}  // namespace r1::cpu

#undef R1_AVX512KQ_UNROLL
#undef R1_AVX512KQ_INLINE

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#pragma GCC diagnostic pop

// Built with the default target (it runs while the family's table is built, on any x86 CPU).
namespace r1::cpu {
void avx512_kquants_fill(MatmulKernels* by_type) {
    by_type[uint32_t(DType::Q2_K)].gemm = avx512_kq::gemm_q2_K;
    by_type[uint32_t(DType::Q3_K)].gemm = avx512_kq::gemm_q3_K;
    by_type[uint32_t(DType::Q4_K)].gemm = avx512_kq::gemm_q4_K;
    by_type[uint32_t(DType::Q5_K)].gemm = avx512_kq::gemm_q5_K;
    by_type[uint32_t(DType::Q6_K)].gemm = avx512_kq::gemm_q6_K;
    by_type[uint32_t(DType::IQ4_XS)].gemm = avx512_kq::gemm_iq4_xs;
}

}  // namespace r1::cpu

#endif  // __x86_64__
