// RUN: llmc-opt --llmc-kernel-to-llvm %s | FileCheck %s

// A kernel launched by an llm.dispatch gets internal linkage and an exported
// entry with the uniform ABI: (bindings, scalars, begin, end) loads each
// bare-pointer argument from the arrays (ptrs from bindings, i64s from
// scalars, in order) and calls the kernel. The schedule is not compiled.
// CHECK-NOT: llm.schedule
// CHECK-LABEL: llvm.func internal @k_add(
// CHECK-SAME: %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64)
// CHECK-LABEL: llvm.func @llmc_k_add(
// CHECK-SAME: %[[B:.*]]: !llvm.ptr, %[[S:.*]]: !llvm.ptr, %[[BEGIN:.*]]: i64, %[[END:.*]]: i64)
// CHECK: %[[G0:.*]] = llvm.getelementptr %[[B]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[P0:.*]] = llvm.load %[[G0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[G1:.*]] = llvm.getelementptr %[[B]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[P1:.*]] = llvm.load %[[G1]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[G2:.*]] = llvm.getelementptr %[[B]][2] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[P2:.*]] = llvm.load %[[G2]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[GS:.*]] = llvm.getelementptr %[[S]][0] : (!llvm.ptr) -> !llvm.ptr, i64
// CHECK: %[[N:.*]] = llvm.load %[[GS]] : !llvm.ptr -> i64
// CHECK: llvm.call @k_add(%[[P0]], %[[P1]], %[[P2]], %[[N]], %[[BEGIN]], %[[END]])
// CHECK: llvm.return
// A private helper nobody dispatches stays internal and gets no entry.
// CHECK-LABEL: llvm.func internal @helper(
// CHECK-NOT: llvm.func @llmc_helper
func.func private @k_add(%a: memref<4x8xf32>, %b: memref<4x8xf32>, %c: memref<4x8xf32>,
                         %n: index, %begin: index, %end: index) {
  return
}
func.func private @helper(%a: memref<4xf32>) {
  return
}
llm.schedule {
  llm.dispatch @k_add "add" grid <n_tokens = 1>
      bindings [#llm.binding<space = arena, offset = 0, size = 128>,
                #llm.binding<space = arena, offset = 128, size = 128>,
                #llm.binding<space = arena, offset = 256, size = 128>]
      scalars [#llm.scalar<c = 8>]
}
