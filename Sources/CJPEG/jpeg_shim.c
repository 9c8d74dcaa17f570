// CJPEG: libjpeg decoding with setjmp/longjmp error recovery, warnings as errors, CMYK to RGB.
#include "jpeg_shim.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

// A hostile progressive file can hold thousands of tiny scans and take minutes to decode.
#define VAE_JPEG_MAX_SCANS 1000

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int failed_warning;
} shim_error;

static void on_error(j_common_ptr cinfo) {
    shim_error *e = (shim_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

// Level -1 is a warning about the data ("Premature end of JPEG file", "Corrupt JPEG data"):
// the picture would come out partly grey, so it is an error for training data.
static void on_message(j_common_ptr cinfo, int level) {
    shim_error *e = (shim_error *)cinfo->err;
    if (level < 0) {
        (*cinfo->err->format_message)(cinfo, e->message);
        e->failed_warning = 1;
        longjmp(e->jump, 1);
    }
}

static void silent(j_common_ptr cinfo) { (void)cinfo; }

static void on_progress(j_common_ptr cinfo) {
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > VAE_JPEG_MAX_SCANS) {
        shim_error *e = (shim_error *)cinfo->err;
        snprintf(e->message, sizeof e->message, "more than %d progressive scans", VAE_JPEG_MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

int vae_jpeg_decode(const uint8_t *data, size_t size, uint64_t max_pixels, uint32_t min_side,
                    uint8_t **pixels, uint32_t *width, uint32_t *height, int *channels,
                    vae_jpeg_info *info, char *err, size_t err_size) {
    struct jpeg_decompress_struct cinfo;
    shim_error jerr;
    struct jpeg_progress_mgr progress;
    // Locals modified after setjmp must be volatile to survive the longjmp.
    uint8_t *volatile buf = NULL;
    uint8_t *volatile row = NULL;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&jerr, 0, sizeof jerr);
    *pixels = NULL;

    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = on_error;
    jerr.pub.emit_message = on_message;
    jerr.pub.output_message = silent;
    if (setjmp(jerr.jump)) {
        snprintf(err, err_size, "%s", jerr.message[0] ? jerr.message : "corrupt JPEG data");
        jpeg_destroy_decompress(&cinfo);
        free(buf);
        free(row);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    progress.progress_monitor = on_progress;
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    uint64_t count = (uint64_t)cinfo.image_width * (uint64_t)cinfo.image_height;
    if (cinfo.image_width == 0 || cinfo.image_height == 0) {
        snprintf(err, err_size, "zero width or height");
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    if (count > max_pixels) {
        snprintf(err, err_size, "%ux%u is %llu pixels, over the limit of %llu",
                 cinfo.image_width, cinfo.image_height, (unsigned long long)count,
                 (unsigned long long)max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    info->components = cinfo.num_components;
    info->progressive = cinfo.progressive_mode ? 1 : 0;
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    info->cmyk = cmyk;
    if (cinfo.jpeg_color_space == JCS_GRAYSCALE) cinfo.out_color_space = JCS_GRAYSCALE;
    else if (cmyk) cinfo.out_color_space = JCS_CMYK;
    else cinfo.out_color_space = JCS_RGB;

    info->stored_width = cinfo.image_width;
    info->stored_height = cinfo.image_height;
    info->scale_denom = 1;
    if (min_side > 0) {
        uint32_t shorter = cinfo.image_width < cinfo.image_height ? cinfo.image_width : cinfo.image_height;
        unsigned d = 8;
        while (d > 1 && shorter / d < min_side) d /= 2;
        cinfo.scale_num = 1;
        cinfo.scale_denom = d;
        info->scale_denom = (int)d;
    }
    jpeg_start_decompress(&cinfo);
    int in_ch = cinfo.output_components;
    int out_ch = in_ch == 1 ? 1 : 3;
    uint32_t w = cinfo.output_width, h = cinfo.output_height;
    buf = malloc((size_t)w * h * (size_t)out_ch);
    row = malloc((size_t)w * (size_t)in_ch);
    if (!buf || !row) {
        snprintf(jerr.message, sizeof jerr.message, "out of memory");
        longjmp(jerr.jump, 1);
    }
    // Adobe writes CMYK inverted (0 = full ink); others write it straight.
    int inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < h) {
        uint32_t y = cinfo.output_scanline;
        JSAMPROW rows[1] = { in_ch == 4 ? row : buf + (size_t)y * w * out_ch };
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) {
            snprintf(jerr.message, sizeof jerr.message, "premature end of JPEG data");
            longjmp(jerr.jump, 1);
        }
        if (in_ch == 4) {
            uint8_t *dst = buf + (size_t)y * w * 3;
            for (uint32_t x = 0; x < w; x++) {
                unsigned c = row[4 * x], m = row[4 * x + 1], yy = row[4 * x + 2], k = row[4 * x + 3];
                if (!inverted) { c = 255 - c; m = 255 - m; yy = 255 - yy; k = 255 - k; }
                dst[3 * x] = (uint8_t)((c * k + 127) / 255);
                dst[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
                dst[3 * x + 2] = (uint8_t)((yy * k + 127) / 255);
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *pixels = buf;
    *width = w;
    *height = h;
    *channels = out_ch;
    return 0;
}

void vae_jpeg_free(void *p) { free(p); }
