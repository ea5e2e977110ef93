#include "model.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>

#include "quant.h"

namespace omni {

namespace {

bool is_supported_arch(const std::string& arch) { return arch == "llama" || arch == "qwen2"; }

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path, bool vocab_only) {
  std::unique_ptr<Model> m(new Model());
  m->file_ = GgufFile::open(path);
  m->vocab_only_ = vocab_only;
  if (!vocab_only) {
    m->load_hparams();
    m->load_weights();
  }
  return m;
}

void Model::release_pages(const omni_weight& w) const {
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  const uintptr_t begin = ((uintptr_t)w.data + page - 1) / page * page;
  const uintptr_t end = ((uintptr_t)w.data + (uintptr_t)w.rows * row_bytes(w.type, w.cols)) / page * page;
  if (end > begin) madvise((void*)begin, end - begin, MADV_DONTNEED);
}

void Model::load_hparams() {
  const GgufFile& f = *file_;
  hp_.arch = f.get_string("general.architecture");
  if (!is_supported_arch(hp_.arch))
    throw GgufError(f.path() + ": unsupported architecture '" + hp_.arch + "' (Omni runs llama and qwen2 models)");
  const std::string a = hp_.arch + ".";
  auto positive = [&](const std::string& key, int64_t v) {
    if (v <= 0 || v > (1 << 24)) throw GgufError(f.path() + ": metadata '" + key + "' = " + std::to_string(v) + " is out of range");
    return (int32_t)v;
  };
  hp_.n_embd = positive(a + "embedding_length", f.get_int(a + "embedding_length"));
  hp_.n_layer = positive(a + "block_count", f.get_int(a + "block_count"));
  hp_.n_ff = positive(a + "feed_forward_length", f.get_int(a + "feed_forward_length"));
  hp_.n_head = positive(a + "attention.head_count", f.get_int(a + "attention.head_count"));
  hp_.n_head_kv = positive(a + "attention.head_count_kv", f.get_int(a + "attention.head_count_kv", hp_.n_head));
  hp_.n_ctx_train = positive(a + "context_length", f.get_int(a + "context_length", 2048));
  hp_.head_dim = positive(a + "attention.key_length", f.get_int(a + "attention.key_length", hp_.n_embd / hp_.n_head));
  hp_.n_rot = positive(a + "rope.dimension_count", f.get_int(a + "rope.dimension_count", hp_.head_dim));
  hp_.rms_eps = (float)f.get_float(a + "attention.layer_norm_rms_epsilon", 1e-5);
  hp_.rope_base = (float)f.get_float(a + "rope.freq_base", 10000.0);
  const std::string scaling = f.get_string(a + "rope.scaling.type", "none");
  if (scaling == "linear") {
    const double factor = f.get_float(a + "rope.scaling.factor", 1.0);
    if (factor > 0) hp_.rope_scale = (float)(1.0 / factor);
  } else if (scaling != "none" && scaling != "") {
    throw GgufError(f.path() + ": rope scaling '" + scaling + "' is not supported yet");
  }
  hp_.rope_neox = hp_.arch == "qwen2";
  hp_.qkv_bias = hp_.arch == "qwen2";
  if (hp_.n_head % hp_.n_head_kv != 0)
    throw GgufError(f.path() + ": head_count " + std::to_string(hp_.n_head) + " is not a multiple of head_count_kv " +
                    std::to_string(hp_.n_head_kv));
  if (hp_.n_rot > hp_.head_dim || hp_.n_rot % 2 != 0) throw GgufError(f.path() + ": invalid rope.dimension_count");
}

void Model::load_weights() {
  const GgufFile& f = *file_;
  auto weight = [&](const std::string& name, int64_t cols, int64_t rows) -> omni_weight {
    const GgufTensorInfo* t = f.tensor(name);
    if (!t) throw GgufError(f.path() + ": missing tensor '" + name + "'");
    const bool is_matrix = rows > 0;
    if (t->dims[0] != cols || (is_matrix && t->dims[1] != rows) || (!is_matrix && t->n_dims != 1 && t->dims[1] != 1) ||
        t->dims[2] != 1 || t->dims[3] != 1) {
      std::string got = std::to_string(t->dims[0]);
      for (uint32_t d = 1; d < t->n_dims; d++) got += " x " + std::to_string(t->dims[d]);
      throw GgufError(f.path() + ": tensor '" + name + "' has shape [" + got + "], expected [" + std::to_string(cols) +
                      (is_matrix ? " x " + std::to_string(rows) : std::string()) + "]");
    }
    weight_bytes_ += t->bytes;
    return omni_weight{t->type, t->dims[0], t->dims[1], t->data};
  };
  auto vector_f32 = [&](const std::string& name, int64_t n) -> const float* {
    const omni_weight w = weight(name, n, 0);
    if (w.type != TYPE_F32) throw GgufError(f.path() + ": tensor '" + name + "' must be F32");
    return static_cast<const float*>(w.data);
  };
  auto norm = [&](const std::string& name, int64_t n) { return omni_weight{TYPE_F32, n, 1, vector_f32(name, n)}; };

  const GgufTensorInfo* embd = f.tensor("token_embd.weight");
  if (!embd) throw GgufError(f.path() + ": missing tensor 'token_embd.weight'");
  hp_.n_vocab = (int32_t)embd->dims[1];
  const int64_t d = hp_.n_embd, q_dim = (int64_t)hp_.n_head * hp_.head_dim, kv_dim = (int64_t)hp_.n_head_kv * hp_.head_dim;

  w_.token_embd = weight("token_embd.weight", d, hp_.n_vocab);
  weight_bytes_ -= embd->bytes;  // a forward pass reads one row of it per token, not all
  w_.output_norm = norm("output_norm.weight", d);
  if (f.tensor("output.weight")) {
    w_.output = weight("output.weight", d, hp_.n_vocab);
  } else {
    w_.output = w_.token_embd;
    hp_.tied_output = true;
    weight_bytes_ += embd->bytes;
  }
  if (f.tensor("rope_freqs.weight")) w_.rope_freq_factors = vector_f32("rope_freqs.weight", hp_.n_rot / 2);

  for (int32_t l = 0; l < hp_.n_layer; l++) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LayerWeights L;
    L.attn_norm = norm(p + "attn_norm.weight", d);
    L.wq = weight(p + "attn_q.weight", d, q_dim);
    L.wk = weight(p + "attn_k.weight", d, kv_dim);
    L.wv = weight(p + "attn_v.weight", d, kv_dim);
    L.wo = weight(p + "attn_output.weight", q_dim, d);
    if (hp_.qkv_bias) {
      L.bq = vector_f32(p + "attn_q.bias", q_dim);
      L.bk = vector_f32(p + "attn_k.bias", kv_dim);
      L.bv = vector_f32(p + "attn_v.bias", kv_dim);
    }
    L.ffn_norm = norm(p + "ffn_norm.weight", d);
    L.w_gate = weight(p + "ffn_gate.weight", d, hp_.n_ff);
    L.w_up = weight(p + "ffn_up.weight", d, hp_.n_ff);
    L.w_down = weight(p + "ffn_down.weight", hp_.n_ff, d);
    w_.layers.push_back(L);
  }
}

}  // namespace omni
