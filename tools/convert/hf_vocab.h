// The tokenizer of a Hugging Face model folder (tokenizer.json, tokenizer_config.json, config.json) as the
// reference converter (llama.cpp's convert_hf_to_gguf.py, _set_vocab_gpt2 + gguf-py's SpecialVocab) writes it
// into GGUF: tokenizer.ggml.* keys and the chat template.
//
// Supported: byte-level BPE ("model": {"type": "BPE"}, no byte fallback) with the pre-tokenizers of the R1
// distills: qwen2 / deepseek-r1-qwen and Llama 3 (llama-bpe), recognised by the Split regex in the
// pre_tokenizer (not by hashing a tokenization, as the reference does), and plain GPT-2 byte-level.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace r1::convert {

// GGUF token types.
enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

struct HfVocab {
    std::vector<std::string> tokens;  // n_vocab entries; ids without a token are "[PAD<id>]" (UNUSED)
    std::vector<int32_t> types;
    std::vector<std::string> merges;  // "left right"
    std::string pre;                  // tokenizer.ggml.pre
    // Special token ids in the order the reference writes them: "bos", "eos", "unk", "sep", "pad", "cls",
    // "mask" found through tokenizer_config.json, then those found only in config.json.
    std::vector<std::pair<std::string, uint32_t>> special_ids;
    std::vector<std::pair<std::string, bool>> add_special;  // add_bos_token, add_eos_token, add_sep_token
    // Chat templates: ("", text) is the default one; others are named (tokenizer.chat_template.NAME).
    std::vector<std::pair<std::string, std::string>> chat_templates;
};

// The GGUF key of a special token type ("bos" -> "tokenizer.ggml.bos_token_id"); nullptr when GGUF has none.
const char* special_id_key(const std::string& type);

// Recognises a pre-tokenizer from tokenizer.json's "pre_tokenizer" (and the added tokens, to tell the R1
// distill's qwen2 vocabulary from Qwen's own). Throws r1::Error(R1_ERR_UNSUPPORTED) naming what it found.
std::string recognise_pre_tokenizer(const nlohmann::json& tokenizer_json);

// Loads the folder's tokenizer. n_vocab: config.json's vocab_size (0 = the tokenizer's own size).
// Throws r1::Error: R1_ERR_NOT_FOUND (no tokenizer.json), R1_ERR_FORMAT, R1_ERR_UNSUPPORTED.
HfVocab load_hf_vocab(const std::string& folder, int64_t n_vocab);

// Reads a JSON file. Throws R1_ERR_IO / R1_ERR_FORMAT naming the file.
nlohmann::json read_json_file(const std::string& path);

}  // namespace r1::convert
