// Tensor element types as GGUF numbers them, their block layouts, and reference
// (plain C++, obviously-correct) quantize/dequantize routines for every type we support.
// The fast paths live in backends/cpu/kernels_*.cpp; these are what they are tested against.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace omni {

enum GgmlType : uint32_t {
  TYPE_F32 = 0,
  TYPE_F16 = 1,
  TYPE_Q4_0 = 2,
  TYPE_Q4_1 = 3,
  TYPE_Q5_0 = 6,
  TYPE_Q5_1 = 7,
  TYPE_Q8_0 = 8,
  TYPE_Q8_1 = 9,
  TYPE_Q2_K = 10,
  TYPE_Q3_K = 11,
  TYPE_Q4_K = 12,
  TYPE_Q5_K = 13,
  TYPE_Q6_K = 14,
  TYPE_Q8_K = 15,
  TYPE_BF16 = 30,
  TYPE_COUNT = 40,  // upper bound for tables indexed by type
};

struct TypeTraits {
  const char* name;      // "q4_K", as llama.cpp prints it; nullptr for an unknown id
  int64_t block_elems;   // values per block (1 for float types)
  size_t block_bytes;    // bytes per block
  bool supported;        // we can load, dequantize and multiply it
};

// Traits for any uint32 (unknown ids give name=nullptr, supported=false).
const TypeTraits& type_traits(uint32_t type);
// Bytes taken by n values of this type; n must be a multiple of block_elems.
size_t row_bytes(uint32_t type, int64_t n);

// Reference conversions; n must be a multiple of the type's block size.
void dequantize_row(uint32_t type, const void* src, float* dst, int64_t n);
void quantize_row(uint32_t type, const float* src, void* dst, int64_t n);

// Half and bfloat16 conversions, exact IEEE round-to-nearest-even.
// `static inline` on purpose: every ISA unit gets its own copy (no ODR mixing of AVX code).
static inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400) == 0) { mant <<= 1; exp--; }
      mant &= 0x3ff;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

static inline uint16_t fp32_to_fp16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000;
  const uint32_t absx = x & 0x7fffffff;
  if (absx >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
  if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);  // rounds to inf
  if (absx < 0x38800000u) {  // subnormal or zero in half
    if (absx < 0x33000000u) return (uint16_t)sign;
    const uint32_t e = absx >> 23;
    const uint32_t m = (absx & 0x7fffff) | 0x800000;
    // generic path: value = m * 2^(e-150); half subnormal unit = 2^-24 -> q = m * 2^(e-126)
    const uint32_t s = 126 - e;  // >= 1
    uint32_t q = m >> s;
    const uint32_t rem = m & ((1u << s) - 1);
    const uint32_t halfway = 1u << (s - 1);
    if (rem > halfway || (rem == halfway && (q & 1))) q++;
    return (uint16_t)(sign | q);
  }
  uint32_t h = ((absx - 0x38000000u) >> 13);  // rebias exponent 127->15
  const uint32_t rem = absx & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

static inline float bf16_to_fp32(uint16_t h) {
  const uint32_t bits = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

static inline uint16_t fp32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000u) return (uint16_t)((x >> 16) | 64);  // quiet NaN
  return (uint16_t)((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

// Block layouts exactly as GGUF stores them (little-endian, packed).
constexpr int QK32 = 32;
constexpr int QK_K = 256;
constexpr int K_SCALE_SIZE = 12;

#pragma pack(push, 1)
struct block_q4_0 { uint16_t d; uint8_t qs[QK32 / 2]; };
struct block_q4_1 { uint16_t d; uint16_t m; uint8_t qs[QK32 / 2]; };
struct block_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[QK32 / 2]; };
struct block_q5_1 { uint16_t d; uint16_t m; uint8_t qh[4]; uint8_t qs[QK32 / 2]; };
struct block_q8_0 { uint16_t d; int8_t qs[QK32]; };
struct block_q4_K { uint16_t d; uint16_t dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; };
struct block_q5_K { uint16_t d; uint16_t dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
struct block_q6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; };
#pragma pack(pop)

static_assert(sizeof(block_q4_0) == 18, "q4_0");
static_assert(sizeof(block_q4_1) == 20, "q4_1");
static_assert(sizeof(block_q5_0) == 22, "q5_0");
static_assert(sizeof(block_q5_1) == 24, "q5_1");
static_assert(sizeof(block_q8_0) == 34, "q8_0");
static_assert(sizeof(block_q4_K) == 144, "q4_K");
static_assert(sizeof(block_q5_K) == 176, "q5_K");
static_assert(sizeof(block_q6_K) == 210, "q6_K");

}  // namespace omni
