/*
 * sealing.h — the sensitive parts of a report, sealed before they are stored.
 *
 * Between decoding and storing, every intake path (HTTP, import, follow-ups)
 * passes a report through sl_report_seal: its text and contact become one
 * sealed "content" item, each cleaned photo a "photo" item, each under a
 * fresh key wrapped for every moderator active at that moment (seal.h). The
 * plaintext is wiped from the report. What a moderator joins later is not a
 * recipient of, they cannot open; an admin may share it on purpose.
 */
#ifndef SIGHTLINE_SEALING_H
#define SIGHTLINE_SEALING_H

#include <stddef.h>
#include <stdint.h>

#include "sightline/arena.h"
#include "sightline/modkey.h"
#include "sightline/report.h"
#include "sightline/store.h"

/* The moderators sealed items are wrapped for: parallel arrays of n. */
typedef struct sl_recipients {
	size_t n;
	int64_t *ids;
	uint8_t (*public_keys)[SL_MODKEY_PUBLIC_BYTES];
} sl_recipients;

/* The active moderators of s. Free with sl_recipients_free. */
sl_err sl_recipients_load(sl_store *s, sl_recipients *out);
void sl_recipients_free(sl_recipients *rc);

/* A cleaned photo to seal (media.h), borrowed. */
typedef struct sl_photo {
	const uint8_t *jpeg;
	size_t len;
} sl_photo;

/* True when r has anything that must be sealed (text, contact) or photos
 * are given. */
bool sl_report_has_sensitive(const sl_report *r, size_t n_photos);

/* Seals r's text and contact (one content item, when either is present) and
 * each photo (one item each) for rc, appending the items to r->sealed (in a)
 * with created_at = now rounded down to the minute, then wipes r->text and
 * r->contact and sets them to NULL. SL_ECLOSED when there is something to
 * seal but no recipient: the caller must refuse the report rather than store
 * what nobody could ever open. */
sl_err sl_report_seal(sl_report *r, const sl_recipients *rc, const sl_photo *photos,
		      size_t n_photos, int64_t now, sl_arena *a);

/* Seals one follow-up text for rc into *item (cipher and keys in a). */
sl_err sl_followup_seal(const char *text, size_t len, const sl_recipients *rc,
			int64_t now, sl_arena *a, sl_sealed *item);

/* Seals one moderator's note for rc into *item (cipher and keys in a),
 * with author_id, who wrote it, kept in clear. Notes are sealed like
 * follow-ups because they may quote the informant. */
sl_err sl_note_seal(const char *text, size_t len, int64_t author_id,
		    const sl_recipients *rc, int64_t now, sl_arena *a, sl_sealed *item);

/* Opens item with sk (which must be the key of item->moderator_ids[0]).
 * *plain is malloc'd; free it with sl_seal_plain_free (which wipes).
 * SL_ENOTFOUND when the item has no key for this moderator, SL_ECRYPTO when
 * the key does not open it. */
sl_err sl_sealed_open(const sl_sealed *item, const sl_secret_key *sk, uint8_t **plain,
		      size_t *len);

/* Opens r's content item with sk and sets r->text and r->contact (in a).
 * SL_ENOTFOUND when r has no content item this moderator can open. */
sl_err sl_report_unseal_content(sl_report *r, const sl_secret_key *sk, sl_arena *a);

#endif
