// Tells the CPU backend when the JS thread works beside running passes (see
// backends/cpu/host_thread.h): starting a step marks it working; the event loop's prepare phase,
// just before it waits for events, marks it waiting; 100 ms without a step gives it back its
// own CPU mask.
#pragma once
#include <napi.h>

namespace omni::addon {

void install_event_loop_hooks(Napi::Env env);
void step_started(Napi::Env env);

}  // namespace omni::addon
