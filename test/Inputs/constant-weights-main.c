/* Harness for Execution/constant-weights.test: calls both entry points of
 * constant-weights.mlir on a fixed B and prints C. */
#include "constant-weights.h"

#include <stdio.h>
#include <stdlib.h>

typedef void (*Entry)(SoMemRef2D *, SoMemRef2D *);

static void run(const char *name, Entry entry) {
  float b[4 * 2] = {1, 2, 3, 4, 5, 6, 7, 8};
  SoMemRef2D bDescriptor = {b, b, 0, {4, 2}, {2, 1}}, result;
  entry(&result, &bDescriptor);
  const float *c = (const float *)result.aligned + result.offset;
  printf("%s: %lld x %lld\n", name, (long long)result.sizes[0],
         (long long)result.sizes[1]);
  for (int i = 0; i < 3; ++i)
    printf("%g %g\n", c[i * result.strides[0]],
           c[i * result.strides[0] + result.strides[1]]);
  free(result.allocated);
}

int main(void) {
  run("spmm", _mlir_ciface_spmm);
  run("spmm_sparse_const", _mlir_ciface_spmm_sparse_const);
  return 0;
}
