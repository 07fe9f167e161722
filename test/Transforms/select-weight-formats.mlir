// The decision at each crossover of a small made-up cost model
// (%inputs/cost-model-crossover.json), so that the expected choices follow
// from arithmetic rather than from the shipped calibration. With it, for
// N > 1: dense costs 1 ns per weight element and activation, CSR 4 ns per
// non-zero and activation (so CSR wins below density 1/4), BSR 4x4 2 ns
// per stored value (blocks whole) and activation, 2:4 1.5 ns per stored
// value; for N = 1 dense 1 ns per element, CSR 2 ns per non-zero (CSR
// wins below density 1/2); a sparse X W adds its two transposes at 1 ns
// per element. Every weight is 8 x 8 and N is 8 unless said otherwise, so
// dense costs 512 ns.
//
// Schedules (sparse_opt.schedule) are tested in select-weight-formats-schedule.mlir.
// RUN: sparse-opt %s --sparse-opt-select-weight-formats="cost-model=%inputs/cost-model-crossover.json target-cpu=skylake-avx512 schedules=false report=%t.txt" | FileCheck %s
// RUN: FileCheck %s --check-prefix=TEXT --input-file=%t.txt
// RUN: sparse-opt %s --sparse-opt-select-weight-formats="cost-model=%inputs/cost-model-crossover.json target-cpu=skylake-avx512 schedules=false report=%t.json report-format=json" -o /dev/null
// RUN: FileCheck %s --check-prefix=JSON --input-file=%t.json
// RUN: sparse-opt %s --sparse-opt-select-weight-formats="cost-model=%inputs/cost-model-crossover.json target-cpu=skylake-avx512 schedules=false dynamic-n=8" | FileCheck %s --check-prefix=N8
// The same through the pipeline option and sparse-compile's flag.
// RUN: sparse-compile %s -o %t.mlir --emit=mlir --target-cpu=skylake-avx512 --pipeline-options="weight-formats=auto cost-model=%inputs/cost-model-crossover.json weight-schedules=false" --sparse-opt-report=%t.pipeline.txt
// RUN: diff %t.txt %t.pipeline.txt
// sparse-opt --sparse-opt-report: the same report, the IR unchanged.
// RUN: sparse-opt %s --sparse-opt-report="cost-model=%inputs/cost-model-crossover.json target-cpu=skylake-avx512 schedules=false file=%t.explain.txt" | FileCheck %s --check-prefix=UNCHANGED
// RUN: diff %t.txt %t.explain.txt
// UNCHANGED-NOT: #sparse_tensor.encoding
// UNCHANGED: func.func @csr_above_crossover
// UNCHANGED-NOT: sparse_tensor.convert
// UNCHANGED-NOT: sparse_opt.format

// CHECK-DAG: #[[$CSR:.*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 16 }>
// CHECK-DAG: #[[$BSR:.*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 4 : dense, d1 floordiv 4 : compressed, d0 mod 4 : dense, d1 mod 4 : dense), posWidth = 32, crdWidth = 16 }>
// CHECK-DAG: #[[$NM:.*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 floordiv 4 : dense, d1 mod 4 : structured[2, 4]), posWidth = 32, crdWidth = 8 }>

// TEXT: # sparse-opt weight report: one row per layer.
// TEXT-SAME: N = activations (* = assumed, dynamic in the IR), the format chosen and why, predicted time per candidate

// A left weight W (8 x 8) times B: the kernels' form, rewritten in place.
// 15 non-zeros: CSR 480 ns < dense 512 ns (the 4 blocks all hold a
// non-zero: BSR 1024 ns; a group of 4 has 3 non-zeros: not 2:4).
// CHECK-LABEL: func.func @csr_above_crossover(
// CHECK-SAME:      %[[B:.*]]: tensor<8x8xf32>
// CHECK:         %[[W:.*]] = arith.constant sparse<
// CHECK:         %[[S:.*]] = sparse_tensor.convert %[[W]] : tensor<8x8xf32> to tensor<8x8xf32, #[[$CSR]]>
// CHECK:         linalg.matmul {sparse_opt.format = "csr"} ins(%[[S]], %[[B]] : tensor<8x8xf32, #[[$CSR]]>, tensor<8x8xf32>)
// TEXT: csr_above  linalg.matmul operand 0  8x8  sparsity 0.7656  nnz 15 {{.*}} N:M none  blocks 4x4:1.00/0.23  N 8  -> csr (fastest predicted, 1.07x faster than dense)  predicted dense 0.000512 ms csr 0.00048 ms bsr:4x4 0.001024 ms
// JSON:      "format": "csr",
// JSON-NEXT: "layer": "csr_above",
// JSON-NEXT: "n": 8,
// JSON-NEXT: "n_assumed": false,
// JSON:      "nonzeros": 15,
// JSON-NEXT: "op": "linalg.matmul",
// JSON-NEXT: "operand": 0,
// JSON-NEXT: "predicted": [
// JSON-NEXT:   {
// JSON-NEXT:     "format": "dense",
// JSON-NEXT:     "seconds": 5.1{{[0-9]*}}e-07
// JSON-NEXT:   },
// JSON-NEXT:   {
// JSON-NEXT:     "format": "csr",
// JSON-NEXT:     "seconds": 4.{{[0-9]*}}e-07
// JSON-NEXT:   },
// JSON-NEXT:   {
// JSON-NEXT:     "format": "bsr:4x4",
// JSON-NEXT:     "seconds": 1.02{{[0-9]*}}e-06
// JSON-NEXT:   }
// JSON-NEXT: ],
// JSON-NEXT: "reason": "fastest predicted, 1.07x faster than dense",

// 17 non-zeros: CSR 544 ns > 512 ns: dense, unchanged.
// CHECK-LABEL: func.func @csr_below_crossover(
// CHECK-NOT:     sparse_tensor.convert
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<8x8xf32>, tensor<8x8xf32>)
// TEXT: csr_below  {{.*}} nnz 17 {{.*}} N 8  -> dense (fastest predicted; csr 1.06x slower)  predicted dense 0.000512 ms csr 0.000544 ms bsr:4x4 0.001024 ms
// JSON: "format": "dense",
// JSON-NEXT: "layer": "csr_below",

// 9 non-zeros in one 4x4 block (fill 0.56): BSR 256 ns < CSR 288 ns.
// CHECK-LABEL: func.func @bsr_over_csr(
// CHECK:         sparse_tensor.convert %{{.*}} : tensor<8x8xf32> to tensor<8x8xf32, #[[$BSR]]>
// CHECK:         linalg.matmul {sparse_opt.format = "bsr:4x4"} ins(%{{.*}}, %{{.*}} : tensor<8x8xf32, #[[$BSR]]>, tensor<8x8xf32>)
// TEXT: bsr_over_csr  {{.*}} nnz 9 {{.*}} blocks 4x4:0.25/0.56  N 8  -> bsr:4x4 (fastest predicted, 2.00x faster than dense)  predicted dense 0.000512 ms csr 0.000288 ms bsr:4x4 0.000256 ms

// 7 non-zeros in one block (fill 0.44): CSR 224 ns < BSR 256 ns.
// CHECK-LABEL: func.func @csr_over_bsr(
// CHECK:         linalg.matmul {sparse_opt.format = "csr"} ins(%{{.*}}, %{{.*}} : tensor<8x8xf32, #[[$CSR]]>, tensor<8x8xf32>)
// TEXT: csr_over_bsr  {{.*}} nnz 7 {{.*}} -> csr (fastest predicted, 2.29x faster than dense)  predicted dense 0.000512 ms csr 0.000224 ms bsr:4x4 0.000256 ms

// 2 of every 4: 2:4 (384 ns) beats dense; CSR and BSR (every block
// holds a non-zero) cost 1024 ns.
// CHECK-LABEL: func.func @nm_conforming(
// CHECK:         linalg.matmul {sparse_opt.format = "nm:2:4"} ins(%{{.*}}, %{{.*}} : tensor<8x8xf32, #[[$NM]]>, tensor<8x8xf32>)
// TEXT: nm_conforming  {{.*}} sparsity 0.5000 {{.*}} N:M 2:4 {{.*}} -> nm:2:4 (fastest predicted, 1.33x faster than dense)  predicted dense 0.000512 ms csr 0.001024 ms bsr:4x4 0.001024 ms nm:2:4 0.000384 ms

// X W with a right weight: the sparse product adds the transposes of X
// and of the result, 128 ns. 11 non-zeros: 352 + 128 = 480 ns: CSR.
// CHECK-LABEL: func.func @right_csr(
// CHECK-SAME:      %[[X:.*]]: tensor<8x8xf32>
// CHECK:         %[[S:.*]] = sparse_tensor.convert %{{.*}} : tensor<8x8xf32> to tensor<8x8xf32, #[[$CSR]]>
// CHECK:         %[[XT:.*]] = linalg.transpose ins(%[[X]] : tensor<8x8xf32>) outs(%{{.*}} : tensor<8x8xf32>) permutation = [1, 0]
// CHECK:         %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<8x8xf32>)
// CHECK:         %[[PT:.*]] = linalg.matmul {sparse_opt.format = "csr"} ins(%[[S]], %[[XT]] : tensor<8x8xf32, #[[$CSR]]>, tensor<8x8xf32>) outs(%[[INIT]] : tensor<8x8xf32>)
// CHECK:         %[[P:.*]] = linalg.transpose ins(%[[PT]] : tensor<8x8xf32>) outs(%{{.*}} : tensor<8x8xf32>) permutation = [1, 0]
// CHECK:         return %[[P]]
// TEXT: right_csr  linalg.matmul operand 1  8x8  {{.*}} nnz 11 {{.*}} -> csr (fastest predicted, 1.07x faster than dense)  predicted dense 0.000512 ms csr 0.00048 ms bsr:4x4 0.001152 ms

// 13 non-zeros: 416 + 128 = 544 ns: dense (a left weight would be CSR).
// CHECK-LABEL: func.func @right_dense(
// CHECK-NOT:     linalg.transpose
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<8x8xf32>, tensor<8x8xf32>)
// TEXT: right_dense  linalg.matmul operand 1 {{.*}} nnz 13 {{.*}} -> dense (fastest predicted; csr 1.06x slower)  predicted dense 0.000512 ms csr 0.000544 ms bsr:4x4 0.001152 ms

// matvec (N = 1): dense 64 ns, CSR 2 ns per non-zero; no N = 1 fits for
// BSR and 2:4 in this model. 31 non-zeros: CSR.
// CHECK-LABEL: func.func @matvec_csr(
// CHECK:         linalg.matvec {sparse_opt.format = "csr"} ins(%{{.*}}, %{{.*}} : tensor<8x8xf32, #[[$CSR]]>, tensor<8xf32>)
// TEXT: matvec_csr  linalg.matvec operand 0 {{.*}} nnz 31 {{.*}} N 1  -> csr (fastest predicted, 1.03x faster than dense)  predicted dense 6.4e-05 ms csr 6.2e-05 ms{{$}}
// 33: dense.
// CHECK-LABEL: func.func @matvec_dense(
// CHECK:         linalg.matvec ins(%{{.*}}, %{{.*}} : tensor<8x8xf32>, tensor<8xf32>)
// TEXT: matvec_dense  {{.*}} nnz 33 {{.*}} -> dense (fastest predicted; csr 1.03x slower)  predicted dense 6.4e-05 ms csr 6.6e-05 ms{{$}}

// X with a dynamic row count: N is dynamic-n, 1 by default: the N = 1
// fits and transposes of 8 + 8 elements: CSR 26 + 16 = 42 ns < 64 ns.
// With dynamic-n=8 the weight of @right_dense stays dense.
// CHECK-LABEL: func.func @dynamic(
// CHECK:         linalg.transpose ins(%{{.*}} : tensor<?x8xf32>) outs(%{{.*}} : tensor<8x?xf32>)
// CHECK:         linalg.matmul {sparse_opt.format = "csr"} ins(%{{.*}}, %{{.*}} : tensor<8x8xf32, #[[$CSR]]>, tensor<8x?xf32>)
// TEXT: dynamic  {{.*}} N 1*  -> csr (fastest predicted, 1.52x faster than dense)  predicted dense 6.4e-05 ms csr 4.2e-05 ms{{$}}
// JSON:      "layer": "dynamic",
// JSON-NEXT: "n": 1,
// JSON-NEXT: "n_assumed": true,
// N8-LABEL: func.func @dynamic(
// N8-NOT:     linalg.transpose
// N8:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<8x8xf32>)

func.func @csr_above_crossover(%b: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<[[-1.6, 0.0, 0.0, 0.0, -1.9, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.1],
      [0.0, 1.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, -0.8, -1.8, -0.8, 0.0],
      [1.4, -1.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.8, 0.0, 0.7, 0.0, 0.0, 0.0, 1.9],
      [0.0, 0.8, 0.0, 1.6, 0.0, 0.0, 1.1, 0.0]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
  %c = linalg.matmul ins(%w, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("csr_above")
  return %c : tensor<8x8xf32>
}

func.func @csr_below_crossover(%b: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<[[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, -0.7, 0.0, 1.5, 0.0, 2.0, 0.0],
      [0.0, 0.0, -0.6, 0.0, 0.0, 0.0, 1.9, 0.0],
      [-0.5, 0.0, -1.1, -1.8, 0.0, 0.0, 0.0, 0.0],
      [-1.6, -1.0, 0.0, 0.0, 1.2, -1.7, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
      [0.0, 0.0, -1.7, -1.2, 0.0, 0.0, 0.0, 1.5]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
  %c = linalg.matmul ins(%w, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("csr_below")
  return %c : tensor<8x8xf32>
}

func.func @bsr_over_csr(%b: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<[[-1.5, -1.5, 1.0, -1.5, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, -0.8, 0.7, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 1.2, 0.0, 0.0, 0.0, 0.0],
      [-1.7, 0.0, -1.9, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
  %c = linalg.matmul ins(%w, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("bsr_over_csr")
  return %c : tensor<8x8xf32>
}

func.func @csr_over_bsr(%b: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<[[0.0, -1.7, 0.0, -0.6, 0.0, 0.0, 0.0, 0.0],
      [-1.5, 1.6, 0.0, -1.9, 0.0, 0.0, 0.0, 0.0],
      [0.0, -0.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, -0.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
  %c = linalg.matmul ins(%w, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("csr_over_bsr")
  return %c : tensor<8x8xf32>
}

func.func @nm_conforming(%b: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<[[0.0, 1.0, 0.0, 0.5, 0.0, 0.0, -0.6, 1.3],
      [-1.9, 0.0, 0.9, 0.0, -0.7, 1.2, 0.0, 0.0],
      [1.8, -1.6, 0.0, 0.0, 2.0, 0.0, 1.3, 0.0],
      [0.0, 1.6, -0.6, 0.0, 0.7, 0.0, 0.0, -1.9],
      [-1.1, -1.1, 0.0, 0.0, 0.0, 0.7, 0.0, 0.6],
      [0.9, 0.0, 0.0, 2.0, 0.0, 1.1, 0.0, 1.3],
      [-1.0, 0.0, 0.0, -0.7, 1.3, 0.0, 0.8, 0.0],
      [0.0, -1.7, -1.0, 0.0, 1.4, 0.0, -0.6, 0.0]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
  %c = linalg.matmul ins(%w, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("nm_conforming")
  return %c : tensor<8x8xf32>
}

func.func @right_csr(%x: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<[[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
      [0.5, -0.7, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.7, 0.0, -1.2, 0.0, 0.0],
      [0.0, 0.0, 0.0, 1.7, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 1.4, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.9],
      [-0.6, 0.0, 1.7, 1.8, 0.0, 0.0, 0.0, 0.0]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
  %y = linalg.matmul ins(%x, %w : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("right_csr")
  return %y : tensor<8x8xf32>
}

func.func @right_dense(%x: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<[[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, -1.3, 0.6, 0.0],
      [0.0, 0.0, 0.0, 0.0, -1.3, -2.0, 0.0, 0.0],
      [-0.7, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.7],
      [-1.2, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, -1.3],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.4],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5, -2.0]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
  %y = linalg.matmul ins(%x, %w : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("right_dense")
  return %y : tensor<8x8xf32>
}

func.func @matvec_csr(%x: tensor<8xf32>) -> tensor<8xf32> {
  %w = arith.constant dense<[[2.0, -1.0, 0.0, -1.8, 0.0, 1.6, 0.0, -0.8],
      [0.0, 1.3, -1.8, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 1.8, 0.0, 0.0, -1.6, 0.0, -0.6, 0.0],
      [-0.8, 0.0, 1.2, -1.6, 0.0, 1.9, 1.2, 0.0],
      [-0.7, -1.9, 1.5, -2.0, -1.9, 0.0, 1.4, 1.2],
      [0.0, 0.0, -1.5, 0.0, 1.1, 0.0, -1.5, -0.6],
      [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.1],
      [-1.6, 0.0, -1.3, 0.0, 0.0, 0.0, -1.9, 0.0]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %y = linalg.matvec ins(%w, %x : tensor<8x8xf32>, tensor<8xf32>)
      outs(%i : tensor<8xf32>) -> tensor<8xf32> loc("matvec_csr")
  return %y : tensor<8xf32>
}

func.func @matvec_dense(%x: tensor<8xf32>) -> tensor<8xf32> {
  %w = arith.constant dense<[[0.0, 0.0, 0.9, 0.9, 0.6, 0.0, -1.5, 1.1],
      [0.0, 0.0, -1.7, -1.7, 0.0, 0.0, 0.0, 0.0],
      [0.6, 0.0, 0.0, 0.5, 1.1, 1.4, 0.0, 0.0],
      [-0.9, 0.0, -1.3, 1.7, 1.7, -1.4, 0.8, 0.0],
      [0.6, 0.9, 1.3, 0.7, 0.0, 0.0, 0.0, -1.3],
      [0.0, -0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 1.2, 0.0, -1.4, 1.4, -1.8, -0.7, 1.6],
      [0.0, -1.9, -1.9, -1.2, 0.0, 0.0, 0.0, -1.7]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %y = linalg.matvec ins(%w, %x : tensor<8x8xf32>, tensor<8xf32>)
      outs(%i : tensor<8xf32>) -> tensor<8xf32> loc("matvec_dense")
  return %y : tensor<8xf32>
}

func.func @dynamic(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x8xf32>
  %w = arith.constant dense<[[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, -1.3, 0.6, 0.0],
      [0.0, 0.0, 0.0, 0.0, -1.3, -2.0, 0.0, 0.0],
      [-0.7, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.7],
      [-1.2, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, -1.3],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.4],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5, -2.0]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
  %y = linalg.matmul ins(%x, %w : tensor<?x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<?x8xf32>) -> tensor<?x8xf32> loc("dynamic")
  return %y : tensor<?x8xf32>
}
