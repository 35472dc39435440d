// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: fast-registration memory regions (ib_alloc_mr(IB_MR_TYPE_MEM_REG),
 * ib_map_mr_sg(), IB_WR_REG_MR, IB_WR_LOCAL_INV, a peer's SEND_WITH_INV),
 * for kernel consumers only: nvme-rdma, nvmet-rdma, iSER, RDS.
 *
 * An MR of this kind has two page lists of max_num_sg entries.  The map
 * list is the consumer's: ib_map_mr_sg() fills it (through
 * ib_sg_to_pages(), which also sets ibmr.iova, ibmr.length and
 * ibmr.page_size).  The live list is the device's: a REG_MR WQE copies
 * the map list into it when the requester carries the WQE out, with the
 * key, rights, iova and length the WR gave, and the MR becomes valid.
 * LOCAL_INV and a peer's SEND_WITH_INV make it invalid again; only then
 * may it be registered again.  The consumer may map the next registration
 * while the current one is live: the device never reads the map list
 * outside a REG_MR.
 *
 * Addresses.  rodp has no DMA device, so the RDMA core maps scatterlists
 * for it as virtual DMA (ib_uses_virt_dma()): a mapped address is a kernel
 * virtual address, and so is each page address in the lists.  A piece of
 * an access never crosses a page of the registration's page size.
 *
 * Keys.  The MR keeps its index in the key space of rodp_mr.c; its key
 * byte is the one the last REG_MR gave (ib_update_fast_reg_key() changes
 * ibmr.lkey and ibmr.rkey in the consumer's hands, so the device keeps
 * its own copy, @key, and never reads those).
 *
 * State (@valid, @key, @access, @iova, @length, @page_shift, @npages)
 * is under rodp_frmr.lock, a leaf spinlock (4c in rodp.h).  An access
 * takes the MR's reference (rodp_mr_get()) and checks the key, state,
 * rights and range under the lock; the I/O then walks the live list
 * with the layout read under the lock again.  An access in progress
 * when the MR is invalidated finishes, as the network would have it;
 * the next packet's lookup fails.  Deregistration waits for accesses in
 * progress (rodp_mr_remove()).
 */

#include <rdma/ib_verbs.h>

#include "rodp.h"

/* Rights a registration may grant. */
#define RODP_FRMR_ACCESS	(IB_ACCESS_LOCAL_WRITE |		\
				 IB_ACCESS_REMOTE_WRITE |		\
				 IB_ACCESS_REMOTE_READ |		\
				 IB_ACCESS_REMOTE_ATOMIC)

/**
 * struct rodp_frmr - the device side of a fast-registration MR
 * @lock: guards the fields below but @map and @map_n
 * @valid: registered: accesses through @key may succeed
 * @key: the L_Key and R_Key: the MR's index << 8 | key byte
 * @access: IB_ACCESS_* rights of the registration
 * @iova: first byte of the registration
 * @length: its length in bytes
 * @page_shift: log2 of its page size
 * @npages: entries of @live in use
 * @max: entries in @live and @map (max_num_sg)
 * @map_n: entries of @map filled by the last ib_map_mr_sg()
 * @live: page addresses (kernel virtual) of the registration
 * @map: page addresses the consumer mapped for the next one
 */
struct rodp_frmr {
	spinlock_t lock;
	bool valid;
	u32 key;
	int access;
	u64 iova;
	u64 length;
	unsigned int page_shift;
	u32 npages;
	u32 max;
	u32 map_n;
	u64 *live;
	u64 *map;
};

static struct ib_mr *rodp_alloc_mr(struct ib_pd *ibpd, enum ib_mr_type type,
				   u32 max_num_sg)
{
	struct rodp_frmr *fr;
	struct rodp_mr *mr;
	int err = -ENOMEM;

	if (type != IB_MR_TYPE_MEM_REG)
		return ERR_PTR(-EOPNOTSUPP);
	if (!max_num_sg || max_num_sg > RODP_MAX_FR_PAGES)
		return ERR_PTR(-EINVAL);

	mr = kzalloc(sizeof(*mr), GFP_KERNEL);
	if (!mr)
		return ERR_PTR(-ENOMEM);
	fr = kzalloc(sizeof(*fr), GFP_KERNEL);
	if (!fr)
		goto err_free_mr;
	fr->live = kvcalloc(max_num_sg, sizeof(*fr->live), GFP_KERNEL);
	fr->map = kvcalloc(max_num_sg, sizeof(*fr->map), GFP_KERNEL);
	if (!fr->live || !fr->map)
		goto err_free_lists;
	spin_lock_init(&fr->lock);
	fr->max = max_num_sg;

	mr->kind = RODP_MR_FAST;
	mr->fr = fr;
	mr->ibmr.pd = ibpd;
	mr->ibmr.device = ibpd->device;
	err = rodp_mr_insert(to_rdev(ibpd->device), mr);
	if (err)
		goto err_free_lists;
	/* Published invalid: no lookup succeeds before a REG_MR. */
	spin_lock(&fr->lock);
	fr->key = mr->ibmr.lkey;
	spin_unlock(&fr->lock);
	return &mr->ibmr;

err_free_lists:
	kvfree(fr->map);
	kvfree(fr->live);
	kfree(fr);
err_free_mr:
	kfree(mr);
	return ERR_PTR(err);
}

/**
 * rodp_frmr_release - free what a fast-registration MR has of its own
 * @mr: the MR, out of the key space with no users left
 */
void rodp_frmr_release(struct rodp_mr *mr)
{
	struct rodp_frmr *fr = mr->fr;

	if (!fr)
		return;
	kvfree(fr->map);
	kvfree(fr->live);
	kfree(fr);
	mr->fr = NULL;
}

static int rodp_frmr_set_page(struct ib_mr *ibmr, u64 addr)
{
	struct rodp_frmr *fr = to_rmr(ibmr)->fr;

	if (fr->map_n >= fr->max)
		return -ENOMEM;
	fr->map[fr->map_n++] = addr;
	return 0;
}

static int rodp_map_mr_sg(struct ib_mr *ibmr, struct scatterlist *sg,
			  int sg_nents, unsigned int *sg_offset)
{
	struct rodp_mr *mr = to_rmr(ibmr);

	if (mr->kind != RODP_MR_FAST)
		return -EINVAL;
	/* Pages of 512 bytes at least; kernel virtual addresses. */
	if (!is_power_of_2(ibmr->page_size) || ibmr->page_size < 512)
		return -EINVAL;
	mr->fr->map_n = 0;
	return ib_sg_to_pages(ibmr, sg, sg_nents, sg_offset,
			      rodp_frmr_set_page);
}

/**
 * rodp_frmr_kwr - fill a kernel send WQE slot from an IB_WR_REG_MR
 * @qp: the kernel consumer's QP
 * @reg: the work request
 * @w: the slot, zeroed, wr_id, opcode and flags set
 *
 * The WQE carries the MR's index (bind.mr_lkey), the new key (rkey), the
 * rights (bind.access) and the layout ib_map_mr_sg() gave when the WR was
 * posted (remote_addr: iova, compare_add: length, swap: page size).
 *
 * Return: 0, or -EINVAL for an MR that is not a fast-registration MR of
 * this device.
 */
int rodp_frmr_kwr(const struct rodp_qp *qp, const struct ib_reg_wr *reg,
		  struct rodp_swqe *w)
{
	struct rodp_mr *mr;

	if (!reg->mr || reg->mr->device != qp->ibqp.device)
		return -EINVAL;
	mr = to_rmr(reg->mr);
	if (mr->kind != RODP_MR_FAST)
		return -EINVAL;
	w->bind.mr_lkey = mr->fr->key & ~0xffu;
	w->bind.access = reg->access;
	w->rkey = reg->key;
	w->remote_addr = reg->mr->iova;
	w->compare_add = reg->mr->length;
	w->swap = reg->mr->page_size;
	w->num_sge = 0;
	w->flags &= ~RODP_SEND_INLINE;
	return 0;
}

/* The fast-registration MR at a key's index, with a reference; or NULL. */
static struct rodp_mr *rodp_frmr_find(struct rodp_dev *rdev, u32 key)
{
	struct rodp_mr *mr;

	rcu_read_lock();
	mr = xa_load(&rdev->mr_xa, key >> 8);
	if (!mr || xa_pointer_tag(mr) || mr->kind != RODP_MR_FAST ||
	    !refcount_inc_not_zero(&mr->users))
		mr = NULL;
	rcu_read_unlock();
	return mr;
}

/*
 * Is the WQE's registration acceptable: rights, layout within the map
 * list?  fr->lock held (map_n is the consumer's, read once here).
 */
static bool rodp_frmr_reg_ok(const struct rodp_frmr *fr,
			     const struct rodp_swqe *wqe, u32 map_n)
{
	u64 iova = wqe->remote_addr, len = wqe->compare_add;
	u64 psize = wqe->swap, span;
	int access = wqe->bind.access;

	if (access & ~RODP_FRMR_ACCESS)
		return false;
	/* IBA: remote write and atomics need local write. */
	if ((access & (IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_ATOMIC)) &&
	    !(access & IB_ACCESS_LOCAL_WRITE))
		return false;
	if (!is_power_of_2(psize) || psize < 512 || map_n > fr->max)
		return false;
	if (iova + len < iova)
		return false;
	/* The first page holds iova at its offset; the list holds it all. */
	span = (iova & (psize - 1)) + len;
	return span <= (u64)map_n * psize;
}

/**
 * rodp_frmr_reg - carry out a REG_MR send WQE
 * @qp: the QP; caller holds the requester's lock
 * @wqe: the WQE (the kernel's checked copy, from rodp_frmr_kwr())
 *
 * The MR, of @qp's PD, must be invalid, the new key's index its own, the
 * rights valid and the length within the mapped pages.
 *
 * Return: IB_WC_SUCCESS; IB_WC_MW_BIND_ERR for a registration refused;
 * IB_WC_LOC_QP_OP_ERR when the WQE does not come from a kernel consumer.
 */
enum ib_wc_status rodp_frmr_reg(struct rodp_qp *qp,
				const struct rodp_swqe *wqe)
{
	enum ib_wc_status status = IB_WC_MW_BIND_ERR;
	struct rodp_frmr *fr;
	struct rodp_mr *mr;
	u32 map_n;

	lockdep_assert_held(&qp->eng[RODP_REQ].lock);

	/* A user ring has no such opcode. */
	if (!rodp_qp_kernel(qp))
		return IB_WC_LOC_QP_OP_ERR;
	mr = rodp_frmr_find(qp->rdev, wqe->bind.mr_lkey);
	if (!mr)
		return status;
	fr = mr->fr;
	if (mr->ibmr.pd != qp->ibqp.pd ||
	    (wqe->rkey >> 8) != (wqe->bind.mr_lkey >> 8))
		goto out_put;

	map_n = READ_ONCE(fr->map_n);
	spin_lock(&fr->lock);
	if (!fr->valid && rodp_frmr_reg_ok(fr, wqe, map_n)) {
		memcpy(fr->live, fr->map, map_n * sizeof(*fr->live));
		fr->npages = map_n;
		fr->page_shift = ilog2(wqe->swap);
		fr->iova = wqe->remote_addr;
		fr->length = wqe->compare_add;
		fr->access = wqe->bind.access;
		fr->key = wqe->rkey;
		fr->valid = true;
		status = IB_WC_SUCCESS;
	}
	spin_unlock(&fr->lock);
out_put:
	rodp_mr_put(mr);
	return status;
}

/**
 * rodp_frmr_invalidate - invalidate a fast-registration MR's key
 * @qp: the QP the invalidation comes through (LOCAL_INV on its send
 *	queue, or a peer's SEND_WITH_INV to it)
 * @rkey: the key
 *
 * The MR must be of @qp's PD and @rkey its current key; invalidating an
 * MR that is already invalid does nothing more.
 *
 * Return: 0, or -EINVAL when @rkey names no such MR.
 */
int rodp_frmr_invalidate(struct rodp_qp *qp, u32 rkey)
{
	struct rodp_frmr *fr;
	struct rodp_mr *mr;
	int err = -EINVAL;

	mr = rodp_frmr_find(qp->rdev, rkey);
	if (!mr)
		return err;
	fr = mr->fr;
	if (mr->ibmr.pd == rodp_qp_pd(qp)) {
		spin_lock(&fr->lock);
		if (fr->key == rkey) {
			fr->valid = false;
			err = 0;
		}
		spin_unlock(&fr->lock);
	}
	rodp_mr_put(mr);
	return err;
}

/**
 * rodp_frmr_check - check an access through a fast-registration MR
 * @mr: the MR, with a reference (rodp_mr_get())
 * @key: the L_Key or R_Key of the access
 * @access: IB_ACCESS_* rights it needs
 * @iova: its first byte
 * @len: its length (0 checks the key and rights only)
 *
 * Return: 0; -ENOENT for a key that is not the MR's current one or an
 * MR not registered; -EACCES for rights; -ERANGE for a range outside.
 */
int rodp_frmr_check(struct rodp_mr *mr, u32 key, int access, u64 iova,
		    u64 len)
{
	struct rodp_frmr *fr = mr->fr;
	int err = 0;

	spin_lock(&fr->lock);
	if (!fr->valid || fr->key != key)
		err = -ENOENT;
	else if ((fr->access & access) != access)
		err = -EACCES;
	else if (len && (iova < fr->iova || len > fr->length ||
			 iova - fr->iova > fr->length - len))
		err = -ERANGE;
	spin_unlock(&fr->lock);
	return err;
}

/**
 * rodp_frmr_io - walk a range of a fast-registration MR (rodp_mr_io())
 * @mr: the MR, with a reference
 * @iova: first byte, checked by rodp_frmr_check()
 * @len: bytes
 * @fn: called for each piece
 * @priv: passed to @fn
 *
 * Return: 0, @fn's non-zero return, or -EFAULT when the MR was
 * registered again meanwhile with a layout that does not hold the range.
 */
int rodp_frmr_io(struct rodp_mr *mr, u64 iova, u64 len, rodp_mr_io_fn fn,
		 void *priv)
{
	struct rodp_frmr *fr = mr->fr;
	u64 off, chunk, psize, mask, page;
	unsigned int shift;
	u32 npages;
	int ret;

	spin_lock(&fr->lock);
	shift = fr->page_shift;
	psize = 1ULL << shift;
	npages = fr->npages;
	off = iova - fr->iova + (fr->iova & (psize - 1));
	spin_unlock(&fr->lock);
	mask = psize - 1;

	while (len) {
		if ((off >> shift) >= npages)
			return -EFAULT;
		page = READ_ONCE(fr->live[off >> shift]);
		if (!page)
			return -EFAULT;
		chunk = min(len, psize - (off & mask));
		ret = fn(priv, (void *)(uintptr_t)(page + (off & mask)),
			 chunk);
		if (ret)
			return ret;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

const struct ib_device_ops rodp_frmr_ops = {
	.alloc_mr = rodp_alloc_mr,
	.map_mr_sg = rodp_map_mr_sg,
};
