#include "event_loop_hooks.h"

#include <uv.h>

#include "host_thread.h"

namespace omni::addon {

namespace {

constexpr uint64_t kReleaseAfterMs = 100;

// One per JS thread (environment); freed once both handles are closed.
struct Hooks {
  uv_prepare_t prepare;
  uv_timer_t release_timer;
  int open_handles = 2;
};

void on_closed(uv_handle_t* handle) {
  Hooks* hooks = static_cast<Hooks*>(handle->data);
  if (--hooks->open_handles == 0) delete hooks;
}

// At the environment's teardown: the pin goes, the handles close.
void finalize(Napi::Env, Hooks* hooks) {
  cpu::host_thread::release();
  uv_close(reinterpret_cast<uv_handle_t*>(&hooks->prepare), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&hooks->release_timer), on_closed);
}

}  // namespace

void install_event_loop_hooks(Napi::Env env) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) return;
  Hooks* hooks = new Hooks();
  hooks->prepare.data = hooks;
  hooks->release_timer.data = hooks;
  uv_prepare_init(loop, &hooks->prepare);
  uv_prepare_start(&hooks->prepare, [](uv_prepare_t*) { cpu::host_thread::stop_working(); });
  uv_timer_init(loop, &hooks->release_timer);
  // Neither keeps the process alive.
  uv_unref(reinterpret_cast<uv_handle_t*>(&hooks->prepare));
  uv_unref(reinterpret_cast<uv_handle_t*>(&hooks->release_timer));
  env.SetInstanceData<Hooks, finalize>(hooks);
}

void step_started(Napi::Env env) {
  Hooks* hooks = env.GetInstanceData<Hooks>();
  if (!hooks) return;
  cpu::host_thread::start_working();
  uv_timer_start(&hooks->release_timer, [](uv_timer_t*) { cpu::host_thread::release(); }, kReleaseAfterMs, 0);
}

}  // namespace omni::addon
