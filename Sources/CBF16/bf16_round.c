// CBF16: f32 → bf16 rounding (round to nearest even), scalar and AVX-512.
#include "bf16_shim.h"
#include <string.h>

uint16_t vae_bf16_from_float(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;
    // Adding 0x7fff plus the lowest kept bit carries into the kept bits exactly when the dropped
    // half is above one half, or equal to it with an odd kept part: ties go to even.
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

float vae_float_from_bf16(uint16_t h) {
    uint32_t x = (uint32_t)h << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}

#if defined(__x86_64__)
#include <immintrin.h>

// The same rounding 16 at a time, without VCVTNEPS2BF16, which flushes denormals to zero and
// would then disagree with the scalar function on them.
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void convert_avx512(const float *src, uint16_t *dst, long count) {
    const __m512i one = _mm512_set1_epi32(1), half = _mm512_set1_epi32(0x7fff), nan = _mm512_set1_epi32(0x7fc00000);
    for (long i = 0; i < count; i += 16) {
        __mmask16 mask = count - i >= 16 ? 0xffff : (__mmask16)((1u << (count - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(mask, src + i);
        __m512i x = _mm512_castps_si512(v);
        __m512i r = _mm512_add_epi32(x, _mm512_add_epi32(_mm512_and_si512(_mm512_srli_epi32(x, 16), one), half));
        r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), nan);
        _mm256_mask_storeu_epi16(dst + i, mask, _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16)));
    }
}
#endif

void vae_bf16_convert(const float *src, long ld, long rows, long cols, uint16_t *dst) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
        if (ld == cols) convert_avx512(src, dst, rows * cols);
        else for (long r = 0; r < rows; r++) convert_avx512(src + r * ld, dst + r * cols, cols);
        return;
    }
#endif
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < cols; c++) dst[r * cols + c] = vae_bf16_from_float(src[r * ld + c]);
}

#include <stdlib.h>

static _Thread_local uint16_t *buffers[VAE_BF16_BUFFERS];
static _Thread_local long bufferSizes[VAE_BF16_BUFFERS];

uint16_t *vae_bf16_buffer(int slot, long count) {
    if (slot < 0 || slot >= VAE_BF16_BUFFERS) return NULL;
    if (bufferSizes[slot] < count) {
        // 64-byte aligned, as oneDNN likes its operands; grown by half again to avoid regrowing often.
        long size = count + count / 2;
        uint16_t *p = aligned_alloc(64, ((size_t)size * 2 + 63) / 64 * 64);
        if (!p) return NULL;
        free(buffers[slot]);
        buffers[slot] = p;
        bufferSizes[slot] = size;
    }
    return buffers[slot];
}
