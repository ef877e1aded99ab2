// The few Python str operations the chat templates call, over UTF-8 bytes. Every needle and strip character
// here is ASCII, and UTF-8 never places an ASCII byte inside a multi-byte sequence, so byte-wise results equal
// Python's code-point results on valid UTF-8 (and stay well defined on invalid bytes).
#pragma once

#include <string>
#include <string_view>

namespace r1::chat::detail {

inline bool contains(std::string_view s, std::string_view needle) {
    return s.find(needle) != std::string_view::npos;
}

inline bool starts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

inline bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// s.split(sep)[-1]: the text after the last sep (all of s when sep is absent).
inline std::string_view split_last(std::string_view s, std::string_view sep) {
    size_t at = s.rfind(sep);
    return at == std::string_view::npos ? s : s.substr(at + sep.size());
}

// s.split(sep)[0]: the text before the first sep (all of s when sep is absent).
inline std::string_view split_first(std::string_view s, std::string_view sep) {
    size_t at = s.find(sep);
    return at == std::string_view::npos ? s : s.substr(0, at);
}

// s.lstrip(c), s.rstrip(c) and s.strip(c) for one character c.
inline std::string_view lstrip(std::string_view s, char c) {
    size_t i = 0;
    while (i < s.size() && s[i] == c) i++;
    return s.substr(i);
}

inline std::string_view rstrip(std::string_view s, char c) {
    size_t n = s.size();
    while (n > 0 && s[n - 1] == c) n--;
    return s.substr(0, n);
}

inline std::string_view strip(std::string_view s, char c) { return rstrip(lstrip(s, c), c); }

// Appends json.dumps(s, ensure_ascii=False): the tojson filter transformers installs. Python escapes '"',
// '\\' and the C0 controls (short forms for \b \f \n \r \t, \u00xx in lower-case hex for the rest) and copies
// every other character, DEL and non-ASCII included.
inline void append_json_string(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (char ch : s) {
        unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 15];
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
}

}  // namespace r1::chat::detail
