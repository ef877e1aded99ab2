#include "tokenizer.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../error.h"
#include "unicode.h"

namespace r1::tok {

namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space
constexpr size_t kMaxText = size_t(INT32_MAX);         // the reference takes an int32_t length

uint32_t attr_from_type(int32_t type) {
    switch (type) {
        case kTypeNormal: return kAttrNormal;
        case kTypeUnknown: return kAttrUnknown;
        case kTypeControl: return kAttrControl;
        case kTypeUserDefined: return kAttrUserDefined;
        case kTypeUnused: return kAttrUnused;
        case kTypeByte: return kAttrByte;
        default: return kAttrUndefined;
    }
}

// Texts by which the reference recognises special tokens that the file does not name, in the order of its
// lists. Where a vocabulary has several candidates, the first in this order wins (the reference takes
// whichever its hash map yields first; for the fixtures the results agree).
const char* const kEotTexts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                 "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>",
                                 "<end_of_utterance>"};
const char* const kEomTexts[] = {"<|eom_id|>"};
const char* const kFimPreTexts[] = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
                                    "▁<PRE>", "<|code_prefix|>"};
const char* const kFimSufTexts[] = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
                                    "▁<SUF>", "<|code_suffix|>"};
const char* const kFimMidTexts[] = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
                                    "▁<MID>", "<|code_middle|>"};
const char* const kFimPadTexts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"};
const char* const kFimRepTexts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"};
const char* const kFimSepTexts[] = {"<|file_sep|>"};
// Every token with one of these texts ends generation (and is made CONTROL).
const char* const kEogTexts[] = {"<|eot_id|>",   "<|im_end|>",    "<|end|>",         "<|return|>",
                                 "<|call|>",     "<end_of_turn>", "<|endoftext|>",   "</s>",
                                 "<|eom_id|>",   "<EOT>",         "_<EOT>",          "[EOT]",
                                 "<|end_of_text|>", "<end_of_utterance>", "<｜end▁of▁sentence｜>"};

// The reference's clean_up_tokenization_spaces, three passes in place over the bytes (llama_detokenize).
void clean_up_spaces(std::string& text) {
    char* t = text.data();
    int64_t total = int64_t(text.size());

    // " ?", " !", " .", " ,": drop the space
    const int64_t total1 = total;
    total = total ? 1 : 0;
    for (int64_t i = 1; i < total1; ++i) {
        const char x = t[i];
        if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --total;
        t[total++] = x;
    }
    // " ' " -> "'"
    const int64_t total2 = total;
    total = total ? 1 : 0;
    for (int64_t i = 1; i < total2; ++i) {
        const char x = t[i];
        if (x == '\'' && i + 1 < total2 && t[i - 1] == ' ' && t[i + 1] == ' ') {
            --total;
            t[++i] = '\0';
        }
        t[total++] = x;
    }
    // " 's", " 'm", " 're", " 've": drop the space (not before 't, 'd, 'll)
    const int64_t total3 = total;
    total = total ? 1 : 0;
    for (int64_t i = 1; i < total3; ++i) {
        const char x = t[i];
        if (t[i - 1] == ' ' && x == '\'' && i + 1 < total3) {
            const char x1 = t[i + 1];
            if (x1 == 's' || x1 == 'm') {
                --total;
            } else if (x1 != 't' && x1 != 'd' && i + 2 < total3) {
                const char x2 = t[i + 2];
                if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) --total;
            }
        }
        t[total++] = x;
    }
    text.resize(size_t(total));
}

}  // namespace

// ------------------------------------------------------------------------------------------------ scratch

void TokenizerScratch::clear_cache() {
    cache_.clear();
    bpe_.clear();
}

// Encodes the words of one fragment with byte-level BPE, through the scratch's word cache.
class BpeWordSink final : public WordSink {
public:
    BpeWordSink(const BpeModel& bpe, TokenizerScratch& s, std::vector<TokenId>& out) : bpe_(bpe), s_(s), out_(out) {}

    void word(std::string_view w) override {
        if (w.size() == 1) {  // one byte: no merge applies, and the lookup costs more than the encoding
            bpe_.encode_word(w, s_.bpe_, out_);
            return;
        }
        uint32_t count = 0;
        if (const TokenId* ids = s_.cache_.find(w, &count)) {
            out_.insert(out_.end(), ids, ids + count);
            return;
        }
        const size_t first = out_.size();
        bpe_.encode_word(w, s_.bpe_, out_);
        s_.cache_.insert(w, out_.data() + first, uint32_t(out_.size() - first));
    }

private:
    const BpeModel& bpe_;
    TokenizerScratch& s_;
    std::vector<TokenId>& out_;
};

// ------------------------------------------------------------------------------------------------ construction

// A scratch remembers which tokenizer filled its cache by this number rather than by address, which a later
// tokenizer may reuse.
static uint64_t next_serial() {
    static std::atomic<uint64_t> counter{0};
    return ++counter;
}

Tokenizer::Tokenizer(Vocab vocab) : vocab_(std::move(vocab)), serial_(next_serial()) {
    const size_t n = vocab_.tokens.size();
    if (n == 0) fail(R1_ERR_FORMAT, "tokenizer: the vocabulary is empty");
    if (n > size_t(INT32_MAX)) fail(R1_ERR_FORMAT, "tokenizer: %zu tokens do not fit 32-bit ids", n);
    if (!vocab_.scores.empty() && vocab_.scores.size() != n)
        fail(R1_ERR_FORMAT, "tokenizer: %zu scores for %zu tokens", vocab_.scores.size(), n);
    if (!vocab_.types.empty() && vocab_.types.size() != n)
        fail(R1_ERR_FORMAT, "tokenizer: %zu token types for %zu tokens", vocab_.types.size(), n);
    if (vocab_.scores.empty()) vocab_.scores.assign(n, 0.0f);
    for (float& s : vocab_.scores)
        if (std::isnan(s)) s = -FLT_MAX;  // a NaN would leave the SPM merge order undefined

    TokenId* ids[] = {&vocab_.bos,     &vocab_.eos,     &vocab_.eot,     &vocab_.eom,     &vocab_.unk,
                      &vocab_.sep,     &vocab_.pad,     &vocab_.mask,    &vocab_.fim_pre, &vocab_.fim_suf,
                      &vocab_.fim_mid, &vocab_.fim_pad, &vocab_.fim_rep, &vocab_.fim_sep};
    for (TokenId* id : ids)
        if (*id < 0 || size_t(*id) >= n) *id = kNoToken;
    if (vocab_.add_bos && vocab_.bos == kNoToken)
        fail(R1_ERR_FORMAT, "tokenizer: add_bos is set but the vocabulary has no valid BOS id");
    if (vocab_.add_eos && vocab_.eos == kNoToken)
        fail(R1_ERR_FORMAT, "tokenizer: add_eos is set but the vocabulary has no valid EOS id");

    attrs_.resize(n);
    text_to_id_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        std::string& text = vocab_.tokens[i];
        if (text.empty()) text = "[EMPTY_" + std::to_string(i) + "]";  // as the reference renames them
        attrs_[i] = vocab_.types.empty() ? kAttrNormal : attr_from_type(vocab_.types[i]);
    }
    for (size_t i = 0; i < n; ++i) {
        auto [it, inserted] = text_to_id_.emplace(vocab_.tokens[i], TokenId(i));
        if (!inserted)
            fail(R1_ERR_FORMAT, "tokenizer: duplicate token text '%s' (ids %d and %zu)", vocab_.tokens[i].c_str(),
                 it->second, i);
    }

    resolve_specials();

    if (vocab_.model == VocabModel::Bpe) {
        bpe_.build(vocab_.tokens, text_to_id_, vocab_.merges, vocab_.ignore_merges);
    } else {
        TokenId byte_tokens[256];
        for (int b = 0; b < 256; ++b) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "<0x%02X>", b);
            TokenId t = find_token(hex);
            const char byte = char(b);
            if (t == kNoToken) t = find_token(std::string_view(&byte, 1));
            byte_tokens[b] = t;
        }
        spm_.build(&text_to_id_, &vocab_.scores, byte_tokens, vocab_.unk);
    }
    build_pieces();

    // The newline token: SPM's byte token for '\n', else the first token of "\n".
    if (vocab_.model == VocabModel::Spm) {
        nl_ = find_token("<0x0A>");
        if (nl_ == kNoToken) nl_ = find_token("\n");
    } else {
        std::vector<TokenId> t = tokenize("\n", false, false);
        nl_ = t.empty() ? kNoToken : t[0];
    }
    if (nl_ == kNoToken) nl_ = vocab_.pad;
}

void Tokenizer::resolve_specials() {
    auto detect = [&](TokenId& id, const auto& texts) {
        if (id != kNoToken) return;
        for (const char* text : texts) {
            const TokenId t = find_token(text);
            if (t == kNoToken) continue;
            id = t;
            attrs_[size_t(t)] |= kAttrControl;
            return;
        }
    };
    detect(vocab_.eot, kEotTexts);
    detect(vocab_.eom, kEomTexts);
    detect(vocab_.fim_pre, kFimPreTexts);
    detect(vocab_.fim_suf, kFimSufTexts);
    detect(vocab_.fim_mid, kFimMidTexts);
    detect(vocab_.fim_pad, kFimPadTexts);
    detect(vocab_.fim_rep, kFimRepTexts);
    detect(vocab_.fim_sep, kFimSepTexts);

    // CONTROL tokens named "...unused..." are unused.
    for (size_t i = 0; i < attrs_.size(); ++i) {
        if ((attrs_[i] & kAttrControl) && vocab_.tokens[i].find("unused") != std::string::npos)
            attrs_[i] |= kAttrUnused;
    }

    std::vector<TokenId> eog = {vocab_.fim_pad, vocab_.fim_rep, vocab_.fim_sep};
    for (const char* text : kEogTexts) {
        const TokenId t = find_token(text);
        if (t == kNoToken) continue;
        eog.push_back(t);
        attrs_[size_t(t)] |= kAttrControl;
    }
    eog.push_back(vocab_.eos);
    eog.push_back(vocab_.eot);
    eog.push_back(vocab_.eom);
    eog.erase(std::remove(eog.begin(), eog.end(), kNoToken), eog.end());
    std::sort(eog.begin(), eog.end());
    eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
    eog_ = std::move(eog);

    for (size_t i = 0; i < attrs_.size(); ++i) {
        if (attrs_[i] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) special_order_.push_back(TokenId(i));
    }
    std::stable_sort(special_order_.begin(), special_order_.end(), [&](TokenId a, TokenId b) {
        return vocab_.tokens[size_t(a)].size() > vocab_.tokens[size_t(b)].size();
    });

    think_open_ = find_token("<think>");
    think_close_ = find_token("</think>");
    user_ = find_token("<｜User｜>");
    assistant_ = find_token("<｜Assistant｜>");
}

std::string Tokenizer::piece_for_cache(TokenId id) const {
    const uint32_t attr = attrs_[size_t(id)];
    const std::string& text = vocab_.tokens[size_t(id)];
    if (attr & (kAttrUnknown | kAttrControl | kAttrUserDefined)) return text;
    if (attr & kAttrNormal) {
        std::string out;
        if (vocab_.model == VocabModel::Spm) {
            for (size_t pos = 0; pos < text.size();) {
                if (text.compare(pos, kSpmSpace.size(), kSpmSpace) == 0) {
                    out.push_back(' ');
                    pos += kSpmSpace.size();
                } else {
                    out.push_back(text[pos++]);
                }
            }
            return out;
        }
        // Byte-level: every code point back to its byte. A code point outside the mapping is written the
        // way the reference writes it: "[UNK_BYTE_0x" + its UTF-8 in hex + the whole token text + "]". (That
        // repeats the text once per such code point; a hostile token where this would pass 1 MiB is written
        // as its raw text instead.)
        size_t unmapped = 0;
        for (size_t pos = 0; pos < text.size();)
            unmapped += gpt2_cpt_to_byte(utf8_decode_lenient(text.data(), text.size(), &pos)) < 0 ? 1 : 0;
        if (unmapped > 0 && unmapped * text.size() > (size_t(1) << 20)) return text;
        for (size_t pos = 0; pos < text.size();) {
            const uint32_t cpt = utf8_decode_lenient(text.data(), text.size(), &pos);
            const int b = gpt2_cpt_to_byte(cpt);
            if (b >= 0) {
                out.push_back(char(b));
                continue;
            }
            char enc[4];
            const size_t len = utf8_encode(cpt, enc);
            out += "[UNK_BYTE_0x";
            for (size_t k = 0; k < len; ++k) {
                char hex[4];
                std::snprintf(hex, sizeof hex, "%02x", unsigned(static_cast<unsigned char>(enc[k])));
                out += hex;
            }
            out += text;
            out += "]";
        }
        return out;
    }
    if (attr & kAttrByte) {
        // "<0xNN>": the byte NN (the reference reads the two characters after "<0x" as hex).
        if (text.size() >= 5) {
            const long v = std::strtol(text.substr(3, 2).c_str(), nullptr, 16);
            return std::string(1, char(v & 0xFF));
        }
        return std::string();
    }
    return std::string();  // UNUSED, UNDEFINED
}

void Tokenizer::build_pieces() {
    const size_t n = vocab_.tokens.size();
    piece_offsets_.resize(n + 1);
    pieces_.clear();
    for (size_t i = 0; i < n; ++i) {
        piece_offsets_[i] = uint32_t(pieces_.size());
        pieces_ += piece_for_cache(TokenId(i));
        if (pieces_.size() > UINT32_MAX) fail(R1_ERR_FORMAT, "tokenizer: token texts exceed 4 GiB");
    }
    piece_offsets_[n] = uint32_t(pieces_.size());
}

// ------------------------------------------------------------------------------------------------ lookups

std::string_view Tokenizer::token_text(TokenId id) const {
    return valid(id) ? std::string_view(vocab_.tokens[size_t(id)]) : std::string_view();
}

float Tokenizer::token_score(TokenId id) const { return valid(id) ? vocab_.scores[size_t(id)] : 0.0f; }

uint32_t Tokenizer::token_attr(TokenId id) const { return valid(id) ? attrs_[size_t(id)] : kAttrUndefined; }

TokenId Tokenizer::find_token(std::string_view text) const {
    auto it = text_to_id_.find(text);
    return it == text_to_id_.end() ? kNoToken : it->second;
}

bool Tokenizer::is_eog(TokenId id) const { return id != kNoToken && std::binary_search(eog_.begin(), eog_.end(), id); }

// ------------------------------------------------------------------------------------------------ encoding

void Tokenizer::partition(std::string_view text, bool parse_special, std::vector<Fragment>& out,
                          std::vector<Fragment>& tmp) const {
    out.clear();
    if (text.empty()) return;
    out.push_back(Fragment{kNoToken, 0, text.size()});
    // Each special token in turn (longest first) splits every raw-text fragment at all its occurrences.
    for (TokenId id : special_order_) {
        const uint32_t attr = attrs_[size_t(id)];
        if (!parse_special && (attr & (kAttrControl | kAttrUnknown))) continue;  // USER_DEFINED always applies
        const std::string& needle = vocab_.tokens[size_t(id)];
        tmp.clear();
        bool found = false;
        for (const Fragment& f : out) {
            if (f.token != kNoToken) {
                tmp.push_back(f);
                continue;
            }
            size_t base = f.offset;
            const size_t end = f.offset + f.length;
            const std::string_view window = text.substr(0, end);
            for (;;) {
                const size_t match = window.find(needle, base);
                if (match == std::string_view::npos) break;
                found = true;
                size_t left_len = match - base;
                if (attr & kAttrLstrip) {
                    while (left_len > 0 && std::isspace(static_cast<unsigned char>(text[base + left_len - 1])))
                        --left_len;
                }
                if (left_len > 0) tmp.push_back(Fragment{kNoToken, base, left_len});
                tmp.push_back(Fragment{id, 0, 0});
                base = match + needle.size();
                if (attr & kAttrRstrip) {
                    while (base < end && std::isspace(static_cast<unsigned char>(text[base]))) ++base;
                }
            }
            if (base < end) tmp.push_back(Fragment{kNoToken, base, end - base});
        }
        if (found) out.swap(tmp);
    }
}

void Tokenizer::encode_fragment(std::string_view text, bool& prev_special, std::vector<TokenId>& out,
                                TokenizerScratch& s) const {
    if (vocab_.model == VocabModel::Bpe) {
        BpeWordSink sink(bpe_, s, out);
        pre_tokenize(vocab_.pre, text, s.pre_, sink);
        return;
    }
    // SPM: a leading space after BOS or a special token (add_space_prefix), spaces written as U+2581.
    std::string& t = s.spm_text_;
    t.clear();
    if (vocab_.add_space_prefix && prev_special) t += kSpmSpace;
    for (char c : text) {
        if (c == ' ') {
            t += kSpmSpace;
        } else {
            t.push_back(c);
        }
    }
    spm_.encode(t, s.spm_, out);
    prev_special = false;
}

std::vector<TokenId> Tokenizer::tokenize(std::string_view text, bool add_special, bool parse_special) const {
    std::vector<TokenId> out;
    tokenize(text, add_special, parse_special, out, nullptr);
    return out;
}

void Tokenizer::tokenize(std::string_view text, bool add_special, bool parse_special, std::vector<TokenId>& out,
                         TokenizerScratch* scratch) const {
    if (text.size() >= kMaxText)
        fail(R1_ERR_INVALID_ARGUMENT, "tokenize: a text of %zu bytes is too long (limit 2 GiB)", text.size());
    std::unique_ptr<TokenizerScratch> local;
    if (!scratch) {
        local = std::make_unique<TokenizerScratch>();
        scratch = local.get();
    }
    if (scratch->owner_ != serial_) {
        scratch->clear_cache();
        scratch->owner_ = serial_;
    }
    partition(text, parse_special, scratch->fragments_, scratch->fragments_next_);
    out.reserve(out.size() + text.size() / 4 + 2);  // English runs at about 4 bytes per token

    bool prev_special = true;  // SPM: the first fragment counts as following a special token
    if (add_special && vocab_.add_bos) out.push_back(vocab_.bos);
    for (const Fragment& f : scratch->fragments_) {
        if (f.token != kNoToken) {
            out.push_back(f.token);
            prev_special = true;
        } else {
            encode_fragment(text.substr(f.offset, f.length), prev_special, out, *scratch);
        }
    }
    if (add_special && vocab_.add_eos) out.push_back(vocab_.eos);
}

// ------------------------------------------------------------------------------------------------ decoding

std::string_view Tokenizer::token_piece(TokenId id, bool render_special) const {
    if (!valid(id)) fail(R1_ERR_INVALID_ARGUMENT, "token id %d is outside the vocabulary (%zu tokens)", id, n_tokens());
    if (!render_special && (attrs_[size_t(id)] & (kAttrUnknown | kAttrControl))) return std::string_view();
    const uint32_t begin = piece_offsets_[size_t(id)];
    return std::string_view(pieces_.data() + begin, piece_offsets_[size_t(id) + 1] - begin);
}

std::string Tokenizer::detokenize(const TokenId* ids, size_t n, const DetokenizeOptions& options) const {
    std::string out;
    bool remove_space = vocab_.add_space_prefix;  // the space SPM put in front of the text
    if (options.remove_special && vocab_.add_bos && n > 0 && ids[0] == vocab_.bos) {
        remove_space = false;
        ++ids;
        --n;
    }
    if (options.remove_special && vocab_.add_eos && n > 0 && ids[n - 1] == vocab_.eos) --n;
    for (size_t i = 0; i < n; ++i) {
        std::string_view piece = token_piece(ids[i], options.render_special);
        if (remove_space && !piece.empty() && piece[0] == ' ') piece.remove_prefix(1);
        remove_space = false;
        out += piece;
    }
    if (options.clean_spaces && vocab_.clean_spaces) clean_up_spaces(out);
    return out;
}

}  // namespace r1::tok
