// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Names of rcore error codes.
 */
#include <rcore/err.h>

static const char *const rcore_err_names[RCORE_ERR_MAX + 1] = {
	[0]			= "ok",
	[-RCORE_ERR_TRUNCATED]	= "truncated",
	[-RCORE_ERR_OPCODE]	= "unknown opcode",
	[-RCORE_ERR_PAD]	= "bad pad count",
	[-RCORE_ERR_VERSION]	= "unsupported version",
	[-RCORE_ERR_LENGTH]	= "bad length",
	[-RCORE_ERR_PAYLOAD]	= "unexpected payload",
	[-RCORE_ERR_RANGE]	= "field out of range",
	[-RCORE_ERR_PROTO]	= "not a RoCEv2 UDP packet",
	[-RCORE_ERR_ICRC]	= "ICRC mismatch",
};

const char *rcore_strerror(int err)
{
	if (err > 0 || err < -RCORE_ERR_MAX)
		return "unknown";
	return rcore_err_names[-err];
}
