// The fake model's fill kernel (fake_payload.c) for the Vulkan HAL's
// tests, with the Vulkan target's kernel ABI: binding i is the kernel's
// binding i, the last binding holds the scalars then the grid as int32;
// invocation i runs iteration i. Compiled with glslangValidator and linked
// with fake_forward.comp into one module (test/runtime/CMakeLists.txt).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "test/runtime/FakeModel.h"
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) buffer Arena { float arena[]; };
layout(set = 0, binding = 1) readonly buffer Params { int n_tokens; int grid; };
void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i >= uint(grid)) return;
  arena[i] = float(10 * int(i) + n_tokens);
}
