// CBF16: the CPU's and the OS's bf16 support, from cpuid and xgetbv.
#include "bf16_shim.h"
#if defined(__x86_64__)
#include <cpuid.h>

int vae_cpu_features(void) {
    unsigned a, b, c, d;
    int f = VAE_CPU_X86;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    // xgetbv is only there when the OS has turned on XSAVE (CPUID.1:ECX.OSXSAVE, bit 27).
    if (c & (1u << 27)) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        // XCR0 bits 1, 2 (SSE, AVX), 5–7 (opmask, upper halves of zmm0–15, zmm16–31); 17, 18 (tiles).
        if ((lo & 0xe6u) == 0xe6u) f |= VAE_OS_ZMM;
        if ((lo & (3u << 17)) == (3u << 17)) f |= VAE_OS_AMX;
    }
    if (__get_cpuid_max(0, 0) < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned subleaves = a;
    if (b & (1u << 16)) f |= VAE_CPU_AVX512F;
    if (b & (1u << 17)) f |= VAE_CPU_AVX512DQ;
    if (b & (1u << 30)) f |= VAE_CPU_AVX512BW;
    if (b & (1u << 31)) f |= VAE_CPU_AVX512VL;
    if (d & (1u << 22)) f |= VAE_CPU_AMX_BF16;
    if (d & (1u << 24)) f |= VAE_CPU_AMX_TILE;
    if (subleaves >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        if (a & (1u << 5)) f |= VAE_CPU_AVX512_BF16;
    }
    return f;
}
#else
int vae_cpu_features(void) { return 0; }
#endif
