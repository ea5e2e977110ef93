// The paged KV cache: per layer a pool of fixed-size blocks of float16 keys and values, and
// per sequence a block table. Blocks are reference-counted so a fork shares its parent's
// blocks; a write into a shared block copies it first. Truncation just drops whole blocks
// past the new length. (The scheduler's prefix cache will key full blocks by content.)
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace omni {

class KvCache {
 public:
  KvCache(int32_t n_layers, int32_t row_size, int32_t block_size, int32_t n_blocks);

  int32_t block_size() const { return block_size_; }
  int32_t n_blocks() const { return (int32_t)refs_.size(); }
  int32_t free_blocks() const { return (int32_t)free_.size(); }
  uint16_t* k_pool(int32_t layer) { return k_[layer].data(); }
  uint16_t* v_pool(int32_t layer) { return v_[layer].data(); }

  int32_t length(int32_t seq) const;  // 0 for an unknown sequence
  // Makes room for n more tokens at the end of `seq` (creating it if new). Returns an empty
  // string or the reason it cannot (not enough free blocks), leaving the cache unchanged.
  std::string reserve(int32_t seq, int32_t n);
  // Where position `pos` of `seq` lives: block * block_size + offset (after reserve).
  int64_t slot(int32_t seq, int32_t pos) const;
  const int32_t* block_table(int32_t seq) const;

  void truncate(int32_t seq, int32_t length);
  std::string fork(int32_t src, int32_t dst);
  void free(int32_t seq);
  bool has(int32_t seq) const { return seqs_.count(seq) != 0; }

 private:
  struct Sequence {
    std::vector<int32_t> blocks;
    int32_t length = 0;
  };
  int32_t take_block();
  void release_block(int32_t block);
  void copy_block(int32_t from, int32_t to);

  int32_t n_layers_, row_size_, block_size_;
  std::vector<std::vector<uint16_t>> k_, v_;
  std::vector<int32_t> refs_;
  std::vector<int32_t> free_;
  std::unordered_map<int32_t, Sequence> seqs_;
};

}  // namespace omni
