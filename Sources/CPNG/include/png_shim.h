// CPNG: a small C shim over libpng's simplified API that reports errors as return codes.
#ifndef VAE_PNG_SHIM_H
#define VAE_PNG_SHIM_H
#include <stddef.h>
#include <stdint.h>

/// Decodes a PNG held in memory to 8-bit samples in the file's own channel layout
/// (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; palettes expanded, 16-bit reduced as sRGB).
/// Refuses images of more than `max_pixels` before any pixel memory is allocated.
/// On success returns 0 and a malloc'd buffer in *pixels (free with vae_png_free);
/// on failure returns nonzero and a message in `err`.
int vae_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                   uint8_t **pixels, uint32_t *width, uint32_t *height, int *channels,
                   char *err, size_t err_size);

/// Encodes 8-bit gray (channels 1) or RGB (channels 3) rows to a PNG in memory.
/// Returns 0 and a malloc'd buffer in *png (free with vae_png_free), or nonzero with `err`.
int vae_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                   uint8_t **png, size_t *png_size, char *err, size_t err_size);

void vae_png_free(void *p);
#endif
