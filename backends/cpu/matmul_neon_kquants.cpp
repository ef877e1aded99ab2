// NEON gemm kernels of the 256-value super-block types: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS, in the 4-row layout
// of matmul_neon.cpp (block b of 4 rows stored together, codes interleaved in 4-byte pieces so that SDOT by element
// gives the 4 rows' sums in the 4 int32 lanes), against Q8_K activations.
//
// Per super-block and token: each 16- or 32-value sub-block's integer dot product (4 or 8 SDOTs) is multiplied by
// the 4 rows' sub-block scales (one vector multiply-add), so the whole super-block sum is an exact int32 per row;
// mins and code offsets use Q8_K's bsums (sums of 16 activation codes) against the 4 rows' mins. Then 2 or 3 float
// operations per super-block. Ranges (per row and super-block): Q4_K |sum| <= 8 * 63 * 32 * 15 * 127 < 2^25,
// Q5_K < 2^26, Q6_K <= 16 * 128 * 16 * 63 * 127 < 2^28, Q3_K and Q2_K smaller: no int32 overflow.
//
// Exactness: Q2_K and IQ4_XS follow the scalar reference's float steps per row and return its results bit for bit.
// The reference sums Q3_K .. Q6_K in 8 float lanes by position modulo 8, an order SDOT cannot reproduce; these
// kernels sum each super-block exactly in integers and add it with one fused multiply-add, which is at least as
// accurate (tests/test_cpu_kernels.cpp bounds the difference).
//
// Layouts (block b of 4 rows; "4 x fp16" = the rows' values in row order; code vector k: byte 4r + j = byte 4k + j
// of row r's array):
//   Q2_K   336 B  0: d 4 x fp16 | 8: dmin 4 x fp16 | 16: scales, byte 4s + r = scales[s] of row r (sc | m << 4)
//                 | 80: qs as 16 code vectors
//   Q3_K   440 B  0: d | 8: packed scales as 3 vectors: X byte 4j + r = scales[j] of row r, Y = scales[4 + j],
//                 Z = scales[8 + j] | 56: hmask as 8 code vectors | 184: qs as 16 code vectors
//   Q4_K   576 B  0: d | 8: dmin | 16: packed scales X, Y, Z as in Q3_K | 64: qs as 32 code vectors
//   Q5_K   704 B  0: d | 8: dmin | 16: X, Y, Z | 64: qh as 8 code vectors | 192: qs as 32 code vectors
//   Q6_K   840 B  0: d | 8: scales, byte 4s + r = scales[s] of row r | 72: ql as 32 code vectors | 584: qh as 16
//   IQ4_XS 552 B  0: d | 8: ls - 32 as int8, byte 4s + r | 40: qs as 32 code vectors (sub-block s: vectors 4s..4s+3)
// The same bytes as the GGUF blocks (IQ4_XS: 2 more per row, its 6-bit scales unpacked).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "matmul.h"
#include "quants/blocks.h"

#if defined(__aarch64__)

#include <arm_neon.h>

namespace r1::cpu {

// matmul_neon.cpp: the 4-row layout.
int neon_layout_id();
using NeonTileFn = void (*)(const uint8_t* group, int64_t nb, const uint8_t* const* act, float* res);
using NeonFillFn = void (*)(const uint8_t* const rows[4], int64_t b, uint8_t* dst);
bool neon_repack(CpuWeight& w, size_t group_bytes, NeonFillFn fill);
void neon_run_tiles(const NeonTileFn* tiles, size_t group_bytes, const CpuWeight& w, const void* act,
                    size_t act_row_bytes, int64_t n_tokens, int64_t r0, int64_t r1, float* out, size_t out_stride);

namespace neon_kq {
namespace {

// ---- repack (plain C++) ----------------------------------------------------------------------------------------

alignas(16) const uint8_t kKqZeroBlock[256] = {};

// Block b of each row (a zero block for padding rows).
void kq_sources(const uint8_t* const rows[4], int64_t b, size_t block_bytes, const uint8_t* src[4]) {
    for (int r = 0; r < 4; ++r) src[r] = rows[r] ? rows[r] + size_t(b) * block_bytes : kKqZeroBlock;
}

// n code vectors from the 4 rows' arrays at `offset`: vector k, byte 4r + j = src[r][offset + 4k + j].
void kq_interleave(const uint8_t* const src[4], size_t offset, int n, uint8_t* dst) {
    for (int k = 0; k < n; ++k)
        for (int r = 0; r < 4; ++r) std::memcpy(dst + 16 * k + 4 * r, src[r] + offset + 4 * k, 4);
}

// 4 x 16 bytes of scales: byte 4s + r = src[r][offset + s], s = 0 .. n-1.
void kq_by_row(const uint8_t* const src[4], size_t offset, int n, uint8_t* dst) {
    for (int s = 0; s < n; ++s)
        for (int r = 0; r < 4; ++r) dst[4 * s + r] = src[r][offset + size_t(s)];
}

void kq_fp16s(const uint8_t* const src[4], size_t offset, uint8_t* dst) {
    for (int r = 0; r < 4; ++r) std::memcpy(dst + 2 * r, src[r] + offset, 2);
}

void kq_fill_q2_K(const uint8_t* const rows[4], int64_t b, uint8_t* dst) {
    const uint8_t* src[4];
    kq_sources(rows, b, sizeof(block_q2_K), src);
    kq_fp16s(src, offsetof(block_q2_K, d), dst);
    kq_fp16s(src, offsetof(block_q2_K, dmin), dst + 8);
    kq_by_row(src, offsetof(block_q2_K, scales), 16, dst + 16);
    kq_interleave(src, offsetof(block_q2_K, qs), 16, dst + 80);
}

void kq_fill_q3_K(const uint8_t* const rows[4], int64_t b, uint8_t* dst) {
    const uint8_t* src[4];
    kq_sources(rows, b, sizeof(block_q3_K), src);
    kq_fp16s(src, offsetof(block_q3_K, d), dst);
    kq_by_row(src, offsetof(block_q3_K, scales), 12, dst + 8);
    kq_interleave(src, offsetof(block_q3_K, hmask), 8, dst + 56);
    kq_interleave(src, offsetof(block_q3_K, qs), 16, dst + 184);
}

void kq_fill_q4_K(const uint8_t* const rows[4], int64_t b, uint8_t* dst) {
    const uint8_t* src[4];
    kq_sources(rows, b, sizeof(block_q4_K), src);
    kq_fp16s(src, offsetof(block_q4_K, d), dst);
    kq_fp16s(src, offsetof(block_q4_K, dmin), dst + 8);
    kq_by_row(src, offsetof(block_q4_K, scales), 12, dst + 16);
    kq_interleave(src, offsetof(block_q4_K, qs), 32, dst + 64);
}

void kq_fill_q5_K(const uint8_t* const rows[4], int64_t b, uint8_t* dst) {
    const uint8_t* src[4];
    kq_sources(rows, b, sizeof(block_q5_K), src);
    kq_fp16s(src, offsetof(block_q5_K, d), dst);
    kq_fp16s(src, offsetof(block_q5_K, dmin), dst + 8);
    kq_by_row(src, offsetof(block_q5_K, scales), 12, dst + 16);
    kq_interleave(src, offsetof(block_q5_K, qh), 8, dst + 64);
    kq_interleave(src, offsetof(block_q5_K, qs), 32, dst + 192);
}

void kq_fill_q6_K(const uint8_t* const rows[4], int64_t b, uint8_t* dst) {
    const uint8_t* src[4];
    kq_sources(rows, b, sizeof(block_q6_K), src);
    kq_fp16s(src, offsetof(block_q6_K, d), dst);
    kq_by_row(src, offsetof(block_q6_K, scales), 16, dst + 8);
    kq_interleave(src, offsetof(block_q6_K, ql), 32, dst + 72);
    kq_interleave(src, offsetof(block_q6_K, qh), 16, dst + 584);
}

void kq_fill_iq4_xs(const uint8_t* const rows[4], int64_t b, uint8_t* dst) {
    const uint8_t* src[4];
    kq_sources(rows, b, sizeof(block_iq4_xs), src);
    kq_fp16s(src, offsetof(block_iq4_xs, d), dst);
    for (int r = 0; r < 4; ++r) {
        block_iq4_xs x;
        std::memcpy(&x, src[r], sizeof x);
        for (int s = 0; s < 8; ++s) {
            const int ls = ((x.scales_l[s / 2] >> (4 * (s % 2))) & 0xF) | ((x.scales_h >> (2 * s)) & 3) << 4;
            dst[8 + 4 * s + r] = uint8_t(int8_t(ls - 32));
        }
    }
    kq_interleave(src, offsetof(block_iq4_xs, qs), 32, dst + 40);
}

constexpr size_t kGroupQ2_K = 336, kGroupQ3_K = 440, kGroupQ4_K = 576, kGroupQ5_K = 704, kGroupQ6_K = 840,
                 kGroupIQ4_XS = 552;

bool kq_repack_q2_K(CpuWeight& w) { return neon_repack(w, kGroupQ2_K, kq_fill_q2_K); }
bool kq_repack_q3_K(CpuWeight& w) { return neon_repack(w, kGroupQ3_K, kq_fill_q3_K); }
bool kq_repack_q4_K(CpuWeight& w) { return neon_repack(w, kGroupQ4_K, kq_fill_q4_K); }
bool kq_repack_q5_K(CpuWeight& w) { return neon_repack(w, kGroupQ5_K, kq_fill_q5_K); }
bool kq_repack_q6_K(CpuWeight& w) { return neon_repack(w, kGroupQ6_K, kq_fill_q6_K); }
bool kq_repack_iq4_xs(CpuWeight& w) { return neon_repack(w, kGroupIQ4_XS, kq_fill_iq4_xs); }

}  // namespace
}  // namespace neon_kq
}  // namespace r1::cpu

// ---------------------------------------------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------------------------------------------

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("dotprod"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")
#pragma GCC optimize("fp-contract=off")
#endif

#define R1_NEONKQ_INLINE inline __attribute__((always_inline))
#define R1_NEONKQ_UNROLL _Pragma("GCC unroll 16")

namespace r1::cpu {
namespace neon_kq {
namespace {

constexpr size_t kActBlock = sizeof(block_q8_K);  // d (float) at 0, qs at 4, bsums at 260

template <int Lane>
R1_NEONKQ_INLINE int32x4_t kq_sdot(int32x4_t acc, int8x16_t w, int8x16_t a) {
#if defined(__clang__) && !defined(__ARM_FEATURE_DOTPROD)
    __asm__("sdot %0.4s, %1.16b, %2.4b[%3]" : "+w"(acc) : "w"(w), "w"(a), "i"(Lane));
    return acc;
#else
    return vdotq_laneq_s32(acc, w, a, Lane);
#endif
}

// The 4 rows' dot products of 4 code vectors c[0..3] with 16 activation codes (c[l] pairs with bytes 4l..4l+3).
R1_NEONKQ_INLINE int32x4_t kq_dot16(const int8x16_t* c, const int8_t* a) {
    const int8x16_t av = vld1q_s8(a);
    int32x4_t s0 = kq_sdot<0>(vdupq_n_s32(0), c[0], av);
    int32x4_t s1 = kq_sdot<1>(vdupq_n_s32(0), c[1], av);
    s0 = kq_sdot<2>(s0, c[2], av);
    s1 = kq_sdot<3>(s1, c[3], av);
    return vaddq_s32(s0, s1);
}

R1_NEONKQ_INLINE float32x4_t kq_f16x4(const uint8_t* p) { return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(p))); }
R1_NEONKQ_INLINE float kq_f32(const uint8_t* p) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
}
R1_NEONKQ_INLINE const int8_t* kq_codes(const uint8_t* act_block) { return reinterpret_cast<const int8_t*>(act_block + 4); }
R1_NEONKQ_INLINE int16x8_t kq_bsums(const uint8_t* act_block, int half) {
    return vreinterpretq_s16_u8(vld1q_u8(act_block + 260 + 16 * half));
}

// 16 bytes laid out [s][r] (4 sub-blocks x 4 rows) -> 4 int32 vectors, one per sub-block, lane = row.
R1_NEONKQ_INLINE void kq_widen_u8(uint8x16_t v, int32x4_t* out) {
    const uint16x8_t lo = vmovl_u8(vget_low_u8(v)), hi = vmovl_high_u8(v);
    out[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(lo)));
    out[1] = vreinterpretq_s32_u32(vmovl_high_u16(lo));
    out[2] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(hi)));
    out[3] = vreinterpretq_s32_u32(vmovl_high_u16(hi));
}
R1_NEONKQ_INLINE void kq_widen_s8(int8x16_t v, int32x4_t* out) {
    const int16x8_t lo = vmovl_s8(vget_low_s8(v)), hi = vmovl_high_s8(v);
    out[0] = vmovl_s16(vget_low_s16(lo));
    out[1] = vmovl_high_s16(lo);
    out[2] = vmovl_s16(vget_low_s16(hi));
    out[3] = vmovl_high_s16(hi);
}

// sum over 8 sub-blocks s of m[s][r] * (bsums[2s] + bsums[2s+1]); m16[i] holds sub-blocks 2i (rows in the low half)
// and 2i + 1 (high half). For the 32-value sub-blocks of Q4_K and Q5_K.
R1_NEONKQ_INLINE int32x4_t kq_mins8(const int16x8_t* m16, const uint8_t* act_block) {
    const int16x8_t pairs = vpaddq_s16(kq_bsums(act_block, 0), kq_bsums(act_block, 1));
    int32x4_t s = vmull_laneq_s16(vget_low_s16(m16[0]), pairs, 0);
    s = vmlal_laneq_s16(s, vget_high_s16(m16[0]), pairs, 1);
    s = vmlal_laneq_s16(s, vget_low_s16(m16[1]), pairs, 2);
    s = vmlal_laneq_s16(s, vget_high_s16(m16[1]), pairs, 3);
    s = vmlal_laneq_s16(s, vget_low_s16(m16[2]), pairs, 4);
    s = vmlal_laneq_s16(s, vget_high_s16(m16[2]), pairs, 5);
    s = vmlal_laneq_s16(s, vget_low_s16(m16[3]), pairs, 6);
    return vmlal_laneq_s16(s, vget_high_s16(m16[3]), pairs, 7);
}

// sum over 16 sub-blocks s of m[s][r] * bsums[s] (m16[i]: sub-blocks 2i, 2i + 1). For Q2_K's mins, Q6_K's offsets.
R1_NEONKQ_INLINE int32x4_t kq_mins16(const int16x8_t* m16, const uint8_t* act_block) {
    const int16x8_t b0 = kq_bsums(act_block, 0), b1 = kq_bsums(act_block, 1);
    int32x4_t s = vmull_laneq_s16(vget_low_s16(m16[0]), b0, 0);
    s = vmlal_laneq_s16(s, vget_high_s16(m16[0]), b0, 1);
    s = vmlal_laneq_s16(s, vget_low_s16(m16[1]), b0, 2);
    s = vmlal_laneq_s16(s, vget_high_s16(m16[1]), b0, 3);
    s = vmlal_laneq_s16(s, vget_low_s16(m16[2]), b0, 4);
    s = vmlal_laneq_s16(s, vget_high_s16(m16[2]), b0, 5);
    s = vmlal_laneq_s16(s, vget_low_s16(m16[3]), b0, 6);
    s = vmlal_laneq_s16(s, vget_high_s16(m16[3]), b0, 7);
    s = vmlal_laneq_s16(s, vget_low_s16(m16[4]), b1, 0);
    s = vmlal_laneq_s16(s, vget_high_s16(m16[4]), b1, 1);
    s = vmlal_laneq_s16(s, vget_low_s16(m16[5]), b1, 2);
    s = vmlal_laneq_s16(s, vget_high_s16(m16[5]), b1, 3);
    s = vmlal_laneq_s16(s, vget_low_s16(m16[6]), b1, 4);
    s = vmlal_laneq_s16(s, vget_high_s16(m16[6]), b1, 5);
    s = vmlal_laneq_s16(s, vget_low_s16(m16[7]), b1, 6);
    return vmlal_laneq_s16(s, vget_high_s16(m16[7]), b1, 7);
}

R1_NEONKQ_INLINE int16x8_t kq_u8_to_s16_lo(uint8x16_t v) { return vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(v))); }
R1_NEONKQ_INLINE int16x8_t kq_u8_to_s16_hi(uint8x16_t v) { return vreinterpretq_s16_u16(vmovl_high_u8(v)); }

// The 2-bit field at bits 2*shift of 4 code vectors starting at q (Q2_K, Q3_K).
R1_NEONKQ_INLINE void kq_low2(const uint8_t* q, int shift, uint8x16_t* out) {
    const int8x16_t right = vdupq_n_s8(int8_t(-2 * shift));
    R1_NEONKQ_UNROLL for (int k = 0; k < 4; ++k) out[k] = vandq_u8(vshlq_u8(vld1q_u8(q + 16 * k), right), vdupq_n_u8(3));
}

// ---- Q2_K ------------------------------------------------------------------------------------------------------
// Value 128h + 32j + 4k + i (k = 0..7) sits at bits 2j of qs byte 32h + 4k + i: code vector 8h + k, in
// sub-block 8h + 2j + k/4, paired with activation bytes 128h + 32j + 16(k/4) .. + 15, lane k % 4.

template <int N>
void kq_tile_q2_K(const uint8_t* g, int64_t nb, const uint8_t* const* a, float* res) {
    float32x4_t acc[N];
    R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) acc[t] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < nb; ++b, g += kGroupQ2_K) {
        int32x4_t sc[16];
        int16x8_t mins[8];
        R1_NEONKQ_UNROLL for (int i = 0; i < 4; ++i) {
            const uint8x16_t s = vld1q_u8(g + 16 + 16 * i);
            kq_widen_u8(vandq_u8(s, vdupq_n_u8(0x0F)), sc + 4 * i);
            const uint8x16_t m = vshrq_n_u8(s, 4);
            mins[2 * i] = kq_u8_to_s16_lo(m);
            mins[2 * i + 1] = kq_u8_to_s16_hi(m);
        }
        int32x4_t isum[N];
        R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) isum[t] = vdupq_n_s32(0);
        for (int h = 0; h < 2; ++h)
            for (int j = 0; j < 4; ++j)
                R1_NEONKQ_UNROLL for (int kq = 0; kq < 2; ++kq) {
                    uint8x16_t u[4];
                    kq_low2(g + 80 + 16 * (8 * h + 4 * kq), j, u);
                    int8x16_t c[4];
                    R1_NEONKQ_UNROLL for (int k = 0; k < 4; ++k) c[k] = vreinterpretq_s8_u8(u[k]);
                    const int32x4_t scale = sc[8 * h + 2 * j + kq];
                    R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) {
                        const int8_t* aq = kq_codes(a[t] + size_t(b) * kActBlock) + 128 * h + 32 * j + 16 * kq;
                        isum[t] = vmlaq_s32(isum[t], kq_dot16(c, aq), scale);
                    }
                }
        const float32x4_t d = kq_f16x4(g), dmin = kq_f16x4(g + 8);
        R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) {
            const uint8_t* ab = a[t] + size_t(b) * kActBlock;
            const int32x4_t summs = kq_mins16(mins, ab);
            const float da = kq_f32(ab);
            // The reference's dall * isum - dmin * summs, added to the running sum.
            const float32x4_t term = vsubq_f32(vmulq_f32(vmulq_n_f32(d, da), vcvtq_f32_s32(isum[t])),
                                               vmulq_f32(vmulq_n_f32(dmin, da), vcvtq_f32_s32(summs)));
            acc[t] = vaddq_f32(acc[t], term);
        }
    }
    R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) vst1q_f32(res + 4 * t, acc[t]);
}

// ---- Q3_K ------------------------------------------------------------------------------------------------------
// Codes as Q2_K's; the third bit of value 128h + 32j + 4k + i is bit 4h + j of hmask byte 4k + i (code vector k),
// and a clear bit means q - 4.

template <int N>
void kq_tile_q3_K(const uint8_t* g, int64_t nb, const uint8_t* const* a, float* res) {
    float32x4_t acc[N];
    R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) acc[t] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < nb; ++b, g += kGroupQ3_K) {
        int32x4_t sc[16];
        {
            const uint8x16_t x = vld1q_u8(g + 8), y = vld1q_u8(g + 24), z = vld1q_u8(g + 40);
            const uint8x16_t three = vdupq_n_u8(3), hi2 = vdupq_n_u8(0x30);
            const uint8x16_t s6[4] = {
                vsliq_n_u8(x, vandq_u8(z, three), 4),                    // sub-blocks 0..3
                vsliq_n_u8(y, vandq_u8(vshrq_n_u8(z, 2), three), 4),     // 4..7
                vorrq_u8(vshrq_n_u8(x, 4), vandq_u8(z, hi2)),            // 8..11
                vorrq_u8(vshrq_n_u8(y, 4), vandq_u8(vshrq_n_u8(z, 2), hi2)),  // 12..15
            };
            R1_NEONKQ_UNROLL for (int i = 0; i < 4; ++i)
                kq_widen_s8(vsubq_s8(vreinterpretq_s8_u8(s6[i]), vdupq_n_s8(32)), sc + 4 * i);
        }
        int32x4_t isum[N];
        R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) isum[t] = vdupq_n_s32(0);
        for (int h = 0; h < 2; ++h)
            for (int j = 0; j < 4; ++j) {
                const uint8x16_t bit = vdupq_n_u8(uint8_t(1u << (4 * h + j)));
                R1_NEONKQ_UNROLL for (int kq = 0; kq < 2; ++kq) {
                    uint8x16_t u[4];
                    kq_low2(g + 184 + 16 * (8 * h + 4 * kq), j, u);
                    int8x16_t c[4];
                    R1_NEONKQ_UNROLL for (int k = 0; k < 4; ++k) {
                        const uint8x16_t set = vtstq_u8(vld1q_u8(g + 56 + 16 * (4 * kq + k)), bit);
                        c[k] = vreinterpretq_s8_u8(vsubq_u8(u[k], vbicq_u8(vdupq_n_u8(4), set)));
                    }
                    const int32x4_t scale = sc[8 * h + 2 * j + kq];
                    R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) {
                        const int8_t* aq = kq_codes(a[t] + size_t(b) * kActBlock) + 128 * h + 32 * j + 16 * kq;
                        isum[t] = vmlaq_s32(isum[t], kq_dot16(c, aq), scale);
                    }
                }
            }
        const float32x4_t d = kq_f16x4(g);
        R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t)
            acc[t] = vfmaq_f32(acc[t], vcvtq_f32_s32(isum[t]), vmulq_n_f32(d, kq_f32(a[t] + size_t(b) * kActBlock)));
    }
    R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) vst1q_f32(res + 4 * t, acc[t]);
}

// ---- Q4_K and Q5_K ---------------------------------------------------------------------------------------------
// Chunk c (values 64c .. 64c + 63) is code vectors 8c .. 8c + 7: low nibbles = sub-block 2c (activation bytes
// 64c + 16(k/4), lane k % 4), high nibbles = sub-block 2c + 1 (bytes 64c + 32 + 16(k/4)). Q5_K's fifth bit of
// those values is bit 2c (low) or 2c + 1 (high) of qh code vector k.

// The 6-bit scales and mins of the 4 rows from X, Y, Z (get_scale_min_k4 on 16 bytes at once).
R1_NEONKQ_INLINE void kq_scales_k4(const uint8_t* p, int32x4_t* sc, int16x8_t* mins) {
    const uint8x16_t x = vld1q_u8(p), y = vld1q_u8(p + 16), z = vld1q_u8(p + 32);
    const uint8x16_t low6 = vdupq_n_u8(63);
    const uint8x16_t sc_lo = vandq_u8(x, low6);                                            // sub-blocks 0..3
    const uint8x16_t sc_hi = vorrq_u8(vandq_u8(z, vdupq_n_u8(0x0F)), vshlq_n_u8(vshrq_n_u8(x, 6), 4));  // 4..7
    const uint8x16_t m_lo = vandq_u8(y, low6);
    const uint8x16_t m_hi = vorrq_u8(vshrq_n_u8(z, 4), vshlq_n_u8(vshrq_n_u8(y, 6), 4));
    kq_widen_u8(sc_lo, sc);
    kq_widen_u8(sc_hi, sc + 4);
    mins[0] = kq_u8_to_s16_lo(m_lo);
    mins[1] = kq_u8_to_s16_hi(m_lo);
    mins[2] = kq_u8_to_s16_lo(m_hi);
    mins[3] = kq_u8_to_s16_hi(m_hi);
}

template <bool Q5, int N>
void kq_tile_q45_K(const uint8_t* g, int64_t nb, const uint8_t* const* a, float* res) {
    constexpr size_t kGroup = Q5 ? kGroupQ5_K : kGroupQ4_K;
    constexpr int kQs = Q5 ? 192 : 64;
    float32x4_t acc[N];
    R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) acc[t] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < nb; ++b, g += kGroup) {
        int32x4_t sc[8];
        int16x8_t mins[4];
        kq_scales_k4(g + 16, sc, mins);
        int32x4_t isum[N];
        R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) isum[t] = vdupq_n_s32(0);
        for (int c = 0; c < 4; ++c) {
            R1_NEONKQ_UNROLL for (int half = 0; half < 2; ++half) {
                int8x16_t codes[8];
                R1_NEONKQ_UNROLL for (int k = 0; k < 8; ++k) {
                    const uint8x16_t p = vld1q_u8(g + kQs + 128 * c + 16 * k);
                    uint8x16_t q = half ? vshrq_n_u8(p, 4) : vandq_u8(p, vdupq_n_u8(0x0F));
                    if constexpr (Q5) {
                        const int8x16_t shift = vdupq_n_s8(int8_t(4 - 2 * c - half));  // bit 2c + half -> bit 4
                        q = vorrq_u8(q, vandq_u8(vshlq_u8(vld1q_u8(g + 64 + 16 * k), shift), vdupq_n_u8(0x10)));
                    }
                    codes[k] = vreinterpretq_s8_u8(q);
                }
                const int32x4_t scale = sc[2 * c + half];
                R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) {
                    const int8_t* aq = kq_codes(a[t] + size_t(b) * kActBlock) + 64 * c + 32 * half;
                    const int32x4_t dot = vaddq_s32(kq_dot16(codes, aq), kq_dot16(codes + 4, aq + 16));
                    isum[t] = vmlaq_s32(isum[t], dot, scale);
                }
            }
        }
        const float32x4_t d = kq_f16x4(g), dmin = kq_f16x4(g + 8);
        R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) {
            const uint8_t* ab = a[t] + size_t(b) * kActBlock;
            const float da = kq_f32(ab);
            acc[t] = vfmaq_f32(acc[t], vcvtq_f32_s32(isum[t]), vmulq_n_f32(d, da));
            acc[t] = vfmsq_f32(acc[t], vcvtq_f32_s32(kq_mins8(mins, ab)), vmulq_n_f32(dmin, da));
        }
    }
    R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) vst1q_f32(res + 4 * t, acc[t]);
}

// ---- Q6_K ------------------------------------------------------------------------------------------------------
// Half h, k = 0..7 (code vectors: ql 16h + k and 16h + 8 + k, qh 8h + k): the four quarters of the half are
// values 128h + 32q + 4k + i, sub-block 8h + 2q + k/4. Codes are used unsigned (0..63); the -32 comes back as
// -32 * sum_s scale_s * bsums_s.

template <int N>
void kq_tile_q6_K(const uint8_t* g, int64_t nb, const uint8_t* const* a, float* res) {
    float32x4_t acc[N];
    R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) acc[t] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < nb; ++b, g += kGroupQ6_K) {
        int32x4_t sc[16];
        int16x8_t sc16[8];
        R1_NEONKQ_UNROLL for (int i = 0; i < 4; ++i) {
            const int8x16_t s = vld1q_s8(reinterpret_cast<const int8_t*>(g + 8 + 16 * i));
            kq_widen_s8(s, sc + 4 * i);
            sc16[2 * i] = vmovl_s8(vget_low_s8(s));
            sc16[2 * i + 1] = vmovl_high_s8(s);
        }
        const uint8_t* ql = g + 72;
        const uint8_t* qh = g + 584;
        int32x4_t isum[N];
        R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) isum[t] = vdupq_n_s32(0);
        for (int h = 0; h < 2; ++h)
            R1_NEONKQ_UNROLL for (int kq = 0; kq < 2; ++kq) {
                int8x16_t c[4][4];  // [quarter][k % 4]
                R1_NEONKQ_UNROLL for (int k4 = 0; k4 < 4; ++k4) {
                    const int k = 4 * kq + k4;
                    const uint8x16_t la = vld1q_u8(ql + 16 * (16 * h + k)), lb = vld1q_u8(ql + 16 * (16 * h + 8 + k));
                    const uint8x16_t hb = vld1q_u8(qh + 16 * (8 * h + k));
                    const uint8x16_t three = vdupq_n_u8(3), hi2 = vdupq_n_u8(0x30);
                    c[0][k4] = vreinterpretq_s8_u8(vsliq_n_u8(la, vandq_u8(hb, three), 4));
                    c[1][k4] = vreinterpretq_s8_u8(vsliq_n_u8(lb, vandq_u8(vshrq_n_u8(hb, 2), three), 4));
                    c[2][k4] = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(la, 4), vandq_u8(hb, hi2)));
                    c[3][k4] = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(lb, 4), vandq_u8(vshrq_n_u8(hb, 2), hi2)));
                }
                R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) {
                    const int8_t* aq = kq_codes(a[t] + size_t(b) * kActBlock) + 128 * h + 16 * kq;
                    R1_NEONKQ_UNROLL for (int q = 0; q < 4; ++q)
                        isum[t] = vmlaq_s32(isum[t], kq_dot16(c[q], aq + 32 * q), sc[8 * h + 2 * q + kq]);
                }
            }
        const float32x4_t d = kq_f16x4(g);
        R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) {
            const uint8_t* ab = a[t] + size_t(b) * kActBlock;
            const int32x4_t sum = vsubq_s32(isum[t], vshlq_n_s32(kq_mins16(sc16, ab), 5));
            acc[t] = vfmaq_f32(acc[t], vcvtq_f32_s32(sum), vmulq_n_f32(d, kq_f32(ab)));
        }
    }
    R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) vst1q_f32(res + 4 * t, acc[t]);
}

// ---- IQ4_XS ----------------------------------------------------------------------------------------------------
// Sub-block s: code vectors 4s + k, low nibbles = values 32s + 4k + i (activation bytes 32s .., lane k), high
// nibbles = values 32s + 16 + 4k + i (bytes 32s + 16 ..). Float steps as the reference: dl = (d * da) * (ls - 32),
// sum += dl * sumi, per sub-block.

template <int N>
void kq_tile_iq4_xs(const uint8_t* g, int64_t nb, const uint8_t* const* a, float* res) {
    const int8x16_t table = vld1q_s8(kIQ4NLValues);
    float32x4_t acc[N];
    R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) acc[t] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < nb; ++b, g += kGroupIQ4_XS) {
        float32x4_t ls[8];
        R1_NEONKQ_UNROLL for (int i = 0; i < 2; ++i) {
            int32x4_t w[4];
            kq_widen_s8(vld1q_s8(reinterpret_cast<const int8_t*>(g + 8 + 16 * i)), w);
            R1_NEONKQ_UNROLL for (int k = 0; k < 4; ++k) ls[4 * i + k] = vcvtq_f32_s32(w[k]);
        }
        const float32x4_t dw = kq_f16x4(g);
        float32x4_t d4d8[N];
        R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) d4d8[t] = vmulq_n_f32(dw, kq_f32(a[t] + size_t(b) * kActBlock));
        for (int s = 0; s < 8; ++s) {
            int8x16_t lo[4], hi[4];
            R1_NEONKQ_UNROLL for (int k = 0; k < 4; ++k) {
                const uint8x16_t p = vld1q_u8(g + 40 + 64 * s + 16 * k);
                lo[k] = vqtbl1q_s8(table, vandq_u8(p, vdupq_n_u8(0x0F)));
                hi[k] = vqtbl1q_s8(table, vshrq_n_u8(p, 4));
            }
            R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) {
                const int8_t* aq = kq_codes(a[t] + size_t(b) * kActBlock) + 32 * s;
                const int32x4_t sumi = vaddq_s32(kq_dot16(lo, aq), kq_dot16(hi, aq + 16));
                const float32x4_t dl = vmulq_f32(d4d8[t], ls[s]);
                acc[t] = vaddq_f32(acc[t], vmulq_f32(dl, vcvtq_f32_s32(sumi)));
            }
        }
    }
    R1_NEONKQ_UNROLL for (int t = 0; t < N; ++t) vst1q_f32(res + 4 * t, acc[t]);
}

// ---- gemm entry points -----------------------------------------------------------------------------------------

template <int Type>
struct KqTiles;
template <>
struct KqTiles<int(DType::Q2_K)> {
    static constexpr size_t kGroup = kGroupQ2_K;
    static constexpr NeonTileFn kTiles[4] = {kq_tile_q2_K<1>, kq_tile_q2_K<2>, kq_tile_q2_K<3>, kq_tile_q2_K<4>};
};
template <>
struct KqTiles<int(DType::Q3_K)> {
    static constexpr size_t kGroup = kGroupQ3_K;
    static constexpr NeonTileFn kTiles[4] = {kq_tile_q3_K<1>, kq_tile_q3_K<2>, kq_tile_q3_K<3>, kq_tile_q3_K<4>};
};
template <>
struct KqTiles<int(DType::Q4_K)> {
    static constexpr size_t kGroup = kGroupQ4_K;
    static constexpr NeonTileFn kTiles[4] = {kq_tile_q45_K<false, 1>, kq_tile_q45_K<false, 2>,
                                             kq_tile_q45_K<false, 3>, kq_tile_q45_K<false, 4>};
};
template <>
struct KqTiles<int(DType::Q5_K)> {
    static constexpr size_t kGroup = kGroupQ5_K;
    static constexpr NeonTileFn kTiles[4] = {kq_tile_q45_K<true, 1>, kq_tile_q45_K<true, 2>,
                                             kq_tile_q45_K<true, 3>, kq_tile_q45_K<true, 4>};
};
template <>
struct KqTiles<int(DType::Q6_K)> {
    static constexpr size_t kGroup = kGroupQ6_K;
    static constexpr NeonTileFn kTiles[4] = {kq_tile_q6_K<1>, kq_tile_q6_K<2>, kq_tile_q6_K<3>, kq_tile_q6_K<4>};
};
template <>
struct KqTiles<int(DType::IQ4_XS)> {
    static constexpr size_t kGroup = kGroupIQ4_XS;
    static constexpr NeonTileFn kTiles[4] = {kq_tile_iq4_xs<1>, kq_tile_iq4_xs<2>, kq_tile_iq4_xs<3>, kq_tile_iq4_xs<4>};
};

template <int Type>
void kq_gemm(const CpuWeight& w, const void* act, size_t act_row_bytes, int64_t n_tokens, int64_t r0, int64_t r1,
             float* out, size_t out_stride) {
    neon_run_tiles(KqTiles<Type>::kTiles, KqTiles<Type>::kGroup, w, act, act_row_bytes, n_tokens, r0, r1, out, out_stride);
}

}  // namespace
}  // namespace neon_kq
}  // namespace r1::cpu

#undef R1_NEONKQ_INLINE
#undef R1_NEONKQ_UNROLL

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace r1::cpu {

// Fills the gemm and repack of the super-block types into the NEON table (matmul_neon.cpp sets act_type and the
// quantizer).
void neon_kquants_fill(MatmulKernels* by_type) {
    using namespace neon_kq;
    struct Entry {
        DType type;
        bool (*repack)(CpuWeight&);
        decltype(MatmulKernels::gemm) gemm;
    };
    const Entry entries[] = {
        {DType::Q2_K, kq_repack_q2_K, kq_gemm<int(DType::Q2_K)>},
        {DType::Q3_K, kq_repack_q3_K, kq_gemm<int(DType::Q3_K)>},
        {DType::Q4_K, kq_repack_q4_K, kq_gemm<int(DType::Q4_K)>},
        {DType::Q5_K, kq_repack_q5_K, kq_gemm<int(DType::Q5_K)>},
        {DType::Q6_K, kq_repack_q6_K, kq_gemm<int(DType::Q6_K)>},
        {DType::IQ4_XS, kq_repack_iq4_xs, kq_gemm<int(DType::IQ4_XS)>},
    };
    for (const Entry& e : entries) {
        MatmulKernels& k = by_type[uint32_t(e.type)];
        k.repack = e.repack;
        k.gemm = e.gemm;
        k.row_block = 4;
    }
}

}  // namespace r1::cpu

#endif  // __aarch64__
