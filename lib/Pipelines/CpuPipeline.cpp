//===- CpuPipeline.cpp - sparse-opt CPU pipelines -------------------------===//

#include "sparse-opt/Pipelines/CpuPipeline.h"

#include "sparse-opt/Target/CpuTarget.h"
#include "sparse-opt/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace mlir::sparse_opt {

/// Lanes for sparse vectorization: explicit, or 32-bit lanes of the
/// target's widest vector register (FP32 is what inference kernels use).
static llvm::Expected<unsigned>
resolveVectorLength(const CpuPipelineOptions &options) {
  if (options.vectorLength >= 0)
    return static_cast<unsigned>(options.vectorLength);
  llvm::Expected<CpuTarget> target =
      CpuTarget::resolve(options.targetCpu, options.targetFeatures);
  if (!target)
    return target.takeError();
  return target->lanesFor(32);
}

/// Whether dense ops get parallel loops: unless parallelization is off.
static bool parallelDenseLoops(const CpuPipelineOptions &options) {
  return options.parallelization != SparseParallelizationStrategy::kNone;
}

/// The SpMM options the CSR, BSR and N:M kernel passes share, from the
/// pipeline's spmm-* options.
template <typename KernelOptions>
static void setSpmmOptions(KernelOptions &kernel, const CpuPipelineOptions &options,
                    unsigned vectorLength) {
  kernel.vectorLength = vectorLength;
  kernel.nTile = options.spmmNTile;
  kernel.prefetchDistance = options.spmmPrefetchDistance;
  kernel.kBlock = options.spmmKBlock;
  kernel.rowBlock = options.spmmRowBlock;
  kernel.kBlockMinNonZeros = options.spmmKBlockMinNonZeros;
  kernel.minParallelWork = options.minParallelWork;
}

llvm::Error buildCpuBufferizePipeline(OpPassManager &pm,
                                      const CpuPipelineOptions &options) {
  llvm::Expected<unsigned> vectorLength = resolveVectorLength(options);
  if (!vectorLength)
    return vectorLength.takeError();

  // Attention over a constant sparse mask first, on the importer's linalg
  // ops (its scores products must not become dense kernels or sparse
  // weights first).
  if (options.sparseAttention) {
    SparseOptSparseAttentionOptions attention;
    attention.maxDensity = options.sparseAttentionMaxDensity;
    attention.vectorLength = *vectorLength;
    attention.nTile = options.spmmNTile;
    attention.minParallelWork = options.minParallelWork;
    pm.addNestedPass<func::FuncOp>(createSparseOptSparseAttention(attention));
  }
  // Convolutions become matrix products before the weights' storage is
  // chosen; with `sparse`, only those whose filter may be stored sparse
  // (some format other than dense asked for, and sparse enough).
  bool sparseWeightsAsked =
      options.weightFormats != "dense" || !options.weightOverrides.empty();
  if (options.convToMatmul == ConvToMatmul::All ||
      (options.convToMatmul == ConvToMatmul::Sparse && sparseWeightsAsked)) {
    SparseOptConvolutionToMatmulOptions conv;
    bool all = options.convToMatmul == ConvToMatmul::All;
    conv.convert = all ? "all" : "sparse";
    if (!all)
      conv.minSparsity = options.weightMinSparsity;
    conv.panelBytes = options.convPanelBytes;
    pm.addNestedPass<func::FuncOp>(createSparseOptConvolutionToMatmul(conv));
  }
  // Each constant weight's storage format, before the ABI and the kernels.
  SparseOptSelectWeightFormatsOptions weights;
  weights.formats = options.weightFormats;
  weights.minSparsity = options.weightMinSparsity;
  weights.overrides = options.weightOverrides;
  weights.costModel = options.costModel;
  weights.dynamicN = options.weightDynamicN;
  weights.schedules = options.weightSchedules;
  weights.report = options.weightReport;
  weights.reportFormat = options.weightReportFormat;
  weights.targetCpu = options.targetCpu;
  weights.targetFeatures = options.targetFeatures;
  pm.addPass(createSparseOptSelectWeightFormats(weights));
  // Record the tensor signatures before the stable ABI erases them; public
  // functions then take pos/crd/val buffers.
  SparseOptExportSignaturesOptions signatures;
  signatures.symbolPrefix = options.symbolPrefix;
  pm.addPass(createSparseOptExportSignatures(signatures));
  pm.addPass(createSparseAssembler()); // direct-out=false: caller-owned outputs
  // Constant weights get their CSR storage at compile time.
  pm.addNestedPass<func::FuncOp>(createSparseOptMaterializeSparseConstants());
  if (options.sparseKernels) {
    SparseOptCsrKernelsOptions kernels;
    setSpmmOptions(kernels, options, *vectorLength);
    kernels.dotVectorLength = options.dotVectorLength >= 0
                                  ? unsigned(options.dotVectorLength)
                                  : std::min(*vectorLength, 8u);
    pm.addNestedPass<func::FuncOp>(createSparseOptCsrKernels(kernels));
    SparseOptBsrKernelsOptions bsr;
    setSpmmOptions(bsr, options, *vectorLength);
    bsr.accumulatorRegisters = options.spmmAccumulatorRegisters >= 0
                                   ? unsigned(options.spmmAccumulatorRegisters)
                                   : (*vectorLength >= 16 ? 16u : 8u);
    pm.addNestedPass<func::FuncOp>(createSparseOptBsrKernels(bsr));
    SparseOptNmKernelsOptions nm;
    setSpmmOptions(nm, options, *vectorLength);
    nm.dotVectorLength = kernels.dotVectorLength;
    pm.addNestedPass<func::FuncOp>(createSparseOptNmKernels(nm));
  }
  if (options.denseKernels) {
    SparseOptDenseKernelsOptions dense;
    dense.vectorLength = *vectorLength;
    dense.tileRows = options.denseTileRows >= 0 ? unsigned(options.denseTileRows)
                                                : 6u;
    dense.tileVectors = options.denseTileVectors >= 0
                            ? unsigned(options.denseTileVectors)
                            : (*vectorLength >= 16 ? 4u : 2u);
    dense.rowBlock = options.denseRowBlock;
    dense.columnBlock = options.denseColumnBlock;
    dense.kBlock = options.denseKBlock;
    dense.parallel = parallelDenseLoops(options);
    pm.addNestedPass<func::FuncOp>(createSparseOptDenseKernels(dense));
  }
  if (options.denseLoops) {
    // Before generalization and fusion, which fold the padding into the
    // convolution's reads.
    SparseOptDepthwiseKernelsOptions depthwise;
    depthwise.vectorLength = *vectorLength;
    depthwise.parallel = parallelDenseLoops(options);
    pm.addNestedPass<func::FuncOp>(createSparseOptDepthwiseKernels(depthwise));
  }
  pm.addNestedPass<func::FuncOp>(createLinalgGeneralizeNamedOpsPass());
  pm.addNestedPass<func::FuncOp>(createLinalgElementwiseOpFusionPass());

  SparsificationOptions sparsification(options.parallelization,
                                       SparseEmitStrategy::kFunctional,
                                       /*enableRT=*/false);
  pm.addPass(createSparsificationAndBufferizationPass(
      getBufferizationOptionsForSparsification(/*analysisOnly=*/false),
      sparsification, options.createSparseDeallocs,
      /*enableRuntimeLibrary=*/false, options.enableBufferInitialization,
      *vectorLength, /*enableVLAVectorization=*/false,
      options.enableSIMDIndex32, /*enableGPULibgen=*/false,
      SparseEmitStrategy::kFunctional, options.parallelization));
  pm.addPass(createStorageSpecifierToLLVMPass());
  // Free the temporaries bufferization allocates (im2col patches,
  // transposed activations, ...): without it every call leaks them, and
  // fresh pages from the OS cost more than the work on them.
  bufferization::buildBufferDeallocationPipeline(pm);
  // The clones it makes of results the caller must own (e.g. a returned
  // constant) as allocations and copies.
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  if (options.denseLoops) {
    SparseOptDenseLoopsOptions loops;
    loops.vectorLength = *vectorLength;
    loops.parallel = parallelDenseLoops(options);
    pm.addNestedPass<func::FuncOp>(createSparseOptDenseLoops(loops));
    pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  }
  return llvm::Error::success();
}

void buildCpuLowerToLLVMPipeline(OpPassManager &pm,
                                 const CpuPipelineOptions &options) {
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass());
  pm.addNestedPass<func::FuncOp>(memref::createExpandReallocPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());

  // memref.alloc / dealloc as the library's allocation functions
  // (lib/Runtime/BufferCache.c), or malloc and free.
  FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  memrefToLLVM.useGenericFunctions = options.reuseLargeBuffers;
  if (options.useOpenMP) {
    // One-thread calls take serial twins and never enter OpenMP.
    pm.addPass(createSparseOptSerialTwins());
    pm.addPass(createConvertSCFToOpenMPPass());
    SparseOptThreadControlOptions threadControl;
    threadControl.defaultNumThreads = options.numThreads;
    threadControl.symbolPrefix = options.symbolPrefix;
    pm.addPass(createSparseOptThreadControl(threadControl));
  }
  // Serial loops (serial twins and fallbacks; every parallel loop without
  // OpenMP) free their iterations' stack buffers. Parallel bodies under
  // OpenMP have convert-scf-to-openmp's alloca scopes.
  SparseOptFreeLoopAllocasOptions freeLoopAllocas;
  freeLoopAllocas.parallelLoopsSerial = !options.useOpenMP;
  pm.addPass(createSparseOptFreeLoopAllocas(freeLoopAllocas));
  // Before scf-to-cf: convert-scf-to-openmp wraps parallel bodies in
  // memref.alloca_scope, which must be lowered while it still has a single
  // block.
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  pm.addNestedPass<func::FuncOp>(createSCFToControlFlowPass());
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.reassociateFPReductions = options.reassociateFPReductions;
  vectorToLLVM.force32BitVectorIndices = options.enableSIMDIndex32;
  if (options.useOpenMP) {
    // Vector ops first: convert-openmp-to-llvm converts the whole function
    // around a parallel region, and a branch outside it that carries an
    // index next to a vector (the loops of a kernel's serial twin) would
    // be left half converted (an llvm.cond_br with an index operand).
    pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
    // Math ops too: the nested convert-math-to-llvm below no longer sees a
    // function that convert-openmp-to-llvm turned into an llvm.func, and
    // convert-math-to-libm would then scalarize the vector math.fma of the
    // polynomial exp / erf / tanh in parallel loops into one fmaf call per
    // lane (15% of a sparse attention call under perf).
    pm.addPass(createConvertMathToLLVMPass());
    pm.addPass(createConvertOpenMPToLLVMPass());
  }
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  pm.addNestedPass<func::FuncOp>(createConvertComplexToStandardPass());
  pm.addNestedPass<func::FuncOp>(arith::createArithExpandOpsPass());
  pm.addNestedPass<func::FuncOp>(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertComplexToLibm());
  // Again: the passes above can produce new vector ops.
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

llvm::Error buildCpuPipeline(OpPassManager &pm,
                             const CpuPipelineOptions &options) {
  if (llvm::Error error = buildCpuBufferizePipeline(pm, options))
    return error;
  buildCpuLowerToLLVMPipeline(pm, options);
  return llvm::Error::success();
}

/// Like PassPipelineRegistration, but a builder failure (an unknown CPU,
/// say) is reported through the registry's error handler instead of
/// aborting.
static void registerCpuPipeline(
    StringRef name, StringRef description,
    std::function<llvm::Error(OpPassManager &, const CpuPipelineOptions &)>
        builder) {
  registerPassPipeline(
      name, description,
      [builder, name = name.str()](
          OpPassManager &pm, StringRef optionsString,
          function_ref<LogicalResult(const Twine &)> errorHandler) {
        CpuPipelineOptions options;
        if (failed(options.parseFromString(optionsString)))
          return failure();
        if (llvm::Error error = builder(pm, options))
          return errorHandler(name + ": " + llvm::toString(std::move(error)));
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optionHandler) {
        optionHandler(CpuPipelineOptions());
      });
}

void registerCpuPipelines() {
  registerCpuPipeline(
      "sparse-opt-cpu-pipeline",
      "Lower linalg on (sparse) tensors to the LLVM dialect for CPUs: "
      "stable sparse ABI, vectorized sparse loops, OpenMP threads",
      buildCpuPipeline);
  registerCpuPipeline(
      "sparse-opt-cpu-bufferize",
      "First stage of sparse-opt-cpu-pipeline: sparse ABI, sparsification, "
      "vectorization and bufferization",
      buildCpuBufferizePipeline);
  registerCpuPipeline(
      "sparse-opt-cpu-lower-to-llvm",
      "Second stage of sparse-opt-cpu-pipeline: OpenMP threads, run-time "
      "thread control and the conversion to the LLVM dialect",
      [](OpPassManager &pm, const CpuPipelineOptions &options) {
        buildCpuLowerToLLVMPipeline(pm, options);
        return llvm::Error::success();
      });
}

} // namespace mlir::sparse_opt
