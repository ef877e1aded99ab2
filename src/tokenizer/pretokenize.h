// Pre-tokenization: splitting a text into the "words" that byte-level BPE then encodes one by one.
//
// Each supported pre-tokenizer is a hand-written matcher equivalent to the regex the reference tokenizer
// (llama.cpp) applies, with the reference's own semantics: it splits over code points decoded leniently
// (invalid bytes become U+FFFD, see utf8_decode_lenient), classifies them with the Unicode tables, and hands
// out each word re-encoded as UTF-8 (so an invalid byte becomes EF BF BD and an overlong form its shortest one).
// No regex library is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1::tok {

enum class PreTokenizer : uint8_t {
    // llama.cpp's fallback for BPE files without a known pre-tokenizer name: four splits in sequence,
    //   [\p{P}\$\+<=>\^~\|]+  then the GPT-2 regex  then  \p{N}+  then  [0-9][0-9][0-9]
    Default,
    // GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    Gpt2,
    // Llama 3 ("llama-bpe"):
    //   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*
    //   |\s*[\r\n]+|\s+(?!\S)|\s+
    Llama3,
    // Qwen2 ("qwen2", "deepseek-r1-qwen"): the Llama 3 regex with \p{N} (one digit per word) instead of \p{N}{1,3}
    Qwen2,
};

const char* pre_tokenizer_name(PreTokenizer kind);

// Receives the words of a text, in order. A word is never empty.
class WordSink {
public:
    virtual void word(std::string_view utf8) = 0;

protected:
    ~WordSink() = default;
};

// Memory reused from call to call, so that steady-state pre-tokenization allocates nothing. One per thread.
struct PreTokenizerScratch {
    std::vector<uint8_t> cls;        // per code point of the current window: its class code
    std::vector<uint32_t> offsets;   // per code point: byte offset of its UTF-8 in `utf8`
    std::string utf8;                // the window re-encoded
    size_t chunk = 16384;            // code points decoded per refill (tests use tiny ones to stress refills)
};

// Splits `text` (one fragment between special tokens) and calls sink.word() for every word. Works through the
// text in windows, so memory stays proportional to the longest word, not to the text.
void pre_tokenize(PreTokenizer kind, std::string_view text, PreTokenizerScratch& scratch, WordSink& sink);

// Convenience for tests and tools: the words as strings.
std::vector<std::string> pre_tokenize_words(PreTokenizer kind, std::string_view text);

}  // namespace r1::tok
