// The NEON kernel family's own guarantees, on fresh random inputs (seed printed; R1_TEST_SEED replays a run).
// tests/test_cpu_kernels.cpp compares every SIMD family with the scalar reference under one float-order bound; this
// suite pins what is specific to NEON (backends/cpu/matmul_neon*.cpp):
//   - Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, Q2_K and IQ4_XS return the scalar family's results bit for bit;
//   - Q3_K, Q4_K, Q5_K, Q6_K and F32/F16/BF16 stay within per-type bounds derived from their order of summation;
//   - the 4-row layout: padding rows, row ranges that start inside the matrix, nothing written outside [r0, r1),
//     repacked sizes, weights left in GGUF rows.
// On builds without the NEON family (x86) or CPUs without the dot product every case is skipped with a message.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../backends/cpu/cpu_features.h"
#include "../backends/cpu/matmul.h"
#include "../backends/cpu/quants/fp16.h"
#include "../backends/cpu/quants/quants.h"

using r1::DType;
namespace cpu = r1::cpu;

namespace {

std::mt19937_64& neon_rng() {
    static std::mt19937_64 g([] {
        const char* env = std::getenv("R1_TEST_SEED");
        const uint64_t s = env && *env ? std::strtoull(env, nullptr, 10) : std::random_device{}();
        std::printf("test_cpu_kernels_neon: seed %llu (R1_TEST_SEED=%llu replays it)\n", (unsigned long long)s,
                    (unsigned long long)s);
        return s;
    }());
    return g;
}

float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(neon_rng()); }
float gaussian() { return std::normal_distribution<float>(0.0f, 1.0f)(neon_rng()); }

// The NEON family, or nullptr (with a message) when this build or CPU has none.
const cpu::FamilyKernels* neon_or_skip() {
    const cpu::FamilyKernels* f = cpu::neon_family();
    if (!f) {
        MESSAGE("SKIPPED: the NEON family is not built for this architecture");
        return nullptr;
    }
    if (!cpu::isa_available(cpu::Isa::Neon)) {
        MESSAGE("SKIPPED: this CPU has no Advanced SIMD dot product");
        return nullptr;
    }
    return f;
}

std::string name_of(DType t) { return r1::dtype_name(uint32_t(t)); }
int64_t block_of(DType t) { return int64_t(r1::traits(t).block_elements); }
size_t row_bytes(DType t, int64_t n) { return size_t(r1::dtype_row_bytes(t, uint64_t(n))); }
bool is_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

// Where the fp16 super-block scales sit in a block (for raw-byte weights and for splitting Q4_K/Q5_K's terms).
std::vector<size_t> fp16_offsets(DType t) {
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

// rows x cols weights: quantized from gaussians whose scale changes every 32 values (e^-3 .. e^3), or (raw) random
// bytes with sane fp16 scales, which reach every code and scale pattern (Q6_K's negative scales, Q8_0's -128).
std::vector<uint8_t> make_weights(DType t, int64_t rows, int64_t cols, bool raw) {
    const size_t rb = row_bytes(t, cols);
    std::vector<uint8_t> w(rb * size_t(rows));
    if (!raw || is_float(t)) {
        std::vector<float> x(static_cast<size_t>(cols));
        for (int64_t r = 0; r < rows; ++r) {
            float scale = 1.0f;
            for (int64_t i = 0; i < cols; ++i) {
                if (i % 32 == 0) scale = std::exp(uniform(-3.0f, 3.0f));
                x[size_t(i)] = gaussian() * scale;
            }
            REQUIRE(cpu::quantize_row(t, x.data(), w.data() + size_t(r) * rb, cols));
        }
        return w;
    }
    for (auto& b : w) b = uint8_t(neon_rng()());
    const size_t bb = r1::traits(t).block_bytes;
    for (size_t off = 0; off < w.size(); off += bb)
        for (size_t f : fp16_offsets(t)) {
            const uint16_t h = cpu::fp32_to_fp16(uniform(0.001f, 0.05f) * (neon_rng()() % 2 ? 1.0f : -1.0f));
            std::memcpy(&w[off + f], &h, 2);
        }
    return w;
}

std::vector<float> make_floats(int64_t n) {
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = gaussian() * std::exp(uniform(-2.0f, 2.0f));
    return x;
}

// A weight in GGUF rows, optionally repacked by a family.
struct Weight {
    cpu::CpuWeight w;
    std::vector<uint8_t> bytes;
    Weight(DType t, int64_t rows, int64_t cols, const std::vector<uint8_t>& gguf) : bytes(gguf) {
        w.type = t;
        w.rows = rows;
        w.cols = cols;
        w.row_bytes = row_bytes(t, cols);
        w.data = bytes.data();
    }
    Weight(const Weight&) = delete;
    Weight& operator=(const Weight&) = delete;
    ~Weight() { std::free(w.owned); }
};

std::vector<uint8_t> quantize_acts(const cpu::MatmulKernels& k, const std::vector<float>& x, int64_t n_tokens,
                                   int64_t cols, size_t& arb) {
    arb = k.act_type == DType::F32 ? size_t(cols) * 4 : row_bytes(k.act_type, cols);
    std::vector<uint8_t> a(arb * size_t(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xr = x.data() + size_t(t * cols);
        if (k.act_type == DType::F32) std::memcpy(a.data() + size_t(t) * arb, xr, size_t(cols) * 4);
        else if (k.quantize) k.quantize(xr, a.data() + size_t(t) * arb, cols);
        else REQUIRE(cpu::quantize_row(k.act_type, xr, a.data() + size_t(t) * arb, cols));
    }
    return a;
}

// gemm over [0, rows) in uneven pieces of whole row blocks (the way threads claim chunks), output stride rows + 5.
std::vector<float> run(const cpu::MatmulKernels& k, const cpu::CpuWeight& w, const std::vector<uint8_t>& act,
                       size_t arb, int64_t n_tokens) {
    const size_t stride = size_t(w.rows) + 5;
    std::vector<float> out(stride * size_t(n_tokens), NAN);
    const int64_t steps[] = {1, 3, 2};
    int i = 0;
    for (int64_t r0 = 0; r0 < w.rows;) {
        int64_t r1 = r0 + steps[i++ % 3] * k.row_block;
        if (r1 > w.rows) r1 = w.rows;
        k.gemm(w, act.data(), arb, n_tokens, r0, r1, out.data(), stride);
        r0 = r1;
    }
    return out;
}

// sum_c |w_rc| |a_tc| per (token, row) with w decoded from `gguf` (a: the activations as the kernels read them).
std::vector<double> abs_sums(DType t, const std::vector<uint8_t>& gguf, int64_t rows, int64_t cols, DType act_type,
                             const std::vector<uint8_t>& act, size_t arb, int64_t n_tokens) {
    std::vector<float> w(size_t(rows * cols)), a(size_t(n_tokens * cols));
    for (int64_t r = 0; r < rows; ++r)
        REQUIRE(cpu::dequantize_row(t, gguf.data() + size_t(r) * row_bytes(t, cols), w.data() + size_t(r * cols), cols));
    for (int64_t i = 0; i < n_tokens; ++i)
        REQUIRE(cpu::dequantize_row(act_type, act.data() + size_t(i) * arb, a.data() + size_t(i * cols), cols));
    std::vector<double> s(size_t(n_tokens * rows), 0.0);
    for (int64_t i = 0; i < n_tokens; ++i)
        for (int64_t r = 0; r < rows; ++r) {
            double sum = 0;
            for (int64_t c = 0; c < cols; ++c)
                sum += std::fabs(double(w[size_t(r * cols + c)])) * std::fabs(double(a[size_t(i * cols + c)]));
            s[size_t(i * rows + r)] = sum;
        }
    return s;
}

// The size of the terms the kernels actually add. Q4_K/Q5_K decode as d*sc*q - dmin*m: the two products are summed
// separately (and may cancel), so their magnitudes count separately; the two halves come from decoding copies of
// the weights with dmin = 0 and with d = 0. Every other type: sum |w| |a|.
std::vector<double> term_sums(DType t, const std::vector<uint8_t>& gguf, int64_t rows, int64_t cols, DType act_type,
                              const std::vector<uint8_t>& act, size_t arb, int64_t n_tokens) {
    if (t != DType::Q4_K && t != DType::Q5_K) return abs_sums(t, gguf, rows, cols, act_type, act, arb, n_tokens);
    std::vector<uint8_t> scale_part = gguf, min_part = gguf;
    const size_t bb = r1::traits(t).block_bytes;
    for (size_t off = 0; off < gguf.size(); off += bb) {
        std::memset(&scale_part[off + 2], 0, 2);  // dmin = 0
        std::memset(&min_part[off], 0, 2);        // d = 0
    }
    std::vector<double> s = abs_sums(t, scale_part, rows, cols, act_type, act, arb, n_tokens);
    const std::vector<double> m = abs_sums(t, min_part, rows, cols, act_type, act, arb, n_tokens);
    for (size_t i = 0; i < s.size(); ++i) s[i] += m[i];
    return s;
}

bool bit_exact_type(DType t) {
    switch (t) {
        case DType::Q4_0:
        case DType::Q4_1:
        case DType::Q5_0:
        case DType::Q5_1:
        case DType::Q8_0:
        case DType::IQ4_NL:
        case DType::Q2_K:
        case DType::IQ4_XS: return true;
        default: return false;
    }
}

// Bounds on |NEON - reference| / (sum of the magnitudes of the terms), u = 2^-24 (one float rounding):
//  - K-quants against the scalar family on the same Q8_K activations. Both sides sum each super-block's codes
//    exactly in integers; a super-block's float term then carries at most 3 roundings (int -> float, d * da, the
//    product) on each side, and each running float sum one rounding per super-block and per lane (ours: one
//    multiply-add, Q4_K/Q5_K two; the reference: one per super-block in each of its 8 lanes, then 8 more adds).
//    So |ours - reference| <= (3 nb + 24) u S with nb = cols / 256 super-blocks.
//  - F32/F16/BF16 against the exact (double) product with the same F32 activations: every product enters one of 8
//    float chains of cols/8 fused multiply-adds, then at most 7 more additions (chains, lanes, odd columns):
//    the classic recursive-summation bound (cols/8 + 8) u S, plus half a rounding for the exact result: we allow
//    (cols/8 + 16) u S.
double bound_for(DType t, int64_t cols) {
    const double u = std::ldexp(1.0, -24);
    if (is_float(t)) return (double(cols) / 8.0 + 16.0) * u;
    return (3.0 * double(cols / 256) + 24.0) * u;
}

const DType kAllTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0,   DType::Q4_1,
                           DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::Q4_K,   DType::Q5_K,
                           DType::Q6_K, DType::IQ4_NL, DType::IQ4_XS};

}  // namespace

TEST_CASE("neon gemm: bit-exact types equal the scalar family, the others stay within their bound") {
    const cpu::FamilyKernels* neon = neon_or_skip();
    if (!neon) return;
    int cases = 0;
    for (DType t : kAllTypes) {
        const cpu::MatmulKernels* k = neon->by_type[uint32_t(t)];
        const cpu::MatmulKernels* ref = cpu::scalar_family()->by_type[uint32_t(t)];
        REQUIRE(k != nullptr);
        REQUIRE(ref != nullptr);
        const int64_t b = block_of(t);
        struct Shape {
            int64_t rows, cols;
        };
        // Rows around the 4-row groups; cols one block, several blocks, 4096; odd for the float types.
        std::vector<Shape> shapes = {{1, b}, {6, 2 * b}, {13, 3 * b}, {9, 4096}};
        if (b == 1) shapes = {{3, 1}, {5, 7}, {11, 259}, {6, 4095}, {9, 4096}};
        double worst = 0;
        for (size_t si = 0; si < shapes.size(); ++si) {
            const Shape sh = shapes[si];
            const bool raw = si % 2 == 1;
            const std::vector<uint8_t> gguf = make_weights(t, sh.rows, sh.cols, raw);
            Weight mine(t, sh.rows, sh.cols, gguf);
            if (!is_float(t)) REQUIRE((k->repack != nullptr));
            if (k->repack) REQUIRE(k->repack(mine.w));
            for (int64_t n_tokens : {1, 2, 7, 64}) {
                if (sh.cols >= 4096 && n_tokens == 64) continue;  // the reference's time under emulation
                INFO(name_of(t) << " rows " << sh.rows << " cols " << sh.cols << " tokens " << n_tokens
                                << (raw ? " (random bytes)" : ""));
                const std::vector<float> x = make_floats(n_tokens * sh.cols);
                size_t arb = 0;
                const std::vector<uint8_t> act = quantize_acts(*k, x, n_tokens, sh.cols, arb);
                const std::vector<float> ours = run(*k, mine.w, act, arb, n_tokens);
                const size_t stride = size_t(sh.rows) + 5;
                std::vector<float> expect(ours.size(), NAN);
                if (is_float(t)) {
                    for (int64_t i = 0; i < n_tokens; ++i)
                        for (int64_t r = 0; r < sh.rows; ++r)
                            expect[size_t(i) * stride + size_t(r)] = cpu::vec_dot_f32_dequant(
                                t, sh.cols, gguf.data() + size_t(r) * mine.w.row_bytes, x.data() + size_t(i * sh.cols));
                } else {
                    REQUIRE(k->act_type == ref->act_type);
                    Weight rows(t, sh.rows, sh.cols, gguf);
                    expect = run(*ref, rows.w, act, arb, n_tokens);
                }
                int bad = 0;
                if (bit_exact_type(t)) {
                    for (size_t o = 0; o < ours.size(); ++o) {
                        const bool same = std::memcmp(&ours[o], &expect[o], 4) == 0;
                        if (!same && bad++ < 5)
                            MESSAGE("output " << o << ": ours " << ours[o] << ", scalar " << expect[o]);
                    }
                } else {
                    const std::vector<double> s =
                        term_sums(t, gguf, sh.rows, sh.cols, k->act_type, act, arb, n_tokens);
                    const double bound = bound_for(t, sh.cols);
                    for (int64_t i = 0; i < n_tokens; ++i) {
                        for (int64_t r = 0; r < sh.rows; ++r) {
                            const size_t o = size_t(i) * stride + size_t(r);
                            const double scale = s[size_t(i * sh.rows + r)];
                            const double rel = std::fabs(double(ours[o]) - double(expect[o])) / (scale > 0 ? scale : 1.0);
                            if (!(rel <= bound) && bad++ < 5)
                                MESSAGE("token " << i << " row " << r << ": ours " << ours[o] << ", reference "
                                                 << expect[o] << ", error " << rel << " of the terms, bound " << bound);
                            if (rel > worst) worst = rel;
                        }
                        for (size_t o = size_t(i) * stride + size_t(sh.rows); o < size_t(i + 1) * stride; ++o)
                            if (!std::isnan(ours[o]) && bad++ < 5) MESSAGE("written outside the rows at " << o);
                    }
                }
                CHECK(bad == 0);
                ++cases;
            }
        }
        if (!bit_exact_type(t))
            MESSAGE(name_of(t) << ": largest error " << worst << " of the terms' magnitude (bound at 4096 columns "
                               << bound_for(t, 4096) << ")");
    }
    MESSAGE(cases << " NEON gemm cases");
}

TEST_CASE("neon 4-row layout: sizes, row ranges inside the matrix, padding rows, GGUF rows") {
    const cpu::FamilyKernels* neon = neon_or_skip();
    if (!neon) return;
    for (DType t : kAllTypes) {
        if (is_float(t)) continue;
        const cpu::MatmulKernels& k = *neon->by_type[uint32_t(t)];
        const cpu::MatmulKernels& ref = *cpu::scalar_family()->by_type[uint32_t(t)];
        REQUIRE(k.row_block == 4);
        const int64_t cols = 2 * block_of(t), n_tokens = 5;
        for (int64_t rows : {1, 2, 3, 4, 5, 7, 13}) {
            INFO(name_of(t) << " rows " << rows);
            const std::vector<uint8_t> gguf = make_weights(t, rows, cols, rows % 2 == 0);
            Weight mine(t, rows, cols, gguf), plain(t, rows, cols, gguf);
            REQUIRE(k.repack(mine.w));
            CHECK(mine.w.layout != 0);
            CHECK(mine.w.data == mine.w.owned);
            // The GGUF bytes of the rows padded to a multiple of 4; IQ4_XS keeps its 8 scales unpacked (2 bytes
            // more per row).
            const size_t padded = gguf.size() / size_t(rows) * size_t((rows + 3) / 4 * 4);
            CHECK(mine.w.owned_bytes == (t == DType::IQ4_XS ? padded / 136 * 138 : padded));
            CHECK(!k.repack(mine.w));  // a second repack leaves the weight alone

            const std::vector<float> x = make_floats(n_tokens * cols);
            size_t arb = 0;
            const std::vector<uint8_t> act = quantize_acts(k, x, n_tokens, cols, arb);
            // One call per row range [r0, r1): everything else keeps its sentinel.
            for (int64_t r0 = 0; r0 < rows; r0 += 4) {
                for (int64_t r1 : {r0 + 4, rows}) {
                    if (r1 > rows || r1 <= r0) continue;
                    std::vector<float> ours(size_t(rows * n_tokens), -7.0f), expect(ours.size(), -7.0f);
                    k.gemm(mine.w, act.data(), arb, n_tokens, r0, r1, ours.data(), size_t(rows));
                    ref.gemm(plain.w, act.data(), arb, n_tokens, r0, r1, expect.data(), size_t(rows));
                    INFO("range " << r0 << " .. " << r1);
                    for (size_t o = 0; o < ours.size(); ++o) {
                        const int64_t r = int64_t(o) % rows;
                        if (r < r0 || r >= r1) REQUIRE(ours[o] == -7.0f);
                    }
                    if (bit_exact_type(t)) {
                        CHECK(std::memcmp(ours.data(), expect.data(), ours.size() * 4) == 0);
                    } else {
                        const std::vector<double> terms = term_sums(t, gguf, rows, cols, k.act_type, act, arb, n_tokens);
                        for (size_t o = 0; o < ours.size(); ++o)
                            CHECK(std::fabs(double(ours[o]) - double(expect[o])) <= bound_for(t, cols) * terms[o]);
                    }
                }
            }
            // Weights left in GGUF rows are multiplied by the scalar kernels: identical results.
            std::vector<float> a(size_t(rows * n_tokens)), b(a.size());
            k.gemm(plain.w, act.data(), arb, n_tokens, 0, rows, a.data(), size_t(rows));
            ref.gemm(plain.w, act.data(), arb, n_tokens, 0, rows, b.data(), size_t(rows));
            CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
        }
    }
}
