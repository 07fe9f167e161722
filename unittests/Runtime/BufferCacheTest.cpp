//===- BufferCacheTest.cpp - The generated libraries' allocation functions ===//
//
// lib/Runtime/BufferCache.c, linked here directly. The cache is global:
// every test takes back what it gave it, and frees with free() (the blocks
// are malloc's, as a caller freeing a library's result relies on).
//
//===----------------------------------------------------------------------===//

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

extern "C" {
void *_mlir_memref_to_llvm_alloc(uint64_t size);
void _mlir_memref_to_llvm_free(void *block);
}

namespace {

constexpr uint64_t kMiB = 1 << 20;

void *allocate(uint64_t size) {
  void *block = _mlir_memref_to_llvm_alloc(size);
  EXPECT_NE(block, nullptr);
  std::memset(block, 1, size);
  return block;
}

TEST(BufferCache, ReusesAFreedLargeBlock) {
  void *first = allocate(kMiB);
  _mlir_memref_to_llvm_free(first);
  void *second = allocate(kMiB);
  EXPECT_EQ(first, second);
  std::free(second);
}

TEST(BufferCache, TakesTheSmallestBlockThatFits) {
  void *small = allocate(kMiB);
  void *large = allocate(4 * kMiB);
  _mlir_memref_to_llvm_free(large);
  _mlir_memref_to_llvm_free(small);
  void *fitsSmall = allocate(900 * 1024);
  void *fitsLarge = allocate(3 * kMiB);
  EXPECT_EQ(fitsSmall, small);
  EXPECT_EQ(fitsLarge, large);
  std::free(fitsSmall);
  std::free(fitsLarge);
}

TEST(BufferCache, DoesNotWasteMoreThanHalfABlock) {
  void *large = allocate(4 * kMiB);
  _mlir_memref_to_llvm_free(large);
  void *quarter = allocate(kMiB);
  EXPECT_NE(quarter, large);
  void *again = allocate(4 * kMiB);
  EXPECT_EQ(again, large);
  std::free(quarter);
  std::free(again);
}

TEST(BufferCache, ThreadsAllocateAndFreeConcurrently) {
  // OpenMP regions of a library allocate on several threads.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      std::vector<void *> live;
      for (int i = 0; i < 500; ++i) {
        uint64_t size = (128 + 64 * ((i * 7 + t) % 16)) * 1024;
        live.push_back(allocate(size));
        if (live.size() > 3) {
          _mlir_memref_to_llvm_free(live.front());
          live.erase(live.begin());
        }
      }
      for (void *block : live)
        _mlir_memref_to_llvm_free(block);
    });
  for (std::thread &thread : threads)
    thread.join();
  // No block was handed out twice: what the cache still keeps comes back
  // as distinct blocks.
  std::vector<void *> taken;
  for (int size = 0; size < 16; ++size)
    for (int i = 0; i < 4; ++i)
      taken.push_back(allocate((128 + 64 * size) * 1024));
  std::sort(taken.begin(), taken.end());
  EXPECT_EQ(std::adjacent_find(taken.begin(), taken.end()), taken.end());
  for (void *block : taken)
    std::free(block);
}

} // namespace
