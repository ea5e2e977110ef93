// Checks the CPU thread pool: every task runs exactly once, and the pinning policy (see
// thread_pool.h): with as many threads as usable CPUs each thread computes on its own CPU and
// the calling thread gets its own mask back after the pass; with any other count nothing is
// pinned. The program first narrows itself to two CPUs, so it needs a machine with two.
// Prints `ok <name>` / `FAIL <name>: ...` per check, then `N passed, M failed`.
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstdio>
#include <vector>

#include "check.h"
#include "thread_pool.h"

using check::Check;
using omni::cpu::ThreadPool;

namespace {

cpu_set_t own_mask() {
  cpu_set_t set;
  CPU_ZERO(&set);
  pthread_getaffinity_np(pthread_self(), sizeof set, &set);
  return set;
}

std::vector<int> cpus_of(const cpu_set_t& set) {
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

// Which CPUs each pool thread ran its tasks on, over many small tasks.
std::vector<std::vector<int>> cpus_seen_per_thread(ThreadPool& pool) {
  std::vector<cpu_set_t> seen(pool.size());
  for (cpu_set_t& s : seen) CPU_ZERO(&s);
  std::vector<std::atomic<int>> spin(64);
  for (int round = 0; round < 50; round++)
    pool.parallel_for(64, [&](int64_t task, int thread) {
      for (int i = 0; i < 2000; i++) spin[task].fetch_add(1, std::memory_order_relaxed);
      CPU_SET(sched_getcpu(), &seen[thread]);  // each thread writes only its own set
    });
  std::vector<std::vector<int>> out;
  for (const cpu_set_t& s : seen) out.push_back(cpus_of(s));
  return out;
}

void every_task_runs_once() {
  Check c("every_task_runs_once");
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<std::atomic<int>> runs(1000);
    pool.parallel_for(1000, [&](int64_t task, int) { runs[task].fetch_add(1); });
    for (int t = 0; t < 1000; t++) c.expect_eq(runs[t].load(), 1, "runs of a task");
  }
}

void pins_each_thread_when_threads_equal_cpus(const std::vector<int>& cpus) {
  Check c("pins_each_thread_when_threads_equal_cpus");
  const cpu_set_t before = own_mask();
  ThreadPool pool(2);
  pool.begin_pass();
  const std::vector<int> during = cpus_of(own_mask());
  const std::vector<std::vector<int>> seen = cpus_seen_per_thread(pool);
  pool.end_pass();
  const cpu_set_t after = own_mask();
  if (during != std::vector<int>{cpus[0]}) c.fail("the caller was not pinned to CPU %d during the pass", cpus[0]);
  for (int t = 0; t < 2; t++)
    if (seen[t] != std::vector<int>{cpus[t]}) c.fail("thread %d ran on %zu CPU(s), not only on CPU %d", t, seen[t].size(), cpus[t]);
  if (!CPU_EQUAL(&before, &after)) c.fail("the caller's mask was not restored after the pass");
}

void pins_nothing_when_threads_differ_from_cpus() {
  Check c("pins_nothing_when_threads_differ_from_cpus");
  const cpu_set_t before = own_mask();
  ThreadPool pool(3);
  pool.begin_pass();
  const cpu_set_t during = own_mask();
  pool.end_pass();
  if (!CPU_EQUAL(&before, &during)) c.fail("a 3-thread pool on 2 CPUs pinned the caller");
}

}  // namespace

int main() {
  const std::vector<int> usable = cpus_of(own_mask());
  if (usable.size() < 2) {
    std::printf("FAIL setup: this test needs 2 CPUs, the process may use %zu\n", usable.size());
    return 1;
  }
  cpu_set_t two;
  CPU_ZERO(&two);
  CPU_SET(usable[0], &two);
  CPU_SET(usable[1], &two);
  sched_setaffinity(0, sizeof two, &two);  // this thread; the pools' threads, made later, inherit it
  const std::vector<int> cpus = {usable[0], usable[1]};

  every_task_runs_once();
  pins_each_thread_when_threads_equal_cpus(cpus);
  pins_nothing_when_threads_differ_from_cpus();
  return check::finish();
}
