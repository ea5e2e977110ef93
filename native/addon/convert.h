// Converting engine values to and from JavaScript.
#pragma once
#include <napi.h>

#include "context.h"
#include "gguf.h"
#include "model.h"

namespace omni::addon {

Napi::Value gguf_value_to_js(Napi::Env env, const GgufValue& v);
Napi::Object model_info_to_js(Napi::Env env, const Model& model);
// Returns false (with a JS exception pending) when the batch is malformed.
bool batch_from_js(Napi::Env env, const Napi::Value& value, std::vector<SeqInput>* out);
Napi::Array outputs_to_js(Napi::Env env, const std::vector<SeqOutput>& outputs);

}  // namespace omni::addon
