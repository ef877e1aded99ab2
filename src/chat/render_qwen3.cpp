// Qwen3's ChatML template:
//
//   a first system message -> "<|im_start|>system\n" + content + "<|im_end|>\n"
//   user, and system after the first message -> "<|im_start|>" + role + "\n" + content + "<|im_end|>\n"
//   assistant -> "<|im_start|>assistant\n" + [a <think> block] + content + [tool calls] + "<|im_end|>\n"
//   a run of tool messages -> one user turn of "\n<tool_response>\n" + content + "\n</tool_response>" parts
//   generation prompt -> "<|im_start|>assistant\n", plus an empty closed thought when enable_thinking is false
//
// An assistant turn keeps its <think> block only after the last real user query (the last user message that
// is not a bare tool response), and then only when it is the final message or has a non-empty thought.
// The `tools` variable (function declarations) is not supported: r1 never passes it, so the template's
// `{%- if tools %}` branch is never taken.
#include <string_view>

#include "../error.h"
#include "py_string.h"
#include "renderers.h"

namespace r1::chat::detail {

std::string render_qwen3(const std::vector<Message>& messages, const RenderOptions& options, RenderInfo& info) {
    // messages[0].role on an empty list is an UndefinedError in Jinja2.
    if (messages.empty()) fail(R1_ERR_INVALID_ARGUMENT, "chat template qwen3 needs at least one message");
    const size_t n = messages.size();

    std::string out;
    if (messages[0].role == "system") {
        if (messages[0].content_is_null) fail_null_content(TemplateId::Qwen3, 0, messages[0].role);
        out += "<|im_start|>system\n";
        out += messages[0].content;
        out += "<|im_end|>\n";
    }

    // ns.last_query_index: scanning from the end, the first user message whose content is not wrapped in
    // <tool_response>...</tool_response>; n - 1 when there is none.
    size_t last_query_index = n - 1;
    for (size_t k = n; k-- > 0;) {
        const Message& message = messages[k];
        if (message.role != "user") continue;
        if (message.content_is_null) fail_null_content(TemplateId::Qwen3, k, message.role);
        if (!(starts_with(message.content, "<tool_response>") && ends_with(message.content, "</tool_response>"))) {
            last_query_index = k;
            break;
        }
    }

    for (size_t i = 0; i < n; i++) {
        const Message& message = messages[i];
        const bool last = i + 1 == n;
        if (message.role == "user" || (message.role == "system" && i != 0)) {
            if (message.content_is_null) fail_null_content(TemplateId::Qwen3, i, message.role);
            out += "<|im_start|>";
            out += message.role;
            out += '\n';
            out += message.content;
            out += "<|im_end|>\n";
        } else if (message.role == "assistant") {
            // '</think>' in None, or 'str' + None further on: a None content always fails here.
            if (message.content_is_null) fail_null_content(TemplateId::Qwen3, i, message.role);
            std::string_view content = message.content;
            std::string_view reasoning;
            if (message.reasoning_content) {
                reasoning = *message.reasoning_content;
            } else if (contains(content, "</think>")) {
                // content.split('</think>')[-1].lstrip('\n') and
                // content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n')
                reasoning = lstrip(split_last(rstrip(split_first(content, "</think>"), '\n'), "<think>"), '\n');
                content = lstrip(split_last(content, "</think>"), '\n');
            }
            out += "<|im_start|>assistant\n";
            if (i > last_query_index && (last || !reasoning.empty())) {
                out += "<think>\n";
                out += strip(reasoning, '\n');
                out += "\n</think>\n\n";
                out += lstrip(content, '\n');
            } else {
                out += content;
            }
            for (size_t c = 0; c < message.tool_calls.size(); c++) {
                const ToolCall& call = message.tool_calls[c];
                if (c > 0 || !content.empty()) out += '\n';
                // The arguments are a string (`tool_call.arguments is string`), so they are written as they are.
                out += "<tool_call>\n{\"name\": \"";
                out += call.name;
                out += "\", \"arguments\": ";
                out += call.arguments;
                out += "}\n</tool_call>";
            }
            out += "<|im_end|>\n";
        } else if (message.role == "tool") {
            if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
            out += "\n<tool_response>\n";
            out += message.content_is_null ? std::string_view("None") : std::string_view(message.content);
            out += "\n</tool_response>";
            if (last || messages[i + 1].role != "tool") out += "<|im_end|>\n";
        }
        // a first system message was written above; other roles are not rendered.
    }

    info = RenderInfo{};
    if (options.add_generation_prompt) {
        out += "<|im_start|>assistant\n";
        info.generation_prompt_added = true;
        // `enable_thinking is false`: the thought is closed before the model starts, so it answers directly.
        if (!options.enable_thinking) out += "<think>\n\n</think>\n\n";
    }
    return out;
}

}  // namespace r1::chat::detail
