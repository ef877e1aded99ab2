// libFuzzer target for the chat templates: the input is read as a template text (recognize, resemble,
// select_template) and, independently, as a conversation that is rendered with every built-in template.
// Any exception other than r1::Error, any sanitizer report, and any broken invariant (checked below) is a finding.
//
// Build and run (from the repository root):
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I. -Isrc tests/fuzz/fuzz_template.cpp
//       src/chat/*.cpp src/error.cpp -o fuzz_template
//   ./fuzz_template -max_total_time=60 -max_len=8192 tests/fuzz/corpus/template
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "chat/chat_template.h"
#include "error.h"

namespace {

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz_template: invariant broken: %s\n", what);
        __builtin_trap();
    }
}

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Text built from pieces the templates look for, mixed with raw bytes, so that the fuzzer reaches the
// <think> splitting, the tool-response test and the JSON escaping quickly.
std::string fuzz_text(FuzzedDataProvider& in) {
    static const char* const pieces[] = {"<think>", "</think>", "\n", "<tool_response>", "</tool_response>",
                                         "\"", "\\", "<｜Assistant｜>", "\x01", "\xff", "é"};
    std::string out;
    const size_t count = in.ConsumeIntegralInRange<size_t>(0, 6);
    for (size_t i = 0; i < count && in.remaining_bytes() > 0; i++) {
        if (in.ConsumeBool()) {
            out += pieces[in.ConsumeIntegralInRange<size_t>(0, sizeof pieces / sizeof pieces[0] - 1)];
        } else {
            out += in.ConsumeRandomLengthString(64);
        }
    }
    return out;
}

std::vector<r1::chat::Message> fuzz_messages(FuzzedDataProvider& in) {
    static const char* const roles[] = {"system", "user", "assistant", "tool", "developer", ""};
    std::vector<r1::chat::Message> messages;
    const size_t count = in.ConsumeIntegralInRange<size_t>(0, 12);
    for (size_t i = 0; i < count && in.remaining_bytes() > 0; i++) {
        r1::chat::Message message;
        const size_t role = in.ConsumeIntegralInRange<size_t>(0, 6);
        message.role = role < 6 ? roles[role] : in.ConsumeRandomLengthString(16);
        message.content_is_null = in.ConsumeIntegralInRange<int>(0, 7) == 0;
        if (!message.content_is_null) message.content = fuzz_text(in);
        if (in.ConsumeIntegralInRange<int>(0, 3) == 0) message.reasoning_content = fuzz_text(in);
        const size_t calls = in.ConsumeIntegralInRange<size_t>(0, 3);
        for (size_t c = 0; c < calls; c++) {
            r1::chat::ToolCall call;
            if (in.ConsumeBool()) call.type = in.ConsumeRandomLengthString(8);
            call.name = fuzz_text(in);
            call.arguments = fuzz_text(in);
            message.tool_calls.push_back(call);
        }
        messages.push_back(message);
    }
    return messages;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace r1::chat;
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    // The input as a template text. Metamorphic checks: Jinja2 drops one trailing newline and reads "\r\n" as
    // "\n", so both edits keep a recognized template recognized, as the same id.
    const std::optional<Recognition> recognition = recognize(text);
    if (recognition && size <= 16384) {
        check(template_name(recognition->id) != std::string("unknown"), "recognized an id outside the enum");
        if (text.find('\r') == std::string_view::npos) {
            if (!text.empty() && text.back() != '\n') {
                check(identify(std::string(text) + "\n") == recognition->id, "a trailing newline changed the id");
            }
            std::string crlf;
            for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
            check(identify(crlf) == recognition->id, "CRLF line ends changed the id");
        }
    }
    (void)resemble(text);
    try {
        const TemplateId id = select_template(text, "");
        check(recognition && id == recognition->id, "select_template disagrees with recognize");
    } catch (const r1::Error& e) {
        check(!recognition, "select_template rejected a recognized template");
        check(e.status() == R1_ERR_UNSUPPORTED, "select_template failed with an unexpected status");
    }

    // The input as a conversation.
    FuzzedDataProvider in(data, size);
    RenderOptions options;
    options.add_generation_prompt = in.ConsumeBool();
    options.enable_thinking = in.ConsumeBool();
    options.bos_token = in.ConsumeBool() ? "<｜begin▁of▁sentence｜>" : "";
    const std::vector<Message> messages = fuzz_messages(in);
    for (TemplateId id : kAllTemplates) {
        RenderInfo info;
        try {
            const std::string out = render(id, messages, options, &info);
            check(render(id, messages, options) == out, "render is not deterministic");
            check(!info.opens_think || ends_with(out, "<think>\n"), "opens_think without a trailing <think>");
            check(!info.opens_think || generation_prompt_opens_think(id, options), "opens_think disagrees");
            check(info.generation_prompt_added || !info.opens_think, "a thought opened without a prompt");
            check(options.add_generation_prompt || !info.generation_prompt_added, "a prompt nobody asked for");
            check(id == TemplateId::Qwen3 || out.compare(0, options.bos_token.size(), options.bos_token) == 0,
                  "an R1 prompt that does not start with the bos token");
        } catch (const r1::Error& e) {
            check(e.status() == R1_ERR_INVALID_ARGUMENT, "render failed with an unexpected status");
        }
    }
    return 0;
}
