#version 450
// Rotary position embedding, in place: row r (position pos0 + r) holds n_heads heads of head_dim values; pair i
// of each head rotates by theta_i = p * freq_scale * theta_scale^i / factor_i, the pair being (i, i + n_rot/2)
// (NEOX) or (2i, 2i + 1). theta_scale = freq_base^(-2/n_rot) comes from the host (std::pow, as the CPU); the
// power advances by repeated float multiplication exactly as the CPU reference does. Sine and cosine are
// computed here with an explicit range reduction (GPU built-ins lose accuracy for angles of thousands of
// radians, which long contexts reach).
// Grid: x over n_heads * n_rot/2 pairs, y over rows.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;

layout(binding = 0) buffer XBuf { float X[]; };
layout(binding = 1) readonly buffer FBuf { float Factors[]; };

layout(push_constant) uniform Push {
    uint n_heads, head_dim, half_rot, neox, rows;
    uint x_off, x_stride;  // floats
    uint pos0;
    float freq_scale, theta_scale;
    uint has_factors, factors_off;
} pc;

#include "common.glsl"

// sin and cos of x for |x| < 2^17 * pi/2 to about one ulp: x = k * pi/2 + r with |r| <= pi/4, pi/2 split in four
// parts whose first three have 7 significant bits, so that k * part is exact for |k| < 2^17; then Taylor
// polynomials (|r| <= pi/4: the first omitted terms are below 2e-9).
void sincos_reduced(float x, out float s, out float c) {
    const float k = roundEven(x * 0.636619772367581343);
    precise float r = x - k * 1.5625;
    r = r - k * 0.0081787109375;
    r = r - k * 0.00011730194091796875;
    r = r - k * 3.1391647326017846e-07;
    const float z = r * r;
    const float sn = r + r * z * (-1.0 / 6.0 + z * (1.0 / 120.0 + z * (-1.0 / 5040.0 + z * (1.0 / 362880.0))));
    const float cs = 1.0 + z * (-0.5 + z * (1.0 / 24.0 + z * (-1.0 / 720.0 + z * (1.0 / 40320.0 + z * (-1.0 / 3628800.0)))));
    const int quadrant = int(k) & 3;
    if (quadrant == 0) { s = sn; c = cs; }
    else if (quadrant == 1) { s = cs; c = -sn; }
    else if (quadrant == 2) { s = -sn; c = -cs; }
    else { s = -cs; c = sn; }
}

// a / b rounded as IEEE division rounds it (GPUs may divide to 2.5 ulp, which at positions of 1e5 would move
// angles by 1e-2 radians): the quotient is corrected once with the exact residual a - q * b, computed with
// Veltkamp's split and Dekker's product (no fused multiply-add needed).
float divide(float a, float b) {
    precise float q = a / b;
    precise float cq = 4097.0 * q;
    precise float q_hi = cq - (cq - q);
    precise float q_lo = q - q_hi;
    precise float cb = 4097.0 * b;
    precise float b_hi = cb - (cb - b);
    precise float b_lo = b - b_hi;
    precise float p = q * b;
    precise float p_err = ((q_hi * b_hi - p) + q_hi * b_lo + q_lo * b_hi) + q_lo * b_lo;
    precise float residual = (a - p) - p_err;
    precise float r = q + residual / b;
    return r;
}

void main() {
    const uint idx = gl_GlobalInvocationID.x;
    const uint r = gl_WorkGroupID.y;
    if (idx >= pc.n_heads * pc.half_rot || r >= pc.rows) return;
    const uint i = idx % pc.half_rot, h = idx / pc.half_rot;
    precise float theta = float(pc.pos0 + r);
    for (uint j = 0u; j < i; ++j) theta = theta * pc.theta_scale;
    const float factor = pc.has_factors != 0u ? Factors[pc.factors_off + i] : 1.0;
    precise float angle = pc.freq_scale * (pc.has_factors != 0u ? divide(theta, factor) : theta);
    float s, c;
    sincos_reduced(angle, s, c);
    const uint base = pc.x_off + r * pc.x_stride + h * pc.head_dim;
    const uint i0 = base + (pc.neox != 0u ? i : 2u * i);
    const uint i1 = base + (pc.neox != 0u ? i + pc.half_rot : 2u * i + 1u);
    const float v0 = X[i0], v1 = X[i1];
    X[i0] = v0 * c - v1 * s;
    X[i1] = v0 * s + v1 * c;
}
