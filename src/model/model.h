// A loaded model: the GGUF file, its summary, and the log it reports to.
// Immutable after load() returns; shared by many threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "../gguf/gguf.h"
#include "../log.h"
#include "r1.h"

namespace r1 {

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

    const gguf::File& file() const { return *file_; }
    const Log& log() const { return log_; }
    const ModelSummary& summary() const { return summary_; }

private:
    Model() = default;
    static std::unique_ptr<Model> finish(std::unique_ptr<Model> model);

    Log log_;
    std::unique_ptr<gguf::File> file_;
    ModelSummary summary_;
};

}  // namespace r1
