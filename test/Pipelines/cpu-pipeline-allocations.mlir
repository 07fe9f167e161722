// Temporaries go through the library's allocation functions
// (lib/Runtime/BufferCache.c), which keep large freed blocks for the next
// call; reuse-large-buffers=false leaves them to malloc and free. Both with
// and without OpenMP (memref is lowered at different points).
// RUN: sparse-opt --sparse-opt-cpu-pipeline="target-cpu=haswell" %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-cpu-pipeline="target-cpu=haswell openmp=false" %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-cpu-pipeline="target-cpu=haswell reuse-large-buffers=false" %s | FileCheck %s --check-prefix=MALLOC
// RUN: sparse-opt --sparse-opt-cpu-pipeline="target-cpu=haswell openmp=false reuse-large-buffers=false" %s | FileCheck %s --check-prefix=MALLOC
// The library links them in, hidden: not exported, so that every library
// keeps a cache of its own.
// RUN: sparse-compile %s -o %t.so --no-header --target-cpu=haswell
// RUN: nm %t.so | FileCheck %s --check-prefix=LINKED
// RUN: nm -D %t.so | FileCheck %s --check-prefix=EXPORTS

// CHECK-LABEL: llvm.func @scale(
// CHECK:         llvm.call @_mlir_memref_to_llvm_alloc(
// CHECK:         llvm.call @_mlir_memref_to_llvm_free(
// CHECK-NOT:     @malloc
// CHECK-NOT:     @free

// MALLOC-LABEL: llvm.func @scale(
// MALLOC:         llvm.call @malloc(
// MALLOC:         llvm.call @free(
// MALLOC-NOT:     _mlir_memref_to_llvm

// LINKED-DAG: t _mlir_memref_to_llvm_alloc
// LINKED-DAG: t _mlir_memref_to_llvm_free

// EXPORTS-NOT: _mlir_memref_to_llvm
// EXPORTS:     T _mlir_ciface_scale
// EXPORTS-NOT: _mlir_memref_to_llvm

// exp(X), 512 KiB, is a temporary that the call frees.
func.func @scale(%x: tensor<256x512xf32>, %w: tensor<512x64xf32>)
    -> tensor<256x64xf32> attributes { llvm.emit_c_interface } {
  %e = tensor.empty() : tensor<256x512xf32>
  %a = linalg.elementwise kind=#linalg.elementwise_kind<exp>
      ins(%x : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>)
      -> tensor<256x512xf32>
  %zero = arith.constant 0.0 : f32
  %f = tensor.empty() : tensor<256x64xf32>
  %i = linalg.fill ins(%zero : f32) outs(%f : tensor<256x64xf32>)
      -> tensor<256x64xf32>
  %y = linalg.matmul ins(%a, %w : tensor<256x512xf32>, tensor<512x64xf32>)
      outs(%i : tensor<256x64xf32>) -> tensor<256x64xf32>
  return %y : tensor<256x64xf32>
}
