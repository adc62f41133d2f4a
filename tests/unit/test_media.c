/*
 * test_media.c — photo cleaning: every real photo in
 * $SHARED_DATA/exif-samples is cleaned and the result checked with an
 * independent reader (exiftool) for any metadata left; broken, truncated,
 * unsupported, oversized and pixel-bomb inputs are refused with a reason;
 * EXIF orientation is applied; canaries and a GPS position written with
 * exiftool into the comment, EXIF and XMP of a JPEG, HEIF, PNG and WebP
 * never reach the output; PNG/WebP alpha is flattened onto white;
 * sl_media_clean_file writes atomically; concurrent cleaning works; and no
 * temporary file appears, even for images over libvips's disc threshold.
 *
 * The sample photos are read where they are and never copied into the
 * project; scratch files (for exiftool, which reads files) live in one
 * mkdtemp directory removed at the end. TMPDIR is pointed at an empty
 * directory of that tree before libvips starts, and the last test checks it
 * is still empty, so any temporary file libvips made would be caught.
 *
 * The jpg_invalid_image*.jpg samples (ianare/exif-samples' "invalid"
 * folder) are invalid in their metadata, not their pixels: they are clean
 * baseline JPEGs that libjpeg decodes without a single warning, carrying
 * odd XMP. They are therefore cleaned like any photo here (and their XMP
 * must go); the damaged-JPEG cases are jpg_corrupted.jpg and truncations.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <vips/vips.h>

#include "sightline/media.h"

#define UNSUPPORTED "unsupported image type (JPEG, PNG, WebP or HEIC only)"

/* ---- shared state: set up once in main ---- */

static char samples[PATH_MAX];	 /* $SHARED_DATA/exif-samples, "" if absent */
static char root[PATH_MAX - 16]; /* mkdtemp scratch tree */
static char vipstmp[PATH_MAX];	 /* root/tmp: TMPDIR, must stay empty */
static char work[PATH_MAX];	 /* root/work: files for exiftool */
static bool have_exiftool;

static void join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	assert_true(n > 0 && n < PATH_MAX);
}

static bool need_samples(const char *test)
{
	if (samples[0])
		return true;
	print_message("SKIP %s: $SHARED_DATA/exif-samples is missing "
		      "(SHARED_DATA is set by meson to <project>/../shared/data)\n",
		      test);
	return false;
}

static bool need_exiftool(const char *test)
{
	if (have_exiftool)
		return true;
	print_message("SKIP %s: exiftool is not installed "
		      "(Debian: libimage-exiftool-perl)\n",
		      test);
	return false;
}

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void write_all(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* The sample names in sorted order, filtered by keep. */
typedef bool (*name_filter)(const char *name);

static size_t list_samples(name_filter keep, char names[][NAME_MAX + 1], size_t max)
{
	struct dirent **ents;
	int n = scandir(samples, &ents, NULL, alphasort);
	size_t count = 0;

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.' && keep(ents[i]->d_name)) {
			assert_true(count < max);
			snprintf(names[count++], NAME_MAX + 1, "%s", ents[i]->d_name);
		}
		free(ents[i]);
	}
	free(ents);
	return count;
}

/* Broken on purpose: decoding must fail. */
static bool is_broken(const char *name)
{
	return has_prefix(name, "jpg_corrupted");
}

static bool is_unsupported(const char *name)
{
	return has_prefix(name, "tiff_");
}

static bool is_good(const char *name)
{
	return (has_prefix(name, "jpg_") || has_prefix(name, "heic_")) &&
	       !is_broken(name);
}

static bool is_any(const char *name)
{
	(void)name;
	return true;
}

/* ---- exiftool ---- */

/* `exiftool -j -G -a` on path, parsed: the one object of its array. */
static json_t *exiftool(const char *path)
{
	char cmd[PATH_MAX + 64], *text = NULL;
	size_t cap = 0, len = 0;
	json_error_t jerr;
	json_t *arr, *obj;
	FILE *p;

	assert_null(strchr(path, '\''));
	snprintf(cmd, sizeof(cmd), "exiftool -j -G -a -- '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			text = realloc(text, cap);
			assert_non_null(text);
		}
		size_t n = fread(text + len, 1, cap - len - 1, p);
		if (n == 0)
			break;
		len += n;
	}
	text[len] = '\0';
	pclose(p);
	arr = json_loads(text, 0, &jerr);
	if (!arr || !json_is_array(arr) || json_array_size(arr) != 1)
		fail_msg("exiftool output for %s is not one JSON object: %s (%.200s)",
			 path, jerr.text, text);
	free(text);
	obj = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return obj;
}

static json_t *exiftool_buf(const char *name, const void *buf, size_t len)
{
	char path[PATH_MAX];
	json_t *j;

	join(path, work, name);
	write_all(path, buf, len);
	j = exiftool(path);
	unlink(path);
	return j;
}

static bool icontains(const char *hay, const char *needle)
{
	return strcasestr(hay, needle) != NULL;
}

/* Groups exiftool uses to describe the JPEG file itself. */
static bool describes_file(const char *key)
{
	return strcmp(key, "SourceFile") == 0 || has_prefix(key, "File:") ||
	       has_prefix(key, "Composite:") || has_prefix(key, "ExifTool:");
}

static const char *const forbidden[] = {
    "GPS",	    "Make",	  "Model", "SerialNumber", "ThumbnailImage",
    "PreviewImage", "MakerNotes", "XMP",   "IPTC",	   "Comment",
};

/* Groups allowed in a cleaned JPEG: the file itself and its JFIF header. */
static const char *const allowed_group[] = {"SourceFile", "ExifTool", "File", "JFIF",
					    "Composite"};

/* Appends to bad (a buffer of n) every key of j that names identifying
 * metadata; returns how many. File:Comment (a JPEG COM segment) counts
 * even though the File group is otherwise skipped. */
static int identifying_keys(json_t *j, char *bad, size_t n)
{
	const char *key;
	json_t *val;
	int count = 0;

	bad[0] = '\0';
	json_object_foreach(j, key, val)
	{
		bool hit = false;

		if (!describes_file(key)) {
			for (size_t i = 0; i < sizeof(forbidden) / sizeof(*forbidden);
			     i++)
				if (icontains(key, forbidden[i]))
					hit = true;
		}
		if (strcasecmp(key, "File:Comment") == 0)
			hit = true;
		if (hit) {
			count++;
			strncat(bad, key, n - strlen(bad) - 1);
			strncat(bad, " ", n - strlen(bad) - 1);
		}
	}
	return count;
}

/* Keys whose group is not one a cleaned JPEG may have (EXIF, ICC_Profile,
 * APP14, MPF, Photoshop ...). */
static int foreign_groups(json_t *j, char *bad, size_t n)
{
	const char *key;
	json_t *val;
	int count = 0;

	bad[0] = '\0';
	json_object_foreach(j, key, val)
	{
		const char *colon = strchr(key, ':');
		size_t glen = colon ? (size_t)(colon - key) : strlen(key);
		bool ok = false;

		for (size_t i = 0; i < sizeof(allowed_group) / sizeof(*allowed_group);
		     i++)
			if (strlen(allowed_group[i]) == glen &&
			    strncmp(key, allowed_group[i], glen) == 0)
				ok = true;
		if (!ok) {
			count++;
			strncat(bad, key, n - strlen(bad) - 1);
			strncat(bad, " ", n - strlen(bad) - 1);
		}
	}
	return count;
}

static bool has_key_containing(json_t *j, const char *needle)
{
	const char *key;
	json_t *val;

	json_object_foreach(j, key, val)
	{
		if (!describes_file(key) && icontains(key, needle))
			return true;
	}
	return false;
}

/* ---- vips helpers (libvips is started by sl_media_init in main) ---- */

/* Decodes a cleaned JPEG fully, failing on any warning; checks it has no
 * metadata fields as libvips sees them. */
static void decode_output(const char *name, const void *buf, size_t len, int *w, int *h)
{
	VipsImage *img = NULL;
	double avg;

	if (vips_jpegload_buffer((void *)buf, len, &img, "fail_on", VIPS_FAIL_ON_WARNING,
				 NULL) ||
	    vips_avg(img, &avg, NULL))
		fail_msg("%s: output does not decode: %s", name, vips_error_buffer());
	assert_int_equal(vips_image_get_bands(img), 3);
	assert_int_equal(vips_image_get_format(img), VIPS_FORMAT_UCHAR);
	static const char *const meta[] = {VIPS_META_EXIF_NAME, VIPS_META_XMP_NAME,
					   VIPS_META_IPTC_NAME, VIPS_META_ICC_NAME,
					   VIPS_META_ORIENTATION};
	for (size_t i = 0; i < sizeof(meta) / sizeof(*meta); i++)
		if (vips_image_get_typeof(img, meta[i]))
			fail_msg("%s: output has %s", name, meta[i]);
	*w = vips_image_get_width(img);
	*h = vips_image_get_height(img);
	g_object_unref(img);
}

/* Dimensions as stored in a supported file, before any orientation. */
static void stored_size(const void *buf, size_t len, int *w, int *h)
{
	VipsImage *img = vips_image_new_from_buffer(buf, len, "", NULL);

	assert_non_null(img);
	*w = vips_image_get_width(img);
	*h = vips_image_get_height(img);
	g_object_unref(img);
}

static void assert_jpeg(const char *name, const void *buf, size_t len)
{
	const unsigned char *b = buf;

	if (len < 4 || b[0] != 0xFF || b[1] != 0xD8)
		fail_msg("%s: output (%zu bytes) does not start with FF D8 "
			 "(%02x %02x)",
			 name, len, len > 0 ? b[0] : 0, len > 1 ? b[1] : 0);
}

static void clean_ok(const char *name, const void *in, size_t len,
		     const sl_media_limits *lim, void **out, size_t *out_len)
{
	char why[SL_MEDIA_WHY_MAX];
	sl_err err = sl_media_clean(in, len, lim, out, out_len, why, sizeof(why));

	if (err != SL_OK)
		fail_msg("%s: clean failed: %s (%s)", name, sl_strerror(err), why);
	assert_string_equal(why, "");
	assert_jpeg(name, *out, *out_len);
}

static void clean_fails(const char *name, const void *in, size_t len,
			const sl_media_limits *lim, sl_err want, const char *want_why)
{
	char why[SL_MEDIA_WHY_MAX] = "untouched";
	void *out = (void *)1;
	size_t out_len = 1;
	sl_err err = sl_media_clean(in, len, lim, &out, &out_len, why, sizeof(why));

	if (err != want)
		fail_msg("%s: got %s (%s), want %s", name, sl_strerror(err), why,
			 sl_strerror(want));
	assert_null(out);
	assert_int_equal(out_len, 0);
	if (why[0] == '\0' || strcmp(why, "untouched") == 0)
		fail_msg("%s: no reason given", name);
	if (want_why && !strstr(why, want_why))
		fail_msg("%s: reason \"%s\" lacks \"%s\"", name, why, want_why);
	print_message("  %-34s -> %s: %s\n", name, sl_strerror(err), why);
}

/* ---- good photos ---- */

static void test_good_images(void **state)
{
	static char names[64][NAME_MAX + 1];
	size_t n, with_metadata = 0;
	double total = 0;

	(void)state;
	if (!need_samples(__func__) || !need_exiftool(__func__)) {
		skip();
		return;
	}
	n = list_samples(is_good, names, 64);
	assert_true(n >= 10);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX], bad[4096];
		size_t len, out_len;
		void *out;
		int iw, ih, ow, oh, in_long, out_long;
		unsigned char *in;
		json_t *before, *after;
		double t0, ms;

		join(path, samples, names[i]);
		in = read_all(path, &len);
		before = exiftool(path);
		if (identifying_keys(before, bad, sizeof(bad)) > 0)
			with_metadata++;
		stored_size(in, len, &iw, &ih);

		t0 = now_ms();
		clean_ok(names[i], in, len, NULL, &out, &out_len);
		ms = now_ms() - t0;
		total += ms;

		decode_output(names[i], out, out_len, &ow, &oh);
		in_long = iw > ih ? iw : ih;
		out_long = ow > oh ? ow : oh;
		if (out_long > SL_MEDIA_MAX_SIDE)
			fail_msg("%s: output %dx%d has a side over %d", names[i], ow, oh,
				 SL_MEDIA_MAX_SIDE);
		/* Shrunk to the cap exactly, or kept: never enlarged. */
		assert_int_equal(
		    out_long, in_long < SL_MEDIA_MAX_SIDE ? in_long : SL_MEDIA_MAX_SIDE);

		after = exiftool_buf("clean.jpg", out, out_len);
		if (identifying_keys(after, bad, sizeof(bad)) > 0)
			fail_msg("%s: exiftool still finds: %s", names[i], bad);
		if (foreign_groups(after, bad, sizeof(bad)) > 0)
			fail_msg("%s: output has metadata groups beyond the "
				 "file and JFIF: %s",
				 names[i], bad);
		print_message("  %-34s %5zu kB %4dx%-4d -> %4dx%-4d %4zu kB %7.1f ms\n",
			      names[i], len / 1024, iw, ih, ow, oh, out_len / 1024, ms);
		json_decref(before);
		json_decref(after);
		free(out);
		free(in);
	}
	/* Not vacuous: most inputs do carry what must go. */
	print_message("  %zu photos, %zu with identifying metadata before, "
		      "%.1f ms on average\n",
		      n, with_metadata, total / n);
	assert_true(with_metadata >= n / 2);
}

static bool is_gps_sample(const char *name)
{
	return has_prefix(name, "jpg_gps_");
}

/* The GPS photos do have GPS before cleaning, so the check on the output
 * means something. */
static void test_gps_present_before(void **state)
{
	static char names[16][NAME_MAX + 1];
	size_t n;

	(void)state;
	if (!need_samples(__func__) || !need_exiftool(__func__)) {
		skip();
		return;
	}
	n = list_samples(is_gps_sample, names, 16);
	assert_true(n >= 1);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		json_t *j;

		join(path, samples, names[i]);
		j = exiftool(path);
		if (!has_key_containing(j, "GPSLatitude") ||
		    !has_key_containing(j, "Model"))
			fail_msg("%s: exiftool finds no GPSLatitude/Model in the "
				 "input",
				 names[i]);
		json_decref(j);
	}
}

/* Mean absolute difference of two same-sized 3-band images. */
static double mean_diff(VipsImage *a, VipsImage *b)
{
	VipsImage *d = NULL, *ab = NULL;
	double avg = -1;

	assert_int_equal(vips_subtract(a, b, &d, NULL), 0);
	assert_int_equal(vips_abs(d, &ab, NULL), 0);
	assert_int_equal(vips_avg(ab, &avg, NULL), 0);
	g_object_unref(ab);
	g_object_unref(d);
	return avg;
}

/* Orientation 6 (rotate 90 cw) makes a stored landscape a portrait;
 * orientation 3 (180) keeps the size, so its pixels are compared with the
 * stored ones turned by hand. */
static void test_orientation(void **state)
{
	char path[PATH_MAX];
	unsigned char *in;
	size_t len, out_len;
	void *out;
	int iw, ih, ow, oh;
	VipsImage *stored, *turned, *cleaned;
	double same, unturned;

	(void)state;
	if (!need_samples(__func__)) {
		skip();
		return;
	}
	join(path, samples, "jpg_orientation_portrait_6.jpg");
	in = read_all(path, &len);
	stored_size(in, len, &iw, &ih);
	assert_true(iw > ih);
	clean_ok("portrait_6", in, len, NULL, &out, &out_len);
	decode_output("portrait_6", out, out_len, &ow, &oh);
	if (!(oh > ow) || ow != ih || oh != iw)
		fail_msg("portrait_6: stored %dx%d, cleaned %dx%d: want %dx%d", iw, ih,
			 ow, oh, ih, iw);
	free(out);
	free(in);

	join(path, samples, "jpg_orientation_landscape_3.jpg");
	in = read_all(path, &len);
	clean_ok("landscape_3", in, len, NULL, &out, &out_len);
	/* The stored pixels, in sRGB as the cleaner makes them (this photo
	 * has an Apple "Generic RGB" profile). */
	{
		VipsImage *raw = vips_image_new_from_buffer(in, len, "", NULL);

		assert_non_null(raw);
		assert_int_equal(vips_icc_transform(raw, &stored, "srgb", "embedded",
						    TRUE, "intent", VIPS_INTENT_RELATIVE,
						    NULL),
				 0);
		g_object_unref(raw);
	}
	assert_int_equal(vips_rot180(stored, &turned, NULL), 0);
	assert_int_equal(vips_jpegload_buffer(out, out_len, &cleaned, NULL), 0);
	assert_int_equal(vips_image_get_width(cleaned), vips_image_get_width(stored));
	same = mean_diff(cleaned, turned);
	unturned = mean_diff(cleaned, stored);
	print_message("  landscape_3: mean |diff| %.2f vs turned, %.2f vs stored\n", same,
		      unturned);
	if (!(same < 8.0 && unturned > 4 * same))
		fail_msg("landscape_3 not turned 180: diff %.2f turned, %.2f "
			 "stored",
			 same, unturned);
	g_object_unref(cleaned);
	g_object_unref(turned);
	g_object_unref(stored);
	free(out);
	free(in);
}

/* ---- refusals ---- */

static void test_broken(void **state)
{
	static char names[16][NAME_MAX + 1];
	unsigned char junk[4096], *in;
	char path[PATH_MAX];
	size_t n, len;
	uint32_t x = 0x91c0ffeeu;

	(void)state;
	/* Random bytes: not any image type. */
	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1664525u + 1013904223u;
		junk[i] = (unsigned char)(x >> 24);
	}
	clean_fails("random bytes", junk, sizeof(junk), NULL, SL_EVALID, UNSUPPORTED);
	clean_fails("empty", "", 0, NULL, SL_EPARSE, NULL);
	clean_fails("empty NULL", NULL, 0, NULL, SL_EPARSE, NULL);
	/* The right magic, then garbage. */
	memcpy(junk, "\xFF\xD8\xFF\xE0", 4);
	clean_fails("JPEG magic + junk", junk, sizeof(junk), NULL, SL_EPARSE, NULL);
	memcpy(junk, "\x89PNG\r\n\x1a\n", 8);
	clean_fails("PNG magic + junk", junk, sizeof(junk), NULL, SL_EPARSE, NULL);

	if (!need_samples(__func__)) {
		skip();
		return;
	}
	n = list_samples(is_broken, names, 16);
	assert_true(n >= 1);
	for (size_t i = 0; i < n; i++) {
		join(path, samples, names[i]);
		in = read_all(path, &len);
		clean_fails(names[i], in, len, NULL, SL_EPARSE, NULL);
		free(in);
	}

	/* Truncated: the first half of a good photo, and of a HEIC. */
	join(path, samples, "jpg_gps_DSCN0010.jpg");
	in = read_all(path, &len);
	clean_fails("jpg_gps_DSCN0010 first half", in, len / 2, NULL, SL_EPARSE, NULL);
	clean_fails("jpg_gps_DSCN0010 first 1000 B", in, 1000, NULL, SL_EPARSE, NULL);
	free(in);
	join(path, samples, "heic_IMG_5195.HEIC");
	in = read_all(path, &len);
	{
		char why[SL_MEDIA_WHY_MAX];
		void *out = NULL;
		size_t out_len = 0;
		sl_err err =
		    sl_media_clean(in, len / 2, NULL, &out, &out_len, why, sizeof(why));

		/* HEIC is a box format: a cut one may not even be
		 * recognised, which is a refusal too. */
		if (err != SL_EPARSE && err != SL_EVALID)
			fail_msg("half HEIC: got %s (%s)", sl_strerror(err), why);
		assert_null(out);
		assert_true(why[0] != '\0');
		print_message("  %-34s -> %s: %s\n", "heic_IMG_5195 first half",
			      sl_strerror(err), why);
	}
	free(in);
}

static void test_unsupported(void **state)
{
	static const char gif[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff"
				  "\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"
				  "\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02"
				  "D\x01\x00;";
	static const char svg[] = "<?xml version=\"1.0\"?><svg "
				  "xmlns=\"http://www.w3.org/2000/svg\" "
				  "width=\"10\" height=\"10\"></svg>";
	static const char pdf[] = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
	static const char avif[] = "\0\0\0\x1c"
				   "ftypavif\0\0\0\0avifmif1miaf"
				   "\0\0\0\0meta";
	static const char mp4[] = "\0\0\0\x18"
				  "ftypmp42\0\0\0\0mp42isom"
				  "\0\0\0\x08"
				  "free";
	char path[PATH_MAX];
	unsigned char *in;
	size_t len;

	(void)state;
	clean_fails("GIF", gif, sizeof(gif) - 1, NULL, SL_EVALID, UNSUPPORTED);
	clean_fails("SVG", svg, sizeof(svg) - 1, NULL, SL_EVALID, UNSUPPORTED);
	clean_fails("PDF", pdf, sizeof(pdf) - 1, NULL, SL_EVALID, UNSUPPORTED);
	/* ISO BMFF, but not HEIF: AVIF and MP4 video. */
	clean_fails("AVIF", avif, sizeof(avif) - 1, NULL, SL_EVALID, UNSUPPORTED);
	clean_fails("MP4", mp4, sizeof(mp4) - 1, NULL, SL_EVALID, UNSUPPORTED);
	if (!need_samples(__func__)) {
		skip();
		return;
	}
	join(path, samples, "tiff_BSG1.tiff");
	in = read_all(path, &len);
	clean_fails("tiff_BSG1.tiff", in, len, NULL, SL_EVALID, UNSUPPORTED);
	free(in);
}

static void test_too_big(void **state)
{
	sl_media_limits lim;
	unsigned char *big;

	(void)state;
	sl_media_limits_default(&lim);
	assert_int_equal(lim.max_bytes, 10 * 1024 * 1024);
	big = calloc(1, lim.max_bytes + 1);
	assert_non_null(big);
	memcpy(big, "\xFF\xD8\xFF\xE0", 4);
	clean_fails("max_bytes + 1", big, lim.max_bytes + 1, NULL, SL_ETOOBIG, NULL);
	free(big);
	lim.max_bytes = 100;
	clean_fails("101 bytes, max 100",
		    "\xFF\xD8\xFF\xE0 and then some more "
		    "bytes to pass one hundred of them, "
		    "which takes a while to type out in "
		    "full",
		    101, &lim, SL_ETOOBIG, "100 bytes");
}

static uint32_t crc32_png(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
	}
	return c ^ 0xFFFFFFFFu;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static long max_rss_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

/* Small files whose headers claim billions of pixels: refused from the
 * header, before the decoder allocates anything like their size. */
static void test_pixel_bomb(void **state)
{
	VipsImage *tiny;
	void *png, *jpg;
	size_t png_len, jpg_len, i;
	unsigned char *p;
	long rss0 = max_rss_mb();

	(void)state;
	assert_int_equal(vips_black(&tiny, 16, 16, "bands", 3, NULL), 0);
	assert_int_equal(vips_pngsave_buffer(tiny, &png, &png_len, NULL), 0);
	assert_int_equal(vips_jpegsave_buffer(tiny, &jpg, &jpg_len, NULL), 0);
	g_object_unref(tiny);

	/* PNG: IHDR is the first chunk; width, height at 16, 20, and its
	 * CRC (over type and data) at 29. */
	p = png;
	assert_memory_equal(p + 12, "IHDR", 4);
	put_be32(p + 16, 30000);
	put_be32(p + 20, 30000);
	put_be32(p + 29, crc32_png(p + 12, 17));
	clean_fails("PNG claiming 30000x30000", png, png_len, NULL, SL_EVALID,
		    "too many pixels");

	/* JPEG: SOF0 is FF C0, length, precision, height, width. */
	p = jpg;
	for (i = 2; i + 9 < jpg_len; i++)
		if (p[i] == 0xFF && p[i + 1] == 0xC0)
			break;
	assert_true(i + 9 < jpg_len);
	p[i + 5] = 60000 >> 8;
	p[i + 6] = 60000 & 0xFF;
	p[i + 7] = 60000 >> 8;
	p[i + 8] = 60000 & 0xFF;
	clean_fails("JPEG claiming 60000x60000", jpg, jpg_len, NULL, SL_EVALID,
		    "too many pixels");

	/* A real image just over a lowered cap. */
	{
		sl_media_limits lim;

		sl_media_limits_default(&lim);
		lim.max_pixels = 255;
		p[i + 5] = 0;
		p[i + 6] = 16;
		p[i + 7] = 0;
		p[i + 8] = 16;
		clean_fails("16x16 JPEG, max 255 pixels", jpg, jpg_len, &lim, SL_EVALID,
			    "too many pixels");
		lim.max_pixels = 256;
		void *out;
		size_t out_len;
		clean_ok("16x16 JPEG, max 256 pixels", jpg, jpg_len, &lim, &out,
			 &out_len);
		free(out);
	}
	g_free(png);
	g_free(jpg);
	print_message("  peak RSS %ld MB before, %ld MB after (a decoded "
		      "30000x30000 RGB would be 2700 MB)\n",
		      rss0, max_rss_mb());
	assert_true(max_rss_mb() - rss0 < 256);
}

static void test_bad_arguments(void **state)
{
	sl_media_limits lim;
	void *out;
	size_t out_len;
	char why[SL_MEDIA_WHY_MAX];

	(void)state;
	assert_int_equal(sl_media_clean("x", 1, NULL, NULL, &out_len, why, sizeof(why)),
			 SL_EINVAL);
	assert_int_equal(sl_media_clean("x", 1, NULL, &out, NULL, why, sizeof(why)),
			 SL_EINVAL);
	assert_int_equal(sl_media_clean(NULL, 5, NULL, &out, &out_len, why, sizeof(why)),
			 SL_EINVAL);
	sl_media_limits_default(&lim);
	lim.max_side = 0;
	assert_int_equal(sl_media_clean("x", 1, &lim, &out, &out_len, why, sizeof(why)),
			 SL_EINVAL);
	sl_media_limits_default(&lim);
	lim.quality = 101;
	assert_int_equal(sl_media_clean("x", 1, &lim, &out, &out_len, why, sizeof(why)),
			 SL_EINVAL);
	/* No why buffer at all is fine. */
	assert_int_equal(sl_media_clean("x", 1, NULL, &out, &out_len, NULL, 0),
			 SL_EVALID);
	assert_null(out);
}

/* ---- sizes and colour ---- */

static void test_limits_and_sizes(void **state)
{
	sl_media_limits lim;
	char path[PATH_MAX];
	unsigned char *in;
	size_t len, out_len;
	void *out;
	int w, h;

	(void)state;
	if (!need_samples(__func__)) {
		skip();
		return;
	}
	/* Shrunk to a smaller cap, aspect kept. */
	sl_media_limits_default(&lim);
	lim.max_side = 100;
	join(path, samples, "jpg_gps_DSCN0012.jpg");
	in = read_all(path, &len);
	clean_ok("DSCN0012 max_side 100", in, len, &lim, &out, &out_len);
	decode_output("DSCN0012 max_side 100", out, out_len, &w, &h);
	assert_int_equal(w, 100);
	assert_int_equal(h, 75);
	free(out);
	free(in);

	/* Never enlarged: a 100x68 photo stays so. */
	join(path, samples, "jpg_Canon_40D.jpg");
	in = read_all(path, &len);
	clean_ok("Canon_40D", in, len, NULL, &out, &out_len);
	decode_output("Canon_40D", out, out_len, &w, &h);
	assert_int_equal(w, 100);
	assert_int_equal(h, 68);
	free(out);
	free(in);
}

/* PNG and WebP with alpha, and 16-bit grey: all come out 8-bit RGB, and a
 * transparent pixel comes out white. */
static void test_png_webp_alpha(void **state)
{
	VipsImage *rgb, *alpha, *rgba, *grey16;
	void *buf, *out;
	size_t len, out_len;
	VipsImage *dec;
	double px[3];
	double *vec;
	int n, w, h;

	(void)state;
	/* 300x200 red, alpha 0 on the left half and 255 on the right. */
	assert_int_equal(vips_black(&rgb, 300, 200, "bands", 3, NULL), 0);
	{
		double red[3] = {255, 0, 0};
		VipsImage *r;
		assert_int_equal(vips_linear(rgb, &r, (double[]){1, 1, 1}, red, 3,
					     "uchar", TRUE, NULL),
				 0);
		g_object_unref(rgb);
		rgb = r;
	}
	{
		VipsImage *x, *a;
		assert_int_equal(vips_xyz(&x, 300, 200, NULL), 0);
		assert_int_equal(vips_extract_band(x, &a, 0, NULL), 0);
		g_object_unref(x);
		assert_int_equal(vips_more_const1(a, &alpha, 149, NULL), 0);
		g_object_unref(a);
	}
	assert_int_equal(vips_bandjoin2(rgb, alpha, &rgba, NULL), 0);
	{
		VipsImage *c;
		assert_int_equal(
		    vips_copy(rgba, &c, "interpretation", VIPS_INTERPRETATION_sRGB, NULL),
		    0);
		g_object_unref(rgba);
		rgba = c;
	}

	const char *kinds[] = {"png", "webp"};
	for (int k = 0; k < 2; k++) {
		if (k == 0)
			assert_int_equal(vips_pngsave_buffer(rgba, &buf, &len, NULL), 0);
		else
			assert_int_equal(vips_webpsave_buffer(rgba, &buf, &len,
							      "lossless", TRUE, NULL),
					 0);
		clean_ok(kinds[k], buf, len, NULL, &out, &out_len);
		decode_output(kinds[k], out, out_len, &w, &h);
		assert_int_equal(w, 300);
		assert_int_equal(h, 200);
		assert_int_equal(vips_jpegload_buffer(out, out_len, &dec, NULL), 0);
		assert_int_equal(vips_getpoint(dec, &vec, &n, 20, 100, NULL), 0);
		memcpy(px, vec, sizeof(px));
		g_free(vec);
		if (px[0] < 240 || px[1] < 240 || px[2] < 240)
			fail_msg("%s: transparent pixel is %.0f,%.0f,%.0f, want white",
				 kinds[k], px[0], px[1], px[2]);
		assert_int_equal(vips_getpoint(dec, &vec, &n, 280, 100, NULL), 0);
		memcpy(px, vec, sizeof(px));
		g_free(vec);
		if (px[0] < 220 || px[1] > 40 || px[2] > 40)
			fail_msg("%s: opaque pixel is %.0f,%.0f,%.0f, want red", kinds[k],
				 px[0], px[1], px[2]);
		g_object_unref(dec);
		free(out);
		g_free(buf);
	}
	g_object_unref(rgba);
	g_object_unref(alpha);
	g_object_unref(rgb);

	/* 16-bit grey: mid grey in, mid grey RGB out. */
	{
		VipsImage *b, *g;
		assert_int_equal(vips_black(&b, 64, 64, NULL), 0);
		assert_int_equal(vips_linear1(b, &g, 1, 32768, NULL), 0);
		assert_int_equal(vips_cast(g, &grey16, VIPS_FORMAT_USHORT, NULL), 0);
		g_object_unref(g);
		g_object_unref(b);
		VipsImage *c;
		assert_int_equal(vips_copy(grey16, &c, "interpretation",
					   VIPS_INTERPRETATION_GREY16, NULL),
				 0);
		g_object_unref(grey16);
		grey16 = c;
	}
	assert_int_equal(vips_pngsave_buffer(grey16, &buf, &len, "bitdepth", 16, NULL),
			 0);
	g_object_unref(grey16);
	clean_ok("grey16 png", buf, len, NULL, &out, &out_len);
	assert_int_equal(vips_jpegload_buffer(out, out_len, &dec, NULL), 0);
	assert_int_equal(vips_image_get_bands(dec), 3);
	assert_int_equal(vips_getpoint(dec, &vec, &n, 32, 32, NULL), 0);
	if (vec[0] < 118 || vec[0] > 138 || vec[1] < 118 || vec[1] > 138)
		fail_msg("grey16: pixel %.0f,%.0f,%.0f, want about 128", vec[0], vec[1],
			 vec[2]);
	g_free(vec);
	g_object_unref(dec);
	free(out);
	g_free(buf);
}

/* ---- the canary ---- */

static bool has_bytes(const void *buf, size_t len, const char *s)
{
	return memmem(buf, len, s, strlen(s)) != NULL;
}

static const char *const canaries[] = {"CANARY-comment-91c", "CANARY-artist-91c",
				       "CANARY-xmp-91c"};

/* A 96x64 grey image written to path, in the format its suffix names. */
static void make_image(const char *path)
{
	VipsImage *b, *g, *s;

	assert_int_equal(vips_black(&b, 96, 64, "bands", 3, NULL), 0);
	assert_int_equal(vips_linear1(b, &g, 1, 100, "uchar", TRUE, NULL), 0);
	assert_int_equal(
	    vips_copy(g, &s, "interpretation", VIPS_INTERPRETATION_sRGB, NULL), 0);
	assert_int_equal(vips_image_write_to_file(s, path, NULL), 0);
	g_object_unref(s);
	g_object_unref(g);
	g_object_unref(b);
}

/* Writes the canaries (comment, EXIF Artist, XMP description) and a GPS
 * position into path with exiftool, cleans it, and checks that neither the
 * output's bytes nor exiftool's reading of it has any of them. */
static void canary_round(const char *label, const char *path)
{
	char cmd[3 * PATH_MAX], bad[4096];
	unsigned char *in;
	size_t len, out_len;
	void *out;
	json_t *before, *after;
	char *text;
	int planted = 0;

	snprintf(cmd, sizeof(cmd),
		 "exiftool -q -q -overwrite_original -Comment=%s -Artist=%s "
		 "-XMP-dc:Description=%s -GPSLatitude=53.9 -GPSLatitudeRef=N "
		 "-GPSLongitude=27.56 -GPSLongitudeRef=E -- '%s' >/dev/null 2>&1",
		 canaries[0], canaries[1], canaries[2], path);
	assert_int_equal(system(cmd), 0);

	/* Not vacuous: the canaries and GPS are in the input. */
	in = read_all(path, &len);
	for (size_t i = 0; i < 3; i++)
		planted += has_bytes(in, len, canaries[i]);
	before = exiftool(path);
	if (planted < 2 || !has_key_containing(before, "GPSLatitude"))
		fail_msg("%s: exiftool planted %d canaries%s", label, planted,
			 has_key_containing(before, "GPSLatitude") ? "" : " and no GPS");
	json_decref(before);

	clean_ok(label, in, len, NULL, &out, &out_len);
	if (has_bytes(out, out_len, "CANARY"))
		fail_msg("%s: output bytes contain CANARY", label);
	after = exiftool_buf("canary-clean.jpg", out, out_len);
	text = json_dumps(after, 0);
	assert_non_null(text);
	if (strstr(text, "CANARY"))
		fail_msg("%s: exiftool finds a canary in the output: %s", label, text);
	if (identifying_keys(after, bad, sizeof(bad)) > 0)
		fail_msg("%s: exiftool still finds: %s", label, bad);
	print_message("  %-10s %d canaries + GPS planted, none left\n", label, planted);
	free(text);
	json_decref(after);
	free(out);

	/* A broken canary photo's reason quotes nothing of it. */
	{
		char why[SL_MEDIA_WHY_MAX];
		void *o = NULL;
		size_t ol = 0;
		sl_err err =
		    sl_media_clean(in, len * 2 / 3, NULL, &o, &ol, why, sizeof(why));

		if (err != SL_EPARSE && err != SL_EVALID)
			fail_msg("%s cut short: got %s (%s)", label, sl_strerror(err),
				 why);
		if (strstr(why, "CANARY"))
			fail_msg("%s: reason quotes the image: %s", label, why);
	}
	free(in);
	unlink(path);
}

/* The canary in each supported format: a real camera JPEG with GPS, a real
 * HEIF, and generated PNG and WebP (where metadata hides in tEXt/iTXt/eXIf
 * and RIFF EXIF/XMP chunks). */
static void test_canary(void **state)
{
	char src[PATH_MAX], path[PATH_MAX];
	static const char *const copies[][2] = {
	    {"jpg_gps_DSCN0010.jpg", "canary.jpg"},
	    {"heic_samplefilehub.heif", "canary.heif"},
	};
	static const char *const made[] = {"canary.png", "canary.webp"};

	(void)state;
	if (!need_samples(__func__) || !need_exiftool(__func__)) {
		skip();
		return;
	}
	for (size_t i = 0; i < 2; i++) {
		unsigned char *in;
		size_t len;

		join(src, samples, copies[i][0]);
		join(path, work, copies[i][1]);
		in = read_all(src, &len);
		write_all(path, in, len);
		free(in);
		canary_round(copies[i][1], path);
	}
	for (size_t i = 0; i < 2; i++) {
		join(path, work, made[i]);
		make_image(path);
		canary_round(made[i], path);
	}
}

/* ---- files ---- */

static void test_clean_file(void **state)
{
	char src[PATH_MAX], dst[PATH_MAX], missing[PATH_MAX], big[PATH_MAX];
	char why[SL_MEDIA_WHY_MAX];
	unsigned char *out;
	size_t len;
	struct stat st;
	json_t *j;
	char bad[4096];
	int fd;

	(void)state;
	if (!need_samples(__func__)) {
		skip();
		return;
	}
	join(src, samples, "jpg_gps_DSCN0021.jpg");
	join(dst, work, "out.jpg");
	assert_int_equal(sl_media_clean_file(src, dst, why, sizeof(why)), SL_OK);
	assert_string_equal(why, "");
	assert_int_equal(stat(dst, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	out = read_all(dst, &len);
	assert_jpeg("clean_file", out, len);
	free(out);
	if (have_exiftool) {
		j = exiftool(dst);
		if (identifying_keys(j, bad, sizeof(bad)) > 0)
			fail_msg("clean_file output has: %s", bad);
		json_decref(j);
	}

	/* Missing input: SL_EIO, the earlier output untouched, no path in
	 * the reason. */
	join(missing, work, "no-such-photo.jpg");
	assert_int_equal(sl_media_clean_file(missing, dst, why, sizeof(why)), SL_EIO);
	assert_true(why[0] != '\0');
	assert_null(strstr(why, "no-such-photo"));
	print_message("  missing input -> %s\n", why);
	assert_int_equal(stat(dst, &st), 0);
	assert_true(st.st_size > 0);

	/* A directory is not a photo. */
	assert_int_equal(sl_media_clean_file(work, dst, why, sizeof(why)), SL_EIO);

	/* Over the cap: a sparse file of max_bytes + 1, refused. */
	join(big, work, "big.jpg");
	fd = open(big, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\xFF\xD8\xFF\xE0", 4), 4);
	assert_int_equal(ftruncate(fd, (off_t)SL_MEDIA_MAX_BYTES + 1), 0);
	close(fd);
	assert_int_equal(sl_media_clean_file(big, dst, why, sizeof(why)), SL_ETOOBIG);
	unlink(big);

	/* Unsupported input writes nothing. */
	{
		char tiff[PATH_MAX], dst2[PATH_MAX];

		join(tiff, samples, "tiff_BSG1.tiff");
		join(dst2, work, "never.jpg");
		assert_int_equal(sl_media_clean_file(tiff, dst2, why, sizeof(why)),
				 SL_EVALID);
		assert_int_equal(stat(dst2, &st), -1);
	}

	/* Output into a missing directory. */
	{
		char nodir[PATH_MAX];

		join(nodir, work, "no/such/dir/out.jpg");
		assert_int_equal(sl_media_clean_file(src, nodir, why, sizeof(why)),
				 SL_EIO);
	}

	/* Nothing but out.jpg is left: no temporary from the writes. */
	{
		DIR *d = opendir(work);
		struct dirent *e;
		assert_non_null(d);
		while ((e = readdir(d)))
			if (e->d_name[0] != '.' && strcmp(e->d_name, "out.jpg") != 0)
				fail_msg("stray file in work dir: %s", e->d_name);
		closedir(d);
	}
	unlink(dst);
}

/* ---- threads ---- */

typedef struct job {
	const unsigned char *in;
	size_t len;
	int rounds;
	sl_err err;
	char why[SL_MEDIA_WHY_MAX];
} job;

static void *run_job(void *arg)
{
	job *j = arg;

	j->err = SL_OK;
	for (int r = 0; r < j->rounds && j->err == SL_OK; r++) {
		void *out = NULL;
		size_t out_len = 0;

		j->err = sl_media_clean(j->in, j->len, NULL, &out, &out_len, j->why,
					sizeof(j->why));
		free(out);
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	static const char *const names[] = {
	    "jpg_gps_DSCN0010.jpg", "jpg_gps_DSCN0012.jpg", "jpg_gps_DSCN0025.jpg",
	    "heic_samplefilehub.heif"};
	enum { N = 4 };
	unsigned char *in[N];
	job jobs[N];
	pthread_t th[N];

	(void)state;
	if (!need_samples(__func__)) {
		skip();
		return;
	}
	for (int i = 0; i < N; i++) {
		char path[PATH_MAX];

		join(path, samples, names[i]);
		in[i] = read_all(path, &jobs[i].len);
		jobs[i].in = in[i];
		jobs[i].rounds = 3;
		assert_int_equal(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (jobs[i].err != SL_OK)
			fail_msg("%s in a thread: %s (%s)", names[i],
				 sl_strerror(jobs[i].err), jobs[i].why);
		free(in[i]);
	}
}

/* ---- no temporary files ---- */

/* Images over libvips's 100 MB "disc threshold" once decoded: opened with
 * random access they would be decoded into a temporary file. */
static void test_large_in_memory(void **state)
{
	VipsImage *b, *c;
	void *buf, *out;
	size_t len, out_len;
	int w, h;
	double t0;

	(void)state;
	/* 6000x6000 RGB JPEG: 108 MB of pixels. */
	assert_int_equal(vips_black(&b, 6000, 6000, "bands", 3, NULL), 0);
	assert_int_equal(vips_jpegsave_buffer(b, &buf, &len, "Q", 50, NULL), 0);
	g_object_unref(b);
	t0 = now_ms();
	clean_ok("6000x6000 JPEG", buf, len, NULL, &out, &out_len);
	print_message("  6000x6000 JPEG (%zu kB) in %.0f ms\n", len / 1024,
		      now_ms() - t0);
	decode_output("6000x6000 JPEG", out, out_len, &w, &h);
	assert_int_equal(w, 2048);
	assert_int_equal(h, 2048);
	free(out);
	g_free(buf);

	/* 5300x5300 RGBA PNG, interlaced (the PNG loader cannot stream
	 * those): 112 MB of pixels. */
	assert_int_equal(vips_black(&b, 5300, 5300, "bands", 4, NULL), 0);
	assert_int_equal(
	    vips_copy(b, &c, "interpretation", VIPS_INTERPRETATION_sRGB, NULL), 0);
	g_object_unref(b);
	assert_int_equal(
	    vips_pngsave_buffer(c, &buf, &len, "compression", 1, "interlace", TRUE, NULL),
	    0);
	g_object_unref(c);
	t0 = now_ms();
	clean_ok("5300x5300 interlaced PNG", buf, len, NULL, &out, &out_len);
	print_message("  5300x5300 RGBA interlaced PNG (%zu kB) in %.0f ms\n", len / 1024,
		      now_ms() - t0);
	free(out);
	g_free(buf);
}

/* Runs last: TMPDIR has been an empty directory of our own since before
 * libvips started; every test above has cleaned photos since. */
static void test_no_temp_files(void **state)
{
	DIR *d = opendir(vipstmp);
	struct dirent *e;
	int n = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			print_message("  temporary file: %s\n", e->d_name);
			n++;
		}
	closedir(d);
	assert_int_equal(n, 0);
}

/* Every sample is one of good, broken or unsupported. */
static void test_samples_classified(void **state)
{
	static char names[64][NAME_MAX + 1];
	size_t n;

	(void)state;
	if (!need_samples(__func__)) {
		skip();
		return;
	}
	n = list_samples(is_any, names, 64);
	for (size_t i = 0; i < n; i++)
		if (!is_good(names[i]) && !is_broken(names[i]) &&
		    !is_unsupported(names[i]))
			fail_msg("sample %s is in no class; add it to the test",
				 names[i]);
}

int main(void)
{
	const char *shared = getenv("SHARED_DATA");
	const char *tmp = getenv("TMPDIR");
	struct stat st;
	char cmd[PATH_MAX + 32];
	int rc;

	if (shared && *shared) {
		snprintf(samples, sizeof(samples), "%s/exif-samples", shared);
		if (stat(samples, &st) != 0 || !S_ISDIR(st.st_mode))
			samples[0] = '\0';
	}
	snprintf(root, sizeof(root), "%s/sl-media-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(vipstmp, sizeof(vipstmp), "%s/tmp", root);
	snprintf(work, sizeof(work), "%s/work", root);
	if (mkdir(vipstmp, 0700) != 0 || mkdir(work, 0700) != 0) {
		perror("mkdir");
		return 1;
	}
	/* Before GLib first asks for its temporary directory. */
	setenv("TMPDIR", vipstmp, 1);
	have_exiftool = system("exiftool -ver >/dev/null 2>&1") == 0;
	if (sl_media_init() != SL_OK) {
		fprintf(stderr, "sl_media_init failed\n");
		return 1;
	}

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_samples_classified),
	    cmocka_unit_test(test_gps_present_before),
	    cmocka_unit_test(test_good_images),
	    cmocka_unit_test(test_orientation),
	    cmocka_unit_test(test_broken),
	    cmocka_unit_test(test_unsupported),
	    cmocka_unit_test(test_too_big),
	    cmocka_unit_test(test_pixel_bomb),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_limits_and_sizes),
	    cmocka_unit_test(test_png_webp_alpha),
	    cmocka_unit_test(test_canary),
	    cmocka_unit_test(test_clean_file),
	    cmocka_unit_test(test_concurrent),
	    cmocka_unit_test(test_large_in_memory),
	    cmocka_unit_test(test_no_temp_files),
	};
	rc = cmocka_run_group_tests(tests, NULL, NULL);

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return rc;
}
