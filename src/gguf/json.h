// Rendering of GGUF metadata values as JSON text (for r1_model_meta_format and `r1 info --json`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gguf.h"

namespace r1::gguf {

// Appends `s` as a JSON string literal. Bytes that are not valid UTF-8 become U+FFFD.
void append_json_string(std::string& out, std::string_view s);

// Appends the value as JSON. Arrays longer than max_items (0 = no limit) end with the string "...".
// Non-finite floats become the strings "nan", "inf" and "-inf".
void append_json_value(std::string& out, const Value& v, uint64_t max_items);

}  // namespace r1::gguf
