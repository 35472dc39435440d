// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * verbs.c: verbs helpers of the guest-side programs (see verbs.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <rdma/rdma_netlink.h>

#include "verbs.h"

/* ---------------------------------------------------------------------- */
/* Errors, names and time                                                  */
/* ---------------------------------------------------------------------- */

static char errbuf[256];

static void seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void seterr(const char *fmt, ...)
{
	char msg[sizeof(errbuf)];
	va_list ap;

	/* Formatted apart: an argument may be errbuf itself. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(errbuf, msg, sizeof(msg));
}

/**
 * vt_errmsg - what the last failed vt_ call that returns an error said
 *
 * Return: a sentence without a trailing newline ("" when none failed).
 */
const char *vt_errmsg(void)
{
	return errbuf;
}

/**
 * vt_now_ms - CLOCK_MONOTONIC in milliseconds
 *
 * Return: milliseconds since an arbitrary start.
 */
int64_t vt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * vt_wc_opcode_str - name of a completion opcode
 * @op: an enum ibv_wc_opcode value
 *
 * Return: "SEND", "RDMA_WRITE", ... or "?".
 */
const char *vt_wc_opcode_str(int op)
{
	switch (op) {
	case IBV_WC_SEND:		return "SEND";
	case IBV_WC_RDMA_WRITE:		return "RDMA_WRITE";
	case IBV_WC_RDMA_READ:		return "RDMA_READ";
	case IBV_WC_COMP_SWAP:		return "COMP_SWAP";
	case IBV_WC_FETCH_ADD:		return "FETCH_ADD";
	case IBV_WC_BIND_MW:		return "BIND_MW";
	case IBV_WC_LOCAL_INV:		return "LOCAL_INV";
	case IBV_WC_RECV:		return "RECV";
	case IBV_WC_RECV_RDMA_WITH_IMM:	return "RECV_RDMA_WITH_IMM";
	default:			return "?";
	}
}

/**
 * vt_qp_state_str - name of a QP state
 * @state: an enum ibv_qp_state value (or -1: unknown)
 *
 * Return: "RESET", "INIT", ... "ERR", or "?".
 */
const char *vt_qp_state_str(int state)
{
	static const char *const names[] = {
		"RESET", "INIT", "RTR", "RTS", "SQD", "SQE", "ERR" };

	return state >= 0 && state < 7 ? names[state] : "?";
}

/* ---------------------------------------------------------------------- */
/* Devices                                                                 */
/* ---------------------------------------------------------------------- */

struct vt_dev vt_devs[VT_MAX_DEVS];
unsigned int vt_ndevs;

static void dev_err(struct vt_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Note why device @d is unusable (formatted apart: fmt may use d->name). */
static void dev_err(struct vt_dev *d, const char *fmt, ...)
{
	char msg[sizeof(d->error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(d->error, msg, sizeof(msg));
	seterr("%s", msg);
}

static bool gid_is_v4mapped(const union ibv_gid *g)
{
	static const uint8_t prefix[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(g->raw, prefix, sizeof(prefix));
}

/* The first RoCE v2 GID of port 1 of the wanted family, not all zeros. */
static void dev_find_gid(struct vt_dev *d, bool ipv6)
{
	static const union ibv_gid zero;
	struct ibv_gid_entry e;
	int i;

	d->gid_index = -1;
	for (i = 0; i < d->port.gid_tbl_len; i++) {
		if (ibv_query_gid_ex(d->ctx, 1, (uint32_t)i, &e, 0))
			continue;
		if (e.gid_type != IBV_GID_TYPE_ROCE_V2 ||
		    gid_is_v4mapped(&e.gid) != !ipv6 ||
		    !memcmp(&e.gid, &zero, sizeof(zero)))
			continue;
		d->gid_index = i;
		d->gid = e.gid;
		return;
	}
	dev_err(d, "%s: no %s RoCE v2 GID among %d entries of port 1",
		d->name, ipv6 ? "IPv6" : "IPv4", d->port.gid_tbl_len);
}

/**
 * vt_dev_open - open an RDMA device and pick its RoCE v2 GID
 * @d: filled in (zeroed first)
 * @name: the device's name
 * @ipv6: pick its first IPv6 RoCE v2 GID (link-local included) instead of
 *	its IPv4 one
 *
 * Queries the device and port 1, notes whether it is a rodp device.
 *
 * Return: 0 when the device is open and has such a GID; -1 otherwise,
 * with @d->error (and vt_errmsg()) saying why; @d->ctx stays open when
 * only the GID is missing.
 */
int vt_dev_open(struct vt_dev *d, const char *name, bool ipv6)
{
	struct ibv_device **list;
	char path[256];
	struct stat st;
	int i, n;

	memset(d, 0, sizeof(*d));
	d->index = -1;
	d->gid_index = -1;
	snprintf(d->name, sizeof(d->name), "%s", name);
	list = ibv_get_device_list(&n);
	if (!list) {
		dev_err(d, "ibv_get_device_list: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), d->name))
			break;
	if (i == n) {
		dev_err(d, "%s: no such device", d->name);
		goto out;
	}
	d->index = ibv_get_device_index(list[i]);
	d->ctx = ibv_open_device(list[i]);
	if (!d->ctx) {
		dev_err(d, "%s: ibv_open_device: %s", d->name,
			strerror(errno));
		goto out;
	}
	if (ibv_query_device(d->ctx, &d->attr) ||
	    ibv_query_port(d->ctx, 1, &d->port)) {
		dev_err(d, "%s: query device/port failed", d->name);
		ibv_close_device(d->ctx);
		d->ctx = NULL;
		goto out;
	}
	snprintf(path, sizeof(path), "/sys/class/infiniband/%s/rodp_abi",
		 d->name);
	d->rodp = !stat(path, &st);
	dev_find_gid(d, ipv6);
out:
	ibv_free_device_list(list);
	return vt_dev_ok(d) ? 0 : -1;
}

/**
 * vt_dev_ok - is a device open with a usable GID
 * @d: the device
 *
 * Return: true when @d->ctx is open and @d->gid_index valid.
 */
bool vt_dev_ok(const struct vt_dev *d)
{
	return d->ctx && d->gid_index >= 0;
}

/**
 * vt_dev_get - the device called @name, opened on first use
 * @name: its name
 * @ipv6: as for vt_dev_open(), used when it is opened
 *
 * The devices stay in vt_devs[] (vt_ndevs of them) until
 * vt_devs_close(); one that cannot be used is kept with its error.
 *
 * Return: the device, or NULL when the table is full or @name too long.
 */
struct vt_dev *vt_dev_get(const char *name, bool ipv6)
{
	struct vt_dev *d;
	unsigned int i;

	for (i = 0; i < vt_ndevs; i++)
		if (!strcmp(vt_devs[i].name, name))
			return &vt_devs[i];
	if (vt_ndevs == VT_MAX_DEVS || strlen(name) >= sizeof(d->name))
		return NULL;
	d = &vt_devs[vt_ndevs++];
	vt_dev_open(d, name, ipv6);
	return d;
}

/**
 * vt_devs_close - close every device vt_dev_get() opened
 */
void vt_devs_close(void)
{
	unsigned int i;

	for (i = 0; i < vt_ndevs; i++)
		if (vt_devs[i].ctx) {
			ibv_close_device(vt_devs[i].ctx);
			vt_devs[i].ctx = NULL;
		}
}

/**
 * vt_mtu_bytes - an MTU in bytes
 * @m: IBV_MTU_256 ... IBV_MTU_4096
 *
 * Return: 256 ... 4096, or 0 for anything else.
 */
uint32_t vt_mtu_bytes(enum ibv_mtu m)
{
	return m >= IBV_MTU_256 && m <= IBV_MTU_4096 ? 128u << m : 0;
}

/**
 * vt_mtu_enum - an MTU in bytes as an enum ibv_mtu
 * @bytes: 256, 512, 1024, 2048 or 4096
 *
 * Return: its enum ibv_mtu, or 0 for any other size.
 */
enum ibv_mtu vt_mtu_enum(uint32_t bytes)
{
	enum ibv_mtu m;

	for (m = IBV_MTU_256; m <= IBV_MTU_4096; m++)
		if (vt_mtu_bytes(m) == bytes)
			return m;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* QPs and connections                                                     */
/* ---------------------------------------------------------------------- */

static uint8_t min_u8(uint32_t a, uint32_t b)
{
	uint32_t m = a < b ? a : b;

	return (uint8_t)(m > 255 ? 255 : m);
}

/**
 * vt_path_init - the usual path between devices @a (requester) and @b
 * @p: filled in
 * @a: one end
 * @b: the other end (may be @a)
 *
 * The smaller of the two ports' active MTU, 16 RDMA reads and atomics
 * in flight (less when a device allows less), every remote access, a
 * 268 ms local ACK timeout (TCG guests stall for tens of ms), 7 retries
 * and RNR retries, an RNR timer of 0.64 ms (12).
 */
void vt_path_init(struct vt_path *p, const struct vt_dev *a,
		  const struct vt_dev *b)
{
	memset(p, 0, sizeof(*p));
	p->mtu = a->port.active_mtu < b->port.active_mtu ?
		 a->port.active_mtu : b->port.active_mtu;
	p->rd_atomic = min_u8(16, (uint32_t)a->attr.max_qp_init_rd_atom);
	p->rd_atomic = min_u8(p->rd_atomic, (uint32_t)b->attr.max_qp_rd_atom);
	p->rd_atomic = min_u8(p->rd_atomic, (uint32_t)a->attr.max_qp_rd_atom);
	p->rd_atomic = min_u8(p->rd_atomic,
			      (uint32_t)b->attr.max_qp_init_rd_atom);
	p->dest_rd_atomic = p->rd_atomic;
	p->timeout = 16;
	p->retry_cnt = 7;
	p->rnr_retry = 7;
	p->min_rnr_timer = 12;
	p->access = VT_ACCESS_ALL;
}

/**
 * vt_qp_create - an RC QP
 * @pd: its protection domain
 * @scq: its send CQ
 * @rcq: its receive CQ (may be @scq)
 * @cap: the capabilities asked for; on success what was granted
 * @sig_all: sq_sig_all
 *
 * Return: the QP, or NULL with errno set.
 */
struct ibv_qp *vt_qp_create(struct ibv_pd *pd, struct ibv_cq *scq,
			    struct ibv_cq *rcq, struct ibv_qp_cap *cap,
			    bool sig_all)
{
	struct ibv_qp_init_attr ia;
	struct ibv_qp *qp;

	memset(&ia, 0, sizeof(ia));
	ia.send_cq = scq;
	ia.recv_cq = rcq;
	ia.qp_type = IBV_QPT_RC;
	ia.sq_sig_all = sig_all;
	ia.cap = *cap;
	qp = ibv_create_qp(pd, &ia);
	if (qp)
		*cap = ia.cap;
	return qp;
}

/**
 * vt_qp_move - move a QP to @state with no other attribute (RESET, ERR)
 * @qp: the QP
 * @state: the new state
 *
 * Return: 0 or the errno (vt_errmsg() says which QP and state).
 */
int vt_qp_move(struct ibv_qp *qp, enum ibv_qp_state state)
{
	struct ibv_qp_attr at = { .qp_state = state };
	int rc;

	rc = ibv_modify_qp(qp, &at, IBV_QP_STATE);
	if (rc)
		seterr("modify QP %u to %s: %s", qp->qp_num,
		       vt_qp_state_str(state), strerror(rc));
	return rc;
}

/**
 * vt_qp_to_init - RESET -> INIT on port 1, P_Key index 0
 * @qp: the QP
 * @access: its qp_access_flags
 *
 * Return: 0 or the errno (vt_errmsg() says which QP and step).
 */
int vt_qp_to_init(struct ibv_qp *qp, int access)
{
	struct ibv_qp_attr at;
	int rc;

	memset(&at, 0, sizeof(at));
	at.qp_state = IBV_QPS_INIT;
	at.pkey_index = 0;
	at.port_num = 1;
	at.qp_access_flags = (unsigned int)access;
	rc = ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			   IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (rc)
		seterr("modify QP %u RESET->INIT: %s", qp->qp_num,
		       strerror(rc));
	return rc;
}

/**
 * vt_qp_to_rtr - INIT -> RTR towards QP @dqpn at GID @dgid
 * @qp: the QP
 * @p: the path (MTU, max_dest_rd_atomic, min_rnr_timer)
 * @sgid_index: the local GID's index
 * @dqpn: the peer's QP number
 * @rq_psn: the first PSN expected (the peer's sq_psn)
 * @dgid: the peer's GID
 *
 * Return: 0 or the errno (vt_errmsg() says which QP and step).
 */
int vt_qp_to_rtr(struct ibv_qp *qp, const struct vt_path *p, int sgid_index,
		 uint32_t dqpn, uint32_t rq_psn, const union ibv_gid *dgid)
{
	struct ibv_qp_attr at;
	int rc;

	memset(&at, 0, sizeof(at));
	at.qp_state = IBV_QPS_RTR;
	at.path_mtu = p->mtu;
	at.dest_qp_num = dqpn;
	at.rq_psn = rq_psn;
	at.max_dest_rd_atomic = p->dest_rd_atomic;
	at.min_rnr_timer = p->min_rnr_timer;
	at.ah_attr.is_global = 1;
	at.ah_attr.grh.dgid = *dgid;
	at.ah_attr.grh.sgid_index = (uint8_t)sgid_index;
	at.ah_attr.grh.hop_limit = 64;
	at.ah_attr.port_num = 1;
	rc = ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_AV |
			   IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			   IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
			   IBV_QP_MIN_RNR_TIMER);
	if (rc)
		seterr("modify QP %u INIT->RTR (path_mtu %u, dest QP %u): %s",
		       qp->qp_num, vt_mtu_bytes(p->mtu), dqpn, strerror(rc));
	return rc;
}

/**
 * vt_qp_to_rts - RTR -> RTS
 * @qp: the QP
 * @p: the path (timeout, retry_cnt, rnr_retry, max_rd_atomic)
 * @sq_psn: the first PSN it sends
 *
 * Return: 0 or the errno (vt_errmsg() says which QP and step).
 */
int vt_qp_to_rts(struct ibv_qp *qp, const struct vt_path *p,
		 uint32_t sq_psn)
{
	struct ibv_qp_attr at;
	int rc;

	memset(&at, 0, sizeof(at));
	at.qp_state = IBV_QPS_RTS;
	at.sq_psn = sq_psn;
	at.timeout = p->timeout;
	at.retry_cnt = p->retry_cnt;
	at.rnr_retry = p->rnr_retry;
	at.max_rd_atomic = p->rd_atomic;
	rc = ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_SQ_PSN |
			   IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
			   IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC);
	if (rc)
		seterr("modify QP %u RTR->RTS: %s", qp->qp_num, strerror(rc));
	return rc;
}

/**
 * vt_qp_connect - RESET -> INIT -> RTR -> RTS towards a peer QP
 * @qp: the QP, on device @self
 * @p: the path (its access flags are given at INIT)
 * @self: the QP's device (its GID is the source)
 * @dqpn: the peer's QP number
 * @sq_psn: the first PSN @qp sends
 * @rq_psn: the first PSN @qp expects
 * @dgid: the peer's GID
 *
 * Return: 0 or the errno of the step that failed (vt_errmsg() names the
 * device, the QP and the step).
 */
int vt_qp_connect(struct ibv_qp *qp, const struct vt_path *p,
		  const struct vt_dev *self, uint32_t dqpn, uint32_t sq_psn,
		  uint32_t rq_psn, const union ibv_gid *dgid)
{
	int rc;

	rc = vt_qp_to_init(qp, p->access);
	if (!rc)
		rc = vt_qp_to_rtr(qp, p, self->gid_index, dqpn, rq_psn, dgid);
	if (!rc)
		rc = vt_qp_to_rts(qp, p, sq_psn);
	if (rc)
		seterr("%s: %s", self->name, errbuf);
	return rc;
}

/**
 * vt_qp_state - the state a QP is in
 * @qp: the QP
 *
 * Return: its enum ibv_qp_state, or -1 when ibv_query_qp failed.
 */
int vt_qp_state(struct ibv_qp *qp)
{
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr at;

	if (ibv_query_qp(qp, &at, IBV_QP_STATE, &ia))
		return -1;
	return (int)at.qp_state;
}

/* ---------------------------------------------------------------------- */
/* Posting and completions                                                 */
/* ---------------------------------------------------------------------- */

/**
 * vt_poll_wc - wait for one completion
 * @cq: the CQ to poll (busy, then every 100 us)
 * @wc: the completion
 * @ms: how long to wait
 *
 * Return: 1 when one came, 0 when none came within @ms, -1 when
 * ibv_poll_cq failed (vt_errmsg() says so).
 */
int vt_poll_wc(struct ibv_cq *cq, struct ibv_wc *wc, int ms)
{
	int64_t end = vt_now_ms() + ms;
	unsigned int spins = 0;
	int n;

	for (;;) {
		n = ibv_poll_cq(cq, 1, wc);
		if (n < 0) {
			seterr("ibv_poll_cq failed: %d", n);
			return -1;
		}
		if (n == 1)
			return 1;
		if (vt_now_ms() > end)
			return 0;
		if (++spins > 64)
			usleep(100);
	}
}

/**
 * vt_send_wr - fill in a send work request, everything else zero
 * @wr: the work request
 * @id: its wr_id
 * @sg: its gather list
 * @n: entries in @sg
 * @op: its opcode
 * @flags: its send_flags
 *
 * The caller adds what the opcode needs (remote address and key,
 * immediate data, atomic operands) and chains it (@wr->next).
 */
void vt_send_wr(struct ibv_send_wr *wr, uint64_t id, struct ibv_sge *sg,
		int n, enum ibv_wr_opcode op, unsigned int flags)
{
	memset(wr, 0, sizeof(*wr));
	wr->wr_id = id;
	wr->sg_list = sg;
	wr->num_sge = n;
	wr->opcode = op;
	wr->send_flags = flags;
}

/* ---------------------------------------------------------------------- */
/* Hardware counters                                                       */
/* ---------------------------------------------------------------------- */

const char *const vt_odp_cnt_names[VT_C_ODP_NUM] = {
	[VT_C_FAULTS] = "odp_faults",
	[VT_C_FAULT_PAGES] = "odp_fault_pages",
	[VT_C_FAULT_FAILS] = "odp_fault_fails",
	[VT_C_FAULT_NS] = "odp_fault_ns",
	[VT_C_INVALS] = "odp_invalidations",
	[VT_C_INVAL_PAGES] = "odp_inval_pages",
	[VT_C_PREFETCHES] = "odp_prefetches",
	[VT_C_PREFETCH_PAGES] = "odp_prefetch_pages",
};

/**
 * vt_read_u64 - read one decimal number from a file
 * @path: the file
 * @v: the number
 *
 * Return: true when the file opened and began with a number.
 */
bool vt_read_u64(const char *path, uint64_t *v)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fscanf(f, "%" SCNu64, v) == 1;
	fclose(f);
	return ok;
}

/**
 * vt_read_field - the number after a key in a file of "KEY: N" or "KEY N"
 *	lines (/proc/self/status, /proc/meminfo, /proc/vmstat)
 * @path: the file
 * @key: the key, at the start of its line ("VmPin", "pswpout")
 * @v: the number, in the file's unit
 *
 * Return: true when a line had @key and a number.
 */
bool vt_read_field(const char *path, const char *key, uint64_t *v)
{
	FILE *f = fopen(path, "r");
	size_t n = strlen(key);
	char line[256];
	bool ok = false;

	if (!f)
		return false;
	while (!ok && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) &&
		    (line[n] == ':' || line[n] == ' '))
			ok = sscanf(line + n + 1, "%" SCNu64, v) == 1;
	fclose(f);
	return ok;
}

/**
 * vt_hw_counter - one hw counter of port 1, from sysfs
 * @dev: the device's name
 * @name: the counter's name
 * @v: its value
 *
 * sysfs keeps the values for the port's hw_counters/lifespan (ms).
 *
 * Return: true when it could be read.
 */
bool vt_hw_counter(const char *dev, const char *name, uint64_t *v)
{
	char path[256];

	snprintf(path, sizeof(path), VT_HW_DIR "/%s", dev, name);
	return vt_read_u64(path, v);
}

/* A netlink attribute's payload and type (without the flag bits). */
#define NLA_DATA(a)	((void *)((char *)(a) + NLA_HDRLEN))
#define NLA_KIND(a)	((a)->nla_type & NLA_TYPE_MASK)
#define NLA_FITS(a, end) ((char *)(a) + NLA_HDRLEN <= (char *)(end) && \
			  (a)->nla_len >= NLA_HDRLEN && \
			  (char *)(a) + (a)->nla_len <= (char *)(end))
#define NLA_NEXT(a)	\
	((struct nlattr *)((char *)(a) + NLA_ALIGN((a)->nla_len)))

static struct nlattr *nla_put_u32(struct nlattr *a, uint16_t type,
				  uint32_t v)
{
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + 4;
	memcpy(NLA_DATA(a), &v, 4);
	return NLA_NEXT(a);
}

/* One HWCOUNTER_ENTRY: a name and a value; into @v if it is wanted. */
static void nl_entry(struct nlattr *e, const char *const *names,
		     unsigned int n, uint64_t *v, unsigned int *seen)
{
	struct nlattr *a = NLA_DATA(e), *end = NLA_NEXT(e);
	const char *name = NULL;
	uint64_t val = 0;
	bool have = false;
	unsigned int i;

	for (; NLA_FITS(a, end); a = NLA_NEXT(a)) {
		if (NLA_KIND(a) == RDMA_NLDEV_ATTR_STAT_HWCOUNTER_ENTRY_NAME)
			name = NLA_DATA(a);
		if (NLA_KIND(a) == RDMA_NLDEV_ATTR_STAT_HWCOUNTER_ENTRY_VALUE &&
		    a->nla_len >= NLA_HDRLEN + 8) {
			memcpy(&val, NLA_DATA(a), 8);
			have = true;
		}
	}
	if (!name || !have)
		return;
	for (i = 0; i < n; i++)
		if (!strcmp(name, names[i])) {
			v[i] += val;
			(*seen)++;
		}
}

/**
 * vt_nl_counters_add - hw counters of port 1 through RDMA netlink
 * @dev_index: the device's kernel index (struct vt_dev's @index)
 * @names: the counters wanted
 * @n: how many
 * @v: each one's value is added to @v[i], only when all were found
 *
 * RDMA_NLDEV_CMD_STAT_GET (`rdma statistic`) asks the driver each time,
 * unlike sysfs, which keeps values for at least a jiffy.
 *
 * Return: true when every counter of @names was read.
 */
bool vt_nl_counters_add(int dev_index, const char *const *names,
			unsigned int n, uint64_t *v)
{
	static uint32_t seq;
	union {
		struct nlmsghdr h;
		char b[65536];
	} *buf;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nlmsghdr *h;
	struct nlattr *a;
	unsigned int seen = 0, i;
	uint64_t *got;
	ssize_t len;
	int fd;

	if (dev_index < 0)
		return false;
	buf = calloc(1, sizeof(*buf));
	got = calloc(n, sizeof(*got));
	if (!buf || !got)
		goto out_free;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_RDMA);
	if (fd < 0)
		goto out_free;
	h = &buf->h;
	h->nlmsg_type = RDMA_NL_GET_TYPE(RDMA_NL_NLDEV,
					 RDMA_NLDEV_CMD_STAT_GET);
	h->nlmsg_flags = NLM_F_REQUEST;
	h->nlmsg_seq = ++seq;
	a = (struct nlattr *)((char *)h + NLMSG_HDRLEN);
	a = nla_put_u32(a, RDMA_NLDEV_ATTR_DEV_INDEX, (uint32_t)dev_index);
	a = nla_put_u32(a, RDMA_NLDEV_ATTR_PORT_INDEX, 1);
	h->nlmsg_len = (uint32_t)((char *)a - (char *)h);
	if (sendto(fd, h, h->nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		goto out_close;
	len = recv(fd, buf->b, sizeof(buf->b), 0);
	if (len < (ssize_t)NLMSG_HDRLEN || !NLMSG_OK(h, (size_t)len) ||
	    h->nlmsg_type == NLMSG_ERROR)
		goto out_close;
	for (a = (struct nlattr *)((char *)h + NLMSG_HDRLEN);
	     NLA_FITS(a, (char *)h + h->nlmsg_len); a = NLA_NEXT(a)) {
		struct nlattr *e, *end = NLA_NEXT(a);

		if (NLA_KIND(a) != RDMA_NLDEV_ATTR_STAT_HWCOUNTERS)
			continue;
		for (e = NLA_DATA(a); NLA_FITS(e, end); e = NLA_NEXT(e))
			if (NLA_KIND(e) == RDMA_NLDEV_ATTR_STAT_HWCOUNTER_ENTRY)
				nl_entry(e, names, n, got, &seen);
	}
	if (seen == n)
		for (i = 0; i < n; i++)
			v[i] += got[i];
out_close:
	close(fd);
out_free:
	free(got);
	free(buf);
	return n && seen == n;
}

/**
 * vt_hw_snap - every hw counter of port 1 of a device, from sysfs
 * @dev: the device's name
 * @sn: filled in (empty when the directory cannot be read)
 */
void vt_hw_snap(const char *dev, struct vt_hw_snap *sn)
{
	char path[600];
	struct dirent *e;
	DIR *dir;

	sn->n = 0;
	snprintf(path, sizeof(path), VT_HW_DIR, dev);
	dir = opendir(path);
	if (!dir)
		return;
	while ((e = readdir(dir)) && sn->n < VT_SNAP_MAX) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= 48 ||
		    !strcmp(e->d_name, "lifespan"))
			continue;
		if (vt_hw_counter(dev, e->d_name, &sn->v[sn->n]))
			strcpy(sn->name[sn->n++], e->d_name);
	}
	closedir(dir);
}

/**
 * vt_hw_nonzero - the counters of a snapshot that are not 0, on one line
 * @sn: the snapshot
 * @line: " name=value ..." (empty when all are 0)
 * @len: @line's size
 */
void vt_hw_nonzero(const struct vt_hw_snap *sn, char *line, size_t len)
{
	size_t at = 0;
	int i, k;

	line[0] = '\0';
	for (i = 0; i < sn->n; i++) {
		if (!sn->v[i])
			continue;
		k = snprintf(line + at, len - at, " %s=%" PRIu64,
			     sn->name[i], sn->v[i]);
		if (k < 0 || (size_t)k >= len - at)
			break;
		at += (size_t)k;
	}
}
