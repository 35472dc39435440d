/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * rodp uverbs ABI: the driver-private data exchanged between rodp.ko and
 * its libibverbs provider (librodp-rdmav34.so) through the udata of the
 * standard uverbs commands.
 *
 * Shared ring layouts (CQ, SQ, RQ) live in lib/include/rcore/queue.h.
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
	__u32 cqe_size;		/* sizeof(struct rcore_cqe) */
	__u32 max_inline;	/* bytes of inline data a WQE can carry */
	__u32 reserved;
};

/* IB_USER_VERBS_CMD_CREATE_CQ request, driver part. */
struct rodp_create_cq_cmd {
	__aligned_u64 reserved;	/* must be zero */
};

/*
 * IB_USER_VERBS_CMD_CREATE_CQ response, driver part.  The provider maps
 * mmap_size bytes of the uverbs fd at mmap_offset: an rcore_ring_hdr
 * followed by num_cqe (a power of two) struct rcore_cqe slots.
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
 * its own).  Each is an rcore_ring_hdr followed by 2^log2 slots of
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

#endif /* RODP_ABI_USER_H */
