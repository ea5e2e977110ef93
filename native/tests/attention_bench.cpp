// Decode attention through the CPU backend, SmolLM2-135M's shape (9 query heads, 3 KV heads of
// 64): 16 tokens, each of its own sequence with POSITIONS cached positions, over 30 layers whose
// KV pools are far bigger than the caches, once with each sequence's blocks one after another
// in the pool (as a prompt's are) and once with them scattered. Prints the median time of the
// 30 layers and the KV bytes read per second at that median.
//
//   attention_bench [POSITIONS=1024] [THREADS=2] [REPEATS=25]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>

#include "../engine/backend.h"

using namespace omni;

namespace {

constexpr int kTokens = 16, kLayers = 30, kHeads = 9, kKvHeads = 3, kHeadDim = 64, kBlock = 16;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Milliseconds per pass over the layers (median of `repeats`), the tokens' blocks as `blocks`.
double run(Backend& be, std::vector<std::vector<uint16_t>>& k, std::vector<std::vector<uint16_t>>& v,
           const std::vector<int32_t>& blocks, int positions, int repeats) {
  const int per_seq = (positions + kBlock - 1) / kBlock;
  std::vector<const int32_t*> tables(kTokens);
  for (int t = 0; t < kTokens; t++) tables[t] = blocks.data() + (size_t)t * per_seq;
  std::vector<int32_t> n_past(kTokens, positions);
  std::vector<uint8_t> prompt(kTokens, 0);  // the decode way
  std::vector<float> q((size_t)kTokens * kHeads * kHeadDim), out(q.size());
  std::mt19937 rng(7);
  for (float& x : q) x = (float)(rng() % 2001) / 1000.0f - 1.0f;
  omni_attention_args a{};
  a.q = q.data();
  a.out = out.data();
  a.n_tokens = kTokens;
  a.n_heads = kHeads;
  a.n_kv_heads = kKvHeads;
  a.head_dim = kHeadDim;
  a.scale = 0.125f;
  a.block_size = kBlock;
  a.block_tables = tables.data();
  a.n_past = n_past.data();
  a.prompt = prompt.data();
  std::vector<double> ms;
  for (int r = 0; r < repeats; r++) {
    const double t0 = now();
    {
      Backend::PassScope pass(be);
      for (int l = 0; l < kLayers; l++) {
        a.k_pool = k[l].data();
        a.v_pool = v[l].data();
        be.check(be.ops().attention(be.handle(), &a), "attention");
      }
    }
    ms.push_back((now() - t0) * 1000);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int positions = argc > 1 ? std::atoi(argv[1]) : 1024;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 25;
  if (positions < 1 || threads < 1 || repeats < 1) {
    std::fprintf(stderr, "usage: attention_bench [POSITIONS=1024] [THREADS=2] [REPEATS=25]\n");
    return 2;
  }
  const omni_backend_options options{threads, 0};
  std::unique_ptr<Backend> be = open_backend("cpu", options, "");
  const int per_seq = (positions + kBlock - 1) / kBlock, n_blocks = kTokens * per_seq;
  const size_t pool = (size_t)n_blocks * kBlock * kKvHeads * kHeadDim;
  std::vector<std::vector<uint16_t>> k(kLayers), v(kLayers);
  std::mt19937 rng(1);
  for (int l = 0; l < kLayers; l++) {
    k[l].resize(pool);
    v[l].resize(pool);
    for (size_t i = 0; i < pool; i++) {  // f16 values in [0.125, 0.25)
      k[l][i] = (uint16_t)(0x3000 + (rng() & 0x3ff));
      v[l][i] = (uint16_t)(0x3000 + (rng() & 0x3ff));
    }
  }
  std::vector<int32_t> in_sequence(n_blocks);
  std::iota(in_sequence.begin(), in_sequence.end(), 0);
  std::vector<int32_t> scattered = in_sequence;
  std::shuffle(scattered.begin(), scattered.end(), rng);
  const double bytes = 2.0 * kTokens * positions * kKvHeads * kHeadDim * sizeof(uint16_t) * kLayers;
  std::printf("decode attention, %d tokens x %d layers, %d positions each, %d threads\n", kTokens, kLayers, positions,
              threads);
  for (int round = 0; round < 2; round++) {  // alternated: the machine's speed drifts
    for (const auto& [name, blocks] : {std::pair{"blocks in sequence", &in_sequence}, std::pair{"blocks scattered", &scattered}}) {
      const double ms = run(*be, k, v, *blocks, positions, repeats);
      std::printf("  %-19s %8.2f ms  %6.1f GB/s of KV\n", name, ms, bytes / ms / 1e6);
    }
  }
  return 0;
}
