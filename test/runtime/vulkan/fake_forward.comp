// The fake model's forward kernel (fake_payload.c), for the Vulkan HAL's
// tests: see fake_fill.comp for the ABI.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "test/runtime/FakeModel.h"
// The same workgroup size as fake_fill.comp although one invocation works:
// lavapipe (Mesa 22.3) runs every entry point of a module with one entry's
// LocalSize, so llmc gives all kernels of a module the same size (see
// runtime/README.md).
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer Weights { float w[]; };
layout(set = 0, binding = 1) buffer Arena { float arena[]; };
layout(set = 0, binding = 2) buffer KV { float kv[]; };
layout(set = 0, binding = 3) readonly buffer Tokens { int tokens[]; };
layout(set = 0, binding = 4) buffer Logits { float logits[]; };
layout(set = 0, binding = 5) readonly buffer Params {
  int n_tokens; int start_pos; int rows; int grid;
};
// A macro, not a function: the HAL reads each kernel as one function (as
// llmc emits them) and refuses calls.
#define kv_at(layer, k_or_v, pos) \
  ((((layer) * 2 + (k_or_v)) * FAKE_MAX_CONTEXT + (pos)) * FAKE_KV_DIM)
void main() {
  if (gl_GlobalInvocationID.x != 0u || grid != 1) return;
  bool all_logits = rows == n_tokens;
  bool filled = true;
  for (int i = 0; i < FAKE_ARENA / 4; ++i) filled = filled && arena[i] == float(10 * i + n_tokens);
  for (int i = 0; i < FAKE_ARENA / 4; ++i) arena[i] = -1.0;
  for (int i = 0; i < n_tokens; ++i)
    for (int l = 0; l < FAKE_LAYERS; ++l)
      for (int k = 0; k < 2; ++k)
        for (int d = 0; d < FAKE_KV_DIM; ++d) kv[kv_at(l, k, start_pos + i) + d] = float(tokens[i]);
  for (int i = 0; i < n_tokens; ++i) {
    if (!all_logits && i != n_tokens - 1) continue;
    int row = all_logits ? i * FAKE_VOCAB : 0;
    int p = start_pos + i;
    float sum = 0.0;
    for (int q = 0; q <= p; ++q) sum += kv[kv_at(FAKE_LAYERS - 1, 1, q) + FAKE_KV_DIM - 1];
    logits[row + 0] = float(tokens[i] * 1000 + p + 1);
    logits[row + 1] = sum;
    logits[row + 2] = float(n_tokens);
    logits[row + 3] = w[0];
    logits[row + 4] = float(start_pos);
    logits[row + 5] = w[FAKE_W1_OFFSET / 4];
    for (int v = FAKE_ROW_FIXED; v < FAKE_VOCAB; ++v) logits[row + v] = float(v) * 0.5;
    if (!filled) logits[row + FAKE_ROW_FIXED + 1] = -1.0;
  }
}
