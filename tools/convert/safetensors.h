// Safetensors reader: a model folder's *.safetensors files, mapped read-only, tensors described by their JSON
// headers. Nothing is copied: a tensor is a pointer into the mapping, converted to float a row at a time.
//
// File layout: u64 little-endian header length N, N bytes of JSON {"NAME": {"dtype": "F32", "shape": [..],
// "data_offsets": [begin, end]}, ..., "__metadata__": {...}}, then the data; offsets are relative to the end of
// the header. A sharded model lists its files in model.safetensors.index.json ("weight_map": {name: file}).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace r1::convert {

enum class SourceType { F32, F16, BF16 };

const char* source_type_name(SourceType t);

struct SourceTensor {
    std::string name;
    SourceType type = SourceType::F32;
    std::vector<int64_t> shape;  // as in PyTorch: shape[0] rows of the last dimension's length
    const uint8_t* data = nullptr;
    uint64_t size = 0;  // bytes
    std::string file;   // the file it came from (for messages)

    int64_t n_elements() const;
    int64_t row_length() const { return shape.empty() ? 1 : shape.back(); }
    int64_t n_rows() const { return row_length() == 0 ? 0 : n_elements() / row_length(); }
    // Converts `n` values starting at element `first` to float (exact for every source type).
    void to_float(int64_t first, int64_t n, float* out) const;
};

class SafetensorsFile {
public:
    // Maps and validates one file. Throws r1::Error (R1_ERR_IO, R1_ERR_FORMAT, R1_ERR_UNSUPPORTED).
    static std::unique_ptr<SafetensorsFile> open(const std::string& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::string& path() const { return path_; }
    // Sorted by name (the order safetensors' keys() gives, which is the order the reference converter writes).
    const std::vector<SourceTensor>& tensors() const { return tensors_; }

private:
    SafetensorsFile() = default;
    std::string path_;
    void* mapping_ = nullptr;
    uint64_t mapping_size_ = 0;
    std::vector<SourceTensor> tensors_;
};

// All weights of a Hugging Face model folder: the files named by model.safetensors.index.json when it exists,
// else every model*.safetensors file; files in name order, tensors sorted within each file.
class SafetensorsModel {
public:
    // Throws r1::Error: R1_ERR_NOT_FOUND (no safetensors file), R1_ERR_FORMAT (a bad file or index, a tensor
    // in two files, a tensor the index names that no file holds), R1_ERR_IO.
    static SafetensorsModel open(const std::string& folder);

    std::vector<const SourceTensor*> tensors() const;
    const SourceTensor* find(const std::string& name) const;
    const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }

private:
    std::vector<std::unique_ptr<SafetensorsFile>> files_;
};

}  // namespace r1::convert
