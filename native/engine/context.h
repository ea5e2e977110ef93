// An inference context: one backend instance, a paged KV cache, per-sequence samplers,
// and the step() that feeds new tokens of many sequences through one forward pass.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend.h"
#include "forward.h"
#include "kv_cache.h"
#include "model.h"
#include "sampler.h"

namespace omni {

struct ContextOptions {
  int32_t n_threads = 0;          // <= 0: one per core
  int32_t kv_tokens = 4096;       // KV capacity, in tokens, across all sequences
  int32_t kv_block_size = 16;
  int32_t max_batch_tokens = 512; // larger steps are run as several forward passes
  bool prefix_cache = true;       // register full KV blocks by content and let reuse_prefix find them
  std::string backend = "cpu";
  std::string backend_search_path;
};

// What one sequence contributes to a step.
struct SeqInput {
  int32_t seq = 0;
  std::vector<int32_t> tokens;
  int32_t pos = 0;                        // position of tokens[0]: must equal the sequence's length
  bool sample = false;                    // sample the next token after the last one
  std::optional<SamplingParams> params;   // (re)configures this sequence's sampler
  enum Logits { NONE, LAST, ALL } logits = NONE;  // return raw logits too
  bool hidden = false;                    // return the final normalised hidden state of each token
  // How many leading tokens are prompt tokens, attended the prefill way; the rest are generated
  // tokens fed back, attended the decode way (backend.h). -1: all of them when there are
  // several, none for a single token.
  int32_t prompt_tokens = -1;
  int32_t n_prompt() const {
    return prompt_tokens >= 0 ? prompt_tokens : tokens.size() > 1 ? (int32_t)tokens.size() : 0;
  }
};

struct SeqOutput {
  int32_t seq = 0;
  SampleResult sampled;                   // token -1 when not sampled
  std::vector<float> logits;              // [rows][n_vocab]
  std::vector<float> hidden;              // [tokens][n_embd]
};

class Context {
 public:
  Context(const Model& model, const ContextOptions& options);
  ~Context();

  // Throws std::invalid_argument for bad input (nothing changed), std::runtime_error when
  // the KV cache is full (nothing changed) or a backend fails, std::logic_error when a step
  // is already running.
  std::vector<SeqOutput> step(const std::vector<SeqInput>& inputs);
  // step() in three parts, for a caller that runs the step on another thread: claim() on the
  // caller's thread (false when a step is already running) refuses the calls below from then
  // on; run_claimed() does the work; release() on the caller's thread, once it has the result.
  bool claim() { return !busy_.exchange(true); }
  std::vector<SeqOutput> run_claimed(const std::vector<SeqInput>& inputs);
  void release() { busy_ = false; }

  // These change the KV cache: they throw std::logic_error while a step is running.
  void truncate(int32_t seq, int32_t length);  // the sampler's history too
  void fork(int32_t src, int32_t dst);         // KV blocks shared, sampler (RNG, history) copied
  void free(int32_t seq);                      // KV and sampler
  // Frees the KV blocks but keeps the sampler: feeding the sequence's tokens again (from 0, or
  // after reuse_prefix) lets it go on exactly as if it had never been evicted.
  void evict(int32_t seq);
  // See KvCache::reuse_prefix: gives an empty sequence the cached KV of a prefix of `tokens`,
  // leaving at least one token to feed, and returns the prefix's length; feed the rest from
  // that position (as prompt tokens, so they get the numbers a cold prompt gives them).
  int32_t reuse_prefix(int32_t seq, const std::vector<int32_t>& tokens);

  // Safe to call while a step runs (its tokens may already be counted).
  int32_t length(int32_t seq) const;
  int32_t kv_blocks_free() const;
  int32_t kv_blocks_cached() const;
  int32_t kv_blocks_total() const { return kv_->n_blocks(); }
  int32_t kv_block_size() const { return kv_->block_size(); }
  std::string describe() const { return backend_->describe(); }
  uint64_t steps() const { return steps_; }

 private:
  void validate(const std::vector<SeqInput>& inputs) const;
  // Makes KV room for every input, or for none (throws when the cache is full).
  void reserve(const std::vector<SeqInput>& inputs);
  // Gives back the KV room of the first `count` inputs.
  void rollback(const std::vector<SeqInput>& inputs, size_t count);
  // Runs the forward passes; points last_logits[i] at input i's last-token logits (in the
  // step's logit rows, valid until the next step), or leaves it null when they were not wanted.
  std::vector<SeqOutput> evaluate(const std::vector<SeqInput>& inputs, std::vector<const float*>* last_logits);
  // Room for this step's logit rows.
  float* logit_rows(size_t n_floats);
  void commit(const std::vector<SeqInput>& inputs);
  void sample(const std::vector<SeqInput>& inputs, const std::vector<const float*>& last_logits,
              std::vector<SeqOutput>* outputs);
  // Cuts the sampler's history where it stops matching the sequence's tokens (from `from` on).
  void drop_diverged(SequenceSampler& sampler, int32_t seq, size_t from) const;
  // Gives the sampler the sequence's tokens past its history.
  void catch_up(SequenceSampler& sampler, int32_t seq) const;
  void check_idle() const;

  const Model& model_;
  ContextOptions options_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<KvCache> kv_;
  std::unique_ptr<Forward> forward_;
  std::unordered_map<int32_t, SequenceSampler> samplers_;
  std::unique_ptr<float[]> logits_;  // the step's logit rows (logit_rows)
  size_t logits_capacity_ = 0;
  std::atomic<bool> busy_{false};
  // Held while a step changes the KV cache's bookkeeping, so that reads from another thread
  // (length, stats) see it whole.
  mutable std::mutex kv_mutex_;
  std::atomic<uint64_t> steps_{0};
};

}  // namespace omni
