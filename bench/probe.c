// The machine's limits, for bench/peer_llamacpp.py: read bandwidth with N
// threads (each sums its share of a 1 GB buffer) and
// the peak rate of the integer dot-product instruction the CPU has
// (AVX-512 VNNI vpdpbusd, else AVX2 vpmaddubsw + vpmaddwd), in int8
// multiply-adds per second, N threads.
//
//   cc -O2 -march=native -pthread probe.c -o probe && ./probe THREADS
//
// Prints: "bandwidth_gbs X" (4 KB pages), "bandwidth_thp_gbs X" (huge
// pages) and "int8_gmacs Y isa NAME".
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
  const uint64_t *p;
  size_t n;
  uint64_t sum;
  long iters;
  int64_t out;
} Work;

static void *readPart(void *arg) {
  Work *w = arg;
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i + 4 <= w->n; i += 4) {
    s0 += w->p[i];
    s1 += w->p[i + 1];
    s2 += w->p[i + 2];
    s3 += w->p[i + 3];
  }
  w->sum = s0 + s1 + s2 + s3;
  return NULL;
}

static void *dotLoop(void *arg) {
  Work *w = arg;
#if defined(__AVX512VNNI__)
  __m512i a[8], x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(5);
  for (int i = 0; i < 8; ++i)
    a[i] = _mm512_setzero_si512();
  for (long it = 0; it < w->iters; ++it)
    for (int i = 0; i < 8; ++i)
      a[i] = _mm512_dpbusd_epi32(a[i], x, y);
  for (int i = 1; i < 8; ++i)
    a[0] = _mm512_add_epi32(a[0], a[i]);
  w->out = _mm512_reduce_add_epi32(a[0]);
#elif defined(__AVX2__)
  __m256i a[8], x = _mm256_set1_epi8(3), y = _mm256_set1_epi8(5),
                one = _mm256_set1_epi16(1);
  for (int i = 0; i < 8; ++i)
    a[i] = _mm256_setzero_si256();
  for (long it = 0; it < w->iters; ++it)
    for (int i = 0; i < 8; ++i)
      a[i] = _mm256_add_epi32(a[i], _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), one));
  for (int i = 1; i < 8; ++i)
    a[0] = _mm256_add_epi32(a[0], a[i]);
  int32_t lanes[8];
  _mm256_storeu_si256((__m256i *)lanes, a[0]);
  w->out = lanes[0];
#endif
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 256)
    return 2;
  size_t bytes = (size_t)1 << 30;
  pthread_t tid[256];
  Work w[256];
  // Ordinary 4 KB pages, then transparent huge pages (madvise): a VM's
  // nested page walks can make the first much slower; an mmap'd file gets
  // large folios where the kernel has them, so the truth is in between.
  for (int huge = 0; huge < 2; ++huge) {
  uint64_t *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buf == MAP_FAILED)
    return 1;
  if (huge)
    madvise(buf, bytes, MADV_HUGEPAGE);
  memset(buf, 1, bytes); // fault the pages in before timing
  double best = 0;
  for (int round = 0; round < 5; ++round) {
    size_t per = bytes / 8 / threads;
    double t0 = now();
    for (int i = 0; i < threads; ++i) {
      w[i].p = buf + i * per;
      w[i].n = per;
      pthread_create(&tid[i], NULL, readPart, &w[i]);
    }
    uint64_t total = 0;
    for (int i = 0; i < threads; ++i) {
      pthread_join(tid[i], NULL);
      total += w[i].sum;
    }
    double gbs = bytes / (now() - t0) / 1e9;
    if (gbs > best)
      best = gbs;
    if (total == 42)
      puts("");
  }
  printf(huge ? "bandwidth_thp_gbs %.1f\n" : "bandwidth_gbs %.1f\n", best);
  munmap(buf, bytes);
  }

#if defined(__AVX512VNNI__) || defined(__AVX2__)
#if defined(__AVX512VNNI__)
  const char *isa = "avx512vnni";
  const double macsPerOp = 64;
#else
  const char *isa = "avx2";
  const double macsPerOp = 32;
#endif
  long iters = 20000000;
  double t0 = now();
  for (int i = 0; i < threads; ++i) {
    w[i].iters = iters;
    pthread_create(&tid[i], NULL, dotLoop, &w[i]);
  }
  for (int i = 0; i < threads; ++i)
    pthread_join(tid[i], NULL);
  double secs = now() - t0;
  printf("int8_gmacs %.0f isa %s\n", threads * iters * 8.0 * macsPerOp / secs / 1e9,
         isa);
#else
  printf("int8_gmacs 0 isa none\n");
#endif
  return 0;
}
