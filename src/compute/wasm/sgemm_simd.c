/*
 * sacbridge WebAssembly SIMD GEMM (built by scripts/build-wasm-gemm.mjs; the .wasm is committed).
 *
 * The module imports its memory and touches no memory of its own (no data, no stack: every
 * temporary lives in a wasm local), so it can be instantiated on tfjs-wasm's own memory and work
 * on tensors in place, or on a private memory with copies in and out.
 *
 * C[b] = op(A[b]) op(B[b]) (+ bias) (relu), row-major float32, op = transpose when the flag is set.
 * A is read through strides (element (i, k) at A[i*ars + k*aks]), which covers both layouts with
 * no packing. A transposed B is first repacked into `scratch` (K x N floats) so that the inner
 * loop always reads contiguous rows of B.
 * biasMode: 0 none, 1 per column [N], 2 scalar, 3 full [M,N]; batch item b reads its bias at
 * bias_off + b * bias_stride bytes (0: one bias for all; the last parameter, so callers that
 * predate it pass nothing, which is 0). act: 0 linear, 1 relu.
 *
 * Register tile: MR = 4 rows x 8 columns (two f32x4 per row): 8 accumulators, 2 B vectors and
 * the broadcast A fit x86's 16 vector registers as V8 allocates them. Measured here (AMD EPYC,
 * 256^3): 4x8 ~45-53 GFLOPS, 6x8 ~32, 5x8 ~26, 4x12 / 4x16 / 8x4 16-25 (spills or too few
 * independent chains). SIMD128 has no fused multiply-add (relaxed SIMD is behind a flag in
 * Node 20), so a multiply and an add per lane bound the speed.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define MR 4

/* Rows [i0, i0+rows) x columns [j0, j0+4*NV) of C. `rows` <= MR is a constant at each call
 * site after inlining, so the fixed-size loops unroll and the accumulators become locals. */
#define DEFINE_TILE(NV)                                                                          \
  static inline __attribute__((always_inline)) void tile_##NV(                                   \
      const float *A, long ars, long aks, const float *B, long n, float *C, int k, int i0,         \
      int j0, const int rows) {                                                                  \
    v128_t acc[MR][NV];                                                                          \
    for (int r = 0; r < MR; r++)                                                                 \
      for (int v = 0; v < NV; v++) acc[r][v] = wasm_f32x4_splat(0);                              \
    const float *a = A + (long)i0 * ars;                                                         \
    const float *b = B + j0;                                                                     \
    for (int kk = 0; kk < k; kk++, a += aks, b += n) {                                           \
      v128_t bv[NV];                                                                             \
      for (int v = 0; v < NV; v++) bv[v] = wasm_v128_load(b + 4 * v);                            \
      for (int r = 0; r < MR; r++) {                                                             \
        if (r >= rows) break;                                                                    \
        const v128_t av = wasm_f32x4_splat(a[r * ars]);                                          \
        for (int v = 0; v < NV; v++) acc[r][v] = wasm_f32x4_add(acc[r][v], wasm_f32x4_mul(av, bv[v])); \
      }                                                                                          \
    }                                                                                            \
    for (int r = 0; r < MR; r++) {                                                               \
      if (r >= rows) break;                                                                      \
      float *c = C + (long)(i0 + r) * n + j0;                                                    \
      for (int v = 0; v < NV; v++) wasm_v128_store(c + 4 * v, acc[r][v]);                        \
    }                                                                                            \
  }

DEFINE_TILE(2)
DEFINE_TILE(1)

/* Columns [j0, j0+4*NV) for all rows: full MR-row tiles, then one tile for the remaining rows. */
#define DEFINE_STRIP(NV)                                                                         \
  static void strip_##NV(const float *A, long ars, long aks, const float *B, long n, float *C,    \
                         int m, int k, int j0) {                                                 \
    int i = 0;                                                                                   \
    for (; i + MR <= m; i += MR) tile_##NV(A, ars, aks, B, n, C, k, i, j0, MR);                  \
    switch (m - i) {                                                                             \
      case 3: tile_##NV(A, ars, aks, B, n, C, k, i, j0, 3); break;                               \
      case 2: tile_##NV(A, ars, aks, B, n, C, k, i, j0, 2); break;                               \
      case 1: tile_##NV(A, ars, aks, B, n, C, k, i, j0, 1); break;                               \
      default: break;                                                                            \
    }                                                                                            \
  }

DEFINE_STRIP(2)
DEFINE_STRIP(1)

/* Column j of C (the tail when N is not a multiple of 4). When B is a single contiguous column
 * and A is not transposed (a matrix-vector product, e.g. a critic's output layer), each row is
 * a dot product of contiguous vectors. */
static void column(const float *A, long ars, long aks, const float *B, long n, float *C, int m, int k, int j) {
  for (int i = 0; i < m; i++) {
    const float *a = A + (long)i * ars;
    float s = 0;
    int kk = 0;
    if (aks == 1 && n == 1) {
      v128_t acc = wasm_f32x4_splat(0);
      for (; kk + 4 <= k; kk += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(a + kk), wasm_v128_load(B + kk)));
      s = (wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1)) +
          (wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3));
    }
    for (; kk < k; kk++) s += a[(long)kk * aks] * B[(long)kk * n + j];
    C[(long)i * n + j] = s;
  }
}

static void gemm_one(const float *A, long ars, long aks, const float *B, float *C, int m, int n, int k) {
  const int n8 = n & ~7, n4 = n & ~3;
  /* Column strips outermost: a K x 8 strip of B (8 KiB at K = 256) stays in L1 across row tiles. */
  for (int j = 0; j < n8; j += 8) strip_2(A, ars, aks, B, n, C, m, k, j);
  if (n4 > n8) strip_1(A, ars, aks, B, n, C, m, k, n8);
  for (int j = n4; j < n; j++) column(A, ars, aks, B, n, C, m, k, j);
}

static void transpose_into(const float *B, float *out, int rows, int cols) {
  /* B is rows x cols; out becomes cols x rows. Blocked so both sides stay in cache. */
  for (int r0 = 0; r0 < rows; r0 += 16)
    for (int c0 = 0; c0 < cols; c0 += 16) {
      const int r1 = r0 + 16 < rows ? r0 + 16 : rows, c1 = c0 + 16 < cols ? c0 + 16 : cols;
      for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) out[(long)c * rows + r] = B[(long)r * cols + c];
    }
}

static void epilogue(float *C, int m, int n, const float *bias, int bias_mode, int act) {
  const long len = (long)m * n;
  if (bias_mode == 1) {
    for (int i = 0; i < m; i++) {
      float *row = C + (long)i * n;
      int j = 0;
      for (; j + 4 <= n; j += 4) wasm_v128_store(row + j, wasm_f32x4_add(wasm_v128_load(row + j), wasm_v128_load(bias + j)));
      for (; j < n; j++) row[j] += bias[j];
    }
  } else if (bias_mode == 2) {
    for (long i = 0; i < len; i++) C[i] += bias[0];
  } else if (bias_mode == 3) {
    for (long i = 0; i < len; i++) C[i] += bias[i];
  }
  if (act == 1) {
    const v128_t zero = wasm_f32x4_splat(0);
    long i = 0;
    for (; i + 4 <= len; i += 4) wasm_v128_store(C + i, wasm_f32x4_max(wasm_v128_load(C + i), zero));
    for (; i < len; i++) C[i] = C[i] > 0 ? C[i] : 0;
  }
}

/* Offsets are byte addresses in the (imported) memory; strides are bytes between batch items. */
EXPORT("gemm")
void gemm(int ta, int tb, int m, int n, int k, int batch, uintptr_t a_off, int a_stride, uintptr_t b_off,
          int b_stride, uintptr_t c_off, uintptr_t bias_off, int bias_mode, int act, uintptr_t scratch,
          int bias_stride) {
  const long c_stride = (long)m * n;
  const long ars = ta ? 1 : k, aks = ta ? m : 1;
  const float *packed_for = 0;
  for (int b = 0; b < batch; b++) {
    const float *A = (const float *)(a_off + (uintptr_t)a_stride * b);
    const float *B = (const float *)(b_off + (uintptr_t)b_stride * b);
    float *C = (float *)c_off + c_stride * b;
    if (tb) {
      /* B is stored N x K; repack as K x N (once when B is broadcast over the batch). */
      if (B != packed_for) transpose_into(B, (float *)scratch, n, k);
      packed_for = B;
      B = (const float *)scratch;
    }
    gemm_one(A, ars, aks, B, C, m, n, k);
    epilogue(C, m, n, (const float *)(bias_off + (uintptr_t)bias_stride * b), bias_mode, act);
  }
}

/*
 * One Adam step over n floats, written to fresh outputs (inputs are live tensors; never written):
 *   m' = b1 m + (1 - b1) g;  v' = b2 v + (1 - b2) g^2;  p' = p - step m' / (sqrt(v') + eps)
 * The operations and their order are those of the tfjs-op version (mul, mul, add, ...; no fused
 * multiply-add in SIMD128), so the results are bit-identical to it. `c1` and `c2` are 1 - b1 and
 * 1 - b2 as the caller rounds them.
 */
EXPORT("adam")
void adam(uintptr_t p_off, uintptr_t g_off, uintptr_t m_off, uintptr_t v_off, uintptr_t p_out, uintptr_t m_out,
          uintptr_t v_out, int n, float b1, float c1, float b2, float c2, float step, float eps) {
  const float *p = (const float *)p_off, *g = (const float *)g_off, *m = (const float *)m_off, *v = (const float *)v_off;
  float *po = (float *)p_out, *mo = (float *)m_out, *vo = (float *)v_out;
  const v128_t B1 = wasm_f32x4_splat(b1), C1 = wasm_f32x4_splat(c1), B2 = wasm_f32x4_splat(b2), C2 = wasm_f32x4_splat(c2);
  const v128_t S = wasm_f32x4_splat(step), E = wasm_f32x4_splat(eps);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t gi = wasm_v128_load(g + i);
    const v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), B1), wasm_f32x4_mul(gi, C1));
    const v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), B2), wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), C2));
    const v128_t upd = wasm_f32x4_div(wasm_f32x4_mul(mi, S), wasm_f32x4_add(wasm_f32x4_sqrt(vi), E));
    wasm_v128_store(mo + i, mi);
    wasm_v128_store(vo + i, vi);
    wasm_v128_store(po + i, wasm_f32x4_sub(wasm_v128_load(p + i), upd));
  }
  for (; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * c1;
    const float vi = v[i] * b2 + (gi * gi) * c2;
    mo[i] = mi;
    vo[i] = vi;
    po[i] = p[i] - (mi * step) / (__builtin_sqrtf(vi) + eps);
  }
}

/* Polyak averaging into a fresh output: out = s tau + t (1 - tau), in the tfjs-op order. */
EXPORT("polyak")
void polyak(uintptr_t t_off, uintptr_t s_off, uintptr_t out_off, int n, float tau, float keep) {
  const float *t = (const float *)t_off, *s = (const float *)s_off;
  float *out = (float *)out_off;
  const v128_t TAU = wasm_f32x4_splat(tau), KEEP = wasm_f32x4_splat(keep);
  int i = 0;
  for (; i + 4 <= n; i += 4)
    wasm_v128_store(out + i, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(s + i), TAU), wasm_f32x4_mul(wasm_v128_load(t + i), KEEP)));
  for (; i < n; i++) out[i] = s[i] * tau + t[i] * keep;
}

/* The gradient through a ReLU, in place: d = y > 0 ? d : 0 (y is the layer's output). A mask,
 * not a branch: the signs are random, and a mispredicted branch per element costs more than
 * the arithmetic. */
EXPORT("relu_backward")
void relu_backward(uintptr_t d_off, uintptr_t y_off, int n) {
  float *d = (float *)d_off;
  const float *y = (const float *)y_off;
  const v128_t zero = wasm_f32x4_splat(0);
  int i = 0;
  for (; i + 4 <= n; i += 4)
    wasm_v128_store(d + i, wasm_v128_and(wasm_v128_load(d + i), wasm_f32x4_gt(wasm_v128_load(y + i), zero)));
  for (; i < n; i++) d[i] = y[i] > 0 ? d[i] : 0;
}
