#include "synth.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <thread>

#include "../../backends/cpu/quants/quants.h"
#include "../../src/error.h"
#include "../../src/gguf/gguf.h"
#include "../../src/gguf/writer.h"
#include "../../src/quantize/rules.h"

namespace r1::synth {
namespace {

// splitmix64 + a cheap approximately normal draw (sum of four uniforms, scaled to unit variance): the shape of
// the distribution does not matter for speed or for tests; reproducibility does.
struct Draw {
    uint64_t state;
    explicit Draw(uint64_t seed) : state(seed) {}
    uint64_t next() {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    float normal() {
        uint64_t r = next();
        float s = 0;
        for (int i = 0; i < 4; ++i) s += float((r >> (16 * i)) & 0xFFFF) * (1.0f / 65536.0f);
        return (s - 2.0f) * 1.7320508f;  // variance of a sum of 4 U(0,1) is 1/3
    }
};

uint64_t hash_name(const std::string& s, uint64_t seed) {
    uint64_t h = 1469598103934665603ull ^ seed;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

// The target of a type name (a single type or a llama-quantize mix); the rules live in src/quantize/rules.h.
const quantize::Target& target_of(const std::string& t) {
    const quantize::Target* target = quantize::find_target(t);
    if (!target) fail(R1_ERR_INVALID_ARGUMENT, "unknown weight type '%s'", t.c_str());
    return *target;
}

}  // namespace

std::vector<std::string> preset_names() {
    return {"tiny", "qwen2-1.5b", "qwen2-7b", "qwen2-14b", "qwen2-32b", "llama-8b", "qwen3-8b"};
}

Spec preset(const std::string& name) {
    Spec s;
    s.name = "r1 synthetic " + name;
    if (name == "tiny") return s;
    if (name == "qwen2-1.5b") {  // DeepSeek-R1-Distill-Qwen-1.5B
        s.n_vocab = 151936; s.n_embd = 1536; s.n_layers = 28; s.n_heads = 12; s.n_kv_heads = 2; s.n_ff = 8960;
        s.n_ctx_train = 131072; s.rope_base = 10000.0f;
        return s;
    }
    if (name == "qwen2-7b") {
        s.n_vocab = 152064; s.n_embd = 3584; s.n_layers = 28; s.n_heads = 28; s.n_kv_heads = 4; s.n_ff = 18944;
        s.n_ctx_train = 131072; s.rope_base = 10000.0f;
        return s;
    }
    if (name == "qwen2-14b") {
        s.n_vocab = 152064; s.n_embd = 5120; s.n_layers = 48; s.n_heads = 40; s.n_kv_heads = 8; s.n_ff = 13824;
        s.n_ctx_train = 131072; s.rope_base = 1000000.0f; s.rms_eps = 1e-5f;
        return s;
    }
    if (name == "qwen2-32b") {
        s.n_vocab = 152064; s.n_embd = 5120; s.n_layers = 64; s.n_heads = 40; s.n_kv_heads = 8; s.n_ff = 27648;
        s.n_ctx_train = 131072; s.rope_base = 1000000.0f; s.rms_eps = 1e-5f;
        return s;
    }
    if (name == "llama-8b") {  // DeepSeek-R1-Distill-Llama-8B
        s.arch = "llama"; s.n_vocab = 128256; s.n_embd = 4096; s.n_layers = 32; s.n_heads = 32; s.n_kv_heads = 8;
        s.n_ff = 14336; s.n_ctx_train = 131072; s.rope_base = 500000.0f; s.rms_eps = 1e-5f; s.llama3_rope_freqs = true;
        return s;
    }
    if (name == "qwen3-8b") {  // DeepSeek-R1-0528-Qwen3-8B
        s.arch = "qwen3"; s.n_vocab = 151936; s.n_embd = 4096; s.n_layers = 36; s.n_heads = 32; s.n_kv_heads = 8;
        s.head_dim = 128; s.n_ff = 12288; s.n_ctx_train = 131072; s.rope_base = 1000000.0f;
        return s;
    }
    fail(R1_ERR_NOT_FOUND, "no preset '%s'", name.c_str());
}

DType tensor_type(const std::string& t, const std::string& name, int64_t layer, int64_t n_layers, int64_t row) {
    // One tensor on its own: a model of n_layers blocks with an output projection, this tensor the layer-th of
    // its kind. write_model() runs the rules over the whole model instead (they also depend on the head counts).
    quantize::ModelShape shape;
    shape.n_layers = n_layers;
    std::vector<std::string> names = {"output.weight"};
    for (int64_t l = 0; l < n_layers; ++l) names.push_back("blk." + std::to_string(l) + ".attn_v.weight");
    quantize::TypeRules rules(target_of(t), shape, names);
    quantize::TensorDesc d;
    d.name = name;
    const bool is_vector = name.find("norm") != std::string::npos || name.find(".bias") != std::string::npos ||
                           name == "rope_freqs.weight";
    d.ne[0] = row;
    d.ne[1] = is_vector ? 1 : 2;
    return rules.choose(d, int(std::max<int64_t>(layer, 0))).type;
}

void write_model(const Spec& s, const std::string& path, int n_threads, const std::function<bool(float)>& progress) {
    if (s.arch != "qwen2" && s.arch != "llama" && s.arch != "qwen3")
        fail(R1_ERR_INVALID_ARGUMENT, "unknown architecture '%s'", s.arch.c_str());
    const int64_t head_dim = s.head_dim > 0 ? s.head_dim : s.n_embd / s.n_heads;
    const int64_t q_dim = s.n_heads * head_dim, kv_dim = s.n_kv_heads * head_dim;
    if (n_threads <= 0) n_threads = int(std::max(1u, std::thread::hardware_concurrency()));

    gguf::Writer w;
    const std::string a = s.arch;
    w.set_string("general.architecture", a);
    w.set_string("general.name", s.name);
    const quantize::Target& target = target_of(s.type);
    w.set_u32("general.file_type", uint32_t(target.file_type));
    w.set_u32("general.quantization_version", 2);
    w.set_u32(a + ".context_length", uint32_t(s.n_ctx_train));
    w.set_u32(a + ".embedding_length", uint32_t(s.n_embd));
    w.set_u32(a + ".feed_forward_length", uint32_t(s.n_ff));
    w.set_u32(a + ".block_count", uint32_t(s.n_layers));
    w.set_u32(a + ".attention.head_count", uint32_t(s.n_heads));
    w.set_u32(a + ".attention.head_count_kv", uint32_t(s.n_kv_heads));
    w.set_f32(a + ".rope.freq_base", s.rope_base);
    w.set_f32(a + ".attention.layer_norm_rms_epsilon", s.rms_eps);
    if (s.head_dim > 0 || a == "qwen3") {
        w.set_u32(a + ".attention.key_length", uint32_t(head_dim));
        w.set_u32(a + ".attention.value_length", uint32_t(head_dim));
    }
    if (a == "llama") {
        w.set_u32(a + ".rope.dimension_count", uint32_t(head_dim));
        w.set_u32(a + ".vocab_size", uint32_t(s.n_vocab));
    }

    int64_t n_vocab = s.n_vocab;
    std::unique_ptr<gguf::File> vocab_file;
    if (!s.vocab_from.empty()) {
        gguf::OpenOptions vo;
        vocab_file = gguf::File::open(s.vocab_from, vo);
        for (const gguf::KeyValue& kv : vocab_file->metadata())
            if (kv.key.rfind("tokenizer.", 0) == 0) w.set_value(kv.key, kv.value);
        const gguf::Value* tokens = vocab_file->find("tokenizer.ggml.tokens");
        if (!tokens || tokens->type != gguf::ValueType::ARRAY)
            fail(R1_ERR_FORMAT, "%s has no tokenizer.ggml.tokens", s.vocab_from.c_str());
        n_vocab = int64_t(tokens->count);
    } else {
        std::vector<std::string> tokens(static_cast<size_t>(n_vocab));
        for (int64_t i = 0; i < n_vocab; ++i) tokens[size_t(i)] = "tok_" + std::to_string(i);
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.set_string_array("tokenizer.ggml.tokens", tokens);
        w.set_i32_array("tokenizer.ggml.token_type", std::vector<int32_t>(static_cast<size_t>(n_vocab), 1));
        w.set_string_array("tokenizer.ggml.merges", {"t o"});
        w.set_u32("tokenizer.ggml.bos_token_id", 0);
        w.set_u32("tokenizer.ggml.eos_token_id", 1);
        w.set_bool("tokenizer.ggml.add_bos_token", false);
    }

    // Every tensor with its shape [row length, rows], standard deviation and layer, in the converter's order.
    struct T {
        std::string name;
        int64_t cols, rows;
        float sd;
        int64_t layer;
    };
    std::vector<T> ts;
    if (s.llama3_rope_freqs) ts.push_back({"rope_freqs.weight", head_dim / 2, 1, 0, -1});
    ts.push_back({"token_embd.weight", s.n_embd, n_vocab, 1.0f, -1});
    for (int64_t l = 0; l < s.n_layers; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        ts.push_back({b + "attn_norm.weight", s.n_embd, 1, 0.15f, l});
        ts.push_back({b + "attn_q.weight", s.n_embd, q_dim, 0.08f, l});
        ts.push_back({b + "attn_k.weight", s.n_embd, kv_dim, 0.08f, l});
        ts.push_back({b + "attn_v.weight", s.n_embd, kv_dim, 0.05f, l});
        if (a == "qwen2") {
            ts.push_back({b + "attn_q.bias", q_dim, 1, 0.2f, l});
            ts.push_back({b + "attn_k.bias", kv_dim, 1, 0.2f, l});
            ts.push_back({b + "attn_v.bias", kv_dim, 1, 0.1f, l});
        }
        if (a == "qwen3") {
            ts.push_back({b + "attn_q_norm.weight", head_dim, 1, 0.15f, l});
            ts.push_back({b + "attn_k_norm.weight", head_dim, 1, 0.15f, l});
        }
        ts.push_back({b + "attn_output.weight", q_dim, s.n_embd, 0.05f, l});
        ts.push_back({b + "ffn_norm.weight", s.n_embd, 1, 0.15f, l});
        ts.push_back({b + "ffn_gate.weight", s.n_embd, s.n_ff, 0.05f, l});
        ts.push_back({b + "ffn_up.weight", s.n_embd, s.n_ff, 0.05f, l});
        ts.push_back({b + "ffn_down.weight", s.n_ff, s.n_embd, 0.05f, l});
    }
    ts.push_back({"output_norm.weight", s.n_embd, 1, 0.15f, -1});
    if (!s.tied_output) ts.push_back({"output.weight", s.n_embd, n_vocab, 0.15f, -1});

    // The types llama-quantize would give these tensors (a tied model's token_embd gets the output's type).
    quantize::ModelShape shape;
    shape.arch = a;
    shape.n_layers = s.n_layers;
    shape.n_heads = s.n_heads;
    shape.n_kv_heads = s.n_kv_heads;
    std::vector<quantize::TensorDesc> descs(ts.size());
    for (size_t i = 0; i < ts.size(); ++i) {
        descs[i].name = ts[i].name;
        descs[i].ne[0] = ts[i].cols;
        descs[i].ne[1] = ts[i].rows;
    }
    const std::vector<quantize::Choice> choices = quantize::choose_types(target, shape, descs);
    std::vector<DType> types;
    for (size_t i = 0; i < ts.size(); ++i) {
        const T& t = ts[i];
        const DType type = choices[i].type;
        types.push_back(type);
        if (t.rows == 1) w.add_tensor(t.name, type, {t.cols});
        else w.add_tensor(t.name, type, {t.cols, t.rows});
    }
    w.begin(path);

    uint64_t total = 0, done = 0;
    for (const T& t : ts) total += uint64_t(t.cols) * uint64_t(t.rows);
    // Rows are drawn from a generator seeded by (seed, tensor name, row), so the result does not depend on the
    // number of threads; chunks of rows are generated and quantized in parallel, then written in order.
    const int64_t chunk_rows = 64;
    for (size_t i = 0; i < ts.size(); ++i) {
        const T& t = ts[i];
        const DType type = types[i];
        const size_t row_bytes = size_t(dtype_row_bytes(type, uint64_t(t.cols)));
        const uint64_t tensor_seed = hash_name(t.name, s.seed);
        for (int64_t r0 = 0; r0 < t.rows; r0 += chunk_rows * n_threads) {
            const int64_t r1 = std::min(t.rows, r0 + chunk_rows * n_threads);
            std::vector<uint8_t> out(size_t(r1 - r0) * row_bytes);
            auto work = [&](int ith) {
                std::vector<float> row(static_cast<size_t>(t.cols));
                for (int64_t r = r0 + ith; r < r1; r += n_threads) {
                    Draw d(tensor_seed ^ (uint64_t(r) * 0x2545F4914F6CDD1Dull));
                    for (int64_t c = 0; c < t.cols; ++c) {
                        float v = d.normal() * t.sd;
                        if (t.name.find("norm") != std::string::npos) v += 1.0f;  // norm weights near 1
                        if (t.name == "rope_freqs.weight") {
                            // llama3 factors for factor 8, low/high 1 and 4, original context 8192.
                            const double wavelen = 6.283185307179586 * std::pow(double(s.rope_base), 2.0 * double(c) / double(head_dim));
                            const double low = 8192.0 / 1.0, high = 8192.0 / 4.0;
                            double f = 1.0;
                            if (wavelen > low) f = 8.0;
                            else if (wavelen >= high) {
                                double smooth = (8192.0 / wavelen - 1.0) / (4.0 - 1.0);
                                f = 1.0 / ((1 - smooth) / 8.0 + smooth);
                            }
                            v = float(f);
                        }
                        row[size_t(c)] = v;
                    }
                    cpu::quantize_row(type, row.data(), out.data() + size_t(r - r0) * row_bytes, t.cols);
                }
            };
            std::vector<std::thread> threads;
            for (int k = 1; k < n_threads; ++k) threads.emplace_back(work, k);
            work(0);
            for (std::thread& th : threads) th.join();
            w.write_tensor_data(out.data(), out.size());
            done += uint64_t(r1 - r0) * uint64_t(t.cols);
            if (progress && !progress(float(double(done) / double(total))))
                fail(R1_ERR_CANCELLED, "cancelled");
        }
    }
    w.finish();
}

}  // namespace r1::synth
