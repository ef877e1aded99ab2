// SentencePiece-style BPE (tokenizer.ggml.model = llama), as the reference implements it: the text (spaces
// already written as U+2581) starts as one symbol per UTF-8 character; the adjacent pair whose concatenation is
// the token with the highest score merges first (leftmost on a tie) until no pair forms a token; a final
// symbol that is not a token is written as byte tokens <0xNN>.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace r1::tok {

using TokenId = int32_t;

struct SpmScratch {
    struct Symbol {
        uint32_t start, len;  // bytes of the text; len 0 once merged into its left neighbour
        int32_t prev, next;
    };
    struct Candidate {
        float score;
        int32_t left, right;
        uint32_t size;  // bytes of the merged text when queued
    };
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
};

class SpmModel {
public:
    // text_to_id and scores are owned by the caller and must outlive the model. byte_tokens[b]: the token for
    // byte b (<0xNN>, else the one-byte token), -1 when the vocabulary has neither; unk: used then, if valid.
    void build(const std::unordered_map<std::string_view, TokenId>* text_to_id, const std::vector<float>* scores,
               const TokenId byte_tokens[256], TokenId unk);

    // Appends the ids of `text` (already escaped) to out.
    void encode(std::string_view text, SpmScratch& scratch, std::vector<TokenId>& out) const;

private:
    void push_candidate(std::string_view text, SpmScratch& s, int32_t left, int32_t right) const;

    const std::unordered_map<std::string_view, TokenId>* text_to_id_ = nullptr;
    const std::vector<float>* scores_ = nullptr;
    TokenId byte_tokens_[256] = {};
    TokenId unk_ = -1;
};

}  // namespace r1::tok
