// A model of Jinja2 3.1's lexer (jinja2/lexer.py), reduced to what decides a template's token stream and the
// whitespace of its output. The rules it follows, with the Jinja2 settings of transformers:
// - "\r\n" and "\r" become "\n"; one trailing "\n" of the source is dropped (keep_trailing_newline off).
// - A tag opens at the first "{{", "{%" or "{#"; an optional '-' or '+' follows the opener.
//   "{%-", "{{-", "{#-" strip all whitespace (Python's str.isspace) from the end of the text before the tag.
//   Otherwise, for "{%" and "{#" without '+' (lstrip_blocks), the whitespace between the start of the line
//   and the tag is removed: when the text holds a newline, or at the start of the template or right after
//   a tag whose closing match ended with a newline. (Jinja2 3.0 removed only spaces and tabs, 3.1 any
//   whitespace; a text whose meaning depends on the difference gets no canonical form.)
// - "-%}", "-}}" and "-#}" swallow all whitespace after them; "%}" and "#}" swallow one "\n" (trim_blocks);
//   "+%}" and "}}" swallow nothing.
// - Inside a tag: whitespace is skipped; a closer only counts when no bracket opened in the tag is still open.
#include "jinja_canonical.h"

#include <cstdint>
#include <vector>

namespace r1::chat::detail {

namespace {

// Decodes the code point starting at s[i]; returns its length, or 0 for invalid UTF-8 (overlong forms,
// surrogates, values above U+10FFFF, truncated or stray continuation bytes), as Python's decoder rejects them.
size_t decode_utf8(std::string_view s, size_t i, uint32_t& cp) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char b0 = byte(i);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    size_t n;
    uint32_t min;
    if ((b0 & 0xE0) == 0xC0) {
        n = 2, cp = b0 & 0x1Fu, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        n = 3, cp = b0 & 0x0Fu, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        n = 4, cp = b0 & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (s.size() - i < n) return 0;
    for (size_t k = 1; k < n; k++) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (byte(i + k) & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

bool valid_utf8(std::string_view s) {
    uint32_t cp;
    for (size_t i = 0; i < s.size();) {
        size_t n = decode_utf8(s, i, cp);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

// Python's str.isspace(), which is also what `\s` matches in a str pattern.
bool is_py_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

// The end of the run of whitespace starting at i (Jinja2's `\s*`). s is valid UTF-8.
size_t skip_spaces(std::string_view s, size_t i) {
    uint32_t cp;
    while (i < s.size()) {
        size_t n = decode_utf8(s, i, cp);
        if (!is_py_space(cp)) break;
        i += n;
    }
    return i;
}

// s.rstrip(): s without its trailing whitespace. s is valid UTF-8.
std::string_view rstrip_spaces(std::string_view s) {
    size_t end = s.size();
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) start--;
        uint32_t cp;
        decode_utf8(s, start, cp);
        if (!is_py_space(cp)) break;
        end = start;
    }
    return s.substr(0, end);
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

struct Token {
    enum Kind { Name, String, Number, Operator } kind;
    std::string text;  // the string's value for String
};

// Keys written x.key whatever the source wrote: none is an attribute of dict, str, list, Namespace, LoopContext
// or Undefined, so Jinja2's x['key'] (item, then attribute) and x.key (attribute, then item) agree.
bool is_plain_key(const std::string& key) {
    static const char* const keys[] = {"role", "content", "tool_calls", "type", "function",
                                       "name", "arguments", "reasoning_content", "system_prompt"};
    for (const char* k : keys) {
        if (key == k) return true;
    }
    return false;
}

// Names after which '[' opens a list literal rather than a subscript.
bool is_keyword(const std::string& name) {
    static const char* const words[] = {"and", "or", "not", "in", "is", "if", "else", "elif", "for", "set",
                                        "with", "import", "from", "as", "include", "extends", "recursive",
                                        "block", "macro", "call", "filter", "print", "do", "return"};
    for (const char* w : words) {
        if (name == w) return true;
    }
    return false;
}

class Canonicalizer {
public:
    Canonicalizer(std::string_view source, size_t max_size) : src_(source), max_size_(max_size) {}

    std::optional<std::string> run() {
        size_t pos = 0;
        bool line_starting = true;
        while (pos < src_.size()) {
            size_t tag = find_tag_start(pos);
            if (tag == std::string_view::npos) {
                data_ += src_.substr(pos);
                break;
            }
            std::string_view text = src_.substr(pos, tag - pos);
            const char kind = src_[tag + 1];  // '{', '%' or '#'
            size_t p = tag + 2;
            char sign = 0;
            if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
            if (sign == '-') {
                text = rstrip_spaces(text);
            } else if (sign != '+' && kind != '{') {
                size_t line_start = text.rfind('\n') + 1;  // npos + 1 == 0
                if (line_start > 0 || line_starting) {
                    const std::string_view indent = text.substr(line_start);
                    if (indent.find_first_not_of(" \t") == std::string_view::npos) {
                        text = text.substr(0, line_start);
                    } else if (rstrip_spaces(indent).empty()) {
                        // Other whitespace (\v, \f, U+3000, ...): Jinja2 3.1 strips it, 3.0 kept it.
                        return std::nullopt;
                    }
                }
            }
            data_ += text;

            if (kind == '#') {
                if (!skip_comment(p)) return std::nullopt;
            } else {
                flush_data();
                if (!lex_tag(kind, p)) return std::nullopt;
            }
            line_starting = src_[p - 1] == '\n';
            pos = p;
            if (out_.size() + data_.size() > max_size_) return std::nullopt;
        }
        flush_data();
        if (out_.size() > max_size_) return std::nullopt;
        return std::move(out_);
    }

private:
    size_t find_tag_start(size_t pos) const {
        for (size_t i = src_.find('{', pos); i != std::string_view::npos; i = src_.find('{', i + 1)) {
            if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
        }
        return std::string_view::npos;
    }

    bool at(size_t p, std::string_view s) const { return src_.compare(p, s.size(), s) == 0; }

    // `(.*?)((?:\+#}|\-#}\s*|#}\n?))`; leaves p after the comment.
    bool skip_comment(size_t& p) const {
        for (size_t i = p; i < src_.size(); i++) {
            if (at(i, "+#}")) {
                p = i + 3;
                return true;
            }
            if (at(i, "-#}")) {
                p = skip_spaces(src_, i + 3);
                return true;
            }
            if (at(i, "#}")) {
                p = i + 2;
                if (p < src_.size() && src_[p] == '\n') p++;
                return true;
            }
        }
        return false;  // "Missing end of comment tag"
    }

    // Reads the tokens of a {{ }} or {% %} tag from p to its closer; leaves p after the closer.
    bool lex_tag(char kind, size_t& p) {
        std::vector<Token> tokens;
        std::vector<char> open_brackets;
        for (;;) {
            if (p >= src_.size()) return false;  // unclosed tag
            if (open_brackets.empty()) {
                if (kind == '%') {
                    if (at(p, "+%}")) {
                        p += 3;
                        break;
                    }
                    if (at(p, "-%}")) {
                        p = skip_spaces(src_, p + 3);
                        break;
                    }
                    if (at(p, "%}")) {
                        p += 2;
                        if (p < src_.size() && src_[p] == '\n') p++;
                        break;
                    }
                } else {
                    if (at(p, "-}}")) {
                        p = skip_spaces(src_, p + 3);
                        break;
                    }
                    if (at(p, "}}")) {
                        p += 2;
                        break;
                    }
                }
            }
            const char c = src_[p];
            if (size_t after = skip_spaces(src_, p); after != p) {
                p = after;
            } else if (is_digit(c)) {
                if (!lex_integer(p, tokens)) return false;
            } else if (is_name_start(c)) {
                size_t start = p;
                while (p < src_.size() && is_name_char(src_[p])) p++;
                tokens.push_back({Token::Name, std::string(src_.substr(start, p - start))});
            } else if (c == '\'' || c == '"') {
                if (!lex_string(p, tokens)) return false;
            } else {
                if (!lex_operator(p, tokens, open_brackets)) return false;
            }
        }
        if (kind == '%' && !tokens.empty() && tokens[0].kind == Token::Name &&
            (tokens[0].text == "raw" || tokens[0].text == "endraw")) {
            return false;  // {% raw %} switches the lexer into a mode this model does not follow
        }
        emit_tag(kind, normalize_subscripts(tokens));
        return true;
    }

    // Only plain decimal integers: Jinja2 also has floats, 0x/0o/0b and '_' separators; those give up.
    bool lex_integer(size_t& p, std::vector<Token>& tokens) const {
        size_t start = p;
        while (p < src_.size() && is_digit(src_[p])) p++;
        if (p - start > 1 && src_[start] == '0') return false;
        if (p < src_.size()) {
            // "1.5", "1e3", "1_000", "0x1": not modelled. A '.' followed by a non-digit is an attribute access.
            const bool fraction = src_[p] == '.' && p + 1 < src_.size() && is_digit(src_[p + 1]);
            if (is_name_char(src_[p]) || fraction) return false;
        }
        tokens.push_back({Token::Number, std::string(src_.substr(start, p - start))});
        return true;
    }

    // A quoted literal, decoded like Jinja2 (Python's unicode-escape) for the escapes it models.
    bool lex_string(size_t& p, std::vector<Token>& tokens) const {
        const char quote = src_[p++];
        std::string value;
        for (;;) {
            if (p >= src_.size()) return false;
            const char c = src_[p++];
            if (c == quote) break;
            if (c != '\\') {
                value += c;
                continue;
            }
            if (p >= src_.size()) return false;
            const char e = src_[p++];
            switch (e) {
                case 'n': value += '\n'; break;
                case 't': value += '\t'; break;
                case 'r': value += '\r'; break;
                case '\\': value += '\\'; break;
                case '\'': value += '\''; break;
                case '"': value += '"'; break;
                case '\n': break;  // a line continuation
                case 'x':
                case 'u':
                case 'U': {
                    const size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (src_.size() - p < digits) return false;
                    uint32_t cp = 0;
                    for (size_t k = 0; k < digits; k++) {
                        int h = hex_value(src_[p + k]);
                        if (h < 0) return false;
                        cp = cp * 16 + uint32_t(h);
                    }
                    p += digits;
                    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
                    append_utf8(value, cp);
                    break;
                }
                default:
                    return false;  // octal, \a \b \f \v \N{...}, and unknown escapes: not modelled
            }
        }
        tokens.push_back({Token::String, std::move(value)});
        return true;
    }

    bool lex_operator(size_t& p, std::vector<Token>& tokens, std::vector<char>& open_brackets) const {
        static const char* const two_char[] = {"//", "**", "==", "!=", ">=", "<="};
        for (const char* op : two_char) {
            if (at(p, op)) {
                tokens.push_back({Token::Operator, op});
                p += 2;
                return true;
            }
        }
        const char c = src_[p];
        static const std::string_view one_char = "+-/*%~[](){}><=.:|,;";
        if (one_char.find(c) == std::string_view::npos) return false;
        if (c == '(' || c == '[' || c == '{') {
            open_brackets.push_back(c);
        } else if (c == ')' || c == ']' || c == '}') {
            const char opener = c == ')' ? '(' : c == ']' ? '[' : '{';
            if (open_brackets.empty() || open_brackets.back() != opener) return false;
            open_brackets.pop_back();
        }
        tokens.push_back({Token::Operator, std::string(1, c)});
        p++;
        return true;
    }

    // x['key'] -> x.key for the keys of is_plain_key, when '[' follows a value (a name, ')' or ']'), in
    // expressions only: the target of {% set %} or {% for %} may be ns.attr but never x['key'], so a rewrite
    // there would turn a syntax error into a valid template.
    static std::vector<Token> normalize_subscripts(const std::vector<Token>& in) {
        size_t first = 0;  // where the expressions of the tag begin
        if (!in.empty() && in[0].kind == Token::Name && (in[0].text == "set" || in[0].text == "for")) {
            const bool is_set = in[0].text == "set";
            first = in.size();
            for (size_t i = 1; i < in.size(); i++) {
                const bool ends_target = is_set ? in[i].kind == Token::Operator && in[i].text == "="
                                                : in[i].kind == Token::Name && in[i].text == "in";
                if (ends_target) {
                    first = i + 1;
                    break;
                }
            }
        }
        std::vector<Token> out;
        out.reserve(in.size());
        for (size_t i = 0; i < in.size(); i++) {
            const bool subscript =
                i > first && i + 2 < in.size() && in[i].kind == Token::Operator && in[i].text == "[" &&
                in[i + 1].kind == Token::String && is_plain_key(in[i + 1].text) &&
                in[i + 2].kind == Token::Operator && in[i + 2].text == "]" &&
                ((in[i - 1].kind == Token::Name && !is_keyword(in[i - 1].text)) ||
                 (in[i - 1].kind == Token::Operator && (in[i - 1].text == ")" || in[i - 1].text == "]")));
            if (subscript) {
                out.push_back({Token::Operator, "."});
                out.push_back({Token::Name, in[i + 1].text});
                i += 2;
            } else {
                out.push_back(in[i]);
            }
        }
        return out;
    }

    // The canonical text: D<n>:<bytes> for output text, then <B or <V, the tokens separated by spaces
    // (strings as S<n>:<bytes>, the rest as they are, none of which holds a space), and '>'.
    void flush_data() {
        if (data_.empty()) return;
        out_ += 'D';
        out_ += std::to_string(data_.size());
        out_ += ':';
        out_ += data_;
        data_.clear();
    }

    void emit_tag(char kind, const std::vector<Token>& tokens) {
        out_ += kind == '%' ? "<B" : "<V";
        for (const Token& token : tokens) {
            out_ += ' ';
            if (token.kind == Token::String) {
                out_ += 'S';
                out_ += std::to_string(token.text.size());
                out_ += ':';
            }
            out_ += token.text;
        }
        out_ += '>';
    }

    std::string_view src_;
    size_t max_size_;
    std::string out_;
    std::string data_;  // output text not yet written to out_ (comments join the text around them)
};

// Jinja2's newline handling before lexing: every "\r\n", "\r" and "\n" becomes "\n", and one trailing
// newline is dropped (keep_trailing_newline off).
std::string normalize_newlines(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] == '\r') {
            out += '\n';
            if (i + 1 < s.size() && s[i + 1] == '\n') i++;
        } else {
            out += s[i];
        }
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

}  // namespace

std::optional<std::string> jinja_canonical_form(std::string_view source, size_t max_size) {
    if (!valid_utf8(source)) return std::nullopt;
    const std::string text = normalize_newlines(source);
    return Canonicalizer(text, max_size).run();
}

}  // namespace r1::chat::detail
