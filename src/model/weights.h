// A model's weights placed on a backend device: one handle per tensor, checked for presence, shape and type.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../backend/backend.h"
#include "../backend/registry.h"
#include "../gguf/gguf.h"
#include "hparams.h"

namespace r1 {

struct LayerWeights {
    const r1b_weight* attn_norm = nullptr;  // [n_embd]
    const r1b_weight* wq = nullptr;         // [q_dim][n_embd]  (rows x cols)
    const r1b_weight* wk = nullptr;         // [kv_dim][n_embd]
    const r1b_weight* wv = nullptr;         // [kv_dim][n_embd]
    const r1b_weight* bq = nullptr;         // [q_dim]   qwen2
    const r1b_weight* bk = nullptr;         // [kv_dim]  qwen2
    const r1b_weight* bv = nullptr;         // [kv_dim]  qwen2
    const r1b_weight* q_norm = nullptr;     // [head_dim] qwen3
    const r1b_weight* k_norm = nullptr;     // [head_dim] qwen3
    const r1b_weight* wo = nullptr;         // [n_embd][q_dim]
    const r1b_weight* ffn_norm = nullptr;   // [n_embd]
    const r1b_weight* w_gate = nullptr;     // [n_ff][n_embd]
    const r1b_weight* w_up = nullptr;       // [n_ff][n_embd]
    const r1b_weight* w_down = nullptr;     // [n_embd][n_ff]
};

// The device a model runs on, opened from a registry entry.
class Device {
public:
    Device(const BackendEntry* entry, int32_t index, const r1b_device_params& params);  // throws
    ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    const r1b_backend_iface& iface() const { return *entry_->iface; }
    r1b_device* handle() const { return device_; }
    const char* backend_name() const { return entry_->iface->name; }
    const r1b_device_info& info() const { return info_; }

private:
    const BackendEntry* entry_;
    r1b_device* device_ = nullptr;
    r1b_device_info info_{};
};

class ModelWeights {
public:
    // Places every tensor the architecture needs on `device`. progress(p) in [0, 1]; false cancels.
    ModelWeights(const gguf::File& file, const HParams& hp, std::shared_ptr<Device> device,
                 const std::function<bool(float)>& progress);
    ~ModelWeights();
    ModelWeights(const ModelWeights&) = delete;
    ModelWeights& operator=(const ModelWeights&) = delete;

    const r1b_weight* token_embd = nullptr;   // [n_vocab][n_embd], row-addressable (EMBED)
    const r1b_weight* output_norm = nullptr;  // [n_embd]
    const r1b_weight* output = nullptr;       // [n_vocab][n_embd] (token_embd's data when tied)
    const r1b_weight* rope_freqs = nullptr;   // [n_rot / 2] or null
    std::vector<LayerWeights> layers;

    const std::shared_ptr<Device>& device() const { return device_; }
    uint64_t device_bytes() const { return device_bytes_; }

private:
    const r1b_weight* place(const gguf::TensorInfo& t, uint32_t flags);

    const gguf::File& file_;
    std::shared_ptr<Device> device_;
    std::vector<r1b_weight*> owned_;
    uint64_t device_bytes_ = 0;
};

}  // namespace r1
