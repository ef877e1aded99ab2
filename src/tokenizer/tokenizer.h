// The tokenizer: text -> token ids and back, exactly as the reference implementation (llama.cpp) does it, for
// byte-level BPE vocabularies (Qwen2 / DeepSeek-R1-Distill-Qwen, Llama 3 / R1-Distill-Llama, GPT-2) and
// SentencePiece-style ones (llama files with tokenizer.ggml.model = llama).
//
//     r1::tok::Tokenizer tok(r1::tok::load_vocab(file));
//     std::vector<int32_t> ids = tok.tokenize("Hello world", /*add_special=*/true, /*parse_special=*/false);
//     std::string text = tok.detokenize(ids);
//
// Encoding: special tokens are cut out of the text first (longest token text first, as the reference does);
// the text between them is pre-tokenized and encoded word by word (BPE) or as a whole (SPM).
// Thread safety: a Tokenizer is immutable after construction; every const member may be called from any
// number of threads at once. A TokenizerScratch belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bpe.h"
#include "pretokenize.h"
#include "spm.h"
#include "word_cache.h"
#include "vocab.h"

namespace r1::tok {

// Token attributes, the reference's llama_token_attr bits (vocab-info.json lists them for the fixtures).
enum TokenAttr : uint32_t {
    kAttrUndefined = 0,
    kAttrUnknown = 1 << 0,
    kAttrUnused = 1 << 1,
    kAttrNormal = 1 << 2,
    kAttrControl = 1 << 3,
    kAttrUserDefined = 1 << 4,
    kAttrByte = 1 << 5,
    kAttrNormalized = 1 << 6,
    kAttrLstrip = 1 << 7,
    kAttrRstrip = 1 << 8,
    kAttrSingleWord = 1 << 9,
};

struct DetokenizeOptions {
    // Drop a leading BOS / trailing EOS when the vocabulary adds them (the reference's remove_special).
    bool remove_special = false;
    // Write CONTROL and UNKNOWN tokens as their text; otherwise they produce nothing (unparse_special).
    // USER_DEFINED tokens such as <think> are always written.
    bool render_special = false;
    // Apply the vocabulary's clean-up pass (" ," -> "," ...) when it has one (Vocab::clean_spaces: the GPT-2
    // and Llama 3 pre-tokenizers, not Qwen2 or SPM). false: the plain concatenation of the pieces.
    bool clean_spaces = true;
};

// A piece of the input after special-token matching: a special token, or a span of raw text.
struct Fragment {
    TokenId token;  // >= 0: a special token; kNoToken: raw text
    size_t offset, length;
};

class Tokenizer;

// Working memory of tokenize(): reusing one across calls (on one thread) avoids allocations and keeps the
// cache of already-encoded words. Optional; tokenize() makes a temporary one otherwise.
class TokenizerScratch {
public:
    TokenizerScratch() = default;
    TokenizerScratch(const TokenizerScratch&) = delete;
    TokenizerScratch& operator=(const TokenizerScratch&) = delete;

    void clear_cache();

private:
    friend class Tokenizer;
    friend class BpeWordSink;

    uint64_t owner_ = 0;  // Tokenizer::serial_ of the tokenizer the cache belongs to (0: none)
    PreTokenizerScratch pre_;
    BpeScratch bpe_;
    SpmScratch spm_;
    std::vector<Fragment> fragments_, fragments_next_;
    std::string spm_text_;

    WordCache cache_;  // BPE words already encoded
};

class Tokenizer {
public:
    // Resolves the vocabulary as the reference does at load: token attributes from the types, end-of-turn,
    // FIM and end-of-generation tokens detected by their text, the special-token list. Throws
    // r1::Error(R1_ERR_FORMAT) for an inconsistent vocabulary (duplicate token text, array sizes that differ,
    // add_bos without a BOS id ...).
    explicit Tokenizer(Vocab vocab);
    Tokenizer(const Tokenizer&) = delete;  // internal views point into the vocabulary it owns
    Tokenizer& operator=(const Tokenizer&) = delete;

    // ---- encoding
    // add_special: prepend BOS / append EOS when the vocabulary asks for them (tokenizer.ggml.add_*_token).
    // parse_special: match CONTROL tokens written in the text (e.g. "<｜User｜>"); without it they are encoded
    // as plain text. USER_DEFINED tokens (e.g. "<think>") are matched either way, like the reference.
    // Any byte sequence is accepted; invalid UTF-8 is encoded as U+FFFD (see utf8_decode_lenient).
    // Throws r1::Error(R1_ERR_INVALID_ARGUMENT) for a text of 2 GiB or more.
    std::vector<TokenId> tokenize(std::string_view text, bool add_special, bool parse_special) const;
    // Appends to out; scratch may be null.
    void tokenize(std::string_view text, bool add_special, bool parse_special, std::vector<TokenId>& out,
                  TokenizerScratch* scratch) const;

    // The special-token split alone (exposed for tests).
    void partition(std::string_view text, bool parse_special, std::vector<Fragment>& out,
                   std::vector<Fragment>& tmp) const;

    // ---- decoding
    // The bytes one token stands for: the GPT-2 mapping undone (BPE) or U+2581 written as a space and <0xNN>
    // as the byte (SPM); the raw text for CONTROL/USER_DEFINED/UNKNOWN tokens; "" for CONTROL and UNKNOWN
    // tokens unless render_special, and for UNUSED ones. Throws R1_ERR_INVALID_ARGUMENT for an id outside the
    // vocabulary. The view stays valid as long as the tokenizer.
    std::string_view token_piece(TokenId id, bool render_special) const;
    // The pieces of all ids, with the reference's rules for a leading space and clean-up (llama_detokenize).
    // The result may be invalid UTF-8 when ids split a character; see StreamDecoder and utf8_sanitize.
    std::string detokenize(const TokenId* ids, size_t n, const DetokenizeOptions& options = {}) const;
    std::string detokenize(const std::vector<TokenId>& ids, const DetokenizeOptions& options = {}) const {
        return detokenize(ids.data(), ids.size(), options);
    }

    // ---- vocabulary
    const Vocab& vocab() const { return vocab_; }
    size_t n_tokens() const { return vocab_.tokens.size(); }
    bool valid(TokenId id) const { return id >= 0 && size_t(id) < vocab_.tokens.size(); }
    std::string_view token_text(TokenId id) const;  // as stored in the file ("" for an invalid id)
    float token_score(TokenId id) const;            // 0 for an invalid id
    uint32_t token_attr(TokenId id) const;          // TokenAttr bits, kAttrUndefined for an invalid id
    TokenId find_token(std::string_view text) const;  // exact token text -> id, kNoToken when absent

    // ---- special tokens (kNoToken when the vocabulary has none)
    TokenId bos() const { return vocab_.bos; }
    TokenId eos() const { return vocab_.eos; }
    TokenId eot() const { return vocab_.eot; }
    TokenId eom() const { return vocab_.eom; }
    TokenId unk() const { return vocab_.unk; }
    TokenId sep() const { return vocab_.sep; }
    TokenId pad() const { return vocab_.pad; }
    TokenId nl() const { return nl_; }
    TokenId fim_pre() const { return vocab_.fim_pre; }
    TokenId fim_suf() const { return vocab_.fim_suf; }
    TokenId fim_mid() const { return vocab_.fim_mid; }
    TokenId fim_pad() const { return vocab_.fim_pad; }
    TokenId fim_rep() const { return vocab_.fim_rep; }
    TokenId fim_sep() const { return vocab_.fim_sep; }
    TokenId think_open() const { return think_open_; }    // "<think>"
    TokenId think_close() const { return think_close_; }  // "</think>"
    TokenId user() const { return user_; }                // "<｜User｜>"
    TokenId assistant() const { return assistant_; }      // "<｜Assistant｜>"
    // End of generation: EOS, EOT, EOM, FIM pad/repo/sep and tokens with a known end-of-turn text.
    bool is_eog(TokenId id) const;
    const std::vector<TokenId>& eog_tokens() const { return eog_; }  // sorted
    bool add_bos() const { return vocab_.add_bos; }
    bool add_eos() const { return vocab_.add_eos; }

    // Special tokens in matching order (longest text first), all CONTROL/USER_DEFINED/UNKNOWN tokens.
    const std::vector<TokenId>& special_tokens() const { return special_order_; }

private:
    void resolve_specials();
    void build_pieces();
    std::string piece_for_cache(TokenId id) const;
    void encode_fragment(std::string_view text, bool& prev_special, std::vector<TokenId>& out,
                         TokenizerScratch& scratch) const;

    Vocab vocab_;
    std::vector<uint32_t> attrs_;
    std::unordered_map<std::string_view, TokenId> text_to_id_;
    std::vector<TokenId> special_order_;
    std::vector<TokenId> eog_;
    std::string pieces_;                   // every token's piece with render_special, concatenated
    std::vector<uint32_t> piece_offsets_;  // n_tokens + 1 offsets into pieces_
    BpeModel bpe_;
    SpmModel spm_;
    TokenId nl_ = kNoToken;
    TokenId think_open_ = kNoToken, think_close_ = kNoToken, user_ = kNoToken, assistant_ = kNoToken;
    uint64_t serial_;  // unique per Tokenizer in the process: ties a scratch's word cache to its tokenizer
};

}  // namespace r1::tok
