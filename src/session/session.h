// A session: one conversation's state on a model — token history, KV cache, the buffers of the forward pass —
// and evaluation of tokens. Used by one thread at a time; cancel() is the one call safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "../dtype.h"
#include "../model/model.h"

namespace r1 {

class Device;

struct SessionOptions {
    int64_t n_ctx = 0;       // 0: the model's training context, capped at 4096
    int64_t n_batch = 0;     // tokens per forward pass when processing a prompt; 0: 512
    int n_threads = 0;       // CPU worker threads; 0: physical cores
    DType kv_type = DType::F16;
};

class Session {
public:
    Session(std::shared_ptr<const Model> model, const SessionOptions& options);  // throws r1::Error
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    const Model& model() const { return *model_; }
    int64_t n_ctx() const { return n_ctx_; }
    int64_t n_batch() const { return n_batch_; }
    int n_threads() const { return n_threads_; }
    DType kv_type() const { return kv_type_; }
    int64_t position() const { return int64_t(tokens_.size()); }
    const std::vector<int32_t>& tokens() const { return tokens_; }

    // Appends tokens to the context and runs the model over them (in chunks of n_batch). Afterwards logits()
    // holds the last token's logits, or every new token's when all_logits. Throws r1::Error:
    // R1_ERR_INVALID_ARGUMENT (bad token id), R1_ERR_OUT_OF_RANGE (context full), R1_ERR_CANCELLED (the tokens
    // of completed chunks stay in the context; the rest are dropped).
    void eval(const int32_t* tokens, int64_t n, bool all_logits);

    // Logits of the last eval: rows() rows of n_vocab floats (row i = after token i of that call when all_logits,
    // else the single row after the last token).
    const float* logits() const { return logits_.data(); }
    int64_t logits_rows() const { return logits_rows_; }
    int64_t n_vocab() const { return hp_.n_vocab; }

    // Forgets everything after the first `pos` tokens (the KV cache beyond them becomes unused).
    void truncate(int64_t pos);
    void reset() { truncate(0); }

    // Requests that the current (or next) eval or generation stop at the next operation boundary. Any thread.
    // The request stays until an operation observes it (and throws R1_ERR_CANCELLED) and clear_cancel() is
    // called.
    void cancel() { __atomic_store_n(&cancel_flag_, 1, __ATOMIC_SEQ_CST); }
    bool cancel_requested() const { return __atomic_load_n(&cancel_flag_, __ATOMIC_SEQ_CST) != 0; }
    void clear_cancel() { __atomic_store_n(&cancel_flag_, 0, __ATOMIC_SEQ_CST); }

    // Reads a row range of the KV cache of one layer (for state save/load): K then V, rows [r0, r1).
    std::vector<uint8_t> read_kv(int64_t r0, int64_t r1) const;
    void write_kv(int64_t r0, int64_t r1, const std::vector<uint8_t>& bytes);
    // Restores the token history (after write_kv) without evaluating.
    void set_tokens(std::vector<int32_t> tokens, std::vector<float> last_logits);

    uint64_t kv_row_bytes() const { return kv_row_bytes_; }

private:
    // The layers that run on one device, with that device's stream, activations and KV cache. A model split
    // across two devices (partial offload) has two segments; the residual stream crosses between them.
    struct Segment {
        const r1b_backend_iface* api = nullptr;
        r1b_device* device = nullptr;
        size_t device_index = 0;   // into the model's placement
        int64_t l0 = 0, l1 = 0;    // layers [l0, l1)
        r1b_stream* stream = nullptr;
        r1b_buffer* scratch = nullptr;
        r1b_buffer* kv = nullptr;
        r1b_buffer* io = nullptr;  // token ids (first segment), logits (last segment)
        uint64_t io_logits_rows = 0;
    };

    void run_chunk(const int32_t* tokens, int64_t n_tokens, int64_t n_out, float* logits_out);
    void build_segment(const Segment& seg, bool first, bool last, int64_t T, int64_t n_out, uint64_t ids_bytes);
    void move_residual(const Segment& from, const Segment& to, int64_t T);
    r1b_view scratch_view(const Segment& seg, uint64_t offset, int64_t rows, int64_t cols) const;
    r1b_view kv_view(int64_t layer, bool value, int64_t row0, int64_t rows) const;
    const Segment& segment_of(int64_t layer) const;
    void release();

    std::shared_ptr<const Model> model_;
    const HParams& hp_;
    int64_t n_ctx_;
    int64_t n_batch_;
    int n_threads_;
    DType kv_type_;
    uint64_t kv_row_bytes_;
    std::vector<Segment> segments_;
    std::vector<uint8_t> staging_;  // the residual stream on its way between devices without host memory

    // Offsets of the activations in each segment's scratch buffer (each [n_batch][cols] F32).
    uint64_t off_x_ = 0, off_h_ = 0, off_o_ = 0, off_q_ = 0, off_k_ = 0, off_v_ = 0, off_att_ = 0, off_gate_ = 0,
             off_up_ = 0, scratch_bytes_ = 0;

    std::vector<int32_t> tokens_;
    std::vector<float> logits_;
    int64_t logits_rows_ = 0;
    std::vector<r1b_op> ops_;  // reused between chunks (no allocation per token)
    volatile int32_t cancel_flag_ = 0;
};

}  // namespace r1
