// Type table and reference quantize/dequantize for the GGUF tensor types we support.
// Byte layouts follow ggml exactly (ggml-common.h); the quantizers make the same kinds of
// choices as llama.cpp's *_ref functions (round-to-nearest, scale/min search for K-quants),
// though not bit-for-bit the same search.
#include "quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace omni {

namespace {

constexpr TypeTraits kUnknown = {nullptr, 1, 0, false};

struct TypeEntry {
  uint32_t id;
  TypeTraits traits;
};

// Every id ggml has assigned; removed ids (4, 5, 31-33, 36-38) stay unknown.
constexpr TypeEntry kTypes[] = {
    {TYPE_F32, {"f32", 1, 4, true}},
    {TYPE_F16, {"f16", 1, 2, true}},
    {TYPE_Q4_0, {"q4_0", 32, 18, true}},
    {TYPE_Q4_1, {"q4_1", 32, 20, true}},
    {TYPE_Q5_0, {"q5_0", 32, 22, true}},
    {TYPE_Q5_1, {"q5_1", 32, 24, true}},
    {TYPE_Q8_0, {"q8_0", 32, 34, true}},
    {TYPE_Q8_1, {"q8_1", 32, 36, false}},
    {TYPE_Q2_K, {"q2_K", 256, 84, false}},
    {TYPE_Q3_K, {"q3_K", 256, 110, false}},
    {TYPE_Q4_K, {"q4_K", 256, 144, true}},
    {TYPE_Q5_K, {"q5_K", 256, 176, true}},
    {TYPE_Q6_K, {"q6_K", 256, 210, true}},
    {TYPE_Q8_K, {"q8_K", 256, 292, false}},
    {16, {"iq2_xxs", 256, 66, false}},
    {17, {"iq2_xs", 256, 74, false}},
    {18, {"iq3_xxs", 256, 98, false}},
    {19, {"iq1_s", 256, 50, false}},
    {20, {"iq4_nl", 32, 18, false}},
    {21, {"iq3_s", 256, 110, false}},
    {22, {"iq2_s", 256, 82, false}},
    {23, {"iq4_xs", 256, 136, false}},
    {24, {"i8", 1, 1, false}},
    {25, {"i16", 1, 2, false}},
    {26, {"i32", 1, 4, false}},
    {27, {"i64", 1, 8, false}},
    {28, {"f64", 1, 8, false}},
    {29, {"iq1_m", 256, 56, false}},
    {TYPE_BF16, {"bf16", 1, 2, true}},
    {34, {"tq1_0", 256, 54, false}},
    {35, {"tq2_0", 256, 66, false}},
    {39, {"mxfp4", 32, 17, false}},
};

struct TypeTable {
  TypeTraits t[TYPE_COUNT];
  constexpr TypeTable() : t() {
    for (uint32_t i = 0; i < TYPE_COUNT; i++) t[i] = kUnknown;
    for (const TypeEntry& e : kTypes) t[e.id] = e.traits;
  }
};
constexpr TypeTable kTable;

// Round to nearest, ties to even (what llama.cpp's nearest_int does).
inline int nearest_int(float x) { return (int)std::lrint(x); }

inline float half(uint16_t h) { return fp16_to_fp32(h); }

// ---- 32-value block types ------------------------------------------------------------------

// The value with the largest magnitude, keeping its sign.
inline float signed_absmax(const float* x, int n) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; j++) {
    if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
  }
  return max;
}

inline void min_max(const float* x, int n, float* mn, float* mx) {
  float lo = x[0], hi = x[0];
  for (int j = 1; j < n; j++) { lo = std::min(lo, x[j]); hi = std::max(hi, x[j]); }
  *mn = lo;
  *mx = hi;
}

void quantize_q8_0(const float* x, block_q8_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, x += QK32) {
    float amax = 0;
    for (int j = 0; j < QK32; j++) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < QK32; j++) y[i].qs[j] = (int8_t)std::round(x[j] * id);
  }
}

void dequantize_q8_0(const block_q8_0* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, y += QK32) {
    const float d = half(x[i].d);
    for (int j = 0; j < QK32; j++) y[j] = x[i].qs[j] * d;
  }
}

// Q4_0 / Q5_0: symmetric, d = max / -2^(bits-1) so the extreme value lands exactly on -2^(bits-1).
// qs[j] holds value j in its low nibble and value j+16 in its high nibble.
void quantize_q4_0(const float* x, block_q4_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, x += QK32) {
    const float d = signed_absmax(x, QK32) / -8;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < 16; j++) {
      const int q0 = std::min(15, (int)(x[j] * id + 8.5f));
      const int q1 = std::min(15, (int)(x[j + 16] * id + 8.5f));
      y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
    }
  }
}

void dequantize_q4_0(const block_q4_0* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, y += QK32) {
    const float d = half(x[i].d);
    for (int j = 0; j < 16; j++) {
      y[j] = ((x[i].qs[j] & 0xf) - 8) * d;
      y[j + 16] = ((x[i].qs[j] >> 4) - 8) * d;
    }
  }
}

// Q4_1 / Q5_1: asymmetric, value = q*d + m with m the block minimum.
void quantize_q4_1(const float* x, block_q4_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, x += QK32) {
    float mn, mx;
    min_max(x, QK32, &mn, &mx);
    const float d = (mx - mn) / 15;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(mn);
    for (int j = 0; j < 16; j++) {
      const int q0 = std::min(15, (int)((x[j] - mn) * id + 0.5f));
      const int q1 = std::min(15, (int)((x[j + 16] - mn) * id + 0.5f));
      y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
    }
  }
}

void dequantize_q4_1(const block_q4_1* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, y += QK32) {
    const float d = half(x[i].d), m = half(x[i].m);
    for (int j = 0; j < 16; j++) {
      y[j] = (x[i].qs[j] & 0xf) * d + m;
      y[j + 16] = (x[i].qs[j] >> 4) * d + m;
    }
  }
}

// 5-bit blocks: the low nibbles of values j and j+16 share byte j of qs; the fifth bit of
// value j (0..31) is bit j of the little-endian uint32 qh.
void pack_q5(const int* q, uint8_t* qs, uint8_t* qh_bytes) {
  uint32_t qh = 0;
  for (int j = 0; j < 16; j++) {
    qs[j] = (uint8_t)((q[j] & 0xf) | ((q[j + 16] & 0xf) << 4));
    qh |= (uint32_t)(q[j] >> 4) << j;
    qh |= (uint32_t)(q[j + 16] >> 4) << (j + 16);
  }
  std::memcpy(qh_bytes, &qh, 4);
}

void unpack_q5(const uint8_t* qs, const uint8_t* qh_bytes, int* q) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int j = 0; j < 16; j++) {
    q[j] = (qs[j] & 0xf) | (((qh >> j) & 1) << 4);
    q[j + 16] = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
  }
}

void quantize_q5_0(const float* x, block_q5_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, x += QK32) {
    const float d = signed_absmax(x, QK32) / -16;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    int q[QK32];
    for (int j = 0; j < QK32; j++) q[j] = std::min(31, (int)(x[j] * id + 16.5f));
    pack_q5(q, y[i].qs, y[i].qh);
  }
}

void dequantize_q5_0(const block_q5_0* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, y += QK32) {
    const float d = half(x[i].d);
    int q[QK32];
    unpack_q5(x[i].qs, x[i].qh, q);
    for (int j = 0; j < QK32; j++) y[j] = (q[j] - 16) * d;
  }
}

void quantize_q5_1(const float* x, block_q5_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, x += QK32) {
    float mn, mx;
    min_max(x, QK32, &mn, &mx);
    const float d = (mx - mn) / 31;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(mn);
    int q[QK32];
    for (int j = 0; j < QK32; j++) q[j] = std::min(31, (int)((x[j] - mn) * id + 0.5f));
    pack_q5(q, y[i].qs, y[i].qh);
  }
}

void dequantize_q5_1(const block_q5_1* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, y += QK32) {
    const float d = half(x[i].d), m = half(x[i].m);
    int q[QK32];
    unpack_q5(x[i].qs, x[i].qh, q);
    for (int j = 0; j < QK32; j++) y[j] = q[j] * d + m;
  }
}

// ---- K-quants ------------------------------------------------------------------------------

// Q4_K/Q5_K pack eight 6-bit scales and eight 6-bit mins into 12 bytes:
//   j < 4:  scale = b[j] & 63,                          min = b[j+4] & 63
//   j >= 4: scale = (b[j+4] & 15) | (b[j-4] >> 6) << 4,  min = (b[j+4] >> 4) | (b[j] >> 6) << 4
inline void unpack_scale_min(const uint8_t* b, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = b[j] & 63;
    *m = b[j + 4] & 63;
  } else {
    *sc = (b[j + 4] & 0xf) | ((b[j - 4] >> 6) << 4);
    *m = (b[j + 4] >> 4) | ((b[j] >> 6) << 4);
  }
}

inline void pack_scales_mins(const uint8_t* sc, const uint8_t* m, uint8_t* b) {
  std::memset(b, 0, K_SCALE_SIZE);
  for (int j = 0; j < 8; j++) {
    if (j < 4) {
      b[j] = sc[j];
      b[j + 4] = m[j];
    } else {
      b[j + 4] = (uint8_t)((sc[j] & 0xf) | ((m[j] & 0xf) << 4));
      b[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
      b[j] |= (uint8_t)((m[j] >> 4) << 6);
    }
  }
}

constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to nearest even

// The K-quant scale search runs over many candidates per sub-block, so it is written with
// 4-wide GCC/Clang vector types (plain SSE2 on x86-64) to meet the quantization speed goal.
typedef float v4f __attribute__((vector_size(16)));

inline v4f splat(float x) { return v4f{x, x, x, x}; }
inline v4f load4(const float* p) { v4f v; std::memcpy(&v, p, 16); return v; }
inline v4f vmin(v4f a, v4f b) { return a < b ? a : b; }
inline v4f vmax(v4f a, v4f b) { return a > b ? a : b; }
inline float hsum(v4f a) { return (a[0] + a[2]) + (a[1] + a[3]); }

// Fits x ~= scale*l - min over 32 values, l in [0, nmax], min >= 0, minimising the
// weighted squared error: tries a range of candidate step sizes, and for each the
// rounding it induces plus the least-squares scale and offset for that rounding.
// The error of a candidate follows from the sums, so no second pass over the values.
void fit_scale_min_32(const float* x, const float* w, int nmax, float rmin, float rdelta, int nstep,
                      float* out_scale, float* out_min) {
  constexpr int NV = 8;  // 32 values as 8 vectors of 4
  v4f xv[NV], wv[NV], xm[NV];
  v4f vlo = load4(x), vhi = vlo, a_w = {}, a_wx = {}, a_wxx = {};
  for (int i = 0; i < NV; i++) {
    xv[i] = load4(x + 4 * i);
    wv[i] = load4(w + 4 * i);
    vlo = vmin(vlo, xv[i]);
    vhi = vmax(vhi, xv[i]);
    a_w += wv[i];
    a_wx += wv[i] * xv[i];
    a_wxx += wv[i] * xv[i] * xv[i];
  }
  float lo = std::min(std::min(vlo[0], vlo[1]), std::min(vlo[2], vlo[3]));
  const float hi = std::max(std::max(vhi[0], vhi[1]), std::max(vhi[2], vhi[3]));
  lo = std::min(lo, 0.0f);
  if (hi == lo) {
    *out_scale = 0;
    *out_min = -lo;
    return;
  }
  const float sw = hsum(a_w), swx = hsum(a_wx), swxx = hsum(a_wxx);
  for (int i = 0; i < NV; i++) xm[i] = xv[i] - splat(lo);  // the quantity being rounded
  const float fmax = (float)nmax;
  const v4f vround = splat(kRound), vzero = {}, vfmax = splat(fmax);

  float best_scale = (hi - lo) / fmax, best_min = lo, best_err = -1;
  for (int is = -1; is <= nstep; is++) {
    // is = -1 is the plain min/max fit; the others spread the grid a little either way.
    const v4f iscale = splat((is < 0 ? fmax : fmax + rmin + rdelta * is) / (hi - lo));
    v4f a_l = {}, a_ll = {}, a_xl = {};
    for (int i = 0; i < NV; i++) {
      const v4f l = vmin(vmax((iscale * xm[i] + vround) - vround, vzero), vfmax);
      const v4f wl = wv[i] * l;
      a_l += wl;
      a_ll += wl * l;
      a_xl += wl * xv[i];
    }
    const float sl = hsum(a_l), sll = hsum(a_ll), sxl = hsum(a_xl);
    float s, m;
    if (is < 0) {
      s = 1 / iscale[0];
      m = lo;
    } else {
      const float D = sw * sll - sl * sl;
      if (!(D > 0)) continue;
      const float iD = 1 / D;
      s = (sw * sxl - swx * sl) * iD;
      m = (sll * swx - sl * sxl) * iD;
      if (m > 0) {  // the offset may only lower values (stored as a non-negative min)
        m = 0;
        s = sxl / sll;
      }
    }
    // Weighted squared error of x ~= s*l + m, expanded.
    const float err = s * s * sll + 2 * s * m * sl - 2 * s * sxl + m * m * sw - 2 * m * swx + swxx;
    if (best_err < 0 || err < best_err) {
      best_err = err;
      best_scale = s;
      best_min = m;
    }
  }
  *out_scale = best_scale;
  *out_min = -best_min;
}

// Shared by Q4_K and Q5_K: per super-block, fits the eight sub-block scales/mins, quantises
// them to 6 bits against d and dmin, and returns the levels L[256] in [0, nmax] requantised
// with the stored (rounded) scales so the data matches what will be decoded.
void quantize_k_scales(const float* x, int nmax, float rmin, float rdelta, int nstep, uint16_t* d_out,
                       uint16_t* dmin_out, uint8_t* scales_out, uint8_t* L) {
  float scales[8], mins[8], w[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; j++) {
    const float* xs = x + 32 * j;
    v4f a_x2 = {};
    for (int l = 0; l < 32; l += 4) a_x2 += load4(xs + l) * load4(xs + l);
    const float av_x = std::sqrt(hsum(a_x2) / 32);
    for (int l = 0; l < 32; l++) w[l] = av_x + std::fabs(xs[l]);
    fit_scale_min_32(xs, w, nmax, rmin, rdelta, nstep, &scales[j], &mins[j]);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63 / max_scale : 0;
  const float inv_min = max_min > 0 ? 63 / max_min : 0;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; j++) {
    ls[j] = (uint8_t)std::max(0, std::min(63, nearest_int(inv_scale * scales[j])));
    lm[j] = (uint8_t)std::max(0, std::min(63, nearest_int(inv_min * mins[j])));
  }
  pack_scales_mins(ls, lm, scales_out);
  *d_out = fp32_to_fp16(max_scale / 63);
  *dmin_out = fp32_to_fp16(max_min / 63);
  const float d = half(*d_out), dmin = half(*dmin_out);
  const float fmax = (float)nmax;
  for (int j = 0; j < 8; j++) {
    const float ds = d * ls[j], dm = dmin * lm[j];
    const float ids = ds != 0 ? 1 / ds : 0;
    for (int l = 0; l < 32; l++) {
      float q = ((x[32 * j + l] + dm) * ids + kRound) - kRound;
      q = std::min(std::max(q, 0.0f), fmax);
      L[32 * j + l] = (uint8_t)(int)q;
    }
  }
}

// Q4_K: 8 sub-blocks of 32; qs is four 32-byte groups, group g holding value 64g+l in the
// low nibble of byte l and value 64g+32+l in its high nibble. value = d*sc*q - dmin*m.
void quantize_q4_k(const float* x, block_q4_K* y, int64_t nb) {
  uint8_t L[QK_K];
  for (int64_t i = 0; i < nb; i++, x += QK_K) {
    quantize_k_scales(x, 15, -1.0f, 0.2f, 10, &y[i].d, &y[i].dmin, y[i].scales, L);
    for (int g = 0; g < 4; g++)
      for (int l = 0; l < 32; l++) y[i].qs[32 * g + l] = (uint8_t)(L[64 * g + l] | (L[64 * g + 32 + l] << 4));
  }
}

void dequantize_q4_k(const block_q4_K* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, y += QK_K) {
    const float d = half(x[i].d), dmin = half(x[i].dmin);
    for (int j = 0; j < 8; j++) {
      int sc, m;
      unpack_scale_min(x[i].scales, j, &sc, &m);
      const float ds = d * sc, dm = dmin * m;
      const uint8_t* q = x[i].qs + 32 * (j / 2);
      const int shift = (j & 1) * 4;
      for (int l = 0; l < 32; l++) y[32 * j + l] = ds * ((q[l] >> shift) & 0xf) - dm;
    }
  }
}

// Q5_K: Q4_K plus a fifth bit: qh[l] bit 2g holds value 64g+l's, bit 2g+1 value 64g+32+l's.
void quantize_q5_k(const float* x, block_q5_K* y, int64_t nb) {
  uint8_t L[QK_K];
  for (int64_t i = 0; i < nb; i++, x += QK_K) {
    quantize_k_scales(x, 31, -0.6f, 0.3f, 4, &y[i].d, &y[i].dmin, y[i].scales, L);
    std::memset(y[i].qh, 0, sizeof(y[i].qh));
    for (int g = 0; g < 4; g++) {
      for (int l = 0; l < 32; l++) {
        const int a = L[64 * g + l], b = L[64 * g + 32 + l];
        y[i].qs[32 * g + l] = (uint8_t)((a & 0xf) | ((b & 0xf) << 4));
        y[i].qh[l] |= (uint8_t)(((a >> 4) << (2 * g)) | ((b >> 4) << (2 * g + 1)));
      }
    }
  }
}

void dequantize_q5_k(const block_q5_K* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, y += QK_K) {
    const float d = half(x[i].d), dmin = half(x[i].dmin);
    for (int j = 0; j < 8; j++) {
      int sc, m;
      unpack_scale_min(x[i].scales, j, &sc, &m);
      const float ds = d * sc, dm = dmin * m;
      const uint8_t* q = x[i].qs + 32 * (j / 2);
      const int shift = (j & 1) * 4;
      for (int l = 0; l < 32; l++) {
        const int hi = (x[i].qh[l] >> j) & 1;  // bit 2g for even j = 2g, 2g+1 for odd
        y[32 * j + l] = ds * (((q[l] >> shift) & 0xf) | (hi << 4)) - dm;
      }
    }
  }
}

// Symmetric fit x ~= scale*l over 16 values, l in [-32, 31], weighted by x^2: the plain
// absmax grid and 8 nearby ones, keeping the one whose least-squares scale explains most.
float fit_scale_16(const float* x) {
  constexpr int NV = 4, nmax = 32;  // 16 values as 4 vectors of 4
  float amax = 0, max = 0;
  for (int i = 0; i < 16; i++) {
    if (std::fabs(x[i]) > amax) { amax = std::fabs(x[i]); max = x[i]; }
  }
  if (amax < 1e-15f) return 0;
  v4f xv[NV], wx[NV], w[NV];
  for (int i = 0; i < NV; i++) {
    xv[i] = load4(x + 4 * i);
    w[i] = xv[i] * xv[i];
    wx[i] = w[i] * xv[i];
  }
  const v4f vround = splat(kRound), lo = splat(-32.0f), hi = splat(31.0f);
  float best_scale = 0, best_sxl = 0, best_sll = 0;
  for (int is = -4; is <= 4; is++) {
    // is = 0: the grid that maps max to exactly -32; the others stretch it by -0.8 ... +0.8.
    const v4f iscale = splat(-(nmax + 0.2f * is) / max);
    v4f a_xl = {}, a_ll = {};
    for (int i = 0; i < NV; i++) {
      const v4f l = vmin(vmax((iscale * xv[i] + vround) - vround, lo), hi);
      a_xl += wx[i] * l;
      a_ll += w[i] * l * l;
    }
    const float sxl = hsum(a_xl), sll = hsum(a_ll);
    if (!(sll > 0)) continue;
    // The weighted error is sum(w x^2) - sxl^2/sll: keep the largest sxl^2/sll.
    if (best_sll == 0 || sxl * sxl * best_sll > best_sxl * best_sxl * sll) {
      best_sxl = sxl;
      best_sll = sll;
      best_scale = sxl / sll;
    }
  }
  return best_scale;
}

// Q6_K: 16 sub-blocks of 16 with int8 scales; value = d*sc*(q-32), q 6 bits. Per 128-value
// half h: ql[64h + l] holds values l (low nibble) and l+64 (high), ql[64h+32+l] values l+32
// and l+96; qh[32h + l] holds the top two bits of values l, l+32, l+64, l+96 in bit pairs 0-3.
void quantize_q6_k(const float* x, block_q6_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, x += QK_K) {
    float scales[16];
    float max_scale = 0, max_abs = 0;
    for (int j = 0; j < 16; j++) {
      scales[j] = fit_scale_16(x + 16 * j);
      if (std::fabs(scales[j]) > max_abs) { max_abs = std::fabs(scales[j]); max_scale = scales[j]; }
    }
    std::memset(&y[i], 0, sizeof(block_q6_K));
    if (max_abs < 1e-15f) continue;
    const float iscale = -128.0f / max_scale;
    y[i].d = fp32_to_fp16(1 / iscale);
    for (int j = 0; j < 16; j++) y[i].scales[j] = (int8_t)std::min(127, nearest_int(iscale * scales[j]));
    uint8_t L[QK_K];
    const float d = half(y[i].d);
    for (int j = 0; j < 16; j++) {
      const float ds = d * y[i].scales[j];
      const float ids = ds != 0 ? 1 / ds : 0;
      for (int l = 0; l < 16; l++) {
        float q = (x[16 * j + l] * ids + kRound) - kRound;
        q = std::min(std::max(q, -32.0f), 31.0f);
        L[16 * j + l] = (uint8_t)((int)q + 32);
      }
    }
    for (int h = 0; h < 2; h++) {
      const uint8_t* Lh = L + 128 * h;
      uint8_t* ql = y[i].ql + 64 * h;
      uint8_t* qh = y[i].qh + 32 * h;
      for (int l = 0; l < 32; l++) {
        ql[l] = (uint8_t)((Lh[l] & 0xf) | ((Lh[l + 64] & 0xf) << 4));
        ql[l + 32] = (uint8_t)((Lh[l + 32] & 0xf) | ((Lh[l + 96] & 0xf) << 4));
        qh[l] = (uint8_t)((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
      }
    }
  }
}

void dequantize_q6_k(const block_q6_K* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, y += QK_K) {
    const float d = half(x[i].d);
    for (int h = 0; h < 2; h++) {
      const uint8_t* ql = x[i].ql + 64 * h;
      const uint8_t* qh = x[i].qh + 32 * h;
      float* yh = y + 128 * h;
      for (int l = 0; l < 32; l++) {
        const int q[4] = {
            (ql[l] & 0xf) | ((qh[l] & 3) << 4),
            (ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4),
            (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4),
            (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4),
        };
        for (int r = 0; r < 4; r++) {
          const int idx = l + 32 * r;
          yh[idx] = d * x[i].scales[8 * h + idx / 16] * (q[r] - 32);
        }
      }
    }
  }
}

}  // namespace

const TypeTraits& type_traits(uint32_t type) {
  return type < TYPE_COUNT ? kTable.t[type] : kUnknown;
}

size_t row_bytes(uint32_t type, int64_t n) {
  const TypeTraits& t = type_traits(type);
  return (size_t)(n / t.block_elems) * t.block_bytes;
}

void dequantize_row(uint32_t type, const void* src, float* dst, int64_t n) {
  const int64_t nb = n / type_traits(type).block_elems;
  switch (type) {
    case TYPE_F32: std::memcpy(dst, src, (size_t)n * 4); break;
    case TYPE_F16: {
      const uint16_t* s = (const uint16_t*)src;
      for (int64_t i = 0; i < n; i++) dst[i] = fp16_to_fp32(s[i]);
      break;
    }
    case TYPE_BF16: {
      const uint16_t* s = (const uint16_t*)src;
      for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_fp32(s[i]);
      break;
    }
    case TYPE_Q8_0: dequantize_q8_0((const block_q8_0*)src, dst, nb); break;
    case TYPE_Q4_0: dequantize_q4_0((const block_q4_0*)src, dst, nb); break;
    case TYPE_Q4_1: dequantize_q4_1((const block_q4_1*)src, dst, nb); break;
    case TYPE_Q5_0: dequantize_q5_0((const block_q5_0*)src, dst, nb); break;
    case TYPE_Q5_1: dequantize_q5_1((const block_q5_1*)src, dst, nb); break;
    case TYPE_Q4_K: dequantize_q4_k((const block_q4_K*)src, dst, nb); break;
    case TYPE_Q5_K: dequantize_q5_k((const block_q5_K*)src, dst, nb); break;
    case TYPE_Q6_K: dequantize_q6_k((const block_q6_K*)src, dst, nb); break;
    default: break;  // unsupported: callers check type_traits(type).supported first
  }
}

void quantize_row(uint32_t type, const float* src, void* dst, int64_t n) {
  const int64_t nb = n / type_traits(type).block_elems;
  switch (type) {
    case TYPE_F32: std::memcpy(dst, src, (size_t)n * 4); break;
    case TYPE_F16: {
      uint16_t* d = (uint16_t*)dst;
      for (int64_t i = 0; i < n; i++) d[i] = fp32_to_fp16(src[i]);
      break;
    }
    case TYPE_BF16: {
      uint16_t* d = (uint16_t*)dst;
      for (int64_t i = 0; i < n; i++) d[i] = fp32_to_bf16(src[i]);
      break;
    }
    case TYPE_Q8_0: quantize_q8_0(src, (block_q8_0*)dst, nb); break;
    case TYPE_Q4_0: quantize_q4_0(src, (block_q4_0*)dst, nb); break;
    case TYPE_Q4_1: quantize_q4_1(src, (block_q4_1*)dst, nb); break;
    case TYPE_Q5_0: quantize_q5_0(src, (block_q5_0*)dst, nb); break;
    case TYPE_Q5_1: quantize_q5_1(src, (block_q5_1*)dst, nb); break;
    case TYPE_Q4_K: quantize_q4_k(src, (block_q4_K*)dst, nb); break;
    case TYPE_Q5_K: quantize_q5_k(src, (block_q5_K*)dst, nb); break;
    case TYPE_Q6_K: quantize_q6_k(src, (block_q6_K*)dst, nb); break;
    default: break;
  }
}

}  // namespace omni
