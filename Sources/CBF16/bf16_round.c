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

#if defined(__x86_64__)
// Why by hand: im2col's 4×4 stride-2 kernel splits every input row into its even and odd
// pixels, rounded (the other twelve column blocks are copies of these); written in Swift the
// split went through strided scalar loads and cost 6 % of an rgb64 bf16 training step. Here 32
// floats are rounded as in convert_avx512 and one word permute takes the high halves of the
// even ones and of the odd ones at once, a whole plane a call (its rows are 4–64 floats long).
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void split_avx512(const float *src, long width, long rows,
                                                                              uint16_t *even0, uint16_t *odd0,
                                                                              uint16_t *even1, uint16_t *odd1) {
    const __m512i one = _mm512_set1_epi32(1), half = _mm512_set1_epi32(0x7fff), nan = _mm512_set1_epi32(0x7fc00000);
    // Word j < 16 of the result: the high word of float 2j (even); word 16 + j: of float 2j + 1.
    // Floats 0–15 are in the first vector (words 0–31), 16–31 in the second (words 32–63).
    static const uint16_t index[32] = {1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45, 49, 53, 57, 61,
                                       3, 7, 11, 15, 19, 23, 27, 31, 35, 39, 43, 47, 51, 55, 59, 63};
    const __m512i pick = _mm512_loadu_si512(index);
    const long pairs = width / 2;
    for (long r = 0; r < rows; r++) {
        const float *line = src + r * width;
        uint16_t *even = ((r & 1) ? even1 : even0) + (r >> 1) * pairs, *odd = ((r & 1) ? odd1 : odd0) + (r >> 1) * pairs;
        for (long i = 0; i < pairs; i += 16) {
            const long n = pairs - i;
            const __mmask16 low = n >= 8 ? 0xffff : (__mmask16)((1u << (2 * n)) - 1);
            const __mmask16 high = n >= 16 ? 0xffff : n > 8 ? (__mmask16)((1u << (2 * (n - 8))) - 1) : 0;
            const __m512 v0 = _mm512_maskz_loadu_ps(low, line + 2 * i), v1 = _mm512_maskz_loadu_ps(high, line + 2 * i + 16);
            __m512i x0 = _mm512_castps_si512(v0), x1 = _mm512_castps_si512(v1);
            __m512i r0 = _mm512_add_epi32(x0, _mm512_add_epi32(_mm512_and_si512(_mm512_srli_epi32(x0, 16), one), half));
            __m512i r1 = _mm512_add_epi32(x1, _mm512_add_epi32(_mm512_and_si512(_mm512_srli_epi32(x1, 16), one), half));
            r0 = _mm512_mask_mov_epi32(r0, _mm512_cmp_ps_mask(v0, v0, _CMP_UNORD_Q), nan);
            r1 = _mm512_mask_mov_epi32(r1, _mm512_cmp_ps_mask(v1, v1, _CMP_UNORD_Q), nan);
            const __m512i words = _mm512_permutex2var_epi16(r0, pick, r1);
            const __mmask16 out = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
            _mm256_mask_storeu_epi16(even + i, out, _mm512_castsi512_si256(words));
            _mm256_mask_storeu_epi16(odd + i, out, _mm512_extracti64x4_epi64(words, 1));
        }
    }
}
#endif

void vae_bf16_split_rows(const float *src, long width, long rows, uint16_t *even0, uint16_t *odd0, uint16_t *even1,
                         uint16_t *odd1) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
        split_avx512(src, width, rows, even0, odd0, even1, odd1);
        return;
    }
#endif
    const long pairs = width / 2;
    for (long r = 0; r < rows; r++) {
        uint16_t *even = ((r & 1) ? even1 : even0) + (r >> 1) * pairs, *odd = ((r & 1) ? odd1 : odd0) + (r >> 1) * pairs;
        for (long i = 0; i < pairs; i++) {
            even[i] = vae_bf16_from_float(src[r * width + 2 * i]);
            odd[i] = vae_bf16_from_float(src[r * width + 2 * i + 1]);
        }
    }
}

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
