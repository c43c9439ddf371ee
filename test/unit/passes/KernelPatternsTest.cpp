//===- KernelPatternsTest.cpp - a target's microkernel replaces a pattern -===//
//
// The microkernel interface (passes/KernelPatterns.h, DispatchBuilder.h,
// Target::addKernelPatterns): an override registered under an op's name is
// what llm-lower-to-kernels uses for that op, and it builds with the same
// DispatchBuilder (bindings where the plan put them, kernel, dispatch).
//
//===----------------------------------------------------------------------===//

#include "passes/DispatchBuilder.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

using namespace llmc::lowering;

namespace {

constexpr const char *kModel = R"mlir(
module attributes {llm.config = #llm.config<hidden_size = 16, intermediate_size = 32, num_layers = 1, num_heads = 2, num_kv_heads = 1, head_dim = 8, vocab_size = 32, max_context = 128, rms_norm_eps = 1.0e-05, rope_theta = 5.0e+05, tie_word_embeddings = true, bos_token_id = 1, eos_token_ids = [2]>} {
  llm.weight @emb : tensor<32x16xf32> = #llm.storage<file = "m.safetensors", tensor = "e", offset = 0, dtype = f32, shape = [32, 16]> role embed
  func.func @forward(%t: tensor<?xi32>, %p: index, %c: !llm.kv_cache<num_layers = 1, num_kv_heads = 1, head_dim = 8, max_context = 128, dtype = f32>) -> tensor<?x32xf32> {
    %h = llm.embedding %t, @emb : tensor<?xi32> -> tensor<?x16xf32>
    %a = llm.add %h, %h : tensor<?x16xf32>
    %l = llm.linear %a, @emb : tensor<?x16xf32> -> tensor<?x32xf32>
    return %l : tensor<?x32xf32>
  }
}
)mlir";

/// A "microkernel" for llm.add: the whole [n, 16] block in one iteration,
/// 16 lanes wide.
LogicalResult blockAdd(Operation *op, DispatchBuilder &db) {
  Buffer x = db.activation(op->getOperand(0)), y = db.activation(op->getOperand(1));
  Buffer out = db.activation(op->getResult(0));
  SmallVector<Buffer> bufs{x, y, out};
  auto fn = db.kernel("block_add", "16", bufs, 1, [&](KB &k, ValueRange a) {
    k.loop(k.idx(0), a[3], 1, [&](Value t) {
      auto vt = VectorType::get({16}, k.b.getF32Type());
      Value u = k.b.create<vector::LoadOp>(k.loc, vt, a[0], ValueRange{t, k.idx(0)});
      Value v = k.b.create<vector::LoadOp>(k.loc, vt, a[1], ValueRange{t, k.idx(0)});
      k.b.create<vector::StoreOp>(k.loc, k.add(u, v), a[2], ValueRange{t, k.idx(0)});
    });
  });
  db.dispatch(fn, "add (microkernel)", Affine{1, 0, 0, 0}, bufs,
              {Affine{0, 1, 0, 0}});
  return success();
}

} // namespace

TEST(KernelPatterns, TargetOverrideReplacesTheDefault) {
  DialectRegistry registry;
  registry.insert<llmc::llm::LLMDialect, func::FuncDialect, arith::ArithDialect,
                  tensor::TensorDialect, memref::MemRefDialect, scf::SCFDialect,
                  vector::VectorDialect, math::MathDialect>();
  MLIRContext ctx(registry);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(kModel, &ctx);
  ASSERT_TRUE(module);

  KernelPatterns overrides;
  overrides[AddOp::getOperationName()] = blockAdd;
  PassManager pm(&ctx);
  pm.addPass(llmc::createLLMPlanWeights());
  llmc::LLMPlanMemoryOptions memory;
  memory.prefillChunk = 4;
  pm.addPass(llmc::createLLMPlanMemory(memory));
  pm.addPass(llmc::createLLMLowerToKernels(llmc::LLMLowerToKernelsOptions(),
                                           std::move(overrides)));
  ASSERT_TRUE(succeeded(pm.run(*module)));

  std::vector<std::string> labels, kernels;
  for (auto schedule : module->getOps<ScheduleOp>())
    for (auto d : schedule.getOps<DispatchOp>()) {
      labels.push_back(d.getLabel().str());
      kernels.push_back(d.getKernel().str());
    }
  EXPECT_EQ(labels, (std::vector<std::string>{"embedding", "add (microkernel)",
                                              "select_last_row", "lm_head"}));
  EXPECT_EQ(kernels[1], "k_block_add_0");
  EXPECT_TRUE(module->lookupSymbol("k_block_add_0"));
  EXPECT_FALSE(module->lookupSymbol("k_add_0")); // the default was not used
}

TEST(KernelPatterns, EveryForwardOpHasADefault) {
  KernelPatterns p;
  populateKernelPatterns(p);
  for (StringRef name :
       {"llm.embedding", "llm.rms_norm", "llm.linear", "llm.quantized_linear",
        "llm.rope", "llm.kv_write", "llm.kv_read", "llm.attention", "llm.silu",
        "llm.swiglu", "llm.add", "llm.mul", "arith.constant", "arith.addi",
        "arith.subi", "arith.muli", "tensor.dim"})
    EXPECT_TRUE(p.count(name)) << name.str();
}
