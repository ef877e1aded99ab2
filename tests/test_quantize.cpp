// The quantizer (src/quantize, r1_model_quantize) against llama-quantize's output in ../shared/fixtures/models:
// per-tensor types and tensor order for every fixture file, identical bytes where the types agree (they all do),
// reconstruction error per type within 5% of the reference's, identical logits, and the failure paths
// (cancellation, bad input, unwritable output) leaving no file behind.
#include <doctest/doctest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../backends/cpu/quants/quants.h"
#include "error.h"
#include "gguf/gguf.h"
#include "quantize/quantize.h"
#include "quantize/rules.h"
#include "r1.h"
#include "synth/synth.h"
#include "test_util.h"

namespace {

using r1::DType;
namespace q = r1::quantize;

nlohmann::json read_json(const std::string& path) {
    std::ifstream f(path);
    return nlohmann::json::parse(f);
}

// The fixtures' type names ("Q4_K", "IQ4_XS", "F32") for a DType.
std::string upper_name(DType t) {
    std::string s = r1::traits(t).name;
    for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

bool same_file(const std::string& a, const std::string& b) {
    std::vector<unsigned char> x, y;
    return r1test::read_file(a, x) && r1test::read_file(b, y) && x == y;
}

bool file_exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

// A fresh empty folder under the per-process temporary folder.
std::string fresh_dir(const std::string& name) {
    std::string dir = r1test::temp_path(name);
    ::mkdir(dir.c_str(), 0777);
    return dir;
}

std::vector<std::string> dir_entries(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d))
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out.push_back(e->d_name);
        ::closedir(d);
    }
    return out;
}

struct LogCapture {
    std::vector<std::string> lines;
    static void fn(void* user, r1_log_level, const char* message) {
        static_cast<LogCapture*>(user)->lines.push_back(message);
    }
    bool contains(const char* part) const {
        for (const std::string& l : lines)
            if (l.find(part) != std::string::npos) return true;
        return false;
    }
};

r1_status quantize(const std::string& in, const std::string& out, const char* type, int threads = 2,
                   LogCapture* log = nullptr, int allow_requantize = 0) {
    r1_quantize_params p;
    r1_quantize_params_init(&p);
    p.type = type;
    p.n_threads = threads;
    p.allow_requantize = allow_requantize;
    if (log) {
        p.log_callback = LogCapture::fn;
        p.log_user_data = log;
        p.log_level = R1_LOG_DEBUG;
    }
    return r1_model_quantize(in.c_str(), out.c_str(), &p);
}

void quantize_ok(const std::string& in, const std::string& out, const char* type, int threads = 2) {
    r1_status st = quantize(in, out, type, threads);
    REQUIRE_MESSAGE(st == R1_OK, type, ": ", r1_last_error());
}

// Every tensor of a file as floats, by name.
std::map<std::string, std::vector<float>> read_weights(const std::string& path) {
    auto file = r1::gguf::File::open(path);
    std::map<std::string, std::vector<float>> out;
    for (const r1::gguf::TensorInfo& t : file->tensors()) {
        std::vector<float> v(size_t(t.n_elements()));
        REQUIRE(r1::cpu::dequantize_row(t.type, file->tensor_data(t), v.data(), int64_t(v.size())));
        out[std::string(t.name)] = std::move(v);
    }
    return out;
}

// ||w - ref|| / ||ref|| over all weights of the model.
double model_error(const std::map<std::string, std::vector<float>>& w,
                   const std::map<std::string, std::vector<float>>& ref) {
    double num = 0, den = 0;
    for (const auto& kv : ref) {
        auto it = w.find(kv.first);
        REQUIRE_MESSAGE(it != w.end(), kv.first);
        REQUIRE(it->second.size() == kv.second.size());
        for (size_t i = 0; i < kv.second.size(); ++i) {
            double d = double(it->second[i]) - double(kv.second[i]);
            num += d * d;
            den += double(kv.second[i]) * double(kv.second[i]);
        }
    }
    return std::sqrt(num / den);
}

std::vector<float> prompt_logits(const std::string& path, const std::vector<int32_t>& prompt) {
    r1_model_params mp;
    r1_model_params_init(&mp);
    r1_model* model = nullptr;
    REQUIRE_MESSAGE(r1_model_load(path.c_str(), &mp, &model) == R1_OK, r1_last_error());
    r1_session_params sp;
    r1_session_params_init(&sp);
    sp.n_threads = 2;
    sp.n_ctx = 64;
    r1_session* session = nullptr;
    REQUIRE_MESSAGE(r1_session_create(model, &sp, &session) == R1_OK, r1_last_error());
    REQUIRE(r1_session_eval(session, prompt.data(), prompt.size(), R1_EVAL_ALL_LOGITS) == R1_OK);
    std::vector<float> all;
    for (size_t i = 0; i < prompt.size(); ++i) {
        const float* logits = nullptr;
        int64_t n = 0;
        REQUIRE(r1_session_logits(session, int64_t(i), &logits, &n) == R1_OK);
        all.insert(all.end(), logits, logits + n);
    }
    r1_session_free(session);
    r1_model_free(model);
    return all;
}

// The fixture files llama-quantize wrote, with the F32 source each was (or, for llama/qwen3, is taken to be)
// quantized from. llama-tiny and qwen3-tiny have no F32 file: their F16 files are converted to F32 once, so
// their quantized tensors are not the reference's bytes (F16 rounding), only their types must agree.
struct FixtureSet {
    std::string dir;    // the fixtures' models/
    std::string work;   // our temporary folder
    std::string source(const std::string& model) {
        if (model == "qwen2-tiny") return dir + "/qwen2-tiny-F32.gguf";
        std::string path = work + "/" + model + "-F32.gguf";
        if (!file_exists(path)) quantize_ok(dir + "/" + model + "-F16.gguf", path, "F32");
        return path;
    }
};

const char* kFixtureFiles[] = {
    "qwen2-tiny-F16",    "qwen2-tiny-BF16",   "qwen2-tiny-Q8_0",   "qwen2-tiny-Q4_0",   "qwen2-tiny-Q4_1",
    "qwen2-tiny-Q5_0",   "qwen2-tiny-Q5_1",   "qwen2-tiny-Q2_K",   "qwen2-tiny-Q3_K_M", "qwen2-tiny-Q4_K_M",
    "qwen2-tiny-Q5_K_M", "qwen2-tiny-Q6_K",   "qwen2-tiny-IQ4_NL", "qwen2-tiny-IQ4_XS", "llama-tiny-F16",
    "llama-tiny-Q8_0",   "llama-tiny-Q4_K_M", "llama-tiny-Q6_K",   "qwen3-tiny-F16",    "qwen3-tiny-Q8_0",
    "qwen3-tiny-Q4_K_M",
};

std::string model_of(const std::string& file) { return file.substr(0, file.find("-tiny") + 5); }

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Targets and rules (no files)
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("quantize: target names, aliases and the C list") {
    CHECK(q::find_target("Q4_K_M")->file_type == 15);
    CHECK(std::string(q::find_target("q4_k_m")->name) == "Q4_K_M");
    CHECK(std::string(q::find_target("Q4_K")->name) == "Q4_K_M");
    CHECK(std::string(q::find_target("Q5_K")->name) == "Q5_K_M");
    CHECK(std::string(q::find_target("Q3_K")->name) == "Q3_K_M");
    CHECK(q::find_target("Q9_9") == nullptr);
    CHECK(q::find_target("IQ2_XXS") == nullptr);
    CHECK(q::is_known_unsupported_target("iq2_xxs"));

    const int32_t n = r1_quantize_type_count();
    CHECK(n == 19);
    for (int32_t i = 0; i < n; ++i) {
        const char* name = r1_quantize_type_name(i);
        REQUIRE(name != nullptr);
        CAPTURE(name);
        CHECK(std::strlen(r1_quantize_type_description(i)) > 0);
        // The name of the file type it writes is the target's own name: r1_file_type_name gives valid targets.
        CHECK(std::string(r1_file_type_name(r1_quantize_type_file_type(i))) == name);
    }
    CHECK(r1_quantize_type_name(n) == nullptr);
    CHECK(r1_quantize_type_name(-1) == nullptr);
    CHECK(r1_quantize_type_description(n) == nullptr);
    CHECK(r1_quantize_type_file_type(n) == -1);
}

TEST_CASE("quantize: the reference's tensor order") {
    std::vector<std::string> names = {"blk.10.attn_q.weight", "token_embd.weight", "blk.2.ffn_up.weight",
                                      "output.weight", "blk.2.attn_k.weight", "output_norm.weight",
                                      "rope_freqs.weight", "blk.0.attn_k_norm.weight", "blk.0.attn_k.weight"};
    std::sort(names.begin(), names.end(), q::reference_less);
    const std::vector<std::string> expected = {"output.weight", "output_norm.weight", "rope_freqs.weight",
                                               "token_embd.weight", "blk.0.attn_k.weight",
                                               "blk.0.attn_k_norm.weight", "blk.2.attn_k.weight",
                                               "blk.2.ffn_up.weight", "blk.10.attn_q.weight"};
    CHECK(names == expected);
}

TEST_CASE("quantize: which tensors are quantized at all") {
    auto desc = [](const char* name, int64_t ne0, int64_t ne1) {
        q::TensorDesc d;
        d.name = name;
        d.ne[0] = ne0;
        d.ne[1] = ne1;
        return d;
    };
    CHECK(q::is_quantizable(desc("blk.0.attn_q.weight", 256, 256)));
    CHECK(q::is_quantizable(desc("token_embd.weight", 256, 512)));
    CHECK_FALSE(q::is_quantizable(desc("blk.0.attn_norm.weight", 256, 1)));
    CHECK_FALSE(q::is_quantizable(desc("blk.0.attn_q_norm.weight", 128, 1)));
    CHECK_FALSE(q::is_quantizable(desc("blk.0.attn_q.bias", 256, 1)));
    CHECK_FALSE(q::is_quantizable(desc("rope_freqs.weight", 64, 1)));
    CHECK_FALSE(q::is_quantizable(desc("blk.0.ffn_gate_inp.weight", 256, 8)));
    CHECK_FALSE(q::is_quantizable(desc("blk.0.weird", 256, 256)));   // not "...weight"
    CHECK_FALSE(q::is_quantizable(desc("blk.0.attn_q.weight", 256, 1)));  // a matrix of one row counts as 1-D
}

namespace {

// The tensors of a qwen2-style model (bias-free for brevity) with `layers` blocks, in converter order.
std::vector<q::TensorDesc> model_tensors(int layers, int64_t embd, int64_t kv_dim, int64_t ff, bool tied) {
    std::vector<q::TensorDesc> out;
    auto add = [&](std::string name, int64_t ne0, int64_t ne1) {
        q::TensorDesc d;
        d.name = std::move(name);
        d.ne[0] = ne0;
        d.ne[1] = ne1;
        out.push_back(d);
    };
    add("token_embd.weight", embd, 1000);
    for (int l = 0; l < layers; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        add(b + "attn_norm.weight", embd, 1);
        add(b + "attn_q.weight", embd, embd);
        add(b + "attn_k.weight", embd, kv_dim);
        add(b + "attn_v.weight", embd, kv_dim);
        add(b + "attn_output.weight", embd, embd);
        add(b + "ffn_gate.weight", embd, ff);
        add(b + "ffn_up.weight", embd, ff);
        add(b + "ffn_down.weight", ff, embd);
    }
    add("output_norm.weight", embd, 1);
    if (!tied) add("output.weight", embd, 1000);
    return out;
}

// name -> type name under a target.
std::map<std::string, std::string> types_of(const char* target, const q::ModelShape& shape,
                                            const std::vector<q::TensorDesc>& tensors) {
    const std::vector<q::Choice> c = q::choose_types(*q::find_target(target), shape, tensors);
    std::map<std::string, std::string> out;
    for (size_t i = 0; i < tensors.size(); ++i) out[tensors[i].name] = upper_name(c[i].type);
    return out;
}

std::string layer_types(const std::map<std::string, std::string>& types, const char* kind, int layers) {
    std::string s;
    for (int l = 0; l < layers; ++l) s += (l ? " " : "") + types.at("blk." + std::to_string(l) + "." + kind);
    return s;
}

}  // namespace

TEST_CASE("quantize: mix rules on the DeepSeek-R1-Distill-Qwen-1.5B shape (28 layers, 12/2 heads)") {
    q::ModelShape shape;
    shape.arch = "qwen2";
    shape.n_layers = 28;
    shape.n_heads = 12;
    shape.n_kv_heads = 2;
    const auto tensors = model_tensors(28, 1536, 256, 8960, false);

    // Q4_K_M: Q6_K for the layers use_more_bits picks: 0-2, 24-27 and every third from 5.
    const std::string more = "Q6_K Q6_K Q6_K Q4_K Q4_K Q6_K Q4_K Q4_K Q6_K Q4_K Q4_K Q6_K Q4_K Q4_K Q6_K Q4_K Q4_K "
                             "Q6_K Q4_K Q4_K Q6_K Q4_K Q4_K Q6_K Q6_K Q6_K Q6_K Q6_K";
    auto t = types_of("Q4_K_M", shape, tensors);
    CHECK(layer_types(t, "attn_v.weight", 28) == more);
    CHECK(layer_types(t, "ffn_down.weight", 28) == more);
    CHECK(t["output.weight"] == "Q6_K");
    CHECK(t["token_embd.weight"] == "Q4_K");
    CHECK(t["blk.3.attn_q.weight"] == "Q4_K");
    CHECK(t["blk.3.attn_norm.weight"] == "F32");

    // GQA >= 4: Q2_K gives attn_v Q4_K; IQ4_NL/IQ4_XS give attn_v Q5_K and the first 28/8 = 3 ffn_down Q5_K.
    t = types_of("Q2_K", shape, tensors);
    CHECK(t["blk.7.attn_v.weight"] == "Q4_K");
    CHECK(t["blk.7.ffn_down.weight"] == "Q3_K");
    CHECK(t["blk.7.attn_output.weight"] == "Q3_K");
    CHECK(t["blk.7.ffn_up.weight"] == "Q2_K");
    t = types_of("IQ4_NL", shape, tensors);
    CHECK(t["blk.7.attn_v.weight"] == "Q5_K");
    CHECK(layer_types(t, "ffn_down.weight", 4) == "Q5_K Q5_K Q5_K IQ4_NL");
    CHECK(t["output.weight"] == "Q6_K");

    t = types_of("Q4_K_S", shape, tensors);
    CHECK(layer_types(t, "attn_v.weight", 5) == "Q5_K Q5_K Q5_K Q5_K Q4_K");
    CHECK(layer_types(t, "ffn_down.weight", 4) == "Q5_K Q5_K Q5_K Q4_K");
    t = types_of("Q3_K_M", shape, tensors);
    CHECK(layer_types(t, "attn_v.weight", 3) == "Q5_K Q5_K Q4_K");
    CHECK(layer_types(t, "ffn_down.weight", 3) == "Q5_K Q4_K Q4_K");  // layer < 28/16
    CHECK(t["blk.9.attn_output.weight"] == "Q4_K");
    t = types_of("Q3_K_L", shape, tensors);
    CHECK(t["blk.9.attn_v.weight"] == "Q5_K");
    CHECK(t["blk.9.ffn_down.weight"] == "Q5_K");
    CHECK(t["blk.9.attn_output.weight"] == "Q5_K");
    t = types_of("Q8_0", shape, tensors);
    CHECK(t["output.weight"] == "Q8_0");
    t = types_of("F16", shape, tensors);
    CHECK(t["output.weight"] == "F16");
    CHECK(t["blk.0.attn_norm.weight"] == "F32");

    // Tied embeddings: token_embd doubles as the output and gets its rule.
    t = types_of("Q4_K_M", shape, model_tensors(28, 1536, 256, 8960, true));
    CHECK(t["token_embd.weight"] == "Q6_K");

    // 80-layer qwen2 / llama (with GQA) models are "70B": their Q3_K/Q4_K attn_v get Q5_K.
    shape.n_layers = 80;
    shape.n_heads = 64;
    shape.n_kv_heads = 8;
    t = types_of("Q4_K_S", shape, model_tensors(80, 512, 64, 1024, false));
    CHECK(t["blk.40.attn_v.weight"] == "Q5_K");
    shape.arch = "qwen3";
    t = types_of("Q4_K_S", shape, model_tensors(80, 512, 64, 1024, false));
    CHECK(t["blk.40.attn_v.weight"] == "Q4_K");
}

TEST_CASE("quantize: fallbacks for rows that do not fill a block") {
    q::ModelShape shape;
    shape.arch = "qwen2";
    shape.n_layers = 2;
    shape.n_heads = 2;
    shape.n_kv_heads = 1;
    // Rows of 160 (ffn_down: 320): multiples of 32, not of 256.
    const auto tensors = model_tensors(2, 160, 80, 320, false);
    auto t = types_of("Q4_K_M", shape, tensors);
    CHECK(t["blk.0.attn_q.weight"] == "Q5_0");    // Q4_K -> Q5_0
    CHECK(t["blk.1.attn_v.weight"] == "Q8_0");    // Q6_K -> Q8_0
    CHECK(t["blk.1.ffn_down.weight"] == "Q8_0");
    CHECK(t["output.weight"] == "Q8_0");          // the output rule itself picks Q8_0
    t = types_of("Q5_K_S", shape, tensors);
    CHECK(t["blk.0.attn_q.weight"] == "Q5_1");
    t = types_of("Q2_K", shape, tensors);
    CHECK(t["blk.0.attn_q.weight"] == "IQ4_NL");
    CHECK(t["blk.0.attn_v.weight"] == "IQ4_NL");  // Q3_K -> IQ4_NL
    t = types_of("IQ4_XS", shape, tensors);
    CHECK(t["blk.0.attn_q.weight"] == "IQ4_NL");

    // Rows of 48: not even a multiple of 32. K-quants end at F16; Q8_0 and the legacy types have no fallback (an
    // error, as in llama-quantize), and the output rule picks Q8_0 for such rows, so no target takes a model with
    // an output (or token embedding) of 48 columns.
    std::vector<q::TensorDesc> odd;
    for (const q::TensorDesc& d : model_tensors(2, 48, 48, 96, false))
        if (d.name != "output.weight" && d.name != "token_embd.weight") odd.push_back(d);
    t = types_of("Q4_K_M", shape, odd);
    CHECK(t["blk.0.attn_q.weight"] == "F16");
    CHECK(t["blk.1.attn_v.weight"] == "F16");
    CHECK_THROWS_AS(types_of("Q4_0", shape, odd), r1::Error);
    CHECK_THROWS_AS(types_of("Q4_K_M", shape, model_tensors(2, 48, 48, 96, false)), r1::Error);
}

// ---------------------------------------------------------------------------------------------------------------
// Against the fixtures
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("quantize: types, tensor order and metadata equal llama-quantize's for every fixture file") {
    R1_REQUIRE_FIXTURES(fixtures);
    FixtureSet set{fixtures + "/models", fresh_dir("types")};
    for (const std::string name : kFixtureFiles) {
        CAPTURE(name);
        const nlohmann::json meta = read_json(set.dir + "/" + name + ".json");
        const std::string type = meta["llama_quantize_type"];
        const std::string out = set.work + "/" + name + ".gguf";
        quantize_ok(set.source(model_of(name)), out, type.c_str());

        auto ours = r1::gguf::File::open(out);
        auto ref = r1::gguf::File::open(set.dir + "/" + name + ".gguf");
        // Types per tensor, and the order, against the JSON (which lists tensors in the file's order).
        std::vector<std::string> order;
        int agree = 0, total = 0;
        for (const r1::gguf::TensorInfo& t : ours->tensors()) order.emplace_back(t.name);
        for (auto it = meta["tensor_types"].begin(); it != meta["tensor_types"].end(); ++it) {
            ++total;
            const r1::gguf::TensorInfo* t = ours->find_tensor(it.key());
            REQUIRE_MESSAGE(t != nullptr, it.key());
            const std::string got = upper_name(t->type);
            if (got == it.value().get<std::string>()) ++agree;
            else MESSAGE(name, ": ", it.key(), " is ", got, ", llama-quantize chose ", it.value().get<std::string>());
        }
        MESSAGE(name, ": ", agree, "/", total, " tensor types agree");
        CHECK(agree == total);
        CHECK(size_t(total) == ours->tensors().size());
        std::vector<std::string> ref_order;
        for (const r1::gguf::TensorInfo& t : ref->tensors()) ref_order.emplace_back(t.name);
        CHECK(order == ref_order);
        // Metadata: the same keys in the same order (file_type and quantization_version last).
        REQUIRE(ours->metadata().size() == ref->metadata().size());
        for (size_t i = 0; i < ours->metadata().size(); ++i) CHECK(ours->metadata()[i].key == ref->metadata()[i].key);
        CHECK(ours->get_int("general.file_type", -1) == ref->get_int("general.file_type", -2));
        CHECK(ours->get_int("general.quantization_version", -1) == 2);
    }
}

TEST_CASE("quantize: the qwen2-tiny files are byte for byte llama-quantize's, with any thread count") {
    R1_REQUIRE_FIXTURES(fixtures);
    const std::string dir = fixtures + "/models", work = fresh_dir("bytes");
    int threads = 1;
    for (const std::string name : kFixtureFiles) {
        if (model_of(name) != "qwen2-tiny") continue;
        CAPTURE(name);
        const nlohmann::json meta = read_json(dir + "/" + name + ".json");
        const std::string type = meta["llama_quantize_type"];
        const std::string out = work + "/" + name + ".gguf";
        quantize_ok(dir + "/qwen2-tiny-F32.gguf", out, type.c_str(), threads);
        threads = threads % 4 + 1;
        if (same_file(out, dir + "/" + name + ".gguf")) continue;
        // Name the tensors that differ.
        auto ours = r1::gguf::File::open(out);
        auto ref = r1::gguf::File::open(dir + "/" + name + ".gguf");
        for (const r1::gguf::TensorInfo& t : ref->tensors()) {
            const r1::gguf::TensorInfo* o = ours->find_tensor(t.name);
            if (!o || o->size != t.size || std::memcmp(ours->tensor_data(*o), ref->tensor_data(t), t.size) != 0)
                MESSAGE(name, ": tensor ", std::string(t.name), " differs");
        }
        FAIL_CHECK((name + ": the file differs from llama-quantize's"));
    }
    // llama/qwen3: F16 -> F32 -> F16 gives back the fixture's F16 file exactly.
    for (const std::string model : {"llama-tiny", "qwen3-tiny"}) {
        const std::string f32 = work + "/" + model + "-F32.gguf", f16 = work + "/" + model + "-F16.gguf";
        quantize_ok(dir + "/" + model + "-F16.gguf", f32, "F32");
        quantize_ok(f32, f16, "F16", 3);
        CHECK_MESSAGE(same_file(f16, dir + "/" + model + "-F16.gguf"), model);
    }
}

TEST_CASE("quantize: reconstruction error per type within 5% of llama-quantize's") {
    R1_REQUIRE_FIXTURES(fixtures);
    FixtureSet set{fixtures + "/models", fresh_dir("error")};
    std::map<std::string, std::map<std::string, std::vector<float>>> sources;
    for (const std::string name : kFixtureFiles) {
        CAPTURE(name);
        const std::string model = model_of(name);
        if (!sources.count(model)) sources[model] = read_weights(set.source(model));
        const nlohmann::json meta = read_json(set.dir + "/" + name + ".json");
        const std::string type = meta["llama_quantize_type"];
        const std::string out = set.work + "/" + name + ".gguf";
        quantize_ok(set.source(model), out, type.c_str());
        const double ours = model_error(read_weights(out), sources[model]);
        const double ref = model_error(read_weights(set.dir + "/" + name + ".gguf"), sources[model]);
        MESSAGE(name, ": rel L2 error r1 ", ours, ", llama-quantize ", ref);
        CHECK(ours <= ref * 1.05 + 1e-12);
    }
    // The targets without a fixture: finite errors that order as their bits do.
    const auto& source = sources["qwen2-tiny"];
    std::map<std::string, double> err;
    for (const std::string type : {"Q3_K_S", "Q3_K_L", "Q4_K_S", "Q5_K_S", "Q3_K_M", "Q4_K_M", "Q5_K_M"}) {
        const std::string out = set.work + "/extra-" + type + ".gguf";
        quantize_ok(set.source("qwen2-tiny"), out, type.c_str());
        err[type] = model_error(read_weights(out), source);
        MESSAGE(type, ": rel L2 error ", err[type]);
    }
    CHECK(err["Q3_K_S"] > err["Q3_K_M"]);
    CHECK(err["Q3_K_M"] > err["Q3_K_L"]);
    CHECK(err["Q3_K_L"] > err["Q4_K_S"]);
    CHECK(err["Q4_K_S"] > err["Q4_K_M"]);
    CHECK(err["Q4_K_M"] > err["Q5_K_S"]);
    CHECK(err["Q5_K_S"] > err["Q5_K_M"]);
}

TEST_CASE("quantize: the output loads and its logits equal those of the reference file") {
    R1_REQUIRE_FIXTURES(fixtures);
    const std::string dir = fixtures + "/models", work = fresh_dir("logits");
    for (const std::string name : {"qwen2-tiny-Q4_K_M", "qwen2-tiny-Q2_K", "qwen2-tiny-IQ4_XS", "qwen2-tiny-Q8_0"}) {
        CAPTURE(name);
        const nlohmann::json meta = read_json(dir + "/" + name + ".json");
        const std::string type = meta["llama_quantize_type"];
        const std::string out = work + "/" + name + ".gguf";
        quantize_ok(dir + "/qwen2-tiny-F32.gguf", out, type.c_str());
        const std::vector<int32_t> prompt = meta["prompt"].get<std::vector<int32_t>>();
        const std::vector<float> ours = prompt_logits(out, prompt);
        const std::vector<float> ref = prompt_logits(dir + "/" + name + ".gguf", prompt);
        REQUIRE(ours.size() == ref.size());
        CHECK(std::memcmp(ours.data(), ref.data(), ours.size() * sizeof(float)) == 0);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Failure paths: each returns an error and leaves no file behind
// ---------------------------------------------------------------------------------------------------------------

namespace {

struct CancelAt {
    float at;
    int calls = 0;
    float last = -1;
    static int32_t fn(void* user, float progress) {
        auto* c = static_cast<CancelAt*>(user);
        ++c->calls;
        CHECK(progress >= c->last);  // rising
        c->last = progress;
        return progress >= c->at ? 1 : 0;
    }
};

}  // namespace

TEST_CASE("quantize: cancellation through the progress callback leaves no file") {
    R1_REQUIRE_FIXTURES(fixtures);
    const std::string src = fixtures + "/models/qwen2-tiny-F32.gguf";
    for (float at : {0.0f, 0.5f, 1.0f}) {
        CAPTURE(at);
        const std::string dir = fresh_dir("cancel-" + std::to_string(int(at * 10)));
        CancelAt cancel{at};
        r1_quantize_params p;
        r1_quantize_params_init(&p);
        p.type = "Q4_K_M";
        p.progress_callback = CancelAt::fn;
        p.progress_user_data = &cancel;
        CHECK(r1_model_quantize(src.c_str(), (dir + "/out.gguf").c_str(), &p) == R1_ERR_CANCELLED);
        CHECK(cancel.calls >= 1);
        CHECK(dir_entries(dir).empty());
    }
    // Without cancelling: progress reaches 1.
    const std::string dir = fresh_dir("progress");
    CancelAt never{2.0f};
    r1_quantize_params p;
    r1_quantize_params_init(&p);
    p.type = "Q8_0";
    p.progress_callback = CancelAt::fn;
    p.progress_user_data = &never;
    REQUIRE(r1_model_quantize(src.c_str(), (dir + "/out.gguf").c_str(), &p) == R1_OK);
    CHECK(never.last == 1.0f);
    CHECK(dir_entries(dir) == std::vector<std::string>{"out.gguf"});
}

TEST_CASE("quantize: bad arguments and bad input") {
    const std::string dir = fresh_dir("bad");
    const std::string out = dir + "/out.gguf";
    // Arguments.
    r1_quantize_params p;
    r1_quantize_params_init(&p);
    CHECK(r1_model_quantize("x.gguf", out.c_str(), &p) == R1_ERR_INVALID_ARGUMENT);  // no type
    p.type = "Q4_K_M";
    CHECK(r1_model_quantize(nullptr, out.c_str(), &p) == R1_ERR_INVALID_ARGUMENT);
    CHECK(r1_model_quantize("x.gguf", nullptr, &p) == R1_ERR_INVALID_ARGUMENT);
    CHECK(r1_model_quantize("x.gguf", "", &p) == R1_ERR_INVALID_ARGUMENT);
    CHECK(r1_model_quantize("x.gguf", out.c_str(), nullptr) == R1_ERR_INVALID_ARGUMENT);
    p.struct_size = 0;
    CHECK(r1_model_quantize("x.gguf", out.c_str(), &p) == R1_ERR_INVALID_ARGUMENT);
    r1_quantize_params_init(&p);

    // Not a GGUF file; a missing file.
    const std::string text = dir + "/text.gguf";
    REQUIRE(r1test::write_file(text, "hello, not a model\n", 19));
    CHECK(quantize(text, out, "Q4_K_M") == R1_ERR_FORMAT);
    CHECK(std::string(r1_last_error()).find("text.gguf") != std::string::npos);
    CHECK(quantize(dir + "/missing.gguf", out, "Q4_K_M") == R1_ERR_IO);
    CHECK(dir_entries(dir) == std::vector<std::string>{"text.gguf"});

    R1_REQUIRE_FIXTURES(fixtures);
    const std::string src = fixtures + "/models/qwen2-tiny-F32.gguf";
    // Unknown and unsupported targets.
    CHECK(quantize(src, out, "Q4_K_X") == R1_ERR_UNSUPPORTED);
    CHECK(std::string(r1_last_error()).find("Q4_K_X") != std::string::npos);
    CHECK(quantize(src, out, "IQ2_XXS") == R1_ERR_UNSUPPORTED);
    CHECK(quantize(src, out, "Q2_K_S") == R1_ERR_UNSUPPORTED);
    // An output folder that does not exist; a folder as the output.
    CHECK(quantize(src, dir + "/no/such/folder/out.gguf", "Q4_K_M") == R1_ERR_IO);
    CHECK(quantize(src, dir, "Q4_K_M") == R1_ERR_IO);
    CHECK(dir_entries(dir) == std::vector<std::string>{"text.gguf"});

    // A failure keeps an existing output file as it was.
    REQUIRE(r1test::write_file(out, "previous", 8));
    CHECK(quantize(text, out, "Q4_K_M") == R1_ERR_FORMAT);
    std::vector<unsigned char> kept;
    REQUIRE(r1test::read_file(out, kept));
    CHECK(std::string(kept.begin(), kept.end()) == "previous");
}

TEST_CASE("quantize: an unwritable output folder") {
    R1_REQUIRE_FIXTURES(fixtures);
    const std::string src = fixtures + "/models/qwen2-tiny-F32.gguf";
    if (::geteuid() == 0) {
        // root writes anywhere a file system allows: use one that allows no new files.
        struct stat st;
        if (::stat("/proc/self", &st) != 0) {
            MESSAGE("SKIPPED: running as root without /proc");
            return;
        }
        CHECK(quantize(src, "/proc/r1-quantize-test.gguf", "Q8_0") == R1_ERR_IO);
        CHECK(std::string(r1_last_error()).find("r1-quantize-test.gguf") != std::string::npos);
        return;
    }
    const std::string dir = fresh_dir("readonly");
    ::chmod(dir.c_str(), 0555);
    CHECK(quantize(src, dir + "/out.gguf", "Q8_0") == R1_ERR_IO);
    ::chmod(dir.c_str(), 0755);
    CHECK(dir_entries(dir).empty());
}

TEST_CASE("quantize: quantized sources need allow_requantize") {
    R1_REQUIRE_FIXTURES(fixtures);
    const std::string dir = fresh_dir("requant"), models = fixtures + "/models";
    CHECK(quantize(models + "/qwen2-tiny-Q8_0.gguf", dir + "/a.gguf", "Q4_K_M") == R1_ERR_UNSUPPORTED);
    CHECK(std::string(r1_last_error()).find("already quantized") != std::string::npos);
    CHECK(quantize(models + "/qwen2-tiny-Q8_0.gguf", dir + "/a.gguf", "F16") == R1_ERR_UNSUPPORTED);
    CHECK(dir_entries(dir).empty());

    LogCapture log;
    REQUIRE(quantize(models + "/qwen2-tiny-Q8_0.gguf", dir + "/a.gguf", "Q4_K_M", 2, &log, 1) == R1_OK);
    CHECK(log.contains("already quantized"));
    auto file = r1::gguf::File::open(dir + "/a.gguf");
    CHECK(file->find_tensor("blk.0.attn_q.weight")->type == DType::Q4_K);
    CHECK(file->find_tensor("output.weight")->type == DType::Q6_K);

    // Nothing to convert (every tensor already has its target type): no requantization, the same file.
    REQUIRE(quantize(models + "/qwen2-tiny-Q8_0.gguf", dir + "/b.gguf", "Q8_0") == R1_OK);
    CHECK(same_file(dir + "/b.gguf", models + "/qwen2-tiny-Q8_0.gguf"));
}

TEST_CASE("quantize: odd shapes use the fallback types, load and run") {
    // A synthetic model whose rows (160, 320) fit 32-value blocks but not 256-value ones.
    r1::synth::Spec spec = r1::synth::preset("tiny");
    spec.n_embd = 160;
    spec.n_heads = 2;
    spec.n_kv_heads = 1;
    spec.n_ff = 320;
    spec.n_vocab = 64;
    spec.type = "F32";
    const std::string dir = fresh_dir("odd");
    const std::string src = dir + "/odd-F32.gguf";
    r1::synth::write_model(spec, src, 2);
    for (const std::string type : {"Q4_K_M", "Q2_K", "IQ4_XS", "Q6_K", "Q8_0"}) {
        CAPTURE(type);
        const std::string out = dir + "/odd-" + type + ".gguf";
        LogCapture log;
        REQUIRE(quantize(src, out, type.c_str(), 3, &log) == R1_OK);
        if (type != "Q8_0") CHECK(log.contains("do not fit"));
        auto file = r1::gguf::File::open(out);  // the reader's validation
        for (const r1::gguf::TensorInfo& t : file->tensors()) CHECK(t.ne[0] % r1::traits(t.type).block_elements == 0);
        const std::vector<float> logits = prompt_logits(out, {1, 2, 3, 4});
        for (float x : logits) REQUIRE(std::isfinite(x));
    }
    // Rows of 48 have no fallback in Q4_0 (as in llama-quantize): an error, and no file.
    spec.n_embd = 48;
    spec.n_heads = 1;
    spec.n_ff = 96;
    const std::string src48 = dir + "/odd48-F32.gguf";
    r1::synth::write_model(spec, src48, 1);
    CHECK(quantize(src48, dir + "/odd48-Q4_0.gguf", "Q4_0") == R1_ERR_UNSUPPORTED);
    CHECK_FALSE(file_exists(dir + "/odd48-Q4_0.gguf"));
}

TEST_CASE("quantize: NaN weights are a format error") {
    r1::synth::Spec spec = r1::synth::preset("tiny");
    spec.n_vocab = 64;
    const std::string dir = fresh_dir("nan");
    const std::string src = dir + "/nan-F32.gguf";
    r1::synth::write_model(spec, src, 1);
    // Poison one value of blk.1.ffn_up.weight.
    std::vector<unsigned char> bytes;
    REQUIRE(r1test::read_file(src, bytes));
    {
        auto file = r1::gguf::File::open(src);
        const r1::gguf::TensorInfo* t = file->find_tensor("blk.1.ffn_up.weight");
        REQUIRE(t != nullptr);
        const float nan = std::nanf("");
        std::memcpy(&bytes[size_t(file->data_offset() + t->offset) + 4 * 1000], &nan, 4);
    }
    REQUIRE(r1test::write_file(src, bytes.data(), bytes.size()));
    CHECK(quantize(src, dir + "/out.gguf", "Q4_K_M") == R1_ERR_FORMAT);
    CHECK(std::string(r1_last_error()).find("blk.1.ffn_up.weight") != std::string::npos);
    CHECK(dir_entries(dir) == std::vector<std::string>{"nan-F32.gguf"});
}

TEST_CASE("quantize: synth writes the types the quantizer chooses") {
    r1::synth::Spec spec = r1::synth::preset("tiny");
    spec.n_vocab = 64;
    spec.type = "Q4_K_M";
    const std::string dir = fresh_dir("synth");
    r1::synth::write_model(spec, dir + "/s-Q4_K_M.gguf", 2);
    spec.type = "F32";
    r1::synth::write_model(spec, dir + "/s-F32.gguf", 2);
    quantize_ok(dir + "/s-F32.gguf", dir + "/q-Q4_K_M.gguf", "Q4_K_M");
    auto a = r1::gguf::File::open(dir + "/s-Q4_K_M.gguf");
    auto b = r1::gguf::File::open(dir + "/q-Q4_K_M.gguf");
    for (const r1::gguf::TensorInfo& t : a->tensors()) {
        CAPTURE(std::string(t.name));
        const r1::gguf::TensorInfo* u = b->find_tensor(t.name);
        REQUIRE(u != nullptr);
        CHECK(t.type == u->type);
        // Same source values, same quantizer: the same bytes.
        CHECK(std::memcmp(a->tensor_data(t), b->tensor_data(*u), t.size) == 0);
    }
    CHECK(a->get_int("general.file_type", -1) == 15);
    CHECK(r1::synth::tensor_type("Q4_K_M", "blk.1.attn_v.weight", 1, 2, 256) == DType::Q6_K);
    CHECK(r1::synth::tensor_type("Q4_K_M", "blk.0.attn_v.weight", 0, 2, 256) == DType::Q4_K);
    CHECK(r1::synth::tensor_type("Q4_K_M", "blk.0.attn_norm.weight", 0, 2, 256) == DType::F32);
}
