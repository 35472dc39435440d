// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: work completions other than the responder's receive completions:
 * a send WQE retired (rodp_qp_send_cqe()), and the flushes of a QP in
 * the error state, which it enters here (rodp_qp_error()).
 */

#include "rodp.h"

static const u8 rodp_kind_wc[RCORE_RC_MSG_COUNT] = {
	[RCORE_RC_MSG_SEND] = IB_WC_SEND,
	[RCORE_RC_MSG_SEND_IMM] = IB_WC_SEND,
	[RCORE_RC_MSG_SEND_INV] = IB_WC_SEND,
	[RCORE_RC_MSG_WRITE] = IB_WC_RDMA_WRITE,
	[RCORE_RC_MSG_WRITE_IMM] = IB_WC_RDMA_WRITE,
	[RCORE_RC_MSG_READ] = IB_WC_RDMA_READ,
	[RCORE_RC_MSG_CMP_SWAP] = IB_WC_COMP_SWAP,
	[RCORE_RC_MSG_FETCH_ADD] = IB_WC_FETCH_ADD,
	[RCORE_RC_MSG_ATOMIC_WRITE] = RODP_WC_ATOMIC_WRITE,
	[RCORE_RC_MSG_FLUSH] = RODP_WC_FLUSH,
};

/**
 * rodp_qp_send_cqe - retire the oldest send WQE, with a completion when
 * it is signaled or failed
 * @qp: the queue pair; caller holds the requester's lock
 * @idx: the WQE's index, which must be @qp->sq.cons
 * @status: its completion status
 */
void rodp_qp_send_cqe(struct rodp_qp *qp, u32 idx, enum ib_wc_status status)
{
	struct rodp_swqe_info *info = rodp_sq_info(qp, idx);
	const struct rodp_swqe *wqe = rodp_wq_slot(&qp->sq, idx);
	struct rodp_cqe cqe = {};

	lockdep_assert_held(&qp->eng[RODP_REQ].lock);
	/* Only ever the oldest fetched WQE: cons never passes head. */
	if (WARN_ON_ONCE(idx != qp->sq.cons || idx == qp->sq.head))
		return;

	/*
	 * The slot is free before the completion is seen: a consumer that
	 * posts again at once must find room.  The kernel works from its own
	 * copy of the WQE, which stays valid until the next fetch.
	 */
	if (rcore_rc_msg_is_rd_atomic(info->kind) && info->started &&
	    qp->rd_atomic_out)
		qp->rd_atomic_out--;
	if (qp->send_idx == idx) {
		qp->send_idx++;
		qp->send_pkt = 0;
	}
	rodp_wq_retire(&qp->sq);

	if (info->signaled || status != IB_WC_SUCCESS) {
		cqe.wr_id = wqe->wr_id;
		cqe.status = status;
		cqe.opcode = info->local ? rodp_mw_wc_opcode(wqe->opcode) :
			     rodp_kind_wc[info->kind];
		cqe.qp_num = qp->ibqp.qp_num;
		/* The fetch made it 8 for atomics; flushed WQEs have 0. */
		cqe.byte_len = info->len;
		rodp_cq_post(to_rcq(qp->ibqp.send_cq), &cqe, false);
	}
}

/* Complete every send WQE posted (fetched or not) with a flush error. */
static void rodp_qp_flush_sq(struct rodp_qp *qp)
{
	struct rodp_swqe_info *info;
	struct rodp_swqe *wqe;
	u32 prod = rodp_wq_prod(&qp->sq);

	if (prod != qp->sq.cons)
		rodp_dbg_qp(qp, "flush %u send WQEs\n",
			    rcore_ring_count(prod, qp->sq.cons));

	while (qp->sq.head != prod) {
		int kind;

		/*
		 * The fetch reads the user's index again: moved back or too
		 * far meanwhile (a hostile or broken user), it fetches
		 * nothing, and what was fetched is all there is to flush.
		 */
		wqe = rodp_wq_fetch(&qp->sq);
		if (!wqe)
			break;
		info = rodp_sq_info(qp, qp->sq.head - 1);
		memset(info, 0, sizeof(*info));
		/* An unknown opcode completes as a SEND would. */
		kind = rodp_wr_kind(wqe->opcode);
		info->kind = kind < 0 ? RCORE_RC_MSG_SEND : kind;
		info->local = rodp_mw_wc_opcode(wqe->opcode) >= 0;
	}
	while (qp->sq.cons != qp->sq.head)
		rodp_qp_send_cqe(qp, qp->sq.cons, IB_WC_WR_FLUSH_ERR);
	qp->send_idx = qp->sq.cons;
	qp->send_pkt = 0;
	qp->rd_atomic_out = 0;
}

/*
 * Complete every receive WQE posted with a flush error; on an SRQ, only
 * the one the QP took (rodp_srq_qp_flush()).
 */
static void rodp_qp_flush_rq(struct rodp_qp *qp)
{
	struct rodp_cq *rcq;
	struct rodp_rwqe *wqe;
	struct rodp_cqe cqe = {
		.status = IB_WC_WR_FLUSH_ERR,
		.opcode = IB_WC_RECV,
	};

	if (rodp_qp_xrc_tgt(qp)) {
		rodp_xrc_tgt_flush(qp);
		return;
	}
	if (qp->srq) {
		rodp_srq_qp_flush(qp);
		return;
	}
	if (!qp->rq.ring)
		return;
	rcq = to_rcq(qp->ibqp.recv_cq);
	cqe.qp_num = qp->ibqp.qp_num;
	qp->resp_have_wqe = false;
	/* Fetch everything, then retire in order. */
	while (rodp_wq_fetch(&qp->rq))
		;
	if (qp->rq.head != qp->rq.cons)
		rodp_dbg_qp(qp, "flush %u receive WQEs\n",
			    rcore_ring_count(qp->rq.head, qp->rq.cons));
	while (qp->rq.cons != qp->rq.head) {
		wqe = rodp_wq_slot(&qp->rq, qp->rq.cons);
		cqe.wr_id = wqe->wr_id;
		rodp_wq_retire(&qp->rq);
		rodp_cq_post(rcq, &cqe, false);
	}
}

/**
 * rodp_qp_set_ring_error - raise or clear the error flag of a QP's rings
 * @qp: the queue pair
 * @error: raise it (the error state) or clear it (RESET)
 *
 * The rings' error flag tells the provider to ring the doorbell even for
 * a receive, so that what it posts in the error state gets flushed.  The
 * provider publishes its producer index, then reads the flag; we set the
 * flag, then (flushing) read the index: a full barrier on each side, so
 * that one of the two sees the other.
 */
void rodp_qp_set_ring_error(struct rodp_qp *qp, bool error)
{
	u32 f = error ? RODP_RING_F_ERROR : 0;

	WRITE_ONCE(qp->sq.ring->flags, f);
	if (qp->rq.ring)
		WRITE_ONCE(qp->rq.ring->flags, f);
	smp_mb();	/* the flag before the flush's read of prod */
}

/**
 * rodp_eng_flush - flush what a side of a QP in the error state holds
 * @e: the side; the caller holds its lock
 *
 * Every WQE posted to the side's queue completes with a flush error.
 */
void rodp_eng_flush(struct rodp_eng *e)
{
	struct rodp_qp *qp = e->qp;

	lockdep_assert_held(&e->lock);

	if (e->side == RODP_REQ) {
		qp->rnr_wait = false;
		rodp_qp_flush_sq(qp);
	} else {
		/* The receive in progress first: the reset forgets it. */
		rodp_qp_flush_rq(qp);
		rodp_resp_reset(qp);
	}
}

/* The error state: the provider learns it from the rings' flag. */
static void rodp_qp_enter_error(struct rodp_qp *qp)
{
	WRITE_ONCE(qp->state, IB_QPS_ERR);
	rodp_qp_set_ring_error(qp, true);
}

/**
 * rodp_qp_error - move a QP to the error state from one of its sides
 * @qp: the queue pair
 * @side: the side the caller runs: it holds that side's lock
 *
 * Outstanding and posted work requests complete with IB_WC_WR_FLUSH_ERR:
 * at once on @side, and on the other side when it next runs (it is
 * kicked, and flushes whenever it runs in the error state).  Requests
 * posted later are flushed when the doorbell rings.
 */
void rodp_qp_error(struct rodp_qp *qp, enum rodp_side side)
{
	enum rodp_side other = side == RODP_REQ ? RODP_RESP : RODP_REQ;

	lockdep_assert_held(&qp->eng[side].lock);

	rodp_dbg_qp(qp, "to error, from the %s\n",
		    side == RODP_REQ ? "requester" : "responder");
	rodp_qp_enter_error(qp);
	rodp_eng_flush(&qp->eng[side]);
	rodp_eng_kick(&qp->eng[other]);
}

/**
 * rodp_qp_error_both - move a QP to the error state, both sides held
 * @qp: the queue pair; the caller (modify_qp) holds both sides' locks
 *
 * Outstanding and posted work requests of both sides complete with
 * IB_WC_WR_FLUSH_ERR at once.
 */
void rodp_qp_error_both(struct rodp_qp *qp)
{
	lockdep_assert_held(&qp->eng[RODP_REQ].lock);
	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	rodp_dbg_qp(qp, "to error, by modify_qp\n");
	rodp_qp_enter_error(qp);
	rodp_eng_flush(&qp->eng[RODP_REQ]);
	rodp_eng_flush(&qp->eng[RODP_RESP]);
}
