// The first stage: stable ABI, parallel sparse loops, vector width by target.
// RUN: sparse-opt --sparse-opt-cpu-bufferize="target-cpu=skylake-avx512" %s | FileCheck %s --check-prefixes=CHECK,AVX512
// RUN: sparse-opt --sparse-opt-cpu-bufferize="target-cpu=haswell" %s | FileCheck %s --check-prefixes=CHECK,AVX2
// RUN: sparse-opt --sparse-opt-cpu-bufferize="target-cpu=skylake-avx512 target-features=-avx512f" %s | FileCheck %s --check-prefixes=CHECK,AVX2
// RUN: sparse-opt --sparse-opt-cpu-bufferize="vector-length=4" %s | FileCheck %s --check-prefixes=CHECK,VL4
// RUN: sparse-opt --sparse-opt-cpu-bufferize="vector-length=0 parallelization-strategy=none" %s | FileCheck %s --check-prefix=SCALAR
// The upstream sparsifier's loops when our kernels are off.
// RUN: sparse-opt --sparse-opt-cpu-bufferize="target-cpu=skylake-avx512 sparse-kernels=false" %s | FileCheck %s --check-prefixes=CHECK,UPSTREAM

#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 32 }>

// The public function takes the CSR weight as its pos / crd / val buffers
// (sparse-assembler) and forwards to the sparsified body.
// CHECK-LABEL: func.func @spmm(
// CHECK-SAME:      %{{.*}}: memref<?xi32>, %{{.*}}: memref<?xi32>, %{{.*}}: memref<?xf32>,
// CHECK-SAME:      %{{.*}}: memref<32x?xf32>) -> memref<64x?xf32>
// CHECK-SAME:      attributes {llvm.emit_c_interface}
// CHECK:         call @_internal_spmm
// CHECK-LABEL: func.func private @_internal_spmm(
// The row loop is the parallel one; N is vectorized with the target's
// width: by sparse-opt-csr-kernels (register tiles, FMA) unless it is off.
// CHECK:         scf.parallel
// AVX512:          vector.broadcast %{{.*}} : f32 to vector<16xf32>
// AVX512:          vector.fma %{{.*}} : vector<16xf32>
// AVX2:            vector.broadcast %{{.*}} : f32 to vector<8xf32>
// AVX2:            vector.fma %{{.*}} : vector<8xf32>
// VL4:             vector.broadcast %{{.*}} : f32 to vector<4xf32>
// VL4:             vector.fma %{{.*}} : vector<4xf32>
// UPSTREAM:        vector.broadcast %{{.*}} : f32 to vector<16xf32>
// UPSTREAM:        arith.mulf %{{.*}}, %{{.*}} : vector<16xf32>

// SCALAR-LABEL: func.func private @_internal_spmm(
// SCALAR-NOT:     scf.parallel
// SCALAR-NOT:     vector<
// SCALAR:         return
func.func @spmm(%a: tensor<64x32xf32, #CSR>, %b: tensor<32x?xf32>)
    -> tensor<64x?xf32> attributes { llvm.emit_c_interface } {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<32x?xf32>
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty(%n) : tensor<64x?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<64x?xf32>)
      -> tensor<64x?xf32>
  %c = linalg.matmul ins(%a, %b : tensor<64x32xf32, #CSR>, tensor<32x?xf32>)
      outs(%init : tensor<64x?xf32>) -> tensor<64x?xf32>
  return %c : tensor<64x?xf32>
}
