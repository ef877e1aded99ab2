// From a conversation to the prompt a model expects: template choice, rendering and tokenization.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "../chat/chat_template.h"
#include "../model/model.h"

namespace r1 {

struct ChatPromptOptions {
    bool add_generation_prompt = true;
    bool enable_thinking = true;
    std::string template_name;  // "" = the model's own template (or template_text)
    const char* template_text = nullptr;  // recognise this text instead of the model's template
    const char* bos_token = nullptr;      // nullptr: the model's BOS text
};

struct ChatPrompt {
    chat::TemplateId template_id = chat::TemplateId::R1Distill;
    std::string text;             // what the template renders (BOS text included where the template writes it)
    chat::RenderInfo info;
};

// Renders with the model's template (or the named built-in). Throws r1::Error (R1_ERR_UNSUPPORTED for a
// template r1 does not recognise).
// `model` may be null when the options give a template name or text.
ChatPrompt render_chat(const Model* model, const std::vector<chat::Message>& messages, const ChatPromptOptions& options);

// Copies a C API conversation (a NULL content becomes a null content). Throws R1_ERR_INVALID_ARGUMENT.
std::vector<chat::Message> messages_from_c(const r1_chat_message* messages, size_t count);

// Tokenizes a rendered prompt: special tokens parsed, BOS prepended when the vocabulary adds one and the text
// did not start with it.
std::vector<int32_t> tokenize_prompt(const Model& model, std::string_view text);

}  // namespace r1
