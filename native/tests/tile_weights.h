// Test and benchmark helper: weights in the layout a kernel's tile reads (kernels.h,
// MatmulKernel::repack), as the CPU backend's upload_weight prepares them.
#pragma once
#include <cstdint>
#include <vector>

#include "../backends/cpu/kernels.h"

namespace omni::cpu {

// `rows` rows of `stride` bytes at w, repacked with the same stride when the kernel wants
// its own layout, else copied as they are.
inline std::vector<uint8_t> tile_weights(const MatmulKernel& mk, int64_t k, const uint8_t* w, size_t stride,
                                         int64_t rows) {
  if (!mk.repack) return std::vector<uint8_t>(w, w + stride * (size_t)rows);
  std::vector<uint8_t> out(stride * (size_t)repacked_rows(rows));
  mk.repack(k, w, stride, rows, out.data(), stride);
  return out;
}

}  // namespace omni::cpu
