// The C API's contract: argument checks, versioned structs, metadata access, errors per thread, logging and
// progress callbacks.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "gguf_builder.h"
#include "r1.h"
#include "test_util.h"

namespace {

// The test images carry no real weights: load them metadata-only unless the caller's params say otherwise.
r1_model_params metadata_params() {
    r1_model_params p;
    r1_model_params_init(&p);
    p.metadata_only = 1;
    return p;
}

struct Loaded {
    r1_model* model = nullptr;
    explicit Loaded(const std::vector<uint8_t>& image, const r1_model_params* params = nullptr) {
        r1_model_params defaults = metadata_params();
        r1_status st = r1_model_load_from_memory(image.data(), image.size(), params ? params : &defaults, &model);
        REQUIRE_MESSAGE(st == R1_OK, r1_last_error());
    }
    ~Loaded() { r1_model_free(model); }
};

std::vector<uint8_t> typed_model() {
    r1test::GgufBuilder b;
    b.header(1, 9);
    b.kv_str("general.architecture", "llama");
    b.kv_str("general.name", "Typed \"test\"\n");
    b.kv_u32("llama.context_length", 4096);
    b.kv_i32("neg", -3);
    b.kv_u64("big", 18000000000000000000ull);
    b.kv_f32("llama.rope.freq_base", 500000.0f);
    b.kv_bool("flag", true);
    b.kv_str_array("tokenizer.ggml.tokens", {"<s>", "</s>", "a\xff"});
    b.kv_i32_array("ints", {7, -8});
    b.tensor_info("w", {32, 2}, 8, 0);  // Q8_0: 2 rows of one block
    b.pad_to(32);
    for (int i = 0; i < 68; ++i) b.u8(uint8_t(i));
    return b.out;
}

}  // namespace

TEST_CASE("NULL and invalid arguments are errors, never crashes") {
    r1_model* model = reinterpret_cast<r1_model*>(0x1);
    CHECK(r1_model_load(nullptr, nullptr, &model) == R1_ERR_INVALID_ARGUMENT);
    CHECK(model == nullptr);
    CHECK(r1_model_load("x.gguf", nullptr, nullptr) == R1_ERR_INVALID_ARGUMENT);
    CHECK(r1_model_load("", nullptr, &model) == R1_ERR_INVALID_ARGUMENT);
    CHECK(r1_model_load_from_memory(nullptr, 10, nullptr, &model) == R1_ERR_INVALID_ARGUMENT);
    uint8_t byte = 0;
    CHECK(r1_model_load_from_memory(&byte, 0, nullptr, &model) == R1_ERR_INVALID_ARGUMENT);
    CHECK(r1_model_get_info(nullptr, nullptr) == R1_ERR_INVALID_ARGUMENT);
    CHECK(r1_model_meta_count(nullptr) == 0);
    CHECK(r1_model_meta_key(nullptr, 0) == nullptr);
    CHECK(r1_model_tensor_count(nullptr) == 0);
    const char* s = nullptr;
    CHECK(r1_model_meta_string(nullptr, "k", &s, nullptr) == R1_ERR_INVALID_ARGUMENT);
    CHECK(std::string(r1_last_error()) == "model is NULL");
    CHECK(std::string(r1_status_string(r1_status(-999))) == "unknown status");

    r1_model_params params;
    r1_model_params_init(&params);
    params.struct_size = 0;
    std::vector<uint8_t> image = r1test::small_model();
    CHECK(r1_model_load_from_memory(image.data(), image.size(), &params, &model) == R1_ERR_INVALID_ARGUMENT);
    r1_model_params_init(&params);
    params.load_mode = r1_load_mode(7);
    CHECK(r1_model_load_from_memory(image.data(), image.size(), &params, &model) == R1_ERR_INVALID_ARGUMENT);
    CHECK(std::string(r1_last_error()).find("load_mode") != std::string::npos);
}

TEST_CASE("metadata getters: types, mismatches, ranges and JSON") {
    Loaded m(typed_model());
    const char* s = nullptr;
    size_t len = 0;
    int64_t i = 0;
    uint64_t u = 0;
    double d = 0;
    int32_t b = 0;
    CHECK(r1_model_meta_string(m.model, "general.name", &s, &len) == R1_OK);
    CHECK(std::string(s, len) == "Typed \"test\"\n");
    CHECK(r1_model_meta_int(m.model, "llama.context_length", &i) == R1_OK);
    CHECK(i == 4096);
    CHECK(r1_model_meta_int(m.model, "neg", &i) == R1_OK);
    CHECK(i == -3);
    CHECK(r1_model_meta_uint(m.model, "neg", &u) == R1_ERR_OUT_OF_RANGE);
    CHECK(r1_model_meta_int(m.model, "big", &i) == R1_ERR_OUT_OF_RANGE);
    CHECK(r1_model_meta_uint(m.model, "big", &u) == R1_OK);
    CHECK(u == 18000000000000000000ull);
    CHECK(r1_model_meta_float(m.model, "llama.rope.freq_base", &d) == R1_OK);
    CHECK(d == 500000.0);
    CHECK(r1_model_meta_bool(m.model, "flag", &b) == R1_OK);
    CHECK(b == 1);
    CHECK(r1_model_meta_string(m.model, "flag", &s, &len) == R1_ERR_TYPE_MISMATCH);
    CHECK(std::string(r1_last_error()).find("has type bool") != std::string::npos);
    CHECK(r1_model_meta_int(m.model, "nope", &i) == R1_ERR_NOT_FOUND);
    CHECK(r1_model_meta_array_string(m.model, "tokenizer.ggml.tokens", 1, &s, &len) == R1_OK);
    CHECK(std::string(s) == "</s>");
    CHECK(r1_model_meta_array_string(m.model, "tokenizer.ggml.tokens", 3, &s, &len) == R1_ERR_OUT_OF_RANGE);
    CHECK(r1_model_meta_array_string(m.model, "tokenizer.ggml.tokens", -1, &s, &len) == R1_ERR_OUT_OF_RANGE);
    CHECK(r1_model_meta_array_int(m.model, "ints", 1, &i) == R1_OK);
    CHECK(i == -8);
    CHECK(r1_model_meta_array_int(m.model, "flag", 0, &i) == R1_ERR_TYPE_MISMATCH);

    r1_meta_type type, elem;
    int64_t count = 0;
    CHECK(r1_model_meta_type(m.model, "ints", &type, &elem, &count) == R1_OK);
    CHECK(type == R1_META_ARRAY);
    CHECK(elem == R1_META_INT32);
    CHECK(count == 2);
    CHECK(r1_model_meta_type(m.model, "flag", &type, &elem, nullptr) == R1_OK);
    CHECK(type == R1_META_BOOL);
    CHECK(elem == R1_META_BOOL);

    char buf[128];
    size_t needed = 0;
    CHECK(r1_model_meta_format(m.model, "general.name", 0, buf, sizeof buf, &needed) == R1_OK);
    CHECK(std::string(buf) == "\"Typed \\\"test\\\"\\n\"");
    CHECK(r1_model_meta_format(m.model, "tokenizer.ggml.tokens", 0, buf, sizeof buf, nullptr) == R1_OK);
    CHECK(std::string(buf) == "[\"<s>\", \"</s>\", \"a\xEF\xBF\xBD\"]");  // invalid UTF-8 becomes U+FFFD
    CHECK(r1_model_meta_format(m.model, "tokenizer.ggml.tokens", 2, buf, sizeof buf, nullptr) == R1_OK);
    CHECK(std::string(buf) == "[\"<s>\", \"</s>\", \"...\"]");
    CHECK(r1_model_meta_format(m.model, "llama.rope.freq_base", 0, buf, sizeof buf, nullptr) == R1_OK);
    CHECK(std::string(buf) == "500000");
    CHECK(r1_model_meta_format(m.model, "flag", 0, nullptr, 0, &needed) == R1_ERR_BUFFER_TOO_SMALL);
    CHECK(needed == 5);
    char small[4];
    CHECK(r1_model_meta_format(m.model, "general.name", 0, small, sizeof small, &needed) == R1_ERR_BUFFER_TOO_SMALL);
    CHECK(std::string(small) == "\"Ty");
    CHECK(needed == std::strlen("\"Typed \\\"test\\\"\\n\"") + 1);

    CHECK(r1_model_meta_count(m.model) == 9);
    CHECK(std::string(r1_model_meta_key(m.model, 0)) == "general.architecture");
}

TEST_CASE("model info: summary fields, type mix, and versioned struct sizes") {
    std::vector<uint8_t> image = typed_model();
    Loaded m(image);
    r1_model_info info;
    std::memset(&info, 0xAB, sizeof info);
    info.struct_size = sizeof info;
    REQUIRE(r1_model_get_info(m.model, &info) == R1_OK);
    CHECK(info.struct_size == sizeof info);
    CHECK(info.gguf_version == 3);
    CHECK(std::string(info.architecture) == "llama");
    CHECK(std::string(info.tokenizer_model) == "");
    CHECK(info.n_params == 64);
    CHECK(info.n_ctx_train == 4096);
    CHECK(info.n_vocab == 3);
    CHECK(info.n_layers == 0);
    CHECK(info.n_tensors == 1);
    CHECK(info.n_metadata == 9);
    CHECK(info.has_chat_template == 0);
    CHECK(info.file_type == -1);
    CHECK(info.file_size == image.size());
    CHECK(info.tensor_data_size == 68);
    CHECK(info.type_tensor_count[R1_TYPE_Q8_0] == 1);
    CHECK(info.type_bytes[R1_TYPE_Q8_0] == 68);
    CHECK(info.type_tensor_count[R1_TYPE_F32] == 0);
    CHECK(info.fingerprint != 0);

    // An older caller whose struct ends before `fingerprint`: the fields it knows are written, nothing after.
    r1_model_info old;
    std::memset(&old, 0xAB, sizeof old);
    old.struct_size = uint32_t(offsetof(r1_model_info, fingerprint));
    REQUIRE(r1_model_get_info(m.model, &old) == R1_OK);
    CHECK(old.struct_size == offsetof(r1_model_info, fingerprint));
    CHECK(old.n_params == 64);
    CHECK(old.fingerprint == 0xABABABABABABABABull);
    old.struct_size = 0;
    CHECK(r1_model_get_info(m.model, &old) == R1_ERR_INVALID_ARGUMENT);
}

TEST_CASE("tensor info and lookup") {
    std::vector<uint8_t> image = typed_model();
    Loaded m(image);
    r1_tensor_info t;
    t.struct_size = sizeof t;
    REQUIRE(r1_model_tensor_info(m.model, 0, &t) == R1_OK);
    CHECK(std::string(t.name) == "w");
    CHECK(t.type == R1_TYPE_Q8_0);
    CHECK(t.n_dims == 2);
    CHECK(t.dims[0] == 32);
    CHECK(t.dims[1] == 2);
    CHECK(t.dims[2] == 1);
    CHECK(t.size == 68);
    CHECK(t.offset + t.size == image.size());
    CHECK(r1_model_tensor_info(m.model, 1, &t) == R1_ERR_OUT_OF_RANGE);
    int64_t index = -1;
    CHECK(r1_model_find_tensor(m.model, "w", &index) == R1_OK);
    CHECK(index == 0);
    CHECK(r1_model_find_tensor(m.model, "v", &index) == R1_ERR_NOT_FOUND);
}

TEST_CASE("the last error is per thread") {
    const char* s = nullptr;
    CHECK(r1_model_meta_string(nullptr, "k", &s, nullptr) == R1_ERR_INVALID_ARGUMENT);
    std::string mine = r1_last_error();
    std::string theirs = "unset";
    std::thread other([&] { theirs = r1_last_error(); });
    other.join();
    CHECK(mine == "model is NULL");
    CHECK(theirs == "");
    std::thread failing([] {
        r1_model* model = nullptr;
        r1_model_load("/definitely/missing.gguf", nullptr, &model);
    });
    failing.join();
    CHECK(std::string(r1_last_error()) == mine);
}

TEST_CASE("silent by default; the log callback receives messages at or above its level") {
    std::vector<uint8_t> image = typed_model();
    struct Sink {
        std::vector<std::pair<r1_log_level, std::string>> lines;
    } sink;
    r1_model_params params = metadata_params();
    params.log_callback = [](void* user, r1_log_level level, const char* message) {
        static_cast<Sink*>(user)->lines.emplace_back(level, message);
    };
    params.log_user_data = &sink;
    params.log_level = R1_LOG_DEBUG;
    { Loaded m(image, &params); }
    REQUIRE(!sink.lines.empty());
    bool saw_info = false;
    for (auto& l : sink.lines) saw_info |= l.first == R1_LOG_INFO && l.second.find("loaded llama model") == 0;
    CHECK(saw_info);
    sink.lines.clear();
    params.log_level = R1_LOG_ERROR;
    { Loaded m(image, &params); }
    CHECK(sink.lines.empty());
}

TEST_CASE("progress callback through the C API; cancelling releases everything") {
    std::vector<uint8_t> image = r1test::small_model();
    std::string path = r1test::temp_path("api-progress.gguf");
    REQUIRE(r1test::write_file(path, image.data(), image.size()));
    for (r1_load_mode mode : {R1_LOAD_MMAP, R1_LOAD_READ}) {
        r1_model_params params = metadata_params();
        params.load_mode = mode;
        params.progress_callback = [](void*, float p) -> int32_t { return p >= 1.0f ? 1 : 0; };
        r1_model* model = reinterpret_cast<r1_model*>(0x1);
        CHECK(r1_model_load(path.c_str(), &params, &model) == R1_ERR_CANCELLED);
        CHECK(model == nullptr);
        CHECK(std::string(r1_last_error()).find("cancelled") != std::string::npos);
    }
    unlink(path.c_str());
}

TEST_CASE("load modes give the same model") {
    std::vector<uint8_t> image = typed_model();
    std::string path = r1test::temp_path("modes.gguf");
    REQUIRE(r1test::write_file(path, image.data(), image.size()));
    uint64_t fingerprints[3] = {};
    r1_load_mode modes[3] = {R1_LOAD_DEFAULT, R1_LOAD_MMAP, R1_LOAD_READ};
    for (int k = 0; k < 3; ++k) {
        r1_model_params params = metadata_params();
        params.load_mode = modes[k];
        r1_model* model = nullptr;
        REQUIRE(r1_model_load(path.c_str(), &params, &model) == R1_OK);
        r1_model_info info;
        info.struct_size = sizeof info;
        REQUIRE(r1_model_get_info(model, &info) == R1_OK);
        fingerprints[k] = info.fingerprint;
        r1_model_free(model);
    }
    CHECK(fingerprints[0] == fingerprints[1]);
    CHECK(fingerprints[1] == fingerprints[2]);
    unlink(path.c_str());
}
