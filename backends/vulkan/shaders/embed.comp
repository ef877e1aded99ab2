#version 450
// Embedding lookup: y[t][:] = dequantized weight row ids[t]. One thread per group of 16 values of a token.
// The weight may be split in chunks of rows (one dispatch each); a dispatch writes the tokens whose id falls in
// its chunk. Ids outside the whole table set bit 0 of Status[0] (the stream reports the error) and give zeros.
// Values are evaluated with `precise` so that they equal the CPU reference's dequantization bit for bit.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;

layout(binding = 0) readonly buffer WeightBuf { uint W[]; };
layout(binding = 1) readonly buffer IdsBuf { uint Ids[]; };
layout(binding = 2) writeonly buffer YBuf { float Y[]; };
layout(binding = 3) buffer StatusBuf { uint Status[]; };

layout(push_constant) uniform Push {
    uint K;           // values per row
    uint T;           // tokens
    uint ids_off;     // word offset of token 0's id
    uint ids_stride;  // words between ids
    uint y_off, y_stride;  // floats
    uint w_off;       // byte offset of the chunk's first row
    uint row_bytes;
    uint row0;        // first row of the chunk
    uint rows;        // rows in the chunk
    uint total_rows;  // rows of the whole table
    uint report;      // this dispatch reports bad ids and zeroes their rows
} pc;

#include "common.glsl"
#include "quants.glsl"

void main() {
    const uint gi = gl_GlobalInvocationID.x;
    const uint t = gl_WorkGroupID.y;
#if TYPE_IS_FLOAT
    const uint n_groups = (pc.K + 15u) / 16u;
#else
    const uint n_groups = pc.K / 16u;
#endif
    if (gi >= n_groups || t >= pc.T) return;
    const int id = int(Ids[pc.ids_off + t * pc.ids_stride]);
    const uint y = pc.y_off + t * pc.y_stride + 16u * gi;
    if (id < 0 || uint(id) >= pc.total_rows) {
        if (pc.report != 0u) {
            if (gi == 0u) atomicOr(Status[0], 1u);
            [[unroll]] for (uint i = 0u; i < 16u; ++i)
                if (16u * gi + i < pc.K) Y[y + i] = 0.0;
        }
        return;
    }
    if (uint(id) < pc.row0 || uint(id) >= pc.row0 + pc.rows) return;
    const uint row = pc.w_off + (uint(id) - pc.row0) * pc.row_bytes;
#if TYPE_IS_FLOAT
    [[unroll]] for (uint i = 0u; i < 16u; ++i)
        if (16u * gi + i < pc.K) Y[y + i] = load_weight(row, 16u * gi + i);
#else
    uvec4 q;
    float scale, vmin;
    decode16(group_block(row, gi), group_in_block(gi), q, scale, vmin);
    [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        const vec4 f = i8x4_to_vec4(q[j]);
        [[unroll]] for (uint e = 0u; e < 4u; ++e) {
            precise float v = scale * f[e];
            precise float r = v - vmin;
            Y[y + 4u * j + e] = r;
        }
    }
#endif
}
