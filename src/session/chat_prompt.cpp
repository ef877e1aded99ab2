#include "chat_prompt.h"

#include "../error.h"
#include "../tokenizer/tokenizer.h"

namespace r1 {

ChatPrompt render_chat(const Model* model, const std::vector<chat::Message>& messages,
                       const ChatPromptOptions& options) {
    ChatPrompt p;
    std::string_view text = options.template_text ? std::string_view(options.template_text)
                            : model                ? model->chat_template()
                                                   : std::string_view();
    if (!model && !options.template_text && options.template_name.empty())
        fail(R1_ERR_INVALID_ARGUMENT, "no model, template name or template text given");
    p.template_id = chat::select_template(text, options.template_name);
    chat::RenderOptions ro;
    ro.add_generation_prompt = options.add_generation_prompt;
    ro.enable_thinking = options.enable_thinking;
    if (model && model->has_tokenizer()) {
        const tok::Tokenizer& t = model->tokenizer();
        if (t.bos() != tok::kNoToken) ro.bos_token = std::string(t.token_text(t.bos()));
        if (t.eos() != tok::kNoToken) ro.eos_token = std::string(t.token_text(t.eos()));
    }
    if (options.bos_token) ro.bos_token = options.bos_token;
    p.text = chat::render(p.template_id, messages, ro, &p.info);
    return p;
}

std::vector<chat::Message> messages_from_c(const r1_chat_message* messages, size_t count) {
    if (!messages && count) fail(R1_ERR_INVALID_ARGUMENT, "messages is NULL");
    std::vector<chat::Message> out(count);
    for (size_t i = 0; i < count; ++i) {
        if (!messages[i].role) fail(R1_ERR_INVALID_ARGUMENT, "message %zu has no role", i);
        out[i].role = messages[i].role;
        if (messages[i].content) out[i].content = messages[i].content;
        else out[i].content_is_null = true;
    }
    return out;
}

std::vector<int32_t> tokenize_prompt(const Model& model, std::string_view text) {
    const tok::Tokenizer& t = model.tokenizer();
    std::vector<int32_t> ids;
    t.tokenize(text, false, true, ids, nullptr);
    if (t.add_bos() && t.bos() != tok::kNoToken && (ids.empty() || ids[0] != t.bos())) ids.insert(ids.begin(), t.bos());
    return ids;
}

}  // namespace r1
