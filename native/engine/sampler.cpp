// The token sampler. One call of SequenceSampler::sample runs this chain over one sequence's
// logits:
//
//   logit bias → repetition / presence / frequency penalties over the recent-token window
//   → logprobs (log-softmax of what we have now, if asked)
//   → greedy (temperature <= 0: argmax, ties to the lowest id)
//   → or: top-k → temperature → softmax → top-p → min-p → renormalise → draw
//
// Nothing here sorts the whole vocabulary. Tokens are ranked by logit, and among equal logits
// the lower id first ("rank" below). The vocabulary is cut into chunks of 64 tokens whose
// maxima are known after the first pass:
//   - top-k (and the top-N of logprobs): the k-th largest chunk maximum is a threshold that at
//     least k tokens reach, so only the k best chunks are scanned and a few hundred tokens
//     ranked. The rest of the chain then runs along that short ranked list;
//   - top-p without top-k: one exp pass gives the total mass; the nucleus is looked for among
//     the best 128 tokens, and when it is bigger, a histogram of the mass by distance from the
//     maximum (1/64-wide buckets of (max - logit) / T) finds the bucket where the running mass
//     crosses top_p; only that bucket is sorted. The result is a rank threshold;
//   - the draw walks per-chunk sums, then one chunk, in id order. Cuts given as thresholds
//     (top-p, min-p, a top-k too big for a list) are applied by rejection: draw from the
//     untruncated weights until the token survives the cuts (exact, and no extra pass when
//     most of the mass survives), after 8 misses by masking the weights and drawing again.
// With no truncation at all: one exp pass and the draw, no selection.
//
// Reproducibility: the RNG is std::mt19937_64 and its 64 bits become a double in [0,1) here
// (std::uniform_real_distribution differs between standard libraries); exp is our own
// polynomial rather than libm's, sums run in a fixed order, and the AVX2 clones of the hot
// loops do the same IEEE operations as the plain ones (no FMA), so the same seed and logits
// give the same tokens on every x86-64 machine. (Another architecture needs -ffp-contract=off
// for bit-identical results.)
#include "sampler.h"

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>

// The full-vocabulary loops get an AVX2 clone chosen at load time (an ifunc: glibc only).
// Plain AVX2 has no FMA, so both clones compute the same bits.
#if defined(__GNUC__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(OMNI_NO_CLONES)
#define OMNI_HOT_LOOP __attribute__((target_clones("avx2", "default")))
#else
#define OMNI_HOT_LOOP
#endif

namespace omni {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int32_t kChunk = 64;           // tokens per chunk (chunk maxima, per-chunk mass)
constexpr int kBuckets = 4096;           // histogram buckets over distance from the maximum
constexpr float kBucketsPerUnit = 64.0f; // bucket width 1/64 (logit, or log-probability, units)

// Vocab-sized scratch space, one per thread, so that a sampler per sequence stays small.
struct Workspace {
  std::vector<float> x;         // logits after bias and penalties, by token id
  std::vector<float> w;         // exp((x - max) / T), 0 for dropped tokens, by token id
  std::vector<float> cmax;      // largest x of each chunk
  std::vector<double> cmass;    // sum of w over each chunk
  std::vector<uint16_t> bucket; // histogram bucket of each token
  std::vector<float> hist;      // histogram (4 interleaved copies)
  std::vector<float> tmpf;
  std::vector<int32_t> cand;
  std::vector<int32_t> tmp;
  std::vector<float> wl;        // weights along a ranked candidate list
  std::vector<int32_t> recent;
};

thread_local Workspace tls_ws;

// NaN → -inf (never chosen), +inf → the largest float (so that arithmetic stays finite).
inline float sanitize(float v) {
  const float a = v != v ? kNegInf : v;
  return a > FLT_MAX ? FLT_MAX : a;
}

// An integer with the same order as the (non-NaN) float: max-reductions over it vectorise,
// where a float max does not under GCC's default -ftrapping-math.
inline int32_t order_key(float v) {
  int32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b ^ ((b >> 31) & 0x7fffffff);
}

inline float from_order_key(int32_t k) {
  const int32_t b = k ^ ((k >> 31) & 0x7fffffff);
  float v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

// e^t for t <= 0 or -inf (never NaN: callers pass (x - max) * positive, x <= max, no NaN);
// below -87 it gives 0, and 0 gives exactly 1. Plain float arithmetic (no libm), so the same
// bits on every machine; the range check is an integer mask, so that loops over it vectorise.
// Range reduction e^t = 2^k e^r, then a degree-5 minimax polynomial: relative error < 2e-7.
inline float exp_neg(float t) {
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693145751953125f;  // ln 2 split so that k * kLn2Hi is exact
  const float kLn2Lo = 1.428606765330187045e-06f;
  uint32_t u;
  std::memcpy(&u, &t, sizeof u);
  // all ones for t in [-87, 0] (the bits of -87 are 0xC2AE0000; +0 is 0), zero for t < -87
  const uint32_t ok = 0u - static_cast<uint32_t>(u <= 0xC2AE0000u);
  const uint32_t uc = u & ok;  // out of range: compute e^0, masked away below
  float tc;
  std::memcpy(&tc, &uc, sizeof tc);
  const float k = (tc * kLog2e + 12582912.0f) - 12582912.0f;  // round to nearest integer
  const float r = (tc - k * kLn2Hi) - k * kLn2Lo;             // |r| <= ~0.347
  float p = 0.008290229365229607f;
  p = p * r + 0.041898392140865326f;
  p = p * r + 0.16667640209197998f;
  p = p * r + 0.49999144673347473f;
  p = p * r + 0.9999997019767761f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;  // 2^k, k in [-126, 0]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float v = p * scale;
  uint32_t vb;
  std::memcpy(&vb, &v, sizeof vb);
  vb &= ok;
  float out;
  std::memcpy(&out, &vb, sizeof out);
  return out;
}

// Sum of n floats in double, in a fixed order (8 lanes, then a fixed tree).
inline double sum_lanes(const float* w, int32_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int32_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += w[i + j];
  for (int j = 0; i < n; ++i, ++j) acc[j] += w[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// The ranking: a before b when a's logit is higher, or equal with a lower id.
struct RanksBefore {
  const float* x;
  bool operator()(int32_t a, int32_t b) const { return x[a] > x[b] || (x[a] == x[b] && a < b); }
};

inline bool ranks_at_or_above(const float* x, int32_t i, int32_t b) {
  return x[i] > x[b] || (x[i] == x[b] && i <= b);
}

inline int32_t n_chunks_of(int32_t n) { return (n + kChunk - 1) / kChunk; }

// ---- full-vocabulary passes ---------------------------------------------------------------

// x = sanitize(logits); cmax = each chunk's maximum. Returns the order key of the maximum.
OMNI_HOT_LOOP int32_t copy_and_chunk_max(const float* logits, float* x, float* cmax, int32_t n) {
  int32_t best = INT32_MIN;
  for (int32_t c = 0, lo = 0; lo < n; ++c, lo += kChunk) {
    const int32_t hi = std::min(n, lo + kChunk);
    int32_t mk = INT32_MIN;
    for (int32_t i = lo; i < hi; ++i) {
      const float v = sanitize(logits[i]);
      x[i] = v;
      const int32_t k = order_key(v);
      mk = k > mk ? k : mk;
    }
    cmax[c] = from_order_key(mk);
    best = mk > best ? mk : best;
  }
  return best;
}

float chunk_max(const float* x, int32_t n, int32_t c) {
  const int32_t lo = c * kChunk;
  const int32_t hi = std::min(n, lo + kChunk);
  int32_t mk = INT32_MIN;
  for (int32_t i = lo; i < hi; ++i) mk = std::max(mk, order_key(x[i]));
  return from_order_key(mk);
}

// w = exp((x - m) * inv_temp); cmass = per-chunk sums. Returns the total. A chunk whose maximum
// is already below e^-87 is all zeros (as exp_neg would give), without computing them.
OMNI_HOT_LOOP double exp_pass(const float* x, const float* cmax, float* w, double* cmass,
                              int32_t n, float m, float inv_temp) {
  double total = 0.0;
  for (int32_t c = 0, lo = 0; lo < n; ++c, lo += kChunk) {
    const int32_t hi = std::min(n, lo + kChunk);
    if ((cmax[c] - m) * inv_temp < -87.5f) {
      std::fill(w + lo, w + hi, 0.0f);
      cmass[c] = 0.0;
      continue;
    }
    for (int32_t i = lo; i < hi; ++i) w[i] = exp_neg((x[i] - m) * inv_temp);
    cmass[c] = sum_lanes(w + lo, hi - lo);
    total += cmass[c];
  }
  return total;
}

// Zeroes the weights of tokens ranked below `last` (if last >= 0) or lighter than min_w;
// refreshes cmass. Returns the new total.
OMNI_HOT_LOOP double mask_pass(const float* x, float* w, double* cmass, int32_t n, int32_t last,
                               float min_w) {
  const float xb = last >= 0 ? x[last] : kNegInf;
  const int32_t ib = last >= 0 ? last : n;
  double total = 0.0;
  for (int32_t c = 0, lo = 0; lo < n; ++c, lo += kChunk) {
    const int32_t hi = std::min(n, lo + kChunk);
    for (int32_t i = lo; i < hi; ++i) {  // branch-free so that it vectorises
      const float xi = x[i];
      const bool keep = ((xi > xb) | ((xi == xb) & (i <= ib))) & (w[i] >= min_w);
      w[i] = keep ? w[i] : 0.0f;
    }
    cmass[c] = sum_lanes(w + lo, hi - lo);
    total += cmass[c];
  }
  return total;
}

// bucket[i] = min(kBuckets - 1, floor((m - x[i]) * scale * kBucketsPerUnit)).
OMNI_HOT_LOOP void bucket_pass(const float* x, uint16_t* bucket, int32_t n, float m, float scale) {
  const float top = static_cast<float>(kBuckets - 1);
  for (int32_t i = 0; i < n; ++i) {
    const float d = ((m - x[i]) * scale) * kBucketsPerUnit;  // >= 0, may be +inf
    const float dc = d < top ? d : top;
    bucket[i] = static_cast<uint16_t>(static_cast<int32_t>(dc));
  }
}

inline bool any_equal(const uint16_t* v, int32_t n, uint16_t value) {
  int found = 0;
  for (int32_t i = 0; i < n; ++i) found |= v[i] == value;
  return found != 0;
}

// ---- selection ------------------------------------------------------------------------------

// The k highest-ranked tokens with a finite logit (all of them when fewer), in no particular
// order. m is the largest logit.
void select_top(const float* x, int32_t n, float m, size_t k, std::vector<int32_t>& out,
                Workspace& ws) {
  out.clear();
  if (k == 0) return;
  const int32_t n_chunks = n_chunks_of(n);
  const float* cmax = ws.cmax.data();
  auto& tmp = ws.tmp;
  tmp.clear();
  if (k * 4 <= static_cast<size_t>(n_chunks)) {
    // At least k chunks have a maximum >= t, so at least k tokens do: only those chunks matter.
    auto& maxima = ws.tmpf;
    maxima.assign(cmax, cmax + n_chunks);
    std::nth_element(maxima.begin(), maxima.begin() + static_cast<std::ptrdiff_t>(k - 1),
                     maxima.end(), std::greater<float>());
    const float t = maxima[k - 1];
    for (int32_t c = 0; c < n_chunks; ++c) {
      if (cmax[c] < t) continue;
      const int32_t hi = std::min(n, (c + 1) * kChunk);
      for (int32_t i = c * kChunk; i < hi; ++i)
        if (x[i] >= t && x[i] != kNegInf) tmp.push_back(i);
    }
  } else {
    // Many: count tokens by distance from the maximum, keep the buckets that reach k.
    bucket_pass(x, ws.bucket.data(), n, m, 1.0f);
    std::vector<uint32_t> count(kBuckets, 0);
    const uint16_t* bucket = ws.bucket.data();
    for (int32_t i = 0; i < n; ++i)
      if (x[i] != kNegInf) count[bucket[i]]++;
    size_t before = 0;
    int edge = 0;
    for (; edge < kBuckets && before + count[edge] < k; ++edge) before += count[edge];
    for (int32_t i = 0; i < n; ++i) {
      if (x[i] == kNegInf) continue;
      if (bucket[i] < edge) {
        out.push_back(i);
      } else if (bucket[i] == edge) {
        tmp.push_back(i);
      }
    }
    k -= out.size();
  }
  const size_t need = std::min(k, tmp.size());
  if (need < tmp.size())
    std::nth_element(tmp.begin(), tmp.begin() + static_cast<std::ptrdiff_t>(need), tmp.end(),
                     RanksBefore{x});
  out.insert(out.end(), tmp.begin(), tmp.begin() + static_cast<std::ptrdiff_t>(need));
}

// Top-p over the whole vocabulary given the weights in ws.w: the lowest-ranked member of the
// smallest set of highest-ranked tokens whose weights reach `target`. A histogram of the mass
// by distance from the maximum finds the bucket where the running mass crosses the target;
// only that bucket's tokens are sorted.
int32_t top_p_last(const float* x, int32_t n, float m, float inv_temp, double target,
                   Workspace& ws) {
  const float* w = ws.w.data();
  uint16_t* bucket = ws.bucket.data();
  bucket_pass(x, bucket, n, m, inv_temp);
  auto& hist = ws.hist;  // four interleaved histograms: fewer stalls on repeated buckets
  hist.assign(4 * kBuckets, 0.0f);
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    hist[4 * bucket[i] + 0] += w[i];
    hist[4 * bucket[i + 1] + 1] += w[i + 1];
    hist[4 * bucket[i + 2] + 2] += w[i + 2];
    hist[4 * bucket[i + 3] + 3] += w[i + 3];
  }
  for (; i < n; ++i) hist[4 * bucket[i]] += w[i];
  double before = 0.0;
  int crossing = -1;
  for (int b = 0; b < kBuckets; ++b) {
    const double mass = (static_cast<double>(hist[4 * b]) + hist[4 * b + 1]) +
                        (static_cast<double>(hist[4 * b + 2]) + hist[4 * b + 3]);
    if (mass <= 0.0) continue;
    crossing = b;
    if (before + mass >= target) break;
    before += mass;
  }
  // (crossing is the last non-empty bucket if rounding kept the total just below target)
  auto& tmp = ws.tmp;
  tmp.clear();
  const uint16_t cb = static_cast<uint16_t>(crossing);
  for (int32_t lo = 0; lo < n; lo += kChunk) {
    const int32_t hi = std::min(n, lo + kChunk);
    if (!any_equal(bucket + lo, hi - lo, cb)) continue;
    for (int32_t j = lo; j < hi; ++j)
      if (bucket[j] == cb && w[j] > 0.0f) tmp.push_back(j);
  }
  std::sort(tmp.begin(), tmp.end(), RanksBefore{x});
  int32_t last = -1;
  double acc = before;
  for (int32_t id : tmp) {
    if (last >= 0 && acc >= target) break;
    last = id;
    acc += w[id];
  }
  return last;
}

// Draws from ws.w (total `total`) in id order; u in [0, 1).
int32_t draw_from_vocab(int32_t n, double total, double u, const Workspace& ws) {
  const float* w = ws.w.data();
  const double* cmass = ws.cmass.data();
  const double r = u * total;
  double acc = 0.0;
  const int32_t n_chunks = n_chunks_of(n);
  for (int32_t c = 0; c < n_chunks; ++c) {
    if (!(acc + cmass[c] > r)) {
      acc += cmass[c];
      continue;
    }
    const int32_t hi = std::min(n, (c + 1) * kChunk);
    int32_t last_positive = -1;
    for (int32_t i = c * kChunk; i < hi; ++i) {
      if (w[i] <= 0.0f) continue;
      acc += w[i];
      last_positive = i;
      if (acc > r) return i;
    }
    if (last_positive >= 0) return last_positive;  // rounding: the chunk's own sum said here
  }
  for (int32_t i = n - 1; i >= 0; --i)
    if (w[i] > 0.0f) return i;
  return 0;
}

// How many of the ranked weights top-p keeps: the shortest prefix reaching target, at least 1.
size_t nucleus_size(const std::vector<float>& wl, double target) {
  double acc = 0.0;
  size_t j = 0;
  while (j < wl.size() && (j == 0 || acc < target)) acc += wl[j++];
  return j;
}

double prefix_sum(const std::vector<float>& wl, size_t keep) {
  double acc = 0.0;
  for (size_t j = 0; j < keep; ++j) acc += wl[j];
  return acc;
}

// Draws among the first `keep` ranked candidates; u in [0, 1).
int32_t draw_from_list(const std::vector<int32_t>& cand, const std::vector<float>& wl, size_t keep,
                       double u) {
  const double r = u * prefix_sum(wl, keep);
  double acc = 0.0;
  int32_t token = cand.empty() ? 0 : cand[0];
  for (size_t j = 0; j < keep && wl[j] > 0.0f; ++j) {
    acc += wl[j];
    token = cand[j];
    if (acc > r) break;
  }
  return token;
}

// 53 random bits as a double in [0, 1), the same everywhere (unlike uniform_real_distribution).
inline double uniform(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

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
  const size_t cap = static_cast<size_t>(std::max<int32_t>(0, params_.penalty_window));
  while (window_.size() > cap) window_.pop_front();
}

void SequenceSampler::accept(int32_t token) {
  const size_t cap = static_cast<size_t>(std::max<int32_t>(0, params_.penalty_window));
  window_.push_back(token);
  while (window_.size() > cap) window_.pop_front();
}

SampleResult SequenceSampler::sample(const float* logits, int32_t n_vocab) {
  SampleResult res;
  if (logits == nullptr || n_vocab <= 0) return res;
  const SamplingParams& p = params_;
  const int32_t n = n_vocab;
  const int32_t n_chunks = n_chunks_of(n);
  Workspace& ws = tls_ws;
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
  if (!window_.empty() && (rep || pres || freq)) {
    const size_t from = touched.size();
    touched.insert(touched.end(), window_.begin(), window_.end());
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
