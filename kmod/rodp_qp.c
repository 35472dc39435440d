// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: RC queue pairs: creation with their shared send and receive rings,
 * the state machine of modify_qp, query, destruction, and the work item
 * that runs a QP's requester, completer and responder in process context.
 *
 * A QP's transport has two sides (struct rodp_eng), the requester and
 * the responder, each with its own lock, packet queue and work item.
 * Who touches a QP:
 *   - the receive path (softirq) finds it by QP number under RCU with a
 *     reference, queues the packet for the side it is meant for (a
 *     response for the requester, a request for the responder) and kicks
 *     that side's work item; loopback delivery runs the side at once;
 *   - the send doorbell (post_send) runs the requester in the caller;
 *   - a side is run by whoever holds its lock: its work item, a doorbell,
 *     a loopback delivery;
 *   - modify/query hold both locks;
 *   - destroy takes it out of the QP number space, waits for the
 *     references, then stops timers and the work items for good.
 */

#include <linux/log2.h>
#include <linux/vmalloc.h>
#include <net/ipv6.h>
#include <rdma/ib_cache.h>
#include <rdma/uverbs_ioctl.h>

#include <rcore/icrc.h>
#include <rdma/rodp-abi.h>
#include "rodp.h"

/* The WQE formats are ABI: their sizes are fixed. */
static_assert(sizeof(struct rodp_sge) == 16, "SGE size is ABI");
static_assert(sizeof(struct rodp_swqe) == 64, "send WQE header size is ABI");
static_assert(sizeof(struct rodp_rwqe) == 16,
	      "receive WQE header size is ABI");

static struct workqueue_struct *rodp_wq;

/**
 * rodp_wq_init - create the workqueue QPs run on (module init)
 *
 * Return: 0 or -ENOMEM.
 */
int rodp_wq_init(void)
{
	rodp_wq = alloc_workqueue("rodp", WQ_UNBOUND | WQ_HIGHPRI, 0);
	return rodp_wq ? 0 : -ENOMEM;
}

/**
 * rodp_wq_exit - destroy the QP workqueue (module exit, no QP left)
 */
void rodp_wq_exit(void)
{
	destroy_workqueue(rodp_wq);
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
		queue_work(rodp_wq, &e->work);
}

/* Have both sides of a QP run (again); any context. */
static void rodp_qp_kick(struct rodp_qp *qp)
{
	rodp_eng_kick(&qp->eng[RODP_REQ]);
	rodp_eng_kick(&qp->eng[RODP_RESP]);
}

/**
 * rodp_qp_get_rcu - find a QP by number and take a reference
 * @rdev: the device
 * @qpn: the QP number
 *
 * Any context.  Drop the reference with rodp_qp_put().
 *
 * Return: the QP, or NULL.
 */
struct rodp_qp *rodp_qp_get_rcu(struct rodp_dev *rdev, u32 qpn)
{
	struct rodp_qp *qp;

	rcu_read_lock();
	qp = xa_load(&rdev->qp_xa, qpn);
	if (qp && !refcount_inc_not_zero(&qp->users))
		qp = NULL;
	rcu_read_unlock();
	return qp;
}

/**
 * rodp_qp_put - drop a reference from rodp_qp_get_rcu()
 * @qp: the queue pair
 */
void rodp_qp_put(struct rodp_qp *qp)
{
	if (refcount_dec_and_test(&qp->users))
		complete(&qp->released);
}

/**
 * rodp_wq_slot - kernel copy of a work queue slot
 * @wq: the work queue
 * @idx: free-running index
 *
 * Return: the slot in @wq->copy.
 */
void *rodp_wq_slot(struct rodp_wq *wq, u32 idx)
{
	return wq->copy + (size_t)(idx & ((1u << wq->log2_slots) - 1)) *
			  wq->slot_size;
}

static void *rodp_wq_user_slot(struct rodp_wq *wq, u32 idx)
{
	return (u8 *)wq->ring + RODP_RING_HDR_SIZE +
	       rcore_ring_slot_off(wq->log2_slots, wq->slot_size, idx);
}

/*
 * The user's producer index, trusted only as far as the ring goes: it
 * must lie between what we fetched (head) and a ring ahead of our
 * consumer.  Anything else (a producer gone backwards, or beyond the
 * ring) posts nothing new, so that no walk from head to the producer is
 * ever longer than one ring, whatever userspace writes.
 */
static u32 rodp_wq_prod(struct rodp_wq *wq)
{
	u32 prod = rcore_load_acquire_u32(&wq->ring->prod);
	u32 posted = rcore_ring_count(prod, wq->cons);

	if (posted > (1u << wq->log2_slots) ||
	    posted < rcore_ring_count(wq->head, wq->cons))
		return wq->head;
	return prod;
}

/**
 * rodp_wq_fetch - copy the next posted WQE into kernel memory
 * @wq: the work queue
 *
 * Return: the kernel copy (rodp_wq_slot() of the fetched index), or NULL
 * when nothing new is posted.
 */
void *rodp_wq_fetch(struct rodp_wq *wq)
{
	void *copy;

	if (wq->head == rodp_wq_prod(wq))
		return NULL;
	copy = rodp_wq_slot(wq, wq->head);
	memcpy(copy, rodp_wq_user_slot(wq, wq->head), wq->slot_size);
	wq->head++;
	return copy;
}

/* Retire the oldest fetched WQE; the caller checked there is one. */
static void rodp_wq_retire(struct rodp_wq *wq)
{
	wq->cons++;
	rcore_store_release_u32(&wq->ring->cons, wq->cons);
}

/* ---------------------------------------------------------------------- */
/* Completions                                                             */
/* ---------------------------------------------------------------------- */

static const u8 rodp_kind_wc[RCORE_RC_MSG_COUNT] = {
	[RCORE_RC_MSG_SEND] = IB_WC_SEND,
	[RCORE_RC_MSG_SEND_IMM] = IB_WC_SEND,
	[RCORE_RC_MSG_SEND_INV] = IB_WC_SEND,
	[RCORE_RC_MSG_WRITE] = IB_WC_RDMA_WRITE,
	[RCORE_RC_MSG_WRITE_IMM] = IB_WC_RDMA_WRITE,
	[RCORE_RC_MSG_READ] = IB_WC_RDMA_READ,
	[RCORE_RC_MSG_CMP_SWAP] = IB_WC_COMP_SWAP,
	[RCORE_RC_MSG_FETCH_ADD] = IB_WC_FETCH_ADD,
};

/**
 * rodp_qp_send_cqe - retire the oldest send WQE, with a completion when
 * it is signaled or failed
 * @qp: the queue pair; caller holds the requester's lock
 * @idx: the WQE's index, which must be @qp->sq.cons
 * @status: its completion status
 */
void rodp_qp_send_cqe(struct rodp_qp *qp, u32 idx, enum ib_wc_status status)
{
	struct rodp_swqe_info *info =
		&qp->sq_info[idx & ((1u << qp->sq.log2_slots) - 1)];
	const struct rodp_swqe *wqe = rodp_wq_slot(&qp->sq, idx);
	struct rodp_cqe cqe = {};

	lockdep_assert_held(&qp->eng[RODP_REQ].lock);
	/* Only ever the oldest fetched WQE: cons never passes head. */
	if (WARN_ON_ONCE(idx != qp->sq.cons || idx == qp->sq.head))
		return;

	/*
	 * The slot is free before the completion is seen: a consumer that
	 * posts again at once must find room.  The kernel works from its own
	 * copy of the WQE, which stays valid until the next fetch.
	 */
	if (rcore_rc_msg_is_rd_atomic(info->kind) && info->started &&
	    qp->rd_atomic_out)
		qp->rd_atomic_out--;
	if (qp->send_idx == idx) {
		qp->send_idx++;
		qp->send_pkt = 0;
	}
	rodp_wq_retire(&qp->sq);

	if (info->signaled || status != IB_WC_SUCCESS) {
		cqe.wr_id = wqe->wr_id;
		cqe.status = status;
		cqe.opcode = rodp_kind_wc[info->kind];
		cqe.qp_num = qp->ibqp.qp_num;
		/* The fetch made it 8 for atomics; flushed WQEs have 0. */
		cqe.byte_len = info->len;
		rodp_cq_post(container_of(qp->ibqp.send_cq, struct rodp_cq,
					  ibcq), &cqe, false);
	}
}

/* Complete every send WQE posted (fetched or not) with a flush error. */
static void rodp_qp_flush_sq(struct rodp_qp *qp)
{
	struct rodp_swqe_info *info;
	struct rodp_swqe *wqe;
	u32 prod = rodp_wq_prod(&qp->sq);

	while (qp->sq.head != prod) {
		int kind;

		wqe = rodp_wq_fetch(&qp->sq);
		info = &qp->sq_info[(qp->sq.head - 1) &
				    ((1u << qp->sq.log2_slots) - 1)];
		memset(info, 0, sizeof(*info));
		/* An unknown opcode completes as a SEND would. */
		kind = rodp_wr_kind(wqe->opcode);
		info->kind = kind < 0 ? RCORE_RC_MSG_SEND : kind;
	}
	while (qp->sq.cons != qp->sq.head)
		rodp_qp_send_cqe(qp, qp->sq.cons, IB_WC_WR_FLUSH_ERR);
	qp->send_idx = qp->sq.cons;
	qp->send_pkt = 0;
	qp->rd_atomic_out = 0;
}

/* Complete every receive WQE posted with a flush error. */
static void rodp_qp_flush_rq(struct rodp_qp *qp)
{
	struct rodp_cq *rcq;
	struct rodp_rwqe *wqe;
	struct rodp_cqe cqe = {
		.status = IB_WC_WR_FLUSH_ERR,
		.opcode = IB_WC_RECV,
	};

	if (!qp->rq.ring)
		return;
	rcq = container_of(qp->ibqp.recv_cq, struct rodp_cq, ibcq);
	cqe.qp_num = qp->ibqp.qp_num;
	qp->resp_have_wqe = false;
	/* Fetch everything, then retire in order. */
	while (rodp_wq_fetch(&qp->rq))
		;
	while (qp->rq.cons != qp->rq.head) {
		wqe = rodp_wq_slot(&qp->rq, qp->rq.cons);
		cqe.wr_id = wqe->wr_id;
		rodp_wq_retire(&qp->rq);
		rodp_cq_post(rcq, &cqe, false);
	}
}

/*
 * The rings' error flag tells the provider to ring the doorbell even for
 * a receive, so that what it posts in the error state gets flushed.  The
 * provider publishes its producer index, then reads the flag; we set the
 * flag, then (flushing) read the index: a full barrier on each side, so
 * that one of the two sees the other.
 */
static void rodp_qp_set_ring_error(struct rodp_qp *qp, bool error)
{
	u32 f = error ? RODP_RING_F_ERROR : 0;

	WRITE_ONCE(qp->sq.ring->flags, f);
	if (qp->rq.ring)
		WRITE_ONCE(qp->rq.ring->flags, f);
	smp_mb();	/* the flag before the flush's read of prod */
}

/* A side of a QP in the error state: its posted WQEs are flushed. */
static void rodp_eng_flush(struct rodp_eng *e)
{
	struct rodp_qp *qp = e->qp;

	lockdep_assert_held(&e->lock);

	if (e->side == RODP_REQ) {
		qp->rnr_wait = false;
		rodp_qp_flush_sq(qp);
	} else {
		rodp_resp_reset(qp);
		rodp_qp_flush_rq(qp);
	}
}

/**
 * rodp_qp_error - move a QP to the error state and flush its queues
 * @qp: the queue pair
 * @held: the sides whose locks the caller holds, BIT(enum rodp_side)
 *
 * Outstanding and posted work requests complete with IB_WC_WR_FLUSH_ERR:
 * at once on the sides the caller holds, and on the other side when it
 * next runs (it is kicked, and flushes whenever it runs in the error
 * state).  Requests posted later are flushed when the doorbell rings.
 */
void rodp_qp_error(struct rodp_qp *qp, unsigned int held)
{
	int i;

	WRITE_ONCE(qp->state, IB_QPS_ERR);
	rodp_qp_set_ring_error(qp, true);
	for (i = 0; i < RODP_SIDES; i++) {
		if (held & BIT(i))
			rodp_eng_flush(&qp->eng[i]);
		else
			rodp_eng_kick(&qp->eng[i]);
	}
}

/* ---------------------------------------------------------------------- */
/* Scatter/gather through memory regions                                   */
/* ---------------------------------------------------------------------- */

struct rodp_copy_ctx {
	u8 *buf;
	bool to_mem;
};

static int rodp_copy_piece(void *priv, void *kaddr, u64 len)
{
	struct rodp_copy_ctx *c = priv;

	if (c->to_mem)
		memcpy(kaddr, c->buf, len);
	else
		memcpy(c->buf, kaddr, len);
	c->buf += len;
	return 0;
}

/**
 * rodp_sge_copy - copy between a buffer and a list of local SGEs
 * @qp: the queue pair whose PD the SGEs' lkeys must belong to
 * @sge: the SGE list (a checked kernel copy)
 * @num_sge: entries in @sge
 * @off: byte offset into the concatenated SGEs
 * @buf: kernel buffer
 * @len: bytes to copy
 * @to_sge: true to write @buf into the SGEs (needs LOCAL_WRITE), false to
 *	    read them into @buf
 *
 * Process context; may sleep (ODP).
 *
 * Return: 0; -ERANGE when the SGEs hold fewer than @off + @len bytes (a
 * length error); -EFAULT when an SGE reaches outside its MR, -ENOENT,
 * -EACCES (key, PD, rights) or another error from the MR layer (a
 * protection error).
 */
int rodp_sge_copy(struct rodp_qp *qp, const struct rodp_sge *sge,
		  u32 num_sge, u32 off, void *buf, u32 len, bool to_sge)
{
	struct rodp_copy_ctx c = { .buf = buf, .to_mem = to_sge };
	struct rodp_mr *mr;
	u32 i, n;
	int err;

	for (i = 0; i < num_sge && len; i++) {
		if (off >= sge[i].length) {
			off -= sge[i].length;
			continue;
		}
		n = min(len, sge[i].length - off);
		mr = rodp_mr_get(qp->rdev, sge[i].lkey, qp->ibqp.pd,
				 to_sge ? IB_ACCESS_LOCAL_WRITE : 0,
				 sge[i].addr + off, n);
		/* The MR's -ERANGE is not the list's: not a length error. */
		if (IS_ERR(mr))
			return PTR_ERR(mr) == -ERANGE ? -EFAULT : PTR_ERR(mr);
		err = rodp_mr_io(mr, sge[i].addr + off, n,
				 sge[i].length - off - n, to_sge,
				 rodp_copy_piece, &c);
		rodp_mr_put(mr);
		if (err)
			return err;
		len -= n;
		off = 0;
	}
	return len ? -ERANGE : 0;
}

/* ---------------------------------------------------------------------- */
/* The work item and timers                                                */
/* ---------------------------------------------------------------------- */

/* Was @skb sent by the QP's peer, to the QP's own address? */
static bool rodp_qp_from_peer(const struct rodp_qp *qp,
			      const struct sk_buff *skb)
{
	const struct ipv6hdr *ip6h;
	const struct iphdr *iph;

	if (qp->ipv6) {
		ip6h = ipv6_hdr(skb);
		return ip6h->version == 6 &&
		       ipv6_addr_equal(&ip6h->saddr, &qp->daddr6) &&
		       ipv6_addr_equal(&ip6h->daddr, &qp->saddr6);
	}
	iph = ip_hdr(skb);
	return iph->version == 4 && iph->saddr == qp->daddr &&
	       iph->daddr == qp->saddr;
}

/* A packet for side @side (it was queued there by its opcode). */
static void rodp_qp_rx_one(struct rodp_qp *qp, enum rodp_side side,
			   struct sk_buff *skb)
{
	struct rodp_dev *rdev = qp->rdev;
	struct rodp_rx rx = { .skb = skb };
	int err;

	if (skb_linearize(skb)) {
		rodp_count(rdev, RODP_CNT_RX_DROP_HDR);
		goto out_free;
	}
	/* A packet that never left the host carries no ICRC. */
	err = RODP_SKB_CB(skb)->local ? 0 :
	      rcore_icrc_check(skb_network_header(skb),
			       skb_tail_pointer(skb) - skb_network_header(skb));
	if (err) {
		rodp_count(rdev, err == RCORE_ERR_ICRC ?
			   RODP_CNT_RX_DROP_ICRC : RODP_CNT_RX_DROP_HDR);
		goto out_free;
	}
	if (rcore_pkt_parse(skb->data, skb->len, &rx.pkt) ||
	    (rx.pkt.bth.opcode >> 5) != RCORE_TR_RC ||
	    rodp_is_response(rx.pkt.bth.opcode) != (side == RODP_REQ)) {
		rodp_count(rdev, RODP_CNT_RX_DROP_HDR);
		goto out_free;
	}
	rx.payload = skb->data + rx.pkt.hdr_len;

	/* RC: only the connected peer may talk to this QP. */
	if (!rodp_qp_from_peer(qp, skb)) {
		rodp_count(rdev, RODP_CNT_RX_DROP_STATE);
		goto out_free;
	}

	if (rodp_is_response(rx.pkt.bth.opcode)) {
		if (qp->state != IB_QPS_RTS && qp->state != IB_QPS_SQD) {
			rodp_count(rdev, RODP_CNT_RX_DROP_STATE);
			goto out_free;
		}
		rodp_comp_rx(qp, &rx);
	} else {
		if (qp->state != IB_QPS_RTR && qp->state != IB_QPS_RTS &&
		    qp->state != IB_QPS_SQD) {
			rodp_count(rdev, RODP_CNT_RX_DROP_STATE);
			goto out_free;
		}
		rodp_resp_rx(qp, &rx);
	}
out_free:
	consume_skb(skb);
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

	if ((qp->state != IB_QPS_RTS && qp->state != IB_QPS_SQD) ||
	    qp->req.una_psn == qp->req.next_psn || qp->rnr_wait) {
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

/* Take in up to 64 of a side's received packets. */
static void rodp_eng_rx(struct rodp_eng *e)
{
	struct sk_buff *skb;
	int n;

	for (n = 0; n < 64 && (skb = skb_dequeue(&e->rxq)); n++)
		rodp_qp_rx_one(e->qp, e->side, skb);
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
	if (test_and_clear_bit(RODP_QPF_TIMEOUT, &qp->flags))
		rodp_qp_timer_fired(qp);
	if (test_and_clear_bit(RODP_QPF_RNR_DONE, &qp->flags))
		qp->rnr_wait = false;

	if (READ_ONCE(qp->state) == IB_QPS_ERR) {
		rodp_eng_flush(e);
		skb_queue_purge(&e->rxq);
		return false;
	}
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
	if (READ_ONCE(qp->state) == IB_QPS_ERR) {
		rodp_eng_flush(e);
		skb_queue_purge(&e->rxq);
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
	return busy || test_bit(bit, &e->qp->flags);
}

/* Unlock both sides, as modify/query do: a round wanted meanwhile runs. */
static void rodp_qp_unlock_both(struct rodp_qp *qp)
{
	mutex_unlock(&qp->eng[RODP_RESP].lock);
	mutex_unlock(&qp->eng[RODP_REQ].lock);
	rodp_eng_unlocked(&qp->eng[RODP_REQ]);
	rodp_eng_unlocked(&qp->eng[RODP_RESP]);
}

static void rodp_qp_lock_both(struct rodp_qp *qp)
{
	mutex_lock(&qp->eng[RODP_REQ].lock);
	mutex_lock_nested(&qp->eng[RODP_RESP].lock, SINGLE_DEPTH_NESTING);
}

static void rodp_eng_work(struct work_struct *work)
{
	struct rodp_eng *e = container_of(work, struct rodp_eng, work);

	/* A side busy in another task gets the round from that task. */
	if (!rodp_eng_want_round(e))
		return;
	WRITE_ONCE(e->owner, current);
	while (rodp_eng_round(e))
		cond_resched();
	WRITE_ONCE(e->owner, NULL);
	mutex_unlock(&e->lock);
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
	int rounds = 4;
	bool busy;

	if (test_bit(RODP_QPF_DYING, &e->qp->flags))
		return;
	if (!rodp_eng_want_round(e))
		return;
	e->nested = nested;
	WRITE_ONCE(e->owner, current);
	do {
		busy = rodp_eng_round(e);
	} while (busy && --rounds);
	WRITE_ONCE(e->owner, NULL);
	e->nested = false;
	mutex_unlock(&e->lock);
	if (busy)
		rodp_eng_kick(e);
	else
		rodp_eng_unlocked(e);
}

static void rodp_qp_retry_timer(struct timer_list *t)
{
	struct rodp_qp *qp = from_timer(qp, t, retry_timer);

	set_bit(RODP_QPF_TIMEOUT, &qp->flags);
	rodp_eng_kick(&qp->eng[RODP_REQ]);
}

static void rodp_qp_rnr_timer(struct timer_list *t)
{
	struct rodp_qp *qp = from_timer(qp, t, rnr_timer);

	set_bit(RODP_QPF_RNR_DONE, &qp->flags);
	rodp_eng_kick(&qp->eng[RODP_REQ]);
}

/* ---------------------------------------------------------------------- */
/* Verbs                                                                   */
/* ---------------------------------------------------------------------- */

static u32 rodp_sq_slot_size(u32 sge, u32 inl)
{
	return sizeof(struct rodp_swqe) +
	       ALIGN(max_t(u32, sge * sizeof(struct rodp_sge), inl), 64);
}

/* Allocate a ring of @wr slots (at least) and offer it to mmap(). */
static int rodp_wq_alloc(struct rodp_wq *wq, u32 wr, u32 slot_size,
			 struct ib_udata *udata)
{
	u32 slots = roundup_pow_of_two(max_t(u32, wr, 1));
	size_t size = PAGE_ALIGN(RODP_RING_HDR_SIZE +
				 (size_t)slots * slot_size);
	struct rodp_mmap_entry *entry;
	int err;

	wq->ring = vmalloc_user(size);
	if (!wq->ring)
		return -ENOMEM;
	wq->log2_slots = ilog2(slots);
	wq->slot_size = slot_size;
	wq->ring->log2_slots = wq->log2_slots;
	wq->ring->slot_size = slot_size;

	wq->copy = kvcalloc(slots, slot_size, GFP_KERNEL);
	if (!wq->copy) {
		err = -ENOMEM;
		goto err_free_ring;
	}

	entry = rodp_mmap_offer(udata, wq->ring, size);
	if (IS_ERR(entry)) {
		err = PTR_ERR(entry);
		goto err_free_copy;
	}
	wq->mmap_entry = entry;
	return 0;

err_free_copy:
	kvfree(wq->copy);
	wq->copy = NULL;
err_free_ring:
	vfree(wq->ring);
	wq->ring = NULL;
	return err;
}

/* Undo rodp_wq_alloc(): the mmap entry frees the ring once unmapped. */
static void rodp_wq_free(struct rodp_wq *wq)
{
	if (wq->mmap_entry)
		rdma_user_mmap_entry_remove(&wq->mmap_entry->rdma);
	kvfree(wq->copy);
	wq->mmap_entry = NULL;
	wq->ring = NULL;
	wq->copy = NULL;
}

static size_t rodp_wq_map_size(const struct rodp_wq *wq)
{
	return PAGE_ALIGN(RODP_RING_HDR_SIZE +
			  ((size_t)wq->slot_size << wq->log2_slots));
}

static int rodp_create_qp(struct ib_qp *ibqp, struct ib_qp_init_attr *init,
			  struct ib_udata *udata)
{
	struct rodp_dev *rdev = to_rdev(ibqp->device);
	struct rodp_qp *qp = to_rqp(ibqp);
	struct rodp_create_qp_resp resp = {};
	struct rodp_create_qp_cmd cmd = {};
	struct ib_qp_cap *cap = &init->cap;
	u32 qpn, sge, inl;
	int err, i;

	if (init->qp_type != IB_QPT_RC)
		return -EOPNOTSUPP;
	if (!udata)
		return -EOPNOTSUPP;	/* kernel ULPs: not yet */
	if (init->srq || init->create_flags || init->rwq_ind_tbl)
		return -EOPNOTSUPP;
	if (cap->max_send_wr > RODP_MAX_QP_WR ||
	    cap->max_recv_wr > RODP_MAX_QP_WR ||
	    cap->max_send_sge > RODP_MAX_SGE ||
	    cap->max_recv_sge > RODP_MAX_SGE ||
	    cap->max_inline_data > RODP_MAX_INLINE)
		return -EINVAL;
	if (udata->outlen < sizeof(resp))
		return -EINVAL;
	err = ib_copy_from_udata(&cmd, udata, min(udata->inlen, sizeof(cmd)));
	if (err)
		return err;
	if (cmd.reserved)
		return -EOPNOTSUPP;

	qp->rdev = rdev;
	refcount_set(&qp->users, 1);
	init_completion(&qp->released);
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
	qp->state = IB_QPS_RESET;
	qp->sq_sig_all = init->sq_sig_type == IB_SIGNAL_ALL_WR;

	sge = max_t(u32, cap->max_send_sge, 1);
	inl = cap->max_inline_data;
	err = rodp_wq_alloc(&qp->sq, cap->max_send_wr,
			    rodp_sq_slot_size(sge, inl), udata);
	if (err)
		return err;
	qp->sq_info = kvcalloc(1u << qp->sq.log2_slots, sizeof(*qp->sq_info),
			       GFP_KERNEL);
	if (!qp->sq_info) {
		err = -ENOMEM;
		goto err_free_sq;
	}
	qp->max_send_sge = (qp->sq.slot_size - sizeof(struct rodp_swqe)) /
			   sizeof(struct rodp_sge);
	qp->max_send_sge = min_t(u32, qp->max_send_sge, RODP_MAX_SGE);
	qp->max_inline = min_t(u32, qp->sq.slot_size -
			       sizeof(struct rodp_swqe), RODP_MAX_INLINE);

	sge = max_t(u32, cap->max_recv_sge, 1);
	err = rodp_wq_alloc(&qp->rq, cap->max_recv_wr,
			    sizeof(struct rodp_rwqe) +
			    sge * sizeof(struct rodp_sge), udata);
	if (err)
		goto err_free_info;
	qp->max_recv_sge = sge;

	err = dst_cache_init(&qp->dst_cache, GFP_KERNEL);
	if (err)
		goto err_free_rq;

	/*
	 * Reserve a QP number; the receive path finds nothing there (a
	 * reserved entry loads as NULL) until the QP is published, the
	 * last step, when nothing can fail any more.
	 */
	err = xa_alloc_cyclic(&rdev->qp_xa, &qpn, NULL,
			      XA_LIMIT(RODP_MIN_QPN, RODP_MAX_QPN),
			      &rdev->qp_next, GFP_KERNEL);
	if (err < 0) {
		err = err == -EBUSY ? -ENOMEM : err;
		goto err_dst_cache;
	}
	ibqp->qp_num = qpn;

	cap->max_send_wr = 1u << qp->sq.log2_slots;
	cap->max_recv_wr = 1u << qp->rq.log2_slots;
	cap->max_send_sge = qp->max_send_sge;
	cap->max_recv_sge = qp->max_recv_sge;
	cap->max_inline_data = qp->max_inline;
	qp->attr.cap = *cap;

	resp.sq_mmap_offset = rdma_user_mmap_get_offset(&qp->sq.mmap_entry->rdma);
	resp.sq_mmap_size = rodp_wq_map_size(&qp->sq);
	resp.sq_log2_slots = qp->sq.log2_slots;
	resp.sq_slot_size = qp->sq.slot_size;
	resp.rq_mmap_offset = rdma_user_mmap_get_offset(&qp->rq.mmap_entry->rdma);
	resp.rq_mmap_size = rodp_wq_map_size(&qp->rq);
	resp.rq_log2_slots = qp->rq.log2_slots;
	resp.rq_slot_size = qp->rq.slot_size;
	err = ib_copy_to_udata(udata, &resp, sizeof(resp));
	if (err)
		goto err_release_qpn;

	/* The window the old publish-first order left open, for the tests. */
	if (rodp_inject(RODP_INJ_CREATE_QP)) {
		rodp_inject_sleep(RODP_INJ_CREATE_QP);
		err = -ENOMEM;
		goto err_release_qpn;
	}

	/* Publish: storing over the reserved entry allocates nothing. */
	err = xa_err(xa_store(&rdev->qp_xa, qpn, qp, GFP_KERNEL));
	if (err)
		goto err_release_qpn;
	return 0;

err_release_qpn:
	xa_erase(&rdev->qp_xa, qpn);
err_dst_cache:
	dst_cache_destroy(&qp->dst_cache);
err_free_rq:
	rodp_wq_free(&qp->rq);
err_free_info:
	kvfree(qp->sq_info);
err_free_sq:
	rodp_wq_free(&qp->sq);
	return err;
}

static int rodp_destroy_qp(struct ib_qp *ibqp, struct ib_udata *udata)
{
	struct rodp_qp *qp = to_rqp(ibqp);
	struct rodp_dev *rdev = qp->rdev;
	int i;

	/* No new lookups, then no lookup left in flight. */
	xa_erase(&rdev->qp_xa, ibqp->qp_num);
	rodp_qp_put(qp);
	wait_for_completion(&qp->released);
	synchronize_rcu();

	/*
	 * No kick queues a work item once DYING is set and seen, but a kick
	 * that tested the bit just before may still queue one: a timer, or
	 * one side's work kicking the other (rodp_qp_error()).  So: the
	 * timers, then the requester's work, the responder's (which may have
	 * kicked the requester) and the requester's again; every work that
	 * runs after that started with DYING visible and kicks nothing, but
	 * may have armed a timer.
	 */
	set_bit(RODP_QPF_DYING, &qp->flags);
	smp_mb__after_atomic();	/* DYING before the kickers' tests */
	del_timer_sync(&qp->retry_timer);
	del_timer_sync(&qp->rnr_timer);
	cancel_work_sync(&qp->eng[RODP_REQ].work);
	cancel_work_sync(&qp->eng[RODP_RESP].work);
	cancel_work_sync(&qp->eng[RODP_REQ].work);
	del_timer_sync(&qp->retry_timer);
	del_timer_sync(&qp->rnr_timer);

	rodp_qp_lock_both(qp);
	for (i = 0; i < RODP_SIDES; i++)
		skb_queue_purge(&qp->eng[i].rxq);
	rodp_resp_reset(qp);
	mutex_unlock(&qp->eng[RODP_RESP].lock);
	mutex_unlock(&qp->eng[RODP_REQ].lock);

	dst_cache_destroy(&qp->dst_cache);
	rodp_wq_free(&qp->rq);
	kvfree(qp->sq_info);
	rodp_wq_free(&qp->sq);
	for (i = 0; i < RODP_SIDES; i++)
		mutex_destroy(&qp->eng[i].lock);
	return 0;
}

/*
 * Take the path of an address vector: RoCEv2 over IPv4 (IPv4-mapped
 * GIDs) or IPv6.  Both GIDs must be of the same family.
 */
static int rodp_qp_set_av(struct rodp_qp *qp, struct rdma_ah_attr *ah)
{
	const struct ib_global_route *grh;
	const struct ib_gid_attr *sgid_attr;
	struct in6_addr sgid, dgid;
	struct net_device *ndev;

	if (!(rdma_ah_get_ah_flags(ah) & IB_AH_GRH))
		return -EINVAL;
	grh = rdma_ah_read_grh(ah);
	sgid_attr = grh->sgid_attr;
	if (!sgid_attr || sgid_attr->gid_type != IB_GID_TYPE_ROCE_UDP_ENCAP)
		return -EINVAL;
	memcpy(&sgid, &sgid_attr->gid, sizeof(sgid));
	memcpy(&dgid, &grh->dgid, sizeof(dgid));
	if (ipv6_addr_v4mapped(&sgid) != ipv6_addr_v4mapped(&dgid))
		return -EINVAL;
	if (ipv6_addr_v4mapped(&sgid)) {
		qp->ipv6 = false;
		qp->saddr = sgid.s6_addr32[3];
		qp->daddr = dgid.s6_addr32[3];
	} else {
		if (!IS_ENABLED(CONFIG_IPV6))
			return -EAFNOSUPPORT;
		if (ipv6_addr_any(&dgid) || ipv6_addr_is_multicast(&dgid))
			return -EINVAL;
		qp->ipv6 = true;
		qp->saddr6 = sgid;
		qp->daddr6 = dgid;
	}
	/* A GID of a VLAN or other upper device routes through that. */
	rcu_read_lock();
	ndev = rdma_read_gid_attr_ndev_rcu(sgid_attr);
	qp->oif = IS_ERR(ndev) ? qp->rdev->ndev->ifindex : ndev->ifindex;
	rcu_read_unlock();
	qp->tos = grh->traffic_class;
	qp->ttl = grh->hop_limit ? grh->hop_limit : 64;
	dst_cache_reset(&qp->dst_cache);

	qp->attr.ah_attr = *ah;
	qp->attr.ah_attr.grh.sgid_attr = NULL;
	return 0;
}

/*
 * The remote rights a QP grants.  Only the remote bits of the QP's access
 * flags mean anything to a QP; programs that pass their MR's flags (local
 * write, on-demand, ...) get them kept and ignored, as on rxe and mlx5.
 */
static unsigned int rodp_rc_access(int qp_access_flags)
{
	unsigned int acc = 0;

	if (qp_access_flags & IB_ACCESS_REMOTE_WRITE)
		acc |= RCORE_RC_ACC_WRITE;
	if (qp_access_flags & IB_ACCESS_REMOTE_READ)
		acc |= RCORE_RC_ACC_READ;
	if (qp_access_flags & IB_ACCESS_REMOTE_ATOMIC)
		acc |= RCORE_RC_ACC_ATOMIC;
	return acc;
}

static int rodp_qp_check_attr(struct rodp_qp *qp, struct ib_qp_attr *attr,
			      int mask, enum ib_mtu active_mtu)
{
	if ((mask & IB_QP_PORT) && attr->port_num != 1)
		return -EINVAL;
	if ((mask & IB_QP_PKEY_INDEX) && attr->pkey_index)
		return -EINVAL;
	if ((mask & IB_QP_PATH_MTU) &&
	    (attr->path_mtu < IB_MTU_256 || attr->path_mtu > active_mtu))
		return -EINVAL;
	if ((mask & IB_QP_MAX_QP_RD_ATOMIC) &&
	    attr->max_rd_atomic > RODP_MAX_RD_ATOMIC)
		return -EINVAL;
	if ((mask & IB_QP_MAX_DEST_RD_ATOMIC) &&
	    attr->max_dest_rd_atomic > RODP_MAX_RD_ATOMIC)
		return -EINVAL;
	if ((mask & IB_QP_RETRY_CNT) && attr->retry_cnt > 7)
		return -EINVAL;
	if ((mask & IB_QP_RNR_RETRY) && attr->rnr_retry > 7)
		return -EINVAL;
	if ((mask & IB_QP_TIMEOUT) && attr->timeout > 31)
		return -EINVAL;
	if ((mask & IB_QP_MIN_RNR_TIMER) && attr->min_rnr_timer > 31)
		return -EINVAL;
	if ((mask & IB_QP_SQ_PSN) && attr->sq_psn > RCORE_PSN_MAX)
		return -EINVAL;
	if ((mask & IB_QP_RQ_PSN) && attr->rq_psn > RCORE_PSN_MAX)
		return -EINVAL;
	if ((mask & IB_QP_DEST_QPN) && attr->dest_qp_num > RODP_MAX_QPN)
		return -EINVAL;
	return 0;
}

/* An empty ring at the user's producer index (RESET). */
static void rodp_wq_restart(struct rodp_wq *wq)
{
	wq->cons = rcore_load_acquire_u32(&wq->ring->prod);
	wq->head = wq->cons;
	rcore_store_release_u32(&wq->ring->cons, wq->cons);
}

/* Back to RESET: forget all transport state and posted WQEs. */
static void rodp_qp_reset(struct rodp_qp *qp)
{
	lockdep_assert_held(&qp->eng[RODP_REQ].lock);
	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	rodp_resp_reset(qp);
	skb_queue_purge(&qp->eng[RODP_REQ].rxq);
	skb_queue_purge(&qp->eng[RODP_RESP].rxq);
	del_timer(&qp->retry_timer);
	qp->retry_armed = false;
	del_timer(&qp->rnr_timer);
	clear_bit(RODP_QPF_TIMEOUT, &qp->flags);
	clear_bit(RODP_QPF_RNR_DONE, &qp->flags);
	/*
	 * Posted WQEs are dropped without completions, as IBA has it: each
	 * ring starts again empty at the user's producer index, which the
	 * provider takes back after the modify (whatever it holds: the
	 * kernel's indexes only ever move forward from here, each walk
	 * bounded by the ring).  Every send position restarts there too,
	 * and no bookkeeping of the old WQEs survives.
	 */
	rodp_wq_restart(&qp->sq);
	rodp_wq_restart(&qp->rq);
	rodp_qp_set_ring_error(qp, false);
	memset(qp->sq_info, 0, sizeof(*qp->sq_info) << qp->sq.log2_slots);
	qp->send_idx = qp->sq.cons;
	qp->send_pkt = 0;
	qp->since_ackreq = 0;
	qp->rd_atomic_out = 0;
	qp->rnr_wait = false;
	memset(&qp->req, 0, sizeof(qp->req));
	memset(&qp->resp, 0, sizeof(qp->resp));
}

static int rodp_modify_qp(struct ib_qp *ibqp, struct ib_qp_attr *attr,
			  int mask, struct ib_udata *udata)
{
	struct rodp_qp *qp = to_rqp(ibqp);
	struct ib_port_attr pattr = {};
	enum ib_qp_state cur, next;
	u32 mtu;
	int err;

	if (mask & ~IB_QP_ATTR_STANDARD_BITS)
		return -EOPNOTSUPP;
	if (udata && udata->inlen &&
	    !ib_is_udata_cleared(udata, 0, udata->inlen))
		return -EOPNOTSUPP;
	/* Before the QP's locks: the port query may take rtnl_lock. */
	if (mask & IB_QP_PATH_MTU) {
		err = ib_query_port(&qp->rdev->ibdev, 1, &pattr);
		if (err)
			return err;
	}

	rodp_qp_lock_both(qp);
	cur = (mask & IB_QP_CUR_STATE) ? attr->cur_qp_state : qp->state;
	next = (mask & IB_QP_STATE) ? attr->qp_state : cur;
	err = -EINVAL;
	if (cur != qp->state && !(cur == IB_QPS_SQE && qp->state == IB_QPS_RTS))
		goto out_unlock;
	if (!ib_modify_qp_is_ok(cur, next, IB_QPT_RC, mask))
		goto out_unlock;
	err = rodp_qp_check_attr(qp, attr, mask, pattr.active_mtu);
	if (err)
		goto out_unlock;
	if (mask & IB_QP_AV) {
		err = rodp_qp_set_av(qp, &attr->ah_attr);
		if (err)
			goto out_unlock;
	}

	if (mask & IB_QP_ACCESS_FLAGS)
		qp->attr.qp_access_flags = attr->qp_access_flags;
	if (mask & IB_QP_PATH_MTU)
		qp->attr.path_mtu = attr->path_mtu;
	if (mask & IB_QP_TIMEOUT)
		qp->attr.timeout = attr->timeout;
	if (mask & IB_QP_RETRY_CNT)
		qp->attr.retry_cnt = attr->retry_cnt;
	if (mask & IB_QP_RNR_RETRY)
		qp->attr.rnr_retry = attr->rnr_retry;
	if (mask & IB_QP_RQ_PSN)
		qp->attr.rq_psn = attr->rq_psn;
	if (mask & IB_QP_SQ_PSN)
		qp->attr.sq_psn = attr->sq_psn;
	if (mask & IB_QP_MAX_QP_RD_ATOMIC)
		qp->attr.max_rd_atomic = attr->max_rd_atomic;
	if (mask & IB_QP_MAX_DEST_RD_ATOMIC)
		qp->attr.max_dest_rd_atomic = attr->max_dest_rd_atomic;
	if (mask & IB_QP_MIN_RNR_TIMER)
		qp->attr.min_rnr_timer = attr->min_rnr_timer;
	if (mask & IB_QP_DEST_QPN)
		qp->attr.dest_qp_num = attr->dest_qp_num;
	if (mask & IB_QP_PORT)
		qp->attr.port_num = attr->port_num;
	if (mask & IB_QP_EN_SQD_ASYNC_NOTIFY)
		qp->attr.en_sqd_async_notify = attr->en_sqd_async_notify;
	qp->attr_mask |= mask;

	mtu = ib_mtu_enum_to_int(qp->attr.path_mtu ? qp->attr.path_mtu :
				 IB_MTU_256);
	if (mask & (IB_QP_ACCESS_FLAGS | IB_QP_PATH_MTU |
		    IB_QP_MAX_DEST_RD_ATOMIC)) {
		unsigned int acc = rodp_rc_access(qp->attr.qp_access_flags);

		if (!qp->attr.max_dest_rd_atomic)
			acc &= ~(RCORE_RC_ACC_READ | RCORE_RC_ACC_ATOMIC);
		qp->resp.access = acc;
		qp->resp.mtu = mtu;
		qp->req.mtu = mtu;
	}

	if (next == cur)
		goto out_ok;
	switch (next) {
	case IB_QPS_RESET:
		rodp_qp_reset(qp);
		break;
	case IB_QPS_RTR:
		if (cur == IB_QPS_INIT) {
			unsigned int acc =
				rodp_rc_access(qp->attr.qp_access_flags);

			if (!qp->attr.max_dest_rd_atomic)
				acc &= ~(RCORE_RC_ACC_READ |
					 RCORE_RC_ACC_ATOMIC);
			rcore_rc_resp_init(&qp->resp, qp->attr.rq_psn, mtu,
					   acc, 0);
		}
		break;
	case IB_QPS_RTS:
		if (cur == IB_QPS_RTR)
			rcore_rc_req_init(&qp->req, qp->attr.sq_psn, mtu,
					  qp->attr.retry_cnt,
					  qp->attr.rnr_retry);
		qp->sq_draining = false;
		break;
	case IB_QPS_SQD:
		qp->sq_draining = true;
		break;
	case IB_QPS_ERR:
		qp->state = next;
		rodp_qp_error(qp, BIT(RODP_REQ) | BIT(RODP_RESP));
		goto out_ok;
	default:
		break;
	}
	qp->state = next;
out_ok:
	err = 0;
out_unlock:
	rodp_qp_unlock_both(qp);
	if (!err)
		rodp_qp_kick(qp);
	return err;
}

static int rodp_query_qp(struct ib_qp *ibqp, struct ib_qp_attr *attr,
			 int mask, struct ib_qp_init_attr *init)
{
	struct rodp_qp *qp = to_rqp(ibqp);

	rodp_qp_lock_both(qp);
	*attr = qp->attr;
	attr->qp_state = qp->state;
	attr->cur_qp_state = qp->state;
	attr->sq_draining = qp->state == IB_QPS_SQD && qp->sq_draining;
	attr->port_num = 1;
	attr->path_mig_state = IB_MIG_MIGRATED;
	if (qp->state >= IB_QPS_RTR && qp->state != IB_QPS_ERR)
		attr->rq_psn = qp->resp.epsn;
	if (qp->state >= IB_QPS_RTS && qp->state != IB_QPS_ERR)
		attr->sq_psn = qp->req.next_psn;
	memset(init, 0, sizeof(*init));
	init->qp_type = IB_QPT_RC;
	init->send_cq = ibqp->send_cq;
	init->recv_cq = ibqp->recv_cq;
	init->cap = qp->attr.cap;
	init->sq_sig_type = qp->sq_sig_all ? IB_SIGNAL_ALL_WR :
					     IB_SIGNAL_REQ_WR;
	rodp_qp_unlock_both(qp);
	return 0;
}

/*
 * The doorbells: post_send and post_recv commands without work requests.
 * WQEs come from the shared rings, never from here.  The provider rings
 * the receive doorbell only in the error state, for the flush.
 */
static int rodp_post_send(struct ib_qp *ibqp, const struct ib_send_wr *wr,
			  const struct ib_send_wr **bad_wr)
{
	if (wr) {
		*bad_wr = wr;
		return -EOPNOTSUPP;
	}
	rodp_eng_run_inline(&to_rqp(ibqp)->eng[RODP_REQ], false);
	return 0;
}

static int rodp_post_recv(struct ib_qp *ibqp, const struct ib_recv_wr *wr,
			  const struct ib_recv_wr **bad_wr)
{
	if (wr) {
		*bad_wr = wr;
		return -EOPNOTSUPP;
	}
	rodp_eng_kick(&to_rqp(ibqp)->eng[RODP_RESP]);
	return 0;
}

/*
 * `rdma resource show qp -dd`: the transport's state, for finding out why
 * a QP does not move.  Read without the QP's locks (one may be held for
 * a long time, by a fault for one), so the values are a snapshot that may
 * be torn; "req_owner" and "resp_owner" name the tasks running the two
 * sides at that moment.
 */
static int rodp_fill_res_qp_entry(struct sk_buff *msg, struct ib_qp *ibqp)
{
	struct rodp_qp *qp = to_rqp(ibqp);
	struct rodp_eng *req = &qp->eng[RODP_REQ];
	struct rodp_eng *resp = &qp->eng[RODP_RESP];
	struct task_struct *req_owner = READ_ONCE(req->owner);
	struct task_struct *resp_owner = READ_ONCE(resp->owner);
	struct {
		const char *name;
		u32 val;
	} v[] = {
		{ "state", READ_ONCE(qp->state) },
		{ "flags", READ_ONCE(qp->flags) },
		{ "req_locked", mutex_is_locked(&req->lock) },
		{ "req_owner", req_owner ? task_pid_nr(req_owner) : 0 },
		{ "req_rxq", skb_queue_len(&req->rxq) },
		{ "resp_locked", mutex_is_locked(&resp->lock) },
		{ "resp_owner", resp_owner ? task_pid_nr(resp_owner) : 0 },
		{ "resp_rxq", skb_queue_len(&resp->rxq) },
		{ "sq_prod", rodp_wq_prod(&qp->sq) },
		{ "sq_head", READ_ONCE(qp->sq.head) },
		{ "sq_cons", READ_ONCE(qp->sq.cons) },
		{ "send_idx", READ_ONCE(qp->send_idx) },
		{ "send_pkt", READ_ONCE(qp->send_pkt) },
		{ "una_psn", READ_ONCE(qp->req.una_psn) },
		{ "next_psn", READ_ONCE(qp->req.next_psn) },
		{ "retry_left", READ_ONCE(qp->req.retry_left) },
		{ "rnr_left", READ_ONCE(qp->req.rnr_left) },
		{ "rnr_wait", READ_ONCE(qp->rnr_wait) },
		{ "rd_atomic_out", READ_ONCE(qp->rd_atomic_out) },
		{ "retry_timer", timer_pending(&qp->retry_timer) },
		{ "retry_armed", READ_ONCE(qp->retry_armed) },
		{ "rnr_timer", timer_pending(&qp->rnr_timer) },
		{ "rq_prod", rodp_wq_prod(&qp->rq) },
		{ "rq_cons", READ_ONCE(qp->rq.cons) },
		{ "epsn", READ_ONCE(qp->resp.epsn) },
		{ "msn", READ_ONCE(qp->resp.msn) },
		{ "rd_jobs", READ_ONCE(qp->rd_head) - READ_ONCE(qp->rd_tail) },
		{ "ack_due", READ_ONCE(qp->resp_ack_due) },
		{ "nak_due", READ_ONCE(qp->resp_nak_due) },
		{ "nak_fatal", READ_ONCE(qp->resp_fatal) },
	};
	struct nlattr *table;
	int i;

	table = nla_nest_start_noflag(msg, RDMA_NLDEV_ATTR_DRIVER);
	if (!table)
		return -EMSGSIZE;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		if (rdma_nl_put_driver_u32(msg, v[i].name, v[i].val)) {
			nla_nest_cancel(msg, table);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(msg, table);
	return 0;
}

const struct ib_device_ops rodp_qp_ops = {
	.fill_res_qp_entry = rodp_fill_res_qp_entry,
	.create_qp = rodp_create_qp,
	.destroy_qp = rodp_destroy_qp,
	.modify_qp = rodp_modify_qp,
	.query_qp = rodp_query_qp,
	.post_send = rodp_post_send,
	.post_recv = rodp_post_recv,

	INIT_RDMA_OBJ_SIZE(ib_qp, rodp_qp, ibqp),
};
