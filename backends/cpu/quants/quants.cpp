// The float formats (F32, F16, BF16), dispatch by DType, and the exact-math dot product.
#include "quants_internal.h"  // first: sets the floating-point contraction mode

#include "quants.h"
#include <cstring>
#include <limits>


namespace r1::cpu {

// ---- F16 / BF16 rows -------------------------------------------------------------------------------------

void dequantize_row_f16(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(x[i]);
}

void dequantize_row_bf16(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_fp32(x[i]);
}

void quantize_row_f16(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

void quantize_row_bf16(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_bf16(x[i]);
}

// ggml's scalar ggml_vec_dot_f32/f16/bf16: the product of two floats is rounded to float, then summed in
// double ("ggml_float"); the sum is rounded to float once.

float vec_dot_f32_f32(int64_t n, const float* x, const float* y) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * y[i]);
    return static_cast<float>(sum);
}

float vec_dot_f16_f16(int64_t n, const uint16_t* x, const uint16_t* y) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(fp16_to_fp32(x[i]) * fp16_to_fp32(y[i]));
    return static_cast<float>(sum);
}

float vec_dot_bf16_bf16(int64_t n, const uint16_t* x, const uint16_t* y) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(bf16_to_fp32(x[i]) * bf16_to_fp32(y[i]));
    return static_cast<float>(sum);
}

// ---- dispatch --------------------------------------------------------------------------------------------

namespace {

// Values per block, or 0 when this module does not implement the type.
int64_t block_elements(DType type) {
    switch (type) {
        case DType::F32:
        case DType::F16:
        case DType::BF16: return 1;
        case DType::Q4_0:
        case DType::Q4_1:
        case DType::Q5_0:
        case DType::Q5_1:
        case DType::Q8_0:
        case DType::Q8_1:
        case DType::IQ4_NL: return 32;
        case DType::Q2_K:
        case DType::Q3_K:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
        case DType::Q8_K:
        case DType::IQ4_XS: return QK_K;
        default: return 0;
    }
}

bool valid_row(DType type, int64_t n) {
    const int64_t qk = block_elements(type);
    return qk > 0 && n >= 0 && n % qk == 0;
}

}  // namespace

bool is_supported(DType type) { return block_elements(type) > 0; }

bool is_weight_type(DType type) { return is_supported(type) && type != DType::Q8_1 && type != DType::Q8_K; }

DType activation_type(DType weight_type) {
    switch (weight_type) {
        case DType::F32:
        case DType::F16:
        case DType::BF16: return weight_type;
        case DType::Q4_0:
        case DType::Q5_0:
        case DType::Q8_0:
        case DType::IQ4_NL: return DType::Q8_0;
        case DType::Q4_1:
        case DType::Q5_1: return DType::Q8_1;
        case DType::Q2_K:
        case DType::Q3_K:
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
        case DType::IQ4_XS: return DType::Q8_K;
        default: return DType::F32;
    }
}

bool dequantize_row(DType type, const void* src, float* dst, int64_t n) {
    if (!valid_row(type, n)) return false;
    switch (type) {
        case DType::F32: if (n > 0) std::memmove(dst, src, static_cast<size_t>(n) * sizeof(float)); break;
        case DType::F16: dequantize_row_f16(static_cast<const uint16_t*>(src), dst, n); break;
        case DType::BF16: dequantize_row_bf16(static_cast<const uint16_t*>(src), dst, n); break;
        case DType::Q4_0: dequantize_row_q4_0(static_cast<const block_q4_0*>(src), dst, n); break;
        case DType::Q4_1: dequantize_row_q4_1(static_cast<const block_q4_1*>(src), dst, n); break;
        case DType::Q5_0: dequantize_row_q5_0(static_cast<const block_q5_0*>(src), dst, n); break;
        case DType::Q5_1: dequantize_row_q5_1(static_cast<const block_q5_1*>(src), dst, n); break;
        case DType::Q8_0: dequantize_row_q8_0(static_cast<const block_q8_0*>(src), dst, n); break;
        case DType::Q8_1: dequantize_row_q8_1(static_cast<const block_q8_1*>(src), dst, n); break;
        case DType::Q2_K: dequantize_row_q2_K(static_cast<const block_q2_K*>(src), dst, n); break;
        case DType::Q3_K: dequantize_row_q3_K(static_cast<const block_q3_K*>(src), dst, n); break;
        case DType::Q4_K: dequantize_row_q4_K(static_cast<const block_q4_K*>(src), dst, n); break;
        case DType::Q5_K: dequantize_row_q5_K(static_cast<const block_q5_K*>(src), dst, n); break;
        case DType::Q6_K: dequantize_row_q6_K(static_cast<const block_q6_K*>(src), dst, n); break;
        case DType::Q8_K: dequantize_row_q8_K(static_cast<const block_q8_K*>(src), dst, n); break;
        case DType::IQ4_NL: dequantize_row_iq4_nl(static_cast<const block_iq4_nl*>(src), dst, n); break;
        case DType::IQ4_XS: dequantize_row_iq4_xs(static_cast<const block_iq4_xs*>(src), dst, n); break;
        default: return false;
    }
    return true;
}

bool quantize_row(DType type, const float* src, void* dst, int64_t n) {
    if (!valid_row(type, n)) return false;
    switch (type) {
        case DType::F32: if (n > 0) std::memmove(dst, src, static_cast<size_t>(n) * sizeof(float)); break;
        case DType::F16: quantize_row_f16(src, static_cast<uint16_t*>(dst), n); break;
        case DType::BF16: quantize_row_bf16(src, static_cast<uint16_t*>(dst), n); break;
        case DType::Q4_0: quantize_row_q4_0(src, static_cast<block_q4_0*>(dst), n); break;
        case DType::Q4_1: quantize_row_q4_1(src, static_cast<block_q4_1*>(dst), n); break;
        case DType::Q5_0: quantize_row_q5_0(src, static_cast<block_q5_0*>(dst), n); break;
        case DType::Q5_1: quantize_row_q5_1(src, static_cast<block_q5_1*>(dst), n); break;
        case DType::Q8_0: quantize_row_q8_0(src, static_cast<block_q8_0*>(dst), n); break;
        case DType::Q8_1: quantize_row_q8_1(src, static_cast<block_q8_1*>(dst), n); break;
        case DType::Q2_K: quantize_row_q2_K(src, static_cast<block_q2_K*>(dst), n); break;
        case DType::Q3_K: quantize_row_q3_K(src, static_cast<block_q3_K*>(dst), n); break;
        case DType::Q4_K: quantize_row_q4_K(src, static_cast<block_q4_K*>(dst), n); break;
        case DType::Q5_K: quantize_row_q5_K(src, static_cast<block_q5_K*>(dst), n); break;
        case DType::Q6_K: quantize_row_q6_K(src, static_cast<block_q6_K*>(dst), n); break;
        case DType::Q8_K: quantize_row_q8_K(src, static_cast<block_q8_K*>(dst), n); break;
        case DType::IQ4_NL: quantize_row_iq4_nl(src, static_cast<block_iq4_nl*>(dst), n); break;
        case DType::IQ4_XS: quantize_row_iq4_xs(src, static_cast<block_iq4_xs*>(dst), n); break;
        default: return false;
    }
    return true;
}

float vec_dot(DType wtype, int64_t n, const void* w, const void* a) {
    if (!is_weight_type(wtype) || !valid_row(wtype, n)) return std::numeric_limits<float>::quiet_NaN();
    switch (wtype) {
        case DType::F32: return vec_dot_f32_f32(n, static_cast<const float*>(w), static_cast<const float*>(a));
        case DType::F16:
            return vec_dot_f16_f16(n, static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(a));
        case DType::BF16:
            return vec_dot_bf16_bf16(n, static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(a));
        case DType::Q4_0:
            return vec_dot_q4_0_q8_0(n, static_cast<const block_q4_0*>(w), static_cast<const block_q8_0*>(a));
        case DType::Q4_1:
            return vec_dot_q4_1_q8_1(n, static_cast<const block_q4_1*>(w), static_cast<const block_q8_1*>(a));
        case DType::Q5_0:
            return vec_dot_q5_0_q8_0(n, static_cast<const block_q5_0*>(w), static_cast<const block_q8_0*>(a));
        case DType::Q5_1:
            return vec_dot_q5_1_q8_1(n, static_cast<const block_q5_1*>(w), static_cast<const block_q8_1*>(a));
        case DType::Q8_0:
            return vec_dot_q8_0_q8_0(n, static_cast<const block_q8_0*>(w), static_cast<const block_q8_0*>(a));
        case DType::Q2_K:
            return vec_dot_q2_K_q8_K(n, static_cast<const block_q2_K*>(w), static_cast<const block_q8_K*>(a));
        case DType::Q3_K:
            return vec_dot_q3_K_q8_K(n, static_cast<const block_q3_K*>(w), static_cast<const block_q8_K*>(a));
        case DType::Q4_K:
            return vec_dot_q4_K_q8_K(n, static_cast<const block_q4_K*>(w), static_cast<const block_q8_K*>(a));
        case DType::Q5_K:
            return vec_dot_q5_K_q8_K(n, static_cast<const block_q5_K*>(w), static_cast<const block_q8_K*>(a));
        case DType::Q6_K:
            return vec_dot_q6_K_q8_K(n, static_cast<const block_q6_K*>(w), static_cast<const block_q8_K*>(a));
        case DType::IQ4_NL:
            return vec_dot_iq4_nl_q8_0(n, static_cast<const block_iq4_nl*>(w), static_cast<const block_q8_0*>(a));
        case DType::IQ4_XS:
            return vec_dot_iq4_xs_q8_K(n, static_cast<const block_iq4_xs*>(w), static_cast<const block_q8_K*>(a));
        default: return std::numeric_limits<float>::quiet_NaN();
    }
}

float vec_dot_f32_dequant(DType wtype, int64_t n, const void* w, const float* x) {
    if (!valid_row(wtype, n)) return std::numeric_limits<float>::quiet_NaN();
    // Decode one block (or, for the plain types, a chunk of 256) at a time into a small buffer.
    const int64_t qk = block_elements(wtype);
    const int64_t chunk = qk == 1 ? 256 : qk;
    const uint64_t chunk_bytes = dtype_row_bytes(wtype, static_cast<uint64_t>(chunk));
    const auto* bytes = static_cast<const unsigned char*>(w);
    float buf[256];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i += chunk) {
        const int64_t len = n - i < chunk ? n - i : chunk;
        dequantize_row(wtype, bytes, buf, len);
        for (int64_t j = 0; j < len; ++j) sum += static_cast<double>(buf[j]) * static_cast<double>(x[i + j]);
        bytes += chunk_bytes;
    }
    return static_cast<float>(sum);
}

}  // namespace r1::cpu
