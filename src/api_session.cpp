// The C ABI of sessions and generation.
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "api_internal.h"
#include "model/model.h"
#include "session/chat_prompt.h"
#include "session/generate.h"
#include "session/session.h"
#include "session/state.h"
#include "tokenizer/tokenizer.h"

using namespace r1api;

struct r1_session {
    std::unique_ptr<r1::Session> impl;
};

namespace {

r1::Session& session_of(r1_session* s) {
    require(s != nullptr && s->impl != nullptr, "session is NULL");
    return *s->impl;
}

r1::DType kv_dtype(r1_kv_type t) {
    switch (t) {
        case R1_KV_DEFAULT:
        case R1_KV_F16: return r1::DType::F16;
        case R1_KV_F32: return r1::DType::F32;
        case R1_KV_Q8_0: return r1::DType::Q8_0;
        case R1_KV_BF16: return r1::DType::BF16;
        default: r1::fail(R1_ERR_INVALID_ARGUMENT, "unknown KV cache type %d", int(t));
    }
}

uint64_t random_seed() {
    uint64_t seed = 0;
    std::ifstream urandom("/dev/urandom", std::ios::binary);
    if (!urandom.read(reinterpret_cast<char*>(&seed), sizeof seed))
        seed = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
    return seed;
}

r1::GenerateOptions generate_options(const r1_generate_params& p) {
    r1::GenerateOptions o;
    r1_sampling_params sp = read_params(p.sampling, r1_sampling_params_init, "r1_sampling_params");
    o.sampling.temperature = sp.temperature;
    o.sampling.top_k = sp.top_k;
    o.sampling.top_p = sp.top_p;
    o.sampling.min_p = sp.min_p;
    o.sampling.repeat_penalty = sp.repeat_penalty;
    o.sampling.presence_penalty = sp.presence_penalty;
    o.sampling.frequency_penalty = sp.frequency_penalty;
    o.sampling.penalty_last_n = sp.penalty_last_n;
    o.sampling.seed = sp.seed == R1_SEED_RANDOM ? random_seed() : sp.seed;
    if (!(sp.temperature == sp.temperature) || sp.top_p < 0 || sp.top_p > 1 || sp.min_p < 0 || sp.min_p > 1 ||
        sp.top_k < 0 || sp.repeat_penalty <= 0)
        r1::fail(R1_ERR_INVALID_ARGUMENT, "sampling parameters out of range (top_p and min_p in [0, 1], top_k >= 0, "
                                          "repeat_penalty > 0)");
    require(sp.logit_bias != nullptr || sp.n_logit_bias == 0, "logit_bias is NULL");
    for (size_t i = 0; i < sp.n_logit_bias; ++i) o.sampling.logit_bias.emplace_back(sp.logit_bias[i].token, sp.logit_bias[i].bias);
    if (p.max_tokens < 0) r1::fail(R1_ERR_INVALID_ARGUMENT, "max_tokens is negative");
    o.max_tokens = p.max_tokens;
    if (p.thinking_budget < -1) r1::fail(R1_ERR_INVALID_ARGUMENT, "thinking_budget must be -1, 0 or positive");
    o.thinking_budget = p.thinking_budget;
    if (p.budget_close_text) o.budget_close_text = p.budget_close_text;
    require(p.stop_strings != nullptr || p.n_stop_strings == 0, "stop_strings is NULL");
    for (size_t i = 0; i < p.n_stop_strings; ++i) {
        require(p.stop_strings[i] != nullptr, "a stop string is NULL");
        o.stop_strings.emplace_back(p.stop_strings[i]);
    }
    o.ignore_eos = p.ignore_eos != 0;
    return o;
}

r1::EventSink make_sink(r1_event_fn fn, void* user) {
    return [fn, user](r1::StreamKind kind, std::string_view text, int32_t token) {
        if (!fn) return true;
        std::string copy(text);  // NUL-terminated for the callback
        r1_event e;
        std::memset(&e, 0, sizeof e);
        e.struct_size = sizeof e;
        e.kind = kind == r1::StreamKind::Thinking ? R1_EVENT_THINKING : R1_EVENT_ANSWER;
        e.text = copy.c_str();
        e.text_length = copy.size();
        e.token = token;
        return fn(user, &e) == 0;
    };
}

void fill_result(const r1::Session& s, const r1::GenerateResult& g, r1_result* out) {
    if (!out) return;
    r1_result r;
    std::memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.stop_reason = r1_stop_reason(int(g.stop_reason));
    r.n_prompt_tokens = g.n_prompt_tokens;
    r.n_prompt_evaluated = g.n_prompt_evaluated;
    r.n_thinking_tokens = g.n_thinking_tokens;
    r.n_answer_tokens = g.n_answer_tokens;
    r.load_ms = s.model().load_ms();
    r.prompt_ms = g.prompt_ms;
    r.generation_ms = g.generation_ms;
    r.prompt_tokens_per_second = g.prompt_ms > 0 ? double(g.n_prompt_evaluated) * 1000.0 / g.prompt_ms : 0;
    const int64_t generated = g.n_thinking_tokens + g.n_answer_tokens;
    r.generation_tokens_per_second = g.generation_ms > 0 ? double(generated) * 1000.0 / g.generation_ms : 0;
    write_out(out, r, "r1_result");
}

// Runs a generation; a cancellation still fills the result before the error is returned.
r1_status run_generation(r1_session* session, r1_result* result, const std::function<void(r1::GenerateResult&)>& body) {
    r1::GenerateResult g;
    r1_status st = guard([&] { body(g); });
    if (session && session->impl) {
        if (st == R1_ERR_CANCELLED) session->impl->clear_cancel();
        if (st == R1_OK || st == R1_ERR_CANCELLED) {
            r1_status fill = guard([&] { fill_result(*session->impl, g, result); });
            if (st == R1_OK) st = fill;
        }
    }
    return st;
}

}  // namespace

extern "C" {

R1_API void r1_session_params_init(r1_session_params* params) {
    if (!params) return;
    std::memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
}

R1_API r1_status r1_session_create(const r1_model* model, const r1_session_params* params, r1_session** out) {
    if (out) *out = nullptr;
    return guard([&] {
        require(model != nullptr, "model is NULL");
        require(out != nullptr, "out is NULL");
        r1_session_params p = read_params(params, r1_session_params_init, "r1_session_params");
        if (p.n_threads < 0) r1::fail(R1_ERR_INVALID_ARGUMENT, "n_threads is negative");
        r1::SessionOptions o;
        o.n_ctx = p.n_ctx;
        o.n_batch = p.n_batch;
        o.n_threads = p.n_threads;
        o.kv_type = kv_dtype(p.kv_type);
        auto s = std::make_unique<r1_session>();
        s->impl = std::make_unique<r1::Session>(model->impl, o);
        *out = s.release();
    });
}

R1_API void r1_session_free(r1_session* session) { delete session; }

R1_API r1_status r1_session_eval(r1_session* session, const int32_t* tokens, size_t count, uint32_t flags) {
    r1_status st = guard([&] {
        require(tokens != nullptr || count == 0, "tokens is NULL");
        session_of(session).eval(tokens, int64_t(count), (flags & R1_EVAL_ALL_LOGITS) != 0);
    });
    if (st == R1_ERR_CANCELLED && session && session->impl) session->impl->clear_cancel();
    return st;
}

R1_API r1_status r1_session_logits(const r1_session* session, int64_t index, const float** out_logits,
                                   int64_t* out_n_vocab) {
    return guard([&] {
        require(session != nullptr && session->impl != nullptr, "session is NULL");
        require(out_logits != nullptr, "out_logits is NULL");
        const r1::Session& s = *session->impl;
        const int64_t rows = s.logits_rows();
        const int64_t row = index < 0 ? rows + index : index;
        if (rows == 0 || row < 0 || row >= rows)
            r1::fail(R1_ERR_OUT_OF_RANGE, "no logits row %lld (the last eval kept %lld)", (long long)index, (long long)rows);
        *out_logits = s.logits() + size_t(row) * size_t(s.n_vocab());
        if (out_n_vocab) *out_n_vocab = s.n_vocab();
    });
}

R1_API int64_t r1_session_position(const r1_session* session) {
    return session && session->impl ? session->impl->position() : 0;
}

R1_API int32_t r1_session_n_threads(const r1_session* session) {
    return session && session->impl ? int32_t(session->impl->n_threads()) : 0;
}

R1_API r1_status r1_session_tokens(const r1_session* session, const int32_t** out_tokens, int64_t* out_count) {
    return guard([&] {
        require(session != nullptr && session->impl != nullptr, "session is NULL");
        require(out_tokens != nullptr && out_count != nullptr, "out_tokens or out_count is NULL");
        *out_tokens = session->impl->tokens().data();
        *out_count = session->impl->position();
    });
}

R1_API r1_status r1_session_truncate(r1_session* session, int64_t position) {
    return guard([&] { session_of(session).truncate(position); });
}

R1_API r1_status r1_session_reset(r1_session* session) {
    return guard([&] { session_of(session).reset(); });
}

R1_API void r1_session_cancel(r1_session* session) {
    if (session && session->impl) session->impl->cancel();
}

R1_API r1_status r1_session_save(r1_session* session, const char* path) {
    return guard([&] {
        require(path != nullptr && *path, "path is NULL or empty");
        std::vector<uint8_t> state = r1::save_state(session_of(session));
        std::string tmp = std::string(path) + ".tmp";
        {
            std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
            if (!f) r1::fail(R1_ERR_IO, "%s: cannot open for writing", tmp.c_str());
            f.write(reinterpret_cast<const char*>(state.data()), std::streamsize(state.size()));
            if (!f) r1::fail(R1_ERR_IO, "%s: write failed", tmp.c_str());
        }
        if (std::rename(tmp.c_str(), path) != 0) {
            std::remove(tmp.c_str());
            r1::fail(R1_ERR_IO, "%s: cannot replace the file", path);
        }
    });
}

R1_API r1_status r1_session_save_to_buffer(r1_session* session, void* buffer, size_t size, size_t* out_size) {
    return guard([&] {
        require(out_size != nullptr, "out_size is NULL");
        require(buffer != nullptr || size == 0, "buffer is NULL but size is not 0");
        std::vector<uint8_t> state = r1::save_state(session_of(session));
        *out_size = state.size();
        if (size < state.size())
            r1::fail(R1_ERR_BUFFER_TOO_SMALL, "the state needs %zu bytes; the buffer has %zu", state.size(), size);
        std::memcpy(buffer, state.data(), state.size());
    });
}

R1_API r1_status r1_session_load(r1_session* session, const char* path) {
    return guard([&] {
        require(path != nullptr && *path, "path is NULL or empty");
        r1::Session& s = session_of(session);
        std::ifstream f(path, std::ios::binary);
        if (!f) r1::fail(R1_ERR_IO, "%s: cannot open", path);
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        if (f.bad()) r1::fail(R1_ERR_IO, "%s: read failed", path);
        r1::load_state(s, bytes.data(), bytes.size());
    });
}

R1_API r1_status r1_session_load_from_buffer(r1_session* session, const void* buffer, size_t size) {
    return guard([&] {
        require(buffer != nullptr, "buffer is NULL");
        r1::load_state(session_of(session), static_cast<const uint8_t*>(buffer), size);
    });
}

R1_API void r1_sampling_params_init(r1_sampling_params* params) {
    if (!params) return;
    std::memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
    params->temperature = 0.6f;
    params->top_p = 0.95f;
    params->repeat_penalty = 1.0f;
    params->penalty_last_n = 64;
    params->seed = R1_SEED_RANDOM;
}

R1_API void r1_generate_params_init(r1_generate_params* params) {
    if (!params) return;
    std::memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
    params->thinking_budget = -1;
    params->enable_thinking = 1;
}

R1_API r1_status r1_session_chat(r1_session* session, const r1_chat_message* messages, size_t count,
                                 const r1_generate_params* params, r1_event_fn on_event, void* user_data,
                                 r1_result* result) {
    return run_generation(session, result, [&](r1::GenerateResult& g) {
        r1::Session& s = session_of(session);
        require(count > 0, "the conversation is empty");
        r1_generate_params p = read_params(params, r1_generate_params_init, "r1_generate_params");
        r1::GenerateOptions o = generate_options(p);
        r1::ChatPromptOptions co;
        // Qwen3 templates switch thinking off in the prompt itself.
        co.enable_thinking = p.enable_thinking != 0 && p.thinking_budget != 0;
        if (p.template_name) co.template_name = p.template_name;
        r1::ChatPrompt prompt = r1::render_chat(&s.model(), r1::messages_from_c(messages, count), co);
        o.reasoning = true;
        o.starts_in_thought = prompt.info.opens_think;
        std::vector<int32_t> tokens = r1::tokenize_prompt(s.model(), prompt.text);
        r1::generate(s, s.model().tokenizer(), tokens, o, make_sink(on_event, user_data), g);
    });
}

R1_API r1_status r1_session_complete(r1_session* session, const char* prompt, size_t length,
                                     const r1_generate_params* params, r1_event_fn on_event, void* user_data,
                                     r1_result* result) {
    return run_generation(session, result, [&](r1::GenerateResult& g) {
        r1::Session& s = session_of(session);
        require(prompt != nullptr || length == 0, "prompt is NULL");
        r1_generate_params p = read_params(params, r1_generate_params_init, "r1_generate_params");
        r1::GenerateOptions o = generate_options(p);
        o.reasoning = false;
        const r1::tok::Tokenizer& t = s.model().tokenizer();
        std::vector<int32_t> tokens;
        t.tokenize(std::string_view(prompt ? prompt : "", length), true, true, tokens, nullptr);
        if (tokens.empty()) r1::fail(R1_ERR_INVALID_ARGUMENT, "the prompt makes no tokens");
        r1::generate(s, t, tokens, o, make_sink(on_event, user_data), g);
    });
}

}  // extern "C"
