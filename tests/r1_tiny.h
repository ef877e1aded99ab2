// r1-tiny helpers shared by test_r1_tiny.cpp (the CPU) and test_vulkan.cpp: the 200 held-out problems of
// models/r1-tiny-heldout.tsv answered greedily through the public C API, the thought streamed apart.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "r1.h"
#include "test_util.h"

namespace r1tiny {

struct Problem {
    std::string question;
    std::string answer;
};

inline std::vector<Problem> heldout() {
    std::ifstream in(std::string(R1_SOURCE_DIR) + "/models/r1-tiny-heldout.tsv");
    std::vector<Problem> out;
    std::string line;
    while (std::getline(in, line)) {
        const size_t tab = line.find('\t');
        if (tab != std::string::npos) out.push_back({line.substr(0, tab), line.substr(tab + 1)});
    }
    return out;
}

struct Reply {
    std::string thinking, answer;
};

inline int32_t collect(void* user, const r1_event* e) {
    Reply* r = static_cast<Reply*>(user);
    (e->kind == R1_EVENT_THINKING ? r->thinking : r->answer).append(e->text, e->text_length);
    return 0;
}

inline std::string trim(const std::string& s) {
    const size_t a = s.find_first_not_of(" \n\t"), b = s.find_last_not_of(" \n\t");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

struct Score {
    int correct = 0, total = 0, with_thought = 0;
    double seconds = 0;
    double accuracy() const { return total ? double(correct) / total : 0.0; }
};

// Greedy answers to every problem, one session (the prompt prefix is reused between problems), one thread (the
// model is so small that more threads only add synchronisation). backend, device: r1_model_params'.
inline Score run(const std::string& path, const std::vector<Problem>& problems, int64_t thinking_budget,
                 const char* backend = "cpu", int32_t device = 0) {
    const auto t0 = std::chrono::steady_clock::now();
    r1_model_params mp;
    r1_model_params_init(&mp);
    mp.backend = backend;
    mp.device = device;
    r1_model* model = nullptr;
    const r1_status loaded = r1_model_load(path.c_str(), &mp, &model);
    INFO(r1_last_error());
    REQUIRE(loaded == R1_OK);
    r1_session_params sp;
    r1_session_params_init(&sp);
    sp.n_threads = 1;
    sp.n_ctx = 256;
    r1_session* session = nullptr;
    REQUIRE(r1_session_create(model, &sp, &session) == R1_OK);
    r1_sampling_params sampling;
    r1_sampling_params_init(&sampling);
    sampling.temperature = 0.0f;
    r1_generate_params gen;
    r1_generate_params_init(&gen);
    gen.sampling = &sampling;
    gen.max_tokens = 160;
    gen.thinking_budget = thinking_budget;
    Score s;
    int shown = 0;
    for (const Problem& p : problems) {
        r1_chat_message m = {"user", p.question.c_str()};
        Reply reply;
        r1_result result;
        result.struct_size = sizeof result;
        const r1_status st = r1_session_chat(session, &m, 1, &gen, collect, &reply, &result);
        INFO(r1_last_error());
        REQUIRE(st == R1_OK);
        ++s.total;
        s.with_thought += !reply.thinking.empty();
        if (trim(reply.answer) == p.answer) {
            ++s.correct;
        } else if (shown++ < 3 && thinking_budget != 0) {
            MESSAGE(path << ": '" << p.question << "' gave '" << trim(reply.answer) << "' (expected " << p.answer
                         << "), thought:\n" << reply.thinking);
        }
    }
    r1_session_free(session);
    r1_model_free(model);
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return s;
}

inline std::string quantized(const std::string& src, const char* type) {
    const std::string out = r1test::temp_path(std::string("r1-tiny-") + type + ".gguf");
    r1_quantize_params q;
    r1_quantize_params_init(&q);
    q.type = type;
    q.n_threads = 1;
    const r1_status st = r1_model_quantize(src.c_str(), out.c_str(), &q);
    INFO(r1_last_error());
    REQUIRE(st == R1_OK);
    return out;
}

}  // namespace r1tiny
