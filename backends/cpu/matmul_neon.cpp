// The NEON kernel family (ARMv8 Advanced SIMD + the dot-product extension, ARMv8.2 SDOT): activation quantizers,
// the float-weight kernels, the kernels of the 32-value block types, the 4-row weight layout they share with the
// super-block types (matmul_neon_kquants.cpp), and the family's table. The other operations are in ops_neon.cpp.
//
// Weight layout ("4-row groups"). The repack cuts the rows into groups of 4 (the last one padded with zero rows)
// and stores, group after group, block b of the 4 rows together: their scales side by side, then their codes
// interleaved in 4-byte pieces, so that one 16-byte vector holds 4 consecutive codes of each of the 4 rows:
//     vector k, byte 4*r + j  =  code 4*k + j of row r.
// `sdot v.4s, w.16b, a.4b[l]` then adds, for each row r (int32 lane r), the dot product of those 4 codes with
// activation bytes 4*l .. 4*l+3: the 4 rows' integer block sums come out in the lanes of one register with no
// horizontal reduction, and every activation vector loaded is used by 4 rows. The block scales of the 4 rows
// load as one vector too, so the float work of a block is a few vector instructions for 4 rows.
//
// A gemm call walks its row range group by group; per group, the tokens go by 4 (N = 1..4 templates): the
// weights of a block are decoded once per 4 tokens, and each token's float sums stay in one register over the
// whole row. The group's weights stay in L1 while the token chunks pass; long prompts go in blocks of tokens whose
// activations fit in L2. (Tile sizes are reasoned, not yet measured on ARM hardware.)
//
// Exactness: the integer block sums are exact, and for the 32-value block types the float steps of each row are
// those of the scalar reference (same products in the same order, no fused multiply-add: this file is built with
// fp-contract=off), so these kernels return bit for bit what the scalar family returns. Float weights use float
// activations (more accurate than the reference's F16/BF16 activations) and fused multiply-adds.
//
// Weights left in GGUF rows (layout 0: created with R1B_WEIGHT_ROWS, or a repack that could not allocate) are
// multiplied by the scalar family's kernels.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "matmul.h"
#include "quants/blocks.h"
#include "quants/fp16.h"

#if defined(__aarch64__)

#include <arm_neon.h>

namespace r1::cpu {

// ---------------------------------------------------------------------------------------------------------------
// The 4-row layout, shared with matmul_neon_kquants.cpp (plain C++: no vector instructions here)
// ---------------------------------------------------------------------------------------------------------------

// CpuWeight::layout of weights repacked into 4-row groups.
int neon_layout_id() { return 0x4e344752; }  // "RG4N"

// Computes a group of 4 rows against N = 1..4 tokens over nb blocks: res[4 * t + r] = dot(row r, token t).
// act[t] points at token t's activation row (block 0).
using NeonTileFn = void (*)(const uint8_t* group, int64_t nb, const uint8_t* const* act, float* res);

// Writes block b of the 4 rows rows[0..3] (nullptr: a padding row of zeros) in the 4-row layout at dst.
using NeonFillFn = void (*)(const uint8_t* const rows[4], int64_t b, uint8_t* dst);

bool neon_repack(CpuWeight& w, size_t group_bytes, NeonFillFn fill) {
    if (w.layout != 0 || w.rows < 1 || !w.data) return false;
    const int64_t qk = int64_t(traits(w.type).block_elements);
    const int64_t nb = w.cols / qk;
    const int64_t groups = (w.rows + 3) / 4;
    const size_t bytes = size_t(groups) * size_t(nb) * group_bytes;
    void* p = nullptr;
    if (nb < 1 || posix_memalign(&p, 64, bytes) != 0) return false;
    auto* dst = static_cast<uint8_t*>(p);
    for (int64_t g = 0; g < groups; ++g) {
        const uint8_t* rows[4];
        for (int r = 0; r < 4; ++r) rows[r] = 4 * g + r < w.rows ? w.data + size_t(4 * g + r) * w.row_bytes : nullptr;
        for (int64_t b = 0; b < nb; ++b) fill(rows, b, dst + (size_t(g) * size_t(nb) + size_t(b)) * group_bytes);
    }
    w.data = dst;
    w.owned = dst;
    w.owned_bytes = bytes;
    w.layout = neon_layout_id();
    return true;
}

// The gemm of a weight in the 4-row layout: tiles[n - 1] computes a group for n tokens; group_bytes is the size of
// one block of 4 rows. Weights in GGUF rows go to the scalar family.
void neon_run_tiles(const NeonTileFn* tiles, size_t group_bytes, const CpuWeight& w, const void* act,
                    size_t act_row_bytes, int64_t n_tokens, int64_t r0, int64_t r1, float* out, size_t out_stride) {
    if (w.layout != neon_layout_id()) {
        scalar_family()->by_type[uint32_t(w.type)]->gemm(w, act, act_row_bytes, n_tokens, r0, r1, out, out_stride);
        return;
    }
    const int64_t nb = w.cols / int64_t(traits(w.type).block_elements);
    const size_t group_stride = size_t(nb) * group_bytes;
    const auto* a = static_cast<const uint8_t*>(act);
    // Tokens go in blocks whose activations stay in L2 (about 256 KiB) while every group of the range passes over
    // them; within a block, 4 tokens at a time against one group, whose weights stay in L1.
    int64_t block = int64_t((size_t(256) << 10) / (act_row_bytes ? act_row_bytes : 1)) / 4 * 4;
    if (block < 4) block = 4;
    float res[16];
    for (int64_t tb = 0; tb < n_tokens; tb += block) {
        const int64_t tb_end = n_tokens - tb < block ? n_tokens : tb + block;
        for (int64_t g = r0 / 4; 4 * g < r1; ++g) {
            const uint8_t* gp = w.data + size_t(g) * group_stride;
            const int64_t first = r0 > 4 * g ? r0 - 4 * g : 0;
            const int64_t end = r1 - 4 * g < 4 ? r1 - 4 * g : 4;
            for (int64_t t0 = tb; t0 < tb_end; t0 += 4) {
                const int n = tb_end - t0 < 4 ? int(tb_end - t0) : 4;
                const uint8_t* ap[4];
                for (int t = 0; t < n; ++t) ap[t] = a + size_t(t0 + t) * act_row_bytes;
                tiles[n - 1](gp, nb, ap, res);
                for (int t = 0; t < n; ++t) {
                    float* o = out + size_t(t0 + t) * out_stride + size_t(4 * g);
                    for (int64_t i = first; i < end; ++i) o[i] = res[4 * t + i];
                }
            }
        }
    }
}

void neon_kquants_fill(MatmulKernels* by_type);  // matmul_neon_kquants.cpp

namespace neon_mm {
namespace {

alignas(16) const uint8_t kZeroBlock[64] = {};

// ---- repack of the 32-value block types ------------------------------------------------------------------------
//
// Block b of 4 rows, by type (offsets in bytes; "4 x fp16" = the 4 rows' values in row order):
//   Q4_0, IQ4_NL  0: d 4 x fp16 | 8: codes 64                              72 bytes
//   Q4_1          0: d          | 8: m 4 x fp16 | 16: codes 64             80
//   Q5_0          0: d          | 8: high bits 16 | 24: codes 64           88
//   Q5_1          0: d          | 8: m | 16: high bits 16 | 32: codes 64   96
//   Q8_0          0: d          | 8: codes 128                             136
// 4-bit codes: vector m (0..3), byte 4r + j = byte 4m + j of row r's qs: its low nibbles are values 4m + j (paired
// with activation bytes 0..15, lane m), its high nibbles values 16 + 4m + j (bytes 16..31, lane m). Q4_0 stores
// the bytes xor 0x88, which makes each nibble the 4-bit two's complement of q - 8. Q8_0: vector k (0..7), byte
// 4r + j = qs[4k + j] of row r. High bits (Q5_*): 8 little-endian uint16 masks; bit 4r + j of mask k is bit
// 4k + j of row r's qh, the fifth bit of the code at byte 4r + j of the k-th decoded vector (k < 4: low nibbles
// of vector k, k >= 4: high nibbles of vector k - 4).

enum NeonLegacyKind { kNlQ4_0, kNlQ4_1, kNlQ5_0, kNlQ5_1, kNlQ8_0, kNlIQ4_NL };

constexpr bool nl_has_min(int kind) { return kind == kNlQ4_1 || kind == kNlQ5_1; }
constexpr bool nl_has_high(int kind) { return kind == kNlQ5_0 || kind == kNlQ5_1; }
constexpr int nl_high_offset(int kind) { return nl_has_min(kind) ? 16 : 8; }
constexpr int nl_codes_offset(int kind) { return 8 + (nl_has_min(kind) ? 8 : 0) + (nl_has_high(kind) ? 16 : 0); }
constexpr size_t nl_group_bytes(int kind) { return size_t(nl_codes_offset(kind) + (kind == kNlQ8_0 ? 128 : 64)); }
constexpr size_t nl_block_bytes(int kind) {
    return kind == kNlQ4_1 ? 20 : kind == kNlQ5_0 ? 22 : kind == kNlQ5_1 ? 24 : kind == kNlQ8_0 ? 34 : 18;
}
// Offsets inside a GGUF block: the fp16 m, the uint32 qh, the codes.
constexpr int nl_src_high(int kind) { return kind == kNlQ5_0 ? 2 : 4; }
constexpr int nl_src_codes(int kind) { return kind == kNlQ4_1 ? 4 : kind == kNlQ5_0 ? 6 : kind == kNlQ5_1 ? 8 : 2; }

template <int Kind>
void nl_fill(const uint8_t* const rows[4], int64_t b, uint8_t* dst) {
    const uint8_t* src[4];
    for (int r = 0; r < 4; ++r) src[r] = rows[r] ? rows[r] + size_t(b) * nl_block_bytes(Kind) : kZeroBlock;
    for (int r = 0; r < 4; ++r) {
        std::memcpy(dst + 2 * r, src[r], 2);
        if (nl_has_min(Kind)) std::memcpy(dst + 8 + 2 * r, src[r] + 2, 2);
    }
    uint8_t* codes = dst + nl_codes_offset(Kind);
    const int vectors = Kind == kNlQ8_0 ? 8 : 4;
    for (int k = 0; k < vectors; ++k)
        for (int r = 0; r < 4; ++r)
            for (int j = 0; j < 4; ++j) {
                const uint8_t q = src[r][nl_src_codes(Kind) + 4 * k + j];
                codes[16 * k + 4 * r + j] = Kind == kNlQ4_0 ? uint8_t(q ^ 0x88) : q;
            }
    if (nl_has_high(Kind)) {
        uint32_t qh[4];
        for (int r = 0; r < 4; ++r) {
            const uint8_t* h = src[r] + nl_src_high(Kind);
            qh[r] = uint32_t(h[0]) | uint32_t(h[1]) << 8 | uint32_t(h[2]) << 16 | uint32_t(h[3]) << 24;
        }
        for (int k = 0; k < 8; ++k) {
            uint32_t mask = 0;
            for (int r = 0; r < 4; ++r)
                for (int j = 0; j < 4; ++j) mask |= ((qh[r] >> (4 * k + j)) & 1u) << (4 * r + j);
            dst[nl_high_offset(Kind) + 2 * k] = uint8_t(mask);
            dst[nl_high_offset(Kind) + 2 * k + 1] = uint8_t(mask >> 8);
        }
    }
}

template <int Kind>
bool nl_repack(CpuWeight& w) {
    return neon_repack(w, nl_group_bytes(Kind), nl_fill<Kind>);
}

}  // namespace
}  // namespace neon_mm
}  // namespace r1::cpu

// ---------------------------------------------------------------------------------------------------------------
// Kernels: everything below runs only where isa_available(Isa::Neon) holds.
// ---------------------------------------------------------------------------------------------------------------

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("dotprod"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")
#pragma GCC optimize("fp-contract=off")
#endif

#define R1_NEON_INLINE inline __attribute__((always_inline))
#define R1_NEON_UNROLL _Pragma("GCC unroll 16")

namespace r1::cpu {
namespace neon_mm {
namespace {

// acc.s[r] += sum_j w.b[4r + j] * a.b[4 * Lane + j]: SDOT by element. Clang before 17 declares the intrinsic only
// when the whole translation unit targets dotprod, so it gets the instruction directly.
template <int Lane>
R1_NEON_INLINE int32x4_t mm_sdot(int32x4_t acc, int8x16_t w, int8x16_t a) {
#if defined(__clang__) && !defined(__ARM_FEATURE_DOTPROD)
    __asm__("sdot %0.4s, %1.16b, %2.4b[%3]" : "+w"(acc) : "w"(w), "w"(a), "i"(Lane));
    return acc;
#else
    return vdotq_laneq_s32(acc, w, a, Lane);
#endif
}

R1_NEON_INLINE float mm_f16(const uint8_t* p) {
    __fp16 h;
    std::memcpy(&h, p, 2);
    return float(h);
}
R1_NEON_INLINE float mm_f32(const uint8_t* p) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
}
// Four fp16 values as floats (exact, subnormals included).
R1_NEON_INLINE float32x4_t mm_f16x4(const uint8_t* p) { return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(p))); }
R1_NEON_INLINE int8x16_t mm_s8(const uint8_t* p) { return vreinterpretq_s8_u8(vld1q_u8(p)); }

// ---- activation quantizers -------------------------------------------------------------------------------------
// The reference's bytes exactly: the same float operations per value; vcvtaq rounds halves away from zero like
// roundf, vcvtnq to nearest even like nearest_int. NaN inputs are ignored by the maxima as in the reference.

// 16 int32 -> 16 int8 (saturating; the values are within -128..127 already).
R1_NEON_INLINE int8x16_t mm_narrow16(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
    const int16x8_t ab = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
    const int16x8_t cd = vcombine_s16(vqmovn_s32(c), vqmovn_s32(d));
    return vcombine_s8(vqmovn_s16(ab), vqmovn_s16(cd));
}

template <bool Q81>
void mm_quantize_q8_0_1(const float* x, void* out, int64_t n) {
    auto* y = static_cast<uint8_t*>(out);
    const size_t block = Q81 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    for (int64_t i = 0; i < n / 32; ++i, x += 32, y += block) {
        float32x4_t v[8];
        float32x4_t amax = vdupq_n_f32(0.0f);
        R1_NEON_UNROLL for (int k = 0; k < 8; ++k) {
            v[k] = vld1q_f32(x + 4 * k);
            amax = vmaxnmq_f32(amax, vabsq_f32(v[k]));
        }
        const float d = vmaxnmvq_f32(amax) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int32x4_t q[8];
        R1_NEON_UNROLL for (int k = 0; k < 8; ++k) q[k] = vcvtaq_s32_f32(vmulq_n_f32(v[k], id));
        const uint16_t dh = fp32_to_fp16(d);
        std::memcpy(y, &dh, 2);
        int8_t* qs = reinterpret_cast<int8_t*>(y + (Q81 ? 4 : 2));
        vst1q_s8(qs, mm_narrow16(q[0], q[1], q[2], q[3]));
        vst1q_s8(qs + 16, mm_narrow16(q[4], q[5], q[6], q[7]));
        if (Q81) {
            int32x4_t s = vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3]));
            s = vaddq_s32(s, vaddq_s32(vaddq_s32(q[4], q[5]), vaddq_s32(q[6], q[7])));
            const uint16_t sh = fp32_to_fp16(float(vaddvq_s32(s)) * d);
            std::memcpy(y + 2, &sh, 2);
        }
    }
}
void mm_quantize_q8_0(const float* x, void* out, int64_t n) { mm_quantize_q8_0_1<false>(x, out, n); }
void mm_quantize_q8_1(const float* x, void* out, int64_t n) { mm_quantize_q8_0_1<true>(x, out, n); }

void mm_quantize_q8_K(const float* x, void* out, int64_t n) {
    auto* y = static_cast<block_q8_K*>(out);
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        float32x4_t amax_v = vdupq_n_f32(0.0f);
        for (int k = 0; k < 64; ++k) amax_v = vmaxnmq_f32(amax_v, vabsq_f32(vld1q_f32(x + 4 * k)));
        const float amax = vmaxnmvq_f32(amax_v);
        if (amax == 0.0f) {
            std::memset(&y[i], 0, sizeof(block_q8_K));
            continue;
        }
        float max = 0.0f;  // the first value of largest magnitude, with its sign
        for (int k = 0; k < QK_K; ++k)
            if (std::fabs(x[k]) == amax) {
                max = x[k];
                break;
            }
        const float iscale = -127.0f / max;
        const int32x4_t top = vdupq_n_s32(127);
        for (int s = 0; s < 16; ++s) {
            int32x4_t q[4];
            R1_NEON_UNROLL for (int j = 0; j < 4; ++j)
                q[j] = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + 16 * s + 4 * j), iscale)), top);
            vst1q_s8(y[i].qs + 16 * s, mm_narrow16(q[0], q[1], q[2], q[3]));
            y[i].bsums[s] = int16_t(vaddvq_s32(vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3]))));
        }
        y[i].d = 1.0f / iscale;
    }
}

// ---- 32-value block types --------------------------------------------------------------------------------------

// The 8 code vectors of block `g` (layout above): c[k] pairs with activation bytes 16 * (k / 4) .. + 15, lane k % 4.
template <int Kind>
R1_NEON_INLINE void nl_codes(const uint8_t* g, int8x16_t c[8]) {
    const uint8_t* qs = g + nl_codes_offset(Kind);
    if constexpr (Kind == kNlQ8_0) {
        R1_NEON_UNROLL for (int k = 0; k < 8; ++k) c[k] = mm_s8(qs + 16 * k);
    } else {
        uint8x16_t p[4];
        R1_NEON_UNROLL for (int m = 0; m < 4; ++m) p[m] = vld1q_u8(qs + 16 * m);
        if constexpr (Kind == kNlQ4_0) {
            // Nibbles hold q - 8 in two's complement: arithmetic shifts sign-extend them.
            R1_NEON_UNROLL for (int m = 0; m < 4; ++m) {
                const int8x16_t s = vreinterpretq_s8_u8(p[m]);
                c[m] = vshrq_n_s8(vshlq_n_s8(s, 4), 4);
                c[4 + m] = vshrq_n_s8(s, 4);
            }
        } else if constexpr (Kind == kNlIQ4_NL) {
            const int8x16_t table = vld1q_s8(kIQ4NLValues);
            R1_NEON_UNROLL for (int m = 0; m < 4; ++m) {
                c[m] = vqtbl1q_s8(table, vandq_u8(p[m], vdupq_n_u8(0x0F)));
                c[4 + m] = vqtbl1q_s8(table, vshrq_n_u8(p[m], 4));
            }
        } else {
            uint8x16_t nib[8];
            R1_NEON_UNROLL for (int m = 0; m < 4; ++m) {
                nib[m] = vandq_u8(p[m], vdupq_n_u8(0x0F));
                nib[4 + m] = vshrq_n_u8(p[m], 4);
            }
            if constexpr (nl_has_high(Kind)) {
                // Mask k (16 bits) -> 16 bytes: byte i tests bit i.
                const uint8x16_t masks = vld1q_u8(g + nl_high_offset(Kind));
                const uint8x16_t bit = vreinterpretq_u8_u64(vdupq_n_u64(0x8040201008040201ull));
                R1_NEON_UNROLL for (int k = 0; k < 8; ++k) {
                    const uint8x16_t pick = vcombine_u8(vdup_n_u8(uint8_t(2 * k)), vdup_n_u8(uint8_t(2 * k + 1)));
                    const uint8x16_t set = vtstq_u8(vqtbl1q_u8(masks, pick), bit);
                    if constexpr (Kind == kNlQ5_0)  // q - 16: subtract 16 where the fifth bit is clear
                        c[k] = vreinterpretq_s8_u8(vsubq_u8(nib[k], vbicq_u8(vdupq_n_u8(16), set)));
                    else
                        c[k] = vreinterpretq_s8_u8(vorrq_u8(nib[k], vandq_u8(set, vdupq_n_u8(16))));
                }
            } else {
                R1_NEON_UNROLL for (int k = 0; k < 8; ++k) c[k] = vreinterpretq_s8_u8(nib[k]);
            }
        }
    }
}

// The integer block sums of the 4 rows against one activation block (codes a0 = bytes 0..15, a1 = 16..31).
R1_NEON_INLINE int32x4_t nl_dot(const int8x16_t c[8], int8x16_t a0, int8x16_t a1) {
    int32x4_t s0 = vdupq_n_s32(0), s1 = vdupq_n_s32(0);
    s0 = mm_sdot<0>(s0, c[0], a0);
    s1 = mm_sdot<0>(s1, c[4], a1);
    s0 = mm_sdot<1>(s0, c[1], a0);
    s1 = mm_sdot<1>(s1, c[5], a1);
    s0 = mm_sdot<2>(s0, c[2], a0);
    s1 = mm_sdot<2>(s1, c[6], a1);
    s0 = mm_sdot<3>(s0, c[3], a0);
    s1 = mm_sdot<3>(s1, c[7], a1);
    return vaddq_s32(s0, s1);
}

template <int Kind, int N>
void nl_tile(const uint8_t* g, int64_t nb, const uint8_t* const* a, float* res) {
    constexpr size_t kActBlock = nl_has_min(Kind) ? sizeof(block_q8_1) : sizeof(block_q8_0);
    constexpr int kActCodes = nl_has_min(Kind) ? 4 : 2;
    float32x4_t acc[N];
    R1_NEON_UNROLL for (int t = 0; t < N; ++t) acc[t] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < nb; ++b, g += nl_group_bytes(Kind)) {
        int8x16_t c[8];
        nl_codes<Kind>(g, c);
        const float32x4_t dw = mm_f16x4(g);
        R1_NEON_UNROLL for (int t = 0; t < N; ++t) {
            const uint8_t* ab = a[t] + size_t(b) * kActBlock;
            const float32x4_t sum = vcvtq_f32_s32(nl_dot(c, mm_s8(ab + kActCodes), mm_s8(ab + kActCodes + 16)));
            const float da = mm_f16(ab);
            // The scalar reference's expression for each type, operation for operation.
            if constexpr (Kind == kNlQ4_0) {
                acc[t] = vaddq_f32(acc[t], vmulq_n_f32(vmulq_f32(sum, dw), da));  // sumi * dw * da
            } else if constexpr (Kind == kNlQ8_0) {
                acc[t] = vaddq_f32(acc[t], vmulq_f32(sum, vmulq_n_f32(dw, da)));  // sumi * (dw * da)
            } else if constexpr (nl_has_min(Kind)) {
                // (dw * da) * sumi + m * s
                const float32x4_t mw = mm_f16x4(g + 8);
                const float32x4_t term = vaddq_f32(vmulq_f32(vmulq_n_f32(dw, da), sum), vmulq_n_f32(mw, mm_f16(ab + 2)));
                acc[t] = vaddq_f32(acc[t], term);
            } else {
                acc[t] = vaddq_f32(acc[t], vmulq_f32(vmulq_n_f32(dw, da), sum));  // (dw * da) * sumi
            }
        }
    }
    R1_NEON_UNROLL for (int t = 0; t < N; ++t) vst1q_f32(res + 4 * t, acc[t]);
}

template <int Kind>
void nl_gemm(const CpuWeight& w, const void* act, size_t act_row_bytes, int64_t n_tokens, int64_t r0, int64_t r1,
             float* out, size_t out_stride) {
    static constexpr NeonTileFn kTiles[4] = {nl_tile<Kind, 1>, nl_tile<Kind, 2>, nl_tile<Kind, 3>, nl_tile<Kind, 4>};
    neon_run_tiles(kTiles, nl_group_bytes(Kind), w, act, act_row_bytes, n_tokens, r0, r1, out, out_stride);
}

// ---- float weights ---------------------------------------------------------------------------------------------
// GGUF rows (no repack) times F32 activations: R rows x N tokens, each pair with two 4-lane partial sums (columns
// k..k+3 and k+4..k+7), so a row of c columns is summed in 8 float chains of c/8 terms; odd columns at the end.

enum NeonFloatKind { kNfF32, kNfF16, kNfBF16 };

template <int Kind>
R1_NEON_INLINE float32x4_t nf_load4(const uint8_t* row, int64_t k) {
    if constexpr (Kind == kNfF32) return vreinterpretq_f32_u8(vld1q_u8(row + 4 * k));
    const uint16x4_t h = vreinterpret_u16_u8(vld1_u8(row + 2 * k));
    if constexpr (Kind == kNfF16) return vcvt_f32_f16(vreinterpret_f16_u16(h));
    return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
}

template <int Kind>
R1_NEON_INLINE float nf_load1(const uint8_t* row, int64_t k) {
    if constexpr (Kind == kNfF32) return mm_f32(row + 4 * k);
    if constexpr (Kind == kNfF16) return mm_f16(row + 2 * k);
    uint16_t h;
    std::memcpy(&h, row + 2 * k, 2);
    return bf16_to_fp32(h);
}

template <int Kind, int R, int N>
void nf_tile(const uint8_t* w0, size_t wrb, const uint8_t* a0, size_t arb, int64_t cols, float* out, size_t os) {
    float32x4_t lo[R][N], hi[R][N];
    R1_NEON_UNROLL for (int r = 0; r < R; ++r) R1_NEON_UNROLL for (int t = 0; t < N; ++t) {
        lo[r][t] = vdupq_n_f32(0.0f);
        hi[r][t] = vdupq_n_f32(0.0f);
    }
    int64_t k = 0;
    for (; k + 8 <= cols; k += 8) {
        float32x4_t wl[R], wh[R];
        R1_NEON_UNROLL for (int r = 0; r < R; ++r) {
            wl[r] = nf_load4<Kind>(w0 + r * wrb, k);
            wh[r] = nf_load4<Kind>(w0 + r * wrb, k + 4);
        }
        R1_NEON_UNROLL for (int t = 0; t < N; ++t) {
            const float* a = reinterpret_cast<const float*>(a0 + t * arb) + k;
            const float32x4_t al = vld1q_f32(a), ah = vld1q_f32(a + 4);
            R1_NEON_UNROLL for (int r = 0; r < R; ++r) {
                lo[r][t] = vfmaq_f32(lo[r][t], wl[r], al);
                hi[r][t] = vfmaq_f32(hi[r][t], wh[r], ah);
            }
        }
    }
    if (k + 4 <= cols) {
        R1_NEON_UNROLL for (int r = 0; r < R; ++r) {
            const float32x4_t wv = nf_load4<Kind>(w0 + r * wrb, k);
            R1_NEON_UNROLL for (int t = 0; t < N; ++t)
                lo[r][t] = vfmaq_f32(lo[r][t], wv, vld1q_f32(reinterpret_cast<const float*>(a0 + t * arb) + k));
        }
        k += 4;
    }
    R1_NEON_UNROLL for (int t = 0; t < N; ++t) R1_NEON_UNROLL for (int r = 0; r < R; ++r) {
        float s = vaddvq_f32(vaddq_f32(lo[r][t], hi[r][t]));
        const float* a = reinterpret_cast<const float*>(a0 + t * arb);
        for (int64_t j = k; j < cols; ++j) s = std::fma(nf_load1<Kind>(w0 + r * wrb, j), a[j], s);
        out[t * os + r] = s;
    }
}

template <int Kind, int R>
R1_NEON_INLINE void nf_rows(const uint8_t* wr, size_t wrb, const uint8_t* a, size_t arb, int64_t n_tokens,
                            int64_t cols, float* out, size_t os) {
    int64_t t = 0;
    for (; t + 2 <= n_tokens; t += 2) nf_tile<Kind, R, 2>(wr, wrb, a + size_t(t) * arb, arb, cols, out + size_t(t) * os, os);
    if (t < n_tokens) nf_tile<Kind, R, 1>(wr, wrb, a + size_t(t) * arb, arb, cols, out + size_t(t) * os, os);
}

template <int Kind>
void nf_gemm(const CpuWeight& w, const void* act, size_t act_row_bytes, int64_t n_tokens, int64_t r0, int64_t r1,
             float* out, size_t out_stride) {
    const auto* a = static_cast<const uint8_t*>(act);
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4)
        nf_rows<Kind, 4>(w.data + size_t(r) * w.row_bytes, w.row_bytes, a, act_row_bytes, n_tokens, w.cols, out + r, out_stride);
    for (; r < r1; ++r)
        nf_rows<Kind, 1>(w.data + size_t(r) * w.row_bytes, w.row_bytes, a, act_row_bytes, n_tokens, w.cols, out + r, out_stride);
}

}  // namespace
}  // namespace neon_mm
}  // namespace r1::cpu

#undef R1_NEON_INLINE
#undef R1_NEON_UNROLL

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

// ---------------------------------------------------------------------------------------------------------------
// The family's table (built with the default target: tests may ask for it on any ARM CPU)
// ---------------------------------------------------------------------------------------------------------------

namespace r1::cpu {
namespace neon_mm {
namespace {

struct NeonTables {
    MatmulKernels k[kDTypeIdLimit];
    FamilyKernels family;

    void set(DType t, DType act, void (*quantize)(const float*, void*, int64_t), bool (*repack)(CpuWeight&),
             decltype(MatmulKernels::gemm) gemm) {
        MatmulKernels& m = k[uint32_t(t)];
        m.act_type = act;
        m.quantize = quantize;
        m.repack = repack;
        m.gemm = gemm;
        m.row_block = 4;
    }

    NeonTables() {
        set(DType::F32, DType::F32, nullptr, nullptr, nf_gemm<kNfF32>);
        set(DType::F16, DType::F32, nullptr, nullptr, nf_gemm<kNfF16>);
        set(DType::BF16, DType::F32, nullptr, nullptr, nf_gemm<kNfBF16>);
        set(DType::Q4_0, DType::Q8_0, mm_quantize_q8_0, nl_repack<kNlQ4_0>, nl_gemm<kNlQ4_0>);
        set(DType::Q4_1, DType::Q8_1, mm_quantize_q8_1, nl_repack<kNlQ4_1>, nl_gemm<kNlQ4_1>);
        set(DType::Q5_0, DType::Q8_0, mm_quantize_q8_0, nl_repack<kNlQ5_0>, nl_gemm<kNlQ5_0>);
        set(DType::Q5_1, DType::Q8_1, mm_quantize_q8_1, nl_repack<kNlQ5_1>, nl_gemm<kNlQ5_1>);
        set(DType::Q8_0, DType::Q8_0, mm_quantize_q8_0, nl_repack<kNlQ8_0>, nl_gemm<kNlQ8_0>);
        set(DType::IQ4_NL, DType::Q8_0, mm_quantize_q8_0, nl_repack<kNlIQ4_NL>, nl_gemm<kNlIQ4_NL>);
        neon_kquants_fill(k);  // Q2_K .. Q6_K, IQ4_XS: repack and gemm
        for (DType t : {DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_XS}) {
            k[uint32_t(t)].act_type = DType::Q8_K;
            k[uint32_t(t)].quantize = mm_quantize_q8_K;
        }
        for (uint32_t id = 0; id < kDTypeIdLimit; ++id)
            if (k[id].gemm) family.by_type[id] = &k[id];
    }
};

}  // namespace
}  // namespace neon_mm

const FamilyKernels* neon_family() {
    static const neon_mm::NeonTables tables;
    return &tables.family;
}

}  // namespace r1::cpu

#else  // not AArch64

namespace r1::cpu {
const FamilyKernels* neon_family() { return nullptr; }
}  // namespace r1::cpu

#endif
