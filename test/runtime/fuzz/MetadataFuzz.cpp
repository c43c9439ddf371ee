// libFuzzer target for the runtime's metadata reader (runtime/src/llmc_fb.c):
// its verdict must equal FlatBuffers' own verifier's, and on a buffer both
// accept every reader must stay inside the buffer (ASan watches). Seed it
// with the FlatBuffer of any artifact (bytes [flatbuffer_offset, +size) of
// a .llmc file: `llmc inspect --json` prints both).
#include "runtime/include/llmc_format.h"
#include "runtime/schema/llmc_generated.h"
#include "runtime/src/llmc_internal.h"

#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A 16-byte aligned copy: alignment is checked relative to the buffer.
  std::vector<uint64_t> storage(size / 8 + 2);
  uint8_t *buf = reinterpret_cast<uint8_t *>(storage.data());
  if (size) std::memcpy(buf, data, size);
  flatbuffers::Verifier::Options opts;
  opts.max_depth = 16;
  opts.max_tables = 1u << 22;
  flatbuffers::Verifier verifier(buf, size, opts);
  bool reference = size < FLATBUFFERS_MAX_BUFFER_SIZE && llmc::fb::VerifyModelBuffer(verifier);
  llmc_fb_model m;
  bool ours = llmc_fb_read(buf, size, &m) == 0;
  if (ours != reference) std::abort();
  if (!ours) return 0;
  volatile uint64_t sink = m.tokenizer_size + std::strlen(m.info.target) +
                           std::strlen(m.info.rope_scaling_type);
  for (uint32_t i = 0; i < m.num_payloads; ++i) {
    llmc_fb_payload p;
    llmc_fb_payload_at(&m, i, &p);
    sink += std::strlen(p.format) + std::strlen(p.target) + p.size;
    for (uint32_t k = 0; k < p.num_kernels; ++k) {
      llmc_fb_kernel kd;
      llmc_fb_kernel_at(&m, i, k, &kd);
      sink += std::strlen(kd.entry) + std::strlen(kd.name);
      for (uint32_t j = 0; j < kd.num_bindings; ++j) sink += llmc_rd64(kd.binding_sizes_le + 8 * j);
    }
  }
  for (uint32_t i = 0; i < m.info.num_dispatches; ++i) {
    llmc_fb_dispatch d;
    llmc_fb_dispatch_at(&m, i, &d);
    sink += std::strlen(d.kernel) + std::strlen(d.label);
    // Every byte of every array the reader hands out.
    for (uint32_t j = 0; j < 24 * d.num_operands; ++j) sink += d.operands[j];
    for (uint32_t j = 0; j < 32 * d.num_scalars; ++j) sink += d.scalars[j];
    for (uint32_t j = 0; j < 32 * d.num_reads; ++j) sink += d.reads[j];
    for (uint32_t j = 0; j < 32 * d.num_writes; ++j) sink += d.writes[j];
    if (d.grid)
      for (uint32_t j = 0; j < 32; ++j) sink += d.grid[j];
  }
  for (uint32_t i = 0; i < m.info.num_weights; ++i) {
    llmc_fb_weight w;
    llmc_fb_weight_at(&m, i, &w);
    sink += std::strlen(w.name) + w.offset;
    for (uint32_t d = 0; d < w.rank; ++d) sink += llmc_rd64(w.shape_le + 8 * d);
  }
  for (uint32_t i = 0; i < m.num_eos; ++i) sink += llmc_rd32(m.eos_le + 4 * i);
  (void)sink;
  return 0;
}
