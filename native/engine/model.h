// A loaded model: the GGUF file, the hyper-parameters of its architecture, and views of
// its weights. Supported architectures: llama (Llama 2/3.x, SmolLM, TinyLlama, Mistral-style
// GQA) and qwen2 (adds Q/K/V biases). A vocab-only load keeps just the metadata.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "gguf.h"
#include "omni/backend.h"

namespace omni {

struct HParams {
  std::string arch;
  int32_t n_vocab = 0;
  int32_t n_ctx_train = 0;
  int32_t n_embd = 0;
  int32_t n_layer = 0;
  int32_t n_ff = 0;
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t head_dim = 0;
  int32_t n_rot = 0;
  float rms_eps = 1e-5f;
  float rope_base = 10000.0f;
  float rope_scale = 1.0f;  // linear scaling: positions are multiplied by this
  bool rope_neox = false;
  bool qkv_bias = false;
  bool tied_output = false;
};

struct LayerWeights {
  omni_weight attn_norm, wq, wk, wv, wo;
  const float* bq = nullptr;
  const float* bk = nullptr;
  const float* bv = nullptr;
  omni_weight ffn_norm, w_gate, w_up, w_down;
};

struct ModelWeights {
  omni_weight token_embd;
  omni_weight output_norm;
  omni_weight output;  // == token_embd when tied
  const float* rope_freq_factors = nullptr;
  std::vector<LayerWeights> layers;
};

class Model {
 public:
  // Throws GgufError (file problems) or std::runtime_error (unsupported model).
  static std::unique_ptr<Model> load(const std::string& path, bool vocab_only);

  const GgufFile& file() const { return *file_; }
  const HParams& hparams() const { return hp_; }
  const ModelWeights& weights() const { return w_; }
  bool vocab_only() const { return vocab_only_; }
  uint64_t weight_bytes() const { return weight_bytes_; }  // bytes read per token by a forward pass
  // Drops this process's resident pages of a mapped weight a backend has copied (they stay in
  // the page cache and come back on the next read), so a copy does not count twice.
  void release_pages(const omni_weight& w) const;

 private:
  void load_hparams();
  void load_weights();

  std::unique_ptr<GgufFile> file_;
  HParams hp_;
  ModelWeights w_;
  bool vocab_only_ = false;
  uint64_t weight_bytes_ = 0;
};

}  // namespace omni
