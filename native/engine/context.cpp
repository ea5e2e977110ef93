#include "context.h"

#include <algorithm>
#include <stdexcept>

namespace omni {

Context::Context(const Model& model, const ContextOptions& options) : model_(model), options_(options) {
  if (model.vocab_only()) throw std::invalid_argument("this model was loaded vocab-only; it cannot run");
  const HParams& hp = model.hparams();
  if (options_.kv_block_size < 1) options_.kv_block_size = 16;
  if (options_.kv_tokens < options_.kv_block_size) options_.kv_tokens = options_.kv_block_size;
  if (options_.max_batch_tokens < 1) options_.max_batch_tokens = 512;
  omni_backend_options bo{options_.n_threads, 0};
  backend_ = open_backend(options_.backend, bo, options_.backend_search_path);
  const int32_t n_blocks = (options_.kv_tokens + options_.kv_block_size - 1) / options_.kv_block_size;
  kv_ = std::make_unique<KvCache>(hp.n_layer, hp.n_head_kv * hp.head_dim, options_.kv_block_size, n_blocks,
                                  options_.prefix_cache);
  forward_ = std::make_unique<Forward>(model_, *backend_, *kv_);
}

Context::~Context() = default;

void Context::validate(const std::vector<SeqInput>& inputs) const {
  const int32_t n_vocab = model_.hparams().n_vocab;
  std::unordered_map<int32_t, bool> seen;
  for (const SeqInput& in : inputs) {
    const std::string who = "sequence " + std::to_string(in.seq);
    if (in.seq < 0) throw std::invalid_argument("sequence ids must be >= 0");
    if (seen[in.seq]) throw std::invalid_argument(who + " appears twice in one step");
    seen[in.seq] = true;
    if (in.tokens.empty()) throw std::invalid_argument(who + " has no tokens");
    if (in.prompt_tokens < -1 || in.prompt_tokens > (int32_t)in.tokens.size())
      throw std::invalid_argument(who + ": prompt_tokens " + std::to_string(in.prompt_tokens) + " is outside 0.." +
                                  std::to_string(in.tokens.size()) + " (the tokens it feeds)");
    if (in.pos != kv_->length(in.seq))
      throw std::invalid_argument(who + " continues at position " + std::to_string(in.pos) + " but holds " +
                                  std::to_string(kv_->length(in.seq)) + " tokens (truncate it first)");
    for (int32_t t : in.tokens)
      if (t < 0 || t >= n_vocab)
        throw std::invalid_argument(who + ": token id " + std::to_string(t) + " is outside the vocabulary (0.." +
                                    std::to_string(n_vocab - 1) + ")");
  }
}

std::vector<SeqOutput> Context::step(const std::vector<SeqInput>& inputs) {
  if (!claim()) throw std::logic_error("a step is already running on this context");
  struct Release { Context& c; ~Release() { c.release(); } } release{*this};
  return run_claimed(inputs);
}

std::vector<SeqOutput> Context::run_claimed(const std::vector<SeqInput>& inputs) {
  validate(inputs);
  {
    std::lock_guard<std::mutex> lock(kv_mutex_);
    reserve(inputs);
  }
  std::vector<SeqOutput> outputs;
  std::vector<const float*> last_logits;  // per input: its last row's logits, if computed
  try {
    outputs = evaluate(inputs, &last_logits);
  } catch (...) {
    std::lock_guard<std::mutex> lock(kv_mutex_);
    rollback(inputs, inputs.size());
    throw;
  }
  {
    std::lock_guard<std::mutex> lock(kv_mutex_);
    commit(inputs);
  }
  sample(inputs, last_logits, &outputs);
  return outputs;
}

void Context::reserve(const std::vector<SeqInput>& inputs) {
  for (size_t i = 0; i < inputs.size(); i++) {
    const std::string err = kv_->reserve(inputs[i].seq, (int32_t)inputs[i].tokens.size());
    if (!err.empty()) {
      rollback(inputs, i);
      if (inputs[i].pos == 0) kv_->free(inputs[i].seq);
      throw std::runtime_error(err);
    }
  }
}

void Context::rollback(const std::vector<SeqInput>& inputs, size_t count) {
  for (size_t j = 0; j < count; j++) {
    if (inputs[j].pos == 0) kv_->free(inputs[j].seq);
    else kv_->truncate(inputs[j].seq, inputs[j].pos);
  }
}

// Whether a row of the step wants its logits: every row of an ALL input, else the last row of
// an input that samples or asks for its last logits.
static bool wants_logits(const SeqInput& in, int32_t index) {
  const bool is_last = index == (int32_t)in.tokens.size() - 1;
  return in.logits == SeqInput::ALL || (is_last && (in.sample || in.logits == SeqInput::LAST));
}

float* Context::logit_rows(size_t n_floats) {
  // Kept between steps and never zeroed (every row read is written first): at 16 decode rows
  // a fresh buffer cost a 3 MB clear a step. A step that needed far more (prompt logprobs)
  // does not pin that memory for good.
  if (n_floats > logits_capacity_ || n_floats * 4 < logits_capacity_) {
    logits_.reset(new float[n_floats]);
    logits_capacity_ = n_floats;
  }
  return logits_.get();
}

std::vector<SeqOutput> Context::evaluate(const std::vector<SeqInput>& inputs, std::vector<const float*>* last_logits) {
  const HParams& hp = model_.hparams();
  std::vector<SeqOutput> outputs(inputs.size());
  // Flatten into rows: (which input, which of its tokens, whether its logits are wanted).
  struct Row { size_t input; int32_t index; bool logits; };
  std::vector<Row> rows;
  size_t n_logit_rows = 0;  // of the whole step
  for (size_t i = 0; i < inputs.size(); i++) {
    const SeqInput& in = inputs[i];
    outputs[i].seq = in.seq;
    const int32_t n_out = in.logits == SeqInput::ALL ? (int32_t)in.tokens.size() : in.logits == SeqInput::LAST ? 1 : 0;
    outputs[i].logits.resize((size_t)n_out * hp.n_vocab);
    if (in.hidden) outputs[i].hidden.resize(in.tokens.size() * hp.n_embd);
    for (int32_t t = 0; t < (int32_t)in.tokens.size(); t++) {
      rows.push_back({i, t, wants_logits(in, t)});
      n_logit_rows += rows.back().logits;
    }
  }

  last_logits->assign(inputs.size(), nullptr);
  float* logits = logit_rows(std::max<size_t>(1, n_logit_rows) * hp.n_vocab);
  std::vector<float> hidden_buf;
  // Steps larger than max_batch_tokens run as several forward passes, in order; each pass's
  // logit rows follow the previous pass's in `logits`.
  for (size_t start = 0; start < rows.size(); start += options_.max_batch_tokens) {
    const size_t end = std::min(rows.size(), start + (size_t)options_.max_batch_tokens);
    ForwardBatch batch;
    std::vector<Row> logit_dest;  // whose logits each wanted row is
    bool want_hidden = false;
    for (size_t r = start; r < end; r++) {
      const SeqInput& in = inputs[rows[r].input];
      const int32_t pos = in.pos + rows[r].index;
      batch.tokens.push_back(in.tokens[rows[r].index]);
      batch.positions.push_back(pos);
      batch.kv_slots.push_back(kv_->slot(in.seq, pos));
      batch.block_tables.push_back(kv_->block_table(in.seq));
      batch.n_past.push_back(pos + 1);
      batch.prompt.push_back(rows[r].index < in.n_prompt());
      if (rows[r].logits) {
        batch.logit_rows.push_back((int32_t)(r - start));
        logit_dest.push_back(rows[r]);
      }
      want_hidden |= in.hidden;
    }
    if (want_hidden) hidden_buf.resize(batch.size() * (size_t)hp.n_embd);
    forward_->run(batch, logits, want_hidden ? hidden_buf.data() : nullptr);
    steps_++;

    for (size_t k = 0; k < logit_dest.size(); k++) {
      const size_t i = logit_dest[k].input;
      const int32_t index = logit_dest[k].index;
      const SeqInput& in = inputs[i];
      const float* src = logits + k * hp.n_vocab;
      const bool is_last = index == (int32_t)in.tokens.size() - 1;
      if (is_last) (*last_logits)[i] = src;
      if (in.logits == SeqInput::ALL)
        std::copy(src, src + hp.n_vocab, outputs[i].logits.begin() + (size_t)index * hp.n_vocab);
      else if (in.logits == SeqInput::LAST && is_last)
        std::copy(src, src + hp.n_vocab, outputs[i].logits.begin());
    }
    logits += logit_dest.size() * hp.n_vocab;
    if (want_hidden) {
      for (size_t r = start; r < end; r++) {
        SeqOutput& out = outputs[rows[r].input];
        if (out.hidden.empty()) continue;
        std::copy(hidden_buf.begin() + (r - start) * hp.n_embd, hidden_buf.begin() + (r - start + 1) * hp.n_embd,
                  out.hidden.begin() + (size_t)rows[r].index * hp.n_embd);
      }
    }
  }
  return outputs;
}

void Context::commit(const std::vector<SeqInput>& inputs) {
  for (const SeqInput& in : inputs) kv_->commit(in.seq, in.tokens);
}

// Each sampler sees its sequence's tokens (for the penalty window), then picks the next one.
void Context::sample(const std::vector<SeqInput>& inputs, const std::vector<const float*>& last_logits,
                     std::vector<SeqOutput>* outputs) {
  const int32_t n_vocab = model_.hparams().n_vocab;
  for (size_t i = 0; i < inputs.size(); i++) {
    const SeqInput& in = inputs[i];
    auto it = samplers_.find(in.seq);
    if (in.params) {
      if (it == samplers_.end()) it = samplers_.emplace(in.seq, SequenceSampler(*in.params)).first;
      else it->second.set_params(*in.params);
    }
    if (it == samplers_.end()) {
      if (!in.sample) continue;
      it = samplers_.emplace(in.seq, SequenceSampler(SamplingParams())).first;
    }
    // Positions fed again (recomputing after evict) were seen already: a token is seen once.
    if (in.pos < (int32_t)it->second.history().size()) drop_diverged(it->second, in.seq, in.pos);
    catch_up(it->second, in.seq);
    if (in.sample) (*outputs)[i].sampled = it->second.sample(last_logits[i], n_vocab);
  }
}

// Only a sequence rebuilt with other tokens than before gets here with a mismatch.
void Context::drop_diverged(SequenceSampler& sampler, int32_t seq, size_t from) const {
  const std::vector<int32_t>& known = kv_->tokens(seq);
  const std::vector<int32_t>& history = sampler.history();
  const size_t n = std::min(known.size(), history.size());
  size_t p = from;
  while (p < n && known[p] == history[p]) p++;
  if (p < n) sampler.truncate(p);
}

// Tokens the sampler has not seen: this step's, and any before them that it was not given
// (a prefix attached by reuse_prefix, or chunks fed before the sampler existed).
void Context::catch_up(SequenceSampler& sampler, int32_t seq) const {
  const std::vector<int32_t>& known = kv_->tokens(seq);
  for (size_t p = sampler.history().size(); p < known.size(); p++) sampler.accept(known[p]);
}

void Context::check_idle() const {
  if (busy_) throw std::logic_error("a step is running on this context");
}

void Context::truncate(int32_t seq, int32_t length) {
  check_idle();
  kv_->truncate(seq, length);
  auto it = samplers_.find(seq);
  if (it != samplers_.end()) it->second.truncate((size_t)std::max(0, length));
}

void Context::fork(int32_t src, int32_t dst) {
  check_idle();
  const std::string err = kv_->fork(src, dst);
  if (!err.empty()) throw std::invalid_argument(err);
  auto it = samplers_.find(src);
  if (it != samplers_.end()) samplers_.insert_or_assign(dst, it->second);
  else samplers_.erase(dst);
}

void Context::free(int32_t seq) {
  check_idle();
  kv_->free(seq);
  samplers_.erase(seq);
}

void Context::evict(int32_t seq) {
  check_idle();
  kv_->free(seq);
}

int32_t Context::reuse_prefix(int32_t seq, const std::vector<int32_t>& tokens) {
  check_idle();
  if (seq < 0) throw std::invalid_argument("sequence ids must be >= 0");
  const int32_t n = kv_->reuse_prefix(seq, tokens);
  auto it = samplers_.find(seq);
  if (n > 0 && it != samplers_.end()) drop_diverged(it->second, seq, 0);
  return n;
}

int32_t Context::length(int32_t seq) const {
  std::lock_guard<std::mutex> lock(kv_mutex_);
  return kv_->length(seq);
}

int32_t Context::kv_blocks_free() const {
  std::lock_guard<std::mutex> lock(kv_mutex_);
  return kv_->free_blocks();
}

int32_t Context::kv_blocks_cached() const {
  std::lock_guard<std::mutex> lock(kv_mutex_);
  return kv_->cached_blocks();
}

}  // namespace omni
