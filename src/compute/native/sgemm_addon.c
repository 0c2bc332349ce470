/*
 * sacbridge native GEMM: OpenBLAS cblas_sgemm over tfjs-wasm's linear memory.
 *
 * JS passes the WebAssembly memory's ArrayBuffer and an Int32Array of byte offsets and sizes;
 * everything is row-major float32. The batch loop, the bias fill and the ReLU run here so that
 * one N-API call serves one tfjs kernel (or one GEMM of the fused SAC update, whose
 * squashed-Gaussian sample, `sample`, is here too).
 *
 * Parameter layout (Int32Array p), shared with src/compute/providers.ts:
 *   0 transA  1 transB  2 M  3 N  4 K  5 batch
 *   6 aOff    7 aStride (bytes between batch items of A, 0 = broadcast)
 *   8 bOff    9 bStride
 *  10 cOff   11 biasOff  12 biasMode (0 none, 1 per column [N], 2 scalar, 3 full [M,N])
 *  13 act (0 linear, 1 relu, 2 ReLU's gradient: C = y > 0 ? C : 0 with y at maskOff, laid out
 *     like C (ABI 4))
 *  14 biasStride (bytes between batch items' biases, 0 = one bias for every item; ABI 2)
 *  15 cores (optional, ABI 3): 2 splits the call's batch items between this thread and the
 *     addon's helper thread, 1 or absent runs it all here
 *  16 maskOff (act 2: the ReLU outputs y, [batch][M][N], a byte offset above 0; ABI 4)
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <string.h>
#include <time.h>

#define NPARAMS 15
/* Bumped when the parameter layout changes: JS checks it, since an addon built from older
 * source would ignore the parameters it does not know. */
#define ABI 4

/* One GEMM call as parsed from the parameters; a part is a range of its batch items. */
typedef struct {
  uint8_t *base;
  int ta, tb, m, n, k, batch, bias_mode, act;
  int64_t a_off, a_stride, b_off, b_stride, c_off, c_bytes, bias_off, bias_stride, mask_off;
} call_t;

typedef struct {
  int b0, b1;
} part_t;

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

/* The gradient through a ReLU, in place on C while it is still in cache: y > 0 exactly where
 * the ReLU's input was (the WebAssembly module's relu_backward does the same). */
static void relu_mask(float *restrict c, const float *restrict y, size_t len) {
  for (size_t i = 0; i < len; i++) c[i] = y[i] > 0.0f ? c[i] : 0.0f;
}

static void run_part(const call_t *g, const part_t *q) {
  const int m = g->m, n = g->n, k = g->k;
  for (int b = q->b0; b < q->b1; b++) {
    const float *A = (const float *)(g->base + g->a_off + g->a_stride * b);
    const float *B = (const float *)(g->base + g->b_off + g->b_stride * b);
    float *C = (float *)(g->base + g->c_off + g->c_bytes * b);
    float beta = 0.0f;
    if (g->bias_mode != 0) {
      fill_bias(C, (const float *)(g->base + g->bias_off + g->bias_stride * b), g->bias_mode, m, n);
      beta = 1.0f;
    }
    if (m > 0 && n > 0) {
      if (k > 0) {
        cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
                    A, g->ta ? m : k, B, g->tb ? k : n, beta, C, n);
      } else if (g->bias_mode == 0) {
        memset(C, 0, (size_t)g->c_bytes);
      }
    }
    if (g->act == 1) relu(C, (size_t)m * n);
    else if (g->act == 2) relu_mask(C, (const float *)(g->base + g->mask_off + g->c_bytes * b), (size_t)m * n);
  }
}

/* The helper thread: it offers to run the second half of a split call. Whoever claims the half
 * first runs it: the helper, or the caller once its own half is done. So when the machine gives
 * the helper no core, the caller runs both halves itself and loses only the hand-over, never
 * waits on a thread that is not running. Either way the same cblas calls compute the same
 * blocks, so the results do not depend on who ran which half.
 * After a half, the helper spins briefly (the next GEMM of an update comes within microseconds),
 * then sleeps on a condition variable, leaving the core to the simulator between updates. One
 * caller splits at a time (split_lock); a caller that finds the helper taken runs the whole call. */
#define HELPER_SPIN_NS 50000LL
enum { JOB_NONE, JOB_POSTED, JOB_CLAIMED, JOB_DONE };
static pthread_mutex_t split_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t helper_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t helper_cv = PTHREAD_COND_INITIALIZER;
static atomic_int job_state = JOB_NONE;
static atomic_int helper_sleeping = 0;
static int helper_state = 0; /* 0 not started, 1 running, -1 could not start */
static call_t helper_call;
static part_t helper_part;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static void *helper_main(void *arg) {
  (void)arg;
  for (;;) {
    int64_t until = now_ns() + HELPER_SPIN_NS;
    unsigned spins = 0;
    while (atomic_load_explicit(&job_state, memory_order_acquire) != JOB_POSTED) {
      cpu_relax();
      if ((++spins & 127) == 0 && now_ns() > until) {
        pthread_mutex_lock(&helper_mu);
        atomic_store(&helper_sleeping, 1);
        while (atomic_load(&job_state) != JOB_POSTED) pthread_cond_wait(&helper_cv, &helper_mu);
        atomic_store(&helper_sleeping, 0);
        pthread_mutex_unlock(&helper_mu);
      }
    }
    int expected = JOB_POSTED;
    if (atomic_compare_exchange_strong(&job_state, &expected, JOB_CLAIMED)) {
      run_part(&helper_call, &helper_part);
      atomic_store_explicit(&job_state, JOB_DONE, memory_order_release);
    }
  }
  return NULL;
}

static int helper_ready(void) {
  if (helper_state == 0) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    helper_state = pthread_create(&t, &attr, helper_main, NULL) == 0 ? 1 : -1;
    pthread_attr_destroy(&attr);
  }
  return helper_state == 1;
}

/* Halves of a call: its batch items (the twin critics' two networks). Only whole items: rows or
 * columns of one product would be bit-identical only if OpenBLAS computed a block the same way
 * whatever the size of the product around it, and it does not (measured: the rows just before a
 * split point differ in the last bit). Each half must be big enough to pay for the hand-over. */
static int split_call(const call_t *g, part_t *mine, part_t *theirs) {
  const part_t all = {0, g->batch};
  *mine = all;
  *theirs = all;
  if (g->batch < 2 || (double)g->m * g->n * g->k < 32768.0) return 0;
  mine->b1 = theirs->b0 = g->batch / 2;
  return 1;
}

static void run_call(const call_t *g, int cores) {
  part_t mine, theirs;
  if (cores < 2 || !split_call(g, &mine, &theirs) || pthread_mutex_trylock(&split_lock) != 0) {
    const part_t all = {0, g->batch};
    run_part(g, &all);
    return;
  }
  if (!helper_ready()) {
    pthread_mutex_unlock(&split_lock);
    const part_t all = {0, g->batch};
    run_part(g, &all);
    return;
  }
  helper_call = *g;
  helper_part = theirs;
  atomic_store_explicit(&job_state, JOB_POSTED, memory_order_release);
  if (atomic_load(&helper_sleeping)) {
    pthread_mutex_lock(&helper_mu);
    pthread_cond_signal(&helper_cv);
    pthread_mutex_unlock(&helper_mu);
  }
  run_part(g, &mine);
  int expected = JOB_POSTED;
  if (atomic_compare_exchange_strong(&job_state, &expected, JOB_CLAIMED)) {
    /* The helper has not started it: run it here. */
    run_part(g, &theirs);
  } else {
    /* The helper is running it (it claimed it, so it has a core): wait for it. */
    unsigned spins = 0;
    while (atomic_load_explicit(&job_state, memory_order_acquire) != JOB_DONE) {
      cpu_relax();
      if ((++spins & 1023) == 0) sched_yield();
    }
  }
  atomic_store(&job_state, JOB_NONE);
  pthread_mutex_unlock(&split_lock);
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
    return throw_error(env, "gemm: params must be an Int32Array of 15 to 17 values");
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
  const int cores = plen > NPARAMS ? p[NPARAMS] : 1;
  const int64_t mask_off = plen > NPARAMS + 1 ? p[NPARAMS + 1] : -1;
  if (act == 2 && (mask_off <= 0 || mask_off + c_bytes * (last + 1) > (int64_t)heap_len))
    return throw_error(env, "gemm: ReLU mask outside the heap (act 2 needs maskOff, parameter 16)");
  if (act < 0 || act > 2) return throw_error(env, "gemm: act must be 0 (linear), 1 (relu) or 2 (relu gradient)");
  const call_t g = {(uint8_t *)heap, ta, tb, m, n, k, batch, bias_mode, act,
                    a_off, a_stride, b_off, b_stride, c_off, c_bytes, bias_off, bias_stride, mask_off};
  run_call(&g, cores);
  return NULL;
}

/* sample(heap, q: Int32Array, c: Float64Array): the squashed-Gaussian sample of the fused SAC
 * update (src/agent/fusedSac.ts's sample(), which stays the reference and the WebAssembly path),
 * in float with double sums, on the arena: one call instead of a JavaScript loop of five
 * transcendental functions per action entry.
 *   q: 0 heads (byte offset; [rows][2A], mean then pre-tanh log std)  1 row0  2 rows  3 A
 *      4 eps [rows][A]  5 gaussTerm [rows]  6 action out [row0 + rows][A]  7 logProb out
 *      8 save (0/1)  9 saved tanh of the log-std head  10 saved sigma  11 saved eps ([rows][A] each)
 *   c: 0 half range of log std  1 its midpoint */
#define SAMPLE_Q 12

/* tanh(x) from m = expm1(-2|x|) (one expm1f, where tanhf costs several; expm1 keeps small |x|
 * exact, where 1 - exp(-2|x|) would cancel): tanh|x| = -m / (2 + m). exp(-2|x|) = 1 + m goes to
 * the caller as 2 + m = 1 + exp(-2|x|). */
static inline float tanh_of(float x, float *one_plus_t) {
  const float m = expm1f(-2.0f * fabsf(x));
  if (one_plus_t != NULL) *one_plus_t = 2.0f + m;
  const float r = -m / (2.0f + m);
  return x < 0.0f ? -r : r;
}
static napi_value sample(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3)
    return throw_error(env, "sample(heap, q, c) needs three arguments");
  void *heap = NULL;
  size_t heap_len = 0;
  if (napi_get_arraybuffer_info(env, argv[0], &heap, &heap_len) != napi_ok)
    return throw_error(env, "sample: heap must be an ArrayBuffer");
  napi_typedarray_type type;
  size_t len = 0;
  void *qd = NULL, *cd = NULL;
  if (napi_get_typedarray_info(env, argv[1], &type, &len, &qd, NULL, NULL) != napi_ok || type != napi_int32_array || len < SAMPLE_Q)
    return throw_error(env, "sample: q must be an Int32Array of 12 values");
  if (napi_get_typedarray_info(env, argv[2], &type, &len, &cd, NULL, NULL) != napi_ok || type != napi_float64_array || len < 2)
    return throw_error(env, "sample: c must be a Float64Array of 2 values");
  const int32_t *q = (const int32_t *)qd;
  const double *c = (const double *)cd;
  const int64_t row0 = q[1], rows = q[2], A = q[3];
  if (row0 < 0 || rows < 0 || A <= 0) return throw_error(env, "sample: negative size");
  /* Bounds: every region's last byte inside the heap. */
  const int64_t need[][2] = {{q[0], (row0 + rows) * 2 * A}, {q[4], rows * A}, {q[5], rows}, {q[6], (row0 + rows) * A}, {q[7], row0 + rows},
                             {q[9], q[8] ? rows * A : 0}, {q[10], q[8] ? rows * A : 0}, {q[11], q[8] ? rows * A : 0}};
  for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
    if (need[i][0] < 0 || need[i][0] + need[i][1] * 4 > (int64_t)heap_len) return throw_error(env, "sample: region outside the heap");
  uint8_t *base = (uint8_t *)heap;
  const float *z = (const float *)(base + q[0]) + row0 * 2 * A;
  const float *eps = (const float *)(base + q[4]);
  const float *gauss = (const float *)(base + q[5]);
  float *act = (float *)(base + q[6]) + row0 * A;
  float *logp = (float *)(base + q[7]) + row0;
  float *st = (float *)(base + q[9]), *ss = (float *)(base + q[10]), *se = (float *)(base + q[11]);
  const float half = (float)c[0], mid = (float)c[1];
  const int save = q[8] != 0;
  for (int64_t i = 0; i < rows; i++) {
    double sum = 0.0;
    for (int64_t j = 0; j < A; j++) {
      const float mean = z[i * 2 * A + j];
      const float s = tanh_of(z[i * 2 * A + A + j], NULL);
      const float log_std = s * half + mid;
      const float sigma = expf(log_std);
      const float e = eps[i * A + j];
      const float u = mean + sigma * e;
      float one_plus_t;
      const float a = tanh_of(u, &one_plus_t);
      act[i * A + j] = a;
      /* log(1 - tanh(u)^2) = 2 (log 2 - |u| - log(1 + exp(-2|u|))), stable for large |u|. */
      sum += (double)log_std + 2.0 * (0.6931471805599453 - (double)fabsf(u) - (double)logf(one_plus_t));
      if (save) {
        st[i * A + j] = s;
        ss[i * A + j] = sigma;
        se[i * A + j] = e;
      }
    }
    logp[i] = (float)((double)gauss[i] - sum);
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
      {"sample", NULL, sample, NULL, NULL, NULL, napi_default, NULL},
      {"config", NULL, config, NULL, NULL, NULL, napi_default, NULL},
      {"abi", NULL, abi, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
