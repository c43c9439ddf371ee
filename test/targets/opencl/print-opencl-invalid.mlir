// RUN: llmc-opt --llmc-print-opencl %s -o /dev/null -verify-diagnostics

// An op the printer has no OpenCL C for is an error at that op, never a
// silently wrong program.
func.func private @k_atan(%a: memref<4xf32>, %begin: index, %end: index) {
  %c0 = arith.constant 0 : index
  %x = memref.load %a[%c0] : memref<4xf32>
  // expected-error @+1 {{cannot print as OpenCL C: operation not supported}}
  %y = math.atan %x : f32
  memref.store %y, %a[%c0] : memref<4xf32>
  return
}
llm.schedule {
  llm.dispatch @k_atan "silu" grid <c = 1>
      bindings [#llm.binding<space = arena, offset = 0, size = 16>]
      scalars []
}
