/* The run-time conversion activation sparsity needs before a CSR SpMM:
 * the im2col patch matrix of one convolution, built straight from its
 * activation and compressed to CSR in the same pass (the dense patches are
 * never written), timed. bench/activations.py compiles and runs it.
 *
 *   activations_csr csr|dense ACT.f32 H W C KERNEL STRIDE PAD THREADS REPEAT
 *                   [OUT.smtx]
 *
 * ACT.f32 holds the batch-1 activation in NHWC order (H x W x C float32).
 * The patch matrix P has one row per output pixel (oh, ow) and one column
 * per (kh, kw, c), i.e. KERNEL * KERNEL * C columns; zero padding is not
 * stored. Its CSR (32-bit row pointers and columns, float values) is what
 * the SpMM P (Ho Wo x KERNEL^2 C) x W^T (KERNEL^2 C x F) reads; the result
 * is the convolution's output in NHWC order.
 *
 * The compression is branch-free AVX2: eight channels at a time, their
 * non-zero mask picks a permutation from a 256-entry table, the packed
 * values and columns are stored unaligned and the write position advances
 * by the mask's population count (a scalar loop does channel tails and
 * machines without AVX2). One thread: a single pass. More: the rows are
 * split, a counting pass gives each row's start, then the filling pass.
 *
 * Mode dense times the plain im2col instead, the dense patch matrix a dense
 * product reads (padding written as zeros, each channel run copied), on
 * the same threads; its nnz printed is the matrix's size.
 *
 * Prints "rows cols nnz best_seconds median_seconds" (best and median of
 * REPEAT timed conversions after one untimed one) and, with OUT.smtx, writes
 * the pattern in DLMC's format (sparse-run --matrix reads it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif

typedef struct {
  int h, w, c, k, stride, pad, oh, ow;
  const float *act;
} Conv;

#ifdef __AVX2__
static int32_t LUT[256][8];

static void build_lut(void) {
  for (int mask = 0; mask < 256; ++mask) {
    int n = 0;
    for (int lane = 0; lane < 8; ++lane)
      if (mask & (1 << lane))
        LUT[mask][n++] = lane;
    while (n < 8)
      LUT[mask][n++] = 0;
  }
}
#endif

/* Appends the non-zeros of src[0..count) with columns col0.. at cols/vals
 * (which have 8 entries of slack); returns how many. */
static inline int64_t compress(const float *src, int count, int32_t col0,
                               int32_t *cols, float *vals) {
  int64_t n = 0;
  int i = 0;
#ifdef __AVX2__
  const __m256 zero = _mm256_setzero_ps();
  for (; i + 8 <= count; i += 8) {
    __m256 v = _mm256_loadu_ps(src + i);
    int mask = _mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_NEQ_UQ));
    __m256i perm = _mm256_loadu_si256((const __m256i *)LUT[mask]);
    _mm256_storeu_ps(vals + n, _mm256_permutevar8x32_ps(v, perm));
    _mm256_storeu_si256((__m256i *)(cols + n),
                        _mm256_add_epi32(perm, _mm256_set1_epi32(col0 + i)));
    n += __builtin_popcount((unsigned)mask);
  }
#endif
  for (; i < count; ++i) {
    cols[n] = col0 + i;
    vals[n] = src[i];
    n += src[i] != 0.0f;
  }
  return n;
}

static inline int64_t count_nonzeros(const float *src, int count) {
  int64_t n = 0;
  int i = 0;
#ifdef __AVX2__
  const __m256 zero = _mm256_setzero_ps();
  for (; i + 8 <= count; i += 8)
    n += __builtin_popcount((unsigned)_mm256_movemask_ps(
        _mm256_cmp_ps(_mm256_loadu_ps(src + i), zero, _CMP_NEQ_UQ)));
#endif
  for (; i < count; ++i)
    n += src[i] != 0.0f;
  return n;
}

/* The row of output pixel r: the non-zeros of its patch (count only when
 * cols is NULL). */
static inline int64_t patch_row(const Conv *cv, int64_t r, int32_t *cols,
                                float *vals) {
  int oy = (int)(r / cv->ow), ox = (int)(r % cv->ow);
  int64_t n = 0;
  for (int kh = 0; kh < cv->k; ++kh) {
    int iy = oy * cv->stride - cv->pad + kh;
    if (iy < 0 || iy >= cv->h)
      continue;
    for (int kw = 0; kw < cv->k; ++kw) {
      int ix = ox * cv->stride - cv->pad + kw;
      if (ix < 0 || ix >= cv->w)
        continue;
      const float *src = cv->act + ((int64_t)iy * cv->w + ix) * cv->c;
      if (cols)
        n +=
            compress(src, cv->c, (kh * cv->k + kw) * cv->c, cols + n, vals + n);
      else
        n += count_nonzeros(src, cv->c);
    }
  }
  return n;
}

/* The packed stores write up to 8 entries past a row's last non-zero: in
 * one pass the next row overwrites them; filling rows in parallel, each
 * thread fills a contiguous range of rows in order, and the last row of a
 * range goes through the thread's scratch row (width + 8 entries) so that
 * it does not spill into the next thread's first row. */
static void convert(const Conv *cv, int threads, int32_t *row_ptr,
                    int32_t *cols, float *vals, int32_t *scratch_cols,
                    float *scratch_vals) {
  int64_t rows = (int64_t)cv->oh * cv->ow;
  int64_t width = (int64_t)cv->k * cv->k * cv->c;
  row_ptr[0] = 0;
  if (threads <= 1) {
    int64_t n = 0;
    for (int64_t r = 0; r < rows; ++r) {
      n += patch_row(cv, r, cols + n, vals + n);
      row_ptr[r + 1] = (int32_t)n;
    }
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    row_ptr[r + 1] = (int32_t)patch_row(cv, r, NULL, NULL);
  for (int64_t r = 0; r < rows; ++r)
    row_ptr[r + 1] += row_ptr[r];
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t) {
    int64_t begin = rows * t / threads, end = rows * (t + 1) / threads;
    for (int64_t r = begin; r + 1 < end; ++r)
      patch_row(cv, r, cols + row_ptr[r], vals + row_ptr[r]);
    if (begin < end) {
      int32_t *row_cols = scratch_cols + t * (width + 8);
      float *row_vals = scratch_vals + t * (width + 8);
      int64_t n = patch_row(cv, end - 1, row_cols, row_vals);
      memcpy(cols + row_ptr[end - 1], row_cols, (size_t)n * sizeof(int32_t));
      memcpy(vals + row_ptr[end - 1], row_vals, (size_t)n * sizeof(float));
    }
  }
}

/* The dense patch matrix (rows x width, row-major). */
static void im2col(const Conv *cv, int threads, float *patches) {
  int64_t rows = (int64_t)cv->oh * cv->ow;
  int64_t width = (int64_t)cv->k * cv->k * cv->c;
  size_t run = (size_t)cv->c * sizeof(float);
#pragma omp parallel for num_threads(threads > 1 ? threads : 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    int oy = (int)(r / cv->ow), ox = (int)(r % cv->ow);
    float *row = patches + r * width;
    for (int kh = 0; kh < cv->k; ++kh) {
      int iy = oy * cv->stride - cv->pad + kh;
      for (int kw = 0; kw < cv->k; ++kw) {
        int ix = ox * cv->stride - cv->pad + kw;
        float *dst = row + (kh * cv->k + kw) * cv->c;
        if (iy < 0 || iy >= cv->h || ix < 0 || ix >= cv->w)
          memset(dst, 0, run);
        else
          memcpy(dst, cv->act + ((int64_t)iy * cv->w + ix) * cv->c, run);
      }
    }
  }
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if ((argc != 11 && argc != 12) ||
      (strcmp(argv[1], "csr") && strcmp(argv[1], "dense"))) {
    fprintf(stderr,
            "usage: %s csr|dense ACT.f32 H W C KERNEL STRIDE PAD "
            "THREADS REPEAT [OUT.smtx]\n",
            argv[0]);
    return 2;
  }
  int dense = !strcmp(argv[1], "dense");
  ++argv;
  --argc;
  Conv cv;
  cv.h = atoi(argv[2]);
  cv.w = atoi(argv[3]);
  cv.c = atoi(argv[4]);
  cv.k = atoi(argv[5]);
  cv.stride = atoi(argv[6]);
  cv.pad = atoi(argv[7]);
  int threads = atoi(argv[8]), repeat = atoi(argv[9]);
  if (cv.h < 1 || cv.w < 1 || cv.c < 1 || cv.k < 1 || cv.stride < 1 ||
      cv.pad < 0 || repeat < 1) {
    fprintf(stderr, "error: bad sizes\n");
    return 2;
  }
  cv.oh = (cv.h + 2 * cv.pad - cv.k) / cv.stride + 1;
  cv.ow = (cv.w + 2 * cv.pad - cv.k) / cv.stride + 1;
  int64_t size = (int64_t)cv.h * cv.w * cv.c;
  int64_t rows = (int64_t)cv.oh * cv.ow, width = (int64_t)cv.k * cv.k * cv.c;
  float *act = malloc((size_t)size * sizeof(float));
  FILE *in = fopen(argv[1], "rb");
  if (!act || !in ||
      fread(act, sizeof(float), (size_t)size, in) != (size_t)size) {
    fprintf(stderr, "error: cannot read %lld floats from %s\n", (long long)size,
            argv[1]);
    return 2;
  }
  fclose(in);
  cv.act = act;
#ifdef __AVX2__
  build_lut();
#endif
  /* Worst case: every patch entry non-zero, plus the stores' slack. */
  int64_t capacity = rows * width + 8;
  int32_t *row_ptr = malloc((size_t)(rows + 1) * sizeof(int32_t));
  int32_t *cols = malloc((size_t)capacity * sizeof(int32_t));
  float *vals = malloc((size_t)capacity * sizeof(float));
  double *times = malloc((size_t)repeat * sizeof(double));
  int scratch_rows = threads > 1 ? threads : 1;
  int32_t *scratch_cols =
      malloc((size_t)(scratch_rows * (width + 8)) * sizeof(int32_t));
  float *scratch_vals =
      malloc((size_t)(scratch_rows * (width + 8)) * sizeof(float));
  if (!row_ptr || !cols || !vals || !times || !scratch_cols || !scratch_vals) {
    fprintf(stderr, "error: out of memory\n");
    return 2;
  }
  /* Touch the output once so that no timed call pays page faults (a real
   * implementation reuses its buffers from call to call). */
  memset(cols, 0, (size_t)capacity * sizeof(int32_t));
  memset(vals, 0, (size_t)capacity * sizeof(float));
  for (int i = -1; i < repeat; ++i) {
    double start = now();
    if (dense)
      im2col(&cv, threads, vals);
    else
      convert(&cv, threads, row_ptr, cols, vals, scratch_cols, scratch_vals);
    if (i >= 0)
      times[i] = now() - start;
  }
  qsort(times, (size_t)repeat, sizeof(double), by_value);
  int64_t nnz = dense ? rows * width : row_ptr[rows];
  printf("%lld %lld %lld %.9f %.9f\n", (long long)rows, (long long)width,
         (long long)nnz, times[0], times[repeat / 2]);
  if (argc == 11 && !dense) {
    FILE *out = fopen(argv[10], "w");
    if (!out) {
      fprintf(stderr, "error: cannot write %s\n", argv[10]);
      return 2;
    }
    fprintf(out, "%lld, %lld, %lld\n", (long long)rows, (long long)width,
            (long long)nnz);
    for (int64_t r = 0; r <= rows; ++r)
      fprintf(out, r ? " %d" : "%d", row_ptr[r]);
    fputc('\n', out);
    for (int64_t e = 0; e < nnz; ++e)
      fprintf(out, e ? " %d" : "%d", cols[e]);
    fputc('\n', out);
    fclose(out);
  }
  free(scratch_vals);
  free(scratch_cols);
  free(times);
  free(vals);
  free(cols);
  free(row_ptr);
  free(act);
  return 0;
}
