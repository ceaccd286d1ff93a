// SPDX-License-Identifier: GPL-2.0-only
/*
 * The emulated Tegra241 CMDQV's own devices, as a VMM gets them: through
 * VFIO's device cdev (/dev/vfio/devices/vfioN), bound to an iommufd with
 * VFIO_DEVICE_BIND_IOMMUFD and attached with VFIO_DEVICE_ATTACH_IOMMUFD_PT,
 * with no IOMMU_TEST_CMD. Each test adds a device through the backend's
 * driver ("add" in /sys/bus/iommufd_mock/drivers/iommufd_mock_backend/) and
 * removes it ("remove") at the end.
 *
 * The module must be loaded, or the tests skip; module_held unloads and
 * reloads it from $TEGRA241_CMDQV_EMU_KO (default
 * /modules/tegra241_cmdqv_emu.ko).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/vfio.h>

#include "iommufd_utils.h"
#include "iommufd_tegra241_cmdqv_utils.h"
#include "iommufd_tegra241_cmdqv_vfio.h"

#define SZ_64K (64UL << 10)
/* STE word 0: V, and CFG in bits 3:1 */
#define STE0_BYPASS (1ULL | 4ULL << 1)

FIXTURE(vfio)
{
	int fd;		/* the VMM's iommufd */
	int vfio_fd;
	char name[64];
	uint32_t ioas_id;
};

FIXTURE_SETUP(vfio)
{
	if (!cmdqv_backend_present())
		SKIP(return, CMDQV_SKIP_MSG);
	ASSERT_EQ(0, add_device(self->name, sizeof(self->name)));
	self->vfio_fd = open_vfio(self->name);
	ASSERT_LE(0, self->vfio_fd);
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
}

FIXTURE_TEARDOWN(vfio)
{
	if (self->vfio_fd >= 0)
		close(self->vfio_fd);
	close(self->fd);
	/* Gone already if a test removed it, or unloaded the module */
	if (bound(self->name))
		ASSERT_EQ(0, write_attr(DRIVER_DIR "/remove", self->name));
}

/* The module's own device, created at load (devices=1 by default) */
TEST_F(vfio, devices_at_load)
{
	struct dirent *d;
	unsigned int n = 0;
	DIR *dir;

	dir = opendir(DRIVER_DIR);
	ASSERT_NE(NULL, dir);
	while ((d = readdir(dir)))
		n += !strncmp(d->d_name, "iommufd_mock", 12);
	closedir(dir);
	/* This test's and at least the module's */
	ASSERT_LE(2, n);
	/* Not a device of the driver */
	ASSERT_NE(0, write_attr(DRIVER_DIR "/remove", "iommufd_mock99999"));
	EXPECT_EQ(ENODEV, errno);
}

/* Bound once; the device ID serves the hardware information of the SMMU */
TEST_F(vfio, bind)
{
	struct iommu_hw_info_tegra241_cmdqv cmdqv = {};
	struct iommu_hw_info_arm_smmuv3 smmu = {};
	uint32_t cmdqv_len = sizeof(cmdqv), smmu_len = sizeof(smmu);
	uint32_t dev_id, dev_id2, type;
	int fd2;

	/* Not bound yet: nothing but binding */
	EXPECT_ERRNO(EINVAL, detach_pt(self->vfio_fd));
	ASSERT_EQ(0, bind_iommufd(self->vfio_fd, self->fd, &dev_id));
	EXPECT_ERRNO(EINVAL, bind_iommufd(self->vfio_fd, self->fd, &dev_id2));
	/* One open file at a time binds */
	fd2 = open_vfio(self->name);
	ASSERT_LE(0, fd2);
	EXPECT_ERRNO(EINVAL, bind_iommufd(fd2, self->fd, &dev_id2));
	close(fd2);

	ASSERT_EQ(0, get_hw_info(self->fd, dev_id, IOMMU_HW_INFO_TYPE_DEFAULT,
				 &smmu, &smmu_len, &type));
	ASSERT_EQ(IOMMU_HW_INFO_TYPE_ARM_SMMUV3, type);
	ASSERT_NE(0, smmu.idr[0]);
	ASSERT_EQ(0, get_hw_info(self->fd, dev_id,
				 IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, &cmdqv,
				 &cmdqv_len, &type));
	ASSERT_EQ(IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, type);
	ASSERT_NE(0, cmdqv.log2vcmdqs);
}

/*
 * QEMU 11.1's accelerated SMMUv3 takes a host SMMU only if its hardware
 * information is compatible with the vSMMU it emulates: each check of
 * smmuv3_accel_check_hw_compatible() (hw/arm/smmuv3-accel.c, qemu.git
 * 13b941aaff48, lines 74-167; the values are QEMU's defaults from
 * smmuv3_init_id_regs() in hw/arm/smmuv3.c, with ats=on and oas=48, the
 * most a VMM asks), after its type check (smmuv3_accel_hw_compatible(),
 * lines 169-193). Then, with cmdqv=on, tegra241_cmdqv_probe()
 * (hw/arm/tegra241-cmdqv.c) asks for the CMDQV's information.
 */
TEST_F(vfio, qemu_hw_info)
{
	struct iommu_hw_info_tegra241_cmdqv cmdqv = {};
	struct iommu_hw_info_arm_smmuv3 smmu = {};
	uint32_t cmdqv_len = sizeof(cmdqv), smmu_len = sizeof(smmu);
	uint32_t dev_id, type, idr0, idr1, idr3, idr5;
	struct iommu_hw_info info = { .size = sizeof(info) };

	ASSERT_EQ(0, bind_iommufd(self->vfio_fd, self->fd, &dev_id));
	info.dev_id = dev_id;
	ASSERT_EQ(0, get_hw_info(self->fd, dev_id, IOMMU_HW_INFO_TYPE_DEFAULT,
				 &smmu, &smmu_len, &type));
	/* "Wrong data type (%d) for Host SMMUv3 device info" */
	ASSERT_EQ(IOMMU_HW_INFO_TYPE_ARM_SMMUV3, type);
	idr0 = smmu.idr[0];
	idr1 = smmu.idr[1];
	idr3 = smmu.idr[3];
	idr5 = smmu.idr[5];
	/* Line 82: IDR0.STLEVEL (28:27) equal to QEMU's, 1: two levels */
	ASSERT_EQ(1, (idr0 >> 27) & 0x3);
	/* Line 92: IDR0.TTENDIAN (22:21) not above 2, little endian */
	ASSERT_GE(2, (idr0 >> 21) & 0x3);
	/* Line 100: IDR0.TTF (3:2) at least 2, AArch64 */
	ASSERT_LE(2, (idr0 >> 2) & 0x3);
	/* Line 108: IDR1.SIDSIZE (5:0) at least 16 */
	ASSERT_LE(16, idr1 & 0x3f);
	/* Line 118: IDR1.SSIDSIZE (10:6) at least the vSMMU's, 0 to 20 */
	ASSERT_LE(20, (idr1 >> 6) & 0x1f);
	/* Line 128: IDR3.RIL (10) at least the vSMMU's, 1 */
	ASSERT_EQ(1, (idr3 >> 10) & 1);
	/* Line 134: IDR5.OAS (2:0) at least the vSMMU's: 5, 48 bits */
	ASSERT_LE(5, idr5 & 0x7);
	/* Line 143: IDR0.ATS (10) at least the vSMMU's, 1 with ats=on */
	ASSERT_EQ(1, (idr0 >> 10) & 1);
	/* Lines 150, 155, 160: IDR5.GRAN4K (4), GRAN16K (5), GRAN64K (6) set */
	ASSERT_EQ(0x7, (idr5 >> 4) & 0x7);
	/* What nesting needs besides: both stages (IDR0.S1P, S2P) */
	ASSERT_EQ(0x3, idr0 & 0x3);
	/*
	 * vfio-pci's ats=auto (QEMU 11.1, vfio_pci_add_capabilities()) hides
	 * the function's ATS capability from the guest if the host reports
	 * IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED, and ats=on then fails.
	 */
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_GET_HW_INFO, &info));
	ASSERT_EQ(0, info.out_capabilities & IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED);

	/*
	 * tegra241_cmdqv_probe(): the type, version 1, at least 2 VCMDQs
	 * (log2vcmdqs >= 1) and 16 SIDs (log2vsids >= 4) per VINTF
	 */
	ASSERT_EQ(0, get_hw_info(self->fd, dev_id,
				 IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, &cmdqv,
				 &cmdqv_len, &type));
	ASSERT_EQ(IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, type);
	ASSERT_EQ(1, cmdqv.version);
	ASSERT_LE(1, cmdqv.log2vcmdqs);
	ASSERT_LE(4, cmdqv.log2vsids);
}

#define BAR0_ATC(i) (0x100 + 4 * (i))

static uint32_t bar0_read(int vfio_fd, unsigned int offset)
{
	uint32_t v;

	if (pread(vfio_fd, &v, 4,
		  ((uint64_t)VFIO_PCI_BAR0_REGION_INDEX << 40) + offset) != 4)
		return 0xdeadbeef;
	return v;
}

static int bar0_write(int vfio_fd, unsigned int offset, uint32_t v)
{
	return pwrite(vfio_fd, &v, 4,
		      ((uint64_t)VFIO_PCI_BAR0_REGION_INDEX << 40) + offset) ==
			       4 ?
		       0 :
		       -1;
}

/*
 * A VMM's VM on the device, as QEMU sets it up: bound, the guest's memory
 * mapped, a nesting parent attached, a vIOMMU with its VINTF page mapped, a
 * vDEVICE of vSID 0, and a nested STE attached
 */
struct vm {
	struct iommu_viommu_tegra241_cmdqv data;
	uint32_t dev_id, parent_id, viommu_id, vdev_id, nested_id;
	uint32_t *page;
};

static void vm_up(struct __test_metadata *_metadata,
		  struct _test_data_vfio *self,
		  struct vm *vm)
{
	struct iommu_hwpt_arm_smmuv3 ste = { .ste = { STE0_BYPASS, 0 } };
	uint32_t pt_id;

	memset(vm, 0, sizeof(*vm));
	ASSERT_EQ(0, bind_iommufd(self->vfio_fd, self->fd, &vm->dev_id));
	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, MOCK_APERTURE_START);
	test_cmd_hwpt_alloc(vm->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &vm->parent_id);
	pt_id = vm->parent_id;
	ASSERT_EQ(0, attach_pt(self->vfio_fd, &pt_id));
	ASSERT_EQ(vm->parent_id, pt_id);
	ASSERT_EQ(0, _test_cmd_viommu_alloc(self->fd, vm->dev_id,
					    vm->parent_id, 0,
					    IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV,
					    &vm->data, sizeof(vm->data),
					    &vm->viommu_id));
	vm->page = mmap(NULL, vm->data.out_vintf_mmap_length,
			PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
			vm->data.out_vintf_mmap_offset);
	ASSERT_NE(MAP_FAILED, vm->page);
	test_cmd_vdevice_alloc(vm->viommu_id, vm->dev_id, 0, &vm->vdev_id);
	ASSERT_EQ(0, _test_cmd_hwpt_alloc(self->fd, vm->dev_id, vm->viommu_id,
					  0, 0, &vm->nested_id,
					  IOMMU_HWPT_DATA_ARM_SMMUV3, &ste,
					  sizeof(ste)));
	pt_id = vm->nested_id;
	ASSERT_EQ(0, attach_pt(self->vfio_fd, &pt_id));
}

/*
 * A VMM's flow on the device: the VM, a HW queue that executes the guest's
 * commands, and the teardown in descending order.
 */
TEST_F(vfio, flow)
{
	const unsigned int entries = 8;
	uint32_t qid, pt_id, i;
	struct vm vm;

	vm_up(_metadata, self, &vm);
	/* The guest's queue: it runs, from the memory the VMM mapped */
	test_cmd_hw_queue_alloc(vm.viommu_id,
				IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 0,
				MOCK_APERTURE_START, entries * 16, &qid);
	/* The function has cached translations for SSIDs 0 to 3 */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, bar0_write(self->vfio_fd, BAR0_ATC(i), 0xa0 + i));
	put_cmd(buffer, 0, CMD_TLBI_NH_ASID(1), 0);
	put_cmd(buffer, 1, CMD_ATC_INV(0), ATC_ALL_ADDRS);
	put_cmd(buffer, 2, CMD_ATC_INV(0) | ATC_SSID(2), ATC_ALL_ADDRS);
	put_cmd(buffer, 3, CMD_SYNC, 0);
	lvcmdq_write(vm.page, 0, LVCMDQ_CONFIG, 1);
	lvcmdq_write(vm.page, 0, LVCMDQ_PROD, 4);
	ASSERT_TRUE(lvcmdq_wait(vm.page, 0, LVCMDQ_CONS,
				CONS_RD | 0x7f << 24, 4));
	/* vSID 0 is the function: its ATC lost SSIDs 0 and 2 only */
	ASSERT_EQ(0, bar0_read(self->vfio_fd, BAR0_ATC(0)));
	ASSERT_EQ(0xa1, bar0_read(self->vfio_fd, BAR0_ATC(1)));
	ASSERT_EQ(0, bar0_read(self->vfio_fd, BAR0_ATC(2)));
	ASSERT_EQ(0xa3, bar0_read(self->vfio_fd, BAR0_ATC(3)));

	/* Descending, as a VMM tears down */
	lvcmdq_write(vm.page, 0, LVCMDQ_CONFIG, 0);
	test_ioctl_destroy(qid);
	pt_id = vm.parent_id;
	ASSERT_EQ(0, attach_pt(self->vfio_fd, &pt_id));
	test_ioctl_destroy(vm.nested_id);
	test_ioctl_destroy(vm.vdev_id);
	ASSERT_EQ(0, munmap(vm.page, vm.data.out_vintf_mmap_length));
	test_ioctl_destroy(vm.viommu_id);
	ASSERT_EQ(0, detach_pt(self->vfio_fd));
	test_ioctl_destroy(vm.parent_id);
	test_ioctl_ioas_unmap(MOCK_APERTURE_START, BUFFER_SIZE);
}

/*
 * With cmdqv=off a VMM allocates the plain vSMMUv3 on the same device: no
 * VINTF, no HW queue, and the guest's invalidations trapped to
 * IOMMU_HWPT_INVALIDATE, whose ATC_INV reaches the function's ATC.
 */
TEST_F(vfio, viommu_arm_smmuv3)
{
	struct iommu_hwpt_arm_smmuv3 ste = { .ste = { STE0_BYPASS, 0 } };
	struct iommu_viommu_arm_smmuv3_invalidate inv[2] = {
		{ .cmd = { CMD_TLBI_NH_ASID(5), 0 } },
		{ .cmd = { CMD_ATC_INV(0x42) | ATC_SSID(1), ATC_ALL_ADDRS } },
	};
	uint32_t dev_id, parent_id, viommu_id, vdev_id, nested_id, qid;
	uint32_t pt_id, num = 2;

	ASSERT_EQ(0, bind_iommufd(self->vfio_fd, self->fd, &dev_id));
	test_cmd_hwpt_alloc(dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id);
	pt_id = parent_id;
	ASSERT_EQ(0, attach_pt(self->vfio_fd, &pt_id));
	ASSERT_EQ(0, _test_cmd_viommu_alloc(self->fd, dev_id, parent_id, 0,
					    IOMMU_VIOMMU_TYPE_ARM_SMMUV3, NULL,
					    0, &viommu_id));
	test_err_hw_queue_alloc(EOPNOTSUPP, viommu_id,
				IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 0,
				MOCK_APERTURE_START, 4096, &qid);
	test_cmd_vdevice_alloc(viommu_id, dev_id, 0x42, &vdev_id);
	ASSERT_EQ(0, _test_cmd_hwpt_alloc(self->fd, dev_id, viommu_id, 0, 0,
					  &nested_id,
					  IOMMU_HWPT_DATA_ARM_SMMUV3, &ste,
					  sizeof(ste)));
	pt_id = nested_id;
	ASSERT_EQ(0, attach_pt(self->vfio_fd, &pt_id));

	/* The function cached a translation for SSID 1; the guest drops it */
	ASSERT_EQ(0, bar0_write(self->vfio_fd, BAR0_ATC(1), 0xa1));
	ASSERT_EQ(0, _test_cmd_viommu_invalidate(
			     self->fd, viommu_id, inv,
			     IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
			     sizeof(*inv), &num));
	ASSERT_EQ(2, num);
	ASSERT_EQ(0, bar0_read(self->vfio_fd, BAR0_ATC(1)));

	ASSERT_EQ(0, detach_pt(self->vfio_fd));
	test_ioctl_destroy(nested_id);
	test_ioctl_destroy(vdev_id);
	test_ioctl_destroy(viommu_id);
	test_ioctl_destroy(parent_id);
}

/*
 * The VMM closes the device, then the iommufd, with everything alive: a
 * queue enabled, its vIOMMU mapped, a vDEVICE and a nested STE attached.
 */
TEST_F(vfio, close_live)
{
	uint32_t dev_id, qid;
	struct vm vm;

	vm_up(_metadata, self, &vm);
	test_cmd_hw_queue_alloc(vm.viommu_id,
				IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 0,
				MOCK_APERTURE_START, 128, &qid);
	lvcmdq_write(vm.page, 0, LVCMDQ_CONFIG, 1);

	/* Unbinding takes the vDEVICE with it, the rest stays the VMM's */
	ASSERT_EQ(0, close(self->vfio_fd));
	self->vfio_fd = -1;
	EXPECT_ERRNO(ENOENT, _test_ioctl_destroy(self->fd, vm.vdev_id));
	/* The file is the VMM's again, and binds */
	self->vfio_fd = open_vfio(self->name);
	ASSERT_LE(0, self->vfio_fd);
	ASSERT_EQ(0, bind_iommufd(self->vfio_fd, self->fd, &dev_id));
	ASSERT_EQ(0, close(self->vfio_fd));
	self->vfio_fd = -1;
	/* The rest goes with the iommufd, after the mapping */
	ASSERT_EQ(0, munmap(vm.page, vm.data.out_vintf_mmap_length));
}

static int region_info(int vfio_fd, uint32_t index,
		       struct vfio_region_info *info)
{
	*info = (struct vfio_region_info){
		.argsz = sizeof(*info),
		.index = index,
	};
	return ioctl(vfio_fd, VFIO_DEVICE_GET_REGION_INFO, info);
}

static uint32_t cfg_read(int vfio_fd, unsigned int offset, unsigned int size)
{
	uint32_t v = 0;

	if (pread(vfio_fd, &v, size,
		  ((uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << 40) + offset) !=
	    size)
		return 0xdeadbeef;
	return v;
}

static int cfg_write(int vfio_fd, unsigned int offset, uint32_t v,
		     unsigned int size)
{
	return pwrite(vfio_fd, &v, size,
		      ((uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << 40) + offset) ==
			       size ?
		       0 :
		       -1;
}

/*
 * What QEMU's vfio-pci reads of a device before it takes it: a PCI
 * function with the nine regions and five interrupt indexes of vfio-pci, a
 * 4 KiB configuration space (PCI Express) and BAR 0, no interrupts.
 */
TEST_F(vfio, pci_info)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_irq_info irq = { .argsz = sizeof(irq) };
	struct vfio_region_info region;
	uint32_t dev_id, index;

	/* Nothing but binding before the bind */
	EXPECT_ERRNO(EINVAL, ioctl(self->vfio_fd, VFIO_DEVICE_GET_INFO, &info));
	ASSERT_EQ(0, bind_iommufd(self->vfio_fd, self->fd, &dev_id));

	ASSERT_EQ(0, ioctl(self->vfio_fd, VFIO_DEVICE_GET_INFO, &info));
	ASSERT_EQ(VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET, info.flags);
	ASSERT_EQ(VFIO_PCI_NUM_REGIONS, info.num_regions);
	ASSERT_EQ(VFIO_PCI_NUM_IRQS, info.num_irqs);
	info.argsz = 8;
	EXPECT_ERRNO(EINVAL, ioctl(self->vfio_fd, VFIO_DEVICE_GET_INFO, &info));

	for (index = 0; index < VFIO_PCI_NUM_REGIONS; index++) {
		ASSERT_EQ(0, region_info(self->vfio_fd, index, &region));
		ASSERT_EQ((uint64_t)index << 40, region.offset);
		if (index == VFIO_PCI_CONFIG_REGION_INDEX ||
		    index == VFIO_PCI_BAR0_REGION_INDEX) {
			ASSERT_EQ(4096, region.size);
			ASSERT_EQ(VFIO_REGION_INFO_FLAG_READ |
					  VFIO_REGION_INFO_FLAG_WRITE,
				  region.flags);
		} else {
			ASSERT_EQ(0, region.size);
		}
	}
	EXPECT_ERRNO(EINVAL, region_info(self->vfio_fd, VFIO_PCI_NUM_REGIONS,
					 &region));

	for (index = 0; index < VFIO_PCI_NUM_IRQS; index++) {
		irq.index = index;
		ASSERT_EQ(0, ioctl(self->vfio_fd, VFIO_DEVICE_GET_IRQ_INFO,
				   &irq));
		ASSERT_EQ(0, irq.count);
	}
	irq.index = VFIO_PCI_NUM_IRQS;
	EXPECT_ERRNO(EINVAL,
		     ioctl(self->vfio_fd, VFIO_DEVICE_GET_IRQ_INFO, &irq));
}

/*
 * The configuration space: a type 0 header, the PCI Express capability,
 * ATS in the extended space; only the command register and ATS control
 * take writes. BAR 0: the StreamID and a scratch register. A reset puts
 * them back.
 */
TEST_F(vfio, pci_config)
{
	uint8_t config[4096];
	uint32_t dev_id, v;
	uint64_t bar0 = (uint64_t)VFIO_PCI_BAR0_REGION_INDEX << 40;

	ASSERT_EQ(0, bind_iommufd(self->vfio_fd, self->fd, &dev_id));
	/* Read whole, in one call, as QEMU does */
	ASSERT_EQ(sizeof(config),
		  pread(self->vfio_fd, config, sizeof(config),
			(uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << 40));
	ASSERT_EQ(0x1b36, config[0] | config[1] << 8);
	ASSERT_EQ(0x0005, config[2] | config[3] << 8);
	ASSERT_EQ(0x10, config[6] & 0x10);	/* capability list */
	ASSERT_EQ(0xff, config[0xb]);		/* class */
	ASSERT_EQ(0, config[0xe]);		/* type 0 header */
	ASSERT_EQ(0, config[0x3d]);		/* no interrupt pin */
	ASSERT_EQ(0x40, config[0x34]);
	ASSERT_EQ(0x10, config[0x40]);		/* PCI Express */
	ASSERT_EQ(0, config[0x41]);		/* last capability */
	/* ATS, the only extended capability */
	ASSERT_EQ(0x000f, config[0x100] | config[0x101] << 8);
	ASSERT_EQ(0, config[0x103] >> 4 | config[0x102] >> 4);

	/* Read-only: IDs */
	ASSERT_EQ(0, cfg_write(self->vfio_fd, 0, 0x12345678, 4));
	ASSERT_EQ(0x00051b36, cfg_read(self->vfio_fd, 0, 4));
	/* Memory space and bus master take; other command bits do not */
	ASSERT_EQ(0, cfg_write(self->vfio_fd, 4, 0xffff, 2));
	ASSERT_EQ(0x0406, cfg_read(self->vfio_fd, 4, 2));
	/* ATS enable and STU */
	ASSERT_EQ(0, cfg_write(self->vfio_fd, 0x106, 0x8000 | 3, 2));
	ASSERT_EQ(0x8003, cfg_read(self->vfio_fd, 0x106, 2));
	/* Past the end */
	ASSERT_NE(0, cfg_write(self->vfio_fd, 4095, 0, 2));

	/* BAR 0: the ATC, empty after the reset at creation; it takes writes */
	for (v = 0; v < 4; v++)
		ASSERT_EQ(0, bar0_read(self->vfio_fd, BAR0_ATC(v)));
	ASSERT_EQ(0, bar0_write(self->vfio_fd, BAR0_ATC(2), 0x77));
	ASSERT_EQ(0x77, bar0_read(self->vfio_fd, BAR0_ATC(2)));
	/* The StreamID, read-only */
	ASSERT_EQ(0, bar0_write(self->vfio_fd, 0, 0x1234));
	ASSERT_EQ(4, pread(self->vfio_fd, &v, 4, bar0));
	ASSERT_EQ(0, strncmp(self->name, "iommufd_mock", 12));
	ASSERT_EQ(strtoul(self->name + 12, NULL, 10), v);
	v = 0xcafe;
	ASSERT_EQ(4, pwrite(self->vfio_fd, &v, 4, bar0 + 4));
	v = 0;
	ASSERT_EQ(4, pread(self->vfio_fd, &v, 4, bar0 + 4));
	ASSERT_EQ(0xcafe, v);
	/* A region the function does not have */
	EXPECT_ERRNO(EINVAL,
		     pread(self->vfio_fd, &v, 4,
			   (uint64_t)VFIO_PCI_BAR1_REGION_INDEX << 40));

	/* Reset */
	ASSERT_EQ(0, ioctl(self->vfio_fd, VFIO_DEVICE_RESET));
	ASSERT_EQ(0, cfg_read(self->vfio_fd, 4, 2));
	ASSERT_EQ(0, cfg_read(self->vfio_fd, 0x106, 2));
	ASSERT_EQ(4, pread(self->vfio_fd, &v, 4, bar0 + 4));
	ASSERT_EQ(0, v);
	ASSERT_EQ(0, bar0_read(self->vfio_fd, BAR0_ATC(2)));
}

struct remover {
	const char *name;
	int ret;
	bool done;
};

static void *remove_device(void *arg)
{
	struct remover *r = arg;

	r->ret = write_attr(DRIVER_DIR "/remove", r->name);
	__atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Removing a device that a VMM has open waits for the VMM to close it
 * (VFIO asks it to, through the driver's request callback), then goes.
 */
TEST_F(vfio, remove_while_open)
{
	struct remover r = { .name = self->name };
	uint32_t dev_id, pt_id;
	pthread_t t;

	ASSERT_EQ(0, bind_iommufd(self->vfio_fd, self->fd, &dev_id));
	test_cmd_hwpt_alloc(dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &pt_id);
	ASSERT_EQ(0, attach_pt(self->vfio_fd, &pt_id));
	ASSERT_EQ(0, pthread_create(&t, NULL, remove_device, &r));
	usleep(200000);
	ASSERT_FALSE(__atomic_load_n(&r.done, __ATOMIC_ACQUIRE));
	/* Still working meanwhile */
	ASSERT_EQ(0, detach_pt(self->vfio_fd));
	ASSERT_EQ(0, close(self->vfio_fd));
	self->vfio_fd = -1;
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, r.ret);
	ASSERT_FALSE(bound(self->name));
	/* The iommufd's objects are the VMM's, and go */
	test_ioctl_destroy(pt_id);
}

/*
 * A bound device holds the module; once closed, the module unloads (with
 * its devices) and loads again with a device of its own.
 */
TEST_F(vfio, module_held)
{
	uint32_t dev_id;

	ASSERT_EQ(0, bind_iommufd(self->vfio_fd, self->fd, &dev_id));
	EXPECT_ERRNO(EWOULDBLOCK, cmdqv_unload());
	ASSERT_EQ(0, close(self->vfio_fd));
	self->vfio_fd = -1;
	ASSERT_EQ(0, cmdqv_unload());
	ASSERT_NE(0, access(DRIVER_DIR, F_OK));
	ASSERT_EQ(0, cmdqv_load());
	ASSERT_FALSE(bound(self->name));
	ASSERT_EQ(0, access(DRIVER_DIR "/add", F_OK));
}

TEST_HARNESS_MAIN
