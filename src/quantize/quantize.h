// The quantizer: rewrites a GGUF model with the tensor types of a target, as llama.cpp's llama-quantize does.
//
//     quantize::Options o;
//     o.target = quantize::find_target("Q4_K_M");
//     quantize::quantize_file("model-f16.gguf", "model-q4_k_m.gguf", o);
//
// Types come from rules.h. Metadata is copied in order, then general.quantization_version (2) and
// general.file_type are appended (split.* keys are dropped); tensors are written in the reference's order. Data
// streams tensor by tensor and batch of rows by batch of rows: memory stays at a few batches, whatever the size
// of the model. Rows are quantized on n_threads threads with the reference quantizers of backends/cpu/quants,
// so a tensor of the same source values and type has the same bytes as llama-quantize writes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rules.h"

namespace r1 {
class Log;
}

namespace r1::quantize {

struct Options {
    const Target* target = nullptr;   // required
    int n_threads = 0;                // 0: the number of hardware threads
    bool allow_requantize = false;    // accept quantized source tensors (dequantized first, with a warning)
    // Called on the calling thread with the fraction done; return false to cancel (R1_ERR_CANCELLED).
    std::function<bool(float)> progress;
    const Log* log = nullptr;         // optional
};

// One output tensor as planned: its name, shape and source/target types, in output order.
struct PlannedTensor {
    std::string name;
    int n_dims = 0;                   // dimensions written (trailing 1s dropped, as ggml writes them)
    int64_t ne[4] = {1, 1, 1, 1};
    DType source_type = DType::F32;
    Choice choice;
};

// The tensors of `file` in output order with their chosen types (no data is read). Throws r1::Error.
std::vector<PlannedTensor> plan(const gguf::File& file, const Target& target);

// Quantizes in_path into out_path. The output is written to a temporary file next to out_path and renamed at the
// end, so that a failure or cancellation leaves no partial file (and an existing out_path untouched). Throws
// r1::Error: R1_ERR_IO, R1_ERR_FORMAT (not a GGUF file; NaN or infinite weights), R1_ERR_UNSUPPORTED (quantized
// source without allow_requantize, a split model, a type r1 cannot convert), R1_ERR_CANCELLED,
// R1_ERR_OUT_OF_MEMORY, R1_ERR_INVALID_ARGUMENT.
void quantize_file(const std::string& in_path, const std::string& out_path, const Options& options);

}  // namespace r1::quantize
