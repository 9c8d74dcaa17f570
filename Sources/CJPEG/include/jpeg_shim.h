// CJPEG: a C shim over libjpeg that turns its exit()-on-error into return codes.
#ifndef VAE_JPEG_SHIM_H
#define VAE_JPEG_SHIM_H
#include <stddef.h>
#include <stdint.h>

/// What the JPEG header says, for `vae inspect`.
typedef struct {
    int components;     // 1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK
    int progressive;    // 1 when progressive
    int cmyk;           // 1 when CMYK or YCCK (converted to RGB)
    int scale_denom;    // 1, 2, 4 or 8: the decoded image is the stored one divided by this
    uint32_t stored_width, stored_height;
} vae_jpeg_info;

/// Decodes a JPEG held in memory to 8-bit gray (channels 1) or RGB (channels 3).
/// CMYK/YCCK is converted to RGB (Adobe's inverted CMYK honoured). Any warning
/// libjpeg raises (truncated or corrupt data) is an error here. Images of more than
/// `max_pixels` are refused before pixel memory is allocated. Returns 0 and a malloc'd
/// buffer (free with vae_jpeg_free), or nonzero and a message in `err`.
/// With `min_side` > 0, libjpeg's DCT scaling decodes at 1/2, 1/4 or 1/8 size (the smallest whose
/// shorter side is still at least `min_side`): a 12-megapixel photo meant for 64×64 training costs
/// a fraction of a full decode. `info->scale_denom` says which.
int vae_jpeg_decode(const uint8_t *data, size_t size, uint64_t max_pixels, uint32_t min_side,
                    uint8_t **pixels, uint32_t *width, uint32_t *height, int *channels,
                    vae_jpeg_info *info, char *err, size_t err_size);

void vae_jpeg_free(void *p);
#endif
