// The DeepSeek-R1-Distill templates (official, first release, llama.cpp's Qwen edit). They share one shape:
//
//   bos_token + <the last system message's content>
//   for each message:
//     user       -> "<｜User｜>" + content
//     assistant  -> tool calls (official: only when content is None; llama.cpp edit: whenever tool_calls is
//                   non-empty), then, when content is not None, "<｜Assistant｜>" + the text after the last
//                   "</think>" + "<｜end▁of▁sentence｜>" (or, right after tool output, the content unstripped)
//     tool       -> "<｜tool▁outputs▁begin｜>" on the first tool message of the whole conversation, then
//                   "<｜tool▁output▁begin｜>" + content + "<｜tool▁output▁end｜>"
//   "<｜tool▁outputs▁end｜>" when the last turn left tool output open, else the generation prompt.
//
// The template's namespace flags (is_first, is_output_first) are never reset between messages, so the
// markers that open a block of tool calls or tool outputs appear once per conversation, and the official
// template closes a block of tool calls only after its second call. That is the template's own behaviour
// and kept exactly.
#include <string_view>

#include "py_string.h"
#include "renderers.h"

namespace r1::chat::detail {

namespace {

constexpr std::string_view kUser = "<｜User｜>";
constexpr std::string_view kAssistant = "<｜Assistant｜>";
constexpr std::string_view kEndOfSentence = "<｜end▁of▁sentence｜>";
constexpr std::string_view kToolCallsBegin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view kToolCallsEnd = "<｜tool▁calls▁end｜>";
constexpr std::string_view kToolCallBegin = "<｜tool▁call▁begin｜>";
constexpr std::string_view kToolCallEnd = "<｜tool▁call▁end｜>";
constexpr std::string_view kToolSep = "<｜tool▁sep｜>";
constexpr std::string_view kToolOutputsBegin = "<｜tool▁outputs▁begin｜>";
constexpr std::string_view kToolOutputsEnd = "<｜tool▁outputs▁end｜>";
constexpr std::string_view kToolOutputBegin = "<｜tool▁output▁begin｜>";
constexpr std::string_view kToolOutputEnd = "<｜tool▁output▁end｜>";

TemplateId template_of(R1Variant variant) {
    switch (variant) {
        case R1Variant::Official: return TemplateId::R1Distill;
        case R1Variant::Legacy: return TemplateId::R1DistillLegacy;
        case R1Variant::QwenLlamaCpp: return TemplateId::R1DistillQwenLlamaCpp;
    }
    return TemplateId::R1Distill;
}

// tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\n```json\n' + arguments + '\n```<｜tool▁call▁end｜>'
void append_tool_call(std::string& out, R1Variant variant, const ToolCall& call) {
    out += kToolCallBegin;
    out += call.type;
    out += kToolSep;
    out += call.name;
    out += "\n```json\n";
    if (variant == R1Variant::QwenLlamaCpp) {
        append_json_string(out, call.arguments);  // tool['function']['arguments'] | tojson
    } else {
        out += call.arguments;
    }
    out += "\n```";
    out += kToolCallEnd;
}

}  // namespace

std::string render_r1(R1Variant variant, const std::vector<Message>& messages, const RenderOptions& options,
                      RenderInfo& info) {
    const TemplateId id = template_of(variant);

    // {% set ns.system_prompt = message['content'] %} for every system message: the last one wins, and a None
    // content prints as "None".
    const Message* system = nullptr;
    for (const Message& message : messages) {
        if (message.role == "system") system = &message;
    }
    std::string out = options.bos_token;
    if (system) out += system->content_is_null ? std::string_view("None") : std::string_view(system->content);

    bool tool_call_written = false;  // ns.is_first
    bool in_tool_output = false;     // ns.is_tool
    bool first_tool_output = true;   // ns.is_output_first
    for (size_t i = 0; i < messages.size(); i++) {
        const Message& message = messages[i];
        if (message.role == "user") {
            if (message.content_is_null) fail_null_content(id, i, message.role);
            in_tool_output = false;
            out += kUser;
            out += message.content;
        } else if (message.role == "assistant") {
            const bool writes_tool_calls =
                variant == R1Variant::QwenLlamaCpp ? !message.tool_calls.empty() : message.content_is_null;
            if (writes_tool_calls) {
                in_tool_output = false;
                for (const ToolCall& call : message.tool_calls) {
                    if (!tool_call_written) {
                        out += kAssistant;
                        out += kToolCallsBegin;
                        append_tool_call(out, variant, call);
                        tool_call_written = true;
                    } else {
                        out += '\n';
                        append_tool_call(out, variant, call);
                        if (variant != R1Variant::QwenLlamaCpp) {
                            out += kToolCallsEnd;
                            out += kEndOfSentence;
                        }
                    }
                }
                if (variant == R1Variant::QwenLlamaCpp) {
                    out += kToolCallsEnd;
                    out += kEndOfSentence;
                }
            }
            if (!message.content_is_null) {
                if (in_tool_output) {
                    // The reply after tool output closes the outputs block; its thought is not stripped.
                    out += kToolOutputsEnd;
                    out += message.content;
                    out += kEndOfSentence;
                    in_tool_output = false;
                } else {
                    // {% set content = content.split('</think>')[-1] %}: earlier thoughts are not fed back.
                    out += kAssistant;
                    out += split_last(message.content, "</think>");
                    out += kEndOfSentence;
                }
            }
        } else if (message.role == "tool") {
            if (message.content_is_null) fail_null_content(id, i, message.role);
            in_tool_output = true;
            if (first_tool_output) {
                out += kToolOutputsBegin;
                first_tool_output = false;
            } else {
                out += '\n';
            }
            out += kToolOutputBegin;
            out += message.content;
            out += kToolOutputEnd;
        }
        // system messages were placed at the start; other roles are not rendered.
    }

    info = RenderInfo{};
    if (in_tool_output) out += kToolOutputsEnd;
    if (options.add_generation_prompt && !in_tool_output) {
        out += kAssistant;
        info.generation_prompt_added = true;
        if (variant != R1Variant::Legacy) {
            out += "<think>\n";
            info.opens_think = true;
            if (variant == R1Variant::QwenLlamaCpp && !options.enable_thinking) {
                out += "</think>";
                info.opens_think = false;
            }
        }
    }
    return out;
}

}  // namespace r1::chat::detail
