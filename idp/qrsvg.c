/*
 * qrsvg: libqrencode's module matrix drawn as SVG (see qrsvg.h).
 *
 * Each row's runs of dark modules become "M x y h n v 1 h -n z": a
 * 33-module code of a typical key URI is about 4 KB, where one <rect> per
 * module would be ten times that.
 */
#include "qrsvg.h"

#include "err.h"
#include "secret.h"

#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QRSVG_QUIET    4
#define QRSVG_TEXT_MAX 1024

struct qrsvg_buf {
	char *p;
	size_t len, cap;
	int failed;
};

/* Append s to the buffer, growing it as needed. */
static void qrsvg_put(struct qrsvg_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap * 2 + n;
		char *bigger = malloc(cap);

		if (bigger == NULL) {
			b->failed = 1;
			return;
		}
		memcpy(bigger, b->p, b->len);
		secret_wipe(b->p, b->cap);
		free(b->p);
		b->p = bigger;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

char *qrsvg_render(const char *text, int scale, size_t *len, struct err *err)
{
	struct qrsvg_buf b = {NULL, 0, 8192, 0};
	char piece[512];
	QRcode *qr;
	int w, total;

	if (text == NULL || strnlen(text, QRSVG_TEXT_MAX + 1) > QRSVG_TEXT_MAX) {
		err_set(err, ERR_INVALID, "QR text missing or longer than %d bytes",
		        QRSVG_TEXT_MAX);
		return NULL;
	}
	if (scale < 1 || scale > 32) {
		err_set(err, ERR_INVALID, "QR scale must be 1..32");
		return NULL;
	}
	if ((qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M)) == NULL) {
		err_set(err, ERR_INTERNAL, "libqrencode could not encode the text");
		return NULL;
	}
	if ((b.p = malloc(b.cap)) == NULL) {
		QRcode_free(qr);
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	w = qr->width;
	total = w + 2 * QRSVG_QUIET;
	snprintf(piece, sizeof(piece),
	         "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
	         "height=\"%d\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\" "
	         "role=\"img\" aria-label=\"QR code\"><rect width=\"%d\" height=\"%d\" "
	         "fill=\"#ffffff\"/><path fill=\"#000000\" d=\"",
	         total * scale, total * scale, total, total, total, total);
	qrsvg_put(&b, piece);
	for (int y = 0; y < w; y++) {
		for (int x = 0; x < w;) {
			int run = 0;

			while (x + run < w && (qr->data[y * w + x + run] & 1))
				run++;
			if (run == 0) {
				x++;
				continue;
			}
			snprintf(piece, sizeof(piece), "M%d %dh%dv1h-%dz", x + QRSVG_QUIET,
			         y + QRSVG_QUIET, run, run);
			qrsvg_put(&b, piece);
			x += run;
		}
	}
	qrsvg_put(&b, "\"/></svg>\n");
	secret_wipe(qr->data, (size_t)w * (size_t)w);
	QRcode_free(qr);
	if (b.failed) {
		qrsvg_free(b.p);
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	if (len != NULL)
		*len = b.len;
	return b.p;
}

void qrsvg_free(char *svg)
{
	if (svg == NULL)
		return;
	secret_wipe(svg, strlen(svg));
	free(svg);
}
