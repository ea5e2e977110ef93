// Checks the CPU thread pool: every task runs exactly once, and the pinning policy (see
// thread_pool.h): with as many threads as usable CPUs each thread computes on its own CPU and
// the calling thread gets its own mask back after the pass; with any other count nothing is
// pinned. And the host thread's share (host_thread.h): it keeps to the pinning pool's last CPU
// from start_working until release, the last pool thread takes no task while the host works
// there, and a child forked meanwhile starts with the host's own mask. The program first
// narrows itself to two CPUs, so it needs a machine with two.
// Prints `ok <name>` / `FAIL <name>: ...` per check, then `N passed, M failed`.
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <vector>

#include "check.h"
#include "host_thread.h"
#include "thread_affinity.h"
#include "thread_pool.h"

using check::Check;
using omni::cpu::cpus_in;
using omni::cpu::ThreadPool;
namespace host_thread = omni::cpu::host_thread;

namespace {

cpu_set_t own_mask() {
  cpu_set_t set;
  CPU_ZERO(&set);
  omni::cpu::get_thread_mask(&set);
  return set;
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
  for (const cpu_set_t& s : seen) out.push_back(cpus_in(s));
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
  const std::vector<int> during = cpus_in(own_mask());
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

// How many of `rounds` loops' tasks each thread ran.
std::vector<long> tasks_per_thread(ThreadPool& pool, int rounds) {
  std::vector<std::atomic<long>> counts(pool.size());
  std::vector<std::atomic<int>> spin(64);
  for (int round = 0; round < rounds; round++)
    pool.parallel_for(64, [&](int64_t task, int thread) {
      for (int i = 0; i < 2000; i++) spin[task].fetch_add(1, std::memory_order_relaxed);
      counts[thread].fetch_add(1);
    });
  std::vector<long> out;
  for (auto& c : counts) out.push_back(c.load());
  return out;
}

void host_thread_keeps_to_the_last_cpu_while_working(const std::vector<int>& cpus) {
  Check c("host_thread_keeps_to_the_last_cpu_while_working");
  const cpu_set_t before = own_mask();
  ThreadPool pool(2);
  host_thread::start_working();
  if (cpus_in(own_mask()) != std::vector<int>{cpus[1]}) c.fail("the host thread was not kept to CPU %d", cpus[1]);
  const std::vector<long> working = tasks_per_thread(pool, 20);
  if (working[1] != 0) c.fail("the last thread ran %ld tasks while the host worked on its CPU", working[1]);
  {
    ThreadPool another(2);  // made while the host is pinned: still sees both CPUs, so still pins
    another.begin_pass();
    if (cpus_in(own_mask()) != std::vector<int>{cpus[0]}) c.fail("a pool made while the host was pinned did not pin");
    another.end_pass();
  }
  host_thread::stop_working();
  const std::vector<long> waiting = tasks_per_thread(pool, 50);
  if (waiting[1] == 0) c.fail("the last thread ran no task while the host waited");
  if (cpus_in(own_mask()) != std::vector<int>{cpus[1]}) c.fail("stop_working let go of the CPU (only release should)");
  host_thread::release();
  const cpu_set_t after = own_mask();
  if (!CPU_EQUAL(&before, &after)) c.fail("release did not give the host thread its own mask back");
}

void a_child_forked_while_pinned_gets_the_host_mask() {
  Check c("a_child_forked_while_pinned_gets_the_host_mask");
  const cpu_set_t host_mask = own_mask();
  ThreadPool pool(2);
  host_thread::start_working();
  const pid_t pid = fork();
  if (pid == 0) {
    const cpu_set_t child = own_mask();
    _exit(CPU_EQUAL(&child, &host_mask) ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  host_thread::release();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) c.fail("the child inherited the pin");
}

void host_thread_stays_unpinned_without_a_pinning_pool(const std::vector<int>& cpus) {
  Check c("host_thread_stays_unpinned_without_a_pinning_pool");
  const cpu_set_t before = own_mask();
  ThreadPool pool(3);  // 3 threads on 2 CPUs: pins nothing, offers nothing
  host_thread::start_working();
  const cpu_set_t during = own_mask();
  for (int cpu : cpus)
    if (host_thread::working_on(cpu)) c.fail("the host thread says it works on CPU %d with no pinning pool", cpu);
  host_thread::release();
  if (!CPU_EQUAL(&before, &during)) c.fail("the host thread was pinned with no pinning pool");
}

}  // namespace

int main() {
  const std::vector<int> usable = cpus_in(own_mask());
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
  host_thread_keeps_to_the_last_cpu_while_working(cpus);
  a_child_forked_while_pinned_gets_the_host_mask();
  host_thread_stays_unpinned_without_a_pinning_pool(cpus);
  return check::finish();
}
