/*
 * objects.c — fuzz target: the real objects of `sightline simulate
 * --objects` (one JSON object per line, sl_sim_objects_load_buffer).
 */
#include "fuzz.h"
#include "sightline/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sl_sim_objects *o = NULL;
	sl_problems why = {0};
	sl_err e = sl_sim_objects_load_buffer((const char *)data, size, &o, &why);
	if (e == SL_OK) {
		if (!o)
			fuzz_fail("loaded, but no objects handed back");
		sl_sim_objects_count(o);
		sl_sim_objects_free(o);
	} else if (e != SL_ENOMEM && why.n == 0) {
		fuzz_fail("refused (error %d) without a reason", (int)e);
	}
	return 0;
}
