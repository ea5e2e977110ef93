// The AVX-512 kernel table (F, BW, VL, DQ and VNNI; compiled with those -m flags, chosen
// only when cpu_features finds them). Integer dot products use VNNI: vpdpbusd (u8 x s8 -> s32)
// for the 32-value block types and vpmaddubsw + vpdpwssd (scales applied in int16) for the
// K-quants. The per-family code lives in kernels_avx512_*.inc, included here so that all of
// it stays in this one unit with internal linkage.
// GCC 12 reports its own _mm512_undefined_* placeholders inside the reduce/extract
// intrinsics as uninitialised; the warnings point into the system headers and are noise.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels_common.h"

namespace omni::cpu {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hsum(__m512 v) { return hsum(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1))); }

inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

}  // namespace
}  // namespace omni::cpu

#include "kernels_avx512_q32.inc"
#include "kernels_avx512_kq.inc"
#include "kernels_avx512_float.inc"

namespace omni::cpu {

const KernelTable& kernels_avx512() {
  static const KernelTable table = [] {
    KernelTable t = scalar_table("avx512");
    t.quantize_act[ACT_Q8_32] = quantize_act_q8_32_avx512;
    t.quantize_act[ACT_Q8_256] = quantize_act_q8_256_avx512;
    t.matmul[TYPE_Q8_0] = q32_kernel<W_q8_0>();
    t.matmul[TYPE_Q4_0] = q32_kernel<W_q4_0>();
    t.matmul[TYPE_Q4_1] = q32_kernel<W_q4_1>();
    t.matmul[TYPE_Q5_0] = q32_kernel<W_q5_0>();
    t.matmul[TYPE_Q5_1] = q32_kernel<W_q5_1>();
    t.matmul[TYPE_Q4_K].tile = KRows16<4>::tile;
    t.matmul[TYPE_Q5_K].tile = KRows16<5>::tile;
    t.matmul[TYPE_Q6_K].tile = KRows16<6>::tile;
    t.matmul[TYPE_F32].tile = tile_blocked<FloatKernel<W_f32>>;
    t.matmul[TYPE_F16].tile = tile_blocked<FloatKernel<W_f16>>;
    t.matmul[TYPE_BF16].tile = tile_blocked<FloatKernel<W_bf16>>;
    t.dequantize_row = dequantize_row_avx512;
    t.dot_f32 = dot_f32_avx512;
    t.scores_f16 = scores_f16_avx512;
    t.mix_f16 = mix_f16_avx512;
    t.exp_scores_f32 = exp_scores_f32_avx512;
    t.scale_f32 = scale_f32_avx512;
    t.f32_to_f16 = f32_to_f16_avx512;
    t.rmsnorm_f32 = rmsnorm_f32_avx512;
    t.silu_mul_f32 = silu_mul_f32_avx512;
    t.add_f32 = add_f32_avx512;
    return t;
  }();
  return table;
}

}  // namespace omni::cpu
