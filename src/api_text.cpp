// The C ABI of text handling: tokenization, detokenization, special tokens, chat templates.
#include <string>
#include <vector>

#include "api_internal.h"
#include "chat/chat_template.h"
#include "model/model.h"
#include "session/chat_prompt.h"
#include "tokenizer/decoder.h"
#include "tokenizer/tokenizer.h"

using namespace r1api;

struct r1_detokenizer {
    std::shared_ptr<r1::Model> model;  // keeps the tokenizer alive
    r1::tok::StreamDecoder decoder;
    std::string text;
    r1_detokenizer(std::shared_ptr<r1::Model> m, bool render_special)
        : model(std::move(m)), decoder(model->tokenizer(), render_special) {}
};

namespace {

const r1::tok::Tokenizer& tokenizer_of(const r1_model* model) {
    require(model != nullptr, "model is NULL");
    return model->impl->tokenizer();
}

// Copies text into a caller's buffer with a NUL; BUFFER_TOO_SMALL (nothing written) when it does not fit.
void copy_text(const std::string& text, char* out, size_t size, size_t* out_length) {
    require(out_length != nullptr, "out_length is NULL");
    require(out != nullptr || size == 0, "text is NULL but size is not 0");
    *out_length = text.size();
    if (size < text.size() + 1)
        r1::fail(R1_ERR_BUFFER_TOO_SMALL, "the text needs %zu bytes (with its NUL); the buffer has %zu",
                 text.size() + 1, size);
    std::memcpy(out, text.data(), text.size());
    out[text.size()] = '\0';
}

}  // namespace

extern "C" {

R1_API r1_status r1_tokenize(const r1_model* model, const char* text, size_t length, uint32_t flags, int32_t* tokens,
                             size_t capacity, size_t* out_count) {
    return guard([&] {
        const r1::tok::Tokenizer& t = tokenizer_of(model);
        require(text != nullptr || length == 0, "text is NULL");
        require(out_count != nullptr, "out_count is NULL");
        require(tokens != nullptr || capacity == 0, "tokens is NULL but capacity is not 0");
        std::vector<int32_t> ids;
        t.tokenize(std::string_view(text ? text : "", length), (flags & R1_TOKENIZE_ADD_SPECIAL) != 0,
                   (flags & R1_TOKENIZE_PARSE_SPECIAL) != 0, ids, nullptr);
        *out_count = ids.size();
        if (capacity < ids.size())
            r1::fail(R1_ERR_BUFFER_TOO_SMALL, "the text makes %zu tokens; the buffer holds %zu", ids.size(), capacity);
        std::copy(ids.begin(), ids.end(), tokens);
    });
}

R1_API r1_status r1_detokenize(const r1_model* model, const int32_t* tokens, size_t count, uint32_t flags, char* text,
                               size_t size, size_t* out_length) {
    return guard([&] {
        const r1::tok::Tokenizer& t = tokenizer_of(model);
        require(tokens != nullptr || count == 0, "tokens is NULL");
        for (size_t i = 0; i < count; ++i)
            if (!t.valid(tokens[i]))
                r1::fail(R1_ERR_INVALID_ARGUMENT, "token %zu is %d, outside the vocabulary 0..%zu", i, tokens[i],
                         t.n_tokens() - 1);
        r1::tok::DetokenizeOptions o;
        o.render_special = (flags & R1_DETOKENIZE_RENDER_SPECIAL) != 0;
        o.remove_special = (flags & R1_DETOKENIZE_REMOVE_SPECIAL) != 0;
        copy_text(r1::tok::utf8_sanitize(t.detokenize(tokens, count, o)), text, size, out_length);
    });
}

R1_API r1_status r1_token_to_piece(const r1_model* model, int32_t token, uint32_t flags, const char** out_piece,
                                   size_t* out_length) {
    return guard([&] {
        const r1::tok::Tokenizer& t = tokenizer_of(model);
        require(out_piece != nullptr, "out_piece is NULL");
        if (!t.valid(token)) r1::fail(R1_ERR_INVALID_ARGUMENT, "token %d is outside the vocabulary", token);
        std::string_view piece = t.token_piece(token, (flags & R1_DETOKENIZE_RENDER_SPECIAL) != 0);
        *out_piece = piece.data();
        if (out_length) *out_length = piece.size();
    });
}

R1_API r1_status r1_detokenizer_create(const r1_model* model, uint32_t flags, r1_detokenizer** out) {
    if (out) *out = nullptr;
    return guard([&] {
        require(out != nullptr, "out is NULL");
        tokenizer_of(model);
        *out = new r1_detokenizer(model->impl, (flags & R1_DETOKENIZE_RENDER_SPECIAL) != 0);
    });
}

R1_API void r1_detokenizer_free(r1_detokenizer* detokenizer) { delete detokenizer; }

R1_API r1_status r1_detokenizer_push(r1_detokenizer* d, int32_t token, const char** out_text, size_t* out_length) {
    return guard([&] {
        require(d != nullptr, "detokenizer is NULL");
        require(out_text != nullptr, "out_text is NULL");
        d->text.clear();
        d->decoder.push(token, d->text);
        *out_text = d->text.c_str();
        if (out_length) *out_length = d->text.size();
    });
}

R1_API r1_status r1_detokenizer_flush(r1_detokenizer* d, const char** out_text, size_t* out_length) {
    return guard([&] {
        require(d != nullptr, "detokenizer is NULL");
        require(out_text != nullptr, "out_text is NULL");
        d->text.clear();
        d->decoder.finish(d->text);
        *out_text = d->text.c_str();
        if (out_length) *out_length = d->text.size();
    });
}

R1_API int32_t r1_model_special_token(const r1_model* model, r1_special_token which) {
    if (!model || !model->impl->has_tokenizer()) return -1;
    const r1::tok::Tokenizer& t = model->impl->tokenizer();
    switch (which) {
        case R1_SPECIAL_BOS: return t.bos();
        case R1_SPECIAL_EOS: return t.eos();
        case R1_SPECIAL_EOT: return t.eot();
        case R1_SPECIAL_THINK_OPEN: return t.think_open();
        case R1_SPECIAL_THINK_CLOSE: return t.think_close();
        case R1_SPECIAL_USER: return t.user();
        case R1_SPECIAL_ASSISTANT: return t.assistant();
        case R1_SPECIAL_PAD: return t.pad();
        case R1_SPECIAL_NEWLINE: return t.nl();
        default: return -1;
    }
}

R1_API int32_t r1_model_token_is_eog(const r1_model* model, int32_t token) {
    if (!model || !model->impl->has_tokenizer()) return 0;
    return model->impl->tokenizer().is_eog(token) ? 1 : 0;
}

R1_API void r1_chat_params_init(r1_chat_params* params) {
    if (!params) return;
    std::memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
    params->add_generation_prompt = 1;
    params->enable_thinking = 1;
}

R1_API r1_status r1_chat_apply_template(const r1_model* model, const r1_chat_message* messages, size_t count,
                                        const r1_chat_params* params, char* text, size_t size, size_t* out_length) {
    return guard([&] {
        r1_chat_params p = read_params(params, r1_chat_params_init, "r1_chat_params");
        r1::ChatPromptOptions o;
        o.add_generation_prompt = p.add_generation_prompt != 0;
        o.enable_thinking = p.enable_thinking != 0;
        if (p.template_name) o.template_name = p.template_name;
        o.template_text = p.template_text;
        o.bos_token = p.bos_token;
        r1::ChatPrompt prompt = r1::render_chat(model ? model->impl.get() : nullptr, r1::messages_from_c(messages, count), o);
        copy_text(prompt.text, text, size, out_length);
    });
}

}  // extern "C"
