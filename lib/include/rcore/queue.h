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
 */
#ifndef RCORE_QUEUE_H
#define RCORE_QUEUE_H

#include "types.h"

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

/* The ring is in error (e.g. CQ overrun); no more entries will be made. */
#define RCORE_RING_F_ERROR	0x1u

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
 * rcore_ring_count - entries in a ring as seen from two indices
 * @prod: producer index
 * @cons: consumer index
 *
 * Return: prod - cons, modulo 2^32.
 */
static inline uint32_t rcore_ring_count(uint32_t prod, uint32_t cons)
{
	return prod - cons;
}

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
	       (size_t)(idx & ((1u << log2_slots) - 1)) * slot_size;
}

#endif /* RCORE_QUEUE_H */
