// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp: what rdma-core's import verbs need from the driver.
 *
 * A process may hand its uverbs file to another one (SCM_RIGHTS), which
 * then builds its own view of the same objects: ibv_import_device(),
 * ibv_import_pd(), ibv_import_mr().  The objects stay what they were:
 * the second process gets handles, not copies.  In particular an MR
 * keeps the memory it was registered with, pinned pages or the mirror of
 * the registering process's address space (rodp_odp.c), and no device
 * access through it ever reaches the importer's memory.
 *
 * The core answers most of it (UVERBS_METHOD_QUERY_MR returns an MR's
 * keys, length and iova); the driver adds:
 *  - query_ucontext, without which UVERBS_METHOD_QUERY_CONTEXT fails with
 *    EOPNOTSUPP, and a driver attribute of that method that returns what
 *    GET_CONTEXT told the provider (struct rodp_alloc_context_resp);
 *  - RODP_METHOD_PD_QUERY, which checks that a handle names a PD of the
 *    command file, so that ibv_import_pd() refuses one that does not.
 */

#include <rdma/uverbs_ioctl.h>

#include "rodp.h"

#define UVERBS_MODULE_NAME rodp_ib
#include <rdma/uverbs_named_ioctl.h>

static int rodp_query_ucontext(struct ib_ucontext *ibuc,
			       struct uverbs_attr_bundle *attrs)
{
	struct rodp_alloc_context_resp resp;
	int ret;

	rodp_ucontext_resp(&resp);
	ret = uverbs_copy_to_struct_or_zero(attrs,
					    RODP_ATTR_QUERY_CONTEXT_RESP,
					    &resp, sizeof(resp));
	/* The attribute is optional: a generic query goes without it. */
	return IS_UVERBS_COPY_ERR(ret) ? ret : 0;
}

/* The core found the handle a PD of this file, or failed the call. */
static int UVERBS_HANDLER(RODP_METHOD_PD_QUERY)(struct uverbs_attr_bundle *attrs)
{
	struct ib_pd *pd = uverbs_attr_get_obj(attrs,
					       RODP_ATTR_QUERY_PD_HANDLE);

	return IS_ERR(pd) ? PTR_ERR(pd) : 0;
}

DECLARE_UVERBS_NAMED_METHOD(
	RODP_METHOD_PD_QUERY,
	UVERBS_ATTR_IDR(RODP_ATTR_QUERY_PD_HANDLE,
			UVERBS_OBJECT_PD,
			UVERBS_ACCESS_READ,
			UA_MANDATORY));

ADD_UVERBS_METHODS(rodp_pd_methods,
		   UVERBS_OBJECT_PD,
		   &UVERBS_METHOD(RODP_METHOD_PD_QUERY));

ADD_UVERBS_ATTRIBUTES_SIMPLE(
	rodp_query_context,
	UVERBS_OBJECT_DEVICE,
	UVERBS_METHOD_QUERY_CONTEXT,
	UVERBS_ATTR_PTR_OUT(RODP_ATTR_QUERY_CONTEXT_RESP,
			    UVERBS_ATTR_STRUCT(struct rodp_alloc_context_resp,
					       max_inline),
			    UA_OPTIONAL));

static const struct uapi_definition rodp_uapi_defs[] = {
	UAPI_DEF_CHAIN_OBJ_TREE(UVERBS_OBJECT_DEVICE, &rodp_query_context),
	UAPI_DEF_CHAIN_OBJ_TREE(UVERBS_OBJECT_PD, &rodp_pd_methods),
	{},
};

static const struct ib_device_ops rodp_import_ops = {
	.query_ucontext = rodp_query_ucontext,
};

/**
 * rodp_import_setup - give a device what the import verbs need
 * @ibdev: the device, before ib_register_device()
 */
void rodp_import_setup(struct ib_device *ibdev)
{
	ib_set_device_ops(ibdev, &rodp_import_ops);
	ibdev->driver_def = rodp_uapi_defs;
}
