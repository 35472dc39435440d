/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The libibverbs provider interface, private ABI 34.
 *
 * libibverbs (rdma-core 44) talks to its providers through an interface
 * that is not part of the public API: the structures in this file, a set of
 * helpers exported under the IBVERBS_PRIVATE_34 symbol version and the
 * command structures the ibv_cmd_* helpers take.  Distributions do not
 * install rdma-core's own declaration of it (infiniband/driver.h,
 * kern-abi.h), so rodp carries this independent one.
 *
 * Everything here is ABI: member order and types must match what
 * libibverbs.so.1 was built with.  The public headers <infiniband/verbs.h>
 * and <rdma/ib_user_verbs.h> supply the types the interface is made of;
 * layouts that can be checked against them are checked at the end of the
 * file.  The build refuses a libibverbs that does not export
 * verbs_register_driver_34 (see provider/CMakeLists.txt), which is how
 * libibverbs tells the ABI number.
 *
 * Only what rodp uses, or will use for QPs, SRQs, AHs and MWs, is declared.
 */
#ifndef RODPU_PABI34_H
#define RODPU_PABI34_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <infiniband/verbs.h>
#include <rdma/ib_user_verbs.h>

#define PABI34_VERSION		34
#define PABI34_PROVIDER_SUFFIX	"-rdmav34.so"

/* ccan-style intrusive list node, used by libibverbs' device lists. */
struct pabi34_list_node {
	struct pabi34_list_node *next;
	struct pabi34_list_node *prev;
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
	struct pabi34_list_node entry;
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
	struct pabi34_list_node entry;
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

/*
 * Every operation a provider may implement, sorted by name; the order is
 * ABI.  verbs_set_ops() copies the non-NULL ones; those left NULL keep
 * libibverbs' defaults, which fail with EOPNOTSUPP.
 */
struct verbs_context_ops {
	int (*advise_mr)(struct ibv_pd *pd, enum ibv_advise_mr_advice advice,
			 uint32_t flags, struct ibv_sge *sg_list,
			 uint32_t num_sges);
	struct ibv_dm *(*alloc_dm)(struct ibv_context *context,
				   struct ibv_alloc_dm_attr *attr);
	struct ibv_mw *(*alloc_mw)(struct ibv_pd *pd, enum ibv_mw_type type);
	struct ibv_mr *(*alloc_null_mr)(struct ibv_pd *pd);
	struct ibv_pd *(*alloc_parent_domain)(struct ibv_context *context,
				struct ibv_parent_domain_init_attr *attr);
	struct ibv_pd *(*alloc_pd)(struct ibv_context *context);
	struct ibv_td *(*alloc_td)(struct ibv_context *context,
				   struct ibv_td_init_attr *init_attr);
	void (*async_event)(struct ibv_context *context,
			    struct ibv_async_event *event);
	int (*attach_counters_point_flow)(struct ibv_counters *counters,
					  struct ibv_counter_attach_attr *attr,
					  struct ibv_flow *flow);
	int (*attach_mcast)(struct ibv_qp *qp, const union ibv_gid *gid,
			    uint16_t lid);
	int (*bind_mw)(struct ibv_qp *qp, struct ibv_mw *mw,
		       struct ibv_mw_bind *mw_bind);
	int (*close_xrcd)(struct ibv_xrcd *xrcd);
	void (*cq_event)(struct ibv_cq *cq);
	struct ibv_ah *(*create_ah)(struct ibv_pd *pd,
				    struct ibv_ah_attr *attr);
	struct ibv_counters *(*create_counters)(struct ibv_context *context,
				struct ibv_counters_init_attr *init_attr);
	struct ibv_cq *(*create_cq)(struct ibv_context *context, int cqe,
				    struct ibv_comp_channel *channel,
				    int comp_vector);
	struct ibv_cq_ex *(*create_cq_ex)(struct ibv_context *context,
					  struct ibv_cq_init_attr_ex *attr);
	struct ibv_flow *(*create_flow)(struct ibv_qp *qp,
					struct ibv_flow_attr *flow_attr);
	struct ibv_flow_action *(*create_flow_action_esp)(
				struct ibv_context *context,
				struct ibv_flow_action_esp_attr *attr);
	struct ibv_qp *(*create_qp)(struct ibv_pd *pd,
				    struct ibv_qp_init_attr *attr);
	struct ibv_qp *(*create_qp_ex)(struct ibv_context *context,
				       struct ibv_qp_init_attr_ex *attr);
	struct ibv_rwq_ind_table *(*create_rwq_ind_table)(
				struct ibv_context *context,
				struct ibv_rwq_ind_table_init_attr *init_attr);
	struct ibv_srq *(*create_srq)(struct ibv_pd *pd,
				      struct ibv_srq_init_attr *attr);
	struct ibv_srq *(*create_srq_ex)(struct ibv_context *context,
					 struct ibv_srq_init_attr_ex *attr);
	struct ibv_wq *(*create_wq)(struct ibv_context *context,
				    struct ibv_wq_init_attr *attr);
	int (*dealloc_mw)(struct ibv_mw *mw);
	int (*dealloc_pd)(struct ibv_pd *pd);
	int (*dealloc_td)(struct ibv_td *td);
	int (*dereg_mr)(struct verbs_mr *vmr);
	int (*destroy_ah)(struct ibv_ah *ah);
	int (*destroy_counters)(struct ibv_counters *counters);
	int (*destroy_cq)(struct ibv_cq *cq);
	int (*destroy_flow)(struct ibv_flow *flow);
	int (*destroy_flow_action)(struct ibv_flow_action *action);
	int (*destroy_qp)(struct ibv_qp *qp);
	int (*destroy_rwq_ind_table)(struct ibv_rwq_ind_table *table);
	int (*destroy_srq)(struct ibv_srq *srq);
	int (*destroy_wq)(struct ibv_wq *wq);
	int (*detach_mcast)(struct ibv_qp *qp, const union ibv_gid *gid,
			    uint16_t lid);
	void (*free_context)(struct ibv_context *context);
	int (*free_dm)(struct ibv_dm *dm);
	int (*get_srq_num)(struct ibv_srq *srq, uint32_t *srq_num);
	struct ibv_dm *(*import_dm)(struct ibv_context *context,
				    uint32_t dm_handle);
	struct ibv_mr *(*import_mr)(struct ibv_pd *pd, uint32_t mr_handle);
	struct ibv_pd *(*import_pd)(struct ibv_context *context,
				    uint32_t pd_handle);
	int (*modify_cq)(struct ibv_cq *cq, struct ibv_modify_cq_attr *attr);
	int (*modify_flow_action_esp)(struct ibv_flow_action *action,
				      struct ibv_flow_action_esp_attr *attr);
	int (*modify_qp)(struct ibv_qp *qp, struct ibv_qp_attr *attr,
			 int attr_mask);
	int (*modify_qp_rate_limit)(struct ibv_qp *qp,
				    struct ibv_qp_rate_limit_attr *attr);
	int (*modify_srq)(struct ibv_srq *srq, struct ibv_srq_attr *attr,
			  int attr_mask);
	int (*modify_wq)(struct ibv_wq *wq, struct ibv_wq_attr *attr);
	struct ibv_qp *(*open_qp)(struct ibv_context *context,
				  struct ibv_qp_open_attr *attr);
	struct ibv_xrcd *(*open_xrcd)(struct ibv_context *context,
				      struct ibv_xrcd_init_attr *attr);
	int (*poll_cq)(struct ibv_cq *cq, int num_entries, struct ibv_wc *wc);
	int (*post_recv)(struct ibv_qp *qp, struct ibv_recv_wr *wr,
			 struct ibv_recv_wr **bad_wr);
	int (*post_send)(struct ibv_qp *qp, struct ibv_send_wr *wr,
			 struct ibv_send_wr **bad_wr);
	int (*post_srq_ops)(struct ibv_srq *srq, struct ibv_ops_wr *op,
			    struct ibv_ops_wr **bad_op);
	int (*post_srq_recv)(struct ibv_srq *srq, struct ibv_recv_wr *wr,
			     struct ibv_recv_wr **bad_wr);
	int (*query_device_ex)(struct ibv_context *context,
			       const struct ibv_query_device_ex_input *input,
			       struct ibv_device_attr_ex *attr,
			       size_t attr_size);
	int (*query_ece)(struct ibv_qp *qp, struct ibv_ece *ece);
	int (*query_port)(struct ibv_context *context, uint8_t port_num,
			  struct ibv_port_attr *port_attr);
	int (*query_qp)(struct ibv_qp *qp, struct ibv_qp_attr *attr,
			int attr_mask, struct ibv_qp_init_attr *init_attr);
	int (*query_qp_data_in_order)(struct ibv_qp *qp,
				      enum ibv_wr_opcode op, uint32_t flags);
	int (*query_rt_values)(struct ibv_context *context,
			       struct ibv_values_ex *values);
	int (*query_srq)(struct ibv_srq *srq, struct ibv_srq_attr *attr);
	int (*read_counters)(struct ibv_counters *counters,
			     uint64_t *counters_value, uint32_t ncounters,
			     uint32_t flags);
	struct ibv_mr *(*reg_dm_mr)(struct ibv_pd *pd, struct ibv_dm *dm,
				    uint64_t dm_offset, size_t length,
				    unsigned int access);
	struct ibv_mr *(*reg_dmabuf_mr)(struct ibv_pd *pd, uint64_t offset,
					size_t length, uint64_t iova, int fd,
					int access);
	struct ibv_mr *(*reg_mr)(struct ibv_pd *pd, void *addr, size_t length,
				 uint64_t hca_va, int access);
	int (*req_notify_cq)(struct ibv_cq *cq, int solicited_only);
	int (*rereg_mr)(struct verbs_mr *vmr, int flags, struct ibv_pd *pd,
			void *addr, size_t length, int access);
	int (*resize_cq)(struct ibv_cq *cq, int cqe);
	int (*set_ece)(struct ibv_qp *qp, struct ibv_ece *ece);
	void (*unimport_dm)(struct ibv_dm *dm);
	void (*unimport_mr)(struct ibv_mr *mr);
	void (*unimport_pd)(struct ibv_pd *pd);
};

/* 76 operations; verbs_set_ops() in libibverbs 44 reads exactly these. */
#define PABI34_NUM_CONTEXT_OPS	76

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
struct pabi34_ex_hdr {
	struct ib_uverbs_cmd_hdr hdr;
	struct ib_uverbs_ex_cmd_hdr ex_hdr;
};

/* _kabi-sized, _kabi-aligned bytes. */
#define PABI34_BYTES_OF(_member, _kabi)					\
	_Alignas(struct _kabi) unsigned char _member[sizeof(struct _kabi)]

#define PABI34_CMD(_name, _kabi)					\
	struct _name {							\
		struct ib_uverbs_cmd_hdr hdr;				\
		PABI34_BYTES_OF(core_payload, _kabi);			\
	};								\
	_Static_assert(sizeof(struct _name) ==				\
		       sizeof(struct ib_uverbs_cmd_hdr) +		\
		       sizeof(struct _kabi), #_name " has padding");	\
	_Static_assert(sizeof(struct _name) % 4 == 0,			\
		       #_name " is not 4-byte sized")

#define PABI34_CMD_EX(_name, _kabi)					\
	struct _name {							\
		struct pabi34_ex_hdr hdr;				\
		PABI34_BYTES_OF(core_payload, _kabi);			\
	};								\
	_Static_assert(sizeof(struct _name) ==				\
		       sizeof(struct pabi34_ex_hdr) +			\
		       sizeof(struct _kabi), #_name " has padding");	\
	_Static_assert(sizeof(struct _name) % 8 == 0,			\
		       #_name " is not 8-byte sized")

PABI34_CMD(ibv_get_context, ib_uverbs_get_context);
PABI34_CMD(ibv_query_device, ib_uverbs_query_device);
PABI34_CMD(ibv_query_port, ib_uverbs_query_port);
PABI34_CMD(ibv_alloc_pd, ib_uverbs_alloc_pd);
PABI34_CMD(ibv_dealloc_pd, ib_uverbs_dealloc_pd);
PABI34_CMD(ibv_open_xrcd, ib_uverbs_open_xrcd);
PABI34_CMD(ibv_reg_mr, ib_uverbs_reg_mr);
PABI34_CMD(ibv_rereg_mr, ib_uverbs_rereg_mr);
PABI34_CMD(ibv_dereg_mr, ib_uverbs_dereg_mr);
PABI34_CMD(ibv_alloc_mw, ib_uverbs_alloc_mw);
PABI34_CMD(ibv_create_cq, ib_uverbs_create_cq);
PABI34_CMD(ibv_resize_cq, ib_uverbs_resize_cq);
PABI34_CMD(ibv_destroy_cq, ib_uverbs_destroy_cq);
PABI34_CMD(ibv_create_qp, ib_uverbs_create_qp);
PABI34_CMD(ibv_open_qp, ib_uverbs_open_qp);
PABI34_CMD(ibv_query_qp, ib_uverbs_query_qp);
PABI34_CMD(ibv_modify_qp, ib_uverbs_modify_qp);
PABI34_CMD(ibv_create_srq, ib_uverbs_create_srq);
PABI34_CMD(ibv_create_xsrq, ib_uverbs_create_xsrq);
PABI34_CMD(ibv_modify_srq, ib_uverbs_modify_srq);
PABI34_CMD(ibv_query_srq, ib_uverbs_query_srq);
PABI34_CMD_EX(ibv_query_device_ex, ib_uverbs_ex_query_device);
PABI34_CMD_EX(ibv_create_cq_ex, ib_uverbs_ex_create_cq);
PABI34_CMD_EX(ibv_modify_cq, ib_uverbs_ex_modify_cq);
PABI34_CMD_EX(ibv_create_qp_ex, ib_uverbs_ex_create_qp);
PABI34_CMD_EX(ibv_modify_qp_ex, ib_uverbs_ex_modify_qp);
PABI34_CMD_EX(ibv_create_wq, ib_uverbs_ex_create_wq);
PABI34_CMD_EX(ibv_modify_wq, ib_uverbs_ex_modify_wq);

/*
 * PABI34_DRV_RESP - a provider response: the core response from
 * <rdma/ib_user_verbs.h> directly followed by the driver's, and
 * _name##_core() returning the core part as the helpers want it.
 * @_name: name of the provider's struct
 * @_core_resp: core response struct (e.g. ib_uverbs_create_cq_resp)
 * @_drv_resp: driver response struct (shared with the kernel)
 */
#define PABI34_DRV_RESP(_name, _core_resp, _drv_resp)			\
	struct _name {							\
		PABI34_BYTES_OF(ibv_resp, _core_resp);			\
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
 * PABI34_DRV_CMD - a provider command (core command directly followed by
 * the driver request) and its response, named @_name and @_name##_resp.
 * @_core: command struct declared above (e.g. ibv_create_cq)
 * @_core_resp, @_drv_resp: as for PABI34_DRV_RESP
 * @_drv: driver request struct (shared with the kernel)
 */
#define PABI34_DRV_CMD(_name, _core, _core_resp, _drv, _drv_resp)	\
	struct _name {							\
		struct _core ibv_cmd;					\
		struct _drv drv;					\
	};								\
	_Static_assert(offsetof(struct _name, drv) ==			\
		       sizeof(struct _core) &&				\
		       sizeof(struct _name) ==				\
		       sizeof(struct _core) + sizeof(struct _drv),	\
		       #_name ": driver request is not contiguous");	\
	PABI34_DRV_RESP(_name##_resp, _core_resp, _drv_resp)

/* ------------------------------------------------------------------ */
/* Functions exported by libibverbs.so.1 under IBVERBS_PRIVATE_34      */
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

/*
 * The ABI number is part of the registration symbol's name, so a provider
 * built for another ABI cannot bind to this libibverbs by accident.
 */
void verbs_register_driver_34(const struct verbs_device_ops *ops);

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
int ibv_cmd_get_context(struct verbs_context *context,
			struct ibv_get_context *cmd, size_t cmd_size,
			struct ib_uverbs_get_context_resp *resp,
			size_t resp_size);
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
int ibv_cmd_create_cq_ex(struct ibv_context *context,
			 const struct ibv_cq_init_attr_ex *cq_attr,
			 struct verbs_cq *cq, struct ibv_create_cq_ex *cmd,
			 size_t cmd_size,
			 struct ib_uverbs_ex_create_cq_resp *resp,
			 size_t resp_size, uint32_t cmd_flags);
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
int ibv_cmd_create_qp_ex2(struct ibv_context *context, struct verbs_qp *qp,
			  struct ibv_qp_init_attr_ex *qp_attr,
			  struct ibv_create_qp_ex *cmd, size_t cmd_size,
			  struct ib_uverbs_ex_create_qp_resp *resp,
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
#define PABI34_CQ_SAME(_m)						\
	_Static_assert(offsetof(struct ibv_cq, _m) ==			\
		       offsetof(struct ibv_cq_ex, _m),			\
		       "ibv_cq/ibv_cq_ex disagree on " #_m)
PABI34_CQ_SAME(context);
PABI34_CQ_SAME(channel);
PABI34_CQ_SAME(cq_context);
PABI34_CQ_SAME(handle);
PABI34_CQ_SAME(cqe);
PABI34_CQ_SAME(mutex);
PABI34_CQ_SAME(cond);
PABI34_CQ_SAME(comp_events_completed);
PABI34_CQ_SAME(async_events_completed);
#undef PABI34_CQ_SAME
_Static_assert(offsetof(struct ibv_qp_ex, qp_base) == 0,
	       "struct ibv_qp must start struct ibv_qp_ex");

/* One pointer-sized slot per operation, nothing else. */
_Static_assert(sizeof(struct verbs_context_ops) ==
	       PABI34_NUM_CONTEXT_OPS * sizeof(void (*)(void)),
	       "verbs_context_ops must hold exactly the PABI 34 operations");

/* Command sizes the uverbs ABI fixes (8-byte header + request). */
_Static_assert(sizeof(struct ib_uverbs_cmd_hdr) == 8, "uverbs header");
_Static_assert(sizeof(struct pabi34_ex_hdr) == 24, "uverbs ex header");
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

#endif /* RODPU_PABI34_H */
