// RUN: llmc-opt --llmc-print-opencl %s -split-input-file -o /dev/null -verify-diagnostics

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

// -----

// OpenCL C has vectors of 2, 4, 8 and 16 lanes, and only those can be
// rounded to f16 with vstore_halfN.
func.func private @k_half3(%a: memref<4xf32>, %h: memref<4xf16>, %begin: index, %end: index) {
  %c0 = arith.constant 0 : index
  %x = vector.load %a[%c0] : memref<4xf32>, vector<3xf32>
  // expected-error @+1 {{cannot print as OpenCL C: f16 truncation of a vector of 3 lanes}}
  %y = arith.truncf %x : vector<3xf32> to vector<3xf16>
  vector.store %y, %h[%c0] : memref<4xf16>, vector<3xf16>
  return
}
llm.schedule {
  llm.dispatch @k_half3 "x" grid <c = 1>
      bindings [#llm.binding<space = arena, offset = 0, size = 16>, #llm.binding<space = arena, offset = 64, size = 8>]
      scalars []
}
