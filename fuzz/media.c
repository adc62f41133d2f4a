/*
 * media.c — fuzz target: photo cleaning (sl_media_clean: libvips decodes
 * a JPEG, PNG, WebP or HEIC upload, turns it upright, shrinks it and
 * writes only its pixels as a fresh JPEG), as every upload, web form
 * photo and Telegram photo goes through it.
 *
 * libvips is slow next to the other targets, so inputs are capped at
 * 256 KiB and the output at 256 pixels a side, and the pixel cap is
 * 4 megapixels; the checks that refuse larger ones run before decoding
 * either way. What comes out must be a whole JPEG.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sightline/media.h"

#define MAX_INPUT (256u << 10)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init_libs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	fuzz_init_libs();
	sl_media_limits lim;
	sl_media_limits_default(&lim);
	lim.max_side = 256;
	lim.max_pixels = 4u * 1000 * 1000;
	void *out = NULL;
	size_t out_len = 0;
	char why[SL_MEDIA_WHY_MAX];
	sl_err e = sl_media_clean(data, size, &lim, &out, &out_len, why, sizeof(why));
	if (e == SL_OK) {
		const uint8_t *j = out;
		if (out_len < 4 || j[0] != 0xff || j[1] != 0xd8 ||
		    j[out_len - 2] != 0xff || j[out_len - 1] != 0xd9)
			fuzz_fail("cleaning gave %zu bytes that are no whole JPEG",
				  out_len);
		free(out);
	} else {
		if (out || out_len)
			fuzz_fail("a refusal handed back %zu bytes", out_len);
		if (e != SL_EVALID && e != SL_EPARSE && e != SL_ETOOBIG && e != SL_ENOMEM)
			fuzz_fail("sl_media_clean: error %d", (int)e);
		if (!why[0])
			fuzz_fail("refused (error %d) without a reason", (int)e);
	}
	return 0;
}
