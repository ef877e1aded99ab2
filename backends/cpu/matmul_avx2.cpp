// The AVX2 kernel family (AVX2 + FMA + F16C): activation quantizers, the gemm kernels of the float types and of
// the 32-value block types, and the family's table. The K-quants are in matmul_avx2_kquants.cpp, the interleaved
// weight layout in matmul_avx2_repack.cpp (shared with AVX-512), the other operations in ops_avx2.cpp.
//
// Quantized weights: 8 rows (half a group of the interleaved layout) in the int32 lanes of a ymm, 4 codes per row
// and lane, times 4 activation bytes broadcast (vpmaddubsw + vpmaddwd; see matmul_avx2_kquants.cpp). Unsigned
// codes (Q4_0/Q5_0 shifted by 8/16, Q4_1, Q5_1) accumulate in int16 while their range allows it; the shift is
// taken back by starting the block's integer sum at -c * sum(activation codes). Signed byte weights (Q8_0, IQ4_NL)
// use |w| x (a with w's sign), which cannot saturate for |w| <= 128, |a| <= 127.
//
// Float weights (F32, F16, BF16) stay in GGUF rows with F32 activations: 4 rows x 2 tokens of 8-lane partial sums.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "matmul.h"
#include "quants/blocks.h"
#include "quants/fp16.h"

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

#define R1_AVX2_UNROLL _Pragma("GCC unroll 16")
#define R1_AVX2_INLINE inline __attribute__((always_inline))

namespace r1::cpu {


namespace avx2_mm {
namespace {

// Prefetches the weights weight_prefetch_bytes() ahead of a block (one-token products are bound by memory latency
// on Intel; on AMD the hardware prefetchers do better alone, and the distance is 0).
R1_AVX2_INLINE void prefetch_block(const uint8_t* g, int bytes) {
    static const int ahead = weight_prefetch_bytes();
    if (ahead > 0)
        for (int i = 0; i < bytes; i += 64) _mm_prefetch(reinterpret_cast<const char*>(g + ahead + i), _MM_HINT_T0);
}

R1_AVX2_INLINE int32_t ld_i32(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
R1_AVX2_INLINE float ld_f32(const uint8_t* p) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
}
R1_AVX2_INLINE uint32_t ld_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
R1_AVX2_INLINE __m256i bcast32(const uint8_t* p) { return _mm256_set1_epi32(ld_i32(p)); }
R1_AVX2_INLINE __m256i ld256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
R1_AVX2_INLINE __m256 f16x8(const uint8_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
R1_AVX2_INLINE __m256i nibbles_lo(__m256i x) { return _mm256_and_si256(x, _mm256_set1_epi8(0x0F)); }
R1_AVX2_INLINE __m256i nibbles_hi(__m256i x) { return _mm256_and_si256(_mm256_srli_epi16(x, 4), _mm256_set1_epi8(0x0F)); }
R1_AVX2_INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
R1_AVX2_INLINE int hsum8_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}
R1_AVX2_INLINE float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
R1_AVX2_INLINE __m256 abs8(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }
// 32 int32 (four vectors, each in -127..127) -> 32 int8 in order.
R1_AVX2_INLINE __m256i pack_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    const __m256i abcd = _mm256_packs_epi16(ab, cd);
    // packs work per 128-bit lane: the int32 order is now 0-3 4-7 8-11 12-15 | ... interleaved by lane; fix it.
    return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// ---- activation quantizers -----------------------------------------------------------------------------------

// roundf (halves away from zero) as int32, exactly: floor(|v|) + (fraction >= 0.5), with v's sign.
R1_AVX2_INLINE __m256i round_away(__m256 v) {
    const __m256 a = abs8(v);
    const __m256 fl = _mm256_round_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __m256 up = _mm256_cmp_ps(_mm256_sub_ps(a, fl), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 r = _mm256_add_ps(fl, _mm256_and_ps(up, _mm256_set1_ps(1.0f)));
    return _mm256_cvttps_epi32(_mm256_or_ps(r, _mm256_and_ps(v, _mm256_set1_ps(-0.0f))));
}

// ggml's quantize_row_q8_0_ref / q8_1_ref (d = amax / 127, codes roundf(x / d)), code for code.
template <bool Q81>
void quantize_q8_0_1(const float* x, void* out, int64_t n) {
    auto* y = static_cast<uint8_t*>(out);
    const size_t block = Q81 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    for (int64_t i = 0; i < n / 32; ++i, x += 32, y += block) {
        __m256 v[4];
        __m256 amax = _mm256_setzero_ps();
        for (int k = 0; k < 4; ++k) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            amax = _mm256_max_ps(amax, abs8(v[k]));
        }
        const float d = hmax8(amax) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        __m256i q[4];
        for (int k = 0; k < 4; ++k) q[k] = round_away(_mm256_mul_ps(v[k], _mm256_set1_ps(id)));
        const uint16_t dh = fp32_to_fp16(d);
        std::memcpy(y, &dh, 2);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + (Q81 ? 4 : 2)), pack_i8(q[0], q[1], q[2], q[3]));
        if (Q81) {
            const int sum = hsum8_i32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
            const uint16_t sh = fp32_to_fp16(float(sum) * d);
            std::memcpy(y + 2, &sh, 2);
        }
    }
}
void quantize_q8_0(const float* x, void* out, int64_t n) { quantize_q8_0_1<false>(x, out, n); }
void quantize_q8_1(const float* x, void* out, int64_t n) { quantize_q8_0_1<true>(x, out, n); }

// ggml's quantize_row_q8_K_ref: the first value of largest magnitude maps to -127, codes rounded to nearest even,
// clamped to 127 above; bsums per 16 codes.
void quantize_q8_K(const float* x, void* out, int64_t n) {
    auto* y = static_cast<block_q8_K*>(out);
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        __m256 amax_v = _mm256_setzero_ps();
        for (int k = 0; k < 32; ++k) amax_v = _mm256_max_ps(amax_v, abs8(_mm256_loadu_ps(x + 8 * k)));
        const float amax = hmax8(amax_v);
        if (amax == 0.0f) {
            std::memset(&y[i], 0, sizeof(block_q8_K));
            continue;
        }
        float max = 0.0f;
        for (int k = 0; k < 32; ++k) {
            const int hit = _mm256_movemask_ps(_mm256_cmp_ps(abs8(_mm256_loadu_ps(x + 8 * k)), _mm256_set1_ps(amax), _CMP_EQ_OQ));
            if (hit) {
                max = x[8 * k + __builtin_ctz(unsigned(hit))];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 vs = _mm256_set1_ps(iscale);
        for (int k = 0; k < 8; ++k) {
            __m256i q[4];
            for (int j = 0; j < 4; ++j) {
                const __m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * k + 8 * j), vs),
                                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                q[j] = _mm256_min_epi32(_mm256_cvtps_epi32(r), _mm256_set1_epi32(127));
            }
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + 32 * k), pack_i8(q[0], q[1], q[2], q[3]));
            y[i].bsums[2 * k] = int16_t(hsum8_i32(_mm256_add_epi32(q[0], q[1])));
            y[i].bsums[2 * k + 1] = int16_t(hsum8_i32(_mm256_add_epi32(q[2], q[3])));
        }
        y[i].d = 1.0f / iscale;
    }
}

// ---- 32-value block types --------------------------------------------------------------------------------------

// Per token, for a slab of kB blocks: codes [kB][32], d [kB] (float), x [kB]: -(sum of codes << shift) as int32
// (Q8_0 activations) or Q8_1's s as float.
template <int N>
struct LTile {
    static constexpr int kB = 256 / N;
    static constexpr int kD = 32 * kB;
    static constexpr int kX = kD + 4 * kB;
    static constexpr int kStride = kX + 4 * kB;
};
constexpr int kLTileBytes = 4 * LTile<4>::kStride;
static_assert(LTile<1>::kStride == kLTileBytes && LTile<2>::kStride * 2 == kLTileBytes, "one buffer for every width");

template <int N>
void pack_legacy(const uint8_t* const* rows, int nb, bool q81, int shift, uint8_t* at) {
    using L = LTile<N>;
    const size_t block = q81 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const int qs_off = q81 ? 4 : 2;
    for (int t = 0; t < N; ++t) {
        uint8_t* p = at + t * L::kStride;
        const uint8_t* b = rows[t];
        for (int i = 0; i < nb; ++i, b += block) {
            const __m256i q = ld256(b + qs_off);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 32 * i), q);
            uint16_t h;
            std::memcpy(&h, b, 2);
            const float d = fp16_to_fp32(h);
            std::memcpy(p + L::kD + 4 * i, &d, 4);
            if (q81) {
                std::memcpy(&h, b + 2, 2);
                const float s = fp16_to_fp32(h);
                std::memcpy(p + L::kX + 4 * i, &s, 4);
            } else {
                const __m256i sad = _mm256_sad_epu8(_mm256_xor_si256(q, _mm256_set1_epi8(-128)), _mm256_setzero_si256());
                const __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(sad), _mm256_extracti128_si256(sad, 1));
                const int sum = int(_mm_cvtsi128_si32(s2) + _mm_extract_epi32(s2, 2)) - 32 * 128;
                const int32_t x = -int32_t(uint32_t(sum) << shift);
                std::memcpy(p + L::kX + 4 * i, &x, 4);
            }
        }
    }
}

enum Legacy { kQ4_0, kQ4_1, kQ5_0, kQ5_1, kQ8_0, kIQ4_NL };

constexpr int legacy_bytes(int kind) {
    return kind == kQ4_0 || kind == kIQ4_NL ? 288 : kind == kQ4_1 ? 320 : kind == kQ5_0 ? 352 : kind == kQ5_1 ? 384 : 544;
}

R1_AVX2_INLINE __m256i expand_mask(uint32_t bits) {
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3,
                                          3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201ull));
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(int32_t(bits)), shuf);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

template <int N, bool First>
R1_AVX2_INLINE void mad_quad(__m256i codes, const uint8_t* aq, __m256i* s16) {
    R1_AVX2_UNROLL for (int t = 0; t < N; ++t) {
        const __m256i p = _mm256_maddubs_epi16(codes, bcast32(aq + t * LTile<N>::kStride));
        s16[t] = First ? p : _mm256_add_epi16(s16[t], p);
    }
}

// 8 rows (half `half` of the group) x N tokens over nb blocks; res[t][8].
template <int N, int Kind>
void legacy_half(const uint8_t* g, const uint8_t* at, int nb, int half, float* res) {
    using L = LTile<N>;
    constexpr bool kStart = Kind == kQ4_0 || Kind == kQ5_0;
    constexpr bool kMin = Kind == kQ4_1 || Kind == kQ5_1;
    constexpr bool kSigned = Kind == kQ8_0 || Kind == kIQ4_NL;
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4NLValues)));
    __m256 f[N];
    R1_AVX2_UNROLL for (int t = 0; t < N; ++t) f[t] = _mm256_setzero_ps();
    for (int b = 0; b < nb; ++b, g += legacy_bytes(Kind)) {
        if (half == 0)
            prefetch_block(g, legacy_bytes(Kind));
        const uint8_t* aq = at + 32 * b;
        __m256i acc[N];
        R1_AVX2_UNROLL for (int t = 0; t < N; ++t)
            acc[t] = kStart ? bcast32(at + t * L::kStride + L::kX + 4 * b) : _mm256_setzero_si256();
        if constexpr (kSigned) {
            R1_AVX2_UNROLL for (int q = 0; q < 8; ++q) {
                __m256i w;
                if constexpr (Kind == kQ8_0) {
                    w = ld256(g + 32 + 64 * q + 32 * half);
                } else {
                    const __m256i x = ld256(g + 32 + 64 * (q % 4) + 32 * half);
                    w = _mm256_shuffle_epi8(table, q < 4 ? nibbles_lo(x) : nibbles_hi(x));
                }
                const __m256i aw = _mm256_sign_epi8(w, w);
                R1_AVX2_UNROLL for (int t = 0; t < N; ++t) {
                    const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(bcast32(aq + t * L::kStride + 4 * q), w));
                    acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(p, ones));
                }
            }
        } else {
            // Q4: codes <= 15, 8 quads per int16 lane <= 8 * 2*15*127 = 30480. Q5: codes <= 31, 4 quads <= 31496,
            // so the low and high nibble halves get one int16 sum each.
            constexpr int kMasks = Kind == kQ5_0 ? 32 : Kind == kQ5_1 ? 64 : 0;
            constexpr int kQs = Kind == kQ4_0 ? 32 : Kind == kQ4_1 ? 64 : Kind == kQ5_0 ? 96 : 128;
            __m256i lo16[N], hi16[N];
            R1_AVX2_UNROLL for (int i = 0; i < 4; ++i) {
                const __m256i x = ld256(g + kQs + 64 * i + 32 * half);
                __m256i lo = nibbles_lo(x), hi = nibbles_hi(x);
                if constexpr (kMasks != 0) {
                    const __m256i c16 = _mm256_set1_epi8(16);
                    lo = _mm256_add_epi8(lo, _mm256_and_si256(expand_mask(ld_u32(g + kMasks + 8 * i + 4 * half)), c16));
                    hi = _mm256_add_epi8(hi, _mm256_and_si256(expand_mask(ld_u32(g + kMasks + 8 * (4 + i) + 4 * half)), c16));
                }
                if (i == 0) {
                    mad_quad<N, true>(lo, aq, lo16);
                    mad_quad<N, true>(hi, aq + 16, hi16);
                } else {
                    mad_quad<N, false>(lo, aq + 4 * i, lo16);
                    mad_quad<N, false>(hi, aq + 16 + 4 * i, hi16);
                }
            }
            R1_AVX2_UNROLL for (int t = 0; t < N; ++t) {
                if constexpr (kMasks == 0) {
                    acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(_mm256_add_epi16(lo16[t], hi16[t]), ones));
                } else {
                    acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(lo16[t], ones));
                    acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(hi16[t], ones));
                }
            }
        }
        const __m256 dw = f16x8(g + 16 * half);
        R1_AVX2_UNROLL for (int t = 0; t < N; ++t) {
            const __m256 da = _mm256_set1_ps(ld_f32(at + t * L::kStride + L::kD + 4 * b));
            f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[t]), _mm256_mul_ps(dw, da), f[t]);
        }
        if constexpr (kMin) {
            const __m256 mw = f16x8(g + 32 + 16 * half);
            R1_AVX2_UNROLL for (int t = 0; t < N; ++t)
                f[t] = _mm256_fmadd_ps(mw, _mm256_set1_ps(ld_f32(at + t * L::kStride + L::kX + 4 * b)), f[t]);
        }
    }
    R1_AVX2_UNROLL for (int t = 0; t < N; ++t) _mm256_storeu_ps(res + 8 * t, f[t]);
}

template <int N, int Kind>
void legacy_tile(const uint8_t* g, const uint8_t* at, int nb, float* res) {
    legacy_half<N, Kind>(g, at, nb, 0, res);
    legacy_half<N, Kind>(g, at, nb, 1, res + 8 * N);
}

using TileFn = void (*)(const uint8_t* g, const uint8_t* at, int nb, float* res);
using PackFn = void (*)(const uint8_t* const* rows, int nb, bool q81, int shift, uint8_t* at);

constexpr int kWidths[3] = {1, 2, 4};
constexpr int kSlabs[3] = {LTile<1>::kB, LTile<2>::kB, LTile<4>::kB};
constexpr PackFn kPack[3] = {pack_legacy<1>, pack_legacy<2>, pack_legacy<4>};

struct LegacyKernel {
    DType type;
    int group_bytes;
    bool q81;
    int shift;
    TileFn tile[3];
};

#define R1_AVX2_LEGACY(type, kind, q81, shift) \
    LegacyKernel { type, legacy_bytes(kind), q81, shift, {legacy_tile<1, kind>, legacy_tile<2, kind>, legacy_tile<4, kind>} }
const LegacyKernel kLQ4_0 = R1_AVX2_LEGACY(DType::Q4_0, kQ4_0, false, 3);
const LegacyKernel kLQ4_1 = R1_AVX2_LEGACY(DType::Q4_1, kQ4_1, true, 0);
const LegacyKernel kLQ5_0 = R1_AVX2_LEGACY(DType::Q5_0, kQ5_0, false, 4);
const LegacyKernel kLQ5_1 = R1_AVX2_LEGACY(DType::Q5_1, kQ5_1, true, 0);
const LegacyKernel kLQ8_0 = R1_AVX2_LEGACY(DType::Q8_0, kQ8_0, false, 0);
const LegacyKernel kLIQ4_NL = R1_AVX2_LEGACY(DType::IQ4_NL, kIQ4_NL, false, 0);
#undef R1_AVX2_LEGACY

void run_legacy(const LegacyKernel& k, const CpuWeight& w, const void* act, size_t act_row_bytes, int64_t n_tokens,
                int64_t r0, int64_t r1, float* out, size_t out_stride) {
    if (w.layout != x86_layout_id() || r0 % 16 != 0) {  // not repacked, or a range the layout cannot start at
        scalar_family()->by_type[uint32_t(k.type)]->gemm(w, act, act_row_bytes, n_tokens, r0, r1, out, out_stride);
        return;
    }
    const int nb_row = int(w.cols / 32);
    const size_t group_stride = size_t(nb_row) * size_t(k.group_bytes);
    const size_t act_block = k.q81 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const auto* a = static_cast<const uint8_t*>(act);
    alignas(64) uint8_t tile[kLTileBytes];
    alignas(64) float res[4 * 16];
    const int64_t g0 = r0 / 16, g1 = (r1 + 15) / 16;
    for (int64_t t0 = 0; t0 < n_tokens;) {
        const int64_t remaining = n_tokens - t0;
        const int wi = remaining > 2 ? 2 : remaining > 1 ? 1 : 0;
        const int width = kWidths[wi];
        const int64_t real = remaining < width ? remaining : width;
        for (int b0 = 0; b0 < nb_row; b0 += kSlabs[wi]) {
            const int nb = nb_row - b0 < kSlabs[wi] ? nb_row - b0 : kSlabs[wi];
            const uint8_t* rows[4];
            for (int t = 0; t < width; ++t)
                rows[t] = a + size_t(t0 + (t < real ? t : real - 1)) * act_row_bytes + size_t(b0) * act_block;
            kPack[wi](rows, nb, k.q81, k.shift, tile);
            for (int64_t grp = g0; grp < g1; ++grp) {
                k.tile[wi](w.data + size_t(grp) * group_stride + size_t(b0) * size_t(k.group_bytes), tile, nb, res);
                const int64_t valid = r1 - 16 * grp < 16 ? r1 - 16 * grp : 16;
                for (int64_t t = 0; t < real; ++t) {
                    float* o = out + size_t(t0 + t) * out_stride + size_t(16 * grp);
                    for (int64_t i = 0; i < valid; ++i) {
                        const float v = res[(i / 8) * 8 * width + 8 * t + i % 8];
                        o[i] = b0 > 0 ? o[i] + v : v;
                    }
                }
            }
        }
        t0 += real;
    }
}

void gemm_q4_0(const CpuWeight& w, const void* a, size_t arb, int64_t n, int64_t r0, int64_t r1, float* o, size_t os) {
    run_legacy(kLQ4_0, w, a, arb, n, r0, r1, o, os);
}
void gemm_q4_1(const CpuWeight& w, const void* a, size_t arb, int64_t n, int64_t r0, int64_t r1, float* o, size_t os) {
    run_legacy(kLQ4_1, w, a, arb, n, r0, r1, o, os);
}
void gemm_q5_0(const CpuWeight& w, const void* a, size_t arb, int64_t n, int64_t r0, int64_t r1, float* o, size_t os) {
    run_legacy(kLQ5_0, w, a, arb, n, r0, r1, o, os);
}
void gemm_q5_1(const CpuWeight& w, const void* a, size_t arb, int64_t n, int64_t r0, int64_t r1, float* o, size_t os) {
    run_legacy(kLQ5_1, w, a, arb, n, r0, r1, o, os);
}
void gemm_q8_0(const CpuWeight& w, const void* a, size_t arb, int64_t n, int64_t r0, int64_t r1, float* o, size_t os) {
    run_legacy(kLQ8_0, w, a, arb, n, r0, r1, o, os);
}
void gemm_iq4_nl(const CpuWeight& w, const void* a, size_t arb, int64_t n, int64_t r0, int64_t r1, float* o, size_t os) {
    run_legacy(kLIQ4_NL, w, a, arb, n, r0, r1, o, os);
}

// ---- float weights ---------------------------------------------------------------------------------------------

enum FloatKind { kF32, kF16, kBF16 };

template <int Kind>
R1_AVX2_INLINE __m256 load_w(const uint8_t* row, int64_t k) {
    if constexpr (Kind == kF32) return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k);
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * k));
    if constexpr (Kind == kF16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
template <int Kind>
R1_AVX2_INLINE float load_w1(const uint8_t* row, int64_t k) {
    uint16_t h;
    if constexpr (Kind == kF32) return reinterpret_cast<const float*>(row)[k];
    std::memcpy(&h, row + 2 * k, 2);
    return Kind == kF16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
}

// out[t][r] (+)= the dot products over columns [k0, k1) for R rows x N tokens: 8-lane partial sums, summed
// horizontally at the end (the last k1 - k0 mod 8 columns in scalar code).
template <int Kind, int R, int N>
void float_tile(const uint8_t* w0, size_t wrb, const uint8_t* a0, size_t arb, int64_t k0, int64_t k1, bool accumulate,
                float* out, size_t os) {
    __m256 acc[R][N];
    R1_AVX2_UNROLL for (int r = 0; r < R; ++r) R1_AVX2_UNROLL for (int t = 0; t < N; ++t) acc[r][t] = _mm256_setzero_ps();
    int64_t k = k0;
    for (; k + 8 <= k1; k += 8) {
        __m256 wv[R];
        R1_AVX2_UNROLL for (int r = 0; r < R; ++r) wv[r] = load_w<Kind>(w0 + r * wrb, k);
        R1_AVX2_UNROLL for (int t = 0; t < N; ++t) {
            const __m256 av = _mm256_loadu_ps(reinterpret_cast<const float*>(a0 + t * arb) + k);
            R1_AVX2_UNROLL for (int r = 0; r < R; ++r) acc[r][t] = _mm256_fmadd_ps(wv[r], av, acc[r][t]);
        }
    }
    R1_AVX2_UNROLL for (int t = 0; t < N; ++t) R1_AVX2_UNROLL for (int r = 0; r < R; ++r) {
        float s = hsum8(acc[r][t]);
        const float* av = reinterpret_cast<const float*>(a0 + t * arb);
        for (int64_t j = k; j < k1; ++j) s = std::fma(load_w1<Kind>(w0 + r * wrb, j), av[j], s);
        out[t * os + r] = accumulate ? out[t * os + r] + s : s;
    }
}

// Cache blocking as in matmul_avx512.cpp: column panels, 2 tokens at a time against all rows of the range.
constexpr int64_t kPanel = 1536;

template <int Kind>
void gemm_float(const CpuWeight& w, const void* act, size_t act_row_bytes, int64_t n_tokens, int64_t r0, int64_t r1,
                float* out, size_t out_stride) {
    const auto* a = static_cast<const uint8_t*>(act);
    const size_t wrb = w.row_bytes;
    const int64_t panel = n_tokens <= 2 ? w.cols : kPanel;
    for (int64_t k0 = 0; k0 < w.cols; k0 += panel) {
        const int64_t k1 = k0 + panel < w.cols ? k0 + panel : w.cols;
        const bool acc = k0 > 0;
        for (int64_t t = 0; t < n_tokens; t += 2) {
            const uint8_t* at = a + size_t(t) * act_row_bytes;
            float* ot = out + size_t(t) * out_stride;
            const bool pair = n_tokens - t >= 2;
            int64_t r = r0;
            for (; r + 4 <= r1; r += 4) {
                const uint8_t* wr = w.data + size_t(r) * wrb;
                if (pair) float_tile<Kind, 4, 2>(wr, wrb, at, act_row_bytes, k0, k1, acc, ot + r, out_stride);
                else float_tile<Kind, 4, 1>(wr, wrb, at, act_row_bytes, k0, k1, acc, ot + r, out_stride);
            }
            for (; r < r1; ++r) {
                const uint8_t* wr = w.data + size_t(r) * wrb;
                float_tile<Kind, 1, 1>(wr, wrb, at, act_row_bytes, k0, k1, acc, ot + r, out_stride);
                if (pair) float_tile<Kind, 1, 1>(wr, wrb, at + act_row_bytes, act_row_bytes, k0, k1, acc, ot + out_stride + r, out_stride);
            }
        }
    }
}

}  // namespace
}  // namespace avx2_mm
}  // namespace r1::cpu

#undef R1_AVX2_UNROLL
#undef R1_AVX2_INLINE

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#pragma GCC diagnostic pop

namespace r1::cpu {

bool x86_repack_weight(CpuWeight& w);             // matmul_avx2_repack.cpp
void avx2_kquants_fill(MatmulKernels* by_type);   // matmul_avx2_kquants.cpp

namespace avx2_mm {
namespace {

// Built with the default target: op_kernels() and tests may ask for the table on any x86 CPU.
struct Tables {
    MatmulKernels k[kDTypeIdLimit];
    FamilyKernels family;

    void set(DType t, DType act, void (*quantize)(const float*, void*, int64_t), bool repack,
             decltype(MatmulKernels::gemm) gemm) {
        MatmulKernels& m = k[uint32_t(t)];
        m.act_type = act;
        m.quantize = quantize;
        m.repack = repack ? x86_repack_weight : nullptr;
        m.gemm = gemm;
        m.row_block = 16;
    }

    Tables() {
        set(DType::F32, DType::F32, nullptr, false, gemm_float<kF32>);
        set(DType::F16, DType::F32, nullptr, false, gemm_float<kF16>);
        set(DType::BF16, DType::F32, nullptr, false, gemm_float<kBF16>);
        set(DType::Q4_0, DType::Q8_0, quantize_q8_0, true, gemm_q4_0);
        set(DType::Q4_1, DType::Q8_1, quantize_q8_1, true, gemm_q4_1);
        set(DType::Q5_0, DType::Q8_0, quantize_q8_0, true, gemm_q5_0);
        set(DType::Q5_1, DType::Q8_1, quantize_q8_1, true, gemm_q5_1);
        set(DType::Q8_0, DType::Q8_0, quantize_q8_0, true, gemm_q8_0);
        set(DType::IQ4_NL, DType::Q8_0, quantize_q8_0, true, gemm_iq4_nl);
        for (DType t : {DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_XS})
            set(t, DType::Q8_K, quantize_q8_K, true, nullptr);
        avx2_kquants_fill(k);
        for (uint32_t id = 0; id < kDTypeIdLimit; ++id)
            if (k[id].gemm) family.by_type[id] = &k[id];
    }
};

}  // namespace
}  // namespace avx2_mm

const FamilyKernels* avx2_family() {
    static const avx2_mm::Tables tables;
    return &tables.family;
}

}  // namespace r1::cpu

#else  // not x86-64

namespace r1::cpu {
const FamilyKernels* avx2_family() { return nullptr; }
}  // namespace r1::cpu

#endif
