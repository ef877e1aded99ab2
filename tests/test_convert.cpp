// r1-convert (tools/convert): small Hugging Face folders built here (safetensors written by the test, a byte-level
// BPE tokenizer.json constructed here or derived from models/r1-tiny.gguf) are converted, then read back with the
// GGUF reader and loaded with r1: tensor names, types, shapes and values (llama q/k rows un-permuted), metadata,
// tokenizer, sharded input, bad input.
#include <doctest/doctest.h>

#ifdef R1_HAVE_CONVERT

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "../backends/cpu/quants/fp16.h"
#include "../backends/cpu/quants/quants.h"
#include "../tools/convert/convert.h"
#include "../tools/convert/hf_vocab.h"
#include "error.h"
#include "gguf/gguf.h"
#include "r1.h"
#include "test_util.h"

using nlohmann::json;

namespace {

constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct SrcTensor {
    std::string name;
    std::string dtype;  // F32, F16, BF16
    std::vector<int64_t> shape;
    std::vector<float> values;  // the exact values (already rounded to dtype)
};

std::string folder_path(const std::string& name) {
    const std::string p = r1test::temp_path(name);
    mkdir(p.c_str(), 0755);
    return p;
}

void write_text(const std::string& path, const std::string& text) {
    REQUIRE(r1test::write_file(path, text.data(), text.size()));
}

void write_safetensors(const std::string& path, const std::vector<SrcTensor>& tensors) {
    json header = json::object();
    header["__metadata__"] = {{"format", "pt"}};
    std::string data;
    for (const SrcTensor& t : tensors) {
        const size_t begin = data.size();
        for (float v : t.values) {
            if (t.dtype == "F32") {
                data.append(reinterpret_cast<const char*>(&v), 4);
            } else {
                const uint16_t h = t.dtype == "F16" ? r1::cpu::fp32_to_fp16(v) : r1::cpu::fp32_to_bf16(v);
                data.append(reinterpret_cast<const char*>(&h), 2);
            }
        }
        header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
    }
    std::string h = header.dump();
    while (h.size() % 8) h += ' ';
    std::string file(8, '\0');
    const uint64_t n = h.size();
    std::memcpy(file.data(), &n, 8);
    file += h;
    file += data;
    write_text(path, file);
}

// Random values of a tensor, rounded to its dtype so that the stored values are known exactly.
SrcTensor make_tensor(std::mt19937& rng, const std::string& name, const std::string& dtype,
                      std::vector<int64_t> shape, float scale = 0.5f) {
    SrcTensor t{name, dtype, std::move(shape), {}};
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    std::normal_distribution<float> dist(0.0f, scale);
    for (int64_t i = 0; i < n; ++i) {
        float v = dist(rng);
        if (dtype == "F16") v = r1::cpu::fp16_to_fp32(r1::cpu::fp32_to_fp16(v));
        if (dtype == "BF16") v = r1::cpu::bf16_to_fp32(r1::cpu::fp32_to_bf16(v));
        t.values.push_back(v);
    }
    return t;
}

// GPT-2's bytes_to_unicode: byte -> UTF-8 of its printable code point.
std::string byte_char(int b) {
    int cp = b;
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    if (!printable) {
        int n = 0;
        for (int c = 0; c < b; ++c)
            if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF))) ++n;
        cp = 256 + n;
    }
    std::string s;
    if (cp < 0x80) s += char(cp);
    else {
        s += char(0xC0 | (cp >> 6));
        s += char(0x80 | (cp & 0x3F));
    }
    return s;
}

struct TinyVocab {
    json tokenizer;
    json tokenizer_config;
    int64_t n_tokens = 0;  // ids used (the model's vocab_size may be larger)
};

// 256 byte tokens, a few merges, then the R1 added tokens (eos, User, Assistant, bos, <think>, </think>).
TinyVocab make_vocab(const std::string& regex, const std::string& chat_template) {
    TinyVocab v;
    json vocab = json::object();
    for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
    const std::vector<std::pair<std::string, std::string>> merges = {
        {"W", "h"}, {"Wh", "a"}, {"Wha", "t"}, {"Ġ", "i"}, {"Ġi", "s"}, {"Ġ", "+"}};
    json merge_list = json::array();
    int64_t id = 256;
    for (const auto& m : merges) {
        vocab[m.first + m.second] = id++;
        merge_list.push_back(m.first + " " + m.second);
    }
    const std::vector<std::pair<std::string, bool>> added = {
        {"<｜end▁of▁sentence｜>", true}, {"<｜User｜>", true}, {"<｜Assistant｜>", true},
        {"<｜begin▁of▁sentence｜>", true}, {"<think>", false}, {"</think>", false}};
    json added_list = json::array();
    for (const auto& a : added)
        added_list.push_back({{"id", id++}, {"content", a.first}, {"single_word", false}, {"lstrip", false},
                              {"rstrip", false}, {"normalized", false}, {"special", a.second}});
    v.n_tokens = id;
    v.tokenizer = {
        {"version", "1.0"},
        {"added_tokens", added_list},
        {"normalizer", nullptr},
        {"pre_tokenizer",
         {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}}},
        {"decoder", {{"type", "ByteLevel"}}},
        {"model",
         {{"type", "BPE"}, {"byte_fallback", false}, {"ignore_merges", false}, {"vocab", vocab}, {"merges", merge_list}}},
    };
    v.tokenizer_config = {
        {"add_bos_token", true},
        {"add_eos_token", false},
        {"bos_token", {{"__type", "AddedToken"}, {"content", "<｜begin▁of▁sentence｜>"}}},
        {"eos_token", "<｜end▁of▁sentence｜>"},
        {"pad_token", "<｜end▁of▁sentence｜>"},
        {"chat_template", chat_template},
    };
    return v;
}

std::string r1_template() {
    std::vector<unsigned char> t;
    REQUIRE(r1test::read_file(std::string(R1_SOURCE_DIR) + "/tools/tiny/r1-distill.jinja", t));
    return std::string(t.begin(), t.end());
}

struct ModelSpec {
    std::string arch = "Qwen2ForCausalLM";
    int64_t n_embd = 32, n_layers = 2, n_head = 4, n_head_kv = 2, n_ff = 64, head_dim = 0;
    int64_t n_vocab = 272;  // 262 used ids + 10 padding rows
    bool tied = false;
    bool biases = true;
    bool qk_norm = false;
    std::string dtype = "F32";
    json rope_scaling;
};

std::vector<SrcTensor> make_weights(const ModelSpec& s, uint32_t seed) {
    std::mt19937 rng(seed);
    const int64_t hd = s.head_dim ? s.head_dim : s.n_embd / s.n_head;
    std::vector<SrcTensor> w;
    w.push_back(make_tensor(rng, "model.embed_tokens.weight", s.dtype, {s.n_vocab, s.n_embd}));
    if (!s.tied) w.push_back(make_tensor(rng, "lm_head.weight", s.dtype, {s.n_vocab, s.n_embd}));
    w.push_back(make_tensor(rng, "model.norm.weight", s.dtype, {s.n_embd}));
    for (int64_t l = 0; l < s.n_layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        w.push_back(make_tensor(rng, p + "input_layernorm.weight", s.dtype, {s.n_embd}));
        w.push_back(make_tensor(rng, p + "post_attention_layernorm.weight", s.dtype, {s.n_embd}));
        w.push_back(make_tensor(rng, p + "self_attn.q_proj.weight", s.dtype, {s.n_head * hd, s.n_embd}));
        w.push_back(make_tensor(rng, p + "self_attn.k_proj.weight", s.dtype, {s.n_head_kv * hd, s.n_embd}));
        w.push_back(make_tensor(rng, p + "self_attn.v_proj.weight", s.dtype, {s.n_head_kv * hd, s.n_embd}));
        w.push_back(make_tensor(rng, p + "self_attn.o_proj.weight", s.dtype, {s.n_embd, s.n_head * hd}));
        if (s.biases) {
            w.push_back(make_tensor(rng, p + "self_attn.q_proj.bias", s.dtype, {s.n_head * hd}));
            w.push_back(make_tensor(rng, p + "self_attn.k_proj.bias", s.dtype, {s.n_head_kv * hd}));
            w.push_back(make_tensor(rng, p + "self_attn.v_proj.bias", s.dtype, {s.n_head_kv * hd}));
        }
        if (s.qk_norm) {
            w.push_back(make_tensor(rng, p + "self_attn.q_norm.weight", s.dtype, {hd}));
            w.push_back(make_tensor(rng, p + "self_attn.k_norm.weight", s.dtype, {hd}));
        }
        w.push_back(make_tensor(rng, p + "mlp.gate_proj.weight", s.dtype, {s.n_ff, s.n_embd}));
        w.push_back(make_tensor(rng, p + "mlp.up_proj.weight", s.dtype, {s.n_ff, s.n_embd}));
        w.push_back(make_tensor(rng, p + "mlp.down_proj.weight", s.dtype, {s.n_embd, s.n_ff}));
        w.push_back(make_tensor(rng, p + "self_attn.rotary_emb.inv_freq", "F32", {hd / 2}));
    }
    return w;
}

json make_config(const ModelSpec& s, const TinyVocab& v) {
    json c = {{"architectures", {s.arch}},
              {"hidden_size", s.n_embd},
              {"intermediate_size", s.n_ff},
              {"num_hidden_layers", s.n_layers},
              {"num_attention_heads", s.n_head},
              {"num_key_value_heads", s.n_head_kv},
              {"max_position_embeddings", 256},
              {"rms_norm_eps", 1e-6},
              {"rope_theta", 10000.0},
              {"tie_word_embeddings", s.tied},
              {"vocab_size", s.n_vocab},
              {"bos_token_id", v.n_tokens - 3},
              {"eos_token_id", v.n_tokens - 6}};
    if (s.head_dim) c["head_dim"] = s.head_dim;
    if (!s.rope_scaling.is_null()) c["rope_scaling"] = s.rope_scaling;
    return c;
}

// Writes the folder: config.json, tokenizer files, and the weights in one file or split in two with an index.
std::string write_model(const std::string& name, const ModelSpec& s, const std::vector<SrcTensor>& w, bool sharded) {
    const std::string dir = folder_path(name);
    const TinyVocab v = make_vocab(s.arch == "LlamaForCausalLM" ? kLlama3Regex : kQwen2Regex, r1_template());
    write_text(dir + "/config.json", make_config(s, v).dump(1));
    write_text(dir + "/tokenizer.json", v.tokenizer.dump(1));
    write_text(dir + "/tokenizer_config.json", v.tokenizer_config.dump(1));
    if (!sharded) {
        write_safetensors(dir + "/model.safetensors", w);
    } else {
        std::vector<SrcTensor> a(w.begin(), w.begin() + long(w.size() / 2)), b(w.begin() + long(w.size() / 2), w.end());
        write_safetensors(dir + "/model-00001-of-00002.safetensors", a);
        write_safetensors(dir + "/model-00002-of-00002.safetensors", b);
        json map = json::object();
        for (const SrcTensor& t : a) map[t.name] = "model-00001-of-00002.safetensors";
        for (const SrcTensor& t : b) map[t.name] = "model-00002-of-00002.safetensors";
        write_text(dir + "/model.safetensors.index.json", json{{"metadata", json::object()}, {"weight_map", map}}.dump(1));
    }
    return dir;
}

// Values of a GGUF tensor as floats (F32, F16, BF16, Q8_0).
std::vector<float> gguf_values(const r1::gguf::File& f, const r1::gguf::TensorInfo& t) {
    std::vector<float> out(size_t(t.n_elements()));
    const uint64_t rows = t.n_elements() / uint64_t(t.ne[0]);
    const uint64_t row_bytes = r1::dtype_row_bytes(t.type, uint64_t(t.ne[0]));
    for (uint64_t r = 0; r < rows; ++r)
        REQUIRE(r1::cpu::dequantize_row(t.type, f.tensor_data(t) + r * row_bytes, out.data() + r * uint64_t(t.ne[0]), t.ne[0]));
    return out;
}

// numpy's LlamaModel.permute, applied to rows: out row h*R + i*2 + j = in row h*R + j*(R/2) + i.
std::vector<float> permute_rows(const std::vector<float>& in, int64_t rows, int64_t cols, int64_t n_head) {
    std::vector<float> out(in.size());
    const int64_t R = rows / n_head, half = R / 2;
    for (int64_t h = 0; h < n_head; ++h)
        for (int64_t i = 0; i < half; ++i)
            for (int64_t j = 0; j < 2; ++j)
                std::memcpy(&out[size_t((h * R + i * 2 + j) * cols)], &in[size_t((h * R + j * half + i) * cols)],
                            size_t(cols) * sizeof(float));
    return out;
}

std::string gguf_str(const r1::gguf::File& f, const char* key) { return std::string(f.get_string(key)); }

// Every source tensor is in the file under its GGUF name with the expected type and exactly its values.
void check_tensors(const r1::gguf::File& f, const ModelSpec& s, const std::vector<SrcTensor>& w, r1::DType matrix_type) {
    const bool llama = s.arch == "LlamaForCausalLM";
    size_t expected = 0;
    for (const SrcTensor& t : w) {
        const std::string g = r1::convert::gguf_tensor_name(t.name);
        if (g.empty()) continue;  // rotary_emb.inv_freq
        ++expected;
        CAPTURE(t.name);
        const r1::gguf::TensorInfo* info = f.find_tensor(g);
        REQUIRE(info != nullptr);
        REQUIRE(info->n_dims == int(t.shape.size()));
        for (size_t d = 0; d < t.shape.size(); ++d) CHECK(info->ne[d] == t.shape[t.shape.size() - 1 - d]);
        const bool one_d = t.shape.size() == 1 || g.find("_norm.weight") != std::string::npos;
        CHECK(info->type == (one_d ? r1::DType::F32 : matrix_type));
        std::vector<float> want = t.values;
        if (llama && (g.find(".attn_q.") != std::string::npos || g.find(".attn_k.") != std::string::npos)) {
            const int64_t heads = g.find(".attn_k.") != std::string::npos ? s.n_head_kv : s.n_head;
            const int64_t rows = t.shape[0], cols = t.shape.size() > 1 ? t.shape[1] : 1;
            want = permute_rows(want, rows, cols, heads);
        }
        const std::vector<float> got = gguf_values(f, *info);
        REQUIRE(got.size() == want.size());
        if (info->type == r1::DType::F32 || info->type == matrix_type) {
            for (size_t i = 0; i < want.size(); ++i) {
                float expect = want[i];
                if (info->type == r1::DType::F16) expect = r1::cpu::fp16_to_fp32(r1::cpu::fp32_to_fp16(expect));
                if (info->type == r1::DType::BF16) expect = r1::cpu::bf16_to_fp32(r1::cpu::fp32_to_bf16(expect));
                if (info->type == r1::DType::Q8_0) {
                    CHECK(std::fabs(got[i] - expect) <= 0.02f);
                } else if (got[i] != expect) {
                    FAIL_CHECK("value " << i << ": " << got[i] << " != " << expect);
                    break;
                }
            }
        }
    }
    CHECK((f.find_tensor("output.weight") == nullptr) == s.tied);  // no output.weight when tied
    CHECK(f.tensors().size() == expected + (f.find_tensor("rope_freqs.weight") ? 1 : 0));
}

r1_model* load(const std::string& path) {
    r1_model_params p;
    r1_model_params_init(&p);
    r1_model* m = nullptr;
    const r1_status st = r1_model_load(path.c_str(), &p, &m);
    INFO(r1_last_error());
    REQUIRE(st == R1_OK);
    return m;
}

r1_status convert_status(const std::string& dir, const std::string& out, const std::string& type = "f32") {
    r1::convert::Options o;
    o.type = type;
    try {
        r1::convert::convert_model(dir, out, o);
    } catch (const r1::Error& e) {
        MESSAGE("expected failure: " << std::string(e.what()));
        return e.status();
    }
    return R1_OK;
}

bool file_exists(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("convert: qwen2 (biases, untied, padded vocabulary) keeps every tensor and the tokenizer") {
    ModelSpec s;
    const auto w = make_weights(s, 1);
    const std::string dir = write_model("qwen2-hf", s, w, false);
    const std::string out = r1test::temp_path("qwen2.gguf");
    r1::convert::Options o;
    o.type = "f32";
    const r1::convert::Report r = r1::convert::convert_model(dir, out, o);
    CHECK(r.architecture == "qwen2");
    CHECK(r.pre_tokenizer == "deepseek-r1-qwen");

    auto f = r1::gguf::File::open(out);
    CHECK(gguf_str(*f, "general.architecture") == "qwen2");
    CHECK(gguf_str(*f, "general.name") == "Qwen2 Hf");
    CHECK(f->get_int("qwen2.block_count", 0) == 2);
    CHECK(f->get_int("qwen2.context_length", 0) == 256);
    CHECK(f->get_int("qwen2.embedding_length", 0) == 32);
    CHECK(f->get_int("qwen2.feed_forward_length", 0) == 64);
    CHECK(f->get_int("qwen2.attention.head_count", 0) == 4);
    CHECK(f->get_int("qwen2.attention.head_count_kv", 0) == 2);
    CHECK(f->get_float("qwen2.rope.freq_base", 0) == 10000.0);
    CHECK(f->get_float("qwen2.attention.layer_norm_rms_epsilon", 0) == doctest::Approx(1e-6));
    CHECK(f->get_int("general.file_type", -1) == 0);
    CHECK(f->get_int("general.quantization_version", -1) == 2);
    CHECK_FALSE(f->has("qwen2.attention.key_length"));

    // Tokenizer: [PAD<id>] UNUSED fill, CONTROL for special tokens, USER_DEFINED for <think>.
    CHECK(gguf_str(*f, "tokenizer.ggml.model") == "gpt2");
    CHECK(gguf_str(*f, "tokenizer.ggml.pre") == "deepseek-r1-qwen");
    const r1::gguf::Value* tokens = f->find("tokenizer.ggml.tokens");
    const r1::gguf::Value* types = f->find("tokenizer.ggml.token_type");
    REQUIRE(tokens);
    REQUIRE(types);
    REQUIRE(tokens->count == 272);
    CHECK(tokens->strings[0] == "Ā");  // byte 0 in GPT-2's byte-to-unicode mapping
    CHECK(tokens->strings[33] == "!");
    CHECK(tokens->strings[256] == "Wh");
    CHECK(tokens->strings[262] == "<｜end▁of▁sentence｜>");
    CHECK(tokens->strings[266] == "<think>");
    CHECK(tokens->strings[271] == "[PAD271]");
    CHECK(types->int_at(0) == 1);
    CHECK(types->int_at(262) == 3);
    CHECK(types->int_at(265) == 3);
    CHECK(types->int_at(266) == 4);
    CHECK(types->int_at(267) == 4);
    CHECK(types->int_at(268) == 5);
    const r1::gguf::Value* merges = f->find("tokenizer.ggml.merges");
    REQUIRE(merges);
    REQUIRE(merges->count == 6);
    CHECK(merges->strings[0] == "W h");
    CHECK(f->get_int("tokenizer.ggml.bos_token_id", -1) == 265);
    CHECK(f->get_int("tokenizer.ggml.eos_token_id", -1) == 262);
    CHECK(f->get_int("tokenizer.ggml.padding_token_id", -1) == 262);
    CHECK(f->get_bool("tokenizer.ggml.add_bos_token", false));
    CHECK_FALSE(f->get_bool("tokenizer.ggml.add_eos_token", true));
    CHECK(gguf_str(*f, "tokenizer.chat_template") == r1_template());
    // The reference's key order: general.*, hyperparameters, file type, quantization version, tokenizer.
    CHECK(std::string(f->metadata()[0].key) == "general.architecture");
    CHECK(std::string(f->metadata().back().key) == "tokenizer.chat_template");

    // Tensor order: the file's tensors sorted by Hugging Face name (lm_head first).
    CHECK(std::string(f->tensors()[0].name) == "output.weight");
    CHECK(std::string(f->tensors()[1].name) == "token_embd.weight");
    CHECK(std::string(f->tensors()[2].name) == "blk.0.attn_norm.weight");
    check_tensors(*f, s, w, r1::DType::F32);

    // r1 loads it, tokenizes with it, recognises the R1 template and runs it.
    r1_model* m = load(out);
    int32_t ids[16];
    size_t n = 0;
    REQUIRE(r1_tokenize(m, "What is 1 + 2?", 14, 0, ids, 16, &n) == R1_OK);
    REQUIRE(n == 8);  // What, " is", " ", "1", " +", " ", "2", "?"
    CHECK(ids[0] == 258);  // "What"
    CHECK(ids[1] == 260);  // " is"
    r1_chat_message msg = {"user", "hi"};
    char text[256];
    size_t len = 0;
    REQUIRE(r1_chat_apply_template(m, &msg, 1, nullptr, text, sizeof text, &len) == R1_OK);
    CHECK(std::string(text, len) == "<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜><think>\n");
    r1_session* session = nullptr;
    REQUIRE(r1_session_create(m, nullptr, &session) == R1_OK);
    CHECK(r1_session_eval(session, ids, n, 0) == R1_OK);
    r1_session_free(session);
    r1_model_free(m);
}

TEST_CASE("convert: output types f16, bf16 and q8_0 (q8_0 keeps f16 for rows not a multiple of 32)") {
    ModelSpec s;
    s.dtype = "BF16";
    const auto w = make_weights(s, 2);
    const std::string dir = write_model("qwen2-bf16", s, w, false);
    for (const char* type : {"f16", "bf16", "q8_0"}) {
        CAPTURE(type);
        const std::string out = r1test::temp_path(std::string("qwen2-") + type + ".gguf");
        r1::convert::Options o;
        o.type = type;
        r1::convert::convert_model(dir, out, o);
        auto f = r1::gguf::File::open(out);
        const r1::DType t = std::string(type) == "f16" ? r1::DType::F16 : std::string(type) == "bf16" ? r1::DType::BF16 : r1::DType::Q8_0;
        CHECK(f->get_int("general.file_type", -1) == (t == r1::DType::F16 ? 1 : t == r1::DType::BF16 ? 32 : 7));
        check_tensors(*f, s, w, t);
        r1_model_free(load(out));
    }
    // Rows of 48 values: not a multiple of 32, so q8_0 falls back to f16 for every matrix.
    ModelSpec odd;
    odd.n_embd = 48;
    odd.n_head = 4;
    odd.n_head_kv = 2;
    odd.n_ff = 96;
    const auto w2 = make_weights(odd, 3);
    const std::string out = r1test::temp_path("qwen2-odd-q8.gguf");
    r1::convert::Options o;
    o.type = "q8_0";
    r1::convert::convert_model(write_model("qwen2-odd", odd, w2, false), out, o);
    auto f = r1::gguf::File::open(out);
    CHECK(f->find_tensor("blk.0.attn_q.weight")->type == r1::DType::F16);
    CHECK(f->find_tensor("blk.0.ffn_down.weight")->type == r1::DType::Q8_0);  // rows of 96
}

TEST_CASE("convert: llama (q/k rows permuted, llama3 rope factors) and qwen3 (q/k norms, head_dim, tied)") {
    ModelSpec l;
    l.arch = "LlamaForCausalLM";
    l.biases = false;
    l.dtype = "F16";
    l.rope_scaling = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                      {"original_max_position_embeddings", 8192}};
    const auto wl = make_weights(l, 4);
    const std::string out = r1test::temp_path("llama.gguf");
    r1::convert::Options o;
    o.type = "f16";
    const auto r = r1::convert::convert_model(write_model("llama-hf", l, wl, false), out, o);
    CHECK(r.pre_tokenizer == "llama-bpe");
    {
        auto f = r1::gguf::File::open(out);
        CHECK(f->get_int("llama.vocab_size", 0) == 272);
        CHECK(f->get_int("llama.rope.dimension_count", 0) == 8);
        CHECK(std::string(f->tensors()[0].name) == "rope_freqs.weight");
        const r1::gguf::TensorInfo* rf = f->find_tensor("rope_freqs.weight");
        REQUIRE(rf);
        CHECK(rf->ne[0] == 4);
        check_tensors(*f, l, wl, r1::DType::F16);
        r1_model_free(load(out));
    }

    ModelSpec q;
    q.arch = "Qwen3ForCausalLM";
    q.biases = false;
    q.qk_norm = true;
    q.tied = true;
    q.head_dim = 16;  // 4 heads x 16 = 64 != hidden 32, as Qwen3 allows
    const auto wq = make_weights(q, 5);
    const std::string out3 = r1test::temp_path("qwen3.gguf");
    r1::convert::convert_model(write_model("qwen3-hf", q, wq, false), out3, o);
    auto f = r1::gguf::File::open(out3);
    CHECK(f->get_int("qwen3.attention.key_length", 0) == 16);
    CHECK(f->get_int("qwen3.attention.value_length", 0) == 16);
    CHECK(f->find_tensor("blk.1.attn_q_norm.weight") != nullptr);
    CHECK(f->find_tensor("blk.1.attn_k_norm.weight") != nullptr);
    check_tensors(*f, q, wq, r1::DType::F16);
    r1_model_free(load(out3));
}

TEST_CASE("convert: llama3 rope_freqs equal the reference's (fixtures' llama-tiny)") {
    R1_REQUIRE_FIXTURES(fixtures);
    auto ref = r1::gguf::File::open(fixtures + "/models/llama-tiny-F16.gguf");
    const r1::gguf::TensorInfo* want = ref->find_tensor("rope_freqs.weight");
    REQUIRE(want);
    // The fixture's shape: 256 wide, 2 heads of 128, base 500000, factor 8 / 1 / 4 / 8192.
    ModelSpec l;
    l.arch = "LlamaForCausalLM";
    l.biases = false;
    l.n_embd = 256;
    l.n_head = 2;
    l.n_head_kv = 1;
    l.n_layers = 1;
    l.n_ff = 32;
    l.rope_scaling = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                      {"original_max_position_embeddings", 8192}};
    const auto w = make_weights(l, 6);
    const std::string dir = write_model("llama-rope", l, w, false);
    json c = r1::convert::read_json_file(dir + "/config.json");
    c["rope_theta"] = 500000.0;
    write_text(dir + "/config.json", c.dump());
    const std::string out = r1test::temp_path("llama-rope.gguf");
    r1::convert::convert_model(dir, out, {});
    auto f = r1::gguf::File::open(out);
    const r1::gguf::TensorInfo* got = f->find_tensor("rope_freqs.weight");
    REQUIRE(got);
    REQUIRE(got->ne[0] == want->ne[0]);
    const float* a = reinterpret_cast<const float*>(f->tensor_data(*got));
    const float* b = reinterpret_cast<const float*>(ref->tensor_data(*want));
    int exact = 0;
    for (int64_t i = 0; i < got->ne[0]; ++i) {
        CHECK(a[i] == b[i]);
        exact += a[i] == b[i];
    }
    MESSAGE("rope_freqs: " << exact << " of " << got->ne[0] << " factors bit-identical to the reference's");
}

TEST_CASE("convert: sharded safetensors give the same tensors as one file") {
    ModelSpec s;
    const auto w = make_weights(s, 7);
    const std::string one = r1test::temp_path("one.gguf"), two = r1test::temp_path("two.gguf");
    r1::convert::convert_model(write_model("one-file", s, w, false), one, {});
    r1::convert::convert_model(write_model("two-files", s, w, true), two, {});
    auto a = r1::gguf::File::open(one);
    auto b = r1::gguf::File::open(two);
    REQUIRE(a->tensors().size() == b->tensors().size());
    for (const r1::gguf::TensorInfo& t : a->tensors()) {
        const r1::gguf::TensorInfo* u = b->find_tensor(t.name);
        REQUIRE(u);
        REQUIRE(u->size == t.size);
        CHECK(std::memcmp(a->tensor_data(t), b->tensor_data(*u), t.size) == 0);
    }
    check_tensors(*b, s, w, r1::DType::F16);
}

TEST_CASE("convert: bad input is an error, and no output file is left behind") {
    ModelSpec s;
    const auto w = make_weights(s, 8);
    const std::string out = r1test::temp_path("bad.gguf");

    CHECK(convert_status(r1test::temp_path("no-such-folder"), out) == R1_ERR_NOT_FOUND);

    std::string dir = write_model("bad-arch", s, w, false);
    json c = r1::convert::read_json_file(dir + "/config.json");
    c["architectures"] = {"GPTNeoXForCausalLM"};
    write_text(dir + "/config.json", c.dump());
    CHECK(convert_status(dir, out) == R1_ERR_UNSUPPORTED);

    dir = write_model("bad-header", s, w, false);
    write_text(dir + "/model.safetensors", std::string("\xff\xff\xff\xff\x00\x00\x00\x00{}", 10));
    CHECK(convert_status(dir, out) == R1_ERR_FORMAT);

    dir = write_model("bad-offsets", s, w, false);
    {
        std::vector<unsigned char> bytes;
        REQUIRE(r1test::read_file(dir + "/model.safetensors", bytes));
        bytes.resize(bytes.size() - 16);  // the last tensor's data runs past the end
        REQUIRE(r1test::write_file(dir + "/model.safetensors", bytes.data(), bytes.size()));
    }
    CHECK(convert_status(dir, out) == R1_ERR_FORMAT);

    dir = write_model("bad-name", s, w, false);
    {
        auto w2 = w;
        std::mt19937 rng(1);
        w2.push_back(make_tensor(rng, "model.vision_tower.weight", "F32", {4}));
        write_safetensors(dir + "/model.safetensors", w2);
    }
    CHECK(convert_status(dir, out) == R1_ERR_UNSUPPORTED);

    dir = write_model("bad-dtype", s, w, false);
    {
        std::string h = R"({"model.norm.weight":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})";
        std::string file(8, '\0');
        const uint64_t n = h.size();
        std::memcpy(file.data(), &n, 8);
        write_text(dir + "/model.safetensors", file + h + std::string(16, '\0'));
    }
    CHECK(convert_status(dir, out) == R1_ERR_UNSUPPORTED);

    dir = write_model("bad-shape", s, w, false);
    c = r1::convert::read_json_file(dir + "/config.json");
    c["hidden_size"] = 64;  // the embeddings are 32 wide
    write_text(dir + "/config.json", c.dump());
    CHECK(convert_status(dir, out) == R1_ERR_FORMAT);

    dir = write_model("bad-tokenizer", s, w, false);
    std::remove((dir + "/tokenizer.json").c_str());
    CHECK(convert_status(dir, out) == R1_ERR_NOT_FOUND);

    dir = write_model("bad-pre", s, w, false);
    json t = r1::convert::read_json_file(dir + "/tokenizer.json");
    t["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+";
    write_text(dir + "/tokenizer.json", t.dump());
    CHECK(convert_status(dir, out) == R1_ERR_UNSUPPORTED);

    dir = write_model("bad-index", s, w, true);
    json index = r1::convert::read_json_file(dir + "/model.safetensors.index.json");
    index["weight_map"]["model.extra.weight"] = "model-00001-of-00002.safetensors";
    write_text(dir + "/model.safetensors.index.json", index.dump());
    CHECK(convert_status(dir, out) == R1_ERR_FORMAT);

    CHECK(convert_status(write_model("bad-type", s, w, false), out, "q4_0") == R1_ERR_INVALID_ARGUMENT);
    CHECK_FALSE(file_exists(out));
}

TEST_CASE("convert: r1-tiny round trip (GGUF -> safetensors folder -> r1 convert -> the same GGUF content)") {
    const std::string model = std::string(R1_SOURCE_DIR) + "/models/r1-tiny.gguf";
    if (!file_exists(model)) {
        MESSAGE("SKIPPED: models/r1-tiny.gguf not found");
        return;
    }
    auto src = r1::gguf::File::open(model);
    REQUIRE(gguf_str(*src, "general.architecture") == "qwen2");
    // Rebuild the Hugging Face folder: names mapped back, config from the hyperparameters, tokenizer.json from
    // the vocabulary (NORMAL tokens in the model, CONTROL / USER_DEFINED ones as added tokens, no [PAD] ids).
    const std::map<std::string, std::string> back = {
        {"token_embd.weight", "model.embed_tokens.weight"}, {"output_norm.weight", "model.norm.weight"},
        {"output.weight", "lm_head.weight"}};
    const std::map<std::string, std::string> layer_back = {
        {"attn_norm", "input_layernorm"}, {"attn_q", "self_attn.q_proj"}, {"attn_k", "self_attn.k_proj"},
        {"attn_v", "self_attn.v_proj"}, {"attn_output", "self_attn.o_proj"}, {"ffn_norm", "post_attention_layernorm"},
        {"ffn_gate", "mlp.gate_proj"}, {"ffn_up", "mlp.up_proj"}, {"ffn_down", "mlp.down_proj"}};
    std::vector<SrcTensor> tensors;
    for (const r1::gguf::TensorInfo& t : src->tensors()) {
        REQUIRE(t.type == r1::DType::F32);
        std::string name(t.name);
        std::string hf;
        if (back.count(name)) {
            hf = back.at(name);
        } else {
            const size_t a = name.find('.', 4), b = name.rfind('.');
            hf = "model.layers." + name.substr(4, a - 4) + "." + layer_back.at(name.substr(a + 1, b - a - 1)) +
                 name.substr(b);
        }
        SrcTensor st{hf, "F32", {}, gguf_values(*src, t)};
        for (int d = t.n_dims - 1; d >= 0; --d) st.shape.push_back(t.ne[d]);
        tensors.push_back(std::move(st));
    }
    const std::string dir = folder_path("r1-tiny");
    write_safetensors(dir + "/model.safetensors", tensors);
    const std::string A = "qwen2.";
    json config = {{"architectures", {"Qwen2ForCausalLM"}},
                   {"hidden_size", src->get_int(A + "embedding_length", 0)},
                   {"intermediate_size", src->get_int(A + "feed_forward_length", 0)},
                   {"num_hidden_layers", src->get_int(A + "block_count", 0)},
                   {"num_attention_heads", src->get_int(A + "attention.head_count", 0)},
                   {"num_key_value_heads", src->get_int(A + "attention.head_count_kv", 0)},
                   {"max_position_embeddings", src->get_int(A + "context_length", 0)},
                   {"rms_norm_eps", src->get_float(A + "attention.layer_norm_rms_epsilon", 0)},
                   {"rope_theta", src->get_float(A + "rope.freq_base", 0)},
                   {"tie_word_embeddings", src->find_tensor("output.weight") == nullptr},
                   {"vocab_size", src->find("tokenizer.ggml.tokens")->count}};
    write_text(dir + "/config.json", config.dump(1));
    const r1::gguf::Value* tokens = src->find("tokenizer.ggml.tokens");
    const r1::gguf::Value* types = src->find("tokenizer.ggml.token_type");
    json vocab = json::object(), added = json::array(), merges = json::array();
    for (uint64_t i = 0; i < tokens->count; ++i) {
        const std::string tok(tokens->strings[i]);
        const int64_t type = types->int_at(i);
        if (type == 1) vocab[tok] = i;
        else if (type == 3 || type == 4) added.push_back({{"id", i}, {"content", tok}, {"special", type == 3}});
    }
    for (std::string_view m : src->find("tokenizer.ggml.merges")->strings) merges.push_back(std::string(m));
    const std::string pre = gguf_str(*src, "tokenizer.ggml.pre");
    json tj = {{"added_tokens", added},
               {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Split"}, {"pattern", {{"Regex", kQwen2Regex}}}},
                                                                            {{"type", "ByteLevel"}, {"use_regex", false}}}}}},
               {"decoder", {{"type", "ByteLevel"}}},
               {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
    write_text(dir + "/tokenizer.json", tj.dump());
    const auto id_text = [&](const char* key) { return std::string(tokens->strings[size_t(src->get_int(key, 0))]); };
    json tc = {{"add_bos_token", src->get_bool("tokenizer.ggml.add_bos_token", false)},
               {"add_eos_token", src->get_bool("tokenizer.ggml.add_eos_token", false)},
               {"bos_token", id_text("tokenizer.ggml.bos_token_id")},
               {"eos_token", id_text("tokenizer.ggml.eos_token_id")},
               {"pad_token", id_text("tokenizer.ggml.padding_token_id")},
               {"chat_template", gguf_str(*src, "tokenizer.chat_template")}};
    write_text(dir + "/tokenizer_config.json", tc.dump());

    const std::string out = r1test::temp_path("r1-tiny-roundtrip.gguf");
    r1::convert::Options o;
    o.type = "f32";
    o.name = gguf_str(*src, "general.name");
    r1::convert::convert_model(dir, out, o);
    auto f = r1::gguf::File::open(out);
    // Same metadata, key by key (values compared as encoded), and the same tensors byte for byte.
    REQUIRE(f->metadata().size() == src->metadata().size());
    for (const r1::gguf::KeyValue& kv : src->metadata()) {
        CAPTURE(kv.key);
        const r1::gguf::Value* v = f->find(kv.key);
        REQUIRE(v);
        CHECK(v->type == kv.value.type);
        CHECK(v->count == kv.value.count);
        CHECK(v->str == kv.value.str);
        CHECK(v->num.u64 == kv.value.num.u64);
        CHECK(v->raw == kv.value.raw);
        CHECK(v->strings == kv.value.strings);
    }
    REQUIRE(f->tensors().size() == src->tensors().size());
    for (size_t i = 0; i < f->tensors().size(); ++i) {
        const r1::gguf::TensorInfo& a = src->tensors()[i];
        const r1::gguf::TensorInfo& b = f->tensors()[i];
        CHECK(a.name == b.name);
        REQUIRE(a.size == b.size);
        CHECK(std::memcmp(src->tensor_data(a), f->tensor_data(b), a.size) == 0);
    }
    CHECK(src->fingerprint() == f->fingerprint());
}

#else

TEST_CASE("convert: not built") { MESSAGE("SKIPPED: r1-convert was not built (nlohmann-json3-dev missing)"); }

#endif
