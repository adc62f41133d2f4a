/*
 * telegram.c — the Telegram bot inside the server.
 *
 *   POST /telegram/webhook    one Bot API Update, with the webhook's secret
 *                             in X-Telegram-Bot-Api-Secret-Token
 *
 * The webhook only reads: it checks the secret (in constant time), reads
 * the body as intake reads JSON (capped, wiped when the request ends),
 * parses the Update into the few fields the bot uses (telegram.h), and
 * puts it on the queue of the worker its chat belongs to — then answers
 * 200 at once, so that Telegram never waits on the Bot API, a photo or
 * the store. A full queue is 503 with Retry-After, which Telegram retries;
 * an update seen already (Telegram resends what it thinks was not taken)
 * is 200 and dropped; an update the bot does not handle (edited messages,
 * groups, channels ...) is 200 and dropped.
 *
 * Each worker owns a bounded queue, a libcurl client and a shard of the
 * conversations (bot.h); it handles its updates in order and sweeps
 * abandoned conversations every second. A Bot API that hangs holds a
 * worker for at most the call timeout, never an MHD thread: intake goes
 * on. Stopping cuts calls short through the client's stop flag.
 *
 * The bot's ops are intake's steps: a photo is fetched with getFile and a
 * download, cleaned by the same function as an upload (its path on
 * Telegram's servers dropped), and the report sealed and committed through
 * the commit queue (sl_intake_seal, sl_intake_commit_wait).
 *
 * Privacy: nothing of an update is logged — not its body, not a chat id;
 * a failed call is logged by its method only (the URL holds the token).
 * The token and the secret live in sodium_malloc memory.
 */
#include "http/http_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sightline/bot.h"
#include "sightline/buf.h"
#include "sightline/media.h"
#include "sightline/telegram.h"
#include "sightline/timefmt.h"

#define SECRET_MAX 256
#define QUEUE_MAX 64	  /* updates waiting per worker */
#define SEEN_MAX 1024	  /* update ids remembered, against resends */
#define CALL_TIMEOUT_S 10 /* one Bot API call, at most */

typedef struct worker {
	sl_telegram *tg;
	unsigned index;
	pthread_t thread;
	bool started;
	sl_tg_client *client;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	sl_tg_update q[QUEUE_MAX];
	size_t head, n;
} worker;

struct sl_telegram {
	sl_server *srv;
	char *token;  /* sodium_malloc */
	char *secret; /* sodium_malloc */
	size_t secret_len;
	sl_bot *bot;
	worker *workers;
	unsigned n_workers;
	volatile bool stopping;
	pthread_mutex_t seen_lock;
	int64_t seen[SEEN_MAX];
	size_t seen_n, seen_pos;
};

/* ---- the secrets ---- */

/* The first line of path, trimmed, into a new sodium_malloc buffer (at
 * most max bytes). The file's copy in memory is wiped. */
static sl_err read_secret(const char *path, size_t max, char **out)
{
	*out = NULL;
	char *buf;
	size_t len;
	sl_problems why = {0};
	sl_err e = sl_read_file(path, 4096, &buf, &len, &why);
	if (e != SL_OK)
		return e;
	size_t n = strcspn(buf, "\r\n");
	while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	size_t start = strspn(buf, " \t");
	if (start > n)
		start = n;
	e = n - start == 0 || n - start > max ? SL_EVALID : SL_OK;
	if (e == SL_OK && !(*out = sodium_malloc(n - start + 1)))
		e = SL_ENOMEM;
	if (e == SL_OK) {
		memcpy(*out, buf + start, n - start);
		(*out)[n - start] = '\0';
	}
	sodium_memzero(buf, len);
	free(buf);
	return e;
}

/* ---- the bot's ops (ud: the worker) ---- */

static sl_err op_call(void *ud, const char *method, const json_t *params, json_t **result)
{
	worker *w = ud;
	long code = 0;
	sl_err e = sl_tg_call(w->client, method, params, result, &code);
	if (e != SL_OK && !w->tg->stopping) {
		if (e == SL_EVALID)
			fprintf(stderr, "sightline: telegram: %s refused (error %ld)\n",
				method, code);
		else
			fprintf(stderr, "sightline: telegram: %s failed: %s\n", method,
				e == SL_EIO ? "no answer" : "not a Bot API answer");
	}
	return e;
}

static sl_err op_photo(void *ud, const char *file_id, int64_t size, void **jpeg,
		       size_t *len)
{
	worker *w = ud;
	sl_server *srv = w->tg->srv;
	size_t cap = srv->cfg.photo_cap;
	if (size > 0 && (uint64_t)size > cap)
		return SL_ETOOBIG;
	json_t *p = json_pack("{s:s}", "file_id", file_id);
	json_t *file = NULL;
	sl_err e = p ? op_call(w, "getFile", p, &file) : SL_ENOMEM;
	json_decref(p);
	if (e != SL_OK)
		return e == SL_EVALID ? SL_EVALID : SL_EIO;
	const char *path = json_string_value(json_object_get(file, "file_path"));
	json_int_t fsize = json_integer_value(json_object_get(file, "file_size"));
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	if (fsize > 0 && (uint64_t)fsize > cap)
		e = SL_ETOOBIG;
	else if (!path)
		e = SL_EIO;
	else
		e = sl_tg_download(w->client, path, cap, &raw, &raw_len);
	json_decref(file); /* the path goes with it, wiped (server.c's allocator) */
	if (e == SL_EPARSE)
		e = SL_EIO;
	if (e != SL_OK)
		return e;
	char why[SL_MEDIA_WHY_MAX];
	e = sl_intake_clean_photo(srv, raw, raw_len, jpeg, len, why, sizeof(why));
	sodium_memzero(raw, raw_len);
	free(raw);
	if (e == SL_ENOMEM)
		return SL_EIO;
	return e == SL_OK || e == SL_ETOOBIG ? e : SL_EVALID;
}

static sl_err op_submit(void *ud, sl_report *r, const sl_photo *photos, size_t n,
			sl_arena *a, char receipt[SL_RECEIPT_TEXT_MAX])
{
	worker *w = ud;
	sl_server *srv = w->tg->srv;
	sl_err e = sl_intake_seal(srv, r, photos, n, a, receipt);
	if (e != SL_OK)
		return e;
	sl_put_result res;
	e = sl_intake_commit_wait(srv, r, &res);
	if (e == SL_OK && res != SL_PUT_INSERTED)
		e = SL_ESTORE;
	if (e != SL_OK)
		sodium_memzero(receipt, SL_RECEIPT_TEXT_MAX);
	return e == SL_ECLOSED ? SL_EBUSY : e; /* stopping: not "no moderator" */
}

static sl_err op_status(void *ud, const char *text, sl_report_status *out)
{
	worker *w = ud;
	sl_server *srv = w->tg->srv;
	uint8_t hash[SL_RECEIPT_HASH_BYTES];
	if (sl_receipt_hash(srv->key, text, hash) != SL_OK)
		return SL_EPARSE;
	return sl_store_report_status(srv->store, hash, NULL, out);
}

/* ---- the workers ---- */

static void *work(void *arg)
{
	worker *w = arg;
	sl_telegram *tg = w->tg;
	int64_t swept = 0;
	pthread_mutex_lock(&w->lock);
	while (!tg->stopping) {
		if (w->n == 0) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&w->wake, &w->lock, &until);
		}
		sl_tg_update u;
		bool got = false;
		if (w->n && !tg->stopping) {
			u = w->q[w->head];
			memset(&w->q[w->head], 0, sizeof(w->q[w->head]));
			w->head = (w->head + 1) % QUEUE_MAX;
			w->n--;
			got = true;
		}
		pthread_mutex_unlock(&w->lock);
		int64_t now = sl_time_now();
		if (got) {
			sl_bot_handle(tg->bot, &u, now, w);
			sl_tg_update_clear(&u);
		}
		if (now != swept) {
			sl_bot_sweep(tg->bot, w->index, now, w);
			swept = now;
		}
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Takes u (its text) onto its chat's worker; false when that queue is full
 * (u is then still the caller's). */
static bool enqueue(sl_telegram *tg, sl_tg_update *u)
{
	worker *w = &tg->workers[sl_bot_shard(tg->bot, u->chat_id)];
	pthread_mutex_lock(&w->lock);
	bool ok = w->n < QUEUE_MAX;
	if (ok) {
		w->q[(w->head + w->n) % QUEUE_MAX] = *u;
		w->n++;
		memset(u, 0, sizeof(*u));
		pthread_cond_signal(&w->wake);
	}
	pthread_mutex_unlock(&w->lock);
	return ok;
}

/* Whether update id was taken already; remembers it when not. */
static bool seen_before(sl_telegram *tg, int64_t id)
{
	pthread_mutex_lock(&tg->seen_lock);
	bool seen = false;
	for (size_t i = 0; i < tg->seen_n && !seen; i++)
		seen = tg->seen[i] == id;
	if (!seen) {
		tg->seen[tg->seen_pos] = id;
		tg->seen_pos = (tg->seen_pos + 1) % SEEN_MAX;
		if (tg->seen_n < SEEN_MAX)
			tg->seen_n++;
	}
	pthread_mutex_unlock(&tg->seen_lock);
	return seen;
}

static void forget_seen(sl_telegram *tg, int64_t id)
{
	pthread_mutex_lock(&tg->seen_lock);
	for (size_t i = 0; i < tg->seen_n; i++)
		if (tg->seen[i] == id)
			tg->seen[i] = 0;
	pthread_mutex_unlock(&tg->seen_lock);
}

sl_err sl_telegram_start(sl_server *srv)
{
	const sl_server_config *cfg = &srv->cfg;
	if (!cfg->telegram_token_file && !cfg->telegram_secret_file)
		return SL_OK;
	if (!cfg->telegram_token_file || !cfg->telegram_secret_file) {
		fprintf(stderr,
			"sightline: the Telegram bot needs both --telegram-token-file "
			"and --telegram-secret-file\n");
		return SL_EINVAL;
	}
	sl_telegram *tg = calloc(1, sizeof(*tg));
	if (!tg)
		return SL_ENOMEM;
	srv->telegram = tg;
	tg->srv = srv;
	pthread_mutex_init(&tg->seen_lock, NULL);
	sl_err e = read_secret(cfg->telegram_token_file, 128, &tg->token);
	if (e == SL_OK && !sl_tg_token_ok(tg->token))
		e = SL_EVALID;
	if (e != SL_OK) {
		fprintf(stderr, "sightline: --telegram-token-file: %s\n",
			e == SL_EVALID ? "not a bot token (digits, ':', then letters, "
					 "digits, - and _)"
				       : sl_strerror(e));
		return e;
	}
	e = read_secret(cfg->telegram_secret_file, SECRET_MAX, &tg->secret);
	if (e == SL_OK && !sl_tg_secret_ok(tg->secret))
		e = SL_EVALID;
	if (e != SL_OK) {
		fprintf(stderr, "sightline: --telegram-secret-file: %s\n",
			e == SL_EVALID
			    ? "not a webhook secret (1-256 of letters, digits, "
			      "- and _)"
			    : sl_strerror(e));
		return e;
	}
	tg->secret_len = strlen(tg->secret);
	tg->n_workers = cfg->telegram_workers ? cfg->telegram_workers : 1;
	sl_bot_config bc = {
	    .shards = tg->n_workers,
	    .max_conversations = cfg->telegram_conversations > tg->n_workers
				     ? cfg->telegram_conversations
				     : tg->n_workers,
	    .timeout_s = cfg->telegram_timeout_s ? cfg->telegram_timeout_s : 1800,
	    .max_reports = cfg->telegram_reports,
	    .gazetteer = srv->gazetteer,
	};
	static const sl_bot_ops ops = {op_call, op_photo, op_submit, op_status};
	e = sl_bot_new(&bc, &ops, &tg->bot);
	if (e == SL_OK && !(tg->workers = calloc(tg->n_workers, sizeof(worker))))
		e = SL_ENOMEM;
	for (unsigned i = 0; e == SL_OK && i < tg->n_workers; i++) {
		worker *w = &tg->workers[i];
		w->tg = tg;
		w->index = i;
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->wake, NULL);
		e = sl_tg_client_new(cfg->telegram_api_base, tg->token, &tg->stopping,
				     CALL_TIMEOUT_S, &w->client);
		if (e == SL_EINVAL)
			fprintf(stderr,
				"sightline: --telegram-api-base: not an http:// or "
				"https:// URL\n");
		if (e == SL_OK) {
			if (pthread_create(&w->thread, NULL, work, w) == 0)
				w->started = true;
			else
				e = SL_ENOMEM;
		}
	}
	return e;
}

void sl_telegram_stop(sl_server *srv)
{
	sl_telegram *tg = srv->telegram;
	if (!tg)
		return;
	tg->stopping = true;
	for (unsigned i = 0; tg->workers && i < tg->n_workers; i++) {
		worker *w = &tg->workers[i];
		if (!w->started && !w->client)
			continue;
		pthread_mutex_lock(&w->lock);
		pthread_cond_broadcast(&w->wake);
		pthread_mutex_unlock(&w->lock);
	}
	for (unsigned i = 0; tg->workers && i < tg->n_workers; i++) {
		worker *w = &tg->workers[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		while (w->n) {
			sl_tg_update_clear(&w->q[w->head]);
			w->head = (w->head + 1) % QUEUE_MAX;
			w->n--;
		}
		sl_tg_client_free(w->client);
		if (w->tg) {
			pthread_cond_destroy(&w->wake);
			pthread_mutex_destroy(&w->lock);
		}
	}
	sl_bot_free(tg->bot); /* every conversation is wiped */
	free(tg->workers);
	sodium_free(tg->token);
	sodium_free(tg->secret);
	pthread_mutex_destroy(&tg->seen_lock);
	sodium_memzero(tg, sizeof(*tg));
	free(tg);
	srv->telegram = NULL;
}

/* ---- the webhook ---- */

static bool is_json(struct MHD_Connection *c)
{
	const char *ct =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen("application/json");
	return ct && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

enum MHD_Result sl_telegram_begin(sl_server *srv, struct MHD_Connection *c,
				  const char *method, void **con_cls)
{
	sl_telegram *tg = srv->telegram;
	if (!tg)
		return sl_http_problem(c, 404, "no such resource", NULL, NULL, 0);
	if (strcmp(method, "POST") != 0)
		return sl_http_problem(c, 405, "use POST", NULL, "POST", 0);
	const char *secret = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, "X-Telegram-Bot-Api-Secret-Token");
	if (!secret)
		return sl_http_problem(c, 401, "the webhook's secret token is missing",
				       NULL, NULL, 0);
	/* Constant time over the secret's length; a length of its own is no
	 * secret. */
	if (strlen(secret) != tg->secret_len ||
	    sodium_memcmp(secret, tg->secret, tg->secret_len) != 0)
		return sl_http_problem(c, 403, "wrong secret token", NULL, NULL, 0);
	if (!is_json(c))
		return sl_http_problem(c, 415, "Content-Type must be application/json",
				       NULL, NULL, 0);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > srv->cfg.body_cap) {
		char msg[96];
		snprintf(msg, sizeof(msg),
			 "the body is larger than the limit of %zu bytes",
			 srv->cfg.body_cap);
		return sl_http_problem(c, 413, msg, NULL, NULL, 0);
	}
	request *rq = sl_intake_request_new(srv, c, REQ_TELEGRAM);
	if (!rq)
		return MHD_NO;
	*con_cls = rq;
	return MHD_YES;
}

enum MHD_Result sl_telegram_update(request *rq)
{
	struct MHD_Connection *c = rq->conn;
	sl_telegram *tg = rq->srv->telegram;
	json_error_t jerr;
	json_t *root =
	    json_loadb(rq->body ? rq->body : "", rq->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		/* jerr.text may quote the body: it is not repeated. */
		sl_problems why = {0};
		sl_problems_add(&why, "", "malformed JSON at line %d, column %d",
				jerr.line, jerr.column);
		return sl_http_problem(c, 400, NULL, &why, NULL, 0);
	}
	sl_tg_update u;
	sl_err e = sl_tg_update_parse(root, &u);
	json_decref(root);
	if (e == SL_EPARSE)
		return sl_http_problem(c, 400, "not a Telegram Update (no update_id)",
				       NULL, NULL, 0);
	if (e == SL_ENOMEM)
		return sl_http_problem(c, 503, "out of memory", NULL, NULL, 5);
	if (e == SL_ENOTFOUND || seen_before(tg, u.update_id)) {
		sl_tg_update_clear(&u);
		return sl_http_respond(c, 200, NULL, NULL, NULL, 0);
	}
	if (!enqueue(tg, &u)) {
		forget_seen(tg, u.update_id); /* Telegram will send it again */
		sl_tg_update_clear(&u);
		return sl_http_problem(c, 503, "busy: send the update again", NULL, NULL,
				       5);
	}
	return sl_http_respond(c, 200, NULL, NULL, NULL, 0);
}
