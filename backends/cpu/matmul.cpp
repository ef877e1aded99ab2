#include "matmul.h"

#include "quants/quants.h"

namespace r1::cpu {
namespace {

// The reference kernels: one vec_dot per (row, token), in the readable order.
void gemm_reference(const CpuWeight& w, const void* act, size_t act_row_bytes, int64_t n_tokens, int64_t r0,
                    int64_t r1, float* out, size_t out_stride) {
    const auto* a = static_cast<const uint8_t*>(act);
    for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* row = w.data + size_t(r) * w.row_bytes;
        for (int64_t t = 0; t < n_tokens; ++t)
            out[size_t(t) * out_stride + size_t(r)] = vec_dot(w.type, w.cols, row, a + size_t(t) * act_row_bytes);
    }
}

// Exact math: dequantized weights times float activations, summed in double.
void gemm_exact(const CpuWeight& w, const void* act, size_t act_row_bytes, int64_t n_tokens, int64_t r0,
                int64_t r1, float* out, size_t out_stride) {
    const auto* a = static_cast<const uint8_t*>(act);
    for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* row = w.data + size_t(r) * w.row_bytes;
        for (int64_t t = 0; t < n_tokens; ++t)
            out[size_t(t) * out_stride + size_t(r)] = vec_dot_f32_dequant(
                w.type, w.cols, row, reinterpret_cast<const float*>(a + size_t(t) * act_row_bytes));
    }
}

struct ScalarTables {
    MatmulKernels reference[kDTypeIdLimit];
    MatmulKernels exact[kDTypeIdLimit];
    FamilyKernels family;
    FamilyKernels exact_family;

    ScalarTables() {
        for (uint32_t id = 0; id < kDTypeIdLimit; ++id) {
            DType t = DType(id);
            if (!dtype_traits(id) || !is_weight_type(t)) continue;
            reference[id].act_type = activation_type(t);
            reference[id].gemm = gemm_reference;
            family.by_type[id] = &reference[id];
            exact[id].act_type = DType::F32;
            exact[id].gemm = gemm_exact;
            exact_family.by_type[id] = &exact[id];
        }
    }
};

const ScalarTables& scalar_tables() {
    static const ScalarTables tables;
    return tables;
}

const FamilyKernels* family_of(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return scalar_family();
        case Isa::Avx2: return avx2_family();
        case Isa::Avx512: return avx512_family();
        case Isa::Neon: return neon_family();
    }
    return nullptr;
}

}  // namespace

const FamilyKernels* scalar_family() { return &scalar_tables().family; }

const MatmulKernels* matmul_kernels(Isa isa, DType type, bool exact) {
    uint32_t id = uint32_t(type);
    if (id >= kDTypeIdLimit) return nullptr;
    if (exact) return scalar_tables().exact_family.by_type[id];
    // Fall back family by family: AVX-512 -> AVX2 -> scalar; NEON -> scalar.
    for (Isa i = isa;;) {
        if (const FamilyKernels* f = family_of(i))
            if (const MatmulKernels* k = f->by_type[id]) return k;
        if (i == Isa::Scalar) return nullptr;
        i = i == Isa::Avx512 ? Isa::Avx2 : Isa::Scalar;
    }
}

bool matmul_supported(DType type) { return matmul_kernels(Isa::Scalar, type, false) != nullptr; }

}  // namespace r1::cpu
