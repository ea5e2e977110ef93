#include "thread_pool.h"

#include <chrono>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define OMNI_PAUSE() _mm_pause()
#else
#define OMNI_PAUSE() std::this_thread::yield()
#endif

namespace omni::cpu {

namespace {
// How long an idle worker polls for the next loop before it goes to sleep. Between two
// matmuls of one forward pass the gap is microseconds; between two steps it can be long.
constexpr auto kSpinTime = std::chrono::microseconds(300);
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  for (int t = 1; t < n_threads_; t++) workers_.emplace_back([this, t] { worker_main(t); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::work(int thread) {
  for (;;) {
    const int64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (task >= n_tasks_) break;
    fn_(ctx_, task, thread);
  }
}

void ThreadPool::run(int64_t n_tasks, TaskFn fn, void* ctx) {
  fn_ = fn;
  ctx_ = ctx;
  n_tasks_ = n_tasks;
  next_task_.store(0, std::memory_order_relaxed);
  running_.store(n_threads_ - 1, std::memory_order_relaxed);
  // seq_cst on both sides (here and in worker_main) so a worker about to sleep either sees
  // the new generation or is seen as a sleeper and woken.
  generation_.fetch_add(1);
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    wake_.notify_all();
  }
  work(0);
  while (running_.load(std::memory_order_acquire) > 0) OMNI_PAUSE();
}

void ThreadPool::worker_main(int thread) {
  uint64_t seen = 0;
  for (;;) {
    auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
    int polls = 0;
    while (generation_.load(std::memory_order_acquire) == seen) {
      OMNI_PAUSE();
      if (++polls % 64 == 0 && std::chrono::steady_clock::now() > spin_until) {
        std::unique_lock<std::mutex> lock(sleep_mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        sleepers_.fetch_sub(1);
        break;
      }
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    work(thread);
    running_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace omni::cpu
