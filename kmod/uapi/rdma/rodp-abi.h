/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * rodp uverbs ABI: the driver-private data exchanged between rodp.ko and
 * its libibverbs provider (librodp-rdmav34.so) through the udata of the
 * standard uverbs commands, and the layout of the rings (CQ, SQ, RQ) they
 * share through mmap().
 */
#ifndef RODP_ABI_USER_H
#define RODP_ABI_USER_H

#include <linux/types.h>

/* Reported as the device's uverbs ABI version (ops.uverbs_abi_ver). */
#define RODP_UVERBS_ABI_VERSION	1

/*
 * Name of the read-only sysfs attribute that every rodp ib_device carries
 * (/sys/class/infiniband/<ibdev>/rodp_abi).  It reads as the decimal
 * RODP_UVERBS_ABI_VERSION.  rodp.ko registers with RDMA_DRIVER_UNKNOWN (an
 * out-of-tree driver has no driver id of its own), so the provider uses this
 * attribute, not the device name, to recognise rodp devices.
 */
#define RODP_SYSFS_ABI_ATTR	"rodp_abi"

/* IB_USER_VERBS_CMD_GET_CONTEXT response, driver part. */
struct rodp_alloc_context_resp {
	__u32 abi_version;	/* RODP_UVERBS_ABI_VERSION */
	__u32 cqe_size;		/* sizeof(struct rodp_cqe) */
	__u32 max_inline;	/* bytes of inline data a WQE can carry */
	__u32 reserved;
};

/*
 * rdma-core's import verbs (ibv_import_device, ibv_import_pd) through the
 * ioctl() interface, with ids from the driver's half of the id space
 * (UVERBS_ID_NS_SPECIFIC, 1 << UVERBS_ID_NS_SHIFT):
 *  - UVERBS_METHOD_QUERY_CONTEXT of UVERBS_OBJECT_DEVICE takes an output
 *    attribute RODP_ATTR_QUERY_CONTEXT_RESP, which the kernel fills with
 *    the struct rodp_alloc_context_resp GET_CONTEXT gave;
 *  - RODP_METHOD_PD_QUERY of UVERBS_OBJECT_PD checks that the handle in
 *    RODP_ATTR_QUERY_PD_HANDLE names a PD of the command file.
 */
#define RODP_UVERBS_ID_DRIVER	(1U << 12)

enum rodp_query_context_attrs {
	RODP_ATTR_QUERY_CONTEXT_RESP = RODP_UVERBS_ID_DRIVER,
};

enum rodp_pd_methods {
	RODP_METHOD_PD_QUERY = RODP_UVERBS_ID_DRIVER,
};

enum rodp_query_pd_attrs {
	RODP_ATTR_QUERY_PD_HANDLE = RODP_UVERBS_ID_DRIVER,
};

/* IB_USER_VERBS_CMD_CREATE_CQ request, driver part. */
struct rodp_create_cq_cmd {
	__aligned_u64 reserved;	/* must be zero */
};

/*
 * IB_USER_VERBS_CMD_CREATE_CQ response, driver part.  The provider maps
 * mmap_size bytes of the uverbs fd at mmap_offset: a struct rodp_ring_hdr
 * followed by num_cqe (a power of two) struct rodp_cqe slots.
 */
struct rodp_create_cq_resp {
	__aligned_u64 mmap_offset;
	__aligned_u64 mmap_size;
	__u32 num_cqe;
	__u32 reserved;
};

/* IB_USER_VERBS_CMD_RESIZE_CQ response, driver part (same meaning). */
struct rodp_resize_cq_resp {
	__aligned_u64 mmap_offset;
	__aligned_u64 mmap_size;
	__u32 num_cqe;
	__u32 reserved;
};

/* IB_USER_VERBS_CMD_CREATE_QP (and EX_CREATE_QP) request, driver part. */
struct rodp_create_qp_cmd {
	__aligned_u64 reserved;	/* must be zero */
};

/*
 * IB_USER_VERBS_CMD_CREATE_QP response, driver part.  The provider maps
 * the send queue (sq_mmap_size bytes at sq_mmap_offset) and the receive
 * queue (likewise; rq_mmap_size is 0 when the QP has no receive queue of
 * its own).  Each is a struct rodp_ring_hdr followed by 2^log2 slots of
 * slot_size bytes.  The QP's capabilities as granted (max_send_sge,
 * max_inline_data, ...) come back in the core part of the response.
 */
struct rodp_create_qp_resp {
	__aligned_u64 sq_mmap_offset;
	__aligned_u64 sq_mmap_size;
	__aligned_u64 rq_mmap_offset;
	__aligned_u64 rq_mmap_size;
	__u32 sq_log2_slots;
	__u32 sq_slot_size;
	__u32 rq_log2_slots;
	__u32 rq_slot_size;
};

/*
 * IB_USER_VERBS_CMD_CREATE_AH response, driver part.  @ah_num names the
 * AH in a UD send WQE (struct rodp_swqe.dest.ah); the kernel checks that
 * the AH belongs to the QP's PD.
 */
struct rodp_create_ah_resp {
	__u32 ah_num;
	__u32 reserved;
};

/* IB_USER_VERBS_CMD_CREATE_SRQ (and XRC) request, driver part. */
struct rodp_create_srq_cmd {
	__aligned_u64 reserved;	/* must be zero */
};

/*
 * Where a shared receive queue's ring is: mapped as the RQ of a QP (a
 * struct rodp_ring_hdr, then 2^log2_slots slots of slot_size bytes).
 */
struct rodp_srq_mmap_info {
	__aligned_u64 mmap_offset;
	__aligned_u64 mmap_size;
	__u32 log2_slots;
	__u32 slot_size;
};

/* IB_USER_VERBS_CMD_CREATE_SRQ response, driver part. */
struct rodp_create_srq_resp {
	struct rodp_srq_mmap_info mi;
	__u32 srq_num;
	__u32 reserved;
};

/*
 * IB_USER_VERBS_CMD_MODIFY_SRQ request, driver part.  A resize
 * (IB_SRQ_MAX_WR) makes a new ring: the kernel writes its struct
 * rodp_srq_mmap_info at the user address @mmap_info_addr (modify_srq has
 * no response of its own).
 */
struct rodp_modify_srq_cmd {
	__aligned_u64 mmap_info_addr;
};

/*
 * Shared-memory rings.
 *
 * A ring is one mmap()ed, page-aligned area: a struct rodp_ring_hdr, then
 * 2^log2_slots slots of slot_size bytes starting at RODP_RING_HDR_SIZE.
 * Indices are free-running 32-bit counters; slot = index & (slots - 1).
 * The producer owns prod, the consumer owns cons; each side publishes its
 * index with a release store and reads the other's with an acquire load.
 * The kernel never trusts an index written by userspace: a distance above
 * the ring size is treated as a corrupt ring.
 *
 * CQ: the kernel produces struct rodp_cqe, the provider consumes.
 * SQ: the provider produces struct rodp_swqe slots, the kernel consumes;
 *     the kernel advances cons only when a WQE is retired (completed, or
 *     done without a completion when unsignaled), so a slot is never
 *     reused while the kernel may still read it.  The provider rings the
 *     doorbell (a post_send command with no work requests) after
 *     publishing prod.
 * RQ: the provider produces struct rodp_rwqe slots, the kernel consumes
 *     and advances cons when the receive completes.  No doorbell, except
 *     when the kernel has set RODP_RING_F_ERROR on the ring (the QP is in
 *     the error state): then a post_recv command with no work requests
 *     asks the kernel to flush what was posted.
 * The kernel copies a WQE into its own memory before using it, and checks
 * the copy: userspace cannot change a WQE under the kernel's feet.
 *
 * The sizes below are ABI; rodp.ko and the provider check them at build
 * time.
 */
#define RODP_RING_HDR_SIZE	256u

struct rodp_ring_hdr {
	__u32 prod;		/* written by the producer only */
	__u32 pad0[15];
	__u32 cons;		/* written by the consumer only */
	__u32 pad1[15];
	__u32 log2_slots;	/* immutable after creation */
	__u32 slot_size;	/* immutable after creation */
	__u32 flags;		/* RODP_RING_F_*, written by the kernel */
	__u32 pad2[13];
	__u32 reserved[16];
};

/*
 * The ring is in error: a CQ overran and gets no more entries, or an SQ or
 * RQ belongs to a QP in the error state (WQEs posted now are flushed).
 */
#define RODP_RING_F_ERROR	0x1u

/* Work request opcodes: libibverbs' IBV_WR_* and the kernel's IB_WR_*. */
enum rodp_wr_opcode {
	RODP_WR_RDMA_WRITE		= 0,
	RODP_WR_RDMA_WRITE_WITH_IMM	= 1,
	RODP_WR_SEND			= 2,
	RODP_WR_SEND_WITH_IMM		= 3,
	RODP_WR_RDMA_READ		= 4,
	RODP_WR_ATOMIC_CMP_AND_SWP	= 5,
	RODP_WR_ATOMIC_FETCH_AND_ADD	= 6,
	RODP_WR_LOCAL_INV		= 7,
	RODP_WR_BIND_MW			= 8,
	RODP_WR_SEND_WITH_INV		= 9,
	/*
	 * RC only.  Its 8 bytes: with no SGE and not inline, in the WQE's
	 * compare_add (as the provider's ibv_wr_atomic_write() puts them,
	 * in memory order); else from the SGEs or inline data, which must
	 * add up to 8 bytes.  Completes as opcode 9 (IB_WC_ATOMIC_WRITE).
	 */
	/*
	 * RC only.  No SGE, not inline: @compare_add is the length of the
	 * range at @remote_addr (ignored for a whole-MR flush), @swap the
	 * placement types (bits 3:0, IBV_FLUSH_GLOBAL, _PERSISTENT) and the
	 * selectivity level (bits 5:4, IBV_FLUSH_RANGE or _MR), as the FETH
	 * carries them.  Completes as opcode 8 (IB_WC_FLUSH).
	 */
	RODP_WR_FLUSH			= 14,
	RODP_WR_ATOMIC_WRITE		= 15,
};

/*
 * struct rodp_swqe.swap of a FLUSH: the placement types (IBV_FLUSH_GLOBAL,
 * _PERSISTENT) and the selectivity level (IBV_FLUSH_RANGE, _MR), where
 * the FETH has them; the other bits are zero.
 */
#define RODP_FLUSH_PLT_MASK		0x0f
#define RODP_FLUSH_SEL_SHIFT		4
#define RODP_FLUSH_SEL_MASK		0x30

/* struct rodp_swqe.flags: IBV_SEND_* and IB_SEND_* agree on these. */
#define RODP_SEND_FENCE		0x01u
#define RODP_SEND_SIGNALED	0x02u
#define RODP_SEND_SOLICITED	0x04u
#define RODP_SEND_INLINE	0x08u

/* One scatter/gather element, as struct ibv_sge (16 bytes). */
struct rodp_sge {
	__aligned_u64 addr;
	__u32 length;
	__u32 lkey;
};

/*
 * A send queue WQE (64 bytes).  The slot holds this header, then either
 * num_sge struct rodp_sge or (RODP_SEND_INLINE) inline_len bytes of data.
 * The slot size (a multiple of 64) is chosen by the kernel at QP creation
 * from the requested max_send_sge and max_inline_data.
 * @imm_data: immediate data in network byte order (WITH_IMM), or the
 *            R_Key to invalidate (SEND_WITH_INV, LOCAL_INV; host order)
 * @remote_addr, @rkey: RDMA and atomic operations.  BIND_MW: the address
 *            the window is bound at, and the window's new R_Key (its index
 *            names the window; the low byte is the new key)
 * @compare_add: compare value (CMP_AND_SWP) or addend (FETCH_AND_ADD);
 *            BIND_MW: the window's length (0 unbinds a type 1 window);
 *            ATOMIC_WRITE without SGE: the 8 bytes to store;
 *            FLUSH: the length of the range
 * @swap: swap value (CMP_AND_SWP); FLUSH: placement type and level
 * @dest: where a datagram goes (UD), or the target SRQ (XRC)
 * @dest.ah: the address handle, as numbered by struct rodp_create_ah_resp
 * @dest.remote_qpn: destination QP number (UD)
 * @dest.remote_qkey: Q_Key (UD); high bit set: use the QP's own Q_Key
 * @dest.xrc_srqn: the SRQ at the target (XRC_SEND QPs)
 * @bind: BIND_MW
 * @bind.mr_lkey: the MR the window is bound to
 * @bind.access: IB_ACCESS_* rights of the window
 * @bind.mw_type: 1 (ibv_bind_mw()) or 2 (IBV_WR_BIND_MW)
 */
struct rodp_swqe {
	__aligned_u64 wr_id;
	__u8 opcode;		/* enum rodp_wr_opcode */
	__u8 flags;		/* RODP_SEND_* */
	__u16 num_sge;
	__u32 imm_data;
	__aligned_u64 remote_addr;
	__u32 rkey;
	__u32 inline_len;
	__aligned_u64 compare_add;
	__aligned_u64 swap;
	union {
		struct {
			__u32 ah;
			__u32 remote_qpn;
			__u32 remote_qkey;
			__u32 xrc_srqn;
		} dest;
		struct {
			__u32 mr_lkey;
			__u32 access;
			__u32 mw_type;
			__u32 reserved;
		} bind;
	};
};

/*
 * A receive queue WQE (16 bytes): this header, then num_sge rodp_sge.  The
 * rings of shared receive queues hold the same WQEs.  A UD receive starts
 * with the 40-byte GRH: for an IPv4 GID, its last 20 bytes hold the IPv4
 * header (RoCEv2's layout).
 */
struct rodp_rwqe {
	__aligned_u64 wr_id;
	__u32 num_sge;
	__u32 reserved;
};

/*
 * One completion (64 bytes), as the kernel writes it.  status and opcode
 * use the kernel's enum ib_wc_status and enum ib_wc_opcode numbering,
 * which equal libibverbs' IBV_WC_* values for every opcode a user CQ may
 * carry (never IB_WC_REG_MR or the masked atomics).  wc_flags uses the
 * kernel's IB_WC_* bits; libibverbs numbers WITH_INV and IP_CSUM_OK the
 * other way round, so the provider translates.  The kernel stamps each
 * completion as it writes it to the ring: the device's clock is the
 * kernel's CLOCK_MONOTONIC in nanoseconds (hca_core_clock 1 GHz), which
 * user space reads with clock_gettime() as well.
 */
struct rodp_cqe {
	__aligned_u64 wr_id;
	__u32 status;
	__u32 opcode;
	__u32 vendor_err;
	__u32 byte_len;
	__u32 imm_data;		/* big endian, as on the wire; or inv. rkey */
	__u32 qp_num;
	__u32 src_qp;
	__u32 wc_flags;
	__u16 pkey_index;
	__u16 slid;
	__u8 sl;
	__u8 dlid_path_bits;
	__u8 network_hdr_type;	/* a UD receive's RDMA_NETWORK_*, or 0 */
	__u8 reserved;
	__aligned_u64 ts_mono;	/* completion time, CLOCK_MONOTONIC ns */
	__aligned_u64 ts_real;	/* the same moment, CLOCK_REALTIME ns */
};

#endif /* RODP_ABI_USER_H */
