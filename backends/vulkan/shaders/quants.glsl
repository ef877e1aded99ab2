// Weight formats: one decoder per type, chosen by a TYPE_* define. The including shader declares the weights as
// `uint W[]` (binding 0) before including this file. Layouts: backends/cpu/quants/blocks.h.
//
// Quantized types decode a group of 16 consecutive values of a block:
//   decode16(bo, g, q, scale, vmin)   bo: byte offset of the block in W, g: group (0 .. BLOCK_ELEMS/16 - 1)
//   q: the 16 codes as signed bytes (value i in byte i % 4 of q[i / 4]); value i = scale * q_i - vmin.
// scale and vmin are computed with the float operations of the CPU reference (e.g. Q4_K: scale = d * sc,
// vmin = dmin * m), so `precise` evaluation of scale * q - vmin reproduces its dequantized values bit for bit.
// The same codes feed the 8-bit integer dot products (mmq.comp), which is why every type is expressed this way.
//
// Float types (F32, F16, BF16) have TYPE_IS_FLOAT and load_weight(row_byte_offset, k) instead.

#if defined(TYPE_F32) || defined(TYPE_F16) || defined(TYPE_BF16)
#define TYPE_IS_FLOAT 1
#else
#define TYPE_IS_FLOAT 0
#endif

#if defined(TYPE_F32)
float load_weight(uint row, uint k) { return uintBitsToFloat(W[(row >> 2) + k]); }
#elif defined(TYPE_F16)
float load_weight(uint row, uint k) { return half_to_float(LOAD_U16(W, row + 2u * k)); }
#elif defined(TYPE_BF16)
float load_weight(uint row, uint k) { return bf16_to_float(LOAD_U16(W, row + 2u * k)); }

#elif defined(TYPE_Q4_0)
// 18 bytes: d (fp16), qs[16]; value j = d * (nibble - 8), low nibbles are values 0..15, high ones 16..31.
#define BLOCK_ELEMS 32u
#define BLOCK_BYTES 18u
#define HAS_MIN 0
void decode16(uint bo, uint g, out uvec4 q, out float scale, out float vmin) {
    scale = half_to_float(LOAD_U16(W, bo));
    vmin = 0.0;
    [[unroll]] for (uint j = 0u; j < 4u; ++j)
        q[j] = sext4(((LOAD_U32(W, bo + 2u + 4u * j) >> (4u * g)) & 0x0F0F0F0Fu) ^ 0x08080808u);
}

#elif defined(TYPE_Q4_1)
// 20 bytes: d, m (fp16), qs[16]; value = d * nibble + m.
#define BLOCK_ELEMS 32u
#define BLOCK_BYTES 20u
#define HAS_MIN 1
void decode16(uint bo, uint g, out uvec4 q, out float scale, out float vmin) {
    scale = half_to_float(LOAD_U16(W, bo));
    vmin = -half_to_float(LOAD_U16(W, bo + 2u));
    [[unroll]] for (uint j = 0u; j < 4u; ++j) q[j] = (LOAD_U32(W, bo + 4u + 4u * j) >> (4u * g)) & 0x0F0F0F0Fu;
}

#elif defined(TYPE_Q5_0) || defined(TYPE_Q5_1)
// Q5_0, 22 bytes: d, qh (32 fifth bits), qs[16]; value = d * (q - 16).
// Q5_1, 24 bytes: d, m, qh, qs[16]; value = d * q + m.
#define BLOCK_ELEMS 32u
#if defined(TYPE_Q5_0)
#define BLOCK_BYTES 22u
#define HAS_MIN 0
#define Q5_QH 2u
#else
#define BLOCK_BYTES 24u
#define HAS_MIN 1
#define Q5_QH 4u
#endif
// Bits 0..3 of h moved to bit 4 of bytes 0..3.
uint spread_bit4(uint h) { return ((h & 1u) << 4) | ((h & 2u) << 11) | ((h & 4u) << 18) | ((h & 8u) << 25); }
void decode16(uint bo, uint g, out uvec4 q, out float scale, out float vmin) {
    scale = half_to_float(LOAD_U16(W, bo));
#if defined(TYPE_Q5_0)
    vmin = 0.0;
#else
    vmin = -half_to_float(LOAD_U16(W, bo + 2u));
#endif
    const uint high = LOAD_U32(W, bo + Q5_QH) >> (16u * g);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        const uint n = ((LOAD_U32(W, bo + Q5_QH + 4u + 4u * j) >> (4u * g)) & 0x0F0F0F0Fu) |
                       spread_bit4((high >> (4u * j)) & 0xFu);
#if defined(TYPE_Q5_0)
        q[j] = sext5(n ^ 0x10101010u);
#else
        q[j] = n;
#endif
    }
}

#elif defined(TYPE_Q8_0)
// 34 bytes: d, qs[32] (int8); value = d * q.
#define BLOCK_ELEMS 32u
#define BLOCK_BYTES 34u
#define HAS_MIN 0
void decode16(uint bo, uint g, out uvec4 q, out float scale, out float vmin) {
    scale = half_to_float(LOAD_U16(W, bo));
    vmin = 0.0;
    [[unroll]] for (uint j = 0u; j < 4u; ++j) q[j] = LOAD_U32(W, bo + 2u + 16u * g + 4u * j);
}

#elif defined(TYPE_IQ4_NL) || defined(TYPE_IQ4_XS)
// The non-linear 4-bit codebook (kIQ4NLValues) as packed signed bytes.
const uint kIQ4[4] = uint[4](0xBFAD9881u, 0xF6EADDCFu, 0x26190D01u, 0x71594535u);
uint iq4_lookup4(uint nibbles) {
    uint r = 0u;
    [[unroll]] for (uint k = 0u; k < 4u; ++k) {
        const uint n = (nibbles >> (8u * k)) & 0xFu;
        r |= ((kIQ4[n >> 2] >> ((n & 3u) * 8u)) & 0xFFu) << (8u * k);
    }
    return r;
}
#define HAS_MIN 0
#if defined(TYPE_IQ4_NL)
// 18 bytes: d, qs[16] as Q4_0; value = d * codebook[nibble].
#define BLOCK_ELEMS 32u
#define BLOCK_BYTES 18u
void decode16(uint bo, uint g, out uvec4 q, out float scale, out float vmin) {
    scale = half_to_float(LOAD_U16(W, bo));
    vmin = 0.0;
    [[unroll]] for (uint j = 0u; j < 4u; ++j)
        q[j] = iq4_lookup4((LOAD_U32(W, bo + 2u + 4u * j) >> (4u * g)) & 0x0F0F0F0Fu);
}
#else
// 136 bytes: d, scales_h (u16), scales_l[4], qs[128]; sub-block s of 32: value = d * (ls - 32) * codebook[q].
#define BLOCK_ELEMS 256u
#define BLOCK_BYTES 136u
void decode16(uint bo, uint g, out uvec4 q, out float scale, out float vmin) {
    const uint s = g >> 1;
    const uint ls = ((LOAD_U8(W, bo + 4u + (s >> 1)) >> (4u * (s & 1u))) & 0xFu) |
                    (((LOAD_U16(W, bo + 2u) >> (2u * s)) & 3u) << 4);
    scale = half_to_float(LOAD_U16(W, bo)) * float(int(ls) - 32);
    vmin = 0.0;
    [[unroll]] for (uint j = 0u; j < 4u; ++j)
        q[j] = iq4_lookup4((LOAD_U32(W, bo + 8u + 16u * s + 4u * j) >> (4u * (g & 1u))) & 0x0F0F0F0Fu);
}
#endif

#elif defined(TYPE_Q2_K)
// 84 bytes: scales[16] (sc | m << 4), qs[64], d, dmin; value = d*sc * q - dmin*m, q 2 bits.
// Value v = 16g + i: byte qs[32*(g/8) + 16*(g%2) + i], bits 2*((g%8)/2).
#define BLOCK_ELEMS 256u
#define BLOCK_BYTES 84u
#define HAS_MIN 1
void decode16(uint bo, uint g, out uvec4 q, out float scale, out float vmin) {
    const uint sc = LOAD_U8(W, bo + g);
    scale = half_to_float(LOAD_U16(W, bo + 80u)) * float(sc & 0xFu);
    vmin = half_to_float(LOAD_U16(W, bo + 82u)) * float(sc >> 4);
    const uint qs = bo + 16u + 32u * (g >> 3) + 16u * (g & 1u);
    const uint shift = 2u * ((g & 7u) >> 1);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) q[j] = (LOAD_U32(W, qs + 4u * j) >> shift) & 0x03030303u;
}

#elif defined(TYPE_Q3_K)
// 110 bytes: hmask[32], qs[64], scales[12] (16 six-bit values), d; value = d * (sc - 32) * (q - 4), where
// q = low 2 bits (as Q2_K) | hmask bit << 2; the bit of value v is bit v/32 of hmask[v % 32].
#define BLOCK_ELEMS 256u
#define BLOCK_BYTES 110u
#define HAS_MIN 0
void decode16(uint bo, uint g, out uvec4 q, out float scale, out float vmin) {
    const uint low = g < 8u ? (LOAD_U8(W, bo + 96u + g) & 0xFu) : (LOAD_U8(W, bo + 96u + g - 8u) >> 4);
    const uint high = (LOAD_U8(W, bo + 104u + (g & 3u)) >> (2u * (g >> 2))) & 3u;
    scale = half_to_float(LOAD_U16(W, bo + 108u)) * float(int(low | (high << 4)) - 32);
    vmin = 0.0;
    const uint l0 = 16u * (g & 1u);
    const uint qs = bo + 32u + 32u * (g >> 3) + l0;
    const uint shift = 2u * ((g & 7u) >> 1);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        const uint lo = (LOAD_U32(W, qs + 4u * j) >> shift) & 0x03030303u;
        const uint hi = (LOAD_U32(W, bo + l0 + 4u * j) >> (g >> 1)) & 0x01010101u;
        q[j] = sext3((lo | (hi << 2)) ^ 0x04040404u);
    }
}

#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
// Q4_K, 144 bytes: d, dmin, scales[12] (8 six-bit scale/min pairs), qs[128]; sub-block s of 32:
// value = d*sc * q - dmin*m. Chunk c of 64 values: qs[32c + l], low nibble = value 64c + l, high = 64c + 32 + l.
// Q5_K, 176 bytes: as Q4_K with qh[32] before qs; bit 4 of value v is bit v/32 of qh[v % 32].
#define BLOCK_ELEMS 256u
#define HAS_MIN 1
#if defined(TYPE_Q4_K)
#define BLOCK_BYTES 144u
#define QS_AT 16u
#else
#define BLOCK_BYTES 176u
#define QS_AT 48u
#endif
void decode16(uint bo, uint g, out uvec4 q, out float scale, out float vmin) {
    const uint s = g >> 1;
    uint sc, m;
    if (s < 4u) {
        sc = LOAD_U8(W, bo + 4u + s) & 63u;
        m = LOAD_U8(W, bo + 8u + s) & 63u;
    } else {
        const uint b = LOAD_U8(W, bo + 8u + s);
        sc = (b & 0xFu) | ((LOAD_U8(W, bo + s) >> 6) << 4);
        m = (b >> 4) | ((LOAD_U8(W, bo + 4u + s) >> 6) << 4);
    }
    scale = half_to_float(LOAD_U16(W, bo)) * float(sc);
    vmin = half_to_float(LOAD_U16(W, bo + 2u)) * float(m);
    const uint l0 = 16u * (g & 1u);
    const uint qs = bo + QS_AT + 32u * (g >> 2) + l0;
    const uint shift = 4u * ((g >> 1) & 1u);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint n = (LOAD_U32(W, qs + 4u * j) >> shift) & 0x0F0F0F0Fu;
#if defined(TYPE_Q5_K)
        n |= ((LOAD_U32(W, bo + 16u + l0 + 4u * j) >> s) & 0x01010101u) << 4;
#endif
        q[j] = n;
    }
}

#elif defined(TYPE_Q6_K)
// 210 bytes: ql[128], qh[64], scales[16] (int8), d; value = d*sc * (q - 32), q = 4 low bits | 2 high bits << 4.
// Half h = v/128, quarter k = (v%128)/32, l = v%32: low from ql[64h + 32*(k&1) + l] (nibble k/2),
// high from qh[32h + l] bits 2k.
#define BLOCK_ELEMS 256u
#define BLOCK_BYTES 210u
#define HAS_MIN 0
void decode16(uint bo, uint g, out uvec4 q, out float scale, out float vmin) {
    const int sc = int(LOAD_U8(W, bo + 192u + g) << 24) >> 24;
    scale = half_to_float(LOAD_U16(W, bo + 208u)) * float(sc);
    vmin = 0.0;
    const uint h = g >> 3, k = (g & 7u) >> 1, l0 = 16u * (g & 1u);
    const uint ql = bo + 64u * h + 32u * (k & 1u) + l0;
    const uint qh = bo + 128u + 32u * h + l0;
    const uint shift = 4u * (k >> 1);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        const uint lo = (LOAD_U32(W, ql + 4u * j) >> shift) & 0x0F0F0F0Fu;
        const uint hi = (LOAD_U32(W, qh + 4u * j) >> (2u * k)) & 0x03030303u;
        q[j] = sext6((lo | (hi << 4)) ^ 0x20202020u);
    }
}

#else
#error "no weight type defined (TYPE_F32 ... TYPE_IQ4_XS)"
#endif

#if !TYPE_IS_FLOAT
#define GROUPS_PER_BLOCK (BLOCK_ELEMS / 16u)
// Byte offset of the block holding group gi (of 16 values) of a row starting at byte `row`, and the group's
// index inside it.
uint group_block(uint row, uint gi) { return row + (gi / GROUPS_PER_BLOCK) * BLOCK_BYTES; }
uint group_in_block(uint gi) { return gi % GROUPS_PER_BLOCK; }
#endif
