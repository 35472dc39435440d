// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: RC, UC, UD and XRC queue pairs: creation with their shared send
 * and receive rings, the state machine of modify_qp, query, destruction, and the
 * doorbells.  The transport runs elsewhere: rodp_eng.c runs a QP's two
 * sides, rodp_recv.c, rodp_req.c and rodp_resp.c are what they do,
 * rodp_wq.c holds the rings and rodp_wc.c the completions, flushes and
 * the error state.
 */

#include <net/ipv6.h>
#include <rdma/ib_cache.h>
#include <rdma/uverbs_ioctl.h>

#include <rdma/rodp-abi.h>
#include "rodp.h"

/**
 * rodp_qp_get_rcu - find a QP by number and take a reference
 * @rdev: the device
 * @qpn: the QP number
 *
 * Any context.  Drop the reference with rodp_qp_put().
 *
 * Return: the QP, or NULL.
 */
struct rodp_qp *rodp_qp_get_rcu(struct rodp_dev *rdev, u32 qpn)
{
	struct rodp_qp *qp;

	rcu_read_lock();
	qp = xa_load(&rdev->qp_xa, qpn);
	if (qp && !refcount_inc_not_zero(&qp->users))
		qp = NULL;
	rcu_read_unlock();
	return qp;
}

/**
 * rodp_qp_put - drop a reference from rodp_qp_get_rcu()
 * @qp: the queue pair
 */
void rodp_qp_put(struct rodp_qp *qp)
{
	if (refcount_dec_and_test(&qp->users))
		complete(&qp->released);
}

static u32 rodp_sq_slot_size(u32 sge, u32 inl)
{
	return sizeof(struct rodp_swqe) +
	       ALIGN(max_t(u32, sge * sizeof(struct rodp_sge), inl), 64);
}

/*
 * A QP on an SRQ: its receives are taken from the SRQ into a buffer of
 * its own, one at a time; it has no receive ring.
 */
static int rodp_qp_attach_srq(struct rodp_qp *qp, struct rodp_srq *srq)
{
	qp->srq_wqe = kzalloc(srq->wq.slot_size, GFP_KERNEL);
	if (!qp->srq_wqe)
		return -ENOMEM;
	qp->srq = srq;
	qp->max_recv_sge = 0;
	return 0;
}

/*
 * The receive side of an XRC target QP: no queue, no SRQ of its own; room
 * for a WQE of whatever XRC SRQ a request names (rodp_xrc.c).
 */
static int rodp_qp_xrc_tgt_init(struct rodp_qp *qp, struct ib_xrcd *xrcd)
{
	qp->srq_wqe = kzalloc(sizeof(struct rodp_rwqe) +
			      RODP_MAX_SGE * sizeof(struct rodp_sge),
			      GFP_KERNEL);
	if (!qp->srq_wqe)
		return -ENOMEM;
	qp->xrcd = xrcd;
	qp->max_recv_sge = 0;
	return 0;
}

static int rodp_create_qp(struct ib_qp *ibqp, struct ib_qp_init_attr *init,
			  struct ib_udata *udata)
{
	struct rodp_dev *rdev = to_rdev(ibqp->device);
	struct rodp_qp *qp = to_rqp(ibqp);
	struct rodp_create_qp_resp resp = {};
	struct rodp_create_qp_cmd cmd = {};
	struct ib_qp_cap *cap = &init->cap;
	bool tgt = init->qp_type == IB_QPT_XRC_TGT;
	bool gsi = init->qp_type == IB_QPT_GSI;
	u32 qpn, sge, inl;
	int err;

	if (init->qp_type != IB_QPT_RC && init->qp_type != IB_QPT_UC &&
	    init->qp_type != IB_QPT_UD && init->qp_type != IB_QPT_XRC_INI &&
	    !tgt && !gsi)
		return -EOPNOTSUPP;
	/* QP1, the MAD layer's (ib_mad): one per port, from the kernel. */
	if (gsi && (udata || init->port_num != 1 || init->srq))
		return -EINVAL;
	if (init->qp_type == IB_QPT_UC && init->srq)
		return -EOPNOTSUPP;	/* UC on an SRQ: not tested yet */
	/*
	 * No udata: an XRC target (the RDMA core makes them for users), or
	 * a kernel consumer's QP (rodp_kverbs.c), its rings not mapped.
	 * The kernel verbs carry no XRC SRQ number: no kernel XRC_INI.
	 */
	if (!udata && init->qp_type == IB_QPT_XRC_INI)
		return -EOPNOTSUPP;
	if (init->create_flags || init->rwq_ind_tbl)
		return -EOPNOTSUPP;
	if (tgt) {
		/* No send queue, no receive queue: nothing to size. */
		*cap = (struct ib_qp_cap){};
	}
	if (cap->max_send_wr > RODP_MAX_QP_WR ||
	    cap->max_recv_wr > RODP_MAX_QP_WR ||
	    cap->max_send_sge > RODP_MAX_SGE ||
	    cap->max_recv_sge > RODP_MAX_SGE ||
	    cap->max_inline_data > RODP_MAX_INLINE)
		return -EINVAL;
	if (udata) {
		if (udata->outlen < sizeof(resp))
			return -EINVAL;
		err = ib_copy_from_udata(&cmd, udata,
					 min(udata->inlen, sizeof(cmd)));
		if (err)
			return err;
		if (cmd.reserved)
			return -EOPNOTSUPP;
	}

	qp->rdev = rdev;
	refcount_set(&qp->users, 1);
	init_completion(&qp->released);
	rodp_eng_setup(qp);
	rodp_kqp_init(qp);
	qp->state = IB_QPS_RESET;
	qp->sq_sig_all = init->sq_sig_type == IB_SIGNAL_ALL_WR;

	/*
	 * An XRC target's send queue is a ring of one slot of its own that
	 * nothing is ever posted to: the requester side finds it empty.
	 */
	sge = max_t(u32, cap->max_send_sge, 1);
	inl = cap->max_inline_data;
	err = rodp_wq_alloc(&qp->sq, cap->max_send_wr,
			    rodp_sq_slot_size(sge, inl), tgt ? NULL : udata);
	if (err)
		return err;
	qp->sq_info = kvcalloc(1u << qp->sq.log2_slots, sizeof(*qp->sq_info),
			       GFP_KERNEL);
	if (!qp->sq_info) {
		err = -ENOMEM;
		goto err_free_sq;
	}
	qp->max_send_sge = (qp->sq.slot_size - sizeof(struct rodp_swqe)) /
			   sizeof(struct rodp_sge);
	qp->max_send_sge = min_t(u32, qp->max_send_sge, RODP_MAX_SGE);
	qp->max_inline = min_t(u32, qp->sq.slot_size -
			       sizeof(struct rodp_swqe), RODP_MAX_INLINE);

	if (tgt) {
		err = rodp_qp_xrc_tgt_init(qp, init->xrcd);
		if (err)
			goto err_free_info;
	} else if (init->srq) {
		/* No receive queue: receives come from the SRQ. */
		err = rodp_qp_attach_srq(qp, to_rsrq(init->srq));
		if (err)
			goto err_free_info;
	} else if (init->qp_type != IB_QPT_XRC_INI) {
		sge = max_t(u32, cap->max_recv_sge, 1);
		err = rodp_wq_alloc(&qp->rq, cap->max_recv_wr,
				    sizeof(struct rodp_rwqe) +
				    sge * sizeof(struct rodp_sge), udata);
		if (err)
			goto err_free_info;
		qp->max_recv_sge = sge;
	}

	err = rodp_path_init(&qp->path, GFP_KERNEL);
	if (err)
		goto err_free_rq;

	/*
	 * Reserve a QP number; the receive path finds nothing there (a
	 * reserved entry loads as NULL) until the QP is published, the
	 * last step, when nothing can fail any more.
	 */
	if (gsi) {
		qpn = RODP_GSI_QPN;
		err = xa_insert(&rdev->qp_xa, qpn, NULL, GFP_KERNEL);
	} else {
		err = xa_alloc_cyclic(&rdev->qp_xa, &qpn, NULL,
				      XA_LIMIT(RODP_MIN_QPN, RODP_MAX_QPN),
				      &rdev->qp_next, GFP_KERNEL);
		if (err == -EBUSY)
			err = -ENOMEM;
	}
	if (err < 0)
		goto err_path;
	ibqp->qp_num = qpn;

	if (tgt) {
		qp->max_send_sge = 0;
		qp->max_inline = 0;
	} else {
		cap->max_send_wr = 1u << qp->sq.log2_slots;
		cap->max_recv_wr = qp->rq.ring ? 1u << qp->rq.log2_slots : 0;
		cap->max_send_sge = qp->max_send_sge;
		cap->max_recv_sge = qp->max_recv_sge;
		cap->max_inline_data = qp->max_inline;
	}
	qp->attr.cap = *cap;

	if (udata) {
		resp.sq_mmap_offset =
			rdma_user_mmap_get_offset(&qp->sq.mmap_entry->rdma);
		resp.sq_mmap_size = rodp_wq_map_size(&qp->sq);
		resp.sq_log2_slots = qp->sq.log2_slots;
		resp.sq_slot_size = qp->sq.slot_size;
		if (qp->rq.ring) {
			resp.rq_mmap_offset =
				rdma_user_mmap_get_offset(&qp->rq.mmap_entry->rdma);
			resp.rq_mmap_size = rodp_wq_map_size(&qp->rq);
			resp.rq_log2_slots = qp->rq.log2_slots;
			resp.rq_slot_size = qp->rq.slot_size;
		}
		err = ib_copy_to_udata(udata, &resp, sizeof(resp));
		if (err)
			goto err_release_qpn;
	}

	/* The window the old publish-first order left open, for the tests. */
	if (rodp_inject(RODP_INJ_CREATE_QP)) {
		rodp_inject_sleep(RODP_INJ_CREATE_QP);
		err = -ENOMEM;
		goto err_release_qpn;
	}

	/* Publish: storing over the reserved entry allocates nothing. */
	err = xa_err(xa_store(&rdev->qp_xa, qpn, qp, GFP_KERNEL));
	if (err)
		goto err_release_qpn;
	return 0;

err_release_qpn:
	xa_erase(&rdev->qp_xa, qpn);
err_path:
	rodp_path_destroy(&qp->path);
err_free_rq:
	rodp_wq_free(&qp->rq);
	kfree(qp->srq_wqe);
err_free_info:
	kvfree(qp->sq_info);
err_free_sq:
	rodp_wq_free(&qp->sq);
	return err;
}

static int rodp_destroy_qp(struct ib_qp *ibqp, struct ib_udata *udata)
{
	struct rodp_qp *qp = to_rqp(ibqp);
	struct rodp_dev *rdev = qp->rdev;
	int i;

	rodp_mcast_qp_gone(qp);
	/* No new lookups, then no lookup left in flight. */
	xa_erase(&rdev->qp_xa, ibqp->qp_num);
	rodp_qp_put(qp);
	wait_for_completion(&qp->released);
	synchronize_rcu();

	rodp_eng_stop(qp);

	rodp_qp_lock_both(qp);
	for (i = 0; i < RODP_SIDES; i++)
		rodp_eng_purge(&qp->eng[i]);
	rodp_resp_reset(qp);
	mutex_unlock(&qp->eng[RODP_RESP].lock);
	mutex_unlock(&qp->eng[RODP_REQ].lock);

	rodp_path_destroy(&qp->path);
	rodp_wq_free(&qp->rq);
	kfree(qp->srq_wqe);
	kvfree(qp->sq_info);
	rodp_wq_free(&qp->sq);
	for (i = 0; i < RODP_SIDES; i++)
		mutex_destroy(&qp->eng[i].lock);
	return 0;
}

/* Take the path of an address vector (rodp_path_set()). */
static int rodp_qp_set_av(struct rodp_qp *qp, struct rdma_ah_attr *ah)
{
	int err;

	err = rodp_path_set(qp->rdev, &qp->path, ah, false);
	if (err)
		return err;
	qp->attr.ah_attr = *ah;
	qp->attr.ah_attr.grh.sgid_attr = NULL;
	return 0;
}

/*
 * The remote rights a QP grants.  Only the remote bits of the QP's access
 * flags mean anything to a QP; programs that pass their MR's flags (local
 * write, on-demand, ...) get them kept and ignored, as on rxe and mlx5.
 */
static unsigned int rodp_rc_access(int qp_access_flags)
{
	unsigned int acc = 0;

	if (qp_access_flags & IB_ACCESS_REMOTE_WRITE)
		acc |= RCORE_RC_ACC_WRITE;
	if (qp_access_flags & IB_ACCESS_REMOTE_READ)
		acc |= RCORE_RC_ACC_READ;
	if (qp_access_flags & IB_ACCESS_REMOTE_ATOMIC)
		acc |= RCORE_RC_ACC_ATOMIC;
	if (qp_access_flags & RODP_ACCESS_FLUSH_GLOBAL)
		acc |= RCORE_RC_ACC_FLUSH_GLOBAL;
	if (qp_access_flags & RODP_ACCESS_FLUSH_PERSISTENT)
		acc |= RCORE_RC_ACC_FLUSH_PERSISTENT;
	return acc;
}

static int rodp_qp_check_attr(struct rodp_qp *qp, struct ib_qp_attr *attr,
			      int mask, enum ib_mtu active_mtu)
{
	if ((mask & IB_QP_PORT) && attr->port_num != 1)
		return -EINVAL;
	if ((mask & IB_QP_PKEY_INDEX) && attr->pkey_index)
		return -EINVAL;
	if ((mask & IB_QP_PATH_MTU) &&
	    (attr->path_mtu < IB_MTU_256 || attr->path_mtu > active_mtu))
		return -EINVAL;
	if ((mask & IB_QP_MAX_QP_RD_ATOMIC) &&
	    attr->max_rd_atomic > RODP_MAX_RD_ATOMIC)
		return -EINVAL;
	if ((mask & IB_QP_MAX_DEST_RD_ATOMIC) &&
	    attr->max_dest_rd_atomic > RODP_MAX_RD_ATOMIC)
		return -EINVAL;
	if ((mask & IB_QP_RETRY_CNT) && attr->retry_cnt > 7)
		return -EINVAL;
	if ((mask & IB_QP_RNR_RETRY) && attr->rnr_retry > 7)
		return -EINVAL;
	if ((mask & IB_QP_TIMEOUT) && attr->timeout > 31)
		return -EINVAL;
	if ((mask & IB_QP_MIN_RNR_TIMER) && attr->min_rnr_timer > 31)
		return -EINVAL;
	if ((mask & IB_QP_SQ_PSN) && attr->sq_psn > RCORE_PSN_MAX)
		return -EINVAL;
	if ((mask & IB_QP_RQ_PSN) && attr->rq_psn > RCORE_PSN_MAX)
		return -EINVAL;
	if ((mask & IB_QP_DEST_QPN) && attr->dest_qp_num > RODP_MAX_QPN)
		return -EINVAL;
	return 0;
}

/* Back to RESET: forget all transport state and posted WQEs. */
static void rodp_qp_reset(struct rodp_qp *qp)
{
	lockdep_assert_held(&qp->eng[RODP_REQ].lock);
	lockdep_assert_held(&qp->eng[RODP_RESP].lock);

	rodp_resp_reset(qp);
	rodp_eng_purge(&qp->eng[RODP_REQ]);
	rodp_eng_purge(&qp->eng[RODP_RESP]);
	timer_delete(&qp->retry_timer);
	qp->retry_armed = false;
	timer_delete(&qp->rnr_timer);
	clear_bit(RODP_QPF_TIMEOUT, &qp->flags);
	clear_bit(RODP_QPF_RNR_DONE, &qp->flags);
	/*
	 * Posted WQEs are dropped without completions, as IBA has it: each
	 * ring starts again empty at the user's producer index, which the
	 * provider takes back after the modify (whatever it holds: the
	 * kernel's indexes only ever move forward from here, each walk
	 * bounded by the ring).  Every send position restarts there too,
	 * and no bookkeeping of the old WQEs survives.
	 */
	rodp_wq_restart(&qp->sq);
	if (qp->rq.ring)
		rodp_wq_restart(&qp->rq);
	qp->srq_last_wqe = false;
	rodp_qp_set_ring_error(qp, false);
	memset(qp->sq_info, 0, sizeof(*qp->sq_info) << qp->sq.log2_slots);
	qp->send_idx = qp->sq.cons;
	qp->send_pkt = 0;
	qp->since_ackreq = 0;
	qp->rd_atomic_out = 0;
	qp->rnr_wait = false;
	memset(&qp->req, 0, sizeof(qp->req));
	memset(&qp->resp, 0, sizeof(qp->resp));
}

static int rodp_modify_qp(struct ib_qp *ibqp, struct ib_qp_attr *attr,
			  int mask, struct ib_udata *udata)
{
	struct rodp_qp *qp = to_rqp(ibqp);
	struct ib_port_attr pattr = {};
	enum ib_qp_state cur, next;
	u32 mtu;
	int err;

	if (mask & ~IB_QP_ATTR_STANDARD_BITS)
		return -EOPNOTSUPP;
	if (udata && udata->inlen &&
	    !ib_is_udata_cleared(udata, 0, udata->inlen))
		return -EOPNOTSUPP;
	/* Before the QP's locks: the port query may take rtnl_lock. */
	if (mask & IB_QP_PATH_MTU) {
		err = ib_query_port(&qp->rdev->ibdev, 1, &pattr);
		if (err)
			return err;
	}

	rodp_qp_lock_both(qp);
	cur = (mask & IB_QP_CUR_STATE) ? attr->cur_qp_state : qp->state;
	next = (mask & IB_QP_STATE) ? attr->qp_state : cur;
	err = -EINVAL;
	if (cur != qp->state && !(cur == IB_QPS_SQE && qp->state == IB_QPS_RTS))
		goto out_unlock;
	/* The core's table: UC takes no timeout, retries or RDMA reads. */
	if (!ib_modify_qp_is_ok(cur, next, ibqp->qp_type, mask))
		goto out_unlock;
	err = rodp_qp_check_attr(qp, attr, mask, pattr.active_mtu);
	if (err)
		goto out_unlock;
	if (mask & IB_QP_AV) {
		err = rodp_qp_set_av(qp, &attr->ah_attr);
		if (err)
			goto out_unlock;
	}

	if (mask & IB_QP_ACCESS_FLAGS)
		qp->attr.qp_access_flags = attr->qp_access_flags;
	if (mask & IB_QP_PATH_MTU)
		qp->attr.path_mtu = attr->path_mtu;
	if (mask & IB_QP_TIMEOUT)
		qp->attr.timeout = attr->timeout;
	if (mask & IB_QP_RETRY_CNT)
		qp->attr.retry_cnt = attr->retry_cnt;
	if (mask & IB_QP_RNR_RETRY)
		qp->attr.rnr_retry = attr->rnr_retry;
	if (mask & IB_QP_RQ_PSN)
		qp->attr.rq_psn = attr->rq_psn;
	if (mask & IB_QP_SQ_PSN)
		qp->attr.sq_psn = attr->sq_psn;
	if (mask & IB_QP_MAX_QP_RD_ATOMIC)
		qp->attr.max_rd_atomic = attr->max_rd_atomic;
	if (mask & IB_QP_MAX_DEST_RD_ATOMIC)
		qp->attr.max_dest_rd_atomic = attr->max_dest_rd_atomic;
	if (mask & IB_QP_MIN_RNR_TIMER)
		qp->attr.min_rnr_timer = attr->min_rnr_timer;
	if (mask & IB_QP_DEST_QPN)
		qp->attr.dest_qp_num = attr->dest_qp_num;
	if (mask & IB_QP_PORT)
		qp->attr.port_num = attr->port_num;
	if (mask & IB_QP_QKEY)
		qp->attr.qkey = attr->qkey;
	if (mask & IB_QP_EN_SQD_ASYNC_NOTIFY)
		qp->attr.en_sqd_async_notify = attr->en_sqd_async_notify;
	qp->attr_mask |= mask;

	mtu = ib_mtu_enum_to_int(qp->attr.path_mtu ? qp->attr.path_mtu :
				 IB_MTU_256);
	if (mask & (IB_QP_ACCESS_FLAGS | IB_QP_PATH_MTU |
		    IB_QP_MAX_DEST_RD_ATOMIC)) {
		unsigned int acc = rodp_rc_access(qp->attr.qp_access_flags);

		if (!qp->attr.max_dest_rd_atomic)
			acc &= ~(RCORE_RC_ACC_READ | RCORE_RC_ACC_ATOMIC);
		qp->resp.access = acc;
		qp->resp.mtu = mtu;
		qp->req.mtu = mtu;
	}

	if (next == cur)
		goto out_ok;
	switch (next) {
	case IB_QPS_RESET:
		rodp_qp_reset(qp);
		break;
	case IB_QPS_RTR:
		if (cur == IB_QPS_INIT) {
			unsigned int acc =
				rodp_rc_access(qp->attr.qp_access_flags);

			if (!qp->attr.max_dest_rd_atomic)
				acc &= ~(RCORE_RC_ACC_READ |
					 RCORE_RC_ACC_ATOMIC);
			rcore_rc_resp_init(&qp->resp, qp->attr.rq_psn, mtu,
					   acc, 0);
		}
		break;
	case IB_QPS_RTS:
		if (cur == IB_QPS_RTR)
			rcore_rc_req_init(&qp->req, qp->attr.sq_psn, mtu,
					  qp->attr.retry_cnt,
					  qp->attr.rnr_retry);
		qp->sq_draining = false;
		break;
	case IB_QPS_SQD:
		qp->sq_draining = true;
		break;
	case IB_QPS_ERR:
		rodp_qp_error_both(qp);
		goto out_ok;
	default:
		break;
	}
	/* The netlink dump reads it without the locks. */
	WRITE_ONCE(qp->state, next);
out_ok:
	err = 0;
out_unlock:
	rodp_qp_unlock_both(qp);
	if (!err)
		rodp_qp_kick(qp);
	return err;
}

static int rodp_query_qp(struct ib_qp *ibqp, struct ib_qp_attr *attr,
			 int mask, struct ib_qp_init_attr *init)
{
	struct rodp_qp *qp = to_rqp(ibqp);

	rodp_qp_lock_both(qp);
	*attr = qp->attr;
	attr->qp_state = qp->state;
	attr->cur_qp_state = qp->state;
	attr->sq_draining = qp->state == IB_QPS_SQD && qp->sq_draining;
	attr->port_num = 1;
	attr->path_mig_state = IB_MIG_MIGRATED;
	if (qp->state >= IB_QPS_RTR && qp->state != IB_QPS_ERR)
		attr->rq_psn = qp->resp.epsn;
	if (qp->state >= IB_QPS_RTS && qp->state != IB_QPS_ERR)
		attr->sq_psn = qp->req.next_psn;
	memset(init, 0, sizeof(*init));
	init->qp_type = ibqp->qp_type;
	init->send_cq = ibqp->send_cq;
	init->recv_cq = ibqp->recv_cq;
	init->srq = ibqp->srq;
	init->cap = qp->attr.cap;
	init->sq_sig_type = qp->sq_sig_all ? IB_SIGNAL_ALL_WR :
					     IB_SIGNAL_REQ_WR;
	rodp_qp_unlock_both(qp);
	return 0;
}

/*
 * The doorbells: post_send and post_recv commands without work requests.
 * WQEs come from the shared rings, never from here.  The provider rings
 * the receive doorbell only in the error state, for the flush.
 */
static int rodp_post_send(struct ib_qp *ibqp, const struct ib_send_wr *wr,
			  const struct ib_send_wr **bad_wr)
{
	struct rodp_qp *qp = to_rqp(ibqp);

	if (rodp_qp_kernel(qp))
		return rodp_kpost_send(qp, wr, bad_wr);
	if (wr) {
		*bad_wr = wr;
		return -EOPNOTSUPP;
	}
	rodp_eng_run_inline(&qp->eng[RODP_REQ], false);
	return 0;
}

static int rodp_post_recv(struct ib_qp *ibqp, const struct ib_recv_wr *wr,
			  const struct ib_recv_wr **bad_wr)
{
	struct rodp_qp *qp = to_rqp(ibqp);

	if (rodp_qp_kernel(qp))
		return rodp_kpost_recv(qp, wr, bad_wr);
	if (wr) {
		*bad_wr = wr;
		return -EOPNOTSUPP;
	}
	rodp_eng_kick(&qp->eng[RODP_RESP]);
	return 0;
}

/*
 * The pid of the task running a side at this moment, or 0.  The task may
 * let go of the side and exit meanwhile, but a task_struct is freed only
 * after an RCU grace period.
 */
static u32 rodp_eng_owner_pid(struct rodp_eng *e)
{
	struct task_struct *owner;
	u32 pid = 0;

	rcu_read_lock();
	owner = READ_ONCE(e->owner);
	if (owner)
		pid = task_pid_nr(owner);
	rcu_read_unlock();
	return pid;
}

/*
 * `rdma resource show qp -dd`: the transport's state, for finding out why
 * a QP does not move.  Read without the QP's locks (one may be held for
 * a long time, by a fault for one), so the values are a snapshot that may
 * be torn; "req_owner" and "resp_owner" name the tasks running the two
 * sides at that moment.
 */
static int rodp_fill_res_qp_entry(struct sk_buff *msg, struct ib_qp *ibqp)
{
	struct rodp_qp *qp = to_rqp(ibqp);
	struct rodp_eng *req = &qp->eng[RODP_REQ];
	struct rodp_eng *resp = &qp->eng[RODP_RESP];
	struct {
		const char *name;
		u32 val;
	} v[] = {
		{ "state", rodp_qp_state(qp) },
		{ "flags", READ_ONCE(qp->flags) },
		{ "req_locked", mutex_is_locked(&req->lock) },
		{ "req_owner", rodp_eng_owner_pid(req) },
		{ "req_rxq", skb_queue_len(&req->rxq) },
		{ "resp_locked", mutex_is_locked(&resp->lock) },
		{ "resp_owner", rodp_eng_owner_pid(resp) },
		{ "resp_rxq", skb_queue_len(&resp->rxq) },
		{ "sq_prod", rodp_wq_prod(&qp->sq) },
		{ "sq_head", READ_ONCE(qp->sq.head) },
		{ "sq_cons", READ_ONCE(qp->sq.cons) },
		{ "send_idx", READ_ONCE(qp->send_idx) },
		{ "send_pkt", READ_ONCE(qp->send_pkt) },
		{ "una_psn", READ_ONCE(qp->req.una_psn) },
		{ "next_psn", READ_ONCE(qp->req.next_psn) },
		{ "retry_left", READ_ONCE(qp->req.retry_left) },
		{ "rnr_left", READ_ONCE(qp->req.rnr_left) },
		{ "rnr_wait", READ_ONCE(qp->rnr_wait) },
		{ "rd_atomic_out", READ_ONCE(qp->rd_atomic_out) },
		{ "retry_timer", timer_pending(&qp->retry_timer) },
		{ "retry_armed", READ_ONCE(qp->retry_armed) },
		{ "rnr_timer", timer_pending(&qp->rnr_timer) },
		{ "rq_prod", qp->rq.ring ? rodp_wq_prod(&qp->rq) : 0 },
		{ "rq_cons", READ_ONCE(qp->rq.cons) },
		{ "epsn", READ_ONCE(qp->resp.epsn) },
		{ "msn", READ_ONCE(qp->resp.msn) },
		{ "rd_jobs", READ_ONCE(qp->rd_head) - READ_ONCE(qp->rd_tail) },
		{ "ack_due", READ_ONCE(qp->resp_ack_due) },
		{ "nak_due", READ_ONCE(qp->resp_nak_due) },
		{ "nak_fatal", READ_ONCE(qp->resp_fatal) },
	};
	struct nlattr *table;
	int i;

	table = nla_nest_start_noflag(msg, RDMA_NLDEV_ATTR_DRIVER);
	if (!table)
		return -EMSGSIZE;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		if (rdma_nl_put_driver_u32(msg, v[i].name, v[i].val)) {
			nla_nest_cancel(msg, table);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(msg, table);
	return 0;
}

const struct ib_device_ops rodp_qp_ops = {
	.fill_res_qp_entry = rodp_fill_res_qp_entry,
	.create_qp = rodp_create_qp,
	.destroy_qp = rodp_destroy_qp,
	.modify_qp = rodp_modify_qp,
	.query_qp = rodp_query_qp,
	.post_send = rodp_post_send,
	.post_recv = rodp_post_recv,

	INIT_RDMA_OBJ_SIZE(ib_qp, rodp_qp, ibqp),
};
