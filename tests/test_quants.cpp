// The scalar reference quants (backends/cpu/quants): decoding and encoding against ggml's own output in
// ../shared/fixtures/quant, round trips and dot products on fresh random data, and the fp16/bf16
// conversions (exhaustively where the domain is 16 bits).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../backends/cpu/quants/fp16.h"
#include "../backends/cpu/quants/quants.h"
#include "test_util.h"

using r1::DType;
namespace q = r1::cpu;

namespace {

struct TypeCase {
    const char* name;  // fixture file prefix
    DType type;
};

// Every type with fixtures, i.e. every weight type r1 reads besides F32.
const TypeCase kFixtureTypes[] = {
    {"F16", DType::F16},     {"BF16", DType::BF16},     {"Q8_0", DType::Q8_0}, {"Q4_0", DType::Q4_0},
    {"Q4_1", DType::Q4_1},   {"Q5_0", DType::Q5_0},     {"Q5_1", DType::Q5_1}, {"Q2_K", DType::Q2_K},
    {"Q3_K", DType::Q3_K},   {"Q4_K", DType::Q4_K},     {"Q5_K", DType::Q5_K}, {"Q6_K", DType::Q6_K},
    {"IQ4_NL", DType::IQ4_NL}, {"IQ4_XS", DType::IQ4_XS},
};

constexpr int kRows = 16;
constexpr int kCols = 512;

std::vector<float> as_floats(const std::vector<unsigned char>& bytes) {
    std::vector<float> out(bytes.size() / sizeof(float));
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
    return out;
}

size_t row_bytes(DType t, int64_t n) { return static_cast<size_t>(r1::dtype_row_bytes(t, static_cast<uint64_t>(n))); }

// ||a - b|| / ||b|| in double; 0 when both are zero, inf when only b is.
double rel_l2(const float* a, const float* b, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
        num += d * d;
        den += static_cast<double>(b[i]) * static_cast<double>(b[i]);
    }
    if (den == 0) return num == 0 ? 0.0 : INFINITY;
    return std::sqrt(num / den);
}

// Bitwise comparison of two float arrays; on mismatch a report of the first few differing indices and the
// largest difference.
bool same_bits(const float* got, const float* want, int64_t n, std::string& report) {
    int64_t mismatches = 0;
    double max_diff = 0;
    int64_t max_at = -1;
    char line[200];
    for (int64_t i = 0; i < n; ++i) {
        if (q::f32_bits(got[i]) == q::f32_bits(want[i])) continue;
        if (mismatches < 5) {
            std::snprintf(line, sizeof line, "  [%lld] got %.9g (0x%08x) want %.9g (0x%08x)\n", static_cast<long long>(i),
                          static_cast<double>(got[i]), q::f32_bits(got[i]), static_cast<double>(want[i]),
                          q::f32_bits(want[i]));
            report += line;
        }
        const double diff = std::fabs(static_cast<double>(got[i]) - static_cast<double>(want[i]));
        if (!(diff <= max_diff)) {  // also catches NaN
            max_diff = diff;
            max_at = i;
        }
        ++mismatches;
    }
    if (mismatches > 0) {
        std::snprintf(line, sizeof line, "  %lld of %lld values differ; largest difference %.6g at [%lld]\n",
                      static_cast<long long>(mismatches), static_cast<long long>(n), max_diff,
                      static_cast<long long>(max_at));
        report += line;
    }
    return mismatches == 0;
}

}  // namespace

// ---- ggml fixtures -------------------------------------------------------------------------------------------

TEST_CASE("dequantize_row reproduces ggml's decoding bit for bit") {
    R1_REQUIRE_FIXTURES(dir);
    for (const TypeCase& tc : kFixtureTypes) {
        const std::string name = tc.name;
        CAPTURE(name);
        std::vector<unsigned char> blocks, deq_bytes;
        REQUIRE(r1test::read_file(dir + "/quant/" + tc.name + ".blocks", blocks));
        REQUIRE(r1test::read_file(dir + "/quant/" + tc.name + ".deq.f32", deq_bytes));
        const size_t rb = row_bytes(tc.type, kCols);
        REQUIRE(blocks.size() == rb * kRows);
        const std::vector<float> want = as_floats(deq_bytes);
        REQUIRE(want.size() == static_cast<size_t>(kRows * kCols));

        std::vector<float> got(want.size());
        for (int r = 0; r < kRows; ++r) {
            REQUIRE(q::dequantize_row(tc.type, blocks.data() + r * rb, got.data() + r * kCols, kCols));
        }
        std::string report;
        const bool ok = same_bits(got.data(), want.data(), kRows * kCols, report);
        CHECK_MESSAGE(ok, name << " decoding differs from ggml:\n" << report);
        if (ok) MESSAGE(name << ": dequantize bit-exact (" << kRows * kCols << " values)");
    }
}

TEST_CASE("quantize_row reproduces ggml_quantize_chunk byte for byte") {
    R1_REQUIRE_FIXTURES(dir);
    for (const TypeCase& tc : kFixtureTypes) {
        const std::string name = tc.name;
        CAPTURE(name);
        std::vector<unsigned char> src_bytes, want, deq_bytes;
        REQUIRE(r1test::read_file(dir + "/quant/" + tc.name + ".src.f32", src_bytes));
        REQUIRE(r1test::read_file(dir + "/quant/" + tc.name + ".blocks", want));
        REQUIRE(r1test::read_file(dir + "/quant/" + tc.name + ".deq.f32", deq_bytes));
        const std::vector<float> src = as_floats(src_bytes);
        const std::vector<float> ggml_deq = as_floats(deq_bytes);
        const size_t rb = row_bytes(tc.type, kCols);
        REQUIRE(want.size() == rb * kRows);

        std::vector<unsigned char> got(want.size(), 0xAB);
        for (int r = 0; r < kRows; ++r) {
            REQUIRE(q::quantize_row(tc.type, src.data() + r * kCols, got.data() + r * rb, kCols));
        }
        // Per row: byte-exact, or (reported) the reconstruction error compared with ggml's.
        const size_t qk = r1::traits(tc.type).block_elements;
        const size_t bb = r1::traits(tc.type).block_bytes;
        int rows_exact = 0;
        size_t blocks_differ = 0;
        std::string report;
        std::vector<float> mine(kCols);
        for (int r = 0; r < kRows; ++r) {
            const unsigned char* g = got.data() + r * rb;
            const unsigned char* w = want.data() + r * rb;
            if (std::memcmp(g, w, rb) == 0) {
                ++rows_exact;
                continue;
            }
            for (size_t b = 0; b < kCols / qk; ++b) blocks_differ += std::memcmp(g + b * bb, w + b * bb, bb) != 0;
            REQUIRE(q::dequantize_row(tc.type, g, mine.data(), kCols));
            const float* x = src.data() + r * kCols;
            const double e_mine = rel_l2(mine.data(), x, kCols);
            const double e_ggml = rel_l2(ggml_deq.data() + r * kCols, x, kCols);
            report += "  row " + std::to_string(r) + ": rel error " + std::to_string(e_mine) + " vs ggml " +
                      std::to_string(e_ggml) + "\n";
            // Not byte-exact: the error must at least be no worse than ggml's (1% slack).
            CHECK_MESSAGE(e_mine <= e_ggml * 1.01 + 1e-12, name << " row " << r << " error " << e_mine
                                                                   << " is worse than ggml's " << e_ggml);
        }
        MESSAGE(name << ": quantize " << rows_exact << "/" << kRows << " rows byte-exact"
                        << (blocks_differ ? ", " + std::to_string(blocks_differ) + " blocks differ:\n" + report
                                          : std::string()));
        CHECK_MESSAGE(rows_exact == kRows, name << " encoding differs from ggml's");
    }
}

// ---- round trips on fresh random data ---------------------------------------------------------------------

namespace {

struct RoundTripCase {
    DType type;
    // Bound on ||dequant(quant(x)) - x|| / ||x|| per row of Gaussian values. A b-bit uniform grid with step D
    // has a typical error of D / sqrt(12) per value, and the step is set by the block's extreme values
    // (about 2.5 sigma among 32 Gaussian values), which gives the "typical" figures below; ggml measures the
    // same on the N(0, 1) row of the fixtures (quant.json). A row of a single block fluctuates far more than
    // that (one outlier stretches the grid for everyone), so each bound is 1.25x the largest error seen over
    // 10^5 random single-block rows per scale (sigma 1, 0.02, 2e-3, 250): it should never fail by chance.
    double bound;
};

const RoundTripCase kRoundTrip[] = {
    {DType::F16, 4.9e-4},   // exact bound: 10 explicit mantissa bits, relative rounding <= 2^-11 per value
    {DType::BF16, 3.9e-3},  // exact bound: 7 explicit mantissa bits, <= 2^-8
    {DType::Q8_0, 0.0135},  // step amax/127: typical 2.5/127/sqrt(12) = 0.0057 (ggml 0.0054); tail 0.0108
    {DType::Q4_0, 0.22},    // step amax/8, typical 0.090 (ggml 0.090); +amax clamps to 7/8 of it; tail 0.18
    {DType::Q4_1, 0.17},    // step range/15, typical 0.096 (ggml 0.086); tail 0.139
    {DType::Q5_0, 0.11},    // half of Q4_0's step (ggml 0.043); tail 0.087
    {DType::Q5_1, 0.085},   // half of Q4_1's step (ggml 0.039); tail 0.065
    {DType::Q2_K, 0.48},    // 4 levels per 16 values, 4-bit scales (ggml 0.31); tail 0.39
    {DType::Q3_K, 0.24},    // 8 levels per 16, 6-bit scales (ggml 0.16); tail 0.19
    {DType::Q4_K, 0.11},    // 16 levels per 32 with an offset, 6-bit scales (ggml 0.074); tail 0.087
    {DType::Q5_K, 0.056},   // 32 levels (ggml 0.038); tail 0.044
    {DType::Q6_K, 0.030},   // 64 levels per 16, 8-bit scales (ggml 0.0185); tail 0.024
    {DType::IQ4_NL, 0.17},  // 16 non-uniform levels per 32 (ggml 0.079); tail 0.134
    {DType::IQ4_XS, 0.12},  // as IQ4_NL with 6-bit block scales over 256 values (ggml 0.081); tail 0.093
};

}  // namespace

TEST_CASE("quantize then dequantize: random rows of odd lengths stay within each type's error bound") {
    const unsigned seed = std::random_device{}();
    MESSAGE("round-trip seed " << seed);
    std::mt19937 rng(seed);
    for (const RoundTripCase& rc : kRoundTrip) {
        const std::string name = r1::dtype_name(static_cast<uint32_t>(rc.type));
        CAPTURE(name);
        const int64_t qk = r1::traits(rc.type).block_elements == 1 ? 32 : r1::traits(rc.type).block_elements;
        double worst = 0;
        for (int64_t nblocks : {1, 3, 7, 33}) {
            const int64_t n = nblocks * qk;
            // Much smaller scales put the fp16 (super-)block scales deep below the fp16 normal range
            // (6.1e-5), where they keep only a few significant bits: a limit of the formats, not of the code
            // (ggml's fixture row 11, N(0, 1e-6), decodes with errors from 1 to 3). The edge-row test covers them.
            for (double sigma : {1.0, 0.02, 2e-3, 250.0}) {
                const double bound = rc.bound;
                std::normal_distribution<float> dist(0.0f, static_cast<float>(sigma));
                std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
                for (float& v : x) v = dist(rng);
                // The encoder must write exactly row_bytes: guard bytes after the row stay untouched.
                const size_t rb = row_bytes(rc.type, n);
                std::vector<unsigned char> blocks(rb + 16, 0xCD);
                REQUIRE(q::quantize_row(rc.type, x.data(), blocks.data(), n));
                for (size_t i = rb; i < blocks.size(); ++i) REQUIRE(blocks[i] == 0xCD);
                REQUIRE(q::dequantize_row(rc.type, blocks.data(), y.data(), n));
                const double e = rel_l2(y.data(), x.data(), n);
                CHECK_MESSAGE(e <= bound, name << " n=" << n << " sigma=" << sigma << ": rel error " << e
                                               << " above " << bound << " (seed " << seed << ")");
                if (e > worst) worst = e;
            }
        }
        MESSAGE(name << ": worst round-trip rel error " << worst << " (bound " << rc.bound << ")");
    }
}

TEST_CASE("edge rows: zeros, constants and tiny values encode and decode cleanly") {
    for (const RoundTripCase& rc : kRoundTrip) {
        const std::string name = r1::dtype_name(static_cast<uint32_t>(rc.type));
        CAPTURE(name);
        const int64_t n = 512;
        std::vector<unsigned char> blocks(row_bytes(rc.type, n));
        std::vector<float> x(n), y(n);
        // All zeros decode to zeros (IQ4_XS stores d = -0, decoding to -0 or 0: compare values, not bits).
        std::fill(x.begin(), x.end(), 0.0f);
        REQUIRE(q::quantize_row(rc.type, x.data(), blocks.data(), n));
        REQUIRE(q::dequantize_row(rc.type, blocks.data(), y.data(), n));
        for (int64_t i = 0; i < n; ++i) REQUIRE(y[i] == 0.0f);
        // Values far below the fp16 range: finite output, never NaN.
        for (int64_t i = 0; i < n; ++i) x[i] = (i % 2 ? 1e-9f : -3e-10f) * static_cast<float>(i % 7);
        REQUIRE(q::quantize_row(rc.type, x.data(), blocks.data(), n));
        REQUIRE(q::dequantize_row(rc.type, blocks.data(), y.data(), n));
        for (int64_t i = 0; i < n; ++i) REQUIRE(std::isfinite(y[i]));
    }
}

// ---- dot products --------------------------------------------------------------------------------------------
//
// Error measure: |got - ref| / sum_i |w_i a_i|. A float sum of k terms carries an error of at most about
// k * 2^-24 * sum|terms|; normalising by sum|w a| instead of |ref| keeps the measure meaningful when the terms
// cancel. vec_dot sums one float term per block (at most 128 blocks at n = 4096 here, so <= 7.6e-6 in the
// worst case, ~1e-6 typically) on top of exact integer sums, hence the bound 1e-5.

namespace {

double dot_scale(const std::vector<float>& w, const std::vector<float>& a) {
    double s = 0;
    for (size_t i = 0; i < w.size(); ++i) s += std::fabs(static_cast<double>(w[i]) * static_cast<double>(a[i]));
    return s;
}

double dot_double(const std::vector<float>& w, const std::vector<float>& a) {
    double s = 0;
    for (size_t i = 0; i < w.size(); ++i) s += static_cast<double>(w[i]) * static_cast<double>(a[i]);
    return s;
}

}  // namespace

TEST_CASE("vec_dot matches a double-precision dot of the decoded rows") {
    const unsigned seed = std::random_device{}();
    MESSAGE("dot-product seed " << seed);
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    const DType kWeights[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0, DType::Q4_0,
                              DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K,
                              DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_NL, DType::IQ4_XS};
    for (DType wt : kWeights) {
        const DType at = q::activation_type(wt);
        const std::string name = r1::dtype_name(static_cast<uint32_t>(wt));
        CAPTURE(name);
        const int64_t qk = r1::traits(wt).block_elements;
        double worst_q = 0, worst_f = 0;
        for (int64_t n : {1, 7, 32, 256, 512, 4096}) {
            if (n % qk != 0) continue;
            for (int trial = 0; trial < 4; ++trial) {
                std::vector<float> w(static_cast<size_t>(n)), x(static_cast<size_t>(n));
                const float wscale = trial == 3 ? 0.02f : 1.0f, xscale = trial == 2 ? 40.0f : 1.0f;
                for (float& v : w) v = dist(rng) * wscale;
                for (float& v : x) v = dist(rng) * xscale;
                if (trial == 1) {  // an offset, so that Q4_1/Q5_1/K-quant mins and Q8_1's sum term matter
                    for (float& v : w) v += 0.7f;
                    for (float& v : x) v += 0.3f;
                }
                std::vector<unsigned char> wq(row_bytes(wt, n)), xq(row_bytes(at, n));
                REQUIRE(q::quantize_row(wt, w.data(), wq.data(), n));
                REQUIRE(q::quantize_row(at, x.data(), xq.data(), n));
                std::vector<float> wd(static_cast<size_t>(n)), xd(static_cast<size_t>(n));
                REQUIRE(q::dequantize_row(wt, wq.data(), wd.data(), n));
                REQUIRE(q::dequantize_row(at, xq.data(), xd.data(), n));

                // Reference for vec_dot: the decoded rows, in double. Q8_1 carries its own block sum s = d*sum(q)
                // rounded to fp16, which the Q4_1/Q5_1 kernels use for the offset term m * s; the reference
                // uses the same stored s (that rounding is part of the format, not an error of the kernel).
                double ref = dot_double(wd, xd);
                if (at == DType::Q8_1) {
                    const auto* ab = reinterpret_cast<const q::block_q8_1*>(xq.data());
                    for (int64_t b = 0; b < n / 32; ++b) {
                        double qsum = 0;
                        for (int j = 0; j < 32; ++j) qsum += ab[b].qs[j];
                        const uint16_t m16 = wt == DType::Q4_1
                                                 ? reinterpret_cast<const q::block_q4_1*>(wq.data())[b].m
                                                 : reinterpret_cast<const q::block_q5_1*>(wq.data())[b].m;
                        const double m = q::fp16_to_fp32(m16);
                        const double s_exact = static_cast<double>(q::fp16_to_fp32(ab[b].d)) * qsum;
                        ref += m * (static_cast<double>(q::fp16_to_fp32(ab[b].s)) - s_exact);
                    }
                }
                const double scale = dot_scale(wd, xd);
                const double got = q::vec_dot(wt, n, wq.data(), xq.data());
                const double err = std::fabs(got - ref) / (scale > 0 ? scale : 1.0);
                CHECK_MESSAGE(err <= 1e-5, name << " n=" << n << " trial " << trial << ": vec_dot " << got
                                                << " vs " << ref << " (normalised error " << err << ", seed "
                                                << seed << ")");
                worst_q = std::max(worst_q, err);

                // The exact-math path: decoded weights against the float activations.
                const double ref_f = dot_double(wd, x);
                const double scale_f = dot_scale(wd, x);
                const double got_f = q::vec_dot_f32_dequant(wt, n, wq.data(), x.data());
                const double err_f = std::fabs(got_f - ref_f) / (scale_f > 0 ? scale_f : 1.0);
                CHECK_MESSAGE(err_f <= 1e-6, name << " n=" << n << ": vec_dot_f32_dequant " << got_f << " vs "
                                                  << ref_f << " (seed " << seed << ")");
                worst_f = std::max(worst_f, err_f);
            }
        }
        MESSAGE(name << " . " << std::string(r1::dtype_name(static_cast<uint32_t>(at))) << ": worst normalised error vec_dot "
                     << worst_q << ", vec_dot_f32_dequant " << worst_f);
    }
}

TEST_CASE("activation formats store what the kernels rely on") {
    std::mt19937 rng(1234);
    std::normal_distribution<float> dist(0.0f, 2.0f);
    std::vector<float> x(512);
    for (float& v : x) v = dist(rng);
    x[300] = 0;  // no effect, just a zero somewhere

    SUBCASE("Q8_1: s = d * sum(q) in fp16") {
        std::vector<q::block_q8_1> b(512 / 32);
        q::quantize_row_q8_1(x.data(), b.data(), 512);
        for (const auto& blk : b) {
            int sum = 0;
            int amax = 0;
            for (int8_t v : blk.qs) {
                sum += v;
                amax = std::max(amax, std::abs(static_cast<int>(v)));
            }
            CHECK(amax == 127);
            const float d = q::fp16_to_fp32(blk.d);
            CHECK(std::fabs(q::fp16_to_fp32(blk.s) - d * static_cast<float>(sum)) <=
                  std::fabs(d * static_cast<float>(sum)) * 1e-3f + 1e-6f);
        }
    }
    SUBCASE("Q8_K: float d, codes in -127..127, bsums of 16") {
        std::vector<q::block_q8_K> b(2);
        q::quantize_row_q8_K(x.data(), b.data(), 512);
        for (int ib = 0; ib < 2; ++ib) {
            float amax = 0;
            for (int i = 0; i < 256; ++i) amax = std::max(amax, std::fabs(x[ib * 256 + i]));
            CHECK(std::fabs(std::fabs(b[ib].d) * 127.0f - amax) <= amax * 1e-6f);
            for (int s = 0; s < 16; ++s) {
                int sum = 0;
                for (int i = 0; i < 16; ++i) {
                    CHECK(b[ib].qs[16 * s + i] >= -127);
                    sum += b[ib].qs[16 * s + i];
                }
                CHECK(b[ib].bsums[s] == sum);
            }
        }
        std::vector<float> zeros(256, 0.0f);
        q::quantize_row_q8_K(zeros.data(), b.data(), 256);
        CHECK(b[0].d == 0.0f);
        for (int s = 0; s < 16; ++s) CHECK(b[0].bsums[s] == 0);
    }
}

TEST_CASE("dispatch: pairing, supported types and argument checks") {
    CHECK(q::activation_type(DType::Q4_0) == DType::Q8_0);
    CHECK(q::activation_type(DType::Q5_0) == DType::Q8_0);
    CHECK(q::activation_type(DType::Q8_0) == DType::Q8_0);
    CHECK(q::activation_type(DType::IQ4_NL) == DType::Q8_0);
    CHECK(q::activation_type(DType::Q4_1) == DType::Q8_1);
    CHECK(q::activation_type(DType::Q5_1) == DType::Q8_1);
    for (DType t : {DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_XS}) {
        CHECK(q::activation_type(t) == DType::Q8_K);
    }
    CHECK(q::activation_type(DType::F16) == DType::F16);
    CHECK(q::activation_type(DType::BF16) == DType::BF16);
    CHECK(q::activation_type(DType::F32) == DType::F32);

    CHECK(q::is_supported(DType::Q8_K));
    CHECK_FALSE(q::is_weight_type(DType::Q8_K));
    CHECK_FALSE(q::is_supported(DType::IQ2_XXS));

    float out[64] = {};
    unsigned char buf[256] = {};
    CHECK_FALSE(q::dequantize_row(DType::IQ2_XXS, buf, out, 256));
    CHECK_FALSE(q::dequantize_row(DType::Q4_0, buf, out, 48));  // not a multiple of 32
    CHECK_FALSE(q::quantize_row(DType::Q4_K, out, buf, 64));     // not a multiple of 256
    CHECK_FALSE(q::quantize_row(DType::Q8_0, out, buf, -32));
    CHECK(std::isnan(q::vec_dot(DType::Q8_K, 256, buf, buf)));
    CHECK(std::isnan(q::vec_dot(DType::Q4_0, 33, buf, buf)));
    CHECK(std::isnan(q::vec_dot_f32_dequant(DType::TQ1_0, 256, buf, out)));
    CHECK(q::dequantize_row(DType::Q4_0, buf, out, 0));  // an empty row is valid
}

// ---- fp16 / bf16 ---------------------------------------------------------------------------------------------

namespace {

bool is_f16_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }

// The value of a finite half, computed independently in double.
double f16_value(uint16_t h) {
    const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    const double mag = e == 0 ? std::ldexp(m, -24) : std::ldexp(1024 + m, e - 25);
    return (h & 0x8000) ? -mag : mag;
}

}  // namespace

TEST_CASE("fp16: every one of the 65536 bit patterns decodes exactly and round-trips") {
    for (uint32_t u = 0; u < 65536; ++u) {
        const auto h = static_cast<uint16_t>(u);
        const float f = q::fp16_to_fp32(h);
        if (is_f16_nan(h)) {
            REQUIRE(std::isnan(f));
            REQUIRE((q::f32_bits(f) & 0x00400000u) != 0);                      // comes out quiet
            REQUIRE((q::f32_bits(f) >> 13 & 0x1ffu) == (h & 0x1ffu));          // payload kept
            const uint16_t back = q::fp32_to_fp16(f);
            REQUIRE(back == ((h & 0x8000) | 0x7e00));                          // ggml's canonical NaN, sign kept
            continue;
        }
        if ((h & 0x7fff) == 0x7c00) {
            REQUIRE(std::isinf(f));
        } else {
            REQUIRE(static_cast<double>(f) == f16_value(h));
        }
        REQUIRE(std::signbit(f) == ((h & 0x8000) != 0));
        REQUIRE(q::fp32_to_fp16(f) == h);
    }
}

TEST_CASE("fp32 -> fp16 rounds to nearest even, with subnormals, overflow and NaN") {
    auto f = [](uint32_t bits) { return q::f32_from_bits(bits); };
    const float one = 1.0f;
    CHECK(q::fp32_to_fp16(one) == 0x3c00);
    CHECK(q::fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);                 // tie -> even (down)
    CHECK(q::fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);             // tie -> even (up)
    CHECK(q::fp32_to_fp16(f(q::f32_bits(1.0f + std::ldexp(1.0f, -11)) + 1)) == 0x3c01);  // just above a tie
    CHECK(q::fp32_to_fp16(f(q::f32_bits(1.0f + std::ldexp(1.0f, -11)) - 1)) == 0x3c00);  // just below
    CHECK(q::fp32_to_fp16(-2.0f) == 0xc000);
    CHECK(q::fp32_to_fp16(0.0f) == 0x0000);
    CHECK(q::fp32_to_fp16(-0.0f) == 0x8000);
    // overflow
    CHECK(q::fp32_to_fp16(65504.0f) == 0x7bff);
    CHECK(q::fp32_to_fp16(65519.99f) == 0x7bff);
    CHECK(q::fp32_to_fp16(65520.0f) == 0x7c00);  // the tie above the largest half goes to inf (even)
    CHECK(q::fp32_to_fp16(1e10f) == 0x7c00);
    CHECK(q::fp32_to_fp16(-1e10f) == 0xfc00);
    CHECK(q::fp32_to_fp16(INFINITY) == 0x7c00);
    CHECK(q::fp32_to_fp16(-INFINITY) == 0xfc00);
    // subnormal halves
    CHECK(q::fp32_to_fp16(std::ldexp(1.0f, -24)) == 0x0001);
    CHECK(q::fp32_to_fp16(std::ldexp(1.0f, -25)) == 0x0000);                      // tie -> 0
    CHECK(q::fp32_to_fp16(f(q::f32_bits(std::ldexp(1.0f, -25)) + 1)) == 0x0001);  // above the tie
    CHECK(q::fp32_to_fp16(3 * std::ldexp(1.0f, -25)) == 0x0002);                  // 1.5 ulp -> 2
    CHECK(q::fp32_to_fp16(5 * std::ldexp(1.0f, -25)) == 0x0002);                  // 2.5 ulp -> 2
    CHECK(q::fp32_to_fp16(-5 * std::ldexp(1.0f, -25)) == 0x8002);
    CHECK(q::fp32_to_fp16(1023 * std::ldexp(1.0f, -24)) == 0x03ff);
    CHECK(q::fp32_to_fp16(1023.5f * std::ldexp(1.0f, -24)) == 0x0400);  // rounds up into the smallest normal
    CHECK(q::fp32_to_fp16(std::ldexp(1.0f, -14)) == 0x0400);
    CHECK(q::fp32_to_fp16(1e-40f) == 0x0000);   // fp32 subnormal
    CHECK(q::fp32_to_fp16(-1e-40f) == 0x8000);
    // NaN stays NaN
    CHECK(q::fp32_to_fp16(NAN) == 0x7e00);
    CHECK(is_f16_nan(q::fp32_to_fp16(f(0x7f800001u))));  // signalling, tiny payload
    CHECK(q::fp32_to_fp16(f(0xffc00000u)) == 0xfe00);

    // Every 4099th fp32 pattern against the nearest-even choice computed in double from the two neighbours.
    for (uint64_t u = 0; u <= 0xffffffffull; u += 4099) {
        const float x = f(static_cast<uint32_t>(u));
        if (std::isnan(x)) continue;
        const uint16_t h = q::fp32_to_fp16(x);
        const double v = x;
        if (std::fabs(v) >= 65520.0) {
            REQUIRE(h == (std::signbit(x) ? 0xfc00 : 0x7c00));
            continue;
        }
        // |x| lies between the halves h and its neighbours; h must be (one of) the nearest, even on ties.
        const double got = f16_value(h);
        const uint16_t mag = h & 0x7fff;
        const uint16_t sign = h & 0x8000;
        const double below = mag > 0 ? f16_value(static_cast<uint16_t>(sign | (mag - 1))) : got;
        const double above = mag < 0x7bff ? f16_value(static_cast<uint16_t>(sign | (mag + 1))) : got;
        const double err = std::fabs(got - v);
        REQUIRE(err <= std::fabs(below - v));
        REQUIRE(err <= std::fabs(above - v));
        if (err == std::fabs(below - v) && mag > 0 && below != got) REQUIRE((mag & 1) == 0);
        if (err == std::fabs(above - v) && above != got) REQUIRE((mag & 1) == 0);
    }
}

TEST_CASE("bf16: round trip of all 65536 patterns and ggml's rounding") {
    for (uint32_t u = 0; u < 65536; ++u) {
        const auto h = static_cast<uint16_t>(u);
        const float f = q::bf16_to_fp32(h);
        REQUIRE(q::f32_bits(f) == u << 16);
        const bool nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f) != 0;
        REQUIRE(q::fp32_to_bf16(f) == (nan ? (h | 0x40) : h));  // NaNs are forced quiet
    }
    auto f = [](uint32_t bits) { return q::f32_from_bits(bits); };
    CHECK(q::fp32_to_bf16(f(0x3f808000u)) == 0x3f80);  // 1 + 2^-8: tie -> even (down)
    CHECK(q::fp32_to_bf16(f(0x3f818000u)) == 0x3f82);  // tie -> even (up)
    CHECK(q::fp32_to_bf16(f(0x3f808001u)) == 0x3f81);  // just above a tie
    CHECK(q::fp32_to_bf16(f(0x7f7fffffu)) == 0x7f80);  // FLT_MAX rounds to inf
    CHECK(q::fp32_to_bf16(f(0x00010000u)) == 0x0001);  // fp32 subnormals are kept, not flushed
    CHECK(q::fp32_to_bf16(f(0x00008000u)) == 0x0000);  // tie -> 0
    CHECK(q::fp32_to_bf16(f(0x00018000u)) == 0x0002);
    CHECK(q::fp32_to_bf16(f(0x7f800001u)) == 0x7fc0);  // NaN: top bits kept, quiet bit forced
    CHECK(q::fp32_to_bf16(f(0xff800001u)) == 0xffc0);
    CHECK(q::fp32_to_bf16(INFINITY) == 0x7f80);
    CHECK(q::fp32_to_bf16(-INFINITY) == 0xff80);
}
