// How the host's event-loop thread (the JS thread that starts the passes and streams their
// tokens) shares the CPUs with a pool that pins one compute thread to each of them.
//
// Left alone, the event loop's work during a pass (planning, detokenizing, HTTP writes) lands on
// any CPU and preempts a compute thread in the middle of a task; every parallel loop then waits
// for that task, so each microsecond of event-loop work cost more than a microsecond of the
// pass. Instead, while passes are being served, the host thread keeps to one CPU (the one a
// pinning pool offers: its last thread's) and says when it is working there; that pool thread
// takes no new task meanwhile, and the other threads do its share. Measured on 2 cores with
// streaming through HTTP: a pass's compute time beside the event loop went from +240-360 µs to
// that of a pass run with a quiet event loop.
//
// The host thread's own CPU mask comes back after release(); a process forked by the host
// thread while it keeps to one CPU starts with the saved mask, not the pin. A thread it starts
// meanwhile does inherit the pin, as with any CPU mask.
//
// Only a pool with one pinned thread per usable CPU offers a CPU: with a core to spare the
// kernel already runs the event loop beside the compute threads.
#pragma once
#include <sched.h>

namespace omni::cpu::host_thread {

// By a pool that pins its threads: `cpu` is its last thread's CPU, the one the host may use.
void offer_cpu(int cpu);
void withdraw_cpu(int cpu);

// By pool threads: whether the host thread is working on `cpu` right now.
bool working_on(int cpu);

// By the host thread. start_working: it is about to work beside running passes; keeps it on the
// offered CPU from now until release() (a no-op when no pool offers one). stop_working: it has
// handled this round of events and will wait for more. release: no passes for a while; its own
// CPU mask is back.
void start_working();
void stop_working();
void release();

// The calling thread's CPU mask, leaving out a pin start_working set on it.
bool own_cpu_mask(cpu_set_t* set);

}  // namespace omni::cpu::host_thread
