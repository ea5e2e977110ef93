// Turns one sequence's logits into its next token: penalties, logit bias, temperature,
// top-k / top-p / min-p truncation, a seeded RNG, and optional logprobs.
#pragma once
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace omni {

struct SamplingParams {
  float temperature = 1.0f;         // <= 0 means greedy (argmax)
  int32_t top_k = 0;                // <= 0: off
  float top_p = 1.0f;               // >= 1: off
  float min_p = 0.0f;               // <= 0: off (relative to the most likely token)
  float repetition_penalty = 1.0f;  // 1: off (llama.cpp / CTRL style: divide positive, multiply negative)
  float presence_penalty = 0.0f;    // OpenAI style, subtracted once per token present in the window
  float frequency_penalty = 0.0f;   // OpenAI style, subtracted per occurrence in the window
  int32_t penalty_window = 64;      // how many most recent tokens the penalties look at (0: none)
  std::vector<std::pair<int32_t, float>> logit_bias;  // added to the logit; -inf bans a token
  uint64_t seed = 0;
  bool has_seed = false;            // without a seed the RNG is seeded from std::random_device
  int32_t n_logprobs = -1;          // -1: none; 0: the chosen token's; N: plus the N most likely
};

struct TokenLogprob {
  int32_t token;
  float logprob;
};

struct SampleResult {
  int32_t token = -1;
  float logprob = 0.0f;             // of the chosen token (filled when n_logprobs >= 0)
  std::vector<TokenLogprob> top;    // the n_logprobs most likely, most likely first (ties: lower
                                    // id first); tokens with logprob -inf are left out
};

// One per sequence; keeps the RNG and the sequence's tokens between steps.
class SequenceSampler {
 public:
  explicit SequenceSampler(const SamplingParams& params);
  void set_params(const SamplingParams& params);  // keeps history; keeps the RNG state unless a seed is given
  // Records the next token of the sequence (prompt or generated); the penalties look at the
  // last penalty_window of them.
  void accept(int32_t token);
  // Forgets all but the first n tokens (a rollback); the RNG goes on from where it is.
  void truncate(size_t n);
  const std::vector<int32_t>& history() const { return history_; }
  // Chooses the next token (it does not accept() it). Logprobs are the log-softmax of the
  // logits after logit bias and penalties, before temperature and truncation (what the model
  // "thinks"). NaN logits count as -inf. n_vocab <= 0 or null logits: token -1; every logit
  // -inf (all banned): token 0 with logprob -inf. Different samplers may run on different
  // threads at once: the vocab-sized scratch buffers are per thread (sampler_vocab.cpp), so a
  // sampler itself stays small.
  SampleResult sample(const float* logits, int32_t n_vocab);

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<int32_t> history_;  // every token of the sequence, in order
};

}  // namespace omni
