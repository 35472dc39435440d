/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rodp: a RoCEv2 software RDMA device with On-Demand Paging.
 *
 * Lock order (outermost first).  lockdep checks what it can see of it:
 *   1. rtnl_lock
 *   2. rodp_net.lock         (per network namespace: socket set-up)
 *   3. rodp_devs_lock        (spinlock: device list and device state)
 *   4. rodp_cq.lock          (spinlock, irqsave: CQ producer side)
 * Nothing that may take rtnl_lock (ib_register_device, for one) is called
 * with a rodp lock held.
 */
#ifndef RODP_H
#define RODP_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/spinlock.h>
#include <linux/refcount.h>
#include <linux/completion.h>
#include <linux/xarray.h>
#include <net/net_namespace.h>
#include <rdma/ib_verbs.h>

#include <rcore/queue.h>

#define RODP_DRV_NAME		"rodp"
#define RODP_UDP_PORT		4791
#define RODP_GID_TABLE_LEN	64
#define RODP_MAX_CQE		65535
#define RODP_MAX_CQ		16384
#define RODP_MAX_PD		16384
#define RODP_MAX_MR		0x100000	/* < 2^24: keys hold index << 8 */
#define RODP_MAX_MR_SIZE	(1ULL << 46)
#define RODP_VENDOR_ID		0xffffff	/* no IEEE OUI: software */
#define RODP_VENDOR_PART_ID	0x0dd0

/*
 * Worst-case bytes a RoCEv2 packet adds to its RDMA payload on the wire
 * beyond the netdev MTU's reach: IPv6 (40) + UDP (8) + BTH (12) + RETH (16)
 * + ImmDt (4) + ICRC (4).
 */
#define RODP_MAX_HDR_OVERHEAD	84

enum rodp_dev_state {
	RODP_DEV_REGISTERING,	/* on the list, ib_register_device running */
	RODP_DEV_LIVE,		/* registered, netdev present */
	RODP_DEV_DYING,		/* unregistration queued or running */
};

/**
 * struct rodp_net - per network namespace state
 * @lock: serialises socket creation and release
 * @sk4: IPv4 UDP tunnel socket on RODP_UDP_PORT, or NULL
 * @sk6: IPv6 UDP tunnel socket on RODP_UDP_PORT, or NULL
 * @users: rodp devices using the sockets of this namespace
 */
struct rodp_net {
	struct mutex lock;
	struct socket __rcu *sk4;
	struct socket __rcu *sk6;
	unsigned int users;
};

/**
 * struct rodp_dev - one rodp device, bound to one netdev (port 1)
 * @ibdev: the RDMA core's device; must stay first (ib_alloc_device)
 * @list: entry on rodp_devs, under rodp_devs_lock / RCU
 * @state: enum rodp_dev_state, under rodp_devs_lock
 * @ndev_gone: the netdev was unregistered while we were registering
 * @ndev: the netdev, held from creation to dealloc_driver
 * @ndev_tracker: reference tracker of that hold
 * @net: namespace of @ndev at creation, whose sockets we use
 * @port_active: last port state reported with an event
 * @mr_xa: memory regions by key index (lkey >> 8)
 * @mr_next: next index xa_alloc_cyclic() tries
 * @mr_gen: generation counter, the low byte of every new key
 * @stats: software counters (atomic, any context)
 */
struct rodp_dev {
	struct ib_device ibdev;
	struct list_head list;
	enum rodp_dev_state state;
	bool ndev_gone;
	struct net_device *ndev;
	netdevice_tracker ndev_tracker;
	struct net *net;
	bool port_active;
	struct xarray mr_xa;
	u32 mr_next;
	atomic_t mr_gen;
	struct {
		atomic64_t rx_packets;
		atomic64_t rx_dropped;
	} stats;
};

static inline struct rodp_dev *to_rdev(struct ib_device *ibdev)
{
	return container_of(ibdev, struct rodp_dev, ibdev);
}

struct rodp_ucontext {
	struct ib_ucontext ibuc;
};

struct rodp_pd {
	struct ib_pd ibpd;
};

/**
 * struct rodp_mmap_entry - a vmalloc_user() area offered to mmap()
 * @rdma: the RDMA core's mmap entry (offset allocation, refcount)
 * @vaddr: the area; freed by mmap_free once no mmap() can reach it
 */
struct rodp_mmap_entry {
	struct rdma_user_mmap_entry rdma;
	void *vaddr;
};

/**
 * struct rodp_cq - a completion queue backed by a shared ring
 * @ibcq: the RDMA core's CQ
 * @lock: serialises producers and notification state
 * @ring: ring header followed by the CQE slots (vmalloc_user memory)
 * @log2_slots: log2 of the number of slots
 * @prod: producer index, the kernel's own copy (never read back from @ring)
 * @cons: consumer index as last read from @ring (userspace CQs) or owned
 *	here (kernel CQs)
 * @mmap_entry: for userspace CQs, the entry that owns @ring
 * @notify: armed notification (IB_CQ_SOLICITED / IB_CQ_NEXT_COMP) or 0
 * @overflow: a CQE was lost because the ring was full; the CQ is in error
 */
struct rodp_cq {
	struct ib_cq ibcq;
	spinlock_t lock;
	struct rcore_ring_hdr *ring;
	u32 log2_slots;
	u32 prod;
	u32 cons;
	struct rodp_mmap_entry *mmap_entry;
	u8 notify;
	bool overflow;
};

static inline struct rodp_cq *to_rcq(struct ib_cq *ibcq)
{
	return container_of(ibcq, struct rodp_cq, ibcq);
}

/* Access rights a memory region may carry; optional hints are ignored. */
#define RODP_MR_ACCESS_SUPPORTED (IB_ACCESS_LOCAL_WRITE |		\
				  IB_ACCESS_REMOTE_WRITE |		\
				  IB_ACCESS_REMOTE_READ |		\
				  IB_ACCESS_REMOTE_ATOMIC |		\
				  IB_ACCESS_OPTIONAL)

enum rodp_mr_kind {
	RODP_MR_DMA,	/* kernel: iova is a kernel virtual address */
	RODP_MR_USER,	/* pinned user memory */
};

/**
 * struct rodp_mr - a memory region
 * @ibmr: the RDMA core's MR (keys, iova, length, pd)
 * @kind: what backs it
 * @access: IB_ACCESS_* rights
 * @start: user virtual address of ibmr.iova (RODP_MR_USER)
 * @umem: the pinned pages (RODP_MR_USER)
 * @pages: the pages of @umem in order, first one holding @start
 * @npages: entries in @pages
 * @users: references: the key space holds one, each rodp_mr_get() one more
 * @released: completed when @users drops to zero
 */
struct rodp_mr {
	struct ib_mr ibmr;
	enum rodp_mr_kind kind;
	int access;
	unsigned long start;
	struct ib_umem *umem;
	struct page **pages;
	unsigned long npages;
	refcount_t users;
	struct completion released;
};

static inline struct rodp_mr *to_rmr(struct ib_mr *ibmr)
{
	return container_of(ibmr, struct rodp_mr, ibmr);
}

/* One piece of an MR range: kernel address and length. */
typedef int (*rodp_mr_io_fn)(void *priv, void *kaddr, u64 len);

struct rodp_qp {
	struct ib_qp ibqp;
};

/* rodp_main.c */
struct rodp_dev *rodp_dev_lookup_rcu(struct net_device *ndev);
void rodp_dev_gone(struct rodp_dev *rdev);

/* rodp_dev.c */
int rodp_dev_register(struct rodp_dev *rdev, const char *name);
void rodp_port_event(struct rodp_dev *rdev);
extern const struct ib_device_ops rodp_dev_ops;

/* rodp_mr.c */
extern const struct ib_device_ops rodp_mr_ops;
struct rodp_mr *rodp_mr_get(struct rodp_dev *rdev, u32 key, struct ib_pd *pd,
			    int access, u64 iova, u64 len);
void rodp_mr_put(struct rodp_mr *mr);
int rodp_mr_io(struct rodp_mr *mr, u64 iova, u64 len, rodp_mr_io_fn fn,
	       void *priv);

/* rodp_net.c */
int rodp_net_init(void);
void rodp_net_exit(void);
int rodp_net_get(struct net *net);
void rodp_net_put(struct net *net);

/* rodp_verbs.c */
extern const struct ib_device_ops rodp_verbs_ops;
int rodp_cq_post(struct rodp_cq *cq, const struct rcore_cqe *cqe,
		 bool solicited);

#endif /* RODP_H */
