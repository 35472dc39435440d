// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: small requests to a QP of this host, handed over by a call.
 *
 * A request of one packet with a small payload (a latency test's 2-byte
 * WRITE, a short SEND) from an RC QP whose peer is a rodp device of this
 * host (loopback, or another namespace reached directly: rodp_direct.c)
 * need not become a packet at all.  The requester's rodp_xmit() builds
 * its headers as for the wire, then, instead of an skb with UDP and IP
 * headers, a queue and a hand-over, calls the peer QP's responder with
 * the headers and the payload (rodp_eng_call()).  The responder parses
 * and checks them as it would a packet's (rodp_qp_rx_call()): the same
 * PSN, access, RNR, NAK, completion and counter rules.  Its ACK (or
 * NAK) goes back the same way: the requester is running further up this
 * task's stack, in the middle of sending, so the ACK waits in it
 * (rodp_eng_call_response()) for its next round, which takes it before
 * anything queued.  Read and atomic responses go as packets.
 *
 * Only when the request (or ACK) could not be told from a packet that
 * took the same way:
 *   - the way is one the packet would take now, decided as for a packet
 *     (rodp_path_peer(): taps, qdiscs and hooks still send it through the
 *     network);
 *   - the responder is not running anywhere, and nothing is queued for
 *     it or waits for its work item: the request cannot overtake one;
 *   - its handling needs nothing of an skb (not an ATOMIC WRITE).
 * Else, or when the responder defers it (an ODP fault it may not take in
 * this context), it goes as a packet after all.  The module parameter
 * direct_call turns the calls off (for comparison); packet_path turns
 * them off between namespaces too, as it turns off every direct way.
 * Counted in tx_local and tx_call.
 */

#include <net/ipv6.h>

#include "rodp.h"

static bool direct_call = true;
module_param(direct_call, bool, 0644);
MODULE_PARM_DESC(direct_call,
		 "hand a small RC request to a rodp QP of this host straight to its responder, with no packet (default: on)");

/* The largest payload handed over by a call (a copy on the stack). */
#define RODP_CALL_MAX		128

/*
 * Does the request come from @to's peer, to @to's address: the addresses
 * of @from, the sender's path, reversed (rodp_recv.c checks a packet's IP
 * header so).
 */
static bool rodp_call_from_peer(const struct rodp_path *from,
				const struct rodp_path *to)
{
	if (from->ipv6 != to->ipv6)
		return false;
	if (from->ipv6)
		return ipv6_addr_equal(&from->saddr6, &to->daddr6) &&
		       ipv6_addr_equal(&from->daddr6, &to->saddr6);
	return from->saddr == to->daddr && from->daddr == to->saddr;
}

/**
 * rodp_call_ok - may a packet go by a call, as far as the sender knows
 * @qp: the sending queue pair
 * @tx: the packet, its headers final
 *
 * An RC request of at most RODP_CALL_MAX payload bytes, not an ATOMIC
 * WRITE, or an RC ACK, on the QP's own path, whose peer was on this host
 * a moment ago (rodp_path_local()).  rodp_call() decides.
 *
 * Return: true when rodp_call() is worth a try.
 */
bool rodp_call_ok(struct rodp_qp *qp, const struct rodp_tx *tx)
{
	u8 op = tx->pkt.bth.opcode;

	if (!READ_ONCE(direct_call) || qp->ibqp.qp_type != IB_QPT_RC ||
	    tx->path)
		return false;
	if (rodp_is_response(op) ? op != RCORE_RC_ACK :
	    (op == RCORE_RC_ATOMIC_WRITE || tx->payload_len > RODP_CALL_MAX))
		return false;
	return rodp_path_local(qp->rdev, &qp->path);
}

/*
 * The QP that @qp's packets go to, if its device is on this host and the
 * way there is one a packet would take now; with a reference.
 */
static struct rodp_qp *rodp_call_peer_qp(struct rodp_qp *qp, u32 dqpn)
{
	struct rodp_qp *pqp = NULL;
	struct dst_entry *dst;
	struct rodp_dev *peer;

	local_bh_disable();
	rcu_read_lock();
	if (!rodp_path_peer(qp->rdev, &qp->path, &peer, &dst) && peer)
		pqp = rodp_qp_get_rcu(peer, dqpn);
	rcu_read_unlock();
	local_bh_enable();
	dst_release(dst);
	return pqp;
}

/**
 * rodp_call - hand a packet to the peer QP without an skb
 * @qp: the sending queue pair; the caller runs the side that sends
 * @tx: the packet (rodp_call_ok())
 * @hdr: its headers, as rodp_xmit() built them
 * @hlen: their length
 * @len: the packet's length on the wire
 *
 * A request goes to the peer's responder, which takes it now
 * (rodp_eng_call()); an ACK to the peer's requester, when this task runs
 * it further up the stack (rodp_eng_call_response()): a request's ACK
 * whose request came by a call.  Process context; may sleep (the
 * payload's copy, the responder's work).
 *
 * Return: 0 when the peer took it; -EAGAIN when it must go as a packet
 * (nothing of it was done); or the error of reading the payload, as
 * rodp_xmit()'s.
 */
int rodp_call(struct rodp_qp *qp, struct rodp_tx *tx, const u8 *hdr,
	      u32 hlen, u32 len)
{
	u8 buf[RODP_CALL_MAX + 4] __aligned(8);
	const u8 *payload = tx->inline_data;
	struct rodp_qp *pqp;
	bool from_peer, taken;
	int ret;

	if (!payload && tx->payload_len) {
		ret = rodp_tx_copy(qp, tx, buf);
		if (ret)
			return ret;
		payload = buf;
	}
	pqp = rodp_call_peer_qp(qp, tx->pkt.bth.dqpn);
	if (!pqp)
		return -EAGAIN;
	from_peer = rodp_call_from_peer(&qp->path, &pqp->path);
	if (rodp_is_response(tx->pkt.bth.opcode))
		taken = rodp_eng_call_response(&pqp->eng[RODP_REQ], hdr, hlen,
					       len, from_peer);
	else	/* UD's receive is its own (rodp_ud.c): a packet, dropped. */
		taken = !rodp_qp_is_ud(pqp) &&
			rodp_eng_call(&pqp->eng[RODP_RESP], hdr, hlen, len,
				      payload, from_peer);
	rodp_qp_put(pqp);
	if (!taken)
		return -EAGAIN;
	rodp_count(qp->rdev, RODP_CNT_TX_PKTS);
	rodp_count(qp->rdev, RODP_CNT_TX_LOCAL);
	rodp_count(qp->rdev, RODP_CNT_TX_CALL);
	return 0;
}
