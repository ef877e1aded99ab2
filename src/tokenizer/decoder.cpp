#include "decoder.h"

namespace r1::tok {

namespace {

const char kReplacement[] = "\xEF\xBF\xBD";

// Bytes a well-formed sequence starting with lead byte c has (0: c cannot start one), and the allowed range
// of its second byte (Unicode Table 3-7, which excludes overlongs, surrogates and values above U+10FFFF).
struct LeadInfo {
    uint8_t length, second_lo, second_hi;
};

LeadInfo lead_info(unsigned char c) {
    if (c < 0x80) return {1, 0, 0};
    if (c < 0xC2) return {0, 0, 0};
    if (c < 0xE0) return {2, 0x80, 0xBF};
    if (c == 0xE0) return {3, 0xA0, 0xBF};
    if (c == 0xED) return {3, 0x80, 0x9F};
    if (c < 0xF0) return {3, 0x80, 0xBF};
    if (c == 0xF0) return {4, 0x90, 0xBF};
    if (c < 0xF4) return {4, 0x80, 0xBF};
    if (c == 0xF4) return {4, 0x80, 0x8F};
    return {0, 0, 0};
}

}  // namespace

size_t utf8_sanitize_append(std::string& out, std::string_view in, bool final) {
    const auto* s = reinterpret_cast<const unsigned char*>(in.data());
    const size_t n = in.size();
    size_t i = 0;
    while (i < n) {
        // ASCII run
        size_t j = i;
        while (j < n && s[j] < 0x80) ++j;
        if (j > i) {
            out.append(in.data() + i, j - i);
            i = j;
            continue;
        }
        const LeadInfo info = lead_info(s[i]);
        if (info.length == 0) {
            out += kReplacement;
            ++i;
            continue;
        }
        // Count the bytes that continue the sequence correctly.
        size_t k = 1;
        while (k < info.length && i + k < n) {
            const unsigned char c = s[i + k];
            const bool ok = k == 1 ? (c >= info.second_lo && c <= info.second_hi) : (c >= 0x80 && c <= 0xBF);
            if (!ok) break;
            ++k;
        }
        if (k == info.length) {
            out.append(in.data() + i, k);
            i += k;
        } else if (i + k == n && !final) {
            break;  // a valid prefix cut by the end of the input: wait for more
        } else {
            out += kReplacement;  // the maximal subpart s[i, i+k) is ill-formed
            i += k;
        }
    }
    return i;
}

std::string utf8_sanitize(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    utf8_sanitize_append(out, in, true);
    return out;
}

bool utf8_is_valid(std::string_view in) { return utf8_sanitize(in) == in; }

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool render_special)
    : tokenizer_(&tokenizer), render_special_(render_special) {}

void StreamDecoder::push(TokenId id, std::string& out) {
    std::string_view piece = tokenizer_->token_piece(id, render_special_);
    // Like detokenize(): SPM's leading space is dropped from the first token.
    if (first_ && tokenizer_->vocab().add_space_prefix && !piece.empty() && piece[0] == ' ') piece.remove_prefix(1);
    first_ = false;
    if (pending_.empty()) {
        const size_t used = utf8_sanitize_append(out, piece, false);
        pending_.assign(piece.data() + used, piece.size() - used);
        return;
    }
    pending_.append(piece.data(), piece.size());
    const size_t used = utf8_sanitize_append(out, pending_, false);
    pending_.erase(0, used);
}

void StreamDecoder::finish(std::string& out) {
    utf8_sanitize_append(out, pending_, true);
    reset();
}

void StreamDecoder::reset() {
    first_ = true;
    pending_.clear();
}

}  // namespace r1::tok
