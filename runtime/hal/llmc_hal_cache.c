/* What the GPU HALs share for their driver caches (compiled OpenCL programs,
 * Vulkan pipeline caches): a key, reading a file, writing one atomically.
 * A cache is best effort: any failure here means "not cached", never an
 * error for the caller. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/hal/llmc_hal.h"

uint64_t llmc_hal_fnv1a(uint64_t h, const void *data, size_t n) {
  const uint8_t *p = data;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

unsigned char *llmc_hal_read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *buf = NULL;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n > 0 && n < (1l << 30) && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n))) {
      if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
      } else {
        *size = (size_t)n;
      }
    }
  }
  fclose(f);
  return buf;
}

void llmc_hal_write_file(const char *path, const void *data, size_t size) {
  /* Through a temporary file and rename, so a reader never sees half a
   * file; "x" so a file planted under the temporary name is not followed. */
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  FILE *f = fopen(tmp, "wbx");
  if (!f) return;
  int ok = fwrite(data, 1, size, f) == size;
  ok &= fclose(f) == 0;
  if (!ok || rename(tmp, path) != 0) unlink(tmp);
}
