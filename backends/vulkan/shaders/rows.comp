#version 450
// Row-wise reductions, one workgroup per row (OP is a specialization constant):
//   OP 0, RMS_NORM: y = x / sqrt(mean(x^2) + eps) * w   (w optional; y may alias x)
//   OP 1, SOFTMAX:  y = softmax(x * scale)               (y may alias x)
// Each thread handles the elements tid, tid + WG, ... in every pass, so in-place operation is safe.
// Specialization: 0 = workgroup size (a power of two), 1 = OP.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0u;

layout(binding = 0) readonly buffer XBuf { float X[]; };
layout(binding = 1) buffer YBuf { float Y[]; };
layout(binding = 2) readonly buffer WBuf { float Wt[]; };

layout(push_constant) uniform Push {
    uint cols, rows;
    uint x_off, x_stride, y_off, y_stride;  // floats
    uint w_off, has_w;                      // RMS_NORM weight
    float eps;                              // RMS_NORM
    float scale;                            // SOFTMAX
} pc;

#include "common.glsl"

shared float red[gl_WorkGroupSize.x];

// Sum (max when is_max) of every thread's v; all threads get the result.
float reduce(float v, bool is_max) {
    const uint tid = gl_LocalInvocationID.x;
    red[tid] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1) {
        if (tid < s) red[tid] = is_max ? max(red[tid], red[tid + s]) : red[tid] + red[tid + s];
        barrier();
    }
    const float r = red[0];
    barrier();
    return r;
}

void main() {
    const uint row = linear_group();
    if (row >= pc.rows) return;
    const uint tid = gl_LocalInvocationID.x;
    const uint WG = gl_WorkGroupSize.x;
    const uint x = pc.x_off + row * pc.x_stride;
    const uint y = pc.y_off + row * pc.y_stride;
    if (OP == 0u) {
        float sum = 0.0;
        for (uint i = tid; i < pc.cols; i += WG) sum += X[x + i] * X[x + i];
        sum = reduce(sum, false);
        const float scale = 1.0 / sqrt(sum / float(pc.cols) + pc.eps);
        for (uint i = tid; i < pc.cols; i += WG) {
            precise float v = X[x + i] * scale;
            if (pc.has_w != 0u) v = v * Wt[pc.w_off + i];
            Y[y + i] = v;
        }
    } else {
        float m = uintBitsToFloat(0xFF800000u);  // -inf
        for (uint i = tid; i < pc.cols; i += WG) m = max(m, X[x + i] * pc.scale);
        m = reduce(m, true);
        float sum = 0.0;
        for (uint i = tid; i < pc.cols; i += WG) {
            const float e = exp(X[x + i] * pc.scale - m);
            Y[y + i] = e;
            sum += e;
        }
        sum = reduce(sum, false);
        const float inv = 1.0 / sum;
        for (uint i = tid; i < pc.cols; i += WG) Y[y + i] *= inv;
    }
}
