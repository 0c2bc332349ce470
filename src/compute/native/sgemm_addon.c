/*
 * sacbridge native GEMM: OpenBLAS cblas_sgemm over tfjs-wasm's linear memory.
 *
 * JS passes the WebAssembly memory's ArrayBuffer and an Int32Array of byte offsets and sizes;
 * everything is row-major float32. The batch loop, the bias fill and the ReLU run here so that
 * one N-API call serves one tfjs kernel.
 *
 * Parameter layout (Int32Array p), shared with src/compute/providers.ts:
 *   0 transA  1 transB  2 M  3 N  4 K  5 batch
 *   6 aOff    7 aStride (bytes between batch items of A, 0 = broadcast)
 *   8 bOff    9 bStride
 *  10 cOff   11 biasOff  12 biasMode (0 none, 1 per column [N], 2 scalar, 3 full [M,N])
 *  13 act (0 linear, 1 relu)
 *  14 biasStride (bytes between batch items' biases, 0 = one bias for every item; ABI 2)
 */
#include <node_api.h>
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NPARAMS 15
/* Bumped when the parameter layout changes: JS checks it, since an addon built from older
 * source would ignore the parameters it does not know. */
#define ABI 2

static void fill_bias(float *c, const float *bias, int mode, int m, int n) {
  if (mode == 1) {
    for (int i = 0; i < m; i++) memcpy(c + (size_t)i * n, bias, sizeof(float) * (size_t)n);
  } else if (mode == 2) {
    const float v = bias[0];
    for (size_t i = 0, e = (size_t)m * n; i < e; i++) c[i] = v;
  } else {
    memcpy(c, bias, sizeof(float) * (size_t)m * n);
  }
}

/* Branch-free so it vectorises (maxps): with a branch, random signs cost a misprediction per
 * element, which measured as slow as the 256^3 GEMM itself. */
static void relu(float *restrict c, size_t len) {
  for (size_t i = 0; i < len; i++) {
    const float v = c[i];
    c[i] = v > 0.0f ? v : 0.0f;
  }
}

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, "SACBRIDGE_SGEMM", msg);
  return NULL;
}

/* gemm(heap: ArrayBuffer, p: Int32Array): undefined */
static napi_value gemm(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2)
    return throw_error(env, "gemm(heap, params) needs two arguments");
  void *heap = NULL;
  size_t heap_len = 0;
  if (napi_get_arraybuffer_info(env, argv[0], &heap, &heap_len) != napi_ok)
    return throw_error(env, "gemm: heap must be an ArrayBuffer");
  napi_typedarray_type type;
  size_t plen = 0;
  void *pdata = NULL;
  if (napi_get_typedarray_info(env, argv[1], &type, &plen, &pdata, NULL, NULL) != napi_ok ||
      type != napi_int32_array || plen < NPARAMS)
    return throw_error(env, "gemm: params must be an Int32Array of 15 values");
  const int32_t *p = (const int32_t *)pdata;
  const int ta = p[0], tb = p[1], m = p[2], n = p[3], k = p[4], batch = p[5];
  const int64_t a_off = p[6], a_stride = p[7], b_off = p[8], b_stride = p[9], c_off = p[10];
  const int64_t bias_off = p[11], bias_stride = p[14];
  const int bias_mode = p[12], act = p[13];
  if (m < 0 || n < 0 || k < 0 || batch < 0) return throw_error(env, "gemm: negative size");
  /* Bounds: the last byte each operand touches must lie inside the heap. */
  const int64_t a_bytes = (int64_t)m * k * 4, b_bytes = (int64_t)k * n * 4, c_bytes = (int64_t)m * n * 4;
  const int64_t last = batch > 0 ? batch - 1 : 0;
  if (a_off < 0 || a_off + a_stride * last + a_bytes > (int64_t)heap_len ||
      b_off < 0 || b_off + b_stride * last + b_bytes > (int64_t)heap_len ||
      c_off < 0 || c_off + c_bytes * (last + 1) > (int64_t)heap_len)
    return throw_error(env, "gemm: operand outside the heap");
  if (bias_mode != 0) {
    const int64_t len = bias_mode == 1 ? n : bias_mode == 2 ? 1 : (int64_t)m * n;
    if (bias_off < 0 || bias_stride < 0 || bias_off + bias_stride * last + len * 4 > (int64_t)heap_len) return throw_error(env, "gemm: bias outside the heap");
  }
  uint8_t *base = (uint8_t *)heap;
  for (int b = 0; b < batch; b++) {
    const float *bias = bias_mode != 0 ? (const float *)(base + bias_off + bias_stride * b) : NULL;
    const float *A = (const float *)(base + a_off + a_stride * b);
    const float *B = (const float *)(base + b_off + b_stride * b);
    float *C = (float *)(base + c_off + c_bytes * b);
    float beta = 0.0f;
    if (bias_mode != 0) {
      fill_bias(C, bias, bias_mode, m, n);
      beta = 1.0f;
    }
    if (m > 0 && n > 0) {
      if (k > 0) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
                    A, ta ? m : k, B, tb ? k : n, beta, C, n);
      } else if (bias_mode == 0) {
        memset(C, 0, (size_t)c_bytes);
      }
    }
    if (act == 1) relu(C, (size_t)m * n);
  }
  return NULL;
}

/* setThreads(n): OpenBLAS's own thread count. */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1)
    return throw_error(env, "setThreads(n) needs a positive integer");
  openblas_set_num_threads(n);
  return NULL;
}

static napi_value config(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  char buf[256];
  snprintf(buf, sizeof buf, "%s; threads=%d", openblas_get_config(), openblas_get_num_threads());
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &s);
  return s;
}

static napi_value abi(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_int32(env, ABI, &v);
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  /* One thread by default: SAC's matrices are small (<= 256x256x256, ~0.1 ms each), where waking a
   * second OpenBLAS thread costs about what it saves, and on a 2-core machine its spin-waiting
   * steals the core that the simulator and the event loop need. setThreads() overrides. */
  openblas_set_num_threads(1);
  napi_property_descriptor props[] = {
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"config", NULL, config, NULL, NULL, NULL, napi_default, NULL},
      {"abi", NULL, abi, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
