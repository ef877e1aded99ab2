#include "sampler.h"

#include <algorithm>
#include <cmath>

namespace r1 {

namespace {

uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed) {
    for (uint64_t& v : s_) v = splitmix64(seed);
}

uint64_t Rng::next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

double Rng::uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }

int32_t argmax(const float* logits, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i)
        if (logits[i] > logits[best]) best = i;
    return int32_t(best);
}

Sampler::Sampler(const SamplingOptions& options, int64_t n_vocab)
    : options_(options), n_vocab_(n_vocab), rng_(options.seed), work_(size_t(n_vocab)), counts_(size_t(n_vocab), 0) {
    candidates_.reserve(size_t(n_vocab));
}

int32_t Sampler::sample(const float* logits, const int32_t* history, size_t history_size) {
    const SamplingOptions& o = options_;
    std::copy(logits, logits + n_vocab_, work_.begin());

    for (const auto& b : o.logit_bias)
        if (b.first >= 0 && b.first < n_vocab_) work_[size_t(b.first)] += b.second;

    // Penalties over the last penalty_last_n tokens: each distinct token is penalised once for being there
    // (repeat, presence) and once per occurrence (frequency).
    const bool penalize = o.penalty_last_n != 0 &&
                          (o.repeat_penalty != 1.0f || o.presence_penalty != 0.0f || o.frequency_penalty != 0.0f);
    if (penalize && history_size > 0) {
        size_t window = o.penalty_last_n < 0 ? history_size : std::min(history_size, size_t(o.penalty_last_n));
        const int32_t* recent = history + (history_size - window);
        for (size_t i = 0; i < window; ++i)
            if (recent[i] >= 0 && recent[i] < n_vocab_) ++counts_[size_t(recent[i])];
        for (size_t i = 0; i < window; ++i) {
            int32_t t = recent[i];
            if (t < 0 || t >= n_vocab_ || counts_[size_t(t)] == 0) continue;
            float& l = work_[size_t(t)];
            if (o.repeat_penalty != 1.0f) l = l > 0 ? l / o.repeat_penalty : l * o.repeat_penalty;
            l -= float(counts_[size_t(t)]) * o.frequency_penalty + o.presence_penalty;
            counts_[size_t(t)] = 0;  // handled; also resets the count array for the next call
        }
    }

    if (o.temperature <= 0.0f) return argmax(work_.data(), n_vocab_);

    // Candidates, most likely first. Sorting all of a 150k vocabulary each token is wasteful: sort only as many
    // as the truncations need, growing the sorted prefix until it covers top_p.
    candidates_.clear();
    for (int64_t i = 0; i < n_vocab_; ++i)
        if (work_[size_t(i)] != -INFINITY) candidates_.push_back({int32_t(i), work_[size_t(i)]});
    if (candidates_.empty()) return argmax(logits, n_vocab_);
    auto by_logit = [](const Candidate& a, const Candidate& b) {
        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
    };
    size_t n = candidates_.size();
    if (o.top_k > 0 && size_t(o.top_k) < n) {
        std::nth_element(candidates_.begin(), candidates_.begin() + o.top_k, candidates_.end(), by_logit);
        n = size_t(o.top_k);
    }
    size_t sorted = std::min<size_t>(n, 256);
    std::partial_sort(candidates_.begin(), candidates_.begin() + long(sorted), candidates_.begin() + long(n), by_logit);
    const float max_logit = candidates_[0].logit;
    // Softmax denominators over all n candidates (at temperature 1, as the truncations see them).
    double total = 0;
    for (size_t i = 0; i < n; ++i) total += std::exp(double(candidates_[i].logit - max_logit));
    if (o.top_p < 1.0f) {
        for (;;) {
            double cum = 0;
            size_t keep = 0;
            for (; keep < sorted; ++keep) {
                cum += std::exp(double(candidates_[keep].logit - max_logit)) / total;
                if (cum >= o.top_p) {
                    ++keep;
                    break;
                }
            }
            if (cum >= o.top_p || sorted == n) {
                n = std::max<size_t>(keep, 1);
                break;
            }
            size_t more = std::min(n, sorted * 4);
            std::partial_sort(candidates_.begin() + long(sorted), candidates_.begin() + long(more),
                              candidates_.begin() + long(n), by_logit);
            sorted = more;
        }
    }
    if (o.min_p > 0.0f) {
        // p_i >= min_p * p_max  <=>  logit_i >= max_logit + log(min_p)
        const float floor = max_logit + std::log(o.min_p);
        size_t keep = 0;
        for (size_t i = 0; i < n; ++i)
            if (candidates_[i].logit >= floor) candidates_[keep++] = candidates_[i];
        n = std::max<size_t>(keep, 1);
    }
    // Temperature, then a draw.
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += std::exp(double(candidates_[i].logit - max_logit) / double(o.temperature));
    double r = rng_.uniform() * sum;
    for (size_t i = 0; i < n; ++i) {
        r -= std::exp(double(candidates_[i].logit - max_logit) / double(o.temperature));
        if (r < 0) return candidates_[i].id;
    }
    return candidates_[n - 1].id;
}

}  // namespace r1
