// CGIF: a small C shim over giflib that writes a looping animated GIF in memory, one palette for all frames.
#ifndef VAE_GIF_SHIM_H
#define VAE_GIF_SHIM_H
#include <stddef.h>
#include <stdint.h>
#include <gif_lib.h>

/// Encodes `frames` RGB frames (8-bit, interleaved, width × height each, back to back) as a GIF89a
/// that loops forever (NETSCAPE2.0), each frame shown for `delay_cs` hundredths of a second.
/// One palette of at most 256 colours is chosen for all frames by giflib's median cut
/// (GifQuantizeBuffer) over every frame's pixels. Returns 0 and a malloc'd buffer in *gif (free
/// with vae_gif_free), or nonzero with a message in `err`.
int vae_gif_encode(const uint8_t *rgb, uint32_t width, uint32_t height, uint32_t frames, uint16_t delay_cs,
                   uint8_t **gif, size_t *gif_size, char *err, size_t err_size);

void vae_gif_free(void *p);
#endif
