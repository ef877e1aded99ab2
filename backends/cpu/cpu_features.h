// CPU features that select kernels at run time, and the machine's core count.
#pragma once

#include <string>

namespace r1::cpu {

// Kernel families, from the portable reference to the widest vectors. One binary carries all x86 families (or
// all ARM ones) and picks the best the CPU supports unless the caller forces a lower one.
enum class Isa : int {
    Scalar = 0,  // the readable reference; every other family is tested against it
    Avx2 = 1,    // AVX2 + FMA + F16C
    Avx512 = 2,  // AVX-512 F/BW/VL/DQ + VNNI
    Neon = 3,    // ARMv8 Advanced SIMD + dot product
};

const char* isa_name(Isa isa);

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false;
    bool avx512bf16 = false, avxvnni = false;
    bool neon = false, dotprod = false;
    bool intel = false;  // cpuid vendor GenuineIntel
    std::string model_name;
};

// Detected once (thread-safe).
const CpuFeatures& cpu_features();

// Whether kernels of a family can run here.
bool isa_available(Isa isa);

// The best family available on this CPU.
Isa best_isa();

// How far ahead (bytes) the x86 matmul kernels prefetch the weights they stream: 4096 on Intel, where the
// kernels were tuned with it; 0 elsewhere (on AMD Zen 4 the hardware prefetchers alone gave 20% faster
// generation, docs/BENCHMARKS.md). Only speed depends on it.
int weight_prefetch_bytes();

// Physical cores the process may run on (hyperthreads counted once); at least 1.
int physical_core_count();

}  // namespace r1::cpu
