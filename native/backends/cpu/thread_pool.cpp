#include "thread_pool.h"

#include <chrono>

#include "host_thread.h"
#include "thread_affinity.h"

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

// Every this many polls a waiting thread offers its core with sched_yield. When the core is
// free the call returns at once; when the thread we wait for (or the event loop that feeds
// the next step) is queued behind us on the same core, a pure spin would hold the core it
// needs until the time slice ends. With two compute threads on a two-core machine beside
// the server's event loop, this took streaming through HTTP from ~0.76 to ~0.9 of the
// engine's own speed.
constexpr int kPollsPerYield = 16;
constexpr int kPollsBeforeYielding = 64;

// The CPUs the calling thread may run on (the process's, unless narrowed; a host-thread pin
// does not count), in order.
std::vector<int> usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (!host_thread::own_cpu_mask(&set)) return {};
  return cpus_in(set);
}
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads), shares_(n_threads_) {
  if (n_threads_ > 1) {
    std::vector<int> cpus = usable_cpus();
    if ((int)cpus.size() == n_threads_) pinned_cpus_ = std::move(cpus);
  }
  if (!pinned_cpus_.empty()) host_thread::offer_cpu(pinned_cpus_.back());
  for (int t = 1; t < n_threads_; t++) workers_.emplace_back([this, t] { worker_main(t); });
}

void ThreadPool::begin_pass() {
  if (pinned_cpus_.empty()) return;
  caller_pinned_ = get_thread_mask(&caller_mask_);
  if (caller_pinned_) pin_thread_to(pinned_cpus_[0]);
}

void ThreadPool::end_pass() {
  if (!caller_pinned_) return;
  set_thread_mask(caller_mask_);
  caller_pinned_ = false;
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
  if (!pinned_cpus_.empty()) host_thread::withdraw_cpu(pinned_cpus_.back());
}

void ThreadPool::work(int thread) {
  // The last thread shares its CPU with the host thread when the pool pins (host_thread.h).
  const int host_cpu = !pinned_cpus_.empty() && thread == n_threads_ - 1 ? pinned_cpus_[thread] : -1;
  for (int i = 0; i < n_threads_; i++) {
    std::atomic<uint64_t>& share = shares_[(thread + i) % n_threads_].word;
    for (;;) {
      if (host_cpu >= 0 && host_thread::working_on(host_cpu)) return;
      const uint64_t claim = share.fetch_add(1, std::memory_order_acquire);
      if ((claim & 0xffffffffu) >= (claim >> 32)) break;
      fn_(ctx_, (int64_t)(claim & 0xffffffffu), thread);
      done_.fetch_add(1, std::memory_order_release);
    }
  }
}

void ThreadPool::run(int64_t n_tasks, TaskFn fn, void* ctx) {
  fn_ = fn;
  ctx_ = ctx;
  done_.store(0, std::memory_order_relaxed);
  for (int t = 0; t < n_threads_; t++) {
    const uint64_t begin = (uint64_t)(n_tasks * t / n_threads_), end = (uint64_t)(n_tasks * (t + 1) / n_threads_);
    shares_[t].word.store(end << 32 | begin, std::memory_order_release);
  }
  // seq_cst on both sides (here and in worker_main) so a worker about to sleep either sees
  // the new generation or is seen as a sleeper and woken.
  generation_.fetch_add(1);
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    wake_.notify_all();
  }
  work(0);
  // A task still running here may be on a preempted worker (the machine is shared): after
  // a short spin, give it the core rather than burn the time slice it needs. A pinned caller
  // never shares its CPU with a worker, so yielding could only hand the CPU to some other
  // thread queued there (a GC or JIT thread, another process) for a whole time slice, while
  // the pass waits for the caller to start its next loop: it spins instead.
  const bool may_yield = !caller_pinned_;
  for (int polls = 0; done_.load(std::memory_order_acquire) < n_tasks; polls++) {
    if (!may_yield || polls < kPollsBeforeYielding) OMNI_PAUSE();
    else std::this_thread::yield();
  }
}

void ThreadPool::worker_main(int thread) {
  if (!pinned_cpus_.empty()) pin_thread_to(pinned_cpus_[thread]);
  uint64_t seen = 0;
  for (;;) {
    auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
    int polls = 0;
    while (generation_.load(std::memory_order_acquire) == seen) {
      OMNI_PAUSE();
      if (++polls % kPollsPerYield != 0) continue;
      std::this_thread::yield();
      if (polls % 64 == 0 && std::chrono::steady_clock::now() > spin_until) {
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
  }
}

}  // namespace omni::cpu
