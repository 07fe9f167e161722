//===- CostModelTest.cpp - Reading cost models and predicting with them ---===//

#include "sparse-opt/CostModel/CostModel.h"
#include "sparse-opt/Target/CpuTarget.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <string>

using namespace mlir::sparse_opt;

namespace {

/// A model for 512-bit vectors (16 lanes), tiles of 8 vectors, 16
/// accumulators: dense and CSR fits of both regimes, BSR 4x4 and 2:4 for
/// N > 1, transposes at 1 ns per element plus 1 us per call.
std::string modelText(const std::string &extra = "",
                      const std::string &cpu = "testcpu") {
  return R"({
  "sparse_opt_cost_model": 1,
  "target": {"cpu": ")" + cpu + R"(", "vector_bits": 512,
             "triple": "x86_64-unknown-linux-gnu",
             "l1d_bytes": 1024, "l2_bytes": 4096,
             "outer_cache_bytes": 16384},
  "kernels": {"n_tile": 8, "accumulator_registers": 16},
  "transpose": {"features": ["calls", "elements", "paged_elements"],
                "coefficients": [1e-6, 1e-9, 2e-9]},
  "formats": {
    "dense": {"vector": {"features": ["calls", "stored"],
                         "coefficients": [1e-6, 1e-9]},
              "matrix": {"features": ["stored_n"], "coefficients": [1e-9]}},
    "csr": {"vector": {"features": ["rows", "stored"],
                       "coefficients": [2e-9, 3e-9]},
            "matrix": {"features": ["stored_vectors", "stored_tiles",
                                    "output_vectors"],
                       "coefficients": [1e-9, 2e-9, 4e-9]}},
    "bsr:4x4": {"matrix": {"features": ["stored_tiles", "rows"],
                           "coefficients": [1e-9, 1e-6]}},
    "nm:2:4": {"matrix": {"features": ["stored", "inputs", "outputs"],
                          "coefficients": [1e-9, 1e-9, 1e-9]}}
  })" + extra + R"(
})";
}

/// `text` (a model file) with `entry` ("FORMAT": {...},) first among its
/// formats.
std::string withFormat(std::string text, const std::string &entry) {
  text.insert(text.find("\"formats\": {") + 12, entry);
  return text;
}

/// `text` (a model file) whose kernels were compiled with K blocks of
/// `kBlock` B rows.
std::string withKBlock(std::string text, unsigned kBlock) {
  text.replace(text.find("\"accumulator_registers\": 16}"), 28,
               "\"accumulator_registers\": 16, \"k_block\": " +
                   std::to_string(kBlock) + "}");
  return text;
}

CostModel parsed(const std::string &text) {
  llvm::Expected<CostModel> model = CostModel::parse(text, "model.json");
  if (!model) {
    ADD_FAILURE() << llvm::toString(model.takeError());
    return *CostModel::parse(modelText(), "model.json");
  }
  return std::move(*model);
}

/// The message of parsing `text`, which must fail.
std::string parseError(const std::string &text) {
  llvm::Expected<CostModel> model = CostModel::parse(text, "bad.json");
  if (model) {
    ADD_FAILURE() << "parsed: " << text;
    return "";
  }
  return llvm::toString(model.takeError());
}

WeightFormat format(const char *text) {
  std::optional<WeightFormat> parsedFormat = WeightFormat::parse(text);
  EXPECT_TRUE(parsedFormat) << text;
  return parsedFormat.value_or(WeightFormat());
}

/// Statistics of a rows x cols weight with `nonZeros` non-zeros, analyzed
/// for 4x4 blocks (`blocks` of them holding a non-zero) and 2:4.
WeightStats stats(int64_t rows, int64_t cols, int64_t nonZeros,
                  int64_t blocks, bool conforms24) {
  WeightStats s;
  s.rows = rows;
  s.cols = cols;
  s.nonZeros = nonZeros;
  s.density = double(nonZeros) / double(rows * cols);
  s.blocks.push_back(
      {{4, 4}, blocks, (rows / 4) * (cols / 4), double(nonZeros) / (16.0 * blocks)});
  s.nm.push_back({{2, 4}, cols % 4 == 0, conforms24 ? 0 : 3});
  return s;
}

TEST(WeightFormat, ParsesAndPrints) {
  for (const char *text : {"dense", "csr", "bsr:4x4", "bsr:8x1", "nm:2:4"})
    EXPECT_EQ(format(text).str(), text);
  EXPECT_EQ(format("bsr:1x1").str(), "csr");
  for (const char *text : {"", "coo", "bsr:4", "bsr:0x4", "bsr:4x-1",
                           "nm:3:2", "nm:0:4", "nm:2:256", "nm:2", "csr:1"})
    EXPECT_FALSE(WeightFormat::parse(text)) << text;
}

TEST(FormatFootprint, PerFormat) {
  WeightStats s = stats(64, 32, 100, 40, true);
  auto footprint = [&](const char *text) {
    return formatFootprint(s, format(text));
  };
  EXPECT_EQ(footprint("dense")->storedValues, 64 * 32);
  EXPECT_EQ(footprint("csr")->storedValues, 100);
  EXPECT_EQ(footprint("csr")->kernelRows, 64);
  EXPECT_EQ(footprint("bsr:4x4")->storedValues, 40 * 16);
  EXPECT_EQ(footprint("bsr:4x4")->kernelRows, 16);
  EXPECT_EQ(footprint("nm:2:4")->storedValues, 64 * 8 * 2);
  // Not analyzed, not tiling, not conforming.
  EXPECT_FALSE(footprint("bsr:8x8"));
  EXPECT_FALSE(footprint("nm:1:4"));
  EXPECT_FALSE(formatFootprint(stats(62, 32, 100, 40, true), format("bsr:4x4")));
  EXPECT_FALSE(formatFootprint(stats(64, 32, 100, 40, false), format("nm:2:4")));
}

TEST(CostModel, PredictsFromTheFits) {
  CostModel model = parsed(modelText());
  EXPECT_EQ(model.lanes(), 16u);
  EXPECT_EQ(model.target().cpu, "testcpu");
  std::vector<std::string> names;
  for (const WeightFormat &f : model.formats())
    names.push_back(f.str());
  EXPECT_EQ(names, (std::vector<std::string>{"dense", "csr", "bsr:4x4",
                                             "nm:2:4"}));

  LayerShape layer{64, 32, 1, false};
  FormatFootprint csr{100, 64};
  // N = 1: the vector fits.
  EXPECT_DOUBLE_EQ(*model.predict(format("csr"), csr, layer),
                   2e-9 * 64 + 3e-9 * 100);
  EXPECT_DOUBLE_EQ(*model.predict(WeightFormat(), {64 * 32, 64}, layer),
                   1e-6 + 1e-9 * 64 * 32);
  // No vector fit for BSR.
  EXPECT_FALSE(model.predict(format("bsr:4x4"), {640, 16}, layer));
  EXPECT_FALSE(model.predict(format("bsr:8x8"), {640, 8}, layer));

  // N = 200 on 16 lanes: 13 vectors; tiles of 128 columns: 1 full, then
  // 72 = 64 (4 vectors) + 8 (masked): 3 tiles.
  layer.n = 200;
  EXPECT_DOUBLE_EQ(*model.predict(format("csr"), csr, layer),
                   1e-9 * 100 * 13 + 2e-9 * 100 * 3 + 4e-9 * 64 * 13);
  EXPECT_DOUBLE_EQ(*model.predict(WeightFormat(), {64 * 32, 64}, layer),
                   1e-9 * 64 * 32 * 200);
  // BSR 4x4 tiles are narrowed to 16 / 4 = 4 vectors (64 columns): 3
  // full, then 8 columns (masked): 4 tiles.
  EXPECT_DOUBLE_EQ(*model.predict(format("bsr:4x4"), {640, 16}, layer),
                   1e-9 * 640 * 4 + 1e-6 * 16);
  EXPECT_DOUBLE_EQ(*model.predict(format("nm:2:4"), {1024, 64}, layer),
                   1e-9 * (1024 + 32 * 200 + 64 * 200));

  // X W: the sparse product adds the transposes of X (N x K) and of the
  // result (N x rows); dense does not transpose.
  layer.weightOnRight = true;
  EXPECT_DOUBLE_EQ(*model.predict(format("nm:2:4"), {1024, 64}, layer),
                   1e-9 * (1024 + 32 * 200 + 64 * 200) + 2 * 1e-6 +
                       1e-9 * (200 * 32 + 200 * 64));
  EXPECT_DOUBLE_EQ(*model.predict(WeightFormat(), {64 * 32, 64}, layer),
                   1e-9 * 64 * 32 * 200);
  // Transposed buffers above 128 KiB are paged: X^T (1000 x 32 floats,
  // 125 KiB) is not, the product (1000 x 64) is.
  layer.n = 1000;
  EXPECT_DOUBLE_EQ(*model.predict(format("nm:2:4"), {1024, 64}, layer),
                   1e-9 * (1024 + 32 * 1000 + 64 * 1000) + 2 * 1e-6 +
                       1e-9 * (1000 * 32 + 1000 * 64) + 2e-9 * 1000 * 64);
}

TEST(CostModel, CacheMissFeatures) {
  // L1 1 KiB, L2 4 KiB, outer 16 KiB: a weight of 2048 stored values
  // (8 KiB) misses L1 for 7/8 and L2 for 1/2 of its accesses and stays in
  // the outer cache, and so does a 512 x 4 dense operand (8 KiB); 8192
  // stored values (32 KiB) miss the outer cache for 1/2.
  std::string text = withFormat(modelText(), R"(
    "bsr:8x8": {"vector": {"features": ["stored_l1_miss", "stored_l2_miss",
                                        "stored_outer_miss"],
                           "coefficients": [1e-9, 1e-9, 1e-9]},
                "matrix": {"features": ["stored_vectors_l1_miss",
                                        "stored_vectors_l2_miss",
                                        "stored_n_l1_miss",
                                        "stored_n_l2_miss"],
                           "coefficients": [1e-9, 1e-9, 1e-9, 1e-9]}},)");
  CostModel model = parsed(text);
  FormatFootprint footprint{2048, 8};
  LayerShape layer{64, 512, 1, false};
  EXPECT_DOUBLE_EQ(*model.predict(format("bsr:8x8"), footprint, layer),
                   1e-9 * 2048 * (0.875 + 0.5));
  layer.n = 4;
  EXPECT_DOUBLE_EQ(*model.predict(format("bsr:8x8"), footprint, layer),
                   1e-9 * (2048 * (0.875 + 0.5) + 2048 * 4 * (0.875 + 0.5)));
  layer.n = 1;
  EXPECT_DOUBLE_EQ(*model.predict(format("bsr:8x8"), {8192, 8}, layer),
                   1e-9 * 8192 * (1 - 1.0 / 32 + 1 - 4.0 / 32 + 0.5));
  // Both fit in L1: no misses.
  EXPECT_DOUBLE_EQ(*model.predict(format("bsr:8x8"), {64, 8}, {64, 8, 4, false}),
                   0.0);
}

TEST(CostModel, KBlockedFeatures) {
  // Kernels calibrated with K blocks of 32 B rows (`k_block`). A 128 x 128
  // weight stored as 8192 values (32 KiB, half of it beyond the 16 KiB
  // outer cache) has 16 per row and K block: K-blocked with a full tile
  // (N = 128).
  std::string text = withFormat(withKBlock(modelText(), 32), R"(
    "nm:4:8": {"matrix": {"features": ["stored_vectors_k_blocked",
                                       "stored_vectors_k_blocked_outer_miss"],
                          "coefficients": [1e-9, 2e-9]}},)");
  CostModel model = parsed(text);
  LayerShape layer{128, 128, 128, false};
  EXPECT_DOUBLE_EQ(*model.predict(format("nm:4:8"), {8192, 128}, layer),
                   1e-9 * 8192 * 8 + 2e-9 * 8192 * 8 * 0.5);
  EXPECT_EQ(model.schedule(format("nm:4:8"), {8192, 128}, layer, false).kBlock,
            32u);
  // Below a full tile, N:M K-blocks where B (128 x N) is over two K-block
  // panels (2 x 32 x 128): N = 65, not 64.
  EXPECT_GT(
      *model.predict(format("nm:4:8"), {8192, 128}, {128, 128, 65, false}),
      0.0);
  EXPECT_DOUBLE_EQ(
      *model.predict(format("nm:4:8"), {8192, 128}, {128, 128, 64, false}),
      0.0);
  // 10 stored per row and K block is the threshold: 5120 values.
  EXPECT_GT(*model.predict(format("nm:4:8"), {5120, 128}, layer), 0.0);
  EXPECT_DOUBLE_EQ(*model.predict(format("nm:4:8"), {5119, 128}, layer), 0.0);
  EXPECT_EQ(model.schedule(format("nm:4:8"), {5119, 128}, layer, false).kBlock,
            0u);
  // K no deeper than one block: not K-blocked.
  EXPECT_DOUBLE_EQ(
      *model.predict(format("nm:4:8"), {4096, 128}, {128, 32, 128, false}),
      0.0);
}

TEST(CostModel, PanelMissFeaturesCountTheKBlockPanel) {
  // K blocks of 32 B rows, full tiles of 8 x 16 columns: a K-blocked
  // product (here 16 stored per row and K block) cycles through a 32 x 128
  // panel (16 KiB), which misses L1 (1 KiB) for 15/16, L2 (4 KiB) for 3/4
  // and stays in the outer cache (16 KiB), though B is 512 KiB.
  std::string text = withFormat(withKBlock(modelText(), 32), R"(
    "nm:4:8": {"matrix": {"features": ["stored_vectors_panel_l1_miss",
                                       "stored_vectors_panel_l2_miss",
                                       "stored_vectors_panel_outer_miss"],
                          "coefficients": [1e-9, 2e-9, 4e-9]}},)");
  CostModel model = parsed(text);
  EXPECT_DOUBLE_EQ(
      *model.predict(format("nm:4:8"), {65536, 128}, {128, 1024, 128, false}),
      65536 * 8 * (1e-9 * 15 / 16 + 2e-9 * 0.75));
  // Not K-blocked (K = 32, one block): all of B, 32 x 256 (32 KiB).
  EXPECT_DOUBLE_EQ(
      *model.predict(format("nm:4:8"), {4096, 128}, {128, 32, 256, false}),
      4096 * 16 * (1e-9 * 31 / 32 + 2e-9 * 0.875 + 4e-9 * 0.5));
  // N:M K-blocks its tail tiles too; BSR (and CSR) run the 4 vectors past
  // the full tile at N = 192 unblocked, over all of B (768 KiB).
  EXPECT_DOUBLE_EQ(
      *model.predict(format("nm:4:8"), {65536, 128}, {128, 1024, 192, false}),
      65536 * 12 * (1e-9 * 15 / 16 + 2e-9 * 0.75));
  std::string bsr = withFormat(text, R"(
    "bsr:1x4": {"matrix": {"features": ["stored_vectors_panel_l1_miss",
                                        "stored_vectors_panel_l2_miss",
                                        "stored_vectors_panel_outer_miss"],
                           "coefficients": [1e-9, 2e-9, 4e-9]}},)");
  EXPECT_DOUBLE_EQ(
      *parsed(bsr).predict(format("bsr:1x4"), {65536, 128},
                           {128, 1024, 192, false}),
      65536 * (8 * (1e-9 * 15 / 16 + 2e-9 * 0.75) +
               4 * (1e-9 * (1 - 1.0 / 768) + 2e-9 * (1 - 4.0 / 768) +
                    4e-9 * (1 - 16.0 / 768))));
}

TEST(CostModel, KBlockIsTheCalibratedKernels) {
  // Without `k_block` the file's kernels had the pipeline's default K block
  // (64 rows), whatever L1 holds; 0 is no K block a kernel can run.
  std::string text = withFormat(modelText(), R"(
    "nm:4:8": {"matrix": {"features": ["stored_vectors_k_blocked"],
                          "coefficients": [1e-9]}},)");
  CostModel model = parsed(text);
  EXPECT_EQ(model.schedule(format("nm:4:8"), {16384, 128}, {128, 256, 128, false},
                           false)
                .kBlock,
            64u);
  EXPECT_NE(parseError(withKBlock(modelText(), 0)).find("k_block"),
            std::string::npos);
}

TEST(CostModel, RecordedPredictionsMustMatch) {
  std::string check = R"(, "checks": [{"format": "csr", "rows": 64,
      "cols": 32, "n": 1, "weight_on_right": false, "stored": 100,
      "kernel_rows": 64, "seconds": )";
  EXPECT_TRUE(bool(CostModel::parse(
      modelText(check + "4.28e-7}]"), "model.json")));
  std::string error = parseError(modelText(check + "5e-7}]"));
  EXPECT_NE(error.find("bad.json: checks[0]: the calibration predicted"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("other feature definitions"), std::string::npos);
}

TEST(CostModel, BadFilesGetClearErrors) {
  auto expectError = [](const std::string &text, const std::string &part) {
    std::string error = parseError(text);
    EXPECT_EQ(error.rfind("bad.json: ", 0), 0u) << error;
    EXPECT_NE(error.find(part), std::string::npos) << error;
  };
  expectError("{", "not valid JSON");
  expectError("[]", "not a sparse-opt cost model");
  expectError("{}", "sparse_opt_cost_model");
  std::string good = modelText();
  auto replaced = [&](const std::string &from, const std::string &to) {
    std::string text = good;
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  expectError(replaced("\"sparse_opt_cost_model\": 1", "\"sparse_opt_cost_model\": 2"),
              "version 2, this compiler reads version 1");
  expectError(replaced("\"vector_bits\": 512", "\"vector_bits\": 100"),
              "vector_bits");
  expectError(replaced("\"cpu\": \"testcpu\", ", ""), "cpu");
  expectError(replaced("\"l2_bytes\": 4096", "\"l2_bytes\": 0"),
              "expected positive l1d_bytes, l2_bytes, outer_cache_bytes");
  expectError(replaced("\"n_tile\": 8", "\"n_tile\": 6"), "power of two");
  expectError(replaced("\"stored_n\"", "\"flops\""), "unknown feature");
  expectError(replaced("[\"stored_n\"], \"coefficients\": [1e-9]",
                       "[\"stored_n\"], \"coefficients\": [-1e-9]"),
              "non-negative");
  expectError(replaced("[\"stored_n\"], \"coefficients\": [1e-9]",
                       "[\"stored_n\"], \"coefficients\": [1e-9, 1]"),
              "one coefficient per feature");
  expectError(replaced("\"bsr:4x4\"", "\"bsr:4\""), "bsr:RxC");
  expectError(replaced("{\"matrix\": {\"features\": [\"stored_tiles\"",
                       "{\"batch\": {\"features\": [\"stored_tiles\""),
              "'vector' (N = 1) or 'matrix' (N > 1)");
  expectError(replaced("\"dense\":", "\"nm:1:4\":"), "'dense'");
  expectError(replaced("\"transpose\"", "\"transposes\""), "transpose");

  llvm::Expected<CostModel> missing =
      CostModel::readFile("/nonexistent/model.json");
  ASSERT_FALSE(missing);
  std::string error = llvm::toString(missing.takeError());
  EXPECT_NE(error.find("/nonexistent/model.json: cannot read the cost model"),
            std::string::npos)
      << error;
}

TEST(CostModel, ReadsFiles) {
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("cost-model", "json", path));
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    ASSERT_FALSE(ec);
    os << modelText();
  }
  llvm::Expected<CostModel> model = CostModel::readFile(path);
  llvm::sys::fs::remove(path);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ(model->name(), path.str().str());
}

TEST(CostModel, ChecksTheTarget) {
  CostModel model = parsed(modelText());
  CpuTarget target;
  target.cpu = "testcpu";
  target.vectorBits = 512;
  std::string warning;
  EXPECT_FALSE(bool(model.checkTarget(target, warning)));
  EXPECT_TRUE(warning.empty());
  target.cpu = "othercpu";
  EXPECT_FALSE(bool(model.checkTarget(target, warning)));
  EXPECT_NE(warning.find("measured on testcpu, the target is othercpu"),
            std::string::npos)
      << warning;
  target.vectorBits = 256;
  llvm::Error error = model.checkTarget(target, warning);
  ASSERT_TRUE(bool(error));
  std::string message = llvm::toString(std::move(error));
  EXPECT_NE(message.find("512-bit vectors, the target (othercpu) has 256"),
            std::string::npos)
      << message;
}

TEST(CostModel, ShippedModelsAreByVectorWidth) {
  CpuTarget target;
  target.triple = "x86_64-unknown-linux-gnu";
  target.cpu = "a-cpu-no-model-was-measured-on";
  for (auto [bits, file] : {std::pair<unsigned, const char *>{512, "x86-64-avx512.json"},
                            {256, "x86-64-avx2.json"}}) {
    target.vectorBits = bits;
    // Only the models measured so far ship; each must read and match.
    if (std::optional<std::string> path = shippedCostModel(target)) {
      EXPECT_NE(path->find(file), std::string::npos) << *path;
      llvm::Expected<CostModel> model = CostModel::readFile(*path);
      ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
      EXPECT_EQ(model->target().vectorBits, bits);
    }
  }
  target.vectorBits = 128;
  EXPECT_FALSE(shippedCostModel(target));
  target.triple = "aarch64-unknown-linux-gnu";
  target.vectorBits = 512;
  EXPECT_FALSE(shippedCostModel(target));
}

TEST(CostModel, ShippedModelOfTheCpuComesBeforeTheWidths) {
  CpuTarget target;
  target.triple = "x86_64-unknown-linux-gnu";
  target.cpu = "znver4";
  target.vectorBits = 512;
  std::optional<std::string> path = shippedCostModel(target);
  ASSERT_TRUE(path);
  EXPECT_NE(path->find("x86-64-avx512-znver4.json"), std::string::npos)
      << *path;
  llvm::Expected<CostModel> model = CostModel::readFile(*path);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  std::string warning;
  EXPECT_FALSE(bool(model->checkTarget(target, warning)));
  EXPECT_EQ(warning, "");
  // Zen 4 with AVX-512 turned off runs the 256-bit kernels: not its model.
  target.vectorBits = 256;
  path = shippedCostModel(target);
  ASSERT_TRUE(path);
  EXPECT_EQ(path->find("znver4"), std::string::npos) << *path;
}

} // namespace

namespace {

/// An AVX2-like model for the schedule decisions: 8 lanes, 8-vector tiles,
/// L1 32 KiB, L2 512 KiB; N > 1 costs 0.125 ns per stored value and
/// activation, N = 1 1 ns per stored value; `parallel` is spliced in.
std::string scheduleModelText(const std::string &parallel) {
  return R"({
  "sparse_opt_cost_model": 1,
  "target": {"cpu": "testcpu", "vector_bits": 256,
             "l1d_bytes": 32768, "l2_bytes": 524288,
             "outer_cache_bytes": 4194304},
  "kernels": {"n_tile": 8, "accumulator_registers": 8},)" +
         parallel + R"(
  "transpose": {"features": ["calls", "elements"], "coefficients": [0, 1e-9]},
  "formats": {
    "dense": {"vector": {"features": ["stored"], "coefficients": [1e-9]},
              "matrix": {"features": ["stored_n"], "coefficients": [1.25e-10]}},
    "csr": {"vector": {"features": ["stored"], "coefficients": [1e-9]},
            "matrix": {"features": ["stored_n"], "coefficients": [1.25e-10]}},
    "bsr:4x4": {"matrix": {"features": ["stored_n"],
                           "coefficients": [1.25e-10]}}
  }
})";
}

CostModel scheduleModel() {
  return parsed(scheduleModelText(
      R"("parallel": {"fork_join_seconds": 5e-6, "threads": 2},)"));
}

KernelScheduleChoice scheduleOf(const CostModel &model, const char *text,
                                int64_t rows, int64_t cols, int64_t stored,
                                int64_t n, bool nDynamic = false) {
  return model.schedule(format(text), FormatFootprint{stored, rows},
                        LayerShape{rows, cols, n, false}, nDynamic);
}

} // namespace

TEST(CostModelSchedule, ForkJoinFromTheFileOrTheDefault) {
  CostModel measured = scheduleModel();
  EXPECT_TRUE(measured.forkJoinMeasured());
  EXPECT_DOUBLE_EQ(measured.forkJoinSeconds(), 5e-6);
  EXPECT_DOUBLE_EQ(measured.parallelMinSeconds(), 10e-6);
  CostModel assumed = parsed(scheduleModelText(""));
  EXPECT_FALSE(assumed.forkJoinMeasured());
  EXPECT_DOUBLE_EQ(assumed.forkJoinSeconds(), kDefaultForkJoinSeconds);
  EXPECT_DOUBLE_EQ(assumed.parallelMinSeconds(), 2 * kDefaultForkJoinSeconds);
}

TEST(CostModelSchedule, MalformedForkJoinIsAnError) {
  for (const char *parallel :
       {R"("parallel": {"fork_join_seconds": -1},)", R"("parallel": {},)",
        R"("parallel": 3,)", R"("parallel": {"fork_join_seconds": "1us"},)"})
    EXPECT_NE(parseError(scheduleModelText(parallel))
                  .find("cost model.parallel.fork_join_seconds"),
              std::string::npos)
        << parallel;
}

TEST(CostModelSchedule, KernelPredictionLeavesOutTheTransposes) {
  CostModel model = scheduleModel();
  FormatFootprint footprint{40, 1};
  LayerShape right{1, 256, 128, true}, left{1, 256, 128, false};
  EXPECT_DOUBLE_EQ(*model.predictKernel(format("csr"), footprint, right),
                   *model.predict(format("csr"), footprint, left));
  EXPECT_GT(*model.predict(format("csr"), footprint, right),
            *model.predictKernel(format("csr"), footprint, right));
}

TEST(CostModelSchedule, ParallelFromTwiceTheForkJoin) {
  CostModel model = scheduleModel();
  // 40 x N x 0.125 ns against 10 us: from N = 2000.
  EXPECT_FALSE(scheduleOf(model, "csr", 1, 256, 40, 1999).parallel);
  KernelScheduleChoice at = scheduleOf(model, "csr", 1, 256, 40, 2000);
  EXPECT_TRUE(at.parallel);
  EXPECT_FALSE(at.minParallelWork);
  EXPECT_NE(at.parallelReason.find(">= 2 x fork/join 5.0 us (calibrated)"),
            std::string::npos)
      << at.parallelReason;
  // Dense: the dense fit, nothing but parallel.
  KernelScheduleChoice dense = scheduleOf(model, "dense", 1, 256, 256, 313);
  EXPECT_TRUE(dense.parallel);
  EXPECT_FALSE(dense.nTile);
  EXPECT_FALSE(dense.kBlock);
  EXPECT_FALSE(scheduleOf(model, "dense", 1, 256, 256, 312).parallel);
}

TEST(CostModelSchedule, DynamicNGivesARunTimeThreshold) {
  CostModel model = scheduleModel();
  KernelScheduleChoice choice =
      scheduleOf(model, "csr", 1, 256, 40, 1, /*nDynamic=*/true);
  EXPECT_TRUE(choice.parallel);
  // N = 2000: 40 x ceil(2000 / 8) vector steps.
  EXPECT_EQ(choice.minParallelWork, 10000);
  EXPECT_EQ(choice.nTile, 8u);
  EXPECT_FALSE(choice.kBlock);
  // A layer too small for threads at any N up to 2^20: serial.
  CostModel slow = parsed(scheduleModelText(
      R"("parallel": {"fork_join_seconds": 1e3},)"));
  KernelScheduleChoice never =
      scheduleOf(slow, "csr", 1, 256, 40, 1, /*nDynamic=*/true);
  EXPECT_FALSE(never.parallel);
  EXPECT_FALSE(never.minParallelWork);
}

TEST(CostModelSchedule, KBlockWhenRowsAreDensePerKBlock) {
  CostModel model = scheduleModel();
  // K block: half of L1 over a B panel row of 8 vectors x 8 lanes x 4 bytes.
  // 40 stored per row of 256: 10 per K block of 64, from a full tile (N of
  // 64 columns).
  EXPECT_EQ(scheduleOf(model, "csr", 1, 256, 40, 64).kBlock, 64u);
  EXPECT_EQ(scheduleOf(model, "csr", 1, 256, 40, 63).kBlock, 0u);
  EXPECT_EQ(scheduleOf(model, "csr", 1, 256, 40, 2000).kBlock, 64u);
  // 39: 9.75 per K block < 10.
  EXPECT_EQ(scheduleOf(model, "csr", 1, 256, 39, 520).kBlock, 0u);
  // K not above the block.
  EXPECT_EQ(scheduleOf(model, "csr", 1, 64, 64, 4096).kBlock, 0u);
  // BSR: the stored values per row (blocks x C) count the same way.
  EXPECT_EQ(scheduleOf(model, "bsr:4x4", 4, 256, 160, 520).kBlock, 64u);
  EXPECT_EQ(scheduleOf(model, "bsr:4x4", 4, 256, 156, 520).kBlock, 0u);
}

TEST(CostModelSchedule, NarrowTilesUnder16VectorsUnlessKBlockedOrNoFullTile) {
  CostModel model = scheduleModel();
  // 39 stored per row of 256: not K-blocked.
  EXPECT_EQ(scheduleOf(model, "csr", 1, 256, 39, 120).nTile, 4u);
  EXPECT_EQ(scheduleOf(model, "csr", 1, 256, 39, 64).nTile, 4u);
  EXPECT_EQ(scheduleOf(model, "csr", 1, 256, 39, 128).nTile, 8u);
  // No full 8-vector tile: the calibrated width, whose narrow tiles take
  // accumulator sets.
  KernelScheduleChoice noFullTile = scheduleOf(model, "nm:2:4", 1, 256, 128, 63);
  EXPECT_EQ(noFullTile.nTile, 8u);
  EXPECT_EQ(noFullTile.nTileReason, "8 vectors, calibrated: N = 63 has no "
                                    "full tile, its narrow tiles take "
                                    "accumulator sets");
  // N:M below a full tile K-blocks its narrow tiles where B (256 x N) is
  // over two K-block panels (2 x 64 x 64): N = 63 yes, N = 32 no.
  EXPECT_EQ(noFullTile.kBlock, 64u);
  KernelScheduleChoice withinPanels =
      scheduleOf(model, "nm:2:4", 1, 256, 128, 32);
  EXPECT_EQ(withinPanels.kBlock, 0u);
  EXPECT_EQ(withinPanels.kBlockReason,
            "off: N = 32 below one full tile, and below two vectors or B "
            "within two K-block panels");
  EXPECT_EQ(scheduleOf(model, "nm:2:4", 1, 256, 128, 33).kBlock, 64u);
  // Two vectors at least: N = 15 on K = 2048 stays per row.
  EXPECT_EQ(scheduleOf(model, "nm:2:4", 1, 2048, 1024, 15).kBlock, 0u);
  EXPECT_EQ(scheduleOf(model, "nm:2:4", 1, 2048, 1024, 16).kBlock, 64u);
  EXPECT_EQ(scheduleOf(model, "csr", 1, 256, 39, 49).nTile, 8u);
  // BSR narrows its own tile to its accumulators.
  EXPECT_EQ(scheduleOf(model, "bsr:4x4", 4, 256, 160, 64).nTile, 8u);
  // K-blocked (25 stored per row and K block): 8 vectors.
  KernelScheduleChoice blocked = scheduleOf(model, "csr", 1, 4096, 1600, 64);
  EXPECT_EQ(blocked.kBlock, 64u);
  EXPECT_EQ(blocked.nTile, 8u);
  // No full tile: CSR keeps its per-row loops (K-blocked, its narrow
  // tiles measured slower).
  KernelScheduleChoice narrow = scheduleOf(model, "csr", 1, 256, 40, 24);
  EXPECT_EQ(narrow.kBlock, 0u);
  EXPECT_EQ(narrow.kBlockReason, "off: N below one full tile");
  // N = 1: the row dot products, no tile.
  EXPECT_FALSE(scheduleOf(model, "csr", 1, 256, 40, 1).nTile);
}

TEST(CostModelSchedule, RowsSplitByNonZerosWhenSkewedAndNotKBlocked) {
  CostModel model = scheduleModel();
  // Parallel (50 x 1600 x 0.125 ns = 10 us), not K-blocked (6.25 per row
  // and K block).
  auto split = [&](const char *text, double imbalance) {
    return model.schedule(format(text), FormatFootprint{50, 2},
                          LayerShape{2, 256, 1600, false}, false, imbalance);
  };
  EXPECT_TRUE(split("csr", kNnzBalanceMinImbalance).nnzBalanced);
  EXPECT_FALSE(split("csr", 1.09).nnzBalanced);
  EXPECT_FALSE(split("nm:2:4", 1.6).nnzBalanced);
  // Serial: nothing to split.
  EXPECT_FALSE(model
                   .schedule(format("csr"), FormatFootprint{50, 2},
                             LayerShape{2, 256, 1000, false}, false, 1.6)
                   .nnzBalanced);
  // K-blocked (25 per row and K block): its row blocks stay even.
  KernelScheduleChoice blocked =
      model.schedule(format("csr"), FormatFootprint{3200, 2},
                     LayerShape{2, 4096, 64, false}, false, 1.6);
  EXPECT_EQ(blocked.kBlock, 64u);
  EXPECT_FALSE(blocked.nnzBalanced);
}
