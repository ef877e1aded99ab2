#include "spm.h"

#include <algorithm>

#include "unicode.h"

namespace r1::tok {

namespace {

// Max-heap order on (score, -left): the highest score first, the leftmost on a tie.
struct CandidateBefore {
    bool operator()(const SpmScratch::Candidate& a, const SpmScratch::Candidate& b) const {
        return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
};

}  // namespace

void SpmModel::build(const std::unordered_map<std::string_view, TokenId>* text_to_id,
                     const std::vector<float>* scores, const TokenId byte_tokens[256], TokenId unk) {
    text_to_id_ = text_to_id;
    scores_ = scores;
    std::copy(byte_tokens, byte_tokens + 256, byte_tokens_);
    unk_ = unk;
}

void SpmModel::push_candidate(std::string_view text, SpmScratch& s, int32_t left, int32_t right) const {
    if (left < 0 || right < 0) return;
    const SpmScratch::Symbol& a = s.symbols[size_t(left)];
    const SpmScratch::Symbol& b = s.symbols[size_t(right)];
    const uint32_t size = a.len + b.len;  // the two symbols are adjacent in the text
    auto it = text_to_id_->find(text.substr(a.start, size));
    if (it == text_to_id_->end()) return;
    s.heap.push_back(SpmScratch::Candidate{(*scores_)[size_t(it->second)], left, right, size});
    std::push_heap(s.heap.begin(), s.heap.end(), CandidateBefore{});
}

void SpmModel::encode(std::string_view text, SpmScratch& s, std::vector<TokenId>& out) const {
    s.symbols.clear();
    s.heap.clear();
    for (size_t offs = 0; offs < text.size();) {
        const size_t len =
            std::min(utf8_len_from_lead(static_cast<unsigned char>(text[offs])), text.size() - offs);
        const int32_t index = int32_t(s.symbols.size());
        offs += len;
        s.symbols.push_back(SpmScratch::Symbol{uint32_t(offs - len), uint32_t(len), index - 1,
                                               offs == text.size() ? -1 : index + 1});
    }
    for (size_t i = 1; i < s.symbols.size(); ++i) push_candidate(text, s, int32_t(i - 1), int32_t(i));

    while (!s.heap.empty()) {
        std::pop_heap(s.heap.begin(), s.heap.end(), CandidateBefore{});
        const SpmScratch::Candidate c = s.heap.back();
        s.heap.pop_back();
        SpmScratch::Symbol& a = s.symbols[size_t(c.left)];
        SpmScratch::Symbol& b = s.symbols[size_t(c.right)];
        if (a.len == 0 || b.len == 0 || a.len + b.len != c.size) continue;  // one side changed: stale
        a.len += b.len;
        b.len = 0;
        a.next = b.next;
        if (b.next >= 0) s.symbols[size_t(b.next)].prev = c.left;
        push_candidate(text, s, a.prev, c.left);
        push_candidate(text, s, c.left, a.next);
    }

    if (s.symbols.empty()) return;
    for (int32_t i = 0; i >= 0; i = s.symbols[size_t(i)].next) {
        const SpmScratch::Symbol& sym = s.symbols[size_t(i)];
        auto it = text_to_id_->find(text.substr(sym.start, sym.len));
        if (it != text_to_id_->end()) {
            out.push_back(it->second);
            continue;
        }
        for (uint32_t k = 0; k < sym.len; ++k) {
            const TokenId t = byte_tokens_[static_cast<unsigned char>(text[sym.start + k])];
            if (t >= 0) {
                out.push_back(t);
            } else if (unk_ >= 0) {
                out.push_back(unk_);
            }
        }
    }
}

}  // namespace r1::tok
