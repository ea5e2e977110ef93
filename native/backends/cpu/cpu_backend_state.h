// The CPU backend's state, shared by its source files (cpu_backend.cpp: most ops;
// attention.cpp: attention), and the helper that spreads a loop over its threads.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels.h"
#include "omni/backend.h"
#include "thread_pool.h"
#include "weight_arena.h"

// The rope angles' cos and sin of the rows of the last rope call: a forward pass ropes Q and
// K of every layer at the same positions, so all but the first call of a step reuse them.
struct RopeAngles {
  int32_t n_rot = 0;
  float freq_base = 0, freq_scale = 0;
  const float* freq_factors = nullptr;
  std::vector<int32_t> positions;
  std::vector<float> cs;  // [row][n_rot]: cos and sin of each of the n_rot / 2 angles

  bool holds(const int32_t* pos, int64_t n, const omni_rope_args& a) const {
    return a.n_rot == n_rot && a.freq_base == freq_base && a.freq_scale == freq_scale &&
           a.freq_factors == freq_factors && (int64_t)positions.size() == n && std::equal(pos, pos + n, positions.begin());
  }
};

struct omni_backend {
  const omni::cpu::KernelTable* k = nullptr;
  omni::cpu::ThreadPool* pool = nullptr;
  std::string description;
  std::string error;
  std::vector<uint8_t> act[omni::cpu::ACT_FORMAT_COUNT];  // quantized activations, per format
  std::vector<std::vector<int32_t>> act_offsets;           // a matmul's offset tables (kernels.h)
  std::vector<const int32_t*> offsets_of;                  // per weight of a matmul: its table or null
  std::vector<std::vector<float>> scratch;                // per thread
  std::vector<float> attn_kv;                             // attention: K and V rows as f32
  RopeAngles rope;
  omni::cpu::WeightArena repacked;                        // weights upload_weight copied
};

namespace omni::cpu {

// Splits `count` independent items into about 4 tasks per thread (at least `min_chunk`
// items each) and runs fn(begin, end, thread) on them.
template <class Fn>
void parallel_chunks(omni_backend* b, int64_t count, int64_t min_chunk, Fn&& fn) {
  const int64_t threads = b->pool->size();
  const int64_t chunk = std::max<int64_t>(min_chunk, (count + threads * 4 - 1) / (threads * 4));
  const int64_t n_tasks = (count + chunk - 1) / chunk;
  b->pool->parallel_for(n_tasks, [&](int64_t task, int thread) {
    const int64_t begin = task * chunk;
    fn(begin, std::min(count, begin + chunk), thread);
  });
}

int attention(omni_backend* b, const omni_attention_args* a);

}  // namespace omni::cpu
