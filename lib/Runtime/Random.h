//===- Random.h - The runtime's reproducible random numbers -----*- C++ -*-===//
//
// splitmix64 and unbiased bounded integers: integer arithmetic only, so that
// every seeded sequence (values, random patterns, masks) is identical on every
// platform.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_LIB_RUNTIME_RANDOM_H
#define SPARSE_OPT_LIB_RUNTIME_RANDOM_H

#include <cstdint>

namespace sparse_opt::runtime {

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and fully specified by
/// integer arithmetic.
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

private:
  uint64_t state;
};

/// A uniform integer in [0, bound) for bound > 0, without bias (Lemire,
/// "Fast Random Integer Generation in an Interval", 2019).
inline uint64_t uniformBelow(SplitMix64 &rng, uint64_t bound) {
  unsigned __int128 product = (unsigned __int128)rng.next() * bound;
  if (uint64_t(product) < bound) {
    uint64_t threshold = (0 - bound) % bound;
    while (uint64_t(product) < threshold)
      product = (unsigned __int128)rng.next() * bound;
  }
  return uint64_t(product >> 64);
}

} // namespace sparse_opt::runtime

#endif // SPARSE_OPT_LIB_RUNTIME_RANDOM_H
