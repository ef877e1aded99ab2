#include "rules.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "../error.h"
#include "../gguf/gguf.h"

namespace r1::quantize {
namespace {

// llama.cpp's LLAMA_FTYPE values of the targets (general.file_type).
enum FileType : int32_t {
    kF32 = 0,
    kF16 = 1,
    kQ4_0 = 2,
    kQ4_1 = 3,
    kQ8_0 = 7,
    kQ5_0 = 8,
    kQ5_1 = 9,
    kQ2_K = 10,
    kQ3_K_S = 11,
    kQ3_K_M = 12,
    kQ3_K_L = 13,
    kQ4_K_S = 14,
    kQ4_K_M = 15,
    kQ5_K_S = 16,
    kQ5_K_M = 17,
    kQ6_K = 18,
    kIQ4_NL = 25,
    kIQ4_XS = 30,
    kBF16 = 32,
};

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

bool contains(std::string_view s, const char* part) { return s.find(part) != std::string_view::npos; }

bool ends_with(std::string_view s, std::string_view end) {
    return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

// The layer number of "blk.N...." names, as sscanf(name, "blk.%d.", &layer) reads it; -1 for other names.
int64_t block_number(std::string_view name) {
    if (name.compare(0, 4, "blk.") != 0) return -1;
    size_t i = 4;
    while (i < name.size() && std::isspace(static_cast<unsigned char>(name[i]))) ++i;
    bool negative = false;
    if (i < name.size() && (name[i] == '+' || name[i] == '-')) negative = name[i++] == '-';
    if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
    int64_t v = 0;
    for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i)
        v = std::min<int64_t>(v * 10 + (name[i] - '0'), int64_t(1) << 40);
    return negative ? -v : v;
}

// Half of the layers get more bits in the _M mixes: the first and last eighth and every third one between.
bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

int64_t block_elements(DType t) { return int64_t(traits(t).block_elements); }

int64_t meta_int(const gguf::File& f, const std::string& key, int64_t fallback) {
    const gguf::Value* v = f.find(key);
    if (!v) return fallback;
    if (gguf::is_integer(v->type)) return v->num.i64;
    // Per-layer arrays (some architectures): the first layer's value, as hparams.n_head() reads it.
    if (v->type == gguf::ValueType::ARRAY && gguf::is_integer(v->elem_type) && v->count > 0) return v->int_at(0);
    fail(R1_ERR_FORMAT, "metadata key '%s' has type %s, not an integer", key.c_str(), gguf::value_type_name(v->type));
}

}  // namespace

const std::vector<Target>& targets() {
    static const std::vector<Target> kTargets = {
        {"Q4_0", kQ4_0, DType::Q4_0, "4.5 bits per weight: blocks of 32 with one scale (output Q6_K)"},
        {"Q4_1", kQ4_1, DType::Q4_1, "5.0 bpw: blocks of 32 with a scale and a minimum (output Q6_K)"},
        {"Q5_0", kQ5_0, DType::Q5_0, "5.5 bpw: 5-bit blocks of 32 with one scale (output Q6_K)"},
        {"Q5_1", kQ5_1, DType::Q5_1, "6.0 bpw: 5-bit blocks of 32 with a scale and a minimum (output Q6_K)"},
        {"IQ4_NL", kIQ4_NL, DType::IQ4_NL, "4.5 bpw: non-linear 4-bit levels in blocks of 32 (output Q6_K)"},
        {"IQ4_XS", kIQ4_XS, DType::IQ4_XS, "4.25 bpw: non-linear 4-bit levels in super-blocks of 256 (output Q6_K)"},
        {"Q2_K", kQ2_K, DType::Q2_K, "Q2_K, with Q3_K attn_v/attn_output/ffn_down (Q4_K attn_v with GQA >= 4)"},
        {"Q3_K_S", kQ3_K_S, DType::Q3_K, "Q3_K throughout (output Q6_K)"},
        {"Q3_K_M", kQ3_K_M, DType::Q3_K, "Q3_K, with Q4_K attn_output/ffn_down and Q4_K/Q5_K attn_v"},
        {"Q3_K_L", kQ3_K_L, DType::Q3_K, "Q3_K, with Q5_K attn_v/attn_output/ffn_down"},
        {"Q4_K_S", kQ4_K_S, DType::Q4_K, "Q4_K, with Q5_K for the first attn_v and ffn_down layers"},
        {"Q4_K_M", kQ4_K_M, DType::Q4_K, "Q4_K, with Q6_K for half of attn_v and ffn_down (the usual choice)"},
        {"Q5_K_S", kQ5_K_S, DType::Q5_K, "Q5_K throughout (output Q6_K)"},
        {"Q5_K_M", kQ5_K_M, DType::Q5_K, "Q5_K, with Q6_K for half of attn_v and ffn_down"},
        {"Q6_K", kQ6_K, DType::Q6_K, "6.56 bpw: Q6_K throughout"},
        {"Q8_0", kQ8_0, DType::Q8_0, "8.5 bpw: Q8_0 throughout, output included; nearly lossless"},
        {"F16", kF16, DType::F16, "16-bit floats"},
        {"BF16", kBF16, DType::BF16, "bfloat16"},
        {"F32", kF32, DType::F32, "32-bit floats"},
    };
    return kTargets;
}

const Target* find_target(std::string_view name) {
    static const std::pair<const char*, const char*> kAliases[] = {
        {"Q3_K", "Q3_K_M"}, {"Q4_K", "Q4_K_M"}, {"Q5_K", "Q5_K_M"}};
    for (const auto& a : kAliases)
        if (iequals(name, a.first)) name = a.second;
    for (const Target& t : targets())
        if (iequals(name, t.name)) return &t;
    return nullptr;
}

bool is_known_unsupported_target(std::string_view name) {
    static const char* const kNames[] = {"IQ1_S",  "IQ1_M",  "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M",
                                         "IQ3_XXS", "IQ3_XS", "IQ3_S",  "IQ3_M",  "Q2_K_S", "TQ1_0",
                                         "TQ2_0",  "MXFP4_MOE", "COPY"};
    for (const char* n : kNames)
        if (iequals(name, n)) return true;
    return false;
}

bool ModelShape::is_70b() const {
    if (n_layers != 80) return false;
    return arch == "qwen2" || (arch == "llama" && n_heads != n_kv_heads);
}

ModelShape model_shape(const gguf::File& file) {
    ModelShape s;
    s.arch = std::string(file.get_string("general.architecture"));
    const std::string a = s.arch + ".";
    s.n_layers = meta_int(file, a + "block_count", -1);
    if (s.n_layers < 0) {
        s.n_layers = 0;
        for (const gguf::TensorInfo& t : file.tensors()) s.n_layers = std::max(s.n_layers, block_number(t.name) + 1);
    }
    s.n_heads = meta_int(file, a + "attention.head_count", 0);
    s.n_kv_heads = meta_int(file, a + "attention.head_count_kv", s.n_heads);
    s.n_experts = meta_int(file, a + "expert_count", 0);
    return s;
}

int effective_dims(const int64_t ne[4]) {
    for (int i = 3; i >= 1; --i)
        if (ne[i] > 1) return i + 1;
    return 1;
}

bool is_quantizable(const TensorDesc& t) {
    const int dims = effective_dims(t.ne);
    if (dims < 2 || dims > 3) return false;
    const std::string_view n = t.name;
    if (!ends_with(n, "weight")) return false;
    if (contains(n, "_norm.weight")) return false;
    // MoE routers, small special tensors of other architectures, learned position/type embeddings.
    static const char* const kKept[] = {
        "ffn_gate_inp.weight", "altup", "laurel", "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight",
        "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
        "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
        "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
        "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight",
    };
    for (const char* k : kKept)
        if (contains(n, k)) return false;
    return n != "position_embd.weight" && n != "token_types.weight";
}

bool reference_less(std::string_view a, std::string_view b) {
    const int64_t la = block_number(a), lb = block_number(b);
    if (la != lb) return la < lb;
    return a < b;
}

TypeRules::TypeRules(const Target& target, const ModelShape& shape, const std::vector<std::string>& tensor_names)
    : target_(target), shape_(shape) {
    for (const std::string& n : tensor_names) {
        if (contains(n, "attn_v.weight") || contains(n, "attn_qkv.weight") || contains(n, "attn_kv_b.weight"))
            ++n_attn_v_;
        else if (n == "output.weight")
            has_output_ = true;
    }
}

DType TypeRules::mix_type(const TensorDesc& t, int index) const {
    const std::string_view name = t.name;
    const int32_t ft = target_.file_type;
    const bool falcon = shape_.arch == "falcon";
    const int64_t gqa = shape_.n_gqa();
    DType type = target_.base;

    if (name == "output.weight" || (!has_output_ && name == "token_embd.weight")) {
        // The output projection (or the token embedding that doubles as it) keeps more bits.
        if (falcon || t.ne[0] % block_elements(type) != 0) type = DType::Q8_0;
        else if (type != DType::Q8_0) type = DType::Q6_K;
    } else if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") {
        // The targets r1 writes keep the base type (only the IQ1/IQ2/IQ3 mixes change it).
    } else if (contains(name, "attn_v.weight")) {
        if (ft == kQ2_K) type = gqa >= 4 ? DType::Q4_K : DType::Q3_K;
        else if (ft == kQ3_K_M) type = index < 2 ? DType::Q5_K : DType::Q4_K;
        else if (ft == kQ3_K_L) type = DType::Q5_K;
        else if ((ft == kIQ4_NL || ft == kIQ4_XS) && gqa >= 4) type = DType::Q5_K;
        else if ((ft == kQ4_K_M || ft == kQ5_K_M) && use_more_bits(index, n_attn_v_)) type = DType::Q6_K;
        else if (ft == kQ4_K_S && index < 4) type = DType::Q5_K;
        // 70B models share each attn_v among 8 query heads: the tensor is small, more bits cost little.
        if (shape_.is_70b() && (type == DType::Q3_K || type == DType::Q4_K)) type = DType::Q5_K;
        if (shape_.n_experts == 8) type = DType::Q8_0;
    } else if (contains(name, "attn_k.weight")) {
        if (shape_.n_experts == 8) type = DType::Q8_0;
    } else if (contains(name, "attn_q.weight")) {
        // unchanged for these targets
    } else if (contains(name, "ffn_down")) {
        int64_t layer = index;
        const int64_t n = shape_.n_layers;
        if (shape_.n_experts > 1) {
            // Expert tensors are not in layer order in every file: take the layer from the name.
            layer = block_number(name);
            if (layer < 0 || layer >= n)
                fail(R1_ERR_FORMAT, "tensor '%s': cannot tell its layer (the model has %lld)", t.name.c_str(),
                     (long long)n);
        }
        if (ft == kQ2_K) type = DType::Q3_K;
        else if (ft == kQ3_K_M)
            type = layer < n / 16 ? DType::Q5_K : (!falcon || use_more_bits(layer, n)) ? DType::Q4_K : DType::Q3_K;
        else if (ft == kQ3_K_L) type = falcon ? DType::Q4_K : DType::Q5_K;
        else if (ft == kQ4_K_M) {
            if (falcon) type = layer < n / 16 ? DType::Q6_K : use_more_bits(layer, n) ? DType::Q5_K : DType::Q4_K;
            else if (use_more_bits(layer, n)) type = DType::Q6_K;
        } else if (layer < n / 8 && (ft == kIQ4_NL || ft == kIQ4_XS)) type = DType::Q5_K;
        else if (ft == kQ5_K_M && use_more_bits(layer, n)) type = DType::Q6_K;
        else if (ft == kQ4_K_S && !falcon && layer < n / 8) type = DType::Q5_K;
    } else if (contains(name, "attn_output.weight")) {
        if (!falcon) {
            if (shape_.n_experts == 8) {
                if (ft == kQ2_K || ft == kQ3_K_S || ft == kQ3_K_M || ft == kIQ4_NL || ft == kQ4_K_S ||
                    ft == kQ4_K_M || ft == kIQ4_XS)
                    type = DType::Q5_K;
            } else {
                if (ft == kQ2_K) type = DType::Q3_K;
                else if (ft == kQ3_K_M) type = DType::Q4_K;
                else if (ft == kQ3_K_L) type = DType::Q5_K;
            }
        } else if (ft == kQ3_K_L) {
            type = DType::Q4_K;
        }
    } else if (contains(name, "attn_qkv.weight")) {
        if (ft == kQ3_K_M || ft == kQ3_K_L) type = DType::Q4_K;
        else if (ft == kQ4_K_M) type = DType::Q5_K;
        else if (ft == kQ5_K_M) type = DType::Q6_K;
    }
    // ffn_gate / ffn_up change only in the IQ3_XS mix, which r1 does not write.
    return type;
}

Choice TypeRules::choose(const TensorDesc& t, int index) const {
    Choice c;
    c.quantizable = is_quantizable(t);
    if (!c.quantizable) {
        c.type = c.wanted = t.type;
        return c;
    }
    if (!traits(target_.base).quantized) {
        c.type = c.wanted = target_.base;
        return c;
    }
    DType type = mix_type(t, index);
    c.wanted = type;
    if (t.ne[0] % block_elements(type) != 0) {
        // Rows that do not fill the type's blocks: the reference's fallback for each type, then F16.
        c.fallback = true;
        switch (type) {
            case DType::Q2_K:
            case DType::Q3_K:
            case DType::IQ4_XS: type = DType::IQ4_NL; break;
            case DType::Q4_K: type = DType::Q5_0; break;
            case DType::Q5_K: type = DType::Q5_1; break;
            case DType::Q6_K: type = DType::Q8_0; break;
            default:
                fail(R1_ERR_UNSUPPORTED,
                     "tensor '%s': rows of %lld values are not a multiple of the %s block of %lld, and %s has no "
                     "fallback type (as in llama-quantize)",
                     t.name.c_str(), (long long)t.ne[0], traits(type).name, (long long)block_elements(type),
                     target_.name);
        }
        if (t.ne[0] % block_elements(type) != 0) type = DType::F16;
    }
    c.type = type;
    return c;
}

Choice TypeRules::next(const TensorDesc& t) {
    int* counter = nullptr;
    const std::string_view n = t.name;
    // The counters advance only for tensors the mix rules see, in the branches that count them.
    if (traits(target_.base).quantized && is_quantizable(t) && n != "output.weight" &&
        !(n == "token_embd.weight" || n == "per_layer_token_embd.weight")) {
        if (contains(n, "attn_v.weight")) counter = &i_attn_v_;
        else if (contains(n, "attn_k.weight") || contains(n, "attn_q.weight")) counter = nullptr;
        else if (contains(n, "ffn_down")) counter = &i_ffn_down_;
        else if (contains(n, "attn_output.weight") || contains(n, "attn_qkv.weight")) counter = nullptr;
        else if (contains(n, "ffn_gate")) counter = &i_ffn_gate_;
        else if (contains(n, "ffn_up")) counter = &i_ffn_up_;
    }
    Choice c = choose(t, counter ? *counter : 0);
    if (counter) ++*counter;
    return c;
}

std::vector<Choice> choose_types(const Target& target, const ModelShape& shape,
                                 const std::vector<TensorDesc>& tensors) {
    std::vector<std::string> names;
    std::vector<size_t> order(tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        names.push_back(tensors[i].name);
        order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return reference_less(tensors[a].name, tensors[b].name); });
    TypeRules rules(target, shape, names);
    std::vector<Choice> out(tensors.size());
    for (size_t i : order) out[i] = rules.next(tensors[i]);
    return out;
}

}  // namespace r1::quantize
