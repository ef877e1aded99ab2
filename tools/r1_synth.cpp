// r1-synth: writes a random-weight model with the exact shapes of an R1 distill (for tests and benchmarks).
//
//     r1-synth --preset qwen2-1.5b --type Q4_K_M --vocab ../shared/fixtures/tokenizer/r1-distill-qwen.vocab.gguf \
//              -o qwen2-1.5b-Q4_K_M.gguf
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

#include "../src/error.h"
#include "synth/synth.h"

static int usage(int code) {
    std::printf(
        "usage: r1-synth (--preset NAME | --arch A --embd N --layers N --heads N --kv-heads N --ff N --vocab-size N)\n"
        "                [--type TYPE] [--vocab FILE.gguf] [--seed S] [--tied] [--threads N] -o OUT.gguf\n\n"
        "Writes a GGUF model of random weights. Presets:");
    for (const std::string& p : r1::synth::preset_names()) std::printf(" %s", p.c_str());
    std::printf("\nTYPE: any target of `r1 quantize` (F32 (default), F16, BF16, Q8_0, Q4_0, ..., Q4_K_M, IQ4_XS); each\n"
                "tensor gets the type llama-quantize would give it (Q2_K..Q5_K are mixes, as there).\n"
                "--vocab copies the tokenizer (and chat template) of another GGUF; its size replaces the preset's.\n");
    return code;
}

int main(int argc, char** argv) {
    r1::synth::Spec spec;
    std::string out;
    int threads = 0;
    try {
        for (int i = 1; i < argc; ++i) {
            std::string a = argv[i];
            auto value = [&]() -> std::string {
                if (i + 1 >= argc) {
                    std::fprintf(stderr, "r1-synth: error: %s needs a value\n", a.c_str());
                    std::exit(1);
                }
                return argv[++i];
            };
            if (a == "-h" || a == "--help") return usage(0);
            else if (a == "--preset") {
                std::string type = spec.type, vocab = spec.vocab_from;
                uint64_t seed = spec.seed;
                spec = r1::synth::preset(value());
                spec.type = type;
                spec.vocab_from = vocab;
                spec.seed = seed;
            } else if (a == "--arch") spec.arch = value();
            else if (a == "--embd") spec.n_embd = std::atoll(value().c_str());
            else if (a == "--layers") spec.n_layers = std::atoll(value().c_str());
            else if (a == "--heads") spec.n_heads = std::atoll(value().c_str());
            else if (a == "--kv-heads") spec.n_kv_heads = std::atoll(value().c_str());
            else if (a == "--head-dim") spec.head_dim = std::atoll(value().c_str());
            else if (a == "--ff") spec.n_ff = std::atoll(value().c_str());
            else if (a == "--vocab-size") spec.n_vocab = std::atoll(value().c_str());
            else if (a == "--type") spec.type = value();
            else if (a == "--vocab") spec.vocab_from = value();
            else if (a == "--seed") spec.seed = std::strtoull(value().c_str(), nullptr, 10);
            else if (a == "--tied") spec.tied_output = true;
            else if (a == "--threads") threads = std::atoi(value().c_str());
            else if (a == "-o" || a == "--out") out = value();
            else {
                std::fprintf(stderr, "r1-synth: error: unknown option %s\n", a.c_str());
                return usage(1);
            }
        }
        if (out.empty()) {
            std::fprintf(stderr, "r1-synth: error: -o OUT.gguf is required\n");
            return 1;
        }
        // Progress only on a terminal; a log gets one line at the end.
        const bool tty = isatty(STDERR_FILENO) != 0;
        int last = -1;
        r1::synth::write_model(spec, out, threads, [&](float p) {
            int pct = int(p * 100);
            if (tty && pct != last) {
                std::fprintf(stderr, "\rwriting %s %3d%%", out.c_str(), pct);
                last = pct;
            }
            return true;
        });
        if (tty) std::fprintf(stderr, "\n");
        else std::fprintf(stderr, "wrote %s\n", out.c_str());
    } catch (const r1::Error& e) {
        std::fprintf(stderr, "\nr1-synth: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
