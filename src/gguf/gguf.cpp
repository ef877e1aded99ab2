#include "gguf.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../error.h"
#include "../log.h"
#include "../util/checked.h"
#include "../util/file_io.h"

namespace r1::gguf {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kHeaderBytes = 4 + 4 + 8 + 8;
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint64_t kMaxStringLength = uint64_t(64) << 20;  // no real metadata string comes near 64 MiB
// The smallest encodings, used to bound counts by the bytes left: a key/value pair is a length (8), a key of at
// least one byte, a type (4) and a value of at least one byte; a tensor info is a length (8), a name of at least one
// byte, n_dims (4), one dimension (8), a type (4) and an offset (8).
constexpr uint64_t kMinKeyValueBytes = 8 + 1 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;

size_t scalar_size(ValueType t) {
    switch (t) {
        case ValueType::UINT8:
        case ValueType::INT8:
        case ValueType::BOOL: return 1;
        case ValueType::UINT16:
        case ValueType::INT16: return 2;
        case ValueType::UINT32:
        case ValueType::INT32:
        case ValueType::FLOAT32: return 4;
        case ValueType::UINT64:
        case ValueType::INT64:
        case ValueType::FLOAT64: return 8;
        default: return 0;  // STRING, ARRAY
    }
}

bool known_value_type(uint32_t t) { return t <= uint32_t(ValueType::FLOAT64); }

// Decodes one little-endian scalar of type t from p into a widened Value.
void decode_scalar(ValueType t, const uint8_t* p, Value& v) {
    switch (t) {
        case ValueType::UINT8: v.num.u64 = p[0]; break;
        case ValueType::BOOL: v.num.u64 = p[0]; break;
        case ValueType::INT8: v.num.i64 = int8_t(p[0]); break;
        case ValueType::UINT16: { uint16_t x; std::memcpy(&x, p, 2); v.num.u64 = x; break; }
        case ValueType::INT16: { int16_t x; std::memcpy(&x, p, 2); v.num.i64 = x; break; }
        case ValueType::UINT32: { uint32_t x; std::memcpy(&x, p, 4); v.num.u64 = x; break; }
        case ValueType::INT32: { int32_t x; std::memcpy(&x, p, 4); v.num.i64 = x; break; }
        case ValueType::FLOAT32: { float x; std::memcpy(&x, p, 4); v.num.f64 = x; break; }
        case ValueType::UINT64: { uint64_t x; std::memcpy(&x, p, 8); v.num.u64 = x; break; }
        case ValueType::INT64: { int64_t x; std::memcpy(&x, p, 8); v.num.i64 = x; break; }
        case ValueType::FLOAT64: { double x; std::memcpy(&x, p, 8); v.num.f64 = x; break; }
        default: break;
    }
}

}  // namespace

const char* value_type_name(ValueType t) {
    switch (t) {
        case ValueType::UINT8: return "uint8";
        case ValueType::INT8: return "int8";
        case ValueType::UINT16: return "uint16";
        case ValueType::INT16: return "int16";
        case ValueType::UINT32: return "uint32";
        case ValueType::INT32: return "int32";
        case ValueType::FLOAT32: return "float32";
        case ValueType::BOOL: return "bool";
        case ValueType::STRING: return "string";
        case ValueType::ARRAY: return "array";
        case ValueType::UINT64: return "uint64";
        case ValueType::INT64: return "int64";
        case ValueType::FLOAT64: return "float64";
    }
    return "unknown";
}

bool is_integer(ValueType t) {
    switch (t) {
        case ValueType::UINT8:
        case ValueType::INT8:
        case ValueType::UINT16:
        case ValueType::INT16:
        case ValueType::UINT32:
        case ValueType::INT32:
        case ValueType::UINT64:
        case ValueType::INT64: return true;
        default: return false;
    }
}

bool is_float(ValueType t) { return t == ValueType::FLOAT32 || t == ValueType::FLOAT64; }

static bool is_signed(ValueType t) {
    return t == ValueType::INT8 || t == ValueType::INT16 || t == ValueType::INT32 || t == ValueType::INT64;
}

int64_t Value::int_at(uint64_t i) const {
    Value v;
    decode_scalar(elem_type, raw.data() + i * scalar_size(elem_type), v);
    return v.num.i64;
}

uint64_t Value::uint_at(uint64_t i) const {
    Value v;
    decode_scalar(elem_type, raw.data() + i * scalar_size(elem_type), v);
    return v.num.u64;
}

double Value::float_at(uint64_t i) const {
    Value v;
    decode_scalar(elem_type, raw.data() + i * scalar_size(elem_type), v);
    return v.num.f64;
}

bool Value::bool_at(uint64_t i) const { return raw[i] != 0; }

// Stable storage for the strings of a file: blocks that never move, each string NUL-terminated.
struct File::Arena {
    std::vector<std::unique_ptr<char[]>> blocks;
    char* cursor = nullptr;
    size_t left = 0;

    std::string_view store(const uint8_t* src, size_t n) {
        size_t need = n + 1;
        if (need > left) {
            size_t block = std::max(need, size_t(1) << 20);
            blocks.emplace_back(new char[block]);
            cursor = blocks.back().get();
            left = block;
        }
        if (n) std::memcpy(cursor, src, n);
        cursor[n] = '\0';
        std::string_view s(cursor, n);
        cursor += need;
        left -= need;
        return s;
    }
};

// Reads the header, metadata and tensor infos of one image, from memory or through positional file reads.
class Parser {
public:
    Parser(File& file, std::string name, const uint8_t* image, uint64_t size, const InputFile* input)
        : file_(file), name_(std::move(name)), image_(image), size_(size), input_(input) {}

    void parse();

private:
    [[noreturn]] void fail_at(uint64_t offset, const char* fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;

    uint64_t left() const { return size_ - pos_; }
    const uint8_t* take(uint64_t n, const char* what);
    uint32_t u32(const char* what) { uint32_t v; std::memcpy(&v, take(4, what), 4); return v; }
    uint64_t u64(const char* what) { uint64_t v; std::memcpy(&v, take(8, what), 8); return v; }
    std::string_view string(const char* what, uint64_t max_length);
    ValueType value_type(const char* what);
    void value(ValueType type, int depth, Value& out);
    void array(int depth, Value& out);
    void check_bools(const Value& v, uint64_t offset);

    File& file_;
    std::string name_;
    const uint8_t* image_;  // the whole file in memory, or nullptr when reading through input_
    uint64_t size_;
    const InputFile* input_;
    uint64_t pos_ = 0;

    // Read buffer for input_: holds bytes [buffer_start_, buffer_start_ + buffer_.size()).
    std::vector<uint8_t> buffer_;
    uint64_t buffer_start_ = 0;
};

void Parser::fail_at(uint64_t offset, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    char detail[512];
    std::vsnprintf(detail, sizeof detail, fmt, args);
    va_end(args);
    fail(R1_ERR_FORMAT, "%s: at byte %llu: %s", name_.c_str(), (unsigned long long)offset, detail);
}

const uint8_t* Parser::take(uint64_t n, const char* what) {
    if (n > left())
        fail_at(pos_, "%s needs %llu bytes but the file ends after %llu more", what, (unsigned long long)n,
                (unsigned long long)left());
    uint64_t at = pos_;
    pos_ += n;
    if (image_) return image_ + at;
    // Positional reads: refill when the request is not inside the buffer.
    if (at < buffer_start_ || at + n > buffer_start_ + buffer_.size()) {
        uint64_t want = std::max<uint64_t>(n, uint64_t(1) << 20);
        want = std::min(want, size_ - at);
        buffer_.resize(size_t(want));
        input_->read_at(at, buffer_.data(), size_t(want));
        buffer_start_ = at;
    }
    return buffer_.data() + (at - buffer_start_);
}

std::string_view Parser::string(const char* what, uint64_t max_length) {
    uint64_t at = pos_;
    uint64_t length = u64(what);
    if (length > left())
        fail_at(at, "%s length %llu exceeds the %llu bytes left in the file", what, (unsigned long long)length,
                (unsigned long long)left());
    if (length > max_length)
        fail_at(at, "%s length %llu exceeds the limit of %llu bytes", what, (unsigned long long)length,
                (unsigned long long)max_length);
    const uint8_t* p = take(length, what);
    return file_.arena_->store(p, size_t(length));
}

ValueType Parser::value_type(const char* what) {
    uint64_t at = pos_;
    uint32_t t = u32(what);
    if (!known_value_type(t)) fail_at(at, "unknown %s %u (GGUF value types are 0..12)", what, t);
    return ValueType(t);
}

void Parser::check_bools(const Value& v, uint64_t offset) {
    for (uint8_t b : v.raw)
        if (b > 1) fail_at(offset, "bool value %u is neither 0 nor 1", b);
}

void Parser::value(ValueType type, int depth, Value& out) {
    out.type = type;
    uint64_t at = pos_;
    if (type == ValueType::STRING) {
        out.str = string("string value", kMaxStringLength);
    } else if (type == ValueType::ARRAY) {
        array(depth + 1, out);
    } else {
        decode_scalar(type, take(scalar_size(type), "value"), out);
        if (type == ValueType::BOOL && out.num.u64 > 1)
            fail_at(at, "bool value %llu is neither 0 nor 1", (unsigned long long)out.num.u64);
    }
}

void Parser::array(int depth, Value& out) {
    uint64_t at = pos_;
    if (depth > kMaxArrayDepth) fail_at(at, "arrays nested deeper than %d levels", kMaxArrayDepth);
    out.elem_type = value_type("array element type");
    uint64_t count_at = pos_;
    out.count = u64("array length");
    // Every element takes at least this many bytes, which bounds the count by what is left of the file.
    uint64_t min_elem = out.elem_type == ValueType::STRING  ? 8
                        : out.elem_type == ValueType::ARRAY ? 12
                                                            : scalar_size(out.elem_type);
    uint64_t min_bytes;
    if (!checked_mul(out.count, min_elem, &min_bytes) || min_bytes > left())
        fail_at(count_at, "array of %llu %s elements cannot fit in the %llu bytes left in the file",
                (unsigned long long)out.count, value_type_name(out.elem_type), (unsigned long long)left());
    switch (out.elem_type) {
        case ValueType::STRING:
            out.strings.reserve(size_t(out.count));
            for (uint64_t i = 0; i < out.count; ++i) out.strings.push_back(string("array string", kMaxStringLength));
            break;
        case ValueType::ARRAY:
            out.arrays.resize(size_t(out.count));
            for (uint64_t i = 0; i < out.count; ++i) {
                out.arrays[i].type = ValueType::ARRAY;
                array(depth + 1, out.arrays[i]);
            }
            break;
        default: {
            uint64_t data_at = pos_;
            const uint8_t* p = take(min_bytes, "array data");
            out.raw.assign(p, p + min_bytes);
            if (out.elem_type == ValueType::BOOL) check_bools(out, data_at);
        }
    }
}

void Parser::parse() {
    if (size_ < kHeaderBytes)
        fail_at(0, "the file is %llu bytes, too small for a GGUF header (%llu bytes)", (unsigned long long)size_,
                (unsigned long long)kHeaderBytes);
    uint32_t magic = u32("magic");
    if (magic != kMagic) {
        if (magic == 0x47475546) fail_at(0, "bad magic: byte-swapped \"GGUF\"");
        fail_at(0, "bad magic 0x%08x: not a GGUF file (expected the bytes \"GGUF\")", magic);
    }
    uint32_t version = u32("version");
    if (version == 1)
        fail(R1_ERR_UNSUPPORTED, "%s: GGUF version 1 is not supported (versions 2 and 3 are)", name_.c_str());
    if ((version & 0xFFFF) == 0 && (version >> 16) != 0)
        fail(R1_ERR_UNSUPPORTED, "%s: big-endian GGUF files are not supported (version field 0x%08x)",
             name_.c_str(), version);
    if (version == 0) fail_at(4, "GGUF version 0 is invalid");
    if (version > 3)
        fail(R1_ERR_UNSUPPORTED, "%s: GGUF version %u is newer than this reader (versions 2 and 3 are supported)",
             name_.c_str(), version);
    file_.version_ = version;

    uint64_t n_tensors = u64("tensor count");
    uint64_t n_kv = u64("metadata count");
    uint64_t kv_bytes, tensor_bytes, all;
    if (!checked_mul(n_kv, kMinKeyValueBytes, &kv_bytes) || !checked_mul(n_tensors, kMinTensorInfoBytes, &tensor_bytes) ||
        !checked_add(kv_bytes, tensor_bytes, &all) || all > left())
        fail_at(8, "%llu tensors and %llu metadata pairs cannot fit in the %llu bytes left in the file",
                (unsigned long long)n_tensors, (unsigned long long)n_kv, (unsigned long long)left());

    // Metadata.
    file_.metadata_.resize(size_t(n_kv));
    file_.metadata_index_.reserve(size_t(n_kv));
    for (uint64_t i = 0; i < n_kv; ++i) {
        uint64_t at = pos_;
        KeyValue& kv = file_.metadata_[i];
        kv.key = string("metadata key", kMaxKeyLength);
        if (kv.key.empty()) fail_at(at, "metadata key %llu is empty", (unsigned long long)i);
        if (kv.key.find('\0') != std::string_view::npos) fail_at(at, "metadata key contains a NUL byte");
        if (!file_.metadata_index_.emplace(kv.key, size_t(i)).second)
            fail_at(at, "duplicate metadata key '%s'", kv.key.data());
        ValueType type = value_type("metadata value type");
        value(type, 0, kv.value);
    }

    // Alignment of the data section and of every tensor.
    uint64_t alignment = kDefaultAlignment;
    if (const Value* a = file_.find("general.alignment")) {
        if (a->type != ValueType::UINT32)
            fail(R1_ERR_FORMAT, "%s: general.alignment has type %s, expected uint32", name_.c_str(),
                 value_type_name(a->type));
        alignment = a->num.u64;
        if (!is_power_of_two(alignment))
            fail(R1_ERR_FORMAT, "%s: general.alignment %llu is not a power of two", name_.c_str(),
                 (unsigned long long)alignment);
    }
    file_.alignment_ = uint32_t(alignment);

    // Tensor infos.
    file_.tensors_.resize(size_t(n_tensors));
    file_.tensor_index_.reserve(size_t(n_tensors));
    std::vector<uint64_t> info_offsets(static_cast<size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
        uint64_t at = pos_;
        info_offsets[i] = at;
        TensorInfo& t = file_.tensors_[i];
        t.name = string("tensor name", kMaxTensorNameLength);
        if (t.name.empty()) fail_at(at, "tensor %llu has an empty name", (unsigned long long)i);
        if (t.name.find('\0') != std::string_view::npos) fail_at(at, "tensor name contains a NUL byte");
        if (!file_.tensor_index_.emplace(t.name, size_t(i)).second)
            fail_at(at, "duplicate tensor name '%s'", t.name.data());
        uint64_t dims_at = pos_;
        uint32_t n_dims = u32("tensor dimension count");
        if (n_dims < 1 || n_dims > uint32_t(kMaxDims))
            fail_at(dims_at, "tensor '%s' has %u dimensions (1..%d allowed)", t.name.data(), n_dims, kMaxDims);
        t.n_dims = int(n_dims);
        uint64_t elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            uint64_t dim_at = pos_;
            uint64_t ne = u64("tensor dimension");
            if (ne == 0 || ne > uint64_t(std::numeric_limits<int64_t>::max()))
                fail_at(dim_at, "tensor '%s' dimension %u is %lld", t.name.data(), d, (long long)ne);
            if (!checked_mul(elements, ne, &elements) || elements > uint64_t(std::numeric_limits<int64_t>::max()))
                fail_at(dim_at, "tensor '%s' has more elements than fit in 63 bits", t.name.data());
            t.ne[d] = int64_t(ne);
        }
        uint64_t type_at = pos_;
        uint32_t type = u32("tensor type");
        const DTypeTraits* traits = dtype_traits(type);
        if (!traits) fail_at(type_at, "tensor '%s' has unknown type id %u", t.name.data(), type);
        t.type = DType(type);
        if (uint64_t(t.ne[0]) % traits->block_elements != 0)
            fail_at(dims_at, "tensor '%s' has rows of %lld elements, not a multiple of the %s block size %u",
                    t.name.data(), (long long)t.ne[0], traits->name, traits->block_elements);
        uint64_t blocks = elements / traits->block_elements;
        if (!checked_mul(blocks, traits->block_bytes, &t.size))
            fail_at(dims_at, "tensor '%s' size overflows", t.name.data());
        uint64_t offset_at = pos_;
        t.offset = u64("tensor offset");
        if (t.offset % alignment != 0)
            fail_at(offset_at, "tensor '%s' offset %llu is not a multiple of the alignment %llu", t.name.data(),
                    (unsigned long long)t.offset, (unsigned long long)alignment);
    }

    // The data section starts at the next multiple of the alignment.
    uint64_t data_offset;
    if (!checked_align_up(pos_, alignment, &data_offset)) fail_at(pos_, "data section offset overflows");
    file_.data_offset_ = data_offset;
    uint64_t data_room = data_offset <= size_ ? size_ - data_offset : 0;

    uint64_t data_end = 0;
    for (uint64_t i = 0; i < n_tensors; ++i) {
        const TensorInfo& t = file_.tensors_[i];
        uint64_t end;
        if (!checked_add(t.offset, t.size, &end) || end > data_room)
            fail_at(info_offsets[i],
                    "tensor '%s' data [%llu, +%llu) lies outside the data section (%llu bytes from byte %llu)",
                    t.name.data(), (unsigned long long)t.offset, (unsigned long long)t.size,
                    (unsigned long long)data_room, (unsigned long long)data_offset);
        data_end = std::max(data_end, end);
    }
    // Tensors must not overlap.
    std::vector<size_t> order(static_cast<size_t>(n_tensors));
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return file_.tensors_[a].offset < file_.tensors_[b].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
        const TensorInfo& prev = file_.tensors_[order[k - 1]];
        const TensorInfo& cur = file_.tensors_[order[k]];
        if (prev.offset + prev.size > cur.offset)
            fail_at(info_offsets[order[k]], "tensor '%s' overlaps tensor '%s'", cur.name.data(), prev.name.data());
    }
    file_.data_size_ = data_end;
}

File::File() : arena_(new Arena) {}

File::~File() {
    if (mapping_) InputFile::unmap(mapping_, mapping_size_);
    if (owned_) pages_free(owned_, data_size_);
}

static bool report(const OpenOptions& options, float progress) {
    return !options.progress || options.progress(progress);
}

static void cancelled() { fail(R1_ERR_CANCELLED, "loading was cancelled by the progress callback"); }

std::unique_ptr<File> File::open(const std::string& path, const OpenOptions& options) {
    if (!report(options, 0.0f)) cancelled();
    InputFile input(path);
    std::unique_ptr<File> file(new File());
    file->file_size_ = input.size();
    if (options.mode == LoadMode::Mmap) {
        file->mapping_ = input.map_readonly();
        file->mapping_size_ = input.size();
        Parser(*file, path, static_cast<const uint8_t*>(file->mapping_), input.size(), nullptr).parse();
        if (file->data_size_ > 0) file->data_ = static_cast<const uint8_t*>(file->mapping_) + file->data_offset_;
    } else {
        Parser(*file, path, nullptr, input.size(), &input).parse();
        if (file->data_size_ > 0) {
            file->owned_ = static_cast<uint8_t*>(pages_alloc_or_throw(file->data_size_, "tensor data"));
            const uint64_t chunk = uint64_t(16) << 20;
            for (uint64_t done = 0; done < file->data_size_; done += chunk) {
                uint64_t n = std::min(chunk, file->data_size_ - done);
                input.read_at(file->data_offset_ + done, file->owned_ + done, size_t(n));
                if (!report(options, float(done + n) / float(file->data_size_))) cancelled();
            }
            file->data_ = file->owned_;
        }
    }
    if (options.log)
        options.log->write(R1_LOG_DEBUG, "%s: GGUF v%u, %zu metadata pairs, %zu tensors, %llu bytes of tensor data (%s)",
                           path.c_str(), file->version_, file->metadata_.size(), file->tensors_.size(),
                           (unsigned long long)file->data_size_, file->mapping_ ? "mapped" : "read");
    if (!report(options, 1.0f)) cancelled();
    return file;
}

std::unique_ptr<File> File::from_memory(const void* data, size_t size, const OpenOptions& options) {
    if (!data && size) fail(R1_ERR_INVALID_ARGUMENT, "data is NULL");
    if (!report(options, 0.0f)) cancelled();
    std::unique_ptr<File> file(new File());
    file->file_size_ = size;
    const auto* image = static_cast<const uint8_t*>(data);
    Parser(*file, "<memory>", image, size, nullptr).parse();
    if (file->data_size_ > 0) {
        if (options.mode == LoadMode::Read) {
            file->owned_ = static_cast<uint8_t*>(pages_alloc_or_throw(file->data_size_, "tensor data"));
            std::memcpy(file->owned_, image + file->data_offset_, size_t(file->data_size_));
            file->data_ = file->owned_;
        } else {
            file->data_ = image + file->data_offset_;
        }
    }
    if (!report(options, 1.0f)) cancelled();
    return file;
}

const Value* File::find(std::string_view key) const {
    auto it = metadata_index_.find(key);
    return it == metadata_index_.end() ? nullptr : &metadata_[it->second].value;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

static std::string key_text(std::string_view key) { return std::string(key); }

std::string_view File::get_string(std::string_view key, std::string_view fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    if (v->type != ValueType::STRING)
        fail(R1_ERR_FORMAT, "metadata key '%s' has type %s, expected string", key_text(key).c_str(),
             value_type_name(v->type));
    return v->str;
}

int64_t File::get_int(std::string_view key, int64_t fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    if (!is_integer(v->type))
        fail(R1_ERR_FORMAT, "metadata key '%s' has type %s, expected an integer", key_text(key).c_str(),
             value_type_name(v->type));
    if (!is_signed(v->type) && v->num.u64 > uint64_t(std::numeric_limits<int64_t>::max()))
        fail(R1_ERR_FORMAT, "metadata key '%s' value %llu is out of range", key_text(key).c_str(),
             (unsigned long long)v->num.u64);
    return v->num.i64;
}

double File::get_float(std::string_view key, double fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    if (!is_float(v->type))
        fail(R1_ERR_FORMAT, "metadata key '%s' has type %s, expected a float", key_text(key).c_str(),
             value_type_name(v->type));
    return v->num.f64;
}

bool File::get_bool(std::string_view key, bool fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    if (v->type != ValueType::BOOL)
        fail(R1_ERR_FORMAT, "metadata key '%s' has type %s, expected bool", key_text(key).c_str(),
             value_type_name(v->type));
    return v->num.u64 != 0;
}

bool File::tensors_disjoint() const {
    std::vector<std::pair<uint64_t, uint64_t>> spans;
    spans.reserve(tensors_.size());
    for (const TensorInfo& t : tensors_) spans.emplace_back(t.offset, t.size);
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i)
        if (spans[i - 1].first + spans[i - 1].second > spans[i].first) return false;
    return true;
}

uint64_t File::release_tensor_data(const TensorInfo& t) {
    if (!mapping_ && !owned_) return 0;  // the caller's memory: not ours to give back
    if (release_allowed_ < 0) release_allowed_ = tensors_disjoint() ? 1 : 0;
    if (!release_allowed_ || t.size == 0) return 0;
    (void)fingerprint();  // it reads every byte: before any are gone
    return pages_release(data_ + t.offset, t.size);
}

uint64_t File::fingerprint() const {
    std::call_once(fingerprint_once_, [this] { fingerprint_ = XXH64(data_, size_t(data_size_), 0); });
    return fingerprint_;
}

}  // namespace r1::gguf
