/*
 * audit.h — the tamper-evident log of every moderator and admin action.
 *
 * Each entry names who did what to which subject, carries the hash of the
 * entry before it and is signed with the server's Ed25519 key
 * (DATA/keys/audit.key), so that an edited, removed or reordered entry is
 * found by sl_audit_verify (`sightline audit verify`). Entries never hold
 * sealed content or anything that names an informant: the subject is a
 * report id, a moderator name, a setting.
 */
#ifndef SIGHTLINE_AUDIT_H
#define SIGHTLINE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/err.h"
#include "sightline/store.h"

#define SL_AUDIT_HASH_BYTES 32
#define SL_AUDIT_SIG_BYTES 64
#define SL_AUDIT_PUBLIC_BYTES 32

typedef struct sl_audit sl_audit;

/* Opens the log of store, loading the signing key from DATA_DIR/keys/
 * audit.key or creating it (mode 0600). The store must outlive it.
 * SL_ECRYPTO when the key file is missing but the log has entries (they
 * were signed with it: restore it rather than start a new one), or the
 * file is not a key. */
sl_err sl_audit_open(const char *data_dir, sl_store *store, sl_audit **out);
void sl_audit_close(sl_audit *a);

/* The public half of the signing key, for verifying elsewhere. */
const uint8_t *sl_audit_public_key(const sl_audit *a);

/* Appends one entry, durably, after the last one: actor is a moderator
 * name or "cli"/"server"; action a fixed word ("sign_in", "unseal",
 * "moderator_add", "grade" ...); subject what it acted on ("report:42",
 * "moderator:bob"); detail a JSON object as text, or NULL. Thread-safe;
 * entries from concurrent callers (other processes too) are chained in
 * some order. Keeps none of its arguments.
 *
 * SL_EINVAL when actor, action or subject is empty, longer than 200 bytes,
 * not UTF-8 text or not one line, or detail is not a JSON object of at most
 * 4096 bytes (it is stored re-written compact). SL_EBUSY when other
 * processes kept appending first for 50 tries. A caller whose action must
 * not happen unrecorded checks the result before acting on it. */
sl_err sl_audit_append(sl_audit *a, const char *actor, const char *action,
		       const char *subject, const char *detail_json);

/* One entry as stored. Strings live as long as the visit. (store.h
 * declares the type for its sl_store_audit_* functions.) */
typedef struct sl_audit_entry {
	int64_t seq; /* 1, 2, 3 ... */
	int64_t at;  /* Unix seconds */
	const char *actor, *action, *subject, *detail;
	uint8_t prev_hash[SL_AUDIT_HASH_BYTES];
	uint8_t hash[SL_AUDIT_HASH_BYTES];
	uint8_t sig[SL_AUDIT_SIG_BYTES];
} sl_audit_entry;

/* What verification found. ok is true when every entry is intact and in
 * order; otherwise bad_seq is the first entry that is not (for missing
 * entries, the first missing seq), and why says how: "entry N is missing",
 * "out of order", "edited", "signature invalid", or that a noted head is
 * no longer in the log. */
typedef struct sl_audit_result {
	bool ok;
	int64_t entries; /* entries checked and found intact */
	int64_t bad_seq; /* 0 when ok */
	char why[160];
	uint8_t head[SL_AUDIT_HASH_BYTES]; /* hash of the last intact entry;
					      zero for an empty log */
	int64_t noted_seq; /* sl_audit_verify_head: the entry whose hash is
			      the noted head; 0 otherwise */
} sl_audit_result;

/* Checks the whole log of store against public_key, walking every entry in
 * seq order and stopping at the first problem. A log cut short at the end
 * still verifies: compare out->head with a head noted earlier, or use
 * sl_audit_verify_head. Returns SL_OK whenever the walk finished, damaged
 * or not (out says which); another code when it could not be done. */
sl_err sl_audit_verify(sl_store *store, const uint8_t public_key[SL_AUDIT_PUBLIC_BYTES],
		       sl_audit_result *out);

/* sl_audit_verify, and also: expect_head, a head noted earlier (printed by
 * `sightline audit verify` and kept elsewhere), must be the hash of an
 * intact entry of the log. When it is not, entries were removed from the
 * end or the log rewritten since it was noted: out->ok is false. Entries
 * appended after it was noted are fine. expect_head NULL is
 * sl_audit_verify. */
sl_err sl_audit_verify_head(sl_store *store,
			    const uint8_t public_key[SL_AUDIT_PUBLIC_BYTES],
			    const uint8_t *expect_head, sl_audit_result *out);

#endif
