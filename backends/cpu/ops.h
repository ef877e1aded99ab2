// The non-matmul operations of a transformer forward pass, as scalar reference code over row ranges (the CPU
// backend splits the rows between its threads). Shapes are in elements; strides in bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../../src/dtype.h"
#include "cpu_features.h"

namespace r1::cpu {

// y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w   (w: cols floats, or nullptr for no weight). y may alias x.
void op_rms_norm(const uint8_t* x, size_t x_stride, uint8_t* y, size_t y_stride, const float* w, int64_t cols,
                 float eps, int64_t r0, int64_t r1);

// y[r] = a[r] + b[r].
void op_add(const uint8_t* a, size_t a_stride, const uint8_t* b, size_t b_stride, uint8_t* y, size_t y_stride,
            int64_t cols, int64_t r0, int64_t r1);

// y[r] = silu(a[r]) * b[r], silu(x) = x / (1 + e^-x).
void op_silu_mul(const uint8_t* a, size_t a_stride, const uint8_t* b, size_t b_stride, uint8_t* y,
                 size_t y_stride, int64_t cols, int64_t r0, int64_t r1);

// y[r] = softmax(x[r] * scale).
void op_softmax(const uint8_t* x, size_t x_stride, uint8_t* y, size_t y_stride, int64_t cols, float scale,
                int64_t r0, int64_t r1);

// y[r] = x[r] converted from x_type to y_type (through float; `tmp` holds cols floats).
// Returns false for a pair of types it cannot convert.
bool op_convert(DType x_type, const uint8_t* x, size_t x_stride, DType y_type, uint8_t* y, size_t y_stride,
                int64_t cols, int64_t r0, int64_t r1, float* tmp);

// y[t] = weight row ids[t] as floats (weight rows in GGUF layout of `type`).
void op_embed(DType type, const uint8_t* weight, size_t weight_row_bytes, int64_t weight_rows, const int32_t* ids,
              uint8_t* y, size_t y_stride, int64_t cols, int64_t t0, int64_t t1);

struct RopeArgs {
    int n_heads = 0;
    int head_dim = 0;
    int n_rot = 0;
    bool neox = false;            // pairs (i, i + n_rot/2) instead of (2i, 2i + 1)
    int64_t pos0 = 0;             // position of row 0
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;
    const float* freq_factors = nullptr;  // n_rot/2 divisors of the rotation frequencies, or nullptr
};

// Rotates rows [r0, r1) of x in place (row t at position pos0 + t).
void op_rope(uint8_t* x, size_t x_stride, const RopeArgs& args, int64_t r0, int64_t r1);

struct AttentionArgs {
    const uint8_t* q = nullptr;  // [T][n_heads * head_dim] F32
    size_t q_stride = 0;
    DType kv_type = DType::F16;  // F32, F16, BF16 or Q8_0
    const uint8_t* k = nullptr;  // [n_ctx][n_kv_heads * head_dim]
    size_t k_stride = 0;
    const uint8_t* v = nullptr;  // same shape as k
    size_t v_stride = 0;
    uint8_t* out = nullptr;      // [T][n_heads * head_dim] F32
    size_t out_stride = 0;
    int n_heads = 0;
    int n_kv_heads = 0;
    int head_dim = 0;
    int64_t pos0 = 0;
    float scale = 1.0f;
};

// Attention for work items [i0, i1), item i = (token i / n_heads, head i % n_heads). Scratch: at least
// attention_scratch_floats(pos0 + T, head_dim) floats, private to the calling thread.
void op_attention(const AttentionArgs& args, int64_t i0, int64_t i1, float* scratch);
size_t attention_scratch_floats(int64_t n_kv, int head_dim);

// Vectorized versions of the operations above, per kernel family. Each entry has the signature and contract
// of the scalar function it replaces (null = use the scalar one). op_kernels(isa) never returns null.
struct OpKernels {
    decltype(&op_rms_norm) rms_norm = nullptr;
    decltype(&op_add) add = nullptr;
    decltype(&op_silu_mul) silu_mul = nullptr;
    decltype(&op_softmax) softmax = nullptr;
    decltype(&op_rope) rope = nullptr;
    decltype(&op_attention) attention = nullptr;
    size_t (*attention_scratch_floats)(int64_t n_kv, int head_dim) = nullptr;  // with `attention`
};
const OpKernels* op_kernels(Isa isa);

// Each family's table (nullptr when not compiled for this architecture).
const OpKernels* avx2_op_kernels();
const OpKernels* avx512_op_kernels();
const OpKernels* neon_op_kernels();

}  // namespace r1::cpu
