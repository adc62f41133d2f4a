/*
 * report_json.c — fuzz target: a report as the JSON API, the jsonl import
 * and export read it (sl_report_from_json_text, then sl_report_validate).
 *
 * Every input is decoded twice, as a client's report and with the server's
 * fields allowed (an export line). What decodes must be valid, and must
 * come back the same through sl_report_to_json and a second decoding —
 * the export and import of a data directory depend on it.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "sightline/report_json.h"

#define ARENA_CAP (4u << 20)

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Whether a and b say the same; what export writes and import reads. */
static const char *differs(const sl_report *a, const sl_report *b)
{
	if (a->category != b->category)
		return "category";
	if (a->observed_at != b->observed_at || a->has_until != b->has_until ||
	    (a->has_until && a->observed_until != b->observed_until))
		return "observed_at/observed_until";
	const sl_location *la = &a->location, *lb = &b->location;
	if (la->has_point != lb->has_point ||
	    (la->has_point && (la->lat != lb->lat || la->lon != lb->lon ||
			       la->uncertainty_m != lb->uncertainty_m)))
		return "location";
	if (!same_str(la->place, lb->place))
		return "location.place";
	if (a->n_equipment != b->n_equipment)
		return "equipment";
	for (size_t i = 0; i < a->n_equipment; i++) {
		const sl_equipment *x = &a->equipment[i], *y = &b->equipment[i];
		if (x->type != y->type || x->count != y->count ||
		    x->count_max != y->count_max || !same_str(x->model, y->model))
			return "equipment[i]";
	}
	if (a->has_heading != b->has_heading ||
	    (a->has_heading && a->heading_deg != b->heading_deg))
		return "heading";
	if (!same_str(a->destination, b->destination) || !same_str(a->text, b->text) ||
	    !same_str(a->contact, b->contact) || !same_str(a->language, b->language) ||
	    !same_str(a->ref, b->ref))
		return "a string field";
	if (a->status != b->status || a->received_at != b->received_at)
		return "status/received_at";
	return NULL;
}

static void one(const uint8_t *data, size_t size, unsigned flags)
{
	sl_arena *a = sl_arena_new(ARENA_CAP);
	if (!a)
		fuzz_fail("out of memory");
	sl_report r;
	sl_problems why = {0};
	sl_err e = sl_report_from_json_text((const char *)data, size, flags, FUZZ_NOW, a,
					    &r, &why);
	if (e == SL_OK) {
		sl_problems again = {0};
		if (sl_report_validate(&r, FUZZ_NOW, &again) != SL_OK)
			fuzz_fail("decoded as valid, but sl_report_validate refuses it");
		json_t *doc = sl_report_to_json(&r, SL_JSON_SERVER_FIELDS);
		char *text =
		    doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
		json_decref(doc);
		if (!text)
			fuzz_fail("a valid report has no JSON form");
		sl_report back;
		sl_problems bwhy = {0};
		e = sl_report_from_json_text(text, strlen(text), SL_JSON_SERVER_FIELDS,
					     FUZZ_NOW, a, &back, &bwhy);
		if (e != SL_OK) {
			char msg[2048];
			sl_problems_format(&bwhy, msg, sizeof(msg));
			fuzz_fail("its own JSON form is refused (%s): %s", msg, text);
		}
		const char *d = differs(&r, &back);
		if (d)
			fuzz_fail("%s changes through its JSON form: %s", d, text);
		free(text);
	} else if (e != SL_EPARSE && e != SL_EVALID && e != SL_ENOMEM) {
		fuzz_fail("unexpected error %d", (int)e);
	} else if (e != SL_ENOMEM && why.n == 0) {
		fuzz_fail("refused (error %d) without a reason", (int)e);
	}
	sl_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, 0);
	one(data, size, SL_JSON_SERVER_FIELDS);
	return 0;
}
