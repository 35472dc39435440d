/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Error codes of the protocol core.
 *
 * Every rcore function that can fail returns a negative enum rcore_err
 * value (0 or a positive count on success).  The values are rcore's own,
 * not errno values: callers map them (e.g. rodp.ko turns any parse error
 * into a silently dropped packet and bumps a counter named after the code).
 */
#ifndef RCORE_ERR_H
#define RCORE_ERR_H

#include <rcore/types.h>

enum rcore_err {
	RCORE_OK		= 0,
	RCORE_ERR_TRUNCATED	= -1,	/* buffer shorter than the headers */
	RCORE_ERR_OPCODE	= -2,	/* opcode not in the opcode table */
	RCORE_ERR_PAD		= -3,	/* pad count larger than the data */
	RCORE_ERR_VERSION	= -4,	/* BTH TVer, IP version not supported */
	RCORE_ERR_LENGTH	= -5,	/* length not a multiple of 4 */
	RCORE_ERR_PAYLOAD	= -6,	/* payload on an opcode without one */
	RCORE_ERR_RANGE		= -7,	/* field value too wide to encode */
	RCORE_ERR_PROTO		= -8,	/* IP packet that is not UDP */
	RCORE_ERR_ICRC		= -9,	/* ICRC mismatch */
	RCORE_ERR_MAX		= 9	/* number of error codes */
};

/**
 * rcore_strerror - name of an rcore error code
 * @err: an enum rcore_err value (0 or negative)
 *
 * Return: a static string such as "truncated"; "unknown" for a value that
 * is not an rcore error code.  Never NULL.
 */
const char *rcore_strerror(int err);

#endif /* RCORE_ERR_H */
