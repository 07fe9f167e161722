//===- CpuPipeline.h - sparse-opt CPU pipelines -----------------*- C++ -*-===//
//
// The CPU pipeline takes linalg on tensors with #sparse_tensor.encoding
// operands to the LLVM dialect. It is a composition of two named stages so
// that tools can look at the module between them (sparse-compile writes the C
// header from the bufferized entry points):
//
//   sparse-opt-cpu-bufferize     sparse ABI, sparsification, vectorization,
//                                bufferization (func/scf/vector/memref out)
//   sparse-opt-cpu-lower-to-llvm OpenMP outlining, thread control, LLVM
//   sparse-opt-cpu-pipeline      both of the above
//
// All three accept the same options (CpuPipelineOptions).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_PIPELINES_CPUPIPELINE_H
#define SPARSE_OPT_PIPELINES_CPUPIPELINE_H

#include "mlir/Dialect/SparseTensor/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "llvm/Support/Error.h"

namespace mlir::sparse_opt {

/// Which convolutions the pipeline rewrites into matrix products
/// (`conv-to-matmul`, sparse-opt-convolution-to-matmul).
enum class ConvToMatmul { None, Sparse, All };

struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<SparseParallelizationStrategy> parallelization{
      *this, "parallelization-strategy",
      llvm::cl::desc("Which sparse loops become parallel (OpenMP) loops"),
      llvm::cl::init(SparseParallelizationStrategy::kDenseOuterLoop),
      llvm::cl::values(
          clEnumValN(SparseParallelizationStrategy::kNone, "none",
                     "No parallel loops"),
          clEnumValN(SparseParallelizationStrategy::kDenseOuterLoop,
                     "dense-outer-loop", "The outermost loop if it is dense"),
          clEnumValN(SparseParallelizationStrategy::kAnyStorageOuterLoop,
                     "any-storage-outer-loop",
                     "The outermost loop, dense or sparse"),
          clEnumValN(SparseParallelizationStrategy::kDenseAnyLoop,
                     "dense-any-loop", "Every dense loop"),
          clEnumValN(SparseParallelizationStrategy::kAnyStorageAnyLoop,
                     "any-storage-any-loop", "Every loop"))};
  PassOptions::Option<bool> useOpenMP{
      *this, "openmp",
      llvm::cl::desc("Run parallel loops on OpenMP threads (otherwise they "
                     "are lowered to serial loops)"),
      llvm::cl::init(true)};
  PassOptions::Option<int32_t> numThreads{
      *this, "num-threads",
      llvm::cl::desc("Default thread count of the compiled module, changeable "
                     "at run time (0: the OpenMP default)"),
      llvm::cl::init(0)};
  PassOptions::Option<std::string> symbolPrefix{
      *this, "symbol-prefix",
      llvm::cl::desc("Prefix of the exported thread-control functions and "
                     "signature strings"),
      llvm::cl::init("sparse_opt")};
  PassOptions::Option<std::string> targetCpu{
      *this, "target-cpu",
      llvm::cl::desc("LLVM CPU name the code is for, or 'host'"),
      llvm::cl::init("host")};
  PassOptions::Option<std::string> targetFeatures{
      *this, "target-features",
      llvm::cl::desc("Extra LLVM target features, e.g. '-avx512f'"),
      llvm::cl::init("")};
  PassOptions::Option<int32_t> vectorLength{
      *this, "vector-length",
      llvm::cl::desc("SIMD lanes used by sparse vectorization: -1 derives "
                     "them from the target (32-bit lanes of its widest "
                     "vector register), 0 disables vectorization"),
      llvm::cl::init(-1)};
  PassOptions::Option<bool> sparseKernels{
      *this, "sparse-kernels",
      llvm::cl::desc("Generate sparse-opt's own kernels for the products "
                     "they cover (CSR, BSR and N:M x dense); false leaves "
                     "every sparse op to the upstream sparsifier"),
      llvm::cl::init(true)};
  PassOptions::Option<int32_t> dotVectorLength{
      *this, "dot-vector-length",
      llvm::cl::desc("SIMD lanes of the row dot products of SpMV kernels "
                     "(gathers): -1 uses min(vector-length, 8), since wide "
                     "gathers are slow on current x86 cores"),
      llvm::cl::init(-1)};
  PassOptions::Option<unsigned> spmmNTile{
      *this, "spmm-n-tile",
      llvm::cl::desc("Vectors per register tile along N in sparse x dense "
                     "kernels (a power of two; BSR kernels narrow it to "
                     "fit their accumulators)"),
      llvm::cl::init(8)};
  PassOptions::Option<int32_t> spmmAccumulatorRegisters{
      *this, "spmm-accumulator-registers",
      llvm::cl::desc("Vector registers the R x V accumulators of a BSR "
                     "SpMM tile may take: -1 derives them from the vector "
                     "length (16 with 16 lanes or more, i.e. AVX-512's 32 "
                     "registers; 8 otherwise)"),
      llvm::cl::init(-1)};
  PassOptions::Option<unsigned> spmmPrefetchDistance{
      *this, "spmm-prefetch-distance",
      llvm::cl::desc("Non-zeros (CSR, N:M) or blocks (BSR) ahead whose B "
                     "rows SpMM kernels prefetch (0: none)"),
      llvm::cl::init(0)};
  PassOptions::Option<unsigned> spmmKBlock{
      *this, "spmm-k-block",
      llvm::cl::desc("B rows per K block of the K-blocked CSR SpMM "
                     "(0: never K-block)"),
      llvm::cl::init(64)};
  PassOptions::Option<unsigned> spmmRowBlock{
      *this, "spmm-row-block",
      llvm::cl::desc("Rows per parallel iteration of the K-blocked CSR "
                     "SpMM"),
      llvm::cl::init(64)};
  PassOptions::Option<unsigned> spmmKBlockMinNonZeros{
      *this, "spmm-k-block-min-nonzeros",
      llvm::cl::desc("Average non-zeros per row and K block from which CSR "
                     "SpMM runs K-blocked"),
      llvm::cl::init(10)};
  PassOptions::Option<bool> denseKernels{
      *this, "dense-kernels",
      llvm::cl::desc("Generate sparse-opt's register-blocked loops for dense "
                     "matmul / batch_matmul (sparse-opt-dense-kernels); "
                     "false leaves them to scalar loops"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> denseLoops{
      *this, "dense-loops",
      llvm::cl::desc("Tile the other dense linalg ops into parallel loops "
                     "over vectors (sparse-opt-dense-loops); false leaves "
                     "them to serial scalar loops"),
      llvm::cl::init(true)};
  PassOptions::Option<int32_t> denseTileRows{
      *this, "dense-tile-rows",
      llvm::cl::desc("Rows per register tile of dense products (-1: 6)"),
      llvm::cl::init(-1)};
  PassOptions::Option<int32_t> denseTileVectors{
      *this, "dense-tile-vectors",
      llvm::cl::desc("Vectors per register tile row of dense products, a "
                     "power of two (-1: 4 with 16 lanes or more, i.e. "
                     "AVX-512's 32 registers; 2 otherwise)"),
      llvm::cl::init(-1)};
  PassOptions::Option<unsigned> denseRowBlock{
      *this, "dense-row-block",
      llvm::cl::desc("Rows of C per parallel block of dense products"),
      llvm::cl::init(144)};
  PassOptions::Option<unsigned> denseColumnBlock{
      *this, "dense-column-block",
      llvm::cl::desc("Columns of C per parallel block of dense products"),
      llvm::cl::init(128)};
  PassOptions::Option<unsigned> denseKBlock{
      *this, "dense-k-block",
      llvm::cl::desc("Depth per K block of dense products"),
      llvm::cl::init(128)};
  PassOptions::Option<unsigned> minParallelWork{
      *this, "min-parallel-work",
      llvm::cl::desc("Vector steps per call (stored values x ceil(N / "
                     "vector-length); one per stored value for SpMV) from "
                     "which our kernels run on OpenMP threads; smaller calls, "
                     "and every call on one thread, run serially (0: always "
                     "enter the OpenMP runtime)"),
      llvm::cl::init(16384)};
  PassOptions::Option<ConvToMatmul> convToMatmul{
      *this, "conv-to-matmul",
      llvm::cl::desc("Which 2-D convolutions with a constant filter become "
                     "matrix products (im2col) for the dense and sparse "
                     "kernels (sparse-opt-convolution-to-matmul)"),
      llvm::cl::init(ConvToMatmul::All),
      llvm::cl::values(clEnumValN(ConvToMatmul::None, "none", "None"),
                       clEnumValN(ConvToMatmul::Sparse, "sparse",
                                  "Those whose filter may be stored sparse "
                                  "(weight-formats / weight-overrides, at "
                                  "least weight-min-sparsity)"),
                       clEnumValN(ConvToMatmul::All, "all", "Every one"))};
  PassOptions::Option<uint64_t> convPanelBytes{
      *this, "conv-panel-bytes",
      llvm::cl::desc("Build the im2col patches of NCHW convolutions in "
                     "panels of output rows of at most this many bytes, "
                     "each just before its product (0: whole)"),
      llvm::cl::init(262144)};
  // Attention with a constant sparse mask (sparse-opt-sparse-attention).
  PassOptions::Option<bool> sparseAttention{
      *this, "sparse-attention",
      llvm::cl::desc("Compute attention with a constant mask over the mask's "
                     "pattern (SDDMM, masked softmax, SpMM) when it is "
                     "sparse enough (sparse-opt-sparse-attention)"),
      llvm::cl::init(true)};
  PassOptions::Option<double> sparseAttentionMaxDensity{
      *this, "sparse-attention-max-density",
      llvm::cl::desc("Attention masks allowing more than this share of the "
                     "scores stay dense"),
      llvm::cl::init(0.5)};
  // Storage formats of constant weights (sparse-opt-select-weight-formats).
  PassOptions::Option<std::string> weightFormats{
      *this, "weight-formats",
      llvm::cl::desc("Storage of constant matmul / matvec weights: dense "
                     "(unless an attribute or weight-overrides says "
                     "otherwise), auto (the cost model's choice per layer), "
                     "csr, bsr:RxC or nm:N:M"),
      llvm::cl::init("dense")};
  PassOptions::Option<double> weightMinSparsity{
      *this, "weight-min-sparsity",
      llvm::cl::desc("Keep weights less sparse than this (0..1) dense"),
      llvm::cl::init(0.0)};
  PassOptions::Option<std::string> weightOverrides{
      *this, "weight-overrides",
      llvm::cl::desc("PATTERN=FORMAT,...: weight formats by layer-name glob"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> costModel{
      *this, "cost-model",
      llvm::cl::desc("Cost model file for weight-formats=auto (empty: the "
                     "one shipped for the target)"),
      llvm::cl::init("")};
  PassOptions::Option<int64_t> weightDynamicN{
      *this, "weight-dynamic-n",
      llvm::cl::desc("Activation count the cost model assumes where it is "
                     "dynamic"),
      llvm::cl::init(1)};
  PassOptions::Option<bool> weightSchedules{
      *this, "weight-schedules",
      llvm::cl::desc("With a cost model (weight-formats=auto or cost-model), "
                     "each product's kernel schedule (parallel or serial, "
                     "column tile, K block) from the model, as its "
                     "sparse_opt.schedule; false: from the spmm-* and "
                     "min-parallel-work options for every product"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> weightReport{
      *this, "weight-report",
      llvm::cl::desc("Write the per-layer weight format report to this file "
                     "('-': stdout)"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> weightReportFormat{
      *this, "weight-report-format",
      llvm::cl::desc("Weight report format: text or json"),
      llvm::cl::init("text")};
  PassOptions::Option<bool> enableSIMDIndex32{
      *this, "enable-simd-index32",
      llvm::cl::desc("Use 32-bit indices in vector gathers/scatters (only "
                     "correct when every index fits in 32 bits)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> reassociateFPReductions{
      *this, "reassociate-fp-reductions",
      llvm::cl::desc("Let LLVM reorder floating-point reductions (tree "
                     "reductions instead of ordered sums)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> enableBufferInitialization{
      *this, "enable-buffer-initialization",
      llvm::cl::desc("Zero-initialize buffers the sparsifier allocates"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> reuseLargeBuffers{
      *this, "reuse-large-buffers",
      llvm::cl::desc("Keep freed temporaries of 128 KiB and more for the "
                     "next allocation they fit (the library's own allocation "
                     "functions) instead of returning them to malloc, which "
                     "page-faults such blocks in again on every call"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> createSparseDeallocs{
      *this, "create-sparse-deallocs",
      llvm::cl::desc("Free temporary buffers created by sparsification"),
      llvm::cl::init(true)};
};

/// Stage 1: sparse ABI (`--sparse-assembler`), sparsification with
/// vectorization and parallel loops, and bufferization.
llvm::Error buildCpuBufferizePipeline(OpPassManager &pm,
                                      const CpuPipelineOptions &options);

/// Stage 2: OpenMP, thread control and the conversion to the LLVM dialect.
void buildCpuLowerToLLVMPipeline(OpPassManager &pm,
                                 const CpuPipelineOptions &options);

/// Both stages.
llvm::Error buildCpuPipeline(OpPassManager &pm,
                             const CpuPipelineOptions &options);

/// Registers the three named pipelines with the global pass registry.
void registerCpuPipelines();

} // namespace mlir::sparse_opt

#endif // SPARSE_OPT_PIPELINES_CPUPIPELINE_H
