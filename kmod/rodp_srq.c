// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: shared receive queues.
 *
 * An SRQ is a ring of receive WQEs (struct rodp_rwqe, as a QP's RQ) that
 * the provider maps and posts into without a system call.  The QPs
 * created on it have no receive queue of their own: their responders
 * take WQEs from the SRQ, concurrently, under the SRQ's lock
 * (rodp_srq_take()).  A WQE is copied into the taking QP's own memory
 * and its slot freed at once, so the ring's consumer index moves as WQEs
 * are taken, while the receives complete later and in any order, each
 * from its QP's copy.  A QP in the error state flushes only the WQE it
 * took; the SRQ's own WQEs stay for the other QPs.
 *
 * Events: IB_EVENT_SRQ_LIMIT_REACHED once the WQEs left drop below the
 * armed limit (which disarms it); IB_EVENT_SRQ_ERR when the SRQ goes into
 * error, and IB_EVENT_QP_LAST_WQE_REACHED for a QP on an SRQ in the
 * error state, once its in-progress receive was flushed.
 *
 * XRC SRQs have numbers too, which the XRCETH of a request names: XRC
 * target QPs look them up (rodp_srq_get()) for each request, under a
 * reference that destroy_srq waits for (rodp_xrc.c).
 *
 * An SRQ goes into error when its ring is found corrupt: a producer
 * index more than a ring ahead of the consumer, which the provider never
 * writes.  Nothing is taken from it any more: each QP that then needs a
 * receive NAKs the request (remote operational error) and goes to the
 * error state.  The ring carries RODP_RING_F_ERROR, so the provider
 * refuses new posts.
 */

#include <linux/log2.h>
#include <rdma/uverbs_ioctl.h>

#include <rdma/rodp-abi.h>
#include "rodp.h"

static_assert(sizeof(struct rodp_srq_mmap_info) == 24,
	      "SRQ mmap info size is ABI");

static u32 rodp_srq_slot_size(u32 max_sge)
{
	return sizeof(struct rodp_rwqe) + max_sge * sizeof(struct rodp_sge);
}

static void rodp_srq_event(struct rodp_srq *srq, enum ib_event_type type)
{
	struct ib_srq *ibsrq = &srq->ibsrq;
	struct ib_event ev = {
		.device = ibsrq->device,
		.element.srq = ibsrq,
		.event = type,
	};

	if (ibsrq->event_handler)
		ibsrq->event_handler(&ev, ibsrq->srq_context);
}

/* Where the SRQ's ring is now, for the provider to map. */
static void rodp_srq_mmap_info(const struct rodp_srq *srq,
			       const struct rodp_wq *wq,
			       struct rodp_srq_mmap_info *mi)
{
	memset(mi, 0, sizeof(*mi));
	mi->mmap_offset = rdma_user_mmap_get_offset(&wq->mmap_entry->rdma);
	mi->mmap_size = rodp_wq_map_size(wq);
	mi->log2_slots = wq->log2_slots;
	mi->slot_size = wq->slot_size;
}

static int rodp_create_srq(struct ib_srq *ibsrq,
			   struct ib_srq_init_attr *init,
			   struct ib_udata *udata)
{
	struct rodp_dev *rdev = to_rdev(ibsrq->device);
	struct rodp_srq *srq = to_rsrq(ibsrq);
	struct rodp_create_srq_resp resp = {};
	struct rodp_create_srq_cmd cmd = {};
	struct ib_srq_attr *attr = &init->attr;
	bool xrc = init->srq_type == IB_SRQT_XRC;
	u32 sge, srqn = 0;
	int err;

	if (init->srq_type != IB_SRQT_BASIC && !xrc)
		return -EOPNOTSUPP;
	if (!attr->max_wr || attr->max_wr > RODP_MAX_SRQ_WR ||
	    attr->max_sge > RODP_MAX_SGE)
		return -EINVAL;
	/*
	 * No udata: a kernel consumer's SRQ (rodp_kverbs.c posts to it);
	 * not an XRC one, whose number nothing in the kernel verbs carries.
	 */
	if (!udata && xrc)
		return -EOPNOTSUPP;
	if (udata) {
		if (udata->outlen < sizeof(resp))
			return -EINVAL;
		err = ib_copy_from_udata(&cmd, udata,
					 min(udata->inlen, sizeof(cmd)));
		if (err)
			return err;
		if (cmd.reserved ||
		    (udata->inlen > sizeof(cmd) &&
		     !ib_is_udata_cleared(udata, sizeof(cmd),
					  udata->inlen - sizeof(cmd))))
			return -EOPNOTSUPP;
	}
	if (atomic_inc_return(&rdev->nsrq) > RODP_MAX_SRQ) {
		err = -ENOMEM;
		goto err_count;
	}

	srq->rdev = rdev;
	spin_lock_init(&srq->lock);
	spin_lock_init(&srq->post_lock);
	refcount_set(&srq->users, 1);
	init_completion(&srq->released);
	sge = max_t(u32, attr->max_sge, 1);
	err = rodp_wq_alloc(&srq->wq, attr->max_wr, rodp_srq_slot_size(sge),
			    udata);
	if (err)
		goto err_count;
	srq->max_sge = sge;
	/* A limit is armed by modify_srq only, never at creation. */
	srq->limit = 0;

	attr->max_wr = 1u << srq->wq.log2_slots;
	attr->max_sge = sge;
	attr->srq_limit = 0;
	if (!udata)
		return 0;

	/*
	 * An XRC SRQ's number is reserved now and published last, once
	 * nothing can fail: until then lookups find nothing there.
	 */
	if (xrc) {
		err = xa_alloc_cyclic(&rdev->srq_xa, &srqn, NULL,
				      XA_LIMIT(1, RODP_MAX_QPN),
				      &rdev->srq_next, GFP_KERNEL);
		if (err < 0) {
			err = err == -EBUSY ? -ENOMEM : err;
			goto err_free_wq;
		}
		ibsrq->ext.xrc.srq_num = srqn;
	}

	rodp_srq_mmap_info(srq, &srq->wq, &resp.mi);
	err = ib_copy_to_udata(udata, &resp, sizeof(resp));
	if (err)
		goto err_release_srqn;
	if (xrc) {
		err = xa_err(xa_store(&rdev->srq_xa, srqn, srq, GFP_KERNEL));
		if (err)
			goto err_release_srqn;
	}
	return 0;

err_release_srqn:
	if (xrc)
		xa_erase(&rdev->srq_xa, srqn);
err_free_wq:
	rodp_wq_free(&srq->wq);
err_count:
	atomic_dec(&rdev->nsrq);
	return err;
}

static int rodp_destroy_srq(struct ib_srq *ibsrq, struct ib_udata *udata)
{
	struct rodp_srq *srq = to_rsrq(ibsrq);

	/*
	 * The RDMA core refuses to destroy an SRQ that a QP still uses;
	 * XRC target QPs use one only for the request they handle: no new
	 * lookups, then none left in flight.
	 */
	if (ibsrq->srq_type == IB_SRQT_XRC) {
		xa_erase(&srq->rdev->srq_xa, ibsrq->ext.xrc.srq_num);
		rodp_srq_put(srq);
		wait_for_completion(&srq->released);
		/*
		 * The core frees the SRQ at once: no lookup may still be
		 * about to take a reference.
		 */
		synchronize_rcu();
	}
	rodp_wq_free(&srq->wq);
	atomic_dec(&srq->rdev->nsrq);
	return 0;
}

/*
 * A resize: a new ring with the WQEs not yet taken carried over, its
 * place written to the provider at @mi_addr before the switch (modify
 * has no response), the old ring let go of (the provider's mapping of it
 * stays valid until it unmaps it).
 */
static int rodp_srq_resize(struct rodp_srq *srq, u32 max_wr, u64 mi_addr,
			   struct ib_udata *udata)
{
	struct rodp_srq_mmap_info mi;
	struct rodp_wq wq = {}, old;
	int err;

	err = rodp_wq_alloc(&wq, max_wr, srq->wq.slot_size, udata);
	if (err)
		return err;
	rodp_srq_mmap_info(srq, &wq, &mi);
	if (copy_to_user(u64_to_user_ptr(mi_addr), &mi, sizeof(mi))) {
		err = -EFAULT;
		goto err_free_wq;
	}

	spin_lock(&srq->lock);
	if (srq->error) {
		err = -EIO;
	} else if (srq->limit > (1u << wq.log2_slots)) {
		err = -EINVAL;
	} else {
		err = rodp_wq_carry(&wq, &srq->wq);
		if (err == -ENOSPC)
			err = -EINVAL;	/* fewer than the WQEs posted */
	}
	if (err) {
		spin_unlock(&srq->lock);
		goto err_free_wq;
	}
	old = srq->wq;
	srq->wq = wq;
	spin_unlock(&srq->lock);

	ibdev_dbg(&srq->rdev->ibdev, "srq: resized to %u slots\n",
		  1u << wq.log2_slots);
	rodp_wq_free(&old);
	return 0;

err_free_wq:
	rodp_wq_free(&wq);
	return err;
}

static int rodp_modify_srq(struct ib_srq *ibsrq, struct ib_srq_attr *attr,
			   enum ib_srq_attr_mask mask, struct ib_udata *udata)
{
	struct rodp_srq *srq = to_rsrq(ibsrq);
	struct rodp_modify_srq_cmd cmd = {};
	bool fire = false;
	u32 prod, left;
	int err;

	if (mask & ~(IB_SRQ_MAX_WR | IB_SRQ_LIMIT))
		return -EOPNOTSUPP;
	/* A kernel consumer's SRQ is not resized (no ring to map anew). */
	if (!udata && (mask & IB_SRQ_MAX_WR))
		return -EOPNOTSUPP;
	if ((mask & IB_SRQ_MAX_WR) &&
	    (!attr->max_wr || attr->max_wr > RODP_MAX_SRQ_WR))
		return -EINVAL;

	if (mask & IB_SRQ_MAX_WR) {
		if (udata->inlen < sizeof(cmd))
			return -EINVAL;
		err = ib_copy_from_udata(&cmd, udata, sizeof(cmd));
		if (err)
			return err;
		err = rodp_srq_resize(srq, attr->max_wr, cmd.mmap_info_addr,
				      udata);
		if (err)
			return err;
	}

	if (mask & IB_SRQ_LIMIT) {
		spin_lock(&srq->lock);
		if (attr->srq_limit > (1u << srq->wq.log2_slots)) {
			spin_unlock(&srq->lock);
			return -EINVAL;
		}
		srq->limit = attr->srq_limit;
		/*
		 * Armed below what is posted already: the event is due at
		 * once, as it would be when the next WQE is taken.
		 */
		prod = rcore_load_acquire_u32(&srq->wq.ring->prod);
		left = rcore_ring_count(prod, srq->wq.cons);
		if (srq->limit && !srq->error && left < srq->limit) {
			srq->limit = 0;
			fire = true;
		}
		spin_unlock(&srq->lock);
		if (fire)
			rodp_srq_event(srq, IB_EVENT_SRQ_LIMIT_REACHED);
	}
	return 0;
}

static int rodp_query_srq(struct ib_srq *ibsrq, struct ib_srq_attr *attr)
{
	struct rodp_srq *srq = to_rsrq(ibsrq);

	spin_lock(&srq->lock);
	attr->max_wr = 1u << srq->wq.log2_slots;
	attr->max_sge = srq->max_sge;
	attr->srq_limit = srq->limit;
	spin_unlock(&srq->lock);
	return 0;
}

/*
 * A user SRQ's WQEs come from the shared ring, never from here: the
 * provider posts without a system call.  A kernel consumer posts here.
 */
static int rodp_post_srq_recv(struct ib_srq *ibsrq,
			      const struct ib_recv_wr *wr,
			      const struct ib_recv_wr **bad_wr)
{
	struct rodp_srq *srq = to_rsrq(ibsrq);

	if (rodp_wq_kernel(&srq->wq))
		return rodp_kpost_srq_recv(srq, wr, bad_wr);
	if (wr) {
		*bad_wr = wr;
		return -EOPNOTSUPP;
	}
	return 0;
}

/**
 * rodp_srq_take - take the next receive WQE of a QP's SRQ
 * @qp: a QP on an SRQ; the caller runs its responder
 *
 * The WQE is copied into @qp->srq_wqe and its slot freed.  Raises
 * IB_EVENT_SRQ_LIMIT_REACHED when the WQEs left drop below the armed
 * limit, and IB_EVENT_SRQ_ERR when the ring turns out corrupt.
 *
 * Return: the QP's copy (its num_sge checked), NULL when nothing is
 * posted, ERR_PTR(-EIO) when the SRQ is in error.
 */
struct rodp_rwqe *rodp_srq_take(struct rodp_qp *qp)
{
	struct rodp_srq *srq = qp->srq;
	bool limit = false, error = false;
	u32 left = 0;
	int err;

	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	spin_lock(&srq->lock);
	if (srq->error) {
		err = -EIO;
	} else {
		err = rodp_wq_take(&srq->wq, qp->srq_wqe, &left);
		if (err == -EIO) {
			srq->error = true;
			WRITE_ONCE(srq->wq.ring->flags, RODP_RING_F_ERROR);
			error = true;
		} else if (!err && srq->limit && left < srq->limit) {
			srq->limit = 0;
			limit = true;
		}
	}
	spin_unlock(&srq->lock);

	if (error) {
		rodp_dbg_qp(qp, "srq: corrupt ring, the SRQ goes to error\n");
		rodp_srq_event(srq, IB_EVENT_SRQ_ERR);
	}
	if (limit)
		rodp_srq_event(srq, IB_EVENT_SRQ_LIMIT_REACHED);
	if (err == -ENOENT)
		return NULL;
	if (err)
		return ERR_PTR(err);
	if (qp->srq_wqe->num_sge > srq->max_sge)
		qp->srq_wqe->num_sge = 0;	/* nothing fits: length error */
	return qp->srq_wqe;
}

/**
 * rodp_srq_get - find an XRC SRQ by number and take a reference
 * @rdev: the device
 * @srqn: the SRQ number (an XRCETH's)
 *
 * Any context.  Drop the reference with rodp_srq_put().
 *
 * Return: the SRQ, or NULL.
 */
struct rodp_srq *rodp_srq_get(struct rodp_dev *rdev, u32 srqn)
{
	struct rodp_srq *srq;

	rcu_read_lock();
	srq = xa_load(&rdev->srq_xa, srqn);
	if (srq && !refcount_inc_not_zero(&srq->users))
		srq = NULL;
	rcu_read_unlock();
	return srq;
}

/**
 * rodp_srq_put - drop a reference from rodp_srq_get()
 * @srq: the SRQ
 */
void rodp_srq_put(struct rodp_srq *srq)
{
	if (refcount_dec_and_test(&srq->users))
		complete(&srq->released);
}

/**
 * rodp_srq_qp_flush - the receive flush of a QP on an SRQ
 * @qp: the queue pair, in the error state; the caller runs its responder
 *
 * Only the WQE the QP took completes with a flush error: the SRQ's other
 * WQEs belong to the SRQ.  Then, once per error state, the QP's
 * IB_EVENT_QP_LAST_WQE_REACHED: nothing more is taken for it.
 */
void rodp_srq_qp_flush(struct rodp_qp *qp)
{
	struct ib_qp *ibqp = &qp->ibqp;
	struct rodp_cqe cqe = {
		.status = IB_WC_WR_FLUSH_ERR,
		.opcode = IB_WC_RECV,
		.qp_num = ibqp->qp_num,
	};
	struct ib_event ev = {
		.device = ibqp->device,
		.element.qp = ibqp,
		.event = IB_EVENT_QP_LAST_WQE_REACHED,
	};

	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	if (qp->resp_have_wqe) {
		qp->resp_have_wqe = false;
		cqe.wr_id = qp->srq_wqe->wr_id;
		rodp_dbg_qp(qp, "flush the receive taken from the SRQ\n");
		rodp_cq_post(rodp_qp_rcq(qp), &cqe, false);
	}
	if (qp->srq_last_wqe)
		return;
	qp->srq_last_wqe = true;
	if (ibqp->event_handler)
		ibqp->event_handler(&ev, ibqp->qp_context);
}

const struct ib_device_ops rodp_srq_ops = {
	.create_srq = rodp_create_srq,
	.destroy_srq = rodp_destroy_srq,
	.modify_srq = rodp_modify_srq,
	.query_srq = rodp_query_srq,
	.post_srq_recv = rodp_post_srq_recv,

	INIT_RDMA_OBJ_SIZE(ib_srq, rodp_srq, ibsrq),
};
