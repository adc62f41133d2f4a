/*
 * http_int.h — what server.c (daemon, routing, answers), intake.c (the
 * informant's endpoints), mod.c (moderators' sign-in and their API),
 * console.c (the moderator console's pages) and web.c (its static files)
 * share.
 */
#ifndef SIGHTLINE_HTTP_INT_H
#define SIGHTLINE_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <jansson.h>

#include "sightline/audit.h"
#include "sightline/commitq.h"
#include "sightline/publish.h"
#include "sightline/place.h"
#include "sightline/report.h"
#include "sightline/sealing.h"
#include "sightline/server.h"

#define API_REPORTS "/api/v1/reports"
#define MAX_PHOTOS 5

/* The moderators' side of the server (mod.c): sessions, sign-in workers,
 * failed sign-in delays. */
typedef struct sl_mod sl_mod;

/* The public side (public.c: the feed cache and the network), the CoT
 * stream (cot.c) and the webhook sender (webhook.c). */
typedef struct sl_public sl_public;
typedef struct sl_cot sl_cot;
typedef struct sl_webhooks sl_webhooks;
/* The Telegram bot (telegram.c): its secrets, conversations and workers. */
typedef struct sl_telegram sl_telegram;

/* Intake under load (load.c): the queue of reports to seal, its workers,
 * the budget of body bytes in memory. */
typedef struct sl_load sl_load;

/* Slow clients (guard.c): every connection's deadline. */
typedef struct sl_guard sl_guard;

/* Retry-After of a 503 for a busy server: the queue is full, or too far
 * behind, or the budget is spent. */
#define BUSY_RETRY_S 2

struct sl_server {
	struct MHD_Daemon *daemon;
	sl_server_config cfg;
	sl_store *store;
	const sl_receipt_key *key;
	sl_audit *audit;
	sl_mod *mod;
	sl_telegram *telegram; /* NULL unless the bot is configured */
	sl_commitq *queue;
	sl_load *load;
	sl_guard *guard; /* NULL when its timeouts are off */
	sl_ratelimit *rate;
	sl_gazetteer *gazetteer; /* towns and cfg.stations, for place names */
	uint16_t port;

	/* The moderators new items are sealed to, refreshed by the
	 * maintenance thread so that one added or removed with the CLI while
	 * the server runs counts within seconds. */
	pthread_rwlock_t rc_lock;
	sl_recipients rc;

	/* Parked (suspended) connections, and whether parking is over. */
	pthread_mutex_t park_lock;
	size_t parked;
	bool parking_closed;

	/* The corroboration engine's thread (engine.c). */
	pthread_t engine;
	bool engine_started;
	pthread_mutex_t engine_lock;
	pthread_cond_t engine_wake;
	bool engine_stopping;

	/* Publication (docs/PUBLISH.md): the policy's snapshots, the feeds,
	 * the publisher thread that records what is newly published and
	 * hands it to the CoT stream and the webhook sender. */
	sl_publish *publish;
	sl_public *pub;
	sl_cot *cot;
	sl_webhooks *hooks;
	pthread_t publisher;
	bool publisher_started;
	pthread_mutex_t publisher_lock;
	pthread_cond_t publisher_wake;
	bool publisher_stopping;

	/* The maintenance thread: recipients, retention purges, sessions. */
	pthread_t maint;
	bool maint_started;
	pthread_mutex_t maint_lock;
	pthread_cond_t maint_wake;
	bool stopping;
};

/* What an intake request carries. */
typedef enum req_kind {
	REQ_REPORT_JSON,      /* POST /api/v1/reports, application/json */
	REQ_REPORT_MULTIPART, /* the same, multipart/form-data with photos */
	REQ_FOLLOWUP,	      /* POST /api/v1/reports/{receipt}/followups */
	REQ_FORM,	      /* POST /report: the web form, urlencoded or
				 multipart with photos (form.c) */
	REQ_FORM_STATUS,      /* POST /report/status: a receipt looked up,
				 and perhaps a follow-up, from a form */
	REQ_TELEGRAM,	      /* POST /telegram/webhook: a Bot API Update
				 (telegram.c) */
} req_kind;

/* Where an intake request is in its life. */
typedef enum req_state {
	REQ_READING,   /* body arriving */
	REQ_WAITING,   /* suspended until the commit queue answers */
	REQ_COMMITTED, /* resumed: answer from commit_err / put_result */
} req_state;

/* Whose a connection's per-request state (*con_cls) is: each kind begins
 * with this field, so that server.c can hand later calls to the right
 * module. A calloc'd intake request is CONN_INTAKE without saying so. */
typedef enum conn_owner {
	CONN_INTAKE = 0, /* request, intake.c */
	CONN_MOD,	 /* mod_request, mod.c */
} conn_owner;

/* The first member of every request struct: whose it is, and whether its
 * connection is parked (suspended, see sl_http_park). */
typedef struct conn_head {
	conn_owner owner;
	bool parked;
} conn_head;

/* Suspends c until another thread resumes it, counting it as parked, so
 * that sl_server_stop can wait for every parked connection to be back in
 * libmicrohttpd's hands: MHD_stop_daemon aborts the process if one is still
 * suspended. false, and nothing suspended, once the server is stopping:
 * the caller answers 503 instead. */
bool sl_http_park(sl_server *srv, struct MHD_Connection *c, conn_head *h);

/* Called by a module when its handler runs again after the resume (and by
 * the request's end, in case it never did). */
void sl_http_unpark(sl_server *srv, conn_head *h);

typedef struct photo_buf {
	uint8_t *data;
	size_t len;
} photo_buf;

/* The fields of a web form as they arrive (form.c). */
typedef struct form_fields form_fields;

typedef struct request {
	conn_head head; /* first: CONN_INTAKE */
	sl_server *srv;
	struct MHD_Connection *conn;
	req_kind kind;
	req_state state;
	char *body; /* the JSON: the whole body, or the multipart "report" part */
	size_t len, seen;
	bool too_big;
	struct MHD_PostProcessor *pp;
	photo_buf photos[MAX_PHOTOS];
	size_t n_photos;
	sl_problems parts;	  /* what was wrong with the multipart parts */
	form_fields *form;	  /* REQ_FORM, REQ_FORM_STATUS: the fields */
	uint8_t receipt_hash[32]; /* of a follow-up's report */
	sl_arena *arena;
	sl_report report;
	char receipt[SL_RECEIPT_TEXT_MAX];
	sl_err commit_err;
	sl_put_result put_result;
	/* load.c: body bytes counted against the budget, and whether it ran
	 * out; when the report went to the intake queue, and what became of
	 * it there (SL_OK: it went on to the commit queue; else why not,
	 * with work_why for photos that cannot be used). */
	size_t reserved;
	bool over_budget;
	uint64_t queued_ms;
	sl_err work_err;
	sl_problems work_why;
	void *form_state; /* REQ_FORM: the form's errors (form.c), in arena */
} request;

/* Answers (server.c). respond takes a malloc'd body (freed by MHD). */
enum MHD_Result sl_http_respond(struct MHD_Connection *c, unsigned status,
				const char *type, char *body, const char *allow,
				unsigned retry_after);
/* doc (taken, decref'd) as an application/json answer, with extra headers
 * as sl_http_respond_with takes them (may be NULL). */
enum MHD_Result sl_http_json_with(struct MHD_Connection *c, unsigned status, json_t *doc,
				  const char *const *headers);
/* The same with extra headers: pairs of name and value, ending with NULL
 * (may be NULL). type and body may be NULL (no body). */
enum MHD_Result sl_http_respond_with(struct MHD_Connection *c, unsigned status,
				     const char *type, char *body,
				     const char *const *headers);
/* The same with a body of len bytes that need not be text (malloc'd, freed
 * by MHD). A "Content-Security-Policy" among headers replaces the common
 * one. */
enum MHD_Result sl_http_respond_bytes(struct MHD_Connection *c, unsigned status,
				      const char *type, void *body, size_t len,
				      const char *const *headers);
/* Queues r (taken: destroyed here) with the common headers, type and the
 * extra headers, as sl_http_respond_bytes does; a Content-Security-Policy
 * or Cache-Control among headers replaces the common one. */
enum MHD_Result sl_http_queue(struct MHD_Connection *c, unsigned status,
			      struct MHD_Response *r, const char *type,
			      const char *const *headers);
enum MHD_Result sl_http_json(struct MHD_Connection *c, unsigned status, json_t *doc);
/* The page in h (taken, freed) as text/html with status, the policy csp,
 * Cross-Origin-Opener- and -Resource-Policy same-origin, Retry-After when
 * retry_after is not 0 and Allow when allow is not NULL; a 503 problem
 * when the page could not be built. */
struct sl_html;
enum MHD_Result sl_http_page(struct MHD_Connection *c, unsigned status, struct sl_html *h,
			     const char *csp, unsigned retry_after, const char *allow);
enum MHD_Result sl_http_problem(struct MHD_Connection *c, unsigned status,
				const char *detail, const sl_problems *why,
				const char *allow, unsigned retry_after);

/* intake.c: the first call of an intake request (after routing), each
 * later call, and the request's end. */
enum MHD_Result sl_intake_begin(sl_server *srv, struct MHD_Connection *c,
				req_kind kind, const char *receipt, void **con_cls);
enum MHD_Result sl_intake_continue(request *rq, const char *data, size_t *size);
void sl_intake_free(request *rq);

/* GET /api/v1/reports/{receipt} (intake.c). */
enum MHD_Result sl_intake_status(sl_server *srv, struct MHD_Connection *c,
				 const char *receipt);

/* ---- intake's steps, for every way a report comes in (intake.c): the
 * JSON API, the web form (form.c) and the Telegram bot (telegram.c) ---- */

/* A new intake request of kind for c, with a post processor when its body
 * is a form (multipart, or urlencoded for the web form); NULL when out of
 * memory or the Content-Type has no usable boundary. The caller has done
 * the checks that need no body. */
request *sl_intake_request_new(sl_server *srv, struct MHD_Connection *c, req_kind kind);

/* Counts rq's Content-Length, when it has one, against the upload budget
 * (load.c) before its body is read: false when it does not fit (answer
 * 503; free rq). A body without one is counted as it arrives. */
bool sl_intake_reserve_length(request *rq);

/* The body cap of a request of kind: JSON or a small form, or a form with
 * photos. */
size_t sl_intake_body_cap(const sl_server *srv, req_kind kind);

/* Takes one token of the rate limit for c's address (never anything else
 * of the request); false with *retry (seconds) when over it. */
bool sl_intake_rate_allows(sl_server *srv, struct MHD_Connection *c, unsigned *retry);

/* rq->arena, sized for rq's body and photos; false when out of memory. */
bool sl_intake_arena(request *rq);

/* Cleans one photo as uploaded (media.h) with the server's limits into
 * *out (malloc'd; the caller wipes and frees it); why gets the reason of a
 * refusal, never quoting the image. Errors as sl_media_clean. */
sl_err sl_intake_clean_photo(sl_server *srv, const void *in, size_t len, void **out,
			     size_t *out_len, char *why, size_t why_size);

/* Seals r's text, contact and the n cleaned photos to the moderators of
 * this moment (wiping r's plaintext) and gives r a receipt, its text in
 * receipt. SL_ECLOSED when something must be sealed and there is no
 * moderator; SL_ECRYPTO when sealing or the receipt failed; SL_ENOMEM. */
sl_err sl_intake_seal(sl_server *srv, sl_report *r, const sl_photo *photos, size_t n,
		      sl_arena *a, char receipt[SL_RECEIPT_TEXT_MAX]);

/* rq->report is decoded and valid: parks the connection and hands rq to
 * the intake queue (load.c), whose worker cleans the photos, seals, makes
 * the receipt and passes it to the commit queue (sl_intake_work); the
 * answer is given when the connection resumes (answer_committed, or
 * sl_form_committed), from rq->work_err, then commit_err. SL_OK when
 * queued. Otherwise nothing is queued or parked: SL_ECLOSED, there is
 * something to seal and no moderator to seal it to; SL_EBUSY, the queue
 * is full or too far behind, or the server is stopping (503 and
 * Retry-After: send it again). */
sl_err sl_intake_queue(request *rq);

/* An intake worker's part of rq (parked): cleans its photos, seals it,
 * gives it a receipt and submits it to the commit queue, which resumes
 * the connection; SL_OK then. Otherwise (nothing submitted, the caller
 * resumes): SL_EVALID with rq->work_why naming the photos that cannot be
 * used; SL_ECLOSED, no moderator to seal to; SL_ENOMEM; SL_ECRYPTO. */
sl_err sl_intake_work(request *rq);

/* 503, busy: nothing was stored, send it again (Retry-After). */
enum MHD_Result sl_intake_busy(struct MHD_Connection *c);

/* ---- intake under load (load.c) ---- */

/* Starts cfg.intake_workers workers on a queue of cfg.intake_queue
 * requests; sl_load_close stops taking requests and waits for the workers
 * to answer every one still queued (503); sl_load_free closes and frees.
 * On failure what was made is left for sl_load_free. */
sl_err sl_load_start(sl_server *srv);
void sl_load_close(sl_server *srv);
void sl_load_free(sl_server *srv);

/* Queues rq, parked, for a worker: SL_OK; SL_EBUSY when the queue is full
 * or its head has waited cfg.intake_wait_ms (nothing parked); SL_ECLOSED
 * when stopping. */
sl_err sl_load_submit(sl_server *srv, request *rq);

/* Counts n more body bytes of rq against cfg.upload_budget: false, and
 * nothing counted, when they do not fit. */
bool sl_load_reserve(sl_server *srv, request *rq, size_t n);
/* Gives back everything rq counted (its end). */
void sl_load_release(sl_server *srv, request *rq);

/* Monotonic milliseconds. */
uint64_t sl_load_now_ms(void);

/* ---- slow clients (guard.c) ---- */

/* Starts the thread that cuts connections past their deadline
 * (cfg.header_timeout_s, body_timeout_s, min_body_rate; nothing when both
 * timeouts are 0); sl_guard_stop ends it, after MHD_stop_daemon. */
sl_err sl_guard_start(sl_server *srv);
void sl_guard_stop(sl_server *srv);

/* libmicrohttpd's connection notices (MHD_OPTION_NOTIFY_CONNECTION): a
 * new connection gets its head's deadline; a closed one is forgotten
 * (before its socket is closed). */
void sl_guard_opened(sl_server *srv, struct MHD_Connection *c, void **socket_context);
void sl_guard_closed(sl_server *srv, void **socket_context);

/* The request's head is in: a body's deadline when it has a body, else
 * none. n more bytes of its body came. The body is all in: none. The
 * request is over: the next head's deadline. */
void sl_guard_head_done(sl_server *srv, struct MHD_Connection *c);
void sl_guard_body(sl_server *srv, struct MHD_Connection *c, size_t n);
void sl_guard_body_done(sl_server *srv, struct MHD_Connection *c);
void sl_guard_request_done(sl_server *srv, struct MHD_Connection *c);

/* Connections cut so far, in their head and in their body. */
void sl_guard_counts(const sl_server *srv, uint64_t *cut_head, uint64_t *cut_body);

/* What the intake queue and the budget did since the start. */
typedef struct sl_load_counts {
	uint64_t taken;		 /* reports queued for a worker */
	uint64_t refused_queue;	 /* 503: the queue full or behind */
	uint64_t refused_budget; /* 503: the budget spent */
	size_t held;		 /* body bytes counted now */
} sl_load_counts;
void sl_load_stats(const sl_server *srv, sl_load_counts *out);

/* Queues r for commit and waits for the outcome, from a thread of our own
 * (never an MHD thread): SL_OK with *result, SL_EBUSY when the queue is
 * full, SL_ECLOSED when stopping, or the store's error. */
sl_err sl_intake_commit_wait(sl_server *srv, sl_report *r, sl_put_result *result);

/* Seals len bytes of text as a follow-up to the report whose receipt
 * hashes to hash, and stores it. SL_ENOTFOUND: no such report; SL_ECLOSED:
 * no moderator; else the store's or sealing's error. The text is the
 * caller's to wipe. */
sl_err sl_intake_followup(sl_server *srv, const uint8_t hash[SL_RECEIPT_HASH_BYTES],
			  const char *text, size_t len);

/* ---- the web form (form.c) ---- */

/* /report and /report/status: the pages (GET), and the first call of a
 * form's POST. */
enum MHD_Result sl_form_serve(sl_server *srv, struct MHD_Connection *c, const char *url,
			      const char *method, void **con_cls);
/* A field of rq's form as the post processor hands it over; false when out
 * of memory. */
bool sl_form_part(request *rq, const char *key, const char *data, uint64_t off,
		  size_t size);
/* rq's whole body is in (rq->too_big when it was over its cap): answer or
 * queue it. */
enum MHD_Result sl_form_submit(request *rq);
/* rq's report was committed (or failed to be): the receipt page. */
enum MHD_Result sl_form_committed(request *rq);
/* Wipes and frees rq->form. */
void sl_form_fields_free(form_fields *f);

/* ---- the Telegram bot (telegram.c) ---- */

/* Reads the token and the webhook secret, makes the conversations and
 * starts the workers when cfg.telegram_token_file is set (srv->telegram
 * stays NULL otherwise). sl_telegram_stop ends the workers (their calls
 * to the Bot API are cut short), forgets every conversation and wipes the
 * secrets; it comes after MHD_stop_daemon and before the commit queue
 * stops. */
sl_err sl_telegram_start(sl_server *srv);
void sl_telegram_stop(sl_server *srv);

/* POST /telegram/webhook: the checks before the body, and its end. */
enum MHD_Result sl_telegram_begin(sl_server *srv, struct MHD_Connection *c,
				  const char *method, void **con_cls);
enum MHD_Result sl_telegram_update(request *rq);

/* mod.c. sl_mod_start makes srv->mod (sessions, sign-in workers) from
 * srv->cfg and srv->audit; on failure what it made is left for sl_mod_free.
 * sl_mod_close ends the sign-in workers (a queued sign-in is answered 503)
 * and must come before MHD_stop_daemon, which cannot stop while they hold
 * suspended connections; sl_mod_free closes too, ends every session and
 * frees srv->mod. sl_mod_sweep drops expired sessions and those of
 * moderators no longer active; the maintenance thread calls it. */
sl_err sl_mod_start(sl_server *srv);
void sl_mod_close(sl_server *srv);
void sl_mod_free(sl_server *srv);
void sl_mod_sweep(sl_server *srv);

/* /api/v1/session, and every path under /api/v1/mod (the first call of
 * the request, after routing), each later call of one that reads a body,
 * and its end. */
typedef struct mod_request mod_request;
enum MHD_Result sl_mod_session(sl_server *srv, struct MHD_Connection *c,
			       const char *method, void **con_cls);
enum MHD_Result sl_mod_gate(sl_server *srv, struct MHD_Connection *c, const char *url,
			    const char *method, void **con_cls);
enum MHD_Result sl_mod_continue(mod_request *rq, const char *data, size_t *size);
void sl_mod_request_free(mod_request *rq);

/* engine.c: the thread that keeps events up to date (sl_engine_sync every
 * cfg.engine_interval_ms) when this process holds the engine's lock; stop
 * runs a last sync and joins it. */
sl_err sl_http_engine_start(sl_server *srv);
void sl_http_engine_stop(sl_server *srv);

/* GET or HEAD of /static/...: one of the moderator console's files
 * (web.c), read from srv->cfg.web_root at request time. */
enum MHD_Result sl_web_serve(sl_server *srv, struct MHD_Connection *c, const char *url,
			     const char *method);

/* The Content-Security-Policy of the console's pages (web.c): their own
 * scripts, styles and images, nothing inline, nothing from elsewhere. */
extern const char sl_web_page_csp[];

/* /mod and every path under it: the console's pages and forms
 * (console.c), behind a gate of their own (the first call of the request,
 * after routing; a form's body is read by mod.c). */
enum MHD_Result sl_console_serve(sl_server *srv, struct MHD_Connection *c,
				 const char *url, const char *method, void **con_cls);

/* public.c: GET /api/v1/public/{name} (every path under it); starting and
 * stopping the public side (the policy, the feed cache, the network, the
 * publisher thread, the CoT stream and the webhook sender); and a nudge
 * that makes the publisher refresh now (after an admin's change). */
enum MHD_Result sl_public_serve(sl_server *srv, struct MHD_Connection *c, const char *url,
				const char *method);
sl_err sl_public_start(sl_server *srv);
void sl_public_stop(sl_server *srv);
void sl_public_kick(sl_server *srv);

/* cot.c: the CoT stream for TAK clients on cfg.cot_host:cot_port (nothing
 * when cot_host is NULL). broadcast queues the changes' CoT events for
 * every connected client without waiting for any. */
sl_err sl_cot_start(sl_server *srv);
void sl_cot_stop(sl_server *srv);
void sl_cot_broadcast(sl_server *srv, const sl_pub_changes *ch, int64_t now);
/* The port the CoT stream listens on (0 when off). */
uint16_t sl_cot_port(const sl_server *srv);

/* webhook.c: the thread that POSTs the publication log's deliveries to
 * the webhooks; wake makes it look now. */
sl_err sl_webhook_start(sl_server *srv);
void sl_webhook_stop(sl_server *srv);
void sl_webhook_wake(sl_server *srv);

#endif
