// A loaded model: the GGUF file, its summary, and the log it reports to.
// Immutable after load() returns; shared by many threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "../gguf/gguf.h"
#include "../log.h"
#include "hparams.h"
#include "r1.h"

namespace r1 {

namespace tok {
class Tokenizer;
}
class Device;
class ModelWeights;

// Facts about a model read once at load time (the fingerprint is computed lazily by the File).
struct ModelSummary {
    std::string_view architecture;     // "" when absent
    std::string_view name;             // "" when absent
    std::string_view tokenizer_model;  // "" when absent
    uint64_t n_params = 0;
    int64_t n_ctx_train = 0;
    int64_t n_vocab = 0;
    int64_t n_layers = 0;
    int64_t n_embd = 0;
    int64_t n_heads = 0;
    int64_t n_kv_heads = 0;
    int64_t n_ff = 0;
    bool has_chat_template = false;
    int32_t file_type = -1;
    int64_t type_tensor_count[R1_TYPE_ID_LIMIT] = {};
    uint64_t type_bytes[R1_TYPE_ID_LIMIT] = {};
};

class Model {
public:
    // `params` must be complete (struct_size checked by the caller). Throws r1::Error.
    static std::unique_ptr<Model> load(const std::string& path, const r1_model_params& params);
    static std::unique_ptr<Model> load_from_memory(const void* data, size_t size, const r1_model_params& params);

    ~Model();

    const gguf::File& file() const { return *file_; }
    const Log& log() const { return log_; }
    const ModelSummary& summary() const { return summary_; }

    // Weights exist unless the model was loaded metadata-only or the file has no tensors.
    bool has_weights() const { return weights_ != nullptr; }
    const HParams& hparams() const { return hparams_; }
    const ModelWeights& weights() const { return *weights_; }
    // The device of the model's last layers (the backend's device; the only one unless layers are split).
    const Device& device() const;
    // Throws R1_ERR_UNSUPPORTED with a clear message when the model cannot compute (no weights).
    void require_weights() const;

    // The tokenizer; throws R1_ERR_UNSUPPORTED (with the reason) when the file has none or r1 cannot use it.
    const tok::Tokenizer& tokenizer() const;
    bool has_tokenizer() const { return tokenizer_ != nullptr; }
    // tokenizer.chat_template, or "" when absent.
    std::string_view chat_template() const;

    double load_ms() const { return load_ms_; }

private:
    Model() = default;
    static std::unique_ptr<Model> finish(std::unique_ptr<Model> model, const r1_model_params& params,
                                         double start_ms);
    void load_tokenizer(bool required);
    void place_weights(const r1_model_params& params);

    Log log_;
    std::unique_ptr<gguf::File> file_;
    ModelSummary summary_;
    HParams hparams_;
    std::unique_ptr<ModelWeights> weights_;
    std::string no_weights_reason_;
    std::unique_ptr<tok::Tokenizer> tokenizer_;
    std::string no_tokenizer_reason_;
    double load_ms_ = 0;
};

}  // namespace r1
