// The C ABI of the quantizer (r1_model_quantize and the list of targets); the work is in src/quantize/.
#include <cstring>
#include <string>

#include "api_internal.h"
#include "error.h"
#include "log.h"
#include "quantize/quantize.h"
#include "r1.h"

using namespace r1api;

namespace {

const r1::quantize::Target* target_at(int32_t index) {
    const auto& all = r1::quantize::targets();
    return index >= 0 && size_t(index) < all.size() ? &all[size_t(index)] : nullptr;
}

}  // namespace

extern "C" {

R1_API void r1_quantize_params_init(r1_quantize_params* params) {
    if (!params) return;
    std::memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
    params->log_level = R1_LOG_INFO;
}

R1_API r1_status r1_model_quantize(const char* in_path, const char* out_path, const r1_quantize_params* params) {
    return guard([&] {
        require(in_path != nullptr && *in_path, "in_path is NULL or empty");
        require(out_path != nullptr && *out_path, "out_path is NULL or empty");
        require(params != nullptr, "params is NULL (r1_quantize_params.type names the target)");
        const r1_quantize_params p = read_params(params, r1_quantize_params_init, "r1_quantize_params");
        require(p.type != nullptr && *p.type,
                "r1_quantize_params.type is NULL or empty: name a target, e.g. \"Q4_K_M\"");
        require(p.n_threads >= 0, "r1_quantize_params.n_threads is negative");

        const r1::quantize::Target* target = r1::quantize::find_target(p.type);
        if (!target) {
            std::string names;
            for (const r1::quantize::Target& t : r1::quantize::targets())
                names += std::string(names.empty() ? "" : ", ") + t.name;
            if (r1::quantize::is_known_unsupported_target(p.type))
                r1::fail(R1_ERR_UNSUPPORTED,
                         "quantization type '%s' is not supported by r1 (it needs an importance matrix or is meant for "
                         "other model kinds); supported: %s", p.type, names.c_str());
            r1::fail(R1_ERR_UNSUPPORTED, "unknown quantization type '%s'; supported: %s", p.type, names.c_str());
        }
        const r1::Log log(p.log_callback, p.log_user_data, p.log_level);
        r1::quantize::Options o;
        o.target = target;
        o.n_threads = p.n_threads;
        o.allow_requantize = p.allow_requantize != 0;
        o.log = &log;
        if (p.progress_callback) {
            r1_progress_fn fn = p.progress_callback;
            void* user = p.progress_user_data;
            o.progress = [fn, user](float fraction) { return fn(user, fraction) == 0; };
        }
        r1::quantize::quantize_file(in_path, out_path, o);
    });
}

R1_API int32_t r1_quantize_type_count(void) { return int32_t(r1::quantize::targets().size()); }

R1_API const char* r1_quantize_type_name(int32_t index) {
    const r1::quantize::Target* t = target_at(index);
    return t ? t->name : nullptr;
}

R1_API const char* r1_quantize_type_description(int32_t index) {
    const r1::quantize::Target* t = target_at(index);
    return t ? t->description : nullptr;
}

R1_API int32_t r1_quantize_type_file_type(int32_t index) {
    const r1::quantize::Target* t = target_at(index);
    return t ? t->file_type : -1;
}

}  // extern "C"
