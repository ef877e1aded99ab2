// Tokenizer tests: Unicode tables, UTF-8 handling, pre-tokenizers and BPE/SPM on hand-made vocabularies,
// then the golden data of ../shared/fixtures/tokenizer (llama.cpp's ids for every case), property tests on
// fresh random strings, the streaming decoder and error handling.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "error.h"
#include "gguf/gguf.h"
#include "gguf_builder.h"
#include "test_util.h"
#include "tokenizer/decoder.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

using namespace r1::tok;

namespace {

// ------------------------------------------------------------------------------------------------ helpers

// A small JSON reader for the fixture files (objects, arrays, strings with \u escapes, numbers, literals).
struct Json {
    enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
    bool b = false;
    double num = 0;
    std::string str;
    std::vector<Json> items;
    std::map<std::string, Json> fields;

    const Json& operator[](const std::string& k) const {
        static const Json none;
        auto it = fields.find(k);
        return it == fields.end() ? none : it->second;
    }
    bool has(const std::string& k) const { return fields.count(k) != 0; }
    int64_t i64() const { return int64_t(num); }
    std::vector<TokenId> ids() const {
        std::vector<TokenId> out;
        for (const Json& j : items) out.push_back(TokenId(j.num));
        return out;
    }
};

class JsonParser {
public:
    explicit JsonParser(const std::string& s) : s_(s) {}
    Json parse() {
        Json v = value();
        ws();
        return v;
    }
    bool ok() const { return ok_; }

private:
    void ws() {
        while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\r' || s_[p_] == '\t')) ++p_;
    }
    bool eat(char c) {
        ws();
        if (p_ < s_.size() && s_[p_] == c) {
            ++p_;
            return true;
        }
        return false;
    }
    unsigned hex4() {
        unsigned v = 0;
        for (int i = 0; i < 4 && p_ < s_.size(); ++i) {
            const char c = s_[p_++];
            v = v * 16 + unsigned(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        return v;
    }
    std::string string_body() {
        std::string out;
        while (p_ < s_.size() && s_[p_] != '"') {
            char c = s_[p_++];
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            c = s_[p_++];
            switch (c) {
                case 'n': out.push_back('\n'); break;
                case 't': out.push_back('\t'); break;
                case 'r': out.push_back('\r'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'u': {
                    uint32_t cpt = hex4();
                    if (cpt >= 0xD800 && cpt < 0xDC00 && p_ + 1 < s_.size() && s_[p_] == '\\' && s_[p_ + 1] == 'u') {
                        p_ += 2;
                        const uint32_t lo = hex4();
                        cpt = 0x10000 + ((cpt - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    utf8_append(out, cpt);
                    break;
                }
                default: out.push_back(c);
            }
        }
        ++p_;
        return out;
    }
    Json value() {
        ws();
        Json v;
        if (p_ >= s_.size()) {
            ok_ = false;
            return v;
        }
        const char c = s_[p_];
        if (c == '{') {
            ++p_;
            v.kind = Json::Object;
            if (eat('}')) return v;
            do {
                ws();
                ++p_;  // opening quote
                std::string key = string_body();
                eat(':');
                v.fields[key] = value();
            } while (eat(','));
            if (!eat('}')) ok_ = false;
        } else if (c == '[') {
            ++p_;
            v.kind = Json::Array;
            if (eat(']')) return v;
            do v.items.push_back(value());
            while (eat(','));
            if (!eat(']')) ok_ = false;
        } else if (c == '"') {
            ++p_;
            v.kind = Json::String;
            v.str = string_body();
        } else if (s_.compare(p_, 4, "true") == 0 || s_.compare(p_, 5, "false") == 0) {
            v.kind = Json::Bool;
            v.b = s_[p_] == 't';
            p_ += v.b ? 4 : 5;
        } else if (s_.compare(p_, 4, "null") == 0) {
            p_ += 4;
        } else {
            v.kind = Json::Number;
            size_t used = 0;
            v.num = std::stod(s_.substr(p_, 32), &used);
            p_ += used;
        }
        return v;
    }
    const std::string& s_;
    size_t p_ = 0;
    bool ok_ = true;
};

bool read_text(const std::string& path, std::string& out) {
    std::vector<unsigned char> bytes;
    if (!r1test::read_file(path, bytes)) return false;
    out.assign(bytes.begin(), bytes.end());
    return true;
}

Json read_json(const std::string& path) {
    std::string text;
    REQUIRE_MESSAGE(read_text(path, text), "cannot read " << path);
    JsonParser p(text);
    Json j = p.parse();
    REQUIRE_MESSAGE(p.ok(), "malformed JSON in " << path);
    return j;
}

// SHA-256 (FIPS 180-4), for the checksum of the War and Peace ids.
std::string sha256_hex(const std::vector<uint8_t>& data) {
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::vector<uint8_t> m = data;
    const uint64_t bits = uint64_t(data.size()) * 8;
    m.push_back(0x80);
    while (m.size() % 64 != 56) m.push_back(0);
    for (int i = 7; i >= 0; --i) m.push_back(uint8_t(bits >> (i * 8)));
    auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
    for (size_t off = 0; off < m.size(); off += 64) {
        uint32_t w[64];
        for (int i = 0; i < 16; ++i)
            w[i] = uint32_t(m[off + 4 * i]) << 24 | uint32_t(m[off + 4 * i + 1]) << 16 |
                   uint32_t(m[off + 4 * i + 2]) << 8 | m[off + 4 * i + 3];
        for (int i = 16; i < 64; ++i) {
            const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; ++i) {
            const uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
            const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
    }
    char hex[65];
    for (int i = 0; i < 8; ++i) std::snprintf(hex + 8 * i, 9, "%08x", h[i]);
    return std::string(hex, 64);
}

std::string ids_text(const std::vector<TokenId>& ids, size_t limit = 64) {
    std::string s = "[";
    for (size_t i = 0; i < ids.size() && i < limit; ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
    if (ids.size() > limit) s += ", ... (" + std::to_string(ids.size()) + " ids)";
    return s + "]";
}

std::string escaped(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out.push_back(char(c));
        }
    }
    return out;
}

// The fixture vocabularies, loaded once per process.
const Tokenizer* fixture_tokenizer(const std::string& dir, const std::string& name) {
    static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
    auto it = cache.find(name);
    if (it != cache.end()) return it->second.get();
    const std::string path = name == "stories260K" ? dir + "/models/stories260K.gguf"
                                                   : dir + "/tokenizer/" + name + ".vocab.gguf";
    auto file = r1::gguf::File::open(path);
    auto tok = std::make_unique<Tokenizer>(load_vocab(*file));
    return (cache[name] = std::move(tok)).get();
}

// The text as the reference sees it: decoded leniently (invalid bytes -> U+FFFD) and encoded again.
std::string lenient_normalized(const std::string& s) {
    std::string out;
    for (size_t pos = 0; pos < s.size();) utf8_append(out, utf8_decode_lenient(s.data(), s.size(), &pos));
    return out;
}

// Random valid UTF-8 built from a mix of scripts, whitespace, digits, punctuation and special-token texts.
std::string random_utf8(std::mt19937_64& rng, size_t max_units) {
    static const char* const kSnippets[] = {"<think>", "</think>", "<｜User｜>", "<｜Assistant｜>", "'s", "'LL",
                                            "</s>", "\r\n", "  ", "\u00A0", "\u3000", "123456", "e\u0301",
                                            "\U0001F468\u200D\U0001F469", "<tool_call>"};
    std::uniform_int_distribution<size_t> len_dist(0, max_units);
    std::string s;
    const size_t n = len_dist(rng);
    for (size_t i = 0; i < n; ++i) {
        uint32_t cpt = 0;
        switch (rng() % 12) {
            case 0: case 1: case 2: cpt = uint32_t(0x20 + rng() % 0x5F); break;  // printable ASCII
            case 3: cpt = " \n\t\r\v\f"[rng() % 6]; break;
            case 4: cpt = uint32_t(0xA0 + rng() % 0x1B0); break;                  // Latin-1, Latin Extended
            case 5: cpt = uint32_t(0x370 + rng() % 0x190); break;                 // Greek, Cyrillic
            case 6: cpt = uint32_t(0x4E00 + rng() % 0x5200); break;               // CJK
            case 7: cpt = uint32_t(0x1F300 + rng() % 0x800); break;               // emoji
            case 8: cpt = uint32_t(0x300 + rng() % 0x70); break;                  // combining marks
            case 9:
                do cpt = uint32_t(rng() % 0x110000);
                while (cpt >= 0xD800 && cpt < 0xE000);
                break;
            case 10: cpt = uint32_t('0' + rng() % 10); break;
            default: s += kSnippets[rng() % (sizeof kSnippets / sizeof kSnippets[0])]; continue;
        }
        utf8_append(s, cpt);
    }
    return s;
}

std::string random_bytes(std::mt19937_64& rng, size_t max_len) {
    std::string s(rng() % (max_len + 1), '\0');
    for (char& c : s) {
        const uint64_t r = rng();
        c = (r % 4 == 0) ? char("a <'\n\xC3\xA9\xE2\x82\xAC\xF0\x9F"[r / 4 % 13]) : char(r >> 8);
    }
    return s;
}

uint64_t fresh_seed() {
    std::random_device rd;
    return (uint64_t(rd()) << 32) ^ rd();
}

// A byte-level BPE vocabulary from raw-byte token texts and raw-byte merges (both written through the GPT-2
// mapping here, as a converter would).
std::string mapped(const std::string& raw) {
    std::string out;
    for (unsigned char c : raw) utf8_append(out, gpt2_byte_to_cpt(c));
    return out;
}

Vocab small_bpe_vocab(PreTokenizer pre, const std::vector<std::string>& extra_tokens,
                      const std::vector<std::pair<std::string, std::string>>& merges) {
    Vocab v;
    v.model = VocabModel::Bpe;
    v.model_name = "gpt2";
    v.pre = pre;
    for (int b = 0; b < 256; ++b) v.tokens.push_back(mapped(std::string(1, char(b))));
    for (const std::string& t : extra_tokens) v.tokens.push_back(mapped(t));
    for (const auto& m : merges) v.merges.push_back(mapped(m.first) + " " + mapped(m.second));
    return v;
}

}  // namespace

// ================================================================================================ Unicode

TEST_CASE("unicode tables: well-formed and consistent with the ASCII fast path") {
    MESSAGE("Unicode tables: version " << kUnicodeVersion << ", " << kUnicodeRangeCount << " ranges");
    REQUIRE(kUnicodeRangeCount > 1000);
    CHECK(kUnicodeRanges[0].first == 0);
    for (size_t i = 1; i < kUnicodeRangeCount; ++i) {
        REQUIRE(kUnicodeRanges[i].first > kUnicodeRanges[i - 1].first);
        REQUIRE(kUnicodeRanges[i].flags != kUnicodeRanges[i - 1].flags);
    }
    size_t r = 0;
    for (uint32_t c = 0; c < 128; ++c) {
        while (r + 1 < kUnicodeRangeCount && kUnicodeRanges[r + 1].first <= c) ++r;
        CHECK_MESSAGE(unicode_flags(c) == kUnicodeRanges[r].flags, "U+" << std::hex << c);
    }
    auto cls = [](uint32_t c) { return unicode_flags(c) & kClassMask; };
    auto ws = [](uint32_t c) { return (unicode_flags(c) & kFlagWhitespace) != 0; };
    CHECK(cls('A') == kClassLetter);
    CHECK(cls('7') == kClassNumber);
    CHECK(cls('$') == kClassSymbol);
    CHECK(cls('_') == kClassPunctuation);
    CHECK(cls(0x00E9) == kClassLetter);     // é
    CHECK(cls(0x0301) == kClassMark);       // combining acute
    CHECK(cls(0x0661) == kClassNumber);     // Arabic-Indic one
    CHECK(cls(0x2167) == kClassNumber);     // Roman numeral eight (Nl)
    CHECK(cls(0x4E2D) == kClassLetter);     // 中
    CHECK(cls(0x1F600) == kClassSymbol);    // 😀
    CHECK(cls(0xE000) == kClassControl);    // private use
    CHECK(cls(0xFFFF) == kClassUndefined);  // noncharacter
    CHECK(cls(0x2EBF0) == kClassLetter);    // CJK Extension I (Unicode 15.1)
    CHECK(cls(0x31EF) == kClassSymbol);     // Unicode 15.1
    CHECK(cls(0x10FFFF) == kClassUndefined);
    CHECK(cls(0x110000) == kClassUndefined);
    for (uint32_t c : {0x09u, 0x0Au, 0x0Bu, 0x0Cu, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u, 0x200Au, 0x2028u,
                       0x2029u, 0x202Fu, 0x205Fu, 0x3000u})
        CHECK_MESSAGE(ws(c), "U+" << std::hex << c);
    for (uint32_t c : {0x1Cu, 0x1Fu, 0x200Bu, 0x180Eu, 0xFEFFu, 0x41u}) CHECK_MESSAGE(!ws(c), "U+" << std::hex << c);
}

TEST_CASE("utf8: lenient decoding as the reference does it") {
    auto decode = [](const std::string& s) {
        std::vector<uint32_t> out;
        for (size_t pos = 0; pos < s.size();) out.push_back(utf8_decode_lenient(s.data(), s.size(), &pos));
        return out;
    };
    CHECK(decode("a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80") == std::vector<uint32_t>{'a', 0xE9, 0x4E2D, 0x1F600});
    CHECK(decode("\x80") == std::vector<uint32_t>{0xFFFD});                    // stray continuation
    CHECK(decode("\xC3") == std::vector<uint32_t>{0xFFFD});                    // truncated
    CHECK(decode("\xE4\xB8") == std::vector<uint32_t>{0xFFFD, 0xFFFD});        // truncated, byte by byte
    CHECK(decode("\xC3(") == std::vector<uint32_t>{0xFFFD, '('});              // bad continuation
    CHECK(decode("\xC0\x80") == std::vector<uint32_t>{0});                     // overlong: kept, like the reference
    CHECK(decode("\xED\xA0\x80") == std::vector<uint32_t>{0xD800});            // surrogate: kept
    CHECK(decode("\xF4\x90\x80\x80") == std::vector<uint32_t>{0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD});  // > U+10FFFF
    CHECK(decode("\xF8\x88\x80\x80\x80").size() == 5);
    CHECK(lenient_normalized("\xC1\x81") == "A");
}

TEST_CASE("utf8: sanitizing replaces each maximal ill-formed subpart") {
    CHECK(utf8_sanitize("ok \xC3\xA9") == "ok \xC3\xA9");
    CHECK(utf8_sanitize("\x80") == "\xEF\xBF\xBD");
    CHECK(utf8_sanitize("\xE4\xB8") == "\xEF\xBF\xBD");                 // one subpart
    CHECK(utf8_sanitize("\xE4\xB8x") == "\xEF\xBF\xBDx");
    CHECK(utf8_sanitize("\xC0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD");     // overlong: C0 never starts a sequence
    CHECK(utf8_sanitize("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    CHECK(utf8_sanitize("\xF0\x9F\x98") == "\xEF\xBF\xBD");
    std::string out;
    CHECK(utf8_sanitize_append(out, "ab\xF0\x9F\x98", false) == 2);  // incomplete tail held back
    CHECK(out == "ab");
    CHECK(utf8_is_valid("\xF0\x9F\x98\x80"));
    CHECK(!utf8_is_valid("\xF0\x9F\x98"));
}

TEST_CASE("gpt2 byte mapping is a bijection onto printable code points") {
    std::set<uint32_t> seen;
    for (int b = 0; b < 256; ++b) {
        const uint32_t c = gpt2_byte_to_cpt(uint8_t(b));
        CHECK(gpt2_cpt_to_byte(c) == b);
        seen.insert(c);
    }
    CHECK(seen.size() == 256);
    CHECK(gpt2_byte_to_cpt(' ') == 0x120);   // Ġ
    CHECK(gpt2_byte_to_cpt('\n') == 0x10A);  // Ċ
    CHECK(gpt2_byte_to_cpt('A') == 'A');
    CHECK(gpt2_byte_to_cpt(0xAD) == 0x143);
    CHECK(gpt2_cpt_to_byte(0x144) == -1);
}

// ================================================================================================ pre-tokenizers

TEST_CASE("pre-tokenizers split like the reference regexes") {
    using W = std::vector<std::string>;
    auto q = [](const std::string& s) { return pre_tokenize_words(PreTokenizer::Qwen2, s); };
    auto l = [](const std::string& s) { return pre_tokenize_words(PreTokenizer::Llama3, s); };
    auto g = [](const std::string& s) { return pre_tokenize_words(PreTokenizer::Gpt2, s); };
    auto d = [](const std::string& s) { return pre_tokenize_words(PreTokenizer::Default, s); };

    CHECK(q("Hello world") == W{"Hello", " world"});
    CHECK(q("12345") == W{"1", "2", "3", "4", "5"});
    CHECK(l("12345") == W{"123", "45"});
    CHECK(q("I'VE you're") == W{"I", "'VE", " you", "'re"});
    CHECK(l("'said") == W{"'s", "aid"});
    CHECK(q("   a") == W{"  ", " a"});
    CHECK(q("a   ") == W{"a", "   "});
    CHECK(q("\t\tb") == W{"\t", "\tb"});
    CHECK(q("x \n\n  y") == W{"x", " \n\n", " ", " y"});
    CHECK(q("((hello") == W{"((", "hello"});
    CHECK(q("(hello") == W{"(hello"});
    CHECK(q(" (x);\n\nz") == W{" (", "x", ");\n\n", "z"});
    CHECK(q("\u00A0word") == W{"\u00A0word"});
    CHECK(q("a \u3000b") == W{"a", " ", "\u3000b"});
    CHECK(q("x\xFF") == W{"x", "\xEF\xBF\xBD"});  // invalid byte: U+FFFD, an "other" character
    CHECK(q("\xC1\x81z") == W{"Az"});              // overlong 'A' is the letter A

    CHECK(g("it's IT'S") == W{"it", "'s", " IT", "'", "S"});
    CHECK(g("  a") == W{" ", " a"});
    CHECK(g("a 123 !!") == W{"a", " 123", " !!"});
    CHECK(g("a \n") == W{"a", " \n"});

    CHECK(d("a+b=123456") == W{"a", "+", "b", "=", "123", "456"});
    CHECK(d("x `y` 12345") == W{"x", " `", "y", "`", " ", "123", "45"});
}

TEST_CASE("pre-tokenizers: windowed decoding gives the same words for any window size") {
    const uint64_t seed = fresh_seed();
    MESSAGE("seed " << seed);
    std::mt19937_64 rng(seed);
    std::vector<std::string> texts = {std::string(3000, ' ') + "x" + std::string(2000, '\n') + " y",
                                      std::string(5000, 'a') + "'s" + std::string(700, '1'),
                                      "tail spaces" + std::string(1000, ' ')};
    for (int i = 0; i < 40; ++i) texts.push_back(random_utf8(rng, 300));
    for (int i = 0; i < 20; ++i) texts.push_back(random_bytes(rng, 300));
    for (PreTokenizer kind : {PreTokenizer::Qwen2, PreTokenizer::Llama3, PreTokenizer::Gpt2, PreTokenizer::Default}) {
        for (const std::string& text : texts) {
            const std::vector<std::string> whole = pre_tokenize_words(kind, text);
            std::string joined;
            for (const auto& w : whole) joined += w;
            REQUIRE(joined == lenient_normalized(text));
            for (size_t chunk : {1, 2, 3, 7, 64}) {
                struct Sink final : WordSink {
                    std::vector<std::string> words;
                    void word(std::string_view w) override { words.emplace_back(w); }
                } sink;
                PreTokenizerScratch scratch;
                scratch.chunk = chunk;
                pre_tokenize(kind, text, scratch, sink);
                REQUIRE_MESSAGE(sink.words == whole, pre_tokenizer_name(kind) << " chunk " << chunk << " text "
                                                                              << escaped(text).substr(0, 80));
            }
        }
    }
}

// ============================================================================================ hand-made vocabularies

TEST_CASE("bpe: merges by rank, leftmost first, and the fallbacks of the reference") {
    // Tokens: the 256 bytes, then "ab", "bc", "abc", "aa".
    Vocab v = small_bpe_vocab(PreTokenizer::Gpt2, {"ab", "bc", "abc", "aa"},
                              {{"b", "c"}, {"a", "b"}, {"a", "bc"}, {"a", "a"}});
    Tokenizer tok(std::move(v));
    const TokenId ab = 256, bc = 257, abc = 258, aa = 259;
    CHECK(tok.tokenize("abc", false, false) == std::vector<TokenId>{abc});        // b+c (rank 0) then a+bc
    CHECK(tok.tokenize("ab", false, false) == std::vector<TokenId>{ab});
    CHECK(tok.tokenize("aaa", false, false) == std::vector<TokenId>{aa, 'a'});    // leftmost pair first
    CHECK(tok.tokenize("abab", false, false) == std::vector<TokenId>{ab, ab});
    CHECK(tok.tokenize("x abc", false, false) == std::vector<TokenId>{'x', ' ', abc});  // byte b has id b
    CHECK(tok.tokenize("bcd", false, false) == std::vector<TokenId>{bc, 'd'});
    CHECK(tok.detokenize(tok.tokenize("abc bcd", false, false)) == "abc bcd");

    // A merge whose result is not a token: the symbol is written byte by byte of its mapped text, and only
    // printable-ASCII bytes have one-byte tokens.
    Vocab w = small_bpe_vocab(PreTokenizer::Gpt2, {}, {{"x", "y"}});
    Tokenizer tw(std::move(w));
    CHECK(tw.tokenize("xy", false, false) == std::vector<TokenId>{'x', 'y'});

    // ignore_merges: a word that is a token is emitted whole even if the merges would not build it.
    Vocab i = small_bpe_vocab(PreTokenizer::Llama3, {"hello"}, {});
    i.ignore_merges = true;
    Tokenizer ti(std::move(i));
    CHECK(ti.tokenize("hello", false, false) == std::vector<TokenId>{256});
    CHECK(ti.tokenize("hellos", false, false).size() == 6);
}

TEST_CASE("spm: merges by score, byte fallback, leading space and detokenization") {
    Vocab v;
    v.model = VocabModel::Spm;
    v.model_name = "llama";
    v.tokens = {"<unk>", "<s>", "</s>"};
    v.types = {kTypeUnknown, kTypeControl, kTypeControl};
    for (int b = 0; b < 256; ++b) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "<0x%02X>", b);
        v.tokens.push_back(hex);
        v.types.push_back(kTypeByte);
    }
    const std::vector<std::pair<std::string, float>> pieces = {
        {"\xE2\x96\x81", -1}, {"h", -2}, {"e", -2}, {"l", -2}, {"o", -2}, {"\xE2\x96\x81h", -3}, {"el", -4},
        {"ll", -1.5f}, {"lo", -5}, {"\xE2\x96\x81he", -6}, {"llo", -2.5f}, {"\xE2\x96\x81hello", -7},
        {"\xE2\x96\x81hel", -9}};
    for (const auto& p : pieces) {
        v.tokens.push_back(p.first);
        v.types.push_back(kTypeNormal);
    }
    v.scores.assign(v.tokens.size(), 0.0f);
    for (size_t i = 0; i < pieces.size(); ++i) v.scores[259 + i] = pieces[i].second;
    v.bos = 1;
    v.eos = 2;
    v.unk = 0;
    v.add_bos = true;
    v.add_space_prefix = true;
    Tokenizer tok(std::move(v));
    auto id = [&](const char* t) { return tok.find_token(t); };

    // "▁hello": ll (-1.5) first, then ▁h (-3), llo (-2.5) ... -> ▁he (-6) -> ▁hello (-7)
    CHECK(tok.tokenize("hello", true, false) == std::vector<TokenId>{1, id("\xE2\x96\x81hello")});
    // A character without a token falls back to its bytes.
    CHECK(tok.tokenize("h\xC3\xA9", false, false) ==
          std::vector<TokenId>{id("\xE2\x96\x81h"), id("<0xC3>"), id("<0xA9>")});
    // After a special token the next fragment gets a space prefix again.
    CHECK(tok.tokenize("he</s>lo", false, true) ==
          std::vector<TokenId>{id("\xE2\x96\x81he"), 2, id("\xE2\x96\x81"), id("lo")});
    // Detokenization drops the leading space of the first token, writes <0xNN> as bytes, hides control tokens.
    const std::vector<TokenId> ids = tok.tokenize("hello h\xC3\xA9", true, false);
    CHECK(tok.detokenize(ids) == " hello h\xC3\xA9");  // BOS takes the leading-space removal, as in the reference
    CHECK(tok.detokenize(ids, {true, false, true}) == " hello h\xC3\xA9");
    CHECK(tok.detokenize(std::vector<TokenId>(ids.begin() + 1, ids.end())) == "hello h\xC3\xA9");
    CHECK(tok.detokenize(ids, {false, true, true}) == "<s> hello h\xC3\xA9");
    CHECK(tok.nl() == id("<0x0A>"));
}

TEST_CASE("special tokens: longest first, USER_DEFINED always, CONTROL only when parsing specials") {
    Vocab v = small_bpe_vocab(PreTokenizer::Qwen2, {"<a>", "<ab>", "<think>"}, {});
    v.types.assign(v.tokens.size(), kTypeNormal);
    v.types[256] = kTypeControl;
    v.types[257] = kTypeControl;
    v.types[258] = kTypeUserDefined;
    Tokenizer tok(std::move(v));
    std::vector<Fragment> f, tmp;
    tok.partition("x<ab><a><think>y", true, f, tmp);
    REQUIRE(f.size() == 5);
    CHECK(f[1].token == 257);
    CHECK(f[2].token == 256);
    CHECK(f[3].token == 258);
    tok.partition("x<ab><think>y", false, f, tmp);
    REQUIRE(f.size() == 3);
    CHECK(f[1].token == 258);
    CHECK(tok.think_open() == 258);
    CHECK(tok.user() == kNoToken);
    CHECK(tok.detokenize(tok.tokenize("<a>z", false, true)) == "z");
    CHECK(tok.detokenize(tok.tokenize("<a>z", false, true), {false, true, true}) == "<a>z");
    CHECK(tok.detokenize(tok.tokenize("<think>z", false, false)) == "<think>z");
}

TEST_CASE("errors: malformed or unsupported vocabularies throw r1::Error, never crash") {
    auto status_of = [](auto&& fn) {
        try {
            fn();
        } catch (const r1::Error& e) {
            return e.status();
        }
        return R1_OK;
    };
    CHECK(status_of([] { Tokenizer t(Vocab{}); }) == R1_ERR_FORMAT);
    CHECK(status_of([] {
              Vocab v = small_bpe_vocab(PreTokenizer::Gpt2, {"a"}, {});  // "a" twice
              Tokenizer t(std::move(v));
          }) == R1_ERR_FORMAT);
    CHECK(status_of([] {
              Vocab v = small_bpe_vocab(PreTokenizer::Gpt2, {}, {});
              v.add_bos = true;
              Tokenizer t(std::move(v));
          }) == R1_ERR_FORMAT);
    CHECK(status_of([] {
              Vocab v;
              apply_pre_tokenizer_name(v, "no-such-pre-tokenizer");
          }) == R1_ERR_UNSUPPORTED);
    Tokenizer ok(small_bpe_vocab(PreTokenizer::Gpt2, {}, {}));
    CHECK(status_of([&] { ok.token_piece(-1, false); }) == R1_ERR_INVALID_ARGUMENT);
    CHECK(status_of([&] { ok.token_piece(256, false); }) == R1_ERR_INVALID_ARGUMENT);

    auto load = [](r1test::GgufBuilder& b) {
        auto f = r1::gguf::File::from_memory(b.out.data(), b.out.size());
        return load_vocab(*f);
    };
    CHECK(status_of([&] {
              r1test::GgufBuilder b;
              b.header(0, 2);
              b.kv_str("tokenizer.ggml.model", "bert");
              b.kv_str_array("tokenizer.ggml.tokens", {"a"});
              load(b);
          }) == R1_ERR_UNSUPPORTED);
    CHECK(status_of([&] {
              r1test::GgufBuilder b;
              b.header(0, 2);
              b.kv_str("tokenizer.ggml.model", "gpt2");
              b.kv_str_array("tokenizer.ggml.tokens", {"a"});
              load(b);  // no merges
          }) == R1_ERR_FORMAT);
    CHECK(status_of([&] {
              r1test::GgufBuilder b;
              b.header(0, 3);
              b.kv_str("tokenizer.ggml.model", "llama");
              b.kv_str_array("tokenizer.ggml.tokens", {"a", "b"});
              b.kv_f32_array("tokenizer.ggml.scores", {0.0f});  // too short
              load(b);
          }) == R1_ERR_FORMAT);
    CHECK(status_of([&] {
              r1test::GgufBuilder b;
              b.header(0, 4);
              b.kv_str("tokenizer.ggml.model", "gpt2");
              b.kv_str("tokenizer.ggml.pre", "mystery");
              b.kv_str_array("tokenizer.ggml.tokens", {"a"});
              b.kv_str_array("tokenizer.ggml.merges", {});
              load(b);
          }) == R1_ERR_UNSUPPORTED);
    {
        r1test::GgufBuilder b;  // a minimal valid SPM file: defaults bos 1 / eos 2 / unk 0
        b.header(0, 3);
        b.kv_str("tokenizer.ggml.model", "llama");
        b.kv_str_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xE2\x96\x81x"});
        b.kv_u32("tokenizer.ggml.bos_token_id", 0xFFFFFFFFu);  // out of range: the default stays
        Vocab v = load(b);
        CHECK(v.bos == 1);
        CHECK(v.eos == 2);
        CHECK(v.add_bos);
        Tokenizer t(std::move(v));
        CHECK(t.tokenize("x", true, false) == std::vector<TokenId>{1, 3});
    }
}

// ================================================================================================ golden data

namespace {

struct Case {
    std::string id, text;
    bool add_bos, parse_special;
    std::vector<TokenId> ids;
};

void check_cases(const Tokenizer& tok, const std::vector<Case>& cases, const std::string& what) {
    size_t passed = 0;
    for (const Case& c : cases) {
        const std::vector<TokenId> got = tok.tokenize(c.text, c.add_bos, c.parse_special);
        if (got == c.ids) {
            ++passed;
        } else {
            FAIL_CHECK("case " << c.id << " text \"" << escaped(c.text) << "\"\n  expected " << ids_text(c.ids)
                               << "\n  got      " << ids_text(got));
        }
    }
    MESSAGE(what << ": " << passed << "/" << cases.size());
    CHECK(passed == cases.size());
}

}  // namespace

TEST_CASE("golden: llama.cpp's .inp/.out cases for both vocabularies") {
    R1_REQUIRE_FIXTURES(dir);
    for (const std::string name : {"r1-distill-qwen", "r1-distill-llama"}) {
        std::string inp, out;
        REQUIRE(read_text(dir + "/tokenizer/" + name + ".inp", inp));
        REQUIRE(read_text(dir + "/tokenizer/" + name + ".out", out));
        const std::string sep = "\n__ggml_vocab_test__\n";
        std::vector<std::string> texts;
        for (size_t pos = 0;;) {
            const size_t e = inp.find(sep, pos);
            if (e == std::string::npos) break;
            texts.push_back(inp.substr(pos, e - pos));
            pos = e + sep.size();
        }
        std::vector<Case> cases;
        size_t line_start = 0;
        for (size_t i = 0; i < texts.size(); ++i) {
            size_t line_end = out.find('\n', line_start);
            if (line_end == std::string::npos) line_end = out.size();
            Case c{name + ".inp#" + std::to_string(i), texts[i], false, false, {}};
            const std::string line = out.substr(line_start, line_end - line_start);
            for (size_t p = 0; p < line.size();) {
                while (p < line.size() && (line[p] == ' ' || line[p] == '\r')) ++p;
                if (p >= line.size()) break;
                size_t used = 0;
                c.ids.push_back(TokenId(std::stol(line.substr(p), &used)));
                p += used;
            }
            cases.push_back(std::move(c));
            line_start = line_end + 1;
        }
        CHECK(cases.size() == 46);
        check_cases(*fixture_tokenizer(dir, name), cases, name + " .inp/.out");
    }
}

TEST_CASE("golden: cases.jsonl with their flags") {
    R1_REQUIRE_FIXTURES(dir);
    std::string text;
    REQUIRE(read_text(dir + "/tokenizer/cases.jsonl", text));
    std::map<std::string, std::vector<Case>> by_vocab;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.empty()) continue;
        JsonParser p(line);
        const Json j = p.parse();
        REQUIRE(p.ok());
        by_vocab[j["vocab"].str].push_back(
            Case{j["id"].str, j["text"].str, j["add_bos"].b, j["parse_special"].b, j["ids"].ids()});
    }
    size_t total = 0;
    for (const auto& [name, cases] : by_vocab) {
        total += cases.size();
        check_cases(*fixture_tokenizer(dir, name), cases, name + " cases.jsonl");
    }
    CHECK(total == 266);
}

TEST_CASE("golden: War and Peace, whole text") {
    R1_REQUIRE_FIXTURES(dir);
    std::string book;
    REQUIRE(read_text(dir + "/text/war-and-peace.txt", book));
    const Json golden = read_json(dir + "/tokenizer/war-and-peace.tokens.json");
    for (const std::string name : {"r1-distill-qwen", "r1-distill-llama"}) {
        const Json& g = golden[name];
        REQUIRE(size_t(g["n_bytes"].i64()) == book.size());
        const std::vector<TokenId> ids =
            fixture_tokenizer(dir, name)->tokenize(book, g["add_bos"].b, g["parse_special"].b);
        CHECK_MESSAGE(ids.size() == size_t(g["n_tokens"].i64()), name << ": " << ids.size() << " tokens");
        const std::vector<TokenId> first = g["first_64"].ids(), last = g["last_64"].ids();
        REQUIRE(ids.size() >= 64);
        CHECK_MESSAGE(std::vector<TokenId>(ids.begin(), ids.begin() + 64) == first,
                      name << " first 64\n  expected " << ids_text(first) << "\n  got      "
                           << ids_text(std::vector<TokenId>(ids.begin(), ids.begin() + 64)));
        CHECK_MESSAGE(std::vector<TokenId>(ids.end() - 64, ids.end()) == last,
                      name << " last 64\n  expected " << ids_text(last) << "\n  got      "
                           << ids_text(std::vector<TokenId>(ids.end() - 64, ids.end())));
        std::vector<uint8_t> bytes(ids.size() * 4);
        for (size_t i = 0; i < ids.size(); ++i)
            for (int k = 0; k < 4; ++k) bytes[4 * i + size_t(k)] = uint8_t(uint32_t(ids[i]) >> (8 * k));
        CHECK_MESSAGE(sha256_hex(bytes) == g["sha256_ids_int32le"].str, name << " sha256 of the ids");
        CHECK(fixture_tokenizer(dir, name)->detokenize(ids, {false, false, false}) == book);
    }
}

TEST_CASE("golden: stories260K (SPM) prompt ids and detokenized text") {
    R1_REQUIRE_FIXTURES(dir);
    const Json g = read_json(dir + "/models/stories260K.json");
    const Tokenizer& tok = *fixture_tokenizer(dir, "stories260K");
    CHECK(tok.vocab().model == VocabModel::Spm);
    const std::vector<TokenId> prompt = g["prompt"].ids();
    CHECK(tok.tokenize(g["prompt_text"].str, true, false) == prompt);
    const std::vector<TokenId> greedy = g["greedy"].ids();
    REQUIRE(g["greedy_pieces"].items.size() == greedy.size());
    for (size_t i = 0; i < greedy.size(); ++i)
        CHECK_MESSAGE(tok.token_piece(greedy[i], false) == g["greedy_pieces"].items[i].str, "token " << greedy[i]);
    std::vector<TokenId> all = prompt;
    all.insert(all.end(), greedy.begin(), greedy.end());
    CHECK(tok.detokenize(all) == g["full_text_detokenized"].str);
    CHECK(tok.detokenize(greedy) == g["greedy_text"].str);
    std::string streamed;
    StreamDecoder dec(tok);
    for (TokenId id : all) dec.push(id, streamed);
    dec.finish(streamed);
    CHECK(streamed == g["full_text_detokenized"].str);
}

TEST_CASE("golden: special ids, EOG set and token attributes as llama.cpp resolves them") {
    R1_REQUIRE_FIXTURES(dir);
    const Json info = read_json(dir + "/tokenizer/vocab-info.json");
    for (const std::string name : {"r1-distill-qwen", "r1-distill-llama"}) {
        const Json& g = info[name];
        const Tokenizer& tok = *fixture_tokenizer(dir, name);
        CHECK(tok.bos() == g["bos"].i64());
        CHECK(tok.eos() == g["eos"].i64());
        CHECK(tok.eot() == g["eot"].i64());
        CHECK(tok.sep() == g["sep"].i64());
        CHECK(tok.nl() == g["nl"].i64());
        CHECK(tok.pad() == g["pad"].i64());
        CHECK(tok.fim_pre() == g["fim"]["pre"].i64());
        CHECK(tok.fim_suf() == g["fim"]["suf"].i64());
        CHECK(tok.fim_mid() == g["fim"]["mid"].i64());
        CHECK(tok.fim_pad() == g["fim"]["pad"].i64());
        CHECK(tok.fim_rep() == g["fim"]["rep"].i64());
        CHECK(tok.fim_sep() == g["fim"]["sep"].i64());
        CHECK(tok.add_bos() == g["add_bos"].b);
        CHECK(tok.add_eos() == g["add_eos"].b);
        CHECK_MESSAGE(tok.eog_tokens() == g["eog"].ids(), name << " EOG " << ids_text(tok.eog_tokens()));
        for (TokenId id : g["eog"].ids()) CHECK(tok.is_eog(id));
        CHECK(!tok.is_eog(tok.bos()));

        std::set<TokenId> listed;
        for (const Json& t : g["control_and_user_defined_tokens"].items) {
            const TokenId id = TokenId(t["id"].num);
            listed.insert(id);
            CHECK(tok.token_text(id) == t["text"].str);
            CHECK_MESSAGE(tok.token_attr(id) == uint32_t(t["attr"].num), name << " attr of " << id);
        }
        std::set<TokenId> ours;
        size_t n_unused = 0;
        for (size_t id = 0; id < tok.n_tokens(); ++id) {
            const uint32_t a = tok.token_attr(TokenId(id));
            if (a & (kAttrControl | kAttrUserDefined)) ours.insert(TokenId(id));
            if (a & kAttrUnused) ++n_unused;
        }
        CHECK(ours == listed);
        CHECK(n_unused == size_t(g["n_unused_tokens"].i64()));

        CHECK(tok.think_open() == tok.find_token("<think>"));
        CHECK(tok.think_open() != kNoToken);
        CHECK(tok.think_close() != kNoToken);
        CHECK(tok.user() != kNoToken);
        CHECK(tok.assistant() != kNoToken);
        CHECK(tok.token_text(tok.user()) == "<｜User｜>");
        CHECK(tok.token_text(tok.assistant()) == "<｜Assistant｜>");
        CHECK(tok.token_text(tok.think_close()) == "</think>");
    }
    const Tokenizer& q = *fixture_tokenizer(dir, "r1-distill-qwen");
    CHECK(q.think_open() == 151648);
    CHECK(q.think_close() == 151649);
    CHECK(q.user() == 151644);
    CHECK(q.assistant() == 151645);
}

TEST_CASE("golden: detokenization clean-up follows the vocabulary (llama-bpe cleans, qwen2 does not)") {
    R1_REQUIRE_FIXTURES(dir);
    const std::string text = "Hello , world ! It 's ' quoted ' , isn 't it ?";
    const Tokenizer& llama = *fixture_tokenizer(dir, "r1-distill-llama");
    const Tokenizer& qwen = *fixture_tokenizer(dir, "r1-distill-qwen");
    const std::vector<TokenId> l = llama.tokenize(text, true, false);
    CHECK(llama.detokenize(l, {true, false, true}) == "Hello, world! It's'quoted ', isn 't it?");
    CHECK(llama.detokenize(l, {true, false, false}) == text);
    CHECK(qwen.detokenize(qwen.tokenize(text, true, false), {true, false, true}) == text);
}

// ================================================================================================ properties

TEST_CASE("property: decode(encode(s)) == s for random valid UTF-8") {
    R1_REQUIRE_FIXTURES(dir);
    const uint64_t seed = fresh_seed();
    MESSAGE("seed " << seed);
    std::mt19937_64 rng(seed);
    const Tokenizer& qwen = *fixture_tokenizer(dir, "r1-distill-qwen");
    const Tokenizer& llama = *fixture_tokenizer(dir, "r1-distill-llama");
    const DetokenizeOptions raw{false, false, false}, with_special{false, true, false};
    TokenizerScratch scratch;
    for (int i = 0; i < 400; ++i) {
        const std::string s = random_utf8(rng, 80);
        for (const Tokenizer* tok : {&qwen, &llama}) {
            std::vector<TokenId> ids;
            tok->tokenize(s, false, false, ids, &scratch);
            REQUIRE_MESSAGE(tok->detokenize(ids, raw) == s, "text \"" << escaped(s) << "\" ids " << ids_text(ids));
            ids.clear();
            tok->tokenize(s, true, true, ids, nullptr);
            REQUIRE_MESSAGE(tok->detokenize(ids, {true, true, false}) == s,
                            "parse_special, text \"" << escaped(s) << "\"");
            REQUIRE(tok->detokenize(ids, with_special) == std::string(tok->token_text(tok->bos())) + s);
        }
    }
}

TEST_CASE("property: invalid UTF-8 never crashes; each invalid byte is encoded as U+FFFD") {
    R1_REQUIRE_FIXTURES(dir);
    const uint64_t seed = fresh_seed();
    MESSAGE("seed " << seed);
    std::mt19937_64 rng(seed);
    const Tokenizer& qwen = *fixture_tokenizer(dir, "r1-distill-qwen");
    const Tokenizer& llama = *fixture_tokenizer(dir, "r1-distill-llama");
    const Tokenizer& spm = *fixture_tokenizer(dir, "stories260K");
    for (int i = 0; i < 300; ++i) {
        const std::string s = random_bytes(rng, 64);
        for (const Tokenizer* tok : {&qwen, &llama}) {
            const std::vector<TokenId> ids = tok->tokenize(s, false, false);
            CHECK_MESSAGE(tok->detokenize(ids, {false, false, false}) == lenient_normalized(s),
                          "bytes \"" << escaped(s) << "\"");
        }
        // SPM keeps the bytes: a character without a token becomes its byte tokens <0xNN>. Like the reference,
        // it splits the text after spaces became U+2581, by lead-byte length, so an invalid lead byte right
        // before a space swallows part of that U+2581 and the space comes back as U+2581.
        auto spaces = [](std::string t) {
            for (size_t p = 0; (p = t.find("\xE2\x96\x81", p)) != std::string::npos;) t.replace(p, 3, " ");
            return t;
        };
        CHECK_MESSAGE(spaces(spm.detokenize(spm.tokenize(s, false, false))) == spaces(s),
                      "bytes \"" << escaped(s) << "\"");
    }
    CHECK(qwen.tokenize("\xFF", false, false) == qwen.tokenize("\xEF\xBF\xBD", false, false));
}

TEST_CASE("property: the streaming decoder equals the whole decode and never emits broken UTF-8") {
    R1_REQUIRE_FIXTURES(dir);
    const uint64_t seed = fresh_seed();
    MESSAGE("seed " << seed);
    std::mt19937_64 rng(seed);
    for (const std::string name : {"r1-distill-qwen", "r1-distill-llama", "stories260K"}) {
        const Tokenizer& tok = *fixture_tokenizer(dir, name);
        for (int i = 0; i < 200; ++i) {
            const std::string s = (i % 3 == 2) ? random_bytes(rng, 60) : random_utf8(rng, 60);
            std::vector<TokenId> ids = tok.tokenize(s, true, i % 2 == 0);
            // Random ids too: byte tokens that split characters arbitrarily.
            for (int k = 0; k < 4; ++k)
                ids.insert(ids.begin() + ptrdiff_t(rng() % (ids.size() + 1)), TokenId(rng() % tok.n_tokens()));
            for (bool special : {false, true}) {
                StreamDecoder dec(tok, special);
                std::string streamed;
                for (TokenId id : ids) {
                    const std::string chunk = dec.push(id);
                    REQUIRE(utf8_is_valid(chunk));
                    CHECK(dec.pending_bytes() < 4);
                    streamed += chunk;
                }
                dec.finish(streamed);
                const std::string whole = tok.detokenize(ids, {false, special, false});
                REQUIRE_MESSAGE(streamed == utf8_sanitize(whole), name << " ids " << ids_text(ids));
            }
        }
    }
}
