// Every rope type round-trips; parameters a type does not use are left out of
// the printed form (and refused when given, see rope-scaling-invalid.mlir).
// RUN: llmc-opt %s | FileCheck %s
// RUN: llmc-opt %s | llmc-opt | FileCheck %s
// RUN: llmc-opt --mlir-print-op-generic %s | llmc-opt | FileCheck %s

// CHECK-LABEL: func.func @llama3
// CHECK-SAME: s = #llm.rope_scaling<type = llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position_embeddings = 8192>
func.func @llama3() attributes {s = #llm.rope_scaling<type = llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position_embeddings = 8192>} { return }

// CHECK-LABEL: func.func @linear
// CHECK-SAME: s = #llm.rope_scaling<type = linear, factor = 2.0>
func.func @linear() attributes {s = #llm.rope_scaling<type = linear, factor = 2.0>} { return }

// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: s = #llm.rope_scaling<type = dynamic, factor = 4.0>
func.func @dynamic() attributes {s = #llm.rope_scaling<type = dynamic, factor = 4.0>} { return }

// Defaults (attention_factor 1, beta_fast 32, beta_slow 1, truncate) are not printed.
// CHECK-LABEL: func.func @yarn_defaults
// CHECK-SAME: s = #llm.rope_scaling<type = yarn, factor = 4.0, original_max_position_embeddings = 64>
func.func @yarn_defaults() attributes {s = #llm.rope_scaling<type = yarn, factor = 4.0, original_max_position_embeddings = 64, beta_fast = 32.0, truncate = true>} { return }

// CHECK-LABEL: func.func @yarn_all
// CHECK-SAME: s = #llm.rope_scaling<type = yarn, factor = 4.0, original_max_position_embeddings = 2048, attention_factor = 1.5, beta_fast = 16.0, beta_slow = 2.0, truncate = false>
func.func @yarn_all() attributes {s = #llm.rope_scaling<type = yarn, factor = 4.0, original_max_position_embeddings = 2048, attention_factor = 1.5, beta_fast = 16.0, beta_slow = 2.0, truncate = false>} { return }

// CHECK-LABEL: func.func @rope_op
// CHECK: llm.rope %{{.*}} at %{{.*}} {{{.*}}scaling = #llm.rope_scaling<type = yarn, factor = 4.0, original_max_position_embeddings = 64, attention_factor = 1.25>{{.*}}} : tensor<?x64xf32>
func.func @rope_op(%q: tensor<?x64xf32>, %pos: index) -> tensor<?x64xf32> {
  %r = llm.rope %q at %pos {num_heads = 4 : i64, head_dim = 16 : i64, theta = 500000.0 : f64, scaling = #llm.rope_scaling<type = yarn, factor = 4.0, original_max_position_embeddings = 64, attention_factor = 1.25>} : tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}
