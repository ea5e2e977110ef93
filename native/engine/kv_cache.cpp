#include "kv_cache.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace omni {

namespace {

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kRootKey = 0x6f6d6e692d6b7631ull;  // the "parent" of every first block

// The splitmix64 finalizer: a bijection that spreads every input bit over the output.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t block_key(uint64_t parent, const int32_t* tokens, int32_t n) {
  uint64_t h = mix(parent + kGolden);
  for (int32_t i = 0; i < n; i++) h = mix((h ^ (uint32_t)tokens[i]) + kGolden);
  return h;
}

const std::vector<int32_t> kNoTokens;

}  // namespace

KvCache::KvCache(int32_t n_layers, int32_t row_size, int32_t block_size, int32_t n_blocks, bool prefix_cache)
    : n_layers_(n_layers), row_size_(row_size), block_size_(block_size), prefix_cache_(prefix_cache),
      refs_(n_blocks, 0), meta_(n_blocks) {
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

const std::vector<int32_t>& KvCache::tokens(int32_t seq) const {
  auto it = seqs_.find(seq);
  return it == seqs_.end() ? kNoTokens : it->second.tokens;
}

// Never-used or plainly released blocks first; then the least recently released cached one.
int32_t KvCache::take_block() {
  int32_t b;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else {
    b = lru_.front();
    lru_.pop_front();
    unregister(b);
  }
  refs_[b] = 1;
  return b;
}

void KvCache::release_block(int32_t block) {
  if (--refs_[block] > 0) return;
  if (meta_[block].registered) meta_[block].lru = lru_.insert(lru_.end(), block);
  else free_.push_back(block);
}

void KvCache::attach_block(int32_t block) {
  if (refs_[block]++ == 0) lru_.erase(meta_[block].lru);
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
  if (extra > free_blocks()) {
    if (s.blocks.empty() && s.length == 0) seqs_.erase(seq);
    return "the KV cache is full: " + std::to_string(extra) + " more blocks of " + std::to_string(block_size_) +
           " tokens needed, " + std::to_string(free_blocks()) + " free";
  }
  if (copy_last) {
    const int32_t fresh = take_block();
    copy_block(s.blocks.back(), fresh);
    release_block(s.blocks.back());
    s.blocks.back() = fresh;
  }
  const size_t first_new = s.blocks.size();
  while ((int32_t)s.blocks.size() < need) s.blocks.push_back(take_block());
  // In ascending order: blocks freed together come back last first (see free), and decode
  // attention reads a sequence's blocks fastest when they lie one after another in the pool.
  std::sort(s.blocks.begin() + (std::ptrdiff_t)first_new, s.blocks.end());
  s.length += n;
  return "";
}

void KvCache::commit(int32_t seq, const std::vector<int32_t>& tokens) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  Sequence& s = it->second;
  s.tokens.insert(s.tokens.end(), tokens.begin(), tokens.end());
  if (prefix_cache_) register_full_blocks(s);
}

// Keys every newly full block; registers it unless its key already names another block.
void KvCache::register_full_blocks(Sequence& s) {
  const size_t full = std::min<size_t>(s.tokens.size(), (size_t)s.length) / block_size_;
  while (s.keys.size() < full) {
    const size_t b = s.keys.size();
    const uint64_t parent = b == 0 ? kRootKey : s.keys[b - 1];
    const int32_t* t = s.tokens.data() + b * block_size_;
    const uint64_t key = block_key(parent, t, block_size_);
    s.keys.push_back(key);
    const int32_t block = s.blocks[b];
    if (meta_[block].registered || by_key_.count(key)) continue;
    BlockMeta& m = meta_[block];
    m.registered = true;
    m.key = key;
    m.parent = parent;
    m.tokens.assign(t, t + block_size_);
    by_key_[key] = block;
    by_parent_.emplace(parent, block);
  }
}

void KvCache::unregister(int32_t block) {
  BlockMeta& m = meta_[block];
  if (!m.registered) return;
  auto it = by_key_.find(m.key);
  if (it != by_key_.end() && it->second == block) by_key_.erase(it);
  for (auto [c, end] = by_parent_.equal_range(m.parent); c != end; ++c)
    if (c->second == block) {
      by_parent_.erase(c);
      break;
    }
  m.registered = false;
  m.tokens.clear();
}

int32_t KvCache::lookup(uint64_t key, uint64_t parent, const int32_t* tokens) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return -1;
  const BlockMeta& m = meta_[it->second];
  // A 64-bit key can collide: only exactly the same content (and prefix key) is a hit.
  if (m.parent != parent || !std::equal(m.tokens.begin(), m.tokens.end(), tokens)) return -1;
  return it->second;
}

std::pair<int32_t, int32_t> KvCache::longest_start(uint64_t parent, const int32_t* tokens, int32_t n) const {
  std::pair<int32_t, int32_t> best{-1, 0};
  for (auto [c, end] = by_parent_.equal_range(parent); c != end; ++c) {
    const std::vector<int32_t>& t = meta_[c->second].tokens;
    const int32_t len = (int32_t)(std::mismatch(t.begin(), t.begin() + std::min(n, block_size_), tokens).first - t.begin());
    if (len > best.second) best = {c->second, len};
  }
  return best;
}

int32_t KvCache::reuse_prefix(int32_t seq, const std::vector<int32_t>& tokens) {
  if (length(seq) != 0)
    throw std::invalid_argument("sequence " + std::to_string(seq) + " holds " + std::to_string(length(seq)) +
                                " tokens; a prefix can only be reused by an empty sequence (free or evict it first)");
  if (!prefix_cache_ || tokens.size() <= 1) return 0;
  const int32_t usable = (int32_t)tokens.size() - 1;  // the last token is always evaluated
  const size_t max_blocks = usable / block_size_;
  std::vector<int32_t> hits;
  std::vector<uint64_t> keys;
  uint64_t parent = kRootKey;
  while (hits.size() < max_blocks) {
    const int32_t* t = tokens.data() + hits.size() * block_size_;
    const uint64_t key = block_key(parent, t, block_size_);
    const int32_t block = lookup(key, parent, t);
    if (block < 0) break;
    hits.push_back(block);
    keys.push_back(key);
    parent = key;
  }
  const int32_t full = (int32_t)hits.size() * block_size_;
  const auto [partial, partial_len] = longest_start(parent, tokens.data() + full, usable - full);
  if (hits.empty() && partial_len == 0) return 0;
  for (int32_t b : hits) attach_block(b);
  Sequence& s = seqs_[seq];
  s.length = full;
  s.blocks = std::move(hits);
  s.keys = std::move(keys);
  if (partial_len > 0) {
    attach_block(partial);  // so that taking a block cannot evict it
    if (free_blocks() > 0) {
      const int32_t copy = take_block();
      copy_block(partial, copy);
      s.blocks.push_back(copy);
      s.length += partial_len;
    }
    release_block(partial);
  }
  if (s.length == 0) {
    seqs_.erase(seq);
    return 0;
  }
  s.tokens.assign(tokens.begin(), tokens.begin() + s.length);
  return s.length;
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
  length = std::max(0, length);
  if (length >= s.length) return;
  const int32_t keep = (length + block_size_ - 1) / block_size_;
  while ((int32_t)s.blocks.size() > keep) {
    release_block(s.blocks.back());
    s.blocks.pop_back();
  }
  // The kept part of the last block will be written past: its registered content goes stale.
  // (A shared one is copied before that write, see reserve, so it stays valid for the others.)
  if (length % block_size_ != 0 && refs_[s.blocks.back()] == 1) unregister(s.blocks.back());
  s.length = length;
  s.tokens.resize(std::min(s.tokens.size(), (size_t)length));
  s.keys.resize(std::min(s.keys.size(), (size_t)(length / block_size_)));
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
  // Last block first: a prefix's tail is the least likely to be reused, so it is evicted first.
  const std::vector<int32_t>& blocks = it->second.blocks;
  for (auto b = blocks.rbegin(); b != blocks.rend(); ++b) release_block(*b);
  seqs_.erase(it);
}

}  // namespace omni
