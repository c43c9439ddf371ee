//===- llmc-opt.cpp - run llmc passes over MLIR files ----------------------===//
//
// The mlir-opt of this project: our dialect and passes, plus only the
// upstream dialects our IR levels use (registering everything would cost a
// minute of compile time per change for nothing).
//
//===----------------------------------------------------------------------===//

#include "dialects/llm/LLMDialect.h"
#include "passes/Passes.h"
#include "targets/cpu/CpuTarget.h"
#include "targets/metal/MetalEmitter.h"
#include "targets/opencl/OpenCLEmitter.h"
#include "targets/vulkan/SPIRVLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<llmc::llm::LLMDialect, mlir::arith::ArithDialect,
                  mlir::func::FuncDialect, mlir::tensor::TensorDialect,
                  mlir::math::MathDialect, mlir::memref::MemRefDialect,
                  mlir::scf::SCFDialect, mlir::vector::VectorDialect,
                  mlir::gpu::GPUDialect, mlir::spirv::SPIRVDialect>();
  llmc::cpu::registerCpuTargetDialects(registry);
  llmc::cpu::registerCpuTargetPipelines();
  llmc::opencl::registerOpenCLTargetPasses();
  llmc::vulkan::registerVulkanTargetPasses();
  llmc::metal::registerMetalTargetPasses();
  llmc::registerLLMCPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "llmc optimizer driver\n", registry));
}
