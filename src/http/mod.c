/*
 * mod.c — moderators on the HTTP server: signing in and out, and the gate in
 * front of everything under /api/v1/mod/.
 *
 *   POST   /api/v1/session   {"name","passphrase"}: sign in; sets the cookie
 *   GET    /api/v1/session   who is signed in, and the CSRF token
 *   DELETE /api/v1/session   sign out (needs the CSRF token)
 *   *      /api/v1/mod[/...] the moderators' API, behind the gate
 *
 * The console (console.c) has a gate of its own in front of /mod, and uses
 * what is here for the rest: the session of a cookie, the Origin rules,
 * the route matcher, reading a form's body, signing out, and signing in
 * from its HTML form (POST /mod/sign-in, urlencoded), which goes through
 * the same workers, delays and audit entries as the JSON sign-in and is
 * answered with a 303 to /mod or the sign-in page saying why.
 *
 * Signing in unlocks the moderator's secret key with their passphrase
 * (Argon2id, about 0.2 s and 64 MiB). That never runs on an MHD thread: the
 * connection is suspended and one of SIGNIN_WORKERS threads does the work,
 * and a sign-in that finds them all busy is refused with 503, so a flood of
 * sign-ins costs at most SIGNIN_WORKERS x 64 MiB and never stalls intake.
 * Failed sign-ins make the next attempt for the same name wait, twice as
 * long after each failure (1 s, 2 s, 4 s ... 15 min), and spend a global
 * budget that bounds how fast names can be sprayed; a refused attempt is
 * answered 429 at once, nothing sleeps. A wrong name and a wrong passphrase
 * get the same answer after the same work: an unknown name is tried
 * against a dummy key record of the same cost.
 *
 * The gate answers every path under /api/v1/mod/, known or not, in this
 * order: no valid session, 401 (one body for every path, so that route
 * names do not leak to strangers); an Origin that is not this Host, 403;
 * a state-changing method without the session's X-CSRF-Token, 403; an admin
 * path for a moderator, 403; then the route table, 404 or 405 or the
 * handler. Routes are rows of `routes` below (mod_route, mod_int.h):
 * method, pattern ("{x}" is one path segment, handed to the handler), least
 * role, handler. A handler of POST, PUT or PATCH gets the request body (at
 * most --max-body bytes).
 *
 * Every sign-in, failed sign-in and sign-out goes to the audit log. Tokens
 * and passphrases are never written anywhere; the passphrase is wiped from
 * the request's buffers as soon as it has been copied into guarded memory.
 */
#include "http/http_int.h"
#include "http/mod_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sightline/buf.h"
#include "sightline/html.h"
#include "sightline/session.h"
#include "sightline/timefmt.h"

#define API_SESSION "/api/v1/session"
#define API_MOD "/api/v1/mod"
#define API_MOD_ADMIN "/api/v1/mod/admin"
#define COOKIE SL_MOD_COOKIE
#define CSRF_HEADER "X-CSRF-Token"

#define SESSIONS_MAX 256
#define SIGNIN_WORKERS 2     /* concurrent Argon2 runs at most */
#define SIGNIN_BODY_CAP 8192 /* {"name","passphrase"} with room to spare */
#define FAIL_TABLE_MAX 4096  /* names with recent failures remembered */
#define FAIL_DELAY_CAP_MS (15 * 60 * 1000)
#define FAIL_FORGET_MS (24ll * 3600 * 1000) /* a quiet day clears a name */
/* The global budget of failed sign-ins: a burst of GLOBAL_FAIL_BURST, then
 * one more every GLOBAL_FAIL_EVERY_MS. */
#define GLOBAL_FAIL_BURST 30.0
#define GLOBAL_FAIL_EVERY_MS 2000.0
#define PATH_MAX_LEN 1024 /* a longer path matches no route */
#define PARAMS_MAX MOD_PARAMS_MAX

static const char unauthorized[] = "sign in first";
static const char wrong_credentials[] = "name or passphrase is wrong";

/* ---- clocks ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned ceil_s(int64_t ms)
{
	int64_t s = (ms + 999) / 1000;
	return s < 1 ? 1 : (unsigned)s;
}

/* ---- failed sign-ins ---- */

typedef struct fail_entry {
	uint8_t key[16]; /* keyed BLAKE2b of the name tried */
	uint32_t failures;
	int64_t last_ms; /* when the last failure ended */
	bool busy;	 /* an attempt for this name is running */
	bool used;
} fail_entry;

/* ---- sign-in jobs ---- */

typedef enum signin_result {
	SIGNIN_OK,
	SIGNIN_WRONG,  /* unknown name or wrong passphrase */
	SIGNIN_FAILED, /* the store or the audit log failed */
	SIGNIN_CLOSED, /* the server is stopping */
} signin_result;

typedef enum mod_state {
	MOD_READING, /* body arriving */
	MOD_WAITING, /* suspended while a sign-in worker has it */
	MOD_DONE,    /* resumed: answer from the result */
} mod_state;

struct mod_request {
	conn_head head; /* CONN_MOD: first, see http_int.h */
	sl_server *srv;
	struct MHD_Connection *conn;
	mod_state state;
	char *body;
	size_t len, seen, cap, body_size;
	bool too_big;

	/* A routed request with a body. */
	const mod_route *route;
	sl_session *session;
	char path[PATH_MAX_LEN + 1];

	/* A sign-in; form: from the console's HTML form. */
	bool signin, form;
	char name[SL_MODERATOR_NAME_MAX + 1];
	bool name_ok; /* a well-formed moderator name (fits in name) */
	uint8_t name_key[16];
	char *pass; /* sodium_malloc */
	size_t pass_len;
	signin_result result;
	sl_role role;
	char token[SL_SESSION_TEXT_MAX];
	char csrf[SL_SESSION_TEXT_MAX];
	mod_request *next_job;
};

struct sl_mod {
	sl_sessions *sessions;
	sl_modkey_record dummy; /* tried for names that are not moderators */
	uint8_t name_hash_key[crypto_generichash_KEYBYTES];

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t wake;
	bool stopping;
	mod_request *jobs, *jobs_tail;
	unsigned in_flight; /* queued or running sign-ins */
	pthread_t workers[SIGNIN_WORKERS];
	unsigned n_workers;
	fail_entry *fails; /* FAIL_TABLE_MAX */
	double global_tokens;
	int64_t global_ms; /* when global_tokens was last brought up to date */
};

static int64_t delay_ms(uint32_t failures)
{
	if (failures == 0)
		return 0;
	uint32_t shift = failures - 1 > 20 ? 20 : failures - 1;
	int64_t d = (int64_t)1000 << shift;
	return d > FAIL_DELAY_CAP_MS ? FAIL_DELAY_CAP_MS : d;
}

static void refill_global(sl_mod *m, int64_t now)
{
	m->global_tokens += (double)(now - m->global_ms) / GLOBAL_FAIL_EVERY_MS;
	if (m->global_tokens > GLOBAL_FAIL_BURST)
		m->global_tokens = GLOBAL_FAIL_BURST;
	m->global_ms = now;
}

static fail_entry *find_fail(sl_mod *m, const uint8_t key[16])
{
	for (size_t i = 0; i < FAIL_TABLE_MAX; i++)
		if (m->fails[i].used && memcmp(m->fails[i].key, key, 16) == 0)
			return &m->fails[i];
	return NULL;
}

/* A slot for key: a free one, else the one whose failures are oldest (never
 * one with an attempt running). NULL only when every slot is busy, which
 * SIGNIN_WORKERS makes impossible. */
static fail_entry *new_fail(sl_mod *m, const uint8_t key[16])
{
	fail_entry *pick = NULL;
	for (size_t i = 0; i < FAIL_TABLE_MAX; i++) {
		fail_entry *e = &m->fails[i];
		if (!e->used) {
			pick = e;
			break;
		}
		if (!e->busy && (!pick || e->last_ms < pick->last_ms))
			pick = e;
	}
	if (pick) {
		memset(pick, 0, sizeof(*pick));
		memcpy(pick->key, key, 16);
		pick->used = true;
	}
	return pick;
}

/* Whether an attempt for the name keyed key may run now; if so it is
 * marked running. Otherwise *retry_s says when to come back. Under lock. */
static bool attempt_begin(sl_mod *m, const uint8_t key[16], int64_t now,
			  unsigned *retry_s)
{
	refill_global(m, now);
	if (m->global_tokens < 1.0) {
		*retry_s =
		    ceil_s((int64_t)((1.0 - m->global_tokens) * GLOBAL_FAIL_EVERY_MS));
		return false;
	}
	fail_entry *e = find_fail(m, key);
	if (e && e->busy) {
		*retry_s = 1;
		return false;
	}
	if (e && e->failures) {
		int64_t until = e->last_ms + delay_ms(e->failures);
		if (now < until) {
			*retry_s = ceil_s(until - now);
			return false;
		}
	}
	if (!e)
		e = new_fail(m, key);
	if (!e) {
		*retry_s = 1;
		return false;
	}
	e->busy = true;
	return true;
}

/* The end of an attempt begun with attempt_begin: ok resets the name,
 * wrong counts a failure, neither (the store failed) leaves it as it was.
 * Under lock. */
static void attempt_end(sl_mod *m, const uint8_t key[16], signin_result r, int64_t now)
{
	fail_entry *e = find_fail(m, key);
	if (!e)
		return;
	e->busy = false;
	if (r == SIGNIN_OK) {
		memset(e, 0, sizeof(*e));
	} else if (r == SIGNIN_WRONG) {
		if (e->failures < UINT32_MAX)
			e->failures++;
		e->last_ms = now;
		refill_global(m, now);
		m->global_tokens -= 1.0;
	} else if (e->failures == 0) {
		memset(e, 0, sizeof(*e));
	}
}

/* ---- small helpers ---- */

static bool is_valid_name(const char *s, size_t n)
{
	return n >= 1 && n <= SL_MODERATOR_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") == n;
}

static const char *role_name(sl_role r)
{
	return r == SL_ROLE_ADMIN ? "admin" : "moderator";
}

static bool state_changing(const char *method)
{
	return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	       strcmp(method, "PATCH") == 0 || strcmp(method, "DELETE") == 0;
}

static bool has_body(const char *method)
{
	return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	       strcmp(method, "PATCH") == 0;
}

static bool is_get(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* "host[:port]" of a URL's authority equal to Host's, the default port of
 * the scheme being the same as none. */
static bool same_authority(const char *a, size_t an, const char *b, size_t bn,
			   const char *dflt)
{
	size_t dn = strlen(dflt);
	if (an >= dn && strncasecmp(a + an - dn, dflt, dn) == 0)
		an -= dn;
	if (bn >= dn && strncasecmp(b + bn - dn, dflt, dn) == 0)
		bn -= dn;
	return an == bn && strncasecmp(a, b, an) == 0;
}

/* A browser sends Origin with every cross-site request that could change
 * anything; when it is there it must name this server, as the Host header
 * does. A request without Origin (curl, an old browser's same-site GET) is
 * judged by the cookie's SameSite=Strict and the CSRF token alone. */
bool sl_mod_origin_ok(struct MHD_Connection *c)
{
	const char *origin = header(c, "Origin");
	if (!origin)
		return true;
	const char *host = header(c, MHD_HTTP_HEADER_HOST);
	if (!host || !*host)
		return false;
	const char *dflt;
	const char *auth;
	if (strncasecmp(origin, "http://", 7) == 0) {
		auth = origin + 7;
		dflt = ":80";
	} else if (strncasecmp(origin, "https://", 8) == 0) {
		auth = origin + 8;
		dflt = ":443";
	} else {
		return false; /* "null", or a scheme a browser does not serve us on */
	}
	size_t an = strlen(auth);
	if (an && auth[an - 1] == '/')
		an--;
	if (an == 0 || memchr(auth, '/', an))
		return false;
	return same_authority(auth, an, host, strlen(host), dflt);
}

/* A form posted from a page served with Referrer-Policy: no-referrer
 * carries "Origin: null" (Fetch, "append a request Origin header"), so
 * the console cannot insist on an Origin naming this server. Fetch
 * metadata says the rest: every browser that sends "null" there also
 * sends Sec-Fetch-Site, which no page can forge, and which says
 * same-origin only for a request from one of our own pages. */
bool sl_mod_form_origin_ok(struct MHD_Connection *c, const char *method)
{
	const char *site = header(c, "Sec-Fetch-Site");
	bool same = site && strcmp(site, "same-origin") == 0;
	if (site && !same && (state_changing(method) || strcmp(site, "none") != 0))
		return false;
	const char *origin = header(c, "Origin");
	if (origin && strcmp(origin, "null") == 0)
		return same;
	return sl_mod_origin_ok(c);
}

sl_session *sl_mod_session_of(sl_server *srv, struct MHD_Connection *c)
{
	const char *token = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
	if (!token)
		return NULL;
	return sl_sessions_get(srv->mod->sessions, token, mono_ms());
}

static void subject_of(const char *name, bool name_ok, char *buf, size_t size)
{
	snprintf(buf, size, "moderator:%s", name_ok ? name : "(not a valid name)");
}

static void audit(sl_server *srv, const char *actor, const char *action, const char *name,
		  bool name_ok, sl_err *err)
{
	char subject[SL_MODERATOR_NAME_MAX + 32];
	subject_of(name, name_ok, subject, sizeof(subject));
	sl_err e = sl_audit_append(srv->audit, actor, action, subject, NULL);
	if (e != SL_OK)
		fprintf(stderr, "sightline: cannot append %s to the audit log: %s\n",
			action, sl_strerror(e));
	if (err)
		*err = e;
}

/* ---- the sign-in workers ---- */

/* Looks the name up, unlocks its key (or the dummy's), starts the session
 * and logs what happened. Runs on a sign-in worker. */
static void run_signin(sl_server *srv, mod_request *rq)
{
	sl_mod *m = srv->mod;
	sl_moderator mod;
	memset(&mod, 0, sizeof(mod));
	/* An ill-formed name is looked up as "", which no moderator has: the
	 * same work, and a long name is never cut down to a real one. */
	sl_err e = sl_store_get_moderator(srv->store, rq->name_ok ? rq->name : "", &mod);
	bool known = e == SL_OK;
	if (e != SL_OK && e != SL_ENOTFOUND) {
		rq->result = SIGNIN_FAILED;
		return;
	}
	sl_secret_key *sk = NULL;
	e = sl_modkey_unlock(known ? &mod.key : &m->dummy, rq->pass, rq->pass_len, &sk);
	sodium_memzero(rq->pass, rq->pass_len);
	if (e == SL_ENOMEM) {
		rq->result = SIGNIN_FAILED;
		return;
	}
	if (!known || e != SL_OK) {
		sl_secret_key_free(sk); /* NULL: the dummy never opens */
		rq->result = SIGNIN_WRONG;
		audit(srv, known ? mod.name : "unknown", "sign_in_failed", rq->name,
		      rq->name_ok, NULL);
		return;
	}
	sl_session *s = NULL;
	e = sl_sessions_create(m->sessions, &mod, sk, mono_ms(), rq->token, &s);
	if (e != SL_OK) {
		rq->result = SIGNIN_FAILED;
		return;
	}
	sl_err ae;
	audit(srv, mod.name, "sign_in", rq->name, true, &ae);
	if (ae != SL_OK) {
		/* A sign-in the log cannot show does not happen. */
		sl_sessions_end(m->sessions, s);
		sl_session_release(s);
		sodium_memzero(rq->token, sizeof(rq->token));
		rq->result = SIGNIN_FAILED;
		return;
	}
	memcpy(rq->csrf, sl_session_csrf(s), sizeof(rq->csrf));
	rq->role = mod.role;
	sl_session_release(s);
	rq->result = SIGNIN_OK;
}

static void *signin_worker(void *arg)
{
	sl_server *srv = arg;
	sl_mod *m = srv->mod;
	pthread_mutex_lock(&m->lock);
	for (;;) {
		while (!m->jobs && !m->stopping)
			pthread_cond_wait(&m->wake, &m->lock);
		mod_request *rq = m->jobs;
		if (!rq)
			break; /* stopping, and nothing left */
		m->jobs = rq->next_job;
		if (!m->jobs)
			m->jobs_tail = NULL;
		bool stopping = m->stopping;
		pthread_mutex_unlock(&m->lock);

		if (stopping)
			rq->result = SIGNIN_CLOSED;
		else
			run_signin(srv, rq);

		struct MHD_Connection *c = rq->conn;
		pthread_mutex_lock(&m->lock);
		attempt_end(m, rq->name_key, rq->result, mono_ms());
		m->in_flight--;
		rq->state = MOD_DONE;
		pthread_mutex_unlock(&m->lock);
		/* Not under the lock (the MHD thread takes it before MHD's own
		 * when it suspends), and rq is not touched after: the answer
		 * may be sent and rq freed at once. */
		MHD_resume_connection(c);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* ---- sign-in, sign-out ---- */

/* A sign-in refused or failed: a problem document, or for the console's
 * form the sign-in page saying why, with the name kept. */
static enum MHD_Result signin_refuse(mod_request *rq, unsigned status,
				     const sl_problems *why, const char *detail,
				     unsigned retry_after)
{
	if (!rq->form)
		return sl_http_problem(rq->conn, status, detail, why, NULL, retry_after);
	char buf[1024];
	if (why && why->n) {
		sl_problems_format(why, buf, sizeof(buf));
		detail = buf;
	}
	return sl_console_signin_page(rq->conn, status, rq->name_ok ? rq->name : NULL,
				      detail, retry_after);
}

/* Whether the browser reached us over TLS: the server itself speaks plain
 * HTTP, so only a TLS proxy in front can say so (X-Forwarded-Proto: https,
 * or proto=https in Forwarded). Believing it is safe: a client that claims
 * TLS over plain HTTP only gets a cookie its browser will not send back. */
static bool behind_tls(struct MHD_Connection *c)
{
	const char *xfp = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						      "X-Forwarded-Proto");
	if (xfp && strncasecmp(xfp, "https", 5) == 0 && (!xfp[5] || xfp[5] == ','))
		return true;
	const char *fwd = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Forwarded");
	for (const char *p = fwd; p && *p; p++)
		if (strncasecmp(p, "proto=https", 11) == 0)
			return true;
	return false;
}

static enum MHD_Result answer_signin(mod_request *rq)
{
	struct MHD_Connection *c = rq->conn;
	switch (rq->result) {
	case SIGNIN_OK:
		break;
	case SIGNIN_WRONG:
		return signin_refuse(rq, 401, NULL, wrong_credentials, 0);
	case SIGNIN_CLOSED:
		return signin_refuse(rq, 503, NULL, "the server is shutting down", 5);
	case SIGNIN_FAILED:
	default:
		return signin_refuse(rq, 503, NULL,
				     "signing in failed on the server; try again", 5);
	}
	char cookie[128];
	snprintf(cookie, sizeof(cookie),
		 COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s", rq->token,
		 rq->srv->cfg.secure_cookies || behind_tls(c) ? "; Secure" : "");
	sodium_memzero(rq->token, sizeof(rq->token));
	enum MHD_Result r;
	if (rq->form) {
		/* Post/redirect/get: the console's queue, now with the cookie. */
		const char *const h[] = {"Set-Cookie", cookie, "Location", "/mod", NULL};
		r = sl_http_respond_with(c, 303, NULL, NULL, h);
	} else {
		const char *const h[] = {"Set-Cookie", cookie, NULL};
		json_t *doc = json_pack("{s:s, s:s, s:s}", "name", rq->name, "role",
					role_name(rq->role), "csrf", rq->csrf);
		r = sl_http_json_with(c, 200, doc, h);
	}
	sodium_memzero(cookie, sizeof(cookie));
	return r;
}

/* The name and passphrase of a sign-in, decoded: name (nl bytes) and pass
 * (pl bytes) are copied (the passphrase into guarded memory), checked
 * against the delays and handed to a worker. */
static enum MHD_Result queue_signin(mod_request *rq, const char *n, size_t nl,
				    const char *pass, size_t pl)
{
	sl_server *srv = rq->srv;
	sl_mod *m = srv->mod;
	struct MHD_Connection *c = rq->conn;
	rq->name_ok = is_valid_name(n, nl);
	snprintf(rq->name, sizeof(rq->name), "%s", rq->name_ok ? n : "");
	crypto_generichash(rq->name_key, sizeof(rq->name_key), (const uint8_t *)n, nl,
			   m->name_hash_key, sizeof(m->name_hash_key));
	rq->pass_len = pl;
	rq->pass = sodium_malloc(pl + 1);
	if (rq->pass) {
		memcpy(rq->pass, pass, pl);
		rq->pass[pl] = '\0';
	}
	if (!rq->pass)
		return signin_refuse(rq, 503, NULL, "out of memory; try again", 5);

	unsigned retry = 0;
	pthread_mutex_lock(&m->lock);
	if (m->stopping) {
		pthread_mutex_unlock(&m->lock);
		return signin_refuse(rq, 503, NULL, "the server is shutting down", 5);
	}
	if (m->in_flight >= SIGNIN_WORKERS) {
		pthread_mutex_unlock(&m->lock);
		return signin_refuse(rq, 503, NULL,
				     "too many sign-ins at once; try again shortly", 1);
	}
	if (!attempt_begin(m, rq->name_key, mono_ms(), &retry)) {
		pthread_mutex_unlock(&m->lock);
		return signin_refuse(rq, 429, NULL,
				     "too many failed sign-ins; wait before trying again",
				     retry);
	}
	/* Suspend before the worker can see it, so its resume comes after. */
	if (!sl_http_park(srv, c, &rq->head)) {
		attempt_end(m, rq->name_key, SIGNIN_CLOSED, mono_ms());
		pthread_mutex_unlock(&m->lock);
		return signin_refuse(rq, 503, NULL, "the server is shutting down", 5);
	}
	m->in_flight++;
	rq->state = MOD_WAITING;
	rq->next_job = NULL;
	if (m->jobs_tail)
		m->jobs_tail->next_job = rq;
	else
		m->jobs = rq;
	m->jobs_tail = rq;
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
	return MHD_YES;
}

/* The body of a JSON sign-in is in: decode it and queue it. */
static enum MHD_Result begin_signin_json(mod_request *rq)
{
	struct MHD_Connection *c = rq->conn;
	sl_problems why = {0};
	json_error_t jerr;
	json_t *doc =
	    json_loadb(rq->body ? rq->body : "", rq->len, JSON_REJECT_DUPLICATES, &jerr);
	if (rq->body)
		sodium_memzero(rq->body, rq->len);
	if (!doc) {
		/* jansson's own words may quote the passphrase: not sent back. */
		sl_problems_add(&why, "", "malformed JSON at line %d, column %d",
				jerr.line, jerr.column);
		return sl_http_problem(c, 400, NULL, &why, NULL, 0);
	}
	json_t *name = NULL, *pass = NULL, *v;
	const char *key;
	if (!json_is_object(doc))
		sl_problems_add(&why, "",
				"expected a JSON object {\"name\", \"passphrase\"}");
	else
		json_object_foreach(doc, key, v)
		{
			if (strcmp(key, "name") == 0) {
				name = v;
			} else if (strcmp(key, "passphrase") == 0) {
				pass = v;
			} else {
				char f[64];
				snprintf(f, sizeof(f), "%.60s", key);
				sl_problems_add(&why, f,
						"is not a known field (only name and "
						"passphrase)");
			}
		}
	if (!why.n && !json_is_string(name))
		sl_problems_add(&why, "name", name ? "expected a string" : "is required");
	if (!why.n && !json_is_string(pass))
		sl_problems_add(&why, "passphrase",
				pass ? "expected a string" : "is required");
	if (!why.n && json_string_length(pass) > SL_PASSPHRASE_MAX)
		sl_problems_add(&why, "passphrase", "is longer than %d bytes",
				SL_PASSPHRASE_MAX);
	if (why.n) {
		if (json_is_string(pass))
			sodium_memzero((char *)json_string_value(pass),
				       json_string_length(pass));
		json_decref(doc);
		return sl_http_problem(c, 422, NULL, &why, NULL, 0);
	}
	enum MHD_Result r =
	    queue_signin(rq, json_string_value(name), json_string_length(name),
			 json_string_value(pass), json_string_length(pass));
	sodium_memzero((char *)json_string_value(pass), json_string_length(pass));
	json_decref(doc);
	return r;
}

/* The body of a form sign-in is in: decode it (into an arena, which is
 * wiped when freed) and queue it. Other fields are ignored, as a form's
 * are. */
static enum MHD_Result begin_signin_form(mod_request *rq)
{
	sl_problems why = {0};
	sl_arena *a = sl_arena_new(2 * SIGNIN_BODY_CAP + 4096);
	sl_form form;
	sl_err e = a ? sl_html_form_parse(rq->body ? rq->body : "", rq->len, a, &form)
		     : SL_ENOMEM;
	if (rq->body)
		sodium_memzero(rq->body, rq->len);
	const sl_form_field *name = e == SL_OK ? sl_html_form_get(&form, "name") : NULL;
	const sl_form_field *pass =
	    e == SL_OK ? sl_html_form_get(&form, "passphrase") : NULL;
	if (e == SL_ENOMEM) {
		sl_arena_free(a);
		return signin_refuse(rq, 503, NULL, "out of memory; try again", 5);
	}
	if (e != SL_OK)
		sl_problems_add(&why, "",
				"the form is not application/x-www-form-urlencoded");
	if (!why.n && (!name || name->len == 0))
		sl_problems_add(&why, "name", "is required");
	if (!why.n && (!pass || pass->len == 0))
		sl_problems_add(&why, "passphrase", "is required");
	if (!why.n && pass->len > SL_PASSPHRASE_MAX)
		sl_problems_add(&why, "passphrase", "is longer than %d bytes",
				SL_PASSPHRASE_MAX);
	enum MHD_Result r;
	if (why.n) {
		/* Keep the name the moderator typed, when it is one. */
		if (name)
			snprintf(rq->name, sizeof(rq->name), "%s", name->value);
		rq->name_ok = name && is_valid_name(name->value, name->len);
		r = signin_refuse(rq, 422, &why, NULL, 0);
	} else {
		r = queue_signin(rq, name->value, name->len, pass->value, pass->len);
	}
	sl_arena_free(a);
	return r;
}

static bool media_type_is_json(struct MHD_Connection *c)
{
	const char *ct = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
	static const char want[] = "application/json";
	if (!ct || strncasecmp(ct, want, sizeof(want) - 1) != 0)
		return false;
	char next = ct[sizeof(want) - 1];
	return next == '\0' || next == ';' || next == ' ';
}

static mod_request *new_request(sl_server *srv, struct MHD_Connection *c, size_t cap)
{
	mod_request *rq = calloc(1, sizeof(*rq));
	if (!rq)
		return NULL;
	rq->head.owner = CONN_MOD;
	rq->srv = srv;
	rq->conn = c;
	rq->cap = cap;
	return rq;
}

static enum MHD_Result too_large(struct MHD_Connection *c, size_t cap)
{
	char d[96];
	snprintf(d, sizeof(d), "the body is larger than %zu bytes", cap);
	return sl_http_problem(c, 413, d, NULL, NULL, 0);
}

static enum MHD_Result forbidden_origin(struct MHD_Connection *c)
{
	return sl_http_problem(c, 403, "the request's Origin is not this server", NULL,
			       NULL, 0);
}

static enum MHD_Result sign_out(sl_server *srv, struct MHD_Connection *c)
{
	sl_session *s = sl_mod_session_of(srv, c);
	if (!s)
		return sl_http_problem(c, 401, unauthorized, NULL, NULL, 0);
	if (!sl_mod_origin_ok(c)) {
		sl_session_release(s);
		return forbidden_origin(c);
	}
	if (!sl_session_csrf_ok(s, header(c, CSRF_HEADER))) {
		sl_session_release(s);
		return sl_http_problem(c, 403, "missing or wrong CSRF token", NULL, NULL,
				       0);
	}
	sl_mod_sign_out(srv, s);
	sl_session_release(s); /* the last reference: the key is wiped here */
	static const char *const h[] = {"Set-Cookie", SL_MOD_COOKIE_CLEAR, NULL};
	return sl_http_respond_with(c, 204, NULL, NULL, h);
}

void sl_mod_sign_out(sl_server *srv, sl_session *s)
{
	/* Signed out whether or not the log takes it: keeping a session
	 * someone asked to end would be worse. */
	audit(srv, sl_session_name(s), "sign_out", sl_session_name(s), true, NULL);
	sl_sessions_end(srv->mod->sessions, s);
}

enum MHD_Result sl_mod_signin_form(sl_server *srv, struct MHD_Connection *c,
				   void **con_cls)
{
	const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > SIGNIN_BODY_CAP)
		return sl_console_signin_page(c, 413, NULL, "the form is too large", 0);
	mod_request *rq = new_request(srv, c, SIGNIN_BODY_CAP);
	if (!rq)
		return MHD_NO;
	rq->signin = true;
	rq->form = true;
	*con_cls = rq;
	return MHD_YES;
}

enum MHD_Result sl_mod_session(sl_server *srv, struct MHD_Connection *c,
			       const char *method, void **con_cls)
{
	if (is_get(method)) {
		sl_session *s = sl_mod_session_of(srv, c);
		if (!s)
			return sl_http_problem(c, 401, unauthorized, NULL, NULL, 0);
		if (!sl_mod_origin_ok(c)) {
			sl_session_release(s);
			return forbidden_origin(c);
		}
		json_t *doc =
		    json_pack("{s:s, s:s, s:s}", "name", sl_session_name(s), "role",
			      role_name(sl_session_role(s)), "csrf", sl_session_csrf(s));
		sl_session_release(s);
		return sl_http_json(c, 200, doc);
	}
	if (strcmp(method, "DELETE") == 0)
		return sign_out(srv, c);
	if (strcmp(method, "POST") != 0)
		return sl_http_problem(c, 405,
				       "use POST to sign in, GET to see who is "
				       "signed in, DELETE to sign out",
				       NULL, "GET, HEAD, POST, DELETE", 0);
	/* A sign-in from another site's page would sign the browser into an
	 * account of the attacker's choosing. */
	if (!sl_mod_origin_ok(c))
		return forbidden_origin(c);
	if (!media_type_is_json(c))
		return sl_http_problem(c, 415, "Content-Type must be application/json",
				       NULL, NULL, 0);
	const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > SIGNIN_BODY_CAP)
		return too_large(c, SIGNIN_BODY_CAP);
	mod_request *rq = new_request(srv, c, SIGNIN_BODY_CAP);
	if (!rq)
		return MHD_NO;
	rq->signin = true;
	*con_cls = rq;
	return MHD_YES;
}

/* ---- the gate and the routes ---- */

/* mod_ctx and mod_handler are in mod_int.h, shared with review.c. */

/* mod_route is in mod_int.h: console.c has a table of its own. */

static enum MHD_Result whoami(mod_ctx *ctx)
{
	sl_session *s = ctx->session;
	int64_t left = sl_session_expires_in(s, mono_ms());
	return sl_http_json(ctx->conn, 200,
			    json_pack("{s:s, s:s, s:I}", "name", sl_session_name(s),
				      "role", role_name(sl_session_role(s)),
				      "idle_expires_in",
				      (json_int_t)((left + 999) / 1000)));
}

static json_t *time_or_null(int64_t t)
{
	if (t == 0)
		return json_null();
	char buf[SL_TIME_TEXT_MAX];
	sl_time_format(t, buf);
	return json_string(buf);
}

static enum MHD_Result list_moderators(mod_ctx *ctx)
{
	sl_moderator *list = NULL;
	size_t n = 0;
	if (sl_store_list_moderators(ctx->srv->store, true, &list, &n) != SL_OK)
		return sl_http_problem(ctx->conn, 503, "the store failed; try again",
				       NULL, NULL, 5);
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		json_t *o =
		    json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)list[i].id,
			      "name", list[i].name, "role", role_name(list[i].role),
			      "created_at", time_or_null(list[i].created_at),
			      "removed_at", time_or_null(list[i].removed_at));
		if (!o || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	free(list);
	if (!arr)
		return sl_http_problem(ctx->conn, 503, "out of memory; try again", NULL,
				       NULL, 5);
	return sl_http_json(ctx->conn, 200, json_pack("{s:o}", "moderators", arr));
}

/* Every route under /api/v1/mod/. Paths under /api/v1/mod/admin/ are for
 * admins whatever the row says. */
static const mod_route routes[] = {
    {"GET", API_MOD "/whoami", SL_ROLE_MODERATOR, whoami, NULL},
    {"GET", API_MOD_ADMIN "/moderators", SL_ROLE_ADMIN, list_moderators, NULL},
    {"GET", API_MOD_ADMIN "/audit", SL_ROLE_ADMIN, sl_review_audit, NULL},
    /* Publication (publish_admin.c). */
    {"GET", API_MOD_ADMIN "/publish/policy", SL_ROLE_ADMIN, sl_admin_policy_get, NULL},
    {"PUT", API_MOD_ADMIN "/publish/policy", SL_ROLE_ADMIN, sl_admin_policy_put, NULL},
    {"GET", API_MOD_ADMIN "/webhooks", SL_ROLE_ADMIN, sl_admin_webhooks, NULL},
    {"POST", API_MOD_ADMIN "/webhooks", SL_ROLE_ADMIN, sl_admin_webhook_add, NULL},
    {"DELETE", API_MOD_ADMIN "/webhooks/{id}", SL_ROLE_ADMIN, sl_admin_webhook_remove, NULL},
    {"PUT", API_MOD_ADMIN "/events/{id}/excerpt", SL_ROLE_ADMIN, sl_admin_excerpt_put, NULL},
    {"DELETE", API_MOD_ADMIN "/events/{id}/excerpt", SL_ROLE_ADMIN, sl_admin_excerpt_delete,
     NULL},
    {"PUT", API_MOD_ADMIN "/events/{id}/photo", SL_ROLE_ADMIN, sl_admin_photo_put, NULL},
    {"DELETE", API_MOD_ADMIN "/events/{id}/photo", SL_ROLE_ADMIN, sl_admin_photo_delete, NULL},
    /* The review API (review.c). */
    {"GET", API_MOD "/queue", SL_ROLE_MODERATOR, sl_review_queue, NULL},
    {"GET", API_MOD "/reports/{id}", SL_ROLE_MODERATOR, sl_review_get, NULL},
    {"PATCH", API_MOD "/reports/{id}", SL_ROLE_MODERATOR, sl_review_edit, NULL},
    {"GET", API_MOD "/reports/{id}/photos/{n}", SL_ROLE_MODERATOR, sl_review_photo, NULL},
    {"POST", API_MOD "/reports/{id}/claim", SL_ROLE_MODERATOR, sl_review_claim, NULL},
    {"POST", API_MOD "/reports/{id}/release", SL_ROLE_MODERATOR, sl_review_release, NULL},
    {"POST", API_MOD "/reports/{id}/grade", SL_ROLE_MODERATOR, sl_review_grade, NULL},
    {"POST", API_MOD "/reports/{id}/verify", SL_ROLE_MODERATOR, sl_review_verify, NULL},
    {"POST", API_MOD "/reports/{id}/reject", SL_ROLE_MODERATOR, sl_review_reject, NULL},
    {"POST", API_MOD "/reports/{id}/notes", SL_ROLE_MODERATOR, sl_review_note, NULL},
    {"POST", API_MOD "/reports/{id}/attach", SL_ROLE_MODERATOR, sl_review_attach, NULL},
    {"POST", API_MOD "/reports/{id}/detach", SL_ROLE_MODERATOR, sl_review_detach, NULL},
    {"POST", API_MOD "/events", SL_ROLE_MODERATOR, sl_review_event_create, NULL},
    {"GET", API_MOD "/events", SL_ROLE_MODERATOR, sl_review_events, NULL},
    {"GET", API_MOD "/events/{id}", SL_ROLE_MODERATOR, sl_review_event, NULL},
    {"POST", API_MOD "/events/{id}/merge", SL_ROLE_MODERATOR, sl_review_event_merge,
     NULL},
    {"POST", API_MOD "/events/{id}/split", SL_ROLE_MODERATOR, sl_review_event_split,
     NULL},
    /* Tracks and the summary (tracks.c). */
    {"GET", API_MOD "/tracks", SL_ROLE_MODERATOR, sl_tracks_list, NULL},
    {"GET", API_MOD "/tracks/{id}", SL_ROLE_MODERATOR, sl_tracks_get, NULL},
    {"GET", API_MOD "/summary", SL_ROLE_MODERATOR, sl_tracks_summary, NULL},
};

/* Matches path against pattern; on a match the "{x}" segments are cut out
 * of path (which is changed: a NUL ends each) into params. */
static bool match(const char *pattern, char *path, const char **params, size_t *n)
{
	*n = 0;
	const char *p = pattern;
	char *u = path;
	while (*p && *u) {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			char *ue = strchr(u, '/');
			if (!pe || *n == PARAMS_MAX || (ue ? ue == u : !*u))
				return false;
			params[(*n)++] = u;
			p = pe + 1;
			if (!ue) {
				u += strlen(u);
				break;
			}
			if (*p != '/')
				return false;
			*ue = '\0';
			u = ue + 1;
			p++;
			continue;
		}
		if (*p != *u)
			return false;
		p++, u++;
	}
	return *p == '\0' && *u == '\0';
}

/* Runs the route's handler; releases nothing. */
static enum MHD_Result dispatch(sl_server *srv, struct MHD_Connection *c,
				const mod_route *route, const char *method, char *path,
				sl_session *s, const char *body, size_t len)
{
	mod_ctx ctx = {.srv = srv,
		       .conn = c,
		       .session = s,
		       .method = method,
		       .body = body,
		       .len = len,
		       .action = route->action};
	if (!match(route->pattern, path, ctx.params, &ctx.n_params))
		return sl_http_problem(c, 500, "route table is inconsistent", NULL, NULL,
				       0);
	return route->handler(&ctx);
}

const mod_route *sl_mod_route_find(const mod_route *table, size_t n, const char *url,
				   const char *method, char *allow, size_t allow_size)
{
	allow[0] = '\0';
	size_t ulen = strlen(url);
	if (ulen > PATH_MAX_LEN)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX_LEN + 1];
		const char *params[PARAMS_MAX];
		size_t np;
		memcpy(path, url, ulen + 1);
		if (!match(table[i].pattern, path, params, &np))
			continue;
		const char *rm = table[i].method;
		bool get = strcmp(rm, "GET") == 0;
		if (strcmp(rm, method) == 0 || (get && strcmp(method, "HEAD") == 0))
			return &table[i];
		size_t o = strlen(allow);
		snprintf(allow + o, allow_size - o, "%s%s%s", o ? ", " : "", rm,
			 get ? ", HEAD" : "");
	}
	return NULL;
}

enum MHD_Result sl_mod_dispatch(sl_server *srv, struct MHD_Connection *c,
				const mod_route *route, const char *method,
				const char *url, sl_session *s)
{
	char path[PATH_MAX_LEN + 1];
	snprintf(path, sizeof(path), "%s", url);
	return dispatch(srv, c, route, method, path, s, NULL, 0);
}

enum MHD_Result sl_mod_read_body(sl_server *srv, struct MHD_Connection *c,
				 const mod_route *route, const char *url, sl_session *s,
				 size_t cap, void **con_cls)
{
	const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > cap) {
		sl_session_release(s);
		return too_large(c, cap);
	}
	mod_request *rq = new_request(srv, c, cap);
	if (!rq) {
		sl_session_release(s);
		return MHD_NO;
	}
	rq->route = route;
	rq->session = s;
	snprintf(rq->path, sizeof(rq->path), "%s", url);
	*con_cls = rq;
	return MHD_YES;
}

static bool under(const char *url, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(url, prefix, n) == 0 && (url[n] == '\0' || url[n] == '/');
}

/* Answers a request of session s (a reference, which it takes over). */
static enum MHD_Result gate(sl_server *srv, struct MHD_Connection *c, const char *url,
			    const char *method, void **con_cls, sl_session *s)
{
	enum MHD_Result r;
	bool admin = sl_session_role(s) == SL_ROLE_ADMIN;
	const mod_route *route = NULL;
	char allow[128];
	if (!sl_mod_origin_ok(c)) {
		r = forbidden_origin(c);
	} else if (state_changing(method) &&
		   !sl_session_csrf_ok(s, header(c, CSRF_HEADER))) {
		r = sl_http_problem(c, 403, "missing or wrong CSRF token", NULL, NULL, 0);
	} else if (under(url, API_MOD_ADMIN) && !admin) {
		r = sl_http_problem(c, 403, "only an admin may do this", NULL, NULL, 0);
	} else if (!(route = sl_mod_route_find(routes, sizeof(routes) / sizeof(routes[0]),
					       url, method, allow, sizeof(allow)))) {
		r = allow[0] ? sl_http_problem(c, 405,
					       "the path exists, but not for this method",
					       NULL, allow, 0)
			     : sl_http_problem(c, 404, "no such resource", NULL, NULL, 0);
	} else if (route->role == SL_ROLE_ADMIN && !admin) {
		r = sl_http_problem(c, 403, "only an admin may do this", NULL, NULL, 0);
	} else if (has_body(method)) {
		return sl_mod_read_body(srv, c, route, url, s, srv->cfg.body_cap,
					con_cls);
	} else {
		r = sl_mod_dispatch(srv, c, route, method, url, s);
	}
	sl_session_release(s);
	return r;
}

enum MHD_Result sl_mod_gate(sl_server *srv, struct MHD_Connection *c, const char *url,
			    const char *method, void **con_cls)
{
	sl_session *s = sl_mod_session_of(srv, c);
	if (!s)
		return sl_http_problem(c, 401, unauthorized, NULL, NULL, 0);
	/* A request left reading its body keeps the reference until its end. */
	return gate(srv, c, url, method, con_cls, s);
}

/* ---- requests with bodies ---- */

/* Makes room for n more bytes and a NUL. Not realloc: a body may hold a
 * passphrase, and realloc would leave copies of it in freed memory. */
static bool grow(mod_request *rq, size_t n)
{
	return sl_grow_wiped(&rq->body, &rq->body_size, rq->len, rq->len + n + 1, 1024,
			     rq->cap + 1);
}

enum MHD_Result sl_mod_continue(mod_request *rq, const char *data, size_t *size)
{
	if (rq->state == MOD_DONE) {
		sl_http_unpark(rq->srv, &rq->head);
		return answer_signin(rq);
	}
	if (rq->state == MOD_WAITING)
		return MHD_YES; /* a spurious call while suspended */
	if (*size) {
		size_t n = *size;
		*size = 0;
		rq->seen += n;
		if (rq->seen > 4 * rq->cap)
			return MHD_NO; /* far past the cap: cut off */
		if (rq->too_big || rq->seen > rq->cap) {
			rq->too_big = true;
			return MHD_YES;
		}
		if (!grow(rq, n))
			return MHD_NO;
		memcpy(rq->body + rq->len, data, n);
		rq->len += n;
		rq->body[rq->len] = '\0';
		return MHD_YES;
	}
	if (rq->too_big)
		return too_large(rq->conn, rq->cap);
	if (rq->signin)
		return rq->form ? begin_signin_form(rq) : begin_signin_json(rq);
	return dispatch(rq->srv, rq->conn, rq->route, rq->route->method, rq->path,
			rq->session, rq->body ? rq->body : "", rq->len);
}

void sl_mod_request_free(mod_request *rq)
{
	if (rq->body) {
		sodium_memzero(rq->body, rq->body_size);
		free(rq->body);
	}
	if (rq->pass) {
		sodium_memzero(rq->pass, rq->pass_len);
		sodium_free(rq->pass);
	}
	sodium_memzero(rq->token, sizeof(rq->token));
	sl_session_release(rq->session);
	free(rq);
}

/* ---- life ---- */

sl_err sl_mod_start(sl_server *srv)
{
	const sl_server_config *cfg = &srv->cfg;
	if (cfg->session_idle_s == 0 || cfg->session_max_s == 0) {
		fprintf(stderr,
			"sightline: session timeouts must be at least 1 second\n");
		return SL_EINVAL;
	}
	if (!srv->audit)
		return SL_EINVAL;
	sl_mod *m = calloc(1, sizeof(*m));
	if (!m)
		return SL_ENOMEM;
	srv->mod = m;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	m->fails = calloc(FAIL_TABLE_MAX, sizeof(*m->fails));
	if (!m->fails)
		return SL_ENOMEM;
	m->global_tokens = GLOBAL_FAIL_BURST;
	m->global_ms = mono_ms();
	crypto_generichash_keygen(m->name_hash_key);
	/* The dummy costs what a record made today costs; its wrap is random
	 * bytes, which no passphrase opens. */
	randombytes_buf(m->dummy.public_key, sizeof(m->dummy.public_key));
	randombytes_buf(m->dummy.salt, sizeof(m->dummy.salt));
	randombytes_buf(m->dummy.wrapped, sizeof(m->dummy.wrapped));
	randombytes_buf(m->dummy.recovery_wrapped, sizeof(m->dummy.recovery_wrapped));
	m->dummy.opslimit = SL_MODKEY_OPSLIMIT;
	m->dummy.memlimit = SL_MODKEY_MEMLIMIT;
	sl_err e = sl_sessions_new(SESSIONS_MAX, (int64_t)cfg->session_idle_s * 1000,
				   (int64_t)cfg->session_max_s * 1000, &m->sessions);
	if (e != SL_OK)
		return e;
	for (unsigned i = 0; i < SIGNIN_WORKERS; i++) {
		if (pthread_create(&m->workers[i], NULL, signin_worker, srv) != 0)
			return SL_ENOMEM;
		m->n_workers++;
	}
	return SL_OK;
}

void sl_mod_close(sl_server *srv)
{
	sl_mod *m = srv->mod;
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stopping = true;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
	for (unsigned i = 0; i < m->n_workers; i++)
		pthread_join(m->workers[i], NULL);
	m->n_workers = 0;
}

void sl_mod_free(sl_server *srv)
{
	sl_mod *m = srv->mod;
	if (!m)
		return;
	sl_mod_close(srv);
	sl_sessions_free(m->sessions);
	free(m->fails);
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->lock);
	sodium_memzero(m, sizeof(*m));
	free(m);
	srv->mod = NULL;
}

/* Whether a session's moderator is still the active one of that name, with
 * the same role. A store that cannot answer keeps the session until the
 * next sweep rather than signing everyone out on a hiccup. */
static bool still_active(void *ud, int64_t id, const char *name, sl_role role)
{
	sl_server *srv = ud;
	sl_moderator m;
	sl_err e = sl_store_get_moderator(srv->store, name, &m);
	if (e == SL_ENOTFOUND)
		return false;
	if (e != SL_OK)
		return true;
	return m.id == id && m.role == role;
}

void sl_mod_sweep(sl_server *srv)
{
	sl_mod *m = srv->mod;
	if (!m)
		return;
	int64_t now = mono_ms();
	sl_sessions_sweep(m->sessions, now, still_active, srv);
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < FAIL_TABLE_MAX; i++) {
		fail_entry *e = &m->fails[i];
		if (e->used && !e->busy && now - e->last_ms > FAIL_FORGET_MS)
			memset(e, 0, sizeof(*e));
	}
	pthread_mutex_unlock(&m->lock);
}
