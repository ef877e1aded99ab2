// bench_ops: throughput of the CPU backend's matmul kernels per weight type and kernel family, next to this
// machine's measured peaks (memory read bandwidth, int8 dot-product and F32 FMA rates).
//
//   one token   GB/s of weights streamed by a matrix x vector product (activation quantization included),
//               over enough copies of the matrix that they do not fit in the caches (as in a real forward pass)
//   batch       GOP/s (2 * rows * cols * tokens / time) of a 512-token product (prompt processing), quantization
//               of the activations included
//   attention   GFLOP/s (4 * head_dim per query-key pair) of causal attention with an F16 KV cache, 1.5B shapes
//               (12 query heads, 2 KV heads, head_dim 128): a 512-token prompt, and one token after 4096; items
//               handed out one at a time as cpu_backend.cpp does, and in chunks of one KV group
//
// Threads come from r1::cpu::ThreadPool and take row chunks as cpu_backend.cpp's run_matmul does. Times are the
// best of several runs (other work on the machine only ever makes a run slower).
//
// usage: bench_ops [--threads N] [--types q4_K,q6_K,...] [--isa best|all|avx512|avx2|scalar] [--reps N] [--quick]
//                  [--cpu-time] [--no-attention]
#include <algorithm>
#include <chrono>
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
#include "../backends/cpu/ops.h"
#include "../backends/cpu/quants/quants.h"
#include "../backends/cpu/threadpool.h"

#include <time.h>

#if defined(__x86_64__)
// GCC 12's AVX-512 headers trip -Wuninitialized when their intrinsics are inlined into target() functions.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

using r1::DType;
namespace cpu = r1::cpu;

namespace {

// --cpu-time (one thread only): the thread's CPU time instead of the wall clock, so that time the thread spends
// preempted by other processes on a busy machine does not count.
bool g_cpu_time = false;

double now() {
    if (g_cpu_time) {
        timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs f(ith, begin, end) over [0, n) in chunks, like the CPU backend's Stream::parallel.
template <class F>
void parallel(cpu::ThreadPool& pool, cpu::ChunkQueue& queue, int64_t n, int64_t chunk, F&& f) {
    if (n <= chunk || pool.size() == 1) {
        f(0, int64_t(0), n);
        return;
    }
    queue.reset(n, chunk);
    pool.run_dynamic([&](int ith, int) {
        int64_t b, e;
        while (queue.next(&b, &e)) f(ith, b, e);
    });
}

// cpu_backend.cpp's chunk_for: about eight chunks per thread, a multiple of the kernel's row block.
int64_t chunk_for(int64_t n, int n_threads, int64_t granularity) {
    int64_t per = n / (int64_t(n_threads) * 8);
    if (per < granularity) per = granularity;
    return (per + granularity - 1) / granularity * granularity;
}

struct Matrix {
    cpu::CpuWeight w;
    std::vector<uint8_t> gguf;
};

// A weight as the backend would hold it (repacked when the family repacks), or a copy of one.
void make_weight(const cpu::MatmulKernels& k, DType t, int64_t rows, int64_t cols, const std::vector<uint8_t>& gguf,
                 cpu::CpuWeight& w) {
    w = cpu::CpuWeight{};
    w.type = t;
    w.rows = rows;
    w.cols = cols;
    w.row_bytes = size_t(r1::dtype_row_bytes(t, uint64_t(cols)));
    w.data = gguf.data();
    if (k.repack) k.repack(w);
}

void copy_weight(const cpu::CpuWeight& src, const std::vector<uint8_t>& gguf, cpu::CpuWeight& dst, std::vector<uint8_t>& own) {
    dst = src;
    const size_t bytes = src.owned ? src.owned_bytes : gguf.size();
    void* p = nullptr;
    if (posix_memalign(&p, 64, bytes) != 0) std::abort();
    std::memcpy(p, src.data, bytes);
    if (src.owned) {
        dst.owned = static_cast<uint8_t*>(p);
        dst.data = dst.owned;
    } else {
        own.assign(static_cast<uint8_t*>(p), static_cast<uint8_t*>(p) + bytes);
        std::free(p);
        dst.data = own.data();
    }
}

size_t weight_bytes(const cpu::CpuWeight& w) { return w.owned ? w.owned_bytes : w.row_bytes * size_t(w.rows); }

// One matmul as run_matmul does it: quantize the activations (parallel over tokens), then the row chunks.
struct MatmulRun {
    const cpu::MatmulKernels* k;
    cpu::ThreadPool* pool;
    cpu::ChunkQueue* queue;
    std::vector<uint8_t> act;
    size_t act_row_bytes = 0;

    void operator()(const cpu::CpuWeight& w, const float* x, int64_t n_tokens, float* out) {
        const uint8_t* a = reinterpret_cast<const uint8_t*>(x);
        size_t arb = size_t(w.cols) * 4;
        if (k->act_type != DType::F32) {
            arb = size_t(r1::dtype_row_bytes(k->act_type, uint64_t(w.cols)));
            if (act.size() < arb * size_t(n_tokens)) act.resize(arb * size_t(n_tokens));
            uint8_t* dst = act.data();
            parallel(*pool, *queue, n_tokens, 1, [&](int, int64_t b, int64_t e) {
                for (int64_t t = b; t < e; ++t) {
                    if (k->quantize) k->quantize(x + t * w.cols, dst + size_t(t) * arb, w.cols);
                    else cpu::quantize_row(k->act_type, x + t * w.cols, dst + size_t(t) * arb, w.cols);
                }
            });
            a = dst;
        }
        const int64_t chunk = chunk_for(w.rows, pool->size(), k->row_block);
        parallel(*pool, *queue, w.rows, chunk, [&](int, int64_t r0, int64_t r1) {
            k->gemm(w, a, arb, n_tokens, r0, r1, out, size_t(w.rows));
        });
    }
};

// ---- machine peaks -----------------------------------------------------------------------------------------------

#if defined(__x86_64__)
__attribute__((target("avx512f"))) uint64_t stream_sum_avx512(const uint8_t* p, size_t n) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 256 <= n; i += 256) {
        s0 = _mm512_add_epi64(s0, _mm512_load_si512(p + i));
        s1 = _mm512_add_epi64(s1, _mm512_load_si512(p + i + 64));
        s2 = _mm512_add_epi64(s2, _mm512_load_si512(p + i + 128));
        s3 = _mm512_add_epi64(s3, _mm512_load_si512(p + i + 192));
    }
    return uint64_t(_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3))));
}
__attribute__((target("avx2"))) uint64_t stream_sum_avx2(const uint8_t* p, size_t n) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        s0 = _mm256_add_epi64(s0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
        s1 = _mm256_add_epi64(s1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
        s2 = _mm256_add_epi64(s2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
        s3 = _mm256_add_epi64(s3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
    }
    const __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
    return uint64_t(_mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1) + _mm256_extract_epi64(s, 2) +
                    _mm256_extract_epi64(s, 3));
}

// 12 independent accumulators (enough to cover the instructions' latency), operands kept in registers.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) int64_t vnni512_loop(int64_t iters) {
    __m512i acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_epi32(i);
    __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(5);
    for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
        for (int j = 0; j < 12; ++j) acc[j] = _mm512_dpbusd_epi32(acc[j], x, y);
        __asm__ volatile("" : "+v"(x), "+v"(y));
    }
    __m512i s = acc[0];
    for (int i = 1; i < 12; ++i) s = _mm512_add_epi32(s, acc[i]);
    return _mm512_reduce_add_epi32(s);
}
__attribute__((target("avx2"))) int64_t maddubs256_loop(int64_t iters) {
    // The AVX2 int8 idiom: maddubs (u8 x s8 -> s16 pairs) + madd with ones (-> s32) + add.
    __m256i acc[8];
    for (int i = 0; i < 8; ++i) acc[i] = _mm256_set1_epi32(i);
    __m256i x = _mm256_set1_epi8(3), y = _mm256_set1_epi8(5);
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), ones));
        __asm__ volatile("" : "+x"(x), "+x"(y));
    }
    __m256i s = acc[0];
    for (int i = 1; i < 8; ++i) s = _mm256_add_epi32(s, acc[i]);
    return _mm256_extract_epi32(s, 0);
}
__attribute__((target("avx512f"))) float fma512_loop(int64_t iters) {
    __m512 acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(float(i));
    __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(0.001f);
    for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
        for (int j = 0; j < 12; ++j) acc[j] = _mm512_fmadd_ps(acc[j], x, y);
        __asm__ volatile("" : "+v"(x), "+v"(y));
    }
    __m512 s = acc[0];
    for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}
__attribute__((target("avx2,fma"))) float fma256_loop(int64_t iters) {
    __m256 acc[10];
    for (int i = 0; i < 10; ++i) acc[i] = _mm256_set1_ps(float(i));
    __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(0.001f);
    for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 10
        for (int j = 0; j < 10; ++j) acc[j] = _mm256_fmadd_ps(acc[j], x, y);
        __asm__ volatile("" : "+x"(x), "+x"(y));
    }
    __m256 s = acc[0];
    for (int i = 1; i < 10; ++i) s = _mm256_add_ps(s, acc[i]);
    float v[8];
    _mm256_storeu_ps(v, s);
    return v[0];
}
#endif

volatile int64_t g_sink;

// Best time of `reps` runs of f() on every thread of the pool at once; returns the seconds of one run.
template <class F>
double best_parallel(cpu::ThreadPool& pool, int reps, F&& f) {
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const double t0 = now();
        pool.run([&](int ith, int nth) { f(ith, nth); });
        best = std::min(best, now() - t0);
    }
    return best;
}

struct Peaks {
    double bw[2] = {0, 0};  // GB/s with 1 and 2 threads
    double int8 = 0;        // GOP/s per the family's int8 idiom, all threads
    double int8_1 = 0;      // one thread
    double fma = 0, fma_1 = 0;
};

Peaks measure_peaks(cpu::Isa isa, int n_threads, int reps) {
    Peaks p;
#if defined(__x86_64__)
    const size_t n = size_t(1) << 30;
    void* mem = nullptr;
    if (posix_memalign(&mem, 4096, n) != 0) return p;
    auto* buf = static_cast<uint8_t*>(mem);
    std::memset(buf, 1, n);
    const bool wide = isa == cpu::Isa::Avx512;
    for (int threads = 1; threads <= (g_cpu_time ? 1 : 2); ++threads) {
        cpu::ThreadPool pool(threads);
        const double t = best_parallel(pool, reps, [&](int ith, int nth) {
            const size_t part = n / size_t(nth);
            g_sink = int64_t(wide ? stream_sum_avx512(buf + part * size_t(ith), part) : stream_sum_avx2(buf + part * size_t(ith), part));
        });
        p.bw[threads - 1] = double(n) / t / 1e9;
    }
    std::free(mem);
    const int64_t iters = 20000000;
    for (int threads : {1, n_threads}) {
        cpu::ThreadPool pool(threads);
        const double ti = best_parallel(pool, reps, [&](int, int) { g_sink = wide ? vnni512_loop(iters) : maddubs256_loop(iters); });
        const double tf = best_parallel(pool, reps, [&](int, int) { g_sink = int64_t(wide ? fma512_loop(iters) : fma256_loop(iters)); });
        // ops: 2 per multiply-add; vpdpbusd zmm = 64 MACs, the AVX2 idiom = 32 MACs; FMA zmm = 16, ymm = 8.
        const double int8 = double(threads) * double(iters) * (wide ? 12.0 * 128 : 8.0 * 64) / ti / 1e9;
        const double fma = double(threads) * double(iters) * (wide ? 12.0 * 32 : 10.0 * 16) / tf / 1e9;
        if (threads == 1) {
            p.int8_1 = int8;
            p.fma_1 = fma;
        }
        p.int8 = int8;
        p.fma = fma;
    }
#else
    (void)isa, (void)n_threads, (void)reps;
#endif
    return p;
}

// ---- matmul throughput -------------------------------------------------------------------------------------------

std::vector<uint8_t> random_weights(DType t, int64_t rows, int64_t cols, std::mt19937& rng) {
    const size_t rb = size_t(r1::dtype_row_bytes(t, uint64_t(cols)));
    std::vector<uint8_t> w(rb * size_t(rows));
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(cols));
    // Quantizing every row with the reference encoders (scale searches) is slow for big matrices: quantize a few
    // distinct rows and repeat them; the kernels' speed does not depend on the values.
    const int64_t distinct = std::min<int64_t>(rows, 64);
    for (int64_t r = 0; r < distinct; ++r) {
        for (auto& v : x) v = nd(rng);
        cpu::quantize_row(t, x.data(), w.data() + size_t(r) * rb, cols);
    }
    for (int64_t r = distinct; r < rows; ++r) std::memcpy(w.data() + size_t(r) * rb, w.data() + size_t(r % distinct) * rb, rb);
    return w;
}

struct Result {
    double gbs_1tok[2] = {0, 0};  // per shape
    double gops_batch = 0;
    double weight_mb[2] = {0, 0};
};

Result bench_type(cpu::Isa isa, DType t, int n_threads, int reps, bool quick, std::mt19937& rng) {
    Result res;
    const cpu::MatmulKernels* k = cpu::matmul_kernels(isa, t, false);
    if (!k) return res;
    cpu::ThreadPool pool(n_threads);
    cpu::ChunkQueue queue;
    MatmulRun run{k, &pool, &queue, {}, 0};
    const int64_t shapes[2][2] = {{1536, 8960}, {8960, 1536}};  // {rows, cols}: ffn_down, ffn_up of a 1.5B model
    for (int s = 0; s < 2; ++s) {
        const int64_t rows = shapes[s][0], cols = shapes[s][1];
        std::vector<uint8_t> gguf = random_weights(t, rows, cols, rng);
        cpu::CpuWeight base;
        make_weight(*k, t, rows, cols, gguf, base);
        const size_t bytes = weight_bytes(base);
        res.weight_mb[s] = double(bytes) / 1e6;
        // One token: cycle through copies totalling >= 1 GiB (the L3 of a server part can hold a few matrices).
        const size_t want = quick ? (size_t(256) << 20) : (size_t(1) << 30);
        const size_t copies = std::max<size_t>(2, (want + bytes - 1) / bytes);
        std::vector<cpu::CpuWeight> ws(copies);
        std::vector<std::vector<uint8_t>> owns(copies);
        for (size_t c = 0; c < copies; ++c) copy_weight(base, gguf, ws[c], owns[c]);
        std::vector<float> x(static_cast<size_t>(cols)), out(static_cast<size_t>(rows));
        std::normal_distribution<float> nd(0.0f, 1.0f);
        for (auto& v : x) v = nd(rng);
        double best = 1e30;
        for (int r = 0; r < reps; ++r) {
            const double t0 = now();
            for (size_t c = 0; c < copies; ++c) run(ws[c], x.data(), 1, out.data());
            best = std::min(best, (now() - t0) / double(copies));
        }
        res.gbs_1tok[s] = double(bytes) / best / 1e9;
        for (auto& w : ws) std::free(w.owned);
        // Batch of 512 tokens on the first copy (compute-bound: the matrix stays in the caches).
        const int64_t n_tokens = quick ? 128 : 512;
        std::vector<float> xb(size_t(n_tokens * cols)), ob(size_t(n_tokens * rows));
        for (auto& v : xb) v = nd(rng);
        // Scalar kernels are slow: one run is enough to rank them.
        const int breps = isa == cpu::Isa::Scalar ? 1 : reps;
        best = 1e30;
        for (int r = 0; r < breps; ++r) {
            const double t0 = now();
            run(base, xb.data(), n_tokens, ob.data());
            best = std::min(best, now() - t0);
        }
        res.gops_batch += 0.5 * 2.0 * double(rows) * double(cols) * double(n_tokens) / best / 1e9;
        std::free(base.owned);
    }
    return res;
}

// Attention over an F16 cache: GFLOP/s for n_tokens queries at positions pos0.., items in chunks of `chunk`.
double bench_attention(cpu::Isa isa, int n_threads, int reps, int64_t pos0, int64_t n_tokens, int64_t chunk,
                       std::mt19937& rng) {
    const cpu::OpKernels& ok = *cpu::op_kernels(isa);
    const int n_heads = 12, n_kv = 2, hd = 128;
    const int64_t n_ctx = pos0 + n_tokens;
    const size_t kv_row = size_t(r1::dtype_row_bytes(DType::F16, uint64_t(n_kv * hd)));
    std::vector<uint8_t> k(kv_row * size_t(n_ctx)), v(k.size());
    std::vector<float> row(size_t(n_kv * hd)), q(size_t(n_tokens * n_heads * hd)), out(q.size());
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (int64_t j = 0; j < n_ctx; ++j) {
        for (auto& x : row) x = nd(rng);
        cpu::quantize_row(DType::F16, row.data(), k.data() + size_t(j) * kv_row, int64_t(row.size()));
        for (auto& x : row) x = nd(rng);
        cpu::quantize_row(DType::F16, row.data(), v.data() + size_t(j) * kv_row, int64_t(row.size()));
    }
    for (auto& x : q) x = nd(rng);
    cpu::AttentionArgs a;
    a.q = reinterpret_cast<const uint8_t*>(q.data());
    a.q_stride = size_t(n_heads * hd) * 4;
    a.kv_type = DType::F16;
    a.k = k.data();
    a.v = v.data();
    a.k_stride = a.v_stride = kv_row;
    a.out = reinterpret_cast<uint8_t*>(out.data());
    a.out_stride = a.q_stride;
    a.n_heads = n_heads;
    a.n_kv_heads = n_kv;
    a.head_dim = hd;
    a.pos0 = pos0;
    a.scale = 1.0f / std::sqrt(float(hd));
    const size_t floats = ok.attention_scratch_floats(n_ctx, hd);
    std::vector<float> scratch(floats * size_t(n_threads));
    cpu::ThreadPool pool(n_threads);
    cpu::ChunkQueue queue;
    double pairs = 0;
    for (int64_t t = 0; t < n_tokens; ++t) pairs += double(pos0 + t + 1) * n_heads;
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const double t0 = now();
        parallel(pool, queue, n_tokens * n_heads, chunk, [&](int ith, int64_t i0, int64_t i1) {
            ok.attention(a, i0, i1, scratch.data() + size_t(ith) * floats);
        });
        best = std::min(best, now() - t0);
    }
    return pairs * 4.0 * hd / best / 1e9;
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    size_t b = 0;
    while (b <= s.size()) {
        size_t e = s.find(',', b);
        if (e == std::string::npos) e = s.size();
        if (e > b) out.push_back(s.substr(b, e - b));
        b = e + 1;
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    int n_threads = cpu::physical_core_count();
    int reps = 5;
    bool quick = false, skip_attention = false;
    std::string isa_arg = "best";
    std::vector<std::string> type_names = {"q4_K", "q6_K", "q8_0", "q5_0", "f16",  "q4_0", "q4_1", "q5_1",
                                           "q2_K", "q3_K", "q5_K", "iq4_nl", "iq4_xs", "bf16", "f32"};
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) n_threads = std::max(1, std::atoi(argv[++i]));
        else if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
        else if (a == "--types" && i + 1 < argc) type_names = split(argv[++i]);
        else if (a == "--isa" && i + 1 < argc) isa_arg = argv[++i];
        else if (a == "--quick") quick = true, reps = std::min(reps, 3);
        else if (a == "--cpu-time") g_cpu_time = true;
        else if (a == "--no-attention") skip_attention = true;
        else {
            std::fprintf(stderr,
                         "usage: %s [--threads N] [--types q4_K,q6_K,...] [--isa best|all|avx512|avx2|scalar] [--reps N] "
                         "[--quick] [--cpu-time] [--no-attention]\n",
                         argv[0]);
            return a == "--help" || a == "-h" ? 0 : 2;
        }
    }
    if (g_cpu_time) n_threads = 1;
    std::vector<cpu::Isa> isas;
    const cpu::Isa all[] = {cpu::Isa::Avx512, cpu::Isa::Avx2, cpu::Isa::Neon, cpu::Isa::Scalar};
    for (cpu::Isa i : all) {
        if (!cpu::isa_available(i)) continue;
        if (isa_arg == "best" ? i == cpu::best_isa() : isa_arg == "all" || isa_arg == cpu::isa_name(i)) isas.push_back(i);
    }
    if (isas.empty()) {
        std::fprintf(stderr, "no kernel family '%s' available on this CPU\n", isa_arg.c_str());
        return 2;
    }
    std::printf("bench_ops: %s, %d thread(s), best of %d%s; weights are repacked as the backend repacks them\n",
                cpu::cpu_features().model_name.c_str(), n_threads, reps, g_cpu_time ? ", thread CPU time" : "");
    std::mt19937 rng(1234);
    for (cpu::Isa isa : isas) {
        std::printf("\n[%s]\n", cpu::isa_name(isa));
        if (isa == cpu::Isa::Avx512 || isa == cpu::Isa::Avx2) {
            const Peaks p = measure_peaks(isa, n_threads, reps);
            std::printf("  peaks: memory read %.1f GB/s (1 thread), %.1f GB/s (2 threads); int8 dot %.0f GOP/s (1 thread), "
                        "%.0f GOP/s (%d); f32 fma %.0f GFLOP/s (1 thread), %.0f GFLOP/s (%d)\n",
                        p.bw[0], p.bw[1], p.int8_1, p.int8, n_threads, p.fma_1, p.fma, n_threads);
        }
        std::printf("  %-7s %10s %10s %14s %14s %14s\n", "type", "MB 1536x8960", "MB 8960x1536", "1 tok GB/s (a)",
                    "1 tok GB/s (b)", "T=512 GOP/s");
        for (const std::string& name : type_names) {
            DType t = DType::F32;
            bool found = false;
            for (uint32_t id = 0; id < r1::kDTypeIdLimit; ++id)
                if (r1::dtype_traits(id) && name == r1::dtype_name(id)) t = DType(id), found = true;
            if (!found || !cpu::matmul_supported(t)) {
                std::printf("  %-7s unknown or unsupported type\n", name.c_str());
                continue;
            }
            const Result r = bench_type(isa, t, n_threads, reps, quick, rng);
            std::printf("  %-7s %10.1f %12.1f %14.1f %14.1f %14.1f\n", name.c_str(), r.weight_mb[0], r.weight_mb[1],
                        r.gbs_1tok[0], r.gbs_1tok[1], r.gops_batch);
            std::fflush(stdout);
        }
        if (!skip_attention) {
            const int64_t prompt = quick ? 128 : 512;
            std::printf("  attention (F16 KV, 12/2 heads x 128) GFLOP/s: %lld-token prompt %.1f (items one at a time), %.1f "
                        "(by KV group); 1 token at 4096: %.1f, %.1f\n",
                        (long long)prompt, bench_attention(isa, n_threads, reps, 0, prompt, 1, rng),
                        bench_attention(isa, n_threads, reps, 0, prompt, 6, rng),
                        bench_attention(isa, n_threads, reps, 4096, 1, 1, rng),
                        bench_attention(isa, n_threads, reps, 4096, 1, 6, rng));
        }
    }
    std::printf("\n(a) 1536 rows x 8960 cols (ffn_down), (b) 8960 x 1536 (ffn_up/gate); batch: mean of both shapes\n");
    return 0;
}
