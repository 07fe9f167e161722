// Scalars, several results and several ranks in the generated header.
// RUN: rm -rf %t && mkdir -p %t
// RUN: sparse-compile %s -o %t/lib.so --header=%t/custom.h
// RUN: FileCheck %s < %t/custom.h
// RUN: echo '#include "custom.h"' > %t/use.c
// RUN: clang -fsyntax-only -Wall -Werror -std=c99 -I %t %t/use.c

// CHECK: #ifndef SPARSE_OPT_CUSTOM_H
// CHECK: typedef struct SoMemRef0D {
// CHECK-NEXT: void *allocated;
// CHECK-NEXT: void *aligned;
// CHECK-NEXT: int64_t offset;
// CHECK-NEXT: } SoMemRef0D;
// CHECK: typedef struct SoMemRef1D {
// CHECK: typedef struct SoMemRef3D {
// CHECK: int64_t sizes[3];

// CHECK: float _mlir_ciface_scale(
// CHECK-NEXT: float arg0 /* f32 */,
// CHECK-NEXT: int64_t arg1 /* index */);
func.func @scale(%x: f32, %i: index) -> f32 attributes { llvm.emit_c_interface } {
  return %x : f32
}

// CHECK: typedef struct pair_results {
// CHECK-NEXT: SoMemRef1D result0; /* memref<4xf32> */
// CHECK-NEXT: int32_t result1; /* i32 */
// CHECK-NEXT: } pair_results;
// CHECK: void _mlir_ciface_pair(
// CHECK-NEXT: pair_results *results,
// CHECK-NEXT: SoMemRef3D *arg0 /* memref<2x3x4xf64> */,
// CHECK-NEXT: SoMemRef0D *arg1 /* memref<i8> */);
func.func @pair(%t: tensor<2x3x4xf64>, %s: tensor<i8>) -> (tensor<4xf32>, i32)
    attributes { llvm.emit_c_interface } {
  %v = arith.constant dense<1.0> : tensor<4xf32>
  %c = arith.constant 7 : i32
  return %v, %c : tensor<4xf32>, i32
}

// Functions without the C interface are not declared.
// CHECK-NOT: hidden
func.func @hidden(%x: f32) -> f32 {
  return %x : f32
}
