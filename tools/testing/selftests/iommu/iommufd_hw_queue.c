// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOMMU_HW_QUEUE_ALLOC cases that the upstream iommufd selftest does not
 * cover: unaligned and page-crossing queues, guest memory that is not
 * physically contiguous, unmapping pinned memory, destroy ordering, closing
 * the file with live queues, hugepage-backed queues, lengths whose page
 * array C cannot allocate, the reuse of a destroyed queue's index, and a
 * dependency on a queue whose allocation fails.
 *
 * Every case runs on the selftest mock vIOMMU, whose hw_queue_init_phys()
 * fails with -EFAULT unless the physical address handed to it is the one the
 * nesting parent maps at the queue's first byte.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "iommufd_utils.h"
#include "iommufd_hwq_hugepage.h"
#include "iommufd_hwq_race.h"

#define TYPE IOMMU_HW_QUEUE_TYPE_SELFTEST
#define MIB (1UL << 20)

static __attribute__((constructor)) void setup_buffers(void)
{
	PAGE_SIZE = sysconf(_SC_PAGE_SIZE);
	BUFFER_SIZE = PAGE_SIZE * 16;
	/* teardown_iommufd() checks that nothing still pins this buffer */
	buffer = mmap(NULL, BUFFER_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert(buffer != MAP_FAILED);
	memset(buffer, 0, BUFFER_SIZE);
	/* A memfd-backed buffer, mapped into the IOAS by file */
	mfd_buffer = memfd_mmap(BUFFER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
				&mfd);
	assert(mfd_buffer != MAP_FAILED);
}

/* Hugepage-backed memory, or NULL if the kernel has none to give */
static void *hugepage_alloc(size_t length)
{
	void *p = mmap(NULL, length, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, length);
	return p;
}

FIXTURE(hw_queue)
{
	int fd;
	uint32_t ioas_id;
	uint32_t stdev_id;
	uint32_t device_id;
	uint32_t hwpt_id;
	uint32_t viommu_id;
};

FIXTURE_SETUP(hw_queue)
{
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	test_ioctl_set_default_memory_limit();
	test_cmd_mock_domain(self->ioas_id, &self->stdev_id, NULL,
			     &self->device_id);
	test_cmd_hwpt_alloc(self->device_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &self->hwpt_id);
	test_cmd_viommu_alloc(self->device_id, self->hwpt_id,
			      IOMMU_VIOMMU_TYPE_SELFTEST, NULL, 0,
			      &self->viommu_id);
}

FIXTURE_TEARDOWN(hw_queue)
{
	teardown_iommufd(self->fd, _metadata);
}

/* Map @npages pages of @buf one area per page, from @iova on */
#define map_pages(buf, npages, iova)                                        \
	({                                                                  \
		for (unsigned int _i = 0; _i < (npages); _i++)              \
			test_ioctl_ioas_map_fixed((char *)(buf) +           \
							  _i * PAGE_SIZE,   \
						  PAGE_SIZE,                \
						  (iova) + _i * PAGE_SIZE); \
	})

/*
 * Unaligned starts and lengths that cross page boundaries. The mock checks
 * the physical address of the first byte, in-page offset included.
 */
TEST_F(hw_queue, unaligned)
{
	static const struct {
		unsigned long offset; /* from the start of the mapping */
		unsigned long length;
	} cases[] = {
		{ 1, 1 },
		{ 0, 1 },
		{ 0x7ff, 2 },	 /* inside one page */
		{ 0xfff, 2 },	 /* one byte on each side of a boundary */
		{ 0x800, 0x1000 }, /* half a page in each of two pages */
		{ 0x10, 3 * 0x1000 - 0x20 },
		{ 0xff8, 0x1008 }, /* crosses two boundaries */
		{ 1, 4 * 0x1000 - 1 }, /* ends on the last byte of page 4 */
	};
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t qid;
	unsigned int i;

	/* A physically contiguous backing is needed for multi-page queues */
	void *huge = hugepage_alloc(HWQ_HUGEPAGE_SIZE);

	if (!huge)
		SKIP(return, "no hugepages");
	map_pages(huge, 8, iova);

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t start = iova + cases[i].offset;
		uint64_t first_page = start & ~(uint64_t)(PAGE_SIZE - 1);
		uint64_t end_page = (start + cases[i].length + PAGE_SIZE - 1) &
				    ~(uint64_t)(PAGE_SIZE - 1);

		test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 0, start,
					cases[i].length, &qid);
		/* Exactly the covered pages are pinned */
		test_err_ioctl_ioas_unmap(EBUSY, first_page, PAGE_SIZE);
		test_err_ioctl_ioas_unmap(EBUSY, end_page - PAGE_SIZE,
					  PAGE_SIZE);
		if (end_page < iova + 8 * PAGE_SIZE) {
			test_ioctl_ioas_unmap(end_page, PAGE_SIZE);
			test_ioctl_ioas_map_fixed((char *)huge +
							  (end_page - iova),
						  PAGE_SIZE, end_page);
		}
		test_ioctl_destroy(qid);
	}
	test_ioctl_ioas_unmap(iova, 8 * PAGE_SIZE);
	munmap(huge, HWQ_HUGEPAGE_SIZE);
}

/* A queue must not extend past what is mapped, even by a byte */
TEST_F(hw_queue, partly_mapped)
{
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t qid;

	map_pages(buffer, 1, iova);
	test_err_hw_queue_alloc(ENOENT, self->viommu_id, TYPE, 0,
				iova + PAGE_SIZE - 1, 2, &qid);
	test_err_hw_queue_alloc(ENOENT, self->viommu_id, TYPE, 0, iova - 1, 2,
				&qid);
	/* Nothing stays pinned after the failures */
	test_ioctl_ioas_unmap(iova, PAGE_SIZE);
}

/* Guest memory that is not physically contiguous is refused */
TEST_F(hw_queue, not_contiguous)
{
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t qid;

	/* The same page twice: frames N, N can never be contiguous */
	test_ioctl_ioas_map_fixed(buffer, PAGE_SIZE, iova);
	test_ioctl_ioas_map_fixed(buffer, PAGE_SIZE, iova + PAGE_SIZE);
	test_err_hw_queue_alloc(EFAULT, self->viommu_id, TYPE, 0, iova,
				2 * PAGE_SIZE, &qid);
	/* Also when the queue only touches the second page by one byte */
	test_err_hw_queue_alloc(EFAULT, self->viommu_id, TYPE, 0,
				iova + PAGE_SIZE - 1, 2, &qid);
	/* Each page alone is fine */
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 0, iova + PAGE_SIZE, 16,
				&qid);
	test_ioctl_destroy(qid);
	/* The failures left nothing pinned */
	test_ioctl_ioas_unmap(iova, 2 * PAGE_SIZE);
}

/*
 * IOAS_UNMAP over memory pinned by a live queue fails and leaves the queue
 * working; once the queue is destroyed the unmap succeeds.
 */
TEST_F(hw_queue, unmap_pinned)
{
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t qid[2];

	map_pages(buffer, 2, iova);
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 0, iova, PAGE_SIZE,
				&qid[0]);
	test_err_ioctl_ioas_unmap(EBUSY, iova, PAGE_SIZE);
	test_err_ioctl_ioas_unmap(EBUSY, iova, 2 * PAGE_SIZE);

	/* The queue is still there: the next index can depend on it */
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 1, iova + PAGE_SIZE,
				PAGE_SIZE, &qid[1]);
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, qid[0]));
	test_err_ioctl_ioas_unmap(EBUSY, iova + PAGE_SIZE, PAGE_SIZE);

	test_ioctl_destroy(qid[1]);
	test_ioctl_ioas_unmap(iova + PAGE_SIZE, PAGE_SIZE);
	test_err_ioctl_ioas_unmap(EBUSY, iova, PAGE_SIZE);
	test_ioctl_destroy(qid[0]);
	test_ioctl_ioas_unmap(iova, PAGE_SIZE);
	/* Destroyed means gone */
	EXPECT_ERRNO(ENOENT, _test_ioctl_destroy(self->fd, qid[0]));
}

/* Two queues may share pinned pages; each pin is released on its own */
TEST_F(hw_queue, shared_pages)
{
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t qid[2];

	map_pages(buffer, 1, iova);
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 0, iova, 64, &qid[0]);
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 1, iova + 64, 64,
				&qid[1]);
	test_ioctl_destroy(qid[1]);
	test_err_ioctl_ioas_unmap(EBUSY, iova, PAGE_SIZE);
	test_ioctl_destroy(qid[0]);
	test_ioctl_ioas_unmap(iova, PAGE_SIZE);
}

/* The vIOMMU cannot be destroyed while a queue holds it */
TEST_F(hw_queue, viommu_busy)
{
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t qid;

	map_pages(buffer, 1, iova);
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 0, iova, PAGE_SIZE,
				&qid);
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, self->viommu_id));
	/* The nesting parent is held by the vIOMMU */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, self->hwpt_id));
	test_ioctl_destroy(qid);
	test_ioctl_destroy(self->viommu_id);
	test_ioctl_destroy(self->hwpt_id);
}

/* Failed allocations keep nothing: no ID, no pin, no vIOMMU reference */
TEST_F(hw_queue, failures_release_everything)
{
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t qid;

	map_pages(buffer, 1, iova);
	/* Driver refuses index 1 before index 0 (-EIO), after pinning */
	test_err_hw_queue_alloc(EIO, self->viommu_id, TYPE, 1, iova, PAGE_SIZE,
				&qid);
	/* Driver refuses an out-of-range index */
	test_err_hw_queue_alloc(EINVAL, self->viommu_id, TYPE,
				IOMMU_TEST_HW_QUEUE_MAX, iova, PAGE_SIZE, &qid);
	/* Bad arguments, before anything is taken */
	test_err_hw_queue_alloc(EOPNOTSUPP, self->viommu_id,
				IOMMU_HW_QUEUE_TYPE_DEFAULT, 0, iova, PAGE_SIZE,
				&qid);
	test_err_hw_queue_alloc(EINVAL, self->viommu_id, TYPE, 0, iova, 0,
				&qid);
	test_err_hw_queue_alloc(EOVERFLOW, self->viommu_id, TYPE, 0,
				~(uint64_t)0 - 10, 12, &qid);
	test_err_hw_queue_alloc(ENOENT, self->viommu_id + 1000, TYPE, 0, iova,
				PAGE_SIZE, &qid);
	/* An object of another type is not a vIOMMU */
	test_err_hw_queue_alloc(ENOENT, self->ioas_id, TYPE, 0, iova,
				PAGE_SIZE, &qid);
	test_err_hw_queue_alloc(ENOENT, self->hwpt_id, TYPE, 0, iova,
				PAGE_SIZE, &qid);
	/* An unknown queue type */
	test_err_hw_queue_alloc(EOPNOTSUPP, self->viommu_id, TYPE + 1, 0, iova,
				PAGE_SIZE, &qid);

	test_ioctl_ioas_unmap(iova, PAGE_SIZE);
	test_ioctl_destroy(self->viommu_id);
}

/* Unknown flags are refused */
TEST_F(hw_queue, flags)
{
	struct iommu_hw_queue_alloc cmd = {
		.size = sizeof(cmd),
		.flags = 1,
		.viommu_id = self->viommu_id,
		.type = TYPE,
		.nesting_parent_iova = MOCK_APERTURE_START,
		.length = PAGE_SIZE,
	};

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HW_QUEUE_ALLOC, &cmd));
	cmd.flags = 1U << 31;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HW_QUEUE_ALLOC, &cmd));
	/* A struct shorter than the last mandatory field */
	cmd.flags = 0;
	cmd.size = offsetof(struct iommu_hw_queue_alloc, length);
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_HW_QUEUE_ALLOC, &cmd));
}

/* Closing the file with live queues tears everything down */
TEST_F(hw_queue, close_with_live_queues)
{
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t qid[IOMMU_TEST_HW_QUEUE_MAX];
	unsigned int i;

	map_pages(buffer, IOMMU_TEST_HW_QUEUE_MAX, iova);
	for (i = 0; i < IOMMU_TEST_HW_QUEUE_MAX; i++)
		test_cmd_hw_queue_alloc(self->viommu_id, TYPE, i,
					iova + i * PAGE_SIZE, PAGE_SIZE,
					&qid[i]);
	/* teardown_iommufd() closes the file and checks nothing is pinned */
}

/* Queue memory mapped into the IOAS from a memfd (IOMMU_IOAS_MAP_FILE) */
TEST_F(hw_queue, memfd)
{
	__u64 iova;
	uint32_t qid;

	test_ioctl_ioas_map_file(mfd, 0, PAGE_SIZE, &iova);
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 0, iova + 0x40, 0x100,
				&qid);
	test_err_ioctl_ioas_unmap(EBUSY, iova, PAGE_SIZE);
	test_ioctl_destroy(qid);
	test_ioctl_ioas_unmap(iova, PAGE_SIZE);
}

/* Hugepage-backed queues of 2 MiB and more, one page at an offset */
TEST_F(hw_queue, hugepage)
{
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t qid;
	void *huge = hugepage_alloc(HWQ_HUGEPAGE_SIZE);

	if (!huge)
		SKIP(return, "no hugepages");
	test_ioctl_ioas_map_fixed(huge, HWQ_HUGEPAGE_SIZE, iova);
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 0, iova, HWQ_HUGEPAGE_SIZE,
				&qid);
	test_err_ioctl_ioas_unmap(EBUSY, iova, HWQ_HUGEPAGE_SIZE);
	test_ioctl_destroy(qid);
	/* Unaligned inside the hugepage, up to its last byte */
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 0, iova + 0x123,
				HWQ_HUGEPAGE_SIZE - 0x123, &qid);
	test_ioctl_destroy(qid);
	/* One byte past the mapping */
	test_err_hw_queue_alloc(ENOENT, self->viommu_id, TYPE, 0, iova + 1,
				HWQ_HUGEPAGE_SIZE, &qid);
	test_ioctl_ioas_unmap(iova, HWQ_HUGEPAGE_SIZE);
	munmap(huge, HWQ_HUGEPAGE_SIZE);
}

/*
 * A queue larger than one pin chunk of the Rust implementation (8 MiB)
 * backed by physically contiguous hugepages, if the kernel has them.
 */
TEST_F(hw_queue, large)
{
	size_t len = 16 * MIB;
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t qid;
	void *huge = hwq_contiguous_hugepages(len);

	if (!huge)
		SKIP(return, "no physically contiguous hugepages");
	test_ioctl_ioas_map_fixed(huge, len, iova);
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 0, iova, len, &qid);
	test_err_ioctl_ioas_unmap(EBUSY, iova, len);
	test_ioctl_destroy(qid);
	test_ioctl_ioas_unmap(iova, len);
	hwq_contiguous_free(huge, len);
}

/*
 * C allocates one array of page pointers for the whole queue, and
 * kvmalloc() refuses more than INT_MAX bytes: 2^28 pages and more (1 TiB
 * with 4 KiB pages, 16 TiB with 64 KiB ones) fail with ENOMEM before
 * anything is pinned, in both implementations. The offset of the queue in
 * its first page counts. Smaller lengths reach the pin, which fails with
 * ENOENT on unmapped memory.
 */
TEST_F(hw_queue, huge_lengths)
{
	const uint64_t page = PAGE_SIZE, limit = (1ULL << 28) * page;
	const struct {
		uint64_t offset;
		uint64_t length;
		int err;
	} cases[] = {
		{ 0, limit, ENOMEM },
		{ 0, limit + (1ULL << 30), ENOMEM },
		{ 0, 2 * limit, ENOMEM },
		{ 0, 1ULL << 50, ENOMEM },
		{ 0, limit + 1, ENOMEM },
		/* 2^28 - 1 pages, and one more for the offset */
		{ 1, limit - page, ENOMEM },
		{ page - 1, limit - page, ENOMEM },
		{ 0, limit / 2, ENOENT },
		{ 1, limit / 2, ENOENT },
	};
	uint32_t qid;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		errno = 0;
		EXPECT_EQ(-1, _test_cmd_hw_queue_alloc(
				      self->fd, self->viommu_id, TYPE, 0,
				      MOCK_APERTURE_START + cases[i].offset,
				      cases[i].length, &qid));
		EXPECT_EQ(cases[i].err, errno)
		{
			TH_LOG("offset %llu length 0x%llx",
			       (unsigned long long)cases[i].offset,
			       (unsigned long long)cases[i].length);
		}
	}
	/* Nothing was left behind: the vIOMMU has no queue to keep it */
	test_ioctl_destroy(self->viommu_id);
}

/*
 * A destroyed queue frees its own index, not another's: after queues 0 and 1
 * and the destroy of 1, index 0 is still taken and index 1 is free again.
 */
TEST_F(hw_queue, index_reuse)
{
	uint64_t iova = MOCK_APERTURE_START;
	uint32_t qid[2], again;

	test_ioctl_ioas_map_fixed(buffer, 2 * PAGE_SIZE, iova);
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 0, iova, PAGE_SIZE,
				&qid[0]);
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 1, iova + PAGE_SIZE,
				PAGE_SIZE, &qid[1]);
	test_ioctl_destroy(qid[1]);
	test_err_hw_queue_alloc(EEXIST, self->viommu_id, TYPE, 0,
				iova + PAGE_SIZE, PAGE_SIZE, &again);
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 1, iova + PAGE_SIZE,
				PAGE_SIZE, &qid[1]);
	test_err_hw_queue_alloc(EEXIST, self->viommu_id, TYPE, 1,
				iova + PAGE_SIZE, PAGE_SIZE, &again);
	/* Queue 0 is depended on by queue 1, which it must outlive */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, qid[0]));
	test_ioctl_destroy(qid[1]);
	test_ioctl_destroy(qid[0]);
	/* Both indexes are free */
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 0, iova, PAGE_SIZE,
				&qid[0]);
	test_cmd_hw_queue_alloc(self->viommu_id, TYPE, 1, iova + PAGE_SIZE,
				PAGE_SIZE, &qid[1]);
	test_ioctl_destroy(qid[1]);
	test_ioctl_destroy(qid[0]);
	test_ioctl_ioas_unmap(iova, 2 * PAGE_SIZE);
}

/*
 * Queue 1 depends on queue 0, so it cannot be allocated while queue 0 is
 * between its driver's init and the failure of its ioctl, which aborts it
 * (hwq_race_run()): EBUSY then, EIO when queue 0 is not there at all.
 */
TEST_F(hw_queue, depend_on_aborted)
{
	struct hwq_race race = {
		.fd = self->fd,
		.viommu_id = self->viommu_id,
		.type = TYPE,
		.iova0 = MOCK_APERTURE_START,
		.iova1 = MOCK_APERTURE_START + PAGE_SIZE,
		.length = PAGE_SIZE,
	};

	test_ioctl_ioas_map_fixed(buffer, 2 * PAGE_SIZE, MOCK_APERTURE_START);
	test_hwq_race(&race, 3);
	test_ioctl_ioas_unmap(MOCK_APERTURE_START, 2 * PAGE_SIZE);
}

TEST_HARNESS_MAIN
