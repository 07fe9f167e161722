// RUN: sparse-opt --split-input-file --sparse-opt-sparse-attention="vector-length=4 max-density=0.7 remarks=true" -verify-diagnostics %s | FileCheck %s

// Attention the pass leaves dense, each with the remark that says why
// (remarks=true). Each is the 3-D form of two heads, 4 queries, 4 keys:
// batch_matmul Q K^T, elementwise terms, linalg.softmax, batch_matmul with
// V; the window mask below allows 10 of 16 scores (0.625).

// -----

// A mask allowing 14 of 16 scores (0.875 > max-density).
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @too_dense(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @too_dense(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>) -> (tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %dense = arith.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %dense : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%s1 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention not applied: the mask allows 0.875 of the keys, more than max-density 0.7}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}

// -----

// The scores product asks to stay dense.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @forced_dense(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @forced_dense(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>) -> (tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul {sparse_opt.attention = "dense"} ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %window : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%s1 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention not applied: kept dense by sparse_opt.attention = "dense"}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}

// -----

// The probabilities are a result too (attention weights).
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @probabilities_used(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @probabilities_used(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>) -> (tensor<2x4x4xf32>, tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %window : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%s1 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention not applied: the probabilities have other uses than the context product}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context, %probs : tensor<2x4x4xf32>, tensor<2x4x4xf32>
}

// -----

// The masked scores are a result too.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @scores_used(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @scores_used(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>) -> (tensor<2x4x4xf32>, tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %window : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%s1 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention not applied: the scores feed other operations than the softmax}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context, %s1 : tensor<2x4x4xf32>, tensor<2x4x4xf32>
}

// -----

// A run-time bias [2, 4, 4] on the scores depends on the query: the
// pattern would not say which scores it leaves.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @query_dependent(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @query_dependent(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>, %bias: tensor<2x4x4xf32>) -> (tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %window : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %s2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s1, %bias : tensor<2x4x4xf32>, tensor<2x4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%s2 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention not applied: a run-time term on the scores depends on the query: only key (padding) masks keep the pattern}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}

// -----

// A constant mask [2, 4, 4] with a pattern per head.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @per_head_mask(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @per_head_mask(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>) -> (tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %heads = arith.constant dense<[[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]], [[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]]> : tensor<2x4x4xf32>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %heads : tensor<2x4x4xf32>, tensor<2x4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%s1 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention not applied: the constant mask differs between batches or heads}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}

// -----

// Two constant masks.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @two_masks(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @two_masks(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>) -> (tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %window : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %s2 = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s1, %window : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%s2 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention not applied: more than one constant mask on the scores}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}

// -----

// A select that replaces hidden scores by 0 does not mask them.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @select_zero(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @select_zero(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>) -> (tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %allowed = arith.constant dense<[[true, true, false, false], [true, true, true, false], [false, true, true, true], [false, false, true, true]]> : tensor<4x4xi1>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#mask, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%allowed, %s0 : tensor<4x4xi1>, tensor<2x4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%c: i1, %a: f32, %o: f32):
    %r = arith.select %c, %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%s1 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention not applied: a select on the scores replaces them by 0.00, which does not mask (masked-bias is -10000.00)}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}

// -----

// Scaling after the mask would scale the masked values too.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @scaled_after_mask(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @scaled_after_mask(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>) -> (tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %half = arith.constant 0.5 : f32
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %window : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %s2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s1 : tensor<2x4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %half : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%s2 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention not applied: the scores are scaled after a mask: masked entries would not stay masked}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}

// -----

// Only a run-time key mask: nothing static to exploit.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @no_constant_mask(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @no_constant_mask(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>, %padding: tensor<2x4xf32>) -> (tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #key, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %padding : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%s1 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention not applied: no constant mask on the scores (nothing static to exploit)}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}

// -----

// With a run-time key mask, rows it hides completely run densely, which
// needs the value of the entries the constant mask hides: here -10000 and
// -inf.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @mixed_fill(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @mixed_fill(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>, %padding: tensor<2x4xf32>) -> (tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %mixed = arith.constant dense<[[0.0, 0.0, -1.0e4, 0xFF800000], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #key, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %padding : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %s2 = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s1, %mixed : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%s2 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention not applied: the entries the mask hides do not all hold one value (needed for rows that the run-time masks hide completely)}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}

// -----

// A scale that is not a constant.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @runtime_scale(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @runtime_scale(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>, %factor: tensor<f32>) -> (tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %factor : tensor<2x4x4xf32>, tensor<f32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %r = arith.mulf %a, %c : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %s2 = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s1, %window : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%s2 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention not applied: the scores are scaled by something else than a constant}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}

// -----

// Other elementwise operations on the scores.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @soft_capping(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @soft_capping(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>) -> (tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %window : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %s2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s1 : tensor<2x4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.tanh %a : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%s2 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention not applied: unsupported operation on the scores: math.tanh}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}

// -----

// A softmax over the queries is not attention's: no remark.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
#key = affine_map<(b, i, j) -> (b, j)>
#scalar = affine_map<(b, i, j) -> ()>
// CHECK-LABEL: func.func @softmax_over_queries(
// CHECK-COUNT-2: linalg.batch_matmul
func.func @softmax_over_queries(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>, %v: tensor<2x4x4xf32>) -> (tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %window = arith.constant dense<[[0.0, 0.0, -1.0e4, -1.0e4], [0.0, 0.0, 0.0, -1.0e4], [-1.0e4, 0.0, 0.0, 0.0], [-1.0e4, -1.0e4, 0.0, 0.0]]> : tensor<4x4xf32>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0, %window : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(1) ins(%s1 : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}
