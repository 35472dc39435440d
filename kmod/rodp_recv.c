// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: what a QP side checks of each packet queued for it, in process
 * context with the side's lock held: the headers linear, the ICRC, a
 * parse, an opcode of the QP's transport meant for this side (XRC's made
 * RC's), the connected peer as sender,
 * a QP state that takes it.  A packet that passes goes on to the
 * completer (a response: rodp_req.c) or the responder (a request:
 * rodp_resp.c).  rodp_net.c queued it, in softirq, by QP number alone.
 */

#include <net/ipv6.h>

#include <rcore/icrc.h>
#include "rodp.h"

/* Was @skb sent by the QP's peer, to the QP's own address? */
static bool rodp_qp_from_peer(const struct rodp_qp *qp,
			      const struct sk_buff *skb)
{
	const struct ipv6hdr *ip6h;
	const struct iphdr *iph;

	if (qp->path.ipv6) {
		ip6h = ipv6_hdr(skb);
		return ip6h->version == 6 &&
		       ipv6_addr_equal(&ip6h->saddr, &qp->path.daddr6) &&
		       ipv6_addr_equal(&ip6h->daddr, &qp->path.saddr6);
	}
	iph = ip_hdr(skb);
	return iph->version == 4 && iph->saddr == qp->path.daddr &&
	       iph->daddr == qp->path.saddr;
}

/*
 * Whether @skb may be taken as it is: linear, or handed over on this
 * host by rodp_xmit() with all its headers in skb->data and its payload
 * in fragments (not for UD, whose receive makes its own copy).
 */
static bool rodp_rx_frags_ok(struct rodp_qp *qp, struct sk_buff *skb)
{
	const struct rcore_opcode_info *info;

	if (!skb_is_nonlinear(skb))
		return true;
	if (!RODP_SKB_CB(skb)->local || rodp_qp_is_ud(qp) ||
	    skb_headlen(skb) < RCORE_BTH_LEN)
		return false;
	info = rcore_opcode_info(skb->data[0]);
	return info && info->hdr_len <= skb_headlen(skb);
}

/*
 * A parsed RC, UC or XRC packet @rx for side @side; @from_peer: it came
 * from the QP's peer, to the QP's own address.  Return true when the side
 * deferred it (rodp_eng_defer()): the same packet again, from the work
 * item.
 */
static bool rodp_qp_rx_take(struct rodp_qp *qp, enum rodp_side side,
			    struct rodp_rx *rx, bool from_peer)
{
	struct rodp_dev *rdev = qp->rdev;

	if (rcore_opcode_transport(rx->pkt.bth.opcode) !=
	    rodp_qp_transport(qp) ||
	    rodp_is_response(rx->pkt.bth.opcode) != (side == RODP_REQ) ||
	    (side == RODP_REQ && rodp_qp_xrc_tgt(qp)) ||
	    (side == RODP_RESP && rodp_qp_xrc_ini(qp))) {
		rodp_count(rdev, RODP_CNT_RX_DROP_HDR);
		return false;
	}
	/* XRC is RC to the transport: RC's opcode, the XRCETH kept. */
	if (rcore_opcode_transport(rx->pkt.bth.opcode) == RCORE_TR_XRC) {
		rx->pkt.bth.opcode = rcore_xrc_rc_opcode(rx->pkt.bth.opcode);
		rx->pkt.info = rcore_opcode_info(rx->pkt.bth.opcode);
	}

	/* RC, UC: only the connected peer may talk to this QP. */
	if (!from_peer) {
		rodp_count(rdev, RODP_CNT_RX_DROP_STATE);
		return false;
	}

	if (rodp_is_response(rx->pkt.bth.opcode)) {
		if (!rodp_qp_can_send(qp)) {
			rodp_count(rdev, RODP_CNT_RX_DROP_STATE);
			return false;
		}
		rodp_comp_rx(qp, rx);
	} else {
		if (!rodp_qp_can_recv(qp)) {
			rodp_count(rdev, RODP_CNT_RX_DROP_STATE);
			return false;
		}
		if (rodp_qp_uc(qp))
			rodp_uc_resp_rx(qp, rx);
		else if (rodp_qp_xrc_tgt(qp))
			rodp_xrc_tgt_rx(qp, rx);
		else
			rodp_resp_rx(qp, rx);
	}
	return qp->eng[side].deferred;
}

/*
 * One RC, UC or XRC packet of @skb for side @side: @len bytes at @data,
 * of which the first @avail are there; its payload @pay bytes from
 * skb->data, or right after its headers when @pay is 0 (in page
 * fragments, for a packet handed over on this host, unless @avail is
 * @len).  @hold: a train's (its copies keep an ODP block), or NULL.
 * Return as rodp_qp_rx_take().
 */
static bool rodp_qp_rx_pkt(struct rodp_qp *qp, enum rodp_side side,
			   struct sk_buff *skb, const u8 *data, u32 avail,
			   u32 len, u32 pay, struct rodp_odp_hold *hold)
{
	struct rodp_rx rx = { .skb = skb, .hold = hold };

	if (rcore_pkt_parse_head(data, avail, len, &rx.pkt)) {
		rodp_count(qp->rdev, RODP_CNT_RX_DROP_HDR);
		return false;
	}
	rx.payload_off = pay ?: data - skb->data + rx.pkt.hdr_len;
	rx.payload = avail == len ? skb->data + rx.payload_off : NULL;
	return rodp_qp_rx_take(qp, side, &rx, rodp_qp_from_peer(qp, skb));
}

/**
 * rodp_qp_rx_call - take a packet handed over by a call, not an skb
 * @qp: the queue pair; the caller runs side @side (holds its lock)
 * @side: the side, enum rodp_side
 * @hdr: the packet's headers, @hlen bytes, as rodp_xmit() built them
 * @hlen: their length
 * @len: the whole packet's length, as on the wire (pad and ICRC
 *	included)
 * @payload: the payload, linear (@len's payload bytes), or NULL for none
 * @from_peer: the sender is the QP's peer (its path, reversed)
 *
 * The checks and the side's work of a received packet (rodp_call.c),
 * with no skb: for packets whose handling reads nothing but the parsed
 * headers and a linear payload (not an ATOMIC WRITE, not a read
 * response).
 *
 * Return: true when the side deferred it (rodp_eng_defer()): nothing of
 * it was done, and it must be taken again.
 */
bool rodp_qp_rx_call(struct rodp_qp *qp, enum rodp_side side, const u8 *hdr,
		     u32 hlen, u32 len, const u8 *payload, bool from_peer)
{
	struct rodp_rx rx = { .payload = payload };

	lockdep_assert_held(&qp->eng[side].lock);

	if (rcore_pkt_parse_head(hdr, hlen, len, &rx.pkt)) {
		rodp_count(qp->rdev, RODP_CNT_RX_PKTS);
		rodp_count(qp->rdev, RODP_CNT_RX_DROP_HDR);
		return false;
	}
	if (rodp_qp_rx_take(qp, side, &rx, from_peer))
		return true;	/* counted when taken */
	rodp_count(qp->rdev, RODP_CNT_RX_PKTS);
	return false;
}

/*
 * The packets of a train (rodp_train_begin()), one by one from where the
 * last call stopped, as if each had come alone.  Return true when one was
 * deferred: the train goes on from that packet, from the work item.
 */
static bool rodp_qp_rx_train(struct rodp_qp *qp, enum rodp_side side,
			     struct sk_buff *skb)
{
	struct rodp_odp_hold *hold = &qp->eng[side].hold;
	struct rodp_skb_cb *cb = RODP_SKB_CB(skb);
	struct rodp_train_pos pos;
	bool again = false;

	for (; cb->next < cb->train; rodp_train_step(skb, &pos)) {
		if (!rodp_train_next(skb, &pos)) {
			rodp_count(qp->rdev, RODP_CNT_RX_DROP_HDR);
			break;
		}
		again = rodp_qp_rx_pkt(qp, side, skb, skb->data + cb->off,
				       pos.avail, pos.len, pos.pay, hold);
		if (again)
			break;
	}
	rodp_odp_let_go(hold);
	return again;
}

/**
 * rodp_eng_let_go - let go of what this task holds of a QP's sides' copies
 * @qp: the queue pair
 *
 * The ODP block a side running in this task keeps from one packet of a
 * received train to the next (struct rodp_odp_hold): before anything
 * that may allocate, send or take another block (rodp_xmit(), a train).
 * Nothing when this task runs neither side.
 */
void rodp_eng_let_go(struct rodp_qp *qp)
{
	int side;

	for (side = 0; side < RODP_SIDES; side++)
		if (READ_ONCE(qp->eng[side].hold.owner) == current)
			rodp_odp_let_go(&qp->eng[side].hold);
}

/* A packet for side @side (it was queued there by its opcode). */
static void rodp_qp_rx_one(struct rodp_qp *qp, enum rodp_side side,
			   struct sk_buff *skb)
{
	struct rodp_dev *rdev = qp->rdev;
	struct rodp_rx rx = { .skb = skb };
	bool again;
	int err;

	/*
	 * A packet handed over on this host may keep its payload in page
	 * fragments of the sender's memory (rodp_xmit()): its headers are
	 * in skb->data, and the payload is copied once, from there to its
	 * destination.  Everything else is made linear.
	 */
	if (!rodp_rx_frags_ok(qp, skb) && skb_linearize(skb)) {
		rodp_count(rdev, RODP_CNT_RX_DROP_HDR);
		goto out_free;
	}
	/*
	 * A packet that never left the host carries no ICRC.  A FLUSH may
	 * carry rxe's (rcore_icrc_calc_rxe_flush()): taken, and counted.
	 */
	err = RODP_SKB_CB(skb)->local ? 0 :
	      rcore_icrc_check(skb_network_header(skb),
			       skb_tail_pointer(skb) - skb_network_header(skb));
	if (err == RCORE_ERR_ICRC &&
	    !rcore_icrc_check_rxe_flush(skb_network_header(skb),
					skb_tail_pointer(skb) -
					skb_network_header(skb))) {
		rodp_count(rdev, RODP_CNT_RX_ICRC_RXE);
		err = 0;
	}
	if (err) {
		rodp_count(rdev, err == RCORE_ERR_ICRC ?
			   RODP_CNT_RX_DROP_ICRC : RODP_CNT_RX_DROP_HDR);
		goto out_free;
	}
	/* UD: datagrams from any peer (rodp_ud.c). */
	if (rodp_qp_is_ud(qp)) {
		rodp_ud_rx(qp, side, &rx);
		again = qp->eng[side].deferred;
	} else if (RODP_SKB_CB(skb)->train) {
		again = rodp_qp_rx_train(qp, side, skb);
	} else {
		/* With its payload in fragments: its headers only here. */
		again = rodp_qp_rx_pkt(qp, side, skb, skb->data,
				       skb_headlen(skb), skb->len, 0, NULL);
	}
	/*
	 * Left for the work item: first in the queue again, as it was; but
	 * with its payload in its own buffer, so that the sender's pages
	 * are not held while this side waits for its fault (which may be
	 * long: a stalled file).  Without a buffer it is lost, as on a
	 * wire.
	 */
	if (again) {
		if (skb_is_nonlinear(skb) && skb_linearize(skb)) {
			rodp_count(rdev, RODP_CNT_RX_DROP_HDR);
			goto out_free;
		}
		skb_queue_head(&qp->eng[side].rxq, skb);
		return;
	}
out_free:
	consume_skb(skb);
}

/**
 * rodp_eng_rx - take in up to 64 of a side's received packets
 * @e: the side; the caller runs it (holds its lock)
 */
void rodp_eng_rx(struct rodp_eng *e)
{
	struct sk_buff *skb;
	int n;

	lockdep_assert_held(&e->lock);

	/* A response handed over by a call came before anything queued. */
	if (e->call_hlen && !e->deferred &&
	    !rodp_qp_rx_call(e->qp, e->side, e->call_hdr, e->call_hlen,
			     e->call_len, NULL, e->call_from_peer))
		e->call_hlen = 0;
	for (n = 0; n < 64 && !e->deferred &&
		    (skb = skb_dequeue(&e->rxq)); n++)
		rodp_qp_rx_one(e->qp, e->side, skb);
}

/**
 * rodp_eng_purge - forget what a side received and has not taken
 * @e: the side; the caller runs it, or holds its lock
 *
 * Its queued packets and a response handed over by a call.
 */
void rodp_eng_purge(struct rodp_eng *e)
{
	skb_queue_purge(&e->rxq);
	e->call_hlen = 0;
}
