#include "writer.h"

#include <cerrno>
#include <cstring>

#include "../error.h"

namespace r1::gguf {
namespace {

template <class T>
void put(std::vector<uint8_t>& out, const T& v) {
    const size_t at = out.size();
    out.resize(at + sizeof v);
    std::memcpy(out.data() + at, &v, sizeof v);
}

void put_string(std::vector<uint8_t>& out, std::string_view s) {
    put(out, uint64_t(s.size()));
    out.insert(out.end(), s.begin(), s.end());
}

template <class T>
std::vector<uint8_t> scalar(ValueType type, T v) {
    std::vector<uint8_t> e;
    put(e, uint32_t(type));
    put(e, v);
    return e;
}

size_t element_size(ValueType t) {
    switch (t) {
        case ValueType::UINT8:
        case ValueType::INT8:
        case ValueType::BOOL: return 1;
        case ValueType::UINT16:
        case ValueType::INT16: return 2;
        case ValueType::UINT32:
        case ValueType::INT32:
        case ValueType::FLOAT32: return 4;
        default: return 8;
    }
}

// Encodes an array's element type, count and elements (no leading ARRAY type id).
void encode_array_body(std::vector<uint8_t>& e, const Value& v) {
    put(e, uint32_t(v.elem_type));
    put(e, uint64_t(v.count));
    if (v.elem_type == ValueType::STRING) {
        for (std::string_view s : v.strings) put_string(e, s);
    } else if (v.elem_type == ValueType::ARRAY) {
        for (const Value& a : v.arrays) encode_array_body(e, a);
    } else {
        e.insert(e.end(), v.raw.begin(), v.raw.end());
    }
}

}  // namespace

Writer::~Writer() {
    if (file_) std::fclose(file_);
}

void Writer::set_encoded(std::string_view key, std::vector<uint8_t> encoded) {
    if (key.empty()) fail(R1_ERR_INVALID_ARGUMENT, "GGUF keys cannot be empty");
    for (Entry& e : entries_)
        if (e.key == key) {
            e.encoded = std::move(encoded);
            return;
        }
    entries_.push_back({std::string(key), std::move(encoded)});
}

void Writer::set_u8(std::string_view k, uint8_t v) { set_encoded(k, scalar(ValueType::UINT8, v)); }
void Writer::set_i8(std::string_view k, int8_t v) { set_encoded(k, scalar(ValueType::INT8, v)); }
void Writer::set_u16(std::string_view k, uint16_t v) { set_encoded(k, scalar(ValueType::UINT16, v)); }
void Writer::set_i16(std::string_view k, int16_t v) { set_encoded(k, scalar(ValueType::INT16, v)); }
void Writer::set_u32(std::string_view k, uint32_t v) {
    if (k == "general.alignment") {
        if (v == 0 || (v & (v - 1)) != 0) fail(R1_ERR_INVALID_ARGUMENT, "general.alignment %u is not a power of two", v);
        alignment_ = v;
    }
    set_encoded(k, scalar(ValueType::UINT32, v));
}
void Writer::set_i32(std::string_view k, int32_t v) { set_encoded(k, scalar(ValueType::INT32, v)); }
void Writer::set_u64(std::string_view k, uint64_t v) { set_encoded(k, scalar(ValueType::UINT64, v)); }
void Writer::set_i64(std::string_view k, int64_t v) { set_encoded(k, scalar(ValueType::INT64, v)); }
void Writer::set_f32(std::string_view k, float v) { set_encoded(k, scalar(ValueType::FLOAT32, v)); }
void Writer::set_f64(std::string_view k, double v) { set_encoded(k, scalar(ValueType::FLOAT64, v)); }
void Writer::set_bool(std::string_view k, bool v) { set_encoded(k, scalar(ValueType::BOOL, uint8_t(v ? 1 : 0))); }

void Writer::set_string(std::string_view k, std::string_view v) {
    std::vector<uint8_t> e;
    put(e, uint32_t(ValueType::STRING));
    put_string(e, v);
    set_encoded(k, std::move(e));
}

void Writer::set_string_array(std::string_view k, const std::vector<std::string>& v) {
    std::vector<uint8_t> e;
    put(e, uint32_t(ValueType::ARRAY));
    put(e, uint32_t(ValueType::STRING));
    put(e, uint64_t(v.size()));
    for (const std::string& s : v) put_string(e, s);
    set_encoded(k, std::move(e));
}

void Writer::set_i32_array(std::string_view k, const std::vector<int32_t>& v) {
    std::vector<uint8_t> e;
    put(e, uint32_t(ValueType::ARRAY));
    put(e, uint32_t(ValueType::INT32));
    put(e, uint64_t(v.size()));
    for (int32_t x : v) put(e, x);
    set_encoded(k, std::move(e));
}

void Writer::set_f32_array(std::string_view k, const std::vector<float>& v) {
    std::vector<uint8_t> e;
    put(e, uint32_t(ValueType::ARRAY));
    put(e, uint32_t(ValueType::FLOAT32));
    put(e, uint64_t(v.size()));
    for (float x : v) put(e, x);
    set_encoded(k, std::move(e));
}

void Writer::set_value(std::string_view k, const Value& v) {
    std::vector<uint8_t> e;
    put(e, uint32_t(v.type));
    switch (v.type) {
        case ValueType::STRING: put_string(e, v.str); break;
        case ValueType::ARRAY: encode_array_body(e, v); break;
        case ValueType::FLOAT32: put(e, float(v.num.f64)); break;
        case ValueType::FLOAT64: put(e, v.num.f64); break;
        default:
            // Integers and bools: the low bytes of the widened value (little-endian).
            for (size_t i = 0; i < element_size(v.type); ++i) e.push_back(uint8_t(v.num.u64 >> (8 * i)));
    }
    if (k == "general.alignment" && v.type == ValueType::UINT32) {
        set_u32(k, uint32_t(v.num.u64));
        return;
    }
    set_encoded(k, std::move(e));
}

bool Writer::has(std::string_view key) const {
    for (const Entry& e : entries_)
        if (e.key == key) return true;
    return false;
}

void Writer::remove(std::string_view key) {
    for (size_t i = 0; i < entries_.size(); ++i)
        if (entries_[i].key == key) {
            entries_.erase(entries_.begin() + long(i));
            return;
        }
}

void Writer::add_tensor(std::string_view name, DType type, const std::vector<int64_t>& dims) {
    if (file_) fail(R1_ERR_INVALID_ARGUMENT, "tensors must be declared before begin()");
    if (name.empty() || dims.empty() || dims.size() > size_t(kMaxDims))
        fail(R1_ERR_INVALID_ARGUMENT, "tensor '%.*s': bad name or %zu dimensions", int(name.size()), name.data(), dims.size());
    for (const Tensor& t : tensors_)
        if (t.name == name) fail(R1_ERR_INVALID_ARGUMENT, "tensor '%.*s' declared twice", int(name.size()), name.data());
    const DTypeTraits* traits = dtype_traits(uint32_t(type));
    if (!traits) fail(R1_ERR_INVALID_ARGUMENT, "unknown tensor type %u", uint32_t(type));
    uint64_t elements = 1;
    for (int64_t d : dims) {
        if (d < 1) fail(R1_ERR_INVALID_ARGUMENT, "tensor '%.*s' has a dimension of %lld", int(name.size()), name.data(), (long long)d);
        elements *= uint64_t(d);
    }
    if (uint64_t(dims[0]) % traits->block_elements)
        fail(R1_ERR_INVALID_ARGUMENT, "tensor '%.*s': rows of %lld values are not a multiple of the %s block of %u",
             int(name.size()), name.data(), (long long)dims[0], traits->name, traits->block_elements);
    Tensor t;
    t.name = std::string(name);
    t.type = type;
    t.dims = dims;
    t.size = elements / traits->block_elements * traits->block_bytes;
    tensors_.push_back(std::move(t));
}

void Writer::write(const void* data, size_t size) {
    if (size && std::fwrite(data, 1, size, file_) != size)
        fail(R1_ERR_IO, "%s: write failed: %s", path_.c_str(), std::strerror(errno));
    position_ += size;
}

void Writer::pad_to_alignment() {
    static const uint8_t zeros[64] = {};
    while (position_ % alignment_) {
        size_t n = size_t(alignment_ - position_ % alignment_);
        write(zeros, n < sizeof zeros ? n : sizeof zeros);
    }
}

void Writer::begin(const std::string& path) {
    if (file_) fail(R1_ERR_INVALID_ARGUMENT, "begin() called twice");
    path_ = path;
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) fail(R1_ERR_IO, "%s: cannot create: %s", path.c_str(), std::strerror(errno));
    uint64_t offset = 0;
    for (Tensor& t : tensors_) {
        t.offset = offset;
        offset += (t.size + alignment_ - 1) / alignment_ * alignment_;
    }
    std::vector<uint8_t> header;
    header.insert(header.end(), {'G', 'G', 'U', 'F'});
    put(header, uint32_t(3));
    put(header, uint64_t(tensors_.size()));
    put(header, uint64_t(entries_.size()));
    for (const Entry& e : entries_) {
        put_string(header, e.key);
        header.insert(header.end(), e.encoded.begin(), e.encoded.end());
    }
    for (const Tensor& t : tensors_) {
        put_string(header, t.name);
        put(header, uint32_t(t.dims.size()));
        for (int64_t d : t.dims) put(header, uint64_t(d));
        put(header, uint32_t(t.type));
        put(header, t.offset);
    }
    write(header.data(), header.size());
    pad_to_alignment();
    current_ = 0;
    current_written_ = 0;
}

void Writer::write_tensor_data(const void* data, size_t size) {
    if (!file_) fail(R1_ERR_INVALID_ARGUMENT, "write_tensor_data() before begin()");
    const auto* p = static_cast<const uint8_t*>(data);
    while (size > 0) {
        if (current_ >= tensors_.size()) fail(R1_ERR_INVALID_ARGUMENT, "more tensor data than the tensors declared");
        const Tensor& t = tensors_[current_];
        size_t n = size_t(std::min<uint64_t>(size, t.size - current_written_));
        write(p, n);
        p += n;
        size -= n;
        current_written_ += n;
        if (current_written_ == t.size) {
            if (current_ + 1 < tensors_.size()) pad_to_alignment();
            ++current_;
            current_written_ = 0;
        }
    }
}

void Writer::finish() {
    if (!file_) fail(R1_ERR_INVALID_ARGUMENT, "finish() before begin()");
    if (current_ < tensors_.size())
        fail(R1_ERR_INVALID_ARGUMENT, "tensor '%s' has %llu of its %llu bytes", tensors_[current_].name.c_str(),
             (unsigned long long)current_written_, (unsigned long long)tensors_[current_].size);
    int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) fail(R1_ERR_IO, "%s: close failed: %s", path_.c_str(), std::strerror(errno));
}

}  // namespace r1::gguf
