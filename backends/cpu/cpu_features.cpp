#include "cpu_features.h"

#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include <sched.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

namespace r1::cpu {
namespace {

#if defined(__x86_64__) || defined(__i386__)
uint64_t read_xcr0() {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (uint64_t(edx) << 32) | eax;
}
#endif

CpuFeatures detect() {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid(0, &a, &b, &c, &d))
        f.intel = b == 0x756e6547u && d == 0x49656e69u && c == 0x6c65746eu;  // "Genu" "ineI" "ntel"
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        bool osxsave = c & (1u << 27);
        bool avx = c & (1u << 28);
        f.fma = c & (1u << 12);
        f.f16c = c & (1u << 29);
        // The OS must save the vector registers: XMM|YMM for AVX, plus opmask|ZMM_Hi256|Hi16_ZMM for AVX-512.
        uint64_t xcr0 = osxsave ? read_xcr0() : 0;
        bool ymm = avx && (xcr0 & 0x6) == 0x6;
        bool zmm = ymm && (xcr0 & 0xE0) == 0xE0;
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            f.avx2 = ymm && (b & (1u << 5));
            f.avx512f = zmm && (b & (1u << 16));
            f.avx512dq = zmm && (b & (1u << 17));
            f.avx512bw = zmm && (b & (1u << 30));
            f.avx512vl = zmm && (b & (1u << 31));
            f.avx512vnni = zmm && (c & (1u << 11));
        }
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
            f.avxvnni = ymm && (a & (1u << 4));
            f.avx512bf16 = zmm && (a & (1u << 5));
        }
        f.fma = f.fma && ymm;
        f.f16c = f.f16c && ymm;
    }
    unsigned brand[12];
    if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
        for (unsigned i = 0; i < 3; ++i) __get_cpuid(0x80000002 + i, &brand[4 * i], &brand[4 * i + 1], &brand[4 * i + 2], &brand[4 * i + 3]);
        f.model_name.assign(reinterpret_cast<const char*>(brand), 48);
        f.model_name.resize(f.model_name.find('\0') == std::string::npos ? 48 : f.model_name.find('\0'));
        while (!f.model_name.empty() && f.model_name.back() == ' ') f.model_name.pop_back();
    }
#elif defined(__aarch64__)
    f.neon = true;  // Advanced SIMD is mandatory on AArch64
#if defined(__linux__)
    f.dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
#endif
    if (f.model_name.empty()) {
        std::ifstream info("/proc/cpuinfo");
        std::string line;
        while (std::getline(info, line)) {
            if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
                size_t colon = line.find(':');
                if (colon != std::string::npos) f.model_name = line.substr(colon + 2);
                break;
            }
        }
    }
    if (f.model_name.empty()) f.model_name = "CPU";
    return f;
}

}  // namespace

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return "scalar";
        case Isa::Avx2: return "avx2";
        case Isa::Avx512: return "avx512";
        case Isa::Neon: return "neon";
    }
    return "unknown";
}

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

int weight_prefetch_bytes() {
    static const int bytes = cpu_features().intel ? 4096 : 0;
    return bytes;
}

bool isa_available(Isa isa) {
    const CpuFeatures& f = cpu_features();
    switch (isa) {
        case Isa::Scalar: return true;
        case Isa::Avx2: return f.avx2 && f.fma && f.f16c;
        case Isa::Avx512:
            return isa_available(Isa::Avx2) && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni;
        case Isa::Neon: return f.neon && f.dotprod;
    }
    return false;
}

Isa best_isa() {
    if (isa_available(Isa::Avx512)) return Isa::Avx512;
    if (isa_available(Isa::Avx2)) return Isa::Avx2;
    if (isa_available(Isa::Neon)) return Isa::Neon;
    return Isa::Scalar;
}

int physical_core_count() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        unsigned n = std::thread::hardware_concurrency();
        return n ? int(n) : 1;
    }
    // Count distinct (package, core) pairs among the CPUs this process may use.
    std::set<std::pair<int, int>> cores;
    int allowed = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &set)) continue;
        ++allowed;
        std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
        std::ifstream core_file(base + "core_id"), package_file(base + "physical_package_id");
        int core = -1, package = -1;
        if (!(core_file >> core) || !(package_file >> package)) return allowed > 0 ? CPU_COUNT(&set) : 1;
        cores.emplace(package, core);
    }
    return cores.empty() ? 1 : int(cores.size());
}

}  // namespace r1::cpu
