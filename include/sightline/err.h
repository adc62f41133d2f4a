/*
 * err.h — the one error type of sightline.
 *
 * Every fallible function returns sl_err; 0 (SL_OK) is success. Results come
 * back through out-parameters. sl_strerror() turns a code into words; errors
 * that reach a user carry their own message naming the field (see
 * sl_problem in report.h), the code only says which kind of failure it was.
 */
#ifndef SIGHTLINE_ERR_H
#define SIGHTLINE_ERR_H

typedef enum sl_err {
	SL_OK = 0,
	SL_ENOMEM,   /* allocation failed */
	SL_EINVAL,   /* a caller passed something invalid (a bug, or bad flags) */
	SL_EPARSE,   /* input is not well-formed (JSON, CSV, RFC 3339 ...) */
	SL_EVALID,   /* input is well-formed but a field is out of its rules */
	SL_ETOOBIG,  /* input is larger than its cap */
	SL_ENOTFOUND,/* no such record */
	SL_EBUSY,    /* a bounded queue is full; try again later */
	SL_EIO,      /* a file or socket operation failed */
	SL_ESTORE,   /* the database refused or failed */
	SL_ECLOSED,  /* the component is shutting down */
	SL_ECRYPTO,  /* a cryptographic operation failed */
} sl_err;

/* Words for an error code; a static string, never NULL. */
const char *sl_strerror(sl_err err);

#endif
