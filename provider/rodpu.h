/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Internal declarations of rodp's libibverbs provider.
 */
#ifndef RODPU_H
#define RODPU_H

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "pabi.h"
#include <rdma/rodp-abi.h>
#include <rcore/ring.h>

#define rodpu_container_of(_ptr, _type, _member)			\
	((_type *)(void *)((char *)(_ptr) - offsetof(_type, _member)))

/* Command and response buffers: core part, then rodp's part. */
PABI_DRV_RESP(rodpu_get_context_resp, ib_uverbs_get_context_resp,
		rodp_alloc_context_resp);
PABI_DRV_CMD(rodpu_create_cq, ibv_create_cq, ib_uverbs_create_cq_resp,
	       rodp_create_cq_cmd, rodp_create_cq_resp);
PABI_DRV_CMD(rodpu_create_cq_ex, ibv_create_cq_ex,
	       ib_uverbs_ex_create_cq_resp, rodp_create_cq_cmd,
	       rodp_create_cq_resp);
PABI_DRV_RESP(rodpu_resize_cq_resp, ib_uverbs_resize_cq_resp,
		rodp_resize_cq_resp);
PABI_DRV_CMD(rodpu_create_srq, ibv_create_srq, ib_uverbs_create_srq_resp,
	       rodp_create_srq_cmd, rodp_create_srq_resp);
PABI_DRV_CMD(rodpu_create_xsrq, ibv_create_xsrq, ib_uverbs_create_srq_resp,
	       rodp_create_srq_cmd, rodp_create_srq_resp);
PABI_DRV_CMD(rodpu_create_qp, ibv_create_qp, ib_uverbs_create_qp_resp,
	       rodp_create_qp_cmd, rodp_create_qp_resp);
PABI_DRV_RESP(rodpu_create_ah_resp, ib_uverbs_create_ah_resp,
		rodp_create_ah_resp);

struct rodpu_device {
	struct verbs_device vdev;
};

struct rodpu_context {
	struct verbs_context vctx;
	uint32_t max_inline;		/* from the kernel, for WQEs */
	bool db_ioctl;			/* doorbells through ioctl(2) */
};

/* One mapping of a shared ring (struct rodp_ring_hdr + slots). */
struct rodpu_ring {
	struct rodp_ring_hdr *hdr;	/* start of the mapping */
	size_t map_size;
	uint32_t log2_slots;
	uint32_t cons;			/* our copy of hdr->cons */
};

struct rodpu_cq {
	struct verbs_cq vcq;		/* first: libibverbs owns the start */
	pthread_spinlock_t lock;	/* serialises consumers */
	struct rodpu_ring ring;
	const struct rodp_cqe *cur;	/* entry of an extended poll */
};

/*
 * One work queue of a QP (SQ or RQ): a ring shared with the kernel, in
 * which the provider produces WQEs and the kernel consumes them.
 */
struct rodpu_wq {
	pthread_spinlock_t lock;	/* serialises producers */
	struct rodp_ring_hdr *hdr;	/* start of the mapping; NULL: none */
	size_t map_size;
	uint32_t log2_slots;
	uint32_t slot_size;
	uint32_t depth;			/* WQEs that may be outstanding */
	uint32_t prod;			/* our copy of hdr->prod */
	uint32_t max_sge;		/* as granted at creation */
	uint32_t max_inline;		/* as granted (SQ only) */
};

/* A work queue as the kernel announced it, and what it must hold. */
struct rodpu_wq_desc {
	const char *name;
	uint64_t offset;
	uint64_t size;		/* 0: the QP has no such queue */
	uint32_t log2_slots;
	uint32_t slot_size;
	size_t wqe_size;	/* header of one WQE */
	uint32_t depth;		/* granted max_*_wr */
	uint32_t max_sge;	/* granted max_*_sge */
	uint32_t max_inline;	/* granted max_inline_data (SQ) */
};

/* A shared receive queue: one ring of receive WQEs (rodpu_srq.c). */
struct rodpu_srq {
	struct verbs_srq vsrq;		/* first: libibverbs owns the start */
	struct rodpu_wq wq;		/* wq.lock also serialises modify */
};

struct rodpu_qp {
	struct verbs_qp vqp;		/* first: libibverbs casts to it */
	struct rodpu_wq sq;
	struct rodpu_wq rq;
	/*
	 * Extended posting (ibv_wr_start() .. ibv_wr_complete()), under
	 * sq.lock: the WQEs of the batch are built at sq.prod .. wr_prod - 1
	 * and published together; wr_err makes the batch fail as a whole.
	 */
	uint32_t wr_prod;
	int wr_err;
	struct rodp_swqe *wr_cur;	/* WQE the setters apply to */
};

/* An address handle: a UD send WQE names it by the kernel's number. */
struct rodpu_ah {
	struct ibv_ah ibv_ah;
	uint32_t num;			/* struct rodp_create_ah_resp.ah_num */
};

static inline struct rodpu_ah *to_rah(struct ibv_ah *ibah)
{
	return rodpu_container_of(ibah, struct rodpu_ah, ibv_ah);
}

static inline struct rodpu_context *to_rctx(struct ibv_context *ibctx)
{
	return rodpu_container_of(ibctx, struct rodpu_context, vctx.context);
}

static inline struct rodpu_cq *to_rcq(struct ibv_cq *ibcq)
{
	return rodpu_container_of(ibcq, struct rodpu_cq, vcq.cq);
}

static inline struct rodpu_cq *ex_to_rcq(struct ibv_cq_ex *ibcq)
{
	return rodpu_container_of(ibcq, struct rodpu_cq, vcq.cq_ex);
}

static inline struct rodpu_srq *to_rsrq(struct ibv_srq *ibsrq)
{
	return rodpu_container_of(ibsrq, struct rodpu_srq, vsrq.srq);
}

static inline struct rodpu_qp *to_rqp(struct ibv_qp *ibqp)
{
	return rodpu_container_of(ibqp, struct rodpu_qp, vqp.qp);
}

static inline struct rodpu_qp *ex_to_rqp(struct ibv_qp_ex *ibqp)
{
	return rodpu_container_of(ibqp, struct rodpu_qp, vqp.qp_ex);
}

/*
 * rodpu_log - log through libibverbs (VERBS_LOG_LEVEL / VERBS_LOG_FILE),
 * prefixed with the device name; errno is preserved.
 */
#define rodpu_log(_vctx, _level, _fmt, ...)				\
	do {								\
		int __saved_errno = errno;				\
									\
		__verbs_log((_vctx), (_level), "rodp: %s: " _fmt "\n",	\
			    (_vctx)->context.device->name,		\
			    ##__VA_ARGS__);				\
		errno = __saved_errno;					\
	} while (0)

#define rodpu_err(_vctx, _fmt, ...)					\
	rodpu_log(_vctx, VERBS_LOG_ERR, _fmt, ##__VA_ARGS__)

/* rodpu.c */
extern const struct verbs_context_ops rodpu_ctx_ops;
int rodpu_cmd_write(struct ibv_context *ibctx, const void *cmd,
		    size_t len);

/* rodpu_ah.c */
struct ibv_ah *rodpu_create_ah(struct ibv_pd *pd, struct ibv_ah_attr *attr);
int rodpu_destroy_ah(struct ibv_ah *ibah);
int rodpu_attach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
		       uint16_t lid);
int rodpu_detach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
		       uint16_t lid);

/* rodpu_cq.c */
struct ibv_cq *rodpu_create_cq(struct ibv_context *ibctx, int cqe,
			       struct ibv_comp_channel *channel,
			       int comp_vector);
struct ibv_cq_ex *rodpu_create_cq_ex(struct ibv_context *ibctx,
				     struct ibv_cq_init_attr_ex *attr);
int rodpu_destroy_cq(struct ibv_cq *ibcq);
int rodpu_poll_cq(struct ibv_cq *ibcq, int num_entries, struct ibv_wc *wc);
void rodpu_cq_clean(struct ibv_cq *ibcq, uint32_t qpn);
int rodpu_query_rt_values(struct ibv_context *ibctx,
			  struct ibv_values_ex *values);
int rodpu_req_notify_cq(struct ibv_cq *ibcq, int solicited_only);
int rodpu_resize_cq(struct ibv_cq *ibcq, int cqe);

/* rodpu_import.c */
struct verbs_context *rodpu_import_context(struct ibv_device *ibdev,
					   int cmd_fd);
struct ibv_pd *rodpu_import_pd(struct ibv_context *ibctx, uint32_t pd_handle);
void rodpu_unimport_pd(struct ibv_pd *pd);
struct ibv_mr *rodpu_import_mr(struct ibv_pd *pd, uint32_t mr_handle);
void rodpu_unimport_mr(struct ibv_mr *mr);

/* rodpu_mw.c */
struct ibv_mw *rodpu_alloc_mw(struct ibv_pd *pd, enum ibv_mw_type type);
int rodpu_dealloc_mw(struct ibv_mw *mw);
int rodpu_bind_mw(struct ibv_qp *qp, struct ibv_mw *mw,
		  struct ibv_mw_bind *mw_bind);

/* rodpu_qp.c */
int rodpu_swqe_encode(void *slot, const struct ibv_send_wr *wr,
		      uint32_t max_sge, uint32_t max_inline);
int rodpu_rwqe_encode(void *slot, const struct ibv_recv_wr *wr,
		      uint32_t max_sge);
struct ibv_qp *rodpu_create_qp(struct ibv_pd *pd,
			       struct ibv_qp_init_attr *attr);
struct ibv_qp *rodpu_create_qp_ex(struct ibv_context *ibctx,
				  struct ibv_qp_init_attr_ex *attr);
struct ibv_qp *rodpu_open_qp(struct ibv_context *ibctx,
			     struct ibv_qp_open_attr *attr);
int rodpu_modify_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr,
		    int attr_mask);
int rodpu_query_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr,
		   int attr_mask, struct ibv_qp_init_attr *init_attr);
int rodpu_destroy_qp(struct ibv_qp *ibqp);
int rodpu_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		    struct ibv_send_wr **bad_wr);
int rodpu_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
		    struct ibv_recv_wr **bad_wr);
void *rodpu_wq_slot(const struct rodpu_wq *wq, uint32_t idx);
int rodpu_wq_room(const struct rodpu_wq *wq, uint32_t prod, uint32_t *room);
bool rodpu_wq_in_error(const struct rodpu_wq *wq);
void rodpu_wq_publish(struct rodpu_wq *wq, uint32_t prod);
int rodpu_wq_map(struct rodpu_context *ctx, struct rodpu_wq *wq,
		 const struct rodpu_wq_desc *d);
void rodpu_wq_unmap(struct rodpu_wq *wq);

/* rodpu_xrc.c */
struct ibv_xrcd *rodpu_open_xrcd(struct ibv_context *ibctx,
				 struct ibv_xrcd_init_attr *attr);
int rodpu_close_xrcd(struct ibv_xrcd *ibxrcd);
int rodpu_get_srq_num(struct ibv_srq *ibsrq, uint32_t *srq_num);

/* rodpu_srq.c */
struct ibv_srq *rodpu_create_srq(struct ibv_pd *pd,
				 struct ibv_srq_init_attr *attr);
struct ibv_srq *rodpu_create_srq_ex(struct ibv_context *ibctx,
				    struct ibv_srq_init_attr_ex *attr);
int rodpu_modify_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr,
		     int attr_mask);
int rodpu_query_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr);
int rodpu_destroy_srq(struct ibv_srq *ibsrq);
int rodpu_post_srq_recv(struct ibv_srq *ibsrq, struct ibv_recv_wr *wr,
			struct ibv_recv_wr **bad_wr);

#endif /* RODPU_H */
