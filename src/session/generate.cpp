#include "generate.h"

#include <algorithm>
#include "../util/clock.h"

#include "../error.h"
#include "../tokenizer/decoder.h"
#include "../tokenizer/tokenizer.h"

namespace r1 {
namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// Length of the longest suffix of `text` that is a proper prefix of `pattern`.
size_t partial_suffix(std::string_view text, std::string_view pattern) {
    size_t max = std::min(text.size(), pattern.size() - 1);
    for (size_t n = max; n > 0; --n)
        if (text.substr(text.size() - n) == pattern.substr(0, n)) return n;
    return 0;
}

}  // namespace

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    size_t n = std::min(a.size(), b.size()), i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return i;
}

// ---------------------------------------------------------------------------------------------------------------
// TextRouter
// ---------------------------------------------------------------------------------------------------------------

TextRouter::TextRouter(bool reasoning, bool starts_in_thought, const std::vector<std::string>& stop_strings,
                       const EventSink& sink)
    : reasoning_(reasoning), in_thought_(reasoning && starts_in_thought), sink_(sink) {
    for (const std::string& s : stop_strings)
        if (!s.empty()) stop_strings_.push_back(s);
}

bool TextRouter::emit(std::string_view text, int32_t token) {
    // Each stream starts at its first non-whitespace character: R1 models open the thought and the answer
    // with newlines that carry nothing.
    bool& started = in_thought_ ? thinking_started_ : answer_started_;
    if (!started && !reasoning_) {
        started = true;  // plain completion: the text is a continuation, whitespace included
    } else if (!started) {
        size_t skip = 0;
        while (skip < text.size() && is_space(text[skip])) ++skip;
        text.remove_prefix(skip);
        if (text.empty()) return true;
        started = true;
    }
    if (text.empty()) return true;
    if (!sink_(in_thought_ ? StreamKind::Thinking : StreamKind::Answer, text, token)) {
        stopped_by_sink_ = true;
        return false;
    }
    return true;
}

bool TextRouter::push(std::string_view text, int32_t token) {
    if (stopped_by_string_ || stopped_by_sink_) return false;
    pending_.append(text.data(), text.size());
    last_token_ = token;
    for (;;) {
        // The earliest complete pattern in the pending text.
        size_t best_at = std::string::npos, best_len = 0;
        int kind = 0;  // 1 stop string, 2 think open, 3 think close
        auto consider = [&](std::string_view pattern, int k) {
            size_t at = pending_.find(pattern.data(), 0, pattern.size());
            if (at != std::string::npos && at < best_at) {
                best_at = at;
                best_len = pattern.size();
                kind = k;
            }
        };
        for (const std::string& s : stop_strings_) consider(s, 1);
        // "<think>" opens a thought only before any answer text; "</think>" closes an open one.
        const bool may_open = reasoning_ && !in_thought_ && !answer_started_;
        const bool may_close = reasoning_ && in_thought_;
        if (may_open) {
            // Only whitespace may come before an opening tag: after any answer text, "<think>" is text.
            size_t at = pending_.find(kThinkOpen.data(), 0, kThinkOpen.size());
            bool blank_before = true;
            for (size_t i = 0; at != std::string::npos && i < at; ++i) blank_before = blank_before && is_space(pending_[i]);
            if (blank_before) consider(kThinkOpen, 2);
        }
        if (may_close) consider(kThinkClose, 3);
        if (best_at == std::string::npos) break;
        if (!emit(std::string_view(pending_).substr(0, best_at), token)) return false;
        pending_.erase(0, best_at + best_len);
        if (kind == 1) {
            stopped_by_string_ = true;
            pending_.clear();
            return false;
        }
        in_thought_ = kind == 2;
    }
    // Hold back the longest tail that could still become a pattern.
    size_t hold = 0;
    for (const std::string& s : stop_strings_) hold = std::max(hold, partial_suffix(pending_, s));
    if (reasoning_ && !in_thought_ && !answer_started_) {
        // A partial "<think>" after nothing but whitespace may still become the opening tag.
        const size_t k = partial_suffix(pending_, kThinkOpen);
        bool blank = true;
        for (size_t i = 0; i + k < pending_.size(); ++i) blank = blank && is_space(pending_[i]);
        if (blank) hold = std::max(hold, k);
    }
    if (reasoning_ && in_thought_) hold = std::max(hold, partial_suffix(pending_, kThinkClose));
    const size_t ready = pending_.size() - hold;
    if (ready > 0) {
        std::string out = pending_.substr(0, ready);
        pending_.erase(0, ready);
        if (!emit(out, token)) return false;
    }
    return true;
}

bool TextRouter::finish() {
    if (stopped_by_string_ || stopped_by_sink_ || pending_.empty()) return true;
    std::string out;
    out.swap(pending_);
    return emit(out, -1);
}

// ---------------------------------------------------------------------------------------------------------------
// generate
// ---------------------------------------------------------------------------------------------------------------

void generate(Session& session, const tok::Tokenizer& tokenizer, const std::vector<int32_t>& prompt_in,
              const GenerateOptions& options, const EventSink& sink, GenerateResult& result) {
    if (prompt_in.empty()) fail(R1_ERR_INVALID_ARGUMENT, "the prompt is empty");
    result = GenerateResult();
    std::vector<int32_t> prompt = prompt_in;
    bool starts_in_thought = options.reasoning && options.starts_in_thought;

    std::vector<int32_t> close_tokens;
    if (options.reasoning && options.thinking_budget >= 0) {
        tokenizer.tokenize(options.budget_close_text, false, true, close_tokens, nullptr);
        // A budget of zero with a prompt that opens a thought: close it in the prompt itself.
        if (options.thinking_budget == 0 && starts_in_thought) {
            prompt.insert(prompt.end(), close_tokens.begin(), close_tokens.end());
            starts_in_thought = false;
        }
    }
    result.n_prompt_tokens = int64_t(prompt.size());
    if (int64_t(prompt.size()) > session.n_ctx())
        fail(R1_ERR_OUT_OF_RANGE, "the prompt has %zu tokens; the context holds %lld", prompt.size(),
             (long long)session.n_ctx());

    // Prompt: keep what the session already holds, evaluate the rest.
    const double t0 = now_ms();
    size_t keep = common_prefix(session.tokens(), prompt);
    if (keep == prompt.size()) --keep;  // the last prompt token must be evaluated for its logits
    session.truncate(int64_t(keep));
    result.n_prompt_evaluated = int64_t(prompt.size() - keep);
    try {
        session.eval(prompt.data() + keep, int64_t(prompt.size() - keep), false);
    } catch (const Error& e) {
        result.prompt_ms = now_ms() - t0;
        if (e.status() == R1_ERR_CANCELLED) result.stop_reason = StopReason::Cancelled;
        throw;
    }
    const double t1 = now_ms();
    result.prompt_ms = t1 - t0;

    Sampler sampler(options.sampling, session.n_vocab());
    tok::StreamDecoder decoder(tokenizer, false);
    TextRouter router(options.reasoning, starts_in_thought, options.stop_strings, sink);
    std::string text;
    int64_t generated = 0;
    bool budget_closed = false;

    // Feeds a token's text to the router, counting a generated token as thinking or answer by the state before
    // it (injected tokens are counted by the caller).
    auto route = [&](int32_t token, bool generated_token) {
        if (generated_token) (router.in_thought() ? result.n_thinking_tokens : result.n_answer_tokens) += 1;
        text.clear();
        decoder.push(token, text);
        return router.push(text, token);
    };
    // Closes the thought at the budget: the closing text enters the context and the stream.
    auto close_thought = [&]() {
        budget_closed = true;
        if (session.position() + int64_t(close_tokens.size()) > session.n_ctx()) return false;
        result.n_thinking_tokens += int64_t(close_tokens.size());  // the closing text belongs to the thought
        for (int32_t t : close_tokens)
            if (!route(t, false)) return false;
        session.eval(close_tokens.data(), int64_t(close_tokens.size()), false);
        return true;
    };

    bool stopped = false;
    try {
        if (options.reasoning && options.thinking_budget == 0 && router.in_thought()) stopped = !close_thought();
        while (!stopped) {
            if (session.cancel_requested()) {
                result.stop_reason = StopReason::Cancelled;
                break;
            }
            if (options.max_tokens > 0 && generated >= options.max_tokens) {
                result.stop_reason = StopReason::MaxTokens;
                break;
            }
            if (session.position() >= session.n_ctx()) {
                result.stop_reason = StopReason::ContextFull;
                break;
            }
            const std::vector<int32_t>& history = session.tokens();
            const int32_t token = sampler.sample(session.logits(), history.data(), history.size());
            if (!options.ignore_eos && tokenizer.is_eog(token)) {
                result.stop_reason = StopReason::Eos;
                break;
            }
            ++generated;
            if (!route(token, true)) {
                result.stop_reason = router.stopped_by_string() ? StopReason::String : StopReason::Callback;
                break;
            }
            session.eval(&token, 1, false);
            if (options.reasoning && options.thinking_budget >= 0 && !budget_closed && router.in_thought() &&
                result.n_thinking_tokens >= options.thinking_budget) {
                if (!close_thought()) {
                    result.stop_reason = router.stopped_by_string()  ? StopReason::String
                                         : router.stopped_by_sink() ? StopReason::Callback
                                                                     : StopReason::ContextFull;
                    break;
                }
            }
        }
    } catch (const Error& e) {
        result.generation_ms = now_ms() - t1;
        if (e.status() == R1_ERR_CANCELLED) result.stop_reason = StopReason::Cancelled;
        throw;
    }
    if (result.stop_reason != StopReason::String && result.stop_reason != StopReason::Callback) {
        text.clear();
        decoder.finish(text);
        if (router.push(text, -1)) router.finish();
    }
    result.generation_ms = now_ms() - t1;
    if (result.stop_reason == StopReason::Cancelled) fail(R1_ERR_CANCELLED, "generation was cancelled");
}

}  // namespace r1
