// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: kernel consumers' QPs and SRQs (ib_create_qp() and
 * ib_create_srq() from the kernel, with no udata).
 *
 * They have the rings a user QP has (struct rodp_wq, same slots), in
 * kernel memory that nobody maps: here the kernel verbs are the
 * producer.  post_send, post_recv and post_srq_recv turn each ib_send_wr
 * or ib_recv_wr into a struct rodp_swqe or rodp_rwqe slot, exactly as
 * the provider fills them, under a producer spinlock of the queue, then
 * publish the producer index.  The transport reads the rings as it reads
 * a user's: nothing in rodp_req.c, rodp_resp.c or rodp_ud.c knows who
 * posted.
 *
 * Kernel consumers post in any context: ib_mad under a spinlock with
 * interrupts off, ULPs from their softirq CQ handlers.  So a post never
 * runs the transport in place (it sleeps: a mutex, faults): it queues
 * the side's work item (rodp_eng_kick()).  A QP in the error state takes
 * posts too, and flushes them: ib_drain_qp() posts its marker WRs then.
 *
 * SGE addresses are kernel virtual addresses (rodp has no DMA device:
 * ib_dma_map_*() give virtual addresses), under the PD's local_dma_lkey
 * (the DMA MR ib_alloc_pd() asks for) or another DMA MR's key.
 */

#include <rdma/ib_verbs.h>

#include <rdma/rodp-abi.h>
#include "rodp.h"

static_assert(IB_SEND_FENCE == RODP_SEND_FENCE &&
	      IB_SEND_SIGNALED == RODP_SEND_SIGNALED &&
	      IB_SEND_SOLICITED == RODP_SEND_SOLICITED &&
	      IB_SEND_INLINE == RODP_SEND_INLINE,
	      "IB_SEND_* and RODP_SEND_* differ");

#define RODP_KSEND_FLAGS	(IB_SEND_FENCE | IB_SEND_SIGNALED | \
				 IB_SEND_SOLICITED | IB_SEND_INLINE)

/**
 * rodp_kqp_init - set up what a QP needs for kernel consumers' posts
 * @qp: the queue pair being created (user or kernel)
 */
void rodp_kqp_init(struct rodp_qp *qp)
{
	spin_lock_init(&qp->sq_post_lock);
	spin_lock_init(&qp->rq_post_lock);
}

/**
 * rodp_kwc_qp - the QP a kernel consumer's completion names
 * @rdev: the device
 * @qpn: the QP number of the completion
 *
 * Any context.  The consumer keeps the QP until it has its completions.
 *
 * Return: the RDMA core's QP, or NULL when there is none of that number.
 */
struct ib_qp *rodp_kwc_qp(struct rodp_dev *rdev, u32 qpn)
{
	struct rodp_qp *qp;

	rcu_read_lock();
	qp = xa_load(&rdev->qp_xa, qpn);
	rcu_read_unlock();
	return qp ? &qp->ibqp : NULL;
}

/* Is there a free slot in a kernel ring?  The producer lock is held. */
static bool rodp_kwq_full(struct rodp_wq *wq)
{
	u32 cons = rcore_load_acquire_u32(&wq->ring->cons);

	return rcore_ring_count(wq->ring->prod, cons) >= (1u << wq->log2_slots);
}

/* Publish what was posted: the consumer reads the slots after this. */
static void rodp_kwq_publish(struct rodp_wq *wq, u32 prod)
{
	rcore_store_release_u32(&wq->ring->prod, prod);
}

/* IB_WR_* to the ring's opcodes; -EINVAL for what rodp does not do. */
static int rodp_kwr_opcode(enum ib_wr_opcode op)
{
	switch (op) {
	case IB_WR_RDMA_WRITE:
		return RODP_WR_RDMA_WRITE;
	case IB_WR_RDMA_WRITE_WITH_IMM:
		return RODP_WR_RDMA_WRITE_WITH_IMM;
	case IB_WR_SEND:
		return RODP_WR_SEND;
	case IB_WR_SEND_WITH_IMM:
		return RODP_WR_SEND_WITH_IMM;
	case IB_WR_RDMA_READ:
		return RODP_WR_RDMA_READ;
	case IB_WR_ATOMIC_CMP_AND_SWP:
		return RODP_WR_ATOMIC_CMP_AND_SWP;
	case IB_WR_ATOMIC_FETCH_AND_ADD:
		return RODP_WR_ATOMIC_FETCH_AND_ADD;
	case IB_WR_LOCAL_INV:
		return RODP_WR_LOCAL_INV;
	case IB_WR_SEND_WITH_INV:
		return RODP_WR_SEND_WITH_INV;
	case IB_WR_REG_MR:
		return RODP_WR_REG_MR;
	default:
		return -EINVAL;
	}
}

/* May a QP of this type carry @op?  (The transport checks again.) */
static bool rodp_kwr_type_ok(const struct rodp_qp *qp, int op)
{
	switch (qp->ibqp.qp_type) {
	case IB_QPT_UD:
	case IB_QPT_GSI:
		return op == RODP_WR_SEND || op == RODP_WR_SEND_WITH_IMM;
	case IB_QPT_UC:
		return op != RODP_WR_RDMA_READ &&
		       op != RODP_WR_ATOMIC_CMP_AND_SWP &&
		       op != RODP_WR_ATOMIC_FETCH_AND_ADD;
	default:
		return true;
	}
}

/* Gather an inline WR's data into its slot: SGE addresses are kernel's. */
static int rodp_kwr_inline(struct rodp_qp *qp, const struct ib_send_wr *wr,
			   struct rodp_swqe *w)
{
	u8 *p = (u8 *)(w + 1);
	u32 total = 0;
	int i;

	for (i = 0; i < wr->num_sge; i++) {
		const struct ib_sge *sge = &wr->sg_list[i];

		if (sge->length > qp->max_inline - total)
			return -EINVAL;
		memcpy(p + total, (void *)(uintptr_t)sge->addr, sge->length);
		total += sge->length;
	}
	w->inline_len = total;
	w->num_sge = 0;
	return 0;
}

/* Fill send WQE slot @w from @wr.  The QP's send producer lock is held. */
static int rodp_kwr_to_swqe(struct rodp_qp *qp, const struct ib_send_wr *wr,
			    struct rodp_swqe *w, bool in_error)
{
	struct rodp_sge *sge = (struct rodp_sge *)(w + 1);
	int op, i;

	lockdep_assert_held(&qp->sq_post_lock);

	op = rodp_kwr_opcode(wr->opcode);
	if (op < 0)
		return op;
	/* In the error state a WR is only flushed (ib_drain_sq()'s marker). */
	if (!in_error && !rodp_kwr_type_ok(qp, op))
		return -EINVAL;
	if (wr->send_flags & ~RODP_KSEND_FLAGS)
		return -EINVAL;
	if (wr->num_sge < 0 || (u32)wr->num_sge > qp->max_send_sge)
		return -EINVAL;

	memset(w, 0, sizeof(*w));
	w->wr_id = wr->wr_id;
	w->opcode = op;
	w->flags = wr->send_flags & RODP_KSEND_FLAGS;

	/* Fast registration: the WR's MR, key, rights, layout (rodp_frmr.c). */
	if (op == RODP_WR_REG_MR)
		return in_error ? 0 : rodp_frmr_kwr(qp, reg_wr(wr), w);

	switch (op) {
	case RODP_WR_SEND_WITH_IMM:
	case RODP_WR_RDMA_WRITE_WITH_IMM:
		/* Network byte order, as the ring carries it. */
		w->imm_data = (__force u32)wr->ex.imm_data;
		break;
	case RODP_WR_SEND_WITH_INV:
	case RODP_WR_LOCAL_INV:
		w->imm_data = wr->ex.invalidate_rkey;
		break;
	}
	switch (op) {
	case RODP_WR_RDMA_WRITE:
	case RODP_WR_RDMA_WRITE_WITH_IMM:
	case RODP_WR_RDMA_READ:
		w->remote_addr = rdma_wr(wr)->remote_addr;
		w->rkey = rdma_wr(wr)->rkey;
		break;
	case RODP_WR_ATOMIC_CMP_AND_SWP:
	case RODP_WR_ATOMIC_FETCH_AND_ADD:
		w->remote_addr = atomic_wr(wr)->remote_addr;
		w->rkey = atomic_wr(wr)->rkey;
		w->compare_add = atomic_wr(wr)->compare_add;
		w->swap = atomic_wr(wr)->swap;
		break;
	}
	if (op == RODP_WR_LOCAL_INV || op == RODP_WR_RDMA_READ ||
	    op == RODP_WR_ATOMIC_CMP_AND_SWP ||
	    op == RODP_WR_ATOMIC_FETCH_AND_ADD)
		w->flags &= ~RODP_SEND_INLINE;

	if (rodp_qp_is_ud(qp) && !in_error) {
		const struct ib_ud_wr *ud = ud_wr(wr);

		if (!ud->ah || ud->ah->device != qp->ibqp.device)
			return -EINVAL;
		w->dest.ah = rodp_ah_num(ud->ah);
		w->dest.remote_qpn = ud->remote_qpn;
		w->dest.remote_qkey = ud->remote_qkey;
	}

	if (w->flags & RODP_SEND_INLINE)
		return rodp_kwr_inline(qp, wr, w);
	for (i = 0; i < wr->num_sge; i++) {
		sge[i].addr = wr->sg_list[i].addr;
		sge[i].length = wr->sg_list[i].length;
		sge[i].lkey = wr->sg_list[i].lkey;
	}
	w->num_sge = wr->num_sge;
	return 0;
}

/**
 * rodp_kpost_send - post_send of a kernel consumer's QP
 * @qp: the queue pair (its send queue is a kernel ring)
 * @wr: the work requests
 * @bad_wr: set to the first one not posted, on failure
 *
 * Any context: the requester runs in its work item.  Refused (-EINVAL)
 * in RESET, INIT and RTR; in the error state the WRs are flushed.
 *
 * Return: 0, -EINVAL for a malformed or unsupported WR, -ENOMEM when the
 * send queue is full.  The WRs before *@bad_wr are posted.
 */
int rodp_kpost_send(struct rodp_qp *qp, const struct ib_send_wr *wr,
		    const struct ib_send_wr **bad_wr)
{
	struct rodp_wq *wq = &qp->sq;
	enum ib_qp_state state;
	unsigned long flags;
	u32 prod, posted = 0;
	int err = 0;

	state = rodp_qp_state(qp);
	if (state == IB_QPS_RESET || state == IB_QPS_INIT ||
	    state == IB_QPS_RTR) {
		*bad_wr = wr;
		return -EINVAL;
	}

	spin_lock_irqsave(&qp->sq_post_lock, flags);
	prod = wq->ring->prod;
	for (; wr; wr = wr->next) {
		if (rodp_kwq_full(wq)) {
			err = -ENOMEM;
			break;
		}
		err = rodp_kwr_to_swqe(qp, wr, rodp_wq_ring_slot(wq, prod),
				       state == IB_QPS_ERR);
		if (err)
			break;
		prod++;
		posted++;
		rodp_kwq_publish(wq, prod);
	}
	spin_unlock_irqrestore(&qp->sq_post_lock, flags);

	if (posted)
		rodp_eng_kick(&qp->eng[RODP_REQ]);
	if (err)
		*bad_wr = wr;
	return err;
}

/* Fill receive WQE slot @w from @wr; @max_sge: what a slot holds. */
static int rodp_kwr_to_rwqe(const struct ib_recv_wr *wr, struct rodp_rwqe *w,
			    u32 max_sge)
{
	struct rodp_sge *sge = (struct rodp_sge *)(w + 1);
	int i;

	if (wr->num_sge < 0 || (u32)wr->num_sge > max_sge)
		return -EINVAL;
	w->wr_id = wr->wr_id;
	w->num_sge = wr->num_sge;
	w->reserved = 0;
	for (i = 0; i < wr->num_sge; i++) {
		sge[i].addr = wr->sg_list[i].addr;
		sge[i].length = wr->sg_list[i].length;
		sge[i].lkey = wr->sg_list[i].lkey;
	}
	return 0;
}

/*
 * Post receive WRs into a kernel ring under @lock.  Return the number
 * posted; *@err and *@bad_wr say where it stopped.
 */
static u32 rodp_kpost_rwqes(struct rodp_wq *wq, spinlock_t *lock,
			    u32 max_sge, const struct ib_recv_wr *wr,
			    const struct ib_recv_wr **bad_wr, int *err)
{
	unsigned long flags;
	u32 prod, posted = 0;

	*err = 0;
	spin_lock_irqsave(lock, flags);
	prod = wq->ring->prod;
	for (; wr; wr = wr->next) {
		if (rodp_kwq_full(wq)) {
			*err = -ENOMEM;
			break;
		}
		*err = rodp_kwr_to_rwqe(wr, rodp_wq_ring_slot(wq, prod),
					max_sge);
		if (*err)
			break;
		prod++;
		posted++;
		rodp_kwq_publish(wq, prod);
	}
	spin_unlock_irqrestore(lock, flags);
	if (*err)
		*bad_wr = wr;
	return posted;
}

/**
 * rodp_kpost_recv - post_recv of a kernel consumer's QP
 * @qp: the queue pair (its queues are kernel rings)
 * @wr: the work requests
 * @bad_wr: set to the first one not posted, on failure
 *
 * Any context.  The responder takes the WQEs when requests come; in the
 * error state it is kicked to flush them.
 *
 * Return: 0, -EINVAL (RESET, a QP on an SRQ, too many SGEs), -ENOMEM
 * when the receive queue is full.
 */
int rodp_kpost_recv(struct rodp_qp *qp, const struct ib_recv_wr *wr,
		    const struct ib_recv_wr **bad_wr)
{
	int err;

	if (!qp->rq.ring || rodp_qp_state(qp) == IB_QPS_RESET) {
		*bad_wr = wr;
		return -EINVAL;
	}
	if (!rodp_kpost_rwqes(&qp->rq, &qp->rq_post_lock, qp->max_recv_sge,
			      wr, bad_wr, &err))
		return err;
	/*
	 * The error state sets the ring's flag, then flushes what it sees
	 * of prod; we published prod, then read the flag: one of the two
	 * sees the other (rodp_qp_set_ring_error()).
	 */
	smp_mb();
	if (READ_ONCE(qp->rq.ring->flags) & RODP_RING_F_ERROR)
		rodp_eng_kick(&qp->eng[RODP_RESP]);
	return err;
}

/**
 * rodp_kpost_srq_recv - post_srq_recv of a kernel consumer's SRQ
 * @srq: the shared receive queue (a kernel ring)
 * @wr: the work requests
 * @bad_wr: set to the first one not posted, on failure
 *
 * Any context.  The QPs' responders take the WQEs as requests come.
 *
 * Return: 0, -EINVAL (too many SGEs), -EIO (the SRQ is in error),
 * -ENOMEM when the SRQ is full.
 */
int rodp_kpost_srq_recv(struct rodp_srq *srq, const struct ib_recv_wr *wr,
			const struct ib_recv_wr **bad_wr)
{
	int err;

	if (READ_ONCE(srq->wq.ring->flags) & RODP_RING_F_ERROR) {
		*bad_wr = wr;
		return -EIO;
	}
	rodp_kpost_rwqes(&srq->wq, &srq->post_lock, srq->max_sge, wr, bad_wr,
			 &err);
	return err;
}
