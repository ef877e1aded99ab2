#include "model.h"

#include <cstring>

#include "../backend/registry.h"
#include "../error.h"
#include "../tokenizer/tokenizer.h"
#include "weights.h"

#include "../util/clock.h"

namespace r1 {
namespace {

float file_progress_share(const r1_model_params& params) {
    if (params.metadata_only) return 0.99f;
    return params.load_mode == R1_LOAD_READ ? 0.5f : 0.02f;
}

bool report_progress(const r1_model_params& params, float p) {
    return !params.progress_callback || params.progress_callback(params.progress_user_data, p) == 0;
}

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
    // Reading the file covers the first part of loading, placing the weights the rest; Model::finish reports
    // the final 1.0.
    if (options.progress) {
        auto inner = options.progress;
        float share = file_progress_share(params);
        options.progress = [inner, share](float p) { return inner(p * share); };
    }
    return options;
}

// The backend "auto" picks: the first GPU device of any backend (discrete before integrated), else the CPU.
const BackendEntry* pick_backend(const char* name, int32_t* device) {
    Registry& registry = Registry::instance();
    if (name && *name && std::string(name) != "auto") {
        const BackendEntry* e = registry.find(name);
        if (!e) {
            std::string known;
            for (size_t i = 0; i < registry.count(); ++i) known += std::string(i ? ", " : "") + registry.at(i)->iface->name;
            fail(R1_ERR_NOT_FOUND, "no backend named '%s' (this build has: %s)", name, known.c_str());
        }
        return e;
    }
    for (r1b_device_kind kind : {R1B_DEVICE_DISCRETE_GPU, R1B_DEVICE_INTEGRATED_GPU}) {
        for (size_t i = 0; i < registry.count(); ++i) {
            const BackendEntry* e = registry.at(i);
            for (size_t d = 0; d < e->devices.size(); ++d)
                if (e->ctx && e->devices[d].kind == kind) {
                    *device = int32_t(d);
                    return e;
                }
        }
    }
    return registry.find("cpu");
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
    const double start = now_ms();
    std::unique_ptr<Model> model(new Model());
    model->log_ = Log(params.log_callback, params.log_user_data, params.log_level);
    model->file_ = gguf::File::open(path, open_options(params, &model->log_));
    return finish(std::move(model), params, start);
}

std::unique_ptr<Model> Model::load_from_memory(const void* data, size_t size, const r1_model_params& params) {
    const double start = now_ms();
    std::unique_ptr<Model> model(new Model());
    model->log_ = Log(params.log_callback, params.log_user_data, params.log_level);
    model->file_ = gguf::File::from_memory(data, size, open_options(params, &model->log_));
    return finish(std::move(model), params, start);
}

std::unique_ptr<Model> Model::finish(std::unique_ptr<Model> model, const r1_model_params& params, double start_ms) {
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
    const bool compute = !params.metadata_only && !f.tensors().empty();
    // A model that will compute needs a working tokenizer; a metadata-only model records why it has none.
    model->load_tokenizer(compute);
    if (params.metadata_only) model->no_weights_reason_ = "the model was loaded with metadata_only";
    else if (f.tensors().empty()) model->no_weights_reason_ = "the file has no tensors (a vocabulary-only file?)";
    else model->place_weights(params);
    if (!report_progress(params, 1.0f)) fail(R1_ERR_CANCELLED, "loading was cancelled by the progress callback");
    model->load_ms_ = now_ms() - start_ms;
    model->log_.write(R1_LOG_INFO, "loaded %s model: %zu tensors, %llu parameters%s%s",
                      s.architecture.empty() ? "(no architecture)" : std::string(s.architecture).c_str(),
                      f.tensors().size(), (unsigned long long)s.n_params, model->weights_ ? " on " : "",
                      model->weights_ ? model->device().info().name : "");
    return model;
}

void Model::place_weights(const r1_model_params& params) {
    hparams_ = read_hparams(*file_);
    int32_t device_index = params.device;
    const BackendEntry* entry = pick_backend(params.backend, &device_index);
    r1b_device_params dp;
    std::memset(&dp, 0, sizeof dp);
    dp.struct_size = sizeof dp;
    dp.cpu_isa = int32_t(params.cpu_isa);
    dp.exact_math = params.exact_math;
    Placement placement;
    auto main = std::make_shared<Device>(entry, device_index, dp);
    const int64_t n_layers = hparams_.n_layers;
    const int64_t offloaded = params.n_gpu_layers < 0 ? n_layers : std::min<int64_t>(params.n_gpu_layers, n_layers);
    if (offloaded == n_layers) {
        placement.devices = {main};
    } else {
        // The layers before the offloaded ones run on the CPU (a second CPU device when the backend is the CPU).
        const BackendEntry* cpu = Registry::instance().find("cpu");
        std::shared_ptr<Device> host = std::make_shared<Device>(cpu, 0, dp);
        if (offloaded == 0) placement.devices = {host};
        else placement.devices = {host, main};
        placement.first_offloaded_layer = n_layers - offloaded;
    }
    std::function<bool(float)> progress;
    if (params.progress_callback) {
        r1_progress_fn fn = params.progress_callback;
        void* user = params.progress_user_data;
        float base = file_progress_share(params);
        progress = [fn, user, base](float p) { return fn(user, base + (0.99f - base) * p) == 0; };
    }
    weights_ = std::make_unique<ModelWeights>(*file_, hparams_, std::move(placement), progress);
}

void Model::load_tokenizer(bool required) {
    if (!file_->has("tokenizer.ggml.tokens")) {
        no_tokenizer_reason_ = "the file has no tokenizer (tokenizer.ggml.tokens)";
        return;
    }
    try {
        tokenizer_ = std::make_unique<tok::Tokenizer>(tok::load_vocab(*file_));
    } catch (const Error& e) {
        if (required) fail(e.status(), "tokenizer: %s", e.what());
        no_tokenizer_reason_ = e.message();
        log_.write(R1_LOG_INFO, "no usable tokenizer: %s", e.what());
    }
}

const tok::Tokenizer& Model::tokenizer() const {
    if (!tokenizer_) fail(R1_ERR_UNSUPPORTED, "this model has no usable tokenizer: %s", no_tokenizer_reason_.c_str());
    return *tokenizer_;
}

std::string_view Model::chat_template() const {
    const gguf::Value* v = file_->find("tokenizer.chat_template");
    return v && v->type == gguf::ValueType::STRING ? v->str : std::string_view();
}

const Device& Model::device() const { return *weights_->placement().devices.back(); }

void Model::require_weights() const {
    if (!weights_) fail(R1_ERR_UNSUPPORTED, "this model cannot compute: %s", no_weights_reason_.c_str());
}

Model::~Model() {
    weights_.reset();  // the weights, then the devices they own
    tokenizer_.reset();
}

}  // namespace r1
