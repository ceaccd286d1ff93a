/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A race between the allocation of HW queue 0, which a driver has
 * initialized but which then fails (its response cannot be written: the
 * command buffer is read-only, so the core aborts the queue), and the
 * allocation of queue 1, which depends on queue 0. Queue 0 never exists
 * for user space, so queue 1 must never be allocated; a driver that took
 * the dependency on the aborted queue would leave the abort a reference it
 * does not expect (a WARN in iommufd_object_abort() and a leaked queue).
 */
#ifndef __IOMMUFD_HWQ_RACE_H
#define __IOMMUFD_HWQ_RACE_H

#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

struct hwq_race {
	int fd;
	uint32_t viommu_id;
	uint32_t type;
	uint64_t iova0, iova1, length;
	bool stop;		/* set for the thread to return */
	/* Queue 0: aborted (EFAULT), other failures, successes */
	unsigned long aborted0, failed0, ok0;
	/* Queue 1: refused as in transition, as missing, otherwise, allocated */
	unsigned long ebusy1, eio1, failed1, ok1;
	int errno0, errno1;	/* the last unexpected errno of each */
};

static void *hwq_race_abort0(void *arg)
{
	struct hwq_race *r = arg;
	struct iommu_hw_queue_alloc *cmd;

	cmd = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cmd == MAP_FAILED)
		return NULL;
	*cmd = (struct iommu_hw_queue_alloc){
		.size = sizeof(*cmd),
		.viommu_id = r->viommu_id,
		.type = r->type,
		.index = 0,
		.nesting_parent_iova = r->iova0,
		.length = r->length,
	};
	/* The kernel reads the command and cannot write the response */
	if (mprotect(cmd, PAGE_SIZE, PROT_READ))
		return NULL;
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		if (!ioctl(r->fd, IOMMU_HW_QUEUE_ALLOC, cmd)) {
			r->ok0++;
		} else if (errno == EFAULT) {
			r->aborted0++;
		} else {
			r->failed0++;
			r->errno0 = errno;
		}
	}
	munmap(cmd, PAGE_SIZE);
	return NULL;
}

/*
 * Allocates queue 1 for @seconds while another thread allocates queue 0
 * with a read-only command buffer; returns 0, or -1 if the thread failed
 */
static int hwq_race_run(struct hwq_race *r, unsigned int seconds)
{
	struct timespec start, now;
	pthread_t thread;

	if (pthread_create(&thread, NULL, hwq_race_abort0, r))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		struct iommu_hw_queue_alloc cmd = {
			.size = sizeof(cmd),
			.viommu_id = r->viommu_id,
			.type = r->type,
			.index = 1,
			.nesting_parent_iova = r->iova1,
			.length = r->length,
		};
		struct iommu_destroy destroy = { .size = sizeof(destroy) };

		if (!ioctl(r->fd, IOMMU_HW_QUEUE_ALLOC, &cmd)) {
			r->ok1++;
			destroy.id = cmd.out_hw_queue_id;
			ioctl(r->fd, IOMMU_DESTROY, &destroy);
		} else if (errno == EBUSY) {
			r->ebusy1++;
		} else if (errno == EIO) {
			r->eio1++;
		} else {
			r->failed1++;
			r->errno1 = errno;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < seconds);
	__atomic_store_n(&r->stop, true, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	ksft_print_msg("queue 0: %lu aborted, %lu other failures (last %d), %lu allocated\n",
		       r->aborted0, r->failed0, r->errno0, r->ok0);
	ksft_print_msg("queue 1: %lu EBUSY, %lu EIO, %lu other failures (last %d), %lu allocated\n",
		       r->ebusy1, r->eio1, r->failed1, r->errno1, r->ok1);
	return 0;
}

/*
 * Runs the race for @seconds and checks it: queue 1 never allocated, queue 0
 * aborted every time, and nothing of the aborted queues left behind, as both
 * indexes can then be allocated. In a kselftest harness test (self->fd).
 */
#define test_hwq_race(r, seconds)                                             \
	({                                                                    \
		uint32_t __qid[2];                                            \
									      \
		ASSERT_EQ(0, hwq_race_run(r, seconds));                       \
		EXPECT_EQ(0, (r)->ok1);                                       \
		EXPECT_EQ(0, (r)->ok0);                                       \
		EXPECT_EQ(0, (r)->failed0);                                   \
		EXPECT_EQ(0, (r)->failed1);                                   \
		EXPECT_NE(0, (r)->aborted0);                                  \
		test_cmd_hw_queue_alloc((r)->viommu_id, (r)->type, 0,         \
					(r)->iova0, (r)->length, &__qid[0]);  \
		test_cmd_hw_queue_alloc((r)->viommu_id, (r)->type, 1,         \
					(r)->iova1, (r)->length, &__qid[1]);  \
		test_ioctl_destroy(__qid[1]);                                 \
		test_ioctl_destroy(__qid[0]);                                 \
	})

#endif
