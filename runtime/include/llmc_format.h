/* llmc artifact container format: the fixed file header and the checksum.
 *
 * Shared by the runtime (C) and the packager (C++). Everything is static
 * inline and depends only on <stdint.h>/<string.h>.
 *
 * File layout (all integers little-endian):
 *
 *   offset 0    header, LLMC_HEADER_SIZE (64) bytes:
 *                 0  char[8] magic "LLMCART\0"
 *                 8  u32 format_version (LLMC_FORMAT_VERSION)
 *                12  u32 header_size (64)
 *                16  u64 flatbuffer_offset (16-aligned, >= header_size; 64 today)
 *                24  u64 flatbuffer_size
 *                32  u64 weights_offset (4096-aligned, >= end of flatbuffer)
 *                40  u64 weights_size (file size == weights_offset + weights_size)
 *                48  u64 flatbuffer_checksum (llmc_hash64 of the flatbuffer bytes)
 *                56  u64 weights_checksum   (llmc_hash64 of the weights segment)
 *   flatbuffer  schema runtime/schema/llmc.fbs, file_identifier "LLMC"
 *   zero padding up to weights_offset
 *   weights     each weight 64-byte aligned (zero padding in between)
 */
#ifndef LLMC_FORMAT_H
#define LLMC_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLMC_MAGIC "LLMCART\0"
#define LLMC_MAGIC_SIZE 8
/* 2: kernels + schedule as data (version 1 payloads exported llmc_forward);
 * 3: every payload ends with the llmc_code_record of its code. */
#define LLMC_FORMAT_VERSION 3u
#define LLMC_HEADER_SIZE 64u
#define LLMC_FLATBUFFER_ALIGN 16u
#define LLMC_WEIGHTS_FILE_ALIGN 4096u
#define LLMC_WEIGHT_ALIGN 64u

typedef struct llmc_file_header {
  char magic[LLMC_MAGIC_SIZE];
  uint32_t format_version;
  uint32_t header_size;
  uint64_t flatbuffer_offset;
  uint64_t flatbuffer_size;
  uint64_t weights_offset;
  uint64_t weights_size;
  uint64_t flatbuffer_checksum;
  uint64_t weights_checksum;
} llmc_file_header;

static inline uint32_t llmc_rd32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}
static inline uint64_t llmc_rd64(const uint8_t *p) {
  return (uint64_t)llmc_rd32(p) | ((uint64_t)llmc_rd32(p + 4) << 32);
}
static inline void llmc_wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void llmc_wr64(uint8_t *p, uint64_t v) {
  llmc_wr32(p, (uint32_t)v);
  llmc_wr32(p + 4, (uint32_t)(v >> 32));
}

/* Decodes the 64 header bytes (no validation beyond decoding). */
static inline void llmc_header_decode(const uint8_t *p, llmc_file_header *h) {
  memcpy(h->magic, p, LLMC_MAGIC_SIZE);
  h->format_version = llmc_rd32(p + 8);
  h->header_size = llmc_rd32(p + 12);
  h->flatbuffer_offset = llmc_rd64(p + 16);
  h->flatbuffer_size = llmc_rd64(p + 24);
  h->weights_offset = llmc_rd64(p + 32);
  h->weights_size = llmc_rd64(p + 40);
  h->flatbuffer_checksum = llmc_rd64(p + 48);
  h->weights_checksum = llmc_rd64(p + 56);
}

static inline void llmc_header_encode(const llmc_file_header *h, uint8_t *p) {
  memcpy(p, h->magic, LLMC_MAGIC_SIZE);
  llmc_wr32(p + 8, h->format_version);
  llmc_wr32(p + 12, h->header_size);
  llmc_wr64(p + 16, h->flatbuffer_offset);
  llmc_wr64(p + 24, h->flatbuffer_size);
  llmc_wr64(p + 32, h->weights_offset);
  llmc_wr64(p + 40, h->weights_size);
  llmc_wr64(p + 48, h->flatbuffer_checksum);
  llmc_wr64(p + 56, h->weights_checksum);
}

/* ---- Checksum: XXH64 with seed 0 (the published xxHash64 algorithm,
 * implemented here), streaming. ~Several GB/s; a one-shot and an
 * incremental interface give the same result. */

#define LLMC_H_P1 0x9E3779B185EBCA87ull
#define LLMC_H_P2 0xC2B2AE3D27D4EB4Full
#define LLMC_H_P3 0x165667B19E3779F9ull
#define LLMC_H_P4 0x85EBCA77C2B2AE63ull
#define LLMC_H_P5 0x27D4EB2F165667C5ull

typedef struct llmc_hash_state {
  uint64_t v[4];
  uint64_t total;
  uint8_t buf[32];
  uint32_t buffered;
} llmc_hash_state;

static inline uint64_t llmc_rotl64(uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}
static inline uint64_t llmc_h_round(uint64_t acc, uint64_t in) {
  acc += in * LLMC_H_P2;
  acc = llmc_rotl64(acc, 31);
  return acc * LLMC_H_P1;
}
static inline uint64_t llmc_h_merge(uint64_t acc, uint64_t v) {
  acc ^= llmc_h_round(0, v);
  return acc * LLMC_H_P1 + LLMC_H_P4;
}
static inline uint64_t llmc_h_load64(const uint8_t *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
#else
  return llmc_rd64(p);
#endif
}

static inline void llmc_hash_init(llmc_hash_state *s) {
  s->v[0] = LLMC_H_P1 + LLMC_H_P2;
  s->v[1] = LLMC_H_P2;
  s->v[2] = 0;
  s->v[3] = 0 - LLMC_H_P1;
  s->total = 0;
  s->buffered = 0;
}

static inline void llmc_hash_update(llmc_hash_state *s, const void *data,
                                    size_t len) {
  const uint8_t *p = (const uint8_t *)data;
  s->total += len;
  if (s->buffered) {
    size_t take = 32 - s->buffered;
    if (take > len) take = len;
    memcpy(s->buf + s->buffered, p, take);
    s->buffered += (uint32_t)take;
    p += take;
    len -= take;
    if (s->buffered < 32) return;
    for (int i = 0; i < 4; ++i)
      s->v[i] = llmc_h_round(s->v[i], llmc_h_load64(s->buf + 8 * i));
    s->buffered = 0;
  }
  {
    uint64_t v0 = s->v[0], v1 = s->v[1], v2 = s->v[2], v3 = s->v[3];
    while (len >= 32) {
      v0 = llmc_h_round(v0, llmc_h_load64(p));
      v1 = llmc_h_round(v1, llmc_h_load64(p + 8));
      v2 = llmc_h_round(v2, llmc_h_load64(p + 16));
      v3 = llmc_h_round(v3, llmc_h_load64(p + 24));
      p += 32;
      len -= 32;
    }
    s->v[0] = v0; s->v[1] = v1; s->v[2] = v2; s->v[3] = v3;
  }
  if (len) {
    memcpy(s->buf, p, len);
    s->buffered = (uint32_t)len;
  }
}

/* XXH64's last steps: the remaining len < 32 bytes at p, then the
 * avalanche. */
static inline uint64_t llmc_h_tail(uint64_t h, const uint8_t *p, size_t len) {
  for (; len >= 8; len -= 8, p += 8) {
    h ^= llmc_h_round(0, llmc_h_load64(p));
    h = llmc_rotl64(h, 27) * LLMC_H_P1 + LLMC_H_P4;
  }
  if (len >= 4) {
    h ^= (uint64_t)llmc_rd32(p) * LLMC_H_P1;
    h = llmc_rotl64(h, 23) * LLMC_H_P2 + LLMC_H_P3;
    p += 4;
    len -= 4;
  }
  for (; len; --len, ++p) {
    h ^= (*p) * LLMC_H_P5;
    h = llmc_rotl64(h, 11) * LLMC_H_P1;
  }
  h ^= h >> 33;
  h *= LLMC_H_P2;
  h ^= h >> 29;
  h *= LLMC_H_P3;
  h ^= h >> 32;
  return h;
}

static inline uint64_t llmc_h_converge(const uint64_t v[4]) {
  uint64_t h = llmc_rotl64(v[0], 1) + llmc_rotl64(v[1], 7) + llmc_rotl64(v[2], 12) +
               llmc_rotl64(v[3], 18);
  for (int i = 0; i < 4; ++i) h = llmc_h_merge(h, v[i]);
  return h;
}

static inline uint64_t llmc_hash_final(const llmc_hash_state *s) {
  uint64_t h = s->total >= 32 ? llmc_h_converge(s->v) : LLMC_H_P5; /* seed 0 */
  return llmc_h_tail(h + s->total, s->buf, s->buffered);
}

/* One step of llmc_code_record's digest (llmc_kernel_abi.h): for a fixed
 * v, a bijection of h (xor, rotation, multiplication by an odd constant). */
static inline uint64_t llmc_code_mix(uint64_t h, uint64_t v) {
  return llmc_rotl64(h ^ (v * LLMC_H_P2), 29) * LLMC_H_P1;
}

/* One-shot XXH64 (seed 0) of data[0, len): what the runtime checks, in less
 * code than the streaming form above. */
static inline uint64_t llmc_hash64(const void *data, size_t len) {
  const uint8_t *p = (const uint8_t *)data;
  uint64_t h = LLMC_H_P5, n = len;
  if (len >= 32) {
    uint64_t v[4] = {LLMC_H_P1 + LLMC_H_P2, LLMC_H_P2, 0, 0 - LLMC_H_P1};
    uint64_t v0 = v[0], v1 = v[1], v2 = v[2], v3 = v[3];
    for (; len >= 32; len -= 32, p += 32) {
      v0 = llmc_h_round(v0, llmc_h_load64(p));
      v1 = llmc_h_round(v1, llmc_h_load64(p + 8));
      v2 = llmc_h_round(v2, llmc_h_load64(p + 16));
      v3 = llmc_h_round(v3, llmc_h_load64(p + 24));
    }
    v[0] = v0, v[1] = v1, v[2] = v2, v[3] = v3;
    h = llmc_h_converge(v);
  }
  return llmc_h_tail(h + n, p, len);
}

#ifdef __cplusplus
}
#endif

#endif /* LLMC_FORMAT_H */
