/*
 * The backend interface: how the core drives a compute device. C-compatible (a table of function pointers plus
 * opaque context pointers) so that a backend can live in a plugin library built by another compiler (the CUDA
 * backend is built by nvcc into libr1-cuda.so and loaded with dlopen).
 *
 * Hierarchy: backend -> device -> { buffers, weights, streams }.
 * - A buffer is device memory for activations, the KV cache or scratch; the core addresses it through views.
 * - A weight is an immutable matrix (or vector) uploaded once; the backend may store it in any layout it likes
 *   (the CPU backend repacks some types into interleaved rows), so the core never reads it back.
 * - A stream executes operations in order. submit() may return before the work is done; synchronize() waits.
 *   Every session owns one stream (the CPU backend's stream owns the session's thread pool).
 *
 * Entries marked optional may be NULL; the core then supplies the default noted next to them.
 * Errors: functions return r1_status; on failure they write a message through the host's error hook.
 *
 * Versioning: R1_BACKEND_API_VERSION changes whenever this file changes incompatibly; the registry refuses a
 * backend whose api_version differs. A plugin exports one function, named by R1_BACKEND_ENTRY_NAME.
 */
#ifndef R1_BACKEND_H
#define R1_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "r1.h"

#ifdef __cplusplus
extern "C" {
#endif

#define R1_BACKEND_API_VERSION 1
#define R1_BACKEND_ENTRY_NAME "r1_backend_entry_v1"

typedef struct r1b_device r1b_device;  /* opaque, owned by the backend */
typedef struct r1b_buffer r1b_buffer;
typedef struct r1b_weight r1b_weight;
typedef struct r1b_stream r1b_stream;

typedef enum r1b_device_kind {
    R1B_DEVICE_CPU = 0,
    R1B_DEVICE_DISCRETE_GPU = 1,
    R1B_DEVICE_INTEGRATED_GPU = 2,
    R1B_DEVICE_VIRTUAL = 3, /* e.g. a software Vulkan implementation running on the CPU */
    R1B_DEVICE_KIND_FORCE32 = 0x7FFFFFFF
} r1b_device_kind;

typedef struct r1b_device_info {
    char name[128];
    r1b_device_kind kind;
    uint64_t memory_total; /* bytes; 0 when unknown */
    uint64_t memory_free;  /* bytes; 0 when unknown */
} r1b_device_info;

typedef enum r1b_buffer_usage {
    R1B_BUFFER_SCRATCH = 0,  /* activations of a forward pass */
    R1B_BUFFER_KV_CACHE = 1, /* keys and values of a session */
    R1B_BUFFER_IO = 2,       /* small inputs and outputs (token ids, logits) */
    R1B_BUFFER_USAGE_FORCE32 = 0x7FFFFFFF
} r1b_buffer_usage;

/* A 2-D view into a buffer: `rows` rows of `cols` elements of `type` (an r1_type id), each row starting
 * `row_stride` bytes after the previous one. Quantized types (Q8_0 for the KV cache) need cols to be a multiple
 * of the block size. */
typedef struct r1b_view {
    r1b_buffer* buffer;
    uint64_t offset;
    int32_t type;
    int32_t reserved;
    int64_t rows;
    int64_t cols;
    uint64_t row_stride;
} r1b_view;

typedef enum r1b_weight_flags {
    /* `data` stays valid and unchanged for the weight's lifetime (a mapped file): the backend may reference it
     * instead of copying it. */
    R1B_WEIGHT_DATA_OUTLIVES = 1,
    /* The weight is read by row (EMBED): keep it in GGUF layout rather than repacking it. */
    R1B_WEIGHT_ROWS = 2,
    R1B_WEIGHT_FLAGS_FORCE32 = 0x7FFFFFFF
} r1b_weight_flags;

typedef enum r1b_op_kind {
    /* dst[t, :] = weight row ids[t] converted to dst's type (F32). src[0]: ids, int32 (type I32), cols = 1. */
    R1B_OP_EMBED = 0,
    /* dst[r, :] = src[0][r, :] / sqrt(mean(src[0][r, :]^2) + eps) * weight  (weight: F32 vector of cols, or NULL).
     * dst may alias src[0]. With a row width smaller than src's (per-head norms), view the heads as rows. */
    R1B_OP_RMS_NORM = 1,
    /* dst[t, o] = sum_i weight[o, i] * src[0][t, i] (+ bias[o] when bias != NULL). dst and src are F32. */
    R1B_OP_MATMUL = 2,
    /* dst = src[0] + src[1], elementwise, same shape; dst may alias either source. */
    R1B_OP_ADD = 3,
    /* Rotary position embedding, in place on dst (F32): row t holds n_heads heads of head_dim values at position
     * pos0 + t; the first n_rot dims of each head rotate. See r1b_rope_params. */
    R1B_OP_ROPE = 4,
    /* dst = silu(src[0]) * src[1], elementwise. */
    R1B_OP_SILU_MUL = 5,
    /* dst[r, :] = softmax(src[0][r, :] * scale); dst may alias src. */
    R1B_OP_SOFTMAX = 6,
    /* dst[r, :] = src[0][r, :] converted to dst's type (F32 -> F32/F16/Q8_0/BF16; F16/BF16 -> F32). Used to store
     * keys and values into the KV cache. */
    R1B_OP_COPY = 7,
    /* Causal attention with grouped-query heads over the KV cache. src[0]: queries [T, n_heads*head_dim] (F32);
     * src[1]: keys [n_ctx, n_kv_heads*head_dim]; src[2]: values, same shape; dst: [T, n_heads*head_dim] (F32).
     * Query row t sits at position pos0 + t and attends to cache rows 0 .. pos0 + t. */
    R1B_OP_ATTENTION = 8,
    R1B_OP_KIND_COUNT = 9,
    R1B_OP_KIND_FORCE32 = 0x7FFFFFFF
} r1b_op_kind;

typedef enum r1b_rope_mode {
    R1B_ROPE_INTERLEAVED = 0, /* pairs (2i, 2i+1): the GGUF layout of llama q/k */
    R1B_ROPE_NEOX = 1,        /* pairs (i, i + n_rot/2): Qwen2/Qwen3 */
    R1B_ROPE_MODE_FORCE32 = 0x7FFFFFFF
} r1b_rope_mode;

typedef struct r1b_rope_params {
    int32_t n_heads;
    int32_t head_dim;
    int32_t n_rot;          /* dims rotated per head (<= head_dim, even) */
    r1b_rope_mode mode;
    int64_t pos0;           /* position of row 0 */
    float freq_base;        /* theta_i = pos * freq_scale * freq_base^(-2i/n_rot) / factor_i */
    float freq_scale;       /* 1 for none; linear scaling divides positions */
    const r1b_weight* freq_factors; /* optional F32 [n_rot/2]: per-pair divisors (llama3 rope_freqs) */
} r1b_rope_params;

typedef struct r1b_attention_params {
    int32_t n_heads;
    int32_t n_kv_heads;     /* n_heads is a multiple of it */
    int32_t head_dim;
    int32_t reserved;
    int64_t pos0;           /* position of query row 0 */
    float scale;            /* usually 1/sqrt(head_dim) */
} r1b_attention_params;

typedef struct r1b_op {
    r1b_op_kind kind;
    int32_t reserved;
    r1b_view dst;
    r1b_view src[3];
    const r1b_weight* weight; /* EMBED, RMS_NORM, MATMUL */
    const r1b_weight* bias;   /* MATMUL (optional) */
    float eps;                /* RMS_NORM */
    float scale;              /* SOFTMAX */
    r1b_rope_params rope;
    r1b_attention_params attention;
} r1b_op;

/* Services the core offers a backend. */
typedef struct r1b_host {
    uint32_t struct_size;
    /* Records a failure message for the current call (the core turns it into r1_last_error()). */
    void (*set_error)(void* host_ctx, const char* message);
    /* Logging (silent unless the host installed a callback). */
    void (*log)(void* host_ctx, r1_log_level level, const char* message);
    void* host_ctx;
} r1b_host;

typedef struct r1b_device_params {
    uint32_t struct_size;
    int32_t cpu_isa;      /* CPU: kernel family; 0 = the best available, else an r1_cpu_isa value (r1.h) */
    int32_t exact_math;   /* matmuls with float activations (no 8-bit activation quantization) */
} r1b_device_params;

typedef struct r1b_stream_params {
    uint32_t struct_size;
    int32_t n_threads;         /* CPU: worker threads; 0 = number of physical cores */
    const volatile int32_t* cancel_flag; /* optional: when it becomes non-zero, stop between operations */
} r1b_stream_params;

typedef struct r1b_backend_iface {
    uint32_t api_version; /* R1_BACKEND_API_VERSION */
    uint32_t struct_size; /* sizeof(r1b_backend_iface) */
    const char* name;     /* "cpu", "vulkan", "cuda" */

    /* Backend lifetime. init may fail (no driver) by returning an error; device_count then counts as 0. */
    r1_status (*init)(const r1b_host* host, void** backend_ctx);
    void (*shutdown)(void* backend_ctx);

    int32_t (*device_count)(void* backend_ctx);
    r1_status (*device_info)(void* backend_ctx, int32_t index, r1b_device_info* out);
    r1_status (*device_open)(void* backend_ctx, int32_t index, const r1b_device_params* params, r1b_device** out);
    void (*device_close)(r1b_device* device);

    /* Buffers. host_ptr (optional: NULL = not host-visible) gives direct access for host-visible memory. */
    r1_status (*buffer_alloc)(r1b_device* device, uint64_t size, r1b_buffer_usage usage, r1b_buffer** out);
    void (*buffer_free)(r1b_device* device, r1b_buffer* buffer);
    void* (*buffer_host_ptr)(r1b_buffer* buffer);

    /* Weights. `data` holds rows * row_bytes(type, cols) bytes in GGUF layout; flags are r1b_weight_flags. */
    r1_status (*weight_create)(r1b_device* device, int32_t type, int64_t rows, int64_t cols, const void* data,
                               uint32_t flags, r1b_weight** out);
    void (*weight_free)(r1b_device* device, r1b_weight* weight);
    /* Bytes of device memory the weight occupies (optional: NULL = the GGUF size). */
    uint64_t (*weight_size)(const r1b_weight* weight);

    /* Whether the device executes `kind` with weights (or tensors) of `type`. */
    int32_t (*supports)(r1b_device* device, r1b_op_kind kind, int32_t type);

    /* Streams. Transfers and operations on one stream execute in submission order. */
    r1_status (*stream_create)(r1b_device* device, const r1b_stream_params* params, r1b_stream** out);
    void (*stream_destroy)(r1b_stream* stream);
    r1_status (*upload)(r1b_stream* stream, r1b_buffer* dst, uint64_t offset, const void* src, uint64_t size);
    /* The bytes land in `dst` by the time synchronize() returns. */
    r1_status (*download)(r1b_stream* stream, const r1b_buffer* src, uint64_t offset, void* dst, uint64_t size);
    r1_status (*submit)(r1b_stream* stream, const r1b_op* ops, size_t n_ops);
    /* Waits for everything submitted; returns the first error of that work (R1_ERR_CANCELLED when the cancel
     * flag stopped it). */
    r1_status (*synchronize)(r1b_stream* stream);

    /* Appended entries: a backend built against an earlier header has a smaller struct_size, and the core reads
     * an appended entry only when struct_size covers it (r1b_iface_has), else it takes the noted default. */

    /* Whether the weight still reads the `data` it was created from (it was created with
     * R1B_WEIGHT_DATA_OUTLIVES and references it). When no weight made from a tensor does, the core gives the
     * tensor's memory back to the system. Optional: NULL = yes. */
    int32_t (*weight_uses_source)(const r1b_weight* weight);
} r1b_backend_iface;

/* The size of the table before its first appended entry: what every backend of this api_version provides. */
#define R1B_IFACE_MIN_SIZE offsetof(r1b_backend_iface, weight_uses_source)
/* Whether `iface` provides the (appended, possibly NULL) entry `member`. */
#define r1b_iface_has(iface, member) \
    ((iface)->struct_size >= offsetof(r1b_backend_iface, member) + sizeof((iface)->member) && (iface)->member)

/* The one function a plugin library exports (named R1_BACKEND_ENTRY_NAME). Returns NULL when the plugin cannot
 * serve this host's API version. */
typedef const r1b_backend_iface* (*r1b_entry_fn)(uint32_t host_api_version);

#ifdef __cplusplus
}
#endif

#endif /* R1_BACKEND_H */
