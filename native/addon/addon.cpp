// The N-API surface: loadModel (async) → Model; Model.info(); createContext → Context;
// Context.step (async, off the JS thread), truncate, fork, free, evict, reusePrefix, length,
// stats, kvBlocksFree; plus quantize/dequantize (used to write test models) and backend probing.
// Engine exceptions never cross: every error becomes a rejected promise or a thrown JS Error
// with the engine's message.
#include <napi.h>

#include <dlfcn.h>

#include <functional>
#include <memory>

#include "convert.h"
#include "cpu_features.h"
#include "event_loop_hooks.h"
#include "quant.h"

namespace omni::addon {

namespace {

// Directory holding this addon: backend libraries are looked up there too.
std::string addon_dir() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&addon_dir), &info) && info.dli_fname) {
    std::string path = info.dli_fname;
    const size_t slash = path.rfind('/');
    if (slash != std::string::npos) return path.substr(0, slash);
  }
  return ".";
}

template <class Fn>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Result = decltype(std::declval<Fn>()());
  PromiseWorker(Napi::Env env, Fn fn, std::function<Napi::Value(Napi::Env, Result&)> to_js,
                std::function<void()> on_settle)
      : Napi::AsyncWorker(env), fn_(std::move(fn)), to_js_(std::move(to_js)), on_settle_(std::move(on_settle)),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      result_ = std::make_unique<Result>(fn_());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    if (on_settle_) on_settle_();
    deferred_.Resolve(to_js_(Env(), *result_));
  }
  void OnError(const Napi::Error& e) override {
    if (on_settle_) on_settle_();
    deferred_.Reject(e.Value());
  }

 private:
  Fn fn_;
  std::function<Napi::Value(Napi::Env, Result&)> to_js_;
  std::function<void()> on_settle_;  // on the JS thread, before the promise settles
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<Result> result_;
};

template <class Fn, class ToJs>
Napi::Promise run_async(Napi::Env env, Fn fn, ToJs to_js, std::function<void()> on_settle = nullptr) {
  auto* w = new PromiseWorker<Fn>(env, std::move(fn), std::move(to_js), std::move(on_settle));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value throw_error(Napi::Env env, const std::string& message) {
  Napi::Error::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::FunctionReference constructor;
  static void Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "Model", {InstanceMethod("info", &ModelWrap::Info), InstanceMethod("dispose", &ModelWrap::Dispose)});
    constructor = Napi::Persistent(f);
  }
  ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {}
  std::shared_ptr<Model> model;

 private:
  Napi::Value Info(const Napi::CallbackInfo& info) {
    if (!model) return throw_error(info.Env(), "the model has been disposed");
    return model_info_to_js(info.Env(), *model);
  }
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    model.reset();  // contexts keep their own reference until they are disposed
    return info.Env().Undefined();
  }
};
Napi::FunctionReference ModelWrap::constructor;

class ContextWrap : public Napi::ObjectWrap<ContextWrap> {
 public:
  static Napi::FunctionReference constructor;
  static void Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "Context",
                                   {InstanceMethod("step", &ContextWrap::Step), InstanceMethod("truncate", &ContextWrap::Truncate),
                                    InstanceMethod("fork", &ContextWrap::Fork), InstanceMethod("free", &ContextWrap::Free),
                                    InstanceMethod("evict", &ContextWrap::Evict),
                                    InstanceMethod("reusePrefix", &ContextWrap::ReusePrefix),
                                    InstanceMethod("length", &ContextWrap::Length), InstanceMethod("stats", &ContextWrap::Stats),
                                    InstanceMethod("kvBlocksFree", &ContextWrap::KvBlocksFree),
                                    InstanceMethod("dispose", &ContextWrap::Dispose)});
    constructor = Napi::Persistent(f);
  }
  ContextWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ContextWrap>(info) {}
  std::shared_ptr<Model> model;
  std::shared_ptr<Context> ctx;

 private:
  bool alive(Napi::Env env) {
    if (ctx) return true;
    throw_error(env, "the context has been disposed");
    return false;
  }
  int32_t seq_arg(const Napi::CallbackInfo& info, size_t i) {
    if (info.Length() <= i || !info[i].IsNumber()) {
      Napi::TypeError::New(info.Env(), "expected a sequence id").ThrowAsJavaScriptException();
      return -1;
    }
    return info[i].As<Napi::Number>().Int32Value();
  }
  // Runs fn (a KV-changing call) on the context, turning engine exceptions into JS errors.
  template <class Fn>
  Napi::Value mutate(const Napi::CallbackInfo& info, Fn fn) {
    Napi::Env env = info.Env();
    if (!alive(env)) return env.Undefined();
    try {
      return fn(env);
    } catch (const std::exception& e) {
      return throw_error(env, e.what());
    }
  }
  Napi::Value Step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!alive(env)) return env.Undefined();
    auto inputs = std::make_shared<std::vector<SeqInput>>();
    if (!batch_from_js(env, info[0], inputs.get())) return env.Undefined();
    // Claimed here and released here, on the JS thread: from the call until the promise
    // settles, truncate/fork/free/evict/reusePrefix throw instead of racing the worker thread.
    if (!ctx->claim()) {
      auto d = Napi::Promise::Deferred::New(env);
      d.Reject(Napi::Error::New(env, "a step is already running on this context").Value());
      return d.Promise();
    }
    std::shared_ptr<Context> ctx = this->ctx;
    std::shared_ptr<Model> keep = model;
    Napi::Promise result = run_async(
        env, [ctx, keep, inputs]() { return ctx->run_claimed(*inputs); },
        [](Napi::Env env, std::vector<SeqOutput>& out) -> Napi::Value { return outputs_to_js(env, out); },
        [ctx]() { ctx->release(); });
    // After queueing: libuv's worker threads, made on first use, must not inherit the pin.
    step_started(env);
    return result;
  }
  Napi::Value Truncate(const Napi::CallbackInfo& info) {
    return mutate(info, [&](Napi::Env env) {
      const int32_t seq = seq_arg(info, 0);
      if (env.IsExceptionPending()) return env.Undefined();
      if (info.Length() < 2 || !info[1].IsNumber()) return throw_error(env, "truncate(seq, length) needs a length");
      ctx->truncate(seq, info[1].As<Napi::Number>().Int32Value());
      return env.Undefined();
    });
  }
  Napi::Value Fork(const Napi::CallbackInfo& info) {
    return mutate(info, [&](Napi::Env env) {
      const int32_t src = seq_arg(info, 0);
      if (env.IsExceptionPending()) return env.Undefined();
      const int32_t dst = seq_arg(info, 1);
      if (!env.IsExceptionPending()) ctx->fork(src, dst);
      return env.Undefined();
    });
  }
  Napi::Value Free(const Napi::CallbackInfo& info) {
    return mutate(info, [&](Napi::Env env) {
      const int32_t seq = seq_arg(info, 0);
      if (!env.IsExceptionPending()) ctx->free(seq);
      return env.Undefined();
    });
  }
  Napi::Value Evict(const Napi::CallbackInfo& info) {
    return mutate(info, [&](Napi::Env env) {
      const int32_t seq = seq_arg(info, 0);
      if (!env.IsExceptionPending()) ctx->evict(seq);
      return env.Undefined();
    });
  }
  Napi::Value ReusePrefix(const Napi::CallbackInfo& info) {
    return mutate(info, [&](Napi::Env env) -> Napi::Value {
      const int32_t seq = seq_arg(info, 0);
      if (env.IsExceptionPending()) return env.Undefined();
      std::vector<int32_t> tokens;
      if (!tokens_from_js(env, info.Length() > 1 ? info[1] : env.Undefined(), "reusePrefix(seq, tokens): tokens", &tokens))
        return env.Undefined();
      return Napi::Number::New(env, ctx->reuse_prefix(seq, tokens));
    });
  }
  Napi::Value Length(const Napi::CallbackInfo& info) {
    if (!alive(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), ctx->length(seq_arg(info, 0)));
  }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    if (!alive(info.Env())) return info.Env().Undefined();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("backend", ctx->describe());
    o.Set("kvBlocksTotal", ctx->kv_blocks_total());
    o.Set("kvBlocksFree", ctx->kv_blocks_free());
    o.Set("kvBlocksCached", ctx->kv_blocks_cached());
    o.Set("kvBlockSize", ctx->kv_block_size());
    o.Set("steps", (double)ctx->steps());
    return o;
  }
  // stats().kvBlocksFree alone: the planner asks before every step, and building the whole
  // stats object (the backend's description included) cost it ~15 µs a step.
  Napi::Value KvBlocksFree(const Napi::CallbackInfo& info) {
    if (!alive(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), ctx->kv_blocks_free());
  }
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    ctx.reset();  // a running step holds its own reference and finishes first
    model.reset();
    return info.Env().Undefined();
  }
};
Napi::FunctionReference ContextWrap::constructor;

Napi::Value LoadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return throw_error(env, "loadModel(path, options) needs a path");
  const std::string path = info[0].As<Napi::String>();
  bool vocab_only = false;
  if (info.Length() > 1 && info[1].IsObject()) vocab_only = info[1].As<Napi::Object>().Get("vocabOnly").ToBoolean();
  return run_async(
      env, [path, vocab_only]() { return std::shared_ptr<Model>(Model::load(path, vocab_only)); },
      [](Napi::Env env, std::shared_ptr<Model>& m) -> Napi::Value {
        Napi::Object obj = ModelWrap::constructor.New({});
        ModelWrap::Unwrap(obj)->model = m;
        return obj;
      });
}

Napi::Value CreateContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(ModelWrap::constructor.Value()))
    return throw_error(env, "createContext(model, options) needs a model");
  std::shared_ptr<Model> model = ModelWrap::Unwrap(info[0].As<Napi::Object>())->model;
  if (!model) return throw_error(env, "the model has been disposed");
  ContextOptions opts;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    auto num = [&](const char* key, int32_t* dst) {
      Napi::Value v = o.Get(key);
      if (v.IsNumber()) *dst = v.As<Napi::Number>().Int32Value();
    };
    num("threads", &opts.n_threads);
    num("kvTokens", &opts.kv_tokens);
    num("kvBlockSize", &opts.kv_block_size);
    num("maxBatchTokens", &opts.max_batch_tokens);
    if (o.Get("backend").IsString()) opts.backend = o.Get("backend").As<Napi::String>();
    if (o.Has("prefixCache") && !o.Get("prefixCache").IsUndefined()) opts.prefix_cache = o.Get("prefixCache").ToBoolean();
  }
  opts.backend_search_path = addon_dir();
  try {
    auto ctx = std::make_shared<Context>(*model, opts);
    Napi::Object obj = ContextWrap::constructor.New({});
    ContextWrap* w = ContextWrap::Unwrap(obj);
    w->model = model;
    w->ctx = ctx;
    return obj;
  } catch (const std::exception& e) {
    return throw_error(env, e.what());
  }
}

Napi::Value Quantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    return throw_error(env, "quantize(type, Float32Array) expected");
  const uint32_t type = info[0].As<Napi::Number>().Uint32Value();
  Napi::Float32Array src = info[1].As<Napi::Float32Array>();
  const TypeTraits& t = type_traits(type);
  if (!t.supported) return throw_error(env, "cannot quantize to type " + std::to_string(type));
  const int64_t n = (int64_t)src.ElementLength();
  if (n % t.block_elems != 0) return throw_error(env, "length is not a multiple of the block size");
  Napi::Uint8Array dst = Napi::Uint8Array::New(env, row_bytes(type, n));
  quantize_row(type, src.Data(), dst.Data(), n);
  return dst;
}

Napi::Value Dequantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsNumber())
    return throw_error(env, "dequantize(type, Uint8Array, count) expected");
  const uint32_t type = info[0].As<Napi::Number>().Uint32Value();
  Napi::Uint8Array src = info[1].As<Napi::Uint8Array>();
  const int64_t n = info[2].As<Napi::Number>().Int64Value();
  const TypeTraits& t = type_traits(type);
  if (!t.supported || n < 0 || n % t.block_elems != 0 || row_bytes(type, n) > src.ByteLength())
    return throw_error(env, "invalid dequantize arguments");
  Napi::Float32Array dst = Napi::Float32Array::New(env, n);
  dequantize_row(type, src.Data(), dst.Data(), n);
  return dst;
}

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = addon_dir();
  if (info.Length() > 0 && info[0].IsString()) path = std::string(info[0].As<Napi::String>()) + ":" + path;
  const auto probes = probe_backends(path);
  Napi::Array arr = Napi::Array::New(env, probes.size());
  for (size_t k = 0; k < probes.size(); k++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", probes[k].name);
    o.Set("available", probes[k].available);
    o.Set("detail", probes[k].detail);
    arr.Set((uint32_t)k, o);
  }
  return arr;
}

Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("best", cpu::best_isa());
  std::string err;
  const cpu::KernelTable& k = cpu::select_kernels(&err);
  if (err.empty()) o.Set("selected", k.isa);
  else o.Set("error", err);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  install_event_loop_hooks(env);
  ModelWrap::Init(env);
  ContextWrap::Init(env);
  exports.Set("loadModel", Napi::Function::New(env, LoadModel));
  exports.Set("createContext", Napi::Function::New(env, CreateContext));
  exports.Set("quantize", Napi::Function::New(env, Quantize));
  exports.Set("dequantize", Napi::Function::New(env, Dequantize));
  exports.Set("backends", Napi::Function::New(env, Backends));
  exports.Set("cpuInfo", Napi::Function::New(env, CpuInfo));
  return exports;
}

}  // namespace
}  // namespace omni::addon

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return omni::addon::Init(env, exports); }
NODE_API_MODULE(omni, InitModule)
