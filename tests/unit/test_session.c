/*
 * test_session.c — the session table (session.h): a signed-in moderator's
 * unlocked key lives exactly as long as the session, and is wiped when it
 * ends — by sign-out, idle expiry, its lifetime, a full table or a sweep —
 * once the last request using it lets go.
 *
 * "Wiped" is seen through sl_secret_keys_live(): the count of unlocked keys
 * goes down only in sl_secret_key_free, which sodium_free's (zeroing) the
 * key's pages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sightline/modkey.h"
#include "sightline/receipt.h"
#include "sightline/session.h"

static const char pass[] = "a passphrase for the session tests";
static sl_modkey_record rec;

static int setup(void **state)
{
	(void)state;
	char recovery[SL_RECOVERY_TEXT_MAX];
	if (sl_crypto_init() != SL_OK ||
	    sl_modkey_create(pass, strlen(pass), &rec, recovery) != SL_OK)
		return -1;
	return 0;
}

static sl_secret_key *unlock(void)
{
	sl_secret_key *sk = NULL;
	assert_int_equal(sl_modkey_unlock(&rec, pass, strlen(pass), &sk), SL_OK);
	return sk;
}

static sl_moderator moderator(int64_t id)
{
	sl_moderator m = {.id = id, .role = SL_ROLE_MODERATOR, .key = rec};
	snprintf(m.name, sizeof(m.name), "mod%lld", (long long)id);
	return m;
}

/* Idle expiry (the default is 30 minutes; here 1 s): the next lookup past
 * it finds nothing and the key is gone. */
static void test_idle_expiry_wipes(void **state)
{
	(void)state;
	sl_sessions *t;
	assert_int_equal(sl_sessions_new(8, 1000, 60000, &t), SL_OK);
	size_t before = sl_secret_keys_live();
	sl_moderator m = moderator(1);
	char token[SL_SESSION_TEXT_MAX];
	assert_int_equal(sl_sessions_create(t, &m, unlock(), 0, token, NULL), SL_OK);
	assert_int_equal(sl_secret_keys_live(), before + 1);
	sl_session *s = sl_sessions_get(t, token, 900); /* used: idle time restarts */
	assert_non_null(s);
	assert_int_equal(sl_session_moderator_id(s), 1);
	sl_session_release(s);
	assert_int_equal(sl_secret_keys_live(), before + 1);
	assert_null(sl_sessions_get(t, token, 1899 + 1001));
	assert_int_equal(sl_secret_keys_live(), before);
	assert_int_equal(sl_sessions_count(t), 0);
	sl_sessions_free(t);
}

/* A sweep ends an expired session nobody looks up; a request still using
 * it keeps a valid key until it releases it, and no longer. */
static void test_sweep_waits_for_the_request(void **state)
{
	(void)state;
	sl_sessions *t;
	assert_int_equal(sl_sessions_new(8, 1000, 60000, &t), SL_OK);
	size_t before = sl_secret_keys_live();
	sl_moderator m = moderator(2);
	char token[SL_SESSION_TEXT_MAX];
	sl_session *held;
	assert_int_equal(sl_sessions_create(t, &m, unlock(), 0, token, &held), SL_OK);
	assert_int_equal(sl_sessions_sweep(t, 5000, NULL, NULL), 1);
	assert_null(sl_sessions_get(t, token, 5001));
	assert_non_null(sl_session_key(held)); /* still usable by its request */
	assert_int_equal(sl_secret_keys_live(), before + 1);
	sl_session_release(held);
	assert_int_equal(sl_secret_keys_live(), before);
	sl_sessions_free(t);
}

/* The absolute lifetime ends a session however busy it is. */
static void test_lifetime_wipes(void **state)
{
	(void)state;
	sl_sessions *t;
	assert_int_equal(sl_sessions_new(8, 1000, 3000, &t), SL_OK);
	size_t before = sl_secret_keys_live();
	sl_moderator m = moderator(3);
	char token[SL_SESSION_TEXT_MAX];
	assert_int_equal(sl_sessions_create(t, &m, unlock(), 0, token, NULL), SL_OK);
	for (int64_t now = 500; now < 3000; now += 500) {
		sl_session *s = sl_sessions_get(t, token, now);
		assert_non_null(s);
		sl_session_release(s);
	}
	assert_null(sl_sessions_get(t, token, 3001));
	assert_int_equal(sl_secret_keys_live(), before);
	sl_sessions_free(t);
}

/* Sign-out: no lookup finds it, and the key goes with the last reference. */
static void test_sign_out_wipes(void **state)
{
	(void)state;
	sl_sessions *t;
	assert_int_equal(sl_sessions_new(8, 60000, 60000, &t), SL_OK);
	size_t before = sl_secret_keys_live();
	sl_moderator m = moderator(4);
	char token[SL_SESSION_TEXT_MAX];
	assert_int_equal(sl_sessions_create(t, &m, unlock(), 0, token, NULL), SL_OK);
	sl_session *s = sl_sessions_get(t, token, 10);
	assert_non_null(s);
	sl_sessions_end(t, s);
	assert_null(sl_sessions_get(t, token, 11));
	assert_int_equal(sl_secret_keys_live(), before + 1);
	sl_session_release(s);
	assert_int_equal(sl_secret_keys_live(), before);
	sl_sessions_free(t);
}

/* A full table ends the session idle the longest; a sweep ends the
 * sessions of a moderator who is no longer active; freeing the table ends
 * the rest. Each wipes its key. */
static bool only_five(void *ud, int64_t moderator_id, const char *name, sl_role role)
{
	(void)ud, (void)name, (void)role;
	return moderator_id == 5;
}

static void test_full_table_and_removal_wipe(void **state)
{
	(void)state;
	sl_sessions *t;
	assert_int_equal(sl_sessions_new(2, 60000, 60000, &t), SL_OK);
	size_t before = sl_secret_keys_live();
	char a[SL_SESSION_TEXT_MAX], b[SL_SESSION_TEXT_MAX], c[SL_SESSION_TEXT_MAX];
	sl_moderator m5 = moderator(5), m6 = moderator(6), m7 = moderator(7);
	assert_int_equal(sl_sessions_create(t, &m5, unlock(), 0, a, NULL), SL_OK);
	assert_int_equal(sl_sessions_create(t, &m6, unlock(), 10, b, NULL), SL_OK);
	sl_session *s = sl_sessions_get(t, a, 20); /* a is now the fresher */
	sl_session_release(s);
	assert_int_equal(sl_sessions_create(t, &m7, unlock(), 30, c, NULL), SL_OK);
	assert_null(sl_sessions_get(t, b, 40)); /* b made room */
	assert_int_equal(sl_secret_keys_live(), before + 2);
	assert_int_equal(sl_sessions_sweep(t, 50, only_five, NULL), 1);
	assert_null(sl_sessions_get(t, c, 60));
	assert_int_equal(sl_secret_keys_live(), before + 1);
	sl_sessions_free(t);
	assert_int_equal(sl_secret_keys_live(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idle_expiry_wipes),
	    cmocka_unit_test(test_sweep_waits_for_the_request),
	    cmocka_unit_test(test_lifetime_wipes),
	    cmocka_unit_test(test_sign_out_wipes),
	    cmocka_unit_test(test_full_table_and_removal_wipe),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
