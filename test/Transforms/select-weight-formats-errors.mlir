// Errors of sparse-opt-select-weight-formats: bad options, bad cost-model
// files, and formats asked for that cannot store a weight.
//
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="formats=coo" 2>&1 | FileCheck %s --check-prefix=FORMATS
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="overrides=fc1" 2>&1 | FileCheck %s --check-prefix=OVERRIDE
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="overrides=fc1=coo" 2>&1 | FileCheck %s --check-prefix=OVERRIDE-FORMAT
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="overrides=[=csr" 2>&1 | FileCheck %s --check-prefix=GLOB
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="formats=csr min-sparsity=1.5" 2>&1 | FileCheck %s --check-prefix=SPARSITY
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="formats=csr index-bits=16" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="formats=csr dynamic-n=0" 2>&1 | FileCheck %s --check-prefix=DYNAMIC
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="formats=csr report=- report-format=xml" 2>&1 | FileCheck %s --check-prefix=REPORT
//
// Cost models: missing, not JSON, malformed, another vector width.
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="cost-model=%t.missing.json" 2>&1 | FileCheck %s --check-prefix=MISSING -DFILE=%t.missing.json
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="cost-model=%s" 2>&1 | FileCheck %s --check-prefix=NOTJSON
// RUN: sed 's/stored_n/flops/' %inputs/cost-model-crossover.json > %t.feature.json
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="cost-model=%t.feature.json target-cpu=skylake-avx512" 2>&1 | FileCheck %s --check-prefix=FEATURE
// RUN: sed 's/"vector_bits": 512/"vector_bits": "wide"/' %inputs/cost-model-crossover.json > %t.bits.json
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="cost-model=%t.bits.json target-cpu=skylake-avx512" 2>&1 | FileCheck %s --check-prefix=VECTORBITS
// RUN: sed 's/"sparse_opt_cost_model": 1/"sparse_opt_cost_model": 7/' %inputs/cost-model-crossover.json > %t.version.json
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="cost-model=%t.version.json target-cpu=skylake-avx512" 2>&1 | FileCheck %s --check-prefix=VERSION
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="cost-model=%inputs/cost-model-crossover.json target-cpu=haswell" 2>&1 | FileCheck %s --check-prefix=WIDTH
// Another CPU of the same vector width: a warning (and the layers' own
// errors below).
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="cost-model=%inputs/cost-model-crossover.json target-cpu=icelake-server" 2>&1 | FileCheck %s --check-prefix=CPU
//
// Formats asked for by attribute or override must store the weight.
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="formats=dense" 2>&1 | FileCheck %s --check-prefix=LAYER
// RUN: not sparse-opt %s --split-input-file --sparse-opt-select-weight-formats="formats=dense overrides=fc_plain=bsr:3x3" 2>&1 | FileCheck %s --check-prefix=LAYER-OVERRIDE

// FORMATS: error: sparse-opt-select-weight-formats: formats must be auto, dense, csr, bsr:RxC or nm:N:M, got 'coo'
// OVERRIDE: error: sparse-opt-select-weight-formats: overrides: expected PATTERN=FORMAT with FORMAT dense, csr, bsr:RxC or nm:N:M, got 'fc1'
// OVERRIDE-FORMAT: error: sparse-opt-select-weight-formats: overrides: expected PATTERN=FORMAT with FORMAT dense, csr, bsr:RxC or nm:N:M, got 'fc1=coo'
// GLOB: error: sparse-opt-select-weight-formats: overrides: bad pattern '[': invalid glob pattern, unmatched '['
// SPARSITY: error: sparse-opt-select-weight-formats: min-sparsity must be in [0, 1], got 1.5
// BITS: error: sparse-opt-select-weight-formats: index-bits must be 32 or 64, got 16
// DYNAMIC: error: sparse-opt-select-weight-formats: dynamic-n must be at least 1, got 0
// REPORT: error: sparse-opt-select-weight-formats: report-format must be 'text' or 'json', got 'xml'
// MISSING: error: sparse-opt-select-weight-formats: [[FILE]]: cannot read the cost model: No such file or directory
// NOTJSON: error: sparse-opt-select-weight-formats: {{.*}}select-weight-formats-errors.mlir: not valid JSON: [1:1, byte=1]: Invalid JSON value
// FEATURE: error: sparse-opt-select-weight-formats: {{.*}}.feature.json: not a sparse-opt cost model (unknown feature (see docs/cost-model.md for the names) at cost model.formats.{{[^ ]*}}.matrix.features[0])
// VECTORBITS: error: sparse-opt-select-weight-formats: {{.*}}.bits.json: not a sparse-opt cost model (expected unsigned integer at cost model.target.vector_bits)
// VERSION: error: sparse-opt-select-weight-formats: {{.*}}.version.json: cost model format version 7, this compiler reads version 1
// WIDTH: error: sparse-opt-select-weight-formats: {{.*}}cost-model-crossover.json: the cost model was measured on skylake-avx512 with 512-bit vectors, the target (haswell) has 256-bit vectors, so other kernels run: calibrate for it (scripts/calibrate.py --target-cpu haswell) or give a model of that width
// CPU: warning: sparse-opt-select-weight-formats: the cost model {{.*}}cost-model-crossover.json was measured on skylake-avx512, the target is icelake-server (same vector width): predictions may be off

// A weight that is storable in every format but 2:4 (a group of four
// columns holds three non-zeros) and 3x3 blocks (they do not tile 8x8).
func.func @plain(%b: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<[[-1.6, 0.0, 0.0, 0.0, -1.9, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.1],
      [0.0, 1.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, -0.8, -1.8, -0.8, 0.0],
      [1.4, -1.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.8, 0.0, 0.7, 0.0, 0.0, 0.0, 1.9],
      [0.0, 0.8, 0.0, 1.6, 0.0, 0.0, 1.1, 0.0]]> : tensor<8x8xf32>
  %c = linalg.matmul ins(%w, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%b : tensor<8x8xf32>) -> tensor<8x8xf32> loc("fc_plain")
  return %c : tensor<8x8xf32>
}

// -----

// LAYER: error: loc("{{[a-z_]*}}"): sparse-opt-select-weight-formats: layer 'fc_nm': sparse_opt.format attribute asks for nm:2:4, which cannot store the weight exactly: 1 groups of 4 columns hold more than 2 non-zeros
// CPU: error: loc("{{[a-z_]*}}"): sparse-opt-select-weight-formats: layer 'fc_nm': sparse_opt.format attribute asks for nm:2:4
func.func @nm_violated(%b: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<[[-1.6, 0.0, 0.0, 0.0, -1.9, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.1],
      [0.0, 1.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, -0.8, -1.8, -0.8, 0.0],
      [1.4, -1.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.8, 0.0, 0.7, 0.0, 0.0, 0.0, 1.9],
      [0.0, 0.8, 0.0, 1.6, 0.0, 0.0, 1.1, 0.0]]> : tensor<8x8xf32>
  %c = linalg.matmul {sparse_opt.format = "nm:2:4"} ins(%w, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%b : tensor<8x8xf32>) -> tensor<8x8xf32> loc("fc_nm")
  return %c : tensor<8x8xf32>
}

// -----

// LAYER: error: loc("{{[a-z_]*}}"): sparse-opt-select-weight-formats: layer 'fc_bad': sparse_opt.format must be a string: dense, csr, bsr:RxC or nm:N:M, got "coo"
func.func @bad_attribute(%b: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<[[-1.6, 0.0, 0.0, 0.0, -1.9, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.1],
      [0.0, 1.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, -0.8, -1.8, -0.8, 0.0],
      [1.4, -1.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.8, 0.0, 0.7, 0.0, 0.0, 0.0, 1.9],
      [0.0, 0.8, 0.0, 1.6, 0.0, 0.0, 1.1, 0.0]]> : tensor<8x8xf32>
  %c = linalg.matmul {sparse_opt.format = "coo"} ins(%w, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%b : tensor<8x8xf32>) -> tensor<8x8xf32> loc("fc_bad")
  return %c : tensor<8x8xf32>
}

// -----

// LAYER: error: loc("{{[a-z_]*}}"): sparse-opt-select-weight-formats: layer 'fc_int': sparse_opt.format attribute asks for csr, but sparse weights need an f32 matmul or matvec on dense tensors
func.func @integer(%b: tensor<8x8xi32>) -> tensor<8x8xi32> {
  %w = arith.constant dense<[[1, 0, 0, 0, 1, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 1],
      [0, 1, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 1, 1, 1, 0],
      [1, 1, 0, 0, 0, 0, 0, 0],
      [0, 1, 0, 1, 0, 0, 0, 1],
      [0, 1, 0, 1, 0, 0, 1, 0]]> : tensor<8x8xi32>
  %c = linalg.matmul {sparse_opt.format = "csr"} ins(%w, %b : tensor<8x8xi32>, tensor<8x8xi32>)
      outs(%b : tensor<8x8xi32>) -> tensor<8x8xi32> loc("fc_int")
  return %c : tensor<8x8xi32>
}

// LAYER-OVERRIDE: error: loc("{{[a-z_]*}}"): sparse-opt-select-weight-formats: layer 'fc_plain': override 'fc_plain' asks for bsr:3x3, which cannot store the weight exactly: 3x3 blocks do not tile the 8x8 weight
