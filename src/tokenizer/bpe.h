// Byte-level BPE (tokenizer.ggml.model = gpt2): the merge table and the encoder of one pre-tokenized word.
//
// Token texts and merges are written in GPT-2's byte-to-code-point mapping; internally everything is raw bytes:
// a word starts as one symbol per byte, and adjacent symbols merge by rank (lowest first, leftmost first on a
// tie) while a merge exists. Symbols are ids: vocabulary ids, plus "virtual" ids for strings that a merge
// names but the vocabulary lacks, so the merge table is a hash map keyed by a pair of ids.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace r1::tok {

using TokenId = int32_t;

struct BpeScratch {
    struct Symbol {
        int32_t id;      // symbol id (>= n_tokens: virtual), -1: a byte without a symbol
        uint32_t start;  // first byte in the word
        uint32_t len;    // bytes; 0 once merged into its left neighbour
        int32_t prev, next;
    };
    struct Candidate {
        int32_t rank;
        int32_t left;    // symbol index
        int32_t result;  // symbol id after the merge
        uint32_t left_len, right_len;  // sizes when queued: a candidate is stale once either side has grown
    };
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;

    // Recent merge-table lookups (hits and misses), direct-mapped: the pairs of a text repeat across its
    // distinct words, and the table itself is megabytes of random access. Valid for one model only.
    struct PairLookup {
        uint64_t key;  // left << 32 | right; ~0: empty
        int32_t rank;  // -1: no merge
        int32_t result;
    };
    std::vector<PairLookup> pair_cache;
    void clear() { pair_cache.clear(); }
};

class BpeModel {
public:
    BpeModel() = default;
    BpeModel(const BpeModel&) = delete;  // raw_to_id_ holds views into raw_arena_
    BpeModel& operator=(const BpeModel&) = delete;

    // tokens: byte-level texts by id; text_to_id: lookup over them; merges: "left right" by rank.
    void build(const std::vector<std::string>& tokens,
               const std::unordered_map<std::string_view, TokenId>& text_to_id,
               const std::vector<std::string>& merges, bool ignore_merges);

    // Appends the ids of one word (raw UTF-8 bytes, non-empty) to out.
    void encode_word(std::string_view word, BpeScratch& scratch, std::vector<TokenId>& out) const;

    size_t n_merges() const { return n_merges_; }
    size_t n_virtual() const { return n_virtual_; }

private:
    struct Slot {
        uint64_t key;  // left << 32 | right; kEmptyKey when free
        int32_t rank;
        int32_t result;
    };
    static constexpr uint64_t kEmptyKey = ~uint64_t(0);

    const Slot* find_merge(int32_t left, int32_t right) const;
    void insert_merge(int32_t left, int32_t right, int32_t rank, int32_t result);
    void push_candidate(std::string_view word, BpeScratch& s, int32_t left) const;
    void emit_symbol(std::string_view word, const BpeScratch::Symbol& sym, std::vector<TokenId>& out) const;

    struct PairMerge {
        int32_t rank;  // -1: no merge
        int32_t result;
    };
    std::vector<PairMerge> byte_pairs_;  // [first byte << 8 | second byte]: the merge table for two single bytes
    std::vector<Slot> slots_;
    uint64_t mask_ = 0;
    size_t n_merges_ = 0;
    size_t n_virtual_ = 0;
    int32_t n_tokens_ = 0;
    bool ignore_merges_ = false;
    int32_t byte_symbol_[256] = {};       // the symbol of each single byte, -1 if none
    TokenId byte_fallback_[256][2] = {};  // tokens for a byte of a symbol that is not a token (-1: none)
    std::vector<char> raw_arena_;                              // raw bytes of the tokens below
    std::unordered_map<std::string_view, TokenId> raw_to_id_;  // ignore_merges: raw bytes of a token -> id
};

}  // namespace r1::tok
