/*
 * fuzz_http_request: whole requests through the idp's request handling:
 * routing and tenant resolution, query strings, form bodies, cookies,
 * headers (Authorization, Content-Type, Cookie, User-Agent), every
 * endpoint (discovery, JWKS, authorize, sign-in and MFA forms, account,
 * logout, token, introspection, revocation, userinfo, admin API, SCIM,
 * authz), on a real store (see fuzz_world.h).
 *
 * Input: an HTTP/1.1-like request as text,
 *
 *     METHOD URI [VERSION]
 *     Name: value
 *     ...
 *     (empty line)
 *     body
 *
 * with the world's placeholders (@SESSION@, @CSRFTOKEN@, @CODE@...) filled
 * in first.  Line ends may be "\n" or "\r\n".  The socket-level parsing
 * (request line, header syntax, chunking) is libmicrohttpd's and is not
 * what this fuzzes; everything after it is.
 *
 * Properties: fuzz_world_serve()'s response checks.
 */
#include "fuzz.h"
#include "fuzz_world.h"

#define FZ_MAX_HEADERS 24

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_world_get();
	return 0;
}

/* Cut the next line of *p (up to end) at its "\n" or "\r\n"; the line, or NULL at the end. */
static char *fz_line(char **p, char *end)
{
	char *s = *p, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	if (nl == NULL) {
		*p = end;
		return s; /* the text is NUL-terminated at end */
	}
	*nl = '\0';
	if (nl > s && nl[-1] == '\r')
		nl[-1] = '\0';
	*p = nl + 1;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_world *w = fuzz_world_get();
	struct http_param headers[FZ_MAX_HEADERS];
	struct http_resp resp;
	size_t len, nh = 0;
	char *text = fuzz_world_expand(w, (const char *)data, size, &len);
	char *p = text, *end = text + len, *line, *method, *uri, *body;

	line = fz_line(&p, end);
	if (line == NULL)
		line = "";
	method = line;
	uri = strchr(line, ' ');
	if (uri != NULL) {
		char *sp;
		*uri++ = '\0';
		if ((sp = strchr(uri, ' ')) != NULL)
			*sp = '\0'; /* the HTTP version */
	} else {
		uri = "/";
	}
	if (*method == '\0')
		method = "GET";
	while ((line = fz_line(&p, end)) != NULL && *line != '\0') {
		char *colon = strchr(line, ':');
		if (colon == NULL || nh == FZ_MAX_HEADERS)
			continue; /* the server library drops such lines */
		*colon++ = '\0';
		while (*colon == ' ' || *colon == '\t')
			colon++;
		headers[nh].name = line;
		headers[nh++].value = colon;
	}
	body = p < end ? p : end;
	fuzz_world_serve(w, method, uri, headers, nh, body, (size_t)(end - body), &resp);
	http_resp_free(&resp);
	free(text);
	return 0;
}
