// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Real packets: tests/data holds what Linux's rxe sent for the work
 * requests of tests/tools/rxe_emit (see tests/data/README.md).  Every
 * packet must parse to the opcode, QPN, PSN, RETH, ImmDt, IETH and
 * AtomicETH values that were posted, carry the posted payload bytes, and
 * end with the ICRC rcore computes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <rcore/pkt.h>
#include <rcore/icrc.h>
#include <rcore/psn.h>

#include "pcap_read.h"
#include "rxe_emit.h"

/* The packets one rxe_emit run produces, in order. */
struct expect {
	uint8_t opcode;
	unsigned int wr;	/* enum emit_wr */
	uint32_t offset;	/* of this packet's payload in the message */
	uint32_t payload;	/* payload bytes */
};

static const struct expect expected[] = {
	{ RCORE_RC_SEND_ONLY,		EMIT_SEND,	0,	13 },
	{ RCORE_RC_SEND_ONLY_IMM,	EMIT_SEND_IMM,	0,	64 },
	{ RCORE_RC_SEND_ONLY_INV,	EMIT_SEND_INV,	0,	16 },
	{ RCORE_RC_WRITE_FIRST,		EMIT_WRITE,	0,	1024 },
	{ RCORE_RC_WRITE_MIDDLE,	EMIT_WRITE,	1024,	1024 },
	{ RCORE_RC_WRITE_LAST,		EMIT_WRITE,	2048,	952 },
	{ RCORE_RC_WRITE_ONLY_IMM,	EMIT_WRITE_IMM,	0,	100 },
	{ RCORE_RC_SEND_FIRST,		EMIT_SEND_BIG,	0,	1024 },
	{ RCORE_RC_SEND_MIDDLE,		EMIT_SEND_BIG,	1024,	1024 },
	{ RCORE_RC_SEND_LAST,		EMIT_SEND_BIG,	2048,	452 },
	{ RCORE_RC_READ_REQ,		EMIT_READ,	0,	0 },
	{ RCORE_RC_CMP_SWAP,		EMIT_CMP_SWAP,	0,	0 },
	{ RCORE_RC_FETCH_ADD,		EMIT_FETCH_ADD,	0,	0 },
};
#define NR_EXPECTED (sizeof(expected) / sizeof(expected[0]))

static void check_one(const struct pcap_roce *r, const struct expect *e,
		      uint32_t psn)
{
	const uint8_t *bth = r->ip + r->bth_off;
	size_t len = r->ip_len - r->bth_off;
	struct rcore_icrc ctx;
	struct rcore_pkt p;
	uint32_t i;
	int n;

	assert_int_equal(rcore_pkt_parse(bth, len, &p), RCORE_OK);
	assert_int_equal(p.bth.opcode, e->opcode);
	assert_int_equal(p.bth.dqpn, EMIT_REMOTE_QPN);
	assert_int_equal(p.bth.psn, psn);
	assert_int_equal(p.bth.pkey, EMIT_PKEY);
	assert_int_equal(p.bth.tver, 0);
	assert_int_equal(p.payload_len, e->payload);
	assert_int_equal(p.bth.pad, rcore_pad_len(e->payload));
	for (i = 0; i < e->payload; i++)
		if (bth[p.hdr_len + i] !=
		    emit_payload_byte(e->wr, e->offset + i))
			fail_msg("%s: payload byte %u", p.info->name, i);

	if (p.info->hdrs & RCORE_HDR_RETH) {
		assert_true(p.reth.va == emit_remote_va(e->wr));
		assert_int_equal(p.reth.rkey, EMIT_RKEY);
		assert_int_equal(p.reth.len, emit_wr_len[e->wr]);
	}
	if (p.info->hdrs & RCORE_HDR_IMMDT)
		assert_int_equal(p.imm, EMIT_IMM);
	if (p.info->hdrs & RCORE_HDR_IETH)
		assert_int_equal(p.ieth_rkey, EMIT_INV_RKEY);
	if (p.info->hdrs & RCORE_HDR_ATMETH) {
		assert_true(p.atmeth.va == emit_remote_va(e->wr));
		assert_int_equal(p.atmeth.rkey, EMIT_RKEY);
		if (e->opcode == RCORE_RC_CMP_SWAP) {
			assert_true(p.atmeth.compare == EMIT_CMP);
			assert_true(p.atmeth.swap_add == EMIT_SWAP);
		} else {
			assert_true(p.atmeth.swap_add == EMIT_ADD);
		}
	}

	/* The ICRC rxe put on the wire is the one rcore computes... */
	assert_int_equal(rcore_icrc_check(r->ip, r->ip_len), RCORE_OK);
	/* ...in one go and in pieces */
	n = rcore_icrc_begin(&ctx, r->ip, r->ip_len);
	assert_int_equal(n, (int)r->bth_off + RCORE_BTH_LEN);
	rcore_icrc_update(&ctx, r->ip + n, 5);
	rcore_icrc_update(&ctx, r->ip + n + 5, r->ip_len - (size_t)n - 9);
	assert_int_equal(rcore_icrc_final(&ctx), p.icrc);
}

/* A flipped bit anywhere outside the masked fields breaks the ICRC. */
static void check_corruption(const struct pcap_roce *r)
{
	uint8_t buf[2048];
	size_t i;

	assert_true(r->ip_len <= sizeof(buf));
	memcpy(buf, r->ip, r->ip_len);
	/* IPv6 bytes 0-3: the 0x01 bit of byte 0 is traffic class */
	for (i = 0; i < r->ip_len; i++) {
		buf[i] ^= 0x01;
		if (!(!r->v6 && (i == 1 || i == 8 || i == 10 || i == 11)) &&
		    !(r->v6 && (i <= 3 || i == 7)) &&
		    i != r->bth_off - 2 && i != r->bth_off - 1 &&
		    i != r->bth_off + 4)
			assert_int_not_equal(rcore_icrc_check(buf, r->ip_len),
					     RCORE_OK);
		buf[i] ^= 0x01;
	}
	/* variant fields: TTL / hop limit and ECN may change in flight */
	if (r->v6)
		buf[7] = 1;
	else
		buf[8] = 1;
	buf[r->bth_off + 4] = 0x80;	/* FECN */
	assert_int_equal(rcore_icrc_check(buf, r->ip_len), RCORE_OK);
}

static void check_capture(const char *name, int v6)
{
	char path[512];
	struct pcap_file f;
	struct pcap_roce r;
	uint32_t psn = EMIT_START_PSN;
	size_t got = 0;
	uint32_t step;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", RCORE_TEST_DATA_DIR, name);
	assert_int_equal(pcap_open(&f, path), 0);
	while ((ret = pcap_next_roce(&f, &r)) == 1) {
		if (got >= NR_EXPECTED)
			fail_msg("%s: more packets than posted", name);
		assert_int_equal(r.v6, v6);
		check_one(&r, &expected[got], psn);
		check_corruption(&r);
		/* a read request takes one PSN per response packet */
		step = 1;
		if (expected[got].opcode == RCORE_RC_READ_REQ)
			step = (emit_wr_len[EMIT_READ] + EMIT_MTU - 1) /
			       EMIT_MTU;
		psn = rcore_psn_add(psn, (int32_t)step);
		got++;
	}
	assert_int_equal(ret, 0);
	assert_int_equal(got, NR_EXPECTED);
	pcap_close(&f);
}

static void test_rxe_ipv4(void **state)
{
	check_capture("rxe_rc_ipv4.pcap", 0);
}

static void test_rxe_ipv6(void **state)
{
	check_capture("rxe_rc_ipv6.pcap", 1);
}

/*
 * A capture from the two-guest wire (tests/wire/suite.sh): rodp on 6.1
 * and upstream rxe on 7.2 talking both ways (sends, reads and their
 * responses, atomics, ACKs).  Every packet parses and its ICRC is right.
 */
static void test_wire(void **state)
{
	char path[512];
	struct pcap_file f;
	struct pcap_roce r;
	struct rcore_pkt p;
	size_t got = 0, reads = 0, atomics = 0, acks = 0;
	int ret;

	snprintf(path, sizeof(path), "%s/wire_rodp_rxe.pcap",
		 RCORE_TEST_DATA_DIR);
	assert_int_equal(pcap_open(&f, path), 0);
	while ((ret = pcap_next_roce(&f, &r)) == 1) {
		assert_int_equal(rcore_pkt_parse(r.ip + r.bth_off,
						 r.ip_len - r.bth_off, &p),
				 RCORE_OK);
		assert_int_equal(rcore_icrc_check(r.ip, r.ip_len), RCORE_OK);
		check_corruption(&r);
		if (p.bth.opcode == RCORE_RC_READ_REQ)
			reads++;
		if (p.bth.opcode == RCORE_RC_FETCH_ADD)
			atomics++;
		if (p.bth.opcode == RCORE_RC_ACK)
			acks++;
		got++;
	}
	assert_int_equal(ret, 0);
	assert_int_equal(got, 95);
	assert_int_equal(reads, 5);
	assert_int_equal(atomics, 5);
	assert_true(acks > 0);
	pcap_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rxe_ipv4),
		cmocka_unit_test(test_rxe_ipv6),
		cmocka_unit_test(test_wire),
	};

	return cmocka_run_group_tests_name("rcore rxe captures", tests,
					   NULL, NULL);
}
