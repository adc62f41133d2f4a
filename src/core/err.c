/*
 * err.c — words for sl_err codes.
 */
#include "sightline/err.h"

const char *sl_strerror(sl_err err)
{
	switch (err) {
	case SL_OK: return "success";
	case SL_ENOMEM: return "out of memory";
	case SL_EINVAL: return "invalid argument";
	case SL_EPARSE: return "malformed input";
	case SL_EVALID: return "invalid field";
	case SL_ETOOBIG: return "input too large";
	case SL_ENOTFOUND: return "not found";
	case SL_EBUSY: return "busy, try again later";
	case SL_EIO: return "input/output error";
	case SL_ESTORE: return "database error";
	case SL_ECLOSED: return "shutting down";
	case SL_ECRYPTO: return "cryptographic failure";
	}
	return "unknown error";
}
