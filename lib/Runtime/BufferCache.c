//===- BufferCache.c - Large temporaries kept across calls ----------------===//
//
// The allocation functions of the libraries sparse-compile builds: their
// memref.alloc / memref.dealloc call these (MLIR's memref-to-LLVM lowering
// with use-generic-functions; pipeline option `reuse-large-buffers`). glibc
// maps a block above its mmap threshold (128 KiB by default) afresh on
// every malloc and unmaps it on free, or trims its heap, so a model's large
// temporaries (im2col buffers, transposed activations) are page-faulted in
// again on every call. Freed blocks of at least kCachedBytes are kept here
// instead, up to kSlots of them, and handed to the next allocation they
// fit, so a call reuses the pages the call before faulted in. The blocks
// are malloc's own: a result handed to the caller is still freed with
// free().
//
// Linked into each library with hidden visibility: every library has a
// cache of its own, released when it is unloaded.
//
//===----------------------------------------------------------------------===//

#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

enum {
  // Smaller blocks stay with malloc, which reuses them without faults.
  kCachedBytes = 128 * 1024,
  // How many freed blocks are kept: enough that the next call finds a
  // block for each of its large temporaries. ResNet-50 needs more than 64
  // (with 64 slots, 8k page faults per call remained; with 256, none).
  kSlots = 256,
};

// Allocations are rare next to the work between them (about 140 per
// ResNet-50 call, most of them small), so one lock is cheap enough, and it
// keeps each block's size with it.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *blocks[kSlots];
static size_t capacities[kSlots];

void *_mlir_memref_to_llvm_alloc(uint64_t size) {
  if (size >= kCachedBytes) {
    // The smallest kept block that holds `size`, wasting at most half.
    pthread_mutex_lock(&lock);
    int best = -1;
    for (int i = 0; i < kSlots; ++i)
      if (blocks[i] && capacities[i] >= size && capacities[i] / 2 <= size &&
          (best < 0 || capacities[i] < capacities[best]))
        best = i;
    void *block = NULL;
    if (best >= 0) {
      block = blocks[best];
      blocks[best] = NULL;
    }
    pthread_mutex_unlock(&lock);
    if (block)
      return block;
  }
  return malloc(size);
}

void _mlir_memref_to_llvm_free(void *block) {
  if (!block)
    return;
  size_t capacity = malloc_usable_size(block);
  if (capacity >= kCachedBytes) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < kSlots; ++i)
      if (!blocks[i]) {
        blocks[i] = block;
        capacities[i] = capacity;
        pthread_mutex_unlock(&lock);
        return;
      }
    pthread_mutex_unlock(&lock);
  }
  free(block);
}

__attribute__((destructor)) static void releaseCachedBuffers(void) {
  for (int i = 0; i < kSlots; ++i) {
    free(blocks[i]);
    blocks[i] = NULL;
  }
}
