#version 450
// Elementwise operations over rows (OP is a specialization constant); y may alias either source.
//   OP 0, ADD:      y = a + b
//   OP 1, SILU_MUL: y = silu(a) * b = a / (1 + e^-a) * b
// Grid: x over columns (256 per workgroup), y over rows.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint OP = 0u;

layout(binding = 0) readonly buffer ABuf { float A[]; };
layout(binding = 1) readonly buffer BBuf { float B[]; };
layout(binding = 2) writeonly buffer YBuf { float Y[]; };

layout(push_constant) uniform Push {
    uint cols, rows;
    uint a_off, a_stride, b_off, b_stride, y_off, y_stride;  // floats
} pc;

void main() {
    const uint c = gl_GlobalInvocationID.x;
    const uint r = gl_WorkGroupID.y;
    if (c >= pc.cols || r >= pc.rows) return;
    const float a = A[pc.a_off + r * pc.a_stride + c];
    const float b = B[pc.b_off + r * pc.b_stride + c];
    Y[pc.y_off + r * pc.y_stride + c] = OP == 0u ? a + b : a / (1.0 + exp(-a)) * b;
}
