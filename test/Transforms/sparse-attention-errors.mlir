// Bad options and attributes are errors naming them.
// RUN: not sparse-opt --sparse-opt-sparse-attention="max-density=1.5" %s 2>&1 | FileCheck %s --check-prefix=DENSITY
// RUN: not sparse-opt --sparse-opt-sparse-attention="masked-bias=0" %s 2>&1 | FileCheck %s --check-prefix=BIAS
// RUN: not sparse-opt --sparse-opt-sparse-attention="n-tile=3" %s 2>&1 | FileCheck %s --check-prefix=TILE
// RUN: sparse-opt --split-input-file --sparse-opt-sparse-attention -verify-diagnostics %s

// DENSITY: error: sparse-opt-sparse-attention: max-density must be in [0, 1], got 1.5
// BIAS: error: sparse-opt-sparse-attention: masked-bias must be negative (added values at or below it mask a key), got 0
// TILE: error: sparse-opt-sparse-attention: n-tile must be a power of two, got 3

func.func @unknown_value(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-error @below {{sparse_opt.attention must be "sparse" or "dense", got "fast"}}
  %s = linalg.batch_matmul {sparse_opt.attention = "fast"}
      ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %s : tensor<2x4x4xf32>
}

// -----

func.func @not_a_string(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-error @below {{sparse_opt.attention must be "sparse" or "dense", got true}}
  %s = linalg.batch_matmul {sparse_opt.attention = true}
      ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %s : tensor<2x4x4xf32>
}
