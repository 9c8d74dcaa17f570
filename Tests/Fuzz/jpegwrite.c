// jpegwrite: writes a small patterned JPEG for the fuzz seed corpus (libjpeg; no Pillow or cjpeg needed).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

// usage: jpegwrite OUT WIDTH HEIGHT COMPONENTS(1|3|4) [progressive] [orientation=N] [h2v2]
int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: jpegwrite OUT W H COMPONENTS [progressive] [orientation=N] [h2v2]\n"); return 2; }
    int w = atoi(argv[2]), h = atoi(argv[3]), comps = atoi(argv[4]);
    int progressive = 0, orientation = 0, h2v2 = 0;
    for (int i = 5; i < argc; i++) {
        if (!strcmp(argv[i], "progressive")) progressive = 1;
        else if (!strncmp(argv[i], "orientation=", 12)) orientation = atoi(argv[i] + 12);
        else if (!strcmp(argv[i], "h2v2")) h2v2 = 1;
    }
    FILE *f = fopen(argv[1], "wb");
    if (!f) { perror(argv[1]); return 1; }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = comps == 1 ? JCS_GRAYSCALE : comps == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 85, TRUE);
    if (comps == 3 && !h2v2) c.comp_info[0].h_samp_factor = c.comp_info[0].v_samp_factor = 1;
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    if (orientation) {
        // Exif\0\0 + little-endian TIFF header + one IFD entry: tag 0x0112 (orientation), SHORT, 1 value.
        unsigned char exif[] = { 'E','x','i','f',0,0, 'I','I',42,0, 8,0,0,0, 1,0,
                                 0x12,0x01, 3,0, 1,0,0,0, (unsigned char)orientation,0,0,0, 0,0,0,0 };
        jpeg_write_marker(&c, JPEG_APP0 + 1, exif, sizeof exif);
    }
    JSAMPLE *row = malloc((size_t)w * comps);
    while (c.next_scanline < c.image_height) {
        int y = (int)c.next_scanline;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < comps; k++) row[x * comps + k] = (JSAMPLE)((x * 31 + y * 17 + k * 59) & 0xFF);
        JSAMPROW rows[1] = { row };
        jpeg_write_scanlines(&c, rows, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    fclose(f);
    return 0;
}
