/* A C program that links the runtime statically and no libm at all: it
 * opens an artifact, prefills token ids and decodes greedily, printing the
 * generated ids as `llmc run --tokens` does. Every payload must carry its
 * own math (test/e2e/embedded-c.test runs it on each fixture).
 *
 * Compiled with -DLLMC_MODEL_TABLE=llmc_model_NAME and the header of `llmc
 * build --emit static-lib` (-include NAME.h), it runs the model's kernels
 * linked into the program instead: no code is loaded at run time.
 *
 * With -DLLMC_EMBEDDED=llmc_model_NAME_artifact (--embed-weights), the
 * artifact comes from the library and the first argument is ignored.
 *
 * Usage: llmc-nolibm-run model.llmc 1,17,42 max_new */
#include "runtime/include/llmc.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s model.llmc ids max_new\n", argv[0]);
    return 2;
  }
  int32_t ids[256];
  int n = 0;
  for (char *p = argv[2]; *p && n < 256;) {
    ids[n++] = (int32_t)strtol(p, &p, 10);
    if (*p == ',') ++p;
  }
  long max_new = strtol(argv[3], NULL, 10);
  llmc_model *m = NULL;
  llmc_context *c = NULL;
  llmc_model_info info;
  llmc_open_params params = {0};
#ifdef LLMC_MODEL_TABLE
  params.kernels = LLMC_MODEL_TABLE();
#endif
#ifdef LLMC_EMBEDDED /* --embed-weights: the artifact is in the library */
  params.data = LLMC_EMBEDDED(&params.size);
  const char *path = NULL;
#else
  const char *path = argv[1];
#endif
  if (llmc_model_open_with_params(path, &params, &m) || llmc_model_get_info(m, &info) ||
      llmc_context_create(m, NULL, &c) || llmc_prefill(c, ids, n)) {
    fprintf(stderr, "llmc-nolibm-run: %s\n", llmc_last_error());
    return 1;
  }
  for (long i = 0; i < max_new; ++i) {
    const float *logits;
    if (llmc_get_logits(c, &logits)) return 1;
    int32_t best = 0;
    for (int32_t v = 1; v < info.vocab_size; ++v)
      if (logits[v] > logits[best]) best = v;
    printf(i ? ",%d" : "%d", (int)best);
    if (i + 1 < max_new && llmc_decode(c, best)) {
      fprintf(stderr, "llmc-nolibm-run: %s\n", llmc_last_error());
      return 1;
    }
  }
  printf("\n");
  llmc_context_free(c);
  llmc_model_close(m);
  return 0;
}
