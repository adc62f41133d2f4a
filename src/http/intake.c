/*
 * intake.c — the informant's endpoints.
 *
 *   POST /api/v1/reports                       a report: JSON, or multipart
 *                                              with a "report" part and up to
 *                                              five "photo" parts
 *   GET  /api/v1/reports/{receipt}             its status, nothing else
 *   POST /api/v1/reports/{receipt}/followups   more text, sealed like the rest
 *
 * A report is read into capped buffers, decoded and validated; its photos are
 * cleaned (media.h: decoded, metadata dropped, re-encoded); its text, contact
 * and photos are sealed to the moderators (sealing.h) and the plaintext
 * wiped; then it gets a receipt and goes to the commit queue, the connection
 * suspended until its batch is durable. Nothing the informant sent reaches
 * the disk in clear but the fields the engine needs.
 *
 * The steps after decoding — photo cleaning, sealing, the receipt, the
 * commit queue, follow-ups — are functions of their own (http_int.h), so
 * that the web form (form.c) and the Telegram bot (telegram.c) take the
 * same path as the JSON API rather than one beside it.
 *
 * Privacy: the client's address is read once, to key an in-memory rate limit
 * (ratelimit.c hashes it); no header is looked at beyond Content-Type and
 * Content-Length; a multipart file name is never looked at.
 */
#include "http/http_int.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "sightline/media.h"
#include "sightline/report_json.h"
#include "sightline/timefmt.h"

/* How far past its cap a body without Content-Length is read (and
 * dropped) to answer 413 rather than cut the connection: at most the cap
 * again, and never more than this. */
#define OVER_CAP_GRACE ((size_t)1 << 20)

/* The body a multipart report (or web form) may have: its report part or
 * fields, its photos, and room for the part headers and boundaries. */
static size_t multipart_cap(const sl_server_config *cfg)
{
	return cfg->body_cap + MAX_PHOTOS * cfg->photo_cap + 64 * 1024;
}

size_t sl_intake_body_cap(const sl_server *srv, req_kind kind)
{
	return kind == REQ_REPORT_MULTIPART || kind == REQ_FORM ? multipart_cap(&srv->cfg)
								: srv->cfg.body_cap;
}

static bool media_type_is(struct MHD_Connection *c, const char *want)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!ct)
		return false;
	size_t n = strlen(want);
	if (strncasecmp(ct, want, n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* Keys the rate limit by the address bytes only: never the port, never a
 * forwarded-for header (which a client can forge and which names someone). */
bool sl_intake_rate_allows(sl_server *srv, struct MHD_Connection *c, unsigned *retry)
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

static enum MHD_Result too_large(struct MHD_Connection *c, size_t cap)
{
	char msg[96];
	snprintf(msg, sizeof(msg), "the body is larger than the limit of %zu bytes", cap);
	return sl_http_problem(c, 413, msg, NULL, NULL, 0);
}

/* Appends n bytes to *buf (length *len) unless that passes cap. */
static bool append(uint8_t **buf, size_t *len, const void *data, size_t n, size_t cap)
{
	if (n > cap || *len > cap - n)
		return false;
	uint8_t *grown = realloc(*buf, *len + n + 1);
	if (!grown)
		return false;
	memcpy(grown + *len, data, n);
	*len += n;
	grown[*len] = 0;
	*buf = grown;
	return true;
}

/* The multipart parts as libmicrohttpd's post processor hands them over, a
 * piece at a time (off 0 starts a part). Problems are collected and answered
 * when the body is complete; the file name is ignored on purpose. */
static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *filename, const char *content_type,
			       const char *transfer_encoding, const char *data,
			       uint64_t off, size_t size)
{
	(void)kind, (void)filename, (void)content_type, (void)transfer_encoding;
	request *rq = cls;
	const sl_server_config *cfg = &rq->srv->cfg;
	bool form = rq->kind == REQ_FORM || rq->kind == REQ_FORM_STATUS;
	if (form && key && strcmp(key, "photo") == 0 && off == 0 && size == 0)
		return MHD_YES; /* a file input left empty */
	if (form && key && strcmp(key, "photo") != 0)
		return sl_form_part(rq, key, data, off, size) ? MHD_YES : MHD_NO;
	if (!key) { /* a part without name= */
		if (off == 0)
			sl_problems_add(&rq->parts, "multipart", "a part has no name");
		return MHD_YES;
	}
	if (strcmp(key, "report") == 0) {
		if (off == 0 && rq->body) {
			sl_problems_add(&rq->parts, "report", "was sent more than once");
			return MHD_YES;
		}
		if (!rq->body && !(rq->body = calloc(1, 1)))
			return MHD_NO;
		if (!append((uint8_t **)&rq->body, &rq->len, data, size, cfg->body_cap))
			rq->too_big = true;
	} else if (strcmp(key, "photo") == 0 && rq->kind != REQ_FORM_STATUS) {
		if (off == 0) {
			if (rq->n_photos == MAX_PHOTOS) {
				sl_problems_add(&rq->parts, "photo",
						"more than %d photos", MAX_PHOTOS);
				return MHD_YES;
			}
			rq->n_photos++;
		}
		if (rq->n_photos == 0)
			return MHD_YES;
		photo_buf *p = &rq->photos[rq->n_photos - 1];
		if (!append(&p->data, &p->len, data, size, cfg->photo_cap)) {
			char f[32];
			snprintf(f, sizeof(f), "photo[%zu]", rq->n_photos - 1);
			if (rq->parts.n == 0 || strcmp(rq->parts.items[rq->parts.n - 1].field, f))
				sl_problems_add(&rq->parts, f,
						"is larger than the limit of %zu bytes",
						cfg->photo_cap);
		}
	} else if (off == 0) {
		/* Not echoed: a part name is the sender's text, of any shape. */
		sl_problems_add(&rq->parts, "multipart",
				"only parts named report and photo are accepted");
	}
	return MHD_YES;
}

enum MHD_Result sl_intake_begin(sl_server *srv, struct MHD_Connection *c,
				req_kind kind, const char *receipt, void **con_cls)
{
	uint8_t hash[SL_RECEIPT_HASH_BYTES] = {0};
	if (kind == REQ_FOLLOWUP && sl_receipt_hash(srv->key, receipt, hash) != SL_OK) {
		sl_problems why = {0};
		sl_problems_add(&why, "receipt",
				"is not a receipt (26 letters a-z and digits 2-7, dashes "
				"allowed)");
		return sl_http_problem(c, 400, NULL, &why, NULL, 0);
	}
	if (kind == REQ_REPORT_JSON && media_type_is(c, "multipart/form-data"))
		kind = REQ_REPORT_MULTIPART;
	else if (!media_type_is(c, "application/json"))
		return sl_http_problem(c, 415,
				       kind == REQ_FOLLOWUP
					       ? "Content-Type must be application/json"
					       : "Content-Type must be application/json, or "
						 "multipart/form-data with photos",
				       NULL, NULL, 0);
	size_t cap = sl_intake_body_cap(srv, kind);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > cap)
		return too_large(c, cap);
	unsigned retry = 0;
	if (!sl_intake_rate_allows(srv, c, &retry))
		return sl_http_problem(c, 429, "too many reports; wait and send again",
				       NULL, NULL, retry);
	request *rq = sl_intake_request_new(srv, c, kind);
	if (!rq && kind == REQ_REPORT_MULTIPART) {
		sl_problems why = {0};
		sl_problems_add(&why, "Content-Type",
				"multipart/form-data needs a boundary parameter");
		return sl_http_problem(c, 400, NULL, &why, NULL, 0);
	}
	if (!rq)
		return MHD_NO;
	if (!sl_intake_reserve_length(rq)) {
		sl_intake_free(rq);
		return sl_intake_busy(c);
	}
	memcpy(rq->receipt_hash, hash, sizeof(hash));
	*con_cls = rq;
	return MHD_YES;
}

bool sl_intake_reserve_length(request *rq)
{
	const char *cl = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	return !cl || sl_load_reserve(rq->srv, rq, strtoull(cl, NULL, 10));
}

request *sl_intake_request_new(sl_server *srv, struct MHD_Connection *c, req_kind kind)
{
	request *rq = calloc(1, sizeof(*rq));
	if (!rq)
		return NULL;
	rq->srv = srv;
	rq->conn = c;
	rq->kind = kind;
	if (kind == REQ_REPORT_MULTIPART || kind == REQ_FORM || kind == REQ_FORM_STATUS) {
		rq->pp = MHD_create_post_processor(c, 64 * 1024, on_part, rq);
		if (!rq->pp) {
			free(rq);
			return NULL;
		}
	}
	return rq;
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

/* What intake_report says of a report it could not take; the same for a
 * refusal found on the MHD thread and one found by an intake worker. */
static enum MHD_Result refuse(struct MHD_Connection *c, sl_err e, const sl_problems *why)
{
	switch (e) {
	case SL_EVALID:
		return sl_http_problem(c, 422, NULL, why, NULL, 0);
	case SL_ECLOSED:
		return sl_http_problem(c, 503,
				       "this server has no moderators yet, so it cannot "
				       "accept text, contact or photos; send the report "
				       "without them",
				       NULL, NULL, 60);
	case SL_EBUSY:
		return sl_intake_busy(c);
	case SL_ENOMEM:
		return sl_http_problem(c, 503, "out of memory; send it again", NULL, NULL,
				       5);
	default:
		return sl_http_problem(c, 500, "could not seal the report", NULL, NULL,
				       0);
	}
}

enum MHD_Result sl_intake_busy(struct MHD_Connection *c)
{
	return sl_http_problem(c, 503,
			       "the server is taking in more reports than it can seal "
			       "right now, or it is stopping; nothing was stored: send "
			       "it again in a few seconds",
			       NULL, NULL, BUSY_RETRY_S);
}

static enum MHD_Result answer_committed(request *rq)
{
	struct MHD_Connection *c = rq->conn;
	if (rq->kind == REQ_FORM)
		return sl_form_committed(rq);
	if (rq->work_err != SL_OK)
		return refuse(c, rq->work_err, &rq->work_why);
	if (rq->commit_err == SL_ECLOSED)
		return sl_http_problem(c, 503, "the server is shutting down", NULL, NULL, 5);
	if (rq->commit_err == SL_EBUSY)
		return sl_intake_busy(c);
	if (rq->commit_err != SL_OK)
		return sl_http_problem(c, 503, "the report could not be stored; send it again",
				       NULL, NULL, 5);
	if (rq->put_result == SL_PUT_DUPLICATE)
		return sl_http_problem(c, 409, "ref: a report with this ref is already stored",
				       NULL, NULL, 0);
	json_t *doc = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)rq->report.id,
				"receipt", rq->receipt, "status", "received");
	return sl_http_json(c, 201, doc);
}

sl_err sl_intake_clean_photo(sl_server *srv, const void *in, size_t len, void **out,
			     size_t *out_len, char *why, size_t why_size)
{
	sl_media_limits lim;
	sl_media_limits_default(&lim);
	lim.max_bytes = srv->cfg.photo_cap;
	return sl_media_clean(in, len, &lim, out, out_len, why, why_size);
}

/* Replaces each photo by its cleaned JPEG; the originals are wiped. Adds a
 * reason per photo that cannot be cleaned. */
static sl_err clean_photos(request *rq, sl_problems *why)
{
	for (size_t i = 0; i < rq->n_photos; i++) {
		photo_buf *p = &rq->photos[i];
		char reason[160] = "";
		void *out = NULL;
		size_t out_len = 0;
		sl_err e = sl_intake_clean_photo(rq->srv, p->data, p->len, &out, &out_len,
						 reason, sizeof(reason));
		if (e == SL_ENOMEM)
			return e;
		if (e != SL_OK) {
			char f[32];
			snprintf(f, sizeof(f), "photo[%zu]", i);
			sl_problems_add(why, f, "%s", reason[0] ? reason : "cannot be read");
			continue;
		}
		sodium_memzero(p->data, p->len);
		free(p->data);
		p->data = out;
		p->len = out_len;
	}
	return SL_OK;
}

sl_err sl_intake_seal(sl_server *srv, sl_report *r, const sl_photo *photos, size_t n,
		      sl_arena *a, char receipt[SL_RECEIPT_TEXT_MAX])
{
	pthread_rwlock_rdlock(&srv->rc_lock);
	sl_err e = sl_report_seal(r, &srv->rc, photos, n, sl_time_now(), a);
	pthread_rwlock_unlock(&srv->rc_lock);
	if (e == SL_ECLOSED || e == SL_ENOMEM)
		return e;
	if (e != SL_OK || sl_receipt_new(srv->key, receipt, r->receipt_hash) != SL_OK)
		return SL_ECRYPTO;
	r->has_receipt = true;
	return SL_OK;
}

bool sl_intake_arena(request *rq)
{
	const sl_server_config *cfg = &rq->srv->cfg;
	rq->arena = sl_arena_new(4 * cfg->body_cap + 16384 +
				 rq->n_photos * (cfg->photo_cap + 4096));
	return rq->arena != NULL;
}

sl_err sl_intake_queue(request *rq)
{
	pthread_rwlock_rdlock(&rq->srv->rc_lock);
	bool no_one = rq->srv->rc.n == 0;
	pthread_rwlock_unlock(&rq->srv->rc_lock);
	if (no_one && sl_report_has_sensitive(&rq->report, rq->n_photos))
		return SL_ECLOSED;
	return sl_load_submit(rq->srv, rq);
}

sl_err sl_intake_work(request *rq)
{
	sl_server *srv = rq->srv;
	sl_err e = clean_photos(rq, &rq->work_why);
	if (e != SL_OK)
		return e;
	if (rq->work_why.n)
		return SL_EVALID;
	sl_photo photos[MAX_PHOTOS];
	for (size_t i = 0; i < rq->n_photos; i++)
		photos[i] = (sl_photo){rq->photos[i].data, rq->photos[i].len};
	e = sl_intake_seal(srv, &rq->report, photos, rq->n_photos, rq->arena,
			   rq->receipt);
	if (e != SL_OK)
		return e;
	e = sl_commitq_submit(srv->queue, &rq->report, commit_done, rq);
	if (e != SL_OK) {
		rq->commit_err = e == SL_EBUSY ? SL_EBUSY : SL_ECLOSED;
		rq->state = REQ_COMMITTED;
		MHD_resume_connection(rq->conn);
	}
	return SL_OK;
}

/* A submitter waiting on its own thread for the commit queue's answer. */
typedef struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t done_cv;
	bool done;
	sl_err err;
	sl_put_result result;
} waiter;

static void wake(void *ud, sl_err err, sl_put_result result)
{
	waiter *w = ud;
	pthread_mutex_lock(&w->lock);
	w->err = err;
	w->result = result;
	w->done = true;
	pthread_cond_signal(&w->done_cv);
	pthread_mutex_unlock(&w->lock);
}

sl_err sl_intake_commit_wait(sl_server *srv, sl_report *r, sl_put_result *result)
{
	waiter w = {.done = false};
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.done_cv, NULL);
	sl_err e = sl_commitq_submit(srv->queue, r, wake, &w);
	if (e == SL_OK) {
		pthread_mutex_lock(&w.lock);
		while (!w.done)
			pthread_cond_wait(&w.done_cv, &w.lock);
		pthread_mutex_unlock(&w.lock);
		e = w.err;
		*result = w.result;
	}
	pthread_cond_destroy(&w.done_cv);
	pthread_mutex_destroy(&w.lock);
	return e;
}

/* The whole body is in: decode, validate, clean, seal, queue. */
static enum MHD_Result intake_report(request *rq)
{
	struct MHD_Connection *c = rq->conn;
	if (rq->kind == REQ_REPORT_MULTIPART) {
		if (rq->parts.n)
			return sl_http_problem(c, 422, NULL, &rq->parts, NULL, 0);
		if (!rq->body) {
			sl_problems why = {0};
			sl_problems_add(&why, "report", "is a required part");
			return sl_http_problem(c, 422, NULL, &why, NULL, 0);
		}
	}
	if (!sl_intake_arena(rq))
		return sl_http_problem(c, 503, "out of memory; send it again", NULL, NULL,
				       5);
	sl_problems why = {0};
	sl_err e = sl_report_from_json_text(rq->body ? rq->body : "", rq->len, 0,
					    sl_time_now(), rq->arena, &rq->report, &why);
	if (e == SL_EPARSE)
		return sl_http_problem(c, 400, NULL, &why, NULL, 0);
	if (e == SL_OK)
		e = sl_intake_queue(rq);
	return e == SL_OK ? MHD_YES : refuse(c, e, &why);
}

/* A follow-up is {"text": "..."}: decoded as strictly as a report. */
static enum MHD_Result intake_followup(request *rq)
{
	sl_server *srv = rq->srv;
	struct MHD_Connection *c = rq->conn;
	sl_problems why = {0};
	json_error_t jerr;
	json_t *doc = json_loadb(rq->body ? rq->body : "", rq->len, JSON_REJECT_DUPLICATES,
				 &jerr);
	if (!doc) {
		sl_problems_add(&why, "", "malformed JSON at line %d, column %d: %s",
				jerr.line, jerr.column, jerr.text);
		return sl_http_problem(c, 400, NULL, &why, NULL, 0);
	}
	const char *key;
	json_t *v, *text = NULL;
	if (!json_is_object(doc))
		sl_problems_add(&why, "", "expected a JSON object");
	else
		json_object_foreach(doc, key, v) {
			if (strcmp(key, "text") == 0) {
				text = v;
			} else {
				char f[64];
				snprintf(f, sizeof(f), "%.60s", key);
				sl_problems_add(&why, f, "is not a known field (only text)");
			}
		}
	if (!why.n && !json_is_string(text))
		sl_problems_add(&why, "text", text ? "expected a string" : "is required");
	if (!why.n) {
		size_t n = json_string_length(text);
		const char *s = json_string_value(text);
		if (n > SL_REPORT_MAX_TEXT)
			sl_problems_add(&why, "text", "%zu bytes is longer than the limit of %d",
					n, SL_REPORT_MAX_TEXT);
		else if (!sl_utf8_text_ok(s, n) || strspn(s, " \t\r\n") == n)
			sl_problems_add(&why, "text",
					"is empty or has control characters");
	}
	if (why.n) {
		json_decref(doc);
		return sl_http_problem(c, 422, NULL, &why, NULL, 0);
	}
	sl_err e = sl_intake_followup(srv, rq->receipt_hash, json_string_value(text),
				      json_string_length(text));
	sodium_memzero((char *)json_string_value(text), json_string_length(text));
	json_decref(doc);
	if (e == SL_ENOTFOUND)
		return sl_http_problem(c, 404, "no report has this receipt", NULL, NULL,
				       0);
	if (e == SL_ECLOSED)
		return refuse(c, SL_ECLOSED, NULL);
	if (e != SL_OK)
		return sl_http_problem(c, 503, "the follow-up could not be stored; send it "
					       "again", NULL, NULL, 5);
	return sl_http_json(c, 201, json_pack("{s:s}", "status", "received"));
}

sl_err sl_intake_followup(sl_server *srv, const uint8_t hash[SL_RECEIPT_HASH_BYTES],
			  const char *text, size_t len)
{
	int64_t id;
	sl_report_status st;
	sl_err e = sl_store_report_status(srv->store, hash, &id, &st);
	if (e != SL_OK)
		return e;
	sl_arena *a = sl_arena_new(4 * SL_REPORT_MAX_TEXT + 16384);
	if (!a)
		return SL_ENOMEM;
	sl_sealed item;
	pthread_rwlock_rdlock(&srv->rc_lock);
	e = sl_followup_seal(text, len, &srv->rc, sl_time_now(), a, &item);
	pthread_rwlock_unlock(&srv->rc_lock);
	if (e == SL_OK)
		e = sl_store_put_sealed(srv->store, id, &item);
	sl_arena_free(a);
	return e;
}

enum MHD_Result sl_intake_continue(request *rq, const char *data, size_t *size)
{
	if (rq->state == REQ_COMMITTED) {
		sl_http_unpark(rq->srv, &rq->head);
		return answer_committed(rq);
	}
	if (rq->state == REQ_WAITING)
		return MHD_YES; /* a spurious call while suspended */
	size_t cap = sl_intake_body_cap(rq->srv, rq->kind);
	if (*size) {
		size_t n = *size;
		*size = 0;
		rq->seen += n;
		/* Past the cap the data is dropped and 413 answered at the end
		 * (libmicrohttpd cannot answer before the body is in); a sender
		 * that keeps going past the grace is cut off there. Only a body
		 * without Content-Length gets here: a longer one was refused
		 * before it was read. */
		if (rq->seen > cap + (cap < OVER_CAP_GRACE ? cap : OVER_CAP_GRACE))
			return MHD_NO;
		/* Every byte buffered counts against the server's budget: a
		 * Content-Length was counted whole when the request began; a
		 * body without one counts as it comes, and when the budget runs
		 * out the rest is dropped and 503 answered at the end. */
		if (!rq->too_big && !rq->over_budget && rq->seen > rq->reserved &&
		    !sl_load_reserve(rq->srv, rq, rq->seen - rq->reserved))
			rq->over_budget = true;
		if (rq->too_big || rq->over_budget)
			return MHD_YES;
		if (rq->pp) {
			if (rq->seen > cap)
				rq->too_big = true;
			else if (MHD_post_process(rq->pp, data, n) != MHD_YES)
				sl_problems_add(&rq->parts, "multipart",
						"the body is not well-formed multipart");
			return MHD_YES;
		}
		if (!append((uint8_t **)&rq->body, &rq->len, data, n, cap))
			rq->too_big = true;
		return MHD_YES;
	}
	if (rq->pp) {
		/* MHD_NO: the body ended before its closing boundary, so the last
		 * part may be cut short. */
		if (MHD_destroy_post_processor(rq->pp) != MHD_YES && !rq->too_big)
			sl_problems_add(&rq->parts, "multipart",
					"the body ends before its closing boundary");
		rq->pp = NULL;
	}
	if (rq->kind == REQ_FORM || rq->kind == REQ_FORM_STATUS)
		return sl_form_submit(rq);
	if (rq->too_big)
		return too_large(rq->conn, cap);
	if (rq->over_budget)
		return sl_intake_busy(rq->conn);
	if (rq->kind == REQ_TELEGRAM)
		return sl_telegram_update(rq);
	return rq->kind == REQ_FOLLOWUP ? intake_followup(rq) : intake_report(rq);
}

void sl_intake_free(request *rq)
{
	sl_load_release(rq->srv, rq);
	if (rq->pp)
		MHD_destroy_post_processor(rq->pp);
	sl_form_fields_free(rq->form);
	if (rq->body) {
		sodium_memzero(rq->body, rq->len);
		free(rq->body);
	}
	for (size_t i = 0; i < rq->n_photos; i++) {
		if (rq->photos[i].data)
			sodium_memzero(rq->photos[i].data, rq->photos[i].len);
		free(rq->photos[i].data);
	}
	sl_arena_free(rq->arena);
	free(rq);
}

enum MHD_Result sl_intake_status(sl_server *srv, struct MHD_Connection *c,
				 const char *receipt)
{
	uint8_t hash[SL_RECEIPT_HASH_BYTES];
	if (sl_receipt_hash(srv->key, receipt, hash) != SL_OK) {
		sl_problems why = {0};
		sl_problems_add(&why, "receipt",
				"is not a receipt (26 letters a-z and digits 2-7, dashes "
				"allowed)");
		return sl_http_problem(c, 400, NULL, &why, NULL, 0);
	}
	sl_report_status st;
	sl_err e = sl_store_report_status(srv->store, hash, NULL, &st);
	if (e == SL_ENOTFOUND)
		return sl_http_problem(c, 404, "no report has this receipt", NULL, NULL, 0);
	if (e != SL_OK)
		return sl_http_problem(c, 503, "the store is unavailable; try again", NULL,
				       NULL, 5);
	return sl_http_json(c, 200, json_pack("{s:s}", "status", sl_status_name(st)));
}
