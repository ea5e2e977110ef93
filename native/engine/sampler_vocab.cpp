// The vocabulary-wide machinery under the token sampler: see sampler_vocab.h.
#include "sampler_vocab.h"

#include <algorithm>
#include <climits>
#include <functional>

namespace omni::sampling {
namespace {

// Sum of n floats in double, in a fixed order (8 lanes, then a fixed tree).
inline double sum_lanes(const float* w, int32_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int32_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += w[i + j];
  for (int j = 0; i < n; ++i, ++j) acc[j] += w[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

inline bool any_equal(const uint16_t* v, int32_t n, uint16_t value) {
  int found = 0;
  for (int32_t i = 0; i < n; ++i) found |= v[i] == value;
  return found != 0;
}

thread_local Workspace tls_ws;

}  // namespace

Workspace& thread_workspace() { return tls_ws; }

// ---- full-vocabulary passes ---------------------------------------------------------------

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

// A chunk whose maximum is already below e^-87 is all zeros (as exp_neg would give), without
// computing them.
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

namespace {

// bucket[i] = min(kBuckets - 1, floor((m - x[i]) * scale * kBucketsPerUnit)).
OMNI_HOT_LOOP void bucket_pass(const float* x, uint16_t* bucket, int32_t n, float m, float scale) {
  const float top = static_cast<float>(kBuckets - 1);
  for (int32_t i = 0; i < n; ++i) {
    const float d = ((m - x[i]) * scale) * kBucketsPerUnit;  // >= 0, may be +inf
    const float dc = d < top ? d : top;
    bucket[i] = static_cast<uint16_t>(static_cast<int32_t>(dc));
  }
}

}  // namespace

// ---- selection ------------------------------------------------------------------------------

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

// A histogram of the mass by distance from the maximum finds the bucket where the running mass
// crosses the target; only that bucket's tokens are sorted.
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

// ---- draws ---------------------------------------------------------------------------------

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

}  // namespace omni::sampling
