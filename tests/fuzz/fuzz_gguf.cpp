// libFuzzer target for the GGUF reader, driven through the public API: load from memory in both load modes,
// then read everything a caller can read (info with fingerprint, every metadata value as JSON, every tensor).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "r1.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // Metadata-only loads in both modes exercise the reader; a full load also validates hyperparameters and
    // tensor shapes and places the weights on the CPU.
    for (int variant = 0; variant < 3; ++variant) {
        r1_model_params params;
        r1_model_params_init(&params);
        params.load_mode = variant == 1 ? R1_LOAD_READ : R1_LOAD_MMAP;
        params.metadata_only = variant < 2;
        r1_model* model = nullptr;
        if (r1_model_load_from_memory(data, size, &params, &model) != R1_OK) continue;
        r1_model_info info;
        info.struct_size = sizeof info;
        r1_model_get_info(model, &info);
        std::vector<char> buffer(256);
        for (int64_t i = 0; i < r1_model_meta_count(model); ++i) {
            const char* key = r1_model_meta_key(model, i);
            size_t needed = 0;
            r1_model_meta_format(model, key, 8, buffer.data(), buffer.size(), &needed);
            int64_t v;
            double d;
            const char* s;
            size_t len;
            r1_model_meta_int(model, key, &v);
            r1_model_meta_float(model, key, &d);
            r1_model_meta_string(model, key, &s, &len);
            r1_model_meta_array_string(model, key, 0, &s, &len);
            r1_model_meta_array_int(model, key, 0, &v);
        }
        for (int64_t i = 0; i < r1_model_tensor_count(model); ++i) {
            r1_tensor_info t;
            t.struct_size = sizeof t;
            if (r1_model_tensor_info(model, i, &t) == R1_OK && t.size > 0) {
                // Touch the first and last byte of the tensor: both must be inside the image.
                volatile uint8_t first = data[t.offset];
                volatile uint8_t last = data[t.offset + t.size - 1];
                (void)first;
                (void)last;
            }
        }
        r1_model_free(model);
    }
    return 0;
}
