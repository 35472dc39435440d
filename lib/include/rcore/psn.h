/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * 24-bit packet sequence number arithmetic.
 *
 * PSNs live modulo 2^24.  Two PSNs are ordered by their signed distance
 * taken in the half-open window [-2^23, 2^23): a PSN up to 2^23 behind
 * another is "before" it, up to 2^23 - 1 ahead is "after" it.
 */
#ifndef RCORE_PSN_H
#define RCORE_PSN_H

#include <rcore/types.h>

#define RCORE_PSN_BITS		24
#define RCORE_PSN_MOD		0x1000000u
#define RCORE_PSN_MAX		0xffffffu
#define RCORE_PSN_HALF		0x800000u

/**
 * rcore_psn_add - advance a PSN
 * @psn: a PSN (bits above the 24th are ignored)
 * @n: how far to advance; may be negative
 *
 * Return: (@psn + @n) mod 2^24.
 */
static inline uint32_t rcore_psn_add(uint32_t psn, int32_t n)
{
	return (psn + (uint32_t)n) & RCORE_PSN_MAX;
}

/**
 * rcore_psn_diff - signed distance between two PSNs
 * @a: a PSN
 * @b: a PSN
 *
 * Return: the d in [-2^23, 2^23) with @b + d == @a (mod 2^24).
 */
static inline int32_t rcore_psn_diff(uint32_t a, uint32_t b)
{
	uint32_t d = (a - b) & RCORE_PSN_MAX;

	return d >= RCORE_PSN_HALF ? (int32_t)d - (int32_t)RCORE_PSN_MOD
				   : (int32_t)d;
}

/**
 * rcore_psn_before - is @a before @b
 * @a: a PSN
 * @b: a PSN
 *
 * Return: true when @a is 1..2^23 behind @b.
 */
static inline bool rcore_psn_before(uint32_t a, uint32_t b)
{
	return rcore_psn_diff(a, b) < 0;
}

/**
 * rcore_psn_after - is @a after @b
 * @a: a PSN
 * @b: a PSN
 *
 * Return: true when @a is 1..2^23-1 ahead of @b.
 */
static inline bool rcore_psn_after(uint32_t a, uint32_t b)
{
	return rcore_psn_diff(a, b) > 0;
}

/**
 * rcore_psn_cmp - compare two PSNs
 * @a: a PSN
 * @b: a PSN
 *
 * Return: negative, zero or positive as @a is before, equal to or after @b.
 */
static inline int rcore_psn_cmp(uint32_t a, uint32_t b)
{
	int32_t d = rcore_psn_diff(a, b);

	return (d > 0) - (d < 0);
}

/**
 * rcore_psn_in_range - is @psn within [@first, @last]
 * @psn: the PSN to test
 * @first: first PSN of the range
 * @last: last PSN of the range (not before @first)
 *
 * Return: true when @psn is neither before @first nor after @last.
 */
static inline bool rcore_psn_in_range(uint32_t psn, uint32_t first,
				      uint32_t last)
{
	return !rcore_psn_before(psn, first) && !rcore_psn_after(psn, last);
}

/* Where a request's PSN falls for an RC responder (IBA 9.7.5.1). */
enum rcore_psn_class {
	RCORE_PSN_NEW		= 0,	/* the expected PSN */
	RCORE_PSN_DUPLICATE	= 1,	/* up to 2^23 behind it: a retry */
	RCORE_PSN_OUT_OF_SEQ	= 2,	/* ahead of it: packets were lost */
};

/**
 * rcore_psn_classify - classify a request PSN at the responder
 * @expected: the responder's expected PSN (ePSN)
 * @psn: the PSN of the packet received
 *
 * Return: RCORE_PSN_NEW when @psn == @expected, RCORE_PSN_DUPLICATE when
 * it is 1..2^23 behind, RCORE_PSN_OUT_OF_SEQ when it is 1..2^23-1 ahead
 * (the responder NAKs with a PSN sequence error).
 */
static inline enum rcore_psn_class rcore_psn_classify(uint32_t expected,
						      uint32_t psn)
{
	int32_t d = rcore_psn_diff(psn, expected);

	if (d == 0)
		return RCORE_PSN_NEW;
	return d < 0 ? RCORE_PSN_DUPLICATE : RCORE_PSN_OUT_OF_SEQ;
}

#endif /* RCORE_PSN_H */
