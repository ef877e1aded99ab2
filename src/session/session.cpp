#include "session.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../backend/registry.h"
#include "../error.h"
#include "../model/weights.h"
#include "../../backends/cpu/cpu_features.h"

namespace r1 {
namespace {

constexpr int64_t kDefaultMaxContext = 4096;
constexpr int64_t kDefaultBatch = 512;

uint64_t f32_bytes(int64_t rows, int64_t cols) { return uint64_t(rows) * uint64_t(cols) * sizeof(float); }

}  // namespace

// The model, after checking that it can compute (the members below dereference its devices).
static std::shared_ptr<const Model> computing(std::shared_ptr<const Model> model) {
    if (!model) fail(R1_ERR_INVALID_ARGUMENT, "model is NULL");
    model->require_weights();
    return model;
}

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options)
    : model_(computing(std::move(model))), hp_(model_->hparams()) {
    n_ctx_ = options.n_ctx > 0 ? options.n_ctx : std::min(hp_.n_ctx_train, kDefaultMaxContext);
    if (options.n_ctx < 0) fail(R1_ERR_INVALID_ARGUMENT, "n_ctx %lld is negative", (long long)options.n_ctx);
    if (n_ctx_ > (int64_t(1) << 24)) fail(R1_ERR_INVALID_ARGUMENT, "n_ctx %lld is larger than 16M tokens", (long long)n_ctx_);
    n_batch_ = options.n_batch > 0 ? std::min(options.n_batch, n_ctx_) : std::min(kDefaultBatch, n_ctx_);
    if (options.n_batch < 0) fail(R1_ERR_INVALID_ARGUMENT, "n_batch %lld is negative", (long long)options.n_batch);
    if (options.n_threads < 0) fail(R1_ERR_INVALID_ARGUMENT, "n_threads %d is negative", options.n_threads);
    n_threads_ = options.n_threads > 0 ? options.n_threads : cpu::physical_core_count();
    kv_type_ = options.kv_type;
    if (kv_type_ != DType::F16 && kv_type_ != DType::F32 && kv_type_ != DType::Q8_0 && kv_type_ != DType::BF16)
        fail(R1_ERR_INVALID_ARGUMENT, "KV cache type %s is not one of f16, f32, bf16, q8_0", dtype_name(uint32_t(kv_type_)));
    kv_row_bytes_ = dtype_row_bytes(kv_type_, uint64_t(hp_.kv_dim()));
    // Attention reads one head at a time, so each head must hold whole blocks of the cache type.
    if (dtype_row_bytes(kv_type_, uint64_t(hp_.head_dim)) == 0 || kv_row_bytes_ == 0)
        fail(R1_ERR_UNSUPPORTED, "a %s KV cache needs a head size that is a multiple of %u; this model's is %lld",
             dtype_name(uint32_t(kv_type_)), traits(kv_type_).block_elements, (long long)hp_.head_dim);

    // Scratch layout: one region per activation, each [n_batch][cols] floats, 64-byte aligned.
    uint64_t at = 0;
    auto region = [&](int64_t cols) {
        uint64_t off = at;
        at += (f32_bytes(n_batch_, cols) + 63) / 64 * 64;
        return off;
    };
    off_x_ = region(hp_.n_embd);
    off_h_ = region(hp_.n_embd);
    off_o_ = region(hp_.n_embd);
    off_q_ = region(hp_.q_dim());
    off_k_ = region(hp_.kv_dim());
    off_v_ = region(hp_.kv_dim());
    off_att_ = region(hp_.q_dim());
    off_gate_ = region(hp_.n_ff);
    off_up_ = region(hp_.n_ff);
    scratch_bytes_ = at;

    // One segment per device, in layer order.
    const ModelWeights& W = model_->weights();
    for (int64_t l = 0; l < hp_.n_layers; ++l) {
        const size_t d = W.layer_device(l);
        if (segments_.empty() || segments_.back().device_index != d) {
            Segment seg;
            seg.device_index = d;
            seg.l0 = l;
            const Device& dev = *W.placement().devices[d];
            seg.api = &dev.iface();
            seg.device = dev.handle();
            segments_.push_back(seg);
        }
        segments_.back().l1 = l + 1;
    }
    try {
        for (Segment& seg : segments_) {
            const Device& dev = *W.placement().devices[seg.device_index];
            if (!seg.api->supports(seg.device, R1B_OP_ATTENTION, int32_t(kv_type_)))
                fail(R1_ERR_UNSUPPORTED, "the %s backend has no attention over a %s KV cache", dev.backend_name(),
                     dtype_name(uint32_t(kv_type_)));
            r1b_stream_params sp;
            std::memset(&sp, 0, sizeof sp);
            sp.struct_size = sizeof sp;
            sp.n_threads = n_threads_;
            sp.cancel_flag = &cancel_flag_;
            check_backend(seg.api->stream_create(seg.device, &sp, &seg.stream), "creating a stream");
            check_backend(seg.api->buffer_alloc(seg.device, scratch_bytes_, R1B_BUFFER_SCRATCH, &seg.scratch),
                          "allocating activations");
            const uint64_t kv_bytes = uint64_t(seg.l1 - seg.l0) * 2 * uint64_t(n_ctx_) * kv_row_bytes_;
            check_backend(seg.api->buffer_alloc(seg.device, kv_bytes, R1B_BUFFER_KV_CACHE, &seg.kv),
                          "allocating the KV cache");
        }
    } catch (...) {
        release();
        throw;
    }
    ops_.reserve(size_t(hp_.n_layers) * 20 + 8);
}

void Session::release() {
    for (Segment& seg : segments_) {
        if (seg.io) seg.api->buffer_free(seg.device, seg.io);
        if (seg.kv) seg.api->buffer_free(seg.device, seg.kv);
        if (seg.scratch) seg.api->buffer_free(seg.device, seg.scratch);
        if (seg.stream) seg.api->stream_destroy(seg.stream);
        seg.io = seg.kv = seg.scratch = nullptr;
        seg.stream = nullptr;
    }
}

Session::~Session() { release(); }

const Session::Segment& Session::segment_of(int64_t layer) const {
    for (const Segment& seg : segments_)
        if (layer >= seg.l0 && layer < seg.l1) return seg;
    return segments_.back();
}

r1b_view Session::scratch_view(const Segment& seg, uint64_t offset, int64_t rows, int64_t cols) const {
    r1b_view v;
    std::memset(&v, 0, sizeof v);
    v.buffer = seg.scratch;
    v.offset = offset;
    v.type = int32_t(DType::F32);
    v.rows = rows;
    v.cols = cols;
    v.row_stride = uint64_t(cols) * sizeof(float);
    return v;
}

r1b_view Session::kv_view(int64_t layer, bool value, int64_t row0, int64_t rows) const {
    const Segment& seg = segment_of(layer);
    r1b_view v;
    std::memset(&v, 0, sizeof v);
    v.buffer = seg.kv;
    v.offset = (uint64_t(layer - seg.l0) * 2 + (value ? 1 : 0)) * uint64_t(n_ctx_) * kv_row_bytes_ +
               uint64_t(row0) * kv_row_bytes_;
    v.type = int32_t(kv_type_);
    v.rows = rows;
    v.cols = hp_.kv_dim();
    v.row_stride = kv_row_bytes_;
    return v;
}

// Copies the residual stream x (T rows) from one segment's device to the next one's.
void Session::move_residual(const Segment& from, const Segment& to, int64_t T) {
    const uint64_t bytes = f32_bytes(T, hp_.n_embd);
    const void* host = from.api->buffer_host_ptr ? from.api->buffer_host_ptr(from.scratch) : nullptr;
    if (host) {
        check_backend(to.api->upload(to.stream, to.scratch, off_x_, static_cast<const uint8_t*>(host) + off_x_, bytes),
                      "moving activations between devices");
        return;
    }
    if (staging_.size() < bytes) staging_.resize(size_t(bytes));
    check_backend(from.api->download(from.stream, from.scratch, off_x_, staging_.data(), bytes),
                  "moving activations between devices");
    check_backend(from.api->synchronize(from.stream), "moving activations between devices");
    check_backend(to.api->upload(to.stream, to.scratch, off_x_, staging_.data(), bytes),
                  "moving activations between devices");
}

// Records the operations of one segment for n_tokens new tokens at positions [pos, pos + T): the embedding when
// it is the first segment, its layers, and the logits of the last n_out tokens when it is the last.
void Session::build_segment(const Segment& seg, bool first, bool last, int64_t T, int64_t n_out, uint64_t ids_bytes) {
    const ModelWeights& W = model_->weights();
    const HParams& hp = hp_;
    const int64_t pos0 = position();
    const r1b_weight* rope_freqs = W.rope_freqs(seg.device_index);

    const r1b_view x = scratch_view(seg, off_x_, T, hp.n_embd);
    const r1b_view h = scratch_view(seg, off_h_, T, hp.n_embd);
    const r1b_view o = scratch_view(seg, off_o_, T, hp.n_embd);
    const r1b_view q = scratch_view(seg, off_q_, T, hp.q_dim());
    const r1b_view k = scratch_view(seg, off_k_, T, hp.kv_dim());
    const r1b_view v = scratch_view(seg, off_v_, T, hp.kv_dim());
    const r1b_view att = scratch_view(seg, off_att_, T, hp.q_dim());
    const r1b_view gate = scratch_view(seg, off_gate_, T, hp.n_ff);
    const r1b_view up = scratch_view(seg, off_up_, T, hp.n_ff);

    ops_.clear();
    auto op = [&](r1b_op_kind kind) -> r1b_op& {
        ops_.emplace_back();
        r1b_op& o2 = ops_.back();
        std::memset(&o2, 0, sizeof o2);
        o2.kind = kind;
        return o2;
    };
    auto rms_norm = [&](const r1b_view& src, const r1b_view& dst, const r1b_weight* w) {
        r1b_op& n = op(R1B_OP_RMS_NORM);
        n.src[0] = src;
        n.dst = dst;
        n.weight = w;
        n.eps = hp.rms_eps;
    };
    auto matmul = [&](const r1b_view& src, const r1b_view& dst, const r1b_weight* w, const r1b_weight* bias) {
        r1b_op& m = op(R1B_OP_MATMUL);
        m.src[0] = src;
        m.dst = dst;
        m.weight = w;
        m.bias = bias;
    };
    auto add = [&](const r1b_view& a, const r1b_view& b, const r1b_view& dst) {
        r1b_op& s = op(R1B_OP_ADD);
        s.src[0] = a;
        s.src[1] = b;
        s.dst = dst;
    };
    auto rope = [&](const r1b_view& t, int64_t n_heads) {
        r1b_op& r = op(R1B_OP_ROPE);
        r.dst = t;
        r.rope.n_heads = int32_t(n_heads);
        r.rope.head_dim = int32_t(hp.head_dim);
        r.rope.n_rot = int32_t(hp.n_rot);
        r.rope.mode = hp.rope_neox ? R1B_ROPE_NEOX : R1B_ROPE_INTERLEAVED;
        r.rope.pos0 = pos0;
        r.rope.freq_base = hp.rope_base;
        r.rope.freq_scale = hp.rope_freq_scale;
        r.rope.freq_factors = rope_freqs;
    };
    // Views of q and k with one head per row, for Qwen3's per-head norms.
    auto per_head = [&](const r1b_view& t, int64_t n_heads) {
        r1b_view r = t;
        r.rows = t.rows * n_heads;
        r.cols = hp.head_dim;
        r.row_stride = uint64_t(hp.head_dim) * sizeof(float);
        return r;
    };

    if (first) {
        // x = embedding rows of the tokens
        r1b_op& e = op(R1B_OP_EMBED);
        r1b_view ids;
        std::memset(&ids, 0, sizeof ids);
        ids.buffer = seg.io;
        ids.type = int32_t(DType::I32);
        ids.rows = T;
        ids.cols = 1;
        ids.row_stride = sizeof(int32_t);
        e.src[0] = ids;
        e.dst = x;
        e.weight = W.token_embd;
    }
    for (int64_t l = seg.l0; l < seg.l1; ++l) {
        const LayerWeights& L = W.layers[size_t(l)];
        // Attention block: x += Wo · attention(rope(Wq·h), rope(Wk·h), Wv·h), h = rms_norm(x)
        rms_norm(x, h, L.attn_norm);
        matmul(h, q, L.wq, L.bq);
        matmul(h, k, L.wk, L.bk);
        matmul(h, v, L.wv, L.bv);
        if (hp.qk_norm) {
            rms_norm(per_head(q, hp.n_heads), per_head(q, hp.n_heads), L.q_norm);
            rms_norm(per_head(k, hp.n_kv_heads), per_head(k, hp.n_kv_heads), L.k_norm);
        }
        rope(q, hp.n_heads);
        rope(k, hp.n_kv_heads);
        {
            r1b_op& ck = op(R1B_OP_COPY);
            ck.src[0] = k;
            ck.dst = kv_view(l, false, pos0, T);
            r1b_op& cv = op(R1B_OP_COPY);
            cv.src[0] = v;
            cv.dst = kv_view(l, true, pos0, T);
        }
        {
            r1b_op& a = op(R1B_OP_ATTENTION);
            a.src[0] = q;
            a.src[1] = kv_view(l, false, 0, pos0 + T);
            a.src[2] = kv_view(l, true, 0, pos0 + T);
            a.dst = att;
            a.attention.n_heads = int32_t(hp.n_heads);
            a.attention.n_kv_heads = int32_t(hp.n_kv_heads);
            a.attention.head_dim = int32_t(hp.head_dim);
            a.attention.pos0 = pos0;
            a.attention.scale = 1.0f / std::sqrt(float(hp.head_dim));
        }
        matmul(att, o, L.wo, nullptr);
        add(x, o, x);
        // Feed-forward block: x += W_down · (silu(W_gate·h) * (W_up·h)), h = rms_norm(x)
        rms_norm(x, h, L.ffn_norm);
        matmul(h, gate, L.w_gate, nullptr);
        matmul(h, up, L.w_up, nullptr);
        {
            r1b_op& s = op(R1B_OP_SILU_MUL);
            s.src[0] = gate;
            s.src[1] = up;
            s.dst = gate;
        }
        matmul(gate, o, L.w_down, nullptr);
        add(x, o, x);
    }
    if (last) {
        // Logits of the last n_out tokens.
        r1b_view x_out = x, h_out = h;
        x_out.offset += uint64_t(T - n_out) * x.row_stride;
        x_out.rows = n_out;
        h_out.rows = n_out;
        rms_norm(x_out, h_out, W.output_norm);
        r1b_view logits;
        std::memset(&logits, 0, sizeof logits);
        logits.buffer = seg.io;
        logits.offset = ids_bytes;
        logits.type = int32_t(DType::F32);
        logits.rows = n_out;
        logits.cols = hp.n_vocab;
        logits.row_stride = uint64_t(hp.n_vocab) * sizeof(float);
        matmul(h_out, logits, W.output, nullptr);
    }
}

// One forward pass over n_tokens new tokens; the logits of the last n_out of them go to logits_out (n_out rows
// of n_vocab floats).
void Session::run_chunk(const int32_t* tokens, int64_t T, int64_t n_out, float* logits_out) {
    // Each segment's io buffer holds the token ids, then (last segment) the logits.
    const uint64_t ids_bytes = (uint64_t(n_batch_) * sizeof(int32_t) + 63) / 64 * 64;
    for (size_t i = 0; i < segments_.size(); ++i) {
        Segment& seg = segments_[i];
        const bool last = i + 1 == segments_.size();
        const uint64_t rows = last ? std::max<uint64_t>(uint64_t(n_out), 1) : 0;
        if (!seg.io || seg.io_logits_rows < rows) {
            if (seg.io) seg.api->buffer_free(seg.device, seg.io);
            seg.io = nullptr;
            check_backend(seg.api->buffer_alloc(seg.device, ids_bytes + f32_bytes(int64_t(rows), hp_.n_vocab),
                                                R1B_BUFFER_IO, &seg.io),
                          "allocating the input/output buffer");
            seg.io_logits_rows = rows;
        }
    }
    for (size_t i = 0; i < segments_.size(); ++i) {
        Segment& seg = segments_[i];
        const bool first = i == 0, last = i + 1 == segments_.size();
        r1_status st = R1_OK;
        if (first) st = seg.api->upload(seg.stream, seg.io, 0, tokens, uint64_t(T) * sizeof(int32_t));
        else move_residual(segments_[i - 1], seg, T);
        if (st == R1_OK) {
            build_segment(seg, first, last, T, n_out, ids_bytes);
            st = seg.api->submit(seg.stream, ops_.data(), ops_.size());
        }
        if (st == R1_OK && last)
            st = seg.api->download(seg.stream, seg.io, ids_bytes, logits_out, f32_bytes(n_out, hp_.n_vocab));
        // Wait here: the next segment reads this one's activations, and the caller reads the logits.
        r1_status sync = seg.api->synchronize(seg.stream);
        if (st == R1_OK) st = sync;
        check_backend(st, "forward pass");
    }
}

void Session::eval(const int32_t* tokens, int64_t n, bool all_logits) {
    if (n <= 0) fail(R1_ERR_INVALID_ARGUMENT, "no tokens to evaluate");
    if (!tokens) fail(R1_ERR_INVALID_ARGUMENT, "tokens is NULL");
    for (int64_t i = 0; i < n; ++i)
        if (tokens[i] < 0 || tokens[i] >= hp_.n_vocab)
            fail(R1_ERR_INVALID_ARGUMENT, "token %lld is %d, outside the vocabulary 0..%lld", (long long)i, tokens[i],
                 (long long)(hp_.n_vocab - 1));
    if (position() + n > n_ctx_)
        fail(R1_ERR_OUT_OF_RANGE, "the context holds %lld tokens; %lld + %lld do not fit", (long long)n_ctx_,
             (long long)position(), (long long)n);
    if (cancel_requested()) fail(R1_ERR_CANCELLED, "cancelled before evaluation");

    logits_rows_ = 0;
    logits_.resize(size_t(all_logits ? n : 1) * size_t(hp_.n_vocab));
    for (int64_t done = 0; done < n;) {
        const int64_t T = std::min(n_batch_, n - done);
        const bool last = done + T == n;
        const int64_t n_out = all_logits ? T : (last ? 1 : 0);
        float* out = logits_.data() + size_t(all_logits ? done : 0) * size_t(hp_.n_vocab);
        // Chunks before the last need no logits; compute one row anyway (it costs one output matmul row set),
        // into a scratch row that the last chunk overwrites.
        run_chunk(tokens + done, T, n_out > 0 ? n_out : 1, out);
        tokens_.insert(tokens_.end(), tokens + done, tokens + done + T);
        done += T;
    }
    logits_rows_ = all_logits ? n : 1;
}

void Session::truncate(int64_t pos) {
    if (pos < 0 || pos > position())
        fail(R1_ERR_OUT_OF_RANGE, "cannot truncate to %lld: the context holds %lld tokens", (long long)pos,
             (long long)position());
    tokens_.resize(size_t(pos));
    logits_rows_ = 0;
}

std::vector<uint8_t> Session::read_kv(int64_t r0, int64_t r1) const {
    std::vector<uint8_t> out;
    const uint64_t row_bytes = kv_row_bytes_;
    out.resize(size_t(hp_.n_layers) * 2 * size_t(r1 - r0) * row_bytes);
    size_t at = 0;
    for (int64_t l = 0; l < hp_.n_layers; ++l)
        for (int kv = 0; kv < 2; ++kv) {
            const Segment& seg = segment_of(l);
            r1b_view v = kv_view(l, kv == 1, r0, r1 - r0);
            check_backend(seg.api->download(seg.stream, seg.kv, v.offset, out.data() + at, uint64_t(r1 - r0) * row_bytes),
                          "reading the KV cache");
            at += size_t(r1 - r0) * row_bytes;
        }
    for (const Segment& seg : segments_) check_backend(seg.api->synchronize(seg.stream), "reading the KV cache");
    return out;
}

void Session::write_kv(int64_t r0, int64_t r1, const std::vector<uint8_t>& bytes) {
    const uint64_t row_bytes = kv_row_bytes_;
    size_t at = 0;
    for (int64_t l = 0; l < hp_.n_layers; ++l)
        for (int kv = 0; kv < 2; ++kv) {
            const Segment& seg = segment_of(l);
            r1b_view v = kv_view(l, kv == 1, r0, r1 - r0);
            check_backend(seg.api->upload(seg.stream, seg.kv, v.offset, bytes.data() + at, uint64_t(r1 - r0) * row_bytes),
                          "writing the KV cache");
            at += size_t(r1 - r0) * row_bytes;
        }
    for (const Segment& seg : segments_) check_backend(seg.api->synchronize(seg.stream), "writing the KV cache");
}

void Session::set_tokens(std::vector<int32_t> tokens, std::vector<float> last_logits) {
    tokens_ = std::move(tokens);
    logits_ = std::move(last_logits);
    logits_rows_ = logits_.empty() ? 0 : 1;
}

}  // namespace r1
