#include "forward.h"

#include <cmath>

namespace omni {

Forward::Forward(const Model& model, Backend& backend, KvCache& kv)
    : hp_(model.hparams()), be_(backend), kv_(kv) {
  rope_q_.n_heads = hp_.n_head;
  rope_q_.head_dim = hp_.head_dim;
  rope_q_.n_rot = hp_.n_rot;
  rope_q_.neox = hp_.rope_neox;
  rope_q_.freq_base = hp_.rope_base;
  rope_q_.freq_scale = hp_.rope_scale;
  rope_q_.freq_factors = model.weights().rope_freq_factors;
  rope_k_ = rope_q_;
  rope_k_.n_heads = hp_.n_head_kv;

  weights_ = model.weights();
  auto upload = [&](omni_weight& w) {
    const omni_weight mapped = w;
    be_.check(be_.ops().upload_weight(be_.handle(), &w), "upload_weight");
    if (w.data != mapped.data) model.release_pages(mapped);
  };
  upload(weights_.output);
  for (LayerWeights& L : weights_.layers)
    for (omni_weight* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) upload(*w);
}

Forward::~Forward() {
  for (float* p : {x_, h_, q_, k_, v_, att_, gate_, up_, out_rows_, logits_}) be_.free(p);
}

void Forward::ensure_capacity(size_t n, size_t n_logits) {
  if (n > capacity_) {
    for (float* p : {x_, h_, q_, k_, v_, att_, gate_, up_, out_rows_}) be_.free(p);
    const size_t q_dim = (size_t)hp_.n_head * hp_.head_dim, kv_dim = (size_t)hp_.n_head_kv * hp_.head_dim;
    x_ = be_.alloc_floats(n * hp_.n_embd);
    h_ = be_.alloc_floats(n * hp_.n_embd);
    q_ = be_.alloc_floats(n * q_dim);
    k_ = be_.alloc_floats(n * kv_dim);
    v_ = be_.alloc_floats(n * kv_dim);
    att_ = be_.alloc_floats(n * q_dim);
    gate_ = be_.alloc_floats(n * hp_.n_ff);
    up_ = be_.alloc_floats(n * hp_.n_ff);
    out_rows_ = be_.alloc_floats(n * hp_.n_embd);
    capacity_ = n;
  }
  if (n_logits > logit_capacity_ && !be_.ops().host_memory) {  // else the logits go to the caller's buffer
    be_.free(logits_);
    logits_ = be_.alloc_floats(n_logits * hp_.n_vocab);
    logit_capacity_ = n_logits;
  }
}

void Forward::run(const ForwardBatch& batch, float* logits, float* hidden) {
  Backend::PassScope pass(be_);
  const auto& ops = be_.ops();
  omni_backend* b = be_.handle();
  const ModelWeights& w = weights_;
  const int64_t n = (int64_t)batch.size();
  ensure_capacity(n, batch.logit_rows.size());

  // Token embeddings.
  be_.check(ops.get_rows(b, &w.token_embd, batch.tokens.data(), n, x_), "get_rows");

  for (int32_t l = 0; l < hp_.n_layer; l++) {
    const LayerWeights& L = w.layers[l];
    attention_block(L, l, batch);  // x += Attention(RMSNorm(x))
    feed_forward_block(L, n);      // x += FFN(RMSNorm(x))
  }

  // Final norm, then logits only for the rows that were asked for.
  be_.check(ops.rmsnorm(b, x_, static_cast<const float*>(w.output_norm.data), x_, n, hp_.n_embd, hp_.rms_eps), "rmsnorm");
  if (hidden) be_.check(ops.to_host(b, hidden, x_, sizeof(float) * n * hp_.n_embd), "to_host");
  const int64_t n_out = (int64_t)batch.logit_rows.size();
  if (n_out == 0) return;
  be_.check(ops.gather_rows(b, x_, batch.logit_rows.data(), n_out, hp_.n_embd, out_rows_), "gather_rows");
  const omni_weight* output = &w.output;
  // 16 rows of a 49,152-token vocabulary are 3 MB: a backend on host memory writes them in place.
  float* dest = ops.host_memory ? logits : logits_;
  be_.check(ops.matmul(b, out_rows_, n_out, 1, &output, &dest), "matmul");
  if (dest != logits) be_.check(ops.to_host(b, logits, logits_, sizeof(float) * n_out * hp_.n_vocab), "to_host");
}

void Forward::attention_block(const LayerWeights& L, int32_t layer, const ForwardBatch& batch) {
  const auto& ops = be_.ops();
  omni_backend* b = be_.handle();
  const int64_t n = (int64_t)batch.size();
  const int64_t q_dim = (int64_t)hp_.n_head * hp_.head_dim, kv_dim = (int64_t)hp_.n_head_kv * hp_.head_dim;

  be_.check(ops.rmsnorm(b, x_, static_cast<const float*>(L.attn_norm.data), h_, n, hp_.n_embd, hp_.rms_eps), "rmsnorm");

  const omni_weight* qkv[3] = {&L.wq, &L.wk, &L.wv};
  float* qkv_out[3] = {q_, k_, v_};
  be_.check(ops.matmul(b, h_, n, 3, qkv, qkv_out), "matmul");
  if (L.bq) {
    be_.check(ops.add_bias(b, q_, L.bq, n, q_dim), "add_bias");
    be_.check(ops.add_bias(b, k_, L.bk, n, kv_dim), "add_bias");
    be_.check(ops.add_bias(b, v_, L.bv, n, kv_dim), "add_bias");
  }
  be_.check(ops.rope(b, q_, n, batch.positions.data(), &rope_q_), "rope");
  be_.check(ops.rope(b, k_, n, batch.positions.data(), &rope_k_), "rope");

  omni_kv_store_args store{};
  store.k = k_;
  store.v = v_;
  store.n_tokens = (int32_t)n;
  store.n_kv_heads = hp_.n_head_kv;
  store.head_dim = hp_.head_dim;
  store.block_size = kv_.block_size();
  store.k_pool = kv_.k_pool(layer);
  store.v_pool = kv_.v_pool(layer);
  store.slots = batch.kv_slots.data();
  be_.check(ops.kv_store(b, &store), "kv_store");

  omni_attention_args att{};
  att.q = q_;
  att.out = att_;
  att.n_tokens = (int32_t)n;
  att.n_heads = hp_.n_head;
  att.n_kv_heads = hp_.n_head_kv;
  att.head_dim = hp_.head_dim;
  att.scale = 1.0f / std::sqrt((float)hp_.head_dim);
  att.k_pool = kv_.k_pool(layer);
  att.v_pool = kv_.v_pool(layer);
  att.block_size = kv_.block_size();
  att.block_tables = batch.block_tables.data();
  att.n_past = batch.n_past.data();
  att.prompt = batch.prompt.data();
  be_.check(ops.attention(b, &att), "attention");

  const omni_weight* wo = &L.wo;
  be_.check(ops.matmul(b, att_, n, 1, &wo, &h_), "matmul");
  be_.check(ops.add(b, x_, h_, n * hp_.n_embd), "add");
}

void Forward::feed_forward_block(const LayerWeights& L, int64_t n) {
  const auto& ops = be_.ops();
  omni_backend* b = be_.handle();

  be_.check(ops.rmsnorm(b, x_, static_cast<const float*>(L.ffn_norm.data), h_, n, hp_.n_embd, hp_.rms_eps), "rmsnorm");

  const omni_weight* gate_up[2] = {&L.w_gate, &L.w_up};
  float* gate_up_out[2] = {gate_, up_};
  be_.check(ops.matmul(b, h_, n, 2, gate_up, gate_up_out), "matmul");
  be_.check(ops.silu_mul(b, gate_, up_, n * hp_.n_ff), "silu_mul");

  const omni_weight* down = &L.w_down;
  be_.check(ops.matmul(b, gate_, n, 1, &down, &h_), "matmul");
  be_.check(ops.add(b, x_, h_, n * hp_.n_embd), "add");
}

}  // namespace omni
