// RUN: llmc-opt --llmc-print-opencl=workgroup-size=32 %s -o /dev/null | FileCheck %s
// RUN: llmc-opt --llmc-print-opencl %s -o /dev/null > %t.cl
// The program compiles as OpenCL C 1.2 without any extension (PoCL: the
// local-memory reduction) and as OpenCL C 3.0 with subgroups and fp16 (the
// Adreno path: subgroup reductions).
// RUN: clang-19 -x cl -cl-std=CL1.2 --target=spir64 -Xclang -finclude-default-header -Xclang -cl-ext=-all -fsyntax-only -Werror %t.cl
// RUN: clang-19 -x cl -cl-std=CL3.0 --target=spir64 -Xclang -finclude-default-header -Xclang -cl-ext=-all,+cl_khr_subgroups,+__opencl_c_subgroups,+cl_khr_fp16,+__opencl_c_fp16 -fsyntax-only -Werror %t.cl
// RUN: clang-19 -x cl -cl-std=CL1.2 --target=spir64 -Xclang -finclude-default-header -Xclang -cl-ext=-all -E %t.cl | FileCheck %s --check-prefix=LOCAL
// RUN: clang-19 -x cl -cl-std=CL3.0 --target=spir64 -Xclang -finclude-default-header -Xclang -cl-ext=-all,+cl_khr_subgroups,+__opencl_c_subgroups -E %t.cl | FileCheck %s --check-prefix=SUBGROUP
// LOCAL-LABEL: static float llmc_lane_sum(
// LOCAL-NOT: sub_group_reduce_add
// LOCAL: barrier(
// LOCAL-LABEL: static float llmc_round_half(
// LOCAL-LABEL: static float4 llmc_round_half4(float4 x) {
// LOCAL: vstore_half4_rte(x, 0, (__private half *)h);
// SUBGROUP-LABEL: static float llmc_lane_sum(
// SUBGROUP: float v = sub_group_reduce_add(x);
// SUBGROUP-LABEL: static float llmc_round_half(

// Constant tables become program-scope __constant arrays, exact in hex.
// CHECK: __constant float freq[2] = {0x1p+0f, 0x1p-1f};

// A float kernel: vector loads, FMAs with a loop-carried accumulator, the
// lanes summed in order, a scalar epilogue.
// CHECK-LABEL: static void k_dot(__global float *a0, __global float *a1, __global float *a2, long a3, long a4, long a5) {
// CHECK: for (long [[J:i[0-9]+]] = a4; [[J]] < a5; [[J]] += 1L) {
// CHECK: for (long [[T:i[0-9]+]] = 0L; [[T]] < a3; [[T]] += 1L) {
// CHECK: float4 [[ACC:c[0-9]+]] = ((float4)(0x0p+0f));
// CHECK: for (long [[K:i[0-9]+]] = 0L; [[K]] < 8L; [[K]] += 4L) {
// CHECK: float4 [[X:v[0-9]+]] = vload4(0, a0 + (([[T]]) * 8L + [[K]]));
// CHECK: float4 [[W:v[0-9]+]] = vload4(0, a1 + (([[J]]) * 8L + [[K]]));
// CHECK: float4 [[F:v[0-9]+]] = fma([[X]], [[W]], [[ACC]]);
// CHECK: float4 [[Y:y[0-9]+]] = [[F]];
// CHECK: [[ACC]] = [[Y]];
// CHECK: float4 [[L:w[0-9]+]] = [[ACC]];
// CHECK: float [[S:v[0-9]+]] = ((([[L]].s0 + [[L]].s1) + [[L]].s2) + [[L]].s3);
// CHECK: float [[M:v[0-9]+]] = fmax([[S]], 0x0p+0f);
// CHECK: a2[([[T]]) * 4L + [[J]]] = [[M]];
// The entry: (buffer, byte offset) per binding, the scalars, the grid; one
// iteration per work-item.
// CHECK: __kernel __attribute__((reqd_work_group_size(32, 1, 1)))
// CHECK-NEXT: void llmc_k_dot(__global uchar *b0, ulong o0, __global uchar *b1, ulong o1, __global uchar *b2, ulong o2, long s0, long grid) {
// CHECK-NEXT:   long i = (long)get_global_id(0);
// CHECK-NEXT:   if (i >= grid) return;
// CHECK-NEXT:   k_dot((__global float *)(b0 + o0), (__global float *)(b1 + o1), (__global float *)(b2 + o2), s0, i, i + 1);
func.func private @k_dot(%x: memref<2x8xf32>, %w: memref<4x8xf32>, %y: memref<2x4xf32>,
                         %n: index, %begin: index, %end: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant dense<0.0> : vector<4xf32>
  %fzero = arith.constant 0.0 : f32
  scf.for %j = %begin to %end step %c1 {
    scf.for %t = %c0 to %n step %c1 {
      %acc = scf.for %k = %c0 to %c8 step %c4 iter_args(%a = %zero) -> (vector<4xf32>) {
        %xv = vector.load %x[%t, %k] : memref<2x8xf32>, vector<4xf32>
        %wv = vector.load %w[%j, %k] : memref<4x8xf32>, vector<4xf32>
        %f = vector.fma %xv, %wv, %a : vector<4xf32>
        scf.yield %f : vector<4xf32>
      }
      %s = vector.reduction <add>, %acc : vector<4xf32> into f32
      %m = arith.maximumf %s, %fzero : f32
      memref.store %m, %y[%t, %j] : memref<2x4xf32>
    }
  }
  return
}

// Quantized data: int4 codes unpacked with unsigned shifts on char4, f16
// scales read with vload_half, an f16 cache written with vstore_half_rte
// after rounding, unsigned index arithmetic, a private scratch array, a
// constant table and a select.
// CHECK-LABEL: static void k_quant(__global char *a0, __global half *a1, __global half *a2, long a3, long a4) {
// CHECK: float [[P:m[0-9]+]][4];
// CHECK: long [[E:v[0-9]+]] = (long)min((ulong)a4, (ulong)4L);
// CHECK: char4 [[Q:v[0-9]+]] = vload4(0, a0 + (
// CHECK: char4 [[LO:v[0-9]+]] = ([[Q]] & ((char4)(((char)15))));
// CHECK: char4 [[HI:v[0-9]+]] = as_char4(as_uchar4([[Q]]) >> as_uchar4(((char4)(((char)4)))));
// CHECK: float4 [[FL:v[0-9]+]] = convert_float4(as_uchar4([[LO]]));
// CHECK: float4 [[FH:v[0-9]+]] = convert_float4(as_uchar4([[HI]]));
// CHECK: float [[SC:v[0-9]+]] = vload_half([[I:i[0-9]+]], a1);
// CHECK: float4 [[B:v[0-9]+]] = ((float4)([[SC]]));
// CHECK: long [[H:v[0-9]+]] = ((long)((ulong)[[I]] / (ulong)2L));
// CHECK: float [[FR:v[0-9]+]] = freq[[[H]]];
// CHECK: int [[C:v[0-9]+]] = ([[FR]] > [[SC]]);
// CHECK: float [[SEL:v[0-9]+]] = ([[C]] ? [[FR]] : [[SC]]);
// CHECK: float [[EX:v[0-9]+]] = exp([[SEL]]);
// CHECK: [[P]][[[I]]] = [[EX]];
// CHECK: float [[HV:v[0-9]+]] = llmc_round_half([[EX]]);
// CHECK: vstore_half_rte([[HV]], [[I]], a2);
// A vector rounded to f16 (an f16 activation's store) keeps its floats,
// each rounded through vstore_half4_rte, then stores them the same way.
// CHECK: float4 [[HV4:v[0-9]+]] = llmc_round_half4([[FL]]);
// CHECK: vstore_half4_rte([[HV4]], 0, a2 + (
// CHECK: void llmc_k_quant(__global uchar *b0, ulong o0, __global uchar *b1, ulong o1, __global uchar *b2, ulong o2, long grid) {
memref.global "private" constant @freq : memref<2xf32> = dense<[1.0, 0.5]>
func.func private @k_quant(%codes: memref<4x4xi8>, %scales: memref<4xf16>, %cache: memref<4xf16>,
                           %begin: index, %end: index) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %p = memref.alloca() : memref<4xf32>
  %g = memref.get_global @freq : memref<2xf32>
  %e = arith.minui %end, %c4 : index
  scf.for %i = %begin to %e step %c1 {
    %c0 = arith.constant 0 : index
    %q = vector.load %codes[%i, %c0] : memref<4x4xi8>, vector<4xi8>
    %m15 = arith.constant dense<15> : vector<4xi8>
    %m4 = arith.constant dense<4> : vector<4xi8>
    %lo = arith.andi %q, %m15 : vector<4xi8>
    %hi = arith.shrui %q, %m4 : vector<4xi8>
    %fl = arith.uitofp %lo : vector<4xi8> to vector<4xf32>
    %fh = arith.uitofp %hi : vector<4xi8> to vector<4xf32>
    %sh = memref.load %scales[%i] : memref<4xf16>
    %s = arith.extf %sh : f16 to f32
    %b = vector.splat %s : vector<4xf32>
    %h = arith.divui %i, %c2 : index
    %fr = memref.load %g[%h] : memref<2xf32>
    %cmp = arith.cmpf ogt, %fr, %s : f32
    %sel = arith.select %cmp, %fr, %s : f32
    %ex = math.exp %sel : f32
    memref.store %ex, %p[%i] : memref<4xf32>
    %hv = arith.truncf %ex : f32 to f16
    memref.store %hv, %cache[%i] : memref<4xf16>
    %hv4 = arith.truncf %fl : vector<4xf32> to vector<4xf16>
    vector.store %hv4, %cache[%c0] : memref<4xf16>, vector<4xf16>
  }
  return
}

// A distributed kernel (llm-distribute-reductions): its workgroup is its
// row's lanes, with one float of local memory each (and the total) for the
// reduction.
// CHECK-LABEL: static void k_rows(__global float *a0, __global float *a1, long a2, long a3, __local float *llmc_ls) {
// CHECK: float [[P:v[0-9]+]] = a0[
// CHECK: float [[T:v[0-9]+]] = llmc_lane_sum([[P]], llmc_ls);
// CHECK: __kernel __attribute__((reqd_work_group_size(16, 1, 1))) LLMC_WAVE
// CHECK-NEXT: void llmc_k_rows(__global uchar *b0, ulong o0, __global uchar *b1, ulong o1, long grid) {
// CHECK-NEXT:   __local float llmc_ls[17];
// CHECK: k_rows((__global float *)(b0 + o0), (__global float *)(b1 + o1), i, i + 1, llmc_ls);
func.func private @k_rows(%x: memref<64xf32>, %y: memref<4xf32>, %begin: index, %end: index)
    attributes {llm.lanes = 16 : i64} {
  %c16 = arith.constant 16 : index
  %lane = arith.remui %begin, %c16 : index
  %row = arith.divui %begin, %c16 : index
  %p = memref.load %x[%begin] : memref<64xf32>
  %t = llm.lane_sum %p : f32
  memref.store %t, %y[%row] : memref<4xf32>
  return
}

// A kernel nobody dispatches is not printed.
// CHECK-NOT: unused
func.func private @k_unused(%a: memref<4xf32>, %begin: index, %end: index) {
  return
}

llm.schedule {
  llm.dispatch @k_dot "linear" grid <c = 4>
      bindings [#llm.binding<space = arena, offset = 0, size = 64>,
                #llm.binding<space = weights, offset = 0, size = 128>,
                #llm.binding<space = arena, offset = 64, size = 32>]
      scalars [#llm.scalar<n_tokens = 1>]
  llm.dispatch @k_quant "embedding" grid <c = 4>
      bindings [#llm.binding<space = weights, offset = 128, size = 16>,
                #llm.binding<space = weights, offset = 192, size = 8>,
                #llm.binding<space = kv_cache, offset = 0, size = 8>]
      scalars []
  llm.dispatch @k_rows "linear" grid <c = 64>
      bindings [#llm.binding<space = arena, offset = 0, size = 256>,
                #llm.binding<space = arena, offset = 256, size = 16>]
      scalars []
  llm.dispatch @k_dot "linear" grid <c = 4>
      bindings [#llm.binding<space = arena, offset = 0, size = 64>,
                #llm.binding<space = weights, offset = 0, size = 128>,
                #llm.binding<space = arena, offset = 64, size = 32>]
      scalars [#llm.scalar<n_tokens = 1>]
}
