// Synthetic models: random weights in the exact tensor layout and metadata of the R1 distills, for tests and
// benchmarks. Weights are seeded draws (the same spec and seed give the same file), written through the GGUF
// writer and quantized with the reference quantizers, one tensor at a time (memory stays small).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../../src/dtype.h"

namespace r1::synth {

struct Spec {
    std::string arch = "qwen2";  // qwen2, llama, qwen3
    std::string name = "r1 synthetic";
    int64_t n_vocab = 512;
    int64_t n_embd = 256;
    int64_t n_layers = 2;
    int64_t n_heads = 2;
    int64_t n_kv_heads = 1;
    int64_t head_dim = 0;      // 0: n_embd / n_heads
    int64_t n_ff = 768;
    int64_t n_ctx_train = 4096;
    float rope_base = 10000.0f;
    float rms_eps = 1e-6f;
    bool tied_output = false;
    bool llama3_rope_freqs = false;  // write rope_freqs.weight (llama3 scaling, factor 8)
    // Weight types: "F32", "F16", "BF16", "Q8_0", ... for every matrix, or a llama.cpp-style mix "Q4_K_M",
    // "Q4_K_S", "Q5_K_M", "Q5_K_S", "Q6_K" (which matrices get more bits follows the reference's rules).
    std::string type = "F32";
    uint64_t seed = 1;
    // A GGUF file whose tokenizer.* keys (vocabulary, merges, special ids, chat template) are copied; its
    // vocabulary size replaces n_vocab. Empty: a placeholder vocabulary tok_0 .. tok_{n-1} that cannot
    // tokenize text.
    std::string vocab_from;
};

// The presets with the real shapes: qwen2-1.5b, qwen2-7b, qwen2-14b, qwen2-32b, llama-8b, qwen3-8b, plus
// "tiny" (the fixtures' 256-dim shape). Throws r1::Error(R1_ERR_NOT_FOUND) for an unknown name.
Spec preset(const std::string& name);
std::vector<std::string> preset_names();

// The type each tensor gets under a mix (or the single type). Exposed for the quantizer and tests.
DType tensor_type(const std::string& type_or_mix, const std::string& tensor_name, int64_t layer, int64_t n_layers,
                  int64_t row_length);

// Writes the model; progress(fraction) may cancel by returning false. Throws r1::Error. n_threads 0 = cores.
void write_model(const Spec& spec, const std::string& path, int n_threads = 0,
                 const std::function<bool(float)>& progress = {});

}  // namespace r1::synth
