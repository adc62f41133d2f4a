/*
 * session.c — the in-memory table of signed-in moderators (session.h).
 *
 * The table is a small array (256 sessions by default) searched from end to
 * end under one mutex: sign-ins are rare and lookups cost one BLAKE2b hash
 * and at most a few hundred 32-byte constant-time comparisons, so nothing
 * cleverer pays for itself. A session is referenced by the table while it
 * is live and by each request that looked it up; the last reference to go
 * wipes and frees it, key first. Ended sessions are freed after the lock is
 * let go, since freeing a key unmaps its guarded pages.
 */
#include "sightline/session.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define HASH_BYTES crypto_generichash_BYTES /* 32 */
#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define TEXT_LEN (SL_SESSION_TEXT_MAX - 1)

struct sl_session {
	sl_sessions *table;
	uint8_t token_hash[HASH_BYTES]; /* BLAKE2b of the token's 32 bytes */
	int64_t moderator_id;
	char name[SL_MODERATOR_NAME_MAX + 1];
	sl_role role;
	char csrf[SL_SESSION_TEXT_MAX];
	sl_secret_key *key;
	int64_t created_ms, last_seen_ms; /* last_seen_ms under the table's lock */
	unsigned refs;			  /* under the table's lock */
	bool live;			  /* in the table; under its lock */
	sl_session *next_dead;		  /* on a list of sessions to free */
};

struct sl_sessions {
	pthread_mutex_t lock;
	int64_t idle_ms, max_ms;
	size_t max, n;
	sl_session **live; /* n of max, in no order */
};

/* Wipes and frees s; the caller holds no lock. */
static void destroy(sl_session *s)
{
	sl_secret_key_free(s->key);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

static void destroy_list(sl_session *dead)
{
	while (dead) {
		sl_session *next = dead->next_dead;
		destroy(dead);
		dead = next;
	}
}

/* Drops one reference under the lock; a session left with none goes on
 * *dead, to be destroyed once the lock is let go. */
static void unref_locked(sl_session *s, sl_session **dead)
{
	if (--s->refs == 0) {
		s->next_dead = *dead;
		*dead = s;
	}
}

/* Ends the live session at index i: out of the table, and the table's
 * reference dropped. */
static void end_at(sl_sessions *t, size_t i, sl_session **dead)
{
	sl_session *s = t->live[i];
	t->live[i] = t->live[--t->n];
	t->live[t->n] = NULL;
	s->live = false;
	unref_locked(s, dead);
}

static bool expired(const sl_sessions *t, const sl_session *s, int64_t now_ms)
{
	return now_ms - s->last_seen_ms >= t->idle_ms ||
	       now_ms - s->created_ms >= t->max_ms;
}

sl_err sl_sessions_new(size_t max, int64_t idle_ms, int64_t max_ms, sl_sessions **out)
{
	*out = NULL;
	if (max == 0 || idle_ms <= 0 || max_ms <= 0)
		return SL_EINVAL;
	if (sodium_init() < 0)
		return SL_ECRYPTO;
	sl_sessions *t = calloc(1, sizeof(*t));
	if (!t)
		return SL_ENOMEM;
	t->live = calloc(max, sizeof(*t->live));
	if (!t->live) {
		free(t);
		return SL_ENOMEM;
	}
	t->max = max;
	t->idle_ms = idle_ms;
	t->max_ms = max_ms;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return SL_OK;
}

void sl_sessions_free(sl_sessions *t)
{
	if (!t)
		return;
	sl_session *dead = NULL;
	pthread_mutex_lock(&t->lock);
	while (t->n)
		end_at(t, t->n - 1, &dead);
	pthread_mutex_unlock(&t->lock);
	destroy_list(dead);
	pthread_mutex_destroy(&t->lock);
	free(t->live);
	free(t);
}

sl_err sl_sessions_create(sl_sessions *t, const sl_moderator *m, sl_secret_key *sk,
			  int64_t now_ms, char token[SL_SESSION_TEXT_MAX],
			  sl_session **out)
{
	if (out)
		*out = NULL;
	memset(token, 0, SL_SESSION_TEXT_MAX);
	sl_session *s = calloc(1, sizeof(*s));
	if (!s) {
		sl_secret_key_free(sk);
		return SL_ENOMEM;
	}
	uint8_t raw[SL_SESSION_TOKEN_BYTES];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(token, SL_SESSION_TEXT_MAX, raw, sizeof(raw), B64_VARIANT);
	crypto_generichash(s->token_hash, sizeof(s->token_hash), raw, sizeof(raw), NULL,
			   0);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(s->csrf, sizeof(s->csrf), raw, sizeof(raw), B64_VARIANT);
	sodium_memzero(raw, sizeof(raw));

	s->table = t;
	s->moderator_id = m->id;
	memcpy(s->name, m->name, sizeof(s->name));
	s->name[sizeof(s->name) - 1] = '\0';
	s->role = m->role;
	s->key = sk;
	s->created_ms = s->last_seen_ms = now_ms;
	s->live = true;
	s->refs = out ? 2 : 1;

	sl_session *dead = NULL;
	pthread_mutex_lock(&t->lock);
	if (t->n == t->max) {
		/* Make room: the session idle the longest goes. */
		size_t oldest = 0;
		for (size_t i = 1; i < t->n; i++)
			if (t->live[i]->last_seen_ms < t->live[oldest]->last_seen_ms)
				oldest = i;
		end_at(t, oldest, &dead);
	}
	t->live[t->n++] = s;
	pthread_mutex_unlock(&t->lock);
	destroy_list(dead);
	if (out)
		*out = s;
	return SL_OK;
}

sl_session *sl_sessions_get(sl_sessions *t, const char *token, int64_t now_ms)
{
	if (!token || strlen(token) != TEXT_LEN)
		return NULL;
	uint8_t raw[SL_SESSION_TOKEN_BYTES], hash[HASH_BYTES];
	size_t got = 0;
	const char *end = NULL;
	/* libsodium refuses non-zero padding bits, so one token has exactly
	 * one spelling. */
	if (sodium_base642bin(raw, sizeof(raw), token, TEXT_LEN, NULL, &got, &end,
			      B64_VARIANT) != 0 ||
	    got != sizeof(raw) || end != token + TEXT_LEN) {
		sodium_memzero(raw, sizeof(raw));
		return NULL;
	}
	crypto_generichash(hash, sizeof(hash), raw, sizeof(raw), NULL, 0);
	sodium_memzero(raw, sizeof(raw));

	sl_session *found = NULL, *dead = NULL;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n; i++) {
		sl_session *s = t->live[i];
		if (sodium_memcmp(s->token_hash, hash, sizeof(hash)) != 0)
			continue;
		if (expired(t, s, now_ms)) {
			end_at(t, i, &dead);
		} else {
			s->last_seen_ms = now_ms;
			s->refs++;
			found = s;
		}
		break;
	}
	pthread_mutex_unlock(&t->lock);
	destroy_list(dead);
	return found;
}

void sl_session_release(sl_session *s)
{
	if (!s)
		return;
	sl_sessions *t = s->table;
	sl_session *dead = NULL;
	pthread_mutex_lock(&t->lock);
	unref_locked(s, &dead);
	pthread_mutex_unlock(&t->lock);
	destroy_list(dead);
}

void sl_sessions_end(sl_sessions *t, sl_session *s)
{
	sl_session *dead = NULL;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; s->live && i < t->n; i++)
		if (t->live[i] == s)
			end_at(t, i, &dead);
	pthread_mutex_unlock(&t->lock);
	destroy_list(dead); /* empty while the caller holds its reference */
}

/* One moderator as a sweep saw it, and the verdict on them. */
typedef struct holder {
	int64_t id;
	char name[SL_MODERATOR_NAME_MAX + 1];
	sl_role role;
	bool keep;
} holder;

static bool same_holder(const holder *h, const sl_session *s)
{
	return h->id == s->moderator_id && h->role == s->role &&
	       strcmp(h->name, s->name) == 0;
}

size_t sl_sessions_sweep(sl_sessions *t, int64_t now_ms, sl_session_check check, void *ud)
{
	size_t ended = 0, n_holders = 0;
	sl_session *dead = NULL;
	holder *holders = check ? calloc(t->max, sizeof(*holders)) : NULL;

	pthread_mutex_lock(&t->lock);
	for (size_t i = t->n; i-- > 0;)
		if (expired(t, t->live[i], now_ms)) {
			end_at(t, i, &dead);
			ended++;
		}
	for (size_t i = 0; holders && i < t->n; i++) {
		const sl_session *s = t->live[i];
		bool seen = false;
		for (size_t k = 0; !seen && k < n_holders; k++)
			seen = same_holder(&holders[k], s);
		if (seen)
			continue;
		holder *h = &holders[n_holders++];
		h->id = s->moderator_id;
		memcpy(h->name, s->name, sizeof(h->name));
		h->role = s->role;
	}
	pthread_mutex_unlock(&t->lock);

	/* Ask about each moderator without the lock: the answer may take a
	 * database read, and lookups must not wait for it. A session started
	 * meanwhile is simply not judged until the next sweep. */
	bool any_gone = false;
	for (size_t k = 0; k < n_holders; k++) {
		holders[k].keep =
		    check(ud, holders[k].id, holders[k].name, holders[k].role);
		any_gone |= !holders[k].keep;
	}
	if (any_gone) {
		pthread_mutex_lock(&t->lock);
		for (size_t i = t->n; i-- > 0;)
			for (size_t k = 0; k < n_holders; k++)
				if (!holders[k].keep &&
				    same_holder(&holders[k], t->live[i])) {
					end_at(t, i, &dead);
					ended++;
					break;
				}
		pthread_mutex_unlock(&t->lock);
	}
	free(holders);
	destroy_list(dead);
	return ended;
}

size_t sl_sessions_count(sl_sessions *t)
{
	pthread_mutex_lock(&t->lock);
	size_t n = t->n;
	pthread_mutex_unlock(&t->lock);
	return n;
}

int64_t sl_session_moderator_id(const sl_session *s)
{
	return s->moderator_id;
}

const char *sl_session_name(const sl_session *s)
{
	return s->name;
}

sl_role sl_session_role(const sl_session *s)
{
	return s->role;
}

const char *sl_session_csrf(const sl_session *s)
{
	return s->csrf;
}

const sl_secret_key *sl_session_key(const sl_session *s)
{
	return s->key;
}

bool sl_session_csrf_ok(const sl_session *s, const char *given)
{
	/* The length is no secret: every token has 43 characters. */
	if (!given || strlen(given) != TEXT_LEN)
		return false;
	return sodium_memcmp(given, s->csrf, TEXT_LEN) == 0;
}

int64_t sl_session_expires_in(const sl_session *s, int64_t now_ms)
{
	sl_sessions *t = s->table;
	pthread_mutex_lock(&t->lock);
	int64_t idle_end = s->last_seen_ms + t->idle_ms;
	pthread_mutex_unlock(&t->lock);
	int64_t end = s->created_ms + t->max_ms;
	if (idle_end < end)
		end = idle_end;
	return end > now_ms ? end - now_ms : 0;
}
