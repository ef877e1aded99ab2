#include "word_cache.h"

#include <cstring>

namespace r1::tok {

uint64_t WordCache::hash_of(std::string_view word) {
    // 8 bytes at a time, multiply-xorshift mixing; words are short.
    const char* p = word.data();
    size_t n = word.size();
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
    while (n >= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        h = (h ^ v) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t v = 0;
        std::memcpy(&v, p, n);
        h = (h ^ v) * 0xC4CEB9FE1A85EC53ull;
    }
    h ^= h >> 29;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    return h;
}

const WordCache::TokenId* WordCache::find(std::string_view word, uint32_t* count) const {
    if (table_.empty() || word.empty()) return nullptr;
    const uint64_t h = hash_of(word);
    const auto tag = uint32_t(h >> 32);
    const size_t mask = table_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const Entry& e = table_[i];
        if (e.key_length == 0) return nullptr;
        if (e.hash == tag && e.key_length == word.size() &&
            std::memcmp(keys_.data() + e.key_offset, word.data(), word.size()) == 0) {
            *count = e.ids_count;
            return ids_.data() + e.ids_offset;
        }
    }
}

void WordCache::grow() {
    std::vector<Entry> old = std::move(table_);
    table_.assign(old.empty() ? 4096 : old.size() * 2, Entry{0, 0, 0, 0, 0});
    const size_t mask = table_.size() - 1;
    for (const Entry& e : old) {
        if (e.key_length == 0) continue;
        size_t i = hash_of(std::string_view(keys_.data() + e.key_offset, e.key_length)) & mask;
        while (table_[i].key_length != 0) i = (i + 1) & mask;
        table_[i] = e;
    }
}

void WordCache::insert(std::string_view word, const TokenId* ids, uint32_t count) {
    if (word.empty() || word.size() > kMaxWordBytes || count > UINT16_MAX) return;
    if (size_ >= kMaxEntries) clear();
    if ((size_ + 1) * 2 > table_.size()) grow();
    const uint64_t h = hash_of(word);
    const size_t mask = table_.size() - 1;
    size_t i = h & mask;
    while (table_[i].key_length != 0) i = (i + 1) & mask;
    table_[i] = Entry{uint32_t(h >> 32), uint32_t(keys_.size()), uint32_t(ids_.size()), uint16_t(word.size()),
                      uint16_t(count)};
    keys_.append(word.data(), word.size());
    ids_.insert(ids_.end(), ids, ids + count);
    ++size_;
}

void WordCache::clear() {
    table_.clear();
    keys_.clear();
    ids_.clear();
    size_ = 0;
}

}  // namespace r1::tok
