// Hugging Face model folder -> GGUF, with the metadata and tensor layout of llama.cpp's convert_hf_to_gguf.py.
//
// Architectures: Qwen2ForCausalLM (qwen2), LlamaForCausalLM (llama), Qwen3ForCausalLM (qwen3). What is written:
// - general.architecture, general.type, general.name, general.size_label; the <arch>.* hyperparameters the
//   reference writes (block_count, context_length, embedding_length, feed_forward_length, head_count,
//   head_count_kv, rope.freq_base, attention.layer_norm_rms_epsilon, attention.key_length/value_length when
//   config.json has head_dim; llama: vocab_size, rope.dimension_count; rope scaling linear/yarn);
//   general.file_type, general.quantization_version; then the tokenizer (hf_vocab.h).
// - tensors in the order the reference writes them (rope_freqs first, then each safetensors file in name order
//   with its tensors sorted by name), renamed (model.layers.N.self_attn.q_proj.weight -> blk.N.attn_q.weight,
//   ...), llama q/k rows permuted for the interleaved rope layout, lm_head skipped when the embeddings are
//   tied, llama3 rope scaling written as rope_freqs.weight.
// - types: 1-D tensors and norms in F32; matrices in the requested type (F32, F16, BF16, Q8_0; Q8_0 falls back to
//   F16 for rows that are not a multiple of 32, as the reference does).
// Memory: the sources are mapped and converted a few rows at a time; nothing holds a whole tensor.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../../src/dtype.h"

namespace r1::convert {

struct Options {
    std::string type = "f16";  // f32, f16, bf16, q8_0
    std::string name;          // general.name; empty: the folder's name
    // Called after each tensor with (tensors done, tensor count, name); return false to cancel.
    std::function<bool(size_t, size_t, const std::string&)> progress;
};

struct PlannedTensor {
    std::string source;  // Hugging Face name ("" for a generated tensor)
    std::string name;    // GGUF name
    DType type = DType::F32;
    std::vector<int64_t> dims;  // GGUF order: dims[0] is the row length
};

struct Report {
    std::string architecture;
    std::string pre_tokenizer;
    int64_t n_vocab = 0;
    uint64_t n_params = 0;
    std::vector<PlannedTensor> tensors;
};

// The GGUF name of a Hugging Face tensor name, or "" when it has none (e.g. rotary_emb.inv_freq).
std::string gguf_tensor_name(const std::string& hf_name);

// Converts `folder` into the GGUF file `out`. Throws r1::Error: R1_ERR_NOT_FOUND (missing files),
// R1_ERR_FORMAT (bad JSON, shapes that disagree with config.json), R1_ERR_UNSUPPORTED (another architecture,
// tokenizer or dtype), R1_ERR_INVALID_ARGUMENT (a bad option), R1_ERR_IO, R1_ERR_CANCELLED.
Report convert_model(const std::string& folder, const std::string& out, const Options& options = {});

}  // namespace r1::convert
