// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: the work queues (SQ and RQ) a QP shares with its user: rings in
 * vmalloc_user() memory that the provider maps and posts into, and the
 * kernel's own copies of the WQEs it works on.  A kernel consumer's QP
 * has the same rings, not offered to mmap(): the kernel verbs post into
 * them (rodp_kverbs.c), and the transport reads them as any other.
 *
 * Nothing in a ring is trusted: the producer index is checked against
 * what the kernel already fetched (rodp_wq_prod()), and a WQE is copied
 * into kernel memory (rodp_wq_fetch()) before anything looks at it.
 */

#include <linux/log2.h>
#include <linux/vmalloc.h>
#include <rdma/uverbs_ioctl.h>

#include "rodp.h"

/* The WQE formats are ABI: their sizes are fixed. */
static_assert(sizeof(struct rodp_sge) == 16, "SGE size is ABI");
static_assert(sizeof(struct rodp_swqe) == 64, "send WQE header size is ABI");
static_assert(sizeof(struct rodp_rwqe) == 16,
	      "receive WQE header size is ABI");

/**
 * rodp_wq_slot - kernel copy of a work queue slot
 * @wq: the work queue
 * @idx: free-running index
 *
 * Return: the slot in @wq->copy.
 */
void *rodp_wq_slot(struct rodp_wq *wq, u32 idx)
{
	return wq->copy + rcore_ring_slot_off(wq->log2_slots, wq->slot_size,
					      idx);
}

static void *rodp_wq_user_slot(struct rodp_wq *wq, u32 idx)
{
	return (u8 *)wq->ring + RODP_RING_HDR_SIZE +
	       rcore_ring_slot_off(wq->log2_slots, wq->slot_size, idx);
}

/**
 * rodp_wq_ring_slot - a slot of the ring itself, where the producer writes
 * @wq: the work queue
 * @idx: free-running index
 *
 * Return: the slot in @wq->ring (for the kernel verbs' producer).
 */
void *rodp_wq_ring_slot(struct rodp_wq *wq, u32 idx)
{
	return rodp_wq_user_slot(wq, idx);
}

/**
 * rodp_wq_prod - the user's producer index, as far as it can be trusted
 * @wq: the work queue
 *
 * The index must lie between what we fetched (head) and a ring ahead of
 * our consumer.  Anything else (a producer gone backwards, or beyond the
 * ring) posts nothing new, so that no walk from head to the producer is
 * ever longer than one ring, whatever userspace writes.
 *
 * Return: the producer index, or @wq->head when it cannot be trusted.
 */
u32 rodp_wq_prod(struct rodp_wq *wq)
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

/**
 * rodp_wq_retire - retire the oldest fetched WQE and publish its slot free
 * @wq: the work queue; the caller checked that a fetched WQE is left
 */
void rodp_wq_retire(struct rodp_wq *wq)
{
	wq->cons++;
	rcore_store_release_u32(&wq->ring->cons, wq->cons);
}

/**
 * rodp_wq_take - copy the oldest posted WQE out and retire it at once
 * @wq: the work queue (of an SRQ: the taker keeps its own copy, and the
 *	slot is free as soon as it is copied)
 * @dst: where the copy goes, @wq->slot_size bytes
 * @left: set to the WQEs still posted after this one
 *
 * The caller serialises takers.  The producer index is checked as in
 * rodp_wq_prod(), but here a producer more than a ring ahead is reported
 * rather than ignored: the ring is corrupt.
 *
 * Return: 0, -ENOENT when nothing is posted, -EIO for a corrupt producer
 * index.
 */
int rodp_wq_take(struct rodp_wq *wq, void *dst, u32 *left)
{
	u32 prod = rcore_load_acquire_u32(&wq->ring->prod);
	u32 posted = rcore_ring_count(prod, wq->cons);

	if (posted > (1u << wq->log2_slots))
		return -EIO;
	if (!posted)
		return -ENOENT;
	memcpy(dst, rodp_wq_user_slot(wq, wq->cons), wq->slot_size);
	wq->cons++;
	wq->head = wq->cons;
	rcore_store_release_u32(&wq->ring->cons, wq->cons);
	*left = posted - 1;
	return 0;
}

/**
 * rodp_wq_carry - carry the WQEs posted and not yet taken over to a new ring
 * @to: the new work queue, fresh from rodp_wq_alloc(), same slot size
 * @from: the old one; the caller keeps its takers out
 *
 * The WQEs keep their free-running indexes: @to continues where @from
 * stands, with the user's producer index.  They are copied as they are:
 * each is checked when it is taken.
 *
 * Return: 0, -EIO when @from's producer index is corrupt, -ENOSPC when
 * more WQEs are posted than @to holds.
 */
int rodp_wq_carry(struct rodp_wq *to, struct rodp_wq *from)
{
	u32 prod = rcore_load_acquire_u32(&from->ring->prod);
	u32 posted = rcore_ring_count(prod, from->cons);
	u32 i;

	if (posted > (1u << from->log2_slots))
		return -EIO;
	if (posted > (1u << to->log2_slots))
		return -ENOSPC;
	for (i = from->cons; i != prod; i++)
		memcpy(rodp_wq_user_slot(to, i), rodp_wq_user_slot(from, i),
		       to->slot_size);
	to->cons = from->cons;
	to->head = from->cons;
	to->ring->cons = from->cons;
	rcore_store_release_u32(&to->ring->prod, prod);
	return 0;
}

/**
 * rodp_wq_restart - start again with an empty ring at the user's
 * producer index (RESET)
 * @wq: the work queue
 */
void rodp_wq_restart(struct rodp_wq *wq)
{
	wq->cons = rcore_load_acquire_u32(&wq->ring->prod);
	wq->head = wq->cons;
	rcore_store_release_u32(&wq->ring->cons, wq->cons);
}

/**
 * rodp_wq_alloc - allocate a ring and offer it to mmap()
 * @wq: the work queue to set up
 * @wr: work requests it must hold (at least; rounded up to a power of 2)
 * @slot_size: bytes per slot
 * @udata: the udata of create_qp (names the user context), or NULL for
 *	a ring no one maps (an XRC target's SQ, a kernel consumer's rings)
 *
 * Return: 0 or a negative errno; on failure nothing is left allocated.
 */
int rodp_wq_alloc(struct rodp_wq *wq, u32 wr, u32 slot_size,
		  struct ib_udata *udata)
{
	u32 slots = roundup_pow_of_two(max_t(u32, wr, 1));
	struct rodp_mmap_entry *entry;
	size_t size;
	int err;

	wq->log2_slots = ilog2(slots);
	wq->slot_size = slot_size;
	size = rodp_wq_map_size(wq);
	wq->ring = vmalloc_user(size);
	if (!wq->ring)
		return -ENOMEM;
	wq->ring->log2_slots = wq->log2_slots;
	wq->ring->slot_size = slot_size;

	wq->copy = kvcalloc(slots, slot_size, GFP_KERNEL);
	if (!wq->copy) {
		err = -ENOMEM;
		goto err_free_ring;
	}

	/* No udata: a ring of the kernel's own (XRC target, kernel verbs). */
	if (!udata)
		return 0;
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

/**
 * rodp_wq_free - undo rodp_wq_alloc()
 * @wq: the work queue
 *
 * The mmap entry frees the ring once no mapping of it is left; a ring
 * no one maps goes at once.
 */
void rodp_wq_free(struct rodp_wq *wq)
{
	if (wq->mmap_entry)
		rdma_user_mmap_entry_remove(&wq->mmap_entry->rdma);
	else
		vfree(wq->ring);
	kvfree(wq->copy);
	wq->mmap_entry = NULL;
	wq->ring = NULL;
	wq->copy = NULL;
}

/**
 * rodp_wq_map_size - bytes of @wq's ring, header included, for mmap()
 * @wq: the work queue
 *
 * Return: the size, page aligned.
 */
size_t rodp_wq_map_size(const struct rodp_wq *wq)
{
	return PAGE_ALIGN(RODP_RING_HDR_SIZE +
			  ((size_t)wq->slot_size << wq->log2_slots));
}
