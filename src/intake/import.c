/*
 * import.c — bulk intake from files, in batches; and export.
 *
 * An import is how a deployment gets history it did not collect itself (the
 * CIR map, another sightline's export, a demo set). Each format has a reader
 * that turns its input into reports one record at a time (the jsonl one is
 * here; CIR CSV in cir.c; the demo set in demo.c) and hands every usable one
 * to a batch, which stores SL_IMPORT_BATCH reports per transaction. A bad
 * record is told to the caller with its line and skipped; it never stops the
 * import. A ref already stored makes the report a duplicate, so importing
 * the same file twice stores it once.
 *
 * Export writes the jsonl that import reads: one report per line in the API's
 * JSON form with the server's fields (id, status, received_at), so export
 * then import into a fresh store gives the same reports.
 */
#include <stdlib.h>
#include <string.h>

#include "intake/import_int.h"
#include "sightline/report_json.h"
#include "sightline/sealing.h"

bool sl_import_format_from_name(const char *name, sl_import_format *out)
{
	static const struct {
		const char *name;
		sl_import_format fmt;
	} names[] = {
	    {"jsonl", SL_IMPORT_JSONL},
	    {"cir-csv", SL_IMPORT_CIR_CSV},
	    {"demo", SL_IMPORT_DEMO},
	};
	if (!name || !out)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].fmt;
			return true;
		}
	}
	return false;
}

/* ---- lines, with a cap ---- */

void sl_line_reader_init(sl_line_reader *lr, FILE *in, size_t max)
{
	memset(lr, 0, sizeof(*lr));
	lr->in = in;
	lr->max = max;
}

void sl_line_reader_free(sl_line_reader *lr)
{
	free(lr->buf);
	lr->buf = NULL;
	lr->size = lr->len = 0;
}

/* Room for n bytes and a NUL (or a newline put back, and a NUL). */
static bool reserve(sl_line_reader *lr, size_t n)
{
	if (n + 2 <= lr->size)
		return true;
	size_t size = lr->size ? lr->size : 256;
	while (size < n + 2)
		size *= 2;
	if (size > lr->max + 2)
		size = lr->max + 2;
	char *buf = realloc(lr->buf, size);
	if (!buf)
		return false;
	lr->buf = buf;
	lr->size = size;
	return true;
}

int sl_line_reader_next(sl_line_reader *lr, sl_err *err)
{
	lr->len = 0;
	lr->too_long = false;
	lr->ended_with_newline = false;
	if (!reserve(lr, 0)) {
		*err = SL_ENOMEM;
		return -1;
	}
	int c;
	bool any = false;
	while ((c = getc_unlocked(lr->in)) != EOF) {
		any = true;
		if (c == '\n') {
			lr->ended_with_newline = true;
			break;
		}
		if (lr->too_long)
			continue;
		if (lr->len >= lr->max) {
			lr->too_long = true;
			lr->len = 0;
			continue;
		}
		if (!reserve(lr, lr->len + 1)) {
			*err = SL_ENOMEM;
			return -1;
		}
		lr->buf[lr->len++] = (char)c;
	}
	if (ferror(lr->in)) {
		*err = SL_EIO;
		return -1;
	}
	if (!any)
		return 0;
	if (lr->len && lr->buf[lr->len - 1] == '\r')
		lr->len--;
	lr->buf[lr->len] = '\0';
	lr->line++;
	return 1;
}

/* ---- the batch ---- */

/* The batch arena holds SL_IMPORT_BATCH reports of at most about 17 KiB
 * each (text, six short strings, 32 models); the cap leaves room. */
#define BATCH_ARENA_CAP (32u * 1024 * 1024)

struct sl_import_batch {
	sl_store *store;
	sl_arena *arena;
	size_t n;
	sl_report reports[SL_IMPORT_BATCH];
	sl_report *ptrs[SL_IMPORT_BATCH];
	sl_put_result results[SL_IMPORT_BATCH];
	sl_import_reject on_reject;
	void *ud;
	sl_import_stats *stats;
	sl_recipients rc; /* whom text and contact are sealed to */
	int64_t now;
};

void sl_import_batch_count(sl_import_batch *b)
{
	b->stats->records++;
}

void sl_import_batch_tell(sl_import_batch *b, long line, const char *why)
{
	if (b->on_reject)
		b->on_reject(b->ud, line, why);
}

void sl_import_batch_reject(sl_import_batch *b, long line, const char *why)
{
	b->stats->rejected++;
	sl_import_batch_tell(b, line, why);
}

void sl_import_batch_reject_problems(sl_import_batch *b, long line,
				     const sl_problems *why)
{
	char msg[SL_PROBLEMS_MAX * 280];
	sl_problems_format(why, msg, sizeof(msg));
	sl_import_batch_reject(b, line, msg);
}

static sl_err flush(sl_import_batch *b)
{
	if (b->n == 0)
		return SL_OK;
	sl_err err = sl_store_put_reports(b->store, b->ptrs, b->n, b->results);
	if (err == SL_OK) {
		for (size_t i = 0; i < b->n; i++) {
			if (b->results[i] == SL_PUT_INSERTED)
				b->stats->imported++;
			else
				b->stats->duplicate++;
		}
	}
	b->n = 0;
	sl_arena_reset(b->arena);
	return err;
}

static bool dup_str(sl_arena *a, const char **s)
{
	if (!*s)
		return true;
	*s = sl_arena_strdup(a, *s);
	return *s != NULL;
}

sl_err sl_import_batch_add(sl_import_batch *b, const sl_report *r, long line)
{
	/* Refused before anything is copied: a file of such records must not
	 * fill the batch arena with plaintext it will never store. */
	if (b->rc.n == 0 && sl_report_has_sensitive(r, 0)) {
		sl_import_batch_reject(b, line,
				       "text, contact: there is no moderator to seal them "
				       "to; add one first (sightline moderator add)");
		return SL_OK;
	}
	sl_report *dst = &b->reports[b->n];
	sl_arena *a = b->arena;
	*dst = *r;
	dst->id = 0;
	dst->equipment = NULL;
	if (r->n_equipment) {
		dst->equipment =
		    sl_arena_alloc(a, r->n_equipment * sizeof(*r->equipment));
		if (!dst->equipment)
			return SL_ENOMEM;
		memcpy(dst->equipment, r->equipment,
		       r->n_equipment * sizeof(*r->equipment));
		for (size_t i = 0; i < r->n_equipment; i++) {
			if (!dup_str(a, &dst->equipment[i].model))
				return SL_ENOMEM;
		}
	}
	if (!dup_str(a, &dst->location.place) || !dup_str(a, &dst->destination) ||
	    !dup_str(a, &dst->text) || !dup_str(a, &dst->contact) ||
	    !dup_str(a, &dst->language) || !dup_str(a, &dst->ref))
		return SL_ENOMEM;
	dst->n_sealed = 0;
	dst->sealed = NULL;
	sl_err err = sl_report_seal(dst, &b->rc, NULL, 0, b->now, a);
	if (err)
		return err;
	b->ptrs[b->n] = dst;
	b->n++;
	return b->n == SL_IMPORT_BATCH ? flush(b) : SL_OK;
}

/* ---- jsonl ---- */

static sl_err import_jsonl(sl_import_batch *b, FILE *in, int64_t now)
{
	sl_arena *scratch = sl_arena_new(SL_IMPORT_SCRATCH_CAP);
	if (!scratch)
		return SL_ENOMEM;
	sl_line_reader lr;
	sl_line_reader_init(&lr, in, SL_IMPORT_MAX_RECORD);
	sl_err err = SL_OK;
	while (sl_line_reader_next(&lr, &err) > 0) {
		if (lr.too_long) {
			sl_import_batch_count(b);
			sl_import_batch_reject(b, lr.line,
					       "line is longer than the limit of 1 MiB");
			continue;
		}
		if (strspn(lr.buf, " \t\r") == lr.len)
			continue; /* a blank line, NULs aside */
		sl_import_batch_count(b);
		sl_report r;
		sl_problems why = {0};
		sl_arena_reset(scratch);
		sl_err derr = sl_report_from_json_text(
		    lr.buf, lr.len, SL_JSON_SERVER_FIELDS, now, scratch, &r, &why);
		if (derr == SL_ENOMEM) {
			sl_import_batch_reject(b, lr.line,
					       "record is too large to decode");
		} else if (derr != SL_OK) {
			if (why.n == 0 && why.dropped == 0)
				sl_problems_add(&why, "", "%s", sl_strerror(derr));
			sl_import_batch_reject_problems(b, lr.line, &why);
		} else {
			r.has_receipt = false;
			err = sl_import_batch_add(b, &r, lr.line);
			if (err)
				break;
		}
	}
	sl_line_reader_free(&lr);
	sl_arena_free(scratch);
	return err;
}

sl_err sl_import(sl_store *s, sl_import_format fmt, FILE *in, int64_t now,
		 sl_import_reject on_reject, void *ud, sl_import_stats *stats)
{
	sl_import_stats local;
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if (!s || (fmt != SL_IMPORT_DEMO && !in))
		return SL_EINVAL;
	sl_import_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return SL_ENOMEM;
	b->arena = sl_arena_new(BATCH_ARENA_CAP);
	if (!b->arena) {
		free(b);
		return SL_ENOMEM;
	}
	b->store = s;
	b->on_reject = on_reject;
	b->ud = ud;
	b->stats = stats;
	b->now = now;
	sl_err err = sl_recipients_load(s, &b->rc);
	if (err) {
		sl_arena_free(b->arena);
		free(b);
		return err;
	}

	switch (fmt) {
	case SL_IMPORT_JSONL:
		err = import_jsonl(b, in, now);
		break;
	case SL_IMPORT_CIR_CSV:
		err = sl_import_cir_csv(b, in, now);
		break;
	case SL_IMPORT_DEMO:
		err = sl_import_demo(b, now);
		break;
	default:
		err = SL_EINVAL;
		break;
	}
	/* What was read before a failure in the file is still worth storing;
	 * after a store failure, the store decides again. */
	sl_err ferr = flush(b);
	if (err == SL_OK)
		err = ferr;
	sl_recipients_free(&b->rc);
	sl_arena_free(b->arena);
	free(b);
	return err;
}

/* ---- export ---- */

typedef struct export_ctx {
	FILE *out;
	size_t count;
} export_ctx;

static sl_err export_one(void *ud, const sl_report *r)
{
	export_ctx *x = ud;
	json_t *j = sl_report_to_json(r, SL_JSON_SERVER_FIELDS);
	if (!j)
		return SL_ENOMEM;
	int rc = json_dumpf(j, x->out, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(j);
	if (rc != 0 || fputc('\n', x->out) == EOF)
		return SL_EIO;
	x->count++;
	return SL_OK;
}

sl_err sl_export_reports_jsonl(sl_store *s, FILE *out, size_t *count)
{
	export_ctx x = {.out = out};
	if (count)
		*count = 0;
	if (!s || !out)
		return SL_EINVAL;
	sl_err err = sl_store_each_report(s, 0, export_one, &x);
	if (count)
		*count = x.count;
	if (err == SL_OK && (fflush(out) != 0 || ferror(out)))
		err = SL_EIO;
	return err;
}
