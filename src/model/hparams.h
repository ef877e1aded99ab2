// The architectures r1 runs and their hyperparameters, read and validated from GGUF metadata.
#pragma once

#include <cstdint>
#include <string>

#include "../gguf/gguf.h"

namespace r1 {

enum class Arch {
    Qwen2,  // DeepSeek-R1-Distill-Qwen: q/k/v biases, NeoX rope
    Llama,  // DeepSeek-R1-Distill-Llama: q/k rows permuted for interleaved rope, llama3 rope_freqs
    Qwen3,  // DeepSeek-R1-0528-Qwen3: RMSNorm per head on q and k, no biases
};

const char* arch_name(Arch arch);

struct HParams {
    Arch arch = Arch::Qwen2;
    int64_t n_vocab = 0;
    int64_t n_ctx_train = 0;
    int64_t n_embd = 0;
    int64_t n_layers = 0;
    int64_t n_heads = 0;
    int64_t n_kv_heads = 0;
    int64_t head_dim = 0;     // key/value length per head (n_embd / n_heads unless the file says otherwise)
    int64_t n_ff = 0;
    int64_t n_rot = 0;        // rotated dims per head
    float rms_eps = 1e-6f;
    float rope_base = 10000.0f;
    float rope_freq_scale = 1.0f;  // 1 / linear scaling factor
    bool rope_neox = true;         // split-halves pairs (Qwen) or interleaved pairs (Llama)
    bool qkv_bias = false;
    bool qk_norm = false;
    bool tied_output = false;      // no output.weight: the output projection reuses token_embd
    bool rope_freqs = false;       // a rope_freqs.weight tensor of n_rot/2 factors is present

    int64_t q_dim() const { return n_heads * head_dim; }
    int64_t kv_dim() const { return n_kv_heads * head_dim; }
};

// Reads and validates the hyperparameters; throws r1::Error (R1_ERR_UNSUPPORTED for an unknown architecture,
// R1_ERR_FORMAT naming the key for missing or inconsistent values).
HParams read_hparams(const gguf::File& file);

}  // namespace r1
