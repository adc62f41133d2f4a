/*
 * corroborate.c — the commands around the corroboration engine:
 * bringing events up to date after an import or before an export, and
 * `sightline evaluate` (docs/ENGINE.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sightline/engine.h"
#include "sightline/evaluate.h"
#include "sightline/timefmt.h"

#include "cli/cli.h"

int catch_up_events(sl_store *store, bool quiet, bool *ran_out)
{
	bool ran = false;
	sl_err e = sl_engine_catch_up(store, sl_time_now(), &ran);
	if (ran_out)
		*ran_out = ran;
	if (e != SL_OK)
		return fail("corroboration failed: %s", sl_strerror(e));
	if (!ran && !quiet)
		fprintf(stderr, "sightline: a running server corroborates these reports; "
				"its events follow within seconds\n");
	return 0;
}

static FILE *open_in(const char *what, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		fail("evaluate: cannot open %s %s: %s", what, path, strerror(errno));
	return f;
}

int cmd_evaluate(options *o, int argc, char **argv)
{
	if (argc > 0)
		return fail("evaluate: unexpected argument \"%s\"", argv[0]);
	if (!o->sim.truth)
		return fail(
		    "evaluate: --truth FILE is required (simulate --truth writes it)");
	if (!o->events_file && !o->tracks_file)
		return fail(
		    "evaluate: give --events FILE (export --what events) or --tracks "
		    "FILE");
	bool tracks = o->tracks_file != NULL;
	FILE *t = open_in("truth", o->sim.truth);
	if (!t)
		return 2;
	FILE *ev = open_in(tracks ? "tracks" : "events",
			   tracks ? o->tracks_file : o->events_file);
	if (!ev) {
		fclose(t);
		return 2;
	}
	sl_eval r;
	sl_track_eval te;
	sl_problems why = {0};
	sl_err e = sl_evaluate_groups(t, ev, tracks, &r, &why);
	if (e == SL_OK && tracks) {
		rewind(t);
		rewind(ev);
		e = sl_evaluate_tracks(t, ev, &te, &why);
	}
	fclose(t);
	fclose(ev);
	if (e != SL_OK) {
		char msg[512];
		sl_problems_format(&why, msg, sizeof(msg));
		return fail("evaluate: %s", why.n ? msg : sl_strerror(e));
	}
	printf("%s: %zu reports (%zu in %s), %zu true %s, %zu predicted\n",
	       tracks ? "tracks" : "events", r.items, r.in_events,
	       tracks ? "tracks" : "events", r.truth_groups,
	       tracks ? "objects" : "occurrences", r.events);
	printf("pairwise  precision %.4f  recall %.4f  F1 %.4f\n", r.pair_precision,
	       r.pair_recall, r.pair_f1);
	printf("b-cubed   precision %.4f  recall %.4f  F1 %.4f\n", r.b3_precision,
	       r.b3_recall, r.b3_f1);
	if (tracks) {
		printf("tracks    purity %.4f  completeness %.4f  identity switches %zu  "
		       "fragments %zu\n",
		       te.all.purity, te.all.completeness, te.all.switches,
		       te.all.fragments);
		for (int k = 0; k < SL_EVAL_KINDS - 1; k++)
			if (te.kind[k].objects)
				printf("  %-7s purity %.4f  completeness %.4f  identity "
				       "switches "
				       "%zu  (%zu objects, %zu tracks)\n",
				       sl_eval_kind_name(k), te.kind[k].purity,
				       te.kind[k].completeness, te.kind[k].switches,
				       te.kind[k].objects, te.kind[k].tracks);
	}
	if (r.unknown)
		printf("(%zu refs of the %s are not in the truth and were not scored)\n",
		       r.unknown, tracks ? "tracks" : "events");
	return 0;
}
