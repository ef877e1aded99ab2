// The vocabulary as a plain struct: what a GGUF file says about its tokenizer, with the reference's
// defaults applied. A Tokenizer is built from it (tokenizer.h); tests build small ones by hand.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pretokenize.h"

namespace r1::gguf {
class File;
}

namespace r1::tok {

using TokenId = int32_t;
constexpr TokenId kNoToken = -1;

// Token types as GGUF stores them (tokenizer.ggml.token_type).
enum TokenType : int32_t {
    kTypeUndefined = 0,
    kTypeNormal = 1,
    kTypeUnknown = 2,
    kTypeControl = 3,
    kTypeUserDefined = 4,
    kTypeUnused = 5,
    kTypeByte = 6,
};

enum class VocabModel : uint8_t {
    Spm,  // tokenizer.ggml.model = "llama": SentencePiece-style BPE over scores, byte fallback <0xNN>
    Bpe,  // tokenizer.ggml.model = "gpt2": byte-level BPE over ranked merges
};

struct Vocab {
    VocabModel model = VocabModel::Bpe;
    std::string model_name;  // tokenizer.ggml.model as written ("gpt2", "llama")
    std::string pre_name;    // tokenizer.ggml.pre as written ("" when absent)
    PreTokenizer pre = PreTokenizer::Default;  // BPE only

    std::vector<std::string> tokens;  // id -> text (byte-level mapped for BPE, with U+2581 for SPM)
    std::vector<float> scores;        // id -> score (SPM merge priority); empty = all 0
    std::vector<int32_t> types;       // id -> TokenType; empty = all normal
    std::vector<std::string> merges;  // BPE: "left right" (byte-level mapped text), rank = index

    // Special ids, kNoToken when absent. load_vocab applies the reference's defaults (SPM: bos 1, eos 2,
    // unk 0; BPE: bos = eos = 11) and drops ids outside the vocabulary.
    TokenId bos = kNoToken, eos = kNoToken, eot = kNoToken, eom = kNoToken, unk = kNoToken, sep = kNoToken,
            pad = kNoToken, mask = kNoToken;
    TokenId fim_pre = kNoToken, fim_suf = kNoToken, fim_mid = kNoToken, fim_pad = kNoToken, fim_rep = kNoToken,
            fim_sep = kNoToken;

    bool add_bos = false;           // tokenize(add_special) prepends bos
    bool add_eos = false;           // tokenize(add_special) appends eos
    bool add_space_prefix = false;  // SPM: a text fragment after BOS/special tokens gets a leading space
    bool ignore_merges = false;     // BPE (Llama 3): a word that is a token is emitted whole
    bool clean_spaces = false;      // detokenize: the reference's clean_up_tokenization_spaces pass
};

// Maps tokenizer.ggml.pre to the pre-tokenizer and the flags the reference sets with it (ignore_merges,
// clean_spaces, add_bos). Throws r1::Error(R1_ERR_UNSUPPORTED) for a name this build does not implement.
void apply_pre_tokenizer_name(Vocab& vocab, std::string_view pre_name);

// Reads the tokenizer.ggml.* keys. Throws r1::Error: R1_ERR_FORMAT for a missing or malformed key (naming
// it), R1_ERR_UNSUPPORTED for an unknown tokenizer model or pre-tokenizer name.
Vocab load_vocab(const gguf::File& file);

}  // namespace r1::tok
