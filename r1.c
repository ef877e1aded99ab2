/*
 * r1 - the command-line program. Plain C99 that uses nothing but r1.h: it doubles as proof that the C API is
 * complete. Each subcommand is a function `cmd_NAME(argc, argv)` returning the process exit code.
 */
#define _POSIX_C_SOURCE 200809L /* isatty, fileno, sigaction, clock_gettime */

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "r1.h"

/* ---------------------------------------------------------------------------------------------------------------
 * Small helpers
 * --------------------------------------------------------------------------------------------------------------- */

static int error_exit(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fputs("r1: error: ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
    return 1;
}

/* Reports a failed library call with the library's detailed message. */
static int status_exit(r1_status status) {
    const char* detail = r1_last_error();
    return error_exit("%s", detail && *detail ? detail : r1_status_string(status));
}

static int g_verbose = 0;

static void log_to_stderr(void* user_data, r1_log_level level, const char* message) {
    static const char* names[] = {"", "debug", "info", "warning", "error"};
    (void)user_data;
    fprintf(stderr, "r1: %s: %s\n", level >= R1_LOG_DEBUG && level <= R1_LOG_ERROR ? names[level] : "log", message);
}

static void init_model_params(r1_model_params* params, int no_mmap) {
    r1_model_params_init(params);
    params->load_mode = no_mmap ? R1_LOAD_READ : R1_LOAD_MMAP;
    params->log_callback = log_to_stderr;
    params->log_level = g_verbose ? R1_LOG_DEBUG : R1_LOG_WARN;
}

static int is_flag(const char* arg, const char* name) { return strcmp(arg, name) == 0; }

static int wants_help(int argc, char** argv) {
    int i;
    for (i = 1; i < argc; ++i)
        if (is_flag(argv[i], "-h") || is_flag(argv[i], "--help")) return 1;
    return 0;
}

/* Bytes as a short human-readable figure, e.g. "1.04 GiB". */
static const char* human_bytes(unsigned long long bytes, char* buf, size_t size) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        ++u;
    }
    if (u == 0) snprintf(buf, size, "%llu B", bytes);
    else snprintf(buf, size, "%.2f %s", v, units[u]);
    return buf;
}

static const char* human_count(unsigned long long n, char* buf, size_t size) {
    if (n >= 1000000000ULL) snprintf(buf, size, "%.2f B", (double)n / 1e9);
    else if (n >= 1000000ULL) snprintf(buf, size, "%.2f M", (double)n / 1e6);
    else if (n >= 1000ULL) snprintf(buf, size, "%.2f K", (double)n / 1e3);
    else snprintf(buf, size, "%llu", n);
    return buf;
}

static void print_json_string(const char* s) {
    const unsigned char* p = (const unsigned char*)s;
    putchar('"');
    for (; *p; ++p) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p == '\n') fputs("\\n", stdout);
        else if (*p == '\t') fputs("\\t", stdout);
        else if (*p == '\r') fputs("\\r", stdout);
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}

/* Prints a metadata value as JSON through r1_model_meta_format, growing the buffer as needed. */
static int print_meta_json(const r1_model* model, const char* key, int64_t max_items) {
    char stack[256];
    size_t needed = 0;
    r1_status st = r1_model_meta_format(model, key, max_items, stack, sizeof stack, &needed);
    if (st == R1_OK) {
        fputs(stack, stdout);
        return 0;
    }
    if (st == R1_ERR_BUFFER_TOO_SMALL) {
        char* big = (char*)malloc(needed);
        if (!big) return error_exit("out of memory");
        st = r1_model_meta_format(model, key, max_items, big, needed, NULL);
        if (st == R1_OK) fputs(big, stdout);
        free(big);
        if (st == R1_OK) return 0;
    }
    return status_exit(st);
}

static const char* meta_string_or(const r1_model* model, const char* key, const char* fallback) {
    const char* value = NULL;
    return r1_model_meta_string(model, key, &value, NULL) == R1_OK ? value : fallback;
}

/* ---------------------------------------------------------------------------------------------------------------
 * r1 version
 * --------------------------------------------------------------------------------------------------------------- */

static int cmd_version(int argc, char** argv) {
    (void)argv;
    if (wants_help(argc, argv)) {
        printf("usage: r1 version\n\nPrints the library version, the ABI version and the header version.\n");
        return 0;
    }
    if (argc > 1) return error_exit("version takes no arguments");
    printf("r1 %s (library %s, ABI %d; built against header %s, ABI %d)\n", r1_version_string(),
           r1_version_string(), (int)r1_abi_version(), R1_VERSION_STRING, R1_ABI_VERSION);
    if (r1_abi_version() != R1_ABI_VERSION) return error_exit("library ABI %d differs from the header's %d",
                                                              (int)r1_abi_version(), R1_ABI_VERSION);
    return 0;
}

/* ---------------------------------------------------------------------------------------------------------------
 * r1 info
 * --------------------------------------------------------------------------------------------------------------- */

/* Lists the registered backends and their devices (r1 info --backends). */
static int print_backends(void) {
    int32_t b, n = r1_backend_count();
    char total[32], free_mem[32];
    for (b = 0; b < n; ++b) {
        r1_backend_info bi;
        int32_t d;
        bi.struct_size = sizeof bi;
        if (r1_backend_get_info(b, &bi) != R1_OK) continue;
        printf("%-8s %s, %d device(s)%s%s\n", bi.name, bi.origin, (int)bi.n_devices,
               bi.status != R1_OK ? ": unavailable: " : "", bi.status != R1_OK ? bi.message : "");
        for (d = 0; d < bi.n_devices; ++d) {
            static const char* kinds[] = {"cpu", "discrete gpu", "integrated gpu", "virtual"};
            r1_device_info di;
            di.struct_size = sizeof di;
            if (r1_backend_device_info(b, d, &di) != R1_OK) continue;
            /* 0 means unknown (e.g. a driver that reports no memory budget). */
            if (di.memory_total) human_bytes(di.memory_total, total, sizeof total);
            else snprintf(total, sizeof total, "unknown");
            if (di.memory_free) human_bytes(di.memory_free, free_mem, sizeof free_mem);
            else snprintf(free_mem, sizeof free_mem, "unknown");
            printf("  device %d: %s (%s), %s memory, %s free\n", (int)d, di.name,
                   di.kind >= 0 && di.kind <= 3 ? kinds[di.kind] : "unknown", total, free_mem);
        }
    }
    return 0;
}

static void info_usage(void) {
    printf("usage: r1 info MODEL.gguf [--json] [--tensors] [--full] [--no-mmap]\n"
           "       r1 info --backends\n\n"
           "Describes a GGUF model: architecture and hyperparameters, tokenizer, chat template, tensor count and\n"
           "type mix, sizes, and the xxh64 fingerprint of the tensor data.\n\n"
           "  --json      print one JSON object (metadata and tensors included)\n"
           "  --tensors   list every tensor (text output)\n"
           "  --full      do not shorten long metadata arrays in --json output\n"
           "  --no-mmap   read the tensor data into memory instead of mapping the file\n"
           "  --backends  list the compute backends and their devices\n");
}

static void print_info_text(const char* path, const r1_model* model, const r1_model_info* info, int tensors) {
    char a[32], b[32];
    int i;
    int64_t n, k;
    const char* pre = meta_string_or(model, "tokenizer.ggml.pre", NULL);
    printf("file:           %s (%s)\n", path, human_bytes(info->file_size, a, sizeof a));
    printf("format:         GGUF v%u, %lld tensors, %lld metadata pairs\n", info->gguf_version,
           (long long)info->n_tensors, (long long)info->n_metadata);
    printf("architecture:   %s\n", *info->architecture ? info->architecture : "(none)");
    if (*info->name) printf("name:           %s\n", info->name);
    printf("parameters:     %s (%llu)\n", human_count(info->n_params, a, sizeof a), (unsigned long long)info->n_params);
    if (info->n_layers || info->n_embd) {
        printf("layers:         %lld\n", (long long)info->n_layers);
        printf("embedding:      %lld\n", (long long)info->n_embd);
        printf("heads:          %lld (kv %lld)\n", (long long)info->n_heads, (long long)info->n_kv_heads);
        printf("feed-forward:   %lld\n", (long long)info->n_ff);
        printf("context:        %lld\n", (long long)info->n_ctx_train);
    }
    if (*info->tokenizer_model)
        printf("tokenizer:      %s%s%s%s, %lld tokens\n", info->tokenizer_model, pre ? " (pre-tokenizer " : "",
               pre ? pre : "", pre ? ")" : "", (long long)info->n_vocab);
    else printf("tokenizer:      (none)\n");
    if (info->has_chat_template) {
        size_t len = 0;
        const char* t = NULL;
        r1_model_meta_string(model, "tokenizer.chat_template", &t, &len);
        printf("chat template:  present (%zu bytes)\n", len);
    } else {
        printf("chat template:  absent\n");
    }
    if (info->file_type >= 0) printf("file type:      %s (%d)\n", r1_file_type_name(info->file_type), (int)info->file_type);
    printf("tensor types:  ");
    for (i = 0; i < R1_TYPE_ID_LIMIT; ++i)
        if (info->type_tensor_count[i])
            printf(" %s x%lld (%s)", r1_type_name(i), (long long)info->type_tensor_count[i],
                   human_bytes(info->type_bytes[i], b, sizeof b));
    printf("\n");
    printf("tensor data:    %s\n", human_bytes(info->tensor_data_size, a, sizeof a));
    printf("fingerprint:    xxh64:%016llx\n", (unsigned long long)info->fingerprint);
    if (tensors) {
        n = r1_model_tensor_count(model);
        printf("\n%-40s %-8s %-28s %14s %12s\n", "tensor", "type", "shape", "offset", "bytes");
        for (k = 0; k < n; ++k) {
            r1_tensor_info t;
            char shape[64];
            int d, len = 0;
            t.struct_size = sizeof t;
            if (r1_model_tensor_info(model, k, &t) != R1_OK) continue;
            shape[0] = '\0';
            for (d = 0; d < t.n_dims && len < (int)sizeof shape; ++d)
                len += snprintf(shape + len, sizeof shape - (size_t)len, d ? " x %lld" : "%lld", (long long)t.dims[d]);
            printf("%-40s %-8s %-28s %14llu %12llu\n", t.name, r1_type_name(t.type), shape,
                   (unsigned long long)t.offset, (unsigned long long)t.size);
        }
    }
}

static int print_info_json(const char* path, const r1_model* model, const r1_model_info* info, int full) {
    int i, first = 1;
    int64_t k, n;
    printf("{\n  \"file\": ");
    print_json_string(path);
    printf(",\n  \"file_size\": %llu,\n  \"gguf_version\": %u,\n", (unsigned long long)info->file_size,
           info->gguf_version);
    printf("  \"architecture\": ");
    print_json_string(info->architecture);
    printf(",\n  \"name\": ");
    print_json_string(info->name);
    printf(",\n  \"n_params\": %llu,\n  \"n_ctx_train\": %lld,\n  \"n_layers\": %lld,\n  \"n_embd\": %lld,\n"
           "  \"n_heads\": %lld,\n  \"n_kv_heads\": %lld,\n  \"n_ff\": %lld,\n",
           (unsigned long long)info->n_params, (long long)info->n_ctx_train, (long long)info->n_layers,
           (long long)info->n_embd, (long long)info->n_heads, (long long)info->n_kv_heads, (long long)info->n_ff);
    printf("  \"tokenizer\": ");
    print_json_string(info->tokenizer_model);
    printf(",\n  \"n_vocab\": %lld,\n  \"has_chat_template\": %s,\n", (long long)info->n_vocab,
           info->has_chat_template ? "true" : "false");
    printf("  \"file_type\": ");
    if (info->file_type >= 0) print_json_string(r1_file_type_name(info->file_type));
    else printf("null");
    printf(",\n  \"n_tensors\": %lld,\n  \"tensor_data_size\": %llu,\n  \"fingerprint\": \"%016llx\",\n",
           (long long)info->n_tensors, (unsigned long long)info->tensor_data_size,
           (unsigned long long)info->fingerprint);
    printf("  \"tensor_types\": {");
    for (i = 0; i < R1_TYPE_ID_LIMIT; ++i) {
        if (!info->type_tensor_count[i]) continue;
        printf("%s\n    \"%s\": {\"tensors\": %lld, \"bytes\": %llu}", first ? "" : ",", r1_type_name(i),
               (long long)info->type_tensor_count[i], (unsigned long long)info->type_bytes[i]);
        first = 0;
    }
    printf("\n  },\n  \"metadata\": {");
    n = r1_model_meta_count(model);
    for (k = 0; k < n; ++k) {
        const char* key = r1_model_meta_key(model, k);
        printf("%s\n    ", k ? "," : "");
        print_json_string(key);
        printf(": ");
        if (print_meta_json(model, key, full ? 0 : 16) != 0) return 1;
    }
    printf("\n  },\n  \"tensors\": [");
    n = r1_model_tensor_count(model);
    for (k = 0; k < n; ++k) {
        r1_tensor_info t;
        int d;
        t.struct_size = sizeof t;
        if (r1_model_tensor_info(model, k, &t) != R1_OK) return status_exit(R1_ERR_INTERNAL);
        printf("%s\n    {\"name\": ", k ? "," : "");
        print_json_string(t.name);
        printf(", \"type\": \"%s\", \"dims\": [", r1_type_name(t.type));
        for (d = 0; d < t.n_dims; ++d) printf("%s%lld", d ? ", " : "", (long long)t.dims[d]);
        printf("], \"offset\": %llu, \"size\": %llu}", (unsigned long long)t.offset, (unsigned long long)t.size);
    }
    printf("\n  ]\n}\n");
    return 0;
}

static int cmd_info(int argc, char** argv) {
    const char* path = NULL;
    int json = 0, tensors = 0, full = 0, no_mmap = 0, i, rc;
    r1_model_params params;
    r1_model* model = NULL;
    r1_model_info info;
    r1_status st;
    if (wants_help(argc, argv)) {
        info_usage();
        return 0;
    }
    for (i = 1; i < argc; ++i) {
        if (is_flag(argv[i], "--json")) json = 1;
        else if (is_flag(argv[i], "--backends")) return print_backends();
        else if (is_flag(argv[i], "--tensors")) tensors = 1;
        else if (is_flag(argv[i], "--full")) full = 1;
        else if (is_flag(argv[i], "--no-mmap")) no_mmap = 1;
        else if (argv[i][0] == '-' && argv[i][1] != '\0') return error_exit("info: unknown option '%s' (see r1 info --help)", argv[i]);
        else if (!path) path = argv[i];
        else return error_exit("info: more than one model given ('%s' and '%s')", path, argv[i]);
    }
    if (!path) return error_exit("info: no model given (usage: r1 info MODEL.gguf [--json])");
    init_model_params(&params, no_mmap);
    params.metadata_only = 1; /* info describes the file; it places no weights */
    st = r1_model_load(path, &params, &model);
    if (st != R1_OK) return status_exit(st);
    info.struct_size = sizeof info;
    st = r1_model_get_info(model, &info);
    if (st != R1_OK) {
        r1_model_free(model);
        return status_exit(st);
    }
    rc = json ? print_info_json(path, model, &info, full) : (print_info_text(path, model, &info, tensors), 0);
    r1_model_free(model);
    return rc;
}

/* ---------------------------------------------------------------------------------------------------------------
 * Options shared by the commands that load a model
 * --------------------------------------------------------------------------------------------------------------- */

typedef struct model_options {
    const char* path;
    const char* backend;
    int device;
    r1_cpu_isa cpu_isa;
    int exact;
    int no_mmap;
    int threads;
    long long ctx;
    long long batch;
    r1_kv_type kv;
} model_options;

static const char* MODEL_OPTIONS_HELP =
    "  -m, --model FILE       the GGUF model\n"
    "  -t, --threads N        CPU threads (default: the number of physical cores)\n"
    "  -c, --ctx N            context length in tokens (default: the model's, at most 4096)\n"
    "  -b, --batch N          prompt tokens per forward pass (default 512)\n"
    "      --kv TYPE          KV cache type: f16 (default), f32, bf16, q8_0\n"
    "      --backend NAME     auto (default), cpu, vulkan, cuda\n"
    "      --device N         device index within the backend\n"
    "      --cpu-isa NAME     CPU kernels: auto, scalar, avx2, avx512, neon\n"
    "      --exact            float matmuls on dequantized weights (slow reference path)\n"
    "      --mmap / --no-mmap map the file (default) or read it into memory\n";

static void model_options_init(model_options* o) {
    memset(o, 0, sizeof *o);
    o->backend = "auto";
}

static int parse_int(const char* text, long long min, long long max, long long* out) {
    char* end = NULL;
    long long v;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < min || v > max) return 0;
    *out = v;
    return 1;
}

static int parse_float(const char* text, double* out) {
    char* end = NULL;
    double v;
    errno = 0;
    v = strtod(text, &end);
    if (errno || end == text || *end != '\0') return 0;
    *out = v;
    return 1;
}

/* Consumes a model option at argv[*i] (and its value). Returns 1 when consumed, 0 when not a model option,
 * -1 (after printing an error) when its value is bad. */
static int parse_model_option(int argc, char** argv, int* i, model_options* o) {
    const char* a = argv[*i];
    const char* v = *i + 1 < argc ? argv[*i + 1] : NULL;
    long long n;
    if (is_flag(a, "--exact")) { o->exact = 1; return 1; }
    if (is_flag(a, "--no-mmap")) { o->no_mmap = 1; return 1; }
    if (is_flag(a, "--mmap")) { o->no_mmap = 0; return 1; }
    if (!(is_flag(a, "-m") || is_flag(a, "--model") || is_flag(a, "-t") || is_flag(a, "--threads") ||
          is_flag(a, "-c") || is_flag(a, "--ctx") || is_flag(a, "-b") || is_flag(a, "--batch") || is_flag(a, "--kv") ||
          is_flag(a, "--backend") || is_flag(a, "--device") || is_flag(a, "--cpu-isa")))
        return 0;
    if (!v) {
        error_exit("option %s needs a value", a);
        return -1;
    }
    ++*i;
    if (is_flag(a, "-m") || is_flag(a, "--model")) o->path = v;
    else if (is_flag(a, "--backend")) o->backend = v;
    else if (is_flag(a, "-t") || is_flag(a, "--threads")) {
        if (!parse_int(v, 1, 1024, &n)) { error_exit("bad thread count '%s'", v); return -1; }
        o->threads = (int)n;
    } else if (is_flag(a, "-c") || is_flag(a, "--ctx")) {
        if (!parse_int(v, 1, 1LL << 24, &n)) { error_exit("bad context length '%s'", v); return -1; }
        o->ctx = n;
    } else if (is_flag(a, "-b") || is_flag(a, "--batch")) {
        if (!parse_int(v, 1, 1LL << 24, &n)) { error_exit("bad batch size '%s'", v); return -1; }
        o->batch = n;
    } else if (is_flag(a, "--device")) {
        if (!parse_int(v, 0, 1024, &n)) { error_exit("bad device index '%s'", v); return -1; }
        o->device = (int)n;
    } else if (is_flag(a, "--kv")) {
        if (is_flag(v, "f16")) o->kv = R1_KV_F16;
        else if (is_flag(v, "f32")) o->kv = R1_KV_F32;
        else if (is_flag(v, "bf16")) o->kv = R1_KV_BF16;
        else if (is_flag(v, "q8_0")) o->kv = R1_KV_Q8_0;
        else { error_exit("unknown KV cache type '%s' (f16, f32, bf16, q8_0)", v); return -1; }
    } else if (is_flag(a, "--cpu-isa")) {
        if (is_flag(v, "auto")) o->cpu_isa = R1_CPU_ISA_AUTO;
        else if (is_flag(v, "scalar")) o->cpu_isa = R1_CPU_ISA_SCALAR;
        else if (is_flag(v, "avx2")) o->cpu_isa = R1_CPU_ISA_AVX2;
        else if (is_flag(v, "avx512")) o->cpu_isa = R1_CPU_ISA_AVX512;
        else if (is_flag(v, "neon")) o->cpu_isa = R1_CPU_ISA_NEON;
        else { error_exit("unknown CPU kernel family '%s'", v); return -1; }
    }
    return 1;
}

/* Load progress on a terminal only: a percentage on one line of stderr, erased when done. */
static int32_t show_progress(void* user_data, float progress) {
    const char* path = (const char*)user_data;
    fprintf(stderr, "\rloading %s %3d%%", path, (int)(progress * 100.0f + 0.5f));
    if (progress >= 1.0f) fprintf(stderr, "\r\033[K");
    fflush(stderr);
    return 0;
}

/* Loads the model the options name. metadata_only: no weights (tokenizer and templates only). */
static int load_model(const model_options* o, int metadata_only, r1_model** out) {
    r1_model_params params;
    r1_status st;
    if (!o->path) return error_exit("no model given (use -m MODEL.gguf)");
    init_model_params(&params, o->no_mmap);
    params.backend = o->backend;
    params.device = o->device;
    params.cpu_isa = o->cpu_isa;
    params.exact_math = o->exact;
    params.metadata_only = metadata_only;
    if (!metadata_only && isatty(fileno(stderr))) {
        params.progress_callback = show_progress;
        params.progress_user_data = (void*)o->path;
    }
    st = r1_model_load(o->path, &params, out);
    return st == R1_OK ? 0 : status_exit(st);
}

static int create_session(const r1_model* model, const model_options* o, r1_session** out) {
    r1_session_params sp;
    r1_status st;
    r1_session_params_init(&sp);
    sp.n_threads = o->threads;
    sp.n_ctx = o->ctx;
    sp.n_batch = o->batch;
    sp.kv_type = o->kv;
    st = r1_session_create(model, &sp, out);
    return st == R1_OK ? 0 : status_exit(st);
}

/* Parses "1,2,3" (commas or spaces) into a malloc'ed array. */
static int parse_token_list(const char* text, int32_t** out, size_t* count) {
    size_t cap = 16, n = 0;
    int32_t* ids = (int32_t*)malloc(cap * sizeof *ids);
    const char* p = text;
    if (!ids) return error_exit("out of memory");
    while (*p) {
        char* end;
        long v;
        while (*p == ',' || *p == ' ') ++p;
        if (!*p) break;
        errno = 0;
        v = strtol(p, &end, 10);
        if (errno || end == p || v < 0 || v > 0x7FFFFFFF) {
            free(ids);
            return error_exit("bad token id list '%s'", text);
        }
        if (n == cap) {
            int32_t* grown = (int32_t*)realloc(ids, (cap *= 2) * sizeof *ids);
            if (!grown) { free(ids); return error_exit("out of memory"); }
            ids = grown;
        }
        ids[n++] = (int32_t)v;
        p = end;
    }
    if (n == 0) { free(ids); return error_exit("no token ids in '%s'", text); }
    *out = ids;
    *count = n;
    return 0;
}

static char* read_whole_file(const char* path, size_t* length) {
    FILE* f = fopen(path, "rb");
    char* data = NULL;
    size_t cap = 0, n = 0;
    if (!f) return NULL;
    for (;;) {
        size_t got;
        if (n + 65536 + 1 > cap) {
            char* grown = (char*)realloc(data, cap = (cap ? cap * 2 : 131072));
            if (!grown) { free(data); fclose(f); return NULL; }
            data = grown;
        }
        got = fread(data + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) { free(data); fclose(f); return NULL; }
    fclose(f);
    data[n] = '\0';
    *length = n;
    return data;
}

/* ---------------------------------------------------------------------------------------------------------------
 * r1 tokenize / detokenize
 * --------------------------------------------------------------------------------------------------------------- */

static void print_escaped(const char* s, size_t n) {
    size_t i;
    for (i = 0; i < n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c == '\\') fputs("\\\\", stdout);
        else if (c < 0x20) printf("\\x%02x", c);
        else putchar(c);
    }
}

static int cmd_tokenize(int argc, char** argv) {
    model_options o;
    const char *text = NULL, *file = NULL;
    int ids_only = 0, no_bos = 0, no_special = 0, i, rc;
    char* loaded = NULL;
    size_t length, count = 0, k;
    int32_t* tokens = NULL;
    uint32_t flags;
    r1_model* model = NULL;
    r1_status st;
    if (wants_help(argc, argv)) {
        printf("usage: r1 tokenize -m MODEL [--no-bos] [--no-special] [--ids] (TEXT | --file FILE)\n\n"
               "Tokenizes text with the model's tokenizer; prints one token per line (id and piece), or with --ids\n"
               "only the ids on one line.\n\n"
               "  --no-bos       do not add BOS (added by default when the vocabulary asks for it)\n"
               "  --no-special   tokenize control tokens such as <｜User｜> as plain text\n"
               "  --ids          print only the ids, space-separated\n"
               "  --file FILE    read the text from FILE (verbatim)\n");
        return 0;
    }
    model_options_init(&o);
    for (i = 1; i < argc; ++i) {
        int r = parse_model_option(argc, argv, &i, &o);
        if (r < 0) return 1;
        if (r) continue;
        if (is_flag(argv[i], "--ids")) ids_only = 1;
        else if (is_flag(argv[i], "--no-bos")) no_bos = 1;
        else if (is_flag(argv[i], "--no-special")) no_special = 1;
        else if (is_flag(argv[i], "--file") && i + 1 < argc) file = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] != '\0') return error_exit("tokenize: unknown option '%s'", argv[i]);
        else if (!text) text = argv[i];
        else return error_exit("tokenize: give the text as one argument (quote it)");
    }
    if (!!text + !!file != 1) return error_exit("tokenize: give TEXT or --file FILE");
    if (file) {
        loaded = read_whole_file(file, &length);
        if (!loaded) return error_exit("cannot read %s: %s", file, strerror(errno));
        text = loaded;
    } else {
        length = strlen(text);
    }
    if (load_model(&o, 1, &model) != 0) { free(loaded); return 1; }
    flags = (no_bos ? 0u : R1_TOKENIZE_ADD_SPECIAL) | (no_special ? 0u : R1_TOKENIZE_PARSE_SPECIAL);
    st = r1_tokenize(model, text, length, flags, NULL, 0, &count);
    if (st == R1_ERR_BUFFER_TOO_SMALL || (st == R1_OK && count == 0)) {
        tokens = (int32_t*)malloc((count ? count : 1) * sizeof *tokens);
        st = tokens ? r1_tokenize(model, text, length, flags, tokens, count, &count) : R1_ERR_OUT_OF_MEMORY;
    }
    rc = st == R1_OK ? 0 : status_exit(st);
    for (k = 0; rc == 0 && k < count; ++k) {
        if (ids_only) {
            printf(k ? " %d" : "%d", (int)tokens[k]);
        } else {
            const char* piece = NULL;
            size_t n = 0;
            r1_token_to_piece(model, tokens[k], R1_DETOKENIZE_RENDER_SPECIAL, &piece, &n);
            printf("%6d  '", (int)tokens[k]);
            print_escaped(piece, n);
            printf("'\n");
        }
    }
    if (rc == 0 && ids_only) printf("\n");
    free(tokens);
    free(loaded);
    r1_model_free(model);
    return rc;
}

static int cmd_detokenize(int argc, char** argv) {
    model_options o;
    int i, rc, render = 0;
    int32_t* tokens = NULL;
    size_t count = 0, length = 0;
    char* text = NULL;
    r1_model* model = NULL;
    r1_status st;
    if (wants_help(argc, argv)) {
        printf("usage: r1 detokenize -m MODEL [--special] ID...\n\n"
               "Prints the text of token ids (ids may also be comma-separated).\n\n"
               "  --special   write control tokens such as <｜User｜> (hidden by default)\n");
        return 0;
    }
    model_options_init(&o);
    for (i = 1; i < argc; ++i) {
        int r = parse_model_option(argc, argv, &i, &o);
        if (r < 0) { free(tokens); return 1; }
        if (r) continue;
        if (is_flag(argv[i], "--special")) { render = 1; continue; }
        if (argv[i][0] == '-' && argv[i][1] != '\0') { free(tokens); return error_exit("detokenize: unknown option '%s'", argv[i]); }
        {
            int32_t* more = NULL;
            size_t n = 0, k;
            int32_t* grown;
            if (parse_token_list(argv[i], &more, &n) != 0) { free(tokens); return 1; }
            grown = (int32_t*)realloc(tokens, (count + n) * sizeof *tokens);
            if (!grown) { free(more); free(tokens); return error_exit("out of memory"); }
            tokens = grown;
            for (k = 0; k < n; ++k) tokens[count + k] = more[k];
            count += n;
            free(more);
        }
    }
    if (count == 0) return error_exit("detokenize: no token ids given");
    if (load_model(&o, 1, &model) != 0) { free(tokens); return 1; }
    st = r1_detokenize(model, tokens, count, render ? R1_DETOKENIZE_RENDER_SPECIAL : 0, NULL, 0, &length);
    if (st == R1_ERR_BUFFER_TOO_SMALL) {
        text = (char*)malloc(length + 1);
        st = text ? r1_detokenize(model, tokens, count, render ? R1_DETOKENIZE_RENDER_SPECIAL : 0, text, length + 1, &length)
                  : R1_ERR_OUT_OF_MEMORY;
    }
    rc = st == R1_OK ? 0 : status_exit(st);
    if (rc == 0 && text) {
        fwrite(text, 1, length, stdout);
        printf("\n");
    } else if (rc == 0) {
        printf("\n");
    }
    free(text);
    free(tokens);
    r1_model_free(model);
    return rc;
}

/* ---------------------------------------------------------------------------------------------------------------
 * r1 template: a small JSON reader for the messages file
 * --------------------------------------------------------------------------------------------------------------- */

typedef struct json_reader {
    const char* p;
    const char* end;
} json_reader;

static void json_skip_space(json_reader* r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')) ++r->p;
}

static void put_utf8(char** out, unsigned long cp) {
    char* o = *out;
    if (cp < 0x80) *o++ = (char)cp;
    else if (cp < 0x800) { *o++ = (char)(0xC0 | (cp >> 6)); *o++ = (char)(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) { *o++ = (char)(0xE0 | (cp >> 12)); *o++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F)); }
    else { *o++ = (char)(0xF0 | (cp >> 18)); *o++ = (char)(0x80 | ((cp >> 12) & 0x3F)); *o++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F)); }
    *out = o;
}

static int json_hex4(const char* p, unsigned long* out) {
    int k;
    unsigned long v = 0;
    for (k = 0; k < 4; ++k) {
        char c = p[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned long)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned long)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned long)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

/* Reads a JSON string into a malloc'ed UTF-8 buffer (escapes decoded, surrogate pairs joined). */
static char* json_string(json_reader* r) {
    char *buf, *o;
    json_skip_space(r);
    if (r->p >= r->end || *r->p != '"') return NULL;
    ++r->p;
    buf = (char*)malloc((size_t)(r->end - r->p) + 1);
    if (!buf) return NULL;
    o = buf;
    while (r->p < r->end && *r->p != '"') {
        char c = *r->p++;
        if (c != '\\') { *o++ = c; continue; }
        if (r->p >= r->end) break;
        c = *r->p++;
        switch (c) {
            case 'n': *o++ = '\n'; break;
            case 't': *o++ = '\t'; break;
            case 'r': *o++ = '\r'; break;
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'u': {
                unsigned long cp, lo;
                if (r->end - r->p < 4 || !json_hex4(r->p, &cp)) { free(buf); return NULL; }
                r->p += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF && r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u' &&
                    json_hex4(r->p + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    r->p += 6;
                }
                put_utf8(&o, cp);
                break;
            }
            default: *o++ = c;
        }
    }
    if (r->p >= r->end) { free(buf); return NULL; }
    ++r->p;
    *o = '\0';
    return buf;
}

/* Skips any JSON value (used for keys other than role and content). */
static int json_skip_value(json_reader* r) {
    int depth = 0;
    json_skip_space(r);
    if (r->p < r->end && *r->p == '"') {
        char* s = json_string(r);
        free(s);
        return s != NULL;
    }
    while (r->p < r->end) {
        char c = *r->p;
        if (c == '"') { char* s = json_string(r); if (!s) return 0; free(s); continue; }
        if (c == '{' || c == '[') ++depth;
        else if (c == '}' || c == ']') { if (depth == 0) return 1; --depth; }
        else if (c == ',' && depth == 0) return 1;
        ++r->p;
    }
    return depth == 0;
}

typedef struct message_list {
    r1_chat_message* items;
    size_t count;
} message_list;

static void free_messages(message_list* m) {
    size_t i;
    for (i = 0; i < m->count; ++i) {
        free((void*)m->items[i].role);
        free((void*)m->items[i].content);
    }
    free(m->items);
    m->items = NULL;
    m->count = 0;
}

/* Parses [{"role": "...", "content": "..."}, ...]; content may be null. */
static int parse_messages(const char* text, size_t length, message_list* out) {
    json_reader r;
    size_t cap = 0;
    r.p = text;
    r.end = text + length;
    out->items = NULL;
    out->count = 0;
    json_skip_space(&r);
    if (r.p >= r.end || *r.p != '[') return 0;
    ++r.p;
    for (;;) {
        r1_chat_message m;
        json_skip_space(&r);
        if (r.p < r.end && *r.p == ']') { ++r.p; return 1; }
        if (r.p >= r.end || *r.p != '{') goto bad;
        ++r.p;
        m.role = NULL;
        m.content = NULL;
        for (;;) {
            char* key;
            json_skip_space(&r);
            if (r.p < r.end && *r.p == '}') { ++r.p; break; }
            key = json_string(&r);
            if (!key) goto bad_message;
            json_skip_space(&r);
            if (r.p >= r.end || *r.p != ':') { free(key); goto bad_message; }
            ++r.p;
            json_skip_space(&r);
            if ((strcmp(key, "role") == 0 || strcmp(key, "content") == 0) && r.end - r.p >= 4 && strncmp(r.p, "null", 4) == 0) {
                r.p += 4;
            } else if (strcmp(key, "role") == 0) {
                free((void*)m.role);
                m.role = json_string(&r);
                if (!m.role) { free(key); goto bad_message; }
            } else if (strcmp(key, "content") == 0) {
                free((void*)m.content);
                m.content = json_string(&r);
                if (!m.content) { free(key); goto bad_message; }
            } else if (!json_skip_value(&r)) {
                free(key);
                goto bad_message;
            }
            free(key);
            json_skip_space(&r);
            if (r.p < r.end && *r.p == ',') ++r.p;
        }
        if (!m.role) goto bad_message;
        if (out->count == cap) {
            r1_chat_message* grown = (r1_chat_message*)realloc(out->items, (cap = cap ? cap * 2 : 8) * sizeof *grown);
            if (!grown) goto bad_message;
            out->items = grown;
        }
        out->items[out->count++] = m;
        json_skip_space(&r);
        if (r.p < r.end && *r.p == ',') ++r.p;
        continue;
    bad_message:
        free((void*)m.role);
        free((void*)m.content);
        goto bad;
    }
bad:
    free_messages(out);
    return 0;
}

static int cmd_template(int argc, char** argv) {
    model_options o;
    const char *messages_path = NULL, *template_path = NULL, *name = NULL, *bos = NULL;
    int i, rc, no_gen = 0, no_think = 0;
    char *messages_text = NULL, *template_text = NULL, *out = NULL;
    size_t messages_len = 0, template_len = 0, length = 0;
    message_list messages = {NULL, 0};
    r1_model* model = NULL;
    r1_chat_params cp;
    r1_status st;
    if (wants_help(argc, argv)) {
        printf("usage: r1 template (-m MODEL | --template-file F.jinja | --name NAME) --messages FILE.json\n"
               "                   [--no-generation-prompt] [--no-thinking] [--bos TEXT]\n\n"
               "Prints exactly what the chat template renders for the conversation in FILE.json, an array of\n"
               "{\"role\", \"content\"} objects (the BOS text included where the template writes it).\n\n"
               "  --template-file F   recognise this template text instead of the model's\n"
               "  --name NAME         a built-in template: r1-distill, r1-distill-legacy, r1-distill-qwen-llama-cpp, qwen3\n"
               "  --no-generation-prompt   do not open the assistant's turn\n"
               "  --no-thinking       Qwen3's enable_thinking=false\n"
               "  --bos TEXT          the BOS text (default: the model's; without a model <｜begin▁of▁sentence｜>)\n");
        return 0;
    }
    model_options_init(&o);
    for (i = 1; i < argc; ++i) {
        int r = parse_model_option(argc, argv, &i, &o);
        if (r < 0) return 1;
        if (r) continue;
        if (is_flag(argv[i], "--messages") && i + 1 < argc) messages_path = argv[++i];
        else if (is_flag(argv[i], "--template-file") && i + 1 < argc) template_path = argv[++i];
        else if (is_flag(argv[i], "--name") && i + 1 < argc) name = argv[++i];
        else if (is_flag(argv[i], "--bos") && i + 1 < argc) bos = argv[++i];
        else if (is_flag(argv[i], "--no-generation-prompt")) no_gen = 1;
        else if (is_flag(argv[i], "--no-thinking")) no_think = 1;
        else return error_exit("template: unknown or incomplete option '%s'", argv[i]);
    }
    if (!messages_path) return error_exit("template: --messages FILE.json is required");
    if (!o.path && !template_path && !name) return error_exit("template: give -m MODEL, --template-file or --name");
    messages_text = read_whole_file(messages_path, &messages_len);
    if (!messages_text) return error_exit("cannot read %s: %s", messages_path, strerror(errno));
    if (!parse_messages(messages_text, messages_len, &messages)) {
        free(messages_text);
        return error_exit("%s: expected a JSON array of {\"role\": ..., \"content\": ...} objects", messages_path);
    }
    if (template_path) {
        template_text = read_whole_file(template_path, &template_len);
        if (!template_text) { rc = error_exit("cannot read %s: %s", template_path, strerror(errno)); goto done; }
    }
    if (o.path && load_model(&o, 1, &model) != 0) { rc = 1; goto done; }
    r1_chat_params_init(&cp);
    cp.add_generation_prompt = !no_gen;
    cp.enable_thinking = !no_think;
    cp.template_name = name;
    cp.template_text = template_text;
    cp.bos_token = bos ? bos : (model ? NULL : "<｜begin▁of▁sentence｜>");
    st = r1_chat_apply_template(model, messages.items, messages.count, &cp, NULL, 0, &length);
    if (st == R1_ERR_BUFFER_TOO_SMALL) {
        out = (char*)malloc(length + 1);
        st = out ? r1_chat_apply_template(model, messages.items, messages.count, &cp, out, length + 1, &length)
                 : R1_ERR_OUT_OF_MEMORY;
    }
    rc = st == R1_OK ? 0 : status_exit(st);
    if (rc == 0 && out) fwrite(out, 1, length, stdout);
done:
    free(out);
    free(template_text);
    free(messages_text);
    free_messages(&messages);
    r1_model_free(model);
    return rc;
}

/* ---------------------------------------------------------------------------------------------------------------
 * r1 logits / generate: reference checks on token ids
 * --------------------------------------------------------------------------------------------------------------- */

static int cmd_logits(int argc, char** argv) {
    model_options o;
    const char *list = NULL, *out_path = NULL;
    int i, all = 0, text = 0, rc = 0;
    int32_t* tokens = NULL;
    size_t count = 0;
    int64_t row, rows, n_vocab = 0, k;
    r1_model* model = NULL;
    r1_session* session = NULL;
    r1_status st;
    FILE* out = stdout;
    if (wants_help(argc, argv)) {
        printf("usage: r1 logits -m MODEL --tokens ID,ID,... [--all] [--out FILE] [--text] [model options]\n\n"
               "Evaluates the tokens in one call and writes the logits of the last position (or of every position\n"
               "with --all) as little-endian float32, row after row, to FILE or stdout; --text writes one row per\n"
               "line in decimal.\n\n%s", MODEL_OPTIONS_HELP);
        return 0;
    }
    model_options_init(&o);
    for (i = 1; i < argc; ++i) {
        int r = parse_model_option(argc, argv, &i, &o);
        if (r < 0) return 1;
        if (r) continue;
        if (is_flag(argv[i], "--tokens") && i + 1 < argc) list = argv[++i];
        else if (is_flag(argv[i], "--out") && i + 1 < argc) out_path = argv[++i];
        else if (is_flag(argv[i], "--all")) all = 1;
        else if (is_flag(argv[i], "--text")) text = 1;
        else return error_exit("logits: unknown or incomplete option '%s'", argv[i]);
    }
    if (!list) return error_exit("logits: --tokens is required");
    if (parse_token_list(list, &tokens, &count) != 0) return 1;
    if (load_model(&o, 0, &model) != 0 || create_session(model, &o, &session) != 0) { rc = 1; goto done; }
    st = r1_session_eval(session, tokens, count, all ? R1_EVAL_ALL_LOGITS : 0);
    if (st != R1_OK) { rc = status_exit(st); goto done; }
    if (out_path) {
        out = fopen(out_path, text ? "w" : "wb");
        if (!out) { rc = error_exit("cannot write %s: %s", out_path, strerror(errno)); out = stdout; goto done; }
    }
    rows = all ? (int64_t)count : 1;
    for (row = 0; row < rows; ++row) {
        const float* logits = NULL;
        st = r1_session_logits(session, all ? row : -1, &logits, &n_vocab);
        if (st != R1_OK) { rc = status_exit(st); break; }
        if (text) {
            for (k = 0; k < n_vocab; ++k) fprintf(out, k ? " %.9g" : "%.9g", (double)logits[k]);
            fputc('\n', out);
        } else if (fwrite(logits, sizeof(float), (size_t)n_vocab, out) != (size_t)n_vocab) {
            rc = error_exit("write failed: %s", strerror(errno));
            break;
        }
    }
done:
    if (out != stdout && fclose(out) != 0 && rc == 0) rc = error_exit("cannot write %s", out_path);
    free(tokens);
    r1_session_free(session);
    r1_model_free(model);
    return rc;
}

static int cmd_generate(int argc, char** argv) {
    model_options o;
    const char* list = NULL;
    int i, greedy = 0, rc = 0;
    long long n = 16, step;
    int32_t* tokens = NULL;
    size_t count = 0;
    int64_t n_vocab = 0, k;
    r1_model* model = NULL;
    r1_session* session = NULL;
    r1_status st;
    if (wants_help(argc, argv)) {
        printf("usage: r1 generate -m MODEL --tokens ID,... -n N --greedy [model options]\n\n"
               "Evaluates the tokens, then generates N tokens greedily (the most likely token, the lowest id on a tie,\n"
               "never stopping at end-of-generation) and prints their ids on one line.\n\n%s", MODEL_OPTIONS_HELP);
        return 0;
    }
    model_options_init(&o);
    for (i = 1; i < argc; ++i) {
        int r = parse_model_option(argc, argv, &i, &o);
        if (r < 0) return 1;
        if (r) continue;
        if (is_flag(argv[i], "--tokens") && i + 1 < argc) list = argv[++i];
        else if (is_flag(argv[i], "-n") && i + 1 < argc) {
            if (!parse_int(argv[++i], 0, 1LL << 24, &n)) return error_exit("bad token count '%s'", argv[i]);
        } else if (is_flag(argv[i], "--greedy")) greedy = 1;
        else return error_exit("generate: unknown or incomplete option '%s'", argv[i]);
    }
    if (!greedy) return error_exit("generate: only --greedy decoding is available here (use r1 run for sampling)");
    if (!list) return error_exit("generate: --tokens is required");
    if (parse_token_list(list, &tokens, &count) != 0) return 1;
    if (load_model(&o, 0, &model) != 0 || create_session(model, &o, &session) != 0) { rc = 1; goto done; }
    st = r1_session_eval(session, tokens, count, 0);
    for (step = 0; st == R1_OK && step < n; ++step) {
        const float* logits = NULL;
        int32_t best = 0;
        st = r1_session_logits(session, -1, &logits, &n_vocab);
        if (st != R1_OK) break;
        for (k = 1; k < n_vocab; ++k)
            if (logits[k] > logits[best]) best = (int32_t)k;
        printf(step ? " %d" : "%d", (int)best);
        fflush(stdout);
        if (step + 1 < n) st = r1_session_eval(session, &best, 1, 0);
    }
    printf("\n");
    if (st != R1_OK) rc = status_exit(st);
done:
    free(tokens);
    r1_session_free(session);
    r1_model_free(model);
    return rc;
}

/* ---------------------------------------------------------------------------------------------------------------
 * r1 run / r1 chat: generation with the thinking streamed apart
 * --------------------------------------------------------------------------------------------------------------- */

typedef struct stream_state {
    int show_thinking;
    int dim;           /* ANSI dim for thinking on a terminal */
    int in_thinking;   /* the last text written was thinking */
    int wrote_answer;
    double started;    /* when the call began (now_seconds), for the time to the first text */
    double first_text; /* when the first event arrived; 0 before */
} stream_state;

static double now_seconds(void);

static int32_t on_stream_event(void* user_data, const r1_event* e) {
    stream_state* s = (stream_state*)user_data;
    if (s->first_text == 0) s->first_text = now_seconds();
    if (e->kind == R1_EVENT_THINKING) {
        if (!s->show_thinking) return 0;
        if (!s->in_thinking) {
            fputs(s->dim ? "\033[2m" : "", stderr);
            s->in_thinking = 1;
        }
        fwrite(e->text, 1, e->text_length, stderr);
        fflush(stderr);
    } else {
        if (s->in_thinking) {
            fputs(s->dim ? "\033[0m\n\n" : "\n\n", stderr);
            fflush(stderr);
            s->in_thinking = 0;
        }
        fwrite(e->text, 1, e->text_length, stdout);
        fflush(stdout);
        s->wrote_answer = 1;
    }
    return 0;
}

static void end_stream(stream_state* s) {
    if (s->in_thinking) {
        fputs(s->dim ? "\033[0m\n" : "\n", stderr);
        s->in_thinking = 0;
    }
    if (s->wrote_answer) fputc('\n', stdout);
    fflush(stdout);
    fflush(stderr);
}

typedef struct generation_options {
    r1_sampling_params sampling;
    r1_generate_params gen;
    int hide_thinking;
    int show_stats;
    int raw; /* plain completion: no template, no thinking */
} generation_options;

static void generation_options_init(generation_options* g) {
    r1_sampling_params_init(&g->sampling);
    r1_generate_params_init(&g->gen);
    g->gen.sampling = &g->sampling;
    g->hide_thinking = 0;
    g->show_stats = 0;
    g->raw = 0;
}

/* A model without a chat template (e.g. a base model) is driven by plain completion. */
static void choose_mode(const r1_model* model, generation_options* g) {
    r1_model_info info;
    info.struct_size = sizeof info;
    if (!g->raw && !g->gen.template_name && r1_model_get_info(model, &info) == R1_OK && !info.has_chat_template) {
        fprintf(stderr, "r1: the model has no chat template: plain text completion (see --template)\n");
        g->raw = 1;
    }
}

static const char* GENERATION_OPTIONS_HELP =
    "  -n N                   at most N generated tokens (default: until the model stops or the context is full)\n"
    "      --temp T           temperature (default 0.6, the DeepSeek-R1 recommendation; 0 = greedy)\n"
    "      --top-p P          nucleus sampling (default 0.95)\n"
    "      --top-k K          keep the K most likely tokens (default off)\n"
    "      --min-p P          drop tokens below P times the most likely one (default off)\n"
    "      --repeat-penalty R penalise recently used tokens (default 1 = off)\n"
    "      --seed S           random seed (default: random)\n"
    "      --think-budget N   close the thought after N tokens (0 = answer without thinking)\n"
    "      --hide-thinking    do not show the thinking\n"
    "      --template NAME    use a built-in chat template (r1-distill, r1-distill-legacy, qwen3, ...)\n"
    "      --raw              plain text completion: no chat template, no thinking\n"
    "      --stats            print token counts and speeds to stderr at the end\n";

static int parse_generation_option(int argc, char** argv, int* i, generation_options* g) {
    const char* a = argv[*i];
    const char* v = *i + 1 < argc ? argv[*i + 1] : NULL;
    long long n;
    double f;
    if (is_flag(a, "--hide-thinking")) { g->hide_thinking = 1; return 1; }
    if (is_flag(a, "--stats")) { g->show_stats = 1; return 1; }
    if (is_flag(a, "--raw")) { g->raw = 1; return 1; }
    if (is_flag(a, "--template") && v) { g->gen.template_name = v; ++*i; return 1; }
    if (!(is_flag(a, "-n") || is_flag(a, "--temp") || is_flag(a, "--top-p") || is_flag(a, "--top-k") ||
          is_flag(a, "--min-p") || is_flag(a, "--repeat-penalty") || is_flag(a, "--seed") || is_flag(a, "--think-budget")))
        return 0;
    if (!v) { error_exit("option %s needs a value", a); return -1; }
    ++*i;
    if (is_flag(a, "-n")) {
        if (!parse_int(v, 0, 1LL << 30, &n)) { error_exit("bad token count '%s'", v); return -1; }
        g->gen.max_tokens = n;
    } else if (is_flag(a, "--seed")) {
        if (!parse_int(v, 0, 0x7FFFFFFFFFFFFFFFLL, &n)) { error_exit("bad seed '%s'", v); return -1; }
        g->sampling.seed = (uint64_t)n;
    } else if (is_flag(a, "--think-budget")) {
        if (!parse_int(v, -1, 1LL << 30, &n)) { error_exit("bad thinking budget '%s'", v); return -1; }
        g->gen.thinking_budget = n;
    } else if (is_flag(a, "--top-k")) {
        if (!parse_int(v, 0, 1LL << 30, &n)) { error_exit("bad top-k '%s'", v); return -1; }
        g->sampling.top_k = (int32_t)n;
    } else {
        if (!parse_float(v, &f)) { error_exit("bad number '%s' for %s", v, a); return -1; }
        if (is_flag(a, "--temp")) g->sampling.temperature = (float)f;
        else if (is_flag(a, "--top-p")) g->sampling.top_p = (float)f;
        else if (is_flag(a, "--min-p")) g->sampling.min_p = (float)f;
        else g->sampling.repeat_penalty = (float)f;
    }
    return 1;
}

static const char* stop_reason_name(r1_stop_reason r) {
    switch (r) {
        case R1_STOP_EOS: return "end of turn";
        case R1_STOP_MAX_TOKENS: return "token limit";
        case R1_STOP_STRING: return "stop string";
        case R1_STOP_CALLBACK: return "stopped";
        case R1_STOP_CANCELLED: return "cancelled";
        case R1_STOP_CONTEXT_FULL: return "context full";
        default: return "unknown";
    }
}

static void print_stats(const r1_result* r, const stream_state* s) {
    fprintf(stderr, "[%s | prompt %lld tokens (%lld evaluated) at %.1f t/s | thinking %lld, answer %lld tokens at %.1f t/s]\n",
            stop_reason_name(r->stop_reason), (long long)r->n_prompt_tokens, (long long)r->n_prompt_evaluated,
            r->prompt_tokens_per_second, (long long)r->n_thinking_tokens, (long long)r->n_answer_tokens,
            r->generation_tokens_per_second);
    if (s && s->first_text > 0)
        fprintf(stderr, "[load %.0f ms | prompt %.0f ms | first text %.0f ms after the request]\n", r->load_ms,
                r->prompt_ms, (s->first_text - s->started) * 1e3);
    else
        fprintf(stderr, "[load %.0f ms | prompt %.0f ms]\n", r->load_ms, r->prompt_ms);
}

static volatile sig_atomic_t g_interrupted = 0;
static r1_session* volatile g_active_session = NULL;

static void on_sigint(int sig) {
    (void)sig;
    g_interrupted = 1;
    if (g_active_session) r1_session_cancel(g_active_session); /* an atomic store: safe in a signal handler */
}

static void install_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking read returns so the prompt can be shown again */
    sigaction(SIGINT, &sa, NULL);
}

static int cmd_run(int argc, char** argv) {
    model_options o;
    generation_options g;
    const char* prompt = NULL;
    int i, rc = 0;
    stream_state s;
    r1_chat_message message;
    r1_result result;
    r1_model* model = NULL;
    r1_session* session = NULL;
    r1_status st;
    if (wants_help(argc, argv)) {
        printf("usage: r1 run -m MODEL -p PROMPT [generation options] [model options]\n\n"
               "Answers one prompt with the model's chat template. The thinking goes to stderr (dimmed on a\n"
               "terminal), the answer to stdout.\n\n%s%s", GENERATION_OPTIONS_HELP, MODEL_OPTIONS_HELP);
        return 0;
    }
    model_options_init(&o);
    generation_options_init(&g);
    for (i = 1; i < argc; ++i) {
        int r = parse_model_option(argc, argv, &i, &o);
        if (r == 0) r = parse_generation_option(argc, argv, &i, &g);
        if (r < 0) return 1;
        if (r) continue;
        if ((is_flag(argv[i], "-p") || is_flag(argv[i], "--prompt")) && i + 1 < argc) prompt = argv[++i];
        else return error_exit("run: unknown or incomplete option '%s'", argv[i]);
    }
    if (!prompt) return error_exit("run: -p PROMPT is required");
    if (load_model(&o, 0, &model) != 0 || create_session(model, &o, &session) != 0) { rc = 1; goto done; }
    message.role = "user";
    message.content = prompt;
    memset(&s, 0, sizeof s);
    s.show_thinking = !g.hide_thinking;
    s.dim = isatty(fileno(stderr));
    result.struct_size = sizeof result;
    g_active_session = session;
    install_sigint();
    choose_mode(model, &g);
    s.started = now_seconds();
    if (g.raw) st = r1_session_complete(session, prompt, strlen(prompt), &g.gen, on_stream_event, &s, &result);
    else st = r1_session_chat(session, &message, 1, &g.gen, on_stream_event, &s, &result);
    g_active_session = NULL;
    end_stream(&s);
    if (st != R1_OK && st != R1_ERR_CANCELLED) rc = status_exit(st);
    else if (g.show_stats) print_stats(&result, &s);
    if (st == R1_ERR_CANCELLED) rc = 130;
done:
    r1_session_free(session);
    r1_model_free(model);
    return rc;
}

/* A growing conversation for r1 chat: role/content pairs owned by the list. */
typedef struct conversation {
    r1_chat_message* items;
    size_t count, cap;
} conversation;

static int conversation_add(conversation* c, const char* role, const char* content, size_t length) {
    char *r, *t;
    if (c->count == c->cap) {
        r1_chat_message* grown = (r1_chat_message*)realloc(c->items, (c->cap = c->cap ? c->cap * 2 : 8) * sizeof *grown);
        if (!grown) return 0;
        c->items = grown;
    }
    r = (char*)malloc(strlen(role) + 1);
    t = (char*)malloc(length + 1);
    if (!r || !t) { free(r); free(t); return 0; }
    memcpy(r, role, strlen(role) + 1);
    memcpy(t, content, length);
    t[length] = '\0';
    c->items[c->count].role = r;
    c->items[c->count].content = t;
    ++c->count;
    return 1;
}

static void conversation_clear(conversation* c) {
    size_t i;
    for (i = 0; i < c->count; ++i) {
        free((void*)c->items[i].role);
        free((void*)c->items[i].content);
    }
    c->count = 0;
}

typedef struct reply_buffer {
    stream_state stream;
    char* text;       /* the whole reply: thinking between tags, then the answer, as the template expects */
    size_t length, cap;
    int closed_thought;
} reply_buffer;

static int append_reply(reply_buffer* b, const char* text, size_t n) {
    if (b->length + n + 1 > b->cap) {
        size_t cap = (b->length + n + 1) * 2;
        char* grown = (char*)realloc(b->text, cap);
        if (!grown) return 0;
        b->text = grown;
        b->cap = cap;
    }
    memcpy(b->text + b->length, text, n);
    b->length += n;
    b->text[b->length] = '\0';
    return 1;
}

static int32_t on_chat_event(void* user_data, const r1_event* e) {
    reply_buffer* b = (reply_buffer*)user_data;
    if (e->kind == R1_EVENT_ANSWER && !b->closed_thought && b->length > 0) {
        append_reply(b, "\n</think>\n\n", 11);
        b->closed_thought = 1;
    }
    if (e->kind == R1_EVENT_THINKING && b->length == 0) append_reply(b, "<think>\n", 8);
    append_reply(b, e->text, e->text_length);
    return on_stream_event(&b->stream, e);
}

static int cmd_chat(int argc, char** argv) {
    model_options o;
    generation_options g;
    const char* system_prompt = NULL;
    int i, rc = 0;
    char line[65536];
    conversation conv = {NULL, 0, 0};
    r1_model* model = NULL;
    r1_session* session = NULL;
    if (wants_help(argc, argv)) {
        printf("usage: r1 chat -m MODEL [--system TEXT] [generation options] [model options]\n\n"
               "An interactive multi-turn chat. Each line you type is a user turn; the reply streams with its\n"
               "thinking dimmed. Ctrl-C stops the current reply; Ctrl-D or /quit leaves. Commands:\n"
               "  /reset        start a new conversation\n"
               "  /save FILE    save the session (conversation state and KV cache) to FILE\n"
               "  /load FILE    restore a session saved with /save (the conversation text starts over)\n\n%s%s",
               GENERATION_OPTIONS_HELP, MODEL_OPTIONS_HELP);
        return 0;
    }
    model_options_init(&o);
    generation_options_init(&g);
    for (i = 1; i < argc; ++i) {
        int r = parse_model_option(argc, argv, &i, &o);
        if (r == 0) r = parse_generation_option(argc, argv, &i, &g);
        if (r < 0) return 1;
        if (r) continue;
        if (is_flag(argv[i], "--system") && i + 1 < argc) system_prompt = argv[++i];
        else return error_exit("chat: unknown or incomplete option '%s'", argv[i]);
    }
    if (load_model(&o, 0, &model) != 0 || create_session(model, &o, &session) != 0) { rc = 1; goto done; }
    install_sigint();
    choose_mode(model, &g);
    if (system_prompt && !conversation_add(&conv, "system", system_prompt, strlen(system_prompt))) { rc = error_exit("out of memory"); goto done; }
    fprintf(stderr, "r1 chat: type a message; /reset, /save FILE, /load FILE, /quit. Ctrl-C stops a reply.\n");
    for (;;) {
        size_t n;
        reply_buffer reply;
        r1_result result;
        r1_status st;
        fputs("> ", stdout);
        fflush(stdout);
        g_interrupted = 0;
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) {
                clearerr(stdin);
                fputs("\n(use /quit or Ctrl-D to leave)\n", stderr);
                continue;
            }
            fputc('\n', stdout);
            break;
        }
        n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (n == 0) continue;
        if (strcmp(line, "/quit") == 0 || strcmp(line, "/exit") == 0) break;
        if (strcmp(line, "/reset") == 0) {
            conversation_clear(&conv);
            if (system_prompt) conversation_add(&conv, "system", system_prompt, strlen(system_prompt));
            r1_session_reset(session);
            fprintf(stderr, "(new conversation)\n");
            continue;
        }
        if (strncmp(line, "/save ", 6) == 0 || strncmp(line, "/load ", 6) == 0) {
            st = line[1] == 's' ? r1_session_save(session, line + 6) : r1_session_load(session, line + 6);
            if (st != R1_OK) fprintf(stderr, "r1: error: %s\n", r1_last_error());
            else fprintf(stderr, "(%s %s)\n", line[1] == 's' ? "saved to" : "loaded from", line + 6);
            if (st == R1_OK && line[1] == 'l') conversation_clear(&conv);
            continue;
        }
        if (line[0] == '/') {
            fprintf(stderr, "unknown command %s (/reset, /save FILE, /load FILE, /quit)\n", line);
            continue;
        }
        if (!conversation_add(&conv, "user", line, n)) { rc = error_exit("out of memory"); break; }
        memset(&reply, 0, sizeof reply);
        reply.stream.show_thinking = !g.hide_thinking;
        reply.stream.dim = isatty(fileno(stderr));
        reply.stream.started = now_seconds();
        result.struct_size = sizeof result;
        g_active_session = session;
        if (g.raw) {
            /* No template: the conversation is one growing text; each line continues it. */
            size_t k, total = 0;
            char* transcript;
            for (k = 0; k < conv.count; ++k) total += strlen(conv.items[k].content) + 1;
            transcript = (char*)malloc(total + 1);
            if (!transcript) { rc = error_exit("out of memory"); break; }
            transcript[0] = '\0';
            for (k = 0; k < conv.count; ++k) {
                if (k) strcat(transcript, strcmp(conv.items[k].role, "user") == 0 ? "\n" : "");
                strcat(transcript, conv.items[k].content);
            }
            st = r1_session_complete(session, transcript, strlen(transcript), &g.gen, on_chat_event, &reply, &result);
            free(transcript);
        } else {
            st = r1_session_chat(session, conv.items, conv.count, &g.gen, on_chat_event, &reply, &result);
        }
        g_active_session = NULL;
        end_stream(&reply.stream);
        if (st == R1_ERR_CANCELLED) fprintf(stderr, "(stopped)\n");
        else if (st != R1_OK) fprintf(stderr, "r1: error: %s\n", r1_last_error());
        else if (g.show_stats) print_stats(&result, &reply.stream);
        if (st == R1_OK || st == R1_ERR_CANCELLED) {
            if (!conversation_add(&conv, "assistant", reply.text ? reply.text : "", reply.length)) {
                free(reply.text);
                rc = error_exit("out of memory");
                break;
            }
        } else {
            /* The turn failed: drop the user message so the conversation stays consistent. */
            --conv.count;
            free((void*)conv.items[conv.count].role);
            free((void*)conv.items[conv.count].content);
        }
        free(reply.text);
    }
done:
    conversation_clear(&conv);
    free(conv.items);
    r1_session_free(session);
    r1_model_free(model);
    return rc;
}

/* ---------------------------------------------------------------------------------------------------------------
 * r1 bench: prompt processing and generation speed, like llama-bench
 * --------------------------------------------------------------------------------------------------------------- */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void mean_sd(const double* v, int n, double* mean, double* sd) {
    int k;
    double m = 0, s = 0;
    for (k = 0; k < n; ++k) m += v[k];
    m /= n;
    for (k = 0; k < n; ++k) s += (v[k] - m) * (v[k] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(s / (n - 1)) : 0.0;
}

static int cmd_bench(int argc, char** argv) {
    model_options o;
    long long n_prompt = 512, n_gen = 128, reps = 5, v;
    int i, json = 0, rc = 0, rep, t;
    int32_t* tokens = NULL;
    double pp[64], tg[64];
    int64_t vocab;
    r1_model_info info;
    r1_model* model = NULL;
    r1_session* session = NULL;
    r1_status st = R1_OK;
    unsigned long long rng = 42;
    if (wants_help(argc, argv)) {
        printf("usage: r1 bench -m MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS] [--json] [--mmap|--no-mmap]\n\n"
               "Measures prompt processing (pp: one prompt of -p tokens) and generation (tg: -n tokens one at a\n"
               "time) in tokens per second, mean and standard deviation over REPS runs after a warm-up, on\n"
               "synthetic token ids. --json prints llama-bench's field names.\n\n%s", MODEL_OPTIONS_HELP);
        return 0;
    }
    model_options_init(&o);
    for (i = 1; i < argc; ++i) {
        int r = parse_model_option(argc, argv, &i, &o);
        if (r < 0) return 1;
        if (r) continue;
        if (is_flag(argv[i], "--json")) { json = 1; continue; }
        if (i + 1 >= argc) return error_exit("bench: unknown or incomplete option '%s'", argv[i]);
        if (is_flag(argv[i], "-p")) { if (!parse_int(argv[++i], 0, 1 << 20, &n_prompt)) return error_exit("bad -p"); }
        else if (is_flag(argv[i], "-n")) { if (!parse_int(argv[++i], 0, 1 << 20, &n_gen)) return error_exit("bad -n"); }
        else if (is_flag(argv[i], "-r")) { if (!parse_int(argv[++i], 1, 64, &reps)) return error_exit("bad -r (1..64)"); }
        else return error_exit("bench: unknown option '%s'", argv[i]);
    }
    if (o.ctx == 0) o.ctx = n_prompt + n_gen + 1;
    if (load_model(&o, 0, &model) != 0 || create_session(model, &o, &session) != 0) { rc = 1; goto done; }
    info.struct_size = sizeof info;
    r1_model_get_info(model, &info);
    vocab = info.n_vocab > 0 ? info.n_vocab : 2;
    v = n_prompt > n_gen ? n_prompt : n_gen;
    tokens = (int32_t*)malloc((size_t)(v + 1) * sizeof *tokens);
    if (!tokens) { rc = error_exit("out of memory"); goto done; }
    for (t = 0; t <= v; ++t) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        tokens[t] = (int32_t)((rng >> 33) % (unsigned long long)vocab);
    }
    /* Warm-up (page faults, allocations), then the measured runs. */
    for (rep = -1; rep < reps && st == R1_OK; ++rep) {
        double t0;
        if (n_prompt > 0) {
            r1_session_reset(session);
            t0 = now_seconds();
            st = r1_session_eval(session, tokens, (size_t)n_prompt, 0);
            if (rep >= 0) pp[rep] = (double)n_prompt / (now_seconds() - t0);
        }
        if (n_gen > 0 && st == R1_OK) {
            r1_session_reset(session);
            st = r1_session_eval(session, tokens, 1, 0);
            t0 = now_seconds();
            for (t = 0; t < n_gen && st == R1_OK; ++t) st = r1_session_eval(session, &tokens[t + 1], 1, 0);
            if (rep >= 0) tg[rep] = (double)n_gen / (now_seconds() - t0);
        }
    }
    if (st != R1_OK) { rc = status_exit(st); goto done; }
    {
        const char* mode = o.no_mmap ? "read" : "mmap";
        const char* slash = strrchr(o.path, '/');
        const char* base = slash ? slash + 1 : o.path;
        int threads = (int)r1_session_n_threads(session);
        char size[32], params[32], test[32];
        int row = 0;
        human_bytes(info.tensor_data_size, size, sizeof size);
        human_count(info.n_params, params, sizeof params);
        if (json) printf("[");
        else printf("| %-32s | %10s | %9s | %-7s | %7s | %5s | %-7s | %16s |\n|%s|\n", "model", "size", "params",
                    "backend", "threads", "mode", "test", "t/s",
                    "----------------------------------|------------|-----------|---------|---------|-------|---------|------------------");
        for (row = 0; row < 2; ++row) {
            long long n = row == 0 ? n_prompt : n_gen;
            double mean, sd;
            if (n == 0) continue;
            mean_sd(row == 0 ? pp : tg, (int)reps, &mean, &sd);
            snprintf(test, sizeof test, "%s%lld", row == 0 ? "pp" : "tg", n);
            if (json) {
                printf("%s\n  {\"model_filename\": ", row == 1 && n_prompt > 0 ? "," : "");
                print_json_string(o.path);
                printf(", \"model_type\": \"%s %s\", \"model_size\": %llu, \"model_n_params\": %llu, "
                       "\"backends\": \"%s\", \"n_threads\": %d, \"n_prompt\": %lld, \"n_gen\": %lld, "
                       "\"test\": \"%s\", \"use_mmap\": %s, \"kv_type\": \"%s\", \"avg_ts\": %.3f, \"stddev_ts\": %.3f}",
                       info.architecture, r1_file_type_name(info.file_type), (unsigned long long)info.tensor_data_size,
                       (unsigned long long)info.n_params, o.backend, threads, row == 0 ? n : 0, row == 1 ? n : 0, test,
                       o.no_mmap ? "false" : "true",
                       o.kv == R1_KV_F32 ? "f32" : o.kv == R1_KV_Q8_0 ? "q8_0" : o.kv == R1_KV_BF16 ? "bf16" : "f16",
                       mean, sd);
            } else {
                printf("| %-32.32s | %10s | %9s | %-7s | %7d | %5s | %-7s | %8.2f ± %5.2f |\n", base, size, params,
                       o.backend, threads, mode, test, mean, sd);
            }
        }
        if (json) printf("\n]\n");
    }
done:
    free(tokens);
    r1_session_free(session);
    r1_model_free(model);
    return rc;
}

/* ---------------------------------------------------------------------------------------------------------------
 * r1 quantize: rewrite a model with smaller weight types, like llama-quantize
 * --------------------------------------------------------------------------------------------------------------- */

typedef struct quantize_progress {
    const char* path;
    int last_percent;
} quantize_progress;

/* On a terminal only: a percentage on one line of stderr, erased when done. */
static int32_t show_quantize_progress(void* user_data, float progress) {
    quantize_progress* p = (quantize_progress*)user_data;
    int percent = (int)(progress * 100.0f);
    if (percent != p->last_percent) {
        p->last_percent = percent;
        fprintf(stderr, "\rquantizing %s %3d%%", p->path, percent);
        if (progress >= 1.0f) fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    return 0;
}

static int cmd_quantize(int argc, char** argv) {
    const char* positional[3] = {NULL, NULL, NULL};
    int n_positional = 0, i;
    long long threads = 0;
    double t0;
    r1_quantize_params params;
    quantize_progress progress;
    r1_status st;
    if (wants_help(argc, argv)) {
        int32_t k;
        printf("usage: r1 quantize IN.gguf OUT.gguf TYPE [--threads N] [--allow-requantize]\n\n"
               "Writes OUT.gguf with the weights of IN.gguf (F32, F16 or BF16) quantized to TYPE, choosing each\n"
               "tensor's type as llama.cpp's llama-quantize does. Metadata is kept; OUT.gguf appears only when\n"
               "complete.\n\n"
               "  -t, --threads N        threads (default: the number of hardware threads)\n"
               "      --allow-requantize accept already quantized weights (dequantized first: lower quality)\n\n"
               "TYPE (case does not matter; Q3_K, Q4_K and Q5_K mean the _M mixes):\n");
        for (k = 0; k < r1_quantize_type_count(); ++k)
            printf("  %-8s %s\n", r1_quantize_type_name(k), r1_quantize_type_description(k));
        return 0;
    }
    r1_quantize_params_init(&params);
    for (i = 1; i < argc; ++i) {
        const char* a = argv[i];
        if (is_flag(a, "--allow-requantize")) params.allow_requantize = 1;
        else if (is_flag(a, "-t") || is_flag(a, "--threads")) {
            if (i + 1 >= argc) return error_exit("option %s needs a value", a);
            if (!parse_int(argv[++i], 1, 1024, &threads)) return error_exit("bad thread count '%s'", argv[i]);
        } else if (a[0] == '-' && a[1] != '\0') {
            return error_exit("quantize: unknown option '%s' (see r1 quantize --help)", a);
        } else {
            if (n_positional == 3) return error_exit("quantize: too many arguments (see r1 quantize --help)");
            positional[n_positional++] = a;
        }
    }
    if (n_positional < 3) return error_exit("quantize: usage: r1 quantize IN.gguf OUT.gguf TYPE [--threads N]");
    params.type = positional[2];
    params.n_threads = (int32_t)threads;
    params.log_callback = log_to_stderr;
    params.log_level = g_verbose ? R1_LOG_DEBUG : R1_LOG_WARN;
    progress.path = positional[0];
    progress.last_percent = -1;
    if (isatty(fileno(stderr))) {
        params.progress_callback = show_quantize_progress;
        params.progress_user_data = &progress;
    }
    t0 = now_seconds();
    st = r1_model_quantize(positional[0], positional[1], &params);
    if (params.progress_callback && progress.last_percent >= 0 && progress.last_percent < 100)
        fprintf(stderr, "\r\033[K");
    if (st != R1_OK) return status_exit(st);
    printf("%s: %s written in %.1f s\n", positional[1], positional[2], now_seconds() - t0);
    return 0;
}

/* ---------------------------------------------------------------------------------------------------------------
 * r1 convert: runs the r1-convert program (Hugging Face folder to GGUF), found next to this program or on PATH
 * --------------------------------------------------------------------------------------------------------------- */

static int cmd_convert(int argc, char** argv) {
    char self[4096], path[4096 + 16];
    char** args;
    int i;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    args = (char**)calloc((size_t)argc + 1, sizeof *args);
    if (!args) return error_exit("out of memory");
    for (i = 1; i < argc; ++i) args[i] = argv[i];
    fflush(stdout);
    fflush(stderr);
    if (n > 0) {
        char* slash;
        self[n] = '\0';
        slash = strrchr(self, '/');
        if (slash) {
            slash[1] = '\0';
            snprintf(path, sizeof path, "%sr1-convert", self);
            args[0] = path;
            if (access(path, X_OK) == 0) execv(path, args);
        }
    }
    args[0] = (char*)"r1-convert";
    execvp("r1-convert", args); /* returns only on failure */
    free(args);
    if (wants_help(argc, argv)) {
        printf("usage: r1 convert HF_DIR OUT.gguf [--type f16|bf16|f32|q8_0] [--name NAME] [--quiet]\n\n"
               "Converts a Hugging Face model folder to GGUF with the r1-convert program, which is not installed\n"
               "here: build r1's tools (it is built next to r1) or put r1-convert on PATH.\n");
        return 0;
    }
    return error_exit("convert: cannot run r1-convert (%s): build r1's tools, which put it next to r1, or put it "
                      "on PATH", strerror(errno));
}

/* ---------------------------------------------------------------------------------------------------------------
 * main
 * --------------------------------------------------------------------------------------------------------------- */

typedef struct command {
    const char* name;
    int (*run)(int argc, char** argv);
    const char* summary;
} command;

static const command commands[] = {
    {"run", cmd_run, "answer one prompt, the thinking shown apart from the answer"},
    {"chat", cmd_chat, "an interactive multi-turn chat"},
    {"bench", cmd_bench, "measure prompt processing and generation speed"},
    {"info", cmd_info, "describe a GGUF model (architecture, sizes, types, fingerprint)"},
    {"tokenize", cmd_tokenize, "text to token ids"},
    {"detokenize", cmd_detokenize, "token ids to text"},
    {"template", cmd_template, "render a conversation with a chat template"},
    {"logits", cmd_logits, "write the logits of token ids (reference checks)"},
    {"generate", cmd_generate, "greedy token ids after token ids (reference checks)"},
    {"quantize", cmd_quantize, "quantize a model (Q4_K_M, Q8_0, ...) as llama-quantize does"},
    {"convert", cmd_convert, "convert a Hugging Face model folder (safetensors) to GGUF"},
    {"version", cmd_version, "print the library and ABI versions"},
};

static void usage(FILE* out) {
    size_t i;
    fprintf(out, "usage: r1 [--verbose] COMMAND [ARGS...]\n\nr1 %s: inference runtime for DeepSeek-R1 distills.\n\n"
                 "commands:\n", r1_version_string());
    for (i = 0; i < sizeof commands / sizeof commands[0]; ++i)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'r1 COMMAND --help' for a command's options.\n");
}

int main(int argc, char** argv) {
    size_t i;
    int first = 1;
    while (first < argc && (is_flag(argv[first], "--verbose") || is_flag(argv[first], "-v"))) {
        g_verbose = 1;
        ++first;
    }
    if (first >= argc) {
        fputs("r1: error: no command given\n\n", stderr);
        usage(stderr);
        return 1;
    }
    if (is_flag(argv[first], "-h") || is_flag(argv[first], "--help") || is_flag(argv[first], "help")) {
        usage(stdout);
        return 0;
    }
    if (is_flag(argv[first], "--version")) return cmd_version(1, argv + first);
    for (i = 0; i < sizeof commands / sizeof commands[0]; ++i)
        if (strcmp(argv[first], commands[i].name) == 0) return commands[i].run(argc - first, argv + first);
    fprintf(stderr, "r1: error: unknown command '%s'\n\n", argv[first]);
    usage(stderr);
    return 1;
}
