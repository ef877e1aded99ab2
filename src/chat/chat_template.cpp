#include "chat_template.h"

#include <array>
#include <cstdint>

#include "../error.h"
#include "builtin_templates.h"
#include "jinja_canonical.h"
#include "py_string.h"
#include "renderers.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace r1::chat {

namespace {

const char* name_or_null(TemplateId id) {
    switch (id) {
        case TemplateId::R1Distill: return "r1-distill";
        case TemplateId::R1DistillLegacy: return "r1-distill-legacy";
        case TemplateId::R1DistillQwenLlamaCpp: return "r1-distill-qwen-llama-cpp";
        case TemplateId::Qwen3: return "qwen3";
    }
    return nullptr;
}

// Canonical forms of the known texts, computed once (thread-safe static initialization; read-only after).
struct KnownForms {
    std::array<std::optional<std::string>, detail::kKnownTextCount> forms;  // every built-in text has one
    size_t max_size = 0;
};

const KnownForms& known_forms() {
    static const KnownForms known = [] {
        KnownForms k;
        for (size_t i = 0; i < detail::kKnownTextCount; i++) {
            k.forms[i] = detail::jinja_canonical_form(detail::kKnownTexts[i].text, SIZE_MAX);
            if (k.forms[i] && k.forms[i]->size() > k.max_size) k.max_size = k.forms[i]->size();
        }
        return k;
    }();
    return known;
}

// A role as it can safely appear in an error message: printable ASCII, at most 32 bytes.
std::string printable(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size() && i < 32; i++) {
        const char c = s[i];
        out += c >= 0x20 && c < 0x7F ? c : '?';
    }
    if (s.size() > 32) out += "...";
    return out;
}

}  // namespace

const char* template_name(TemplateId id) {
    const char* name = name_or_null(id);
    return name ? name : "unknown";
}

std::optional<TemplateId> template_by_name(std::string_view name) {
    for (TemplateId id : kAllTemplates) {
        if (name == name_or_null(id)) return id;
    }
    return std::nullopt;
}

std::string_view template_text(TemplateId id) {
    for (const detail::KnownText& known : detail::kKnownTexts) {
        if (known.id == id) return known.text;
    }
    return {};
}

uint64_t template_fingerprint(std::string_view text) { return XXH64(text.data(), text.size(), 0); }

std::optional<Recognition> recognize(std::string_view text) {
    const uint64_t fingerprint = template_fingerprint(text);
    for (const detail::KnownText& known : detail::kKnownTexts) {
        if (known.fingerprint == fingerprint && known.text == text) {
            return Recognition{known.id, MatchKind::Fingerprint};
        }
    }
    // Whitespace can make a text larger than its form; a few times the largest known text is plenty.
    const KnownForms& known = known_forms();
    if (text.size() > 16 * known.max_size) return std::nullopt;
    std::optional<std::string> form = detail::jinja_canonical_form(text, known.max_size);
    if (!form) return std::nullopt;
    for (size_t i = 0; i < detail::kKnownTextCount; i++) {
        if (known.forms[i] && *form == *known.forms[i]) {
            return Recognition{detail::kKnownTexts[i].id, MatchKind::Structure};
        }
    }
    return std::nullopt;
}

std::optional<TemplateId> identify(std::string_view text) {
    std::optional<Recognition> recognition = recognize(text);
    if (!recognition) return std::nullopt;
    return recognition->id;
}

std::optional<TemplateId> resemble(std::string_view text) {
    using detail::contains;
    if (contains(text, "<｜User｜>") && contains(text, "<｜Assistant｜>")) {
        if (contains(text, "enable_thinking")) return TemplateId::R1DistillQwenLlamaCpp;
        return contains(text, "<think>") ? TemplateId::R1Distill : TemplateId::R1DistillLegacy;
    }
    if (contains(text, "<|im_start|>") && contains(text, "<think>")) return TemplateId::Qwen3;
    return std::nullopt;
}

TemplateId select_template(std::string_view text, std::string_view name) {
    if (!name.empty()) {
        if (std::optional<TemplateId> id = template_by_name(name)) return *id;
        fail(R1_ERR_INVALID_ARGUMENT,
             "unknown chat template name \"%s\" (built-in: r1-distill, r1-distill-legacy, "
             "r1-distill-qwen-llama-cpp, qwen3)",
             printable(std::string(name)).c_str());
    }
    if (text.empty()) {
        fail(R1_ERR_UNSUPPORTED, "the model has no chat template; choose a built-in template by name");
    }
    if (std::optional<TemplateId> id = identify(text)) return *id;
    std::string hint;
    if (std::optional<TemplateId> like = resemble(text)) {
        hint = format("; it resembles \"%s\", which the caller may choose by name", template_name(*like));
    }
    fail(R1_ERR_UNSUPPORTED, "unknown chat template (%zu bytes, xxh64 %016llx)%s; choose a built-in template by name",
         text.size(), static_cast<unsigned long long>(template_fingerprint(text)), hint.c_str());
}

bool generation_prompt_opens_think(TemplateId id, const RenderOptions& options) {
    if (!options.add_generation_prompt) return false;
    switch (id) {
        case TemplateId::R1Distill: return true;
        case TemplateId::R1DistillQwenLlamaCpp: return options.enable_thinking;
        case TemplateId::R1DistillLegacy:
        case TemplateId::Qwen3: return false;
    }
    return false;
}

std::string render(TemplateId id, const std::vector<Message>& messages, const RenderOptions& options,
                   RenderInfo* info) {
    RenderInfo local;
    RenderInfo& out_info = info ? *info : local;
    switch (id) {
        case TemplateId::R1Distill:
            return detail::render_r1(detail::R1Variant::Official, messages, options, out_info);
        case TemplateId::R1DistillLegacy:
            return detail::render_r1(detail::R1Variant::Legacy, messages, options, out_info);
        case TemplateId::R1DistillQwenLlamaCpp:
            return detail::render_r1(detail::R1Variant::QwenLlamaCpp, messages, options, out_info);
        case TemplateId::Qwen3: return detail::render_qwen3(messages, options, out_info);
    }
    fail(R1_ERR_INVALID_ARGUMENT, "invalid chat template id %d", static_cast<int>(id));
}

namespace detail {

void fail_null_content(TemplateId id, size_t message_index, const std::string& role) {
    fail(R1_ERR_INVALID_ARGUMENT,
         "chat template %s: message %zu (role \"%s\") has null content, which the template cannot render",
         template_name(id), message_index, printable(role).c_str());
}

}  // namespace detail

}  // namespace r1::chat
