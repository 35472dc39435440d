/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Whole RoCEv2 transport packets: the UDP payload, from the BTH through
 * the extension headers, payload, pad and the 4-byte ICRC.
 */
#ifndef RCORE_PKT_H
#define RCORE_PKT_H

#include <rcore/types.h>
#include <rcore/err.h>
#include <rcore/hdr.h>
#include <rcore/opcode.h>

/* Largest packet the parser accepts: a full UDP payload. */
#define RCORE_PKT_MAX_LEN	65527u

/**
 * struct rcore_pkt - a parsed (or to-be-built) transport packet
 * @info: opcode table entry of @bth.opcode (set by rcore_pkt_parse())
 * @bth: the BTH
 * @rdeth: RDETH, when @info->hdrs has RCORE_HDR_RDETH (else zero)
 * @deth: DETH, when present (else zero)
 * @xrc_srqn: XRCETH's SRQ number, when present (else zero)
 * @feth: FETH (FLUSH), when present (else zero)
 * @reth: RETH, when present (else zero)
 * @atmeth: AtomicETH, when present (else zero)
 * @aeth: AETH, when present (else zero)
 * @atmack: AtomicAckETH, when present (else zero)
 * @imm: ImmDt as a host-order number, when present (else zero)
 * @ieth_rkey: IETH R_Key, when present (else zero)
 * @hdr_len: offset of the payload from the BTH (= @info->hdr_len)
 * @payload_len: payload bytes, without pad and ICRC
 * @icrc: the packet's ICRC as read by rcore_icrc_get() from its last
 *        4 bytes (not checked by the parser: see rcore_icrc_calc())
 */
struct rcore_pkt {
	const struct rcore_opcode_info *info;
	struct rcore_bth bth;
	struct rcore_rdeth rdeth;
	struct rcore_deth deth;
	uint32_t xrc_srqn;
	struct rcore_feth feth;
	struct rcore_reth reth;
	struct rcore_atmeth atmeth;
	struct rcore_aeth aeth;
	struct rcore_atmack atmack;
	uint32_t imm;
	uint32_t ieth_rkey;
	uint32_t hdr_len;
	uint32_t payload_len;
	uint32_t icrc;
};

/**
 * rcore_pkt_parse - parse and validate a RoCEv2 transport packet
 * @buf: the packet, starting at the BTH (the UDP payload)
 * @len: bytes at @buf, ICRC included
 * @pkt: filled with the decoded headers on success; undefined on failure
 *
 * Checks, in this order: room for a BTH and an ICRC (RCORE_ERR_TRUNCATED),
 * TVer 0 (RCORE_ERR_VERSION), a known opcode (RCORE_ERR_OPCODE), room for
 * the opcode's headers and the ICRC (RCORE_ERR_TRUNCATED), @len at most
 * RCORE_PKT_MAX_LEN and the data between headers and ICRC a multiple of 4
 * bytes (RCORE_ERR_LENGTH), a pad count within that data (RCORE_ERR_PAD),
 * and no data on an opcode without payload (RCORE_ERR_PAYLOAD).  Never
 * reads outside @buf[0..@len).  Does not check the ICRC, MTU or any QP
 * state.
 *
 * Return: RCORE_OK or a negative enum rcore_err value.
 */
int rcore_pkt_parse(const uint8_t *buf, size_t len, struct rcore_pkt *pkt);

/**
 * rcore_pkt_parse_head - rcore_pkt_parse() of a packet whose first @avail
 * bytes only are at @buf
 * @buf: the packet's start, at the BTH
 * @avail: bytes readable at @buf (the headers at least), at most @len
 * @len: the packet's whole length, ICRC included
 * @pkt: as for rcore_pkt_parse()
 *
 * For a packet whose payload lies elsewhere (a kernel skb with its
 * payload in page fragments): the same checks on @len as
 * rcore_pkt_parse(), and the opcode's headers must be within @avail
 * (RCORE_ERR_TRUNCATED).  Reads only @buf[0..@avail); @pkt->icrc is the
 * ICRC when @avail is @len, 0 otherwise.
 *
 * Return: RCORE_OK, RCORE_ERR_RANGE when @avail exceeds @len, or a
 * negative enum rcore_err value as rcore_pkt_parse().
 */
int rcore_pkt_parse_head(const uint8_t *buf, size_t avail, size_t len,
			 struct rcore_pkt *pkt);

/**
 * rcore_pkt_build - write a packet's BTH and extension headers
 * @buf: destination
 * @len: size of @buf
 * @pkt: the headers; @pkt->bth.opcode selects which extension headers are
 *       written (@pkt->info and the lengths are ignored)
 *
 * Writes the BTH and, in wire order, the extension headers the opcode
 * carries (a CNP's reserved bytes as zeros).  Payload, pad bytes and ICRC
 * are the caller's: the pad count is taken from @pkt->bth.pad.
 *
 * Return: the opcode's header length (the payload offset),
 * RCORE_ERR_OPCODE, RCORE_ERR_TRUNCATED or RCORE_ERR_RANGE.
 */
int rcore_pkt_build(uint8_t *buf, size_t len, const struct rcore_pkt *pkt);

/**
 * rcore_pad_len - pad bytes needed after a payload
 * @payload_len: payload bytes
 *
 * Return: 0..3, the BTH pad count that makes the payload a multiple of 4.
 */
static inline uint8_t rcore_pad_len(uint32_t payload_len)
{
	return (uint8_t)((4 - (payload_len & 3)) & 3);
}

#endif /* RCORE_PKT_H */
