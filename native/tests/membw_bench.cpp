// Memory read bandwidth: N threads each sum their share of a buffer far larger than the
// caches; prints the best of several passes as `read_gbps <value>`.
// Usage: membw_bench THREADS [MIB=1024] [PASSES=5]
#include <immintrin.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

__attribute__((target("avx2"))) static uint64_t sum_range(const uint64_t* p, size_t n) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_add_epi64(acc0, _mm256_loadu_si256((const __m256i*)(p + i)));
    acc1 = _mm256_add_epi64(acc1, _mm256_loadu_si256((const __m256i*)(p + i + 4)));
  }
  acc0 = _mm256_add_epi64(acc0, acc1);
  uint64_t out[4];
  _mm256_storeu_si256((__m256i*)out, acc0);
  uint64_t s = out[0] + out[1] + out[2] + out[3];
  for (; i < n; i++) s += p[i];
  return s;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const size_t mib = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024;
  const int passes = argc > 3 ? std::atoi(argv[3]) : 5;
  const size_t bytes = mib << 20, n = bytes / sizeof(uint64_t);
  std::vector<uint64_t> buf(n);
  for (size_t i = 0; i < n; i++) buf[i] = i;  // touch every page
  double best = 0;
  volatile uint64_t sink = 0;
  for (int pass = 0; pass < passes; pass++) {
    std::vector<std::thread> pool;
    std::vector<uint64_t> sums(threads);
    const auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; t++)
      pool.emplace_back([&, t] {
        const size_t begin = n * t / threads, end = n * (t + 1) / threads;
        sums[t] = sum_range(buf.data() + begin, end - begin);
      });
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (uint64_t x : sums) sink = sink + x;
    best = std::max(best, bytes / s / 1e9);
  }
  std::printf("read_gbps %.2f\n", best);
  return 0;
}
