/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Index arithmetic of the rings rodp.ko shares with the provider.
 *
 * The rings' layout (header, WQE and CQE formats) is ABI and lives in
 * the module's uapi header, <rdma/rodp-abi.h>; rcore does not know it.
 * What is here works on plain integers: free-running 32-bit indices and
 * a slot array of 2^log2_slots slots of slot_size bytes.
 */
#ifndef RCORE_RING_H
#define RCORE_RING_H

#include "types.h"

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
 * rcore_ring_slot_off - byte offset of the slot for an index
 * @log2_slots: log2 of the number of slots
 * @slot_size: bytes per slot
 * @idx: free-running index
 *
 * Return: offset of the slot from the first slot (not from the start of
 * the ring's mapping: the slots follow the ring header).
 */
static inline size_t rcore_ring_slot_off(uint32_t log2_slots,
					 uint32_t slot_size, uint32_t idx)
{
	return (size_t)(idx & ((1u << log2_slots) - 1)) * slot_size;
}

#endif /* RCORE_RING_H */
