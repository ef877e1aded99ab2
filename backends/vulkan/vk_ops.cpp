// The operations of the backend interface, recorded as compute dispatches (shaders/*.comp). Each recorder checks
// the op's shapes and types (the same contract as the CPU backend), resolves its views to descriptor windows and
// passes offsets and strides as push constants. Ops whose views are too large for one descriptor window (more
// than maxStorageBufferRange / 2 bytes: e.g. the logits of a long batch on lavapipe) run in pieces of rows.
//
// Matmul paths (documented in README.md, "Numerics"):
//   1..8 tokens:             matvec_<type>      float32 on weights dequantized in registers
//   more, exact_math:        matmul_<type>      float32 tiles of dequantized weights
//   more, quantized weights: quantize_q8 + mmq_<type>   8-bit activations, int8 dot products
//   more, F16 weights, fp16: matmul_f16_fp16    fp16 tiles, packed half FMAs
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>

#include "../../src/dtype.h"
#include "vk_context.h"

namespace r1::vulkan {
namespace {

bool is_float_type(int32_t t) { return t == int32_t(DType::F32) || t == int32_t(DType::F16) || t == int32_t(DType::BF16); }

bool is_kv_type(int32_t t) { return is_float_type(t) || t == int32_t(DType::Q8_0); }

uint64_t row_bytes(int32_t type, int64_t cols) { return dtype_row_bytes(DType(type), uint64_t(cols)); }

// Bytes a view covers: from its first byte to the end of its last row.
uint64_t span(const r1b_view& v) {
    if (v.rows <= 0) return 0;
    return uint64_t(v.rows - 1) * v.row_stride + row_bytes(v.type, v.cols);
}

uint32_t ceil_div(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

struct Ctx {
    Stream& s;
    Device& d;
    const r1b_op& op;
    const char* what;

    bool fail(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
    r1_status status = R1_ERR_INVALID_ARGUMENT;
};

bool Ctx::fail(const char* fmt, ...) {
    char msg[512];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(msg, sizeof msg, fmt, args);
    va_end(args);
    report(d.backend, "%s: %s", what, msg);
    return false;
}

// Resolves a view (whose bytes must be `align`-aligned: offset and stride) to a region.
bool bind(Ctx& c, const r1b_view& v, uint64_t align, Region& out) {
    if (!v.buffer) return c.fail("a view has no buffer");
    if (v.offset % align || (v.rows > 1 && v.row_stride % align)) {
        c.status = R1_ERR_UNSUPPORTED;
        return c.fail("views of %s need offsets and strides that are multiples of %llu bytes", dtype_name(uint32_t(v.type)),
                      (unsigned long long)align);
    }
    if (v.rows > 1 && v.row_stride < row_bytes(v.type, v.cols)) return c.fail("a view's rows overlap");
    if (!resolve(c.s, v.buffer, v.offset, span(v), out)) return false;
    if (out.at + span(v) > UINT32_MAX) return c.fail("a view does not fit 32-bit offsets");
    return true;
}

Access reads(const Region& r) { return Access{r.window.buffer, r.lo, r.hi, false}; }
Access writes(const Region& r) { return Access{r.window.buffer, r.lo, r.hi, true}; }

Window weight_window(const WeightChunk& c) { return whole(c.block->allocation); }

// A 2-D grid of `groups` workgroups (shaders fold y into their linear index and skip the excess).
void fold(const Device& d, uint64_t groups, uint32_t& gx, uint32_t& gy) {
    const uint64_t max_x = d.limits.max_groups[0];
    if (groups <= max_x) {
        gx = uint32_t(groups);
        gy = 1;
    } else {
        gx = uint32_t(max_x);
        gy = uint32_t((groups + max_x - 1) / max_x);
    }
}

bool dispatch(Ctx& c, const std::string& shader, const std::vector<uint32_t>& spec, const Window (&w)[kBindings],
              const void* push, uint32_t push_bytes, uint32_t gx, uint32_t gy, std::initializer_list<Access> accesses) {
    std::string error;
    const VkPipeline p = get_pipeline(c.d, shader, spec, error);
    if (!p) {
        c.status = R1_ERR_BACKEND;
        return c.fail("%s", error.c_str());
    }
    if (gy > c.d.limits.max_groups[1]) {
        c.status = R1_ERR_UNSUPPORTED;
        return c.fail("a grid of %u x %u workgroups exceeds the device's limits", gx, gy);
    }
    if (!record_dispatch(c.s, p, w, push, push_bytes, gx, gy, 1, accesses.begin(), accesses.size())) {
        c.status = c.s.status != R1_OK ? c.s.status : R1_ERR_BACKEND;
        return false;
    }
    return true;
}

const Weight* weight_of(const r1b_weight* w) { return reinterpret_cast<const Weight*>(w); }

// An F32 vector weight (norm weights, biases, rope factors) of at least n values: its window and float offset.
bool vector_weight(Ctx& c, const r1b_weight* handle, int64_t n, Window& window, uint32_t& offset) {
    const Weight* w = weight_of(handle);
    if (w->type != int32_t(DType::F32) || w->rows * w->cols < n || w->chunks.size() != 1)
        return c.fail("a vector weight must be f32 with %lld values", (long long)n);
    window = weight_window(w->chunks[0]);
    offset = uint32_t(w->chunks[0].offset / 4);
    return true;
}

// ---------------------------------------------------------------------------------------------------------------

bool record_embed(Ctx& c) {
    const r1b_op& op = c.op;
    const Weight* w = weight_of(op.weight);
    const r1b_view& ids = op.src[0];
    const r1b_view& y = op.dst;
    if (!w || ids.type != int32_t(DType::I32) || ids.rows != y.rows || y.type != int32_t(DType::F32) || y.cols != w->cols)
        return c.fail("shapes or types do not match (ids %lld rows, dst %lldx%lld, table %lldx%lld)", (long long)ids.rows,
                      (long long)y.rows, (long long)y.cols, (long long)(w ? w->rows : 0), (long long)(w ? w->cols : 0));
    Region ri, ry;
    if (!bind(c, ids, 4, ri) || !bind(c, y, 4, ry)) return false;
    const uint32_t groups = is_float_type(w->type) ? ceil_div(uint64_t(w->cols), 16) : uint32_t(w->cols / 16);
    for (size_t i = 0; i < w->chunks.size(); ++i) {
        const WeightChunk& ch = w->chunks[i];
        const uint32_t push[12] = {uint32_t(w->cols), uint32_t(y.rows), uint32_t(ri.at / 4), uint32_t(ids.row_stride / 4),
                                   uint32_t(ry.at / 4), uint32_t(y.row_stride / 4), uint32_t(ch.offset),
                                   uint32_t(w->row_bytes), uint32_t(ch.row0), uint32_t(ch.rows), uint32_t(w->rows),
                                   i == 0 ? 1u : 0u};
        const Window win[kBindings] = {weight_window(ch), ri.window, ry.window, whole(c.s.status_buffer)};
        const Access status{c.s.status_buffer.buffer, 0, 16, true};
        if (!dispatch(c, std::string("embed_") + dtype_name(uint32_t(w->type)), {}, win, push, sizeof push,
                      ceil_div(groups, 64), uint32_t(y.rows), {reads(ri), writes(ry), status}))
            return false;
    }
    return true;
}

bool same_shape(const r1b_view& a, const r1b_view& b) { return a.rows == b.rows && a.cols == b.cols; }

bool record_rows_op(Ctx& c, uint32_t kind) {  // 0 = RMS_NORM, 1 = SOFTMAX
    const r1b_op& op = c.op;
    const r1b_view& x = op.src[0];
    const r1b_view& y = op.dst;
    if (x.type != int32_t(DType::F32) || y.type != int32_t(DType::F32) || !same_shape(x, y) || x.cols < 1)
        return c.fail("needs f32 views of one shape");
    Region rx, ry;
    if (!bind(c, x, 4, rx) || !bind(c, y, 4, ry)) return false;
    Window ww{};
    uint32_t w_off = 0, has_w = 0;
    if (kind == 0 && op.weight) {
        if (!vector_weight(c, op.weight, y.cols, ww, w_off)) return false;
        has_w = 1;
    }
    struct {
        uint32_t cols, rows, x_off, x_stride, y_off, y_stride, w_off, has_w;
        float eps, scale;
    } push = {uint32_t(x.cols), uint32_t(x.rows), uint32_t(rx.at / 4), uint32_t(x.row_stride / 4), uint32_t(ry.at / 4),
              uint32_t(y.row_stride / 4), w_off, has_w, op.eps, op.scale};
    const uint32_t wg = x.cols <= 64 ? 64 : x.cols <= 128 ? 128 : 256;
    uint32_t gx, gy;
    fold(c.d, uint64_t(x.rows), gx, gy);
    const Window win[kBindings] = {rx.window, ry.window, ww};
    return dispatch(c, "rows", {wg, kind}, win, &push, sizeof push, gx, gy, {reads(rx), writes(ry)});
}

bool record_eltwise(Ctx& c, uint32_t kind) {  // 0 = ADD, 1 = SILU_MUL
    const r1b_op& op = c.op;
    const r1b_view &a = op.src[0], &b = op.src[1], &y = op.dst;
    const int32_t f32 = int32_t(DType::F32);
    if (a.type != f32 || b.type != f32 || y.type != f32 || !same_shape(a, y) || !same_shape(b, y))
        return c.fail("needs f32 views of one shape");
    Region ra, rb, ry;
    if (!bind(c, a, 4, ra) || !bind(c, b, 4, rb) || !bind(c, y, 4, ry)) return false;
    const uint32_t push[8] = {uint32_t(y.cols), uint32_t(y.rows), uint32_t(ra.at / 4), uint32_t(a.row_stride / 4),
                              uint32_t(rb.at / 4), uint32_t(b.row_stride / 4), uint32_t(ry.at / 4), uint32_t(y.row_stride / 4)};
    const Window win[kBindings] = {ra.window, rb.window, ry.window};
    return dispatch(c, "eltwise", {kind}, win, push, sizeof push, ceil_div(uint64_t(y.cols), 256), uint32_t(y.rows),
                    {reads(ra), reads(rb), writes(ry)});
}

bool record_rope(Ctx& c) {
    const r1b_op& op = c.op;
    const r1b_view& x = op.dst;
    const r1b_rope_params& p = op.rope;
    if (x.type != int32_t(DType::F32) || p.n_heads < 1 || p.head_dim < 1 || p.n_rot < 2 || p.n_rot % 2 ||
        p.n_rot > p.head_dim || int64_t(p.n_heads) * p.head_dim > x.cols || p.pos0 < 0 ||
        p.pos0 + x.rows > int64_t(UINT32_MAX))
        return c.fail("bad parameters (n_heads %d, head_dim %d, n_rot %d, row of %lld)", p.n_heads, p.head_dim, p.n_rot,
                      (long long)x.cols);
    Region rx;
    if (!bind(c, x, 4, rx)) return false;
    Window fw{};
    uint32_t f_off = 0, has_f = 0;
    if (p.freq_factors) {
        if (!vector_weight(c, p.freq_factors, p.n_rot / 2, fw, f_off)) return false;
        has_f = 1;
    }
    const uint32_t half = uint32_t(p.n_rot / 2);
    struct {
        uint32_t n_heads, head_dim, half_rot, neox, rows, x_off, x_stride, pos0;
        float freq_scale, theta_scale;
        uint32_t has_factors, factors_off;
    } push = {uint32_t(p.n_heads), uint32_t(p.head_dim), half, p.mode == R1B_ROPE_NEOX ? 1u : 0u, uint32_t(x.rows),
              uint32_t(rx.at / 4), uint32_t(x.row_stride / 4), uint32_t(p.pos0), p.freq_scale,
              std::pow(p.freq_base, -2.0f / float(p.n_rot)), has_f, f_off};
    const Window win[kBindings] = {rx.window, fw};
    Access rw = writes(rx);
    return dispatch(c, "rope", {}, win, &push, sizeof push, ceil_div(uint64_t(p.n_heads) * half, 64), uint32_t(x.rows),
                    {reads(rx), rw});
}

const char* short_name(int32_t type) {
    switch (DType(type)) {
        case DType::F32: return "f32";
        case DType::F16: return "f16";
        case DType::BF16: return "bf16";
        default: return "q8_0";
    }
}

bool record_copy(Ctx& c) {
    const r1b_op& op = c.op;
    const r1b_view& x = op.src[0];
    const r1b_view& y = op.dst;
    if (!is_kv_type(x.type) || !is_kv_type(y.type) || !same_shape(x, y) || row_bytes(x.type, x.cols) == 0 ||
        row_bytes(y.type, y.cols) == 0) {
        c.status = R1_ERR_UNSUPPORTED;
        return c.fail("cannot convert %s to %s for rows of %lld", dtype_name(uint32_t(x.type)), dtype_name(uint32_t(y.type)),
                      (long long)y.cols);
    }
    Region rx, ry;
    if (!bind(c, x, x.type == int32_t(DType::F32) ? 4 : 2, rx) || !bind(c, y, y.type == int32_t(DType::F32) ? 4 : 2, ry))
        return false;
    const uint64_t first_word = ry.at / 4, end_word = (ry.at + span(y) + 3) / 4;
    const uint32_t push[9] = {uint32_t(y.cols), uint32_t(y.rows), uint32_t(rx.at), uint32_t(x.row_stride), uint32_t(ry.at),
                              uint32_t(y.row_stride), uint32_t(row_bytes(y.type, y.cols)), uint32_t(first_word),
                              uint32_t(end_word - first_word)};
    // The words at both ends may hold bytes outside the view, which the shader writes back unchanged: the
    // window (aligned, whole words) is what it writes.
    const Access w = writes(ry);
    uint32_t gx, gy;
    fold(c.d, ceil_div(end_word - first_word, 64), gx, gy);
    const Window win[kBindings] = {rx.window, ry.window};
    return dispatch(c, std::string("copy_") + short_name(x.type) + "_" + short_name(y.type), {}, win, push, sizeof push, gx,
                    gy, {reads(rx), w});
}

// Tile sizes of attention.comp for head size D (a multiple of 4) within the device's shared memory: BQ query rows
// and BKV keys per step, a workgroup size that divides the BQ * D / 4 output vec4s.
bool attention_tiles(const Device& d, uint32_t D, uint32_t& wg, uint32_t& bq, uint32_t& bkv) {
    if (D % 4) return false;
    const uint64_t budget = std::min<uint64_t>(d.limits.max_shared, 32768) / 4;  // floats
    for (uint32_t q : {16u, 8u, 4u, 2u, 1u})
        for (uint32_t k : {32u, 16u, 8u}) {
            const uint64_t floats = uint64_t(q) * D + uint64_t(k) * (D + 4) + uint64_t(q) * k + 3 * q;
            if (floats > budget) continue;
            bq = q;
            bkv = k;
            wg = 128;
            while (wg > 1 && (bq * D / 4) % wg) wg /= 2;
            return true;
        }
    return false;
}

bool record_attention(Ctx& c) {
    const r1b_op& op = c.op;
    const r1b_attention_params& a = op.attention;
    const r1b_view &q = op.src[0], &k = op.src[1], &v = op.src[2], &o = op.dst;
    const int64_t T = q.rows;
    if (a.n_heads < 1 || a.n_kv_heads < 1 || a.n_heads % a.n_kv_heads || a.head_dim < 1 || a.pos0 < 0)
        return c.fail("bad head counts (%d heads, %d KV heads, head size %d)", a.n_heads, a.n_kv_heads, a.head_dim);
    const int64_t qcols = int64_t(a.n_heads) * a.head_dim, kvcols = int64_t(a.n_kv_heads) * a.head_dim;
    if (q.type != int32_t(DType::F32) || o.type != int32_t(DType::F32) || q.cols < qcols || o.cols < qcols ||
        o.rows != T || !is_kv_type(k.type) || v.type != k.type || k.cols < kvcols || v.cols < kvcols ||
        k.rows < a.pos0 + T || v.rows < a.pos0 + T || row_bytes(k.type, a.head_dim) == 0)
        return c.fail("shapes or types do not match");
    const uint32_t D = uint32_t(a.head_dim);
    uint32_t wg, bq, bkv;
    if (!attention_tiles(c.d, D, wg, bq, bkv)) {
        c.status = R1_ERR_UNSUPPORTED;
        return c.fail("a head size of %u (not a multiple of 4, or too large for the device's shared memory) is not supported", D);
    }
    r1b_view kk = k, vv = v;
    kk.rows = vv.rows = a.pos0 + T;  // the keys any query may see
    Region rq, rk, rv, ro;
    const uint64_t kv_align = k.type == int32_t(DType::F32) ? 4 : 2;
    if (!bind(c, q, 4, rq) || !bind(c, kk, kv_align, rk) || !bind(c, vv, kv_align, rv) || !bind(c, o, 4, ro))
        return false;
    const uint32_t group = uint32_t(a.n_heads / a.n_kv_heads);
    const uint64_t n_blocks = (uint64_t(T) * group + bq - 1) / bq;
    const uint64_t n_keys = uint64_t(a.pos0 + T);
    // Few query rows over many keys (generation): split the keys so that the device has enough workgroups.
    uint64_t splits = 1, per_split = n_keys;
    const uint64_t base_groups = n_blocks * uint64_t(a.n_kv_heads);
    if (base_groups < 64 && n_keys >= 512) {
        splits = std::min<uint64_t>({32, n_keys / 256, (128 + base_groups - 1) / base_groups});
        per_split = (n_keys + splits - 1) / splits;
        per_split = (per_split + bkv - 1) / bkv * bkv;
        splits = (n_keys + per_split - 1) / per_split;
    }
    Window pw{};
    if (splits > 1) {
        const uint64_t bytes = uint64_t(T) * uint64_t(a.n_heads) * splits * (D + 2) * 4;
        if (!ensure_internal(c.s, c.s.partials, bytes)) {
            c.status = c.s.status;
            return false;
        }
        pw = whole(c.s.partials);
    }
    const Access part_w{c.s.partials.buffer, 0, c.s.partials.size, true};
    const Access part_r{c.s.partials.buffer, 0, c.s.partials.size, false};
    struct {
        uint32_t T, n_heads, n_kv_heads, group, q_off, q_stride, k_off, k_stride, v_off, v_stride, o_off, o_stride, pos0;
        float scale;
        uint32_t n_splits, keys_per_split, part_off;
    } push = {uint32_t(T), uint32_t(a.n_heads), uint32_t(a.n_kv_heads), group, uint32_t(rq.at / 4),
              uint32_t(q.row_stride / 4), uint32_t(rk.at), uint32_t(k.row_stride), uint32_t(rv.at), uint32_t(v.row_stride),
              uint32_t(ro.at / 4), uint32_t(o.row_stride / 4), uint32_t(a.pos0), a.scale, uint32_t(splits),
              uint32_t(per_split), 0};
    uint32_t gx, gy;
    fold(c.d, n_blocks * uint64_t(a.n_kv_heads) * splits, gx, gy);
    const Window win[kBindings] = {rq.window, rk.window, rv.window, ro.window, pw};
    const std::string name = std::string("attention_") + short_name(k.type);
    if (splits == 1)
        return dispatch(c, name, {wg, D, bq, bkv}, win, &push, sizeof push, gx, gy,
                        {reads(rq), reads(rk), reads(rv), writes(ro)});
    if (!dispatch(c, name, {wg, D, bq, bkv}, win, &push, sizeof push, gx, gy, {reads(rq), reads(rk), reads(rv), part_w}))
        return false;
    const uint32_t push2[7] = {uint32_t(T), uint32_t(a.n_heads), D, uint32_t(splits), 0, uint32_t(ro.at / 4),
                               uint32_t(o.row_stride / 4)};
    fold(c.d, ceil_div(uint64_t(T) * uint64_t(a.n_heads) * D, 64), gx, gy);
    const Window win2[kBindings] = {pw, ro.window};
    return dispatch(c, "attention_combine", {}, win2, push2, sizeof push2, gx, gy, {part_r, writes(ro)});
}

bool record_matmul(Ctx& c) {
    const r1b_op& op = c.op;
    const Weight* w = weight_of(op.weight);
    const r1b_view& x = op.src[0];
    const r1b_view& y = op.dst;
    if (!w || x.type != int32_t(DType::F32) || y.type != int32_t(DType::F32) || x.cols != w->cols || y.cols != w->rows ||
        y.rows != x.rows)
        return c.fail("shapes do not match (x %lldx%lld, W %lldx%lld, out %lldx%lld)", (long long)x.rows,
                      (long long)x.cols, (long long)(w ? w->rows : 0), (long long)(w ? w->cols : 0), (long long)y.rows,
                      (long long)y.cols);
    const int64_t N = x.rows;
    if (N == 0) return true;
    Region rx, ry;
    if (!bind(c, x, 4, rx) || !bind(c, y, 4, ry)) return false;
    Window bw{};
    uint32_t b_off = 0, has_b = 0;
    if (op.bias) {
        if (!vector_weight(c, op.bias, w->rows, bw, b_off)) return false;
        has_b = 1;
    }
    const std::string type = dtype_name(uint32_t(w->type));
    const bool quant = !is_float_type(w->type);
    const uint32_t K = uint32_t(w->cols);
    const uint32_t x_off = uint32_t(rx.at / 4), x_stride = uint32_t(x.row_stride / 4);

    std::string shader;
    std::vector<uint32_t> spec;
    bool q8 = false;
    // Matrix-vector shape: threads stride over the row's groups of 16 values; short rows get fewer threads and more
    // rows per workgroup, so that no thread idles and workgroups are not too small.
    const uint32_t groups = (K + 15) / 16;
    uint32_t mv_threads = 16, mv_rows = 8;
    while (mv_threads < 64 && mv_threads < groups) mv_threads *= 2;
    if (groups >= 64) mv_rows = 4;
    if (N <= 8) {
        shader = "matvec_" + type + (c.s.features.subgroup_arithmetic ? "_sg" : "");
        spec = {mv_threads, mv_rows, uint32_t(N)};
    } else if (!c.s.exact && quant) {
        shader = "mmq_" + type + (c.s.features.integer_dot ? "_dot" : "");
        q8 = true;
    } else if (!c.s.exact && w->type == int32_t(DType::F16) && c.s.features.fp16) {
        shader = "matmul_f16_fp16";
    } else {
        shader = "matmul_" + type;
    }

    // 8-bit activations: quantized once per input (q, k and v share theirs).
    const uint32_t xq_stride = K / 32 * 11;
    Region rq{};
    if (q8) {
        const uint64_t bytes = uint64_t(N) * xq_stride * 4;
        const VkBuffer before = c.s.q8.buffer;
        if (!ensure_internal(c.s, c.s.q8, bytes)) {
            c.status = c.s.status;
            return false;
        }
        if (c.s.q8.buffer != before) c.s.q8_source.valid = false;
        rq.window = Window{c.s.q8.buffer, 0, (bytes + 15) / 16 * 16};
        rq.lo = 0;
        rq.hi = rq.window.range;
        auto& src = c.s.q8_source;
        const bool cached = src.valid && src.buffer == rx.window.buffer && src.lo == rx.lo && src.hi == rx.hi &&
                            src.offset == rx.at && src.stride == x.row_stride && src.rows == x.rows && src.cols == x.cols;
        if (!cached) {
            const uint32_t push[6] = {K, uint32_t(N), x_off, x_stride, 0, xq_stride};
            uint32_t gx, gy;
            fold(c.d, ceil_div(uint64_t(N) * (K / 32), 64), gx, gy);
            const Window win[kBindings] = {rx.window, rq.window};
            if (!dispatch(c, "quantize_q8", {}, win, push, sizeof push, gx, gy, {reads(rx), writes(rq)})) return false;
            src.valid = true;
            src.buffer = rx.window.buffer;
            src.lo = rx.lo;
            src.hi = rx.hi;
            src.offset = rx.at;
            src.stride = x.row_stride;
            src.rows = x.rows;
            src.cols = x.cols;
        }
    }

    for (const WeightChunk& ch : w->chunks) {
        const uint32_t M = uint32_t(ch.rows);
        const uint32_t push[11] = {K,
                                   M,
                                   uint32_t(N),
                                   uint32_t(ch.offset),
                                   uint32_t(w->row_bytes),
                                   q8 ? 0u : x_off,
                                   q8 ? xq_stride : x_stride,
                                   uint32_t(ry.at / 4 + uint64_t(ch.row0)),
                                   uint32_t(y.row_stride / 4),
                                   b_off + uint32_t(ch.row0),
                                   has_b};
        const Window win[kBindings] = {weight_window(ch), q8 ? rq.window : rx.window, ry.window, bw};
        const Access in = q8 ? reads(rq) : reads(rx);
        // Chunks write disjoint columns; the barrier tracker sees whole views, which is conservative.
        uint32_t gx, gy;
        if (N <= 8) {
            fold(c.d, ceil_div(M, mv_rows), gx, gy);
        } else {
            gx = ceil_div(M, 64);
            gy = ceil_div(uint64_t(N), 64);
        }
        if (!dispatch(c, shader, spec, win, push, sizeof push, gx, gy, {in, writes(ry)})) return false;
    }
    return true;
}

bool record(Ctx& c) {
    switch (c.op.kind) {
        case R1B_OP_EMBED: return record_embed(c);
        case R1B_OP_RMS_NORM: return record_rows_op(c, 0);
        case R1B_OP_SOFTMAX: return record_rows_op(c, 1);
        case R1B_OP_MATMUL: return record_matmul(c);
        case R1B_OP_ADD: return record_eltwise(c, 0);
        case R1B_OP_SILU_MUL: return record_eltwise(c, 1);
        case R1B_OP_ROPE: return record_rope(c);
        case R1B_OP_COPY: return record_copy(c);
        case R1B_OP_ATTENTION: return record_attention(c);
        default:
            c.status = R1_ERR_UNSUPPORTED;
            return c.fail("unknown operation %d", int(c.op.kind));
    }
}

const char* op_name(r1b_op_kind kind) {
    static const char* names[] = {"embed", "rms_norm", "matmul", "add", "rope", "silu_mul", "softmax", "copy", "attention"};
    return unsigned(kind) < sizeof names / sizeof names[0] ? names[kind] : "op";
}

// The views of an op that are indexed by its rows (token rows), which a split into pieces of rows cuts.
int row_views(const r1b_op& op, const r1b_view* out[3]) {
    int n = 0;
    out[n++] = &op.dst;
    switch (op.kind) {
        case R1B_OP_ADD:
        case R1B_OP_SILU_MUL:
            out[n++] = &op.src[1];
            out[n++] = &op.src[0];
            break;
        case R1B_OP_ROPE: break;
        default: out[n++] = &op.src[0]; break;
    }
    return n;
}

// The most rows per piece that keep every row view within half a descriptor window, and grids in their limits.
int64_t max_piece_rows(const Device& d, const r1b_op& op) {
    const r1b_view* views[3];
    const int n = row_views(op, views);
    const uint64_t limit = d.limits.max_storage_range / 2;
    int64_t rows = op.dst.rows;
    for (int i = 0; i < n; ++i) {
        const r1b_view& v = *views[i];
        const uint64_t rb = row_bytes(v.type, v.cols);
        if (v.rows <= 1 || span(v) <= limit || rb > limit || v.row_stride == 0) continue;
        rows = std::min<int64_t>(rows, int64_t((limit - rb) / v.row_stride) + 1);
    }
    if (op.kind == R1B_OP_EMBED || op.kind == R1B_OP_ADD || op.kind == R1B_OP_SILU_MUL || op.kind == R1B_OP_ROPE)
        rows = std::min<int64_t>(rows, int64_t(d.limits.max_groups[1]));
    return std::max<int64_t>(rows, 1);
}

}  // namespace

r1_status record_op(Stream& s, const r1b_op& op) {
    Device& d = *s.device;
    const int64_t rows = op.dst.rows;
    if (rows <= 0) return R1_OK;
    const int64_t piece = max_piece_rows(d, op);
    for (int64_t r0 = 0; r0 < rows; r0 += piece) {
        r1b_op part = op;
        if (piece < rows) {
            const int64_t n = std::min(piece, rows - r0);
            const r1b_view* views[3];
            const int nv = row_views(op, views);
            for (int i = 0; i < nv; ++i) {
                // The same member of `part` as views[i] is of `op`.
                const size_t at = size_t(reinterpret_cast<const char*>(views[i]) - reinterpret_cast<const char*>(&op));
                auto* v = reinterpret_cast<r1b_view*>(reinterpret_cast<char*>(&part) + at);
                v->offset += uint64_t(r0) * v->row_stride;
                v->rows = n;
            }
            if (op.kind == R1B_OP_ROPE) part.rope.pos0 += r0;
            if (op.kind == R1B_OP_ATTENTION) part.attention.pos0 += r0;
        }
        Ctx c{s, d, part, op_name(op.kind)};
        if (!record(c)) return c.status;
    }
    return R1_OK;
}

int32_t supports(r1b_device*, r1b_op_kind kind, int32_t type) {
    if (type < 0 || !dtype_traits(uint32_t(type))) return 0;
    switch (kind) {
        case R1B_OP_MATMUL:
        case R1B_OP_EMBED: return is_weight_type(type);
        case R1B_OP_COPY:
        case R1B_OP_ATTENTION: return is_kv_type(type);
        case R1B_OP_RMS_NORM:
        case R1B_OP_ADD:
        case R1B_OP_ROPE:
        case R1B_OP_SILU_MUL:
        case R1B_OP_SOFTMAX: return type == int32_t(DType::F32);
        default: return 0;
    }
}

}  // namespace r1::vulkan
