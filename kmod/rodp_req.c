// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: the RC requester (send queue WQEs to request packets) and the
 * completer (response packets and timers to completions and retries).
 *
 * Both run with the requester's lock held (struct rodp_eng); the decisions
 * are rcore's (lib/include/rcore/rc.h), the data movement and the
 * bookkeeping are here.
 */

#include <linux/log2.h>

#include "rodp.h"

static const s8 rodp_wr_kinds[] = {
	[RODP_WR_RDMA_WRITE] = RCORE_RC_MSG_WRITE,
	[RODP_WR_RDMA_WRITE_WITH_IMM] = RCORE_RC_MSG_WRITE_IMM,
	[RODP_WR_SEND] = RCORE_RC_MSG_SEND,
	[RODP_WR_SEND_WITH_IMM] = RCORE_RC_MSG_SEND_IMM,
	[RODP_WR_RDMA_READ] = RCORE_RC_MSG_READ,
	[RODP_WR_ATOMIC_CMP_AND_SWP] = RCORE_RC_MSG_CMP_SWAP,
	[RODP_WR_ATOMIC_FETCH_AND_ADD] = RCORE_RC_MSG_FETCH_ADD,
	[RODP_WR_LOCAL_INV] = -1,	/* local: rodp_mw_local_op() */
	[RODP_WR_BIND_MW] = -1,
	[RODP_WR_SEND_WITH_INV] = RCORE_RC_MSG_SEND_INV,
	[RODP_WR_SEND_WITH_INV + 1 ... RODP_WR_FLUSH - 1] = -1,
	[RODP_WR_FLUSH] = RCORE_RC_MSG_FLUSH,
	[RODP_WR_ATOMIC_WRITE] = RCORE_RC_MSG_ATOMIC_WRITE,
};

/**
 * rodp_wr_kind - the RC message a work request opcode asks for
 * @opcode: enum rodp_wr_opcode
 *
 * Return: an enum rcore_rc_msg value, or -EINVAL for an opcode rodp does
 * not carry out on RC, or that sends nothing (BIND_MW, LOCAL_INV).
 */
int rodp_wr_kind(u8 opcode)
{
	if (opcode >= ARRAY_SIZE(rodp_wr_kinds) || rodp_wr_kinds[opcode] < 0)
		return -EINVAL;
	return rodp_wr_kinds[opcode];
}

static const struct rodp_sge *rodp_swqe_sge(const struct rodp_swqe *wqe)
{
	return (const void *)(wqe + 1);
}

/* A FLUSH's placement types and selectivity level, as its FETH has them. */
static u8 rodp_flush_plt(const struct rodp_swqe *wqe)
{
	return wqe->swap & RODP_FLUSH_PLT_MASK;
}

static u8 rodp_flush_sel(const struct rodp_swqe *wqe)
{
	return (wqe->swap & RODP_FLUSH_SEL_MASK) >> RODP_FLUSH_SEL_SHIFT;
}

/* One or both placement types, a known level, no data of its own. */
static bool rodp_flush_wqe_ok(const struct rodp_swqe *wqe)
{
	u8 plt = rodp_flush_plt(wqe);

	return plt && !(plt & ~(RCORE_FLUSH_GLOBAL | RCORE_FLUSH_PERSISTENT)) &&
	       !(wqe->swap & ~(u64)(RODP_FLUSH_PLT_MASK |
				      RODP_FLUSH_SEL_MASK)) &&
	       rodp_flush_sel(wqe) <= RCORE_FLUSH_MR &&
	       !wqe->num_sge && !(wqe->flags & RODP_SEND_INLINE);
}

/* Copy in the next posted send WQE and check it.  False: none posted. */
static bool rodp_req_fetch(struct rodp_qp *qp)
{
	struct rodp_swqe_info *info;
	const struct rodp_swqe *wqe;
	const struct rodp_sge *sge;
	u64 len = 0;
	int kind;
	u32 i;

	wqe = rodp_wq_fetch(&qp->sq);
	if (!wqe)
		return false;
	info = rodp_sq_info(qp, qp->sq.head - 1);
	memset(info, 0, sizeof(*info));
	info->signaled = qp->sq_sig_all || (wqe->flags & RODP_SEND_SIGNALED);

	/* Bind and local invalidate: carried out by rodp_req_run(). */
	if (rodp_mw_wc_opcode(wqe->opcode) >= 0) {
		info->local = true;
		info->kind = RCORE_RC_MSG_SEND;
		return true;
	}
	kind = rodp_wr_kind(wqe->opcode);
	if (kind < 0 || (rodp_qp_uc(qp) && !rcore_uc_msg_ok(kind)) ||
	    ((kind == RCORE_RC_MSG_ATOMIC_WRITE ||
	      kind == RCORE_RC_MSG_FLUSH) && qp->ibqp.qp_type != IB_QPT_RC) ||
	    (kind == RCORE_RC_MSG_FLUSH && !rodp_flush_wqe_ok(wqe))) {
		info->kind = RCORE_RC_MSG_SEND;
		info->status = IB_WC_LOC_QP_OP_ERR;
		return true;
	}
	info->kind = kind;

	if (wqe->flags & RODP_SEND_INLINE) {
		if ((rcore_rc_msg_is_rd_atomic(kind) &&
		     kind != RCORE_RC_MSG_ATOMIC_WRITE) ||
		    wqe->inline_len > qp->max_inline) {
			info->status = IB_WC_LOC_QP_OP_ERR;
			return true;
		}
		len = wqe->inline_len;
	} else {
		if (wqe->num_sge > qp->max_send_sge) {
			info->status = IB_WC_LOC_QP_OP_ERR;
			return true;
		}
		sge = rodp_swqe_sge(wqe);
		for (i = 0; i < wqe->num_sge; i++)
			len += sge[i].length;
	}
	if (kind == RCORE_RC_MSG_CMP_SWAP || kind == RCORE_RC_MSG_FETCH_ADD) {
		if (wqe->num_sge != 1 || len < 8) {
			info->status = IB_WC_LOC_LEN_ERR;
			return true;
		}
		len = 8;
	}
	/* No SGE, not inline: the 8 bytes are in the WQE (compare_add). */
	if (kind == RCORE_RC_MSG_ATOMIC_WRITE) {
		if (!(wqe->flags & RODP_SEND_INLINE) && !wqe->num_sge)
			len = RCORE_RC_ATOMIC_WRITE_LEN;
		if (len != RCORE_RC_ATOMIC_WRITE_LEN) {
			info->status = IB_WC_LOC_LEN_ERR;
			return true;
		}
	}
	/* The range's length is in the WQE (compare_add). */
	if (kind == RCORE_RC_MSG_FLUSH)
		len = rodp_flush_sel(wqe) == RCORE_FLUSH_MR ? 0 :
		      wqe->compare_add;
	if (len > RODP_MAX_MSG) {
		info->status = IB_WC_LOC_LEN_ERR;
		return true;
	}
	info->len = len;
	info->npsn = rcore_rc_msg_psns(kind, len, qp->req.mtu);
	return true;
}

/*
 * The oldest WQE failed locally (found when fetched or sent) and nothing
 * before it is outstanding: complete it with its error, QP to error.
 */
static bool rodp_req_fail_oldest(struct rodp_qp *qp)
{
	struct rodp_swqe_info *info;

	if (qp->sq.cons == qp->sq.head)
		return false;
	info = rodp_sq_info(qp, qp->sq.cons);
	if (!info->status || info->started)
		return false;
	rodp_qp_send_cqe(qp, qp->sq.cons, info->status);
	rodp_qp_error(qp, RODP_REQ);
	return true;
}

static enum ib_wc_status rodp_local_status(int err)
{
	return err == -ERANGE ? IB_WC_LOC_LEN_ERR : IB_WC_LOC_PROT_ERR;
}

/*
 * Packet @seg of the WQE at @idx, in @tx (zeroed by the caller): headers
 * and where its payload comes from.
 */
static void rodp_req_build(struct rodp_qp *qp, u32 idx,
			   const struct rcore_rc_seg *seg, struct rodp_tx *tx)
{
	struct rodp_swqe_info *info = rodp_sq_info(qp, idx);
	const struct rodp_swqe *wqe = rodp_wq_slot(&qp->sq, idx);
	struct rcore_pkt *pkt = &tx->pkt;

	pkt->bth.opcode = seg->opcode;
	pkt->bth.dqpn = qp->attr.dest_qp_num;
	pkt->bth.psn = seg->psn;
	/* XRC: every request names the SRQ it goes to (XRCETH). */
	if (rodp_qp_xrc_ini(qp))
		pkt->xrc_srqn = wqe->dest.xrc_srqn & RCORE_QPN_MASK;
	pkt->bth.ackreq = seg->ackreq;
	if (!rodp_qp_uc(qp) && ++qp->since_ackreq >= RODP_ACKREQ_EVERY)
		pkt->bth.ackreq = true;
	if (pkt->bth.ackreq)
		qp->since_ackreq = 0;

	switch (info->kind) {
	case RCORE_RC_MSG_READ:
		pkt->reth.va = wqe->remote_addr + seg->offset;
		pkt->reth.rkey = wqe->rkey;
		pkt->reth.len = seg->len;
		return;
	case RCORE_RC_MSG_CMP_SWAP:
		pkt->atmeth.swap_add = wqe->swap;
		pkt->atmeth.compare = wqe->compare_add;
		fallthrough;
	case RCORE_RC_MSG_FETCH_ADD:
		if (info->kind == RCORE_RC_MSG_FETCH_ADD)
			pkt->atmeth.swap_add = wqe->compare_add;
		pkt->atmeth.va = wqe->remote_addr;
		pkt->atmeth.rkey = wqe->rkey;
		return;
	case RCORE_RC_MSG_FLUSH:
		pkt->feth.plt = rodp_flush_plt(wqe);
		pkt->feth.sel = rodp_flush_sel(wqe);
		pkt->reth.va = wqe->remote_addr;
		pkt->reth.rkey = wqe->rkey;
		pkt->reth.len = info->len;
		return;
	case RCORE_RC_MSG_ATOMIC_WRITE:
		pkt->reth.va = wqe->remote_addr;
		pkt->reth.rkey = wqe->rkey;
		pkt->reth.len = RCORE_RC_ATOMIC_WRITE_LEN;
		if (!(wqe->flags & RODP_SEND_INLINE) && !wqe->num_sge) {
			tx->payload_len = RCORE_RC_ATOMIC_WRITE_LEN;
			tx->inline_data = (const u8 *)&wqe->compare_add;
			return;
		}
		break;
	case RCORE_RC_MSG_WRITE:
	case RCORE_RC_MSG_WRITE_IMM:
		if (seg->first) {
			pkt->reth.va = wqe->remote_addr;
			pkt->reth.rkey = wqe->rkey;
			pkt->reth.len = info->len;
		}
		break;
	default:
		break;
	}
	if (seg->last) {
		pkt->imm = be32_to_cpu((__force __be32)wqe->imm_data);
		/* SEND_WITH_INV: the R_Key, in host order (IETH). */
		pkt->ieth_rkey = wqe->imm_data;
		if ((wqe->flags & RODP_SEND_SOLICITED) &&
		    info->kind != RCORE_RC_MSG_WRITE &&
		    info->kind != RCORE_RC_MSG_ATOMIC_WRITE)
			pkt->bth.se = true;
	}
	tx->payload_len = seg->len;
	if (wqe->flags & RODP_SEND_INLINE) {
		tx->inline_data = (const u8 *)(wqe + 1) + seg->offset;
	} else {
		tx->sge = rodp_swqe_sge(wqe);
		tx->num_sge = wqe->num_sge;
		tx->sge_off = seg->offset;
	}
}

/**
 * rodp_req_send_pkt - build and send packet @seg of the WQE at @idx
 * @qp: the queue pair; caller holds the requester's lock
 * @idx: the WQE
 * @seg: the packet
 *
 * Return: 0 or rodp_xmit()'s error.
 */
int rodp_req_send_pkt(struct rodp_qp *qp, u32 idx,
		      const struct rcore_rc_seg *seg)
{
	struct rodp_tx tx = {};

	rodp_req_build(qp, idx, seg, &tx);
	return rodp_xmit(qp, &tx);
}

/*
 * Packet @seg of the WQE at @idx and, when the peer is on this host and
 * the message goes on, up to RODP_TRAIN_MAX - 1 more of it in the same
 * skb (rodp_train_begin()), as far as the window and @budget allow.
 * Return how many packets were sent, or rodp_xmit()'s error for the
 * first.
 */
static int rodp_req_send_train(struct rodp_qp *qp, u32 idx,
			       const struct rcore_rc_seg *seg, int budget)
{
	struct rodp_swqe_info *info = rodp_sq_info(qp, idx);
	struct rcore_rc_seg next = *seg;
	struct rodp_train t;
	struct rodp_tx tx;
	u32 n, max;
	int ret;

	switch (info->kind) {
	case RCORE_RC_MSG_SEND:
	case RCORE_RC_MSG_SEND_IMM:
	case RCORE_RC_MSG_SEND_INV:
	case RCORE_RC_MSG_WRITE:
	case RCORE_RC_MSG_WRITE_IMM:
		break;
	default:
		goto one;
	}
	max = min_t(u32, RODP_TRAIN_MAX, info->npsn - qp->send_pkt);
	max = min_t(u32, max, budget > 0 ? budget : 0);
	if (seg->last || rodp_qp_uc(qp) || max < 2 ||
	    !rodp_path_local(qp->rdev, &qp->path))
		goto one;
	rodp_train_begin(&t, max);
	for (n = 0; n < max; n++) {
		if (n && (rcore_psn_diff(rcore_psn_add(seg->psn, n),
					 qp->req.una_psn) + 1 > RODP_WINDOW ||
			  rcore_rc_req_seg(info->kind, info->len, qp->req.mtu,
					   info->first_psn, qp->send_pkt + n,
					   &next)))
			break;
		memset(&tx, 0, sizeof(tx));
		rodp_req_build(qp, idx, &next, &tx);
		ret = rodp_train_add(qp, &t, &tx);
		if (ret || next.last)
			break;
	}
	/* The first packet's error is the caller's; a later one's, later. */
	if (!t.n) {
		rodp_train_end(qp, &t);
		return ret;
	}
	return rodp_train_end(qp, &t);
one:
	ret = rodp_req_send_pkt(qp, idx, seg);
	return ret ?: 1;
}

/*
 * Restart sending from @psn (a retry): everything before it is
 * acknowledged, so it lies in the oldest outstanding WQEs.
 */
static void rodp_req_rewind(struct rodp_qp *qp, u32 psn)
{
	struct rodp_swqe_info *info;
	u32 i, d;

	for (i = qp->sq.cons; i != qp->sq.head; i++) {
		info = rodp_sq_info(qp, i);
		if (!info->started)
			break;
		d = rcore_psn_diff(psn, info->first_psn);
		if ((s32)d >= 0 && d < info->npsn) {
			qp->send_idx = i;
			qp->send_pkt = d;
			return;
		}
	}
	qp->send_idx = i;
	qp->send_pkt = 0;
}

/*
 * A retry moves the send position back to the oldest unacknowledged PSN;
 * an ACK for the first transmission may still arrive after that and move
 * una past the send position.  Sending from there would be refused by the
 * window check for ever (the PSN is behind una), and with everything
 * acknowledged no retry timer runs: the QP would stall.  Send from una.
 */
static void rodp_req_catch_up(struct rodp_qp *qp)
{
	struct rodp_swqe_info *info;
	u32 psn;

	if (qp->send_idx == qp->sq.head)
		return;
	info = rodp_sq_info(qp, qp->send_idx);
	if (!info->started)
		return;
	psn = rcore_psn_add(info->first_psn, qp->send_pkt);
	if (rcore_psn_before(psn, qp->req.una_psn))
		rodp_req_rewind(qp, qp->req.una_psn);
}

/*
 * Carry out the local WQE (bind, local invalidate) at @idx, the oldest,
 * and complete it.  True when it failed: the QP is in error now.
 */
static bool rodp_req_local(struct rodp_qp *qp, u32 idx)
{
	enum ib_wc_status status;

	status = rodp_mw_local_op(qp, rodp_wq_slot(&qp->sq, idx));
	rodp_qp_send_cqe(qp, idx, status);
	if (status == IB_WC_SUCCESS)
		return false;
	rodp_qp_error(qp, RODP_REQ);
	return true;
}

/**
 * rodp_req_run - send what the send queue and the window allow
 * @qp: the queue pair; caller holds the requester's lock
 * @busy: set when a packet was sent (the caller loops)
 */
void rodp_req_run(struct rodp_qp *qp, bool *busy)
{
	u32 idx, nresp, win = RODP_WINDOW, rdwin = RODP_WINDOW;
	u32 chunk = RODP_READ_CHUNK, mtu = qp->req.mtu;
	struct rodp_swqe_info *info;
	struct rcore_rc_seg seg;
	int budget = 64, err;

	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	if (!rodp_qp_can_send(qp))
		return;
	if (rodp_req_fail_oldest(qp))
		return;
	rodp_req_catch_up(qp);
	if (!rodp_qp_uc(qp) && !rodp_path_local(qp->rdev, &qp->path)) {
		/* Reads paced in bytes: see RODP_WIRE_WINDOW. */
		win = RODP_WIRE_WINDOW;
		rdwin = clamp_t(u32, RODP_WIRE_READ_BYTES / mtu, 1,
				RODP_WINDOW);
		chunk = rounddown_pow_of_two(clamp_t(u32,
						     RODP_WIRE_READ_CHUNK / mtu,
						     RCORE_RC_READ_CHUNK_MIN,
						     RCORE_RC_READ_CHUNK));
	}
	while (!qp->rnr_wait && budget) {
		idx = qp->send_idx;
		if (idx == qp->sq.head) {
			if (rodp_qp_state(qp) == IB_QPS_SQD)
				break;
			if (!rodp_req_fetch(qp))
				break;
		}
		info = rodp_sq_info(qp, idx);
		if (!info->started) {
			if (info->status) {
				rodp_req_fail_oldest(qp);
				break;
			}
			if (info->local) {
				/* In order: once all before it completed. */
				if (idx != qp->sq.cons)
					break;
				if (rodp_req_local(qp, idx))
					return;
				budget--;
				*busy = true;
				continue;
			}
			if ((((const struct rodp_swqe *)
			      rodp_wq_slot(&qp->sq, idx))->flags &
			     RODP_SEND_FENCE) && qp->rd_atomic_out)
				break;
			if (rcore_rc_msg_is_rd_atomic(info->kind) &&
			    qp->rd_atomic_out >=
			    max_t(u32, qp->attr.max_rd_atomic, 1))
				break;
			info->first_psn = qp->req.next_psn;
			info->npsn = rcore_rc_msg_psns(info->kind, info->len,
						       qp->req.mtu);
			info->read_chunk = chunk;
		}
		if (rodp_qp_uc(qp) ?
		    rodp_uc_req_seg(qp, info, qp->send_pkt, &seg) :
		    rcore_rc_req_seg(info->kind, info->len, qp->req.mtu,
				     info->first_psn, qp->send_pkt, &seg)) {
			info->status = IB_WC_LOC_QP_OP_ERR;
			rodp_req_fail_oldest(qp);
			break;
		}
		nresp = 1;
		if (info->kind == RCORE_RC_MSG_READ) {
			/*
			 * A long read is asked for a chunk at a time, each
			 * sent once the window has room for all its
			 * responses: the responder cannot flood the
			 * requester beyond the window.  The chunk size is
			 * the read's own, whatever the path is now
			 * (RCORE_RC_READ_CHUNK_MIN).
			 */
			seg.len = min(seg.len, (info->read_chunk -
				      qp->send_pkt % info->read_chunk) *
				      qp->req.mtu);
			nresp = rcore_rc_pkt_count(seg.len, qp->req.mtu);
		}
		if (rcore_psn_diff(seg.psn, qp->req.una_psn) + nresp >
		    (info->kind == RCORE_RC_MSG_READ ? rdwin : win) &&
		    seg.psn != qp->req.una_psn)
			break;

		if (rodp_qp_uc(qp)) {
			err = rodp_uc_req_send(qp, idx, &seg);
		} else {
			/* Maybe more packets of it at once: their count. */
			err = rodp_req_send_train(qp, idx, &seg, budget);
			if (err > 1)
				nresp = err;
			if (err > 0)
				err = 0;
		}
		if (err == RODP_UC_PACED)
			break;
		if (err == -EWOULDBLOCK) {
			/* This packet again, from the work item. */
			rodp_eng_defer(qp, RODP_REQ);
			*busy = true;
			break;
		}
		if (err && !info->started) {
			info->status = rodp_local_status(err);
			rodp_req_fail_oldest(qp);
			break;
		}
		if (err) {
			/* Data gone under a WQE already in flight. */
			rodp_qp_send_cqe(qp, qp->sq.cons,
					 rodp_local_status(err));
			rodp_qp_error(qp, RODP_REQ);
			return;
		}
		if (!info->started) {
			info->started = true;
			if (rcore_rc_msg_is_rd_atomic(info->kind))
				qp->rd_atomic_out++;
		}
		rcore_rc_req_sent(&qp->req, seg.psn, nresp);
		qp->send_pkt += nresp;
		if (info->kind == RCORE_RC_MSG_CMP_SWAP ||
		    info->kind == RCORE_RC_MSG_FETCH_ADD ||
		    qp->send_pkt >= info->npsn) {
			qp->send_idx++;
			qp->send_pkt = 0;
		}
		if (rodp_qp_uc(qp))
			rodp_uc_req_sent(qp, idx, seg.last);
		budget -= info->kind == RCORE_RC_MSG_READ ? 1 : nresp;
		*busy = true;
	}
	qp->sq_draining = rodp_qp_state(qp) == IB_QPS_SQD &&
			  (qp->send_idx != qp->sq.head ||
			   qp->req.una_psn != qp->req.next_psn);
}

/* ---------------------------------------------------------------------- */
/* Completer                                                               */
/* ---------------------------------------------------------------------- */

static void rodp_comp_fatal(struct rodp_qp *qp, enum ib_wc_status status)
{
	rodp_qp_send_cqe(qp, qp->sq.cons, status);
	rodp_qp_error(qp, RODP_REQ);
}

/*
 * A read response or atomic ACK whose data could not be placed for the
 * moment only (@err -EBUSY: the ODP fault kept colliding with
 * invalidations; -ENOMEM): dropped as if lost on the wire.  Nothing of
 * it counted; the retry timer asks for it again (an atomic is not done
 * twice: the responder replays its result).  Not without a retry timer
 * (timeout 0): the work request ends with its error then.  True when it
 * was dropped.
 */
static bool rodp_comp_mem_later(struct rodp_qp *qp, int err)
{
	if (!rodp_mem_later(err) || !rcore_rc_ack_timeout_ns(qp->attr.timeout))
		return false;
	rodp_dbg_qp(qp, "response dropped: fault failed for now (%d)\n",
		    err);
	return true;
}

static void rodp_comp_retry(struct rodp_qp *qp, u32 psn)
{
	rodp_dbg_qp(qp, "retry from psn %u (una %u, next %u)\n", psn,
		    qp->req.una_psn, qp->req.next_psn);
	rodp_count(qp->rdev, RODP_CNT_RETRANSMITS);
	rodp_req_rewind(qp, psn);
}

/**
 * rodp_comp_rx - handle a response packet (ACK, NAK, read response,
 * atomic ACK)
 * @qp: the queue pair; caller holds the requester's lock
 * @rx: the packet
 */
void rodp_comp_rx(struct rodp_qp *qp, struct rodp_rx *rx)
{
	struct rcore_rc_comp_verdict v;
	struct rodp_swqe_info *info;
	const struct rodp_swqe *wqe;
	struct rcore_rc_wqe w, *wp;
	bool used = false;
	u64 orig;
	int err;

	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	/*
	 * One ACK may complete several WQEs: after each completion it is
	 * tried on the next one, and the try that finds nothing more for
	 * it to do ends the loop.  Only a packet that did nothing at all
	 * is a drop.
	 */
	do {
		wp = NULL;
		info = rodp_sq_info(qp, qp->sq.cons);
		if (qp->sq.cons != qp->sq.head && info->started) {
			w.kind = info->kind;
			w.first_psn = info->first_psn;
			w.len = info->len;
			wp = &w;
		}
		rcore_rc_comp_check(&qp->req, wp, &rx->pkt, &v);
		wqe = rodp_wq_slot(&qp->sq, qp->sq.cons);

		switch (v.action) {
		case RCORE_RC_COMP_IGNORE:
			if (!used)
				rodp_count(qp->rdev, RODP_CNT_RX_DROP_SEQ);
			break;
		case RCORE_RC_COMP_PROGRESS:
			break;
		case RCORE_RC_COMP_COMPLETE:
			rodp_qp_send_cqe(qp, qp->sq.cons, IB_WC_SUCCESS);
			break;
		case RCORE_RC_COMP_READ_DATA:
			err = rodp_sge_copy_rx(qp, rodp_swqe_sge(wqe),
					       wqe->num_sge, v.offset, rx, 0,
					       v.len);
			if (err == -EWOULDBLOCK) {
				/* The packet again, from the work item. */
				rodp_eng_defer(qp, RODP_REQ);
				return;
			}
			if (rodp_comp_mem_later(qp, err))
				return;
			if (err) {
				rodp_comp_fatal(qp, rodp_local_status(err));
				return;
			}
			if (v.done)
				rodp_qp_send_cqe(qp, qp->sq.cons,
						 IB_WC_SUCCESS);
			break;
		case RCORE_RC_COMP_ATOMIC_DATA:
			orig = rx->pkt.atmack.orig;
			err = rodp_sge_copy(qp, rodp_swqe_sge(wqe), 1, 0,
					    &orig, sizeof(orig), true);
			if (err == -EWOULDBLOCK) {
				rodp_eng_defer(qp, RODP_REQ);
				return;
			}
			if (rodp_comp_mem_later(qp, err))
				return;
			if (err) {
				rodp_comp_fatal(qp, rodp_local_status(err));
				return;
			}
			rodp_qp_send_cqe(qp, qp->sq.cons, IB_WC_SUCCESS);
			break;
		case RCORE_RC_COMP_RETRY:
			rodp_comp_retry(qp, v.psn);
			break;
		case RCORE_RC_COMP_RNR_WAIT:
			rodp_dbg_qp(qp, "RNR NAK: wait %u us, then psn %u\n",
				    v.rnr_usec, v.psn);
			rodp_count(qp->rdev, RODP_CNT_RNR_WAITS);
			rodp_req_rewind(qp, v.psn);
			qp->rnr_wait = true;
			mod_timer(&qp->rnr_timer,
				  jiffies + max_t(unsigned long, 1,
						  usecs_to_jiffies(v.rnr_usec)));
			break;
		case RCORE_RC_COMP_FATAL:
			rodp_comp_fatal(qp, (enum ib_wc_status)v.status);
			return;
		}
		rcore_rc_comp_apply(&qp->req, &v);
		used = true;
	} while (v.action == RCORE_RC_COMP_COMPLETE && v.again &&
		 qp->sq.cons != qp->sq.head);

	rodp_req_fail_oldest(qp);
}

/**
 * rodp_comp_timeout - the retry timer expired
 * @qp: the queue pair; caller holds the requester's lock
 */
void rodp_comp_timeout(struct rodp_qp *qp)
{
	struct rcore_rc_comp_verdict v;

	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	if (!rodp_qp_can_send(qp) || qp->rnr_wait)
		return;
	rcore_rc_comp_timeout(&qp->req, &v);
	switch (v.action) {
	case RCORE_RC_COMP_RETRY:
		rodp_dbg_qp(qp, "ACK timeout\n");
		rodp_count(qp->rdev, RODP_CNT_ACK_TIMEOUTS);
		rodp_comp_retry(qp, v.psn);
		break;
	case RCORE_RC_COMP_FATAL:
		rodp_dbg_qp(qp, "ACK timeout: retries exhausted\n");
		rodp_count(qp->rdev, RODP_CNT_ACK_TIMEOUTS);
		rodp_comp_fatal(qp, (enum ib_wc_status)v.status);
		return;
	default:
		break;
	}
	rcore_rc_comp_apply(&qp->req, &v);
}
