// The batched forward pass of a Llama-family transformer: any mix of (token, position,
// sequence) entries in, logits for the requested rows out. Prefill and decode are the same
// code; the KV cache is read and written through each sequence's block table.
#pragma once
#include <cstdint>
#include <vector>

#include "backend.h"
#include "kv_cache.h"
#include "model.h"

namespace omni {

struct ForwardBatch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> positions;
  std::vector<int64_t> kv_slots;                // where each token's key/value is stored
  std::vector<const int32_t*> block_tables;     // each token's sequence's blocks
  std::vector<int32_t> n_past;                  // each token attends to positions [0, n_past)
  std::vector<uint8_t> prompt;                  // 1: a prompt token, attended the prefill way
  std::vector<int32_t> logit_rows;              // batch rows whose logits are wanted
  size_t size() const { return tokens.size(); }
};

class Forward {
 public:
  Forward(const Model& model, Backend& backend, KvCache& kv);
  ~Forward();
  Forward(const Forward&) = delete;
  Forward& operator=(const Forward&) = delete;

  // Runs the batch. Writes logits ([logit_rows][n_vocab]) to `logits` and, when `hidden`
  // is not null, the final normalised hidden states of every row ([n][n_embd]) to it.
  void run(const ForwardBatch& batch, float* logits, float* hidden);

 private:
  void ensure_capacity(size_t n_tokens, size_t n_logits);
  void attention_block(const LayerWeights& L, int32_t layer, const ForwardBatch& batch);
  void feed_forward_block(const LayerWeights& L, int64_t n);

  const HParams& hp_;
  // The model's weights with every matrix passed through the backend's upload_weight.
  ModelWeights weights_;
  Backend& be_;
  KvCache& kv_;
  omni_rope_args rope_q_{}, rope_k_{};

  size_t capacity_ = 0, logit_capacity_ = 0;
  float *x_ = nullptr, *h_ = nullptr, *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *att_ = nullptr;
  float *gate_ = nullptr, *up_ = nullptr, *out_rows_ = nullptr, *logits_ = nullptr;
};

}  // namespace omni
