#include "ops.h"

#include <cmath>
#include <cstring>

#include "quants/quants.h"

namespace r1::cpu {
namespace {

inline const float* row_f(const uint8_t* base, size_t stride, int64_t r) {
    return reinterpret_cast<const float*>(base + size_t(r) * stride);
}
inline float* row_f(uint8_t* base, size_t stride, int64_t r) { return reinterpret_cast<float*>(base + size_t(r) * stride); }

}  // namespace

void op_rms_norm(const uint8_t* x, size_t x_stride, uint8_t* y, size_t y_stride, const float* w, int64_t cols,
                 float eps, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* xr = row_f(x, x_stride, r);
        float* yr = row_f(y, y_stride, r);
        double sum = 0.0;
        for (int64_t i = 0; i < cols; ++i) sum += double(xr[i]) * double(xr[i]);
        const float scale = 1.0f / std::sqrt(float(sum / double(cols)) + eps);
        if (w) {
            for (int64_t i = 0; i < cols; ++i) yr[i] = (xr[i] * scale) * w[i];
        } else {
            for (int64_t i = 0; i < cols; ++i) yr[i] = xr[i] * scale;
        }
    }
}

void op_add(const uint8_t* a, size_t a_stride, const uint8_t* b, size_t b_stride, uint8_t* y, size_t y_stride,
            int64_t cols, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* ar = row_f(a, a_stride, r);
        const float* br = row_f(b, b_stride, r);
        float* yr = row_f(y, y_stride, r);
        for (int64_t i = 0; i < cols; ++i) yr[i] = ar[i] + br[i];
    }
}

void op_silu_mul(const uint8_t* a, size_t a_stride, const uint8_t* b, size_t b_stride, uint8_t* y,
                 size_t y_stride, int64_t cols, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* ar = row_f(a, a_stride, r);
        const float* br = row_f(b, b_stride, r);
        float* yr = row_f(y, y_stride, r);
        for (int64_t i = 0; i < cols; ++i) yr[i] = ar[i] / (1.0f + std::exp(-ar[i])) * br[i];
    }
}

void op_softmax(const uint8_t* x, size_t x_stride, uint8_t* y, size_t y_stride, int64_t cols, float scale,
                int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
        const float* xr = row_f(x, x_stride, r);
        float* yr = row_f(y, y_stride, r);
        float max = -INFINITY;
        for (int64_t i = 0; i < cols; ++i) max = std::fmax(max, xr[i] * scale);
        double sum = 0.0;
        for (int64_t i = 0; i < cols; ++i) {
            float e = std::exp(xr[i] * scale - max);
            yr[i] = e;
            sum += e;
        }
        const float inv = float(1.0 / sum);
        for (int64_t i = 0; i < cols; ++i) yr[i] *= inv;
    }
}

bool op_convert(DType x_type, const uint8_t* x, size_t x_stride, DType y_type, uint8_t* y, size_t y_stride,
                int64_t cols, int64_t r0, int64_t r1, float* tmp) {
    for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* xr = x + size_t(r) * x_stride;
        uint8_t* yr = y + size_t(r) * y_stride;
        if (x_type == DType::F32 && y_type == DType::F32) {
            std::memmove(yr, xr, size_t(cols) * sizeof(float));
            continue;
        }
        const float* f = reinterpret_cast<const float*>(xr);
        if (x_type != DType::F32) {
            if (!dequantize_row(x_type, xr, tmp, cols)) return false;
            f = tmp;
        }
        if (y_type == DType::F32) {
            std::memcpy(yr, f, size_t(cols) * sizeof(float));
        } else if (!quantize_row(y_type, f, yr, cols)) {
            return false;
        }
    }
    return true;
}

void op_embed(DType type, const uint8_t* weight, size_t weight_row_bytes, int64_t weight_rows, const int32_t* ids,
              uint8_t* y, size_t y_stride, int64_t cols, int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
        float* yr = row_f(y, y_stride, t);
        int32_t id = ids[t];
        if (id < 0 || id >= weight_rows) {  // checked by the caller; never read outside the table
            std::memset(yr, 0, size_t(cols) * sizeof(float));
            continue;
        }
        dequantize_row(type, weight + size_t(id) * weight_row_bytes, yr, cols);
    }
}

void op_rope(uint8_t* x, size_t x_stride, const RopeArgs& a, int64_t r0, int64_t r1) {
    // theta_i = p * freq_scale * base^(-2i/n_rot) / factor_i, computed as ggml does: the base power advances by
    // repeated multiplication in float.
    const float theta_scale = std::pow(a.freq_base, -2.0f / float(a.n_rot));
    const int half = a.n_rot / 2;
    for (int64_t r = r0; r < r1; ++r) {
        float* xr = row_f(x, x_stride, r);
        const float p = float(a.pos0 + r);
        float theta = p;
        for (int i = 0; i < half; ++i) {
            const float factor = a.freq_factors ? a.freq_factors[i] : 1.0f;
            const float angle = a.freq_scale * (theta / factor);
            const float c = std::cos(angle), s = std::sin(angle);
            for (int h = 0; h < a.n_heads; ++h) {
                float* head = xr + size_t(h) * size_t(a.head_dim);
                const int i0 = a.neox ? i : 2 * i;
                const int i1 = a.neox ? i + half : 2 * i + 1;
                const float v0 = head[i0], v1 = head[i1];
                head[i0] = v0 * c - v1 * s;
                head[i1] = v0 * s + v1 * c;
            }
            theta *= theta_scale;
        }
    }
}

size_t attention_scratch_floats(int64_t n_kv, int head_dim) { return size_t(n_kv) + 2 * size_t(head_dim); }

void op_attention(const AttentionArgs& a, int64_t i0, int64_t i1, float* scratch) {
    const int group = a.n_heads / a.n_kv_heads;
    const size_t head_bytes = size_t(dtype_row_bytes(a.kv_type, uint64_t(a.head_dim)));
    for (int64_t item = i0; item < i1; ++item) {
        const int64_t t = item / a.n_heads;
        const int h = int(item % a.n_heads);
        const int g = h / group;
        const int64_t n_keys = a.pos0 + t + 1;  // causal: positions 0 .. pos0 + t
        const float* q = row_f(a.q, a.q_stride, t) + size_t(h) * size_t(a.head_dim);
        float* scores = scratch;
        float* kv_row = scratch + n_keys;
        float* acc = kv_row + a.head_dim;

        float max = -INFINITY;
        for (int64_t j = 0; j < n_keys; ++j) {
            const uint8_t* kj = a.k + size_t(j) * a.k_stride + size_t(g) * head_bytes;
            const float* kf = reinterpret_cast<const float*>(kj);
            if (a.kv_type != DType::F32) {
                dequantize_row(a.kv_type, kj, kv_row, a.head_dim);
                kf = kv_row;
            }
            float dot = 0.0f;
            for (int d = 0; d < a.head_dim; ++d) dot += q[d] * kf[d];
            scores[j] = dot * a.scale;
            max = std::fmax(max, scores[j]);
        }
        double sum = 0.0;
        for (int64_t j = 0; j < n_keys; ++j) {
            scores[j] = std::exp(scores[j] - max);
            sum += scores[j];
        }
        const float inv = float(1.0 / sum);
        for (int d = 0; d < a.head_dim; ++d) acc[d] = 0.0f;
        for (int64_t j = 0; j < n_keys; ++j) {
            const uint8_t* vj = a.v + size_t(j) * a.v_stride + size_t(g) * head_bytes;
            const float* vf = reinterpret_cast<const float*>(vj);
            if (a.kv_type != DType::F32) {
                dequantize_row(a.kv_type, vj, kv_row, a.head_dim);
                vf = kv_row;
            }
            const float w = scores[j] * inv;
            for (int d = 0; d < a.head_dim; ++d) acc[d] += w * vf[d];
        }
        float* out = row_f(a.out, a.out_stride, t) + size_t(h) * size_t(a.head_dim);
        std::memcpy(out, acc, size_t(a.head_dim) * sizeof(float));
    }
}

namespace {

// Fills the entries a family leaves empty with the scalar functions, so callers need no null checks.
OpKernels complete(const OpKernels* family) {
    OpKernels k = family ? *family : OpKernels{};
    if (!k.rms_norm) k.rms_norm = op_rms_norm;
    if (!k.add) k.add = op_add;
    if (!k.silu_mul) k.silu_mul = op_silu_mul;
    if (!k.softmax) k.softmax = op_softmax;
    if (!k.rope) k.rope = op_rope;
    if (!k.attention) {
        k.attention = op_attention;
        k.attention_scratch_floats = attention_scratch_floats;
    }
    return k;
}

}  // namespace

const OpKernels* op_kernels(Isa isa) {
    static const OpKernels scalar = complete(nullptr);
    static const OpKernels avx2 = complete(avx2_op_kernels());
    static const OpKernels avx512 = complete(avx512_op_kernels() ? avx512_op_kernels() : avx2_op_kernels());
    static const OpKernels neon = complete(neon_op_kernels());
    switch (isa) {
        case Isa::Avx2: return &avx2;
        case Isa::Avx512: return &avx512;
        case Isa::Neon: return &neon;
        default: return &scalar;
    }
}

}  // namespace r1::cpu
