/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The libibverbs provider interface: the part every private ABI rodp
 * supports shares.
 *
 * libibverbs talks to its providers through an interface that is not part
 * of the public API: the structures in this file, a set of helpers
 * exported under an IBVERBS_PRIVATE_<ABI> symbol version and the command
 * structures the ibv_cmd_* helpers take.  Distributions do not install
 * rdma-core's own declaration of it (infiniband/driver.h, kern-abi.h), so
 * rodp carries this independent one.  rdma-core numbers the interface
 * (the private ABI) and names its providers' files after it
 * (librodp-rdmav<ABI>.so):
 *
 *   ABI 34   rdma-core 44 to 56 (Debian 12, Debian 13)   pabi34.h
 *   ABI 65   rdma-core 65 (Debian unstable)              pabi65.h
 *
 * What the ABIs share is declared here; what one changed (the operations
 * table, the registration symbol, helpers that grew an argument) is in its
 * own header, which this one includes at the end as RODPU_PABI (set by
 * provider/CMakeLists.txt) says.  Provider code calls the pabi_* wrappers
 * those headers define where the helpers differ.
 *
 * Everything here is ABI: member order and types must match what
 * libibverbs.so.1 was built with.  The public headers <infiniband/verbs.h>
 * and <rdma/ib_user_verbs.h> supply the types the interface is made of;
 * layouts that can be checked against them are checked at the end of the
 * file.  The build refuses a libibverbs that does not export
 * verbs_register_driver_<ABI> for an ABI declared here (see
 * provider/CMakeLists.txt), which is how libibverbs tells the ABI number.
 *
 * Only what rodp uses, or will use, is declared.
 */
#ifndef RODPU_PABI_H
#define RODPU_PABI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <infiniband/verbs.h>
#include <rdma/ib_user_verbs.h>

/* ccan-style intrusive list node, used by libibverbs' device lists. */
struct pabi_list_node {
	struct pabi_list_node *next;
	struct pabi_list_node *prev;
};

/* ------------------------------------------------------------------ */
/* Device discovery and matching                                       */
/* ------------------------------------------------------------------ */

/* Values of verbs_match_ent.kind; SENTINEL ends a match table. */
enum {
	VERBS_MATCH_SENTINEL	= 0,
	VERBS_MATCH_PCI		= 1,
	VERBS_MATCH_MODALIAS	= 2,
	VERBS_MATCH_DRIVER_ID	= 3,
};

struct verbs_match_ent {
	void *driver_data;
	union {
		const char *modalias;
		uint64_t driver_id;
	} u;
	uint16_t vendor;
	uint16_t device;
	uint8_t kind;
};

/* What libibverbs learnt from sysfs about one RDMA device. */
struct verbs_sysfs_dev {
	struct pabi_list_node entry;
	void *provider_data;
	const struct verbs_match_ent *match;
	unsigned int flags;
	char sysfs_name[IBV_SYSFS_NAME_MAX];	/* e.g. "uverbs0" */
	dev_t sysfs_cdev;
	char ibdev_name[IBV_SYSFS_NAME_MAX];	/* e.g. "rodp0" */
	char ibdev_path[IBV_SYSFS_PATH_MAX];	/* /sys/class/infiniband/... */
	char modalias[512];
	uint64_t node_guid;
	uint32_t driver_id;			/* enum rdma_driver_id */
	enum ibv_node_type node_type;
	int ibdev_idx;
	uint32_t num_ports;
	uint32_t abi_ver;			/* device's uverbs ABI */
	struct timespec time_created;
};

struct verbs_device;
struct verbs_context_ops;	/* in pabi34.h, pabi65.h: the ABIs differ */

/*
 * The provider's entry point.  A device is offered to the provider when
 * match_table (if any) and then match_device (if any) accept it and its
 * uverbs ABI lies in [match_min_abi_version, match_max_abi_version].
 */
struct verbs_device_ops {
	const char *name;

	uint32_t match_min_abi_version;
	uint32_t match_max_abi_version;
	const struct verbs_match_ent *match_table;
	const struct verbs_device_ops **static_providers;

	bool (*match_device)(struct verbs_sysfs_dev *sysfs_dev);

	struct verbs_context *(*alloc_context)(struct ibv_device *device,
					       int cmd_fd,
					       void *private_data);
	struct verbs_context *(*import_context)(struct ibv_device *device,
						int cmd_fd);

	struct verbs_device *(*alloc_device)(struct verbs_sysfs_dev *sysfs_dev);
	void (*uninit_device)(struct verbs_device *device);
};

/* Allocated by ops->alloc_device, usually embedded in a bigger struct. */
struct verbs_device {
	struct ibv_device device;	/* first: libibverbs casts to it */
	const struct verbs_device_ops *ops;
	atomic_int refcount;
	struct pabi_list_node entry;
	struct verbs_sysfs_dev *sysfs;
	uint64_t core_support;
};

/* ------------------------------------------------------------------ */
/* Objects libibverbs expects to find around the public ones           */
/* ------------------------------------------------------------------ */

enum ibv_mr_type {
	IBV_MR_TYPE_MR,
	IBV_MR_TYPE_NULL_MR,
	IBV_MR_TYPE_IMPORTED_MR,
	IBV_MR_TYPE_DMABUF_MR,
};

struct verbs_mr {
	struct ibv_mr ibv_mr;
	enum ibv_mr_type mr_type;
	int access;
};

struct verbs_cq {
	union {
		struct ibv_cq cq;
		struct ibv_cq_ex cq_ex;
	};
};

struct verbs_xrcd {
	struct ibv_xrcd xrcd;
	uint32_t comp_mask;
	uint32_t handle;
};

struct verbs_srq {
	struct ibv_srq srq;
	enum ibv_srq_type srq_type;
	struct verbs_xrcd *xrcd;
	struct ibv_cq *cq;
	uint32_t srq_num;
};

enum {
	VERBS_QP_XRCD	= 1 << 0,
	VERBS_QP_EX	= 1 << 1,
};

struct verbs_qp {
	union {
		struct ibv_qp qp;
		struct ibv_qp_ex qp_ex;
	};
	uint32_t comp_mask;
	struct verbs_xrcd *xrcd;
};

/* create_cq_ex: the command does not care about the timestamp flag. */
enum {
	CREATE_CQ_CMD_FLAGS_TS_IGNORED_EX = 1 << 0,
};

/* ------------------------------------------------------------------ */
/* Per-context operations                                              */
/* ------------------------------------------------------------------ */


/* ------------------------------------------------------------------ */
/* Command structures for the ibv_cmd_* helpers                        */
/* ------------------------------------------------------------------ */

/*
 * A legacy ("write") command is the 8-byte uverbs header followed by the
 * core request from <rdma/ib_user_verbs.h>; an extended one has the
 * 24-byte extended header instead.  A provider appends its own request
 * after it, and its own response after the core response; the helpers find
 * those by the sizes they are given, and fill in the core parts themselves.
 *
 * The core structs end in a flexible array (where driver data goes), which
 * C does not allow in the middle of a struct.  So the core parts are kept
 * here as byte arrays with the size and alignment of the core struct: the
 * same layout, and a driver part placed right after it.
 */
struct pabi_ex_hdr {
	struct ib_uverbs_cmd_hdr hdr;
	struct ib_uverbs_ex_cmd_hdr ex_hdr;
};

/* _kabi-sized, _kabi-aligned bytes. */
#define PABI_BYTES_OF(_member, _kabi)					\
	_Alignas(struct _kabi) unsigned char _member[sizeof(struct _kabi)]

#define PABI_CMD(_name, _kabi)					\
	struct _name {							\
		struct ib_uverbs_cmd_hdr hdr;				\
		PABI_BYTES_OF(core_payload, _kabi);			\
	};								\
	_Static_assert(sizeof(struct _name) ==				\
		       sizeof(struct ib_uverbs_cmd_hdr) +		\
		       sizeof(struct _kabi), #_name " has padding");	\
	_Static_assert(sizeof(struct _name) % 4 == 0,			\
		       #_name " is not 4-byte sized")

#define PABI_CMD_EX(_name, _kabi)					\
	struct _name {							\
		struct pabi_ex_hdr hdr;				\
		PABI_BYTES_OF(core_payload, _kabi);			\
	};								\
	_Static_assert(sizeof(struct _name) ==				\
		       sizeof(struct pabi_ex_hdr) +			\
		       sizeof(struct _kabi), #_name " has padding");	\
	_Static_assert(sizeof(struct _name) % 8 == 0,			\
		       #_name " is not 8-byte sized")

PABI_CMD(ibv_get_context, ib_uverbs_get_context);
PABI_CMD(ibv_query_device, ib_uverbs_query_device);
PABI_CMD(ibv_query_port, ib_uverbs_query_port);
PABI_CMD(ibv_alloc_pd, ib_uverbs_alloc_pd);
PABI_CMD(ibv_dealloc_pd, ib_uverbs_dealloc_pd);
PABI_CMD(ibv_open_xrcd, ib_uverbs_open_xrcd);
PABI_CMD(ibv_reg_mr, ib_uverbs_reg_mr);
PABI_CMD(ibv_rereg_mr, ib_uverbs_rereg_mr);
PABI_CMD(ibv_dereg_mr, ib_uverbs_dereg_mr);
PABI_CMD(ibv_alloc_mw, ib_uverbs_alloc_mw);
PABI_CMD(ibv_create_cq, ib_uverbs_create_cq);
PABI_CMD(ibv_resize_cq, ib_uverbs_resize_cq);
PABI_CMD(ibv_destroy_cq, ib_uverbs_destroy_cq);
PABI_CMD(ibv_create_qp, ib_uverbs_create_qp);
PABI_CMD(ibv_open_qp, ib_uverbs_open_qp);
PABI_CMD(ibv_query_qp, ib_uverbs_query_qp);
PABI_CMD(ibv_modify_qp, ib_uverbs_modify_qp);
PABI_CMD(ibv_create_srq, ib_uverbs_create_srq);
PABI_CMD(ibv_create_xsrq, ib_uverbs_create_xsrq);
PABI_CMD(ibv_modify_srq, ib_uverbs_modify_srq);
PABI_CMD(ibv_query_srq, ib_uverbs_query_srq);
PABI_CMD_EX(ibv_query_device_ex, ib_uverbs_ex_query_device);
PABI_CMD_EX(ibv_create_cq_ex, ib_uverbs_ex_create_cq);
PABI_CMD_EX(ibv_modify_cq, ib_uverbs_ex_modify_cq);
PABI_CMD_EX(ibv_create_qp_ex, ib_uverbs_ex_create_qp);
PABI_CMD_EX(ibv_modify_qp_ex, ib_uverbs_ex_modify_qp);
PABI_CMD_EX(ibv_create_wq, ib_uverbs_ex_create_wq);
PABI_CMD_EX(ibv_modify_wq, ib_uverbs_ex_modify_wq);

/*
 * PABI_DRV_RESP - a provider response: the core response from
 * <rdma/ib_user_verbs.h> directly followed by the driver's, and
 * _name##_core() returning the core part as the helpers want it.
 * @_name: name of the provider's struct
 * @_core_resp: core response struct (e.g. ib_uverbs_create_cq_resp)
 * @_drv_resp: driver response struct (shared with the kernel)
 */
#define PABI_DRV_RESP(_name, _core_resp, _drv_resp)			\
	struct _name {							\
		PABI_BYTES_OF(ibv_resp, _core_resp);			\
		struct _drv_resp drv;					\
	};								\
	static inline struct _core_resp *_name##_core(struct _name *r)	\
	{								\
		return (struct _core_resp *)(void *)r->ibv_resp;	\
	}								\
	_Static_assert(offsetof(struct _name, drv) ==			\
		       sizeof(struct _core_resp) &&			\
		       sizeof(struct _name) ==				\
		       sizeof(struct _core_resp) + sizeof(struct _drv_resp), \
		       #_name ": driver response is not contiguous")

/*
 * PABI_DRV_CMD - a provider command (core command directly followed by
 * the driver request) and its response, named @_name and @_name##_resp.
 * @_core: command struct declared above (e.g. ibv_create_cq)
 * @_core_resp, @_drv_resp: as for PABI_DRV_RESP
 * @_drv: driver request struct (shared with the kernel)
 */
#define PABI_DRV_CMD(_name, _core, _core_resp, _drv, _drv_resp)	\
	struct _name {							\
		struct _core ibv_cmd;					\
		struct _drv drv;					\
	};								\
	_Static_assert(offsetof(struct _name, drv) ==			\
		       sizeof(struct _core) &&				\
		       sizeof(struct _name) ==				\
		       sizeof(struct _core) + sizeof(struct _drv),	\
		       #_name ": driver request is not contiguous");	\
	PABI_DRV_RESP(_name##_resp, _core_resp, _drv_resp)

/* ------------------------------------------------------------------ */
/* Functions exported by libibverbs.so.1 under IBVERBS_PRIVATE_<ABI>   */
/* ------------------------------------------------------------------ */

/* Log levels of __verbs_log(); VERBS_LOG_ERR is shown by default. */
enum {
	VERBS_LOG_LEVEL_NONE,
	VERBS_LOG_ERR,
	VERBS_LOG_WARN,
	VERBS_LOG_INFO,
	VERBS_LOG_DEBUG,
};

void __verbs_log(struct verbs_context *ctx, uint32_t level,
		 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));


void *_verbs_init_and_alloc_context(struct ibv_device *device, int cmd_fd,
				    size_t alloc_size,
				    struct verbs_context *context_offset,
				    uint32_t driver_id);

/*
 * verbs_init_and_alloc_context - allocate a zeroed provider context of
 * sizeof(*@_ptr) bytes whose struct verbs_context member is @_member, and
 * initialise that member (takes ownership of @_fd).
 */
#define verbs_init_and_alloc_context(_dev, _fd, _ptr, _member, _drv_id)	\
	((__typeof__(_ptr))_verbs_init_and_alloc_context(		\
		(_dev), (_fd), sizeof(*(_ptr)),				\
		&((__typeof__(_ptr))NULL)->_member, (_drv_id)))

int verbs_init_context(struct verbs_context *context_ex,
		       struct ibv_device *device, int cmd_fd,
		       uint32_t driver_id);
void verbs_uninit_context(struct verbs_context *context);
void verbs_set_ops(struct verbs_context *vctx,
		   const struct verbs_context_ops *ops);
void verbs_init_cq(struct ibv_cq *cq, struct ibv_context *context,
		   struct ibv_comp_channel *channel, void *cq_context);

int ibv_read_ibdev_sysfs_file(char *buf, size_t size,
			      struct verbs_sysfs_dev *sysfs_dev,
			      const char *fnfmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * The ibv_cmd_* helpers return 0 or a positive errno value (some also set
 * errno).  cmd/resp point at the provider's command and response structs,
 * cmd_size/resp_size give their full sizes including the driver parts.
 */
int ibv_cmd_query_device_any(struct ibv_context *context,
			     const struct ibv_query_device_ex_input *input,
			     struct ibv_device_attr_ex *attr, size_t attr_size,
			     struct ib_uverbs_ex_query_device_resp *resp,
			     size_t *resp_size);
int ibv_cmd_query_port(struct ibv_context *context, uint8_t port_num,
		       struct ibv_port_attr *port_attr,
		       struct ibv_query_port *cmd, size_t cmd_size);
int ibv_cmd_alloc_pd(struct ibv_context *context, struct ibv_pd *pd,
		     struct ibv_alloc_pd *cmd, size_t cmd_size,
		     struct ib_uverbs_alloc_pd_resp *resp, size_t resp_size);
int ibv_cmd_dealloc_pd(struct ibv_pd *pd);
int ibv_cmd_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
		   uint64_t hca_va, int access, struct verbs_mr *vmr,
		   struct ibv_reg_mr *cmd, size_t cmd_size,
		   struct ib_uverbs_reg_mr_resp *resp, size_t resp_size);
int ibv_cmd_rereg_mr(struct verbs_mr *vmr, uint32_t flags, void *addr,
		     size_t length, uint64_t hca_va, int access,
		     struct ibv_pd *pd, struct ibv_rereg_mr *cmd,
		     size_t cmd_size, struct ib_uverbs_rereg_mr_resp *resp,
		     size_t resp_size);
int ibv_cmd_dereg_mr(struct verbs_mr *vmr);
int ibv_cmd_advise_mr(struct ibv_pd *pd, enum ibv_advise_mr_advice advice,
		      uint32_t flags, struct ibv_sge *sg_list,
		      uint32_t num_sge);
int ibv_cmd_alloc_mw(struct ibv_pd *pd, enum ibv_mw_type type,
		     struct ibv_mw *mw, struct ibv_alloc_mw *cmd,
		     size_t cmd_size, struct ib_uverbs_alloc_mw_resp *resp,
		     size_t resp_size);
int ibv_cmd_dealloc_mw(struct ibv_mw *mw);
int ibv_cmd_create_cq(struct ibv_context *context, int cqe,
		      struct ibv_comp_channel *channel, int comp_vector,
		      struct ibv_cq *cq, struct ibv_create_cq *cmd,
		      size_t cmd_size, struct ib_uverbs_create_cq_resp *resp,
		      size_t resp_size);
int ibv_cmd_req_notify_cq(struct ibv_cq *cq, int solicited_only);
int ibv_cmd_resize_cq(struct ibv_cq *cq, int cqe,
		      struct ibv_resize_cq *cmd, size_t cmd_size,
		      struct ib_uverbs_resize_cq_resp *resp, size_t resp_size);
int ibv_cmd_destroy_cq(struct ibv_cq *cq);
int ibv_cmd_open_xrcd(struct ibv_context *context, struct verbs_xrcd *xrcd,
		      int vxrcd_size, struct ibv_xrcd_init_attr *attr,
		      struct ibv_open_xrcd *cmd, size_t cmd_size,
		      struct ib_uverbs_open_xrcd_resp *resp, size_t resp_size);
int ibv_cmd_close_xrcd(struct verbs_xrcd *xrcd);
int ibv_cmd_create_srq_ex(struct ibv_context *context, struct verbs_srq *srq,
			  struct ibv_srq_init_attr_ex *attr_ex,
			  struct ibv_create_xsrq *cmd, size_t cmd_size,
			  struct ib_uverbs_create_srq_resp *resp,
			  size_t resp_size);
int ibv_cmd_open_qp(struct ibv_context *context, struct verbs_qp *qp,
		    int vqp_sz, struct ibv_qp_open_attr *attr,
		    struct ibv_open_qp *cmd, size_t cmd_size,
		    struct ib_uverbs_create_qp_resp *resp, size_t resp_size);
int ibv_cmd_create_srq(struct ibv_pd *pd, struct ibv_srq *srq,
		       struct ibv_srq_init_attr *attr,
		       struct ibv_create_srq *cmd, size_t cmd_size,
		       struct ib_uverbs_create_srq_resp *resp,
		       size_t resp_size);
int ibv_cmd_modify_srq(struct ibv_srq *srq, struct ibv_srq_attr *srq_attr,
		       int srq_attr_mask, struct ibv_modify_srq *cmd,
		       size_t cmd_size);
int ibv_cmd_query_srq(struct ibv_srq *srq, struct ibv_srq_attr *srq_attr,
		      struct ibv_query_srq *cmd, size_t cmd_size);
int ibv_cmd_destroy_srq(struct ibv_srq *srq);
int ibv_cmd_create_qp(struct ibv_pd *pd, struct ibv_qp *qp,
		      struct ibv_qp_init_attr *attr,
		      struct ibv_create_qp *cmd, size_t cmd_size,
		      struct ib_uverbs_create_qp_resp *resp, size_t resp_size);
int ibv_cmd_create_qp_ex(struct ibv_context *context, struct verbs_qp *qp,
			 struct ibv_qp_init_attr_ex *attr_ex,
			 struct ibv_create_qp *cmd, size_t cmd_size,
			 struct ib_uverbs_create_qp_resp *resp,
			 size_t resp_size);
int ibv_cmd_query_qp(struct ibv_qp *qp, struct ibv_qp_attr *qp_attr,
		     int attr_mask, struct ibv_qp_init_attr *qp_init_attr,
		     struct ibv_query_qp *cmd, size_t cmd_size);
int ibv_cmd_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr,
		      int attr_mask, struct ibv_modify_qp *cmd,
		      size_t cmd_size);
int ibv_cmd_modify_qp_ex(struct ibv_qp *qp, struct ibv_qp_attr *attr,
			 int attr_mask, struct ibv_modify_qp_ex *cmd,
			 size_t cmd_size,
			 struct ib_uverbs_ex_modify_qp_resp *resp,
			 size_t resp_size);
int ibv_cmd_destroy_qp(struct ibv_qp *qp);
int ibv_cmd_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		      struct ibv_send_wr **bad_wr);
int ibv_cmd_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
		      struct ibv_recv_wr **bad_wr);
int ibv_cmd_create_ah(struct ibv_pd *pd, struct ibv_ah *ah,
		      struct ibv_ah_attr *attr,
		      struct ib_uverbs_create_ah_resp *resp,
		      size_t resp_size);
int ibv_cmd_destroy_ah(struct ibv_ah *ah);
int ibv_cmd_attach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
			 uint16_t lid);
int ibv_cmd_detach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
			 uint16_t lid);

/* ------------------------------------------------------------------ */
/* Layout checks against the installed public headers                  */
/* ------------------------------------------------------------------ */

/* The device and context are reached by casting from the public types. */
_Static_assert(offsetof(struct verbs_device, device) == 0,
	       "struct ibv_device must start struct verbs_device");
_Static_assert(offsetof(struct verbs_mr, ibv_mr) == 0,
	       "struct ibv_mr must start struct verbs_mr");
_Static_assert(offsetof(struct verbs_context, context) +
	       sizeof(struct ibv_context) == sizeof(struct verbs_context),
	       "struct ibv_context must end struct verbs_context");

/* A struct ibv_cq_ex is usable as a struct ibv_cq. */
#define PABI_CQ_SAME(_m)						\
	_Static_assert(offsetof(struct ibv_cq, _m) ==			\
		       offsetof(struct ibv_cq_ex, _m),			\
		       "ibv_cq/ibv_cq_ex disagree on " #_m)
PABI_CQ_SAME(context);
PABI_CQ_SAME(channel);
PABI_CQ_SAME(cq_context);
PABI_CQ_SAME(handle);
PABI_CQ_SAME(cqe);
PABI_CQ_SAME(mutex);
PABI_CQ_SAME(cond);
PABI_CQ_SAME(comp_events_completed);
PABI_CQ_SAME(async_events_completed);
#undef PABI_CQ_SAME
_Static_assert(offsetof(struct ibv_qp_ex, qp_base) == 0,
	       "struct ibv_qp must start struct ibv_qp_ex");


/* Command sizes the uverbs ABI fixes (8-byte header + request). */
_Static_assert(sizeof(struct ib_uverbs_cmd_hdr) == 8, "uverbs header");
_Static_assert(sizeof(struct pabi_ex_hdr) == 24, "uverbs ex header");
_Static_assert(sizeof(struct ibv_get_context) == 16, "get_context");
_Static_assert(sizeof(struct ibv_query_port) == 24, "query_port");
_Static_assert(sizeof(struct ibv_alloc_pd) == 16, "alloc_pd");
_Static_assert(sizeof(struct ibv_reg_mr) == 48, "reg_mr");
_Static_assert(sizeof(struct ibv_create_cq) == 40, "create_cq");
_Static_assert(sizeof(struct ibv_resize_cq) == 24, "resize_cq");
_Static_assert(sizeof(struct ibv_create_cq_ex) == 56, "create_cq_ex");
_Static_assert(sizeof(struct ibv_create_qp) == 64, "create_qp");
_Static_assert(sizeof(struct ibv_query_qp) == 24, "query_qp");
_Static_assert(sizeof(struct ibv_modify_qp) == 120, "modify_qp");
_Static_assert(sizeof(struct ib_uverbs_create_qp_resp) == 32,
	       "create_qp response");
_Static_assert(sizeof(struct ib_uverbs_get_context_resp) == 8,
	       "get_context response");
_Static_assert(sizeof(struct ib_uverbs_create_cq_resp) == 8,
	       "create_cq response");
_Static_assert(sizeof(struct ib_uverbs_ex_create_cq_resp) == 16,
	       "create_cq_ex response");
_Static_assert(sizeof(struct ib_uverbs_resize_cq_resp) == 8,
	       "resize_cq response");

/* ------------------------------------------------------------------ */
/* What the ABI this provider is built for adds or changes             */
/* ------------------------------------------------------------------ */

#if RODPU_PABI == 34
#include "pabi34.h"
#elif RODPU_PABI == 65
#include "pabi65.h"
#else
#error "RODPU_PABI names no libibverbs private ABI that rodp declares"
#endif

#endif /* RODPU_PABI_H */
