// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection over a VMM's flow on the emulated Tegra241 CMDQV
 * (tegra241_cmdqv_emu.ko), on a selftest mock device and on one of the
 * module's own devices that a VMM gets through VFIO (then the bind to the
 * iommufd and the attach are under fault injection too): the flow runs
 * again and again with its n-th
 * fault injection site failing (/proc/self/task/<tid>/fail-nth: slab
 * allocations and iommufd's own sites), for n = 1, 2, ... until it runs
 * through with no failure left to inject. Each run must end in an errno
 * and a clean teardown: the runner's kmemleak scan and console checks find
 * nothing, and nothing holds the module once the file is closed.
 *
 * Needs CONFIG_FAILSLAB and CONFIG_FAULT_INJECTION_DEBUG_FS, debugfs mounted,
 * and the module loaded (the test skips without it).
 */
#include <dirent.h>
#include <stdlib.h>

#include "iommufd_utils.h"
#include "iommufd_tegra241_cmdqv_utils.h"
#include "iommufd_tegra241_cmdqv_vfio.h"

#define CMDQV_FLAG MOCK_FLAGS_DEVICE_TEGRA241_CMDQV
#define DEBUGFS "/sys/kernel/debug/"

static int write_file(const char *path, const char *val)
{
	ssize_t len = strlen(val), ret;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ret = write(fd, val, len);
	close(fd);
	return ret == len ? 0 : -1;
}

/*
 * Every slab allocation may be made to fail, and so may iommufd's own
 * injection points (fail_iommufd); all of them quietly
 */
static bool setup_fault_injection(void)
{
	struct dirent *dent;
	char path[300];
	DIR *dir;

	if (write_file(DEBUGFS "failslab/ignore-gfp-wait", "N"))
		return false;
	dir = opendir(DEBUGFS);
	if (!dir)
		return false;
	while ((dent = readdir(dir))) {
		if (strncmp(dent->d_name, "fail", 4))
			continue;
		snprintf(path, sizeof(path), DEBUGFS "%s/verbose",
			 dent->d_name);
		write_file(path, "0");
	}
	closedir(dir);
	return true;
}

/* What the flow needs before the part under fault injection */
struct vmm {
	int fd;
	uint32_t ioas_id;
	uint32_t dev_id;
	uint32_t parent_id;
	__u64 iova;
};

/* The guest's memory, in the IOAS at the start of the mock's aperture */
static int vmm_map_memory(struct vmm *vmm)
{
	vmm->iova = MOCK_APERTURE_START;
	return _test_ioctl_ioas_map(vmm->fd, vmm->ioas_id, buffer, BUFFER_SIZE,
				    &vmm->iova,
				    IOMMU_IOAS_MAP_FIXED_IOVA |
					    IOMMU_IOAS_MAP_WRITEABLE |
					    IOMMU_IOAS_MAP_READABLE);
}

static int vmm_setup(struct vmm *vmm)
{
	vmm->fd = open("/dev/iommu", O_RDWR);
	if (vmm->fd < 0)
		return -1;
	if (_test_ioctl_ioas_alloc(vmm->fd, &vmm->ioas_id) ||
	    _test_cmd_mock_domain_flags(vmm->fd, vmm->ioas_id, CMDQV_FLAG,
					NULL, NULL, &vmm->dev_id) ||
	    _test_cmd_hwpt_alloc(vmm->fd, vmm->dev_id, vmm->ioas_id, 0,
				 IOMMU_HWPT_ALLOC_NEST_PARENT, &vmm->parent_id,
				 IOMMU_HWPT_DATA_NONE, NULL, 0) ||
	    vmm_map_memory(vmm))
		return -1;
	return 0;
}

/*
 * The backend's part of a VMM's flow, stopping at the first failure: the
 * vIOMMU and its page, a vEVENTQ, a vDEVICE, a nested STE, two HW queues, a
 * guest's commands through a queue and through IOMMU_HWPT_INVALIDATE, and an
 * explicit teardown of part of it. Returns 0 if it ran through.
 */
static int vmm_flow(struct vmm *vmm)
{
	struct iommu_viommu_tegra241_cmdqv data = {};
	struct iommu_hwpt_arm_smmuv3 ste = { .ste = { 1 | 4 << 1, 0 } };
	struct iommu_viommu_arm_smmuv3_invalidate inv[2] = {
		{ .cmd = { CMD_TLBI_NH_ASID(5), 0 } },
		{ .cmd = { CMD_ATC_INV(0x42) | ATC_GLOBAL, 0 } },
	};
	uint32_t viommu_id, veventq_id, veventq_fd, vdev_id, hwpt_id, q0, q1;
	uint32_t num = 2;
	void *page;

	if (_test_cmd_viommu_alloc(vmm->fd, vmm->dev_id, vmm->parent_id, 0,
				   IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV, &data,
				   sizeof(data), &viommu_id))
		return -1;
	page = mmap(NULL, data.out_vintf_mmap_length, PROT_READ | PROT_WRITE,
		    MAP_SHARED, vmm->fd, data.out_vintf_mmap_offset);
	if (page == MAP_FAILED)
		return -1;
	if (_test_cmd_veventq_alloc(vmm->fd, viommu_id,
				    IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV, 2,
				    &veventq_id, &veventq_fd))
		goto out_unmap;
	close(veventq_fd);
	if (_test_cmd_vdevice_alloc(vmm->fd, viommu_id, vmm->dev_id, 0x42,
				    &vdev_id) ||
	    _test_cmd_hwpt_alloc(vmm->fd, vmm->dev_id, viommu_id, 0, 0,
				 &hwpt_id, IOMMU_HWPT_DATA_ARM_SMMUV3, &ste,
				 sizeof(ste)) ||
	    _test_cmd_hw_queue_alloc(vmm->fd, viommu_id,
				     IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 0,
				     vmm->iova, PAGE_SIZE, &q0) ||
	    _test_cmd_hw_queue_alloc(vmm->fd, viommu_id,
				     IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 1,
				     vmm->iova + PAGE_SIZE, PAGE_SIZE, &q1))
		goto out_unmap;

	/* The guest's commands: TLBI_NH_ASID, ATC_INV, an illegal one */
	put_cmd(buffer, 0, inv[0].cmd[0], 0);
	put_cmd(buffer, 1, inv[1].cmd[0], 0);
	put_cmd(buffer, 2, CMD_CFGI_STE, 0);
	lvcmdq_write(page, 0, LVCMDQ_CONFIG, 1);
	lvcmdq_write(page, 0, LVCMDQ_PROD, 3);
	if (!lvcmdq_wait(page, 0, LVCMDQ_CONS, CONS_RD, 2))
		goto out_unmap;
	if (_test_cmd_viommu_invalidate(vmm->fd, viommu_id, inv,
					IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
					sizeof(*inv), &num))
		goto out_unmap;
	if (_test_ioctl_destroy(vmm->fd, q1) ||
	    _test_ioctl_destroy(vmm->fd, vdev_id))
		goto out_unmap;
	munmap(page, data.out_vintf_mmap_length);
	return 0;

out_unmap:
	munmap(page, data.out_vintf_mmap_length);
	return -1;
}

/* The VFIO device's part of the setup, outside fault injection */
static int vmm_setup_vfio(struct vmm *vmm, const char *name, int *vfio_fd)
{
	vmm->fd = open("/dev/iommu", O_RDWR);
	*vfio_fd = open_vfio(name);
	if (vmm->fd < 0 || *vfio_fd < 0)
		return -1;
	if (_test_ioctl_ioas_alloc(vmm->fd, &vmm->ioas_id) ||
	    vmm_map_memory(vmm))
		return -1;
	return 0;
}

/* Bind, a nesting parent and the attach to it, then the backend's part */
static int vmm_flow_vfio(struct vmm *vmm, int vfio_fd)
{
	uint32_t pt_id;

	if (bind_iommufd(vfio_fd, vmm->fd, &vmm->dev_id) ||
	    _test_cmd_hwpt_alloc(vmm->fd, vmm->dev_id, vmm->ioas_id, 0,
				 IOMMU_HWPT_ALLOC_NEST_PARENT, &vmm->parent_id,
				 IOMMU_HWPT_DATA_NONE, NULL, 0))
		return -1;
	pt_id = vmm->parent_id;
	if (attach_pt(vfio_fd, &pt_id))
		return -1;
	return vmm_flow(vmm);
}

/* The module's reference count, or -1 */
static int module_refs(void)
{
	char buf[32] = {};
	int fd, n;

	fd = open("/sys/module/tegra241_cmdqv_emu/refcnt", O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

/*
 * Runs the flow with its n-th fault injection site failing, for each n,
 * on a selftest mock device, or on the module's device @name through VFIO
 */
static void run_fail_nth(struct __test_metadata *_metadata,
			 const char *name)
{
	unsigned int nth, injected = 0;
	char path[64], val[32];
	int fail_fd, vfio_fd = -1;
	struct vmm vmm;

	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", gettid());
	fail_fd = open(path, O_RDWR);
	ASSERT_NE(-1, fail_fd);

	for (nth = 1;; nth++) {
		ssize_t len;
		int ret;

		/* Arbitrary: the flow has far fewer allocations than this */
		ASSERT_GT(2000, nth);
		ret = name ? vmm_setup_vfio(&vmm, name, &vfio_fd) :
			     vmm_setup(&vmm);
		ASSERT_EQ(0, ret);
		memset(buffer, 0, 2 * PAGE_SIZE);

		len = snprintf(val, sizeof(val), "%u", nth);
		ASSERT_EQ(len, pwrite(fail_fd, val, len, 0));
		ret = name ? vmm_flow_vfio(&vmm, vfio_fd) : vmm_flow(&vmm);
		/* What is left of the count: 0 once the failure was injected */
		memset(val, 0, sizeof(val));
		ASSERT_LT(0, pread(fail_fd, val, sizeof(val) - 1, 0));
		ASSERT_EQ(1, pwrite(fail_fd, "0", 1, 0));

		/* The teardown, with no fault injected */
		ASSERT_EQ(0, name ? close(vfio_fd) : 0);
		ASSERT_EQ(0, close(vmm.fd));
		if (atoi(val)) {
			/* The nth allocation never came: the flow ran through */
			ASSERT_EQ(0, ret);
			break;
		}
		injected++;
	}
	close(fail_fd);
	ksft_print_msg("%u failures injected\n", injected);
	ASSERT_LT(20, injected);
	/* Nothing is left holding the module */
	ASSERT_EQ(0, module_refs());
}

TEST(fail_nth)
{
	if (!cmdqv_backend_present())
		SKIP(return, CMDQV_SKIP_MSG);
	if (!setup_fault_injection())
		SKIP(return, "no failslab in debugfs");
	run_fail_nth(_metadata, NULL);
}

TEST(fail_nth_vfio)
{
	char name[64];

	if (!cmdqv_backend_present())
		SKIP(return, CMDQV_SKIP_MSG);
	if (!setup_fault_injection())
		SKIP(return, "no failslab in debugfs");
	ASSERT_EQ(0, add_device(name, sizeof(name)));
	run_fail_nth(_metadata, name);
	ASSERT_EQ(0, write_attr(DRIVER_DIR "/remove", name));
}

TEST_HARNESS_MAIN
