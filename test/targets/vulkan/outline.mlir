// RUN: llmc-opt --llmc-vulkan-outline=workgroup-size=16 %s | FileCheck %s
// RUN: llmc-opt --llmc-vulkan-outline --llmc-vulkan-to-spirv %s | FileCheck %s --check-prefix=SPIRV
// (spirv-program.test runs spirv-val over the serialized modules of whole
// models.)

module attributes {spirv.target_env = #spirv.target_env<#spirv.vce<v1.3, [Shader, Int8, Int16, Float16, StorageBuffer8BitAccess, StorageBuffer16BitAccess, GroupNonUniform, GroupNonUniformArithmetic], [SPV_KHR_8bit_storage, SPV_KHR_16bit_storage, SPV_KHR_storage_buffer_storage_class]>, api=Vulkan, #spirv.resource_limits<subgroup_size = 8>>} {

// The kernels and the schedule become one gpu.module of entry points; the
// schedule itself leaves (the build keeps it as data).
// CHECK-NOT: llm.schedule
// CHECK-LABEL: gpu.module @llmc_kernels

// A row-distributed kernel: its workgroup is its lanes (8, not the
// default 16). Bindings become StorageBuffer memrefs, one more binding holds
// the scalars and the grid as i32.
// CHECK-LABEL: gpu.func @llmc_k_row(
// CHECK-SAME: %[[X:.*]]: memref<2x8xf32, #spirv.storage_class<StorageBuffer>>, %[[W:.*]]: memref<4x8xi8, #spirv.storage_class<StorageBuffer>>, %[[Y:.*]]: memref<2x4xf32, #spirv.storage_class<StorageBuffer>>, %[[P:.*]]: memref<2xi32, #spirv.storage_class<StorageBuffer>>)
// CHECK-SAME: kernel
// CHECK-SAME: spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [8, 1, 1]>
// The scratch of the lane sums, in workgroup memory.
// CHECK: %[[SCRATCH:.*]] = memref.alloc() : memref<8xf32, #spirv.storage_class<Workgroup>>
// Invocation id from the global id and the y workgroups; the grid from the
// params slot's last word.
// CHECK: %[[GX:.*]] = gpu.global_id x
// CHECK: %[[GY:.*]] = gpu.block_id y
// CHECK: %[[NX:.*]] = gpu.grid_dim x
// CHECK: %[[ID:.*]] = arith.addi %{{.*}}, %[[GX]] : index
// CHECK: %[[GRID32:.*]] = memref.load %[[P]][%c1{{.*}}] : memref<2xi32, #spirv.storage_class<StorageBuffer>>
// CHECK: %[[GRID:.*]] = arith.index_cast %[[GRID32]] : i32 to index
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[ID]], %[[GRID]] : index
// CHECK: scf.if %[[IN]] {
// The scalar from word 0, the iteration range [id, id + 1).
// CHECK: %[[N32:.*]] = memref.load %[[P]][%c0{{.*}}]
// CHECK: %[[N:.*]] = arith.index_cast %[[N32]] : i32 to index
// CHECK: %[[END:.*]] = arith.addi %[[ID]], %c1{{.*}} : index
// CHECK: scf.for %{{.*}} = %[[ID]] to %[[END]]
// CHECK: scf.for %[[T:.*]] = %c0{{.*}} to %[[N]]
// A vector load becomes element loads (Vulkan's logical pointers cannot
// be cast to vector pointers).
// CHECK-NOT: vector.load
// CHECK: %[[E0:.*]] = memref.load %[[W]][%{{.*}}, %{{.*}}] : memref<4x8xi8, #spirv.storage_class<StorageBuffer>>
// CHECK: vector.insert %[[E0]], %{{.*}} [0] : i8 into vector<4xi8>
// CHECK: memref.load %[[W]]
// CHECK: memref.load %[[W]]
// CHECK: memref.load %[[W]]
// CHECK: vector.insert %{{.*}}, %{{.*}} [3] : i8 into vector<4xi8>
// The lane sum: a subgroup reduction, one lane per subgroup writes the
// scratch, everyone adds the subgroups' results between two barriers.
// CHECK: %[[PART:.*]] = gpu.subgroup_reduce add %[[S:.*]] : (f32) -> f32
// CHECK: %[[ELECT:.*]] = spirv.GroupNonUniformElect <Subgroup> : i1
// CHECK: %[[SG:.*]] = gpu.subgroup_id : index
// CHECK: %[[NSG:.*]] = gpu.num_subgroups : index
// CHECK: scf.if %[[ELECT]] {
// CHECK: memref.store %[[PART]], %[[SCRATCH]][%[[SG]]]
// CHECK: gpu.barrier
// CHECK: %[[SUM:.*]] = scf.for %[[I:.*]] = %c0{{.*}} to %[[NSG]] step %c1{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32) {
// CHECK: %[[V:.*]] = memref.load %[[SCRATCH]][%[[I]]]
// CHECK: arith.addf %[[ACC]], %[[V]] : f32
// CHECK: gpu.barrier
// CHECK: memref.store %[[SUM]], %[[Y]]
// CHECK: gpu.return
func.func private @k_row(%x: memref<2x8xf32>, %w: memref<4x8xi8>, %y: memref<2x4xf32>,
                         %n: index, %begin: index, %end: index) attributes {llm.lanes = 8 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant dense<0.0> : vector<4xf32>
  scf.for %j = %begin to %end step %c1 {
    scf.for %t = %c0 to %n step %c1 {
      %acc = scf.for %k = %c0 to %c8 step %c4 iter_args(%a = %zero) -> (vector<4xf32>) {
        %wq = vector.load %w[%j, %k] : memref<4x8xi8>, vector<4xi8>
        %wf = arith.sitofp %wq : vector<4xi8> to vector<4xf32>
        %xv = vector.load %x[%t, %k] : memref<2x8xf32>, vector<4xf32>
        %f = vector.fma %xv, %wf, %a : vector<4xf32>
        scf.yield %f : vector<4xf32>
      }
      %s = vector.reduction <add>, %acc : vector<4xf32> into f32
      %all = llm.lane_sum %s : f32
      memref.store %all, %y[%t, %j] : memref<2x4xf32>
    }
  }
  return
}

memref.global "private" constant @freq : memref<2xf32> = dense<[1.0, 0.5]>

// A kernel with private arrays, a constant table and a position cast to
// float: the arrays become Function-storage variables at the top of the
// entry (SPIR-V wants them in the first block), the table such an array
// filled there, and the cast goes through i32.
// CHECK-LABEL: gpu.func @llmc_k_rope(
// CHECK-SAME: %[[Q:.*]]: memref<4x2xf16, #spirv.storage_class<StorageBuffer>>, %[[PR:.*]]: memref<3xi32, #spirv.storage_class<StorageBuffer>>)
// CHECK-SAME: spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [16, 1, 1]>
// CHECK: %[[TABLE:.*]] = memref.alloca() : memref<2xf32, #spirv.storage_class<Function>>
// CHECK: %[[TMP:.*]] = memref.alloca() : memref<2xf32, #spirv.storage_class<Function>>
// CHECK: %[[F0:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: memref.store %[[F0]], %[[TABLE]][%{{.*}}]
// CHECK: %[[F1:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: memref.store %[[F1]], %[[TABLE]][%{{.*}}]
// CHECK: gpu.global_id x
// CHECK-NOT: memref.get_global
// CHECK-NOT: i64
// CHECK: %[[P32:.*]] = arith.index_cast %{{.*}} : index to i32
// CHECK: arith.sitofp %[[P32]] : i32 to f32
// CHECK: memref.load %[[TABLE]]
// CHECK: memref.store %{{.*}}, %[[TMP]]
// CHECK: math.cos
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store %{{.*}}, %[[Q]]
func.func private @k_rope(%q: memref<4x2xf16>, %n: index, %pos: index,
                          %begin: index, %end: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %tmp = memref.alloca() : memref<2xf32>
  %table = memref.get_global @freq : memref<2xf32>
  scf.for %i = %begin to %end step %c1 {
    %p = arith.addi %pos, %i : index
    %p64 = arith.index_cast %p : index to i64
    %pf = arith.sitofp %p64 : i64 to f32
    scf.for %d = %c0 to %c2 step %c1 {
      %fr = memref.load %table[%d] : memref<2xf32>
      %a = arith.mulf %pf, %fr : f32
      memref.store %a, %tmp[%d] : memref<2xf32>
      %b = memref.load %tmp[%d] : memref<2xf32>
      %c = math.cos %b : f32
      %h = arith.truncf %c : f32 to f16
      memref.store %h, %q[%i, %d] : memref<4x2xf16>
    }
  }
  return
}

llm.schedule {
  llm.dispatch @k_row "linear" grid <c = 32>
      bindings [#llm.binding<space = arena, offset = 0, size = 64>,
                #llm.binding<space = weights, offset = 0, size = 32>,
                #llm.binding<space = arena, offset = 64, size = 32>]
      scalars [#llm.scalar<n_tokens = 1>]
  llm.dispatch @k_rope "rope" grid <n_tokens = 1>
      bindings [#llm.binding<space = kv_cache, offset = 0, size = 16>]
      scalars [#llm.scalar<n_tokens = 1>, #llm.scalar<start_pos = 1>]
}

}

// After the upstream conversions: one spirv.module, bindings (set 0,
// binding = argument index) with the params slot last, the workgroup
// sizes as entry-point execution modes, subgroup arithmetic.
// SPIRV-LABEL: spirv.module @__spv__llmc_kernels Logical GLSL450
// SPIRV-DAG: spirv.GlobalVariable @llmc_k_row_arg_0 bind(0, 0) : !spirv.ptr<!spirv.struct<(!spirv.array<16 x f32, stride=4> [0])>, StorageBuffer>
// SPIRV-DAG: spirv.GlobalVariable @llmc_k_row_arg_1 bind(0, 1) : !spirv.ptr<!spirv.struct<(!spirv.array<32 x i8, stride=1> [0])>, StorageBuffer>
// SPIRV-DAG: spirv.GlobalVariable @llmc_k_row_arg_3 bind(0, 3) : !spirv.ptr<!spirv.struct<(!spirv.array<2 x i32, stride=4> [0])>, StorageBuffer>
// SPIRV-DAG: spirv.GlobalVariable @{{.*}} : !spirv.ptr<!spirv.struct<(!spirv.array<8 x f32>)>, Workgroup>
// SPIRV: spirv.func @llmc_k_row()
// SPIRV: spirv.GroupNonUniformFAdd "Subgroup" "Reduce"
// SPIRV: spirv.ControlBarrier <Workgroup>, <Workgroup>, <AcquireRelease|WorkgroupMemory>
// SPIRV: spirv.GlobalVariable @llmc_k_rope_arg_0 bind(0, 0) : !spirv.ptr<!spirv.struct<(!spirv.array<8 x f16, stride=2> [0])>, StorageBuffer>
// SPIRV: spirv.func @llmc_k_rope()
// SPIRV: spirv.GL.Cos
// SPIRV-DAG: spirv.EntryPoint "GLCompute" @llmc_k_row
// SPIRV-DAG: spirv.ExecutionMode @llmc_k_row "LocalSize", 8, 1, 1
// SPIRV-DAG: spirv.EntryPoint "GLCompute" @llmc_k_rope
// SPIRV-DAG: spirv.ExecutionMode @llmc_k_rope "LocalSize", 64, 1, 1
