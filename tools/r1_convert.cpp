// r1-convert: a Hugging Face model folder (config.json, tokenizer.json, tokenizer_config.json, *.safetensors) to
// GGUF, laid out as llama.cpp's convert_hf_to_gguf.py lays it out. `r1 convert` runs this program.
//
//     r1-convert models/DeepSeek-R1-Distill-Qwen-1.5B r1-qwen-1.5b-f16.gguf --type f16
#include <cstdio>
#include <cstring>
#include <string>

#include <unistd.h>

#include "../src/error.h"
#include "convert/convert.h"

static int usage(FILE* out, int code) {
    std::fprintf(out,
                 "usage: r1 convert HF_DIR OUT.gguf [--type f16|bf16|f32|q8_0] [--name NAME] [--quiet]\n\n"
                 "Converts a Hugging Face model folder (config.json, tokenizer.json, tokenizer_config.json and\n"
                 "model*.safetensors, sharded or not) of a Qwen2ForCausalLM, LlamaForCausalLM or Qwen3ForCausalLM\n"
                 "model to GGUF, with the metadata and tensor layout of llama.cpp's convert_hf_to_gguf.py.\n\n"
                 "  --type T    weight type of the matrices (default f16); norms and biases stay f32;\n"
                 "              q8_0 keeps f16 for rows that are not a multiple of 32\n"
                 "  --name N    general.name (default: from the folder's name)\n"
                 "  --quiet     no progress on stderr\n");
    return code;
}

int main(int argc, char** argv) {
    std::string in, out;
    r1::convert::Options options;
    bool quiet = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") return usage(stdout, 0);
        if ((a == "--type" || a == "--outtype" || a == "--name") && i + 1 < argc) {
            (a == "--name" ? options.name : options.type) = argv[++i];
        } else if (a == "--quiet" || a == "-q") {
            quiet = true;
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "r1 convert: error: unknown or incomplete option '%s'\n\n", a.c_str());
            return usage(stderr, 1);
        } else if (in.empty()) {
            in = a;
        } else if (out.empty()) {
            out = a;
        } else {
            std::fprintf(stderr, "r1 convert: error: unexpected argument '%s'\n\n", a.c_str());
            return usage(stderr, 1);
        }
    }
    if (in.empty() || out.empty()) {
        std::fprintf(stderr, "r1 convert: error: HF_DIR and OUT.gguf are required\n\n");
        return usage(stderr, 1);
    }
    if (!quiet && isatty(2))
        options.progress = [](size_t done, size_t total, const std::string& name) {
            std::fprintf(stderr, "\r[%zu/%zu] %-40s", done, total, name.c_str());
            if (done == total) std::fputc('\n', stderr);
            return true;
        };
    try {
        const r1::convert::Report r = r1::convert::convert_model(in, out, options);
        if (!quiet)
            std::fprintf(stderr, "wrote %s: %s, %zu tensors, %llu parameters, vocabulary %lld (pre-tokenizer %s)\n",
                         out.c_str(), r.architecture.c_str(), r.tensors.size(), (unsigned long long)r.n_params,
                         (long long)r.n_vocab, r.pre_tokenizer.c_str());
    } catch (const r1::Error& e) {
        std::fprintf(stderr, "%sr1 convert: error: %s\n", quiet ? "" : "\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "r1 convert: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
