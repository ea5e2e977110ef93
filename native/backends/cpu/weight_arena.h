// Memory for the weights a CPU backend repacks (upload_weight): handed out one after the
// other from large chunks, so that they can sit in 2 MiB pages (Linux THP in madvise mode)
// without rounding every small matrix up to a page. Decode streams every weight once per
// token, and huge pages spare it a TLB miss every 4 KiB.
#pragma once
#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <vector>

namespace omni::cpu {

class WeightArena {
 public:
  WeightArena() = default;
  WeightArena(const WeightArena&) = delete;
  WeightArena& operator=(const WeightArena&) = delete;
  ~WeightArena() {
    for (void* c : chunks_) std::free(c);
  }

  // 64-byte aligned; nullptr when out of memory.
  void* take(size_t bytes) {
    bytes = (bytes + 63) / 64 * 64;
    if (chunks_.empty() || used_ + bytes > size_) {
      const size_t size = std::max(kChunk, (bytes + kHugePage - 1) / kHugePage * kHugePage);
      void* c = std::aligned_alloc(kHugePage, size);
      if (!c) return nullptr;
#ifdef MADV_HUGEPAGE
      madvise(c, size, MADV_HUGEPAGE);
#endif
      chunks_.push_back(c);
      size_ = size;
      used_ = 0;
    }
    void* p = (char*)chunks_.back() + used_;
    used_ += bytes;
    return p;
  }

 private:
  static constexpr size_t kHugePage = 2 << 20;
  static constexpr size_t kChunk = 32 * kHugePage;
  std::vector<void*> chunks_;
  size_t size_ = 0, used_ = 0;  // of the last chunk
};

}  // namespace omni::cpu
