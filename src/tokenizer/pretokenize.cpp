#include "pretokenize.h"

#include <algorithm>

#include "unicode.h"

namespace r1::tok {

namespace {

// Class code of one code point, one byte, so the matchers work on a byte array:
//   ASCII code points are their own code (the regexes name ASCII characters: ' ', '\r', '\n', '\'', s, t ...);
//   other code points are 0x80 + UnicodeClass, or kSpaceNonAscii when they are White_Space.
// This is the reference's "collapsed" text (one byte per code point) with the same information.
constexpr uint8_t kNonAscii = 0x80;
constexpr uint8_t kSpaceNonAscii = 0x88;
constexpr uint8_t kEnd = 0xFF;  // past the end of the text: in no class

enum : uint8_t { kIsLetter = 1, kIsNumber = 2, kIsSpace = 4, kIsOther = 8, kIsPunctDefault = 16 };

struct ClassTable {
    uint8_t bits[256] = {};
};

constexpr ClassTable make_class_table() {
    ClassTable t{};
    for (int c = 0; c < 256; ++c) {
        uint8_t b = 0;
        const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == kNonAscii + kClassLetter;
        const bool number = (c >= '0' && c <= '9') || c == kNonAscii + kClassNumber;
        const bool space = (c >= 0x09 && c <= 0x0D) || c == ' ' || c == kSpaceNonAscii;
        if (letter) b |= kIsLetter;
        if (number) b |= kIsNumber;
        if (space) b |= kIsSpace;
        const bool valid = c < 0x80 || (c >= kNonAscii && c <= kSpaceNonAscii);
        if (valid && !letter && !number && !space) b |= kIsOther;
        // [\p{P}\$\+<=>\^~\|] of the default pre-tokenizer, on the reference's collapsed text: the ASCII
        // punctuation and symbols except '`', and the non-ASCII code points of category P.
        const bool ascii_punct = c > 0x20 && c < 0x7F && !letter && !number && c != '`';
        if (ascii_punct || c == kNonAscii + kClassPunctuation) b |= kIsPunctDefault;
        t.bits[c] = b;
    }
    return t;
}

constexpr ClassTable kClasses = make_class_table();

inline bool is_letter(uint8_t c) { return kClasses.bits[c] & kIsLetter; }
inline bool is_number(uint8_t c) { return kClasses.bits[c] & kIsNumber; }
inline bool is_space(uint8_t c) { return kClasses.bits[c] & kIsSpace; }
inline bool is_other(uint8_t c) { return kClasses.bits[c] & kIsOther; }
inline bool is_punct_default(uint8_t c) { return kClasses.bits[c] & kIsPunctDefault; }
inline bool is_newline(uint8_t c) { return c == '\r' || c == '\n'; }
inline uint8_t ascii_lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? uint8_t(c + 32) : c; }

// Read access to the class codes of a window. Positions at or past `n` read as kEnd, and remember that they
// were read: when the window is not the end of the text, the match must be redone with more text.
struct Cursor {
    const uint8_t* c;
    size_t n;
    bool hit_end = false;

    uint8_t at(size_t i) {
        if (i < n) return c[i];
        hit_end = true;
        return kEnd;
    }
};

// Returns the end of the contraction at pos ('s 't 'm 'd 're 've 'll), or 0. `fold` makes it case-insensitive.
inline size_t match_contraction(Cursor& k, size_t pos, bool fold) {
    const uint8_t c1 = fold ? ascii_lower(k.at(pos + 1)) : k.at(pos + 1);
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return pos + 2;
    if (c1 != 'r' && c1 != 'v' && c1 != 'l') return 0;
    const uint8_t c2 = fold ? ascii_lower(k.at(pos + 2)) : k.at(pos + 2);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return pos + 3;
    return 0;
}

// The Llama 3 / Qwen2 regex at pos (pos < k.n): the end of the match. Alternatives are tried in the regex's
// order with its backtracking semantics (ECMAScript, as std::regex runs it in the reference).
size_t match_llama3(Cursor& k, size_t pos, size_t max_digits) {
    const uint8_t c0 = k.at(pos);
    // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    if (c0 == '\'') {
        if (size_t e = match_contraction(k, pos, true)) return e;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (is_letter(c0) || (!is_newline(c0) && !is_number(c0) && is_letter(k.at(pos + 1)))) {
        size_t i = pos + 1;
        while (is_letter(k.at(i))) ++i;
        return i;
    }
    // \p{N}{1,3} (Llama 3) or \p{N} (Qwen2)
    if (is_number(c0)) {
        size_t i = pos + 1;
        while (i - pos < max_digits && is_number(k.at(i))) ++i;
        return i;
    }
    // ' '?[^\s\p{L}\p{N}]+[\r\n]*
    {
        size_t i = (c0 == ' ' && is_other(k.at(pos + 1))) ? pos + 1 : pos;
        if (is_other(k.at(i))) {
            while (is_other(k.at(i))) ++i;
            while (is_newline(k.at(i))) ++i;
            return i;
        }
    }
    // c0 is whitespace. \s*[\r\n]+ : the run up to its last \r or \n
    size_t run_end = pos;
    size_t after_last_newline = 0;
    for (uint8_t c = k.at(run_end); is_space(c); c = k.at(++run_end)) {
        if (is_newline(c)) after_last_newline = run_end + 1;
    }
    if (after_last_newline != 0) return after_last_newline;
    // \s+(?!\S) : the whole run at the end of the text, else all but its last character; \s+ : one character
    if (run_end == pos) return pos + 1;  // unreachable: every code point is in one class
    if (k.at(run_end) == kEnd) return run_end;
    if (run_end - pos >= 2) return run_end - 1;
    return run_end;
}

// The GPT-2 regex at pos, as the reference's hand-written splitter implements it.
size_t match_gpt2(Cursor& k, size_t pos) {
    const uint8_t c0 = k.at(pos);
    // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive)
    if (c0 == '\'') {
        if (size_t e = match_contraction(k, pos, false)) return e;
    }
    // ' '?\p{L}+ | ' '?\p{N}+ | ' '?[^\s\p{L}\p{N}]+
    const size_t start = c0 == ' ' ? pos + 1 : pos;
    const uint8_t first = k.at(start);
    if (is_letter(first) || is_number(first) || is_other(first)) {
        const uint8_t kind = kClasses.bits[first] & (kIsLetter | kIsNumber | kIsOther);
        size_t i = start + 1;
        while (kClasses.bits[k.at(i)] & kind) ++i;
        return i;
    }
    // \s+(?!\S) | \s+
    size_t run_end = pos;
    while (is_space(k.at(run_end))) ++run_end;
    if (run_end == pos) return pos + 1;  // unreachable
    if (run_end - pos > 1 && k.at(run_end) != kEnd) return run_end - 1;
    return run_end;
}

// [\p{P}\$\+<=>\^~\|]+ of the default pre-tokenizer: the text splits into maximal runs of that class and of
// everything else.
size_t match_punct_runs(Cursor& k, size_t pos) {
    const bool punct = is_punct_default(k.at(pos));
    size_t i = pos + 1;
    for (uint8_t c = k.at(i); c != kEnd && is_punct_default(c) == punct; c = k.at(++i)) {
    }
    return i;
}

class Driver {
public:
    Driver(PreTokenizer kind, std::string_view text, PreTokenizerScratch& s, WordSink& sink)
        : kind_(kind), text_(text), s_(s), sink_(sink) {}

    void run() {
        s_.cls.clear();
        s_.offsets.clear();
        s_.utf8.clear();
        const size_t chunk = std::max<size_t>(1, s_.chunk);
        fill(chunk);
        size_t pos = 0;
        for (;;) {
            const bool final = byte_pos_ == text_.size();
            const size_t n = s_.cls.size();
            if (pos >= n) {
                if (final) break;
                compact(pos);
                pos = 0;
                fill(chunk);
                continue;
            }
            Cursor k{s_.cls.data(), n};
            size_t end = pos + 1;
            switch (kind_) {
                case PreTokenizer::Qwen2: end = match_llama3(k, pos, 1); break;
                case PreTokenizer::Llama3: end = match_llama3(k, pos, 3); break;
                case PreTokenizer::Gpt2: end = match_gpt2(k, pos); break;
                case PreTokenizer::Default: end = match_punct_runs(k, pos); break;
            }
            if (k.hit_end && !final) {
                // The match may continue past the window: keep its start, read at least as much again.
                compact(pos);
                pos = 0;
                fill(std::max(chunk, s_.cls.size()));
                continue;
            }
            if (kind_ == PreTokenizer::Default) {
                split_default(pos, end);
            } else {
                emit(pos, end);
            }
            pos = end;
        }
    }

private:
    size_t offset_of(size_t i) const { return i < s_.offsets.size() ? s_.offsets[i] : s_.utf8.size(); }

    void emit(size_t begin, size_t end) {
        const size_t b = offset_of(begin);
        sink_.word(std::string_view(s_.utf8.data() + b, offset_of(end) - b));
    }

    // Decodes up to `count` more code points into the window.
    void fill(size_t count) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(text_.data());
        const size_t size = text_.size();
        size_t produced = 0;
        while (produced < count && byte_pos_ < size) {
            // ASCII run: class code, offset and byte are the byte itself.
            size_t run = byte_pos_;
            const size_t run_limit = std::min(size, byte_pos_ + (count - produced));
            while (run < run_limit && bytes[run] < 0x80) ++run;
            if (run > byte_pos_) {
                const size_t len = run - byte_pos_;
                const size_t base_cls = s_.cls.size();
                const size_t base_utf8 = s_.utf8.size();
                s_.cls.insert(s_.cls.end(), bytes + byte_pos_, bytes + run);
                s_.utf8.append(text_.data() + byte_pos_, len);
                s_.offsets.resize(base_cls + len);
                uint32_t* off = s_.offsets.data() + base_cls;
                for (size_t j = 0; j < len; ++j) off[j] = uint32_t(base_utf8 + j);
                produced += len;
                byte_pos_ = run;
                continue;
            }
            const uint32_t cpt = utf8_decode_lenient(text_.data(), size, &byte_pos_);
            const uint8_t flags = unicode_flags(cpt);
            s_.cls.push_back(cpt < 0x80                       ? uint8_t(cpt)
                             : (flags & kFlagWhitespace) != 0 ? kSpaceNonAscii
                                                              : uint8_t(kNonAscii + (flags & kClassMask)));
            s_.offsets.push_back(uint32_t(s_.utf8.size()));
            utf8_append(s_.utf8, cpt);
            ++produced;
        }
    }

    // Drops the first `pos` code points of the window.
    void compact(size_t pos) {
        if (pos == 0) return;
        const size_t byte_base = offset_of(pos);
        s_.cls.erase(s_.cls.begin(), s_.cls.begin() + ptrdiff_t(pos));
        s_.offsets.erase(s_.offsets.begin(), s_.offsets.begin() + ptrdiff_t(pos));
        for (uint32_t& o : s_.offsets) o -= uint32_t(byte_base);
        s_.utf8.erase(0, byte_base);
    }

    // The default pre-tokenizer's later splits, each applied inside the pieces of the previous one; the end of
    // a piece is the end of the text for the next regex.
    void split_default(size_t begin, size_t end) {
        size_t pos = begin;
        while (pos < end) {
            Cursor k{s_.cls.data(), end};
            const size_t e = match_gpt2(k, pos);
            split_numbers(pos, e);
            pos = e;
        }
    }

    // \p{N}+ : runs of numbers and runs of everything else
    void split_numbers(size_t begin, size_t end) {
        size_t pos = begin;
        while (pos < end) {
            const bool number = is_number(s_.cls[pos]);
            size_t e = pos + 1;
            while (e < end && is_number(s_.cls[e]) == number) ++e;
            split_digit_triples(pos, e);
            pos = e;
        }
    }

    // [0-9][0-9][0-9] : leftmost non-overlapping triples of ASCII digits; the text between them stays whole.
    void split_digit_triples(size_t begin, size_t end) {
        auto digit = [&](size_t i) { return s_.cls[i] >= '0' && s_.cls[i] <= '9'; };
        size_t gap = begin;
        size_t i = begin;
        while (i + 3 <= end) {
            if (digit(i) && digit(i + 1) && digit(i + 2)) {
                if (i > gap) emit(gap, i);
                emit(i, i + 3);
                i += 3;
                gap = i;
            } else {
                ++i;
            }
        }
        if (end > gap) emit(gap, end);
    }

    PreTokenizer kind_;
    std::string_view text_;
    PreTokenizerScratch& s_;
    WordSink& sink_;
    size_t byte_pos_ = 0;
};

class CollectSink final : public WordSink {
public:
    std::vector<std::string> words;
    void word(std::string_view w) override { words.emplace_back(w); }
};

}  // namespace

const char* pre_tokenizer_name(PreTokenizer kind) {
    switch (kind) {
        case PreTokenizer::Default: return "default";
        case PreTokenizer::Gpt2: return "gpt2";
        case PreTokenizer::Llama3: return "llama3";
        case PreTokenizer::Qwen2: return "qwen2";
    }
    return "?";
}

void pre_tokenize(PreTokenizer kind, std::string_view text, PreTokenizerScratch& scratch, WordSink& sink) {
    if (text.empty()) return;
    Driver(kind, text, scratch, sink).run();
}

std::vector<std::string> pre_tokenize_words(PreTokenizer kind, std::string_view text) {
    PreTokenizerScratch scratch;
    CollectSink sink;
    pre_tokenize(kind, text, scratch, sink);
    return std::move(sink.words);
}

}  // namespace r1::tok
