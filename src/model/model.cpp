#include "model.h"

#include "../error.h"

namespace r1 {
namespace {

gguf::OpenOptions open_options(const r1_model_params& params, const Log* log) {
    gguf::OpenOptions options;
    switch (params.load_mode) {
        case R1_LOAD_DEFAULT:
        case R1_LOAD_MMAP: options.mode = gguf::LoadMode::Mmap; break;
        case R1_LOAD_READ: options.mode = gguf::LoadMode::Read; break;
        default: fail(R1_ERR_INVALID_ARGUMENT, "unknown load_mode %d", int(params.load_mode));
    }
    if (params.progress_callback) {
        r1_progress_fn fn = params.progress_callback;
        void* user = params.progress_user_data;
        options.progress = [fn, user](float p) { return fn(user, p) == 0; };
    }
    options.log = log;
    return options;
}

// Summary values come from metadata that may be malformed; they never make loading fail here (the model code
// that needs a hyperparameter validates it and reports the problem).
std::string_view string_or_empty(const gguf::File& f, const std::string& key) {
    const gguf::Value* v = f.find(key);
    return v && v->type == gguf::ValueType::STRING ? v->str : std::string_view();
}

int64_t int_or_zero(const gguf::File& f, const std::string& key) {
    const gguf::Value* v = f.find(key);
    if (!v || !gguf::is_integer(v->type)) return 0;
    return v->num.i64 < 0 && (v->type == gguf::ValueType::UINT64) ? 0 : v->num.i64;
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path, const r1_model_params& params) {
    std::unique_ptr<Model> model(new Model());
    model->log_ = Log(params.log_callback, params.log_user_data, params.log_level);
    model->file_ = gguf::File::open(path, open_options(params, &model->log_));
    return finish(std::move(model));
}

std::unique_ptr<Model> Model::load_from_memory(const void* data, size_t size, const r1_model_params& params) {
    std::unique_ptr<Model> model(new Model());
    model->log_ = Log(params.log_callback, params.log_user_data, params.log_level);
    model->file_ = gguf::File::from_memory(data, size, open_options(params, &model->log_));
    return finish(std::move(model));
}

std::unique_ptr<Model> Model::finish(std::unique_ptr<Model> model) {
    const gguf::File& f = *model->file_;
    ModelSummary& s = model->summary_;
    s.architecture = string_or_empty(f, "general.architecture");
    s.name = string_or_empty(f, "general.name");
    s.tokenizer_model = string_or_empty(f, "tokenizer.ggml.model");
    std::string arch(s.architecture);
    s.n_ctx_train = int_or_zero(f, arch + ".context_length");
    s.n_layers = int_or_zero(f, arch + ".block_count");
    s.n_embd = int_or_zero(f, arch + ".embedding_length");
    s.n_heads = int_or_zero(f, arch + ".attention.head_count");
    s.n_kv_heads = f.has(arch + ".attention.head_count_kv") ? int_or_zero(f, arch + ".attention.head_count_kv")
                                                            : s.n_heads;
    s.n_ff = int_or_zero(f, arch + ".feed_forward_length");
    if (const gguf::Value* tokens = f.find("tokenizer.ggml.tokens"); tokens && tokens->type == gguf::ValueType::ARRAY)
        s.n_vocab = int64_t(tokens->count);
    s.has_chat_template = f.has("tokenizer.chat_template");
    if (const gguf::Value* ft = f.find("general.file_type"); ft && gguf::is_integer(ft->type) && ft->num.i64 >= 0 &&
                                                             ft->num.i64 <= INT32_MAX)
        s.file_type = int32_t(ft->num.i64);
    for (const gguf::TensorInfo& t : f.tensors()) {
        s.n_params += t.n_elements();
        uint32_t id = uint32_t(t.type);
        if (id < R1_TYPE_ID_LIMIT) {
            s.type_tensor_count[id] += 1;
            s.type_bytes[id] += t.size;
        }
    }
    model->log_.write(R1_LOG_INFO, "loaded %s model: %zu tensors, %llu parameters",
                      s.architecture.empty() ? "(no architecture)" : std::string(s.architecture).c_str(),
                      f.tensors().size(), (unsigned long long)s.n_params);
    return model;
}

}  // namespace r1
