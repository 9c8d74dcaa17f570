// CPNG: libpng simplified-API decode/encode with errors turned into return codes.
#include "png_shim.h"
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_err(char *err, size_t n, const char *msg) {
    if (err && n) snprintf(err, n, "%s", msg);
}

// libpng allocates a chunk's declared length before reading its data: a 46-byte file declaring a
// 2 GB tEXt chunk made it take 2 GB of memory (found by fuzzing). The whole file is in memory here,
// so a chunk claiming more bytes than the file has left is refused before libpng sees it.
static int check_chunk_lengths(const uint8_t *data, size_t size, char *err, size_t err_size) {
    size_t offset = 8;
    while (offset + 8 <= size) {
        const uint8_t *p = data + offset;
        uint32_t length = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        size_t left = size - offset - 8;
        if (length > left) {
            char name[5];
            for (int i = 0; i < 4; i++) name[i] = (p[4 + i] >= 0x20 && p[4 + i] < 0x7F) ? (char)p[4 + i] : '?';
            name[4] = 0;
            char msg[160];
            snprintf(msg, sizeof msg, "chunk '%s' declares %u bytes, more than the %zu left in the file",
                     name, length, left);
            set_err(err, err_size, msg);
            return 1;
        }
        if (memcmp(p + 4, "IEND", 4) == 0) break;
        offset += 12 + (size_t)length;
    }
    return 0;
}

int vae_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                   uint8_t **pixels, uint32_t *width, uint32_t *height, int *channels,
                   char *err, size_t err_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    *pixels = NULL;
    if (check_chunk_lengths(data, size, err, err_size)) return 1;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        set_err(err, err_size, image.message[0] ? image.message : "unreadable PNG header");
        png_image_free(&image);
        return 1;
    }
    if (image.width == 0 || image.height == 0) {
        set_err(err, err_size, "zero width or height");
        png_image_free(&image);
        return 1;
    }
    uint64_t count = (uint64_t)image.width * (uint64_t)image.height;
    if (count > max_pixels) {
        char msg[160];
        snprintf(msg, sizeof msg, "%ux%u is %llu pixels, over the limit of %llu",
                 image.width, image.height, (unsigned long long)count,
                 (unsigned long long)max_pixels);
        set_err(err, err_size, msg);
        png_image_free(&image);
        return 1;
    }
    // Keep only colour and alpha: 8-bit output, palettes expanded, 16-bit data taken as sRGB.
    image.format &= (PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA);
    image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
    int ch = 1 + ((image.format & PNG_FORMAT_FLAG_COLOR) ? 2 : 0)
               + ((image.format & PNG_FORMAT_FLAG_ALPHA) ? 1 : 0);
    size_t bytes = (size_t)count * (size_t)ch;
    uint8_t *buf = malloc(bytes);
    if (!buf) {
        set_err(err, err_size, "out of memory");
        png_image_free(&image);
        return 1;
    }
    if (!png_image_finish_read(&image, NULL, buf, (png_int_32)(image.width * ch), NULL)) {
        set_err(err, err_size, image.message[0] ? image.message : "corrupt PNG data");
        free(buf);
        png_image_free(&image);
        return 1;
    }
    png_image_free(&image);
    *pixels = buf;
    *width = image.width;
    *height = image.height;
    *channels = ch;
    return 0;
}

int vae_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                   uint8_t **png, size_t *png_size, char *err, size_t err_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    if (channels == 1) image.format = PNG_FORMAT_GRAY;
    else if (channels == 3) image.format = PNG_FORMAT_RGB;
    else { set_err(err, err_size, "PNG encoder takes 1 or 3 channels"); return 1; }
    png_int_32 stride = (png_int_32)(width * (uint32_t)channels);
    /* Encode once, into a buffer of libpng's upper bound for any compression outcome
       (asking for the size first would compress the image twice). */
    png_alloc_size_t n = PNG_IMAGE_PNG_SIZE_MAX(image);
    uint8_t *buf = malloc(n);
    if (!buf) { set_err(err, err_size, "out of memory"); return 1; }
    if (!png_image_write_to_memory(&image, buf, &n, 0, pixels, stride, NULL)) {
        set_err(err, err_size, image.message[0] ? image.message : "PNG encoding failed");
        free(buf);
        png_image_free(&image);
        return 1;
    }
    *png = buf;
    *png_size = n;
    return 0;
}

void vae_png_free(void *p) { free(p); }
