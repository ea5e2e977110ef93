// The calling thread's CPU mask: read it, set it, or narrow it to one CPU (and list a mask's
// CPUs). The first three return whether the kernel agreed; pinning is best effort (a thread
// that cannot be pinned still computes correctly), so callers that do not depend on it may
// ignore the result.
#pragma once
#include <pthread.h>
#include <sched.h>

#include <vector>

namespace omni::cpu {

inline bool get_thread_mask(cpu_set_t* set) { return pthread_getaffinity_np(pthread_self(), sizeof *set, set) == 0; }

inline bool set_thread_mask(const cpu_set_t& set) { return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0; }

inline bool pin_thread_to(int cpu) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return set_thread_mask(one);
}

// The CPUs in `set`, in increasing order.
inline std::vector<int> cpus_in(const cpu_set_t& set) {
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

}  // namespace omni::cpu
