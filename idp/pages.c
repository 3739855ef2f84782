/*
 * pages: the frame shared by every page.
 */
#include "pages.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

static const char pages_css[] =
	":root{color-scheme:light dark;--fg:#1b1f24;--muted:#5b6470;--bg:#f3f5f8;"
	"--card:#fff;--line:#d5dae1;--accent:#2457c5;--accent-fg:#fff;--bad:#b3261e;"
	"--bad-bg:#fdecea}"
	"@media (prefers-color-scheme:dark){:root{--fg:#e6e9ee;--muted:#9aa4b1;--bg:#15181d;"
	"--card:#1f232a;--line:#353b45;--accent:#6d9bff;--accent-fg:#0b1020;--bad:#ff8a80;"
	"--bad-bg:#3a1f1d}}"
	"*{box-sizing:border-box}"
	"body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;"
	"background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,'Segoe UI',"
	"Roboto,sans-serif}"
	"main{width:100%;max-width:400px;margin:24px;background:var(--card);"
	"border:1px solid var(--line);border-radius:12px;padding:32px;"
	"box-shadow:0 2px 12px rgba(0,0,0,.06)}"
	".org{font-size:14px;color:var(--muted);margin:0 0 4px}"
	"h1{font-size:22px;margin:0 0 20px;font-weight:600}"
	"p{margin:0 0 16px}"
	".app{color:var(--muted);font-size:14px;margin-top:-12px}"
	"label{display:block;font-size:14px;font-weight:600;margin:0 0 6px}"
	"input[type=text],input[type=password],input[type=email]{width:100%;padding:10px 12px;"
	"font:inherit;color:inherit;background:transparent;border:1px solid var(--line);"
	"border-radius:8px;margin-bottom:16px}"
	"input:focus{outline:2px solid var(--accent);outline-offset:1px}"
	"input.code{font-size:24px;letter-spacing:6px;text-align:center;"
	"font-variant-numeric:tabular-nums}"
	"button{width:100%;padding:11px;font:inherit;font-weight:600;border:0;border-radius:8px;"
	"background:var(--accent);color:var(--accent-fg);cursor:pointer}"
	"button.link{background:none;color:var(--accent);padding:8px;font-weight:400}"
	"a.button{display:block;text-align:center;padding:11px;font-weight:600;border-radius:8px;"
	"background:var(--accent);color:var(--accent-fg);text-decoration:none;margin-top:8px}"
	"a{color:var(--accent)}details summary{cursor:pointer}"
	"dl{display:grid;grid-template-columns:auto 1fr;gap:4px 16px;font-size:14px;margin:0 0 16px}"
	"dt{color:var(--muted)}dd{margin:0}"
	".error{background:var(--bad-bg);color:var(--bad);border-radius:8px;padding:10px 12px;"
	"margin-bottom:16px;font-size:14px}"
	".secret{font-family:ui-monospace,monospace;word-break:break-all;background:var(--bg);"
	"padding:8px;border-radius:6px;font-size:14px}"
	".qr{display:flex;justify-content:center;margin:0 0 16px}.qr svg{width:200px;"
	"height:200px;background:#fff;padding:8px;border-radius:8px}"
	"ol.codes{columns:2;font-family:ui-monospace,monospace;padding-left:24px}"
	".foot{margin-top:20px;font-size:13px;color:var(--muted);text-align:center}";

static char pages_css_hash[64];

void pages_init(void)
{
	unsigned char d[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)pages_css, strlen(pages_css), d);
	EVP_EncodeBlock((unsigned char *)pages_css_hash, d, sizeof(d));
}

/* The scheme://host[:port] of a URL, for the CSP; "" if it has none. */
static void pages_origin(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");
	size_t n;

	out[0] = '\0';
	if (p == NULL)
		return;
	n = (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
	if (n < cap && strpbrk(url, " ;,'\"") == NULL) {
		memcpy(out, url, n);
		out[n] = '\0';
	}
}

void page_begin(struct idp_req *r, const char *title, const char *form_origin)
{
	struct http_resp *resp = r->resp;
	char csp[1600], origin[1100] = "";

	if (form_origin != NULL)
		pages_origin(form_origin, origin, sizeof(origin));
	snprintf(csp, sizeof(csp),
		 "default-src 'none'; style-src 'sha256-%s'; img-src data:; "
		 "form-action 'self'%s%s; frame-ancestors 'none'; base-uri 'none'",
		 pages_css_hash, origin[0] ? " " : "", origin);
	resp->content_type = "text/html; charset=utf-8";
	http_resp_header(resp, "Content-Security-Policy", csp);
	http_resp_header(resp, "Cache-Control", "no-store");
	buf_puts(&resp->body, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
			      "<meta name=\"viewport\" content=\"width=device-width,"
			      "initial-scale=1\"><title>");
	buf_html(&resp->body, title);
	buf_puts(&resp->body, " · ");
	buf_html(&resp->body, r->tenant.display_name[0] ? r->tenant.display_name : "Sign in");
	buf_puts(&resp->body, "</title><style>");
	buf_puts(&resp->body, pages_css);
	buf_puts(&resp->body, "</style></head><body><main>");
	if (r->tenant.display_name[0] != '\0') {
		buf_puts(&resp->body, "<p class=\"org\">");
		buf_html(&resp->body, r->tenant.display_name);
		buf_puts(&resp->body, "</p>");
	}
	buf_puts(&resp->body, "<h1>");
	buf_html(&resp->body, title);
	buf_puts(&resp->body, "</h1>");
}

void page_end(struct idp_req *r)
{
	buf_puts(&r->resp->body, "</main></body></html>\n");
}

void page_error(struct idp_req *r, int status, const char *title, const char *message)
{
	r->resp->body.len = 0;
	r->resp->status = status;
	page_begin(r, title, NULL);
	buf_puts(&r->resp->body, "<p>");
	buf_html(&r->resp->body, message);
	buf_puts(&r->resp->body, "</p>");
	page_end(r);
}
