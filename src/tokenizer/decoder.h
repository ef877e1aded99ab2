// Turning token ids into text a piece at a time without ever handing out a broken UTF-8 sequence.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tokenizer.h"

namespace r1::tok {

// Appends `in` to `out` with every ill-formed UTF-8 sequence replaced by U+FFFD, one U+FFFD per maximal
// ill-formed subpart (the Unicode recommendation, what Python's errors="replace" does): a stray continuation
// byte, a lead byte C0/C1/F5..FF, a sequence cut short by a byte that cannot continue it, an overlong form,
// a surrogate or a value above U+10FFFF. When `final` is false, an incomplete sequence at the very end that
// could still become valid is left unconsumed. Returns the number of bytes of `in` consumed.
size_t utf8_sanitize_append(std::string& out, std::string_view in, bool final);
std::string utf8_sanitize(std::string_view in);
bool utf8_is_valid(std::string_view in);

// Streaming detokenizer for generation: push() one token at a time and get the text that is complete so far.
// A character whose bytes span several tokens is held back until its last byte arrives; bytes that can never
// form a character are replaced by U+FFFD as utf8_sanitize does; finish() flushes what is held back (an
// incomplete sequence becomes U+FFFD). The concatenated output equals
//     utf8_sanitize(tokenizer.detokenize(ids, {.render_special = render_special, .clean_spaces = false}))
// (the clean-up pass needs the following text, so a stream never applies it).
// Thread safety: one decoder per stream; the tokenizer may be shared.
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tokenizer, bool render_special = false);

    // Appends to out the text `id` completes. Throws r1::Error(R1_ERR_INVALID_ARGUMENT) for an invalid id.
    void push(TokenId id, std::string& out);
    std::string push(TokenId id) {
        std::string out;
        push(id, out);
        return out;
    }
    // Appends what is held back (as U+FFFD) and starts over.
    void finish(std::string& out);
    void reset();
    size_t pending_bytes() const { return pending_.size(); }

private:
    const Tokenizer* tokenizer_;
    bool render_special_;
    bool first_ = true;
    std::string pending_;
};

}  // namespace r1::tok
