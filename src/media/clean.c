/*
 * clean.c — photo cleaning with libvips: the "strip media metadata" part
 * of the sanitize stage.
 *
 * An informant's photo is the most identifying thing they send: EXIF GPS
 * puts them at the spot, the camera serial number and maker notes tie every
 * photo they ever took together, the embedded thumbnail can show what was
 * cropped away, XMP/IPTC carry names, editing software and history. Rather
 * than hunt for known fields, we keep only pixels: decode, turn upright,
 * convert to 8-bit sRGB, shrink, copy the pixels into a brand-new image that
 * never had metadata, and encode that as a JPEG with libvips told to strip
 * too. The output cannot carry anything of the input but what the pixels
 * show.
 *
 * The input is hostile, so the decoder is fenced in:
 *   - only four loaders can run at all (sl_media_init blocks the rest for
 *     the process); the first bytes must carry one of their signatures
 *     before libvips's own sniffing (vips_foreign_find_load_buffer) runs,
 *     and we then call the loader it names directly;
 *   - the byte cap is checked before libvips sees anything, the pixel cap
 *     from the header before any pixel is decoded (a small PNG can claim
 *     30000 x 30000);
 *   - loads are sequential, "memory" (never a temporary file, whatever the
 *     size) and fail on errors and truncation, so a damaged file is refused
 *     rather than half decoded;
 *   - JPEG and plain PNG stream through the shrink a few lines at a time;
 *     HEIF, WebP and interlaced PNG are decoded whole by their libraries,
 *     which the pixel cap bounds (40 MP: about 160 MB at 4 bytes a pixel).
 *     Only the shrunk result is held whole, for the rotation, which needs
 *     random access: at most max_side^2 * 3 bytes.
 * libvips error texts never leave this file: they may quote metadata, so
 * every failure maps to a fixed reason and the error buffer is cleared.
 */
#define _GNU_SOURCE
#include "sightline/media.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vips/vips.h>

#define UNSUPPORTED "unsupported image type (JPEG, PNG, WebP or HEIC only)"

typedef enum kind { K_JPEG, K_PNG, K_WEBP, K_HEIF, K_N } kind;

/* GType names of the only loaders that may run; vips_operation_block_set
 * wants type names (nicknames such as "jpegload_buffer" are not found). */
static const char *const loader_type[K_N] = {
    [K_JPEG] = "VipsForeignLoadJpegBuffer",
    [K_PNG] = "VipsForeignLoadPngBuffer",
    [K_WEBP] = "VipsForeignLoadWebpBuffer",
    [K_HEIF] = "VipsForeignLoadHeifBuffer",
};

/* The header fields every VipsImage has; a fresh image has only these. */
static const char *const builtin_field[] = {
    "width",   "height",  "bands", "format", "coding",	 "interpretation",
    "xoffset", "yoffset", "xres",  "yres",   "filename",
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static sl_err init_result = SL_EINVAL;

static void say(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	if (!why || why_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_size, fmt, ap);
	va_end(ap);
}

/* libvips reports decoder warnings ("Corrupt JPEG data ...", EXIF parse
 * complaints) through g_warning in the "VIPS" domain; they go nowhere. */
static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *msg,
		     gpointer ud)
{
	(void)domain;
	(void)level;
	(void)msg;
	(void)ud;
}

static void init_once_fn(void)
{
	if (VIPS_INIT("sightline") != 0) {
		vips_error_clear();
		return;
	}
	g_log_set_handler("VIPS",
			  G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO |
			      G_LOG_LEVEL_DEBUG,
			  drop_log, NULL);
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);
	vips_concurrency_set(1);
	vips_block_untrusted_set(TRUE);
	/* Block every loader, then let ours back in. block_set applies to a
	 * class and all its subclasses, and ignores unknown names (a build
	 * without the HEIF module simply cannot load HEIC). */
	vips_operation_block_set("VipsForeignLoad", TRUE);
	for (int k = 0; k < K_N; k++)
		vips_operation_block_set(loader_type[k], FALSE);
	init_result = SL_OK;
}

sl_err sl_media_init(void)
{
	pthread_once(&init_once, init_once_fn);
	return init_result;
}

void sl_media_limits_default(sl_media_limits *l)
{
	l->max_bytes = SL_MEDIA_MAX_BYTES;
	l->max_side = SL_MEDIA_MAX_SIDE;
	l->max_pixels = SL_MEDIA_MAX_PIXELS;
	l->quality = SL_MEDIA_QUALITY;
}

/* The signature of one of our four types, by its first bytes alone: JPEG
 * SOI, the PNG signature, a RIFF/WEBP header, or an ISO BMFF "ftyp" box
 * whose major brand is a HEIF one (not AVIF: that would bring in an AV1
 * decoder). Anything else never reaches libvips's sniffers, some of which
 * belong to loaders we block (ImageMagick's among them). */
static bool looks_supported(const unsigned char *b, size_t len)
{
	static const char *const brands[] = {"heic", "heix", "hevc", "hevx", "heim",
					     "heis", "hevm", "hevs", "mif1", "msf1"};

	if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
		return true;
	if (len >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
		return true;
	if (len >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
		return true;
	if (len >= 12 && memcmp(b + 4, "ftyp", 4) == 0)
		for (size_t i = 0; i < sizeof(brands) / sizeof(brands[0]); i++)
			if (memcmp(b + 8, brands[i], 4) == 0)
				return true;
	return false;
}

/* Which allowed loader libvips would use for these bytes; -1 for none.
 * Both must agree: our signature check and libvips's own choice. */
static int sniff(const void *in, size_t len)
{
	const char *name;

	if (!looks_supported(in, len))
		return -1;
	name = vips_foreign_find_load_buffer(in, len);
	/* find_load_buffer sets an error when nothing matches. */
	vips_error_clear();
	if (!name)
		return -1;
	for (int k = 0; k < K_N; k++)
		if (strcmp(name, loader_type[k]) == 0)
			return k;
	return -1;
}

/* Opens the header only (pixels are decoded when the pipeline pulls). The
 * loaders take a non-const pointer but only read it, and keep it until the
 * image is unreffed. */
static int load(kind k, const void *in, size_t len, VipsImage **out)
{
	void *buf = (void *)in;

#define LOAD_OPTS                                                                        \
	"access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, "memory", TRUE, \
	    NULL
	switch (k) {
	case K_JPEG:
		return vips_jpegload_buffer(buf, len, out, LOAD_OPTS);
	case K_PNG:
		return vips_pngload_buffer(buf, len, out, LOAD_OPTS);
	case K_WEBP:
		return vips_webpload_buffer(buf, len, out, LOAD_OPTS);
	case K_HEIF:
		return vips_heifload_buffer(buf, len, out, LOAD_OPTS);
	case K_N:
		break;
	}
#undef LOAD_OPTS
	return -1;
}

/* To 8-bit sRGB with three bands. An embedded ICC profile (Display P3 from
 * iPhones, CMYK from print workflows) is honoured when lcms accepts it;
 * otherwise libvips's own conversion for the interpretation is used. */
static int to_srgb8(VipsObject *scope, VipsImage *in, VipsImage **out)
{
	VipsImage **t = (VipsImage **)vips_object_local_array(scope, 5);
	VipsImage *x = in;

	if (vips_image_get_typeof(x, VIPS_META_ICC_NAME) &&
	    vips_icc_transform(x, &t[0], "srgb", "embedded", TRUE, "intent",
			       VIPS_INTENT_RELATIVE, "depth", 8, NULL) == 0) {
		x = t[0];
	} else {
		vips_error_clear();
		if (vips_colourspace(x, &t[0], VIPS_INTERPRETATION_sRGB, NULL))
			return -1;
		x = t[0];
	}
	if (vips_image_get_format(x) == VIPS_FORMAT_USHORT) {
		if (vips_rshift_const1(x, &t[1], 8, NULL))
			return -1;
		x = t[1];
	}
	if (vips_image_get_format(x) != VIPS_FORMAT_UCHAR) {
		if (vips_cast_uchar(x, &t[2], NULL))
			return -1;
		x = t[2];
	}
	if (vips_image_hasalpha(x)) {
		VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
		int r =
		    vips_flatten(x, &t[3], "background", white, "max_alpha", 255.0, NULL);

		vips_area_unref(VIPS_AREA(white));
		if (r)
			return -1;
		x = t[3];
	}
	if (vips_image_get_bands(x) > 3) {
		if (vips_extract_band(x, &t[4], 0, "n", 3, NULL))
			return -1;
		x = t[4];
	}
	if (vips_image_get_bands(x) != 3 || vips_image_get_format(x) != VIPS_FORMAT_UCHAR)
		return -1;
	*out = x;
	g_object_ref(x); /* the caller's; scope keeps its own */
	return 0;
}

/* Shrinks so the long side is max_side; never enlarges. Both scales are
 * computed from target sizes so rounding cannot overshoot, and each side
 * stays at least one pixel. */
static int shrink(VipsObject *scope, VipsImage *in, int max_side, VipsImage **out)
{
	VipsImage **t = (VipsImage **)vips_object_local_array(scope, 2);
	int w = vips_image_get_width(in), h = vips_image_get_height(in);
	int longest = w > h ? w : h;
	double s;
	int tw, th;

	if (longest <= max_side) {
		*out = in;
		g_object_ref(in);
		return 0;
	}
	s = (double)max_side / longest;
	tw = w >= h ? max_side : (int)lround(w * s);
	th = h >= w ? max_side : (int)lround(h * s);
	tw = tw < 1 ? 1 : tw;
	th = th < 1 ? 1 : th;
	if (vips_resize(in, &t[0], (double)tw / w, "vscale", (double)th / h, NULL))
		return -1;
	/* Guard against an off-by-one from libvips's own rounding. */
	if (vips_image_get_width(t[0]) > max_side ||
	    vips_image_get_height(t[0]) > max_side) {
		int cw = vips_image_get_width(t[0]), ch = vips_image_get_height(t[0]);

		if (vips_crop(t[0], &t[1], 0, 0, cw < max_side ? cw : max_side,
			      ch < max_side ? ch : max_side, NULL))
			return -1;
		*out = t[1];
	} else {
		*out = t[0];
	}
	g_object_ref(*out);
	return 0;
}

/* Whether only built-in header fields are left on img, after removing every
 * other one. */
static bool strip_fields(VipsImage *img)
{
	gchar **names = vips_image_get_fields(img);
	bool clean = true;

	for (size_t i = 0; names && names[i]; i++)
		vips_image_remove(img, names[i]);
	g_strfreev(names);
	names = vips_image_get_fields(img);
	for (size_t i = 0; names && names[i]; i++) {
		bool builtin = false;

		for (size_t j = 0; j < sizeof(builtin_field) / sizeof(builtin_field[0]);
		     j++)
			if (strcmp(names[i], builtin_field[j]) == 0)
				builtin = true;
		if (!builtin)
			clean = false;
	}
	g_strfreev(names);
	return clean;
}

static bool limits_ok(const sl_media_limits *l)
{
	return l->max_side >= 1 && l->quality >= 1 && l->quality <= 100 &&
	       l->max_pixels >= 1;
}

/* The pipeline proper, after the cheap checks. Every VipsImage hangs off
 * scope, which the caller unrefs. */
static sl_err pipeline(VipsObject *scope, kind k, const void *in, size_t len,
		       const sl_media_limits *lim, void **out, size_t *out_len, char *why,
		       size_t why_size)
{
	VipsImage **t = (VipsImage **)vips_object_local_array(scope, 7);
	void *pixels = NULL, *jpeg = NULL;
	size_t pixels_len = 0, jpeg_len = 0;
	uint64_t npix;
	int w, h;
	sl_err err;

	if (load(k, in, len, &t[0])) {
		say(why, why_size, "image is damaged: its header cannot be read");
		return SL_EPARSE;
	}
	w = vips_image_get_width(t[0]);
	h = vips_image_get_height(t[0]);
	npix = (uint64_t)w * (uint64_t)h;
	if (w < 1 || h < 1) {
		say(why, why_size, "image is damaged: it has no pixels");
		return SL_EPARSE;
	}
	if (npix > lim->max_pixels) {
		say(why, why_size, "too many pixels (%dx%d, limit %" PRIu64 ")", w, h,
		    lim->max_pixels);
		return SL_EVALID;
	}
	if (to_srgb8(scope, t[0], &t[1])) {
		say(why, why_size, "unsupported colour format");
		return SL_EVALID;
	}
	if (shrink(scope, t[1], lim->max_side, &t[2])) {
		say(why, why_size, "image cannot be resized");
		return SL_EPARSE;
	}
	/* Pulls every pixel through the decoder: damage and truncation show
	 * here, as fail_on turns them into errors. */
	if (!(t[3] = vips_image_copy_memory(t[2]))) {
		say(why, why_size, "image is damaged or truncated");
		return SL_EPARSE;
	}
	if (vips_autorot(t[3], &t[4], NULL)) {
		say(why, why_size, "image cannot be rotated upright");
		return SL_EPARSE;
	}
	/* Only pixels cross into the fresh image. */
	if (!(pixels = vips_image_write_to_memory(t[4], &pixels_len))) {
		say(why, why_size, "out of memory");
		return SL_ENOMEM;
	}
	w = vips_image_get_width(t[4]);
	h = vips_image_get_height(t[4]);
	err = SL_EPARSE;
	t[5] = vips_image_new_from_memory(pixels, pixels_len, w, h, 3, VIPS_FORMAT_UCHAR);
	if (!t[5] ||
	    vips_copy(t[5], &t[6], "interpretation", VIPS_INTERPRETATION_sRGB, NULL)) {
		say(why, why_size, "image cannot be re-encoded");
		goto out;
	}
	if (!strip_fields(t[6])) {
		say(why, why_size, "metadata could not be removed");
		goto out;
	}
	if (vips_jpegsave_buffer(t[6], &jpeg, &jpeg_len, "Q", lim->quality, "strip", TRUE,
				 "interlace", FALSE, "optimize_coding", TRUE, NULL)) {
		say(why, why_size, "image cannot be re-encoded");
		goto out;
	}
	if (!(*out = malloc(jpeg_len))) {
		say(why, why_size, "out of memory");
		err = SL_ENOMEM;
		goto out;
	}
	memcpy(*out, jpeg, jpeg_len);
	*out_len = jpeg_len;
	err = SL_OK;
out:
	/* t[5] and t[6] point into pixels: drop them before freeing it. */
	VIPS_UNREF(t[6]);
	VIPS_UNREF(t[5]);
	g_free(pixels);
	g_free(jpeg);
	return err;
}

sl_err sl_media_clean(const void *in, size_t len, const sl_media_limits *lim, void **out,
		      size_t *out_len, char *why, size_t why_size)
{
	sl_media_limits def;
	VipsObject *scope;
	sl_err err;
	int k;

	say(why, why_size, "%s", "");
	if (!out || !out_len || (!in && len > 0)) {
		say(why, why_size, "invalid arguments");
		return SL_EINVAL;
	}
	*out = NULL;
	*out_len = 0;
	if (!lim) {
		sl_media_limits_default(&def);
		lim = &def;
	}
	if (!limits_ok(lim)) {
		say(why, why_size, "invalid limits");
		return SL_EINVAL;
	}
	if (len > lim->max_bytes) {
		say(why, why_size, "image is larger than %zu bytes", lim->max_bytes);
		return SL_ETOOBIG;
	}
	if (len == 0) {
		say(why, why_size, "image is empty");
		return SL_EPARSE;
	}
	if ((err = sl_media_init()) != SL_OK) {
		say(why, why_size, "image library cannot start");
		return err;
	}
	if ((k = sniff(in, len)) < 0) {
		say(why, why_size, UNSUPPORTED);
		return SL_EVALID;
	}
	scope = VIPS_OBJECT(vips_image_new());
	err = pipeline(scope, (kind)k, in, len, lim, out, out_len, why, why_size);
	g_object_unref(scope);
	if (err != SL_OK)
		vips_error_clear();
	/* Frees this thread's libvips buffers now: callers are server
	 * threads that libvips did not create and never tells to do it. */
	vips_thread_shutdown();
	return err;
}

/* Reads at most cap + 1 bytes of path into malloc memory. */
static sl_err read_capped(const char *path, size_t cap, void **buf, size_t *len,
			  char *why, size_t why_size)
{
	struct stat st;
	size_t size = 0, room;
	char *b;
	int fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		say(why, why_size, "cannot open the input file: %s", strerror(errno));
		return SL_EIO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		say(why, why_size, "the input is not a regular file");
		return SL_EIO;
	}
	/* Room for cap + 1 so an over-long file is seen without reading it
	 * all; a file that grows while we read is still capped. */
	room = (st.st_size >= 0 && (uint64_t)st.st_size < cap) ? (size_t)st.st_size + 1
							       : cap + 1;
	if (!(b = malloc(room))) {
		close(fd);
		say(why, why_size, "out of memory");
		return SL_ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (size == room) {
			char *nb;

			if (room > cap)
				break;
			room = cap + 1;
			if (!(nb = realloc(b, room))) {
				explicit_bzero(b, size);
				free(b);
				close(fd);
				say(why, why_size, "out of memory");
				return SL_ENOMEM;
			}
			b = nb;
		}
		n = read(fd, b + size, room - size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			explicit_bzero(b, size);
			free(b);
			close(fd);
			say(why, why_size, "cannot read the input file");
			return SL_EIO;
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	close(fd);
	*buf = b;
	*len = size;
	return SL_OK;
}

static bool write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

/* Writes buf to path through a temporary in the same directory. */
static sl_err write_atomic(const char *path, const void *buf, size_t len, char *why,
			   size_t why_size)
{
	static const char suffix[] = ".tmp.XXXXXX";
	size_t plen = strlen(path);
	char *tmp;
	int fd;

	if (!(tmp = malloc(plen + sizeof(suffix)))) {
		say(why, why_size, "out of memory");
		return SL_ENOMEM;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, suffix, sizeof(suffix));
	/* mkostemp creates the file 0600 with O_EXCL. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		say(why, why_size, "cannot create the output file: %s", strerror(errno));
		free(tmp);
		return SL_EIO;
	}
	if (!write_all(fd, buf, len) || fsync(fd) != 0) {
		say(why, why_size, "cannot write the output file: %s", strerror(errno));
		close(fd);
		unlink(tmp);
		free(tmp);
		return SL_EIO;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		say(why, why_size, "cannot write the output file: %s", strerror(errno));
		unlink(tmp);
		free(tmp);
		return SL_EIO;
	}
	free(tmp);
	return SL_OK;
}

sl_err sl_media_clean_file(const char *in_path, const char *out_path, char *why,
			   size_t why_size)
{
	sl_media_limits lim;
	void *in = NULL, *out = NULL;
	size_t in_len = 0, out_len = 0;
	sl_err err;

	say(why, why_size, "%s", "");
	if (!in_path || !out_path) {
		say(why, why_size, "invalid arguments");
		return SL_EINVAL;
	}
	sl_media_limits_default(&lim);
	err = read_capped(in_path, lim.max_bytes, &in, &in_len, why, why_size);
	if (err != SL_OK)
		return err;
	err = sl_media_clean(in, in_len, &lim, &out, &out_len, why, why_size);
	/* The original, metadata and all, does not outlive this call. */
	explicit_bzero(in, in_len);
	free(in);
	if (err != SL_OK)
		return err;
	err = write_atomic(out_path, out, out_len, why, why_size);
	free(out);
	return err;
}
