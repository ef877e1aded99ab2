// Sessions and generation: sampling, reasoning-aware streaming, thinking budget, stop strings, rollback,
// prefix reuse, state save/load, cancellation, and sessions sharing a model across threads.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "error.h"
#include "r1.h"
#include "session/generate.h"
#include "session/sampler.h"
#include "synth/synth.h"
#include "test_util.h"

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Models used here: stories260K (trained, SPM vocabulary) from the fixtures, and a small random model carrying
// the real R1-Distill-Qwen vocabulary and chat template, written by the synthetic generator.
// ---------------------------------------------------------------------------------------------------------------

struct ModelHandle {
    r1_model* model = nullptr;
    explicit ModelHandle(const std::string& path, r1_kv_type = R1_KV_DEFAULT) {
        r1_model_params p;
        r1_model_params_init(&p);
        r1_status st = r1_model_load(path.c_str(), &p, &model);
        REQUIRE_MESSAGE(st == R1_OK, r1_last_error());
    }
    ~ModelHandle() { r1_model_free(model); }
};

struct SessionHandle {
    r1_session* session = nullptr;
    SessionHandle(const r1_model* model, int64_t n_ctx = 256, int64_t n_batch = 0, r1_kv_type kv = R1_KV_DEFAULT) {
        r1_session_params p;
        r1_session_params_init(&p);
        p.n_ctx = n_ctx;
        p.n_batch = n_batch;
        p.kv_type = kv;
        p.n_threads = 2;
        r1_status st = r1_session_create(model, &p, &session);
        REQUIRE_MESSAGE(st == R1_OK, r1_last_error());
    }
    ~SessionHandle() { r1_session_free(session); }
};

// The random R1-vocabulary model, made once per test run.
const std::string& r1_synthetic_model() {
    static std::string path;
    if (path.empty()) {
        std::string dir = r1test::fixtures_dir();
        r1::synth::Spec spec = r1::synth::preset("tiny");
        spec.n_embd = 64;
        spec.n_heads = 2;
        spec.n_kv_heads = 1;
        spec.n_ff = 128;
        spec.n_layers = 2;
        spec.vocab_from = dir + "/tokenizer/r1-distill-qwen.vocab.gguf";
        spec.type = "Q8_0";
        spec.seed = 7;
        path = r1test::temp_path("r1-synthetic.gguf");
        r1::synth::write_model(spec, path, 2);
    }
    return path;
}

std::vector<float> last_logits(r1_session* s) {
    const float* l = nullptr;
    int64_t n = 0;
    REQUIRE(r1_session_logits(s, -1, &l, &n) == R1_OK);
    return std::vector<float>(l, l + n);
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
    return m;
}

struct Collected {
    std::string thinking, answer;
    std::vector<std::pair<r1_event_kind, std::string>> events;
    int stop_after = -1;  // stop when this many events arrived
};

int32_t collect(void* user, const r1_event* e) {
    auto* c = static_cast<Collected*>(user);
    std::string text(e->text, e->text_length);
    CHECK(std::strlen(e->text) == e->text_length);
    (e->kind == R1_EVENT_THINKING ? c->thinking : c->answer) += text;
    c->events.emplace_back(e->kind, text);
    return c->stop_after >= 0 && int(c->events.size()) >= c->stop_after ? 1 : 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Sampling
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("sampler: greedy, determinism per seed, and the distribution it draws from") {
    const int64_t V = 50;
    std::vector<float> logits(V);
    std::mt19937 rng(std::random_device{}());
    for (float& l : logits) l = std::normal_distribution<float>(0.0f, 2.0f)(rng);
    const int32_t best = r1::argmax(logits.data(), V);

    r1::SamplingOptions greedy;
    greedy.temperature = 0;
    CHECK(r1::Sampler(greedy, V).sample(logits.data(), nullptr, 0) == best);
    r1::SamplingOptions k1;
    k1.top_k = 1;
    k1.temperature = 1;
    k1.top_p = 1;
    CHECK(r1::Sampler(k1, V).sample(logits.data(), nullptr, 0) == best);

    // Same seed, same sequence; another seed, another sequence.
    r1::SamplingOptions o;
    o.temperature = 1.0f;
    o.top_p = 1.0f;
    o.seed = 1234;
    r1::Sampler a(o, V), b(o, V);
    o.seed = 99;
    r1::Sampler c(o, V);
    std::vector<int32_t> sa, sb, sc;
    for (int i = 0; i < 200; ++i) {
        sa.push_back(a.sample(logits.data(), nullptr, 0));
        sb.push_back(b.sample(logits.data(), nullptr, 0));
        sc.push_back(c.sample(logits.data(), nullptr, 0));
    }
    CHECK(sa == sb);
    CHECK(sa != sc);

    // Frequencies follow softmax(logits / T): chi-square style check with a generous bound on 20000 draws.
    o.temperature = 0.7f;
    o.seed = 5;
    r1::Sampler d(o, V);
    std::vector<double> p(V);
    double mx = *std::max_element(logits.begin(), logits.end()), z = 0;
    for (int64_t i = 0; i < V; ++i) z += p[size_t(i)] = std::exp((logits[size_t(i)] - mx) / 0.7);
    std::vector<int> counts(V, 0);
    const int N = 20000;
    for (int i = 0; i < N; ++i) ++counts[size_t(d.sample(logits.data(), nullptr, 0))];
    for (int64_t i = 0; i < V; ++i) {
        double expected = p[size_t(i)] / z * N;
        CHECK_MESSAGE(std::fabs(counts[size_t(i)] - expected) <= 5 * std::sqrt(expected) + 3, "token " << i);
    }
}

TEST_CASE("sampler: top-k, top-p and min-p keep exactly the tokens they should") {
    // Logits with known probabilities: token i has weight 2^-i.
    const int64_t V = 10;
    std::vector<float> logits(V);
    for (int64_t i = 0; i < V; ++i) logits[size_t(i)] = -float(i) * std::log(2.0f);
    auto support = [&](r1::SamplingOptions o) {
        o.temperature = 1.0f;
        r1::Sampler s(o, V);
        std::vector<int> seen(V, 0);
        for (int i = 0; i < 4000; ++i) seen[size_t(s.sample(logits.data(), nullptr, 0))] = 1;
        int n = 0;
        while (n < V && seen[size_t(n)]) ++n;
        for (int64_t i = n; i < V; ++i) CHECK(seen[size_t(i)] == 0);  // a contiguous set of the most likely
        return n;
    };
    r1::SamplingOptions o;
    o.top_p = 1.0f;
    o.top_k = 3;
    CHECK(support(o) == 3);
    o.top_k = 0;
    o.top_p = 0.80f;  // cumulative 0.5, 0.75, 0.875: three tokens reach 0.8
    CHECK(support(o) == 3);
    o.top_p = 1.0f;
    o.min_p = 0.2f;   // p_i >= 0.2 * p_0: 1, 1/2, 1/4
    CHECK(support(o) == 3);
}

TEST_CASE("sampler: penalties and logit bias") {
    const int64_t V = 8;
    std::vector<float> logits = {3.0f, 2.9f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    r1::SamplingOptions o;
    o.temperature = 0;
    std::vector<int32_t> history = {0, 0, 5};
    CHECK(r1::Sampler(o, V).sample(logits.data(), history.data(), history.size()) == 0);
    o.repeat_penalty = 1.1f;  // 3.0 / 1.1 = 2.73 < 2.9
    CHECK(r1::Sampler(o, V).sample(logits.data(), history.data(), history.size()) == 1);
    o.repeat_penalty = 1.0f;
    o.frequency_penalty = 0.06f;  // 3.0 - 2 * 0.06 = 2.88 < 2.9
    CHECK(r1::Sampler(o, V).sample(logits.data(), history.data(), history.size()) == 1);
    o.frequency_penalty = 0.0f;
    o.penalty_last_n = 1;  // only the last token (5) is in the window
    o.repeat_penalty = 2.0f;
    CHECK(r1::Sampler(o, V).sample(logits.data(), history.data(), history.size()) == 0);
    r1::SamplingOptions b;
    b.temperature = 0;
    b.logit_bias = {{0, -INFINITY}, {1, -INFINITY}, {6, 0.5f}};
    CHECK(r1::Sampler(b, V).sample(logits.data(), nullptr, 0) == 6);
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming: think tags and stop strings across arbitrary piece boundaries
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("text router: thinking and answer split at any piece boundary; stop strings never leak") {
    const std::string text = "\nLet me think.\n</think>\n\nThe answer is 42. STOP and more";
    std::mt19937 rng(std::random_device{}());
    for (int trial = 0; trial < 300; ++trial) {
        std::string thinking, answer;
        r1::EventSink sink = [&](r1::StreamKind k, std::string_view t, int32_t) {
            (k == r1::StreamKind::Thinking ? thinking : answer) += std::string(t);
            return true;
        };
        r1::TextRouter router(true, true, {"STOP"}, sink);
        size_t at = 0;
        bool go = true;
        while (at < text.size() && go) {
            size_t n = 1 + rng() % 5;
            go = router.push(std::string_view(text).substr(at, n), 1);
            at += n;
        }
        if (go) router.finish();
        CHECK(thinking == "Let me think.\n");
        CHECK(answer == "The answer is 42. ");
        CHECK(router.stopped_by_string());
    }
    // A prompt that does not open the thought: the model's own <think> opens it, split anywhere.
    const std::string text2 = "<think>plan</think>done<think>literal";
    for (size_t cut = 0; cut <= text2.size(); ++cut) {
        std::string thinking, answer;
        r1::EventSink sink = [&](r1::StreamKind k, std::string_view t, int32_t) {
            (k == r1::StreamKind::Thinking ? thinking : answer) += std::string(t);
            return true;
        };
        r1::TextRouter router(true, false, {}, sink);
        router.push(std::string_view(text2).substr(0, cut), 1);
        router.push(std::string_view(text2).substr(cut), 2);
        router.finish();
        CHECK(thinking == "plan");
        CHECK(answer == "done<think>literal");  // after the answer began, <think> is text
    }
    // A partial stop string at the very end is not a stop string: it is emitted.
    std::string answer;
    r1::EventSink sink = [&](r1::StreamKind, std::string_view t, int32_t) {
        answer += std::string(t);
        return true;
    };
    r1::TextRouter router(false, false, {"STOP"}, sink);
    router.push("abc ST", 1);
    CHECK(answer == "abc ");
    router.finish();
    CHECK(answer == "abc ST");
}

// ---------------------------------------------------------------------------------------------------------------
// Sessions on real models
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("session: rollback, reset and chunking give the logits of a fresh evaluation") {
    R1_REQUIRE_FIXTURES(dir);
    ModelHandle m(dir + "/models/stories260K.gguf");
    std::vector<int32_t> a = {1, 403, 407, 261, 378, 432, 383, 286};
    std::vector<int32_t> b = {1, 403, 407, 261, 100, 200, 300};

    SessionHandle fresh(m.model);
    REQUIRE(r1_session_eval(fresh.session, b.data(), b.size(), 0) == R1_OK);
    std::vector<float> expected = last_logits(fresh.session);

    SessionHandle s(m.model, 256, 3);  // chunks of 3
    REQUIRE(r1_session_eval(s.session, a.data(), a.size(), 0) == R1_OK);
    CHECK(r1_session_position(s.session) == int64_t(a.size()));
    REQUIRE(r1_session_truncate(s.session, 4) == R1_OK);  // keep {1, 403, 407, 261}
    REQUIRE(r1_session_eval(s.session, b.data() + 4, b.size() - 4, 0) == R1_OK);
    CHECK(max_abs_diff(last_logits(s.session), expected) <= 1e-4);
    const int32_t* held = nullptr;
    int64_t n = 0;
    REQUIRE(r1_session_tokens(s.session, &held, &n) == R1_OK);
    CHECK(std::vector<int32_t>(held, held + n) == b);

    CHECK(r1_session_truncate(s.session, 100) == R1_ERR_OUT_OF_RANGE);
    REQUIRE(r1_session_reset(s.session) == R1_OK);
    CHECK(r1_session_position(s.session) == 0);
    REQUIRE(r1_session_eval(s.session, b.data(), b.size(), 0) == R1_OK);
    CHECK(max_abs_diff(last_logits(s.session), expected) <= 1e-4);

    // All logits, then each row against one token at a time.
    REQUIRE(r1_session_reset(s.session) == R1_OK);
    REQUIRE(r1_session_eval(s.session, b.data(), b.size(), R1_EVAL_ALL_LOGITS) == R1_OK);
    const float* row = nullptr;
    int64_t vocab = 0;
    REQUIRE(r1_session_logits(s.session, 2, &row, &vocab) == R1_OK);
    std::vector<float> row2(row, row + vocab);
    SessionHandle one(m.model);
    REQUIRE(r1_session_eval(one.session, b.data(), 3, 0) == R1_OK);
    CHECK(max_abs_diff(last_logits(one.session), row2) <= 1e-4);
    CHECK(r1_session_logits(s.session, int64_t(b.size()), &row, &vocab) == R1_ERR_OUT_OF_RANGE);

    // Errors leave the session usable.
    int32_t bad = 100000;
    CHECK(r1_session_eval(s.session, &bad, 1, 0) == R1_ERR_INVALID_ARGUMENT);
    SessionHandle small(m.model, 8);
    CHECK(r1_session_eval(small.session, a.data(), a.size(), 0) == R1_OK);
    CHECK(r1_session_eval(small.session, a.data(), 1, 0) == R1_ERR_OUT_OF_RANGE);
}

TEST_CASE("session: state saved to a buffer and a file restores the same continuation") {
    R1_REQUIRE_FIXTURES(dir);
    {
        // stories260K has heads of 8 values: a Q8_0 cache (blocks of 32) cannot hold them per head.
        ModelHandle m(dir + "/models/stories260K.gguf");
        r1_session_params p;
        r1_session_params_init(&p);
        p.kv_type = R1_KV_Q8_0;
        r1_session* s = nullptr;
        CHECK(r1_session_create(m.model, &p, &s) == R1_ERR_UNSUPPORTED);
        CHECK(s == nullptr);
    }
    for (r1_kv_type kv : {R1_KV_F16, R1_KV_F32, R1_KV_Q8_0}) {
        CAPTURE(int(kv));
        ModelHandle m(dir + (kv == R1_KV_Q8_0 ? "/models/qwen2-tiny-Q4_K_M.gguf" : "/models/stories260K.gguf"));
        std::vector<int32_t> prompt = {1, 403, 407, 261, 378};
        SessionHandle s(m.model, 256, 0, kv);
        REQUIRE(r1_session_eval(s.session, prompt.data(), prompt.size(), 0) == R1_OK);
        size_t size = 0;
        CHECK(r1_session_save_to_buffer(s.session, nullptr, 0, &size) == R1_ERR_BUFFER_TOO_SMALL);
        std::vector<uint8_t> state(size);
        REQUIRE(r1_session_save_to_buffer(s.session, state.data(), state.size(), &size) == R1_OK);
        std::string path = r1test::temp_path("state.r1s");
        REQUIRE(r1_session_save(s.session, path.c_str()) == R1_OK);
        int32_t next = 432;
        REQUIRE(r1_session_eval(s.session, &next, 1, 0) == R1_OK);
        std::vector<float> expected = last_logits(s.session);

        for (int from_file = 0; from_file < 2; ++from_file) {
            SessionHandle t(m.model, 256, 0, kv);
            REQUIRE(r1_session_eval(t.session, &next, 1, 0) == R1_OK);  // something to be replaced
            r1_status st = from_file ? r1_session_load(t.session, path.c_str())
                                     : r1_session_load_from_buffer(t.session, state.data(), state.size());
            REQUIRE_MESSAGE(st == R1_OK, r1_last_error());
            CHECK(r1_session_position(t.session) == int64_t(prompt.size()));
            REQUIRE(r1_session_eval(t.session, &next, 1, 0) == R1_OK);
            CHECK(max_abs_diff(last_logits(t.session), expected) == 0.0);
        }
        // Damaged, truncated, or from another KV type or model: errors, and the session is unchanged.
        SessionHandle t(m.model, 256, 0, kv);
        std::vector<uint8_t> bad = state;
        bad[bad.size() / 2] ^= 0x40;
        CHECK(r1_session_load_from_buffer(t.session, bad.data(), bad.size()) == R1_ERR_FORMAT);
        CHECK(r1_session_load_from_buffer(t.session, state.data(), state.size() / 2) == R1_ERR_FORMAT);
        CHECK(r1_session_position(t.session) == 0);
        SessionHandle other_kv(m.model, 256, 0, kv == R1_KV_F32 ? R1_KV_F16 : R1_KV_F32);
        CHECK(r1_session_load_from_buffer(other_kv.session, state.data(), state.size()) == R1_ERR_UNSUPPORTED);
        SessionHandle tiny_ctx(m.model, 4, 0, kv);
        CHECK(r1_session_load_from_buffer(tiny_ctx.session, state.data(), state.size()) == R1_ERR_OUT_OF_RANGE);
        ModelHandle other(dir + "/models/qwen2-tiny-Q8_0.gguf");  // same shapes as Q4_K_M, other weights
        SessionHandle o(other.model, 256, 0, kv);
        CHECK(r1_session_load_from_buffer(o.session, state.data(), state.size()) == R1_ERR_UNSUPPORTED);
        CHECK(std::string(r1_last_error()).find("another model") != std::string::npos);
        unlink(path.c_str());
    }
}

TEST_CASE("session: cancellation from another thread stops within a prompt chunk") {
    R1_REQUIRE_FIXTURES(dir);
    ModelHandle m(dir + "/models/qwen2-tiny-F32.gguf");
    SessionHandle s(m.model, 4096, 16);
    std::vector<int32_t> prompt(4000);
    for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t((i * 7919) % 512);
    std::atomic<bool> started{false};
    std::thread canceller([&] {
        while (!started) std::this_thread::yield();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        r1_session_cancel(s.session);
    });
    started = true;
    auto t0 = std::chrono::steady_clock::now();
    r1_status st = r1_session_eval(s.session, prompt.data(), prompt.size(), 0);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    canceller.join();
    CHECK(st == R1_ERR_CANCELLED);
    // Completed chunks stay; the rest was dropped; the session keeps working.
    int64_t pos = r1_session_position(s.session);
    CHECK(pos % 16 == 0);
    CHECK(pos < int64_t(prompt.size()));
    MESSAGE("cancelled after " << ms << " ms with " << pos << " of " << prompt.size() << " tokens evaluated");
    CHECK(r1_session_eval(s.session, prompt.data(), 3, 0) == R1_OK);
    // A cancel with nothing running applies to the next call, once.
    r1_session_cancel(s.session);
    CHECK(r1_session_eval(s.session, prompt.data(), 3, 0) == R1_ERR_CANCELLED);
    CHECK(r1_session_eval(s.session, prompt.data(), 3, 0) == R1_OK);
}

TEST_CASE("sessions: two threads share one model and get the results of one thread") {
    R1_REQUIRE_FIXTURES(dir);
    ModelHandle m(dir + "/models/stories260K.gguf");
    std::vector<int32_t> p1 = {1, 403, 407, 261, 378}, p2 = {1, 200, 300, 400};
    auto run = [&](const std::vector<int32_t>& p) {
        SessionHandle s(m.model);
        std::vector<int32_t> out;
        std::vector<int32_t> tokens = p;
        r1_session_eval(s.session, tokens.data(), tokens.size(), 0);
        for (int i = 0; i < 40; ++i) {
            std::vector<float> l = last_logits(s.session);
            int32_t t = r1::argmax(l.data(), int64_t(l.size()));
            out.push_back(t);
            r1_session_eval(s.session, &t, 1, 0);
        }
        return out;
    };
    std::vector<int32_t> e1 = run(p1), e2 = run(p2), g1, g2;
    std::thread a([&] { g1 = run(p1); });
    std::thread b([&] { g2 = run(p2); });
    a.join();
    b.join();
    CHECK(g1 == e1);
    CHECK(g2 == e2);
}

// ---------------------------------------------------------------------------------------------------------------
// Generation with the R1 template on a model with the real vocabulary (random weights)
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("chat: thinking budget, counts, prefix reuse across turns, stop strings, callback stop") {
    R1_REQUIRE_FIXTURES(dir);
    ModelHandle m(r1_synthetic_model());
    SessionHandle s(m.model, 2048);
    const int32_t think_close = r1_model_special_token(m.model, R1_SPECIAL_THINK_CLOSE);
    const int32_t eos = r1_model_special_token(m.model, R1_SPECIAL_EOS);
    REQUIRE(think_close >= 0);

    r1_sampling_params sp;
    r1_sampling_params_init(&sp);
    sp.seed = 11;
    // Random weights never close the thought by themselves: ban </think> and EOS so only the budget can.
    r1_logit_bias bans[] = {{think_close, -INFINITY}, {eos, -INFINITY}};
    sp.logit_bias = bans;
    sp.n_logit_bias = 2;
    r1_generate_params gp;
    r1_generate_params_init(&gp);
    gp.sampling = &sp;
    gp.thinking_budget = 12;
    gp.max_tokens = 30;

    r1_chat_message turn1[] = {{"user", "What is 2+2?"}};
    Collected c;
    r1_result r;
    r.struct_size = sizeof r;
    REQUIRE(r1_session_chat(s.session, turn1, 1, &gp, collect, &c, &r) == R1_OK);
    // The budget: 12 generated thinking tokens, then the closing text's tokens; the rest is answer.
    const int64_t close_tokens = 3;  // "\n", "</think>", "\n\n" in this vocabulary
    CHECK(r.n_thinking_tokens == 12 + close_tokens);
    CHECK(r.n_answer_tokens == 30 - 12);
    CHECK(r.stop_reason == R1_STOP_MAX_TOKENS);
    CHECK(r.n_prompt_evaluated == r.n_prompt_tokens);
    CHECK(!c.events.empty());
    // Every THINKING event comes before every ANSWER event.
    bool seen_answer = false;
    for (auto& e : c.events) {
        if (e.first == R1_EVENT_ANSWER) seen_answer = true;
        else CHECK_FALSE(seen_answer);
    }
    CHECK(r.prompt_tokens_per_second > 0);
    CHECK(r.generation_tokens_per_second > 0);

    // Turn 2: the conversation with the reply; the template drops the thought, so the session reuses
    // everything up to where the first reply's thought began, and evaluates only the rest.
    std::string reply = "<think>\n" + c.thinking + "\n</think>\n\n" + c.answer;
    r1_chat_message turn2[] = {{"user", "What is 2+2?"}, {"assistant", reply.c_str()}, {"user", "And 3+3?"}};
    int64_t before_reply = r.n_prompt_tokens;  // the first prompt ends with "<｜Assistant｜><think>\n"
    Collected c2;
    gp.thinking_budget = 0;  // answer directly
    gp.max_tokens = 5;
    REQUIRE(r1_session_chat(s.session, turn2, 3, &gp, collect, &c2, &r) == R1_OK);
    CHECK(r.n_thinking_tokens == 0);  // the closing text went into the prompt
    CHECK(c2.thinking.empty());
    CHECK(r.n_prompt_evaluated < r.n_prompt_tokens);
    CHECK(r.n_prompt_tokens - r.n_prompt_evaluated >= before_reply - 2);  // everything before the old thought

    // Stop strings end the answer without leaking: stop at the first space of the answer.
    Collected c3;
    const char* stops[] = {" "};
    gp.stop_strings = stops;
    gp.n_stop_strings = 1;
    gp.max_tokens = 200;
    REQUIRE(r1_session_chat(s.session, turn1, 1, &gp, collect, &c3, &r) == R1_OK);
    if (r.stop_reason == R1_STOP_STRING) CHECK(c3.answer.find(' ') == std::string::npos);
    else CHECK(r.stop_reason == R1_STOP_MAX_TOKENS);

    // The callback stops generation.
    Collected c4;
    c4.stop_after = 2;
    gp.stop_strings = nullptr;
    gp.n_stop_strings = 0;
    gp.thinking_budget = -1;
    REQUIRE(r1_session_chat(s.session, turn1, 1, &gp, collect, &c4, &r) == R1_OK);
    CHECK(r.stop_reason == R1_STOP_CALLBACK);
    CHECK(c4.events.size() == 2);

    // Same seed, same output.
    Collected d1, d2;
    gp.max_tokens = 20;
    gp.thinking_budget = 8;
    REQUIRE(r1_session_chat(s.session, turn1, 1, &gp, collect, &d1, &r) == R1_OK);
    REQUIRE(r1_session_chat(s.session, turn1, 1, &gp, collect, &d2, &r) == R1_OK);
    CHECK(d1.thinking == d2.thinking);
    CHECK(d1.answer == d2.answer);
}

TEST_CASE("chat: cancellation during generation returns R1_ERR_CANCELLED and fills the result") {
    R1_REQUIRE_FIXTURES(dir);
    ModelHandle m(r1_synthetic_model());
    SessionHandle s(m.model, 4096);
    r1_generate_params gp;
    r1_generate_params_init(&gp);
    gp.ignore_eos = 1;
    struct Ctx {
        r1_session* s;
        int n = 0;
    } ctx{s.session};
    r1_chat_message turn[] = {{"user", "Count to a million."}};
    r1_result r;
    r.struct_size = sizeof r;
    r1_status st = r1_session_chat(
        s.session, turn, 1, &gp,
        [](void* u, const r1_event*) -> int32_t {
            auto* c = static_cast<Ctx*>(u);
            if (++c->n == 5) r1_session_cancel(c->s);
            return 0;
        },
        &ctx, &r);
    CHECK(st == R1_ERR_CANCELLED);
    CHECK(r.stop_reason == R1_STOP_CANCELLED);
    CHECK(ctx.n >= 5);
    CHECK(ctx.n <= 7);  // within about one token
    // The session works afterwards.
    gp.max_tokens = 3;
    CHECK(r1_session_chat(s.session, turn, 1, &gp, nullptr, nullptr, nullptr) == R1_OK);
}

TEST_CASE("chat: the template is applied exactly as r1_chat_apply_template renders it") {
    R1_REQUIRE_FIXTURES(dir);
    ModelHandle m(r1_synthetic_model());
    r1_chat_message turn[] = {{"system", "Be brief."}, {"user", "Hi"}};
    size_t len = 0;
    CHECK(r1_chat_apply_template(m.model, turn, 2, nullptr, nullptr, 0, &len) == R1_ERR_BUFFER_TOO_SMALL);
    std::string text(len + 1, '\0');
    REQUIRE(r1_chat_apply_template(m.model, turn, 2, nullptr, &text[0], text.size(), &len) == R1_OK);
    text.resize(len);
    CHECK(text == "<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi<｜Assistant｜><think>\n");
    std::vector<int32_t> ids(64);
    size_t n = 0;
    REQUIRE(r1_tokenize(m.model, text.data(), text.size(), R1_TOKENIZE_PARSE_SPECIAL, ids.data(), ids.size(), &n) == R1_OK);
    CHECK(ids[0] == r1_model_special_token(m.model, R1_SPECIAL_BOS));
    CHECK(ids[n - 2] == r1_model_special_token(m.model, R1_SPECIAL_THINK_OPEN));
}
