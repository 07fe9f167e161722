// RUN: not sparse-opt --sparse-opt-csr-kernels="n-tile=3" %s 2>&1 | FileCheck %s
// CHECK: sparse-opt-csr-kernels: n-tile must be a power of two, got 3
func.func @f() {
  return
}
