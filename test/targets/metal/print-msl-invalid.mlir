// RUN: llmc-opt --llmc-print-msl %s -split-input-file -o /dev/null -verify-diagnostics

// simd_sum sums one SIMD-group: a distributed kernel whose rows are not
// exactly one (here 64 lanes for a 32-wide group) would sum the wrong
// lanes, so it is refused.
// expected-error @+1 {{cannot print as MSL: llm.lanes 64 must equal the SIMD-group width 32 and the threadgroup size 32}}
func.func private @k_rows(%x: memref<128xf32>, %y: memref<2xf32>, %begin: index, %end: index)
    attributes {llm.lanes = 64 : i64} {
  %c64 = arith.constant 64 : index
  %row = arith.divui %begin, %c64 : index
  %p = memref.load %x[%begin] : memref<128xf32>
  %t = llm.lane_sum %p : f32
  memref.store %t, %y[%row] : memref<2xf32>
  return
}
llm.schedule {
  llm.dispatch @k_rows "linear" grid <c = 128>
      bindings [#llm.binding<space = arena, offset = 0, size = 512>,
                #llm.binding<space = arena, offset = 512, size = 8>]
      scalars []
}

// -----

// MSL's vectors have 2 to 4 lanes.
func.func private @k_wide(%a: memref<8xf32>, %begin: index, %end: index) {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{cannot print as MSL: unsupported vector type}}
  %v = vector.load %a[%c0] : memref<8xf32>, vector<8xf32>
  vector.store %v, %a[%c0] : memref<8xf32>, vector<8xf32>
  return
}
llm.schedule {
  llm.dispatch @k_wide "x" grid <c = 1>
      bindings [#llm.binding<space = arena, offset = 0, size = 32>]
      scalars []
}

// -----

// An op the printer has no MSL for is an error at that op.
func.func private @k_atan(%a: memref<4xf32>, %begin: index, %end: index) {
  %c0 = arith.constant 0 : index
  %x = memref.load %a[%c0] : memref<4xf32>
  // expected-error @+1 {{cannot print as MSL: operation not supported}}
  %y = math.atan %x : f32
  memref.store %y, %a[%c0] : memref<4xf32>
  return
}
llm.schedule {
  llm.dispatch @k_atan "silu" grid <c = 1>
      bindings [#llm.binding<space = arena, offset = 0, size = 16>]
      scalars []
}
