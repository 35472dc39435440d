// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: memory regions, their keys, and the one way the device touches
 * memory: rodp_mr_io().
 *
 * Every kind of MR sits behind the same lookup (rodp_mr_get: key, PD,
 * access and range checked, a reference taken) and the same accessor
 * (rodp_mr_io: walk a range as kernel-mapped pieces).  Callers run in
 * process context and may sleep in rodp_mr_io(), so an MR kind whose pages
 * must first be faulted in (ODP) fits behind the same interface.
 *
 * Keys: lkey == rkey == (index << 8) | generation, the index from a
 * per-device xarray; the generation byte changes at every reuse of an
 * index so a stale key does not find a new MR.  ibv_rereg_mr keeps both:
 * the re-registered MR takes the old one's index and generation.
 */

#include <linux/highmem.h>
#include <linux/indirect_call_wrapper.h>
#include <linux/sched/mm.h>
#include <rdma/ib_umem.h>

#include "rodp.h"


/**
 * rodp_mr_insert - give a new MR keys and publish it
 * @rdev: the device
 * @mr: the MR, complete but for its keys and reference count
 *
 * The index is reserved first (a NULL entry: xa_load() returns NULL
 * there), the keys are set, and only then is the MR stored: a lookup
 * never finds it before its keys are set.
 *
 * Return: 0 or a negative errno.
 */
int rodp_mr_insert(struct rodp_dev *rdev, struct rodp_mr *mr)
{
	void *old;
	u32 index;
	int err;

	refcount_set(&mr->users, 1);
	init_completion(&mr->released);

	err = xa_alloc_cyclic(&rdev->mr_xa, &index, NULL,
			      XA_LIMIT(1, RODP_MAX_MR),
			      &rdev->mr_next, GFP_KERNEL);
	if (err < 0)
		return err == -EBUSY ? -ENOMEM : err;

	mr->ibmr.lkey = index << 8 | (atomic_inc_return(&rdev->mr_gen) & 0xff);
	mr->ibmr.rkey = mr->ibmr.lkey;

	old = xa_store(&rdev->mr_xa, index, mr, GFP_KERNEL);
	if (xa_is_err(old)) {
		xa_erase(&rdev->mr_xa, index);
		return xa_err(old);
	}
	return 0;
}

/*
 * ibv_rereg_mr: @mr, complete with the changes, takes @old's keys and
 * @old's place in the key space in one store.  A lookup finds one or the
 * other, whole; users that found @old go on with it until they drop it.
 * @old keeps its reference until it is deregistered, and
 * rodp_mr_remove() then leaves the index, now @mr's, alone.
 */
static int rodp_mr_replace(struct rodp_dev *rdev, struct rodp_mr *old,
			   struct rodp_mr *mr)
{
	void *cur;

	refcount_set(&mr->users, 1);
	init_completion(&mr->released);
	mr->ibmr.lkey = old->ibmr.lkey;
	mr->ibmr.rkey = old->ibmr.rkey;

	/* A present entry is replaced in place: nothing is allocated. */
	cur = xa_cmpxchg(&rdev->mr_xa, old->ibmr.lkey >> 8, old, mr,
			 GFP_KERNEL);
	if (xa_is_err(cur))
		return xa_err(cur);
	/* The core serialises rereg and dereg of an MR (uobject lock). */
	return cur == old ? 0 : -EINVAL;
}

/*
 * Take the MR out of the key space, unless a rereg already put another
 * MR at its index, then wait until nobody who found it before is still
 * using it.
 */
static void rodp_mr_remove(struct rodp_dev *rdev, struct rodp_mr *mr)
{
	xa_cmpxchg(&rdev->mr_xa, mr->ibmr.lkey >> 8, mr, NULL, GFP_KERNEL);
	WRITE_ONCE(mr->dying, true);
	rodp_mr_put(mr);
	wait_for_completion(&mr->released);
}

/**
 * rodp_mr_put - drop a reference taken by rodp_mr_get()
 * @mr: the memory region
 */
void rodp_mr_put(struct rodp_mr *mr)
{
	if (refcount_dec_and_test(&mr->users))
		complete(&mr->released);
}

/**
 * rodp_mr_get - find the MR a key names and check an access through it
 * @rdev: the device
 * @key: lkey or rkey
 * @pd: the PD the access comes from (the QP's)
 * @access: IB_ACCESS_* rights the access needs (0 for a local read)
 * @iova: first byte accessed
 * @len: bytes accessed (0 is allowed and checks only the key)
 *
 * Return: the MR with a reference held, or an ERR_PTR: -ENOENT for an
 * unknown key, -EACCES for a PD or access mismatch, -ERANGE for a range
 * outside the MR.  Callers map these to completion statuses or NAKs.
 */
struct rodp_mr *rodp_mr_get(struct rodp_dev *rdev, u32 key, struct ib_pd *pd,
			    int access, u64 iova, u64 len)
{
	struct rodp_mr *mr;
	int err = 0;

	rcu_read_lock();
	mr = xa_load(&rdev->mr_xa, key >> 8);
	/* A tagged entry is a memory window's (rodp_mw.c): not an MR. */
	/* A fast-registration MR's key is its own (rodp_frmr_check()). */
	if (!mr || xa_pointer_tag(mr) ||
	    (mr->kind != RODP_MR_FAST && mr->ibmr.lkey != key) ||
	    !refcount_inc_not_zero(&mr->users))
		mr = NULL;
	rcu_read_unlock();
	if (!mr)
		return ERR_PTR(-ENOENT);

	if (mr->kind == RODP_MR_FAST)
		err = mr->ibmr.pd != pd ? -EACCES :
		      rodp_frmr_check(mr, key, access, iova, len);
	else if (mr->ibmr.pd != pd || (mr->access & access) != access)
		err = -EACCES;
	else if (len && (iova < mr->ibmr.iova || len > mr->ibmr.length ||
			 iova - mr->ibmr.iova > mr->ibmr.length - len))
		err = -ERANGE;
	if (err) {
		rodp_mr_put(mr);
		return ERR_PTR(err);
	}
	return mr;
}

/* rodp_mr_io()'s function, called from a walk by pages. */
struct rodp_kmap_ctx {
	rodp_mr_io_fn fn;
	void *priv;
};

/**
 * rodp_kmap_piece - rodp_mr_io()'s page walk function for ODP MRs
 * @priv: a struct rodp_kmap_ctx
 * @page: the page
 * @off: first byte in it
 * @len: bytes
 *
 * Maps the piece and hands it to the rodp_mr_io() caller's function.
 * Not static so that rodp_odp_pages() can call it directly
 * (INDIRECT_CALL_2: no retpoline per piece).
 *
 * Return: what that function returns.
 */
int rodp_kmap_piece(void *priv, struct page *page, u32 off, u32 len)
{
	struct rodp_kmap_ctx *k = priv;
	void *kaddr = kmap_local_page(page);
	int ret;

	ret = INDIRECT_CALL_1(k->fn, rodp_copy_piece, k->priv, kaddr + off,
			      len);
	kunmap_local(kaddr);
	return ret;
}

/*
 * rodp_mr_io() for a packet of a train: an ODP MR's block may stay locked
 * in @hold for the next packet (rodp_odp_pages()).
 */
static int rodp_mr_io_held(struct rodp_mr *mr, u64 iova, u64 len, u64 ahead,
			   bool write, rodp_mr_io_fn fn, void *priv,
			   struct rodp_odp_hold *hold)
{
	struct rodp_kmap_ctx k = { .fn = fn, .priv = priv };
	u64 off, chunk;
	void *kaddr;
	int ret = 0;

	might_sleep();

	if (mr->kind == RODP_MR_DMA)
		return len ? fn(priv, (void *)(uintptr_t)iova, len) : 0;
	if (mr->kind == RODP_MR_FAST)
		return len ? rodp_frmr_io(mr, iova, len, fn, priv) : 0;
	if (mr->kind == RODP_MR_ODP)
		return len ? rodp_odp_pages(mr, iova, len, ahead, write,
					    rodp_kmap_piece, &k, hold) : 0;

	/* Offset of iova from the start of the MR's first page. */
	off = (mr->start & ~PAGE_MASK) + (iova - mr->ibmr.iova);
	while (len) {
		struct page *page = mr->pages[off >> PAGE_SHIFT];

		chunk = min_t(u64, len, PAGE_SIZE - (off & ~PAGE_MASK));
		kaddr = kmap_local_page(page);
		ret = INDIRECT_CALL_1(fn, rodp_copy_piece, priv,
				      kaddr + (off & ~PAGE_MASK), chunk);
		kunmap_local(kaddr);
		if (ret)
			return ret;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

/**
 * rodp_mr_io - walk a range of an MR as kernel-mapped pieces
 * @mr: a memory region the caller holds (rodp_mr_get)
 * @iova: first byte, already range-checked
 * @len: bytes
 * @ahead: how many bytes after the range the caller will touch next in
 *	the same message (a hint: an ODP MR faults them in together)
 * @write: the device writes into the range (an ODP MR must mirror the
 *	pages writable)
 * @fn: called for each piece in order with a kernel address and a length;
 *	a non-zero return stops the walk and is returned
 * @priv: passed to @fn
 *
 * Process context: may sleep (an ODP MR faults pages in here).  A piece
 * never crosses a page of the MR.
 *
 * Return: 0, @fn's non-zero return, or a negative errno.
 */
int rodp_mr_io(struct rodp_mr *mr, u64 iova, u64 len, u64 ahead,
	       bool write, rodp_mr_io_fn fn, void *priv)
{
	return rodp_mr_io_held(mr, iova, len, ahead, write, fn, priv, NULL);
}

/*
 * A kernel buffer copied piece by piece to or from an MR range; or a
 * received packet's payload (@skb from @skb_off: its page fragments, when
 * the sender left them there) into one.
 */
struct rodp_copy_ctx {
	u8 *buf;
	const struct sk_buff *skb;
	u32 skb_off;
	bool to_mr;
	struct rodp_odp_hold *hold;
};

/* rodp_mr_io()'s function for the copies (declared in rodp.h). */
int rodp_copy_piece(void *priv, void *kaddr, u64 len)
{
	struct rodp_copy_ctx *c = priv;

	if (c->skb) {
		if (skb_copy_bits(c->skb, c->skb_off, kaddr, len))
			return -EFAULT;
		c->skb_off += len;
		return 0;
	}
	if (c->to_mr)
		memcpy(kaddr, c->buf, len);
	else
		memcpy(c->buf, kaddr, len);
	c->buf += len;
	return 0;
}

/**
 * rodp_mr_copy - copy between a kernel buffer and a range of an MR
 * @mr: a memory region the caller holds (rodp_mr_get)
 * @iova: first byte, already range-checked
 * @len: bytes
 * @ahead: bytes of the message after the range (as for rodp_mr_io())
 * @buf: the kernel buffer, @len bytes
 * @to_mr: true to write @buf into the MR, false to read the MR into @buf
 *
 * Process context: may sleep (ODP).
 *
 * Return: 0 or a negative errno from rodp_mr_io().
 */
int rodp_mr_copy(struct rodp_mr *mr, u64 iova, u64 len, u64 ahead,
		 void *buf, bool to_mr)
{
	struct rodp_copy_ctx c = { .buf = buf, .to_mr = to_mr };

	return rodp_mr_io(mr, iova, len, ahead, to_mr, rodp_copy_piece, &c);
}

/* The copy context of bytes @off.. of a received packet's payload. */
static struct rodp_copy_ctx rodp_rx_ctx(const struct rodp_rx *rx, u32 off)
{
	if (rx->payload)
		return (struct rodp_copy_ctx){
			.buf = (u8 *)rx->payload + off, .to_mr = true,
			.hold = rx->hold };
	return (struct rodp_copy_ctx){ .skb = rx->skb,
				       .skb_off = rx->payload_off + off,
				       .to_mr = true, .hold = rx->hold };
}

/**
 * rodp_mr_copy_rx - copy a received packet's payload into an MR range
 * @mr: a memory region the caller holds (rodp_mr_get)
 * @iova: first byte, already range-checked
 * @len: bytes
 * @ahead: as for rodp_mr_io()
 * @rx: the packet: its payload in skb->data, or in page fragments of
 *	the sender's memory (a packet handed over on this host)
 * @off: first byte of the payload to copy
 *
 * Process context: may sleep (ODP).
 *
 * Return: 0 or a negative errno from rodp_mr_io().
 */
int rodp_mr_copy_rx(struct rodp_mr *mr, u64 iova, u64 len, u64 ahead,
		    const struct rodp_rx *rx, u32 off)
{
	struct rodp_copy_ctx c = rodp_rx_ctx(rx, off);

	return rodp_mr_io_held(mr, iova, len, ahead, true, rodp_copy_piece,
			       &c, c.hold);
}

/*
 * Walk @len bytes of an SGE list from byte @off: @fn on each piece, in
 * its MR (looked up with @access, held for the call), with the bytes of
 * that SGE after the piece (@ahead, for ODP).
 */
static int rodp_sge_walk(struct rodp_qp *qp, const struct rodp_sge *sge,
			 u32 num_sge, u32 off, u32 len, int access,
			 int (*fn)(struct rodp_mr *mr, u64 iova, u32 n,
				   u64 ahead, void *priv),
			 void *priv)
{
	struct rodp_mr *mr;
	u32 i, n;
	int err;

	for (i = 0; i < num_sge && len; i++) {
		if (off >= sge[i].length) {
			off -= sge[i].length;
			continue;
		}
		n = min(len, sge[i].length - off);
		mr = rodp_mr_get(qp->rdev, sge[i].lkey, rodp_qp_pd(qp), access,
				 sge[i].addr + off, n);
		/* The MR's -ERANGE is not the list's: not a length error. */
		if (IS_ERR(mr))
			return PTR_ERR(mr) == -ERANGE ? -EFAULT : PTR_ERR(mr);
		err = fn(mr, sge[i].addr + off, n, sge[i].length - off - n,
			 priv);
		rodp_mr_put(mr);
		if (err)
			return err;
		len -= n;
		off = 0;
	}
	return len ? -ERANGE : 0;
}

static int rodp_sge_copy_piece(struct rodp_mr *mr, u64 iova, u32 n,
			       u64 ahead, void *priv)
{
	struct rodp_copy_ctx *c = priv;

	return rodp_mr_io_held(mr, iova, n, ahead, c->to_mr, rodp_copy_piece,
			       c, c->hold);
}

/* rodp_sge_copy() and rodp_sge_copy_rx(), the copy in @c. */
static int rodp_sge_copy_ctx(struct rodp_qp *qp, const struct rodp_sge *sge,
			     u32 num_sge, u32 off, struct rodp_copy_ctx *c,
			     u32 len)
{
	return rodp_sge_walk(qp, sge, num_sge, off, len,
			     c->to_mr ? IB_ACCESS_LOCAL_WRITE : 0,
			     rodp_sge_copy_piece, c);
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
	struct rodp_copy_ctx c = { .buf = buf, .to_mr = to_sge };

	return rodp_sge_copy_ctx(qp, sge, num_sge, off, &c, len);
}

/*
 * @len bytes of @page from @off as the next fragment of @skb (priv): the
 * last fragment made longer when they follow it in its page, else a new
 * one holding the page.  One slot is always left free (a packet's
 * trailer).
 */
int rodp_frag_piece(void *priv, struct page *page, u32 off, u32 len)
{
	struct sk_buff *skb = priv;
	int i = skb_shinfo(skb)->nr_frags;
	skb_frag_t *f = i ? &skb_shinfo(skb)->frags[i - 1] : NULL;

	if (f && skb_frag_page(f) == page &&
	    skb_frag_off(f) + skb_frag_size(f) == off) {
		skb_coalesce_rx_frag(skb, i - 1, len, len);
		return 0;
	}
	if (i >= MAX_SKB_FRAGS - 1)
		return -EOPNOTSUPP;
	get_page(page);
	skb_add_rx_frag(skb, i, page, off, len, len);
	return 0;
}

/**
 * rodp_mr_frags - add a range of an MR to an skb as page fragments
 * @mr: the memory region, held
 * @iova: first byte, range-checked
 * @len: bytes
 * @ahead: bytes of the message after the range (as for rodp_mr_io())
 * @skb: the packet; each page is held (get_page()) until it is freed
 * @hold: NULL, or a train's hold of an ODP block (rodp_odp_pages())
 *
 * For a packet handed over on this host: the receiver copies the bytes
 * straight from the MR's pages.  Bytes that follow the skb's last
 * fragment in its page make it longer (a train's packets, one after the
 * other).  One fragment slot is always left free (the packet's trailer).
 * An ODP MR's pages are faulted in as for a copy and taken while the
 * mirror holds them: an invalidation after that does not wait for the
 * skb (the page stays, the receiver reads what the page held, as a copy
 * made a moment earlier would), and the skb never leaves the host with
 * them (rodp_out() copies a packet whose way changed).  Process context:
 * may sleep (ODP).
 *
 * Return: 0; -EOPNOTSUPP when the MR is neither pinned user memory nor
 * ODP or the skb has too few fragment slots left (the caller copies
 * instead); or an error of reading an ODP MR, as rodp_mr_io().  On an
 * error, fragments already added stay, with the skb.
 */
int rodp_mr_frags(struct rodp_mr *mr, u64 iova, u64 len, u64 ahead,
		  struct sk_buff *skb, struct rodp_odp_hold *hold)
{
	u64 off, chunk;
	int ret;

	if (mr->kind == RODP_MR_ODP)
		return len ? rodp_odp_pages(mr, iova, len, ahead, false,
					    rodp_frag_piece, skb, hold) : 0;
	if (mr->kind != RODP_MR_USER)
		return -EOPNOTSUPP;
	off = (mr->start & ~PAGE_MASK) + (iova - mr->ibmr.iova);
	while (len) {
		chunk = min_t(u64, len, PAGE_SIZE - (off & ~PAGE_MASK));
		ret = rodp_frag_piece(skb, mr->pages[off >> PAGE_SHIFT],
				      off & ~PAGE_MASK, chunk);
		if (ret)
			return ret;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

struct rodp_frags_ctx {
	struct sk_buff *skb;
	struct rodp_odp_hold *hold;
};

static int rodp_sge_frags_piece(struct rodp_mr *mr, u64 iova, u32 n,
				u64 ahead, void *priv)
{
	struct rodp_frags_ctx *f = priv;

	return rodp_mr_frags(mr, iova, n, ahead, f->skb, f->hold);
}

/**
 * rodp_sge_frags - rodp_mr_frags() over a list of local SGEs
 * @qp: the queue pair whose PD the SGEs' lkeys must belong to
 * @sge: the SGE list
 * @num_sge: entries in @sge
 * @off: byte offset into the concatenated SGEs
 * @len: bytes
 * @skb: the packet
 * @hold: as for rodp_mr_frags()
 *
 * Return: 0; -EOPNOTSUPP as rodp_mr_frags(); else what rodp_sge_copy()
 * would return for these SGEs.
 */
int rodp_sge_frags(struct rodp_qp *qp, const struct rodp_sge *sge,
		   u32 num_sge, u32 off, u32 len, struct sk_buff *skb,
		   struct rodp_odp_hold *hold)
{
	struct rodp_frags_ctx f = { .skb = skb, .hold = hold };

	return rodp_sge_walk(qp, sge, num_sge, off, len, 0,
			     rodp_sge_frags_piece, &f);
}

/**
 * rodp_sge_copy_rx - rodp_sge_copy() of a received packet's payload
 * @qp: the queue pair whose PD the SGEs' lkeys must belong to
 * @sge: the SGE list
 * @num_sge: entries in @sge
 * @sge_off: byte offset into the concatenated SGEs
 * @rx: the packet (see rodp_mr_copy_rx())
 * @off: first byte of its payload to copy
 * @len: bytes
 *
 * Return: as rodp_sge_copy().
 */
int rodp_sge_copy_rx(struct rodp_qp *qp, const struct rodp_sge *sge,
		     u32 num_sge, u32 sge_off, const struct rodp_rx *rx,
		     u32 off, u32 len)
{
	struct rodp_copy_ctx c = rodp_rx_ctx(rx, off);

	return rodp_sge_copy_ctx(qp, sge, num_sge, sge_off, &c, len);
}

static struct ib_mr *rodp_get_dma_mr(struct ib_pd *ibpd, int access)
{
	struct rodp_dev *rdev = to_rdev(ibpd->device);
	struct rodp_mr *mr;
	int err;

	mr = kzalloc(sizeof(*mr), GFP_KERNEL);
	if (!mr)
		return ERR_PTR(-ENOMEM);
	mr->kind = RODP_MR_DMA;
	mr->access = access;
	mr->ibmr.pd = ibpd;
	mr->ibmr.iova = 0;
	mr->ibmr.length = U64_MAX;

	err = rodp_mr_insert(rdev, mr);
	if (err) {
		kfree(mr);
		return ERR_PTR(err);
	}
	return &mr->ibmr;
}

/* The page array rodp_mr_io() walks, from the umem's scatter list. */
static int rodp_mr_collect_pages(struct rodp_mr *mr)
{
	struct sg_page_iter iter;
	unsigned long i = 0;

	mr->npages = ib_umem_num_pages(mr->umem);
	mr->pages = kvcalloc(mr->npages, sizeof(*mr->pages), GFP_KERNEL);
	if (!mr->pages)
		return -ENOMEM;

	for_each_sgtable_page(&mr->umem->sgt_append.sgt, &iter, 0) {
		if (WARN_ON_ONCE(i >= mr->npages))
			return -EFAULT;
		mr->pages[i++] = sg_page_iter_page(&iter);
	}
	return i == mr->npages ? 0 : -EFAULT;
}

/* A new user MR's common part; its kind's own set-up comes next. */
static struct rodp_mr *rodp_mr_alloc(struct ib_pd *ibpd, enum rodp_mr_kind kind,
				     u64 start, u64 length, u64 iova,
				     int access)
{
	struct rodp_mr *mr = kzalloc(sizeof(*mr), GFP_KERNEL);

	if (!mr)
		return NULL;
	mr->kind = kind;
	mr->access = access;
	mr->start = start;
	mr->ibmr.pd = ibpd;
	mr->ibmr.device = ibpd->device;
	mr->ibmr.iova = iova;
	mr->ibmr.length = length;
	return mr;
}

/*
 * An ODP MR: nothing is pinned or charged to RLIMIT_MEMLOCK; the mirror
 * fills in as the device touches pages.  start == 0 with length
 * U64_MAX (ibv_reg_mr(pd, NULL, SIZE_MAX, ...)) is the implicit MR of
 * the whole address space, whose iova is the virtual address.
 */
static struct rodp_mr *rodp_odp_mr_create(struct ib_pd *ibpd,
					  struct mm_struct *mm, u64 start,
					  u64 length, u64 iova, int access)
{
	bool implicit = !start && length == U64_MAX;
	struct rodp_mr *mr;
	int err;

	if (implicit && iova)
		return ERR_PTR(-EINVAL);

	mr = rodp_mr_alloc(ibpd, RODP_MR_ODP, start, length, iova, access);
	if (!mr)
		return ERR_PTR(-ENOMEM);

	err = rodp_odp_init(mr, mm, start, implicit);
	if (err) {
		kfree(mr);
		return ERR_PTR(err);
	}
	return mr;
}

/*
 * A user MR, pinned or ODP, complete but not in the key space yet: the
 * one way both ibv_reg_mr and ibv_rereg_mr build an MR.  @mm is the
 * address space whose memory it is: the caller's, but for an
 * ibv_rereg_mr that keeps the translation, which keeps the replaced MR's.
 * A pinned MR can only be pinned from the caller's.
 */
static struct rodp_mr *rodp_user_mr_create(struct ib_pd *ibpd,
					   struct mm_struct *mm, u64 start,
					   u64 length, u64 iova, int access)
{
	struct rodp_mr *mr;
	int err;

	if (access & ~RODP_MR_ACCESS_SUPPORTED)
		return ERR_PTR(-EOPNOTSUPP);
	/* No memory of rodp's is persistent (see RODP_ACCESS_FLUSH_*). */
	if (!length || (access & RODP_ACCESS_FLUSH_PERSISTENT))
		return ERR_PTR(-EINVAL);
	if (access & IB_ACCESS_ON_DEMAND)
		return rodp_odp_mr_create(ibpd, mm, start, length, iova,
					  access);
	if (length > RODP_MAX_MR_SIZE)
		return ERR_PTR(-EINVAL);
	if (mm != current->mm)
		return ERR_PTR(-EOPNOTSUPP);

	mr = rodp_mr_alloc(ibpd, RODP_MR_USER, start, length, iova, access);
	if (!mr)
		return ERR_PTR(-ENOMEM);

	/* Pins the pages and charges them to RLIMIT_MEMLOCK. */
	mr->umem = rodp_umem_get(ibpd->device, start, length, access);
	if (IS_ERR(mr->umem)) {
		err = PTR_ERR(mr->umem);
		goto err_free_mr;
	}
	rodp_mm_ref_umem(1);

	err = rodp_mr_collect_pages(mr);
	if (err)
		goto err_free_pages;
	return mr;

err_free_pages:
	kvfree(mr->pages);
	rodp_mm_ref_umem(-1);
	ib_umem_release(mr->umem);
err_free_mr:
	kfree(mr);
	return ERR_PTR(err);
}

/*
 * Free an MR that is out of the key space and has no users left.  A
 * lookup that found it just before it left may still read its key and
 * try its reference count under RCU: the struct itself goes after a
 * grace period.
 */
static void rodp_mr_free(struct rodp_mr *mr)
{
	if (mr->kind == RODP_MR_ODP)
		rodp_odp_release(mr);
	if (mr->kind == RODP_MR_FAST)
		rodp_frmr_release(mr);
	kvfree(mr->pages);
	if (mr->umem)
		rodp_mm_ref_umem(-1);
	ib_umem_release(mr->umem);
	kfree_rcu(mr, rcu);
}

static struct ib_mr *rodp_reg_user_mr(struct ib_pd *ibpd, u64 start,
				      u64 length, u64 iova, int access,
				      RODP_REG_USER_MR_DMAH
				      struct ib_udata *udata)
{
	struct rodp_mr *mr;
	int err;

	/* No TPH steering: a DMA handle is nothing rodp can honour. */
	if (RODP_REG_USER_MR_DMAH_SET())
		return ERR_PTR(-EOPNOTSUPP);
	if (udata && (udata->inlen || udata->outlen))
		return ERR_PTR(-EINVAL);
	mr = rodp_user_mr_create(ibpd, current->mm, start, length, iova,
				 access);
	if (IS_ERR(mr))
		return ERR_CAST(mr);

	err = rodp_mr_insert(to_rdev(ibpd->device), mr);
	if (err) {
		rodp_mr_free(mr);
		return ERR_PTR(err);
	}
	return &mr->ibmr;
}

/*
 * ibv_rereg_mr: the MR keeps its L_Key and R_Key through every kind of
 * change (translation, access, PD, any mix; pinned, ODP or implicit ODP),
 * as on mlx5: a peer goes on using the R_Key it was sent.
 *
 * A complete new MR is built from the old one's translation, access and
 * PD with the requested changes, given the old keys, and put in the old
 * one's place in the key space at once (rodp_mr_replace()): a packet or
 * a fault sees the MR as it was or as it is now, never a mix.  The core
 * then destroys the old MR, whose deregistration waits for the users
 * that found it before the switch.  A refused change builds nothing into
 * the key space: the MR stays exactly as it was.  A pinned range is
 * pinned twice for a moment, and a new ODP mirror starts empty.
 */
static struct ib_mr *rodp_rereg_user_mr(struct ib_mr *ibmr, int flags,
					u64 start, u64 length, u64 iova,
					int access, struct ib_pd *pd,
					struct ib_udata *udata)
{
	struct rodp_mr *old = to_rmr(ibmr), *mr;
	struct mm_struct *mm = current->mm;
	int err;

	if (old->kind != RODP_MR_USER && old->kind != RODP_MR_ODP)
		return ERR_PTR(-EINVAL);
	if (udata && (udata->inlen || udata->outlen))
		return ERR_PTR(-EINVAL);
	/* The core drops IB_MR_REREG_PD for the same PD: nothing to do. */
	if (!(flags & (IB_MR_REREG_TRANS | IB_MR_REREG_ACCESS |
		       IB_MR_REREG_PD)))
		return NULL;
	/*
	 * The same translation is the same memory: the old MR's address
	 * space, even when another process calls (one that inherited or
	 * imported the uverbs file).  A pinned MR cannot be pinned again
	 * from there: that is refused (rodp_user_mr_create()).
	 */
	if (!(flags & IB_MR_REREG_TRANS)) {
		start = old->start;
		length = ibmr->length;
		iova = ibmr->iova;
		if (old->kind == RODP_MR_ODP)
			mm = old->odp.mm;
		else
			mm = old->umem->owning_mm;
	}
	if (!(flags & IB_MR_REREG_ACCESS))
		access = old->access;
	if (!(flags & IB_MR_REREG_PD))
		pd = ibmr->pd;

	/* Memory windows bound to the MR keep it as it is. */
	err = rodp_mw_close_mr(old);
	if (err)
		return ERR_PTR(err);
	mr = rodp_user_mr_create(pd, mm, start, length, iova, access);
	if (IS_ERR(mr)) {
		rodp_mw_reopen_mr(old);
		return ERR_CAST(mr);
	}
	err = rodp_mr_replace(to_rdev(ibmr->device), old, mr);
	if (err) {
		rodp_mw_reopen_mr(old);
		rodp_mr_free(mr);
		return ERR_PTR(err);
	}
	return &mr->ibmr;
}

static int rodp_dereg_mr(struct ib_mr *ibmr, struct ib_udata *udata)
{
	struct rodp_mr *mr = to_rmr(ibmr);
	int err;

	/* IBA 10.6.7.2.6: not while memory windows are bound to it. */
	err = rodp_mw_close_mr(mr);
	if (err)
		return err;
	rodp_mr_remove(to_rdev(ibmr->device), mr);
	rodp_mr_free(mr);
	return 0;
}

const struct ib_device_ops rodp_mr_ops = {
	.dereg_mr = rodp_dereg_mr,
	.get_dma_mr = rodp_get_dma_mr,
	.reg_user_mr = rodp_reg_user_mr,
	.rereg_user_mr = rodp_rereg_user_mr,
};
