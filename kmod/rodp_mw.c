// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: memory windows (type 1 and type 2B) and the invalidation of their
 * R_Keys: locally (LOCAL_INV) and by a peer (SEND_WITH_INV).
 *
 * Keys.  A window takes an index in the same per-device key space as the
 * MRs (rodp_dev.mr_xa), so an R_Key names an MR or a window, never both.
 * Its entry is the struct rodp_mw pointer tagged 1 (xa_tag_pointer()):
 * rodp_mr_get() takes a tagged entry for no MR at all, so a window's key is
 * never an L_Key and never reaches an MR directly.  A bind keeps the index
 * and sets the key's low byte to the one the consumer chose
 * (ibv_inc_rkey()).
 *
 * State.  Everything about windows (bound or not, range, rights, MR, QP)
 * and each MR's count of windows bound to it is under rodp_dev.mw_lock.
 * A window's entry is stored and erased under it too, so whoever holds
 * the lock and finds a tagged entry may use the window: the RDMA core
 * frees it only after dealloc_mw, which erases it under the lock.
 *
 * Lifetime.  A bound window counts on its MR (rodp_mr.num_mw); an MR with
 * windows bound refuses deregistration and rereg with -EBUSY (IBA
 * 10.6.7.2.6; rxe refuses too), and once an MR is being deregistered
 * (rodp_mr.mw_closed) nothing binds to it.  So a bound window's MR is
 * alive, and an access through the window takes an ordinary reference on
 * it (rodp_rkey_get()) for the I/O, as an access through the MR's own
 * R_Key does.  Deallocating a bound window unbinds it.
 *
 * Binds and local invalidations are send queue WQEs the requester carries
 * out in order, once every WQE before them has completed (rodp_req.c).
 */

#include "rodp.h"

#define RODP_MW_TAG		1

/* Rights a window may grant; LOCAL_WRITE means nothing for a window. */
#define RODP_MW_ACCESS		(IB_ACCESS_REMOTE_READ |		\
				 IB_ACCESS_REMOTE_WRITE |		\
				 IB_ACCESS_REMOTE_ATOMIC |		\
				 IB_ZERO_BASED)

/**
 * struct rodp_mw - a memory window
 * @ibmw: the RDMA core's MW (pd, type; rkey as allocated)
 * @key: the R_Key now: index << 8 | the key byte of the last bind
 * @bound: a bind gave it an MR: R_Keys work (type 2: "valid", not "free")
 * @mr: the MR it is bound to, counted in @mr->num_mw
 * @qp: type 2: the QP it was bound through; only compared, never followed
 * @qpn: that QP's number (a new QP at a freed QP's address differs in it)
 * @va: the first byte of the window, as an iova of @mr
 * @len: its length
 * @access: IB_ACCESS_REMOTE_* rights, IB_ZERO_BASED
 *
 * All but @ibmw under rodp_dev.mw_lock.
 */
struct rodp_mw {
	struct ib_mw ibmw;
	u32 key;
	bool bound;
	struct rodp_mr *mr;
	struct rodp_qp *qp;
	u32 qpn;
	u64 va;
	u64 len;
	int access;
};

static inline struct rodp_mw *to_rmw(struct ib_mw *ibmw)
{
	return container_of(ibmw, struct rodp_mw, ibmw);
}

/* The window at a key's index, or NULL; mw_lock held. */
static struct rodp_mw *rodp_mw_find(struct rodp_dev *rdev, u32 key)
{
	void *entry;

	lockdep_assert_held(&rdev->mw_lock);
	entry = xa_load(&rdev->mr_xa, key >> 8);
	if (!entry || xa_pointer_tag(entry) != RODP_MW_TAG)
		return NULL;
	return xa_untag_pointer(entry);
}

/* Is this key-space entry a window's? */
static bool rodp_entry_is_mw(void *entry)
{
	return entry && xa_pointer_tag(entry) == RODP_MW_TAG;
}

/* Let go of the window's MR: it is no longer bound.  mw_lock held. */
static void rodp_mw_unbind(struct rodp_dev *rdev, struct rodp_mw *mw)
{
	lockdep_assert_held(&rdev->mw_lock);
	if (mw->mr)
		mw->mr->num_mw--;
	mw->mr = NULL;
	mw->qp = NULL;
	mw->qpn = 0;
	mw->bound = false;
	mw->va = 0;
	mw->len = 0;
	mw->access = 0;
}

static int rodp_alloc_mw(struct ib_mw *ibmw, struct ib_udata *udata)
{
	struct rodp_dev *rdev = to_rdev(ibmw->device);
	struct rodp_mw *mw = to_rmw(ibmw);
	u32 index;
	int err;

	if (udata && (udata->inlen || udata->outlen))
		return -EINVAL;
	if (ibmw->type != IB_MW_TYPE_1 && ibmw->type != IB_MW_TYPE_2)
		return -EINVAL;

	mutex_lock(&rdev->mw_lock);
	err = xa_alloc_cyclic(&rdev->mr_xa, &index,
			      xa_tag_pointer(mw, RODP_MW_TAG),
			      XA_LIMIT(1, RODP_MAX_MR), &rdev->mr_next,
			      GFP_KERNEL);
	if (err >= 0) {
		mw->key = index << 8 |
			  (atomic_inc_return(&rdev->mr_gen) & 0xff);
		ibmw->rkey = mw->key;
		err = 0;
	} else if (err == -EBUSY) {
		err = -ENOMEM;
	}
	mutex_unlock(&rdev->mw_lock);
	return err;
}

static int rodp_dealloc_mw(struct ib_mw *ibmw)
{
	struct rodp_dev *rdev = to_rdev(ibmw->device);
	struct rodp_mw *mw = to_rmw(ibmw);

	mutex_lock(&rdev->mw_lock);
	rodp_mw_unbind(rdev, mw);
	xa_erase(&rdev->mr_xa, mw->key >> 8);
	mutex_unlock(&rdev->mw_lock);
	return 0;
}

/**
 * rodp_mw_close_mr - an MR is about to leave the key space (dereg, rereg)
 * @mr: the memory region
 *
 * Return: -EBUSY while windows are bound to it; else 0, and from now on
 * no window binds to it.
 */
int rodp_mw_close_mr(struct rodp_mr *mr)
{
	struct rodp_dev *rdev = to_rdev(mr->ibmr.device);
	int err = 0;

	mutex_lock(&rdev->mw_lock);
	if (mr->num_mw)
		err = -EBUSY;
	else
		mr->mw_closed = true;
	mutex_unlock(&rdev->mw_lock);
	return err;
}

/**
 * rodp_mw_reopen_mr - undo rodp_mw_close_mr(): the MR stays after all
 * @mr: the memory region
 */
void rodp_mw_reopen_mr(struct rodp_mr *mr)
{
	struct rodp_dev *rdev = to_rdev(mr->ibmr.device);

	mutex_lock(&rdev->mw_lock);
	mr->mw_closed = false;
	mutex_unlock(&rdev->mw_lock);
}

/*
 * The IBA checks of a bind (C10-72..75, o10-36.2.2, o10-37.2.30/40) that
 * need no lock: the MR's rights, the window's rights and type.
 */
static bool rodp_mw_bind_ok(const struct rodp_mr *mr, u32 type, int access)
{
	if (!(mr->access & IB_ACCESS_MW_BIND))
		return false;
	if ((access & (IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_ATOMIC)) &&
	    !(mr->access & IB_ACCESS_LOCAL_WRITE))
		return false;
	/* Zero-based windows are type 2 only. */
	if ((access & IB_ZERO_BASED) && type != IB_MW_TYPE_2)
		return false;
	/* Not to kernel memory: DMA and fast-registration MRs. */
	return mr->kind == RODP_MR_USER || mr->kind == RODP_MR_ODP;
}

/**
 * rodp_mw_bind - carry out a BIND_MW send WQE
 * @qp: the QP whose send queue holds it; caller holds the requester's lock
 * @wqe: the WQE (the kernel's checked copy)
 *
 * Binds the window the WQE's R_Key names to a range of the MR its L_Key
 * names, with the rights it asks, and gives the window the new R_Key.
 * The window, the MR and the QP must share a PD; a type 2 window must be
 * free and is bound to @qp; a type 1 window may be rebound, or unbound
 * with a zero length.
 *
 * Return: IB_WC_SUCCESS or IB_WC_MW_BIND_ERR.
 */
static enum ib_wc_status rodp_mw_bind(struct rodp_qp *qp,
				      const struct rodp_swqe *wqe)
{
	struct rodp_dev *rdev = qp->rdev;
	u32 type = wqe->bind.mw_type;
	int access = wqe->bind.access & ~IB_ACCESS_LOCAL_WRITE;
	u64 len = wqe->compare_add, va = wqe->remote_addr;
	enum ib_wc_status status = IB_WC_MW_BIND_ERR;
	struct rodp_mr *mr = NULL;
	struct rodp_mw *mw;

	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	if (type != IB_MW_TYPE_1 && type != IB_MW_TYPE_2)
		return status;
	if (access & ~RODP_MW_ACCESS)
		return status;
	if (len || type == IB_MW_TYPE_2) {
		/* Same PD as the QP, range inside the MR. */
		mr = rodp_mr_get(rdev, wqe->bind.mr_lkey, qp->ibqp.pd, 0, va,
				 len);
		if (IS_ERR(mr) || !len)
			goto out_put;
		if (!rodp_mw_bind_ok(mr, type, access))
			goto out_put;
	}

	mutex_lock(&rdev->mw_lock);
	mw = rodp_mw_find(rdev, wqe->rkey);
	if (!mw || mw->ibmw.pd != qp->ibqp.pd || mw->ibmw.type != type)
		goto out_unlock;
	if (type == IB_MW_TYPE_2 && mw->bound)
		goto out_unlock;
	if (mr && mr->mw_closed)
		goto out_unlock;

	rodp_mw_unbind(rdev, mw);
	mw->key = (mw->key & ~0xffu) | (wqe->rkey & 0xff);
	if (mr) {
		mr->num_mw++;
		mw->mr = mr;
		mw->bound = true;
		mw->va = va;
		mw->len = len;
		mw->access = access;
		if (type == IB_MW_TYPE_2) {
			mw->qp = qp;
			mw->qpn = qp->ibqp.qp_num;
		}
	}
	status = IB_WC_SUCCESS;
out_unlock:
	mutex_unlock(&rdev->mw_lock);
out_put:
	if (!IS_ERR_OR_NULL(mr))
		rodp_mr_put(mr);
	return status;
}

/**
 * rodp_mw_invalidate - invalidate the R_Key of a type 2 window or of a
 * fast-registration MR
 * @qp: the QP the invalidation comes through: LOCAL_INV on its send queue
 *	(the requester's lock held) or SEND_WITH_INV to it (the responder's)
 * @rkey: the R_Key
 * @remote: a peer's SEND_WITH_INV: the window must be bound to @qp
 *
 * Windows and fast-registration MRs (rodp_frmr_invalidate()) are
 * invalidated; IBA invalidates no other MR (nor does rxe).  A window must
 * be a type 2 window of @qp's PD, bound, and @rkey its current key
 * (o10-37.2.26).
 *
 * Return: 0, or -EINVAL when @rkey names nothing @qp may invalidate.
 */
int rodp_mw_invalidate(struct rodp_qp *qp, u32 rkey, bool remote)
{
	struct rodp_dev *rdev = qp->rdev;
	struct rodp_mw *mw;
	int err = -EINVAL;
	bool is_mw;

	rcu_read_lock();
	is_mw = rodp_entry_is_mw(xa_load(&rdev->mr_xa, rkey >> 8));
	rcu_read_unlock();
	if (!is_mw)
		return rodp_frmr_invalidate(qp, rkey);

	mutex_lock(&rdev->mw_lock);
	mw = rodp_mw_find(rdev, rkey);
	if (mw && mw->key == rkey && mw->bound &&
	    mw->ibmw.type == IB_MW_TYPE_2 && mw->ibmw.pd == qp->ibqp.pd &&
	    (!remote || (mw->qp == qp && mw->qpn == qp->ibqp.qp_num))) {
		rodp_mw_unbind(rdev, mw);
		err = 0;
	}
	mutex_unlock(&rdev->mw_lock);
	return err;
}

/**
 * rodp_rkey_get - find the memory an R_Key gives a peer of @qp, and check
 * an access through it
 * @qp: the QP the request arrived on
 * @rkey: the request's R_Key: an MR's or a window's
 * @access: IB_ACCESS_REMOTE_* rights the access needs
 * @va: the request's address (for a zero-based window, an offset into it)
 * @len: bytes accessed (0 checks only the key)
 * @iova: set to the address of the first byte as an iova of the MR
 *
 * An MR's key goes to rodp_mr_get().  A window's must be its current key,
 * the window bound, of @qp's PD and (type 2) bound through @qp, and the
 * range and rights inside the window's; the MR behind it is then taken
 * as it is (its own remote rights do not matter: the window grants).
 *
 * Return: the MR with a reference held (rodp_mr_put()), or an ERR_PTR as
 * rodp_mr_get()'s.
 */
struct rodp_mr *rodp_rkey_get(struct rodp_qp *qp, u32 rkey, int access,
			      u64 va, u64 len, u64 *iova)
{
	struct rodp_dev *rdev = qp->rdev;
	struct rodp_mr *mr = ERR_PTR(-EACCES);
	struct rodp_mw *mw;
	u64 off;

	rcu_read_lock();
	if (!rodp_entry_is_mw(xa_load(&rdev->mr_xa, rkey >> 8))) {
		rcu_read_unlock();
		*iova = va;
		return rodp_mr_get(rdev, rkey, rodp_qp_pd(qp), access, va,
				   len);
	}
	rcu_read_unlock();

	mutex_lock(&rdev->mw_lock);
	mw = rodp_mw_find(rdev, rkey);
	if (!mw || mw->key != rkey || !mw->bound) {
		mr = ERR_PTR(-ENOENT);
		goto out_unlock;
	}
	if (mw->ibmw.pd != rodp_qp_pd(qp) ||
	    (mw->access & access) != access ||
	    (mw->ibmw.type == IB_MW_TYPE_2 &&
	     (mw->qp != qp || mw->qpn != qp->ibqp.qp_num)))
		goto out_unlock;
	off = (mw->access & IB_ZERO_BASED) ? va : va - mw->va;
	if (len && ((!(mw->access & IB_ZERO_BASED) && va < mw->va) ||
		    len > mw->len || off > mw->len - len)) {
		mr = ERR_PTR(-ERANGE);
		goto out_unlock;
	}
	/* Bound: the MR cannot be deregistered (num_mw), so it is alive. */
	if (!refcount_inc_not_zero(&mw->mr->users)) {
		mr = ERR_PTR(-ENOENT);
		goto out_unlock;
	}
	mr = mw->mr;
	*iova = mw->va + off;
out_unlock:
	mutex_unlock(&rdev->mw_lock);
	return mr;
}

/**
 * rodp_mw_wc_opcode - the completion opcode of a local send WQE
 * @opcode: enum rodp_wr_opcode
 *
 * Return: IB_WC_BIND_MW, IB_WC_LOCAL_INV or IB_WC_REG_MR (rodp_frmr.c)
 * for the WQEs the requester
 * carries out itself (rodp_mw_local_op()), -1 for any other.
 */
int rodp_mw_wc_opcode(u8 opcode)
{
	if (opcode == RODP_WR_BIND_MW)
		return IB_WC_BIND_MW;
	if (opcode == RODP_WR_LOCAL_INV)
		return IB_WC_LOCAL_INV;
	if (opcode == RODP_WR_REG_MR)
		return IB_WC_REG_MR;
	return -1;
}

/**
 * rodp_mw_local_op - carry out a local send WQE (BIND_MW, LOCAL_INV,
 * REG_MR)
 * @qp: the QP; caller holds the requester's lock
 * @wqe: the WQE (the kernel's checked copy)
 *
 * Return: its completion status.
 */
enum ib_wc_status rodp_mw_local_op(struct rodp_qp *qp,
				   const struct rodp_swqe *wqe)
{
	if (wqe->opcode == RODP_WR_BIND_MW)
		return rodp_mw_bind(qp, wqe);
	if (wqe->opcode == RODP_WR_REG_MR)
		return rodp_frmr_reg(qp, wqe);
	/* LOCAL_INV: the key is in imm_data, host order. */
	if (rodp_mw_invalidate(qp, wqe->imm_data, false))
		return IB_WC_LOC_QP_OP_ERR;
	return IB_WC_SUCCESS;
}

const struct ib_device_ops rodp_mw_ops = {
	.alloc_mw = rodp_alloc_mw,
	.dealloc_mw = rodp_dealloc_mw,

	INIT_RDMA_OBJ_SIZE(ib_mw, rodp_mw, ibmw),
};
