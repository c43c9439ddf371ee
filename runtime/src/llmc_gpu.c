/* llmc_enable_gpu: the core refers to the GPU HALs weakly (llmc_runtime.c),
 * so a program linking the static runtime gets them only through this
 * object, whose references to them make the linker take their code. */
#include "runtime/hal/llmc_hal.h"

LLMC_API void llmc_enable_gpu(void) {
  const llmc_hal *(*volatile keep)(void) = llmc_hal_opencl;
  keep = llmc_hal_vulkan;
  (void)keep;
}
