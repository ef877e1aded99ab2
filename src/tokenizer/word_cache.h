// Cache of encoded words for byte-level BPE: word bytes -> token ids. Natural text repeats a few tens of
// thousands of distinct words, so most words are looked up rather than merged again.
// Open addressing over one array; keys and ids live in two growing arrays addressed by offset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1::tok {

class WordCache {
public:
    using TokenId = int32_t;

    // The ids cached for `word`, or nullptr; *count receives their number.
    const TokenId* find(std::string_view word, uint32_t* count) const;
    // Caches ids[0, count) for `word` (not already present). Starts over when the cache is full.
    void insert(std::string_view word, const TokenId* ids, uint32_t count);
    void clear();
    size_t size() const { return size_; }

    static constexpr size_t kMaxEntries = size_t(1) << 20;
    static constexpr size_t kMaxWordBytes = 128;  // longer words are not cached

private:
    struct Entry {  // 16 bytes, so that the table of a book's vocabulary stays in cache
        uint32_t hash;  // upper half of the 64-bit hash; the lower half picks the slot
        uint32_t key_offset;
        uint32_t ids_offset;
        uint16_t key_length;  // 0: free slot (words are never empty)
        uint16_t ids_count;
    };
    static uint64_t hash_of(std::string_view word);
    void grow();

    std::vector<Entry> table_;
    std::string keys_;
    std::vector<TokenId> ids_;
    size_t size_ = 0;
};

}  // namespace r1::tok
