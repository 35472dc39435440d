// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cm_test: the rdma_cm (librdmacm) events and operations that the stock
 * tools (rping, ucmatose, udaddy, ...) do not check, between two RDMA
 * devices picked by their IP addresses (run in the guest by
 * suites/66-rdmacm.sh, TAP output).
 *
 *   cm_test [--mcast] CLI_NS SRV_NS SRV_ADDR PORT
 *   cm_test --count [--mcast]
 *   cm_test --hold NS ADDR PORT
 *
 * One process, one thread, plays both sides: each rdma_cm id is created
 * with the thread in the network namespace of its side (NS "-" is the
 * initial one, else a name under /var/run/netns), so the client's address
 * picks the client's device and SRV_ADDR the server's.  Every event is
 * awaited on its own channel with a bound (EV_MS), and must be exactly
 * the one expected.  The cases:
 *
 *  1. RC connect: the client sees ADDR_RESOLVED, ROUTE_RESOLVED,
 *     ESTABLISHED, the server CONNECT_REQUEST then ESTABLISHED; the
 *     connect's private data arrives with CONNECT_REQUEST and the
 *     accept's with the client's ESTABLISHED, byte for byte.
 *  2. Data over those QPs: a 4 KiB SEND each way, checked byte for byte.
 *  3. The client's rdma_disconnect: DISCONNECTED at the server, whose
 *     rdma_disconnect (the DREP) then ends the client's with DISCONNECTED.
 *  4. rdma_migrate_id: a connected client id moved to a second event
 *     channel; the server's rdma_disconnect then delivers DISCONNECTED on
 *     the new channel and nothing on the old one (the client's answering
 *     rdma_disconnect, DISCONNECTED at the server).
 *  5. Reject: the server's rdma_reject with private data; the client gets
 *     REJECTED with status 28 (IB_CM_REJ_CONSUMER_DEFINED) and that data.
 *  6. RDMA_PS_UDP: SIDR resolution (CONNECT_REQUEST, accept, the client's
 *     ESTABLISHED with the server's QPN and Q_Key); a datagram through the
 *     AH made from that ud_param, and the reply through an AH made from
 *     the received completion's GRH, both checked byte for byte.
 *  7. (--mcast) rdma_join_multicast of both sides' UD ids to 239.1.2.3
 *     (MULTICAST_JOIN with the group's AH, QPN 0xffffff); a datagram the
 *     client sends to the group reaches the server's QP; leave.
 *
 * --hold: listen on ADDR:PORT in NS, print "listening", then on every
 * CONNECT_REQUEST print "connect request" and neither accept nor reject;
 * run until killed (the suite's connection-setup kill cases).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rdma/rdma_cma.h>

#include "common.h"

#define EV_MS		20000	/* an event must come within this */
#define WC_MS		10000
#define MSG_LEN		4096
#define UD_LEN		256
#define GRH_LEN		40
#define PD_REQ_LEN	40	/* connect private data (56 at most on RoCE) */
#define PD_REP_LEN	100	/* accept private data (196 at most) */
#define PD_REJ_LEN	60	/* reject private data (148 at most) */
#define MCAST_ADDR	"239.1.2.3"

static int init_ns = -1;

/* enter_ns NS: the thread's network namespace becomes NS ("-": initial). */
static void enter_ns(const char *ns)
{
	char path[256];
	int fd;

	if (strcmp(ns, "-") == 0) {
		if (setns(init_ns, CLONE_NEWNET))
			vt_die("setns(initial): %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		vt_die("%s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET))
		vt_die("setns(%s): %s", ns, strerror(errno));
	close(fd);
}

static void sockaddr_of(const char *addr, int port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
		vt_die("bad IPv4 address %s", addr);
}

/*
 * get_event CH WANT WHO: the next event on CH, which must be WANT; NULL
 * (with a diagnostic, the case failing) when another one or none comes
 * within EV_MS.  The caller acks a returned event.
 */
static struct rdma_cm_event *get_event(struct rdma_event_channel *ch,
				       enum rdma_cm_event_type want,
				       const char *who)
{
	struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };
	struct rdma_cm_event *ev;
	int n;

	n = poll(&pfd, 1, EV_MS);
	if (n <= 0) {
		vt_bad("%s: no event within %d ms, want %s", who, EV_MS,
		       rdma_event_str(want));
		return NULL;
	}
	if (rdma_get_cm_event(ch, &ev)) {
		vt_bad("%s: rdma_get_cm_event: %s", who, strerror(errno));
		return NULL;
	}
	if (ev->event != want) {
		vt_bad("%s: event %s (status %d), want %s", who,
		       rdma_event_str(ev->event), ev->status,
		       rdma_event_str(want));
		rdma_ack_cm_event(ev);
		return NULL;
	}
	return ev;
}

/* expect_event: get_event() and ack it; whether it came. */
static bool expect_event(struct rdma_event_channel *ch,
			 enum rdma_cm_event_type want, const char *who)
{
	struct rdma_cm_event *ev = get_event(ch, want, who);

	if (!ev)
		return false;
	rdma_ack_cm_event(ev);
	return true;
}

/* no_event CH MS WHO: nothing arrives on CH for MS ms. */
static void no_event(struct rdma_event_channel *ch, int ms, const char *who)
{
	struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };
	struct rdma_cm_event *ev;

	if (poll(&pfd, 1, ms) <= 0)
		return;
	if (rdma_get_cm_event(ch, &ev) == 0) {
		vt_bad("%s: unexpected event %s", who,
		       rdma_event_str(ev->event));
		rdma_ack_cm_event(ev);
	}
}

static struct rdma_event_channel *channel(void)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();

	if (!ch)
		vt_die("rdma_create_event_channel: %s", strerror(errno));
	return ch;
}

/* A connected (or connecting) pair and what its checks need. */
struct pair {
	const char *cns, *sns, *saddr;
	int port;
	enum rdma_port_space ps;
	struct rdma_event_channel *cch, *sch;
	struct rdma_cm_id *cid, *lid, *sid;	/* client, listener, child */
	struct ibv_mr *cmr, *smr;
	char *cbuf, *sbuf;
	struct ibv_ah *cah, *sah;
	uint32_t rqpn, rqkey;			/* the server's, from SIDR */
};

static int qp_create(struct rdma_cm_id *id, enum ibv_qp_type type)
{
	struct ibv_qp_init_attr a = {
		.qp_type = type,
		.cap = {
			.max_send_wr = 8, .max_recv_wr = 8,
			.max_send_sge = 1, .max_recv_sge = 1,
		},
		.sq_sig_all = 1,
	};

	if (rdma_create_qp(id, NULL, &a)) {
		vt_bad("rdma_create_qp: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static struct ibv_mr *mr_of(struct rdma_cm_id *id, char **buf)
{
	struct ibv_mr *mr;

	*buf = calloc(1, MSG_LEN + GRH_LEN);
	if (!*buf)
		vt_die("out of memory");
	mr = ibv_reg_mr(id->pd, *buf, MSG_LEN + GRH_LEN,
			IBV_ACCESS_LOCAL_WRITE);
	if (!mr)
		vt_bad("ibv_reg_mr: %s", strerror(errno));
	return mr;
}

/*
 * pair_open P: the server listens, the client resolves (ADDR_RESOLVED,
 * ROUTE_RESOLVED) and gets its QP and buffer; no connect yet.
 */
static bool pair_open(struct pair *p)
{
	struct sockaddr_in sin;
	enum ibv_qp_type type = p->ps == RDMA_PS_UDP ? IBV_QPT_UD :
			IBV_QPT_RC;

	enter_ns(p->sns);
	p->sch = channel();
	if (rdma_create_id(p->sch, &p->lid, p, p->ps)) {
		vt_bad("server rdma_create_id: %s", strerror(errno));
		return false;
	}
	sockaddr_of(p->saddr, p->port, &sin);
	if (rdma_bind_addr(p->lid, (struct sockaddr *)&sin) ||
	    rdma_listen(p->lid, 4)) {
		vt_bad("server bind/listen on %s:%d: %s", p->saddr, p->port,
		       strerror(errno));
		return false;
	}

	enter_ns(p->cns);
	p->cch = channel();
	if (rdma_create_id(p->cch, &p->cid, p, p->ps)) {
		vt_bad("client rdma_create_id: %s", strerror(errno));
		return false;
	}
	if (rdma_resolve_addr(p->cid, NULL, (struct sockaddr *)&sin, 5000)) {
		vt_bad("rdma_resolve_addr: %s", strerror(errno));
		return false;
	}
	if (!expect_event(p->cch, RDMA_CM_EVENT_ADDR_RESOLVED, "client"))
		return false;
	if (rdma_resolve_route(p->cid, 5000)) {
		vt_bad("rdma_resolve_route: %s", strerror(errno));
		return false;
	}
	if (!expect_event(p->cch, RDMA_CM_EVENT_ROUTE_RESOLVED, "client"))
		return false;
	if (!p->cid->verbs) {
		vt_bad("the resolved client id has no device");
		return false;
	}
	if (qp_create(p->cid, type))
		return false;
	p->cmr = mr_of(p->cid, &p->cbuf);
	return p->cmr != NULL;
}

/*
 * server_request P REQ_PD LEN: the server's CONNECT_REQUEST (its private
 * data checked against REQ_PD) with its new id in p->sid, which gets a QP
 * and a buffer unless @bare.
 */
static bool server_request(struct pair *p, const char *req_pd, int len,
			   bool bare)
{
	struct rdma_cm_event *ev;
	enum ibv_qp_type type = p->ps == RDMA_PS_UDP ? IBV_QPT_UD :
			IBV_QPT_RC;
	bool ok = true;

	ev = get_event(p->sch, RDMA_CM_EVENT_CONNECT_REQUEST, "server");
	if (!ev)
		return false;
	p->sid = ev->id;
	if (ev->listen_id != p->lid) {
		vt_bad("CONNECT_REQUEST: listen_id is not the listener");
		ok = false;
	}
	if (req_pd && p->ps == RDMA_PS_TCP) {
		if (ev->param.conn.private_data_len < len ||
		    memcmp(ev->param.conn.private_data, req_pd, len)) {
			vt_bad("CONNECT_REQUEST: private data (%u bytes)"
			       " differs from the connect's (%d)",
			       ev->param.conn.private_data_len, len);
			ok = false;
		}
	} else if (req_pd) {
		if (ev->param.ud.private_data_len < len ||
		    memcmp(ev->param.ud.private_data, req_pd, len)) {
			vt_bad("CONNECT_REQUEST (UD): private data (%u bytes)"
			       " differs from the connect's (%d)",
			       ev->param.ud.private_data_len, len);
			ok = false;
		}
	}
	rdma_ack_cm_event(ev);
	if (!ok || bare)
		return ok;
	if (qp_create(p->sid, type))
		return false;
	p->smr = mr_of(p->sid, &p->sbuf);
	return p->smr != NULL;
}

static void pair_close(struct pair *p)
{
	if (p->cah)
		ibv_destroy_ah(p->cah);
	if (p->sah)
		ibv_destroy_ah(p->sah);
	if (p->cmr)
		ibv_dereg_mr(p->cmr);
	if (p->smr)
		ibv_dereg_mr(p->smr);
	free(p->cbuf);
	free(p->sbuf);
	if (p->cid) {
		if (p->cid->qp)
			rdma_destroy_qp(p->cid);
		rdma_destroy_id(p->cid);
	}
	if (p->sid) {
		if (p->sid->qp)
			rdma_destroy_qp(p->sid);
		rdma_destroy_id(p->sid);
	}
	if (p->lid)
		rdma_destroy_id(p->lid);
	if (p->cch)
		rdma_destroy_event_channel(p->cch);
	if (p->sch)
		rdma_destroy_event_channel(p->sch);
	memset(p, 0, sizeof(*p));
}

/* The connect/accept private data (bytes that are not all alike). */
static void pattern(char *b, int len, unsigned int seed)
{
	vt_fill(b, len, seed);
}

/*
 * rc_connect P: connect with private data, accept with private data;
 * the events and the data checked (case 1).
 */
static bool rc_connect(struct pair *p)
{
	struct rdma_conn_param cp = { .responder_resources = 1,
				      .initiator_depth = 1,
				      .retry_count = 7, .rnr_retry_count = 7 };
	char req[PD_REQ_LEN], rep[PD_REP_LEN];
	struct rdma_cm_event *ev;
	bool ok = true;

	pattern(req, sizeof(req), 0x1001);
	pattern(rep, sizeof(rep), 0x2002);
	cp.private_data = req;
	cp.private_data_len = sizeof(req);
	if (rdma_connect(p->cid, &cp)) {
		vt_bad("rdma_connect: %s", strerror(errno));
		return false;
	}
	if (!server_request(p, req, sizeof(req), false))
		return false;
	cp.private_data = rep;
	cp.private_data_len = sizeof(rep);
	if (rdma_accept(p->sid, &cp)) {
		vt_bad("rdma_accept: %s", strerror(errno));
		return false;
	}
	ev = get_event(p->cch, RDMA_CM_EVENT_ESTABLISHED, "client");
	if (!ev)
		return false;
	if (ev->param.conn.private_data_len < sizeof(rep) ||
	    memcmp(ev->param.conn.private_data, rep, sizeof(rep))) {
		vt_bad("client ESTABLISHED: private data (%u bytes) differs"
		       " from the accept's (%zu)",
		       ev->param.conn.private_data_len, sizeof(rep));
		ok = false;
	}
	rdma_ack_cm_event(ev);
	if (!expect_event(p->sch, RDMA_CM_EVENT_ESTABLISHED, "server"))
		return false;
	return ok;
}

static bool wait_wc(struct ibv_cq *cq, struct ibv_wc *wc, const char *what)
{
	if (!vt_get_wc(cq, wc, WC_MS)) {
		vt_bad("%s: no completion within %d ms", what, WC_MS);
		return false;
	}
	if (wc->status != IBV_WC_SUCCESS) {
		vt_bad("%s: completion status %s", what,
		       ibv_wc_status_str(wc->status));
		return false;
	}
	return true;
}

/*
 * send_one FROM TO: a SEND of LEN bytes from FROM's buffer into TO's
 * (a receive posted first), checked byte for byte.  For UD, AH, QPN and
 * Q_Key address it and the receiver's data follows the GRH.
 */
static bool send_one(struct rdma_cm_id *from, struct ibv_mr *fmr,
		     struct rdma_cm_id *to, struct ibv_mr *tmr, int len,
		     unsigned int seed, struct ibv_ah *ah, uint32_t qpn,
		     uint32_t qkey, struct ibv_wc *rwc, const char *what)
{
	int off = ah ? GRH_LEN : 0;
	char *fb = fmr->addr, *tb = tmr->addr;
	struct ibv_sge rsg = { .addr = (uintptr_t)tb,
			       .length = len + off, .lkey = tmr->lkey };
	struct ibv_sge ssg = { .addr = (uintptr_t)fb, .length = len,
			       .lkey = fmr->lkey };
	struct ibv_recv_wr rwr = { .wr_id = 2, .sg_list = &rsg,
				   .num_sge = 1 }, *brw;
	struct ibv_send_wr swr = { .wr_id = 1, .sg_list = &ssg,
				   .num_sge = 1, .opcode = IBV_WR_SEND,
				   .send_flags = IBV_SEND_SIGNALED }, *bsw;
	struct ibv_wc wc;
	int i;

	memset(tb, 0, len + off);
	pattern(fb, len, seed);
	if (ibv_post_recv(to->qp, &rwr, &brw)) {
		vt_bad("%s: ibv_post_recv: %s", what, strerror(errno));
		return false;
	}
	if (ah) {
		swr.wr.ud.ah = ah;
		swr.wr.ud.remote_qpn = qpn;
		swr.wr.ud.remote_qkey = qkey;
	}
	if (ibv_post_send(from->qp, &swr, &bsw)) {
		vt_bad("%s: ibv_post_send: %s", what, strerror(errno));
		return false;
	}
	if (!wait_wc(from->send_cq, &wc, what) ||
	    !wait_wc(to->recv_cq, rwc, what))
		return false;
	if (rwc->byte_len != (uint32_t)(len + off)) {
		vt_bad("%s: received %u bytes, want %d", what, rwc->byte_len,
		       len + off);
		return false;
	}
	for (i = 0; i < len; i++) {
		if (tb[off + i] != fb[i]) {
			vt_bad("%s: byte %d is 0x%02x, want 0x%02x", what, i,
			       (unsigned char)tb[off + i],
			       (unsigned char)fb[i]);
			return false;
		}
	}
	return true;
}

static void case_rc(struct pair *p, const char *label)
{
	struct ibv_wc wc;
	char name[300];
	bool up;

	vt_case_begin();
	up = pair_open(p) && rc_connect(p);
	snprintf(name, sizeof(name), "RC connect/accept: events and private"
		 " data both ways, %s", label);
	vt_case_end(name);

	vt_case_begin();
	if (!up) {
		vt_bad("not connected");
	} else {
		send_one(p->cid, p->cmr, p->sid, p->smr, MSG_LEN, 7, NULL, 0,
			 0, &wc, "client -> server");
		send_one(p->sid, p->smr, p->cid, p->cmr, MSG_LEN, 8, NULL, 0,
			 0, &wc, "server -> client");
	}
	snprintf(name, sizeof(name), "RC: 4 KiB SEND each way, data checked,"
		 " %s", label);
	vt_case_end(name);

	vt_case_begin();
	if (!up) {
		vt_bad("not connected");
	} else if (rdma_disconnect(p->cid)) {
		vt_bad("client rdma_disconnect: %s", strerror(errno));
	} else if (expect_event(p->sch, RDMA_CM_EVENT_DISCONNECTED,
				"server")) {
		/* The DREP: the client's DISCONNECTED waits for it. */
		if (rdma_disconnect(p->sid))
			vt_bad("server rdma_disconnect: %s", strerror(errno));
		expect_event(p->cch, RDMA_CM_EVENT_DISCONNECTED, "client");
	}
	snprintf(name, sizeof(name), "RC: client rdma_disconnect,"
		 " DISCONNECTED on both sides, %s", label);
	vt_case_end(name);
	pair_close(p);
}

static void case_migrate(struct pair *p, const char *label)
{
	struct rdma_event_channel *ch2 = channel();
	char name[300];

	vt_case_begin();
	if (pair_open(p) && rc_connect(p)) {
		if (rdma_migrate_id(p->cid, ch2)) {
			vt_bad("rdma_migrate_id: %s", strerror(errno));
		} else if (rdma_disconnect(p->sid)) {
			vt_bad("server rdma_disconnect: %s", strerror(errno));
		} else if (expect_event(ch2, RDMA_CM_EVENT_DISCONNECTED,
					"client (second channel)")) {
			no_event(p->cch, 300, "client (first channel)");
			if (rdma_disconnect(p->cid))
				vt_bad("client rdma_disconnect: %s",
				       strerror(errno));
			expect_event(p->sch, RDMA_CM_EVENT_DISCONNECTED,
				     "server");
		}
	}
	snprintf(name, sizeof(name), "rdma_migrate_id to a second channel:"
		 " the server's disconnect arrives there, %s", label);
	vt_case_end(name);
	pair_close(p);
	rdma_destroy_event_channel(ch2);
}

static void case_reject(struct pair *p, const char *label)
{
	struct rdma_conn_param cp = { .responder_resources = 1,
				      .initiator_depth = 1,
				      .retry_count = 7, .rnr_retry_count = 7 };
	char req[PD_REQ_LEN], rej[PD_REJ_LEN];
	struct rdma_cm_event *ev;
	char name[300];

	vt_case_begin();
	pattern(req, sizeof(req), 0x3003);
	pattern(rej, sizeof(rej), 0x4004);
	cp.private_data = req;
	cp.private_data_len = sizeof(req);
	if (!pair_open(p)) {
		/* (diagnosed) */
	} else if (rdma_connect(p->cid, &cp)) {
		vt_bad("rdma_connect: %s", strerror(errno));
	} else if (server_request(p, req, sizeof(req), true)) {
		if (rdma_reject(p->sid, rej, sizeof(rej))) {
			vt_bad("rdma_reject: %s", strerror(errno));
		} else {
			ev = get_event(p->cch, RDMA_CM_EVENT_REJECTED,
				       "client");
			if (ev) {
				if (ev->status != 28)
					vt_bad("REJECTED: status %d, want 28"
					       " (consumer reject)",
					       ev->status);
				if (ev->param.conn.private_data_len <
				    sizeof(rej) ||
				    memcmp(ev->param.conn.private_data, rej,
					   sizeof(rej)))
					vt_bad("REJECTED: private data (%u"
					       " bytes) differs from the"
					       " reject's",
					       ev->param.conn.private_data_len);
				rdma_ack_cm_event(ev);
			}
			no_event(p->sch, 300, "server");
		}
	}
	snprintf(name, sizeof(name), "rdma_reject with private data: REJECTED"
		 " (reason 28) and the data at the client, %s", label);
	vt_case_end(name);
	pair_close(p);
}

static void case_ud(struct pair *p, const char *label)
{
	struct rdma_conn_param cp = { 0 };
	char req[PD_REQ_LEN];
	struct rdma_cm_event *ev;
	struct ibv_wc wc;
	char name[300];

	vt_case_begin();
	p->ps = RDMA_PS_UDP;
	pattern(req, sizeof(req), 0x5005);
	cp.private_data = req;
	cp.private_data_len = sizeof(req);
	if (!pair_open(p))
		goto out;
	if (rdma_connect(p->cid, &cp)) {
		vt_bad("rdma_connect (UD): %s", strerror(errno));
		goto out;
	}
	if (!server_request(p, req, sizeof(req), false))
		goto out;
	cp.private_data = NULL;
	cp.private_data_len = 0;
	cp.qp_num = p->sid->qp->qp_num;
	if (rdma_accept(p->sid, &cp)) {
		vt_bad("rdma_accept (UD): %s", strerror(errno));
		goto out;
	}
	ev = get_event(p->cch, RDMA_CM_EVENT_ESTABLISHED, "client");
	if (!ev)
		goto out;
	p->rqpn = ev->param.ud.qp_num;
	p->rqkey = ev->param.ud.qkey;
	p->cah = ibv_create_ah(p->cid->pd, &ev->param.ud.ah_attr);
	rdma_ack_cm_event(ev);
	if (p->rqpn != p->sid->qp->qp_num)
		vt_bad("ESTABLISHED (UD): QPN 0x%x, the server's is 0x%x",
		       p->rqpn, p->sid->qp->qp_num);
	if (p->rqkey != RDMA_UDP_QKEY)
		vt_bad("ESTABLISHED (UD): Q_Key 0x%x, want 0x%x", p->rqkey,
		       RDMA_UDP_QKEY);
	if (!p->cah) {
		vt_bad("ibv_create_ah from ud_param: %s", strerror(errno));
		goto out;
	}
	if (!send_one(p->cid, p->cmr, p->sid, p->smr, UD_LEN, 9, p->cah,
		      p->rqpn, p->rqkey, &wc, "UD client -> server"))
		goto out;
	if (wc.src_qp != p->cid->qp->qp_num)
		vt_bad("UD: src_qp 0x%x, the client's QP is 0x%x", wc.src_qp,
		       p->cid->qp->qp_num);
	p->sah = ibv_create_ah_from_wc(p->sid->pd, &wc,
				       (struct ibv_grh *)p->sbuf,
				       p->sid->port_num);
	if (!p->sah) {
		vt_bad("ibv_create_ah_from_wc: %s", strerror(errno));
		goto out;
	}
	send_one(p->sid, p->smr, p->cid, p->cmr, UD_LEN, 10, p->sah,
		 wc.src_qp, RDMA_UDP_QKEY, &wc, "UD server -> client");
out:
	snprintf(name, sizeof(name), "RDMA_PS_UDP: SIDR, a datagram each way"
		 " (AH from ud_param, reply from the WC), %s", label);
	vt_case_end(name);
	pair_close(p);
}

/*
 * join NS ADDR CH ID AH QPN QKEY: a UD id bound to ADDR in NS with a QP,
 * joined to MCAST_ADDR; the group's AH, QPN and Q_Key from MULTICAST_JOIN.
 */
static bool join(const char *ns, const char *addr,
		 struct rdma_event_channel **ch, struct rdma_cm_id **id,
		 struct ibv_ah **ah, uint32_t *qpn, uint32_t *qkey,
		 const char *who)
{
	struct sockaddr_in sin, mc;
	struct rdma_cm_event *ev;

	enter_ns(ns);
	*ch = channel();
	if (rdma_create_id(*ch, id, NULL, RDMA_PS_UDP)) {
		vt_bad("%s: rdma_create_id: %s", who, strerror(errno));
		return false;
	}
	sockaddr_of(addr, 0, &sin);
	sockaddr_of(MCAST_ADDR, 0, &mc);
	if (rdma_bind_addr(*id, (struct sockaddr *)&sin)) {
		vt_bad("%s: rdma_bind_addr %s: %s", who, addr,
		       strerror(errno));
		return false;
	}
	if (qp_create(*id, IBV_QPT_UD))
		return false;
	if (rdma_join_multicast(*id, (struct sockaddr *)&mc, NULL)) {
		vt_bad("%s: rdma_join_multicast: %s", who, strerror(errno));
		return false;
	}
	ev = get_event(*ch, RDMA_CM_EVENT_MULTICAST_JOIN, who);
	if (!ev)
		return false;
	*qpn = ev->param.ud.qp_num;
	*qkey = ev->param.ud.qkey;
	*ah = ibv_create_ah((*id)->pd, &ev->param.ud.ah_attr);
	rdma_ack_cm_event(ev);
	if (*qpn != 0xffffff)
		vt_bad("%s: MULTICAST_JOIN QPN 0x%x, want 0xffffff", who,
		       *qpn);
	if (!*ah) {
		vt_bad("%s: ibv_create_ah (group): %s", who, strerror(errno));
		return false;
	}
	return true;
}

static void case_mcast(const char *cns, const char *caddr, const char *sns,
		       const char *saddr, const char *label)
{
	struct rdma_event_channel *cch = NULL, *sch = NULL;
	struct rdma_cm_id *cid = NULL, *sid = NULL;
	struct ibv_ah *cah = NULL, *sah = NULL;
	struct ibv_mr *cmr = NULL, *smr = NULL;
	char *cbuf = NULL, *sbuf = NULL;
	uint32_t qpn, qkey, sqpn, sqkey;
	struct sockaddr_in mc;
	struct ibv_wc wc;
	char name[300];

	vt_case_begin();
	sockaddr_of(MCAST_ADDR, 0, &mc);
	if (!join(sns, saddr, &sch, &sid, &sah, &sqpn, &sqkey, "server") ||
	    !join(cns, caddr, &cch, &cid, &cah, &qpn, &qkey, "client"))
		goto out;
	cmr = mr_of(cid, &cbuf);
	smr = mr_of(sid, &sbuf);
	if (!cmr || !smr)
		goto out;
	/* IGMP and the bridge: give the group a moment, then send. */
	if (send_one(cid, cmr, sid, smr, UD_LEN, 11, cah, qpn, qkey, &wc,
		     "multicast client -> group") &&
	    wc.src_qp != cid->qp->qp_num)
		vt_bad("multicast: src_qp 0x%x, the client's QP is 0x%x",
		       wc.src_qp, cid->qp->qp_num);
	if (rdma_leave_multicast(cid, (struct sockaddr *)&mc))
		vt_bad("client rdma_leave_multicast: %s", strerror(errno));
	if (rdma_leave_multicast(sid, (struct sockaddr *)&mc))
		vt_bad("server rdma_leave_multicast: %s", strerror(errno));
out:
	snprintf(name, sizeof(name), "rdma_join_multicast %s: MULTICAST_JOIN"
		 " both sides, a datagram to the group arrives, %s",
		 MCAST_ADDR, label);
	vt_case_end(name);
	if (cah)
		ibv_destroy_ah(cah);
	if (sah)
		ibv_destroy_ah(sah);
	if (cmr)
		ibv_dereg_mr(cmr);
	if (smr)
		ibv_dereg_mr(smr);
	free(cbuf);
	free(sbuf);
	if (cid) {
		if (cid->qp)
			rdma_destroy_qp(cid);
		rdma_destroy_id(cid);
	}
	if (sid) {
		if (sid->qp)
			rdma_destroy_qp(sid);
		rdma_destroy_id(sid);
	}
	if (cch)
		rdma_destroy_event_channel(cch);
	if (sch)
		rdma_destroy_event_channel(sch);
}

static int hold(const char *ns, const char *addr, int port)
{
	struct rdma_event_channel *ch;
	struct rdma_cm_event *ev;
	struct rdma_cm_id *lid;
	struct sockaddr_in sin;

	enter_ns(ns);
	ch = channel();
	sockaddr_of(addr, port, &sin);
	if (rdma_create_id(ch, &lid, NULL, RDMA_PS_TCP) ||
	    rdma_bind_addr(lid, (struct sockaddr *)&sin) ||
	    rdma_listen(lid, 4)) {
		fprintf(stderr, "listen on %s:%d: %s\n", addr, port,
			strerror(errno));
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		if (rdma_get_cm_event(ch, &ev)) {
			fprintf(stderr, "rdma_get_cm_event: %s\n",
				strerror(errno));
			return 1;
		}
		printf("%s\n", ev->event == RDMA_CM_EVENT_CONNECT_REQUEST ?
		       "connect request" : rdma_event_str(ev->event));
		fflush(stdout);
		rdma_ack_cm_event(ev);
	}
}

/* The client's own address: the first IPv4 address of its namespace. */
static const char *client_addr(const char *cns)
{
	if (strcmp(cns, "ns0") == 0)
		return "10.77.0.10";
	if (strcmp(cns, "ns1") == 0)
		return "10.77.0.11";
	return "10.77.0.2";
}

int main(int argc, char **argv)
{
	struct pair p = { 0 };
	bool mcast = false;
	char label[200];
	int port, i = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && strcmp(argv[1], "--hold") == 0) {
		init_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		return hold(argv[2], argv[3], atoi(argv[4]));
	}
	if (argc > 1 && strcmp(argv[1], "--count") == 0) {
		mcast = argc > 2 && strcmp(argv[2], "--mcast") == 0;
		printf("%d\n", 6 + mcast);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--mcast") == 0) {
		mcast = true;
		i++;
	}
	if (argc - i != 4) {
		fprintf(stderr, "usage: cm_test [--mcast] CLI_NS SRV_NS"
			" SRV_ADDR PORT | --count [--mcast] |"
			" --hold NS ADDR PORT\n");
		return 2;
	}
	init_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (init_ns < 0)
		vt_die("/proc/self/ns/net: %s", strerror(errno));
	port = atoi(argv[i + 3]);
	snprintf(label, sizeof(label), "%s -> %s:%d (netns %s -> %s)",
		 client_addr(argv[i]), argv[i + 2], port, argv[i],
		 argv[i + 1]);
	printf("1..%d\n", 6 + mcast);

#define PAIR(pt) (struct pair){ .cns = argv[i], .sns = argv[i + 1], \
				.saddr = argv[i + 2], .port = (pt), \
				.ps = RDMA_PS_TCP }
	p = PAIR(port);
	case_rc(&p, label);
	p = PAIR(port + 1);
	case_migrate(&p, label);
	p = PAIR(port + 2);
	case_reject(&p, label);
	p = PAIR(port + 3);
	case_ud(&p, label);
	if (mcast)
		case_mcast(argv[i], client_addr(argv[i]), argv[i + 1],
			   argv[i + 2], label);
	return vt_tap_failed ? 1 : 0;
}
