#include "weights.h"

#include <cstring>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "../error.h"

namespace r1 {

Device::Device(const BackendEntry* entry, int32_t index, const r1b_device_params& params) : entry_(entry) {
    if (!entry->ctx)
        fail(entry->init_status, "backend '%s' is not available: %s", entry->iface->name, entry->init_message.c_str());
    int32_t n = entry->iface->device_count(entry->ctx);
    if (index < 0 || index >= n)
        fail(R1_ERR_OUT_OF_RANGE, "backend '%s' has %d device(s); device %d does not exist", entry->iface->name, n, index);
    check_backend(entry->iface->device_info(entry->ctx, index, &info_), "device info");
    check_backend(entry->iface->device_open(entry->ctx, index, &params, &device_), "opening the device");
}

Device::~Device() {
    if (device_) entry_->iface->device_close(device_);
}

ModelWeights::ModelWeights(gguf::File& file, const HParams& hp, Placement placement,
                           const std::function<bool(float)>& progress)
    : file_(file), placement_(std::move(placement)) {
    if (placement_.devices.empty() || placement_.devices.size() > 2)
        fail(R1_ERR_INTERNAL, "a model runs on one or two devices");
    if (placement_.devices.size() == 1) placement_.first_offloaded_layer = 0;
    bytes_.assign(placement_.devices.size(), 0);
    rope_freqs_.assign(placement_.devices.size(), nullptr);
    const size_t first = layer_device(0), last = output_device();

    // Every expected tensor with its shape (ne0 = row length, ne1 = rows) and the device it goes to; matrices
    // need a matmul kernel there.
    struct Want {
        const r1b_weight** slot;
        std::string name;
        int64_t ne0, ne1;
        uint32_t flags;
        size_t device;
    };
    std::vector<Want> wants;
    auto want = [&](const r1b_weight** slot, std::string name, int64_t ne0, int64_t ne1, size_t device,
                    uint32_t flags = 0) { wants.push_back({slot, std::move(name), ne0, ne1, flags, device}); };

    want(&token_embd, "token_embd.weight", hp.n_embd, hp.n_vocab, first, R1B_WEIGHT_ROWS);
    want(&output_norm, "output_norm.weight", hp.n_embd, 1, last);
    // Tied models multiply by token_embd's data; the output device gets its own (possibly repacked) copy.
    want(&output, hp.tied_output ? "token_embd.weight" : "output.weight", hp.n_embd, hp.n_vocab, last);
    if (hp.rope_freqs)
        for (size_t d = 0; d < placement_.devices.size(); ++d) want(&rope_freqs_[d], "rope_freqs.weight", hp.n_rot / 2, 1, d);
    layers.resize(size_t(hp.n_layers));
    for (int64_t i = 0; i < hp.n_layers; ++i) {
        LayerWeights& l = layers[size_t(i)];
        const std::string b = "blk." + std::to_string(i) + ".";
        const size_t d = layer_device(i);
        want(&l.attn_norm, b + "attn_norm.weight", hp.n_embd, 1, d);
        want(&l.wq, b + "attn_q.weight", hp.n_embd, hp.q_dim(), d);
        want(&l.wk, b + "attn_k.weight", hp.n_embd, hp.kv_dim(), d);
        want(&l.wv, b + "attn_v.weight", hp.n_embd, hp.kv_dim(), d);
        if (hp.qkv_bias) {
            want(&l.bq, b + "attn_q.bias", hp.q_dim(), 1, d);
            want(&l.bk, b + "attn_k.bias", hp.kv_dim(), 1, d);
            want(&l.bv, b + "attn_v.bias", hp.kv_dim(), 1, d);
        }
        if (hp.qk_norm) {
            want(&l.q_norm, b + "attn_q_norm.weight", hp.head_dim, 1, d);
            want(&l.k_norm, b + "attn_k_norm.weight", hp.head_dim, 1, d);
        }
        want(&l.wo, b + "attn_output.weight", hp.q_dim(), hp.n_embd, d);
        want(&l.ffn_norm, b + "ffn_norm.weight", hp.n_embd, 1, d);
        want(&l.w_gate, b + "ffn_gate.weight", hp.n_embd, hp.n_ff, d);
        want(&l.w_up, b + "ffn_up.weight", hp.n_embd, hp.n_ff, d);
        want(&l.w_down, b + "ffn_down.weight", hp.n_ff, hp.n_embd, d);
    }

    // Check everything before placing anything, so that a bad file fails fast and names its first bad tensor.
    for (const Want& w : wants) {
        const gguf::TensorInfo* t = file.find_tensor(w.name);
        if (!t) fail(R1_ERR_FORMAT, "tensor '%s' is missing", w.name.c_str());
        const int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
        const bool vector = w.ne1 == 1;
        if (t->ne[0] != w.ne0 || rows != w.ne1 || (vector && t->n_dims != 1))
            fail(R1_ERR_FORMAT, "tensor '%s' has shape [%lld, %lld], expected [%lld, %lld]", w.name.c_str(),
                 (long long)t->ne[0], (long long)rows, (long long)w.ne0, (long long)w.ne1);
        if (vector && t->type != DType::F32)
            fail(R1_ERR_UNSUPPORTED, "tensor '%s' has type %s; vectors must be f32", w.name.c_str(),
                 dtype_name(uint32_t(t->type)));
        const Device& dev = *placement_.devices[w.device];
        r1b_op_kind kind = (w.flags & R1B_WEIGHT_ROWS) ? R1B_OP_EMBED : R1B_OP_MATMUL;
        if (!vector && !dev.iface().supports(dev.handle(), kind, int32_t(t->type)))
            fail(R1_ERR_UNSUPPORTED, "tensor '%s' has type %s, which the %s backend cannot use%s", w.name.c_str(),
                 dtype_name(uint32_t(t->type)), dev.backend_name(),
                 hp.tied_output && w.slot == &output ? " (as the tied output projection)" : "");
    }

    // A tensor whose every placement copied or repacked it has its file bytes given back at once, so that the
    // loaded model holds its weights once, not twice (the data read in, or the mapped pages, plus the copies).
    std::unordered_map<std::string_view, int> placements_left;
    for (const Want& w : wants) placements_left[w.name]++;
    std::unordered_set<std::string_view> still_read;
    try {
        size_t done = 0;
        for (const Want& w : wants) {
            const gguf::TensorInfo& t = *file.find_tensor(w.name);
            *w.slot = place(t, w.flags, w.device);
            const r1b_backend_iface& api = placement_.devices[w.device]->iface();
            if (!r1b_iface_has(&api, weight_uses_source) || api.weight_uses_source(*w.slot)) still_read.insert(w.name);
            if (--placements_left[w.name] == 0 && !still_read.count(w.name)) released_ += file.release_tensor_data(t);
            if (progress && !progress(float(++done) / float(wants.size())))
                fail(R1_ERR_CANCELLED, "loading was cancelled by the progress callback");
        }
    } catch (...) {
        for (auto& [d, w] : owned_) placement_.devices[d]->iface().weight_free(placement_.devices[d]->handle(), w);
        owned_.clear();
        throw;
    }
}

const r1b_weight* ModelWeights::place(const gguf::TensorInfo& t, uint32_t flags, size_t device_index) {
    const Device& dev = *placement_.devices[device_index];
    const r1b_backend_iface& api = dev.iface();
    r1b_weight* w = nullptr;
    // The File keeps its data (mapped, owned, or the caller's memory) alive as long as the model lives.
    const int64_t rows = t.ne[1] * t.ne[2] * t.ne[3];
    check_backend(api.weight_create(dev.handle(), int32_t(t.type), rows, t.ne[0], file_.tensor_data(t),
                                    flags | R1B_WEIGHT_DATA_OUTLIVES, &w),
                  ("placing tensor '" + std::string(t.name) + "'").c_str());
    owned_.emplace_back(device_index, w);
    bytes_[device_index] += api.weight_size ? api.weight_size(w) : t.size;
    return w;
}

ModelWeights::~ModelWeights() {
    for (auto& [d, w] : owned_) placement_.devices[d]->iface().weight_free(placement_.devices[d]->handle(), w);
}

}  // namespace r1
