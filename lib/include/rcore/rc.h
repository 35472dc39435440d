/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reliable Connected transport decisions (IBA vol. 1 chapter 9), as pure
 * functions.
 *
 * Nothing here does I/O, keeps a clock or allocates: each function looks
 * at a small state struct and a parsed packet (or a timer event) and says
 * what the caller must do.  The caller (rodp.ko's requester, responder and
 * completer) performs the data movement and the bookkeeping, then tells
 * the state what happened through the matching update function.
 *
 * Responder, for every request packet received:
 *
 *	rcore_rc_resp_check(&st, pkt, &v);
 *	switch (v.action) {
 *	case RCORE_RC_RESP_EXECUTE:
 *		if ((v.flags & RCORE_RC_F_NEED_WQE) && no receive WQE) {
 *			rcore_rc_resp_nak(&st, pkt->bth.psn,
 *					  rcore_aeth_rnr_nak(min_rnr_timer),
 *					  &ack);
 *			send ack; rcore_rc_resp_nakked(&st); break;
 *		}
 *		check R_Key/range (else rcore_rc_resp_nak() with
 *		RCORE_NAK_REMOTE_ACCESS_ERR, QP to error); move the data;
 *		rcore_rc_resp_executed(&st, pkt, &v);
 *		READ: send rcore_rc_read_resp_seg() 0..v.npsn-1 from
 *		      v.resp_psn, AETH from rcore_rc_resp_ack();
 *		ATOMIC: save the original value by PSN, send the atomic ACK;
 *		else if (v.flags & RCORE_RC_F_ACK_NOW): send
 *		      rcore_rc_resp_ack(&st, rcore_rc_credit_code(..), &ack);
 *		break;
 *	case RCORE_RC_RESP_DUPLICATE:	DUP_ACK: send v.ack; DUP_READ: send
 *		the responses again from the packet's RETH; DUP_ATOMIC:
 *		resend the saved atomic ACK (if still saved).
 *	case RCORE_RC_RESP_NAK_SEQ:	send v.ack, rcore_rc_resp_nakked()
 *	case RCORE_RC_RESP_NAK_INVALID:	send v.ack, QP to error
 *	case RCORE_RC_RESP_DROP:	nothing (count v.why)
 *	}
 *
 * Requester: rcore_rc_req_seg() gives every packet to send (and to resend
 * from a PSN); rcore_rc_req_sent() after each.  Completer, for every
 * response packet received:
 *
 *	do {
 *		rcore_rc_comp_check(&st, oldest sent WQE or NULL, pkt, &v);
 *		act on v (COMPLETE / READ_DATA / ATOMIC_DATA: complete or
 *		fill the WQE; RETRY: resend from v.psn; RNR_WAIT: resend
 *		from v.psn after v.rnr_usec; FATAL: error completion
 *		v.status, QP to error);
 *		rcore_rc_comp_apply(&st, &v);
 *	} while (v.action == RCORE_RC_COMP_COMPLETE && v.again);
 *
 * and rcore_rc_comp_timeout() + rcore_rc_comp_apply() when the local ACK
 * timer (rcore_rc_ack_timeout_ns()) expires.
 *
 * All PSN arithmetic is modulo 2^24 (see psn.h).  Lengths are bytes; an
 * MTU argument is the path MTU in bytes, one of 256, 512, 1024, 2048 or
 * 4096 (rcore_mtu_bytes()).
 */
#ifndef RCORE_RC_H
#define RCORE_RC_H

#include <rcore/types.h>
#include <rcore/err.h>
#include <rcore/hdr.h>
#include <rcore/opcode.h>
#include <rcore/pkt.h>
#include <rcore/psn.h>

/* ---------------------------------------------------------------------- */
/* Path MTU, message sizing, requester packets                             */
/* ---------------------------------------------------------------------- */

/* Path MTU codes, as IBA (and enum ib_mtu / enum ibv_mtu) number them. */
enum rcore_mtu {
	RCORE_MTU_256	= 1,
	RCORE_MTU_512	= 2,
	RCORE_MTU_1024	= 3,
	RCORE_MTU_2048	= 4,
	RCORE_MTU_4096	= 5,
};

/* Largest RC message (IBA: 2^31 bytes). */
#define RCORE_RC_MAX_MSG	0x80000000u

/*
 * Most PSNs a requester may have outstanding: half the PSN space, so that
 * every outstanding PSN is "after" una (the largest message, 2^31 bytes
 * at a 256-byte PMTU, takes exactly this many).
 */
#define RCORE_RC_MAX_OUTSTANDING	RCORE_PSN_HALF

/*
 * A long RDMA read is asked for in requests (chunks) of a power of two
 * response packets, at least RCORE_RC_READ_CHUNK_MIN and at most
 * RCORE_RC_READ_CHUNK, fixed for the read and aligned to its start; a
 * retry from inside a chunk asks only up to its end.  So a responder
 * takes a retry for a duplicate of what it executed (rxe requires a
 * retried read to lie within one request it had), and a retry from a
 * chunk's last PSN asks for one packet, answered READ_RESP_ONLY there.
 */
#define RCORE_RC_READ_CHUNK	128
#define RCORE_RC_READ_CHUNK_MIN	8

/**
 * rcore_mtu_bytes - bytes of a path MTU code
 * @mtu: an enum rcore_mtu value
 *
 * Return: 256..4096, or 0 when @mtu is not a valid code.
 */
uint32_t rcore_mtu_bytes(unsigned int mtu);

/**
 * rcore_mtu_code - path MTU code for a number of bytes
 * @bytes: room for payload per packet (e.g. netdev MTU minus headers)
 *
 * Return: the largest enum rcore_mtu value whose size is at most @bytes,
 * or 0 when @bytes is below 256.
 */
unsigned int rcore_mtu_code(uint32_t bytes);

/**
 * rcore_mtu_valid - is a byte count a path MTU
 * @mtu: bytes
 *
 * Return: true for 256, 512, 1024, 2048 and 4096.
 */
bool rcore_mtu_valid(uint32_t mtu);

/**
 * rcore_rc_pkt_count - packets a payload of @len bytes takes
 * @len: message length in bytes
 * @mtu: path MTU in bytes
 *
 * Return: ceil(@len / @mtu), at least 1 (a zero-length message is one
 * packet); 0 when @mtu is not a valid path MTU.
 */
uint32_t rcore_rc_pkt_count(uint32_t len, uint32_t mtu);

/**
 * rcore_rc_pkt_payload - payload bytes of one packet of a message
 * @len: message length in bytes
 * @mtu: path MTU in bytes
 * @idx: packet index in the message, from 0
 *
 * Return: @mtu for every packet but the last, the remainder for the last,
 * 0 beyond the last packet (or for an invalid @mtu).
 */
uint32_t rcore_rc_pkt_payload(uint32_t len, uint32_t mtu, uint32_t idx);

/* What a send queue WQE asks the requester to do on an RC QP. */
enum rcore_rc_msg {
	RCORE_RC_MSG_SEND	= 0,
	RCORE_RC_MSG_SEND_IMM	= 1,
	RCORE_RC_MSG_SEND_INV	= 2,
	RCORE_RC_MSG_WRITE	= 3,
	RCORE_RC_MSG_WRITE_IMM	= 4,
	RCORE_RC_MSG_READ	= 5,
	RCORE_RC_MSG_CMP_SWAP	= 6,
	RCORE_RC_MSG_FETCH_ADD	= 7,
	/*
	 * RDMA ATOMIC WRITE (IBA 1.5): exactly 8 bytes, stored at once at an
	 * 8-byte aligned address; one packet, answered as a read of length
	 * zero is (an empty READ_RESP_ONLY, as rxe does), and counted with
	 * the reads and atomics against max_rd_atomic.
	 */
	RCORE_RC_MSG_ATOMIC_WRITE = 8,
	/*
	 * RDMA FLUSH (IBA 1.5): no payload; its length is the range to make
	 * visible (or persistent) at the responder.  Answered and counted as
	 * an ATOMIC WRITE is.
	 */
	RCORE_RC_MSG_FLUSH	= 9,
	RCORE_RC_MSG_COUNT	= 10
};

/* The one length an ATOMIC WRITE carries. */
#define RCORE_RC_ATOMIC_WRITE_LEN	8u

/**
 * rcore_rc_msg_is_rd_atomic - does a message need a response with data
 * @kind: an enum rcore_rc_msg value
 *
 * Return: true for RDMA reads, atomics, atomic writes and flushes, which
 * are only completed by their read responses / atomic ACK, never by a
 * plain ACK.
 */
bool rcore_rc_msg_is_rd_atomic(enum rcore_rc_msg kind);

/**
 * rcore_rc_msg_psns - PSNs a message occupies
 * @kind: an enum rcore_rc_msg value
 * @len: message length in bytes (ignored for atomics)
 * @mtu: path MTU in bytes
 *
 * A send or write takes one PSN per request packet; an RDMA read takes
 * one per response packet (its request carries the first); an atomic
 * takes one.
 *
 * Return: the number of PSNs (at least 1), or 0 for an invalid @kind or
 * @mtu, or a @len above RCORE_RC_MAX_MSG.
 */
uint32_t rcore_rc_msg_psns(enum rcore_rc_msg kind, uint32_t len,
			   uint32_t mtu);

/**
 * rcore_rc_req_opcode - BTH opcode of one request packet
 * @kind: an enum rcore_rc_msg value
 * @idx: packet index in the message, from 0
 * @npkts: packets in the message (rcore_rc_pkt_count()); 1 for reads
 *         and atomics
 *
 * Gives SEND/WRITE FIRST, MIDDLE, LAST or ONLY (the IMM/INV variant on the
 * last or only packet), READ_REQ, CMP_SWAP, FETCH_ADD, ATOMIC_WRITE or
 * FLUSH.
 *
 * Return: an RC opcode (0..0x17), or RCORE_ERR_RANGE when @idx is not
 * below @npkts, or @npkts is not 1 for a read or atomic, and
 * RCORE_ERR_OPCODE for an unknown @kind.
 */
int rcore_rc_req_opcode(enum rcore_rc_msg kind, uint32_t idx, uint32_t npkts);

/**
 * struct rcore_rc_seg - one packet of a message, as the sender builds it
 * @psn: its PSN
 * @offset: byte offset in the message of its payload (read request: of
 *          the range it asks for)
 * @len: payload bytes (read request: the RETH DMA length to ask for)
 * @opcode: its BTH opcode
 * @ackreq: whether to set the BTH AckReq bit
 * @first: the first packet of the message: SEND/WRITE/READ_RESP FIRST or
 *         ONLY, a read request or an atomic
 * @last: the last packet of the message
 */
struct rcore_rc_seg {
	uint32_t psn;
	uint32_t offset;
	uint32_t len;
	uint8_t opcode;
	bool ackreq;
	bool first;
	bool last;
};

/**
 * rcore_rc_req_seg - describe the @idx-th request packet of a message
 * @kind: an enum rcore_rc_msg value
 * @len: message length in bytes
 * @mtu: path MTU in bytes
 * @first_psn: the message's first PSN
 * @idx: which packet; for an RDMA read, the response packet to (re)start
 *       from: the request then asks for @len - @idx * @mtu bytes at
 *       offset @idx * @mtu with PSN @first_psn + @idx (a read retried
 *       from the middle)
 * @seg: filled with the packet's PSN, payload range, opcode and AckReq
 *
 * AckReq is set on the last packet of every message.  The requester
 * retransmits from a PSN by calling this with
 * @idx = rcore_psn_diff(psn, @first_psn).
 *
 * Return: RCORE_OK, RCORE_ERR_RANGE (@idx beyond the message, @len above
 * RCORE_RC_MAX_MSG, invalid @mtu) or RCORE_ERR_OPCODE (unknown @kind).
 */
int rcore_rc_req_seg(enum rcore_rc_msg kind, uint32_t len, uint32_t mtu,
		     uint32_t first_psn, uint32_t idx,
		     struct rcore_rc_seg *seg);

/**
 * rcore_rc_read_resp_seg - describe the @idx-th response to a read
 * @len: the DMA length of the read request being answered (its RETH)
 * @mtu: path MTU in bytes
 * @first_psn: the PSN of that read request (its first response's PSN)
 * @idx: response packet index, from 0
 * @seg: filled with PSN, payload offset and length, READ_RESP_FIRST /
 *       MIDDLE / LAST / ONLY opcode (AckReq always clear)
 *
 * The responder answers a read of @len bytes with
 * rcore_rc_pkt_count(@len, @mtu) packets of consecutive PSNs.  For a
 * duplicate read (retried from the middle) pass the duplicate's own RETH
 * length and PSN.
 *
 * Return: RCORE_OK or RCORE_ERR_RANGE (@idx beyond the last response,
 * @len above RCORE_RC_MAX_MSG, invalid @mtu).
 */
int rcore_rc_read_resp_seg(uint32_t len, uint32_t mtu, uint32_t first_psn,
			   uint32_t idx, struct rcore_rc_seg *seg);

/* ---------------------------------------------------------------------- */
/* Work completion status                                                  */
/* ---------------------------------------------------------------------- */

/*
 * Work completion status, numbered like the kernel's enum ib_wc_status and
 * libibverbs' enum ibv_wc_status (the two agree).  Only the values rcore
 * produces or the callers need are named.
 */
enum rcore_wc_status {
	RCORE_WC_SUCCESS		= 0,
	RCORE_WC_LOC_LEN_ERR		= 1,
	RCORE_WC_LOC_QP_OP_ERR		= 2,
	RCORE_WC_LOC_PROT_ERR		= 4,
	RCORE_WC_WR_FLUSH_ERR		= 5,
	RCORE_WC_BAD_RESP_ERR		= 7,
	RCORE_WC_LOC_ACCESS_ERR		= 8,
	RCORE_WC_REM_INV_REQ_ERR	= 9,
	RCORE_WC_REM_ACCESS_ERR		= 10,
	RCORE_WC_REM_OP_ERR		= 11,
	RCORE_WC_RETRY_EXC_ERR		= 12,
	RCORE_WC_RNR_RETRY_EXC_ERR	= 13,
	RCORE_WC_REM_INV_RD_REQ_ERR	= 15,
	RCORE_WC_FATAL_ERR		= 19,
	RCORE_WC_GENERAL_ERR		= 21,
};

/**
 * rcore_rc_nak_status - completion status a NAK code stands for
 * @code: the 5-bit NAK code of an AETH whose type is RCORE_AETH_NAK
 *
 * Return: REM_INV_REQ_ERR (invalid request), REM_ACCESS_ERR (remote access
 * error), REM_OP_ERR (remote operational error, and reserved codes),
 * REM_INV_RD_REQ_ERR (invalid RD request); RCORE_WC_SUCCESS for a PSN
 * sequence error, which is not an error completion but a retry.
 */
enum rcore_wc_status rcore_rc_nak_status(uint8_t code);

/* ---------------------------------------------------------------------- */
/* Timers and retry counts                                                 */
/* ---------------------------------------------------------------------- */

/* rnr_retry value meaning "retry for ever". */
#define RCORE_RC_RNR_RETRY_INFINITE	7

/**
 * rcore_rc_ack_timeout_ns - local ACK timeout of a QP
 * @timeout: the QP's 5-bit timeout attribute
 *
 * Return: 4.096 us * 2^@timeout in nanoseconds (4096 << @timeout); 0 for
 * @timeout 0, which means "infinite": no local ACK timer.  Values above 31
 * are taken modulo 32.
 */
uint64_t rcore_rc_ack_timeout_ns(uint8_t timeout);

/**
 * rcore_rc_rnr_code - RNR timer code for a delay
 * @usec: the smallest delay wanted, in microseconds
 *
 * The inverse of rcore_rnr_timer_usec(): the code of the shortest timer
 * that lasts at least @usec (code 0, 655.36 ms, for anything longer than
 * 491.52 ms).
 *
 * Return: a 5-bit RNR timer code.
 */
uint8_t rcore_rc_rnr_code(uint32_t usec);

/**
 * rcore_rc_credit_code - AETH credit code a responder advertises
 * @free_wqes: receive WQEs posted and not yet consumed
 * @srq: the QP takes its receive WQEs from an SRQ
 *
 * Return: RCORE_AETH_CREDIT_INVALID (0x1f) with an SRQ, else
 * rcore_aeth_credit_code(@free_wqes).
 */
uint8_t rcore_rc_credit_code(uint32_t free_wqes, bool srq);

/* ---------------------------------------------------------------------- */
/* Responder                                                               */
/* ---------------------------------------------------------------------- */

/* Remote operations the responder's QP allows (qp_access_flags). */
#define RCORE_RC_ACC_WRITE	0x1u
#define RCORE_RC_ACC_READ	0x2u
#define RCORE_RC_ACC_ATOMIC	0x4u
#define RCORE_RC_ACC_FLUSH_GLOBAL	0x8u	/* FLUSH for visibility */
#define RCORE_RC_ACC_FLUSH_PERSISTENT	0x10u	/* FLUSH for persistence */
#define RCORE_RC_ACC_ALL		0x1fu

/**
 * struct rcore_rc_resp_state - what an RC responder remembers
 * @epsn: expected PSN of the next new request packet (ePSN)
 * @msn: message sequence number: requests completed so far, 24 bits
 * @ack_psn: the PSN the next coalesced ACK acknowledges (the last
 *           send/write packet executed)
 * @mtu: path MTU in bytes
 * @resid: bytes an RDMA WRITE in progress still has to deliver
 * @unacked: send/write packets executed since the last ACK was due
 * @ack_every: an ACK is due after at most this many packets (0: only on
 *             AckReq and the last packet of a message)
 * @access: RCORE_RC_ACC_* the QP allows; clear READ and ATOMIC when
 *          max_dest_rd_atomic is 0
 * @cur_op: opcode of the last packet of the multi-packet SEND or WRITE in
 *          progress (valid when @in_msg)
 * @in_msg: a multi-packet SEND or WRITE has started and not ended
 * @nak_sent: a PSN sequence error (or RNR) NAK was sent for @epsn:
 *            further out-of-sequence packets are dropped silently until
 *            @epsn arrives
 *
 * Set it up with rcore_rc_resp_init(); change it only through the
 * functions below (@mtu, @access and @ack_every may be changed by a
 * modify-QP between packets).
 */
struct rcore_rc_resp_state {
	uint32_t epsn;
	uint32_t msn;
	uint32_t ack_psn;
	uint32_t mtu;
	uint32_t resid;
	uint32_t unacked;
	uint32_t ack_every;
	uint8_t access;
	uint8_t cur_op;
	bool in_msg;
	bool nak_sent;
};

/**
 * rcore_rc_resp_init - set up a responder (at the RTR transition)
 * @st: the state
 * @epsn: the QP's rq_psn
 * @mtu: path MTU in bytes
 * @access: RCORE_RC_ACC_* bits
 * @ack_every: ACK coalescing bound (see struct rcore_rc_resp_state)
 *
 * Return: RCORE_OK, or RCORE_ERR_RANGE for an invalid @mtu or a PSN above
 * 24 bits (@st is then left untouched).
 */
int rcore_rc_resp_init(struct rcore_rc_resp_state *st, uint32_t epsn,
		       uint32_t mtu, unsigned int access, uint32_t ack_every);

enum rcore_rc_resp_action {
	RCORE_RC_RESP_EXECUTE		= 0,	/* new, in sequence: do it */
	RCORE_RC_RESP_DUPLICATE		= 1,	/* a retry: enum rcore_rc_dup */
	RCORE_RC_RESP_NAK_SEQ		= 2,	/* send the NAK in @ack once */
	RCORE_RC_RESP_NAK_INVALID	= 3,	/* send the NAK, QP to error */
	RCORE_RC_RESP_DROP		= 4,	/* ignore the packet silently */
};

/* What to do with a duplicate request (IBA ch. 9, responder side). */
enum rcore_rc_dup {
	RCORE_RC_DUP_NONE	= 0,
	/* SEND/WRITE: do not re-execute; send the ACK in @ack */
	RCORE_RC_DUP_ACK	= 1,
	/*
	 * READ: execute it again as given (its RETH may start in the middle
	 * of the original read): rcore_rc_read_resp_seg() with the packet's
	 * RETH length and PSN, @npsn responses from @resp_psn.
	 */
	RCORE_RC_DUP_READ	= 2,
	/*
	 * ATOMIC: do not re-execute; resend the atomic ACK saved for this
	 * PSN (drop the packet if it is no longer saved).
	 */
	RCORE_RC_DUP_ATOMIC	= 3,
	/*
	 * ATOMIC WRITE: do not store again; send the empty READ_RESP_ONLY
	 * again at @resp_psn.
	 */
	RCORE_RC_DUP_ATOMIC_WRITE = 4,
	/* FLUSH: send the empty READ_RESP_ONLY again at @resp_psn. */
	RCORE_RC_DUP_FLUSH	= 5,
};

/* Why a packet is NAKed as invalid or dropped (for counters and logs). */
enum rcore_rc_why {
	RCORE_RC_WHY_NONE		= 0,
	/* another transport's opcode, or an RC response: not for us */
	RCORE_RC_WHY_NOT_RC_REQ		= 1,
	RCORE_RC_WHY_NAK_SENT		= 2,	/* out of sequence again */
	RCORE_RC_WHY_DUP_NO_ACK		= 3,	/* duplicate needing no ACK */
	RCORE_RC_WHY_DUP_BAD		= 4,	/* dup read out of range */
	RCORE_RC_WHY_NO_FIRST		= 5,	/* MIDDLE/LAST, none started */
	RCORE_RC_WHY_NO_LAST		= 6,	/* new message during one */
	RCORE_RC_WHY_ACCESS		= 7,	/* op not enabled on the QP */
	RCORE_RC_WHY_TOO_LONG		= 8,	/* payload above the PMTU */
	RCORE_RC_WHY_NOT_FULL		= 9,	/* FIRST/MIDDLE not one PMTU */
	RCORE_RC_WHY_LENGTH		= 10,	/* payload vs RETH length */
	RCORE_RC_WHY_MSG_SIZE		= 11,	/* RETH length above 2^31 */
	/* atomic (or atomic write) VA not 8-aligned */
	RCORE_RC_WHY_ALIGN		= 12,
	RCORE_RC_WHY_OPCODE		= 13,	/* reserved RC opcode */
	/* FLUSH: no placement type, or a reserved one or level */
	RCORE_RC_WHY_FLUSH		= 14,
	RCORE_RC_WHY_COUNT		= 15
};

/* struct rcore_rc_resp_verdict.flags */
#define RCORE_RC_F_FIRST	0x0001u	/* first packet (FIRST or ONLY) */
#define RCORE_RC_F_MIDDLE	0x0002u	/* MIDDLE packet */
#define RCORE_RC_F_LAST		0x0004u	/* last packet (LAST or ONLY) */
#define RCORE_RC_F_SEND		0x0008u	/* part of a SEND */
#define RCORE_RC_F_WRITE	0x0010u	/* part of an RDMA WRITE */
#define RCORE_RC_F_READ		0x0020u	/* an RDMA READ request */
#define RCORE_RC_F_ATOMIC	0x0040u	/* CMP_SWAP or FETCH_ADD */
#define RCORE_RC_F_IMM		0x0080u	/* carries immediate data */
#define RCORE_RC_F_INV		0x0100u	/* carries an R_Key to invalidate */
/*
 * Takes a receive WQE: SEND FIRST/ONLY (held until the message's last
 * packet), WRITE LAST/ONLY with immediate.  With none available, answer
 * with an RNR NAK instead of executing.
 */
#define RCORE_RC_F_NEED_WQE	0x0200u
/* Completes the receive WQE: SEND LAST/ONLY, WRITE LAST/ONLY with imm. */
#define RCORE_RC_F_RECV_DONE	0x0400u
/*
 * An ACK is due once the packet is executed (AckReq set, last packet of
 * a send or write, or @ack_every packets since the last one).  The caller
 * may hold it back while it drains packets already queued, then send one
 * rcore_rc_resp_ack() for all of them.  Never set for reads and atomics:
 * their responses acknowledge them.
 */
#define RCORE_RC_F_ACK_NOW	0x0800u
/*
 * An ATOMIC WRITE: its 8 bytes stored at once where its RETH says (remote
 * write access), then answered like a read of length zero, in order with
 * the read and atomic responses: an empty READ_RESP_ONLY at its PSN.
 */
#define RCORE_RC_F_ATOMIC_WRITE	0x1000u
/*
 * A FLUSH: the R_Key checked for the placement types its FETH names
 * (the RETH's range, or only the key for a whole-MR flush), earlier
 * requests made visible, then answered as an ATOMIC WRITE is.  The QP
 * must allow each placement type (RCORE_RC_ACC_FLUSH_*).
 */
#define RCORE_RC_F_FLUSH	0x2000u

/**
 * struct rcore_rc_ack - an ACK or NAK to send
 * @psn: the BTH PSN
 * @aeth: AETH syndrome and MSN
 */
struct rcore_rc_ack {
	uint32_t psn;
	struct rcore_aeth aeth;
};

/**
 * struct rcore_rc_resp_verdict - what to do with one request packet
 * @action: an enum rcore_rc_resp_action value
 * @dup: for RCORE_RC_RESP_DUPLICATE, what kind (enum rcore_rc_dup)
 * @why: for NAK_INVALID and DROP, the reason (enum rcore_rc_why)
 * @flags: RCORE_RC_F_* describing the packet (EXECUTE and DUPLICATE)
 * @npsn: PSNs the request takes: 1, or for a read the number of response
 *        packets (EXECUTE, DUP_READ)
 * @resp_psn: first response PSN of a read or atomic (the packet's PSN)
 * @ack: the ACK (DUP_ACK: credit code "invalid", the caller may put its
 *       own in with rcore_aeth_ack()) or NAK (NAK_SEQ, NAK_INVALID) to send
 */
struct rcore_rc_resp_verdict {
	enum rcore_rc_resp_action action;
	enum rcore_rc_dup dup;
	enum rcore_rc_why why;
	unsigned int flags;
	uint32_t npsn;
	uint32_t resp_psn;
	struct rcore_rc_ack ack;
};

/**
 * rcore_rc_resp_check - classify an incoming request packet
 * @st: the responder's state (not modified)
 * @pkt: the parsed packet (rcore_pkt_parse()); uses the BTH opcode, PSN
 *       and AckReq, the RETH length, the AtomicETH VA and the payload
 *       length
 * @v: filled with the verdict
 *
 * Checks in the order IBA ch. 9 gives the responder: the opcode is an RC
 * request (an opcode of another transport, or an RC response, is
 * DROPped; a reserved RC opcode, which rcore_pkt_parse() already refuses,
 * is NAK_INVALID at ePSN); the PSN (out of sequence: NAK_SEQ once per
 * ePSN, then DROP;
 * behind ePSN: DUPLICATE, or DROP for a duplicate send/write packet that
 * neither has AckReq set nor ends its message, or a duplicate read whose
 * responses would reach ePSN); then, for the expected PSN, the opcode
 * sequence (MIDDLE/LAST without FIRST, a new message while one is in
 * progress), the QP's access rights, and lengths (payload above the PMTU,
 * FIRST/MIDDLE not exactly one PMTU, WRITE payloads against the RETH
 * length, a RETH length above 2^31, a misaligned atomic): NAK_INVALID.
 * Otherwise EXECUTE.  R_Key, range and receive-buffer checks are the
 * caller's (NAK with rcore_rc_resp_nak()).
 */
void rcore_rc_resp_check(const struct rcore_rc_resp_state *st,
			 const struct rcore_pkt *pkt,
			 struct rcore_rc_resp_verdict *v);

/**
 * rcore_rc_resp_executed - advance the responder past an executed packet
 * @st: the state
 * @pkt: the packet, which rcore_rc_resp_check() said to EXECUTE and the
 *       caller did execute
 * @v: that verdict
 *
 * ePSN advances by @v->npsn (a read by its response count), the NAK latch
 * clears, the message in progress starts, continues or ends, the MSN
 * counts every completed message (reads and atomics included), and the
 * coalescing count restarts when an ACK was due or a response was sent.
 */
void rcore_rc_resp_executed(struct rcore_rc_resp_state *st,
			    const struct rcore_pkt *pkt,
			    const struct rcore_rc_resp_verdict *v);

/**
 * rcore_rc_resp_nakked - note that a PSN sequence or RNR NAK was sent
 * @st: the state
 *
 * Until the packet at ePSN arrives, out-of-sequence packets are then
 * dropped without another NAK (IBA: one NAK per sequence error; packets
 * already in flight behind an RNR-NAKed one must not be NAKed either).
 */
void rcore_rc_resp_nakked(struct rcore_rc_resp_state *st);

/**
 * rcore_rc_resp_ack - the coalesced ACK for everything executed so far
 * @st: the state
 * @credit_code: rcore_rc_credit_code() of the receive queue
 * @ack: filled with the PSN of the last send/write packet executed, an ACK
 *       syndrome with @credit_code and the current MSN
 *
 * The AETH of read responses and atomic ACKs is built the same way, once
 * rcore_rc_resp_executed() has counted the request in the MSN (their BTH
 * PSN is the response's own).
 */
void rcore_rc_resp_ack(const struct rcore_rc_resp_state *st,
		       uint8_t credit_code, struct rcore_rc_ack *ack);

/**
 * rcore_rc_resp_nak - a NAK for a request the caller refuses
 * @st: the state
 * @psn: the refused request's PSN
 * @syndrome: rcore_aeth_nak(code) (e.g. RCORE_NAK_REMOTE_ACCESS_ERR for an
 *            R_Key violation) or rcore_aeth_rnr_nak(min_rnr_timer)
 * @ack: filled with @psn, @syndrome and the current MSN
 */
void rcore_rc_resp_nak(const struct rcore_rc_resp_state *st, uint32_t psn,
		       uint8_t syndrome, struct rcore_rc_ack *ack);

/* ---------------------------------------------------------------------- */
/* Requester and completer                                                 */
/* ---------------------------------------------------------------------- */

/**
 * struct rcore_rc_req_state - the requester's view of its send window
 * @una_psn: oldest PSN not yet acknowledged (everything before it is)
 * @next_psn: one past the highest PSN ever sent; the window of
 *            outstanding PSNs is [@una_psn, @next_psn)
 * @mtu: path MTU in bytes
 * @retry_cnt: the QP's retry_cnt (0..7 transport retries)
 * @rnr_retry: the QP's rnr_retry (0..6, or 7 for infinite)
 * @retry_left: transport retries left before RETRY_EXC_ERR
 * @rnr_left: RNR retries left before RNR_RETRY_EXC_ERR
 * @retry_psn: PSN the last retry restarted from (valid when
 *             @retry_valid): until forward progress, another NAK or
 *             implied NAK asking for the same retry is a copy or a late
 *             echo of the first, and is ignored (the local ACK timer
 *             still retries if the retransmission is lost)
 * @retry_valid: see @retry_psn; cleared by forward progress
 *
 * Both retry counts start full and are refilled by forward progress (any
 * acknowledgement that moves @una_psn).
 */
struct rcore_rc_req_state {
	uint32_t una_psn;
	uint32_t next_psn;
	uint32_t mtu;
	uint32_t retry_psn;
	uint8_t retry_cnt;
	uint8_t rnr_retry;
	uint8_t retry_left;
	uint8_t rnr_left;
	bool retry_valid;
};

/**
 * rcore_rc_req_init - set up a requester (at the RTS transition)
 * @st: the state
 * @sq_psn: the QP's sq_psn, the first PSN it will send
 * @mtu: path MTU in bytes
 * @retry_cnt: 0..7
 * @rnr_retry: 0..7 (7: infinite)
 *
 * Return: RCORE_OK, or RCORE_ERR_RANGE for an invalid @mtu, a PSN above 24
 * bits or a count above 7 (@st is then left untouched).
 */
int rcore_rc_req_init(struct rcore_rc_req_state *st, uint32_t sq_psn,
		      uint32_t mtu, uint8_t retry_cnt, uint8_t rnr_retry);

/**
 * rcore_rc_req_sent - note that a request packet was sent
 * @st: the state
 * @psn: its PSN
 * @npsn: PSNs it takes: 1, or for a read request the number of responses
 *        it asks for (rcore_rc_pkt_count() of its RETH length)
 *
 * Moves @st->next_psn past @psn + @npsn - 1 when that is new; a
 * retransmission changes nothing.
 */
void rcore_rc_req_sent(struct rcore_rc_req_state *st, uint32_t psn,
		       uint32_t npsn);

/**
 * rcore_rc_req_window_ok - may a message of @npsn more PSNs be started
 * @st: the state
 * @npsn: PSNs of the next message (rcore_rc_msg_psns())
 *
 * Return: true when the outstanding PSNs would stay within
 * RCORE_RC_MAX_OUTSTANDING, so that PSN comparisons stay unambiguous.
 */
bool rcore_rc_req_window_ok(const struct rcore_rc_req_state *st,
			    uint32_t npsn);

/**
 * struct rcore_rc_wqe - what the completer needs to know of a send WQE
 * @kind: an enum rcore_rc_msg value
 * @first_psn: PSN of its first packet
 * @len: message length in bytes (ignored for atomics)
 *
 * Its PSNs are @first_psn .. @first_psn + rcore_rc_msg_psns() - 1.
 */
struct rcore_rc_wqe {
	enum rcore_rc_msg kind;
	uint32_t first_psn;
	uint32_t len;
};

/**
 * rcore_rc_wqe_last_psn - last PSN of a WQE
 * @wqe: the WQE
 * @mtu: path MTU in bytes
 *
 * Return: @wqe->first_psn + rcore_rc_msg_psns() - 1, modulo 2^24.
 */
uint32_t rcore_rc_wqe_last_psn(const struct rcore_rc_wqe *wqe, uint32_t mtu);

enum rcore_rc_comp_action {
	/* stale, duplicate or unexpected: drop the packet */
	RCORE_RC_COMP_IGNORE		= 0,
	/* acknowledges part of the oldest WQE: nothing completes */
	RCORE_RC_COMP_PROGRESS		= 1,
	/*
	 * the oldest WQE (a send or write) completes successfully; retire
	 * it, then call rcore_rc_comp_check() again with the same packet and
	 * the next WQE (@again): the packet may acknowledge more
	 */
	RCORE_RC_COMP_COMPLETE		= 2,
	/*
	 * read response data for the oldest WQE: store @len bytes at @offset
	 * of its local buffer; when @done, the read then completes
	 */
	RCORE_RC_COMP_READ_DATA		= 3,
	/* atomic ACK: store the original value, the atomic completes */
	RCORE_RC_COMP_ATOMIC_DATA	= 4,
	/* retransmit from @psn now (sequence NAK, implied NAK, timeout) */
	RCORE_RC_COMP_RETRY		= 5,
	/* stop sending, wait @rnr_usec, then retransmit from @psn */
	RCORE_RC_COMP_RNR_WAIT		= 6,
	/*
	 * complete the oldest WQE with @status, move the QP to the error
	 * state and flush the rest
	 */
	RCORE_RC_COMP_FATAL		= 7,
};

/* Why the completer ignores a packet (for counters and logs). */
enum rcore_rc_comp_why {
	RCORE_RC_CWHY_NONE		= 0,
	RCORE_RC_CWHY_NOT_RC_RESP	= 1,	/* not an RC response opcode */
	RCORE_RC_CWHY_NO_WQE		= 2,	/* nothing outstanding */
	RCORE_RC_CWHY_STALE		= 3,	/* PSN outside the window */
	RCORE_RC_CWHY_BAD_WQE		= 4,	/* WQE not the oldest */
	RCORE_RC_CWHY_UNEXPECTED	= 5,	/* opcode does not fit WQE */
	RCORE_RC_CWHY_BAD_LENGTH	= 6,	/* read response payload size */
	RCORE_RC_CWHY_BAD_SYNDROME	= 7,	/* AETH type not allowed here */
	RCORE_RC_CWHY_RETRIED		= 8,	/* that retry is under way */
	RCORE_RC_CWHY_IN_READ		= 9,	/* ACK inside a read's PSNs */
	RCORE_RC_CWHY_COUNT		= 10
};

/**
 * struct rcore_rc_comp_verdict - what to do with one response packet
 * @action: an enum rcore_rc_comp_action value
 * @why: for IGNORE, the reason (enum rcore_rc_comp_why)
 * @status: for FATAL, the completion status of the oldest WQE
 * @again: COMPLETE: the packet is not used up; call again with the next
 *         outstanding WQE (or stop when there is none)
 * @done: the oldest WQE completes (COMPLETE, ATOMIC_DATA, last READ_DATA)
 * @psn: RETRY and RNR_WAIT: the first PSN to retransmit
 * @offset: READ_DATA: byte offset of the payload in the read's buffer
 * @len: READ_DATA: payload bytes
 * @rnr_usec: RNR_WAIT: how long to wait, from the AETH's timer code
 * @una_psn: the state's una_psn once the verdict is applied
 * @retry_left: the state's retry_left once the verdict is applied
 * @rnr_left: the state's rnr_left once the verdict is applied
 */
struct rcore_rc_comp_verdict {
	enum rcore_rc_comp_action action;
	enum rcore_rc_comp_why why;
	enum rcore_wc_status status;
	bool again;
	bool done;
	uint32_t psn;
	uint32_t offset;
	uint32_t len;
	uint32_t rnr_usec;
	uint32_t una_psn;
	uint8_t retry_left;
	uint8_t rnr_left;
};

/**
 * rcore_rc_comp_check - classify a response packet against the oldest WQE
 * @st: the requester's state (not modified)
 * @wqe: the oldest outstanding WQE (its first PSN sent, not completed), or
 *       NULL when there is none
 * @pkt: the parsed response (ACK, atomic ACK or read response)
 * @v: filled with the verdict; commit it with rcore_rc_comp_apply()
 *
 * An ACK with PSN p acknowledges every PSN up to p, a NAK (sequence, RNR
 * or fatal) every PSN before p, a read response or atomic ACK every PSN
 * before its own.  So a send or write WQE whose PSNs are all covered
 * completes (COMPLETE, @again), and one covered in part makes PROGRESS.
 * A read or atomic only completes with its own responses (READ_DATA in
 * PSN order, ATOMIC_DATA); a response that covers it otherwise means
 * they were lost: RETRY from una (an implied NAK).  A
 * sequence NAK asks for a RETRY from its PSN, an RNR NAK for RNR_WAIT,
 * other NAKs are FATAL with rcore_rc_nak_status().  A (implied) NAK
 * asking again for the retry already made, with no progress since, is
 * IGNOREd.  A retry with no retries left is FATAL with RETRY_EXC_ERR
 * (RNR_RETRY_EXC_ERR for RNR, never when rnr_retry is 7).  Read responses
 * come in PSN order, so one ahead of una is an implied NAK too: RETRY
 * from una at once, then IGNORE (RETRIED) until una moves.  Anything else
 * that does not fit is IGNOREd.
 */
void rcore_rc_comp_check(const struct rcore_rc_req_state *st,
			 const struct rcore_rc_wqe *wqe,
			 const struct rcore_pkt *pkt,
			 struct rcore_rc_comp_verdict *v);

/**
 * rcore_rc_comp_timeout - the local ACK timer expired
 * @st: the requester's state (not modified)
 * @v: filled with the verdict: IGNORE when nothing is outstanding, RETRY
 *     from una, or FATAL with RETRY_EXC_ERR when no retry is left
 *
 * The caller runs the timer while PSNs are outstanding and not waiting
 * for an RNR delay, and restarts it on forward progress.
 */
void rcore_rc_comp_timeout(const struct rcore_rc_req_state *st,
			   struct rcore_rc_comp_verdict *v);

/**
 * rcore_rc_comp_apply - commit a completer verdict to the state
 * @st: the state
 * @v: a verdict from rcore_rc_comp_check() or rcore_rc_comp_timeout()
 *     made against this same state
 *
 * Moves una_psn and the retry counts as the verdict says and remembers
 * the PSN a RETRY restarts from.  IGNORE and FATAL change nothing.
 */
void rcore_rc_comp_apply(struct rcore_rc_req_state *st,
			 const struct rcore_rc_comp_verdict *v);

#endif /* RCORE_RC_H */
