#include "bpe.h"

#include <algorithm>

#include "unicode.h"

namespace r1::tok {

namespace {

// Raw bytes of a byte-level token text; false when a code point is not the image of a byte (such a token,
// e.g. "<｜User｜>", can never be the result of encoding bytes).
bool unmap_bytes(std::string_view text, std::string& out) {
    out.clear();
    size_t pos = 0;
    while (pos < text.size()) {
        const int b = gpt2_cpt_to_byte(utf8_decode_lenient(text.data(), text.size(), &pos));
        if (b < 0) return false;
        out.push_back(char(b));
    }
    return true;
}

std::string map_bytes(std::string_view raw) {
    std::string out;
    for (unsigned char c : raw) utf8_append(out, gpt2_byte_to_cpt(c));
    return out;
}

inline uint64_t pair_key(int32_t left, int32_t right) { return (uint64_t(uint32_t(left)) << 32) | uint32_t(right); }

inline uint64_t hash_key(uint64_t key) {
    key ^= key >> 33;
    key *= 0xFF51AFD7ED558CCDull;
    key ^= key >> 33;
    return key;
}

// Min-heap order on (rank, left index): the reference merges the lowest rank first, the leftmost on a tie.
struct CandidateAfter {
    bool operator()(const BpeScratch::Candidate& a, const BpeScratch::Candidate& b) const {
        return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    }
};

}  // namespace

void BpeModel::build(const std::vector<std::string>& tokens,
                     const std::unordered_map<std::string_view, TokenId>& text_to_id,
                     const std::vector<std::string>& merges, bool ignore_merges) {
    n_tokens_ = int32_t(tokens.size());
    ignore_merges_ = ignore_merges;

    // Symbol ids of merge operands and results; strings outside the vocabulary get virtual ids.
    std::unordered_map<std::string, int32_t> virtual_ids;
    auto symbol_id = [&](const std::string& text) -> int32_t {
        auto it = text_to_id.find(text);
        if (it != text_to_id.end()) return it->second;
        auto [vit, inserted] = virtual_ids.emplace(text, n_tokens_ + int32_t(virtual_ids.size()));
        (void)inserted;
        return vit->second;
    };

    size_t capacity = 16;
    while (capacity * 3 < merges.size() * 4) capacity *= 2;  // load factor <= 0.75
    slots_.assign(capacity, Slot{kEmptyKey, 0, 0});
    mask_ = capacity - 1;
    n_merges_ = 0;

    std::string left, right;
    for (size_t rank = 0; rank < merges.size() && rank < size_t(INT32_MAX); ++rank) {
        const std::string& m = merges[rank];
        // The reference splits at the first space after the first byte; a merge without one never applies.
        const size_t space = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
        if (space == std::string::npos) continue;
        left.assign(m, 0, space);
        right.assign(m, space + 1, std::string::npos);
        if (right.empty()) continue;
        const int32_t l = symbol_id(left);
        const int32_t r = symbol_id(right);
        const int32_t result = symbol_id(left + right);
        if (!find_merge(l, r)) insert_merge(l, r, int32_t(rank), result);  // the first rank of a pair wins
    }
    n_virtual_ = virtual_ids.size();

    std::string raw;
    for (int b = 0; b < 256; ++b) {
        const std::string mapped = map_bytes(std::string(1, char(b)));
        auto it = text_to_id.find(mapped);
        if (it != text_to_id.end()) {
            byte_symbol_[b] = it->second;
        } else {
            auto vit = virtual_ids.find(mapped);
            byte_symbol_[b] = vit != virtual_ids.end() ? vit->second : -1;
        }
        // A symbol that is not a token is written byte by byte of its mapped text, each byte looked up as a
        // one-byte token (only printable ASCII can match): the reference's fallback.
        for (size_t k = 0; k < 2; ++k) {
            byte_fallback_[b][k] = -1;
            if (k < mapped.size()) {
                auto fit = text_to_id.find(std::string_view(&mapped[k], 1));
                if (fit != text_to_id.end()) byte_fallback_[b][k] = fit->second;
            }
        }
    }

    // Most candidates are two single bytes: a direct table for them keeps the hash map out of the hot path.
    byte_pairs_.assign(65536, PairMerge{-1, 0});
    for (int a = 0; a < 256; ++a) {
        if (byte_symbol_[a] < 0) continue;
        for (int b = 0; b < 256; ++b) {
            if (byte_symbol_[b] < 0) continue;
            if (const Slot* m = find_merge(byte_symbol_[a], byte_symbol_[b]))
                byte_pairs_[size_t(a << 8 | b)] = PairMerge{m->rank, m->result};
        }
    }

    raw_to_id_.clear();
    raw_arena_.clear();
    if (ignore_merges_) {
        std::vector<std::pair<size_t, size_t>> spans(tokens.size(), {0, SIZE_MAX});
        for (size_t id = 0; id < tokens.size(); ++id) {
            if (!unmap_bytes(tokens[id], raw)) continue;
            spans[id] = {raw_arena_.size(), raw.size()};
            raw_arena_.insert(raw_arena_.end(), raw.begin(), raw.end());
        }
        raw_to_id_.reserve(tokens.size());
        for (size_t id = 0; id < tokens.size(); ++id) {
            if (spans[id].second == SIZE_MAX) continue;
            raw_to_id_.emplace(std::string_view(raw_arena_.data() + spans[id].first, spans[id].second), TokenId(id));
        }
    }
}

const BpeModel::Slot* BpeModel::find_merge(int32_t left, int32_t right) const {
    const uint64_t key = pair_key(left, right);
    for (uint64_t i = hash_key(key) & mask_;; i = (i + 1) & mask_) {
        const Slot& s = slots_[i];
        if (s.key == key) return &s;
        if (s.key == kEmptyKey) return nullptr;
    }
}

void BpeModel::insert_merge(int32_t left, int32_t right, int32_t rank, int32_t result) {
    const uint64_t key = pair_key(left, right);
    uint64_t i = hash_key(key) & mask_;
    while (slots_[i].key != kEmptyKey) i = (i + 1) & mask_;
    slots_[i] = Slot{key, rank, result};
    ++n_merges_;
}

void BpeModel::push_candidate(std::string_view word, BpeScratch& s, int32_t left) const {
    if (left < 0) return;
    const BpeScratch::Symbol& a = s.symbols[size_t(left)];
    if (a.next < 0) return;
    const BpeScratch::Symbol& b = s.symbols[size_t(a.next)];
    if (a.id < 0 || b.id < 0) return;
    int32_t rank, result;
    if (a.len == 1 && b.len == 1) {
        const PairMerge& m = byte_pairs_[size_t(static_cast<unsigned char>(word[a.start])) << 8 |
                                         static_cast<unsigned char>(word[b.start])];
        if (m.rank < 0) return;
        rank = m.rank;
        result = m.result;
    } else {
        constexpr size_t kPairCacheSize = 8192;
        if (s.pair_cache.size() != kPairCacheSize) s.pair_cache.assign(kPairCacheSize, {kEmptyKey, -1, 0});
        const uint64_t key = pair_key(a.id, b.id);
        BpeScratch::PairLookup& e = s.pair_cache[hash_key(key) & (kPairCacheSize - 1)];
        if (e.key != key) {
            const Slot* m = find_merge(a.id, b.id);
            e = BpeScratch::PairLookup{key, m ? m->rank : -1, m ? m->result : 0};
        }
        if (e.rank < 0) return;
        rank = e.rank;
        result = e.result;
    }
    s.heap.push_back(BpeScratch::Candidate{rank, left, result, a.len, b.len});
    std::push_heap(s.heap.begin(), s.heap.end(), CandidateAfter{});
}

void BpeModel::emit_symbol(std::string_view word, const BpeScratch::Symbol& sym, std::vector<TokenId>& out) const {
    if (sym.id >= 0 && sym.id < n_tokens_) {
        out.push_back(sym.id);
        return;
    }
    for (uint32_t i = 0; i < sym.len; ++i) {
        const auto b = static_cast<unsigned char>(word[sym.start + i]);
        for (TokenId t : byte_fallback_[b])
            if (t >= 0) out.push_back(t);
    }
}

void BpeModel::encode_word(std::string_view word, BpeScratch& s, std::vector<TokenId>& out) const {
    if (word.empty()) return;
    if (word.size() == 1) {
        const BpeScratch::Symbol sym{byte_symbol_[static_cast<unsigned char>(word[0])], 0, 1, -1, -1};
        emit_symbol(word, sym, out);
        return;
    }
    if (ignore_merges_) {
        auto it = raw_to_id_.find(word);
        if (it != raw_to_id_.end()) {
            out.push_back(it->second);
            return;
        }
    }
    const size_t n = word.size();
    s.symbols.resize(n);
    for (size_t i = 0; i < n; ++i) {
        s.symbols[i] = BpeScratch::Symbol{byte_symbol_[static_cast<unsigned char>(word[i])], uint32_t(i), 1,
                                          int32_t(i) - 1, i + 1 < n ? int32_t(i + 1) : -1};
    }
    s.heap.clear();
    for (size_t i = 0; i + 1 < n; ++i) push_candidate(word, s, int32_t(i));

    while (!s.heap.empty()) {
        std::pop_heap(s.heap.begin(), s.heap.end(), CandidateAfter{});
        const BpeScratch::Candidate c = s.heap.back();
        s.heap.pop_back();
        BpeScratch::Symbol& a = s.symbols[size_t(c.left)];
        // Stale when either side changed since the candidate was queued (symbols only grow).
        if (a.len != c.left_len || a.next < 0) continue;
        BpeScratch::Symbol& b = s.symbols[size_t(a.next)];
        if (b.len != c.right_len) continue;
        a.id = c.result;
        a.len += b.len;
        b.len = 0;
        a.next = b.next;
        if (a.next >= 0) s.symbols[size_t(a.next)].prev = c.left;
        push_candidate(word, s, a.prev);
        push_candidate(word, s, c.left);
    }
    for (int32_t i = 0; i >= 0; i = s.symbols[size_t(i)].next) emit_symbol(word, s.symbols[size_t(i)], out);
}

}  // namespace r1::tok
