/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * CRC-32, reflected polynomial 0xEDB88320 (Ethernet FCS, zlib, the
 * InfiniBand ICRC).
 *
 * rcore_crc32_le() is the raw register update, like the kernel's
 * crc32_le(): no inversion on entry or exit.  The standard CRC-32 of a
 * message is rcore_crc32_final(rcore_crc32_le(rcore_crc32_init(), ...)),
 * and a message may be fed in any number of pieces in between.
 */
#ifndef RCORE_CRC32_H
#define RCORE_CRC32_H

#include <rcore/types.h>

/**
 * rcore_crc32_le - update a CRC-32 register with bytes (slicing-by-8)
 * @crc: register value so far (rcore_crc32_init() at the start)
 * @buf: bytes, any alignment
 * @len: number of bytes
 *
 * Return: the new register value.
 */
uint32_t rcore_crc32_le(uint32_t crc, const void *buf, size_t len);

/**
 * rcore_crc32_le_bytewise - rcore_crc32_le(), one table lookup per byte
 * @crc: register value so far
 * @buf: bytes
 * @len: number of bytes
 *
 * The simple reference the faster variant is tested against.
 *
 * Return: the new register value, equal to rcore_crc32_le()'s.
 */
uint32_t rcore_crc32_le_bytewise(uint32_t crc, const void *buf, size_t len);

/**
 * rcore_crc32 - standard CRC-32 of a buffer
 * @buf: bytes
 * @len: number of bytes
 *
 * Return: the CRC-32 ("123456789" gives 0xcbf43926).
 */
uint32_t rcore_crc32(const void *buf, size_t len);

/**
 * rcore_crc32_init - register value that starts a CRC-32
 *
 * Return: 0xffffffff.
 */
static inline uint32_t rcore_crc32_init(void)
{
	return 0xffffffffu;
}

/**
 * rcore_crc32_final - CRC-32 value of a register
 * @crc: register value after the last byte
 *
 * Return: the register inverted.
 */
static inline uint32_t rcore_crc32_final(uint32_t crc)
{
	return ~crc;
}

#endif /* RCORE_CRC32_H */
