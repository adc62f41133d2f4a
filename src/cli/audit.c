/*
 * audit.c — the commands that read the audit log (docs/AUDIT.md).
 *
 *   sightline audit verify [--data DIR] [--expect-head HEX]
 *   sightline audit show   [--data DIR] [--limit N]
 *
 * verify exits 0 with "audit log intact: N entries, head HEX", or 1 with
 * "audit log damaged at entry N: WHY" (2 when it could not check at all).
 * The head it prints is worth keeping somewhere the server cannot reach:
 * given back as --expect-head, it catches entries cut off the end of the
 * log, and a log rewritten with the server's own key, which nothing inside
 * the log can show.
 *
 * Appending is done where the actions are (keys.c, the server), through
 * sl_audit_append; these commands only read.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sightline/audit.h"
#include "sightline/timefmt.h"

int open_audit(const options *o, sl_store *store, sl_audit **audit)
{
	sl_err e = sl_audit_open(o->data, store, audit);
	if (e != SL_OK)
		return fail("cannot open the audit log of %s (key %s/keys/audit.key): %s",
			    o->data, o->data, sl_strerror(e));
	return 0;
}

int audit_append(sl_audit *audit, const char *actor, const char *action,
		 const char *subject, const char *detail_json)
{
	sl_err e = sl_audit_append(audit, actor, action, subject, detail_json);
	if (e != SL_OK)
		return fail("cannot record %s of %s in the audit log: %s", action,
			    subject, sl_strerror(e));
	return 0;
}

int cmd_audit_verify(options *o, int argc, char **argv)
{
	if (argc > 0)
		return fail("audit verify: unexpected argument \"%s\"", argv[0]);
	uint8_t expect[SL_AUDIT_HASH_BYTES];
	size_t got = 0;
	if (o->expect_head &&
	    (strlen(o->expect_head) != 2 * sizeof(expect) ||
	     sodium_hex2bin(expect, sizeof(expect), o->expect_head,
			    strlen(o->expect_head), NULL, &got, NULL) != 0 ||
	     got != sizeof(expect)))
		return fail(
		    "audit verify: --expect-head \"%s\" is not a head (64 hex digits, "
		    "as audit verify prints it)",
		    o->expect_head);
	sl_store *store;
	int rc = open_store(o, &store);
	if (rc)
		return rc;
	sl_audit *audit = NULL;
	if ((rc = open_audit(o, store, &audit))) {
		sl_store_close(store);
		return rc;
	}
	sl_audit_result r;
	sl_err e = sl_audit_verify_head(store, sl_audit_public_key(audit),
					o->expect_head ? expect : NULL, &r);
	sl_audit_close(audit);
	sl_store_close(store);
	if (e != SL_OK)
		return fail("audit verify: cannot read the log: %s", sl_strerror(e));
	char head[2 * SL_AUDIT_HASH_BYTES + 1];
	sodium_bin2hex(head, sizeof(head), r.head, sizeof(r.head));
	if (!r.ok) {
		printf("audit log damaged at entry %" PRId64 ": %s\n", r.bad_seq, r.why);
		return 1;
	}
	printf("audit log intact: %" PRId64 " entries, head %s\n", r.entries, head);
	if (o->expect_head)
		printf("the noted head is entry %" PRId64 "%s\n", r.noted_seq,
		       r.noted_seq == r.entries ? " (nothing appended since)" : "");
	return 0;
}

typedef struct show_ctx {
	FILE *out;
	int64_t shown;
} show_ctx;

/* A field for the terminal: the log only ever holds one-line UTF-8 text,
 * but a hand-edited row could hold anything; control bytes become '?'.
 * (verify is what tells such a row apart.) */
static void put_field(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static sl_err show_one(void *ud, const sl_audit_entry *e)
{
	show_ctx *c = ud;
	char when[SL_TIME_TEXT_MAX];
	sl_time_format(e->at, when);
	fprintf(c->out, "%" PRId64 " %s ", e->seq, when);
	put_field(c->out, e->actor);
	fputc(' ', c->out);
	put_field(c->out, e->action);
	fputc(' ', c->out);
	put_field(c->out, e->subject);
	fputc(' ', c->out);
	put_field(c->out, e->detail ? e->detail : "-");
	fputc('\n', c->out);
	c->shown++;
	return SL_OK;
}

int cmd_audit_show(options *o, int argc, char **argv)
{
	if (argc > 0)
		return fail("audit show: unexpected argument \"%s\"", argv[0]);
	sl_store *store;
	int rc = open_store(o, &store);
	if (rc)
		return rc;
	sl_arena *a = sl_arena_new((size_t)1 << 20);
	sl_audit_entry last;
	sl_err e = a ? sl_store_audit_last(store, &last, a) : SL_ENOMEM;
	show_ctx c = {.out = stdout};
	if (e == SL_OK) {
		int64_t after = 0;
		if (o->limit > 0 && last.seq > (int64_t)o->limit)
			after = last.seq - (int64_t)o->limit;
		e = sl_store_each_audit(store, after, show_one, &c);
	} else if (e == SL_ENOTFOUND) {
		e = SL_OK;
		fprintf(stderr, "sightline: the audit log is empty\n");
	}
	sl_arena_free(a);
	sl_store_close(store);
	if (e != SL_OK)
		return fail("audit show: %s", sl_strerror(e));
	return 0;
}
