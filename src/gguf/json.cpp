#include "json.h"

#include <cmath>
#include <cstdio>

namespace r1::gguf {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not valid UTF-8.
size_t utf8_sequence_length(std::string_view s, size_t i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
    else return 0;
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        unsigned char cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
    return n;
}

void append_float(std::string& out, double x, bool single) {
    if (std::isnan(x)) { out += "\"nan\""; return; }
    if (std::isinf(x)) { out += x > 0 ? "\"inf\"" : "\"-inf\""; return; }
    char buf[40];
    std::snprintf(buf, sizeof buf, single ? "%.9g" : "%.17g", x);
    out += buf;
}

void append_scalar(std::string& out, ValueType type, const Value& v) {
    char buf[32];
    switch (type) {
        case ValueType::UINT8:
        case ValueType::UINT16:
        case ValueType::UINT32:
        case ValueType::UINT64:
            std::snprintf(buf, sizeof buf, "%llu", (unsigned long long)v.num.u64);
            out += buf;
            break;
        case ValueType::INT8:
        case ValueType::INT16:
        case ValueType::INT32:
        case ValueType::INT64:
            std::snprintf(buf, sizeof buf, "%lld", (long long)v.num.i64);
            out += buf;
            break;
        case ValueType::BOOL: out += v.num.u64 ? "true" : "false"; break;
        case ValueType::FLOAT32: append_float(out, v.num.f64, true); break;
        case ValueType::FLOAT64: append_float(out, v.num.f64, false); break;
        default: break;
    }
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"') { out += "\\\""; ++i; continue; }
        if (c == '\\') { out += "\\\\"; ++i; continue; }
        if (c < 0x20) {
            char buf[8];
            switch (c) {
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                default: std::snprintf(buf, sizeof buf, "\\u%04x", c); out += buf;
            }
            ++i;
            continue;
        }
        size_t n = utf8_sequence_length(s, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD
            ++i;
        } else {
            out.append(s.data() + i, n);
            i += n;
        }
    }
    out += '"';
}

void append_json_value(std::string& out, const Value& v, uint64_t max_items) {
    if (v.type == ValueType::STRING) { append_json_string(out, v.str); return; }
    if (v.type != ValueType::ARRAY) { append_scalar(out, v.type, v); return; }
    uint64_t shown = max_items && v.count > max_items ? max_items : v.count;
    out += '[';
    for (uint64_t i = 0; i < shown; ++i) {
        if (i) out += ", ";
        if (v.elem_type == ValueType::STRING) {
            append_json_string(out, v.strings[i]);
        } else if (v.elem_type == ValueType::ARRAY) {
            append_json_value(out, v.arrays[i], max_items);
        } else {
            Value e;
            e.type = v.elem_type;
            if (is_float(v.elem_type)) e.num.f64 = v.float_at(i);
            else e.num.u64 = v.uint_at(i);
            append_scalar(out, v.elem_type, e);
        }
    }
    if (shown < v.count) out += shown ? ", \"...\"" : "\"...\"";
    out += ']';
}

}  // namespace r1::gguf
