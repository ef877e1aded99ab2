/*
 * r1.h - the whole public API of r1, an embeddable inference runtime for distilled DeepSeek-R1 models.
 *
 * Usage (error handling shortened; every call that can fail returns an r1_status):
 *
 *     #include "r1.h"
 *     #include <stdio.h>
 *
 *     int main(void) {
 *         r1_model_params params;
 *         r1_model_params_init(&params);             // defaults; then set only what you need
 *         r1_model* model = NULL;
 *         if (r1_model_load("model.gguf", &params, &model) != R1_OK) {
 *             fprintf(stderr, "load failed: %s\n", r1_last_error());
 *             return 1;
 *         }
 *         r1_model_info info;
 *         info.struct_size = sizeof info;             // tells the library which fields this caller knows
 *         r1_model_get_info(model, &info);
 *         printf("%s, %llu parameters\n", info.architecture, (unsigned long long)info.n_params);
 *         r1_model_free(model);                       // accepts NULL
 *         return 0;
 *     }
 *
 * Rules that hold for the whole API:
 * - Every function that can fail returns r1_status: R1_OK (0) or a negative error. After an error,
 *   r1_last_error() gives a message for the calling thread. Out-parameters are written only on success, except
 *   where a function documents otherwise (constructors set their handle to NULL on failure; functions that
 *   report a needed buffer size write it when the buffer is too small).
 * - Text is UTF-8. Sizes and counts are size_t or int64_t. Token ids are int32_t.
 * - Structs passed in begin with `uint32_t struct_size`; fill them with the matching *_init() function (or set
 *   struct_size = sizeof the struct) so that a newer library can read an older caller's struct. Zero in a field
 *   means "the default". Fields are only ever appended.
 * - Thread safety: a model is immutable after loading and may be used from many threads at once. Functions
 *   that take a `const r1_model*` are safe to call concurrently. Freeing is not: free an object only when no
 *   other thread uses it.
 * - The library never prints, never calls exit() or abort(), and reports bad input as an error. Logging goes to
 *   the callback a host installs in the parameters; with none installed the library is silent.
 * - Pointers returned by the library are owned by the library; each function says how long they stay valid.
 *
 * Compatibility: R1_ABI_VERSION changes only when a binary-incompatible change is made (none is planned;
 * signatures never change and new behaviour arrives as new functions). Compare r1_abi_version() with
 * R1_ABI_VERSION when loading the library dynamically.
 */
#ifndef R1_H
#define R1_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && !defined(R1_STATIC)
#  if defined(R1_BUILDING_LIBRARY)
#    define R1_API __declspec(dllexport)
#  else
#    define R1_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define R1_API __attribute__((visibility("default")))
#else
#  define R1_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------------------
 * Versions
 * ------------------------------------------------------------------------------------------------------------ */

#define R1_VERSION_MAJOR 0
#define R1_VERSION_MINOR 1
#define R1_VERSION_PATCH 0
#define R1_VERSION_STRING "0.1.0"
/* One number, MAJOR * 10000 + MINOR * 100 + PATCH, for compile-time comparisons. */
#define R1_VERSION_NUMBER (R1_VERSION_MAJOR * 10000 + R1_VERSION_MINOR * 100 + R1_VERSION_PATCH)
/* The binary interface; the shared library's soname is libr1.so.<R1_ABI_VERSION>. */
#define R1_ABI_VERSION 1

/* The library's version as R1_VERSION_NUMBER computes it. Compare with the macro to detect a header/library
 * mismatch. Thread safety: any thread. */
R1_API int32_t r1_version(void);

/* The library's version as text, e.g. "0.1.0". Static storage. Thread safety: any thread. */
R1_API const char* r1_version_string(void);

/* The library's R1_ABI_VERSION. Bindings refuse to run when it differs from theirs. Thread safety: any. */
R1_API int32_t r1_abi_version(void);

/* ------------------------------------------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------------------------------------------ */

/* Values are fixed forever; new codes are only appended. */
typedef enum r1_status {
    R1_OK = 0,
    R1_ERR_INVALID_ARGUMENT = -1, /* a NULL pointer, a size of zero, a value out of range */
    R1_ERR_OUT_OF_MEMORY = -2,    /* an allocation failed (host memory or device memory) */
    R1_ERR_IO = -3,               /* a file could not be opened, read, written or mapped */
    R1_ERR_FORMAT = -4,           /* a file is malformed: the message names the problem and the byte offset */
    R1_ERR_UNSUPPORTED = -5,      /* well-formed, but not something this build can handle */
    R1_ERR_NOT_FOUND = -6,        /* a metadata key, tensor, token or name does not exist */
    R1_ERR_BUFFER_TOO_SMALL = -7, /* an output buffer is too small; the needed size was reported */
    R1_ERR_CANCELLED = -8,        /* a callback asked to stop */
    R1_ERR_TYPE_MISMATCH = -9,    /* a value exists but has another type than the one asked for */
    R1_ERR_OUT_OF_RANGE = -10,    /* an index past the end, or a value that does not fit the requested type */
    R1_ERR_BACKEND = -11,         /* a compute backend failed (driver error, lost device) */
    R1_ERR_INTERNAL = -12,        /* a bug in r1; please report it with the message */
    R1_STATUS_FORCE32 = 0x7FFFFFFF
} r1_status;

/* A short static description of a status, e.g. "format error". Unknown values give "unknown status".
 * Thread safety: any thread. */
R1_API const char* r1_status_string(r1_status status);

/* The detailed message of the most recent failed call made by the calling thread, e.g.
 * "model.gguf: at byte 24: metadata key length 4294967296 exceeds the 1000 bytes left in the file".
 * Returns "" when no call on this thread has failed. The text is owned by the library and stays valid until the
 * calling thread's next failing r1_* call. Successful calls leave it unchanged. Thread safety: per thread. */
R1_API const char* r1_last_error(void);

/* ------------------------------------------------------------------------------------------------------------
 * Callbacks shared by several objects
 * ------------------------------------------------------------------------------------------------------------ */

typedef enum r1_log_level {
    R1_LOG_DEFAULT = 0, /* as a threshold: R1_LOG_INFO */
    R1_LOG_DEBUG = 1,
    R1_LOG_INFO = 2,
    R1_LOG_WARN = 3,
    R1_LOG_ERROR = 4,
    R1_LOG_LEVEL_FORCE32 = 0x7FFFFFFF
} r1_log_level;

/* Receives one log message: a complete line without the trailing newline, valid only during the call.
 * Called on whichever thread does the work; it must not call back into the object that is logging. */
typedef void (*r1_log_fn)(void* user_data, r1_log_level level, const char* message);

/* Reports progress of a long operation, `progress` rising from 0 to 1. Return 0 to continue, non-zero to cancel
 * (the operation then fails with R1_ERR_CANCELLED and releases what it allocated). Called on the thread that
 * made the call. */
typedef int32_t (*r1_progress_fn)(void* user_data, float progress);

/* ------------------------------------------------------------------------------------------------------------
 * Tensor types (ggml's numbering, as stored in GGUF files)
 * ------------------------------------------------------------------------------------------------------------ */

typedef enum r1_type {
    R1_TYPE_F32 = 0,
    R1_TYPE_F16 = 1,
    R1_TYPE_Q4_0 = 2,
    R1_TYPE_Q4_1 = 3,
    R1_TYPE_Q5_0 = 6,
    R1_TYPE_Q5_1 = 7,
    R1_TYPE_Q8_0 = 8,
    R1_TYPE_Q8_1 = 9,
    R1_TYPE_Q2_K = 10,
    R1_TYPE_Q3_K = 11,
    R1_TYPE_Q4_K = 12,
    R1_TYPE_Q5_K = 13,
    R1_TYPE_Q6_K = 14,
    R1_TYPE_Q8_K = 15,
    R1_TYPE_IQ2_XXS = 16,
    R1_TYPE_IQ2_XS = 17,
    R1_TYPE_IQ3_XXS = 18,
    R1_TYPE_IQ1_S = 19,
    R1_TYPE_IQ4_NL = 20,
    R1_TYPE_IQ3_S = 21,
    R1_TYPE_IQ2_S = 22,
    R1_TYPE_IQ4_XS = 23,
    R1_TYPE_I8 = 24,
    R1_TYPE_I16 = 25,
    R1_TYPE_I32 = 26,
    R1_TYPE_I64 = 27,
    R1_TYPE_F64 = 28,
    R1_TYPE_IQ1_M = 29,
    R1_TYPE_BF16 = 30,
    R1_TYPE_TQ1_0 = 34,
    R1_TYPE_TQ2_0 = 35,
    R1_TYPE_MXFP4 = 39,
    R1_TYPE_FORCE32 = 0x7FFFFFFF
} r1_type;

/* Type ids are below this bound; arrays indexed by type id have this many entries. */
#define R1_TYPE_ID_LIMIT 64

/* ggml's name of a type ("f32", "q4_K", ...), or "unknown". Static storage. Thread safety: any thread. */
R1_API const char* r1_type_name(int32_t type);

/* The name of a GGUF `general.file_type` value (llama.cpp's LLAMA_FTYPE numbering: 15 = "Q4_K_M", 1 = "F16", ...),
 * or "unknown". Static storage. Thread safety: any thread. */
R1_API const char* r1_file_type_name(int32_t file_type);

/* ------------------------------------------------------------------------------------------------------------
 * Backends and devices
 * ------------------------------------------------------------------------------------------------------------ */

typedef enum r1_device_kind {
    R1_DEVICE_CPU = 0,
    R1_DEVICE_DISCRETE_GPU = 1,
    R1_DEVICE_INTEGRATED_GPU = 2,
    R1_DEVICE_VIRTUAL = 3, /* e.g. a software Vulkan implementation running on the CPU */
    R1_DEVICE_KIND_FORCE32 = 0x7FFFFFFF
} r1_device_kind;

typedef struct r1_backend_info {
    uint32_t struct_size;   /* in: sizeof(r1_backend_info) */
    int32_t n_devices;      /* devices this backend can use here (0 when unavailable) */
    const char* name;       /* "cpu", "vulkan", "cuda"; static for the life of the process */
    const char* origin;     /* "built-in" or the path of the plugin it came from */
    r1_status status;       /* R1_OK, or why the backend is unavailable (e.g. no driver) */
    const char* message;    /* "" or the detail of `status` */
} r1_backend_info;

typedef struct r1_device_info {
    uint32_t struct_size;   /* in: sizeof(r1_device_info) */
    r1_device_kind kind;
    const char* name;       /* static for the life of the process */
    uint64_t memory_total;  /* bytes; 0 when unknown */
    uint64_t memory_free;   /* bytes at the time the backend was registered; 0 when unknown */
} r1_device_info;

/* Number of registered backends (built-in ones and loaded plugins). The registry is the library's only
 * process-wide state; every function here is thread-safe. */
R1_API int32_t r1_backend_count(void);

/* Describes backend `index` (0 <= index < r1_backend_count()). The caller sets info->struct_size.
 * Returns R1_OK, R1_ERR_INVALID_ARGUMENT or R1_ERR_OUT_OF_RANGE. */
R1_API r1_status r1_backend_get_info(int32_t index, r1_backend_info* info);

/* Describes device `device` of backend `backend`. Returns R1_OK, R1_ERR_INVALID_ARGUMENT or
 * R1_ERR_OUT_OF_RANGE. */
R1_API r1_status r1_backend_device_info(int32_t backend, int32_t device, r1_device_info* info);

/* Loads a backend plugin library (e.g. libr1-cuda.so) and registers its backend. out_index (optional) receives
 * its index. Loading the same backend twice returns the first index. Plugins are never unloaded.
 * Returns R1_OK; R1_ERR_IO (cannot load), R1_ERR_FORMAT (not an r1 plugin), R1_ERR_UNSUPPORTED (another backend
 * API version). */
R1_API r1_status r1_backend_load_plugin(const char* path, int32_t* out_index);

/* ------------------------------------------------------------------------------------------------------------
 * Models
 * ------------------------------------------------------------------------------------------------------------ */

/* A loaded GGUF model: metadata, tensors and (in later versions) weights placed on a backend. Immutable after
 * loading; share one among many threads. */
typedef struct r1_model r1_model;

typedef enum r1_load_mode {
    R1_LOAD_DEFAULT = 0, /* R1_LOAD_MMAP */
    R1_LOAD_MMAP = 1,    /* map the file read-only: fast, and the pages are shared between processes */
    R1_LOAD_READ = 2,    /* read the tensor data into memory owned by the model */
    R1_LOAD_MODE_FORCE32 = 0x7FFFFFFF
} r1_load_mode;

/* CPU kernel families (for r1_model_params.cpu_isa). */
typedef enum r1_cpu_isa {
    R1_CPU_ISA_AUTO = 0,   /* the best family this CPU runs */
    R1_CPU_ISA_SCALAR = 1, /* the portable reference kernels */
    R1_CPU_ISA_AVX2 = 2,   /* x86-64 AVX2 + FMA + F16C */
    R1_CPU_ISA_AVX512 = 3, /* x86-64 AVX-512 (F, BW, VL, DQ) + VNNI */
    R1_CPU_ISA_NEON = 4,   /* AArch64 Advanced SIMD + dot product */
    R1_CPU_ISA_FORCE32 = 0x7FFFFFFF
} r1_cpu_isa;

typedef struct r1_model_params {
    uint32_t struct_size;              /* sizeof(r1_model_params), set by r1_model_params_init */
    r1_load_mode load_mode;            /* how tensor data reaches memory; 0 = mmap */
    r1_progress_fn progress_callback;  /* optional: load progress; returning non-zero cancels the load */
    void* progress_user_data;          /* passed to progress_callback */
    r1_log_fn log_callback;            /* optional: receives this model's log messages; NULL = silent */
    void* log_user_data;               /* passed to log_callback */
    r1_log_level log_level;            /* lowest level delivered; 0 = R1_LOG_INFO */
    /* Appended in 0.1 (backends): */
    const char* backend;               /* "auto" or NULL (the best available), "cpu", "vulkan", "cuda" */
    int32_t device;                    /* device index within the backend; 0 = the first (best) one */
    r1_cpu_isa cpu_isa;                /* CPU kernels; 0 = the best for this CPU. Forcing one is for testing */
    int32_t exact_math;                /* 1: matmuls in float on dequantized weights (slow; the reference for
                                        * tests). 0: 8-bit quantized activations where the weights are
                                        * quantized, as the reference runtime does */
    int32_t metadata_only;             /* 1: read metadata, tensor descriptions and the tokenizer only; no
                                        * weights are placed on a device and sessions cannot be created */
    int32_t n_gpu_layers;              /* partial offload: how many layers, counted from the last, run on the
                                        * backend's device; the others (and the token embedding) run on the CPU.
                                        * -1 (set by init) = all; 0 = none. With the CPU backend a split still
                                        * runs both parts on the CPU (the same code path, for testing) */
} r1_model_params;

/* Fills `params` with the defaults (and struct_size). Thread safety: any thread. */
R1_API void r1_model_params_init(r1_model_params* params);

/* Loads a GGUF model from a file.
 * path:      in, UTF-8 path of a GGUF v2 or v3 file.
 * params:    in, optional (NULL = defaults); read only during the call.
 * out_model: out, receives the model on success (set to NULL on failure). Free it with r1_model_free().
 * Returns R1_OK; R1_ERR_IO when the file cannot be read; R1_ERR_FORMAT when it is malformed (the message names
 * the problem and byte offset); R1_ERR_UNSUPPORTED for a well-formed file this build cannot use (e.g. a
 * big-endian file); R1_ERR_CANCELLED when the progress callback cancelled; R1_ERR_OUT_OF_MEMORY.
 * Thread safety: any thread; loading different models concurrently is fine. */
R1_API r1_status r1_model_load(const char* path, const r1_model_params* params, r1_model** out_model);

/* Loads a GGUF model from memory the caller owns, without copying it (an asset pack, a file the host mapped).
 * data/size: in, the complete GGUF file. The memory must stay valid and unchanged until r1_model_free();
 *            when params->load_mode is R1_LOAD_READ the tensor data is copied and the memory need only outlive
 *            this call.
 * Other parameters and returns as r1_model_load(). Thread safety: any thread. */
R1_API r1_status r1_model_load_from_memory(const void* data, size_t size, const r1_model_params* params,
                                           r1_model** out_model);

/* Frees a model and everything it owns; accepts NULL. No other thread may be using the model. */
R1_API void r1_model_free(r1_model* model);

/* A summary of a model. The caller sets struct_size (to sizeof(r1_model_info)); the library fills the fields
 * that fit in that size. Strings are owned by the model and valid until r1_model_free(). */
typedef struct r1_model_info {
    uint32_t struct_size;                        /* in: sizeof(r1_model_info) as the caller knows it */
    uint32_t gguf_version;                       /* 2 or 3 */
    const char* architecture;                    /* general.architecture, e.g. "qwen2"; "" when absent */
    const char* name;                            /* general.name; "" when absent */
    const char* tokenizer_model;                 /* tokenizer.ggml.model, e.g. "gpt2" or "llama"; "" when absent */
    uint64_t n_params;                           /* total number of tensor elements */
    int64_t n_ctx_train;                         /* <arch>.context_length; 0 when absent */
    int64_t n_vocab;                             /* tokens in tokenizer.ggml.tokens; 0 when absent */
    int64_t n_layers;                            /* <arch>.block_count; 0 when absent */
    int64_t n_embd;                              /* <arch>.embedding_length; 0 when absent */
    int64_t n_heads;                             /* <arch>.attention.head_count; 0 when absent */
    int64_t n_kv_heads;                          /* <arch>.attention.head_count_kv (else n_heads); 0 if absent */
    int64_t n_ff;                                /* <arch>.feed_forward_length; 0 when absent */
    int64_t n_tensors;                           /* tensors in the file */
    int64_t n_metadata;                          /* metadata key/value pairs in the file */
    int32_t has_chat_template;                   /* 1 when tokenizer.chat_template is present */
    int32_t file_type;                           /* general.file_type (llama.cpp's LLAMA_FTYPE); -1 if absent */
    uint64_t file_size;                          /* bytes of the whole file */
    uint64_t tensor_data_size;                   /* bytes of the tensor data section, padding included */
    uint64_t fingerprint;                        /* xxh64 (seed 0) of the tensor data section */
    int64_t type_tensor_count[R1_TYPE_ID_LIMIT]; /* tensors per type id: the file's mix of types */
    uint64_t type_bytes[R1_TYPE_ID_LIMIT];       /* bytes of tensor data per type id */
    /* Appended in 0.1 (placement; all zero / "" for metadata-only models): */
    const char* backend;                         /* the backend the model runs on: "cpu", "vulkan", "cuda" */
    const char* device_name;                     /* its device */
    int64_t n_layers_offloaded;                  /* layers on that device (the rest run on the CPU) */
    uint64_t device_weight_bytes;                /* bytes of weights on that device */
    uint64_t cpu_weight_bytes;                   /* bytes of weights on the CPU when layers are split (else 0) */
} r1_model_info;

/* Fills `info` (see r1_model_info). The first call hashes all tensor data for `fingerprint` (about 0.1 s per
 * GB in memory); later calls reuse the result.
 * Returns R1_OK; R1_ERR_INVALID_ARGUMENT for NULL pointers or a struct_size below the first fields.
 * Thread safety: any thread, concurrently. */
R1_API r1_status r1_model_get_info(const r1_model* model, r1_model_info* info);

/* ------------------------------------------------------------------------------------------------------------
 * Model metadata (GGUF key/value pairs)
 * ------------------------------------------------------------------------------------------------------------ */

/* GGUF value types, numbered as in the file format. */
typedef enum r1_meta_type {
    R1_META_UINT8 = 0,
    R1_META_INT8 = 1,
    R1_META_UINT16 = 2,
    R1_META_INT16 = 3,
    R1_META_UINT32 = 4,
    R1_META_INT32 = 5,
    R1_META_FLOAT32 = 6,
    R1_META_BOOL = 7,
    R1_META_STRING = 8,
    R1_META_ARRAY = 9,
    R1_META_UINT64 = 10,
    R1_META_INT64 = 11,
    R1_META_FLOAT64 = 12,
    R1_META_TYPE_FORCE32 = 0x7FFFFFFF
} r1_meta_type;

/* Number of metadata keys; 0 for NULL. Thread safety: any thread. */
R1_API int64_t r1_model_meta_count(const r1_model* model);

/* The key at `index` (file order, 0 <= index < r1_model_meta_count), or NULL when out of range. Owned by the
 * model, valid until r1_model_free(). Thread safety: any thread. */
R1_API const char* r1_model_meta_key(const r1_model* model, int64_t index);

/* Describes the value of `key`.
 * out_type:      out, optional: the value's type.
 * out_elem_type: out, optional: for arrays, the elements' type (else the value's type).
 * out_count:     out, optional: for arrays, the number of elements (else 1).
 * Returns R1_OK or R1_ERR_NOT_FOUND. Thread safety: any thread. */
R1_API r1_status r1_model_meta_type(const r1_model* model, const char* key, r1_meta_type* out_type,
                                    r1_meta_type* out_elem_type, int64_t* out_count);

/* Reads a string value. *out_value points to `*out_length` bytes followed by a NUL; owned by the model and valid
 * until r1_model_free(). out_length is optional. GGUF strings may contain NUL bytes; use the length.
 * Returns R1_OK, R1_ERR_NOT_FOUND, or R1_ERR_TYPE_MISMATCH when the value is not a string. Thread safety: any. */
R1_API r1_status r1_model_meta_string(const r1_model* model, const char* key, const char** out_value,
                                      size_t* out_length);

/* Reads an integer value of any integer type (uint8 ... int64). Returns R1_OK, R1_ERR_NOT_FOUND,
 * R1_ERR_TYPE_MISMATCH (not an integer) or R1_ERR_OUT_OF_RANGE (a uint64 above INT64_MAX; use
 * r1_model_meta_uint). Thread safety: any thread. */
R1_API r1_status r1_model_meta_int(const r1_model* model, const char* key, int64_t* out_value);

/* Reads a non-negative integer value of any integer type. Returns R1_OK, R1_ERR_NOT_FOUND,
 * R1_ERR_TYPE_MISMATCH or R1_ERR_OUT_OF_RANGE (negative). Thread safety: any thread. */
R1_API r1_status r1_model_meta_uint(const r1_model* model, const char* key, uint64_t* out_value);

/* Reads a float32 or float64 value. Returns R1_OK, R1_ERR_NOT_FOUND or R1_ERR_TYPE_MISMATCH. Thread: any. */
R1_API r1_status r1_model_meta_float(const r1_model* model, const char* key, double* out_value);

/* Reads a bool value as 0 or 1. Returns R1_OK, R1_ERR_NOT_FOUND or R1_ERR_TYPE_MISMATCH. Thread: any. */
R1_API r1_status r1_model_meta_bool(const r1_model* model, const char* key, int32_t* out_value);

/* Reads element `index` of an array of integers (any integer type). Returns R1_OK, R1_ERR_NOT_FOUND,
 * R1_ERR_TYPE_MISMATCH, or R1_ERR_OUT_OF_RANGE (index past the end, or a uint64 above INT64_MAX). */
R1_API r1_status r1_model_meta_array_int(const r1_model* model, const char* key, int64_t index,
                                         int64_t* out_value);

/* Reads element `index` of an array of float32 or float64. Returns as r1_model_meta_array_int. */
R1_API r1_status r1_model_meta_array_float(const r1_model* model, const char* key, int64_t index,
                                           double* out_value);

/* Reads element `index` of an array of strings; the pointer is owned by the model (NUL-terminated, valid until
 * r1_model_free()); out_length is optional. Returns as r1_model_meta_array_int. */
R1_API r1_status r1_model_meta_array_string(const r1_model* model, const char* key, int64_t index,
                                            const char** out_value, size_t* out_length);

/* Writes the value of `key` as JSON text (strings escaped, arrays in brackets, nested arrays included) into
 * `buffer`, NUL-terminated.
 * max_array_items: arrays longer than this show their first items and then "..." (a JSON string); 0 = all.
 * buffer/size:     out, optional when size is 0.
 * out_needed:      out, optional: the bytes needed including the NUL, always written when key exists.
 * Returns R1_OK, R1_ERR_NOT_FOUND, or R1_ERR_BUFFER_TOO_SMALL (the buffer then holds a NUL-terminated prefix).
 * Thread safety: any thread. */
R1_API r1_status r1_model_meta_format(const r1_model* model, const char* key, int64_t max_array_items,
                                      char* buffer, size_t size, size_t* out_needed);

/* ------------------------------------------------------------------------------------------------------------
 * Tensors of a model
 * ------------------------------------------------------------------------------------------------------------ */

#define R1_MAX_DIMS 4

typedef struct r1_tensor_info {
    uint32_t struct_size;       /* in: sizeof(r1_tensor_info) as the caller knows it */
    int32_t type;               /* an r1_type id */
    const char* name;           /* owned by the model, valid until r1_model_free() */
    int32_t n_dims;             /* 1..R1_MAX_DIMS */
    int64_t dims[R1_MAX_DIMS];  /* elements per dimension, dims[0] the row length; unused dims are 1 */
    uint64_t offset;            /* byte offset of the tensor's data from the start of the file */
    uint64_t size;              /* bytes of data */
} r1_tensor_info;

/* Number of tensors; 0 for NULL. Thread safety: any thread. */
R1_API int64_t r1_model_tensor_count(const r1_model* model);

/* Describes tensor `index` (file order). The caller sets info->struct_size.
 * Returns R1_OK, R1_ERR_INVALID_ARGUMENT or R1_ERR_OUT_OF_RANGE. Thread safety: any thread. */
R1_API r1_status r1_model_tensor_info(const r1_model* model, int64_t index, r1_tensor_info* info);

/* Finds a tensor by name. Returns R1_OK with its index, or R1_ERR_NOT_FOUND. Thread safety: any thread. */
R1_API r1_status r1_model_find_tensor(const r1_model* model, const char* name, int64_t* out_index);

/* ------------------------------------------------------------------------------------------------------------
 * Text: tokenizer, detokenizer, special tokens, chat templates
 * ------------------------------------------------------------------------------------------------------------ */

/* Flags of r1_tokenize. */
#define R1_TOKENIZE_ADD_SPECIAL 1u   /* add BOS (and EOS) when the model's vocabulary asks for them */
#define R1_TOKENIZE_PARSE_SPECIAL 2u /* match control tokens written in the text (e.g. "<｜User｜>"); without it
                                      * they are tokenized as plain text. User-defined tokens such as "<think>"
                                      * are matched either way, as the reference implementation does */

/* Converts UTF-8 text to token ids. Any bytes are accepted; invalid UTF-8 is tokenized as U+FFFD.
 * text/length:  in, the text (need not be NUL-terminated).
 * flags:        R1_TOKENIZE_* bits.
 * tokens/capacity: out, optional when capacity is 0.
 * out_count:    out, required: the number of tokens the text produces, written also when the buffer is too small.
 * Returns R1_OK; R1_ERR_BUFFER_TOO_SMALL (nothing written to tokens; call again with *out_count entries);
 * R1_ERR_UNSUPPORTED when the model has no usable tokenizer. Thread safety: any thread, concurrently. */
R1_API r1_status r1_tokenize(const r1_model* model, const char* text, size_t length, uint32_t flags,
                             int32_t* tokens, size_t capacity, size_t* out_count);

/* Flags of r1_detokenize and r1_token_to_piece. */
#define R1_DETOKENIZE_RENDER_SPECIAL 1u  /* write control tokens (e.g. "<｜User｜>") as their text; otherwise they
                                          * produce nothing. "<think>" and "</think>" are always written */
#define R1_DETOKENIZE_REMOVE_SPECIAL 2u  /* drop a leading BOS and trailing EOS that tokenization added */

/* Converts token ids to UTF-8 text (the concatenated pieces; an incomplete or invalid UTF-8 sequence, e.g. from
 * ids that split a character, becomes U+FFFD). Writes a NUL-terminated string.
 * out_length: out, required: the text's length in bytes without the NUL, written also when the buffer is too
 * small (then size must be at least *out_length + 1).
 * Returns R1_OK, R1_ERR_BUFFER_TOO_SMALL, R1_ERR_INVALID_ARGUMENT (an id outside the vocabulary). Any thread. */
R1_API r1_status r1_detokenize(const r1_model* model, const int32_t* tokens, size_t count, uint32_t flags,
                               char* text, size_t size, size_t* out_length);

/* The bytes one token stands for (may be part of a UTF-8 character). *out_piece points into the model (valid
 * until r1_model_free; not NUL-terminated); *out_length its length. Returns R1_OK or R1_ERR_INVALID_ARGUMENT. */
R1_API r1_status r1_token_to_piece(const r1_model* model, int32_t token, uint32_t flags, const char** out_piece,
                                   size_t* out_length);

/* A streaming detokenizer: feed generated tokens one at a time and receive text that never ends in a broken
 * UTF-8 sequence (a character spanning tokens is held back until complete). One per stream; not shared. */
typedef struct r1_detokenizer r1_detokenizer;

/* Creates a streaming detokenizer (flags: R1_DETOKENIZE_RENDER_SPECIAL). Free with r1_detokenizer_free. */
R1_API r1_status r1_detokenizer_create(const r1_model* model, uint32_t flags, r1_detokenizer** out);
R1_API void r1_detokenizer_free(r1_detokenizer* detokenizer);

/* Feeds one token. *out_text receives the newly completed text (NUL-terminated, possibly empty), owned by the
 * detokenizer and valid until its next call. out_length is optional. Returns R1_OK or R1_ERR_INVALID_ARGUMENT. */
R1_API r1_status r1_detokenizer_push(r1_detokenizer* detokenizer, int32_t token, const char** out_text,
                                     size_t* out_length);

/* Flushes text held back (an incomplete character becomes U+FFFD) and starts over. Outputs as _push. */
R1_API r1_status r1_detokenizer_flush(r1_detokenizer* detokenizer, const char** out_text, size_t* out_length);

typedef enum r1_special_token {
    R1_SPECIAL_BOS = 0,
    R1_SPECIAL_EOS = 1,
    R1_SPECIAL_EOT = 2,          /* end of turn, when the vocabulary has one */
    R1_SPECIAL_THINK_OPEN = 3,   /* "<think>" */
    R1_SPECIAL_THINK_CLOSE = 4,  /* "</think>" */
    R1_SPECIAL_USER = 5,         /* "<｜User｜>" */
    R1_SPECIAL_ASSISTANT = 6,    /* "<｜Assistant｜>" */
    R1_SPECIAL_PAD = 7,
    R1_SPECIAL_NEWLINE = 8,
    R1_SPECIAL_TOKEN_FORCE32 = 0x7FFFFFFF
} r1_special_token;

/* The id of a special token, or -1 when the vocabulary has none. Thread safety: any thread. */
R1_API int32_t r1_model_special_token(const r1_model* model, r1_special_token which);

/* Whether a token ends generation (EOS, end-of-turn and the other end-of-generation tokens). Any thread. */
R1_API int32_t r1_model_token_is_eog(const r1_model* model, int32_t token);

/* One turn of a conversation. */
typedef struct r1_chat_message {
    const char* role;     /* "system", "user", "assistant" or "tool" */
    const char* content;  /* UTF-8, NUL-terminated; for "assistant" turns of earlier rounds, the whole reply
                           * (the template drops the thought itself) */
} r1_chat_message;

typedef struct r1_chat_params {
    uint32_t struct_size;          /* sizeof(r1_chat_params), set by r1_chat_params_init */
    int32_t add_generation_prompt; /* end with the opening of an assistant turn; init: 1 */
    int32_t enable_thinking;       /* Qwen3's enable_thinking; init: 1 */
    const char* template_name;     /* NULL: the model's own template (an unknown one is R1_ERR_UNSUPPORTED);
                                    * or a built-in: "r1-distill", "r1-distill-legacy",
                                    * "r1-distill-qwen-llama-cpp", "qwen3" */
    const char* template_text;     /* NULL, or a Jinja template text to recognise instead of the model's */
    const char* bos_token;         /* NULL: the model's BOS text; the text the templates write as bos_token */
} r1_chat_params;

R1_API void r1_chat_params_init(r1_chat_params* params);

/* Renders a conversation with the model's chat template, exactly as Jinja2 renders it (the BOS text included
 * where the template writes it), NUL-terminated into `text`. `model` may be NULL when params names a template
 * or gives its text.
 * out_length: out, required: the length in bytes without the NUL, written also when the buffer is too small.
 * Returns R1_OK; R1_ERR_BUFFER_TOO_SMALL; R1_ERR_UNSUPPORTED (no template, or one r1 does not recognise: choose
 * a built-in with template_name); R1_ERR_INVALID_ARGUMENT. Thread safety: any thread. */
R1_API r1_status r1_chat_apply_template(const r1_model* model, const r1_chat_message* messages, size_t count,
                                        const r1_chat_params* params, char* text, size_t size, size_t* out_length);

/* ------------------------------------------------------------------------------------------------------------
 * Sessions: a conversation's state (token history and KV cache) on a model
 * ------------------------------------------------------------------------------------------------------------ */

/* A session is used by one thread at a time; r1_session_cancel() is the one call safe from any thread. Many
 * sessions may share one model. A session keeps its model alive: freeing the model first is allowed. */
typedef struct r1_session r1_session;

typedef enum r1_kv_type {
    R1_KV_DEFAULT = 0, /* F16 */
    R1_KV_F16 = 1,
    R1_KV_F32 = 2,
    R1_KV_Q8_0 = 3,    /* half the memory of F16, slightly less exact */
    R1_KV_BF16 = 4,
    R1_KV_TYPE_FORCE32 = 0x7FFFFFFF
} r1_kv_type;

typedef struct r1_session_params {
    uint32_t struct_size;  /* sizeof(r1_session_params), set by r1_session_params_init */
    int32_t n_threads;     /* CPU threads; 0 = the number of physical cores */
    int64_t n_ctx;         /* tokens the session can hold; 0 = the model's training context, at most 4096 */
    int64_t n_batch;       /* prompt tokens per forward pass; 0 = 512 */
    r1_kv_type kv_type;    /* 0 = F16 */
    int32_t reserved;
} r1_session_params;

R1_API void r1_session_params_init(r1_session_params* params);

/* Creates a session. Returns R1_OK; R1_ERR_UNSUPPORTED (a metadata-only model, or a KV type the backend lacks);
 * R1_ERR_OUT_OF_MEMORY (the KV cache does not fit); R1_ERR_INVALID_ARGUMENT. Thread safety: any thread. */
R1_API r1_status r1_session_create(const r1_model* model, const r1_session_params* params, r1_session** out);

/* Frees a session; accepts NULL. */
R1_API void r1_session_free(r1_session* session);

#define R1_EVAL_ALL_LOGITS 1u /* keep the logits of every evaluated token, not only the last */

/* Appends tokens to the session and runs the model over them (in chunks of n_batch).
 * Returns R1_OK; R1_ERR_INVALID_ARGUMENT (an id outside the vocabulary); R1_ERR_OUT_OF_RANGE (the context is
 * full); R1_ERR_CANCELLED (r1_session_cancel: the chunks completed before it stay in the session). */
R1_API r1_status r1_session_eval(r1_session* session, const int32_t* tokens, size_t count, uint32_t flags);

/* The logits after the last r1_session_eval: `index` counts the evaluated tokens of that call when it used
 * R1_EVAL_ALL_LOGITS (0 .. count-1), else only -1 (the last) is valid. *out_logits points to *out_n_vocab floats
 * owned by the session, valid until its next eval, truncate, reset or load.
 * Returns R1_OK, R1_ERR_OUT_OF_RANGE (no such row). */
R1_API r1_status r1_session_logits(const r1_session* session, int64_t index, const float** out_logits,
                                   int64_t* out_n_vocab);

/* Number of tokens the session holds. */
R1_API int64_t r1_session_position(const r1_session* session);

/* The number of CPU threads the session computes with (the default resolved); 0 for NULL. */
R1_API int32_t r1_session_n_threads(const r1_session* session);

/* The tokens the session holds; *out_tokens is owned by the session, valid until it changes. */
R1_API r1_status r1_session_tokens(const r1_session* session, const int32_t** out_tokens, int64_t* out_count);

/* Keeps the first `position` tokens and forgets the rest (rollback). Returns R1_OK or R1_ERR_OUT_OF_RANGE. */
R1_API r1_status r1_session_truncate(r1_session* session, int64_t position);

/* Forgets every token. */
R1_API r1_status r1_session_reset(r1_session* session);

/* Asks the session's current (or next) eval or generation to stop: within one token, or one prompt chunk. The
 * call it stops returns R1_ERR_CANCELLED. Thread safety: any thread, any time while the session exists. */
R1_API void r1_session_cancel(r1_session* session);

/* Saves the session's state (tokens, KV cache, last logits) in a versioned format tied to the model's
 * fingerprint. To a file: */
R1_API r1_status r1_session_save(r1_session* session, const char* path);
/* To memory: writes up to `size` bytes; *out_size (required) receives the size of the state; returns
 * R1_ERR_BUFFER_TOO_SMALL when size is smaller (nothing written). */
R1_API r1_status r1_session_save_to_buffer(r1_session* session, void* buffer, size_t size, size_t* out_size);

/* Restores a state saved from a session of the same model (same fingerprint), with a context at least as long
 * and the same KV type. Returns R1_OK; R1_ERR_FORMAT (not a state, or damaged); R1_ERR_UNSUPPORTED (another
 * model, version or KV type); R1_ERR_OUT_OF_RANGE (does not fit the context); R1_ERR_IO. */
R1_API r1_status r1_session_load(r1_session* session, const char* path);
R1_API r1_status r1_session_load_from_buffer(r1_session* session, const void* buffer, size_t size);

/* ------------------------------------------------------------------------------------------------------------
 * Generation with reasoning
 * ------------------------------------------------------------------------------------------------------------ */

#define R1_SEED_RANDOM UINT64_MAX

/* A bias added to one token's logit before sampling (-INFINITY bans the token). */
typedef struct r1_logit_bias {
    int32_t token;
    float bias;
} r1_logit_bias;

/* Sampling, applied in this order: logit biases, repetition penalties, top-k, top-p, min-p, temperature.
 * Unlike other structs, the fields hold literal values (0 is not "the default"); r1_sampling_params_init
 * fills the DeepSeek-R1 recommendation: temperature 0.6, top-p 0.95. */
typedef struct r1_sampling_params {
    uint32_t struct_size;      /* sizeof(r1_sampling_params), set by r1_sampling_params_init */
    float temperature;         /* <= 0: greedy (the most likely token, the lowest id on a tie) */
    int32_t top_k;             /* keep the k most likely tokens; 0 = off */
    float top_p;               /* keep the smallest set whose probability reaches p; 1 = off */
    float min_p;               /* drop tokens less likely than min_p times the most likely one; 0 = off */
    float repeat_penalty;      /* divide positive logits of recent tokens by it (multiply negative); 1 = off */
    float presence_penalty;    /* subtract from the logits of recent tokens; 0 = off */
    float frequency_penalty;   /* subtract, times the count, from the logits of recent tokens; 0 = off */
    int32_t penalty_last_n;    /* how many recent tokens the penalties look at; 0 = off, -1 = the whole context */
    uint64_t seed;             /* same seed, backend and inputs give the same output; R1_SEED_RANDOM = random */
    const r1_logit_bias* logit_bias;  /* optional array, read during the call */
    size_t n_logit_bias;
} r1_sampling_params;

R1_API void r1_sampling_params_init(r1_sampling_params* params);

typedef enum r1_event_kind {
    R1_EVENT_THINKING = 0, /* text of the model's reasoning (between <think> and </think>) */
    R1_EVENT_ANSWER = 1,   /* text of the answer (everything after the thought; all text for r1_session_complete) */
    R1_EVENT_KIND_FORCE32 = 0x7FFFFFFF
} r1_event_kind;

/* One streamed piece of generated text. The think tags themselves are not part of either stream; leading
 * whitespace of each stream is dropped (R1 models open the thought and the answer with newlines). */
typedef struct r1_event {
    uint32_t struct_size;
    r1_event_kind kind;
    const char* text;     /* valid, complete UTF-8, NUL-terminated; valid only during the callback */
    size_t text_length;
    int32_t token;        /* the last token that contributed to the text (-1 for text flushed at the end) */
    int32_t reserved;
} r1_event;

/* Receives events on the generating thread. Return 0 to continue, non-zero to stop (stop reason CALLBACK). It
 * must not call into the same session, except r1_session_cancel. */
typedef int32_t (*r1_event_fn)(void* user_data, const r1_event* event);

typedef struct r1_generate_params {
    uint32_t struct_size;                 /* sizeof(r1_generate_params), set by r1_generate_params_init */
    const r1_sampling_params* sampling;   /* NULL: the R1 preset with a random seed */
    int64_t max_tokens;                   /* generated tokens (thinking + answer); 0 = until the context is full */
    int64_t thinking_budget;              /* -1 (init) = unlimited; 0 = answer without thinking; N = after N
                                           * thinking tokens the runtime closes the thought */
    const char* budget_close_text;        /* what closes a thought at the budget; NULL = "\n</think>\n\n". It may
                                           * carry a message before "</think>" (shown as thinking) */
    const char* const* stop_strings;      /* optional: stop when the generated text contains one of them; the
                                           * stop string and anything after it are not streamed */
    size_t n_stop_strings;
    int32_t ignore_eos;                   /* 1: do not stop at end-of-generation tokens */
    int32_t enable_thinking;              /* 0: Qwen3 templates render enable_thinking=false; init: 1 */
    const char* template_name;            /* as r1_chat_params.template_name */
} r1_generate_params;

R1_API void r1_generate_params_init(r1_generate_params* params);

typedef enum r1_stop_reason {
    R1_STOP_EOS = 0,          /* the model ended its turn */
    R1_STOP_MAX_TOKENS = 1,
    R1_STOP_STRING = 2,       /* a stop string was generated */
    R1_STOP_CALLBACK = 3,     /* the event callback returned non-zero */
    R1_STOP_CANCELLED = 4,    /* r1_session_cancel */
    R1_STOP_CONTEXT_FULL = 5,
    R1_STOP_REASON_FORCE32 = 0x7FFFFFFF
} r1_stop_reason;

typedef struct r1_result {
    uint32_t struct_size;             /* in: sizeof(r1_result) */
    r1_stop_reason stop_reason;
    int64_t n_prompt_tokens;          /* tokens of the rendered prompt */
    int64_t n_prompt_evaluated;       /* of those, evaluated now (the rest were reused from the session) */
    int64_t n_thinking_tokens;        /* generated inside the thought (the closing tag included) */
    int64_t n_answer_tokens;          /* generated after it */
    double load_ms;                   /* time r1_model_load took for this model */
    double prompt_ms;                 /* evaluating the prompt */
    double generation_ms;             /* generating */
    double prompt_tokens_per_second;
    double generation_tokens_per_second;
} r1_result;

/* Chats: renders the conversation with the model's template (earlier thoughts dropped, as the template does),
 * reuses whatever prefix of it the session already holds (after a previous turn, everything up to the point
 * where that turn's thought began), evaluates the rest, and streams the reply tagged THINKING or ANSWER.
 * messages: the whole conversation so far, ending with the user's turn.
 * on_event/user_data: optional callback. result: optional, caller sets struct_size.
 * Returns R1_OK (whatever the stop reason except cancellation); R1_ERR_CANCELLED; R1_ERR_UNSUPPORTED (no
 * usable template); R1_ERR_OUT_OF_RANGE (the prompt does not fit the context); other errors of eval. */
R1_API r1_status r1_session_chat(r1_session* session, const r1_chat_message* messages, size_t count,
                                 const r1_generate_params* params, r1_event_fn on_event, void* user_data,
                                 r1_result* result);

/* Completes plain text (no template, no thinking): the prompt is tokenized with R1_TOKENIZE_ADD_SPECIAL |
 * R1_TOKENIZE_PARSE_SPECIAL, a prefix the session holds is reused, and the continuation streams as ANSWER
 * events. Returns as r1_session_chat. */
R1_API r1_status r1_session_complete(r1_session* session, const char* prompt, size_t length,
                                     const r1_generate_params* params, r1_event_fn on_event, void* user_data,
                                     r1_result* result);

/* ------------------------------------------------------------------------------------------------------------
 * Quantization: rewriting a model with smaller weight types, as llama.cpp's llama-quantize does
 * ------------------------------------------------------------------------------------------------------------ */

/* Targets are named as llama-quantize names them: "Q4_K_M", "Q5_K_M", "Q8_0", "F16", ... (case does not
 * matter; "Q3_K", "Q4_K" and "Q5_K" are aliases of the _M mixes). Each tensor gets the type llama-quantize
 * chooses for it under that target (a mix gives some tensors more bits; norms and biases stay as they are), so
 * the same source gives a file with the same types and, tensor for tensor, the same bytes. r1_file_type_name()
 * of a general.file_type value is a valid target name. */
typedef struct r1_quantize_params {
    uint32_t struct_size;              /* sizeof(r1_quantize_params), set by r1_quantize_params_init */
    const char* type;                  /* required: the target, e.g. "Q4_K_M" (see r1_quantize_type_name) */
    int32_t n_threads;                 /* threads quantizing rows; 0 = the number of hardware threads */
    int32_t allow_requantize;          /* 1: accept source tensors that are already quantized (they are
                                        * dequantized first, which loses more quality, and a warning is logged);
                                        * 0: such a source fails with R1_ERR_UNSUPPORTED */
    r1_progress_fn progress_callback;  /* optional: progress; returning non-zero cancels */
    void* progress_user_data;          /* passed to progress_callback */
    r1_log_fn log_callback;            /* optional: warnings (fallback types, requantization), a summary at
                                        * R1_LOG_INFO and one line per tensor at R1_LOG_DEBUG; NULL = silent */
    void* log_user_data;               /* passed to log_callback */
    r1_log_level log_level;            /* lowest level delivered; 0 = R1_LOG_INFO */
    int32_t reserved;
} r1_quantize_params;

/* Fills `params` with the defaults (and struct_size); `type` is NULL and must be set. Thread safety: any. */
R1_API void r1_quantize_params_init(r1_quantize_params* params);

/* Quantizes the GGUF model at in_path into a new GGUF file at out_path.
 * in_path:  in, UTF-8 path of a GGUF v2 or v3 model with F32, F16 or BF16 weights (quantized weights only with
 *           params->allow_requantize).
 * out_path: in, UTF-8 path of the file to write. It is written under a temporary name in the same folder and
 *           renamed when complete: on any failure or cancellation no file is left at out_path (an existing one
 *           is left untouched), and out_path may name the input file itself.
 * params:   in, required (type must be set); read only during the call.
 * Metadata is copied in order, followed by general.quantization_version = 2 and general.file_type; tensors are
 * written in llama-quantize's order. Tensors stream through memory a batch of rows at a time, whatever the
 * model's size. The progress callback and log callback are called on the calling thread.
 * Returns R1_OK; R1_ERR_INVALID_ARGUMENT (a NULL or empty path, no params or no type); R1_ERR_UNSUPPORTED (an
 * unknown target, a target that needs an importance matrix such as the IQ2/IQ3 mixes, quantized source weights
 * without allow_requantize, a tensor type r1 cannot convert, one part of a split model); R1_ERR_IO (cannot read
 * the input or write the output); R1_ERR_FORMAT (the input is not a valid GGUF file, or holds NaN or infinite
 * weights); R1_ERR_CANCELLED; R1_ERR_OUT_OF_MEMORY.
 * Thread safety: any thread; calls on different files may run at the same time. */
R1_API r1_status r1_model_quantize(const char* in_path, const char* out_path, const r1_quantize_params* params);

/* Number of targets r1_model_quantize accepts (their names, aliases aside). Thread safety: any thread. */
R1_API int32_t r1_quantize_type_count(void);

/* The name of target `index` (0 <= index < r1_quantize_type_count()), e.g. "Q4_K_M", or NULL when out of range.
 * Static storage. Thread safety: any thread. */
R1_API const char* r1_quantize_type_name(int32_t index);

/* A one-line description of target `index` (what the mix gives each kind of tensor), or NULL when out of range.
 * Static storage. Thread safety: any thread. */
R1_API const char* r1_quantize_type_description(int32_t index);

/* The general.file_type value (llama.cpp's numbering, see r1_file_type_name) that target `index` writes, or -1
 * when out of range. Thread safety: any thread. */
R1_API int32_t r1_quantize_type_file_type(int32_t index);

#ifdef __cplusplus
}
#endif

#endif /* R1_H */
