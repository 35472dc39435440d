/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rodp: a RoCEv2 software RDMA device with On-Demand Paging.
 *
 * Lock order (outermost first).  lockdep checks what it can see of it:
 *   1. rtnl_lock             (also guards the multicast groups of a
 *                            device: rodp_mcast.c; the joins need it)
 *   2. rodp_net.lock         (per network namespace: socket set-up)
 *   3. rodp_devs_lock        (spinlock: device list and device state)
 *   4. rodp_eng.lock of a QP's requester, then of its responder
 *                            (mutexes: the transport state of each side;
 *                             held by whoever runs that side, and both by
 *                             modify/query/destroy.  A side that runs
 *                             only ever trylocks another side's lock.)
 *   4a. rodp_srq.lock        (spinlock, rodp_srq.c: an SRQ's consumer
 *                             side: its ring, limit and error state.
 *                             Taken by the responders of many QPs, each
 *                             under its own 4, and by modify/query of
 *                             the SRQ; never held across a memory access
 *                             through an MR, a CQ post or an event: none
 *                             of 5 to 9 is taken under it)
 *   4a'. an XRC target QP's responder holds the SRQ a request names
 *                            (rodp_srq_get(): an xarray lookup under RCU
 *                            and a reference, no lock) while it handles
 *                            that one request; destroy_srq waits for it
 *   4b. rodp_dev.mw_lock     (mutex, rodp_mw.c: memory window state and
 *                             the MRs' window counts; taken under 4, with
 *                             nothing but xarray locks under it)
 *   4c. rodp_frmr.lock      (spinlock, rodp_frmr.c: the key, state and
 *                             layout of a fast-registration MR; taken
 *                             under 4 or 4b or none, with nothing under
 *                             it, never held across a memory access)
 *   5. rodp_odp.lock         (mutex: the block set of an ODP MR; making a
 *                             block inserts an interval notifier, which
 *                             may take mmap_lock)
 *   6. mmap_lock             (of an ODP MR's mm: taken for read around
 *                             hmm_range_fault(); the mm holds it around
 *                             the invalidations that call into rodp_odp.c)
 *   7. rodp_odp_block.lock   (mutex, rodp_odp.c: the pfns of one block of
 *                             an ODP mirror and every copy through them;
 *                             let go of while faulting, never held across
 *                             an allocation: reclaim invalidates)
 *   8. rodp_dev.atomic_lock  (spinlock: remote atomics are atomic among
 *                             all QPs of a device; taken in an MR copy,
 *                             so under 7 for an ODP MR)
 *   9. rodp_cq.lock          (spinlock, irqsave: CQ producer side; taken
 *                             under 4, with none of 5 to 8 held)
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
#include <linux/skbuff.h>
#include <linux/timer.h>
#include <linux/workqueue.h>
#include <net/dst_cache.h>
#include <net/net_namespace.h>
#include <rdma/ib_verbs.h>

#include <rcore/ring.h>
#include <rdma/rodp-abi.h>
#include <rcore/rc.h>
#include <rcore/uc.h>

#include "rodp_compat.h"

#define RODP_DRV_NAME		"rodp"
#define RODP_UDP_PORT		4791
#define RODP_GID_TABLE_LEN	64
#define RODP_MAX_CQE		65535
#define RODP_MAX_CQ		16384
#define RODP_MAX_PD		16384
#define RODP_MAX_MR		0x100000	/* < 2^24: keys hold index << 8 */
#define RODP_MAX_MR_SIZE	(1ULL << 46)
#define RODP_MAX_QP		16384
#define RODP_MIN_QPN		16		/* 0, 1: special QPs */
#define RODP_GSI_QPN		1		/* QP1: ib_mad's GSI QP */
#define RODP_MAX_QPN		0xffffff
#define RODP_MAX_QP_WR		16384
#define RODP_MAX_SRQ		16384
#define RODP_MAX_SRQ_WR		16384
#define RODP_MAX_SGE		16
#define RODP_MAX_INLINE		512
#define RODP_MAX_RD_ATOMIC	128
#define RODP_MAX_AH		0x100000
#define RODP_MAX_MCAST_GRP	256	/* per device */
#define RODP_MAX_MCAST_QP	16	/* QPs attached to one group */
#define RODP_MAX_MSG		0x80000000u
#define RODP_VENDOR_ID		0xffffff	/* no IEEE OUI: software */
#define RODP_VENDOR_PART_ID	0x0dd0

/*
 * RDMA ATOMIC WRITE, as user space numbers it: the device capability bit
 * (IB_UVERBS_DEVICE_ATOMIC_WRITE) and the completion opcode
 * (IB_UVERBS_WC_ATOMIC_WRITE).  Kernels before 6.2 have no name for
 * either; uverbs hands device_cap_flags and rodp's CQEs to user space as
 * they are.
 */
#define RODP_DEVICE_ATOMIC_WRITE	(1ULL << 40)
#define RODP_WC_ATOMIC_WRITE		9

/*
 * RDMA FLUSH, numbered the same way (6.2's IB_UVERBS_DEVICE_FLUSH_*,
 * IB_UVERBS_WC_FLUSH and IB_UVERBS_ACCESS_FLUSH_*; 6.1's core refuses
 * the access bits before rodp sees them), and the ODP capabilities of
 * 6.15 (IB_ODP_SUPPORT_FLUSH, _ATOMIC_WRITE), which uverbs passes on.
 * rodp has no persistent memory: an MR that asks for persistence is
 * refused (-EINVAL, as rxe refuses memory that is not pmem), so a
 * persistent FLUSH always meets a remote access error.
 */
#define RODP_DEVICE_FLUSH_GLOBAL	(1ULL << 38)
#define RODP_DEVICE_FLUSH_PERSISTENT	(1ULL << 39)
#define RODP_WC_FLUSH			8
#define RODP_ACCESS_FLUSH_GLOBAL	(1 << 8)
#define RODP_ACCESS_FLUSH_PERSISTENT	(1 << 9)
#define RODP_ODP_SUPPORT_FLUSH		(1 << 6)
#define RODP_ODP_SUPPORT_ATOMIC_WRITE	(1 << 7)

/*
 * Transport pacing.  At most RODP_WINDOW PSNs are outstanding on a send
 * queue (more would overrun the receive backlogs of veth and loopback);
 * the requester asks for an ACK at least every RODP_ACKREQ_EVERY packets,
 * and a QP keeps at most RODP_RXQ_MAX received packets queued.  A long
 * read is asked for RODP_READ_CHUNK responses at a time.
 *
 * To a peer on another host (or through a qdisc: not rodp_path_local())
 * at most RODP_WIRE_WINDOW PSNs are outstanding, and a read is asked for
 * only while at most RODP_WIRE_READ_BYTES of path MTU packets (its own
 * responses included) are, in chunks of RODP_WIRE_READ_CHUNK bytes (64
 * and 32 packets at a 1024-byte path MTU, 16 and 8 at 4096; a chunk is
 * at least RCORE_RC_READ_CHUNK_MIN packets).  Requests leave at the
 * requester's pace, but a responder sends what a read asks for in one
 * burst, which must fit the buffers between the two NICs, or a link
 * without flow control drops its tail: on QEMU's dgram link, 128
 * responses of 1 KiB outstanding lost 16-25 % of them, 64 none (rxe keeps
 * at most 64 packets of a QP in flight).  Requests are not paced in
 * bytes: a window of few packets stalls on every lost tail (32 PSNs of
 * 4 KiB: a 1 MiB ib_write_bw waited out ten ACK timeouts).
 */
#define RODP_WINDOW		256
#define RODP_READ_CHUNK		RCORE_RC_READ_CHUNK
#define RODP_WIRE_WINDOW	128
#define RODP_WIRE_READ_BYTES	(64 * 1024)
#define RODP_WIRE_READ_CHUNK	(32 * 1024)
#define RODP_ACKREQ_EVERY	32
#define RODP_RXQ_MAX		4096

/*
 * The retry timer never runs shorter than this, whatever the QP's timeout
 * asks (IBA's timeout is a lower bound).  A software device shares CPUs
 * with its peer and, under emulation, ACKs can be tens of milliseconds
 * late: shorter timers retransmit for nothing and feed the congestion.
 * Losses are still repaired at once by sequence NAKs; this only paces
 * the recovery of a lost last packet or ACK.
 */
#define RODP_MIN_ACK_TIMEOUT_NS	(200 * NSEC_PER_MSEC)

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

/* Device counters: `rdma statistic show link <dev>/1` (hardware counters). */
enum rodp_counter {
	RODP_CNT_RX_PKTS,
	RODP_CNT_TX_PKTS,
	RODP_CNT_RX_DROP_ICRC,		/* bad ICRC */
	RODP_CNT_RX_ICRC_RXE,		/* FLUSH with rxe's ICRC, taken */
	RODP_CNT_RX_DROP_HDR,		/* unparseable headers */
	RODP_CNT_RX_DROP_NOQP,		/* no such QP number */
	RODP_CNT_RX_DROP_STATE,		/* QP not receiving, or not its peer */
	RODP_CNT_RX_DROP_SEQ,		/* out of window, ignored response */
	RODP_CNT_RX_DROP_FULL,		/* QP receive queue full */
	RODP_CNT_TX_DROP,		/* no route, no memory */
	RODP_CNT_TX_NAK_SEQ,
	RODP_CNT_TX_NAK_INV,
	RODP_CNT_TX_NAK_ACCESS,
	RODP_CNT_TX_NAK_OP,
	RODP_CNT_TX_RNR_NAK,
	RODP_CNT_TX_READ_STOP,		/* read responses cut short, no NAK */
	RODP_CNT_RX_DUP_REQ,
	RODP_CNT_RETRANSMITS,
	RODP_CNT_ACK_TIMEOUTS,
	RODP_CNT_RNR_WAITS,
	RODP_CNT_RX_DROP_QKEY,		/* UD: Q_Key mismatch */
	RODP_CNT_RX_DROP_NORECV,	/* UD: no receive WQE posted */
	/* UC messages dropped whole (UC has no NAK, no retry) */
	RODP_CNT_UC_DROP_SEQ,		/* packets lost or out of order */
	RODP_CNT_UC_DROP_ACCESS,	/* R_Key, access, range, memory */
	RODP_CNT_UC_DROP_NO_RECV,	/* a SEND with no receive posted */
	RODP_CNT_UC_PACED,		/* UC sender waits for a backlog */
	RODP_CNT_DEFERRED,		/* steps left to the work item: an
					 * ODP fault that may not sleep in
					 * another process's context */
	RODP_CNT_TX_LOCAL,		/* handed to a rodp device of this
					 * host, not through the network */
	RODP_CNT_TX_ZCOPY,		/* of those, with their payload by
					 * reference to the sender's pages
					 * (pinned or ODP memory) */
	/* of those, requests and ACKs by a call, no packet: rodp_call.c */
	RODP_CNT_TX_CALL,
	/* ODP; each is also counted per MR (struct rodp_odp.cnt) */
	RODP_CNT_ODP_FAULTS,		/* fault batches that succeeded */
	RODP_CNT_ODP_FAULT_PAGES,	/* pages those brought into the mirror */
	RODP_CNT_ODP_FAULT_FAILS,	/* faults that could not be satisfied */
	RODP_CNT_ODP_FAULT_NS,		/* time spent faulting, nanoseconds */
	RODP_CNT_ODP_INVALIDATIONS,	/* notifier calls on mirrored blocks */
	RODP_CNT_ODP_INVAL_PAGES,	/* mirrored pages they dropped */
	RODP_CNT_ODP_PREFETCHES,	/* advise_mr ranges */
	RODP_CNT_ODP_PREFETCH_PAGES,	/* pages those brought in */
	RODP_CNT_MAX
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
 * @mw_lock: memory windows' state and MR window counts (rodp_mw.c)
 * @qp_xa: queue pairs by QP number
 * @qp_next: next QP number xa_alloc_cyclic() tries
 * @ah_xa: address handles by number (rodp_ah.c)
 * @ah_next: next AH number xa_alloc_cyclic() tries
 * @mcgs: multicast groups with QPs attached (rodp_mcast.c): changed under
 *	rtnl_lock, read under RCU
 * @nmcg: entries on @mcgs
 * @atomic_lock: makes remote atomics atomic among the device's QPs
 * @nsrq: SRQs that exist (at most RODP_MAX_SRQ)
 * @srq_xa: XRC SRQs by number (the XRCETH's), for XRC target QPs
 * @srq_next: next SRQ number xa_alloc_cyclic() tries
 * @cnt: counters, enum rodp_counter (atomic, any context)
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
	struct mutex mw_lock;
	struct xarray qp_xa;
	u32 qp_next;
	struct xarray ah_xa;
	u32 ah_next;
	struct list_head mcgs;
	unsigned int nmcg;
	spinlock_t atomic_lock;
	atomic_t nsrq;
	struct xarray srq_xa;
	u32 srq_next;
	atomic64_t cnt[RODP_CNT_MAX];
};

#define RODP_CNT_ODP_FIRST	RODP_CNT_ODP_FAULTS
#define RODP_ODP_NCNT		(RODP_CNT_MAX - RODP_CNT_ODP_FIRST)

static inline void rodp_count(struct rodp_dev *rdev, enum rodp_counter c)
{
	atomic64_inc(&rdev->cnt[c]);
}

static inline void rodp_count_n(struct rodp_dev *rdev, enum rodp_counter c,
				u32 n)
{
	atomic64_add(n, &rdev->cnt[c]);
}

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

/* An XRC domain: the RDMA core keeps all there is to it (rodp_xrc.c). */
struct rodp_xrcd {
	struct ib_xrcd ibxrcd;
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
	struct rodp_ring_hdr *ring;
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
				  IB_ACCESS_ON_DEMAND |			\
				  IB_ACCESS_MW_BIND |			\
				  RODP_ACCESS_FLUSH_GLOBAL |		\
				  RODP_ACCESS_FLUSH_PERSISTENT |	\
				  IB_ACCESS_OPTIONAL)

enum rodp_mr_kind {
	RODP_MR_DMA,	/* kernel: iova is a kernel virtual address */
	RODP_MR_USER,	/* pinned user memory */
	RODP_MR_ODP,	/* user memory mirrored on demand (rodp_odp.c) */
	RODP_MR_FAST,	/* kernel: fast registration (rodp_frmr.c) */
};

struct rodp_frmr;

/**
 * struct rodp_odp - the mirror of an ODP memory region (rodp_odp.c)
 * @mm: the address space mirrored; kept allocated (mmgrab), not alive
 * @implicit: the MR covers the whole address space
 * @va_start: user virtual address of the MR's iova (0 when implicit)
 * @va_end: end of the mirrored virtual range
 * @lock: serializes creating and removing blocks
 * @blocks: the mirror's blocks by virtual address >> block shift
 * @last: an explicit MR's block used last (a hint: rodp_odp.c)
 * @reap_work: drops blocks of an implicit MR whose range was unmapped
 * @cnt: this MR's share of the ODP counters, from RODP_CNT_ODP_FIRST
 */
struct rodp_odp {
	struct mm_struct *mm;
	bool implicit;
	unsigned long va_start;
	unsigned long va_end;
	struct mutex lock;
	struct xarray blocks;
	struct rodp_odp_block *last;
	struct work_struct reap_work;
	atomic64_t cnt[RODP_ODP_NCNT];
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
 * @odp: the mirror (RODP_MR_ODP)
 * @fr: page lists, key and state of a fast-registration MR (RODP_MR_FAST)
 * @dying: being deregistered: long walks (an async prefetch) stop early
 * @num_mw: memory windows bound to it (under rodp_dev.mw_lock)
 * @mw_closed: leaving the key space: no window binds to it (mw_lock)
 * @users: references: the registration holds one, each rodp_mr_get() one
 *	more
 * @released: completed when @users drops to zero
 * @rcu: frees the struct once lockless lookups that found it are done
 */
struct rodp_mr {
	struct ib_mr ibmr;
	enum rodp_mr_kind kind;
	int access;
	unsigned long start;
	struct ib_umem *umem;
	struct page **pages;
	unsigned long npages;
	struct rodp_odp odp;
	struct rodp_frmr *fr;
	bool dying;
	unsigned int num_mw;
	bool mw_closed;
	refcount_t users;
	struct completion released;
	struct rcu_head rcu;
};

static inline struct rodp_mr *to_rmr(struct ib_mr *ibmr)
{
	return container_of(ibmr, struct rodp_mr, ibmr);
}

/* One piece of an MR range: kernel address and length. */
typedef int (*rodp_mr_io_fn)(void *priv, void *kaddr, u64 len);
/* One piece of an MR range in one page: the page, offset and length. */
typedef int (*rodp_mr_page_fn)(void *priv, struct page *page, u32 off,
			       u32 len);
/*
 * The walk functions the per-packet paths use, called directly where a
 * function pointer would cost a retpoline per piece (INDIRECT_CALL_*).
 */
int rodp_copy_piece(void *priv, void *kaddr, u64 len);
int rodp_kmap_piece(void *priv, struct page *page, u32 off, u32 len);
int rodp_frag_piece(void *priv, struct page *page, u32 off, u32 len);

/**
 * struct rodp_odp_hold - an ODP block kept locked from one packet to the next
 * @mr: the MR, held (a users reference), or NULL when nothing is kept
 * @blk: its block, whose mutex the holder keeps (rodp_odp.c)
 * @owner: the task that keeps it
 *
 * A train's packets walk one ODP block after the other, 1 KiB at a time:
 * a hold lets the next packet in the same block skip the block's lookup
 * and mutex (rodp_odp_pages()).  Kept only while nothing but that walk
 * runs: let go (rodp_odp_let_go()) before anything that allocates, sends
 * a packet or takes another block, which is when a train is sent
 * (rodp_train_end()), when a received train's packets are taken
 * (rodp_recv.c), and in rodp_xmit().  An invalidation of the block waits
 * for it as for one packet's copy, at most a train's walk.
 */
struct rodp_odp_hold {
	struct rodp_mr *mr;
	struct rodp_odp_block *blk;
	struct task_struct *owner;
};

struct rodp_direct_way;

/**
 * struct rodp_path - where a packet goes: RoCEv2 over IPv4 or IPv6 (the
 * path of an RC QP, or of an address handle for UD)
 * @ipv6: the path is RoCEv2 over IPv6, else over IPv4
 * @saddr: IPv4 source address
 * @daddr: IPv4 destination address
 * @saddr6: IPv6 source address
 * @daddr6: IPv6 destination address
 * @oif: ifindex of the source GID's netdev
 * @tos: IP TOS / traffic class
 * @ttl: IP TTL / hop limit
 * @flow_label: the GRH flow label (UDP source port of a UD path)
 * @dst_cache: the route to the peer
 * @direct: the way to a peer in another namespace, per CPU (rodp_direct.c)
 * @local_hint: rodp_path_local()'s last answer: the peer is on this host
 * @local_hint_at: until when (jiffies) that answer holds
 */
struct rodp_path {
	bool ipv6;
	__be32 saddr;
	__be32 daddr;
	struct in6_addr saddr6;
	struct in6_addr daddr6;
	int oif;
	u8 tos;
	u8 ttl;
	u32 flow_label;
	struct dst_cache dst_cache;
	struct rodp_direct_way __percpu *direct;
	bool local_hint;
	unsigned long local_hint_at;
};

/**
 * struct rodp_wq - one work queue (SQ or RQ) of a QP: a shared ring and
 * the kernel's checked copies of the WQEs it is working on
 * @ring: ring header and slots (vmalloc_user memory, mapped by the user)
 * @mmap_entry: the entry that owns @ring
 * @log2_slots: log2 of the number of slots
 * @slot_size: bytes per slot
 * @copy: kernel copies of the slots, same layout (kvmalloc)
 * @cons: oldest WQE not yet retired; published to @ring->cons
 * @head: WQEs copied in so far (cons <= head <= the user's prod)
 */
struct rodp_wq {
	struct rodp_ring_hdr *ring;
	struct rodp_mmap_entry *mmap_entry;
	u32 log2_slots;
	u32 slot_size;
	u8 *copy;
	u32 cons;
	u32 head;
};

/**
 * struct rodp_srq - a shared receive queue (rodp_srq.c)
 * @ibsrq: the RDMA core's SRQ
 * @rdev: the device
 * @lock: the consumer side: @wq (and its replacement on a resize),
 *	@limit, @error.  Responders take WQEs under it, each one copied
 *	out at once (rodp_srq_take()): cons advances as it is taken, and
 *	receives complete out of order, from the QPs' own copies.
 * @wq: the ring; only cons (== head) of the kernel's indexes is used
 * @max_sge: SGEs a WQE may carry
 * @limit: the armed srq_limit, 0 when not armed
 * @error: the SRQ is in error (its ring was found corrupt): nothing more
 *	is taken from it
 * @users: XRC SRQs: references: the SRQ number space holds one, each
 *	lookup by number (rodp_srq_get()) one more
 * @released: completed when @users drops to zero
 * @post_lock: a kernel consumer's SRQ: serialises its posts (producer
 *	side, rodp_kverbs.c; irqsave, any context)
 */
struct rodp_srq {
	struct ib_srq ibsrq;
	struct rodp_dev *rdev;
	spinlock_t lock;
	spinlock_t post_lock;
	struct rodp_wq wq;
	u32 max_sge;
	u32 limit;
	bool error;
	refcount_t users;
	struct completion released;
};

static inline struct rodp_srq *to_rsrq(struct ib_srq *ibsrq)
{
	return container_of(ibsrq, struct rodp_srq, ibsrq);
}

/* Kernel bookkeeping of one send WQE (parallel to rodp_wq.copy). */
struct rodp_swqe_info {
	enum rcore_rc_msg kind;
	u32 first_psn;
	u32 npsn;
	u32 len;
	u8 read_chunk;		/* a read: responses asked for at a time */
	u8 status;		/* error found when fetched or sent */
	bool started;		/* first packet sent: first_psn valid */
	bool signaled;
	bool local;		/* BIND_MW, LOCAL_INV: no packets (rodp_mw.c) */
};

/*
 * A read or atomic response the responder still has to send.  Responses
 * leave in request order, and coalesced ACKs and sequence NAKs wait for
 * them: an acknowledgement that overtook a read's responses would tell
 * the requester they were lost.
 */
struct rodp_rd_job {
	u32 psn;		/* PSN of the request (first response) */
	u32 npsn;		/* response packets */
	u32 next;		/* next response packet index */
	u64 va;
	u32 rkey;
	u32 len;
	bool atomic;		/* an atomic ACK carrying @orig */
	bool fresh;		/* a new read, not a retry: nothing of it sent */
	u64 orig;
	u32 xrc_srqn;		/* XRC target: the SRQ whose PD the read uses */
};

#define RODP_RD_JOBS		(2 * RODP_MAX_RD_ATOMIC)

/* A remote atomic already executed: its result, replayed on a retry. */
struct rodp_atomic_res {
	u32 psn;
	bool valid;
	u64 orig;
};

/*
 * The two sides of a QP's transport.  Each runs on its own: the requester
 * (send queue, completer, retry timers) and the responder (requests in,
 * receive queue, responses out).  A loopback peer's WRITE lands while
 * this QP's own requester is still busy taking its ACK, as on a NIC.
 */
enum rodp_side {
	RODP_REQ,
	RODP_RESP,
	RODP_SIDES
};

#define RODP_HANDOFF_MAX	8
/*
 * A round that queued this many packets or more on this host, and has
 * more to do, leaves the receivers to their work items (a pipeline,
 * rodp_eng_handoff_run()); fewer, and they run at once, here (latency).
 */
#define RODP_PIPELINE_PKTS	16
/* The longest headers of a response handed over by a call (an ACK's). */
#define RODP_CALL_HDR_MAX	32

/**
 * struct rodp_eng - one side of a QP's transport and what runs it
 * @lock: held while the side runs, and by modify/query/destroy
 * @rxq: received packets for this side (responses for the requester,
 *	requests for the responder)
 * @work: runs the side when no one else does
 * @owner: the task running the side now, or NULL; the netlink dump reads
 *	it without the lock, under RCU (rodp_qp.c)
 * @nested: run inline by another side's run (loopback delivery)
 * @deferred: this round met memory it may not fault in here (an ODP fault
 *	that would sleep in another process's context, rodp_odp.c): the
 *	round stopped with nothing of that step done, and the work item
 *	takes it up (rodp_eng_defer())
 * @qp: the QP it belongs to
 * @side: enum rodp_side
 * @nhandoff: entries in @handoff
 * @handoff_pkts: packets queued for them this round
 * @handoff: sides of this host's QPs that this side's round queued
 *	packets for, each with the reference rodp_rx_queue() took: they run
 *	once, when the round ends (rodp_eng_handoff_run()), to take the
 *	whole batch, not once per packet
 * @call_hlen: a response handed over by a call waits here, taken before
 *	@rxq (rodp_call.c): its headers' length, 0 for none
 * @call_from_peer: it came from the QP's peer
 * @call_len: its length as a packet's on the wire
 * @call_hdr: its headers
 * @hold: the ODP block the copies of a received train's packets keep
 *	from one packet to the next (rodp_recv.c), owned by the task that
 *	runs the side
 */
struct rodp_eng {
	struct mutex lock;
	struct sk_buff_head rxq;
	struct work_struct work;
	struct task_struct *owner;
	bool nested;
	bool deferred;
	struct rodp_qp *qp;
	u8 side;
	u8 nhandoff;
	u32 handoff_pkts;
	struct rodp_eng *handoff[RODP_HANDOFF_MAX];
	u8 call_hlen;
	bool call_from_peer;
	u32 call_len;
	u8 call_hdr[RODP_CALL_HDR_MAX];
	struct rodp_odp_hold hold;
};

/**
 * struct rodp_qp - an RC, UC or UD queue pair
 * @ibqp: the RDMA core's QP
 * @rdev: the device
 * @users: references: the QP number space holds one, each receive path
 *	lookup (rodp_qp_get_rcu()) one more
 * @released: completed when @users drops to zero
 * @eng: the two sides, enum rodp_side
 * @retry_timer: the requester's retransmission timer (lazy: rodp_eng.c)
 * @rnr_timer: ends the requester's wait after an RNR NAK
 * @flags: RODP_QPF_* bits, atomic
 * @lockers: tasks in rodp_qp_lock_both(): a work item running a side
 *	round after round lets go for them
 * @sq: the send queue
 * @rq: the receive queue (no ring when the QP is on an SRQ)
 * @srq: the SRQ the QP takes its receive WQEs from, or NULL.  On an XRC
 *	target QP: the SRQ the request being handled names (held by
 *	rodp_xrc.c for that request), NULL in between
 * @srq_wqe: the kernel's copy of the receive WQE taken from @srq
 * @xrcd: the XRC domain of an XRC target QP
 * @xrc_msg_srqn: XRC target: the SRQ of the receive in progress
 * @srq_last_wqe: IB_EVENT_QP_LAST_WQE_REACHED was raised in this error
 *	state (responder side)
 * @sq_info: the kernel's bookkeeping of each send queue slot
 * @sq_post_lock: a kernel consumer's QP: serialises its posts to @sq
 *	(producer side, rodp_kverbs.c; irqsave, any context)
 * @rq_post_lock: the same for @rq
 * @state: enum ib_qp_state; see below
 * @sq_sig_all: every send WQE completes with a CQE
 * @sq_draining: SQD asked for and the send queue not drained yet
 * @max_send_sge: SGEs a send WQE may carry
 * @max_recv_sge: SGEs a receive WQE may carry
 * @max_inline: inline bytes a send WQE may carry
 * @attr: the attributes as set (and queried)
 * @attr_mask: the attributes ever set
 * @path: the path to the peer (RC; a UD QP's packets take their AH's)
 * @mcast_n: multicast groups the QP is attached to (under rtnl_lock)
 * @req: the requester's protocol state (rcore)
 * @send_idx: the send WQE being sent (between sq.cons and sq.head)
 * @send_pkt: its next packet index
 * @since_ackreq: packets sent since AckReq was last set
 * @rd_atomic_out: reads and atomics outstanding
 * @retry_armed: PSNs are outstanding and @retry_deadline is valid
 * @timer_una: una_psn when the deadline was set
 * @retry_deadline: in jiffies: no ACK by then and the requester retries
 * @rnr_wait: the requester waits out an RNR delay (UC: a pacing delay)
 * @uc_tx_cpu: UC: the CPU the requester last sent from (rodp_uc.c)
 * @uc_cpu_waits: UC: jiffies waited so far for that CPU's backlog
 * @uc_mark: UC: that backlog's queue position to wait for (RPS counters)
 * @uc_hops: UC: hops of the last packets that backlog may still hold
 * @uc_sent_at: UC: jiffies of the last packet sent
 * @resp: the responder's protocol state (rcore)
 * @resp_ack_due: a coalesced ACK is to be sent
 * @resp_have_wqe: a receive is in progress: at rq.cons, or @srq_wqe
 * @resp_msg_len: bytes received into it so far
 * @resp_rkey: R_Key of the RDMA WRITE in progress
 * @resp_va: where its next packet goes
 * @resp_va_end: the end of its range
 * @rd_jobs: read and atomic responses to send, a ring
 * @rd_head: where the next job goes in @rd_jobs
 * @rd_tail: the oldest job in @rd_jobs
 * @resp_nak_due: @resp_nak waits for the jobs ahead of it
 * @resp_fatal: ... and ends the QP: requests meanwhile are dropped
 * @resp_nak: the NAK to send
 * @atomics: results of executed atomics, replayed on a retry
 * @atomic_next: the next slot of @atomics to fill
 *
 * Everything below @attr_mask is the transport state.  The requester's
 * part is read and written with eng[RODP_REQ].lock held, the responder's
 * with eng[RODP_RESP].lock held, the attributes and the path with both
 * (modify) and read with either.  @state changes with both locks held,
 * except that either side may move the QP to the error state alone
 * (rodp_qp_error()), so a side reads it with rodp_qp_state() and it is
 * written with WRITE_ONCE().  The receive path and the doorbells only
 * queue packets and run or kick a side.
 */
struct rodp_qp {
	struct ib_qp ibqp;
	struct rodp_dev *rdev;
	refcount_t users;
	struct completion released;
	struct rodp_eng eng[RODP_SIDES];
	struct timer_list retry_timer;
	struct timer_list rnr_timer;
	unsigned long flags;
	atomic_t lockers;
	struct rodp_wq sq;
	struct rodp_wq rq;
	struct rodp_srq *srq;
	struct rodp_rwqe *srq_wqe;
	struct ib_xrcd *xrcd;
	u32 xrc_msg_srqn;
	bool srq_last_wqe;
	struct rodp_swqe_info *sq_info;
	spinlock_t sq_post_lock;
	spinlock_t rq_post_lock;

	enum ib_qp_state state;
	bool sq_sig_all;
	bool sq_draining;
	u32 max_send_sge;
	u32 max_recv_sge;
	u32 max_inline;
	struct ib_qp_attr attr;
	int attr_mask;

	struct rodp_path path;
	unsigned int mcast_n;

	/* requester / completer */
	struct rcore_rc_req_state req;
	u32 send_idx;
	u32 send_pkt;
	u32 since_ackreq;
	u32 rd_atomic_out;
	bool retry_armed;
	u32 timer_una;
	unsigned long retry_deadline;
	bool rnr_wait;
	int uc_tx_cpu;
	u16 uc_cpu_waits;
	u8 uc_hops;
	unsigned int uc_mark;
	unsigned long uc_sent_at;

	/* responder */
	struct rcore_rc_resp_state resp;
	bool resp_ack_due;
	bool resp_have_wqe;
	u32 resp_msg_len;
	u32 resp_rkey;
	u64 resp_va;
	u64 resp_va_end;
	struct rodp_rd_job rd_jobs[RODP_RD_JOBS];
	u32 rd_head, rd_tail;
	bool resp_nak_due;
	bool resp_fatal;
	struct rcore_rc_ack resp_nak;
	struct rodp_atomic_res atomics[RODP_MAX_RD_ATOMIC];
	u32 atomic_next;
};

/* rodp_qp.flags */
enum {
	RODP_QPF_DYING,		/* being destroyed: no timers, no kicks */
	RODP_QPF_TIMEOUT,	/* the retry timer fired */
	RODP_QPF_RNR_DONE,	/* the RNR timer fired */
	/*
	 * A round of the requester (of the responder) is wanted: whoever
	 * holds its lock runs it, or kicks its work item.
	 */
	RODP_QPF_PENDING,
	RODP_QPF_PENDING_RESP,
};

/*
 * Dynamic debug of a QP's transport, off by default; on with
 *   echo 'module rodp +p' > /sys/kernel/debug/dynamic_debug/control
 * Every message names the device and the QP.
 */
#define rodp_dbg_qp(qp, fmt, ...)					\
	ibdev_dbg(&(qp)->rdev->ibdev, "qp %u: " fmt,			\
		  (qp)->ibqp.qp_num, ##__VA_ARGS__)

/* Is @qp an Unreliable Connected QP (no ACKs, no retries: rodp_uc.c)? */
static inline bool rodp_qp_uc(const struct rodp_qp *qp)
{
	return qp->ibqp.qp_type == IB_QPT_UC;
}

/* Is @opcode a response (for a requester) rather than a request? */
static inline bool rodp_is_response(u8 opcode)
{
	u8 tr = rcore_opcode_transport(opcode);
	u8 op = rcore_opcode_op(opcode);

	return (tr == RCORE_TR_RC || tr == RCORE_TR_XRC) &&
	       op >= RCORE_OP_READ_RESP_FIRST && op <= RCORE_OP_ATOMIC_ACK;
}

/* The transport of @qp's packets (enum rcore_transport). */
static inline u8 rodp_qp_transport(const struct rodp_qp *qp)
{
	switch (qp->ibqp.qp_type) {
	case IB_QPT_UC:
		return RCORE_TR_UC;
	case IB_QPT_UD:
	case IB_QPT_GSI:
		return RCORE_TR_UD;
	case IB_QPT_XRC_INI:
	case IB_QPT_XRC_TGT:
		return RCORE_TR_XRC;
	default:
		return RCORE_TR_RC;
	}
}

/* Is @qp an XRC initiator (XRC_SEND) QP: an RC requester, no receives? */
static inline bool rodp_qp_xrc_ini(const struct rodp_qp *qp)
{
	return qp->ibqp.qp_type == IB_QPT_XRC_INI;
}

/* Is @qp an XRC target (XRC_RECV) QP: an RC responder on XRC SRQs? */
static inline bool rodp_qp_xrc_tgt(const struct rodp_qp *qp)
{
	return qp->ibqp.qp_type == IB_QPT_XRC_TGT;
}

/*
 * The PD a QP's memory accesses are checked against: its own, or for an
 * XRC target QP (which has none) the PD of the SRQ the request names.
 */
static inline struct ib_pd *rodp_qp_pd(const struct rodp_qp *qp)
{
	if (rodp_qp_xrc_tgt(qp))
		return qp->srq ? qp->srq->ibsrq.pd : NULL;
	return qp->ibqp.pd;
}

/* Where a QP's receives complete: its receive CQ, or its XRC SRQ's. */
static inline struct rodp_cq *rodp_qp_rcq(const struct rodp_qp *qp)
{
	if (rodp_qp_xrc_tgt(qp))
		return container_of(qp->srq->ibsrq.ext.cq, struct rodp_cq,
				    ibcq);
	return container_of(qp->ibqp.recv_cq, struct rodp_cq, ibcq);
}

static inline struct rodp_qp *to_rqp(struct ib_qp *ibqp)
{
	return container_of(ibqp, struct rodp_qp, ibqp);
}

/* The kernel's bookkeeping of send queue slot @idx (free-running). */
static inline struct rodp_swqe_info *rodp_sq_info(struct rodp_qp *qp, u32 idx)
{
	return &qp->sq_info[idx & ((1u << qp->sq.log2_slots) - 1)];
}

/*
 * A QP's state as a side sees it: the other side may move it to
 * IB_QPS_ERR at any time (rodp_qp_error()), so it is read once, and
 * written with WRITE_ONCE().  Modify and query, holding both sides, read
 * it plainly.
 */
static inline enum ib_qp_state rodp_qp_state(const struct rodp_qp *qp)
{
	return READ_ONCE(qp->state);
}

/* Does the requester send, and the completer take responses? */
static inline bool rodp_qp_can_send(const struct rodp_qp *qp)
{
	enum ib_qp_state s = rodp_qp_state(qp);

	return s == IB_QPS_RTS || s == IB_QPS_SQD;
}

/* Does the responder take requests?  (SQE: only UD QPs get there.) */
static inline bool rodp_qp_can_recv(const struct rodp_qp *qp)
{
	enum ib_qp_state s = rodp_qp_state(qp);

	return s == IB_QPS_RTR || s == IB_QPS_RTS || s == IB_QPS_SQD ||
	       s == IB_QPS_SQE;
}

/* Is @qp a datagram QP: UD, or QP1 (the GSI QP, a kernel UD QP)? */
static inline bool rodp_qp_is_ud(const struct rodp_qp *qp)
{
	return qp->ibqp.qp_type == IB_QPT_UD ||
	       qp->ibqp.qp_type == IB_QPT_GSI;
}

/*
 * What rodp keeps in a received packet's control buffer, once the packet
 * is queued for a QP side (the network stack is done with it then).
 * @local: handed over on this host by rodp_xmit(), never on a wire: it
 * carries no ICRC (as the kernel's loopback device needs no checksums).
 */
struct rodp_skb_cb {
	bool local;
	/*
	 * A train (rodp_train_begin()): @train packets, all but the last
	 * with @sub_len bytes of payload; the receiver is at packet @next,
	 * whose headers are @off bytes from skb->data.  0: one packet.
	 * Each packet in its wire form, one after the other; or, @split,
	 * the headers only, one after the other in skb->data, and the
	 * payloads after them, back to back in page fragments of the
	 * sender's memory (the next at @pay bytes from skb->data).
	 */
	u8 train;
	u8 next;
	u16 sub_len;
	u32 off;
	bool split;
	u32 pay;
};

/*
 * A train: at most this many packets, and bytes: IP's 64 KiB (its IP and
 * UDP headers carry its length); copied, a little less, so that the skb
 * is one 64 KiB allocation.
 */
#define RODP_TRAIN_MAX		64
#define RODP_TRAIN_BYTES	60000
#define RODP_TRAIN_SPLIT_BYTES	(0xffff - 40 - 8)	/* IPv6, UDP */
#define RODP_TRAIN_HDR_MAX	64	/* BTH and extension headers, at most */

#define RODP_SKB_CB(skb)	((struct rodp_skb_cb *)(skb)->cb)

/* A received packet, parsed, as the transport sees it. */
struct rodp_rx {
	struct sk_buff *skb;
	struct rcore_pkt pkt;
	const u8 *payload;	/* in skb->data; NULL when in fragments */
	u32 payload_off;	/* from skb->data */
	struct rodp_odp_hold *hold;	/* a train's: its side's */
};

/*
 * A packet to send: headers, where it goes (@path: NULL for the QP's own)
 * and where its payload comes from.
 */
struct rodp_tx {
	struct rcore_pkt pkt;
	struct rodp_path *path;
	u32 payload_len;
	/* payload source: inline bytes, local SGEs, or an MR range */
	const void *inline_data;
	const struct rodp_sge *sge;
	u32 num_sge;
	u32 sge_off;			/* byte offset into the SGE list */
	struct rodp_mr *mr;
	u64 mr_va;
	u64 mr_ahead;			/* bytes of the message after this one */
};

/*
 * Fault injection points (rodp_inject.c, test builds only: RODP_INJECT).
 * @RODP_INJ_ODP_FAULT: an ODP fault fails as if the process's address
 *	space were gone (mmget_not_zero() failed)
 * @RODP_INJ_CREATE_QP: create_qp fails at its last step, after everything
 *	else was set up, with the QP number allocated
 * @RODP_INJ_ODP_BUSY: an ODP fault for an access fails for the moment
 *	(-EBUSY), as one that kept colliding with invalidations
 */
enum rodp_inject_point {
	RODP_INJ_ODP_FAULT,
	RODP_INJ_CREATE_QP,
	RODP_INJ_ODP_BUSY,
	RODP_INJ_MAX
};

#ifdef RODP_INJECT
bool rodp_inject(enum rodp_inject_point p);
void rodp_inject_sleep(enum rodp_inject_point p);
void rodp_inject_init(void);
void rodp_inject_exit(void);
#else
static inline bool rodp_inject(enum rodp_inject_point p)
{
	return false;
}

static inline void rodp_inject_sleep(enum rodp_inject_point p)
{
}

static inline void rodp_inject_init(void)
{
}

static inline void rodp_inject_exit(void)
{
}
#endif

/* rodp_main.c: module entry, the device list, the netdev notifier */
struct rodp_dev *rodp_dev_lookup_rcu(struct net_device *ndev);
void rodp_dev_gone(struct rodp_dev *rdev);

/* rodp_dev.c: device attributes, ports, registration */
int rodp_dev_register(struct rodp_dev *rdev, const char *name);
enum ib_mtu rodp_active_mtu(struct rodp_dev *rdev);
void rodp_port_event(struct rodp_dev *rdev);
extern const struct ib_device_ops rodp_dev_ops;

/* rodp_mr.c: memory regions, the one way to memory, SGE copies */
extern const struct ib_device_ops rodp_mr_ops;
struct rodp_mr *rodp_mr_get(struct rodp_dev *rdev, u32 key, struct ib_pd *pd,
			    int access, u64 iova, u64 len);
void rodp_mr_put(struct rodp_mr *mr);
int rodp_mr_insert(struct rodp_dev *rdev, struct rodp_mr *mr);
int rodp_mr_io(struct rodp_mr *mr, u64 iova, u64 len, u64 ahead,
	       bool write, rodp_mr_io_fn fn, void *priv);
int rodp_mr_copy(struct rodp_mr *mr, u64 iova, u64 len, u64 ahead,
		 void *buf, bool to_mr);
int rodp_mr_frags(struct rodp_mr *mr, u64 iova, u64 len, u64 ahead,
		  struct sk_buff *skb, struct rodp_odp_hold *hold);
int rodp_sge_frags(struct rodp_qp *qp, const struct rodp_sge *sge,
		   u32 num_sge, u32 off, u32 len, struct sk_buff *skb,
		   struct rodp_odp_hold *hold);
int rodp_mr_copy_rx(struct rodp_mr *mr, u64 iova, u64 len, u64 ahead,
		    const struct rodp_rx *rx, u32 off);
int rodp_sge_copy_rx(struct rodp_qp *qp, const struct rodp_sge *sge,
		     u32 num_sge, u32 sge_off, const struct rodp_rx *rx,
		     u32 off, u32 len);
int rodp_sge_copy(struct rodp_qp *qp, const struct rodp_sge *sge,
		  u32 num_sge, u32 off, void *buf, u32 len, bool to_sge);

/* rodp_mw.c: memory windows, R_Key invalidation */
extern const struct ib_device_ops rodp_mw_ops;
struct rodp_mr *rodp_rkey_get(struct rodp_qp *qp, u32 rkey, int access,
			      u64 va, u64 len, u64 *iova);
int rodp_mw_close_mr(struct rodp_mr *mr);
void rodp_mw_reopen_mr(struct rodp_mr *mr);
int rodp_mw_invalidate(struct rodp_qp *qp, u32 rkey, bool remote);
int rodp_mw_wc_opcode(u8 opcode);
enum ib_wc_status rodp_mw_local_op(struct rodp_qp *qp,
				   const struct rodp_swqe *wqe);

/*
 * rodp_frmr.c: fast-registration MRs of kernel consumers.  IB_WR_REG_MR
 * travels in a kernel send ring as this opcode, which the user ABI does
 * not have (a user ring that carries it gets an error completion).
 */
#define RODP_WR_REG_MR		0x40
#define RODP_MAX_FR_PAGES	512	/* max_fast_reg_page_list_len */
extern const struct ib_device_ops rodp_frmr_ops;
int rodp_frmr_check(struct rodp_mr *mr, u32 key, int access, u64 iova,
		    u64 len);
int rodp_frmr_io(struct rodp_mr *mr, u64 iova, u64 len, rodp_mr_io_fn fn,
		 void *priv);
void rodp_frmr_release(struct rodp_mr *mr);
int rodp_frmr_invalidate(struct rodp_qp *qp, u32 rkey);
enum ib_wc_status rodp_frmr_reg(struct rodp_qp *qp,
				const struct rodp_swqe *wqe);
int rodp_frmr_kwr(const struct rodp_qp *qp, const struct ib_reg_wr *reg,
		  struct rodp_swqe *w);

/* rodp_odp.c: On-Demand Paging */
extern const struct ib_device_ops rodp_odp_ops;
int rodp_odp_init(struct rodp_mr *mr, struct mm_struct *mm, u64 start,
		  bool implicit);
void rodp_odp_release(struct rodp_mr *mr);
int rodp_odp_pages(struct rodp_mr *mr, u64 iova, u64 len, u64 ahead,
		   bool write, rodp_mr_page_fn fn, void *priv,
		   struct rodp_odp_hold *hold);
void rodp_odp_let_go(struct rodp_odp_hold *hold);
int rodp_odp_prefetch(struct rodp_mr *mr, u64 iova, u64 len,
		      enum ib_uverbs_advise_mr_advice advice, bool wait);
int rodp_odp_module_init(void);
void rodp_odp_module_exit(void);
void rodp_mm_ref_umem(int delta);

/**
 * rodp_mem_later - did memory fail an access for the moment only
 * @err: an error of rodp_mr_io(), rodp_mr_frags() or rodp_xmit()
 *
 * -EBUSY: an ODP fault kept colliding with invalidations past its
 * deadline; -ENOMEM: no memory (a mirror block, an skb).  The same access
 * may well succeed when the requester asks again, so neither ends a QP.
 */
static inline bool rodp_mem_later(int err)
{
	return err == -EBUSY || err == -ENOMEM;
}

/* rodp_main.c: debugfs rodp/, created first at module load */
extern struct dentry *rodp_debugfs_root;

/* rodp_net.c: the UDP tunnel sockets, packets out and in */
int rodp_xmit(struct rodp_qp *qp, struct rodp_tx *tx);
int rodp_tx_copy(struct rodp_qp *qp, const struct rodp_tx *tx, u8 *p);
bool rodp_path_local(struct rodp_dev *rdev, struct rodp_path *path);
int rodp_path_peer(struct rodp_dev *rdev, struct rodp_path *path,
		   struct rodp_dev **peer, struct dst_entry **dst);

/*
 * A train of packets to a peer on this host (rodp_train_begin()): @n of
 * at most @max so far, in @skb (made for the first); @split (struct
 * rodp_skb_cb), its headers @hlen bytes so far, written after the tail.
 */
struct rodp_train {
	struct sk_buff *skb;
	u32 max;
	u32 n;
	u32 sub_len;
	u32 hlen;
	u16 sport;
	u8 from;
	bool last;
	bool split;
	struct rodp_odp_hold hold;
};

/*
 * One packet of a received train (rodp_train_next()): headers of
 * @hdr_len bytes at skb->data + RODP_SKB_CB(skb)->off, of which @avail
 * bytes are there, the wire form's length @len; the payload @pay bytes
 * from skb->data, @pay_len bytes (in a split train the pad and the ICRC
 * are not there; in a copied one they follow it).
 */
struct rodp_train_pos {
	u32 hdr_len;
	u32 avail;
	u32 len;
	u32 pay;
	u32 pay_len;
};

void rodp_train_begin(struct rodp_train *t, u32 max);
int rodp_train_add(struct rodp_qp *qp, struct rodp_train *t,
		   struct rodp_tx *tx);
u32 rodp_train_end(struct rodp_qp *qp, struct rodp_train *t);
bool rodp_train_next(const struct sk_buff *skb, struct rodp_train_pos *pos);
void rodp_train_step(struct sk_buff *skb, const struct rodp_train_pos *pos);
void rodp_eng_handoff_run(struct rodp_eng *e, bool busy);
int rodp_net_init(void);
void rodp_net_exit(void);
int rodp_net_get(struct net *net);
void rodp_net_put(struct net *net);
int rodp_net_mc(struct rodp_dev *rdev, const struct in6_addr *group,
		bool join);

/* rodp_direct.c: host-local delivery between namespaces */
struct rodp_dev *rodp_direct_peer(struct rodp_dev *rdev,
				  const struct rodp_path *path,
				  struct dst_entry *dst);
void rodp_direct_forget(void);
struct rodp_direct_way __percpu *rodp_direct_ways_alloc(gfp_t gfp);
void rodp_direct_ways_free(struct rodp_direct_way __percpu *ways);
int rodp_direct_init(void);
void rodp_direct_exit(void);

/* rodp_call.c: small requests to a QP of this host, by a call */
bool rodp_call_ok(struct rodp_qp *qp, const struct rodp_tx *tx);
int rodp_call(struct rodp_qp *qp, struct rodp_tx *tx, const u8 *hdr,
	      u32 hlen, u32 len);

/* rodp_ah.c: address handles, the paths of QPs and AHs */
extern const struct ib_device_ops rodp_ah_ops;
int rodp_path_init(struct rodp_path *path, gfp_t gfp);
void rodp_path_destroy(struct rodp_path *path);
int rodp_path_set(struct rodp_dev *rdev, struct rodp_path *path,
		  const struct rdma_ah_attr *ah, bool mcast_ok);
int rodp_ah_lookup(struct rodp_qp *qp, u32 num, struct rodp_path **path,
		   void **cookie);
u32 rodp_ah_num(struct ib_ah *ibah);
void rodp_ah_release(void *cookie);

/* rodp_mcast.c: multicast groups of UD QPs */
extern const struct ib_device_ops rodp_mcast_ops;
int rodp_mcast_qps_rcu(struct rodp_dev *rdev, const struct sk_buff *skb,
		       struct rodp_qp **qps, int max);
void rodp_mcast_qp_gone(struct rodp_qp *qp);

/* rodp_ud.c: the UD requester and receiver */
void rodp_ud_req_run(struct rodp_qp *qp, bool *busy);
void rodp_ud_rx(struct rodp_qp *qp, enum rodp_side side, struct rodp_rx *rx);

/* rodp_verbs.c: contexts, PDs, CQs, mmap() of rings */
extern const struct ib_device_ops rodp_verbs_ops;
void rodp_ucontext_resp(struct rodp_alloc_context_resp *resp);
int rodp_cq_post(struct rodp_cq *cq, const struct rodp_cqe *cqe,
		 bool solicited);
struct rodp_mmap_entry *rodp_mmap_offer(struct ib_udata *udata, void *vaddr,
					size_t size);

/* rodp_import.c: what rdma-core's import verbs need */
void rodp_import_setup(struct ib_device *ibdev);

/* rodp_qp.c: QP verbs and the state machine */
extern const struct ib_device_ops rodp_qp_ops;
struct rodp_qp *rodp_qp_get_rcu(struct rodp_dev *rdev, u32 qpn);
void rodp_qp_put(struct rodp_qp *qp);

/* rodp_wq.c: the shared send and receive rings */
void *rodp_wq_slot(struct rodp_wq *wq, u32 idx);
void *rodp_wq_ring_slot(struct rodp_wq *wq, u32 idx);
u32 rodp_wq_prod(struct rodp_wq *wq);
void *rodp_wq_fetch(struct rodp_wq *wq);
void rodp_wq_retire(struct rodp_wq *wq);
void rodp_wq_restart(struct rodp_wq *wq);
int rodp_wq_take(struct rodp_wq *wq, void *dst, u32 *left);
int rodp_wq_carry(struct rodp_wq *to, struct rodp_wq *from);
int rodp_wq_alloc(struct rodp_wq *wq, u32 wr, u32 slot_size,
		  struct ib_udata *udata);
void rodp_wq_free(struct rodp_wq *wq);
size_t rodp_wq_map_size(const struct rodp_wq *wq);

/* rodp_eng.c: what runs a QP's two sides: work items, rounds, timers */
int rodp_eng_wq_init(void);
void rodp_eng_wq_exit(void);
void rodp_eng_setup(struct rodp_qp *qp);
void rodp_eng_stop(struct rodp_qp *qp);
void rodp_eng_kick(struct rodp_eng *e);
void rodp_qp_kick(struct rodp_qp *qp);
void rodp_eng_run_inline(struct rodp_eng *e, bool nested);
bool rodp_eng_call(struct rodp_eng *e, const u8 *hdr, u32 hlen, u32 len,
		   const u8 *payload, bool from_peer);
bool rodp_eng_call_response(struct rodp_eng *e, const u8 *hdr, u32 hlen,
			    u32 len, bool from_peer);
void rodp_eng_defer(struct rodp_qp *qp, enum rodp_side side);
bool rodp_eng_owned(struct rodp_eng *e);
void rodp_qp_lock_both(struct rodp_qp *qp);
void rodp_qp_unlock_both(struct rodp_qp *qp);

/* rodp_recv.c: the checks of a received packet */
void rodp_eng_rx(struct rodp_eng *e);
void rodp_eng_let_go(struct rodp_qp *qp);
bool rodp_qp_rx_call(struct rodp_qp *qp, enum rodp_side side, const u8 *hdr,
		     u32 hlen, u32 len, const u8 *payload, bool from_peer);
void rodp_eng_purge(struct rodp_eng *e);

/* rodp_req.c: the requester and the completer */
int rodp_wr_kind(u8 opcode);
int rodp_req_send_pkt(struct rodp_qp *qp, u32 idx,
		      const struct rcore_rc_seg *seg);
void rodp_req_run(struct rodp_qp *qp, bool *busy);
void rodp_comp_rx(struct rodp_qp *qp, struct rodp_rx *rx);
void rodp_comp_timeout(struct rodp_qp *qp);

/* rodp_srq.c: shared receive queues */
extern const struct ib_device_ops rodp_srq_ops;
struct rodp_rwqe *rodp_srq_take(struct rodp_qp *qp);
void rodp_srq_qp_flush(struct rodp_qp *qp);
struct rodp_srq *rodp_srq_get(struct rodp_dev *rdev, u32 srqn);
void rodp_srq_put(struct rodp_srq *srq);

/* rodp_xrc.c: XRC domains and target QPs */
extern const struct ib_device_ops rodp_xrc_ops;
void rodp_xrc_tgt_rx(struct rodp_qp *qp, struct rodp_rx *rx);
void rodp_xrc_tgt_flush(struct rodp_qp *qp);
struct rodp_srq *rodp_xrc_job_begin(struct rodp_qp *qp,
				    const struct rodp_rd_job *job);
void rodp_xrc_job_end(struct rodp_qp *qp, struct rodp_srq *srq);

/* rodp_resp.c: the responder */
struct rodp_rwqe *rodp_resp_get_wqe(struct rodp_qp *qp);
void rodp_resp_execute(struct rodp_qp *qp, struct rodp_rx *rx,
		       const struct rcore_rc_resp_verdict *v);
void rodp_resp_rx(struct rodp_qp *qp, struct rodp_rx *rx);
void rodp_resp_run(struct rodp_qp *qp, bool *busy);
void rodp_resp_reset(struct rodp_qp *qp);
void rodp_resp_fatal(struct rodp_qp *qp, u32 psn, enum rcore_nak_code code);

/* rodp_uc.c: what is particular to Unreliable Connected QPs */
int rodp_uc_req_seg(struct rodp_qp *qp, const struct rodp_swqe_info *info,
		    u32 pkt, struct rcore_rc_seg *seg);
#define RODP_UC_PACED	1	/* rodp_uc_req_send(): try again later */
int rodp_uc_req_send(struct rodp_qp *qp, u32 idx,
		     const struct rcore_rc_seg *seg);
void rodp_uc_req_sent(struct rodp_qp *qp, u32 idx, bool last);
void rodp_uc_resp_rx(struct rodp_qp *qp, struct rodp_rx *rx);
void rodp_uc_resp_drop(struct rodp_qp *qp, enum rodp_counter why);

/* rodp_kverbs.c: kernel consumers' QPs and SRQs: posting, completions */
static inline bool rodp_wq_kernel(const struct rodp_wq *wq)
{
	return wq->ring && !wq->mmap_entry;
}

/* A kernel consumer's QP (an XRC target's SQ is no one's: no posts). */
static inline bool rodp_qp_kernel(const struct rodp_qp *qp)
{
	return qp->ibqp.qp_type != IB_QPT_XRC_TGT && rodp_wq_kernel(&qp->sq);
}

void rodp_kqp_init(struct rodp_qp *qp);
int rodp_kpost_send(struct rodp_qp *qp, const struct ib_send_wr *wr,
		    const struct ib_send_wr **bad_wr);
int rodp_kpost_recv(struct rodp_qp *qp, const struct ib_recv_wr *wr,
		    const struct ib_recv_wr **bad_wr);
int rodp_kpost_srq_recv(struct rodp_srq *srq, const struct ib_recv_wr *wr,
			const struct ib_recv_wr **bad_wr);
struct ib_qp *rodp_kwc_qp(struct rodp_dev *rdev, u32 qpn);

/* rodp_wc.c: send completions, flushes, the error state */
void rodp_qp_send_cqe(struct rodp_qp *qp, u32 idx, enum ib_wc_status status);
void rodp_qp_set_ring_error(struct rodp_qp *qp, bool error);
void rodp_eng_flush(struct rodp_eng *e);
void rodp_qp_error(struct rodp_qp *qp, enum rodp_side side);
void rodp_qp_error_both(struct rodp_qp *qp);

#endif /* RODP_H */
