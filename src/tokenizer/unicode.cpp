#include "unicode.h"

#include <algorithm>

namespace r1::tok {

namespace {

// Flags of the ASCII code points, spelled out for a fast path without a search; the tests check them against
// the generated ranges.
constexpr uint8_t kCtl = kClassControl, kCtlWs = kClassControl | kFlagWhitespace,
                  kSepWs = kClassSeparator | kFlagWhitespace, kPun = kClassPunctuation, kSym = kClassSymbol,
                  kNum = kClassNumber, kLet = kClassLetter;
constexpr uint8_t kAsciiFlags[128] = {
    // 0x00..0x1F: controls; \t \n \v \f \r are also White_Space
    kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtlWs, kCtlWs, kCtlWs, kCtlWs, kCtlWs, kCtl, kCtl,
    kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtl, kCtl,
    // space ! " # $ % & ' ( ) * + , - . /
    kSepWs, kPun, kPun, kPun, kSym, kPun, kPun, kPun, kPun, kPun, kPun, kSym, kPun, kPun, kPun, kPun,
    // 0-9 : ; < = > ?
    kNum, kNum, kNum, kNum, kNum, kNum, kNum, kNum, kNum, kNum, kPun, kPun, kSym, kSym, kSym, kPun,
    // @ A-O
    kPun, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet,
    // P-Z [ \ ] ^ _
    kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kPun, kPun, kPun, kSym, kPun,
    // ` a-o
    kSym, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet,
    // p-z { | } ~ DEL
    kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kLet, kPun, kSym, kPun, kSym, kCtl,
};

}  // namespace

uint8_t unicode_flags(uint32_t cpt) {
    if (cpt < 128) return kAsciiFlags[cpt];
    if (cpt > 0x10FFFF) return kClassUndefined;
    // Last range whose first code point is <= cpt.
    const UnicodeRange* begin = kUnicodeRanges;
    const UnicodeRange* end = kUnicodeRanges + kUnicodeRangeCount;
    const UnicodeRange* it =
        std::upper_bound(begin, end, cpt, [](uint32_t value, const UnicodeRange& r) { return value < r.first; });
    return (it - 1)->flags;
}

uint32_t utf8_decode_lenient(const char* text, size_t size, size_t* pos) {
    const auto* s = reinterpret_cast<const unsigned char*>(text);
    const size_t i = *pos;
    const unsigned c0 = s[i];
    if (c0 < 0x80) {
        *pos = i + 1;
        return c0;
    }
    auto cont = [&](size_t k) { return i + k < size && (s[i + k] & 0xC0) == 0x80; };
    uint32_t cpt = 0xFFFD;
    size_t len = 1;
    if ((c0 & 0x40) == 0) {
        // stray continuation byte: invalid
    } else if ((c0 & 0x20) == 0) {
        if (cont(1)) {
            cpt = ((c0 & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
            len = 2;
        }
    } else if ((c0 & 0x10) == 0) {
        if (cont(1) && cont(2)) {
            cpt = ((c0 & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
            len = 3;
        }
    } else if ((c0 & 0x08) == 0) {
        if (cont(1) && cont(2) && cont(3)) {
            uint32_t v = ((c0 & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) |
                         (s[i + 3] & 0x3Fu);
            if (v <= 0x10FFFF) {
                cpt = v;
                len = 4;
            }
        }
    }
    *pos = i + len;
    return cpt;
}

size_t utf8_encode(uint32_t cpt, char out[4]) {
    if (cpt < 0x80) {
        out[0] = char(cpt);
        return 1;
    }
    if (cpt < 0x800) {
        out[0] = char(0xC0 | (cpt >> 6));
        out[1] = char(0x80 | (cpt & 0x3F));
        return 2;
    }
    if (cpt < 0x10000) {
        out[0] = char(0xE0 | (cpt >> 12));
        out[1] = char(0x80 | ((cpt >> 6) & 0x3F));
        out[2] = char(0x80 | (cpt & 0x3F));
        return 3;
    }
    out[0] = char(0xF0 | ((cpt >> 18) & 0x07));
    out[1] = char(0x80 | ((cpt >> 12) & 0x3F));
    out[2] = char(0x80 | ((cpt >> 6) & 0x3F));
    out[3] = char(0x80 | (cpt & 0x3F));
    return 4;
}

void utf8_append(std::string& out, uint32_t cpt) {
    char buf[4];
    out.append(buf, utf8_encode(cpt, buf));
}

// GPT-2 keeps the printable Latin-1 bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) as themselves and maps the
// other 68 bytes, in increasing byte order, to U+0100 onwards.
namespace {

constexpr bool gpt2_keeps(unsigned b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

struct Gpt2Tables {
    uint16_t byte_to_cpt[256] = {};
    uint8_t shifted_to_byte[68] = {};  // U+0100 + i -> byte
};

constexpr Gpt2Tables make_gpt2_tables() {
    Gpt2Tables t{};
    unsigned n = 0;
    for (unsigned b = 0; b < 256; ++b) {
        if (gpt2_keeps(b)) {
            t.byte_to_cpt[b] = uint16_t(b);
        } else {
            t.byte_to_cpt[b] = uint16_t(0x100 + n);
            t.shifted_to_byte[n++] = uint8_t(b);
        }
    }
    return t;
}

constexpr Gpt2Tables kGpt2 = make_gpt2_tables();

}  // namespace

uint32_t gpt2_byte_to_cpt(uint8_t byte) { return kGpt2.byte_to_cpt[byte]; }

int gpt2_cpt_to_byte(uint32_t cpt) {
    if (cpt < 0x100) return gpt2_keeps(cpt) ? int(cpt) : -1;
    if (cpt < 0x100 + 68) return kGpt2.shifted_to_byte[cpt - 0x100];
    return -1;
}

}  // namespace r1::tok
