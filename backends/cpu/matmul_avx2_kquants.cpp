// AVX2 gemm kernels of the 256-value super-block types: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS, reading the
// interleaved 16-row layout of matmul_avx2_repack.cpp (as two halves of 8 rows, one int32 lane per row) and Q8_K
// activations.
//
// The AVX2 int8 product is vpmaddubsw (unsigned weight byte x signed activation byte, adjacent pairs summed to
// int16, saturating) followed by vpmaddwd, which multiplies int16 pairs and sums them to int32. The kernels keep
// the pair sums of a whole sub-block in int16 where the code range allows it (checked next to each type), and
// fold the sub-block scale into the vpmaddwd (scale as an int16 pair), so the super-block sum stays an exact
// integer. Offsets and mins use vpmaddwd of per-row int16 pairs with Q8_K's bsums. Weights whose codes are signed
// bytes (IQ4_XS) use the sign trick instead: |w| x (a with w's sign) never saturates for |w| <= 127.
//
// Tile: 8 rows (one half of a group) x N tokens (1, 2 or 4); activations copied per tile into a buffer with a
// compile-time stride per token, as in the AVX-512 family.
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

#define R1_AVX2KQ_UNROLL _Pragma("GCC unroll 16")
#define R1_AVX2KQ_INLINE inline __attribute__((always_inline))

namespace r1::cpu {


namespace avx2_kq {
namespace {

R1_AVX2KQ_INLINE int32_t ld_i32(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
R1_AVX2KQ_INLINE float ld_f32(const uint8_t* p) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
}
R1_AVX2KQ_INLINE uint32_t ld_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
R1_AVX2KQ_INLINE int64_t ld_i64(const uint8_t* p) {
    int64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
R1_AVX2KQ_INLINE __m256i bcast32(const uint8_t* p) { return _mm256_set1_epi32(ld_i32(p)); }
R1_AVX2KQ_INLINE __m256i ld256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
R1_AVX2KQ_INLINE __m128i ld128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
R1_AVX2KQ_INLINE __m128i ld64(const uint8_t* p) { return _mm_cvtsi64_si128(ld_i64(p)); }
R1_AVX2KQ_INLINE __m256 f16x8(const uint8_t* p) { return _mm256_cvtph_ps(ld128(p)); }
R1_AVX2KQ_INLINE __m256i nibbles_lo(__m256i x) { return _mm256_and_si256(x, _mm256_set1_epi8(0x0F)); }
R1_AVX2KQ_INLINE __m256i nibbles_hi(__m256i x) {
    return _mm256_and_si256(_mm256_srli_epi16(x, 4), _mm256_set1_epi8(0x0F));
}
// The 32 bits of a mask that cover this half's 8 rows x 4 values, as bytes 0xFF / 0x00 (byte j <-> bit j).
R1_AVX2KQ_INLINE __m256i expand_mask(uint32_t bits) {
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3,
                                          3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201ull));
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(int32_t(bits)), shuf);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}
R1_AVX2KQ_INLINE __m256i add_masked(__m256i codes, const uint8_t* mask64, int half, int8_t value) {
    const __m256i m = expand_mask(ld_u32(mask64 + 4 * half));
    return _mm256_add_epi8(codes, _mm256_and_si256(m, _mm256_set1_epi8(value)));
}
// (x_lo, x_hi) int16 pairs -> (x_lo, x_lo) and (x_hi, x_hi): the scale of one sub-block in both halves of a lane.
R1_AVX2KQ_INLINE __m256i dup_lo16(__m256i v) { return _mm256_shufflehi_epi16(_mm256_shufflelo_epi16(v, 0xA0), 0xA0); }
R1_AVX2KQ_INLINE __m256i dup_hi16(__m256i v) { return _mm256_shufflehi_epi16(_mm256_shufflelo_epi16(v, 0xF5), 0xF5); }
// 8 int8 scales (one per row) as (sc, sc) int16 pairs.
R1_AVX2KQ_INLINE __m256i scale_pairs_i8(const uint8_t* p) { return dup_lo16(_mm256_cvtepi8_epi32(ld64(p))); }

// ---- the activation tile -------------------------------------------------------------------------------------

// Per token, for a slab of kSB super-blocks: codes [kSB][256], d [kSB] (float), sums [kSB][32 bytes]: Q8_K's
// bsums as int16 pairs (kPairs16) or the 8 sums over 32 values as int16 pairs (kPairs32).
template <int N>
struct Tile {
    static constexpr int kSB = 32 / N;
    static constexpr int kD = 256 * kSB;
    static constexpr int kSums = kD + 4 * kSB;
    static constexpr int kStride = kSums + 32 * kSB;
};
constexpr int kTileBytes = 4 * Tile<4>::kStride;
static_assert(Tile<1>::kStride == kTileBytes && Tile<2>::kStride * 2 == kTileBytes, "one buffer for every width");

enum SumMode { kPairs16, kPairs32 };

template <int N>
void pack_tokens(const block_q8_K* const* rows, int nsb, SumMode mode, uint8_t* at) {
    using L = Tile<N>;
    for (int t = 0; t < N; ++t) {
        uint8_t* p = at + t * L::kStride;
        for (int sb = 0; sb < nsb; ++sb) {
            const block_q8_K& b = rows[t][sb];
            std::memcpy(p + 256 * sb, b.qs, 256);
            std::memcpy(p + L::kD + 4 * sb, &b.d, 4);
            uint8_t* sums = p + L::kSums + 32 * sb;
            if (mode == kPairs16) {
                std::memcpy(sums, b.bsums, 32);
            } else {
                int16_t s32[8];
                for (int s = 0; s < 8; ++s) s32[s] = int16_t(b.bsums[2 * s] + b.bsums[2 * s + 1]);
                std::memcpy(sums, s32, 16);
            }
        }
    }
}

// Prefetches the next weights (weight_prefetch_bytes ahead; none where the hardware prefetchers do better).
R1_AVX2KQ_INLINE void prefetch_ahead(const uint8_t* p, int bytes) {
    static const int ahead = weight_prefetch_bytes();
    if (ahead > 0)
        for (int i = 0; i < bytes; i += 64) _mm_prefetch(reinterpret_cast<const char*>(p + ahead + i), _MM_HINT_T0);
}

// res[t][0..7] += float(acc[t]) * scale * d_t (the token's Q8_K scale of super-block sb).
template <int N>
R1_AVX2KQ_INLINE void add_scaled(const __m256i* acc, __m256 scale, const uint8_t* at, int sb, float* res) {
    R1_AVX2KQ_UNROLL for (int t = 0; t < N; ++t) {
        const __m256 d = _mm256_mul_ps(scale, _mm256_set1_ps(ld_f32(at + t * Tile<N>::kStride + Tile<N>::kD + 4 * sb)));
        _mm256_storeu_ps(res + 8 * t, _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[t]), d, _mm256_loadu_ps(res + 8 * t)));
    }
}

// acc[t] = sum_j  w_pair_j . (activation int16 pair j of token t)   (vpmaddwd)
template <int N, int Pairs>
R1_AVX2KQ_INLINE void pair_dot(const __m256i* wp, const uint8_t* ap, __m256i* acc) {
    R1_AVX2KQ_UNROLL for (int t = 0; t < N; ++t) {
        __m256i s = _mm256_madd_epi16(wp[0], bcast32(ap + t * Tile<N>::kStride));
        R1_AVX2KQ_UNROLL for (int j = 1; j < Pairs; ++j)
            s = _mm256_add_epi32(s, _mm256_madd_epi16(wp[j], bcast32(ap + t * Tile<N>::kStride + 4 * j)));
        acc[t] = s;
    }
}

// s16[t] (+)= maddubs(codes, 4 activation bytes of token t)
template <int N, bool First>
R1_AVX2KQ_INLINE void mad_quad(__m256i codes, const uint8_t* aq, __m256i* s16) {
    R1_AVX2KQ_UNROLL for (int t = 0; t < N; ++t) {
        const __m256i p = _mm256_maddubs_epi16(codes, bcast32(aq + t * Tile<N>::kStride));
        s16[t] = First ? p : _mm256_add_epi16(s16[t], p);
    }
}

// acc[t] += madd(s16[t], scale pairs)
template <int N>
R1_AVX2KQ_INLINE void fold(const __m256i* s16, __m256i sc, __m256i* acc) {
    R1_AVX2KQ_UNROLL for (int t = 0; t < N; ++t) acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(s16[t], sc));
}

template <int N>
R1_AVX2KQ_INLINE void zero(__m256i* acc) {
    R1_AVX2KQ_UNROLL for (int t = 0; t < N; ++t) acc[t] = _mm256_setzero_si256();
}

// ---- Q4_K / Q5_K ---------------------------------------------------------------------------------------------
// One 32-value sub-block, codes <= 15 (Q4_K) or 31 (Q5_K): a maddubs pair is <= 2*31*127 = 7874 and a 16-bit lane
// collects 4 of them per nibble half (<= 31496), so the low and the high nibbles get one int16 sum each.

template <int N, bool Q5>
R1_AVX2KQ_INLINE void k4_sub(const uint8_t* qs, const uint8_t* masks, const uint8_t* aq, int half, __m256i sc,
                             __m256i* acc) {
    __m256i lo16[N], hi16[N];
    R1_AVX2KQ_UNROLL for (int i = 0; i < 4; ++i) {
        const __m256i x = ld256(qs + 64 * i + 32 * half);
        __m256i lo = nibbles_lo(x), hi = nibbles_hi(x);
        if (Q5) {
            lo = add_masked(lo, masks + 8 * i, half, 16);
            hi = add_masked(hi, masks + 8 * (4 + i), half, 16);
        }
        if (i == 0) {
            mad_quad<N, true>(lo, aq, lo16);
            mad_quad<N, true>(hi, aq + 16, hi16);
        } else {
            mad_quad<N, false>(lo, aq + 4 * i, lo16);
            mad_quad<N, false>(hi, aq + 16 + 4 * i, hi16);
        }
    }
    fold<N>(lo16, sc, acc);
    fold<N>(hi16, sc, acc);
}

template <int N, bool Q5>
void k4_tile(const uint8_t* g0, const uint8_t* at, int nsb, float* res) {
    using L = Tile<N>;
    constexpr int kBytes = Q5 ? 2880 : 2368;
    constexpr int kQs = Q5 ? 832 : 320;
    for (int half = 0; half < 2; ++half) {
        float* r = res + 8 * N * half;
        R1_AVX2KQ_UNROLL for (int t = 0; t < N; ++t) _mm256_storeu_ps(r + 8 * t, _mm256_setzero_ps());
        const uint8_t* g = g0;
        for (int sb = 0; sb < nsb; ++sb, g += kBytes) {
            if (half == 0) prefetch_ahead(g, kBytes);
            __m256i acc[N];
            {
                __m256i mp[4];
                R1_AVX2KQ_UNROLL for (int j = 0; j < 4; ++j) mp[j] = _mm256_cvtepu8_epi16(ld128(g + 192 + 32 * j + 16 * half));
                pair_dot<N, 4>(mp, at + L::kSums + 32 * sb, acc);
            }
            add_scaled<N>(acc, _mm256_sub_ps(_mm256_setzero_ps(), f16x8(g + 32 + 16 * half)), at, sb, r);
            zero<N>(acc);
            const uint8_t* aq = at + 256 * sb;
            for (int j = 0; j < 4; ++j) {
                const __m256i sp = _mm256_cvtepu8_epi16(ld128(g + 64 + 32 * j + 16 * half));
                k4_sub<N, Q5>(g + kQs + 512 * j, g + 320 + 128 * j, aq + 64 * j, half, dup_lo16(sp), acc);
                k4_sub<N, Q5>(g + kQs + 512 * j + 256, g + 320 + 128 * j + 64, aq + 64 * j + 32, half, dup_hi16(sp), acc);
            }
            add_scaled<N>(acc, f16x8(g + 16 * half), at, sb, r);
        }
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
// Codes 0..63: a maddubs pair is <= 2*63*127 = 16002, so two quads fit an int16 lane (<= 32004); each such sum is
// scaled by vpmaddwd. Offset: -32 * sum_s sc_s * bsum_s, from the int8 scales as pairs against the bsum pairs.

template <int N>
void q6_K_tile(const uint8_t* g0, const uint8_t* at, int nsb, float* res) {
    using L = Tile<N>;
    const __m256i m30 = _mm256_set1_epi8(0x30);
    for (int half = 0; half < 2; ++half) {
        float* r = res + 8 * N * half;
        R1_AVX2KQ_UNROLL for (int t = 0; t < N; ++t) _mm256_storeu_ps(r + 8 * t, _mm256_setzero_ps());
        const uint8_t* g = g0;
        for (int sb = 0; sb < nsb; ++sb, g += 3360) {
            if (half == 0) prefetch_ahead(g, 3360);
            const __m256 d = f16x8(g + 16 * half);
            __m256i acc[N];
            {
                __m256i sp[8];
                R1_AVX2KQ_UNROLL for (int j = 0; j < 8; ++j)
                    sp[j] = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(ld64(g + 32 + 32 * j + 8 * half), ld64(g + 48 + 32 * j + 8 * half)));
                pair_dot<N, 8>(sp, at + L::kSums + 32 * sb, acc);
            }
            add_scaled<N>(acc, _mm256_mul_ps(d, _mm256_set1_ps(-32.0f)), at, sb, r);
            zero<N>(acc);
            const uint8_t* aq = at + 256 * sb;
            for (int s = 0; s < 16; ++s) {
                const uint8_t* c = g + 288 + 192 * s + 32 * half;
                const __m256i a = ld256(c), b = ld256(c + 64), h = ld256(c + 128);
                const __m256i q0 = _mm256_or_si256(nibbles_lo(a), _mm256_and_si256(_mm256_slli_epi16(h, 4), m30));
                const __m256i q1 = _mm256_or_si256(nibbles_hi(a), _mm256_and_si256(_mm256_slli_epi16(h, 2), m30));
                const __m256i q2 = _mm256_or_si256(nibbles_lo(b), _mm256_and_si256(h, m30));
                const __m256i q3 = _mm256_or_si256(nibbles_hi(b), _mm256_and_si256(_mm256_srli_epi16(h, 2), m30));
                const __m256i sc = scale_pairs_i8(g + 32 + 16 * s + 8 * half);
                const uint8_t* as = aq + 16 * s;
                __m256i s01[N], s23[N];
                mad_quad<N, true>(q0, as, s01);
                mad_quad<N, false>(q1, as + 4, s01);
                mad_quad<N, true>(q2, as + 8, s23);
                mad_quad<N, false>(q3, as + 12, s23);
                fold<N>(s01, sc, acc);
                fold<N>(s23, sc, acc);
            }
            add_scaled<N>(acc, d, at, sb, r);
        }
    }
}

// ---- Q3_K ----------------------------------------------------------------------------------------------------
// Codes q + 4 in 0..7 (a maddubs pair <= 1778, a 16-value sub-block <= 7112 per int16 lane), scale sc - 32.

template <int N>
void q3_K_tile(const uint8_t* g0, const uint8_t* at, int nsb, float* res) {
    using L = Tile<N>;
    const __m256i m3 = _mm256_set1_epi8(3);
    for (int half = 0; half < 2; ++half) {
        float* r = res + 8 * N * half;
        R1_AVX2KQ_UNROLL for (int t = 0; t < N; ++t) _mm256_storeu_ps(r + 8 * t, _mm256_setzero_ps());
        const uint8_t* g = g0;
        for (int sb = 0; sb < nsb; ++sb, g += 1824) {
            if (half == 0) prefetch_ahead(g, 1824);
            const __m256 d = f16x8(g + 16 * half);
            __m256i acc[N];
            {
                __m256i sp[8];
                R1_AVX2KQ_UNROLL for (int j = 0; j < 8; ++j)
                    sp[j] = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(ld64(g + 32 + 32 * j + 8 * half), ld64(g + 48 + 32 * j + 8 * half)));
                pair_dot<N, 8>(sp, at + L::kSums + 32 * sb, acc);
            }
            add_scaled<N>(acc, _mm256_mul_ps(d, _mm256_set1_ps(-4.0f)), at, sb, r);
            zero<N>(acc);
            const uint8_t* aq = at + 256 * sb;
            for (int s = 0; s < 16; ++s) {
                const __m256i x = ld256(g + 288 + 64 * s + 32 * half);
                const uint8_t* masks = g + 1312 + 32 * s;
                __m256i s16[N];
                R1_AVX2KQ_UNROLL for (int k = 0; k < 4; ++k) {
                    __m256i q = _mm256_and_si256(k == 0 ? x : _mm256_srli_epi16(x, 2 * k), m3);
                    q = add_masked(q, masks + 8 * k, half, 4);
                    if (k == 0) mad_quad<N, true>(q, aq + 16 * s, s16);
                    else mad_quad<N, false>(q, aq + 16 * s + 4 * k, s16);
                }
                fold<N>(s16, scale_pairs_i8(g + 32 + 16 * s + 8 * half), acc);
            }
            add_scaled<N>(acc, d, at, sb, r);
        }
    }
}

// ---- Q2_K ----------------------------------------------------------------------------------------------------
// Codes 0..3 (a 16-value sub-block <= 3048 per int16 lane); scale byte sc | m << 4 as pairs.

template <int N>
void q2_K_tile(const uint8_t* g0, const uint8_t* at, int nsb, float* res) {
    using L = Tile<N>;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i low4 = _mm256_set1_epi16(0xF);
    for (int half = 0; half < 2; ++half) {
        float* r = res + 8 * N * half;
        R1_AVX2KQ_UNROLL for (int t = 0; t < N; ++t) _mm256_storeu_ps(r + 8 * t, _mm256_setzero_ps());
        const uint8_t* g = g0;
        for (int sb = 0; sb < nsb; ++sb, g += 1344) {
            if (half == 0) prefetch_ahead(g, 1344);
            __m256i acc[N];
            {
                __m256i mp[8];
                R1_AVX2KQ_UNROLL for (int j = 0; j < 8; ++j)
                    mp[j] = _mm256_srli_epi16(_mm256_cvtepu8_epi16(ld128(g + 64 + 32 * j + 16 * half)), 4);
                pair_dot<N, 8>(mp, at + L::kSums + 32 * sb, acc);
            }
            add_scaled<N>(acc, _mm256_sub_ps(_mm256_setzero_ps(), f16x8(g + 32 + 16 * half)), at, sb, r);
            zero<N>(acc);
            const uint8_t* aq = at + 256 * sb;
            for (int j = 0; j < 8; ++j) {
                const __m256i sp = _mm256_and_si256(_mm256_cvtepu8_epi16(ld128(g + 64 + 32 * j + 16 * half)), low4);
                for (int e = 0; e < 2; ++e) {
                    const int s = 2 * j + e;
                    const __m256i x = ld256(g + 320 + 64 * s + 32 * half);
                    __m256i s16[N];
                    R1_AVX2KQ_UNROLL for (int k = 0; k < 4; ++k) {
                        const __m256i q = _mm256_and_si256(k == 0 ? x : _mm256_srli_epi16(x, 2 * k), m3);
                        if (k == 0) mad_quad<N, true>(q, aq + 16 * s, s16);
                        else mad_quad<N, false>(q, aq + 16 * s + 4 * k, s16);
                    }
                    fold<N>(s16, e == 0 ? dup_lo16(sp) : dup_hi16(sp), acc);
                }
            }
            add_scaled<N>(acc, f16x8(g + 16 * half), at, sb, r);
        }
    }
}

// ---- IQ4_XS --------------------------------------------------------------------------------------------------
// Codebook values are signed bytes: maddubs(|w|, a with w's sign) per quad (<= 2*127*127 = 32258, one quad per
// int16 lane), scaled at once by vpmaddwd with (ls - 32).

template <int N>
R1_AVX2KQ_INLINE void signed_quad(__m256i w, const uint8_t* aq, __m256i sc, __m256i* acc) {
    const __m256i aw = _mm256_sign_epi8(w, w);
    R1_AVX2KQ_UNROLL for (int t = 0; t < N; ++t) {
        const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(bcast32(aq + t * Tile<N>::kStride), w));
        acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(p, sc));
    }
}

template <int N>
void iq4_xs_tile(const uint8_t* g0, const uint8_t* at, int nsb, float* res) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4NLValues)));
    for (int half = 0; half < 2; ++half) {
        float* r = res + 8 * N * half;
        R1_AVX2KQ_UNROLL for (int t = 0; t < N; ++t) _mm256_storeu_ps(r + 8 * t, _mm256_setzero_ps());
        const uint8_t* g = g0;
        for (int sb = 0; sb < nsb; ++sb, g += 2208) {
            if (half == 0) prefetch_ahead(g, 2208);
            __m256i acc[N];
            zero<N>(acc);
            const uint8_t* aq = at + 256 * sb;
            for (int s = 0; s < 8; ++s) {
                const __m256i sc = scale_pairs_i8(g + 32 + 16 * s + 8 * half);
                R1_AVX2KQ_UNROLL for (int i = 0; i < 4; ++i) {
                    const __m256i x = ld256(g + 160 + 256 * s + 64 * i + 32 * half);
                    signed_quad<N>(_mm256_shuffle_epi8(table, nibbles_lo(x)), aq + 32 * s + 4 * i, sc, acc);
                    signed_quad<N>(_mm256_shuffle_epi8(table, nibbles_hi(x)), aq + 32 * s + 16 + 4 * i, sc, acc);
                }
            }
            add_scaled<N>(acc, f16x8(g + 16 * half), at, sb, r);
        }
    }
}

// ---- the driver ----------------------------------------------------------------------------------------------

using TileFn = void (*)(const uint8_t* g, const uint8_t* at, int nsb, float* res);
using PackFn = void (*)(const block_q8_K* const* rows, int nsb, SumMode mode, uint8_t* at);

constexpr int kWidths[3] = {1, 2, 4};
constexpr int kSlabs[3] = {Tile<1>::kSB, Tile<2>::kSB, Tile<4>::kSB};
constexpr PackFn kPack[3] = {pack_tokens<1>, pack_tokens<2>, pack_tokens<4>};

struct Kernel {
    DType type;
    int group_bytes;
    SumMode mode;
    TileFn tile[3];
};

#define R1_AVX2KQ_KERNEL(type, bytes, mode, fn) Kernel{type, bytes, mode, {fn<1>, fn<2>, fn<4>}}
const Kernel kQ2K = R1_AVX2KQ_KERNEL(DType::Q2_K, 1344, kPairs16, q2_K_tile);
const Kernel kQ3K = R1_AVX2KQ_KERNEL(DType::Q3_K, 1824, kPairs16, q3_K_tile);
const Kernel kQ4K = R1_AVX2KQ_KERNEL(DType::Q4_K, 2368, kPairs32, q4_K_tile);
const Kernel kQ5K = R1_AVX2KQ_KERNEL(DType::Q5_K, 2880, kPairs32, q5_K_tile);
const Kernel kQ6K = R1_AVX2KQ_KERNEL(DType::Q6_K, 3360, kPairs16, q6_K_tile);
const Kernel kIQ4XS = R1_AVX2KQ_KERNEL(DType::IQ4_XS, 2208, kPairs16, iq4_xs_tile);
#undef R1_AVX2KQ_KERNEL

void run(const Kernel& k, const CpuWeight& w, const void* act, size_t act_row_bytes, int64_t n_tokens, int64_t r0,
         int64_t r1, float* out, size_t out_stride) {
    if (w.layout != x86_layout_id() || r0 % 16 != 0) {  // not repacked, or a range the layout cannot start at
        scalar_family()->by_type[uint32_t(k.type)]->gemm(w, act, act_row_bytes, n_tokens, r0, r1, out, out_stride);
        return;
    }
    const int nsb_row = int(w.cols / QK_K);
    const size_t group_stride = size_t(nsb_row) * size_t(k.group_bytes);
    const auto* a = static_cast<const uint8_t*>(act);
    alignas(64) uint8_t tile[kTileBytes];
    alignas(64) float res[4 * 16];
    const int64_t g0 = r0 / 16, g1 = (r1 + 15) / 16;
    for (int64_t t0 = 0; t0 < n_tokens;) {
        const int64_t remaining = n_tokens - t0;
        const int wi = remaining > 2 ? 2 : remaining > 1 ? 1 : 0;
        const int width = kWidths[wi];
        const int64_t real = remaining < width ? remaining : width;
        for (int sb0 = 0; sb0 < nsb_row; sb0 += kSlabs[wi]) {
            const int nsb = nsb_row - sb0 < kSlabs[wi] ? nsb_row - sb0 : kSlabs[wi];
            const block_q8_K* rows[4];
            for (int t = 0; t < width; ++t)
                rows[t] = reinterpret_cast<const block_q8_K*>(a + size_t(t0 + (t < real ? t : real - 1)) * act_row_bytes) + sb0;
            kPack[wi](rows, nsb, k.mode, tile);
            for (int64_t grp = g0; grp < g1; ++grp) {
                k.tile[wi](w.data + size_t(grp) * group_stride + size_t(sb0) * size_t(k.group_bytes), tile, nsb, res);
                const int64_t valid = r1 - 16 * grp < 16 ? r1 - 16 * grp : 16;
                for (int64_t t = 0; t < real; ++t) {
                    float* o = out + size_t(t0 + t) * out_stride + size_t(16 * grp);
                    for (int64_t i = 0; i < valid; ++i) {
                        const float v = res[(i / 8) * 8 * width + 8 * t + i % 8];
                        o[i] = sb0 > 0 ? o[i] + v : v;
                    }
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
}  // namespace avx2_kq
}  // namespace r1::cpu

#undef R1_AVX2KQ_UNROLL
#undef R1_AVX2KQ_INLINE

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#pragma GCC diagnostic pop

// Built with the default target (it runs while the family's table is built).
namespace r1::cpu {
void avx2_kquants_fill(MatmulKernels* by_type) {
    by_type[uint32_t(DType::Q2_K)].gemm = avx2_kq::gemm_q2_K;
    by_type[uint32_t(DType::Q3_K)].gemm = avx2_kq::gemm_q3_K;
    by_type[uint32_t(DType::Q4_K)].gemm = avx2_kq::gemm_q4_K;
    by_type[uint32_t(DType::Q5_K)].gemm = avx2_kq::gemm_q5_K;
    by_type[uint32_t(DType::Q6_K)].gemm = avx2_kq::gemm_q6_K;
    by_type[uint32_t(DType::IQ4_XS)].gemm = avx2_kq::gemm_iq4_xs;
}
}  // namespace r1::cpu

#endif  // __x86_64__
