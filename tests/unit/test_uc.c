// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * UC transport decisions (rcore/uc.h): the UC opcodes of each message,
 * the responder's PSN resynchronisation after a loss, messages dropped
 * where RC would NAK, and a simulation of a lossy link on which every
 * message that arrives whole is delivered and no other is.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rcore/uc.h>

#define MTU	256u

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

static void resp_init(struct rcore_rc_resp_state *st, uint32_t epsn,
		      unsigned int access)
{
	assert_int_equal(rcore_rc_resp_init(st, epsn, MTU, access, 0),
			 RCORE_OK);
}

/* The caller's sequence (uc.h) up to the execution; returns the action. */
static int uc_rx(struct rcore_rc_resp_state *st, const struct rcore_pkt *p,
		 struct rcore_uc_resp_verdict *v)
{
	struct rcore_pkt rp = *p;

	rcore_uc_resp_check(st, p, v);
	rcore_uc_resp_begin(st, p, v);
	if (v->rc.action == RCORE_RC_RESP_EXECUTE) {
		assert_false(v->rc.flags & RCORE_RC_F_ACK_NOW);
		rp.bth.opcode = v->rc_opcode;
		rcore_rc_resp_executed(st, &rp, &v->rc);
	}
	return v->rc.action;
}

static void test_msg_ok(void **state)
{
	assert_true(rcore_uc_msg_ok(RCORE_RC_MSG_SEND));
	assert_true(rcore_uc_msg_ok(RCORE_RC_MSG_SEND_IMM));
	assert_true(rcore_uc_msg_ok(RCORE_RC_MSG_WRITE));
	assert_true(rcore_uc_msg_ok(RCORE_RC_MSG_WRITE_IMM));
	assert_false(rcore_uc_msg_ok(RCORE_RC_MSG_SEND_INV));
	assert_false(rcore_uc_msg_ok(RCORE_RC_MSG_READ));
	assert_false(rcore_uc_msg_ok(RCORE_RC_MSG_CMP_SWAP));
	assert_false(rcore_uc_msg_ok(RCORE_RC_MSG_FETCH_ADD));
	assert_false(rcore_uc_msg_ok(RCORE_RC_MSG_COUNT));
}

static void test_rc_opcode(void **state)
{
	unsigned int op;

	for (op = 0; op < 256; op++) {
		int rc = rcore_uc_rc_opcode((uint8_t)op);

		if (op >= RCORE_UC_SEND_FIRST &&
		    op <= RCORE_UC_WRITE_ONLY_IMM)
			assert_int_equal(rc, op - 0x20);
		else
			assert_int_equal(rc, RCORE_ERR_OPCODE);
	}
	assert_int_equal(rcore_uc_rc_opcode(RCORE_UC_WRITE_LAST_IMM),
			 RCORE_RC_WRITE_LAST_IMM);
	assert_int_equal(rcore_uc_rc_opcode(RCORE_UC_SEND_ONLY_IMM),
			 RCORE_RC_SEND_ONLY_IMM);
}

static void test_req_seg(void **state)
{
	static const struct {
		enum rcore_rc_msg kind;
		uint32_t len;
		uint8_t ops[4];
	} c[] = {
		{ RCORE_RC_MSG_SEND, 3 * MTU, { RCORE_UC_SEND_FIRST,
		  RCORE_UC_SEND_MIDDLE, RCORE_UC_SEND_LAST } },
		{ RCORE_RC_MSG_SEND_IMM, 2 * MTU + 1, { RCORE_UC_SEND_FIRST,
		  RCORE_UC_SEND_MIDDLE, RCORE_UC_SEND_LAST_IMM } },
		{ RCORE_RC_MSG_SEND, 0, { RCORE_UC_SEND_ONLY } },
		{ RCORE_RC_MSG_SEND_IMM, MTU, { RCORE_UC_SEND_ONLY_IMM } },
		{ RCORE_RC_MSG_WRITE, 3 * MTU, { RCORE_UC_WRITE_FIRST,
		  RCORE_UC_WRITE_MIDDLE, RCORE_UC_WRITE_LAST } },
		{ RCORE_RC_MSG_WRITE_IMM, MTU + 1, { RCORE_UC_WRITE_FIRST,
		  RCORE_UC_WRITE_LAST_IMM } },
		{ RCORE_RC_MSG_WRITE, 1, { RCORE_UC_WRITE_ONLY } },
		{ RCORE_RC_MSG_WRITE_IMM, 0, { RCORE_UC_WRITE_ONLY_IMM } },
	};
	struct rcore_rc_seg seg;
	unsigned int i, k, n;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		n = rcore_rc_pkt_count(c[i].len, MTU);
		for (k = 0; k < n; k++) {
			assert_int_equal(rcore_uc_req_seg(c[i].kind, c[i].len,
							  MTU, 0xfffffe, k,
							  &seg), RCORE_OK);
			assert_int_equal(seg.opcode, c[i].ops[k]);
			assert_false(seg.ackreq);
			assert_int_equal(seg.psn, (0xfffffe + k) & 0xffffff);
			assert_int_equal(seg.offset, k * MTU);
			assert_int_equal(seg.first, k == 0);
			assert_int_equal(seg.last, k == n - 1);
		}
		assert_int_equal(rcore_uc_req_seg(c[i].kind, c[i].len, MTU, 0,
						  n, &seg), RCORE_ERR_RANGE);
	}
	assert_int_equal(rcore_uc_req_seg(RCORE_RC_MSG_READ, 8, MTU, 0, 0,
					  &seg), RCORE_ERR_OPCODE);
	assert_int_equal(rcore_uc_req_seg(RCORE_RC_MSG_FETCH_ADD, 8, MTU, 0,
					  0, &seg), RCORE_ERR_OPCODE);
	assert_int_equal(rcore_uc_req_seg(RCORE_RC_MSG_SEND_INV, 8, MTU, 0,
					  0, &seg), RCORE_ERR_OPCODE);
	assert_int_equal(rcore_uc_req_seg(RCORE_RC_MSG_SEND, 8, 300, 0, 0,
					  &seg), RCORE_ERR_RANGE);
}

static void test_resp_in_order(void **state)
{
	struct rcore_rc_resp_state st;
	struct rcore_uc_resp_verdict v;
	struct rcore_pkt p;

	resp_init(&st, 10, RCORE_RC_ACC_WRITE);
	p = mkpkt(RCORE_UC_SEND_FIRST, 10, MTU);
	p.bth.ackreq = true;	/* meaningless on UC: no ACK due */
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	assert_int_equal(v.rc_opcode, RCORE_RC_SEND_FIRST);
	assert_int_equal(v.rc.flags, RCORE_RC_F_FIRST | RCORE_RC_F_SEND |
			 RCORE_RC_F_NEED_WQE);
	assert_false(v.abort);
	p = mkpkt(RCORE_UC_SEND_MIDDLE, 11, MTU);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	p = mkpkt(RCORE_UC_SEND_LAST_IMM, 12, 3);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	assert_int_equal(v.rc.flags, RCORE_RC_F_LAST | RCORE_RC_F_SEND |
			 RCORE_RC_F_IMM | RCORE_RC_F_RECV_DONE);
	assert_false(st.in_msg);
	assert_int_equal(st.epsn, 13);

	p = mkreth(RCORE_UC_WRITE_FIRST, 13, MTU, 2 * MTU + 5);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	assert_int_equal(st.resid, MTU + 5);
	p = mkpkt(RCORE_UC_WRITE_MIDDLE, 14, MTU);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	p = mkpkt(RCORE_UC_WRITE_LAST_IMM, 15, 5);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	assert_int_equal(v.rc.flags, RCORE_RC_F_LAST | RCORE_RC_F_WRITE |
			 RCORE_RC_F_IMM | RCORE_RC_F_NEED_WQE |
			 RCORE_RC_F_RECV_DONE);
	p = mkreth(RCORE_UC_WRITE_ONLY, 16, 7, 7);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	assert_int_equal(st.epsn, 17);
	/* PSN wraps */
	p = mkpkt(RCORE_UC_SEND_FIRST, 0xffffff, MTU);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	p = mkpkt(RCORE_UC_SEND_LAST, 0, 1);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	assert_int_equal(st.epsn, 1);
}

static void test_resp_loss(void **state)
{
	struct rcore_rc_resp_state st;
	struct rcore_uc_resp_verdict v;
	struct rcore_pkt p;

	resp_init(&st, 100, RCORE_RC_ACC_WRITE);
	p = mkpkt(RCORE_UC_SEND_FIRST, 100, MTU);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	/* 101 lost: 102 aborts the send, 103 (its LAST) is dropped too */
	p = mkpkt(RCORE_UC_SEND_MIDDLE, 102, MTU);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_DROP);
	assert_true(v.abort);
	assert_false(st.in_msg);
	p = mkpkt(RCORE_UC_SEND_LAST, 103, 1);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_DROP);
	assert_false(v.abort);
	/* the next message goes through, at its own PSN */
	p = mkpkt(RCORE_UC_SEND_ONLY, 104, 9);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	assert_false(v.abort);
	assert_int_equal(st.epsn, 105);

	/* a lost LAST: the next FIRST aborts the message and starts anew */
	p = mkreth(RCORE_UC_WRITE_FIRST, 105, MTU, 2 * MTU);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	p = mkreth(RCORE_UC_WRITE_FIRST, 107, MTU, 3 * MTU);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	assert_true(v.abort);
	assert_true(st.in_msg);
	assert_int_equal(st.resid, 2 * MTU);
	assert_int_equal(st.epsn, 108);
	/* a FIRST in sequence in the middle of a message: the same */
	p = mkpkt(RCORE_UC_SEND_ONLY_IMM, 108, 4);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	assert_true(v.abort);
	assert_false(st.in_msg);
	assert_int_equal(st.epsn, 109);

	/* a whole message lost: the next one starts ahead of ePSN */
	p = mkpkt(RCORE_UC_SEND_ONLY, 150, 4);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	assert_false(v.abort);
	assert_int_equal(st.epsn, 151);
	/* ... or behind it (a late packet): resynchronised all the same */
	p = mkpkt(RCORE_UC_SEND_ONLY, 140, 4);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	assert_int_equal(st.epsn, 141);
	/* a MIDDLE/LAST at ePSN with no message started: dropped */
	p = mkpkt(RCORE_UC_SEND_LAST, 141, 4);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_DROP);
	assert_int_equal(v.rc.why, RCORE_RC_WHY_NO_FIRST);
	assert_false(v.abort);
}

static void test_resp_invalid(void **state)
{
	struct rcore_rc_resp_state st;
	struct rcore_uc_resp_verdict v;
	struct rcore_pkt p;

	/* RDMA WRITE without the QP's remote write right: dropped */
	resp_init(&st, 0, 0);
	p = mkreth(RCORE_UC_WRITE_ONLY, 0, 8, 8);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_DROP);
	assert_int_equal(v.rc.why, RCORE_RC_WHY_ACCESS);
	assert_int_equal(v.rc.ack.aeth.syndrome, 0);
	p = mkreth(RCORE_UC_WRITE_FIRST, 1, MTU, 2 * MTU);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_DROP);
	p = mkpkt(RCORE_UC_WRITE_LAST, 2, MTU);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_DROP);
	/* sends still go through */
	p = mkpkt(RCORE_UC_SEND_ONLY, 3, 8);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);

	/* not UC requests */
	resp_init(&st, 0, RCORE_RC_ACC_WRITE);
	p = mkpkt(RCORE_RC_SEND_ONLY, 0, 8);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_DROP);
	assert_int_equal(v.rc.why, RCORE_RC_WHY_NOT_RC_REQ);
	p = mkpkt(RCORE_UD_SEND_ONLY, 0, 8);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_DROP);

	/* a short MIDDLE aborts its message */
	p = mkpkt(RCORE_UC_SEND_FIRST, 0, MTU);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	p = mkpkt(RCORE_UC_SEND_MIDDLE, 1, MTU - 4);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_DROP);
	assert_int_equal(v.rc.why, RCORE_RC_WHY_NOT_FULL);
	assert_true(v.abort);
	assert_false(st.in_msg);
	/* a WRITE packet in the middle of a SEND aborts it */
	p = mkpkt(RCORE_UC_SEND_FIRST, 5, MTU);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	p = mkpkt(RCORE_UC_WRITE_LAST, 6, 4);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_DROP);
	assert_true(v.abort);
	/* a WRITE LAST whose length does not match its RETH */
	p = mkreth(RCORE_UC_WRITE_FIRST, 7, MTU, MTU + 10);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
	p = mkpkt(RCORE_UC_WRITE_LAST, 8, 11);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_DROP);
	assert_int_equal(v.rc.why, RCORE_RC_WHY_LENGTH);
	assert_true(v.abort);

	/* the caller refuses a FIRST (bad R_Key): its message is dropped */
	p = mkreth(RCORE_UC_WRITE_FIRST, 20, MTU, 2 * MTU);
	rcore_uc_resp_check(&st, &p, &v);
	rcore_uc_resp_begin(&st, &p, &v);
	assert_int_equal(v.rc.action, RCORE_RC_RESP_EXECUTE);
	rcore_uc_resp_abort(&st);
	p = mkpkt(RCORE_UC_WRITE_LAST, 21, MTU);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_DROP);
	p = mkpkt(RCORE_UC_SEND_ONLY, 22, 8);
	assert_int_equal(uc_rx(&st, &p, &v), RCORE_RC_RESP_EXECUTE);
}

/*
 * Messages of 1..5 packets over a link that loses packets at random:
 * a message is delivered iff all its packets arrived, and every
 * delivered message is the one sent, in order.
 */
static void test_lossy_link(void **state)
{
	struct rcore_rc_resp_state st;
	struct rcore_uc_resp_verdict v;
	struct rcore_rc_seg seg;
	uint32_t psn = 0xfffff0, rnd = 12345, got_len = 0;
	unsigned int m, k, n, whole, delivered = 0, expected = 0;
	bool lost, in_got = false;

	resp_init(&st, psn, RCORE_RC_ACC_WRITE);
	for (m = 0; m < 2000; m++) {
		enum rcore_rc_msg kind = (m & 1) ? RCORE_RC_MSG_WRITE_IMM :
						   RCORE_RC_MSG_SEND;
		uint32_t len = (m * 97) % (5 * MTU) + 1;

		n = rcore_rc_pkt_count(len, MTU);
		whole = 1;
		for (k = 0; k < n; k++) {
			struct rcore_pkt p;

			assert_int_equal(rcore_uc_req_seg(kind, len, MTU, psn,
							  k, &seg), RCORE_OK);
			rnd = rnd * 1103515245u + 12345u;
			lost = ((rnd >> 16) % 16) == 0;
			if (lost) {
				whole = 0;
				continue;
			}
			p = seg.first ? mkreth(seg.opcode, seg.psn, seg.len,
					       len) :
					mkpkt(seg.opcode, seg.psn, seg.len);
			uc_rx(&st, &p, &v);
			if (v.abort || (v.rc.flags & RCORE_RC_F_FIRST)) {
				in_got = false;
				got_len = 0;
			}
			if (v.rc.action != RCORE_RC_RESP_EXECUTE)
				continue;
			in_got = true;
			got_len += seg.len;
			if (v.rc.flags & RCORE_RC_F_LAST) {
				assert_true(in_got);
				assert_int_equal(got_len, len);
				delivered++;
				in_got = false;
				got_len = 0;
			}
		}
		expected += whole;
		psn = (psn + n) & 0xffffff;
	}
	assert_int_equal(delivered, expected);
	assert_true(expected > 1000 && expected < 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_ok),
		cmocka_unit_test(test_rc_opcode),
		cmocka_unit_test(test_req_seg),
		cmocka_unit_test(test_resp_in_order),
		cmocka_unit_test(test_resp_loss),
		cmocka_unit_test(test_resp_invalid),
		cmocka_unit_test(test_lossy_link),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
