// Generation on a session: prefix reuse, the sampling loop, reasoning-aware streaming (THINKING / ANSWER),
// the thinking budget, stop strings, and the result with counts and timings.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sampler.h"
#include "session.h"

namespace r1 {

namespace tok {
class Tokenizer;
}

enum class StreamKind { Thinking, Answer };

enum class StopReason { Eos = 0, MaxTokens = 1, String = 2, Callback = 3, Cancelled = 4, ContextFull = 5 };

struct GenerateOptions {
    SamplingOptions sampling;
    int64_t max_tokens = 0;            // 0: until the context is full
    int64_t thinking_budget = -1;      // -1: unlimited
    std::string budget_close_text = "\n</think>\n\n";
    std::vector<std::string> stop_strings;
    bool ignore_eos = false;
    bool reasoning = true;             // interpret <think> ... </think>; false: everything is answer text
    bool starts_in_thought = false;    // the prompt ends inside an opened thought
};

struct GenerateResult {
    StopReason stop_reason = StopReason::Eos;
    int64_t n_prompt_tokens = 0;
    int64_t n_prompt_evaluated = 0;
    int64_t n_thinking_tokens = 0;
    int64_t n_answer_tokens = 0;
    double prompt_ms = 0;
    double generation_ms = 0;
};

// Receives streamed text: kind, valid UTF-8 text, the last token that contributed (-1 for flushed text).
// Returns false to stop generation.
using EventSink = std::function<bool(StreamKind kind, std::string_view text, int32_t token)>;

// Makes the session hold exactly `prompt` (reusing its longest common prefix with what the session holds, and
// always evaluating at least the last token so that its logits exist), then generates. Throws r1::Error; a
// cancellation throws R1_ERR_CANCELLED after filling `result` (stop reason Cancelled).
void generate(Session& session, const tok::Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
              const GenerateOptions& options, const EventSink& sink, GenerateResult& result);

// The longest common prefix of two token sequences.
size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b);

// Splits a stream of text into THINKING and ANSWER parts and finds stop strings, across arbitrary piece
// boundaries: text that could be the start of a tag or stop string is held back until it is decided.
class TextRouter {
public:
    TextRouter(bool reasoning, bool starts_in_thought, const std::vector<std::string>& stop_strings,
               const EventSink& sink);

    // Routes a piece of text; returns false when generation must stop (a stop string, or the sink said so).
    bool push(std::string_view text, int32_t token);
    // Emits what is held back (generation ended without completing a tag or stop string).
    bool finish();

    bool in_thought() const { return in_thought_; }
    bool stopped_by_string() const { return stopped_by_string_; }
    bool stopped_by_sink() const { return stopped_by_sink_; }
    // True once any answer text (not whitespace) was emitted.
    bool answer_started() const { return answer_started_; }

private:
    bool emit(std::string_view text, int32_t token);

    bool reasoning_;
    bool in_thought_;
    std::vector<std::string> stop_strings_;
    const EventSink& sink_;
    std::string pending_;
    bool thinking_started_ = false;  // non-whitespace thinking text was emitted
    bool answer_started_ = false;
    bool stopped_by_string_ = false;
    bool stopped_by_sink_ = false;
    int32_t last_token_ = -1;
};

}  // namespace r1
