// Checks the token sampler (engine/sampler.cpp) against a plain reference: for fixed logits,
// every setting must change the distribution of the sampled tokens the way it should. The
// reference below does everything the obvious way (double precision, a full sort); the sampler
// is drawn from many times and each token's frequency must lie within 5 binomial standard
// deviations of the reference probability, and tokens the reference rules out must never come.
// Prints `ok <name>` / `FAIL <name>: ...` per check, then `N passed, M failed`.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "sampler.h"

using omni::SampleResult;
using omni::SamplingParams;
using omni::SequenceSampler;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int32_t kBigVocab = 151936;  // Qwen2's vocabulary size

using check::Check;

// ---- the reference chain ------------------------------------------------------------------

struct RefOut {
  std::vector<double> prob;  // per token
  double margin = 1.0;       // how far the top-p / min-p cuts are from a tie (test design check)
};

std::vector<double> ref_logits(const std::vector<float>& logits, const SamplingParams& p,
                               const std::vector<int32_t>& window) {
  const int32_t n = static_cast<int32_t>(logits.size());
  std::vector<double> x(logits.begin(), logits.end());
  for (double& v : x)
    if (std::isnan(v)) v = -INFINITY;
  for (const auto& [id, b] : p.logit_bias)
    if (id >= 0 && id < n && !std::isnan(b)) x[id] += b;
  std::vector<int32_t> recent = window;
  if (p.penalty_window < static_cast<int32_t>(recent.size()))
    recent.erase(recent.begin(), recent.end() - std::max(0, p.penalty_window));
  std::vector<int> count(static_cast<size_t>(n), 0);
  for (int32_t t : recent)
    if (t >= 0 && t < n) count[t]++;
  for (int32_t t = 0; t < n; ++t) {
    if (count[t] == 0 || x[t] == -INFINITY) continue;
    if (p.repetition_penalty != 1.0f)
      x[t] = x[t] > 0 ? x[t] / p.repetition_penalty : x[t] * p.repetition_penalty;
    x[t] -= p.presence_penalty;
    x[t] -= static_cast<double>(p.frequency_penalty) * count[t];
  }
  return x;
}

RefOut reference(const std::vector<float>& logits, const SamplingParams& p,
                 const std::vector<int32_t>& window = {}) {
  const int32_t n = static_cast<int32_t>(logits.size());
  const std::vector<double> x = ref_logits(logits, p, window);
  RefOut out;
  out.prob.assign(static_cast<size_t>(n), 0.0);
  std::vector<int32_t> order;
  for (int32_t i = 0; i < n; ++i)
    if (x[i] != -INFINITY) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return x[a] > x[b] || (x[a] == x[b] && a < b);
  });
  if (order.empty()) return out;
  if (!(p.temperature > 0.0f)) {
    out.prob[order[0]] = 1.0;
    return out;
  }
  if (p.top_k > 0 && p.top_k < static_cast<int32_t>(order.size())) order.resize(p.top_k);
  const double m = x[order[0]];
  std::vector<double> w;
  double z = 0;
  for (int32_t id : order) {
    w.push_back(std::exp((x[id] - m) / p.temperature));
    z += w.back();
  }
  size_t keep = order.size();
  if (p.top_p < 1.0f) {
    double acc = 0;
    size_t j = 0;
    while (j < keep && (j == 0 || acc < p.top_p * z)) acc += w[j++];
    if (j < keep)  // how close the cut came to keeping one token more
      out.margin = std::min(out.margin, std::fabs(acc / z - p.top_p));
    if (j > 1)  // or one fewer
      out.margin = std::min(out.margin, std::fabs((acc - w[j - 1]) / z - p.top_p));
    keep = j;
  }
  if (p.min_p > 0.0f) {
    size_t j = 1;
    while (j < keep && w[j] >= p.min_p * w[0]) ++j;
    for (size_t i = 1; i < keep; ++i)
      out.margin = std::min(out.margin, std::fabs(w[i] / w[0] - p.min_p));
    keep = j;
  }
  double total = 0;
  for (size_t j = 0; j < keep; ++j) total += w[j];
  for (size_t j = 0; j < keep; ++j) out.prob[order[j]] = w[j] / total;
  return out;
}

// ---- sampling helpers -----------------------------------------------------------------------

SamplingParams seeded(uint64_t seed = 1234) {
  SamplingParams p;
  p.has_seed = true;
  p.seed = seed;
  return p;
}

std::vector<int64_t> draw_counts(const std::vector<float>& logits, const SamplingParams& p,
                                 int draws, const std::vector<int32_t>& window = {}) {
  SequenceSampler s(p);
  for (int32_t t : window) s.accept(t);
  std::vector<int64_t> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) {
    const SampleResult r = s.sample(logits.data(), static_cast<int32_t>(logits.size()));
    if (r.token >= 0 && r.token < static_cast<int32_t>(logits.size())) counts[r.token]++;
  }
  return counts;
}

// Every token's frequency within 5 sigma of its expected probability; impossible ones never.
void expect_distribution(Check& c, const std::vector<int64_t>& counts,
                         const std::vector<double>& prob, int draws) {
  for (size_t t = 0; t < prob.size(); ++t) {
    const double f = static_cast<double>(counts[t]) / draws;
    if (prob[t] == 0.0) {
      if (counts[t] != 0) c.fail("token %zu drawn %lld times, expected never", t,
                                 static_cast<long long>(counts[t]));
      continue;
    }
    const double sigma = std::sqrt(prob[t] * (1 - prob[t]) / draws);
    if (std::fabs(f - prob[t]) > 5 * sigma + 1e-12)
      c.fail("token %zu: frequency %.4f, expected %.4f (5 sigma = %.4f)", t, f, prob[t], 5 * sigma);
  }
}

void expect_matches_reference(Check& c, const std::vector<float>& logits, const SamplingParams& p,
                              int draws = 20000, const std::vector<int32_t>& window = {}) {
  const RefOut ref = reference(logits, p, window);
  if (ref.margin < 1e-3) c.fail("test design: a cut is within %.2g of a tie", ref.margin);
  expect_distribution(c, draw_counts(logits, p, draws, window), ref.prob, draws);
}

// Small fixed logits; ids deliberately not in rank order.
const std::vector<float> kLogits = {0.5f, 2.0f, -1.0f, 1.0f, 0.0f, 1.5f, -2.0f, -0.5f};
// ranked: 1 (2.0), 5 (1.5), 3 (1.0), 0 (0.5), 4 (0.0), 7 (-0.5), 2 (-1.0), 6 (-2.0)

std::vector<double> softmax(const std::vector<float>& x, double temp) {
  double m = -INFINITY;
  for (float v : x) m = std::max(m, static_cast<double>(v));
  std::vector<double> p(x.size());
  double z = 0;
  for (size_t i = 0; i < x.size(); ++i) z += p[i] = std::exp((x[i] - m) / temp);
  for (double& v : p) v /= z;
  return p;
}

// A vocab-sized logit vector like a model's: a broad bulk and a few clear favourites.
std::vector<float> big_logits(uint64_t seed, float spread, int favourites) {
  std::mt19937_64 g(seed);
  std::normal_distribution<float> nd(0.0f, spread);
  std::vector<float> x(kBigVocab);
  for (float& v : x) v = nd(g);
  for (int i = 0; i < favourites; ++i)
    x[(static_cast<int64_t>(i) * 7919 + 13) % kBigVocab] = 14.0f - 0.35f * static_cast<float>(i);
  return x;
}

// Moves top_p and min_p to the middle between the two tokens at each cut, so that rounding in
// the sampler (float weights) cannot move a cut when thousands of tokens sit close together.
SamplingParams centred(const std::vector<float>& logits, SamplingParams p) {
  const int32_t n = static_cast<int32_t>(logits.size());
  std::vector<int32_t> order;
  for (int32_t i = 0; i < n; ++i)
    if (!std::isnan(logits[i]) && logits[i] != -kInf) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  if (p.top_k > 0 && p.top_k < static_cast<int32_t>(order.size())) order.resize(p.top_k);
  std::vector<double> w;
  double z = 0;
  for (int32_t id : order)
    z += w.emplace_back(std::exp((logits[id] - logits[order[0]]) / p.temperature));
  size_t keep = order.size();
  if (p.top_p < 1.0f) {
    double acc = 0;
    size_t j = 0;
    while (j < keep && (j == 0 || acc < p.top_p * z)) acc += w[j++];
    p.top_p = static_cast<float>((acc - w[j - 1] / 2) / z);
    keep = j;
  }
  if (p.min_p > 0.0f) {
    size_t j = 1;
    while (j < keep && w[j] >= p.min_p * w[0]) ++j;
    if (j < keep) p.min_p = static_cast<float>((w[j - 1] + w[j]) / 2 / w[0]);
  }
  return p;
}

// For large vocabularies: draws must stay in the reference support, and the mass falling in each
// of `groups` rank groups (equal shares of the kept mass) must match.
void expect_big(Check& c, const std::vector<float>& logits, SamplingParams p, int draws,
                int groups = 8) {
  p = centred(logits, p);
  const RefOut ref = reference(logits, p);
  if (ref.margin < 1e-7) c.fail("test design: a cut is within %.2g of a tie", ref.margin);
  const auto counts = draw_counts(logits, p, draws);
  std::vector<int32_t> order;
  for (size_t i = 0; i < ref.prob.size(); ++i) {
    if (ref.prob[i] > 0) order.push_back(static_cast<int32_t>(i));
    if (ref.prob[i] == 0 && counts[i] != 0)
      c.fail("token %zu is outside the reference support but was drawn %lld times", i,
             static_cast<long long>(counts[i]));
  }
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return ref.prob[a] > ref.prob[b] || (ref.prob[a] == ref.prob[b] && a < b);
  });
  // a token with a large share is its own group; the rest are cut into equal-mass groups
  std::vector<double> gp;
  std::vector<int64_t> gc;
  double acc = 0, group_p = 0;
  int64_t group_c = 0;
  for (int32_t id : order) {
    acc += ref.prob[id];
    group_p += ref.prob[id];
    group_c += counts[id];
    if (acc >= static_cast<double>(gp.size() + 1) / groups || id == order.back()) {
      gp.push_back(group_p);
      gc.push_back(group_c);
      group_p = 0;
      group_c = 0;
    }
  }
  expect_distribution(c, gc, gp, draws);
}

double time_sample_us(const std::vector<float>& logits, SamplingParams p, int reps) {
  SequenceSampler s(p);
  volatile int32_t sink = 0;
  for (int i = 0; i < 10; ++i) sink = sink + s.sample(logits.data(), kBigVocab).token;
  double best = 1e30;
  for (int round = 0; round < 5; ++round) {  // best of 5 rounds: robust to a busy machine
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) sink = sink + s.sample(logits.data(), kBigVocab).token;
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::micro>(t1 - t0).count() / reps);
  }
  return best;
}

}  // namespace

int main() {
  const int N = 20000;

  // ---- greedy ----
  {
    Check c("greedy_argmax");
    SamplingParams p = seeded();
    p.temperature = 0.0f;
    SequenceSampler s(p);
    for (int i = 0; i < 100; ++i)
      if (s.sample(kLogits.data(), 8).token != 1) c.fail("greedy did not pick token 1");
    p.temperature = -1.0f;
    SequenceSampler s2(p);
    if (s2.sample(kLogits.data(), 8).token != 1) c.fail("negative temperature is not greedy");
  }
  {
    Check c("greedy_ties_lowest_id");
    const std::vector<float> x = {0.0f, 3.0f, 1.0f, 3.0f, 3.0f};
    SamplingParams p = seeded();
    p.temperature = 0.0f;
    SequenceSampler s(p);
    if (s.sample(x.data(), 5).token != 1) c.fail("tie not broken to the lowest id");
  }

  // ---- temperature ----
  {
    Check c("temperature_1_softmax");
    expect_matches_reference(c, kLogits, seeded(1));
    expect_distribution(c, draw_counts(kLogits, seeded(2), N), softmax(kLogits, 1.0), N);
  }
  {
    Check c("temperature_sharpens");
    SamplingParams p = seeded(3);
    p.temperature = 0.5f;
    const auto counts = draw_counts(kLogits, p, N);
    expect_distribution(c, counts, softmax(kLogits, 0.5), N);
    const double top = static_cast<double>(counts[1]) / N;
    if (!(top > softmax(kLogits, 1.0)[1] + 0.05))
      c.fail("top token frequency %.3f not above its T=1 probability %.3f", top,
             softmax(kLogits, 1.0)[1]);
  }
  {
    Check c("temperature_flattens");
    SamplingParams p = seeded(4);
    p.temperature = 2.0f;
    const auto counts = draw_counts(kLogits, p, N);
    expect_distribution(c, counts, softmax(kLogits, 2.0), N);
    const double top = static_cast<double>(counts[1]) / N;
    const double bottom = static_cast<double>(counts[6]) / N;
    if (!(top < softmax(kLogits, 1.0)[1] - 0.05)) c.fail("top token not flattened: %.3f", top);
    if (!(bottom > softmax(kLogits, 1.0)[6])) c.fail("bottom token not raised: %.4f", bottom);
  }

  // ---- truncation ----
  {
    Check c("top_k");
    SamplingParams p = seeded(5);
    p.top_k = 3;
    const auto counts = draw_counts(kLogits, p, N);
    for (int32_t t = 0; t < 8; ++t) {
      const bool allowed = t == 1 || t == 5 || t == 3;
      if (allowed && counts[t] == 0) c.fail("token %d is in the top 3 but never drawn", t);
      if (!allowed && counts[t] != 0) c.fail("token %d is outside the top 3 but drawn", t);
    }
    expect_distribution(c, counts, reference(kLogits, p).prob, N);
    p.top_k = 1;
    expect_matches_reference(c, kLogits, p, 2000);
  }
  {
    Check c("top_k_over_vocab");
    SamplingParams p = seeded(6);
    p.top_k = 1000;  // > n_vocab: no cut
    expect_distribution(c, draw_counts(kLogits, p, N), softmax(kLogits, 1.0), N);
  }
  {
    Check c("top_p_nucleus");
    // softmax ranks: 0.3420 0.2074 0.1258 0.0763 0.0463 ... cumulative 0.342 0.549 0.675 0.751
    SamplingParams p = seeded(7);
    p.top_p = 0.6f;  // the smallest nucleus reaching 0.6: tokens 1, 5, 3
    const auto counts = draw_counts(kLogits, p, N);
    for (int32_t t : {0, 2, 4, 6, 7})
      if (counts[t] != 0) c.fail("token %d outside the nucleus was drawn", t);
    expect_matches_reference(c, kLogits, p);
    p.top_p = 0.7f;  // now token 0 as well
    expect_matches_reference(c, kLogits, p);
    p.top_p = 0.3f;  // the top token alone already reaches it
    expect_matches_reference(c, kLogits, p, 2000);
    p.top_p = 0.0f;  // at least one token is always kept
    expect_matches_reference(c, kLogits, p, 2000);
  }
  {
    Check c("min_p");
    // relative to the top token: e^(x - 2): 1, .607, .368, .223, .135, ...
    SamplingParams p = seeded(8);
    p.min_p = 0.3f;  // keeps 1, 5, 3
    const auto counts = draw_counts(kLogits, p, N);
    for (int32_t t : {0, 2, 4, 6, 7})
      if (counts[t] != 0) c.fail("token %d below min_p was drawn", t);
    expect_matches_reference(c, kLogits, p);
    p.min_p = 0.2f;
    p.temperature = 0.5f;  // min-p sees the tempered distribution: e^(2(x-2)) >= 0.2 keeps 1, 5
    expect_matches_reference(c, kLogits, p);
  }
  {
    Check c("chain_order");
    // top-k, then temperature, softmax over the k, top-p over that, then min-p
    SamplingParams p = seeded(9);
    p.top_k = 5;
    p.temperature = 1.5f;
    p.top_p = 0.8f;
    p.min_p = 0.45f;
    expect_matches_reference(c, kLogits, p);
    p.min_p = 0.0f;
    p.top_p = 0.5f;
    expect_matches_reference(c, kLogits, p);
  }

  // ---- penalties ----
  const std::vector<int32_t> window = {1, 1, 6, 3};
  {
    Check c("repetition_penalty");
    SamplingParams p = seeded(10);
    // 2.0 → 1.333 (once, not per occurrence), 1.0 → 0.667, -2 → -3
    p.repetition_penalty = 1.5f;
    const auto counts = draw_counts(kLogits, p, N, window);
    std::vector<float> expect_x = kLogits;
    expect_x[1] = 2.0f / 1.5f;
    expect_x[3] = 1.0f / 1.5f;
    expect_x[6] = -2.0f * 1.5f;
    expect_distribution(c, counts, softmax(expect_x, 1.0), N);
    expect_matches_reference(c, kLogits, p, N, window);
    if (counts[1] >= static_cast<int64_t>(softmax(kLogits, 1.0)[1] * N))
      c.fail("penalised token 1 not lowered");
  }
  {
    Check c("presence_penalty");
    SamplingParams p = seeded(11);
    p.presence_penalty = 1.0f;  // once per distinct token, whatever its count
    std::vector<float> expect_x = kLogits;
    expect_x[1] -= 1.0f;
    expect_x[3] -= 1.0f;
    expect_x[6] -= 1.0f;
    expect_distribution(c, draw_counts(kLogits, p, N, window), softmax(expect_x, 1.0), N);
  }
  {
    Check c("frequency_penalty");
    SamplingParams p = seeded(12);
    p.frequency_penalty = 0.5f;  // per occurrence: token 1 twice
    std::vector<float> expect_x = kLogits;
    expect_x[1] -= 1.0f;
    expect_x[3] -= 0.5f;
    expect_x[6] -= 0.5f;
    expect_distribution(c, draw_counts(kLogits, p, N, window), softmax(expect_x, 1.0), N);
    p.presence_penalty = 0.25f;
    p.repetition_penalty = 1.2f;
    expect_matches_reference(c, kLogits, p, N, window);
  }
  {
    Check c("penalty_window");
    SamplingParams p = seeded(13);
    p.presence_penalty = 2.0f;
    p.penalty_window = 2;  // of 1, 1, 6, 3 only 6 and 3 are still seen
    std::vector<float> expect_x = kLogits;
    expect_x[6] -= 2.0f;
    expect_x[3] -= 2.0f;
    expect_distribution(c, draw_counts(kLogits, p, N, window), softmax(expect_x, 1.0), N);
    p.penalty_window = 0;  // none
    expect_distribution(c, draw_counts(kLogits, p, N, window), softmax(kLogits, 1.0), N);
    // set_params keeps the history
    SamplingParams q = seeded(14);
    q.temperature = 0.0f;
    q.presence_penalty = 5.0f;
    SequenceSampler s(q);
    s.accept(1);
    SamplingParams q2 = q;
    q2.penalty_window = 8;
    s.set_params(q2);
    if (s.sample(kLogits.data(), 8).token != 5) c.fail("set_params dropped the window");
    s.accept(5);
    if (s.sample(kLogits.data(), 8).token != 3) c.fail("accept() did not add to the window");
  }
  {
    Check c("history_truncate");
    // The sampler keeps the whole history: a window made smaller and then larger again sees
    // every token, and truncate() forgets the tail (a rollback).
    SamplingParams q = seeded(15);
    q.temperature = 0.0f;
    q.presence_penalty = 5.0f;
    q.penalty_window = 1;
    SequenceSampler s(q);
    s.accept(1);
    s.accept(5);
    if (s.sample(kLogits.data(), 8).token != 1) c.fail("a window of 1 saw more than the last token");
    q.penalty_window = 8;
    s.set_params(q);
    if (s.sample(kLogits.data(), 8).token != 3) c.fail("a wider window did not see the earlier tokens");
    s.truncate(1);
    if (s.history() != std::vector<int32_t>{1}) c.fail("truncate(1) kept %zu tokens", s.history().size());
    if (s.sample(kLogits.data(), 8).token != 5) c.fail("a truncated token is still penalised");
    s.truncate(5);
    if (s.history().size() != 1) c.fail("truncate past the end changed the history");
  }
  {
    Check c("set_params_seed_restarts_rng");
    // A copy (as fork makes) given a seed again draws exactly what a fresh sampler with that seed
    // draws; a copy without a new seed goes on from the shared state.
    SamplingParams p = seeded(21);
    SequenceSampler fresh(p);
    std::vector<int32_t> expected;
    for (int i = 0; i < 32; i++) expected.push_back(fresh.sample(kLogits.data(), 8).token);
    SequenceSampler used(seeded(99));
    for (int i = 0; i < 5; i++) used.sample(kLogits.data(), 8);
    SequenceSampler copy = used;
    copy.set_params(p);
    for (int i = 0; i < 32; i++)
      if (copy.sample(kLogits.data(), 8).token != expected[i]) { c.fail("a seed in set_params did not restart the RNG"); break; }
  }

  // ---- logit bias ----
  {
    Check c("logit_bias_ban");
    SamplingParams p = seeded(15);
    p.logit_bias = {{1, -kInf}, {5, -kInf}};
    const auto counts = draw_counts(kLogits, p, N);
    if (counts[1] || counts[5]) c.fail("a banned token was drawn");
    expect_matches_reference(c, kLogits, p);
    p.temperature = 0.0f;
    SequenceSampler s(p);
    if (s.sample(kLogits.data(), 8).token != 3) c.fail("greedy picked a banned token");
  }
  {
    Check c("logit_bias_force");
    SamplingParams p = seeded(16);
    p.logit_bias = {{6, 100.0f}};
    const auto counts = draw_counts(kLogits, p, 2000);
    if (counts[6] != 2000)
      c.fail("token 6 drawn %lld of 2000 times", static_cast<long long>(counts[6]));
    p.logit_bias = {{2, kInf}};  // +inf: forced as well, no NaN
    if (draw_counts(kLogits, p, 500)[2] != 500) c.fail("+inf bias did not force the token");
    p.logit_bias = {{4, 1.5f}};  // a moderate bias shifts the distribution by e^1.5
    expect_matches_reference(c, kLogits, p);
  }
  {
    Check c("logit_bias_out_of_range");
    SamplingParams p = seeded(17);
    p.logit_bias = {{-1, 100.0f}, {8, 100.0f}, {1 << 30, -kInf}, {INT32_MIN, 5.0f},
                    {3, std::numeric_limits<float>::quiet_NaN()}};
    expect_distribution(c, draw_counts(kLogits, p, N), softmax(kLogits, 1.0), N);
  }

  // ---- seeds ----
  {
    Check c("seeded_reproducible");
    SamplingParams p = seeded(42);
    p.top_k = 6;
    p.top_p = 0.95f;
    SequenceSampler a(p), b(p);
    for (int i = 0; i < 2000; ++i) {
      const int32_t ta = a.sample(kLogits.data(), 8).token;
      const int32_t tb = b.sample(kLogits.data(), 8).token;
      if (ta != tb) {
        c.fail("same seed diverged at draw %d", i);
        break;
      }
      a.accept(ta);
      b.accept(tb);
    }
  }
  {
    Check c("seeds_differ");
    auto run = [&](SamplingParams p) {
      SequenceSampler s(p);
      std::vector<int32_t> out;
      for (int i = 0; i < 64; ++i) out.push_back(s.sample(kLogits.data(), 8).token);
      return out;
    };
    if (run(seeded(1)) == run(seeded(2))) c.fail("seeds 1 and 2 gave the same 64 tokens");
    if (run(SamplingParams{}) == run(SamplingParams{}))
      c.fail("two unseeded samplers gave the same 64 tokens");
  }
  {
    Check c("golden_sequence");
    // Fixed expectations: the same seed must give these tokens on every machine and compiler.
    SamplingParams p = seeded(20240601);
    SequenceSampler s(p);
    std::string got;
    for (int i = 0; i < 24; ++i) got += static_cast<char>('0' + s.sample(kLogits.data(), 8).token);
    const std::string want = "111505135735353151113135";
    if (got != want) c.fail("got %s, want %s", got.c_str(), want.c_str());
  }

  {
    Check c("golden_sequence_big");
    // The same over the real vocabulary size, through each way of drawing: the full softmax,
    // the top-k list, the top-p histogram with rejection, and min-p.
    const std::vector<float> x = big_logits(9, 2.0f, 0);
    std::vector<SamplingParams> configs(4, seeded(777));
    configs[1].top_k = 40;
    configs[1].top_p = 0.9f;
    configs[2].top_p = 0.5f;
    configs[3].min_p = 0.001f;
    configs[3].temperature = 1.3f;
    std::string got;
    for (const SamplingParams& p : configs) {
      SequenceSampler s(p);
      for (int i = 0; i < 6; ++i) got += std::to_string(s.sample(x.data(), kBigVocab).token) + ",";
      got += "|";
    }
    const std::string want =
        "12522,96084,115215,3018,69093,120997,|120997,110501,60405,124344,70672,52080,|"
        "12522,115215,120997,95757,12165,119520,|12522,96638,115490,3165,68798,120998,|";
    if (got != want) c.fail("got %s, want %s", got.c_str(), want.c_str());
  }

  // ---- logprobs ----
  {
    Check c("logprobs_log_softmax");
    SamplingParams p = seeded(18);
    p.n_logprobs = 4;
    p.temperature = 0.7f;  // logprobs are before temperature and truncation...
    p.top_k = 3;
    p.logit_bias = {{7, 1.0f}};  // ...but after bias and penalties
    p.frequency_penalty = 0.5f;
    SequenceSampler s(p);
    s.accept(1);
    const std::vector<double> x = ref_logits(kLogits, p, {1});
    double m = -INFINITY, z = 0;
    for (double v : x) m = std::max(m, v);
    for (double v : x) z += std::exp(v - m);
    std::vector<double> lp;
    for (double v : x) lp.push_back(v - m - std::log(z));
    for (int i = 0; i < 200; ++i) {
      const SampleResult r = s.sample(kLogits.data(), 8);
      if (std::fabs(r.logprob - lp[r.token]) > 1e-5)
        c.fail("chosen token %d: logprob %.6f, expected %.6f", r.token, r.logprob, lp[r.token]);
      if (r.top.size() != 4) c.fail("%zu alternatives, asked for 4", r.top.size());
      std::vector<int32_t> order(8);
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return lp[a] > lp[b] || (lp[a] == lp[b] && a < b);
      });
      for (size_t j = 0; j < r.top.size(); ++j) {
        if (r.top[j].token != order[j]) c.fail("alternative %zu is token %d, expected %d", j,
                                                r.top[j].token, order[j]);
        if (std::fabs(r.top[j].logprob - lp[order[j]]) > 1e-5)
          c.fail("alternative %zu logprob off", j);
        if (j > 0 && r.top[j].logprob > r.top[j - 1].logprob) c.fail("alternatives not sorted");
        if (r.top[j].token == r.token && r.top[j].logprob != r.logprob)
          c.fail("chosen token's logprob differs from its alternative entry");
      }
    }
    double sum = 0;
    for (double v : lp) sum += std::exp(v);
    if (std::fabs(sum - 1) > 1e-9) c.fail("reference does not normalise");
  }
  {
    Check c("logprobs_greedy_and_off");
    SamplingParams p = seeded(19);
    p.temperature = 0.0f;
    p.n_logprobs = 0;
    SequenceSampler s(p);
    const SampleResult r = s.sample(kLogits.data(), 8);
    const double expect = std::log(softmax(kLogits, 1.0)[1]);
    if (r.token != 1 || std::fabs(r.logprob - expect) > 1e-5 || !r.top.empty())
      c.fail("token %d logprob %.6f top %zu; expected 1, %.6f, 0", r.token, r.logprob,
             r.top.size(), expect);
    p.n_logprobs = -1;
    SequenceSampler s2(p);
    const SampleResult r2 = s2.sample(kLogits.data(), 8);
    if (r2.logprob != 0.0f || !r2.top.empty()) c.fail("logprobs filled although not asked");
    p.n_logprobs = 100;  // more than the vocabulary
    SequenceSampler s3(p);
    if (s3.sample(kLogits.data(), 8).top.size() != 8) c.fail("top-N not capped at the vocabulary");
  }
  {
    Check c("logprobs_big_vocab");
    const std::vector<float> x = big_logits(77, 2.5f, 30);
    SamplingParams p = seeded(20);
    p.n_logprobs = 20;
    SequenceSampler s(p);
    const SampleResult r = s.sample(x.data(), kBigVocab);
    double m = -INFINITY, z = 0;
    for (float v : x) m = std::max(m, static_cast<double>(v));
    for (float v : x) z += std::exp(v - m);
    const double lz = std::log(z);
    std::vector<int32_t> order(kBigVocab);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 20, order.end(), [&](int32_t a, int32_t b) {
      return x[a] > x[b] || (x[a] == x[b] && a < b);
    });
    if (std::fabs(r.logprob - (x[r.token] - m - lz)) > 1e-4) c.fail("chosen logprob off");
    if (r.top.size() != 20) c.fail("%zu alternatives", r.top.size());
    for (size_t j = 0; j < r.top.size(); ++j) {
      if (r.top[j].token != order[j])
        c.fail("alternative %zu: token %d, expected %d", j, r.top[j].token, order[j]);
      if (std::fabs(r.top[j].logprob - (x[order[j]] - m - lz)) > 1e-4)
        c.fail("alternative %zu logprob off", j);
    }
  }

  // ---- odd inputs ----
  {
    Check c("edge_empty_and_single");
    SequenceSampler s(seeded(21));
    if (s.sample(kLogits.data(), 0).token != -1) c.fail("n_vocab 0 did not give -1");
    if (s.sample(nullptr, 5).token != -1) c.fail("null logits did not give -1");
    if (s.sample(kLogits.data(), -3).token != -1) c.fail("negative n_vocab did not give -1");
    SamplingParams p = seeded(22);
    p.top_k = 5;
    p.top_p = 0.5f;
    p.min_p = 0.5f;
    p.n_logprobs = 3;
    SequenceSampler s1(p);
    const float one = 3.0f;
    const SampleResult r = s1.sample(&one, 1);
    if (r.token != 0 || std::fabs(r.logprob) > 1e-6 || r.top.size() != 1) c.fail("n_vocab 1 wrong");
  }
  {
    Check c("edge_one_finite");
    std::vector<float> x(1000, -kInf);
    x[637] = -5.0f;
    for (int k : {0, 1, 40, 5000}) {
      for (float tp : {1.0f, 0.9f}) {
        SamplingParams p = seeded(23);
        p.top_k = k;
        p.top_p = tp;
        p.min_p = 0.1f;
        p.n_logprobs = 5;
        SequenceSampler s(p);
        for (int i = 0; i < 50; ++i) {
          const SampleResult r = s.sample(x.data(), 1000);
          if (r.token != 637 || std::fabs(r.logprob) > 1e-6 || r.top.size() != 1)
            c.fail("top_k %d top_p %.1f: token %d logprob %f top %zu", k, tp, r.token, r.logprob,
                   r.top.size());
        }
      }
    }
  }
  {
    Check c("edge_nan_logits");
    std::vector<float> x = kLogits;
    x[1] = std::numeric_limits<float>::quiet_NaN();
    x[4] = -std::numeric_limits<float>::quiet_NaN();
    std::vector<float> clean = kLogits;
    clean[1] = clean[4] = -kInf;
    expect_distribution(c, draw_counts(x, seeded(24), N), softmax(clean, 1.0), N);
    SamplingParams p = seeded(25);
    p.temperature = 0.0f;
    SequenceSampler s(p);
    if (s.sample(x.data(), 8).token != 5) c.fail("greedy with NaN did not skip it");
    std::vector<float> all_nan(50, std::numeric_limits<float>::quiet_NaN());
    SamplingParams q = seeded(26);
    q.n_logprobs = 3;
    q.top_p = 0.9f;
    SequenceSampler s2(q);
    const SampleResult r = s2.sample(all_nan.data(), 50);
    if (r.token < 0 || r.token >= 50) c.fail("all-NaN logits gave token %d", r.token);
    std::vector<float> all_inf(50, -kInf);
    if (s2.sample(all_inf.data(), 50).token != 0) c.fail("all -inf did not give token 0");
  }
  {
    Check c("edge_infinite_logits_and_params");
    std::vector<float> x = kLogits;
    x[7] = kInf;
    SamplingParams p = seeded(27);
    if (draw_counts(x, p, 200)[7] != 200) c.fail("+inf logit not always chosen");
    x[2] = kInf;  // two of them: an even split
    const auto counts = draw_counts(x, p, N);
    expect_distribution(c, counts, {0, 0, 0.5, 0, 0, 0, 0, 0.5}, N);
    SamplingParams q = seeded(28);
    q.temperature = kInf;  // uniform
    expect_distribution(c, draw_counts(kLogits, q, N), std::vector<double>(8, 0.125), N);
    q.temperature = 1e-30f;  // effectively greedy
    if (draw_counts(kLogits, q, 100)[1] != 100) c.fail("tiny temperature not greedy");
    q.temperature = std::numeric_limits<float>::quiet_NaN();
    if (draw_counts(kLogits, q, 10)[1] != 10) c.fail("NaN temperature not greedy");
  }

  // ---- the real vocabulary size ----
  const std::vector<float> peaked = big_logits(1, 2.0f, 12);  // nucleus of a few tokens
  const std::vector<float> flat = big_logits(2, 1.0f, 0);     // nucleus of tens of thousands
  {
    Check c("big_top_k");
    SamplingParams p = seeded(30);
    p.top_k = 40;
    expect_big(c, flat, p, 2000, 10);
    p.temperature = 0.8f;
    expect_big(c, peaked, p, 2000);
  }
  {
    Check c("big_top_p");
    SamplingParams p = seeded(31);
    p.top_p = 0.95f;
    expect_big(c, peaked, p, 2000);  // small nucleus: found among the first candidates
    p.top_p = 0.9f;
    expect_big(c, flat, p, 2000, 10);  // large nucleus: the histogram path
    p.top_k = 40;
    p.top_p = 0.95f;
    expect_big(c, flat, p, 2000, 10);
  }
  {
    Check c("big_no_truncation_and_min_p");
    SamplingParams p = seeded(32);
    expect_big(c, peaked, p, 2000);
    expect_big(c, flat, p, 2000, 10);
    p.min_p = 0.05f;
    expect_big(c, peaked, p, 2000);
    p.min_p = 0.5f;
    expect_big(c, flat, p, 2000, 5);
  }
  {
    Check c("big_top_p_boundary");
    // ~300 strong candidates over a weak bulk; the nucleus takes about half of them (more than
    // the first 128 looked at, so the histogram finds the cut). Every token of the nucleus is
    // likely enough to be drawn a dozen times, so one token too many or too few shows.
    std::vector<float> x = big_logits(4, 1.0f, 0);
    std::mt19937_64 g(5);
    for (int i = 0; i < 300; ++i) {
      const float jitter = static_cast<float>(g() % 1000) * 5e-4f;
      x[(static_cast<int64_t>(i) * 503 + 7) % kBigVocab] = 10.0f + jitter;
    }
    SamplingParams p = seeded(35);
    p.top_p = 0.5f;
    p = centred(x, p);
    const RefOut ref = reference(x, p);
    const auto counts = draw_counts(x, p, 3000);
    int kept = 0, drawn = 0;
    for (int32_t i = 0; i < kBigVocab; ++i) {
      kept += ref.prob[i] > 0;
      drawn += ref.prob[i] > 0 && counts[i] > 0;
      if (ref.prob[i] == 0 && counts[i]) c.fail("token %d outside the nucleus drawn", i);
    }
    if (kept < 130 || kept > 200) c.fail("test design: nucleus of %d tokens", kept);
    if (drawn < kept) c.fail("only %d of the %d nucleus tokens drawn", drawn, kept);
    expect_distribution(c, counts, ref.prob, 3000);
  }
  {
    Check c("big_large_top_k");
    SamplingParams p = seeded(33);
    p.top_k = 5000;  // beyond the sorted-list size: a rank threshold over the vocabulary
    expect_big(c, flat, p, 2000, 10);
    p.top_p = 0.5f;
    expect_big(c, flat, p, 2000, 10);
  }
  {
    Check c("big_ties");
    // Logits on a coarse grid: cuts fall inside groups of equal logits, which must be broken
    // towards the lower id exactly as the reference does.
    std::vector<float> x(kBigVocab);
    std::mt19937_64 g(3);
    for (float& v : x) v = static_cast<float>(static_cast<int>(g() % 40)) * 0.25f;
    SamplingParams p = seeded(34);
    p.top_k = 100;
    const RefOut ref = reference(x, p);
    const auto counts = draw_counts(x, p, 3000);
    int covered = 0;
    for (int32_t i = 0; i < kBigVocab; ++i) {
      if (ref.prob[i] == 0 && counts[i]) c.fail("token %d outside the top 100 drawn", i);
      if (ref.prob[i] > 0 && counts[i]) ++covered;
    }
    if (covered < 90) c.fail("only %d of the 100 tied candidates drawn", covered);
    // top-p cutting inside the group of the highest logit (all of weight 1): 35 tokens (found
    // among the first candidates), then 1719 (the histogram path)
    double z = 0;
    for (float v : x) z += std::exp(v - 9.75);
    for (double tokens : {34.5, 1718.5}) {
      p.top_k = 0;
      p.top_p = static_cast<float>(tokens / z);
      const RefOut ref2 = reference(x, p);
      const auto counts2 = draw_counts(x, p, 3000);
      int kept = 0;
      for (int32_t i = 0; i < kBigVocab; ++i) {
        kept += ref2.prob[i] > 0;
        if (ref2.prob[i] == 0 && counts2[i]) c.fail("token %d outside the tied nucleus drawn", i);
      }
      if (kept != static_cast<int>(tokens + 0.5)) c.fail("reference kept %d tokens", kept);
    }
  }

  // ---- speed ----
  {
    Check c("timing_151936");
    const std::vector<float> x = big_logits(5, 2.5f, 30);
    SamplingParams kp = seeded(40);
    kp.top_k = 40;
    kp.top_p = 0.95f;
    SamplingParams none = seeded(41);
    SamplingParams pp = seeded(42);
    pp.top_p = 0.95f;
    SamplingParams g = seeded(43);
    g.temperature = 0.0f;
    SamplingParams full = seeded(44);
    full.top_k = 40;
    full.top_p = 0.95f;
    full.min_p = 0.05f;
    full.repetition_penalty = 1.1f;
    full.n_logprobs = 5;
    const double t_kp = time_sample_us(x, kp, 200);
    const double t_none = time_sample_us(x, none, 100);
    const double t_p = time_sample_us(x, pp, 100);
    const double t_g = time_sample_us(x, g, 200);
    const double t_full = time_sample_us(x, full, 100);
    const double t_flat = time_sample_us(flat, pp, 50);
    std::printf("time top_k=40 top_p=0.95: %.1f us\n", t_kp);
    std::printf("time no truncation: %.1f us\n", t_none);
    std::printf("time top_p=0.95 only: %.1f us (flat logits: %.1f us)\n", t_p, t_flat);
    std::printf("time greedy: %.1f us\n", t_g);
    std::printf("time top_k+top_p+min_p+penalty+5 logprobs: %.1f us\n", t_full);
    // Reported only: speed is shown by benchmarks, never asserted in tests.
  }

  return check::finish();
}
