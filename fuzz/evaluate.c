/*
 * evaluate.c — fuzz target: `sightline evaluate` reading the simulator's
 * ground truth and an events (or tracks) export, both JSON lines
 * (sl_evaluate_groups). The input is the truth, then a line "%%", then
 * the events; its first byte's low bit chooses tracks (by "object").
 * Whatever it reads, the scores are numbers in 0..1.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "sightline/evaluate.h"

static FILE *open_bytes(const uint8_t *p, size_t n)
{
	static const uint8_t nothing[1];
	FILE *f = fmemopen((void *)(n ? p : nothing), n ? n : 1, "r");
	if (!f)
		fuzz_fail("fmemopen");
	if (!n)
		fgetc(f);
	return f;
}

static void in_unit(const char *what, double v)
{
	if (!(v >= 0 && v <= 1.0000001))
		fuzz_fail("%s is %g", what, v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool by_object = data[0] & 1;
	data++, size--;
	const uint8_t *sep = memmem(data, size, "\n%%\n", 4);
	size_t truth_len = sep ? (size_t)(sep - data) + 1 : size;
	const uint8_t *ev = sep ? sep + 4 : data + size;
	size_t ev_len = (size_t)(data + size - ev);
	FILE *truth = open_bytes(data, truth_len), *events = open_bytes(ev, ev_len);
	sl_eval out;
	sl_problems why = {0};
	sl_err e = sl_evaluate_groups(truth, events, by_object, &out, &why);
	fclose(truth);
	fclose(events);
	if (e == SL_OK) {
		in_unit("pairwise precision", out.pair_precision);
		in_unit("pairwise recall", out.pair_recall);
		in_unit("pairwise F1", out.pair_f1);
		in_unit("B-cubed precision", out.b3_precision);
		in_unit("B-cubed recall", out.b3_recall);
		in_unit("B-cubed F1", out.b3_f1);
		if (out.in_events > out.items || out.events > out.items + 1000000)
			fuzz_fail("%zu of %zu items in events", out.in_events, out.items);
	} else if (e != SL_ENOMEM && why.n == 0) {
		fuzz_fail("refused (error %d) without a reason", (int)e);
	}
	return 0;
}
