// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: Unreliable Connected QPs, the pieces in which they differ from
 * RC.  A UC QP runs the RC requester and responder (rodp_req.c,
 * rodp_resp.c) with the UC opcodes and none of the reliability:
 *  - the requester completes a WQE once its last packet is sent: no
 *    window waits on ACKs, no retry timer runs (una_psn follows
 *    next_psn, so neither ever sees anything outstanding).  What paces
 *    it instead: a peer on this host takes each packet in the sender's
 *    context (rodp_xmit()), and the receive softirq that the sender's
 *    local_bh_enable() runs empties this CPU's backlog, which veth and
 *    bridge hops feed.  When that softirq falls behind (it hands over to
 *    ksoftirqd) and the backlog is half full, the requester waits a
 *    jiffy (rodp_uc_req_send()) rather than have it overflow.  Nor do
 *    its packets overtake each other: each leaves from the CPU checked
 *    (migration disabled), and one that moved to another CPU first
 *    waits until the last one's backlog has processed the packets sent
 *    from there, each hop of their way through it (rodp_uc_drained());
 *  - the responder checks PSNs the UC way (rcore_uc_resp_check()): a
 *    lost packet drops the message it belonged to, the next FIRST or
 *    ONLY goes through; where RC would NAK (R_Key, access, no receive
 *    posted, a receive too short), the message is dropped and counted.
 * READ, atomics and SEND_WITH_INV do not exist on UC: the provider
 * refuses them, and so does the requester (a local QP operation error).
 */

#include "rodp.h"

/*
 * Hops a packet may make through one CPU's backlog on its way to a peer
 * on this host: a veth, a bridge and a veth queue it twice (the bridge
 * forwards from the softirq that took it off the first time); one more
 * for anything else on the way (a VLAN, a second bridge).
 */
#define RODP_UC_HOPS		3

/*
 * Jiffies a requester that moved to another CPU waits at most for the
 * last one's backlog.  With RPS's queue counters, a last resort for a
 * backlog that made no progress at all (the wait is otherwise bounded by
 * the work queued ahead of the packets, not by other traffic).  When the
 * bound was the whole wait, for any backlog not idle, 8 jiffies and then
 * a quarter of a second were too short on the debug kernel under TCG:
 * 1 MiB UC writes between rodp devices were lost now and then.  Without
 * the counters only idleness tells, which other traffic may put off for
 * good: a quarter of a second.
 */
#ifdef CONFIG_RPS
#define RODP_UC_CPU_WAITS	(5 * HZ)
#else
#define RODP_UC_CPU_WAITS	(HZ / 4)
#endif

/*
 * A last packet sent this long ago has left any backlog (and its mark
 * may have been wrapped by the traffic since).
 */
#define RODP_UC_MARK_AGE	(10 * HZ)

/* Whether @sd's backlog holds nothing and is not being processed. */
static bool rodp_uc_backlog_idle(struct softnet_data *sd)
{
	return !skb_queue_len_lockless(&sd->input_pkt_queue) &&
	       !skb_queue_len_lockless(&sd->process_queue) &&
	       !test_bit(NAPI_STATE_SCHED, &sd->backlog.state);
}

/*
 * The last CPU's backlog is done with what the requester sent from it:
 * idle, or (with RPS's queue counters) its head has passed the tail
 * noted after the last packet, and then, hop by hop, the tail noted when
 * the previous mark was passed (each hop of a packet is queued on this
 * backlog before the previous one counts as processed).  So a busy
 * backlog costs the work that was ahead of the packets, not the traffic
 * that keeps coming after them.  (The head also moves for packets taken
 * out of turn: those of a netdev going away, flush_backlog(), and those
 * of a CPU going offline, moved elsewhere.  Either may let a UC message
 * be overtaken, which costs that message, as a loss would.)
 */
static bool rodp_uc_drained(struct rodp_qp *qp, struct softnet_data *last)
{
	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	if (!qp->uc_hops || rodp_uc_backlog_idle(last) ||
	    time_after(jiffies, qp->uc_sent_at + RODP_UC_MARK_AGE))
		return true;
#ifdef CONFIG_RPS
	while ((int)(READ_ONCE(last->input_queue_head) - qp->uc_mark) >= 0) {
		if (!--qp->uc_hops)
			return true;
		qp->uc_mark = READ_ONCE(last->input_queue_tail);
	}
#endif
	return false;
}

/**
 * rodp_uc_req_seg - describe packet @pkt of the send WQE @info
 * @qp: the UC queue pair; caller holds the requester's lock
 * @info: the WQE's bookkeeping (kind, length, first PSN)
 * @pkt: the packet's index in the message
 * @seg: filled with its PSN, payload range and UC opcode
 *
 * Return: 0, or an rcore error for a WQE UC does not carry.
 */
int rodp_uc_req_seg(struct rodp_qp *qp, const struct rodp_swqe_info *info,
		    u32 pkt, struct rcore_rc_seg *seg)
{
	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	return rcore_uc_req_seg(info->kind, info->len, qp->req.mtu,
				info->first_psn, pkt, seg);
}

/*
 * Should the requester hold back for a while?  True when this CPU's
 * receive backlog is more than half full: packets sent now (a veth or
 * bridge hop queues them there) could overflow it; or when the requester
 * now runs on another CPU than it last sent from and that CPU's backlog
 * may still hold its packets (rodp_uc_drained()): the new ones would
 * overtake them.  The requester
 * then waits a jiffy on its RNR timer, which UC has no other use for,
 * and lets the softirq (ksoftirqd) catch up.  Called with migration
 * disabled, so that the packet leaves from the CPU checked here.
 */
static bool rodp_uc_req_paced(struct rodp_qp *qp)
{
	int cpu = smp_processor_id();
	struct softnet_data *sd = per_cpu_ptr(&softnet_data, cpu);
	struct softnet_data *last;

	/*
	 * Moved to another CPU: what the last one still holds in its
	 * backlog would be overtaken by what is sent from here, and a UC
	 * responder drops a message whose packets come out of order.
	 */
	if (cpu != qp->uc_tx_cpu) {
		last = per_cpu_ptr(&softnet_data, qp->uc_tx_cpu);
		if (!rodp_uc_drained(qp, last)) {
			if (qp->uc_cpu_waits++ < RODP_UC_CPU_WAITS)
				goto wait;
			rodp_dbg_qp(qp, "UC: CPU %d's backlog stuck %d jiffies\n",
				    qp->uc_tx_cpu, RODP_UC_CPU_WAITS);
		}
		qp->uc_tx_cpu = cpu;
	}
	qp->uc_cpu_waits = 0;
	if (skb_queue_len_lockless(&sd->input_pkt_queue) <=
	    rodp_netdev_max_backlog() / 2)
		return false;
wait:
	rodp_count(qp->rdev, RODP_CNT_UC_PACED);
	qp->rnr_wait = true;
	mod_timer(&qp->rnr_timer, jiffies + 1);
	return true;
}

/**
 * rodp_uc_req_send - send packet @seg of the WQE at @idx, paced
 * @qp: the UC queue pair; caller holds the requester's lock
 * @idx: the WQE
 * @seg: the packet
 *
 * The packet leaves from the CPU whose backlogs were checked (the task
 * may sleep meanwhile, copying the payload, but not move).
 *
 * Return: 0, RODP_UC_PACED when the requester must wait (its RNR timer
 * runs it again), or rodp_req_send_pkt()'s error.
 */
int rodp_uc_req_send(struct rodp_qp *qp, u32 idx,
		     const struct rcore_rc_seg *seg)
{
	int err = RODP_UC_PACED;
	struct softnet_data *sd __maybe_unused;

	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	migrate_disable();
	if (!rodp_uc_req_paced(qp)) {
		err = rodp_req_send_pkt(qp, idx, seg);
		/* Where this CPU's backlog stands after the packet. */
#ifdef CONFIG_RPS
		sd = per_cpu_ptr(&softnet_data, smp_processor_id());
		qp->uc_mark = READ_ONCE(sd->input_queue_tail);
#endif
		qp->uc_hops = RODP_UC_HOPS;
		qp->uc_sent_at = jiffies;
	}
	migrate_enable();
	return err;
}

/**
 * rodp_uc_req_sent - a packet of the send WQE at @idx is on its way
 * @qp: the UC queue pair; caller holds the requester's lock
 * @idx: the WQE, the oldest one not completed
 * @last: it was the WQE's last packet: the WQE completes now
 *
 * Nothing is ever outstanding on UC: no ACK will come.
 */
void rodp_uc_req_sent(struct rodp_qp *qp, u32 idx, bool last)
{
	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	qp->req.una_psn = qp->req.next_psn;
	if (last)
		rodp_qp_send_cqe(qp, idx, IB_WC_SUCCESS);
}

/**
 * rodp_uc_resp_drop - drop the message in progress, count why
 * @qp: the UC queue pair; caller holds the responder's lock
 * @why: the counter: RODP_CNT_UC_DROP_*
 *
 * The rest of the message is dropped up to the next FIRST or ONLY.  A
 * receive WQE a partial SEND took stays for the next message; a partial
 * WRITE is abandoned where it stopped.
 */
void rodp_uc_resp_drop(struct rodp_qp *qp, enum rodp_counter why)
{
	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	rcore_uc_resp_abort(&qp->resp);
	qp->resp_msg_len = 0;
	rodp_count(qp->rdev, why);
	rodp_dbg_qp(qp, "UC message dropped (counter %d), epsn %u\n", why,
		    qp->resp.epsn);
}

/**
 * rodp_uc_resp_rx - handle a UC request packet
 * @qp: the UC queue pair; caller holds the responder's lock
 * @rx: the packet (a UC opcode); executed as the RC opcode it stands for
 */
void rodp_uc_resp_rx(struct rodp_qp *qp, struct rodp_rx *rx)
{
	struct rcore_uc_resp_verdict v;
	unsigned int f;

	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	rcore_uc_resp_check(&qp->resp, &rx->pkt, &v);
	rcore_uc_resp_begin(&qp->resp, &rx->pkt, &v);
	if (v.abort)
		rodp_uc_resp_drop(qp, v.rc.why == RCORE_RC_WHY_ACCESS ?
				  RODP_CNT_UC_DROP_ACCESS :
				  RODP_CNT_UC_DROP_SEQ);
	if (v.rc.action != RCORE_RC_RESP_EXECUTE) {
		if (!v.abort)
			rodp_count(qp->rdev, v.rc.why == RCORE_RC_WHY_ACCESS ?
				   RODP_CNT_UC_DROP_ACCESS :
				   RODP_CNT_RX_DROP_SEQ);
		return;
	}
	f = v.rc.flags;
	/* A new SEND fills a receive kept from a dropped one from 0. */
	if ((f & RCORE_RC_F_SEND) && (f & RCORE_RC_F_FIRST))
		qp->resp_msg_len = 0;
	rx->pkt.bth.opcode = v.rc_opcode;
	rodp_resp_execute(qp, rx, &v.rc);
}
