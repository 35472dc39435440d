/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Unreliable Connected transport decisions (IBA vol. 1 chapter 9), on top
 * of the RC ones (rc.h).
 *
 * A UC message is an RC SEND or RDMA WRITE (with or without immediate
 * data) under the UC opcodes (RC opcode | 0x20): the same packets, the
 * same lengths, the same opcode sequence, but no ACKs, no NAKs and no
 * retries.  The requester segments it with rcore_uc_req_seg() and
 * completes it once its last packet is sent.  The responder keeps an
 * RC responder state (struct rcore_rc_resp_state, set up with
 * rcore_rc_resp_init(), READ and ATOMIC never granted) and checks every
 * request packet with:
 *
 *	rcore_uc_resp_check(&st, pkt, &v);
 *	rcore_uc_resp_begin(&st, pkt, &v);
 *	if (v.abort)
 *		forget the message in progress (a SEND keeps its receive
 *		WQE for the next message, a WRITE is abandoned);
 *	if (v.rc.action == RCORE_RC_RESP_DROP)
 *		drop the packet (count v.rc.why);
 *	else
 *		execute it as the RC opcode v.rc_opcode with the verdict
 *		v.rc, as an RC responder would (no ACK is ever due); on an
 *		R_Key, access or receive failure, drop the rest of the
 *		message with rcore_uc_resp_abort() instead of a NAK;
 *		else rcore_rc_resp_executed(&st, pkt as v.rc_opcode, &v.rc).
 *
 * A packet whose PSN is not the expected one means packets were lost:
 * the message in progress is dropped, and so is every packet up to the
 * next FIRST or ONLY, whatever its PSN (the responder resynchronises on
 * it).
 */
#ifndef RCORE_UC_H
#define RCORE_UC_H

#include <rcore/rc.h>

/**
 * rcore_uc_msg_ok - may a UC QP send this message kind
 * @kind: an enum rcore_rc_msg value
 *
 * Return: true for SEND, SEND with immediate, RDMA WRITE and RDMA WRITE
 * with immediate; false for everything else (reads, atomics and send
 * with invalidate do not exist on UC).
 */
bool rcore_uc_msg_ok(enum rcore_rc_msg kind);

/**
 * rcore_uc_rc_opcode - the RC request opcode a UC opcode stands for
 * @opcode: a BTH opcode
 *
 * Return: the RC opcode (0x00..0x0b) of a UC request opcode
 * (0x20..0x2b), or RCORE_ERR_OPCODE for any other opcode.
 */
int rcore_uc_rc_opcode(uint8_t opcode);

/**
 * rcore_uc_req_seg - describe the @idx-th packet of a UC message
 * @kind: SEND, SEND_IMM, WRITE or WRITE_IMM (rcore_uc_msg_ok())
 * @len: message length in bytes
 * @mtu: path MTU in bytes
 * @first_psn: the message's first PSN
 * @idx: which packet, from 0
 * @seg: filled as rcore_rc_req_seg() does, with the UC opcode and
 *	 AckReq clear (UC has no ACKs)
 *
 * Return: RCORE_OK, RCORE_ERR_OPCODE for a kind UC does not carry, or
 * rcore_rc_req_seg()'s error.
 */
int rcore_uc_req_seg(enum rcore_rc_msg kind, uint32_t len, uint32_t mtu,
		     uint32_t first_psn, uint32_t idx,
		     struct rcore_rc_seg *seg);

/**
 * struct rcore_uc_resp_verdict - what to do with one UC request packet
 * @rc: the verdict as an RC responder would act on it: @rc.action is
 *	RCORE_RC_RESP_EXECUTE or RCORE_RC_RESP_DROP (with @rc.why), the
 *	flags describe the packet as its RC opcode, RCORE_RC_F_ACK_NOW is
 *	never set
 * @rc_opcode: the RC opcode the packet stands for (valid unless @rc.why
 *	is RCORE_RC_WHY_NOT_RC_REQ)
 * @abort: the message in progress is lost: packets of it went missing,
 *	a new message started before its end, or this packet of it is
 *	invalid
 */
struct rcore_uc_resp_verdict {
	struct rcore_rc_resp_verdict rc;
	uint8_t rc_opcode;
	bool abort;
};

/**
 * rcore_uc_resp_check - classify an incoming UC request packet
 * @st: the responder's state (not modified)
 * @pkt: the parsed packet
 * @v: filled with the verdict; commit its PSN and abort part with
 *     rcore_uc_resp_begin()
 *
 * A FIRST or ONLY packet starts a new message at its own PSN (aborting
 * one in progress); a MIDDLE or LAST at a PSN other than ePSN is DROPped
 * and aborts the message in progress.  Then the RC checks at that PSN:
 * opcode sequence, the QP's access rights (an RDMA WRITE needs
 * RCORE_RC_ACC_WRITE) and lengths; where RC would NAK, UC DROPs (and
 * aborts the message the packet belongs to).
 */
void rcore_uc_resp_check(const struct rcore_rc_resp_state *st,
			 const struct rcore_pkt *pkt,
			 struct rcore_uc_resp_verdict *v);

/**
 * rcore_uc_resp_begin - commit the PSN part of a UC verdict
 * @st: the state
 * @pkt: the packet checked
 * @v: its verdict from rcore_uc_resp_check() against this same state
 *
 * Aborts the message in progress when @v says so, and moves ePSN to the
 * PSN of a FIRST or ONLY packet to be executed.  Call it for every
 * packet, executed or dropped, before rcore_rc_resp_executed().
 */
void rcore_uc_resp_begin(struct rcore_rc_resp_state *st,
			 const struct rcore_pkt *pkt,
			 const struct rcore_uc_resp_verdict *v);

/**
 * rcore_uc_resp_abort - drop the message in progress
 * @st: the state
 *
 * The responder refused a packet it was told to execute (bad R_Key or
 * range, no receive WQE, a receive buffer too short): the rest of its
 * message is dropped, up to the next FIRST or ONLY.
 */
void rcore_uc_resp_abort(struct rcore_rc_resp_state *st);

#endif /* RCORE_UC_H */
