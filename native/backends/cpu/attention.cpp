// Causal attention over the paged KV cache: one (token, KV head) at a time for tokens attended
// the decode way, and a blocked, GQA-grouped pass with a streaming softmax for runs of prompt
// tokens (the prefill way; backend.h says which token goes which way).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu_backend_state.h"

namespace omni::cpu {
namespace {

// Four floats as one value (GCC/Clang vector extension): the softmax loops below run on
// these, at the base ISA, since the compiler will not vectorise the float reductions alone.
typedef float f4 __attribute__((vector_size(16)));
typedef int32_t i4 __attribute__((vector_size(16)));
inline f4 load4(const float* p) { f4 v; std::memcpy(&v, p, sizeof v); return v; }
inline void store4(float* p, f4 v) { std::memcpy(p, &v, sizeof v); }
inline f4 splat4(float x) { return f4{} + x; }

// exp(x) for x <= 0, within a few ulp (Cephes' polynomial); 0 below -87 and for -inf.
inline f4 exp_neg(f4 x) {
  const i4 tiny = x < -87.0f;
  const f4 xc = tiny ? splat4(-87.0f) : x;
  const f4 t = xc * 1.44269504f + 12582912.0f;  // round(x / ln 2), in the low mantissa bits
  const f4 n = t - 12582912.0f;
  const f4 r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;
  f4 p = splat4(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const f4 y = p * r * r + r + 1.0f;
  const i4 e = (i4)y + (((i4)t - 0x4B400000) << 23);
  return tiny ? splat4(0.0f) : (f4)e;
}

// ---- decode: one token at a time -------------------------------------------------------

// Two ways to read a token's cached rows. They give the same numbers: mix_f16 adds up the rows
// in the same order whether it sees them at once or block by block, and scores_f16 takes them
// four at a time from the first, so blocks of a multiple of 4 positions change nothing.
// - attend_group, one task per KV head, each sweeping all the token's blocks. Over blocks
//   scattered through the pool this is the faster way (the hardware seems to fetch more of a
//   block than the head's 2 KB it reads, SmolLM2, and the next heads' tasks find it in cache).
// - attend_token, one task for all heads, block by block. A block holds its heads one after the
//   other, so when the sequence's blocks lie one after another in the pool (as a prompt's do),
//   K and V are each read as one stream. At 1024 positions, 16 sequences, that took ~0.7x the
//   time of attend_group; over scattered blocks ~1.25x. Hence the choice per token:
bool blocks_in_sequence(const omni_attention_args& a, int32_t t) {
  if (a.block_size % 4 != 0) return false;
  const int32_t n_blocks = (a.n_past[t] + a.block_size - 1) / a.block_size;
  const int32_t* table = a.block_tables[t];
  int32_t following = 0;  // blocks right after the one before them
  for (int32_t i = 1; i < n_blocks; i++) following += table[i] == table[i - 1] + 1;
  return n_blocks >= 4 && 2 * following >= n_blocks;
}

// One token x the query heads sharing KV head `kvh`: softmax(q . K^T * scale) . V over the
// token's cached positions, K and V read in place (f16) through the block table.
void attend_group(const KernelTable& k, const omni_attention_args& a, int32_t t, int32_t kvh,
                  std::vector<float>& scratch) {
  const int32_t group = a.n_heads / a.n_kv_heads;
  const int32_t hd = a.head_dim;
  const int32_t n = a.n_past[t];
  thread_local std::vector<int64_t> offsets;
  if ((int32_t)offsets.size() < n) offsets.resize(n);
  const int32_t* table = a.block_tables[t];
  // Of head 0 (head kvh is the same offset from its own base), a block at a time: positions
  // within a block are hd apart, and a division per position showed up in profiles.
  for (int32_t p0 = 0; p0 < n; p0 += a.block_size) {
    const int64_t block = omni_kv_offset((int64_t)table[p0 / a.block_size] * a.block_size, 0, a.block_size, a.n_kv_heads, hd);
    for (int32_t j = 0, m = std::min(a.block_size, n - p0); j < m; j++) offsets[p0 + j] = block + (int64_t)j * hd;
  }
  if ((int64_t)scratch.size() < (int64_t)group * (n + 1)) scratch.resize((int64_t)group * (n + 1));
  float* s = scratch.data();                  // [group][n]: scores, then exp(score - max)
  float* sum = s + (int64_t)group * n;        // [group]: those summed
  const int64_t first = (int64_t)t * a.n_heads * hd + (int64_t)kvh * group * hd;  // the group's rows are adjacent
  const int64_t head_base = (int64_t)kvh * a.block_size * hd;
  k.scores_f16(a.q + first, group, hd, a.k_pool + head_base, offsets.data(), n, s, n);
  for (int32_t r = 0; r < group; r++) sum[r] = k.exp_scores_f32(s + (int64_t)r * n, n, a.scale);
  float* out = a.out + first;
  std::fill(out, out + (int64_t)group * hd, 0.0f);
  k.mix_f16(s, n, group, hd, a.v_pool + head_base, offsets.data(), n, out);
  for (int32_t r = 0; r < group; r++) k.scale_f32(out + (int64_t)r * hd, 1.0f / sum[r], hd);
}

// One token x all query heads, block by block (see above).
void attend_token(const KernelTable& k, const omni_attention_args& a, int32_t t, std::vector<float>& scratch) {
  const int32_t group = a.n_heads / a.n_kv_heads;
  const int32_t hd = a.head_dim, bs = a.block_size;
  const int32_t n = a.n_past[t];
  const int32_t n_blocks = (n + bs - 1) / bs;
  const int32_t* table = a.block_tables[t];
  thread_local std::vector<int64_t> rows;  // a block's positions, from its head's start
  rows.resize(bs);
  for (int32_t j = 0; j < bs; j++) rows[j] = (int64_t)j * hd;
  auto head_in = [&](const uint16_t* pool, int32_t i, int32_t h) {  // block i of the sequence, head h
    return pool + omni_kv_offset((int64_t)table[i] * bs, h, bs, a.n_kv_heads, hd);
  };
  if ((int64_t)scratch.size() < (int64_t)a.n_heads * (n + 1)) scratch.resize((int64_t)a.n_heads * (n + 1));
  float* s = scratch.data();                // [n_heads][n]: scores, then exp(score - max)
  float* sum = s + (int64_t)a.n_heads * n;  // [n_heads]: those summed
  const float* q = a.q + (int64_t)t * a.n_heads * hd;
  float* out = a.out + (int64_t)t * a.n_heads * hd;
  for (int32_t i = 0; i < n_blocks; i++) {
    const int32_t p0 = i * bs, m = std::min(bs, n - p0);
    for (int32_t h = 0; h < a.n_kv_heads; h++)
      k.scores_f16(q + (int64_t)h * group * hd, group, hd, head_in(a.k_pool, i, h), rows.data(), m,
                   s + (int64_t)h * group * n + p0, n);
  }
  for (int32_t r = 0; r < a.n_heads; r++) sum[r] = k.exp_scores_f32(s + (int64_t)r * n, n, a.scale);
  std::fill(out, out + (int64_t)a.n_heads * hd, 0.0f);
  for (int32_t i = 0; i < n_blocks; i++) {
    const int32_t p0 = i * bs, m = std::min(bs, n - p0);
    for (int32_t h = 0; h < a.n_kv_heads; h++)
      k.mix_f16(s + (int64_t)h * group * n + p0, n, group, hd, head_in(a.v_pool, i, h), rows.data(), m,
                out + (int64_t)h * group * hd);
  }
  for (int32_t r = 0; r < a.n_heads; r++) k.scale_f32(out + (int64_t)r * hd, 1.0f / sum[r], hd);
}

// ---- blocked attention for runs of prompt tokens of one sequence (prefill) ----------------
// A run's K and V rows are converted to f32 once (K as [kv head][position][dim], V transposed
// as [kv head][dim][position]); then each task takes a block of the run's tokens times the
// query heads sharing one KV head, and sweeps the positions in chunks: scores with the f32
// tile kernel, a streaming softmax per query row (running max and sum, the accumulator
// rescaled when the max grows), and P.V with the tile kernel again.
constexpr int32_t kBlockTokens = 16;   // query tokens per task
constexpr int32_t kChunk = 512;        // key positions per step (a multiple of 16)
constexpr int32_t kScoreStride = kChunk + 16;  // not a power of two: rows in different cache sets

// Row length of a run's transposed V: its positions padded to a multiple of 16, plus 16 so
// that rows are not a power of two apart (which would map them onto the same cache sets).
inline int64_t padded_positions(int32_t n_pos) { return (n_pos + 15) / 16 * 16 + 16; }

struct AttnRun { int32_t t0, n_tok, n_pos; int64_t kv_off; };

// Converts positions [p0, p1) of a run's K and V to f32 (layouts above).
void convert_kv(const KernelTable& k, const omni_attention_args& a, const AttnRun& run, int32_t p0, int32_t p1,
                float* kv, float* tmp) {
  const int64_t ld = padded_positions(run.n_pos);
  const int32_t* table = a.block_tables[run.t0];
  float* kf = kv;
  float* vt = kv + (int64_t)a.n_kv_heads * ld * a.head_dim;
  for (int32_t p = p0; p < p1; p++) {
    const int64_t slot = (int64_t)table[p / a.block_size] * a.block_size + p % a.block_size;
    for (int32_t h = 0; h < a.n_kv_heads; h++) {
      const int64_t off = omni_kv_offset(slot, h, a.block_size, a.n_kv_heads, a.head_dim);
      k.dequantize_row(TYPE_F16, a.k_pool + off, kf + ((int64_t)h * ld + p) * a.head_dim, a.head_dim);
      k.dequantize_row(TYPE_F16, a.v_pool + off, tmp, a.head_dim);
      float* v = vt + (int64_t)h * a.head_dim * ld + p;
      for (int32_t d = 0; d < a.head_dim; d++) v[(int64_t)d * ld] = tmp[d];
    }
  }
  if (p1 == run.n_pos)  // zeros up to the padded length, which the P.V products read
    for (int64_t r = 0; r < (int64_t)a.n_kv_heads * a.head_dim; r++) std::fill(vt + r * ld + run.n_pos, vt + (r + 1) * ld, 0.0f);
}

// Tokens [t0, t0 + nt) of a run (consecutive positions) x the query heads of kv head `kvh`.
void attend_block(const KernelTable& k, const omni_attention_args& a, const AttnRun& run, const float* kv, int32_t t0,
                  int32_t nt, int32_t kvh, std::vector<float>& scratch) {
  const int32_t group = a.n_heads / a.n_kv_heads;
  const int32_t hd = a.head_dim;
  const int32_t rows = nt * group;
  const int64_t ld = padded_positions(run.n_pos);
  const float* kf = kv + (int64_t)kvh * ld * hd;
  const float* vt = kv + (int64_t)a.n_kv_heads * ld * hd + (int64_t)kvh * hd * ld;
  const size_t need = (size_t)rows * (3 * hd + kScoreStride + 3);
  if (scratch.size() < need) scratch.resize(need);
  float* q = scratch.data();           // [rows][hd], scaled
  float* acc = q + rows * hd;          // [rows][hd]
  float* o = acc + rows * hd;          // [rows][hd]
  float* s = o + rows * hd;            // [rows][kScoreStride]: scores, then probabilities
  float* m = s + rows * kScoreStride;  // running max per row
  float* l = m + rows;                 // running sum per row
  float* alpha = l + rows;             // this chunk's rescale per row
  for (int32_t i = 0; i < nt; i++)
    for (int32_t g = 0; g < group; g++) {
      const float* src = a.q + (int64_t)(t0 + i) * a.n_heads * hd + (int64_t)(kvh * group + g) * hd;
      float* dst = q + (int64_t)(i * group + g) * hd;
      for (int32_t d = 0; d < hd; d++) dst[d] = src[d] * a.scale;
    }
  std::fill(acc, acc + (int64_t)rows * hd, 0.0f);
  std::fill(m, m + rows, -INFINITY);
  std::fill(l, l + rows, 0.0f);
  const int32_t n_end = a.n_past[t0 + nt - 1];
  const auto tile = k.matmul[TYPE_F32].tile;
  for (int32_t c0 = 0; c0 < n_end; c0 += kChunk) {
    const int32_t cn = std::min(kChunk, n_end - c0);
    const int32_t cpad = (cn + 15) / 16 * 16;
    tile(hd, kf + (int64_t)c0 * hd, hd * sizeof(float), cn, q, hd * sizeof(float), rows, s, kScoreStride);
    for (int32_t j = 0; j < rows; j++) {
      float* sr = s + (int64_t)j * kScoreStride;
      const int32_t valid = std::min(cn, a.n_past[t0 + j / group] - c0);
      if (valid <= 0) {  // every position of the chunk is in this token's future
        std::fill(sr, sr + cpad, 0.0f);
        alpha[j] = 1.0f;
        continue;
      }
      std::fill(sr + valid, sr + cpad, -INFINITY);
      f4 mx0 = load4(sr), mx1 = load4(sr + 4);
      for (int32_t p = 8; p < cpad; p += 8) {
        const f4 v0 = load4(sr + p), v1 = load4(sr + p + 4);
        mx0 = v0 > mx0 ? v0 : mx0;
        mx1 = v1 > mx1 ? v1 : mx1;
      }
      float m_new = m[j];
      for (int32_t u = 0; u < 4; u++) m_new = std::max(m_new, std::max(mx0[u], mx1[u]));
      f4 sum0{}, sum1{};
      for (int32_t p = 0; p < cpad; p += 8) {
        const f4 e0 = exp_neg(load4(sr + p) - m_new), e1 = exp_neg(load4(sr + p + 4) - m_new);
        store4(sr + p, e0);
        store4(sr + p + 4, e1);
        sum0 += e0;
        sum1 += e1;
      }
      const f4 sum = sum0 + sum1;
      const float total = (sum[0] + sum[1]) + (sum[2] + sum[3]);
      alpha[j] = std::exp(m[j] - m_new);
      l[j] = l[j] * alpha[j] + total;
      m[j] = m_new;
    }
    // Over the padded length (the probabilities there are 0): every product then runs the same
    // vector steps whatever the block, so a token's numbers do not depend on its neighbours.
    tile(cpad, vt + c0, ld * sizeof(float), hd, s, kScoreStride * sizeof(float), rows, o, hd);
    for (int32_t j = 0; j < rows; j++) {
      float* ar = acc + (int64_t)j * hd;
      const float* orow = o + (int64_t)j * hd;
      const float al = alpha[j];
      for (int32_t d = 0; d < hd; d++) ar[d] = ar[d] * al + orow[d];
    }
  }
  for (int32_t i = 0; i < nt; i++)
    for (int32_t g = 0; g < group; g++) {
      const int32_t j = i * group + g;
      float* dst = a.out + (int64_t)(t0 + i) * a.n_heads * hd + (int64_t)(kvh * group + g) * hd;
      const float inv = 1.0f / l[j];
      for (int32_t d = 0; d < hd; d++) dst[d] = acc[(int64_t)j * hd + d] * inv;
    }
}

}  // namespace

int attention(omni_backend* b, const omni_attention_args* a) {
  // Runs: prompt tokens of one sequence at consecutive positions. Whether a token goes the
  // blocked way depends only on its own flag, never on the rest of the batch (backend.h).
  std::vector<AttnRun> runs;
  std::vector<int32_t> singles;  // the tokens attended the decode way
  int64_t kv_floats = 0;
  for (int32_t t = 0; t < a->n_tokens;) {
    if (!a->prompt[t]) {
      singles.push_back(t++);
      continue;
    }
    int32_t e = t + 1;
    while (e < a->n_tokens && a->prompt[e] && a->block_tables[e] == a->block_tables[t] &&
           a->n_past[e] == a->n_past[e - 1] + 1)
      e++;
    const int32_t n_pos = a->n_past[e - 1];
    runs.push_back({t, e - t, n_pos, kv_floats});
    kv_floats += 2 * padded_positions(n_pos) * a->n_kv_heads * a->head_dim;
    t = e;
  }
  // Tasks: (run, token block, kv head), then single tokens by KV head or whole.
  struct Task { int32_t run, t0, nt, head; };  // run -1: a single token; head: a kv head, or -1: all
  std::vector<Task> tasks;
  for (int32_t r = 0; r < (int32_t)runs.size(); r++)
    for (int32_t t = 0; t < runs[r].n_tok; t += kBlockTokens)
      for (int32_t h = 0; h < a->n_kv_heads; h++)
        tasks.push_back({r, runs[r].t0 + t, std::min(kBlockTokens, runs[r].n_tok - t), h});
  for (int32_t t : singles) {
    if (blocks_in_sequence(*a, t)) tasks.push_back({-1, t, 1, -1});
    else for (int32_t h = 0; h < a->n_kv_heads; h++) tasks.push_back({-1, t, 1, h});
  }
  const KernelTable& k = *b->k;
  auto run_task = [&](const Task& task, int thread) {
    if (task.run < 0) {
      if (task.head < 0) attend_token(k, *a, task.t0, b->scratch[thread]);
      else attend_group(k, *a, task.t0, task.head, b->scratch[thread]);
    } else {
      const AttnRun& run = runs[task.run];
      attend_block(k, *a, run, b->attn_kv.data() + run.kv_off, task.t0, task.nt, task.head, b->scratch[thread]);
    }
  };
  if (runs.empty()) {
    int64_t work = 0;  // query-position pairs
    for (int32_t t = 0; t < a->n_tokens; t++) work += (int64_t)a->n_past[t] * a->n_heads;
    // A short decode step is cheaper to run here than to hand out.
    if (work < 4096) {
      for (const Task& task : tasks) run_task(task, 0);
      return 0;
    }
  } else {
    if ((int64_t)b->attn_kv.size() < kv_floats) b->attn_kv.resize(kv_floats);
    constexpr int32_t kConvertPositions = 64;
    std::vector<std::pair<int32_t, int32_t>> conv;  // (run, first position)
    for (int32_t r = 0; r < (int32_t)runs.size(); r++)
      for (int32_t p = 0; p < runs[r].n_pos; p += kConvertPositions) conv.push_back({r, p});
    b->pool->parallel_for((int64_t)conv.size(), [&](int64_t i, int thread) {
      const AttnRun& run = runs[conv[i].first];
      std::vector<float>& tmp = b->scratch[thread];
      if ((int64_t)tmp.size() < a->head_dim) tmp.resize(a->head_dim);
      convert_kv(k, *a, run, conv[i].second, std::min(run.n_pos, conv[i].second + kConvertPositions),
                 b->attn_kv.data() + run.kv_off, tmp.data());
    });
  }
  b->pool->parallel_for((int64_t)tasks.size(), [&](int64_t i, int thread) { run_task(tasks[i], thread); });
  return 0;
}

}  // namespace omni::cpu
