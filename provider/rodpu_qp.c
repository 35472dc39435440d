// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Queue pairs of rodp's libibverbs provider.
 *
 * A QP's send and receive queues are rings shared with rodp.ko
 * (<rdma/rodp-abi.h>).  Posting writes WQEs into the slots at the
 * ring's producer index and publishes the index with a release store;
 * the kernel consumes them and advances the consumer index when a WQE
 * retires, so a slot is reused only after the kernel is done with it.
 *
 * Send: after publishing, one doorbell per ibv_post_send() call (or per
 * ibv_wr_complete()): a POST_SEND command with no work requests, which
 * tells the kernel to look at the ring.
 * Receive: no system call, unless the kernel has marked the ring
 * RODP_RING_F_ERROR (the QP is in the error state); then a POST_RECV
 * command with no work requests asks it to flush what was posted.
 *
 * RC and UD QPs are implemented by the kernel; creation of other types
 * is passed through (and refused there).  A UD send WQE carries its
 * destination (AH number, QPN, Q_Key) in struct rodp_swqe.dest.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rodpu.h"
#include <rcore/rc.h>

/* The WQE formats take libibverbs' numbers as they are. */
#define RODPU_SAME_OP(_op)						\
	_Static_assert((int)IBV_WR_##_op == (int)RODP_WR_##_op,	\
		       "IBV_WR_" #_op " and RODP_WR_" #_op " differ")
RODPU_SAME_OP(RDMA_WRITE);
RODPU_SAME_OP(RDMA_WRITE_WITH_IMM);
RODPU_SAME_OP(SEND);
RODPU_SAME_OP(SEND_WITH_IMM);
RODPU_SAME_OP(RDMA_READ);
RODPU_SAME_OP(ATOMIC_CMP_AND_SWP);
RODPU_SAME_OP(ATOMIC_FETCH_AND_ADD);
RODPU_SAME_OP(SEND_WITH_INV);
RODPU_SAME_OP(LOCAL_INV);
RODPU_SAME_OP(BIND_MW);
RODPU_SAME_OP(ATOMIC_WRITE);
#ifdef RODPU_HAVE_WR_FLUSH
RODPU_SAME_OP(FLUSH);
/* ibv_wr_flush()'s type and level go to the kernel as the FETH has them. */
_Static_assert(IBV_FLUSH_GLOBAL == RCORE_FLUSH_GLOBAL &&
	       IBV_FLUSH_PERSISTENT == RCORE_FLUSH_PERSISTENT &&
	       IBV_FLUSH_RANGE == RCORE_FLUSH_RANGE &&
	       IBV_FLUSH_MR == RCORE_FLUSH_MR,
	       "IBV_FLUSH_* are the FETH's values");
#endif
#undef RODPU_SAME_OP
_Static_assert(IBV_SEND_FENCE == RODP_SEND_FENCE &&
	       IBV_SEND_SIGNALED == RODP_SEND_SIGNALED &&
	       IBV_SEND_SOLICITED == RODP_SEND_SOLICITED &&
	       IBV_SEND_INLINE == RODP_SEND_INLINE,
	       "IBV_SEND_* and RODP_SEND_* differ");
_Static_assert(sizeof(struct ibv_sge) == sizeof(struct rodp_sge) &&
	       offsetof(struct ibv_sge, addr) ==
	       offsetof(struct rodp_sge, addr) &&
	       offsetof(struct ibv_sge, length) ==
	       offsetof(struct rodp_sge, length) &&
	       offsetof(struct ibv_sge, lkey) ==
	       offsetof(struct rodp_sge, lkey),
	       "struct ibv_sge and struct rodp_sge differ");
_Static_assert(IBV_ACCESS_REMOTE_WRITE == 2 && IBV_ACCESS_REMOTE_READ == 4 &&
	       IBV_ACCESS_REMOTE_ATOMIC == 8 && IBV_ACCESS_ZERO_BASED == 32,
	       "a window's rights go to the kernel as IB_ACCESS_* bits");
_Static_assert(sizeof(struct rodp_sge) == 16, "SGE size is ABI");
_Static_assert(sizeof(struct rodp_swqe) == 64,
	       "send WQE header size is ABI");
_Static_assert(sizeof(struct rodp_rwqe) == 16,
	       "receive WQE header size is ABI");

/* Send flags a WQE carries. */
#define RODPU_SWQE_FLAGS	(RODP_SEND_FENCE | RODP_SEND_SIGNALED | \
				 RODP_SEND_SOLICITED | RODP_SEND_INLINE)

/* Operations of the extended posting interface the kernel carries out. */
#define RODPU_QP_SEND_OPS	(IBV_QP_EX_WITH_RDMA_WRITE |		\
				 IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM |	\
				 IBV_QP_EX_WITH_SEND |			\
				 IBV_QP_EX_WITH_SEND_WITH_IMM |		\
				 IBV_QP_EX_WITH_RDMA_READ |		\
				 IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP |	\
				 IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD |	\
				 IBV_QP_EX_WITH_SEND_WITH_INV |		\
				 IBV_QP_EX_WITH_LOCAL_INV |		\
				 IBV_QP_EX_WITH_BIND_MW)

/*
 * An RC QP carries ATOMIC WRITE too, and FLUSH where libibverbs has it
 * (rdma-core 45 and later); XRC neither.
 */
#ifdef RODPU_HAVE_WR_FLUSH
#define RODPU_QP_EX_FLUSH	IBV_QP_EX_WITH_FLUSH
#else
#define RODPU_QP_EX_FLUSH	0
#endif
#define RODPU_RC_SEND_OPS	(RODPU_QP_SEND_OPS |			\
				 IBV_QP_EX_WITH_ATOMIC_WRITE |		\
				 RODPU_QP_EX_FLUSH)

/* What a UD QP sends. */
#define RODPU_UD_SEND_OPS	(IBV_QP_EX_WITH_SEND |			\
				 IBV_QP_EX_WITH_SEND_WITH_IMM)

/* What a UC QP carries: sends and RDMA writes, no reads or atomics. */
#define RODPU_UC_SEND_OPS	(IBV_QP_EX_WITH_RDMA_WRITE |		\
				 IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM |	\
				 IBV_QP_EX_WITH_SEND |			\
				 IBV_QP_EX_WITH_SEND_WITH_IMM)

#define RODPU_QP_COMP_MASK	(IBV_QP_INIT_ATTR_PD |			\
				 IBV_QP_INIT_ATTR_XRCD |		\
				 IBV_QP_INIT_ATTR_CREATE_FLAGS |	\
				 IBV_QP_INIT_ATTR_SEND_OPS_FLAGS)

/* QP types with a send queue the provider posts to. */
static bool rodpu_qp_type_sends(enum ibv_qp_type t)
{
	return t == IBV_QPT_RC || t == IBV_QPT_UC || t == IBV_QPT_UD ||
	       t == IBV_QPT_XRC_SEND;
}

/* May a QP of type @qp_type carry operation @op? */
static bool rodpu_qp_op_ok(enum ibv_qp_type qp_type, unsigned int op)
{
	if (op == IBV_WR_ATOMIC_WRITE || op == RODP_WR_FLUSH)
		return qp_type == IBV_QPT_RC;
	if (qp_type != IBV_QPT_UC)
		return true;
	return op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM ||
	       op == IBV_WR_RDMA_WRITE || op == IBV_WR_RDMA_WRITE_WITH_IMM;
}

/* Atomics work on one naturally aligned 64-bit word. */
#define RODPU_ATOMIC_SIZE	8u

static bool rodpu_op_is_atomic(unsigned int op)
{
	return op == IBV_WR_ATOMIC_CMP_AND_SWP ||
	       op == IBV_WR_ATOMIC_FETCH_AND_ADD;
}

/* Operations whose data may be carried inline in the WQE. */
static bool rodpu_op_has_inline(unsigned int op)
{
	switch (op) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
	case IBV_WR_SEND_WITH_INV:
	case IBV_WR_ATOMIC_WRITE:	/* ibv_post_send(): 8 bytes inline */
		return true;
	default:
		return false;
	}
}

static struct rodp_sge *rodpu_swqe_sges(struct rodp_swqe *w)
{
	return (struct rodp_sge *)(void *)(w + 1);
}

/* Does a UD QP carry @op?  Only sends: no RDMA or atomics on datagrams. */
static bool rodpu_ud_op_ok(unsigned int op)
{
	return op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM;
}

/*
 * rodpu_ud_dest - add a UD work request's destination to its WQE.
 * Return: 0, or EINVAL for an opcode UD does not carry or no AH.
 */
static int rodpu_ud_dest(struct rodp_swqe *w, const struct ibv_send_wr *wr)
{
	if (!rodpu_ud_op_ok(wr->opcode) || !wr->wr.ud.ah)
		return EINVAL;
	w->dest.ah = to_rah(wr->wr.ud.ah)->num;
	w->dest.remote_qpn = wr->wr.ud.remote_qpn;
	w->dest.remote_qkey = wr->wr.ud.remote_qkey;
	return 0;
}

void *rodpu_wq_slot(const struct rodpu_wq *wq, uint32_t idx)
{
	return (char *)wq->hdr + RODP_RING_HDR_SIZE +
	       rcore_ring_slot_off(wq->log2_slots, wq->slot_size, idx);
}

/*
 * rodpu_wq_room - how many more WQEs fit, seen from producer index @prod.
 * Return: 0 with *room set, or EIO if the kernel's consumer index is not
 * within a queue's depth behind @prod.
 */
int rodpu_wq_room(const struct rodpu_wq *wq, uint32_t prod, uint32_t *room)
{
	uint32_t cons = rcore_load_acquire_u32(&wq->hdr->cons);
	uint32_t used = rcore_ring_count(prod, cons);

	if (used > wq->depth)
		return EIO;
	*room = wq->depth - used;
	return 0;
}

/*
 * After publishing: is the queue in the error state (then the kernel
 * must be told, to flush what was posted)?  The fence pairs with the
 * kernel's, between setting the flag and reading the producer index:
 * either it sees our WQE or we see its flag.
 */
bool rodpu_wq_in_error(const struct rodpu_wq *wq)
{
	atomic_thread_fence(memory_order_seq_cst);
	return rcore_read_once_u32(&wq->hdr->flags) & RODP_RING_F_ERROR;
}

void rodpu_wq_publish(struct rodpu_wq *wq, uint32_t prod)
{
	wq->prod = prod;
	rcore_store_release_u32(&wq->hdr->prod, prod);
}

/*
 * rodpu_inline_from_sges - copy the data an SGE list points at into @dst.
 * Return: 0 with *total set, or EINVAL if it is more than @max bytes.
 */
static int rodpu_inline_from_sges(void *dst, uint32_t max,
				  const struct ibv_sge *sge, size_t num_sge,
				  uint32_t *total)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < num_sge; i++) {
		sum += sge[i].length;
		if (sum > max)
			return EINVAL;
	}
	sum = 0;
	for (i = 0; i < num_sge; i++) {
		memcpy((char *)dst + sum, (const void *)(uintptr_t)sge[i].addr,
		       sge[i].length);
		sum += sge[i].length;
	}
	*total = (uint32_t)sum;
	return 0;
}

/* The same for the buffers of ibv_wr_set_inline_data_list(). */
static int rodpu_inline_from_bufs(void *dst, uint32_t max,
				  const struct ibv_data_buf *buf, size_t num_buf,
				  uint32_t *total)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < num_buf; i++) {
		if (buf[i].length > max)
			return EINVAL;
		sum += buf[i].length;
		if (sum > max)
			return EINVAL;
	}
	sum = 0;
	for (i = 0; i < num_buf; i++) {
		memcpy((char *)dst + sum, buf[i].addr, buf[i].length);
		sum += buf[i].length;
	}
	*total = (uint32_t)sum;
	return 0;
}

/*
 * A BIND_MW WQE: the window @mw gets R_Key @rkey (same index, the low byte
 * the consumer chose) and the range and rights of @bi.  The kernel checks
 * the rest (PDs, the MR's rights and range, the window's state).
 * Return: 0, or EINVAL without a window, or for a key of another window.
 */
static int rodpu_swqe_bind(struct rodp_swqe *w, const struct ibv_mw *mw,
			   uint32_t rkey, const struct ibv_mw_bind_info *bi)
{
	if (!mw || (rkey >> 8) != (mw->rkey >> 8) ||
	    (!bi->mr && (bi->addr || bi->length)))
		return EINVAL;
	w->rkey = rkey;
	w->remote_addr = bi->addr;
	w->compare_add = bi->length;
	w->bind.mr_lkey = bi->mr ? bi->mr->lkey : 0;
	w->bind.access = bi->mw_access_flags;
	w->bind.mw_type = mw->type;
	return 0;
}

/**
 * rodpu_swqe_encode - write one send work request into a send queue slot.
 * @slot: the slot: room for a struct rodp_swqe followed by @max_sge
 *	  SGEs and by @max_inline bytes
 * @wr: the work request (its next pointer is not followed)
 * @max_sge: SGEs a WQE of this QP may carry
 * @max_inline: inline bytes a WQE of this QP may carry
 *
 * The slot is written even when the request is refused; it lies beyond
 * the published producer index, where the kernel does not look.
 *
 * Return: 0, or EINVAL for an opcode rodp does not carry out, too many
 * SGEs, inline data that is too long or on an operation without data to
 * send, or an atomic whose local buffer or remote address is not one
 * aligned 64-bit word.
 */
int rodpu_swqe_encode(void *slot, const struct ibv_send_wr *wr,
		      uint32_t max_sge, uint32_t max_inline)
{
	struct rodp_swqe *w = slot;
	unsigned int op = wr->opcode;
	uint32_t total;
	int ret;

	if (wr->num_sge < 0)
		return EINVAL;

	memset(w, 0, sizeof(*w));
	w->wr_id = wr->wr_id;
	w->opcode = (uint8_t)op;
	w->flags = (uint8_t)(wr->send_flags & RODPU_SWQE_FLAGS);

	switch (op) {
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		w->imm_data = wr->imm_data;
		/* fall through */
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_READ:
		w->remote_addr = wr->wr.rdma.remote_addr;
		w->rkey = wr->wr.rdma.rkey;
		break;
	case IBV_WR_SEND_WITH_IMM:
		w->imm_data = wr->imm_data;
		break;
	case IBV_WR_SEND_WITH_INV:
		w->imm_data = wr->invalidate_rkey;
		break;
	case IBV_WR_SEND:
		break;
	case IBV_WR_LOCAL_INV:
		/* Carries no data: no SGEs, no inline. */
		w->flags &= (uint8_t)~RODP_SEND_INLINE;
		w->imm_data = wr->invalidate_rkey;
		return 0;
	case IBV_WR_BIND_MW:
		w->flags &= (uint8_t)~RODP_SEND_INLINE;
		return rodpu_swqe_bind(w, wr->bind_mw.mw, wr->bind_mw.rkey,
				       &wr->bind_mw.bind_info);
	case IBV_WR_ATOMIC_CMP_AND_SWP:
		w->swap = wr->wr.atomic.swap;
		/* fall through */
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		w->remote_addr = wr->wr.atomic.remote_addr;
		w->rkey = wr->wr.atomic.rkey;
		w->compare_add = wr->wr.atomic.compare_add;
		if (w->remote_addr & (RODPU_ATOMIC_SIZE - 1))
			return EINVAL;
		break;
	case IBV_WR_ATOMIC_WRITE:
		/* The 8 bytes come from the SGE (or inline data). */
		w->remote_addr = wr->wr.rdma.remote_addr;
		w->rkey = wr->wr.rdma.rkey;
		if (w->remote_addr & (RODPU_ATOMIC_SIZE - 1))
			return EINVAL;
		break;
	default:
		return EINVAL;
	}

	if (w->flags & RODP_SEND_INLINE) {
		if (!rodpu_op_has_inline(op))
			return EINVAL;
		ret = rodpu_inline_from_sges(rodpu_swqe_sges(w), max_inline,
					     wr->sg_list, (size_t)wr->num_sge,
					     &total);
		if (ret)
			return ret;
		if (op == IBV_WR_ATOMIC_WRITE && total != RODPU_ATOMIC_SIZE)
			return EINVAL;
		w->inline_len = total;
		return 0;
	}

	if ((uint32_t)wr->num_sge > max_sge)
		return EINVAL;
	if ((rodpu_op_is_atomic(op) || op == IBV_WR_ATOMIC_WRITE) &&
	    (wr->num_sge != 1 || wr->sg_list[0].length != RODPU_ATOMIC_SIZE))
		return EINVAL;
	if (wr->num_sge)
		memcpy(rodpu_swqe_sges(w), wr->sg_list,
		       (size_t)wr->num_sge * sizeof(struct rodp_sge));
	w->num_sge = (uint16_t)wr->num_sge;
	return 0;
}

/**
 * rodpu_rwqe_encode - write one receive work request into a receive slot.
 * @slot: the slot: room for a struct rodp_rwqe and @max_sge SGEs
 * @wr: the work request (its next pointer is not followed)
 * @max_sge: SGEs a receive WQE of this QP may carry
 *
 * Return: 0, or EINVAL if the request has too many SGEs.
 */
int rodpu_rwqe_encode(void *slot, const struct ibv_recv_wr *wr,
		      uint32_t max_sge)
{
	struct rodp_rwqe *w = slot;

	if (wr->num_sge < 0 || (uint32_t)wr->num_sge > max_sge)
		return EINVAL;

	w->wr_id = wr->wr_id;
	w->num_sge = (uint32_t)wr->num_sge;
	w->reserved = 0;
	if (wr->num_sge)
		memcpy(w + 1, wr->sg_list,
		       (size_t)wr->num_sge * sizeof(struct rodp_sge));
	return 0;
}

/*
 * Doorbells: uverbs POST_SEND / POST_RECV commands without work requests,
 * through write(2) (see rodpu_cmd_write()) or, once the kernel refused
 * that (EACCES), through libibverbs' ioctl(2) path for good.  The two
 * commands have the same layout; the kernel writes a response (the index
 * of a bad request, here always 0) through the pointer they carry.
 */
static_assert(sizeof(struct ib_uverbs_post_send) ==
	      sizeof(struct ib_uverbs_post_recv), "post commands differ");
static_assert(offsetof(struct ib_uverbs_post_send, wqe_size) ==
	      offsetof(struct ib_uverbs_post_recv, wqe_size),
	      "post commands differ");
static_assert(sizeof(struct ib_uverbs_post_send_resp) ==
	      sizeof(struct ib_uverbs_post_recv_resp), "post responses differ");

static int rodpu_doorbell(struct rodpu_qp *qp, bool sq)
{
	struct rodpu_context *ctx = to_rctx(qp->vqp.qp.context);
	struct ib_uverbs_post_send_resp resp;
	struct {
		struct ib_uverbs_cmd_hdr hdr;
		struct ib_uverbs_post_send cmd;
	} req = {
		.hdr = {
			.command = sq ? IB_USER_VERBS_CMD_POST_SEND :
					IB_USER_VERBS_CMD_POST_RECV,
			.in_words = sizeof(req) / 4,
			.out_words = sizeof(resp) / 4,
		},
		.cmd = {
			.response = (uintptr_t)&resp,
			.qp_handle = qp->vqp.qp.handle,
			.wqe_size = sq ? sizeof(struct ib_uverbs_send_wr) :
					 sizeof(struct ib_uverbs_recv_wr),
		},
	};
	struct ibv_send_wr *bad_send = NULL;
	struct ibv_recv_wr *bad_recv = NULL;
	int ret;

	if (!__atomic_load_n(&ctx->db_ioctl, __ATOMIC_RELAXED)) {
		ret = rodpu_cmd_write(&ctx->vctx.context, &req, sizeof(req));
		if (ret != EACCES)
			return ret;
		__atomic_store_n(&ctx->db_ioctl, true, __ATOMIC_RELAXED);
	}
	if (sq)
		return ibv_cmd_post_send(&qp->vqp.qp, NULL, &bad_send);
	return ibv_cmd_post_recv(&qp->vqp.qp, NULL, &bad_recv);
}

static int rodpu_sq_doorbell(struct rodpu_qp *qp)
{
	return rodpu_doorbell(qp, true);
}

static int rodpu_rq_doorbell(struct rodpu_qp *qp)
{
	return rodpu_doorbell(qp, false);
}

/*
 * A send queue takes work requests from RTS on (and in SQD and ERR: the
 * kernel flushes them); in RESET, INIT and RTR posting is an immediate
 * error, as the IB spec and rxe have it.  A receive queue takes them
 * from INIT on.  ibv_modify_qp() keeps ibv_qp.state; a QP the kernel
 * moved to ERR on its own still reads RTS here, which is right: posting
 * is allowed in both.
 */
static bool rodpu_sq_open(const struct ibv_qp *ibqp)
{
	return ibqp->state != IBV_QPS_RESET && ibqp->state != IBV_QPS_INIT &&
	       ibqp->state != IBV_QPS_RTR;
}

static bool rodpu_rq_open(const struct ibv_qp *ibqp)
{
	return ibqp->state != IBV_QPS_RESET;
}

/**
 * rodpu_post_send - the post_send verb.
 * @ibqp: the QP
 * @wr: list of work requests
 * @bad_wr: on failure, the first request that was not posted
 *
 * The requests before *@bad_wr are posted even when the call fails.
 * Should the doorbell fail after every request reached the ring, its
 * error is returned with *@bad_wr NULL.
 *
 * Return: 0, ENOMEM when the send queue is full, EINVAL for a request
 * that cannot be carried out (see rodpu_swqe_encode(); on UC a read or
 * an atomic too; on UD anything but a send, or no AH) or a QP without a
 * send queue, EOPNOTSUPP on a QP type other than RC, UC, UD and XRC_SEND
 * (whose requests name their SRQ in wr->qp_type.xrc), EIO if
 * the ring's consumer index is corrupt, or the doorbell's error.
 */
int rodpu_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		    struct ibv_send_wr **bad_wr)
{
	struct rodpu_qp *qp = to_rqp(ibqp);
	struct rodpu_wq *sq = &qp->sq;
	uint32_t prod, room = 0;
	bool posted, in_error;
	int ret = 0, db;

	if (!rodpu_qp_type_sends(ibqp->qp_type)) {
		*bad_wr = wr;
		return EOPNOTSUPP;
	}
	if (!sq->hdr || !rodpu_sq_open(ibqp)) {
		*bad_wr = wr;
		return EINVAL;
	}

	pthread_spin_lock(&sq->lock);
	prod = sq->prod;
	for (; wr; wr = wr->next) {
		if (!room) {
			ret = rodpu_wq_room(sq, prod, &room);
			if (!ret && !room)
				ret = ENOMEM;
			if (ret)
				break;
		}
		ret = rodpu_qp_op_ok(ibqp->qp_type, wr->opcode) ? 0 : EINVAL;
		if (!ret)
			ret = rodpu_swqe_encode(rodpu_wq_slot(sq, prod), wr,
						sq->max_sge, sq->max_inline);
		if (!ret && ibqp->qp_type == IBV_QPT_UD)
			ret = rodpu_ud_dest(rodpu_wq_slot(sq, prod), wr);
		if (!ret && ibqp->qp_type == IBV_QPT_XRC_SEND) {
			struct rodp_swqe *w = rodpu_wq_slot(sq, prod);

			w->dest.xrc_srqn = wr->qp_type.xrc.remote_srqn;
		}
		if (ret)
			break;
		prod++;
		room--;
	}
	posted = prod != sq->prod;
	if (posted)
		rodpu_wq_publish(sq, prod);
	in_error = rodpu_wq_in_error(sq);
	pthread_spin_unlock(&sq->lock);

	if (ret)
		*bad_wr = wr;
	/* Ring for new WQEs, and whenever the QP is in error (flush). */
	if (posted || in_error) {
		db = rodpu_sq_doorbell(qp);
		if (db && !ret) {
			ret = db;
			*bad_wr = wr;
		}
	}
	return ret;
}

/**
 * rodpu_post_recv - the post_recv verb.
 * @ibqp: the QP
 * @wr: list of work requests
 * @bad_wr: on failure, the first request that was not posted
 *
 * No system call, unless the QP is in error: then the kernel is asked to
 * flush what was posted.  The requests before *@bad_wr are posted even
 * when the call fails.
 *
 * Return: 0, ENOMEM when the receive queue is full, EINVAL for too many
 * SGEs or a QP without a receive queue of its own, EIO if the ring's
 * consumer index is corrupt, or the flush request's error.
 */
int rodpu_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
		    struct ibv_recv_wr **bad_wr)
{
	struct rodpu_qp *qp = to_rqp(ibqp);
	struct rodpu_wq *rq = &qp->rq;
	uint32_t prod, room = 0;
	bool in_error;
	int ret = 0, db;

	if (!rq->hdr || !rodpu_rq_open(ibqp)) {
		*bad_wr = wr;
		return EINVAL;
	}

	pthread_spin_lock(&rq->lock);
	prod = rq->prod;
	for (; wr; wr = wr->next) {
		if (!room) {
			ret = rodpu_wq_room(rq, prod, &room);
			if (!ret && !room)
				ret = ENOMEM;
			if (ret)
				break;
		}
		ret = rodpu_rwqe_encode(rodpu_wq_slot(rq, prod), wr,
					rq->max_sge);
		if (ret)
			break;
		prod++;
		room--;
	}
	if (prod != rq->prod)
		rodpu_wq_publish(rq, prod);
	in_error = rodpu_wq_in_error(rq);
	pthread_spin_unlock(&rq->lock);

	if (ret)
		*bad_wr = wr;
	if (in_error) {
		db = rodpu_rq_doorbell(qp);
		if (db && !ret) {
			ret = db;
			*bad_wr = wr;
		}
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* Extended posting: ibv_wr_start() ... ibv_wr_complete()              */
/* ------------------------------------------------------------------ */

/*
 * A batch is built in the slots after the published producer index and
 * published as a whole by wr_complete.  The first error poisons the
 * batch: later calls do nothing, wr_complete publishes nothing and
 * returns that error (a batch either posts completely or not at all).
 */
static void rodpu_wr_fail(struct rodpu_qp *qp, int err)
{
	if (!qp->wr_err)
		qp->wr_err = err;
	qp->wr_cur = NULL;
}

/* Is the WQE being built complete?  An atomic needs its result buffer. */
static int rodpu_wr_check_cur(const struct rodpu_qp *qp)
{
	const struct rodp_swqe *w = qp->wr_cur;

	if (w && rodpu_op_is_atomic(w->opcode) && w->num_sge != 1)
		return EINVAL;
	return 0;
}

/* Start a new WQE for @op, taking wr_id and wr_flags from the QP. */
static struct rodp_swqe *rodpu_wr_begin(struct ibv_qp_ex *ibqpx,
					 unsigned int op)
{
	struct rodpu_qp *qp = ex_to_rqp(ibqpx);
	struct rodp_swqe *w;
	uint32_t room;
	int ret;

	if (qp->wr_err)
		return NULL;
	if (ibqpx->qp_base.qp_type == IBV_QPT_UD && !rodpu_ud_op_ok(op)) {
		rodpu_wr_fail(qp, EINVAL);
		return NULL;
	}
	ret = rodpu_wr_check_cur(qp);
	if (!ret && !rodpu_qp_op_ok(ibqpx->qp_base.qp_type, op))
		ret = EINVAL;
	if (!ret)
		ret = rodpu_wq_room(&qp->sq, qp->wr_prod, &room);
	if (!ret && !room)
		ret = ENOMEM;
	if (ret) {
		rodpu_wr_fail(qp, ret);
		return NULL;
	}

	w = rodpu_wq_slot(&qp->sq, qp->wr_prod++);
	memset(w, 0, sizeof(*w));
	w->wr_id = ibqpx->wr_id;
	w->opcode = (uint8_t)op;
	/* Inline is chosen by the setter, not by wr_flags. */
	w->flags = (uint8_t)(ibqpx->wr_flags & RODPU_SWQE_FLAGS &
			     ~RODP_SEND_INLINE);
	qp->wr_cur = w;
	return w;
}

static void rodpu_wr_start(struct ibv_qp_ex *ibqpx)
{
	struct rodpu_qp *qp = ex_to_rqp(ibqpx);

	pthread_spin_lock(&qp->sq.lock);
	qp->wr_prod = qp->sq.prod;
	qp->wr_cur = NULL;
	qp->wr_err = 0;
	if (!rodpu_qp_type_sends(ibqpx->qp_base.qp_type))
		qp->wr_err = EOPNOTSUPP;
	else if (!qp->sq.hdr || !rodpu_sq_open(&ibqpx->qp_base))
		qp->wr_err = EINVAL;
}

static int rodpu_wr_complete(struct ibv_qp_ex *ibqpx)
{
	struct rodpu_qp *qp = ex_to_rqp(ibqpx);
	struct rodpu_wq *sq = &qp->sq;
	bool posted = false, in_error = false;
	int ret, db;

	ret = qp->wr_err;
	if (!ret)
		ret = rodpu_wr_check_cur(qp);
	if (!ret && qp->wr_prod != sq->prod) {
		rodpu_wq_publish(sq, qp->wr_prod);
		posted = true;
	}
	if (sq->hdr)
		in_error = rodpu_wq_in_error(sq);
	qp->wr_cur = NULL;
	qp->wr_err = 0;
	pthread_spin_unlock(&sq->lock);

	if (posted || in_error) {
		db = rodpu_sq_doorbell(qp);
		if (db && !ret)
			ret = db;
	}
	return ret;
}

static void rodpu_wr_abort(struct ibv_qp_ex *ibqpx)
{
	struct rodpu_qp *qp = ex_to_rqp(ibqpx);

	qp->wr_cur = NULL;
	qp->wr_err = 0;
	pthread_spin_unlock(&qp->sq.lock);
}

static void rodpu_wr_send(struct ibv_qp_ex *ibqpx)
{
	rodpu_wr_begin(ibqpx, IBV_WR_SEND);
}

static void rodpu_wr_send_imm(struct ibv_qp_ex *ibqpx, __be32 imm_data)
{
	struct rodp_swqe *w = rodpu_wr_begin(ibqpx, IBV_WR_SEND_WITH_IMM);

	if (w)
		w->imm_data = imm_data;
}

static void rodpu_wr_rdma(struct ibv_qp_ex *ibqpx, unsigned int op,
			  uint32_t rkey, uint64_t remote_addr, __be32 imm_data)
{
	struct rodp_swqe *w = rodpu_wr_begin(ibqpx, op);

	if (!w)
		return;
	w->rkey = rkey;
	w->remote_addr = remote_addr;
	w->imm_data = imm_data;
}

static void rodpu_wr_rdma_write(struct ibv_qp_ex *ibqpx, uint32_t rkey,
				uint64_t remote_addr)
{
	rodpu_wr_rdma(ibqpx, IBV_WR_RDMA_WRITE, rkey, remote_addr, 0);
}

static void rodpu_wr_rdma_write_imm(struct ibv_qp_ex *ibqpx, uint32_t rkey,
				    uint64_t remote_addr, __be32 imm_data)
{
	rodpu_wr_rdma(ibqpx, IBV_WR_RDMA_WRITE_WITH_IMM, rkey, remote_addr,
		      imm_data);
}

static void rodpu_wr_rdma_read(struct ibv_qp_ex *ibqpx, uint32_t rkey,
			       uint64_t remote_addr)
{
	rodpu_wr_rdma(ibqpx, IBV_WR_RDMA_READ, rkey, remote_addr, 0);
}

static void rodpu_wr_atomic(struct ibv_qp_ex *ibqpx, unsigned int op,
			    uint32_t rkey, uint64_t remote_addr,
			    uint64_t compare_add, uint64_t swap)
{
	struct rodp_swqe *w;

	if (remote_addr & (RODPU_ATOMIC_SIZE - 1)) {
		rodpu_wr_fail(ex_to_rqp(ibqpx), EINVAL);
		return;
	}
	w = rodpu_wr_begin(ibqpx, op);
	if (!w)
		return;
	w->rkey = rkey;
	w->remote_addr = remote_addr;
	w->compare_add = compare_add;
	w->swap = swap;
}

static void rodpu_wr_atomic_cmp_swp(struct ibv_qp_ex *ibqpx, uint32_t rkey,
				    uint64_t remote_addr, uint64_t compare,
				    uint64_t swap)
{
	rodpu_wr_atomic(ibqpx, IBV_WR_ATOMIC_CMP_AND_SWP, rkey, remote_addr,
			compare, swap);
}

static void rodpu_wr_atomic_fetch_add(struct ibv_qp_ex *ibqpx, uint32_t rkey,
				      uint64_t remote_addr, uint64_t add)
{
	rodpu_wr_atomic(ibqpx, IBV_WR_ATOMIC_FETCH_AND_ADD, rkey, remote_addr,
			add, 0);
}

static void rodpu_wr_set_sge_list(struct ibv_qp_ex *ibqpx, size_t num_sge,
				  const struct ibv_sge *sg_list)
{
	struct rodpu_qp *qp = ex_to_rqp(ibqpx);
	struct rodp_swqe *w = qp->wr_cur;

	if (qp->wr_err)
		return;
	if (!w || num_sge > qp->sq.max_sge ||
	    w->opcode == IBV_WR_ATOMIC_WRITE || w->opcode == RODP_WR_FLUSH ||
	    (rodpu_op_is_atomic(w->opcode) &&
	     (num_sge != 1 || sg_list[0].length != RODPU_ATOMIC_SIZE))) {
		rodpu_wr_fail(qp, EINVAL);
		return;
	}
	if (num_sge)
		memcpy(rodpu_swqe_sges(w), sg_list,
		       num_sge * sizeof(struct rodp_sge));
	w->num_sge = (uint16_t)num_sge;
	w->inline_len = 0;
	w->flags &= (uint8_t)~RODP_SEND_INLINE;
}

static void rodpu_wr_set_sge(struct ibv_qp_ex *ibqpx, uint32_t lkey,
			     uint64_t addr, uint32_t length)
{
	const struct ibv_sge sge = {
		.addr = addr,
		.length = length,
		.lkey = lkey,
	};

	rodpu_wr_set_sge_list(ibqpx, 1, &sge);
}

static void rodpu_wr_set_inline_data_list(struct ibv_qp_ex *ibqpx,
					  size_t num_buf,
					  const struct ibv_data_buf *buf_list)
{
	struct rodpu_qp *qp = ex_to_rqp(ibqpx);
	struct rodp_swqe *w = qp->wr_cur;
	uint32_t total;
	int ret;

	if (qp->wr_err)
		return;
	/* ibv_wr_atomic_write() carries its 8 bytes itself. */
	if (!w || !rodpu_op_has_inline(w->opcode) ||
	    w->opcode == IBV_WR_ATOMIC_WRITE) {
		rodpu_wr_fail(qp, EINVAL);
		return;
	}
	ret = rodpu_inline_from_bufs(rodpu_swqe_sges(w), qp->sq.max_inline,
				     buf_list, num_buf, &total);
	if (ret) {
		rodpu_wr_fail(qp, ret);
		return;
	}
	w->inline_len = total;
	w->num_sge = 0;
	w->flags |= RODP_SEND_INLINE;
}

static void rodpu_wr_set_inline_data(struct ibv_qp_ex *ibqpx, void *addr,
				     size_t length)
{
	const struct ibv_data_buf buf = {
		.addr = addr,
		.length = length,
	};

	rodpu_wr_set_inline_data_list(ibqpx, 1, &buf);
}

/*
 * Builders and setters rodp does not carry out (not offered by
 * create_qp_ex either): calling one fails the batch.
 */
static void rodpu_wr_unsupported(struct ibv_qp_ex *ibqpx)
{
	rodpu_wr_fail(ex_to_rqp(ibqpx), EOPNOTSUPP);
}

static void rodpu_wr_bind_mw(struct ibv_qp_ex *ibqpx, struct ibv_mw *mw,
			     uint32_t rkey,
			     const struct ibv_mw_bind_info *bind_info)
{
	struct rodp_swqe *w = rodpu_wr_begin(ibqpx, IBV_WR_BIND_MW);

	if (w && rodpu_swqe_bind(w, mw, rkey, bind_info))
		rodpu_wr_fail(ex_to_rqp(ibqpx), EINVAL);
}

static void rodpu_wr_local_inv(struct ibv_qp_ex *ibqpx,
			       uint32_t invalidate_rkey)
{
	struct rodp_swqe *w = rodpu_wr_begin(ibqpx, IBV_WR_LOCAL_INV);

	if (w)
		w->imm_data = invalidate_rkey;
}

static void rodpu_wr_send_inv(struct ibv_qp_ex *ibqpx,
			      uint32_t invalidate_rkey)
{
	struct rodp_swqe *w = rodpu_wr_begin(ibqpx, IBV_WR_SEND_WITH_INV);

	if (w)
		w->imm_data = invalidate_rkey;
}

static void rodpu_wr_send_tso(struct ibv_qp_ex *ibqpx, void *hdr,
			      uint16_t hdr_sz, uint16_t mss)
{
	rodpu_wr_unsupported(ibqpx);
}

static void rodpu_wr_set_ud_addr(struct ibv_qp_ex *ibqpx, struct ibv_ah *ah,
				 uint32_t remote_qpn, uint32_t remote_qkey)
{
	struct rodpu_qp *qp = ex_to_rqp(ibqpx);
	struct rodp_swqe *w = qp->wr_cur;

	if (qp->wr_err)
		return;
	if (ibqpx->qp_base.qp_type != IBV_QPT_UD) {
		rodpu_wr_fail(qp, EOPNOTSUPP);	/* no datagrams on this QP */
		return;
	}
	if (!w || !ah) {
		rodpu_wr_fail(qp, EINVAL);
		return;
	}
	w->dest.ah = to_rah(ah)->num;
	w->dest.remote_qpn = remote_qpn;
	w->dest.remote_qkey = remote_qkey;
}

static void rodpu_wr_set_xrc_srqn(struct ibv_qp_ex *ibqpx,
				  uint32_t remote_srqn)
{
	struct rodpu_qp *qp = ex_to_rqp(ibqpx);
	struct rodp_swqe *w = qp->wr_cur;

	if (qp->wr_err)
		return;
	if (ibqpx->qp_base.qp_type != IBV_QPT_XRC_SEND) {
		rodpu_wr_fail(qp, EOPNOTSUPP);	/* no SRQ to name */
		return;
	}
	if (!w) {
		rodpu_wr_fail(qp, EINVAL);
		return;
	}
	w->dest.xrc_srqn = remote_srqn;
}

/* ATOMIC WRITE: the 8 bytes at @atomic_wr go in the WQE as they are. */
static void rodpu_wr_atomic_write(struct ibv_qp_ex *ibqpx, uint32_t rkey,
				  uint64_t remote_addr, const void *atomic_wr)
{
	uint64_t v;

	memcpy(&v, atomic_wr, sizeof(v));
	rodpu_wr_atomic(ibqpx, IBV_WR_ATOMIC_WRITE, rkey, remote_addr, v, 0);
}

#ifdef RODPU_HAVE_WR_FLUSH
/*
 * FLUSH: @len bytes at @remote_addr (or the whole MR) made visible at
 * the responder; the WQE carries them as rodp-abi.h says, no SGE.
 */
static void rodpu_wr_flush(struct ibv_qp_ex *ibqpx, uint32_t rkey,
			   uint64_t remote_addr, size_t len, uint8_t type,
			   uint8_t level)
{
	struct rodp_swqe *w;

	if (!type || (type & ~(IBV_FLUSH_GLOBAL | IBV_FLUSH_PERSISTENT)) ||
	    (level != IBV_FLUSH_RANGE && level != IBV_FLUSH_MR) ||
	    (level == IBV_FLUSH_RANGE && len > RCORE_RC_MAX_MSG)) {
		rodpu_wr_fail(ex_to_rqp(ibqpx), EINVAL);
		return;
	}
	w = rodpu_wr_begin(ibqpx, IBV_WR_FLUSH);
	if (!w)
		return;
	w->rkey = rkey;
	w->remote_addr = remote_addr;
	w->compare_add = level == IBV_FLUSH_RANGE ? len : 0;
	w->swap = (uint64_t)level << RODP_FLUSH_SEL_SHIFT | type;
}
#endif

static void rodpu_qp_set_wr_ops(struct ibv_qp_ex *qpx)
{
	qpx->wr_start = rodpu_wr_start;
	qpx->wr_complete = rodpu_wr_complete;
	qpx->wr_abort = rodpu_wr_abort;
	qpx->wr_send = rodpu_wr_send;
	qpx->wr_send_imm = rodpu_wr_send_imm;
	qpx->wr_rdma_write = rodpu_wr_rdma_write;
	qpx->wr_rdma_write_imm = rodpu_wr_rdma_write_imm;
	qpx->wr_rdma_read = rodpu_wr_rdma_read;
	qpx->wr_atomic_cmp_swp = rodpu_wr_atomic_cmp_swp;
	qpx->wr_atomic_fetch_add = rodpu_wr_atomic_fetch_add;
	qpx->wr_set_sge = rodpu_wr_set_sge;
	qpx->wr_set_sge_list = rodpu_wr_set_sge_list;
	qpx->wr_set_inline_data = rodpu_wr_set_inline_data;
	qpx->wr_set_inline_data_list = rodpu_wr_set_inline_data_list;
	qpx->wr_bind_mw = rodpu_wr_bind_mw;
	qpx->wr_local_inv = rodpu_wr_local_inv;
	qpx->wr_send_inv = rodpu_wr_send_inv;
	qpx->wr_send_tso = rodpu_wr_send_tso;
	qpx->wr_set_ud_addr = rodpu_wr_set_ud_addr;
	qpx->wr_set_xrc_srqn = rodpu_wr_set_xrc_srqn;
	qpx->wr_atomic_write = rodpu_wr_atomic_write;
#ifdef RODPU_HAVE_WR_FLUSH
	qpx->wr_flush = rodpu_wr_flush;
#endif
}

/* ------------------------------------------------------------------ */
/* Creation and destruction                                            */
/* ------------------------------------------------------------------ */

/*
 * rodpu_wq_map - map a work queue the kernel announced, after checking
 * that the granted capabilities fit in it and that its header agrees.
 * Return: 0 or a positive errno.
 */
int rodpu_wq_map(struct rodpu_context *ctx, struct rodpu_wq *wq,
		 const struct rodpu_wq_desc *d)
{
	uint64_t room = 0, need = 0;
	struct rodp_ring_hdr *hdr;
	void *p;
	bool ok;

	wq->hdr = NULL;
	wq->depth = 0;
	if (!d->size) {
		if (!d->depth)
			return 0;
		rodpu_err(&ctx->vctx, "%s: %u WRs granted but no ring",
			  d->name, d->depth);
		return EINVAL;
	}

	ok = d->log2_slots <= 30 && d->slot_size >= d->wqe_size;
	if (ok) {
		room = d->slot_size - d->wqe_size;
		need = RODP_RING_HDR_SIZE +
		       ((uint64_t)d->slot_size << d->log2_slots);
	}
	if (!ok || d->slot_size % sizeof(struct rodp_sge) ||
	    d->size < need || (size_t)d->size != d->size ||
	    d->offset > INT64_MAX ||
	    d->depth > (1u << d->log2_slots) ||
	    (uint64_t)d->max_sge * sizeof(struct rodp_sge) > room ||
	    d->max_inline > room) {
		rodpu_err(&ctx->vctx,
			  "bad %s ring: 2^%u slots of %u bytes, %llu bytes at %#llx, for %u WRs of %u SGEs, %u inline",
			  d->name, d->log2_slots, d->slot_size,
			  (unsigned long long)d->size,
			  (unsigned long long)d->offset, d->depth, d->max_sge,
			  d->max_inline);
		return EINVAL;
	}

	p = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 ctx->vctx.context.cmd_fd, (off_t)d->offset);
	if (p == MAP_FAILED) {
		int ret = errno;

		rodpu_err(&ctx->vctx, "mmap of %s ring failed: %s", d->name,
			  strerror(ret));
		return ret;
	}

	hdr = p;
	if (hdr->log2_slots != d->log2_slots ||
	    hdr->slot_size != d->slot_size) {
		rodpu_err(&ctx->vctx,
			  "%s ring header says 2^%u slots of %u bytes, expected 2^%u of %u",
			  d->name, hdr->log2_slots, hdr->slot_size,
			  d->log2_slots, d->slot_size);
		munmap(p, d->size);
		return EINVAL;
	}

	wq->hdr = hdr;
	wq->map_size = d->size;
	wq->log2_slots = d->log2_slots;
	wq->slot_size = d->slot_size;
	wq->depth = d->depth;
	wq->max_sge = d->max_sge;
	wq->max_inline = d->max_inline;
	wq->prod = rcore_read_once_u32(&hdr->prod);
	return 0;
}

void rodpu_wq_unmap(struct rodpu_wq *wq)
{
	if (wq->hdr)
		munmap(wq->hdr, wq->map_size);
	wq->hdr = NULL;
}

static struct rodpu_qp *rodpu_qp_alloc(void)
{
	struct rodpu_qp *qp;

	qp = calloc(1, sizeof(*qp));
	if (!qp)
		return NULL;
	if (pthread_spin_init(&qp->sq.lock, PTHREAD_PROCESS_PRIVATE))
		goto err_free;
	if (pthread_spin_init(&qp->rq.lock, PTHREAD_PROCESS_PRIVATE))
		goto err_sq_lock;
	return qp;

err_sq_lock:
	pthread_spin_destroy(&qp->sq.lock);
err_free:
	free(qp);
	errno = ENOMEM;
	return NULL;
}

static void rodpu_qp_free(struct rodpu_qp *qp)
{
	pthread_spin_destroy(&qp->rq.lock);
	pthread_spin_destroy(&qp->sq.lock);
	free(qp);
}

/* Common to create_qp and create_qp_ex; returns NULL with errno set. */
static struct ibv_qp *rodpu_qp_create(struct ibv_context *ibctx,
				      struct ibv_qp_init_attr_ex *attr)
{
	struct rodpu_context *ctx = to_rctx(ibctx);
	struct rodpu_create_qp_resp resp;
	struct rodpu_create_qp cmd;
	struct rodpu_wq_desc d;
	struct rodpu_qp *qp;
	uint32_t cmask;
	int ret;

	if ((attr->comp_mask & ~(uint32_t)RODPU_QP_COMP_MASK) ||
	    ((attr->comp_mask & IBV_QP_INIT_ATTR_CREATE_FLAGS) &&
	     attr->create_flags) ||
	    ((attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS) &&
	     (attr->send_ops_flags &
	      ~(uint64_t)(attr->qp_type == IBV_QPT_UC ? RODPU_UC_SEND_OPS :
			  attr->qp_type == IBV_QPT_UD ? RODPU_UD_SEND_OPS :
			  attr->qp_type == IBV_QPT_XRC_RECV ? 0 :
			  attr->qp_type == IBV_QPT_RC ? RODPU_RC_SEND_OPS :
			  RODPU_QP_SEND_OPS)))) {
		errno = EOPNOTSUPP;
		return NULL;
	}

	/* An XRC domain, not a PD, is what an XRC_RECV QP, and only it, has. */
	if (!(attr->comp_mask & IBV_QP_INIT_ATTR_XRCD) !=
	    (attr->qp_type != IBV_QPT_XRC_RECV)) {
		errno = EINVAL;
		return NULL;
	}

	qp = rodpu_qp_alloc();
	if (!qp)
		return NULL;

	/*
	 * No create flag is supported, so the mask says nothing: the legacy
	 * command this goes down as would refuse it (EINVAL).
	 */
	cmask = attr->comp_mask;
	attr->comp_mask &= ~(uint32_t)IBV_QP_INIT_ATTR_CREATE_FLAGS;
	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_create_qp_ex(ibctx, &qp->vqp, attr, &cmd.ibv_cmd,
				   sizeof(cmd),
				   rodpu_create_qp_resp_core(&resp),
				   sizeof(resp));
	attr->comp_mask = cmask;
	if (ret)
		goto err_free;

	/* attr->cap now holds what the kernel granted. */
	d = (struct rodpu_wq_desc){
		.name = "SQ",
		.offset = resp.drv.sq_mmap_offset,
		.size = resp.drv.sq_mmap_size,
		.log2_slots = resp.drv.sq_log2_slots,
		.slot_size = resp.drv.sq_slot_size,
		.wqe_size = sizeof(struct rodp_swqe),
		.depth = attr->cap.max_send_wr,
		.max_sge = attr->cap.max_send_sge,
		.max_inline = attr->cap.max_inline_data,
	};
	ret = rodpu_wq_map(ctx, &qp->sq, &d);
	if (ret)
		goto err_destroy;

	d = (struct rodpu_wq_desc){
		.name = "RQ",
		.offset = resp.drv.rq_mmap_offset,
		.size = resp.drv.rq_mmap_size,
		.log2_slots = resp.drv.rq_log2_slots,
		.slot_size = resp.drv.rq_slot_size,
		.wqe_size = sizeof(struct rodp_rwqe),
		.depth = attr->cap.max_recv_wr,
		.max_sge = attr->cap.max_recv_sge,
	};
	ret = rodpu_wq_map(ctx, &qp->rq, &d);
	if (ret)
		goto err_unmap_sq;

	if (attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS) {
		rodpu_qp_set_wr_ops(&qp->vqp.qp_ex);
		qp->vqp.comp_mask |= VERBS_QP_EX;
	}
	return &qp->vqp.qp;

err_unmap_sq:
	rodpu_wq_unmap(&qp->sq);
err_destroy:
	ibv_cmd_destroy_qp(&qp->vqp.qp);
err_free:
	rodpu_qp_free(qp);
	errno = ret;
	return NULL;
}

/**
 * rodpu_create_qp_ex - the create_qp_ex verb.
 * @ibctx: context
 * @attr: attributes; comp_mask may hold IBV_QP_INIT_ATTR_PD,
 *	  IBV_QP_INIT_ATTR_XRCD (an XRC_RECV QP: no queues, the kernel's
 *	  responder takes receives from the XRC SRQs its requests name) and
 *	  IBV_QP_INIT_ATTR_SEND_OPS_FLAGS (RC operations, also on XRC_SEND;
 *	  on UC sends and writes only); attr->cap is updated to what was
 *	  granted
 *
 * Return: the QP, or NULL with errno set (EOPNOTSUPP for an SRQ or an
 * attribute or operation rodp does not support).
 */
struct ibv_qp *rodpu_create_qp_ex(struct ibv_context *ibctx,
				  struct ibv_qp_init_attr_ex *attr)
{
	return rodpu_qp_create(ibctx, attr);
}

/**
 * rodpu_open_qp - the open_qp verb: another handle on an XRC_RECV QP.
 * @ibctx: context
 * @attr: the QP's number and XRC domain
 *
 * An XRC_RECV QP has no queues here: a handle is all there is.
 *
 * Return: the QP, or NULL with errno set.
 */
struct ibv_qp *rodpu_open_qp(struct ibv_context *ibctx,
			     struct ibv_qp_open_attr *attr)
{
	struct ib_uverbs_create_qp_resp resp;
	struct ibv_open_qp cmd;
	struct rodpu_qp *qp;
	int ret;

	qp = rodpu_qp_alloc();
	if (!qp)
		return NULL;
	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_open_qp(ibctx, &qp->vqp, sizeof(qp->vqp), attr, &cmd,
			      sizeof(cmd), &resp, sizeof(resp));
	if (ret) {
		rodpu_qp_free(qp);
		errno = ret;
		return NULL;
	}
	return &qp->vqp.qp;
}

/**
 * rodpu_create_qp - the create_qp verb.
 * @pd: protection domain
 * @attr: attributes; attr->cap is updated to what was granted
 *
 * Return: the QP, or NULL with errno set.
 */
struct ibv_qp *rodpu_create_qp(struct ibv_pd *pd,
			       struct ibv_qp_init_attr *attr)
{
	struct ibv_qp_init_attr_ex attr_ex;
	struct ibv_qp *qp;

	memset(&attr_ex, 0, sizeof(attr_ex));
	attr_ex.qp_context = attr->qp_context;
	attr_ex.send_cq = attr->send_cq;
	attr_ex.recv_cq = attr->recv_cq;
	attr_ex.srq = attr->srq;
	attr_ex.cap = attr->cap;
	attr_ex.qp_type = attr->qp_type;
	attr_ex.sq_sig_all = attr->sq_sig_all;
	attr_ex.comp_mask = IBV_QP_INIT_ATTR_PD;
	attr_ex.pd = pd;

	qp = rodpu_qp_create(pd->context, &attr_ex);
	if (qp)
		attr->cap = attr_ex.cap;
	return qp;
}

/**
 * rodpu_destroy_qp - the destroy_qp verb.
 * @ibqp: the QP; left intact if the kernel refuses to destroy it
 *
 * Return: 0 or a positive errno.
 */
int rodpu_destroy_qp(struct ibv_qp *ibqp)
{
	struct rodpu_qp *qp = to_rqp(ibqp);
	int ret;

	ret = ibv_cmd_destroy_qp(ibqp);
	if (ret)
		return ret;

	rodpu_wq_unmap(&qp->rq);
	rodpu_wq_unmap(&qp->sq);
	rodpu_qp_free(qp);
	return 0;
}

/* Take the producer index from the ring again (the kernel may reset it). */
static void rodpu_wq_resync(struct rodpu_wq *wq)
{
	if (!wq->hdr)
		return;
	pthread_spin_lock(&wq->lock);
	wq->prod = rcore_read_once_u32(&wq->hdr->prod);
	pthread_spin_unlock(&wq->lock);
}

/**
 * rodpu_modify_qp - the modify_qp verb (carried out by the kernel).
 * @ibqp: the QP
 * @attr: new attributes
 * @attr_mask: IBV_QP_* attributes to change
 *
 * A QP moved to RESET is empty; should the kernel have rewound its rings
 * on the way, the provider follows.
 *
 * Return: 0 or a positive errno.
 */
int rodpu_modify_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr,
		    int attr_mask)
{
	struct rodpu_qp *qp = to_rqp(ibqp);
	struct ibv_modify_qp cmd;
	int ret;

	memset(&cmd, 0, sizeof(cmd));
	ret = ibv_cmd_modify_qp(ibqp, attr, attr_mask, &cmd, sizeof(cmd));
	if (ret)
		return ret;

	if ((attr_mask & IBV_QP_STATE) && attr->qp_state == IBV_QPS_RESET) {
		rodpu_wq_resync(&qp->sq);
		rodpu_wq_resync(&qp->rq);
		/* Nothing of the QP's past life stays in its CQs. */
		if (ibqp->send_cq)
			rodpu_cq_clean(ibqp->send_cq, ibqp->qp_num);
		if (ibqp->recv_cq && ibqp->recv_cq != ibqp->send_cq)
			rodpu_cq_clean(ibqp->recv_cq, ibqp->qp_num);
	}
	return 0;
}

/**
 * rodpu_query_qp - the query_qp verb (answered by the kernel).
 * @ibqp: the QP
 * @attr: current attributes
 * @attr_mask: IBV_QP_* attributes wanted
 * @init_attr: creation attributes
 *
 * Return: 0 or a positive errno.
 */
int rodpu_query_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr,
		   int attr_mask, struct ibv_qp_init_attr *init_attr)
{
	struct ibv_query_qp cmd;

	memset(&cmd, 0, sizeof(cmd));
	return ibv_cmd_query_qp(ibqp, attr, attr_mask, init_attr, &cmd,
				sizeof(cmd));
}
