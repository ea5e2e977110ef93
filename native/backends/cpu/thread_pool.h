// A fixed set of worker threads that run one parallel loop at a time. The calling thread
// takes part, so `threads = 2` means the caller plus one worker. Workers spin briefly
// between loops (a forward pass issues hundreds of small ones per token), offering their
// core to other threads now and then, and then sleep.
//
// When the pool has exactly as many threads as the CPUs the process may run on, each thread
// is pinned to its own CPU: worker t to the t-th for good, the calling thread to the first
// for the length of a forward pass (begin_pass .. end_pass), after which its own CPU mask is
// back. Unpinned on a 2-core machine serving HTTP, the kernel often queued both compute
// threads on one core while the event loop ran on the other and then left it idle; every
// loop waits for its slowest thread, so streaming lost ~10% of the engine's speed to that.
// A pinning pool also offers its last CPU to the host's event-loop thread, and its last thread
// takes no task while the host works there (host_thread.h).
#pragma once
#include <sched.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace omni::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Pin the calling thread to the first CPU until end_pass (no-op when the pool does not pin).
  void begin_pass();
  void end_pass();

  // Calls fn(task, thread) for every task in [0, n_tasks); returns when all ran. Thread t
  // first runs the t-th contiguous share of the tasks in order (so consecutive tasks that
  // read consecutive memory make one stream per thread, which the prefetchers follow),
  // then helps with what is left of the others' shares, so a late or slow thread delays
  // the loop by at most the task it is running. The caller waits for the tasks, never for
  // the workers: a worker that was not scheduled in time simply does not take part.
  template <class Fn>
  void parallel_for(int64_t n_tasks, Fn&& fn) {
    if (n_tasks <= 0) return;
    if (n_threads_ == 1 || n_tasks == 1) {
      for (int64_t t = 0; t < n_tasks; t++) fn(t, 0);
      return;
    }
    run(n_tasks, [](void* ctx, int64_t task, int thread) { (*static_cast<Fn*>(ctx))(task, thread); }, &fn);
  }

 private:
  using TaskFn = void (*)(void* ctx, int64_t task, int thread);
  void run(int64_t n_tasks, TaskFn fn, void* ctx);
  void worker_main(int thread);
  void work(int thread);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::vector<int> pinned_cpus_;  // the CPU of each thread, or empty when the pool does not pin
  cpu_set_t caller_mask_;         // the calling thread's own mask, during a pass
  bool caller_pinned_ = false;

  // One thread's share of the current loop: (end << 32) | next task, in one word so that a
  // claim sees the next task and the end of the same loop. A worker that arrives late may
  // claim a task of a later loop than the one that woke it; it reads fn_ and ctx_ only after
  // a claim succeeds, when they must belong to that task's loop (which cannot end before the
  // task is done), so that is harmless.
  struct alignas(64) Share {
    std::atomic<uint64_t> word{0};
  };
  std::vector<Share> shares_;

  // The current loop.
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  alignas(64) std::atomic<int64_t> done_{0};  // tasks of the current loop that have finished
  alignas(64) std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};

  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
};

}  // namespace omni::cpu
