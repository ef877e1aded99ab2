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

    /* Quantization: the list of targets, defaults, and errors for bad input. */
    {
        r1_quantize_params qp;
        int32_t k, n = r1_quantize_type_count();
        int found = 0;
        CHECK(n > 10);
        for (k = 0; k < n; ++k) {
            if (strcmp(r1_quantize_type_name(k), "Q4_K_M") == 0) {
                found = 1;
                CHECK(r1_quantize_type_file_type(k) == 15);
                CHECK(strlen(r1_quantize_type_description(k)) > 0);
            }
        }
        CHECK(found);
        CHECK(r1_quantize_type_name(n) == NULL);
        r1_quantize_params_init(&qp);
        CHECK(qp.struct_size == sizeof qp);
        qp.type = "Q4_K_M";
        CHECK(r1_model_quantize("does-not-exist.gguf", "out.gguf", &qp) == R1_ERR_IO);
        qp.type = "Q9_X";
        CHECK(r1_model_quantize("does-not-exist.gguf", "out.gguf", &qp) == R1_ERR_UNSUPPORTED);
    }

    /* Text functions on a model without a tokenizer, and sessions on a model without weights: errors. */
    CHECK(r1_model_load_from_memory(image, size, &params, &model) == R1_OK);
    {
        int32_t ids[8];
        size_t n = 0;
        const char* piece = NULL;
        char text[16];
        r1_detokenizer* d = NULL;
        r1_chat_message m;
        r1_chat_params cp;
        r1_session_params sp;
        r1_session* session = NULL;
        CHECK(r1_tokenize(model, "ab", 2, R1_TOKENIZE_ADD_SPECIAL, ids, 8, &n) == R1_ERR_UNSUPPORTED);
        CHECK(r1_detokenize(model, ids, 0, 0, text, sizeof text, &n) == R1_ERR_UNSUPPORTED);
        CHECK(r1_token_to_piece(model, 0, 0, &piece, &n) == R1_ERR_UNSUPPORTED);
        CHECK(r1_detokenizer_create(model, 0, &d) == R1_ERR_UNSUPPORTED && d == NULL);
        r1_detokenizer_free(NULL);
        CHECK(r1_detokenizer_push(NULL, 0, &piece, &n) == R1_ERR_INVALID_ARGUMENT);
        CHECK(r1_detokenizer_flush(NULL, &piece, &n) == R1_ERR_INVALID_ARGUMENT);
        CHECK(r1_model_special_token(model, R1_SPECIAL_BOS) == -1);
        CHECK(r1_model_token_is_eog(model, 0) == 0);
        m.role = "user";
        m.content = "Hi";
        r1_chat_params_init(&cp);
        CHECK(r1_chat_apply_template(model, &m, 1, &cp, text, sizeof text, &n) == R1_ERR_UNSUPPORTED);
        cp.template_name = "r1-distill";
        cp.bos_token = "";
        CHECK(r1_chat_apply_template(NULL, &m, 1, &cp, NULL, 0, &n) == R1_ERR_BUFFER_TOO_SMALL);
        CHECK(n == strlen("<｜User｜>Hi<｜Assistant｜><think>\n"));
        r1_session_params_init(&sp);
        CHECK(r1_session_create(model, &sp, &session) == R1_ERR_UNSUPPORTED && session == NULL);
        r1_session_free(NULL);
        r1_session_cancel(NULL);
        CHECK(r1_session_position(NULL) == 0);
    }
    r1_model_free(model);

    /* A real session when the fixtures are present: evaluate, read logits, roll back, complete text. */
    {
        const char* dir = getenv("R1_FIXTURES_DIR");
        char path2[4096];
        FILE* probe;
        snprintf(path2, sizeof path2, "%s/models/stories260K.gguf", dir && *dir ? dir : R1_SOURCE_DIR "/../shared/fixtures");
        probe = fopen(path2, "rb");
        if (!probe) {
            printf("SKIPPED: the session part needs ../shared/fixtures (set R1_FIXTURES_DIR)\n");
        } else {
            r1_session_params sp;
            r1_session* session = NULL;
            r1_sampling_params samp;
            r1_generate_params gp;
            r1_result res;
            int32_t ids[16];
            size_t n = 0;
            const float* logits = NULL;
            int64_t vocab = 0, count = 0;
            const int32_t* held = NULL;
            void* state;
            size_t state_size = 0;
            const char* piece = NULL;
            char text[64];
            r1_detokenizer* d = NULL;
            fclose(probe);
            model = NULL;
            CHECK(r1_model_load(path2, NULL, &model) == R1_OK);
            CHECK(r1_tokenize(model, "Once upon a time", 16, R1_TOKENIZE_ADD_SPECIAL, ids, 16, &n) == R1_OK && n == 5);
            CHECK(ids[0] == r1_model_special_token(model, R1_SPECIAL_BOS));
            CHECK(r1_detokenize(model, ids, n, R1_DETOKENIZE_REMOVE_SPECIAL, text, sizeof text, &n) == R1_OK);
            CHECK(strcmp(text, "Once upon a time") == 0 || strcmp(text, " Once upon a time") == 0);
            CHECK(r1_token_to_piece(model, ids[1], 0, &piece, &n) == R1_OK && n > 0);
            CHECK(r1_detokenizer_create(model, 0, &d) == R1_OK);
            CHECK(r1_detokenizer_push(d, ids[1], &piece, &n) == R1_OK);
            CHECK(r1_detokenizer_flush(d, &piece, &n) == R1_OK);
            r1_detokenizer_free(d);
            r1_session_params_init(&sp);
            sp.n_ctx = 128;
            CHECK(r1_session_create(model, &sp, &session) == R1_OK);
            CHECK(r1_session_eval(session, ids, 5, R1_EVAL_ALL_LOGITS) == R1_OK);
            CHECK(r1_session_logits(session, -1, &logits, &vocab) == R1_OK && vocab == 512);
            CHECK(r1_session_tokens(session, &held, &count) == R1_OK && count == 5);
            CHECK(r1_session_save_to_buffer(session, NULL, 0, &state_size) == R1_ERR_BUFFER_TOO_SMALL);
            state = malloc(state_size);
            CHECK(state && r1_session_save_to_buffer(session, state, state_size, &state_size) == R1_OK);
            CHECK(r1_session_truncate(session, 2) == R1_OK && r1_session_position(session) == 2);
            CHECK(r1_session_load_from_buffer(session, state, state_size) == R1_OK && r1_session_position(session) == 5);
            free(state);
            CHECK(r1_session_save(session, "test_c_api.r1s") == R1_OK);
            CHECK(r1_session_reset(session) == R1_OK && r1_session_position(session) == 0);
            CHECK(r1_session_load(session, "test_c_api.r1s") == R1_OK);
            remove("test_c_api.r1s");
            r1_sampling_params_init(&samp);
            samp.temperature = 0;
            r1_generate_params_init(&gp);
            gp.sampling = &samp;
            gp.max_tokens = 8;
            res.struct_size = sizeof res;
            CHECK(r1_session_complete(session, "Once upon a time", 16, &gp, NULL, NULL, &res) == R1_OK);
            CHECK(res.n_answer_tokens == 8 && res.stop_reason == R1_STOP_MAX_TOKENS);
            CHECK(res.n_prompt_evaluated == 1); /* the rest of the prompt was reused */
            {
                r1_chat_message m;
                m.role = "user";
                m.content = "Hi";
                gp.template_name = "r1-distill";
                CHECK(r1_session_chat(session, &m, 1, &gp, NULL, NULL, &res) == R1_OK);
            }
            r1_session_free(session);
            r1_model_free(model);
        }
    }

    if (failures) fprintf(stderr, "%d checks failed\n", failures);
    else printf("all C API checks passed\n");
    return failures ? 1 : 0;
}
