// SPDX-License-Identifier: GPL-2.0

/*
 * Static inline functions of iommufd's private header, for the HW queue
 * object in Rust (drivers/iommu/iommufd/hw_queue.rs), which is linked into
 * iommufd itself. CONFIG_IOMMUFD_HW_QUEUE_RUST depends on IOMMUFD=y.
 */

#if IS_ENABLED(CONFIG_IOMMUFD_HW_QUEUE_RUST)
#include "../../drivers/iommu/iommufd/iommufd_private.h"

__rust_helper void rust_helper_iommufd_put_object(struct iommufd_ctx *ictx,
						  struct iommufd_object *obj)
{
	iommufd_put_object(ictx, obj);
}

__rust_helper int rust_helper_iommufd_ucmd_respond(struct iommufd_ucmd *ucmd,
						   size_t cmd_len)
{
	return iommufd_ucmd_respond(ucmd, cmd_len);
}

__rust_helper void
rust_helper_iommufd_access_detach_internal(struct iommufd_access *access)
{
	iommufd_access_detach_internal(access);
}

__rust_helper void
rust_helper_iommufd_access_destroy_internal(struct iommufd_ctx *ictx,
					    struct iommufd_access *access)
{
	iommufd_access_destroy_internal(ictx, access);
}
#endif
