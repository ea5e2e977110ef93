// The table of CPU kernels one ISA level provides. Three units fill it in
// (kernels_scalar.cpp, kernels_avx2.cpp, kernels_avx512.cpp), each compiled with its own
// -m flags; cpu_features.cpp picks one at run time. Everything inside a kernels_*.cpp
// file has internal linkage so AVX code can never leak into another level by ODR merging.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../../engine/quant.h"

namespace omni::cpu {

// The format activations are converted to, once per matmul, before the dot products.
enum ActFormat : int {
  ACT_F32 = 0,    // float weights (F32/F16/BF16): activations stay f32
  ACT_Q8_32 = 1,  // 32-value blocks, for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 weights
  ACT_Q8_256 = 2, // 256-value super-blocks with 16-value sums, for Q4_K/Q5_K/Q6_K weights
  ACT_FORMAT_COUNT = 3,
};

// Activation block layouts (internal to us, not a file format).
// x ~= d*qs; sum = sum(qs) (exact, for the integer offset corrections), s = d*sum
struct act_q8_32 { float d; float s; int32_t sum; int8_t qs[32]; };
struct act_q8_256 { float d; int8_t qs[256]; int16_t bsums[16]; };   // bsums[j] = sum(qs[16j..16j+15])

// Bytes one activation row of k values takes in a format.
size_t act_row_bytes(ActFormat f, int64_t k);

// Computes an nr x nc tile of a matrix product:
//   out[j * ldo + i] = dot(weight row i, activation row j)   for i < nr, j < nc
// (each activation row's outputs together, the layout the forward pass keeps them in)
// weight row i starts at (const char*)w + i * w_stride, activation row j at
// (const char*)x + j * x_stride (already in the format `act` of this weight type).
// k is the row length in values (a multiple of the weight type's block size).
// nr and nc may be anything >= 1; the kernel does its own register blocking inside.
using TileFn = void (*)(int64_t k, const void* w, size_t w_stride, int nr,
                        const void* x, size_t x_stride, int nc, float* out, size_t ldo);

// Some kernels read the weights in a layout of their own, made once when a backend takes
// the weight (upload_weight): `repack` copies `rows` file-layout rows (row i at
// src + i * src_stride) into groups of kRowGroup rows stored together, group g at
// dst + g * kRowGroup * dst_stride (the last group padded; its extra rows are never output).
// Such a kernel's tile reads w in that layout, w_stride being the dst_stride, and every
// tile starts at a group boundary.
constexpr int kRowGroup = 16;
using RepackFn = void (*)(int64_t k, const void* src, size_t src_stride, int64_t rows, void* dst, size_t dst_stride);

// Kernels that read signed quants as unsigned bytes u = q + act_offset (vpdpbusd wants one
// operand unsigned) add -act_offset * sum(x) per activation block to each dot product. Their
// tile works those terms out for its own columns on every call; tile_offsets takes them
// worked out once for every tile of a matmul (16 columns x 18 blocks of them per 64-row tile
// of a 16-row decode step cost ~3% of the step):
//   offsets[b * offsets_stride + j] = -act_offset * sum of block b of activation row j.
using OffsetTileFn = void (*)(int64_t k, const void* w, size_t w_stride, int nr, const void* x, size_t x_stride,
                              int nc, const int32_t* offsets, size_t offsets_stride, float* out, size_t ldo);

// Works out those terms for activation rows j < nc (ACT_Q8_32, x_stride bytes apart, nb blocks
// each) into offsets[b * stride + j]. Internal linkage, so that every unit compiles its own
// copy with its own ISA flags (see the top of this file).
namespace {
inline void act_offset_table(const void* x, size_t x_stride, int64_t nc, int64_t nb, int32_t act_offset,
                             int32_t* offsets, size_t stride) {
  for (int64_t j = 0; j < nc; j++) {
    const act_q8_32* a = (const act_q8_32*)((const char*)x + j * x_stride);
    for (int64_t b = 0; b < nb; b++) offsets[b * stride + j] = -act_offset * a[b].sum;
  }
}
}  // namespace

struct MatmulKernel {
  ActFormat act;
  TileFn tile;                // nullptr when the type is not supported
  RepackFn repack = nullptr;  // nullptr: the tile reads rows as the file stores them
  int32_t act_offset = 0;     // not 0: tile_offsets is set (its act is ACT_Q8_32)
  OffsetTileFn tile_offsets = nullptr;
};

// Rows a repacked weight takes room for (rows rounded up to whole groups).
inline int64_t repacked_rows(int64_t rows) { return (rows + kRowGroup - 1) / kRowGroup * kRowGroup; }

struct KernelTable {
  const char* isa;  // "scalar", "avx2", "avx512"
  // f32 row of k values -> one activation row in the given format
  void (*quantize_act[ACT_FORMAT_COUNT])(const float* x, void* dst, int64_t k);
  MatmulKernel matmul[TYPE_COUNT];
  // Weight row of any supported type -> f32 (embedding lookups)
  void (*dequantize_row)(uint32_t type, const void* src, float* dst, int64_t k);

  // Float helpers for the rest of the forward pass.
  float (*dot_f32)(const float* a, const float* b, int64_t n);
  // Decode attention against the f16 KV cache, for the nq query rows (hd values each,
  // contiguous) that share one KV head; cached row p (of n) starts at base + offsets[p]:
  //   scores_f16: s[r * ld + p] = dot(q row r, cached row p)
  //   mix_f16:    out[r * hd + d] += sum over p of w[r * ld + p] * cached row p [d]
  // (mix_f16 adds to what out holds, so a caller can sweep the rows in pieces: the sum then
  // rounds exactly as in one call.)
  void (*scores_f16)(const float* q, int nq, int64_t hd, const uint16_t* base, const int64_t* offsets, int n,
                     float* s, int64_t ld);
  void (*mix_f16)(const float* w, int64_t ld, int nq, int64_t hd, const uint16_t* base, const int64_t* offsets,
                  int n, float* out);
  // s[i] = exp(scale * (s[i] - max over s)) for i < n (n >= 1, scale > 0); returns their sum
  float (*exp_scores_f32)(float* s, int64_t n, float scale);
  void (*scale_f32)(float* y, float a, int64_t n);                         // y *= a
  void (*f32_to_f16)(const float* x, uint16_t* y, int64_t n);              // KV cache writes
  // y = x / rms(x) * w  (w may be null: no weight); eps inside the sqrt
  void (*rmsnorm_f32)(const float* x, const float* w, float* y, int64_t n, float eps);
  // gate[i] = silu(gate[i]) * up[i]
  void (*silu_mul_f32)(float* gate, const float* up, int64_t n);
  // y[i] += x[i]
  void (*add_f32)(float* y, const float* x, int64_t n);
};

const KernelTable& kernels_scalar();
const KernelTable& kernels_avx2();
const KernelTable& kernels_avx512();

}  // namespace omni::cpu
