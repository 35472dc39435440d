// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: the RC responder: request packets to memory writes, receive
 * completions, read responses, atomics and ACKs/NAKs.
 *
 * Runs with the responder's lock held (struct rodp_eng), so it may sleep
 * while it touches memory (ODP).  The decisions are rcore's
 * (rcore_rc_resp_check() and friends); R_Key, range and receive buffer
 * checks are made here, through the MR layer.
 */

#include "rodp.h"

/* The receive WQE in progress (resp_have_wqe): the kernel's copy. */
static struct rodp_rwqe *rodp_rq_cur(struct rodp_qp *qp)
{
	if (qp->srq)
		return qp->srq_wqe;
	return rodp_wq_slot(&qp->rq, qp->rq.cons);
}

/**
 * rodp_resp_get_wqe - the receive WQE for a QP's next incoming message
 * @qp: the queue pair; the caller runs its responder, with no receive in
 *	progress
 *
 * The one place a responder takes a receive WQE, whatever the QP type:
 * the oldest fetched or next posted WQE of the QP's own receive queue, or
 * one taken from its SRQ (rodp_srq_take()).  The WQE is the kernel's
 * checked copy; a num_sge beyond what the queue allows is made 0 (nothing
 * fits: a length error).  The caller marks it in progress
 * (resp_have_wqe); it completes with rodp_resp_recv_done() or is flushed.
 *
 * Return: the WQE, NULL when none is posted (an RNR), or ERR_PTR(-EIO)
 * when the QP's SRQ is in error.
 */
struct rodp_rwqe *rodp_resp_get_wqe(struct rodp_qp *qp)
{
	struct rodp_rwqe *wqe;

	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	if (qp->srq)
		return rodp_srq_take(qp);
	if (!qp->rq.ring)
		return NULL;	/* no receive queue: XRC, before a lookup */
	wqe = qp->rq.head == qp->rq.cons ?
	      rodp_wq_fetch(&qp->rq) : rodp_rq_cur(qp);
	if (wqe && wqe->num_sge > qp->max_recv_sge)
		wqe->num_sge = 0;	/* nothing fits: length error */
	return wqe;
}

static const struct rodp_sge *rodp_rwqe_sge(const struct rodp_rwqe *wqe)
{
	return (const void *)(wqe + 1);
}

/* Receive WQEs posted and not yet taken: the credits to advertise. */
static u8 rodp_resp_credits(struct rodp_qp *qp)
{
	if (qp->srq || !qp->rq.ring)
		return rcore_rc_credit_code(0, true);
	return rcore_rc_credit_code(rcore_ring_count(rodp_wq_prod(&qp->rq),
						     qp->rq.head), false);
}

static void rodp_resp_send(struct rodp_qp *qp, u8 opcode,
			   const struct rcore_rc_ack *ack, u64 orig)
{
	struct rodp_tx tx = {};

	tx.pkt.bth.opcode = opcode;
	tx.pkt.bth.dqpn = qp->attr.dest_qp_num;
	tx.pkt.bth.psn = ack->psn;
	tx.pkt.aeth = ack->aeth;
	tx.pkt.atmack.orig = orig;
	rodp_xmit(qp, &tx);
}

/* Send the coalesced ACK now. */
static void rodp_resp_ack(struct rodp_qp *qp)
{
	struct rcore_rc_ack ack;

	qp->resp_ack_due = false;
	rcore_rc_resp_ack(&qp->resp, rodp_resp_credits(qp), &ack);
	rodp_resp_send(qp, RCORE_RC_ACK, &ack, 0);
}

/**
 * rodp_resp_reset - forget the responder's work in progress
 * @qp: the queue pair; caller holds the responder's lock
 */
void rodp_resp_reset(struct rodp_qp *qp)
{
	qp->resp_ack_due = false;
	qp->resp_nak_due = false;
	qp->resp_fatal = false;
	qp->resp_have_wqe = false;
	qp->resp_msg_len = 0;
	qp->rd_head = qp->rd_tail = 0;
	memset(qp->atomics, 0, sizeof(qp->atomics));
}

/*
 * Send the NAK @ack of a request the responder refuses for good, and the
 * QP goes to the error state.  Read and atomic responses still queued
 * answer earlier requests: they go out first (a NAK that overtook them
 * would leave the requester retrying those requests into a QP in the
 * error state), and until then later requests are dropped.
 */
static void rodp_resp_fatal_ack(struct rodp_qp *qp,
				const struct rcore_rc_ack *ack)
{
	if (qp->rd_tail != qp->rd_head) {
		qp->resp_nak = *ack;
		qp->resp_nak_due = true;
		qp->resp_fatal = true;
		return;
	}
	rodp_resp_send(qp, RCORE_RC_ACK, ack, 0);
	rodp_qp_error(qp, RODP_RESP);
}

/**
 * rodp_resp_fatal - refuse a request for good (IBA class B/C)
 * @qp: the queue pair; the caller runs its responder
 * @psn: the request's PSN
 * @code: the NAK to send
 *
 * The NAK goes out once the responses queued ahead of it are out, and
 * the QP goes to the error state (a UC QP drops the message instead).
 */
void rodp_resp_fatal(struct rodp_qp *qp, u32 psn, enum rcore_nak_code code)
{
	enum rodp_counter cnt = RODP_CNT_TX_NAK_OP;
	struct rcore_rc_ack ack;

	if (rodp_qp_uc(qp)) {
		/* UC has no NAK: the message is dropped, the QP stays. */
		rodp_uc_resp_drop(qp, RODP_CNT_UC_DROP_ACCESS);
		return;
	}
	if (code == RCORE_NAK_INVALID_REQ)
		cnt = RODP_CNT_TX_NAK_INV;
	else if (code == RCORE_NAK_REMOTE_ACCESS_ERR)
		cnt = RODP_CNT_TX_NAK_ACCESS;
	rcore_rc_resp_nak(&qp->resp, psn, rcore_aeth_nak(code), &ack);
	rodp_dbg_qp(qp, "NAK psn %u code %u: the QP goes to error\n", psn,
		    code);
	rodp_count(qp->rdev, cnt);
	rodp_resp_fatal_ack(qp, &ack);
}

/*
 * Not ready for the request at @psn: an RNR NAK (the requester sends it
 * again after the QP's min_rnr_timer), or on UC the message is dropped.
 */
static void rodp_resp_rnr(struct rodp_qp *qp, u32 psn,
			  enum rodp_counter uc_why)
{
	if (rodp_qp_uc(qp)) {
		rodp_uc_resp_drop(qp, uc_why);
		return;
	}
	rcore_rc_resp_nak(&qp->resp, psn,
			  rcore_aeth_rnr_nak(qp->attr.min_rnr_timer),
			  &qp->resp_nak);
	qp->resp_nak_due = true;
	rcore_rc_resp_nakked(&qp->resp);
	rodp_count(qp->rdev, RODP_CNT_TX_RNR_NAK);
}

/*
 * A fault into the memory of the request at @psn failed for the moment
 * only (@err): -EBUSY, it kept colliding with invalidations past its
 * deadline (a slow kernel, a page under migration or reclaim), or
 * -ENOMEM.  Neither is the requester's error nor a reason to end the
 * QP: as a NIC's responder answers a page fault, an RNR NAK (counted in
 * tx_rnr_nak), and the requester sends the packet again after its RNR
 * timer (rxe does for any request, rodp for anything but a read, which
 * is never NAKed so).  Nothing of the packet counted as done (a SEND
 * keeps its receive, a WRITE its position, an atomic was not executed),
 * so the retry writes the same bytes.  On UC the message is dropped.
 * Return false for any other error.
 */
static bool rodp_resp_mem_later(struct rodp_qp *qp, u32 psn, int err)
{
	if (!rodp_mem_later(err))
		return false;
	rodp_dbg_qp(qp, "psn %u: fault failed for now (%d): RNR\n", psn,
		    err);
	rodp_resp_rnr(qp, psn, RODP_CNT_UC_DROP_ACCESS);
	return true;
}

/*
 * Memory failed a request (@err, from rodp_mr_get() or rodp_mr_io()).
 * For the moment only: rodp_resp_mem_later().  Else NAK it, and the QP
 * goes to the error state.  An address space that is gone (-ESRCH: the
 * process is exiting, its QPs are about to be destroyed) is the
 * responder's own failure, a remote operational error; anything else (a
 * key gone, memory unmapped, PROT_NONE or read-only) is a remote access
 * error.
 */
static void rodp_resp_mem_failed(struct rodp_qp *qp, u32 psn, int err)
{
	if (rodp_resp_mem_later(qp, psn, err))
		return;
	rodp_resp_fatal(qp, psn, err == -ESRCH ? RCORE_NAK_REMOTE_OP_ERR :
			RCORE_NAK_REMOTE_ACCESS_ERR);
}

/*
 * The R_Key check of a whole RDMA WRITE or READ, at its first packet:
 * false (and the QP NAKed into error) when the key, PD, rights or range
 * do not allow it.  Later packets look the key up again for their own
 * range, so no MR is held between packets.
 */
static bool rodp_resp_check_rkey(struct rodp_qp *qp, u32 psn, u32 rkey,
				 int access, u64 va, u32 len)
{
	struct rodp_mr *mr;
	u64 iova;

	if (!len)
		return true;
	mr = rodp_rkey_get(qp, rkey, access, va, len, &iova);
	if (IS_ERR(mr)) {
		rodp_resp_fatal(qp, psn, RCORE_NAK_REMOTE_ACCESS_ERR);
		return false;
	}
	rodp_mr_put(mr);
	return true;
}

/* Complete the receive WQE in progress. */
static void rodp_resp_recv_done(struct rodp_qp *qp, const struct rodp_rx *rx,
				enum ib_wc_status status, bool write_imm)
{
	const struct rodp_rwqe *wqe = rodp_rq_cur(qp);
	struct rodp_cqe cqe = {
		.wr_id = wqe->wr_id,
		.status = status,
		.opcode = write_imm ? IB_WC_RECV_RDMA_WITH_IMM : IB_WC_RECV,
		.byte_len = qp->resp_msg_len,
		.qp_num = qp->ibqp.qp_num,
		.src_qp = qp->attr.dest_qp_num,
	};

	if (rx && (rx->pkt.info->hdrs & RCORE_HDR_IMMDT)) {
		cqe.wc_flags |= IB_WC_WITH_IMM;
		cqe.imm_data = (__force u32)cpu_to_be32(rx->pkt.imm);
	}
	/* The R_Key a SEND_WITH_INV invalidated, host order. */
	if (rx && (rx->pkt.info->hdrs & RCORE_HDR_IETH) &&
	    status == IB_WC_SUCCESS) {
		cqe.wc_flags |= IB_WC_WITH_INVALIDATE;
		cqe.imm_data = rx->pkt.ieth_rkey;
	}
	/* Slot free first: the consumer may post again on seeing the CQE. */
	qp->resp_have_wqe = false;
	if (!qp->srq)
		rodp_wq_retire(&qp->rq);
	rodp_cq_post(rodp_qp_rcq(qp), &cqe, rx && rx->pkt.bth.se);
}

/* @orig: the value found (CMP_SWAP, FETCH_ADD), or the one to store. */
struct rodp_atomic_ctx {
	struct rodp_qp *qp;
	const struct rcore_pkt *pkt;
	u64 orig;
};

static int rodp_atomic_piece(void *priv, void *kaddr, u64 len)
{
	struct rodp_atomic_ctx *c = priv;
	u64 *p = kaddr;

	if (len != sizeof(u64))
		return -EINVAL;
	spin_lock(&c->qp->rdev->atomic_lock);
	c->orig = *p;
	if (c->pkt->bth.opcode == RCORE_RC_FETCH_ADD)
		*p = c->orig + c->pkt->atmeth.swap_add;
	else if (c->orig == c->pkt->atmeth.compare)
		*p = c->pkt->atmeth.swap_add;
	spin_unlock(&c->qp->rdev->atomic_lock);
	return 0;
}

/* ATOMIC WRITE: its 8 bytes, stored at once. */
static int rodp_atomic_write_piece(void *priv, void *kaddr, u64 len)
{
	struct rodp_atomic_ctx *c = priv;

	if (len != sizeof(u64))
		return -EINVAL;
	/* Against CMP_SWAP and FETCH_ADD too, which take the same lock. */
	spin_lock(&c->qp->rdev->atomic_lock);
	WRITE_ONCE(*(u64 *)kaddr, c->orig);
	spin_unlock(&c->qp->rdev->atomic_lock);
	return 0;
}

/*
 * Execute an ATOMIC WRITE (rcore checked its length and alignment).
 * False when it did not happen: the QP is in error, it waits for a fault
 * on the work item, or the fault failed for the moment (an RNR NAK).
 */
static bool rodp_resp_atomic_write(struct rodp_qp *qp,
				   const struct rodp_rx *rx)
{
	const struct rcore_pkt *pkt = &rx->pkt;
	struct rodp_atomic_ctx c = { .qp = qp, .pkt = pkt };
	struct rodp_mr *mr;
	u64 iova;
	int err;

	/* The 8 bytes (their length was checked), wherever they are. */
	if (skb_copy_bits(rx->skb, rx->payload_off, &c.orig,
			  sizeof(c.orig))) {
		rodp_resp_fatal(qp, pkt->bth.psn, RCORE_NAK_INVALID_REQ);
		return false;
	}
	mr = rodp_rkey_get(qp, pkt->reth.rkey, IB_ACCESS_REMOTE_WRITE,
			   pkt->reth.va, sizeof(u64), &iova);
	if (IS_ERR(mr)) {
		rodp_resp_fatal(qp, pkt->bth.psn, RCORE_NAK_REMOTE_ACCESS_ERR);
		return false;
	}

	err = rodp_mr_io(mr, iova, sizeof(u64), 0, true,
			 rodp_atomic_write_piece, &c);
	rodp_mr_put(mr);
	if (err == -EWOULDBLOCK) {
		rodp_eng_defer(qp, RODP_RESP);
		return false;
	}
	if (err) {
		rodp_resp_mem_failed(qp, pkt->bth.psn, err);
		return false;
	}
	return true;
}

static bool rodp_resp_job_room(struct rodp_qp *qp)
{
	return qp->rd_head - qp->rd_tail < RODP_RD_JOBS;
}

/*
 * Execute a FLUSH (rcore checked its placement types against the QP, its
 * level and length): the R_Key must grant each placement type, over the
 * RETH's range or, for a whole-MR flush, as a key alone.  What rodp
 * stored before is in memory already, stored by a CPU: a barrier makes it
 * visible before the answer goes.  Nothing is persistent (no MR has the
 * right).  False when refused (the NAK is sent).
 */
static bool rodp_resp_flush(struct rodp_qp *qp, const struct rcore_pkt *pkt)
{
	int access = 0;
	struct rodp_mr *mr;
	u64 iova;

	if (pkt->feth.plt & RCORE_FLUSH_GLOBAL)
		access |= RODP_ACCESS_FLUSH_GLOBAL;
	if (pkt->feth.plt & RCORE_FLUSH_PERSISTENT)
		access |= RODP_ACCESS_FLUSH_PERSISTENT;
	mr = rodp_rkey_get(qp, pkt->reth.rkey, access, pkt->reth.va,
			   pkt->feth.sel == RCORE_FLUSH_MR ? 0 : pkt->reth.len,
			   &iova);
	if (IS_ERR(mr)) {
		rodp_resp_fatal(qp, pkt->bth.psn, RCORE_NAK_REMOTE_ACCESS_ERR);
		return false;
	}
	rodp_mr_put(mr);
	/* The stores of the writes before it, before the FLUSH's answer. */
	wmb();
	return true;
}

static void rodp_resp_push_job(struct rodp_qp *qp,
			       const struct rodp_rd_job *job)
{
	struct rodp_rd_job *j = &qp->rd_jobs[qp->rd_head++ % RODP_RD_JOBS];

	*j = *job;
	/* XRC: the read goes on through the PD of the SRQ it named. */
	if (rodp_qp_xrc_tgt(qp) && qp->srq)
		j->xrc_srqn = qp->srq->ibsrq.ext.xrc.srq_num;
}

/*
 * A duplicate read or atomic at @psn: the requester went back to @psn and
 * asks again, in order, for everything from there.  What is queued for
 * @psn and after is dropped, and a read being answered across @psn stops
 * before it: without this, a retried read waits behind the rest of the
 * stale stream (all of a 256 MiB read that lost one packet) and the
 * requester runs out of retries while it drains.  Jobs are queued in PSN
 * order: a new request comes at ePSN, and a duplicate, after this, last.
 */
static void rodp_resp_supersede(struct rodp_qp *qp, u32 psn)
{
	u32 i;

	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	for (i = qp->rd_tail; i != qp->rd_head; i++) {
		struct rodp_rd_job *j = &qp->rd_jobs[i % RODP_RD_JOBS];
		u32 keep;

		if (!rcore_psn_before(j->psn, psn))
			break;
		keep = (psn - j->psn) & RCORE_PSN_MASK;
		if (keep >= j->npsn)
			continue;
		/* @psn falls inside this read: its responses end before. */
		j->npsn = keep;
		if (j->next < keep)
			i++;
		break;
	}
	if (i != qp->rd_head)
		rodp_count(qp->rdev, RODP_CNT_TX_READ_STOP);
	qp->rd_head = i;
}

/**
 * rodp_resp_execute - execute a new, in-sequence request packet
 * @qp: the queue pair; caller holds the responder's lock
 * @rx: the packet, with an RC opcode (a UC packet as the RC opcode it
 *	stands for: rodp_uc.c)
 * @v: rcore's verdict, EXECUTE
 */
void rodp_resp_execute(struct rodp_qp *qp, struct rodp_rx *rx,
		       const struct rcore_rc_resp_verdict *v)
{
	const struct rcore_pkt *pkt = &rx->pkt;
	unsigned int f = v->flags;
	u32 psn = pkt->bth.psn;
	struct rodp_rwqe *wqe;
	struct rodp_mr *mr;
	u64 iova;
	int err;

	if ((f & RCORE_RC_F_NEED_WQE) && !qp->resp_have_wqe) {
		wqe = rodp_resp_get_wqe(qp);
		if (IS_ERR(wqe)) {
			/* Its SRQ is in error: no receive to be had. */
			rodp_resp_fatal(qp, psn, RCORE_NAK_REMOTE_OP_ERR);
			return;
		}
		if (!wqe) {
			rodp_dbg_qp(qp, "psn %u: no receive posted: RNR\n",
				    psn);
			rodp_resp_rnr(qp, psn, RODP_CNT_UC_DROP_NO_RECV);
			return;
		}
		qp->resp_have_wqe = true;
		if (f & RCORE_RC_F_SEND)
			qp->resp_msg_len = 0;
	}

	if (f & RCORE_RC_F_SEND) {
		wqe = rodp_rq_cur(qp);
		err = rodp_sge_copy_rx(qp, rodp_rwqe_sge(wqe), wqe->num_sge,
				       qp->resp_msg_len, rx, 0,
				       pkt->payload_len);
		/* Again from the work item, the receive kept (have_wqe). */
		if (err == -EWOULDBLOCK) {
			rodp_eng_defer(qp, RODP_RESP);
			return;
		}
		/*
		 * A message longer than the receive is the requester's
		 * fault: an invalid request.  A receive buffer the MR no
		 * longer covers (a key, PD, right or range that fails, as
		 * after a rereg of its MR) is a local failure here: a
		 * remote operational error for the requester.
		 */
		if (err && rodp_resp_mem_later(qp, psn, err))
			return;
		if (err) {
			/* opcode, bytes at offset, SGEs, first SGE's length */
			rodp_dbg_qp(qp, "psn %u: into the receive: %d (%u: %u at %u; %u, %u)\n",
				    psn, err, pkt->bth.opcode, pkt->payload_len,
				    qp->resp_msg_len, wqe->num_sge,
				    wqe->num_sge ? rodp_rwqe_sge(wqe)->length :
				    0);
			rodp_resp_recv_done(qp, rx, err == -ERANGE ?
					    IB_WC_LOC_LEN_ERR :
					    IB_WC_LOC_PROT_ERR, false);
			rodp_resp_fatal(qp, psn, err == -ERANGE ?
					RCORE_NAK_INVALID_REQ :
					RCORE_NAK_REMOTE_OP_ERR);
			return;
		}
		qp->resp_msg_len += pkt->payload_len;
	}

	/*
	 * SEND_WITH_INV, at its last packet: the R_Key must name a type 2
	 * window of this QP (rodp_mw.c), else the request is refused as
	 * an access through a bad R_Key would be.
	 */
	if ((f & RCORE_RC_F_INV) &&
	    rodp_mw_invalidate(qp, pkt->ieth_rkey, true)) {
		rodp_resp_recv_done(qp, rx, IB_WC_LOC_ACCESS_ERR, false);
		rodp_resp_fatal(qp, psn, RCORE_NAK_REMOTE_ACCESS_ERR);
		return;
	}

	/* ATOMIC WRITE, FLUSH: answered as a read of length zero, in order. */
	if (f & (RCORE_RC_F_ATOMIC_WRITE | RCORE_RC_F_FLUSH)) {
		struct rodp_rd_job job = { .psn = psn, .npsn = 1,
					   .fresh = true };
		bool done;

		/*
		 * No room for the answer: an ATOMIC WRITE broke max_rd_atomic;
		 * a FLUSH did not (6.2's rxe does not count it), it is asked
		 * for again.
		 */
		if (!rodp_resp_job_room(qp)) {
			if (f & RCORE_RC_F_FLUSH)
				rodp_resp_rnr(qp, psn,
					      RODP_CNT_UC_DROP_NO_RECV);
			else
				rodp_resp_fatal(qp, psn, RCORE_NAK_INVALID_REQ);
			return;
		}
		done = (f & RCORE_RC_F_FLUSH) ? rodp_resp_flush(qp, pkt) :
						rodp_resp_atomic_write(qp, rx);
		if (!done)
			return;
		rodp_resp_push_job(qp, &job);
	}

	if (f & RCORE_RC_F_WRITE) {
		if (f & RCORE_RC_F_FIRST) {
			/*
			 * The whole range is checked now; each packet looks
			 * the key up again, so no MR is held between packets
			 * (a deregistration never waits on the network).
			 */
			qp->resp_va = pkt->reth.va;
			qp->resp_va_end = pkt->reth.va + pkt->reth.len;
			qp->resp_rkey = pkt->reth.rkey;
			qp->resp_msg_len = pkt->reth.len;
			if (!rodp_resp_check_rkey(qp, psn, pkt->reth.rkey,
						  IB_ACCESS_REMOTE_WRITE,
						  pkt->reth.va, pkt->reth.len))
				return;
		}
		if (pkt->payload_len) {
			mr = rodp_rkey_get(qp, qp->resp_rkey,
					   IB_ACCESS_REMOTE_WRITE, qp->resp_va,
					   pkt->payload_len, &iova);
			err = IS_ERR(mr) ? PTR_ERR(mr) :
			      rodp_mr_copy_rx(mr, iova, pkt->payload_len,
					      qp->resp_va_end - qp->resp_va -
					      pkt->payload_len, rx, 0);
			if (!IS_ERR(mr))
				rodp_mr_put(mr);
			if (err == -EWOULDBLOCK) {
				/* The FIRST's checks are made again: alike. */
				rodp_eng_defer(qp, RODP_RESP);
				return;
			}
			if (err) {
				rodp_resp_mem_failed(qp, psn, err);
				return;
			}
			qp->resp_va += pkt->payload_len;
		}
	}

	if (f & RCORE_RC_F_READ) {
		struct rodp_rd_job job = {
			.psn = psn,
			.npsn = v->npsn,
			.va = pkt->reth.va,
			.rkey = pkt->reth.rkey,
			.len = pkt->reth.len,
			.fresh = true,
		};

		if (!rodp_resp_job_room(qp)) {
			rodp_resp_fatal(qp, psn, RCORE_NAK_INVALID_REQ);
			return;
		}
		if (!rodp_resp_check_rkey(qp, psn, job.rkey,
					  IB_ACCESS_REMOTE_READ, job.va, job.len))
			return;
		rodp_resp_push_job(qp, &job);
	}

	if (f & RCORE_RC_F_ATOMIC) {
		struct rodp_atomic_ctx c = { .qp = qp, .pkt = pkt };
		struct rodp_rd_job job = { .psn = psn, .npsn = 1,
					   .atomic = true };
		struct rodp_atomic_res *res;

		if (!rodp_resp_job_room(qp)) {
			rodp_resp_fatal(qp, psn, RCORE_NAK_INVALID_REQ);
			return;
		}
		mr = rodp_rkey_get(qp, pkt->atmeth.rkey,
				   IB_ACCESS_REMOTE_ATOMIC, pkt->atmeth.va,
				   sizeof(u64), &iova);
		if (IS_ERR(mr)) {
			rodp_resp_fatal(qp, psn, RCORE_NAK_REMOTE_ACCESS_ERR);
			return;
		}
		err = rodp_mr_io(mr, iova, sizeof(u64), 0, true,
				 rodp_atomic_piece, &c);
		rodp_mr_put(mr);
		/* The fault comes before the operation: nothing done yet. */
		if (err == -EWOULDBLOCK) {
			rodp_eng_defer(qp, RODP_RESP);
			return;
		}
		if (err) {
			rodp_resp_mem_failed(qp, psn, err);
			return;
		}
		res = &qp->atomics[qp->atomic_next++ % RODP_MAX_RD_ATOMIC];
		res->psn = psn;
		res->orig = c.orig;
		res->valid = true;
		job.orig = c.orig;
		rodp_resp_push_job(qp, &job);
	}

	rcore_rc_resp_executed(&qp->resp, pkt, v);
	if (v->flags & RCORE_RC_F_ACK_NOW)
		qp->resp_ack_due = true;
	if (!(f & RCORE_RC_F_RECV_DONE))
		return;
	/*
	 * The CQE first: the consumer waits for it, not for the ACK.  The
	 * ACK follows at once, under the same lock, when nothing has to go
	 * out ahead of it (read or atomic responses, a NAK): a consumer
	 * that destroys the QP on seeing the CQE waits for this run to end
	 * (destroy waits for the references and the work items), one that
	 * modifies it waits for the lock, so the requester is not left
	 * retrying into a QP that no longer exists.  Behind queued
	 * responses the ACK waits for them, as on the wire; a QP destroyed
	 * or reset meanwhile loses them all, as a NIC's would.
	 */
	rodp_resp_recv_done(qp, rx, IB_WC_SUCCESS, !!(f & RCORE_RC_F_WRITE));
	if (qp->resp_ack_due && !qp->resp_nak_due &&
	    qp->rd_tail == qp->rd_head)
		rodp_resp_ack(qp);
}

/*
 * Acknowledge a duplicate SEND or WRITE that asks for it (@dup: rcore's
 * ACK of the duplicate's own PSN).  With nothing queued to go out first
 * (read or atomic responses, a NAK), the latest ACK instead, as the
 * coalesced ACK would be and as rxe's responder does: it claims no more
 * than that ACK would, and the duplicate is behind it.  rxe (6.1) as the
 * requester mistakes an ACK of exactly the last PSN of a message it is
 * sending again for the end of that message, without completing it, and
 * its next retry sends that message's packets again one PSN late (seen
 * under packet loss: a SEND one packet longer than the receive, a
 * remote invalid request).  The latest ACK is still that PSN when no
 * SEND or WRITE after it was executed (reads and atomics do not move it).
 */
static void rodp_resp_dup_ack(struct rodp_qp *qp,
			      const struct rcore_rc_ack *dup)
{
	u8 credits = rodp_resp_credits(qp);
	struct rcore_rc_ack ack = *dup;

	ack.aeth.syndrome = rcore_aeth_ack(credits);
	if (qp->rd_tail == qp->rd_head && !qp->resp_nak_due &&
	    rcore_psn_before(dup->psn, qp->resp.ack_psn))
		rcore_rc_resp_ack(&qp->resp, credits, &ack);
	rodp_resp_send(qp, RCORE_RC_ACK, &ack, 0);
}

/**
 * rodp_resp_rx - handle a request packet
 * @qp: the queue pair; caller holds the responder's lock
 * @rx: the packet
 */
void rodp_resp_rx(struct rodp_qp *qp, struct rodp_rx *rx)
{
	struct rcore_rc_resp_verdict v;
	struct rodp_rd_job job;
	u32 i;

	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	/* A NAK that ends the QP waits for responses: nothing more now. */
	if (qp->resp_fatal) {
		rodp_count(qp->rdev, RODP_CNT_RX_DROP_SEQ);
		return;
	}
	rcore_rc_resp_check(&qp->resp, &rx->pkt, &v);
	switch (v.action) {
	case RCORE_RC_RESP_EXECUTE:
		rodp_resp_execute(qp, rx, &v);
		break;
	case RCORE_RC_RESP_DUPLICATE:
		rodp_count(qp->rdev, RODP_CNT_RX_DUP_REQ);
		if (v.dup == RCORE_RC_DUP_ACK) {
			rodp_resp_dup_ack(qp, &v.ack);
		} else if (v.dup == RCORE_RC_DUP_READ) {
			rodp_resp_supersede(qp, v.resp_psn);
			if (!rodp_resp_job_room(qp))
				break;
			job = (struct rodp_rd_job){
				.psn = v.resp_psn,
				.npsn = v.npsn,
				.va = rx->pkt.reth.va,
				.rkey = rx->pkt.reth.rkey,
				.len = rx->pkt.reth.len,
			};
			rodp_resp_push_job(qp, &job);
		} else if (v.dup == RCORE_RC_DUP_ATOMIC_WRITE ||
			   v.dup == RCORE_RC_DUP_FLUSH) {
			/* Stored once: its empty response again. */
			rodp_resp_supersede(qp, v.resp_psn);
			if (!rodp_resp_job_room(qp))
				break;
			job = (struct rodp_rd_job){
				.psn = v.resp_psn, .npsn = 1,
			};
			rodp_resp_push_job(qp, &job);
		} else if (v.dup == RCORE_RC_DUP_ATOMIC) {
			rodp_resp_supersede(qp, v.resp_psn);
			for (i = 0; i < RODP_MAX_RD_ATOMIC; i++) {
				struct rodp_atomic_res *r = &qp->atomics[i];

				if (!r->valid || r->psn != v.resp_psn ||
				    !rodp_resp_job_room(qp))
					continue;
				job = (struct rodp_rd_job){
					.psn = r->psn, .npsn = 1,
					.atomic = true, .orig = r->orig,
				};
				rodp_resp_push_job(qp, &job);
				break;
			}
		}
		break;
	case RCORE_RC_RESP_NAK_SEQ:
		qp->resp_nak = v.ack;
		qp->resp_nak_due = true;
		rcore_rc_resp_nakked(&qp->resp);
		rodp_dbg_qp(qp, "sequence NAK: psn %u, expected %u\n",
			    rx->pkt.bth.psn, qp->resp.epsn);
		rodp_count(qp->rdev, RODP_CNT_TX_NAK_SEQ);
		break;
	case RCORE_RC_RESP_NAK_INVALID:
		rodp_dbg_qp(qp, "NAK psn %u: invalid request (opcode %u, %u bytes, why %d)\n",
			    rx->pkt.bth.psn, rx->pkt.bth.opcode,
			    rx->pkt.payload_len, v.why);
		rodp_count(qp->rdev, RODP_CNT_TX_NAK_INV);
		rodp_resp_fatal_ack(qp, &v.ack);
		break;
	case RCORE_RC_RESP_DROP:
	default:
		rodp_count(qp->rdev, RODP_CNT_RX_DROP_SEQ);
		break;
	}
}

/*
 * A read response could not be sent: its MR or its memory failed it
 * (@err).  @psn is the response's, @first says it is the first response
 * of a new read (not of a retry), so nothing of the read went out yet.
 *
 * A requester follows a read's responses strictly: once it has taken a
 * FIRST it wants MIDDLEs and a LAST.  rxe on 6.1 WARNs (rxe_comp.c,
 * COMPST_ERROR with the WQE's status still successful) on anything else
 * at the PSN it expects: an ACK or NAK, a read response whose AETH is a
 * NAK, a MIDDLE or LAST before a FIRST.  It keeps its place in the
 * stream across retries, so after a partial stream even the first
 * response to the retried read must not be a NAK.  Hence:
 *  - -ENOMEM, -EBUSY (no skb, or faulting kept racing invalidations):
 *    as a packet lost on the wire, the stream stops there and the QP
 *    stays; the requester's timer asks for the rest again;
 *  - in place of the first response of a new read, the NAK (the QP goes
 *    to the error state): the requester has nothing of this read yet;
 *  - else no packet is safe: the stream stops without a NAK and the QP
 *    goes to the error state; the requester's retries go unanswered and
 *    it ends with a retry error, as it would once the QP is destroyed.
 */
static void rodp_resp_read_failed(struct rodp_qp *qp, u32 psn, bool first,
				  int err)
{
	if (rodp_mem_later(err)) {
		rodp_count(qp->rdev, RODP_CNT_TX_READ_STOP);
		qp->rd_tail++;
		return;
	}
	if (first) {
		/* In place of this response: nothing queued goes before. */
		qp->rd_tail = qp->rd_head;
		rodp_resp_mem_failed(qp, psn, err);
		return;
	}
	rodp_count(qp->rdev, RODP_CNT_TX_READ_STOP);
	rodp_qp_error(qp, RODP_RESP);
}

/*
 * The next responses of a read job, up to RODP_TRAIN_MAX of them, in one
 * train to a requester on this host (rodp_train_begin()).  Return false
 * when the next response goes alone (the peer is elsewhere, one response
 * is left, or the first of the train failed: rodp_resp_send_job() then
 * meets its error as it does for one response).
 */
static bool rodp_resp_send_train(struct rodp_qp *qp, struct rodp_rd_job *job)
{
	struct rcore_rc_seg seg;
	struct rcore_rc_ack ack;
	struct rodp_train t;
	struct rodp_srq *srq;
	struct rodp_mr *mr;
	struct rodp_tx tx;
	u32 max, k;
	u64 iova;
	int err;

	if (job->atomic || !job->len || rodp_qp_uc(qp))
		return false;
	max = min_t(u32, RODP_TRAIN_MAX, job->npsn - job->next);
	if (max < 2 || !rodp_path_local(qp->rdev, &qp->path))
		return false;
	rodp_train_begin(&t, max);
	rcore_rc_resp_ack(&qp->resp, rodp_resp_credits(qp), &ack);
	srq = rodp_xrc_job_begin(qp, job);
	for (k = 0; k < max && !IS_ERR(srq); k++) {
		if (rcore_rc_read_resp_seg(job->len, qp->resp.mtu, job->psn,
					   job->next + k, &seg) || !seg.len)
			break;
		mr = rodp_rkey_get(qp, job->rkey, IB_ACCESS_REMOTE_READ,
				   job->va + seg.offset, seg.len, &iova);
		if (IS_ERR(mr))
			break;
		memset(&tx, 0, sizeof(tx));
		tx.pkt.bth.opcode = seg.opcode;
		tx.pkt.bth.dqpn = qp->attr.dest_qp_num;
		tx.pkt.bth.psn = seg.psn;
		tx.pkt.aeth = ack.aeth;
		tx.payload_len = seg.len;
		tx.mr = mr;
		tx.mr_va = iova;
		tx.mr_ahead = job->len - seg.offset - seg.len;
		err = rodp_train_add(qp, &t, &tx);
		rodp_mr_put(mr);
		if (err || seg.last)
			break;
	}
	rodp_xrc_job_end(qp, srq);
	if (!t.n) {
		rodp_train_end(qp, &t);
		return false;
	}
	job->next += rodp_train_end(qp, &t);
	if (job->next == job->npsn)
		qp->rd_tail++;
	return true;
}

/* Send the next response of the oldest read/atomic job. */
static void rodp_resp_send_job(struct rodp_qp *qp)
{
	struct rodp_rd_job *job = &qp->rd_jobs[qp->rd_tail % RODP_RD_JOBS];
	bool first = job->fresh && !job->next;
	struct rcore_rc_seg seg;
	struct rcore_rc_ack ack;
	struct rodp_tx tx = {};
	struct rodp_srq *srq;
	struct rodp_mr *mr;
	u64 iova;
	int err;

	rcore_rc_resp_ack(&qp->resp, rodp_resp_credits(qp), &ack);
	if (job->atomic) {
		ack.psn = job->psn;
		rodp_resp_send(qp, RCORE_RC_ATOMIC_ACK, &ack, job->orig);
		qp->rd_tail++;
		return;
	}
	/* Not the first response of a read: its first may be its NAK. */
	if (!first && rodp_resp_send_train(qp, job))
		return;
	if (rcore_rc_read_resp_seg(job->len, qp->resp.mtu, job->psn,
				   job->next, &seg)) {
		qp->rd_tail++;
		return;
	}
	tx.pkt.bth.opcode = seg.opcode;
	tx.pkt.bth.dqpn = qp->attr.dest_qp_num;
	tx.pkt.bth.psn = seg.psn;
	tx.pkt.aeth = ack.aeth;
	tx.payload_len = seg.len;
	mr = NULL;
	if (seg.len) {
		srq = rodp_xrc_job_begin(qp, job);
		mr = IS_ERR(srq) ? ERR_PTR(-ENOENT) :
		     rodp_rkey_get(qp, job->rkey, IB_ACCESS_REMOTE_READ,
				   job->va + seg.offset, seg.len, &iova);
		rodp_xrc_job_end(qp, srq);
		if (IS_ERR(mr)) {
			/* The MR (or window) went away under the read. */
			rodp_resp_read_failed(qp, seg.psn, first, PTR_ERR(mr));
			return;
		}
		tx.mr = mr;
		tx.mr_va = iova;
		tx.mr_ahead = job->len - seg.offset - seg.len;
	}
	err = rodp_xmit(qp, &tx);
	if (mr)
		rodp_mr_put(mr);
	if (err == -EWOULDBLOCK) {
		/* This response again, from the work item. */
		rodp_eng_defer(qp, RODP_RESP);
		return;
	}
	if (err) {
		rodp_resp_read_failed(qp, seg.psn, first, err);
		return;
	}
	if (++job->next == job->npsn)
		qp->rd_tail++;
}

/**
 * rodp_resp_run - send pending read responses, atomic ACKs, then the
 * coalesced ACK or the deferred NAK
 * @qp: the queue pair; caller holds the responder's lock
 * @busy: set when there is more to send (the caller loops)
 */
void rodp_resp_run(struct rodp_qp *qp, bool *busy)
{
	int budget = 64;

	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	if (!rodp_qp_can_recv(qp))
		return;
	while (qp->rd_tail != qp->rd_head && budget--) {
		rodp_resp_send_job(qp);
		if (rodp_qp_state(qp) == IB_QPS_ERR)
			return;
		if (qp->eng[RODP_RESP].deferred) {
			*busy = true;
			return;
		}
	}
	if (qp->rd_tail != qp->rd_head) {
		*busy = true;
		return;
	}
	if (qp->resp_nak_due) {
		qp->resp_nak_due = false;
		qp->resp_ack_due = false;
		rodp_resp_send(qp, RCORE_RC_ACK, &qp->resp_nak, 0);
		if (qp->resp_fatal)
			rodp_qp_error(qp, RODP_RESP);
		return;
	}
	if (qp->resp_ack_due)
		rodp_resp_ack(qp);
}
