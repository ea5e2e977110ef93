// Converting engine values to and from JavaScript.
#pragma once
#include <napi.h>

#include "context.h"
#include "gguf.h"
#include "model.h"

namespace omni::addon {

Napi::Value gguf_value_to_js(Napi::Env env, const GgufValue& v);
Napi::Object model_info_to_js(Napi::Env env, const Model& model);
// Reads an array of numbers or an Int32Array. Returns false (with a JS TypeError pending,
// naming `what`) when it is neither or holds something else than numbers.
bool tokens_from_js(Napi::Env env, const Napi::Value& tokens, const char* what, std::vector<int32_t>* out);
// Returns false (with a JS exception pending) when the batch is malformed.
bool batch_from_js(Napi::Env env, const Napi::Value& value, std::vector<SeqInput>* out);
Napi::Array outputs_to_js(Napi::Env env, const std::vector<SeqOutput>& outputs);

}  // namespace omni::addon
