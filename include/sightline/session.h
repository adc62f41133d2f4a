/*
 * session.h — signed-in moderators, in memory only.
 *
 * A moderator signs in with their passphrase (mod.c); that unlocks their
 * secret key (modkey.h), and the unlocked key lives here, in a session, for
 * as long as the moderator keeps using it — never on disk, never in a log.
 * The browser holds the session's token in an HttpOnly cookie: 32 random
 * bytes as unpadded base64url. The table keeps only the BLAKE2b hash of the
 * token and compares hashes in constant time, so not even a memory dump of
 * the table gives anyone a cookie that works.
 *
 * A session ends when it has been idle too long, when it reaches its
 * absolute lifetime, when the moderator signs out, when the table is full
 * and it is the one idle the longest, or when a sweep finds that its
 * moderator is no longer active. Its key is then wiped and freed
 * (sl_secret_key_free) as soon as no request still uses it: lookups hand
 * out references, so a request that is running when its session ends keeps
 * a valid key to the end of that request and no longer.
 *
 * Times are milliseconds of a monotonic clock, given by the caller, so that
 * a change of the wall clock neither ends nor prolongs a session.
 * Everything here is thread-safe.
 */
#ifndef SIGHTLINE_SESSION_H
#define SIGHTLINE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/err.h"
#include "sightline/modkey.h"
#include "sightline/store.h"

#define SL_SESSION_TOKEN_BYTES 32
/* Unpadded base64url of 32 bytes is 43 characters; with the NUL, 44. */
#define SL_SESSION_TEXT_MAX 44

typedef struct sl_sessions sl_sessions; /* the table */
typedef struct sl_session sl_session;	/* one session, handed out by reference */

/* A new, empty table of at most max sessions (at least 1), each ending after
 * idle_ms without a lookup or max_ms after its creation (both at least 1).
 * Free with sl_sessions_free. */
sl_err sl_sessions_new(size_t max, int64_t idle_ms, int64_t max_ms, sl_sessions **out);

/* Ends every session and frees the table. Every reference handed out must
 * have been released first. NULL is fine. */
void sl_sessions_free(sl_sessions *t);

/* Starts a session for moderator m (its id, name and role are copied; its
 * key record is not looked at) holding sk, which the table takes over in
 * every case (freed with sl_secret_key_free on failure too). When the table
 * is full, the session idle the longest is ended to make room. Writes the
 * token to token: show it to the browser once (the cookie) and keep it
 * nowhere. *out, when out is not NULL, gets a reference the caller
 * releases. SL_ENOMEM. */
sl_err sl_sessions_create(sl_sessions *t, const sl_moderator *m, sl_secret_key *sk,
			  int64_t now_ms, char token[SL_SESSION_TEXT_MAX] /* OUT */,
			  sl_session **out /* OUT, may be NULL */);

/* The session whose token is token (text as in the cookie), touched (its
 * idle time starts again), as a reference the caller releases; NULL when
 * there is none, the text is not a token, or the session has expired (it
 * is then ended). */
sl_session *sl_sessions_get(sl_sessions *t, const char *token, int64_t now_ms);

/* Gives back a reference from sl_sessions_create or sl_sessions_get. When
 * the session has ended and this was the last reference, its key is wiped
 * and freed now. NULL is fine. */
void sl_session_release(sl_session *s);

/* Ends s (sign-out): no lookup finds it from now on, and its key is wiped
 * when the caller releases its reference (which it still must). */
void sl_sessions_end(sl_sessions *t, sl_session *s);

/* Whether a moderator still holds the session described: called by
 * sl_sessions_sweep, without the table's lock held. */
typedef bool (*sl_session_check)(void *ud, int64_t moderator_id, const char *name,
				 sl_role role);

/* Ends every expired session, then, when check is not NULL, every session
 * for which check answers false (each moderator is checked once per sweep).
 * Returns how many sessions it ended. */
size_t sl_sessions_sweep(sl_sessions *t, int64_t now_ms, sl_session_check check,
			 void *ud);

/* How many sessions are live. */
size_t sl_sessions_count(sl_sessions *t);

/* What a session is. The strings and the key stay valid while the caller
 * holds its reference. */
int64_t sl_session_moderator_id(const sl_session *s);
const char *sl_session_name(const sl_session *s);
sl_role sl_session_role(const sl_session *s);
const char *sl_session_csrf(const sl_session *s); /* 43 characters of base64url */
const sl_secret_key *sl_session_key(const sl_session *s);

/* True when given is the session's CSRF token (constant time for tokens of
 * the right length); false for NULL. */
bool sl_session_csrf_ok(const sl_session *s, const char *given);

/* Milliseconds until s expires if it is not used again (0 when it has). */
int64_t sl_session_expires_in(const sl_session *s, int64_t now_ms);

#endif
