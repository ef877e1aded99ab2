#include "quantize.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include "../../backends/cpu/quants/quants.h"
#include "../../backends/cpu/threadpool.h"
#include "../error.h"
#include "../gguf/gguf.h"
#include "../gguf/writer.h"
#include "../log.h"
#include "../util/file_io.h"

namespace r1::quantize {
namespace {

constexpr uint32_t kQuantizationVersion = 2;  // ggml's GGML_QNT_VERSION: the block layouts r1 writes
constexpr int64_t kItemElements = int64_t(1) << 18;  // values one thread converts per claim (1 MiB of floats)
constexpr int kItemsPerThread = 4;                    // claims per thread in one batch of rows
constexpr size_t kCopyBytes = size_t(64) << 20;       // bytes per read when a tensor is copied unchanged

// The output goes to a temporary file beside the destination and is renamed over it only when complete.
class TempOutput {
public:
    explicit TempOutput(const std::string& final_path) : final_(final_path) {
        static std::atomic<unsigned> counter{0};
        for (int attempt = 0;; ++attempt) {
            path_ = final_ + ".tmp-" + std::to_string(long(::getpid())) + "-" + std::to_string(counter++);
            int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd >= 0) {
                ::close(fd);
                return;
            }
            if (errno != EEXIST || attempt > 100)
                fail(R1_ERR_IO, "%s: cannot create the output file: %s", final_.c_str(), std::strerror(errno));
        }
    }
    ~TempOutput() {
        if (!committed_) std::remove(path_.c_str());
    }
    TempOutput(const TempOutput&) = delete;
    TempOutput& operator=(const TempOutput&) = delete;

    const std::string& path() const { return path_; }
    void commit() {
        if (std::rename(path_.c_str(), final_.c_str()) != 0)
            fail(R1_ERR_IO, "%s: cannot rename the finished output into place: %s", final_.c_str(),
                 std::strerror(errno));
        committed_ = true;
    }

private:
    std::string final_;
    std::string path_;
    bool committed_ = false;
};

// True when every value is finite (no NaN, no infinity): the exponent bits are not all ones.
bool all_finite(const float* x, int64_t n) {
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; ++i) {
        uint32_t bits;
        std::memcpy(&bits, &x[i], sizeof bits);
        bad |= uint32_t((bits & 0x7F800000u) == 0x7F800000u);
    }
    return bad == 0;
}

std::string shape_text(const PlannedTensor& t) {
    std::string s = "[";
    for (int d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
    return s + "]";
}

// The per-thread state of one tensor's conversion: a batch of rows [r0, r1) is cut into items that threads claim.
struct Batch {
    const InputFile* input = nullptr;
    const PlannedTensor* tensor = nullptr;
    uint64_t source_offset = 0;   // absolute file offset of the tensor's first row
    size_t source_row_bytes = 0;
    size_t target_row_bytes = 0;
    int64_t r0 = 0, r1 = 0;
    uint8_t* out = nullptr;       // (r1 - r0) rows of the target type
    cpu::ChunkQueue queue;
    std::atomic<bool> failed{false};
    std::mutex error_mutex;
    std::exception_ptr error;
    std::vector<std::vector<uint8_t>>* raw = nullptr;  // per thread: source bytes
    std::vector<std::vector<float>>* values = nullptr; // per thread: rows as floats
};

void convert_rows(Batch& b, int ith) {
    const PlannedTensor& t = *b.tensor;
    const int64_t ne0 = t.ne[0];
    std::vector<uint8_t>& raw = (*b.raw)[size_t(ith)];
    std::vector<float>& values = (*b.values)[size_t(ith)];
    int64_t begin, end;
    while (!b.failed.load(std::memory_order_relaxed) && b.queue.next(&begin, &end)) {
        const int64_t first = b.r0 + begin, rows = end - begin;
        const size_t bytes = size_t(rows) * b.source_row_bytes;
        const size_t n = size_t(rows * ne0);
        if (values.size() < n) values.resize(n);
        if (t.source_type == DType::F32) {
            b.input->read_at(b.source_offset + uint64_t(first) * b.source_row_bytes, values.data(), bytes);
        } else {
            if (raw.size() < bytes) raw.resize(bytes);
            b.input->read_at(b.source_offset + uint64_t(first) * b.source_row_bytes, raw.data(), bytes);
            if (!cpu::dequantize_row(t.source_type, raw.data(), values.data(), int64_t(n)))
                fail(R1_ERR_INTERNAL, "tensor '%s': cannot decode %s", t.name.c_str(), traits(t.source_type).name);
        }
        for (int64_t r = 0; r < rows; ++r) {
            const float* row = values.data() + r * ne0;
            if (!all_finite(row, ne0))
                fail(R1_ERR_FORMAT, "tensor '%s' holds a NaN or an infinite value in row %lld", t.name.c_str(),
                     (long long)(first + r));
            uint8_t* dst = b.out + size_t(begin + r) * b.target_row_bytes;
            if (!cpu::quantize_row(t.choice.type, row, dst, ne0))
                fail(R1_ERR_INTERNAL, "tensor '%s': cannot encode %s", t.name.c_str(), traits(t.choice.type).name);
        }
    }
}

void run_batch(Batch& b, cpu::ThreadPool* pool) {
    auto work = [&b](int ith, int) {
        try {
            convert_rows(b, ith);
        } catch (...) {
            std::lock_guard<std::mutex> lock(b.error_mutex);
            if (!b.error) b.error = std::current_exception();
            b.failed.store(true, std::memory_order_relaxed);
        }
    };
    if (pool) pool->run_dynamic([&work](int ith, int nth) { work(ith, nth); });
    else work(0, 1);
    if (b.error) std::rethrow_exception(b.error);
}

}  // namespace

std::vector<PlannedTensor> plan(const gguf::File& file, const Target& target) {
    std::vector<const gguf::TensorInfo*> order;
    std::vector<std::string> names;
    for (const gguf::TensorInfo& t : file.tensors()) {
        order.push_back(&t);
        names.emplace_back(t.name);
    }
    std::stable_sort(order.begin(), order.end(), [](const gguf::TensorInfo* a, const gguf::TensorInfo* b) {
        return reference_less(a->name, b->name);
    });
    TypeRules rules(target, model_shape(file), names);
    std::vector<PlannedTensor> out;
    out.reserve(order.size());
    for (const gguf::TensorInfo* info : order) {
        PlannedTensor p;
        p.name = std::string(info->name);
        p.source_type = info->type;
        for (int d = 0; d < gguf::kMaxDims; ++d) p.ne[d] = info->ne[d];
        p.n_dims = effective_dims(p.ne);
        TensorDesc desc;
        desc.name = p.name;
        desc.type = info->type;
        for (int d = 0; d < 4; ++d) desc.ne[d] = p.ne[d];
        p.choice = rules.next(desc);
        out.push_back(std::move(p));
    }
    return out;
}

void quantize_file(const std::string& in_path, const std::string& out_path, const Options& options) {
    if (!options.target) fail(R1_ERR_INVALID_ARGUMENT, "no target type given");
    const Target& target = *options.target;
    const Log no_log;
    const Log& log = options.log ? *options.log : no_log;

    gguf::OpenOptions open_options;
    open_options.mode = gguf::LoadMode::Mmap;  // metadata only: tensor data is read row batch by row batch below
    open_options.log = options.log;
    std::unique_ptr<gguf::File> file = gguf::File::open(in_path, open_options);
    if (file->get_int("split.count", 1) > 1)
        fail(R1_ERR_UNSUPPORTED, "%s is one part of a split model; merge the parts first (llama-gguf-split --merge)",
             in_path.c_str());
    const std::vector<PlannedTensor> tensors = plan(*file, target);

    // Every conversion must be possible before anything is written.
    int n_requantized = 0;
    uint64_t total_elements = 0, source_bytes = 0, target_bytes = 0;
    for (const PlannedTensor& t : tensors) {
        const DType from = t.source_type, to = t.choice.type;
        const uint64_t n = uint64_t(t.ne[0]) * uint64_t(t.ne[1]) * uint64_t(t.ne[2]) * uint64_t(t.ne[3]);
        total_elements += n;
        source_bytes += n / traits(from).block_elements * traits(from).block_bytes;
        target_bytes += n / traits(to).block_elements * traits(to).block_bytes;
        if (t.choice.fallback)
            log.write(R1_LOG_WARN, "%s: rows of %lld values do not fit %s blocks: using %s, as llama-quantize does",
                      t.name.c_str(), (long long)t.ne[0], traits(t.choice.wanted).name, traits(to).name);
        if (from == to) continue;
        if (traits(from).quantized) {
            if (!options.allow_requantize)
                fail(R1_ERR_UNSUPPORTED,
                     "%s: tensor '%s' is already quantized (%s); quantizing it again loses quality: start from the "
                     "F32/F16/BF16 model, or allow requantization (allow_requantize; r1 quantize --allow-requantize)",
                     in_path.c_str(), t.name.c_str(), traits(from).name);
            ++n_requantized;
        }
        if (!cpu::is_supported(from) || from == DType::Q8_1 || from == DType::Q8_K)
            fail(R1_ERR_UNSUPPORTED, "tensor '%s': r1 cannot convert from type %s", t.name.c_str(), traits(from).name);
        if (!cpu::is_supported(to))
            fail(R1_ERR_UNSUPPORTED, "tensor '%s': r1 cannot write type %s", t.name.c_str(), traits(to).name);
    }
    if (n_requantized > 0)
        log.write(R1_LOG_WARN,
                  "%s: %d tensor(s) are already quantized: they are dequantized and quantized again, which loses "
                  "more quality than quantizing the original F32/F16/BF16 weights",
                  in_path.c_str(), n_requantized);

    TempOutput temp(out_path);
    gguf::Writer writer;  // declared after `temp`: it closes the file before a failed output is removed
    for (const gguf::KeyValue& kv : file->metadata()) {
        const std::string_view k = kv.key;
        if (k == "general.quantization_version" || k == "general.file_type" || k == "split.no" ||
            k == "split.count" || k == "split.tensors.count")
            continue;
        writer.set_value(k, kv.value);
    }
    writer.set_u32("general.quantization_version", kQuantizationVersion);
    writer.set_u32("general.file_type", uint32_t(target.file_type));
    for (const PlannedTensor& t : tensors)
        writer.add_tensor(t.name, t.choice.type, std::vector<int64_t>(t.ne, t.ne + t.n_dims));
    writer.begin(temp.path());

    InputFile input(in_path);
    int n_threads = options.n_threads > 0 ? options.n_threads : int(std::thread::hardware_concurrency());
    n_threads = std::max(1, std::min(n_threads, 1024));
    std::unique_ptr<cpu::ThreadPool> pool;
    if (n_threads > 1) pool.reset(new cpu::ThreadPool(n_threads));
    std::vector<std::vector<uint8_t>> raw(static_cast<size_t>(n_threads));
    std::vector<std::vector<float>> values(static_cast<size_t>(n_threads));
    std::vector<uint8_t> out;

    uint64_t done = 0;
    auto report = [&](uint64_t elements) {
        done += elements;
        if (options.progress && !options.progress(float(double(done) / double(std::max<uint64_t>(total_elements, 1)))))
            fail(R1_ERR_CANCELLED, "quantization was cancelled by the progress callback");
    };
    if (options.progress && !options.progress(0.0f))
        fail(R1_ERR_CANCELLED, "quantization was cancelled by the progress callback");

    for (size_t i = 0; i < tensors.size(); ++i) {
        const PlannedTensor& t = tensors[i];
        const gguf::TensorInfo* info = file->find_tensor(t.name);
        const uint64_t offset = file->data_offset() + info->offset;
        const int64_t ne0 = t.ne[0];
        const int64_t rows = int64_t(info->n_elements() / uint64_t(ne0));
        log.write(R1_LOG_DEBUG, "[%4zu/%4zu] %-36s %-20s %6s -> %s", i + 1, tensors.size(), t.name.c_str(),
                  shape_text(t).c_str(), traits(t.source_type).name, traits(t.choice.type).name);
        if (t.source_type == t.choice.type) {
            // Same type: the bytes are copied unchanged (norms, biases, and tensors already in the target type).
            out.resize(std::min<size_t>(kCopyBytes, size_t(info->size)));
            // Progress counts elements: the share of this tensor's elements that the bytes copied so far hold.
            auto elements_at = [&](uint64_t pos) {
                return uint64_t(double(pos) / double(info->size) * double(info->n_elements()));
            };
            for (uint64_t pos = 0; pos < info->size;) {
                const size_t n = size_t(std::min<uint64_t>(out.size(), info->size - pos));
                input.read_at(offset + pos, out.data(), n);
                writer.write_tensor_data(out.data(), n);
                report(elements_at(pos + n) - elements_at(pos));
                pos += n;
            }
            continue;
        }
        Batch b;
        b.input = &input;
        b.tensor = &t;
        b.source_offset = offset;
        b.source_row_bytes = size_t(dtype_row_bytes(t.source_type, uint64_t(ne0)));
        b.target_row_bytes = size_t(dtype_row_bytes(t.choice.type, uint64_t(ne0)));
        b.raw = &raw;
        b.values = &values;
        const int64_t item_rows = std::max<int64_t>(1, kItemElements / ne0);
        const int64_t batch_rows = item_rows * kItemsPerThread * n_threads;
        out.resize(size_t(std::min(batch_rows, rows)) * b.target_row_bytes);
        for (int64_t r0 = 0; r0 < rows; r0 += batch_rows) {
            b.r0 = r0;
            b.r1 = std::min(rows, r0 + batch_rows);
            b.out = out.data();
            b.queue.reset(b.r1 - b.r0, item_rows);
            run_batch(b, b.r1 - b.r0 > item_rows ? pool.get() : nullptr);
            writer.write_tensor_data(out.data(), size_t(b.r1 - b.r0) * b.target_row_bytes);
            report(uint64_t(b.r1 - b.r0) * uint64_t(ne0));
        }
    }
    writer.finish();
    temp.commit();
    log.write(R1_LOG_INFO, "%s -> %s (%s): %zu tensors, %.2f MiB -> %.2f MiB (%.2f bits per weight)", in_path.c_str(),
              out_path.c_str(), target.name, tensors.size(), double(source_bytes) / 1048576.0,
              double(target_bytes) / 1048576.0,
              8.0 * double(target_bytes) / double(std::max<uint64_t>(total_elements, 1)));
}

}  // namespace r1::quantize
