// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: the engine that runs a QP's transport.
 *
 * A QP's transport has two sides (struct rodp_eng), the requester and
 * the responder, each with its own lock, packet queue and work item.  A
 * side runs a round at a time, in process context, in whoever holds its
 * lock: its work item on rodp_eng_wq, the send doorbell, a loopback
 * delivery (rodp_eng_run_inline()).  Who wants a round of a side that is
 * busy in another task hands it over through the side's pending bit
 * rather than waiting.  The requester's retry and RNR timers only set a
 * flag and kick it.
 *
 * Who touches a QP:
 *   - the receive path (softirq) finds it by QP number under RCU with a
 *     reference, queues the packet for the side it is meant for (a
 *     response for the requester, a request for the responder) and kicks
 *     that side's work item; loopback delivery runs the side at once;
 *   - the send doorbell (post_send) runs the requester in the caller;
 *   - a side is run by whoever holds its lock: its work item, a doorbell,
 *     a loopback delivery;
 *   - modify/query hold both locks (rodp_qp_lock_both());
 *   - destroy takes it out of the QP number space, waits for the
 *     references, then stops timers and the work items for good
 *     (rodp_eng_stop()).
 */

#include "rodp.h"

static struct workqueue_struct *rodp_eng_wq;

/**
 * rodp_eng_wq_init - create the workqueue QP sides run on (module init)
 *
 * Return: 0 or -ENOMEM.
 */
int rodp_eng_wq_init(void)
{
	rodp_eng_wq = alloc_workqueue("rodp", WQ_UNBOUND | WQ_HIGHPRI, 0);
	return rodp_eng_wq ? 0 : -ENOMEM;
}

/**
 * rodp_eng_wq_exit - destroy the workqueue (module exit, no QP left)
 */
void rodp_eng_wq_exit(void)
{
	destroy_workqueue(rodp_eng_wq);
}

/**
 * rodp_eng_kick - have a side's work item run (again)
 * @e: the side
 *
 * Any context.  Does nothing once the QP is being destroyed.
 */
void rodp_eng_kick(struct rodp_eng *e)
{
	if (!test_bit(RODP_QPF_DYING, &e->qp->flags))
		queue_work(rodp_eng_wq, &e->work);
}

/**
 * rodp_qp_kick - have both sides of a QP run (again)
 * @qp: the queue pair
 *
 * Any context.
 */
void rodp_qp_kick(struct rodp_qp *qp)
{
	rodp_eng_kick(&qp->eng[RODP_REQ]);
	rodp_eng_kick(&qp->eng[RODP_RESP]);
}

/*
 * The retry timer is lazy: it is armed when PSNs become outstanding and
 * left alone when they are acknowledged, so a message costs no timer
 * operation on the way out and none on its ACK.  What counts is the
 * deadline: set when PSNs become outstanding and pushed back whenever
 * una moves.  A timer that fires before the deadline, or with nothing
 * outstanding, is ignored or re-armed by rodp_qp_timer_fired().
 */
static void rodp_qp_arm_timer(struct rodp_qp *qp)
{
	u64 ns;

	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	if (!rodp_qp_can_send(qp) || qp->req.una_psn == qp->req.next_psn ||
	    qp->rnr_wait) {
		qp->retry_armed = false;
		return;
	}
	if (qp->retry_armed && qp->timer_una == qp->req.una_psn)
		return;
	ns = rcore_rc_ack_timeout_ns(qp->attr.timeout);
	if (!ns) {
		qp->retry_armed = false;
		return;
	}
	ns = max_t(u64, ns, RODP_MIN_ACK_TIMEOUT_NS);
	qp->retry_armed = true;
	qp->timer_una = qp->req.una_psn;
	qp->retry_deadline = jiffies + max_t(unsigned long, 2,
					     nsecs_to_jiffies(ns));
	if (!timer_pending(&qp->retry_timer) ||
	    time_after(qp->retry_timer.expires, qp->retry_deadline))
		mod_timer(&qp->retry_timer, qp->retry_deadline);
}

/* The retry timer went off: a timeout, or only an early (lazy) wake-up. */
static void rodp_qp_timer_fired(struct rodp_qp *qp)
{
	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	if (!qp->retry_armed)
		return;
	if (qp->timer_una != qp->req.una_psn) {
		/* ACKed meanwhile: rodp_qp_arm_timer() sets a new deadline. */
		qp->retry_armed = false;
		return;
	}
	if (time_before(jiffies, qp->retry_deadline)) {
		mod_timer(&qp->retry_timer, qp->retry_deadline);
		return;
	}
	qp->retry_armed = false;
	rodp_comp_timeout(qp);
}

/*
 * One round of the requester: take in responses, react to timers, send
 * new requests.  Return true when there is more to do.
 */
static bool rodp_req_round(struct rodp_qp *qp)
{
	struct rodp_eng *e = &qp->eng[RODP_REQ];
	bool busy = false;

	lockdep_assert_held(&e->lock);

	rodp_eng_rx(e);
	if (e->deferred)
		return true;
	if (test_and_clear_bit(RODP_QPF_TIMEOUT, &qp->flags))
		rodp_qp_timer_fired(qp);
	if (test_and_clear_bit(RODP_QPF_RNR_DONE, &qp->flags))
		qp->rnr_wait = false;

	if (rodp_qp_state(qp) == IB_QPS_ERR) {
		rodp_eng_flush(e);
		rodp_eng_purge(e);
		return false;
	}
	if (rodp_qp_is_ud(qp))
		rodp_ud_req_run(qp, &busy);
	else
		rodp_req_run(qp, &busy);
	rodp_qp_arm_timer(qp);
	/* Packets queued meanwhile without a kick (see rodp_eng_owned()). */
	return busy || !skb_queue_empty(&e->rxq);
}

/*
 * One round of the responder: take in requests, send responses, ACKs
 * and NAKs.  Return true when there is more to do.
 */
static bool rodp_resp_round(struct rodp_qp *qp)
{
	struct rodp_eng *e = &qp->eng[RODP_RESP];
	bool busy = false;

	lockdep_assert_held(&e->lock);

	rodp_eng_rx(e);
	if (e->deferred)
		return true;
	if (rodp_qp_state(qp) == IB_QPS_ERR) {
		rodp_eng_flush(e);
		rodp_eng_purge(e);
		return false;
	}
	rodp_resp_run(qp, &busy);
	return busy || !skb_queue_empty(&e->rxq);
}

/**
 * rodp_eng_owned - is a side of a QP running in this task right now
 * @e: the side
 *
 * Then a packet queued for it needs no kick: the running round sees it.
 */
bool rodp_eng_owned(struct rodp_eng *e)
{
	return READ_ONCE(e->owner) == current;
}

static int rodp_eng_pending_bit(const struct rodp_eng *e)
{
	return e->side == RODP_REQ ? RODP_QPF_PENDING : RODP_QPF_PENDING_RESP;
}

/*
 * Handing work to whoever holds a side's lock.  Someone who wants a round
 * sets the side's pending bit, then tries the lock.  Whoever holds the
 * lock clears the bit before each round and, after letting go of the
 * lock, tests it again (rodp_eng_unlocked()): either the holder sees the
 * bit, or the other side's trylock succeeds.  The barriers make it one or
 * the other, never neither.  So a doorbell or a loopback packet that
 * meets a side busy in another task makes that task run one more round,
 * instead of waiting for the lock or for a work item to be scheduled.
 */
static bool rodp_eng_want_round(struct rodp_eng *e)
{
	set_bit(rodp_eng_pending_bit(e), &e->qp->flags);
	smp_mb__after_atomic();	/* the bit before the lock: see above */
	return mutex_trylock(&e->lock);
}

/* After mutex_unlock(&e->lock): a round wanted meanwhile is not lost. */
static void rodp_eng_unlocked(struct rodp_eng *e)
{
	smp_mb();	/* the unlock before the bit: see above */
	if (test_bit(rodp_eng_pending_bit(e), &e->qp->flags))
		rodp_eng_kick(e);
}

/* One round, after taking a pending request for it. */
static bool rodp_eng_round(struct rodp_eng *e)
{
	int bit = rodp_eng_pending_bit(e);
	bool busy;

	clear_bit(bit, &e->qp->flags);
	smp_mb__after_atomic();	/* the clear before the round's reads */
	if (e->side == RODP_REQ)
		busy = rodp_req_round(e->qp);
	else
		busy = rodp_resp_round(e->qp);
	/* What the round sent on this host; answers may come back here. */
	rodp_eng_handoff_run(e, busy);
	return busy || test_bit(bit, &e->qp->flags) ||
	       !skb_queue_empty(&e->rxq) || e->call_hlen;
}

/**
 * rodp_qp_lock_both - take both sides of a QP, requester first
 * @qp: the queue pair
 *
 * As modify, query and destroy do: no side runs until they are let go.
 * Process context.
 */
void rodp_qp_lock_both(struct rodp_qp *qp)
{
	atomic_inc(&qp->lockers);
	mutex_lock(&qp->eng[RODP_REQ].lock);
	mutex_lock_nested(&qp->eng[RODP_RESP].lock, SINGLE_DEPTH_NESTING);
	atomic_dec(&qp->lockers);
}

/**
 * rodp_qp_unlock_both - let go of both sides of a QP
 * @qp: the queue pair, taken with rodp_qp_lock_both()
 *
 * A round wanted meanwhile (a doorbell, a loopback packet) is not lost:
 * its side is kicked.
 */
void rodp_qp_unlock_both(struct rodp_qp *qp)
{
	mutex_unlock(&qp->eng[RODP_RESP].lock);
	mutex_unlock(&qp->eng[RODP_REQ].lock);
	rodp_eng_unlocked(&qp->eng[RODP_REQ]);
	rodp_eng_unlocked(&qp->eng[RODP_RESP]);
}

static void rodp_eng_work(struct work_struct *work)
{
	struct rodp_eng *e = container_of(work, struct rodp_eng, work);
	bool busy;

	/* A side busy in another task gets the round from that task. */
	if (!rodp_eng_want_round(e))
		return;
	WRITE_ONCE(e->owner, current);
	/* A worker may sleep in a fault: what was deferred is done here. */
	e->deferred = false;
	while ((busy = rodp_eng_round(e))) {
		/* A modify, query or destroy waits: its turn first. */
		if (atomic_read(&e->qp->lockers))
			break;
		cond_resched();
	}
	e->deferred = false;
	WRITE_ONCE(e->owner, NULL);
	mutex_unlock(&e->lock);
	if (busy)
		rodp_eng_kick(e);
	else
		rodp_eng_unlocked(e);
}

/*
 * A few rounds of @e, whose lock the caller took (and whose pending bit it
 * may have set), in the caller's context; the rest is left to the work
 * item.  Lets go of the lock.
 */
static void rodp_eng_run_held(struct rodp_eng *e, bool nested)
{
	int rounds = 4;
	bool busy;

	e->nested = nested;
	WRITE_ONCE(e->owner, current);
	do {
		busy = rodp_eng_round(e);
	} while (busy && !e->deferred && --rounds);
	WRITE_ONCE(e->owner, NULL);
	e->nested = false;
	if (e->deferred)
		busy = true;	/* the work item faults and goes on */
	mutex_unlock(&e->lock);
	if (busy)
		rodp_eng_kick(e);
	else
		rodp_eng_unlocked(e);
}

/**
 * rodp_eng_run_inline - run a side of a QP in the caller's context
 * @e: the side
 * @nested: the caller is itself running a side inline
 *
 * Used by the send doorbell (the requester starts sending inside the
 * post_send system call, as a NIC would on the doorbell write, with no
 * work item to wake) and by loopback delivery (the receiving side takes
 * the packet at once).  A few rounds only; the rest is left to the work
 * item.  If the side is busy in another task, that task runs the round.
 * Process context; may sleep.
 */
void rodp_eng_run_inline(struct rodp_eng *e, bool nested)
{
	if (test_bit(RODP_QPF_DYING, &e->qp->flags))
		return;
	if (!rodp_eng_want_round(e))
		return;
	rodp_eng_run_held(e, nested);
}

/**
 * rodp_eng_call - hand a QP's responder a request without a packet, and
 * run it
 * @e: the responder side of a QP of this host
 * @hdr: the request's headers (rodp_qp_rx_call())
 * @hlen: their length
 * @len: the packet's length on the wire
 * @payload: its payload, linear
 * @from_peer: the sender is the QP's peer
 *
 * For rodp_call.c: the responder takes the request now, in the caller's
 * context (nested, as a loopback delivery is), then runs its rounds (its
 * ACK goes back by a call too, when it can: rodp_eng_call_response()).
 * Only when nothing can be ahead of the
 * request: the side is not running anywhere (its lock is free), nothing
 * is queued for it and nothing of it waits for its work item.  Process
 * context; may sleep.
 *
 * Return: true when the responder took it; false when the caller must
 * send it as a packet (then nothing of it was done).
 */
bool rodp_eng_call(struct rodp_eng *e, const u8 *hdr, u32 hlen, u32 len,
		   const u8 *payload, bool from_peer)
{
	bool deferred;

	if (test_bit(RODP_QPF_DYING, &e->qp->flags) ||
	    !mutex_trylock(&e->lock))
		return false;
	if (e->deferred || !skb_queue_empty(&e->rxq)) {
		mutex_unlock(&e->lock);
		rodp_eng_unlocked(e);
		return false;
	}
	e->nested = true;
	WRITE_ONCE(e->owner, current);
	deferred = rodp_qp_rx_call(e->qp, RODP_RESP, hdr, hlen, len, payload,
				   from_peer);
	if (deferred) {
		/*
		 * The caller sends it as a packet, the first in the queue;
		 * the hand-over of that packet finds the side deferred and
		 * kicks its work item, which faults.
		 */
		rodp_eng_handoff_run(e, false);
		WRITE_ONCE(e->owner, NULL);
		e->nested = false;
		mutex_unlock(&e->lock);
		rodp_eng_unlocked(e);
		return false;
	}
	rodp_eng_run_held(e, true);
	return true;
}

/**
 * rodp_eng_call_response - hand a QP's requester a response without a
 * packet
 * @e: the requester side of a QP of this host
 * @hdr: the response's headers (rodp_qp_rx_call()), an ACK's
 * @hlen: their length
 * @len: the packet's length on the wire
 * @from_peer: the sender is the QP's peer
 *
 * For rodp_call.c: the answer of a responder that a request reached by a
 * call (rodp_eng_call()), to the requester that sent it, which this task
 * runs further up the stack.  It cannot take the response there and then
 * (it is in the middle of sending): the response waits in the side
 * (struct rodp_eng's call_*) and the side's next round takes it, before
 * anything queued.  Only when nothing is queued for the side, nothing
 * waits for its work item and no other response waits so.
 *
 * Return: true when the response waits for the side's next round; false
 * when the caller must send it as a packet.
 */
bool rodp_eng_call_response(struct rodp_eng *e, const u8 *hdr, u32 hlen,
			    u32 len, bool from_peer)
{
	if (!rodp_eng_owned(e))
		return false;
	lockdep_assert_held(&e->lock);
	if (e->deferred || e->call_hlen || hlen > sizeof(e->call_hdr) ||
	    !skb_queue_empty(&e->rxq))
		return false;
	memcpy(e->call_hdr, hdr, hlen);
	e->call_len = len;
	e->call_from_peer = from_peer;
	e->call_hlen = hlen;
	return true;
}

/**
 * rodp_eng_defer - leave the rest of this round to the side's work item
 * @qp: the queue pair
 * @side: the side, run by the caller (its lock held)
 *
 * For a step that met ODP memory it may not fault in here
 * (-EWOULDBLOCK: rodp_odp.c): the step is left undone, the round stops,
 * and the work item, which may sleep in the fault, takes it up.
 */
void rodp_eng_defer(struct rodp_qp *qp, enum rodp_side side)
{
	lockdep_assert_held(&qp->eng[side].lock);

	qp->eng[side].deferred = true;
	rodp_count(qp->rdev, RODP_CNT_DEFERRED);
}

static void rodp_qp_retry_timer(struct timer_list *t)
{
	struct rodp_qp *qp = rodp_timer_container_of(qp, t, retry_timer);

	set_bit(RODP_QPF_TIMEOUT, &qp->flags);
	rodp_eng_kick(&qp->eng[RODP_REQ]);
}

static void rodp_qp_rnr_timer(struct timer_list *t)
{
	struct rodp_qp *qp = rodp_timer_container_of(qp, t, rnr_timer);

	set_bit(RODP_QPF_RNR_DONE, &qp->flags);
	rodp_eng_kick(&qp->eng[RODP_REQ]);
}

/**
 * rodp_eng_setup - set up both sides of a new QP and its timers
 * @qp: the queue pair being created
 */
void rodp_eng_setup(struct rodp_qp *qp)
{
	int i;

	for (i = 0; i < RODP_SIDES; i++) {
		struct rodp_eng *e = &qp->eng[i];

		mutex_init(&e->lock);
		skb_queue_head_init(&e->rxq);
		INIT_WORK(&e->work, rodp_eng_work);
		e->qp = qp;
		e->side = i;
	}
	timer_setup(&qp->retry_timer, rodp_qp_retry_timer, 0);
	timer_setup(&qp->rnr_timer, rodp_qp_rnr_timer, 0);
}

/**
 * rodp_eng_stop - stop a QP's timers and work items for good
 * @qp: the queue pair being destroyed, out of the QP number space, with
 *	no receive path reference left
 *
 * No kick queues a work item once DYING is set and seen, but a kick
 * that tested the bit just before may still queue one: a timer, or
 * one side's work kicking the other (rodp_qp_error()).  So: the
 * timers, then the requester's work, the responder's (which may have
 * kicked the requester) and the requester's again; every work that
 * runs after that started with DYING visible and kicks nothing, but
 * may have armed a timer.
 */
void rodp_eng_stop(struct rodp_qp *qp)
{
	set_bit(RODP_QPF_DYING, &qp->flags);
	smp_mb__after_atomic();	/* DYING before the kickers' tests */
	timer_delete_sync(&qp->retry_timer);
	timer_delete_sync(&qp->rnr_timer);
	cancel_work_sync(&qp->eng[RODP_REQ].work);
	cancel_work_sync(&qp->eng[RODP_RESP].work);
	cancel_work_sync(&qp->eng[RODP_REQ].work);
	timer_delete_sync(&qp->retry_timer);
	timer_delete_sync(&qp->rnr_timer);
}
