#include "event_loop_hooks.h"

#include "host_thread.h"

namespace omni::addon {

namespace {

constexpr double kReleaseAfterMs = 100;

// One per JS thread (environment).
struct Hooks {
  Napi::FunctionReference set_immediate;  // global setImmediate
  Napi::FunctionReference waiting;        // host_thread::stop_working, as a JS function
  Napi::ObjectReference release_timer;    // an unref'd Timeout calling host_thread::release
  Napi::FunctionReference refresh;        // its refresh(): restart the 100 ms
  bool waiting_queued = false;
};

void finalize(Napi::Env, Hooks* hooks) {
  cpu::host_thread::release();
  delete hooks;
}

}  // namespace

void install_event_loop_hooks(Napi::Env env) {
  Napi::Object global = env.Global();
  Napi::Value set_immediate = global.Get("setImmediate");
  Napi::Value set_timeout = global.Get("setTimeout");
  if (!set_immediate.IsFunction() || !set_timeout.IsFunction()) return;
  auto* hooks = new Hooks();
  hooks->set_immediate = Napi::Persistent(set_immediate.As<Napi::Function>());
  hooks->waiting = Napi::Persistent(Napi::Function::New(env, [hooks](const Napi::CallbackInfo&) {
    hooks->waiting_queued = false;
    cpu::host_thread::stop_working();
  }));
  Napi::Function release = Napi::Function::New(env, [](const Napi::CallbackInfo&) { cpu::host_thread::release(); });
  Napi::Value timer = set_timeout.As<Napi::Function>().Call(global, {release, Napi::Number::New(env, kReleaseAfterMs)});
  if (timer.IsObject()) {
    Napi::Object t = timer.As<Napi::Object>();
    Napi::Value unref = t.Get("unref");
    if (unref.IsFunction()) unref.As<Napi::Function>().Call(t, {});  // never keeps the process alive
    Napi::Value refresh = t.Get("refresh");
    if (refresh.IsFunction()) {
      hooks->release_timer = Napi::Persistent(t);
      hooks->refresh = Napi::Persistent(refresh.As<Napi::Function>());
    }
  }
  env.SetInstanceData<Hooks, finalize>(hooks);
}

void step_started(Napi::Env env) {
  Hooks* hooks = env.GetInstanceData<Hooks>();
  if (!hooks || hooks->refresh.IsEmpty()) return;  // without a release timer, never pin
  cpu::host_thread::start_working();
  if (!hooks->waiting_queued) {
    hooks->waiting_queued = true;
    hooks->set_immediate.Call({hooks->waiting.Value()});
  }
  hooks->refresh.Call(hooks->release_timer.Value(), {});  // a timer that already fired starts again
}

}  // namespace omni::addon
