/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Set-up shared by the HW queue benchmarks: a mock vIOMMU on a nesting
 * parent, and physically contiguous hugepage memory mapped at
 * MOCK_APERTURE_START for queues to point at.
 */
#ifndef __IOMMUFD_HWQ_BENCH_COMMON_H
#define __IOMMUFD_HWQ_BENCH_COMMON_H

#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "../testing/selftests/iommu/iommufd_utils.h"
#include "../testing/selftests/iommu/iommufd_hwq_hugepage.h"

#define MIB (1UL << 20)

struct bench {
	int fd;
	uint32_t viommu_id;
	__u64 iova;
	/* The mock vIOMMU's MMIO region, for mmap() */
	__u64 mmap_offset;
	__u32 mmap_length;
};

/*
 * Exits with a message if anything is missing, physically contiguous
 * hugepages included; @length is a multiple of HWQ_HUGEPAGE_SIZE
 */
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

	huge = hwq_contiguous_hugepages(length);
	if (!huge) {
		printf("%s: no physically contiguous hugepages\n", name);
		exit(1);
	}
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

/* The time in ns, CLOCK_MONOTONIC */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * Lets the deferred work of what ran before (RCU grace periods and
 * callbacks, workqueues) finish, so that a measurement counts its own. With
 * -icount and sleep=off the guest's idle time passes at once.
 */
static void settle(void)
{
	usleep(200 * 1000);
}

/*
 * "speed: op=@op n=@n ns_per_op=N.NN" for @n operations since @t0, or the
 * operation's error @rc
 */
static void report_speed(const char *op, unsigned int n, uint64_t t0, int rc)
{
	uint64_t centi_ns = (now_ns() - t0) * 100 / n;

	if (rc)
		printf("speed: op=%s error=%d\n", op, rc);
	else
		printf("speed: op=%s n=%u ns_per_op=%llu.%02llu\n", op, n,
		       (unsigned long long)(centi_ns / 100),
		       (unsigned long long)(centi_ns % 100));
}

/*
 * The operations that bench_speed times and bench_profile profiles, each 0
 * when it did what it should, else an error. The refused allocations fail
 * at successive stages, to tell where time goes: the argument checks, the
 * vIOMMU lookup, then everything up to pinning (object, access, attach)
 * with nothing mapped to pin.
 */
static int expect(int rc, int err)
{
	return rc == err ? 0 : rc ? rc : -EINVAL;
}

/* The ioctl path alone: destroying an ID that does not exist */
static int op_destroy_missing(struct bench *b)
{
	return expect(destroy(b, ~0U), -ENOENT);
}

static int op_fail_zero_length(struct bench *b)
{
	uint32_t id;

	return expect(hw_queue_alloc(b, b->iova, 0, &id), -EINVAL);
}

static int op_fail_no_viommu(struct bench *b)
{
	struct bench s = *b;
	uint32_t id;

	s.viommu_id = ~0U;
	return expect(hw_queue_alloc(&s, b->iova, 4096, &id), -ENOENT);
}

static int op_fail_unmapped(struct bench *b)
{
	uint32_t id;

	return expect(hw_queue_alloc(b, b->iova + 64 * MIB, 4096, &id), -ENOENT);
}

static int queue_cycle(struct bench *b, size_t len)
{
	uint32_t id = 0;
	int rc = hw_queue_alloc(b, b->iova, len, &id);

	return rc ? rc : destroy(b, id);
}

static int op_alloc_destroy_4k(struct bench *b)
{
	return queue_cycle(b, 4096);
}

static int op_alloc_destroy_2m(struct bench *b)
{
	return queue_cycle(b, 2 * MIB);
}

static int op_alloc_destroy_16m(struct bench *b)
{
	return queue_cycle(b, 16 * MIB);
}

/* The guest memory bench_setup() must map for every operation */
#define BENCH_OPS_LENGTH (16 * MIB)

/*
 * @n repetitions make a run of at least about 20 ms of guest time, so that
 * where the timer ticks fall weighs little in the figure
 */
static const struct bench_op {
	const char *name;
	int (*fn)(struct bench *b);
	unsigned int n;
} bench_ops[] = {
	{ "destroy_missing", op_destroy_missing, 20000 },
	{ "fail_zero_length", op_fail_zero_length, 20000 },
	{ "fail_no_viommu", op_fail_no_viommu, 20000 },
	{ "fail_unmapped", op_fail_unmapped, 5000 },
	{ "alloc_destroy_4k", op_alloc_destroy_4k, 2000 },
	{ "alloc_destroy_2m", op_alloc_destroy_2m, 100 },
	{ "alloc_destroy_16m", op_alloc_destroy_16m, 20 },
	{ "mmap_touch_munmap", mmap_touch_munmap, 2000 },
};

/* The operation called @name, or NULL */
static const struct bench_op *bench_op(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bench_ops); i++)
		if (!strcmp(bench_ops[i].name, name))
			return &bench_ops[i];
	return NULL;
}

#endif
