// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: eXtended Reliable Connection (IBA annex A14).
 *
 * An XRC initiator QP (XRC_SEND) is an RC requester without a receive
 * queue: each send WQE names the SRQ it goes to at the far end, which
 * the requester carries in the XRCETH of every request packet
 * (rodp_req.c).  An XRC target QP (XRC_RECV) is an RC responder without
 * a send queue, a PD or CQs of its own: it belongs to an XRC domain, and
 * takes each request's receive WQE from the XRC SRQ the request names,
 * checks its keys against that SRQ's PD and completes into that SRQ's
 * CQ.  Both speak RC's protocol under XRC opcodes: rodp_xmit() gives an
 * XRC QP's RC opcodes the XRC transport bits, and the receive path
 * (rodp_recv.c) turns them back, so the transport is RC's.
 *
 * A target QP holds an SRQ only while it handles one request (the SRQ
 * is looked up by number, with a reference: rodp_srq_get()), so a
 * destroy_srq never waits on the network.  A receive in progress over
 * several packets remembers the SRQ by number; should that SRQ go away
 * before the last packet, the next packet finds no SRQ and is refused.
 *
 * The RDMA core creates target QPs itself, with no udata (uverbs opens
 * them for each user), and keeps the XRC domain and the QPs opened in
 * it: alloc_xrcd has nothing to do.
 */

#include "rodp.h"

static int rodp_alloc_xrcd(struct ib_xrcd *ibxrcd, struct ib_udata *udata)
{
	return 0;
}

static int rodp_dealloc_xrcd(struct ib_xrcd *ibxrcd, struct ib_udata *udata)
{
	return 0;
}

/*
 * The XRC SRQ @srqn of @qp's domain, with a reference; NULL when there
 * is none (no such SRQ, or one of another domain).
 */
static struct rodp_srq *rodp_xrc_srq_get(struct rodp_qp *qp, u32 srqn)
{
	struct rodp_srq *srq = rodp_srq_get(qp->rdev, srqn);

	if (srq && srq->ibsrq.ext.xrc.xrcd != qp->xrcd) {
		rodp_srq_put(srq);
		srq = NULL;
	}
	return srq;
}

/*
 * Refuse a request that names no SRQ of the target's domain, or not the
 * SRQ of the receive it continues: an invalid-request NAK, and the QP
 * goes to the error state (whose flush ends a receive in progress:
 * rodp_xrc_tgt_flush()), as for any malformed request.
 */
static void rodp_xrc_refuse(struct rodp_qp *qp, struct rodp_rx *rx)
{
	rodp_dbg_qp(qp, "xrc: psn %u names SRQ %u, not one of the domain's\n",
		    rx->pkt.bth.psn, rx->pkt.xrc_srqn);
	rodp_resp_fatal(qp, rx->pkt.bth.psn, RCORE_NAK_INVALID_REQ);
}

/**
 * rodp_xrc_tgt_rx - handle a request packet on an XRC target QP
 * @qp: the target QP; the caller runs its responder
 * @rx: the packet, its opcode made RC's, @rx->pkt.xrc_srqn the SRQ
 *
 * The SRQ the request names is held while the RC responder handles it.
 * Packets that continue a receive must name the SRQ it was taken from.
 */
void rodp_xrc_tgt_rx(struct rodp_qp *qp, struct rodp_rx *rx)
{
	u32 srqn = rx->pkt.xrc_srqn;
	struct rodp_srq *srq;

	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	if (qp->resp_fatal) {
		rodp_count(qp->rdev, RODP_CNT_RX_DROP_SEQ);
		return;
	}
	srq = rodp_xrc_srq_get(qp, srqn);
	if (!srq || (qp->resp_have_wqe && srqn != qp->xrc_msg_srqn)) {
		if (srq)
			rodp_srq_put(srq);
		rodp_xrc_refuse(qp, rx);
		return;
	}
	qp->srq = srq;
	rodp_resp_rx(qp, rx);
	if (qp->resp_have_wqe)
		qp->xrc_msg_srqn = srqn;
	qp->srq = NULL;
	rodp_srq_put(srq);
}

/**
 * rodp_xrc_tgt_flush - the receive flush of an XRC target QP
 * @qp: the target QP, in the error state or refusing a request; the
 *	caller runs its responder
 *
 * The receive in progress, if any, completes with a flush error in its
 * SRQ's CQ; an SRQ destroyed meanwhile took its CQ with it, and there is
 * nothing to complete.
 */
void rodp_xrc_tgt_flush(struct rodp_qp *qp)
{
	struct rodp_srq *srq;
	struct rodp_cqe cqe = {
		.status = IB_WC_WR_FLUSH_ERR,
		.opcode = IB_WC_RECV,
		.qp_num = qp->ibqp.qp_num,
	};

	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	if (!qp->resp_have_wqe)
		return;
	qp->resp_have_wqe = false;
	srq = rodp_xrc_srq_get(qp, qp->xrc_msg_srqn);
	if (!srq)
		return;
	cqe.wr_id = qp->srq_wqe->wr_id;
	rodp_dbg_qp(qp, "xrc: flush the receive taken from SRQ %u\n",
		    qp->xrc_msg_srqn);
	rodp_cq_post(container_of(srq->ibsrq.ext.cq, struct rodp_cq, ibcq),
		     &cqe, false);
	rodp_srq_put(srq);
}

/**
 * rodp_xrc_job_begin - hold the SRQ a read response is sent through
 * @qp: the QP; the caller runs its responder
 * @job: the read
 *
 * An XRC target QP checks a read's R_Key against the PD of the SRQ its
 * request named; the SRQ is held, and is @qp's SRQ, until
 * rodp_xrc_job_end().  Other QPs: nothing to do.
 *
 * Return: the SRQ held, NULL for other QPs, or ERR_PTR(-ENOENT) when the
 * SRQ is gone (the read cannot go on).
 */
struct rodp_srq *rodp_xrc_job_begin(struct rodp_qp *qp,
				    const struct rodp_rd_job *job)
{
	struct rodp_srq *srq;

	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	if (!rodp_qp_xrc_tgt(qp))
		return NULL;
	srq = rodp_xrc_srq_get(qp, job->xrc_srqn);
	if (!srq)
		return ERR_PTR(-ENOENT);
	qp->srq = srq;
	return srq;
}

/**
 * rodp_xrc_job_end - undo rodp_xrc_job_begin()
 * @qp: the QP
 * @srq: what rodp_xrc_job_begin() returned
 */
void rodp_xrc_job_end(struct rodp_qp *qp, struct rodp_srq *srq)
{
	if (IS_ERR_OR_NULL(srq))
		return;
	qp->srq = NULL;
	rodp_srq_put(srq);
}

const struct ib_device_ops rodp_xrc_ops = {
	.alloc_xrcd = rodp_alloc_xrcd,
	.dealloc_xrcd = rodp_dealloc_xrcd,

	INIT_RDMA_OBJ_SIZE(ib_xrcd, rodp_xrcd, ibxrcd),
};
