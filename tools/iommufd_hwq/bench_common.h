/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Set-up shared by the HW queue benchmarks: a mock vIOMMU on a nesting
 * parent, and hugepage-backed (physically contiguous) memory mapped at
 * MOCK_APERTURE_START for queues to point at.
 */
#ifndef __IOMMUFD_HWQ_BENCH_COMMON_H
#define __IOMMUFD_HWQ_BENCH_COMMON_H

#include <stdlib.h>
#include <sys/mman.h>

#include "../testing/selftests/iommu/iommufd_utils.h"

#define MIB (1UL << 20)

struct bench {
	int fd;
	uint32_t viommu_id;
	__u64 iova;
	/* The mock vIOMMU's MMIO region, for mmap() */
	__u64 mmap_offset;
	__u32 mmap_length;
};

/* Exits with a message if anything is missing, hugepages included */
static struct bench bench_setup(const char *name, size_t length)
{
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	uint32_t stdev_id, device_id, hwpt_id;
	struct bench b = { .iova = MOCK_APERTURE_START };
	struct iommu_viommu_selftest data = { .in_data = 0xbeef };
	void *huge;

	/* Declared by iommufd_utils.h for the upstream test's memfd */
	(void)mfd;
	(void)mfd_buffer;
	PAGE_SIZE = sysconf(_SC_PAGE_SIZE);
	b.fd = open("/dev/iommu", O_RDWR);
	assert(b.fd >= 0);
	assert(!ioctl(b.fd, IOMMU_IOAS_ALLOC, &ioas));
	assert(!_test_cmd_mock_domain(b.fd, ioas.out_ioas_id, &stdev_id, NULL,
				      &device_id));
	assert(!_test_cmd_hwpt_alloc(b.fd, device_id, ioas.out_ioas_id, 0,
				     IOMMU_HWPT_ALLOC_NEST_PARENT, &hwpt_id,
				     IOMMU_HWPT_DATA_NONE, NULL, 0));
	assert(!_test_cmd_viommu_alloc(b.fd, device_id, hwpt_id, 0,
				       IOMMU_VIOMMU_TYPE_SELFTEST, &data,
				       sizeof(data), &b.viommu_id));
	b.mmap_offset = data.out_mmap_offset;
	b.mmap_length = data.out_mmap_length;

	huge = mmap(NULL, length, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (huge == MAP_FAILED) {
		printf("%s: no hugepages\n", name);
		exit(1);
	}
	memset(huge, 0, length);
	assert(!_test_ioctl_ioas_map(b.fd, ioas.out_ioas_id, huge, length,
				     &b.iova,
				     IOMMU_IOAS_MAP_FIXED_IOVA |
					     IOMMU_IOAS_MAP_WRITEABLE |
					     IOMMU_IOAS_MAP_READABLE));
	return b;
}

/* One IOMMU_HW_QUEUE_ALLOC of the selftest type; 0 or -errno */
static int hw_queue_alloc(struct bench *b, __u64 iova, size_t length,
			  uint32_t *id)
{
	struct iommu_hw_queue_alloc cmd = {
		.size = sizeof(cmd),
		.viommu_id = b->viommu_id,
		.type = IOMMU_HW_QUEUE_TYPE_SELFTEST,
		.nesting_parent_iova = iova,
		.length = length,
	};

	if (ioctl(b->fd, IOMMU_HW_QUEUE_ALLOC, &cmd))
		return -errno;
	*id = cmd.out_hw_queue_id;
	return 0;
}

static int destroy(struct bench *b, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(b->fd, IOMMU_DESTROY, &cmd) ? -errno : 0;
}

/*
 * mmap() of the mock vIOMMU's region, a read of its first page (the fault
 * that maps it), and munmap(); 0 or -errno
 */
static int mmap_touch_munmap(struct bench *b)
{
	uint32_t *p;

	p = mmap(NULL, b->mmap_length, PROT_READ | PROT_WRITE, MAP_SHARED,
		 b->fd, b->mmap_offset);
	if (p == MAP_FAILED)
		return -errno;
	__atomic_load_n(p, __ATOMIC_RELAXED);
	return munmap(p, b->mmap_length) ? -errno : 0;
}

#endif
