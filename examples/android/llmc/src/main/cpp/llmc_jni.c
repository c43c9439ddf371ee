/* JNI bridge of org.llmc.Llmc (../kotlin/org/llmc/Llmc.kt) over the llmc C
 * API: open a model, generate from a prompt with a callback per piece of
 * text, close. Text crosses as UTF-8 bytes (Kotlin encodes and decodes), so
 * no JNI "modified UTF-8" is involved.
 *
 * Built with -DLLMC_MODEL_TABLE=llmc_model_NAME and the model's static
 * library (`llmc build --target android/cpu --emit static-lib`), the kernels
 * are linked into libllmc_jni.so; without it, the artifact carries its code
 * (loaded from memory by the runtime). -DLLMC_JNI_GPU links the OpenCL and
 * Vulkan back ends too (for android/adreno740 or android/vulkan artifacts).
 * test/examples/android-jni.test builds it for the host (and runs it from a
 * JVM) and cross-compiles it for aarch64. */
#include <jni.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc.h"
#include "llmc_sampler.h"
#include "llmc_tokenizer.h"

#ifdef LLMC_MODEL_TABLE
const struct llmc_kernel_table *LLMC_MODEL_TABLE(void);
#endif

typedef struct session {
  llmc_model *model;
  llmc_context *ctx;
  const llmc_tokenizer *tok;
  llmc_model_info info;
} session;

static void throw_error(JNIEnv *env, const char *what) {
  char msg[512];
  snprintf(msg, sizeof msg, "llmc: %s: %s", what, llmc_last_error());
  jclass c = (*env)->FindClass(env, "java/lang/IllegalStateException");
  if (c) (*env)->ThrowNew(env, c, msg);
}

static void close_session(session *s) {
  if (!s) return;
  llmc_context_free(s->ctx);
  llmc_model_close(s->model);
  free(s);
}

JNIEXPORT jlong JNICALL Java_org_llmc_Llmc_nativeOpen(JNIEnv *env, jclass cls, jstring jpath,
                                                      jint threads) {
  (void)cls;
#ifdef LLMC_JNI_GPU
  llmc_enable_gpu();
#endif
  const char *path = (*env)->GetStringUTFChars(env, jpath, NULL); /* a file path */
  if (!path) return 0;
  session *s = calloc(1, sizeof *s);
  llmc_open_params params = {0};
#ifdef LLMC_MODEL_TABLE
  params.kernels = LLMC_MODEL_TABLE();
#endif
  llmc_context_params cp = {0, 0, threads, 0};
  const char *failed = !s                                              ? "out of memory"
                       : llmc_model_open_with_params(path, &params, &s->model) ? "open"
                       : llmc_model_get_tokenizer(s->model, &s->tok)   ? "tokenizer"
                       : llmc_model_get_info(s->model, &s->info)       ? "info"
                       : llmc_context_create(s->model, &cp, &s->ctx)   ? "context"
                                                                       : NULL;
  if (failed) throw_error(env, failed);
  (*env)->ReleaseStringUTFChars(env, jpath, path);
  if (failed) {
    close_session(s);
    return 0;
  }
  return (jlong)(intptr_t)s;
}

/* Generates up to max_new tokens after the prompt (UTF-8 bytes), from an
 * empty context; calls listener.onText(byte[]) with each complete piece of
 * UTF-8 until it returns false or the model ends the text. Returns the
 * number of tokens generated. */
JNIEXPORT jint JNICALL Java_org_llmc_Llmc_nativeGenerate(JNIEnv *env, jclass cls, jlong handle,
                                                         jbyteArray jprompt, jint max_new,
                                                         jfloat temperature, jobject listener) {
  (void)cls;
  session *s = (session *)(intptr_t)handle;
  jmethodID on_text = (*env)->GetMethodID(env, (*env)->GetObjectClass(env, listener),
                                          "onText", "([B)Z");
  if (!s || !on_text) return -1;
  jsize len = (*env)->GetArrayLength(env, jprompt);
  jbyte *prompt = (*env)->GetByteArrayElements(env, jprompt, NULL);
  int32_t *ids = malloc(sizeof *ids * ((size_t)len + 2));
  size_t n = 0;
  llmc_status tokenized = ids ? llmc_tokenize(s->tok, (const char *)prompt, (size_t)len, 0, 1,
                                              ids, (size_t)len + 2, &n)
                              : LLMC_ERR_OUT_OF_MEMORY;
  (*env)->ReleaseByteArrayElements(env, jprompt, prompt, JNI_ABORT);
  llmc_sampler_params sp = llmc_sampler_default_params();
  sp.temperature = temperature;
  llmc_sampler sampler;
  llmc_sampler_candidate *scratch = malloc(sizeof *scratch * (size_t)s->info.vocab_size);
  size_t cap = LLMC_DETOK_STREAM_BOUND(llmc_tokenizer_max_token_bytes(s->tok)), out_len;
  char *text = malloc(cap);
  llmc_detok_stream stream = {{0}, 0};
  jint made = 0;
  const char *failed = !ids || !scratch || !text ? "out of memory"
                       : tokenized != LLMC_OK    ? "tokenize"
                       : llmc_reset(s->ctx) || llmc_prefill(s->ctx, ids, n) ? "prefill"
                       : llmc_sampler_init(&sampler, &sp) ? "sampler"
                                                          : NULL;
  while (!failed && made < max_new) {
    const float *logits;
    if (llmc_get_logits(s->ctx, &logits)) {
      failed = "logits";
      break;
    }
    int32_t next;
    if (llmc_sampler_sample(&sampler, logits, s->info.vocab_size, NULL, 0, scratch, &next)) {
      failed = "sample";
      break;
    }
    if (next == llmc_tokenizer_eos(s->tok) || next == llmc_tokenizer_eot(s->tok))
      break;
    ++made;
    jboolean more = JNI_TRUE;
    if (llmc_detok_stream_push(s->tok, &stream, next, text, cap, &out_len) == 0 && out_len) {
      jbyteArray piece = (*env)->NewByteArray(env, (jsize)out_len);
      (*env)->SetByteArrayRegion(env, piece, 0, (jsize)out_len, (const jbyte *)text);
      more = (*env)->CallBooleanMethod(env, listener, on_text, piece);
      (*env)->DeleteLocalRef(env, piece);
      if ((*env)->ExceptionCheck(env)) break;
    }
    if (!more || made == max_new) break;
    if (llmc_decode(s->ctx, next)) break; /* the context is full: the text ends here */
  }
  free(ids);
  free(scratch);
  free(text);
  if (failed) {
    throw_error(env, failed);
    return -1;
  }
  return made;
}

JNIEXPORT void JNICALL Java_org_llmc_Llmc_nativeClose(JNIEnv *env, jclass cls, jlong handle) {
  (void)env;
  (void)cls;
  close_session((session *)(intptr_t)handle);
}
