// The paged KV cache: per layer a pool of fixed-size blocks of float16 keys and values, and
// per sequence a block table and the token ids it holds. Blocks are reference-counted so a
// fork shares its parent's blocks; a write into a shared block copies it first. Truncation
// drops whole blocks past the new length.
//
// Automatic prefix caching: once a step has filled a block, the block is registered under a
// key that hashes its tokens and its parent block's key (so the key names the whole prefix up
// to the block's end). A registered block nobody references is "cached": it still counts as
// free, but keeps its contents until a new block is needed and it is the least recently
// released one. reuse_prefix() attaches the registered blocks matching a new sequence's
// tokens, and copies the matching leading tokens of a registered block that matches only in
// part, so only the rest has to be evaluated.
#pragma once
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace omni {

class KvCache {
 public:
  KvCache(int32_t n_layers, int32_t row_size, int32_t block_size, int32_t n_blocks, bool prefix_cache = true);

  int32_t block_size() const { return block_size_; }
  int32_t n_blocks() const { return (int32_t)refs_.size(); }
  // Blocks a reservation can take: never used or released, plus cached ones.
  int32_t free_blocks() const { return (int32_t)(free_.size() + lru_.size()); }
  // Of those, the registered ones kept for reuse (evicted least recently released first).
  int32_t cached_blocks() const { return (int32_t)lru_.size(); }
  int32_t refs(int32_t block) const { return refs_[block]; }
  bool registered(int32_t block) const { return meta_[block].registered; }
  uint16_t* k_pool(int32_t layer) { return k_[layer].data(); }
  uint16_t* v_pool(int32_t layer) { return v_[layer].data(); }

  int32_t length(int32_t seq) const;  // 0 for an unknown sequence
  // The token ids `seq` holds (those committed; empty for an unknown sequence).
  const std::vector<int32_t>& tokens(int32_t seq) const;
  // Makes room for n more tokens at the end of `seq` (creating it if new). Returns an empty
  // string or the reason it cannot (not enough free blocks), leaving the cache unchanged.
  std::string reserve(int32_t seq, int32_t n);
  // Records the tokens just written into reserved room (after the forward pass succeeded) and
  // registers the blocks they filled.
  void commit(int32_t seq, const std::vector<int32_t>& tokens);
  // Where position `pos` of `seq` lives: block * block_size + offset (after reserve).
  int64_t slot(int32_t seq, int32_t pos) const;
  const int32_t* block_table(int32_t seq) const;

  // For a sequence that holds nothing (throws std::invalid_argument otherwise): attaches the
  // registered blocks holding the longest run of full blocks of `tokens` from its start; then,
  // of the registered blocks that follow that run, copies the one sharing the most leading
  // tokens with the rest into a block of its own (when one is free). At least one token is
  // always left to evaluate (the caller needs its logits). Returns the number of tokens reused
  // (0 on a miss or with prefix caching off).
  int32_t reuse_prefix(int32_t seq, const std::vector<int32_t>& tokens);

  void truncate(int32_t seq, int32_t length);
  std::string fork(int32_t src, int32_t dst);
  void free(int32_t seq);
  bool has(int32_t seq) const { return seqs_.count(seq) != 0; }

 private:
  struct Sequence {
    std::vector<int32_t> blocks;
    int32_t length = 0;
    std::vector<int32_t> tokens;  // committed tokens (== length between steps)
    std::vector<uint64_t> keys;   // the prefix key of each full block, registered or not
  };
  struct BlockMeta {
    bool registered = false;
    uint64_t key = 0, parent = 0;
    std::vector<int32_t> tokens;
    std::list<int32_t>::iterator lru;  // valid while cached (registered, no refs)
  };
  int32_t take_block();
  void release_block(int32_t block);
  void attach_block(int32_t block);
  void copy_block(int32_t from, int32_t to);
  void register_full_blocks(Sequence& s);
  void unregister(int32_t block);
  // The registered block with this key, parent and tokens, or -1.
  int32_t lookup(uint64_t key, uint64_t parent, const int32_t* tokens) const;
  // The registered block after prefix key `parent` whose tokens share the longest start with
  // tokens[0, n), and that length (-1 and 0 when none shares any).
  std::pair<int32_t, int32_t> longest_start(uint64_t parent, const int32_t* tokens, int32_t n) const;

  int32_t n_layers_, row_size_, block_size_;
  bool prefix_cache_;
  std::vector<std::vector<uint16_t>> k_, v_;
  std::vector<int32_t> refs_;
  std::vector<int32_t> free_;
  std::vector<BlockMeta> meta_;
  std::list<int32_t> lru_;  // cached blocks, least recently released first
  std::unordered_map<uint64_t, int32_t> by_key_;
  std::unordered_multimap<uint64_t, int32_t> by_parent_;  // registered blocks by their parent's key
  std::unordered_map<int32_t, Sequence> seqs_;
};

}  // namespace omni
