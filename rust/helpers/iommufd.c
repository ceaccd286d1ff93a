// SPDX-License-Identifier: GPL-2.0

/*
 * Static inline functions that the driver side of the iommufd abstractions
 * (kernel::iommu::iommufd::driver) calls. They call into iommufd, so they
 * exist only when iommufd is built in, as that module does.
 */

#if IS_BUILTIN(CONFIG_IOMMUFD)
#include <linux/io.h>
#include <linux/iommu.h>

/* The kernel address of a HW queue's pinned guest memory */
__rust_helper void *rust_helper_phys_to_virt(phys_addr_t address)
{
	return phys_to_virt(address);
}

__rust_helper int
rust_helper___iommu_copy_struct_from_user(void *dst_data,
					  const struct iommu_user_data *src_data,
					  unsigned int data_type, size_t data_len,
					  size_t min_len)
{
	return __iommu_copy_struct_from_user(dst_data, src_data, data_type,
					     data_len, min_len);
}

__rust_helper int rust_helper___iommu_copy_struct_from_user_array(
	void *dst_data, const struct iommu_user_data_array *src_array,
	unsigned int data_type, unsigned int index, size_t data_len,
	size_t min_len)
{
	return __iommu_copy_struct_from_user_array(dst_data, src_array,
						   data_type, index, data_len,
						   min_len);
}

__rust_helper int rust_helper_iommu_copy_struct_from_full_user_array(
	void *kdst, size_t kdst_entry_size,
	struct iommu_user_data_array *user_array, unsigned int data_type)
{
	return iommu_copy_struct_from_full_user_array(kdst, kdst_entry_size,
						      user_array, data_type);
}

__rust_helper int
rust_helper___iommu_copy_struct_to_user(const struct iommu_user_data *dst_data,
					void *src_data, unsigned int data_type,
					size_t data_len, size_t min_len)
{
	return __iommu_copy_struct_to_user(dst_data, src_data, data_type,
					   data_len, min_len);
}
#endif
