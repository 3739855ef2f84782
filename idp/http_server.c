/*
 * http_server: libmicrohttpd underneath, with the limits an internet-facing
 * identity provider needs before any of its code runs: a body limit checked
 * against Content-Length before reading and again while reading, connection
 * caps (total and per address), idle timeouts, a per-connection memory cap
 * for headers, and a thread pool.
 *
 * The raw request URI comes from MHD's URI log callback so that the query
 * string is parsed by our own strict parser (http_params.c), not by MHD's
 * lenient one.
 *
 * MHD's connection timeout is an idle timeout: every byte received resets
 * it, so a client sending a header line every few seconds (slowloris) or a
 * body a byte at a time would hold its connection for ever, and enough of
 * them from enough addresses would take every connection slot.  So each
 * connection also has a deadline for receiving a whole request, kept in a
 * list from MHD's connection notifications; a reaper thread shuts down the
 * socket of a connection past its deadline, and MHD then closes it as it
 * would any connection the client dropped (found by
 * tests/fuzz/faults/abuse.test.mjs).
 */
#include "http.h"

#include "hex.h"
#include "log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A connection from accept to close, for the request deadline. */
struct http_conn {
	struct http_conn *prev, *next;
	int fd;
	int64_t deadline_ms; /* monotonic; 0 while a request is being answered */
	unsigned char ip[16]; /* the peer's address (IPv4 mapped), for the per-address limit */
};

/*
 * One libmicrohttpd daemon, with its own listening socket on the same
 * port (SO_REUSEPORT), per worker thread: the kernel spreads new
 * connections over the sockets.  One daemon with a thread pool shares one
 * socket, and the worker that wakes first accepts a whole burst: a few
 * busy keep-alive connections (wrk, a reverse proxy's pool) then all sit
 * on one thread and the grant rate halves on two cores (measured by
 * bench/token, per-thread CPU).
 */
#define HTTP_DAEMONS_MAX 256 /* [http] threads allows up to 256 */

struct http_server {
	struct MHD_Daemon *mhd[HTTP_DAEMONS_MAX];
	int n_mhd;
	struct http_server_conf conf;
	http_handler handler;
	void *ctx;
	int port;
	pthread_mutex_t conns_lock; /* guards conns and every deadline */
	struct http_conn *conns;
	pthread_cond_t reaper_wake;
	pthread_t reaper;
	int reaper_started, stopping;
};

/* Per-request state, created by the URI callback before headers are read. */
struct http_ctx {
	char *uri;
	struct buf body;
	int started;
	int too_large;
};

void http_resp_init(struct http_resp *r)
{
	/* the header slots are filled as used: clearing 16 KiB per request shows in profiles */
	r->nheaders = 0;
	r->content_type = NULL;
	r->no_security_headers = 0;
	r->stream_fd = -1;
	r->status = 200;
	buf_init(&r->body);
	r->body.limit = 8u * 1024 * 1024;
}

void http_resp_free(struct http_resp *r)
{
	buf_free(&r->body);
	if (r->stream_fd >= 0)
		close(r->stream_fd);
	r->stream_fd = -1;
}

void http_resp_header(struct http_resp *r, const char *name, const char *value)
{
	if (r->nheaders >= HTTP_MAX_HEADERS || strpbrk(value, "\r\n") != NULL ||
	    strlen(value) >= sizeof(r->headers[0].value))
		return;
	snprintf(r->headers[r->nheaders].name, sizeof(r->headers[0].name), "%s", name);
	snprintf(r->headers[r->nheaders].value, sizeof(r->headers[0].value), "%s", value);
	r->nheaders++;
}

void http_resp_redirect(struct http_resp *r, const char *location)
{
	r->status = 302;
	http_resp_header(r, "Location", location);
	r->content_type = "text/plain; charset=utf-8";
}

void http_resp_error(struct http_resp *r, int status, const char *code, const char *description)
{
	r->status = status;
	r->content_type = "application/json";
	r->body.len = 0;
	buf_puts(&r->body, "{\"error\":\"");
	buf_puts(&r->body, code);
	buf_puts(&r->body, "\"");
	if (description != NULL) {
		/* descriptions are ours, but may quote input: escape for JSON */
		buf_puts(&r->body, ",\"error_description\":\"");
		for (const char *p = description; *p; p++) {
			unsigned char c = (unsigned char)*p;
			if (c == '"' || c == '\\')
				buf_printf(&r->body, "\\%c", c);
			else if (c < 0x20)
				buf_printf(&r->body, "\\u%04x", c);
			else
				buf_add(&r->body, p, 1);
		}
		buf_puts(&r->body, "\"");
	}
	buf_puts(&r->body, "}");
}

const char *http_header(const struct http_req *r, const char *name)
{
	if (r->conn == NULL) {
		for (size_t i = 0; i < r->nheaders; i++)
			if (strcasecmp(r->headers[i].name, name) == 0)
				return r->headers[i].value;
		return NULL;
	}
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/*
 * Parse the query string of uri and a form body into req, then let the
 * handler answer into resp (initialized here).  The socket path and the
 * in-memory path share this, so fuzzing one tests the other.  A request
 * the parsers refuse gets a 400 and the connection is closed.
 */
static void http_dispatch(http_handler handler, void *ctx, struct http_req *req,
			  const char *uri, struct http_resp *resp)
{
	struct err err = {0};
	const char *q = strchr(uri, '?'), *ctype;

	http_resp_init(resp);
	if (q != NULL && http_params_parse(q + 1, strlen(q + 1), &req->query, &err) != 0)
		goto refuse;
	ctype = http_header(req, "Content-Type");
	if (ctype != NULL && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0 &&
	    http_params_parse(req->body, req->body_len, &req->form, &err) != 0)
		goto refuse;
	handler(ctx, req, resp);
	goto out;
refuse:
	http_resp_error(resp, 400, "invalid_request", err.msg);
	http_resp_header(resp, "Connection", "close");
out:
	http_params_free(&req->query);
	http_params_free(&req->form);
}

static int64_t http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Set c's deadline: the next whole request is due within the request timeout (or never: 0). */
static void http_deadline(struct http_server *s, struct MHD_Connection *c, int running)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct http_conn *hc = ci != NULL ? ci->socket_context : NULL;

	if (hc == NULL)
		return;
	pthread_mutex_lock(&s->conns_lock);
	hc->deadline_ms = running ? 0 : http_now_ms() + s->conf.request_timeout_s * 1000LL;
	pthread_mutex_unlock(&s->conns_lock);
}

/* The address of sa as 16 bytes, IPv4 as IPv4-mapped IPv6. */
static void http_ip_key(const struct sockaddr *sa, unsigned char out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	}
}

/* How many listed connections come from ip, counting up to limit (conns_lock held). */
static int http_ip_count(const struct http_server *s, const unsigned char ip[16], int limit)
{
	int n = 0;

	for (const struct http_conn *hc = s->conns; hc != NULL && n < limit; hc = hc->next)
		n += memcmp(hc->ip, ip, 16) == 0;
	return n;
}

/* MHD: a connection opened or closed.  Closing runs before MHD closes the socket. */
static void http_conn_cb(void *cls, struct MHD_Connection *c, void **socket_context,
			 enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *s = cls;
	struct http_conn *hc = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL || (hc = calloc(1, sizeof(*hc))) == NULL)
			return; /* without a deadline: the idle timeout still applies */
		hc->fd = ci->connect_fd;
		hc->deadline_ms = http_now_ms() + s->conf.request_timeout_s * 1000LL;
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci != NULL && ci->client_addr != NULL)
			http_ip_key(ci->client_addr, hc->ip);
		pthread_mutex_lock(&s->conns_lock);
		/*
		 * The per-address limit over every daemon (each daemon's own
		 * limit would let one address hold it once per daemon), counted
		 * and listed under one lock so that daemons accepting at the same
		 * moment cannot both take the last place.  The one over it is
		 * shut down: MHD sees the socket end and closes it.
		 */
		if (s->conf.max_per_ip > 0 &&
		    http_ip_count(s, hc->ip, s->conf.max_per_ip) >= s->conf.max_per_ip) {
			pthread_mutex_unlock(&s->conns_lock);
			shutdown(hc->fd, SHUT_RDWR);
			free(hc);
			return;
		}
		hc->next = s->conns;
		if (s->conns != NULL)
			s->conns->prev = hc;
		s->conns = hc;
		pthread_mutex_unlock(&s->conns_lock);
		*socket_context = hc;
		return;
	}
	if (hc == NULL)
		return;
	/* off the list before MHD closes the fd: the reaper never touches a reused one */
	pthread_mutex_lock(&s->conns_lock);
	if (hc->prev != NULL)
		hc->prev->next = hc->next;
	else
		s->conns = hc->next;
	if (hc->next != NULL)
		hc->next->prev = hc->prev;
	pthread_mutex_unlock(&s->conns_lock);
	free(hc);
	*socket_context = NULL;
}

/* Once a second: end the connections whose request is overdue. */
static void *http_reaper(void *arg)
{
	struct http_server *s = arg;

	pthread_mutex_lock(&s->conns_lock);
	while (!s->stopping) {
		struct timespec until;
		int64_t now = http_now_ms();
		for (struct http_conn *hc = s->conns; hc != NULL; hc = hc->next) {
			if (hc->deadline_ms != 0 && now > hc->deadline_ms) {
				/* MHD sees the end of the stream and closes it as usual */
				shutdown(hc->fd, SHUT_RDWR);
				hc->deadline_ms = 0;
			}
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&s->reaper_wake, &s->conns_lock, &until);
	}
	pthread_mutex_unlock(&s->conns_lock);
	return NULL;
}

/* Descriptors kept for the rest of the process: store connections, pipes, logs. */
#define HTTP_FD_RESERVE(threads) (128 + 4 * (threads))

/*
 * Every connection is a file descriptor: let the process open as many as
 * max_connections allows, plus the reserve, raising the soft limit up to
 * the hard one.  If even that is too low, the connection limit is lowered
 * to fit: then libmicrohttpd turns the excess away at once, where
 * otherwise accept() failed with EMFILE and new clients stalled until
 * enough others left (found by tests/fuzz/faults/abuse.test.mjs: with the
 * usual soft limit of 1024, a thousand idle connections locked everyone
 * out although max_connections said 4096).
 */
static unsigned http_fd_budget(unsigned want, int threads)
{
	rlim_t reserve = (rlim_t)HTTP_FD_RESERVE(threads), need = (rlim_t)want + reserve;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return want;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		unsigned fit = rl.rlim_cur > 2 * reserve ? (unsigned)(rl.rlim_cur - reserve)
							 : (unsigned)(rl.rlim_cur / 2);
		log_warnx("http: the process may open only %llu files: at most %u connections, not "
			  "%u (raise the hard limit, e.g. LimitNOFILE=)",
			  (unsigned long long)rl.rlim_cur, fit, want);
		return fit;
	}
	return want;
}

static void *http_uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct http_ctx *h = calloc(1, sizeof(*h));

	(void)cls;
	(void)c;
	if (h == NULL)
		return NULL;
	h->uri = strdup(uri);
	buf_init(&h->body);
	return h;
}

static void http_done_cb(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_ctx *h = *con_cls;

	(void)toe;
	/* answered: the next request on this connection has its own deadline */
	http_deadline(cls, c, 0);
	if (h == NULL)
		return;
	free(h->uri);
	buf_free(&h->body);
	free(h);
	*con_cls = NULL;
}

static enum MHD_Result http_send(struct MHD_Connection *c, struct http_resp *r, int tls)
{
	struct MHD_Response *mr;
	size_t len = 0;
	char *body;
	enum MHD_Result ok;

	if (r->stream_fd >= 0) {
		/* a body produced by another thread while it is sent (exports) */
		mr = MHD_create_response_from_pipe(r->stream_fd);
		r->stream_fd = -1;
		if (mr == NULL)
			return MHD_NO;
		goto headers;
	}
	if (buf_failed(&r->body)) {
		buf_free(&r->body);
		buf_init(&r->body);
		http_resp_error(r, 500, "server_error", "response too large");
	}
	body = buf_take(&r->body, &len);
	if (body == NULL)
		return MHD_NO;
	mr = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (mr == NULL) {
		free(body);
		return MHD_NO;
	}
headers:
	MHD_add_response_header(mr, "Content-Type",
				r->content_type != NULL ? r->content_type : "application/json");
	if (!r->no_security_headers) {
		MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
		MHD_add_response_header(mr, "X-Frame-Options", "DENY");
		MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
		if (tls)
			MHD_add_response_header(mr, "Strict-Transport-Security",
						"max-age=31536000");
	}
	for (int i = 0; i < r->nheaders; i++)
		MHD_add_response_header(mr, r->headers[i].name, r->headers[i].value);
	ok = MHD_queue_response(c, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	return ok;
}

static enum MHD_Result http_reply_error(struct MHD_Connection *c, int status, const char *code,
					const char *desc)
{
	struct http_resp r;
	enum MHD_Result ok;

	http_resp_init(&r);
	http_resp_error(&r, status, code, desc);
	http_resp_header(&r, "Connection", "close");
	ok = http_send(c, &r, 0);
	http_resp_free(&r);
	return ok;
}

static void http_client_ip(struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	snprintf(out, cap, "?");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, (socklen_t)cap);
}

/*
 * Collect every X-Forwarded-For header, joined by ','.  When they are too
 * long, keep the right end: that is what the trusted proxies added (each
 * appends to the end), the left is whatever the client sent.  Cutting the
 * right off instead, or dropping earlier headers, would let a client pad
 * its header until the address a proxy appended for it disappears.
 */
struct http_xff {
	char v[2048];
	size_t len;
	int seen;
	int cut; /* bytes were dropped on the left: the first entry may be partial */
};

static void http_xff_add(struct http_xff *x, const char *s, size_t n)
{
	if (n >= sizeof(x->v)) {
		s += n - (sizeof(x->v) - 1);
		n = sizeof(x->v) - 1;
		x->len = 0;
		x->cut = 1;
	} else if (x->len + n >= sizeof(x->v)) {
		size_t drop = x->len + n - (sizeof(x->v) - 1);
		memmove(x->v, x->v + drop, x->len - drop);
		x->len -= drop;
		x->cut = 1;
	}
	memcpy(x->v + x->len, s, n);
	x->len += n;
	x->v[x->len] = '\0';
}

static enum MHD_Result http_xff_cb(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct http_xff *x = cls;

	(void)kind;
	if (key == NULL || value == NULL || strcasecmp(key, "X-Forwarded-For") != 0)
		return MHD_YES;
	if (x->seen)
		http_xff_add(x, ",", 1);
	http_xff_add(x, value, strlen(value));
	x->seen = 1;
	return MHD_YES;
}

/* After a cut, the first entry is a fragment: drop it (nothing is believed left of it). */
static void http_xff_trim(struct http_xff *x)
{
	char *comma;

	if (!x->cut)
		return;
	comma = strchr(x->v, ',');
	x->len = comma != NULL ? x->len - (size_t)(comma + 1 - x->v) : 0;
	memmove(x->v, comma != NULL ? comma + 1 : x->v, x->len);
	x->v[x->len] = '\0';
}

/* The client address: the peer, or whom the configured hook believes behind it. */
static void http_client_addr(const struct http_server *s, struct MHD_Connection *c, char *out,
			     size_t cap)
{
	struct http_xff x;
	char peer[64];

	http_client_ip(c, peer, sizeof(peer));
	if (s->conf.client_ip == NULL) {
		snprintf(out, cap, "%s", peer);
		return;
	}
	x.len = 0;
	x.seen = 0;
	x.cut = 0;
	x.v[0] = '\0';
	MHD_get_connection_values(c, MHD_HEADER_KIND, http_xff_cb, &x);
	http_xff_trim(&x);
	s->conf.client_ip(s->conf.client_ip_ctx, peer, x.seen ? x.v : NULL, out, cap);
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version,
				   const char *upload_data, size_t *upload_data_size,
				   void **con_cls)
{
	struct http_server *s = cls;
	struct http_ctx *h = *con_cls;
	struct http_req req;
	struct http_resp resp;
	enum MHD_Result ok;

	(void)version;
	if (h == NULL || h->uri == NULL)
		return MHD_NO; /* out of memory at the URI callback */
	if (!h->started) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		h->started = 1;
		h->body.limit = s->conf.max_body + 1;
		/* refuse an announced oversize body before reading any of it */
		if (cl != NULL && strtoull(cl, NULL, 10) > s->conf.max_body)
			return http_reply_error(c, 413, "invalid_request", "request body too large");
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!h->too_large) {
			buf_add(&h->body, upload_data, *upload_data_size);
			if (buf_failed(&h->body) || h->body.len > s->conf.max_body)
				h->too_large = 1;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (h->too_large)
		return http_reply_error(c, 413, "invalid_request", "request body too large");

	/* the whole request is in: no deadline while it is answered */
	http_deadline(s, c, 1);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = url;
	req.conn = c;
	req.tls = s->conf.tls_cert_pem != NULL;
	http_client_addr(s, c, req.client_ip, sizeof(req.client_ip));
	buf_add(&h->body, "", 0); /* NUL-terminate even when empty */
	req.body = h->body.data != NULL ? h->body.data : "";
	req.body_len = h->body.len;
	http_dispatch(s->handler, s->ctx, &req, h->uri, &resp);
	ok = http_send(c, &resp, req.tls);
	http_resp_free(&resp);
	return ok;
}

void http_serve_memory(http_handler handler, void *ctx, const char *method, const char *uri,
		       const struct http_param *headers, size_t nheaders, const char *body,
		       size_t body_len, const char *client_ip, struct http_resp *resp)
{
	struct http_req req;
	struct buf b;
	size_t plen = strcspn(uri, "?"), o = 0;
	char *path = malloc(plen + 1);

	buf_init(&b);
	buf_add(&b, body, body_len);
	buf_add(&b, "", 0);
	if (path == NULL || buf_failed(&b)) {
		http_resp_init(resp);
		http_resp_error(resp, 500, "server_error", "out of memory");
		goto out;
	}
	/* the path as libmicrohttpd hands it over: valid %XX decoded, the rest kept */
	for (size_t i = 0; i < plen; i++) {
		int hi, lo;
		if (uri[i] == '%' && i + 2 < plen && (hi = hex_digit(uri[i + 1])) >= 0 &&
		    (lo = hex_digit(uri[i + 2])) >= 0) {
			path[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			path[o++] = uri[i];
		}
	}
	path[o] = '\0';
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.headers = headers;
	req.nheaders = nheaders;
	snprintf(req.client_ip, sizeof(req.client_ip), "%s",
		 client_ip != NULL ? client_ip : "127.0.0.1");
	req.body = b.data != NULL ? b.data : "";
	req.body_len = body_len;
	http_dispatch(handler, ctx, &req, uri, resp);
out:
	free(path);
	buf_free(&b);
}

__attribute__((format(printf, 2, 0))) static void http_mhd_log(void *cls, const char *fmt,
								 va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: %s", msg);
}

/* 1 if nothing listens on sa's port (a plain bind, without SO_REUSEPORT, succeeds). */
static int http_port_free(const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, ok;

	if (fd < 0)
		return 1; /* MHD will say what is wrong */
	/* TIME_WAIT leftovers of an earlier run are no listener */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = bind(fd, sa, len) == 0;
	close(fd);
	return ok;
}

struct http_server *http_server_start(const struct http_server_conf *conf, http_handler handler,
				      void *ctx, struct err *err)
{
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	struct sockaddr *sa;
	struct http_server *s;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	unsigned per_daemon;
	const union MHD_DaemonInfo *info;

	memset(&a4, 0, sizeof(a4));
	memset(&a6, 0, sizeof(a6));
	if (inet_pton(AF_INET, conf->address, &a4.sin_addr) == 1) {
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)conf->port);
		sa = (struct sockaddr *)&a4;
	} else if (inet_pton(AF_INET6, conf->address, &a6.sin6_addr) == 1) {
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t)conf->port);
		sa = (struct sockaddr *)&a6;
		flags |= MHD_USE_IPv6;
	} else {
		err_set(err, ERR_INVALID, "listen address '%s' is not a numeric IP address",
			conf->address);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	s->conf = *conf;
	if (s->conf.request_timeout_s <= 0)
		s->conf.request_timeout_s = conf->timeout_s;
	s->handler = handler;
	s->ctx = ctx;
	pthread_mutex_init(&s->conns_lock, NULL);
	pthread_cond_init(&s->reaper_wake, NULL);
	if (conf->tls_cert_pem != NULL)
		flags |= MHD_USE_TLS;
	s->n_mhd = conf->threads < 1 ? 1 : conf->threads > HTTP_DAEMONS_MAX ? HTTP_DAEMONS_MAX
									: conf->threads;
	/*
	 * The sockets share the port through SO_REUSEPORT, which would also
	 * let a second idp share it by mistake: the port must be free first.
	 */
	if (conf->port != 0 && !http_port_free(sa, sa == (struct sockaddr *)&a4 ? sizeof(a4)
										  : sizeof(a6))) {
		err_set(err, ERR_IO, "cannot listen on %s port %d: in use", conf->address,
			conf->port);
		http_server_stop(s);
		return NULL;
	}
	per_daemon = http_fd_budget((unsigned)conf->max_connections, conf->threads) /
		     (unsigned)s->n_mhd;
	if (per_daemon == 0)
		per_daemon = 1;
	for (int i = 0; i < s->n_mhd; i++) {
		s->mhd[i] = MHD_start_daemon(
			flags, 0, NULL, NULL, http_access, s, MHD_OPTION_SOCK_ADDR, sa,
			MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_CONNECTION_LIMIT,
			per_daemon,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)conf->max_per_ip,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)conf->timeout_s,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
			MHD_OPTION_URI_LOG_CALLBACK, http_uri_cb, s, MHD_OPTION_NOTIFY_COMPLETED,
			http_done_cb, s, MHD_OPTION_NOTIFY_CONNECTION, http_conn_cb, s,
			MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, s,
			conf->tls_cert_pem != NULL ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
			conf->tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY, conf->tls_key_pem,
			MHD_OPTION_END);
		if (s->mhd[i] == NULL) {
			err_set(err, ERR_IO,
				"cannot listen on %s port %d (in use, or bad TLS material?)",
				conf->address, conf->port);
			http_server_stop(s);
			return NULL;
		}
		if (i == 0) {
			/* a port of 0 picked one: the other sockets join it */
			info = MHD_get_daemon_info(s->mhd[0], MHD_DAEMON_INFO_BIND_PORT);
			s->port = info != NULL ? info->port : conf->port;
			if (sa == (struct sockaddr *)&a4)
				a4.sin_port = htons((uint16_t)s->port);
			else
				a6.sin6_port = htons((uint16_t)s->port);
		}
	}
	if (pthread_create(&s->reaper, NULL, http_reaper, s) != 0) {
		err_set(err, ERR_INTERNAL, "cannot start the connection reaper");
		http_server_stop(s);
		return NULL;
	}
	s->reaper_started = 1;
	return s;
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}

void http_server_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->n_mhd; i++)
		if (s->mhd[i] != NULL)
			MHD_stop_daemon(s->mhd[i]); /* closes its connections: the list empties */
	if (s->reaper_started) {
		pthread_mutex_lock(&s->conns_lock);
		s->stopping = 1;
		pthread_cond_signal(&s->reaper_wake);
		pthread_mutex_unlock(&s->conns_lock);
		pthread_join(s->reaper, NULL);
	}
	pthread_cond_destroy(&s->reaper_wake);
	pthread_mutex_destroy(&s->conns_lock);
	free(s);
}
