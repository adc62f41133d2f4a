/*
 * server.c — the HTTP server on libmicrohttpd: the daemon, routing, answers,
 * and the maintenance thread.
 *
 * Routes (docs/API.md):
 *   POST /api/v1/reports                       intake (intake.c)
 *   GET  /api/v1/reports/{receipt}             the status of one's own report
 *   POST /api/v1/reports/{receipt}/followups   a sealed follow-up
 *   GET  /healthz                              liveness
 *   POST|GET|DELETE /api/v1/session            moderators sign in and out (mod.c)
 *   *    /api/v1/mod[/...]                     the moderators' API, behind the
 *                                              session gate (mod.c)
 *   GET|POST /mod[/...]                        the moderator console: pages
 *                                              rendered on the server, and
 *                                              their forms (console.c)
 *   GET  /static/...                           the console's, the public
 *                                              map's and the form's files,
 *                                              a fixed list (web.c)
 *   GET  /                                     the public map (web.c)
 *   GET  /api/v1/public/...                    the public feeds (public.c),
 *                                              written only through the
 *                                              publication policy
 *   GET|POST /report, /report/status           the informant's web form
 *                                              (form.c)
 *   POST /telegram/webhook                     Bot API updates (telegram.c)
 *
 * Everything that can be answered from the request line and headers is
 * answered before any body is read. Intake requests are suspended while
 * their report waits in the commit queue, so a few threads carry many
 * connections.
 *
 * The maintenance thread refreshes, every few seconds, the list of
 * moderators new reports are sealed to, ends idle and orphaned moderator
 * sessions, and purges sealed material past its retention on a timer.
 *
 * Privacy: MHD's own error log is off (its messages can carry addresses) and
 * the server writes no per-request log at all.
 */
#include "http/http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "sightline/html.h"
#include "sightline/timefmt.h"

/* How often the moderator list is re-read, sessions swept and retention
 * checked. */
#define MAINT_PERIOD_S 2
#define PURGE_PERIOD_S 3600

void sl_server_config_default(sl_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->host = "127.0.0.1";
	cfg->port = 8080;
	cfg->threads = 2;
	cfg->conn_limit = 1000;
	cfg->conn_timeout_s = 30;
	cfg->body_cap = 64 * 1024;
	cfg->photo_cap = 10 * 1024 * 1024;
	cfg->queue_cap = 4096;
	cfg->batch_max = 512;
	cfg->retention_days = 30;
	cfg->rate.per_client_per_min = 20;
	cfg->rate.per_client_burst = 20;
	cfg->rate.global_per_sec = 500;
	cfg->rate.global_burst = 1000;
	cfg->rate.max_clients = 65536;
	cfg->session_idle_s = 30 * 60;
	cfg->session_max_s = 12 * 3600;
	cfg->secure_cookies = false;
	cfg->engine_interval_ms = 1000;
	cfg->web_root = "web";
	cfg->publish_interval_ms = 1000;
	cfg->network_path = NULL;
	cfg->cot_host = NULL;
	cfg->cot_port = 0;
	cfg->cot_client_buffer = 256 * 1024;
	cfg->webhook_backoff_ms = 5000;
	cfg->webhook_timeout_s = 10;
	cfg->telegram_api_base = "https://api.telegram.org";
	cfg->telegram_conversations = 1000;
	cfg->telegram_timeout_s = 30 * 60;
	cfg->telegram_workers = 2;
	cfg->telegram_reports = 10;
}

/* Headers every response carries: nothing may be sniffed, framed, cached or
 * followed by a referrer that names the page an informant came from. csp
 * replaces the default Content-Security-Policy (the console's pages, which
 * load their own scripts and styles); NULL keeps it. */
static void add_common_headers(struct MHD_Response *r, const char *csp, const char *cache)
{
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy",
				csp ? csp : "default-src 'none'; frame-ancestors 'none'");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Cache-Control", cache ? cache : "no-store");
}

/* Whether a header of the caller's replaces one of the common set (two
 * policies would both be enforced; two Cache-Controls contradict). */
static bool replaces_common(const char *name)
{
	return strcasecmp(name, "Content-Security-Policy") == 0 ||
	       strcasecmp(name, "Cache-Control") == 0;
}

enum MHD_Result sl_http_queue(struct MHD_Connection *c, unsigned status,
			      struct MHD_Response *r, const char *type,
			      const char *const *headers)
{
	const char *csp = NULL, *cache = NULL;
	for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2) {
		if (strcasecmp(headers[i], "Content-Security-Policy") == 0)
			csp = headers[i + 1];
		else if (strcasecmp(headers[i], "Cache-Control") == 0)
			cache = headers[i + 1];
	}
	add_common_headers(r, csp, cache);
	if (type)
		MHD_add_response_header(r, "Content-Type", type);
	for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
		if (!replaces_common(headers[i]))
			MHD_add_response_header(r, headers[i], headers[i + 1]);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result sl_http_respond_bytes(struct MHD_Connection *c, unsigned status,
				      const char *type, void *body, size_t len,
				      const char *const *headers)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    body ? len : 0, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	return sl_http_queue(c, status, r, type, headers);
}

enum MHD_Result sl_http_respond_with(struct MHD_Connection *c, unsigned status,
				     const char *type, char *body,
				     const char *const *headers)
{
	return sl_http_respond_bytes(c, status, type, body, body ? strlen(body) : 0,
				     headers);
}

enum MHD_Result sl_http_respond(struct MHD_Connection *c, unsigned status,
				const char *type, char *body, const char *allow,
				unsigned retry_after)
{
	char buf[16];
	const char *h[5];
	size_t n = 0;
	if (allow) {
		h[n++] = "Allow";
		h[n++] = allow;
	}
	if (retry_after) {
		snprintf(buf, sizeof(buf), "%u", retry_after);
		h[n++] = "Retry-After";
		h[n++] = buf;
	}
	h[n] = NULL;
	return sl_http_respond_with(c, status, type, body, h);
}

/* Coordinates and other reals print with 15 significant digits: exact for
 * every decimal of up to 15 digits, without the noise of 17. */
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

enum MHD_Result sl_http_json_with(struct MHD_Connection *c, unsigned status, json_t *doc,
				  const char *const *headers)
{
	char *body = doc ? json_dumps(doc, JSON_FLAGS) : NULL;
	json_decref(doc);
	if (!body)
		return MHD_NO;
	return sl_http_respond_with(c, status, "application/json", body, headers);
}

enum MHD_Result sl_http_json(struct MHD_Connection *c, unsigned status, json_t *doc)
{
	return sl_http_json_with(c, status, doc, NULL);
}

enum MHD_Result sl_http_page(struct MHD_Connection *c, unsigned status, sl_html *h,
			     const char *csp, unsigned retry_after, const char *allow)
{
	size_t len;
	char *body = sl_html_take(h, &len);
	if (!body)
		return sl_http_problem(c, 503,
				       "the page is larger than the server builds, or "
				       "memory ran out",
				       NULL, NULL, 5);
	char retry[16];
	snprintf(retry, sizeof(retry), "%u", retry_after);
	const char *hdr[11] = {"Content-Security-Policy",      csp,
			       "Cross-Origin-Opener-Policy",   "same-origin",
			       "Cross-Origin-Resource-Policy", "same-origin"};
	size_t n = 6;
	if (retry_after) {
		hdr[n++] = "Retry-After";
		hdr[n++] = retry;
	}
	if (allow) {
		hdr[n++] = "Allow";
		hdr[n++] = allow;
	}
	hdr[n] = NULL;
	return sl_http_respond_bytes(c, status, "text/html; charset=utf-8", body, len,
				     hdr);
}

static const char *status_title(unsigned status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	}
	return "Error";
}

enum MHD_Result sl_http_problem(struct MHD_Connection *c, unsigned status,
				const char *detail, const sl_problems *why,
				const char *allow, unsigned retry_after)
{
	char buf[2048];
	if (why && why->n) {
		sl_problems_format(why, buf, sizeof(buf));
		detail = buf;
	}
	json_t *doc =
	    json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title",
		      status_title(status), "status", (int)status, "detail", detail);
	if (doc && why && why->n) {
		json_t *errors = json_array();
		for (size_t i = 0; errors && i < why->n; i++)
			json_array_append_new(
			    errors, json_pack("{s:s, s:s}", "field", why->items[i].field,
					      "message", why->items[i].message));
		json_object_set_new(doc, "errors", errors);
	}
	char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!body)
		return MHD_NO;
	return sl_http_respond(c, status, "application/problem+json", body, allow,
			       retry_after);
}

static enum MHD_Result count_length(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	(void)kind, (void)value;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		(*(unsigned *)cls)++;
	return MHD_YES;
}

/* Two Content-Length headers make the body's end ambiguous (RFC 9112 6.3),
 * the stuff of request smuggling through a proxy; libmicrohttpd would take
 * the first, so refuse them here. */
static bool framing_ambiguous(struct MHD_Connection *c)
{
	unsigned n = 0;
	MHD_get_connection_values(c, MHD_HEADER_KIND, count_length, &n);
	return n > 1;
}

static bool is_get(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

/* The first call for a request: route it, and answer at once whatever can
 * be answered from the request line and headers. */
static enum MHD_Result route(sl_server *srv, struct MHD_Connection *c, const char *url,
			     const char *method, void **con_cls)
{
	static const char followups[] = "/followups";
	if (framing_ambiguous(c))
		return sl_http_problem(c, 400, "more than one Content-Length header",
				       NULL, NULL, 0);
	if (strcmp(url, API_REPORTS) == 0) {
		if (strcmp(method, "POST") != 0)
			return sl_http_problem(c, 405, "use POST to send a report", NULL,
					       "POST", 0);
		return sl_intake_begin(srv, c, REQ_REPORT_JSON, NULL, con_cls);
	}
	if (strncmp(url, API_REPORTS "/", strlen(API_REPORTS) + 1) == 0) {
		const char *receipt = url + strlen(API_REPORTS) + 1;
		const char *slash = strchr(receipt, '/');
		if (slash && strcmp(slash, followups) == 0) {
			if (strcmp(method, "POST") != 0)
				return sl_http_problem(c, 405,
						       "use POST to add a follow-up",
						       NULL, "POST", 0);
			char r[80];
			size_t n = (size_t)(slash - receipt);
			snprintf(r, sizeof(r), "%.*s", n < sizeof(r) ? (int)n : 0,
				 receipt);
			return sl_intake_begin(srv, c, REQ_FOLLOWUP, r, con_cls);
		}
		if (!is_get(method))
			return sl_http_problem(c, 405, "use GET to look up a receipt",
					       NULL, "GET, HEAD", 0);
		return sl_intake_status(srv, c, receipt);
	}
	if (strcmp(url, "/api/v1/session") == 0)
		return sl_mod_session(srv, c, method, con_cls);
	if (strncmp(url, "/api/v1/mod", 11) == 0 && (url[11] == '\0' || url[11] == '/'))
		return sl_mod_gate(srv, c, url, method, con_cls);
	if (strncmp(url, "/mod", 4) == 0 && (url[4] == '\0' || url[4] == '/'))
		return sl_console_serve(srv, c, url, method, con_cls);
	if (strncmp(url, "/static/", 8) == 0 || strcmp(url, "/") == 0)
		return sl_web_serve(srv, c, url, method);
	if (strncmp(url, "/api/v1/public/", 15) == 0)
		return sl_public_serve(srv, c, url, method);
	if (strncmp(url, "/report", 7) == 0 && (url[7] == '\0' || url[7] == '/'))
		return sl_form_serve(srv, c, url, method, con_cls);
	if (strcmp(url, "/telegram/webhook") == 0)
		return sl_telegram_begin(srv, c, method, con_cls);
	if (strcmp(url, "/healthz") == 0) {
		if (!is_get(method))
			return sl_http_problem(c, 405, "use GET", NULL, "GET, HEAD", 0);
		return sl_http_json(c, 200, json_pack("{s:s}", "status", "ok"));
	}
	return sl_http_problem(c, 404, "no such resource", NULL, NULL, 0);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version,
			      const char *upload_data, size_t *upload_data_size,
			      void **con_cls)
{
	(void)version;
	if (!*con_cls)
		return route(cls, c, url, method, con_cls);
	if (((conn_head *)*con_cls)->owner == CONN_MOD)
		return sl_mod_continue(*con_cls, upload_data, upload_data_size);
	return sl_intake_continue(*con_cls, upload_data, upload_data_size);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)c, (void)toe;
	if (*con_cls)
		sl_http_unpark(cls, *con_cls);
	if (*con_cls && ((conn_head *)*con_cls)->owner == CONN_MOD)
		sl_mod_request_free(*con_cls);
	else if (*con_cls)
		sl_intake_free(*con_cls);
	*con_cls = NULL;
}

bool sl_http_park(sl_server *srv, struct MHD_Connection *c, conn_head *h)
{
	pthread_mutex_lock(&srv->park_lock);
	bool ok = !srv->parking_closed;
	if (ok) {
		srv->parked++;
		h->parked = true;
	}
	pthread_mutex_unlock(&srv->park_lock);
	if (ok)
		MHD_suspend_connection(c);
	return ok;
}

void sl_http_unpark(sl_server *srv, conn_head *h)
{
	pthread_mutex_lock(&srv->park_lock);
	if (h->parked) {
		h->parked = false;
		srv->parked--;
	}
	pthread_mutex_unlock(&srv->park_lock);
}

/* Ends parking and waits (10 s at most) until every parked connection has
 * been resumed and handled again by an MHD thread. */
static void unpark_all(sl_server *srv)
{
	pthread_mutex_lock(&srv->park_lock);
	srv->parking_closed = true;
	pthread_mutex_unlock(&srv->park_lock);
	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&srv->park_lock);
		size_t n = srv->parked;
		pthread_mutex_unlock(&srv->park_lock);
		if (n == 0)
			return;
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "sightline: connections still suspended at shutdown\n");
}

/* Re-reads the moderators new items are sealed to. */
static void refresh_recipients(sl_server *srv)
{
	sl_recipients fresh;
	if (sl_recipients_load(srv->store, &fresh) != SL_OK)
		return; /* keep the old list; the store logged why */
	pthread_rwlock_wrlock(&srv->rc_lock);
	sl_recipients old = srv->rc;
	srv->rc = fresh;
	pthread_rwlock_unlock(&srv->rc_lock);
	sl_recipients_free(&old);
}

static void purge(sl_server *srv)
{
	if (srv->cfg.retention_days == 0)
		return;
	int64_t before = sl_time_now() - (int64_t)srv->cfg.retention_days * 86400;
	int64_t n = 0;
	if (sl_store_purge_sealed(srv->store, before, &n) != SL_OK || n == 0)
		return;
	fprintf(stderr, "sightline: purged %lld sealed items past retention\n",
		(long long)n);
	if (srv->audit) {
		char detail[96];
		snprintf(detail, sizeof(detail),
			 "{\"items\":%lld,\"all\":false,\"retention_days\":%u}",
			 (long long)n, srv->cfg.retention_days);
		if (sl_audit_append(srv->audit, "server", "purge", "sealed", detail) !=
		    SL_OK)
			fprintf(stderr,
				"sightline: could not log the purge in the audit log\n");
	}
}

static void *maintenance(void *arg)
{
	sl_server *srv = arg;
	int64_t last_purge = 0;
	pthread_mutex_lock(&srv->maint_lock);
	while (!srv->stopping) {
		pthread_mutex_unlock(&srv->maint_lock);
		refresh_recipients(srv);
		sl_mod_sweep(srv);
		int64_t now = sl_time_now();
		if (now - last_purge >= PURGE_PERIOD_S) {
			purge(srv);
			last_purge = now;
		}
		pthread_mutex_lock(&srv->maint_lock);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += MAINT_PERIOD_S;
		while (!srv->stopping &&
		       pthread_cond_timedwait(&srv->maint_wake, &srv->maint_lock,
					      &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&srv->maint_lock);
	return NULL;
}

static sl_err resolve(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char portbuf[8];
	snprintf(portbuf, sizeof(portbuf), "%u", port);
	if (getaddrinfo(host, portbuf, &hints, &res) != 0 || !res)
		return SL_EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return SL_OK;
}

/* jansson's free for the whole process: what a request's JSON held (an
 * informant's text, a Telegram update with names and ids in it) is wiped,
 * not left in freed memory. */
static void wiping_free(void *p)
{
	if (p)
		sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

sl_err sl_server_start(const sl_server_config *cfg, sl_store *store,
		       const sl_receipt_key *key, sl_audit *audit, sl_server **out)
{
	json_set_alloc_funcs(malloc, wiping_free);
	if (!audit)
		return SL_EINVAL;
	struct sockaddr_storage ss = {0};
	if (resolve(cfg->host, cfg->port, &ss) != SL_OK) {
		fprintf(stderr, "sightline: cannot use listen address %s\n", cfg->host);
		return SL_EINVAL;
	}
	sl_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return SL_ENOMEM;
	srv->cfg = *cfg;
	srv->store = store;
	srv->key = key;
	srv->audit = audit;
	pthread_rwlock_init(&srv->rc_lock, NULL);
	pthread_mutex_init(&srv->park_lock, NULL);
	pthread_mutex_init(&srv->maint_lock, NULL);
	pthread_cond_init(&srv->maint_wake, NULL);
	pthread_mutex_init(&srv->engine_lock, NULL);
	pthread_cond_init(&srv->engine_wake, NULL);
	sl_err e = sl_recipients_load(store, &srv->rc);
	if (e == SL_OK)
		e = sl_gazetteer_new(cfg->stations, &srv->gazetteer);
	if (e == SL_OK)
		e = sl_ratelimit_new(&cfg->rate, &srv->rate);
	if (e == SL_OK)
		e = sl_mod_start(srv);
	if (e == SL_OK)
		e = sl_commitq_start(store, cfg->queue_cap, cfg->batch_max, &srv->queue);
	if (e == SL_OK)
		e = sl_telegram_start(srv);
	/* The public side first: the engine thread tells it when tracks
	 * change, and stops before it (below). */
	if (e == SL_OK)
		e = sl_public_start(srv);
	if (e == SL_OK)
		e = sl_http_engine_start(srv);
	if (e == SL_OK) {
		if (pthread_create(&srv->maint, NULL, maintenance, srv) == 0)
			srv->maint_started = true;
		else
			e = SL_ENOMEM;
	}
	if (e != SL_OK) {
		sl_server_stop(srv);
		return e;
	}
	if (srv->rc.n == 0)
		fprintf(stderr,
			"sightline: no moderators yet: reports with text, contact "
			"or photos are refused until one is added (sightline "
			"moderator add)\n");
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->daemon = MHD_start_daemon(
	    flags, cfg->port, NULL, NULL, handle, srv, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned)(cfg->threads ? cfg->threads : 1), MHD_OPTION_CONNECTION_LIMIT,
	    cfg->conn_limit, MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout_s,
	    /* Request line and headers must fit in this, so it also caps them. */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, srv, MHD_OPTION_END);
	if (!srv->daemon) {
		fprintf(stderr, "sightline: cannot listen on %s port %u\n", cfg->host,
			cfg->port);
		sl_server_stop(srv);
		return SL_EIO;
	}
	const union MHD_DaemonInfo *di =
	    MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di ? di->port : cfg->port;
	*out = srv;
	return SL_OK;
}

uint16_t sl_server_port(const sl_server *srv)
{
	return srv->port;
}

uint16_t sl_server_cot_port(const sl_server *srv)
{
	return sl_cot_port(srv);
}

void sl_server_stop(sl_server *srv)
{
	if (!srv)
		return;
	/* Let the sign-in workers and the queue finish and resume everyone they
	 * hold, wait until MHD has taken every one of them back, then stop.
	 * No MHD_quiesce_daemon: with a thread pool on epoll, libmicrohttpd
	 * 0.9.75 races its workers taking the listening socket out of their
	 * epoll sets and can abort ("Failed to remove listen FD from epoll
	 * set"). Connections that arrive while stopping are answered 503:
	 * parking is closed and so is the queue. */
	sl_mod_close(srv);
	sl_commitq_close(srv->queue);
	if (srv->daemon)
		unpark_all(srv);
	if (srv->daemon)
		MHD_stop_daemon(srv->daemon);
	sl_telegram_stop(srv); /* its workers may wait on the queue */
	sl_commitq_stop(srv->queue);
	sl_http_engine_stop(srv); /* before the public side it tells of tracks */
	sl_public_stop(srv);	  /* after MHD: no answer still holds a feed */
	if (srv->maint_started) {
		pthread_mutex_lock(&srv->maint_lock);
		srv->stopping = true;
		pthread_cond_signal(&srv->maint_wake);
		pthread_mutex_unlock(&srv->maint_lock);
		pthread_join(srv->maint, NULL);
	}
	sl_mod_free(srv); /* every session ends: every key is wiped */
	sl_ratelimit_free(srv->rate);
	sl_gazetteer_free(srv->gazetteer);
	sl_recipients_free(&srv->rc);
	pthread_cond_destroy(&srv->maint_wake);
	pthread_mutex_destroy(&srv->maint_lock);
	pthread_cond_destroy(&srv->engine_wake);
	pthread_mutex_destroy(&srv->engine_lock);
	pthread_rwlock_destroy(&srv->rc_lock);
	pthread_mutex_destroy(&srv->park_lock);
	free(srv);
}
