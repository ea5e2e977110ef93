#include "convert.h"

#include <cmath>

#include "quant.h"

namespace omni::addon {

namespace {

template <class T, class Array>
Napi::Value typed_array(Napi::Env env, const std::vector<uint8_t>& raw) {
  const size_t n = raw.size() / sizeof(T);
  Array a = Array::New(env, n);
  std::memcpy(a.Data(), raw.data(), raw.size());
  return a;
}

Napi::Value numbers_as_doubles(Napi::Env env, const GgufValue& v) {
  // 64-bit integer arrays: JavaScript numbers are exact up to 2^53, plenty for metadata.
  Napi::Float64Array a = Napi::Float64Array::New(env, v.count);
  for (uint64_t k = 0; k < v.count; k++) {
    if (v.item_type == GGUF_UINT64) { uint64_t x; std::memcpy(&x, &v.raw[k * 8], 8); a[k] = (double)x; }
    else { int64_t x; std::memcpy(&x, &v.raw[k * 8], 8); a[k] = (double)x; }
  }
  return a;
}

}  // namespace

Napi::Value gguf_value_to_js(Napi::Env env, const GgufValue& v) {
  switch (v.type) {
    case GGUF_UINT8: case GGUF_UINT16: case GGUF_UINT32: case GGUF_UINT64: return Napi::Number::New(env, (double)v.u);
    case GGUF_INT8: case GGUF_INT16: case GGUF_INT32: case GGUF_INT64: return Napi::Number::New(env, (double)v.i);
    case GGUF_FLOAT32: case GGUF_FLOAT64: return Napi::Number::New(env, v.f);
    case GGUF_BOOL: return Napi::Boolean::New(env, v.b);
    case GGUF_STRING: return Napi::String::New(env, v.s);
    case GGUF_ARRAY: break;
  }
  switch (v.item_type) {
    case GGUF_UINT8: return typed_array<uint8_t, Napi::Uint8Array>(env, v.raw);
    case GGUF_INT8: return typed_array<int8_t, Napi::Int8Array>(env, v.raw);
    case GGUF_UINT16: return typed_array<uint16_t, Napi::Uint16Array>(env, v.raw);
    case GGUF_INT16: return typed_array<int16_t, Napi::Int16Array>(env, v.raw);
    case GGUF_UINT32: return typed_array<uint32_t, Napi::Uint32Array>(env, v.raw);
    case GGUF_INT32: return typed_array<int32_t, Napi::Int32Array>(env, v.raw);
    case GGUF_FLOAT32: return typed_array<float, Napi::Float32Array>(env, v.raw);
    case GGUF_FLOAT64: return typed_array<double, Napi::Float64Array>(env, v.raw);
    case GGUF_UINT64: case GGUF_INT64: return numbers_as_doubles(env, v);
    case GGUF_BOOL: {
      Napi::Array a = Napi::Array::New(env, v.count);
      for (uint64_t k = 0; k < v.count; k++) a.Set((uint32_t)k, Napi::Boolean::New(env, v.raw[k] != 0));
      return a;
    }
    case GGUF_STRING: {
      Napi::Array a = Napi::Array::New(env, v.strings.size());
      for (size_t k = 0; k < v.strings.size(); k++) a.Set((uint32_t)k, Napi::String::New(env, v.strings[k]));
      return a;
    }
    case GGUF_ARRAY: {
      Napi::Array a = Napi::Array::New(env, v.items.size());
      for (size_t k = 0; k < v.items.size(); k++) a.Set((uint32_t)k, gguf_value_to_js(env, v.items[k]));
      return a;
    }
  }
  return env.Undefined();
}

Napi::Object model_info_to_js(Napi::Env env, const Model& model) {
  const GgufFile& f = model.file();
  Napi::Object info = Napi::Object::New(env);
  info.Set("path", f.path());
  info.Set("ggufVersion", f.version());
  info.Set("fileSize", (double)f.file_size());
  info.Set("vocabOnly", model.vocab_only());

  Napi::Object meta = Napi::Object::New(env);
  for (const auto& [key, value] : f.metadata()) meta.Set(key, gguf_value_to_js(env, value));
  info.Set("metadata", meta);

  Napi::Array tensors = Napi::Array::New(env, f.tensors().size());
  for (size_t k = 0; k < f.tensors().size(); k++) {
    const GgufTensorInfo& t = f.tensors()[k];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", t.name);
    o.Set("type", t.type);
    o.Set("typeName", type_traits(t.type).name ? type_traits(t.type).name : "unknown");
    Napi::Array dims = Napi::Array::New(env, t.n_dims);
    for (uint32_t d = 0; d < t.n_dims; d++) dims.Set(d, (double)t.dims[d]);
    o.Set("dims", dims);
    o.Set("bytes", (double)t.bytes);
    o.Set("offset", (double)t.file_offset);
    tensors.Set((uint32_t)k, o);
  }
  info.Set("tensors", tensors);

  if (!model.vocab_only()) {
    const HParams& hp = model.hparams();
    Napi::Object h = Napi::Object::New(env);
    h.Set("architecture", hp.arch);
    h.Set("nVocab", hp.n_vocab);
    h.Set("nCtxTrain", hp.n_ctx_train);
    h.Set("nEmbd", hp.n_embd);
    h.Set("nLayer", hp.n_layer);
    h.Set("nFf", hp.n_ff);
    h.Set("nHead", hp.n_head);
    h.Set("nHeadKv", hp.n_head_kv);
    h.Set("headDim", hp.head_dim);
    h.Set("nRot", hp.n_rot);
    h.Set("rmsEps", hp.rms_eps);
    h.Set("ropeBase", hp.rope_base);
    h.Set("ropeNeox", hp.rope_neox);
    h.Set("tiedOutput", hp.tied_output);
    h.Set("ropeFreqFactors", model.weights().rope_freq_factors != nullptr);
    info.Set("hparams", h);
    info.Set("weightBytes", (double)model.weight_bytes());
  }
  return info;
}

namespace {

bool fail(Napi::Env env, const std::string& message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return false;
}

bool read_int(Napi::Env env, const Napi::Object& o, const char* key, int64_t* out, bool required) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) return fail(env, std::string("batch entry is missing '") + key + "'");
    return true;
  }
  if (!v.IsNumber()) return fail(env, std::string("batch entry '") + key + "' must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d)) return fail(env, std::string("batch entry '") + key + "' must be an integer");
  *out = (int64_t)d;
  return true;
}

bool read_float(Napi::Env env, const Napi::Object& o, const char* key, float* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsNumber()) return fail(env, std::string("sampling '") + key + "' must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (std::isnan(d)) return fail(env, std::string("sampling '") + key + "' must not be NaN");
  *out = (float)d;
  return true;
}

bool sampling_from_js(Napi::Env env, const Napi::Object& o, SamplingParams* p) {
  int64_t v;
  if (!read_float(env, o, "temperature", &p->temperature) || !read_float(env, o, "topP", &p->top_p) ||
      !read_float(env, o, "minP", &p->min_p) || !read_float(env, o, "repetitionPenalty", &p->repetition_penalty) ||
      !read_float(env, o, "presencePenalty", &p->presence_penalty) ||
      !read_float(env, o, "frequencyPenalty", &p->frequency_penalty))
    return false;
  v = p->top_k;
  if (!read_int(env, o, "topK", &v, false)) return false;
  p->top_k = (int32_t)v;
  v = p->penalty_window;
  if (!read_int(env, o, "penaltyWindow", &v, false)) return false;
  p->penalty_window = (int32_t)v;
  v = p->n_logprobs;
  if (!read_int(env, o, "logprobs", &v, false)) return false;
  p->n_logprobs = (int32_t)v;
  Napi::Value seed = o.Get("seed");
  if (!seed.IsUndefined() && !seed.IsNull()) {
    if (!seed.IsNumber()) return fail(env, "sampling 'seed' must be a number");
    p->seed = (uint64_t)(int64_t)seed.As<Napi::Number>().DoubleValue();
    p->has_seed = true;
  }
  Napi::Value bias = o.Get("logitBias");
  if (bias.IsArray()) {  // [[tokenId, bias], ...]
    Napi::Array a = bias.As<Napi::Array>();
    for (uint32_t k = 0; k < a.Length(); k++) {
      Napi::Value pair = a.Get(k);
      if (!pair.IsArray() || pair.As<Napi::Array>().Length() != 2) return fail(env, "logitBias entries must be [token, bias]");
      Napi::Value id = pair.As<Napi::Array>().Get((uint32_t)0), b = pair.As<Napi::Array>().Get((uint32_t)1);
      if (!id.IsNumber() || !b.IsNumber()) return fail(env, "logitBias entries must be [token, bias] numbers");
      p->logit_bias.push_back({id.As<Napi::Number>().Int32Value(), b.As<Napi::Number>().FloatValue()});
    }
  } else if (!bias.IsUndefined() && !bias.IsNull()) {
    return fail(env, "sampling 'logitBias' must be an array of [token, bias]");
  }
  return true;
}

}  // namespace

bool tokens_from_js(Napi::Env env, const Napi::Value& tokens, const char* what, std::vector<int32_t>* out) {
  if (tokens.IsTypedArray() && tokens.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    Napi::Int32Array t = tokens.As<Napi::Int32Array>();
    out->assign(t.Data(), t.Data() + t.ElementLength());
    return true;
  }
  if (!tokens.IsArray()) return fail(env, std::string(what) + " must be an array or Int32Array");
  Napi::Array t = tokens.As<Napi::Array>();
  for (uint32_t j = 0; j < t.Length(); j++) {
    Napi::Value x = t.Get(j);
    if (!x.IsNumber()) return fail(env, "tokens must be numbers");
    out->push_back(x.As<Napi::Number>().Int32Value());
  }
  return true;
}

bool batch_from_js(Napi::Env env, const Napi::Value& value, std::vector<SeqInput>* out) {
  if (!value.IsArray()) return fail(env, "step() takes an array of sequence entries");
  Napi::Array arr = value.As<Napi::Array>();
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value ev = arr.Get(k);
    if (!ev.IsObject()) return fail(env, "each batch entry must be an object");
    Napi::Object e = ev.As<Napi::Object>();
    SeqInput in;
    int64_t v = 0;
    if (!read_int(env, e, "seq", &v, true)) return false;
    in.seq = (int32_t)v;
    if (!read_int(env, e, "pos", &v, true)) return false;
    in.pos = (int32_t)v;
    if (!tokens_from_js(env, e.Get("tokens"), "batch entry 'tokens'", &in.tokens)) return false;
    v = -1;
    if (!read_int(env, e, "promptTokens", &v, false)) return false;
    if (v != -1 && (v < 0 || v > (int64_t)in.tokens.size()))
      return fail(env, "batch entry 'promptTokens' must be between 0 and the number of its tokens");
    in.prompt_tokens = (int32_t)v;
    in.sample = e.Get("sample").ToBoolean();
    in.hidden = e.Get("hidden").ToBoolean();
    Napi::Value logits = e.Get("logits");
    if (logits.IsString()) {
      const std::string mode = logits.As<Napi::String>();
      if (mode == "all") in.logits = SeqInput::ALL;
      else if (mode == "last") in.logits = SeqInput::LAST;
      else if (mode != "none") return fail(env, "batch entry 'logits' must be 'none', 'last' or 'all'");
    }
    Napi::Value sampling = e.Get("sampling");
    if (sampling.IsObject()) {
      SamplingParams p;
      if (!sampling_from_js(env, sampling.As<Napi::Object>(), &p)) return false;
      in.params = p;
    }
    out->push_back(std::move(in));
  }
  return true;
}

Napi::Array outputs_to_js(Napi::Env env, const std::vector<SeqOutput>& outputs) {
  Napi::Array arr = Napi::Array::New(env, outputs.size());
  for (size_t k = 0; k < outputs.size(); k++) {
    const SeqOutput& o = outputs[k];
    Napi::Object r = Napi::Object::New(env);
    r.Set("seq", o.seq);
    if (o.sampled.token >= 0) {
      r.Set("token", o.sampled.token);
      r.Set("logprob", o.sampled.logprob);
      Napi::Array top = Napi::Array::New(env, o.sampled.top.size());
      for (size_t j = 0; j < o.sampled.top.size(); j++) {
        Napi::Object t = Napi::Object::New(env);
        t.Set("token", o.sampled.top[j].token);
        t.Set("logprob", o.sampled.top[j].logprob);
        top.Set((uint32_t)j, t);
      }
      r.Set("top", top);
    }
    if (!o.logits.empty()) {
      Napi::Float32Array a = Napi::Float32Array::New(env, o.logits.size());
      std::memcpy(a.Data(), o.logits.data(), o.logits.size() * sizeof(float));
      r.Set("logits", a);
    }
    if (!o.hidden.empty()) {
      Napi::Float32Array a = Napi::Float32Array::New(env, o.hidden.size());
      std::memcpy(a.Data(), o.hidden.data(), o.hidden.size() * sizeof(float));
      r.Set("hidden", a);
    }
    arr.Set((uint32_t)k, r);
  }
  return arr;
}

}  // namespace omni::addon
