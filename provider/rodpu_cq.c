// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Completion queues of rodp's libibverbs provider.
 *
 * A CQ is a ring shared with rodp.ko (<rdma/rodp-abi.h>): the
 * kernel produces struct rodp_cqe entries and publishes hdr->prod, the
 * provider consumes them and publishes hdr->cons.  Polling is a memory
 * read; only creation, destruction, resizing and arming enter the kernel.
 *
 * Once the kernel marks the ring RODP_RING_F_ERROR (e.g. on overrun) it
 * makes no more entries: the entries already there are still returned,
 * then polling fails (-1 / EIO) so the error is not mistaken for an idle
 * CQ.  A producer index more than a ring ahead of ours is treated the
 * same way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rodpu.h"

/* The ring header and the CQE are ABI: their size and offsets are fixed. */
_Static_assert(sizeof(struct rodp_ring_hdr) == RODP_RING_HDR_SIZE,
	       "ring header size is ABI");
_Static_assert(offsetof(struct rodp_ring_hdr, prod) == 0 &&
	       offsetof(struct rodp_ring_hdr, cons) == 64 &&
	       offsetof(struct rodp_ring_hdr, log2_slots) == 128 &&
	       offsetof(struct rodp_ring_hdr, slot_size) == 132 &&
	       offsetof(struct rodp_ring_hdr, flags) == 136,
	       "ring header layout is ABI");
_Static_assert(sizeof(struct rodp_cqe) == 64, "CQE size is ABI");

/*
 * The CQE carries the kernel's IB_WC_* flag bits (enum ib_wc_flags);
 * libibverbs numbers two of them differently.
 */
enum {
	RODPU_KWC_GRH			= 1 << 0,
	RODPU_KWC_WITH_IMM		= 1 << 1,
	RODPU_KWC_WITH_INVALIDATE	= 1 << 2,
	RODPU_KWC_IP_CSUM_OK		= 1 << 3,
};

/*
 * Extended-CQ fields this provider can report.  The kernel stamps every
 * completion with CLOCK_MONOTONIC (the device clock, ns) and CLOCK_REALTIME
 * as it writes it.
 */
#define RODPU_CQ_EX_WC_FLAGS	(IBV_WC_STANDARD_FLAGS |		\
				 IBV_WC_EX_WITH_COMPLETION_TIMESTAMP |	\
				 IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK)

static unsigned int rodpu_wc_flags(uint32_t kflags)
{
	unsigned int flags = 0;

	if (kflags & RODPU_KWC_GRH)
		flags |= IBV_WC_GRH;
	if (kflags & RODPU_KWC_WITH_IMM)
		flags |= IBV_WC_WITH_IMM;
	if (kflags & RODPU_KWC_WITH_INVALIDATE)
		flags |= IBV_WC_WITH_INV;
	if (kflags & RODPU_KWC_IP_CSUM_OK)
		flags |= IBV_WC_IP_CSUM_OK;
	return flags;
}

static const struct rodp_cqe *rodpu_cqe(const struct rodpu_ring *ring,
					 uint32_t idx)
{
	return (const void *)((const char *)ring->hdr + RODP_RING_HDR_SIZE +
		rcore_ring_slot_off(ring->log2_slots, sizeof(struct rodp_cqe),
				    idx));
}

/*
 * rodpu_ring_avail - number of entries ready for the consumer.
 * Return: 0 with *avail set, or EIO if the ring is in error and empty, or
 * corrupt.
 */
static int rodpu_ring_avail(const struct rodpu_ring *ring, uint32_t *avail)
{
	uint32_t prod = rcore_load_acquire_u32(&ring->hdr->prod);
	uint32_t n = rcore_ring_count(prod, ring->cons);

	if (n > (1u << ring->log2_slots))
		return EIO;
	if (!n && (rcore_read_once_u32(&ring->hdr->flags) & RODP_RING_F_ERROR))
		return EIO;
	*avail = n;
	return 0;
}

static void rodpu_ring_consume(struct rodpu_ring *ring, uint32_t n)
{
	ring->cons += n;
	rcore_store_release_u32(&ring->hdr->cons, ring->cons);
}

/*
 * rodpu_ring_map - map a CQ ring the kernel announced and check that its
 * header agrees with the announcement.
 * Return: 0 or a positive errno.
 */
static int rodpu_ring_map(struct rodpu_context *ctx, struct rodpu_ring *ring,
			  uint64_t offset, uint64_t size, uint32_t num_cqe)
{
	struct rodp_ring_hdr *hdr;
	uint32_t log2 = 0;
	void *p;

	while (log2 < 31 && (1u << log2) < num_cqe)
		log2++;
	if (!num_cqe || (1u << log2) != num_cqe || (size_t)size != size ||
	    size < RODP_RING_HDR_SIZE +
		   (uint64_t)num_cqe * sizeof(struct rodp_cqe) ||
	    offset > INT64_MAX) {
		rodpu_err(&ctx->vctx,
			  "bad CQ ring: %u entries, %llu bytes at %#llx",
			  num_cqe, (unsigned long long)size,
			  (unsigned long long)offset);
		return EINVAL;
	}

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 ctx->vctx.context.cmd_fd, (off_t)offset);
	if (p == MAP_FAILED) {
		int ret = errno;

		rodpu_err(&ctx->vctx, "mmap of CQ ring failed: %s",
			  strerror(ret));
		return ret;
	}

	hdr = p;
	if (hdr->log2_slots != log2 ||
	    hdr->slot_size != sizeof(struct rodp_cqe)) {
		rodpu_err(&ctx->vctx,
			  "CQ ring header says 2^%u slots of %u bytes, expected 2^%u of %zu",
			  hdr->log2_slots, hdr->slot_size, log2,
			  sizeof(struct rodp_cqe));
		munmap(p, size);
		return EINVAL;
	}

	ring->hdr = hdr;
	ring->map_size = size;
	ring->log2_slots = log2;
	ring->cons = rcore_read_once_u32(&hdr->cons);
	return 0;
}

static void rodpu_ring_unmap(struct rodpu_ring *ring)
{
	munmap(ring->hdr, ring->map_size);
	ring->hdr = NULL;
}

/**
 * rodpu_poll_cq - the poll_cq verb: copy up to @num_entries completions.
 * @ibcq: the CQ
 * @num_entries: room in @wc
 * @wc: completions, oldest first
 *
 * Return: number of completions copied (0 if none), or -1 with errno EIO
 * if the CQ is in error and has nothing left.
 */
int rodpu_poll_cq(struct ibv_cq *ibcq, int num_entries, struct ibv_wc *wc)
{
	struct rodpu_cq *cq = to_rcq(ibcq);
	struct rodpu_ring *ring = &cq->ring;
	uint32_t avail, want, i;
	int ret;

	want = num_entries > 0 ? (uint32_t)num_entries : 0;

	pthread_spin_lock(&cq->lock);
	ret = rodpu_ring_avail(ring, &avail);
	if (ret) {
		pthread_spin_unlock(&cq->lock);
		errno = ret;
		return -1;
	}
	if (want > avail)
		want = avail;

	for (i = 0; i < want; i++) {
		const struct rodp_cqe *e = rodpu_cqe(ring, ring->cons + i);
		struct ibv_wc *w = &wc[i];

		w->wr_id = e->wr_id;
		w->status = (enum ibv_wc_status)e->status;
		w->opcode = (enum ibv_wc_opcode)e->opcode;
		w->vendor_err = e->vendor_err;
		w->byte_len = e->byte_len;
		w->imm_data = e->imm_data;
		w->qp_num = e->qp_num;
		w->src_qp = e->src_qp;
		w->wc_flags = rodpu_wc_flags(e->wc_flags);
		w->pkey_index = e->pkey_index;
		w->slid = e->slid;
		w->sl = e->sl;
		w->dlid_path_bits = e->dlid_path_bits;
	}
	if (want)
		rodpu_ring_consume(ring, want);
	pthread_spin_unlock(&cq->lock);

	return (int)want;
}

/* Extended polling: cq->cur is the entry at ring.cons while a poll is on. */
static int rodpu_cq_ex_peek(struct rodpu_cq *cq)
{
	uint32_t avail;
	int ret;

	cq->cur = NULL;
	ret = rodpu_ring_avail(&cq->ring, &avail);
	if (ret)
		return ret;
	if (!avail)
		return ENOENT;

	cq->cur = rodpu_cqe(&cq->ring, cq->ring.cons);
	cq->vcq.cq_ex.wr_id = cq->cur->wr_id;
	cq->vcq.cq_ex.status = (enum ibv_wc_status)cq->cur->status;
	return 0;
}

static int rodpu_start_poll(struct ibv_cq_ex *ibcq,
			    struct ibv_poll_cq_attr *attr)
{
	struct rodpu_cq *cq = ex_to_rcq(ibcq);
	int ret;

	if (attr->comp_mask)
		return EINVAL;

	pthread_spin_lock(&cq->lock);
	ret = rodpu_cq_ex_peek(cq);
	if (ret)
		pthread_spin_unlock(&cq->lock);
	return ret;
}

static int rodpu_next_poll(struct ibv_cq_ex *ibcq)
{
	struct rodpu_cq *cq = ex_to_rcq(ibcq);

	if (cq->cur)
		rodpu_ring_consume(&cq->ring, 1);
	return rodpu_cq_ex_peek(cq);
}

static void rodpu_end_poll(struct ibv_cq_ex *ibcq)
{
	struct rodpu_cq *cq = ex_to_rcq(ibcq);

	if (cq->cur)
		rodpu_ring_consume(&cq->ring, 1);
	cq->cur = NULL;
	pthread_spin_unlock(&cq->lock);
}

static enum ibv_wc_opcode rodpu_read_opcode(struct ibv_cq_ex *ibcq)
{
	return (enum ibv_wc_opcode)ex_to_rcq(ibcq)->cur->opcode;
}

static uint32_t rodpu_read_vendor_err(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->vendor_err;
}

static uint32_t rodpu_read_byte_len(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->byte_len;
}

static __be32 rodpu_read_imm_data(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->imm_data;
}

static uint32_t rodpu_read_qp_num(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->qp_num;
}

static uint32_t rodpu_read_src_qp(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->src_qp;
}

static unsigned int rodpu_read_wc_flags(struct ibv_cq_ex *ibcq)
{
	return rodpu_wc_flags(ex_to_rcq(ibcq)->cur->wc_flags);
}

static uint32_t rodpu_read_slid(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->slid;
}

static uint8_t rodpu_read_sl(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->sl;
}

static uint8_t rodpu_read_dlid_path_bits(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->dlid_path_bits;
}

static uint64_t rodpu_read_completion_ts(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->ts_mono;
}

static uint64_t rodpu_read_completion_wallclock_ns(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->ts_real;
}

static void rodpu_cq_ex_set_ops(struct ibv_cq_ex *ibcq)
{
	ibcq->start_poll = rodpu_start_poll;
	ibcq->next_poll = rodpu_next_poll;
	ibcq->end_poll = rodpu_end_poll;
	ibcq->read_opcode = rodpu_read_opcode;
	ibcq->read_vendor_err = rodpu_read_vendor_err;
	ibcq->read_byte_len = rodpu_read_byte_len;
	ibcq->read_imm_data = rodpu_read_imm_data;
	ibcq->read_qp_num = rodpu_read_qp_num;
	ibcq->read_src_qp = rodpu_read_src_qp;
	ibcq->read_wc_flags = rodpu_read_wc_flags;
	ibcq->read_slid = rodpu_read_slid;
	ibcq->read_sl = rodpu_read_sl;
	ibcq->read_dlid_path_bits = rodpu_read_dlid_path_bits;
	ibcq->read_completion_ts = rodpu_read_completion_ts;
	ibcq->read_completion_wallclock_ns =
		rodpu_read_completion_wallclock_ns;
}

/**
 * rodpu_cq_clean - drop a QP's completions from a CQ
 * @ibcq: the CQ
 * @qpn: the QP, which the kernel has just moved to RESET
 *
 * A QP taken to RESET leaves nothing behind: its completions still in the
 * CQ (flushes, or errors nobody polled) would otherwise be read as the
 * first completions of the QP's next life.  mlx4 and mlx5 clean their CQs
 * the same way.  The kernel writes no more completions for the QP, and
 * only ever writes at prod and beyond, so the entries between cons and
 * the prod read here are ours to move: from the newest back, those of
 * other QPs slide up over the dropped ones, keeping their order, and cons
 * moves past what was dropped.
 */
void rodpu_cq_clean(struct ibv_cq *ibcq, uint32_t qpn)
{
	struct rodpu_cq *cq = to_rcq(ibcq);
	struct rodpu_ring *ring = &cq->ring;
	uint32_t prod, n, i, idx, dropped = 0;
	struct rodp_cqe *e;

	pthread_spin_lock(&cq->lock);
	prod = rcore_load_acquire_u32(&ring->hdr->prod);
	n = rcore_ring_count(prod, ring->cons);
	if (n > (1u << ring->log2_slots))
		goto out_unlock;	/* corrupt: polling reports it */
	for (i = 0; i < n; i++) {
		idx = prod - 1 - i;
		e = (struct rodp_cqe *)rodpu_cqe(ring, idx);
		if (e->qp_num == qpn)
			dropped++;
		else if (dropped)
			memcpy((void *)rodpu_cqe(ring, idx + dropped), e,
			       sizeof(*e));
	}
	if (dropped)
		rodpu_ring_consume(ring, dropped);
out_unlock:
	pthread_spin_unlock(&cq->lock);
}

/**
 * rodpu_query_rt_values - the query_rt_values_ex verb.
 * @ibctx: context
 * @values: comp_mask in: what is asked; out: what was read
 *
 * The device clock is the kernel's CLOCK_MONOTONIC in nanoseconds, the
 * clock of the completion timestamps: user space reads it directly.
 *
 * Return: 0, or a positive errno.
 */
int rodpu_query_rt_values(struct ibv_context *ibctx,
			  struct ibv_values_ex *values)
{
	uint32_t done = 0;

	(void)ibctx;
	if (values->comp_mask & IBV_VALUES_MASK_RAW_CLOCK) {
		if (clock_gettime(CLOCK_MONOTONIC, &values->raw_clock))
			return errno;
		done |= IBV_VALUES_MASK_RAW_CLOCK;
	}
	values->comp_mask = done;
	return 0;
}

static struct rodpu_cq *rodpu_cq_alloc(void)
{
	struct rodpu_cq *cq;

	cq = calloc(1, sizeof(*cq));
	if (!cq)
		return NULL;
	if (pthread_spin_init(&cq->lock, PTHREAD_PROCESS_PRIVATE)) {
		free(cq);
		errno = ENOMEM;
		return NULL;
	}
	return cq;
}

static void rodpu_cq_free(struct rodpu_cq *cq)
{
	pthread_spin_destroy(&cq->lock);
	free(cq);
}

/**
 * rodpu_create_cq - the create_cq verb.
 * @ibctx: context
 * @cqe: minimum number of entries
 * @channel: completion channel or NULL
 * @comp_vector: completion vector
 *
 * Return: the CQ, or NULL with errno set.
 */
struct ibv_cq *rodpu_create_cq(struct ibv_context *ibctx, int cqe,
			       struct ibv_comp_channel *channel,
			       int comp_vector)
{
	struct rodpu_create_cq_resp resp;
	struct rodpu_create_cq cmd;
	struct rodpu_cq *cq;
	int ret;

	cq = rodpu_cq_alloc();
	if (!cq)
		return NULL;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_create_cq(ibctx, cqe, channel, comp_vector, &cq->vcq.cq,
				&cmd.ibv_cmd, sizeof(cmd),
				rodpu_create_cq_resp_core(&resp), sizeof(resp));
	if (ret)
		goto err_free;

	ret = rodpu_ring_map(to_rctx(ibctx), &cq->ring, resp.drv.mmap_offset,
			     resp.drv.mmap_size, resp.drv.num_cqe);
	if (ret)
		goto err_destroy;

	return &cq->vcq.cq;

err_destroy:
	ibv_cmd_destroy_cq(&cq->vcq.cq);
err_free:
	rodpu_cq_free(cq);
	errno = ret;
	return NULL;
}

/**
 * rodpu_create_cq_ex - the create_cq_ex verb.
 * @ibctx: context
 * @attr: attributes; the standard wc_flags, the two completion
 *	  timestamps and the single-threaded flag are supported, anything
 *	  else fails with EOPNOTSUPP
 *
 * Return: the CQ, or NULL with errno set.
 */
struct ibv_cq_ex *rodpu_create_cq_ex(struct ibv_context *ibctx,
				     struct ibv_cq_init_attr_ex *attr)
{
	struct rodpu_create_cq_ex_resp resp;
	struct rodpu_create_cq_ex cmd;
	struct rodpu_cq *cq;
	int ret;

	if ((attr->wc_flags & ~(uint64_t)RODPU_CQ_EX_WC_FLAGS) ||
	    (attr->comp_mask & ~(uint32_t)IBV_CQ_INIT_ATTR_MASK_FLAGS) ||
	    ((attr->comp_mask & IBV_CQ_INIT_ATTR_MASK_FLAGS) &&
	     (attr->flags & ~(uint32_t)IBV_CREATE_CQ_ATTR_SINGLE_THREADED))) {
		errno = EOPNOTSUPP;
		return NULL;
	}

	cq = rodpu_cq_alloc();
	if (!cq)
		return NULL;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	ret = pabi_cmd_create_cq_ex(ibctx, attr, &cq->vcq, &cmd.ibv_cmd,
				    sizeof(cmd),
				    rodpu_create_cq_ex_resp_core(&resp),
				    sizeof(resp), 0);
	if (ret)
		goto err_free;

	ret = rodpu_ring_map(to_rctx(ibctx), &cq->ring, resp.drv.mmap_offset,
			     resp.drv.mmap_size, resp.drv.num_cqe);
	if (ret)
		goto err_destroy;

	rodpu_cq_ex_set_ops(&cq->vcq.cq_ex);
	return &cq->vcq.cq_ex;

err_destroy:
	ibv_cmd_destroy_cq(&cq->vcq.cq);
err_free:
	rodpu_cq_free(cq);
	errno = ret;
	return NULL;
}

/**
 * rodpu_destroy_cq - the destroy_cq verb.
 * @ibcq: the CQ; left intact if the kernel refuses to destroy it
 *
 * Return: 0 or a positive errno.
 */
int rodpu_destroy_cq(struct ibv_cq *ibcq)
{
	struct rodpu_cq *cq = to_rcq(ibcq);
	int ret;

	ret = ibv_cmd_destroy_cq(ibcq);
	if (ret)
		return ret;

	rodpu_ring_unmap(&cq->ring);
	rodpu_cq_free(cq);
	return 0;
}

/**
 * rodpu_req_notify_cq - the req_notify_cq verb (arms the CQ in the kernel).
 * @ibcq: the CQ
 * @solicited_only: only solicited completions raise an event
 *
 * Return: 0 or a positive errno.
 */
int rodpu_req_notify_cq(struct ibv_cq *ibcq, int solicited_only)
{
	return ibv_cmd_req_notify_cq(ibcq, solicited_only);
}

/**
 * rodpu_resize_cq - the resize_cq verb.
 * @ibcq: the CQ
 * @cqe: new minimum number of entries
 *
 * The kernel moves the unconsumed entries to a new ring and announces it
 * like create_cq does; the old mapping is dropped.  Consumers are held off
 * (the CQ lock) for the whole exchange so none reads the old ring after
 * the kernel has copied it.
 *
 * Return: 0 or a positive errno.
 */
int rodpu_resize_cq(struct ibv_cq *ibcq, int cqe)
{
	struct rodpu_resize_cq_resp resp;
	struct rodpu_cq *cq = to_rcq(ibcq);
	struct ibv_resize_cq cmd;
	struct rodpu_ring ring;
	int ret;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));

	pthread_spin_lock(&cq->lock);
	ret = ibv_cmd_resize_cq(ibcq, cqe, &cmd, sizeof(cmd),
				rodpu_resize_cq_resp_core(&resp), sizeof(resp));
	if (ret)
		goto out_unlock;

	ret = rodpu_ring_map(to_rctx(ibcq->context), &ring,
			     resp.drv.mmap_offset, resp.drv.mmap_size,
			     resp.drv.num_cqe);
	if (ret)
		goto out_unlock;

	rodpu_ring_unmap(&cq->ring);
	cq->ring = ring;

out_unlock:
	pthread_spin_unlock(&cq->lock);
	return ret;
}
