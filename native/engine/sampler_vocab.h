// The vocabulary-wide machinery under the token sampler (sampler.cpp): the per-thread scratch
// space, the chunked full-vocabulary passes, selection of the best tokens, top-p over the whole
// vocabulary, and the draws. Internal to the engine; the public interface is sampler.h.
//
// Tokens are ranked by logit, and among equal logits the lower id first ("rank" below). The
// vocabulary is cut into chunks of kChunk tokens whose maxima are known after the first pass
// (copy_and_chunk_max), so that nothing here sorts the whole vocabulary:
//   - select_top (top-k, and the top-N of logprobs): the k-th largest chunk maximum is a
//     threshold that at least k tokens reach, so only the k best chunks are scanned and a few
//     hundred tokens ranked; for a large k, a histogram of the token count by distance from the
//     maximum finds the bucket that reaches k;
//   - top_p_last (top-p without top-k, once the nucleus is bigger than the best 128 tokens): a
//     histogram of the mass by distance from the maximum (1/64-wide buckets of (max - logit) / T)
//     finds the bucket where the running mass crosses top_p; only that bucket is sorted. The
//     result is a rank threshold;
//   - draw_from_vocab walks per-chunk sums, then one chunk, in id order; draw_from_list walks a
//     short ranked list.
//
// Reproducibility: the RNG's 64 bits become a double in [0,1) here (uniform; the standard
// std::uniform_real_distribution differs between libraries); exp is our own polynomial rather
// than libm's, sums run in a fixed order, and the AVX2 clones of the hot loops do the same IEEE
// operations as the plain ones (no FMA), so the same seed and logits give the same tokens on
// every x86-64 machine. (Another architecture needs -ffp-contract=off for bit-identical
// results.)
#pragma once
#include <cfloat>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

// The full-vocabulary loops get an AVX2 clone chosen at load time (an ifunc: glibc only).
// Plain AVX2 has no FMA, so both clones compute the same bits.
#if defined(__GNUC__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(OMNI_NO_CLONES)
#define OMNI_HOT_LOOP __attribute__((target_clones("avx2", "default")))
#else
#define OMNI_HOT_LOOP
#endif

namespace omni::sampling {

inline constexpr float kNegInf = -std::numeric_limits<float>::infinity();
inline constexpr int32_t kChunk = 64;  // tokens per chunk (chunk maxima, per-chunk mass)
inline constexpr int kBuckets = 4096;  // histogram buckets over distance from the maximum
// bucket width 1/64 (logit, or log-probability, units)
inline constexpr float kBucketsPerUnit = 64.0f;

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

// This thread's workspace.
Workspace& thread_workspace();

// ---- small helpers, inlined into the loops ------------------------------------------------

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

// The ranking: a before b when a's logit is higher, or equal with a lower id.
struct RanksBefore {
  const float* x;
  bool operator()(int32_t a, int32_t b) const { return x[a] > x[b] || (x[a] == x[b] && a < b); }
};

inline bool ranks_at_or_above(const float* x, int32_t i, int32_t b) {
  return x[i] > x[b] || (x[i] == x[b] && i <= b);
}

inline int32_t n_chunks_of(int32_t n) { return (n + kChunk - 1) / kChunk; }

// 53 random bits as a double in [0, 1), the same everywhere (unlike uniform_real_distribution).
inline double uniform(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

// ---- full-vocabulary passes ---------------------------------------------------------------

// x = sanitize(logits); cmax = each chunk's maximum. Returns the order key of the maximum.
int32_t copy_and_chunk_max(const float* logits, float* x, float* cmax, int32_t n);

// The maximum of chunk c of x (after a few of its logits changed).
float chunk_max(const float* x, int32_t n, int32_t c);

// w = exp((x - m) * inv_temp); cmass = per-chunk sums. Returns the total.
double exp_pass(const float* x, const float* cmax, float* w, double* cmass, int32_t n, float m,
                float inv_temp);

// Zeroes the weights of tokens ranked below `last` (if last >= 0) or lighter than min_w;
// refreshes cmass. Returns the new total.
double mask_pass(const float* x, float* w, double* cmass, int32_t n, int32_t last, float min_w);

// ---- selection ------------------------------------------------------------------------------

// The k highest-ranked tokens with a finite logit (all of them when fewer), in no particular
// order. m is the largest logit; uses ws.cmax (from copy_and_chunk_max) and ws's scratch.
void select_top(const float* x, int32_t n, float m, size_t k, std::vector<int32_t>& out,
                Workspace& ws);

// Top-p over the whole vocabulary given the weights in ws.w: the lowest-ranked member of the
// smallest set of highest-ranked tokens whose weights reach `target`.
int32_t top_p_last(const float* x, int32_t n, float m, float inv_temp, double target,
                   Workspace& ws);

// ---- draws ----------------------------------------------------------------------------------

// Draws from ws.w (total `total`, per-chunk sums in ws.cmass) in id order; u in [0, 1).
int32_t draw_from_vocab(int32_t n, double total, double u, const Workspace& ws);

// How many of the ranked weights top-p keeps: the shortest prefix reaching target, at least 1.
size_t nucleus_size(const std::vector<float>& wl, double target);

// The sum of the first `keep` ranked weights, in order.
double prefix_sum(const std::vector<float>& wl, size_t keep);

// Draws among the first `keep` ranked candidates (weights wl, descending); u in [0, 1).
int32_t draw_from_list(const std::vector<int32_t>& cand, const std::vector<float>& wl, size_t keep,
                       double u);

}  // namespace omni::sampling
