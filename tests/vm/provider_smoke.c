// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * provider_smoke: guest-side smoke test of rodp's libibverbs provider
 * against rodp.ko.
 *
 * Opens a rodp device (the one named by argv[1], else the first device
 * carrying the rodp_abi sysfs attribute) and checks the verbs the provider
 * implements (device/port queries, PDs, CQs) and that the ones it does not
 * implement yet fail with EOPNOTSUPP/ENOSYS instead of crashing.  Prints
 * TAP ("ok N - ...", "not ok N - ..."); exits 1 if any check failed.
 *
 * Build: cc provider_smoke.c -libverbs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "verbs.h"

static int tests;
static int failures;

static bool check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	tests++;
	if (!ok)
		failures++;
	printf("%sok %d - ", ok ? "" : "not ", tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return ok;
}

static bool not_supported(int err)
{
	return err == EOPNOTSUPP || err == ENOSYS;
}

static bool is_rodp(struct ibv_device *dev)
{
	char path[IBV_SYSFS_PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/rodp_abi", dev->ibdev_path);
	return access(path, R_OK) == 0;
}

static struct ibv_device *find_device(struct ibv_device **list,
				      const char *name)
{
	for (; *list; list++) {
		if (name ? !strcmp(ibv_get_device_name(*list), name) :
			   is_rodp(*list))
			return *list;
	}
	return NULL;
}

static void test_queries(struct ibv_context *ctx)
{
	struct ibv_device_attr_ex attr_ex;
	struct ibv_device_attr attr;
	struct ibv_port_attr port;
	int ret;

	memset(&attr, 0, sizeof(attr));
	ret = ibv_query_device(ctx, &attr);
	check(ret == 0, "ibv_query_device (ret %d)", ret);
	check(attr.phys_port_cnt == 1 && attr.max_pd > 0 &&
	      attr.max_cq > 0 && attr.max_cqe > 0 && attr.node_guid != 0,
	      "device attributes: %u port(s), max_pd %d, max_cq %d, max_cqe %d, guid %#llx",
	      attr.phys_port_cnt, attr.max_pd, attr.max_cq, attr.max_cqe,
	      (unsigned long long)attr.node_guid);
	printf("# fw_ver '%s' vendor %#x part %#x\n", attr.fw_ver,
	       attr.vendor_id, attr.vendor_part_id);

	memset(&attr_ex, 0, sizeof(attr_ex));
	ret = ibv_query_device_ex(ctx, NULL, &attr_ex);
	check(ret == 0, "ibv_query_device_ex (ret %d)", ret);
	check(attr_ex.orig_attr.node_guid == attr.node_guid &&
	      attr_ex.orig_attr.max_cqe == attr.max_cqe &&
	      attr_ex.orig_attr.max_pd == attr.max_pd &&
	      !strcmp(attr_ex.orig_attr.fw_ver, attr.fw_ver),
	      "query_device_ex agrees with query_device");
	printf("# odp general_caps %#llx rc_odp_caps %#x\n",
	       (unsigned long long)attr_ex.odp_caps.general_caps,
	       attr_ex.odp_caps.per_transport_caps.rc_odp_caps);

	memset(&port, 0, sizeof(port));
	ret = ibv_query_port(ctx, 1, &port);
	check(ret == 0, "ibv_query_port 1 (ret %d)", ret);
	check(port.link_layer == IBV_LINK_LAYER_ETHERNET &&
	      port.gid_tbl_len > 0 && port.active_mtu <= port.max_mtu,
	      "port 1: Ethernet link layer, %d GIDs, mtu %d of %d, state %s",
	      port.gid_tbl_len, port.active_mtu, port.max_mtu,
	      ibv_port_state_str(port.state));

	ret = ibv_query_port(ctx, 2, &port);
	check(ret != 0, "ibv_query_port 2 fails (ret %d)", ret);
}

static void test_cq(struct ibv_context *ctx, int max_cqe)
{
	struct ibv_cq_init_attr_ex cq_attr;
	struct ibv_poll_cq_attr poll_attr;
	struct ibv_comp_channel *chan;
	struct ibv_wc wc[16];
	struct ibv_cq_ex *cqx;
	struct ibv_cq *cq;
	char buf[16];
	int ret, n, i;

	cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	if (!check(cq != NULL, "ibv_create_cq 16 (errno %d)", cq ? 0 : errno))
		return;
	check(cq->cqe >= 16, "CQ has %d >= 16 entries", cq->cqe);

	n = 0;
	for (i = 0; i < 100; i++)
		n |= ibv_poll_cq(cq, 16, wc);
	check(n == 0, "100 polls of an empty CQ return 0");
	check(ibv_poll_cq(cq, 1, wc) == 0 && ibv_poll_cq(cq, 0, wc) == 0,
	      "poll with 1 and 0 entries returns 0");

	ret = ibv_req_notify_cq(cq, 0);
	check(ret == 0, "ibv_req_notify_cq next (ret %d)", ret);
	ret = ibv_req_notify_cq(cq, 1);
	check(ret == 0, "ibv_req_notify_cq solicited (ret %d)", ret);

	ret = ibv_resize_cq(cq, 64);
	check(ret == 0 && cq->cqe >= 64 && ibv_poll_cq(cq, 16, wc) == 0,
	      "ibv_resize_cq 64: %d entries, still empty (ret %d)", cq->cqe,
	      ret);
	ret = ibv_resize_cq(cq, 2);
	check(ret == 0 && cq->cqe >= 2 && ibv_req_notify_cq(cq, 0) == 0,
	      "ibv_resize_cq 2: %d entries, armed again (ret %d)", cq->cqe,
	      ret);
	ret = ibv_resize_cq(cq, 1 << 20);
	check(ret == EINVAL, "ibv_resize_cq 2^20: EINVAL (ret %d)", ret);

	ret = ibv_destroy_cq(cq);
	check(ret == 0, "ibv_destroy_cq (ret %d)", ret);

	/* A CQ with a completion channel raises no event by itself. */
	chan = ibv_create_comp_channel(ctx);
	if (check(chan != NULL, "ibv_create_comp_channel")) {
		cq = ibv_create_cq(ctx, 4, NULL, chan, 0);
		if (check(cq != NULL, "ibv_create_cq on a channel")) {
			check(ibv_req_notify_cq(cq, 0) == 0,
			      "arm CQ on channel");
			fcntl(chan->fd, F_SETFL,
			      fcntl(chan->fd, F_GETFL) | O_NONBLOCK);
			errno = 0;
			ret = read(chan->fd, buf, sizeof(buf));
			check(ret < 0 && errno == EAGAIN,
			      "no completion event without completions");
			check(ibv_destroy_cq(cq) == 0,
			      "destroy CQ on channel");
		}
		check(ibv_destroy_comp_channel(chan) == 0,
		      "ibv_destroy_comp_channel");
	}

	errno = 0;
	cq = ibv_create_cq(ctx, max_cqe + 1, NULL, NULL, 0);
	check(cq == NULL && errno != 0,
	      "ibv_create_cq max_cqe+1 fails (errno %d)", errno);
	if (cq)
		ibv_destroy_cq(cq);

	memset(&cq_attr, 0, sizeof(cq_attr));
	cq_attr.cqe = 8;
	cq_attr.wc_flags = IBV_WC_STANDARD_FLAGS;
	cqx = ibv_create_cq_ex(ctx, &cq_attr);
	if (check(cqx != NULL, "ibv_create_cq_ex standard flags (errno %d)",
		  cqx ? 0 : errno)) {
		memset(&poll_attr, 0, sizeof(poll_attr));
		ret = ibv_start_poll(cqx, &poll_attr);
		check(ret == ENOENT, "ibv_start_poll on empty CQ: ENOENT (%d)",
		      ret);
		if (ret == 0)
			ibv_end_poll(cqx);
		check(ibv_poll_cq(ibv_cq_ex_to_cq(cqx), 16, wc) == 0,
		      "ibv_poll_cq on an extended CQ");
		check(ibv_destroy_cq(ibv_cq_ex_to_cq(cqx)) == 0,
		      "destroy extended CQ");
	}

	cq_attr.wc_flags = IBV_WC_EX_WITH_FLOW_TAG;
	errno = 0;
	cqx = ibv_create_cq_ex(ctx, &cq_attr);
	check(cqx == NULL && not_supported(errno),
	      "ibv_create_cq_ex with a flow tag: EOPNOTSUPP (errno %d)",
	      errno);
	if (cqx)
		ibv_destroy_cq(ibv_cq_ex_to_cq(cqx));
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Completion timestamps, on real completions: an RC QP sends to another
 * on the same device, both completing on one extended CQ that asks for
 * both clocks.  The device clock is CLOCK_MONOTONIC in ns (hca_core_clock
 * 1 GHz): each stamp lies between the clocks read before posting and
 * after polling, the receive's no later than the send's (the send
 * completes on the ACK), and ibv_query_rt_values_ex reads the same clock.
 */
static void test_cq_timestamps(const char *name)
{
	struct ibv_cq_init_attr_ex ca = {
		.cqe = 8,
		.wc_flags = IBV_WC_STANDARD_FLAGS |
			    IBV_WC_EX_WITH_COMPLETION_TIMESTAMP |
			    IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK,
	};
	struct ibv_qp_cap cap = {
		.max_send_wr = 4, .max_recv_wr = 4,
		.max_send_sge = 1, .max_recv_sge = 1,
	};
	uint64_t m0, r0, m1, r1, ts[2] = { 0, 0 }, wall[2] = { 0, 0 };
	struct ibv_device_attr_ex dx;
	struct ibv_poll_cq_attr pa = {};
	struct ibv_qp *qa = NULL, *qb = NULL;
	struct ibv_send_wr swr, *bad;
	struct ibv_recv_wr rwr, *rbad;
	struct ibv_cq_ex *cqx = NULL;
	struct ibv_values_ex rt;
	struct ibv_pd *pd = NULL;
	struct ibv_mr *mr = NULL;
	struct ibv_sge sge[2];
	struct vt_path path;
	struct vt_dev *d;
	char buf[128];
	int i, n = 0, ret;

	d = vt_dev_get(name, false);
	if (!check(d && vt_dev_ok(d), "open %s for the timestamp test: %s",
		   name, d ? d->error : "no device"))
		return;
	memset(&dx, 0, sizeof(dx));
	ret = ibv_query_device_ex(d->ctx, NULL, &dx);
	check(ret == 0 && dx.hca_core_clock == 1000000 &&
	      dx.completion_timestamp_mask == UINT64_MAX,
	      "device clock: hca_core_clock %" PRIu64 " kHz, mask 0x%" PRIx64
	      " (ret %d)", dx.hca_core_clock, dx.completion_timestamp_mask,
	      ret);

	memset(&rt, 0, sizeof(rt));
	rt.comp_mask = IBV_VALUES_MASK_RAW_CLOCK;
	m0 = clock_ns(CLOCK_MONOTONIC);
	ret = ibv_query_rt_values_ex(d->ctx, &rt);
	m1 = clock_ns(CLOCK_MONOTONIC);
	ts[0] = (uint64_t)rt.raw_clock.tv_sec * 1000000000ull +
		(uint64_t)rt.raw_clock.tv_nsec;
	check(ret == 0 && rt.comp_mask == IBV_VALUES_MASK_RAW_CLOCK &&
	      ts[0] >= m0 && ts[0] <= m1,
	      "ibv_query_rt_values_ex: raw clock is CLOCK_MONOTONIC (ret %d)",
	      ret);

	pd = ibv_alloc_pd(d->ctx);
	cqx = ibv_create_cq_ex(d->ctx, &ca);
	if (!check(pd && cqx, "PD and extended CQ with both timestamps "
		   "(errno %d)", pd && cqx ? 0 : errno))
		goto out;
	mr = ibv_reg_mr(pd, buf, sizeof(buf), IBV_ACCESS_LOCAL_WRITE);
	qa = vt_qp_create(pd, ibv_cq_ex_to_cq(cqx), ibv_cq_ex_to_cq(cqx),
			  &cap, true);
	qb = vt_qp_create(pd, ibv_cq_ex_to_cq(cqx), ibv_cq_ex_to_cq(cqx),
			  &cap, true);
	vt_path_init(&path, d, d);
	if (!check(mr && qa && qb &&
		   !vt_qp_connect(qa, &path, d, qb->qp_num, 1, 2, &d->gid) &&
		   !vt_qp_connect(qb, &path, d, qa->qp_num, 2, 1, &d->gid),
		   "two connected RC QPs on %s: %s", name, vt_errmsg()))
		goto out;

	memset(buf, 0x3c, 64);
	sge[0] = (struct ibv_sge){ (uintptr_t)(buf + 64), 64, mr->lkey };
	sge[1] = (struct ibv_sge){ (uintptr_t)buf, 64, mr->lkey };
	memset(&rwr, 0, sizeof(rwr));
	rwr.wr_id = 2;
	rwr.sg_list = &sge[0];
	rwr.num_sge = 1;
	vt_send_wr(&swr, 1, &sge[1], 1, IBV_WR_SEND, IBV_SEND_SIGNALED);
	m0 = clock_ns(CLOCK_MONOTONIC);
	r0 = clock_ns(CLOCK_REALTIME);
	if (!check(!ibv_post_recv(qb, &rwr, &rbad) &&
		   !ibv_post_send(qa, &swr, &bad), "post a SEND and a RECV"))
		goto out;
	for (i = 0; i < 5000 && n < 2; i++) {
		ret = ibv_start_poll(cqx, &pa);
		if (ret == ENOENT) {
			usleep(1000);
			continue;
		}
		while (!ret && n < 2) {
			if (cqx->status == IBV_WC_SUCCESS && cqx->wr_id < 3) {
				ts[cqx->wr_id - 1] = ibv_wc_read_completion_ts(cqx);
				wall[cqx->wr_id - 1] =
					ibv_wc_read_completion_wallclock_ns(cqx);
			}
			n++;
			if (n < 2)
				ret = ibv_next_poll(cqx);
		}
		ibv_end_poll(cqx);
	}
	m1 = clock_ns(CLOCK_MONOTONIC);
	r1 = clock_ns(CLOCK_REALTIME);
	if (!check(n == 2 && ts[0] && ts[1], "SEND and RECV completed (%d)",
		   n))
		goto out;
	check(ts[0] >= m0 && ts[0] <= m1 && ts[1] >= m0 && ts[1] <= m1 &&
	      ts[1] <= ts[0],
	      "completion_ts within the posting and the polling: send +%" PRIu64
	      " ns, recv +%" PRIu64 " ns of %" PRIu64 " ns", ts[0] - m0,
	      ts[1] - m0, m1 - m0);
	check(wall[0] >= r0 && wall[0] <= r1 && wall[1] >= r0 &&
	      wall[1] <= r1,
	      "completion_wallclock_ns within the posting and the polling");
	check(!memcmp(buf, buf + 64, 64), "the SEND's data arrived");
out:
	if (qa)
		ibv_destroy_qp(qa);
	if (qb)
		ibv_destroy_qp(qb);
	if (mr)
		ibv_dereg_mr(mr);
	if (cqx)
		ibv_destroy_cq(ibv_cq_ex_to_cq(cqx));
	if (pd)
		ibv_dealloc_pd(pd);
}

/* Verbs rodp does not have yet must fail cleanly. */
static void test_unsupported(struct ibv_context *ctx, struct ibv_pd *pd,
			     struct ibv_cq *cq)
{
	struct ibv_srq_init_attr srq_attr;
	struct ibv_qp_init_attr qp_attr;
	struct ibv_xrcd_init_attr xattr;
	struct ibv_alloc_dm_attr dm_attr;
	struct ibv_counters_init_attr cnt_attr;
	struct ibv_modify_cq_attr mod_attr;
	struct ibv_td_init_attr td_attr;
	struct ibv_wq_init_attr wq_attr;
	struct ibv_counters *counters;
	struct ibv_ah_attr ah_attr;
	struct ibv_sge sge;
	struct ibv_ah *ah;
	struct ibv_wq *wq;
	struct ibv_td *td;
	char buf[64];
	struct ibv_srq *srq;
	struct ibv_xrcd *xrcd;
	struct ibv_qp *qp;
	struct ibv_mw *mw;
	struct ibv_dm *dm;
	struct ibv_mr *mr;
	int ret;

	/* RC and UD QPs exist (suites rc, ud); others fail cleanly. */
	memset(&qp_attr, 0, sizeof(qp_attr));
	qp_attr.send_cq = cq;
	qp_attr.recv_cq = cq;
	qp_attr.qp_type = IBV_QPT_UD;
	qp_attr.cap.max_send_wr = 4;
	qp_attr.cap.max_recv_wr = 4;
	qp_attr.cap.max_send_sge = 1;
	qp_attr.cap.max_recv_sge = 1;
	errno = 0;
	qp = ibv_create_qp(pd, &qp_attr);
	check(qp != NULL && qp->qp_num >= 16 && qp->qp_type == IBV_QPT_UD,
	      "ibv_create_qp(UD) (errno %d)", errno);
	if (qp)
		check(ibv_destroy_qp(qp) == 0, "ibv_destroy_qp(UD)");

	qp_attr.qp_type = IBV_QPT_RC;
	qp_attr.cap.max_send_sge = 17;
	errno = 0;
	qp = ibv_create_qp(pd, &qp_attr);
	check(qp == NULL && errno == EINVAL,
	      "ibv_create_qp(RC, 17 SGEs): EINVAL (errno %d)", errno);
	if (qp)
		ibv_destroy_qp(qp);

	qp_attr.cap.max_send_sge = 3;
	qp_attr.cap.max_inline_data = 100;
	errno = 0;
	qp = ibv_create_qp(pd, &qp_attr);
	check(qp != NULL && qp->qp_num >= 16 && qp->state == IBV_QPS_RESET &&
	      qp_attr.cap.max_send_wr >= 4 && qp_attr.cap.max_send_sge >= 3 &&
	      qp_attr.cap.max_inline_data >= 100,
	      "ibv_create_qp(RC): qpn %u, caps wr %u sge %u inline %u (errno %d)",
	      qp ? qp->qp_num : 0, qp_attr.cap.max_send_wr,
	      qp_attr.cap.max_send_sge, qp_attr.cap.max_inline_data, errno);
	if (qp)
		check(ibv_destroy_qp(qp) == 0, "ibv_destroy_qp(RC)");

	memset(&srq_attr, 0, sizeof(srq_attr));
	srq_attr.attr.max_wr = 4;
	srq_attr.attr.max_sge = 1;
	errno = 0;
	srq = ibv_create_srq(pd, &srq_attr);
	/* SRQs exist (the srq suite tests them): create and destroy. */
	check(srq != NULL && srq_attr.attr.max_wr >= 4 &&
	      srq_attr.attr.max_sge >= 1 && ibv_destroy_srq(srq) == 0,
	      "ibv_create_srq, ibv_destroy_srq (errno %d)", errno);

	/* Memory windows (suite mw tests them): both types allocate. */
	errno = 0;
	mw = ibv_alloc_mw(pd, IBV_MW_TYPE_1);
	check(mw && mw->type == IBV_MW_TYPE_1 && mw->pd == pd,
	      "ibv_alloc_mw(type 1): rkey 0x%x (errno %d)", mw ? mw->rkey : 0,
	      errno);
	if (mw)
		check(ibv_dealloc_mw(mw) == 0, "ibv_dealloc_mw(type 1)");
	errno = 0;
	mw = ibv_alloc_mw(pd, IBV_MW_TYPE_2);
	check(mw && mw->type == IBV_MW_TYPE_2,
	      "ibv_alloc_mw(type 2): rkey 0x%x (errno %d)", mw ? mw->rkey : 0,
	      errno);
	if (mw)
		check(ibv_dealloc_mw(mw) == 0, "ibv_dealloc_mw(type 2)");

	memset(&xattr, 0, sizeof(xattr));
	xattr.comp_mask = IBV_XRCD_INIT_ATTR_FD | IBV_XRCD_INIT_ATTR_OFLAGS;
	xattr.fd = -1;
	xattr.oflags = O_CREAT;
	errno = 0;
	xrcd = ibv_open_xrcd(ctx, &xattr);
	check(xrcd != NULL, "ibv_open_xrcd (no file): errno %d", errno);
	if (xrcd)
		check(ibv_close_xrcd(xrcd) == 0, "ibv_close_xrcd");

	memset(&dm_attr, 0, sizeof(dm_attr));
	dm_attr.length = 64;
	errno = 0;
	dm = ibv_alloc_dm(ctx, &dm_attr);
	check(dm == NULL && not_supported(errno),
	      "ibv_alloc_dm: EOPNOTSUPP (errno %d)", errno);
	if (dm)
		ibv_free_dm(dm);

	memset(&sge, 0, sizeof(sge));
	sge.addr = (uintptr_t)buf;
	sge.length = sizeof(buf);
	/* Supported (the odp suite covers it); lkey 0 names no MR. */
	ret = ibv_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
			    IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	check(ret == EFAULT, "ibv_advise_mr, unknown lkey: EFAULT (ret %d)",
	      ret);

	memset(&ah_attr, 0, sizeof(ah_attr));
	ah_attr.is_global = 1;
	ah_attr.port_num = 1;
	/* AHs exist (suite ud); one to the unspecified GID :: does not. */
	errno = 0;
	ah = ibv_create_ah(pd, &ah_attr);
	check(ah == NULL && errno != 0 && !not_supported(errno),
	      "ibv_create_ah to ::: refused (errno %d)", errno);
	if (ah)
		ibv_destroy_ah(ah);

	memset(&wq_attr, 0, sizeof(wq_attr));
	wq_attr.wq_type = IBV_WQT_RQ;
	wq_attr.max_wr = 4;
	wq_attr.max_sge = 1;
	wq_attr.pd = pd;
	wq_attr.cq = cq;
	errno = 0;
	wq = ibv_create_wq(ctx, &wq_attr);
	check(wq == NULL && not_supported(errno),
	      "ibv_create_wq: EOPNOTSUPP (errno %d)", errno);
	if (wq)
		ibv_destroy_wq(wq);

	memset(&td_attr, 0, sizeof(td_attr));
	errno = 0;
	td = ibv_alloc_td(ctx, &td_attr);
	check(td == NULL && not_supported(errno),
	      "ibv_alloc_td: EOPNOTSUPP (errno %d)", errno);
	if (td)
		ibv_dealloc_td(td);

	memset(&cnt_attr, 0, sizeof(cnt_attr));
	errno = 0;
	counters = ibv_create_counters(ctx, &cnt_attr);
	check(counters == NULL && not_supported(errno),
	      "ibv_create_counters: EOPNOTSUPP (errno %d)", errno);
	if (counters)
		ibv_destroy_counters(counters);

	errno = 0;
	mr = ibv_alloc_null_mr(pd);
	check(mr == NULL && not_supported(errno),
	      "ibv_alloc_null_mr: EOPNOTSUPP (errno %d)", errno);
	if (mr)
		ibv_dereg_mr(mr);

	memset(&mod_attr, 0, sizeof(mod_attr));
	mod_attr.attr_mask = IBV_CQ_ATTR_MODERATE;
	mod_attr.moderate.cq_count = 1;
	ret = ibv_modify_cq(cq, &mod_attr);
	check(not_supported(ret), "ibv_modify_cq: EOPNOTSUPP (ret %d)", ret);

	errno = 0;
	mr = ibv_reg_mr(pd, buf, sizeof(buf), IBV_ACCESS_LOCAL_WRITE);
	check(mr && mr->length == sizeof(buf) && ibv_dereg_mr(mr) == 0,
	      "ibv_reg_mr + ibv_dereg_mr (errno %d)", mr ? 0 : errno);
}

int main(int argc, char **argv)
{
	struct ibv_device_attr attr;
	struct ibv_device **list;
	struct ibv_context *ctx, *ctx2;
	struct ibv_device *dev;
	struct ibv_pd *pd, *pd2;
	struct ibv_cq *cq;
	int ret;

	list = ibv_get_device_list(NULL);
	if (!check(list != NULL, "ibv_get_device_list (errno %d)",
		   list ? 0 : errno))
		goto out;
	dev = find_device(list, argc > 1 ? argv[1] : NULL);
	if (!check(dev != NULL, "rodp device %s found",
		   dev ? ibv_get_device_name(dev) : (argc > 1 ? argv[1] : "")))
		goto out_free_list;

	ctx = ibv_open_device(dev);
	if (!check(ctx != NULL, "ibv_open_device %s (errno %d)",
		   ibv_get_device_name(dev), ctx ? 0 : errno))
		goto out_free_list;

	test_queries(ctx);

	pd = ibv_alloc_pd(ctx);
	check(pd != NULL, "ibv_alloc_pd (errno %d)", pd ? 0 : errno);

	memset(&attr, 0, sizeof(attr));
	ibv_query_device(ctx, &attr);
	test_cq(ctx, attr.max_cqe > 0 ? attr.max_cqe : 1 << 20);
	test_cq_timestamps(ibv_get_device_name(dev));

	cq = ibv_create_cq(ctx, 4, NULL, NULL, 0);
	if (pd && cq)
		test_unsupported(ctx, pd, cq);
	if (cq)
		ibv_destroy_cq(cq);

	/* A second context on the same device is independent. */
	ctx2 = ibv_open_device(dev);
	if (check(ctx2 != NULL, "second context (errno %d)",
		  ctx2 ? 0 : errno)) {
		pd2 = ibv_alloc_pd(ctx2);
		check(pd2 && ibv_dealloc_pd(pd2) == 0,
		      "PD in the second context");
		check(ibv_close_device(ctx2) == 0, "close second context");
	}

	if (pd) {
		ret = ibv_dealloc_pd(pd);
		check(ret == 0, "ibv_dealloc_pd (ret %d)", ret);
	}
	ret = ibv_close_device(ctx);
	check(ret == 0, "ibv_close_device (ret %d)", ret);

out_free_list:
	ibv_free_device_list(list);
out:
	printf("1..%d\n", tests);
	return failures ? 1 : 0;
}
