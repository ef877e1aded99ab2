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

#ifdef __cplusplus
}
#endif

#endif /* R1_H */
