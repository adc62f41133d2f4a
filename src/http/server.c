/*
 * server.c — the HTTP API on libmicrohttpd.
 *
 * Routes (docs/API.md):
 *   POST /api/v1/reports             intake: validate, queue, answer when durable
 *   GET  /api/v1/reports/{receipt}   the status of one's own report, nothing else
 *   GET  /healthz                    liveness
 *
 * An intake request is read into a capped buffer, decoded and validated, given
 * a receipt, and handed to the commit queue; the connection is then suspended
 * (MHD_suspend_connection) so the worker thread serves others, and resumed by
 * the writer thread when the batch holding the report has committed. The
 * answer is 201 only after that commit.
 *
 * Privacy: the client's address is read once, to key an in-memory rate limit
 * (ratelimit.c hashes it); no header is looked at beyond Content-Type and
 * Content-Length; MHD's own error log is off (its messages can carry
 * addresses) and the server writes no per-request log at all.
 */
#include "sightline/server.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "sightline/commitq.h"
#include "sightline/report_json.h"
#include "sightline/timefmt.h"

#define API_REPORTS "/api/v1/reports"

struct sl_server {
	struct MHD_Daemon *daemon;
	sl_server_config cfg;
	sl_store *store;
	const sl_receipt_key *key;
	sl_commitq *queue;
	sl_ratelimit *rate;
	uint16_t port;
};

void sl_server_config_default(sl_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->host = "127.0.0.1";
	cfg->port = 8080;
	cfg->threads = 2;
	cfg->conn_limit = 1000;
	cfg->conn_timeout_s = 30;
	cfg->body_cap = 64 * 1024;
	cfg->queue_cap = 4096;
	cfg->batch_max = 512;
	cfg->rate.per_client_per_min = 20;
	cfg->rate.per_client_burst = 20;
	cfg->rate.global_per_sec = 500;
	cfg->rate.global_burst = 1000;
	cfg->rate.max_clients = 65536;
}

/* Where an intake request is in its life. */
typedef enum req_state {
	REQ_READING,   /* body arriving */
	REQ_WAITING,   /* suspended until the commit queue answers */
	REQ_COMMITTED, /* resumed: answer from commit_err / put_result */
} req_state;

typedef struct request {
	sl_server *srv;
	struct MHD_Connection *conn;
	req_state state;
	char *body;
	size_t len, seen;
	bool too_big;
	sl_arena *arena;
	sl_report report;
	char receipt[SL_RECEIPT_TEXT_MAX];
	sl_err commit_err;
	sl_put_result put_result;
} request;

/* Headers every response carries: nothing may be sniffed, framed, cached or
 * followed by a referrer that names the page an informant came from. */
static void add_common_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'none'; frame-ancestors 'none'");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Cache-Control", "no-store");
}

/* Queues status with body (malloc'd, freed by MHD; may be NULL). */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned status,
			       const char *type, char *body, const char *allow,
			       unsigned retry_after)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		body ? strlen(body) : 0, body, body ? MHD_RESPMEM_MUST_FREE
						    : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	add_common_headers(r);
	if (type)
		MHD_add_response_header(r, "Content-Type", type);
	if (allow)
		MHD_add_response_header(r, "Allow", allow);
	if (retry_after) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%u", retry_after);
		MHD_add_response_header(r, "Retry-After", buf);
	}
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status,
				    json_t *doc)
{
	char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!body)
		return MHD_NO;
	return respond(c, status, "application/json", body, NULL, 0);
}

static const char *status_title(unsigned status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	}
	return "Error";
}

/* An RFC 9457 problem document. detail is for people; why, when given, lists
 * each field and its reason for programs. */
static enum MHD_Result problem(struct MHD_Connection *c, unsigned status,
			       const char *detail, const sl_problems *why,
			       const char *allow, unsigned retry_after)
{
	char buf[2048];
	if (why && why->n) {
		sl_problems_format(why, buf, sizeof(buf));
		detail = buf;
	}
	json_t *doc = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title",
				status_title(status), "status", (int)status, "detail",
				detail);
	if (doc && why && why->n) {
		json_t *errors = json_array();
		for (size_t i = 0; errors && i < why->n; i++)
			json_array_append_new(errors,
					      json_pack("{s:s, s:s}", "field",
							why->items[i].field, "message",
							why->items[i].message));
		json_object_set_new(doc, "errors", errors);
	}
	char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!body)
		return MHD_NO;
	return respond(c, status, "application/problem+json", body, allow, retry_after);
}

static bool content_type_is_json(struct MHD_Connection *c)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!ct)
		return false;
	size_t n = strlen("application/json");
	if (strncasecmp(ct, "application/json", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* Keys the rate limit by the address bytes only: never the port, never a
 * forwarded-for header (which a client can forge and which names someone). */
static bool rate_allows(sl_server *srv, struct MHD_Connection *c, unsigned *retry)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const void *addr = "";
	size_t len = 0;
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET) {
			addr = &((const struct sockaddr_in *)sa)->sin_addr;
			len = sizeof(struct in_addr);
		} else if (sa->sa_family == AF_INET6) {
			addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
			len = sizeof(struct in6_addr);
		}
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	return sl_ratelimit_take(srv->rate, addr, len, now_ms, retry);
}

/* Runs on the writer thread when the report's batch has committed. */
static void commit_done(void *ud, sl_err err, sl_put_result result)
{
	request *rq = ud;
	rq->commit_err = err;
	rq->put_result = result;
	rq->state = REQ_COMMITTED;
	MHD_resume_connection(rq->conn);
}

static enum MHD_Result answer_committed(request *rq)
{
	struct MHD_Connection *c = rq->conn;
	if (rq->commit_err == SL_ECLOSED)
		return problem(c, 503, "the server is shutting down", NULL, NULL, 5);
	if (rq->commit_err != SL_OK)
		return problem(c, 503, "the report could not be stored; send it again",
			       NULL, NULL, 5);
	if (rq->put_result == SL_PUT_DUPLICATE)
		return problem(c, 409, "ref: a report with this ref is already stored",
			       NULL, NULL, 0);
	json_t *doc = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)rq->report.id,
				"receipt", rq->receipt, "status", "received");
	return respond_json(c, 201, doc);
}

/* The whole body is in: decode, validate, seal the receipt, queue. */
static enum MHD_Result intake(request *rq)
{
	sl_server *srv = rq->srv;
	struct MHD_Connection *c = rq->conn;
	if (rq->too_big) {
		char msg[96];
		snprintf(msg, sizeof(msg), "the body is larger than the limit of %zu bytes",
			 srv->cfg.body_cap);
		return problem(c, 413, msg, NULL, NULL, 0);
	}
	rq->arena = sl_arena_new(4 * srv->cfg.body_cap + 16384);
	if (!rq->arena)
		return problem(c, 503, "out of memory; send it again", NULL, NULL, 5);
	sl_problems why = {0};
	sl_err e = sl_report_from_json_text(rq->body ? rq->body : "", rq->len, 0,
					    sl_time_now(), rq->arena, &rq->report, &why);
	if (e == SL_EPARSE)
		return problem(c, 400, NULL, &why, NULL, 0);
	if (e == SL_EVALID)
		return problem(c, 422, NULL, &why, NULL, 0);
	if (e != SL_OK)
		return problem(c, 503, "out of memory; send it again", NULL, NULL, 5);
	if (sl_receipt_new(srv->key, rq->receipt, rq->report.receipt_hash) != SL_OK)
		return problem(c, 500, "could not make a receipt", NULL, NULL, 0);
	rq->report.has_receipt = true;
	/* Suspend before queueing, so the writer's resume can never come first. */
	rq->state = REQ_WAITING;
	MHD_suspend_connection(c);
	e = sl_commitq_submit(srv->queue, &rq->report, commit_done, rq);
	if (e != SL_OK) {
		rq->commit_err = e == SL_EBUSY ? SL_EBUSY : SL_ECLOSED;
		rq->state = REQ_COMMITTED;
		MHD_resume_connection(c);
	}
	return MHD_YES;
}

static enum MHD_Result report_status(sl_server *srv, struct MHD_Connection *c,
				     const char *receipt)
{
	uint8_t hash[SL_RECEIPT_HASH_BYTES];
	if (sl_receipt_hash(srv->key, receipt, hash) != SL_OK) {
		sl_problems why = {0};
		sl_problems_add(&why, "receipt",
				"is not a receipt (26 letters a-z and digits 2-7, dashes "
				"allowed)");
		return problem(c, 400, NULL, &why, NULL, 0);
	}
	sl_report_status st;
	sl_err e = sl_store_report_status(srv->store, hash, &st);
	if (e == SL_ENOTFOUND)
		return problem(c, 404, "no report has this receipt", NULL, NULL, 0);
	if (e != SL_OK)
		return problem(c, 503, "the store is unavailable; try again", NULL, NULL, 5);
	return respond_json(c, 200, json_pack("{s:s}", "status", sl_status_name(st)));
}

static enum MHD_Result count_length(void *cls, enum MHD_ValueKind kind,
				    const char *key, const char *value)
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

/* The first call for a request: everything that can be answered from the
 * request line and headers alone is answered here, before any body is read. */
static enum MHD_Result route(sl_server *srv, struct MHD_Connection *c,
			     const char *url, const char *method, void **con_cls)
{
	if (framing_ambiguous(c))
		return problem(c, 400, "more than one Content-Length header", NULL, NULL, 0);
	if (strcmp(url, API_REPORTS) == 0) {
		if (strcmp(method, "POST") != 0)
			return problem(c, 405, "use POST to send a report", NULL, "POST", 0);
		if (!content_type_is_json(c))
			return problem(c, 415, "Content-Type must be application/json",
				       NULL, NULL, 0);
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > srv->cfg.body_cap) {
			char msg[96];
			snprintf(msg, sizeof(msg),
				 "the body is larger than the limit of %zu bytes",
				 srv->cfg.body_cap);
			return problem(c, 413, msg, NULL, NULL, 0);
		}
		unsigned retry = 0;
		if (!rate_allows(srv, c, &retry))
			return problem(c, 429, "too many reports; wait and send again",
				       NULL, NULL, retry);
		request *rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		rq->srv = srv;
		rq->conn = c;
		*con_cls = rq;
		return MHD_YES;
	}
	if (strncmp(url, API_REPORTS "/", strlen(API_REPORTS) + 1) == 0) {
		const char *receipt = url + strlen(API_REPORTS) + 1;
		if (!is_get(method))
			return problem(c, 405, "use GET to look up a receipt", NULL,
				       "GET, HEAD", 0);
		return report_status(srv, c, receipt);
	}
	if (strcmp(url, "/healthz") == 0) {
		if (!is_get(method))
			return problem(c, 405, "use GET", NULL, "GET, HEAD", 0);
		return respond_json(c, 200, json_pack("{s:s}", "status", "ok"));
	}
	return problem(c, 404, "no such resource", NULL, NULL, 0);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version,
			      const char *upload_data, size_t *upload_data_size,
			      void **con_cls)
{
	(void)version;
	sl_server *srv = cls;
	request *rq = *con_cls;
	if (!rq)
		return route(srv, c, url, method, con_cls);
	if (rq->state == REQ_COMMITTED)
		return answer_committed(rq);
	if (rq->state == REQ_WAITING)
		return MHD_YES; /* spurious call while suspended */
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		rq->seen += n;
		/* Past the cap the data is dropped and 413 answered at the end;
		 * a sender that keeps going far beyond it is cut off. */
		if (rq->seen > 4 * srv->cfg.body_cap)
			return MHD_NO;
		if (rq->too_big || rq->len + n > srv->cfg.body_cap) {
			rq->too_big = true;
			return MHD_YES;
		}
		char *grown = realloc(rq->body, rq->len + n + 1);
		if (!grown)
			return MHD_NO;
		rq->body = grown;
		memcpy(rq->body + rq->len, upload_data, n);
		rq->len += n;
		return MHD_YES;
	}
	return intake(rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)c, (void)toe;
	request *rq = *con_cls;
	if (!rq)
		return;
	free(rq->body);
	sl_arena_free(rq->arena);
	free(rq);
	*con_cls = NULL;
}

static sl_err resolve(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
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

sl_err sl_server_start(const sl_server_config *cfg, sl_store *store,
		       const sl_receipt_key *key, sl_server **out)
{
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
	sl_err e = sl_ratelimit_new(&cfg->rate, &srv->rate);
	if (e == SL_OK)
		e = sl_commitq_start(store, cfg->queue_cap, cfg->batch_max, &srv->queue);
	if (e != SL_OK) {
		sl_server_stop(srv);
		return e;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->daemon = MHD_start_daemon(
		flags, cfg->port, NULL, NULL, handle, srv,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads ? cfg->threads : 1),
		MHD_OPTION_CONNECTION_LIMIT, cfg->conn_limit,
		MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout_s,
		/* Request line and headers must fit in this, so it also caps them. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
		MHD_OPTION_NOTIFY_COMPLETED, completed, srv,
		MHD_OPTION_END);
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

void sl_server_stop(sl_server *srv)
{
	if (!srv)
		return;
	/* Stop taking connections, let the queue commit and resume everyone it
	 * holds, then let MHD send those answers and close. */
	if (srv->daemon)
		MHD_quiesce_daemon(srv->daemon);
	sl_commitq_close(srv->queue);
	if (srv->daemon)
		MHD_stop_daemon(srv->daemon);
	sl_commitq_stop(srv->queue);
	sl_ratelimit_free(srv->rate);
	free(srv);
}
