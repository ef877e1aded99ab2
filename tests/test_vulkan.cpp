// The Vulkan backend against the CPU scalar reference.
//
// Runs on Mesa's lavapipe by default (set up below, before the backend registry starts), with the Khronos
// validation layer and synchronization validation on: every warning or error the layer reports fails the test.
// On a machine with a real GPU, set R1_VULKAN_TEST_REAL_DEVICE=1 (scripts/device-check.sh does) and optionally
// R1_VULKAN_TEST_DEVICE=<index>.
//
//  1. every operation x every type x several shapes (odd row counts, batches 1, 2, 7, 9, 64) on fresh random
//     inputs, against the CPU backend opened with the scalar kernels (cpu_isa = 1) and exact math; also with the
//     device's fp16 / int8-dot / subgroup paths switched off (R1_VULKAN_DISABLE), so the fallbacks are tested;
//  2. tensors larger than one descriptor can bind (lavapipe: 128 MiB): weights split in chunks, views split in
//     pieces of rows;
//  3. the fixture models end to end (../shared/fixtures/models, as tests/test_forward.cpp does for the CPU);
//  4. partial offload (the first layers on the CPU), session state saved from the device and restored;
//  5. r1-tiny's 200 held-out problems through Vulkan (the CPU's accuracy bound);
//  6. cancellation from another thread during a long eval; two sessions on one model from two threads.
//
// Error bounds: DESIGN.md section 8 lets a GPU be ten times looser than the CPU's bounds (tests/test_cpu_kernels.cpp
// and tests/test_forward.cpp); each check names the bound it applies.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../backends/cpu/quants/fp16.h"
#include "../backends/cpu/quants/quants.h"
#include "backend/registry.h"
#include "dtype.h"
#include "error.h"
#include "model/model.h"
#include "session/session.h"
#include "r1_tiny.h"
#include "test_util.h"
#if defined(R1_WITH_VULKAN)
#include "../backends/vulkan/vulkan_backend.h"
#endif

using r1::DType;

namespace {

bool file_exists(const char* path) {
    struct stat st;
    return stat(path, &st) == 0;
}

// The test environment, set before main() and therefore before the backend registry initialises.
struct Environment {
    Environment() {
        const char* real = std::getenv("R1_VULKAN_TEST_REAL_DEVICE");
        if (!(real && *real && std::strcmp(real, "0") != 0)) {
            const char* lavapipe = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";
            if (file_exists(lavapipe)) {
                setenv("VK_DRIVER_FILES", lavapipe, 0);
                setenv("VK_ICD_FILENAMES", lavapipe, 0);  // loaders older than 1.3.207
            }
            setenv("MESA_SHADER_CACHE_DISABLE", "true", 0);
        }
        setenv("R1_VULKAN_VALIDATION", "1", 0);
    }
} g_environment;

const r1::BackendEntry* vulkan_entry() { return r1::Registry::instance().find("vulkan"); }

int32_t test_device_index() {
    const char* v = std::getenv("R1_VULKAN_TEST_DEVICE");
    return v && *v ? int32_t(std::atoi(v)) : 0;
}

// The Vulkan backend with a device, or a message saying why the case is skipped.
bool have_vulkan() {
    const r1::BackendEntry* e = vulkan_entry();
    if (!e) {
        MESSAGE("SKIPPED: this build has no Vulkan backend (configure with -DR1_WITH_VULKAN=ON)");
        return false;
    }
#if !defined(R1_WITH_VULKAN)
    FAIL("the Vulkan backend is built in but test_vulkan was compiled without R1_WITH_VULKAN (tests/CMakeLists.txt)");
    return false;
#endif
    if (!e->ctx || int32_t(e->devices.size()) <= test_device_index()) {
        MESSAGE("SKIPPED: no Vulkan device: " << (e->ctx ? std::string("none found") : e->init_message));
        return false;
    }
    return true;
}

// Fails on any validation message recorded since the last call.
void check_validation(const char* where) {
#if defined(R1_WITH_VULKAN)
    const r1::BackendEntry* e = vulkan_entry();
    if (!e || !e->ctx) return;
    static size_t seen = 0;
    const std::vector<std::string> messages = r1::vulkan::validation_messages(e->ctx);
    for (size_t i = seen; i < messages.size() && i < seen + 10; ++i) MESSAGE(where << ": " << messages[i]);
    CHECK_MESSAGE(messages.size() == seen, where << ": " << messages.size() - seen << " validation message(s)");
    seen = messages.size();
#else
    (void)where;
#endif
}

// ---------------------------------------------------------------------------------------------------------------
// Two backends side by side: the CPU scalar reference (side 0) and the Vulkan device (side 1)
// ---------------------------------------------------------------------------------------------------------------

struct Side {
    const r1b_backend_iface* api = nullptr;
    r1b_device* dev = nullptr;
    r1b_stream* stream = nullptr;
    std::vector<r1b_buffer*> buffers;
    std::vector<r1b_weight*> weights;

    ~Side() {
        if (!api) return;
        for (r1b_weight* w : weights) api->weight_free(dev, w);
        for (r1b_buffer* b : buffers) api->buffer_free(dev, b);
        if (stream) api->stream_destroy(stream);
        if (dev) api->device_close(dev);
    }
    bool open(const r1::BackendEntry* e, int32_t index, int32_t cpu_isa, bool exact) {
        api = e->iface;
        r1b_device_params p;
        std::memset(&p, 0, sizeof p);
        p.struct_size = sizeof p;
        p.cpu_isa = cpu_isa;
        p.exact_math = exact ? 1 : 0;
        if (api->device_open(e->ctx, index, &p, &dev) != R1_OK) return false;
        r1b_stream_params sp;
        std::memset(&sp, 0, sizeof sp);
        sp.struct_size = sizeof sp;
        sp.n_threads = 1;
        return api->stream_create(dev, &sp, &stream) == R1_OK;
    }
};

struct Buf {
    r1b_buffer* b[2] = {nullptr, nullptr};
    uint64_t size = 0;
};

struct Wt {
    r1b_weight* w[2] = {nullptr, nullptr};
};

struct Pair {
    Side side[2];
    bool ok = false;

    // exact: the Vulkan device's exact_math. disable: R1_VULKAN_DISABLE while the device opens.
    explicit Pair(bool exact, const char* disable = nullptr) {
        const r1::BackendEntry* cpu = r1::Registry::instance().find("cpu");
        if (disable) setenv("R1_VULKAN_DISABLE", disable, 1);
        ok = side[0].open(cpu, 0, 1, true) && side[1].open(vulkan_entry(), test_device_index(), 0, exact);
        if (disable) unsetenv("R1_VULKAN_DISABLE");
        REQUIRE_MESSAGE(ok, "cannot open the CPU and Vulkan devices");
    }

    Buf buffer(uint64_t size, const void* init = nullptr) {
        Buf b;
        b.size = size;
        std::vector<uint8_t> zeros;
        if (!init) {
            zeros.assign(size_t(size), 0);
            init = zeros.data();
        }
        for (int s = 0; s < 2; ++s) {
            REQUIRE(side[s].api->buffer_alloc(side[s].dev, size, R1B_BUFFER_SCRATCH, &b.b[s]) == R1_OK);
            side[s].buffers.push_back(b.b[s]);
            REQUIRE(side[s].api->upload(side[s].stream, b.b[s], 0, init, size) == R1_OK);
            REQUIRE(side[s].api->synchronize(side[s].stream) == R1_OK);
        }
        return b;
    }
    Buf floats(const std::vector<float>& v) { return buffer(v.size() * 4, v.data()); }

    Wt weight(DType type, int64_t rows, int64_t cols, const std::vector<uint8_t>& data, uint32_t flags = 0) {
        Wt w;
        for (int s = 0; s < 2; ++s) {
            REQUIRE(side[s].api->weight_create(side[s].dev, int32_t(type), rows, cols, data.data(), flags, &w.w[s]) == R1_OK);
            side[s].weights.push_back(w.w[s]);
        }
        return w;
    }

    // Runs the ops that make(side) builds on both sides.
    void run(const std::function<std::vector<r1b_op>(int)>& make) {
        for (int s = 0; s < 2; ++s) {
            std::vector<r1b_op> ops = make(s);
            const r1_status st = side[s].api->submit(side[s].stream, ops.data(), ops.size());
            const r1_status sync = side[s].api->synchronize(side[s].stream);
            REQUIRE_MESSAGE(st == R1_OK, std::string(s ? "vulkan" : "cpu") << " submit: " << std::string(r1_status_string(st)));
            REQUIRE_MESSAGE(sync == R1_OK, std::string(s ? "vulkan" : "cpu") << " synchronize: " << std::string(r1_status_string(sync)));
        }
    }

    std::vector<uint8_t> bytes(const Buf& b, int s, uint64_t offset = 0, uint64_t size = 0) {
        if (!size) size = b.size - offset;
        std::vector<uint8_t> out(static_cast<size_t>(size));
        REQUIRE(side[s].api->download(side[s].stream, b.b[s], offset, out.data(), size) == R1_OK);
        REQUIRE(side[s].api->synchronize(side[s].stream) == R1_OK);
        return out;
    }
    std::vector<float> floats_of(const Buf& b, int s) {
        std::vector<uint8_t> raw = bytes(b, s);
        std::vector<float> out(raw.size() / 4);
        std::memcpy(out.data(), raw.data(), out.size() * 4);
        return out;
    }
};

r1b_view view(const Buf& b, int s, uint64_t offset, DType type, int64_t rows, int64_t cols, uint64_t stride = 0) {
    r1b_view v;
    std::memset(&v, 0, sizeof v);
    v.buffer = b.b[s];
    v.offset = offset;
    v.type = int32_t(type);
    v.rows = rows;
    v.cols = cols;
    v.row_stride = stride ? stride : r1::dtype_row_bytes(type, uint64_t(cols));
    return v;
}

r1b_op make_op(r1b_op_kind kind) {
    r1b_op op;
    std::memset(&op, 0, sizeof op);
    op.kind = kind;
    return op;
}

// ---------------------------------------------------------------------------------------------------------------
// Data and comparisons
// ---------------------------------------------------------------------------------------------------------------

std::vector<float> randn(std::mt19937& rng, size_t n, float scale = 1.0f) {
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// Rows of random values encoded in `type` (valid blocks for every format).
std::vector<uint8_t> encode(DType type, const std::vector<float>& values, int64_t rows, int64_t cols) {
    const uint64_t rb = r1::dtype_row_bytes(type, uint64_t(cols));
    std::vector<uint8_t> out(size_t(rb * uint64_t(rows)));
    for (int64_t r = 0; r < rows; ++r)
        REQUIRE(r1::cpu::quantize_row(type, values.data() + r * cols, out.data() + uint64_t(r) * rb, cols));
    return out;
}

std::vector<float> decode(DType type, const uint8_t* data, int64_t rows, int64_t cols, uint64_t stride = 0) {
    if (!stride) stride = r1::dtype_row_bytes(type, uint64_t(cols));
    std::vector<float> out(size_t(rows * cols));
    for (int64_t r = 0; r < rows; ++r)
        REQUIRE(r1::cpu::dequantize_row(type, data + uint64_t(r) * stride, out.data() + r * cols, cols));
    return out;
}

struct Diff {
    double rel_l2 = 0, max_abs = 0, max_ref = 0;
};

Diff compare(const float* got, const float* ref, size_t n) {
    Diff d;
    double num = 0, den = 0;
    for (size_t i = 0; i < n; ++i) {
        const double e = double(got[i]) - double(ref[i]);
        num += e * e;
        den += double(ref[i]) * double(ref[i]);
        d.max_abs = std::max(d.max_abs, std::fabs(e));
        d.max_ref = std::max(d.max_ref, std::fabs(double(ref[i])));
        if (std::isnan(got[i]) != std::isnan(ref[i])) d.max_abs = INFINITY;
    }
    d.rel_l2 = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    return d;
}

// The largest normalized error seen per check family, reported at the end of the suite.
struct Worst {
    std::string name;
    double value = 0;
};
std::vector<Worst>& worst_table() {
    static std::vector<Worst> table;
    return table;
}
void note(const std::string& name, double value) {
    for (Worst& w : worst_table())
        if (w.name == name) {
            w.value = std::max(w.value, value);
            return;
        }
    worst_table().push_back({name, value});
}

const DType kWeightTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0,
                              DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K,
                              DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_NL, DType::IQ4_XS};
const DType kKvTypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0};

bool is_float_type(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

// Type names as std::string: doctest prints a `const char*` in a message as a pointer.
std::string tname(DType t) { return r1::dtype_name(uint32_t(t)); }

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Matmul
// ---------------------------------------------------------------------------------------------------------------

namespace {

// One matmul on both sides; every output checked against the CPU's exact result (float64 sums of dequantized
// weights times float activations) with the bound of the path the device takes:
//   float path: 10 x the CPU kernels' bound, (K/16 + 16) * 2^-22 * sum|w*x|  (tests/test_cpu_kernels.cpp)
//   8-bit activations (quantized weights, more than 8 tokens, fast path): + sum_k |w_k| * max|x_block(k)| / 254,
//     the largest effect of rounding each activation to its block's step (max/127) on the exact sum
//   fp16 (F16 weights, more than 8 tokens, fast path): + 4e-3 * sum|w*x| (activations and products rounded to
//     fp16, runs of 8 products summed in fp16: at most 10 roundings of 2^-12)
// Returns the largest error as a fraction of its bound.
double check_matmul(Pair& P, DType type, int64_t rows, int64_t cols, int64_t n, bool bias, bool fast,
                    std::mt19937& rng) {
    const std::vector<float> wv = randn(rng, size_t(rows * cols));
    const std::vector<uint8_t> wb = encode(type, wv, rows, cols);
    const std::vector<float> wd = decode(type, wb.data(), rows, cols);
    // Strided activations and outputs: rows padded by 4 floats.
    const int64_t xs = cols + 4, ys = rows + 4;
    std::vector<float> x = randn(rng, size_t(n * xs));
    std::vector<float> b = randn(rng, size_t(rows));
    Wt w = P.weight(type, rows, cols, wb);
    Wt bw;
    if (bias) {
        std::vector<uint8_t> raw(size_t(rows) * 4);
        std::memcpy(raw.data(), b.data(), raw.size());
        bw = P.weight(DType::F32, 1, rows, raw);
    }
    Buf bx = P.floats(x), by = P.buffer(uint64_t(n * ys) * 4);
    P.run([&](int s) {
        r1b_op op = make_op(R1B_OP_MATMUL);
        op.src[0] = view(bx, s, 0, DType::F32, n, cols, uint64_t(xs) * 4);
        op.dst = view(by, s, 0, DType::F32, n, rows, uint64_t(ys) * 4);
        op.weight = w.w[s];
        op.bias = bias ? bw.w[s] : nullptr;
        return std::vector<r1b_op>{op};
    });
    const std::vector<float> ref = P.floats_of(by, 0), got = P.floats_of(by, 1);
    const bool q8 = fast && n > 8 && !is_float_type(type);
    const bool fp16 = fast && n > 8 && type == DType::F16;
    double worst = 0, num = 0, den = 0;
    int bad = 0;
    for (int64_t t = 0; t < n; ++t) {
        // Largest |x| of each 32-value block of this token's row.
        std::vector<double> amax(size_t(cols + 31) / 32, 0.0);
        for (int64_t k = 0; k < cols; ++k)
            amax[size_t(k / 32)] = std::max(amax[size_t(k / 32)], std::fabs(double(x[size_t(t * xs + k)])));
        for (int64_t r = 0; r < rows; ++r) {
            double sum_abs = 0, sum_w_step = 0;
            for (int64_t k = 0; k < cols; ++k) {
                const double wk = wd[size_t(r * cols + k)];
                sum_abs += std::fabs(wk * double(x[size_t(t * xs + k)]));
                sum_w_step += std::fabs(wk) * amax[size_t(k / 32)] / 254.0;
            }
            double bound = 10.0 * (double(cols) / 16.0 + 16.0) * std::ldexp(1.0, -22) * sum_abs;
            if (bias) bound += 10.0 * std::ldexp(1.0, -22) * std::fabs(double(b[size_t(r)]));
            if (q8) bound += 1.05 * sum_w_step;
            if (fp16) bound += 4e-3 * sum_abs;
            const size_t i = size_t(t * ys + r);
            const double e = std::fabs(double(got[i]) - double(ref[i]));
            num += e * e;
            den += double(ref[i]) * double(ref[i]);
            const double ratio = bound > 0 ? e / bound : (e > 0 ? INFINITY : 0);
            if (!(ratio <= 1.0) && bad++ < 3)
                MESSAGE("  [" << t << "][" << r << "] vulkan " << got[i] << " cpu " << ref[i] << " bound " << bound);
            worst = std::max(worst, std::isnan(ratio) ? INFINITY : ratio);
        }
    }
    const std::string path = q8 ? "int8" : fp16 ? "fp16" : "f32";
    note("matmul " + path + " rel L2 (" + std::string(tname((type))) + ")", std::sqrt(num / den));
    return worst;
}

// Column counts that fit a type's blocks: one odd (not a multiple of 16 for float types) and one larger.
std::vector<int64_t> test_cols(DType type) {
    const uint32_t block = r1::traits(type).block_elements;
    if (block == 1) return {67, 256};
    if (block == 32) return {96, 512};
    return {256, 512};
}

// The shapes of one type: both column counts with batches of 1, 2, 7, 9 and 64 tokens. The fallback shaders
// (disable set) take fewer, enough for each of their code paths (one token, several tokens with a bias, a batch
// on each column count): lavapipe compiles every pipeline when first dispatched, about a second each, and the
// full set would double the suite's time for shaders that differ from the fast ones only in their reductions.
std::vector<std::pair<int64_t, int64_t>> matmul_shapes(DType type, bool fallbacks) {
    const std::vector<int64_t> cols = test_cols(type);
    if (fallbacks) return {{cols[0], 1}, {cols[0], 64}, {cols[1], 7}, {cols[1], 9}};
    std::vector<std::pair<int64_t, int64_t>> out;
    for (int64_t c : cols)
        for (int64_t n : {1, 2, 7, 9, 64}) out.push_back({c, n});
    return out;
}

void matmul_suite(bool exact, const char* disable) {
    Pair P(!exact ? false : true, disable);
    std::mt19937 rng(exact ? 1234 : 4321);
    for (DType type : kWeightTypes) {
        for (const auto& shape : matmul_shapes(type, disable != nullptr)) {
            const int64_t cols = shape.first, n = shape.second;  // plain names: doctest's macros capture them
            const int64_t rows = n == 2 ? 1 : (cols > 200 ? 67 : 130);  // odd row counts, one single row
            const bool bias = n % 2 == 1;
            const double worst = check_matmul(P, type, rows, cols, n, bias, !exact, rng);
            CHECK_MESSAGE(worst <= 1.0, tname(type) << " " << rows << "x" << cols << " x " << n << " tokens: error "
                                                    << worst << " x its bound" << std::string(exact ? " (exact)" : "")
                                                    << std::string(disable ? " without " : "")
                                                    << std::string(disable ? disable : ""));
            note(std::string("matmul error / bound") + (exact ? " exact" : " fast") + (disable ? " fallbacks" : ""),
                 worst);
        }
    }
    check_validation("matmul");
}

}  // namespace

TEST_CASE("vulkan: matmul of every weight type, exact math") {
    if (!have_vulkan()) return;
    matmul_suite(true, nullptr);
}

TEST_CASE("vulkan: matmul of every weight type, fast path (8-bit activations, fp16, int8 dot products)") {
    if (!have_vulkan()) return;
    matmul_suite(false, nullptr);
}

TEST_CASE("vulkan: matmul fallbacks without fp16, integer dot products or subgroup operations") {
    if (!have_vulkan()) return;
    matmul_suite(false, "fp16,intdot,subgroup");
}

// ---------------------------------------------------------------------------------------------------------------
// The other operations
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("vulkan: embed rows of every weight type, bit-exact") {
    if (!have_vulkan()) return;
    Pair P(false);
    std::mt19937 rng(7);
    for (DType type : kWeightTypes)
        for (int64_t cols : test_cols(type))
            for (int64_t T : {1, 7}) {
                const int64_t rows = 53;
                const std::vector<uint8_t> table = encode(type, randn(rng, size_t(rows * cols)), rows, cols);
                Wt w = P.weight(type, rows, cols, table, R1B_WEIGHT_ROWS);
                std::vector<int32_t> ids(static_cast<size_t>(T));
                for (int64_t t = 0; t < T; ++t) ids[size_t(t)] = int32_t(t == 0 ? rows - 1 : (t * 17 + 3) % rows);
                Buf bi = P.buffer(uint64_t(T) * 4, ids.data()), by = P.buffer(uint64_t(T * cols) * 4);
                P.run([&](int s) {
                    r1b_op op = make_op(R1B_OP_EMBED);
                    op.src[0] = view(bi, s, 0, DType::I32, T, 1);
                    op.dst = view(by, s, 0, DType::F32, T, cols);
                    op.weight = w.w[s];
                    return std::vector<r1b_op>{op};
                });
                const std::vector<uint8_t> ref = P.bytes(by, 0), got = P.bytes(by, 1);
                CHECK_MESSAGE(ref == got, "embed " << tname((type)) << " cols " << cols << " T " << T);
            }
    check_validation("embed");
}

TEST_CASE("vulkan: an id outside the vocabulary is an error") {
    if (!have_vulkan()) return;
    Pair P(false);
    std::mt19937 rng(8);
    const std::vector<uint8_t> table = encode(DType::F32, randn(rng, 10 * 32), 10, 32);
    Wt w = P.weight(DType::F32, 10, 32, table, R1B_WEIGHT_ROWS);
    const int32_t ids[2] = {3, 10};
    Buf bi = P.buffer(8, ids), by = P.buffer(2 * 32 * 4);
    Side& g = P.side[1];
    r1b_op op = make_op(R1B_OP_EMBED);
    op.src[0] = view(bi, 1, 0, DType::I32, 2, 1);
    op.dst = view(by, 1, 0, DType::F32, 2, 32);
    op.weight = w.w[1];
    const r1_status st = g.api->submit(g.stream, &op, 1);
    const r1_status sync = g.api->synchronize(g.stream);
    CHECK((st != R1_OK || sync != R1_OK));
    CHECK(g.api->synchronize(g.stream) == R1_OK);  // the error was delivered once; the stream works again
    check_validation("embed out of range");
}

namespace {

// Per-element check |got - ref| <= rel * |ref| + abs_floor; records the worst relative error.
void check_close(const std::vector<float>& got, const std::vector<float>& ref, double rel, double abs_floor,
                 const std::string& what) {
    REQUIRE(got.size() == ref.size());
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double e = std::fabs(double(got[i]) - double(ref[i]));
        const double allowed = rel * std::fabs(double(ref[i])) + abs_floor;
        worst = std::max(worst, e / (std::fabs(double(ref[i])) + abs_floor));
        if (!(e <= allowed) && bad++ < 3) MESSAGE("  " << what << " [" << i << "] vulkan " << got[i] << " cpu " << ref[i]);
    }
    CHECK_MESSAGE(bad == 0, what << ": " << bad << " values outside the bound");
    note(what.substr(0, what.find(' ')) + " max relative error", worst);
}

}  // namespace

TEST_CASE("vulkan: rms_norm, softmax, add and silu_mul") {
    if (!have_vulkan()) return;
    Pair P(false);
    std::mt19937 rng(9);
    for (int64_t rows : {1, 7, 64})
        for (int64_t cols : {64, 129, 1536}) {
            const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);
            const int64_t stride = cols + 3;  // padded rows
            std::vector<float> a = randn(rng, size_t(rows * stride), 3.0f), b = randn(rng, size_t(rows * stride));
            std::vector<float> nw = randn(rng, size_t(cols), 0.2f);
            for (float& v : nw) v += 1.0f;
            std::vector<uint8_t> nwb(nw.size() * 4);
            std::memcpy(nwb.data(), nw.data(), nwb.size());
            Wt w = P.weight(DType::F32, 1, cols, nwb);
            const uint64_t bytes = uint64_t(rows * stride) * 4;
            // rms_norm with and without weight (CPU bound 4e-6 relative per value; the GPU gets 4e-5).
            for (bool weighted : {true, false}) {
                Buf bx = P.floats(a), by = P.buffer(bytes);
                P.run([&](int s) {
                    r1b_op op = make_op(R1B_OP_RMS_NORM);
                    op.src[0] = view(bx, s, 0, DType::F32, rows, cols, uint64_t(stride) * 4);
                    op.dst = view(by, s, 0, DType::F32, rows, cols, uint64_t(stride) * 4);
                    op.weight = weighted ? w.w[s] : nullptr;
                    op.eps = 1e-6f;
                    return std::vector<r1b_op>{op};
                });
                check_close(P.floats_of(by, 1), P.floats_of(by, 0), 4e-5, 1e-30, "rms_norm " + shape);
            }
            // In place, then softmax in place, add into a, silu_mul into b (one submission: barriers between).
            Buf ba = P.floats(a), bb = P.floats(b);
            P.run([&](int s) {
                const r1b_view va = view(ba, s, 0, DType::F32, rows, cols, uint64_t(stride) * 4);
                const r1b_view vb = view(bb, s, 0, DType::F32, rows, cols, uint64_t(stride) * 4);
                r1b_op n = make_op(R1B_OP_RMS_NORM);
                n.src[0] = n.dst = va;
                n.weight = w.w[s];
                n.eps = 1e-5f;
                r1b_op add = make_op(R1B_OP_ADD);
                add.src[0] = va;
                add.src[1] = vb;
                add.dst = va;
                r1b_op silu = make_op(R1B_OP_SILU_MUL);
                silu.src[0] = va;
                silu.src[1] = vb;
                silu.dst = vb;
                return std::vector<r1b_op>{n, add, silu};
            });
            // The inputs of add and silu_mul went through rms_norm first: a sum that cancels magnifies the norm's
            // rounding, so these errors are bounded against the tensor's scale as well.
            const std::vector<float> ra = P.floats_of(ba, 0), rb = P.floats_of(bb, 0);
            const Diff da = compare(ra.data(), ra.data(), ra.size()), db = compare(rb.data(), rb.data(), rb.size());
            check_close(P.floats_of(ba, 1), ra, 4e-5, 4e-6 * da.max_ref, "add " + shape);
            check_close(P.floats_of(bb, 1), rb, 4e-5, 4e-6 * db.max_ref, "silu_mul " + shape);
            // softmax (CPU bound 1e-5 relative; the GPU gets 1e-4), in place and scaled.
            Buf bs = P.floats(a);
            P.run([&](int s) {
                r1b_op op = make_op(R1B_OP_SOFTMAX);
                op.src[0] = op.dst = view(bs, s, 0, DType::F32, rows, cols, uint64_t(stride) * 4);
                op.scale = 0.7f;
                return std::vector<r1b_op>{op};
            });
            check_close(P.floats_of(bs, 1), P.floats_of(bs, 0), 1e-4, 1e-30, "softmax " + shape);
        }
    // Per-head norms: a [T][heads * 128] tensor viewed as T * heads rows of 128.
    {
        const int64_t T = 7, heads = 12, hd = 128;
        std::vector<float> q = randn(rng, size_t(T * heads * hd));
        std::vector<float> nw = randn(rng, size_t(hd), 0.1f);
        std::vector<uint8_t> nwb(nw.size() * 4);
        std::memcpy(nwb.data(), nw.data(), nwb.size());
        Wt w = P.weight(DType::F32, 1, hd, nwb);
        Buf bq = P.floats(q);
        P.run([&](int s) {
            r1b_op op = make_op(R1B_OP_RMS_NORM);
            op.src[0] = op.dst = view(bq, s, 0, DType::F32, T * heads, hd);
            op.weight = w.w[s];
            op.eps = 1e-6f;
            return std::vector<r1b_op>{op};
        });
        check_close(P.floats_of(bq, 1), P.floats_of(bq, 0), 4e-5, 1e-30, "rms_norm per head");
    }
    check_validation("rows and elementwise");
}

TEST_CASE("vulkan: rope, both layouts, with frequency factors and long positions") {
    if (!have_vulkan()) return;
    Pair P(false);
    std::mt19937 rng(10);
    struct Case {
        bool neox;
        int heads, head_dim, n_rot;
        bool factors;
        float base, scale;
    };
    for (const Case& c : {Case{true, 12, 128, 128, false, 10000.0f, 1.0f}, Case{false, 4, 128, 128, true, 500000.0f, 1.0f},
                          Case{true, 2, 64, 32, false, 1000000.0f, 0.25f}, Case{false, 3, 8, 8, false, 10000.0f, 1.0f}})
        for (int64_t rows : {1, 7, 64})
            for (int64_t pos0 : {0, 4090, 100000}) {
                const int64_t cols = int64_t(c.heads) * c.head_dim;
                std::vector<float> x = randn(rng, size_t(rows * cols));
                std::vector<float> f(size_t(c.n_rot / 2));
                for (size_t i = 0; i < f.size(); ++i) f[i] = 1.0f + 7.0f * float(i) / float(f.size());
                std::vector<uint8_t> fb(f.size() * 4);
                std::memcpy(fb.data(), f.data(), fb.size());
                Wt fw = P.weight(DType::F32, 1, int64_t(f.size()), fb);
                Buf bx = P.floats(x);
                P.run([&](int s) {
                    r1b_op op = make_op(R1B_OP_ROPE);
                    op.dst = view(bx, s, 0, DType::F32, rows, cols);
                    op.rope.n_heads = c.heads;
                    op.rope.head_dim = c.head_dim;
                    op.rope.n_rot = c.n_rot;
                    op.rope.mode = c.neox ? R1B_ROPE_NEOX : R1B_ROPE_INTERLEAVED;
                    op.rope.pos0 = pos0;
                    op.rope.freq_base = c.base;
                    op.rope.freq_scale = c.scale;
                    op.rope.freq_factors = c.factors ? fw.w[s] : nullptr;
                    return std::vector<r1b_op>{op};
                });
                // Rotations of unit-scale values: errors measured against the largest value (the CPU rounds the
                // same angles; sine and cosine differ by about an ulp of the reduced angle).
                const std::vector<float> ref = P.floats_of(bx, 0), got = P.floats_of(bx, 1);
                const Diff d = compare(got.data(), ref.data(), ref.size());
                note("rope max error / max value", d.max_abs / d.max_ref);
                CHECK_MESSAGE(d.max_abs <= 1e-4 * d.max_ref, "rope " << std::string(c.neox ? "neox" : "interleaved") << " rows " << rows
                                                                    << " pos0 " << pos0 << ": " << d.max_abs);
            }
    check_validation("rope");
}

TEST_CASE("vulkan: copy into and out of F32, F16, BF16 and Q8_0 caches") {
    if (!have_vulkan()) return;
    Pair P(false);
    std::mt19937 rng(11);
    for (DType src_type : kKvTypes)
        for (DType dst_type : kKvTypes)
            for (int64_t rows : {1, 7, 64}) {
                // Q8_0: three blocks, rows of 102 bytes; otherwise 33 values (F16 rows of 66 bytes). Either way some
                // rows start in the middle of a 32-bit word.
                const int64_t cols = (src_type == DType::Q8_0 || dst_type == DType::Q8_0) ? 96 : 33;
                const uint64_t src_row = r1::dtype_row_bytes(src_type, cols), dst_row = r1::dtype_row_bytes(dst_type, cols);
                // The destination is a cache of 80 rows; the rows land at row 5 of it, and everything else must stay.
                std::vector<uint8_t> src_bytes = encode(src_type, randn(rng, size_t(rows * cols)), rows, cols);
                std::vector<uint8_t> cache(size_t(dst_row * 80));
                for (uint8_t& c : cache) c = uint8_t(rng());
                Buf bs = P.buffer(src_bytes.size(), src_bytes.data()), bd = P.buffer(cache.size(), cache.data());
                P.run([&](int s) {
                    r1b_op op = make_op(R1B_OP_COPY);
                    op.src[0] = view(bs, s, 0, src_type, rows, cols);
                    op.dst = view(bd, s, 5 * dst_row, dst_type, rows, cols);
                    return std::vector<r1b_op>{op};
                });
                const std::vector<uint8_t> ref = P.bytes(bd, 0), got = P.bytes(bd, 1);
                const std::string what =
                    std::string("copy ") + tname((src_type)) + " -> " + tname((dst_type));
                const size_t lo = size_t(5 * dst_row), hi = size_t((5 + rows) * dst_row);
                CHECK_MESSAGE(std::equal(ref.begin(), ref.begin() + long(lo), got.begin()), what << ": bytes before the rows changed");
                CHECK_MESSAGE(std::equal(ref.begin() + long(hi), ref.end(), got.begin() + long(hi)), what << ": bytes after the rows changed");
                if (dst_type != DType::Q8_0) {
                    // Conversions to float formats are exact (round to nearest even, as the CPU).
                    CHECK_MESSAGE(std::equal(ref.begin() + long(lo), ref.begin() + long(hi), got.begin() + long(lo)), what);
                } else {
                    // Q8_0: d = max/127 and codes round(x/d); a GPU's division may move a code by one step.
                    const std::vector<float> r = decode(dst_type, ref.data() + lo, rows, cols);
                    const std::vector<float> g = decode(dst_type, got.data() + lo, rows, cols);
                    const std::vector<float> x = decode(src_type, src_bytes.data(), rows, cols);
                    int bad = 0;
                    for (size_t i = 0; i < r.size(); ++i) {
                        double amax = 0;
                        const size_t b0 = i / 32 * 32;
                        for (size_t j = b0; j < b0 + 32; ++j) amax = std::max(amax, std::fabs(double(x[j])));
                        if (!(std::fabs(double(g[i]) - double(r[i])) <= 1.01 * amax / 127.0)) ++bad;
                    }
                    CHECK_MESSAGE(bad == 0, what << ": " << bad << " values more than one step from the CPU's");
                    (void)src_row;
                }
            }
    check_validation("copy");
}

namespace {

// Attention over a cache filled with the same random bytes on both sides.
void check_attention(Pair& P, DType kv, int heads, int kv_heads, int hd, int64_t T, int64_t pos0, std::mt19937& rng) {
    const int64_t n_ctx = pos0 + T + 3;
    const int64_t kv_cols = int64_t(kv_heads) * hd, q_cols = int64_t(heads) * hd;
    const std::vector<uint8_t> k = encode(kv, randn(rng, size_t(n_ctx * kv_cols)), n_ctx, kv_cols);
    const std::vector<float> vvals = randn(rng, size_t(n_ctx * kv_cols));
    const std::vector<uint8_t> v = encode(kv, vvals, n_ctx, kv_cols);
    const std::vector<float> q = randn(rng, size_t(T * q_cols), 1.5f);
    Buf bk = P.buffer(k.size(), k.data()), bv = P.buffer(v.size(), v.data()), bq = P.floats(q);
    Buf bo = P.buffer(uint64_t(T * q_cols) * 4);
    const uint64_t kv_row = r1::dtype_row_bytes(kv, uint64_t(kv_cols));
    P.run([&](int s) {
        r1b_op op = make_op(R1B_OP_ATTENTION);
        op.src[0] = view(bq, s, 0, DType::F32, T, q_cols);
        op.src[1] = view(bk, s, 0, kv, pos0 + T, kv_cols, kv_row);
        op.src[2] = view(bv, s, 0, kv, pos0 + T, kv_cols, kv_row);
        op.dst = view(bo, s, 0, DType::F32, T, q_cols);
        op.attention.n_heads = heads;
        op.attention.n_kv_heads = kv_heads;
        op.attention.head_dim = hd;
        op.attention.pos0 = pos0;
        op.attention.scale = 1.0f / std::sqrt(float(hd));
        return std::vector<r1b_op>{op};
    });
    // Outputs are weighted means of the values: errors against the largest |value| (CPU bound 1e-5, GPU 1e-4).
    const std::vector<float> ref = P.floats_of(bo, 0), got = P.floats_of(bo, 1);
    const std::vector<float> vd = decode(kv, v.data(), n_ctx, kv_cols);
    double vmax = 0;
    for (float x : vd) vmax = std::max(vmax, std::fabs(double(x)));
    const Diff d = compare(got.data(), ref.data(), ref.size());
    note("attention max error / max |value|", d.max_abs / vmax);
    CHECK_MESSAGE(d.max_abs <= 1e-4 * vmax, "attention " << tname((kv)) << " " << heads << "/" << kv_heads
                                                         << " heads of " << hd << ", T " << T << ", pos0 " << pos0
                                                         << ": max error " << d.max_abs);
}

}  // namespace

TEST_CASE("vulkan: attention with grouped heads, causal mask and long contexts") {
    if (!have_vulkan()) return;
    Pair P(false);
    std::mt19937 rng(12);
    for (DType kv : kKvTypes) {
        for (int64_t T : {1, 7, 64})
            for (int64_t pos0 : {0, 5, 700}) check_attention(P, kv, 12, 2, 128, T, pos0, rng);
        check_attention(P, kv, 4, 4, 64, 2, 3, rng);
        check_attention(P, kv, 2, 1, 128, 1, 5000, rng);  // one token over a long context: split keys
        if (kv != DType::Q8_0) check_attention(P, kv, 8, 4, 8, 9, 20, rng);  // stories260K's tiny heads
    }
    check_validation("attention");
}

// ---------------------------------------------------------------------------------------------------------------
// Tensors larger than one descriptor can bind
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("vulkan: a weight larger than maxStorageBufferRange is split; huge views run in pieces") {
    if (!have_vulkan()) return;
    Pair P(true);
    std::mt19937 rng(13);
    // 139 MB of Q8_0 (more than lavapipe's 128 MiB range): rows 0 .. 31999 of 4096 values.
    const int64_t rows = 32000, cols = 4096;
    std::vector<uint8_t> table = encode(DType::Q8_0, randn(rng, size_t(rows * cols)), rows, cols);
    Wt w = P.weight(DType::Q8_0, rows, cols, table, R1B_WEIGHT_ROWS);
    {
        const int64_t n = 9;  // the tiled path
        std::vector<float> x = randn(rng, size_t(n * cols));
        Buf bx = P.floats(x), by = P.buffer(uint64_t(n * rows) * 4);
        P.run([&](int s) {
            r1b_op op = make_op(R1B_OP_MATMUL);
            op.src[0] = view(bx, s, 0, DType::F32, n, cols);
            op.dst = view(by, s, 0, DType::F32, n, rows);
            op.weight = w.w[s];
            return std::vector<r1b_op>{op};
        });
        const std::vector<float> ref = P.floats_of(by, 0), got = P.floats_of(by, 1);
        const Diff d = compare(got.data(), ref.data(), ref.size());
        note("split weight matmul rel L2", d.rel_l2);
        CHECK(d.rel_l2 <= 1e-5);
        // One token: the matrix-vector path over the same chunks.
        P.run([&](int s) {
            r1b_op op = make_op(R1B_OP_MATMUL);
            op.src[0] = view(bx, s, 0, DType::F32, 1, cols);
            op.dst = view(by, s, 0, DType::F32, 1, rows);
            op.weight = w.w[s];
            return std::vector<r1b_op>{op};
        });
        const std::vector<float> ref1 = P.floats_of(by, 0), got1 = P.floats_of(by, 1);
        const Diff d1 = compare(got1.data(), ref1.data(), size_t(rows));
        note("split weight matvec rel L2", d1.rel_l2);
        CHECK(d1.rel_l2 <= 1e-5);
    }
    {
        const int32_t ids[4] = {0, rows - 1, 20000, 31000};  // rows from every chunk
        Buf bi = P.buffer(sizeof ids, ids), by = P.buffer(4 * cols * 4);
        P.run([&](int s) {
            r1b_op op = make_op(R1B_OP_EMBED);
            op.src[0] = view(bi, s, 0, DType::I32, 4, 1);
            op.dst = view(by, s, 0, DType::F32, 4, cols);
            op.weight = w.w[s];
            return std::vector<r1b_op>{op};
        });
        CHECK(P.bytes(by, 0) == P.bytes(by, 1));
    }
    {
        // Logits-like output of 64 rows x 300000 values (77 MB, more than half of lavapipe's range): the op runs
        // in pieces of rows.
        const int64_t n = 64, out = 300000, k = 16;
        std::vector<uint8_t> wb = encode(DType::F32, randn(rng, size_t(out * k)), out, k);
        Wt w2 = P.weight(DType::F32, out, k, wb);
        std::vector<float> x = randn(rng, size_t(n * k));
        Buf bx = P.floats(x), by = P.buffer(uint64_t(n * out) * 4);
        P.run([&](int s) {
            r1b_op op = make_op(R1B_OP_MATMUL);
            op.src[0] = view(bx, s, 0, DType::F32, n, k);
            op.dst = view(by, s, 0, DType::F32, n, out);
            op.weight = w2.w[s];
            return std::vector<r1b_op>{op};
        });
        const std::vector<float> ref = P.floats_of(by, 0), got = P.floats_of(by, 1);
        const Diff d = compare(got.data(), ref.data(), ref.size());
        note("huge view matmul rel L2", d.rel_l2);
        CHECK(d.rel_l2 <= 1e-5);
    }
    check_validation("large tensors");
}

// ---------------------------------------------------------------------------------------------------------------
// The fixture models end to end (see tests/test_forward.cpp and ../shared/fixtures/README.md, "Tolerances")
// ---------------------------------------------------------------------------------------------------------------

namespace {

std::vector<float> read_f32(const std::string& path) {
    std::vector<unsigned char> bytes;
    REQUIRE_MESSAGE(r1test::read_file(path, bytes), path);
    std::vector<float> out(bytes.size() / 4);
    std::memcpy(out.data(), bytes.data(), out.size() * 4);
    return out;
}

nlohmann::json read_json(const std::string& path) {
    std::ifstream f(path);
    return nlohmann::json::parse(f);
}

double rel_l2(const float* a, const float* b, size_t n) { return compare(a, b, n).rel_l2; }

int argmax(const float* x, int64_t n) {
    int best = 0;
    for (int64_t i = 1; i < n; ++i)
        if (x[i] > x[best]) best = int(i);
    return best;
}

std::shared_ptr<r1::Model> load_vulkan(const std::string& path, bool exact) {
    r1_model_params p;
    r1_model_params_init(&p);
    p.backend = "vulkan";
    p.device = test_device_index();
    p.exact_math = exact ? 1 : 0;
    return std::shared_ptr<r1::Model>(r1::Model::load(path, p));
}

const char* kModels[] = {
    "qwen2-tiny-F32",    "qwen2-tiny-F16",    "qwen2-tiny-BF16",   "qwen2-tiny-Q8_0",   "qwen2-tiny-Q4_0",
    "qwen2-tiny-Q4_1",   "qwen2-tiny-Q5_0",   "qwen2-tiny-Q5_1",   "qwen2-tiny-Q2_K",   "qwen2-tiny-Q3_K_M",
    "qwen2-tiny-Q4_K_M", "qwen2-tiny-Q5_K_M", "qwen2-tiny-Q6_K",   "qwen2-tiny-IQ4_NL", "qwen2-tiny-IQ4_XS",
    "llama-tiny-F16",    "llama-tiny-Q8_0",   "llama-tiny-Q4_K_M", "llama-tiny-Q6_K",   "qwen3-tiny-F16",
    "qwen3-tiny-Q8_0",   "qwen3-tiny-Q4_K_M",
};

// The CPU's bounds against llama.cpp's logits (tests/test_forward.cpp); the GPU may be ten times looser.
double bound_vs_llama(const std::string& name) {
    if (name.find("-F32") != std::string::npos || name.find("-F16") != std::string::npos) return 10 * 2e-3;
    if (name.find("-BF16") != std::string::npos) return 10 * 1e-2;
    return 10 * 5e-2;
}

}  // namespace

TEST_CASE("vulkan: fixtures, exact math against the float64 reference (prompt and teacher-forced decode)") {
    if (!have_vulkan()) return;
    R1_REQUIRE_FIXTURES(dir);
    for (const std::string name : kModels) {
        CAPTURE(name);
        const std::string base = dir + "/models/" + name;
        const nlohmann::json meta = read_json(base + ".json");
        const std::vector<int32_t> prompt = meta["prompt"].get<std::vector<int32_t>>();
        const std::vector<int32_t> greedy = meta["greedy"].get<std::vector<int32_t>>();
        const int robust = meta["greedy_robust_prefix"].get<int>();
        const std::vector<float> ref = read_f32(base + ".ref64.logits.f32");
        const std::vector<float> ref_gen = read_f32(base + ".ref64.gen.f32");
        auto model = load_vulkan(base + ".gguf", true);
        r1::SessionOptions so;
        so.n_ctx = 128;
        so.kv_type = DType::F32;
        r1::Session s(model, so);
        const int64_t V = s.n_vocab();
        s.eval(prompt.data(), int64_t(prompt.size()), true);
        const double err = rel_l2(s.logits(), ref.data(), prompt.size() * size_t(V));
        note("fixtures exact: prompt rel L2 vs float64", err);
        CHECK_MESSAGE(err <= 1e-2, name << " prompt rel L2 vs float64 " << err << " (GPU bound 10 x 1e-3)");
        double worst = rel_l2(s.logits() + (prompt.size() - 1) * size_t(V), ref_gen.data(), size_t(V));
        CHECK(argmax(s.logits() + (prompt.size() - 1) * size_t(V), V) == greedy[0]);
        for (size_t step = 1; step < greedy.size(); ++step) {
            s.eval(&greedy[step - 1], 1, false);
            worst = std::max(worst, rel_l2(s.logits(), ref_gen.data() + step * size_t(V), size_t(V)));
            if (int(step) < robust) CHECK_MESSAGE(argmax(s.logits(), V) == greedy[step], name << " step " << step);
        }
        note("fixtures exact: decode rel L2 vs float64", worst);
        CHECK_MESSAGE(worst <= 1e-2, name << " worst decode step rel L2 vs float64 " << worst);
        MESSAGE(name << ": prompt " << err << ", worst decode step " << worst << " (rel L2 vs float64)");
    }
    check_validation("fixtures exact");
}

TEST_CASE("vulkan: fixtures, the fast path against llama.cpp's logits and greedy tokens (F16 KV cache)") {
    if (!have_vulkan()) return;
    R1_REQUIRE_FIXTURES(dir);
    for (const std::string name : kModels) {
        CAPTURE(name);
        const std::string base = dir + "/models/" + name;
        const nlohmann::json meta = read_json(base + ".json");
        const std::vector<int32_t> prompt = meta["prompt"].get<std::vector<int32_t>>();
        const std::vector<int32_t> greedy = meta["greedy"].get<std::vector<int32_t>>();
        const std::vector<double> margins = meta["greedy_margins"].get<std::vector<double>>();
        const std::vector<float> golden = read_f32(base + ".logits.f32");
        const std::vector<float> gen = read_f32(base + ".gen.f32");
        const double bound = bound_vs_llama(name);
        auto model = load_vulkan(base + ".gguf", false);
        r1::SessionOptions so;
        so.n_ctx = 128;
        r1::Session s(model, so);
        const int64_t V = s.n_vocab();
        s.eval(prompt.data(), int64_t(prompt.size()), true);
        const double err = rel_l2(s.logits(), golden.data(), golden.size());
        note("fixtures fast: prompt rel L2 vs llama.cpp", err);
        CHECK_MESSAGE(err <= bound, name << " prompt rel L2 vs llama.cpp " << err);
        // Teacher-forced decode: a token may differ only where llama.cpp's margin is within our logit error.
        std::vector<float> row(s.logits() + (prompt.size() - 1) * size_t(V), s.logits() + prompt.size() * size_t(V));
        double worst = 0;
        int agreeing = -1;
        for (size_t step = 0; step < greedy.size(); ++step) {
            const float* g = gen.data() + step * size_t(V);
            double max_abs = 0;
            for (int64_t i = 0; i < V; ++i) max_abs = std::max(max_abs, std::fabs(double(row[size_t(i)]) - g[i]));
            worst = std::max(worst, rel_l2(row.data(), g, size_t(V)));
            const int token = argmax(row.data(), V);
            if (token != greedy[step]) {
                if (agreeing < 0) agreeing = int(step);
                CHECK_MESSAGE(margins[step] < 2 * max_abs, name << " step " << step << " chose " << token << " instead of "
                                                                << greedy[step] << " with a golden margin of " << margins[step]);
            }
            s.eval(&greedy[step], 1, false);
            std::copy(s.logits(), s.logits() + V, row.begin());
        }
        note("fixtures fast: decode rel L2 vs llama.cpp", worst);
        CHECK_MESSAGE(worst <= bound, name << " worst decode step rel L2 vs llama.cpp " << worst);
        MESSAGE(name << ": prompt " << err << ", worst decode step " << worst << " vs llama.cpp; greedy agrees for "
                     << (agreeing < 0 ? int(greedy.size()) : agreeing) << "/" << greedy.size());
    }
    check_validation("fixtures fast");
}

TEST_CASE("vulkan: fixtures, KV cache types and a 300-token prompt in one batch, in chunks of 7 and token by token") {
    if (!have_vulkan()) return;
    R1_REQUIRE_FIXTURES(dir);
    for (const std::string name : {"qwen2-tiny-F16", "qwen2-tiny-Q4_K_M"}) {
        CAPTURE(name);
        const std::string base = dir + "/models/" + name;
        const nlohmann::json meta = read_json(base + ".json");
        const std::vector<int32_t> prompt = meta["long"]["prompt"].get<std::vector<int32_t>>();
        REQUIRE(prompt.size() == 300);
        const std::vector<float> ref = read_f32(base + ".long.ref64.logits.f32");
        const std::vector<float> golden = read_f32(base + ".long.logits.f32");
        auto exact = load_vulkan(base + ".gguf", true);
        std::vector<float> one_batch;
        for (int64_t batch : {int64_t(512), int64_t(7), int64_t(1)}) {
            r1::SessionOptions so;
            so.n_ctx = 512;
            so.n_batch = batch;
            so.kv_type = DType::F32;
            r1::Session s(exact, so);
            s.eval(prompt.data(), int64_t(prompt.size()), false);
            const double err = rel_l2(s.logits(), ref.data(), ref.size());
            note("fixtures long exact: rel L2 vs float64", err);
            CHECK_MESSAGE(err <= 1e-2, name << " batches of " << batch << ": rel L2 vs float64 " << err);
            if (batch == 512) one_batch.assign(s.logits(), s.logits() + ref.size());
            else CHECK(rel_l2(s.logits(), one_batch.data(), ref.size()) <= 1e-4);
        }
        // Every KV cache type, exact math (the cache's own rounding: Q8_0 is the coarsest).
        for (DType kv : {DType::F16, DType::BF16, DType::Q8_0}) {
            r1::SessionOptions so;
            so.n_ctx = 512;
            so.kv_type = kv;
            r1::Session s(exact, so);
            s.eval(prompt.data(), int64_t(prompt.size()), false);
            const double err = rel_l2(s.logits(), ref.data(), ref.size());
            note(std::string("fixtures long exact ") + tname((kv)) + " KV: rel L2 vs float64", err);
            CHECK_MESSAGE(err <= (kv == DType::F16 ? 1e-2 : 5e-2), name << " " << tname((kv)) << " KV: " << err);
        }
        auto fast = load_vulkan(base + ".gguf", false);
        for (int64_t batch : {int64_t(512), int64_t(7)}) {
            r1::SessionOptions so;
            so.n_ctx = 512;
            so.n_batch = batch;
            r1::Session s(fast, so);
            s.eval(prompt.data(), int64_t(prompt.size()), false);
            const double err = rel_l2(s.logits(), golden.data(), golden.size());
            note("fixtures long fast: rel L2 vs llama.cpp", err);
            CHECK_MESSAGE(err <= bound_vs_llama(name), name << " fast, batches of " << batch << ": " << err);
        }
    }
    check_validation("fixtures long");
}

TEST_CASE("vulkan: stories260K (a trained model) generates the golden tokens greedily") {
    if (!have_vulkan()) return;
    R1_REQUIRE_FIXTURES(dir);
    const std::string base = dir + "/models/stories260K";
    const nlohmann::json meta = read_json(base + ".json");
    const std::vector<float> golden = read_f32(base + ".logits.f32");
    for (bool exact : {true, false}) {
        CAPTURE(exact);
        auto model = load_vulkan(base + ".gguf", exact);
        r1::SessionOptions so;
        so.n_ctx = 128;
        r1::Session s(model, so);
        const std::vector<int32_t> prompt = meta["prompt"].get<std::vector<int32_t>>();
        s.eval(prompt.data(), 5, true);
        const double err = rel_l2(s.logits(), golden.data(), golden.size());
        note("stories260K: prompt rel L2 vs llama.cpp", err);
        CHECK(err <= 10 * 2e-3);
        const std::vector<int32_t> expected = meta["greedy"].get<std::vector<int32_t>>();
        const int64_t V = s.n_vocab();
        int token = argmax(s.logits() + 4 * size_t(V), V);
        std::vector<int32_t> got;
        for (int i = 0; i < 64; ++i) {
            got.push_back(token);
            if (i + 1 < 64) {
                s.eval(&token, 1, false);
                token = argmax(s.logits(), V);
            }
        }
        CHECK(got == expected);
    }
    check_validation("stories260K");
}

// ---------------------------------------------------------------------------------------------------------------
// Partial offload, session state, r1-tiny
// ---------------------------------------------------------------------------------------------------------------

namespace {

struct ModelHandle {
    r1_model* model = nullptr;
    ~ModelHandle() { r1_model_free(model); }
};
struct SessionHandle {
    r1_session* session = nullptr;
    ~SessionHandle() { r1_session_free(session); }
};

// Loads through the public API. n_gpu_layers: -1 = all layers on the backend's device.
void load_public(ModelHandle& h, const std::string& path, const char* backend, int32_t n_gpu_layers, bool exact) {
    r1_model_params p;
    r1_model_params_init(&p);
    p.backend = backend;
    p.device = std::strcmp(backend, "vulkan") == 0 ? test_device_index() : 0;
    p.n_gpu_layers = n_gpu_layers;
    p.exact_math = exact ? 1 : 0;
    const r1_status st = r1_model_load(path.c_str(), &p, &h.model);
    INFO(r1_last_error());
    REQUIRE(st == R1_OK);
}

// Evaluates the prompt in chunks of n_batch and returns the logits of every prompt position.
std::vector<float> prompt_logits(const r1_model* model, const std::vector<int32_t>& prompt, int64_t n_batch,
                                 r1_kv_type kv) {
    r1_session_params sp;
    r1_session_params_init(&sp);
    sp.n_ctx = 128;
    sp.n_batch = n_batch;
    sp.kv_type = kv;
    SessionHandle s;
    REQUIRE(r1_session_create(model, &sp, &s.session) == R1_OK);
    REQUIRE(r1_session_eval(s.session, prompt.data(), prompt.size(), R1_EVAL_ALL_LOGITS) == R1_OK);
    std::vector<float> out;
    for (size_t i = 0; i < prompt.size(); ++i) {
        const float* row = nullptr;
        int64_t n = 0;
        REQUIRE(r1_session_logits(s.session, int64_t(i), &row, &n) == R1_OK);
        out.insert(out.end(), row, row + n);
    }
    return out;
}

}  // namespace

TEST_CASE("vulkan: partial offload, the first layers on the CPU and the rest on the device") {
    if (!have_vulkan()) return;
    R1_REQUIRE_FIXTURES(dir);
    for (const std::string name : {"qwen2-tiny-Q4_K_M", "llama-tiny-Q8_0", "qwen3-tiny-F16"}) {
        CAPTURE(name);
        const std::string base = dir + "/models/" + name;
        const nlohmann::json meta = read_json(base + ".json");
        const std::vector<int32_t> prompt = meta["prompt"].get<std::vector<int32_t>>();
        const std::vector<float> ref = read_f32(base + ".ref64.logits.f32");
        // Exact math with an F32 cache: every placement must land on the float64 reference, and the split must
        // agree with the device alone to float rounding (the layers compute the same sums in another order).
        ModelHandle all, split, none;
        load_public(all, base + ".gguf", "vulkan", -1, true);
        load_public(split, base + ".gguf", "vulkan", 1, true);
        load_public(none, base + ".gguf", "vulkan", 0, true);
        r1_model_info info;
        std::memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        REQUIRE(r1_model_get_info(split.model, &info) == R1_OK);
        CHECK(std::string(info.backend) == "vulkan");
        CHECK(info.n_layers_offloaded == 1);
        CHECK(info.device_weight_bytes > 0);
        CHECK(info.cpu_weight_bytes > 0);
        r1_model_info all_info;
        std::memcpy(&all_info, &info, sizeof info);
        REQUIRE(r1_model_get_info(all.model, &all_info) == R1_OK);
        CHECK(all_info.n_layers_offloaded == 2);
        CHECK(all_info.cpu_weight_bytes == 0);
        // Layer 0 and the token embedding moved to the CPU: the device holds less, the two parts hold it all.
        CHECK(info.device_weight_bytes < all_info.device_weight_bytes);
        REQUIRE(r1_model_get_info(none.model, &info) == R1_OK);
        CHECK(std::string(info.backend) == "cpu");

        const std::vector<float> on_device = prompt_logits(all.model, prompt, 512, R1_KV_F32);
        for (int64_t n_batch : {int64_t(512), int64_t(5)}) {  // one batch; chunks, each crossing the devices
            const std::vector<float> got = prompt_logits(split.model, prompt, n_batch, R1_KV_F32);
            REQUIRE(got.size() == ref.size());
            const double err = rel_l2(got.data(), ref.data(), ref.size());
            note("partial offload exact: rel L2 vs float64", err);
            CHECK_MESSAGE(err <= 1e-2, name << " split, batches of " << n_batch << ": rel L2 vs float64 " << err);
            CHECK(rel_l2(got.data(), on_device.data(), ref.size()) <= 1e-5);
        }
        const std::vector<float> on_cpu = prompt_logits(none.model, prompt, 512, R1_KV_F32);
        CHECK(rel_l2(on_cpu.data(), ref.data(), ref.size()) <= 1e-3);
        // The fast path with the default (F16) cache against llama.cpp, split.
        ModelHandle fast;
        load_public(fast, base + ".gguf", "vulkan", 1, false);
        const std::vector<float> golden = read_f32(base + ".logits.f32");
        const std::vector<float> got = prompt_logits(fast.model, prompt, 5, R1_KV_F16);
        const double err = rel_l2(got.data(), golden.data(), golden.size());
        note("partial offload fast: rel L2 vs llama.cpp", err);
        CHECK_MESSAGE(err <= bound_vs_llama(name), name << " split, fast path: rel L2 vs llama.cpp " << err);
    }
    check_validation("partial offload");
}

TEST_CASE("vulkan: session state saved from the device and loaded into a new session continues identically") {
    if (!have_vulkan()) return;
    R1_REQUIRE_FIXTURES(dir);
    const std::string base = dir + "/models/qwen2-tiny-Q4_K_M";
    const std::vector<int32_t> prompt = read_json(base + ".json")["prompt"].get<std::vector<int32_t>>();
    for (int32_t n_gpu_layers : {-1, 1}) {
        CAPTURE(n_gpu_layers);
        ModelHandle m;
        load_public(m, base + ".gguf", "vulkan", n_gpu_layers, false);
        r1_session_params sp;
        r1_session_params_init(&sp);
        sp.n_ctx = 128;
        SessionHandle a, b;
        REQUIRE(r1_session_create(m.model, &sp, &a.session) == R1_OK);
        REQUIRE(r1_session_create(m.model, &sp, &b.session) == R1_OK);
        REQUIRE(r1_session_eval(a.session, prompt.data(), prompt.size(), 0) == R1_OK);
        size_t size = 0;
        CHECK(r1_session_save_to_buffer(a.session, nullptr, 0, &size) == R1_ERR_BUFFER_TOO_SMALL);
        std::vector<uint8_t> state(size);
        REQUIRE(r1_session_save_to_buffer(a.session, state.data(), state.size(), &size) == R1_OK);
        REQUIRE(r1_session_load_from_buffer(b.session, state.data(), size) == R1_OK);
        CHECK(r1_session_position(b.session) == int64_t(prompt.size()));
        // The next token on both: the restored cache must give the very same logits.
        const int32_t next = 7;
        REQUIRE(r1_session_eval(a.session, &next, 1, 0) == R1_OK);
        REQUIRE(r1_session_eval(b.session, &next, 1, 0) == R1_OK);
        const float *la = nullptr, *lb = nullptr;
        int64_t na = 0, nb = 0;
        REQUIRE(r1_session_logits(a.session, -1, &la, &na) == R1_OK);
        REQUIRE(r1_session_logits(b.session, -1, &lb, &nb) == R1_OK);
        REQUIRE(na == nb);
        CHECK(rel_l2(lb, la, size_t(na)) == 0.0);
    }
    check_validation("session state");
}

TEST_CASE("vulkan: freeing models and sessions gives back every device allocation") {
    if (!have_vulkan()) return;
    R1_REQUIRE_FIXTURES(dir);
#if defined(R1_WITH_VULKAN)
    const std::string path = dir + "/models/qwen2-tiny-Q4_K_M.gguf";
    const std::vector<int32_t> prompt =
        read_json(dir + "/models/qwen2-tiny-Q4_K_M.json")["prompt"].get<std::vector<int32_t>>();
    // One model, two sessions, a prompt, a split placement and a saved state: everything that allocates.
    auto cycle = [&](int32_t n_gpu_layers) {
        ModelHandle m;
        load_public(m, path, "vulkan", n_gpu_layers, false);
        r1_session_params sp;
        r1_session_params_init(&sp);
        sp.n_ctx = 256;
        SessionHandle a, b;
        REQUIRE(r1_session_create(m.model, &sp, &a.session) == R1_OK);
        REQUIRE(r1_session_create(m.model, &sp, &b.session) == R1_OK);
        REQUIRE(r1_session_eval(a.session, prompt.data(), prompt.size(), R1_EVAL_ALL_LOGITS) == R1_OK);
        REQUIRE(r1_session_eval(b.session, prompt.data(), 3, 0) == R1_OK);
        size_t size = 0;
        r1_session_save_to_buffer(a.session, nullptr, 0, &size);
        std::vector<uint8_t> state(size);
        REQUIRE(r1_session_save_to_buffer(a.session, state.data(), size, &size) == R1_OK);
        REQUIRE(r1_session_load_from_buffer(b.session, state.data(), size) == R1_OK);
    };
    void* ctx = vulkan_entry()->ctx;
    cycle(-1);  // the first use opens the device, whose own buffers (staging, a dummy binding) stay with it
    const int64_t baseline = r1::vulkan::live_allocations(ctx);
    for (int32_t n_gpu_layers : {-1, 1, -1}) {
        CAPTURE(n_gpu_layers);
        cycle(n_gpu_layers);
        CHECK(r1::vulkan::live_allocations(ctx) == baseline);
    }
    MESSAGE("device memory objects kept by the open device: " << baseline);
#endif
    check_validation("allocations");
}

TEST_CASE("vulkan: r1-tiny answers the 200 held-out problems (F32; Q4_K_M on a real device)") {
    if (!have_vulkan()) return;
    using namespace r1tiny;
    const std::string model = std::string(R1_SOURCE_DIR) + "/models/r1-tiny.gguf";
    const std::vector<Problem> problems = heldout();
    REQUIRE(problems.size() == 200);
    const Score f32 = run(model, problems, -1, "vulkan", test_device_index());
    MESSAGE("r1-tiny on Vulkan, F32: " << f32.correct << "/" << f32.total << " correct in " << f32.seconds << " s");
    CHECK(f32.with_thought == f32.total);
    CHECK(f32.accuracy() >= 0.98);
    // Q4_K_M takes as long again on lavapipe (about 100 s on 2 cores): on a real device, or with R1_TEST_LONG=1.
    const char* real = std::getenv("R1_VULKAN_TEST_REAL_DEVICE");
    const char* long_tests = std::getenv("R1_TEST_LONG");
    if ((real && *real && std::strcmp(real, "0") != 0) || (long_tests && std::strcmp(long_tests, "1") == 0)) {
        const std::string q4 = quantized(model, "Q4_K_M");
        const Score s = run(q4, problems, -1, "vulkan", test_device_index());
        MESSAGE("r1-tiny on Vulkan, Q4_K_M: " << s.correct << "/" << s.total << " correct in " << s.seconds << " s");
        CHECK(s.accuracy() >= 0.95);
        std::remove(q4.c_str());
    } else {
        MESSAGE("r1-tiny on Vulkan, Q4_K_M: not run (set R1_TEST_LONG=1)");
    }
    check_validation("r1-tiny");
}

// ---------------------------------------------------------------------------------------------------------------
// Threads: cancellation and sessions in parallel
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("vulkan: r1_session_cancel from another thread stops a long eval") {
    if (!have_vulkan()) return;
    R1_REQUIRE_FIXTURES(dir);
    r1_model_params mp;
    r1_model_params_init(&mp);
    mp.backend = "vulkan";
    mp.device = test_device_index();
    r1_model* model = nullptr;
    REQUIRE(r1_model_load((dir + "/models/qwen2-tiny-Q4_K_M.gguf").c_str(), &mp, &model) == R1_OK);
    r1_session_params sp;
    r1_session_params_init(&sp);
    sp.n_ctx = 4096;
    sp.n_batch = 4;
    r1_session* session = nullptr;
    REQUIRE(r1_session_create(model, &sp, &session) == R1_OK);
    std::vector<int32_t> tokens(4000);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t((i * 7 + 3) % 512);
    std::atomic<bool> started{false};
    std::thread canceller([&] {
        while (!started) std::this_thread::yield();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        r1_session_cancel(session);
    });
    started = true;
    const auto t0 = std::chrono::steady_clock::now();
    const r1_status st = r1_session_eval(session, tokens.data(), tokens.size(), 0);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    canceller.join();
    const int64_t pos = r1_session_position(session);
    MESSAGE("cancelled after " << ms << " ms at position " << pos << " of " << tokens.size());
    CHECK(st == R1_ERR_CANCELLED);
    CHECK(pos < int64_t(tokens.size()));
    CHECK(pos % 4 == 0);  // whole chunks only
    // The session goes on from where it stopped.
    CHECK(r1_session_eval(session, tokens.data(), 4, 0) == R1_OK);
    CHECK(r1_session_position(session) == pos + 4);
    r1_session_free(session);
    r1_model_free(model);
    check_validation("cancel");
}

TEST_CASE("vulkan: two sessions on one model from two threads") {
    if (!have_vulkan()) return;
    R1_REQUIRE_FIXTURES(dir);
    const std::string base = dir + "/models/qwen2-tiny-Q4_K_M";
    const nlohmann::json meta = read_json(base + ".json");
    const std::vector<int32_t> prompt = meta["prompt"].get<std::vector<int32_t>>();
    const std::vector<int32_t> greedy = meta["greedy"].get<std::vector<int32_t>>();
    auto model = load_vulkan(base + ".gguf", false);
    // Logits after the prompt and after each greedy token, from one session on this thread.
    auto run = [&](std::vector<float>& out) {
        r1::SessionOptions so;
        so.n_ctx = 128;
        r1::Session s(model, so);
        s.eval(prompt.data(), int64_t(prompt.size()), false);
        out.assign(s.logits(), s.logits() + s.n_vocab());
        for (int32_t t : greedy) {
            s.eval(&t, 1, false);
            out.insert(out.end(), s.logits(), s.logits() + s.n_vocab());
        }
    };
    std::vector<float> alone;
    run(alone);
    std::vector<float> a, b;
    std::string error_a, error_b;
    std::thread ta([&] {
        try {
            run(a);
        } catch (const std::exception& e) {
            error_a = e.what();
        }
    });
    std::thread tb([&] {
        try {
            run(b);
        } catch (const std::exception& e) {
            error_b = e.what();
        }
    });
    ta.join();
    tb.join();
    CHECK_MESSAGE(error_a.empty(), error_a);
    CHECK_MESSAGE(error_b.empty(), error_b);
    REQUIRE(a.size() == alone.size());
    REQUIRE(b.size() == alone.size());
    // The same device computes the same way: the results are identical.
    CHECK(rel_l2(a.data(), alone.data(), alone.size()) == 0.0);
    CHECK(rel_l2(b.data(), alone.data(), alone.size()) == 0.0);
    check_validation("two threads");
}

TEST_CASE("vulkan: summary (validation layer active, no messages, worst errors)") {
    if (!have_vulkan()) return;
#if defined(R1_WITH_VULKAN)
    const r1::BackendEntry* e = vulkan_entry();
    const bool layer_installed = file_exists("/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json");
    const char* v = std::getenv("R1_VULKAN_VALIDATION");
    if (layer_installed && v && std::strcmp(v, "0") != 0)
        CHECK_MESSAGE(r1::vulkan::validation_active(e->ctx), "the validation layer is installed but not active");
    MESSAGE("device: " << std::string(e->devices[size_t(test_device_index())].name) << "; validation layer "
                       << std::string(r1::vulkan::validation_active(e->ctx) ? "active" : "not active") << ", "
                       << r1::vulkan::validation_messages(e->ctx).size() << " message(s) in the whole suite");
    CHECK(r1::vulkan::validation_messages(e->ctx).empty());
#endif
    for (const Worst& w : worst_table()) MESSAGE("worst " << w.name << ": " << w.value);
}



