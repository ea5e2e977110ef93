// Micro-benchmark of the CPU kernels: matrix-vector products over a weight matrix much
// bigger than the caches (GB/s of weights streamed, the decode bound), the same with a few
// activation rows (decode batches of continuous batching), prefill-like tiles
// (GFLOP/s counted as 2*rows*k*nc), and the reference quantizers (M values/s).
//
//   kernels_bench [--mb N] [--types q8_0,q4_K,...] [--isa avx512,...] [--quick] [--json]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../backends/cpu/cpu_features.h"
#include "../backends/cpu/kernels.h"
#include "../engine/quant.h"
#include "tile_weights.h"

using namespace omni;
using namespace omni::cpu;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Runs fn(thread) on n threads (the caller is thread 0) and returns the wall time.
template <class Fn>
double run_threads(int n, Fn fn) {
  const double t0 = now();
  std::vector<std::thread> ts;
  for (int t = 1; t < n; t++) ts.emplace_back(fn, t);
  fn(0);
  for (auto& t : ts) t.join();
  return now() - t0;
}

// Best time of `reps` runs (after one warm-up), each run long enough to measure.
template <class Fn>
double best_time(int reps, Fn fn) {
  fn();
  double best = 1e30;
  for (int i = 0; i < reps; i++) best = std::min(best, fn());
  return best;
}

std::vector<uint8_t> random_weights(uint32_t type, int64_t rows, int64_t k) {
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::vector<float> src((size_t)k);
  const size_t rb = row_bytes(type, k);
  std::vector<uint8_t> w(rb * (size_t)rows);
  // Quantizing every row would dominate the run time; 64 distinct rows repeated are as good
  // for timing (the kernels do not look at the values).
  for (int64_t r = 0; r < rows; r++) {
    if (r < 64) {
      for (auto& v : src) v = nd(rng);
      quantize_row(type, src.data(), w.data() + rb * (size_t)r, k);
    } else {
      memcpy(w.data() + rb * (size_t)r, w.data() + rb * (size_t)(r % 64), rb);
    }
  }
  return w;
}

std::vector<uint8_t> random_acts(const KernelTable& kt, ActFormat f, int64_t k, int n) {
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> src((size_t)k);
  const size_t ab = act_row_bytes(f, k);
  std::vector<uint8_t> x(ab * (size_t)n);
  for (int j = 0; j < n; j++) {
    for (auto& v : src) v = nd(rng);
    kt.quantize_act[f](src.data(), x.data() + ab * (size_t)j, k);
  }
  return x;
}

// Plain read bandwidth over the same kind of buffer, for scale: what decode can reach.
double read_gbs(const std::vector<uint8_t>& buf, int threads, int reps) {
  const size_t n = buf.size() / 8;
  const uint64_t* p = (const uint64_t*)buf.data();
  std::vector<uint64_t> sink((size_t)threads);
  const double t = best_time(reps, [&] {
    return run_threads(threads, [&](int th) {
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (size_t i = n * th / threads / 4 * 4, e = n * (th + 1) / threads / 4 * 4; i < e; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
      }
      sink[(size_t)th] = s0 + s1 + s2 + s3;
    });
  });
  return (double)buf.size() / t / 1e9;
}

struct Options {
  double mb = 64;
  std::vector<std::string> types = {"q8_0", "q4_K", "q6_K", "q5_0", "f32"};
  std::vector<std::string> isas;
  bool quick = false, json = false;
};

std::vector<std::string> split(const char* s) {
  std::vector<std::string> out;
  std::string cur;
  for (; *s; s++) {
    if (*s == ',') { if (!cur.empty()) out.push_back(cur); cur.clear(); }
    else cur += *s;
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

uint32_t type_by_name(const std::string& n) {
  for (uint32_t t = 0; t < TYPE_COUNT; t++)
    if (type_traits(t).name && n == type_traits(t).name && type_traits(t).supported) return t;
  return TYPE_COUNT;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--mb") && i + 1 < argc) o.mb = atof(argv[++i]);
    else if (!strcmp(argv[i], "--types") && i + 1 < argc) o.types = split(argv[++i]);
    else if (!strcmp(argv[i], "--isa") && i + 1 < argc) o.isas = split(argv[++i]);
    else if (!strcmp(argv[i], "--quick")) o.quick = true;
    else if (!strcmp(argv[i], "--json")) o.json = true;
    else {
      fprintf(stderr, "usage: kernels_bench [--mb N] [--types q8_0,q4_K,...] [--isa scalar,avx2,avx512] [--quick] [--json]\n");
      return 2;
    }
  }
  if (o.isas.empty()) o.isas = {"scalar", "avx2", "avx512"};
  const int reps = o.quick ? 2 : 5;
  std::string json = "{\"matvec\":[";
  bool first_json = true;
  auto add_json = [&](const char* s) { json += (first_json ? "" : ","); json += s; first_json = false; };

  printf("matrix-vector (decode): weights streamed once per call, ~%.0f MB per matrix\n", o.mb);
  printf("%-6s %-7s %8s %8s  %s\n", "type", "isa", "1 thr", "2 thr", "GB/s of weights");
  {
    std::vector<uint8_t> buf((size_t)(o.mb * 1e6) / 64 * 64, 1);
    const double r1 = read_gbs(buf, 1, reps), r2 = read_gbs(buf, 2, reps);
    printf("%-14s %8.1f %8.1f  (plain memory read, for scale)\n", "read", r1, r2);
    char b[120];
    snprintf(b, sizeof b, "{\"type\":\"read\",\"gbs_1t\":%.2f,\"gbs_2t\":%.2f}", r1, r2);
    add_json(b);
  }
  const int64_t k = 2048;
  for (const std::string& tn : o.types) {
    const uint32_t type = type_by_name(tn);
    if (type == TYPE_COUNT) { fprintf(stderr, "unknown type %s\n", tn.c_str()); return 2; }
    const size_t rb = row_bytes(type, k);
    const int64_t rows = std::max<int64_t>(64, (int64_t)(o.mb * 1e6 / (double)rb) / 64 * 64);
    const std::vector<uint8_t> w = random_weights(type, rows, k);
    std::vector<float> out((size_t)rows);
    for (const std::string& isa : o.isas) {
      const KernelTable* kt = kernels_by_name(isa.c_str());
      if (!kt) continue;
      const MatmulKernel mk = kt->matmul[type];
      const std::vector<uint8_t> wt = tile_weights(mk, k, w.data(), rb, rows);
      const std::vector<uint8_t> x = random_acts(*kt, mk.act, k, 1);
      double gbs[2];
      for (int nt = 1; nt <= 2; nt++) {
        const double t = best_time(reps, [&] {
          return run_threads(nt, [&](int th) {
            const int64_t r0 = rows * th / nt, r1 = rows * (th + 1) / nt;
            mk.tile(k, wt.data() + rb * (size_t)r0, rb, (int)(r1 - r0), x.data(), 0, 1, out.data() + r0, 1);
          });
        });
        gbs[nt - 1] = (double)w.size() / t / 1e9;
      }
      printf("%-6s %-7s %8.1f %8.1f\n", tn.c_str(), isa.c_str(), gbs[0], gbs[1]);
      char buf[200];
      snprintf(buf, sizeof buf, "{\"type\":\"%s\",\"isa\":\"%s\",\"gbs_1t\":%.2f,\"gbs_2t\":%.2f}", tn.c_str(),
               isa.c_str(), gbs[0], gbs[1]);
      add_json(buf);
    }
  }

  json += "],\"batch\":[";
  first_json = true;
  printf("\ndecode batches: the same matrices times nc activation rows (continuous batching), GB/s of weights\n");
  printf("%-6s %-7s %5s %8s %8s\n", "type", "isa", "nc", "1 thr", "2 thr");
  for (const std::string& tn : o.types) {
    const uint32_t type = type_by_name(tn);
    const size_t rb = row_bytes(type, k);
    const int64_t rows = std::max<int64_t>(64, (int64_t)(o.mb * 1e6 / (double)rb) / 64 * 64);
    const std::vector<uint8_t> w = random_weights(type, rows, k);
    for (const std::string& isa : o.isas) {
      const KernelTable* kt = kernels_by_name(isa.c_str());
      if (!kt || isa == "scalar") continue;
      const MatmulKernel mk = kt->matmul[type];
      const std::vector<uint8_t> wt = tile_weights(mk, k, w.data(), rb, rows);
      const size_t ab = act_row_bytes(mk.act, k);
      for (int nc : {2, 4, 8, 16, 32}) {
        const std::vector<uint8_t> x = random_acts(*kt, mk.act, k, nc);
        std::vector<float> out((size_t)rows * (size_t)nc);
        double gbs[2];
        for (int nt = 1; nt <= 2; nt++) {
          const double t = best_time(reps, [&] {
            return run_threads(nt, [&](int th) {
              const int64_t r0 = rows * th / nt, r1 = rows * (th + 1) / nt;
              mk.tile(k, wt.data() + rb * (size_t)r0, rb, (int)(r1 - r0), x.data(), ab, nc, out.data() + r0,
                      (size_t)rows);
            });
          });
          gbs[nt - 1] = (double)w.size() / t / 1e9;
        }
        printf("%-6s %-7s %5d %8.1f %8.1f\n", tn.c_str(), isa.c_str(), nc, gbs[0], gbs[1]);
        char buf[200];
        snprintf(buf, sizeof buf, "{\"type\":\"%s\",\"isa\":\"%s\",\"nc\":%d,\"gbs_1t\":%.2f,\"gbs_2t\":%.2f}",
                 tn.c_str(), isa.c_str(), nc, gbs[0], gbs[1]);
        add_json(buf);
      }
    }
  }

  json += "],\"prefill\":[";
  first_json = true;
  printf("\nprefill tiles: 2048 x 2048 weights times nc activation rows, GFLOP/s = 2*rows*k*nc/s\n");
  printf("%-6s %-7s %5s %8s %8s\n", "type", "isa", "nc", "1 thr", "2 thr");
  const int64_t prow = 2048;
  const std::vector<int> ncs = o.quick ? std::vector<int>{64, 256} : std::vector<int>{64, 128, 256, 512};
  for (const std::string& tn : o.types) {
    const uint32_t type = type_by_name(tn);
    const size_t rb = row_bytes(type, k);
    const std::vector<uint8_t> w = random_weights(type, prow, k);
    for (const std::string& isa : o.isas) {
      const KernelTable* kt = kernels_by_name(isa.c_str());
      if (!kt) continue;
      const MatmulKernel mk = kt->matmul[type];
      const std::vector<uint8_t> wt = tile_weights(mk, k, w.data(), rb, prow);
      const size_t ab = act_row_bytes(mk.act, k);
      for (int nc : ncs) {
        if (isa == "scalar" && nc > 64) continue;  // minutes, and says nothing new
        const std::vector<uint8_t> x = random_acts(*kt, mk.act, k, nc);
        std::vector<float> out((size_t)prow * (size_t)nc);
        double gf[2];
        for (int nt = 1; nt <= 2; nt++) {
          const double t = best_time(isa == "scalar" ? 1 : reps, [&] {
            return run_threads(nt, [&](int th) {
              const int64_t r0 = prow * th / nt, r1 = prow * (th + 1) / nt;
              mk.tile(k, wt.data() + rb * (size_t)r0, rb, (int)(r1 - r0), x.data(), ab, nc, out.data() + r0,
                      (size_t)prow);
            });
          });
          gf[nt - 1] = 2.0 * (double)prow * (double)k * nc / t / 1e9;
        }
        printf("%-6s %-7s %5d %8.1f %8.1f\n", tn.c_str(), isa.c_str(), nc, gf[0], gf[1]);
        char buf[200];
        snprintf(buf, sizeof buf, "{\"type\":\"%s\",\"isa\":\"%s\",\"nc\":%d,\"gflops_1t\":%.2f,\"gflops_2t\":%.2f}",
                 tn.c_str(), isa.c_str(), nc, gf[0], gf[1]);
        add_json(buf);
      }
    }
  }

  json += "],\"quantize\":[";
  first_json = true;
  printf("\nreference quantizers (engine/quant.cpp), one thread, CPU time\n");
  {
    const int64_t n = o.quick ? (1 << 21) : (1 << 23);
    std::vector<float> src((size_t)n);
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.0f, 0.02f);
    for (auto& v : src) v = nd(rng);
    for (uint32_t type : {TYPE_Q8_0, TYPE_Q4_0, TYPE_Q5_0, TYPE_Q4_K, TYPE_Q5_K, TYPE_Q6_K}) {
      std::vector<uint8_t> q(row_bytes(type, n));
      const std::clock_t c0 = std::clock();
      for (int64_t r = 0; r < n; r += 4096) quantize_row(type, src.data() + r, q.data() + row_bytes(type, r), 4096);
      const double s = (double)(std::clock() - c0) / CLOCKS_PER_SEC;
      printf("%-6s %8.1f M values/s\n", type_traits(type).name, (double)n / s / 1e6);
      char buf[120];
      snprintf(buf, sizeof buf, "{\"type\":\"%s\",\"mvalues_per_s\":%.1f}", type_traits(type).name, (double)n / s / 1e6);
      add_json(buf);
    }
  }
  json += "]}";
  if (o.json) printf("%s\n", json.c_str());
  return 0;
}
