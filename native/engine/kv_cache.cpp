#include "kv_cache.h"

#include <algorithm>
#include <cstring>

namespace omni {

KvCache::KvCache(int32_t n_layers, int32_t row_size, int32_t block_size, int32_t n_blocks)
    : n_layers_(n_layers), row_size_(row_size), block_size_(block_size), refs_(n_blocks, 0) {
  const size_t pool = (size_t)n_blocks * block_size * row_size;
  k_.assign(n_layers, std::vector<uint16_t>(pool));
  v_.assign(n_layers, std::vector<uint16_t>(pool));
  free_.reserve(n_blocks);
  for (int32_t b = n_blocks - 1; b >= 0; b--) free_.push_back(b);
}

int32_t KvCache::length(int32_t seq) const {
  auto it = seqs_.find(seq);
  return it == seqs_.end() ? 0 : it->second.length;
}

int32_t KvCache::take_block() {
  const int32_t b = free_.back();
  free_.pop_back();
  refs_[b] = 1;
  return b;
}

void KvCache::release_block(int32_t block) {
  if (--refs_[block] == 0) free_.push_back(block);
}

void KvCache::copy_block(int32_t from, int32_t to) {
  const size_t n = (size_t)block_size_ * row_size_;
  for (int32_t l = 0; l < n_layers_; l++) {
    std::memcpy(&k_[l][(size_t)to * n], &k_[l][(size_t)from * n], n * sizeof(uint16_t));
    std::memcpy(&v_[l][(size_t)to * n], &v_[l][(size_t)from * n], n * sizeof(uint16_t));
  }
}

std::string KvCache::reserve(int32_t seq, int32_t n) {
  Sequence& s = seqs_[seq];
  const int32_t have = (int32_t)s.blocks.size();
  const int32_t need = (s.length + n + block_size_ - 1) / block_size_;
  // A partly filled last block that is shared with a fork must be copied before we write.
  const bool copy_last = n > 0 && s.length % block_size_ != 0 && refs_[s.blocks.back()] > 1;
  const int32_t extra = std::max(0, need - have) + (copy_last ? 1 : 0);
  if (extra > (int32_t)free_.size()) {
    if (s.blocks.empty() && s.length == 0) seqs_.erase(seq);
    return "the KV cache is full: " + std::to_string(extra) + " more blocks of " + std::to_string(block_size_) +
           " tokens needed, " + std::to_string(free_.size()) + " free";
  }
  if (copy_last) {
    const int32_t fresh = take_block();
    copy_block(s.blocks.back(), fresh);
    release_block(s.blocks.back());
    s.blocks.back() = fresh;
  }
  while ((int32_t)s.blocks.size() < need) s.blocks.push_back(take_block());
  s.length += n;
  return "";
}

int64_t KvCache::slot(int32_t seq, int32_t pos) const {
  const Sequence& s = seqs_.at(seq);
  return (int64_t)s.blocks[pos / block_size_] * block_size_ + pos % block_size_;
}

const int32_t* KvCache::block_table(int32_t seq) const { return seqs_.at(seq).blocks.data(); }

void KvCache::truncate(int32_t seq, int32_t length) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  Sequence& s = it->second;
  if (length >= s.length) return;
  const int32_t keep = (std::max(0, length) + block_size_ - 1) / block_size_;
  while ((int32_t)s.blocks.size() > keep) {
    release_block(s.blocks.back());
    s.blocks.pop_back();
  }
  s.length = std::max(0, length);
}

std::string KvCache::fork(int32_t src, int32_t dst) {
  auto it = seqs_.find(src);
  if (it == seqs_.end()) return "sequence " + std::to_string(src) + " does not exist";
  if (src == dst) return "cannot fork a sequence into itself";
  free(dst);
  Sequence copy = seqs_.at(src);
  for (int32_t b : copy.blocks) refs_[b]++;
  seqs_[dst] = std::move(copy);
  return "";
}

void KvCache::free(int32_t seq) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  for (int32_t b : it->second.blocks) release_block(b);
  seqs_.erase(it);
}

}  // namespace omni
