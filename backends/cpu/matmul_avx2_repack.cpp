// The interleaved weight layout of the x86 kernel families (AVX2 and AVX-512 share it), and its inverse.
//
// Why: the x86 gemm kernels hold 16 weight rows in the lanes of one vector (AVX-512: one zmm of 16 int32 lanes;
// AVX2: two ymm halves of 8) and broadcast 4 activation bytes to all lanes, so that one vpdpbusd (or maddubs)
// computes, for 16 rows at once, the dot product of 4 consecutive weight codes with 4 activation codes. For that
// the 4-byte groups of 16 rows must sit next to each other in memory, and the small per-row scales must be in a
// form the vector units can widen with one instruction. Nothing is decoded to floats: the repacked weight has
// (almost) the size of the GGUF one, which matters because generation streams every weight once per token.
//
// Rows are taken 16 at a time ("group"; the last group is padded with zero rows, which decode to 0). A group
// stores, for each block of the row (32 values, or 256 for the K-quants and IQ4_XS), one "group block" of
// kGroupBlockBytes(type) bytes, blocks in row order; groups follow each other. Notation below: r = row in the
// group (0..15), "fp16[16]" = the 16 rows' fp16 field in row order, "pairs" = for j, r, e: byte at
// 32j + 2r + e is the field of sub-block 2j + e of row r (so one widening load gives, per 32-bit lane r, the
// fields of sub-blocks 2j and 2j + 1 as two int16), "scales" = for s, r: byte 16s + r is the field of sub-block s
// of row r, a "quad" = 4 consecutive values of a row, a "chunk" = 64
// bytes holding one 4-byte quad field per row (byte 4r + m = row r, value m of the quad), a "mask" = 64 bits,
// bit 4r + m set when value m of the quad of row r has the bit in question.
//
//   Q4_0, IQ4_NL  288  d fp16[16]; chunks i = 0..3: byte = qs[4i + m] (low nibble: value 4i + m, high: 16 + 4i + m)
//   Q4_1          320  d, m fp16[16]; 4 chunks as Q4_0
//   Q5_0          352  d; masks q = 0..7 of bit 4 (quad q = values 4q..4q+3); 4 chunks as Q4_0
//   Q5_1          384  d, m; 8 masks; 4 chunks
//   Q8_0          544  d; chunks q = 0..7: the int8 codes of values 4q..4q+3
//   Q2_K         1344  d, dmin fp16[16]; pairs j = 0..7 of the raw scale bytes (sc | m << 4);
//                      sub-block s = 0..15 (values 16s..): one chunk, bits 2q..2q+1 of byte m = code of 16s + 4q + m
//   Q3_K         1824  d; scales (sc - 32, int8); 16 chunks as Q2_K (low 2 bits);
//                      masks (4s + q) of the third bit (set = code + 4)
//   Q4_K         2368  d, dmin; pairs j = 0..3 of sc (u8); pairs of m (u8); sub-block s = 0..7, chunks i = 0..3:
//                      low nibble = value 32s + 4i + m, high nibble = value 32s + 16 + 4i + m
//   Q5_K         2880  as Q4_K, then masks (8s + q) of bit 4 (quad q = values 32s + 4q..), then the chunks
//   Q6_K         3360  d; scales (int8); sub-block s = 0..15 (values 16s..): chunk A = low
//                      nibbles of quads 0 (low) and 1 (high), chunk B = quads 2 and 3, chunk H = bits 4..5 of
//                      quad q at bits 2q..2q+1
//   IQ4_XS       2208  d; scales (ls - 32, int8) of the 8 sub-blocks; sub-block s, chunks i = 0..3 as Q4_0
//
// x86_unpack_weight is the exact inverse (the GGUF bytes of every real row come back), used by the tests.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "matmul.h"
#include "quants/blocks.h"

#if defined(__x86_64__)

namespace r1::cpu {

// Shared with matmul_avx2*.cpp and matmul_avx512*.cpp, which declare these themselves.
int x86_layout_id();
int x86_group_block_bytes(DType type);
bool x86_repack_weight(CpuWeight& w);
bool x86_unpack_weight(const CpuWeight& w, uint8_t* rows);

namespace x86_repack {
namespace {

constexpr int kRows = 16;
constexpr int kLayoutId = 0x5816;  // "X86, 16 rows"

inline uint32_t ld32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
inline void st32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline uint16_t ld16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
inline void st16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline uint64_t ld64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
inline void st64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

constexpr uint32_t kLo = 0x0F0F0F0Fu;

// One direction of the transform for one type: `rows[r]` is block b of row r (GGUF bytes), `g` the group block.
// pack reads rows and writes g; unpack reads g and writes rows.
using PackFn = void (*)(const uint8_t* const* rows, uint8_t* g);
using UnpackFn = void (*)(const uint8_t* g, uint8_t* const* rows);

// ---- fields shared by several types ------------------------------------------------------------------------

// fp16 field at byte `off` of each row's block <-> fp16[16] at g.
void put_f16(const uint8_t* const* rows, int off, uint8_t* g) {
    for (int r = 0; r < kRows; ++r) st16(g + 2 * r, ld16(rows[r] + off));
}
void get_f16(const uint8_t* g, uint8_t* const* rows, int off) {
    for (int r = 0; r < kRows; ++r) st16(rows[r] + off, ld16(g + 2 * r));
}

// n_chunks chunks whose quad i of row r is the 4 bytes at src offset off + 4i (plain interleave of 4-byte words).
void put_words(const uint8_t* const* rows, int off, int n_chunks, uint8_t* g) {
    for (int i = 0; i < n_chunks; ++i)
        for (int r = 0; r < kRows; ++r) st32(g + 64 * i + 4 * r, ld32(rows[r] + off + 4 * i));
}
void get_words(const uint8_t* g, int n_chunks, uint8_t* const* rows, int off) {
    for (int i = 0; i < n_chunks; ++i)
        for (int r = 0; r < kRows; ++r) st32(rows[r] + off + 4 * i, ld32(g + 64 * i + 4 * r));
}

// Masks of the 5th bit of Q5_0/Q5_1: bit j of the row's 32-bit qh is the bit of value j.
void put_qh_masks(const uint8_t* const* rows, int off, uint8_t* g) {
    for (int q = 0; q < 8; ++q) {
        uint64_t mask = 0;
        for (int r = 0; r < kRows; ++r) mask |= uint64_t((ld32(rows[r] + off) >> (4 * q)) & 0xF) << (4 * r);
        st64(g + 8 * q, mask);
    }
}
void get_qh_masks(const uint8_t* g, uint8_t* const* rows, int off) {
    for (int r = 0; r < kRows; ++r) {
        uint32_t qh = 0;
        for (int q = 0; q < 8; ++q) qh |= uint32_t((ld64(g + 8 * q) >> (4 * r)) & 0xF) << (4 * q);
        st32(rows[r] + off, qh);
    }
}

// "pairs": per-sub-block byte fields, n_sub of them per row, given as a row-major [16][n_sub] array.
void put_pairs(const uint8_t (*v)[16], int n_sub, uint8_t* g) {
    for (int j = 0; j < n_sub / 2; ++j)
        for (int r = 0; r < kRows; ++r) {
            g[32 * j + 2 * r] = v[r][2 * j];
            g[32 * j + 2 * r + 1] = v[r][2 * j + 1];
        }
}
void get_pairs(const uint8_t* g, int n_sub, uint8_t (*v)[16]) {
    for (int j = 0; j < n_sub / 2; ++j)
        for (int r = 0; r < kRows; ++r) {
            v[r][2 * j] = g[32 * j + 2 * r];
            v[r][2 * j + 1] = g[32 * j + 2 * r + 1];
        }
}

// "scales": the same fields, sub-block-major (byte 16s + r).
void put_scales(const uint8_t (*v)[16], int n_sub, uint8_t* g) {
    for (int sub = 0; sub < n_sub; ++sub)
        for (int r = 0; r < kRows; ++r) g[16 * sub + r] = v[r][sub];
}
void get_scales(const uint8_t* g, int n_sub, uint8_t (*v)[16]) {
    for (int sub = 0; sub < n_sub; ++sub)
        for (int r = 0; r < kRows; ++r) v[r][sub] = g[16 * sub + r];
}

// ---- 32-value blocks ------------------------------------------------------------------------------------------

void pack_q4_0(const uint8_t* const* rows, uint8_t* g) {  // also IQ4_NL: {d, qs[16]}
    put_f16(rows, 0, g);
    put_words(rows, 2, 4, g + 32);
}
void unpack_q4_0(const uint8_t* g, uint8_t* const* rows) {
    get_f16(g, rows, 0);
    get_words(g + 32, 4, rows, 2);
}
void pack_q4_1(const uint8_t* const* rows, uint8_t* g) {
    put_f16(rows, 0, g);
    put_f16(rows, 2, g + 32);
    put_words(rows, 4, 4, g + 64);
}
void unpack_q4_1(const uint8_t* g, uint8_t* const* rows) {
    get_f16(g, rows, 0);
    get_f16(g + 32, rows, 2);
    get_words(g + 64, 4, rows, 4);
}
void pack_q5_0(const uint8_t* const* rows, uint8_t* g) {
    put_f16(rows, 0, g);
    put_qh_masks(rows, 2, g + 32);
    put_words(rows, 6, 4, g + 96);
}
void unpack_q5_0(const uint8_t* g, uint8_t* const* rows) {
    get_f16(g, rows, 0);
    get_qh_masks(g + 32, rows, 2);
    get_words(g + 96, 4, rows, 6);
}
void pack_q5_1(const uint8_t* const* rows, uint8_t* g) {
    put_f16(rows, 0, g);
    put_f16(rows, 2, g + 32);
    put_qh_masks(rows, 4, g + 64);
    put_words(rows, 8, 4, g + 128);
}
void unpack_q5_1(const uint8_t* g, uint8_t* const* rows) {
    get_f16(g, rows, 0);
    get_f16(g + 32, rows, 2);
    get_qh_masks(g + 64, rows, 4);
    get_words(g + 128, 4, rows, 8);
}
void pack_q8_0(const uint8_t* const* rows, uint8_t* g) {
    put_f16(rows, 0, g);
    put_words(rows, 2, 8, g + 32);
}
void unpack_q8_0(const uint8_t* g, uint8_t* const* rows) {
    get_f16(g, rows, 0);
    get_words(g + 32, 8, rows, 2);
}

// ---- K-quants ---------------------------------------------------------------------------------------------------

// Q2_K / Q3_K 2-bit fields (qs[64] at `off`): chunk word of sub-block s, bits 2q.. = codes of 16s + 4q + m.
// Value v lives in byte 32*(v/128) + v%32 at bits 2*((v%128)/32); for v = 16s + 4q + m that is byte
// 32h + l0 + 4q + m (h = s/8, l0 = 16*(s%2)) at shift 2*((s%8)/2).
void put_2bit(const uint8_t* const* rows, int off, uint8_t* g) {
    for (int s = 0; s < 16; ++s) {
        const int base = 32 * (s / 8) + 16 * (s % 2), shift = 2 * ((s % 8) / 2);
        for (int r = 0; r < kRows; ++r) {
            uint32_t word = 0;
            for (int q = 0; q < 4; ++q) word |= ((ld32(rows[r] + off + base + 4 * q) >> shift) & 0x03030303u) << (2 * q);
            st32(g + 64 * s + 4 * r, word);
        }
    }
}
void get_2bit(const uint8_t* g, uint8_t* const* rows, int off) {
    for (int r = 0; r < kRows; ++r) std::memset(rows[r] + off, 0, 64);
    for (int s = 0; s < 16; ++s) {
        const int base = 32 * (s / 8) + 16 * (s % 2), shift = 2 * ((s % 8) / 2);
        for (int r = 0; r < kRows; ++r) {
            const uint32_t word = ld32(g + 64 * s + 4 * r);
            for (int q = 0; q < 4; ++q) {
                uint8_t* p = rows[r] + off + base + 4 * q;
                st32(p, ld32(p) | ((word >> (2 * q)) & 0x03030303u) << shift);
            }
        }
    }
}

void pack_q2_K(const uint8_t* const* rows, uint8_t* g) {
    const auto* b = reinterpret_cast<const block_q2_K* const*>(rows);
    put_f16(rows, offsetof(block_q2_K, d), g);
    put_f16(rows, offsetof(block_q2_K, dmin), g + 32);
    uint8_t v[16][16];
    for (int r = 0; r < kRows; ++r) std::memcpy(v[r], b[r]->scales, 16);
    put_pairs(v, 16, g + 64);
    put_2bit(rows, offsetof(block_q2_K, qs), g + 320);
}
void unpack_q2_K(const uint8_t* g, uint8_t* const* rows) {
    auto* b = reinterpret_cast<block_q2_K* const*>(rows);
    get_f16(g, rows, offsetof(block_q2_K, d));
    get_f16(g + 32, rows, offsetof(block_q2_K, dmin));
    uint8_t v[16][16];
    get_pairs(g + 64, 16, v);
    for (int r = 0; r < kRows; ++r) std::memcpy(b[r]->scales, v[r], 16);
    get_2bit(g + 320, rows, offsetof(block_q2_K, qs));
}

void pack_q3_K(const uint8_t* const* rows, uint8_t* g) {
    const auto* b = reinterpret_cast<const block_q3_K* const*>(rows);
    put_f16(rows, offsetof(block_q3_K, d), g);
    uint8_t v[16][16];
    for (int r = 0; r < kRows; ++r)
        for (int s = 0; s < 16; ++s) {
            const uint8_t* p = b[r]->scales;
            const int low = s < 8 ? (p[s] & 0xF) : (p[s - 8] >> 4);
            const int high = (p[8 + s % 4] >> (2 * (s / 4))) & 3;
            v[r][s] = uint8_t(int8_t((low | high << 4) - 32));
        }
    put_scales(v, 16, g + 32);
    put_2bit(rows, offsetof(block_q3_K, qs), g + 288);
    // Third bit of value v = 16s + 4q + m: bit v/32 = s/2 of hmask[v%32] = hmask[16*(s%2) + 4q + m].
    for (int s = 0; s < 16; ++s)
        for (int q = 0; q < 4; ++q) {
            uint64_t mask = 0;
            for (int r = 0; r < kRows; ++r)
                for (int m = 0; m < 4; ++m)
                    mask |= uint64_t((b[r]->hmask[16 * (s % 2) + 4 * q + m] >> (s / 2)) & 1) << (4 * r + m);
            st64(g + 1312 + 8 * (4 * s + q), mask);
        }
}
void unpack_q3_K(const uint8_t* g, uint8_t* const* rows) {
    auto* b = reinterpret_cast<block_q3_K* const*>(rows);
    get_f16(g, rows, offsetof(block_q3_K, d));
    uint8_t v[16][16];
    get_scales(g + 32, 16, v);
    for (int r = 0; r < kRows; ++r) {
        uint8_t* p = b[r]->scales;
        std::memset(p, 0, 12);
        for (int s = 0; s < 16; ++s) {
            const int sc = int(int8_t(v[r][s])) + 32;  // 0..63
            if (s < 8) p[s] |= uint8_t(sc & 0xF);
            else p[s - 8] |= uint8_t((sc & 0xF) << 4);
            p[8 + s % 4] |= uint8_t((sc >> 4) << (2 * (s / 4)));
        }
        std::memset(b[r]->hmask, 0, 32);
    }
    get_2bit(g + 288, rows, offsetof(block_q3_K, qs));
    for (int s = 0; s < 16; ++s)
        for (int q = 0; q < 4; ++q) {
            const uint64_t mask = ld64(g + 1312 + 8 * (4 * s + q));
            for (int r = 0; r < kRows; ++r)
                for (int m = 0; m < 4; ++m)
                    if ((mask >> (4 * r + m)) & 1) b[r]->hmask[16 * (s % 2) + 4 * q + m] |= uint8_t(1u << (s / 2));
        }
}

// Q4_K / Q5_K 6-bit scales and mins (12 packed bytes) <-> sc[8], m[8].
void decode_k4_scales(const uint8_t* q, uint8_t* sc, uint8_t* m) {
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            sc[j] = q[j] & 63;
            m[j] = q[j + 4] & 63;
        } else {
            sc[j] = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
            m[j] = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
        }
    }
}
void encode_k4_scales(const uint8_t* sc, const uint8_t* m, uint8_t* q) {
    for (int j = 0; j < 4; ++j) {
        q[j] = uint8_t((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        q[j + 4] = uint8_t((m[j] & 63) | ((m[j + 4] >> 4) << 6));
        q[j + 8] = uint8_t((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
    }
}

// Q4_K-style nibbles (qs[128] at `off`): GGUF byte 32c + l holds value 64c + l (low) and 64c + 32 + l (high).
// Group chunk (s, i): low nibble = value 32s + 4i + m, high = value 32s + 16 + 4i + m.
void put_k4_nibbles(const uint8_t* const* rows, int off, uint8_t* g) {
    for (int s = 0; s < 8; ++s)
        for (int i = 0; i < 4; ++i)
            for (int r = 0; r < kRows; ++r) {
                const uint8_t* qs = rows[r] + off + 32 * (s / 2);
                const uint32_t w1 = ld32(qs + 4 * i), w2 = ld32(qs + 16 + 4 * i);
                const uint32_t word = s % 2 == 0 ? (w1 & kLo) | (w2 & kLo) << 4 : (w1 >> 4 & kLo) | (w2 & ~kLo);
                st32(g + 256 * s + 64 * i + 4 * r, word);
            }
}
void get_k4_nibbles(const uint8_t* g, uint8_t* const* rows, int off) {
    for (int c = 0; c < 4; ++c)
        for (int i = 0; i < 4; ++i)
            for (int r = 0; r < kRows; ++r) {
                const uint32_t e = ld32(g + 256 * (2 * c) + 64 * i + 4 * r);      // sub-block 2c
                const uint32_t o = ld32(g + 256 * (2 * c + 1) + 64 * i + 4 * r);  // sub-block 2c + 1
                uint8_t* qs = rows[r] + off + 32 * c;
                st32(qs + 4 * i, (e & kLo) | (o & kLo) << 4);
                st32(qs + 16 + 4 * i, (e >> 4 & kLo) | (o & ~kLo));
            }
}

void pack_q4_K(const uint8_t* const* rows, uint8_t* g) {
    const auto* b = reinterpret_cast<const block_q4_K* const*>(rows);
    put_f16(rows, offsetof(block_q4_K, d), g);
    put_f16(rows, offsetof(block_q4_K, dmin), g + 32);
    uint8_t sc[16][16], m[16][16];
    for (int r = 0; r < kRows; ++r) decode_k4_scales(b[r]->scales, sc[r], m[r]);
    put_pairs(sc, 8, g + 64);
    put_pairs(m, 8, g + 192);
    put_k4_nibbles(rows, offsetof(block_q4_K, qs), g + 320);
}
void unpack_q4_K(const uint8_t* g, uint8_t* const* rows) {
    auto* b = reinterpret_cast<block_q4_K* const*>(rows);
    get_f16(g, rows, offsetof(block_q4_K, d));
    get_f16(g + 32, rows, offsetof(block_q4_K, dmin));
    uint8_t sc[16][16], m[16][16];
    get_pairs(g + 64, 8, sc);
    get_pairs(g + 192, 8, m);
    for (int r = 0; r < kRows; ++r) encode_k4_scales(sc[r], m[r], b[r]->scales);
    get_k4_nibbles(g + 320, rows, offsetof(block_q4_K, qs));
}

void pack_q5_K(const uint8_t* const* rows, uint8_t* g) {
    const auto* b = reinterpret_cast<const block_q5_K* const*>(rows);
    put_f16(rows, offsetof(block_q5_K, d), g);
    put_f16(rows, offsetof(block_q5_K, dmin), g + 32);
    uint8_t sc[16][16], m[16][16];
    for (int r = 0; r < kRows; ++r) decode_k4_scales(b[r]->scales, sc[r], m[r]);
    put_pairs(sc, 8, g + 64);
    put_pairs(m, 8, g + 192);
    // Bit 4 of value v = 32s + 4q + m is bit v/32 = s of qh[v%32] = qh[4q + m].
    for (int s = 0; s < 8; ++s)
        for (int q = 0; q < 8; ++q) {
            uint64_t mask = 0;
            for (int r = 0; r < kRows; ++r)
                for (int mm = 0; mm < 4; ++mm) mask |= uint64_t((b[r]->qh[4 * q + mm] >> s) & 1) << (4 * r + mm);
            st64(g + 320 + 8 * (8 * s + q), mask);
        }
    put_k4_nibbles(rows, offsetof(block_q5_K, qs), g + 832);
}
void unpack_q5_K(const uint8_t* g, uint8_t* const* rows) {
    auto* b = reinterpret_cast<block_q5_K* const*>(rows);
    get_f16(g, rows, offsetof(block_q5_K, d));
    get_f16(g + 32, rows, offsetof(block_q5_K, dmin));
    uint8_t sc[16][16], m[16][16];
    get_pairs(g + 64, 8, sc);
    get_pairs(g + 192, 8, m);
    for (int r = 0; r < kRows; ++r) {
        encode_k4_scales(sc[r], m[r], b[r]->scales);
        std::memset(b[r]->qh, 0, 32);
    }
    for (int s = 0; s < 8; ++s)
        for (int q = 0; q < 8; ++q) {
            const uint64_t mask = ld64(g + 320 + 8 * (8 * s + q));
            for (int r = 0; r < kRows; ++r)
                for (int mm = 0; mm < 4; ++mm)
                    if ((mask >> (4 * r + mm)) & 1) b[r]->qh[4 * q + mm] |= uint8_t(1u << s);
        }
    get_k4_nibbles(g + 832, rows, offsetof(block_q5_K, qs));
}

// Q6_K: value v = 128h + 32Q + l (l < 32) has its low nibble in ql[64h + 32*(Q&1) + l] (low nibble for Q < 2,
// high for Q >= 2) and its top 2 bits at bits 2Q of qh[32h + l]. Sub-block s = 8h + s' covers values 128h + 16s'..,
// i.e. quarter Q = s'/2, l = l0 + 0..15 with l0 = 16*(s'%2).
void pack_q6_K(const uint8_t* const* rows, uint8_t* g) {
    const auto* b = reinterpret_cast<const block_q6_K* const*>(rows);
    put_f16(rows, offsetof(block_q6_K, d), g);
    uint8_t v[16][16];
    for (int r = 0; r < kRows; ++r) std::memcpy(v[r], b[r]->scales, 16);
    put_scales(v, 16, g + 32);
    for (int s = 0; s < 16; ++s) {
        const int h = s / 8, Q = (s % 8) / 2, l0 = 16 * (s % 2);
        uint8_t* out = g + 288 + 192 * s;
        for (int r = 0; r < kRows; ++r) {
            const uint8_t* ql = b[r]->ql + 64 * h + 32 * (Q & 1) + l0;
            const uint8_t* qh = b[r]->qh + 32 * h + l0;
            uint32_t lo4[4], hi2 = 0;
            for (int q = 0; q < 4; ++q) {
                const uint32_t w = ld32(ql + 4 * q);
                lo4[q] = Q < 2 ? (w & kLo) : (w >> 4 & kLo);
                hi2 |= ((ld32(qh + 4 * q) >> (2 * Q)) & 0x03030303u) << (2 * q);
            }
            st32(out + 4 * r, lo4[0] | lo4[1] << 4);
            st32(out + 64 + 4 * r, lo4[2] | lo4[3] << 4);
            st32(out + 128 + 4 * r, hi2);
        }
    }
}
void unpack_q6_K(const uint8_t* g, uint8_t* const* rows) {
    auto* b = reinterpret_cast<block_q6_K* const*>(rows);
    get_f16(g, rows, offsetof(block_q6_K, d));
    uint8_t v[16][16];
    get_scales(g + 32, 16, v);
    for (int r = 0; r < kRows; ++r) {
        std::memcpy(b[r]->scales, v[r], 16);
        std::memset(b[r]->ql, 0, 128);
        std::memset(b[r]->qh, 0, 64);
    }
    for (int s = 0; s < 16; ++s) {
        const int h = s / 8, Q = (s % 8) / 2, l0 = 16 * (s % 2);
        const uint8_t* in = g + 288 + 192 * s;
        for (int r = 0; r < kRows; ++r) {
            uint8_t* ql = b[r]->ql + 64 * h + 32 * (Q & 1) + l0;
            uint8_t* qh = b[r]->qh + 32 * h + l0;
            const uint32_t a = ld32(in + 4 * r), bb = ld32(in + 64 + 4 * r), hi2 = ld32(in + 128 + 4 * r);
            const uint32_t lo4[4] = {a & kLo, a >> 4 & kLo, bb & kLo, bb >> 4 & kLo};
            for (int q = 0; q < 4; ++q) {
                st32(ql + 4 * q, ld32(ql + 4 * q) | (Q < 2 ? lo4[q] : lo4[q] << 4));
                st32(qh + 4 * q, ld32(qh + 4 * q) | ((hi2 >> (2 * q)) & 0x03030303u) << (2 * Q));
            }
        }
    }
}

void pack_iq4_xs(const uint8_t* const* rows, uint8_t* g) {
    const auto* b = reinterpret_cast<const block_iq4_xs* const*>(rows);
    put_f16(rows, offsetof(block_iq4_xs, d), g);
    uint8_t v[16][16];
    for (int r = 0; r < kRows; ++r)
        for (int s = 0; s < 8; ++s) {
            const int ls = ((b[r]->scales_l[s / 2] >> (4 * (s % 2))) & 0xF) | ((b[r]->scales_h >> (2 * s)) & 3) << 4;
            v[r][s] = uint8_t(int8_t(ls - 32));
        }
    put_scales(v, 8, g + 32);
    for (int s = 0; s < 8; ++s) put_words(rows, int(offsetof(block_iq4_xs, qs)) + 16 * s, 4, g + 160 + 256 * s);
}
void unpack_iq4_xs(const uint8_t* g, uint8_t* const* rows) {
    auto* b = reinterpret_cast<block_iq4_xs* const*>(rows);
    get_f16(g, rows, offsetof(block_iq4_xs, d));
    uint8_t v[16][16];
    get_scales(g + 32, 8, v);
    for (int r = 0; r < kRows; ++r) {
        uint16_t h = 0;
        std::memset(b[r]->scales_l, 0, 4);
        for (int s = 0; s < 8; ++s) {
            const int ls = int(int8_t(v[r][s])) + 32;
            b[r]->scales_l[s / 2] |= uint8_t((ls & 0xF) << (4 * (s % 2)));
            h |= uint16_t((ls >> 4) << (2 * s));
        }
        st16(reinterpret_cast<uint8_t*>(&b[r]->scales_h), h);
    }
    for (int s = 0; s < 8; ++s) get_words(g + 160 + 256 * s, 4, rows, int(offsetof(block_iq4_xs, qs)) + 16 * s);
}

struct Format {
    int block_values;  // 32 or 256
    int group_bytes;   // bytes of one group block (16 rows)
    PackFn pack;
    UnpackFn unpack;
};

const Format* format_of(DType type) {
    static const Format q4_0{32, 288, pack_q4_0, unpack_q4_0};
    static const Format q4_1{32, 320, pack_q4_1, unpack_q4_1};
    static const Format q5_0{32, 352, pack_q5_0, unpack_q5_0};
    static const Format q5_1{32, 384, pack_q5_1, unpack_q5_1};
    static const Format q8_0{32, 544, pack_q8_0, unpack_q8_0};
    static const Format q2_K{256, 1344, pack_q2_K, unpack_q2_K};
    static const Format q3_K{256, 1824, pack_q3_K, unpack_q3_K};
    static const Format q4_K{256, 2368, pack_q4_K, unpack_q4_K};
    static const Format q5_K{256, 2880, pack_q5_K, unpack_q5_K};
    static const Format q6_K{256, 3360, pack_q6_K, unpack_q6_K};
    static const Format iq4_xs{256, 2208, pack_iq4_xs, unpack_iq4_xs};
    switch (type) {
        case DType::Q4_0:
        case DType::IQ4_NL: return &q4_0;
        case DType::Q4_1: return &q4_1;
        case DType::Q5_0: return &q5_0;
        case DType::Q5_1: return &q5_1;
        case DType::Q8_0: return &q8_0;
        case DType::Q2_K: return &q2_K;
        case DType::Q3_K: return &q3_K;
        case DType::Q4_K: return &q4_K;
        case DType::Q5_K: return &q5_K;
        case DType::Q6_K: return &q6_K;
        case DType::IQ4_XS: return &iq4_xs;
        default: return nullptr;
    }
}

// Big enough for the largest GGUF block of a repackable type (Q6_K, 210 bytes); zero decodes to zero.
alignas(16) const uint8_t kZeroBlock[256] = {};

}  // namespace
}  // namespace x86_repack

int x86_layout_id() { return x86_repack::kLayoutId; }

int x86_group_block_bytes(DType type) {
    const x86_repack::Format* f = x86_repack::format_of(type);
    return f ? f->group_bytes : 0;
}

bool x86_repack_weight(CpuWeight& w) {
    using namespace x86_repack;
    const Format* f = format_of(w.type);
    if (!f || w.layout != 0 || !w.data || w.rows < 1 || w.cols < f->block_values || w.cols % f->block_values) return false;
    const int64_t n_blocks = w.cols / f->block_values;
    const int64_t n_groups = (w.rows + kRows - 1) / kRows;
    const size_t block_bytes = w.row_bytes / size_t(n_blocks);
    const size_t bytes = size_t(n_groups) * size_t(n_blocks) * size_t(f->group_bytes);
    void* p = nullptr;
    if (posix_memalign(&p, 64, bytes) != 0) return false;
    auto* out = static_cast<uint8_t*>(p);
    for (int64_t grp = 0; grp < n_groups; ++grp) {
        for (int64_t b = 0; b < n_blocks; ++b) {
            const uint8_t* rows[kRows];
            for (int r = 0; r < kRows; ++r) {
                const int64_t row = grp * kRows + r;
                rows[r] = row < w.rows ? w.data + size_t(row) * w.row_bytes + size_t(b) * block_bytes : kZeroBlock;
            }
            f->pack(rows, out + (size_t(grp) * size_t(n_blocks) + size_t(b)) * size_t(f->group_bytes));
        }
    }
    w.owned = out;
    w.owned_bytes = bytes;
    w.data = out;
    w.layout = kLayoutId;
    return true;
}

bool x86_unpack_weight(const CpuWeight& w, uint8_t* rows_out) {
    using namespace x86_repack;
    const Format* f = format_of(w.type);
    if (!f || w.layout != kLayoutId) return false;
    const int64_t n_blocks = w.cols / f->block_values;
    const int64_t n_groups = (w.rows + kRows - 1) / kRows;
    const size_t block_bytes = w.row_bytes / size_t(n_blocks);
    alignas(16) uint8_t scratch[kRows][256];
    for (int64_t grp = 0; grp < n_groups; ++grp) {
        for (int64_t b = 0; b < n_blocks; ++b) {
            uint8_t* rows[kRows];
            for (int r = 0; r < kRows; ++r) {
                const int64_t row = grp * kRows + r;
                rows[r] = row < w.rows ? rows_out + size_t(row) * w.row_bytes + size_t(b) * block_bytes : scratch[r];
            }
            f->unpack(w.data + (size_t(grp) * size_t(n_blocks) + size_t(b)) * size_t(f->group_bytes), rows);
        }
    }
    return true;
}

}  // namespace r1::cpu

#endif  // __x86_64__
