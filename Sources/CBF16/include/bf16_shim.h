// CBF16: bf16 rounding, the CPU's bf16 support, and oneDNN's bf16 matmul (f32 sums), for VAECore.
#ifndef VAE_BF16_SHIM_H
#define VAE_BF16_SHIM_H
#include <stdint.h>

/// f32 → bf16, round to nearest, ties to even; any NaN becomes the quiet NaN 0x7fc0 (as PyTorch).
/// Denormals are rounded like every other number (not flushed).
uint16_t vae_bf16_from_float(float f);
float vae_float_from_bf16(uint16_t h);

/// dst[r·cols + c] = bf16(src[r·ld + c]) for r < rows, c < cols: a strided matrix made compact.
void vae_bf16_convert(const float *src, long ld, long rows, long cols, uint16_t *dst);
// A plane's rows (`width` floats, even) split into even and odd pixels, rounded as vae_bf16_convert:
// row r's pixel 2i goes to even0 (r even) or even1 (r odd) at (r / 2)·width/2 + i, pixel 2i + 1 likewise to odd0/odd1.
void vae_bf16_split_rows(const float *src, long width, long rows, uint16_t *even0, uint16_t *odd0, uint16_t *even1,
                         uint16_t *odd1);

/// Bits of vae_cpu_features().
enum {
    VAE_CPU_AVX512F = 1 << 0, VAE_CPU_AVX512BW = 1 << 1, VAE_CPU_AVX512VL = 1 << 2, VAE_CPU_AVX512DQ = 1 << 3,
    VAE_CPU_AVX512_BF16 = 1 << 4, VAE_CPU_AMX_BF16 = 1 << 5, VAE_CPU_AMX_TILE = 1 << 6,
    VAE_OS_ZMM = 1 << 7,   // XCR0 enables the opmask and the 512-bit registers' state
    VAE_OS_AMX = 1 << 8,   // XCR0 enables the tile configuration and tile data state
    VAE_CPU_X86 = 1 << 9,
};
/// What cpuid and xgetbv say of this CPU and OS (0 off x86).
int vae_cpu_features(void);

/// C[m×n] = alpha·op(A)·op(B) + beta·C, row-major, through oneDNN's matmul with bf16 inputs and
/// f32 output; `lda`, `ldb`, `ldc` as in cblas_sgemm; beta 0 never reads C. `threads` is the
/// OpenMP team oneDNN may use from the calling thread (1 inside shards). Returns 0, or a
/// oneDNN status (nonzero) when the product could not be set up.
int vae_bf16_gemm(int transA, int transB, long m, long n, long k, float alpha, const uint16_t *a, long lda,
                  const uint16_t *b, long ldb, float beta, float *c, long ldc, int threads);

/// The same with f32 A and B, rounded to bf16 into per-thread scratch first.
int vae_bf16_gemm_f32(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                      const float *b, long ldb, float beta, float *c, long ldc, int threads);

/// The same with each of A and B given either in f32 (`af`, `bf`: rounded into per-thread scratch
/// first) or already in bf16 (`ah`, `bh`); exactly one of each pair is non-NULL. Lets a layer
/// round an operand once (im2col's columns, dY) and use it in several products.
int vae_bf16_gemm_mixed(int transA, int transB, long m, long n, long k, float alpha,
                        const float *af, const uint16_t *ah, long lda, const float *bf, const uint16_t *bh, long ldb,
                        float beta, float *c, long ldc, int threads);

/// A per-thread buffer of at least `count` bf16 values in one of VAE_BF16_BUFFERS slots, kept
/// and grown across calls (NULL when memory ran out). The GEMMs above never use these slots.
enum { VAE_BF16_BUFFERS = 4 };
uint16_t *vae_bf16_buffer(int slot, long count);

/// 1 when this build has oneDNN (Linux with libdnnl-dev), 0 when every bf16 product is refused.
int vae_bf16_gemm_available(void);

/// oneDNN's name for the kernel it picked for the last product set up ("brg:avx512_core_bf16"...).
const char *vae_bf16_gemm_kernel(void);

#endif
