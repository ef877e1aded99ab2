// Chat templates: turning a conversation into the prompt text a model was trained on.
//
// A GGUF file carries its Jinja chat template as text (`tokenizer.chat_template`). r1 does not run Jinja: it
// recognises the text as one of the templates it knows and renders that template with a hand-written renderer
// that produces exactly what Jinja2 (as transformers' apply_chat_template runs it) produces, byte for byte.
// An unrecognised template is an error unless the caller names a built-in template. See README.md.
//
//   TemplateId id = select_template(gguf_template_text, user_choice);   // throws on an unknown template
//   RenderInfo info;
//   std::string prompt = render(id, messages, options, &info);
//   if (info.opens_think) { /* the model's first output tokens are inside a thought */ }
//
// Thread safety: every function here is pure (no shared mutable state) and may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace r1::chat {

// The rendering behaviours r1 knows. Several template texts may map to one id: llama.cpp's reformatted copy
// of the R1-Distill-Llama template renders exactly like the official R1 template, so both are R1Distill.
enum class TemplateId {
    R1Distill,             // "r1-distill": the official R1-Distill template; prompt ends "<｜Assistant｜><think>\n"
    R1DistillLegacy,       // "r1-distill-legacy": its first release; the prompt ends "<｜Assistant｜>" (no <think>)
    R1DistillQwenLlamaCpp, // "r1-distill-qwen-llama-cpp": llama.cpp's edit of the Qwen distill template; tool
                           //   arguments pass through tojson, a tool-call turn may also carry content, and
                           //   enable_thinking=false closes the thought in the prompt ("<think>\n</think>")
    Qwen3,                 // "qwen3": Qwen3's ChatML template (reasoning_content, enable_thinking, tool calls)
};

inline constexpr TemplateId kAllTemplates[] = {
    TemplateId::R1Distill,
    TemplateId::R1DistillLegacy,
    TemplateId::R1DistillQwenLlamaCpp,
    TemplateId::Qwen3,
};

// One tool call of an assistant turn, in OpenAI's shape {type, function: {name, arguments}}.
struct ToolCall {
    std::string type = "function";
    std::string name;
    std::string arguments;  // JSON text, as OpenAI's API carries it; the templates receive it as a string
};

// One turn. The templates see it as the dict {role, content, reasoning_content?, tool_calls?}: content is None
// when content_is_null, reasoning_content is present only when set, tool_calls only when non-empty.
// Text is UTF-8; bytes that are not valid UTF-8 are copied through unchanged.
struct Message {
    std::string role;  // "system", "user", "assistant", "tool"; the templates skip other roles
    std::string content;
    bool content_is_null = false;  // content is None: an assistant turn that only calls tools
    std::optional<std::string> reasoning_content;  // Qwen3 only: the thought of an assistant turn
    std::vector<ToolCall> tool_calls;
};

// The variables the template receives besides `messages`.
struct RenderOptions {
    bool add_generation_prompt = true;  // end with the opening of an assistant turn
    bool enable_thinking = true;        // r1-distill-qwen-llama-cpp and qwen3 read it; the others ignore it
    std::string bos_token;  // the R1 templates start with it; pass "" when the tokenizer adds BOS itself
    std::string eos_token;  // no built-in template reads it; kept for parity with the Jinja variables
};

// Facts about one rendered prompt that the runtime needs.
struct RenderInfo {
    // The generation prompt was written: add_generation_prompt was set, and (R1 templates) the conversation
    // does not end with tool output, after which the R1 templates write no prompt at all.
    bool generation_prompt_added = false;
    // The prompt ends inside an opened thought ("<think>\n"), so the model's output starts as thinking and
    // usually carries no opening <think> tag.
    bool opens_think = false;
};

// The stable name of a template ("r1-distill", ...); "unknown" for a value outside the enum.
const char* template_name(TemplateId id);

// The template with that exact name, or nullopt.
std::optional<TemplateId> template_by_name(std::string_view name);

// The Jinja text of a built-in template: the text its renderer reproduces. Empty for an id outside the enum.
std::string_view template_text(TemplateId id);

// xxh64 (seed 0) of a template text, as identify() computes it.
uint64_t template_fingerprint(std::string_view template_text);

enum class MatchKind {
    Fingerprint,  // the text is byte-identical to a known template text
    Structure,    // the text differs only in ways that cannot change the output (whitespace inside tags,
                  // whitespace removed by Jinja's trimming, quote style, x['key'] versus x.key, comments)
};

struct Recognition {
    TemplateId id;
    MatchKind how;
};

// Recognises a template text: by fingerprint first, then by structure (the text's Jinja token stream, with
// whitespace that never reaches the output removed, equals that of a known template). Conservative: a text
// that could render differently from every built-in template is not recognised, nor is one more than 16 times
// the size of the largest built-in form. Never throws (except std::bad_alloc).
std::optional<Recognition> recognize(std::string_view template_text);

// recognize(template_text)->id, or nullopt.
std::optional<TemplateId> identify(std::string_view template_text);

// A built-in template whose markers the text carries, for error messages only; never used to render.
std::optional<TemplateId> resemble(std::string_view template_text);

// Chooses the template for a model. A non-empty name selects that built-in template (the caller's fallback)
// whatever the file carries; otherwise the file's template text must be recognised.
// Throws r1::Error: R1_ERR_INVALID_ARGUMENT for an unknown name; R1_ERR_UNSUPPORTED when the text is empty or
// not recognised (the message gives its fingerprint, and the closest built-in template when there is one).
TemplateId select_template(std::string_view template_text, std::string_view name);

// Whether the template's generation prompt ends with an opened "<think>\n" under these options (ignoring the
// R1 templates' rule that writes no prompt after tool output; render()'s RenderInfo accounts for that).
bool generation_prompt_opens_think(TemplateId id, const RenderOptions& options);

// Renders the conversation exactly as Jinja2 renders the template. Fills *info when info is not null.
// Throws r1::Error(R1_ERR_INVALID_ARGUMENT) where Jinja2 would raise, and for an id outside the enum. Jinja2
// raises on a null content that the template concatenates or calls a method on: user and tool turns for the
// R1 templates; system, user and assistant turns for Qwen3. Qwen3 also raises on an empty conversation. A null
// system content under R1, and a null tool content under Qwen3, print as "None", as in Jinja2.
std::string render(TemplateId id, const std::vector<Message>& messages, const RenderOptions& options,
                   RenderInfo* info = nullptr);

}  // namespace r1::chat
