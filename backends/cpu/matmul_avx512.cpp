// The AVX-512 kernel family (F, BW, VL, DQ + VNNI): the activation quantizers, the gemm kernels of the float
// types and of the 32-value block types, and the family's table. The K-quants are in matmul_avx512_kquants.cpp,
// the interleaved weight layout in matmul_avx2_repack.cpp (shared with AVX2), the other operations in
// ops_avx512.cpp.
//
// Quantized weights (see matmul_avx512_kquants.cpp for the K-quants): 16 rows in the lanes of a zmm, the weight
// codes of a quad (4 values) as unsigned bytes, one vpdpbusd per token with the token's 4 activation bytes
// broadcast. Signed formats are shifted to unsigned by a constant c (Q4_0: 8, Q5_0: 16, Q8_0 and IQ4_NL: 128) and
// the integer sum is started at -c * sum(activation codes of the block), computed when the activations are
// copied into the token tile. Each block's integer sum is exact; it is scaled in float by d_w * d_a.
//
// Float weights (F32, F16, BF16) stay in GGUF rows and take F32 activations (no conversion of the activations,
// which is both faster and more accurate than ggml's F16/BF16 activations): a 4 rows x 4 tokens tile of 16-lane
// partial sums, fused multiply-adds, horizontal sums at the end.
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

// See matmul_avx512_kquants.cpp: GCC 12's AVX-512 headers trip -Wuninitialized under a target pragma.
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

#define R1_AVX512_UNROLL _Pragma("GCC unroll 16")
#define R1_AVX512_INLINE inline __attribute__((always_inline))

namespace r1::cpu {


namespace avx512_mm {
namespace {

// Prefetches the weights weight_prefetch_bytes() ahead of a block (one-token products are bound by memory latency
// on Intel; on AMD the hardware prefetchers do better alone, and the distance is 0).
R1_AVX512_INLINE void prefetch_block(const uint8_t* g, int bytes) {
    static const int ahead = weight_prefetch_bytes();
    if (ahead > 0)
        for (int i = 0; i < bytes; i += 64) _mm_prefetch(reinterpret_cast<const char*>(g + ahead + i), _MM_HINT_T0);
}

R1_AVX512_INLINE int32_t ld_i32(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
R1_AVX512_INLINE float ld_f32(const uint8_t* p) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
}
R1_AVX512_INLINE uint64_t ld_u64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
R1_AVX512_INLINE __m512i bcast32(const uint8_t* p) { return _mm512_set1_epi32(ld_i32(p)); }
R1_AVX512_INLINE __m512 f16x16(const uint8_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
R1_AVX512_INLINE __m512i nibbles_lo(__m512i x) { return _mm512_and_si512(x, _mm512_set1_epi8(0x0F)); }
R1_AVX512_INLINE __m512i nibbles_hi(__m512i x) {
    return _mm512_and_si512(_mm512_srli_epi16(x, 4), _mm512_set1_epi8(0x0F));
}
R1_AVX512_INLINE __m512i add_masked(__m512i codes, const uint8_t* mask, int8_t value) {
    return _mm512_mask_add_epi8(codes, _cvtu64_mask64(ld_u64(mask)), codes, _mm512_set1_epi8(value));
}

// ---- activation quantizers -----------------------------------------------------------------------------------

// roundf(v) (halves away from zero) as int32, exactly: floor(|v|) + (fraction >= 0.5), with v's sign.
R1_AVX512_INLINE __m512i round_away(__m512 v) {
    const __m512 a = _mm512_abs_ps(v);
    const __m512 fl = _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(_mm512_sub_ps(a, fl), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __m512 r = _mm512_mask_add_ps(fl, up, fl, _mm512_set1_ps(1.0f));
    const __m512i sign = _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(int32_t(0x80000000u)));
    return _mm512_cvttps_epi32(_mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(r), sign)));
}

// ggml's quantize_row_q8_0_ref / q8_1_ref (d = amax / 127, codes roundf(x / d)), code for code.
template <bool Q81>
void quantize_q8_0_1(const float* x, void* out, int64_t n) {
    auto* y = static_cast<uint8_t*>(out);
    const size_t block = Q81 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    for (int64_t i = 0; i < n / 32; ++i, x += 32, y += block) {
        const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const __m512 vid = _mm512_set1_ps(id);
        const __m512i q0 = round_away(_mm512_mul_ps(v0, vid)), q1 = round_away(_mm512_mul_ps(v1, vid));
        const uint16_t dh = fp32_to_fp16(d);
        std::memcpy(y, &dh, 2);
        int8_t* qs = reinterpret_cast<int8_t*>(y + (Q81 ? 4 : 2));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), _mm512_cvtepi32_epi8(q1));
        if (Q81) {
            const int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
            const uint16_t sh = fp32_to_fp16(float(sum) * d);
            std::memcpy(y + 2, &sh, 2);
        }
    }
}
void quantize_q8_0(const float* x, void* out, int64_t n) { quantize_q8_0_1<false>(x, out, n); }
void quantize_q8_1(const float* x, void* out, int64_t n) { quantize_q8_0_1<true>(x, out, n); }

// ggml's quantize_row_q8_K_ref: the value of largest magnitude (the first one) maps to -127, codes rounded to
// nearest even, clamped to 127 above; bsums per 16 codes.
void quantize_q8_K(const float* x, void* out, int64_t n) {
    auto* y = static_cast<block_q8_K*>(out);
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        __m512 amax_v = _mm512_setzero_ps();
        for (int k = 0; k < 16; ++k) amax_v = _mm512_max_ps(amax_v, _mm512_abs_ps(_mm512_loadu_ps(x + 16 * k)));
        const float amax = _mm512_reduce_max_ps(amax_v);
        if (amax == 0.0f) {
            std::memset(&y[i], 0, sizeof(block_q8_K));
            continue;
        }
        float max = 0.0f;
        for (int k = 0; k < 16; ++k) {
            const __mmask16 hit =
                _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * k)), _mm512_set1_ps(amax), _CMP_EQ_OQ);
            if (hit) {
                max = x[16 * k + __builtin_ctz(unsigned(hit))];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m512 vs = _mm512_set1_ps(iscale);
        for (int k = 0; k < 16; ++k) {
            __m512i q = _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * k), vs),
                                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            q = _mm512_min_epi32(q, _mm512_set1_epi32(127));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs + 16 * k), _mm512_cvtepi32_epi8(q));
            y[i].bsums[k] = int16_t(_mm512_reduce_add_epi32(q));
        }
        y[i].d = 1.0f / iscale;
    }
}

// ---- 32-value block types: the activation tile -----------------------------------------------------------------

// Per token, for a slab of kB blocks: codes [kB][32], d [kB] (float), x [kB]: -(sum of codes << shift) as int32
// (Q8_0 activations) or Q8_1's s as float.
template <int N>
struct LTile {
    static constexpr int kB = 768 / N;
    static constexpr int kD = 32 * kB;
    static constexpr int kX = kD + 4 * kB;
    static constexpr int kStride = kX + 4 * kB;
};
constexpr int kLTileBytes = 12 * LTile<12>::kStride;
static_assert(LTile<1>::kStride == kLTileBytes && LTile<2>::kStride * 2 == kLTileBytes &&
                  LTile<4>::kStride * 4 == kLTileBytes && LTile<8>::kStride * 8 == kLTileBytes,
              "every tile width uses the same buffer");

// rows[t]: the slab's first activation block of token t (block_q8_0 or block_q8_1, by `q81`).
template <int N>
void pack_legacy(const uint8_t* const* rows, int nb, bool q81, int shift, uint8_t* at) {
    using L = LTile<N>;
    const size_t block = q81 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const int qs_off = q81 ? 4 : 2;
    for (int t = 0; t < N; ++t) {
        uint8_t* p = at + t * L::kStride;
        const uint8_t* b = rows[t];
        for (int i = 0; i < nb; ++i, b += block) {
            std::memcpy(p + 32 * i, b + qs_off, 32);
            uint16_t h;
            std::memcpy(&h, b, 2);
            const float d = fp16_to_fp32(h);
            std::memcpy(p + L::kD + 4 * i, &d, 4);
            if (q81) {
                std::memcpy(&h, b + 2, 2);
                const float s = fp16_to_fp32(h);
                std::memcpy(p + L::kX + 4 * i, &s, 4);
            } else {
                // sum of the signed codes: sad of (code + 128) against zero, minus 32 * 128
                const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + qs_off));
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

template <int N>
R1_AVX512_INLINE void dot_quad(__m512i codes, const uint8_t* aq, __m512i* acc) {
    R1_AVX512_UNROLL for (int t = 0; t < N; ++t)
        acc[t] = _mm512_dpbusd_epi32(acc[t], codes, bcast32(aq + t * LTile<N>::kStride));
}

// 16 rows x N tokens over nb blocks; res[t][16] = the sums.
template <int N, int Kind>
void legacy_tile(const uint8_t* g, const uint8_t* at, int nb, float* res) {
    using L = LTile<N>;
    constexpr bool kOffset = Kind != kQ4_1 && Kind != kQ5_1;
    constexpr bool kMin = !kOffset;
    __m512 f[N];
    R1_AVX512_UNROLL for (int t = 0; t < N; ++t) f[t] = _mm512_setzero_ps();
    const __m512i table = _mm512_broadcast_i32x4(
        _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4NLValues)), _mm_set1_epi8(-128)));
    for (int b = 0; b < nb; ++b, g += legacy_bytes(Kind)) {
        prefetch_block(g, legacy_bytes(Kind));
        const uint8_t* aq = at + 32 * b;
        __m512i acc[N];
        R1_AVX512_UNROLL for (int t = 0; t < N; ++t)
            acc[t] = kOffset ? bcast32(at + t * L::kStride + L::kX + 4 * b) : _mm512_setzero_si512();
        if constexpr (Kind == kQ8_0) {
            R1_AVX512_UNROLL for (int q = 0; q < 8; ++q)
                dot_quad<N>(_mm512_xor_si512(_mm512_loadu_si512(g + 32 + 64 * q), _mm512_set1_epi8(-128)), aq + 4 * q, acc);
        } else {
            constexpr int kMasks = Kind == kQ5_0 ? 32 : Kind == kQ5_1 ? 64 : 0;
            constexpr int kQs = Kind == kQ4_0 || Kind == kIQ4_NL ? 32 : Kind == kQ4_1 ? 64 : Kind == kQ5_0 ? 96 : 128;
            R1_AVX512_UNROLL for (int i = 0; i < 4; ++i) {
                const __m512i x = _mm512_loadu_si512(g + kQs + 64 * i);
                __m512i lo = nibbles_lo(x), hi = nibbles_hi(x);
                if constexpr (Kind == kIQ4_NL) {
                    lo = _mm512_shuffle_epi8(table, lo);
                    hi = _mm512_shuffle_epi8(table, hi);
                }
                if constexpr (kMasks != 0) {
                    lo = add_masked(lo, g + kMasks + 8 * i, 16);
                    hi = add_masked(hi, g + kMasks + 8 * (4 + i), 16);
                }
                dot_quad<N>(lo, aq + 4 * i, acc);
                dot_quad<N>(hi, aq + 16 + 4 * i, acc);
            }
        }
        const __m512 dw = f16x16(g);
        R1_AVX512_UNROLL for (int t = 0; t < N; ++t) {
            const __m512 da = _mm512_set1_ps(ld_f32(at + t * L::kStride + L::kD + 4 * b));
            f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t]), _mm512_mul_ps(dw, da), f[t]);
        }
        if constexpr (kMin) {  // + m * s (Q8_1's s = d_a * sum of the codes)
            const __m512 mw = f16x16(g + 32);
            R1_AVX512_UNROLL for (int t = 0; t < N; ++t)
                f[t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(ld_f32(at + t * L::kStride + L::kX + 4 * b)), f[t]);
        }
    }
    R1_AVX512_UNROLL for (int t = 0; t < N; ++t) _mm512_storeu_ps(res + 16 * t, f[t]);
}

using TileFn = void (*)(const uint8_t* g, const uint8_t* at, int nb, float* res);
using PackFn = void (*)(const uint8_t* const* rows, int nb, bool q81, int shift, uint8_t* at);

constexpr int kWidths[5] = {1, 2, 4, 8, 12};
constexpr int kSlabs[5] = {LTile<1>::kB, LTile<2>::kB, LTile<4>::kB, LTile<8>::kB, LTile<12>::kB};
constexpr PackFn kPack[5] = {pack_legacy<1>, pack_legacy<2>, pack_legacy<4>, pack_legacy<8>, pack_legacy<12>};

struct LegacyKernel {
    DType type;
    int group_bytes;
    bool q81;   // Q8_1 activations (else Q8_0)
    int shift;  // log2 of the code offset (Q8_0 activations)
    TileFn tile[5];
};

#define R1_AVX512_LEGACY(type, kind, q81, shift)                                                               \
    LegacyKernel {                                                                                             \
        type, legacy_bytes(kind), q81, shift, {                                                                \
            legacy_tile<1, kind>, legacy_tile<2, kind>, legacy_tile<4, kind>, legacy_tile<8, kind>, legacy_tile<12, kind> \
        }                                                                                                      \
    }
const LegacyKernel kLQ4_0 = R1_AVX512_LEGACY(DType::Q4_0, kQ4_0, false, 3);
const LegacyKernel kLQ4_1 = R1_AVX512_LEGACY(DType::Q4_1, kQ4_1, true, 0);
const LegacyKernel kLQ5_0 = R1_AVX512_LEGACY(DType::Q5_0, kQ5_0, false, 4);
const LegacyKernel kLQ5_1 = R1_AVX512_LEGACY(DType::Q5_1, kQ5_1, true, 0);
const LegacyKernel kLQ8_0 = R1_AVX512_LEGACY(DType::Q8_0, kQ8_0, false, 7);
const LegacyKernel kLIQ4_NL = R1_AVX512_LEGACY(DType::IQ4_NL, kIQ4_NL, false, 7);
#undef R1_AVX512_LEGACY

int width_index(int64_t remaining) {
    if (remaining >= 12) return 4;
    if (remaining > 4) return remaining > 8 ? 4 : 3;
    return remaining > 2 ? 2 : remaining > 1 ? 1 : 0;
}

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
    alignas(64) float res[12 * 16];
    const int64_t g0 = r0 / 16, g1 = (r1 + 15) / 16;
    for (int64_t t0 = 0; t0 < n_tokens;) {
        const int wi = width_index(n_tokens - t0);
        const int width = kWidths[wi];
        const int64_t real = n_tokens - t0 < width ? n_tokens - t0 : width;
        for (int b0 = 0; b0 < nb_row; b0 += kSlabs[wi]) {
            const int nb = nb_row - b0 < kSlabs[wi] ? nb_row - b0 : kSlabs[wi];
            const uint8_t* rows[12];
            for (int t = 0; t < width; ++t)
                rows[t] = a + size_t(t0 + (t < real ? t : real - 1)) * act_row_bytes + size_t(b0) * act_block;
            kPack[wi](rows, nb, k.q81, k.shift, tile);
            for (int64_t grp = g0; grp < g1; ++grp) {
                k.tile[wi](w.data + size_t(grp) * group_stride + size_t(b0) * size_t(k.group_bytes), tile, nb, res);
                const int64_t valid = r1 - 16 * grp < 16 ? r1 - 16 * grp : 16;
                const __mmask16 mask = __mmask16((1u << valid) - 1u);
                for (int64_t t = 0; t < real; ++t) {
                    float* o = out + size_t(t0 + t) * out_stride + size_t(16 * grp);
                    __m512 v = _mm512_loadu_ps(res + 16 * t);
                    if (b0 > 0) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, o));
                    _mm512_mask_storeu_ps(o, mask, v);
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

// 16 weights from column k of a row (all 16, or the first `mask` ones).
template <int Kind>
R1_AVX512_INLINE __m512 load_w(const uint8_t* row, int64_t k) {
    if constexpr (Kind == kF32) return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + k);
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * k));
    if constexpr (Kind == kF16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
template <int Kind>
R1_AVX512_INLINE __m512 load_w_tail(const uint8_t* row, int64_t k, __mmask16 mask) {
    if constexpr (Kind == kF32) return _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(row) + k);
    const __m256i h = _mm256_maskz_loadu_epi16(mask, row + 2 * k);
    if constexpr (Kind == kF16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// out[t][r] (+)= the dot products over columns [k0, k1) for R rows x N tokens: 16-lane partial sums along the row,
// summed horizontally at the end.
template <int Kind, int R, int N>
void float_tile(const uint8_t* w0, size_t wrb, const uint8_t* a0, size_t arb, int64_t k0, int64_t k1, bool accumulate,
                float* out, size_t os) {
    __m512 acc[R][N];
    R1_AVX512_UNROLL for (int r = 0; r < R; ++r) R1_AVX512_UNROLL for (int t = 0; t < N; ++t) acc[r][t] = _mm512_setzero_ps();
    int64_t k = k0;
    for (; k + 16 <= k1; k += 16) {
        __m512 wv[R];
        R1_AVX512_UNROLL for (int r = 0; r < R; ++r) wv[r] = load_w<Kind>(w0 + r * wrb, k);
        R1_AVX512_UNROLL for (int t = 0; t < N; ++t) {
            const __m512 av = _mm512_loadu_ps(reinterpret_cast<const float*>(a0 + t * arb) + k);
            R1_AVX512_UNROLL for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], av, acc[r][t]);
        }
    }
    if (k < k1) {
        const __mmask16 mask = __mmask16((1u << (k1 - k)) - 1u);
        __m512 wv[R];
        R1_AVX512_UNROLL for (int r = 0; r < R; ++r) wv[r] = load_w_tail<Kind>(w0 + r * wrb, k, mask);
        R1_AVX512_UNROLL for (int t = 0; t < N; ++t) {
            const __m512 av = _mm512_maskz_loadu_ps(mask, reinterpret_cast<const float*>(a0 + t * arb) + k);
            R1_AVX512_UNROLL for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], av, acc[r][t]);
        }
    }
    R1_AVX512_UNROLL for (int t = 0; t < N; ++t) R1_AVX512_UNROLL for (int r = 0; r < R; ++r) {
        const float v = _mm512_reduce_add_ps(acc[r][t]);
        out[t * os + r] = accumulate ? out[t * os + r] + v : v;
    }
}

// Cache blocking for batches: the columns in panels of kPanel, and for each panel 4 tokens at a time against all
// the rows of the range (the tokens' panel, 24 KiB, stays in L1; the rows' panel comes from L2). One or a few
// tokens take the whole row at once, so that each weight row is streamed from memory exactly once.
constexpr int64_t kPanel = 1536;

template <int Kind>
void gemm_float(const CpuWeight& w, const void* act, size_t act_row_bytes, int64_t n_tokens, int64_t r0, int64_t r1,
                float* out, size_t out_stride) {
    const auto* a = static_cast<const uint8_t*>(act);
    const size_t wrb = w.row_bytes;
    const int64_t panel = n_tokens <= 4 ? w.cols : kPanel;
    for (int64_t k0 = 0; k0 < w.cols; k0 += panel) {
        const int64_t k1 = k0 + panel < w.cols ? k0 + panel : w.cols;
        const bool acc = k0 > 0;
        int64_t t = 0;
        for (; t < n_tokens; t += 4) {
            const uint8_t* at = a + size_t(t) * act_row_bytes;
            float* ot = out + size_t(t) * out_stride;
            const int64_t nt = n_tokens - t < 4 ? n_tokens - t : 4;
            int64_t r = r0;
            for (; r + 4 <= r1; r += 4) {
                const uint8_t* wr = w.data + size_t(r) * wrb;
                if (nt == 4) float_tile<Kind, 4, 4>(wr, wrb, at, act_row_bytes, k0, k1, acc, ot + r, out_stride);
                else
                    for (int64_t i = 0; i < nt; ++i)
                        float_tile<Kind, 4, 1>(wr, wrb, at + size_t(i) * act_row_bytes, act_row_bytes, k0, k1, acc,
                                               ot + size_t(i) * out_stride + r, out_stride);
            }
            for (; r < r1; ++r) {
                const uint8_t* wr = w.data + size_t(r) * wrb;
                for (int64_t i = 0; i < nt; ++i)
                    float_tile<Kind, 1, 1>(wr, wrb, at + size_t(i) * act_row_bytes, act_row_bytes, k0, k1, acc,
                                           ot + size_t(i) * out_stride + r, out_stride);
            }
        }
    }
}

}  // namespace
}  // namespace avx512_mm
}  // namespace r1::cpu

#undef R1_AVX512_UNROLL
#undef R1_AVX512_INLINE

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#pragma GCC diagnostic pop

namespace r1::cpu {

bool x86_repack_weight(CpuWeight& w);                 // matmul_avx2_repack.cpp
void avx512_kquants_fill(MatmulKernels* by_type);     // matmul_avx512_kquants.cpp

namespace avx512_mm {
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
        avx512_kquants_fill(k);
        for (uint32_t id = 0; id < kDTypeIdLimit; ++id)
            if (k[id].gemm) family.by_type[id] = &k[id];
    }
};

}  // namespace
}  // namespace avx512_mm

const FamilyKernels* avx512_family() {
    static const avx512_mm::Tables tables;
    return &tables.family;
}

}  // namespace r1::cpu

#else  // not x86-64

namespace r1::cpu {
const FamilyKernels* avx512_family() { return nullptr; }
}  // namespace r1::cpu

#endif
