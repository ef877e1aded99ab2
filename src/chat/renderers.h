// The hand-written renderers, one per template family. Each mirrors its Jinja text statement by statement;
// comments quote the Jinja they reproduce where the behaviour is not obvious.
#pragma once

#include <string>
#include <vector>

#include "chat_template.h"

namespace r1::chat::detail {

enum class R1Variant {
    Official,      // kR1DistillText (and llama.cpp's copy of the Llama one)
    Legacy,        // kR1DistillLegacyText
    QwenLlamaCpp,  // kR1DistillQwenLlamaCppText
};

std::string render_r1(R1Variant variant, const std::vector<Message>& messages, const RenderOptions& options,
                      RenderInfo& info);

std::string render_qwen3(const std::vector<Message>& messages, const RenderOptions& options, RenderInfo& info);

// Throws Error(R1_ERR_INVALID_ARGUMENT) for a None content that the template would concatenate: in Jinja2
// that is a TypeError ('str' + None) or an UndefinedError (a method called on None).
[[noreturn]] void fail_null_content(TemplateId id, size_t message_index, const std::string& role);

}  // namespace r1::chat::detail
