// The SIMD kernel families of the CPU backend (AVX2, AVX-512; NEON when built there) against the scalar
// reference, on fresh random inputs (the seed is printed; set R1_TEST_SEED to replay one):
//   - the interleaved weight layout round-trips (repack, then unpack, gives the GGUF bytes back);
//   - activation quantizers write exactly the reference's bytes;
//   - gemm of every weight type, several shapes and batch sizes, equals the scalar family's gemm on the same
//     quantized activations within a bound on float summation order;
//   - every OpKernels entry equals the scalar op within a small relative error;
//   - the whole backend path (device_open with a forced family, weight_create, a MATMUL op) agrees with the
//     scalar device.
// Every family this CPU can run is tested; the others are skipped with a message.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../backends/cpu/cpu_backend.h"
#include "../backends/cpu/cpu_features.h"
#include "../backends/cpu/matmul.h"
#include "../backends/cpu/ops.h"
#include "../backends/cpu/quants/fp16.h"
#include "../backends/cpu/quants/quants.h"

using r1::DType;
namespace cpu = r1::cpu;

#if defined(__x86_64__)
namespace r1::cpu {
// The x86 families' interleaved layout (matmul_avx2_repack.cpp).
int x86_layout_id();
bool x86_repack_weight(CpuWeight& w);
bool x86_unpack_weight(const CpuWeight& w, uint8_t* rows);
}  // namespace r1::cpu
#endif

namespace {

uint64_t test_seed() {
    static const uint64_t seed = [] {
        const char* env = std::getenv("R1_TEST_SEED");
        const uint64_t s = env && *env ? std::strtoull(env, nullptr, 10) : std::random_device{}();
        std::printf("test_cpu_kernels: seed %llu (R1_TEST_SEED=%llu replays it)\n", (unsigned long long)s,
                    (unsigned long long)s);
        return s;
    }();
    return seed;
}

std::mt19937_64& rng() {
    static std::mt19937_64 g(test_seed());
    return g;
}

float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng()); }
float normal() { return std::normal_distribution<float>(0.0f, 1.0f)(rng()); }

const DType kWeightTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0,
                              DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K,
                              DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_NL, DType::IQ4_XS};

const cpu::Isa kSimdIsas[] = {cpu::Isa::Avx2, cpu::Isa::Avx512, cpu::Isa::Neon};

// The families this build provides and this CPU runs.
std::vector<cpu::Isa> runnable_isas() {
    std::vector<cpu::Isa> out;
    for (cpu::Isa isa : kSimdIsas) {
        const cpu::FamilyKernels* f = isa == cpu::Isa::Avx2     ? cpu::avx2_family()
                                      : isa == cpu::Isa::Avx512 ? cpu::avx512_family()
                                                                : cpu::neon_family();
        if (!f) continue;
        if (!cpu::isa_available(isa)) {
            MESSAGE("SKIPPED: this CPU cannot run the " << cpu::isa_name(isa) << " kernels");
            continue;
        }
        out.push_back(isa);
    }
    return out;
}

int64_t block_of(DType t) { return int64_t(r1::traits(t).block_elements); }
size_t row_bytes(DType t, int64_t n) { return size_t(r1::dtype_row_bytes(t, uint64_t(n))); }

// Offsets of the fp16 scale fields in one block, for the "random bytes" weights.
std::vector<int> fp16_fields(DType t) {
    switch (t) {
        case DType::Q4_1:
        case DType::Q5_1:
        case DType::Q4_K:
        case DType::Q5_K: return {0, 2};
        case DType::Q2_K: return {80, 82};
        case DType::Q3_K: return {108};
        case DType::Q6_K: return {208};
        default: return {0};
    }
}

// rows x cols weights of type t: half the time quantized from random floats (per-block magnitudes spread over
// e^-3 .. e^3), else random bytes with valid fp16 scales (every code and scale bit pattern, e.g. Q6_K's negative
// scales and Q8_0's -128).
std::vector<uint8_t> random_weights(DType t, int64_t rows, int64_t cols, bool raw_bytes) {
    const size_t rb = row_bytes(t, cols);
    std::vector<uint8_t> w(rb * size_t(rows));
    const bool plain = t == DType::F32 || t == DType::F16 || t == DType::BF16;
    if (!raw_bytes || plain) {
        std::vector<float> x(static_cast<size_t>(cols));
        for (int64_t r = 0; r < rows; ++r) {
            float scale = 1.0f;
            for (int64_t i = 0; i < cols; ++i) {
                if (i % 32 == 0) scale = std::exp(uniform(-3.0f, 3.0f));
                x[size_t(i)] = normal() * scale;
            }
            REQUIRE(cpu::quantize_row(t, x.data(), w.data() + size_t(r) * rb, cols));
        }
        return w;
    }
    for (auto& b : w) b = uint8_t(rng()());
    const size_t bb = r1::traits(t).block_bytes;
    for (size_t off = 0; off < w.size(); off += bb)
        for (int f : fp16_fields(t)) {
            const uint16_t h = cpu::fp32_to_fp16(uniform(0.001f, 0.05f) * (f == 0 || rng()() % 2 ? 1.0f : -1.0f));
            std::memcpy(&w[off + size_t(f)], &h, 2);
        }
    return w;
}

std::vector<float> random_floats(int64_t n, float spread = 1.0f) {
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = normal() * std::exp(uniform(-spread, spread));
    return x;
}

// A weight as the backend holds it: GGUF rows, then the family's repack if it has one.
struct TestWeight {
    cpu::CpuWeight w;
    std::vector<uint8_t> gguf;
    TestWeight(DType t, int64_t rows, int64_t cols, std::vector<uint8_t> bytes) : gguf(std::move(bytes)) {
        w.type = t;
        w.rows = rows;
        w.cols = cols;
        w.row_bytes = row_bytes(t, cols);
        w.data = gguf.data();
    }
    TestWeight(const TestWeight&) = delete;
    ~TestWeight() { std::free(w.owned); }
};

// Runs a family's gemm over [0, rows) in the chunks the backend would use (several row blocks, the last one
// partial), into an output with a wider stride whose extra columns must stay untouched.
void run_gemm(const cpu::MatmulKernels& k, const cpu::CpuWeight& w, const std::vector<uint8_t>& act,
              size_t act_row_bytes, int64_t n_tokens, std::vector<float>& out, size_t out_stride) {
    const int64_t chunk = int64_t(k.row_block) * 2;
    for (int64_t r0 = 0; r0 < w.rows; r0 += chunk) {
        const int64_t r1 = r0 + chunk < w.rows ? r0 + chunk : w.rows;
        k.gemm(w, act.data(), act_row_bytes, n_tokens, r0, r1, out.data(), out_stride);
    }
}

// Activations of n_tokens rows, converted to `act_type` by `quantize` (nullptr: the reference).
std::vector<uint8_t> make_activations(const cpu::MatmulKernels& k, const std::vector<float>& x, int64_t n_tokens,
                                      int64_t cols, size_t& act_row_bytes) {
    act_row_bytes = k.act_type == DType::F32 ? size_t(cols) * 4 : row_bytes(k.act_type, cols);
    std::vector<uint8_t> a(act_row_bytes * size_t(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xr = x.data() + size_t(t * cols);
        uint8_t* ar = a.data() + size_t(t) * act_row_bytes;
        if (k.act_type == DType::F32) std::memcpy(ar, xr, size_t(cols) * 4);
        else if (k.quantize) k.quantize(xr, ar, cols);
        else cpu::quantize_row(k.act_type, xr, ar, cols);
    }
    return a;
}

// sum_i |w_i * a_i| in double for every (token, row): the scale of the rounding errors of a dot product.
std::vector<double> abs_products(DType t, const std::vector<uint8_t>& gguf, int64_t rows, int64_t cols,
                                 DType act_type, const std::vector<uint8_t>& act, size_t act_row_bytes,
                                 int64_t n_tokens) {
    std::vector<float> wr(size_t(rows * cols)), ar(size_t(n_tokens * cols));
    for (int64_t r = 0; r < rows; ++r)
        cpu::dequantize_row(t, gguf.data() + size_t(r) * row_bytes(t, cols), wr.data() + size_t(r * cols), cols);
    for (int64_t i = 0; i < n_tokens; ++i)
        cpu::dequantize_row(act_type, act.data() + size_t(i) * act_row_bytes, ar.data() + size_t(i * cols), cols);
    std::vector<double> s(size_t(n_tokens * rows));
    for (int64_t i = 0; i < n_tokens; ++i)
        for (int64_t r = 0; r < rows; ++r) {
            double sum = 0;
            for (int64_t c = 0; c < cols; ++c)
                sum += std::fabs(double(wr[size_t(r * cols + c)]) * double(ar[size_t(i * cols + c)]));
            s[size_t(i * rows + r)] = sum;
        }
    return s;
}

// Both sides compute the same exact integer block sums and differ only in the order of their float operations:
// each scaled block or sub-block term carries a few roundings (relative 2^-24 each), and the terms (at most one per
// 16 values) are added in float, which in the worst case costs one rounding of the running sum per term. So
// |ours - reference| <= (cols/16 + 16) * 4 * 2^-24 * sum|w*a|. A wrong code, scale or offset shows up far above
// this: one 16-value sub-block is at least 16/cols of sum|w*a| on random data.
double error_bound(int64_t cols) { return (double(cols) / 16.0 + 16.0) * std::ldexp(1.0, -22); }

struct Shape {
    int64_t rows, cols;
};

std::vector<Shape> shapes_for(DType t) {
    const int64_t b = block_of(t);
    if (b == 1) return {{1, 1}, {5, 17}, {37, 259}, {80, 4096}, {19, 8960}};  // odd column counts too
    return {{1, b}, {37, 3 * b}, {80, 4096}, {19, 8960}};
}

}  // namespace

#if defined(__x86_64__)
TEST_CASE("x86 interleaved layout: repack then unpack gives the GGUF bytes back") {
    for (DType t : kWeightTypes) {
        if (block_of(t) == 1) continue;
        for (int64_t rows : {1, 16, 37}) {
            for (bool raw : {false, true}) {
                const int64_t cols = block_of(t) * 3;
                TestWeight tw(t, rows, cols, random_weights(t, rows, cols, raw));
                INFO("type " << std::string(r1::dtype_name(uint32_t(t))) << ", rows " << rows);
                REQUIRE(cpu::x86_repack_weight(tw.w));
                CHECK(tw.w.layout == cpu::x86_layout_id());
                // A few % larger than the GGUF bytes of the rows padded to a multiple of 16.
                const size_t padded = tw.gguf.size() / size_t(rows) * size_t((rows + 15) / 16 * 16);
                CHECK(tw.w.owned_bytes >= padded);
                CHECK(tw.w.owned_bytes <= padded * 105 / 100);
                std::vector<uint8_t> back(tw.gguf.size(), 0xAB);
                REQUIRE(cpu::x86_unpack_weight(tw.w, back.data()));
                CHECK(back == tw.gguf);
            }
        }
    }
}
#endif

TEST_CASE("activation quantizers write the reference's bytes") {
    for (cpu::Isa isa : runnable_isas()) {
        for (DType t : kWeightTypes) {
            const cpu::MatmulKernels* k = cpu::matmul_kernels(isa, t, false);
            REQUIRE(k != nullptr);
            if (!k->quantize) continue;
            const int64_t qk = block_of(k->act_type);
            for (int64_t n : {qk, 3 * qk, int64_t(4096), int64_t(8960)}) {
                if (n % qk) continue;
                std::vector<std::vector<float>> rows = {random_floats(n, 4.0f), std::vector<float>(size_t(n), 0.0f),
                                                        std::vector<float>(size_t(n), -0.75f)};
                // Exact halves after scaling (127 / amax = 1): roundf and nearest-even differ on them.
                std::vector<float> halves(static_cast<size_t>(n));
                for (int64_t i = 0; i < n; ++i) halves[size_t(i)] = i % 32 == 0 ? 127.0f : float(i % 64) - 31.5f;
                rows.push_back(halves);
                // The largest magnitude twice with both signs: Q8_K's scale takes the first one's sign.
                std::vector<float> tie = random_floats(n);
                for (int64_t i = 0; i < n; i += 256) {
                    tie[size_t(i + 3)] = -50.0f;
                    if (i + 200 < n) tie[size_t(i + 200)] = 50.0f;
                }
                rows.push_back(tie);
                for (const auto& x : rows) {
                    std::vector<uint8_t> mine(row_bytes(k->act_type, n)), ref(mine.size());
                    k->quantize(x.data(), mine.data(), n);
                    REQUIRE(cpu::quantize_row(k->act_type, x.data(), ref.data(), n));
                    INFO(std::string(cpu::isa_name(isa)) << " " << std::string(r1::dtype_name(uint32_t(k->act_type))) << " n=" << n);
                    CHECK(mine == ref);
                }
            }
        }
    }
}

TEST_CASE("gemm of every weight type equals the scalar family's within float-order error") {
    const std::vector<cpu::Isa> isas = runnable_isas();
    if (isas.empty()) return;
    int compared = 0;
    double worst_seen = 0;
    for (DType t : kWeightTypes) {
        const cpu::MatmulKernels* ref = cpu::scalar_family()->by_type[uint32_t(t)];
        REQUIRE(ref != nullptr);
        const bool plain = block_of(t) == 1;
        int case_index = 0;
        for (const Shape& sh : shapes_for(t)) {
            const bool raw = (case_index++ % 2) == 1;
            const std::vector<uint8_t> gguf = random_weights(t, sh.rows, sh.cols, raw);
            for (int64_t n_tokens : {1, 2, 7, 64}) {
                if (sh.cols >= 4096 && n_tokens == 64 && sh.rows > 20) continue;  // keep the reference's time down
                const std::vector<float> x = random_floats(n_tokens * sh.cols, 2.0f);
                for (cpu::Isa isa : isas) {
                    const cpu::MatmulKernels* k = cpu::matmul_kernels(isa, t, false);
                    REQUIRE(k != nullptr);
                    INFO(std::string(cpu::isa_name(isa)) << " " << std::string(r1::dtype_name(uint32_t(t))) << " rows " << sh.rows << " cols "
                                            << sh.cols << " tokens " << n_tokens << (raw ? " (random bytes)" : ""));
                    TestWeight tw(t, sh.rows, sh.cols, gguf);
                    if (k->repack) k->repack(tw.w);
                    size_t arb = 0;
                    const std::vector<uint8_t> act = make_activations(*k, x, n_tokens, sh.cols, arb);
                    const size_t stride = size_t(sh.rows) + 3;
                    std::vector<float> mine(stride * size_t(n_tokens), NAN);
                    run_gemm(*k, tw.w, act, arb, n_tokens, mine, stride);

                    // The reference on the same activations. Float weights: ours take F32 activations, so the
                    // reference is the exact (double) product with those, and the scalar family's F16/BF16 path is
                    // checked to be no closer to it than ours.
                    std::vector<float> expect(stride * size_t(n_tokens), NAN);
                    std::vector<double> scale;
                    double scalar_err = 0;
                    if (k->act_type == ref->act_type) {
                        TestWeight rw(t, sh.rows, sh.cols, gguf);
                        run_gemm(*ref, rw.w, act, arb, n_tokens, expect, stride);
                        scale = abs_products(t, gguf, sh.rows, sh.cols, k->act_type, act, arb, n_tokens);
                    } else {
                        REQUIRE(plain);
                        REQUIRE(k->act_type == DType::F32);
                        for (int64_t i = 0; i < n_tokens; ++i)
                            for (int64_t r = 0; r < sh.rows; ++r)
                                expect[size_t(i) * stride + size_t(r)] = cpu::vec_dot_f32_dequant(
                                    t, sh.cols, gguf.data() + size_t(r) * tw.w.row_bytes, x.data() + size_t(i * sh.cols));
                        scale = abs_products(t, gguf, sh.rows, sh.cols, DType::F32, act, arb, n_tokens);
                        size_t rarb = 0;
                        const std::vector<uint8_t> ract = make_activations(*ref, x, n_tokens, sh.cols, rarb);
                        std::vector<float> scalar(stride * size_t(n_tokens), NAN);
                        TestWeight rw(t, sh.rows, sh.cols, gguf);
                        run_gemm(*ref, rw.w, ract, rarb, n_tokens, scalar, stride);
                        for (int64_t i = 0; i < n_tokens; ++i)
                            for (int64_t r = 0; r < sh.rows; ++r) {
                                const size_t o = size_t(i) * stride + size_t(r);
                                const double s = scale[size_t(i * sh.rows + r)];
                                if (s > 0) scalar_err = std::fmax(scalar_err, std::fabs(double(scalar[o]) - double(expect[o])) / s);
                            }
                    }
                    const double bound = error_bound(sh.cols);
                    double worst = 0;
                    int reported = 0, bad = 0;
                    for (int64_t i = 0; i < n_tokens; ++i) {
                        for (int64_t r = 0; r < sh.rows; ++r) {
                            const size_t o = size_t(i) * stride + size_t(r);
                            const double s = scale[size_t(i * sh.rows + r)];
                            const double err = std::fabs(double(mine[o]) - double(expect[o]));
                            const double rel = s > 0 ? err / s : err;
                            if (!(rel <= bound)) {
                                ++bad;
                                if (reported++ < 5)
                                    MESSAGE("token " << i << " row " << r << ": ours " << mine[o] << ", reference "
                                                     << expect[o] << ", sum|w*a| " << s);
                            }
                            if (rel > worst || std::isnan(rel)) worst = rel;
                        }
                        for (size_t o = size_t(i) * stride + size_t(sh.rows); o < size_t(i + 1) * stride; ++o)
                            if (!std::isnan(mine[o])) ++bad;  // written outside the rows
                    }
                    CHECK_MESSAGE(bad == 0, "largest error " << worst << " of sum|w*a|, bound " << bound);
                    ++compared;
                    if (worst > worst_seen) worst_seen = worst;
                    if (k->act_type != ref->act_type) CHECK(worst <= scalar_err + 1e-7);
                }
            }
        }
    }
    MESSAGE(compared << " gemm cases compared; largest error " << worst_seen << " of sum|w*a|");
}

TEST_CASE("gemm on weights left in GGUF rows (no repack) still computes the product") {
    for (cpu::Isa isa : runnable_isas()) {
        for (DType t : {DType::Q4_K, DType::Q6_K, DType::Q8_0, DType::Q5_0}) {
            const cpu::MatmulKernels* k = cpu::matmul_kernels(isa, t, false);
            const cpu::MatmulKernels* ref = cpu::scalar_family()->by_type[uint32_t(t)];
            const int64_t rows = 21, cols = 512, n_tokens = 3;
            const std::vector<uint8_t> gguf = random_weights(t, rows, cols, false);
            TestWeight tw(t, rows, cols, gguf);
            const std::vector<float> x = random_floats(n_tokens * cols);
            size_t arb = 0;
            const std::vector<uint8_t> act = make_activations(*k, x, n_tokens, cols, arb);
            std::vector<float> mine(size_t(rows * n_tokens)), expect(mine.size());
            run_gemm(*k, tw.w, act, arb, n_tokens, mine, size_t(rows));
            run_gemm(*ref, tw.w, act, arb, n_tokens, expect, size_t(rows));
            const std::vector<double> scale = abs_products(t, gguf, rows, cols, k->act_type, act, arb, n_tokens);
            INFO(std::string(cpu::isa_name(isa)) << " " << std::string(r1::dtype_name(uint32_t(t))));
            int bad = 0;
            for (size_t i = 0; i < mine.size(); ++i)
                if (!(std::fabs(double(mine[i]) - double(expect[i])) <= error_bound(cols) * scale[i])) ++bad;
            CHECK(bad == 0);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// OpKernels
// ---------------------------------------------------------------------------------------------------------------

namespace {

// |ours - reference| <= rel * |reference| + abs, element by element; reports the first few misses.
bool close_all(const std::vector<float>& ours, const std::vector<float>& ref, double rel, double abs_tol,
               const std::string& what) {
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const double d = std::fabs(double(ours[i]) - double(ref[i]));
        const double lim = rel * std::fabs(double(ref[i])) + abs_tol;
        if (!(d <= lim)) {
            if (bad++ < 5) MESSAGE(what << ": element " << i << " ours " << ours[i] << " reference " << ref[i]);
        }
        if (lim > 0 && d / lim > worst) worst = d / lim;
    }
    if (bad) MESSAGE(what << ": " << bad << " of " << ref.size() << " outside the bound (worst " << worst << " x bound)");
    return bad == 0;
}

std::vector<uint8_t> as_bytes(const std::vector<float>& v) {
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    return b;
}
std::vector<float> as_floats(const std::vector<uint8_t>& b) {
    std::vector<float> v(b.size() / 4);
    std::memcpy(v.data(), b.data(), b.size());
    return v;
}

}  // namespace

// Elementwise ops: the vector code sums squares in float lanes (the scalar in double) and computes e^x with a
// polynomial of ~1 ulp, so results agree to a few float ulp; add is exact.
TEST_CASE("op kernels: rms_norm, add, silu_mul, softmax equal the scalar ops") {
    for (cpu::Isa isa : runnable_isas()) {
        const cpu::OpKernels& ok = *cpu::op_kernels(isa);
        for (int64_t cols : {1, 7, 64, 1536, 8961}) {
            const int64_t rows = 5;
            const size_t stride = size_t(cols + 3) * 4;  // rows not packed: strides are honoured
            std::vector<float> xf(size_t(rows) * size_t(cols + 3)), bf(xf.size()), w(static_cast<size_t>(cols));
            for (auto& v : xf) v = normal() * 4.0f;
            for (auto& v : bf) v = normal();
            for (auto& v : w) v = normal();
            xf[0] = -100.0f;  // silu's far tails
            if (xf.size() > 1) xf[1] = 95.0f;
            const std::vector<uint8_t> x = as_bytes(xf), b = as_bytes(bf);
            const std::string ctx = std::string(cpu::isa_name(isa)) + " cols " + std::to_string(cols);
            for (const float* wp : {(const float*)nullptr, (const float*)w.data()}) {
                std::vector<uint8_t> ya(x.size(), 0), yb(x.size(), 0);
                ok.rms_norm(x.data(), stride, ya.data(), stride, wp, cols, 1e-6f, 0, rows);
                cpu::op_rms_norm(x.data(), stride, yb.data(), stride, wp, cols, 1e-6f, 0, rows);
                CHECK(close_all(as_floats(ya), as_floats(yb), 4e-6, 1e-30, "rms_norm " + ctx));
                std::vector<uint8_t> inplace = x;  // y aliasing x
                ok.rms_norm(inplace.data(), stride, inplace.data(), stride, wp, cols, 1e-6f, 1, rows);
                std::vector<uint8_t> expect = x;
                cpu::op_rms_norm(expect.data(), stride, expect.data(), stride, wp, cols, 1e-6f, 1, rows);
                CHECK(close_all(as_floats(inplace), as_floats(expect), 4e-6, 1e-30, "rms_norm in place " + ctx));
            }
            {
                std::vector<uint8_t> ya(x.size(), 0), yb(x.size(), 0);
                ok.add(x.data(), stride, b.data(), stride, ya.data(), stride, cols, 0, rows);
                cpu::op_add(x.data(), stride, b.data(), stride, yb.data(), stride, cols, 0, rows);
                CHECK(ya == yb);
            }
            {
                std::vector<uint8_t> ya(x.size(), 0), yb(x.size(), 0);
                ok.silu_mul(x.data(), stride, b.data(), stride, ya.data(), stride, cols, 0, rows);
                cpu::op_silu_mul(x.data(), stride, b.data(), stride, yb.data(), stride, cols, 0, rows);
                CHECK(close_all(as_floats(ya), as_floats(yb), 4e-6, 1e-30, "silu_mul " + ctx));
            }
            // softmax: e^(x*scale - max) is sensitive to the rounding of its argument: the vector code may fuse
            // x*scale - max into one fma where the scalar code rounds twice, a difference of up to one ulp of
            // |x*scale| + |max| in the exponent, i.e. that much relative error in the result, plus a few ulp of exp.
            for (float scale : {1.0f, 0.125f, 7.0f}) {
                std::vector<uint8_t> ya(x.size(), 0), yb(x.size(), 0);
                ok.softmax(x.data(), stride, ya.data(), stride, cols, scale, 0, rows);
                cpu::op_softmax(x.data(), stride, yb.data(), stride, cols, scale, 0, rows);
                const std::vector<float> fa = as_floats(ya), fb = as_floats(yb);
                int bad = 0;
                for (int64_t r = 0; r < rows; ++r) {
                    const size_t o = size_t(r) * size_t(cols + 3);
                    float max = -INFINITY;
                    for (int64_t i = 0; i < cols; ++i) max = std::fmax(max, xf[o + size_t(i)] * scale);
                    for (int64_t i = 0; i < cols; ++i) {
                        const double arg = std::fabs(double(xf[o + size_t(i)]) * scale) + std::fabs(double(max));
                        const double rel = std::ldexp(arg, -23) + std::ldexp(8.0, -24);
                        const double d = std::fabs(double(fa[o + size_t(i)]) - double(fb[o + size_t(i)]));
                        if (!(d <= rel * std::fabs(double(fb[o + size_t(i)])) + 1e-30) && bad++ < 5)
                            MESSAGE("softmax " << ctx << " scale " << scale << " row " << r << " col " << i << ": ours "
                                               << fa[o + size_t(i)] << " reference " << fb[o + size_t(i)]);
                    }
                }
                CHECK(bad == 0);
            }
        }
    }
}

// Same angles (computed the same way), rotation with fused multiply-adds: a few ulp of the rotated values.
TEST_CASE("op kernels: rope equals the scalar op") {
    for (cpu::Isa isa : runnable_isas()) {
        const cpu::OpKernels& ok = *cpu::op_kernels(isa);
        for (bool neox : {false, true}) {
            for (int n_rot : {128, 64, 32, 24}) {
                cpu::RopeArgs a;
                a.n_heads = 3;
                a.head_dim = 128;
                a.n_rot = n_rot;
                a.neox = neox;
                a.pos0 = n_rot == 64 ? 100000 : 5;
                a.freq_base = 1000000.0f;
                std::vector<float> factors(size_t(n_rot / 2));
                for (auto& f : factors) f = uniform(1.0f, 8.0f);
                a.freq_factors = n_rot == 32 ? factors.data() : nullptr;
                const int64_t rows = 7;
                const size_t stride = size_t(a.n_heads * a.head_dim) * 4;
                std::vector<float> xf(size_t(rows) * size_t(a.n_heads * a.head_dim));
                for (auto& v : xf) v = normal();
                std::vector<uint8_t> ya = as_bytes(xf), yb = ya;
                ok.rope(ya.data(), stride, a, 0, rows);
                cpu::op_rope(yb.data(), stride, a, 0, rows);
                CHECK(close_all(as_floats(ya), as_floats(yb), 1e-5, 1e-5,
                                std::string(cpu::isa_name(isa)) + (neox ? " neox" : " interleaved") + " n_rot " + std::to_string(n_rot)));
            }
        }
    }
}

namespace {

struct KvCache {
    DType type;
    int64_t n_ctx;
    int n_kv_heads, head_dim;
    size_t stride;
    std::vector<uint8_t> k, v;
    KvCache(DType t, int64_t ctx, int kv_heads, int hd) : type(t), n_ctx(ctx), n_kv_heads(kv_heads), head_dim(hd) {
        stride = row_bytes(t, int64_t(kv_heads) * hd) + 64;  // a padded row: strides are honoured
        k.assign(stride * size_t(ctx), 0);
        v.assign(stride * size_t(ctx), 0);
        std::vector<float> row(size_t(kv_heads * hd));
        for (int64_t j = 0; j < ctx; ++j) {
            for (auto& x : row) x = normal();
            cpu::quantize_row(t, row.data(), k.data() + size_t(j) * stride, int64_t(row.size()));
            for (auto& x : row) x = normal();
            cpu::quantize_row(t, row.data(), v.data() + size_t(j) * stride, int64_t(row.size()));
        }
    }
};

}  // namespace

// Attention: online softmax (float accumulators, the sum in double) against the scalar two-pass version: the
// outputs are weighted means of the values, so the error is measured against the largest |value| (1e-5 covers
// float accumulation over thousands of keys, which stays ~sqrt(n) ulp in practice).
TEST_CASE("op kernels: attention equals the scalar op for every KV type, range split and context length") {
    for (cpu::Isa isa : runnable_isas()) {
        const cpu::OpKernels& ok = *cpu::op_kernels(isa);
        for (DType kv : {DType::F16, DType::F32, DType::BF16, DType::Q8_0}) {
            struct Case {
                int n_heads, n_kv_heads, head_dim;
                int64_t pos0, n_tokens;
                float scale;
            };
            const Case cases[] = {
                {12, 2, 128, 0, 1, 0.088f},   {12, 2, 128, 37, 1, 0.088f},  {12, 2, 128, 3, 5, 0.088f},
                {8, 8, 64, 20, 3, 0.125f},    {12, 2, 128, 30, 2, 1.0f},    {4, 1, 64, 0, 17, 0.125f},
                {12, 2, 128, 4999, 1, 0.088f},
            };
            for (const Case& c : cases) {
                const int64_t n_ctx = c.pos0 + c.n_tokens;
                KvCache cache(kv, n_ctx, c.n_kv_heads, c.head_dim);
                std::vector<float> q(size_t(c.n_tokens) * size_t(c.n_heads * c.head_dim));
                for (auto& x : q) x = normal();
                cpu::AttentionArgs a;
                a.q = reinterpret_cast<const uint8_t*>(q.data());
                a.q_stride = size_t(c.n_heads * c.head_dim) * 4;
                a.kv_type = kv;
                a.k = cache.k.data();
                a.v = cache.v.data();
                a.k_stride = a.v_stride = cache.stride;
                a.n_heads = c.n_heads;
                a.n_kv_heads = c.n_kv_heads;
                a.head_dim = c.head_dim;
                a.pos0 = c.pos0;
                a.scale = c.scale;
                const int64_t n_items = c.n_tokens * c.n_heads;
                std::vector<float> ref(q.size(), NAN);
                a.out = reinterpret_cast<uint8_t*>(ref.data());
                a.out_stride = a.q_stride;
                std::vector<float> scratch(cpu::attention_scratch_floats(n_ctx, c.head_dim));
                cpu::op_attention(a, 0, n_items, scratch.data());
                float vmax = 0;
                for (int64_t j = 0; j < n_ctx; ++j) {
                    std::vector<float> vr(size_t(c.n_kv_heads * c.head_dim));
                    cpu::dequantize_row(kv, cache.v.data() + size_t(j) * cache.stride, vr.data(), int64_t(vr.size()));
                    for (float x : vr) vmax = std::fmax(vmax, std::fabs(x));
                }
                // The whole range in one call, one item per call (what 2+ threads do), and uneven pieces.
                for (int64_t piece : {n_items, int64_t(1), int64_t(5)}) {
                    std::vector<float> ours(q.size(), NAN);
                    a.out = reinterpret_cast<uint8_t*>(ours.data());
                    std::vector<float> sc(ok.attention_scratch_floats(n_ctx, c.head_dim));
                    for (int64_t i = 0; i < n_items; i += piece)
                        ok.attention(a, i, i + piece < n_items ? i + piece : n_items, sc.data());
                    CHECK(close_all(ours, ref, 0.0, 1e-5 * double(vmax),
                                    std::string(cpu::isa_name(isa)) + " " + r1::dtype_name(uint32_t(kv)) + " heads " +
                                        std::to_string(c.n_heads) + "/" + std::to_string(c.n_kv_heads) + " pos0 " +
                                        std::to_string(c.pos0) + " T " + std::to_string(c.n_tokens) + " piece " +
                                        std::to_string(piece)));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The whole backend path
// ---------------------------------------------------------------------------------------------------------------

namespace {

struct BackendRun {
    const r1b_backend_iface* api = cpu::cpu_backend_iface();
    void* ctx = nullptr;
    r1b_device* dev = nullptr;
    r1b_stream* stream = nullptr;
    r1b_weight* weight = nullptr;
    r1b_buffer *x = nullptr, *out = nullptr;

    explicit BackendRun(int cpu_isa) {
        REQUIRE(api->init(nullptr, &ctx) == R1_OK);
        r1b_device_params p{};
        p.struct_size = sizeof p;
        p.cpu_isa = cpu_isa;
        REQUIRE(api->device_open(ctx, 0, &p, &dev) == R1_OK);
        r1b_stream_params sp{};
        sp.struct_size = sizeof sp;
        sp.n_threads = 2;
        REQUIRE(api->stream_create(dev, &sp, &stream) == R1_OK);
    }
    ~BackendRun() {
        if (weight) api->weight_free(dev, weight);
        if (x) api->buffer_free(dev, x);
        if (out) api->buffer_free(dev, out);
        if (stream) api->stream_destroy(stream);
        if (dev) api->device_close(dev);
        if (ctx) api->shutdown(ctx);
    }

    std::vector<float> matmul(DType t, int64_t rows, int64_t cols, const std::vector<uint8_t>& w,
                              const std::vector<float>& xs, int64_t n_tokens) {
        REQUIRE(api->weight_create(dev, int32_t(t), rows, cols, w.data(), 0, &weight) == R1_OK);
        REQUIRE(api->buffer_alloc(dev, uint64_t(xs.size() * 4), R1B_BUFFER_SCRATCH, &x) == R1_OK);
        REQUIRE(api->buffer_alloc(dev, uint64_t(rows * n_tokens * 4), R1B_BUFFER_SCRATCH, &out) == R1_OK);
        REQUIRE(api->upload(stream, x, 0, xs.data(), uint64_t(xs.size() * 4)) == R1_OK);
        r1b_op op{};
        op.kind = R1B_OP_MATMUL;
        op.src[0] = r1b_view{x, 0, 0, 0, n_tokens, cols, uint64_t(cols * 4)};
        op.dst = r1b_view{out, 0, 0, 0, n_tokens, rows, uint64_t(rows * 4)};
        op.weight = weight;
        REQUIRE(api->submit(stream, &op, 1) == R1_OK);
        REQUIRE(api->synchronize(stream) == R1_OK);
        std::vector<float> result(size_t(rows * n_tokens));
        REQUIRE(api->download(stream, out, 0, result.data(), uint64_t(result.size() * 4)) == R1_OK);
        return result;
    }
};

}  // namespace

TEST_CASE("backend: MATMUL on a device forced to each family agrees with the scalar device") {
    for (cpu::Isa isa : runnable_isas()) {
        for (DType t : {DType::Q4_K, DType::Q6_K, DType::Q8_0, DType::Q5_0, DType::F16, DType::IQ4_XS}) {
            const int64_t rows = 100, cols = 1536, n_tokens = 5;
            const std::vector<uint8_t> w = random_weights(t, rows, cols, false);
            const std::vector<float> xs = random_floats(n_tokens * cols);
            BackendRun simd(1 + int(isa)), scalar(1 + int(cpu::Isa::Scalar));
            const std::vector<float> a = simd.matmul(t, rows, cols, w, xs, n_tokens);
            const std::vector<float> b = scalar.matmul(t, rows, cols, w, xs, n_tokens);
            // Relative to the largest output: the scale of the float-order differences (F16: plus the scalar
            // path's F16 rounding of the activations, ~2^-11 relative per product, averaging out over 1536).
            double amax = 0, dmax = 0;
            for (size_t i = 0; i < a.size(); ++i) {
                amax = std::fmax(amax, std::fabs(double(b[i])));
                dmax = std::fmax(dmax, std::fabs(double(a[i]) - double(b[i])));
            }
            INFO(std::string(cpu::isa_name(isa)) << " " << std::string(r1::dtype_name(uint32_t(t))));
            CHECK(dmax <= (t == DType::F16 ? 2e-3 : 1e-5) * amax);
        }
    }
}
