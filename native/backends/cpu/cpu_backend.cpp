// The CPU backend: the backend.h operations on host memory, spread over a thread pool,
// with the arithmetic delegated to the kernel table of the ISA level chosen at start-up.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cpu_backend.h"
#include "cpu_backend_state.h"
#include "cpu_features.h"

namespace omni::cpu {
namespace {

constexpr int64_t kColsPerTile = 64;  // activation rows per prefill task
constexpr int64_t kRowsPerTile = 64;  // weight rows per prefill task
static_assert(kRowsPerTile % kRowGroup == 0, "tasks start at a repacked group");
// Decode tasks per thread: more balance the load when a thread is late; fewer mean longer
// sequential streams (measured: 2 to 4 best; 16 about 10% slower).
constexpr int64_t kDecodeTasksPerThread = 4;

omni_backend* init(const omni_backend_options* options, char* error, size_t error_size) {
  std::string err;
  const KernelTable& table = select_kernels(&err);
  if (!err.empty()) {
    std::snprintf(error, error_size, "%s", err.c_str());
    return nullptr;
  }
  auto* b = new omni_backend();
  b->k = &table;
  int threads = options && options->n_threads > 0 ? options->n_threads : (int)std::thread::hardware_concurrency();
  if (threads < 1) threads = 1;
  b->pool = new ThreadPool(threads);
  b->scratch.resize(threads);
  b->description = std::string("cpu ") + table.isa + ", " + std::to_string(threads) + " threads";
  return b;
}

void shutdown(omni_backend* b) {
  delete b->pool;
  delete b;
}

const char* describe(omni_backend* b) { return b->description.c_str(); }
const char* last_error(omni_backend* b) { return b->error.c_str(); }

void* alloc(omni_backend*, size_t bytes) { return std::aligned_alloc(64, (bytes + 63) / 64 * 64); }
void free_(omni_backend*, void* p) { std::free(p); }
int fail(omni_backend* b, std::string message) {
  b->error = std::move(message);
  return -1;
}

// Weights stay where the model mapped them, unless this ISA level's kernel reads its type in
// a layout of its own: then they are copied into it once (MatmulKernel::repack).
int upload_weight(omni_backend* b, omni_weight* w) {
  if (w->type >= TYPE_COUNT) return 0;  // matmul reports it
  const MatmulKernel& mk = b->k->matmul[w->type];
  if (!mk.repack) return 0;
  const size_t stride = row_bytes(w->type, w->cols);
  void* dst = b->repacked.take((size_t)repacked_rows(w->rows) * stride);
  if (!dst) return fail(b, "out of memory repacking a weight");
  parallel_chunks(b, repacked_rows(w->rows) / kRowGroup, 1, [&](int64_t g0, int64_t g1, int) {
    const int64_t r0 = g0 * kRowGroup, r1 = std::min(w->rows, g1 * kRowGroup);
    mk.repack(w->cols, (const uint8_t*)w->data + r0 * stride, stride, r1 - r0, (uint8_t*)dst + r0 * stride, stride);
  });
  w->data = dst;
  return 0;
}

int matmul(omni_backend* b, const float* x, int64_t n, int32_t n_weights, const omni_weight* const* weights,
           float* const* outs) {
  const KernelTable& k = *b->k;
  const int64_t cols = weights[0]->cols;
  const void* act[ACT_FORMAT_COUNT] = {x, nullptr, nullptr};
  size_t act_stride[ACT_FORMAT_COUNT] = {(size_t)cols * sizeof(float), 0, 0};
  for (int32_t i = 0; i < n_weights; i++) {
    const omni_weight& w = *weights[i];
    if (w.cols != cols) return fail(b, "matmul weights disagree on their input size");
    const MatmulKernel& mk = k.matmul[w.type < TYPE_COUNT ? w.type : 0];
    if (!mk.tile || (w.type >= TYPE_COUNT)) return fail(b, "no CPU kernel for weight type " + std::to_string(w.type));
    const ActFormat f = mk.act;
    if (act[f]) continue;
    // Quantize the activations once for every weight that wants this format.
    const size_t stride = act_row_bytes(f, cols);
    std::vector<uint8_t>& buf = b->act[f];
    if (buf.size() < stride * n) buf.resize(stride * n);
    uint8_t* dst = buf.data();
    auto quantize = k.quantize_act[f];
    if (n < 8) {
      for (int64_t r = 0; r < n; r++) quantize(x + r * cols, dst + r * stride, cols);
    } else {
      parallel_chunks(b, n, 4, [&](int64_t r0, int64_t r1, int) {
        for (int64_t r = r0; r < r1; r++) quantize(x + r * cols, dst + r * stride, cols);
      });
    }
    act[f] = dst;
    act_stride[f] = stride;
  }

  // The offset terms of the kernels that take them worked out once (kernels.h); weights with
  // the same act_offset share one table.
  std::vector<const int32_t*>& offsets = b->offsets_of;
  offsets.assign(n_weights, nullptr);
  if ((int32_t)b->act_offsets.size() < n_weights) b->act_offsets.resize(n_weights);
  for (int32_t i = 0; i < n_weights; i++) {
    const MatmulKernel& mk = k.matmul[weights[i]->type];
    if (!mk.tile_offsets) continue;
    for (int32_t j = 0; j < i && !offsets[i]; j++)
      if (offsets[j] && k.matmul[weights[j]->type].act_offset == mk.act_offset) offsets[i] = offsets[j];
    if (!offsets[i]) {
      std::vector<int32_t>& table = b->act_offsets[i];
      if ((int64_t)table.size() < n * (cols / 32)) table.resize(n * (cols / 32));
      act_offset_table(act[ACT_Q8_32], act_stride[ACT_Q8_32], n, cols / 32, mk.act_offset, table.data(), (size_t)n);
      offsets[i] = table.data();
    }
  }

  // Tasks: (weight, block of weight rows, block of activation rows).
  struct Task { int32_t w; int64_t r0, nr, c0, nc; };
  std::vector<Task> tasks;
  const int64_t threads = b->pool->size();
  // Decode is memory-bound: tasks are runs of weight rows over the weights in order, a few
  // per thread, so each thread streams one contiguous share (see ThreadPool::parallel_for).
  int64_t total_rows = 0;
  for (int32_t i = 0; i < n_weights; i++) total_rows += weights[i]->rows;
  // Row counts per task are whole groups of kRowGroup, the unit of the repacked layouts.
  const int64_t decode_rows =
      std::max<int64_t>(kRowGroup, total_rows / (threads * kDecodeTasksPerThread) / kRowGroup * kRowGroup);
  for (int32_t i = 0; i < n_weights; i++) {
    const int64_t rows = weights[i]->rows;
    const int64_t rows_per_task = n <= 4 ? decode_rows : kRowsPerTile;
    const int64_t cols_per_task = n <= 4 ? n : kColsPerTile;
    for (int64_t r0 = 0; r0 < rows; r0 += rows_per_task)
      for (int64_t c0 = 0; c0 < n; c0 += cols_per_task)
        tasks.push_back({i, r0, std::min(rows_per_task, rows - r0), c0, std::min(cols_per_task, n - c0)});
  }

  b->pool->parallel_for((int64_t)tasks.size(), [&](int64_t t, int) {
    const Task& task = tasks[t];
    const omni_weight& w = *weights[task.w];
    const MatmulKernel& mk = k.matmul[w.type];
    const size_t w_stride = row_bytes(w.type, w.cols);
    const uint8_t* wp = static_cast<const uint8_t*>(w.data) + task.r0 * w_stride;
    const uint8_t* xp = static_cast<const uint8_t*>(act[mk.act]) + task.c0 * act_stride[mk.act];
    float* out = outs[task.w] + task.c0 * w.rows + task.r0;
    if (offsets[task.w])
      mk.tile_offsets(w.cols, wp, w_stride, (int)task.nr, xp, act_stride[mk.act], (int)task.nc,
                      offsets[task.w] + task.c0, (size_t)n, out, w.rows);
    else
      mk.tile(w.cols, wp, w_stride, (int)task.nr, xp, act_stride[mk.act], (int)task.nc, out, w.rows);
  });
  return 0;
}

int gather_rows(omni_backend*, const float* src, const int32_t* rows, int64_t n, int64_t dim, float* dst) {
  for (int64_t r = 0; r < n; r++) std::memcpy(dst + r * dim, src + (int64_t)rows[r] * dim, dim * sizeof(float));
  return 0;
}

int to_host(omni_backend*, void* dst, const void* src, size_t bytes) {
  if (dst != src) std::memcpy(dst, src, bytes);
  return 0;
}

int get_rows(omni_backend* b, const omni_weight* w, const int32_t* ids, int64_t n, float* out) {
  const size_t stride = row_bytes(w->type, w->cols);
  for (int64_t r = 0; r < n; r++) {
    if (ids[r] < 0 || ids[r] >= w->rows) return fail(b, "token id " + std::to_string(ids[r]) + " is out of range");
    b->k->dequantize_row(w->type, static_cast<const uint8_t*>(w->data) + ids[r] * stride, out + r * w->cols, w->cols);
  }
  return 0;
}

int rmsnorm(omni_backend* b, const float* x, const float* w, float* y, int64_t n, int64_t dim, float eps) {
  auto norm = b->k->rmsnorm_f32;
  if (n < 8) {
    for (int64_t r = 0; r < n; r++) norm(x + r * dim, w, y + r * dim, dim, eps);
  } else {
    parallel_chunks(b, n, 4, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; r++) norm(x + r * dim, w, y + r * dim, dim, eps);
    });
  }
  return 0;
}

int add_bias(omni_backend* b, float* x, const float* bias, int64_t n, int64_t dim) {
  for (int64_t r = 0; r < n; r++) b->k->add_f32(x + r * dim, bias, dim);
  return 0;
}

int add(omni_backend* b, float* y, const float* x, int64_t count) {
  if (count < 65536) {
    b->k->add_f32(y, x, count);
  } else {
    parallel_chunks(b, count, 16384, [&](int64_t i0, int64_t i1, int) { b->k->add_f32(y + i0, x + i0, i1 - i0); });
  }
  return 0;
}

int silu_mul(omni_backend* b, float* gate, const float* up, int64_t count) {
  // Each value costs an exp: from about ten rows of a feed-forward layer on, splitting pays.
  if (count < 16384) {
    b->k->silu_mul_f32(gate, up, count);
  } else {
    parallel_chunks(b, count, 4096, [&](int64_t i0, int64_t i1, int) { b->k->silu_mul_f32(gate + i0, up + i0, i1 - i0); });
  }
  return 0;
}

void rope_angles(int32_t pos, const omni_rope_args& a, float* cs) {
  for (int32_t i = 0; i < a.n_rot / 2; i++) {
    double theta = (double)pos * a.freq_scale * std::pow((double)a.freq_base, -2.0 * i / a.n_rot);
    if (a.freq_factors) theta /= a.freq_factors[i];
    cs[2 * i] = (float)std::cos(theta);
    cs[2 * i + 1] = (float)std::sin(theta);
  }
}

void rope_row(float* row, const omni_rope_args& a, const float* cs) {
  const int32_t half = a.n_rot / 2;
  for (int32_t h = 0; h < a.n_heads; h++) {
    float* v = row + (int64_t)h * a.head_dim;
    for (int32_t i = 0; i < half; i++) {
      const int32_t i0 = a.neox ? i : 2 * i;
      const int32_t i1 = a.neox ? i + half : 2 * i + 1;
      const float c = cs[2 * i], s = cs[2 * i + 1];
      const float x0 = v[i0], x1 = v[i1];
      v[i0] = x0 * c - x1 * s;
      v[i1] = x0 * s + x1 * c;
    }
  }
}

int rope(omni_backend* b, float* x, int64_t n, const int32_t* positions, const omni_rope_args* args) {
  const int64_t row = (int64_t)args->n_heads * args->head_dim;
  RopeAngles& angles = b->rope;
  const bool known = angles.holds(positions, n, *args);
  if (!known) {
    angles.n_rot = args->n_rot;
    angles.freq_base = args->freq_base;
    angles.freq_scale = args->freq_scale;
    angles.freq_factors = args->freq_factors;
    angles.positions.assign(positions, positions + n);
    angles.cs.resize((size_t)n * args->n_rot);
  }
  parallel_chunks(b, n, 8, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      float* cs = angles.cs.data() + r * args->n_rot;
      if (!known) rope_angles(positions[r], *args, cs);
      rope_row(x + r * row, *args, cs);
    }
  });
  return 0;
}

int kv_store(omni_backend* b, const omni_kv_store_args* a) {
  const int64_t row = (int64_t)a->n_kv_heads * a->head_dim;
  for (int32_t t = 0; t < a->n_tokens; t++)
    for (int32_t h = 0; h < a->n_kv_heads; h++) {
      const int64_t off = omni_kv_offset(a->slots[t], h, a->block_size, a->n_kv_heads, a->head_dim);
      const int64_t src = t * row + (int64_t)h * a->head_dim;
      b->k->f32_to_f16(a->k + src, a->k_pool + off, a->head_dim);
      b->k->f32_to_f16(a->v + src, a->v_pool + off, a->head_dim);
    }
  return 0;
}

void begin_pass(omni_backend* b) { b->pool->begin_pass(); }
void end_pass(omni_backend* b) { b->pool->end_pass(); }

const omni_backend_vtable kCpuBackend = {
    OMNI_BACKEND_ABI_VERSION, "cpu", /*host_memory=*/1, init, shutdown, describe, last_error, alloc, free_, upload_weight,
    matmul, gather_rows, to_host, get_rows, rmsnorm, add_bias, add, silu_mul, rope, kv_store, attention,
    begin_pass, end_pass,
};

}  // namespace
}  // namespace omni::cpu

const omni_backend_vtable* omni_cpu_backend() { return &omni::cpu::kCpuBackend; }
