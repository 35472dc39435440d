/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * RoCEv2 (InfiniBand transport) headers: host-order structs and their
 * big-endian wire encodings.
 *
 * Every header has an encode function, which writes the wire form into a
 * byte buffer, and a decode function, which fills the struct from one.
 * Both take the buffer length and fail with RCORE_ERR_TRUNCATED when it is
 * shorter than the header; on success they return the header's size.
 * Encoders fail with RCORE_ERR_RANGE when a field does not fit its wire
 * width (e.g. a QPN above 24 bits).  Reserved bits are written as zero and
 * ignored when decoding.  Buffers need no alignment.
 */
#ifndef RCORE_HDR_H
#define RCORE_HDR_H

#include <rcore/types.h>
#include <rcore/err.h>

/* Header sizes on the wire, in bytes. */
#define RCORE_BTH_LEN		12
#define RCORE_RDETH_LEN		4
#define RCORE_DETH_LEN		8
#define RCORE_XRCETH_LEN	4
#define RCORE_FETH_LEN		4
#define RCORE_RETH_LEN		16
#define RCORE_ATMETH_LEN	28
#define RCORE_AETH_LEN		4
#define RCORE_ATMACK_LEN	8
#define RCORE_IMMDT_LEN		4
#define RCORE_IETH_LEN		4
#define RCORE_CNP_RSVD_LEN	16	/* reserved bytes after a CNP's BTH */
#define RCORE_ICRC_LEN		4

#define RCORE_QPN_MASK		0xffffffu
#define RCORE_PSN_MASK		0xffffffu
#define RCORE_MSN_MASK		0xffffffu

/* The well-known Q_Key that GSI (QP1) traffic uses. */
#define RCORE_GSI_QKEY		0x80010000u
/* The default P_Key (full membership). */
#define RCORE_DEFAULT_PKEY	0xffffu
#define RCORE_PKEY_KEY_MASK	0x7fffu	/* the key; bit 15: full member */
/* The UDP destination port of RoCEv2. */
#define RCORE_ROCEV2_PORT	4791

/**
 * struct rcore_bth - Base Transport Header
 * @opcode: the 8-bit opcode (transport in the top 3 bits)
 * @se: solicited event
 * @mig: migration state (MigReq)
 * @pad: pad count, 0..3 bytes of padding before the ICRC
 * @tver: transport header version, 0..15 (0 is the only defined one)
 * @pkey: partition key
 * @fecn: forward explicit congestion notification
 * @becn: backward explicit congestion notification
 * @dqpn: destination QP number, 24 bits
 * @ackreq: acknowledge request
 * @psn: packet sequence number, 24 bits
 */
struct rcore_bth {
	uint8_t opcode;
	bool se;
	bool mig;
	uint8_t pad;
	uint8_t tver;
	uint16_t pkey;
	bool fecn;
	bool becn;
	uint32_t dqpn;
	bool ackreq;
	uint32_t psn;
};

/**
 * struct rcore_rdeth - Reliable Datagram Extended Transport Header
 * @eec: end-to-end context, 24 bits
 */
struct rcore_rdeth {
	uint32_t eec;
};

/**
 * struct rcore_deth - Datagram Extended Transport Header
 * @qkey: queue key
 * @sqpn: source QP number, 24 bits
 */
struct rcore_deth {
	uint32_t qkey;
	uint32_t sqpn;
};

/* FLUSH placement types (FETH bits 3:0; either or both). */
#define RCORE_FLUSH_GLOBAL	0x1u	/* global visibility */
#define RCORE_FLUSH_PERSISTENT	0x2u	/* persistence */
/* FLUSH selectivity levels (FETH bits 5:4). */
#define RCORE_FLUSH_RANGE	0u	/* the RETH's range of the MR */
#define RCORE_FLUSH_MR		1u	/* the whole MR (RETH range ignored) */

/**
 * struct rcore_feth - FLUSH Extended Transport Header (IBA 1.5)
 * @plt: placement type, 4 bits (RCORE_FLUSH_GLOBAL, _PERSISTENT)
 * @sel: selectivity level, 2 bits (RCORE_FLUSH_RANGE, RCORE_FLUSH_MR)
 */
struct rcore_feth {
	uint8_t plt;
	uint8_t sel;
};

/**
 * struct rcore_reth - RDMA Extended Transport Header
 * @va: remote virtual address
 * @rkey: remote key
 * @len: DMA length in bytes
 */
struct rcore_reth {
	uint64_t va;
	uint32_t rkey;
	uint32_t len;
};

/**
 * struct rcore_atmeth - Atomic Extended Transport Header
 * @va: remote virtual address (8-byte aligned for a valid request)
 * @rkey: remote key
 * @swap_add: swap value (compare and swap) or addend (fetch and add)
 * @compare: compare value (compare and swap only)
 */
struct rcore_atmeth {
	uint64_t va;
	uint32_t rkey;
	uint64_t swap_add;
	uint64_t compare;
};

/**
 * struct rcore_aeth - ACK Extended Transport Header
 * @syndrome: 8-bit syndrome (see rcore_aeth_ack() and friends)
 * @msn: message sequence number, 24 bits
 */
struct rcore_aeth {
	uint8_t syndrome;
	uint32_t msn;
};

/**
 * struct rcore_atmack - Atomic ACK Extended Transport Header
 * @orig: the original remote data, before the atomic operation
 */
struct rcore_atmack {
	uint64_t orig;
};

/**
 * rcore_bth_encode - write a BTH
 * @buf: destination, at least RCORE_BTH_LEN bytes
 * @len: size of @buf
 * @h: header fields
 *
 * Return: RCORE_BTH_LEN, RCORE_ERR_TRUNCATED or RCORE_ERR_RANGE (pad above
 * 3, tver above 15, dqpn or psn above 24 bits).
 */
int rcore_bth_encode(uint8_t *buf, size_t len, const struct rcore_bth *h);

/**
 * rcore_bth_decode - read a BTH
 * @buf: source
 * @len: bytes available at @buf
 * @h: filled with the header fields
 *
 * Return: RCORE_BTH_LEN or RCORE_ERR_TRUNCATED.  Any TVer is accepted here;
 * rcore_pkt_parse() rejects versions other than 0.
 */
int rcore_bth_decode(const uint8_t *buf, size_t len, struct rcore_bth *h);

/**
 * rcore_rdeth_encode - write an RDETH
 * @buf: destination
 * @len: size of @buf
 * @h: header fields
 *
 * Return: RCORE_RDETH_LEN, RCORE_ERR_TRUNCATED or RCORE_ERR_RANGE.
 */
int rcore_rdeth_encode(uint8_t *buf, size_t len, const struct rcore_rdeth *h);

/**
 * rcore_rdeth_decode - read an RDETH
 * @buf: source
 * @len: bytes available at @buf
 * @h: filled with the header fields
 *
 * Return: RCORE_RDETH_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_rdeth_decode(const uint8_t *buf, size_t len, struct rcore_rdeth *h);

/**
 * rcore_deth_encode - write a DETH
 * @buf: destination
 * @len: size of @buf
 * @h: header fields
 *
 * Return: RCORE_DETH_LEN, RCORE_ERR_TRUNCATED or RCORE_ERR_RANGE.
 */
int rcore_deth_encode(uint8_t *buf, size_t len, const struct rcore_deth *h);

/**
 * rcore_deth_decode - read a DETH
 * @buf: source
 * @len: bytes available at @buf
 * @h: filled with the header fields
 *
 * Return: RCORE_DETH_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_deth_decode(const uint8_t *buf, size_t len, struct rcore_deth *h);

/**
 * rcore_feth_encode - write a FETH
 * @buf: destination
 * @len: bytes available at @buf
 * @h: the header; @plt above 4 bits or @sel above 2 bits is a range error
 *
 * Return: RCORE_FETH_LEN, or a negative enum rcore_err value.
 */
int rcore_feth_encode(uint8_t *buf, size_t len, const struct rcore_feth *h);

/**
 * rcore_feth_decode - read a FETH (its reserved bits 31:6 ignored)
 * @buf: source
 * @len: bytes available at @buf
 * @h: filled with the header
 *
 * Return: RCORE_FETH_LEN, or RCORE_ERR_TRUNCATED.
 */
int rcore_feth_decode(const uint8_t *buf, size_t len, struct rcore_feth *h);

/**
 * rcore_reth_encode - write a RETH
 * @buf: destination
 * @len: size of @buf
 * @h: header fields
 *
 * Return: RCORE_RETH_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_reth_encode(uint8_t *buf, size_t len, const struct rcore_reth *h);

/**
 * rcore_reth_decode - read a RETH
 * @buf: source
 * @len: bytes available at @buf
 * @h: filled with the header fields
 *
 * Return: RCORE_RETH_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_reth_decode(const uint8_t *buf, size_t len, struct rcore_reth *h);

/**
 * rcore_atmeth_encode - write an AtomicETH
 * @buf: destination
 * @len: size of @buf
 * @h: header fields
 *
 * Return: RCORE_ATMETH_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_atmeth_encode(uint8_t *buf, size_t len,
			const struct rcore_atmeth *h);

/**
 * rcore_atmeth_decode - read an AtomicETH
 * @buf: source
 * @len: bytes available at @buf
 * @h: filled with the header fields
 *
 * Return: RCORE_ATMETH_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_atmeth_decode(const uint8_t *buf, size_t len,
			struct rcore_atmeth *h);

/**
 * rcore_aeth_encode - write an AETH
 * @buf: destination
 * @len: size of @buf
 * @h: header fields
 *
 * Return: RCORE_AETH_LEN, RCORE_ERR_TRUNCATED or RCORE_ERR_RANGE (msn
 * above 24 bits).
 */
int rcore_aeth_encode(uint8_t *buf, size_t len, const struct rcore_aeth *h);

/**
 * rcore_aeth_decode - read an AETH
 * @buf: source
 * @len: bytes available at @buf
 * @h: filled with the header fields
 *
 * Return: RCORE_AETH_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_aeth_decode(const uint8_t *buf, size_t len, struct rcore_aeth *h);

/**
 * rcore_atmack_encode - write an AtomicAckETH
 * @buf: destination
 * @len: size of @buf
 * @h: header fields
 *
 * Return: RCORE_ATMACK_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_atmack_encode(uint8_t *buf, size_t len,
			const struct rcore_atmack *h);

/**
 * rcore_atmack_decode - read an AtomicAckETH
 * @buf: source
 * @len: bytes available at @buf
 * @h: filled with the header fields
 *
 * Return: RCORE_ATMACK_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_atmack_decode(const uint8_t *buf, size_t len,
			struct rcore_atmack *h);

/**
 * rcore_immdt_encode - write an ImmDt header
 * @buf: destination
 * @len: size of @buf
 * @imm: immediate data as a host-order number (the wire is big-endian)
 *
 * Return: RCORE_IMMDT_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_immdt_encode(uint8_t *buf, size_t len, uint32_t imm);

/**
 * rcore_immdt_decode - read an ImmDt header
 * @buf: source
 * @len: bytes available at @buf
 * @imm: filled with the immediate data as a host-order number
 *
 * Return: RCORE_IMMDT_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_immdt_decode(const uint8_t *buf, size_t len, uint32_t *imm);

/**
 * rcore_ieth_encode - write an IETH
 * @buf: destination
 * @len: size of @buf
 * @rkey: the R_Key to invalidate
 *
 * Return: RCORE_IETH_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_ieth_encode(uint8_t *buf, size_t len, uint32_t rkey);

/**
 * rcore_ieth_decode - read an IETH
 * @buf: source
 * @len: bytes available at @buf
 * @rkey: filled with the R_Key to invalidate
 *
 * Return: RCORE_IETH_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_ieth_decode(const uint8_t *buf, size_t len, uint32_t *rkey);

/**
 * rcore_xrceth_encode - write an XRCETH
 * @buf: destination
 * @len: size of @buf
 * @srqn: the XRC SRQ number at the responder, 24 bits
 *
 * Return: RCORE_XRCETH_LEN, RCORE_ERR_TRUNCATED or RCORE_ERR_RANGE.
 */
int rcore_xrceth_encode(uint8_t *buf, size_t len, uint32_t srqn);

/**
 * rcore_xrceth_decode - read an XRCETH
 * @buf: source
 * @len: bytes available at @buf
 * @srqn: filled with the XRC SRQ number
 *
 * Return: RCORE_XRCETH_LEN or RCORE_ERR_TRUNCATED.
 */
int rcore_xrceth_decode(const uint8_t *buf, size_t len, uint32_t *srqn);

/*
 * AETH syndrome: bit 7 reserved (0), bits 6..5 the type, bits 4..0 a
 * value whose meaning depends on the type: the credit count code (ACK), the
 * RNR timer code (RNR NAK) or the NAK code (NAK).
 */
enum rcore_aeth_type {
	RCORE_AETH_ACK		= 0,
	RCORE_AETH_RNR_NAK	= 1,
	RCORE_AETH_RESERVED	= 2,
	RCORE_AETH_NAK		= 3,
};

enum rcore_nak_code {
	RCORE_NAK_PSN_SEQ_ERR		= 0,
	RCORE_NAK_INVALID_REQ		= 1,
	RCORE_NAK_REMOTE_ACCESS_ERR	= 2,
	RCORE_NAK_REMOTE_OP_ERR		= 3,
	RCORE_NAK_INVALID_RD_REQ	= 4,
};

/* Credit count code meaning "no credit information" (e.g. SRQ, UC). */
#define RCORE_AETH_CREDIT_INVALID	0x1f

/**
 * rcore_aeth_ack - syndrome of an ACK
 * @credit_code: 5-bit credit count code (rcore_aeth_credit_code())
 *
 * Return: the syndrome byte; bits of @credit_code above the 5th are dropped.
 */
static inline uint8_t rcore_aeth_ack(uint8_t credit_code)
{
	return (uint8_t)(RCORE_AETH_ACK << 5 | (credit_code & 0x1f));
}

/**
 * rcore_aeth_rnr_nak - syndrome of an RNR NAK
 * @timer_code: 5-bit RNR timer code (rcore_rnr_timer_usec())
 *
 * Return: the syndrome byte.
 */
static inline uint8_t rcore_aeth_rnr_nak(uint8_t timer_code)
{
	return (uint8_t)(RCORE_AETH_RNR_NAK << 5 | (timer_code & 0x1f));
}

/**
 * rcore_aeth_nak - syndrome of a NAK
 * @code: an enum rcore_nak_code value
 *
 * Return: the syndrome byte.
 */
static inline uint8_t rcore_aeth_nak(enum rcore_nak_code code)
{
	return (uint8_t)(RCORE_AETH_NAK << 5 | ((unsigned int)code & 0x1f));
}

/**
 * rcore_aeth_syn_type - type of a syndrome
 * @syndrome: AETH syndrome byte
 *
 * Return: an enum rcore_aeth_type value.
 */
static inline enum rcore_aeth_type rcore_aeth_syn_type(uint8_t syndrome)
{
	return (enum rcore_aeth_type)((syndrome >> 5) & 3);
}

/**
 * rcore_aeth_syn_value - the 5-bit value of a syndrome
 * @syndrome: AETH syndrome byte
 *
 * Return: the credit count code, RNR timer code or NAK code.
 */
static inline uint8_t rcore_aeth_syn_value(uint8_t syndrome)
{
	return syndrome & 0x1f;
}

/**
 * rcore_aeth_credits - number of credits an ACK's credit code stands for
 * @code: 5-bit credit count code
 *
 * Return: the credit count (0..32768), or -1 for RCORE_AETH_CREDIT_INVALID.
 */
int rcore_aeth_credits(uint8_t code);

/**
 * rcore_aeth_credit_code - credit count code to advertise
 * @credits: receive WQEs available
 *
 * Return: the code of the largest encodable count not above @credits
 * (codes 0..30; 32768 and more give 30).
 */
uint8_t rcore_aeth_credit_code(uint32_t credits);

/**
 * rcore_rnr_timer_usec - minimum RNR NAK delay of a timer code
 * @code: 5-bit RNR timer code (0 means 655.36 ms, 1 means 0.01 ms, ...)
 *
 * Return: the delay in microseconds.
 */
uint32_t rcore_rnr_timer_usec(uint8_t code);

#endif /* RCORE_HDR_H */
