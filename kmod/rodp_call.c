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
 * PSN, access, RNR, NAK, completion and counter rules.  Its ACK and its
 * read or atomic responses go back as packets.
 *
 * Only when the request could not be told from a packet that took the
 * same way:
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
 * rodp_call_ok - may a request go by a call, as far as the sender knows
 * @qp: the sending queue pair
 * @tx: the packet, its headers final
 *
 * An RC request of at most RODP_CALL_MAX payload bytes, not an ATOMIC
 * WRITE, on the QP's own path, whose peer was on this host a moment ago
 * (rodp_path_local()).  rodp_call() decides.
 *
 * Return: true when rodp_call() is worth a try.
 */
bool rodp_call_ok(struct rodp_qp *qp, const struct rodp_tx *tx)
{
	u8 op = tx->pkt.bth.opcode;

	return READ_ONCE(direct_call) && qp->ibqp.qp_type == IB_QPT_RC &&
	       !tx->path && !rodp_is_response(op) &&
	       op != RCORE_RC_ATOMIC_WRITE &&
	       tx->payload_len <= RODP_CALL_MAX &&
	       rodp_path_local(qp->rdev, &qp->path);
}

/**
 * rodp_call - hand a request to the peer QP's responder, without a packet
 * @qp: the sending queue pair; the caller runs its requester
 * @tx: the request (rodp_call_ok())
 * @hdr: its headers, as rodp_xmit() built them
 * @hlen: their length
 * @len: the packet's length on the wire
 *
 * Process context; may sleep (the payload's copy, the responder's work).
 *
 * Return: 0 when the responder took it; -EAGAIN when it must go as a
 * packet (nothing of it was done); or the error of reading the payload,
 * as rodp_xmit()'s.
 */
int rodp_call(struct rodp_qp *qp, struct rodp_tx *tx, const u8 *hdr,
	      u32 hlen, u32 len)
{
	u8 buf[RODP_CALL_MAX + 4] __aligned(8);
	struct rodp_dev *rdev = qp->rdev;
	const u8 *payload = tx->inline_data;
	struct rodp_qp *pqp = NULL;
	struct dst_entry *dst;
	struct rodp_dev *peer;
	bool taken;
	int ret;

	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	if (!payload && tx->payload_len) {
		ret = rodp_tx_copy(qp, tx, buf);
		if (ret)
			return ret;
		payload = buf;
	}
	local_bh_disable();
	rcu_read_lock();
	if (!rodp_path_peer(rdev, &qp->path, &peer, &dst) && peer)
		pqp = rodp_qp_get_rcu(peer, tx->pkt.bth.dqpn);
	rcu_read_unlock();
	local_bh_enable();
	dst_release(dst);
	if (!pqp)
		return -EAGAIN;
	/* UD's receive is its own (rodp_ud.c): a packet, dropped there. */
	taken = !rodp_qp_is_ud(pqp) &&
		rodp_eng_call(&pqp->eng[RODP_RESP], hdr, hlen, len, payload,
			      rodp_call_from_peer(&qp->path, &pqp->path));
	rodp_qp_put(pqp);
	if (!taken)
		return -EAGAIN;
	rodp_count(rdev, RODP_CNT_TX_PKTS);
	rodp_count(rdev, RODP_CNT_TX_LOCAL);
	rodp_count(rdev, RODP_CNT_TX_CALL);
	return 0;
}
