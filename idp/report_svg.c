/*
 * report_svg: the dashboard's charts as inline SVG, drawn by the server.
 *
 * No script and no style attribute (the page's CSP allows neither): shapes
 * carry presentation attributes, every label and tooltip (<title>) is
 * escaped, and every number is formatted here, so the page needs nothing
 * but itself.  Scales round up to 1, 2 or 5 times a power of ten.
 */
#include "report.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define SVG_W      760
#define SVG_H      260
#define SVG_LEFT   52
#define SVG_RIGHT  12
#define SVG_TOP    34
#define SVG_BOTTOM 34

/* The smallest 1, 2 or 5 x 10^k at or above v (at least 1). */
static int64_t svg_nice(int64_t v)
{
	int64_t p = 1;

	if (v <= 1)
		return 1;
	for (;;) {
		if (v <= p)
			return p;
		if (v <= 2 * p)
			return 2 * p;
		if (v <= 5 * p)
			return 5 * p;
		p *= 10;
	}
}

static void svg_time(int64_t t, int64_t step, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, cap, step >= 86400 ? "%m-%d" : "%H:%M", &tm);
}

void report_svg_columns(struct buf *b, const struct report_columns *c)
{
	double plot_w = SVG_W - SVG_LEFT - SVG_RIGHT, plot_h = SVG_H - SVG_TOP - SVG_BOTTOM;
	int64_t max = 0, top;
	double bw;
	int label_every;

	for (int i = 0; i < c->n; i++) {
		int64_t sum = 0;
		for (int s = 0; s < c->nseries; s++)
			sum += c->v[i][s];
		if (sum > max)
			max = sum;
	}
	top = svg_nice(max);
	bw = c->n > 0 ? plot_w / c->n : plot_w;
	label_every = c->n > 12 ? (c->n + 11) / 12 : 1;
	buf_printf(b,
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	           "role=\"img\" class=\"chart\" font-family=\"system-ui,sans-serif\" "
	           "font-size=\"11\"><title>",
	           SVG_W, SVG_H);
	buf_html(b, c->title);
	buf_puts(b, "</title>");
	/* legend */
	for (int s = 0, x = SVG_LEFT; s < c->nseries; s++) {
		buf_printf(b, "<rect x=\"%d\" y=\"8\" width=\"10\" height=\"10\" fill=\"%s\"/>", x,
		           c->colors[s]);
		buf_printf(b, "<text x=\"%d\" y=\"17\" fill=\"currentColor\">", x + 14);
		buf_html(b, c->series[s]);
		buf_puts(b, "</text>");
		x += 24 + 7 * (int)strlen(c->series[s]);
	}
	/* y grid: 0, half, top */
	for (int k = 0; k <= 2; k++) {
		double y = SVG_TOP + plot_h - plot_h * k / 2.0;
		buf_printf(b,
		           "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#8888\" "
		           "stroke-width=\"1\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" "
		           "fill=\"currentColor\">%lld</text>",
		           SVG_LEFT, SVG_W - SVG_RIGHT, y, y, SVG_LEFT - 6, y + 4,
		           (long long)(top * k / 2));
	}
	for (int i = 0; i < c->n; i++) {
		double x = SVG_LEFT + bw * i, y = SVG_TOP + plot_h;
		char when[16];
		svg_time(c->start + c->step * i, c->step, when, sizeof(when));
		for (int s = 0; s < c->nseries; s++) {
			double h = plot_h * (double)c->v[i][s] / (double)top;
			if (c->v[i][s] == 0)
				continue;
			y -= h;
			buf_printf(b,
			           "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			           "fill=\"%s\"><title>%s UTC: %lld ",
			           x + (bw > 4 ? 1 : 0), y, bw > 4 ? bw - 2 : bw, h, c->colors[s],
			           when, (long long)c->v[i][s]);
			buf_html(b, c->series[s]);
			buf_puts(b, "</title></rect>");
		}
		if (i % label_every == 0)
			buf_printf(b,
			           "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
			           "fill=\"currentColor\">%s</text>",
			           x + bw / 2, SVG_H - SVG_BOTTOM + 16, when);
	}
	buf_printf(b,
	           "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"currentColor\">time "
	           "(UTC)</text></svg>",
	           SVG_W - SVG_RIGHT, SVG_H - 4);
}

void report_svg_bars(struct buf *b, const char *title, const char *const *labels,
                     const int64_t *values, int n, const char *color)
{
	const int row = 22, label_w = 200, bar_max = 250;
	int h = 12 + row * (n > 0 ? n : 1);
	int64_t max = 1;

	for (int i = 0; i < n; i++)
		if (values[i] > max)
			max = values[i];
	buf_printf(b,
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" role=\"img\" "
	           "class=\"chart bars\" font-family=\"system-ui,sans-serif\" font-size=\"12\">"
	           "<title>",
	           label_w + bar_max + 50, h);
	buf_html(b, title);
	buf_puts(b, "</title>");
	if (n == 0)
		buf_puts(b, "<text x=\"0\" y=\"20\" fill=\"currentColor\">none</text>");
	for (int i = 0; i < n; i++) {
		int y = 6 + row * i;
		double w = (double)bar_max * (double)values[i] / (double)max;
		char label[48];
		size_t len = strlen(labels[i]);
		/* long labels are cut (at a character boundary); the tooltip has them whole */
		if (len > 30) {
			size_t cut = 28;
			while (cut > 0 && ((unsigned char)labels[i][cut] & 0xc0) == 0x80)
				cut--;
			snprintf(label, sizeof(label), "%.*s…", (int)cut, labels[i]);
		} else {
			snprintf(label, sizeof(label), "%s", labels[i]);
		}
		buf_printf(b, "<g><title>");
		buf_html(b, labels[i]);
		buf_printf(b,
		           ": %lld</title><text x=\"%d\" y=\"%d\" text-anchor=\"end\" "
		           "fill=\"currentColor\">",
		           (long long)values[i], label_w - 8, y + 15);
		buf_html(b, label);
		buf_printf(
		        b,
		        "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"3\" "
		        "fill=\"%s\"/><text x=\"%.1f\" y=\"%d\" fill=\"currentColor\">%lld</text>"
		        "</g>",
		        label_w, y + 2, w < 1 ? 1 : w, row - 6, color,
		        label_w + (w < 1 ? 1 : w) + 6, y + 15, (long long)values[i]);
	}
	buf_puts(b, "</svg>");
}
