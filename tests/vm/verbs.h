/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * verbs.h: verbs helpers that the guest-side test programs (through
 * common.h) and perftest/rodp-odp-bw share: device lookup with the RoCE
 * v2 GID choice, QP creation and the RESET -> INIT -> RTR -> RTS connect,
 * polling with a time limit, and the devices' hardware counters (sysfs
 * and RDMA netlink).  Nothing here is a test: no TAP output, no checks,
 * no cmocka.
 *
 * Functions that can fail return 0 (or a valid pointer) and otherwise an
 * errno value (or NULL), with a sentence saying what failed in
 * vt_errmsg().
 */
#ifndef RODP_TESTS_VM_VERBS_H
#define RODP_TESTS_VM_VERBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#define VT_MAX_DEVS	8
#define VT_HW_DIR	"/sys/class/infiniband/%s/ports/1/hw_counters"

/* ---------------------------------------------------------------------- */
/* Errors, names and time                                                  */
/* ---------------------------------------------------------------------- */

const char *vt_errmsg(void);
int64_t vt_now_ms(void);
const char *vt_wc_opcode_str(int op);
const char *vt_qp_state_str(int state);

/* ---------------------------------------------------------------------- */
/* Devices                                                                 */
/* ---------------------------------------------------------------------- */

/**
 * struct vt_dev - one RDMA device, opened once for the whole run
 * @name: device name
 * @index: its kernel index (for RDMA netlink), -1 when unknown
 * @ctx: its context, NULL when it could not be opened (see @error)
 * @attr: ibv_query_device()
 * @port: ibv_query_port() of port 1
 * @gid_index: index of its IPv4 RoCE v2 GID (IPv6 when opened so), -1
 *	when there is none
 * @gid: that GID
 * @rodp: a rodp device (it has the rodp_abi sysfs attribute)
 * @error: why @ctx is NULL or @gid_index is -1
 */
struct vt_dev {
	char name[64];
	int index;
	struct ibv_context *ctx;
	struct ibv_device_attr attr;
	struct ibv_port_attr port;
	int gid_index;
	union ibv_gid gid;
	bool rodp;
	char error[160];
};

int vt_dev_open(struct vt_dev *d, const char *name, bool ipv6);
struct vt_dev *vt_dev_get(const char *name, bool ipv6);
void vt_devs_close(void);
bool vt_dev_ok(const struct vt_dev *d);

extern struct vt_dev vt_devs[VT_MAX_DEVS];
extern unsigned int vt_ndevs;

uint32_t vt_mtu_bytes(enum ibv_mtu m);
enum ibv_mtu vt_mtu_enum(uint32_t bytes);

/* ---------------------------------------------------------------------- */
/* QPs and connections                                                     */
/* ---------------------------------------------------------------------- */

#define VT_ACCESS_ALL	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

/**
 * struct vt_path - the attributes both ends of an RC connection use
 * @mtu: path MTU
 * @rd_atomic: max_rd_atomic (RTS)
 * @dest_rd_atomic: max_dest_rd_atomic (RTR)
 * @timeout, @retry_cnt, @rnr_retry: RTS attributes
 * @min_rnr_timer: RTR attribute
 * @access: qp_access_flags given at INIT
 */
struct vt_path {
	enum ibv_mtu mtu;
	uint8_t rd_atomic, dest_rd_atomic;
	uint8_t timeout, retry_cnt, rnr_retry, min_rnr_timer;
	int access;
};

void vt_path_init(struct vt_path *p, const struct vt_dev *a,
		  const struct vt_dev *b);
struct ibv_qp *vt_qp_create(struct ibv_pd *pd, struct ibv_cq *scq,
			    struct ibv_cq *rcq, struct ibv_qp_cap *cap,
			    bool sig_all);
int vt_qp_move(struct ibv_qp *qp, enum ibv_qp_state state);
int vt_qp_to_init(struct ibv_qp *qp, int access);
int vt_qp_to_rtr(struct ibv_qp *qp, const struct vt_path *p, int sgid_index,
		 uint32_t dqpn, uint32_t rq_psn, const union ibv_gid *dgid);
int vt_qp_to_rts(struct ibv_qp *qp, const struct vt_path *p,
		 uint32_t sq_psn);
int vt_qp_connect(struct ibv_qp *qp, const struct vt_path *p,
		  const struct vt_dev *self, uint32_t dqpn, uint32_t sq_psn,
		  uint32_t rq_psn, const union ibv_gid *dgid);
int vt_qp_state(struct ibv_qp *qp);

/* ---------------------------------------------------------------------- */
/* Posting and completions                                                 */
/* ---------------------------------------------------------------------- */

int vt_poll_wc(struct ibv_cq *cq, struct ibv_wc *wc, int ms);
void vt_send_wr(struct ibv_send_wr *wr, uint64_t id, struct ibv_sge *sg,
		int n, enum ibv_wr_opcode op, unsigned int flags);

/* ---------------------------------------------------------------------- */
/* Hardware counters                                                       */
/* ---------------------------------------------------------------------- */

/* The ODP counters of a rodp device (rc_test does not use them). */
enum vt_odp_cnt {
	VT_C_FAULTS, VT_C_FAULT_PAGES, VT_C_FAULT_FAILS, VT_C_FAULT_NS,
	VT_C_INVALS, VT_C_INVAL_PAGES, VT_C_PREFETCHES, VT_C_PREFETCH_PAGES,
	VT_C_ODP_NUM
};

extern const char *const vt_odp_cnt_names[VT_C_ODP_NUM];

bool vt_read_u64(const char *path, uint64_t *v);
bool vt_read_field(const char *path, const char *key, uint64_t *v);
bool vt_hw_counter(const char *dev, const char *name, uint64_t *v);
bool vt_nl_counters_add(int dev_index, const char *const *names,
			unsigned int n, uint64_t *v);

#define VT_SNAP_MAX	64

/**
 * struct vt_hw_snap - every hw counter of one device at one time
 * @n: how many
 * @name: their names
 * @v: their values
 */
struct vt_hw_snap {
	int n;
	char name[VT_SNAP_MAX][48];
	uint64_t v[VT_SNAP_MAX];
};

void vt_hw_snap(const char *dev, struct vt_hw_snap *sn);
void vt_hw_nonzero(const struct vt_hw_snap *sn, char *line, size_t len);

#endif /* RODP_TESTS_VM_VERBS_H */
