// libFuzzer target for the tokenizer: arbitrary bytes are tokenized with every vocabulary named in
// R1_FUZZ_VOCAB (GGUF paths separated by ':'), in all four add_special/parse_special combinations; the ids are
// detokenized and stream-decoded, and the bytes are also read as token ids and decoded. Any exception other
// than r1::Error, any sanitizer report, and any broken invariant (checked below) is a finding.
//
// Build and run (from the repository root):
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I. -Isrc tests/fuzz/fuzz_tokenizer.cpp
//       src/tokenizer/*.cpp src/gguf/gguf.cpp src/error.cpp src/log.cpp src/util/file_io.cpp src/dtype.cpp
//       -lxxhash -o fuzz_tokenizer
//   R1_FUZZ_VOCAB=../shared/fixtures/tokenizer/r1-distill-qwen.vocab.gguf:../shared/fixtures/models/stories260K.gguf
//       ./fuzz_tokenizer -max_total_time=60 -max_len=4096 tests/fuzz/corpus/tokenizer
// Without R1_FUZZ_VOCAB every input is skipped.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "error.h"
#include "gguf/gguf.h"
#include "tokenizer/decoder.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace {

std::vector<std::unique_ptr<r1::tok::Tokenizer>>& tokenizers() {
    static std::vector<std::unique_ptr<r1::tok::Tokenizer>> list;
    return list;
}

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz_tokenizer: invariant broken: %s\n", what);
        __builtin_trap();
    }
}

std::string lenient_normalized(const std::string& s) {
    std::string out;
    for (size_t pos = 0; pos < s.size();)
        r1::tok::utf8_append(out, r1::tok::utf8_decode_lenient(s.data(), s.size(), &pos));
    return out;
}

void decode_and_check(const r1::tok::Tokenizer& tok, const std::vector<int32_t>& ids) {
    for (int32_t id : ids) check(tok.valid(id), "tokenize produced an id outside the vocabulary");
    for (bool special : {false, true}) {
        const std::string whole = tok.detokenize(ids, {false, special, false});
        (void)tok.detokenize(ids, {true, special, true});
        r1::tok::StreamDecoder dec(tok, special);
        std::string streamed;
        for (int32_t id : ids) {
            const size_t before = streamed.size();
            dec.push(id, streamed);
            check(r1::tok::utf8_is_valid(std::string_view(streamed).substr(before)), "stream emitted broken UTF-8");
            check(dec.pending_bytes() < 4, "stream holds back more than 3 bytes");
        }
        dec.finish(streamed);
        check(streamed == r1::tok::utf8_sanitize(whole), "stream differs from the whole decode");
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const char* env = std::getenv("R1_FUZZ_VOCAB");
    if (!env || !*env) {
        std::fprintf(stderr, "fuzz_tokenizer: R1_FUZZ_VOCAB is not set: every input is skipped\n");
        return 0;
    }
    std::string paths = env;
    for (size_t start = 0; start <= paths.size();) {
        size_t end = paths.find(':', start);
        if (end == std::string::npos) end = paths.size();
        const std::string path = paths.substr(start, end - start);
        start = end + 1;
        if (path.empty()) continue;
        try {
            auto file = r1::gguf::File::open(path);
            tokenizers().push_back(std::make_unique<r1::tok::Tokenizer>(r1::tok::load_vocab(*file)));
        } catch (const r1::Error& e) {
            std::fprintf(stderr, "fuzz_tokenizer: cannot load %s: %s\n", path.c_str(), e.what());
            std::exit(1);
        }
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    r1::tok::TokenizerScratch scratch;
    for (const auto& tok : tokenizers()) {
        for (int flags = 0; flags < 4; ++flags) {
            const bool add_special = flags & 1, parse_special = flags & 2;
            std::vector<int32_t> ids;
            tok->tokenize(text, add_special, parse_special, ids, (flags & 1) ? &scratch : nullptr);
            decode_and_check(*tok, ids);
            // Byte-level BPE loses nothing: decoding gives the text back as the reference reads it (invalid
            // bytes as U+FFFD). Special tokens are only written when parsed, so render them then.
            if (tok->vocab().model == r1::tok::VocabModel::Bpe) {
                const std::string back = tok->detokenize(ids, {add_special, parse_special, false});
                check(back == lenient_normalized(text), "BPE round trip changed the text");
            }
        }
        // The bytes as token ids.
        std::vector<int32_t> ids;
        for (size_t i = 0; i + 4 <= size; i += 4) {
            uint32_t v = uint32_t(data[i]) | uint32_t(data[i + 1]) << 8 | uint32_t(data[i + 2]) << 16 |
                         uint32_t(data[i + 3]) << 24;
            ids.push_back(int32_t(v % tok->n_tokens()));
        }
        decode_and_check(*tok, ids);
    }
    return 0;
}
