// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: user contexts, protection domains, completion queues and the
 * mmap() of shared rings.
 */

#include <linux/log2.h>
#include <linux/vmalloc.h>
#include <rdma/uverbs_ioctl.h>

#include <rdma/rodp-abi.h>
#include "rodp.h"

/* The ring header and the CQE are ABI: their size and offsets are fixed. */
static_assert(sizeof(struct rodp_ring_hdr) == RODP_RING_HDR_SIZE,
	      "ring header size is ABI");
static_assert(offsetof(struct rodp_ring_hdr, prod) == 0 &&
	      offsetof(struct rodp_ring_hdr, cons) == 64 &&
	      offsetof(struct rodp_ring_hdr, log2_slots) == 128 &&
	      offsetof(struct rodp_ring_hdr, slot_size) == 132 &&
	      offsetof(struct rodp_ring_hdr, flags) == 136,
	      "ring header layout is ABI");
static_assert(sizeof(struct rodp_cqe) == 64, "CQE size is ABI");

/**
 * rodp_ucontext_resp - what a user context is told about the device
 * @resp: filled in (GET_CONTEXT, and QUERY_CONTEXT for an import)
 */
void rodp_ucontext_resp(struct rodp_alloc_context_resp *resp)
{
	*resp = (struct rodp_alloc_context_resp) {
		.abi_version = RODP_UVERBS_ABI_VERSION,
		.cqe_size = sizeof(struct rodp_cqe),
		.max_inline = RODP_MAX_INLINE,
	};
}

static int rodp_alloc_ucontext(struct ib_ucontext *ibuc,
			       struct ib_udata *udata)
{
	struct rodp_alloc_context_resp resp;

	rodp_ucontext_resp(&resp);
	if (udata->outlen < sizeof(resp))
		return -EINVAL;
	return ib_copy_to_udata(udata, &resp, sizeof(resp));
}

static void rodp_dealloc_ucontext(struct ib_ucontext *ibuc)
{
}

/*
 * `rdma link del` with the device open: the RDMA core destroys every
 * object of the context through the usual destroy callbacks, so nothing is
 * left for us to do here.  Ring pages still mapped by the process stay
 * allocated (each mapped page holds a reference) until it unmaps them, and
 * the kernel no longer writes to them.
 */
static void rodp_disassociate_ucontext(struct ib_ucontext *ibuc)
{
}

static int rodp_mmap(struct ib_ucontext *ibuc, struct vm_area_struct *vma)
{
	struct rdma_user_mmap_entry *rentry;
	struct rodp_mmap_entry *entry;
	int err;

	rentry = rdma_user_mmap_entry_get(ibuc, vma);
	if (!rentry)
		return -EINVAL;
	entry = container_of(rentry, struct rodp_mmap_entry, rdma);

	err = remap_vmalloc_range(vma, entry->vaddr, 0);
	rdma_user_mmap_entry_put(rentry);
	return err;
}

/* Last reference to an entry gone: no mmap() can reach the area any more. */
static void rodp_mmap_free(struct rdma_user_mmap_entry *rentry)
{
	struct rodp_mmap_entry *entry =
		container_of(rentry, struct rodp_mmap_entry, rdma);

	vfree(entry->vaddr);
	kfree(entry);
}

/**
 * rodp_mmap_offer - offer a ring to mmap()
 * @udata: the udata of the creating verb (names the user context)
 * @vaddr: vmalloc_user() memory
 * @size: its size, page-aligned
 *
 * On success the entry owns the memory (freed by mmap_free once no mmap()
 * can reach it); the caller drops it with rdma_user_mmap_entry_remove().
 *
 * Return: the entry or an ERR_PTR.
 */
struct rodp_mmap_entry *rodp_mmap_offer(struct ib_udata *udata, void *vaddr,
					size_t size)
{
	struct rodp_ucontext *uc =
		rdma_udata_to_drv_context(udata, struct rodp_ucontext, ibuc);
	struct rodp_mmap_entry *entry;
	int err;

	entry = kzalloc(sizeof(*entry), GFP_KERNEL);
	if (!entry)
		return ERR_PTR(-ENOMEM);
	entry->vaddr = vaddr;

	err = rdma_user_mmap_entry_insert(&uc->ibuc, &entry->rdma, size);
	if (err) {
		kfree(entry);
		return ERR_PTR(err);
	}
	return entry;
}

static int rodp_alloc_pd(struct ib_pd *ibpd, struct ib_udata *udata)
{
	return 0;
}

static int rodp_dealloc_pd(struct ib_pd *ibpd, struct ib_udata *udata)
{
	return 0;
}

/*
 * Let go of a CQ's ring: a userspace ring belongs to its mmap entry, which
 * frees it once no mmap() can reach it; a kernel ring is freed here.
 */
static void rodp_cq_release_ring(struct rodp_cq *cq)
{
	if (cq->mmap_entry)
		rdma_user_mmap_entry_remove(&cq->mmap_entry->rdma);
	else
		vfree(cq->ring);
	cq->ring = NULL;
	cq->mmap_entry = NULL;
}

static int rodp_create_cq(struct ib_cq *ibcq, const struct ib_cq_init_attr *attr,
			  RODP_CREATE_CQ_ARG)
{
	struct ib_udata *udata = RODP_CREATE_CQ_UDATA();
	struct rodp_cq *cq = to_rcq(ibcq);
	struct rodp_create_cq_resp resp = {};
	struct rodp_create_cq_cmd cmd = {};
	struct rodp_mmap_entry *entry;
	struct rodp_ring_hdr *ring;
	u32 slots;
	size_t size;
	int err;

	/* Every completion is stamped (rodp_cq_post()): the flag is free. */
	if (attr->flags & ~IB_UVERBS_CQ_FLAGS_TIMESTAMP_COMPLETION)
		return -EOPNOTSUPP;
	if (attr->cqe < 1 || attr->cqe > RODP_MAX_CQE)
		return -EINVAL;
	if (attr->comp_vector >= ibcq->device->num_comp_vectors)
		return -EINVAL;

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

	slots = roundup_pow_of_two(attr->cqe);
	size = PAGE_ALIGN(RODP_RING_HDR_SIZE +
			  (size_t)slots * sizeof(struct rodp_cqe));
	ring = vmalloc_user(size);
	if (!ring)
		return -ENOMEM;
	ring->log2_slots = ilog2(slots);
	ring->slot_size = sizeof(struct rodp_cqe);

	spin_lock_init(&cq->lock);
	cq->ring = ring;
	cq->log2_slots = ilog2(slots);
	cq->prod = 0;
	cq->cons = 0;
	ibcq->cqe = slots;

	if (!udata)
		return 0;

	entry = rodp_mmap_offer(udata, ring, size);
	if (IS_ERR(entry)) {
		err = PTR_ERR(entry);
		goto err_release_ring;
	}
	cq->mmap_entry = entry;

	resp.mmap_offset = rdma_user_mmap_get_offset(&entry->rdma);
	resp.mmap_size = size;
	resp.num_cqe = slots;
	err = ib_copy_to_udata(udata, &resp, sizeof(resp));
	if (err)
		goto err_release_ring;
	return 0;

err_release_ring:
	rodp_cq_release_ring(cq);
	return err;
}

static int rodp_destroy_cq(struct ib_cq *ibcq, struct ib_udata *udata)
{
	struct rodp_cq *cq = to_rcq(ibcq);

	/* The RDMA core refuses to destroy a CQ that a QP still uses. */
	rodp_cq_release_ring(cq);
	return 0;
}

/* The CQE slot of free-running index @idx in a ring of 2^@log2 slots. */
static struct rodp_cqe *rodp_ring_cqe(struct rodp_ring_hdr *ring, u32 log2,
				      u32 idx)
{
	return (void *)((u8 *)ring + RODP_RING_HDR_SIZE +
			rcore_ring_slot_off(log2, sizeof(struct rodp_cqe),
					    idx));
}

/* The CQE slot of free-running index @idx in @cq's ring. */
static struct rodp_cqe *rodp_cq_slot(struct rodp_cq *cq, u32 idx)
{
	return rodp_ring_cqe(cq->ring, cq->log2_slots, idx);
}

static u32 rodp_cq_used(struct rodp_cq *cq);

/*
 * resize_cq: a new ring of at least @cqe slots takes the completions not
 * yet consumed, at the same free-running indexes, and the old ring's
 * mapping goes away.  The provider holds off its consumers for the whole
 * call (rodpu_resize_cq()) and maps the new ring from the response; the
 * kernel's producers wait on the CQ lock while the entries move.  Fewer
 * slots than the completions waiting is EINVAL.
 */
static int rodp_resize_cq(struct ib_cq *ibcq, rodp_cqe_count_t cqe,
			  struct ib_udata *udata)
{
	struct rodp_cq *cq = to_rcq(ibcq);
	struct rodp_resize_cq_resp resp = {};
	struct rodp_mmap_entry *entry, *old_entry;
	struct rodp_ring_hdr *ring;
	unsigned long flags;
	u32 slots, log2, i;
	size_t size;
	int err;

	if (!udata || !cq->mmap_entry)
		return -EOPNOTSUPP;
	if (cqe < 1 || cqe > RODP_MAX_CQE)
		return -EINVAL;
	if (udata->outlen < sizeof(resp))
		return -EINVAL;

	slots = roundup_pow_of_two(cqe);
	log2 = ilog2(slots);
	size = PAGE_ALIGN(RODP_RING_HDR_SIZE +
			  (size_t)slots * sizeof(struct rodp_cqe));
	ring = vmalloc_user(size);
	if (!ring)
		return -ENOMEM;
	ring->log2_slots = log2;
	ring->slot_size = sizeof(struct rodp_cqe);

	entry = rodp_mmap_offer(udata, ring, size);
	if (IS_ERR(entry)) {
		vfree(ring);
		return PTR_ERR(entry);
	}
	resp.mmap_offset = rdma_user_mmap_get_offset(&entry->rdma);
	resp.mmap_size = size;
	resp.num_cqe = slots;
	err = ib_copy_to_udata(udata, &resp, sizeof(resp));
	if (err)
		goto err_remove_entry;

	spin_lock_irqsave(&cq->lock, flags);
	if (rodp_cq_used(cq) > slots) {
		spin_unlock_irqrestore(&cq->lock, flags);
		err = -EINVAL;
		goto err_remove_entry;
	}
	for (i = cq->cons; i != cq->prod; i++)
		memcpy(rodp_ring_cqe(ring, log2, i), rodp_cq_slot(cq, i),
		       sizeof(struct rodp_cqe));
	ring->cons = cq->cons;
	ring->flags = cq->ring->flags;
	rcore_store_release_u32(&ring->prod, cq->prod);
	old_entry = cq->mmap_entry;
	cq->ring = ring;
	cq->log2_slots = log2;
	cq->mmap_entry = entry;
	ibcq->cqe = slots;
	spin_unlock_irqrestore(&cq->lock, flags);

	rdma_user_mmap_entry_remove(&old_entry->rdma);
	return 0;

err_remove_entry:
	/* The entry owns the ring: it goes with the entry. */
	rdma_user_mmap_entry_remove(&entry->rdma);
	return err;
}

/*
 * Entries the consumer has not taken yet.  A consumer index from userspace
 * is not trusted: a distance larger than the ring means a corrupt ring,
 * reported as full.
 */
static u32 rodp_cq_used(struct rodp_cq *cq)
{
	u32 used;

	lockdep_assert_held(&cq->lock);

	if (cq->mmap_entry)
		cq->cons = rcore_load_acquire_u32(&cq->ring->cons);
	used = rcore_ring_count(cq->prod, cq->cons);
	return min_t(u32, used, 1u << cq->log2_slots);
}

/**
 * rodp_cq_post - add a completion to a CQ and raise its event if armed
 * @cq: the completion queue
 * @cqe: the completion, in ring format
 * @solicited: the completion is for a solicited event
 *
 * Any context.  A full ring loses the completion: the CQ goes into error
 * and its owner gets IB_EVENT_CQ_ERR, as the IB spec has it for overrun.
 *
 * Return: 0, or -EOVERFLOW when the CQ is (or just went) in error.
 */
int rodp_cq_post(struct rodp_cq *cq, const struct rodp_cqe *cqe,
		 bool solicited)
{
	struct ib_cq *ibcq = &cq->ibcq;
	bool notify = false, overflow = false;
	struct rodp_cqe *slot;
	unsigned long flags;

	spin_lock_irqsave(&cq->lock, flags);
	if (cq->overflow) {
		spin_unlock_irqrestore(&cq->lock, flags);
		return -EOVERFLOW;
	}
	if (rodp_cq_used(cq) >= (1u << cq->log2_slots)) {
		cq->overflow = true;
		cq->ring->flags |= RODP_RING_F_ERROR;
		overflow = true;
	} else {
		slot = rodp_cq_slot(cq, cq->prod);
		memcpy(slot, cqe, sizeof(*cqe));
		slot->ts_mono = ktime_get_ns();
		slot->ts_real = ktime_get_real_ns();
		cq->prod++;
		rcore_store_release_u32(&cq->ring->prod, cq->prod);
		if (cq->notify == IB_CQ_NEXT_COMP ||
		    (cq->notify == IB_CQ_SOLICITED && solicited)) {
			cq->notify = 0;
			notify = true;
		}
	}
	spin_unlock_irqrestore(&cq->lock, flags);

	if (overflow) {
		if (ibcq->event_handler) {
			struct ib_event ev = {
				.device = ibcq->device,
				.element.cq = ibcq,
				.event = IB_EVENT_CQ_ERR,
			};

			ibcq->event_handler(&ev, ibcq->cq_context);
		}
		return -EOVERFLOW;
	}
	if (notify && ibcq->comp_handler) {
		/*
		 * A kernel consumer's handler may expect softirq-like
		 * surroundings (ib_cq's irq_poll raises a softirq): with
		 * bottom halves off, what it raises runs when they are back
		 * on, here, not whenever ksoftirqd gets to it.
		 */
		bool bh = !cq->mmap_entry && in_task() && !irqs_disabled();

		if (bh)
			local_bh_disable();
		ibcq->comp_handler(ibcq, ibcq->cq_context);
		if (bh)
			local_bh_enable();
	}
	return 0;
}

static int rodp_req_notify_cq(struct ib_cq *ibcq, enum ib_cq_notify_flags flags)
{
	struct rodp_cq *cq = to_rcq(ibcq);
	unsigned long irqflags;
	int ret = 0;

	spin_lock_irqsave(&cq->lock, irqflags);
	cq->notify = flags & IB_CQ_SOLICITED_MASK;
	if ((flags & IB_CQ_REPORT_MISSED_EVENTS) && rodp_cq_used(cq))
		ret = 1;
	spin_unlock_irqrestore(&cq->lock, irqflags);
	return ret;
}

/*
 * Kernel consumers only; userspace polls the ring without a system call.
 * Each completion names its QP (wc->qp), found by number: a kernel
 * consumer polls its QP's completions before it destroys the QP.
 */
static int rodp_poll_cq(struct ib_cq *ibcq, int num, struct ib_wc *wc)
{
	struct rodp_dev *rdev = to_rdev(ibcq->device);
	struct rodp_cq *cq = to_rcq(ibcq);
	const struct rodp_cqe *cqe;
	unsigned long flags;
	int n;

	spin_lock_irqsave(&cq->lock, flags);
	for (n = 0; n < num && rodp_cq_used(cq); n++) {
		cqe = rodp_cq_slot(cq, cq->cons);
		memset(&wc[n], 0, sizeof(wc[n]));
		wc[n].wr_id = cqe->wr_id;
		wc[n].status = cqe->status;
		wc[n].opcode = cqe->opcode;
		wc[n].vendor_err = cqe->vendor_err;
		wc[n].byte_len = cqe->byte_len;
		wc[n].ex.imm_data = (__force __be32)cqe->imm_data;
		wc[n].src_qp = cqe->src_qp;
		wc[n].wc_flags = cqe->wc_flags;
		wc[n].pkey_index = cqe->pkey_index;
		wc[n].slid = cqe->slid;
		wc[n].sl = cqe->sl;
		wc[n].dlid_path_bits = cqe->dlid_path_bits;
		wc[n].port_num = 1;
		/* For ib_init_ah_attr_from_wc(): the GRH's kind. */
		if (cqe->network_hdr_type) {
			wc[n].network_hdr_type = cqe->network_hdr_type;
			wc[n].wc_flags |= IB_WC_WITH_NETWORK_HDR_TYPE;
		}
		wc[n].qp = rodp_kwc_qp(rdev, cqe->qp_num);
		cq->cons++;
		if (cq->mmap_entry)
			rcore_store_release_u32(&cq->ring->cons, cq->cons);
	}
	spin_unlock_irqrestore(&cq->lock, flags);
	return n;
}

const struct ib_device_ops rodp_verbs_ops = {
	.alloc_pd = rodp_alloc_pd,
	.alloc_ucontext = rodp_alloc_ucontext,
	.create_cq = rodp_create_cq,
	.dealloc_pd = rodp_dealloc_pd,
	.dealloc_ucontext = rodp_dealloc_ucontext,
	.destroy_cq = rodp_destroy_cq,
	.disassociate_ucontext = rodp_disassociate_ucontext,
	.mmap = rodp_mmap,
	.mmap_free = rodp_mmap_free,
	.poll_cq = rodp_poll_cq,
	.req_notify_cq = rodp_req_notify_cq,
	.RODP_RESIZE_CQ_OP = rodp_resize_cq,

	INIT_RDMA_OBJ_SIZE(ib_cq, rodp_cq, ibcq),
	INIT_RDMA_OBJ_SIZE(ib_pd, rodp_pd, ibpd),
	INIT_RDMA_OBJ_SIZE(ib_ucontext, rodp_ucontext, ibuc),
};
