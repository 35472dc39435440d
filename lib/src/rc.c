// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reliable Connected transport decisions (IBA vol. 1 chapter 9): message
 * sizing, the responder's checks of request packets, the completer's
 * checks of response packets, and the retry and timer arithmetic.  Pure
 * functions of their arguments; see rc.h for the contract.
 */
#include <rcore/rc.h>

#define RC_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------------- */
/* Path MTU, message sizing, requester packets                             */
/* ---------------------------------------------------------------------- */

uint32_t rcore_mtu_bytes(unsigned int mtu)
{
	if (mtu < RCORE_MTU_256 || mtu > RCORE_MTU_4096)
		return 0;
	return 128u << mtu;
}

unsigned int rcore_mtu_code(uint32_t bytes)
{
	unsigned int code = 0;

	while (code < RCORE_MTU_4096 && rcore_mtu_bytes(code + 1) <= bytes)
		code++;
	return code;
}

bool rcore_mtu_valid(uint32_t mtu)
{
	return mtu >= 256 && mtu <= 4096 && !(mtu & (mtu - 1));
}

uint32_t rcore_rc_pkt_count(uint32_t len, uint32_t mtu)
{
	uint32_t n;

	if (!rcore_mtu_valid(mtu))
		return 0;
	n = len / mtu + (len % mtu ? 1 : 0);
	return n ? n : 1;
}

uint32_t rcore_rc_pkt_payload(uint32_t len, uint32_t mtu, uint32_t idx)
{
	uint32_t n = rcore_rc_pkt_count(len, mtu);

	if (idx >= n)
		return 0;
	if (idx < n - 1)
		return mtu;
	return len - (n - 1) * mtu;
}

bool rcore_rc_msg_is_rd_atomic(enum rcore_rc_msg kind)
{
	return kind == RCORE_RC_MSG_READ || kind == RCORE_RC_MSG_CMP_SWAP ||
	       kind == RCORE_RC_MSG_FETCH_ADD ||
	       kind == RCORE_RC_MSG_ATOMIC_WRITE ||
	       kind == RCORE_RC_MSG_FLUSH;
}

static bool rcore_rc_msg_is_atomic(enum rcore_rc_msg kind)
{
	return kind == RCORE_RC_MSG_CMP_SWAP || kind == RCORE_RC_MSG_FETCH_ADD;
}

uint32_t rcore_rc_msg_psns(enum rcore_rc_msg kind, uint32_t len, uint32_t mtu)
{
	if ((unsigned int)kind >= RCORE_RC_MSG_COUNT || !rcore_mtu_valid(mtu))
		return 0;
	if (rcore_rc_msg_is_atomic(kind))
		return 1;
	if (kind == RCORE_RC_MSG_ATOMIC_WRITE)
		return len == RCORE_RC_ATOMIC_WRITE_LEN ? 1 : 0;
	if (len > RCORE_RC_MAX_MSG)
		return 0;
	if (kind == RCORE_RC_MSG_FLUSH)
		return 1;
	return rcore_rc_pkt_count(len, mtu);
}

/* Place of a packet in its message: the column of rcore_rc_msg_ops. */
enum rcore_rc_pos {
	RC_POS_FIRST	= 0,
	RC_POS_MIDDLE	= 1,
	RC_POS_LAST	= 2,
	RC_POS_ONLY	= 3,
};

static enum rcore_rc_pos rcore_rc_pos(uint32_t idx, uint32_t npkts)
{
	if (npkts == 1)
		return RC_POS_ONLY;
	if (idx == 0)
		return RC_POS_FIRST;
	return idx == npkts - 1 ? RC_POS_LAST : RC_POS_MIDDLE;
}

/* Request opcodes of each message kind, by place in the message. */
static const uint8_t rcore_rc_msg_ops[RCORE_RC_MSG_COUNT][4] = {
	[RCORE_RC_MSG_SEND] = {
		RCORE_RC_SEND_FIRST, RCORE_RC_SEND_MIDDLE,
		RCORE_RC_SEND_LAST, RCORE_RC_SEND_ONLY },
	[RCORE_RC_MSG_SEND_IMM] = {
		RCORE_RC_SEND_FIRST, RCORE_RC_SEND_MIDDLE,
		RCORE_RC_SEND_LAST_IMM, RCORE_RC_SEND_ONLY_IMM },
	[RCORE_RC_MSG_SEND_INV] = {
		RCORE_RC_SEND_FIRST, RCORE_RC_SEND_MIDDLE,
		RCORE_RC_SEND_LAST_INV, RCORE_RC_SEND_ONLY_INV },
	[RCORE_RC_MSG_WRITE] = {
		RCORE_RC_WRITE_FIRST, RCORE_RC_WRITE_MIDDLE,
		RCORE_RC_WRITE_LAST, RCORE_RC_WRITE_ONLY },
	[RCORE_RC_MSG_WRITE_IMM] = {
		RCORE_RC_WRITE_FIRST, RCORE_RC_WRITE_MIDDLE,
		RCORE_RC_WRITE_LAST_IMM, RCORE_RC_WRITE_ONLY_IMM },
	[RCORE_RC_MSG_READ] = {
		[RC_POS_ONLY] = RCORE_RC_READ_REQ },
	[RCORE_RC_MSG_CMP_SWAP] = {
		[RC_POS_ONLY] = RCORE_RC_CMP_SWAP },
	[RCORE_RC_MSG_FETCH_ADD] = {
		[RC_POS_ONLY] = RCORE_RC_FETCH_ADD },
	[RCORE_RC_MSG_ATOMIC_WRITE] = {
		[RC_POS_ONLY] = RCORE_RC_ATOMIC_WRITE },
	[RCORE_RC_MSG_FLUSH] = {
		[RC_POS_ONLY] = RCORE_RC_FLUSH },
};

int rcore_rc_req_opcode(enum rcore_rc_msg kind, uint32_t idx, uint32_t npkts)
{
	if ((unsigned int)kind >= RCORE_RC_MSG_COUNT)
		return RCORE_ERR_OPCODE;
	if (idx >= npkts)
		return RCORE_ERR_RANGE;
	if (rcore_rc_msg_is_rd_atomic(kind) && npkts != 1)
		return RCORE_ERR_RANGE;
	return rcore_rc_msg_ops[kind][rcore_rc_pos(idx, npkts)];
}

int rcore_rc_req_seg(enum rcore_rc_msg kind, uint32_t len, uint32_t mtu,
		     uint32_t first_psn, uint32_t idx,
		     struct rcore_rc_seg *seg)
{
	uint32_t n;

	if ((unsigned int)kind >= RCORE_RC_MSG_COUNT)
		return RCORE_ERR_OPCODE;
	n = rcore_rc_msg_psns(kind, len, mtu);
	if (!n || idx >= n)
		return RCORE_ERR_RANGE;

	*seg = (struct rcore_rc_seg){
		.psn = rcore_psn_add(first_psn, (int32_t)idx),
		.offset = idx * mtu,
	};
	if (rcore_rc_msg_is_rd_atomic(kind)) {
		/* One request packet; a read may restart at response @idx. */
		seg->opcode = rcore_rc_msg_ops[kind][RC_POS_ONLY];
		if (kind == RCORE_RC_MSG_READ)
			seg->len = len - seg->offset;
		else if (kind == RCORE_RC_MSG_ATOMIC_WRITE)
			seg->len = len;
		else
			seg->len = 0;
		seg->first = true;
		seg->last = true;
		seg->ackreq = true;
		return RCORE_OK;
	}
	seg->opcode = rcore_rc_msg_ops[kind][rcore_rc_pos(idx, n)];
	seg->len = rcore_rc_pkt_payload(len, mtu, idx);
	seg->first = idx == 0;
	seg->last = idx == n - 1;
	seg->ackreq = seg->last;
	return RCORE_OK;
}

static const uint8_t rcore_rc_read_resp_ops[4] = {
	[RC_POS_FIRST]	= RCORE_RC_READ_RESP_FIRST,
	[RC_POS_MIDDLE]	= RCORE_RC_READ_RESP_MIDDLE,
	[RC_POS_LAST]	= RCORE_RC_READ_RESP_LAST,
	[RC_POS_ONLY]	= RCORE_RC_READ_RESP_ONLY,
};

int rcore_rc_read_resp_seg(uint32_t len, uint32_t mtu, uint32_t first_psn,
			   uint32_t idx, struct rcore_rc_seg *seg)
{
	uint32_t n = rcore_rc_msg_psns(RCORE_RC_MSG_READ, len, mtu);

	if (!n || idx >= n)
		return RCORE_ERR_RANGE;
	*seg = (struct rcore_rc_seg){
		.psn = rcore_psn_add(first_psn, (int32_t)idx),
		.offset = idx * mtu,
		.len = rcore_rc_pkt_payload(len, mtu, idx),
		.opcode = rcore_rc_read_resp_ops[rcore_rc_pos(idx, n)],
		.first = idx == 0,
		.last = idx == n - 1,
	};
	return RCORE_OK;
}

/* ---------------------------------------------------------------------- */
/* Completion status, timers, credits                                      */
/* ---------------------------------------------------------------------- */

enum rcore_wc_status rcore_rc_nak_status(uint8_t code)
{
	switch (code & 0x1f) {
	case RCORE_NAK_PSN_SEQ_ERR:
		return RCORE_WC_SUCCESS;
	case RCORE_NAK_INVALID_REQ:
		return RCORE_WC_REM_INV_REQ_ERR;
	case RCORE_NAK_REMOTE_ACCESS_ERR:
		return RCORE_WC_REM_ACCESS_ERR;
	case RCORE_NAK_INVALID_RD_REQ:
		return RCORE_WC_REM_INV_RD_REQ_ERR;
	case RCORE_NAK_REMOTE_OP_ERR:
	default:
		return RCORE_WC_REM_OP_ERR;
	}
}

uint64_t rcore_rc_ack_timeout_ns(uint8_t timeout)
{
	timeout &= 0x1f;
	if (!timeout)
		return 0;
	return (uint64_t)4096 << timeout;
}

uint8_t rcore_rc_rnr_code(uint32_t usec)
{
	uint8_t code;

	/* Codes 1..31 grow with the delay; code 0 is the longest of all. */
	for (code = 1; code < 32; code++)
		if (rcore_rnr_timer_usec(code) >= usec)
			return code;
	return 0;
}

uint8_t rcore_rc_credit_code(uint32_t free_wqes, bool srq)
{
	if (srq)
		return RCORE_AETH_CREDIT_INVALID;
	return rcore_aeth_credit_code(free_wqes);
}

/* ---------------------------------------------------------------------- */
/* Responder                                                               */
/* ---------------------------------------------------------------------- */

#define F_FIRST		RCORE_RC_F_FIRST
#define F_MIDDLE	RCORE_RC_F_MIDDLE
#define F_LAST		RCORE_RC_F_LAST
#define F_ONLY		(RCORE_RC_F_FIRST | RCORE_RC_F_LAST)
#define F_SEND		RCORE_RC_F_SEND
#define F_WRITE		RCORE_RC_F_WRITE
#define F_READ		RCORE_RC_F_READ
#define F_ATOMIC	RCORE_RC_F_ATOMIC
#define F_IMM		RCORE_RC_F_IMM
#define F_INV		RCORE_RC_F_INV
#define F_WQE		RCORE_RC_F_NEED_WQE
#define F_DONE		RCORE_RC_F_RECV_DONE
#define F_AWRITE	RCORE_RC_F_ATOMIC_WRITE
#define F_FLUSH		RCORE_RC_F_FLUSH
/* Answered by read responses or an atomic ACK, one request packet each. */
#define F_RD_ATOMIC	(F_READ | F_ATOMIC | F_AWRITE | F_FLUSH)

/* What each RC request opcode is to the responder; 0: not a request. */
static const uint16_t rcore_rc_req_flags[RCORE_RC_ATOMIC_WRITE + 1] = {
	[RCORE_RC_SEND_FIRST]		= F_SEND | F_FIRST | F_WQE,
	[RCORE_RC_SEND_MIDDLE]		= F_SEND | F_MIDDLE,
	[RCORE_RC_SEND_LAST]		= F_SEND | F_LAST | F_DONE,
	[RCORE_RC_SEND_LAST_IMM]	= F_SEND | F_LAST | F_DONE | F_IMM,
	[RCORE_RC_SEND_LAST_INV]	= F_SEND | F_LAST | F_DONE | F_INV,
	[RCORE_RC_SEND_ONLY]		= F_SEND | F_ONLY | F_WQE | F_DONE,
	[RCORE_RC_SEND_ONLY_IMM]	= F_SEND | F_ONLY | F_WQE | F_DONE |
					  F_IMM,
	[RCORE_RC_SEND_ONLY_INV]	= F_SEND | F_ONLY | F_WQE | F_DONE |
					  F_INV,
	[RCORE_RC_WRITE_FIRST]		= F_WRITE | F_FIRST,
	[RCORE_RC_WRITE_MIDDLE]		= F_WRITE | F_MIDDLE,
	[RCORE_RC_WRITE_LAST]		= F_WRITE | F_LAST,
	[RCORE_RC_WRITE_LAST_IMM]	= F_WRITE | F_LAST | F_WQE | F_DONE |
					  F_IMM,
	[RCORE_RC_WRITE_ONLY]		= F_WRITE | F_ONLY,
	[RCORE_RC_WRITE_ONLY_IMM]	= F_WRITE | F_ONLY | F_WQE | F_DONE |
					  F_IMM,
	[RCORE_RC_READ_REQ]		= F_READ | F_ONLY,
	[RCORE_RC_CMP_SWAP]		= F_ATOMIC | F_ONLY,
	[RCORE_RC_FETCH_ADD]		= F_ATOMIC | F_ONLY,
	[RCORE_RC_FLUSH]		= F_FLUSH | F_ONLY,
	[RCORE_RC_ATOMIC_WRITE]		= F_AWRITE | F_ONLY,
};

static unsigned int rcore_rc_req_op_flags(uint8_t opcode)
{
	if (opcode >= RC_ARRAY_SIZE(rcore_rc_req_flags))
		return 0;
	return rcore_rc_req_flags[opcode];
}

/* An RC opcode IBA reserves (RESYNC is RD only): unsupported on RC. */
static bool rcore_rc_op_reserved(uint8_t opcode)
{
	return opcode == 0x15 || (opcode >= 0x18 && opcode <= 0x1f);
}

int rcore_rc_resp_init(struct rcore_rc_resp_state *st, uint32_t epsn,
		       uint32_t mtu, unsigned int access, uint32_t ack_every)
{
	if (!rcore_mtu_valid(mtu) || epsn > RCORE_PSN_MAX)
		return RCORE_ERR_RANGE;
	*st = (struct rcore_rc_resp_state){
		.epsn = epsn,
		.ack_psn = rcore_psn_add(epsn, -1),
		.mtu = mtu,
		.ack_every = ack_every,
		.access = (uint8_t)(access & RCORE_RC_ACC_ALL),
	};
	return RCORE_OK;
}

static void rcore_rc_resp_set_nak(const struct rcore_rc_resp_state *st,
				  struct rcore_rc_resp_verdict *v,
				  enum rcore_rc_resp_action action,
				  uint32_t psn, enum rcore_nak_code code)
{
	v->action = action;
	rcore_rc_resp_nak(st, psn, rcore_aeth_nak(code), &v->ack);
}

static void rcore_rc_resp_drop(struct rcore_rc_resp_verdict *v,
			       enum rcore_rc_why why)
{
	v->action = RCORE_RC_RESP_DROP;
	v->why = why;
}

/* A request behind ePSN, a retry: answer it, never redo a side effect. */
static void rcore_rc_resp_dup(const struct rcore_rc_resp_state *st,
			      const struct rcore_pkt *pkt, uint32_t psn,
			      struct rcore_rc_resp_verdict *v)
{
	uint32_t behind, n;

	if (v->flags & (F_SEND | F_WRITE)) {
		/*
		 * Acknowledged again only when the requester waits for it
		 * (AckReq, end of message), with the duplicate's own PSN:
		 * everything up to it has certainly been received, and an
		 * ACK never claims a later read or atomic done.
		 */
		if (!pkt->bth.ackreq && !(v->flags & F_LAST)) {
			rcore_rc_resp_drop(v, RCORE_RC_WHY_DUP_NO_ACK);
			return;
		}
		v->action = RCORE_RC_RESP_DUPLICATE;
		v->dup = RCORE_RC_DUP_ACK;
		rcore_rc_resp_nak(st, psn,
				  rcore_aeth_ack(RCORE_AETH_CREDIT_INVALID),
				  &v->ack);
		return;
	}
	if (v->flags & (F_ATOMIC | F_AWRITE | F_FLUSH)) {
		v->action = RCORE_RC_RESP_DUPLICATE;
		if (v->flags & F_ATOMIC)
			v->dup = RCORE_RC_DUP_ATOMIC;
		else if (v->flags & F_AWRITE)
			v->dup = RCORE_RC_DUP_ATOMIC_WRITE;
		else
			v->dup = RCORE_RC_DUP_FLUSH;
		v->npsn = 1;
		v->resp_psn = psn;
		return;
	}

	/*
	 * A read, possibly restarted in the middle: its responses must lie
	 * within PSNs the responder has already passed, else it is not a
	 * retry of a read that was executed.
	 */
	n = rcore_rc_msg_psns(RCORE_RC_MSG_READ, pkt->reth.len, st->mtu);
	behind = (st->epsn - psn) & RCORE_PSN_MASK;
	if (!(st->access & RCORE_RC_ACC_READ) || !n || n > behind) {
		rcore_rc_resp_drop(v, RCORE_RC_WHY_DUP_BAD);
		return;
	}
	v->action = RCORE_RC_RESP_DUPLICATE;
	v->dup = RCORE_RC_DUP_READ;
	v->npsn = n;
	v->resp_psn = psn;
}

/* Opcode sequence, access and length checks of the request at ePSN. */
static enum rcore_rc_why
rcore_rc_resp_validate(const struct rcore_rc_resp_state *st,
		       const struct rcore_pkt *pkt, unsigned int f)
{
	uint32_t pay = pkt->payload_len;
	uint32_t mtu = st->mtu;
	unsigned int cur;

	/* FIRST, MIDDLE..., LAST of one message at a time */
	if (st->in_msg) {
		cur = rcore_rc_req_op_flags(st->cur_op) & (F_SEND | F_WRITE);
		if (!(f & cur) || (f & F_FIRST))
			return RCORE_RC_WHY_NO_LAST;
	} else if (!(f & F_FIRST)) {
		return RCORE_RC_WHY_NO_FIRST;
	}

	if (((f & (F_WRITE | F_AWRITE)) &&
	     !(st->access & RCORE_RC_ACC_WRITE)) ||
	    ((f & F_READ) && !(st->access & RCORE_RC_ACC_READ)) ||
	    ((f & F_ATOMIC) && !(st->access & RCORE_RC_ACC_ATOMIC)))
		return RCORE_RC_WHY_ACCESS;

	/*
	 * FLUSH: one or both known placement types, each allowed on the
	 * QP, a known selectivity level, no payload.
	 */
	if (f & F_FLUSH) {
		uint8_t plt = pkt->feth.plt;

		if (!plt ||
		    (plt & ~(RCORE_FLUSH_GLOBAL | RCORE_FLUSH_PERSISTENT)) ||
		    pkt->feth.sel > RCORE_FLUSH_MR)
			return RCORE_RC_WHY_FLUSH;
		if (((plt & RCORE_FLUSH_GLOBAL) &&
		     !(st->access & RCORE_RC_ACC_FLUSH_GLOBAL)) ||
		    ((plt & RCORE_FLUSH_PERSISTENT) &&
		     !(st->access & RCORE_RC_ACC_FLUSH_PERSISTENT)))
			return RCORE_RC_WHY_ACCESS;
		if (pay)
			return RCORE_RC_WHY_LENGTH;
		if (pkt->feth.sel == RCORE_FLUSH_RANGE &&
		    pkt->reth.len > RCORE_RC_MAX_MSG)
			return RCORE_RC_WHY_MSG_SIZE;
		return RCORE_RC_WHY_NONE;
	}

	/* 8 bytes at an 8-byte aligned address, no more, no less */
	if (f & F_AWRITE) {
		if (pkt->reth.len != RCORE_RC_ATOMIC_WRITE_LEN ||
		    pay != RCORE_RC_ATOMIC_WRITE_LEN)
			return RCORE_RC_WHY_LENGTH;
		if (pkt->reth.va & 7)
			return RCORE_RC_WHY_ALIGN;
		return RCORE_RC_WHY_NONE;
	}

	if (f & (F_READ | F_ATOMIC)) {
		if (pay)
			return RCORE_RC_WHY_LENGTH;
		if ((f & F_READ) && pkt->reth.len > RCORE_RC_MAX_MSG)
			return RCORE_RC_WHY_MSG_SIZE;
		if ((f & F_ATOMIC) && (pkt->atmeth.va & 7))
			return RCORE_RC_WHY_ALIGN;
		return RCORE_RC_WHY_NONE;
	}

	if (pay > mtu)
		return RCORE_RC_WHY_TOO_LONG;
	if (!(f & F_LAST) && pay != mtu)
		return RCORE_RC_WHY_NOT_FULL;
	if (!(f & F_WRITE))
		return RCORE_RC_WHY_NONE;

	/* An RDMA WRITE delivers exactly its RETH length. */
	if (f & F_FIRST) {
		if (pkt->reth.len > RCORE_RC_MAX_MSG)
			return RCORE_RC_WHY_MSG_SIZE;
		if ((f & F_LAST) ? pay != pkt->reth.len : pkt->reth.len <= mtu)
			return RCORE_RC_WHY_LENGTH;
	} else if (f & F_LAST) {
		if (pay != st->resid)
			return RCORE_RC_WHY_LENGTH;
	} else if (st->resid <= mtu) {
		/* a MIDDLE must leave bytes for the LAST */
		return RCORE_RC_WHY_LENGTH;
	}
	return RCORE_RC_WHY_NONE;
}

void rcore_rc_resp_check(const struct rcore_rc_resp_state *st,
			 const struct rcore_pkt *pkt,
			 struct rcore_rc_resp_verdict *v)
{
	uint32_t psn = pkt->bth.psn & RCORE_PSN_MASK;
	enum rcore_rc_why why;
	unsigned int f;

	*v = (struct rcore_rc_resp_verdict){ 0 };
	f = rcore_rc_req_op_flags(pkt->bth.opcode);
	if (!f && !rcore_rc_op_reserved(pkt->bth.opcode)) {
		rcore_rc_resp_drop(v, RCORE_RC_WHY_NOT_RC_REQ);
		return;
	}
	v->flags = f;

	switch (rcore_psn_classify(st->epsn, psn)) {
	case RCORE_PSN_OUT_OF_SEQ:
		/* one NAK per sequence error, naming ePSN */
		if (st->nak_sent)
			rcore_rc_resp_drop(v, RCORE_RC_WHY_NAK_SENT);
		else
			rcore_rc_resp_set_nak(st, v, RCORE_RC_RESP_NAK_SEQ,
					      st->epsn, RCORE_NAK_PSN_SEQ_ERR);
		return;
	case RCORE_PSN_DUPLICATE:
		if (f)
			rcore_rc_resp_dup(st, pkt, psn, v);
		else
			rcore_rc_resp_drop(v, RCORE_RC_WHY_DUP_BAD);
		return;
	case RCORE_PSN_NEW:
		break;
	}

	why = f ? rcore_rc_resp_validate(st, pkt, f) : RCORE_RC_WHY_OPCODE;
	if (why != RCORE_RC_WHY_NONE) {
		rcore_rc_resp_set_nak(st, v, RCORE_RC_RESP_NAK_INVALID, psn,
				      RCORE_NAK_INVALID_REQ);
		v->why = why;
		return;
	}

	v->action = RCORE_RC_RESP_EXECUTE;
	if (f & F_RD_ATOMIC) {
		v->npsn = (f & F_READ) ? rcore_rc_msg_psns(RCORE_RC_MSG_READ,
							   pkt->reth.len,
							   st->mtu) : 1;
		v->resp_psn = psn;
		return;
	}
	v->npsn = 1;
	if (pkt->bth.ackreq || (f & F_LAST) ||
	    (st->ack_every && st->unacked + 1 >= st->ack_every))
		v->flags |= RCORE_RC_F_ACK_NOW;
}

void rcore_rc_resp_executed(struct rcore_rc_resp_state *st,
			    const struct rcore_pkt *pkt,
			    const struct rcore_rc_resp_verdict *v)
{
	unsigned int f = v->flags;

	if (v->action != RCORE_RC_RESP_EXECUTE)
		return;
	st->epsn = rcore_psn_add(st->epsn, (int32_t)v->npsn);
	st->nak_sent = false;

	if (f & F_RD_ATOMIC) {
		/* answered by its responses, which acknowledge it */
		st->msn = (st->msn + 1) & RCORE_MSN_MASK;
		st->unacked = 0;
		return;
	}

	st->ack_psn = pkt->bth.psn & RCORE_PSN_MASK;
	if (f & F_LAST) {
		st->in_msg = false;
		st->resid = 0;
		st->msn = (st->msn + 1) & RCORE_MSN_MASK;
	} else {
		if (f & F_FIRST) {
			st->in_msg = true;
			st->resid = (f & F_WRITE) ? pkt->reth.len : 0;
		}
		st->cur_op = pkt->bth.opcode;
		if (f & F_WRITE)
			st->resid -= pkt->payload_len;
	}
	st->unacked = (f & RCORE_RC_F_ACK_NOW) ? 0 : st->unacked + 1;
}

void rcore_rc_resp_nakked(struct rcore_rc_resp_state *st)
{
	st->nak_sent = true;
}

void rcore_rc_resp_ack(const struct rcore_rc_resp_state *st,
		       uint8_t credit_code, struct rcore_rc_ack *ack)
{
	rcore_rc_resp_nak(st, st->ack_psn, rcore_aeth_ack(credit_code), ack);
}

void rcore_rc_resp_nak(const struct rcore_rc_resp_state *st, uint32_t psn,
		       uint8_t syndrome, struct rcore_rc_ack *ack)
{
	*ack = (struct rcore_rc_ack){
		.psn = psn & RCORE_PSN_MASK,
		.aeth = { .syndrome = syndrome, .msn = st->msn },
	};
}

/* ---------------------------------------------------------------------- */
/* Requester and completer                                                 */
/* ---------------------------------------------------------------------- */

int rcore_rc_req_init(struct rcore_rc_req_state *st, uint32_t sq_psn,
		      uint32_t mtu, uint8_t retry_cnt, uint8_t rnr_retry)
{
	if (!rcore_mtu_valid(mtu) || sq_psn > RCORE_PSN_MAX ||
	    retry_cnt > 7 || rnr_retry > 7)
		return RCORE_ERR_RANGE;
	*st = (struct rcore_rc_req_state){
		.una_psn = sq_psn,
		.next_psn = sq_psn,
		.mtu = mtu,
		.retry_cnt = retry_cnt,
		.rnr_retry = rnr_retry,
		.retry_left = retry_cnt,
		.rnr_left = rnr_retry,
	};
	return RCORE_OK;
}

void rcore_rc_req_sent(struct rcore_rc_req_state *st, uint32_t psn,
		       uint32_t npsn)
{
	uint32_t last = rcore_psn_add(psn, (int32_t)(npsn ? npsn - 1 : 0));

	/* (next_psn may be 2^23 ahead of una: compare the last PSN sent) */
	if (!rcore_psn_before(last, st->next_psn))
		st->next_psn = rcore_psn_add(last, 1);
}

bool rcore_rc_req_window_ok(const struct rcore_rc_req_state *st,
			    uint32_t npsn)
{
	uint32_t out = (st->next_psn - st->una_psn) & RCORE_PSN_MASK;

	return npsn <= RCORE_RC_MAX_OUTSTANDING &&
	       out + npsn <= RCORE_RC_MAX_OUTSTANDING;
}

uint32_t rcore_rc_wqe_last_psn(const struct rcore_rc_wqe *wqe, uint32_t mtu)
{
	uint32_t n = rcore_rc_msg_psns(wqe->kind, wqe->len, mtu);

	return rcore_psn_add(wqe->first_psn, n ? (int32_t)n - 1 : 0);
}

static void rcore_rc_comp_ignore(struct rcore_rc_comp_verdict *v,
				 enum rcore_rc_comp_why why)
{
	v->action = RCORE_RC_COMP_IGNORE;
	v->why = why;
}

static void rcore_rc_comp_fatal(struct rcore_rc_comp_verdict *v,
				enum rcore_wc_status status)
{
	v->action = RCORE_RC_COMP_FATAL;
	v->status = status;
}

/* The acknowledged PSN moves to @una: refill the retry counts if it moved. */
static void rcore_rc_comp_progress(const struct rcore_rc_req_state *st,
				   struct rcore_rc_comp_verdict *v,
				   uint32_t una)
{
	v->una_psn = una;
	if (rcore_psn_after(una, st->una_psn)) {
		v->retry_left = st->retry_cnt;
		v->rnr_left = st->rnr_retry;
	}
}

/* The oldest WQE, a send or write ending at @last, is fully acknowledged. */
static void rcore_rc_comp_complete(const struct rcore_rc_req_state *st,
				   struct rcore_rc_comp_verdict *v,
				   uint32_t last)
{
	v->action = RCORE_RC_COMP_COMPLETE;
	v->done = true;
	v->again = true;
	rcore_rc_comp_progress(st, v, rcore_psn_add(last, 1));
}

/*
 * Retransmit from @from once everything before @una is acknowledged.  A
 * NAK (@nak) asking for the very retry already made, with no progress
 * since, is a copy or a late echo: the timer covers a lost retransmission.
 */
static void rcore_rc_comp_retry(const struct rcore_rc_req_state *st,
				struct rcore_rc_comp_verdict *v,
				uint32_t from, uint32_t una, bool nak)
{
	if (nak && from == st->una_psn && st->retry_valid &&
	    st->retry_psn == from) {
		rcore_rc_comp_ignore(v, RCORE_RC_CWHY_RETRIED);
		return;
	}
	rcore_rc_comp_progress(st, v, una);
	if (!v->retry_left) {
		rcore_rc_comp_fatal(v, RCORE_WC_RETRY_EXC_ERR);
		return;
	}
	v->retry_left--;
	v->action = RCORE_RC_COMP_RETRY;
	v->psn = from;
}

/*
 * A response at PSN @p covers every PSN of the oldest WQE: a send or write
 * is done; a read or atomic lost its own responses (implied NAK).
 */
static void rcore_rc_comp_passed(const struct rcore_rc_req_state *st,
				 const struct rcore_rc_wqe *wqe,
				 struct rcore_rc_comp_verdict *v, uint32_t last)
{
	if (rcore_rc_msg_is_rd_atomic(wqe->kind))
		rcore_rc_comp_retry(st, v, st->una_psn, st->una_psn, true);
	else
		rcore_rc_comp_complete(st, v, last);
}

static void rcore_rc_comp_rnr(const struct rcore_rc_req_state *st,
			      struct rcore_rc_comp_verdict *v, uint32_t p,
			      uint8_t timer_code)
{
	rcore_rc_comp_progress(st, v, p);
	if (st->rnr_retry != RCORE_RC_RNR_RETRY_INFINITE) {
		if (!v->rnr_left) {
			rcore_rc_comp_fatal(v, RCORE_WC_RNR_RETRY_EXC_ERR);
			return;
		}
		v->rnr_left--;
	}
	v->action = RCORE_RC_COMP_RNR_WAIT;
	v->psn = p;
	v->rnr_usec = rcore_rnr_timer_usec(timer_code);
}

/* ACK, RNR NAK or NAK at PSN @p. */
static void rcore_rc_comp_aeth(const struct rcore_rc_req_state *st,
			       const struct rcore_rc_wqe *wqe,
			       const struct rcore_pkt *pkt,
			       struct rcore_rc_comp_verdict *v,
			       uint32_t p, uint32_t last)
{
	uint8_t syn = pkt->aeth.syndrome;
	uint8_t code = rcore_aeth_syn_value(syn);
	bool rdat = rcore_rc_msg_is_rd_atomic(wqe->kind);

	switch (rcore_aeth_syn_type(syn)) {
	case RCORE_AETH_ACK:
		/* acknowledges every PSN up to and including @p */
		if (!rcore_psn_before(p, last))
			rcore_rc_comp_passed(st, wqe, v, last);
		else if (rdat)
			rcore_rc_comp_ignore(v, RCORE_RC_CWHY_IN_READ);
		else {
			v->action = RCORE_RC_COMP_PROGRESS;
			rcore_rc_comp_progress(st, v, rcore_psn_add(p, 1));
		}
		return;

	case RCORE_AETH_RNR_NAK:
		/*
		 * Acknowledges every PSN before @p.  Not for a read, whose
		 * responses answer it; for an atomic, whose memory was not
		 * ready, as for a SEND or WRITE (rodp's answer to an ODP
		 * fault that failed for the moment).
		 */
		if (rcore_psn_before(last, p))
			rcore_rc_comp_passed(st, wqe, v, last);
		else if (wqe->kind == RCORE_RC_MSG_READ)
			rcore_rc_comp_ignore(v, RCORE_RC_CWHY_UNEXPECTED);
		else
			rcore_rc_comp_rnr(st, v, p, code);
		return;

	case RCORE_AETH_NAK:
		if (rcore_psn_before(last, p)) {
			if (!rdat || code == RCORE_NAK_PSN_SEQ_ERR)
				rcore_rc_comp_passed(st, wqe, v, last);
			else
				rcore_rc_comp_fatal(v,
						    rcore_rc_nak_status(code));
			return;
		}
		if (code != RCORE_NAK_PSN_SEQ_ERR) {
			rcore_rc_comp_fatal(v, rcore_rc_nak_status(code));
			return;
		}
		/* everything before @p arrived: resend from there */
		if (rdat)
			rcore_rc_comp_retry(st, v, st->una_psn, st->una_psn,
					    true);
		else
			rcore_rc_comp_retry(st, v, p, p, true);
		return;

	default:
		rcore_rc_comp_ignore(v, RCORE_RC_CWHY_BAD_SYNDROME);
		return;
	}
}

/* RDMA read response at PSN @p, for a read of PSNs @first..@last. */
static void rcore_rc_comp_read(const struct rcore_rc_req_state *st,
			       const struct rcore_rc_wqe *wqe,
			       const struct rcore_pkt *pkt,
			       struct rcore_rc_comp_verdict *v,
			       uint32_t p, uint32_t first, uint32_t last)
{
	uint8_t op = pkt->bth.opcode;
	uint32_t idx, len;
	bool ok;

	if (rcore_psn_before(last, p)) {
		rcore_rc_comp_passed(st, wqe, v, last);
		return;
	}
	/*
	 * An ATOMIC WRITE's or a FLUSH's answer: an empty READ_RESP_ONLY
	 * with an ACK.
	 */
	if (wqe->kind == RCORE_RC_MSG_ATOMIC_WRITE ||
	    wqe->kind == RCORE_RC_MSG_FLUSH) {
		if (op != RCORE_RC_READ_RESP_ONLY || pkt->payload_len) {
			rcore_rc_comp_ignore(v, RCORE_RC_CWHY_UNEXPECTED);
			return;
		}
		if (rcore_aeth_syn_type(pkt->aeth.syndrome) !=
		    RCORE_AETH_ACK) {
			rcore_rc_comp_ignore(v, RCORE_RC_CWHY_BAD_SYNDROME);
			return;
		}
		rcore_rc_comp_complete(st, v, last);
		return;
	}
	if (wqe->kind != RCORE_RC_MSG_READ) {
		rcore_rc_comp_ignore(v, RCORE_RC_CWHY_UNEXPECTED);
		return;
	}
	if (op != RCORE_RC_READ_RESP_MIDDLE &&
	    rcore_aeth_syn_type(pkt->aeth.syndrome) != RCORE_AETH_ACK) {
		rcore_rc_comp_ignore(v, RCORE_RC_CWHY_BAD_SYNDROME);
		return;
	}
	if (p != st->una_psn) {
		/*
		 * Responses come in PSN order, so the one at una is lost: an
		 * implied NAK.  Ask again from una now rather than after an
		 * ACK timeout; the rest of the stale stream is ignored
		 * (RETRIED) until una moves.
		 */
		rcore_rc_comp_retry(st, v, st->una_psn, st->una_psn, true);
		return;
	}

	/*
	 * A read retried from the middle is answered from a FIRST (or ONLY)
	 * at the PSN it restarts at, and a long read is asked for in
	 * several requests (RCORE_RC_READ_CHUNK), each answered FIRST..LAST:
	 * so FIRST fits any PSN but the last, MIDDLE and LAST any but the
	 * first.  ONLY answers a one-packet request: the read's last PSN,
	 * or a retry from a chunk's last PSN (whatever the chunk size, a
	 * multiple of RCORE_RC_READ_CHUNK_MIN packets from the read's start).
	 */
	idx = (p - first) & RCORE_PSN_MASK;
	if (p == last)
		ok = op == RCORE_RC_READ_RESP_ONLY ||
		     (op == RCORE_RC_READ_RESP_LAST && p != first);
	else
		ok = op == RCORE_RC_READ_RESP_FIRST ||
		     (op == RCORE_RC_READ_RESP_ONLY &&
		      (idx + 1) % RCORE_RC_READ_CHUNK_MIN == 0) ||
		     (op == RCORE_RC_READ_RESP_MIDDLE && p != first) ||
		     (op == RCORE_RC_READ_RESP_LAST && p != first);
	if (!ok) {
		rcore_rc_comp_ignore(v, RCORE_RC_CWHY_UNEXPECTED);
		return;
	}

	len = rcore_rc_pkt_payload(wqe->len, st->mtu, idx);
	if (pkt->payload_len != len) {
		rcore_rc_comp_ignore(v, RCORE_RC_CWHY_BAD_LENGTH);
		return;
	}
	v->action = RCORE_RC_COMP_READ_DATA;
	v->offset = idx * st->mtu;
	v->len = len;
	v->done = p == last;
	rcore_rc_comp_progress(st, v, rcore_psn_add(p, 1));
}

/* Atomic ACK at PSN @p. */
static void rcore_rc_comp_atomic(const struct rcore_rc_req_state *st,
				 const struct rcore_rc_wqe *wqe,
				 const struct rcore_pkt *pkt,
				 struct rcore_rc_comp_verdict *v,
				 uint32_t p, uint32_t last)
{
	if (rcore_psn_before(last, p)) {
		rcore_rc_comp_passed(st, wqe, v, last);
		return;
	}
	if (!rcore_rc_msg_is_atomic(wqe->kind)) {
		rcore_rc_comp_ignore(v, RCORE_RC_CWHY_UNEXPECTED);
		return;
	}
	if (rcore_aeth_syn_type(pkt->aeth.syndrome) != RCORE_AETH_ACK) {
		rcore_rc_comp_ignore(v, RCORE_RC_CWHY_BAD_SYNDROME);
		return;
	}
	v->action = RCORE_RC_COMP_ATOMIC_DATA;
	v->done = true;
	rcore_rc_comp_progress(st, v, rcore_psn_add(last, 1));
}

static void rcore_rc_comp_verdict_init(const struct rcore_rc_req_state *st,
				       struct rcore_rc_comp_verdict *v)
{
	*v = (struct rcore_rc_comp_verdict){
		.action = RCORE_RC_COMP_IGNORE,
		.status = RCORE_WC_SUCCESS,
		.una_psn = st->una_psn,
		.retry_left = st->retry_left,
		.rnr_left = st->rnr_left,
	};
}

void rcore_rc_comp_check(const struct rcore_rc_req_state *st,
			 const struct rcore_rc_wqe *wqe,
			 const struct rcore_pkt *pkt,
			 struct rcore_rc_comp_verdict *v)
{
	uint32_t p = pkt->bth.psn & RCORE_PSN_MASK;
	uint8_t op = pkt->bth.opcode;
	uint32_t first, last, n;

	rcore_rc_comp_verdict_init(st, v);
	if (op < RCORE_RC_READ_RESP_FIRST || op > RCORE_RC_ATOMIC_ACK) {
		rcore_rc_comp_ignore(v, RCORE_RC_CWHY_NOT_RC_RESP);
		return;
	}
	if (!wqe || st->una_psn == st->next_psn) {
		rcore_rc_comp_ignore(v, RCORE_RC_CWHY_NO_WQE);
		return;
	}
	/* only PSNs sent and not yet acknowledged are news */
	if (!rcore_psn_in_range(p, st->una_psn,
				rcore_psn_add(st->next_psn, -1))) {
		rcore_rc_comp_ignore(v, RCORE_RC_CWHY_STALE);
		return;
	}
	n = rcore_rc_msg_psns(wqe->kind, wqe->len, st->mtu);
	first = wqe->first_psn & RCORE_PSN_MASK;
	last = rcore_psn_add(first, (int32_t)n - 1);
	if (!n || !rcore_psn_in_range(st->una_psn, first, last)) {
		rcore_rc_comp_ignore(v, RCORE_RC_CWHY_BAD_WQE);
		return;
	}

	switch (op) {
	case RCORE_RC_ACK:
		rcore_rc_comp_aeth(st, wqe, pkt, v, p, last);
		break;
	case RCORE_RC_ATOMIC_ACK:
		rcore_rc_comp_atomic(st, wqe, pkt, v, p, last);
		break;
	default:
		rcore_rc_comp_read(st, wqe, pkt, v, p, first, last);
		break;
	}
}

void rcore_rc_comp_timeout(const struct rcore_rc_req_state *st,
			   struct rcore_rc_comp_verdict *v)
{
	rcore_rc_comp_verdict_init(st, v);
	if (st->una_psn == st->next_psn) {
		rcore_rc_comp_ignore(v, RCORE_RC_CWHY_NO_WQE);
		return;
	}
	rcore_rc_comp_retry(st, v, st->una_psn, st->una_psn, false);
}

void rcore_rc_comp_apply(struct rcore_rc_req_state *st,
			 const struct rcore_rc_comp_verdict *v)
{
	if (v->action == RCORE_RC_COMP_IGNORE ||
	    v->action == RCORE_RC_COMP_FATAL)
		return;
	if (rcore_psn_after(v->una_psn, st->una_psn)) {
		st->una_psn = v->una_psn;
		st->retry_valid = false;
	}
	st->retry_left = v->retry_left;
	st->rnr_left = v->rnr_left;
	if (v->action == RCORE_RC_COMP_RETRY) {
		st->retry_psn = v->psn;
		st->retry_valid = true;
	}
}
