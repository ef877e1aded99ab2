// Which type each tensor gets when a model is quantized to a target ("Q4_K_M", "Q8_0", ...), and in which order
// the tensors are written: the rules of llama.cpp's llama-quantize (llama_tensor_get_type and its helpers in
// src/llama-quant.cpp), written anew for r1. tests/test_quantize.cpp checks them against the types llama-quantize
// chose for every fixture model.
//
// The rules depend on a tensor's name, its row length, the model's shape (layers, heads per KV head, experts,
// architecture) and, for attn_v / ffn_down / ffn_gate / ffn_up, on the tensor's index among the tensors of its
// kind in the reference's processing order (which is also the order of the output file; see reference_less).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../dtype.h"

namespace r1::gguf {
class File;
}

namespace r1::quantize {

// A target of llama-quantize: one type for (nearly) every matrix, or a mix ("file type").
struct Target {
    const char* name;         // llama-quantize's name, e.g. "Q4_K_M"
    int32_t file_type;        // its general.file_type (llama.cpp's LLAMA_FTYPE numbering)
    DType base;               // the type of most matrices
    const char* description;  // one line for `r1 quantize --help`
};

// The targets r1 writes, in the order `r1 quantize --help` lists them.
const std::vector<Target>& targets();

// Case-insensitive lookup by name, including llama-quantize's aliases Q3_K (= Q3_K_M), Q4_K (= Q4_K_M) and
// Q5_K (= Q5_K_M). nullptr when r1 has no such target.
const Target* find_target(std::string_view name);

// Targets llama-quantize has but r1 does not write (the IQ1/IQ2/IQ3 families and Q2_K_S need an importance
// matrix, TQ1_0/TQ2_0/MXFP4 are for other model kinds): true for those names, so that the error can say so.
bool is_known_unsupported_target(std::string_view name);

// What the rules need to know of a model.
struct ModelShape {
    std::string arch;        // general.architecture
    int64_t n_layers = 0;    // <arch>.block_count
    int64_t n_heads = 0;     // <arch>.attention.head_count (of the first layer when it is an array)
    int64_t n_kv_heads = 0;  // <arch>.attention.head_count_kv; defaults to n_heads
    int64_t n_experts = 0;   // <arch>.expert_count

    // Query heads per KV head (0 when unknown), as llama.cpp's hparams.n_gqa().
    int64_t n_gqa() const { return n_kv_heads > 0 ? n_heads / n_kv_heads : 0; }
    // llama.cpp's LLM_TYPE_70B, which gives attn_v more bits: qwen2 and llama (with GQA) models of 80 layers.
    bool is_70b() const;
};

// Reads the shape from a GGUF file's metadata; a missing block_count is counted from the tensor names.
ModelShape model_shape(const gguf::File& file);

// A tensor as the rules see it.
struct TensorDesc {
    std::string name;
    DType type = DType::F32;            // its type in the source file
    int64_t ne[4] = {1, 1, 1, 1};       // elements per dimension, ne[0] the row length
};

// The number of dimensions with trailing 1s dropped (at least 1), as ggml_n_dims counts them.
int effective_dims(const int64_t ne[4]);

// Whether the reference quantizes this tensor at all: matrices (2 or 3 dimensions) whose name ends in "weight",
// except norms, MoE routers and a list of small special tensors. Others (norms, biases, rope_freqs, ...) keep
// their type and bytes.
bool is_quantizable(const TensorDesc& tensor);

// The reference's tensor order (llama-quantize writes tensors in it): tensors outside the blocks first, then
// block by block by number, each group sorted by name.
bool reference_less(std::string_view a, std::string_view b);

// The choice for one tensor.
struct Choice {
    DType type = DType::F32;
    bool quantizable = false;  // is_quantizable(): when false, `type` is the source type and the bytes are copied
    bool fallback = false;     // the row length does not fit the chosen type's block: a fallback type was used
    DType wanted = DType::F32; // the type before the fallback
};

// Chooses the types of a model's tensors for a target. Construct with every tensor of the model (any order; the
// rules look for output.weight and count attn_v tensors), then call next() for each tensor in reference order.
class TypeRules {
public:
    TypeRules(const Target& target, const ModelShape& shape, const std::vector<std::string>& tensor_names);

    // The choice for the next tensor in reference order (advances the attn_v / ffn_* counters).
    Choice next(const TensorDesc& tensor);

    // The choice for `tensor` when it is the `index`-th tensor of its kind (attn_v, ffn_down, ffn_gate, ffn_up)
    // in reference order; does not advance the counters.
    Choice choose(const TensorDesc& tensor, int index) const;

private:
    DType mix_type(const TensorDesc& tensor, int index) const;

    const Target& target_;
    ModelShape shape_;
    bool has_output_ = false;  // false: token_embd doubles as the output projection and gets its rule
    int n_attn_v_ = 0;
    int i_attn_v_ = 0, i_ffn_down_ = 0, i_ffn_gate_ = 0, i_ffn_up_ = 0;
};

// Convenience: the choices for a whole model, `tensors` given in any order; the result is in the same order.
std::vector<Choice> choose_types(const Target& target, const ModelShape& shape, const std::vector<TensorDesc>& tensors);

}  // namespace r1::quantize
