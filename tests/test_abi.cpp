// Pins the layout of every public struct and enum, so that a field inserted in the middle (an ABI break) fails
// here. The expected numbers are for LP64 platforms (x86-64, aarch64 Linux). When a field is appended, append a
// row; never change an existing one.
#include <doctest/doctest.h>

#include <cstddef>
#include <string>

#include "r1.h"

namespace {

struct Row {
    const char* what;
    size_t actual;
    size_t expected;
};

#define R1_SIZE(T, n) Row{#T, sizeof(T), n}
#define R1_OFFSET(T, f, n) Row{#T "." #f, offsetof(T, f), n}

const Row kLayout[] = {
    R1_SIZE(r1_status, 4),
    R1_SIZE(r1_log_level, 4),
    R1_SIZE(r1_type, 4),
    R1_SIZE(r1_load_mode, 4),
    R1_SIZE(r1_cpu_isa, 4),
    R1_SIZE(r1_device_kind, 4),
    R1_SIZE(r1_meta_type, 4),

    R1_SIZE(r1_model_params, 80),
    R1_OFFSET(r1_model_params, struct_size, 0),
    R1_OFFSET(r1_model_params, load_mode, 4),
    R1_OFFSET(r1_model_params, progress_callback, 8),
    R1_OFFSET(r1_model_params, progress_user_data, 16),
    R1_OFFSET(r1_model_params, log_callback, 24),
    R1_OFFSET(r1_model_params, log_user_data, 32),
    R1_OFFSET(r1_model_params, log_level, 40),
    R1_OFFSET(r1_model_params, backend, 48),
    R1_OFFSET(r1_model_params, device, 56),
    R1_OFFSET(r1_model_params, cpu_isa, 60),
    R1_OFFSET(r1_model_params, exact_math, 64),
    R1_OFFSET(r1_model_params, metadata_only, 68),
    R1_OFFSET(r1_model_params, n_gpu_layers, 72),

    R1_SIZE(r1_model_info, 1208),
    R1_OFFSET(r1_model_info, struct_size, 0),
    R1_OFFSET(r1_model_info, gguf_version, 4),
    R1_OFFSET(r1_model_info, architecture, 8),
    R1_OFFSET(r1_model_info, name, 16),
    R1_OFFSET(r1_model_info, tokenizer_model, 24),
    R1_OFFSET(r1_model_info, n_params, 32),
    R1_OFFSET(r1_model_info, n_ctx_train, 40),
    R1_OFFSET(r1_model_info, n_vocab, 48),
    R1_OFFSET(r1_model_info, n_layers, 56),
    R1_OFFSET(r1_model_info, n_embd, 64),
    R1_OFFSET(r1_model_info, n_heads, 72),
    R1_OFFSET(r1_model_info, n_kv_heads, 80),
    R1_OFFSET(r1_model_info, n_ff, 88),
    R1_OFFSET(r1_model_info, n_tensors, 96),
    R1_OFFSET(r1_model_info, n_metadata, 104),
    R1_OFFSET(r1_model_info, has_chat_template, 112),
    R1_OFFSET(r1_model_info, file_type, 116),
    R1_OFFSET(r1_model_info, file_size, 120),
    R1_OFFSET(r1_model_info, tensor_data_size, 128),
    R1_OFFSET(r1_model_info, fingerprint, 136),
    R1_OFFSET(r1_model_info, type_tensor_count, 144),
    R1_OFFSET(r1_model_info, type_bytes, 656),
    R1_OFFSET(r1_model_info, backend, 1168),
    R1_OFFSET(r1_model_info, device_name, 1176),
    R1_OFFSET(r1_model_info, n_layers_offloaded, 1184),
    R1_OFFSET(r1_model_info, device_weight_bytes, 1192),
    R1_OFFSET(r1_model_info, cpu_weight_bytes, 1200),

    R1_SIZE(r1_backend_info, 40),
    R1_OFFSET(r1_backend_info, struct_size, 0),
    R1_OFFSET(r1_backend_info, n_devices, 4),
    R1_OFFSET(r1_backend_info, name, 8),
    R1_OFFSET(r1_backend_info, origin, 16),
    R1_OFFSET(r1_backend_info, status, 24),
    R1_OFFSET(r1_backend_info, message, 32),

    R1_SIZE(r1_device_info, 32),
    R1_OFFSET(r1_device_info, struct_size, 0),
    R1_OFFSET(r1_device_info, kind, 4),
    R1_OFFSET(r1_device_info, name, 8),
    R1_OFFSET(r1_device_info, memory_total, 16),
    R1_OFFSET(r1_device_info, memory_free, 24),

    R1_SIZE(r1_tensor_info, 72),
    R1_OFFSET(r1_tensor_info, struct_size, 0),
    R1_OFFSET(r1_tensor_info, type, 4),
    R1_OFFSET(r1_tensor_info, name, 8),
    R1_OFFSET(r1_tensor_info, n_dims, 16),
    R1_OFFSET(r1_tensor_info, dims, 24),
    R1_OFFSET(r1_tensor_info, offset, 56),
    R1_OFFSET(r1_tensor_info, size, 64),

    R1_SIZE(r1_kv_type, 4),
    R1_SIZE(r1_special_token, 4),
    R1_SIZE(r1_event_kind, 4),
    R1_SIZE(r1_stop_reason, 4),

    R1_SIZE(r1_chat_message, 16),
    R1_OFFSET(r1_chat_message, role, 0),
    R1_OFFSET(r1_chat_message, content, 8),

    R1_SIZE(r1_chat_params, 40),
    R1_OFFSET(r1_chat_params, struct_size, 0),
    R1_OFFSET(r1_chat_params, add_generation_prompt, 4),
    R1_OFFSET(r1_chat_params, enable_thinking, 8),
    R1_OFFSET(r1_chat_params, template_name, 16),
    R1_OFFSET(r1_chat_params, template_text, 24),
    R1_OFFSET(r1_chat_params, bos_token, 32),

    R1_SIZE(r1_session_params, 32),
    R1_OFFSET(r1_session_params, struct_size, 0),
    R1_OFFSET(r1_session_params, n_threads, 4),
    R1_OFFSET(r1_session_params, n_ctx, 8),
    R1_OFFSET(r1_session_params, n_batch, 16),
    R1_OFFSET(r1_session_params, kv_type, 24),
    R1_OFFSET(r1_session_params, reserved, 28),

    R1_SIZE(r1_logit_bias, 8),
    R1_OFFSET(r1_logit_bias, token, 0),
    R1_OFFSET(r1_logit_bias, bias, 4),

    R1_SIZE(r1_sampling_params, 64),
    R1_OFFSET(r1_sampling_params, struct_size, 0),
    R1_OFFSET(r1_sampling_params, temperature, 4),
    R1_OFFSET(r1_sampling_params, top_k, 8),
    R1_OFFSET(r1_sampling_params, top_p, 12),
    R1_OFFSET(r1_sampling_params, min_p, 16),
    R1_OFFSET(r1_sampling_params, repeat_penalty, 20),
    R1_OFFSET(r1_sampling_params, presence_penalty, 24),
    R1_OFFSET(r1_sampling_params, frequency_penalty, 28),
    R1_OFFSET(r1_sampling_params, penalty_last_n, 32),
    R1_OFFSET(r1_sampling_params, seed, 40),
    R1_OFFSET(r1_sampling_params, logit_bias, 48),
    R1_OFFSET(r1_sampling_params, n_logit_bias, 56),

    R1_SIZE(r1_event, 32),
    R1_OFFSET(r1_event, struct_size, 0),
    R1_OFFSET(r1_event, kind, 4),
    R1_OFFSET(r1_event, text, 8),
    R1_OFFSET(r1_event, text_length, 16),
    R1_OFFSET(r1_event, token, 24),
    R1_OFFSET(r1_event, reserved, 28),

    R1_SIZE(r1_generate_params, 72),
    R1_OFFSET(r1_generate_params, struct_size, 0),
    R1_OFFSET(r1_generate_params, sampling, 8),
    R1_OFFSET(r1_generate_params, max_tokens, 16),
    R1_OFFSET(r1_generate_params, thinking_budget, 24),
    R1_OFFSET(r1_generate_params, budget_close_text, 32),
    R1_OFFSET(r1_generate_params, stop_strings, 40),
    R1_OFFSET(r1_generate_params, n_stop_strings, 48),
    R1_OFFSET(r1_generate_params, ignore_eos, 56),
    R1_OFFSET(r1_generate_params, enable_thinking, 60),
    R1_OFFSET(r1_generate_params, template_name, 64),

    R1_SIZE(r1_result, 80),
    R1_OFFSET(r1_result, struct_size, 0),
    R1_OFFSET(r1_result, stop_reason, 4),
    R1_OFFSET(r1_result, n_prompt_tokens, 8),
    R1_OFFSET(r1_result, n_prompt_evaluated, 16),
    R1_OFFSET(r1_result, n_thinking_tokens, 24),
    R1_OFFSET(r1_result, n_answer_tokens, 32),
    R1_OFFSET(r1_result, load_ms, 40),
    R1_OFFSET(r1_result, prompt_ms, 48),
    R1_OFFSET(r1_result, generation_ms, 56),
    R1_OFFSET(r1_result, prompt_tokens_per_second, 64),
    R1_OFFSET(r1_result, generation_tokens_per_second, 72),

    R1_SIZE(r1_quantize_params, 64),
    R1_OFFSET(r1_quantize_params, struct_size, 0),
    R1_OFFSET(r1_quantize_params, type, 8),
    R1_OFFSET(r1_quantize_params, n_threads, 16),
    R1_OFFSET(r1_quantize_params, allow_requantize, 20),
    R1_OFFSET(r1_quantize_params, progress_callback, 24),
    R1_OFFSET(r1_quantize_params, progress_user_data, 32),
    R1_OFFSET(r1_quantize_params, log_callback, 40),
    R1_OFFSET(r1_quantize_params, log_user_data, 48),
    R1_OFFSET(r1_quantize_params, log_level, 56),
    R1_OFFSET(r1_quantize_params, reserved, 60),
};

}  // namespace

TEST_CASE("public struct layouts match the committed table (LP64)") {
    if (sizeof(void*) != 8 || sizeof(long) != 8) {
        MESSAGE("SKIPPED: the committed table describes LP64 platforms");
        return;
    }
    for (const Row& row : kLayout) {
        CAPTURE(row.what);
        CHECK(row.actual == row.expected);
    }
}

TEST_CASE("enum values that the ABI fixes") {
    CHECK(R1_OK == 0);
    CHECK(R1_ERR_INVALID_ARGUMENT == -1);
    CHECK(R1_ERR_INTERNAL == -12);
    CHECK(R1_STATUS_FORCE32 == 0x7FFFFFFF);
    CHECK(R1_TYPE_Q4_K == 12);
    CHECK(R1_TYPE_BF16 == 30);
    CHECK(R1_META_FLOAT64 == 12);
    CHECK(R1_LOAD_READ == 2);
}

TEST_CASE("header and library versions agree") {
    CHECK(r1_version() == R1_VERSION_NUMBER);
    CHECK(r1_abi_version() == R1_ABI_VERSION);
    CHECK(std::string(r1_version_string()) == R1_VERSION_STRING);
}
