// The token sampler. One call of SequenceSampler::sample runs this chain over one sequence's
// logits:
//
//   logit bias → repetition / presence / frequency penalties over the last penalty_window tokens
//   → logprobs (log-softmax of what we have now, if asked)
//   → greedy (temperature <= 0: argmax, ties to the lowest id)
//   → or: top-k → temperature → softmax → top-p → min-p → renormalise → draw
//
// Nothing here sorts the whole vocabulary: the passes over it, the selection of the best
// tokens and the draws are in sampler_vocab.h. Along the chain:
//   - top-k (and the top-N of logprobs) selects a few hundred tokens; the rest of the chain
//     then runs along that short ranked list;
//   - top-p without top-k: one exp pass gives the total mass; the nucleus is looked for among
//     the best 128 tokens, and when it is bigger, top_p_last turns it into a rank threshold;
//   - cuts given as thresholds (top-p, min-p, a top-k too big for a list) are applied by
//     rejection: draw from the untruncated weights until the token survives the cuts (exact,
//     and no extra pass when most of the mass survives), after 8 misses by masking the weights
//     and drawing again.
// With no truncation at all: one exp pass and the draw, no selection.
//
// Reproducibility: the RNG is std::mt19937_64, seeded from params.seed when given; everything
// the chain computes from it and the logits is bit-reproducible (see sampler_vocab.h).
#include "sampler.h"

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <climits>
#include <cmath>

#include "sampler_vocab.h"

namespace omni {

using namespace sampling;

namespace {

uint64_t entropy_seed() {
  uint64_t s = 0;
  try {
    std::random_device rd;
    s = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  } catch (...) {
    // no entropy source: the clock below still differs between runs
  }
  s ^= static_cast<uint64_t>(std::chrono::high_resolution_clock::now().time_since_epoch().count());
  return s;
}

}  // namespace

SequenceSampler::SequenceSampler(const SamplingParams& params) : params_(params) {
  rng_.seed(params.has_seed ? params.seed : entropy_seed());
}

void SequenceSampler::set_params(const SamplingParams& params) {
  params_ = params;
  // An explicit seed restarts the RNG: a forked sequence given its own seed samples its own stream.
  if (params.has_seed) rng_.seed(params.seed);
}

void SequenceSampler::accept(int32_t token) { history_.push_back(token); }

void SequenceSampler::truncate(size_t n) {
  if (n < history_.size()) history_.resize(n);
}

SampleResult SequenceSampler::sample(const float* logits, int32_t n_vocab) {
  SampleResult res;
  if (logits == nullptr || n_vocab <= 0) return res;
  const SamplingParams& p = params_;
  const int32_t n = n_vocab;
  const int32_t n_chunks = n_chunks_of(n);
  Workspace& ws = thread_workspace();
  ws.x.resize(static_cast<size_t>(n));
  ws.w.resize(static_cast<size_t>(n));
  ws.bucket.resize(static_cast<size_t>(n));
  ws.cmax.resize(static_cast<size_t>(n_chunks));
  ws.cmass.resize(static_cast<size_t>(n_chunks));
  float* x = ws.x.data();
  float* cmax = ws.cmax.data();

  // ---- logit bias, then penalties: they touch few tokens; each is re-sanitised ----
  int32_t max_key = copy_and_chunk_max(logits, x, cmax, n);
  auto& touched = ws.recent;  // ids whose logit changed (their chunk maxima are refreshed)
  touched.clear();
  for (const auto& [id, bias] : p.logit_bias) {
    if (id < 0 || id >= n || bias != bias) continue;
    x[id] = sanitize(x[id] + bias);
    touched.push_back(id);
  }
  const bool rep = p.repetition_penalty > 0.0f && p.repetition_penalty != 1.0f &&
                   std::isfinite(p.repetition_penalty);
  const bool pres = p.presence_penalty != 0.0f && std::isfinite(p.presence_penalty);
  const bool freq = p.frequency_penalty != 0.0f && std::isfinite(p.frequency_penalty);
  const size_t window = std::min(history_.size(), static_cast<size_t>(std::max<int32_t>(0, p.penalty_window)));
  if (window > 0 && (rep || pres || freq)) {
    const size_t from = touched.size();
    touched.insert(touched.end(), history_.end() - static_cast<std::ptrdiff_t>(window), history_.end());
    std::sort(touched.begin() + static_cast<std::ptrdiff_t>(from), touched.end());
    for (size_t a = from; a < touched.size();) {  // runs of one token: (token, count)
      size_t b = a;
      while (b < touched.size() && touched[b] == touched[a]) ++b;
      const int32_t t = touched[a];
      const float count = static_cast<float>(b - a);
      a = b;
      if (t < 0 || t >= n || x[t] == kNegInf) continue;
      float v = x[t];
      if (rep) v = v > 0.0f ? v / p.repetition_penalty : v * p.repetition_penalty;
      if (pres) v -= p.presence_penalty;
      if (freq) v -= p.frequency_penalty * count;
      x[t] = sanitize(v);
    }
  }
  if (!touched.empty()) {
    int32_t last_chunk = -1;
    std::sort(touched.begin(), touched.end());
    for (int32_t t : touched) {
      if (t < 0 || t >= n || t / kChunk == last_chunk) continue;
      last_chunk = t / kChunk;
      cmax[last_chunk] = chunk_max(x, n, last_chunk);
    }
    max_key = INT32_MIN;
    for (int32_t c = 0; c < n_chunks; ++c) max_key = std::max(max_key, order_key(cmax[c]));
  }

  // ---- the largest logit, and the lowest id holding it ----
  const float m = from_order_key(max_key);
  const bool want_logprobs = p.n_logprobs >= 0;
  if (m == kNegInf) {  // every token is -inf / NaN / banned: nothing to prefer, answer id 0
    res.token = 0;
    if (want_logprobs) res.logprob = kNegInf;
    return res;
  }
  int32_t argmax = 0;
  for (int32_t c = 0; c < n_chunks; ++c) {
    if (cmax[c] != m) continue;
    argmax = static_cast<int32_t>(std::find(x + c * kChunk, x + n, m) - x);
    break;
  }

  // ---- logprobs: log-softmax over the whole vocabulary, before temperature and truncation ----
  double log_z = 0.0;
  double z_plain = 0.0;  // > 0: ws.w / cmass hold exp(x - m) of every token, summing to this
  if (want_logprobs) {
    z_plain = exp_pass(x, cmax, ws.w.data(), ws.cmass.data(), n, m, 1.0f);
    log_z = std::log(z_plain);
    if (p.n_logprobs > 0) {
      select_top(x, n, m, static_cast<size_t>(std::min(p.n_logprobs, n)), ws.cand, ws);
      std::sort(ws.cand.begin(), ws.cand.end(), RanksBefore{x});
      res.top.reserve(ws.cand.size());
      for (int32_t id : ws.cand)
        res.top.push_back({id, static_cast<float>(static_cast<double>(x[id] - m) - log_z)});
    }
  }

  float inv_temp = 1.0f / p.temperature;
  if (inv_temp == 0.0f) inv_temp = FLT_MIN;  // temperature +inf: (nearly) uniform, no 0 * inf
  if (!(p.temperature > 0.0f) || !std::isfinite(inv_temp)) {
    res.token = argmax;
  } else {
    const double u = uniform(rng_);
    const bool use_k = p.top_k > 0 && p.top_k < n;
    const bool use_p = p.top_p < 1.0f;  // NaN: off
    const float min_w = p.min_p > 0.0f ? std::min(p.min_p, 1.0f) : 0.0f;  // p >= min_p * p_max
    auto& cand = ws.cand;  // candidates in rank order, with their weights in ws.wl
    auto& wl = ws.wl;
    bool listed = false;
    size_t keep = 0;       // candidates that survive top-p
    double z = 0.0;        // weight of all candidates
    int32_t k_last = -1;   // lowest-ranked token that top-k keeps, when not listed
    if (use_k) {
      select_top(x, n, m, static_cast<size_t>(p.top_k), cand, ws);
      if (cand.size() <= 4096) {  // a small list: rank it and run the rest of the chain on it
        std::sort(cand.begin(), cand.end(), RanksBefore{x});
        wl.resize(cand.size());
        for (size_t j = 0; j < cand.size(); ++j) {
          wl[j] = exp_neg((x[cand[j]] - m) * inv_temp);
          z += wl[j];
        }
        keep = use_p ? nucleus_size(wl, static_cast<double>(p.top_p) * z) : cand.size();
        listed = true;
      } else {
        k_last = cand[0];
        for (int32_t id : cand)
          if (!ranks_at_or_above(x, id, k_last)) k_last = id;
      }
    }
    float* w = ws.w.data();
    double* cmass = ws.cmass.data();
    double total = 0.0;
    int32_t p_last = -1;  // lowest-ranked token that top-p keeps, when not listed
    if (!listed) {
      total = (z_plain > 0.0 && inv_temp == 1.0f) ? z_plain
                                                  : exp_pass(x, cmax, w, cmass, n, m, inv_temp);
      if (use_p) {
        if (k_last >= 0) {  // top-p needs the mass of what top-k keeps
          total = mask_pass(x, w, cmass, n, k_last, 0.0f);
          k_last = -1;
        }
        const double target = static_cast<double>(p.top_p) * total;
        // Usually the nucleus is small: look among the best 128 tokens first.
        select_top(x, n, m, 128, cand, ws);
        std::sort(cand.begin(), cand.end(), RanksBefore{x});
        wl.resize(cand.size());
        for (size_t j = 0; j < cand.size(); ++j) wl[j] = w[cand[j]];
        keep = nucleus_size(wl, target);
        if (keep < cand.size() || cand.size() < 128 || prefix_sum(wl, keep) >= target) {
          listed = true;
        } else {
          p_last = top_p_last(x, n, m, inv_temp, target, ws);
        }
      }
    }
    if (listed) {
      if (min_w > 0.0f) {  // weights descend along the list, so min-p keeps a prefix
        size_t j = 1;
        while (j < keep && wl[j] >= min_w) ++j;
        keep = j;
      }
      res.token = draw_from_list(cand, wl, keep, u);
    } else if (k_last < 0 && p_last < 0 && !(min_w > 0.0f)) {
      res.token = draw_from_vocab(n, total, u, ws);
    } else {
      // Draw from the untruncated weights and reject what the cuts drop: exact, and with the
      // usual cuts (top_p near 1) it saves a pass over the vocabulary. After a few rejections,
      // apply the cuts to the weights and draw from what is left.
      const int32_t last = p_last >= 0 ? p_last : k_last;
      auto kept = [&](int32_t id) {
        return (last < 0 || ranks_at_or_above(x, id, last)) && w[id] >= min_w;
      };
      double v = u;
      int32_t token = -1;
      for (int attempt = 0; attempt < 8 && token < 0; ++attempt) {
        if (attempt > 0) v = uniform(rng_);
        const int32_t t = draw_from_vocab(n, total, v, ws);
        if (kept(t)) token = t;
      }
      if (token < 0) {
        total = mask_pass(x, w, cmass, n, last, min_w);
        token = draw_from_vocab(n, total, uniform(rng_), ws);
      }
      res.token = token;
    }
  }

  if (want_logprobs)
    res.logprob = static_cast<float>(static_cast<double>(x[res.token] - m) - log_z);
  return res;
}

}  // namespace omni
