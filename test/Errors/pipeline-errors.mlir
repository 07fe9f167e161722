// RUN: not sparse-opt --sparse-opt-cpu-pipeline="target-cpu=pentium9000" %s 2>&1 | FileCheck %s --check-prefix=CPU
// RUN: not sparse-opt --sparse-opt-cpu-pipeline="vector-width=8" %s 2>&1 | FileCheck %s --check-prefix=OPTION
// RUN: not sparse-opt --sparse-opt-cpu-pipeline="parallelization-strategy=sometimes" %s 2>&1 | FileCheck %s --check-prefix=ENUM

// CPU: sparse-opt-cpu-pipeline: unknown CPU 'pentium9000'
// OPTION: no such option vector-width
// ENUM: Cannot find option named 'sometimes'

func.func @f() {
  return
}
