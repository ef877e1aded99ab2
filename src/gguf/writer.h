// GGUF writer: metadata of every type, tensors of any type, streamed to disk.
//
//     gguf::Writer w;
//     w.set_string("general.architecture", "qwen2");
//     w.add_tensor("token_embd.weight", DType::Q4_K, {1536, 151936});   // declare every tensor first
//     w.begin(path);                                                   // header, metadata, tensor infos
//     w.write_tensor_data(bytes, size);                                // then each tensor's data, in order
//     w.finish();
//
// Only the header is held in memory: tensor data goes straight to the file, one tensor (or part) at a time.
// Files follow the conventions of the reference writer (gguf-py / llama.cpp): version 3, keys in insertion
// order, tensor data aligned to general.alignment (32 unless set), each tensor padded to the alignment.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "../dtype.h"
#include "gguf.h"

namespace r1::gguf {

class Writer {
public:
    Writer() = default;
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    // Metadata (a key set twice keeps its first position and takes the new value).
    void set_u8(std::string_view key, uint8_t v);
    void set_i8(std::string_view key, int8_t v);
    void set_u16(std::string_view key, uint16_t v);
    void set_i16(std::string_view key, int16_t v);
    void set_u32(std::string_view key, uint32_t v);
    void set_i32(std::string_view key, int32_t v);
    void set_u64(std::string_view key, uint64_t v);
    void set_i64(std::string_view key, int64_t v);
    void set_f32(std::string_view key, float v);
    void set_f64(std::string_view key, double v);
    void set_bool(std::string_view key, bool v);
    void set_string(std::string_view key, std::string_view v);
    void set_string_array(std::string_view key, const std::vector<std::string>& v);
    void set_i32_array(std::string_view key, const std::vector<int32_t>& v);
    void set_f32_array(std::string_view key, const std::vector<float>& v);
    // Copies a value read from another file (any type, arrays nested or not).
    void set_value(std::string_view key, const Value& v);
    bool has(std::string_view key) const;
    void remove(std::string_view key);

    // Declares a tensor; dims[0] is the row length. Throws R1_ERR_INVALID_ARGUMENT for a bad shape or type.
    void add_tensor(std::string_view name, DType type, const std::vector<int64_t>& dims);
    size_t tensor_count() const { return tensors_.size(); }
    uint64_t tensor_bytes(size_t index) const { return tensors_[index].size; }

    // Writes the header, metadata and tensor infos to `path`. Throws R1_ERR_IO.
    void begin(const std::string& path);
    // Appends data of the current tensor; a tensor may arrive in several parts. The next tensor starts when
    // the current one has all its bytes. Throws R1_ERR_INVALID_ARGUMENT for more bytes than declared.
    void write_tensor_data(const void* data, size_t size);
    // Checks that every tensor was written completely and closes the file. Throws R1_ERR_IO / INVALID_ARGUMENT.
    void finish();

private:
    struct Entry {
        std::string key;
        std::vector<uint8_t> encoded;  // type id + value, as in the file
    };
    struct Tensor {
        std::string name;
        DType type;
        std::vector<int64_t> dims;
        uint64_t size = 0;
        uint64_t offset = 0;
    };
    void set_encoded(std::string_view key, std::vector<uint8_t> encoded);
    void write(const void* data, size_t size);
    void pad_to_alignment();

    std::vector<Entry> entries_;
    std::vector<Tensor> tensors_;
    std::FILE* file_ = nullptr;
    std::string path_;
    uint64_t position_ = 0;
    size_t current_ = 0;          // tensor being written
    uint64_t current_written_ = 0;
    uint32_t alignment_ = 32;
};

}  // namespace r1::gguf
