// Tests for src/chat: renderings byte-equal to Jinja2's, template recognition, and errors.
// The fixture tests (shared/fixtures/templates) skip when the fixtures are absent; the rest run anywhere.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "../src/chat/builtin_templates.h"
#include "../src/chat/chat_template.h"
#include "../src/error.h"
#include "test_util.h"

using namespace r1::chat;
using nlohmann::json;

namespace {

// Messages as the fixtures write them (the OpenAI shape Jinja2 received).
std::vector<Message> messages_from_json(const json& list) {
    std::vector<Message> messages;
    for (const json& m : list) {
        Message message;
        message.role = m.at("role").get<std::string>();
        if (m.at("content").is_null()) {
            message.content_is_null = true;
        } else {
            message.content = m.at("content").get<std::string>();
        }
        if (m.contains("reasoning_content") && !m["reasoning_content"].is_null()) {
            message.reasoning_content = m["reasoning_content"].get<std::string>();
        }
        if (m.contains("tool_calls")) {
            for (const json& call : m["tool_calls"]) {
                ToolCall tool_call;
                tool_call.type = call.at("type").get<std::string>();
                tool_call.name = call.at("function").at("name").get<std::string>();
                tool_call.arguments = call.at("function").at("arguments").get<std::string>();
                message.tool_calls.push_back(tool_call);
            }
        }
        messages.push_back(message);
    }
    return messages;
}

RenderOptions options_from_json(const json& record) {
    RenderOptions options;
    options.add_generation_prompt = record.at("add_generation_prompt").get<bool>();
    options.enable_thinking = record.at("enable_thinking").get<bool>();
    options.bos_token = record.at("bos_token").get<std::string>();
    if (record.contains("eos_token")) options.eos_token = record["eos_token"].get<std::string>();
    return options;
}

// "" when equal, else the first differing byte offset with 40 bytes of context on each side (JSON-escaped).
std::string first_difference(const std::string& expected, const std::string& got) {
    if (expected == got) return "";
    size_t at = 0;
    while (at < expected.size() && at < got.size() && expected[at] == got[at]) at++;
    const size_t from = at > 40 ? at - 40 : 0;
    const auto context = [&](const std::string& s) {
        return json(s.substr(std::min(from, s.size()), 80)).dump(-1, ' ', false, json::error_handler_t::replace);
    };
    std::ostringstream out;
    out << "first difference at byte " << at << " (expected " << expected.size() << " bytes, got " << got.size()
        << ")\n  expected: " << context(expected) << "\n  got:      " << context(got);
    return out.str();
}

std::string read_text(const std::string& path) {
    std::vector<unsigned char> bytes;
    REQUIRE_MESSAGE(r1test::read_file(path, bytes), "cannot read " << path);
    return std::string(bytes.begin(), bytes.end());
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
        s.replace(at, from.size(), to);
    }
    return s;
}

std::string replace_once(const std::string& s, const std::string& from, const std::string& to) {
    size_t at = s.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, "test edit not applicable: " << from);
    return s.substr(0, at) + to + s.substr(at + from.size());
}

r1_status status_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const r1::Error& e) {
        return e.status();
    }
    return R1_OK;
}

const char* const kFixtureTemplates[][2] = {
    {"r1-distill.jinja", "r1-distill"},
    {"r1-distill-llama.llama-cpp-edit.jinja", "r1-distill"},
    {"r1-distill-qwen.llama-cpp-edit.jinja", "r1-distill-qwen-llama-cpp"},
    {"qwen3.jinja", "qwen3"},
};

// Edge cases beyond the fixtures, rendered by Jinja2 3.1.6 in the fixtures' environment (trim_blocks,
// lstrip_blocks, tojson = json.dumps(ensure_ascii=False)); "error" names the exception Jinja2 raised.
const char* const kJinjaCases = R"JSON(
[
{"name": "qwen3-reasoning-content-last", "template": "qwen3", "bos_token": "", "add_generation_prompt": false, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "q"},
  {"role": "assistant", "content": "answer", "reasoning_content": "\nI think.\n\n"}],
 "rendered": "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\nI think.\n</think>\n\nanswer<|im_end|>\n"},
{"name": "qwen3-reasoning-content-before-last-query", "template": "qwen3", "bos_token": "", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "q1"},
  {"role": "assistant", "content": "a1", "reasoning_content": "r1"},
  {"role": "user", "content": "q2"}],
 "rendered": "<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n<|im_start|>user\nq2<|im_end|>\n<|im_start|>assistant\n"},
{"name": "qwen3-reasoning-empty-not-last", "template": "qwen3", "bos_token": "", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "q"},
  {"role": "assistant", "content": "a1", "reasoning_content": ""},
  {"role": "assistant", "content": "a2"}],
 "rendered": "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\na2<|im_end|>\n<|im_start|>assistant\n"},
{"name": "qwen3-multi-step-tools", "template": "qwen3", "bos_token": "", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "system", "content": "sys"},
  {"role": "user", "content": "weather?"},
  {"role": "assistant", "content": "\n\nlet me call", "reasoning_content": "need tool", "tool_calls": [{"type": "function", "function": {"name": "get", "arguments": "{\"a\": 1}"}}, {"type": "function", "function": {"name": "get2", "arguments": "{}"}}]},
  {"role": "tool", "content": "r1"},
  {"role": "tool", "content": null},
  {"role": "assistant", "content": "<think>\nok\n</think>\n\nIt is sunny."}],
 "rendered": "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nweather?<|im_end|>\n<|im_start|>assistant\n<think>\nneed tool\n</think>\n\nlet me call\n<tool_call>\n{\"name\": \"get\", \"arguments\": {\"a\": 1}}\n</tool_call>\n<tool_call>\n{\"name\": \"get2\", \"arguments\": {}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nr1\n</tool_response>\n<tool_response>\nNone\n</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\nok\n</think>\n\nIt is sunny.<|im_end|>\n<|im_start|>assistant\n"},
{"name": "qwen3-tool-response-user", "template": "qwen3", "bos_token": "", "add_generation_prompt": false, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "real question"},
  {"role": "assistant", "content": "<think>t</think>a"},
  {"role": "user", "content": "<tool_response>x</tool_response>"},
  {"role": "assistant", "content": "<think>t2</think>b"}],
 "rendered": "<|im_start|>user\nreal question<|im_end|>\n<|im_start|>assistant\n<think>\nt\n</think>\n\na<|im_end|>\n<|im_start|>user\n<tool_response>x</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\nt2\n</think>\n\nb<|im_end|>\n"},
{"name": "qwen3-thinking-off", "template": "qwen3", "bos_token": "", "add_generation_prompt": true, "enable_thinking": false,
 "messages": [
  {"role": "user", "content": "hi"}],
 "rendered": "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"},
{"name": "qwen3-system-later", "template": "qwen3", "bos_token": "", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "system", "content": "late system"},
  {"role": "assistant", "content": "b"}],
 "rendered": "<|im_start|>user\na<|im_end|>\n<|im_start|>system\nlate system<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nb<|im_end|>\n<|im_start|>assistant\n"},
{"name": "qwen3-think-without-close", "template": "qwen3", "bos_token": "", "add_generation_prompt": false, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "assistant", "content": "<think>unfinished"}],
 "rendered": "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n<think>unfinished<|im_end|>\n"},
{"name": "qwen3-two-closes", "template": "qwen3", "bos_token": "", "add_generation_prompt": false, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "assistant", "content": "<think>x</think>y</think>\n\nz"}],
 "rendered": "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\n<think>\nx\n</think>\n\nz<|im_end|>\n"},
{"name": "qwen3-empty-content-tool-call", "template": "qwen3", "bos_token": "", "add_generation_prompt": false, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]}],
 "rendered": "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call><|im_end|>\n"},
{"name": "qwen3-odd-roles", "template": "qwen3", "bos_token": "", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "developer", "content": "dev"},
  {"role": "", "content": null},
  {"role": "assistant", "content": "b"}],
 "rendered": "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nb<|im_end|>\n<|im_start|>assistant\n"},
{"name": "qwen3-no-messages", "template": "qwen3", "bos_token": "", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [],
 "error": "UndefinedError"},
{"name": "qwen3-null-assistant", "template": "qwen3", "bos_token": "", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]}],
 "error": "TypeError"},
{"name": "qwen3-null-system", "template": "qwen3", "bos_token": "", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "system", "content": null},
  {"role": "user", "content": "a"}],
 "error": "TypeError"},
{"name": "r1-null-system", "template": "r1-distill", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "system", "content": null},
  {"role": "user", "content": "a"}],
 "rendered": "<\uff5cbegin\u2581of\u2581sentence\uff5c>None<\uff5cUser\uff5c>a<\uff5cAssistant\uff5c><think>\n"},
{"name": "r1-two-systems-middle", "template": "r1-distill", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "system", "content": "s1"},
  {"role": "assistant", "content": "b"},
  {"role": "system", "content": "s2"},
  {"role": "user", "content": "c"}],
 "rendered": "<\uff5cbegin\u2581of\u2581sentence\uff5c>s2<\uff5cUser\uff5c>a<\uff5cAssistant\uff5c>b<\uff5cend\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>c<\uff5cAssistant\uff5c><think>\n"},
{"name": "r1-tool-call-chain", "template": "r1-distill", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}}, {"type": "function", "function": {"name": "g", "arguments": "{}"}}]},
  {"role": "tool", "content": "o1"},
  {"role": "tool", "content": "o2"},
  {"role": "assistant", "content": "<think>t</think>after tools"},
  {"role": "user", "content": "again"},
  {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "h", "arguments": "[]"}}, {"type": "function", "function": {"name": "k", "arguments": "null"}}]},
  {"role": "tool", "content": "o3"}],
 "rendered": "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>a<\uff5cAssistant\uff5c><\uff5ctool\u2581calls\u2581begin\uff5c><\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>f\n```json\n{\"x\": 1}\n```<\uff5ctool\u2581call\u2581end\uff5c>\n<\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>g\n```json\n{}\n```<\uff5ctool\u2581call\u2581end\uff5c><\uff5ctool\u2581calls\u2581end\uff5c><\uff5cend\u2581of\u2581sentence\uff5c><\uff5ctool\u2581outputs\u2581begin\uff5c><\uff5ctool\u2581output\u2581begin\uff5c>o1<\uff5ctool\u2581output\u2581end\uff5c>\n<\uff5ctool\u2581output\u2581begin\uff5c>o2<\uff5ctool\u2581output\u2581end\uff5c><\uff5ctool\u2581outputs\u2581end\uff5c><think>t</think>after tools<\uff5cend\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>again\n<\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>h\n```json\n[]\n```<\uff5ctool\u2581call\u2581end\uff5c><\uff5ctool\u2581calls\u2581end\uff5c><\uff5cend\u2581of\u2581sentence\uff5c>\n<\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>k\n```json\nnull\n```<\uff5ctool\u2581call\u2581end\uff5c><\uff5ctool\u2581calls\u2581end\uff5c><\uff5cend\u2581of\u2581sentence\uff5c>\n<\uff5ctool\u2581output\u2581begin\uff5c>o3<\uff5ctool\u2581output\u2581end\uff5c><\uff5ctool\u2581outputs\u2581end\uff5c>"},
{"name": "r1-tool-call-with-content", "template": "r1-distill", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "assistant", "content": "text", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]}],
 "rendered": "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>a<\uff5cAssistant\uff5c>text<\uff5cend\u2581of\u2581sentence\uff5c><\uff5cAssistant\uff5c><think>\n"},
{"name": "r1-null-assistant-no-calls", "template": "r1-distill", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "assistant", "content": null}],
 "rendered": "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>a<\uff5cAssistant\uff5c><think>\n"},
{"name": "r1-odd-roles", "template": "r1-distill", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "developer", "content": "dev"},
  {"role": "user", "content": "a"},
  {"role": "Assistant", "content": "x"}],
 "rendered": "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>a<\uff5cAssistant\uff5c><think>\n"},
{"name": "r1-null-user", "template": "r1-distill", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": null}],
 "error": "TypeError"},
{"name": "r1-null-tool", "template": "r1-distill", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "tool", "content": null}],
 "error": "TypeError"},
{"name": "r1-empty", "template": "r1-distill", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [],
 "rendered": "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cAssistant\uff5c><think>\n"},
{"name": "r1-legacy-prompt", "template": "r1-distill-legacy", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "system", "content": "s"},
  {"role": "user", "content": "a"},
  {"role": "assistant", "content": "<think>x</think>b"},
  {"role": "user", "content": "c"}],
 "rendered": "<\uff5cbegin\u2581of\u2581sentence\uff5c>s<\uff5cUser\uff5c>a<\uff5cAssistant\uff5c>b<\uff5cend\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>c<\uff5cAssistant\uff5c>"},
{"name": "r1-legacy-tool-end", "template": "r1-distill-legacy", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]},
  {"role": "tool", "content": "o"}],
 "rendered": "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>a<\uff5cAssistant\uff5c><\uff5ctool\u2581calls\u2581begin\uff5c><\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>f\n```json\n{}\n```<\uff5ctool\u2581call\u2581end\uff5c><\uff5ctool\u2581outputs\u2581begin\uff5c><\uff5ctool\u2581output\u2581begin\uff5c>o<\uff5ctool\u2581output\u2581end\uff5c><\uff5ctool\u2581outputs\u2581end\uff5c>"},
{"name": "r1-qwen-edit-tojson", "template": "r1-distill-qwen-llama-cpp", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": true,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{\"s\": \"q\\\"\\\\ \n\t\u0001\u007f \u00e9 \ud83d\ude00\"}"}}, {"type": "function", "function": {"name": "g", "arguments": ""}}]},
  {"role": "tool", "content": "o"},
  {"role": "assistant", "content": "done"}],
 "rendered": "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>a<\uff5cAssistant\uff5c><\uff5ctool\u2581calls\u2581begin\uff5c><\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>f\n```json\n\"{\\\"s\\\": \\\"q\\\\\\\"\\\\\\\\ \\n\\t\\u0001\u007f \u00e9 \ud83d\ude00\\\"}\"\n```<\uff5ctool\u2581call\u2581end\uff5c>\n<\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>g\n```json\n\"\"\n```<\uff5ctool\u2581call\u2581end\uff5c><\uff5ctool\u2581calls\u2581end\uff5c><\uff5cend\u2581of\u2581sentence\uff5c><\uff5cAssistant\uff5c><\uff5cend\u2581of\u2581sentence\uff5c><\uff5ctool\u2581outputs\u2581begin\uff5c><\uff5ctool\u2581output\u2581begin\uff5c>o<\uff5ctool\u2581output\u2581end\uff5c><\uff5ctool\u2581outputs\u2581end\uff5c>done<\uff5cend\u2581of\u2581sentence\uff5c><\uff5cAssistant\uff5c><think>\n"},
{"name": "r1-qwen-edit-calls-twice", "template": "r1-distill-qwen-llama-cpp", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": false,
 "messages": [
  {"role": "user", "content": "a"},
  {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "1"}}]},
  {"role": "user", "content": "b"},
  {"role": "assistant", "content": "<think>x</think>y", "tool_calls": [{"type": "function", "function": {"name": "g", "arguments": "2"}}]}],
 "rendered": "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>a<\uff5cAssistant\uff5c><\uff5ctool\u2581calls\u2581begin\uff5c><\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>f\n```json\n\"1\"\n```<\uff5ctool\u2581call\u2581end\uff5c><\uff5ctool\u2581calls\u2581end\uff5c><\uff5cend\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>b\n<\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>g\n```json\n\"2\"\n```<\uff5ctool\u2581call\u2581end\uff5c><\uff5ctool\u2581calls\u2581end\uff5c><\uff5cend\u2581of\u2581sentence\uff5c><\uff5cAssistant\uff5c>y<\uff5cend\u2581of\u2581sentence\uff5c><\uff5cAssistant\uff5c><think>\n</think>"},
{"name": "r1-qwen-edit-thinking-off", "template": "r1-distill-qwen-llama-cpp", "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "add_generation_prompt": true, "enable_thinking": false,
 "messages": [
  {"role": "user", "content": "hi"}],
 "rendered": "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>hi<\uff5cAssistant\uff5c><think>\n</think>"}
]
)JSON";

}  // namespace

TEST_CASE("chat: every golden rendering in the fixtures is reproduced byte for byte") {
    R1_REQUIRE_FIXTURES(dir);
    std::ifstream in(dir + "/templates/rendered.jsonl", std::ios::binary);
    REQUIRE(in);
    std::map<std::string, TemplateId> by_file;
    size_t total = 0, passed = 0;
    std::string line;
    while (std::getline(in, line)) {
        const json record = json::parse(line);
        const std::string file = record.at("template_file").get<std::string>();
        if (!by_file.count(file)) {
            std::optional<TemplateId> id = identify(read_text(dir + "/" + file));
            REQUIRE_MESSAGE(id.has_value(), file << " is not recognised");
            by_file[file] = *id;
        }
        const TemplateId id = by_file[file];
        RenderInfo info;
        std::string got;
        try {
            got = render(id, messages_from_json(record.at("messages")), options_from_json(record), &info);
        } catch (const r1::Error& e) {
            got = std::string("<threw: ") + e.what() + ">";
        }
        const std::string expected = record.at("rendered").get<std::string>();
        const std::string diff = first_difference(expected, got);
        total++;
        if (diff.empty()) {
            passed++;
        } else {
            FAIL_CHECK(record.at("id").get<std::string>() << " (" << template_name(id) << ", "
                       << record.at("conversation").get<std::string>() << "): " << diff);
        }
        // The prompt ends in an opened thought exactly when render() says so.
        const bool ends_in_think = got.size() >= 8 && got.compare(got.size() - 8, 8, "<think>\n") == 0;
        CHECK(info.opens_think == (ends_in_think && record.at("add_generation_prompt").get<bool>()));
    }
    MESSAGE(passed << "/" << total << " golden renderings match");
    CHECK(total == 220);
    CHECK(passed == total);
}

TEST_CASE("chat: edge cases match Jinja2 (reasoning_content, tool calls, null content, odd roles)") {
    const json cases = json::parse(kJinjaCases);
    REQUIRE(cases.size() >= 20);
    for (const json& c : cases) {
        const std::string name = c.at("name").get<std::string>();
        INFO(name);
        const std::optional<TemplateId> id = template_by_name(c.at("template").get<std::string>());
        REQUIRE(id.has_value());
        const std::vector<Message> messages = messages_from_json(c.at("messages"));
        const RenderOptions options = options_from_json(c);
        if (c.contains("error")) {
            CHECK(status_of([&] { render(*id, messages, options); }) == R1_ERR_INVALID_ARGUMENT);
        } else {
            std::string got;
            CHECK_NOTHROW(got = render(*id, messages, options));
            const std::string diff = first_difference(c.at("rendered").get<std::string>(), got);
            CHECK_MESSAGE(diff.empty(), diff);
        }
    }
}

TEST_CASE("chat: the fixture templates are recognised by fingerprint") {
    R1_REQUIRE_FIXTURES(dir);
    for (const auto& entry : kFixtureTemplates) {
        INFO(std::string(entry[0]));
        const std::string text = read_text(dir + "/templates/" + entry[0]);
        const std::optional<Recognition> recognition = recognize(text);
        REQUIRE(recognition.has_value());
        CHECK(std::string(template_name(recognition->id)) == entry[1]);
        CHECK(recognition->how == MatchKind::Fingerprint);
    }
    // The embedded texts are the fixture files, byte for byte.
    CHECK(template_text(TemplateId::R1Distill) == read_text(dir + "/templates/r1-distill.jinja"));
    CHECK(template_text(TemplateId::R1DistillQwenLlamaCpp) ==
          read_text(dir + "/templates/r1-distill-qwen.llama-cpp-edit.jinja"));
    CHECK(template_text(TemplateId::Qwen3) == read_text(dir + "/templates/qwen3.jinja"));
}

TEST_CASE("chat: the built-in texts carry their fingerprints") {
    for (const detail::KnownText& known : detail::kKnownTexts) {
        INFO(std::string(known.source));
        CHECK(template_fingerprint(known.text) == known.fingerprint);
        const std::optional<Recognition> recognition = recognize(known.text);
        REQUIRE(recognition.has_value());
        CHECK(recognition->id == known.id);
        CHECK(recognition->how == MatchKind::Fingerprint);
        // Every built-in text has a structural form too: a copy with a trailing newline is recognised by it.
        const std::optional<Recognition> copy = recognize(std::string(known.text) + "\n");
        REQUIRE(copy.has_value());
        CHECK(copy->id == known.id);
        CHECK(copy->how == MatchKind::Structure);
    }
    for (TemplateId id : kAllTemplates) CHECK(identify(template_text(id)) == id);
    // The legacy template is the official one without "<think>\n" in the generation prompt.
    CHECK(replace_once(std::string(template_text(TemplateId::R1Distill)), R"({{'<｜Assistant｜><think>\n'}})",
                       R"({{'<｜Assistant｜>'}})") == template_text(TemplateId::R1DistillLegacy));
}

TEST_CASE("chat: reformatted copies are recognised by structure") {
    const std::string r1(template_text(TemplateId::R1Distill));
    const std::string qwen3(template_text(TemplateId::Qwen3));
    const std::string qwen_edit(template_text(TemplateId::R1DistillQwenLlamaCpp));
    struct Variant {
        const char* what;
        std::string text;
        TemplateId id;
    };
    const Variant variants[] = {
        {"a trailing newline (Jinja2 drops one)", r1 + "\n", TemplateId::R1Distill},
        {"CRLF line ends", replace_all(qwen3, "\n", "\r\n"), TemplateId::Qwen3},
        {"spaces inside tags", replace_all(replace_all(r1, "{{bos_token}}", "{{ bos_token }}"), "{%- ", "{%-\t  "),
         TemplateId::R1Distill},
        {"one tag per line, trimmed by '-'", replace_all(r1, "%}{%- ", "%}\n  {%- "), TemplateId::R1Distill},
        {"double quotes", replace_all(r1, "'<｜User｜>'", "\"<｜User｜>\""), TemplateId::R1Distill},
        {"attribute access", replace_all(r1, "message['content']", "message.content"), TemplateId::R1Distill},
        {"a comment", "{# DeepSeek R1 #}" + r1, TemplateId::R1Distill},
        {"re-indented", replace_all(qwen3, "\n    ", "\n\t"), TemplateId::Qwen3},
        {"lines joined", replace_all(qwen3, "\n", ""), TemplateId::Qwen3},
        {"reformatted legacy",
         replace_once(r1, R"({{'<｜Assistant｜><think>\n'}})", "{{ '<｜Assistant｜>' }}"),
         TemplateId::R1DistillLegacy},
        {"escaped newline in a literal", replace_all(qwen_edit, "'\\n' + '```json'", "\"\\x0a\" + '```json'"),
         TemplateId::R1DistillQwenLlamaCpp},
    };
    for (const Variant& v : variants) {
        INFO(std::string(v.what));
        REQUIRE(v.text != template_text(v.id));
        const std::optional<Recognition> recognition = recognize(v.text);
        REQUIRE(recognition.has_value());
        CHECK(recognition->id == v.id);
        CHECK(recognition->how == MatchKind::Structure);
    }
}

TEST_CASE("chat: llama.cpp's copy of the Llama template has the official template's structure") {
    R1_REQUIRE_FIXTURES(dir);
    std::string edit = read_text(dir + "/templates/r1-distill-llama.llama-cpp-edit.jinja");
    edit += "\n";  // no longer byte-identical, so only the structure can match
    const std::optional<Recognition> recognition = recognize(edit);
    REQUIRE(recognition.has_value());
    CHECK(recognition->id == TemplateId::R1Distill);
    CHECK(recognition->how == MatchKind::Structure);
}

TEST_CASE("chat: templates that could render differently are not recognised") {
    const std::string r1(template_text(TemplateId::R1Distill));
    const std::string qwen3(template_text(TemplateId::Qwen3));
    const std::string qwen_edit(template_text(TemplateId::R1DistillQwenLlamaCpp));
    struct Variant {
        const char* what;
        std::string text;
    };
    const Variant variants[] = {
        {"empty", ""},
        {"ChatML", "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"},
        {"text between tags",
         replace_once(r1, "{{bos_token}}{{ns.system_prompt}}", "{{bos_token}} {{ns.system_prompt}}")},
        {"a marker changed", replace_once(r1, "'<｜User｜>'", "'<｜user｜>'")},
        {"thoughts kept", replace_once(r1, "{% set content = content.split('</think>')[-1] %}", "")},
        {"a '-' that mattered removed",
         replace_once(qwen3, "{{- '<|im_start|>assistant\\n' }}", "{{ '<|im_start|>assistant\\n' }}")},
        {"a space inside a literal", replace_once(qwen3, "'<|im_end|>\\n'", "'<|im_end|> \\n'")},
        {"subscript of a method name", replace_all(r1, "message['content']", "message['items']")},
        {"a subscript as a set target (a syntax error in Jinja2)",
         replace_once(r1, "{% set ns.system_prompt = message['content'] %}",
                      "{% set ns['system_prompt'] = message['content'] %}")},
        {"raw block", "{% raw %}" + r1 + "{% endraw %}"},
        {"unclosed tag", r1.substr(0, r1.size() - 2)},
        {"invalid UTF-8", replace_once(r1, "｜User", "\xff" "User")},
        {"visible text before a tag",
         replace_once(qwen3, "{{- '<|im_start|>system\\n' }}", "x{{ '<|im_start|>system\\n' }}")},
        // lstrip_blocks removes a vertical tab before a tag in Jinja2 3.1 but not in 3.0: not claimed.
        {"a vertical tab before the first tag", "\v" + qwen_edit},
    };
    for (const Variant& v : variants) {
        INFO(std::string(v.what));
        CHECK_FALSE(recognize(v.text).has_value());
    }
    // Spaces and tabs before a first block tag go (lstrip_blocks); so does any whitespace before "{{-", U+3000
    // included (Python's str.rstrip).
    CHECK(identify(" \t" + qwen_edit) == TemplateId::R1DistillQwenLlamaCpp);
    CHECK(identify(replace_once(qwen3, "{{- '<|im_start|>system\\n' }}", "\u3000\n {{- '<|im_start|>system\\n' }}")) ==
          TemplateId::Qwen3);
}

TEST_CASE("chat: names") {
    for (TemplateId id : kAllTemplates) {
        CHECK(template_by_name(template_name(id)) == id);
        CHECK(!template_text(id).empty());
    }
    CHECK(template_by_name("r1-distill") == TemplateId::R1Distill);
    CHECK(template_by_name("r1-distill-legacy") == TemplateId::R1DistillLegacy);
    CHECK(template_by_name("r1-distill-qwen-llama-cpp") == TemplateId::R1DistillQwenLlamaCpp);
    CHECK(template_by_name("qwen3") == TemplateId::Qwen3);
    CHECK_FALSE(template_by_name("").has_value());
    CHECK_FALSE(template_by_name("R1-Distill").has_value());
    CHECK(std::string(template_name(static_cast<TemplateId>(99))) == "unknown");
}

TEST_CASE("chat: select_template") {
    const std::string r1(template_text(TemplateId::R1Distill));
    CHECK(select_template(r1, "") == TemplateId::R1Distill);
    CHECK(select_template("{{ anything }}", "qwen3") == TemplateId::Qwen3);  // the caller's choice wins
    CHECK(select_template("", "r1-distill-legacy") == TemplateId::R1DistillLegacy);
    CHECK(status_of([] { select_template("", ""); }) == R1_ERR_UNSUPPORTED);
    CHECK(status_of([] { select_template("{{ messages }}", ""); }) == R1_ERR_UNSUPPORTED);
    CHECK(status_of([&] { select_template(r1, "no-such-template"); }) == R1_ERR_INVALID_ARGUMENT);
    try {
        select_template(replace_once(r1, "'<｜User｜>'", "'<｜User｜> '"), "");
        FAIL("an edited R1 template was accepted");
    } catch (const r1::Error& e) {
        const std::string message = e.what();
        CHECK(message.find("xxh64") != std::string::npos);
        CHECK(message.find("r1-distill") != std::string::npos);  // the hint names the closest built-in
    }
}

TEST_CASE("chat: generation prompt and the thinking state") {
    const std::vector<Message> question = {{"user", "hi", false, std::nullopt, {}}};
    RenderOptions on, off, none;
    off.enable_thinking = false;
    none.add_generation_prompt = false;
    struct Row {
        TemplateId id;
        bool on, off;
    };
    const Row rows[] = {{TemplateId::R1Distill, true, true},
                        {TemplateId::R1DistillLegacy, false, false},
                        {TemplateId::R1DistillQwenLlamaCpp, true, false},
                        {TemplateId::Qwen3, false, false}};
    for (const Row& row : rows) {
        INFO(std::string(template_name(row.id)));
        RenderInfo info;
        render(row.id, question, on, &info);
        CHECK(info.generation_prompt_added);
        CHECK(info.opens_think == row.on);
        CHECK(generation_prompt_opens_think(row.id, on) == row.on);
        render(row.id, question, off, &info);
        CHECK(info.opens_think == row.off);
        CHECK(generation_prompt_opens_think(row.id, off) == row.off);
        const std::string text = render(row.id, question, none, &info);
        CHECK_FALSE(info.generation_prompt_added);
        CHECK_FALSE(info.opens_think);
        CHECK_FALSE(generation_prompt_opens_think(row.id, none));
        CHECK(text.find("hi") != std::string::npos);
    }
    // After tool output the R1 templates write no generation prompt at all.
    Message call{"assistant", "", true, std::nullopt, {ToolCall{"function", "f", "{}"}}};
    const std::vector<Message> tool_turn = {question[0], call, {"tool", "42", false, std::nullopt, {}}};
    RenderInfo info;
    const std::string text = render(TemplateId::R1Distill, tool_turn, on, &info);
    CHECK_FALSE(info.generation_prompt_added);
    CHECK_FALSE(info.opens_think);
    CHECK(text.size() > 0);
}

TEST_CASE("chat: hostile input never crashes") {
    std::vector<Message> messages = {
        {"system", std::string("\xff\xfe\x00\x80 bad utf-8", 14), false, std::nullopt, {}},
        {"user", std::string(1 << 20, 'x') + "</think>", false, std::nullopt, {}},
        {"assistant", "</think></think>\xc3", false, std::string("\xe2\x82"), {ToolCall{"", "\"", "\x01\\\xff"}}},
        {std::string(100, '\0'), "odd role", false, std::nullopt, {}},
        {"tool", "<tool_response>", false, std::nullopt, {}},
        {"user", "</tool_response>", false, std::nullopt, {}},
    };
    for (TemplateId id : kAllTemplates) {
        INFO(std::string(template_name(id)));
        std::string text;
        CHECK_NOTHROW(text = render(id, messages, RenderOptions{}));
        CHECK(text.find("bad utf-8") != std::string::npos);  // bytes are copied through
    }
    CHECK(status_of([&] { render(static_cast<TemplateId>(-1), messages, RenderOptions{}); }) ==
          R1_ERR_INVALID_ARGUMENT);
    // Template texts that stress the lexer.
    const std::string stress[] = {
        std::string(1 << 20, '{'),
        std::string(100000, '[') + "{{",
        "{{" + std::string(10000, '(') + std::string(10000, ')') + "}}",
        "{% if %}{{ '\\",
        "{#",
        "{{ 'unterminated",
        std::string("{{ '\0' }}", 9),
        "{%- raw -%}",
        "\xed\xa0\x80",  // a UTF-16 surrogate, invalid in UTF-8
    };
    for (const std::string& s : stress) {
        CHECK_FALSE(recognize(s).has_value());
        CHECK_NOTHROW(resemble(s));
    }
}
