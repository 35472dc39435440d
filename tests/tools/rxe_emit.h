/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What tests/tools/rxe_emit posts, shared with the unit test that checks
 * the captured packets (tests/unit/test_capture.c).
 *
 * One RC QP, path MTU 1024, connected to a made-up remote QP; the work
 * requests below are posted in this order and go out as the packets listed
 * (nobody answers, and the retransmit timeout is infinite, so each packet
 * is sent exactly once).
 */
#ifndef RODP_TESTS_RXE_EMIT_H
#define RODP_TESTS_RXE_EMIT_H

#include <stdint.h>

#define EMIT_REMOTE_QPN		0x00c0deu
#define EMIT_START_PSN		0xfffffcu	/* the write crosses the wrap */
#define EMIT_MTU		1024u
#define EMIT_PKEY		0xffffu
#define EMIT_REMOTE_VA		0x00007f1234560000ull
#define EMIT_RKEY		0x0badcafeu
#define EMIT_IMM		0x11223344u	/* host order; wire is BE */
#define EMIT_INV_RKEY		0xabcd0001u
#define EMIT_CMP		0x0102030405060708ull
#define EMIT_SWAP		0x1112131415161718ull
#define EMIT_ADD		0x0000000000000101ull

enum emit_wr {
	EMIT_SEND,		/* 13 bytes: SEND_ONLY, pad 3 */
	EMIT_SEND_IMM,		/* 64 bytes: SEND_ONLY_WITH_IMMEDIATE */
	EMIT_SEND_INV,		/* 16 bytes: SEND_ONLY_WITH_INVALIDATE */
	EMIT_WRITE,		/* 3000 bytes: WRITE_FIRST, MIDDLE, LAST */
	EMIT_WRITE_IMM,		/* 100 bytes: WRITE_ONLY_WITH_IMMEDIATE */
	EMIT_SEND_BIG,		/* 2500 bytes: SEND_FIRST, MIDDLE, LAST */
	EMIT_READ,		/* 2048 bytes: one READ_REQUEST, 2 PSNs */
	EMIT_CMP_SWAP,		/* COMPARE_SWAP */
	EMIT_FETCH_ADD,		/* FETCH_ADD */
	EMIT_NR_WR
};

static const uint32_t emit_wr_len[EMIT_NR_WR] = {
	[EMIT_SEND] = 13, [EMIT_SEND_IMM] = 64, [EMIT_SEND_INV] = 16,
	[EMIT_WRITE] = 3000, [EMIT_WRITE_IMM] = 100, [EMIT_SEND_BIG] = 2500,
	[EMIT_READ] = 2048, [EMIT_CMP_SWAP] = 8, [EMIT_FETCH_ADD] = 8,
};

/* Byte @i of the payload of work request @wr. */
static inline uint8_t emit_payload_byte(unsigned int wr, uint32_t i)
{
	return (uint8_t)(i * 7 + wr * 31 + 1);
}

/* Remote address each RDMA/atomic request targets. */
static inline uint64_t emit_remote_va(unsigned int wr)
{
	return EMIT_REMOTE_VA + (uint64_t)wr * 0x10000;
}

#endif /* RODP_TESTS_RXE_EMIT_H */
