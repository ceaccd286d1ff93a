// SPDX-License-Identifier: GPL-2.0-only
/*
 * The iommufd mmap interface: a driver hands an MMIO region to user space
 * with an offset and a length, and mmap() must use exactly those. Cases the
 * upstream iommufd selftest does not cover: private and exec mappings, fork,
 * split and mremap of a live mapping, closing the file while mapped, many
 * regions in one context, data through the mapping, and mmap() racing with
 * the failed allocation of the region's owner.
 *
 * The selftest mock vIOMMU, allocated with data, registers a region of two
 * pages of kernel memory whose first word is the in_data it was given.
 */
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "iommufd_utils.h"
#include "iommufd_ptdump.h"

static __attribute__((constructor)) void setup_buffers(void)
{
	PAGE_SIZE = sysconf(_SC_PAGE_SIZE);
	BUFFER_SIZE = PAGE_SIZE * 4;
	buffer = mmap(NULL, BUFFER_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert(buffer != MAP_FAILED);
	mfd_buffer = memfd_mmap(BUFFER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
				&mfd);
	assert(mfd_buffer != MAP_FAILED);
}

FIXTURE(mmap_region)
{
	int fd;
	uint32_t ioas_id;
	uint32_t stdev_id;
	uint32_t device_id;
	uint32_t hwpt_id;
	uint32_t viommu_id;
	struct iommu_viommu_selftest data;
};

static void alloc_viommu(struct __test_metadata *_metadata, int fd,
			 uint32_t device_id, uint32_t hwpt_id, uint32_t in_data,
			 uint32_t *viommu_id, struct iommu_viommu_selftest *data)
{
	memset(data, 0, sizeof(*data));
	data->in_data = in_data;
	ASSERT_EQ(0, _test_cmd_viommu_alloc(fd, device_id, hwpt_id, 0,
					    IOMMU_VIOMMU_TYPE_SELFTEST, data,
					    sizeof(*data), viommu_id));
	ASSERT_EQ(in_data, data->out_data);
	ASSERT_NE(0, data->out_mmap_offset);
	ASSERT_EQ(0, data->out_mmap_offset % PAGE_SIZE);
	ASSERT_EQ(2 * PAGE_SIZE, data->out_mmap_length);
}

FIXTURE_SETUP(mmap_region)
{
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	test_cmd_mock_domain(self->ioas_id, &self->stdev_id, NULL,
			     &self->device_id);
	test_cmd_hwpt_alloc(self->device_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &self->hwpt_id);
	alloc_viommu(_metadata, self->fd, self->device_id, self->hwpt_id,
		     0x5a5a1234, &self->viommu_id, &self->data);
}

FIXTURE_TEARDOWN(mmap_region)
{
	teardown_iommufd(self->fd, _metadata);
}

static void *map(int fd, size_t length, int prot, int flags, off_t offset)
{
	return mmap(NULL, length, prot, flags, fd, offset);
}

#define LEN (self->data.out_mmap_length)
#define OFF ((off_t)self->data.out_mmap_offset)
#define RW (PROT_READ | PROT_WRITE)

/* Only the exact offset is accepted */
TEST_F(mmap_region, wrong_offset)
{
	test_err_mmap(ENXIO, LEN, 0);
	test_err_mmap(ENXIO, LEN, OFF + PAGE_SIZE);
	test_err_mmap(ENXIO, LEN, OFF - PAGE_SIZE);
	test_err_mmap(ENXIO, LEN, OFF + LEN);
	test_err_mmap(ENXIO, LEN, OFF + 1024 * LEN);
	test_err_mmap(ENXIO, PAGE_SIZE, OFF + PAGE_SIZE);
	/* An offset that is not page aligned never reaches the driver */
	test_err_mmap(EINVAL, LEN, OFF + 1);
}

/* Only the exact length is accepted */
TEST_F(mmap_region, wrong_length)
{
	test_err_mmap(ENXIO, PAGE_SIZE, OFF);
	test_err_mmap(ENXIO, LEN + PAGE_SIZE, OFF);
	test_err_mmap(ENXIO, 2 * LEN, OFF);
	/* mmap() rounds the length up to whole pages */
	void *p = map(self->fd, LEN - 1, RW, MAP_SHARED, OFF);

	ASSERT_NE(MAP_FAILED, p);
	munmap(p, LEN);
}

TEST_F(mmap_region, private_refused)
{
	EXPECT_EQ(MAP_FAILED, map(self->fd, LEN, RW, MAP_PRIVATE, OFF));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, map(self->fd, LEN, PROT_READ, MAP_PRIVATE, OFF));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(mmap_region, exec_refused)
{
	EXPECT_EQ(MAP_FAILED,
		  map(self->fd, LEN, RW | PROT_EXEC, MAP_SHARED, OFF));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(MAP_FAILED,
		  map(self->fd, LEN, PROT_READ | PROT_EXEC, MAP_SHARED, OFF));
	EXPECT_EQ(EPERM, errno);
	/* A refused map holds nothing */
	test_ioctl_destroy(self->viommu_id);
}

/* A read-only shared mapping is fine, and so is a second one */
TEST_F(mmap_region, read_only_and_twice)
{
	uint32_t *a = map(self->fd, LEN, PROT_READ, MAP_SHARED, OFF);
	uint32_t *b = map(self->fd, LEN, RW, MAP_SHARED, OFF);

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	b[0] = 0xfeedf00d;
	EXPECT_EQ(0xfeedf00d, a[0]);
	munmap(a, LEN);
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, self->viommu_id));
	munmap(b, LEN);
	test_ioctl_destroy(self->viommu_id);
}

/* The owner cannot be destroyed while mapped, and can be after munmap */
TEST_F(mmap_region, destroy_while_mapped)
{
	void *p = map(self->fd, LEN, RW, MAP_SHARED, OFF);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, self->viommu_id));
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, self->viommu_id));
	munmap(p, LEN);
	test_ioctl_destroy(self->viommu_id);
	/* The region went with its owner */
	test_err_mmap(ENXIO, LEN, OFF);
}

/* A child inherits the mapping and its reference on the owner */
TEST_F(mmap_region, fork)
{
	int to_child[2], to_parent[2];
	uint32_t *p = map(self->fd, LEN, RW, MAP_SHARED, OFF);
	char c = 0;
	pid_t pid;
	int status;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_NE(-1, pid);
	if (!pid) {
		/* The child writes through its copy, then waits */
		p[1] = 0xc0ffee;
		if (write(to_parent[1], &c, 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(1);
		_exit(p[1] == 0xc0ffee ? 0 : 2);
	}
	ASSERT_EQ(1, read(to_parent[0], &c, 1));
	EXPECT_EQ(0xc0ffee, p[1]);
	munmap(p, LEN);
	/* The child still maps the region */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, self->viommu_id));
	ASSERT_EQ(1, write(to_child[1], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	test_ioctl_destroy(self->viommu_id);
}

/* Splitting the mapping keeps one reference per piece */
TEST_F(mmap_region, split)
{
	char *p = map(self->fd, LEN, RW, MAP_SHARED, OFF);

	ASSERT_NE(MAP_FAILED, p);
	/* mprotect() of one page splits the VMA in two */
	ASSERT_EQ(0, mprotect(p, PAGE_SIZE, PROT_READ));
	ASSERT_EQ(0, munmap(p, PAGE_SIZE));
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, self->viommu_id));
	/* The second page still works */
	__atomic_store_n((uint32_t *)(p + PAGE_SIZE), 7, __ATOMIC_RELAXED);
	EXPECT_EQ(7, __atomic_load_n((uint32_t *)(p + PAGE_SIZE),
				     __ATOMIC_RELAXED));
	ASSERT_EQ(0, munmap(p + PAGE_SIZE, PAGE_SIZE));
	test_ioctl_destroy(self->viommu_id);
}

/* A mapping cannot grow, but may move */
TEST_F(mmap_region, mremap)
{
	void *p = map(self->fd, LEN, RW, MAP_SHARED, OFF);
	void *q;

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(MAP_FAILED, mremap(p, LEN, 2 * LEN, MREMAP_MAYMOVE));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(MAP_FAILED, mremap(p, LEN, LEN + PAGE_SIZE, 0));
	EXPECT_EQ(EFAULT, errno);

	/* Shrinking unmaps the tail */
	q = mremap(p, LEN, PAGE_SIZE, 0);
	ASSERT_EQ(p, q);
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, self->viommu_id));

	/* Moving keeps the reference with the new place */
	void *spot = mmap(NULL, PAGE_SIZE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, spot);
	q = mremap(p, PAGE_SIZE, PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
		   spot);
	ASSERT_EQ(spot, q);
	EXPECT_EQ(0x5a5a1234, __atomic_load_n((uint32_t *)q, __ATOMIC_RELAXED));
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, self->viommu_id));
	p = q;
	munmap(p, PAGE_SIZE);
	test_ioctl_destroy(self->viommu_id);
}

/* Closing the file while mapped: the mapping outlives the descriptor */
TEST_F(mmap_region, close_while_mapped)
{
	struct iommu_viommu_selftest data;
	uint32_t ioas_id, stdev_id, device_id, hwpt_id, viommu_id;
	uint32_t *p;
	int fd = open("/dev/iommu", O_RDWR);

	ASSERT_NE(-1, fd);
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(fd, &ioas_id));
	ASSERT_EQ(0, _test_cmd_mock_domain(fd, ioas_id, &stdev_id, NULL,
					   &device_id));
	ASSERT_EQ(0, _test_cmd_hwpt_alloc(fd, device_id, ioas_id, 0,
					  IOMMU_HWPT_ALLOC_NEST_PARENT,
					  &hwpt_id, IOMMU_HWPT_DATA_NONE, NULL,
					  0));
	alloc_viommu(_metadata, fd, device_id, hwpt_id, 0x600d, &viommu_id,
		     &data);
	p = map(fd, data.out_mmap_length, RW, MAP_SHARED,
		data.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, close(fd));
	/* Still mapped, still the driver's page */
	EXPECT_EQ(0x600d, p[0]);
	p[0] = 1;
	EXPECT_EQ(1, p[0]);
	/* The last unmap releases the context and everything in it */
	ASSERT_EQ(0, munmap(p, data.out_mmap_length));
}

/* Many regions in one context get distinct offsets and their own pages */
TEST_F(mmap_region, many_regions)
{
	enum { N = 24 };
	struct iommu_viommu_selftest data[N];
	uint32_t viommu_id[N];
	uint32_t *p[N];
	unsigned int i, j;

	for (i = 0; i < N; i++)
		alloc_viommu(_metadata, self->fd, self->device_id,
			     self->hwpt_id, 0x1000 + i, &viommu_id[i],
			     &data[i]);
	for (i = 0; i < N; i++) {
		EXPECT_NE(self->data.out_mmap_offset, data[i].out_mmap_offset);
		for (j = 0; j < i; j++) {
			/* Offsets are distinct and regions do not overlap */
			__u64 a = data[i].out_mmap_offset;
			__u64 b = data[j].out_mmap_offset;

			EXPECT_TRUE(a + 2 * PAGE_SIZE <= b ||
				    b + 2 * PAGE_SIZE <= a);
		}
	}
	for (i = 0; i < N; i++) {
		p[i] = map(self->fd, data[i].out_mmap_length, RW, MAP_SHARED,
			   data[i].out_mmap_offset);
		ASSERT_NE(MAP_FAILED, p[i]);
		EXPECT_EQ(0x1000 + i, p[i][0]);
	}
	/* Free every other one; the freed offsets are usable again */
	for (i = 0; i < N; i += 2) {
		munmap(p[i], data[i].out_mmap_length);
		test_ioctl_destroy(viommu_id[i]);
		test_err_mmap(ENXIO, data[i].out_mmap_length,
			      data[i].out_mmap_offset);
	}
	for (i = 0; i < N; i += 2)
		alloc_viommu(_metadata, self->fd, self->device_id,
			     self->hwpt_id, 0x2000 + i, &viommu_id[i],
			     &data[i]);
	for (i = 1; i < N; i += 2) {
		EXPECT_EQ(0x1000 + i, p[i][0]);
		munmap(p[i], data[i].out_mmap_length);
	}
	for (i = 0; i < N; i++)
		test_ioctl_destroy(viommu_id[i]);
}

/* What user space writes is in the driver's memory, and stays there */
TEST_F(mmap_region, data_reaches_driver)
{
	uint32_t *p = map(self->fd, LEN, RW, MAP_SHARED, OFF);
	unsigned int i, words = LEN / sizeof(uint32_t);

	ASSERT_NE(MAP_FAILED, p);
	/* The driver wrote in_data in its first word */
	EXPECT_EQ(0x5a5a1234, p[0]);
	for (i = 0; i < words; i++)
		p[i] = i * 2654435761u;
	munmap(p, LEN);
	/* A new mapping sees the driver's pages as they were left */
	p = map(self->fd, LEN, PROT_READ, MAP_SHARED, OFF);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < words; i++)
		if (p[i] != i * 2654435761u)
			break;
	EXPECT_EQ(words, i);
	munmap(p, LEN);
}

/*
 * The mock's region is kernel memory that the driver reads and writes
 * through the kernel's cacheable mapping: user space maps it as memory too,
 * not uncached, so that the two agree where memory attributes matter
 */
TEST_F(mmap_region, memory_mapped_cached)
{
	uint32_t *p = map(self->fd, LEN, RW, MAP_SHARED, OFF);
	long uncached;

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0x5a5a1234, p[0]);
	/* mmap() maps every page of the region at once */
	uncached = pages_uncached(p, LEN);
	munmap(p, LEN);
	if (uncached == -1)
		SKIP(return, PTDUMP_SKIP_MSG);
	EXPECT_EQ(0, uncached);
}

/* An offset of one context means nothing in another */
TEST_F(mmap_region, other_context)
{
	int fd = open("/dev/iommu", O_RDWR);

	ASSERT_NE(-1, fd);
	EXPECT_EQ(MAP_FAILED, map(fd, LEN, RW, MAP_SHARED, OFF));
	EXPECT_EQ(ENXIO, errno);
	close(fd);
}

/*
 * A driver registers its region while the vIOMMU is being allocated, and the
 * allocation can still fail afterwards (here: the response copy to a
 * read-only command buffer). A racing mmap() of the region's predictable
 * offset must never succeed: the owner is not published, and the abort
 * destroys it. Before the fix such a mapping kept a reference on the aborted
 * vIOMMU (a WARN in the abort, a leaked object) and mapped freed pages.
 */
#define RACE_ALLOCS 4000

TEST_F(mmap_region, race_with_failed_alloc)
{
	struct iommu_viommu_selftest data = { .in_data = 1 };
	struct iommu_viommu_alloc *cmd;
	struct iommu_viommu_selftest next;
	unsigned long *shared;
	uint32_t viommu_id;
	unsigned int i;
	off_t offset;
	pid_t child;
	int status;

	/* The offsets of freed regions are reused, lowest first */
	alloc_viommu(_metadata, self->fd, self->device_id, self->hwpt_id, 2,
		     &viommu_id, &next);
	offset = next.out_mmap_offset;
	test_ioctl_destroy(viommu_id);

	shared = mmap(NULL, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, shared);
	/* stop, mmap() attempts and mmap() successes, shared with the racer */
	memset(shared, 0, 3 * sizeof(*shared));

	cmd = mmap(NULL, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, cmd);
	*cmd = (struct iommu_viommu_alloc){
		.size = sizeof(*cmd),
		.type = IOMMU_VIOMMU_TYPE_SELFTEST,
		.dev_id = self->device_id,
		.hwpt_id = self->hwpt_id,
		.data_len = sizeof(data),
		.data_uptr = (uintptr_t)&data,
	};
	ASSERT_EQ(0, mprotect(cmd, PAGE_SIZE, PROT_READ));

	child = fork();
	ASSERT_NE(-1, child);
	if (!child) {
		while (!__atomic_load_n(&shared[0], __ATOMIC_RELAXED)) {
			void *p = map(self->fd, LEN, RW, MAP_SHARED, offset);

			__atomic_fetch_add(&shared[1], 1, __ATOMIC_RELAXED);
			if (p != MAP_FAILED) {
				__atomic_fetch_add(&shared[2], 1,
						   __ATOMIC_RELAXED);
				munmap(p, LEN);
			}
		}
		_exit(0);
	}
	/* Let the racer start before the allocations do */
	while (!__atomic_load_n(&shared[1], __ATOMIC_RELAXED))
		sched_yield();

	for (i = 0; i < RACE_ALLOCS; i++) {
		errno = 0;
		if (ioctl(self->fd, IOMMU_VIOMMU_ALLOC, cmd) != -1 ||
		    errno != EFAULT)
			break;
	}
	__atomic_store_n(&shared[0], 1, __ATOMIC_RELAXED);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(RACE_ALLOCS, i);
	ksft_print_msg("race: %u failed allocations, %lu mmap() attempts, %lu mapped\n",
		       i, shared[1], shared[2]);
	EXPECT_EQ(0, shared[2]);
	/* The region's owner is gone: its offset maps nothing */
	EXPECT_EQ(MAP_FAILED, map(self->fd, LEN, RW, MAP_SHARED, offset));
	EXPECT_EQ(ENXIO, errno);
	munmap(cmd, PAGE_SIZE);
	munmap(shared, PAGE_SIZE);
}

TEST_HARNESS_MAIN
