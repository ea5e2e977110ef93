// Checks the paged KV cache's bookkeeping (engine/kv_cache.cpp): prefix-cache registration of
// full blocks, reuse_prefix, the LRU of cached blocks, copy-on-write, truncation. Each "step"
// here reserves room, writes each token's id into its key slot (one layer, rows of one value)
// so that block contents can be checked, and commits.
// Prints `ok <name>` / `FAIL <name>: ...` per check, then `N passed, M failed`.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.h"
#include "kv_cache.h"

using omni::KvCache;

namespace {

using check::Check;

constexpr int32_t kBlock = 4;

KvCache make_cache(int32_t n_blocks, bool prefix_cache = true) { return KvCache(1, 1, kBlock, n_blocks, prefix_cache); }

// One successful step of `seq`: room, contents, commit.
void feed(Check& c, KvCache& kv, int32_t seq, const std::vector<int32_t>& tokens) {
  const int32_t pos = kv.length(seq);
  const std::string err = kv.reserve(seq, (int32_t)tokens.size());
  if (!err.empty()) return c.fail("reserve failed: %s", err.c_str());
  for (size_t i = 0; i < tokens.size(); i++) kv.k_pool(0)[kv.slot(seq, pos + (int32_t)i)] = (uint16_t)tokens[i];
  kv.commit(seq, tokens);
}

int32_t block_of(const KvCache& kv, int32_t seq, int32_t index) {
  return index < (kv.length(seq) + kBlock - 1) / kBlock ? kv.block_table(seq)[index] : -1;
}

std::vector<int32_t> range(int32_t from, int32_t n) {
  std::vector<int32_t> v;
  for (int32_t i = 0; i < n; i++) v.push_back(from + i);
  return v;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The contents stored for positions [0, n) of seq.
std::vector<int32_t> contents(KvCache& kv, int32_t seq, int32_t n) {
  std::vector<int32_t> out;
  for (int32_t p = 0; p < n; p++) out.push_back(kv.k_pool(0)[kv.slot(seq, p)]);
  return out;
}

}  // namespace

int main() {
  {
    Check c("registers_only_full_blocks");
    KvCache kv = make_cache(8);
    feed(c, kv, 0, range(10, 6));
    c.expect_eq(kv.registered(block_of(kv, 0, 0)), 1, "the full first block is registered");
    c.expect_eq(kv.registered(block_of(kv, 0, 1)), 0, "the half-filled second block is not");
    if (!kv.reserve(0, 2).empty()) c.fail("reserve failed");
    c.expect_eq(kv.registered(block_of(kv, 0, 1)), 0, "a block filled by a step is registered only after the commit");
    kv.commit(0, range(16, 2));
    c.expect_eq(kv.registered(block_of(kv, 0, 1)), 1, "the second block, full after the commit");
    if (kv.tokens(0) != range(10, 8)) c.fail("the token record is not the tokens fed");
  }
  {
    Check c("reuse_shares_blocks");
    KvCache kv = make_cache(8);
    const std::vector<int32_t> prompt = range(10, 12);
    feed(c, kv, 0, prompt);
    const int32_t free_before = kv.free_blocks();
    c.expect_eq(kv.reuse_prefix(1, concat(prompt, {99})), 12, "a hit on all three blocks");
    c.expect_eq(kv.length(1), 12, "the length of the reusing sequence");
    for (int32_t b = 0; b < 3; b++) {
      c.expect_eq(block_of(kv, 1, b), block_of(kv, 0, b), "the same block");
      c.expect_eq(kv.refs(block_of(kv, 0, b)), 2, "a shared block's refs");
    }
    c.expect_eq(kv.free_blocks(), free_before, "reuse takes no new block");
    if (kv.tokens(1) != prompt) c.fail("the reusing sequence's token record");
    feed(c, kv, 1, {99});
    c.expect_eq(kv.refs(block_of(kv, 1, 3)), 1, "the continuation writes a block of its own");
    // Sharing only the first block.
    c.expect_eq(kv.reuse_prefix(2, concat(range(10, 4), range(50, 8))), 4, "a hit on the first block only");
    c.expect_eq(kv.refs(block_of(kv, 0, 0)), 3, "the first block's refs");
    c.expect_eq(kv.reuse_prefix(3, range(50, 12)), 0, "a miss from the first block");
    c.expect_eq(kv.has(3), 0, "a miss leaves no sequence behind");
  }
  {
    Check c("reuse_leaves_a_token");
    KvCache kv = make_cache(8);
    feed(c, kv, 0, range(10, 12));
    c.expect_eq(kv.reuse_prefix(1, range(10, 12)), 11, "the whole prompt cached: all but its last token");
    c.expect_eq(kv.reuse_prefix(2, range(10, 9)), 8, "one token past two blocks");
    c.expect_eq(kv.reuse_prefix(3, range(10, 8)), 7, "exactly two blocks");
    c.expect_eq(kv.reuse_prefix(4, range(10, 4)), 3, "exactly one block");
    c.expect_eq(kv.reuse_prefix(5, {}), 0, "no tokens");
    c.expect_eq(kv.reuse_prefix(7, range(10, 1)), 0, "a single token is always evaluated");
    c.expect_eq(kv.has(7), 0, "and no sequence behind");
  }
  {
    Check c("reuse_copies_a_partly_matching_block");
    KvCache kv = make_cache(8);
    feed(c, kv, 0, range(10, 8));
    const int32_t b1 = block_of(kv, 0, 1), free_before = kv.free_blocks();
    const std::vector<int32_t> prompt = concat(range(10, 6), {99, 98, 97});
    c.expect_eq(kv.reuse_prefix(1, prompt), 6, "the first block, and two tokens of the second");
    c.expect_eq(block_of(kv, 1, 0), block_of(kv, 0, 0), "the full block is shared");
    if (block_of(kv, 1, 1) == b1) c.fail("the partly matching block was shared, not copied");
    c.expect_eq(kv.refs(b1), 1, "the partly matching block is left as it was");
    c.expect_eq(kv.free_blocks(), free_before - 1, "the copy takes one block");
    if (contents(kv, 1, 6) != range(10, 6)) c.fail("the copy does not hold the shared tokens");
    if (kv.tokens(1) != range(10, 6)) c.fail("the token record of the reused part");
    feed(c, kv, 1, {99, 98, 97});
    if (contents(kv, 1, 9) != prompt) c.fail("the sequence's contents after its own write");
    if (contents(kv, 0, 8) != range(10, 8)) c.fail("the other sequence's contents changed");
    c.expect_eq(kv.reuse_prefix(2, range(10, 3)), 2, "from the first block too, one token left to evaluate");
    c.expect_eq(kv.reuse_prefix(3, {10, 50}), 1, "a single shared token");
    c.expect_eq(kv.reuse_prefix(4, {50, 51}), 0, "no shared token");
    c.expect_eq(kv.has(4), 0, "a miss leaves no sequence behind");

    KvCache full = make_cache(2);
    feed(c, full, 0, range(10, 8));
    c.expect_eq(full.reuse_prefix(1, prompt), 4, "no free block to copy into: the full blocks only");
    c.expect_eq(full.refs(block_of(full, 0, 1)), 1, "the partly matching block is left as it was");
    c.expect_eq(full.reuse_prefix(2, range(10, 3)), 0, "nothing at all");
    c.expect_eq(full.has(2), 0, "and no sequence behind");
  }
  {
    Check c("reuse_needs_an_empty_sequence");
    KvCache kv = make_cache(8);
    feed(c, kv, 0, range(10, 8));
    feed(c, kv, 1, {10});
    bool threw = false;
    try {
      kv.reuse_prefix(1, range(10, 9));
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    if (!threw) c.fail("reuse_prefix on a sequence holding tokens did not throw");
    c.expect_eq(kv.length(1), 1, "the sequence is unchanged");
    kv.truncate(1, 0);
    c.expect_eq(kv.reuse_prefix(1, range(10, 9)), 8, "after truncating to 0 it can reuse");
  }
  {
    Check c("free_caches_registered_blocks");
    KvCache kv = make_cache(8);
    feed(c, kv, 0, range(10, 10));  // two full blocks and a partial one
    c.expect_eq(kv.free_blocks(), 5, "free while held");
    kv.free(0);
    c.expect_eq(kv.cached_blocks(), 2, "the full blocks are cached");
    c.expect_eq(kv.free_blocks(), 8, "cached blocks count as free");
    c.expect_eq(kv.reuse_prefix(1, range(10, 10)), 8, "cached blocks are found");
    c.expect_eq(kv.cached_blocks(), 0, "reused blocks leave the cache");
    c.expect_eq(kv.refs(block_of(kv, 1, 0)), 1, "and are referenced again");
    c.expect_eq(kv.free_blocks(), 6, "free after the reuse");
  }
  {
    Check c("lru_eviction_order");
    KvCache kv = make_cache(4);
    const std::vector<int32_t> a = range(10, 8), b = range(30, 8);
    feed(c, kv, 0, a);
    feed(c, kv, 1, b);
    const int32_t a0 = block_of(kv, 0, 0), a1 = block_of(kv, 0, 1), b0 = block_of(kv, 1, 0), b1 = block_of(kv, 1, 1);
    kv.free(0);  // released: a1, a0 (last block first)
    kv.free(1);  // then b1, b0
    c.expect_eq(kv.cached_blocks(), 4, "all cached");
    feed(c, kv, 2, {1});
    c.expect_eq(block_of(kv, 2, 0), a1, "first evicted: the least recently released, a's last block");
    c.expect_eq(kv.registered(a1), 0, "an evicted block is unregistered");
    c.expect_eq(kv.reuse_prefix(3, concat(a, {0})), 4, "a's first block is still found, its second is not");
    kv.free(3);  // a0 becomes the most recently released
    feed(c, kv, 4, range(60, 5));
    // Evicted b1 then b0 (b's last block first), but blocks taken in one reservation go into
    // the table in ascending order, so that they lie one after another in the pool.
    c.expect_eq(b0 < b1, 1, "b's blocks were taken in ascending order");
    c.expect_eq(block_of(kv, 4, 0), b0, "next evicted: b's two blocks, the lower first in the table");
    c.expect_eq(block_of(kv, 4, 1), b1, "then the higher");
    c.expect_eq(kv.reuse_prefix(5, concat(b, {0})), 0, "an evicted prefix is no longer found");
    c.expect_eq(kv.reuse_prefix(6, concat(a, {0})), 4, "a0, released last, survived");
    c.expect_eq(block_of(kv, 6, 0), a0, "and is the block attached");
    if (kv.reserve(7, 1).empty()) c.fail("a reservation past the pool succeeded");
    c.expect_eq(kv.has(7), 0, "a refused reservation leaves no sequence behind");
  }
  {
    Check c("truncate_unregisters_a_partly_kept_block");
    KvCache kv = make_cache(8);
    feed(c, kv, 0, range(10, 8));
    const int32_t b1 = block_of(kv, 0, 1);
    kv.truncate(0, 6);
    c.expect_eq(kv.registered(b1), 0, "the partly kept block is unregistered");
    c.expect_eq(kv.registered(block_of(kv, 0, 0)), 1, "the block before it stays registered");
    if (kv.tokens(0) != range(10, 6)) c.fail("the token record is truncated");
    c.expect_eq(kv.reuse_prefix(1, range(10, 9)), 4, "only the first block is found");
    kv.free(1);
    feed(c, kv, 0, {70, 71});  // the block is full again, with other contents
    c.expect_eq(kv.registered(b1), 1, "refilled, it is registered again");
    c.expect_eq(kv.reuse_prefix(2, concat(concat(range(10, 6), {70, 71}), {0})), 8, "under its new contents");
    c.expect_eq(kv.reuse_prefix(3, range(10, 9)), 6, "and not the old ones: only the two tokens they share");
    kv.truncate(0, 4);  // a whole block dropped: its contents are still valid
    c.expect_eq(kv.registered(b1), 1, "a block dropped whole stays registered");
  }
  {
    Check c("truncate_into_a_shared_block_copies_on_write");
    KvCache kv = make_cache(8);
    feed(c, kv, 0, range(10, 8));
    c.expect_eq(kv.reuse_prefix(1, range(10, 9)), 8, "the reuse");
    const int32_t b1 = block_of(kv, 0, 1);
    kv.truncate(1, 6);
    c.expect_eq(kv.registered(b1), 1, "a shared block stays registered");
    c.expect_eq(kv.refs(b1), 2, "and shared");
    feed(c, kv, 1, {80, 81});
    if (block_of(kv, 1, 1) == b1) c.fail("the write went into the shared block");
    c.expect_eq(kv.refs(b1), 1, "the shared block is left to the other sequence");
    if (contents(kv, 0, 8) != range(10, 8)) c.fail("the other sequence's contents changed");
    if (contents(kv, 1, 8) != concat(range(10, 6), {80, 81})) c.fail("the copy does not hold the kept part and the write");
    c.expect_eq(kv.reuse_prefix(2, range(10, 9)), 8, "the original prefix is still found");
  }
  {
    Check c("fork_then_write_copies");
    KvCache kv = make_cache(8);
    feed(c, kv, 0, range(10, 6));
    const int32_t free_before = kv.free_blocks();
    if (!kv.fork(0, 1).empty()) c.fail("fork failed");
    c.expect_eq(kv.free_blocks(), free_before, "a fork takes no block");
    if (kv.tokens(1) != kv.tokens(0)) c.fail("the fork's token record");
    feed(c, kv, 1, {90, 91});
    if (block_of(kv, 1, 1) == block_of(kv, 0, 1)) c.fail("the fork wrote into the shared partial block");
    if (contents(kv, 0, 6) != range(10, 6)) c.fail("the parent's contents changed");
    if (contents(kv, 1, 8) != concat(range(10, 6), {90, 91})) c.fail("the fork's contents");
    c.expect_eq(kv.registered(block_of(kv, 1, 1)), 1, "the fork's own block is registered once full");
    feed(c, kv, 0, {92, 93});
    c.expect_eq(kv.registered(block_of(kv, 0, 1)), 1, "the parent's, with other tokens, too");
  }
  {
    Check c("duplicate_content_keeps_the_first_registration");
    KvCache kv = make_cache(8);
    feed(c, kv, 0, range(10, 4));
    feed(c, kv, 1, range(10, 4));  // computed again, not reused
    c.expect_eq(kv.registered(block_of(kv, 0, 0)), 1, "the first block with this content");
    c.expect_eq(kv.registered(block_of(kv, 1, 0)), 0, "the second is not registered");
    kv.free(1);
    c.expect_eq(kv.cached_blocks(), 0, "an unregistered block goes to the free list");
    kv.free(0);
    c.expect_eq(kv.cached_blocks(), 1, "the registered one is cached");
  }
  {
    Check c("same_block_after_another_prefix_is_another_key");
    KvCache kv = make_cache(8);
    feed(c, kv, 0, concat(range(10, 4), range(40, 4)));
    c.expect_eq(kv.reuse_prefix(1, concat(concat(range(20, 4), range(40, 4)), {0})), 0, "a block's key covers its whole prefix");
    feed(c, kv, 2, concat(range(20, 4), range(40, 4)));
    c.expect_eq(kv.registered(block_of(kv, 2, 1)), 1, "the same tokens after another prefix are registered too");
    kv.free(0);
    kv.free(2);
    c.expect_eq(kv.reuse_prefix(3, concat(concat(range(20, 4), range(40, 4)), {0})), 8, "and found");
    c.expect_eq(kv.reuse_prefix(4, concat(concat(range(10, 4), range(40, 4)), {0})), 8, "as is the first");
  }
  {
    Check c("prefix_cache_off");
    KvCache kv = make_cache(8, false);
    feed(c, kv, 0, range(10, 8));
    c.expect_eq(kv.registered(block_of(kv, 0, 0)), 0, "nothing is registered");
    c.expect_eq(kv.reuse_prefix(1, range(10, 9)), 0, "nothing is reused");
    if (kv.tokens(0) != range(10, 8)) c.fail("the token record is still kept");
    kv.free(0);
    c.expect_eq(kv.cached_blocks(), 0, "nothing is cached");
    c.expect_eq(kv.free_blocks(), 8, "everything is free");
  }
  return check::finish();
}
