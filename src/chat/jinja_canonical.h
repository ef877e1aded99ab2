// Structural recognition of chat templates: the canonical form of a Jinja template text.
//
// The canonical form is the token stream Jinja2's lexer produces for the text, under the settings
// transformers' apply_chat_template uses (trim_blocks, lstrip_blocks, keep_trailing_newline off), after
// Jinja2 has applied its whitespace control: exactly the text that reaches the output, and the tokens of
// each {{ }} and {% %} tag without the whitespace between them. It further drops comments, writes string
// literals by value (so quote style and escapes do not matter) and writes x['role'] as x.role for a few keys
// that are never methods of the objects a template sees (dict, str, list, namespace, loop).
//
// Two texts with the same canonical form parse to the same template and so render the same output. The
// lexer is deliberately partial: anything outside what it models exactly ({% raw %}, non-ASCII names, rare
// string escapes and number forms, invalid UTF-8, unbalanced brackets, an unclosed tag) gives no canonical form.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace r1::chat::detail {

// The canonical form of source, or nullopt when the lexer cannot model it exactly or when the form would
// exceed max_size bytes (then it cannot equal any known template's form). Never throws except bad_alloc.
std::optional<std::string> jinja_canonical_form(std::string_view source, size_t max_size);

}  // namespace r1::chat::detail
