// SPDX-License-Identifier: GPL-2.0-only
/*
 * Invalidation throughput on the emulated Tegra241 CMDQV: the same commands
 * executed from a guest's HW queue (written to queue memory, PROD bumped
 * through the mmapped VINTF page, CONS awaited) and passed through
 * IOMMU_HWPT_INVALIDATE on the vIOMMU (the trapped path), at batch sizes 1,
 * 16 and 256. Prints ns per command and commands per second.
 *
 * The commands alternate TLBI_NH_VA and ATC_INV for the device's vSID, which
 * both paths accept. While it waits for CONS the "guest" yields the CPU: on
 * real hardware the queue is consumed by the SMMU, not by a CPU the guest
 * shares, and the benchmark runs on one vCPU.
 *
 * Meant for a boot with QEMU's -icount, like bench_speed.
 */
#include <sched.h>

#include "bench_common.h"
#include "../testing/selftests/iommu/iommufd_tegra241_cmdqv_utils.h"

#define VSID 0x42
#define QUEUE_ENTRIES 512

struct cmdqv {
	int fd;
	uint32_t viommu_id;
	void *page;
	uint64_t (*queue)[2];
	uint32_t prod;
};

static struct cmdqv cmdqv_setup(void)
{
	struct iommu_viommu_tegra241_cmdqv data = {};
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	uint32_t device_id, hwpt_id, vdev_id, queue_id;
	__u64 iova = MOCK_APERTURE_START;
	struct cmdqv c = {};

	(void)mfd;
	(void)mfd_buffer;
	c.fd = open("/dev/iommu", O_RDWR);
	assert(c.fd >= 0);
	assert(!ioctl(c.fd, IOMMU_IOAS_ALLOC, &ioas));
	assert(!_test_cmd_mock_domain_flags(c.fd, ioas.out_ioas_id,
					    MOCK_FLAGS_DEVICE_TEGRA241_CMDQV,
					    NULL, NULL, &device_id));
	assert(!_test_cmd_hwpt_alloc(c.fd, device_id, ioas.out_ioas_id, 0,
				     IOMMU_HWPT_ALLOC_NEST_PARENT, &hwpt_id,
				     IOMMU_HWPT_DATA_NONE, NULL, 0));
	assert(!_test_cmd_viommu_alloc(c.fd, device_id, hwpt_id, 0,
				       IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV, &data,
				       sizeof(data), &c.viommu_id));
	c.page = mmap(NULL, data.out_vintf_mmap_length,
		      PROT_READ | PROT_WRITE, MAP_SHARED, c.fd,
		      data.out_vintf_mmap_offset);
	assert(c.page != MAP_FAILED);
	assert(!_test_cmd_vdevice_alloc(c.fd, c.viommu_id, device_id, VSID,
					&vdev_id));
	/* The guest's memory: the hugepage set up by the utils */
	assert(!_test_ioctl_ioas_map(c.fd, ioas.out_ioas_id, buffer,
				     BUFFER_SIZE, &iova,
				     IOMMU_IOAS_MAP_FIXED_IOVA |
					     IOMMU_IOAS_MAP_WRITEABLE |
					     IOMMU_IOAS_MAP_READABLE));
	assert(!_test_cmd_hw_queue_alloc(c.fd, c.viommu_id,
					 IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 0,
					 iova, QUEUE_ENTRIES * 16, &queue_id));
	c.queue = buffer;
	lvcmdq_write(c.page, 0, LVCMDQ_CONFIG, 1);
	assert(lvcmdq_wait(c.page, 0, LVCMDQ_STATUS, 1, 1));
	return c;
}

/* Command @i of a batch */
static void command(uint64_t cmd[2], unsigned int i)
{
	if (i % 2) {
		cmd[0] = CMD_ATC_INV(VSID) | ATC_GLOBAL;
		cmd[1] = ATC_ALL_ADDRS;
	} else {
		cmd[0] = CMD_TLBI_NH_VA(i & 0xffff);
		cmd[1] = (uint64_t)i << 12;
	}
}

/* One batch through the queue: written, PROD bumped, CONS awaited */
static int queue_batch(struct cmdqv *c, unsigned int batch)
{
	const uint32_t mask = 2 * QUEUE_ENTRIES - 1;
	unsigned int i;

	for (i = 0; i != batch; i++) {
		command(c->queue[c->prod % QUEUE_ENTRIES], i);
		c->prod = (c->prod + 1) & mask;
	}
	lvcmdq_write(c->page, 0, LVCMDQ_PROD, c->prod);
	for (;;) {
		uint32_t cons = lvcmdq_reg(c->page, 0, LVCMDQ_CONS);

		if (cons == c->prod)
			return 0;
		if (CONS_ERR(cons))
			return -EIO;
		sched_yield();
	}
}

/* One batch through IOMMU_HWPT_INVALIDATE */
static int trapped_batch(struct cmdqv *c, unsigned int batch)
{
	static struct iommu_viommu_arm_smmuv3_invalidate cmds[256];
	uint32_t num = batch;
	unsigned int i;

	for (i = 0; i != batch; i++)
		command((uint64_t *)cmds[i].cmd, i);
	if (_test_cmd_viommu_invalidate(c->fd, c->viommu_id, cmds,
					IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
					sizeof(*cmds), &num))
		return -errno;
	return num == batch ? 0 : -EIO;
}

static void run(struct cmdqv *c, const char *path, unsigned int batch,
		unsigned int total,
		int (*fn)(struct cmdqv *c, unsigned int batch))
{
	unsigned int n;
	uint64_t t0, ns;
	int rc = 0;

	/* One batch to warm up */
	fn(c, batch);
	settle();
	t0 = now_ns();
	for (n = 0; n < total && !rc; n += batch)
		rc = fn(c, batch);
	ns = now_ns() - t0;
	if (rc) {
		printf("speed: op=%s_batch_%u error=%d\n", path, batch, rc);
		return;
	}
	printf("speed: op=%s_batch_%u n=%u ns_per_cmd=%llu cmds_per_sec=%llu\n",
	       path, batch, n, (unsigned long long)(ns / n),
	       (unsigned long long)(n * 1000000000ull / (ns ? ns : 1)));
}

/*
 * The backend's side of IOMMU_HW_QUEUE_ALLOC: a second queue of the same
 * size, next to the first in guest memory, allocated and destroyed
 */
static int cmdqv_queue_cycle(struct cmdqv *c)
{
	__u64 iova = MOCK_APERTURE_START + QUEUE_ENTRIES * 16;
	uint32_t id;

	if (_test_cmd_hw_queue_alloc(c->fd, c->viommu_id,
				     IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 1, iova,
				     QUEUE_ENTRIES * 16, &id) ||
	    _test_ioctl_destroy(c->fd, id))
		return -errno;
	return 0;
}

static void alloc_destroy(struct cmdqv *c, unsigned int n)
{
	/* Warm up, and check that the operation works */
	int rc = cmdqv_queue_cycle(c);
	unsigned int k;
	uint64_t t0;

	settle();
	t0 = now_ns();

	for (k = 0; k < n && !rc; k++)
		rc = cmdqv_queue_cycle(c);
	report_speed("cmdqv_alloc_destroy_8k", n, t0, rc);
}

int main(void)
{
	static const struct {
		unsigned int batch, total;
	} rows[] = { { 1, 2000 }, { 16, 16000 }, { 256, 64000 } };
	struct cmdqv c = cmdqv_setup();
	unsigned int i;

	alloc_destroy(&c, 1000);
	for (i = 0; i != ARRAY_SIZE(rows); i++) {
		run(&c, "queue", rows[i].batch, rows[i].total, queue_batch);
		run(&c, "trapped", rows[i].batch, rows[i].total, trapped_batch);
	}
	return 0;
}
