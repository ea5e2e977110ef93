// Tells the CPU backend when the JS thread works beside running passes (see
// backends/cpu/host_thread.h): starting a step marks it working; an immediate (run once the
// event loop has handled this round's events, before it waits again) marks it waiting; 100 ms
// without a step gives it back its own CPU mask. Only Node-API: the build has no libuv headers.
#pragma once
#include <napi.h>

namespace omni::addon {

void install_event_loop_hooks(Napi::Env env);
void step_started(Napi::Env env);

}  // namespace omni::addon
