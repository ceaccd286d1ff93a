/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A backend for the iommufd selftest's mock devices of one flavour.
 *
 * Mock devices created with MOCK_FLAGS_DEVICE_TEGRA241_CMDQV present the
 * hardware that a registered backend module emulates: their hardware
 * information, and the vIOMMUs (with their vDEVICEs, nested domains and HW
 * queues) allocated on them, come from the backend. Without a backend such
 * devices cannot be created (EOPNOTSUPP). Other mock devices are unaffected.
 */
#ifndef __IOMMUFD_MOCK_BACKEND_H
#define __IOMMUFD_MOCK_BACKEND_H

#include <linux/types.h>

struct device;
struct iommu_domain;
struct iommu_user_data;
struct iommufd_viommu;
struct iommufd_viommu_ops;
struct module;

/**
 * struct iommufd_mock_backend - Hooks serving a flavour of mock devices
 * @hw_info: As &iommu_ops.hw_info, for a device of the flavour. @type is an
 *           enum iommu_hw_info_type, passed as u32.
 * @get_viommu_size: As &iommu_ops.get_viommu_size. @viommu_type is an enum
 *                   iommu_viommu_type, passed as u32. Must return 0 for
 *                   IOMMU_VIOMMU_TYPE_SELFTEST, which the mock serves itself.
 * @viommu_init: As &iommu_ops.viommu_init. The mock then installs a copy of
 *               @viommu_ops whose destroy also releases the backend module.
 * @viommu_ops: The operations of the backend's vIOMMUs; destroy is required.
 * @probe: Optional, with @remove: binds a device that the backend created
 *         (iommufd_mock_backend_dev_add()), returning the driver data that
 *         @remove gets, or an ERR_PTR().
 * @remove: Unbinds such a device, before it goes.
 *
 * Each hook gets the @priv given at registration first, where a driver's
 * iommu_ops would find its instance from the device.
 *
 * The mock holds a reference on the backend's module for each of its
 * vIOMMUs, so the module cannot be unloaded while one exists, and for each
 * call into the hooks. Unregistering waits for the vIOMMUs and calls left,
 * which exist only if a backend unregisters before its module exits.
 */
struct iommufd_mock_backend {
	void *(*hw_info)(void *priv, struct device *dev, u32 *length,
			 u32 *type);
	size_t (*get_viommu_size)(void *priv, struct device *dev,
				  u32 viommu_type);
	int (*viommu_init)(void *priv, struct iommufd_viommu *viommu,
			   struct iommu_domain *parent_domain,
			   const struct iommu_user_data *user_data);
	const struct iommufd_viommu_ops *viommu_ops;
	void *(*probe)(void *priv, struct device *dev);
	void (*remove)(void *priv, struct device *dev, void *data);
};

/* EBUSY if another backend is registered */
int iommufd_mock_backend_register(const struct iommufd_mock_backend *backend,
				  struct module *owner, void *priv);
void iommufd_mock_backend_unregister(const struct iommufd_mock_backend *backend);

/*
 * Creates a device of the flavour bound to the backend's driver, whose @probe
 * it calls; the device lives until it is removed through the driver's sysfs
 * "remove" attribute or the backend unregisters. ENODEV while no backend
 * with @probe is registered, or the error that @probe returned.
 */
int iommufd_mock_backend_dev_add(void);

/* The physical stream ID of a device of the flavour; EINVAL for others */
int iommufd_mock_dev_sid(struct device *dev, u32 *sid);

/* Attach a device of the flavour to a backend's nested domain */
int iommufd_mock_attach_nested(struct iommu_domain *domain, struct device *dev,
			       struct iommu_domain *old);

/*
 * Invalidate cache entry @cache_id of a device of the flavour, or all of its
 * entries if @all, as IOMMU_TEST_OP_DEV_CHECK_CACHE sees them; EINVAL for
 * other devices and for a @cache_id past MOCK_DEV_CACHE_ID_MAX
 */
int iommufd_mock_dev_invalidate_cache(struct device *dev, u32 cache_id,
				      bool all);

/*
 * Read or set cache entry @cache_id of a device of the flavour, the device's
 * ATC as a backend presents it to its users; EINVAL for other devices and
 * for a @cache_id past MOCK_DEV_CACHE_ID_MAX
 */
int iommufd_mock_dev_cache_get(struct device *dev, u32 cache_id, u32 *value);
int iommufd_mock_dev_cache_set(struct device *dev, u32 cache_id, u32 value);

#endif
