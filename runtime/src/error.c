/* llmc runtime: the last-error text and the status names. Its own file so
 * that every part of the runtime (core, HALs, tokenizer, sampler) reports a
 * failure the same way, whichever of them a program links. */
#define LLMC_ERROR_C /* defines llmc_hal_fail itself */
#include "runtime/include/llmc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/hal/llmc_hal.h"

_Thread_local const char *llmc_fail_name;

#ifdef LLMC_NO_ERROR_TEXT
static _Thread_local llmc_status g_status;

LLMC_API const char *llmc_last_error(void) {
  return g_status ? llmc_status_string(g_status) : "";
}

llmc_status llmc_hal_fail_status(llmc_status st) { return g_status = st; }

/* For code compiled without LLMC_NO_ERROR_TEXT linked with this runtime. */
llmc_status llmc_hal_fail(llmc_status st, const char *fmt, ...) {
  (void)fmt;
  return g_status = st;
}
#else
static _Thread_local char g_error[320];

LLMC_API const char *llmc_last_error(void) { return g_error; }

llmc_status llmc_hal_fail(llmc_status st, const char *fmt, ...) {
  const char *name = llmc_fail_name;
  int n = name ? snprintf(g_error, 192, "%s: ", name) : 0;
  n = n > 191 ? 191 : n; /* a name longer than that is cut */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_error + n, sizeof g_error - (size_t)n, fmt, ap);
  va_end(ap);
  return st;
}
#endif

LLMC_API const char *llmc_status_string(llmc_status s) {
  /* One string, no table of pointers to relocate. */
  const char *p = "ok\0invalid argument\0I/O error\0bad artifact format\0"
                  "unsupported format version\0checksum mismatch\0"
                  "artifact built for another target\0CPU lacks a required feature\0"
                  "out of memory\0context full\0native code payload failed to load\0"
                  "invalid state\0unsupported on this platform\0"
                  "NaN or infinite value\0buffer too small\0unknown status";
  for (unsigned i = (unsigned)s > 15 ? 15 : (unsigned)s; i; --i) p += strlen(p) + 1;
  return p;
}
