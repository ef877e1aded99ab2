/*
 * r1 - the command-line program. Plain C99 that uses nothing but r1.h: it doubles as proof that the C API is
 * complete. Each subcommand is a function `cmd_NAME(argc, argv)` returning the process exit code.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void info_usage(void) {
    printf("usage: r1 info MODEL.gguf [--json] [--tensors] [--full] [--no-mmap]\n\n"
           "Describes a GGUF model: architecture and hyperparameters, tokenizer, chat template, tensor count and\n"
           "type mix, sizes, and the xxh64 fingerprint of the tensor data.\n\n"
           "  --json      print one JSON object (metadata and tensors included)\n"
           "  --tensors   list every tensor (text output)\n"
           "  --full      do not shorten long metadata arrays in --json output\n"
           "  --no-mmap   read the tensor data into memory instead of mapping the file\n");
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
 * main
 * --------------------------------------------------------------------------------------------------------------- */

typedef struct command {
    const char* name;
    int (*run)(int argc, char** argv);
    const char* summary;
} command;

static const command commands[] = {
    {"info", cmd_info, "describe a GGUF model (architecture, sizes, types, fingerprint)"},
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
