#include "convert.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "../../backends/cpu/quants/quants.h"
#include "../../src/error.h"
#include "../../src/gguf/writer.h"
#include "hf_vocab.h"
#include "safetensors.h"

namespace r1::convert {

using nlohmann::json;

namespace {

struct Arch {
    const char* hf_name;
    const char* gguf_name;
};
constexpr Arch kArchs[] = {
    {"Qwen2ForCausalLM", "qwen2"},
    {"LlamaForCausalLM", "llama"},
    {"Qwen3ForCausalLM", "qwen3"},
};

struct OutType {
    const char* name;
    DType type;
    uint32_t file_type;  // llama.cpp's LLAMA_FTYPE
};
constexpr OutType kOutTypes[] = {
    {"f32", DType::F32, 0},
    {"f16", DType::F16, 1},
    {"bf16", DType::BF16, 32},
    {"q8_0", DType::Q8_0, 7},
};

// Hyperparameters read from config.json; -1 / NaN when absent.
struct HParams {
    int64_t n_layers = -1, n_ctx = -1, n_embd = -1, n_ff = -1, n_head = -1, n_head_kv = -1, head_dim = -1;
    int64_t n_vocab = -1;
    double rope_theta = NAN, rms_eps = NAN;
    bool tied = false;
    json rope_scaling;  // null or an object
};

int64_t get_int(const json& c, const char* key, bool required, const std::string& path) {
    if (!c.contains(key) || c[key].is_null()) {
        if (required) fail(R1_ERR_FORMAT, "%s: missing \"%s\"", path.c_str(), key);
        return -1;
    }
    if (!c[key].is_number_integer() || c[key].get<int64_t>() <= 0 || c[key].get<int64_t>() > (int64_t(1) << 32))
        fail(R1_ERR_FORMAT, "%s: \"%s\" is not a positive integer", path.c_str(), key);
    return c[key].get<int64_t>();
}

double get_float(const json& c, const char* key, const std::string& path) {
    if (!c.contains(key) || c[key].is_null()) return NAN;
    if (!c[key].is_number()) fail(R1_ERR_FORMAT, "%s: \"%s\" is not a number", path.c_str(), key);
    return c[key].get<double>();
}

// Metadata.id_to_title of gguf-py: "r1-tiny" -> "R1 Tiny"; words with capitals or version-like words stay.
std::string id_to_title(const std::string& id) {
    std::string out, word;
    auto flush = [&]() {
        if (word.empty()) return;
        bool has_lower = false, has_upper = false;
        for (char c : word) {
            has_lower |= std::islower(static_cast<unsigned char>(c)) != 0;
            has_upper |= std::isupper(static_cast<unsigned char>(c)) != 0;
        }
        const bool version_like = std::isdigit(static_cast<unsigned char>(word[0])) ||
                                  (word[0] == 'v' && word.size() > 1 && std::isdigit(static_cast<unsigned char>(word[1])));
        if (has_lower && !has_upper && !version_like) {
            bool prev_letter = false;
            for (char& c : word) {
                const bool letter = std::isalpha(static_cast<unsigned char>(c)) != 0;
                if (letter) c = char(prev_letter ? std::tolower(static_cast<unsigned char>(c)) : std::toupper(static_cast<unsigned char>(c)));
                prev_letter = letter;
            }
        }
        out += (out.empty() ? "" : " ") + word;
        word.clear();
    };
    for (char c : id) {
        if (c == '-' || std::isspace(static_cast<unsigned char>(c))) flush();
        else word += c;
    }
    flush();
    return out;
}

// gguf-py's size_label for a dense model: model_weight_count_rounded_notation(n, min_digits=2).
std::string size_label(uint64_t n) {
    double scaled;
    const char* suffix;
    if (n > 1e12) { scaled = double(n) * 1e-12; suffix = "T"; }
    else if (n > 1e9) { scaled = double(n) * 1e-9; suffix = "B"; }
    else if (n > 1e6) { scaled = double(n) * 1e-6; suffix = "M"; }
    else { scaled = double(n) * 1e-3; suffix = "K"; }
    std::string digits = std::to_string((long long)std::nearbyint(scaled));
    size_t nz = digits.find_first_not_of('0');
    const int len = nz == std::string::npos ? 0 : int(digits.size() - nz);
    const int fix = std::max(2 - len, 0);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f%s", fix, scaled, suffix);
    return buf;
}

std::string basename_of(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// llama3 rope scaling factors (convert_hf_to_gguf.py LlamaModel.generate_extra_tensors), in float32 as torch
// computes them there: one factor per rotated pair; llama.cpp divides the rotation frequency by it.
std::vector<float> llama3_rope_factors(const HParams& hp, const json& rs) {
    const double base = std::isnan(hp.rope_theta) ? 10000.0 : hp.rope_theta;
    const int64_t dim = hp.head_dim > 0 ? hp.head_dim : hp.n_embd / hp.n_head;
    const float factor = float(rs.value("factor", 8.0));
    const float low_freq_factor = float(rs.value("low_freq_factor", 1.0));
    const float high_freq_factor = float(rs.value("high_freq_factor", 4.0));
    const float old_context_len = float(rs.value("original_max_position_embeddings", 8192.0));
    const float low_freq_wavelen = old_context_len / low_freq_factor;
    const float high_freq_wavelen = old_context_len / high_freq_factor;
    std::vector<float> out;
    for (int64_t i = 0; i < dim; i += 2) {
        const float freq = 1.0f / std::pow(float(base), float(i) / float(dim));
        const float wavelen = float(2.0 * M_PI) / freq;
        if (wavelen < high_freq_wavelen) out.push_back(1.0f);
        else if (wavelen > low_freq_wavelen) out.push_back(factor);
        else {
            const float smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
            out.push_back(1.0f / ((1.0f - smooth) / factor + smooth));
        }
    }
    return out;
}

// The source row that lands at output row `r` of a llama q/k weight (LlamaModel.permute: rows grouped by head,
// each head's two rotary halves interleaved).
int64_t llama_permuted_source_row(int64_t r, int64_t n_rows, int64_t n_head) {
    const int64_t per_head = n_rows / n_head, half = per_head / 2;
    const int64_t h = r / per_head, within = r % per_head;
    return h * per_head + (within % 2) * half + within / 2;
}

}  // namespace

std::string gguf_tensor_name(const std::string& hf) {
    static const std::map<std::string, std::string> top = {
        {"model.embed_tokens", "token_embd"},
        {"model.norm", "output_norm"},
        {"lm_head", "output"},
    };
    static const std::map<std::string, std::string> layer = {
        {"input_layernorm", "attn_norm"},
        {"self_attn.q_proj", "attn_q"},
        {"self_attn.k_proj", "attn_k"},
        {"self_attn.v_proj", "attn_v"},
        {"self_attn.o_proj", "attn_output"},
        {"self_attn.q_norm", "attn_q_norm"},
        {"self_attn.k_norm", "attn_k_norm"},
        {"post_attention_layernorm", "ffn_norm"},
        {"mlp.gate_proj", "ffn_gate"},
        {"mlp.up_proj", "ffn_up"},
        {"mlp.down_proj", "ffn_down"},
    };
    const size_t dot = hf.find_last_of('.');
    if (dot == std::string::npos) return "";
    const std::string stem = hf.substr(0, dot), suffix = hf.substr(dot);  // ".weight" / ".bias"
    if (suffix != ".weight" && suffix != ".bias") return "";
    auto t = top.find(stem);
    if (t != top.end()) return t->second + suffix;
    const std::string prefix = "model.layers.";
    if (stem.compare(0, prefix.size(), prefix) != 0) return "";
    size_t i = prefix.size(), j = i;
    while (j < stem.size() && std::isdigit(static_cast<unsigned char>(stem[j]))) ++j;
    if (j == i || j >= stem.size() || stem[j] != '.' || j - i > 6) return "";
    auto l = layer.find(stem.substr(j + 1));
    if (l == layer.end()) return "";
    return "blk." + std::to_string(std::stoll(stem.substr(i, j - i))) + "." + l->second + suffix;
}

Report convert_model(const std::string& folder, const std::string& out, const Options& options) {
    const OutType* out_type = nullptr;
    for (const OutType& t : kOutTypes)
        if (options.type == t.name) out_type = &t;
    if (!out_type)
        fail(R1_ERR_INVALID_ARGUMENT, "unknown output type '%s' (f32, f16, bf16, q8_0)", options.type.c_str());

    // ---- config.json -------------------------------------------------------------------------------------------
    const std::string config_path = folder + "/config.json";
    if (!std::ifstream(config_path)) fail(R1_ERR_NOT_FOUND, "%s: no config.json", folder.c_str());
    const json config = read_json_file(config_path);
    if (!config.is_object()) fail(R1_ERR_FORMAT, "%s: not a JSON object", config_path.c_str());
    std::string hf_arch;
    if (config.contains("architectures") && config["architectures"].is_array() && !config["architectures"].empty() &&
        config["architectures"][0].is_string())
        hf_arch = config["architectures"][0].get<std::string>();
    const char* arch = nullptr;
    for (const Arch& a : kArchs)
        if (hf_arch == a.hf_name) arch = a.gguf_name;
    if (!arch)
        fail(R1_ERR_UNSUPPORTED, "%s: architecture '%s' is not supported (Qwen2ForCausalLM, LlamaForCausalLM, "
             "Qwen3ForCausalLM)", config_path.c_str(), hf_arch.empty() ? "(none)" : hf_arch.c_str());
    const std::string A = arch;
    const bool is_llama = A == "llama";

    HParams hp;
    hp.n_layers = get_int(config, "num_hidden_layers", true, config_path);
    hp.n_ctx = get_int(config, "max_position_embeddings", false, config_path);
    hp.n_embd = get_int(config, "hidden_size", true, config_path);
    hp.n_ff = get_int(config, "intermediate_size", false, config_path);
    hp.n_head = get_int(config, "num_attention_heads", true, config_path);
    hp.n_head_kv = get_int(config, "num_key_value_heads", false, config_path);
    hp.head_dim = get_int(config, "head_dim", false, config_path);
    hp.n_vocab = get_int(config, "vocab_size", false, config_path);
    hp.rope_theta = get_float(config, "rope_theta", config_path);
    hp.rms_eps = get_float(config, "rms_norm_eps", config_path);
    hp.tied = config.contains("tie_word_embeddings") && config["tie_word_embeddings"].is_boolean() &&
              config["tie_word_embeddings"].get<bool>();
    if (config.contains("rope_scaling") && config["rope_scaling"].is_object()) hp.rope_scaling = config["rope_scaling"];
    if (hp.n_layers > 100000) fail(R1_ERR_FORMAT, "%s: %lld layers", config_path.c_str(), (long long)hp.n_layers);
    if (hp.n_head_kv > 0 && hp.n_head % hp.n_head_kv != 0)
        fail(R1_ERR_FORMAT, "%s: %lld heads are not a multiple of %lld KV heads", config_path.c_str(),
             (long long)hp.n_head, (long long)hp.n_head_kv);
    std::string rope_type;
    if (hp.rope_scaling.is_object())
        rope_type = hp.rope_scaling.value("rope_type", hp.rope_scaling.value("type", std::string()));

    // ---- tokenizer and weights -------------------------------------------------------------------------------
    HfVocab vocab = load_hf_vocab(folder, hp.n_vocab);
    SafetensorsModel weights = SafetensorsModel::open(folder);

    Report report;
    report.architecture = A;
    report.pre_tokenizer = vocab.pre;
    report.n_vocab = int64_t(vocab.tokens.size());

    // ---- plan the tensors ------------------------------------------------------------------------------------
    std::vector<float> rope_factors;
    if (is_llama && (rope_type == "llama3" || rope_type == "LLAMA3")) {
        rope_factors = llama3_rope_factors(hp, hp.rope_scaling);
        report.tensors.push_back({"", "rope_freqs.weight", DType::F32, {int64_t(rope_factors.size())}});
    }
    std::vector<const SourceTensor*> sources;
    for (const SourceTensor* t : weights.tensors()) {
        const std::string& n = t->name;
        if (n.size() >= 20 && n.compare(n.size() - 20, 20, ".rotary_emb.inv_freq") == 0) continue;
        if (n == "lm_head.weight" && hp.tied) continue;
        const std::string g = gguf_tensor_name(n);
        if (g.empty()) fail(R1_ERR_UNSUPPORTED, "%s: cannot map tensor '%s' to a GGUF name", t->file.c_str(), n.c_str());
        if (t->shape.empty() || t->shape.size() > 2)
            fail(R1_ERR_FORMAT, "%s: tensor '%s' has %zu dimensions", t->file.c_str(), n.c_str(), t->shape.size());
        const int64_t layer = g.compare(0, 4, "blk.") == 0 ? std::stoll(g.substr(4)) : -1;
        if (layer >= hp.n_layers)
            fail(R1_ERR_FORMAT, "%s: tensor '%s' is in layer %lld of %lld", t->file.c_str(), n.c_str(),
                 (long long)layer, (long long)hp.n_layers);
        PlannedTensor p;
        p.source = n;
        p.name = g;
        for (auto it = t->shape.rbegin(); it != t->shape.rend(); ++it) p.dims.push_back(*it);
        const bool is_1d = t->shape.size() == 1;
        const bool is_norm = g.size() > 12 && g.compare(g.size() - 12, 12, "_norm.weight") == 0;
        if (is_1d || is_norm) p.type = DType::F32;
        else if (out_type->type == DType::Q8_0 && p.dims[0] % 32 != 0) p.type = DType::F16;  // the reference's fallback
        else p.type = out_type->type;
        if (g == "token_embd.weight" && (t->shape.size() != 2 || t->shape[0] != report.n_vocab || t->shape[1] != hp.n_embd))
            fail(R1_ERR_FORMAT, "%s: model.embed_tokens.weight is [%lld, %lld], config.json and the tokenizer say "
                 "[%lld, %lld]", t->file.c_str(), (long long)t->shape[0], (long long)(t->shape.size() > 1 ? t->shape[1] : 0),
                 (long long)report.n_vocab, (long long)hp.n_embd);
        if (is_llama && (g.find(".attn_q.") != std::string::npos || g.find(".attn_k.") != std::string::npos)) {
            const bool is_k = g.find(".attn_k.") != std::string::npos;
            const int64_t heads = is_k && hp.n_head_kv > 0 ? hp.n_head_kv : hp.n_head;
            if (t->shape[0] % (2 * heads) != 0)
                fail(R1_ERR_FORMAT, "%s: tensor '%s' has %lld rows, not a multiple of 2 x %lld heads", t->file.c_str(),
                     n.c_str(), (long long)t->shape[0], (long long)heads);
        }
        report.tensors.push_back(std::move(p));
        sources.push_back(t);
    }
    if (sources.empty()) fail(R1_ERR_FORMAT, "%s: no weights", folder.c_str());
    for (const PlannedTensor& p : report.tensors) {
        uint64_t n = 1;
        for (int64_t d : p.dims) n *= uint64_t(d);
        report.n_params += n;
    }

    // ---- metadata --------------------------------------------------------------------------------------------
    gguf::Writer w;
    w.set_string("general.architecture", A);
    w.set_string("general.type", "model");
    w.set_string("general.name", options.name.empty() ? id_to_title(basename_of(folder)) : options.name);
    w.set_string("general.size_label", size_label(report.n_params));
    w.set_u32(A + ".block_count", uint32_t(hp.n_layers));
    if (hp.n_ctx > 0) w.set_u32(A + ".context_length", uint32_t(hp.n_ctx));
    w.set_u32(A + ".embedding_length", uint32_t(hp.n_embd));
    if (hp.n_ff > 0) w.set_u32(A + ".feed_forward_length", uint32_t(hp.n_ff));
    w.set_u32(A + ".attention.head_count", uint32_t(hp.n_head));
    if (hp.n_head_kv > 0) w.set_u32(A + ".attention.head_count_kv", uint32_t(hp.n_head_kv));
    if (rope_type == "linear" && hp.rope_scaling.contains("factor")) {
        w.set_string(A + ".rope.scaling.type", "linear");
        w.set_f32(A + ".rope.scaling.factor", float(hp.rope_scaling["factor"].get<double>()));
    } else if (rope_type == "yarn" && hp.rope_scaling.contains("factor")) {
        w.set_string(A + ".rope.scaling.type", "yarn");
        w.set_f32(A + ".rope.scaling.factor", float(hp.rope_scaling["factor"].get<double>()));
        if (hp.rope_scaling.contains("original_max_position_embeddings"))
            w.set_u32(A + ".rope.scaling.original_context_length",
                      uint32_t(hp.rope_scaling["original_max_position_embeddings"].get<int64_t>()));
    }
    if (!std::isnan(hp.rope_theta)) w.set_f32(A + ".rope.freq_base", float(hp.rope_theta));
    if (!std::isnan(hp.rms_eps)) w.set_f32(A + ".attention.layer_norm_rms_epsilon", float(hp.rms_eps));
    if (hp.head_dim > 0) {
        w.set_u32(A + ".attention.key_length", uint32_t(hp.head_dim));
        w.set_u32(A + ".attention.value_length", uint32_t(hp.head_dim));
    }
    w.set_u32("general.file_type", out_type->file_type);
    if (is_llama) {
        w.set_u32(A + ".vocab_size", uint32_t(report.n_vocab));
        w.set_u32(A + ".rope.dimension_count", uint32_t(hp.head_dim > 0 ? hp.head_dim : hp.n_embd / hp.n_head));
    }
    w.set_u32("general.quantization_version", 2);

    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", vocab.pre);
    w.set_string_array("tokenizer.ggml.tokens", vocab.tokens);
    w.set_i32_array("tokenizer.ggml.token_type", vocab.types);
    w.set_string_array("tokenizer.ggml.merges", vocab.merges);
    for (const auto& s : vocab.special_ids)
        if (const char* key = special_id_key(s.first)) w.set_u32(key, s.second);
    for (const auto& a : vocab.add_special) w.set_bool("tokenizer.ggml.add_" + a.first + "_token", a.second);
    std::vector<std::string> template_names;
    const std::string* default_template = nullptr;
    for (const auto& t : vocab.chat_templates) {
        if (t.first.empty()) {
            default_template = &t.second;
        } else {
            w.set_string("tokenizer.chat_template." + t.first, t.second);
            template_names.push_back(t.first);
        }
    }
    if (!template_names.empty()) w.set_string_array("tokenizer.chat_templates", template_names);
    if (default_template) w.set_string("tokenizer.chat_template", *default_template);

    // ---- tensor data, a few rows at a time -------------------------------------------------------------------
    for (const PlannedTensor& p : report.tensors) w.add_tensor(p.name, p.type, p.dims);
    try {
        w.begin(out);
        size_t done = 0;
        const size_t total = report.tensors.size();
        if (!rope_factors.empty()) {
            w.write_tensor_data(rope_factors.data(), rope_factors.size() * sizeof(float));
            ++done;
            if (options.progress && !options.progress(done, total, "rope_freqs.weight"))
                fail(R1_ERR_CANCELLED, "conversion cancelled");
        }
        std::vector<float> row;
        std::vector<uint8_t> encoded;
        for (size_t k = 0; k < sources.size(); ++k) {
            const SourceTensor& src = *sources[k];
            const PlannedTensor& p = report.tensors[done];
            const int64_t n = src.row_length(), rows = src.n_rows();
            const uint64_t row_bytes = dtype_row_bytes(p.type, uint64_t(n));
            int64_t permute_heads = 0;
            if (is_llama && (p.name.find(".attn_q.") != std::string::npos || p.name.find(".attn_k.") != std::string::npos))
                permute_heads = p.name.find(".attn_k.") != std::string::npos && hp.n_head_kv > 0 ? hp.n_head_kv : hp.n_head;
            // A 1-D tensor is one row; a bias of a permuted projection is permuted element by element.
            const bool permute_elements = permute_heads && src.shape.size() == 1;
            const int64_t chunk_rows = std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(1, int64_t(row_bytes)));
            row.resize(size_t(n));
            encoded.resize(size_t(row_bytes * uint64_t(std::min(chunk_rows, std::max<int64_t>(rows, 1)))));
            for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
                const int64_t r1 = std::min(rows, r0 + chunk_rows);
                for (int64_t r = r0; r < r1; ++r) {
                    if (permute_elements) {
                        for (int64_t i = 0; i < n; ++i) src.to_float(llama_permuted_source_row(i, n, permute_heads), 1, &row[size_t(i)]);
                    } else {
                        const int64_t s = permute_heads ? llama_permuted_source_row(r, rows, permute_heads) : r;
                        src.to_float(s * n, n, row.data());
                    }
                    uint8_t* dst = encoded.data() + uint64_t(r - r0) * row_bytes;
                    if (p.type == DType::F32) std::memcpy(dst, row.data(), size_t(n) * 4);
                    else if (!cpu::quantize_row(p.type, row.data(), dst, n))
                        fail(R1_ERR_INTERNAL, "cannot encode a row of %lld values as %s", (long long)n, dtype_name(uint32_t(p.type)));
                }
                w.write_tensor_data(encoded.data(), size_t(uint64_t(r1 - r0) * row_bytes));
            }
            ++done;
            if (options.progress && !options.progress(done, total, p.name)) fail(R1_ERR_CANCELLED, "conversion cancelled");
        }
        w.finish();
    } catch (...) {
        std::remove(out.c_str());
        throw;
    }
    return report;
}

}  // namespace r1::convert
