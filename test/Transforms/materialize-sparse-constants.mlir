// RUN: sparse-opt --sparse-opt-materialize-sparse-constants %s -split-input-file -verify-diagnostics | FileCheck %s

#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 16 }>

// A dense constant converted to CSR: zeros are dropped, an empty row keeps
// its position, and the dense original disappears.
// CHECK-LABEL: func.func @convert_dense(
// CHECK-NOT:     dense<{{\[\[}}
// CHECK-DAG:     %[[POS:.*]] = arith.constant dense<[0, 2, 2, 4]> : tensor<4xi32>
// CHECK-DAG:     %[[CRD:.*]] = arith.constant dense<[0, 3, 1, 3]> : tensor<4xi16>
// CHECK-DAG:     %[[VAL:.*]] = arith.constant dense<[1.000000e+00, -2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>
// CHECK:         %[[A:.*]] = sparse_tensor.assemble (%[[POS]], %[[CRD]]), %[[VAL]] : (tensor<4xi32>, tensor<4xi16>), tensor<4xf32> to tensor<3x4xf32, #{{.*}}>
// CHECK-NOT:     sparse_tensor.convert
// CHECK:         return %[[A]]
func.func @convert_dense() -> tensor<3x4xf32, #CSR> {
  %w = arith.constant dense<[[1.0, 0.0, 0.0, -2.0], [0.0, 0.0, -0.0, 0.0], [0.0, 3.0, 0.0, 4.0]]> : tensor<3x4xf32>
  %a = sparse_tensor.convert %w : tensor<3x4xf32> to tensor<3x4xf32, #CSR>
  return %a : tensor<3x4xf32, #CSR>
}

// -----

#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>

// Sparse elements in any order, converted; index positions and coordinates.
// CHECK-LABEL: func.func @convert_sparse(
// CHECK-DAG:     arith.constant dense<[0, 1, 1, 3]> : tensor<4xindex>
// CHECK-DAG:     arith.constant dense<[2, 0, 1]> : tensor<3xindex>
// CHECK-DAG:     arith.constant dense<[5.000000e+00, 6.000000e+00, 7.000000e+00]> : tensor<3xf64>
// CHECK:         sparse_tensor.assemble
func.func @convert_sparse() -> tensor<3x3xf64, #CSR> {
  %w = arith.constant sparse<[[2, 1], [0, 2], [2, 0]], [7.0, 5.0, 6.0]> : tensor<3x3xf64>
  %a = sparse_tensor.convert %w : tensor<3x3xf64> to tensor<3x3xf64, #CSR>
  return %a : tensor<3x3xf64, #CSR>
}

// -----

#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>

// A constant of the sparse type itself; a splat is all non-zeros.
// CHECK-LABEL: func.func @sparse_typed(
// CHECK-DAG:     arith.constant dense<[0, 2, 4]> : tensor<3xindex>
// CHECK-DAG:     arith.constant dense<[0, 1, 0, 1]> : tensor<4xindex>
// CHECK-DAG:     arith.constant dense<2.500000e+00> : tensor<4xf32>
// CHECK:         sparse_tensor.assemble
func.func @sparse_typed() -> tensor<2x2xf32, #CSR> {
  %a = arith.constant dense<2.5> : tensor<2x2xf32, #CSR>
  return %a : tensor<2x2xf32, #CSR>
}

// -----

#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>

// All zeros: positions say so; coordinates and values keep one unused
// slot (zero-length buffers trip bufferization).
// CHECK-LABEL: func.func @all_zero(
// CHECK-DAG:     arith.constant dense<0> : tensor<3xindex>
// CHECK-DAG:     arith.constant dense<0> : tensor<1xindex>
// CHECK-DAG:     arith.constant dense<0.000000e+00> : tensor<1xf32>
// CHECK:         sparse_tensor.assemble
func.func @all_zero() -> tensor<2x5xf32, #CSR> {
  %w = arith.constant dense<0.0> : tensor<2x5xf32>
  %a = sparse_tensor.convert %w : tensor<2x5xf32> to tensor<2x5xf32, #CSR>
  return %a : tensor<2x5xf32, #CSR>
}

// -----

#CSC = #sparse_tensor.encoding<{ map = (d0, d1) -> (d1 : dense, d0 : compressed) }>
#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>

// Other formats and non-constant sources are left to the sparsifier.
// CHECK-LABEL: func.func @left_alone(
// CHECK:         sparse_tensor.convert %{{.*}} : tensor<2x2xf32> to tensor<2x2xf32, #{{.*}}>
// CHECK:         sparse_tensor.convert %{{.*}} : tensor<2x2xf32> to tensor<2x2xf32, #{{.*}}>
// CHECK-NOT:     sparse_tensor.assemble
func.func @left_alone(%x: tensor<2x2xf32>) -> (tensor<2x2xf32, #CSC>, tensor<2x2xf32, #CSR>) {
  %w = arith.constant dense<1.0> : tensor<2x2xf32>
  %a = sparse_tensor.convert %w : tensor<2x2xf32> to tensor<2x2xf32, #CSC>
  %b = sparse_tensor.convert %x : tensor<2x2xf32> to tensor<2x2xf32, #CSR>
  return %a, %b : tensor<2x2xf32, #CSC>, tensor<2x2xf32, #CSR>
}

// -----

#CSR8 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 8, crdWidth = 8 }>

// 300 non-zeros do not fit 8-bit positions.
func.func @too_narrow() -> tensor<1x300xf32, #CSR8> {
  %w = arith.constant dense<1.0> : tensor<1x300xf32>
  // expected-error @+1 {{constant weight with 300 stored entries and coordinates up to 299 does not fit the encoding's positions ('i8') and coordinates ('i8'); widen posWidth / crdWidth}}
  %a = sparse_tensor.convert %w : tensor<1x300xf32> to tensor<1x300xf32, #CSR8>
  return %a : tensor<1x300xf32, #CSR8>
}

// -----

#BSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 2 : dense, d1 floordiv 2 : compressed, d0 mod 2 : dense, d1 mod 2 : dense), posWidth = 32, crdWidth = 32 }>

// BSR 2 x 2: block row 0 stores blocks 0 and 1 (block 1 partial, zero
// filled), block row 1 none, block row 2 block 1; values block by block,
// row-major. Assembled in level space, then reinterpreted.
// CHECK-LABEL: func.func @convert_bsr(
// CHECK-DAG:     %[[POS:.*]] = arith.constant dense<[0, 2, 2, 3]> : tensor<4xi32>
// CHECK-DAG:     %[[CRD:.*]] = arith.constant dense<[0, 1, 1]> : tensor<3xi32>
// CHECK-DAG:     %[[VAL:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 0.000000e+00, 5.000000e+00, 0.000000e+00, 0.000000e+00, 6.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]> : tensor<12xf32>
// CHECK:         %[[L:.*]] = sparse_tensor.assemble (%[[POS]], %[[CRD]]), %[[VAL]] : {{.*}} to tensor<3x2x2x2xf32, #{{.*}}>
// CHECK:         %[[A:.*]] = sparse_tensor.reinterpret_map %[[L]] : tensor<3x2x2x2xf32, #{{.*}}> to tensor<6x4xf32, #{{.*}}>
// CHECK:         return %[[A]]
func.func @convert_bsr() -> tensor<6x4xf32, #BSR> {
  %w = arith.constant dense<[[1.0, 2.0, 0.0, 5.0], [3.0, 4.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 6.0, 0.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<6x4xf32>
  %a = sparse_tensor.convert %w : tensor<6x4xf32> to tensor<6x4xf32, #BSR>
  return %a : tensor<6x4xf32, #BSR>
}

// -----

#BSR41 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 4 : dense, d1 : compressed, d0 mod 4 : dense) }>

// 4 x 1 blocks (no level for the single column), from sparse elements.
// CHECK-LABEL: func.func @convert_bsr_column_blocks(
// CHECK-DAG:     arith.constant dense<[0, 2]> : tensor<2xindex>
// CHECK-DAG:     arith.constant dense<[0, 2]> : tensor<2xindex>
// CHECK-DAG:     arith.constant dense<[0.000000e+00, 7.000000e+00, 0.000000e+00, 0.000000e+00, 8.000000e+00, 0.000000e+00, 0.000000e+00, 9.000000e+00]> : tensor<8xf32>
// CHECK:         sparse_tensor.assemble {{.*}} to tensor<1x3x4xf32, #{{.*}}>
// CHECK:         sparse_tensor.reinterpret_map
func.func @convert_bsr_column_blocks() -> tensor<4x3xf32, #BSR41> {
  %w = arith.constant sparse<[[1, 0], [3, 2], [0, 2]], [7.0, 9.0, 8.0]> : tensor<4x3xf32>
  %a = sparse_tensor.convert %w : tensor<4x3xf32> to tensor<4x3xf32, #BSR41>
  return %a : tensor<4x3xf32, #BSR41>
}

// -----

#NV24 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 floordiv 4 : dense, d1 mod 4 : structured[2, 4]), crdWidth = 8 }>

// 2:4: two values per group with their in-group positions; a group with
// one non-zero is padded with a zero at its lowest free position, an empty
// group with two.
// CHECK-LABEL: func.func @convert_nm(
// CHECK-DAG:     %[[CRD:.*]] = arith.constant dense<[0, 3, 1, 2, 0, 1, 0, 2]> : tensor<8xi8>
// CHECK-DAG:     %[[VAL:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 5.000000e+00]> : tensor<8xf32>
// CHECK:         %[[A:.*]] = sparse_tensor.assemble (%[[CRD]]), %[[VAL]] : (tensor<8xi8>), tensor<8xf32> to tensor<2x8xf32, #{{.*}}>
// CHECK:         return %[[A]]
func.func @convert_nm() -> tensor<2x8xf32, #NV24> {
  %w = arith.constant dense<[[1.0, 0.0, 0.0, 2.0, 0.0, 3.0, 4.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 0.0]]> : tensor<2x8xf32>
  %a = sparse_tensor.convert %w : tensor<2x8xf32> to tensor<2x8xf32, #NV24>
  return %a : tensor<2x8xf32, #NV24>
}

// -----

#NV24 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 floordiv 4 : dense, d1 mod 4 : structured[2, 4]) }>

// A constant that is not 2:4 is rejected, naming the group; it is not
// pruned behind the user's back.
func.func @not_nm() -> tensor<2x8xf32, #NV24> {
  %w = arith.constant dense<[[1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 3.0, 4.0, 5.0, 0.0]]> : tensor<2x8xf32>
  // expected-error @+1 {{constant weight is not 2:4: row 1, columns 4..7 hold 3 non-zeros}}
  %a = sparse_tensor.convert %w : tensor<2x8xf32> to tensor<2x8xf32, #NV24>
  return %a : tensor<2x8xf32, #NV24>
}
