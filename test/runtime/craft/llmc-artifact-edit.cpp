//===- llmc-artifact-edit.cpp - edits an artifact's metadata, as an attacker ===//
//
// Usage: llmc-artifact-edit IN.llmc OUT.llmc EDIT...
//
// Rewrites fields of the metadata in place (FlatBuffers' mutable API: the
// field must be stored in the file) and recomputes the header's checksums,
// so the result passes every integrity check and tests what the loader
// checks beyond them. An EDIT is PATH=VALUE, VALUE a (possibly negative)
// decimal integer; PATH is one of
//   arena_size  kv_cache_bytes_per_token
//   config.FIELD                      (hidden_size ... prefill_chunk, bos_token_id)
//   kernel.K.binding.J                (payload 0's kernel K, binding size J)
//   kernel.K.num_scalars
//   dispatch.I.operand.J.offset|size
//   dispatch.I.grid.c|n|p|r           (a Scalar's coefficients)
//   dispatch.I.scalar.S.c|n|p|r
//   weight.I.offset|size
//   payload.byte.OFFSET               (a byte of payload 0's code)
// Exit status 0 on success, 1 with a message naming the edit otherwise.
//===----------------------------------------------------------------------===//
#include "runtime/include/llmc_format.h"
#include "runtime/schema/llmc_generated.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace fb = llmc::fb;

namespace {

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);) out.push_back(part);
  return out;
}

bool setScalar(fb::Scalar *s, const std::string &which, int64_t v) {
  if (which == "c") return s->mutate_c(v), true;
  if (which == "n") return s->mutate_n_tokens(v), true;
  if (which == "p") return s->mutate_start_pos(v), true;
  if (which == "r") return s->mutate_logit_rows(v), true;
  return false;
}

bool setConfig(fb::ModelConfig *c, const std::string &f, int64_t v) {
  int32_t x = static_cast<int32_t>(v);
  if (f == "hidden_size") return c->mutate_hidden_size(x);
  if (f == "intermediate_size") return c->mutate_intermediate_size(x);
  if (f == "num_layers") return c->mutate_num_layers(x);
  if (f == "num_heads") return c->mutate_num_heads(x);
  if (f == "num_kv_heads") return c->mutate_num_kv_heads(x);
  if (f == "head_dim") return c->mutate_head_dim(x);
  if (f == "vocab_size") return c->mutate_vocab_size(x);
  if (f == "max_context") return c->mutate_max_context(x);
  if (f == "prefill_chunk") return c->mutate_prefill_chunk(x);
  if (f == "bos_token_id") return c->mutate_bos_token_id(x);
  return false;
}

// Applies one edit; false if the path is unknown, out of range or the field
// is not stored in the file.
bool apply(fb::Model *m, const std::string &path, int64_t v) {
  std::vector<std::string> p = split(path, '.');
  auto idx = [&](size_t i) { return std::strtoul(p[i].c_str(), nullptr, 10); };
  if (p.size() == 1 && p[0] == "arena_size") return m->mutate_arena_size(uint64_t(v));
  if (p.size() == 1 && p[0] == "kv_cache_bytes_per_token")
    return m->mutate_kv_cache_bytes_per_token(uint64_t(v));
  if (p.size() == 2 && p[0] == "config")
    return m->mutable_config() && setConfig(m->mutable_config(), p[1], v);
  if (p[0] == "kernel" && p.size() >= 3) {
    auto *pl = m->mutable_payloads();
    if (!pl || !pl->size()) return false;
    auto *ks = pl->GetMutableObject(0)->mutable_kernels();
    if (!ks || idx(1) >= ks->size()) return false;
    fb::Kernel *k = ks->GetMutableObject(idx(1));
    if (p.size() == 3 && p[2] == "num_scalars") return k->mutate_num_scalars(uint32_t(v));
    if (p.size() == 4 && p[2] == "binding") {
      auto *b = k->mutable_binding_sizes();
      return b && idx(3) < b->size() && (b->Mutate(idx(3), uint64_t(v)), true);
    }
    return false;
  }
  if (p[0] == "dispatch" && p.size() >= 4) {
    auto *s = m->mutable_schedule();
    if (!s || idx(1) >= s->size()) return false;
    fb::Dispatch *d = s->GetMutableObject(idx(1));
    if (p[2] == "grid" && p.size() == 4)
      return d->mutable_grid() && setScalar(d->mutable_grid(), p[3], v);
    if (p[2] == "scalar" && p.size() == 5) {
      auto *sc = d->mutable_scalars();
      return sc && idx(3) < sc->size() &&
             setScalar(sc->GetMutableObject(idx(3)), p[4], v);
    }
    if (p[2] == "operand" && p.size() == 5) {
      auto *ops = d->mutable_operands();
      if (!ops || idx(3) >= ops->size()) return false;
      fb::BufferRef *r = ops->GetMutableObject(idx(3));
      if (p[4] == "offset") return r->mutate_offset(uint64_t(v)), true;
      if (p[4] == "size") return r->mutate_size(uint64_t(v)), true;
    }
    return false;
  }
  if (p[0] == "weight" && p.size() == 3) {
    auto *w = m->mutable_weights();
    if (!w || idx(1) >= w->size()) return false;
    fb::Weight *x = w->GetMutableObject(idx(1));
    if (p[2] == "offset") return x->mutate_offset(uint64_t(v));
    if (p[2] == "size") return x->mutate_size(uint64_t(v));
    return false;
  }
  if (p[0] == "payload" && p.size() == 3 && p[1] == "byte") {
    auto *pl = m->mutable_payloads();
    if (!pl || !pl->size()) return false;
    auto *data = pl->GetMutableObject(0)->mutable_data();
    return data && idx(2) < data->size() && (data->Mutate(idx(2), uint8_t(v)), true);
  }
  return false;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: llmc-artifact-edit IN.llmc OUT.llmc PATH=VALUE...\n");
    return 1;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), {});
  llmc_file_header h;
  if (file.size() < LLMC_HEADER_SIZE) return std::fprintf(stderr, "%s: too small\n", argv[1]), 1;
  llmc_header_decode(file.data(), &h);
  if (h.flatbuffer_offset + h.flatbuffer_size > file.size() ||
      h.weights_offset + h.weights_size > file.size())
    return std::fprintf(stderr, "%s: bad header\n", argv[1]), 1;
  fb::Model *m = fb::GetMutableModel(file.data() + h.flatbuffer_offset);
  for (int i = 3; i < argc; ++i) {
    std::string e = argv[i];
    size_t eq = e.find('=');
    if (eq == std::string::npos || !apply(m, e.substr(0, eq),
                                          std::strtoll(e.c_str() + eq + 1, nullptr, 10)))
      return std::fprintf(stderr, "cannot apply '%s' (unknown path, index out of range, or "
                                  "the field is not stored)\n", argv[i]), 1;
  }
  h.flatbuffer_checksum = llmc_hash64(file.data() + h.flatbuffer_offset, h.flatbuffer_size);
  h.weights_checksum = llmc_hash64(file.data() + h.weights_offset, h.weights_size);
  llmc_header_encode(&h, file.data());
  std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(file.data()), std::streamsize(file.size()));
  return out ? 0 : (std::fprintf(stderr, "%s: cannot write\n", argv[2]), 1);
}
