#include "cpu_features.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define OMNI_X86 1
#endif

namespace omni::cpu {

namespace {

enum Level { LEVEL_SCALAR = 0, LEVEL_AVX2 = 1, LEVEL_AVX512 = 2 };

const char* const kLevelNames[] = {"scalar", "avx2", "avx512"};

#ifdef OMNI_X86
uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

Level detect() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return LEVEL_SCALAR;
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
  if (!(osxsave && avx && fma && f16c)) return LEVEL_SCALAR;
  const uint64_t xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return LEVEL_SCALAR;  // the OS saves XMM and YMM state
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return LEVEL_SCALAR;
  const bool avx2 = b & (1u << 5);
  if (!avx2) return LEVEL_SCALAR;
  const bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
  const bool vnni = c & (1u << 11);
  const bool zmm_state = (xcr0 & 0xe6) == 0xe6;  // opmask, upper ZMM0-15 and ZMM16-31 too
  if (f && dq && bw && vl && vnni && zmm_state) return LEVEL_AVX512;
  return LEVEL_AVX2;
}
#else
Level detect() { return LEVEL_SCALAR; }
#endif

Level cpu_level() {
  static const Level level = detect();
  return level;
}

const KernelTable& table_for(Level level) {
  switch (level) {
    case LEVEL_AVX512: return kernels_avx512();
    case LEVEL_AVX2: return kernels_avx2();
    default: return kernels_scalar();
  }
}

int level_by_name(const char* name) {
  for (int i = 0; i < 3; i++)
    if (std::strcmp(name, kLevelNames[i]) == 0) return i;
  return -1;
}

}  // namespace

const char* best_isa() { return kLevelNames[cpu_level()]; }

const KernelTable* kernels_by_name(const char* isa) {
  const int level = isa ? level_by_name(isa) : -1;
  if (level < 0 || level > cpu_level()) return nullptr;
  return &table_for((Level)level);
}

const KernelTable& select_kernels(std::string* error) {
  const char* forced = std::getenv("OMNI_ISA");
  if (forced && *forced) {
    const int level = level_by_name(forced);
    if (level < 0) {
      if (error)
        *error = std::string("OMNI_ISA=") + forced + " is not a known level; use scalar, avx2 or avx512";
    } else if (level > cpu_level()) {
      if (error)
        *error = std::string("OMNI_ISA=") + forced + " asks for " + kLevelNames[level] +
                 " kernels but this CPU (or its OS) supports only up to " + best_isa();
    } else {
      return table_for((Level)level);
    }
  }
  return table_for(cpu_level());
}

}  // namespace omni::cpu
