// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * import_test: rdma-core's import verbs, and a uverbs file that outlives
 * the process that registered the memory (suites/61-import.sh).  TAP.
 *
 * For each kind of MR (explicit ODP, implicit ODP, pinned) and each peer
 * (rodp1, rxe0):
 *  - the registrar (a child) opens rodp0, allocates a PD, maps BUF_LEN
 *    bytes filled with pattern A and registers them, then passes its
 *    uverbs file with SCM_RIGHTS to the importer (a second child);
 *  - the importer imports the device, the PD and the MR (keys, length and
 *    addr must be the registrar's), maps memory of its own at the very
 *    address the registrar registered, filled with pattern B, and builds
 *    its QPs on the imported context and PD;
 *  - while the registrar lives: a WRITE the importer posts with the
 *    imported lkey sends pattern A (the registrar's memory, not the
 *    importer's B); the peer's WRITE and READ through the rkey reach the
 *    registrar's memory (it sees them), not the importer's;
 *  - the registrar exits with everything registered, while the peer
 *    streams WRITEs and READs into the MR; the file lives on in the
 *    importer.  An ODP MR's address space is gone: the peer's WRITE
 *    and READ end in error completions, the importer's post with the
 *    lkey too.  A pinned MR keeps its pages: the peer's WRITE lands in
 *    them and READ returns it, as on hardware.  In every case the
 *    importer's pattern B stays as it was and never comes back in a READ
 *    or a WRITE: no device access goes to the importer's memory;
 *  - the importer deregisters the imported MR: its posts with the lkey
 *    and the peer's with the rkey fail; it deallocates the imported PD
 *    and closes the device.
 * Handles that name nothing, or an object of another type, are refused;
 * a second import and its unimport leave the objects alone.
 * ibv_rereg_mr without a new translation, from a fork()ed child with
 * memory of its own at the MR's address, leaves the MR the registrar's
 * memory (ODP: it goes on mirroring the registrar's address space;
 * pinned: refused with EOPNOTSUPP).
 * rxe has no import verbs: rxe0 as the importing side is reported as a
 * skip (ibv_import_device() fails with EOPNOTSUPP), not as a pass.
 *
 * import_test [--count] [--only GLOBS] [KIND:PEER...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define BUF_LEN		(64 * 1024)
#define WC_MS		15000
#define MSG_MS		30000
#define PSN		0x1234
#define DEV		"rodp0"
#define STREAM_DEPTH	8		/* WRs in flight in the stream */
#define STREAM_CHUNK	(BUF_LEN / 4)

#define SEED_A		0xa11ce
#define SEED_B		0xb0b
#define SEED_P		0x9eef
#define SEED_Q		0x9eef2

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

enum kind { K_ODP, K_IMPLICIT, K_PINNED };
static const char *const kind_names[] = { "odp", "odp-implicit", "pinned" };

#define CASES_PER_RUN	11

/* What the registrar tells the importer (with its file) and the test. */
struct a_info {
	int err;
	uint32_t pd_handle, mr_handle, lkey, rkey;
	uint64_t addr, length, buf;
	char msg[160];
};

enum b_op {
	B_CONNECT = 1, B_WRITE, B_CHECK, B_DEREG, B_BAD, B_UNIMPORT, B_EXIT
};

struct b_cmd {
	int op;
	uint32_t qpn;
	int sgid_index;
	union ibv_gid gid;
	struct vt_path path;
	uint64_t raddr;
	uint32_t rkey, len;
};

struct b_rep {
	int rc;
	int status;		/* completion status, -1: none in time */
	uint32_t qpn, lkey, rkey;
	uint64_t addr, length;
	char msg[200];
};

/* ---------------------------------------------------------------------- */
/* Messages between the processes                                          */
/* ---------------------------------------------------------------------- */

/* Send @len bytes, and the file @fd with them when it is not -1. */
static int send_msg(int sock, const void *buf, size_t len, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/*
 * Receive one message of @len bytes within @ms (-1: no limit), and the
 * file sent with it into *@fd (-1: none) when @fd is not NULL.
 */
static int recv_wait(int sock, void *buf, size_t len, int *fd, int ms)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct pollfd pf = { .fd = sock, .events = POLLIN };
	struct cmsghdr *cm;

	if (fd)
		*fd = -1;
	if (poll(&pf, 1, ms) != 1)
		return -1;
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)len)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS && fd)
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return 0;
}

static int recv_msg(int sock, void *buf, size_t len, int *fd)
{
	return recv_wait(sock, buf, len, fd, MSG_MS);
}

static bool same_as(const void *p, size_t len, uint32_t seed)
{
	uint8_t *want = malloc(len);
	bool same;

	if (!want)
		return false;
	vt_fill(want, len, seed);
	same = !memcmp(p, want, len);
	free(want);
	return same;
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* ---------------------------------------------------------------------- */
/* The registrar                                                           */
/* ---------------------------------------------------------------------- */

static struct ibv_context *open_by_name(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;
	int i;

	for (i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	return ctx;
}

/*
 * Register, pass the file to the importer (@ab) and the coordinates to
 * the test (@pa), then answer the test: 'c' (does my memory hold the
 * pattern of this seed?) or 'x' (exit, everything still registered).
 */
static void registrar(int ab, int pa, const char *dev, enum kind k)
{
	struct a_info ai = { 0 };
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	uint8_t *buf;
	int access = VT_ACCESS_ALL;
	struct { char op; uint32_t seed; } cmd;
	int same;

	alarm(300);
	ctx = open_by_name(dev);
	pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	buf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!pd || buf == MAP_FAILED) {
		ai.err = errno ?: EIO;
		snprintf(ai.msg, sizeof(ai.msg), "open %s / alloc PD / mmap: %s",
			 dev, strerror(ai.err));
		goto fail;
	}
	vt_fill(buf, BUF_LEN, SEED_A);
	if (k == K_IMPLICIT)
		mr = ibv_reg_mr(pd, NULL, SIZE_MAX,
				access | IBV_ACCESS_ON_DEMAND);
	else
		mr = ibv_reg_mr(pd, buf, BUF_LEN, access |
				(k == K_ODP ? IBV_ACCESS_ON_DEMAND : 0));
	if (!mr) {
		ai.err = errno ?: EIO;
		snprintf(ai.msg, sizeof(ai.msg), "ibv_reg_mr (%s): %s",
			 kind_names[k], strerror(ai.err));
		goto fail;
	}
	ai.pd_handle = pd->handle;
	ai.mr_handle = mr->handle;
	ai.lkey = mr->lkey;
	ai.rkey = mr->rkey;
	ai.addr = (uintptr_t)mr->addr;
	ai.length = mr->length;
	ai.buf = (uintptr_t)buf;
	if (send_msg(ab, &ai, sizeof(ai), ctx->cmd_fd) ||
	    send_msg(pa, &ai, sizeof(ai), -1))
		_exit(2);
	close(ab);

	/* Until the test says 'x' or is gone. */
	while (!recv_wait(pa, &cmd, sizeof(cmd), NULL, -1)) {
		if (cmd.op == 'x')
			_exit(0);	/* the MR, PD and context stay */
		same = same_as(buf, BUF_LEN, cmd.seed);
		if (send_msg(pa, &same, sizeof(same), -1))
			_exit(2);
	}
	_exit(3);

fail:
	send_msg(ab, &ai, sizeof(ai), -1);
	send_msg(pa, &ai, sizeof(ai), -1);
	_exit(1);
}

/* ---------------------------------------------------------------------- */
/* The importer                                                            */
/* ---------------------------------------------------------------------- */

static int rep_err(struct b_rep *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int rep_err(struct b_rep *r, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	r->rc = rc ?: EIO;
	return r->rc;
}

/* Handles that name nothing, or another type of object, are refused. */
static int bad_handles(struct ibv_context *ctx, struct ibv_pd *pd,
		       const struct a_info *ai, struct b_rep *r)
{
	struct ibv_pd *xpd;
	struct ibv_mr *xmr;

	errno = 0;
	xpd = ibv_import_pd(ctx, ai->pd_handle + 1000);
	if (xpd)
		return rep_err(r, EIO, "ibv_import_pd(unknown handle) worked");
	xpd = ibv_import_pd(ctx, ai->mr_handle);
	if (xpd)
		return rep_err(r, EIO, "ibv_import_pd(an MR's handle) worked");
	xmr = ibv_import_mr(pd, ai->mr_handle + 1000);
	if (xmr)
		return rep_err(r, EIO, "ibv_import_mr(unknown handle) worked");
	xmr = ibv_import_mr(pd, ai->pd_handle);
	if (xmr)
		return rep_err(r, EIO, "ibv_import_mr(a PD's handle) worked");
	return 0;
}

/*
 * Import the PD and the MR a second time: new wrappers around the same
 * objects; unimporting them leaves the objects (and the first wrappers)
 * as they were, which the steps after this one use.
 */
static int unimport_twice(struct ibv_context *ctx, const struct ibv_mr *mr,
			  const struct a_info *ai, struct b_rep *r)
{
	struct ibv_pd *pd2;
	struct ibv_mr *mr2;

	pd2 = ibv_import_pd(ctx, ai->pd_handle);
	if (!pd2)
		return rep_err(r, errno, "second ibv_import_pd: %s",
			       strerror(errno));
	mr2 = ibv_import_mr(pd2, ai->mr_handle);
	if (!mr2) {
		ibv_unimport_pd(pd2);
		return rep_err(r, errno, "second ibv_import_mr: %s",
			       strerror(errno));
	}
	if (mr2 == mr || mr2->lkey != mr->lkey || mr2->rkey != mr->rkey ||
	    mr2->addr != mr->addr || mr2->length != mr->length ||
	    mr2->pd != pd2)
		rep_err(r, EIO, "a second import of the MR differs");
	ibv_unimport_mr(mr2);
	ibv_unimport_pd(pd2);
	return r->rc;
}

/* Post one signalled RDMA WRITE from the imported MR and wait for it. */
static void b_write(struct ibv_qp *qp, struct ibv_cq *cq, uint32_t lkey,
		    uint64_t addr, const struct b_cmd *c, struct b_rep *r)
{
	struct ibv_sge g = { .addr = addr, .length = c->len, .lkey = lkey };
	struct ibv_send_wr wr, *bad;
	struct ibv_wc wc;
	int n;

	r->status = -1;
	if (!qp) {
		rep_err(r, EINVAL, "no QP");
		return;
	}
	vt_send_wr(&wr, 7, &g, 1, IBV_WR_RDMA_WRITE, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = c->raddr;
	wr.wr.rdma.rkey = c->rkey;
	r->rc = ibv_post_send(qp, &wr, &bad);
	if (r->rc)
		return;
	n = vt_poll_wc(cq, &wc, WC_MS);
	if (n == 1)
		r->status = wc.status;
}

/* Tear everything down: the imported PD and the context too. */
static void b_exit(struct ibv_context *ctx, struct ibv_pd *pd,
		   struct ibv_mr *mr, struct ibv_cq *cq, struct ibv_qp *qp,
		   struct b_rep *r)
{
	int rc;

	if (qp && ibv_destroy_qp(qp)) {
		rep_err(r, errno, "destroy QP");
		return;
	}
	if (ibv_destroy_cq(cq)) {
		rep_err(r, errno, "destroy CQ");
		return;
	}
	if (mr && ibv_dereg_mr(mr)) {
		rep_err(r, errno, "dereg MR");
		return;
	}
	rc = ibv_dealloc_pd(pd);
	if (rc) {
		rep_err(r, rc, "ibv_dealloc_pd(imported): %s", strerror(rc));
		return;
	}
	rc = ibv_close_device(ctx);
	if (rc)
		rep_err(r, rc, "ibv_close_device");
}

static void importer(int ab, int pb)
{
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd = NULL;
	struct ibv_mr *mr = NULL;
	struct ibv_cq *cq = NULL;
	struct ibv_qp *qp = NULL;
	struct ibv_qp_cap cap = {
		.max_send_wr = 4, .max_recv_wr = 4,
		.max_send_sge = 1, .max_recv_sge = 1,
	};
	struct a_info ai;
	struct b_cmd c;
	struct b_rep r = { 0 };
	uint32_t lkey = 0;
	void *mine = NULL;
	int fd;

	alarm(300);
	if (recv_msg(ab, &ai, sizeof(ai), &fd)) {
		rep_err(&r, EIO, "nothing from the registrar");
		goto reply;
	}
	close(ab);
	if (ai.err) {
		rep_err(&r, ai.err, "registrar: %s", ai.msg);
		goto reply;
	}
	if (fd < 0) {
		rep_err(&r, EIO, "no file came with the registrar's message");
		goto reply;
	}
	ctx = ibv_import_device(fd);
	if (!ctx) {
		rep_err(&r, errno, "ibv_import_device: %s", strerror(errno));
		goto reply;
	}
	pd = ibv_import_pd(ctx, ai.pd_handle);
	if (!pd) {
		rep_err(&r, errno, "ibv_import_pd: %s", strerror(errno));
		goto reply;
	}
	mr = ibv_import_mr(pd, ai.mr_handle);
	if (!mr) {
		rep_err(&r, errno, "ibv_import_mr: %s", strerror(errno));
		goto reply;
	}
	lkey = mr->lkey;
	r.lkey = mr->lkey;
	r.rkey = mr->rkey;
	r.addr = (uintptr_t)mr->addr;
	r.length = mr->length;
	if (mr->pd != pd || mr->context != ctx || pd->context != ctx ||
	    pd->handle != ai.pd_handle || mr->handle != ai.mr_handle) {
		rep_err(&r, EIO, "imported objects do not point where they should");
		goto reply;
	}

	/* Memory of our own where the registrar's was: pattern B. */
	mine = mmap((void *)(uintptr_t)ai.buf, BUF_LEN,
		    PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (mine != (void *)(uintptr_t)ai.buf) {
		rep_err(&r, errno, "mmap at %#" PRIx64 ": %s", ai.buf,
			mine == MAP_FAILED ? strerror(errno) : "moved");
		goto reply;
	}
	vt_fill(mine, BUF_LEN, SEED_B);
	cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	if (!cq) {
		rep_err(&r, errno, "ibv_create_cq on the imported context: %s",
			strerror(errno));
		goto reply;
	}

reply:
	if (send_msg(pb, &r, sizeof(r), -1) || r.rc)
		_exit(1);

	while (!recv_wait(pb, &c, sizeof(c), NULL, -1)) {
		memset(&r, 0, sizeof(r));
		switch (c.op) {
		case B_CONNECT:
			if (qp && ibv_destroy_qp(qp)) {
				rep_err(&r, errno, "destroy QP: %s",
					strerror(errno));
				break;
			}
			qp = vt_qp_create(pd, cq, cq, &cap, true);
			if (!qp) {
				rep_err(&r, errno,
					"create QP on the imported PD: %s",
					strerror(errno));
				break;
			}
			r.qpn = qp->qp_num;
			r.rc = vt_qp_to_init(qp, c.path.access);
			if (!r.rc)
				r.rc = vt_qp_to_rtr(qp, &c.path, c.sgid_index,
						    c.qpn, PSN, &c.gid);
			if (!r.rc)
				r.rc = vt_qp_to_rts(qp, &c.path, PSN);
			if (r.rc)
				rep_err(&r, r.rc, "%s", vt_errmsg());
			break;
		case B_WRITE:
			b_write(qp, cq, lkey, ai.buf, &c, &r);
			break;
		case B_CHECK:
			r.rc = same_as(mine, BUF_LEN, SEED_B) ? 0 : EIO;
			break;
		case B_DEREG:
			r.rc = ibv_dereg_mr(mr);
			if (!r.rc)
				mr = NULL;
			break;
		case B_BAD:
			bad_handles(ctx, pd, &ai, &r);
			break;
		case B_UNIMPORT:
			unimport_twice(ctx, mr, &ai, &r);
			break;
		case B_EXIT:
			b_exit(ctx, pd, mr, cq, qp, &r);
			send_msg(pb, &r, sizeof(r), -1);
			_exit(r.rc ? 1 : 0);
		default:
			rep_err(&r, EINVAL, "unknown command %d", c.op);
		}
		if (send_msg(pb, &r, sizeof(r), -1))
			_exit(2);
	}
	_exit(3);
}

/* ---------------------------------------------------------------------- */
/* The test: the peer's side                                               */
/* ---------------------------------------------------------------------- */

struct run {
	enum kind k;
	struct vt_dev *dev, *peer;
	const char *name;
	pid_t a, b;
	int pa, pb;
	struct a_info ai;
	bool broken;		/* a step the next ones need failed */
	struct vt_path path;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *lmr;
	uint8_t *lbuf;
};

static int b_call(struct run *t, struct b_cmd *c, struct b_rep *r)
{
	memset(r, 0, sizeof(*r));
	if (send_msg(t->pb, c, sizeof(*c), -1) ||
	    recv_msg(t->pb, r, sizeof(*r), NULL)) {
		vt_bad("no answer from the importer (op %d)", c->op);
		t->broken = true;
		return -1;
	}
	return 0;
}

/* A new connection between a QP of ours and a new one of the importer. */
static bool connect_b(struct run *t)
{
	struct b_cmd c = { .op = B_CONNECT };
	struct b_rep r;
	struct ibv_qp_cap cap = {
		.max_send_wr = STREAM_DEPTH, .max_recv_wr = 4,
		.max_send_sge = 1, .max_recv_sge = 1,
	};
	struct ibv_wc wc;

	if (t->qp)
		ibv_destroy_qp(t->qp);
	while (ibv_poll_cq(t->cq, 1, &wc) > 0)
		;
	t->qp = vt_qp_create(t->pd, t->cq, t->cq, &cap, true);
	if (!t->qp) {
		vt_bad("create QP on %s: %s", t->peer->name, strerror(errno));
		return false;
	}
	c.qpn = t->qp->qp_num;
	c.gid = t->peer->gid;
	c.sgid_index = t->dev->gid_index;
	c.path = t->path;
	if (b_call(t, &c, &r))
		return false;
	if (r.rc) {
		vt_bad("importer's QP: %s", r.msg);
		return false;
	}
	if (vt_qp_connect(t->qp, &t->path, t->peer, r.qpn, PSN, PSN,
			  &t->dev->gid)) {
		vt_bad("connect: %s", vt_errmsg());
		return false;
	}
	return true;
}

/* One signalled WRITE or READ of ours into the imported MR: its status. */
static int peer_op(struct run *t, enum ibv_wr_opcode op)
{
	struct ibv_sge g = {
		.addr = (uintptr_t)t->lbuf, .length = BUF_LEN,
		.lkey = t->lmr->lkey,
	};
	struct ibv_send_wr wr, *bad;
	struct ibv_wc wc;
	int rc;

	vt_send_wr(&wr, 1, &g, 1, op, IBV_SEND_SIGNALED);
	wr.wr.rdma.remote_addr = t->ai.buf;
	wr.wr.rdma.rkey = t->ai.rkey;
	rc = ibv_post_send(t->qp, &wr, &bad);
	if (rc) {
		vt_bad("ibv_post_send on %s: %s", t->peer->name, strerror(rc));
		return -2;
	}
	if (vt_poll_wc(t->cq, &wc, WC_MS) != 1) {
		vt_bad("no completion of the %s within %d ms (a hang)",
		       op == IBV_WR_RDMA_READ ? "READ" : "WRITE", WC_MS);
		t->broken = true;
		return -1;
	}
	return wc.status;
}

/* The importer posts a WRITE from the imported MR into our buffer. */
static int b_post(struct run *t, struct b_rep *r)
{
	struct b_cmd c = {
		.op = B_WRITE, .raddr = (uintptr_t)t->lbuf,
		.rkey = t->lmr->rkey, .len = BUF_LEN,
	};

	if (b_call(t, &c, r))
		return -2;
	if (r->rc == 0 && r->status == -1) {
		vt_bad("the importer's WRITE did not complete within %d ms",
		       WC_MS);
		t->broken = true;
	}
	return r->rc ? -3 : r->status;
}

static bool b_pattern_intact(struct run *t)
{
	struct b_cmd c = { .op = B_CHECK };
	struct b_rep r;

	if (b_call(t, &c, &r))
		return false;
	if (r.rc) {
		vt_bad("the importer's own memory at %#" PRIx64
		       " changed: a device access reached its mm", t->ai.buf);
		return false;
	}
	return true;
}

static const char *st(int s)
{
	static char buf[4][48];
	static int i;

	if (s >= 0)
		return ibv_wc_status_str((enum ibv_wc_status)s);
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), s == -3 ? "post refused" :
		 "no completion (%d)", s);
	return buf[i];
}

static void case_end(struct run *t, const char *what)
{
	char name[256];

	snprintf(name, sizeof(name), "%s: %s", t->name, what);
	vt_case_end(name);
}

static bool skip_broken(struct run *t)
{
	if (t->broken)
		vt_bad("not run: an earlier step of this run failed");
	return t->broken;
}

static bool odp(const struct run *t)
{
	return t->k != K_PINNED;
}

static void step_import(struct run *t)
{
	struct b_rep r;

	vt_case_begin();
	if (recv_msg(t->pa, &t->ai, sizeof(t->ai), NULL) || t->ai.err) {
		vt_bad("registrar: %s", t->ai.err ? t->ai.msg : "no message");
		t->broken = true;
	} else if (recv_msg(t->pb, &r, sizeof(r), NULL)) {
		vt_bad("no word from the importer");
		t->broken = true;
	} else if (r.rc) {
		vt_bad("importer: %s", r.msg);
		t->broken = true;
	} else {
		vt_diag("%s: MR handle %u lkey %#x rkey %#x addr %#" PRIx64
			" length %#" PRIx64, t->name, t->ai.mr_handle,
			r.lkey, r.rkey, r.addr, r.length);
		if (r.lkey != t->ai.lkey || r.rkey != t->ai.rkey ||
		    r.addr != t->ai.addr || r.length != t->ai.length) {
			vt_bad("imported MR differs: lkey %#x/%#x rkey %#x/%#x addr %#"
			       PRIx64 "/%#" PRIx64 " length %#" PRIx64 "/%#"
			       PRIx64, r.lkey, t->ai.lkey, r.rkey, t->ai.rkey,
			       r.addr, t->ai.addr, r.length, t->ai.length);
		}
	}
	case_end(t, "import device, PD and MR from another process's file (lkey, rkey, addr, length match)");
}

static void step_bad_handles(struct run *t)
{
	struct b_cmd c = { .op = B_BAD };
	struct b_rep r;

	vt_case_begin();
	if (!skip_broken(t) && !b_call(t, &c, &r) && r.rc)
		vt_bad("%s", r.msg);
	case_end(t, "ibv_import_pd/ibv_import_mr refuse unknown handles and handles of another type");
}

static void step_unimport(struct run *t)
{
	struct b_cmd c = { .op = B_UNIMPORT };
	struct b_rep r;

	vt_case_begin();
	if (!skip_broken(t) && !b_call(t, &c, &r) && r.rc)
		vt_bad("%s", r.msg);
	case_end(t, "a second import of the PD and MR, then ibv_unimport_mr/ibv_unimport_pd: the objects stay (the next steps use them)");
}

static void step_live(struct run *t)
{
	struct b_rep r;
	int s;

	vt_case_begin();
	if (skip_broken(t) || !connect_b(t)) {
		t->broken = true;
		goto out;
	}
	memset(t->lbuf, 0xee, BUF_LEN);
	s = b_post(t, &r);
	if (s != IBV_WC_SUCCESS)
		vt_bad("the importer's WRITE with the imported lkey: %s",
		       r.rc ? strerror(r.rc) : st(s));
	else if (!same_as(t->lbuf, BUF_LEN, SEED_A))
		vt_bad("the WRITE did not carry the registrar's memory%s",
		       same_as(t->lbuf, BUF_LEN, SEED_B) ?
		       " but the importer's" : "");
out:
	case_end(t, "registrar alive: a WRITE posted by the importer with the imported lkey sends the registrar's memory");
}

/* Ask the registrar whether its memory holds @seed's pattern. */
static int a_holds(struct run *t, uint32_t seed)
{
	struct { char op; uint32_t seed; } cmd = { 'c', seed };
	int same = -1;

	if (send_msg(t->pa, &cmd, sizeof(cmd), -1) ||
	    recv_msg(t->pa, &same, sizeof(same), NULL))
		return -1;
	return same;
}

static void step_live_peer(struct run *t)
{
	int s;

	vt_case_begin();
	if (skip_broken(t))
		goto out;
	vt_fill(t->lbuf, BUF_LEN, SEED_P);
	s = peer_op(t, IBV_WR_RDMA_WRITE);
	if (s != IBV_WC_SUCCESS) {
		vt_bad("%s's WRITE: %s", t->peer->name, st(s));
		goto out;
	}
	memset(t->lbuf, 0, BUF_LEN);
	s = peer_op(t, IBV_WR_RDMA_READ);
	if (s != IBV_WC_SUCCESS)
		vt_bad("%s's READ: %s", t->peer->name, st(s));
	else if (!same_as(t->lbuf, BUF_LEN, SEED_P))
		vt_bad("READ did not return what the WRITE wrote");
	if (a_holds(t, SEED_P) != 1)
		vt_bad("the registrar's memory does not hold the WRITE's data");
	b_pattern_intact(t);
out:
	case_end(t, "registrar alive: the peer's WRITE and READ through the rkey reach the registrar's memory, not the importer's");
}

/* Tell the registrar to exit with everything registered. */
static void registrar_tell_exit(struct run *t)
{
	struct { char op; uint32_t seed; } cmd = { 'x', 0 };

	if (t->a > 0)
		send_msg(t->pa, &cmd, sizeof(cmd), -1);
}

/* Has the registrar exited (reaped, its status checked)? */
static bool registrar_gone(struct run *t, int wait_ms)
{
	int64_t end = vt_now_ms() + wait_ms;
	int status;
	pid_t p;

	if (t->a <= 0)
		return true;
	while ((p = waitpid(t->a, &status, WNOHANG)) == 0 &&
	       vt_now_ms() < end)
		usleep(10000);
	if (p == 0 && wait_ms < 20000)
		return false;
	if (p != t->a) {
		vt_diag("%s: the registrar did not exit in 20 s", t->name);
		kill(t->a, SIGKILL);
		waitpid(t->a, &status, 0);
		t->broken = true;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		vt_diag("%s: the registrar ended with status %#x", t->name,
			status);
		t->broken = true;
	}
	t->a = 0;
	return true;
}

static bool stream_status_ok(int s)
{
	return s == IBV_WC_SUCCESS || s == IBV_WC_REM_OP_ERR ||
	       s == IBV_WC_REM_ACCESS_ERR || s == IBV_WC_RETRY_EXC_ERR ||
	       s == IBV_WC_WR_FLUSH_ERR;
}

/*
 * The registrar exits while the peer streams WRITEs and READs (chunks of
 * the MR, STREAM_DEPTH in flight) into its MR, which the importer's QP
 * serves: the file, the QP and the MR live on, the address space does
 * not.  Every WR completes (no hang); an ODP MR turns them into errors
 * soon after the exit, a pinned one goes on serving its pages.  No READ
 * returns the importer's memory, no WRITE reaches it.
 */
static void step_exit_stream(struct run *t)
{
	struct ibv_send_wr wr, *bad;
	struct ibv_sge g;
	struct ibv_wc wc;
	uint64_t posted = 0, done = 0, good = 0, bads = 0, inflight = 0;
	int64_t gone_at = 0, end = vt_now_ms() + 90000;
	int first_bad = -1, rc, i;
	bool told = false, gone = false, stop = false;
	uint8_t *pat_b;

	vt_case_begin();
	if (skip_broken(t) || !connect_b(t)) {
		registrar_tell_exit(t);
		registrar_gone(t, 20000);
		t->broken = true;
		goto out;
	}
	vt_fill(t->lbuf, BUF_LEN, SEED_P);
	for (;;) {
		while (!stop && inflight < STREAM_DEPTH) {
			unsigned int off = (posted % 4) * STREAM_CHUNK;

			g.addr = (uintptr_t)t->lbuf + off;
			g.length = STREAM_CHUNK;
			g.lkey = t->lmr->lkey;
			vt_send_wr(&wr, posted, &g, 1, posted % 2 ?
				   IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE,
				   IBV_SEND_SIGNALED);
			wr.wr.rdma.remote_addr = t->ai.buf + off;
			wr.wr.rdma.rkey = t->ai.rkey;
			rc = ibv_post_send(t->qp, &wr, &bad);
			if (rc) {
				/* The QP went to error: no more posts. */
				stop = true;
				break;
			}
			posted++;
			inflight++;
		}
		rc = ibv_poll_cq(t->cq, 1, &wc);
		if (rc == 1) {
			inflight--;
			done++;
			if (wc.status == IBV_WC_SUCCESS) {
				good++;
			} else {
				if (!bads++)
					first_bad = wc.status;
				if (!stream_status_ok(wc.status))
					vt_bad("WR %" PRIu64 ": %s", (uint64_t)wc.wr_id,
					       ibv_wc_status_str(wc.status));
				stop = true;
			}
		}
		if (!told && done >= 2 * STREAM_DEPTH) {
			registrar_tell_exit(t);
			told = true;
		}
		if (told && !gone && registrar_gone(t, 0)) {
			gone = true;
			gone_at = vt_now_ms();
		}
		/* After the exit, a while more: the pinned MR goes on. */
		if (gone && vt_now_ms() - gone_at > 2000)
			stop = true;
		if (stop && !inflight)
			break;
		if (vt_now_ms() > end) {
			vt_bad("%" PRIu64 " WRs still in flight after 90 s (a hang)",
			       inflight);
			t->broken = true;
			break;
		}
	}
	if (!gone)
		registrar_gone(t, 20000);
	vt_diag("%s: stream: %" PRIu64 " posted, %" PRIu64 " succeeded, %"
		PRIu64 " failed (first: %s)", t->name, posted, good, bads,
		first_bad < 0 ? "none" : st(first_bad));
	if (odp(t) && !bads)
		vt_bad("nothing failed after the ODP MR's address space went away");
	if (!odp(t) && bads)
		vt_bad("the pinned MR stopped serving its pages: %s",
		       st(first_bad));
	pat_b = malloc(BUF_LEN);
	if (pat_b) {
		vt_fill(pat_b, BUF_LEN, SEED_B);
		for (i = 0; i < 4; i++)
			if (!memcmp(t->lbuf + i * STREAM_CHUNK,
				    pat_b + i * STREAM_CHUNK, STREAM_CHUNK))
				vt_bad("a READ returned the importer's memory (chunk %d)",
				       i);
		free(pat_b);
	}
	b_pattern_intact(t);
out:
	case_end(t, odp(t) ?
		 "the registrar exits during a stream of WRITEs and READs: every WR completes, errors after the exit"
		 : "the registrar exits during a stream of WRITEs and READs: every WR completes, the pinned pages go on serving");
}

static void step_dead_write(struct run *t)
{
	int s;

	vt_case_begin();
	if (skip_broken(t) || !connect_b(t))
		goto out;
	vt_fill(t->lbuf, BUF_LEN, SEED_Q);
	s = peer_op(t, IBV_WR_RDMA_WRITE);
	vt_diag("%s: the peer's WRITE after the registrar's exit: %s",
		t->name, st(s));
	if (odp(t) && (s == IBV_WC_SUCCESS || s < 0))
		vt_bad("WRITE into an ODP MR whose mm is gone: %s, want an error completion",
		       st(s));
	if (!odp(t) && s != IBV_WC_SUCCESS)
		vt_bad("WRITE into the pinned MR's pages: %s", st(s));
	b_pattern_intact(t);
out:
	case_end(t, odp(t) ?
		 "registrar exited: the peer's WRITE ends in an error completion; the importer's memory untouched"
		 : "registrar exited: the peer's WRITE lands in the MR's pinned pages; the importer's memory untouched");
}

static void step_dead_read(struct run *t)
{
	int s;

	vt_case_begin();
	if (skip_broken(t) || !connect_b(t))
		goto out;
	memset(t->lbuf, 0xee, BUF_LEN);
	s = peer_op(t, IBV_WR_RDMA_READ);
	vt_diag("%s: the peer's READ after the registrar's exit: %s",
		t->name, st(s));
	if (same_as(t->lbuf, BUF_LEN, SEED_B))
		vt_bad("the READ returned the importer's memory");
	if (odp(t)) {
		if (s == IBV_WC_SUCCESS || s < 0)
			vt_bad("READ of an ODP MR whose mm is gone: %s, want an error completion",
			       st(s));
		else if (!all_bytes(t->lbuf, BUF_LEN, 0xee))
			vt_bad("a failed READ wrote into the peer's buffer");
	} else if (s != IBV_WC_SUCCESS) {
		vt_bad("READ of the pinned MR's pages: %s", st(s));
	} else if (!same_as(t->lbuf, BUF_LEN, SEED_Q)) {
		vt_bad("READ did not return what the last WRITE wrote");
	}
	b_pattern_intact(t);
out:
	case_end(t, odp(t) ?
		 "registrar exited: the peer's READ ends in an error completion, never the importer's memory"
		 : "registrar exited: the peer's READ returns the MR's pinned pages, never the importer's memory");
}

static void step_dead_post(struct run *t)
{
	struct b_rep r;
	int s;

	vt_case_begin();
	if (skip_broken(t) || !connect_b(t))
		goto out;
	memset(t->lbuf, 0xee, BUF_LEN);
	s = b_post(t, &r);
	vt_diag("%s: the importer's WRITE with the lkey after the registrar's exit: %s",
		t->name, r.rc ? strerror(r.rc) : st(s));
	if (same_as(t->lbuf, BUF_LEN, SEED_B))
		vt_bad("the importer's WRITE sent the importer's own memory");
	if (odp(t)) {
		if (s == IBV_WC_SUCCESS || s == -1)
			vt_bad("posting from an ODP MR whose mm is gone: %s, want a failure",
			       st(s));
		else if (!all_bytes(t->lbuf, BUF_LEN, 0xee))
			vt_bad("a failed WRITE wrote into the peer's buffer");
	} else if (s != IBV_WC_SUCCESS) {
		vt_bad("WRITE from the pinned MR's pages: %s", st(s));
	} else if (!same_as(t->lbuf, BUF_LEN, SEED_Q)) {
		vt_bad("WRITE did not send the MR's pages");
	}
out:
	case_end(t, odp(t) ?
		 "registrar exited: the importer's post with the imported lkey fails"
		 : "registrar exited: the importer's post with the imported lkey sends the MR's pinned pages");
}

static void step_dereg(struct run *t)
{
	struct b_cmd c = { .op = B_DEREG };
	struct b_rep r;
	int s;

	vt_case_begin();
	if (skip_broken(t) || b_call(t, &c, &r))
		goto out;
	if (r.rc) {
		vt_bad("ibv_dereg_mr(imported MR): %s", strerror(r.rc));
		t->broken = true;
		goto out;
	}
	if (!connect_b(t))
		goto out;
	memset(t->lbuf, 0xee, BUF_LEN);
	s = b_post(t, &r);
	vt_diag("%s: the importer's post with the deregistered lkey: %s",
		t->name, r.rc ? strerror(r.rc) : st(s));
	if (s == IBV_WC_SUCCESS || s == -1)
		vt_bad("a post with a deregistered lkey: %s, want a failure",
		       st(s));
	if (!all_bytes(t->lbuf, BUF_LEN, 0xee))
		vt_bad("a post with a deregistered lkey wrote into the peer's buffer");
	if (!connect_b(t))
		goto out;
	s = peer_op(t, IBV_WR_RDMA_WRITE);
	vt_diag("%s: the peer's WRITE with the deregistered rkey: %s",
		t->name, st(s));
	if (s == IBV_WC_SUCCESS || s < 0)
		vt_bad("WRITE with a deregistered rkey: %s, want an error completion",
		       st(s));
	b_pattern_intact(t);
out:
	case_end(t, "the importer deregisters the imported MR; posts with its lkey and the peer's with its rkey fail");
}

static void step_exit(struct run *t)
{
	struct b_cmd c = { .op = B_EXIT };
	struct b_rep r;
	int status = 0;

	vt_case_begin();
	if (t->qp) {
		ibv_destroy_qp(t->qp);
		t->qp = NULL;
	}
	if (!b_call(t, &c, &r) && r.rc)
		vt_bad("importer: %s: %s", r.msg, strerror(r.rc));
	if (waitpid(t->b, &status, 0) != t->b || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		vt_bad("the importer ended with status %#x", status);
	t->b = 0;
	case_end(t, "the importer deallocates the imported PD, closes the device and exits");
}

static void run_one(enum kind k, struct vt_dev *dev, struct vt_dev *peer)
{
	struct run t = { .k = k, .dev = dev, .peer = peer };
	char name[160];
	int ab[2], pa[2], pb[2];

	snprintf(name, sizeof(name), "%s %s<-%s", kind_names[k], dev->name,
		 peer->name);
	t.name = name;
	vt_path_init(&t.path, dev, peer);
	/*
	 * rxe (6.1) never gives up retrying at a retry count of 7: a read
	 * stream the registrar's exit cut short must end in RETRY_EXC_ERR.
	 */
	t.path.retry_cnt = 6;
	t.pd = ibv_alloc_pd(peer->ctx);
	t.cq = t.pd ? ibv_create_cq(peer->ctx, 16, NULL, NULL, 0) : NULL;
	t.lbuf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!t.cq || t.lbuf == MAP_FAILED)
		vt_die("%s: PD, CQ or buffer on %s", name, peer->name);
	t.lmr = ibv_reg_mr(t.pd, t.lbuf, BUF_LEN, VT_ACCESS_ALL);
	if (!t.lmr)
		vt_die("%s: MR on %s: %s", name, peer->name, strerror(errno));

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ab) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pa) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pb))
		vt_die("socketpair: %s", strerror(errno));
	fflush(stdout);
	t.a = fork();
	if (t.a == 0) {
		close(ab[1]);
		close(pa[0]);
		close(pb[0]);
		close(pb[1]);
		registrar(ab[0], pa[1], dev->name, k);
	}
	t.b = fork();
	if (t.b == 0) {
		close(ab[0]);
		close(pa[0]);
		close(pa[1]);
		close(pb[0]);
		importer(ab[1], pb[1]);
	}
	if (t.a < 0 || t.b < 0)
		vt_die("fork: %s", strerror(errno));
	close(ab[0]);
	close(ab[1]);
	close(pa[1]);
	close(pb[1]);
	t.pa = pa[0];
	t.pb = pb[0];

	step_import(&t);
	step_bad_handles(&t);
	step_unimport(&t);
	step_live(&t);
	step_live_peer(&t);
	step_exit_stream(&t);
	step_dead_write(&t);
	step_dead_read(&t);
	step_dead_post(&t);
	step_dereg(&t);
	step_exit(&t);

	if (t.a > 0) {
		kill(t.a, SIGKILL);
		waitpid(t.a, NULL, 0);
	}
	if (t.b > 0) {
		kill(t.b, SIGKILL);
		waitpid(t.b, NULL, 0);
	}
	close(t.pa);
	close(t.pb);
	if (t.qp)
		ibv_destroy_qp(t.qp);
	ibv_dereg_mr(t.lmr);
	ibv_destroy_cq(t.cq);
	ibv_dealloc_pd(t.pd);
	munmap(t.lbuf, BUF_LEN);
}

/*
 * rxe as the importing side: its provider has no import verbs, so
 * ibv_import_device() on an rxe file fails (EOPNOTSUPP): a skip.
 */
static void rxe_importer(const char *name)
{
	struct ibv_context *ctx = open_by_name(name), *imp;
	char what[64], why[160];
	int fd, err;

	snprintf(what, sizeof(what), "%s as the importing side", name);
	if (!ctx) {
		vt_case_skip(what, "it cannot be opened");
		return;
	}
	fd = dup(ctx->cmd_fd);
	errno = 0;
	imp = ibv_import_device(fd);
	err = errno;
	if (imp) {
		vt_case_begin();
		vt_diag("ibv_import_device on %s worked: rxe has import verbs here",
			name);
		ibv_close_device(imp);
		vt_case_end(what);
	} else {
		close(fd);
		snprintf(why, sizeof(why),
			 "rxe has no import verbs: ibv_import_device fails with %s",
			 strerror(err));
		vt_case_skip(what, why);
	}
	ibv_close_device(ctx);
}

/*
 * ibv_rereg_mr without a new translation from a process that shares the
 * file but not the address space: a fork()ed child, with memory of its
 * own (pattern B) where the registrar's MR is.  The MR must stay the
 * registrar's memory: an ODP MR goes on mirroring the registrar's address
 * space (the rereg works), a pinned one cannot be pinned from there (the
 * rereg is refused, the MR stays as it was).  The peer's READ, with the
 * child still alive, returns the registrar's data; the WRITE lands there.
 */
static void rereg_from_child(enum kind k, struct vt_dev *dev,
			     struct vt_dev *peer)
{
	struct run t = { .k = k, .dev = dev, .peer = peer };
	int access = VT_ACCESS_ALL | (k == K_ODP ? IBV_ACCESS_ON_DEMAND : 0);
	struct ibv_qp_cap cap = {
		.max_send_wr = 4, .max_recv_wr = 4,
		.max_send_sge = 1, .max_recv_sge = 1,
	};
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp = NULL;
	struct ibv_mr *mr;
	uint8_t *buf;
	int tochild[2], fromchild[2], rep[2] = { -1, -1 }, status, s;
	char name[160], c = 'x';
	pid_t pid;

	if (!dev || !vt_dev_ok(dev) || !peer || !vt_dev_ok(peer))
		vt_die("rereg: %s or its peer cannot be used", DEV);
	snprintf(name, sizeof(name), "%s %s<-%s", kind_names[k], dev->name,
		 peer->name);
	t.name = name;
	vt_case_begin();
	vt_path_init(&t.path, dev, peer);
	t.path.retry_cnt = 6;	/* as above */
	t.pd = ibv_alloc_pd(peer->ctx);
	t.cq = t.pd ? ibv_create_cq(peer->ctx, 16, NULL, NULL, 0) : NULL;
	t.lbuf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pd = ibv_alloc_pd(dev->ctx);
	cq = pd ? ibv_create_cq(dev->ctx, 16, NULL, NULL, 0) : NULL;
	buf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!t.cq || !cq || t.lbuf == MAP_FAILED || buf == MAP_FAILED)
		vt_die("%s: PDs, CQs or buffers", name);
	vt_fill(buf, BUF_LEN, SEED_A);
	t.lmr = ibv_reg_mr(t.pd, t.lbuf, BUF_LEN, VT_ACCESS_ALL);
	mr = ibv_reg_mr(pd, buf, BUF_LEN, access);
	if (!t.lmr || !mr)
		vt_die("%s: MRs: %s", name, strerror(errno));
	t.ai.buf = (uintptr_t)buf;
	t.ai.rkey = mr->rkey;

	/* Our QP on rodp0 and one on the peer, connected. */
	qp = vt_qp_create(pd, cq, cq, &cap, true);
	t.qp = vt_qp_create(t.pd, t.cq, t.cq, &cap, true);
	if (!qp || !t.qp ||
	    vt_qp_connect(qp, &t.path, dev, t.qp->qp_num, PSN, PSN,
			  &peer->gid) ||
	    vt_qp_connect(t.qp, &t.path, peer, qp->qp_num, PSN, PSN,
			  &dev->gid))
		vt_die("%s: QPs: %s", name, vt_errmsg());

	if (pipe(tochild) || pipe(fromchild))
		vt_die("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(120);
		close(tochild[1]);
		close(fromchild[0]);
		/* Memory of our own at the MR's address: pattern B. */
		if (mmap(buf, BUF_LEN, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != buf)
			_exit(2);
		vt_fill(buf, BUF_LEN, SEED_B);
		rep[0] = ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL,
				      NULL, 0, access);
		rep[1] = rep[0] ? errno : 0;
		if (write(fromchild[1], rep, sizeof(rep)) != sizeof(rep) ||
		    read(tochild[0], &c, 1) != 1)
			_exit(3);
		/* Untouched by the device all along. */
		_exit(same_as(buf, BUF_LEN, SEED_B) ? 0 : 4);
	}
	close(tochild[0]);
	close(fromchild[1]);
	if (pid < 0 || read(fromchild[0], rep, sizeof(rep)) != sizeof(rep)) {
		vt_bad("the child did not report its ibv_rereg_mr");
		goto out;
	}
	vt_diag("%s: ibv_rereg_mr(CHANGE_ACCESS) in a forked child: %d (%s)",
		name, rep[0], strerror(rep[1]));
	if (k == K_ODP && rep[0])
		vt_bad("rereg of the ODP MR from the child failed: %s",
		       strerror(rep[1]));
	if (k == K_PINNED && (!rep[0] || rep[1] != EOPNOTSUPP))
		vt_bad("rereg of the pinned MR from another mm: %d (%s), want EOPNOTSUPP",
		       rep[0], strerror(rep[1]));

	memset(t.lbuf, 0xee, BUF_LEN);
	s = peer_op(&t, IBV_WR_RDMA_READ);
	if (s != IBV_WC_SUCCESS)
		vt_bad("the peer's READ after the rereg: %s", st(s));
	else if (same_as(t.lbuf, BUF_LEN, SEED_B))
		vt_bad("the READ returned the child's memory: the MR left the registrar's address space");
	else if (!same_as(t.lbuf, BUF_LEN, SEED_A))
		vt_bad("the READ did not return the registrar's memory");
	vt_fill(t.lbuf, BUF_LEN, SEED_P);
	s = peer_op(&t, IBV_WR_RDMA_WRITE);
	if (s != IBV_WC_SUCCESS)
		vt_bad("the peer's WRITE after the rereg: %s", st(s));
	else if (!same_as(buf, BUF_LEN, SEED_P))
		vt_bad("the WRITE did not land in the registrar's memory");
out:
	if (write(tochild[1], &c, 1) != 1 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status))
		vt_bad("the child's own memory changed, or it failed (status %#x)",
		       status);
	close(tochild[1]);
	close(fromchild[0]);
	ibv_destroy_qp(qp);
	ibv_destroy_qp(t.qp);
	ibv_dereg_mr(mr);
	ibv_dereg_mr(t.lmr);
	ibv_destroy_cq(cq);
	ibv_destroy_cq(t.cq);
	ibv_dealloc_pd(pd);
	ibv_dealloc_pd(t.pd);
	munmap(buf, BUF_LEN);
	munmap(t.lbuf, BUF_LEN);
	case_end(&t, k == K_ODP ?
		 "ibv_rereg_mr(CHANGE_ACCESS) from a forked child keeps mirroring the registrar's memory"
		 : "ibv_rereg_mr(CHANGE_ACCESS) from a forked child is refused (EOPNOTSUPP); the MR stays the registrar's memory");
}

static const char *const default_runs[] = {
	"odp:rodp1", "odp-implicit:rodp1", "pinned:rodp1",
	"odp:rxe0", "odp-implicit:rxe0", "pinned:rxe0",
};

int main(int argc, char **argv)
{
	const char *const *runs = default_runs;
	unsigned int nruns = sizeof(default_runs) / sizeof(default_runs[0]);
	bool count = false;
	unsigned int i;
	int k;

	if (argc > 1 && !strcmp(argv[1], "--count")) {
		count = true;
		argc--;
		argv++;
	}
	if (argc > 1) {
		runs = (const char *const *)&argv[1];
		nruns = argc - 1;
	}
	if (count) {
		printf("%u\n", nruns * CASES_PER_RUN + 3);
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	printf("1..%u\n", nruns * CASES_PER_RUN + 3);

	for (i = 0; i < nruns; i++) {
		const char *colon = strchr(runs[i], ':');
		struct vt_dev *dev = vt_dev_get(DEV, false), *peer;

		if (!colon)
			vt_die("bad run %s: KIND:PEER", runs[i]);
		for (k = 0; k < 3; k++)
			if (strlen(kind_names[k]) == (size_t)(colon - runs[i]) &&
			    !strncmp(kind_names[k], runs[i], colon - runs[i]))
				break;
		if (k == 3)
			vt_die("bad kind in %s", runs[i]);
		peer = vt_dev_get(colon + 1, false);
		if (!dev || !vt_dev_ok(dev))
			vt_die("%s: %s", DEV, dev ? dev->error : "?");
		if (!peer || !vt_dev_ok(peer))
			vt_die("%s: %s", colon + 1, peer ? peer->error : "?");
		run_one((enum kind)k, dev, peer);
	}
	rereg_from_child(K_ODP, vt_dev_get(DEV, false),
			 vt_dev_get("rodp1", false));
	rereg_from_child(K_PINNED, vt_dev_get(DEV, false),
			 vt_dev_get("rodp1", false));
	rxe_importer("rxe0");
	vt_devs_close();
	return vt_tap_failed ? 1 : 0;
}
