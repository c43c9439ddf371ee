/* A program with a Llama 3 model inside it: the model's kernels are linked
 * in (`llmc build --emit static-lib -o libkjv.a` wrote them and kjv.h), the
 * runtime is the static libllmc_runtime.a, and the weights are kjv.llmc
 * beside the program. Nothing is loaded at run time: this is how an iOS app
 * embeds a model.
 *
 *   ./embed-c kjv.llmc "And the LORD said unto Moses" [max_new]
 *
 * Streams the continuation to stdout (greedy; set LLMC_TEMP=0.8 to sample). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kjv.h" /* llmc_model_kjv(): the kernel table of the linked code */
#include "llmc.h"
#include "llmc_sampler.h"
#include "llmc_tokenizer.h"

static int fail(const char *what) {
  fprintf(stderr, "embed-c: %s: %s\n", what, llmc_last_error());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s model.llmc \"prompt\" [max_new]\n", argv[0]);
    return 2;
  }
  long max_new = argc > 3 ? strtol(argv[3], NULL, 10) : 48;

  /* Open the weights with the code that is in this program. */
  llmc_open_params params = {0};
  params.kernels = llmc_model_kjv();
  llmc_model *model = NULL;
  if (llmc_model_open_with_params(argv[1], &params, &model)) return fail(argv[1]);
  const llmc_tokenizer *tok = NULL;
  if (llmc_model_get_tokenizer(model, &tok)) return fail("tokenizer");
  llmc_model_info info;
  llmc_model_get_info(model, &info);
  llmc_context *ctx = NULL;
  if (llmc_context_create(model, NULL, &ctx)) return fail("context");

  /* The prompt, with the beginning-of-text token; text is text (special
   * tokens typed by a user are not parsed). */
  int32_t ids[512];
  size_t n = 0;
  if (llmc_tokenize(tok, argv[2], strlen(argv[2]), 0, 1, ids, 512, &n)) return fail("tokenize");
  if (llmc_prefill(ctx, ids, n)) return fail("prefill");

  llmc_sampler_params sp = llmc_sampler_default_params();
  const char *temp = getenv("LLMC_TEMP");
  sp.temperature = temp ? (float)atof(temp) : 0.0f;
  sp.seed = 7;
  llmc_sampler sampler;
  llmc_sampler_candidate *scratch = malloc(sizeof *scratch * (size_t)info.vocab_size);
  if (!scratch || llmc_sampler_init(&sampler, &sp)) return fail("sampler");

  /* Decode, streaming whole UTF-8 characters as they complete. */
  printf("%s", argv[2]);
  llmc_detok_stream stream = {{0}, 0};
  size_t cap = LLMC_DETOK_STREAM_BOUND(llmc_tokenizer_max_token_bytes(tok)), len;
  char *text = malloc(cap);
  if (!text) return fail("out of memory");
  for (long i = 0; i < max_new; ++i) {
    const float *logits;
    if (llmc_get_logits(ctx, &logits)) return fail("logits");
    int32_t next;
    if (llmc_sampler_sample(&sampler, logits, info.vocab_size, NULL, 0, scratch, &next))
      return fail("sample");
    if (next == llmc_tokenizer_eos(tok) || next == llmc_tokenizer_eot(tok)) break;
    if (llmc_detok_stream_push(tok, &stream, next, text, cap, &len) == 0)
      fwrite(text, 1, len, stdout);
    fflush(stdout);
    if (llmc_decode(ctx, next)) {
      if (i + 1 < max_new) fprintf(stderr, "\nembed-c: %s\n", llmc_last_error());
      break;
    }
  }
  if (llmc_detok_stream_flush(&stream, text, cap, &len) == 0)
    fwrite(text, 1, len, stdout);
  printf("\n");
  free(text);
  free(scratch);
  llmc_context_free(ctx);
  llmc_model_close(model);
  return 0;
}
