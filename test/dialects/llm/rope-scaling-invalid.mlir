// A parameter of another rope type would be silently ignored by the lowering:
// the verifier refuses it.
// RUN: llmc-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{linear rope scaling takes no low/high_freq_factor}}
func.func @f() attributes {s = #llm.rope_scaling<type = linear, factor = 2.0, low_freq_factor = 1.0>} { return }

// -----

// expected-error @+1 {{llama3 rope scaling takes no attention_factor, beta_fast, beta_slow or truncate}}
func.func @f() attributes {s = #llm.rope_scaling<type = llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position_embeddings = 64, attention_factor = 1.5>} { return }

// -----

// expected-error @+1 {{dynamic rope scaling takes no original_max_position_embeddings}}
func.func @f() attributes {s = #llm.rope_scaling<type = dynamic, factor = 2.0, original_max_position_embeddings = 64>} { return }

// -----

// expected-error @+1 {{yarn rope scaling needs original_max_position_embeddings}}
func.func @f() attributes {s = #llm.rope_scaling<type = yarn, factor = 2.0>} { return }

// -----

// expected-error @+1 {{llama3 rope scaling needs original_max_position_embeddings}}
func.func @f() attributes {s = #llm.rope_scaling<type = llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0>} { return }

// -----

// expected-error @+1 {{yarn rope scaling needs positive attention_factor, beta_fast and beta_slow}}
func.func @f() attributes {s = #llm.rope_scaling<type = yarn, factor = 2.0, original_max_position_embeddings = 64, beta_slow = -1.0>} { return }

// -----

// expected-error @+1 {{rope scaling factor must be >= 1, got 5.000000e-01}}
func.func @f() attributes {s = #llm.rope_scaling<type = linear, factor = 0.5>} { return }
