/* The C ABI every compute backend implements: a versioned table of function pointers.
 * The CPU backend is linked into the engine; any other backend is a shared library
 * (libomni_<name>.so) exporting `omni_backend_get`, opened at run time. No vendor header
 * (CUDA, ...) ever reaches the engine: it only sees this file.
 *
 * Conventions: row-major float32 activations; a weight is a GGUF tensor of `rows` rows,
 * each `cols` values of `type` (GGUF type id) stored contiguously. Ops return 0 on success
 * or -1 with a message retrievable by last_error(). */
#ifndef OMNI_BACKEND_H
#define OMNI_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OMNI_BACKEND_ABI_VERSION 5

typedef struct omni_backend omni_backend; /* one instance: a device plus its worker threads */

typedef struct omni_backend_options {
  int32_t n_threads; /* CPU worker threads (<= 0: one per core) */
  int32_t device;    /* device index for accelerators */
} omni_backend_options;

typedef struct omni_weight {
  uint32_t type;     /* GGUF tensor type */
  int64_t cols;      /* values per row (GGUF ne0) */
  int64_t rows;      /* GGUF ne1 */
  const void* data;  /* rows * row_bytes, device or host memory as the backend placed it */
} omni_weight;

typedef struct omni_rope_args {
  int32_t n_heads;
  int32_t head_dim;
  int32_t n_rot;              /* leading dims of each head that rotate */
  int32_t neox;               /* 0: rotate adjacent pairs (llama); 1: halves (qwen2, neox) */
  float freq_base;
  float freq_scale;           /* linear position scaling (1 = none) */
  const float* freq_factors;  /* n_rot/2 divisors of each frequency (llama3 scaling) or NULL */
} omni_rope_args;

/* The KV cache of one layer is a pool of blocks, k_pool/v_pool[block][kv_head][slot][head_dim]
 * in float16: in a block, one head's positions are contiguous (what decode attention reads).
 * Pool slot s (block s / block_size, offset s % block_size) holds head h at: */
static inline int64_t omni_kv_offset(int64_t slot, int32_t head, int32_t block_size, int32_t n_kv_heads,
                                     int32_t head_dim) {
  return ((slot / block_size) * n_kv_heads + head) * block_size * head_dim + (slot % block_size) * head_dim;
}

/* Causal attention over the paged KV cache. Token t of the batch belongs to
 * a sequence whose blocks are listed in block_tables[t] and attends to that sequence's
 * positions 0 .. n_past[t]-1.
 *
 * Each token is attended one of two ways, and a backend must give a token the same numbers
 * whatever else the batch holds:
 * - prompt[t] != 0, the prefill way: the prompt tokens of one sequence at consecutive
 *   positions form a run, attended together; a token's numbers must not depend on where its
 *   run starts or ends, so a prompt gives the same numbers however it is split into steps
 *   and whatever prefix of it came from the cache.
 * - prompt[t] == 0, the decode way: one token at a time, the way a generated token is fed,
 *   so that feeding generated tokens again (after preemption) reproduces them exactly. */
typedef struct omni_attention_args {
  const float* q;                  /* [n_tokens][n_heads * head_dim] */
  float* out;                      /* [n_tokens][n_heads * head_dim] */
  int32_t n_tokens;
  int32_t n_heads;
  int32_t n_kv_heads;
  int32_t head_dim;
  float scale;
  const uint16_t* k_pool;
  const uint16_t* v_pool;
  int32_t block_size;
  const int32_t* const* block_tables;
  const int32_t* n_past;
  const uint8_t* prompt;           /* [n_tokens]: which way each token is attended (above) */
} omni_attention_args;

/* Writes new keys/values ([n_tokens][n_kv_heads * head_dim] float32) into pool slots. */
typedef struct omni_kv_store_args {
  const float* k;
  const float* v;
  int32_t n_tokens;
  int32_t n_kv_heads;
  int32_t head_dim;
  int32_t block_size;
  uint16_t* k_pool;
  uint16_t* v_pool;
  const int64_t* slots;            /* per token: block * block_size + offset */
} omni_kv_store_args;

typedef struct omni_backend_vtable {
  uint32_t abi_version; /* OMNI_BACKEND_ABI_VERSION */
  const char* name;     /* "cpu", "cuda", ... */
  /* Non-zero when the backend's memory is host memory (the CPU): an op may then write its
   * output straight into a host buffer, and the engine skips to_host for the logits. */
  int32_t host_memory;

  omni_backend* (*init)(const omni_backend_options* options, char* error, size_t error_size);
  void (*shutdown)(omni_backend* b);
  const char* (*describe)(omni_backend* b); /* e.g. "cpu avx512 x2 threads" */
  const char* (*last_error)(omni_backend* b);

  void* (*alloc)(omni_backend* b, size_t bytes);
  void (*free)(omni_backend* b, void* ptr);
  /* Makes a matrix weight usable by matmul, replacing w->data with memory the backend owns
   * when it needs its own copy (a device upload, or a layout its kernels read faster; the
   * CPU keeps the mmap'd pointer or repacks it). Freed by shutdown. Embedding lookups
   * (get_rows) take weights that were not uploaded. */
  int (*upload_weight)(omni_backend* b, omni_weight* w);

  /* out_i[n][rows_i] = x[n][cols] . W_i^T for i < n_weights: several weights sharing one
   * input share its quantization and one dispatch (q/k/v, gate/up). */
  int (*matmul)(omni_backend* b, const float* x, int64_t n, int32_t n_weights,
                const omni_weight* const* weights, float* const* outs);
  /* dst[r] = src[rows[r]] for n rows of dim floats (picking the rows that need logits). */
  int (*gather_rows)(omni_backend* b, const float* src, const int32_t* rows, int64_t n, int64_t dim, float* dst);
  /* Copies results back to host memory (a plain memcpy on the CPU). */
  int (*to_host)(omni_backend* b, void* host_dst, const void* src, size_t bytes);
  /* Rows of a weight (embedding lookup) dequantized to float32. */
  int (*get_rows)(omni_backend* b, const omni_weight* w, const int32_t* ids, int64_t n, float* out);
  /* y[r] = x[r] / rms(x[r]) * w   for n rows of dim values; y may equal x. */
  int (*rmsnorm)(omni_backend* b, const float* x, const float* w, float* y, int64_t n, int64_t dim, float eps);
  /* x[r][c] += bias[c] */
  int (*add_bias)(omni_backend* b, float* x, const float* bias, int64_t n, int64_t dim);
  /* y += x, element-wise over count values */
  int (*add)(omni_backend* b, float* y, const float* x, int64_t count);
  /* gate = silu(gate) * up, element-wise */
  int (*silu_mul)(omni_backend* b, float* gate, const float* up, int64_t count);
  /* rotary embedding in place, x: [n][n_heads * head_dim], positions[n] */
  int (*rope)(omni_backend* b, float* x, int64_t n, const int32_t* positions, const omni_rope_args* args);
  int (*kv_store)(omni_backend* b, const omni_kv_store_args* args);
  int (*attention)(omni_backend* b, const omni_attention_args* args);

  /* Bracket one forward pass on the calling thread: every op of the pass runs between them,
   * on that thread. Either may be NULL. (The CPU backend pins the thread to a core for the
   * pass when its threads own the machine, see thread_pool.h.) */
  void (*begin_pass)(omni_backend* b);
  void (*end_pass)(omni_backend* b);
} omni_backend_vtable;

/* The one symbol a backend library exports. */
typedef const omni_backend_vtable* (*omni_backend_get_fn)(void);
#define OMNI_BACKEND_ENTRY "omni_backend_get"

#ifdef __cplusplus
}
#endif

#endif /* OMNI_BACKEND_H */
