// The CPU backend: host memory, weights referenced in place (or repacked by a kernel family), and streams that
// execute each operation at submit time on the stream's thread pool.
#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "../../src/backend/backend.h"
#include "cpu_backend.h"
#include "cpu_features.h"
#include "matmul.h"
#include "ops.h"
#include "quants/quants.h"
#include "threadpool.h"

namespace r1::cpu {
namespace {

struct Backend {
    r1b_host host{};
};

struct Device {
    Backend* backend;
    Isa isa;
    bool exact;
};

struct Buffer {
    uint8_t* data;
    uint64_t size;
};

struct Weight {
    CpuWeight w;
    bool owns_copy = false;  // data is a private copy (not the caller's memory)
    uint8_t* copy = nullptr;
};

struct Stream {
    Device* device;
    ThreadPool pool;
    const volatile int32_t* cancel;
    r1_status status = R1_OK;
    ChunkQueue queue;
    std::vector<uint8_t> activations;   // activations converted for the current matmul
    std::vector<float> thread_scratch;  // per-thread scratch: n_threads * scratch_floats
    size_t scratch_floats = 0;

    Stream(Device* d, int n_threads, const volatile int32_t* c) : device(d), pool(n_threads), cancel(c) {}

    float* scratch(int ith, size_t floats) {
        if (floats > scratch_floats) return nullptr;
        return thread_scratch.data() + size_t(ith) * scratch_floats;
    }
    void reserve_scratch(size_t floats) {
        if (floats <= scratch_floats) return;
        thread_scratch.assign(size_t(pool.size()) * floats, 0.0f);
        scratch_floats = floats;
    }

    // Runs f(ith, begin, end) over [0, n) in chunks claimed dynamically by the pool's threads (those that are
    // running: the caller does not wait for a worker the host has preempted, see ThreadPool::run_dynamic).
    template <class F>
    void parallel(int64_t n, int64_t chunk, F&& f) {
        if (n <= 0) return;
        if (n <= chunk || pool.size() == 1) {
            f(0, int64_t(0), n);
            return;
        }
        queue.reset(n, chunk);
        pool.run_dynamic([&](int ith, int) {
            int64_t b, e;
            while (queue.next(&b, &e)) f(ith, b, e);
        });
    }
};

// Error reporting through the host.
void report(const Backend* b, const char* fmt, ...) {
    char msg[512];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(msg, sizeof msg, fmt, args);
    va_end(args);
    if (b && b->host.set_error) b->host.set_error(b->host.host_ctx, msg);
}

uint8_t* host_ptr(const r1b_view& v) { return reinterpret_cast<Buffer*>(v.buffer)->data + v.offset; }

int64_t chunk_for(int64_t n, int n_threads, int64_t granularity) {
    // About eight chunks per thread: small enough that a preempted thread holds back little work.
    int64_t per = n / (int64_t(n_threads) * 8);
    if (per < granularity) per = granularity;
    return (per + granularity - 1) / granularity * granularity;
}

// ---------------------------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------------------------

r1_status run_matmul(Stream& s, const r1b_op& op) {
    const Weight* wt = reinterpret_cast<const Weight*>(op.weight);
    const CpuWeight& w = wt->w;
    const MatmulKernels* k = matmul_kernels(s.device->isa, w.type, s.device->exact);
    if (!k) {
        report(s.device->backend, "matmul: no kernel for weights of type %s", dtype_name(uint32_t(w.type)));
        return R1_ERR_UNSUPPORTED;
    }
    const r1b_view& x = op.src[0];
    const int64_t n_tokens = x.rows;
    if (x.cols != w.cols || op.dst.cols != w.rows || op.dst.rows != n_tokens || x.type != 0 || op.dst.type != 0) {
        report(s.device->backend, "matmul: shapes do not match (x %lldx%lld, W %lldx%lld, out %lldx%lld)",
               (long long)x.rows, (long long)x.cols, (long long)w.rows, (long long)w.cols, (long long)op.dst.rows,
               (long long)op.dst.cols);
        return R1_ERR_INVALID_ARGUMENT;
    }
    const uint8_t* xs = host_ptr(x);
    const void* act = xs;
    size_t act_row_bytes = x.row_stride;
    if (k->act_type != DType::F32) {
        act_row_bytes = size_t(dtype_row_bytes(k->act_type, uint64_t(w.cols)));
        if (s.activations.size() < act_row_bytes * size_t(n_tokens)) s.activations.resize(act_row_bytes * size_t(n_tokens));
        uint8_t* a = s.activations.data();
        auto quantize = k->quantize;
        DType act_type = k->act_type;
        s.parallel(n_tokens, 1, [&](int, int64_t b, int64_t e) {
            for (int64_t t = b; t < e; ++t) {
                const float* xr = reinterpret_cast<const float*>(xs + size_t(t) * x.row_stride);
                if (quantize) quantize(xr, a + size_t(t) * act_row_bytes, w.cols);
                else quantize_row(act_type, xr, a + size_t(t) * act_row_bytes, w.cols);
            }
        });
        act = a;
    }
    float* out = reinterpret_cast<float*>(host_ptr(op.dst));
    const size_t out_stride = op.dst.row_stride / sizeof(float);
    const float* bias = op.bias ? reinterpret_cast<const float*>(reinterpret_cast<const Weight*>(op.bias)->w.data) : nullptr;
    // Row chunks: small enough to balance threads, and for batches large enough that the activations each chunk
    // streams are read only a few times over.
    int64_t chunk = chunk_for(w.rows, s.pool.size(), k->row_block);
    if (n_tokens > 16) chunk = std::max<int64_t>(chunk, (192 + k->row_block - 1) / k->row_block * k->row_block);
    s.parallel(w.rows, chunk, [&](int, int64_t r0, int64_t r1) {
        k->gemm(w, act, act_row_bytes, n_tokens, r0, r1, out, out_stride);
        if (bias)
            for (int64_t t = 0; t < n_tokens; ++t)
                for (int64_t r = r0; r < r1; ++r) out[size_t(t) * out_stride + size_t(r)] += bias[r];
    });
    return R1_OK;
}

r1_status run_op(Stream& s, const r1b_op& op) {
    const r1b_view& d = op.dst;
    const OpKernels& ok = *op_kernels(s.device->exact ? Isa::Scalar : s.device->isa);
    switch (op.kind) {
        case R1B_OP_MATMUL: return run_matmul(s, op);
        case R1B_OP_EMBED: {
            const Weight* wt = reinterpret_cast<const Weight*>(op.weight);
            const CpuWeight& w = wt->w;
            if (w.layout != 0) {
                report(s.device->backend, "embed: the weight was repacked; create it with R1B_WEIGHT_ROWS");
                return R1_ERR_INVALID_ARGUMENT;
            }
            const int32_t* ids = reinterpret_cast<const int32_t*>(host_ptr(op.src[0]));
            for (int64_t t = 0; t < d.rows; ++t)
                if (ids[t] < 0 || ids[t] >= w.rows) {
                    report(s.device->backend, "embed: token id %d is outside the vocabulary of %lld", ids[t], (long long)w.rows);
                    return R1_ERR_INVALID_ARGUMENT;
                }
            uint8_t* y = host_ptr(d);
            s.parallel(d.rows, 1, [&](int, int64_t b, int64_t e) {
                op_embed(w.type, w.data, w.row_bytes, w.rows, ids, y, d.row_stride, w.cols, b, e);
            });
            return R1_OK;
        }
        case R1B_OP_RMS_NORM: {
            const float* w = op.weight ? reinterpret_cast<const float*>(reinterpret_cast<const Weight*>(op.weight)->w.data) : nullptr;
            const uint8_t* x = host_ptr(op.src[0]);
            uint8_t* y = host_ptr(d);
            s.parallel(d.rows, chunk_for(d.rows, s.pool.size(), 1), [&](int, int64_t b, int64_t e) {
                ok.rms_norm(x, op.src[0].row_stride, y, d.row_stride, w, d.cols, op.eps, b, e);
            });
            return R1_OK;
        }
        case R1B_OP_ADD: {
            const uint8_t *a = host_ptr(op.src[0]), *b = host_ptr(op.src[1]);
            uint8_t* y = host_ptr(d);
            s.parallel(d.rows, chunk_for(d.rows, s.pool.size(), 1), [&](int, int64_t r0, int64_t r1) {
                ok.add(a, op.src[0].row_stride, b, op.src[1].row_stride, y, d.row_stride, d.cols, r0, r1);
            });
            return R1_OK;
        }
        case R1B_OP_SILU_MUL: {
            const uint8_t *a = host_ptr(op.src[0]), *b = host_ptr(op.src[1]);
            uint8_t* y = host_ptr(d);
            s.parallel(d.rows, chunk_for(d.rows, s.pool.size(), 1), [&](int, int64_t r0, int64_t r1) {
                ok.silu_mul(a, op.src[0].row_stride, b, op.src[1].row_stride, y, d.row_stride, d.cols, r0, r1);
            });
            return R1_OK;
        }
        case R1B_OP_SOFTMAX: {
            const uint8_t* x = host_ptr(op.src[0]);
            uint8_t* y = host_ptr(d);
            s.parallel(d.rows, chunk_for(d.rows, s.pool.size(), 1), [&](int, int64_t r0, int64_t r1) {
                ok.softmax(x, op.src[0].row_stride, y, d.row_stride, d.cols, op.scale, r0, r1);
            });
            return R1_OK;
        }
        case R1B_OP_ROPE: {
            RopeArgs a;
            a.n_heads = op.rope.n_heads;
            a.head_dim = op.rope.head_dim;
            a.n_rot = op.rope.n_rot;
            a.neox = op.rope.mode == R1B_ROPE_NEOX;
            a.pos0 = op.rope.pos0;
            a.freq_base = op.rope.freq_base;
            a.freq_scale = op.rope.freq_scale;
            a.freq_factors = op.rope.freq_factors
                                 ? reinterpret_cast<const float*>(reinterpret_cast<const Weight*>(op.rope.freq_factors)->w.data)
                                 : nullptr;
            uint8_t* x = host_ptr(d);
            s.parallel(d.rows, 1, [&](int, int64_t r0, int64_t r1) { ok.rope(x, d.row_stride, a, r0, r1); });
            return R1_OK;
        }
        case R1B_OP_COPY: {
            const r1b_view& x = op.src[0];
            s.reserve_scratch(size_t(d.cols));
            const uint8_t* xp = host_ptr(x);
            uint8_t* yp = host_ptr(d);
            std::atomic<bool> converted{true};
            s.parallel(d.rows, 1, [&](int ith, int64_t r0, int64_t r1) {
                if (!op_convert(DType(x.type), xp, x.row_stride, DType(d.type), yp, d.row_stride, d.cols, r0, r1,
                                s.scratch(ith, size_t(d.cols))))
                    converted = false;
            });
            if (!converted) {
                report(s.device->backend, "copy: cannot convert %s to %s", dtype_name(uint32_t(x.type)), dtype_name(uint32_t(d.type)));
                return R1_ERR_UNSUPPORTED;
            }
            return R1_OK;
        }
        case R1B_OP_ATTENTION: {
            AttentionArgs a;
            a.q = host_ptr(op.src[0]);
            a.q_stride = op.src[0].row_stride;
            a.kv_type = DType(op.src[1].type);
            a.k = host_ptr(op.src[1]);
            a.k_stride = op.src[1].row_stride;
            a.v = host_ptr(op.src[2]);
            a.v_stride = op.src[2].row_stride;
            a.out = host_ptr(d);
            a.out_stride = d.row_stride;
            a.n_heads = op.attention.n_heads;
            a.n_kv_heads = op.attention.n_kv_heads;
            a.head_dim = op.attention.head_dim;
            a.pos0 = op.attention.pos0;
            a.scale = op.attention.scale;
            const int64_t n_items = d.rows * a.n_heads;
            const size_t floats = ok.attention_scratch_floats(a.pos0 + d.rows, a.head_dim);
            s.reserve_scratch(floats);
            // Items are (token, head) with the heads of one token consecutive: hand them out a key/value group
            // at a time, so that the query heads sharing a KV head read its cache once.
            const int64_t group = a.n_kv_heads > 0 ? a.n_heads / a.n_kv_heads : 1;
            s.parallel(n_items, group, [&](int ith, int64_t i0, int64_t i1) { ok.attention(a, i0, i1, s.scratch(ith, floats)); });
            return R1_OK;
        }
        default:
            report(s.device->backend, "unknown operation %d", int(op.kind));
            return R1_ERR_UNSUPPORTED;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The interface table
// ---------------------------------------------------------------------------------------------------------------

r1_status backend_init(const r1b_host* host, void** ctx) {
    auto* b = new (std::nothrow) Backend;
    if (!b) return R1_ERR_OUT_OF_MEMORY;
    if (host) b->host = *host;
    *ctx = b;
    return R1_OK;
}

void backend_shutdown(void* ctx) { delete static_cast<Backend*>(ctx); }

int32_t device_count(void*) { return 1; }

uint64_t meminfo_bytes(const char* key) {
    std::ifstream f("/proc/meminfo");
    std::string k;
    uint64_t v;
    std::string unit;
    while (f >> k >> v >> unit)
        if (k == key) return v * 1024;
    return 0;
}

r1_status device_info(void* ctx, int32_t index, r1b_device_info* out) {
    if (index != 0) {
        report(static_cast<Backend*>(ctx), "the CPU backend has one device (index 0), not %d", index);
        return R1_ERR_OUT_OF_RANGE;
    }
    std::memset(out, 0, sizeof *out);
    std::snprintf(out->name, sizeof out->name, "%s", cpu_features().model_name.c_str());
    out->kind = R1B_DEVICE_CPU;
    out->memory_total = meminfo_bytes("MemTotal:");
    out->memory_free = meminfo_bytes("MemAvailable:");
    return R1_OK;
}

r1_status device_open(void* ctx, int32_t index, const r1b_device_params* params, r1b_device** out) {
    auto* b = static_cast<Backend*>(ctx);
    if (index != 0) {
        report(b, "the CPU backend has one device (index 0), not %d", index);
        return R1_ERR_OUT_OF_RANGE;
    }
    Isa isa = best_isa();
    bool exact = false;
    if (params) {
        if (params->cpu_isa != 0) {
            if (params->cpu_isa < 1 || params->cpu_isa > 4) {
                report(b, "unknown CPU kernel family %d", params->cpu_isa);
                return R1_ERR_INVALID_ARGUMENT;
            }
            isa = Isa(params->cpu_isa - 1);
            if (!isa_available(isa)) {
                report(b, "this CPU cannot run the %s kernels", isa_name(isa));
                return R1_ERR_UNSUPPORTED;
            }
        }
        exact = params->exact_math != 0;
    }
    auto* d = new (std::nothrow) Device{b, isa, exact};
    if (!d) return R1_ERR_OUT_OF_MEMORY;
    *out = reinterpret_cast<r1b_device*>(d);
    return R1_OK;
}

void device_close(r1b_device* d) { delete reinterpret_cast<Device*>(d); }

r1_status buffer_alloc(r1b_device* dev, uint64_t size, r1b_buffer_usage, r1b_buffer** out) {
    auto* d = reinterpret_cast<Device*>(dev);
    void* p = nullptr;
    if (size > uint64_t(SIZE_MAX) - 64 || posix_memalign(&p, 64, size_t(size ? size : 1)) != 0) {
        report(d->backend, "out of memory allocating a %llu-byte buffer", (unsigned long long)size);
        return R1_ERR_OUT_OF_MEMORY;
    }
    auto* buf = new (std::nothrow) Buffer{static_cast<uint8_t*>(p), size};
    if (!buf) {
        std::free(p);
        return R1_ERR_OUT_OF_MEMORY;
    }
    *out = reinterpret_cast<r1b_buffer*>(buf);
    return R1_OK;
}

void buffer_free(r1b_device*, r1b_buffer* buffer) {
    auto* b = reinterpret_cast<Buffer*>(buffer);
    if (!b) return;
    std::free(b->data);
    delete b;
}

void* buffer_host_ptr(r1b_buffer* buffer) { return reinterpret_cast<Buffer*>(buffer)->data; }

r1_status weight_create(r1b_device* dev, int32_t type, int64_t rows, int64_t cols, const void* data, uint32_t flags,
                        r1b_weight** out) {
    auto* d = reinterpret_cast<Device*>(dev);
    const DTypeTraits* traits = type >= 0 ? dtype_traits(uint32_t(type)) : nullptr;
    if (!traits || !is_supported(DType(type)) || rows < 1 || cols < 1 || uint64_t(cols) % traits->block_elements) {
        report(d->backend, "weights of type %s and shape %lldx%lld are not supported by the CPU backend",
               dtype_name(uint32_t(type)), (long long)rows, (long long)cols);
        return R1_ERR_UNSUPPORTED;
    }
    auto* w = new (std::nothrow) Weight;
    if (!w) return R1_ERR_OUT_OF_MEMORY;
    w->w.type = DType(type);
    w->w.rows = rows;
    w->w.cols = cols;
    w->w.row_bytes = size_t(dtype_row_bytes(DType(type), uint64_t(cols)));
    const size_t bytes = w->w.row_bytes * size_t(rows);
    if (flags & R1B_WEIGHT_DATA_OUTLIVES) {
        w->w.data = static_cast<const uint8_t*>(data);
    } else {
        void* p = nullptr;
        if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0) {
            delete w;
            report(d->backend, "out of memory copying a %zu-byte weight", bytes);
            return R1_ERR_OUT_OF_MEMORY;
        }
        std::memcpy(p, data, bytes);
        w->copy = static_cast<uint8_t*>(p);
        w->w.data = w->copy;
    }
    if (!(flags & R1B_WEIGHT_ROWS)) {
        const MatmulKernels* k = matmul_kernels(d->isa, DType(type), d->exact);
        if (k && k->repack && k->repack(w->w) && w->copy) {
            std::free(w->copy);  // the repacked copy replaces ours
            w->copy = nullptr;
        }
    }
    *out = reinterpret_cast<r1b_weight*>(w);
    return R1_OK;
}

void weight_free(r1b_device*, r1b_weight* weight) {
    auto* w = reinterpret_cast<Weight*>(weight);
    if (!w) return;
    std::free(w->copy);
    std::free(w->w.owned);
    delete w;
}

uint64_t weight_size(const r1b_weight* weight) {
    const auto* w = reinterpret_cast<const Weight*>(weight);
    return w->w.owned ? w->w.owned_bytes : w->w.row_bytes * uint64_t(w->w.rows);
}

int32_t weight_uses_source(const r1b_weight* weight) {
    const auto* w = reinterpret_cast<const Weight*>(weight);
    return w->copy == nullptr && w->w.owned == nullptr;  // neither our copy nor a repacked one: the caller's bytes
}

int32_t supports(r1b_device*, r1b_op_kind kind, int32_t type) {
    if (type < 0 || !dtype_traits(uint32_t(type))) return 0;
    DType t = DType(type);
    switch (kind) {
        case R1B_OP_MATMUL: return matmul_supported(t);
        case R1B_OP_EMBED: return is_supported(t);
        case R1B_OP_COPY:
        case R1B_OP_ATTENTION:
            return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0;
        default: return t == DType::F32;
    }
}

r1_status stream_create(r1b_device* dev, const r1b_stream_params* params, r1b_stream** out) {
    auto* d = reinterpret_cast<Device*>(dev);
    int n_threads = params && params->n_threads > 0 ? params->n_threads : physical_core_count();
    try {
        auto* s = new Stream(d, n_threads, params ? params->cancel_flag : nullptr);
        *out = reinterpret_cast<r1b_stream*>(s);
        return R1_OK;
    } catch (const std::exception& e) {
        report(d->backend, "cannot create a CPU stream with %d threads: %s", n_threads, e.what());
        return R1_ERR_OUT_OF_MEMORY;
    }
}

void stream_destroy(r1b_stream* s) { delete reinterpret_cast<Stream*>(s); }

r1_status upload(r1b_stream*, r1b_buffer* dst, uint64_t offset, const void* src, uint64_t size) {
    std::memcpy(reinterpret_cast<Buffer*>(dst)->data + offset, src, size_t(size));
    return R1_OK;
}

r1_status download(r1b_stream*, const r1b_buffer* src, uint64_t offset, void* dst, uint64_t size) {
    std::memcpy(dst, reinterpret_cast<const Buffer*>(src)->data + offset, size_t(size));
    return R1_OK;
}

r1_status submit(r1b_stream* stream, const r1b_op* ops, size_t n_ops) {
    auto* s = reinterpret_cast<Stream*>(stream);
    if (s->status != R1_OK) return s->status;
    try {
        for (size_t i = 0; i < n_ops; ++i) {
            if (s->cancel && *s->cancel) {
                s->status = R1_ERR_CANCELLED;
                report(s->device->backend, "cancelled");
                break;
            }
            r1_status st = run_op(*s, ops[i]);
            if (st != R1_OK) {
                s->status = st;
                break;
            }
        }
    } catch (const std::bad_alloc&) {
        report(s->device->backend, "out of memory in the CPU backend");
        s->status = R1_ERR_OUT_OF_MEMORY;
    }
    return s->status;
}

r1_status synchronize(r1b_stream* stream) {
    auto* s = reinterpret_cast<Stream*>(stream);
    r1_status st = s->status;
    s->status = R1_OK;  // the error was delivered; the stream is usable again
    return st;
}

const r1b_backend_iface kIface = {
    R1_BACKEND_API_VERSION,
    sizeof(r1b_backend_iface),
    "cpu",
    backend_init,
    backend_shutdown,
    device_count,
    device_info,
    device_open,
    device_close,
    buffer_alloc,
    buffer_free,
    buffer_host_ptr,
    weight_create,
    weight_free,
    weight_size,
    supports,
    stream_create,
    stream_destroy,
    upload,
    download,
    submit,
    synchronize,
    weight_uses_source,
};

}  // namespace

const r1b_backend_iface* cpu_backend_iface() { return &kIface; }

}  // namespace r1::cpu
