// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rxe_emit: make an RDMA device send one of each RC request on the wire,
 * for capturing reference packets (tests/data).
 *
 * Opens the device, creates an RC QP, moves it to RTS towards a remote QP
 * that does not exist (EMIT_REMOTE_QPN at the given GID) and posts the
 * work requests listed in rxe_emit.h.  Nothing answers, so nothing
 * completes; the retransmit timeout is infinite, so each packet goes out
 * once.  Capture with e.g. `tcpdump -i ve2 -w out.pcap udp port 4791`.
 *
 * usage: rxe_emit [-d DEV] [-g SGID_INDEX] [-w SECONDS] REMOTE_GID
 *   REMOTE_GID: an IPv4 address (a v4-mapped GID is used) or an IPv6 one.
 *   Without -g, the first RoCEv2 GID of the same family is used.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "rxe_emit.h"

#define BUF_SIZE	8192

static void die(const char *what, int err)
{
	fprintf(stderr, "rxe_emit: %s: %s\n", what, strerror(err));
	exit(1);
}

static int parse_gid(const char *s, union ibv_gid *gid)
{
	struct in_addr a4;

	memset(gid, 0, sizeof(*gid));
	if (inet_pton(AF_INET, s, &a4) == 1) {
		gid->raw[10] = 0xff;
		gid->raw[11] = 0xff;
		memcpy(&gid->raw[12], &a4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, s, gid->raw) == 1 ? 0 : -1;
}

static int is_v4_mapped(const union ibv_gid *gid)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(gid->raw, prefix, sizeof(prefix));
}

/* First RoCEv2 GID of the same family as @remote, or -1. */
static int pick_sgid(struct ibv_context *ctx, const union ibv_gid *remote)
{
	struct ibv_port_attr pattr;
	struct ibv_gid_entry ent;
	int i;

	if (ibv_query_port(ctx, 1, &pattr))
		die("ibv_query_port", errno);
	for (i = 0; i < pattr.gid_tbl_len; i++) {
		if (ibv_query_gid_ex(ctx, 1, (uint32_t)i, &ent, 0))
			continue;
		if (ent.gid_type != IBV_GID_TYPE_ROCE_V2)
			continue;
		if (is_v4_mapped(&ent.gid) == is_v4_mapped(remote))
			return i;
	}
	return -1;
}

static void connect_qp(struct ibv_qp *qp, const union ibv_gid *remote,
		       int sgid)
{
	struct ibv_qp_attr a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	a.pkey_index = 0;
	a.port_num = 1;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
			    IBV_ACCESS_REMOTE_ATOMIC;
	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (ret)
		die("modify_qp INIT", ret);

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = EMIT_REMOTE_QPN;
	a.rq_psn = 0;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = *remote;
	a.ah_attr.grh.sgid_index = (uint8_t)sgid;
	a.ah_attr.grh.hop_limit = 64;
	a.ah_attr.port_num = 1;
	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV |
			    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			    IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
			    IBV_QP_MIN_RNR_TIMER);
	if (ret)
		die("modify_qp RTR", ret);

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 0;		/* infinite: no retransmissions */
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.sq_psn = EMIT_START_PSN;
	a.max_rd_atomic = 16;
	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			    IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			    IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
	if (ret)
		die("modify_qp RTS", ret);
}

static void post(struct ibv_qp *qp, struct ibv_mr *mr, uint8_t *buf,
		 unsigned int wr_idx)
{
	struct ibv_send_wr wr, *bad;
	struct ibv_sge sge;
	uint32_t i, len = emit_wr_len[wr_idx];
	int ret;

	for (i = 0; i < len; i++)
		buf[i] = emit_payload_byte(wr_idx, i);
	memset(&wr, 0, sizeof(wr));
	sge.addr = (uintptr_t)buf;
	sge.length = len;
	sge.lkey = mr->lkey;
	wr.wr_id = wr_idx;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.send_flags = IBV_SEND_SIGNALED;

	switch (wr_idx) {
	case EMIT_SEND:
	case EMIT_SEND_BIG:
		wr.opcode = IBV_WR_SEND;
		break;
	case EMIT_SEND_IMM:
		wr.opcode = IBV_WR_SEND_WITH_IMM;
		wr.imm_data = htonl(EMIT_IMM);
		break;
	case EMIT_SEND_INV:
		wr.opcode = IBV_WR_SEND_WITH_INV;
		wr.invalidate_rkey = EMIT_INV_RKEY;
		break;
	case EMIT_WRITE:
		wr.opcode = IBV_WR_RDMA_WRITE;
		break;
	case EMIT_WRITE_IMM:
		wr.opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
		wr.imm_data = htonl(EMIT_IMM);
		break;
	case EMIT_READ:
		wr.opcode = IBV_WR_RDMA_READ;
		break;
	case EMIT_CMP_SWAP:
		wr.opcode = IBV_WR_ATOMIC_CMP_AND_SWP;
		wr.wr.atomic.remote_addr = emit_remote_va(wr_idx);
		wr.wr.atomic.rkey = EMIT_RKEY;
		wr.wr.atomic.compare_add = EMIT_CMP;
		wr.wr.atomic.swap = EMIT_SWAP;
		break;
	case EMIT_FETCH_ADD:
		wr.opcode = IBV_WR_ATOMIC_FETCH_AND_ADD;
		wr.wr.atomic.remote_addr = emit_remote_va(wr_idx);
		wr.wr.atomic.rkey = EMIT_RKEY;
		wr.wr.atomic.compare_add = EMIT_ADD;
		break;
	}
	if (wr.opcode == IBV_WR_RDMA_WRITE ||
	    wr.opcode == IBV_WR_RDMA_WRITE_WITH_IMM ||
	    wr.opcode == IBV_WR_RDMA_READ) {
		wr.wr.rdma.remote_addr = emit_remote_va(wr_idx);
		wr.wr.rdma.rkey = EMIT_RKEY;
	}
	ret = ibv_post_send(qp, &wr, &bad);
	if (ret)
		die("ibv_post_send", ret);
}

int main(int argc, char **argv)
{
	const char *devname = "rxe0";
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	struct ibv_qp_init_attr qia;
	union ibv_gid remote;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	struct ibv_qp *qp;
	int sgid = -1, wait_s = 1, opt, i, n;
	uint8_t *bufs;

	while ((opt = getopt(argc, argv, "d:g:w:")) != -1) {
		switch (opt) {
		case 'd':
			devname = optarg;
			break;
		case 'g':
			sgid = atoi(optarg);
			break;
		case 'w':
			wait_s = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || parse_gid(argv[optind], &remote))
		goto usage;

	list = ibv_get_device_list(&n);
	if (!list)
		die("ibv_get_device_list", errno);
	for (i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), devname))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!ctx) {
		fprintf(stderr, "rxe_emit: no device %s\n", devname);
		return 1;
	}
	if (sgid < 0)
		sgid = pick_sgid(ctx, &remote);
	if (sgid < 0) {
		fprintf(stderr, "rxe_emit: no RoCEv2 GID of that family\n");
		return 1;
	}

	pd = ibv_alloc_pd(ctx);
	cq = ibv_create_cq(ctx, 64, NULL, NULL, 0);
	bufs = aligned_alloc(4096, BUF_SIZE * EMIT_NR_WR);
	if (!pd || !cq || !bufs)
		die("alloc", errno);
	mr = ibv_reg_mr(pd, bufs, BUF_SIZE * EMIT_NR_WR,
			IBV_ACCESS_LOCAL_WRITE);
	if (!mr)
		die("ibv_reg_mr", errno);
	memset(&qia, 0, sizeof(qia));
	qia.send_cq = cq;
	qia.recv_cq = cq;
	qia.qp_type = IBV_QPT_RC;
	qia.cap.max_send_wr = 32;
	qia.cap.max_recv_wr = 1;
	qia.cap.max_send_sge = 1;
	qia.cap.max_recv_sge = 1;
	qp = ibv_create_qp(pd, &qia);
	if (!qp)
		die("ibv_create_qp", errno);
	connect_qp(qp, &remote, sgid);
	printf("rxe_emit: %s sgid %d qpn 0x%06x -> qpn 0x%06x\n", devname,
	       sgid, qp->qp_num, EMIT_REMOTE_QPN);

	for (i = 0; i < EMIT_NR_WR; i++)
		post(qp, mr, bufs + (size_t)i * BUF_SIZE, (unsigned int)i);
	/* Let the packets leave before the QP is torn down. */
	sleep((unsigned int)wait_s);

	ibv_destroy_qp(qp);
	ibv_dereg_mr(mr);
	ibv_destroy_cq(cq);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	free(bufs);
	return 0;

usage:
	fprintf(stderr, "usage: rxe_emit [-d DEV] [-g SGID_INDEX] "
		"[-w SECONDS] REMOTE_GID\n");
	return 2;
}
