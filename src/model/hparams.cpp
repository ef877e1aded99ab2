#include "hparams.h"

#include <cmath>

#include "../error.h"

namespace r1 {

const char* arch_name(Arch arch) {
    switch (arch) {
        case Arch::Qwen2: return "qwen2";
        case Arch::Llama: return "llama";
        case Arch::Qwen3: return "qwen3";
    }
    return "unknown";
}

namespace {

int64_t required_int(const gguf::File& f, const std::string& key, int64_t min, int64_t max) {
    if (!f.has(key)) fail(R1_ERR_FORMAT, "missing hyperparameter '%s'", key.c_str());
    int64_t v = f.get_int(key, 0);
    if (v < min || v > max)
        fail(R1_ERR_FORMAT, "hyperparameter '%s' is %lld, outside %lld..%lld", key.c_str(), (long long)v,
             (long long)min, (long long)max);
    return v;
}

int64_t optional_int(const gguf::File& f, const std::string& key, int64_t fallback, int64_t min, int64_t max) {
    return f.has(key) ? required_int(f, key, min, max) : fallback;
}

float optional_float(const gguf::File& f, const std::string& key, float fallback, float min, float max) {
    if (!f.has(key)) return fallback;
    double v = f.get_float(key, fallback);
    if (!(v >= min && v <= max))
        fail(R1_ERR_FORMAT, "hyperparameter '%s' is %g, outside %g..%g", key.c_str(), v, double(min), double(max));
    return float(v);
}

}  // namespace

HParams read_hparams(const gguf::File& f) {
    HParams h;
    std::string arch(f.get_string("general.architecture"));
    if (arch == "qwen2") h.arch = Arch::Qwen2;
    else if (arch == "llama") h.arch = Arch::Llama;
    else if (arch == "qwen3") h.arch = Arch::Qwen3;
    else if (arch.empty()) fail(R1_ERR_FORMAT, "the file has no general.architecture");
    else fail(R1_ERR_UNSUPPORTED, "architecture '%s' is not supported (qwen2, llama and qwen3 are)", arch.c_str());

    const std::string p = arch + ".";
    constexpr int64_t kBig = int64_t(1) << 24;
    h.n_layers = required_int(f, p + "block_count", 1, 4096);
    h.n_embd = required_int(f, p + "embedding_length", 1, kBig);
    h.n_ff = required_int(f, p + "feed_forward_length", 1, kBig);
    h.n_heads = required_int(f, p + "attention.head_count", 1, 4096);
    h.n_kv_heads = optional_int(f, p + "attention.head_count_kv", h.n_heads, 1, h.n_heads);
    if (h.n_heads % h.n_kv_heads != 0)
        fail(R1_ERR_FORMAT, "%lld attention heads are not a multiple of %lld key/value heads", (long long)h.n_heads,
             (long long)h.n_kv_heads);
    h.n_ctx_train = optional_int(f, p + "context_length", 4096, 1, int64_t(1) << 32);
    int64_t default_head = h.n_embd % h.n_heads == 0 ? h.n_embd / h.n_heads : 0;
    h.head_dim = optional_int(f, p + "attention.key_length", default_head, 0, 65536);
    int64_t value_length = optional_int(f, p + "attention.value_length", h.head_dim, 0, 65536);
    if (h.head_dim <= 0 || h.head_dim % 2 != 0)
        fail(R1_ERR_FORMAT, "head dimension %lld is not a positive even number", (long long)h.head_dim);
    if (value_length != h.head_dim)
        fail(R1_ERR_UNSUPPORTED, "key length %lld differs from value length %lld", (long long)h.head_dim,
             (long long)value_length);
    h.n_rot = optional_int(f, p + "rope.dimension_count", h.head_dim, 2, h.head_dim);
    if (h.n_rot % 2 != 0) fail(R1_ERR_FORMAT, "rope.dimension_count %lld is odd", (long long)h.n_rot);
    h.rms_eps = optional_float(f, p + "attention.layer_norm_rms_epsilon", 1e-6f, 0.0f, 1.0f);
    h.rope_base = optional_float(f, p + "rope.freq_base", h.arch == Arch::Llama ? 10000.0f : 10000.0f, 1.0f, 1e12f);

    std::string scaling(f.get_string(p + "rope.scaling.type", "none"));
    float factor = optional_float(f, p + "rope.scaling.factor", 0.0f, 0.0f, 1e6f);
    if (scaling == "linear" && factor > 0.0f) h.rope_freq_scale = 1.0f / factor;
    else if (f.has(p + "rope.scale_linear")) h.rope_freq_scale = 1.0f / optional_float(f, p + "rope.scale_linear", 1.0f, 1e-6f, 1e6f);
    else if (scaling != "none" && scaling != "linear" && scaling != "llama3" && !scaling.empty())
        fail(R1_ERR_UNSUPPORTED, "rope scaling '%s' is not supported", scaling.c_str());

    h.rope_neox = h.arch != Arch::Llama;
    h.qkv_bias = h.arch == Arch::Qwen2;
    h.qk_norm = h.arch == Arch::Qwen3;
    h.tied_output = f.find_tensor("output.weight") == nullptr;
    h.rope_freqs = f.find_tensor("rope_freqs.weight") != nullptr;

    const gguf::TensorInfo* embd = f.find_tensor("token_embd.weight");
    if (!embd) fail(R1_ERR_FORMAT, "tensor 'token_embd.weight' is missing");
    h.n_vocab = embd->ne[1];
    if (const gguf::Value* tokens = f.find("tokenizer.ggml.tokens"))
        if (tokens->type == gguf::ValueType::ARRAY && int64_t(tokens->count) != h.n_vocab)
            fail(R1_ERR_FORMAT, "the vocabulary has %llu tokens but token_embd.weight has %lld rows",
                 (unsigned long long)tokens->count, (long long)h.n_vocab);
    return h;
}

}  // namespace r1
