// The AVX2 kernel table (AVX2 + FMA + F16C; compiled with those -m flags, chosen only when
// cpu_features finds them). Without VNNI, integer dot products are vpmaddubsw (u8 x s8 ->
// s16 pairs) followed by vpmaddwd (-> s32). The per-family code lives in kernels_avx2_*.inc,
// included here so that all of it stays in this one unit with internal linkage.
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

inline int hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// Sums of four adjacent u8 x s8 products as eight int32 lanes (what vpdpbusd gives with VNNI).
// The int16 pair sums cannot overflow: u <= 31 here, or both operands <= 127 in magnitude.
inline __m256i dot_u8s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

}  // namespace
}  // namespace omni::cpu

#include "kernels_avx2_q32.inc"
#include "kernels_avx2_kq.inc"
#include "kernels_avx2_float.inc"

namespace omni::cpu {

const KernelTable& kernels_avx2() {
  static const KernelTable table = [] {
    KernelTable t = scalar_table("avx2");
    t.quantize_act[ACT_Q8_32] = quantize_act_q8_32_avx2;
    t.quantize_act[ACT_Q8_256] = quantize_act_q8_256_avx2;
    t.matmul[TYPE_Q8_0].tile = Q32Stream<W_q8_0>::tile;
    t.matmul[TYPE_Q4_0].tile = Q32Stream<W_q4_0>::tile;
    t.matmul[TYPE_Q4_1].tile = Q32Stream<W_q4_1>::tile;
    t.matmul[TYPE_Q5_0].tile = Q32Stream<W_q5_0>::tile;
    t.matmul[TYPE_Q5_1].tile = Q32Stream<W_q5_1>::tile;
    t.matmul[TYPE_Q4_K].tile = tile_blocked<Q4KKernel<false>>;
    t.matmul[TYPE_Q5_K].tile = tile_blocked<Q4KKernel<true>>;
    t.matmul[TYPE_Q6_K].tile = tile_blocked<Q6KKernel>;
    t.matmul[TYPE_F32].tile = tile_blocked<FloatKernel<W_f32>>;
    t.matmul[TYPE_F16].tile = tile_blocked<FloatKernel<W_f16>>;
    t.matmul[TYPE_BF16].tile = tile_blocked<FloatKernel<W_bf16>>;
    t.dequantize_row = dequantize_row_avx2;
    t.dot_f32 = dot_f32_avx2;
    t.scores_f16 = scores_f16_avx2;
    t.mix_f16 = mix_f16_avx2;
    t.exp_scores_f32 = exp_scores_f32_avx2;
    t.scale_f32 = scale_f32_avx2;
    t.f32_to_f16 = f32_to_f16_avx2;
    t.rmsnorm_f32 = rmsnorm_f32_avx2;
    t.silu_mul_f32 = silu_mul_f32_avx2;
    t.add_f32 = add_f32_avx2;
    return t;
  }();
  return table;
}

}  // namespace omni::cpu
