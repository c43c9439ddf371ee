/* llmc runtime: C API.
 *
 * Loads one .llmc artifact (see runtime/README.md for the file layout),
 * verifies it, maps the weights in place, loads the model's generated native
 * code, and runs it: prefill a prompt, decode token by token, read logits.
 *
 * Conventions
 *  - Every function returns an llmc_status. No function aborts, prints, or
 *    throws; on failure the outputs are left untouched (or set to NULL) and a
 *    human-readable message is available from llmc_last_error() in the
 *    calling thread until that thread's next failing llmc call.
 *  - A model (llmc_model) is immutable once open and may be shared by several
 *    threads; each context (llmc_context) is used by one thread at a time.
 *  - Close contexts before the model they were created from.
 *  - Pointers returned by llmc_model_get_info (strings) stay valid until the
 *    model is closed; logits pointers stay valid until the next call that
 *    runs the model on that context (prefill/decode/rewind/reset/free).
 */
#ifndef LLMC_H
#define LLMC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LLMC_BUILDING_SHARED) && defined(__GNUC__)
#define LLMC_API __attribute__((visibility("default")))
#else
#define LLMC_API
#endif

/* The version of the API this header describes: it changes when a function
 * or a struct changes incompatibly (structs only grow at their end between
 * versions otherwise). A program compares it with llmc_api_version() of the
 * library it runs with. */
#define LLMC_API_VERSION 2

/* One error convention: every call that can fail returns an llmc_status
 * (LLMC_OK = 0) and, when it fails, sets the thread's llmc_last_error() text.
 * Results come back through pointer arguments. (API version 2: the tokenizer
 * and the sampler follow it too.) */

typedef enum llmc_status {
  LLMC_OK = 0,
  LLMC_ERR_INVALID_ARGUMENT = 1,  /* NULL pointer, bad token id, bad n_ctx... */
  LLMC_ERR_IO = 2,                /* open/stat/mmap failed */
  LLMC_ERR_BAD_FORMAT = 3,        /* not an artifact, corrupt or inconsistent */
  LLMC_ERR_UNSUPPORTED_VERSION = 4, /* format version this runtime can't read */
  LLMC_ERR_CHECKSUM = 5,          /* flatbuffer or weights checksum mismatch */
  LLMC_ERR_WRONG_TARGET = 6,      /* built for another architecture */
  LLMC_ERR_CPU_FEATURES = 7,      /* this CPU lacks a feature the code needs */
  LLMC_ERR_OUT_OF_MEMORY = 8,     /* arena / KV cache / logits allocation */
  LLMC_ERR_CONTEXT_FULL = 9,      /* position + tokens would exceed n_ctx */
  LLMC_ERR_PAYLOAD_LOAD = 10,     /* native code could not be loaded */
  LLMC_ERR_INVALID_STATE = 11,    /* e.g. logits requested before any run */
  LLMC_ERR_UNSUPPORTED = 12,      /* feature not available on this platform */
  LLMC_ERR_NON_FINITE = 13,       /* NaN or infinite logits given to the sampler */
  LLMC_ERR_BUFFER_TOO_SMALL = 14  /* output buffer too small; the size needed
                                     is reported through the size argument */
} llmc_status;

/* The runtime's release ("0.1.0") and API version (LLMC_API_VERSION of the
 * header it was built with). */
LLMC_API const char *llmc_version(void);
LLMC_API uint32_t llmc_api_version(void);

/* Static English name of a status ("LLMC_OK" -> "ok"); never NULL. */
LLMC_API const char *llmc_status_string(llmc_status status);

/* Message of the last failing llmc call in this thread ("" if none). The
 * message names the artifact (path, or "<memory>") and what is wrong. The
 * storage is thread-local and overwritten by the next failure. */
LLMC_API const char *llmc_last_error(void);

typedef struct llmc_model llmc_model;
typedef struct llmc_context llmc_context;

/* ---- Opening ------------------------------------------------------------ */

/* Flags for llmc_model_open / llmc_model_open_memory. */
enum {
  /* Skip hashing the weights segment at open (faster open of multi-GB files;
   * the header, flatbuffer checksum, schema and bounds are still checked). */
  LLMC_OPEN_SKIP_WEIGHTS_CHECKSUM = 1u << 0,
  /* Read the artifact without loading its code: every check but the target
   * architecture and CPU features runs, and the model's information, its
   * dispatches (llmc_model_get_dispatch_info) and its tokenizer work, so an
   * artifact for another machine (an android/cpu build on x86-64) can be
   * inspected or used to tokenize. llmc_context_create refuses such a model
   * with LLMC_ERR_UNSUPPORTED. */
  LLMC_OPEN_METADATA_ONLY = 1u << 1
};

/* Opens an artifact file: mmap'd read-only, weights used in place, nothing
 * copied except the native code payload (handed to the dynamic loader through
 * an anonymous memfd). Checks, in order: header (magic, version, sizes vs the
 * file size), flatbuffer checksum, FlatBuffers verifier, weights checksum,
 * model config sanity, weight table bounds, target architecture and CPU
 * features, then loads the payload. */
LLMC_API llmc_status llmc_model_open(const char *path, uint32_t flags,
                                     llmc_model **out_model);

struct llmc_kernel_table; /* llmc_kernel_abi.h */

/* Options of llmc_model_open_with_params. Zero-initialize it, then set what
 * you need: later versions only add fields at the end. */
typedef struct llmc_open_params {
  uint32_t flags;        /* LLMC_OPEN_*; any other bit: LLMC_ERR_INVALID_ARGUMENT */
  /* GPU targets (OpenCL, Vulkan): an existing directory where the kernels
   * the driver compiled from the artifact's code are kept, keyed by code,
   * device and driver version, so the next open skips the compile. NULL: no
   * cache. The CPU target ignores it. */
  const char *cache_dir;
  /* The model's code linked into this program: the table that the function
   * of the header `llmc build --emit static-lib` (or shared-lib) wrote
   * returns, for an artifact built with it (its payload is "linked"). No
   * code is loaded at run time then (iOS allows none). NULL: the code
   * travels in the artifact. */
  const struct llmc_kernel_table *kernels;
  /* The artifact in memory instead of a file (path NULL), under
   * llmc_model_open_memory's rules; NULL: open `path`. */
  const void *data;
  size_t size;
} llmc_open_params;

/* llmc_model_open with options (path NULL: params->data); params must not
 * be NULL. */
LLMC_API llmc_status llmc_model_open_with_params(const char *path,
                                                 const llmc_open_params *params,
                                                 llmc_model **out_model);

/* Same as llmc_model_open, from an artifact already in memory. The caller keeps [data,
 * data+size) alive and unmodified until llmc_model_close. `data` must be
 * 64-byte aligned (so every weight is 64-byte aligned, as the generated code
 * assumes); page alignment is recommended. Otherwise LLMC_ERR_INVALID_ARGUMENT. */
LLMC_API llmc_status llmc_model_open_memory(const void *data, size_t size,
                                            uint32_t flags,
                                            llmc_model **out_model);

/* The GPU back ends (OpenCL, Vulkan) of the static runtime
 * (libllmc_runtime.a): a program carries only the CPU back end unless it
 * calls this once, which links the GPU ones in and lets llmc_model_open run
 * "opencl-c" and "spirv" artifacts. libllmc.so always has them; calling it
 * there does nothing. */
LLMC_API void llmc_enable_gpu(void);

/* Closes the model: unloads the code and unmaps the file, once its last
 * context is freed (contexts created before the close keep working). NULL
 * is OK; a model closed already gives LLMC_ERR_INVALID_ARGUMENT.
 *
 * The file stays mapped while the model is open: replace an artifact by
 * renaming a new file over it (as llmc build does), never by rewriting it
 * in place; a file truncated under an open model ends the process with
 * SIGBUS at the next read of a missing page. */
LLMC_API llmc_status llmc_model_close(llmc_model *model);

/* ---- Model information ---------------------------------------------------- */

#define LLMC_MAX_EOS_TOKENS 8

typedef struct llmc_model_info {
  /* ModelConfig */
  int32_t hidden_size;
  int32_t intermediate_size;
  int32_t num_layers;
  int32_t num_heads;
  int32_t num_kv_heads;
  int32_t head_dim;
  int32_t vocab_size;
  int32_t max_context;   /* compiled maximum context */
  int32_t prefill_chunk; /* compiled maximum tokens per kernel call */
  float rms_norm_eps;
  float rope_theta;
  const char *rope_scaling_type; /* "" when none */
  float rope_scaling_factor;
  float rope_low_freq_factor;
  float rope_high_freq_factor;
  int32_t rope_original_max_position_embeddings;
  int32_t tie_word_embeddings; /* 0 / 1 */
  int32_t bos_token_id;        /* -1 when none */
  int32_t num_eos_tokens;      /* entries used in eos_token_ids (clamped) */
  int32_t eos_token_ids[LLMC_MAX_EOS_TOKENS];
  /* Memory plan */
  uint64_t arena_size;               /* bytes of scratch per context */
  uint64_t kv_cache_bytes_per_token; /* all layers, K and V */
  uint64_t kv_cache_bytes;           /* per context: per_token * max_context */
  uint64_t arena_size_unfused;       /* the plan's arena without fusion; 0: unknown */
  uint64_t weights_size;             /* bytes of the weights segment */
  uint64_t file_size;                /* bytes of the whole artifact */
  uint32_t num_weights;
  uint32_t num_dispatches;
  /* Manifest (strings are "" when absent) */
  uint32_t format_version;
  const char *compiler_version;
  const char *target;        /* preset, e.g. "host" */
  const char *target_triple; /* e.g. "x86_64-unknown-linux-gnu" */
  const char *cpu_features;
  const char *quantization;
  const char *created_by;
  /* What runs the code ("" for a model opened with LLMC_OPEN_METADATA_ONLY) */
  const char *hal;    /* "cpu", "opencl" */
  const char *device; /* "cpu", "OpenCL GPU: <device name>", ... */
  /* The format of the code that runs the model: "elf-shared-object" (in
   * the artifact), "linked" (in the program: llmc_open_params.kernels),
   * "opencl-c", "spirv", "msl". */
  const char *code_format;
} llmc_model_info;

LLMC_API llmc_status llmc_model_get_info(const llmc_model *model,
                                         llmc_model_info *out_info);

/* Dispatch `index` (< num_dispatches) of the compiled schedule, as a call
 * of n_tokens tokens at position pos would run it (for inspection). */
typedef struct llmc_dispatch_info {
  const char *kernel;    /* kernel function, e.g. "k_linear_0" */
  const char *label;     /* the llm op it computes: "linear", "attention"... */
  uint32_t kernel_index; /* into the payload's kernel table */
  uint32_t num_bindings, num_scalars;
  int64_t grid;          /* parallel iterations of that call */
  int32_t layer;         /* the model layer it belongs to; -1: none */
  /* Bytes that call reads and writes through the dispatch's bindings (the
   * compiler's count: each byte once, nothing cached; 0 if not recorded),
   * and of those, bytes of weights read. */
  uint64_t bytes_read, bytes_written, weight_bytes_read;
} llmc_dispatch_info;

LLMC_API llmc_status llmc_model_get_dispatch_info(const llmc_model *model,
                                                  uint32_t index, int64_t n_tokens,
                                                  int64_t pos,
                                                  llmc_dispatch_info *out_info);

/* The artifact's tokenizer (a view into the mapped file, valid until
 * llmc_model_close), for llmc_tokenize / llmc_detokenize of
 * llmc_tokenizer.h. LLMC_ERR_UNSUPPORTED when the artifact has none. */
struct llmc_tokenizer;
LLMC_API llmc_status llmc_model_get_tokenizer(const llmc_model *model,
                                              const struct llmc_tokenizer **out);

/* ---- Contexts --------------------------------------------------------------- */

/* Flags for llmc_context_params.flags. */
enum {
  /* Keep the logits of every position of the last kernel call (at most
   * prefill_chunk rows of vocab floats), e.g. for perplexity: prefill the
   * text one chunk at a time and read llmc_get_all_logits after each call.
   * Costs prefill_chunk * vocab * 4 bytes per context. */
  LLMC_CONTEXT_ALL_LOGITS = 1u << 0
};

typedef struct llmc_context_params {
  int32_t n_ctx;     /* max positions of this context; 0 = compiled max_context */
  uint32_t flags;    /* LLMC_CONTEXT_* */
  int32_t n_threads; /* CPU threads running the kernels, the caller's
                        included; 0 = all online cores */
  uint64_t kv_cache_max_bytes; /* cap on the KV cache's memory; 0 = none. The
                                  context then holds at most
                                  cap / kv_cache_bytes_per_token positions
                                  (LLMC_ERR_CONTEXT_FULL past them) */
} llmc_context_params;

/* Creates a context: reserves the KV cache (address space for the compiled
 * max_context, since the code's strides are baked in; on the CPU its pages
 * are committed as positions are written, so memory follows the positions
 * used, never more than n_ctx or the cap allow), the arena (arena_size,
 * 64-byte aligned) and the logits buffer, once. params may be NULL
 * (defaults). n_ctx > max_context or < 0, or a cap below one position,
 * gives LLMC_ERR_INVALID_ARGUMENT. */
LLMC_API llmc_status llmc_context_create(llmc_model *model,
                                         const llmc_context_params *params,
                                         llmc_context **out_ctx);

/* Positions the context holds: n_ctx, or fewer under kv_cache_max_bytes. */
LLMC_API llmc_status llmc_context_get_n_ctx(const llmc_context *ctx,
                                            int64_t *out_n_ctx);

/* Threads the context's kernels run on (n_threads, or the cores found). */
LLMC_API llmc_status llmc_context_get_threads(const llmc_context *ctx,
                                              int32_t *out_threads);

/* Frees the context. NULL is OK; a context freed already gives
 * LLMC_ERR_INVALID_ARGUMENT. */
LLMC_API llmc_status llmc_context_free(llmc_context *ctx);

/* Runs tokens[0..n_tokens) at the current position, split into kernel calls
 * of at most prefill_chunk tokens; the position advances by n_tokens.
 * Every token must satisfy 0 <= id < vocab_size (LLMC_ERR_INVALID_ARGUMENT)
 * and position + n_tokens <= n_ctx (LLMC_ERR_CONTEXT_FULL); both are checked
 * before anything runs, so a failed call leaves the context unchanged. */
LLMC_API llmc_status llmc_prefill(llmc_context *ctx, const int32_t *tokens,
                                  int64_t n_tokens);

/* Runs one token (same as llmc_prefill with n_tokens = 1). */
LLMC_API llmc_status llmc_decode(llmc_context *ctx, int32_t token);

/* Logits of the last position run (vocab_size floats). LLMC_ERR_INVALID_STATE
 * if nothing has run since creation, reset or rewind. */
LLMC_API llmc_status llmc_get_logits(const llmc_context *ctx,
                                     const float **out_logits);

/* With LLMC_CONTEXT_ALL_LOGITS: the logits of every position of the last
 * kernel call, row-major [*out_rows][vocab_size]; row i belongs to position
 * *out_first_pos + i. Without the flag: LLMC_ERR_INVALID_STATE. */
LLMC_API llmc_status llmc_get_all_logits(const llmc_context *ctx,
                                         const float **out_logits,
                                         int64_t *out_rows,
                                         int64_t *out_first_pos);

/* Current position (number of tokens in the KV cache). */
LLMC_API llmc_status llmc_get_position(const llmc_context *ctx,
                                       int64_t *out_pos);

/* Forgets positions >= pos (0 <= pos <= current position); the next token
 * goes at `pos`. Logits become unavailable until the next run. */
LLMC_API llmc_status llmc_rewind(llmc_context *ctx, int64_t pos);

/* Same as llmc_rewind(ctx, 0). */
LLMC_API llmc_status llmc_reset(llmc_context *ctx);

#ifdef __cplusplus
}
#endif

#endif /* LLMC_H */
