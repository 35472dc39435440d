// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * RC transport decisions (rcore/rc.h): sizing helpers, every responder and
 * completer verdict, retry and timer arithmetic, PSN wraparound, and a
 * deterministic simulation in which a requester and a responder built
 * only from these functions move messages over a lossy, reordering,
 * duplicating link.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rcore/rc.h>

#ifdef RCORE_TEST_HAVE_VERBS
#include <infiniband/verbs.h>
#endif

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MTU		256u
#define ALL_ACC		(RCORE_RC_ACC_WRITE | RCORE_RC_ACC_READ | \
			 RCORE_RC_ACC_ATOMIC)

/* ---------------------------------------------------------------------- */
/* Sizing helpers                                                          */
/* ---------------------------------------------------------------------- */

static void test_mtu(void **state)
{
	static const uint32_t bytes[] = { 256, 512, 1024, 2048, 4096 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bytes); i++) {
		assert_int_equal(rcore_mtu_bytes(RCORE_MTU_256 + i), bytes[i]);
		assert_int_equal(rcore_mtu_code(bytes[i]), RCORE_MTU_256 + i);
		assert_int_equal(rcore_mtu_code(bytes[i] + 1),
				 RCORE_MTU_256 + i);
		assert_true(rcore_mtu_valid(bytes[i]));
		assert_false(rcore_mtu_valid(bytes[i] + 1));
		assert_false(rcore_mtu_valid(bytes[i] - 1));
	}
	/* the values of enum ib_mtu / enum ibv_mtu */
	assert_int_equal(RCORE_MTU_256, 1);
	assert_int_equal(RCORE_MTU_4096, 5);
	assert_int_equal(rcore_mtu_bytes(0), 0);
	assert_int_equal(rcore_mtu_bytes(6), 0);
	assert_int_equal(rcore_mtu_code(255), 0);
	assert_int_equal(rcore_mtu_code(0), 0);
	/* Ethernet MTU minus IPv6, UDP, BTH and ICRC */
	assert_int_equal(rcore_mtu_code(1500 - 40 - 8 - 12 - 4),
			 RCORE_MTU_1024);
	assert_int_equal(rcore_mtu_code(9000), RCORE_MTU_4096);
	assert_int_equal(rcore_mtu_code(0xffffffffu), RCORE_MTU_4096);
	assert_false(rcore_mtu_valid(0));
	assert_false(rcore_mtu_valid(128));
	assert_false(rcore_mtu_valid(8192));
	assert_false(rcore_mtu_valid(768));
}

static void test_pkt_count(void **state)
{
	static const uint32_t mtus[] = { 256, 512, 1024, 2048, 4096 };
	uint32_t len, n, i, sum, k;

	assert_int_equal(rcore_rc_pkt_count(0, 256), 1);
	assert_int_equal(rcore_rc_pkt_count(1, 256), 1);
	assert_int_equal(rcore_rc_pkt_count(256, 256), 1);
	assert_int_equal(rcore_rc_pkt_count(257, 256), 2);
	assert_int_equal(rcore_rc_pkt_count(4096, 1024), 4);
	assert_int_equal(rcore_rc_pkt_count(0x80000000u, 256), 0x800000);
	assert_int_equal(rcore_rc_pkt_count(0xffffffffu, 256), 0x1000000);
	assert_int_equal(rcore_rc_pkt_count(100, 0), 0);
	assert_int_equal(rcore_rc_pkt_count(100, 300), 0);
	assert_int_equal(rcore_rc_pkt_payload(100, 300, 0), 0);

	/* payloads add up to the length, all but the last are full */
	for (i = 0; i < ARRAY_SIZE(mtus); i++) {
		for (len = 0; len < 3 * 4096 + 3; len += 1 + len / 7) {
			n = rcore_rc_pkt_count(len, mtus[i]);
			assert_int_equal(n, len ? (len + mtus[i] - 1) / mtus[i]
						: 1);
			sum = 0;
			for (k = 0; k < n; k++) {
				uint32_t p = rcore_rc_pkt_payload(len, mtus[i],
								  k);

				if (k < n - 1)
					assert_int_equal(p, mtus[i]);
				else
					assert_true(p <= mtus[i]);
				if (len && k == n - 1)
					assert_true(p >= 1);
				sum += p;
			}
			assert_int_equal(sum, len);
			assert_int_equal(rcore_rc_pkt_payload(len, mtus[i], n),
					 0);
		}
	}
}

static void test_msg_psns(void **state)
{
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_SEND, 0, MTU), 1);
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_SEND, 513, MTU), 3);
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_WRITE_IMM, 512, MTU),
			 2);
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_READ, 1000, MTU), 4);
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_READ, 0, MTU), 1);
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_FETCH_ADD, 8, MTU), 1);
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_CMP_SWAP, 99999, MTU),
			 1);
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_READ,
					   RCORE_RC_MAX_MSG, MTU), 0x800000);
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_READ,
					   RCORE_RC_MAX_MSG + 1, MTU), 0);
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_COUNT, 8, MTU), 0);
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_SEND, 8, 100), 0);

	assert_false(rcore_rc_msg_is_rd_atomic(RCORE_RC_MSG_SEND));
	assert_false(rcore_rc_msg_is_rd_atomic(RCORE_RC_MSG_SEND_IMM));
	assert_false(rcore_rc_msg_is_rd_atomic(RCORE_RC_MSG_SEND_INV));
	assert_false(rcore_rc_msg_is_rd_atomic(RCORE_RC_MSG_WRITE));
	assert_false(rcore_rc_msg_is_rd_atomic(RCORE_RC_MSG_WRITE_IMM));
	assert_true(rcore_rc_msg_is_rd_atomic(RCORE_RC_MSG_READ));
	assert_true(rcore_rc_msg_is_rd_atomic(RCORE_RC_MSG_CMP_SWAP));
	assert_true(rcore_rc_msg_is_rd_atomic(RCORE_RC_MSG_FETCH_ADD));
}

/* Opcode of the last packet, and the kind, each message kind must use. */
static const struct {
	enum rcore_rc_msg kind;
	uint8_t last;
	uint8_t only;
	uint8_t op_kind;
	uint16_t last_hdr;	/* extension header on the last packet */
} msg_table[] = {
	{ RCORE_RC_MSG_SEND, RCORE_RC_SEND_LAST, RCORE_RC_SEND_ONLY,
	  RCORE_OPK_SEND, 0 },
	{ RCORE_RC_MSG_SEND_IMM, RCORE_RC_SEND_LAST_IMM,
	  RCORE_RC_SEND_ONLY_IMM, RCORE_OPK_SEND, RCORE_HDR_IMMDT },
	{ RCORE_RC_MSG_SEND_INV, RCORE_RC_SEND_LAST_INV,
	  RCORE_RC_SEND_ONLY_INV, RCORE_OPK_SEND, RCORE_HDR_IETH },
	{ RCORE_RC_MSG_WRITE, RCORE_RC_WRITE_LAST, RCORE_RC_WRITE_ONLY,
	  RCORE_OPK_WRITE, 0 },
	{ RCORE_RC_MSG_WRITE_IMM, RCORE_RC_WRITE_LAST_IMM,
	  RCORE_RC_WRITE_ONLY_IMM, RCORE_OPK_WRITE, RCORE_HDR_IMMDT },
};

static void test_req_opcode(void **state)
{
	const struct rcore_opcode_info *info;
	unsigned int i, npk, k;
	int op;

	for (i = 0; i < ARRAY_SIZE(msg_table); i++) {
		for (npk = 1; npk <= 5; npk++) {
			for (k = 0; k < npk; k++) {
				op = rcore_rc_req_opcode(msg_table[i].kind, k,
							 npk);
				assert_true(op >= 0);
				info = rcore_opcode_info((uint8_t)op);
				assert_non_null(info);
				assert_int_equal(rcore_opcode_transport(op),
						 RCORE_TR_RC);
				assert_true(info->flags & RCORE_OPF_REQ);
				assert_int_equal(info->kind,
						 msg_table[i].op_kind);
				/* first/last flags follow the index */
				assert_int_equal(!!(info->flags &
						    RCORE_OPF_FIRST), k == 0);
				assert_int_equal(!!(info->flags &
						    RCORE_OPF_LAST),
						 k == npk - 1);
				assert_int_equal(!!(info->flags &
						    RCORE_OPF_MIDDLE),
						 k > 0 && k < npk - 1);
				/* RETH on the first packet of a write */
				assert_int_equal(!!(info->hdrs &
						    RCORE_HDR_RETH),
						 k == 0 &&
						 msg_table[i].op_kind ==
						 RCORE_OPK_WRITE);
				/* IMM/IETH on the last packet only */
				if (k == npk - 1 && msg_table[i].last_hdr)
					assert_true(info->hdrs &
						    msg_table[i].last_hdr);
				else
					assert_false(info->hdrs &
						     (RCORE_HDR_IMMDT |
						      RCORE_HDR_IETH));
				if (npk == 1)
					assert_int_equal(op,
							 msg_table[i].only);
				else if (k == npk - 1)
					assert_int_equal(op,
							 msg_table[i].last);
			}
			assert_int_equal(rcore_rc_req_opcode(msg_table[i].kind,
							     npk, npk),
					 RCORE_ERR_RANGE);
		}
	}
	assert_int_equal(rcore_rc_req_opcode(RCORE_RC_MSG_READ, 0, 1),
			 RCORE_RC_READ_REQ);
	assert_int_equal(rcore_rc_req_opcode(RCORE_RC_MSG_CMP_SWAP, 0, 1),
			 RCORE_RC_CMP_SWAP);
	assert_int_equal(rcore_rc_req_opcode(RCORE_RC_MSG_FETCH_ADD, 0, 1),
			 RCORE_RC_FETCH_ADD);
	assert_int_equal(rcore_rc_req_opcode(RCORE_RC_MSG_READ, 0, 2),
			 RCORE_ERR_RANGE);
	assert_int_equal(rcore_rc_req_opcode(RCORE_RC_MSG_SEND, 0, 0),
			 RCORE_ERR_RANGE);
	assert_int_equal(rcore_rc_req_opcode(RCORE_RC_MSG_COUNT, 0, 1),
			 RCORE_ERR_OPCODE);
}

static void test_req_seg(void **state)
{
	struct rcore_rc_seg s;
	/* 3 packets from 0xfffffe: the PSNs wrap */
	static const uint32_t psns[] = { 0xfffffe, 0xffffff, 0 };
	static const uint8_t ops[] = {
		RCORE_RC_WRITE_FIRST, RCORE_RC_WRITE_MIDDLE,
		RCORE_RC_WRITE_LAST_IMM,
	};
	unsigned int k;

	for (k = 0; k < 3; k++) {
		assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_WRITE_IMM, 600,
						  MTU, 0xfffffe, k, &s),
				 RCORE_OK);
		assert_int_equal(s.psn, psns[k]);
		assert_int_equal(s.opcode, ops[k]);
		assert_int_equal(s.offset, k * MTU);
		assert_int_equal(s.len, k < 2 ? MTU : 600 - 2 * MTU);
		assert_int_equal(s.first, k == 0);
		assert_int_equal(s.last, k == 2);
		assert_int_equal(s.ackreq, k == 2);
	}
	assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_WRITE_IMM, 600, MTU,
					  0xfffffe, 3, &s), RCORE_ERR_RANGE);

	/* zero-length send: one ONLY packet */
	assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_SEND, 0, MTU, 7, 0, &s),
			 RCORE_OK);
	assert_int_equal(s.opcode, RCORE_RC_SEND_ONLY);
	assert_int_equal(s.len, 0);
	assert_true(s.first && s.last && s.ackreq);

	/* a read, whole and restarted at its third response */
	assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_READ, 1000, MTU,
					  0xffffff, 0, &s), RCORE_OK);
	assert_int_equal(s.opcode, RCORE_RC_READ_REQ);
	assert_int_equal(s.psn, 0xffffff);
	assert_int_equal(s.offset, 0);
	assert_int_equal(s.len, 1000);
	assert_true(s.first && s.last && s.ackreq);
	assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_READ, 1000, MTU,
					  0xffffff, 2, &s), RCORE_OK);
	assert_int_equal(s.opcode, RCORE_RC_READ_REQ);
	assert_int_equal(s.psn, 1);
	assert_int_equal(s.offset, 512);
	assert_int_equal(s.len, 1000 - 512);
	assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_READ, 1000, MTU,
					  0xffffff, 4, &s), RCORE_ERR_RANGE);

	/* atomics: one packet, no payload */
	assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_FETCH_ADD, 8, MTU,
					  0xffffff, 0, &s), RCORE_OK);
	assert_int_equal(s.opcode, RCORE_RC_FETCH_ADD);
	assert_int_equal(s.psn, 0xffffff);
	assert_int_equal(s.len, 0);
	assert_true(s.ackreq);
	assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_CMP_SWAP, 8, MTU,
					  0, 1, &s), RCORE_ERR_RANGE);

	assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_COUNT, 8, MTU, 0, 0,
					  &s), RCORE_ERR_OPCODE);
	assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_SEND, 8, 1000, 0, 0,
					  &s), RCORE_ERR_RANGE);
	assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_WRITE,
					  RCORE_RC_MAX_MSG + 1, MTU, 0, 0, &s),
			 RCORE_ERR_RANGE);
}

static void test_read_resp_seg(void **state)
{
	static const uint8_t ops4[] = {
		RCORE_RC_READ_RESP_FIRST, RCORE_RC_READ_RESP_MIDDLE,
		RCORE_RC_READ_RESP_MIDDLE, RCORE_RC_READ_RESP_LAST,
	};
	struct rcore_rc_seg s;
	unsigned int k;

	for (k = 0; k < 4; k++) {
		assert_int_equal(rcore_rc_read_resp_seg(1000, MTU, 0xfffffe, k,
							&s), RCORE_OK);
		assert_int_equal(s.opcode, ops4[k]);
		assert_int_equal(s.psn, (0xfffffe + k) & 0xffffff);
		assert_int_equal(s.offset, k * MTU);
		assert_int_equal(s.len, k < 3 ? MTU : 1000 - 3 * MTU);
		assert_false(s.ackreq);
		assert_int_equal(s.first, k == 0);
		assert_int_equal(s.last, k == 3);
	}
	assert_int_equal(rcore_rc_read_resp_seg(1000, MTU, 0, 4, &s),
			 RCORE_ERR_RANGE);
	assert_int_equal(rcore_rc_read_resp_seg(0, MTU, 0xffffff, 0, &s),
			 RCORE_OK);
	assert_int_equal(s.opcode, RCORE_RC_READ_RESP_ONLY);
	assert_int_equal(s.len, 0);
	assert_int_equal(rcore_rc_read_resp_seg(512, MTU, 5, 1, &s), RCORE_OK);
	assert_int_equal(s.opcode, RCORE_RC_READ_RESP_LAST);
	assert_int_equal(s.len, MTU);
	assert_int_equal(rcore_rc_read_resp_seg(512, 0, 5, 0, &s),
			 RCORE_ERR_RANGE);
	assert_int_equal(rcore_rc_read_resp_seg(RCORE_RC_MAX_MSG + 1, MTU, 5,
						0, &s), RCORE_ERR_RANGE);
}

/* ---------------------------------------------------------------------- */
/* Status values, timers, credits                                          */
/* ---------------------------------------------------------------------- */

static void test_wc_status(void **state)
{
	/* IBA / ib_verbs.h / verbs.h numbering */
	assert_int_equal(RCORE_WC_SUCCESS, 0);
	assert_int_equal(RCORE_WC_LOC_LEN_ERR, 1);
	assert_int_equal(RCORE_WC_LOC_QP_OP_ERR, 2);
	assert_int_equal(RCORE_WC_LOC_PROT_ERR, 4);
	assert_int_equal(RCORE_WC_WR_FLUSH_ERR, 5);
	assert_int_equal(RCORE_WC_BAD_RESP_ERR, 7);
	assert_int_equal(RCORE_WC_LOC_ACCESS_ERR, 8);
	assert_int_equal(RCORE_WC_REM_INV_REQ_ERR, 9);
	assert_int_equal(RCORE_WC_REM_ACCESS_ERR, 10);
	assert_int_equal(RCORE_WC_REM_OP_ERR, 11);
	assert_int_equal(RCORE_WC_RETRY_EXC_ERR, 12);
	assert_int_equal(RCORE_WC_RNR_RETRY_EXC_ERR, 13);
	assert_int_equal(RCORE_WC_REM_INV_RD_REQ_ERR, 15);
	assert_int_equal(RCORE_WC_FATAL_ERR, 19);
	assert_int_equal(RCORE_WC_GENERAL_ERR, 21);
#ifdef RCORE_TEST_HAVE_VERBS
	assert_int_equal(RCORE_WC_SUCCESS, IBV_WC_SUCCESS);
	assert_int_equal(RCORE_WC_LOC_LEN_ERR, IBV_WC_LOC_LEN_ERR);
	assert_int_equal(RCORE_WC_LOC_QP_OP_ERR, IBV_WC_LOC_QP_OP_ERR);
	assert_int_equal(RCORE_WC_LOC_PROT_ERR, IBV_WC_LOC_PROT_ERR);
	assert_int_equal(RCORE_WC_WR_FLUSH_ERR, IBV_WC_WR_FLUSH_ERR);
	assert_int_equal(RCORE_WC_BAD_RESP_ERR, IBV_WC_BAD_RESP_ERR);
	assert_int_equal(RCORE_WC_LOC_ACCESS_ERR, IBV_WC_LOC_ACCESS_ERR);
	assert_int_equal(RCORE_WC_REM_INV_REQ_ERR, IBV_WC_REM_INV_REQ_ERR);
	assert_int_equal(RCORE_WC_REM_ACCESS_ERR, IBV_WC_REM_ACCESS_ERR);
	assert_int_equal(RCORE_WC_REM_OP_ERR, IBV_WC_REM_OP_ERR);
	assert_int_equal(RCORE_WC_RETRY_EXC_ERR, IBV_WC_RETRY_EXC_ERR);
	assert_int_equal(RCORE_WC_RNR_RETRY_EXC_ERR, IBV_WC_RNR_RETRY_EXC_ERR);
	assert_int_equal(RCORE_WC_REM_INV_RD_REQ_ERR,
			 IBV_WC_REM_INV_RD_REQ_ERR);
	assert_int_equal(RCORE_WC_FATAL_ERR, IBV_WC_FATAL_ERR);
	assert_int_equal(RCORE_WC_GENERAL_ERR, IBV_WC_GENERAL_ERR);
	assert_int_equal(RCORE_MTU_256, IBV_MTU_256);
	assert_int_equal(RCORE_MTU_4096, IBV_MTU_4096);
#endif

	assert_int_equal(rcore_rc_nak_status(RCORE_NAK_PSN_SEQ_ERR),
			 RCORE_WC_SUCCESS);
	assert_int_equal(rcore_rc_nak_status(RCORE_NAK_INVALID_REQ),
			 RCORE_WC_REM_INV_REQ_ERR);
	assert_int_equal(rcore_rc_nak_status(RCORE_NAK_REMOTE_ACCESS_ERR),
			 RCORE_WC_REM_ACCESS_ERR);
	assert_int_equal(rcore_rc_nak_status(RCORE_NAK_REMOTE_OP_ERR),
			 RCORE_WC_REM_OP_ERR);
	assert_int_equal(rcore_rc_nak_status(RCORE_NAK_INVALID_RD_REQ),
			 RCORE_WC_REM_INV_RD_REQ_ERR);
	assert_int_equal(rcore_rc_nak_status(5), RCORE_WC_REM_OP_ERR);
	assert_int_equal(rcore_rc_nak_status(31), RCORE_WC_REM_OP_ERR);
}

static void test_timers(void **state)
{
	uint8_t c;

	assert_true(rcore_rc_ack_timeout_ns(0) == 0);
	assert_true(rcore_rc_ack_timeout_ns(1) == 8192);
	/* 4.096 us * 2^14 = 67.108864 ms, perftest's default */
	assert_true(rcore_rc_ack_timeout_ns(14) == 67108864ull);
	assert_true(rcore_rc_ack_timeout_ns(31) == 4096ull << 31);
	assert_true(rcore_rc_ack_timeout_ns(32) == 0);
	assert_true(rcore_rc_ack_timeout_ns(33) == 8192);
	for (c = 1; c < 31; c++)
		assert_true(rcore_rc_ack_timeout_ns(c + 1) ==
			    2 * rcore_rc_ack_timeout_ns(c));

	/* RNR code <-> microseconds round trips */
	for (c = 1; c < 32; c++) {
		uint32_t us = rcore_rnr_timer_usec(c);

		assert_int_equal(rcore_rc_rnr_code(us), c);
		/* the table grows in steps of at least 10 us */
		assert_int_equal(rcore_rc_rnr_code(us - 1), c);
		assert_int_equal(rcore_rc_rnr_code(us + 1),
				 c == 31 ? 0 : c + 1);
	}
	assert_int_equal(rcore_rc_rnr_code(0), 1);
	assert_int_equal(rcore_rc_rnr_code(655360), 0);
	assert_int_equal(rcore_rc_rnr_code(0xffffffffu), 0);
	assert_int_equal(rcore_rnr_timer_usec(rcore_rc_rnr_code(100)), 120);
}

static void test_credit_code(void **state)
{
	assert_int_equal(rcore_rc_credit_code(0, true), 0x1f);
	assert_int_equal(rcore_rc_credit_code(1000, true), 0x1f);
	assert_int_equal(rcore_rc_credit_code(0, false), 0);
	assert_int_equal(rcore_rc_credit_code(5, false),
			 rcore_aeth_credit_code(5));
	assert_int_equal(rcore_aeth_credits(rcore_rc_credit_code(5, false)),
			 4);
	assert_int_equal(rcore_rc_credit_code(100000, false), 30);
}

/* ---------------------------------------------------------------------- */
/* Responder                                                               */
/* ---------------------------------------------------------------------- */

static struct rcore_pkt mkpkt(uint8_t opcode, uint32_t psn, uint32_t payload)
{
	struct rcore_pkt p;

	memset(&p, 0, sizeof(p));
	p.info = rcore_opcode_info(opcode);
	p.bth.opcode = opcode;
	p.bth.psn = psn;
	p.payload_len = payload;
	return p;
}

static struct rcore_pkt mkreth(uint8_t opcode, uint32_t psn, uint32_t payload,
			       uint32_t reth_len)
{
	struct rcore_pkt p = mkpkt(opcode, psn, payload);

	p.reth.va = 0x10000;
	p.reth.rkey = 0x1234;
	p.reth.len = reth_len;
	return p;
}

static struct rcore_pkt mkatomic(uint8_t opcode, uint32_t psn, uint64_t va)
{
	struct rcore_pkt p = mkpkt(opcode, psn, 0);

	p.atmeth.va = va;
	return p;
}

static void resp_init(struct rcore_rc_resp_state *st, uint32_t epsn,
		      uint32_t ack_every)
{
	assert_int_equal(rcore_rc_resp_init(st, epsn, MTU, ALL_ACC, ack_every),
			 RCORE_OK);
}

/* check, expect EXECUTE, execute; return the verdict's flags */
static unsigned int resp_exec(struct rcore_rc_resp_state *st,
			      const struct rcore_pkt *p)
{
	struct rcore_rc_resp_verdict v;

	rcore_rc_resp_check(st, p, &v);
	if (v.action != RCORE_RC_RESP_EXECUTE)
		fail_msg("opcode %#x psn %#x: action %d why %d",
			 p->bth.opcode, p->bth.psn, v.action, v.why);
	assert_int_equal(v.why, RCORE_RC_WHY_NONE);
	assert_int_equal(v.dup, RCORE_RC_DUP_NONE);
	rcore_rc_resp_executed(st, p, &v);
	return v.flags;
}

static void test_resp_init(void **state)
{
	struct rcore_rc_resp_state st;

	memset(&st, 0xa5, sizeof(st));
	assert_int_equal(rcore_rc_resp_init(&st, 5, 300, 0, 0),
			 RCORE_ERR_RANGE);
	assert_int_equal(rcore_rc_resp_init(&st, 0x1000000, MTU, 0, 0),
			 RCORE_ERR_RANGE);
	assert_int_equal(st.epsn, 0xa5a5a5a5);
	assert_int_equal(rcore_rc_resp_init(&st, 0, MTU, 0xff, 4), RCORE_OK);
	assert_int_equal(st.epsn, 0);
	assert_int_equal(st.ack_psn, 0xffffff);
	assert_int_equal(st.msn, 0);
	assert_int_equal(st.access, RCORE_RC_ACC_ALL);
	assert_int_equal(st.ack_every, 4);
	assert_false(st.in_msg);
	assert_false(st.nak_sent);
}

static void test_resp_execute_send(void **state)
{
	struct rcore_rc_resp_state st;
	struct rcore_rc_resp_verdict v;
	struct rcore_rc_ack ack;
	struct rcore_pkt p;

	resp_init(&st, 100, 0);

	p = mkpkt(RCORE_RC_SEND_ONLY, 100, 10);
	assert_int_equal(resp_exec(&st, &p),
			 RCORE_RC_F_FIRST | RCORE_RC_F_LAST | RCORE_RC_F_SEND |
			 RCORE_RC_F_NEED_WQE | RCORE_RC_F_RECV_DONE |
			 RCORE_RC_F_ACK_NOW);
	assert_int_equal(st.epsn, 101);
	assert_int_equal(st.msn, 1);
	assert_int_equal(st.ack_psn, 100);

	p = mkpkt(RCORE_RC_SEND_FIRST, 101, MTU);
	assert_int_equal(resp_exec(&st, &p),
			 RCORE_RC_F_FIRST | RCORE_RC_F_SEND |
			 RCORE_RC_F_NEED_WQE);
	assert_true(st.in_msg);
	assert_int_equal(st.cur_op, RCORE_RC_SEND_FIRST);
	assert_int_equal(st.msn, 1);

	p = mkpkt(RCORE_RC_SEND_MIDDLE, 102, MTU);
	assert_int_equal(resp_exec(&st, &p),
			 RCORE_RC_F_MIDDLE | RCORE_RC_F_SEND);
	assert_int_equal(st.cur_op, RCORE_RC_SEND_MIDDLE);

	/* AckReq on a middle packet asks for an ACK now */
	p = mkpkt(RCORE_RC_SEND_MIDDLE, 103, MTU);
	p.bth.ackreq = true;
	assert_int_equal(resp_exec(&st, &p),
			 RCORE_RC_F_MIDDLE | RCORE_RC_F_SEND |
			 RCORE_RC_F_ACK_NOW);
	rcore_rc_resp_ack(&st, 7, &ack);
	assert_int_equal(ack.psn, 103);
	assert_int_equal(ack.aeth.syndrome, rcore_aeth_ack(7));
	assert_int_equal(ack.aeth.msn, 1);

	p = mkpkt(RCORE_RC_SEND_LAST_IMM, 104, 1);
	assert_int_equal(resp_exec(&st, &p),
			 RCORE_RC_F_LAST | RCORE_RC_F_SEND | RCORE_RC_F_IMM |
			 RCORE_RC_F_RECV_DONE | RCORE_RC_F_ACK_NOW);
	assert_false(st.in_msg);
	assert_int_equal(st.msn, 2);
	assert_int_equal(st.epsn, 105);

	p = mkpkt(RCORE_RC_SEND_ONLY_INV, 105, 0);
	assert_int_equal(resp_exec(&st, &p),
			 RCORE_RC_F_FIRST | RCORE_RC_F_LAST | RCORE_RC_F_SEND |
			 RCORE_RC_F_INV | RCORE_RC_F_NEED_WQE |
			 RCORE_RC_F_RECV_DONE | RCORE_RC_F_ACK_NOW);
	p = mkpkt(RCORE_RC_SEND_ONLY_IMM, 106, MTU);
	assert_true(resp_exec(&st, &p) & RCORE_RC_F_IMM);
	p = mkpkt(RCORE_RC_SEND_FIRST, 107, MTU);
	resp_exec(&st, &p);
	p = mkpkt(RCORE_RC_SEND_LAST_INV, 108, MTU);
	assert_int_equal(resp_exec(&st, &p),
			 RCORE_RC_F_LAST | RCORE_RC_F_SEND | RCORE_RC_F_INV |
			 RCORE_RC_F_RECV_DONE | RCORE_RC_F_ACK_NOW);
	p = mkpkt(RCORE_RC_SEND_FIRST, 109, MTU);
	resp_exec(&st, &p);
	/* a LAST may be empty-handed in a send (the parser allows it) */
	p = mkpkt(RCORE_RC_SEND_LAST, 110, 0);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_EXECUTE);
	rcore_rc_resp_executed(&st, &p, &v);
	assert_int_equal(st.msn, 6);
	assert_int_equal(st.epsn, 111);
}

static void test_resp_execute_write(void **state)
{
	struct rcore_rc_resp_state st;
	struct rcore_pkt p;

	resp_init(&st, 0, 0);
	p = mkreth(RCORE_RC_WRITE_FIRST, 0, MTU, 600);
	assert_int_equal(resp_exec(&st, &p),
			 RCORE_RC_F_FIRST | RCORE_RC_F_WRITE);
	assert_true(st.in_msg);
	assert_int_equal(st.resid, 600 - MTU);
	p = mkpkt(RCORE_RC_WRITE_MIDDLE, 1, MTU);
	assert_int_equal(resp_exec(&st, &p),
			 RCORE_RC_F_MIDDLE | RCORE_RC_F_WRITE);
	assert_int_equal(st.resid, 600 - 2 * MTU);
	p = mkpkt(RCORE_RC_WRITE_LAST_IMM, 2, 600 - 2 * MTU);
	assert_int_equal(resp_exec(&st, &p),
			 RCORE_RC_F_LAST | RCORE_RC_F_WRITE | RCORE_RC_F_IMM |
			 RCORE_RC_F_NEED_WQE | RCORE_RC_F_RECV_DONE |
			 RCORE_RC_F_ACK_NOW);
	assert_false(st.in_msg);
	assert_int_equal(st.resid, 0);
	assert_int_equal(st.msn, 1);

	p = mkreth(RCORE_RC_WRITE_ONLY, 3, 0, 0);
	assert_int_equal(resp_exec(&st, &p),
			 RCORE_RC_F_FIRST | RCORE_RC_F_LAST | RCORE_RC_F_WRITE |
			 RCORE_RC_F_ACK_NOW);
	p = mkreth(RCORE_RC_WRITE_ONLY_IMM, 4, MTU, MTU);
	assert_int_equal(resp_exec(&st, &p),
			 RCORE_RC_F_FIRST | RCORE_RC_F_LAST | RCORE_RC_F_WRITE |
			 RCORE_RC_F_IMM | RCORE_RC_F_NEED_WQE |
			 RCORE_RC_F_RECV_DONE | RCORE_RC_F_ACK_NOW);
	p = mkreth(RCORE_RC_WRITE_FIRST, 5, MTU, 2 * MTU);
	resp_exec(&st, &p);
	p = mkpkt(RCORE_RC_WRITE_LAST, 6, MTU);
	assert_int_equal(resp_exec(&st, &p),
			 RCORE_RC_F_LAST | RCORE_RC_F_WRITE |
			 RCORE_RC_F_ACK_NOW);
	assert_int_equal(st.msn, 4);
	assert_int_equal(st.epsn, 7);
}

static void test_resp_execute_read_atomic(void **state)
{
	struct rcore_rc_resp_state st;
	struct rcore_rc_resp_verdict v;
	struct rcore_pkt p;

	resp_init(&st, 0xfffffe, 1);
	/* a read of 4 responses takes 4 PSNs, across the wrap */
	p = mkreth(RCORE_RC_READ_REQ, 0xfffffe, 0, 1000);
	p.bth.ackreq = true;
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_EXECUTE);
	/* no ACK for a read, even with AckReq and ack_every 1 */
	assert_int_equal(v.flags, RCORE_RC_F_FIRST | RCORE_RC_F_LAST |
			 RCORE_RC_F_READ);
	assert_int_equal(v.npsn, 4);
	assert_int_equal(v.resp_psn, 0xfffffe);
	rcore_rc_resp_executed(&st, &p, &v);
	assert_int_equal(st.epsn, 2);
	assert_int_equal(st.msn, 1);
	/* the coalesced ACK still names the last send/write */
	assert_int_equal(st.ack_psn, 0xfffffd);

	p = mkreth(RCORE_RC_READ_REQ, 2, 0, 0);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.npsn, 1);
	rcore_rc_resp_executed(&st, &p, &v);
	assert_int_equal(st.epsn, 3);

	p = mkatomic(RCORE_RC_CMP_SWAP, 3, 0x1000);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_EXECUTE);
	assert_int_equal(v.flags, RCORE_RC_F_FIRST | RCORE_RC_F_LAST |
			 RCORE_RC_F_ATOMIC);
	assert_int_equal(v.npsn, 1);
	assert_int_equal(v.resp_psn, 3);
	rcore_rc_resp_executed(&st, &p, &v);
	p = mkatomic(RCORE_RC_FETCH_ADD, 4, 0x1008);
	assert_int_equal(resp_exec(&st, &p), RCORE_RC_F_FIRST |
			 RCORE_RC_F_LAST | RCORE_RC_F_ATOMIC);
	assert_int_equal(st.epsn, 5);
	assert_int_equal(st.msn, 4);

	/* a verdict other than EXECUTE changes nothing */
	p = mkpkt(RCORE_RC_SEND_ONLY, 9, 0);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_NAK_SEQ);
	rcore_rc_resp_executed(&st, &p, &v);
	assert_int_equal(st.epsn, 5);
	assert_int_equal(st.msn, 4);
}

static void test_resp_duplicates(void **state)
{
	struct rcore_rc_resp_state st, before;
	struct rcore_rc_resp_verdict v;
	struct rcore_pkt p;

	/* 100 SEND_ONLY, 101-103 SEND, 104-107 READ, 108 FETCH_ADD */
	resp_init(&st, 100, 0);
	p = mkpkt(RCORE_RC_SEND_ONLY, 100, 3);
	resp_exec(&st, &p);
	p = mkpkt(RCORE_RC_SEND_FIRST, 101, MTU);
	resp_exec(&st, &p);
	p = mkpkt(RCORE_RC_SEND_MIDDLE, 102, MTU);
	resp_exec(&st, &p);
	p = mkpkt(RCORE_RC_SEND_LAST, 103, 5);
	resp_exec(&st, &p);
	p = mkreth(RCORE_RC_READ_REQ, 104, 0, 1000);
	resp_exec(&st, &p);
	p = mkatomic(RCORE_RC_FETCH_ADD, 108, 0x2000);
	resp_exec(&st, &p);
	assert_int_equal(st.epsn, 109);
	assert_int_equal(st.msn, 4);
	memcpy(&before, &st, sizeof(st));

	/* send/write: ACK again at the duplicate's own PSN */
	p = mkpkt(RCORE_RC_SEND_ONLY, 100, 3);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_DUPLICATE);
	assert_int_equal(v.dup, RCORE_RC_DUP_ACK);
	assert_int_equal(v.ack.psn, 100);
	assert_int_equal(rcore_aeth_syn_type(v.ack.aeth.syndrome),
			 RCORE_AETH_ACK);
	assert_int_equal(rcore_aeth_syn_value(v.ack.aeth.syndrome),
			 RCORE_AETH_CREDIT_INVALID);
	assert_int_equal(v.ack.aeth.msn, 4);
	p = mkpkt(RCORE_RC_SEND_LAST, 103, 5);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.dup, RCORE_RC_DUP_ACK);
	assert_int_equal(v.ack.psn, 103);

	/* a duplicate middle packet is only answered when it asks */
	p = mkpkt(RCORE_RC_SEND_MIDDLE, 102, MTU);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_DROP);
	assert_int_equal(v.why, RCORE_RC_WHY_DUP_NO_ACK);
	p.bth.ackreq = true;
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_DUPLICATE);
	assert_int_equal(v.dup, RCORE_RC_DUP_ACK);
	assert_int_equal(v.ack.psn, 102);

	/* a read is executed again, whole or from the middle */
	p = mkreth(RCORE_RC_READ_REQ, 104, 0, 1000);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_DUPLICATE);
	assert_int_equal(v.dup, RCORE_RC_DUP_READ);
	assert_int_equal(v.npsn, 4);
	assert_int_equal(v.resp_psn, 104);
	p = mkreth(RCORE_RC_READ_REQ, 106, 0, 1000 - 2 * MTU);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.dup, RCORE_RC_DUP_READ);
	assert_int_equal(v.npsn, 2);
	assert_int_equal(v.resp_psn, 106);
	/* ... but not past the PSNs the responder has passed */
	p = mkreth(RCORE_RC_READ_REQ, 106, 0, 1000);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_DROP);
	assert_int_equal(v.why, RCORE_RC_WHY_DUP_BAD);
	p = mkreth(RCORE_RC_READ_REQ, 106, 0, RCORE_RC_MAX_MSG + 1);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.why, RCORE_RC_WHY_DUP_BAD);
	st.access = RCORE_RC_ACC_WRITE;
	p = mkreth(RCORE_RC_READ_REQ, 104, 0, 1000);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_DROP);
	assert_int_equal(v.why, RCORE_RC_WHY_DUP_BAD);
	st.access = ALL_ACC;

	/* an atomic is answered from the saved result */
	p = mkatomic(RCORE_RC_FETCH_ADD, 108, 0x2000);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_DUPLICATE);
	assert_int_equal(v.dup, RCORE_RC_DUP_ATOMIC);
	assert_int_equal(v.resp_psn, 108);

	/* the oldest PSN still counted as a duplicate: 2^23 behind */
	p = mkpkt(RCORE_RC_SEND_ONLY, (109 - 0x800000) & 0xffffff, 0);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_DUPLICATE);
	p = mkpkt(RCORE_RC_SEND_ONLY, (109 - 0x800000 - 1) & 0xffffff, 0);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_NAK_SEQ);

	/* checking never changes the state */
	assert_memory_equal(&st, &before, sizeof(st));
}

static void test_resp_out_of_sequence(void **state)
{
	struct rcore_rc_resp_state st;
	struct rcore_rc_resp_verdict v;
	struct rcore_rc_ack ack;
	struct rcore_pkt p;

	resp_init(&st, 0xffffff, 0);
	st.msn = 0x42;

	/* ePSN 0xffffff, 1 arrives: NAK once, at ePSN */
	p = mkpkt(RCORE_RC_SEND_ONLY, 1, 0);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_NAK_SEQ);
	assert_int_equal(v.ack.psn, 0xffffff);
	assert_int_equal(v.ack.aeth.syndrome,
			 rcore_aeth_nak(RCORE_NAK_PSN_SEQ_ERR));
	assert_int_equal(v.ack.aeth.msn, 0x42);
	rcore_rc_resp_nakked(&st);
	assert_true(st.nak_sent);

	/* then drop silently */
	p = mkpkt(RCORE_RC_SEND_ONLY, 0, 0);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_DROP);
	assert_int_equal(v.why, RCORE_RC_WHY_NAK_SENT);
	/* duplicates are still answered */
	p = mkpkt(RCORE_RC_SEND_ONLY, 0xfffffe, 0);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_DUPLICATE);

	/* the expected packet clears the latch */
	p = mkpkt(RCORE_RC_SEND_ONLY, 0xffffff, 0);
	resp_exec(&st, &p);
	assert_false(st.nak_sent);
	assert_int_equal(st.epsn, 0);
	p = mkpkt(RCORE_RC_SEND_ONLY, 2, 0);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_NAK_SEQ);
	assert_int_equal(v.ack.psn, 0);

	/* the farthest PSN ahead still counted out of sequence */
	p = mkpkt(RCORE_RC_SEND_ONLY, 0x7fffff, 0);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_NAK_SEQ);

	/* an RNR NAK latches too: what follows it is dropped */
	rcore_rc_resp_nak(&st, 0, rcore_aeth_rnr_nak(14), &ack);
	assert_int_equal(ack.psn, 0);
	assert_int_equal(ack.aeth.syndrome, rcore_aeth_rnr_nak(14));
	assert_int_equal(ack.aeth.msn, 0x43);
	rcore_rc_resp_nakked(&st);
	p = mkpkt(RCORE_RC_SEND_ONLY, 1, 0);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_DROP);
	assert_int_equal(v.why, RCORE_RC_WHY_NAK_SENT);
}

static void test_resp_not_request(void **state)
{
	static const uint8_t ops[] = {
		RCORE_RC_ACK, RCORE_RC_ATOMIC_ACK, RCORE_RC_READ_RESP_FIRST,
		RCORE_RC_READ_RESP_ONLY, RCORE_UC_SEND_ONLY,
		RCORE_UC_WRITE_FIRST, RCORE_UD_SEND_ONLY, 0x4c, RCORE_CNP,
		0x35, 0xff,
	};
	static const uint8_t reserved[] = {
		0x15, 0x18, 0x19, 0x1a, 0x1b, 0x1e, 0x1f,
	};
	struct rcore_rc_resp_state st;
	struct rcore_rc_resp_verdict v;
	struct rcore_pkt p;
	unsigned int i;

	resp_init(&st, 10, 0);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		/* in sequence, duplicate or ahead: never looked at */
		p = mkpkt(ops[i], 10 + (i % 3) - 1, 0);
		rcore_rc_resp_check(&st, &p, &v);
		assert_int_equal(v.action, RCORE_RC_RESP_DROP);
		assert_int_equal(v.why, RCORE_RC_WHY_NOT_RC_REQ);
	}
	/* a reserved RC opcode: an invalid request when it is its turn */
	for (i = 0; i < ARRAY_SIZE(reserved); i++) {
		p = mkpkt(reserved[i], 10, 0);
		rcore_rc_resp_check(&st, &p, &v);
		assert_int_equal(v.action, RCORE_RC_RESP_NAK_INVALID);
		assert_int_equal(v.why, RCORE_RC_WHY_OPCODE);
		assert_int_equal(v.ack.psn, 10);
		assert_int_equal(v.ack.aeth.syndrome,
				 rcore_aeth_nak(RCORE_NAK_INVALID_REQ));
		p.bth.psn = 9;
		rcore_rc_resp_check(&st, &p, &v);
		assert_int_equal(v.action, RCORE_RC_RESP_DROP);
		assert_int_equal(v.why, RCORE_RC_WHY_DUP_BAD);
		p.bth.psn = 11;
		rcore_rc_resp_check(&st, &p, &v);
		assert_int_equal(v.action, RCORE_RC_RESP_NAK_SEQ);
	}
}

/*
 * ATOMIC WRITE: one packet of 8 bytes at an aligned address with remote
 * write access (else an invalid request), answered like a read of length
 * zero (no coalesced ACK for it); a duplicate is answered again, never
 * stored again.
 */
static void test_resp_atomic_write(void **state)
{
	struct rcore_rc_resp_state st;
	struct rcore_rc_resp_verdict v;
	struct rcore_rc_seg seg;
	struct rcore_pkt p;
	static const struct {
		uint32_t pay, len;
		uint64_t va;
		uint8_t access;
		enum rcore_rc_why why;
	} bad[] = {
		{ 4, 4, 0x10000, ALL_ACC, RCORE_RC_WHY_LENGTH },
		{ 16, 16, 0x10000, ALL_ACC, RCORE_RC_WHY_LENGTH },
		{ 8, 16, 0x10000, ALL_ACC, RCORE_RC_WHY_LENGTH },
		{ 0, 8, 0x10000, ALL_ACC, RCORE_RC_WHY_LENGTH },
		{ 8, 8, 0x10004, ALL_ACC, RCORE_RC_WHY_ALIGN },
		{ 8, 8, 0x10000, RCORE_RC_ACC_READ | RCORE_RC_ACC_ATOMIC,
		  RCORE_RC_WHY_ACCESS },
	};
	unsigned int i, f;

	/* the requester: one packet of 8 bytes, AckReq, with the reads */
	assert_true(rcore_rc_msg_is_rd_atomic(RCORE_RC_MSG_ATOMIC_WRITE));
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_ATOMIC_WRITE, 8, MTU),
			 1);
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_ATOMIC_WRITE, 16,
					   MTU), 0);
	assert_int_equal(rcore_rc_req_opcode(RCORE_RC_MSG_ATOMIC_WRITE, 0, 1),
			 RCORE_RC_ATOMIC_WRITE);
	assert_int_equal(rcore_rc_req_opcode(RCORE_RC_MSG_ATOMIC_WRITE, 0, 2),
			 RCORE_ERR_RANGE);
	assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_ATOMIC_WRITE, 8, MTU,
					  0xffffff, 0, &seg), RCORE_OK);
	assert_int_equal(seg.opcode, RCORE_RC_ATOMIC_WRITE);
	assert_int_equal(seg.psn, 0xffffff);
	assert_int_equal(seg.len, 8);
	assert_true(seg.first && seg.last && seg.ackreq);
	assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_ATOMIC_WRITE, 9, MTU,
					  0, 0, &seg), RCORE_ERR_RANGE);

	/* executed, then answered at its PSN */
	resp_init(&st, 10, 0);
	p = mkreth(RCORE_RC_ATOMIC_WRITE, 10, 8, 8);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_EXECUTE);
	f = v.flags;
	assert_true(f & RCORE_RC_F_ATOMIC_WRITE);
	assert_int_equal(f & (RCORE_RC_F_FIRST | RCORE_RC_F_LAST),
			 RCORE_RC_F_FIRST | RCORE_RC_F_LAST);
	assert_false(f & (RCORE_RC_F_WRITE | RCORE_RC_F_ATOMIC |
			  RCORE_RC_F_READ | RCORE_RC_F_NEED_WQE |
			  RCORE_RC_F_RECV_DONE | RCORE_RC_F_ACK_NOW));
	assert_int_equal(v.npsn, 1);
	assert_int_equal(v.resp_psn, 10);
	rcore_rc_resp_executed(&st, &p, &v);
	assert_int_equal(st.epsn, 11);
	assert_int_equal(st.ack_psn, 9);	/* no WRITE executed */
	assert_int_equal(st.msn, 1);
	assert_false(st.in_msg);

	/* its retry: answered again, not stored again */
	p.bth.ackreq = false;
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_DUPLICATE);
	assert_int_equal(v.dup, RCORE_RC_DUP_ATOMIC_WRITE);
	assert_int_equal(v.resp_psn, 10);
	assert_int_equal(v.npsn, 1);

	/* not between the packets of a WRITE */
	p = mkreth(RCORE_RC_WRITE_FIRST, 11, MTU, 2 * MTU);
	resp_exec(&st, &p);
	p = mkreth(RCORE_RC_ATOMIC_WRITE, 12, 8, 8);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_NAK_INVALID);
	assert_int_equal(v.why, RCORE_RC_WHY_NO_LAST);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(rcore_rc_resp_init(&st, 20, MTU,
						    bad[i].access, 0),
				 RCORE_OK);
		p = mkreth(RCORE_RC_ATOMIC_WRITE, 20, bad[i].pay, bad[i].len);
		p.reth.va = bad[i].va;
		rcore_rc_resp_check(&st, &p, &v);
		assert_int_equal(v.action, RCORE_RC_RESP_NAK_INVALID);
		assert_int_equal(v.why, bad[i].why);
		assert_int_equal(v.ack.aeth.syndrome,
				 rcore_aeth_nak(RCORE_NAK_INVALID_REQ));
	}
}

static struct rcore_pkt mkflush(uint32_t psn, uint8_t plt, uint8_t sel,
			       uint32_t len)
{
	struct rcore_pkt p = mkreth(RCORE_RC_FLUSH, psn, 0, len);

	p.feth.plt = plt;
	p.feth.sel = sel;
	return p;
}

static void test_resp_flush(void **state)
{
	const unsigned int acc = RCORE_RC_ACC_WRITE | RCORE_RC_ACC_FLUSH_GLOBAL;
	struct rcore_rc_resp_state st;
	struct rcore_rc_resp_verdict v;
	struct rcore_rc_seg seg;
	struct rcore_pkt p;
	static const struct {
		uint8_t plt, sel;
		uint32_t pay, len;
		enum rcore_rc_why why;
	} bad[] = {
		/* no placement type, a reserved one, a reserved level */
		{ 0, RCORE_FLUSH_RANGE, 0, 64, RCORE_RC_WHY_FLUSH },
		{ 4, RCORE_FLUSH_RANGE, 0, 64, RCORE_RC_WHY_FLUSH },
		{ RCORE_FLUSH_GLOBAL, 2, 0, 64, RCORE_RC_WHY_FLUSH },
		/* persistence the QP does not allow, alone or with global */
		{ RCORE_FLUSH_PERSISTENT, RCORE_FLUSH_RANGE, 0, 64,
		  RCORE_RC_WHY_ACCESS },
		{ RCORE_FLUSH_GLOBAL | RCORE_FLUSH_PERSISTENT, RCORE_FLUSH_MR,
		  0, 0, RCORE_RC_WHY_ACCESS },
		/* no payload; a range of at most 2^31 bytes */
		{ RCORE_FLUSH_GLOBAL, RCORE_FLUSH_RANGE, 4, 64,
		  RCORE_RC_WHY_LENGTH },
		{ RCORE_FLUSH_GLOBAL, RCORE_FLUSH_RANGE, 0, 0x80000001u,
		  RCORE_RC_WHY_MSG_SIZE },
	};
	unsigned int i;

	/* the requester: one packet without payload, AckReq, any length */
	assert_true(rcore_rc_msg_is_rd_atomic(RCORE_RC_MSG_FLUSH));
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_FLUSH, 0, MTU), 1);
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_FLUSH, 1u << 31, MTU),
			 1);
	assert_int_equal(rcore_rc_msg_psns(RCORE_RC_MSG_FLUSH,
					   (1u << 31) + 1, MTU), 0);
	assert_int_equal(rcore_rc_req_opcode(RCORE_RC_MSG_FLUSH, 0, 1),
			 RCORE_RC_FLUSH);
	assert_int_equal(rcore_rc_req_seg(RCORE_RC_MSG_FLUSH, 64 * MTU, MTU,
					  7, 0, &seg), RCORE_OK);
	assert_int_equal(seg.opcode, RCORE_RC_FLUSH);
	assert_int_equal(seg.psn, 7);
	assert_int_equal(seg.len, 0);
	assert_true(seg.first && seg.last && seg.ackreq);

	/* a range flush: executed, answered at its PSN */
	assert_int_equal(rcore_rc_resp_init(&st, 10, MTU, acc, 0), RCORE_OK);
	p = mkflush(10, RCORE_FLUSH_GLOBAL, RCORE_FLUSH_RANGE, 100 * MTU);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_EXECUTE);
	assert_true(v.flags & RCORE_RC_F_FLUSH);
	assert_false(v.flags & (RCORE_RC_F_WRITE | RCORE_RC_F_READ |
				RCORE_RC_F_ATOMIC | RCORE_RC_F_ATOMIC_WRITE |
				RCORE_RC_F_NEED_WQE | RCORE_RC_F_ACK_NOW));
	assert_int_equal(v.npsn, 1);
	assert_int_equal(v.resp_psn, 10);
	rcore_rc_resp_executed(&st, &p, &v);
	assert_int_equal(st.epsn, 11);
	assert_int_equal(st.msn, 1);
	assert_int_equal(st.ack_psn, 9);

	/* its retry: answered again */
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_DUPLICATE);
	assert_int_equal(v.dup, RCORE_RC_DUP_FLUSH);
	assert_int_equal(v.resp_psn, 10);
	assert_int_equal(v.npsn, 1);

	/* a whole-MR flush: its RETH length does not count */
	p = mkflush(11, RCORE_FLUSH_GLOBAL, RCORE_FLUSH_MR, 0xffffffffu);
	assert_true(resp_exec(&st, &p) & RCORE_RC_F_FLUSH);
	assert_int_equal(st.epsn, 12);

	/* not between the packets of a WRITE */
	p = mkreth(RCORE_RC_WRITE_FIRST, 12, MTU, 2 * MTU);
	resp_exec(&st, &p);
	p = mkflush(13, RCORE_FLUSH_GLOBAL, RCORE_FLUSH_RANGE, 8);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_NAK_INVALID);
	assert_int_equal(v.why, RCORE_RC_WHY_NO_LAST);

	/* a QP that allows no flush refuses it as an invalid request */
	resp_init(&st, 20, 0);
	p = mkflush(20, RCORE_FLUSH_GLOBAL, RCORE_FLUSH_RANGE, 8);
	rcore_rc_resp_check(&st, &p, &v);
	assert_int_equal(v.action, RCORE_RC_RESP_NAK_INVALID);
	assert_int_equal(v.why, RCORE_RC_WHY_ACCESS);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(rcore_rc_resp_init(&st, 30, MTU, acc, 0),
				 RCORE_OK);
		p = mkflush(30, bad[i].plt, bad[i].sel, bad[i].len);
		p.payload_len = bad[i].pay;
		rcore_rc_resp_check(&st, &p, &v);
		assert_int_equal(v.action, RCORE_RC_RESP_NAK_INVALID);
		assert_int_equal(v.why, bad[i].why);
		assert_int_equal(v.ack.aeth.syndrome,
				 rcore_aeth_nak(RCORE_NAK_INVALID_REQ));
	}
}

/* One NAK_INVALID case: the state to set up, the packet and the reason. */
struct inval_case {
	const char *name;
	bool in_msg;
	uint8_t cur_op;
	uint32_t resid;
	uint8_t access;
	uint8_t opcode;
	uint32_t payload;
	uint32_t reth_len;
	uint64_t va;
	enum rcore_rc_why why;
};

static const struct inval_case inval_cases[] = {
	{ "send middle alone", false, 0, 0, ALL_ACC, RCORE_RC_SEND_MIDDLE,
	  MTU, 0, 0, RCORE_RC_WHY_NO_FIRST },
	{ "send last alone", false, 0, 0, ALL_ACC, RCORE_RC_SEND_LAST, 4, 0,
	  0, RCORE_RC_WHY_NO_FIRST },
	{ "write last imm alone", false, 0, 0, ALL_ACC,
	  RCORE_RC_WRITE_LAST_IMM, 4, 0, 0, RCORE_RC_WHY_NO_FIRST },
	{ "write middle alone", false, 0, 0, ALL_ACC, RCORE_RC_WRITE_MIDDLE,
	  MTU, 0, 0, RCORE_RC_WHY_NO_FIRST },
	{ "send first in send", true, RCORE_RC_SEND_FIRST, 0, ALL_ACC,
	  RCORE_RC_SEND_FIRST, MTU, 0, 0, RCORE_RC_WHY_NO_LAST },
	{ "send only in send", true, RCORE_RC_SEND_MIDDLE, 0, ALL_ACC,
	  RCORE_RC_SEND_ONLY, 4, 0, 0, RCORE_RC_WHY_NO_LAST },
	{ "write middle in send", true, RCORE_RC_SEND_FIRST, 0, ALL_ACC,
	  RCORE_RC_WRITE_MIDDLE, MTU, 0, 0, RCORE_RC_WHY_NO_LAST },
	{ "send last in write", true, RCORE_RC_WRITE_FIRST, 4, ALL_ACC,
	  RCORE_RC_SEND_LAST, 4, 0, 0, RCORE_RC_WHY_NO_LAST },
	{ "read in write", true, RCORE_RC_WRITE_MIDDLE, 600, ALL_ACC,
	  RCORE_RC_READ_REQ, 0, 8, 0, RCORE_RC_WHY_NO_LAST },
	{ "atomic in send", true, RCORE_RC_SEND_FIRST, 0, ALL_ACC,
	  RCORE_RC_FETCH_ADD, 0, 0, 0, RCORE_RC_WHY_NO_LAST },
	{ "write only in write", true, RCORE_RC_WRITE_FIRST, 600, ALL_ACC,
	  RCORE_RC_WRITE_ONLY, 4, 4, 0, RCORE_RC_WHY_NO_LAST },
	{ "write, no access", false, 0, 0,
	  RCORE_RC_ACC_READ | RCORE_RC_ACC_ATOMIC, RCORE_RC_WRITE_ONLY, 4, 4,
	  0, RCORE_RC_WHY_ACCESS },
	{ "write imm, no access", false, 0, 0, 0, RCORE_RC_WRITE_FIRST, MTU,
	  600, 0, RCORE_RC_WHY_ACCESS },
	{ "read, no access", false, 0, 0,
	  RCORE_RC_ACC_WRITE | RCORE_RC_ACC_ATOMIC, RCORE_RC_READ_REQ, 0, 8,
	  0, RCORE_RC_WHY_ACCESS },
	{ "cmp swap, no access", false, 0, 0,
	  RCORE_RC_ACC_WRITE | RCORE_RC_ACC_READ, RCORE_RC_CMP_SWAP, 0, 0, 0,
	  RCORE_RC_WHY_ACCESS },
	{ "send only > mtu", false, 0, 0, ALL_ACC, RCORE_RC_SEND_ONLY,
	  MTU + 4, 0, 0, RCORE_RC_WHY_TOO_LONG },
	{ "send last > mtu", true, RCORE_RC_SEND_FIRST, 0, ALL_ACC,
	  RCORE_RC_SEND_LAST, MTU + 4, 0, 0, RCORE_RC_WHY_TOO_LONG },
	{ "write only > mtu", false, 0, 0, ALL_ACC, RCORE_RC_WRITE_ONLY,
	  MTU + 4, MTU + 4, 0, RCORE_RC_WHY_TOO_LONG },
	{ "send first short", false, 0, 0, ALL_ACC, RCORE_RC_SEND_FIRST,
	  MTU - 4, 0, 0, RCORE_RC_WHY_NOT_FULL },
	{ "send middle short", true, RCORE_RC_SEND_FIRST, 0, ALL_ACC,
	  RCORE_RC_SEND_MIDDLE, 100, 0, 0, RCORE_RC_WHY_NOT_FULL },
	{ "write first short", false, 0, 0, ALL_ACC, RCORE_RC_WRITE_FIRST,
	  MTU - 4, 600, 0, RCORE_RC_WHY_NOT_FULL },
	{ "write middle short", true, RCORE_RC_WRITE_FIRST, 600, ALL_ACC,
	  RCORE_RC_WRITE_MIDDLE, 4, 0, 0, RCORE_RC_WHY_NOT_FULL },
	{ "write only vs reth", false, 0, 0, ALL_ACC, RCORE_RC_WRITE_ONLY, 8,
	  12, 0, RCORE_RC_WHY_LENGTH },
	{ "write only imm vs reth", false, 0, 0, ALL_ACC,
	  RCORE_RC_WRITE_ONLY_IMM, 12, 8, 0, RCORE_RC_WHY_LENGTH },
	{ "write first fits one", false, 0, 0, ALL_ACC, RCORE_RC_WRITE_FIRST,
	  MTU, MTU, 0, RCORE_RC_WHY_LENGTH },
	{ "write middle, last due", true, RCORE_RC_WRITE_FIRST, MTU, ALL_ACC,
	  RCORE_RC_WRITE_MIDDLE, MTU, 0, 0, RCORE_RC_WHY_LENGTH },
	{ "write last short", true, RCORE_RC_WRITE_MIDDLE, 100, ALL_ACC,
	  RCORE_RC_WRITE_LAST, 96, 0, 0, RCORE_RC_WHY_LENGTH },
	{ "write last long", true, RCORE_RC_WRITE_MIDDLE, 100, ALL_ACC,
	  RCORE_RC_WRITE_LAST_IMM, 104, 0, 0, RCORE_RC_WHY_LENGTH },
	{ "write last, more due", true, RCORE_RC_WRITE_MIDDLE, MTU + 4,
	  ALL_ACC, RCORE_RC_WRITE_LAST, MTU, 0, 0, RCORE_RC_WHY_LENGTH },
	{ "read with payload", false, 0, 0, ALL_ACC, RCORE_RC_READ_REQ, 4, 8,
	  0, RCORE_RC_WHY_LENGTH },
	{ "atomic with payload", false, 0, 0, ALL_ACC, RCORE_RC_CMP_SWAP, 4,
	  0, 0, RCORE_RC_WHY_LENGTH },
	{ "read > 2^31", false, 0, 0, ALL_ACC, RCORE_RC_READ_REQ, 0,
	  0x80000001u, 0, RCORE_RC_WHY_MSG_SIZE },
	{ "write > 2^31", false, 0, 0, ALL_ACC, RCORE_RC_WRITE_FIRST, MTU,
	  0xffffffffu, 0, RCORE_RC_WHY_MSG_SIZE },
	{ "cmp swap misaligned", false, 0, 0, ALL_ACC, RCORE_RC_CMP_SWAP, 0,
	  0, 0x1004, RCORE_RC_WHY_ALIGN },
	{ "fetch add misaligned", false, 0, 0, ALL_ACC, RCORE_RC_FETCH_ADD, 0,
	  0, 0x1001, RCORE_RC_WHY_ALIGN },
};

static void test_resp_invalid(void **state)
{
	struct rcore_rc_resp_state st;
	struct rcore_rc_resp_verdict v;
	struct rcore_pkt p;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(inval_cases); i++) {
		const struct inval_case *c = &inval_cases[i];

		resp_init(&st, 0xffffff, 0);
		st.access = c->access;
		st.in_msg = c->in_msg;
		st.cur_op = c->cur_op;
		st.resid = c->resid;
		st.msn = 77;
		p = mkreth(c->opcode, 0xffffff, c->payload, c->reth_len);
		p.atmeth.va = c->va;
		rcore_rc_resp_check(&st, &p, &v);
		if (v.action != RCORE_RC_RESP_NAK_INVALID || v.why != c->why)
			fail_msg("%s: action %d why %d", c->name, v.action,
				 v.why);
		assert_int_equal(v.ack.psn, 0xffffff);
		assert_int_equal(v.ack.aeth.syndrome,
				 rcore_aeth_nak(RCORE_NAK_INVALID_REQ));
		assert_int_equal(v.ack.aeth.msn, 77);

		/* the same packet as a duplicate is never invalid */
		st.epsn = 5;
		rcore_rc_resp_check(&st, &p, &v);
		assert_int_not_equal(v.action, RCORE_RC_RESP_NAK_INVALID);
	}
}

static void test_resp_ack_coalescing(void **state)
{
	struct rcore_rc_resp_state st;
	struct rcore_rc_ack ack;
	struct rcore_pkt p;
	uint32_t psn = 0xfffffd;
	unsigned int i, f;

	/* ack_every 3: a long send gets an ACK every third packet */
	resp_init(&st, psn, 3);
	p = mkpkt(RCORE_RC_SEND_FIRST, psn++, MTU);
	assert_false(resp_exec(&st, &p) & RCORE_RC_F_ACK_NOW);
	assert_int_equal(st.unacked, 1);
	p = mkpkt(RCORE_RC_SEND_MIDDLE, psn & 0xffffff, MTU);
	psn++;
	assert_false(resp_exec(&st, &p) & RCORE_RC_F_ACK_NOW);
	assert_int_equal(st.unacked, 2);
	p = mkpkt(RCORE_RC_SEND_MIDDLE, psn & 0xffffff, MTU);
	psn++;
	assert_true(resp_exec(&st, &p) & RCORE_RC_F_ACK_NOW);
	assert_int_equal(st.unacked, 0);
	rcore_rc_resp_ack(&st, RCORE_AETH_CREDIT_INVALID, &ack);
	assert_int_equal(ack.psn, 0xffffff);
	assert_int_equal(ack.aeth.msn, 0);
	for (i = 0; i < 5; i++) {
		p = mkpkt(RCORE_RC_SEND_MIDDLE, psn & 0xffffff, MTU);
		psn++;
		f = resp_exec(&st, &p);
		assert_int_equal(!!(f & RCORE_RC_F_ACK_NOW), i % 3 == 2);
	}
	/* the last packet is always acknowledged, and so is the message */
	p = mkpkt(RCORE_RC_SEND_LAST, psn & 0xffffff, 1);
	psn++;
	assert_true(resp_exec(&st, &p) & RCORE_RC_F_ACK_NOW);
	rcore_rc_resp_ack(&st, 3, &ack);
	assert_int_equal(ack.psn, 5);
	assert_int_equal(ack.aeth.msn, 1);
	assert_int_equal(ack.aeth.syndrome, rcore_aeth_ack(3));

	/* a write, then a read: its responses are its acknowledgement */
	p = mkreth(RCORE_RC_WRITE_FIRST, psn & 0xffffff, MTU, 3 * MTU);
	psn++;
	assert_false(resp_exec(&st, &p) & RCORE_RC_F_ACK_NOW);
	p = mkreth(RCORE_RC_WRITE_MIDDLE, psn & 0xffffff, MTU, 0);
	psn++;
	assert_false(resp_exec(&st, &p) & RCORE_RC_F_ACK_NOW);
	p = mkreth(RCORE_RC_WRITE_LAST, psn & 0xffffff, MTU, 0);
	psn++;
	assert_true(resp_exec(&st, &p) & RCORE_RC_F_ACK_NOW);
	p = mkreth(RCORE_RC_READ_REQ, psn & 0xffffff, 0, 8);
	p.bth.ackreq = true;
	psn++;
	assert_false(resp_exec(&st, &p) & RCORE_RC_F_ACK_NOW);
	assert_int_equal(st.unacked, 0);
	rcore_rc_resp_ack(&st, 3, &ack);
	assert_int_equal(ack.psn, 8);
	assert_int_equal(ack.aeth.msn, 3);

	/* ack_every 0: only AckReq and last packets */
	resp_init(&st, 0, 0);
	p = mkpkt(RCORE_RC_SEND_FIRST, 0, MTU);
	resp_exec(&st, &p);
	for (i = 1; i < 100; i++) {
		p = mkpkt(RCORE_RC_SEND_MIDDLE, i, MTU);
		assert_false(resp_exec(&st, &p) & RCORE_RC_F_ACK_NOW);
	}
	assert_int_equal(st.unacked, 100);
}

/* ---------------------------------------------------------------------- */
/* Requester and completer                                                 */
/* ---------------------------------------------------------------------- */

static struct rcore_pkt mkresp(uint8_t opcode, uint32_t psn, uint8_t syn,
			       uint32_t payload)
{
	struct rcore_pkt p = mkpkt(opcode, psn, payload);

	p.aeth.syndrome = syn;
	p.aeth.msn = 1;
	return p;
}

#define ACKSYN	rcore_aeth_ack(RCORE_AETH_CREDIT_INVALID)

static void req_init(struct rcore_rc_req_state *st, uint32_t psn,
		     uint8_t retry, uint8_t rnr)
{
	assert_int_equal(rcore_rc_req_init(st, psn, MTU, retry, rnr),
			 RCORE_OK);
}

/* Mark a WQE sent, whole (a read: its request). */
static void req_send_wqe(struct rcore_rc_req_state *st,
			 const struct rcore_rc_wqe *w)
{
	uint32_t n = rcore_rc_msg_psns(w->kind, w->len, MTU), k;

	if (w->kind == RCORE_RC_MSG_READ) {
		rcore_rc_req_sent(st, w->first_psn, n);
		return;
	}
	for (k = 0; k < n; k++)
		rcore_rc_req_sent(st, rcore_psn_add(w->first_psn, k), 1);
}

static void comp(const struct rcore_rc_req_state *st,
		 const struct rcore_rc_wqe *w, const struct rcore_pkt *p,
		 struct rcore_rc_comp_verdict *v,
		 enum rcore_rc_comp_action action)
{
	struct rcore_rc_req_state copy;

	memcpy(&copy, st, sizeof(copy));
	rcore_rc_comp_check(st, w, p, v);
	if (v->action != action)
		fail_msg("opcode %#x psn %#x: action %d (not %d) why %d",
			 p->bth.opcode, p->bth.psn, v->action, action, v->why);
	/* checking never changes the state */
	assert_memory_equal(&copy, st, sizeof(copy));
}

static void comp_ignored(const struct rcore_rc_req_state *st,
			 const struct rcore_rc_wqe *w,
			 const struct rcore_pkt *p, enum rcore_rc_comp_why why)
{
	struct rcore_rc_comp_verdict v;

	comp(st, w, p, &v, RCORE_RC_COMP_IGNORE);
	if (v.why != why)
		fail_msg("opcode %#x psn %#x: ignored for %d, not %d",
			 p->bth.opcode, p->bth.psn, v.why, why);
}

static void test_req_init_sent(void **state)
{
	struct rcore_rc_req_state st;
	struct rcore_rc_wqe w;

	memset(&st, 0x5a, sizeof(st));
	assert_int_equal(rcore_rc_req_init(&st, 0, 100, 7, 7),
			 RCORE_ERR_RANGE);
	assert_int_equal(rcore_rc_req_init(&st, 0x1000000, MTU, 7, 7),
			 RCORE_ERR_RANGE);
	assert_int_equal(rcore_rc_req_init(&st, 0, MTU, 8, 7),
			 RCORE_ERR_RANGE);
	assert_int_equal(rcore_rc_req_init(&st, 0, MTU, 7, 8),
			 RCORE_ERR_RANGE);
	assert_int_equal(st.una_psn, 0x5a5a5a5a);
	req_init(&st, 0xfffffe, 5, 3);
	assert_int_equal(st.una_psn, 0xfffffe);
	assert_int_equal(st.next_psn, 0xfffffe);
	assert_int_equal(st.retry_left, 5);
	assert_int_equal(st.rnr_left, 3);
	assert_false(st.retry_valid);

	/* next_psn only moves forward, across the wrap */
	rcore_rc_req_sent(&st, 0xfffffe, 1);
	assert_int_equal(st.next_psn, 0xffffff);
	rcore_rc_req_sent(&st, 0xffffff, 4);	/* a read of 4 responses */
	assert_int_equal(st.next_psn, 3);
	rcore_rc_req_sent(&st, 0xfffffe, 1);	/* retransmission */
	assert_int_equal(st.next_psn, 3);
	rcore_rc_req_sent(&st, 0xffffff, 2);	/* read retried in part */
	assert_int_equal(st.next_psn, 3);
	rcore_rc_req_sent(&st, 3, 0);		/* 0 counts as 1 */
	assert_int_equal(st.next_psn, 4);

	/* window: up to 2^23 outstanding */
	assert_true(rcore_rc_req_window_ok(&st, 1));
	assert_true(rcore_rc_req_window_ok(&st, RCORE_RC_MAX_OUTSTANDING - 6));
	assert_false(rcore_rc_req_window_ok(&st,
					    RCORE_RC_MAX_OUTSTANDING - 5));
	assert_false(rcore_rc_req_window_ok(&st, 0xffffffffu));
	/* the largest message fits an empty window */
	req_init(&st, 0xffffff, 7, 7);
	assert_true(rcore_rc_req_window_ok(&st,
					   rcore_rc_msg_psns(RCORE_RC_MSG_READ,
							     RCORE_RC_MAX_MSG,
							     256)));
	assert_false(rcore_rc_req_window_ok(&st, RCORE_RC_MAX_OUTSTANDING + 1));

	w = (struct rcore_rc_wqe){ RCORE_RC_MSG_READ, 0xfffffe, 1000 };
	assert_int_equal(rcore_rc_wqe_last_psn(&w, MTU), 1);
	w = (struct rcore_rc_wqe){ RCORE_RC_MSG_CMP_SWAP, 0xffffff, 0 };
	assert_int_equal(rcore_rc_wqe_last_psn(&w, MTU), 0xffffff);
	w = (struct rcore_rc_wqe){ RCORE_RC_MSG_SEND, 0xffffff, 0 };
	assert_int_equal(rcore_rc_wqe_last_psn(&w, MTU), 0xffffff);
	w = (struct rcore_rc_wqe){ RCORE_RC_MSG_SEND, 0xffffff, 257 };
	assert_int_equal(rcore_rc_wqe_last_psn(&w, MTU), 0);
}

static void test_comp_ack(void **state)
{
	struct rcore_rc_req_state st;
	struct rcore_rc_comp_verdict v;
	/* 3 packets, 0xfffffe..0; 1 packet, 1 */
	struct rcore_rc_wqe w0 = { RCORE_RC_MSG_SEND, 0xfffffe, 600 };
	struct rcore_rc_wqe w1 = { RCORE_RC_MSG_WRITE, 1, 100 };
	struct rcore_pkt p;

	req_init(&st, 0xfffffe, 3, 3);
	req_send_wqe(&st, &w0);
	req_send_wqe(&st, &w1);
	assert_int_equal(st.next_psn, 2);
	st.retry_left = 1;

	/* an ACK for the middle packet: progress, nothing completes */
	p = mkresp(RCORE_RC_ACK, 0xffffff, ACKSYN, 0);
	comp(&st, &w0, &p, &v, RCORE_RC_COMP_PROGRESS);
	assert_false(v.done);
	assert_int_equal(v.una_psn, 0);
	assert_int_equal(v.retry_left, 3);	/* refilled by progress */
	rcore_rc_comp_apply(&st, &v);
	assert_int_equal(st.una_psn, 0);
	assert_int_equal(st.retry_left, 3);

	/* a copy of it is stale now */
	comp_ignored(&st, &w0, &p, RCORE_RC_CWHY_STALE);

	/* an ACK for both: complete one, then the other, then stop */
	p = mkresp(RCORE_RC_ACK, 1, ACKSYN, 0);
	comp(&st, &w0, &p, &v, RCORE_RC_COMP_COMPLETE);
	assert_true(v.again);
	assert_true(v.done);
	assert_int_equal(v.status, RCORE_WC_SUCCESS);
	assert_int_equal(v.una_psn, 1);
	rcore_rc_comp_apply(&st, &v);
	comp(&st, &w1, &p, &v, RCORE_RC_COMP_COMPLETE);
	assert_int_equal(v.una_psn, 2);
	rcore_rc_comp_apply(&st, &v);
	assert_int_equal(st.una_psn, 2);
	comp_ignored(&st, NULL, &p, RCORE_RC_CWHY_NO_WQE);
	/* nothing outstanding: even a WQE not sent yet gets nothing */
	w0.first_psn = 2;
	comp_ignored(&st, &w0, &p, RCORE_RC_CWHY_NO_WQE);
}

static void test_comp_stale_and_bad(void **state)
{
	struct rcore_rc_req_state st;
	struct rcore_rc_wqe w = { RCORE_RC_MSG_SEND, 100, 3 * MTU };
	struct rcore_rc_wqe bad = { RCORE_RC_MSG_SEND, 90, MTU };
	struct rcore_rc_wqe badkind = { RCORE_RC_MSG_COUNT, 100, 0 };
	struct rcore_pkt p;
	static const uint8_t not_resp[] = {
		RCORE_RC_SEND_ONLY, RCORE_RC_READ_REQ, RCORE_RC_CMP_SWAP,
		RCORE_RC_FETCH_ADD, RCORE_UC_SEND_ONLY, 0x51, 0x15, RCORE_CNP,
	};
	unsigned int i;

	req_init(&st, 100, 7, 7);
	req_send_wqe(&st, &w);

	for (i = 0; i < ARRAY_SIZE(not_resp); i++) {
		p = mkresp(not_resp[i], 100, ACKSYN, 0);
		comp_ignored(&st, &w, &p, RCORE_RC_CWHY_NOT_RC_RESP);
	}
	/* before una, at next_psn and beyond */
	p = mkresp(RCORE_RC_ACK, 99, ACKSYN, 0);
	comp_ignored(&st, &w, &p, RCORE_RC_CWHY_STALE);
	p = mkresp(RCORE_RC_ACK, 103, ACKSYN, 0);
	comp_ignored(&st, &w, &p, RCORE_RC_CWHY_STALE);
	p = mkresp(RCORE_RC_ACK, 100 + 0x400000, ACKSYN, 0);
	comp_ignored(&st, &w, &p, RCORE_RC_CWHY_STALE);
	/* a WQE that does not hold una */
	p = mkresp(RCORE_RC_ACK, 100, ACKSYN, 0);
	comp_ignored(&st, &bad, &p, RCORE_RC_CWHY_BAD_WQE);
	comp_ignored(&st, &badkind, &p, RCORE_RC_CWHY_BAD_WQE);
	/* reserved AETH type */
	p = mkresp(RCORE_RC_ACK, 100, 2 << 5, 0);
	comp_ignored(&st, &w, &p, RCORE_RC_CWHY_BAD_SYNDROME);
	/* responses that do not fit a send */
	p = mkresp(RCORE_RC_READ_RESP_ONLY, 100, ACKSYN, 8);
	comp_ignored(&st, &w, &p, RCORE_RC_CWHY_UNEXPECTED);
	p = mkresp(RCORE_RC_ATOMIC_ACK, 101, ACKSYN, 0);
	comp_ignored(&st, &w, &p, RCORE_RC_CWHY_UNEXPECTED);
}

static void test_comp_read(void **state)
{
	struct rcore_rc_req_state st, retried;
	struct rcore_rc_comp_verdict v;
	/* read 0xfffffe..1 (4 responses), then a send at 2 */
	struct rcore_rc_wqe r = { RCORE_RC_MSG_READ, 0xfffffe, 1000 };
	struct rcore_rc_wqe s = { RCORE_RC_MSG_SEND, 2, 10 };
	struct rcore_pkt p;

	req_init(&st, 0xfffffe, 2, 7);
	req_send_wqe(&st, &r);
	req_send_wqe(&st, &s);
	assert_int_equal(st.next_psn, 3);

	/* one ahead of una: the response at una is lost, ask again now */
	p = mkresp(RCORE_RC_READ_RESP_MIDDLE, 0xffffff, 0, MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 0xfffffe);
	assert_int_equal(v.retry_left, 1);
	/* the rest of the stale stream: the retry is under way */
	retried = st;
	rcore_rc_comp_apply(&retried, &v);
	comp_ignored(&retried, &r, &p, RCORE_RC_CWHY_RETRIED);
	p = mkresp(RCORE_RC_READ_RESP_LAST, 1, ACKSYN, 1000 - 3 * MTU);
	comp_ignored(&retried, &r, &p, RCORE_RC_CWHY_RETRIED);
	/* the timer's retry counts as that retry too */
	rcore_rc_comp_timeout(&st, &v);
	assert_int_equal(v.action, RCORE_RC_COMP_RETRY);
	retried = st;
	rcore_rc_comp_apply(&retried, &v);
	comp_ignored(&retried, &r, &p, RCORE_RC_CWHY_RETRIED);
	/* a middle packet cannot start the read */
	p = mkresp(RCORE_RC_READ_RESP_MIDDLE, 0xfffffe, 0, MTU);
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_UNEXPECTED);
	p = mkresp(RCORE_RC_READ_RESP_ONLY, 0xfffffe, ACKSYN, MTU);
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_UNEXPECTED);
	p = mkresp(RCORE_RC_READ_RESP_FIRST, 0xfffffe,
		   rcore_aeth_nak(RCORE_NAK_REMOTE_ACCESS_ERR), MTU);
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_BAD_SYNDROME);
	p = mkresp(RCORE_RC_READ_RESP_FIRST, 0xfffffe, ACKSYN, MTU - 4);
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_BAD_LENGTH);
	/* an ACK inside the read's PSNs says nothing about its data */
	p = mkresp(RCORE_RC_ACK, 0xffffff, ACKSYN, 0);
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_IN_READ);

	p = mkresp(RCORE_RC_READ_RESP_FIRST, 0xfffffe, ACKSYN, MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
	assert_int_equal(v.offset, 0);
	assert_int_equal(v.len, MTU);
	assert_false(v.done);
	assert_false(v.again);
	assert_int_equal(v.una_psn, 0xffffff);
	rcore_rc_comp_apply(&st, &v);

	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_STALE);
	/* a LAST may end a chunk of the read (a request for part of it) */
	p = mkresp(RCORE_RC_READ_RESP_LAST, 0xffffff, ACKSYN, MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
	assert_false(v.done);
	p = mkresp(RCORE_RC_READ_RESP_MIDDLE, 0xffffff, 0, MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
	assert_int_equal(v.offset, MTU);
	rcore_rc_comp_apply(&st, &v);
	assert_int_equal(st.una_psn, 0);

	/* the read retried from PSN 0: answered from a FIRST */
	p = mkresp(RCORE_RC_READ_RESP_FIRST, 0, ACKSYN, MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
	assert_int_equal(v.offset, 2 * MTU);
	assert_int_equal(v.len, MTU);
	rcore_rc_comp_apply(&st, &v);
	/* the last one: ONLY (retried) or LAST fit, FIRST does not */
	p = mkresp(RCORE_RC_READ_RESP_FIRST, 1, ACKSYN, 1000 - 3 * MTU);
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_UNEXPECTED);
	p = mkresp(RCORE_RC_READ_RESP_ONLY, 1, ACKSYN, MTU);
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_BAD_LENGTH);
	p = mkresp(RCORE_RC_READ_RESP_ONLY, 1, ACKSYN, 1000 - 3 * MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
	p = mkresp(RCORE_RC_READ_RESP_LAST, 1, ACKSYN, 1000 - 3 * MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
	assert_int_equal(v.offset, 3 * MTU);
	assert_int_equal(v.len, 1000 - 3 * MTU);
	assert_true(v.done);
	assert_int_equal(v.una_psn, 2);
	rcore_rc_comp_apply(&st, &v);

	p = mkresp(RCORE_RC_ACK, 2, ACKSYN, 0);
	comp(&st, &s, &p, &v, RCORE_RC_COMP_COMPLETE);
	rcore_rc_comp_apply(&st, &v);
	assert_int_equal(st.una_psn, 3);
}

/*
 * A read of 300 packets is asked for in chunks of RCORE_RC_READ_CHUNK (or
 * of RCORE_RC_READ_CHUNK_MIN); a retry from a chunk's last PSN asks for
 * one packet, answered ONLY.
 */
static void test_comp_read_chunk(void **state)
{
	const uint32_t c = RCORE_RC_READ_CHUNK;
	struct rcore_rc_wqe r = { RCORE_RC_MSG_READ, 0xffff80, 300 * MTU };
	struct rcore_rc_req_state st;
	struct rcore_rc_comp_verdict v;
	struct rcore_pkt p;
	uint32_t i, psn;

	req_init(&st, 0xffff80, 7, 7);
	req_send_wqe(&st, &r);
	for (i = 0; i < c - 2; i++) {
		psn = rcore_psn_add(0xffff80, (int32_t)i);
		p = mkresp(i ? RCORE_RC_READ_RESP_MIDDLE :
			       RCORE_RC_READ_RESP_FIRST, psn, ACKSYN, MTU);
		/* the end of a smallest chunk, retried alone */
		if (i == RCORE_RC_READ_CHUNK_MIN - 1)
			p = mkresp(RCORE_RC_READ_RESP_ONLY, psn, ACKSYN, MTU);
		comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
		rcore_rc_comp_apply(&st, &v);
	}
	/* ONLY is no answer in the middle of a chunk ... */
	psn = rcore_psn_add(0xffff80, (int32_t)(c - 2));
	p = mkresp(RCORE_RC_READ_RESP_ONLY, psn, ACKSYN, MTU);
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_UNEXPECTED);
	p = mkresp(RCORE_RC_READ_RESP_MIDDLE, psn, 0, MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
	rcore_rc_comp_apply(&st, &v);
	/* ... but at its last PSN, retried alone, it is */
	psn = rcore_psn_add(psn, 1);
	p = mkresp(RCORE_RC_READ_RESP_ONLY, psn, ACKSYN, MTU - 1);
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_BAD_LENGTH);
	p = mkresp(RCORE_RC_READ_RESP_ONLY, psn, ACKSYN, MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
	assert_int_equal(v.offset, (c - 1) * MTU);
	assert_int_equal(v.len, MTU);
	assert_false(v.done);
	rcore_rc_comp_apply(&st, &v);
	/* the next chunk starts with a FIRST, and ONLY is no answer there */
	psn = rcore_psn_add(psn, 1);
	p = mkresp(RCORE_RC_READ_RESP_ONLY, psn, ACKSYN, MTU);
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_UNEXPECTED);
	p = mkresp(RCORE_RC_READ_RESP_FIRST, psn, ACKSYN, MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
	assert_int_equal(v.offset, c * MTU);
}

/* A 2^31-byte read at PMTU 256 takes half the PSN space: both ends cope. */
static void test_largest_read(void **state)
{
	struct rcore_rc_resp_state rs;
	struct rcore_rc_resp_verdict rv;
	struct rcore_rc_req_state st;
	struct rcore_rc_comp_verdict v;
	struct rcore_rc_wqe r = { RCORE_RC_MSG_READ, 0xfffff0,
				  RCORE_RC_MAX_MSG };
	const uint32_t last = (0xfffff0 + 0x7fffff) & 0xffffff;
	struct rcore_pkt p;

	req_init(&st, 0xfffff0, 7, 7);
	assert_true(rcore_rc_req_window_ok(&st, 0x800000));
	req_send_wqe(&st, &r);
	assert_int_equal(st.next_psn, (last + 1) & 0xffffff);
	assert_int_equal(rcore_rc_wqe_last_psn(&r, MTU), last);
	assert_false(rcore_rc_req_window_ok(&st, 1));
	/* its last response is news (ahead of una), one more is not */
	p = mkresp(RCORE_RC_READ_RESP_LAST, last, ACKSYN, MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 0xfffff0);
	p = mkresp(RCORE_RC_ACK, last + 1, ACKSYN, 0);
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_STALE);
	p = mkresp(RCORE_RC_READ_RESP_FIRST, 0xfffff0, ACKSYN, MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
	assert_int_equal(v.offset, 0);

	/* the responder: ePSN moves by 2^23, a retry of it is a duplicate */
	resp_init(&rs, 0xfffff0, 0);
	p = mkreth(RCORE_RC_READ_REQ, 0xfffff0, 0, RCORE_RC_MAX_MSG);
	rcore_rc_resp_check(&rs, &p, &rv);
	assert_int_equal(rv.action, RCORE_RC_RESP_EXECUTE);
	assert_int_equal(rv.npsn, 0x800000);
	rcore_rc_resp_executed(&rs, &p, &rv);
	assert_int_equal(rs.epsn, (last + 1) & 0xffffff);
	rcore_rc_resp_check(&rs, &p, &rv);
	assert_int_equal(rv.action, RCORE_RC_RESP_DUPLICATE);
	assert_int_equal(rv.dup, RCORE_RC_DUP_READ);
	assert_int_equal(rv.npsn, 0x800000);
	/* retried from its last response */
	p = mkreth(RCORE_RC_READ_REQ, last, 0, MTU);
	rcore_rc_resp_check(&rs, &p, &rv);
	assert_int_equal(rv.dup, RCORE_RC_DUP_READ);
	assert_int_equal(rv.npsn, 1);
	assert_int_equal(rv.resp_psn, last);
	/* offsets near 2^31 do not overflow */
	p = mkresp(RCORE_RC_READ_RESP_LAST, last, ACKSYN, MTU);
	st.una_psn = last;
	comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
	assert_int_equal(v.offset, RCORE_RC_MAX_MSG - MTU);
	assert_true(v.done);
}

static void test_comp_implied_nak(void **state)
{
	struct rcore_rc_req_state st;
	struct rcore_rc_comp_verdict v;
	struct rcore_rc_wqe r = { RCORE_RC_MSG_READ, 0xffffff, 2 * MTU };
	struct rcore_rc_wqe r2 = { RCORE_RC_MSG_READ, 1, 8 };
	struct rcore_rc_wqe s = { RCORE_RC_MSG_SEND, 2, 10 };
	struct rcore_pkt p;

	req_init(&st, 0xffffff, 2, 7);
	req_send_wqe(&st, &r);
	req_send_wqe(&st, &r2);
	req_send_wqe(&st, &s);
	assert_int_equal(st.next_psn, 3);

	/* an ACK beyond the read: its responses were lost, retry it */
	p = mkresp(RCORE_RC_ACK, 2, ACKSYN, 0);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 0xffffff);
	assert_int_equal(v.una_psn, 0xffffff);
	assert_int_equal(v.retry_left, 1);
	rcore_rc_comp_apply(&st, &v);
	assert_true(st.retry_valid);
	assert_int_equal(st.retry_psn, 0xffffff);
	/* the same news again: that retry is under way */
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_RETRIED);
	p = mkresp(RCORE_RC_READ_RESP_ONLY, 1, ACKSYN, 8);
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_RETRIED);
	/* ... but the timer still retries */
	rcore_rc_comp_timeout(&st, &v);
	assert_int_equal(v.action, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 0xffffff);
	assert_int_equal(v.retry_left, 0);
	rcore_rc_comp_apply(&st, &v);

	/* progress clears the latch and refills the count */
	p = mkresp(RCORE_RC_READ_RESP_FIRST, 0xffffff, ACKSYN, MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
	rcore_rc_comp_apply(&st, &v);
	assert_false(st.retry_valid);
	assert_int_equal(st.retry_left, 2);

	/* a later read's response: retry from una (mid-read) */
	p = mkresp(RCORE_RC_READ_RESP_ONLY, 1, ACKSYN, 8);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 0);
	rcore_rc_comp_apply(&st, &v);
	/* a sequence NAK beyond the read, with no progress: same retry */
	p = mkresp(RCORE_RC_ACK, 1, rcore_aeth_nak(RCORE_NAK_PSN_SEQ_ERR), 0);
	comp_ignored(&st, &r, &p, RCORE_RC_CWHY_RETRIED);
	p = mkresp(RCORE_RC_READ_RESP_LAST, 0, ACKSYN, MTU);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_READ_DATA);
	assert_true(v.done);
	rcore_rc_comp_apply(&st, &v);

	/* an RNR NAK or NAK beyond a read: retry it as well */
	p = mkresp(RCORE_RC_ACK, 2, rcore_aeth_rnr_nak(1), 0);
	comp(&st, &r2, &p, &v, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 1);
	p = mkresp(RCORE_RC_ACK, 2, rcore_aeth_nak(RCORE_NAK_PSN_SEQ_ERR), 0);
	comp(&st, &r2, &p, &v, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 1);
	/* an atomic ACK beyond it too */
	r2.kind = RCORE_RC_MSG_FETCH_ADD;
	p = mkresp(RCORE_RC_ATOMIC_ACK, 2, ACKSYN, 0);
	st.next_psn = 3;
	comp(&st, &r2, &p, &v, RCORE_RC_COMP_RETRY);
	/* a fatal NAK beyond it: that error, the read will never come */
	p = mkresp(RCORE_RC_ACK, 2,
		   rcore_aeth_nak(RCORE_NAK_REMOTE_ACCESS_ERR), 0);
	comp(&st, &r2, &p, &v, RCORE_RC_COMP_FATAL);
	assert_int_equal(v.status, RCORE_WC_REM_ACCESS_ERR);
}

static void test_comp_implied_ack(void **state)
{
	struct rcore_rc_req_state st;
	struct rcore_rc_comp_verdict v;
	struct rcore_rc_wqe s = { RCORE_RC_MSG_SEND, 0xffffff, 2 * MTU };
	struct rcore_rc_wqe r = { RCORE_RC_MSG_READ, 1, 10 };
	struct rcore_rc_wqe a = { RCORE_RC_MSG_CMP_SWAP, 1, 0 };
	static const struct {
		uint8_t op;
		uint8_t syn;
		uint32_t pay;
	} resp[] = {
		{ RCORE_RC_READ_RESP_ONLY, 0, 10 },
		{ RCORE_RC_ATOMIC_ACK, 0, 0 },
		{ RCORE_RC_ACK, 1 << 5 | 4, 0 },	/* RNR NAK */
		{ RCORE_RC_ACK, 3 << 5 | 0, 0 },	/* sequence NAK */
		{ RCORE_RC_ACK, 3 << 5 | 1, 0 },	/* invalid request */
		{ RCORE_RC_ACK, 3 << 5 | 2, 0 },	/* remote access */
	};
	struct rcore_pkt p;
	unsigned int i;

	/* any response at PSN 1 completes the send at 0xffffff..0 */
	for (i = 0; i < ARRAY_SIZE(resp); i++) {
		req_init(&st, 0xffffff, 7, 7);
		req_send_wqe(&st, &s);
		req_send_wqe(&st, resp[i].op == RCORE_RC_ATOMIC_ACK ? &a : &r);
		p = mkresp(resp[i].op, 1, resp[i].syn, resp[i].pay);
		comp(&st, &s, &p, &v, RCORE_RC_COMP_COMPLETE);
		assert_true(v.again);
		assert_int_equal(v.una_psn, 1);
		rcore_rc_comp_apply(&st, &v);
	}
	/* ... but a NAK at 0 does not: it asks for 0 */
	req_init(&st, 0xffffff, 7, 7);
	req_send_wqe(&st, &s);
	p = mkresp(RCORE_RC_ACK, 0, rcore_aeth_nak(RCORE_NAK_INVALID_REQ), 0);
	comp(&st, &s, &p, &v, RCORE_RC_COMP_FATAL);
	assert_int_equal(v.status, RCORE_WC_REM_INV_REQ_ERR);
	/* FATAL changes nothing in the state */
	rcore_rc_comp_apply(&st, &v);
	assert_int_equal(st.una_psn, 0xffffff);
}

static void test_comp_atomic(void **state)
{
	struct rcore_rc_req_state st;
	struct rcore_rc_comp_verdict v;
	struct rcore_rc_wqe a = { RCORE_RC_MSG_FETCH_ADD, 0xffffff, 8 };
	struct rcore_rc_wqe b = { RCORE_RC_MSG_CMP_SWAP, 0, 8 };
	struct rcore_pkt p;

	req_init(&st, 0xffffff, 7, 7);
	req_send_wqe(&st, &a);
	req_send_wqe(&st, &b);

	p = mkresp(RCORE_RC_ATOMIC_ACK, 0xffffff,
		   rcore_aeth_nak(RCORE_NAK_REMOTE_OP_ERR), 0);
	comp_ignored(&st, &a, &p, RCORE_RC_CWHY_BAD_SYNDROME);
	p = mkresp(RCORE_RC_READ_RESP_ONLY, 0xffffff, ACKSYN, 8);
	comp_ignored(&st, &a, &p, RCORE_RC_CWHY_UNEXPECTED);
	/* an RNR NAK at its PSN: its memory was not ready, ask again */
	p = mkresp(RCORE_RC_ACK, 0xffffff, rcore_aeth_rnr_nak(1), 0);
	comp(&st, &a, &p, &v, RCORE_RC_COMP_RNR_WAIT);
	assert_int_equal(v.psn, 0xffffff);
	assert_int_equal(v.rnr_usec, 10);
	rcore_rc_comp_apply(&st, &v);
	assert_int_equal(st.una_psn, 0xffffff);

	p = mkresp(RCORE_RC_ATOMIC_ACK, 0xffffff, ACKSYN, 0);
	comp(&st, &a, &p, &v, RCORE_RC_COMP_ATOMIC_DATA);
	assert_true(v.done);
	assert_false(v.again);
	assert_int_equal(v.una_psn, 0);
	rcore_rc_comp_apply(&st, &v);
	comp_ignored(&st, &b, &p, RCORE_RC_CWHY_STALE);

	/* a plain ACK for an atomic: its atomic ACK was lost */
	p = mkresp(RCORE_RC_ACK, 0, ACKSYN, 0);
	comp(&st, &b, &p, &v, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 0);
	p = mkresp(RCORE_RC_ATOMIC_ACK, 0, ACKSYN, 0);
	comp(&st, &b, &p, &v, RCORE_RC_COMP_ATOMIC_DATA);
	rcore_rc_comp_apply(&st, &v);
	assert_int_equal(st.una_psn, 1);
}

/*
 * ATOMIC WRITE: completed by an empty READ_RESP_ONLY (rxe's answer, and
 * rodp's); a plain ACK past it means that answer was lost.
 */
static void test_comp_atomic_write(void **state)
{
	struct rcore_rc_req_state st;
	struct rcore_rc_comp_verdict v;
	struct rcore_rc_wqe a = { RCORE_RC_MSG_ATOMIC_WRITE, 5, 8 };
	struct rcore_rc_wqe b = { RCORE_RC_MSG_WRITE, 6, 8 };
	struct rcore_pkt p;

	req_init(&st, 5, 7, 7);
	req_send_wqe(&st, &a);
	req_send_wqe(&st, &b);

	p = mkresp(RCORE_RC_READ_RESP_ONLY, 5, ACKSYN, 8);
	comp_ignored(&st, &a, &p, RCORE_RC_CWHY_UNEXPECTED);
	p = mkresp(RCORE_RC_READ_RESP_FIRST, 5, ACKSYN, MTU);
	comp_ignored(&st, &a, &p, RCORE_RC_CWHY_UNEXPECTED);
	p = mkresp(RCORE_RC_ATOMIC_ACK, 5, ACKSYN, 0);
	comp_ignored(&st, &a, &p, RCORE_RC_CWHY_UNEXPECTED);
	p = mkresp(RCORE_RC_READ_RESP_ONLY, 5, rcore_aeth_rnr_nak(1), 0);
	comp_ignored(&st, &a, &p, RCORE_RC_CWHY_BAD_SYNDROME);
	/* an RNR NAK in an ACK at its PSN: ask again after the timer */
	p = mkresp(RCORE_RC_ACK, 5, rcore_aeth_rnr_nak(1), 0);
	comp(&st, &a, &p, &v, RCORE_RC_COMP_RNR_WAIT);
	assert_int_equal(v.psn, 5);

	/* a plain ACK for both: the atomic write's answer was lost */
	p = mkresp(RCORE_RC_ACK, 6, ACKSYN, 0);
	comp(&st, &a, &p, &v, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 5);

	p = mkresp(RCORE_RC_READ_RESP_ONLY, 5, ACKSYN, 0);
	comp(&st, &a, &p, &v, RCORE_RC_COMP_COMPLETE);
	assert_true(v.done);
	assert_int_equal(v.una_psn, 6);
	rcore_rc_comp_apply(&st, &v);
	assert_int_equal(st.una_psn, 6);
	p = mkresp(RCORE_RC_ACK, 6, ACKSYN, 0);
	comp(&st, &b, &p, &v, RCORE_RC_COMP_COMPLETE);
	rcore_rc_comp_apply(&st, &v);
	assert_int_equal(st.una_psn, 7);

	/* a remote access NAK at its PSN ends it with that status */
	req_send_wqe(&st, &(struct rcore_rc_wqe){ RCORE_RC_MSG_ATOMIC_WRITE,
						  7, 8 });
	p = mkresp(RCORE_RC_ACK, 7,
		   rcore_aeth_nak(RCORE_NAK_REMOTE_ACCESS_ERR), 0);
	comp(&st, &(struct rcore_rc_wqe){ RCORE_RC_MSG_ATOMIC_WRITE, 7, 8 },
	     &p, &v, RCORE_RC_COMP_FATAL);
	assert_int_equal(v.status, RCORE_WC_REM_ACCESS_ERR);
}

static void test_comp_flush(void **state)
{
	struct rcore_rc_req_state st;
	struct rcore_rc_comp_verdict v;
	struct rcore_rc_wqe f = { RCORE_RC_MSG_FLUSH, 5, 4096 };
	struct rcore_pkt p;

	req_init(&st, 5, 7, 7);
	req_send_wqe(&st, &f);
	assert_int_equal(st.next_psn, 6);

	/* a plain ACK at its PSN: its answer was lost, ask again */
	p = mkresp(RCORE_RC_ACK, 5, ACKSYN, 0);
	comp(&st, &f, &p, &v, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 5);
	/* an answer with data is not its answer */
	p = mkresp(RCORE_RC_READ_RESP_ONLY, 5, ACKSYN, 8);
	comp_ignored(&st, &f, &p, RCORE_RC_CWHY_UNEXPECTED);
	/* an RNR NAK at its PSN: ask again after the timer */
	p = mkresp(RCORE_RC_ACK, 5, rcore_aeth_rnr_nak(1), 0);
	comp(&st, &f, &p, &v, RCORE_RC_COMP_RNR_WAIT);
	assert_int_equal(v.psn, 5);
	/* the empty READ_RESP_ONLY completes it */
	p = mkresp(RCORE_RC_READ_RESP_ONLY, 5, ACKSYN, 0);
	comp(&st, &f, &p, &v, RCORE_RC_COMP_COMPLETE);
	assert_true(v.done);
	assert_int_equal(v.una_psn, 6);
	rcore_rc_comp_apply(&st, &v);

	/* a remote access NAK (the MR lacks the flush right) ends it */
	f.first_psn = 6;
	req_send_wqe(&st, &f);
	p = mkresp(RCORE_RC_ACK, 6,
		   rcore_aeth_nak(RCORE_NAK_REMOTE_ACCESS_ERR), 0);
	comp(&st, &f, &p, &v, RCORE_RC_COMP_FATAL);
	assert_int_equal(v.status, RCORE_WC_REM_ACCESS_ERR);
}

static void test_comp_seq_nak(void **state)
{
	struct rcore_rc_req_state st;
	struct rcore_rc_comp_verdict v;
	struct rcore_rc_wqe w = { RCORE_RC_MSG_WRITE, 0xfffffd, 5 * MTU };
	struct rcore_rc_wqe r = { RCORE_RC_MSG_READ, 2, MTU };
	const uint8_t seq = rcore_aeth_nak(RCORE_NAK_PSN_SEQ_ERR);
	struct rcore_pkt p;

	req_init(&st, 0xfffffd, 1, 7);
	req_send_wqe(&st, &w);		/* 0xfffffd..1 */
	req_send_wqe(&st, &r);		/* 2 */

	/* packet 0xffffff was lost: resend from there */
	p = mkresp(RCORE_RC_ACK, 0xffffff, seq, 0);
	comp(&st, &w, &p, &v, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 0xffffff);
	assert_int_equal(v.una_psn, 0xffffff);
	assert_int_equal(v.retry_left, 0);	/* refilled to 1, minus 1 */
	rcore_rc_comp_apply(&st, &v);
	assert_int_equal(st.una_psn, 0xffffff);
	/* a copy of the NAK: ignored, not retried (nor counted) again */
	comp_ignored(&st, &w, &p, RCORE_RC_CWHY_RETRIED);
	/* a later one makes progress: retried, count refilled */
	p = mkresp(RCORE_RC_ACK, 0, seq, 0);
	comp(&st, &w, &p, &v, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 0);
	assert_int_equal(v.retry_left, 0);
	rcore_rc_comp_apply(&st, &v);
	/* no progress and no retry left: the timer gives up */
	rcore_rc_comp_timeout(&st, &v);
	assert_int_equal(v.action, RCORE_RC_COMP_FATAL);
	assert_int_equal(v.status, RCORE_WC_RETRY_EXC_ERR);

	/* a sequence NAK at the read: resend the read request */
	p = mkresp(RCORE_RC_ACK, 2, seq, 0);
	comp(&st, &w, &p, &v, RCORE_RC_COMP_COMPLETE);
	rcore_rc_comp_apply(&st, &v);
	comp(&st, &r, &p, &v, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 2);
	rcore_rc_comp_apply(&st, &v);
	assert_int_equal(st.una_psn, 2);
}

static void test_comp_rnr(void **state)
{
	struct rcore_rc_req_state st;
	struct rcore_rc_comp_verdict v;
	struct rcore_rc_wqe w = { RCORE_RC_MSG_SEND, 0xffffff, 3 * MTU };
	struct rcore_pkt p;
	unsigned int i;

	req_init(&st, 0xffffff, 3, 2);
	req_send_wqe(&st, &w);
	st.retry_left = 1;

	/* RNR NAK at the first packet: wait the AETH's time, resend */
	p = mkresp(RCORE_RC_ACK, 0xffffff, rcore_aeth_rnr_nak(14), 0);
	comp(&st, &w, &p, &v, RCORE_RC_COMP_RNR_WAIT);
	assert_int_equal(v.psn, 0xffffff);
	assert_int_equal(v.rnr_usec, 1280);
	assert_int_equal(v.rnr_left, 1);
	assert_int_equal(v.retry_left, 1);	/* no progress */
	rcore_rc_comp_apply(&st, &v);
	rcore_rc_comp_check(&st, &w, &p, &v);
	assert_int_equal(v.action, RCORE_RC_COMP_RNR_WAIT);
	assert_int_equal(v.rnr_left, 0);
	rcore_rc_comp_apply(&st, &v);
	comp(&st, &w, &p, &v, RCORE_RC_COMP_FATAL);
	assert_int_equal(v.status, RCORE_WC_RNR_RETRY_EXC_ERR);

	/* progress (RNR NAK at a later PSN) refills both counts */
	p = mkresp(RCORE_RC_ACK, 0, rcore_aeth_rnr_nak(0), 0);
	comp(&st, &w, &p, &v, RCORE_RC_COMP_RNR_WAIT);
	assert_int_equal(v.psn, 0);
	assert_int_equal(v.una_psn, 0);
	assert_int_equal(v.rnr_usec, 655360);
	assert_int_equal(v.rnr_left, 1);
	assert_int_equal(v.retry_left, 3);

	/* rnr_retry 7: for ever, the count never moves */
	req_init(&st, 0xffffff, 3, 7);
	req_send_wqe(&st, &w);
	p = mkresp(RCORE_RC_ACK, 0xffffff, rcore_aeth_rnr_nak(1), 0);
	for (i = 0; i < 100; i++) {
		comp(&st, &w, &p, &v, RCORE_RC_COMP_RNR_WAIT);
		assert_int_equal(v.rnr_left, 7);
		assert_int_equal(v.rnr_usec, 10);
		rcore_rc_comp_apply(&st, &v);
	}
	/* rnr_retry 0: the first RNR NAK is fatal */
	req_init(&st, 0xffffff, 3, 0);
	req_send_wqe(&st, &w);
	comp(&st, &w, &p, &v, RCORE_RC_COMP_FATAL);
	assert_int_equal(v.status, RCORE_WC_RNR_RETRY_EXC_ERR);
}

static void test_comp_fatal_naks(void **state)
{
	static const struct {
		uint8_t code;
		enum rcore_wc_status status;
	} naks[] = {
		{ RCORE_NAK_INVALID_REQ, RCORE_WC_REM_INV_REQ_ERR },
		{ RCORE_NAK_REMOTE_ACCESS_ERR, RCORE_WC_REM_ACCESS_ERR },
		{ RCORE_NAK_REMOTE_OP_ERR, RCORE_WC_REM_OP_ERR },
		{ RCORE_NAK_INVALID_RD_REQ, RCORE_WC_REM_INV_RD_REQ_ERR },
		{ 9, RCORE_WC_REM_OP_ERR },
	};
	struct rcore_rc_req_state st;
	struct rcore_rc_comp_verdict v;
	struct rcore_rc_wqe w = { RCORE_RC_MSG_WRITE, 0xfffffe, 3 * MTU };
	struct rcore_rc_wqe r = { RCORE_RC_MSG_READ, 0xfffffe, 3 * MTU };
	struct rcore_pkt p;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(naks); i++) {
		req_init(&st, 0xfffffe, 7, 7);
		req_send_wqe(&st, &w);
		p = mkresp(RCORE_RC_ACK, 0, rcore_aeth_nak(naks[i].code), 0);
		comp(&st, &w, &p, &v, RCORE_RC_COMP_FATAL);
		assert_int_equal(v.status, naks[i].status);
		req_init(&st, 0xfffffe, 7, 7);
		req_send_wqe(&st, &r);
		p = mkresp(RCORE_RC_ACK, 0xfffffe,
			   rcore_aeth_nak(naks[i].code), 0);
		comp(&st, &r, &p, &v, RCORE_RC_COMP_FATAL);
		assert_int_equal(v.status, naks[i].status);
	}
}

static void test_comp_timeout(void **state)
{
	struct rcore_rc_req_state st;
	struct rcore_rc_comp_verdict v;
	struct rcore_rc_wqe w = { RCORE_RC_MSG_SEND, 0xffffff, 2 * MTU };
	struct rcore_pkt p;

	req_init(&st, 0xffffff, 2, 7);
	rcore_rc_comp_timeout(&st, &v);
	assert_int_equal(v.action, RCORE_RC_COMP_IGNORE);
	assert_int_equal(v.why, RCORE_RC_CWHY_NO_WQE);

	req_send_wqe(&st, &w);
	rcore_rc_comp_timeout(&st, &v);
	assert_int_equal(v.action, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.psn, 0xffffff);
	assert_int_equal(v.retry_left, 1);
	rcore_rc_comp_apply(&st, &v);
	rcore_rc_comp_timeout(&st, &v);
	assert_int_equal(v.action, RCORE_RC_COMP_RETRY);
	assert_int_equal(v.retry_left, 0);
	rcore_rc_comp_apply(&st, &v);
	/* progress refills the count before it runs out */
	p = mkresp(RCORE_RC_ACK, 0xffffff, ACKSYN, 0);
	comp(&st, &w, &p, &v, RCORE_RC_COMP_PROGRESS);
	rcore_rc_comp_apply(&st, &v);
	assert_int_equal(st.retry_left, 2);
	rcore_rc_comp_timeout(&st, &v);
	assert_int_equal(v.psn, 0);
	rcore_rc_comp_apply(&st, &v);
	rcore_rc_comp_timeout(&st, &v);
	rcore_rc_comp_apply(&st, &v);
	rcore_rc_comp_timeout(&st, &v);
	assert_int_equal(v.action, RCORE_RC_COMP_FATAL);
	assert_int_equal(v.status, RCORE_WC_RETRY_EXC_ERR);

	/* retry_cnt 0: no retry at all */
	req_init(&st, 5, 0, 7);
	rcore_rc_req_sent(&st, 5, 1);
	rcore_rc_comp_timeout(&st, &v);
	assert_int_equal(v.action, RCORE_RC_COMP_FATAL);
	assert_int_equal(v.status, RCORE_WC_RETRY_EXC_ERR);
}

/* ---------------------------------------------------------------------- */
/* Simulation: requester and responder over a bad link                     */
/* ---------------------------------------------------------------------- */

#define SIM_MTU		256u
#define SIM_MAXLEN	(5 * SIM_MTU + 77)
#define SIM_PKT_MAX	(SIM_MTU + 64)
#define SIM_LINK_CAP	96
#define SIM_WINDOW	24	/* most PSNs in flight */
#define SIM_RD_ATOMIC	4	/* max_rd_atomic = max_dest_rd_atomic */
#define SIM_TIMEOUT	300	/* steps without progress before a retry */
#define SIM_MAX_STEPS	2000000ul
#define SIM_RNR_CODE	2	/* 20 us: 3 steps */
#define SIM_ACK_EVERY	3
#define SIM_MAX_MSGS	80
#define SIM_RKEY	0x4242u

/* Responder memory: atomic word, read source, one region per write. */
#define SIM_VA_BASE	0x7f0000100000ull
#define SIM_ATOMIC_OFF	0u
#define SIM_READ_OFF	64u
#define SIM_READ_SIZE	(4 * SIM_MAXLEN)
#define SIM_WRITE_OFF	(SIM_READ_OFF + SIM_READ_SIZE)
#define SIM_MEM_SIZE	(SIM_WRITE_OFF + SIM_MAX_MSGS * SIM_MAXLEN)

struct sim_rng {
	uint64_t s;
};

static uint64_t rng_next(struct sim_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rng_below(struct sim_rng *r, uint32_t n)
{
	return n ? (uint32_t)(rng_next(r) % n) : 0;
}

static bool rng_pct(struct sim_rng *r, unsigned int pct)
{
	return rng_below(r, 100) < pct;
}

struct sim_frame {
	uint32_t len;
	uint8_t buf[SIM_PKT_MAX];
};

struct sim_link {
	struct sim_frame q[SIM_LINK_CAP];
	unsigned int n;
};

/* What the links did and which protocol paths the runs went through. */
struct sim_stats {
	unsigned long pkts, dropped, duplicated, reordered;
	unsigned long nak_seq, rnr_nak, dup_ack, dup_read, dup_atomic;
	unsigned long dup_atomic_miss, resp_drop;
	unsigned long retry_nak, timeouts, rnr_wait, read_restart;
	unsigned long progress, complete_again;
	unsigned long comp_why[RCORE_RC_CWHY_COUNT];
	unsigned long resp_why[RCORE_RC_WHY_COUNT];
};

struct sim_cfg {
	uint64_t seed;
	uint32_t start_psn;
	unsigned int nmsg;
	unsigned int drop_pct, dup_pct, reorder_pct;
	unsigned int rq_pct;	/* chance per step of one more recv WQE */
	unsigned int deliver_pct;
};

struct sim_wqe {
	enum rcore_rc_msg kind;
	uint32_t len;
	uint32_t first_psn;
	uint32_t npsn;
	uint64_t rva;
	uint64_t swap_add;
	uint64_t compare;
	uint64_t expect_orig;
	uint64_t orig;
	uint32_t imm;
	bool done;
	uint8_t buf[SIM_MAXLEN];
};

struct sim {
	const struct sim_cfg *cfg;
	struct sim_rng rng;
	struct sim_link to_resp, to_req;
	struct sim_stats *stats;
	unsigned long step;

	/* requester */
	struct rcore_rc_req_state rq;
	struct sim_wqe w[SIM_MAX_MSGS];
	unsigned int nw;
	unsigned int head;		/* oldest WQE not completed */
	unsigned int cur;		/* transmit cursor: WQE ... */
	uint32_t cur_idx;		/* ... and packet index in it */
	unsigned long last_progress;
	unsigned long rnr_until;
	uint64_t atomic_final;

	/* responder */
	struct rcore_rc_resp_state rs;
	uint8_t mem[SIM_MEM_SIZE];
	unsigned int rq_avail;
	bool recv_active;
	uint32_t recv_len;
	uint8_t recv_buf[SIM_MAXLEN];
	unsigned int recv_order[SIM_MAX_MSGS];	/* WQEs taking a recv */
	unsigned int nrecv, recv_done;
	uint64_t wr_va;
	uint32_t wr_off, wr_len;
	struct {
		uint32_t psn;
		uint64_t orig;
		bool valid;
	} acache[SIM_RD_ATOMIC];
	unsigned int acache_next;
};

static uint8_t *sim_mem(struct sim *s, uint64_t va, uint32_t len)
{
	assert_true(va >= SIM_VA_BASE);
	assert_true(va - SIM_VA_BASE + len <= SIM_MEM_SIZE);
	return s->mem + (va - SIM_VA_BASE);
}

static void link_put(struct sim *s, struct sim_link *l, const uint8_t *buf,
		     uint32_t len)
{
	unsigned int copies = 1;

	s->stats->pkts++;
	if (rng_pct(&s->rng, s->cfg->drop_pct)) {
		s->stats->dropped++;
		return;
	}
	if (rng_pct(&s->rng, s->cfg->dup_pct)) {
		s->stats->duplicated++;
		copies = 2;
	}
	while (copies--) {
		if (l->n == SIM_LINK_CAP) {
			s->stats->dropped++;	/* a full queue drops too */
			return;
		}
		l->q[l->n].len = len;
		memcpy(l->q[l->n].buf, buf, len);
		l->n++;
	}
}

static bool link_get(struct sim *s, struct sim_link *l, struct sim_frame *f)
{
	unsigned int i = 0, span;

	if (!l->n)
		return false;
	if (l->n > 1 && rng_pct(&s->rng, s->cfg->reorder_pct)) {
		span = l->n - 1 < 4 ? l->n - 1 : 4;
		i = 1 + rng_below(&s->rng, span);
		s->stats->reordered++;
	}
	*f = l->q[i];
	memmove(&l->q[i], &l->q[i + 1], (l->n - i - 1) * sizeof(l->q[0]));
	l->n--;
	return true;
}

/* Encode @h, @payload, pad and a (zero) ICRC; send it over @l. */
static void sim_xmit(struct sim *s, struct sim_link *l,
		     const struct rcore_pkt *h, const uint8_t *payload,
		     uint32_t plen)
{
	uint8_t buf[SIM_PKT_MAX];
	struct rcore_pkt p = *h;
	uint32_t len;
	int hl;

	p.bth.pad = rcore_pad_len(plen);
	p.bth.pkey = RCORE_DEFAULT_PKEY;
	p.bth.dqpn = 0x11;
	hl = rcore_pkt_build(buf, sizeof(buf), &p);
	assert_true(hl > 0);
	len = (uint32_t)hl + plen + p.bth.pad + RCORE_ICRC_LEN;
	assert_true(len <= sizeof(buf));
	if (plen)
		memcpy(buf + hl, payload, plen);
	memset(buf + hl + plen, 0, p.bth.pad + RCORE_ICRC_LEN);
	link_put(s, l, buf, len);
}

/* --- responder side --- */

static void sim_resp_send_ack(struct sim *s, uint8_t opcode,
			      const struct rcore_rc_ack *ack, uint64_t orig)
{
	struct rcore_pkt h;

	memset(&h, 0, sizeof(h));
	h.bth.opcode = opcode;
	h.bth.psn = ack->psn;
	h.aeth = ack->aeth;
	h.atmack.orig = orig;
	sim_xmit(s, &s->to_req, &h, NULL, 0);
}

static void sim_resp_read(struct sim *s, uint64_t va, uint32_t len,
			  uint32_t psn, uint32_t npsn)
{
	struct rcore_rc_ack ack;
	struct rcore_rc_seg seg;
	struct rcore_pkt h;
	const uint8_t *src = sim_mem(s, va, len);
	uint32_t k;

	/* reads only ever touch the read-only source region */
	assert_true(va - SIM_VA_BASE >= SIM_READ_OFF);
	assert_true(va - SIM_VA_BASE + len <= SIM_READ_OFF + SIM_READ_SIZE);
	assert_int_equal(npsn, rcore_rc_pkt_count(len, SIM_MTU));
	rcore_rc_resp_ack(&s->rs, rcore_rc_credit_code(s->rq_avail, false),
			  &ack);
	for (k = 0; k < npsn; k++) {
		assert_int_equal(rcore_rc_read_resp_seg(len, SIM_MTU, psn, k,
							&seg), RCORE_OK);
		memset(&h, 0, sizeof(h));
		h.bth.opcode = seg.opcode;
		h.bth.psn = seg.psn;
		h.aeth = ack.aeth;
		sim_xmit(s, &s->to_req, &h, src + seg.offset, seg.len);
	}
}

static void sim_recv_complete(struct sim *s, const struct rcore_pkt *p,
			      uint32_t len, bool is_send)
{
	const struct sim_wqe *w;

	if (s->recv_done >= s->nrecv)
		fail_msg("seed %llu: receive completion beyond the %u sent",
			 (unsigned long long)s->cfg->seed, s->nrecv);
	w = &s->w[s->recv_order[s->recv_done]];
	/* exactly once, in order, with the right length and data */
	assert_int_equal(is_send, w->kind <= RCORE_RC_MSG_SEND_INV);
	assert_int_equal(len, w->len);
	if (is_send)
		assert_memory_equal(s->recv_buf, w->buf, len);
	if (w->kind == RCORE_RC_MSG_SEND_IMM ||
	    w->kind == RCORE_RC_MSG_WRITE_IMM)
		assert_int_equal(p->imm, w->imm);
	if (w->kind == RCORE_RC_MSG_SEND_INV)
		assert_int_equal(p->ieth_rkey, w->imm);
	s->recv_done++;
}

static void sim_resp_execute(struct sim *s, const struct rcore_pkt *p,
			     const uint8_t *payload,
			     const struct rcore_rc_resp_verdict *v)
{
	struct rcore_rc_ack ack;
	uint64_t orig = 0, val;
	uint8_t *word;

	if ((v->flags & RCORE_RC_F_NEED_WQE) && !s->rq_avail) {
		rcore_rc_resp_nak(&s->rs, p->bth.psn,
				  rcore_aeth_rnr_nak(SIM_RNR_CODE), &ack);
		assert_int_equal(ack.psn, s->rs.epsn);
		sim_resp_send_ack(s, RCORE_RC_ACK, &ack, 0);
		rcore_rc_resp_nakked(&s->rs);
		s->stats->rnr_nak++;
		return;
	}

	if (v->flags & RCORE_RC_F_SEND) {
		if (v->flags & RCORE_RC_F_FIRST) {
			assert_false(s->recv_active);
			s->rq_avail--;
			s->recv_active = true;
			s->recv_len = 0;
		}
		assert_true(s->recv_active);
		assert_true(s->recv_len + p->payload_len <= SIM_MAXLEN);
		memcpy(s->recv_buf + s->recv_len, payload, p->payload_len);
		s->recv_len += p->payload_len;
		if (v->flags & RCORE_RC_F_RECV_DONE) {
			sim_recv_complete(s, p, s->recv_len, true);
			s->recv_active = false;
		}
	} else if (v->flags & RCORE_RC_F_WRITE) {
		if (v->flags & RCORE_RC_F_FIRST) {
			assert_int_equal(p->reth.rkey, SIM_RKEY);
			s->wr_va = p->reth.va;
			s->wr_len = p->reth.len;
			s->wr_off = 0;
		}
		memcpy(sim_mem(s, s->wr_va + s->wr_off, p->payload_len),
		       payload, p->payload_len);
		s->wr_off += p->payload_len;
		if (v->flags & RCORE_RC_F_RECV_DONE) {
			s->rq_avail--;
			sim_recv_complete(s, p, s->wr_len, false);
		}
	} else if (v->flags & RCORE_RC_F_ATOMIC) {
		word = sim_mem(s, p->atmeth.va, 8);
		memcpy(&orig, word, 8);
		if (p->bth.opcode == RCORE_RC_FETCH_ADD)
			val = orig + p->atmeth.swap_add;
		else
			val = orig == p->atmeth.compare ? p->atmeth.swap_add
							: orig;
		memcpy(word, &val, 8);
		s->acache[s->acache_next].psn = p->bth.psn;
		s->acache[s->acache_next].orig = orig;
		s->acache[s->acache_next].valid = true;
		s->acache_next = (s->acache_next + 1) % SIM_RD_ATOMIC;
	}

	rcore_rc_resp_executed(&s->rs, p, v);

	if (v->flags & RCORE_RC_F_READ) {
		sim_resp_read(s, p->reth.va, p->reth.len, v->resp_psn,
			      v->npsn);
	} else if (v->flags & RCORE_RC_F_ATOMIC) {
		rcore_rc_resp_ack(&s->rs, 0, &ack);
		ack.psn = v->resp_psn;
		sim_resp_send_ack(s, RCORE_RC_ATOMIC_ACK, &ack, orig);
	} else if (v->flags & RCORE_RC_F_ACK_NOW) {
		rcore_rc_resp_ack(&s->rs,
				  rcore_rc_credit_code(s->rq_avail, false),
				  &ack);
		sim_resp_send_ack(s, RCORE_RC_ACK, &ack, 0);
	}
}

static void sim_resp_rx(struct sim *s, const struct sim_frame *f)
{
	struct rcore_rc_resp_verdict v;
	struct rcore_rc_ack ack;
	struct rcore_pkt p;
	unsigned int i;

	assert_int_equal(rcore_pkt_parse(f->buf, f->len, &p), RCORE_OK);
	rcore_rc_resp_check(&s->rs, &p, &v);
	switch (v.action) {
	case RCORE_RC_RESP_EXECUTE:
		sim_resp_execute(s, &p, f->buf + p.hdr_len, &v);
		break;
	case RCORE_RC_RESP_DUPLICATE:
		switch (v.dup) {
		case RCORE_RC_DUP_ACK:
			s->stats->dup_ack++;
			sim_resp_send_ack(s, RCORE_RC_ACK, &v.ack, 0);
			break;
		case RCORE_RC_DUP_READ:
			s->stats->dup_read++;
			sim_resp_read(s, p.reth.va, p.reth.len, v.resp_psn,
				      v.npsn);
			break;
		case RCORE_RC_DUP_ATOMIC:
			s->stats->dup_atomic++;
			for (i = 0; i < SIM_RD_ATOMIC; i++)
				if (s->acache[i].valid &&
				    s->acache[i].psn == v.resp_psn)
					break;
			if (i == SIM_RD_ATOMIC) {
				s->stats->dup_atomic_miss++;
				break;
			}
			rcore_rc_resp_ack(&s->rs, 0, &ack);
			ack.psn = v.resp_psn;
			sim_resp_send_ack(s, RCORE_RC_ATOMIC_ACK, &ack,
					  s->acache[i].orig);
			break;
		default:
			fail_msg("duplicate of kind %d", v.dup);
		}
		break;
	case RCORE_RC_RESP_NAK_SEQ:
		s->stats->nak_seq++;
		assert_int_equal(v.ack.psn, s->rs.epsn);
		sim_resp_send_ack(s, RCORE_RC_ACK, &v.ack, 0);
		rcore_rc_resp_nakked(&s->rs);
		break;
	case RCORE_RC_RESP_NAK_INVALID:
		fail_msg("seed %llu step %lu: opcode %#x psn %#x invalid (%d)",
			 (unsigned long long)s->cfg->seed, s->step,
			 p.bth.opcode, p.bth.psn, v.why);
		break;
	case RCORE_RC_RESP_DROP:
		s->stats->resp_drop++;
		s->stats->resp_why[v.why]++;
		break;
	}
}

/* --- requester side --- */

static bool sim_in_wqe(const struct sim_wqe *w, uint32_t psn)
{
	return rcore_psn_in_range(psn, w->first_psn,
				  rcore_psn_add(w->first_psn,
						(int32_t)w->npsn - 1));
}

/* Point the transmit cursor at @psn. */
static void sim_cursor_to(struct sim *s, uint32_t psn)
{
	unsigned int i;

	for (i = s->head; i < s->nw; i++) {
		if (sim_in_wqe(&s->w[i], psn)) {
			s->cur = i;
			s->cur_idx = (uint32_t)
				rcore_psn_diff(psn, s->w[i].first_psn);
			return;
		}
	}
	s->cur = s->nw;
	s->cur_idx = 0;
}

static unsigned int sim_rd_atomic_outstanding(const struct sim *s)
{
	unsigned int i, n = 0;

	for (i = s->head; i < s->nw; i++)
		if (!s->w[i].done && rcore_rc_msg_is_rd_atomic(s->w[i].kind) &&
		    rcore_psn_before(s->w[i].first_psn, s->rq.next_psn))
			n++;
	return n;
}

static void sim_req_tx(struct sim *s)
{
	const struct rcore_opcode_info *info;
	struct rcore_rc_seg seg;
	struct rcore_pkt h;
	struct sim_wqe *w;
	uint32_t npsn, plen = 0;
	const uint8_t *payload = NULL;

	if (s->step < s->rnr_until)
		return;
	/* never resend what is acknowledged already */
	if (s->cur < s->nw &&
	    rcore_psn_before(rcore_psn_add(s->w[s->cur].first_psn,
					   (int32_t)s->cur_idx),
			     s->rq.una_psn))
		sim_cursor_to(s, s->rq.una_psn);
	if (s->cur >= s->nw)
		return;
	w = &s->w[s->cur];
	assert_int_equal(rcore_rc_req_seg(w->kind, w->len, SIM_MTU,
					  w->first_psn, s->cur_idx, &seg),
			 RCORE_OK);
	npsn = w->kind == RCORE_RC_MSG_READ ?
	       rcore_rc_pkt_count(seg.len, SIM_MTU) : 1;
	if (!rcore_psn_before(seg.psn, s->rq.next_psn)) {
		/* new PSNs: stay in the window and the rd/atomic limit */
		if (rcore_psn_diff(rcore_psn_add(seg.psn, (int32_t)npsn - 1),
				   s->rq.una_psn) >= SIM_WINDOW)
			return;
		if (rcore_rc_msg_is_rd_atomic(w->kind) &&
		    sim_rd_atomic_outstanding(s) >= SIM_RD_ATOMIC)
			return;
		assert_true(rcore_rc_req_window_ok(&s->rq, npsn));
		assert_int_equal(seg.psn, s->rq.next_psn);
	} else if (w->kind == RCORE_RC_MSG_READ && s->cur_idx) {
		s->stats->read_restart++;
	}

	memset(&h, 0, sizeof(h));
	info = rcore_opcode_info(seg.opcode);
	assert_non_null(info);
	h.bth.opcode = seg.opcode;
	h.bth.psn = seg.psn;
	h.bth.ackreq = seg.ackreq;
	if (info->hdrs & RCORE_HDR_RETH) {
		h.reth.rkey = SIM_RKEY;
		if (w->kind == RCORE_RC_MSG_READ) {
			h.reth.va = w->rva + seg.offset;
			h.reth.len = seg.len;
		} else {
			h.reth.va = w->rva;
			h.reth.len = w->len;
		}
	}
	if (info->hdrs & RCORE_HDR_ATMETH) {
		h.atmeth.va = w->rva;
		h.atmeth.rkey = SIM_RKEY;
		h.atmeth.swap_add = w->swap_add;
		h.atmeth.compare = w->compare;
	}
	if (info->hdrs & RCORE_HDR_IMMDT)
		h.imm = w->imm;
	if (info->hdrs & RCORE_HDR_IETH)
		h.ieth_rkey = w->imm;
	if (info->flags & RCORE_OPF_PAYLOAD) {
		payload = w->buf + seg.offset;
		plen = seg.len;
	}
	sim_xmit(s, &s->to_resp, &h, payload, plen);
	rcore_rc_req_sent(&s->rq, seg.psn, npsn);

	if (seg.last) {
		s->cur++;
		s->cur_idx = 0;
	} else {
		s->cur_idx++;
	}
}

static void sim_req_complete(struct sim *s)
{
	struct sim_wqe *w = &s->w[s->head];
	unsigned int i;

	assert_false(w->done);
	w->done = true;
	switch (w->kind) {
	case RCORE_RC_MSG_READ:
		assert_memory_equal(w->buf, sim_mem(s, w->rva, w->len),
				    w->len);
		break;
	case RCORE_RC_MSG_FETCH_ADD:
	case RCORE_RC_MSG_CMP_SWAP:
		/* one execution each, in order: the sequence is exact */
		assert_true(w->orig == w->expect_orig);
		break;
	case RCORE_RC_MSG_WRITE:
	case RCORE_RC_MSG_WRITE_IMM:
		/* acknowledged means written */
		assert_memory_equal(sim_mem(s, w->rva, w->len), w->buf,
				    w->len);
		break;
	default:
		break;
	}
	/* a send or write-imm acknowledged was received */
	for (i = 0; i < s->nrecv; i++)
		if (s->recv_order[i] == s->head)
			assert_true(i < s->recv_done);
	s->head++;
}

static void sim_req_rx(struct sim *s, const struct sim_frame *f)
{
	struct rcore_rc_comp_verdict v;
	struct rcore_rc_wqe rw;
	struct rcore_pkt p;
	struct sim_wqe *w;
	uint32_t una;
	bool again = true;

	memset(&rw, 0, sizeof(rw));
	assert_int_equal(rcore_pkt_parse(f->buf, f->len, &p), RCORE_OK);
	while (again) {
		again = false;
		w = NULL;
		if (s->head < s->nw &&
		    rcore_psn_before(s->w[s->head].first_psn, s->rq.next_psn))
			w = &s->w[s->head];
		if (w)
			rw = (struct rcore_rc_wqe){ w->kind, w->first_psn,
						    w->len };
		rcore_rc_comp_check(&s->rq, w ? &rw : NULL, &p, &v);
		switch (v.action) {
		case RCORE_RC_COMP_IGNORE:
			s->stats->comp_why[v.why]++;
			break;
		case RCORE_RC_COMP_PROGRESS:
			s->stats->progress++;
			break;
		case RCORE_RC_COMP_COMPLETE:
			assert_false(rcore_rc_msg_is_rd_atomic(w->kind));
			sim_req_complete(s);
			again = v.again;
			if (again)
				s->stats->complete_again++;
			break;
		case RCORE_RC_COMP_READ_DATA:
			assert_int_equal(w->kind, RCORE_RC_MSG_READ);
			assert_true(v.offset + v.len <= w->len);
			memcpy(w->buf + v.offset, f->buf + p.hdr_len, v.len);
			if (v.done)
				sim_req_complete(s);
			break;
		case RCORE_RC_COMP_ATOMIC_DATA:
			assert_true(v.done);
			w->orig = p.atmack.orig;
			sim_req_complete(s);
			break;
		case RCORE_RC_COMP_RETRY:
			s->stats->retry_nak++;
			break;
		case RCORE_RC_COMP_RNR_WAIT:
			s->stats->rnr_wait++;
			assert_int_equal(v.rnr_usec,
					 rcore_rnr_timer_usec(SIM_RNR_CODE));
			s->rnr_until = s->step + 1 + v.rnr_usec / 10;
			break;
		case RCORE_RC_COMP_FATAL:
			fail_msg("seed %llu step %lu: fatal, status %d",
				 (unsigned long long)s->cfg->seed, s->step,
				 v.status);
			break;
		}
		una = s->rq.una_psn;
		rcore_rc_comp_apply(&s->rq, &v);
		if (v.action == RCORE_RC_COMP_RETRY ||
		    v.action == RCORE_RC_COMP_RNR_WAIT)
			sim_cursor_to(s, v.psn);
		if (s->rq.una_psn != una ||
		    v.action == RCORE_RC_COMP_RETRY)
			s->last_progress = s->step;
		if (v.action == RCORE_RC_COMP_RNR_WAIT)
			s->last_progress = s->rnr_until;
	}
}

static void sim_timer(struct sim *s)
{
	struct rcore_rc_comp_verdict v;

	if (s->rq.una_psn == s->rq.next_psn || s->step < s->rnr_until ||
	    s->step <= s->last_progress + SIM_TIMEOUT)
		return;
	rcore_rc_comp_timeout(&s->rq, &v);
	if (v.action != RCORE_RC_COMP_RETRY)
		fail_msg("seed %llu step %lu: timeout gave %d (status %d)",
			 (unsigned long long)s->cfg->seed, s->step, v.action,
			 v.status);
	assert_int_equal(v.psn, s->rq.una_psn);
	rcore_rc_comp_apply(&s->rq, &v);
	sim_cursor_to(s, v.psn);
	s->last_progress = s->step;
	s->stats->timeouts++;
}

static uint32_t sim_pick_len(struct sim *s)
{
	static const uint32_t edge[] = {
		0, 1, 4, SIM_MTU - 1, SIM_MTU, SIM_MTU + 1, 2 * SIM_MTU,
		3 * SIM_MTU - 3, SIM_MAXLEN,
	};

	if (rng_pct(&s->rng, 40))
		return edge[rng_below(&s->rng, ARRAY_SIZE(edge))];
	return rng_below(&s->rng, SIM_MAXLEN + 1);
}

static void sim_post(struct sim *s)
{
	static const enum rcore_rc_msg kinds[] = {
		RCORE_RC_MSG_SEND, RCORE_RC_MSG_SEND, RCORE_RC_MSG_SEND,
		RCORE_RC_MSG_SEND_IMM, RCORE_RC_MSG_SEND_INV,
		RCORE_RC_MSG_WRITE, RCORE_RC_MSG_WRITE, RCORE_RC_MSG_WRITE,
		RCORE_RC_MSG_WRITE_IMM, RCORE_RC_MSG_READ, RCORE_RC_MSG_READ,
		RCORE_RC_MSG_READ, RCORE_RC_MSG_FETCH_ADD,
		RCORE_RC_MSG_FETCH_ADD, RCORE_RC_MSG_CMP_SWAP,
	};
	uint64_t val = 0x1000;
	uint32_t psn = s->cfg->start_psn;
	struct sim_wqe *w;
	unsigned int i, k;

	memcpy(s->mem + SIM_ATOMIC_OFF, &val, 8);
	for (k = 0; k < SIM_READ_SIZE; k++)
		s->mem[SIM_READ_OFF + k] = (uint8_t)rng_next(&s->rng);

	s->nw = s->cfg->nmsg;
	for (i = 0; i < s->nw; i++) {
		w = &s->w[i];
		w->kind = kinds[rng_below(&s->rng, ARRAY_SIZE(kinds))];
		w->len = sim_pick_len(s);
		w->imm = (uint32_t)rng_next(&s->rng);
		for (k = 0; k < SIM_MAXLEN; k++)
			w->buf[k] = (uint8_t)rng_next(&s->rng);
		if (w->kind <= RCORE_RC_MSG_SEND_INV ||
		    w->kind == RCORE_RC_MSG_WRITE_IMM)
			s->recv_order[s->nrecv++] = i;
		switch (w->kind) {
		case RCORE_RC_MSG_SEND:
		case RCORE_RC_MSG_SEND_IMM:
		case RCORE_RC_MSG_SEND_INV:
			break;
		case RCORE_RC_MSG_WRITE_IMM:
		case RCORE_RC_MSG_WRITE:
			w->rva = SIM_VA_BASE + SIM_WRITE_OFF + i * SIM_MAXLEN;
			break;
		case RCORE_RC_MSG_READ:
			w->rva = SIM_VA_BASE + SIM_READ_OFF +
				 rng_below(&s->rng,
					   SIM_READ_SIZE - w->len + 1);
			/* poison: data not delivered shows */
			memset(w->buf, 0xee, SIM_MAXLEN);
			break;
		case RCORE_RC_MSG_FETCH_ADD:
			w->len = 8;
			w->rva = SIM_VA_BASE + SIM_ATOMIC_OFF;
			w->swap_add = rng_next(&s->rng) >> 8;
			w->expect_orig = val;
			val += w->swap_add;
			break;
		case RCORE_RC_MSG_CMP_SWAP:
			w->len = 8;
			w->rva = SIM_VA_BASE + SIM_ATOMIC_OFF;
			w->swap_add = rng_next(&s->rng);
			/* half of them match */
			w->compare = rng_pct(&s->rng, 50) ? val : val ^ 1;
			w->expect_orig = val;
			if (w->compare == val)
				val = w->swap_add;
			break;
		default:
			fail();
		}
		w->first_psn = psn;
		w->npsn = rcore_rc_msg_psns(w->kind, w->len, SIM_MTU);
		assert_true(w->npsn >= 1);
		psn = rcore_psn_add(psn, (int32_t)w->npsn);
	}
	s->atomic_final = val;
}

static void sim_run(const struct sim_cfg *cfg, struct sim_stats *stats)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct sim_frame f;
	unsigned long drain;
	uint64_t word;
	unsigned int i;

	assert_non_null(s);
	assert_true(cfg->nmsg <= SIM_MAX_MSGS);
	s->cfg = cfg;
	s->stats = stats;
	s->rng.s = cfg->seed;
	assert_int_equal(rcore_rc_req_init(&s->rq, cfg->start_psn, SIM_MTU, 7,
					   RCORE_RC_RNR_RETRY_INFINITE),
			 RCORE_OK);
	assert_int_equal(rcore_rc_resp_init(&s->rs, cfg->start_psn, SIM_MTU,
					    ALL_ACC, SIM_ACK_EVERY),
			 RCORE_OK);
	s->rq_avail = 1;
	sim_post(s);

	for (s->step = 0; s->head < s->nw; s->step++) {
		if (s->step >= SIM_MAX_STEPS)
			fail_msg("seed %llu: livelock, %u of %u done",
				 (unsigned long long)cfg->seed, s->head,
				 s->nw);
		if (s->rq_avail < 8 && rng_pct(&s->rng, cfg->rq_pct))
			s->rq_avail++;
		sim_req_tx(s);
		sim_req_tx(s);
		if (rng_pct(&s->rng, cfg->deliver_pct) &&
		    link_get(s, &s->to_resp, &f))
			sim_resp_rx(s, &f);
		if (rng_pct(&s->rng, cfg->deliver_pct) &&
		    link_get(s, &s->to_req, &f))
			sim_req_rx(s, &f);
		sim_timer(s);
	}

	/* late copies still in flight must change nothing */
	for (drain = 0; s->to_resp.n || s->to_req.n; drain++) {
		assert_true(drain < 100000);
		if (link_get(s, &s->to_resp, &f))
			sim_resp_rx(s, &f);
		if (link_get(s, &s->to_req, &f))
			sim_req_rx(s, &f);
	}

	for (i = 0; i < s->nw; i++)
		assert_true(s->w[i].done);
	assert_int_equal(s->recv_done, s->nrecv);
	assert_false(s->recv_active);
	memcpy(&word, s->mem + SIM_ATOMIC_OFF, 8);
	assert_true(word == s->atomic_final);
	for (i = 0; i < s->nw; i++)
		if (s->w[i].kind == RCORE_RC_MSG_WRITE ||
		    s->w[i].kind == RCORE_RC_MSG_WRITE_IMM)
			assert_memory_equal(sim_mem(s, s->w[i].rva,
						    s->w[i].len),
					    s->w[i].buf, s->w[i].len);
	/* both ends agree on where the stream ends; one MSN per message */
	assert_int_equal(s->rq.una_psn, s->rq.next_psn);
	assert_int_equal(s->rs.epsn, s->rq.next_psn);
	assert_int_equal(s->rs.msn, s->nw);
	assert_false(s->rs.in_msg);
	free(s);
}

static const struct sim_cfg sim_fixed[] = {
	/* seed, start PSN, msgs, drop, dup, reorder, rq, deliver */
	{ 1, 0xfffff0, 64, 5, 3, 20, 20, 70 },
	{ 2, 0xffffe0, 64, 10, 5, 30, 5, 70 },
	{ 3, 0xfffffa, 80, 15, 5, 40, 10, 60 },
	{ 4, 0x7ffff0, 64, 3, 10, 10, 3, 80 },
	{ 5, 0xffffff, 64, 0, 20, 50, 50, 50 },
	{ 6, 0xfffff8, 64, 20, 0, 0, 30, 90 },
	{ 7, 0, 64, 2, 2, 60, 1, 70 },
};

static void test_sim_lossless(void **state)
{
	/* A clean link: no loss, no copies, in order, receive WQEs ready */
	static const struct sim_cfg clean = {
		42, 0xffffc0, 80, 0, 0, 0, 100, 100
	};
	struct sim_stats st;

	memset(&st, 0, sizeof(st));
	sim_run(&clean, &st);
	/* nothing to recover from, so nothing was retried or NAKed */
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.nak_seq, 0);
	assert_int_equal(st.retry_nak, 0);
	assert_int_equal(st.timeouts, 0);
	assert_int_equal(st.dup_ack + st.dup_read + st.dup_atomic, 0);
	assert_int_equal(st.resp_drop, 0);
	assert_int_equal(st.comp_why[RCORE_RC_CWHY_RETRIED], 0);
	/* coalesced ACKs did acknowledge several WQEs at once */
	assert_true(st.progress + st.complete_again > 0);
}

static void test_sim_lossy(void **state)
{
	struct sim_stats st;
	struct sim_cfg cfg;
	struct sim_rng r = { 0x5eed };
	unsigned int i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < ARRAY_SIZE(sim_fixed); i++)
		sim_run(&sim_fixed[i], &st);
	/* and a spread of random link conditions, fixed seeds */
	for (i = 0; i < 40; i++) {
		cfg = (struct sim_cfg){
			.seed = 1000 + i,
			.start_psn = (0xffffff - rng_below(&r, 200)) &
				     0xffffff,
			.nmsg = 20 + rng_below(&r, SIM_MAX_MSGS - 19),
			.drop_pct = rng_below(&r, 16),
			.dup_pct = rng_below(&r, 16),
			.reorder_pct = rng_below(&r, 50),
			.rq_pct = 1 + rng_below(&r, 40),
			.deliver_pct = 50 + rng_below(&r, 51),
		};
		sim_run(&cfg, &st);
	}

	print_message("sim: %lu pkts: %lu lost, %lu copied, %lu reordered\n",
		      st.pkts, st.dropped, st.duplicated, st.reordered);
	print_message("sim: responder: %lu seq NAKs, %lu RNR NAKs\n",
		      st.nak_seq, st.rnr_nak);
	print_message("sim: responder: dup ack/read/atomic %lu/%lu/%lu\n",
		      st.dup_ack, st.dup_read, st.dup_atomic);
	print_message("sim: responder: %lu atomics gone, %lu drops\n",
		      st.dup_atomic_miss, st.resp_drop);
	print_message("sim: requester: %lu NAK retries, %lu timeouts\n",
		      st.retry_nak, st.timeouts);
	print_message("sim: requester: %lu RNR waits, %lu read restarts\n",
		      st.rnr_wait, st.read_restart);
	print_message("sim: requester: ignored %lu stale\n",
		      st.comp_why[RCORE_RC_CWHY_STALE]);
	print_message("sim: requester: ignored %lu retries under way\n",
		      st.comp_why[RCORE_RC_CWHY_RETRIED]);

	/* the runs went through every recovery path */
	assert_true(st.dropped > 0 && st.duplicated > 0 && st.reordered > 0);
	assert_true(st.nak_seq > 0);
	assert_true(st.rnr_nak > 0);
	assert_true(st.rnr_wait > 0);
	assert_true(st.dup_ack > 0);
	assert_true(st.dup_read > 0);
	assert_true(st.dup_atomic > 0);
	assert_true(st.retry_nak > 0);
	assert_true(st.timeouts > 0);
	assert_true(st.read_restart > 0);
	assert_true(st.progress > 0);
	assert_true(st.complete_again > 0);
	assert_true(st.resp_why[RCORE_RC_WHY_NAK_SENT] > 0);
	assert_true(st.resp_why[RCORE_RC_WHY_DUP_NO_ACK] > 0);
	assert_true(st.comp_why[RCORE_RC_CWHY_STALE] > 0);
	assert_true(st.comp_why[RCORE_RC_CWHY_RETRIED] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mtu),
		cmocka_unit_test(test_pkt_count),
		cmocka_unit_test(test_msg_psns),
		cmocka_unit_test(test_req_opcode),
		cmocka_unit_test(test_req_seg),
		cmocka_unit_test(test_read_resp_seg),
		cmocka_unit_test(test_wc_status),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_credit_code),
		cmocka_unit_test(test_resp_init),
		cmocka_unit_test(test_resp_execute_send),
		cmocka_unit_test(test_resp_execute_write),
		cmocka_unit_test(test_resp_execute_read_atomic),
		cmocka_unit_test(test_resp_duplicates),
		cmocka_unit_test(test_resp_out_of_sequence),
		cmocka_unit_test(test_resp_not_request),
		cmocka_unit_test(test_resp_atomic_write),
		cmocka_unit_test(test_resp_flush),
		cmocka_unit_test(test_resp_invalid),
		cmocka_unit_test(test_resp_ack_coalescing),
		cmocka_unit_test(test_req_init_sent),
		cmocka_unit_test(test_comp_ack),
		cmocka_unit_test(test_comp_stale_and_bad),
		cmocka_unit_test(test_comp_read),
		cmocka_unit_test(test_comp_read_chunk),
		cmocka_unit_test(test_largest_read),
		cmocka_unit_test(test_comp_implied_nak),
		cmocka_unit_test(test_comp_implied_ack),
		cmocka_unit_test(test_comp_atomic),
		cmocka_unit_test(test_comp_atomic_write),
		cmocka_unit_test(test_comp_flush),
		cmocka_unit_test(test_comp_seq_nak),
		cmocka_unit_test(test_comp_rnr),
		cmocka_unit_test(test_comp_fatal_naks),
		cmocka_unit_test(test_comp_timeout),
		cmocka_unit_test(test_sim_lossless),
		cmocka_unit_test(test_sim_lossy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
