/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The RoCEv2 Invariant CRC (IBA annex A17.4.3).
 *
 * The ICRC is a CRC-32 over, in order:
 *   - 8 bytes of 0xff standing for the LRH that RoCEv2 lacks,
 *   - the IP header with its variant fields set to all ones: IPv4 TOS
 *     (DSCP+ECN), TTL and header checksum; IPv6 traffic class, flow label
 *     and hop limit,
 *   - the UDP header with its checksum set to all ones,
 *   - the BTH with its FECN/BECN/reserved byte (byte 4) set to all ones,
 *   - the extension headers, payload and pad bytes unchanged.
 * The value is the inverted CRC register, sent least significant byte
 * first (as rxe and RoCE NICs do): rcore_icrc_put() and rcore_icrc_get()
 * convert between the host-order value and the 4 wire bytes.
 *
 * For a packet held in pieces (an skb with fragments): rcore_icrc_begin()
 * on the part holding the IP, UDP and BTH headers, rcore_icrc_update() on
 * each following piece, rcore_icrc_final().
 */
#ifndef RCORE_ICRC_H
#define RCORE_ICRC_H

#include <rcore/types.h>
#include <rcore/err.h>
#include <rcore/bytes.h>

#define RCORE_IPV4_MIN_HLEN	20
#define RCORE_IPV6_HLEN		40
#define RCORE_UDP_HLEN		8
#define RCORE_IPPROTO_UDP	17

/**
 * struct rcore_icrc - ICRC computation in progress
 * @crc: CRC-32 register
 */
struct rcore_icrc {
	uint32_t crc;
};

/**
 * rcore_icrc_bth_offset - find the BTH in an IP packet
 * @ip: start of the IPv4 or IPv6 header
 * @len: bytes available at @ip
 *
 * Checks the IP version (RCORE_ERR_VERSION), that the IP header says UDP
 * (RCORE_ERR_PROTO; IPv6 extension headers are not supported) and that
 * @len holds the IP header, the UDP header and a BTH (RCORE_ERR_TRUNCATED).
 *
 * Return: offset of the BTH from @ip, or a negative enum rcore_err value.
 */
int rcore_icrc_bth_offset(const uint8_t *ip, size_t len);

/**
 * rcore_icrc_begin - start an ICRC over the IP, UDP and BTH headers
 * @ctx: state to initialise
 * @ip: start of the IPv4 or IPv6 header
 * @len: bytes available at @ip (at least up to the end of the BTH)
 *
 * Feeds the masked LRH stand-in, IP, UDP and BTH headers into @ctx.
 * Continue with rcore_icrc_update() from @ip + (return value).
 *
 * Return: bytes consumed (the offset just past the BTH), or a negative
 * enum rcore_err value as for rcore_icrc_bth_offset().
 */
int rcore_icrc_begin(struct rcore_icrc *ctx, const uint8_t *ip, size_t len);

/**
 * rcore_icrc_update - continue an ICRC
 * @ctx: state from rcore_icrc_begin()
 * @buf: the next bytes of the packet (extension headers, payload, pad)
 * @len: number of bytes
 */
void rcore_icrc_update(struct rcore_icrc *ctx, const void *buf, size_t len);

/**
 * rcore_icrc_final - the ICRC of everything fed so far
 * @ctx: state
 *
 * Return: the ICRC as a host-order value (store it with rcore_icrc_put()).
 */
uint32_t rcore_icrc_final(const struct rcore_icrc *ctx);

/**
 * rcore_icrc_calc - ICRC of a whole packet in one buffer
 * @ip: start of the IPv4 or IPv6 header
 * @len: bytes from @ip to the end of the pad, the ICRC excluded
 * @icrc: set to the ICRC value on success
 *
 * Return: RCORE_OK or a negative enum rcore_err value as for
 * rcore_icrc_bth_offset().
 */
int rcore_icrc_calc(const uint8_t *ip, size_t len, uint32_t *icrc);

/**
 * rcore_icrc_check - verify a received packet's ICRC
 * @ip: start of the IPv4 or IPv6 header
 * @len: bytes from @ip to the end of the packet, the ICRC included
 *
 * Return: RCORE_OK when the last 4 bytes are the packet's ICRC,
 * RCORE_ERR_ICRC when they are not, RCORE_ERR_TRUNCATED when @len leaves
 * no room for an ICRC, or another error of rcore_icrc_bth_offset().
 */
int rcore_icrc_check(const uint8_t *ip, size_t len);

/**
 * rcore_icrc_calc_rxe_flush - the ICRC rxe puts on an RDMA FLUSH
 * @ip: start of the IPv4 or IPv6 header of a FLUSH
 * @len: bytes from @ip to the end of the packet, the ICRC excluded
 * @icrc: set to the ICRC value on success
 *
 * Linux's rxe (6.2 to 7.2 at least) covers a FLUSH's headers twice: its
 * opcode table gives FLUSH no payload offset, so what it feeds in as the
 * payload is the packet from its BTH on again, unmasked.  rxe ends check
 * each other's FLUSH so and drop one with IBA's ICRC (rcore_icrc_calc()),
 * and an IBA end drops theirs.  This is rxe's form, for talking to it.
 *
 * Return: as rcore_icrc_calc().
 */
int rcore_icrc_calc_rxe_flush(const uint8_t *ip, size_t len, uint32_t *icrc);

/**
 * rcore_icrc_check_rxe_flush - is a received packet an RDMA FLUSH with
 * rxe's ICRC
 * @ip: start of the IPv4 or IPv6 header
 * @len: bytes from @ip to the end of the packet, the ICRC included
 *
 * Return: RCORE_OK for an RC FLUSH whose last 4 bytes are the ICRC
 * rcore_icrc_calc_rxe_flush() gives, RCORE_ERR_ICRC for any other packet
 * that parses this far, or another error of rcore_icrc_check().
 */
int rcore_icrc_check_rxe_flush(const uint8_t *ip, size_t len);

/**
 * rcore_icrc_get - read an ICRC from its 4 wire bytes
 * @p: first wire byte
 *
 * Return: the host-order ICRC value.
 */
static inline uint32_t rcore_icrc_get(const uint8_t *p)
{
	return rcore_get_le32(p);
}

/**
 * rcore_icrc_put - write an ICRC as its 4 wire bytes
 * @p: first wire byte
 * @icrc: host-order ICRC value
 */
static inline void rcore_icrc_put(uint8_t *p, uint32_t icrc)
{
	rcore_put_le32(p, icrc);
}

#endif /* RCORE_ICRC_H */
