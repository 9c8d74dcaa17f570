// CGIF: animated GIF writing over giflib (see include/gif_shim.h).
#include "gif_shim.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { uint8_t *data; size_t size, capacity; int failed; } Sink;

static int sink_write(GifFileType *gif, const GifByteType *bytes, int count) {
    Sink *s = gif->UserData;
    if (s->size + (size_t)count > s->capacity) {
        size_t capacity = s->capacity ? s->capacity * 2 : 65536;
        while (capacity < s->size + (size_t)count) capacity *= 2;
        uint8_t *grown = realloc(s->data, capacity);
        if (!grown) { s->failed = 1; return 0; }
        s->data = grown;
        s->capacity = capacity;
    }
    memcpy(s->data + s->size, bytes, (size_t)count);
    s->size += (size_t)count;
    return count;
}

static int fail(char *err, size_t err_size, const char *what, int code) {
    snprintf(err, err_size, "%s (%s)", what, code ? GifErrorString(code) : "out of memory");
    return 1;
}

int vae_gif_encode(const uint8_t *rgb, uint32_t width, uint32_t height, uint32_t frames, uint16_t delay_cs,
                   uint8_t **gif_out, size_t *gif_size, char *err, size_t err_size) {
    *gif_out = NULL;
    *gif_size = 0;
    if (width == 0 || height == 0 || frames == 0 || width > 65535 || height > 65535) {
        snprintf(err, err_size, "a GIF needs 1 to 65535 pixels a side and at least one frame");
        return 1;
    }
    size_t pixels = (size_t)width * height * frames;
    if (pixels / frames / width != height || (size_t)height * frames > 0xFFFFFFFFu) {
        snprintf(err, err_size, "too many pixels for one GIF");
        return 1;
    }
    // Median cut over every frame at once: the frames stacked as one tall image.
    GifByteType *planes = malloc(pixels * 4);
    GifColorType colours[256];
    memset(colours, 0, sizeof colours);
    if (!planes) return fail(err, err_size, "cannot quantise the frames", 0);
    GifByteType *r = planes, *g = planes + pixels, *b = planes + 2 * pixels, *indices = planes + 3 * pixels;
    for (size_t i = 0; i < pixels; i++) { r[i] = rgb[3 * i]; g[i] = rgb[3 * i + 1]; b[i] = rgb[3 * i + 2]; }
    int colourCount = 256;
    if (GifQuantizeBuffer(width, (unsigned)(height * frames), &colourCount, r, g, b, indices, colours) != GIF_OK) {
        free(planes);
        return fail(err, err_size, "cannot quantise the frames", 0);
    }
    Sink sink = {0};
    int code = 0;
    GifFileType *gif = EGifOpen(&sink, sink_write, &code);
    if (!gif) { free(planes); return fail(err, err_size, "cannot start the GIF", code); }
    EGifSetGifVersion(gif, true);
    ColorMapObject *map = GifMakeMapObject(256, colours);
    // The loop extension: application "NETSCAPE2.0", sub-block 1 with a loop count of 0 (forever).
    static const GifByteType loop[3] = {1, 0, 0};
    int ok = map && EGifPutScreenDesc(gif, (int)width, (int)height, 8, 0, map) == GIF_OK
        && EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) == GIF_OK
        && EGifPutExtensionBlock(gif, 11, "NETSCAPE2.0") == GIF_OK
        && EGifPutExtensionBlock(gif, 3, loop) == GIF_OK
        && EGifPutExtensionTrailer(gif) == GIF_OK;
    for (uint32_t f = 0; ok && f < frames; f++) {
        GraphicsControlBlock gcb = {.DisposalMode = DISPOSE_DO_NOT, .UserInputFlag = false,
                                    .DelayTime = delay_cs, .TransparentColor = NO_TRANSPARENT_COLOR};
        GifByteType extension[4];
        size_t length = EGifGCBToExtension(&gcb, extension);
        ok = EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, (int)length, extension) == GIF_OK
            && EGifPutImageDesc(gif, 0, 0, (int)width, (int)height, false, NULL) == GIF_OK;
        for (uint32_t y = 0; ok && y < height; y++) {
            ok = EGifPutLine(gif, indices + ((size_t)f * height + y) * width, (int)width) == GIF_OK;
        }
    }
    if (!ok) code = gif->Error;
    GifFreeMapObject(map);
    free(planes);
    int closeCode = 0;
    if (EGifCloseFile(gif, &closeCode) != GIF_OK && ok) { ok = 0; code = closeCode; }
    if (!ok || sink.failed) {
        free(sink.data);
        return fail(err, err_size, "cannot write the GIF", sink.failed ? 0 : code);
    }
    *gif_out = sink.data;
    *gif_size = sink.size;
    return 0;
}

void vae_gif_free(void *p) { free(p); }
