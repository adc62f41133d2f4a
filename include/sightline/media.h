/*
 * media.h — cleaning informants' photos.
 *
 * A photo straight from a phone says who took it and where: GPS position,
 * time, camera make, model and serial number, a thumbnail of the uncropped
 * original, maker notes, editing history. sl_media_clean decodes a JPEG,
 * PNG, WebP or HEIC/HEIF photo from memory with libvips, turns it upright,
 * shrinks it, and re-encodes only its pixels as a fresh baseline JPEG: no
 * byte of the original file's metadata survives. Everything happens in
 * memory; nothing of the photo is written to disk by this module, except the
 * cleaned result by sl_media_clean_file when asked to. See docs/MEDIA.md.
 */
#ifndef SIGHTLINE_MEDIA_H
#define SIGHTLINE_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "sightline/err.h"

#define SL_MEDIA_MAX_BYTES ((size_t)10 * 1024 * 1024)	 /* 10 MiB of input */
#define SL_MEDIA_MAX_SIDE 2048				 /* long side of output */
#define SL_MEDIA_MAX_PIXELS ((uint64_t)40 * 1000 * 1000) /* 40 megapixels */
#define SL_MEDIA_QUALITY 85				 /* JPEG quality */
#define SL_MEDIA_WHY_MAX 128 /* a why buffer this size holds every reason */

typedef struct sl_media_limits {
	size_t max_bytes;    /* longer input: SL_ETOOBIG, nothing decoded */
	int max_side;	     /* output long side at most this (>= 1); never upscaled */
	uint64_t max_pixels; /* width * height from the header above this: SL_EVALID */
	int quality;	     /* JPEG quality of the output, 1..100 */
} sl_media_limits;

/* Fills l with the defaults above. */
void sl_media_limits_default(sl_media_limits *l);

/* Starts libvips once for the whole process; safe to call from any thread
 * and more than once (pthread_once). It also sets process-wide libvips
 * policy, which is why only this module may use libvips: no operation cache
 * (nothing of a photo lingers in it), one worker thread per pipeline, every
 * loader blocked except the JPEG, PNG, WebP and HEIF buffer loaders (the
 * untrusted ones, ImageMagick, PDF, SVG, TIFF ... can never run), and the
 * "VIPS" GLib log domain below CRITICAL silenced, since decoder warnings
 * could quote metadata. sl_media_clean calls it itself. SL_EINVAL if
 * libvips cannot start (the result is remembered). */
sl_err sl_media_init(void);

/* Cleans one photo held in memory.
 *
 * in/len is the file as uploaded; it is only read, and not kept. lim may be
 * NULL for the defaults. On success *out is a JPEG (starts FF D8) of
 * *out_len bytes in malloc memory the caller frees with free(): sRGB, 8
 * bits, upright (EXIF orientation applied), long side at most
 * lim->max_side, alpha flattened onto white, no EXIF, XMP, IPTC, ICC
 * profile, comment or thumbnail, quality lim->quality.
 *
 * On failure *out is NULL, *out_len 0, and why (if not NULL and why_size >
 * 0) gets a short reason for a human, never naming a file or quoting
 * anything from the image:
 *   SL_ETOOBIG  len > lim->max_bytes (checked before anything else)
 *   SL_EVALID   not JPEG, PNG, WebP or HEIC/HEIF (random bytes included);
 *               more pixels than lim->max_pixels (from the header, before
 *               any pixel is decoded); a colour format it cannot convert
 *   SL_EPARSE   empty, or a supported type that is broken or truncated
 *   SL_EINVAL   out or out_len NULL, in NULL with len > 0, bad limits
 *   SL_ENOMEM   the result could not be allocated
 * Thread-safe; may run in many threads at once. */
sl_err sl_media_clean(const void *in, size_t len, const sl_media_limits *lim,
		      void **out /* OUT */, size_t *out_len /* OUT */, char *why,
		      size_t why_size);

/* The `sightline media-clean IN OUT` command: reads in_path whole (refusing
 * more than SL_MEDIA_MAX_BYTES without reading further), cleans it with the
 * default limits, and writes the result to out_path atomically: a private
 * temporary file (mode 0600) in out_path's directory, fsync, rename over
 * out_path. Nothing is written when cleaning fails. The buffer that held
 * the original is wiped before it is freed. Errors as sl_media_clean, and
 * SL_EIO when in_path cannot be read (missing, not a regular file) or
 * out_path cannot be written; why never contains either path. */
sl_err sl_media_clean_file(const char *in_path, const char *out_path, char *why,
			   size_t why_size);

#endif
