// Between BSR shapes of one weight: a 4x1 block is never chosen where 4x4
// blocks store the same values (the 4x4 kernel then does the same work over
// fewer blocks), even though the made-up model
// (%inputs/cost-model-block-shapes.json) predicts 4x1 twice as fast per
// stored value as 4x4; where 4x4 blocks store zeros the 4x1 block saves,
// the prediction decides. Every weight is 8 x 8 and N is 8: dense costs
// 512 ns.
// RUN: sparse-opt %s --sparse-opt-select-weight-formats="cost-model=%inputs/cost-model-block-shapes.json target-cpu=skylake-avx512 schedules=false report=%t.txt" | FileCheck %s
// RUN: FileCheck %s --check-prefix=TEXT --input-file=%t.txt
// RUN: sparse-opt %s --sparse-opt-select-weight-formats="cost-model=%inputs/cost-model-block-shapes.json target-cpu=skylake-avx512 schedules=false report=%t.json report-format=json" -o /dev/null
// RUN: FileCheck %s --check-prefix=JSON --input-file=%t.json

// One whole 4x4 block: 16 values either way; 4x4 256 ns, 4x1 128 ns.
// CHECK-LABEL: func.func @whole_block_stays_4x4(
// CHECK:         linalg.matmul {sparse_opt.format = "bsr:4x4"}
// TEXT: whole_block_stays_4x4  {{.*}} nnz 16 {{.*}} -> bsr:4x4 (fastest predicted, 2.00x faster than dense; not bsr:4x1, predicted faster: bsr:4x4 stores the same values in wider blocks)  predicted dense 0.000512 ms csr 0.001024 ms bsr:4x1 0.000128 ms bsr:4x4 0.000256 ms
// JSON: "reason": "fastest predicted, 2.00x faster than dense; not bsr:4x1, predicted faster: bsr:4x4 stores the same values in wider blocks"

// One column of a block: 4x4 stores 16 values (12 zeros), 4x1 only the 4.
// CHECK-LABEL: func.func @column_is_4x1(
// CHECK:         linalg.matmul {sparse_opt.format = "bsr:4x1"}
// TEXT: column_is_4x1  {{.*}} nnz 4 {{.*}} -> bsr:4x1 (fastest predicted, 16.00x faster than dense)  predicted dense 0.000512 ms csr 0.000256 ms bsr:4x1 3.2e-05 ms bsr:4x4 0.000256 ms

// Three whole blocks: 4x4 768 ns is slower than dense, 4x1 (384 ns) is
// passed over: dense, and the runner-up named is 4x4, not 4x1.
// CHECK-LABEL: func.func @dense_over_whole_blocks(
// CHECK-NOT:     sparse_opt.format
// CHECK:         linalg.matmul ins
// TEXT: dense_over_whole_blocks  {{.*}} nnz 48 {{.*}} -> dense (fastest predicted; bsr:4x4 1.50x slower; not bsr:4x1, predicted faster: bsr:4x4 stores the same values in wider blocks)  predicted dense 0.000512 ms csr 0.003072 ms bsr:4x1 0.000384 ms bsr:4x4 0.000768 ms

func.func @whole_block_stays_4x4(%b: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<[[0.0, 0.0, 0.0, 0.0, 1.5, -0.7, 1.2, -1.9],
      [0.0, 0.0, 0.0, 0.0, 0.8, -1.1, 1.7, -0.6],
      [0.0, 0.0, 0.0, 0.0, 1.3, -1.4, 1.5, -0.7],
      [0.0, 0.0, 0.0, 0.0, 1.2, -1.9, 0.8, -1.1],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
  %c = linalg.matmul ins(%w, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("whole_block_stays_4x4")
  return %c : tensor<8x8xf32>
}

func.func @column_is_4x1(%b: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<[[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [1.7, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [-0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [1.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [-1.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
  %c = linalg.matmul ins(%w, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("column_is_4x1")
  return %c : tensor<8x8xf32>
}

func.func @dense_over_whole_blocks(%b: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<[[1.5, -0.7, 1.2, -1.9, 1.7, -0.6, 1.3, -1.4],
      [0.8, -1.1, 1.7, -0.6, 1.5, -0.7, 1.2, -1.9],
      [1.3, -1.4, 1.5, -0.7, 0.8, -1.1, 1.7, -0.6],
      [1.2, -1.9, 0.8, -1.1, 1.3, -1.4, 1.5, -0.7],
      [0.0, 0.0, 0.0, 0.0, 1.2, -1.9, 0.8, -1.1],
      [0.0, 0.0, 0.0, 0.0, 1.7, -0.6, 1.3, -1.4],
      [0.0, 0.0, 0.0, 0.0, 1.5, -0.7, 1.2, -1.9],
      [0.0, 0.0, 0.0, 0.0, 0.8, -1.1, 1.7, -0.6]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
  %c = linalg.matmul ins(%w, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("dense_over_whole_blocks")
  return %c : tensor<8x8xf32>
}
