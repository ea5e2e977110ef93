// Plain C++ kernels every ISA unit starts from: activation quantizers, per-type row dot
// products, the generic tile loop and the float helpers. Included by each kernels_*.cpp,
// so everything here has internal linkage (anonymous namespace) and is compiled once per
// ISA level with that level's flags; the AVX units then overwrite the table entries they
// speed up. The results of quantize_act must be bit-identical at every level: the vector
// versions compute d, 1/d and the round-to-nearest-even of x*(1/d) exactly like these.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels.h"

// For the small per-block pieces of the hot loops: GCC otherwise keeps some of them out of
// line, which costs their constants and results a trip through memory on every call.
#define OMNI_ALWAYS_INLINE inline __attribute__((always_inline))

namespace omni::cpu {
namespace {

inline int round_even(float x) { return (int)std::lrint(x); }  // MXCSR default: ties to even

// ---- activation quantizers ---------------------------------------------------------------

void quantize_act_f32(const float* x, void* dst, int64_t k) { std::memcpy(dst, x, (size_t)k * 4); }

void quantize_act_q8_32_scalar(const float* x, void* dst, int64_t k) {
  act_q8_32* y = (act_q8_32*)dst;
  for (int64_t b = 0; b < k / 32; b++, x += 32) {
    float amax = 0;
    for (int j = 0; j < 32; j++) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0 ? 1 / d : 0;
    int sum = 0;
    for (int j = 0; j < 32; j++) {
      y[b].qs[j] = (int8_t)round_even(x[j] * id);
      sum += y[b].qs[j];
    }
    y[b].d = d;
    y[b].sum = sum;
    y[b].s = d * (float)sum;
  }
}

void quantize_act_q8_256_scalar(const float* x, void* dst, int64_t k) {
  act_q8_256* y = (act_q8_256*)dst;
  for (int64_t b = 0; b < k / 256; b++, x += 256) {
    float amax = 0;
    for (int j = 0; j < 256; j++) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0 ? 1 / d : 0;
    for (int j = 0; j < 256; j++) y[b].qs[j] = (int8_t)round_even(x[j] * id);
    for (int g = 0; g < 16; g++) {
      int sum = 0;
      for (int j = 0; j < 16; j++) sum += y[b].qs[16 * g + j];
      y[b].bsums[g] = (int16_t)sum;
    }
    y[b].d = d;
  }
}

// ---- per-type row dot products (weights in their GGUF layout . quantized activations) -----

inline float h2f(uint16_t h) { return fp16_to_fp32(h); }

inline void k4_scale_min(const uint8_t* b, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = b[j] & 63;
    *m = b[j + 4] & 63;
  } else {
    *sc = (b[j + 4] & 0xf) | ((b[j - 4] >> 6) << 4);
    *m = (b[j + 4] >> 4) | ((b[j] >> 6) << 4);
  }
}

float row_dot_f32(int64_t k, const void* w, const void* x) {
  const float* a = (const float*)w;
  const float* b = (const float*)x;
  float s = 0;
  for (int64_t i = 0; i < k; i++) s += a[i] * b[i];
  return s;
}

// 16-bit float weights (f16 or bf16, by their converter) . f32 activations.
template <float (*ToF32)(uint16_t)>
float row_dot_half(int64_t k, const void* w, const void* x) {
  const uint16_t* a = (const uint16_t*)w;
  const float* b = (const float*)x;
  float s = 0;
  for (int64_t i = 0; i < k; i++) s += ToF32(a[i]) * b[i];
  return s;
}
constexpr auto row_dot_f16 = row_dot_half<fp16_to_fp32>;
constexpr auto row_dot_bf16 = row_dot_half<bf16_to_fp32>;

float row_dot_q8_0(int64_t k, const void* w, const void* x) {
  const block_q8_0* a = (const block_q8_0*)w;
  const act_q8_32* b = (const act_q8_32*)x;
  float s = 0;
  for (int64_t i = 0; i < k / 32; i++) {
    int sum = 0;
    for (int j = 0; j < 32; j++) sum += a[i].qs[j] * b[i].qs[j];
    s += h2f(a[i].d) * b[i].d * (float)sum;
  }
  return s;
}

// Q4_0/Q5_0 store q + offset; dot(q - off, x) = dot(q, x) - off * sum(x), and b.s = d * sum(x).
float row_dot_q4_0(int64_t k, const void* w, const void* x) {
  const block_q4_0* a = (const block_q4_0*)w;
  const act_q8_32* b = (const act_q8_32*)x;
  float s = 0;
  for (int64_t i = 0; i < k / 32; i++) {
    int sum = 0;
    for (int j = 0; j < 16; j++) {
      sum += ((a[i].qs[j] & 0xf) - 8) * b[i].qs[j];
      sum += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + 16];
    }
    s += h2f(a[i].d) * b[i].d * (float)sum;
  }
  return s;
}

float row_dot_q4_1(int64_t k, const void* w, const void* x) {
  const block_q4_1* a = (const block_q4_1*)w;
  const act_q8_32* b = (const act_q8_32*)x;
  float s = 0;
  for (int64_t i = 0; i < k / 32; i++) {
    int sum = 0;
    for (int j = 0; j < 16; j++) {
      sum += (a[i].qs[j] & 0xf) * b[i].qs[j];
      sum += (a[i].qs[j] >> 4) * b[i].qs[j + 16];
    }
    s += h2f(a[i].d) * b[i].d * (float)sum + h2f(a[i].m) * b[i].s;
  }
  return s;
}

float row_dot_q5_0(int64_t k, const void* w, const void* x) {
  const block_q5_0* a = (const block_q5_0*)w;
  const act_q8_32* b = (const act_q8_32*)x;
  float s = 0;
  for (int64_t i = 0; i < k / 32; i++) {
    uint32_t qh;
    std::memcpy(&qh, a[i].qh, 4);
    int sum = 0;
    for (int j = 0; j < 16; j++) {
      sum += (((a[i].qs[j] & 0xf) | ((qh >> j & 1) << 4)) - 16) * b[i].qs[j];
      sum += (((a[i].qs[j] >> 4) | ((qh >> (j + 16) & 1) << 4)) - 16) * b[i].qs[j + 16];
    }
    s += h2f(a[i].d) * b[i].d * (float)sum;
  }
  return s;
}

float row_dot_q5_1(int64_t k, const void* w, const void* x) {
  const block_q5_1* a = (const block_q5_1*)w;
  const act_q8_32* b = (const act_q8_32*)x;
  float s = 0;
  for (int64_t i = 0; i < k / 32; i++) {
    uint32_t qh;
    std::memcpy(&qh, a[i].qh, 4);
    int sum = 0;
    for (int j = 0; j < 16; j++) {
      sum += ((a[i].qs[j] & 0xf) | ((qh >> j & 1) << 4)) * b[i].qs[j];
      sum += ((a[i].qs[j] >> 4) | ((qh >> (j + 16) & 1) << 4)) * b[i].qs[j + 16];
    }
    s += h2f(a[i].d) * b[i].d * (float)sum + h2f(a[i].m) * b[i].s;
  }
  return s;
}

// K-quants: the integer sum over a super-block is exact; then one float step per super-block.
// Q4_K and Q5_K share scales and mins; Q5_K adds a fifth bit per value from qh.
template <class Block, bool kFifthBit>
float row_dot_q45_k(int64_t k, const void* w, const void* x) {
  const Block* a = (const Block*)w;
  const act_q8_256* b = (const act_q8_256*)x;
  float s = 0;
  for (int64_t i = 0; i < k / 256; i++) {
    int sum = 0, msum = 0;
    for (int j = 0; j < 8; j++) {
      int sc, m;
      k4_scale_min(a[i].scales, j, &sc, &m);
      const uint8_t* q = a[i].qs + 32 * (j / 2);
      const int shift = 4 * (j & 1);
      int part = 0;
      for (int l = 0; l < 32; l++) {
        int v = (q[l] >> shift) & 0xf;
        if constexpr (kFifthBit) v |= ((a[i].qh[l] >> j) & 1) << 4;
        part += v * b[i].qs[32 * j + l];
      }
      sum += sc * part;
      msum += m * (b[i].bsums[2 * j] + b[i].bsums[2 * j + 1]);
    }
    s += b[i].d * (h2f(a[i].d) * (float)sum - h2f(a[i].dmin) * (float)msum);
  }
  return s;
}

float row_dot_q6_k(int64_t k, const void* w, const void* x) {
  const block_q6_K* a = (const block_q6_K*)w;
  const act_q8_256* b = (const act_q8_256*)x;
  float s = 0;
  for (int64_t i = 0; i < k / 256; i++) {
    int sum = 0;
    for (int h = 0; h < 2; h++) {
      const uint8_t* ql = a[i].ql + 64 * h;
      const uint8_t* qh = a[i].qh + 32 * h;
      const int8_t* xq = b[i].qs + 128 * h;
      int part[8] = {};
      for (int l = 0; l < 32; l++) {
        const int q0 = (ql[l] & 0xf) | ((qh[l] & 3) << 4);
        const int q1 = (ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4);
        const int q2 = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
        const int q3 = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        part[l / 16 + 0] += q0 * xq[l];
        part[l / 16 + 2] += q1 * xq[l + 32];
        part[l / 16 + 4] += q2 * xq[l + 64];
        part[l / 16 + 6] += q3 * xq[l + 96];
      }
      for (int g = 0; g < 8; g++) sum += a[i].scales[8 * h + g] * (part[g] - 32 * b[i].bsums[8 * h + g]);
    }
    s += b[i].d * h2f(a[i].d) * (float)sum;
  }
  return s;
}

using RowDotFn = float (*)(int64_t k, const void* w, const void* x);

// The scalar level's tiles: every element is one row_dot call, so it is computed the same way
// however many rows and columns share the tile (batch invariance; see kernels_avx512_q32.inc).

template <RowDotFn Dot>
void tile_rowwise(int64_t k, const void* w, size_t w_stride, int nr, const void* x, size_t x_stride, int nc,
                  float* out, size_t ldo) {
  for (int i = 0; i < nr; i++) {
    const char* wi = (const char*)w + i * w_stride;
    for (int j = 0; j < nc; j++) out[j * ldo + i] = Dot(k, wi, (const char*)x + j * x_stride);
  }
}

// ---- register-blocked tiles ----------------------------------------------------------------
// A kernel K provides `template <int RM, int RN> static void block(k, w, ws, x, xs, out, ldo)`
// computing an RM x RN block, and the block shape M x N it wants. tile_blocked covers any
// nr x nc with those blocks and smaller ones at the edges.

template <class K, int RM, int RN>
void call_block(int m, int n, int64_t k, const char* w, size_t ws, const char* x, size_t xs, float* out,
                size_t ldo) {
  if constexpr (RM > 1) {
    if (m < RM) return call_block<K, RM - 1, RN>(m, n, k, w, ws, x, xs, out, ldo);
  }
  if constexpr (RN > 1) {
    if (n < RN) return call_block<K, RM, RN - 1>(m, n, k, w, ws, x, xs, out, ldo);
  }
  K::template block<RM, RN>(k, w, ws, x, xs, out, ldo);
}

template <class K>
void tile_blocked(int64_t k, const void* w, size_t ws, int nr, const void* x, size_t xs, int nc, float* out,
                  size_t ldo) {
  const char* wc = (const char*)w;
  const char* xc = (const char*)x;
  if (nc == 1) {
    // Decode: one weight row at a time. Rows are adjacent, so the matrix is read as one
    // sequential stream, which the hardware prefetcher follows at full bandwidth; blocks of
    // several rows (several short interleaved streams) measured about 2x slower from DRAM.
    for (int i = 0; i < nr; i++) K::template block<1, 1>(k, wc + i * ws, ws, xc, xs, out + i, ldo);
    return;
  }
  // Columns in chunks whose activation rows fit in L2 together; each chunk is swept by
  // row blocks, so an M-row weight block is loaded once and stays in L1 across the chunk.
  constexpr size_t kChunkBytes = 256 * 1024;
  int chunk = (int)std::max<size_t>(1, kChunkBytes / std::max<size_t>(xs, 1) / K::N) * K::N;
  for (int j0 = 0; j0 < nc; j0 += chunk) {
    const int jn = std::min(chunk, nc - j0);
    for (int i = 0; i < nr; i += K::M) {
      const int m = std::min(K::M, nr - i);
      for (int j = j0; j < j0 + jn; j += K::N)
        call_block<K, K::M, K::N>(m, std::min(K::N, j0 + jn - j), k, wc + i * ws, ws, xc + j * xs, xs,
                                  out + j * ldo + i, ldo);
    }
  }
}

// Scratch memory for one kernel call: at least `bytes`, 64-byte aligned, private to the
// calling thread (tiles run on many threads at once) and kept for its next call. `slot`
// picks one of a few independent buffers, for kernels that need more than one.
inline void* thread_scratch(int slot, size_t bytes) {
  struct alignas(64) Line { char b[64]; };
  thread_local std::vector<Line> bufs[4];
  std::vector<Line>& v = bufs[slot];
  if (v.size() * 64 < bytes) v.resize((bytes + 63) / 64);
  return v.data();
}

// ---- float helpers -----------------------------------------------------------------------

float dot_f32_scalar(const float* a, const float* b, int64_t n) { return row_dot_f32(n, a, b); }

float dot_f16_f32_scalar(const uint16_t* a, const float* b, int64_t n) { return row_dot_f16(n, a, b); }

void axpy_f16_f32_scalar(float a, const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += a * fp16_to_fp32(x[i]);
}

// Decode attention reads cached rows scattered through the KV pool (a block of positions
// here, the next somewhere else), which the hardware prefetchers do not follow: the vector
// kernels ask for the rows 32 positions ahead with this (measured 1.2x faster at ~800
// positions, 16 sequences; 64 ahead is no better).
inline void prefetch_row(const uint16_t* row, int64_t n) {
  for (int64_t i = 0; i < n; i += 32) __builtin_prefetch(row + i);
}

// The attention entries of the table built from one ISA's row dot product and axpy.
template <float (*Dot)(const uint16_t*, const float*, int64_t)>
void scores_f16_rowwise(const float* q, int nq, int64_t hd, const uint16_t* base, const int64_t* offsets, int n,
                        float* s, int64_t ld) {
  for (int r = 0; r < nq; r++)
    for (int p = 0; p < n; p++) s[r * ld + p] = Dot(base + offsets[p], q + r * hd, hd);
}

template <void (*Axpy)(float, const uint16_t*, float*, int64_t)>
void mix_f16_rowwise(const float* w, int64_t ld, int nq, int64_t hd, const uint16_t* base, const int64_t* offsets,
                     int n, float* out) {
  for (int p = 0; p < n; p++)
    for (int r = 0; r < nq; r++) Axpy(w[r * ld + p], base + offsets[p], out + r * hd, hd);
}

float exp_scores_f32_scalar(float* s, int64_t n, float scale) {
  const float mx = *std::max_element(s, s + n);
  float sum = 0;
  for (int64_t i = 0; i < n; i++) sum += s[i] = std::exp(scale * (s[i] - mx));
  return sum;
}

void scale_f32_scalar(float* y, float a, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] *= a;
}

void f32_to_f16_scalar(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = fp32_to_fp16(x[i]);
}

void rmsnorm_f32_scalar(const float* x, const float* w, float* y, int64_t n, float eps) {
  float ss = 0;
  for (int64_t i = 0; i < n; i++) ss += x[i] * x[i];
  const float r = 1.0f / std::sqrt(ss / (float)n + eps);
  for (int64_t i = 0; i < n; i++) y[i] = x[i] * r * (w ? w[i] : 1.0f);
}

void silu_mul_f32_scalar(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; i++) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void add_f32_scalar(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

// A table with the plain C++ version of everything; each ISA unit starts from it.
KernelTable scalar_table(const char* isa) {
  KernelTable t{};
  t.isa = isa;
  t.quantize_act[ACT_F32] = quantize_act_f32;
  t.quantize_act[ACT_Q8_32] = quantize_act_q8_32_scalar;
  t.quantize_act[ACT_Q8_256] = quantize_act_q8_256_scalar;
  for (auto& m : t.matmul) m = {ACT_F32, nullptr};
  t.matmul[TYPE_F32] = {ACT_F32, tile_rowwise<row_dot_f32>};
  t.matmul[TYPE_F16] = {ACT_F32, tile_rowwise<row_dot_f16>};
  t.matmul[TYPE_BF16] = {ACT_F32, tile_rowwise<row_dot_bf16>};
  t.matmul[TYPE_Q8_0] = {ACT_Q8_32, tile_rowwise<row_dot_q8_0>};
  t.matmul[TYPE_Q4_0] = {ACT_Q8_32, tile_rowwise<row_dot_q4_0>};
  t.matmul[TYPE_Q4_1] = {ACT_Q8_32, tile_rowwise<row_dot_q4_1>};
  t.matmul[TYPE_Q5_0] = {ACT_Q8_32, tile_rowwise<row_dot_q5_0>};
  t.matmul[TYPE_Q5_1] = {ACT_Q8_32, tile_rowwise<row_dot_q5_1>};
  t.matmul[TYPE_Q4_K] = {ACT_Q8_256, tile_rowwise<row_dot_q45_k<block_q4_K, false>>};
  t.matmul[TYPE_Q5_K] = {ACT_Q8_256, tile_rowwise<row_dot_q45_k<block_q5_K, true>>};
  t.matmul[TYPE_Q6_K] = {ACT_Q8_256, tile_rowwise<row_dot_q6_k>};
  t.dequantize_row = omni::dequantize_row;  // the reference (quant.cpp, baseline flags)
  t.dot_f32 = dot_f32_scalar;
  t.scores_f16 = scores_f16_rowwise<dot_f16_f32_scalar>;
  t.mix_f16 = mix_f16_rowwise<axpy_f16_f32_scalar>;
  t.exp_scores_f32 = exp_scores_f32_scalar;
  t.scale_f32 = scale_f32_scalar;
  t.f32_to_f16 = f32_to_f16_scalar;
  t.rmsnorm_f32 = rmsnorm_f32_scalar;
  t.silu_mul_f32 = silu_mul_f32_scalar;
  t.add_f32 = add_f32_scalar;
  return t;
}

}  // namespace
}  // namespace omni::cpu
