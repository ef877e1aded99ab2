#include "vocab.h"

#include <string>

#include "../error.h"
#include "../gguf/gguf.h"

namespace r1::tok {

namespace {

using gguf::Value;
using gguf::ValueType;

const Value* find_array(const gguf::File& file, const char* key, bool required) {
    const Value* v = file.find(key);
    if (!v) {
        if (required) fail(R1_ERR_FORMAT, "tokenizer: missing key '%s'", key);
        return nullptr;
    }
    if (v->type != ValueType::ARRAY) fail(R1_ERR_FORMAT, "tokenizer: key '%s' is not an array", key);
    return v;
}

std::vector<std::string> read_strings(const Value& v, const char* key) {
    if (v.elem_type != ValueType::STRING) fail(R1_ERR_FORMAT, "tokenizer: key '%s' is not an array of strings", key);
    std::vector<std::string> out;
    out.reserve(v.strings.size());
    for (std::string_view s : v.strings) out.emplace_back(s);
    return out;
}

// A special-token id key: applied when present and inside the vocabulary, as the reference does (an id out of
// range, e.g. 0xFFFFFFFF for "none", keeps the default).
void read_special_id(const gguf::File& file, const char* key, size_t n_tokens, TokenId& id) {
    if (id >= 0 && size_t(id) >= n_tokens) id = kNoToken;
    const Value* v = file.find(key);
    if (!v) return;
    if (!gguf::is_integer(v->type)) fail(R1_ERR_FORMAT, "tokenizer: key '%s' is not an integer", key);
    const bool is_signed = v->type == ValueType::INT8 || v->type == ValueType::INT16 ||
                           v->type == ValueType::INT32 || v->type == ValueType::INT64;
    if (is_signed && v->num.i64 < 0) return;
    if (v->num.u64 < n_tokens) id = TokenId(v->num.u64);
}

void read_bool(const gguf::File& file, const char* key, bool& value) {
    const Value* v = file.find(key);
    if (!v) return;
    if (v->type != ValueType::BOOL) fail(R1_ERR_FORMAT, "tokenizer: key '%s' is not a bool", key);
    value = v->num.u64 != 0;
}

}  // namespace

void apply_pre_tokenizer_name(Vocab& vocab, std::string_view name) {
    vocab.pre_name = std::string(name);
    vocab.ignore_merges = false;
    vocab.clean_spaces = true;  // the reference's default for byte-level BPE
    auto is = [&](std::initializer_list<const char*> names) {
        for (const char* n : names)
            if (name == n) return true;
        return false;
    };
    if (name.empty() || name == "default") {
        vocab.pre = PreTokenizer::Default;
    } else if (is({"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral"})) {
        vocab.pre = PreTokenizer::Llama3;
        vocab.ignore_merges = true;
        vocab.add_bos = true;
    } else if (is({"dbrx", "smaug-bpe"})) {
        vocab.pre = PreTokenizer::Llama3;
    } else if (is({"qwen2", "deepseek-r1-qwen"})) {
        vocab.pre = PreTokenizer::Qwen2;
        vocab.clean_spaces = false;
    } else if (is({"megrez", "stablelm2"})) {
        vocab.pre = PreTokenizer::Qwen2;
    } else if (is({"gpt2", "gpt-2", "phi-2", "mpt", "olmo"})) {
        vocab.pre = PreTokenizer::Gpt2;
    } else {
        fail(R1_ERR_UNSUPPORTED, "tokenizer: unsupported pre-tokenizer '%.*s'", int(name.size()), name.data());
    }
}

Vocab load_vocab(const gguf::File& file) {
    Vocab vocab;
    vocab.model_name = std::string(file.get_string("tokenizer.ggml.model"));
    if (vocab.model_name == "llama") {
        vocab.model = VocabModel::Spm;
        vocab.bos = 1;
        vocab.eos = 2;
        vocab.unk = 0;
        vocab.add_bos = true;
        vocab.add_space_prefix = true;
    } else if (vocab.model_name == "gpt2") {
        vocab.model = VocabModel::Bpe;
        vocab.bos = 11;
        vocab.eos = 11;
        apply_pre_tokenizer_name(vocab, file.get_string("tokenizer.ggml.pre"));
    } else if (vocab.model_name.empty()) {
        fail(R1_ERR_FORMAT, "tokenizer: missing key 'tokenizer.ggml.model'");
    } else {
        fail(R1_ERR_UNSUPPORTED, "tokenizer: unsupported tokenizer model '%s' (supported: llama, gpt2)",
             vocab.model_name.c_str());
    }
    if (vocab.model == VocabModel::Spm) vocab.pre_name = std::string(file.get_string("tokenizer.ggml.pre"));
    read_bool(file, "tokenizer.ggml.add_space_prefix", vocab.add_space_prefix);

    vocab.tokens = read_strings(*find_array(file, "tokenizer.ggml.tokens", true), "tokenizer.ggml.tokens");
    const size_t n = vocab.tokens.size();
    if (n == 0) fail(R1_ERR_FORMAT, "tokenizer: 'tokenizer.ggml.tokens' is empty");
    if (n > size_t(INT32_MAX)) fail(R1_ERR_FORMAT, "tokenizer: %zu tokens do not fit 32-bit ids", n);

    if (const Value* v = find_array(file, "tokenizer.ggml.scores", false)) {
        const bool ok = v->elem_type == ValueType::FLOAT32 || v->elem_type == ValueType::FLOAT64 ||
                        v->elem_type == ValueType::INT32;
        if (!ok) fail(R1_ERR_FORMAT, "tokenizer: 'tokenizer.ggml.scores' has elements of type %s",
                      gguf::value_type_name(v->elem_type));
        if (v->count < n)
            fail(R1_ERR_FORMAT, "tokenizer: 'tokenizer.ggml.scores' has %llu entries for %zu tokens",
                 (unsigned long long)v->count, n);
        vocab.scores.resize(n);
        for (size_t i = 0; i < n; ++i)
            vocab.scores[i] = gguf::is_float(v->elem_type) ? float(v->float_at(i)) : float(v->int_at(i));
    }
    if (const Value* v = find_array(file, "tokenizer.ggml.token_type", false)) {
        if (!gguf::is_integer(v->elem_type))
            fail(R1_ERR_FORMAT, "tokenizer: 'tokenizer.ggml.token_type' has elements of type %s",
                 gguf::value_type_name(v->elem_type));
        if (v->count < n)
            fail(R1_ERR_FORMAT, "tokenizer: 'tokenizer.ggml.token_type' has %llu entries for %zu tokens",
                 (unsigned long long)v->count, n);
        vocab.types.resize(n);
        for (size_t i = 0; i < n; ++i) vocab.types[i] = int32_t(v->int_at(i));
    }
    if (vocab.model == VocabModel::Bpe) {
        const Value* v = find_array(file, "tokenizer.ggml.merges", true);
        vocab.merges = read_strings(*v, "tokenizer.ggml.merges");
    }

    const struct {
        const char* key;
        TokenId Vocab::*id;
    } special_keys[] = {
        {"tokenizer.ggml.bos_token_id", &Vocab::bos},
        {"tokenizer.ggml.eos_token_id", &Vocab::eos},
        {"tokenizer.ggml.eot_token_id", &Vocab::eot},
        {"tokenizer.ggml.eom_token_id", &Vocab::eom},
        {"tokenizer.ggml.unknown_token_id", &Vocab::unk},
        {"tokenizer.ggml.seperator_token_id", &Vocab::sep},  // sic: the key is spelled this way
        {"tokenizer.ggml.padding_token_id", &Vocab::pad},
        {"tokenizer.ggml.mask_token_id", &Vocab::mask},
        {"tokenizer.ggml.fim_pre_token_id", &Vocab::fim_pre},
        {"tokenizer.ggml.fim_suf_token_id", &Vocab::fim_suf},
        {"tokenizer.ggml.fim_mid_token_id", &Vocab::fim_mid},
        {"tokenizer.ggml.fim_pad_token_id", &Vocab::fim_pad},
        {"tokenizer.ggml.fim_rep_token_id", &Vocab::fim_rep},
        {"tokenizer.ggml.fim_sep_token_id", &Vocab::fim_sep},
        {"tokenizer.ggml.prefix_token_id", &Vocab::fim_pre},  // deprecated names
        {"tokenizer.ggml.suffix_token_id", &Vocab::fim_suf},
        {"tokenizer.ggml.middle_token_id", &Vocab::fim_mid},
    };
    for (const auto& k : special_keys) read_special_id(file, k.key, n, vocab.*(k.id));

    read_bool(file, "tokenizer.ggml.add_bos_token", vocab.add_bos);
    read_bool(file, "tokenizer.ggml.add_eos_token", vocab.add_eos);
    if (vocab.add_bos && vocab.bos == kNoToken)
        fail(R1_ERR_FORMAT, "tokenizer: tokenizer.ggml.add_bos_token is true but there is no valid bos_token_id");
    if (vocab.add_eos && vocab.eos == kNoToken)
        fail(R1_ERR_FORMAT, "tokenizer: tokenizer.ggml.add_eos_token is true but there is no valid eos_token_id");
    return vocab;
}

}  // namespace r1::tok
