// The C ABI boundary: the only place where C++ errors become r1_status values. Every exported function either
// cannot fail or runs its body inside guard(), which catches everything.
#include <cstring>
#include <limits>
#include <new>
#include <string>

#include "dtype.h"
#include "error.h"
#include "gguf/json.h"
#include "backend/registry.h"
#include "model/model.h"
#include "model/weights.h"
#include "api_internal.h"
#include "r1.h"

using namespace r1api;

namespace {
thread_local std::string t_last_error;
}  // namespace

void r1api::set_last_error(const char* message) noexcept {
    try {
        t_last_error = message;
    } catch (...) {
        // Out of memory while recording the message: keep the previous text rather than fail.
    }
}

namespace {

const r1::gguf::Value& meta_value(const r1_model* model, const char* key) {
    require(model != nullptr, "model is NULL");
    require(key != nullptr, "key is NULL");
    const r1::gguf::Value* v = model->impl->file().find(key);
    if (!v) r1::fail(R1_ERR_NOT_FOUND, "metadata key '%s' not found", key);
    return *v;
}

[[noreturn]] void type_mismatch(const char* key, const r1::gguf::Value& v, const char* wanted) {
    r1::fail(R1_ERR_TYPE_MISMATCH, "metadata key '%s' has type %s, not %s", key, r1::gguf::value_type_name(v.type),
             wanted);
}

bool signed_type(r1::gguf::ValueType t) {
    using T = r1::gguf::ValueType;
    return t == T::INT8 || t == T::INT16 || t == T::INT32 || t == T::INT64;
}

const r1::gguf::Value& meta_array(const r1_model* model, const char* key, int64_t index) {
    const r1::gguf::Value& v = meta_value(model, key);
    if (v.type != r1::gguf::ValueType::ARRAY) type_mismatch(key, v, "an array");
    if (index < 0 || uint64_t(index) >= v.count)
        r1::fail(R1_ERR_OUT_OF_RANGE, "index %lld is outside array '%s' of %llu elements", (long long)index, key,
                 (unsigned long long)v.count);
    return v;
}

r1_model* wrap_model(std::unique_ptr<r1::Model> impl) {
    auto* m = new r1_model;
    m->impl = std::shared_ptr<r1::Model>(std::move(impl));
    return m;
}

}  // namespace

extern "C" {

R1_API int32_t r1_version(void) { return R1_VERSION_NUMBER; }
R1_API const char* r1_version_string(void) { return R1_VERSION_STRING; }
R1_API int32_t r1_abi_version(void) { return R1_ABI_VERSION; }

R1_API const char* r1_status_string(r1_status status) {
    switch (status) {
        case R1_OK: return "ok";
        case R1_ERR_INVALID_ARGUMENT: return "invalid argument";
        case R1_ERR_OUT_OF_MEMORY: return "out of memory";
        case R1_ERR_IO: return "I/O error";
        case R1_ERR_FORMAT: return "format error";
        case R1_ERR_UNSUPPORTED: return "unsupported";
        case R1_ERR_NOT_FOUND: return "not found";
        case R1_ERR_BUFFER_TOO_SMALL: return "buffer too small";
        case R1_ERR_CANCELLED: return "cancelled";
        case R1_ERR_TYPE_MISMATCH: return "type mismatch";
        case R1_ERR_OUT_OF_RANGE: return "out of range";
        case R1_ERR_BACKEND: return "backend error";
        case R1_ERR_INTERNAL: return "internal error";
        case R1_STATUS_FORCE32: break;
    }
    return "unknown status";
}

R1_API const char* r1_last_error(void) { return t_last_error.c_str(); }

R1_API const char* r1_type_name(int32_t type) { return type < 0 ? "unknown" : r1::dtype_name(uint32_t(type)); }

R1_API const char* r1_file_type_name(int32_t file_type) {
    // llama.cpp's LLAMA_FTYPE values; gaps are retired values.
    switch (file_type) {
        case 0: return "F32";
        case 1: return "F16";
        case 2: return "Q4_0";
        case 3: return "Q4_1";
        case 7: return "Q8_0";
        case 8: return "Q5_0";
        case 9: return "Q5_1";
        case 10: return "Q2_K";
        case 11: return "Q3_K_S";
        case 12: return "Q3_K_M";
        case 13: return "Q3_K_L";
        case 14: return "Q4_K_S";
        case 15: return "Q4_K_M";
        case 16: return "Q5_K_S";
        case 17: return "Q5_K_M";
        case 18: return "Q6_K";
        case 19: return "IQ2_XXS";
        case 20: return "IQ2_XS";
        case 21: return "Q2_K_S";
        case 22: return "IQ3_XS";
        case 23: return "IQ3_XXS";
        case 24: return "IQ1_S";
        case 25: return "IQ4_NL";
        case 26: return "IQ3_S";
        case 27: return "IQ3_M";
        case 28: return "IQ2_S";
        case 29: return "IQ2_M";
        case 30: return "IQ4_XS";
        case 31: return "IQ1_M";
        case 32: return "BF16";
        case 36: return "TQ1_0";
        case 37: return "TQ2_0";
        case 38: return "MXFP4_MOE";
        default: return "unknown";
    }
}

R1_API int32_t r1_backend_count(void) {
    try {
        return int32_t(r1::Registry::instance().count());
    } catch (...) {
        return 0;
    }
}

R1_API r1_status r1_backend_get_info(int32_t index, r1_backend_info* info) {
    return guard([&] {
        require(info != nullptr, "info is NULL");
        const r1::BackendEntry* e = index >= 0 ? r1::Registry::instance().at(size_t(index)) : nullptr;
        if (!e) r1::fail(R1_ERR_OUT_OF_RANGE, "backend index %d is outside 0..%d", index, r1_backend_count() - 1);
        r1_backend_info out;
        std::memset(&out, 0, sizeof out);
        out.struct_size = sizeof out;
        out.n_devices = int32_t(e->devices.size());
        out.name = e->iface->name;
        out.origin = e->origin.c_str();
        out.status = e->init_status;
        out.message = e->init_message.c_str();
        write_out(info, out, "r1_backend_info");
    });
}

R1_API r1_status r1_backend_device_info(int32_t backend, int32_t device, r1_device_info* info) {
    return guard([&] {
        require(info != nullptr, "info is NULL");
        const r1::BackendEntry* e = backend >= 0 ? r1::Registry::instance().at(size_t(backend)) : nullptr;
        if (!e) r1::fail(R1_ERR_OUT_OF_RANGE, "backend index %d is outside 0..%d", backend, r1_backend_count() - 1);
        if (device < 0 || size_t(device) >= e->devices.size())
            r1::fail(R1_ERR_OUT_OF_RANGE, "backend '%s' has %zu device(s); %d is out of range", e->iface->name,
                     e->devices.size(), device);
        const r1b_device_info& d = e->devices[size_t(device)];
        r1_device_info out;
        std::memset(&out, 0, sizeof out);
        out.struct_size = sizeof out;
        out.kind = r1_device_kind(d.kind);
        out.name = d.name;
        out.memory_total = d.memory_total;
        out.memory_free = d.memory_free;
        write_out(info, out, "r1_device_info");
    });
}

R1_API r1_status r1_backend_load_plugin(const char* path, int32_t* out_index) {
    return guard([&] {
        require(path != nullptr && *path, "path is NULL or empty");
        size_t index = r1::Registry::instance().load_plugin(path);
        if (out_index) *out_index = int32_t(index);
    });
}

R1_API void r1_model_params_init(r1_model_params* params) {
    if (!params) return;
    std::memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
    params->load_mode = R1_LOAD_MMAP;
    params->log_level = R1_LOG_INFO;
    params->backend = "auto";
    params->n_gpu_layers = -1;
}

R1_API r1_status r1_model_load(const char* path, const r1_model_params* params, r1_model** out_model) {
    if (out_model) *out_model = nullptr;
    return guard([&] {
        require(path != nullptr, "path is NULL");
        require(out_model != nullptr, "out_model is NULL");
        require(*path != '\0', "path is empty");
        r1_model_params p = read_params(params, r1_model_params_init, "r1_model_params");
        *out_model = wrap_model(r1::Model::load(path, p));
    });
}

R1_API r1_status r1_model_load_from_memory(const void* data, size_t size, const r1_model_params* params,
                                           r1_model** out_model) {
    if (out_model) *out_model = nullptr;
    return guard([&] {
        require(data != nullptr, "data is NULL");
        require(size > 0, "size is 0");
        require(out_model != nullptr, "out_model is NULL");
        r1_model_params p = read_params(params, r1_model_params_init, "r1_model_params");
        *out_model = wrap_model(r1::Model::load_from_memory(data, size, p));
    });
}

R1_API void r1_model_free(r1_model* model) { delete model; }

R1_API r1_status r1_model_get_info(const r1_model* model, r1_model_info* info) {
    return guard([&] {
        require(model != nullptr, "model is NULL");
        require(info != nullptr, "info is NULL");
        const r1::Model& m = *model->impl;
        const r1::ModelSummary& s = m.summary();
        r1_model_info out;
        std::memset(&out, 0, sizeof out);
        out.struct_size = sizeof out;
        out.gguf_version = m.file().version();
        // Summary strings are views into the file's arena, which NUL-terminates every string.
        out.architecture = s.architecture.empty() ? "" : s.architecture.data();
        out.name = s.name.empty() ? "" : s.name.data();
        out.tokenizer_model = s.tokenizer_model.empty() ? "" : s.tokenizer_model.data();
        out.n_params = s.n_params;
        out.n_ctx_train = s.n_ctx_train;
        out.n_vocab = s.n_vocab;
        out.n_layers = s.n_layers;
        out.n_embd = s.n_embd;
        out.n_heads = s.n_heads;
        out.n_kv_heads = s.n_kv_heads;
        out.n_ff = s.n_ff;
        out.n_tensors = int64_t(m.file().tensors().size());
        out.n_metadata = int64_t(m.file().metadata().size());
        out.has_chat_template = s.has_chat_template ? 1 : 0;
        out.file_type = s.file_type;
        out.file_size = m.file().file_size();
        out.tensor_data_size = m.file().data_size();
        for (int i = 0; i < R1_TYPE_ID_LIMIT; ++i) {
            out.type_tensor_count[i] = s.type_tensor_count[i];
            out.type_bytes[i] = s.type_bytes[i];
        }
        if (m.has_weights()) {
            const r1::ModelWeights& w = m.weights();
            const r1::Device& main = m.device();
            const size_t n_dev = w.placement().devices.size();
            out.backend = main.backend_name();
            out.device_name = main.info().name;
            const bool split = n_dev > 1;
            out.n_layers_offloaded = split ? m.hparams().n_layers - w.placement().first_offloaded_layer
                                           : m.hparams().n_layers;
            out.device_weight_bytes = w.device_bytes(n_dev - 1);
            out.cpu_weight_bytes = split ? w.device_bytes(0) : 0;
        } else {
            out.backend = "";
            out.device_name = "";
        }
        // Hash only when the caller's struct has room for the fingerprint: it reads all tensor data.
        if (info->struct_size >= offsetof(r1_model_info, fingerprint) + sizeof out.fingerprint)
            out.fingerprint = m.file().fingerprint();
        write_out(info, out, "r1_model_info");
    });
}

R1_API int64_t r1_model_meta_count(const r1_model* model) {
    return model ? int64_t(model->impl->file().metadata().size()) : 0;
}

R1_API const char* r1_model_meta_key(const r1_model* model, int64_t index) {
    if (!model || index < 0) return nullptr;
    const auto& md = model->impl->file().metadata();
    return uint64_t(index) < md.size() ? md[size_t(index)].key.data() : nullptr;
}

R1_API r1_status r1_model_meta_type(const r1_model* model, const char* key, r1_meta_type* out_type,
                                    r1_meta_type* out_elem_type, int64_t* out_count) {
    return guard([&] {
        const r1::gguf::Value& v = meta_value(model, key);
        bool array = v.type == r1::gguf::ValueType::ARRAY;
        if (out_type) *out_type = r1_meta_type(v.type);
        if (out_elem_type) *out_elem_type = r1_meta_type(array ? v.elem_type : v.type);
        if (out_count) *out_count = array ? int64_t(v.count) : 1;
    });
}

R1_API r1_status r1_model_meta_string(const r1_model* model, const char* key, const char** out_value,
                                      size_t* out_length) {
    return guard([&] {
        require(out_value != nullptr, "out_value is NULL");
        const r1::gguf::Value& v = meta_value(model, key);
        if (v.type != r1::gguf::ValueType::STRING) type_mismatch(key, v, "string");
        *out_value = v.str.data();
        if (out_length) *out_length = v.str.size();
    });
}

R1_API r1_status r1_model_meta_int(const r1_model* model, const char* key, int64_t* out_value) {
    return guard([&] {
        require(out_value != nullptr, "out_value is NULL");
        const r1::gguf::Value& v = meta_value(model, key);
        if (!r1::gguf::is_integer(v.type)) type_mismatch(key, v, "an integer");
        if (!signed_type(v.type) && v.num.u64 > uint64_t(std::numeric_limits<int64_t>::max()))
            r1::fail(R1_ERR_OUT_OF_RANGE, "metadata key '%s' value %llu does not fit int64; use r1_model_meta_uint",
                     key, (unsigned long long)v.num.u64);
        *out_value = v.num.i64;
    });
}

R1_API r1_status r1_model_meta_uint(const r1_model* model, const char* key, uint64_t* out_value) {
    return guard([&] {
        require(out_value != nullptr, "out_value is NULL");
        const r1::gguf::Value& v = meta_value(model, key);
        if (!r1::gguf::is_integer(v.type)) type_mismatch(key, v, "an integer");
        if (signed_type(v.type) && v.num.i64 < 0)
            r1::fail(R1_ERR_OUT_OF_RANGE, "metadata key '%s' value %lld is negative", key, (long long)v.num.i64);
        *out_value = v.num.u64;
    });
}

R1_API r1_status r1_model_meta_float(const r1_model* model, const char* key, double* out_value) {
    return guard([&] {
        require(out_value != nullptr, "out_value is NULL");
        const r1::gguf::Value& v = meta_value(model, key);
        if (!r1::gguf::is_float(v.type)) type_mismatch(key, v, "a float");
        *out_value = v.num.f64;
    });
}

R1_API r1_status r1_model_meta_bool(const r1_model* model, const char* key, int32_t* out_value) {
    return guard([&] {
        require(out_value != nullptr, "out_value is NULL");
        const r1::gguf::Value& v = meta_value(model, key);
        if (v.type != r1::gguf::ValueType::BOOL) type_mismatch(key, v, "bool");
        *out_value = v.num.u64 ? 1 : 0;
    });
}

R1_API r1_status r1_model_meta_array_int(const r1_model* model, const char* key, int64_t index,
                                         int64_t* out_value) {
    return guard([&] {
        require(out_value != nullptr, "out_value is NULL");
        const r1::gguf::Value& v = meta_array(model, key, index);
        if (!r1::gguf::is_integer(v.elem_type)) type_mismatch(key, v, "an array of integers");
        uint64_t u = v.uint_at(uint64_t(index));
        if (!signed_type(v.elem_type) && u > uint64_t(std::numeric_limits<int64_t>::max()))
            r1::fail(R1_ERR_OUT_OF_RANGE, "element %lld of '%s' does not fit int64", (long long)index, key);
        *out_value = v.int_at(uint64_t(index));
    });
}

R1_API r1_status r1_model_meta_array_float(const r1_model* model, const char* key, int64_t index,
                                           double* out_value) {
    return guard([&] {
        require(out_value != nullptr, "out_value is NULL");
        const r1::gguf::Value& v = meta_array(model, key, index);
        if (!r1::gguf::is_float(v.elem_type)) type_mismatch(key, v, "an array of floats");
        *out_value = v.float_at(uint64_t(index));
    });
}

R1_API r1_status r1_model_meta_array_string(const r1_model* model, const char* key, int64_t index,
                                            const char** out_value, size_t* out_length) {
    return guard([&] {
        require(out_value != nullptr, "out_value is NULL");
        const r1::gguf::Value& v = meta_array(model, key, index);
        if (v.elem_type != r1::gguf::ValueType::STRING) type_mismatch(key, v, "an array of strings");
        std::string_view s = v.strings[size_t(index)];
        *out_value = s.data();
        if (out_length) *out_length = s.size();
    });
}

R1_API r1_status r1_model_meta_format(const r1_model* model, const char* key, int64_t max_array_items,
                                      char* buffer, size_t size, size_t* out_needed) {
    return guard([&] {
        require(buffer != nullptr || size == 0, "buffer is NULL but size is not 0");
        require(max_array_items >= 0, "max_array_items is negative");
        const r1::gguf::Value& v = meta_value(model, key);
        std::string text;
        r1::gguf::append_json_value(text, v, uint64_t(max_array_items));
        if (out_needed) *out_needed = text.size() + 1;
        if (size == 0)
            r1::fail(R1_ERR_BUFFER_TOO_SMALL, "the value of '%s' needs %zu bytes", key, text.size() + 1);
        size_t n = std::min(text.size(), size - 1);
        std::memcpy(buffer, text.data(), n);
        buffer[n] = '\0';
        if (n < text.size())
            r1::fail(R1_ERR_BUFFER_TOO_SMALL, "the value of '%s' needs %zu bytes, the buffer has %zu", key,
                     text.size() + 1, size);
    });
}

R1_API int64_t r1_model_tensor_count(const r1_model* model) {
    return model ? int64_t(model->impl->file().tensors().size()) : 0;
}

R1_API r1_status r1_model_tensor_info(const r1_model* model, int64_t index, r1_tensor_info* info) {
    return guard([&] {
        require(model != nullptr, "model is NULL");
        require(info != nullptr, "info is NULL");
        const auto& tensors = model->impl->file().tensors();
        if (index < 0 || uint64_t(index) >= tensors.size())
            r1::fail(R1_ERR_OUT_OF_RANGE, "tensor index %lld is outside 0..%zu", (long long)index, tensors.size());
        const r1::gguf::TensorInfo& t = tensors[size_t(index)];
        r1_tensor_info out;
        std::memset(&out, 0, sizeof out);
        out.struct_size = sizeof out;
        out.type = int32_t(t.type);
        out.name = t.name.data();
        out.n_dims = t.n_dims;
        for (int d = 0; d < R1_MAX_DIMS; ++d) out.dims[d] = t.ne[d];
        out.offset = model->impl->file().data_offset() + t.offset;
        out.size = t.size;
        write_out(info, out, "r1_tensor_info");
    });
}

R1_API r1_status r1_model_find_tensor(const r1_model* model, const char* name, int64_t* out_index) {
    return guard([&] {
        require(model != nullptr, "model is NULL");
        require(name != nullptr, "name is NULL");
        require(out_index != nullptr, "out_index is NULL");
        const r1::gguf::File& f = model->impl->file();
        const r1::gguf::TensorInfo* t = f.find_tensor(name);
        if (!t) r1::fail(R1_ERR_NOT_FOUND, "tensor '%s' not found", name);
        *out_index = int64_t(t - f.tensors().data());
    });
}

}  // extern "C"
