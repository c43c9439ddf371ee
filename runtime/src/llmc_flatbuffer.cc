// The runtime's only C++ file: the FlatBuffers verifier and accessors are
// header-only templates. Compiled with -fno-exceptions -fno-rtti and no
// static objects, so the runtime needs no libstdc++ (checked by the
// runtime-size target).
#include "runtime/src/llmc_internal.h"

// Never let a FlatBuffers assertion abort the host application; every check
// that matters is done by the Verifier itself or by the caller beforehand.
#define FLATBUFFERS_ASSERT(x) ((void)0)
#include "runtime/schema/llmc_generated.h"

namespace {
const char *str(const flatbuffers::String *s) { return s ? s->c_str() : ""; }
}  // namespace

extern "C" int llmc_fb_read(const uint8_t *buf, size_t size,
                            llmc_fb_model *out) {
  if (size >= FLATBUFFERS_MAX_BUFFER_SIZE) return -1;
  flatbuffers::Verifier::Options opts;
  opts.max_depth = 16;
  opts.max_tables = 1u << 22;
  flatbuffers::Verifier verifier(buf, size, opts);
  if (!llmc::fb::VerifyModelBuffer(verifier)) return -1;

  const llmc::fb::Model *m = llmc::fb::GetModel(buf);
  *out = llmc_fb_model();
  out->root = m;
  const llmc::fb::Manifest *man = m->manifest();
  out->has_manifest = man != nullptr;
  if (man) out->format_version = man->format_version();
  out->compiler_version = str(man ? man->compiler_version() : nullptr);
  out->target = str(man ? man->target() : nullptr);
  out->target_triple = str(man ? man->target_triple() : nullptr);
  out->cpu_features = str(man ? man->cpu_features() : nullptr);
  out->quantization = str(man ? man->quantization() : nullptr);
  out->created_by = str(man ? man->created_by() : nullptr);

  const llmc::fb::ModelConfig *c = m->config();
  out->has_config = c != nullptr;
  out->rope_scaling_type = "";
  if (c) {
    out->hidden_size = c->hidden_size();
    out->intermediate_size = c->intermediate_size();
    out->num_layers = c->num_layers();
    out->num_heads = c->num_heads();
    out->num_kv_heads = c->num_kv_heads();
    out->head_dim = c->head_dim();
    out->vocab_size = c->vocab_size();
    out->max_context = c->max_context();
    out->prefill_chunk = c->prefill_chunk();
    out->rms_norm_eps = c->rms_norm_eps();
    out->rope_theta = c->rope_theta();
    out->rope_scaling_type = str(c->rope_scaling_type());
    out->rope_scaling_factor = c->rope_scaling_factor();
    out->rope_low_freq_factor = c->rope_low_freq_factor();
    out->rope_high_freq_factor = c->rope_high_freq_factor();
    out->rope_original_max_position_embeddings =
        c->rope_original_max_position_embeddings();
    out->tie_word_embeddings = c->tie_word_embeddings() ? 1 : 0;
    out->bos_token_id = c->bos_token_id();
    if (const auto *eos = c->eos_token_ids()) {
      out->num_eos = eos->size();
      out->eos_le = reinterpret_cast<const uint8_t *>(eos->data());
    }
  }
  out->arena_size = m->arena_size();
  out->arena_size_unfused = m->arena_size_unfused();
  out->kv_cache_bytes_per_token = m->kv_cache_bytes_per_token();
  out->kv_cache_dtype = static_cast<uint32_t>(m->kv_cache_dtype());
  if (const auto *seg = m->weights_segment()) {
    out->has_segment = 1;
    out->seg_alignment = seg->alignment();
    out->seg_file_alignment = seg->file_alignment();
    out->seg_size = seg->size();
  }
  if (const auto *tok = m->tokenizer())
    if (const auto *blob = tok->blob()) {
      out->tokenizer_blob = blob->data();
      out->tokenizer_size = blob->size();
    }
  out->num_payloads = m->payloads() ? m->payloads()->size() : 0;
  out->num_weights = m->weights() ? m->weights()->size() : 0;
  out->num_dispatches = m->schedule() ? m->schedule()->size() : 0;
  return 0;
}

extern "C" void llmc_fb_payload_at(const llmc_fb_model *mm, uint32_t i,
                                   llmc_fb_payload *out) {
  const auto *m = static_cast<const llmc::fb::Model *>(mm->root);
  const llmc::fb::KernelPayload *p = m->payloads()->Get(i);
  out->target = str(p ? p->target() : nullptr);
  out->format = str(p ? p->format() : nullptr);
  out->cpu_features = str(p ? p->cpu_features() : nullptr);
  out->data = p && p->data() ? p->data()->data() : nullptr;
  out->size = p && p->data() ? p->data()->size() : 0;
  out->num_kernels = p && p->kernels() ? p->kernels()->size() : 0;
}

extern "C" void llmc_fb_kernel_at(const llmc_fb_model *mm, uint32_t pi, uint32_t k,
                                  llmc_fb_kernel *out) {
  const auto *m = static_cast<const llmc::fb::Model *>(mm->root);
  const llmc::fb::Kernel *x = m->payloads()->Get(pi)->kernels()->Get(k);
  out->name = str(x ? x->name() : nullptr);
  out->entry = str(x ? x->entry() : nullptr);
  out->num_bindings = x && x->binding_sizes() ? x->binding_sizes()->size() : 0;
  out->binding_sizes_le =
      x && x->binding_sizes()
          ? reinterpret_cast<const uint8_t *>(x->binding_sizes()->data())
          : nullptr;
  out->num_scalars = x ? x->num_scalars() : 0;
}

namespace {
llmc_fb_scalar scalar(const llmc::fb::Scalar &s) {
  return llmc_fb_scalar{s.c(), s.n_tokens(), s.start_pos(), s.logit_rows()};
}
}  // namespace

extern "C" void llmc_fb_dispatch_at(const llmc_fb_model *mm, uint32_t i,
                                    llmc_fb_dispatch *out) {
  const auto *m = static_cast<const llmc::fb::Model *>(mm->root);
  const llmc::fb::Dispatch *d = m->schedule()->Get(i);
  *out = llmc_fb_dispatch();
  out->kernel = str(d ? d->kernel() : nullptr);
  out->label = str(d ? d->label() : nullptr);
  out->layer = -1;
  if (!d) return;
  out->layer = d->layer();
  out->kernel_index = d->kernel_index();
  out->num_operands = d->operands() ? d->operands()->size() : 0;
  out->num_scalars = d->scalars() ? d->scalars()->size() : 0;
  out->has_grid = d->grid() != nullptr;
  if (d->grid()) out->grid = scalar(*d->grid());
  out->num_reads = d->reads() ? d->reads()->size() : 0;
  out->num_writes = d->writes() ? d->writes()->size() : 0;
}

extern "C" void llmc_fb_dispatch_traffic(const llmc_fb_model *mm, uint32_t i,
                                         uint32_t j, llmc_fb_scalar *read,
                                         llmc_fb_scalar *write) {
  const auto *m = static_cast<const llmc::fb::Model *>(mm->root);
  const llmc::fb::Dispatch *d = m->schedule()->Get(i);
  *read = d->reads() && j < d->reads()->size() ? scalar(*d->reads()->Get(j))
                                               : llmc_fb_scalar();
  *write = d->writes() && j < d->writes()->size() ? scalar(*d->writes()->Get(j))
                                                  : llmc_fb_scalar();
}

extern "C" void llmc_fb_dispatch_operand(const llmc_fb_model *mm, uint32_t i,
                                         uint32_t j, uint32_t *space,
                                         uint64_t *offset, uint64_t *size) {
  const auto *m = static_cast<const llmc::fb::Model *>(mm->root);
  const llmc::fb::BufferRef *r = m->schedule()->Get(i)->operands()->Get(j);
  *space = static_cast<uint32_t>(r->space());
  *offset = r->offset();
  *size = r->size();
}

extern "C" void llmc_fb_dispatch_scalar(const llmc_fb_model *mm, uint32_t i,
                                        uint32_t j, llmc_fb_scalar *out) {
  const auto *m = static_cast<const llmc::fb::Model *>(mm->root);
  *out = scalar(*m->schedule()->Get(i)->scalars()->Get(j));
}

extern "C" void llmc_fb_weight_at(const llmc_fb_model *mm, uint32_t i,
                                  llmc_fb_weight *out) {
  const auto *m = static_cast<const llmc::fb::Model *>(mm->root);
  const llmc::fb::Weight *w = m->weights()->Get(i);
  out->name = str(w ? w->name() : nullptr);
  out->dtype = w ? static_cast<uint32_t>(w->dtype()) : 0;
  out->has_quant = w && w->quant() ? 1 : 0;
  out->offset = w ? w->offset() : 0;
  out->size = w ? w->size() : 0;
  out->rank = w && w->shape() ? w->shape()->size() : 0;
  out->shape_le = w && w->shape()
                      ? reinterpret_cast<const uint8_t *>(w->shape()->data())
                      : nullptr;
}
