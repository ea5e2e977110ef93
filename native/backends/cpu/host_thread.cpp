#include "host_thread.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

#include "thread_affinity.h"

namespace omni::cpu::host_thread {

namespace {

std::mutex offers_mutex;
std::vector<int> offered_cpus;  // one entry per pinning pool alive

std::atomic<int> working_cpu{-1};

// The host thread's pin, per thread (the working CPU above is one for the process).
thread_local int pinned_cpu = -1;
thread_local cpu_set_t saved_mask;
thread_local bool cannot_pin = false;  // the kernel refused once (a cpuset, a seccomp filter): stop asking

// Gives the calling thread its own mask back, if start_working pinned it.
void unpin() {
  if (pinned_cpu < 0) return;
  set_thread_mask(saved_mask);
  pinned_cpu = -1;
}

void pin_to(int cpu) {
  static std::once_flag atfork_registered;
  // In the child of a fork: a process started from the host thread must not inherit the pin.
  std::call_once(atfork_registered, [] { pthread_atfork(nullptr, nullptr, unpin); });
  if (get_thread_mask(&saved_mask) && pin_thread_to(cpu)) pinned_cpu = cpu;
  else cannot_pin = true;
}

}  // namespace

void offer_cpu(int cpu) {
  std::lock_guard<std::mutex> lock(offers_mutex);
  offered_cpus.push_back(cpu);
}

void withdraw_cpu(int cpu) {
  std::lock_guard<std::mutex> lock(offers_mutex);
  auto it = std::find(offered_cpus.begin(), offered_cpus.end(), cpu);
  if (it != offered_cpus.end()) offered_cpus.erase(it);
}

bool working_on(int cpu) { return working_cpu.load(std::memory_order_relaxed) == cpu; }

void start_working() {
  if (pinned_cpu < 0) {
    if (cannot_pin) return;
    int cpu = -1;
    {
      std::lock_guard<std::mutex> lock(offers_mutex);
      if (!offered_cpus.empty()) cpu = offered_cpus.back();
    }
    if (cpu < 0) return;
    pin_to(cpu);
    if (pinned_cpu < 0) return;
  }
  working_cpu.store(pinned_cpu, std::memory_order_relaxed);
}

void stop_working() {
  // Called once per event-loop round: write only when there is something to clear, so the
  // pool threads that read this word keep it in their caches.
  if (working_cpu.load(std::memory_order_relaxed) != -1) working_cpu.store(-1, std::memory_order_relaxed);
}

void release() {
  stop_working();
  unpin();
}

bool own_cpu_mask(cpu_set_t* set) {
  if (pinned_cpu >= 0) {
    *set = saved_mask;
    return true;
  }
  return get_thread_mask(set);
}

}  // namespace omni::cpu::host_thread
