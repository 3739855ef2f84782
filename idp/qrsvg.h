/*
 * qrsvg: a QR code (libqrencode) as a small SVG image, for the enrollment
 * page to show the otpauth:// URI that authenticator apps scan.
 *
 * The image is one <path> of dark module runs on a white square with the
 * four-module quiet zone the QR standard asks for, error correction level M,
 * crisp edges at any zoom, nothing but static markup (no script, no
 * external reference), so it can be inlined in a page as it is.
 */
#ifndef IDP_QRSVG_H
#define IDP_QRSVG_H

#include <stddef.h>

struct err;

/*
 * Encode text (up to 1024 bytes) as a QR code drawn at scale pixels per
 * module (1..32; the SVG's width and height, its viewBox counts modules).
 * Returns a NUL-terminated SVG document on the heap, to be released with
 * qrsvg_free() (it encodes a secret when text does), or NULL with err
 * filled.  *len, when not NULL, gets its length.
 */
char *qrsvg_render(const char *text, int scale, size_t *len, struct err *err);

/* Wipe and free an SVG from qrsvg_render(); NULL is fine. */
void qrsvg_free(char *svg);

#endif
