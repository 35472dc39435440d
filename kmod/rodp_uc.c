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
 *    waits for the last one's backlog to empty;
 *  - the responder checks PSNs the UC way (rcore_uc_resp_check()): a
 *    lost packet drops the message it belonged to, the next FIRST or
 *    ONLY goes through; where RC would NAK (R_Key, access, no receive
 *    posted, a receive too short), the message is dropped and counted.
 * READ, atomics and SEND_WITH_INV do not exist on UC: the provider
 * refuses them, and so does the requester (a local QP operation error).
 */

#include "rodp.h"

/*
 * Jiffies a requester that moved to another CPU waits at most for the
 * last one's backlog to empty: other traffic may keep it busy.  A
 * quarter of a second: on a slow kernel (the debug kernel under TCG) the
 * other CPU's ksoftirqd took longer than 8 jiffies to run, and UC
 * messages were lost to packets overtaking each other.
 */
#define RODP_UC_CPU_WAITS	(HZ / 4)

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
 * still holds packets: the new ones would overtake them.  The requester
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
		if ((skb_queue_len_lockless(&last->input_pkt_queue) ||
		     skb_queue_len_lockless(&last->process_queue) ||
		     test_bit(NAPI_STATE_SCHED, &last->backlog.state)) &&
		    qp->uc_cpu_waits++ < RODP_UC_CPU_WAITS)
			goto wait;
		/* Idle, or busy with others' traffic for too long. */
		qp->uc_tx_cpu = cpu;
		qp->uc_cpu_waits = 0;
	}
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

	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	migrate_disable();
	if (!rodp_uc_req_paced(qp))
		err = rodp_req_send_pkt(qp, idx, seg);
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
