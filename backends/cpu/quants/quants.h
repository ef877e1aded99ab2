// Scalar reference implementation of every tensor format r1 reads: the oracle for all optimized kernels.
//
// Three kinds of operation, each per type and through a DType dispatcher:
//   dequantize_row   blocks -> floats. Bit-exact with ggml's to_float (same float operations, same order).
//   quantize_row     floats -> blocks. ggml's reference quantizers without an importance matrix, i.e. what
//                    ggml_quantize_chunk(type, src, dst, 0, nrows, n, NULL) writes, including the scale
//                    searches of the K-quants and IQ4_*. Also the activation formats Q8_0, Q8_1, Q8_K.
//   vec_dot          one weight row against one activation row in the format ggml pairs with it
//                    (activation_type): integer sums inside blocks, then float scaling, in the order of
//                    ggml's generic (scalar) kernels.
// plus vec_dot_f32_dequant, the exact-math reference: weights dequantized, float activations, double sums.
//
// Shapes: n is the number of values in the row and must be a multiple of the type's block size
// (traits(type).block_elements: 32 for Q4_0..Q8_1 and IQ4_NL, 256 for the K-quants, Q8_K and IQ4_XS, 1 for
// F32/F16/BF16). Block pointers must be 2-byte aligned (4 for Q8_K). The per-type functions do not check
// their arguments; the DType dispatchers do and report failure without touching the output.
// Every function is pure (no global state), thread-safe, and never throws.
#pragma once

#include <cstdint>

#include "../../../src/dtype.h"
#include "blocks.h"

namespace r1::cpu {

// ---- dispatch by type ------------------------------------------------------------------------------------

// True for the types this module implements: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K,
// Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL, IQ4_XS.
bool is_supported(DType type);

// True for the weight types that vec_dot accepts (the supported types minus the activation-only Q8_1, Q8_K).
bool is_weight_type(DType type);

// The activation format ggml's CPU backend pairs with a weight type in its dot products:
// Q4_0/Q5_0/Q8_0/IQ4_NL -> Q8_0; Q4_1/Q5_1 -> Q8_1; Q2_K..Q6_K/IQ4_XS -> Q8_K; F32/F16/BF16 -> themselves.
// Returns F32 for a type that is not a weight type.
DType activation_type(DType weight_type);

// Decodes n values of `type` at src into dst. False (dst untouched) when the type is unsupported or n is
// negative or not a multiple of the block size.
bool dequantize_row(DType type, const void* src, float* dst, int64_t n);

// Encodes n values into `type` at dst (dtype_row_bytes(type, n) bytes). False (dst untouched) as above.
bool quantize_row(DType type, const float* src, void* dst, int64_t n);

// Dot product of a weight row (w, type wtype) with an activation row (a, type activation_type(wtype)),
// both n values. NaN when wtype is not a weight type or n is not a multiple of the block size.
float vec_dot(DType wtype, int64_t n, const void* w, const void* a);

// Exact-math reference: sum_i dequant(w)[i] * x[i], products and sums in double, rounded once to float.
// NaN when wtype is not supported or n is not a multiple of the block size.
float vec_dot_f32_dequant(DType wtype, int64_t n, const void* w, const float* x);

// ---- float formats (F16 and BF16 stored as raw uint16 bits) ----------------------------------------------

void dequantize_row_f16(const uint16_t* x, float* y, int64_t n);
void dequantize_row_bf16(const uint16_t* x, float* y, int64_t n);
void quantize_row_f16(const float* x, uint16_t* y, int64_t n);
void quantize_row_bf16(const float* x, uint16_t* y, int64_t n);

// ggml_vec_dot_f32/f16/bf16: each product in float, accumulated in double, rounded to float at the end.
float vec_dot_f32_f32(int64_t n, const float* x, const float* y);
float vec_dot_f16_f16(int64_t n, const uint16_t* x, const uint16_t* y);
float vec_dot_bf16_bf16(int64_t n, const uint16_t* x, const uint16_t* y);

// ---- 32-value block formats (quants_legacy.cpp) ----------------------------------------------------------

void dequantize_row_q4_0(const block_q4_0* x, float* y, int64_t n);
void dequantize_row_q4_1(const block_q4_1* x, float* y, int64_t n);
void dequantize_row_q5_0(const block_q5_0* x, float* y, int64_t n);
void dequantize_row_q5_1(const block_q5_1* x, float* y, int64_t n);
void dequantize_row_q8_0(const block_q8_0* x, float* y, int64_t n);
void dequantize_row_q8_1(const block_q8_1* x, float* y, int64_t n);

void quantize_row_q4_0(const float* x, block_q4_0* y, int64_t n);
void quantize_row_q4_1(const float* x, block_q4_1* y, int64_t n);
void quantize_row_q5_0(const float* x, block_q5_0* y, int64_t n);
void quantize_row_q5_1(const float* x, block_q5_1* y, int64_t n);
void quantize_row_q8_0(const float* x, block_q8_0* y, int64_t n);  // weights and activations alike
void quantize_row_q8_1(const float* x, block_q8_1* y, int64_t n);  // activations of Q4_1 / Q5_1

float vec_dot_q4_0_q8_0(int64_t n, const block_q4_0* w, const block_q8_0* a);
float vec_dot_q4_1_q8_1(int64_t n, const block_q4_1* w, const block_q8_1* a);
float vec_dot_q5_0_q8_0(int64_t n, const block_q5_0* w, const block_q8_0* a);
float vec_dot_q5_1_q8_1(int64_t n, const block_q5_1* w, const block_q8_1* a);
float vec_dot_q8_0_q8_0(int64_t n, const block_q8_0* w, const block_q8_0* a);

// ---- K-quants (quants_k.cpp: decode and dot products; quants_k_quantize.cpp: encoders) --------------------

void dequantize_row_q2_K(const block_q2_K* x, float* y, int64_t n);
void dequantize_row_q3_K(const block_q3_K* x, float* y, int64_t n);
void dequantize_row_q4_K(const block_q4_K* x, float* y, int64_t n);
void dequantize_row_q5_K(const block_q5_K* x, float* y, int64_t n);
void dequantize_row_q6_K(const block_q6_K* x, float* y, int64_t n);
void dequantize_row_q8_K(const block_q8_K* x, float* y, int64_t n);

void quantize_row_q2_K(const float* x, block_q2_K* y, int64_t n);
void quantize_row_q3_K(const float* x, block_q3_K* y, int64_t n);
void quantize_row_q4_K(const float* x, block_q4_K* y, int64_t n);
void quantize_row_q5_K(const float* x, block_q5_K* y, int64_t n);
void quantize_row_q6_K(const float* x, block_q6_K* y, int64_t n);
void quantize_row_q8_K(const float* x, block_q8_K* y, int64_t n);  // activations of the K-quants, IQ4_XS

float vec_dot_q2_K_q8_K(int64_t n, const block_q2_K* w, const block_q8_K* a);
float vec_dot_q3_K_q8_K(int64_t n, const block_q3_K* w, const block_q8_K* a);
float vec_dot_q4_K_q8_K(int64_t n, const block_q4_K* w, const block_q8_K* a);
float vec_dot_q5_K_q8_K(int64_t n, const block_q5_K* w, const block_q8_K* a);
float vec_dot_q6_K_q8_K(int64_t n, const block_q6_K* w, const block_q8_K* a);

// ---- non-linear 4-bit (quants_iq4.cpp) -------------------------------------------------------------------

void dequantize_row_iq4_nl(const block_iq4_nl* x, float* y, int64_t n);
void dequantize_row_iq4_xs(const block_iq4_xs* x, float* y, int64_t n);

// What ggml_quantize_chunk writes for these types: quantize_iq4_nl / quantize_iq4_xs with no importance
// matrix (a search over 15 candidate scales per block). Note ggml's quantize_row_iq4_nl_ref, which skips the
// search, is *not* what files contain.
void quantize_row_iq4_nl(const float* x, block_iq4_nl* y, int64_t n);
void quantize_row_iq4_xs(const float* x, block_iq4_xs* y, int64_t n);

float vec_dot_iq4_nl_q8_0(int64_t n, const block_iq4_nl* w, const block_q8_0* a);
float vec_dot_iq4_xs_q8_K(int64_t n, const block_iq4_xs* w, const block_q8_K* a);

}  // namespace r1::cpu
