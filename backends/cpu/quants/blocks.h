// Block layouts of the quantized tensor types, byte for byte as ggml stores them in GGUF files.
//
// A row of n values (n a multiple of the block size) is n / QK consecutive blocks. All multi-byte fields
// are little-endian; "fp16" fields hold IEEE half bits (see fp16.h). The structs contain only uint8/int8/
// uint16/int16/float members in an order that leaves no padding, so they can be laid over file bytes
// directly; the pointer must be aligned to 2 bytes (4 for block_q8_K).
//
// Notation in the comments: x[j] is the j-th value of the block (the value the block decodes to), q[j]
// its integer code. "d", "m", "dmin" are fp16 scales unless said otherwise.
#pragma once

#include <cstdint>

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the block structs are laid over little-endian file bytes: a big-endian host is not supported"
#endif

namespace r1::cpu {

constexpr int QK4_0 = 32;
constexpr int QK4_1 = 32;
constexpr int QK5_0 = 32;
constexpr int QK5_1 = 32;
constexpr int QK8_0 = 32;
constexpr int QK8_1 = 32;
constexpr int QK4_NL = 32;
constexpr int QK_K = 256;      // K-quant super-block
constexpr int K_SCALE_SIZE = 12;  // packed 6-bit scales and mins of Q4_K / Q5_K

// -------------------------------------------------------------------------------------------------------
// 32-value blocks ("legacy" quants). Two values share a byte of qs: the low nibble holds value j, the high
// nibble value j + 16 (not j + 1).

// Q4_0, 18 bytes: x[j] = d * (q[j] - 8), q in 0..15.
struct block_q4_0 {
    uint16_t d;       // fp16 scale
    uint8_t qs[16];   // qs[j] = q[j] | q[j + 16] << 4
};

// Q4_1, 20 bytes: x[j] = d * q[j] + m, q in 0..15.
struct block_q4_1 {
    uint16_t d;       // fp16 scale
    uint16_t m;       // fp16 offset (the block's minimum)
    uint8_t qs[16];   // as Q4_0
};

// Q5_0, 22 bytes: x[j] = d * (q[j] - 16), q in 0..31; the fifth bit of q[j] is bit j of qh.
struct block_q5_0 {
    uint16_t d;       // fp16 scale
    uint8_t qh[4];    // uint32 little-endian: bit j = bit 4 of q[j], j = 0..31
    uint8_t qs[16];   // low 4 bits, as Q4_0
};

// Q5_1, 24 bytes: x[j] = d * q[j] + m, q in 0..31.
struct block_q5_1 {
    uint16_t d;       // fp16 scale
    uint16_t m;       // fp16 offset
    uint8_t qh[4];    // as Q5_0
    uint8_t qs[16];   // as Q5_0
};

// Q8_0, 34 bytes: x[j] = d * q[j], q in -127..127. Weights, and the activations of Q4_0/Q5_0/Q8_0/IQ4_NL.
struct block_q8_0 {
    uint16_t d;       // fp16 scale
    int8_t qs[32];
};

// Q8_1, 36 bytes: x[j] = d * q[j]; s = d * sum(q) lets Q4_1/Q5_1 dot products add the offset term.
struct block_q8_1 {
    uint16_t d;       // fp16 scale
    uint16_t s;       // fp16 of d * sum_j q[j]
    int8_t qs[32];
};

// IQ4_NL, 18 bytes: x[j] = d * kIQ4NLValues[q[j]], q in 0..15 (non-linear 4-bit codebook).
struct block_iq4_nl {
    uint16_t d;       // fp16 scale
    uint8_t qs[16];   // as Q4_0
};

// -------------------------------------------------------------------------------------------------------
// 256-value super-blocks (K-quants). Sub-blocks of 16 or 32 values have their own small integer scale
// (and min); the fp16 super-block scales d/dmin turn those into floats.

// Q2_K, 84 bytes. 16 sub-blocks of 16: x = d*sc * q - dmin*m, q in 0..3, sc/m 4 bits each.
// Values are stored in two halves of 128; in half h, byte qs[32h + l] holds 2-bit codes of values
// 128h + l + 32*k at bits 2k..2k+1 (k = 0..3). Sub-block s covers values 16s .. 16s+15.
struct block_q2_K {
    uint8_t scales[16];  // scales[s] = sc | m << 4
    uint8_t qs[64];
    uint16_t d;          // fp16 scale of the sub-block scales
    uint16_t dmin;       // fp16 scale of the sub-block mins
};

// Q3_K, 110 bytes. 16 sub-blocks of 16: x = d * (sc - 32) * (q - 4), q in 0..7, sc 6 bits.
// Low 2 bits of q as in Q2_K's qs; the third bit of value i is bit (i / 32) of hmask[i % 32], and a *set*
// bit means "no -4" (so q = low | hbit << 2). Scales: 16 six-bit values packed in 12 bytes: for s < 8 the
// low nibble of scales[s], for s >= 8 the high nibble of scales[s - 8]; the top two bits of s are bits
// 2*(s/4)..2*(s/4)+1 of scales[8 + s%4].
struct block_q3_K {
    uint8_t hmask[32];
    uint8_t qs[64];
    uint8_t scales[12];
    uint16_t d;          // fp16
};

// Q4_K, 144 bytes. 8 sub-blocks of 32: x = d*sc * q - dmin*m, q in 0..15, sc/m 6 bits each.
// Values in four chunks of 64: chunk c, byte qs[32c + l]: low nibble = value 64c + l, high = 64c + 32 + l.
// Scales/mins packed in 12 bytes (get_scale_min_k4): for s < 4, sc = scales[s] & 63, m = scales[s+4] & 63;
// for s >= 4, sc = (scales[s+4] & 15) | (scales[s-4] >> 6) << 4, m = (scales[s+4] >> 4) | (scales[s] >> 6) << 4.
struct block_q4_K {
    uint16_t d;          // fp16 scale of the sub-block scales
    uint16_t dmin;       // fp16 scale of the sub-block mins
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[128];
};

// Q5_K, 176 bytes. As Q4_K with a fifth bit: q in 0..31; bit 4 of value i is bit (i / 32) of qh[i % 32].
struct block_q5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[32];
    uint8_t qs[128];
};

// Q6_K, 210 bytes. 16 sub-blocks of 16: x = d * sc * (q - 32), q in 0..63, sc int8.
// Two halves of 128 values; in half h (ql + 64h, qh + 32h), for l = 0..31:
//   value 128h + l      = ql[l]      & 15 | ((qh[l] >> 0) & 3) << 4
//   value 128h + l + 32 = ql[l + 32] & 15 | ((qh[l] >> 2) & 3) << 4
//   value 128h + l + 64 = ql[l]      >> 4 | ((qh[l] >> 4) & 3) << 4
//   value 128h + l + 96 = ql[l + 32] >> 4 | ((qh[l] >> 6) & 3) << 4
struct block_q6_K {
    uint8_t ql[128];     // low 4 bits
    uint8_t qh[64];      // high 2 bits
    int8_t scales[16];   // sub-block scales
    uint16_t d;          // fp16 super-block scale
};

// Q8_K, 292 bytes: x[j] = d * q[j]. Activations of the K-quants and IQ4_XS only (never stored in files).
struct block_q8_K {
    float d;             // fp32 scale
    int8_t qs[256];
    int16_t bsums[16];   // bsums[s] = sum of qs[16s .. 16s+15]
};

// IQ4_XS, 136 bytes. 8 sub-blocks of 32: x = d * (ls - 32) * kIQ4NLValues[q], ls 6 bits.
// ls of sub-block s: low 4 bits = (scales_l[s/2] >> 4*(s%2)) & 15, high 2 bits = (scales_h >> 2s) & 3.
// Values: sub-block s uses qs[16s .. 16s+15], low nibble = value 32s + j, high nibble = value 32s + 16 + j.
struct block_iq4_xs {
    uint16_t d;          // fp16
    uint16_t scales_h;
    uint8_t scales_l[4];
    uint8_t qs[128];
};

static_assert(sizeof(block_q4_0) == 18, "Q4_0 block is 18 bytes");
static_assert(sizeof(block_q4_1) == 20, "Q4_1 block is 20 bytes");
static_assert(sizeof(block_q5_0) == 22, "Q5_0 block is 22 bytes");
static_assert(sizeof(block_q5_1) == 24, "Q5_1 block is 24 bytes");
static_assert(sizeof(block_q8_0) == 34, "Q8_0 block is 34 bytes");
static_assert(sizeof(block_q8_1) == 36, "Q8_1 block is 36 bytes");
static_assert(sizeof(block_iq4_nl) == 18, "IQ4_NL block is 18 bytes");
static_assert(sizeof(block_q2_K) == 84, "Q2_K block is 84 bytes");
static_assert(sizeof(block_q3_K) == 110, "Q3_K block is 110 bytes");
static_assert(sizeof(block_q4_K) == 144, "Q4_K block is 144 bytes");
static_assert(sizeof(block_q5_K) == 176, "Q5_K block is 176 bytes");
static_assert(sizeof(block_q6_K) == 210, "Q6_K block is 210 bytes");
static_assert(sizeof(block_q8_K) == 292, "Q8_K block is 292 bytes");
static_assert(sizeof(block_iq4_xs) == 136, "IQ4_XS block is 136 bytes");

// The IQ4_NL / IQ4_XS codebook: 16 non-uniform levels (denser near zero), sorted ascending.
constexpr int8_t kIQ4NLValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

}  // namespace r1::cpu
