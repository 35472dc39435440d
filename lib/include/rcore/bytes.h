/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Byte-wise loads and stores of wire fields.
 *
 * Packet buffers have no alignment guarantee, so fields are read and written
 * one byte at a time: no casts of a byte pointer to a wider type.  The
 * compiler merges these into single loads/stores where the target allows.
 */
#ifndef RCORE_BYTES_H
#define RCORE_BYTES_H

#include <rcore/types.h>

/**
 * rcore_get_be16 - load a big-endian 16-bit field
 * @p: first byte of the field
 *
 * Return: the field's value in host order.
 */
static inline uint16_t rcore_get_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

/**
 * rcore_get_be24 - load a big-endian 24-bit field
 * @p: first byte of the field
 *
 * Return: the field's value in host order (the top 8 bits are zero).
 */
static inline uint32_t rcore_get_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/**
 * rcore_get_be32 - load a big-endian 32-bit field
 * @p: first byte of the field
 *
 * Return: the field's value in host order.
 */
static inline uint32_t rcore_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/**
 * rcore_get_be64 - load a big-endian 64-bit field
 * @p: first byte of the field
 *
 * Return: the field's value in host order.
 */
static inline uint64_t rcore_get_be64(const uint8_t *p)
{
	return (uint64_t)rcore_get_be32(p) << 32 | rcore_get_be32(p + 4);
}

/**
 * rcore_get_le32 - load a little-endian 32-bit field
 * @p: first byte of the field
 *
 * Return: the field's value in host order.
 */
static inline uint32_t rcore_get_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

/**
 * rcore_put_be16 - store a big-endian 16-bit field
 * @p: first byte of the field
 * @v: value in host order
 */
static inline void rcore_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/**
 * rcore_put_be24 - store a big-endian 24-bit field
 * @p: first byte of the field
 * @v: value in host order; bits above the 24th are ignored
 */
static inline void rcore_put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

/**
 * rcore_put_be32 - store a big-endian 32-bit field
 * @p: first byte of the field
 * @v: value in host order
 */
static inline void rcore_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/**
 * rcore_put_be64 - store a big-endian 64-bit field
 * @p: first byte of the field
 * @v: value in host order
 */
static inline void rcore_put_be64(uint8_t *p, uint64_t v)
{
	rcore_put_be32(p, (uint32_t)(v >> 32));
	rcore_put_be32(p + 4, (uint32_t)v);
}

/**
 * rcore_put_le32 - store a little-endian 32-bit field
 * @p: first byte of the field
 * @v: value in host order
 */
static inline void rcore_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/**
 * rcore_copy_bytes - copy bytes between non-overlapping buffers
 * @dst: destination
 * @src: source
 * @len: number of bytes
 *
 * A plain byte loop, for the few small copies the core makes (libc's
 * memcpy is not available to freestanding code).
 */
static inline void rcore_copy_bytes(uint8_t *dst, const uint8_t *src,
				    size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = src[i];
}

#endif /* RCORE_BYTES_H */
