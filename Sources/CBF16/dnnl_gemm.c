// CBF16: C(f32) = alpha·op(A)·op(B) + beta·C with bf16 A and B, through oneDNN's matmul primitive.
#include "bf16_shim.h"
#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

// Debian's oneDNN threads with OpenMP: the team a call may use is the calling thread's setting.
void omp_set_num_threads(int);

// Creating a primitive costs far more than a small product, so each shape's is made once and
// kept (a model has a few dozen shapes). Primitives may run on several threads at once; each
// thread brings its own stream and scratchpad.
typedef struct entry {
    int transA, transB;
    long m, n, k, lda, ldb, ldc;
    float alpha, beta;
    dnnl_primitive_t primitive;
    dnnl_memory_desc_t a, b, c;
    size_t scratch;
    struct entry *next;
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *entries;
static dnnl_engine_t engine;
static char kernel[128] = "none";

static _Thread_local dnnl_stream_t stream;
static _Thread_local void *scratch;
static _Thread_local size_t scratchSize;
static _Thread_local uint16_t *converted;
static _Thread_local size_t convertedSize;

const char *vae_bf16_gemm_kernel(void) { return kernel; }

static dnnl_status_t create(entry *e) {
    dnnl_status_t s;
    dnnl_dims_t ad = {e->m, e->k}, as = {e->transA ? 1 : e->lda, e->transA ? e->lda : 1};
    dnnl_dims_t bd = {e->k, e->n}, bs = {e->transB ? 1 : e->ldb, e->transB ? e->ldb : 1};
    dnnl_dims_t cd = {e->m, e->n}, cs = {e->ldc, 1};
    if ((s = dnnl_memory_desc_init_by_strides(&e->a, 2, ad, dnnl_bf16, as))) return s;
    if ((s = dnnl_memory_desc_init_by_strides(&e->b, 2, bd, dnnl_bf16, bs))) return s;
    if ((s = dnnl_memory_desc_init_by_strides(&e->c, 2, cd, dnnl_f32, cs))) return s;
    dnnl_matmul_desc_t desc;
    if ((s = dnnl_matmul_desc_init(&desc, &e->a, &e->b, NULL, &e->c))) return s;
    dnnl_primitive_attr_t attr;
    if ((s = dnnl_primitive_attr_create(&attr))) return s;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    if ((s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user))) goto done;
    if (e->alpha != 1 && (s = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &e->alpha))) goto done;
    if (e->beta != 0) {
        if ((s = dnnl_post_ops_create(&ops)) || (s = dnnl_post_ops_append_sum(ops, e->beta)) ||
            (s = dnnl_primitive_attr_set_post_ops(attr, ops))) goto done;
    }
    if ((s = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL))) goto done;
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl) {
        strncpy(kernel, impl, sizeof kernel - 1);
    }
    const dnnl_memory_desc_t *sd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    e->scratch = sd ? dnnl_memory_desc_get_size(sd) : 0;
    s = dnnl_primitive_create(&e->primitive, pd);
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    dnnl_primitive_attr_destroy(attr);
    return s;
}

static entry *find(int transA, int transB, long m, long n, long k, long lda, long ldb, long ldc,
                   float alpha, float beta, dnnl_status_t *status) {
    pthread_mutex_lock(&lock);
    entry *e = entries;
    for (; e; e = e->next) {
        if (e->transA == transA && e->transB == transB && e->m == m && e->n == n && e->k == k && e->lda == lda &&
            e->ldb == ldb && e->ldc == ldc && e->alpha == alpha && e->beta == beta) break;
    }
    if (!e && (engine || (*status = dnnl_engine_create(&engine, dnnl_cpu, 0)) == dnnl_success)) {
        e = calloc(1, sizeof *e);
        if (!e) *status = dnnl_out_of_memory;
        else {
            *e = (entry){transA, transB, m, n, k, lda, ldb, ldc, alpha, beta};
            if ((*status = create(e)) == dnnl_success) { e->next = entries; entries = e; }
            else { free(e); e = NULL; }
        }
    }
    pthread_mutex_unlock(&lock);
    return e;
}

// Grows a per-thread buffer to at least `size` bytes; 0 when memory ran out.
static int reserve(void **buffer, size_t *have, size_t size) {
    if (*have >= size) return 1;
    void *p = aligned_alloc(64, (size + 63) / 64 * 64);
    if (!p) return 0;
    free(*buffer);
    *buffer = p;
    *have = size;
    return 1;
}

int vae_bf16_gemm(int transA, int transB, long m, long n, long k, float alpha, const uint16_t *a, long lda,
                  const uint16_t *b, long ldb, float beta, float *c, long ldc, int threads) {
    if (m <= 0 || n <= 0) return 0;
    if (k <= 0) {
        // An empty sum: C = beta·C, as sgemm does (oneDNN refuses a zero dimension).
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return 0;
    }
    dnnl_status_t s = dnnl_success;
    entry *e = find(transA, transB, m, n, k, lda, ldb, ldc, alpha, beta, &s);
    if (!e) return s ? (int)s : -1;
    if (!stream && (s = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags))) return (int)s;
    if (!reserve(&scratch, &scratchSize, e->scratch ? e->scratch : 1)) return (int)dnnl_out_of_memory;
    omp_set_num_threads(threads > 0 ? threads : 1);
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL, ms = NULL;
    dnnl_memory_desc_t sd;
    dnnl_dims_t sdims = {(dnnl_dim_t)e->scratch};
    if (!(s = dnnl_memory_create(&ma, &e->a, engine, (void *)a)) &&
        !(s = dnnl_memory_create(&mb, &e->b, engine, (void *)b)) &&
        !(s = dnnl_memory_create(&mc, &e->c, engine, c)) &&
        !(s = dnnl_memory_desc_init_by_tag(&sd, 1, sdims, dnnl_u8, dnnl_a)) &&
        !(s = dnnl_memory_create(&ms, &sd, engine, scratch))) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc},
                                   {DNNL_ARG_SCRATCHPAD, ms}};
        if (!(s = dnnl_primitive_execute(e->primitive, stream, 4, args))) s = dnnl_stream_wait(stream);
    }
    dnnl_memory_destroy(ma);
    dnnl_memory_destroy(mb);
    dnnl_memory_destroy(mc);
    dnnl_memory_destroy(ms);
    return (int)s;
}

int vae_bf16_gemm_mixed(int transA, int transB, long m, long n, long k, float alpha,
                        const float *af, const uint16_t *ah, long lda, const float *bf, const uint16_t *bh, long ldb,
                        float beta, float *c, long ldc, int threads) {
    if (m <= 0 || n <= 0 || k <= 0) return vae_bf16_gemm(transA, transB, m, n, k, alpha, NULL, 1, NULL, 1, beta, c, ldc, threads);
    // op(A) is m×k: stored as m rows of k (or k rows of m when transposed), rows lda apart.
    // A rounded operand is made compact, so its leading dimension becomes its row length.
    const long aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
    const size_t aNeed = af ? ((size_t)aRows * aCols + 31) / 32 * 32 : 0, bNeed = bf ? (size_t)bRows * bCols : 0;
    if (aNeed + bNeed && !reserve((void **)&converted, &convertedSize, (aNeed + bNeed) * 2)) return (int)dnnl_out_of_memory;
    if (af) {
        vae_bf16_convert(af, lda, aRows, aCols, converted);
        ah = converted;
        lda = aCols;
    }
    if (bf) {
        vae_bf16_convert(bf, ldb, bRows, bCols, converted + aNeed);
        bh = converted + aNeed;
        ldb = bCols;
    }
    return vae_bf16_gemm(transA, transB, m, n, k, alpha, ah, lda, bh, ldb, beta, c, ldc, threads);
}

int vae_bf16_gemm_f32(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                      const float *b, long ldb, float beta, float *c, long ldc, int threads) {
    return vae_bf16_gemm_mixed(transA, transB, m, n, k, alpha, a, NULL, lda, b, NULL, ldb, beta, c, ldc, threads);
}

int vae_bf16_gemm_available(void) { return 1; }
#else
// Built without oneDNN (no libdnnl-dev, or not Linux): every bf16 product is refused.
int vae_bf16_gemm(int transA, int transB, long m, long n, long k, float alpha, const uint16_t *a, long lda,
                  const uint16_t *b, long ldb, float beta, float *c, long ldc, int threads) { return -1; }
int vae_bf16_gemm_f32(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                      const float *b, long ldb, float beta, float *c, long ldc, int threads) { return -1; }
int vae_bf16_gemm_mixed(int transA, int transB, long m, long n, long k, float alpha,
                        const float *af, const uint16_t *ah, long lda, const float *bf, const uint16_t *bh, long ldb,
                        float beta, float *c, long ldc, int threads) { return -1; }
const char *vae_bf16_gemm_kernel(void) { return "none"; }
int vae_bf16_gemm_available(void) { return 0; }
#endif
