/* Harness for Execution/sddmm-run.test: calls the SDDMM of sddmm-4x5.mlir
 * on fixed Q, K and pattern, checks every value against the dot products
 * and reports whether the input values buffer was left alone. */
#include "sddmm.h"

#include <math.h>
#include <stdio.h>

int main(void) {
  float q[4 * 3], k[5 * 3];
  for (int i = 0; i < 12; ++i)
    q[i] = 0.25f * (i + 1);
  for (int i = 0; i < 15; ++i)
    k[i] = 0.5f * (i % 7) - 1.0f;
  /* Pattern (0,1) (0,4) (2,0) (2,2) (3,3); row 1 is empty. */
  int32_t pos[5] = {0, 2, 2, 4, 5}, crd[5] = {1, 4, 0, 2, 3};
  float val[5] = {1, -1, 0.5f, 0, 2};
  const float original[5] = {1, -1, 0.5f, 0, 2};
  int32_t outPos[5], outCrd[5];
  float outVal[5];
  SoMemRef2D qd = {q, q, 0, {4, 3}, {3, 1}}, kd = {k, k, 0, {5, 3}, {3, 1}};
  SoMemRef1D pd = {pos, pos, 0, {5}, {1}}, cd = {crd, crd, 0, {5}, {1}},
             vd = {val, val, 0, {5}, {1}};
  SoMemRef1D opd = {outPos, outPos, 0, {5}, {1}},
             ocd = {outCrd, outCrd, 0, {5}, {1}},
             ovd = {outVal, outVal, 0, {5}, {1}};
  sddmm_results r;
  _mlir_ciface_sddmm(&r, &qd, &kd, &pd, &cd, &vd, &opd, &ocd, &ovd);

  const float *v = (const float *)r.result2.aligned + r.result2.offset;
  const int32_t *rp = (const int32_t *)r.result0.aligned + r.result0.offset;
  const int32_t *rc = (const int32_t *)r.result1.aligned + r.result1.offset;
  int wrong = 0;
  for (int i = 0; i < 4; ++i) {
    if (rp[i] != pos[i])
      ++wrong;
    for (int p = pos[i]; p < pos[i + 1]; ++p) {
      float expected = 0;
      for (int c = 0; c < 3; ++c)
        expected += q[i * 3 + c] * k[crd[p] * 3 + c];
      if (rc[p] != crd[p] || fabsf(v[p] - expected) > 1e-6f * (1 + fabsf(expected)))
        ++wrong;
      printf("(%d,%d) %g\n", i, (int)crd[p], v[p]);
    }
  }
  int unchanged = 1;
  for (int p = 0; p < 5; ++p)
    unchanged &= val[p] == original[p];
  printf("entries wrong: %d\ninput values unchanged: %s\n", wrong,
         unchanged ? "yes" : "no");
  return wrong != 0;
}
