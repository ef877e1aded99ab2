// GGUF reader: versions 2 and 3, little-endian.
//
// A file is: header (magic "GGUF", version u32, tensor count u64, metadata count u64), metadata key/value pairs,
// tensor infos (name, dims, type, offset), padding to `general.alignment` (default 32), then the tensor data
// section. Every count, length, offset and size read from the file is checked against the bytes that remain
// before it is used, and every failure raises r1::Error(R1_ERR_FORMAT) naming the problem and the byte offset.
//
// Metadata is parsed into owned storage; tensor data is either memory-mapped (read-only), read into memory the
// File owns, or used in place from memory the caller owns.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../dtype.h"

namespace r1 {
class Log;
}

namespace r1::gguf {

enum class ValueType : uint32_t {
    UINT8 = 0,
    INT8 = 1,
    UINT16 = 2,
    INT16 = 3,
    UINT32 = 4,
    INT32 = 5,
    FLOAT32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    UINT64 = 10,
    INT64 = 11,
    FLOAT64 = 12,
};

const char* value_type_name(ValueType t);
bool is_integer(ValueType t);
bool is_float(ValueType t);

// One metadata value. Scalars are widened (integers to 64 bits with their signedness kept, floats to double);
// strings point into the File's arena (NUL-terminated, may contain NULs); arrays keep their elements.
struct Value {
    ValueType type = ValueType::UINT8;
    union {
        uint64_t u64;
        int64_t i64;
        double f64;
    } num{};
    std::string_view str;  // STRING

    // ARRAY: element type and count; exactly one of the vectors below is used, by element type.
    ValueType elem_type = ValueType::UINT8;
    uint64_t count = 0;
    std::vector<uint8_t> raw;               // numeric and bool elements, little-endian as in the file
    std::vector<std::string_view> strings;  // STRING elements
    std::vector<Value> arrays;              // nested ARRAY elements

    // Typed access to array elements (index < count, elem_type matching; the caller checks).
    int64_t int_at(uint64_t i) const;      // any integer type; uint64 values above INT64_MAX wrap
    uint64_t uint_at(uint64_t i) const;    // any integer type, reinterpreted
    double float_at(uint64_t i) const;     // FLOAT32 or FLOAT64
    bool bool_at(uint64_t i) const;
};

struct KeyValue {
    std::string_view key;  // NUL-terminated in the File's arena
    Value value;
};

constexpr int kMaxDims = 4;

struct TensorInfo {
    std::string_view name;  // NUL-terminated in the File's arena
    DType type = DType::F32;
    int n_dims = 0;
    int64_t ne[kMaxDims] = {1, 1, 1, 1};  // elements per dimension, ne[0] the row length
    uint64_t offset = 0;                   // relative to the start of the data section
    uint64_t size = 0;                     // bytes
    uint64_t n_elements() const { return uint64_t(ne[0]) * uint64_t(ne[1]) * uint64_t(ne[2]) * uint64_t(ne[3]); }
};

enum class LoadMode {
    Mmap,  // map the file read-only (memory sources are used in place)
    Read,  // read the tensor data into memory owned by the File
};

struct OpenOptions {
    LoadMode mode = LoadMode::Mmap;
    // Called with progress in [0, 1] while tensor data is read; return false to cancel (R1_ERR_CANCELLED).
    std::function<bool(float)> progress;
    const Log* log = nullptr;  // optional
};

class File {
public:
    // Opens and validates a GGUF file. Throws r1::Error (R1_ERR_IO, R1_ERR_FORMAT, R1_ERR_UNSUPPORTED,
    // R1_ERR_CANCELLED, R1_ERR_OUT_OF_MEMORY).
    static std::unique_ptr<File> open(const std::string& path, const OpenOptions& options = {});
    // Parses a GGUF image in memory. With LoadMode::Mmap the memory is used in place and must outlive the File.
    static std::unique_ptr<File> from_memory(const void* data, size_t size, const OpenOptions& options = {});

    ~File();
    File(const File&) = delete;
    File& operator=(const File&) = delete;

    uint32_t version() const { return version_; }
    uint64_t file_size() const { return file_size_; }
    uint32_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }  // absolute offset of the data section
    uint64_t data_size() const { return data_size_; }      // bytes up to the end of the last tensor

    const std::vector<KeyValue>& metadata() const { return metadata_; }
    const Value* find(std::string_view key) const;  // nullptr when absent

    // Convenience getters for well-known keys; nullopt-like defaults when the key is absent, r1::Error
    // (R1_ERR_FORMAT, naming the key) when present with an unusable type.
    std::string_view get_string(std::string_view key, std::string_view fallback = {}) const;
    int64_t get_int(std::string_view key, int64_t fallback) const;  // any integer type
    double get_float(std::string_view key, double fallback) const;  // float32/float64
    bool get_bool(std::string_view key, bool fallback) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }

    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find_tensor(std::string_view name) const;  // nullptr when absent

    // Pointer to the tensor's bytes (mapped, owned or caller memory). Valid for the File's lifetime.
    const uint8_t* tensor_data(const TensorInfo& t) const { return data_ + t.offset; }
    // The whole data section: data_size() bytes.
    const uint8_t* data() const { return data_; }

    // xxh64 (seed 0) of the data section. Computed on the first call; thread-safe.
    uint64_t fingerprint() const;

    bool is_mapped() const { return mapping_ != nullptr; }

    // Gives back the memory under a tensor's bytes once nothing reads them any more (every backend that got the
    // tensor copied or repacked it), so that a loaded model does not hold its weights twice. Only whole pages
    // inside the tensor go; the fingerprint is computed first. A mapped file's pages would read the file again
    // if touched; read-in data would read zeros, so tensor_data(t) must not be read afterwards. Memory the caller
    // owns (from_memory in Mmap mode) is left alone, and so is every tensor of a file whose tensors overlap.
    // Returns the bytes given back. Not thread-safe: for use while loading.
    uint64_t release_tensor_data(const TensorInfo& t);

private:
    File();
    struct Arena;
    friend class Parser;

    uint32_t version_ = 0;
    uint64_t file_size_ = 0;
    uint32_t alignment_ = 32;
    uint64_t data_offset_ = 0;
    uint64_t data_size_ = 0;
    std::vector<KeyValue> metadata_;
    std::unordered_map<std::string_view, size_t> metadata_index_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string_view, size_t> tensor_index_;
    std::unique_ptr<Arena> arena_;

    const uint8_t* data_ = nullptr;  // start of the data section, wherever it lives
    void* mapping_ = nullptr;        // mmap of the whole file, when mapped
    uint64_t mapping_size_ = 0;
    uint8_t* owned_ = nullptr;       // data section read into memory (LoadMode::Read), data_size_ bytes of pages
    int release_allowed_ = -1;       // release_tensor_data: -1 not yet known, else whether tensors are disjoint

    bool tensors_disjoint() const;

    mutable std::once_flag fingerprint_once_;
    mutable uint64_t fingerprint_ = 0;
};

// Limits the reader enforces beyond the file's own bounds (they keep hostile files from exhausting memory).
constexpr uint64_t kMaxKeyLength = 65535;       // GGUF keys are short ASCII names
constexpr uint64_t kMaxTensorNameLength = 255;  // ggml allows 63
constexpr int kMaxArrayDepth = 8;               // nested arrays

}  // namespace r1::gguf
