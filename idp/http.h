/*
 * http: the idp's HTTP layer over libmicrohttpd: requests with their query,
 * form body and cookies parsed strictly, responses with security headers,
 * and a server that enforces size limits and timeouts before any handler
 * runs.  No other part of the project speaks HTTP.
 */
#ifndef IDP_HTTP_H
#define IDP_HTTP_H

#include "buf.h"
#include "err.h"

#include <stddef.h>

#define HTTP_MAX_PARAMS 64
#define HTTP_MAX_HEADERS 16

struct http_param {
	char *name;
	char *value;
};

/* Parsed application/x-www-form-urlencoded data (a query string or a form body). */
struct http_params {
	struct http_param v[HTTP_MAX_PARAMS];
	size_t n;
	char *storage; /* owns the strings */
};

/*
 * Parse len bytes of s as application/x-www-form-urlencoded: pairs split by
 * '&', '+' as space, %XX escapes.  Refuses bad escapes, names or values that
 * decode to invalid UTF-8 or contain a NUL or control characters, and more
 * than HTTP_MAX_PARAMS pairs.  0, or ERR_INVALID with err saying what.
 * Free with http_params_free().
 */
int http_params_parse(const char *s, size_t len, struct http_params *out, struct err *err);
void http_params_free(struct http_params *p);

/*
 * The value of name, or NULL.  OAuth forbids repeating a parameter
 * (RFC 6749 §3.1): when name occurs more than once, *dup is set to 1 (if
 * dup is not NULL) and NULL is returned.
 */
const char *http_param(const struct http_params *p, const char *name, int *dup);

/* Count of distinct parameters that occur more than once (0 = none). */
int http_params_dups(const struct http_params *p, const char **first_dup);

/*
 * The value of cookie name in a Cookie header, copied into out (capacity
 * cap); 0, or -1 if absent, malformed or too long.
 */
int http_cookie(const char *header, const char *name, char *out, size_t cap);

struct http_req {
	const char *method;
	const char *path;         /* without the query, percent-decoded by MHD */
	struct http_params query; /* the parsed query string */
	struct http_params form;  /* the parsed body if it was a form */
	const char *body;         /* the raw body (NUL-terminated), may be empty */
	size_t body_len;
	char client_ip[64];
	int tls;
	void *conn; /* the library's connection, for http_header(); NULL in tests */
	/* Test seam: with conn NULL, http_header() reads these (names in any case). */
	const struct http_param *headers;
	size_t nheaders;
};

/* A request header's value, or NULL. */
const char *http_header(const struct http_req *r, const char *name);

struct http_resp {
	int status;
	struct buf body;
	const char *content_type; /* static string; default "application/json" */
	struct {
		char name[40];
		char value[1024];
	} headers[HTTP_MAX_HEADERS];
	int nheaders;
	int no_security_headers; /* set to skip the default CSP and friends */
	int stream_fd;           /* >= 0: send what this pipe yields instead of body (closed after) */
};

void http_resp_init(struct http_resp *r);
void http_resp_free(struct http_resp *r);
/* Add a response header; silently ignored past HTTP_MAX_HEADERS or a header-splitting value. */
void http_resp_header(struct http_resp *r, const char *name, const char *value);
/* Set a redirect (302 by default) to location. */
void http_resp_redirect(struct http_resp *r, const char *location);
/* A JSON error body {"error": code, "error_description": description} with status. */
void http_resp_error(struct http_resp *r, int status, const char *code, const char *description);

typedef void (*http_handler)(void *ctx, struct http_req *req, struct http_resp *resp);

struct http_server_conf {
	const char *address;   /* numeric IPv4/IPv6 address to bind, e.g. 127.0.0.1 */
	int port;              /* 0 = any free port (see http_server_port) */
	int threads;           /* worker threads, >= 1 */
	int max_connections;   /* total */
	int max_per_ip;        /* concurrent connections from one address (0 = no limit) */
	int timeout_s;         /* idle connection timeout */
	/*
	 * The longest a client may take to send one whole request (headers
	 * and body), counted from the connection's start or from the previous
	 * response: the idle timeout alone never ends a client that sends a
	 * byte now and then (slowloris).  0 = timeout_s.
	 */
	int request_timeout_s;
	size_t max_body;       /* largest request body */
	const char *tls_cert_pem; /* NULL for plain HTTP */
	const char *tls_key_pem;
	/*
	 * The client address behind proxies: called with the socket's peer
	 * and the request's X-Forwarded-For headers joined by ',' (NULL if
	 * none) to write the address into out; NULL keeps the peer.
	 */
	void (*client_ip)(void *ctx, const char *peer, const char *xff, char *out, size_t cap);
	void *client_ip_ctx;
};

struct http_server;

/* Start serving; handler(ctx, ...) answers every complete request. */
struct http_server *http_server_start(const struct http_server_conf *conf, http_handler handler,
				      void *ctx, struct err *err);
/* The port actually bound. */
int http_server_port(const struct http_server *s);
/* Stop accepting, finish what runs, free. NULL is fine. */
void http_server_stop(struct http_server *s);

/*
 * Test seam (fuzzing, tests without sockets): answer a request made in
 * memory exactly as the server answers one read from a socket.  uri is the
 * request target as sent; its path is percent-decoded here as the server
 * library does, and its query string and a form body go through the same
 * parsers and refusals before handler(ctx, ...) runs.  headers (nheaders of
 * them; borrowed) are what http_header() returns; body (borrowed) need not
 * be NUL-terminated; client_ip NULL means 127.0.0.1.  resp is initialized
 * here; the caller frees it with http_resp_free().
 */
void http_serve_memory(http_handler handler, void *ctx, const char *method, const char *uri,
		       const struct http_param *headers, size_t nheaders, const char *body,
		       size_t body_len, const char *client_ip, struct http_resp *resp);

#endif
