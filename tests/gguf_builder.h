// Writes GGUF images byte by byte for the tests, including deliberately broken ones. Independent of the
// library's own code so that the reader is checked against a second implementation of the format.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace r1test {

class GgufBuilder {
public:
    std::vector<uint8_t> out;

    void u8(uint8_t v) { out.push_back(v); }
    void u16(uint16_t v) { raw(&v, 2); }
    void u32(uint32_t v) { raw(&v, 4); }
    void u64(uint64_t v) { raw(&v, 8); }
    void i64(int64_t v) { raw(&v, 8); }
    void f32(float v) { raw(&v, 4); }
    void f64(double v) { raw(&v, 8); }
    void raw(const void* p, size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        out.insert(out.end(), b, b + n);
    }
    void str(const std::string& s) {
        u64(s.size());
        raw(s.data(), s.size());
    }
    void header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
        raw("GGUF", 4);
        u32(version);
        u64(n_tensors);
        u64(n_kv);
    }
    // Key/value helpers: key, type id, value.
    void kv_u32(const std::string& k, uint32_t v) { str(k); u32(4); u32(v); }
    void kv_i32(const std::string& k, int32_t v) { str(k); u32(5); u32(uint32_t(v)); }
    void kv_f32(const std::string& k, float v) { str(k); u32(6); f32(v); }
    void kv_bool(const std::string& k, bool v) { str(k); u32(7); u8(v ? 1 : 0); }
    void kv_str(const std::string& k, const std::string& v) { str(k); u32(8); str(v); }
    void kv_u64(const std::string& k, uint64_t v) { str(k); u32(10); u64(v); }
    void kv_str_array(const std::string& k, const std::vector<std::string>& v) {
        str(k); u32(9); u32(8); u64(v.size());
        for (const auto& s : v) str(s);
    }
    void kv_i32_array(const std::string& k, const std::vector<int32_t>& v) {
        str(k); u32(9); u32(5); u64(v.size());
        for (int32_t x : v) u32(uint32_t(x));
    }
    void kv_f32_array(const std::string& k, const std::vector<float>& v) {
        str(k); u32(9); u32(6); u64(v.size());
        for (float x : v) f32(x);
    }
    void tensor_info(const std::string& name, const std::vector<uint64_t>& dims, uint32_t type, uint64_t offset) {
        str(name);
        u32(uint32_t(dims.size()));
        for (uint64_t d : dims) u64(d);
        u32(type);
        u64(offset);
    }
    void pad_to(size_t alignment) {
        while (out.size() % alignment) out.push_back(0);
    }
    size_t size() const { return out.size(); }
};

// A small valid model: two F32 tensors and a few metadata pairs. Returns the image; `data_offset` receives where
// the data section begins.
inline std::vector<uint8_t> small_model(size_t* data_offset = nullptr) {
    GgufBuilder b;
    b.header(2, 4);
    b.kv_str("general.architecture", "qwen2");
    b.kv_u32("qwen2.block_count", 2);
    b.kv_str_array("tokenizer.ggml.tokens", {"a", "b", "c"});
    b.kv_f32("qwen2.rope.freq_base", 10000.0f);
    b.tensor_info("token_embd.weight", {4, 3}, 0, 0);
    b.tensor_info("output_norm.weight", {4}, 0, 64);
    b.pad_to(32);
    size_t start = b.size();
    if (data_offset) *data_offset = start;
    for (int i = 0; i < 12; ++i) b.f32(float(i));
    while (b.size() < start + 64) b.u8(0);  // the second tensor starts at offset 64 of the data section
    for (int i = 0; i < 4; ++i) b.f32(1.0f + float(i));
    return b.out;
}

}  // namespace r1test
