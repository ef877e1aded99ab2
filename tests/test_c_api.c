/* The public header from strict C99: includes r1.h and calls every function it declares, against the shared
 * library. Exits non-zero on the first failed check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "r1.h"

static int failures = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                          \
        }                                                                        \
    } while (0)

/* A little-endian GGUF v3 image with two metadata pairs and one F32 tensor of 4 values. */
static size_t put(unsigned char* p, const void* v, size_t n) {
    memcpy(p, v, n);
    return n;
}

static size_t put_u32(unsigned char* p, uint32_t v) {
    unsigned char b[4];
    b[0] = (unsigned char)v; b[1] = (unsigned char)(v >> 8); b[2] = (unsigned char)(v >> 16); b[3] = (unsigned char)(v >> 24);
    return put(p, b, 4);
}

static size_t put_u64(unsigned char* p, uint64_t v) {
    size_t n = put_u32(p, (uint32_t)v);
    return n + put_u32(p + n, (uint32_t)(v >> 32));
}

static size_t put_str(unsigned char* p, const char* s) {
    size_t n = put_u64(p, strlen(s));
    return n + put(p + n, s, strlen(s));
}

static size_t make_image(unsigned char* p) {
    size_t n = 0, k;
    float values[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    n += put(p + n, "GGUF", 4);
    n += put_u32(p + n, 3);
    n += put_u64(p + n, 1); /* tensors */
    n += put_u64(p + n, 3); /* metadata */
    n += put_str(p + n, "general.architecture");
    n += put_u32(p + n, 8);
    n += put_str(p + n, "qwen2");
    n += put_str(p + n, "qwen2.block_count");
    n += put_u32(p + n, 4);
    n += put_u32(p + n, 2);
    n += put_str(p + n, "tokenizer.ggml.scores");
    n += put_u32(p + n, 9);
    n += put_u32(p + n, 6);
    n += put_u64(p + n, 2);
    n += put(p + n, &values[0], 4);
    n += put(p + n, &values[1], 4);
    n += put_str(p + n, "output_norm.weight");
    n += put_u32(p + n, 1);
    n += put_u64(p + n, 4);
    n += put_u32(p + n, 0);
    n += put_u64(p + n, 0);
    while (n % 32) p[n++] = 0;
    for (k = 0; k < 4; ++k) n += put(p + n, &values[k], 4);
    return n;
}

static int log_calls = 0;
static void on_log(void* user, r1_log_level level, const char* message) {
    (void)user; (void)level; (void)message;
    ++log_calls;
}

static int32_t on_progress(void* user, float progress) {
    (void)progress;
    ++*(int*)user;
    return 0;
}

int main(void) {
    unsigned char image[512];
    size_t size = make_image(image);
    r1_model_params params;
    r1_model* model = NULL;
    r1_model_info info;
    r1_tensor_info tensor;
    r1_meta_type type, elem;
    int64_t count = 0, index = -1, iv = 0;
    uint64_t uv = 0;
    double dv = 0;
    int32_t bv = 0;
    const char* s = NULL;
    size_t len = 0, needed = 0;
    char buf[64];
    int progress_calls = 0;
    FILE* f;
    const char* path = "test_c_api.gguf";

    CHECK(r1_version() == R1_VERSION_NUMBER);
    CHECK(strcmp(r1_version_string(), R1_VERSION_STRING) == 0);
    CHECK(r1_abi_version() == R1_ABI_VERSION);
    CHECK(strcmp(r1_status_string(R1_ERR_FORMAT), "format error") == 0);
    CHECK(strcmp(r1_type_name(R1_TYPE_Q4_K), "q4_K") == 0);
    CHECK(strcmp(r1_file_type_name(15), "Q4_K_M") == 0);

    {
        r1_backend_info b;
        r1_device_info d;
        int32_t index = -1;
        b.struct_size = sizeof b;
        d.struct_size = sizeof d;
        CHECK(r1_backend_count() >= 1);
        CHECK(r1_backend_get_info(0, &b) == R1_OK && strcmp(b.name, "cpu") == 0 && b.n_devices == 1);
        CHECK(r1_backend_device_info(0, 0, &d) == R1_OK && d.kind == R1_DEVICE_CPU && strlen(d.name) > 0);
        CHECK(r1_backend_device_info(0, 1, &d) == R1_ERR_OUT_OF_RANGE);
        CHECK(r1_backend_load_plugin("no-such-plugin.so", &index) == R1_ERR_IO);
    }
    r1_model_params_init(&params);
    CHECK(params.struct_size == sizeof params);
    params.log_callback = on_log;
    params.log_level = R1_LOG_DEBUG;
    params.progress_callback = on_progress;
    params.progress_user_data = &progress_calls;
    params.metadata_only = 1; /* the image has no real weights */
    CHECK(r1_model_load_from_memory(image, size, &params, &model) == R1_OK);
    CHECK(model != NULL);
    CHECK(log_calls > 0);
    CHECK(progress_calls >= 2);

    info.struct_size = sizeof info;
    CHECK(r1_model_get_info(model, &info) == R1_OK);
    CHECK(strcmp(info.architecture, "qwen2") == 0);
    CHECK(info.n_params == 4);
    CHECK(info.n_layers == 2);
    CHECK(info.type_tensor_count[R1_TYPE_F32] == 1);

    CHECK(r1_model_meta_count(model) == 3);
    CHECK(strcmp(r1_model_meta_key(model, 1), "qwen2.block_count") == 0);
    CHECK(r1_model_meta_key(model, 3) == NULL);
    CHECK(r1_model_meta_type(model, "tokenizer.ggml.scores", &type, &elem, &count) == R1_OK);
    CHECK(type == R1_META_ARRAY && elem == R1_META_FLOAT32 && count == 2);
    CHECK(r1_model_meta_string(model, "general.architecture", &s, &len) == R1_OK);
    CHECK(len == 5 && strcmp(s, "qwen2") == 0);
    CHECK(r1_model_meta_int(model, "qwen2.block_count", &iv) == R1_OK && iv == 2);
    CHECK(r1_model_meta_uint(model, "qwen2.block_count", &uv) == R1_OK && uv == 2);
    CHECK(r1_model_meta_float(model, "qwen2.block_count", &dv) == R1_ERR_TYPE_MISMATCH);
    CHECK(strlen(r1_last_error()) > 0);
    CHECK(r1_model_meta_bool(model, "missing", &bv) == R1_ERR_NOT_FOUND);
    CHECK(r1_model_meta_array_float(model, "tokenizer.ggml.scores", 1, &dv) == R1_OK && dv == 2.0);
    CHECK(r1_model_meta_array_int(model, "tokenizer.ggml.scores", 0, &iv) == R1_ERR_TYPE_MISMATCH);
    CHECK(r1_model_meta_array_string(model, "tokenizer.ggml.scores", 0, &s, &len) == R1_ERR_TYPE_MISMATCH);
    CHECK(r1_model_meta_format(model, "tokenizer.ggml.scores", 0, buf, sizeof buf, &needed) == R1_OK);
    CHECK(strcmp(buf, "[1, 2]") == 0 && needed == 7);

    CHECK(r1_model_tensor_count(model) == 1);
    tensor.struct_size = sizeof tensor;
    CHECK(r1_model_tensor_info(model, 0, &tensor) == R1_OK);
    CHECK(strcmp(tensor.name, "output_norm.weight") == 0 && tensor.dims[0] == 4 && tensor.size == 16);
    CHECK(r1_model_find_tensor(model, "output_norm.weight", &index) == R1_OK && index == 0);
    r1_model_free(model);
    r1_model_free(NULL);

    /* The same image from a file. */
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fwrite(image, 1, size, f);
        fclose(f);
        model = NULL;
        CHECK(r1_model_load(path, &params, &model) == R1_OK);
        info.struct_size = sizeof info;
        CHECK(r1_model_get_info(model, &info) == R1_OK && info.file_size == size);
        r1_model_free(model);
        remove(path);
    }
    CHECK(r1_model_load("does-not-exist.gguf", NULL, &model) == R1_ERR_IO && model == NULL);
    CHECK(strstr(r1_last_error(), "does-not-exist.gguf") != NULL);

    if (failures) fprintf(stderr, "%d checks failed\n", failures);
    else printf("all C API checks passed\n");
    return failures ? 1 : 0;
}
