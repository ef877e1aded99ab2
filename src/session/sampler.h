// Choosing the next token from logits: logit biases, repetition penalties, top-k, top-p, min-p, temperature
// (the reference runtime's order), then a draw from a seeded generator whose sequence is the same on every
// platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace r1 {

struct SamplingOptions {
    float temperature = 0.6f;  // <= 0: greedy
    int32_t top_k = 0;
    float top_p = 0.95f;
    float min_p = 0.0f;
    float repeat_penalty = 1.0f;
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    int32_t penalty_last_n = 64;  // 0: off; -1: the whole history
    uint64_t seed = 0;
    std::vector<std::pair<int32_t, float>> logit_bias;
};

// xoshiro256** seeded through splitmix64: a fixed, portable sequence for a given seed.
class Rng {
public:
    explicit Rng(uint64_t seed);
    uint64_t next();
    double uniform();  // [0, 1) with 53 bits

private:
    uint64_t s_[4];
};

class Sampler {
public:
    Sampler(const SamplingOptions& options, int64_t n_vocab);

    // Picks a token from `logits` (n_vocab floats; not modified) given the tokens generated or read so far
    // (`history`, for the penalties).
    int32_t sample(const float* logits, const int32_t* history, size_t history_size);

    const SamplingOptions& options() const { return options_; }

private:
    struct Candidate {
        int32_t id;
        float logit;
    };
    SamplingOptions options_;
    int64_t n_vocab_;
    Rng rng_;
    std::vector<float> work_;            // logits after biases and penalties
    std::vector<Candidate> candidates_;  // reused between calls
    std::vector<int32_t> counts_;        // penalty window counts, indexed by token (sparse reset)
};

// The most likely token (lowest id on a tie).
int32_t argmax(const float* logits, int64_t n);

}  // namespace r1
