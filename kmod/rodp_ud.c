// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: unreliable datagram QPs.
 *
 * The requester side of a UD QP sends each SEND or SEND_WITH_IMM as one
 * UD SEND_ONLY(_IMM) packet with a DETH, along the path of the address
 * handle the WQE names, and completes it once it is handed to the
 * network: there is no ACK, no retry and no completer.  A WQE that cannot
 * be sent (an unknown AH or one of another PD, a message over the path
 * MTU, a bad opcode or SGE) completes with an error and the QP goes to
 * the SQE state: its send queue is flushed until modify_qp moves it back
 * to RTS, and it keeps receiving.
 *
 * The responder side takes datagrams from any peer: a Q_Key that is not
 * the QP's, or no receive WQE posted, drops the datagram (counted).  The
 * receive buffer gets the 40-byte GRH first, in RoCEv2's layout: the
 * IPv6 header, or 20 zero bytes then the IPv4 header.  PSNs are not
 * checked: losses are silent.
 */

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/ip.h>
#include <rdma/ib_mad.h>

#include "rodp.h"

#define RODP_GRH_LEN	40

static const struct rodp_sge *rodp_ud_sges(const void *wqe, size_t hdr)
{
	return (const void *)((const u8 *)wqe + hdr);
}

/*
 * Send one WQE as a datagram.  Return its completion status; a packet the
 * network drops (no route, no memory) is a success, as on a wire.  With
 * *@again set, nothing was sent: its ODP memory needs a fault that may not
 * sleep here, and the WQE goes again from the work item.
 */
static enum ib_wc_status rodp_ud_send(struct rodp_qp *qp,
				      const struct rodp_swqe *wqe,
				      struct rodp_swqe_info *info,
				      bool *again)
{
	const struct rodp_sge *sge = rodp_ud_sges(wqe, sizeof(*wqe));
	struct rodp_tx tx = {};
	struct rcore_pkt *pkt = &tx.pkt;
	void *cookie;
	u64 len = 0;
	u32 i;
	int err;

	if (wqe->opcode != RODP_WR_SEND && wqe->opcode != RODP_WR_SEND_WITH_IMM)
		return IB_WC_LOC_QP_OP_ERR;
	info->kind = wqe->opcode == RODP_WR_SEND ? RCORE_RC_MSG_SEND :
						    RCORE_RC_MSG_SEND_IMM;
	if (wqe->flags & RODP_SEND_INLINE) {
		if (wqe->inline_len > qp->max_inline)
			return IB_WC_LOC_QP_OP_ERR;
		len = wqe->inline_len;
	} else {
		if (wqe->num_sge > qp->max_send_sge)
			return IB_WC_LOC_QP_OP_ERR;
		for (i = 0; i < wqe->num_sge; i++)
			len += sge[i].length;
	}
	if (len > ib_mtu_enum_to_int(rodp_active_mtu(qp->rdev)))
		return IB_WC_LOC_LEN_ERR;
	info->len = len;

	err = rodp_ah_lookup(qp, wqe->dest.ah, &tx.path, &cookie);
	if (err)
		return err == -EACCES ? IB_WC_LOC_PROT_ERR :
					IB_WC_LOC_QP_OP_ERR;

	pkt->bth.opcode = wqe->opcode == RODP_WR_SEND ?
			  RCORE_UD_SEND_ONLY : RCORE_UD_SEND_ONLY_IMM;
	pkt->bth.dqpn = wqe->dest.remote_qpn & RCORE_QPN_MASK;
	pkt->bth.psn = qp->req.next_psn;
	pkt->bth.se = !!(wqe->flags & RODP_SEND_SOLICITED);
	/* A Q_Key with the high bit set stands for the QP's own. */
	pkt->deth.qkey = (wqe->dest.remote_qkey & 0x80000000u) ?
			 qp->attr.qkey : wqe->dest.remote_qkey;
	pkt->deth.sqpn = qp->ibqp.qp_num;
	pkt->imm = be32_to_cpu((__force __be32)wqe->imm_data);
	tx.payload_len = len;
	if (wqe->flags & RODP_SEND_INLINE) {
		tx.inline_data = wqe + 1;
	} else {
		tx.sge = sge;
		tx.num_sge = wqe->num_sge;
	}
	err = rodp_xmit(qp, &tx);
	rodp_ah_release(cookie);
	if (err == -EWOULDBLOCK) {
		*again = true;
		return IB_WC_SUCCESS;
	}

	qp->req.next_psn = (qp->req.next_psn + 1) & RCORE_PSN_MASK;
	qp->req.una_psn = qp->req.next_psn;	/* nothing outstanding */
	if (err == -ENOMEM)
		return IB_WC_SUCCESS;		/* lost, as on a wire */
	if (err)
		return err == -ERANGE ? IB_WC_LOC_LEN_ERR : IB_WC_LOC_PROT_ERR;
	return IB_WC_SUCCESS;
}

/**
 * rodp_ud_req_run - send what a UD QP's send queue holds
 * @qp: the queue pair; caller holds the requester's lock
 * @busy: set when a WQE was sent (the caller loops)
 *
 * In the SQE state, flushes the send queue instead.
 */
void rodp_ud_req_run(struct rodp_qp *qp, bool *busy)
{
	struct rodp_swqe_info *info;
	const struct rodp_swqe *wqe;
	enum ib_wc_status status;
	enum ib_qp_state s;
	int budget = 64;

	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	if (rodp_qp_state(qp) == IB_QPS_SQE) {
		rodp_eng_flush(&qp->eng[RODP_REQ]);
		return;
	}
	if (!rodp_qp_can_send(qp))
		return;
	while (budget-- && rodp_qp_state(qp) != IB_QPS_SQD) {
		bool again = false;

		wqe = rodp_wq_fetch(&qp->sq);
		if (!wqe)
			break;
		info = rodp_sq_info(qp, qp->sq.head - 1);
		memset(info, 0, sizeof(*info));
		info->signaled = qp->sq_sig_all ||
				 (wqe->flags & RODP_SEND_SIGNALED);
		info->kind = RCORE_RC_MSG_SEND;
		status = rodp_ud_send(qp, wqe, info, &again);
		if (again) {
			/* Fetched again (as posted) by the work item. */
			qp->sq.head--;
			rodp_eng_defer(qp, RODP_REQ);
			*busy = true;
			break;
		}
		info->started = true;
		qp->send_idx = qp->sq.cons;
		rodp_qp_send_cqe(qp, qp->sq.cons, status);
		*busy = true;
		if (status == IB_WC_SUCCESS)
			continue;
		rodp_dbg_qp(qp, "UD send failed (status %u): to SQE\n", status);
		/* The responder may have moved it to error meanwhile. */
		s = rodp_qp_state(qp);
		if ((s == IB_QPS_RTS || s == IB_QPS_SQD) &&
		    cmpxchg(&qp->state, s, IB_QPS_SQE) == s)
			rodp_eng_flush(&qp->eng[RODP_REQ]);
		break;
	}
	qp->sq_draining = false;
}

/*
 * The GRH of a received datagram, as RoCEv2 lays it out in a receive
 * buffer: the IPv6 header, or 20 zero bytes then the IPv4 header (with
 * its checksum right: a packet that never left the host has none yet).
 */
static void rodp_ud_grh(const struct sk_buff *skb, u8 *grh)
{
	struct iphdr *iph;

	if (skb->protocol == htons(ETH_P_IPV6)) {
		memcpy(grh, ipv6_hdr(skb), RODP_GRH_LEN);
		return;
	}
	memset(grh, 0, RODP_GRH_LEN - sizeof(*iph));
	iph = (struct iphdr *)(grh + RODP_GRH_LEN - sizeof(*iph));
	memcpy(iph, ip_hdr(skb), sizeof(*iph));
	iph->ihl = sizeof(*iph) >> 2;
	iph->check = 0;
	iph->check = ip_fast_csum(iph, iph->ihl);
}

/**
 * rodp_ud_rx - take a datagram for a UD QP
 * @qp: the queue pair; caller holds the side's lock
 * @side: the side it was queued for (by its opcode)
 * @rx: the packet: @rx->skb linear, ICRC checked; parsed here
 */
void rodp_ud_rx(struct rodp_qp *qp, enum rodp_side side, struct rodp_rx *rx)
{
	struct rodp_dev *rdev = qp->rdev;
	struct sk_buff *skb = rx->skb;
	struct rcore_pkt *pkt = &rx->pkt;
	const struct rodp_sge *sge;
	struct rodp_rwqe *wqe;
	struct rodp_cqe cqe = {};
	u8 grh[RODP_GRH_LEN];
	u32 num_sge;
	int err;

	lockdep_assert_held(&qp->eng[side].lock);

	if (side != RODP_RESP || rcore_pkt_parse(skb->data, skb->len, pkt) ||
	    (pkt->bth.opcode != RCORE_UD_SEND_ONLY &&
	     pkt->bth.opcode != RCORE_UD_SEND_ONLY_IMM)) {
		rodp_count(rdev, RODP_CNT_RX_DROP_HDR);
		return;
	}
	rx->payload = skb->data + pkt->hdr_len;
	rx->payload_off = pkt->hdr_len;
	if (!rodp_qp_can_recv(qp)) {
		rodp_count(rdev, RODP_CNT_RX_DROP_STATE);
		return;
	}
	/* QP1 takes only the GSI Q_Key, whatever its attributes say. */
	if (pkt->deth.qkey != (qp->ibqp.qp_type == IB_QPT_GSI ? IB_QP1_QKEY :
			       qp->attr.qkey)) {
		rodp_count(rdev, RODP_CNT_RX_DROP_QKEY);
		return;
	}
	/* Datagrams longer than the MTU we do not take either. */
	if (pkt->payload_len > ib_mtu_enum_to_int(rodp_active_mtu(rdev))) {
		rodp_count(rdev, RODP_CNT_RX_DROP_HDR);
		return;
	}
	/*
	 * The QP's receive queue or its SRQ (num_sge checked); on an SRQ
	 * the one a deferred datagram took already (resp_have_wqe).
	 */
	wqe = qp->srq && qp->resp_have_wqe ? qp->srq_wqe :
	      rodp_resp_get_wqe(qp);
	if (IS_ERR_OR_NULL(wqe)) {
		rodp_count(rdev, RODP_CNT_RX_DROP_NORECV);
		return;
	}

	sge = rodp_ud_sges(wqe, sizeof(*wqe));
	num_sge = wqe->num_sge;
	rodp_ud_grh(skb, grh);
	err = rodp_sge_copy(qp, sge, num_sge, 0, grh, RODP_GRH_LEN, true);
	if (!err)
		err = rodp_sge_copy_rx(qp, sge, num_sge, RODP_GRH_LEN, rx,
				       0, pkt->payload_len);
	if (err == -EWOULDBLOCK) {
		/* Again from the work item, with the same receive. */
		qp->resp_have_wqe = !!qp->srq;
		rodp_eng_defer(qp, side);
		return;
	}
	qp->resp_have_wqe = false;

	cqe.wr_id = wqe->wr_id;
	cqe.status = !err ? IB_WC_SUCCESS : err == -ERANGE ?
		     IB_WC_LOC_LEN_ERR : IB_WC_LOC_PROT_ERR;
	cqe.opcode = IB_WC_RECV;
	cqe.byte_len = RODP_GRH_LEN + pkt->payload_len;
	cqe.qp_num = qp->ibqp.qp_num;
	cqe.src_qp = pkt->deth.sqpn;
	cqe.wc_flags = IB_WC_GRH;
	cqe.network_hdr_type = skb->protocol == htons(ETH_P_IPV6) ?
			       RDMA_NETWORK_IPV6 : RDMA_NETWORK_IPV4;
	if (pkt->info->hdrs & RCORE_HDR_IMMDT) {
		cqe.wc_flags |= IB_WC_WITH_IMM;
		cqe.imm_data = (__force u32)cpu_to_be32(pkt->imm);
	}
	/* Slot free first: the consumer may post again on seeing the CQE. */
	if (!qp->srq)
		rodp_wq_retire(&qp->rq);
	rodp_cq_post(to_rcq(qp->ibqp.recv_cq), &cqe, pkt->bth.se);
}
