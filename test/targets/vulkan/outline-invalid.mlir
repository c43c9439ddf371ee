// RUN: llmc-opt --llmc-vulkan-outline --llmc-vulkan-to-spirv %s -split-input-file -verify-diagnostics

// Without a target environment the pass cannot know what SPIR-V may use.
// expected-error @+1 {{llmc-vulkan-outline needs a `spirv.target_env` on the module}}
module {
  func.func private @k(%a: memref<4xf32>, %begin: index, %end: index) {
    return
  }
  llm.schedule {
    llm.dispatch @k "silu" grid <c = 1>
        bindings [#llm.binding<space = arena, offset = 0, size = 16>] scalars []
  }
}

// -----

// Only 1-D vector accesses have an element-wise form.
module attributes {spirv.target_env = #spirv.target_env<#spirv.vce<v1.3, [Shader], []>, #spirv.resource_limits<>>} {
  func.func private @k(%a: memref<4x4xf32>, %begin: index, %end: index) {
    %c0 = arith.constant 0 : index
    // expected-error @+1 {{only 1-D vector loads are lowered to SPIR-V}}
    %v = vector.load %a[%c0, %c0] : memref<4x4xf32>, vector<2x4xf32>
    return
  }
  llm.schedule {
    llm.dispatch @k "silu" grid <c = 1>
        bindings [#llm.binding<space = arena, offset = 0, size = 64>] scalars []
  }
}

// -----

// A table the kernel could write has no SPIR-V form here.
module attributes {spirv.target_env = #spirv.target_env<#spirv.vce<v1.3, [Shader], []>, #spirv.resource_limits<>>} {
  memref.global "private" @state : memref<2xf32> = dense<0.0>
  func.func private @k(%a: memref<2xf32>, %begin: index, %end: index) {
    // expected-error @+1 {{only constant tables with an initializer are lowered to SPIR-V}}
    %t = memref.get_global @state : memref<2xf32>
    return
  }
  llm.schedule {
    llm.dispatch @k "silu" grid <c = 1>
        bindings [#llm.binding<space = arena, offset = 0, size = 8>] scalars []
  }
}

// -----

// 64-bit integers other than a position on its way to a float.
module attributes {spirv.target_env = #spirv.target_env<#spirv.vce<v1.3, [Shader], []>, #spirv.resource_limits<>>} {
  func.func private @k(%a: memref<2xi64>, %begin: index, %end: index) {
    %c0 = arith.constant 0 : index
    // expected-error @+1 {{64-bit integers are not lowered to SPIR-V}}
    %i = arith.index_cast %begin : index to i64
    memref.store %i, %a[%c0] : memref<2xi64>
    return
  }
  llm.schedule {
    llm.dispatch @k "silu" grid <c = 1>
        bindings [#llm.binding<space = arena, offset = 0, size = 16>] scalars []
  }
}

// -----

// An op upstream has no SPIR-V for fails the conversion at that op, never
// a silently different program.
module attributes {spirv.target_env = #spirv.target_env<#spirv.vce<v1.3, [Shader], []>, #spirv.resource_limits<>>} {
  func.func private @k(%a: memref<2xf32>, %begin: index, %end: index) {
    %c0 = arith.constant 0 : index
    %x = memref.load %a[%c0] : memref<2xf32>
    // expected-error @+1 {{failed to legalize operation 'math.erf'}}
    %y = math.erf %x : f32
    memref.store %y, %a[%c0] : memref<2xf32>
    return
  }
  llm.schedule {
    llm.dispatch @k "silu" grid <c = 1>
        bindings [#llm.binding<space = arena, offset = 0, size = 8>] scalars []
  }
}
