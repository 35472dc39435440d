// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unreliable Connected transport decisions: the RC ones (rc.c) under the
 * UC opcodes, with the UC responder's PSN rules.  See uc.h.
 */
#include <rcore/uc.h>

bool rcore_uc_msg_ok(enum rcore_rc_msg kind)
{
	return kind == RCORE_RC_MSG_SEND || kind == RCORE_RC_MSG_SEND_IMM ||
	       kind == RCORE_RC_MSG_WRITE || kind == RCORE_RC_MSG_WRITE_IMM;
}

int rcore_uc_rc_opcode(uint8_t opcode)
{
	if (opcode < RCORE_UC_SEND_FIRST || opcode > RCORE_UC_WRITE_ONLY_IMM)
		return RCORE_ERR_OPCODE;
	return opcode & 0x1f;
}

int rcore_uc_req_seg(enum rcore_rc_msg kind, uint32_t len, uint32_t mtu,
		     uint32_t first_psn, uint32_t idx,
		     struct rcore_rc_seg *seg)
{
	int ret;

	if (!rcore_uc_msg_ok(kind))
		return RCORE_ERR_OPCODE;
	ret = rcore_rc_req_seg(kind, len, mtu, first_psn, idx, seg);
	if (ret)
		return ret;
	seg->opcode = RCORE_OPCODE(RCORE_TR_UC, seg->opcode);
	seg->ackreq = false;
	return RCORE_OK;
}

static void rcore_uc_resp_drop(struct rcore_uc_resp_verdict *v,
			       enum rcore_rc_why why)
{
	v->rc.action = RCORE_RC_RESP_DROP;
	v->rc.why = why;
	v->rc.flags &= ~RCORE_RC_F_ACK_NOW;
}

void rcore_uc_resp_check(const struct rcore_rc_resp_state *st,
			 const struct rcore_pkt *pkt,
			 struct rcore_uc_resp_verdict *v)
{
	uint32_t psn = pkt->bth.psn & RCORE_PSN_MASK;
	struct rcore_rc_resp_state t = *st;
	struct rcore_pkt p = *pkt;
	int op = rcore_uc_rc_opcode(pkt->bth.opcode);

	*v = (struct rcore_uc_resp_verdict){ 0 };
	if (op < 0) {
		rcore_uc_resp_drop(v, RCORE_RC_WHY_NOT_RC_REQ);
		return;
	}
	v->rc_opcode = (uint8_t)op;
	p.bth.opcode = (uint8_t)op;
	p.bth.ackreq = false;

	if (op == RCORE_RC_SEND_FIRST || op == RCORE_RC_SEND_ONLY ||
	    op == RCORE_RC_SEND_ONLY_IMM || op == RCORE_RC_WRITE_FIRST ||
	    op == RCORE_RC_WRITE_ONLY || op == RCORE_RC_WRITE_ONLY_IMM) {
		/* A new message, at whatever PSN: resynchronise on it. */
		v->abort = st->in_msg;
		t.in_msg = false;
		t.resid = 0;
		t.epsn = psn;
	} else if (psn != st->epsn) {
		/* Packets were lost: the message they belonged to is gone. */
		v->abort = st->in_msg;
		v->rc.flags = 0;
		rcore_uc_resp_drop(v, RCORE_RC_WHY_NO_FIRST);
		return;
	}
	t.nak_sent = false;
	t.ack_every = 0;

	rcore_rc_resp_check(&t, &p, &v->rc);
	v->rc.flags &= ~RCORE_RC_F_ACK_NOW;
	if (v->rc.action == RCORE_RC_RESP_EXECUTE)
		return;
	/* Where RC would NAK, UC drops the message silently. */
	if (t.in_msg)
		v->abort = true;
	rcore_uc_resp_drop(v, v->rc.why);
	v->rc.dup = RCORE_RC_DUP_NONE;
	v->rc.ack = (struct rcore_rc_ack){ 0 };
}

void rcore_uc_resp_abort(struct rcore_rc_resp_state *st)
{
	st->in_msg = false;
	st->resid = 0;
}

void rcore_uc_resp_begin(struct rcore_rc_resp_state *st,
			 const struct rcore_pkt *pkt,
			 const struct rcore_uc_resp_verdict *v)
{
	if (v->abort)
		rcore_uc_resp_abort(st);
	if (v->rc.action == RCORE_RC_RESP_EXECUTE &&
	    (v->rc.flags & RCORE_RC_F_FIRST)) {
		rcore_uc_resp_abort(st);
		st->epsn = pkt->bth.psn & RCORE_PSN_MASK;
	}
}
