// Tests for the quantization formats (engine/quant.cpp) and the CPU kernel tables at every
// ISA level this CPU has. Prints `ok <group>` or `FAIL <group>: ...` per check group and a
// final `N passed, M failed`; exits non-zero on any failure.
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../backends/cpu/cpu_features.h"
#include "../backends/cpu/kernels.h"
#include "../engine/quant.h"
#include "tile_weights.h"

using namespace omni;
using namespace omni::cpu;

namespace {

int g_passed = 0, g_failed = 0;

// One check group: collects the first few failure messages, prints one line at the end.
struct Group {
  std::string name;
  std::string first;
  int errors = 0;
  explicit Group(std::string n) : name(std::move(n)) {}
  void fail(const char* fmt, ...) {
    if (errors++ < 3) {
      char buf[512];
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(buf, sizeof buf, fmt, ap);
      va_end(ap);
      if (!first.empty()) first += "; ";
      first += buf;
    }
  }
  ~Group() {
    if (errors == 0) {
      printf("ok %s\n", name.c_str());
      g_passed++;
    } else {
      printf("FAIL %s: %s%s\n", name.c_str(), first.c_str(), errors > 3 ? " ..." : "");
      g_failed++;
    }
    fflush(stdout);
  }
};

const uint32_t kTypes[] = {TYPE_F32, TYPE_F16, TYPE_BF16, TYPE_Q8_0, TYPE_Q4_0, TYPE_Q4_1,
                           TYPE_Q5_0, TYPE_Q5_1, TYPE_Q4_K, TYPE_Q5_K, TYPE_Q6_K};

const char* tname(uint32_t t) { return type_traits(t).name; }

bool is_float_type(uint32_t t) { return t == TYPE_F32 || t == TYPE_F16 || t == TYPE_BF16; }

std::vector<int64_t> sizes_for(uint32_t t) {
  const int64_t b = type_traits(t).block_elems;
  if (b == 256) return {256, 768, 1536, 2048};
  if (b == 32) return {32, 256, 576, 1536, 2048};
  return {1, 13, 37, 256, 576, 1536, 2048};
}

// Weight-like data: Gaussian with a per-row scale, a few outliers, and some special rows
// (all zero, constant, all positive, tiny) that exercise degenerate blocks.
std::vector<float> make_data(std::mt19937& rng, int64_t n, int kind) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_real_distribution<float> ud(0.0f, 1.0f);
  std::vector<float> v((size_t)n);
  const float scale = std::exp(nd(rng));
  for (auto& x : v) {
    x = nd(rng) * scale;
    if (ud(rng) < 0.01f) x *= 8;
  }
  switch (kind) {
    case 1: std::fill(v.begin(), v.end(), 0.0f); break;
    case 2: std::fill(v.begin(), v.end(), 0.75f); break;
    case 3: for (auto& x : v) x = std::fabs(x) + 0.5f; break;
    case 4: for (auto& x : v) x *= 1e-6f; break;
    default: break;
  }
  return v;
}

std::vector<uint8_t> quantize(uint32_t t, const std::vector<float>& x) {
  std::vector<uint8_t> q(row_bytes(t, (int64_t)x.size()));
  quantize_row(t, x.data(), q.data(), (int64_t)x.size());
  return q;
}

std::vector<float> dequantize(uint32_t t, const void* q, int64_t n) {
  std::vector<float> y((size_t)n);
  dequantize_row(t, q, y.data(), n);
  return y;
}

std::vector<const KernelTable*> tables() {
  std::vector<const KernelTable*> out;
  for (const char* isa : {"scalar", "avx2", "avx512"})
    if (const KernelTable* t = kernels_by_name(isa)) out.push_back(t);
  return out;
}

// ---- type table ----------------------------------------------------------------------------

void test_traits() {
  Group g("traits");
  struct Want { uint32_t id; const char* name; int64_t be; size_t bb; bool sup; };
  const Want want[] = {
      {0, "f32", 1, 4, true},       {1, "f16", 1, 2, true},      {2, "q4_0", 32, 18, true},
      {3, "q4_1", 32, 20, true},    {6, "q5_0", 32, 22, true},   {7, "q5_1", 32, 24, true},
      {8, "q8_0", 32, 34, true},    {9, "q8_1", 32, 36, false},  {10, "q2_K", 256, 84, false},
      {11, "q3_K", 256, 110, false}, {12, "q4_K", 256, 144, true}, {13, "q5_K", 256, 176, true},
      {14, "q6_K", 256, 210, true}, {15, "q8_K", 256, 292, false}, {16, "iq2_xxs", 256, 66, false},
      {20, "iq4_nl", 32, 18, false}, {23, "iq4_xs", 256, 136, false}, {30, "bf16", 1, 2, true},
      {34, "tq1_0", 256, 54, false}, {39, "mxfp4", 32, 17, false},
  };
  for (const Want& w : want) {
    const TypeTraits& t = type_traits(w.id);
    if (!t.name || strcmp(t.name, w.name) != 0 || t.block_elems != w.be || t.block_bytes != w.bb ||
        t.supported != w.sup)
      g.fail("type %u: got %s/%lld/%zu/%d", w.id, t.name ? t.name : "null", (long long)t.block_elems,
             t.block_bytes, (int)t.supported);
  }
  for (uint32_t id : {4u, 5u, 31u, 36u, 40u, 1000u, 0xffffffffu})
    if (type_traits(id).name || type_traits(id).supported) g.fail("id %u should be unknown", id);
  if (row_bytes(TYPE_Q4_K, 4096) != 16 * 144 || row_bytes(TYPE_F16, 7) != 14 || row_bytes(TYPE_Q8_0, 64) != 68)
    g.fail("row_bytes");
  if (act_row_bytes(ACT_F32, 10) != 40 || act_row_bytes(ACT_Q8_32, 64) != 2 * sizeof(act_q8_32) ||
      act_row_bytes(ACT_Q8_256, 512) != 2 * sizeof(act_q8_256))
    g.fail("act_row_bytes");
}

// ---- fp16 / bf16 ---------------------------------------------------------------------------

float half_value_by_formula(uint16_t h) {  // independent of fp16_to_fp32
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 0) v = std::ldexp((double)m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = std::ldexp(1.0 + m / 1024.0, e - 15);
  return (float)(s ? -v : v);
}

// Round-to-nearest-even of a finite float to a format with `mbits` mantissa bits, minimum
// normal exponent `emin` and overflow threshold `maxv` (values rounding above it become inf).
double round_to_format(float f, int mbits, int emin, double maxv, double inf_at) {
  const double a = std::fabs((double)f);
  if (a == 0) return f;
  int e = (int)std::floor(std::log2(a));
  if (std::ldexp(1.0, e) > a) e--;  // guard against log2 rounding
  if (std::ldexp(1.0, e + 1) <= a) e++;
  e = std::max(e, emin);
  const double ulp = std::ldexp(1.0, e - mbits);
  double r = std::nearbyint(a / ulp) * ulp;
  if (r >= inf_at) r = INFINITY;
  (void)maxv;
  return f < 0 ? -r : r;
}

void test_fp16() {
  {
    Group g("fp16 exhaustive");
    for (uint32_t h = 0; h < 65536; h++) {
      const float f = fp16_to_fp32((uint16_t)h);
      const float want = half_value_by_formula((uint16_t)h);
      if (std::isnan(want)) {
        const uint16_t back = fp32_to_fp16(f);
        if (!std::isnan(f) || (back & 0x7c00) != 0x7c00 || !(back & 0x3ff) || (back >> 15) != (h >> 15))
          g.fail("nan %04x", h);
        continue;
      }
      if (memcmp(&f, &want, 4) != 0) g.fail("to_fp32 %04x: %g vs %g", h, f, want);
      if (fp32_to_fp16(f) != h) g.fail("round trip %04x -> %04x", h, fp32_to_fp16(f));
    }
  }
  {
    Group g("fp16 rounding");
    std::mt19937 rng(7);
    std::uniform_int_distribution<uint32_t> bits;
    std::uniform_int_distribution<int> ex(127 - 28, 127 + 17);  // below half subnormals to above max
    for (int i = 0; i < 400000; i++) {
      float f;
      if (i % 4 == 3) {  // exact midpoint between two adjacent halves
        uint16_t h = (uint16_t)(bits(rng) & 0x7bfe);
        f = (float)(((double)fp16_to_fp32(h) + (double)fp16_to_fp32((uint16_t)(h + 1))) / 2);
        if (bits(rng) & 1) f = -f;
      } else {
        const uint32_t b = (bits(rng) & 0x807fffffu) | ((uint32_t)ex(rng) << 23);
        memcpy(&f, &b, 4);
      }
      const double want = round_to_format(f, 10, -14, 65504, 65520);
      const float got = fp16_to_fp32(fp32_to_fp16(f));
      if ((double)got != want) g.fail("%.9g -> %.9g, want %.9g", f, got, want);
    }
    const struct { float f; uint16_t h; } golden[] = {
        {1.0f, 0x3c00}, {-2.5f, 0xc100}, {65504.0f, 0x7bff}, {65520.0f, 0x7c00}, {5.9604645e-8f, 0x0001},
        {0.1f, 0x2e66}, {-0.0f, 0x8000}, {INFINITY, 0x7c00}, {2.9802322e-8f, 0x0000}, {4.4703484e-8f, 0x0001},
    };
    for (auto& c : golden)
      if (fp32_to_fp16(c.f) != c.h) g.fail("%g -> %04x, want %04x", c.f, fp32_to_fp16(c.f), c.h);
  }
  {
    Group g("bf16 exhaustive");
    for (uint32_t h = 0; h < 65536; h++) {
      const float f = bf16_to_fp32((uint16_t)h);
      uint32_t b;
      memcpy(&b, &f, 4);
      if (b != h << 16) g.fail("to_fp32 %04x", h);
      const uint16_t back = fp32_to_bf16(f);
      if (std::isnan(f) ? !std::isnan(bf16_to_fp32(back)) : back != h) g.fail("round trip %04x -> %04x", h, back);
    }
  }
  {
    Group g("bf16 rounding");
    std::mt19937 rng(8);
    std::uniform_int_distribution<uint32_t> bits;
    for (int i = 0; i < 400000; i++) {
      uint32_t b = bits(rng);
      if (i % 4 == 3) b = (b & 0xffff0000u) | 0x8000u;  // exact tie
      if (((b >> 23) & 0xff) == 0xff) b &= ~(1u << 30);  // keep it finite
      float f;
      memcpy(&f, &b, 4);
      const double want = round_to_format(f, 7, -126, 0, std::ldexp(1.0, 128));
      const float got = bf16_to_fp32(fp32_to_bf16(f));
      if ((double)got != want) g.fail("%08x -> %04x", b, fp32_to_bf16(f));
    }
    if (fp32_to_bf16(1.0f) != 0x3f80 || fp32_to_bf16(-2.5f) != 0xc020 || fp32_to_bf16(0.1f) != 0x3dcd)
      g.fail("golden values");
  }
}

// ---- golden blocks -------------------------------------------------------------------------
// Each block below is written byte by byte from the format description; the expected values
// at a few positions were worked out by hand (the comments show the arithmetic).

struct Spot { int index; float value; };

void check_golden(const char* type_name, uint32_t type, const std::vector<uint8_t>& bytes,
                  std::initializer_list<Spot> spots, bool quantize_back) {
  Group g(std::string("golden ") + type_name);
  const int64_t n = type_traits(type).block_elems == 1 ? (int64_t)(bytes.size() / type_traits(type).block_bytes)
                                                       : type_traits(type).block_elems;
  if (row_bytes(type, n) != bytes.size()) {
    g.fail("block size %zu", bytes.size());
    return;
  }
  const std::vector<float> y = dequantize(type, bytes.data(), n);
  for (const Spot& s : spots)
    if (y[(size_t)s.index] != s.value) g.fail("value %d = %g, want %g", s.index, y[(size_t)s.index], s.value);
  for (const KernelTable* kt : tables()) {
    std::vector<float> z((size_t)n);
    kt->dequantize_row(type, bytes.data(), z.data(), n);
    if (memcmp(z.data(), y.data(), (size_t)n * 4) != 0) g.fail("%s dequantize differs", kt->isa);
  }
  if (quantize_back) {  // these blocks sit exactly on the quantizer's own grid
    const std::vector<uint8_t> q = quantize(type, y);
    for (size_t i = 0; i < q.size(); i++)
      if (q[i] != bytes[i]) {
        g.fail("quantize byte %zu = %02x, want %02x", i, q[i], bytes[i]);
        break;
      }
  }
}

void test_golden() {
  {  // f32: little-endian IEEE
    std::vector<uint8_t> b = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0};
    check_golden("f32", TYPE_F32, b, {{0, 1.0f}, {1, -2.5f}}, true);
  }
  {  // f16: 0x3c00 = 1, 0xc100 = -2.5, 0x0001 = 2^-24
    std::vector<uint8_t> b = {0x00, 0x3c, 0x00, 0xc1, 0x01, 0x00};
    check_golden("f16", TYPE_F16, b, {{0, 1.0f}, {1, -2.5f}, {2, 5.9604645e-8f}}, true);
  }
  {  // bf16: the top half of the f32 bits
    std::vector<uint8_t> b = {0x80, 0x3f, 0x20, 0xc0};
    check_golden("bf16", TYPE_BF16, b, {{0, 1.0f}, {1, -2.5f}}, true);
  }
  {  // q8_0: d = 0.5 (0x3800), qs[j] = 8j - 127: value j = (8j - 127) / 2
    std::vector<uint8_t> b = {0x00, 0x38};
    for (int j = 0; j < 32; j++) b.push_back((uint8_t)(int8_t)(8 * j - 127));
    check_golden("q8_0", TYPE_Q8_0, b, {{0, -63.5f}, {16, 0.5f}, {31, 60.5f}}, true);
  }
  {  // q4_0: d = 0.25 (0x3400), qs[j] = j | j << 4: values j and j+16 are both (j - 8) / 4
    std::vector<uint8_t> b = {0x00, 0x34};
    for (int j = 0; j < 16; j++) b.push_back((uint8_t)(j | (j << 4)));
    check_golden("q4_0", TYPE_Q4_0, b, {{0, -2.0f}, {3, -1.25f}, {19, -1.25f}, {31, 1.75f}}, true);
  }
  {  // q4_1: d = 0.5, m = -1 (0xbc00), qs[j] = j | (15 - j) << 4: value j = j/2 - 1,
     // value j+16 = (15 - j)/2 - 1
    std::vector<uint8_t> b = {0x00, 0x38, 0x00, 0xbc};
    for (int j = 0; j < 16; j++) b.push_back((uint8_t)(j | ((15 - j) << 4)));
    check_golden("q4_1", TYPE_Q4_1, b, {{0, -1.0f}, {5, 1.5f}, {16, 6.5f}, {31, -1.0f}}, true);
  }
  // q5_0 / q5_1: qh = 0xa5a5f00e little-endian (bytes 0e f0 a5 a5): the fifth bit of value i
  // is bit i, so bits 1-3, 12-15, 16, 18, 21, 23, 24, 26, 29, 31 are set.
  const uint8_t qh5[4] = {0x0e, 0xf0, 0xa5, 0xa5};
  {  // q5_0: d = 0.125 (0x3000), value = (q - 16) / 8
    // v0: nibble 0, bit 0 clear -> q 0 -> -2; v5: 5, bit clear -> -1.375; v14: 14|16 = 30 -> 1.75;
    // v16: high nibble of qs[0] = 15, bit 16 set -> 31 -> 1.875; v17: 14, clear -> -0.25; v31: 0|16 -> 0
    std::vector<uint8_t> b = {0x00, 0x30, qh5[0], qh5[1], qh5[2], qh5[3]};
    for (int j = 0; j < 16; j++) b.push_back((uint8_t)(j | ((15 - j) << 4)));
    check_golden("q5_0", TYPE_Q5_0, b,
                 {{0, -2.0f}, {5, -1.375f}, {14, 1.75f}, {16, 1.875f}, {17, -0.25f}, {31, 0.0f}}, true);
  }
  {  // q5_1: d = 0.25, m = 0.5 (0x3800), value = q/4 + 0.5; same q as above
    std::vector<uint8_t> b = {0x00, 0x34, 0x00, 0x38, qh5[0], qh5[1], qh5[2], qh5[3]};
    for (int j = 0; j < 16; j++) b.push_back((uint8_t)(j | ((15 - j) << 4)));
    check_golden("q5_1", TYPE_Q5_1, b, {{0, 0.5f}, {5, 1.75f}, {16, 8.25f}, {31, 4.5f}}, true);
  }
  // q4_K / q5_K: d = 1 (0x3c00), dmin = 0.5 (0x3800); sub-block scales 1,2,3,4,5,6,7,63 and
  // mins 0,2,4,6,8,10,40,14. Packing: bytes 0-3 scales 0-3, bytes 4-7 mins 0-3, bytes 8-11
  // (scale j & 15) | (min j & 15) << 4 for j = 4..7, and the top two bits of scale j / min j
  // (j >= 4) in bits 6-7 of byte j-4 / byte j: scale 7 = 63 puts 3 << 6 into byte 3,
  // min 6 = 40 puts 2 << 6 into byte 6 and 8 into the high nibble of byte 10.
  const uint8_t kscales[12] = {0x01, 0x02, 0x03, 0xc4, 0x00, 0x02, 0x84, 0x06, 0x85, 0xa6, 0x87, 0xef};
  {  // q4_K, qs[i] = i. Value v: group g = v/64, l = v%64; l < 32: low nibble of qs[32g+l],
     // sub-block 2g; else high nibble of qs[32g+l-32], sub-block 2g+1. value = sc*q - 0.5*m.
     // v5: 5*1 - 0 = 5; v40: (8>>4 = 0)*2 - 1 = -1; v63: (31>>4 = 1)*2 - 1 = 1;
     // v100: (36>>4 = 2)*4 - 3 = 5; v200: (104&15 = 8)*7 - 20 = 36; v230: (102>>4 = 6)*63 - 7 = 371;
     // v255: (127>>4 = 7)*63 - 7 = 434
    std::vector<uint8_t> b = {0x00, 0x3c, 0x00, 0x38};
    b.insert(b.end(), kscales, kscales + 12);
    for (int i = 0; i < 128; i++) b.push_back((uint8_t)i);
    check_golden("q4_K", TYPE_Q4_K, b,
                 {{0, 0.0f}, {5, 5.0f}, {40, -1.0f}, {63, 1.0f}, {100, 5.0f}, {200, 36.0f}, {230, 371.0f},
                  {255, 434.0f}},
                 false);
  }
  {  // q5_K: same scales, qh[l] = 37*l mod 256, qs[i] = i. The fifth bit of value 64g+l (l < 32)
     // is bit 2g of qh[l], of value 64g+32+l bit 2g+1.
     // v1: qh[1] = 0x25, bit 0 set -> q = 1|16 = 17 -> 17; v33: bit 1 clear, qs[1]>>4 = 0 -> -1;
     // v65: bit 2 set, qs[33]&15 = 1 -> 17*3 - 2 = 49; v161: qh[1] bit 5 set, qs[65]>>4 = 4 -> 20*6 - 5 = 115;
     // v223: qh[31] = 0x7b bit 6 set, qs[127]&15 = 15 -> 31*7 - 20 = 197; v255: bit 7 clear -> 7*63 - 7 = 434
    std::vector<uint8_t> b = {0x00, 0x3c, 0x00, 0x38};
    b.insert(b.end(), kscales, kscales + 12);
    for (int l = 0; l < 32; l++) b.push_back((uint8_t)(37 * l));
    for (int i = 0; i < 128; i++) b.push_back((uint8_t)i);
    check_golden("q5_K", TYPE_Q5_K, b,
                 {{1, 17.0f}, {33, -1.0f}, {65, 49.0f}, {161, 115.0f}, {223, 197.0f}, {255, 434.0f}}, false);
  }
  {  // q6_K: ql[i] = 3i, qh[i] = 29i (mod 256), scales[g] = 3g - 20, d = 0.5 at the end.
     // Value v: half h = v/128, r = v%128, l = r%32, quarter t = r/32: low 4 bits from
     // ql[64h + l + 32*(t&1)] (low nibble for t < 2, high for t >= 2), top 2 bits from
     // qh[32h + l] bits 2t..2t+1; value = d * scales[v/16] * (q - 32).
     // v0: q 0 -> 0.5*-20*-32 = 320; v17: ql[17] = 51 -> 3, qh[17] = 237 -> bits 0-1 = 1, q 19 -> 0.5*-17*-13 = 110.5
     // v50: ql[50] = 150 -> 6, qh[18] = 10 -> bits 2-3 = 2, q 38 -> 0.5*-11*6 = -33
     // v77: ql[13] = 39 -> high 2, qh[13] = 121 -> bits 4-5 = 3, q 50 -> 0.5*-8*18 = -72
     // v127: ql[63] = 189 -> high 11, qh[31] = 131 -> bits 6-7 = 2, q 43 -> 0.5*1*11 = 5.5
     // v200: ql[72] = 216 -> high 13, qh[40] = 136 -> bits 4-5 = 0, q 13 -> 0.5*16*-19 = -152
     // v255: ql[127] = 125 -> high 7, qh[63] = 35 -> bits 6-7 = 0, q 7 -> 0.5*25*-25 = -312.5
    std::vector<uint8_t> b;
    for (int i = 0; i < 128; i++) b.push_back((uint8_t)(3 * i));
    for (int i = 0; i < 64; i++) b.push_back((uint8_t)(29 * i));
    for (int g = 0; g < 16; g++) b.push_back((uint8_t)(int8_t)(3 * g - 20));
    b.push_back(0x00);
    b.push_back(0x38);
    check_golden("q6_K", TYPE_Q6_K, b,
                 {{0, 320.0f}, {17, 110.5f}, {50, -33.0f}, {77, -72.0f}, {127, 5.5f}, {200, -152.0f}, {255, -312.5f}},
                 false);
  }
}

// ---- round trip ----------------------------------------------------------------------------

// The grid of values a block can represent at position i: lo + step*t for t = 0..n
// (decoded from the bytes by this test's own reading of the format).
struct Grid { double lo, step; int n; };

Grid grid_at(uint32_t type, const uint8_t* row, int64_t i) {
  const size_t bb = type_traits(type).block_bytes;
  const int64_t be = type_traits(type).block_elems;
  const uint8_t* b = row + (size_t)(i / be) * bb;
  const int64_t j = i % be;
  auto h = [&](int off) { uint16_t v; memcpy(&v, b + off, 2); return (double)fp16_to_fp32(v); };
  auto k4 = [&](int sub, int* sc, int* m) {
    const uint8_t* s = b + 4;
    if (sub < 4) { *sc = s[sub] & 63; *m = s[sub + 4] & 63; }
    else { *sc = (s[sub + 4] & 15) | ((s[sub - 4] >> 6) << 4); *m = (s[sub + 4] >> 4) | ((s[sub] >> 6) << 4); }
  };
  switch (type) {
    case TYPE_Q8_0: return {-128 * h(0), h(0), 255};
    case TYPE_Q4_0: return {-8 * h(0), h(0), 15};
    case TYPE_Q5_0: return {-16 * h(0), h(0), 31};
    case TYPE_Q4_1: return {h(2), h(0), 15};
    case TYPE_Q5_1: return {h(2), h(0), 31};
    case TYPE_Q4_K:
    case TYPE_Q5_K: {
      int sc, m;
      k4((int)(j / 32), &sc, &m);
      return {-h(2) * m, h(0) * sc, type == TYPE_Q4_K ? 15 : 31};
    }
    case TYPE_Q6_K: {
      const double ds = h(208) * (int8_t)b[192 + j / 16];
      return {-32 * ds, ds, 63};
    }
    default: return {0, 0, 0};
  }
}

// Relative RMS error bounds for the Gaussian test data (the data is seeded, so the measured
// values are fixed; they sit 10-15% under these). A worse scale search or a broken rounding
// shows up here even when every value is still on its block's grid.
double rms_bound(uint32_t t) {
  switch (t) {
    case TYPE_F32: return 0;
    case TYPE_F16: return 2.2e-4;
    case TYPE_BF16: return 1.9e-3;
    case TYPE_Q8_0: return 0.0105;
    case TYPE_Q4_0: return 0.16;
    case TYPE_Q4_1: return 0.105;
    case TYPE_Q5_0: return 0.082;
    case TYPE_Q5_1: return 0.051;
    case TYPE_Q4_K: return 0.10;
    case TYPE_Q5_K: return 0.054;
    case TYPE_Q6_K: return 0.032;
    default: return 0;
  }
}

void test_roundtrip(uint32_t type) {
  Group g(std::string("roundtrip ") + tname(type));
  std::mt19937 rng(100 + type);
  double err2 = 0, sig2 = 0;
  for (int64_t k : sizes_for(type)) {
    for (int kind = 0; kind < 6; kind++) {
      const std::vector<float> x = make_data(rng, k, kind % 5);
      const std::vector<uint8_t> q = quantize(type, x);
      const std::vector<float> y = dequantize(type, q.data(), k);
      for (int64_t i = 0; i < k; i++) {
        const double e = (double)y[(size_t)i] - x[(size_t)i];
        if (!std::isfinite(y[(size_t)i])) { g.fail("k=%lld kind=%d: value %lld not finite", (long long)k, kind, (long long)i); break; }
        if (kind == 0) { err2 += e * e; sig2 += (double)x[(size_t)i] * x[(size_t)i]; }
        if (is_float_type(type)) {
          const double rel = type == TYPE_F32 ? 0 : type == TYPE_F16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
          if (std::fabs(e) > rel * std::fabs(x[(size_t)i]) + 1e-7 * (type == TYPE_F16))
            g.fail("k=%lld value %lld: %g -> %g", (long long)k, (long long)i, x[(size_t)i], y[(size_t)i]);
          continue;
        }
        // Each value must decode to the closest point of its block's grid; the slack covers
        // the scale being rounded to fp16 after the levels were chosen (q4_0/q5_0/q8_0/q*_1).
        const Grid gr = grid_at(type, q.data(), i);
        double best = std::fabs(x[(size_t)i] - gr.lo);
        if (gr.step != 0) {
          const double t = std::min<double>(gr.n, std::max(0.0, std::nearbyint((x[(size_t)i] - gr.lo) / gr.step)));
          for (double tt : {t - 1, t, t + 1})
            if (tt >= 0 && tt <= gr.n) best = std::min(best, std::fabs(x[(size_t)i] - (gr.lo + gr.step * tt)));
        }
        // The quantizer picks levels on the exact grid, the decoder uses the fp16-rounded one;
        // the two differ by at most 2^-11 * (|lo| + n*step) (relative rounding of the scale and
        // the offset), so the pick can be worse than the best by twice that. A subnormal fp16
        // scale or offset is off by up to 2^-25 absolute instead, hence the last term.
        const double slack = std::ldexp(std::fabs(gr.lo) + gr.n * std::fabs(gr.step), -10) +
                             1e-6 * std::fabs(x[(size_t)i]) + (2 * gr.n + 2) * std::ldexp(1.0, -25);
        if (std::fabs(e) > best + slack)
          g.fail("k=%lld kind=%d value %lld: x=%g y=%g but grid has one %g away", (long long)k, kind,
                 (long long)i, x[(size_t)i], y[(size_t)i], best);
      }
    }
  }
  const double rel = std::sqrt(err2 / sig2);
  printf("  %s relative rms error %.5f (bound %.5f)\n", tname(type), rel, rms_bound(type));
  if (rel > rms_bound(type)) g.fail("relative rms error %.5f > %.5f", rel, rms_bound(type));
}

// ---- dequantize per ISA --------------------------------------------------------------------

void test_dequantize(uint32_t type, const KernelTable& kt) {
  Group g(std::string("dequantize ") + tname(type) + " " + kt.isa);
  std::mt19937 rng(200 + type);
  for (int64_t k : sizes_for(type)) {
    for (int kind = 0; kind < 5; kind++) {
      const std::vector<float> x = make_data(rng, k, kind);
      const std::vector<uint8_t> q = quantize(type, x);
      const std::vector<float> want = dequantize(type, q.data(), k);
      std::vector<float> got((size_t)k + 1, 12345.0f);
      kt.dequantize_row(type, q.data(), got.data(), k);
      if (memcmp(got.data(), want.data(), (size_t)k * 4) != 0) g.fail("k=%lld kind=%d differs", (long long)k, kind);
      if (got[(size_t)k] != 12345.0f) g.fail("k=%lld wrote past the row", (long long)k);
    }
  }
}

// ---- activation quantization ---------------------------------------------------------------

std::vector<float> dequantize_act(ActFormat f, const void* a, int64_t k) {
  std::vector<float> y((size_t)k);
  if (f == ACT_F32) {
    memcpy(y.data(), a, (size_t)k * 4);
  } else if (f == ACT_Q8_32) {
    const act_q8_32* b = (const act_q8_32*)a;
    for (int64_t i = 0; i < k; i++) y[(size_t)i] = b[i / 32].d * b[i / 32].qs[i % 32];
  } else {
    const act_q8_256* b = (const act_q8_256*)a;
    for (int64_t i = 0; i < k; i++) y[(size_t)i] = b[i / 256].d * b[i / 256].qs[i % 256];
  }
  return y;
}

void test_quantize_act(ActFormat f, const KernelTable& kt) {
  static const char* names[] = {"f32", "q8_32", "q8_256"};
  Group g(std::string("quantize_act ") + names[f] + " " + kt.isa);
  const KernelTable& ref = kernels_scalar();
  const int64_t blk = f == ACT_Q8_256 ? 256 : f == ACT_Q8_32 ? 32 : 1;
  std::mt19937 rng(300 + f);
  for (int64_t k : {256, 768, 1536, 2048}) {
    for (int kind = 0; kind < 5; kind++) {
      std::vector<float> x = make_data(rng, k, kind);
      if (kind == 0) x[5] = 0.5f * (x[0] = 127.0f);  // a block whose values hit exact .5 ties
      const size_t bytes = act_row_bytes(f, k);
      std::vector<uint8_t> a(bytes), r(bytes);
      kt.quantize_act[f](x.data(), a.data(), k);
      ref.quantize_act[f](x.data(), r.data(), k);
      if (memcmp(a.data(), r.data(), bytes) != 0) g.fail("k=%lld kind=%d: differs from scalar", (long long)k, kind);
      // Every value within half a step (d/2) of its input; sums consistent.
      const std::vector<float> y = dequantize_act(f, a.data(), k);
      for (int64_t b = 0; b < k / blk; b++) {
        float amax = 0;
        for (int64_t i = b * blk; i < (b + 1) * blk; i++) amax = std::max(amax, std::fabs(x[(size_t)i]));
        const double d = amax / 127.0;
        for (int64_t i = b * blk; i < (b + 1) * blk; i++)
          if (std::fabs((double)y[(size_t)i] - x[(size_t)i]) > 0.5 * d * (1 + 1e-5) + (blk == 1 ? 0 : 1e-30))
            g.fail("k=%lld value %lld: %g -> %g", (long long)k, (long long)i, x[(size_t)i], y[(size_t)i]);
        if (f == ACT_Q8_32) {
          const act_q8_32& ab = ((const act_q8_32*)a.data())[b];
          int s = 0;
          for (int j = 0; j < 32; j++) s += ab.qs[j];
          if (ab.sum != s || ab.s != ab.d * (float)s) g.fail("block %lld: sum or s", (long long)b);
        } else if (f == ACT_Q8_256) {
          const act_q8_256& ab = ((const act_q8_256*)a.data())[b];
          for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += ab.qs[16 * j + l];
            if (ab.bsums[j] != s) g.fail("block %lld: bsums[%d]", (long long)b, j);
          }
        }
      }
    }
  }
}

// ---- tiles ---------------------------------------------------------------------------------

struct TileCase { int nr, nc; };

void test_tile(uint32_t type, const std::vector<const KernelTable*>& levels) {
  std::mt19937 rng(400 + type);
  const TileCase cases[] = {{1, 1}, {3, 5}, {5, 3}, {8, 17}, {17, 8}, {1, 17}, {17, 1}, {4, 4}, {16, 9}, {2, 64}};
  const ActFormat af = levels[0]->matmul[type].act;
  const int64_t be = type_traits(type).block_elems;
  for (const KernelTable* kt : levels) {
    Group g(std::string("tile ") + tname(type) + " " + kt->isa);
    if (!kt->matmul[type].tile || kt->matmul[type].act != af) {
      g.fail("missing or different activation format");
      continue;
    }
    double worst = 0;
    // The sizes above, every shape; plus rows longer than the decode kernels' 1024-block
    // segments (k = 33792), in a decode and a small prefill shape.
    std::vector<std::pair<int64_t, TileCase>> runs;
    for (int64_t k : sizes_for(type))
      for (const TileCase& tc : cases) runs.push_back({k, tc});
    runs.push_back({33792, {3, 1}});
    runs.push_back({33792, {2, 3}});
    for (const auto& [k, tc] : runs) {
      {
        // Odd strides (padding after each row) so no kernel can assume rows are packed.
        const size_t wrow = row_bytes(type, k), ws = wrow + 40;
        const size_t arow = act_row_bytes(af, k), xs = arow + 24;
        std::vector<uint8_t> w(ws * (size_t)tc.nr), x(xs * (size_t)tc.nc);
        std::vector<std::vector<float>> wd, xd;
        for (int i = 0; i < tc.nr; i++) {
          const std::vector<float> src = make_data(rng, k, i == 2 ? 1 : i == 3 ? 3 : 0);
          quantize_row(type, src.data(), w.data() + ws * (size_t)i, k);
          wd.push_back(dequantize(type, w.data() + ws * (size_t)i, k));
        }
        for (int j = 0; j < tc.nc; j++) {
          const std::vector<float> src = make_data(rng, k, j == 4 ? 1 : j == 5 ? 3 : 0);
          kernels_scalar().quantize_act[af](src.data(), x.data() + xs * (size_t)j, k);
          xd.push_back(dequantize_act(af, x.data() + xs * (size_t)j, k));
        }
        const size_t ldo = (size_t)tc.nr + 3;
        std::vector<float> out(ldo * (size_t)tc.nc, NAN);
        const std::vector<uint8_t> wt = tile_weights(kt->matmul[type], k, w.data(), ws, tc.nr);
        kt->matmul[type].tile(k, wt.data(), ws, tc.nr, x.data(), xs, tc.nc, out.data(), ldo);
        std::vector<float> base(ldo * (size_t)tc.nc, NAN);
        kernels_scalar().matmul[type].tile(k, w.data(), ws, tc.nr, x.data(), xs, tc.nc, base.data(), ldo);
        for (int i = 0; i < tc.nr; i++) {
          for (int j = 0; j < tc.nc; j++) {
            // Reference in double from the dequantized operands. The kernels compute each
            // block's integer dot product exactly and then do a few float operations per
            // block (scale products, and offset terms such as 8*d*sum(x) for q4_0, the
            // weight mins of the K-quants or 128*d*sum(x) when signed weights are biased to
            // unsigned for VNNI), then add the block results in float. Each step rounds by at
            // most 2^-24 relative to a term no larger than |w_i x_i| summed over the block
            // plus the offset term, itself at most ~2 * max|w in block| * sum|x|. So the error
            // is below (nblocks + 8) * 2^-24 * M with M = sum_i |x_i| * (|w_i| + 2 * A_i), A_i the
            // largest |w| in i's block (for float types the block is one value).
            double ref = 0, M = 0;
            for (int64_t b = 0; b < k / be; b++) {
              double A = 0;
              for (int64_t l = b * be; l < (b + 1) * be; l++) A = std::max(A, (double)std::fabs(wd[i][(size_t)l]));
              if (is_float_type(type)) A = 0;
              for (int64_t l = b * be; l < (b + 1) * be; l++) {
                ref += (double)wd[i][(size_t)l] * xd[j][(size_t)l];
                M += std::fabs(xd[j][(size_t)l]) * (std::fabs(wd[i][(size_t)l]) + 2 * A);
              }
            }
            const double tol = (double)(k / be + 8) * std::ldexp(1.0, -24) * M + 1e-30;
            const double got = out[j * ldo + i], b0 = base[j * ldo + i];
            if (!(std::fabs(got - ref) <= tol))
              g.fail("k=%lld %dx%d [%d,%d]: %.9g vs reference %.9g (tol %.3g)", (long long)k, tc.nr, tc.nc, i, j,
                     got, ref, tol);
            if (!(std::fabs(got - b0) <= 2 * tol))
              g.fail("k=%lld %dx%d [%d,%d]: %.9g vs scalar %.9g", (long long)k, tc.nr, tc.nc, i, j, got, b0);
            if (tol > 0) worst = std::max(worst, std::fabs(got - ref) / tol);
          }
        }
        for (int j = 0; j < tc.nc; j++)
          for (size_t i = (size_t)tc.nr; i < ldo; i++)
            if (!std::isnan(out[j * ldo + i])) g.fail("wrote outside the tile");
      }
    }
    (void)worst;
  }
}

// ---- batch invariance -----------------------------------------------------------------------
// Continuous batching must not change any sequence's output: each output element of a tile
// must be bit-identical whether its activation row is computed alone (nc = 1, the decode
// path), with a few others (small batches) or inside a prefill tile, and whichever rows and
// columns share its call. Reference: every column alone with nc = 1 over all rows.

void test_tile_invariance(uint32_t type, const KernelTable& kt) {
  Group g(std::string("tile batch-invariant ") + tname(type) + " " + kt.isa);
  const MatmulKernel& mk = kt.matmul[type];
  if (!mk.tile) { g.fail("no kernel"); return; }
  std::mt19937 rng(600 + type);
  const int64_t be = type_traits(type).block_elems;
  constexpr int kCols = 20;
  // (k, nr): short and odd block counts (not a multiple of 8), and a row longer than any
  // segment a kernel cuts k into; nr not a multiple of 16.
  std::vector<std::pair<int64_t, int>> shapes;
  if (be == 256) shapes = {{256, 35}, {2304, 23}, {3840, 9}, {33792, 17}};
  else if (be == 32) shapes = {{32, 35}, {576, 23}, {1568, 40}, {33792, 17}};
  else shapes = {{13, 35}, {576, 23}, {33792, 17}};
  for (const auto& [k, nr] : shapes) {
    const size_t ws = row_bytes(type, k) + 8, xs = act_row_bytes(mk.act, k) + 12;
    std::vector<uint8_t> w(ws * (size_t)nr), x(xs * kCols);
    for (int i = 0; i < nr; i++) {
      const std::vector<float> src = make_data(rng, k, i == 5 ? 3 : 0);
      quantize_row(type, src.data(), w.data() + ws * (size_t)i, k);
    }
    for (int j = 0; j < kCols; j++) {
      const std::vector<float> src = make_data(rng, k, j == 3 ? 3 : 0);
      kt.quantize_act[mk.act](src.data(), x.data() + xs * (size_t)j, k);
    }
    const std::vector<uint8_t> wt = tile_weights(mk, k, w.data(), ws, nr);
    // ref[j * nr + i]: column j alone, all rows in one call.
    std::vector<float> ref((size_t)kCols * nr);
    for (int j = 0; j < kCols; j++) mk.tile(k, wt.data(), ws, nr, x.data() + xs * j, xs, 1, ref.data() + (size_t)j * nr, 1);
    // A kernel that takes its activation offsets worked out for the whole call (as matmul does,
    // kernels.h) gets them for all kCols columns: offsets[b * kCols + j].
    std::vector<int32_t> offsets;
    if (mk.tile_offsets) {
      offsets.resize((size_t)(k / 32) * kCols);
      act_offset_table(x.data(), xs, kCols, k / 32, mk.act_offset, offsets.data(), kCols);
    }
    auto check = [&](int i0, int m, int j0, int n, const char* what) {
      const size_t ldo = (size_t)m + 1;
      for (const bool precomputed : {false, true}) {
        if (precomputed && !mk.tile_offsets) break;
        std::vector<float> out(ldo * (size_t)n, NAN);
        if (precomputed)
          mk.tile_offsets(k, wt.data() + ws * (size_t)i0, ws, m, x.data() + xs * (size_t)j0, xs, n,
                          offsets.data() + j0, kCols, out.data(), ldo);
        else
          mk.tile(k, wt.data() + ws * (size_t)i0, ws, m, x.data() + xs * (size_t)j0, xs, n, out.data(), ldo);
        for (int i = 0; i < m; i++)
          for (int j = 0; j < n; j++) {
            const float a = out[(size_t)j * ldo + i], b = ref[(size_t)(j0 + j) * nr + i0 + i];
            if (memcmp(&a, &b, 4) != 0) {
              g.fail("k=%lld %s%s rows %d+%d cols %d+%d: [%d,%d] %.9g vs alone %.9g", (long long)k, what,
                     precomputed ? " (offsets worked out once)" : "", i0, m, j0, n, i0 + i, j0 + j, a, b);
              return;
            }
          }
      }
    };
    for (int n = 1; n <= kCols; n++) check(0, nr, 0, n, "nc");
    for (int n = 1; n <= kCols; n++) check(0, nr, kCols - n, n, "nc");
    // Rows and columns grouped differently: offsets, single rows, odd counts.
    const int ms[] = {1, 2, 5, 16, 17};
    const int group = mk.repack ? kRowGroup : 1;  // repacked weights: tiles start at a group
    for (int t = 0; t < 24; t++) {
      const int i0 = (t * 7) % nr / group * group, m = std::min(nr - i0, ms[t % 5]);
      const int n = 1 + (t * 5) % kCols, j0 = (t * 3) % (kCols - n + 1);
      check(i0, m, j0, n, "group");
    }
  }
}

// ---- float helpers -------------------------------------------------------------------------

// scores_f16 / mix_f16 against double references: cached rows scattered in a pool (read
// through offsets, in shuffled order), every group size up to 9 and head sizes on and off the
// 16-value vector width. mix_f16 adds to what out holds (here a value per row and column); and
// both give exactly the same numbers when the rows come in pieces of a multiple of 4 (decode
// attention reads a token's rows either way).
void test_decode_attention(const KernelTable& kt) {
  Group g(std::string("decode attention ") + kt.isa);
  std::mt19937 rng(501);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const double eps = std::ldexp(1.0, -24);
  for (int64_t hd : {16, 40, 64, 80, 128, 256})
    for (int nq : {1, 2, 3, 4, 5, 8, 9})
      for (int n : {1, 7, 33, 100}) {
        const int64_t row = 3 * hd + 8;  // pool rows wider than a head: other heads' data around it
        std::vector<uint16_t> pool((size_t)(row * (n + 3)));
        for (auto& x : pool) x = fp32_to_fp16(nd(rng));
        std::vector<int64_t> offsets((size_t)n);
        for (int p = 0; p < n; p++) offsets[(size_t)p] = (int64_t)((p * 37 + 11) % (n + 3)) * row + hd;
        const int64_t ld = n + 5;
        std::vector<float> q((size_t)(nq * hd)), w((size_t)(nq * ld)), s((size_t)(nq * ld), 777.0f);
        std::vector<float> out((size_t)(nq * hd + 1), 777.0f), start((size_t)(nq * hd));
        for (auto& x : start) x = nd(rng);
        std::copy(start.begin(), start.end(), out.begin());
        for (auto& x : q) x = nd(rng);
        for (auto& x : w) x = std::fabs(nd(rng));
        const uint16_t* base = pool.data();
        kt.scores_f16(q.data(), nq, hd, base, offsets.data(), n, s.data(), ld);
        kt.mix_f16(w.data(), ld, nq, hd, base, offsets.data(), n, out.data());
        bool bad = false;
        for (int r = 0; r < nq && !bad; r++) {
          for (int p = 0; p < n && !bad; p++) {
            double ref = 0, mag = 0;
            for (int64_t d = 0; d < hd; d++) {
              const double x = (double)fp16_to_fp32(base[offsets[(size_t)p] + d]) * q[(size_t)(r * hd + d)];
              ref += x;
              mag += std::fabs(x);
            }
            if (std::fabs(s[(size_t)(r * ld + p)] - ref) > (hd + 4) * eps * mag) {
              g.fail("scores_f16 hd=%lld nq=%d n=%d r=%d p=%d", (long long)hd, nq, n, r, p);
              bad = true;
            }
          }
          if (!bad && s[(size_t)(r * ld + n)] != 777.0f) { g.fail("scores_f16 wrote past n (nq=%d n=%d)", nq, n); bad = true; }
          for (int64_t d = 0; d < hd && !bad; d++) {
            double ref = start[(size_t)(r * hd + d)], mag = std::fabs(ref);
            for (int p = 0; p < n; p++) {
              const double x = (double)w[(size_t)(r * ld + p)] * fp16_to_fp32(base[offsets[(size_t)p] + d]);
              ref += x;
              mag += std::fabs(x);
            }
            if (std::fabs(out[(size_t)(r * hd + d)] - ref) > (n + 4) * eps * mag) {
              g.fail("mix_f16 hd=%lld nq=%d n=%d r=%d d=%lld", (long long)hd, nq, n, r, (long long)d);
              bad = true;
            }
          }
        }
        if (!bad && out[(size_t)(nq * hd)] != 777.0f) g.fail("mix_f16 wrote past its rows (hd=%lld nq=%d)", (long long)hd, nq);
        // The same rows in pieces of 8 and 4 (then what is left).
        std::vector<float> s2((size_t)(nq * ld), 777.0f), out2(start);
        for (int p0 = 0, piece = 8; p0 < n; p0 += piece, piece = 12 - piece) {
          const int m = std::min(piece, n - p0);
          kt.scores_f16(q.data(), nq, hd, base, offsets.data() + p0, m, s2.data() + p0, ld);
          kt.mix_f16(w.data() + p0, ld, nq, hd, base, offsets.data() + p0, m, out2.data());
        }
        for (int r = 0; r < nq && !bad; r++)
          for (int p = 0; p < n && !bad; p++)
            if (s2[(size_t)(r * ld + p)] != s[(size_t)(r * ld + p)]) {
              g.fail("scores_f16 in pieces differs: hd=%lld nq=%d n=%d r=%d p=%d", (long long)hd, nq, n, r, p);
              bad = true;
            }
        if (!bad && !std::equal(out2.begin(), out2.end(), out.begin()))
          g.fail("mix_f16 in pieces differs: hd=%lld nq=%d n=%d", (long long)hd, nq, n);
      }
  for (int64_t n : {1, 5, 16, 17, 100, 1000}) {
    std::vector<float> s((size_t)n + 1), orig;
    for (int64_t i = 0; i < n; i++) s[(size_t)i] = nd(rng) * 8;
    s[(size_t)n] = 777.0f;
    orig = s;
    const float scale = 0.125f;
    const float sum = kt.exp_scores_f32(s.data(), n, scale);
    const float mx = *std::max_element(orig.begin(), orig.begin() + n);
    double ref_sum = 0;
    for (int64_t i = 0; i < n; i++) {  // the argument rounded as the kernels compute it, in float
      const double ref = std::exp((double)((orig[(size_t)i] - mx) * scale));
      ref_sum += ref;
      if (std::fabs(s[(size_t)i] - ref) > 4 * eps * ref + 1e-37) { g.fail("exp_scores_f32 n=%lld i=%lld", (long long)n, (long long)i); break; }
    }
    if (std::fabs(sum - ref_sum) > (n + 8) * 4 * eps * ref_sum) g.fail("exp_scores_f32 sum n=%lld", (long long)n);
    if (s[(size_t)n] != 777.0f) g.fail("exp_scores_f32 wrote past n");
  }
}

void test_helpers(const KernelTable& kt) {
  Group g(std::string("helpers ") + kt.isa);
  std::mt19937 rng(500);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const double eps = std::ldexp(1.0, -24);
  for (int64_t n : {1, 7, 16, 33, 100, 257, 4096}) {
    std::vector<float> a((size_t)n), b((size_t)n), y((size_t)n + 1), w((size_t)n);
    std::vector<uint16_t> h2((size_t)n + 1);
    for (int64_t i = 0; i < n; i++) {
      a[(size_t)i] = nd(rng) * 3;
      b[(size_t)i] = nd(rng);
      w[(size_t)i] = 1 + 0.1f * nd(rng);
    }
    double ref = 0, mag = 0;
    for (int64_t i = 0; i < n; i++) { ref += (double)a[(size_t)i] * b[(size_t)i]; mag += std::fabs((double)a[(size_t)i] * b[(size_t)i]); }
    if (std::fabs(kt.dot_f32(a.data(), b.data(), n) - ref) > (n + 4) * eps * mag) g.fail("dot_f32 n=%lld", (long long)n);

    y.assign(a.begin(), a.end());
    kt.scale_f32(y.data(), 0.3f, n);
    for (int64_t i = 0; i < n; i++)
      if (y[(size_t)i] != a[(size_t)i] * 0.3f) { g.fail("scale_f32 n=%lld", (long long)n); break; }

    std::vector<float> big(a);
    if (n > 8) { big[0] = 70000.0f; big[1] = 1e-7f; big[2] = -3e-8f; big[3] = 65519.0f; big[4] = INFINITY; }
    h2.assign((size_t)n + 1, 0xabcd);
    kt.f32_to_f16(big.data(), h2.data(), n);
    for (int64_t i = 0; i < n; i++)
      if (h2[(size_t)i] != fp32_to_fp16(big[(size_t)i])) { g.fail("f32_to_f16 n=%lld i=%lld", (long long)n, (long long)i); break; }
    if (h2[(size_t)n] != 0xabcd) g.fail("f32_to_f16 wrote past n");

    for (const float* wp : {(const float*)w.data(), (const float*)nullptr}) {
      kt.rmsnorm_f32(a.data(), wp, y.data(), n, 1e-5f);
      double ss = 0;
      for (int64_t i = 0; i < n; i++) ss += (double)a[(size_t)i] * a[(size_t)i];
      const double r = 1 / std::sqrt(ss / n + 1e-5);
      for (int64_t i = 0; i < n; i++) {
        const double want = a[(size_t)i] * r * (wp ? wp[i] : 1.0);
        if (std::fabs(y[(size_t)i] - want) > 1e-5 * std::fabs(want) + 1e-6) { g.fail("rmsnorm n=%lld i=%lld", (long long)n, (long long)i); break; }
      }
    }
    // in place, as the forward pass uses it
    y.assign(a.begin(), a.end());
    kt.rmsnorm_f32(y.data(), nullptr, y.data(), n, 1e-5f);

    std::vector<float> gate(a);
    if (n > 8) { gate[0] = -100.0f; gate[1] = 100.0f; gate[2] = -20.0f; gate[3] = 0.0f; }
    std::vector<float> g0(gate);
    kt.silu_mul_f32(gate.data(), b.data(), n);
    for (int64_t i = 0; i < n; i++) {
      const double x = g0[(size_t)i];
      const double want = x / (1 + std::exp(-x)) * b[(size_t)i];
      if (!(std::fabs(gate[(size_t)i] - want) <= 4e-6 * std::fabs(want) + 1e-30))
        { g.fail("silu_mul n=%lld x=%g: %g vs %g", (long long)n, x, gate[(size_t)i], want); break; }
    }

    y.assign(a.begin(), a.end());
    kt.add_f32(y.data(), b.data(), n);
    for (int64_t i = 0; i < n; i++)
      if (y[(size_t)i] != a[(size_t)i] + b[(size_t)i]) { g.fail("add_f32 n=%lld", (long long)n); break; }
  }
}

// ---- selection -----------------------------------------------------------------------------

void test_select() {
  Group g("select_kernels");
  std::string err;
  unsetenv("OMNI_ISA");
  const KernelTable& best = select_kernels(&err);
  if (!err.empty() || strcmp(best.isa, best_isa()) != 0) g.fail("default: %s %s", best.isa, err.c_str());
  setenv("OMNI_ISA", "scalar", 1);
  err.clear();
  if (strcmp(select_kernels(&err).isa, "scalar") != 0 || !err.empty()) g.fail("OMNI_ISA=scalar");
  setenv("OMNI_ISA", "sse9", 1);
  err.clear();
  select_kernels(&err);
  if (err.find("sse9") == std::string::npos) g.fail("unknown level gives no error");
  for (const char* isa : {"avx2", "avx512"}) {
    setenv("OMNI_ISA", isa, 1);
    err.clear();
    const KernelTable& t = select_kernels(&err);
    const bool have = kernels_by_name(isa) != nullptr;
    if (have ? (strcmp(t.isa, isa) != 0 || !err.empty()) : err.empty()) g.fail("OMNI_ISA=%s", isa);
  }
  unsetenv("OMNI_ISA");
  if (kernels_by_name("nope") || !kernels_by_name("scalar")) g.fail("kernels_by_name");
}

}  // namespace

int main() {
  const std::vector<const KernelTable*> levels = tables();
  printf("levels:");
  for (const KernelTable* t : levels) printf(" %s", t->isa);
  printf(" (best %s)\n", best_isa());

  test_traits();
  test_fp16();
  test_golden();
  test_select();
  for (uint32_t t : kTypes) test_roundtrip(t);
  for (const KernelTable* kt : levels) {
    for (uint32_t t : kTypes) test_dequantize(t, *kt);
    for (int f = 0; f < ACT_FORMAT_COUNT; f++) test_quantize_act((ActFormat)f, *kt);
    test_helpers(*kt);
    test_decode_attention(*kt);
  }
  for (uint32_t t : kTypes) test_tile(t, levels);
  for (const KernelTable* kt : levels)
    for (uint32_t t : kTypes) test_tile_invariance(t, *kt);

  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed ? 1 : 0;
}
