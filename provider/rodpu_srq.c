// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Shared receive queues of rodp's libibverbs provider.
 *
 * An SRQ is one ring of receive WQEs shared with rodp.ko, laid out as a
 * QP's receive queue (<rdma/rodp-abi.h>).  Posting writes WQEs at the
 * producer index and publishes it, without a system call; the kernel
 * takes WQEs for the QPs on the SRQ and advances the consumer index as
 * it takes them.  A resize (ibv_modify_srq() with IBV_SRQ_MAX_WR) gives a
 * new ring, with the WQEs not yet taken carried over: the kernel writes
 * where it is (struct rodp_srq_mmap_info) and the provider maps it in
 * place of the old one, holding the posting lock throughout.
 *
 * An SRQ in error (the kernel found its ring corrupt) carries
 * RODP_RING_F_ERROR: posting fails with EIO.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rodpu.h"

/* IBV_CMD_MODIFY_SRQ request: the core part, then rodp's. */
struct rodpu_modify_srq {
	struct ibv_modify_srq ibv_cmd;
	struct rodp_modify_srq_cmd drv;
};
_Static_assert(offsetof(struct rodpu_modify_srq, drv) ==
	       sizeof(struct ibv_modify_srq) &&
	       sizeof(struct rodpu_modify_srq) ==
	       sizeof(struct ibv_modify_srq) +
	       sizeof(struct rodp_modify_srq_cmd),
	       "rodpu_modify_srq: driver request is not contiguous");

/* Map the ring the kernel describes in @mi, for @max_wr WQEs. */
static int rodpu_srq_map(struct rodpu_context *ctx, struct rodpu_wq *wq,
			 const struct rodp_srq_mmap_info *mi, uint32_t max_wr,
			 uint32_t max_sge)
{
	struct rodpu_wq_desc d = {
		.name = "SRQ",
		.offset = mi->mmap_offset,
		.size = mi->mmap_size,
		.log2_slots = mi->log2_slots,
		.slot_size = mi->slot_size,
		.wqe_size = sizeof(struct rodp_rwqe),
		.depth = max_wr,
		.max_sge = max_sge,
	};

	if (!d.size || !d.depth) {
		rodpu_err(&ctx->vctx, "SRQ: no ring (%u WRs)", d.depth);
		return EINVAL;
	}
	return rodpu_wq_map(ctx, wq, &d);
}

static struct rodpu_srq *rodpu_srq_alloc(void)
{
	struct rodpu_srq *srq = calloc(1, sizeof(*srq));

	if (!srq)
		return NULL;
	if (pthread_spin_init(&srq->wq.lock, PTHREAD_PROCESS_PRIVATE)) {
		free(srq);
		errno = ENOMEM;
		return NULL;
	}
	return srq;
}

static void rodpu_srq_free(struct rodpu_srq *srq)
{
	pthread_spin_destroy(&srq->wq.lock);
	free(srq);
}

/**
 * rodpu_create_srq - the create_srq verb.
 * @pd: protection domain
 * @attr: attributes; attr->attr.max_wr and max_sge are updated to what
 *	  was granted (srq_limit is not armed at creation)
 *
 * Return: the SRQ, or NULL with errno set.
 */
struct ibv_srq *rodpu_create_srq(struct ibv_pd *pd,
				 struct ibv_srq_init_attr *attr)
{
	struct rodpu_context *ctx = to_rctx(pd->context);
	struct rodpu_create_srq_resp resp;
	struct rodpu_create_srq cmd;
	struct rodpu_srq *srq;
	int ret;

	srq = rodpu_srq_alloc();
	if (!srq)
		return NULL;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_create_srq(pd, &srq->vsrq.srq, attr, &cmd.ibv_cmd,
				 sizeof(cmd),
				 rodpu_create_srq_resp_core(&resp),
				 sizeof(resp));
	if (ret)
		goto err_free;

	ret = rodpu_srq_map(ctx, &srq->wq, &resp.drv.mi, attr->attr.max_wr,
			    attr->attr.max_sge);
	if (ret)
		goto err_destroy;
	srq->vsrq.srq_type = IBV_SRQT_BASIC;
	return &srq->vsrq.srq;

err_destroy:
	ibv_cmd_destroy_srq(&srq->vsrq.srq);
err_free:
	rodpu_srq_free(srq);
	errno = ret;
	return NULL;
}

/* An XRC SRQ: in a domain, with its own CQ and a number (get_srq_num). */
static struct ibv_srq *rodpu_create_xsrq(struct ibv_context *ibctx,
					 struct ibv_srq_init_attr_ex *attr)
{
	struct rodpu_context *ctx = to_rctx(ibctx);
	struct rodpu_create_xsrq_resp resp;
	struct rodpu_create_xsrq cmd;
	struct rodpu_srq *srq;
	int ret;

	srq = rodpu_srq_alloc();
	if (!srq)
		return NULL;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_create_srq_ex(ibctx, &srq->vsrq, attr, &cmd.ibv_cmd,
				    sizeof(cmd),
				    rodpu_create_xsrq_resp_core(&resp),
				    sizeof(resp));
	if (ret)
		goto err_free;

	ret = rodpu_srq_map(ctx, &srq->wq, &resp.drv.mi, attr->attr.max_wr,
			    attr->attr.max_sge);
	if (ret)
		goto err_destroy;
	return &srq->vsrq.srq;

err_destroy:
	ibv_cmd_destroy_srq(&srq->vsrq.srq);
err_free:
	rodpu_srq_free(srq);
	errno = ret;
	return NULL;
}

/**
 * rodpu_create_srq_ex - the create_srq_ex verb.
 * @ibctx: context
 * @attr: attributes: a basic SRQ (IBV_SRQT_BASIC) on a PD, a CQ given
 *	  being ignored as for any basic SRQ; or an XRC SRQ (IBV_SRQT_XRC)
 *	  with its PD, XRC domain and CQ
 *
 * libibverbs sends the plain cases to create_srq; this one takes the
 * others.
 *
 * Return: the SRQ, or NULL with errno set (EOPNOTSUPP for another type or
 * an attribute rodp does not support).
 */
struct ibv_srq *rodpu_create_srq_ex(struct ibv_context *ibctx,
				    struct ibv_srq_init_attr_ex *attr)
{
	const uint32_t known = IBV_SRQ_INIT_ATTR_TYPE | IBV_SRQ_INIT_ATTR_PD |
			       IBV_SRQ_INIT_ATTR_CQ | IBV_SRQ_INIT_ATTR_XRCD;
	enum ibv_srq_type type = IBV_SRQT_BASIC;
	struct ibv_srq_init_attr init;
	struct ibv_srq *ibsrq;

	if (attr->comp_mask & IBV_SRQ_INIT_ATTR_TYPE)
		type = attr->srq_type;
	if ((attr->comp_mask & ~known) ||
	    (type != IBV_SRQT_BASIC && type != IBV_SRQT_XRC)) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_PD) || !attr->pd ||
	    attr->pd->context != ibctx) {
		errno = EINVAL;
		return NULL;
	}
	if (type == IBV_SRQT_XRC) {
		if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_XRCD) ||
		    !(attr->comp_mask & IBV_SRQ_INIT_ATTR_CQ) ||
		    !attr->xrcd || !attr->cq) {
			errno = EINVAL;
			return NULL;
		}
		return rodpu_create_xsrq(ibctx, attr);
	}

	memset(&init, 0, sizeof(init));
	init.srq_context = attr->srq_context;
	init.attr = attr->attr;
	ibsrq = rodpu_create_srq(attr->pd, &init);
	if (!ibsrq)
		return NULL;
	attr->attr = init.attr;

	/* What libibverbs' create_srq wrapper sets, done here instead. */
	ibsrq->context = ibctx;
	ibsrq->srq_context = attr->srq_context;
	ibsrq->pd = attr->pd;
	ibsrq->events_completed = 0;
	pthread_mutex_init(&ibsrq->mutex, NULL);
	pthread_cond_init(&ibsrq->cond, NULL);
	if (attr->comp_mask & IBV_SRQ_INIT_ATTR_CQ)
		to_rsrq(ibsrq)->vsrq.cq = attr->cq;
	return ibsrq;
}

/**
 * rodpu_modify_srq - the modify_srq verb.
 * @ibsrq: the SRQ
 * @attr: max_wr (IBV_SRQ_MAX_WR: a resize, keeping the WQEs posted) and
 *	  srq_limit (IBV_SRQ_LIMIT: arms the limit event)
 * @attr_mask: IBV_SRQ_* attributes to change
 *
 * Posting waits while the SRQ is modified: a resize maps the new ring in
 * place of the old one before the next WQE is posted.
 *
 * Return: 0 or a positive errno (EINVAL for fewer WRs than are posted).
 */
int rodpu_modify_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr,
		     int attr_mask)
{
	struct rodpu_context *ctx = to_rctx(ibsrq->context);
	struct rodpu_srq *srq = to_rsrq(ibsrq);
	struct rodp_srq_mmap_info mi;
	struct rodpu_modify_srq cmd;
	struct ibv_srq_attr now;
	struct ibv_query_srq qcmd;
	struct rodpu_wq wq;
	int ret;

	memset(&cmd, 0, sizeof(cmd));
	memset(&mi, 0, sizeof(mi));
	cmd.drv.mmap_info_addr = (uintptr_t)&mi;

	pthread_spin_lock(&srq->wq.lock);
	ret = ibv_cmd_modify_srq(ibsrq, attr, attr_mask, &cmd.ibv_cmd,
				 sizeof(cmd));
	if (ret || !(attr_mask & IBV_SRQ_MAX_WR))
		goto out_unlock;

	/* The kernel rounds max_wr up: take what it granted. */
	memset(&qcmd, 0, sizeof(qcmd));
	ret = ibv_cmd_query_srq(ibsrq, &now, &qcmd, sizeof(qcmd));
	if (ret)
		goto out_unlock;
	wq = srq->wq;
	ret = rodpu_srq_map(ctx, &wq, &mi, now.max_wr, srq->wq.max_sge);
	if (ret) {
		/*
		 * The kernel switched rings, but the new one cannot be
		 * mapped: nothing can be posted any more.
		 */
		rodpu_err(&ctx->vctx, "SRQ resize: cannot map the new ring");
		rodpu_wq_unmap(&srq->wq);
		goto out_unlock;
	}
	rodpu_wq_unmap(&srq->wq);
	srq->wq.hdr = wq.hdr;
	srq->wq.map_size = wq.map_size;
	srq->wq.log2_slots = wq.log2_slots;
	srq->wq.slot_size = wq.slot_size;
	srq->wq.depth = wq.depth;
	srq->wq.prod = wq.prod;
out_unlock:
	pthread_spin_unlock(&srq->wq.lock);
	return ret;
}

/**
 * rodpu_query_srq - the query_srq verb (answered by the kernel).
 * @ibsrq: the SRQ
 * @attr: max_wr, max_sge and the armed srq_limit (0: none)
 *
 * Return: 0 or a positive errno.
 */
int rodpu_query_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr)
{
	struct ibv_query_srq cmd;

	memset(&cmd, 0, sizeof(cmd));
	return ibv_cmd_query_srq(ibsrq, attr, &cmd, sizeof(cmd));
}

/**
 * rodpu_destroy_srq - the destroy_srq verb.
 * @ibsrq: the SRQ; left intact if the kernel refuses (QPs still use it)
 *
 * Return: 0 or a positive errno.
 */
int rodpu_destroy_srq(struct ibv_srq *ibsrq)
{
	struct rodpu_srq *srq = to_rsrq(ibsrq);
	int ret;

	ret = ibv_cmd_destroy_srq(ibsrq);
	if (ret)
		return ret;
	rodpu_wq_unmap(&srq->wq);
	rodpu_srq_free(srq);
	return 0;
}

/**
 * rodpu_post_srq_recv - the post_srq_recv verb.
 * @ibsrq: the SRQ
 * @wr: list of work requests
 * @bad_wr: on failure, the first request that was not posted
 *
 * No system call.  The requests before *@bad_wr are posted even when the
 * call fails.
 *
 * Return: 0, ENOMEM when the SRQ is full, EINVAL for too many SGEs, EIO
 * when the SRQ is in error (nothing posted) or its consumer index is
 * corrupt.
 */
int rodpu_post_srq_recv(struct ibv_srq *ibsrq, struct ibv_recv_wr *wr,
			struct ibv_recv_wr **bad_wr)
{
	struct rodpu_wq *wq = &to_rsrq(ibsrq)->wq;
	uint32_t prod, room = 0;
	int ret = 0;

	pthread_spin_lock(&wq->lock);
	if (!wq->hdr ||
	    (rcore_read_once_u32(&wq->hdr->flags) & RODP_RING_F_ERROR)) {
		pthread_spin_unlock(&wq->lock);
		*bad_wr = wr;
		return EIO;
	}
	prod = wq->prod;
	for (; wr; wr = wr->next) {
		if (!room) {
			ret = rodpu_wq_room(wq, prod, &room);
			if (!ret && !room)
				ret = ENOMEM;
			if (ret)
				break;
		}
		ret = rodpu_rwqe_encode(rodpu_wq_slot(wq, prod), wr,
					wq->max_sge);
		if (ret)
			break;
		prod++;
		room--;
	}
	if (prod != wq->prod)
		rodpu_wq_publish(wq, prod);
	pthread_spin_unlock(&wq->lock);

	if (ret)
		*bad_wr = wr;
	return ret;
}
