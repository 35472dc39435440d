// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * odp_test: a peer process (odp_test --exit-child, exec'd) that exits or
 * is killed while WRITEs and READs run into or out of its ODP MR, and one
 * killed while the device is inside a fault on its pages (the pages of a
 * file whose reads wait: perftest/rodp-stallfs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "odp_test.h"

/* What the exiting child and the test tell each other. */
struct xinfo {
	uint32_t qpn, psn;
	union ibv_gid gid;
	uint64_t addr;
	uint32_t rkey, len;
	struct vt_path path;
};

#define X_LEN		(4 * MIB)	/* the child's ODP MR */
#define X_CHUNK		(64 * KIB)
#define X_DEPTH		16		/* WRs in flight */
#define X_BEFORE	24		/* completions before the exit */

static int xchild_fail(const char *what, int err)
{
	printf("# exit child: %s: %s\n", what, strerror(err));
	fflush(stdout);
	return 2;
}

/*
 * The child as the requester: WRITEs from and READs into its ODP memory
 * (@p) against the test's memory (@peer), X_DEPTH in flight, until it is
 * killed or told to exit ('x' on fd 3); 'g' on fd 4 after X_BEFORE
 * completions.  An error completion ends it with status 3.
 */
static int xchild_requester(struct ibv_qp *qp, struct ibv_cq *cq,
			    struct ibv_mr *mr, uint8_t *p,
			    const struct xinfo *peer)
{
	struct pollfd pf = { .fd = 3, .events = POLLIN };
	uint64_t posted = 0, done = 0;
	struct ibv_send_wr wr, *bad;
	struct ibv_sge g;
	struct ibv_wc wc;
	char c;
	int n;

	for (;;) {
		while (posted - done < X_DEPTH) {
			g.addr = (uintptr_t)p + (posted % 32) * X_CHUNK;
			g.length = X_CHUNK;
			g.lkey = mr->lkey;
			vt_send_wr(&wr, posted, &g, 1, posted % 2 ?
				   IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE,
				   IBV_SEND_SIGNALED);
			wr.wr.rdma.remote_addr = peer->addr +
				(posted % 32) * X_CHUNK;
			wr.wr.rdma.rkey = peer->rkey;
			n = ibv_post_send(qp, &wr, &bad);
			if (n)
				return xchild_fail("ibv_post_send", n);
			posted++;
		}
		n = ibv_poll_cq(cq, 1, &wc);
		if (n < 0)
			return xchild_fail("ibv_poll_cq", EIO);
		if (n == 1) {
			if (wc.status != IBV_WC_SUCCESS) {
				printf("# exit child: WR %" PRIu64 ": %s\n",
				       (uint64_t)wc.wr_id,
				       ibv_wc_status_str(wc.status));
				fflush(stdout);
				return 3;
			}
			if (++done == X_BEFORE && write(4, "g", 1) != 1)
				return xchild_fail("pipe", errno);
		}
		if (poll(&pf, 1, 0) == 1 && read(3, &c, 1) >= 0)
			exit(0);
	}
}

/*
 * odp_test --exit-child DEV MODE ROLE (fds 3 and 4: pipes from and to
 * the test): one RC QP on DEV and an ODP MR (MODE explicit or implicit)
 * over 4 MiB, half of it touched; exchange the QP's coordinates (and
 * MRs), connect, report ready, then wait (ROLE responder) or run
 * transfers itself (ROLE requester).  The test kills it or tells it to
 * exit ('x') while WRITEs and READs run.  No cmocka here.
 */
int exit_child(const char *devname, const char *mode,
	       const char *role)
{
	struct vt_dev *d = vt_dev_get(devname, false);
	struct ibv_qp_cap cap = {
		.max_send_wr = X_DEPTH, .max_recv_wr = 4,
		.max_send_sge = 1, .max_recv_sge = 1,
	};
	struct xinfo me, peer;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	size_t map_len;
	uint8_t *p;
	char c = 'r';
	int rc;

	alarm(120);
	if (!d || !vt_dev_ok(d))
		return xchild_fail(d ? d->error : devname, ENODEV);
	pd = ibv_alloc_pd(d->ctx);
	if (!pd)
		return xchild_fail("ibv_alloc_pd", errno);
	cq = ibv_create_cq(d->ctx, CQE, NULL, NULL, 0);
	if (!cq)
		return xchild_fail("ibv_create_cq", errno);
	qp = vt_qp_create(pd, cq, cq, &cap, false);
	if (!qp)
		return xchild_fail("ibv_create_qp", errno);
	if (!strncmp(role, "stall", 5)) {
		/*
		 * The pages of a file whose reads wait at a gate: the
		 * child must not touch them itself.
		 */
		const char *f = getenv("ODP_STALL_FILE");
		int fd = f ? open(f, O_RDWR) : -1;

		if (fd < 0)
			return xchild_fail("open the stall file", errno);
		p = mmap(NULL, X_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 0);
		close(fd);
		if (p == MAP_FAILED)
			return xchild_fail("mmap the stall file", errno);
	} else {
		p = map_blocks(X_LEN, &map_len, false);
		if (!p)
			return xchild_fail("mmap", errno);
		memset(p, 0x5c, X_LEN / 2);
	}
	if (!strcmp(mode, "implicit"))
		mr = reg_implicit(pd, ODP_ACCESS);
	else
		mr = ibv_reg_mr(pd, p, X_LEN,
				IBV_ACCESS_ON_DEMAND | ODP_ACCESS);
	if (!mr)
		return xchild_fail("ODP MR", errno);
	rc = vt_qp_to_init(qp, VT_ACCESS_ALL);
	if (rc)
		return xchild_fail("QP to INIT", rc);
	memset(&me, 0, sizeof(me));
	me.qpn = qp->qp_num;
	me.psn = 0x123456;
	me.gid = d->gid;
	me.addr = (uintptr_t)p;
	me.rkey = mr->rkey;
	me.len = X_LEN;
	if (write(4, &me, sizeof(me)) != sizeof(me) ||
	    read(3, &peer, sizeof(peer)) != sizeof(peer))
		return xchild_fail("pipe", errno);
	rc = vt_qp_to_rtr(qp, &peer.path, d->gid_index, peer.qpn, peer.psn,
			  &peer.gid);
	if (!rc)
		rc = vt_qp_to_rts(qp, &peer.path, me.psn);
	if (rc)
		return xchild_fail("QP to RTR/RTS", rc);
	if (write(4, &c, 1) != 1)
		return xchild_fail("pipe", errno);
	if (!strcmp(role, "requester"))
		return xchild_requester(qp, cq, mr, p, &peer);
	if (!strcmp(role, "stall-requester")) {
		/* One WRITE from the file's pages: the device faults. */
		struct ibv_send_wr wr, *bad;
		struct ibv_sge g = {
			.addr = (uintptr_t)p, .length = X_CHUNK,
			.lkey = mr->lkey,
		};

		vt_send_wr(&wr, 0, &g, 1, IBV_WR_RDMA_WRITE,
			   IBV_SEND_SIGNALED);
		wr.wr.rdma.remote_addr = peer.addr;
		wr.wr.rdma.rkey = peer.rkey;
		rc = ibv_post_send(qp, &wr, &bad);
		if (rc)
			return xchild_fail("ibv_post_send", rc);
		c = 'g';
		if (write(4, &c, 1) != 1)
			return xchild_fail("pipe", errno);
	}
	/* Whatever comes (or EOF): exit with everything still in place. */
	if (read(3, &c, 1) < 0)
		return xchild_fail("pipe", errno);
	exit(0);
}

/**
 * struct xwatch - the test's view of an exit child
 * @k: the child
 * @c: the test's QP connected to the child's
 * @ci: what the child reported (its QP, GID and ODP MR)
 * @trig: the child was killed or told to exit, at @t_trig
 * @reaped: it is gone (wait status @st), since @t_reap
 * @stack_shown: its kernel stack was shown (still there 1 s after @t_trig)
 */
struct xwatch {
	struct kid *k;
	struct conn *c;
	struct xinfo ci;
	bool trig, reaped, stack_shown;
	int64_t t_trig, t_reap;
	int st;
};

/*
 * Start an exit child in @role on device B and connect a QP on A to it;
 * @me: the test's MR for the child to use (zero for a responder child).
 * Returns when the child is ready.
 */
static void xchild_start(struct tcase *tc, struct xwatch *w,
			 const char *role, struct xinfo *me)
{
	struct vt_dev *da = tc->pair->a, *db = tc->pair->b;
	int down[2], up[2];
	struct kid *k;
	char r;

	vt_dev_ready(da);
	vt_dev_ready(db);
	sides_open(tc);
	assert_true(tc->nkids < MAX_KIDS);
	CHECK(!pipe(down) && !pipe(up), "pipe: %s", strerror(errno));
	fflush(stdout);
	k = &tc->kids[tc->nkids++];
	w->k = k;
	k->pid = fork();
	if (!k->pid) {
		if (dup2(down[0], 3) < 0 || dup2(up[1], 4) < 0)
			_exit(126);
		execl("/proc/self/exe", "odp_test", "--exit-child", db->name,
		      mode_names[tc->mode], role, (char *)NULL);
		_exit(127);
	}
	close(down[0]);
	close(up[1]);
	k->cmd = down[1];
	k->reply = up[0];
	CHECK(k->pid > 0, "fork: %s", strerror(errno));
	CHECK(read_within(k->reply, &w->ci, sizeof(w->ci), 30000),
	      "the exit child did not report its QP within 30 s");

	w->c = conn_new(tc);
	vt_path_init(&w->c->path, da, db);
	ep_create(&w->c->a, &tc->sa, 0xabcdef);
	CHECK(!vt_qp_connect(w->c->a.qp, &w->c->path, da, w->ci.qpn,
			     w->c->a.psn, w->ci.psn, &w->ci.gid),
	      "connecting to the exit child's QP %u failed: %s", w->ci.qpn,
	      vt_errmsg());
	me->qpn = w->c->a.qp->qp_num;
	me->psn = w->c->a.psn;
	me->gid = da->gid;
	me->path = w->c->path;
	CHECK(write(k->cmd, me, sizeof(*me)) == sizeof(*me), "pipe: %s",
	      strerror(errno));
	CHECK(read_within(k->reply, &r, 1, 30000) && r == 'r',
	      "the exit child did not get ready within 30 s");
}

/* Kill the child (@kill_it) or tell it to exit. */
static void xchild_trigger(struct xwatch *w, bool kill_it)
{
	if (kill_it)
		CHECK(!kill(w->k->pid, SIGKILL), "kill: %s", strerror(errno));
	else
		CHECK(write(w->k->cmd, "x", 1) == 1, "pipe: %s",
		      strerror(errno));
	w->trig = true;
	w->t_trig = vt_now_ms();
}

/*
 * Reap the child if it is gone (once triggered); its kernel stack once
 * when it is still there 1 s after the trigger.  Returns w->reaped.
 */
static bool xchild_gone(struct xwatch *w)
{
	if (!w->trig || w->reaped)
		return w->reaped;
	if (waitpid(w->k->pid, &w->st, WNOHANG) == w->k->pid) {
		w->reaped = true;
		w->k->pid = 0;
		w->t_reap = vt_now_ms();
	} else if (!w->stack_shown && vt_now_ms() - w->t_trig > 1000) {
		diag_stack(w->k->pid, "the child is still exiting after 1 s");
		w->stack_shown = true;
	}
	return w->reaped;
}

/* The child must be gone within 10 s of the trigger. */
static void xchild_reap(struct xwatch *w)
{
	while (!xchild_gone(w) && vt_now_ms() - w->t_trig < 10000)
		usleep(5000);
	CHECK(w->reaped, "the child did not exit within 10 s");
}

/* It died of SIGKILL (@kill_it) or exited with status 0. */
static void xchild_status(const struct xwatch *w, bool kill_it)
{
	if (kill_it)
		CHECK(WIFSIGNALED(w->st) && WTERMSIG(w->st) == SIGKILL,
		      "the child ended with status 0x%x, want SIGKILL",
		      w->st);
	else
		CHECK(WIFEXITED(w->st) && WEXITSTATUS(w->st) == 0,
		      "the child ended with status 0x%x, want exit 0", w->st);
}

/* After the child: a new connection, a WRITE of pattern @seed lands. */
static void write_after_exit(struct tcase *tc, uint32_t seed,
			     const char *what)
{
	struct conn *c = conn_open(tc);
	struct buf *s2 = obuf(tc, &tc->sa, 64 * KIB);
	struct buf *d2 = obuf(tc, &tc->sb, 64 * KIB);

	write_pat(tc, c, s2, d2, 0, 64 * KIB, seed, what);
}

/*
 * A child process (exec'd, on device B) registers an ODP MR; the test
 * keeps X_DEPTH RDMA WRITEs and READs of 64 KiB running into it and, after
 * X_BEFORE completed, the child exits (or is killed).  Every WR must
 * complete within bounded time: successes, then one error
 * (RETRY_EXC_ERR, REM_ACCESS_ERR or REM_OP_ERR), then flushes; no WR
 * posted after the child was reaped may succeed; the child must be gone
 * within 10 s; the devices must then still carry data.
 */
static void exit_test(struct tcase *tc, bool kill_it)
{
	uint64_t posted = 0, done = 0, ok = 0, first_after = UINT64_MAX;
	int64_t t_err = 0, wait_end, t0;
	struct xwatch w = { 0 };
	int err_status = -1;
	struct xinfo me = { 0 };
	struct ibv_wc wc;
	struct conn *c;
	struct buf *l;

	xchild_start(tc, &w, "responder", &me);
	c = w.c;
	l = obuf(tc, &tc->sa, X_DEPTH * X_CHUNK);
	fill_pat(l->mem, X_DEPTH * X_CHUNK, 141);
	for (;;) {
		int64_t now;

		while (t_err == 0 && posted - done < X_DEPTH) {
			struct ibv_sge g = sge(l, (posted % X_DEPTH) * X_CHUNK,
					       X_CHUNK);
			struct ibv_send_wr wr;

			vt_send_wr(&wr, posted, &g, 1, posted % 2 ?
				   IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE,
				   IBV_SEND_SIGNALED);
			wr.wr.rdma.remote_addr = w.ci.addr +
				(posted % (X_LEN / X_CHUNK)) * X_CHUNK;
			wr.wr.rdma.rkey = w.ci.rkey;
			vt_post_send(c->a.qp, &wr, "WR to the exiting child");
			if (w.reaped && first_after == UINT64_MAX)
				first_after = posted;
			posted++;
		}
		/* Wait for the next completion, watching the child. */
		for (wait_end = vt_now_ms() + 20000;
		     !vt_get_wc(c->a.scq, &wc, 50);) {
			xchild_gone(&w);
			CHECK(vt_now_ms() < wait_end,
			      "no completion within 20 s for WR %" PRIu64 " (%" PRIu64 " posted, child %s)",
			      done, posted, !w.trig ? "alive" :
			      w.reaped ? "reaped" : "told to exit");
		}
		CHECK(wc.wr_id == done, "completion for WR %" PRIu64 ", want %" PRIu64,
		      (uint64_t)wc.wr_id, done);
		done++;
		now = vt_now_ms();
		if (wc.status == IBV_WC_SUCCESS) {
			CHECK(!t_err, "WR %" PRIu64 " succeeded after an error",
			      (uint64_t)wc.wr_id);
			CHECK(wc.wr_id < first_after,
			      "WR %" PRIu64 " (%s), posted after the child was reaped, succeeded",
			      (uint64_t)wc.wr_id,
			      wc.wr_id % 2 ? "READ" : "WRITE");
			ok++;
		} else if (!t_err) {
			t_err = now;
			err_status = wc.status;
			CHECK(w.trig, "WR %" PRIu64 " failed (%s) while the child was alive",
			      (uint64_t)wc.wr_id,
			      ibv_wc_status_str(wc.status));
			CHECK(wc.status == IBV_WC_RETRY_EXC_ERR ||
			      wc.status == IBV_WC_REM_ACCESS_ERR ||
			      wc.status == IBV_WC_REM_OP_ERR,
			      "first error %s, want RETRY_EXC_ERR, REM_ACCESS_ERR or REM_OP_ERR",
			      ibv_wc_status_str(wc.status));
		} else {
			CHECK(wc.status == IBV_WC_WR_FLUSH_ERR,
			      "WR %" PRIu64 " after the error: %s, want WR_FLUSH_ERR",
			      (uint64_t)wc.wr_id,
			      ibv_wc_status_str(wc.status));
		}
		if (!w.trig && ok >= X_BEFORE)
			xchild_trigger(&w, kill_it);
		xchild_gone(&w);
		if (t_err && done == posted)
			break;
		CHECK(!w.trig || vt_now_ms() - w.t_trig < 30000,
		      "WRs still succeed 30 s after the child was told to exit (%" PRIu64 " since)",
		      ok - X_BEFORE);
	}
	xchild_reap(&w);
	vt_diag("%" PRIu64 " WRs completed, %" PRIu64 " succeeded (%" PRIu64 " after the %s); first error %s %" PRId64 " ms after it; child reaped after %" PRId64 " ms",
		done, ok, ok - X_BEFORE, kill_it ? "SIGKILL" : "exit request",
		ibv_wc_status_str(err_status), t_err - w.t_trig,
		w.t_reap - w.t_trig);
	xchild_status(&w, kill_it);

	/* The devices still carry data. */
	t0 = vt_now_ms();
	write_after_exit(tc, 142, "WRITE after the child's exit");
	vt_diag("a new connection and a WRITE after the exit: %" PRId64 " ms",
		vt_now_ms() - t0);
}

/*
 * The other way round: the child (exec'd, on device B) is the requester,
 * WRITEs from and READs into its own ODP memory run against the test's
 * ODP memory, X_DEPTH in flight; after X_BEFORE completed it exits (or
 * is killed).  It must be gone within 10 s, its exit must not depend on
 * the network, and the devices must still carry data.
 */
static void exit_req_test(struct tcase *tc, bool kill_it)
{
	struct xwatch w = { 0 };
	struct xinfo me = { 0 };
	struct buf *t;
	char r;

	sides_open(tc);
	t = obuf(tc, &tc->sa, X_LEN);
	fill_pat(t->mem, X_LEN, 143);
	me.addr = (uintptr_t)t->mem;
	me.rkey = t->rkey;
	me.len = X_LEN;
	xchild_start(tc, &w, "requester", &me);
	CHECK(read_within(w.k->reply, &r, 1, 30000) && r == 'g',
	      "the exit child's transfers did not run (%d completions in 30 s)",
	      X_BEFORE);
	xchild_trigger(&w, kill_it);
	xchild_reap(&w);
	vt_diag("the requester child was reaped %" PRId64 " ms after the %s",
		w.t_reap - w.t_trig, kill_it ? "SIGKILL" : "exit request");
	xchild_status(&w, kill_it);
	write_after_exit(tc, 144, "WRITE after the requester child's exit");
}

/*
 * rodp-stallfs (perftest/), started as a kid of the test (so that a
 * failed test's teardown kills it, which aborts the held reads), mounted
 * on a fresh folder; its event lines come on @ev.
 */
struct stallfs {
	struct kid *k;
	char dir[64], file[80];
	FILE *ev;
};

/* Wait up to @ms for an event line of rodp-stallfs starting with @word. */
static bool stall_event(struct stallfs *sf, const char *word, int ms)
{
	struct pollfd pf = { .fd = fileno(sf->ev), .events = POLLIN };
	int64_t end = vt_now_ms() + ms;
	char line[64];

	for (;;) {
		int left = (int)(end - vt_now_ms());

		if (left <= 0 || poll(&pf, 1, left) != 1)
			return false;
		if (!fgets(line, sizeof(line), sf->ev))
			return false;
		if (!strncmp(line, word, strlen(word)))
			return true;
	}
}

static void stall_start(struct tcase *tc, struct stallfs *sf)
{
	const char *repo = getenv("RODP_REPO");
	char exe[256];
	int out[2];

	CHECK(repo, "RODP_REPO is not set: the suite runs in the test guest");
	snprintf(exe, sizeof(exe), "%s/build/cmake/perftest/rodp-stallfs",
		 repo);
	snprintf(sf->dir, sizeof(sf->dir), "/tmp/odp-stall.XXXXXX");
	CHECK(mkdtemp(sf->dir), "mkdtemp: %s", strerror(errno));
	snprintf(sf->file, sizeof(sf->file), "%s/data", sf->dir);
	CHECK(!pipe(out), "pipe: %s", strerror(errno));
	assert_true(tc->nkids < MAX_KIDS);
	sf->k = &tc->kids[tc->nkids++];
	sf->k->cmd = sf->k->reply = -1;
	fflush(stdout);
	sf->k->pid = fork();
	if (!sf->k->pid) {
		if (dup2(out[1], 1) < 0)
			_exit(126);
		execl(exe, "rodp-stallfs", sf->dir, "--size", "8",
		      (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	CHECK(sf->k->pid > 0, "fork: %s", strerror(errno));
	sf->ev = fdopen(out[0], "r");
	CHECK(sf->ev, "fdopen: %s", strerror(errno));
	/* A failed test's teardown closes, unmounts and removes them. */
	tc->stall_ev = sf->ev;
	snprintf(tc->stall_dir, sizeof(tc->stall_dir), "%s", sf->dir);
	CHECK(stall_event(sf, "ready", 10000),
	      "%s did not mount within 10 s (is fuse.ko loaded?)", exe);
	CHECK(!setenv("ODP_STALL_FILE", sf->file, 1), "setenv");
}

/* Open the gate for good, unmount, and the daemon must exit 0. */
static void stall_stop(struct tcase *tc, struct stallfs *sf)
{
	int64_t end = vt_now_ms() + 10000;
	pid_t p;
	int st = 0;

	CHECK(!kill(sf->k->pid, SIGTERM), "kill: %s", strerror(errno));
	while ((p = waitpid(sf->k->pid, &st, WNOHANG)) == 0 &&
	       vt_now_ms() < end)
		usleep(10000);
	CHECK(p == sf->k->pid, "rodp-stallfs did not exit within 10 s");
	sf->k->pid = 0;
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "rodp-stallfs ended with status 0x%x", st);
	fclose(sf->ev);
	tc->stall_ev = NULL;
	rmdir(sf->dir);
	tc->stall_dir[0] = '\0';
}

/*
 * The device is inside a fault on the child's pages when the child is
 * SIGKILLed: its ODP MR covers a MAP_SHARED mapping of a file whose
 * reads wait at a gate (rodp-stallfs), and either the test WRITEs into
 * it (@requester false: rodp's responder faults on device B) or the child
 * WRITEs from it (@requester true: its requester faults).  The fault is
 * held while the child is killed and for 1 s more, then the gate opens.
 * Then the child must be gone within 10 s, the test's WRITE (responder
 * case) must end, successfully (the data is then in the file) or with a
 * remote error, and the devices must carry data again.  Whether the
 * child could finish exiting while the fault was held is reported.
 */
static void stall_test(struct tcase *tc, bool requester)
{
	struct stallfs sf = { 0 };
	struct xwatch w = { 0 };
	struct xinfo me = { 0 };
	struct buf *l = NULL, *t;
	bool early = false;
	struct ibv_wc wc;
	int64_t t_open;
	char r;

	stall_start(tc, &sf);
	sides_open(tc);
	if (requester) {
		t = obuf(tc, &tc->sa, X_CHUNK);
		fill_pat(t->mem, X_CHUNK, 145);
		me.addr = (uintptr_t)t->mem;
		me.rkey = t->rkey;
		me.len = X_CHUNK;
	}
	xchild_start(tc, &w, requester ? "stall-requester" : "stall", &me);
	if (requester) {
		CHECK(read_within(w.k->reply, &r, 1, 30000) && r == 'g',
		      "the child did not post its WRITE within 30 s");
	} else {
		struct ibv_sge g;
		struct ibv_send_wr wr;

		l = obuf(tc, &tc->sa, X_CHUNK);
		fill_pat(l->mem, X_CHUNK, 146);
		g = sge(l, 0, X_CHUNK);
		vt_send_wr(&wr, 0, &g, 1, IBV_WR_RDMA_WRITE,
			   IBV_SEND_SIGNALED);
		wr.wr.rdma.remote_addr = w.ci.addr;
		wr.wr.rdma.rkey = w.ci.rkey;
		vt_post_send(w.c->a.qp, &wr, "WRITE into the file's pages");
	}
	CHECK(stall_event(&sf, "parked", 20000),
	      "no read of the file reached rodp-stallfs within 20 s: the device did not fault on the file's pages");
	usleep(300000);
	if (!requester)
		CHECK(!vt_get_wc(w.c->a.scq, &wc, 0),
		      "the WRITE completed (%s) while its fault was held",
		      ibv_wc_status_str(wc.status));

	xchild_trigger(&w, true);
	while (vt_now_ms() - w.t_trig < 1000)
		if (xchild_gone(&w) && !early) {
			early = true;
			vt_diag("the child was reaped %" PRId64 " ms after SIGKILL, the fault still held",
				w.t_reap - w.t_trig);
		}
	if (!early)
		diag_stack(w.k->pid, "the child, killed 1 s ago, waits for the held fault");

	CHECK(!kill(sf.k->pid, SIGUSR2), "kill: %s", strerror(errno));
	t_open = vt_now_ms();
	CHECK(stall_event(&sf, "released", 10000),
	      "rodp-stallfs did not release the held reads");
	xchild_reap(&w);
	xchild_status(&w, true);
	vt_diag("the child was reaped %" PRId64 " ms after the gate opened",
		early ? 0 : w.t_reap - t_open);

	if (!requester) {
		CHECK(vt_get_wc(w.c->a.scq, &wc, 20000),
		      "the WRITE did not end within 20 s of the gate opening");
		vt_diag("the WRITE ended: %s", ibv_wc_status_str(wc.status));
		CHECK(wc.status == IBV_WC_SUCCESS ||
		      wc.status == IBV_WC_RETRY_EXC_ERR ||
		      wc.status == IBV_WC_REM_ACCESS_ERR ||
		      wc.status == IBV_WC_REM_OP_ERR,
		      "the WRITE ended with %s, want success or a remote error",
		      ibv_wc_status_str(wc.status));
		if (wc.status == IBV_WC_SUCCESS) {
			/* Then it is in the file (its page cache). */
			uint8_t *got = malloc(X_CHUNK);
			int fd = open(sf.file, O_RDONLY);

			CHECK(got && fd >= 0, "open %s: %s", sf.file,
			      strerror(errno));
			CHECK(pread(fd, got, X_CHUNK, 0) == X_CHUNK,
			      "pread: %s", strerror(errno));
			close(fd);
			expect_same("the file after the successful WRITE",
				    got, l->mem, X_CHUNK);
			free(got);
		}
	}
	stall_stop(tc, &sf);
	write_after_exit(tc, 147, "WRITE after the child's exit");
}

void test_stall_kill(void **state)
{
	stall_test(*state, false);
}

void test_stall_req_kill(void **state)
{
	stall_test(*state, true);
}

void test_exit(void **state)
{
	exit_test(*state, false);
}

void test_req_exit(void **state)
{
	exit_req_test(*state, false);
}

void test_req_kill(void **state)
{
	exit_req_test(*state, true);
}

void test_kill(void **state)
{
	exit_test(*state, true);
}
