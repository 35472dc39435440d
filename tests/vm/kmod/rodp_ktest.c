// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp_ktest.ko: kernel verbs over rodp, as a kernel ULP uses them
 * (tests/vm/suites/65-kverbs.sh).
 *
 *   insmod rodp_ktest.ko pairs=rodp0:rodp1,rodp0:rxe0
 *
 * For each pairing A:B: PDs with the unsafe global R_Key, CQs in every
 * poll context, RC QPs connected A<->B with ib_modify_qp(); SEND (and
 * with immediate, and inline), RDMA WRITE (with immediate), RDMA READ
 * and atomics on kmalloc()ed buffers, the data checked byte for byte;
 * the same on UC QPs without READ and atomics;
 * posts from atomic context and chained posts from a softirq CQ handler;
 * UD QPs with address handles made in atomic context and sleepable;
 * an SRQ (its limit event) when B is rodp; ib_drain_qp() with receives
 * outstanding, which must flush; fast-registration MRs (ib_alloc_mr,
 * ib_map_mr_sg, REG_MR, LOCAL_INV, SEND_WITH_INV, their refusals: see
 * kt_frmr_run()); then everything destroyed.
 *
 * Results: one "ok - NAME" or "not ok - NAME: why" line per case in
 * /sys/kernel/debug/rodp_ktest/result, then "done".  The module stays
 * loaded (holding nothing) until rmmod.
 */

#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/slab.h>
#include <linux/delay.h>
#include <linux/interrupt.h>
#include <linux/string.h>
#include <linux/scatterlist.h>
#include <net/ipv6.h>
#include <rdma/ib_verbs.h>
#include <rdma/ib_cache.h>

static char *pairs = "rodp0:rodp1";
module_param(pairs, charp, 0444);
MODULE_PARM_DESC(pairs, "comma-separated device pairings A:B");

#define KT_BUF		8192
#define KT_TIMEOUT	(10 * HZ)
#define KT_QKEY		0x11110000
#define KT_NCHAIN	32
#define KT_NATOMIC	8

static char *kt_out;
static size_t kt_len;
static int kt_failed;
static struct dentry *kt_dir;

static __printf(2, 3) void kt_result(bool ok, const char *fmt, ...)
{
	char line[200];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!ok)
		kt_failed++;
	pr_info("%s%s\n", ok ? "ok - " : "not ok - ", line);
	n = scnprintf(kt_out + kt_len, PAGE_SIZE * 4 - kt_len, "%s%s\n",
		      ok ? "ok - " : "not ok - ", line);
	kt_len += n;
}

/* One end: a device, its RoCE v2 IPv4 GID, PD, buffers. */
struct kt_end {
	struct ib_device *dev;
	const char *name;
	int gid_index;
	union ib_gid gid;
	struct ib_pd *pd;
	struct ib_mr *atomic_mr;	/* a DMA MR with remote atomic rights */
	u8 *buf;			/* KT_BUF bytes */
	u8 *buf2;
	u64 *atom;			/* 8-byte aligned atomic target/result */
};

/* A completion waited for: the ib_cqe of one WR. */
struct kt_wait {
	struct ib_cqe cqe;
	struct completion done;
	struct ib_wc wc;
};

static void kt_wait_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct kt_wait *w = container_of(wc->wr_cqe, struct kt_wait, cqe);

	w->wc = *wc;
	complete(&w->done);
}

static void kt_wait_init(struct kt_wait *w)
{
	memset(w, 0, sizeof(*w));
	w->cqe.done = kt_wait_done;
	init_completion(&w->done);
}

/* Wait for @w, polling @cq ourselves when it is IB_POLL_DIRECT. */
static bool kt_wait_for(struct kt_wait *w, struct ib_cq *cq)
{
	unsigned long end = jiffies + KT_TIMEOUT;

	if (cq->poll_ctx != IB_POLL_DIRECT)
		return wait_for_completion_timeout(&w->done, KT_TIMEOUT);
	while (!completion_done(&w->done)) {
		if (time_after(jiffies, end))
			return false;
		if (!ib_process_cq_direct(cq, -1))
			usleep_range(200, 1000);
	}
	return true;
}

static bool kt_wc_ok(const char *what, struct kt_wait *w, struct ib_cq *cq,
		     enum ib_wc_opcode op, struct ib_qp *qp)
{
	if (!kt_wait_for(w, cq)) {
		kt_result(false, "%s: no completion", what);
		return false;
	}
	if (w->wc.status != IB_WC_SUCCESS || w->wc.opcode != op ||
	    w->wc.qp != qp) {
		kt_result(false, "%s: status %d opcode %d qp %s", what,
			  w->wc.status, w->wc.opcode,
			  w->wc.qp == qp ? "right" : "wrong");
		return false;
	}
	return true;
}

static int kt_find_gid(struct kt_end *e)
{
	const struct ib_gid_attr *attr;
	struct ib_port_attr pattr;
	int i, len = 0;

	if (!ib_query_port(e->dev, 1, &pattr))
		len = pattr.gid_tbl_len;
	for (i = 0; i < len; i++) {
		attr = rdma_get_gid_attr(e->dev, 1, i);
		if (IS_ERR(attr))
			continue;
		if (attr->gid_type == IB_GID_TYPE_ROCE_UDP_ENCAP &&
		    ipv6_addr_v4mapped((struct in6_addr *)&attr->gid)) {
			e->gid_index = i;
			e->gid = attr->gid;
			rdma_put_gid_attr(attr);
			return 0;
		}
		rdma_put_gid_attr(attr);
	}
	return -ENOENT;
}

/* A DMA MR with remote atomic rights: ib_alloc_pd()'s way, by hand. */
static struct ib_mr *kt_atomic_mr(struct ib_pd *pd)
{
	struct ib_mr *mr;

	mr = pd->device->ops.get_dma_mr(pd, IB_ACCESS_LOCAL_WRITE |
					IB_ACCESS_REMOTE_READ |
					IB_ACCESS_REMOTE_WRITE |
					IB_ACCESS_REMOTE_ATOMIC);
	if (IS_ERR(mr))
		return mr;
	mr->device = pd->device;
	mr->pd = pd;
	mr->type = IB_MR_TYPE_DMA;
	mr->uobject = NULL;
	mr->need_inval = false;
	atomic_inc(&pd->usecnt);
	return mr;
}

static void kt_end_put(struct kt_end *e)
{
	if (e->atomic_mr)
		ib_dereg_mr(e->atomic_mr);
	if (e->pd)
		ib_dealloc_pd(e->pd);
	kfree(e->buf);
	kfree(e->buf2);
	kfree(e->atom);
	if (e->dev)
		ib_device_put(e->dev);
	memset(e, 0, sizeof(*e));
}

/*
 * The devices, as an RDMA client sees them: ib_device_get_by_name() is
 * not offered to modules on every kernel (7.2 has none).
 */
static DEFINE_MUTEX(kt_devs_lock);
static struct ib_device *kt_devs[16];

static int kt_dev_add(struct ib_device *dev)
{
	int i;

	mutex_lock(&kt_devs_lock);
	for (i = 0; i < ARRAY_SIZE(kt_devs); i++) {
		if (!kt_devs[i]) {
			kt_devs[i] = dev;
			break;
		}
	}
	mutex_unlock(&kt_devs_lock);
	return 0;
}

static void kt_dev_remove(struct ib_device *dev, void *data)
{
	int i;

	mutex_lock(&kt_devs_lock);
	for (i = 0; i < ARRAY_SIZE(kt_devs); i++)
		if (kt_devs[i] == dev)
			kt_devs[i] = NULL;
	mutex_unlock(&kt_devs_lock);
}

static struct ib_client kt_client = {
	.name = "rodp_ktest",
	.add = kt_dev_add,
	.remove = kt_dev_remove,
};

/* The registered device @name, held (ib_device_put()), or NULL. */
static struct ib_device *kt_dev_get(const char *name)
{
	struct ib_device *dev = NULL;
	int i;

	mutex_lock(&kt_devs_lock);
	for (i = 0; i < ARRAY_SIZE(kt_devs); i++) {
		if (kt_devs[i] && !strcmp(dev_name(&kt_devs[i]->dev), name) &&
		    ib_device_try_get(kt_devs[i])) {
			dev = kt_devs[i];
			break;
		}
	}
	mutex_unlock(&kt_devs_lock);
	return dev;
}

static int kt_end_get(struct kt_end *e, const char *name)
{
	e->name = name;
	e->dev = kt_dev_get(name);
	if (!e->dev) {
		kt_result(false, "%s: no such device", name);
		return -ENODEV;
	}
	if (kt_find_gid(e)) {
		kt_result(false, "%s: no IPv4 RoCE v2 GID", name);
		goto err;
	}
	e->pd = ib_alloc_pd(e->dev, IB_PD_UNSAFE_GLOBAL_RKEY);
	if (IS_ERR(e->pd)) {
		kt_result(false, "%s: ib_alloc_pd: %ld", name,
			  PTR_ERR(e->pd));
		e->pd = NULL;
		goto err;
	}
	e->atomic_mr = kt_atomic_mr(e->pd);
	if (IS_ERR(e->atomic_mr)) {
		kt_result(false, "%s: atomic DMA MR: %ld", name,
			  PTR_ERR(e->atomic_mr));
		e->atomic_mr = NULL;
		goto err;
	}
	e->buf = kmalloc(KT_BUF, GFP_KERNEL);
	e->buf2 = kmalloc(KT_BUF, GFP_KERNEL);
	e->atom = kmalloc(sizeof(u64) * KT_NATOMIC, GFP_KERNEL);
	if (!e->buf || !e->buf2 || !e->atom)
		goto err;
	return 0;
err:
	kt_end_put(e);
	return -EIO;
}

static void kt_fill(u8 *p, size_t len, u8 seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (u8)(seed + i * 7 + (i >> 8));
}

static void kt_qp_event(struct ib_event *ev, void *ctx)
{
	atomic_t *n = ctx;

	if (ev->event == IB_EVENT_QP_LAST_WQE_REACHED)
		atomic_inc(n);
}

static atomic_t kt_last_wqe;

static struct ib_qp *kt_create_qp(struct kt_end *e, enum ib_qp_type type,
				  struct ib_cq *scq, struct ib_cq *rcq,
				  struct ib_srq *srq, u32 wr)
{
	struct ib_qp_init_attr init = {
		.event_handler = kt_qp_event,
		.qp_context = &kt_last_wqe,
		.send_cq = scq,
		.recv_cq = rcq,
		.srq = srq,
		.cap = {
			.max_send_wr = wr,
			.max_recv_wr = srq ? 0 : wr,
			.max_send_sge = 2,
			.max_recv_sge = 2,
			.max_inline_data = 256,
		},
		.sq_sig_type = IB_SIGNAL_REQ_WR,
		.qp_type = type,
	};
	struct ib_qp *qp;

	qp = ib_create_qp(e->pd, &init);
	if (IS_ERR(qp)) {
		/* rxe takes no inline data beyond its own limit: retry. */
		init.cap.max_inline_data = 0;
		qp = ib_create_qp(e->pd, &init);
	}
	return qp;
}

static int kt_to_init(struct ib_qp *qp)
{
	struct ib_qp_attr a = {
		.qp_state = IB_QPS_INIT,
		.pkey_index = 0,
		.port_num = 1,
		.qp_access_flags = IB_ACCESS_REMOTE_WRITE |
				   IB_ACCESS_REMOTE_READ |
				   IB_ACCESS_REMOTE_ATOMIC,
		.qkey = KT_QKEY,
	};
	int mask = IB_QP_STATE | IB_QP_PKEY_INDEX | IB_QP_PORT;

	if (qp->qp_type == IB_QPT_UD)
		mask |= IB_QP_QKEY;
	else
		mask |= IB_QP_ACCESS_FLAGS;
	return ib_modify_qp(qp, &a, mask);
}

static void kt_av(struct kt_end *from, struct kt_end *to,
		  struct rdma_ah_attr *ah)
{
	memset(ah, 0, sizeof(*ah));
	ah->type = rdma_ah_find_type(from->dev, 1);
	rdma_ah_set_port_num(ah, 1);
	rdma_ah_set_grh(ah, &to->gid, 0, from->gid_index, 64, 0);
}

/* RC, UC: RESET -> INIT -> RTR -> RTS towards @peer on @to. */
static int kt_connect(struct ib_qp *qp, struct kt_end *from, struct kt_end *to,
		      struct ib_qp *peer)
{
	struct ib_qp_attr a = {};
	int err;

	err = kt_to_init(qp);
	if (err)
		return err;
	a.qp_state = IB_QPS_RTR;
	kt_av(from, to, &a.ah_attr);
	a.path_mtu = IB_MTU_1024;
	a.dest_qp_num = peer->qp_num;
	a.rq_psn = 0x100;
	a.max_dest_rd_atomic = 16;
	a.min_rnr_timer = 1;
	if (qp->qp_type == IB_QPT_UC) {
		err = ib_modify_qp(qp, &a, IB_QP_STATE | IB_QP_AV |
				   IB_QP_PATH_MTU | IB_QP_DEST_QPN |
				   IB_QP_RQ_PSN);
		if (err)
			return err;
		memset(&a, 0, sizeof(a));
		a.qp_state = IB_QPS_RTS;
		a.sq_psn = 0x100;
		return ib_modify_qp(qp, &a, IB_QP_STATE | IB_QP_SQ_PSN);
	}
	err = ib_modify_qp(qp, &a, IB_QP_STATE | IB_QP_AV | IB_QP_PATH_MTU |
			   IB_QP_DEST_QPN | IB_QP_RQ_PSN |
			   IB_QP_MAX_DEST_RD_ATOMIC | IB_QP_MIN_RNR_TIMER);
	if (err)
		return err;
	memset(&a, 0, sizeof(a));
	a.qp_state = IB_QPS_RTS;
	a.sq_psn = 0x100;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 16;
	return ib_modify_qp(qp, &a, IB_QP_STATE | IB_QP_SQ_PSN |
			    IB_QP_TIMEOUT | IB_QP_RETRY_CNT |
			    IB_QP_RNR_RETRY | IB_QP_MAX_QP_RD_ATOMIC);
}

static int kt_ud_up(struct ib_qp *qp)
{
	struct ib_qp_attr a = {};
	int err;

	err = kt_to_init(qp);
	if (err)
		return err;
	a.qp_state = IB_QPS_RTR;
	err = ib_modify_qp(qp, &a, IB_QP_STATE);
	if (err)
		return err;
	a.qp_state = IB_QPS_RTS;
	a.sq_psn = 0x200;
	return ib_modify_qp(qp, &a, IB_QP_STATE | IB_QP_SQ_PSN);
}

static int kt_post_recv(struct ib_qp *qp, struct kt_wait *w, void *buf,
			u32 len, u32 lkey)
{
	struct ib_sge sge = {
		.addr = (uintptr_t)buf,
		.length = len,
		.lkey = lkey,
	};
	struct ib_recv_wr wr = {
		.wr_cqe = &w->cqe,
		.sg_list = &sge,
		.num_sge = 1,
	};

	return ib_post_recv(qp, &wr, NULL);
}

/* A chained-send run: each send completion posts the next send. */
struct kt_chain {
	struct ib_cqe cqe;
	struct ib_qp *qp;
	struct kt_end *e;
	int sent;
	int done;
	bool all_softirq;
	int err;
	struct completion finished;
};

static int kt_chain_post(struct kt_chain *c)
{
	struct ib_sge sge = {
		.addr = (uintptr_t)c->e->buf2 + c->sent * 64,
		.length = 64,
		.lkey = c->e->pd->local_dma_lkey,
	};
	struct ib_send_wr wr = {
		.wr_cqe = &c->cqe,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IB_WR_SEND,
		.send_flags = IB_SEND_SIGNALED,
	};

	c->sent++;
	return ib_post_send(c->qp, &wr, NULL);
}

static void kt_chain_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct kt_chain *c = container_of(wc->wr_cqe, struct kt_chain, cqe);

	if (!in_softirq())
		c->all_softirq = false;
	c->done++;
	if (wc->status != IB_WC_SUCCESS && !c->err)
		c->err = -EIO;
	if (c->sent < KT_NCHAIN && !c->err)
		c->err = kt_chain_post(c);
	if (c->done == c->sent)
		complete(&c->finished);
}

/*
 * The completions a test waits for live until the pairing's CQs are gone:
 * a test that gives up early leaves WRs posted, which flush later.
 */
#define KT_POOL		128

struct kt_rc {
	struct kt_wait *pool;
	int npool;
	struct kt_end *a, *b;
	struct ib_cq *acq, *bcq;
	struct ib_qp *qa, *qb;
	struct kt_chain *chain;
	const char *tag;
};

static struct kt_wait *kt_wait_get(struct kt_rc *r)
{
	struct kt_wait *w;

	if (WARN_ON(r->npool == KT_POOL))
		r->npool = 0;
	w = &r->pool[r->npool++];
	kt_wait_init(w);
	return w;
}

static bool kt_check(const char *what, const void *got, const void *want,
		     size_t len)
{
	if (memcmp(got, want, len)) {
		kt_result(false, "%s: data differ", what);
		return false;
	}
	return true;
}

/* SEND, SEND_WITH_IMM, inline SEND: A -> B. */
static void kt_rc_send(struct kt_rc *r, bool inl, bool imm)
{
	struct kt_end *a = r->a, *b = r->b;
	struct kt_wait *ws = kt_wait_get(r), *wr = kt_wait_get(r);
	u32 len = inl ? 200 : 3000;
	struct ib_sge sge = {
		.addr = (uintptr_t)a->buf,
		.length = len,
		.lkey = inl ? 0 : a->pd->local_dma_lkey,
	};
	struct ib_send_wr swr = {
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = imm ? IB_WR_SEND_WITH_IMM : IB_WR_SEND,
		.send_flags = IB_SEND_SIGNALED | (inl ? IB_SEND_INLINE : 0),
		.ex.imm_data = cpu_to_be32(0xabcd1234),
	};
	char what[96];
	int err;

	snprintf(what, sizeof(what), "%s: SEND%s%s", r->tag,
		 imm ? " with immediate" : "", inl ? " inline" : "");
	swr.wr_cqe = &ws->cqe;
	kt_fill(a->buf, len, inl + 2 * imm);
	memset(b->buf, 0, KT_BUF);
	err = kt_post_recv(r->qb, wr, b->buf, KT_BUF, b->pd->local_dma_lkey);
	if (!err)
		err = ib_post_send(r->qa, &swr, NULL);
	if (err) {
		kt_result(false, "%s: post: %d", what, err);
		return;
	}
	if (!kt_wc_ok(what, ws, r->acq, IB_WC_SEND, r->qa) ||
	    !kt_wc_ok(what, wr, r->bcq, IB_WC_RECV, r->qb))
		return;
	if (wr->wc.byte_len != len) {
		kt_result(false, "%s: byte_len %u", what, wr->wc.byte_len);
		return;
	}
	if (imm && (!(wr->wc.wc_flags & IB_WC_WITH_IMM) ||
		    wr->wc.ex.imm_data != cpu_to_be32(0xabcd1234))) {
		kt_result(false, "%s: immediate data lost", what);
		return;
	}
	if (kt_check(what, b->buf, a->buf, len))
		kt_result(true, "%s", what);
}

/* RDMA WRITE (with immediate) A -> B through B's unsafe global R_Key. */
static void kt_rc_write(struct kt_rc *r, bool imm)
{
	struct kt_end *a = r->a, *b = r->b;
	struct kt_wait *ws = kt_wait_get(r), *wr = kt_wait_get(r);
	u32 len = 5000;
	struct ib_sge sge = {
		.addr = (uintptr_t)a->buf,
		.length = len,
		.lkey = a->pd->local_dma_lkey,
	};
	struct ib_rdma_wr rwr = {
		.wr = {
			.sg_list = &sge,
			.num_sge = 1,
			.opcode = imm ? IB_WR_RDMA_WRITE_WITH_IMM :
					IB_WR_RDMA_WRITE,
			.send_flags = IB_SEND_SIGNALED,
			.ex.imm_data = cpu_to_be32(0x5150),
		},
		.remote_addr = (uintptr_t)b->buf + 100,
		.rkey = b->pd->unsafe_global_rkey,
	};
	const char *what = imm ? "RDMA WRITE with immediate" : "RDMA WRITE";
	char w2[64];
	int err = 0;

	snprintf(w2, sizeof(w2), "%s: %s", r->tag, what);
	rwr.wr.wr_cqe = &ws->cqe;
	kt_fill(a->buf, len, 3 + imm);
	memset(b->buf, 0, KT_BUF);
	if (imm)
		err = kt_post_recv(r->qb, wr, b->buf2, 16,
				   b->pd->local_dma_lkey);
	if (!err)
		err = ib_post_send(r->qa, &rwr.wr, NULL);
	if (err) {
		kt_result(false, "%s: post: %d", w2, err);
		return;
	}
	if (!kt_wc_ok(w2, ws, r->acq, IB_WC_RDMA_WRITE, r->qa))
		return;
	if (imm) {
		if (!kt_wc_ok(w2, wr, r->bcq, IB_WC_RECV_RDMA_WITH_IMM,
			      r->qb))
			return;
		if (wr->wc.ex.imm_data != cpu_to_be32(0x5150)) {
			kt_result(false, "%s: immediate data lost", w2);
			return;
		}
	}
	/*
	 * UC completes a WRITE once sent, not once placed: without an
	 * immediate, B's memory is all there is to wait on.
	 */
	if (r->qa->qp_type == IB_QPT_UC && !imm) {
		unsigned long end = jiffies + KT_TIMEOUT;

		while (memcmp(b->buf + 100, a->buf, len) &&
		       time_before(jiffies, end))
			msleep(5);
	}
	if (kt_check(w2, b->buf + 100, a->buf, len))
		kt_result(true, "%s", w2);
}

/* RDMA READ: A reads B's buffer. */
static void kt_rc_read(struct kt_rc *r)
{
	struct kt_end *a = r->a, *b = r->b;
	struct kt_wait *ws = kt_wait_get(r);
	u32 len = 6000;
	struct ib_sge sge[2] = {
		{ .addr = (uintptr_t)a->buf, .length = 1000,
		  .lkey = a->pd->local_dma_lkey },
		{ .addr = (uintptr_t)a->buf2, .length = len - 1000,
		  .lkey = a->pd->local_dma_lkey },
	};
	struct ib_rdma_wr rwr = {
		.wr = {
			.sg_list = sge,
			.num_sge = 2,
			.opcode = IB_WR_RDMA_READ,
			.send_flags = IB_SEND_SIGNALED,
		},
		.remote_addr = (uintptr_t)b->buf + 8,
		.rkey = b->pd->unsafe_global_rkey,
	};
	char what[96];
	int err;

	snprintf(what, sizeof(what), "%s: RDMA READ (2 SGEs)", r->tag);
	rwr.wr.wr_cqe = &ws->cqe;
	kt_fill(b->buf, KT_BUF, 9);
	memset(a->buf, 0, KT_BUF);
	memset(a->buf2, 0, KT_BUF);
	err = ib_post_send(r->qa, &rwr.wr, NULL);
	if (err) {
		kt_result(false, "%s: post: %d", what, err);
		return;
	}
	if (!kt_wc_ok(what, ws, r->acq, IB_WC_RDMA_READ, r->qa))
		return;
	if (kt_check(what, a->buf, b->buf + 8, 1000) &&
	    kt_check(what, a->buf2, b->buf + 1008, len - 1000))
		kt_result(true, "%s", what);
}

/* FETCH_AND_ADD then CMP_AND_SWP on B's word, through an atomic MR. */
static void kt_rc_atomics(struct kt_rc *r)
{
	struct kt_end *a = r->a, *b = r->b;
	struct kt_wait *ws = kt_wait_get(r);
	struct ib_sge sge = {
		.addr = (uintptr_t)&a->atom[0],
		.length = 8,
		.lkey = a->pd->local_dma_lkey,
	};
	struct ib_atomic_wr awr = {
		.wr = {
			.sg_list = &sge,
			.num_sge = 1,
			.opcode = IB_WR_ATOMIC_FETCH_AND_ADD,
			.send_flags = IB_SEND_SIGNALED,
		},
		.remote_addr = (uintptr_t)&b->atom[1],
		.compare_add = 5,
		.rkey = b->atomic_mr->rkey,
	};
	char what[96];
	int err;

	snprintf(what, sizeof(what), "%s: atomics", r->tag);
	b->atom[1] = 0x1122334455667788ULL;
	a->atom[0] = 0;
	awr.wr.wr_cqe = &ws->cqe;
	err = ib_post_send(r->qa, &awr.wr, NULL);
	if (err) {
		kt_result(false, "%s: post: %d", what, err);
		return;
	}
	if (!kt_wc_ok(what, ws, r->acq, IB_WC_FETCH_ADD, r->qa))
		return;
	if (a->atom[0] != 0x1122334455667788ULL ||
	    READ_ONCE(b->atom[1]) != 0x112233445566778dULL) {
		kt_result(false, "%s: fetch-add got %llx, target %llx", what,
			  a->atom[0], READ_ONCE(b->atom[1]));
		return;
	}
	ws = kt_wait_get(r);
	awr.wr.wr_cqe = &ws->cqe;
	awr.wr.opcode = IB_WR_ATOMIC_CMP_AND_SWP;
	awr.compare_add = 0x112233445566778dULL;
	awr.swap = 0xfeedfacecafebeefULL;
	err = ib_post_send(r->qa, &awr.wr, NULL);
	if (err) {
		kt_result(false, "%s: post: %d", what, err);
		return;
	}
	if (!kt_wc_ok(what, ws, r->acq, IB_WC_COMP_SWAP, r->qa))
		return;
	if (a->atom[0] != 0x112233445566778dULL ||
	    READ_ONCE(b->atom[1]) != 0xfeedfacecafebeefULL) {
		kt_result(false, "%s: cmp-swap got %llx, target %llx", what,
			  a->atom[0], READ_ONCE(b->atom[1]));
		return;
	}
	kt_result(true, "%s", what);
}

/* 8 SENDs posted under a spinlock with interrupts off. */
static void kt_rc_atomic_ctx(struct kt_rc *r)
{
	static DEFINE_SPINLOCK(lock);
	struct kt_end *a = r->a, *b = r->b;
	struct kt_wait *ws[8], *wr[8];
	struct ib_sge sge[8];
	struct ib_send_wr swr[8];
	unsigned long flags;
	char what[96];
	int i, err = 0;

	snprintf(what, sizeof(what),
		 "%s: 8 RECVs, 8 SENDs posted with irqs off", r->tag);
	kt_fill(a->buf, KT_BUF, 77);
	memset(b->buf, 0, KT_BUF);
	spin_lock_irqsave(&lock, flags);
	for (i = 0; i < 8 && !err; i++) {
		ws[i] = kt_wait_get(r);
		wr[i] = kt_wait_get(r);
		err = kt_post_recv(r->qb, wr[i], b->buf + i * 512, 512,
				   b->pd->local_dma_lkey);
	}
	spin_unlock_irqrestore(&lock, flags);
	memset(swr, 0, sizeof(swr));
	for (i = 0; i < 8; i++) {
		sge[i].addr = (uintptr_t)a->buf + i * 512;
		sge[i].length = 512;
		sge[i].lkey = a->pd->local_dma_lkey;
		swr[i].wr_cqe = &ws[i]->cqe;
		swr[i].sg_list = &sge[i];
		swr[i].num_sge = 1;
		swr[i].opcode = IB_WR_SEND;
		swr[i].send_flags = IB_SEND_SIGNALED;
		swr[i].next = i < 7 ? &swr[i + 1] : NULL;
	}
	if (!err) {
		spin_lock_irqsave(&lock, flags);
		err = ib_post_send(r->qa, &swr[0], NULL);
		spin_unlock_irqrestore(&lock, flags);
	}
	if (err) {
		kt_result(false, "%s: post: %d", what, err);
		return;
	}
	for (i = 0; i < 8; i++)
		if (!kt_wc_ok(what, ws[i], r->acq, IB_WC_SEND, r->qa) ||
		    !kt_wc_ok(what, wr[i], r->bcq, IB_WC_RECV, r->qb))
			return;
	if (kt_check(what, b->buf, a->buf, 8 * 512))
		kt_result(true, "%s", what);
}

/* KT_NCHAIN SENDs, each posted by the previous one's completion. */
static void kt_rc_chain(struct kt_rc *r)
{
	struct kt_end *a = r->a, *b = r->b;
	struct kt_chain *c;
	struct kt_wait *wr[KT_NCHAIN];
	char what[80];
	int i, err = 0;

	snprintf(what, sizeof(what),
		 "%s: %d SENDs chained from the CQ handler (ctx %d)", r->tag,
		 KT_NCHAIN, r->acq->poll_ctx);
	c = r->chain;
	c->cqe.done = kt_chain_done;
	c->qp = r->qa;
	c->e = a;
	c->all_softirq = true;
	init_completion(&c->finished);
	kt_fill(a->buf2, KT_NCHAIN * 64, 31);
	memset(b->buf2, 0, KT_BUF);
	for (i = 0; i < KT_NCHAIN && !err; i++) {
		wr[i] = kt_wait_get(r);
		err = kt_post_recv(r->qb, wr[i], b->buf2 + i * 64, 64,
				   b->pd->local_dma_lkey);
	}
	if (!err)
		err = kt_chain_post(c);
	if (err) {
		kt_result(false, "%s: post: %d", what, err);
		return;
	}
	/* The sends first: a direct CQ moves only when polled here. */
	if (r->acq->poll_ctx == IB_POLL_DIRECT) {
		unsigned long end = jiffies + KT_TIMEOUT;

		while (!completion_done(&c->finished) &&
		       time_before(jiffies, end))
			if (!ib_process_cq_direct(r->acq, -1))
				usleep_range(200, 1000);
	}
	if (!wait_for_completion_timeout(&c->finished, KT_TIMEOUT)) {
		kt_result(false, "%s: %d of %d sends completed", what,
			  c->done, c->sent);
		return;
	}
	if (c->err || c->sent != KT_NCHAIN) {
		kt_result(false, "%s: error %d after %d", what, c->err,
			  c->sent);
		return;
	}
	for (i = 0; i < KT_NCHAIN; i++)
		if (!kt_wc_ok(what, wr[i], r->bcq, IB_WC_RECV, r->qb))
			return;
	if (r->acq->poll_ctx == IB_POLL_SOFTIRQ && !c->all_softirq) {
		kt_result(false, "%s: handler not in softirq", what);
		return;
	}
	if (kt_check(what, b->buf2, a->buf2, KT_NCHAIN * 64))
		kt_result(true, "%s", what);
}

/* ib_drain_qp() with receives outstanding: they flush, drain returns. */
static void kt_rc_drain(struct kt_rc *r)
{
	struct kt_end *b = r->b;
	struct kt_wait *wr[4];
	char what[96];
	int i, err = 0;

	snprintf(what, sizeof(what), "%s: ib_drain_qp flushes 4 receives",
		 r->tag);
	for (i = 0; i < 4 && !err; i++) {
		wr[i] = kt_wait_get(r);
		err = kt_post_recv(r->qb, wr[i], b->buf + i * 64, 64,
				   b->pd->local_dma_lkey);
	}
	if (err) {
		kt_result(false, "%s: post: %d", what, err);
		return;
	}
	ib_drain_qp(r->qb);
	ib_drain_qp(r->qa);
	for (i = 0; i < 4; i++) {
		if (!kt_wait_for(wr[i], r->bcq)) {
			kt_result(false, "%s: receive %d not flushed", what,
				  i);
			return;
		}
		if (wr[i]->wc.status != IB_WC_WR_FLUSH_ERR ||
		    wr[i]->wc.qp != r->qb) {
			kt_result(false, "%s: receive %d status %d", what, i,
				  wr[i]->wc.status);
			return;
		}
	}
	kt_result(true, "%s", what);
}

static const char *const kt_ctx_name[] = {
	[IB_POLL_DIRECT] = "direct",
	[IB_POLL_SOFTIRQ] = "softirq",
	[IB_POLL_WORKQUEUE] = "workqueue",
	[IB_POLL_UNBOUND_WORKQUEUE] = "unbound-wq",
};

/*
 * One RC (UC) pair A <-> B, A's CQ in @actx, B's in @bctx: all RC cases
 * (UC: those without READ and atomics).
 */
static void kt_rc_run(struct kt_end *a, struct kt_end *b,
		      enum ib_poll_context actx, enum ib_poll_context bctx,
		      enum ib_qp_type type)
{
	struct kt_rc r = { .a = a, .b = b };
	bool rc = type == IB_QPT_RC;
	char tag[64];
	int err;

	snprintf(tag, sizeof(tag), "%s:%s %s %s/%s", a->name, b->name,
		 rc ? "RC" : "UC", kt_ctx_name[actx], kt_ctx_name[bctx]);
	r.tag = tag;
	r.pool = kcalloc(KT_POOL, sizeof(*r.pool), GFP_KERNEL);
	r.chain = kzalloc(sizeof(*r.chain), GFP_KERNEL);
	if (!r.pool || !r.chain) {
		kt_result(false, "%s: no memory", tag);
		goto free_mem;
	}
	r.acq = ib_alloc_cq(a->dev, NULL, 256, 0, actx);
	if (IS_ERR(r.acq)) {
		kt_result(false, "%s: ib_alloc_cq: %ld", tag, PTR_ERR(r.acq));
		goto free_mem;
	}
	r.bcq = ib_alloc_cq(b->dev, NULL, 256, 0, bctx);
	if (IS_ERR(r.bcq)) {
		kt_result(false, "%s: ib_alloc_cq: %ld", tag, PTR_ERR(r.bcq));
		goto free_acq;
	}
	r.qa = kt_create_qp(a, type, r.acq, r.acq, NULL, 64);
	if (IS_ERR(r.qa)) {
		kt_result(false, "%s: ib_create_qp: %ld", tag, PTR_ERR(r.qa));
		goto free_bcq;
	}
	r.qb = kt_create_qp(b, type, r.bcq, r.bcq, NULL, 64);
	if (IS_ERR(r.qb)) {
		kt_result(false, "%s: ib_create_qp: %ld", tag, PTR_ERR(r.qb));
		goto free_qa;
	}
	err = kt_connect(r.qa, a, b, r.qb);
	if (!err)
		err = kt_connect(r.qb, b, a, r.qa);
	kt_result(!err, "%s: create and connect (%d)", tag, err);
	if (err)
		goto free_qb;

	kt_rc_send(&r, false, false);
	kt_rc_send(&r, false, true);
	if (r.qa->device->ops.driver_id == RDMA_DRIVER_UNKNOWN)
		kt_rc_send(&r, true, false);
	kt_rc_write(&r, false);
	kt_rc_write(&r, true);
	if (rc) {
		kt_rc_read(&r);
		kt_rc_atomics(&r);
	}
	kt_rc_atomic_ctx(&r);
	kt_rc_chain(&r);
	kt_rc_drain(&r);
free_qb:
	ib_destroy_qp(r.qb);
free_qa:
	ib_destroy_qp(r.qa);
free_bcq:
	ib_free_cq(r.bcq);
free_acq:
	ib_free_cq(r.acq);
free_mem:
	kfree(r.chain);
	kfree(r.pool);
}

/* UD A -> B, through an AH made in atomic context and a sleepable one. */
static void kt_ud_run(struct kt_end *a, struct kt_end *b)
{
	static DEFINE_SPINLOCK(lock);
	struct ib_cq *acq, *bcq;
	struct ib_qp *qa, *qb;
	struct rdma_ah_attr av;
	struct ib_ah *ah[2] = {};
	unsigned long flags;
	char tag[48];
	int i, err;

	snprintf(tag, sizeof(tag), "%s:%s UD", a->name, b->name);
	acq = ib_alloc_cq(a->dev, NULL, 64, 0, IB_POLL_SOFTIRQ);
	if (IS_ERR(acq)) {
		kt_result(false, "%s: ib_alloc_cq: %ld", tag, PTR_ERR(acq));
		return;
	}
	bcq = ib_alloc_cq(b->dev, NULL, 64, 0, IB_POLL_WORKQUEUE);
	if (IS_ERR(bcq)) {
		kt_result(false, "%s: ib_alloc_cq: %ld", tag, PTR_ERR(bcq));
		goto free_acq;
	}
	qa = kt_create_qp(a, IB_QPT_UD, acq, acq, NULL, 16);
	if (IS_ERR(qa)) {
		kt_result(false, "%s: ib_create_qp: %ld", tag, PTR_ERR(qa));
		goto free_bcq;
	}
	qb = kt_create_qp(b, IB_QPT_UD, bcq, bcq, NULL, 16);
	if (IS_ERR(qb)) {
		kt_result(false, "%s: ib_create_qp: %ld", tag, PTR_ERR(qb));
		goto free_qa;
	}
	err = kt_ud_up(qa);
	if (!err)
		err = kt_ud_up(qb);
	kt_result(!err, "%s: create, to RTS (%d)", tag, err);
	if (err)
		goto free_qb;

	kt_av(a, b, &av);
	spin_lock_irqsave(&lock, flags);
	ah[0] = rdma_create_ah(a->pd, &av, 0);
	spin_unlock_irqrestore(&lock, flags);
	ah[1] = rdma_create_ah(a->pd, &av, RDMA_CREATE_AH_SLEEPABLE);
	kt_result(!IS_ERR(ah[0]) && !IS_ERR(ah[1]),
		  "%s: rdma_create_ah with irqs off and sleepable (%d, %d)",
		  tag, PTR_ERR_OR_ZERO(ah[0]), PTR_ERR_OR_ZERO(ah[1]));
	for (i = 0; i < 2; i++) {
		struct kt_wait ws, wr;
		struct ib_sge sge = {
			.addr = (uintptr_t)a->buf,
			.length = 700,
			.lkey = a->pd->local_dma_lkey,
		};
		struct ib_ud_wr uwr = {
			.wr = {
				.sg_list = &sge,
				.num_sge = 1,
				.opcode = IB_WR_SEND,
				.send_flags = IB_SEND_SIGNALED,
			},
			.ah = ah[i],
			.remote_qpn = qb->qp_num,
			.remote_qkey = KT_QKEY,
		};
		char what[80];

		if (IS_ERR(ah[i]))
			continue;
		snprintf(what, sizeof(what), "%s: SEND through the %s AH",
			 tag, i ? "sleepable" : "atomic");
		kt_wait_init(&ws);
		kt_wait_init(&wr);
		uwr.wr.wr_cqe = &ws.cqe;
		kt_fill(a->buf, 700, 50 + i);
		memset(b->buf, 0, KT_BUF);
		err = kt_post_recv(qb, &wr, b->buf, 40 + 1024,
				   b->pd->local_dma_lkey);
		if (!err) {
			spin_lock_irqsave(&lock, flags);
			err = ib_post_send(qa, &uwr.wr, NULL);
			spin_unlock_irqrestore(&lock, flags);
		}
		if (err) {
			kt_result(false, "%s: post: %d", what, err);
			continue;
		}
		if (!kt_wc_ok(what, &ws, acq, IB_WC_SEND, qa) ||
		    !kt_wc_ok(what, &wr, bcq, IB_WC_RECV, qb))
			continue;
		if (wr.wc.byte_len != 40 + 700 || wr.wc.src_qp != qa->qp_num ||
		    !(wr.wc.wc_flags & IB_WC_GRH)) {
			kt_result(false, "%s: byte_len %u src_qp %u flags %x",
				  what, wr.wc.byte_len, wr.wc.src_qp,
				  wr.wc.wc_flags);
			continue;
		}
		if (kt_check(what, b->buf + 40, a->buf, 700))
			kt_result(true, "%s", what);
	}
	if (!IS_ERR(ah[0])) {
		spin_lock_irqsave(&lock, flags);
		rdma_destroy_ah(ah[0], 0);
		spin_unlock_irqrestore(&lock, flags);
	}
	if (!IS_ERR(ah[1]))
		rdma_destroy_ah(ah[1], RDMA_DESTROY_AH_SLEEPABLE);
free_qb:
	ib_destroy_qp(qb);
free_qa:
	ib_destroy_qp(qa);
free_bcq:
	ib_free_cq(bcq);
free_acq:
	ib_free_cq(acq);
}

static atomic_t kt_srq_limit;

static void kt_srq_event(struct ib_event *ev, void *ctx)
{
	if (ev->event == IB_EVENT_SRQ_LIMIT_REACHED)
		atomic_inc(&kt_srq_limit);
}

/* RC A -> B where B's QP takes its receives from a kernel SRQ. */
static void kt_srq_run(struct kt_end *a, struct kt_end *b)
{
	struct ib_srq_init_attr sinit = {
		.event_handler = kt_srq_event,
		.attr = { .max_wr = 16, .max_sge = 1 },
		.srq_type = IB_SRQT_BASIC,
	};
	struct ib_srq_attr sattr = { .srq_limit = 14 };
	static DEFINE_SPINLOCK(lock);
	unsigned long flags;
	struct ib_cq *acq, *bcq;
	struct ib_qp *qa, *qb;
	struct ib_srq *srq;
	struct kt_wait *wr, ws[4];
	char tag[48];
	int i, err = 0;

	snprintf(tag, sizeof(tag), "%s:%s SRQ", a->name, b->name);
	wr = kcalloc(16, sizeof(*wr), GFP_KERNEL);
	if (!wr) {
		kt_result(false, "%s: no memory", tag);
		return;
	}
	acq = ib_alloc_cq(a->dev, NULL, 64, 0, IB_POLL_WORKQUEUE);
	if (IS_ERR(acq)) {
		kt_result(false, "%s: ib_alloc_cq: %ld", tag, PTR_ERR(acq));
		goto free_wr;
	}
	bcq = ib_alloc_cq(b->dev, NULL, 64, 0, IB_POLL_UNBOUND_WORKQUEUE);
	if (IS_ERR(bcq)) {
		kt_result(false, "%s: ib_alloc_cq: %ld", tag, PTR_ERR(bcq));
		goto free_acq;
	}
	srq = ib_create_srq(b->pd, &sinit);
	if (IS_ERR(srq)) {
		kt_result(false, "%s: ib_create_srq: %ld", tag, PTR_ERR(srq));
		goto free_bcq;
	}
	qa = kt_create_qp(a, IB_QPT_RC, acq, acq, NULL, 16);
	if (IS_ERR(qa)) {
		kt_result(false, "%s: ib_create_qp: %ld", tag, PTR_ERR(qa));
		goto free_srq;
	}
	qb = kt_create_qp(b, IB_QPT_RC, bcq, bcq, srq, 16);
	if (IS_ERR(qb)) {
		kt_result(false, "%s: ib_create_qp: %ld", tag, PTR_ERR(qb));
		goto free_qa;
	}
	err = kt_connect(qa, a, b, qb);
	if (!err)
		err = kt_connect(qb, b, a, qa);
	for (i = 0; i < 16 && !err; i++) {
		struct ib_sge sge = {
			.addr = (uintptr_t)b->buf + i * 256,
			.length = 256,
			.lkey = b->pd->local_dma_lkey,
		};
		struct ib_recv_wr rwr = {
			.sg_list = &sge,
			.num_sge = 1,
		};

		kt_wait_init(&wr[i]);
		rwr.wr_cqe = &wr[i].cqe;
		/* As a ULP refilling from its completion path would. */
		spin_lock_irqsave(&lock, flags);
		err = ib_post_srq_recv(srq, &rwr, NULL);
		spin_unlock_irqrestore(&lock, flags);
	}
	atomic_set(&kt_srq_limit, 0);
	if (!err)
		err = ib_modify_srq(srq, &sattr, IB_SRQ_LIMIT);
	kt_result(!err,
		  "%s: set up, 16 receives posted with irqs off, limit 14 (%d)",
		  tag, err);
	if (err)
		goto free_qb;
	kt_fill(a->buf, KT_BUF, 90);
	memset(b->buf, 0, KT_BUF);
	for (i = 0; i < 4 && !err; i++) {
		struct ib_sge sge = {
			.addr = (uintptr_t)a->buf + i * 256,
			.length = 256,
			.lkey = a->pd->local_dma_lkey,
		};
		struct ib_send_wr swr = {
			.sg_list = &sge,
			.num_sge = 1,
			.opcode = IB_WR_SEND,
			.send_flags = IB_SEND_SIGNALED,
		};

		kt_wait_init(&ws[i]);
		swr.wr_cqe = &ws[i].cqe;
		err = ib_post_send(qa, &swr, NULL);
	}
	if (err) {
		kt_result(false, "%s: post: %d", tag, err);
		goto free_qb;
	}
	for (i = 0; i < 4; i++)
		if (!kt_wc_ok(tag, &ws[i], acq, IB_WC_SEND, qa) ||
		    !kt_wc_ok(tag, &wr[i], bcq, IB_WC_RECV, qb))
			goto free_qb;
	if (kt_check(tag, b->buf, a->buf, 4 * 256))
		kt_result(true, "%s: 4 SENDs received through the SRQ", tag);
	kt_result(atomic_read(&kt_srq_limit) == 1,
		  "%s: SRQ limit event (%d)", tag, atomic_read(&kt_srq_limit));
	atomic_set(&kt_last_wqe, 0);
	ib_drain_qp(qb);
	ib_drain_qp(qa);
	for (i = 0; i < 100 && !atomic_read(&kt_last_wqe); i++)
		msleep(20);
	kt_result(atomic_read(&kt_last_wqe) >= 1,
		  "%s: LAST_WQE_REACHED after the drain", tag);
free_qb:
	ib_destroy_qp(qb);
free_qa:
	ib_destroy_qp(qa);
free_srq:
	ib_destroy_srq(srq);
free_bcq:
	ib_free_cq(bcq);
free_acq:
	ib_free_cq(acq);
free_wr:
	kfree(wr);
}

static bool kt_is_rodp(struct kt_end *e)
{
	return e->dev->ops.driver_id == RDMA_DRIVER_UNKNOWN;
}

/*
 * Malformed posts get an errno and *bad_wr naming the first WR not
 * posted: a send on a QP in RESET, a receive with too many SGEs, a
 * receive queue that is full (INIT: nothing consumes it).
 */
static void kt_bad_run(struct kt_end *a)
{
	const struct ib_recv_wr *rbad = NULL;
	const struct ib_send_wr *sbad = NULL;
	struct ib_sge sge[3] = {
		{ .addr = (uintptr_t)a->buf, .length = 8,
		  .lkey = a->pd->local_dma_lkey },
		{ .addr = (uintptr_t)a->buf + 8, .length = 8,
		  .lkey = a->pd->local_dma_lkey },
		{ .addr = (uintptr_t)a->buf + 16, .length = 8,
		  .lkey = a->pd->local_dma_lkey },
	};
	struct ib_send_wr swr = {
		.sg_list = sge,
		.num_sge = 1,
		.opcode = IB_WR_SEND,
	};
	struct ib_recv_wr rwr[2] = {
		{ .next = &rwr[1], .sg_list = sge, .num_sge = 1 },
		{ .sg_list = sge, .num_sge = 3 },
	};
	struct ib_recv_wr one = { .sg_list = sge, .num_sge = 1 };
	char tag[64];
	struct ib_cq *cq;
	struct ib_qp *qp;
	int err, i, n = 0;

	snprintf(tag, sizeof(tag), "%s: bad WRs", a->name);
	cq = ib_alloc_cq(a->dev, NULL, 64, 0, IB_POLL_WORKQUEUE);
	if (IS_ERR(cq)) {
		kt_result(false, "%s: ib_alloc_cq: %ld", tag, PTR_ERR(cq));
		return;
	}
	qp = kt_create_qp(a, IB_QPT_RC, cq, cq, NULL, 16);
	if (IS_ERR(qp)) {
		kt_result(false, "%s: ib_create_qp: %ld", tag, PTR_ERR(qp));
		goto free_cq;
	}
	err = ib_post_send(qp, &swr, &sbad);
	if (err != -EINVAL || sbad != &swr) {
		kt_result(false, "%s: send in RESET: %d", tag, err);
		goto free_qp;
	}
	err = kt_to_init(qp);
	if (err) {
		kt_result(false, "%s: to INIT: %d", tag, err);
		goto free_qp;
	}
	/* The first is posted, the second has one SGE too many. */
	err = ib_post_recv(qp, rwr, &rbad);
	if (err != -EINVAL || rbad != &rwr[1]) {
		kt_result(false, "%s: 3 SGEs: %d", tag, err);
		goto free_qp;
	}
	for (i = 1; i <= qp->device->attrs.max_qp_wr; i++) {
		err = ib_post_recv(qp, &one, &rbad);
		if (err)
			break;
		n++;
	}
	/* 16 asked for: the ring holds 16, one of them posted above. */
	if (err != -ENOMEM || rbad != &one || n != 15) {
		kt_result(false, "%s: full receive queue: %d after %d", tag,
			  err, n);
		goto free_qp;
	}
	kt_result(true, "%s: errno and bad_wr", tag);
free_qp:
	ib_destroy_qp(qp);
free_cq:
	ib_free_cq(cq);
}

/*
 * Fast registration: A owns an MR of IB_MR_TYPE_MEM_REG over four
 * non-contiguous pages (the first entered at an offset, the last cut
 * short), B is the peer that reaches it through its R_Key.  A QP pair
 * that an error completion leaves in error is replaced by a new one.
 */
#define KT_FR_NPAGES	4
#define KT_FR_OFF	100
#define KT_FR_LAST	1000
#define KT_FR_LEN	(3 * PAGE_SIZE - KT_FR_OFF + KT_FR_LAST)
#define KT_FR_NWAIT	64
#define KT_FR_ACCESS	(IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_READ | \
			 IB_ACCESS_REMOTE_WRITE)

/* Pages of the order-3 block the scatterlist takes: never adjacent. */
static const int kt_fr_pg[KT_FR_NPAGES] = { 0, 2, 5, 7 };

struct kt_fr {
	struct kt_end *a, *b;
	struct ib_cq *acq, *bcq;
	struct ib_qp *qa, *qb;
	struct ib_mr *mr;
	struct page *block;
	struct scatterlist sg[KT_FR_NPAGES];
	bool mapped;
	u8 *pbuf, *pbuf2, *lin;
	struct kt_wait *w;
	int nw;
	char tag[64];
};

static struct kt_wait *kt_fr_wait_get(struct kt_fr *f)
{
	struct kt_wait *w = &f->w[f->nw];

	if (f->nw < KT_FR_NWAIT - 1)
		f->nw++;
	kt_wait_init(w);
	return w;
}

/* The status of @w's completion, or -1 when none came. */
static int kt_fr_status(struct kt_wait *w, struct ib_cq *cq)
{
	return kt_wait_for(w, cq) ? w->wc.status : -1;
}

static void kt_fr_qps_put(struct kt_fr *f)
{
	if (f->qb)
		ib_destroy_qp(f->qb);
	if (f->qa)
		ib_destroy_qp(f->qa);
	f->qa = NULL;
	f->qb = NULL;
}

/* A new connected RC pair, the old one (in error) destroyed. */
static int kt_fr_qps(struct kt_fr *f)
{
	struct ib_qp *qa, *qb;
	int err;

	kt_fr_qps_put(f);
	qa = kt_create_qp(f->a, IB_QPT_RC, f->acq, f->acq, NULL, 16);
	if (IS_ERR(qa))
		return PTR_ERR(qa);
	f->qa = qa;
	qb = kt_create_qp(f->b, IB_QPT_RC, f->bcq, f->bcq, NULL, 16);
	if (IS_ERR(qb))
		return PTR_ERR(qb);
	f->qb = qb;
	err = kt_connect(qa, f->a, f->b, qb);
	if (!err)
		err = kt_connect(qb, f->b, f->a, qa);
	return err;
}

static bool kt_fr_qp_in_error(struct ib_qp *qp)
{
	struct ib_qp_init_attr init;
	struct ib_qp_attr attr;

	return !ib_query_qp(qp, &attr, IB_QP_STATE, &init) &&
	       attr.qp_state == IB_QPS_ERR;
}

/* Byte @i of the registration (from its iova) in the pages. */
static u8 *kt_fr_byte(struct kt_fr *f, u32 i)
{
	u32 abs = KT_FR_OFF + i;

	return page_address(f->block + kt_fr_pg[abs / PAGE_SIZE]) +
	       abs % PAGE_SIZE;
}

/* Copy the registration's bytes [off, off + len) to or from @buf. */
static void kt_fr_copy(struct kt_fr *f, u32 off, u8 *buf, u32 len,
		       bool to_mr)
{
	u32 i;

	for (i = 0; i < len; i++) {
		if (to_mr)
			*kt_fr_byte(f, off + i) = buf[i];
		else
			buf[i] = *kt_fr_byte(f, off + i);
	}
}

/* REG_MR of the MR with @key and @access, on A; its status. */
static int kt_fr_reg(struct kt_fr *f, u32 key, int access)
{
	struct kt_wait *w = kt_fr_wait_get(f);
	struct ib_reg_wr reg = {
		.wr = {
			.wr_cqe = &w->cqe,
			.opcode = IB_WR_REG_MR,
			.send_flags = IB_SEND_SIGNALED,
		},
		.mr = f->mr,
		.key = key,
		.access = access,
	};
	int st;

	if (ib_post_send(f->qa, &reg.wr, NULL))
		return -2;
	st = kt_fr_status(w, f->acq);
	if (st == IB_WC_SUCCESS && w->wc.opcode != IB_WC_REG_MR)
		return -3;
	return st;
}

/* LOCAL_INV of @key on A; its status. */
static int kt_fr_inv(struct kt_fr *f, u32 key)
{
	struct kt_wait *w = kt_fr_wait_get(f);
	struct ib_send_wr wr = {
		.wr_cqe = &w->cqe,
		.opcode = IB_WR_LOCAL_INV,
		.send_flags = IB_SEND_SIGNALED,
		.ex.invalidate_rkey = key,
	};
	int st;

	if (ib_post_send(f->qa, &wr, NULL))
		return -2;
	st = kt_fr_status(w, f->acq);
	if (st == IB_WC_SUCCESS && w->wc.opcode != IB_WC_LOCAL_INV)
		return -3;
	return st;
}

/* B's RDMA WRITE or READ of @len bytes at @off of the MR, @rkey; status. */
static int kt_fr_rdma(struct kt_fr *f, enum ib_wr_opcode op, u32 off,
		      u32 len, u32 rkey, u8 *buf)
{
	struct kt_wait *w = kt_fr_wait_get(f);
	struct ib_sge sge = {
		.addr = (uintptr_t)buf,
		.length = len,
		.lkey = f->b->pd->local_dma_lkey,
	};
	struct ib_rdma_wr rwr = {
		.wr = {
			.wr_cqe = &w->cqe,
			.sg_list = &sge,
			.num_sge = 1,
			.opcode = op,
			.send_flags = IB_SEND_SIGNALED,
		},
		.remote_addr = f->mr->iova + off,
		.rkey = rkey,
	};

	if (ib_post_send(f->qb, &rwr.wr, NULL))
		return -2;
	return kt_fr_status(w, f->bcq);
}

/* B writes the whole registration, A checks every byte. */
static bool kt_fr_write_ok(struct kt_fr *f, const char *what, u8 seed)
{
	int st;

	kt_fill(f->pbuf, KT_FR_LEN, seed);
	memset(f->lin, 0, KT_FR_LEN);
	kt_fr_copy(f, 0, f->lin, KT_FR_LEN, true);
	st = kt_fr_rdma(f, IB_WR_RDMA_WRITE, 0, KT_FR_LEN, f->mr->rkey,
			f->pbuf);
	if (st) {
		kt_result(false, "%s: %s: status %d", f->tag, what, st);
		return false;
	}
	kt_fr_copy(f, 0, f->lin, KT_FR_LEN, false);
	if (memcmp(f->lin, f->pbuf, KT_FR_LEN)) {
		kt_result(false, "%s: %s: data differ", f->tag, what);
		return false;
	}
	return true;
}

/* An access that must fail: B's WRITE gets REM_ACCESS_ERR. */
static void kt_fr_refused(struct kt_fr *f, const char *what,
			  enum ib_wr_opcode op)
{
	int st = kt_fr_rdma(f, op, 0, 512, f->mr->rkey, f->pbuf);

	kt_result(st == IB_WC_REM_ACCESS_ERR, "%s: %s: REM_ACCESS_ERR (%d)",
		  f->tag, what, st);
}

/* A refused registration or invalidation (@st): error, QP in error. */
static void kt_fr_bad(struct kt_fr *f, const char *what, int st, int want)
{
	kt_result(st == want && kt_fr_qp_in_error(f->qa),
		  "%s: %s: status %d, QP in error", f->tag, what, st);
}

/* B's SEND_WITH_INV of @rkey must fail (A NAKs it), on a new QP pair. */
static void kt_fr_bad_inv(struct kt_fr *f, const char *what, u32 rkey)
{
	struct kt_wait *wr = kt_fr_wait_get(f), *ws = kt_fr_wait_get(f);
	struct ib_sge sge = {
		.addr = (uintptr_t)f->pbuf,
		.length = 64,
		.lkey = f->b->pd->local_dma_lkey,
	};
	struct ib_send_wr swr = {
		.wr_cqe = &ws->cqe,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IB_WR_SEND_WITH_INV,
		.send_flags = IB_SEND_SIGNALED,
		.ex.invalidate_rkey = rkey,
	};
	int st;

	st = kt_fr_qps(f);
	if (!st)
		st = kt_post_recv(f->qa, wr, f->a->buf, KT_BUF,
				  f->a->pd->local_dma_lkey);
	if (!st)
		st = ib_post_send(f->qb, &swr, NULL);
	if (!st)
		st = kt_fr_status(ws, f->bcq);
	kt_result(st > 0 && st != IB_WC_WR_FLUSH_ERR, "%s: %s: refused (%d)",
		  f->tag, what, st);
}

static bool kt_fr_setup(struct kt_fr *f)
{
	int i, n;

	f->w = kcalloc(KT_FR_NWAIT, sizeof(*f->w), GFP_KERNEL);
	f->pbuf = kmalloc(KT_FR_LEN, GFP_KERNEL);
	f->pbuf2 = kmalloc(KT_FR_LEN, GFP_KERNEL);
	f->lin = kmalloc(KT_FR_LEN, GFP_KERNEL);
	f->block = alloc_pages(GFP_KERNEL | __GFP_ZERO, 3);
	if (!f->w || !f->pbuf || !f->pbuf2 || !f->lin || !f->block) {
		kt_result(false, "%s: no memory", f->tag);
		return false;
	}
	f->acq = ib_alloc_cq(f->a->dev, NULL, 64, 0, IB_POLL_WORKQUEUE);
	if (IS_ERR(f->acq)) {
		f->acq = NULL;
		kt_result(false, "%s: ib_alloc_cq", f->tag);
		return false;
	}
	f->bcq = ib_alloc_cq(f->b->dev, NULL, 64, 0, IB_POLL_SOFTIRQ);
	if (IS_ERR(f->bcq)) {
		f->bcq = NULL;
		kt_result(false, "%s: ib_alloc_cq", f->tag);
		return false;
	}
	f->mr = ib_alloc_mr(f->a->pd, IB_MR_TYPE_MEM_REG, 8);
	if (IS_ERR(f->mr)) {
		kt_result(false, "%s: ib_alloc_mr: %ld", f->tag,
			  PTR_ERR(f->mr));
		f->mr = NULL;
		return false;
	}
	sg_init_table(f->sg, KT_FR_NPAGES);
	sg_set_page(&f->sg[0], f->block + kt_fr_pg[0],
		    PAGE_SIZE - KT_FR_OFF, KT_FR_OFF);
	for (i = 1; i < KT_FR_NPAGES - 1; i++)
		sg_set_page(&f->sg[i], f->block + kt_fr_pg[i], PAGE_SIZE, 0);
	sg_set_page(&f->sg[i], f->block + kt_fr_pg[i], KT_FR_LAST, 0);
	n = ib_dma_map_sg(f->a->dev, f->sg, KT_FR_NPAGES, DMA_BIDIRECTIONAL);
	if (n != KT_FR_NPAGES) {
		kt_result(false, "%s: ib_dma_map_sg: %d", f->tag, n);
		return false;
	}
	f->mapped = true;
	n = ib_map_mr_sg(f->mr, f->sg, KT_FR_NPAGES, NULL, PAGE_SIZE);
	kt_result(n == KT_FR_NPAGES && f->mr->length == KT_FR_LEN,
		  "%s: map_mr_sg of %d non-contiguous pages, offset %d (%d, length %llu)",
		  f->tag, KT_FR_NPAGES, KT_FR_OFF, n, f->mr->length);
	if (n != KT_FR_NPAGES)
		return false;
	i = kt_fr_qps(f);
	if (i)
		kt_result(false, "%s: QPs: %d", f->tag, i);
	return !i;
}

static void kt_fr_teardown(struct kt_fr *f)
{
	kt_fr_qps_put(f);
	if (f->mr)
		ib_dereg_mr(f->mr);
	if (f->mapped)
		ib_dma_unmap_sg(f->a->dev, f->sg, KT_FR_NPAGES,
				DMA_BIDIRECTIONAL);
	if (f->bcq)
		ib_free_cq(f->bcq);
	if (f->acq)
		ib_free_cq(f->acq);
	if (f->block)
		__free_pages(f->block, 3);
	kfree(f->lin);
	kfree(f->pbuf2);
	kfree(f->pbuf);
	kfree(f->w);
}

/* What the device reports and refuses at ib_alloc_mr(). */
static void kt_fr_caps(struct kt_fr *f)
{
	struct ib_device_attr *at = &f->a->dev->attrs;
	struct ib_mr *mr;
	bool ok;

	ok = (at->device_cap_flags & IB_DEVICE_MEM_MGT_EXTENSIONS) &&
	     at->max_fast_reg_page_list_len >= 256;
	mr = ib_alloc_mr(f->a->pd, IB_MR_TYPE_MEM_REG,
			 at->max_fast_reg_page_list_len + 1);
	if (!IS_ERR(mr)) {
		ib_dereg_mr(mr);
		ok = false;
	}
	mr = ib_alloc_mr(f->a->pd, IB_MR_TYPE_SG_GAPS, 8);
	if (!IS_ERR(mr)) {
		ib_dereg_mr(mr);
		ok = false;
	}
	kt_result(ok, "%s: MEM_MGT_EXTENSIONS, page list %u, alloc_mr refusals",
		  f->tag, at->max_fast_reg_page_list_len);
}

/* Registration, invalidation and their refusals on A's side (rodp). */
static void kt_fr_bad_run(struct kt_fr *f)
{
	struct ib_send_wr swr = {};
	struct kt_wait *w;
	struct ib_sge sge;
	u32 key;
	int st;

	/* A valid MR cannot be registered again. */
	key = ib_inc_rkey(f->mr->rkey);
	ib_update_fast_reg_key(f->mr, key & 0xff);
	if (kt_fr_qps(f) || kt_fr_reg(f, f->mr->rkey, KT_FR_ACCESS)) {
		kt_result(false, "%s: REG_MR for the bad cases", f->tag);
		return;
	}
	st = kt_fr_reg(f, f->mr->rkey, KT_FR_ACCESS);
	kt_fr_bad(f, "REG_MR of a valid MR", st, IB_WC_MW_BIND_ERR);

	/* LOCAL_INV of the right index with the wrong key byte. */
	if (kt_fr_qps(f))
		return;
	st = kt_fr_inv(f, ib_inc_rkey(f->mr->rkey));
	kt_fr_bad(f, "LOCAL_INV with a wrong key", st, IB_WC_LOC_QP_OP_ERR);

	/* A key whose index is not the MR's. */
	if (kt_fr_qps(f) || kt_fr_inv(f, f->mr->rkey)) {
		kt_result(false, "%s: LOCAL_INV for the bad cases", f->tag);
		return;
	}
	st = kt_fr_reg(f, f->mr->rkey + 0x100, KT_FR_ACCESS);
	kt_fr_bad(f, "REG_MR with another index", st, IB_WC_MW_BIND_ERR);

	/* A length the page list does not hold. */
	if (kt_fr_qps(f))
		return;
	f->mr->length += PAGE_SIZE;
	st = kt_fr_reg(f, f->mr->rkey, KT_FR_ACCESS);
	f->mr->length -= PAGE_SIZE;
	kt_fr_bad(f, "REG_MR longer than its pages", st, IB_WC_MW_BIND_ERR);

	/* Remote write without local write (IBA). */
	if (kt_fr_qps(f))
		return;
	st = kt_fr_reg(f, f->mr->rkey, IB_ACCESS_REMOTE_WRITE);
	kt_fr_bad(f, "REG_MR of remote write without local write", st,
		  IB_WC_MW_BIND_ERR);

	/* The MR is invalid: its L_Key gives no access either. */
	if (kt_fr_qps(f))
		return;
	w = kt_fr_wait_get(f);
	sge.addr = f->mr->iova;
	sge.length = 64;
	sge.lkey = f->mr->lkey;
	swr.wr_cqe = &w->cqe;
	swr.sg_list = &sge;
	swr.num_sge = 1;
	swr.opcode = IB_WR_SEND;
	swr.send_flags = IB_SEND_SIGNALED;
	st = ib_post_send(f->qa, &swr, NULL);
	if (!st)
		st = kt_fr_status(w, f->acq);
	kt_fr_bad(f, "SEND through an invalid MR's L_Key", st,
		  IB_WC_LOC_PROT_ERR);
}

/*
 * A deregisters the MR while B's WRITEs through it are on the way: the
 * deregistration waits for the access in progress, then B's later WRITEs
 * are refused (or flushed); every WRITE completes.
 */
static void kt_fr_dereg_busy(struct kt_fr *f)
{
	struct kt_wait *w[16];
	int i, n = 0, st, err;

	if (kt_fr_qps(f) || kt_fr_reg(f, f->mr->rkey, KT_FR_ACCESS)) {
		kt_result(false, "%s: REG_MR before dereg", f->tag);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		struct ib_sge sge = {
			.addr = (uintptr_t)f->pbuf,
			.length = KT_FR_LEN,
			.lkey = f->b->pd->local_dma_lkey,
		};
		struct ib_rdma_wr rwr = {
			.wr = {
				.sg_list = &sge,
				.num_sge = 1,
				.opcode = IB_WR_RDMA_WRITE,
				.send_flags = IB_SEND_SIGNALED,
			},
			.remote_addr = f->mr->iova,
			.rkey = f->mr->rkey,
		};

		w[i] = kt_fr_wait_get(f);
		rwr.wr.wr_cqe = &w[i]->cqe;
		if (ib_post_send(f->qb, &rwr.wr, NULL))
			break;
	}
	/* A wait consumes its completion: w[0] is waited for once. */
	st = kt_fr_status(w[0], f->bcq);
	err = ib_dereg_mr(f->mr);
	f->mr = NULL;
	while (n < i) {
		if (n)
			st = kt_fr_status(w[n], f->bcq);
		if (st != IB_WC_SUCCESS && st != IB_WC_REM_ACCESS_ERR &&
		    st != IB_WC_WR_FLUSH_ERR)
			break;
		n++;
	}
	kt_result(!err && i == ARRAY_SIZE(w) && n == i,
		  "%s: dereg with peer WRITEs in flight (%d, %d/%d complete, last %d)",
		  f->tag, err, n, i, st);
}

static void kt_frmr_run(struct kt_end *a, struct kt_end *b)
{
	struct kt_fr f = { .a = a, .b = b };
	struct kt_wait *wr, *ws;
	struct ib_sge sge;
	struct ib_send_wr swr = {};
	u32 key;
	int st;

	snprintf(f.tag, sizeof(f.tag), "%s:%s fast-reg", a->name, b->name);
	if (kt_is_rodp(a))
		kt_fr_caps(&f);
	if (!kt_fr_setup(&f))
		goto out;

	key = ib_inc_rkey(f.mr->rkey);
	ib_update_fast_reg_key(f.mr, key & 0xff);
	st = kt_fr_reg(&f, f.mr->rkey, KT_FR_ACCESS);
	kt_result(!st, "%s: REG_MR (%d)", f.tag, st);
	if (st)
		goto out;

	if (kt_fr_write_ok(&f, "peer RDMA WRITE through the R_Key", 21))
		kt_result(true, "%s: peer RDMA WRITE through the R_Key",
			  f.tag);

	/* B reads across three pages from inside the first. */
	kt_fill(f.lin, KT_FR_LEN, 33);
	kt_fr_copy(&f, 0, f.lin, KT_FR_LEN, true);
	memset(f.pbuf2, 0, KT_FR_LEN);
	st = kt_fr_rdma(&f, IB_WR_RDMA_READ, 50, 9000, f.mr->rkey, f.pbuf2);
	kt_result(!st && !memcmp(f.pbuf2, f.lin + 50, 9000),
		  "%s: peer RDMA READ through the R_Key (%d)", f.tag, st);

	/* A sends out of the MR through its L_Key. */
	wr = kt_fr_wait_get(&f);
	ws = kt_fr_wait_get(&f);
	memset(f.pbuf2, 0, KT_FR_LEN);
	sge.addr = f.mr->iova + 10;
	sge.length = 5000;
	sge.lkey = f.mr->lkey;
	swr.wr_cqe = &ws->cqe;
	swr.sg_list = &sge;
	swr.num_sge = 1;
	swr.opcode = IB_WR_SEND;
	swr.send_flags = IB_SEND_SIGNALED;
	st = kt_post_recv(f.qb, wr, f.pbuf2, KT_FR_LEN,
			  b->pd->local_dma_lkey);
	if (!st)
		st = ib_post_send(f.qa, &swr, NULL);
	if (!st)
		st = kt_fr_status(ws, f.acq);
	if (!st)
		st = kt_fr_status(wr, f.bcq);
	kt_result(!st && wr->wc.byte_len == 5000 &&
		  !memcmp(f.pbuf2, f.lin + 10, 5000),
		  "%s: SEND from the MR through the L_Key (%d)", f.tag, st);

	st = kt_fr_inv(&f, f.mr->rkey);
	kt_result(!st, "%s: LOCAL_INV (%d)", f.tag, st);
	kt_fr_refused(&f, "peer WRITE after LOCAL_INV", IB_WR_RDMA_WRITE);

	/* Registered again under a new key byte. */
	key = ib_inc_rkey(f.mr->rkey);
	ib_update_fast_reg_key(f.mr, key & 0xff);
	st = kt_fr_qps(&f);
	if (!st)
		st = kt_fr_reg(&f, f.mr->rkey, KT_FR_ACCESS);
	if (st)
		kt_result(false, "%s: REG_MR with a new key: %d", f.tag, st);
	else if (kt_fr_write_ok(&f, "REG_MR with a new key", 45))
		kt_result(true, "%s: REG_MR with a new key, peer WRITE",
			  f.tag);

	/* B's SEND_WITH_INV invalidates it. */
	wr = kt_fr_wait_get(&f);
	ws = kt_fr_wait_get(&f);
	sge.addr = (uintptr_t)f.pbuf;
	sge.length = 64;
	sge.lkey = b->pd->local_dma_lkey;
	swr.wr_cqe = &ws->cqe;
	swr.opcode = IB_WR_SEND_WITH_INV;
	swr.ex.invalidate_rkey = f.mr->rkey;
	st = kt_post_recv(f.qa, wr, a->buf, KT_BUF, a->pd->local_dma_lkey);
	if (!st)
		st = ib_post_send(f.qb, &swr, NULL);
	if (!st)
		st = kt_fr_status(ws, f.bcq);
	if (!st)
		st = kt_fr_status(wr, f.acq);
	kt_result(!st && (wr->wc.wc_flags & IB_WC_WITH_INVALIDATE) &&
		  wr->wc.ex.invalidate_rkey == f.mr->rkey,
		  "%s: peer SEND_WITH_INV: flag and R_Key (%d, flags 0x%x)",
		  f.tag, st, wr->wc.wc_flags);
	kt_fr_refused(&f, "peer READ after SEND_WITH_INV", IB_WR_RDMA_READ);

	/*
	 * SEND_WITH_INV of R_Keys that name nothing invalidatable (rxe
	 * 6.1 ACKs them, and invalidates even its DMA MR).
	 */
	if (kt_is_rodp(a)) {
		kt_fr_bad_inv(&f,
			      "SEND_WITH_INV of the MR's R_Key, wrong key byte",
			      ib_inc_rkey(f.mr->rkey));
		kt_fr_bad_inv(&f, "SEND_WITH_INV of a DMA MR's R_Key",
			      a->pd->unsafe_global_rkey);
		kt_fr_bad_run(&f);
		kt_fr_dereg_busy(&f);
	}
out:
	kt_fr_teardown(&f);
}

static void kt_pair(const char *an, const char *bn)
{
	struct kt_end a = {}, b = {};

	if (kt_end_get(&a, an))
		return;
	if (kt_end_get(&b, bn)) {
		kt_end_put(&a);
		return;
	}
	kt_rc_run(&a, &b, IB_POLL_DIRECT, IB_POLL_SOFTIRQ, IB_QPT_RC);
	kt_rc_run(&a, &b, IB_POLL_SOFTIRQ, IB_POLL_WORKQUEUE, IB_QPT_RC);
	if (kt_is_rodp(&a) && kt_is_rodp(&b))
		kt_rc_run(&a, &b, IB_POLL_UNBOUND_WORKQUEUE, IB_POLL_DIRECT,
			  IB_QPT_RC);
	kt_rc_run(&a, &b, IB_POLL_SOFTIRQ, IB_POLL_UNBOUND_WORKQUEUE,
		  IB_QPT_UC);
	kt_ud_run(&a, &b);
	if (kt_is_rodp(&b))
		kt_srq_run(&a, &b);
	if (kt_is_rodp(&a))
		kt_bad_run(&a);
	kt_frmr_run(&a, &b);
	kt_end_put(&b);
	kt_end_put(&a);
}

static ssize_t kt_read(struct file *f, char __user *ubuf, size_t len,
		       loff_t *pos)
{
	return simple_read_from_buffer(ubuf, len, pos, kt_out, kt_len);
}

static const struct file_operations kt_fops = {
	.owner = THIS_MODULE,
	.read = kt_read,
	.llseek = default_llseek,
};

static int __init kt_init(void)
{
	char *list, *p, *pair;

	kt_out = kzalloc(PAGE_SIZE * 4, GFP_KERNEL);
	list = kstrdup(pairs, GFP_KERNEL);
	if (!kt_out || !list) {
		kfree(list);
		kfree(kt_out);
		return -ENOMEM;
	}
	if (ib_register_client(&kt_client)) {
		kfree(list);
		kfree(kt_out);
		return -ENODEV;
	}
	p = list;
	while ((pair = strsep(&p, ","))) {
		char *b = strchr(pair, ':');

		if (!b) {
			kt_result(false, "bad pairing '%s'", pair);
			continue;
		}
		*b++ = 0;
		kt_pair(pair, b);
	}
	kfree(list);
	ib_unregister_client(&kt_client);
	kt_len += scnprintf(kt_out + kt_len, PAGE_SIZE * 4 - kt_len,
			    "done %d failed\n", kt_failed);
	kt_dir = debugfs_create_dir("rodp_ktest", NULL);
	debugfs_create_file("result", 0444, kt_dir, NULL, &kt_fops);
	return 0;
}

static void __exit kt_exit(void)
{
	debugfs_remove_recursive(kt_dir);
	kfree(kt_out);
}

module_init(kt_init);
module_exit(kt_exit);
MODULE_LICENSE("Dual BSD/GPL");
MODULE_DESCRIPTION("rodp: kernel verbs tests");
