/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shared-memory ring formats between rodp.ko and the provider.
 *
 * A ring is one mmap()ed, page-aligned area: a struct rcore_ring_hdr, then
 * 2^log2_slots slots of slot_size bytes starting at RCORE_RING_HDR_SIZE.
 * Indices are free-running 32-bit counters; slot = index & (slots - 1).
 * The producer owns prod, the consumer owns cons; each side publishes its
 * index with a release store and reads the other's with an acquire load.
 * The kernel never trusts an index written by userspace: a distance above
 * the ring size is treated as a corrupt ring.
 *
 * CQ: the kernel produces struct rcore_cqe, the provider consumes.
 * SQ: the provider produces struct rcore_swqe slots, the kernel consumes;
 *     the kernel advances cons only when a WQE is retired (completed, or
 *     done without a completion when unsignaled), so a slot is never
 *     reused while the kernel may still read it.  The provider rings the
 *     doorbell (a post_send command with no work requests) after
 *     publishing prod.
 * RQ: the provider produces struct rcore_rwqe slots, the kernel consumes
 *     and advances cons when the receive completes.  No doorbell, except
 *     when the kernel has set RCORE_RING_F_ERROR on the ring (the QP is in
 *     the error state): then a post_recv command with no work requests
 *     asks the kernel to flush what was posted.
 * The kernel copies a WQE into its own memory before using it, and checks
 * the copy: userspace cannot change a WQE under the kernel's feet.
 */
#ifndef RCORE_QUEUE_H
#define RCORE_QUEUE_H

#include "types.h"
#include "ring.h"

#define RCORE_RING_HDR_SIZE	256u

struct rcore_ring_hdr {
	uint32_t prod;		/* written by the producer only */
	uint32_t pad0[15];
	uint32_t cons;		/* written by the consumer only */
	uint32_t pad1[15];
	uint32_t log2_slots;	/* immutable after creation */
	uint32_t slot_size;	/* immutable after creation */
	uint32_t flags;		/* RCORE_RING_F_*, written by the kernel */
	uint32_t pad2[13];
	uint32_t reserved[16];
};
RCORE_STATIC_ASSERT(sizeof(struct rcore_ring_hdr) == RCORE_RING_HDR_SIZE,
		    "ring header size is ABI");

/*
 * The ring is in error: a CQ overran and gets no more entries, or an SQ or
 * RQ belongs to a QP in the error state (WQEs posted now are flushed).
 */
#define RCORE_RING_F_ERROR	0x1u

/* Work request opcodes: libibverbs' IBV_WR_* and the kernel's IB_WR_*. */
enum rcore_wr_opcode {
	RCORE_WR_RDMA_WRITE		= 0,
	RCORE_WR_RDMA_WRITE_WITH_IMM	= 1,
	RCORE_WR_SEND			= 2,
	RCORE_WR_SEND_WITH_IMM		= 3,
	RCORE_WR_RDMA_READ		= 4,
	RCORE_WR_ATOMIC_CMP_AND_SWP	= 5,
	RCORE_WR_ATOMIC_FETCH_AND_ADD	= 6,
	RCORE_WR_SEND_WITH_INV		= 9,
};

/* struct rcore_swqe.flags: IBV_SEND_* and IB_SEND_* agree on these. */
#define RCORE_SEND_FENCE	0x01u
#define RCORE_SEND_SIGNALED	0x02u
#define RCORE_SEND_SOLICITED	0x04u
#define RCORE_SEND_INLINE	0x08u

/* One scatter/gather element, as struct ibv_sge. */
struct rcore_sge {
	uint64_t addr;
	uint32_t length;
	uint32_t lkey;
};
RCORE_STATIC_ASSERT(sizeof(struct rcore_sge) == 16, "SGE size is ABI");

/*
 * A send queue WQE.  The slot holds this header, then either num_sge
 * struct rcore_sge or (RCORE_SEND_INLINE) inline_len bytes of data.  The
 * slot size (a multiple of 64) is chosen by the kernel at QP creation
 * from the requested max_send_sge and max_inline_data.
 * @imm_data: immediate data in network byte order (WITH_IMM), or the
 *            R_Key to invalidate (SEND_WITH_INV, host order)
 * @remote_addr, @rkey: RDMA and atomic operations
 * @compare_add: compare value (CMP_AND_SWP) or addend (FETCH_AND_ADD)
 * @swap: swap value (CMP_AND_SWP)
 */
struct rcore_swqe {
	uint64_t wr_id;
	uint8_t opcode;		/* enum rcore_wr_opcode */
	uint8_t flags;		/* RCORE_SEND_* */
	uint16_t num_sge;
	uint32_t imm_data;
	uint64_t remote_addr;
	uint32_t rkey;
	uint32_t inline_len;
	uint64_t compare_add;
	uint64_t swap;
	uint8_t reserved[16];
};
RCORE_STATIC_ASSERT(sizeof(struct rcore_swqe) == 64,
		    "send WQE header size is ABI");

/* A receive queue WQE: this header, then num_sge struct rcore_sge. */
struct rcore_rwqe {
	uint64_t wr_id;
	uint32_t num_sge;
	uint32_t reserved;
};
RCORE_STATIC_ASSERT(sizeof(struct rcore_rwqe) == 16,
		    "receive WQE header size is ABI");

/*
 * One completion, as the kernel writes it.  status and opcode use the
 * kernel's enum ib_wc_status and enum ib_wc_opcode numbering, which equal
 * libibverbs' IBV_WC_* values for every opcode a user CQ may carry (never
 * IB_WC_REG_MR or the masked atomics).  wc_flags uses the kernel's
 * IB_WC_* bits; libibverbs numbers WITH_INV and IP_CSUM_OK the other way
 * round, so the provider translates.
 */
struct rcore_cqe {
	uint64_t wr_id;
	uint32_t status;
	uint32_t opcode;
	uint32_t vendor_err;
	uint32_t byte_len;
	uint32_t imm_data;	/* big endian, as on the wire; or inv. rkey */
	uint32_t qp_num;
	uint32_t src_qp;
	uint32_t wc_flags;
	uint16_t pkey_index;
	uint16_t slid;
	uint8_t sl;
	uint8_t dlid_path_bits;
	uint8_t reserved[18];
};
RCORE_STATIC_ASSERT(sizeof(struct rcore_cqe) == 64, "CQE size is ABI");

/**
 * rcore_ring_slot - byte offset of the slot for an index
 * @log2_slots: log2 of the number of slots
 * @slot_size: bytes per slot
 * @idx: free-running index
 *
 * Return: offset of the slot from the start of the ring's mapping.
 */
static inline size_t rcore_ring_slot(uint32_t log2_slots, uint32_t slot_size,
				     uint32_t idx)
{
	return RCORE_RING_HDR_SIZE +
	       rcore_ring_slot_off(log2_slots, slot_size, idx);
}

#endif /* RCORE_QUEUE_H */
