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

// Where each part of a model runs. `devices[0]` serves the layers before `first_offloaded_layer` (and the token
// embedding); `devices[1]` (when present) serves the layers from there on and the output. With one device, everything
// is on it. This is the reference runtime's partial offload: the last n_gpu_layers layers on the accelerator.
struct Placement {
    std::vector<std::shared_ptr<Device>> devices;  // 1 or 2
    int64_t first_offloaded_layer = 0;              // with 2 devices: layers [this, n_layers) on devices[1]
};

class ModelWeights {
public:
    // Places every tensor the architecture needs. progress(p) in [0, 1]; false cancels.
    // Gives back the file's memory under every tensor that no backend reads in place (gguf::File::release_tensor_data).
    ModelWeights(gguf::File& file, const HParams& hp, Placement placement,
                 const std::function<bool(float)>& progress);
    ~ModelWeights();
    ModelWeights(const ModelWeights&) = delete;
    ModelWeights& operator=(const ModelWeights&) = delete;

    const r1b_weight* token_embd = nullptr;   // [n_vocab][n_embd], row-addressable (EMBED), on the first layer's device
    const r1b_weight* output_norm = nullptr;  // [n_embd], on the last layer's device
    const r1b_weight* output = nullptr;       // [n_vocab][n_embd] (token_embd's data when tied)
    std::vector<LayerWeights> layers;
    // rope_freqs ([n_rot / 2] or null) exists once per device, since every layer's rope reads it.
    const r1b_weight* rope_freqs(size_t device_index) const {
        return device_index < rope_freqs_.size() ? rope_freqs_[device_index] : nullptr;
    }

    const Placement& placement() const { return placement_; }
    // Index into placement().devices of the device that runs layer l.
    size_t layer_device(int64_t l) const {
        return placement_.devices.size() > 1 && l >= placement_.first_offloaded_layer ? 1 : 0;
    }
    size_t output_device() const { return placement_.devices.size() - 1; }
    uint64_t device_bytes(size_t device_index) const {
        return device_index < bytes_.size() ? bytes_[device_index] : 0;
    }
    // Bytes of the file's tensor data given back to the system after placement.
    uint64_t released_bytes() const { return released_; }

private:
    const r1b_weight* place(const gguf::TensorInfo& t, uint32_t flags, size_t device_index);

    const gguf::File& file_;
    Placement placement_;
    std::vector<const r1b_weight*> rope_freqs_;
    std::vector<std::pair<size_t, r1b_weight*>> owned_;  // (device index, weight)
    std::vector<uint64_t> bytes_;
    uint64_t released_ = 0;
};

}  // namespace r1
