// The template texts r1 knows, embedded byte for byte, with their xxh64 fingerprints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chat_template.h"

namespace r1::chat::detail {

struct KnownText {
    const char* source;    // where the text comes from
    TemplateId id;         // the renderer that reproduces it
    uint64_t fingerprint;  // xxh64, seed 0, of text
    std::string_view text;
};

// The first entry of each id is that id's template_text(). A test checks every fingerprint against its text.
inline constexpr size_t kKnownTextCount = 5;
extern const KnownText kKnownTexts[kKnownTextCount];

}  // namespace r1::chat::detail
