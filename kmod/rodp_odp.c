// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: On-Demand Paging.  An ODP memory region is a mirror of part of a
 * process's page tables, kept by the device instead of pinned pages.
 *
 * The mirror is made of blocks: aligned RODP_ODP_BLOCK_SIZE pieces of the
 * virtual address space, clipped to the MR.  A block comes into being the
 * first time the device touches an address in it, and is then an
 * mmu_interval_notifier over its range with one hmm pfn per page.  An
 * implicit MR (the whole address space) therefore costs nothing where
 * the device never went, and an invalidation there finds no notifier.
 *
 * The rules (docs/design.md, "The mm lifetime rules"):
 *  - the MR keeps the mm_struct allocated (mmgrab), never the address
 *    space; every fault takes mmget_not_zero() and fails at once, with
 *    -ESRCH, when the process is exiting (the responder answers that
 *    differently from an unmapped page: rodp_resp.c);
 *  - a block's mutex covers its pfn array, every copy into or out of
 *    its pages and every page reference taken for a packet's fragments
 *    (rodp_mr_frags()).  The invalidate callback takes it, so it returns
 *    only when no device copy into the invalidated pages is still
 *    running, and the next access finds the pages gone and faults again;
 *    a fragment taken before keeps its page, not the mapping, until the
 *    receiver on this host has copied from it;
 *  - faults follow the mmu_interval_read_begin / hmm_range_fault / lock /
 *    mmu_interval_read_retry loop, bounded by HMM_RANGE_DEFAULT_TIMEOUT.
 *    hmm_range_fault writes into a private array; only a result the retry
 *    check has validated, under the mutex, reaches the block;
 *  - nothing is allocated with a block mutex held: reclaim may call the
 *    invalidate callback, which needs that mutex;
 *  - the packets of a train (rodp_train_begin()) walk a block 1 KiB after
 *    the other: on the sender, and on a receiver on this host, its mutex
 *    may stay locked from one packet to the next (struct rodp_odp_hold)
 *    while nothing but the train's walk runs in that task, and never
 *    while another block's is taken: an invalidation waits at most for
 *    the rest of a train's walk.
 *
 * Read and write permission are kept apart per page (HMM_PFN_WRITE): a
 * read fault maps the zero page or a COW-shared page read-only, and a
 * write through it faults again asking for write, which breaks the COW.
 */

#include <linux/debugfs.h>
#include <linux/hmm.h>
#include <linux/indirect_call_wrapper.h>
#include <linux/highmem.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <rdma/ib_umem.h>
#include <rdma/uverbs_ioctl.h>

#include "rodp.h"

#define RODP_ODP_BLOCK_SHIFT	21
#define RODP_ODP_BLOCK_SIZE	(1UL << RODP_ODP_BLOCK_SHIFT)

/*
 * A fault brings in at most this much of what the message still needs
 * beyond the access itself.  The fault holds the QP for its whole
 * duration, and under memory pressure every page it brings in may cost
 * a page of reclaim: a whole block at once could hold the QP for
 * seconds, while 64 pages already make the per-fault cost small.
 */
#define RODP_ODP_AHEAD_MAX	(64UL << PAGE_SHIFT)


static struct workqueue_struct *rodp_odp_wq;

/*
 * The mm references rodp holds now, for the exit stress tests
 * (debugfs rodp/mm_refs): @grabs, one mmgrab() per ODP MR (its mm kept
 * allocated); @gets, the mmget_not_zero() references of faults and
 * notifier insertions in progress; @umems, pinned MRs' umems, each of
 * which keeps the mm it pinned allocated (ib_umem_get() grabs it).
 * Each moves exactly where the reference is taken or dropped.
 */
static struct {
	atomic_long_t grabs;
	atomic_long_t gets;
	atomic_long_t umems;
} rodp_mm_refs;

static void rodp_mm_grab(struct mm_struct *mm)
{
	mmgrab(mm);
	atomic_long_inc(&rodp_mm_refs.grabs);
}

static void rodp_mm_drop(struct mm_struct *mm)
{
	atomic_long_dec(&rodp_mm_refs.grabs);
	mmdrop(mm);
}

static bool rodp_mm_get(struct mm_struct *mm)
{
	if (!mmget_not_zero(mm))
		return false;
	atomic_long_inc(&rodp_mm_refs.gets);
	return true;
}

static void rodp_mm_put_async(struct mm_struct *mm)
{
	atomic_long_dec(&rodp_mm_refs.gets);
	mmput_async(mm);
}

/**
 * rodp_mm_ref_umem - count a pinned MR's umem in debugfs rodp/mm_refs
 * @delta: 1 right after ib_umem_get() succeeded, -1 right before
 *	ib_umem_release() of a umem that was counted
 */
void rodp_mm_ref_umem(int delta)
{
	atomic_long_add(delta, &rodp_mm_refs.umems);
}

static int rodp_mm_refs_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "grabs %ld\ngets %ld\numems %ld\n",
		   atomic_long_read(&rodp_mm_refs.grabs),
		   atomic_long_read(&rodp_mm_refs.gets),
		   atomic_long_read(&rodp_mm_refs.umems));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rodp_mm_refs);

/**
 * struct rodp_odp_block - the mirror of one block of an ODP MR
 * @notifier: the interval notifier over [@start, @end)
 * @odp: the MR's mirror
 * @ref: the xarray holds one reference, each user one more
 * @rcu: frees the block after lockless lookups are done with it
 * @lock: guards @pfns and every device copy into or out of the block
 * @unmapped: an unmap left nothing mirrored (implicit MRs reap such blocks)
 * @start: first user virtual address, page aligned
 * @end: end of the range, page aligned
 * @pfns: hmm pfns (HMM_PFN_VALID, HMM_PFN_WRITE, pfn), one per page
 */
struct rodp_odp_block {
	struct mmu_interval_notifier notifier;
	struct rodp_odp *odp;
	struct kref ref;
	struct rcu_head rcu;
	struct mutex lock;
	bool unmapped;
	unsigned long start;
	unsigned long end;
	unsigned long pfns[];
};

static struct rodp_mr *rodp_odp_mr(struct rodp_odp *odp)
{
	return container_of(odp, struct rodp_mr, odp);
}

/* Count an ODP event on the device and on the MR. */
static void rodp_odp_count(struct rodp_odp *odp, enum rodp_counter c, u64 n)
{
	struct rodp_mr *mr = rodp_odp_mr(odp);

	atomic64_add(n, &to_rdev(mr->ibmr.device)->cnt[c]);
	atomic64_add(n, &odp->cnt[c - RODP_CNT_ODP_FIRST]);
}

/* Does the block still mirror any page?  Its mutex is held. */
static bool rodp_odp_block_mirrors(struct rodp_odp_block *blk)
{
	unsigned long i;

	lockdep_assert_held(&blk->lock);
	for (i = 0; i < (blk->end - blk->start) >> PAGE_SHIFT; i++)
		if (blk->pfns[i] & HMM_PFN_VALID)
			return true;
	return false;
}

static bool rodp_odp_invalidate(struct mmu_interval_notifier *mni,
				const struct mmu_notifier_range *range,
				unsigned long cur_seq)
{
	struct rodp_odp_block *blk =
		container_of(mni, struct rodp_odp_block, notifier);
	unsigned long start = max(range->start, blk->start);
	unsigned long end = min(range->end, blk->end);
	unsigned long i, dropped = 0;

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&blk->lock);
	else if (!mutex_trylock(&blk->lock))
		return false;

	mmu_interval_set_seq(mni, cur_seq);
	for (i = (start - blk->start) >> PAGE_SHIFT;
	     i < (end - blk->start) >> PAGE_SHIFT; i++) {
		if (blk->pfns[i] & HMM_PFN_VALID)
			dropped++;
		blk->pfns[i] = 0;
	}
	if (range->event == MMU_NOTIFY_UNMAP && blk->odp->implicit &&
	    !rodp_odp_block_mirrors(blk)) {
		blk->unmapped = true;
		queue_work(rodp_odp_wq, &blk->odp->reap_work);
	}
	mutex_unlock(&blk->lock);

	rodp_odp_count(blk->odp, RODP_CNT_ODP_INVALIDATIONS, 1);
	rodp_odp_count(blk->odp, RODP_CNT_ODP_INVAL_PAGES, dropped);
	return true;
}

static const struct mmu_interval_notifier_ops rodp_odp_notifier_ops = {
	.invalidate = rodp_odp_invalidate,
};

static void rodp_odp_block_free(struct kref *ref)
{
	struct rodp_odp_block *blk =
		container_of(ref, struct rodp_odp_block, ref);

	/* Waits for a running invalidation of this block to finish. */
	mmu_interval_notifier_remove(&blk->notifier);
	kvfree_rcu(blk, rcu);
}

static void rodp_odp_block_put(struct rodp_odp_block *blk)
{
	might_sleep();
	kref_put(&blk->ref, rodp_odp_block_free);
}

/* The block range for @va: the aligned block, clipped to the MR. */
static void rodp_odp_block_range(struct rodp_odp *odp, unsigned long va,
				 unsigned long *start, unsigned long *end)
{
	*start = va & ~(RODP_ODP_BLOCK_SIZE - 1);
	*end = *start + RODP_ODP_BLOCK_SIZE;
	if (!odp->implicit) {
		*start = max(*start, odp->va_start & PAGE_MASK);
		*end = min(*end, PAGE_ALIGN(odp->va_end));
	}
}

static struct rodp_odp_block *rodp_odp_block_create(struct rodp_odp *odp,
						    unsigned long va)
{
	unsigned long idx = va >> RODP_ODP_BLOCK_SHIFT;
	struct rodp_odp_block *blk, *old;
	unsigned long start, end;
	int err;

	mutex_lock(&odp->lock);
	blk = xa_load(&odp->blocks, idx);
	if (blk) {
		kref_get(&blk->ref);
		goto out_unlock;
	}

	rodp_odp_block_range(odp, va, &start, &end);
	blk = kvzalloc(struct_size(blk, pfns, (end - start) >> PAGE_SHIFT),
		       GFP_KERNEL);
	if (!blk) {
		blk = ERR_PTR(-ENOMEM);
		goto out_unlock;
	}
	blk->odp = odp;
	blk->start = start;
	blk->end = end;
	mutex_init(&blk->lock);
	kref_init(&blk->ref);

	if (!rodp_mm_get(odp->mm)) {
		err = -ESRCH;
		goto err_free;
	}
	err = mmu_interval_notifier_insert(&blk->notifier, odp->mm, start,
					   end - start, &rodp_odp_notifier_ops);
	rodp_mm_put_async(odp->mm);
	if (err)
		goto err_free;

	old = xa_store(&odp->blocks, idx, blk, GFP_KERNEL);
	if (xa_is_err(old)) {
		err = xa_err(old);
		goto err_remove;
	}
	kref_get(&blk->ref);	/* the caller's */
	goto out_unlock;

err_remove:
	mmu_interval_notifier_remove(&blk->notifier);
err_free:
	kvfree(blk);
	blk = ERR_PTR(err);
out_unlock:
	mutex_unlock(&odp->lock);
	return blk;
}

/* The block holding @va, with a reference; created on first use. */
static struct rodp_odp_block *rodp_odp_block_get(struct rodp_odp *odp,
						 unsigned long va)
{
	struct rodp_odp_block *blk;

	rcu_read_lock();
	blk = xa_load(&odp->blocks, va >> RODP_ODP_BLOCK_SHIFT);
	if (blk && !kref_get_unless_zero(&blk->ref))
		blk = NULL;
	rcu_read_unlock();
	return blk ?: rodp_odp_block_create(odp, va);
}

/* rodp_odp_block_use() past the hint: the xarray, or a new block. */
static struct rodp_odp_block *rodp_odp_block_find(struct rodp_odp *odp,
						  unsigned long va)
{
	struct rodp_odp_block *blk;

	if (odp->implicit)
		return rodp_odp_block_get(odp, va);
	blk = xa_load(&odp->blocks, va >> RODP_ODP_BLOCK_SHIFT);
	if (!blk) {
		blk = rodp_odp_block_create(odp, va);
		if (IS_ERR(blk))
			return blk;
		/* The xarray's reference keeps it. */
		rodp_odp_block_put(blk);
	}
	smp_store_release(&odp->last, blk);
	return blk;
}

/*
 * The block holding @va, for an access by a caller that holds the MR
 * (rodp_mr_get()).  An explicit MR's blocks stay in its xarray until
 * rodp_odp_release(), which waits for the MR's last user: such a caller
 * needs no reference, and the block it used last is tried first (a
 * message walks one block packet after packet).  @odp->last is only a
 * hint, written by several QPs at once; every block it may point to
 * lives as long as the MR.  An implicit MR reaps blocks an unmap
 * emptied, so there the caller takes a reference.  Let go of the block
 * with rodp_odp_block_unuse().
 */
static inline struct rodp_odp_block *
rodp_odp_block_use(struct rodp_odp *odp, unsigned long va)
{
	struct rodp_odp_block *blk;

	if (!odp->implicit) {
		blk = smp_load_acquire(&odp->last);
		if (blk && va >= blk->start && va < blk->end)
			return blk;
	}
	return rodp_odp_block_find(odp, va);
}

static void rodp_odp_block_unuse(struct rodp_odp *odp,
				 struct rodp_odp_block *blk)
{
	if (odp->implicit)
		rodp_odp_block_put(blk);
}

/*
 * Take the address space for a fault: false when the process is exiting
 * (or when the fault-injection point says so: the failure then takes the
 * same path), else true with a reference to drop with
 * rodp_mm_put_async().
 */
static bool rodp_odp_mmget(struct rodp_odp *odp)
{
	if (rodp_inject(RODP_INJ_ODP_FAULT)) {
		rodp_inject_sleep(RODP_INJ_ODP_FAULT);
		return false;
	}
	return rodp_mm_get(odp->mm);
}

/*
 * Fault [start, end) of @blk into the mirror.  With @fault false, only
 * what the page tables already hold is mirrored (PREFETCH_NO_FAULT).
 *
 * Called and returns with the block's mutex held, which it lets go of
 * while it allocates and faults: hmm_range_fault() takes mmap_lock, and
 * an invalidation it causes needs the mutex.  On success the range is
 * mirrored, each page writable if @write asked for it, and stays so
 * until the caller lets go of the mutex.  *@newly counts pages that
 * were not mirrored before.  A failure is left to the caller to count.
 * Collisions with invalidations are retried until the HMM deadline, or
 * at most @tries times when @tries is not 0 (-EBUSY then).
 */
static int rodp_odp_fault(struct rodp_odp_block *blk, unsigned long start,
			  unsigned long end, bool write, bool fault,
			  unsigned int tries, unsigned long *newly)
{
	struct rodp_odp *odp = blk->odp;
	struct hmm_range range = {
		.notifier = &blk->notifier,
		.start = start & PAGE_MASK,
		.end = PAGE_ALIGN(end),
	};
	unsigned long npages = (range.end - range.start) >> PAGE_SHIFT;
	unsigned long first = (range.start - blk->start) >> PAGE_SHIFT;
	unsigned long timeout, i, n = 0;
	unsigned int attempts = tries;
	u64 t0 = ktime_get_ns();
	int ret;

	lockdep_assert_held(&blk->lock);
	mutex_unlock(&blk->lock);

	*newly = 0;
	if (fault)
		range.default_flags = HMM_PFN_REQ_FAULT |
				      (write ? HMM_PFN_REQ_WRITE : 0);
	range.hmm_pfns = kvmalloc_array(npages, sizeof(*range.hmm_pfns),
					GFP_KERNEL);
	if (!range.hmm_pfns) {
		ret = -ENOMEM;
		goto out_relock;
	}

	timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	for (;;) {
		if (time_after(jiffies, timeout) || (tries && !attempts--)) {
			ret = -EBUSY;
			goto out_free;
		}
		range.notifier_seq = mmu_interval_read_begin(&blk->notifier);
		/* A process on its way out: no fault, fail the access now. */
		if (!rodp_odp_mmget(odp)) {
			ret = -ESRCH;
			goto out_free;
		}
		mmap_read_lock(odp->mm);
		ret = hmm_range_fault(&range);
		mmap_read_unlock(odp->mm);
		/*
		 * The last user of the mm may be us: its teardown invalidates
		 * this block and must not run here, under the QP's lock.
		 */
		rodp_mm_put_async(odp->mm);
		if (ret == -EBUSY)
			continue;
		if (ret)
			goto out_free;

		mutex_lock(&blk->lock);
		if (!mmu_interval_read_retry(&blk->notifier,
					     range.notifier_seq))
			break;
		mutex_unlock(&blk->lock);
	}

	/* Validated under the mutex: the result may reach the block. */
	for (i = 0; i < npages; i++) {
		unsigned long pfn = range.hmm_pfns[i];

		if (!(pfn & HMM_PFN_VALID) || (pfn & HMM_PFN_ERROR))
			continue;
		if (!(blk->pfns[first + i] & HMM_PFN_VALID))
			n++;
		blk->pfns[first + i] = pfn;
	}
	if (n)
		WRITE_ONCE(blk->unmapped, false);	/* in use again */
	if (fault) {
		rodp_odp_count(odp, RODP_CNT_ODP_FAULTS, 1);
		rodp_odp_count(odp, RODP_CNT_ODP_FAULT_PAGES, n);
		rodp_odp_count(odp, RODP_CNT_ODP_FAULT_NS, ktime_get_ns() - t0);
	}
	*newly = n;
	kvfree(range.hmm_pfns);
	return 0;

out_free:
	kvfree(range.hmm_pfns);
out_relock:
	mutex_lock(&blk->lock);
	return ret;
}

/* Where a fault at @va, for a message going on to @ahead_end, stops. */
static unsigned long rodp_odp_ahead(const struct rodp_odp_block *blk,
				    unsigned long va, unsigned long ahead_end)
{
	return min3(blk->end, PAGE_ALIGN(ahead_end),
		    (va & PAGE_MASK) + RODP_ODP_AHEAD_MAX);
}

/*
 * Fault for an access that needs [va, end) of the block and whose
 * message goes on to @ahead_end: what the message still needs in this
 * block, up to RODP_ODP_AHEAD_MAX, at once (the device walks memory a
 * packet at a time, and a fault per packet would cost a page-table walk
 * per page).  If that range cannot be had (the message runs into an
 * unmapped or read-only page), exactly [va, end) is tried, so the error
 * falls on the packet that really meets it; not when the process is
 * exiting, which no range survives.  Called and returns with the block's
 * mutex held, as rodp_odp_fault().
 */
static int rodp_odp_fault_ahead(struct rodp_odp_block *blk, unsigned long va,
				unsigned long end, unsigned long ahead_end,
				bool write)
{
	unsigned long ahead = rodp_odp_ahead(blk, va, ahead_end);
	unsigned long n;
	int ret = -EFAULT;

	lockdep_assert_held(&blk->lock);

	if (rodp_inject(RODP_INJ_ODP_BUSY)) {
		ret = -EBUSY;
		goto out_count;
	}
	if (ahead > PAGE_ALIGN(end)) {
		/*
		 * Under memory pressure a big range may keep losing pages
		 * to reclaim while it is faulted: give up on it quickly.
		 */
		ret = rodp_odp_fault(blk, va, ahead, write, true, 2, &n);
		if (!ret || ret == -ENOMEM)
			return ret;
	}
	if (ret != -ESRCH)
		ret = rodp_odp_fault(blk, va, end, write, true, 0, &n);
out_count:
	if (ret)
		rodp_odp_count(blk->odp, RODP_CNT_ODP_FAULT_FAILS, 1);
	return ret;
}

/*
 * May a fault of @odp's memory sleep here?  Only in a worker (a task
 * with no address space of its own), as a NIC faults apart from the
 * process.  Not in a system call: a packet delivered on this host is
 * taken in the sender's context (rodp_net.c), and the requester starts
 * sending inside ibv_post_send(); neither may wait for memory that a
 * slow or stalled filesystem stands behind (a shared file mapping), nor
 * sleep where a SIGKILL cannot end the wait.  There only what is
 * present is mirrored, and the rest is left to the side's work item
 * (-EWOULDBLOCK, rodp_eng_defer()).
 */
static bool rodp_odp_may_sleep(const struct rodp_odp *odp)
{
	return !current->mm;
}

/*
 * Mirror what the page tables already hold of [va, end) and of the rest
 * of the message up to where a fault would go (rodp_odp_ahead()),
 * without sleeping for memory: for a caller that may not fault.  Called
 * and returns with the block's mutex held.  -EWOULDBLOCK when even that
 * failed, -ESRCH when the process is exiting.
 */
static int rodp_odp_snap(struct rodp_odp_block *blk, unsigned long va,
			 unsigned long end, unsigned long ahead_end, bool write)
{
	unsigned long n;
	int ret;

	end = max(end, rodp_odp_ahead(blk, va, ahead_end));
	ret = rodp_odp_fault(blk, va, end, write, false, 1, &n);
	if (ret)
		return ret == -ESRCH ? ret : -EWOULDBLOCK;
	/* A fault to the device, of present pages. */
	if (n) {
		rodp_odp_count(blk->odp, RODP_CNT_ODP_FAULTS, 1);
		rodp_odp_count(blk->odp, RODP_CNT_ODP_FAULT_PAGES, n);
	}
	return 0;
}

/*
 * rodp_odp_pages() on one block: [va, va + len) lies inside it.  Called
 * and returns with the block's mutex held.
 */
static int rodp_odp_block_io(struct rodp_odp_block *blk, unsigned long va,
			     u64 len, unsigned long ahead_end, bool write,
			     rodp_mr_page_fn fn, void *priv)
{
	unsigned long end = va + len, faulted_at = 0, snapped_at = 0;
	bool faulted = false, snapped = false;
	int ret = 0;

	lockdep_assert_held(&blk->lock);
	while (va < end) {
		unsigned long i = (va - blk->start) >> PAGE_SHIFT;
		unsigned long pfn = blk->pfns[i];
		u64 chunk = min_t(u64, end - va, PAGE_SIZE - offset_in_page(va));

		if (!(pfn & HMM_PFN_VALID) || (write && !(pfn & HMM_PFN_WRITE))) {
			/* Right after a fault of this very page: give up. */
			if (faulted && faulted_at == (va & PAGE_MASK)) {
				ret = -EFAULT;
				break;
			}
			if (!rodp_odp_may_sleep(blk->odp)) {
				/* What is present, once; else the worker. */
				if (snapped && snapped_at == (va & PAGE_MASK)) {
					ret = -EWOULDBLOCK;
					break;
				}
				ret = rodp_odp_snap(blk, va, end, ahead_end,
						    write);
				if (ret)
					break;
				snapped = true;
				snapped_at = va & PAGE_MASK;
				continue;
			}
			ret = rodp_odp_fault_ahead(blk, va, end, ahead_end,
						   write);
			if (ret)
				break;
			faulted = true;
			faulted_at = va & PAGE_MASK;
			continue;
		}
		ret = INDIRECT_CALL_2(fn, rodp_kmap_piece, rodp_frag_piece,
				      priv, hmm_pfn_to_page(pfn),
				      offset_in_page(va), chunk);
		if (ret)
			break;
		va += chunk;
	}
	return ret;
}

static unsigned long rodp_odp_va(struct rodp_mr *mr, u64 iova)
{
	return mr->odp.va_start + (iova - mr->ibmr.iova);
}

/* An access must stay inside the user address space the MR mirrors. */
static bool rodp_odp_va_ok(struct rodp_odp *odp, unsigned long va, u64 len)
{
	return va + len >= va && va + len <= odp->va_end;
}

/**
 * rodp_odp_let_go - let go of the block a hold keeps (if any)
 * @hold: the hold (struct rodp_odp_hold); only its owner calls this
 */
void rodp_odp_let_go(struct rodp_odp_hold *hold)
{
	struct rodp_mr *mr = hold->mr;

	if (!mr)
		return;
	WARN_ON_ONCE(hold->owner != current);
	mutex_unlock(&hold->blk->lock);
	rodp_odp_block_unuse(&mr->odp, hold->blk);
	rodp_mr_put(mr);
	hold->mr = NULL;
	hold->blk = NULL;
	WRITE_ONCE(hold->owner, NULL);
}

/* The block of @va locked for @mr: the one @hold keeps, or another. */
static struct rodp_odp_block *rodp_odp_block_lock(struct rodp_mr *mr,
						  unsigned long va,
						  struct rodp_odp_hold *hold)
{
	struct rodp_odp_block *blk;

	if (hold && hold->mr == mr && va >= hold->blk->start &&
	    va < hold->blk->end)
		return hold->blk;
	if (hold)
		rodp_odp_let_go(hold);
	blk = rodp_odp_block_use(&mr->odp, va);
	if (!IS_ERR(blk))
		mutex_lock(&blk->lock);
	return blk;
}

/*
 * Done with @blk (rodp_odp_block_lock()): kept in @hold after a walk that
 * went well, else unlocked.
 */
static void rodp_odp_block_done(struct rodp_mr *mr,
				struct rodp_odp_block *blk,
				struct rodp_odp_hold *hold, bool keep)
{
	if (hold && hold->blk == blk) {
		if (!keep)
			rodp_odp_let_go(hold);
		return;
	}
	if (hold && keep) {
		refcount_inc(&mr->users);
		hold->mr = mr;
		hold->blk = blk;
		WRITE_ONCE(hold->owner, current);
		return;
	}
	mutex_unlock(&blk->lock);
	rodp_odp_block_unuse(&mr->odp, blk);
}

/**
 * rodp_odp_pages - walk a range of an ODP MR page by page
 * @mr: the ODP memory region, held
 * @iova: first byte, range-checked against the MR
 * @len: bytes
 * @ahead: bytes after the range the message will touch next
 * @write: the device writes into the range
 * @fn: called per piece, with the mirror's block locked: no invalidation
 *	of the page can pass until it returns (a reference @fn takes on the
 *	page keeps the page, not the mapping)
 * @priv: passed to @fn
 * @hold: NULL, or where the block of the range's end stays locked after a
 *	walk that went well, for the next packet of a train (struct
 *	rodp_odp_hold; a block it kept before is used again, or let go of)
 *
 * Faults in what is not mirrored, with the rest of the message in the
 * same block.  Process context.  rodp_mr_io() and rodp_mr_frags() for
 * an ODP MR.
 *
 * Return: 0, @fn's non-zero return, or a negative errno: -EFAULT or
 * -EPERM for memory that cannot be faulted (unmapped, PROT_NONE, a write
 * into a read-only mapping), -ESRCH when the process's address space is
 * gone (it is exiting), -EBUSY when faulting kept racing invalidations
 * past the deadline, -ENOMEM; -EWOULDBLOCK when the memory needs a fault
 * that may not sleep in this context (rodp_odp_may_sleep()): the caller
 * undoes what @fn did and retries from its work item.
 */
int rodp_odp_pages(struct rodp_mr *mr, u64 iova, u64 len, u64 ahead,
		   bool write, rodp_mr_page_fn fn, void *priv,
		   struct rodp_odp_hold *hold)
{
	struct rodp_odp *odp = &mr->odp;
	unsigned long va = rodp_odp_va(mr, iova);
	unsigned long ahead_end;
	int ret = 0;

	if (!rodp_odp_va_ok(odp, va, len))
		return -EFAULT;
	/* The hint never reaches past the mirrored range. */
	ahead_end = va + len;
	if (ahead && rodp_odp_va_ok(odp, va, len + ahead))
		ahead_end += ahead;
	else if (ahead)
		ahead_end = odp->va_end;
	while (len) {
		struct rodp_odp_block *blk = rodp_odp_block_lock(mr, va, hold);
		u64 n;

		if (IS_ERR(blk))
			return PTR_ERR(blk);
		n = min_t(u64, len, blk->end - va);
		ret = rodp_odp_block_io(blk, va, n, ahead_end, write, fn,
					priv);
		rodp_odp_block_done(mr, blk, hold, !ret && n == len);
		if (ret)
			return ret;
		va += n;
		len -= n;
	}
	return 0;
}

/* Mirror [@va, @va + @len) block by block; count the pages brought in. */
static int rodp_odp_prefetch_range(struct rodp_mr *mr, unsigned long va,
				   u64 len, bool write, bool fault,
				   unsigned long *pages)
{
	struct rodp_odp *odp = &mr->odp;
	unsigned long newly;
	int ret = 0;

	/* Deregistration waits for a queued prefetch: it stops early. */
	while (len && !READ_ONCE(mr->dying)) {
		struct rodp_odp_block *blk = rodp_odp_block_use(odp, va);
		u64 n;

		if (IS_ERR(blk))
			return PTR_ERR(blk);
		n = min_t(u64, len, blk->end - va);
		mutex_lock(&blk->lock);
		ret = rodp_odp_fault(blk, va, va + n, write, fault, 0,
				     &newly);
		mutex_unlock(&blk->lock);
		rodp_odp_block_unuse(odp, blk);
		if (ret) {
			rodp_odp_count(odp, RODP_CNT_ODP_FAULT_FAILS, 1);
			break;
		}
		*pages += newly;
		va += n;
		len -= n;
	}
	return ret;
}

/* One share of a prefetch that is waited for, run by a worker. */
struct rodp_prefetch_share {
	struct work_struct work;
	struct rodp_mr *mr;
	unsigned long va;
	u64 len;
	bool write, fault;
	unsigned long pages;
	int ret;
};

static void rodp_prefetch_share_run(struct work_struct *work)
{
	struct rodp_prefetch_share *sh =
		container_of(work, struct rodp_prefetch_share, work);

	sh->ret = rodp_odp_prefetch_range(sh->mr, sh->va, sh->len, sh->write,
					  sh->fault, &sh->pages);
}

/**
 * rodp_odp_prefetch - mirror a range of an ODP MR ahead of use
 * @mr: the ODP memory region, held
 * @iova: first byte, range-checked against the MR
 * @len: bytes
 * @advice: IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH (read), _PREFETCH_WRITE,
 *	or _PREFETCH_NO_FAULT (mirror only what is present, fault nothing)
 * @wait: the caller waits for it (advise_mr with FLUSH): a range of more
 *	than one block is split, whole blocks each, among this task and
 *	workers on the other online CPUs, which fault in parallel
 *
 * Return: 0 or a negative errno as rodp_odp_pages() (the first share's
 * error, when several fail).
 */
int rodp_odp_prefetch(struct rodp_mr *mr, u64 iova, u64 len,
		      enum ib_uverbs_advise_mr_advice advice, bool wait)
{
	struct rodp_odp *odp = &mr->odp;
	unsigned long va = rodp_odp_va(mr, iova);
	bool write = advice == IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_WRITE;
	bool fault = advice != IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT;
	struct rodp_prefetch_share *sh = NULL;
	unsigned long pages = 0, end = va + len, base, nb, per, start;
	unsigned int nsh = 0, i;
	int ret;

	if (!rodp_odp_va_ok(odp, va, len))
		return -EFAULT;
	rodp_odp_count(odp, RODP_CNT_ODP_PREFETCHES, 1);

	/* Shares of whole blocks: this task the first, workers the rest. */
	base = round_down(va, RODP_ODP_BLOCK_SIZE);
	nb = (round_up(end, RODP_ODP_BLOCK_SIZE) - base) >>
	     RODP_ODP_BLOCK_SHIFT;
	if (wait && nb > 1)
		nsh = min_t(unsigned long, num_online_cpus(), nb) - 1;
	if (nsh)
		sh = kcalloc(nsh, sizeof(*sh), GFP_KERNEL);
	if (!sh)
		nsh = 0;
	per = DIV_ROUND_UP(nb, nsh + 1) << RODP_ODP_BLOCK_SHIFT;
	for (i = 0; i < nsh; i++) {
		start = base + (i + 1) * per;
		if (start >= end) {
			nsh = i;
			break;
		}
		sh[i].mr = mr;
		sh[i].va = start;
		sh[i].len = min(end, start + per) - start;
		sh[i].write = write;
		sh[i].fault = fault;
		INIT_WORK(&sh[i].work, rodp_prefetch_share_run);
		queue_work(rodp_odp_wq, &sh[i].work);
	}
	if (nsh)
		len = sh[0].va - va;
	ret = rodp_odp_prefetch_range(mr, va, len, write, fault, &pages);
	for (i = 0; sh && i < nsh; i++) {
		flush_work(&sh[i].work);
		pages += sh[i].pages;
		if (!ret)
			ret = sh[i].ret;
	}
	kfree(sh);
	rodp_odp_count(odp, RODP_CNT_ODP_PREFETCH_PAGES, pages);
	return ret;
}

/* Drop the blocks of an implicit MR that an unmap left with nothing. */
static void rodp_odp_reap(struct work_struct *work)
{
	struct rodp_odp *odp = container_of(work, struct rodp_odp, reap_work);
	struct rodp_odp_block *blk;
	unsigned long idx;

	mutex_lock(&odp->lock);
	xa_for_each(&odp->blocks, idx, blk) {
		if (!READ_ONCE(blk->unmapped))
			continue;
		xa_erase(&odp->blocks, idx);
		rodp_odp_block_put(blk);
	}
	mutex_unlock(&odp->lock);
}

/**
 * rodp_odp_init - set up the mirror of a new ODP MR
 * @mr: the MR; ibmr.iova and ibmr.length are set
 * @mm: the address space it mirrors: the registering process's, or the
 *	one of the MR an ibv_rereg_mr without a new translation replaces
 * @start: user virtual address of ibmr.iova (0 for an implicit MR)
 * @implicit: the MR covers the whole address space
 *
 * Keeps @mm allocated (not alive) for the MR's lifetime.
 *
 * Return: 0 or -EFAULT (no user address space, or a range outside it).
 */
int rodp_odp_init(struct rodp_mr *mr, struct mm_struct *mm, u64 start,
		  bool implicit)
{
	struct rodp_odp *odp = &mr->odp;

	if (!mm)
		return -EFAULT;
	odp->implicit = implicit;
	odp->va_start = implicit ? 0 : start;
	odp->va_end = implicit ? mm->task_size : start + mr->ibmr.length;
	if (!implicit && (odp->va_end < start || odp->va_end > mm->task_size))
		return -EFAULT;
	mutex_init(&odp->lock);
	xa_init(&odp->blocks);
	odp->last = NULL;
	INIT_WORK(&odp->reap_work, rodp_odp_reap);
	rodp_mm_grab(mm);
	odp->mm = mm;
	return 0;
}

/**
 * rodp_odp_release - tear down the mirror of an ODP MR
 * @mr: the MR, out of the key space, with no users left
 *
 * Removes every block's notifier (waiting for running invalidations) and
 * lets go of the mm.
 */
void rodp_odp_release(struct rodp_mr *mr)
{
	struct rodp_odp *odp = &mr->odp;
	struct rodp_odp_block *blk;
	unsigned long idx;

	mutex_lock(&odp->lock);
	xa_for_each(&odp->blocks, idx, blk) {
		xa_erase(&odp->blocks, idx);
		rodp_odp_block_put(blk);
	}
	mutex_unlock(&odp->lock);
	/* No notifier is left that could queue it again. */
	cancel_work_sync(&odp->reap_work);
	xa_destroy(&odp->blocks);
	odp->last = NULL;
	rodp_mm_drop(odp->mm);
}

struct rodp_prefetch_work {
	struct work_struct work;
	enum ib_uverbs_advise_mr_advice advice;
	u32 num;
	struct {
		struct rodp_mr *mr;
		u64 addr;
		u32 length;
	} sge[];
};

static void rodp_prefetch_run(struct work_struct *work)
{
	struct rodp_prefetch_work *pw =
		container_of(work, struct rodp_prefetch_work, work);
	u32 i;

	/* Best effort: a range that cannot be faulted is left alone. */
	for (i = 0; i < pw->num; i++) {
		rodp_odp_prefetch(pw->sge[i].mr, pw->sge[i].addr,
				  pw->sge[i].length, pw->advice, false);
		rodp_mr_put(pw->sge[i].mr);
	}
	kfree(pw);
}

/*
 * advise_mr: the MRs are looked up and checked first, then prefetched
 * here (IB_UVERBS_ADVISE_MR_FLAG_FLUSH) or by a work item.  Errors follow
 * ibv_advise_mr(3): EFAULT for an unknown lkey, a range outside the MR or
 * write advice on an MR without local write; EINVAL for an MR that is
 * not ODP or an unknown advice.
 */
static int rodp_advise_mr(struct ib_pd *pd,
			  enum ib_uverbs_advise_mr_advice advice, u32 flags,
			  struct ib_sge *sg_list, u32 num_sge,
			  struct uverbs_attr_bundle *attrs)
{
	struct rodp_dev *rdev = to_rdev(pd->device);
	int access = advice == IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_WRITE ?
		     IB_ACCESS_LOCAL_WRITE : 0;
	struct rodp_prefetch_work *pw;
	u32 i, got = 0;
	int err = 0;

	if (advice > IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT ||
	    flags & ~IB_UVERBS_ADVISE_MR_FLAG_FLUSH)
		return -EINVAL;

	pw = kzalloc(struct_size(pw, sge, num_sge), GFP_KERNEL);
	if (!pw)
		return -ENOMEM;
	for (i = 0; i < num_sge; i++) {
		struct rodp_mr *mr = rodp_mr_get(rdev, sg_list[i].lkey, pd,
						 access, sg_list[i].addr,
						 sg_list[i].length);

		if (IS_ERR(mr)) {
			err = -EFAULT;
			goto err_put;
		}
		pw->sge[got].mr = mr;
		pw->sge[got].addr = sg_list[i].addr;
		pw->sge[got].length = sg_list[i].length;
		got++;
		if (mr->kind != RODP_MR_ODP) {
			err = -EINVAL;
			goto err_put;
		}
	}
	pw->num = got;
	pw->advice = advice;

	if (!(flags & IB_UVERBS_ADVISE_MR_FLAG_FLUSH)) {
		INIT_WORK(&pw->work, rodp_prefetch_run);
		queue_work(rodp_odp_wq, &pw->work);
		return 0;
	}
	for (i = 0; i < got && !err; i++)
		err = rodp_odp_prefetch(pw->sge[i].mr, pw->sge[i].addr,
					pw->sge[i].length, advice, true);
	if (err == -EPERM || err == -EBUSY || err == -ESRCH)
		err = -EFAULT;
err_put:
	for (i = 0; i < got; i++)
		rodp_mr_put(pw->sge[i].mr);
	kfree(pw);
	return err;
}

static const char *const rodp_odp_attr_names[RODP_ODP_NCNT] = {
	[RODP_CNT_ODP_FAULTS - RODP_CNT_ODP_FIRST] = "odp_faults",
	[RODP_CNT_ODP_FAULT_PAGES - RODP_CNT_ODP_FIRST] = "odp_fault_pages",
	[RODP_CNT_ODP_FAULT_FAILS - RODP_CNT_ODP_FIRST] = "odp_fault_fails",
	[RODP_CNT_ODP_FAULT_NS - RODP_CNT_ODP_FIRST] = "odp_fault_ns",
	[RODP_CNT_ODP_INVALIDATIONS - RODP_CNT_ODP_FIRST] =
		"odp_invalidations",
	[RODP_CNT_ODP_INVAL_PAGES - RODP_CNT_ODP_FIRST] = "odp_inval_pages",
	[RODP_CNT_ODP_PREFETCHES - RODP_CNT_ODP_FIRST] = "odp_prefetches",
	[RODP_CNT_ODP_PREFETCH_PAGES - RODP_CNT_ODP_FIRST] =
		"odp_prefetch_pages",
};

/*
 * `rdma resource show mr -dd`: the kind of MR and, for ODP, its own
 * counters and how many blocks it mirrors.
 */
static int rodp_fill_odp_attrs(struct sk_buff *msg, struct rodp_mr *mr)
{
	struct rodp_odp_block *blk;
	unsigned long idx;
	u32 blocks = 0;
	int i;

	if (mr->kind != RODP_MR_ODP)
		return rdma_nl_put_driver_string(msg, "kind", "pinned");
	if (rdma_nl_put_driver_string(msg, "kind", mr->odp.implicit ?
				      "odp-implicit" : "odp"))
		return -EMSGSIZE;
	rcu_read_lock();
	xa_for_each(&mr->odp.blocks, idx, blk)
		blocks++;
	rcu_read_unlock();
	if (rdma_nl_put_driver_u32(msg, "odp_blocks", blocks))
		return -EMSGSIZE;
	for (i = 0; i < RODP_ODP_NCNT; i++)
		if (rdma_nl_put_driver_u64(msg, rodp_odp_attr_names[i],
					   atomic64_read(&mr->odp.cnt[i])))
			return -EMSGSIZE;
	return 0;
}

static int rodp_fill_res_mr_entry(struct sk_buff *msg, struct ib_mr *ibmr)
{
	struct nlattr *table;

	table = nla_nest_start_noflag(msg, RDMA_NLDEV_ATTR_DRIVER);
	if (!table)
		return -EMSGSIZE;
	if (rodp_fill_odp_attrs(msg, to_rmr(ibmr))) {
		nla_nest_cancel(msg, table);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, table);
	return 0;
}

const struct ib_device_ops rodp_odp_ops = {
	.advise_mr = rodp_advise_mr,
	.fill_res_mr_entry = rodp_fill_res_mr_entry,
};

/**
 * rodp_odp_module_init - the workqueue of prefetches and block reaping
 *
 * Also creates debugfs rodp/mm_refs (read-only: the mm references rodp
 * holds now, "grabs N", "gets N" and "umems N" lines), removed with
 * rodp_debugfs_root.
 *
 * Return: 0 or -ENOMEM.
 */
int rodp_odp_module_init(void)
{
	rodp_odp_wq = alloc_workqueue("rodp_odp", WQ_UNBOUND, 0);
	if (!rodp_odp_wq)
		return -ENOMEM;
	debugfs_create_file("mm_refs", 0444, rodp_debugfs_root, NULL,
			    &rodp_mm_refs_fops);
	return 0;
}

/**
 * rodp_odp_module_exit - wait for queued prefetches, free the workqueue
 */
void rodp_odp_module_exit(void)
{
	destroy_workqueue(rodp_odp_wq);
}
