// Tokenizer throughput: loads a vocabulary from a GGUF file, tokenizes a text N times on one thread and prints
// MB/s and the token count, checked against war-and-peace.tokens.json when that file describes the vocabulary
// and the text.
//
// Build (from the repository root):
//   g++ -std=c++17 -O2 -Isrc -I. tools/bench_tokenizer.cpp src/tokenizer/*.cpp src/gguf/gguf.cpp
//       src/error.cpp src/log.cpp src/util/file_io.cpp src/dtype.cpp -lxxhash -o bench_tokenizer
// Run:
//   ./bench_tokenizer [--vocab FILE.gguf] [--text FILE] [--runs N] [--expect FILE.json] [--parse-special]
// Defaults: ../shared/fixtures/tokenizer/r1-distill-qwen.vocab.gguf, ../shared/fixtures/text/war-and-peace.txt,
// 5 runs, ../shared/fixtures/tokenizer/war-and-peace.tokens.json. Every run starts with a cold word cache.
// Exit status: 0, or 1 when the token count differs from the expected one or an input cannot be read.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "error.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace {

bool read_all(const std::string& path, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    std::ostringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return true;
}

// Field `field` (a number) of the object named `vocab_name` in war-and-peace.tokens.json; -1 when absent.
long long expected_number(const std::string& json, const std::string& vocab_name, const std::string& field) {
    const size_t at = json.find("\"" + vocab_name + "\"");
    if (at == std::string::npos) return -1;
    const size_t key = json.find("\"" + field + "\"", at);
    if (key == std::string::npos) return -1;
    const size_t colon = json.find(':', key);
    return colon == std::string::npos ? -1 : std::atoll(json.c_str() + colon + 1);
}

std::string stem(const std::string& path) {
    size_t slash = path.find_last_of('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    for (const char* suffix : {".vocab.gguf", ".gguf"}) {
        const size_t n = std::strlen(suffix);
        if (name.size() > n && name.compare(name.size() - n, n, suffix) == 0) return name.substr(0, name.size() - n);
    }
    return name;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    std::string fixtures = "../shared/fixtures";
    if (const char* env = std::getenv("R1_FIXTURES_DIR")) fixtures = env;
    std::string vocab_path = fixtures + "/tokenizer/r1-distill-qwen.vocab.gguf";
    std::string text_path = fixtures + "/text/war-and-peace.txt";
    std::string expect_path = fixtures + "/tokenizer/war-and-peace.tokens.json";
    int runs = 5;
    bool parse_special = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "missing value after %s\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--vocab") {
            vocab_path = next();
        } else if (a == "--text") {
            text_path = next();
        } else if (a == "--runs") {
            runs = std::max(1, std::atoi(next().c_str()));
        } else if (a == "--expect") {
            expect_path = next();
        } else if (a == "--parse-special") {
            parse_special = true;
        } else {
            std::fprintf(stderr,
                         "usage: %s [--vocab FILE.gguf] [--text FILE] [--runs N] [--expect FILE.json] "
                         "[--parse-special]\n",
                         argv[0]);
            return 2;
        }
    }

    std::string text;
    if (!read_all(text_path, text)) {
        std::fprintf(stderr, "cannot read %s\n", text_path.c_str());
        return 1;
    }
    try {
        auto t0 = std::chrono::steady_clock::now();
        auto file = r1::gguf::File::open(vocab_path);
        r1::tok::Tokenizer tok(r1::tok::load_vocab(*file));
        std::printf("vocab     %s: %zu tokens, model %s, pre-tokenizer %s, loaded in %.0f ms\n", vocab_path.c_str(),
                    tok.n_tokens(), tok.vocab().model_name.c_str(),
                    tok.vocab().model == r1::tok::VocabModel::Bpe ? r1::tok::pre_tokenizer_name(tok.vocab().pre) : "-",
                    seconds_since(t0) * 1e3);
        std::printf("text      %s: %zu bytes\n", text_path.c_str(), text.size());

        double best = 1e30, total = 0;
        size_t n_tokens = 0;
        for (int r = 0; r < runs; ++r) {
            t0 = std::chrono::steady_clock::now();
            const std::vector<int32_t> ids = tok.tokenize(text, false, parse_special);
            const double s = seconds_since(t0);
            best = std::min(best, s);
            total += s;
            n_tokens = ids.size();
        }
        const double mb = double(text.size()) / 1e6;
        std::printf("tokens    %zu\n", n_tokens);
        std::printf("speed     %.1f MB/s best, %.1f MB/s mean over %d runs (%.1f ms best), one thread\n", mb / best,
                    mb * runs / total, runs, best * 1e3);

        std::string json;
        if (!parse_special && read_all(expect_path, json)) {
            // Only when the text is the one the file describes (same size).
            const long long expected = expected_number(json, stem(vocab_path), "n_tokens");
            const long long n_bytes = expected_number(json, stem(vocab_path), "n_bytes");
            if (expected >= 0 && n_bytes == (long long)text.size()) {
                const bool ok = size_t(expected) == n_tokens;
                std::printf("check     %s: expected %lld tokens (%s)\n", ok ? "OK" : "MISMATCH", expected,
                            expect_path.c_str());
                if (!ok) return 1;
            }
        }
    } catch (const r1::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
