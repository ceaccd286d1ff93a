// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VMM's flow on a Tegra241 CMDQV, against the emulated one
 * (tegra241_cmdqv_emu.ko) behind the selftest's mock devices created with
 * MOCK_FLAGS_DEVICE_TEGRA241_CMDQV: hardware information, the vIOMMU and its
 * mmapped VINTF page, nested STE domains, vDEVICEs and HW queues, with the
 * errnos of upstream's tegra241-cmdqv.c and arm-smmu-v3-iommufd.c, then the
 * teardown in descending order and the module's lifetime.
 *
 * The module must be loaded; the last test unloads and reloads it from
 * $TEGRA241_CMDQV_EMU_KO (default /modules/tegra241_cmdqv_emu.ko).
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "iommufd_utils.h"

#define MODULE_NAME "tegra241_cmdqv_emu"
#define MODULE_PATH "/modules/" MODULE_NAME ".ko"
#define CMDQV_FLAG MOCK_FLAGS_DEVICE_TEGRA241_CMDQV
#define VIOMMU_TYPE IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV
#define QUEUE_TYPE IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV
#define SZ_64K (64UL << 10)
#define SZ_2M (2UL << 20)

/* What the emulated CMDQV has: VINTFs 1-3 for guests */
#define USER_VINTFS 3
#define LVCMDQS 4
#define SID_SLOTS 16
/* IDR1.CMDQS: queues of up to 1 << (18 + 4) bytes */
#define CMDQS 18

/* STE word 0: V, and CFG in bits 3:1 */
#define STE0_V 1ULL
#define STE0_CFG(cfg) ((unsigned long long)(cfg) << 1)
#define STE_CFG_ABORT 0
#define STE_CFG_BYPASS 4
#define STE_CFG_S1_TRANS 5
#define STE_CFG_S2_TRANS 6
/* STE word 1: EATS in bits 29:28 */
#define STE1_EATS(eats) ((unsigned long long)(eats) << 28)

/* LVCMDQ registers in VINTF page0, 0x80 bytes each, read as MMIO is */
static uint32_t lvcmdq_reg(void *page, unsigned int lidx, unsigned int off)
{
	return __atomic_load_n((uint32_t *)((char *)page + 0x80 * lidx + off),
			       __ATOMIC_RELAXED);
}

#define LVCMDQ_REG(page, lidx, off) lvcmdq_reg(page, lidx, off)

static void lvcmdq_write(void *page, unsigned int lidx, unsigned int off,
			 uint32_t val)
{
	__atomic_store_n((uint32_t *)((char *)page + 0x80 * lidx + off), val,
			 __ATOMIC_RELEASE);
}

/* Waits up to 2 s for the hardware to set (reg & mask) to want */
static bool lvcmdq_wait(void *page, unsigned int lidx, unsigned int off,
			uint32_t mask, uint32_t want)
{
	int i;

	for (i = 0; i != 2000; i++) {
		if ((lvcmdq_reg(page, lidx, off) & mask) == want)
			return true;
		usleep(1000);
	}
	return false;
}

#define CONS_RD 0xfffffu
#define CONS_ERR(cons) (((cons) >> 24) & 0x7f)
#define CERROR_ILL 1

/* Commands: TLBI_NH_ASID, CMD_SYNC (CS_NONE), CFGI_STE (the host's) */
#define CMD_TLBI_NH_ASID(asid) (0x11ULL | (uint64_t)(asid) << 48)
#define CMD_SYNC 0x46ULL
#define CMD_CFGI_STE 0x03ULL

static void put_cmd(void *queue, unsigned int index, uint64_t dw0, uint64_t dw1)
{
	uint64_t *entry = (uint64_t *)queue + 2 * index;

	entry[0] = dw0;
	entry[1] = dw1;
}
#define LVCMDQ_CONS 0x00
#define LVCMDQ_PROD 0x04
#define LVCMDQ_CONFIG 0x08
#define LVCMDQ_STATUS 0x0c
#define LVCMDQ_GERROR 0x10
#define LVCMDQ_GERRORN 0x14

static __attribute__((constructor)) void setup_buffers(void)
{
	PAGE_SIZE = sysconf(_SC_PAGE_SIZE);
	BUFFER_SIZE = SZ_2M;
	/* Guest queue memory: a hugepage, so physically contiguous */
	buffer = mmap(NULL, BUFFER_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	assert(buffer != MAP_FAILED);
	memset(buffer, 0, BUFFER_SIZE);
}

static int get_hw_info(int fd, uint32_t dev_id, uint32_t in_type, void *data,
		       uint32_t *len, uint32_t *out_type)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = dev_id,
		.data_len = *len,
		.data_uptr = (uintptr_t)data,
	};
	int ret;

	if (in_type != IOMMU_HW_INFO_TYPE_DEFAULT) {
		cmd.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
		cmd.in_data_type = in_type;
	}
	ret = ioctl(fd, IOMMU_GET_HW_INFO, &cmd);
	if (ret)
		return ret;
	*len = cmd.data_len;
	*out_type = cmd.out_data_type;
	return 0;
}

static int alloc_viommu(int fd, uint32_t dev_id, uint32_t hwpt_id,
			struct iommu_viommu_tegra241_cmdqv *data,
			uint32_t data_len, uint32_t *viommu_id)
{
	return _test_cmd_viommu_alloc(fd, dev_id, hwpt_id, 0, VIOMMU_TYPE,
				      data, data_len, viommu_id);
}

static int alloc_nested(int fd, uint32_t dev_id, uint32_t viommu_id,
			uint32_t flags, uint64_t ste0, uint64_t ste1,
			uint32_t *hwpt_id)
{
	struct iommu_hwpt_arm_smmuv3 data = { .ste = { ste0, ste1 } };

	return _test_cmd_hwpt_alloc(fd, dev_id, viommu_id, 0, flags, hwpt_id,
				    IOMMU_HWPT_DATA_ARM_SMMUV3, &data,
				    sizeof(data));
}

static int delete_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

static int load_module(void)
{
	const char *path = getenv("TEGRA241_CMDQV_EMU_KO");
	int fd, ret;

	fd = open(path ? path : MODULE_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

/* A VMM with one device: an IOAS, the device, a nesting parent */
FIXTURE(cmdqv)
{
	int fd;
	uint32_t ioas_id;
	uint32_t stdev_id;
	uint32_t dev_id;
	uint32_t parent_id;
};

FIXTURE_SETUP(cmdqv)
{
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	test_cmd_mock_domain_flags(self->ioas_id, CMDQV_FLAG, &self->stdev_id,
				   NULL, &self->dev_id);
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &self->parent_id);
}

FIXTURE_TEARDOWN(cmdqv)
{
	teardown_iommufd(self->fd, _metadata);
}

/* Without INPUT_TYPE: the SMMUv3 the CMDQV extends */
TEST_F(cmdqv, hw_info_default)
{
	struct iommu_hw_info_arm_smmuv3 info = {};
	uint32_t len = sizeof(info), type;

	ASSERT_EQ(0, get_hw_info(self->fd, self->dev_id,
				 IOMMU_HW_INFO_TYPE_DEFAULT, &info, &len,
				 &type));
	ASSERT_EQ(IOMMU_HW_INFO_TYPE_ARM_SMMUV3, type);
	ASSERT_EQ(sizeof(info), len);
	ASSERT_EQ(0, info.flags);
	/* S1P, S2P, AArch64 tables */
	ASSERT_EQ(0xb, info.idr[0] & 0xf);
	ASSERT_EQ(CMDQS, (info.idr[1] >> 21) & 0x1f);
	/* Arm as the implementer, SMMUv3.2 */
	ASSERT_EQ(0x43b, info.iidr & 0xfff);
	ASSERT_EQ(0x2, info.aidr);

	/* The same when asked for by name */
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, get_hw_info(self->fd, self->dev_id,
				 IOMMU_HW_INFO_TYPE_ARM_SMMUV3, &info, &len,
				 &type));
	ASSERT_EQ(IOMMU_HW_INFO_TYPE_ARM_SMMUV3, type);
	ASSERT_EQ(CMDQS, (info.idr[1] >> 21) & 0x1f);
}

/* With INPUT_TYPE and TEGRA241_CMDQV: what QEMU's probe checks */
TEST_F(cmdqv, hw_info_cmdqv)
{
	struct iommu_hw_info_tegra241_cmdqv info = {};
	uint32_t len = sizeof(info), type;

	ASSERT_EQ(0, get_hw_info(self->fd, self->dev_id,
				 IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, &info,
				 &len, &type));
	ASSERT_EQ(IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, type);
	ASSERT_EQ(sizeof(info), len);
	ASSERT_EQ(0, info.flags);
	ASSERT_EQ(1, info.version);
	ASSERT_EQ(LVCMDQS, 1 << info.log2vcmdqs);
	ASSERT_EQ(SID_SLOTS, 1 << info.log2vsids);

	/* Other types are not the backend's */
	len = sizeof(info);
	EXPECT_ERRNO(EOPNOTSUPP,
		     get_hw_info(self->fd, self->dev_id,
				 IOMMU_HW_INFO_TYPE_SELFTEST, &info, &len,
				 &type));
	len = sizeof(info);
	EXPECT_ERRNO(EOPNOTSUPP,
		     get_hw_info(self->fd, self->dev_id,
				 IOMMU_HW_INFO_TYPE_INTEL_VTD, &info, &len,
				 &type));
}

/* A plain mock device is still the selftest's */
TEST_F(cmdqv, plain_device_unchanged)
{
	struct iommu_viommu_tegra241_cmdqv data = {};
	uint32_t dev_id, hwpt_id, viommu_id;

	test_cmd_mock_domain(self->ioas_id, NULL, NULL, &dev_id);
	test_cmd_get_hw_info(dev_id, IOMMU_HW_INFO_TYPE_DEFAULT, NULL, 0);
	test_cmd_hwpt_alloc(dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &hwpt_id);
	EXPECT_ERRNO(EOPNOTSUPP, alloc_viommu(self->fd, dev_id, hwpt_id, &data,
					      sizeof(data), &viommu_id));
	/* And the backend's device gets no selftest vIOMMU */
	test_err_viommu_alloc(EOPNOTSUPP, self->dev_id, self->parent_id,
			      IOMMU_VIOMMU_TYPE_SELFTEST, NULL, 0, &viommu_id);
	/* Unknown device flags are still refused */
	test_err_mock_domain_flags(EINVAL, self->ioas_id, 1 << 1, NULL, NULL);
}

TEST_F(cmdqv, viommu_alloc)
{
	struct iommu_viommu_tegra241_cmdqv data = {}, big[2] = {};
	uint32_t viommu_ids[USER_VINTFS], viommu_id, paging_id;
	uint32_t *page;
	int i;

	/* Driver data is required, exactly 16 bytes of it */
	EXPECT_ERRNO(EINVAL, alloc_viommu(self->fd, self->dev_id,
					  self->parent_id, NULL, 0,
					  &viommu_id));
	EXPECT_ERRNO(EINVAL, alloc_viommu(self->fd, self->dev_id,
					  self->parent_id, &data, 8,
					  &viommu_id));
	EXPECT_ERRNO(EINVAL, alloc_viommu(self->fd, self->dev_id,
					  self->parent_id, big, sizeof(big),
					  &viommu_id));
	/* The parent must be a nesting parent */
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id, 0, &paging_id);
	EXPECT_ERRNO(EINVAL, alloc_viommu(self->fd, self->dev_id, paging_id,
					  &data, sizeof(data), &viommu_id));
	test_ioctl_destroy(paging_id);

	/* One VINTF each, until they run out */
	for (i = 0; i != USER_VINTFS; i++) {
		memset(&data, 0, sizeof(data));
		ASSERT_EQ(0, alloc_viommu(self->fd, self->dev_id,
					  self->parent_id, &data, sizeof(data),
					  &viommu_ids[i]));
		ASSERT_EQ(SZ_64K, data.out_vintf_mmap_length);
		ASSERT_NE(0, data.out_vintf_mmap_offset);
		ASSERT_EQ(0, data.out_vintf_mmap_offset % PAGE_SIZE);
	}
	EXPECT_ERRNO(ENOSPC, alloc_viommu(self->fd, self->dev_id,
					  self->parent_id, &data, sizeof(data),
					  &viommu_id));

	/* A destroyed vIOMMU gives its VINTF back */
	test_ioctl_destroy(viommu_ids[1]);
	memset(&data, 0, sizeof(data));
	ASSERT_EQ(0, alloc_viommu(self->fd, self->dev_id, self->parent_id,
				  &data, sizeof(data), &viommu_ids[1]));

	/* The VINTF page, as the VMM maps it for its guest: all queues idle */
	page = mmap(NULL, data.out_vintf_mmap_length, PROT_READ | PROT_WRITE,
		    MAP_SHARED, self->fd, data.out_vintf_mmap_offset);
	ASSERT_NE(MAP_FAILED, page);
	for (i = 0; i != LVCMDQS; i++) {
		ASSERT_EQ(0, LVCMDQ_REG(page, i, LVCMDQ_CONS));
		ASSERT_EQ(0, LVCMDQ_REG(page, i, LVCMDQ_PROD));
		ASSERT_EQ(0, LVCMDQ_REG(page, i, LVCMDQ_CONFIG));
		ASSERT_EQ(0, LVCMDQ_REG(page, i, LVCMDQ_STATUS));
		ASSERT_EQ(0, LVCMDQ_REG(page, i, LVCMDQ_GERROR));
	}
	/* While mapped, the vIOMMU cannot go */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, viommu_ids[1]));
	ASSERT_EQ(0, munmap(page, data.out_vintf_mmap_length));

	/* Only the exact region maps */
	EXPECT_EQ(MAP_FAILED,
		  mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->fd, data.out_vintf_mmap_offset));
	EXPECT_EQ(MAP_FAILED,
		  mmap(NULL, 2 * SZ_64K, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->fd, data.out_vintf_mmap_offset));

	for (i = USER_VINTFS - 1; i >= 0; i--)
		test_ioctl_destroy(viommu_ids[i]);
}

/* Nested domains from SMMUv3 STEs, checked as arm_smmu_validate_vste() does */
TEST_F(cmdqv, nested_ste)
{
	struct iommu_viommu_tegra241_cmdqv data = {};
	struct iommu_hwpt_selftest selftest = {};
	uint32_t viommu_id, abort_id, bypass_id, s1_id, off_id, hwpt_id, vdev_id;
	uint64_t v = STE0_V;

	ASSERT_EQ(0, alloc_viommu(self->fd, self->dev_id, self->parent_id,
				  &data, sizeof(data), &viommu_id));

	/* The ones a VMM makes first: abort and bypass */
	ASSERT_EQ(0, alloc_nested(self->fd, self->dev_id, viommu_id, 0,
				  v | STE0_CFG(STE_CFG_ABORT), 0, &abort_id));
	ASSERT_EQ(0, alloc_nested(self->fd, self->dev_id, viommu_id, 0,
				  v | STE0_CFG(STE_CFG_BYPASS), 0, &bypass_id));
	/* Stage-1 translation, with ATS */
	ASSERT_EQ(0, alloc_nested(self->fd, self->dev_id, viommu_id, 0,
				  v | STE0_CFG(STE_CFG_S1_TRANS),
				  STE1_EATS(1), &s1_id));
	/* Not valid: anything else is ignored */
	ASSERT_EQ(0, alloc_nested(self->fd, self->dev_id, viommu_id, 0,
				  ~STE0_V, ~0ULL, &off_id));

	/* Stage 2 is the host's */
	EXPECT_ERRNO(EIO, alloc_nested(self->fd, self->dev_id, viommu_id, 0,
				       v | STE0_CFG(STE_CFG_S2_TRANS), 0,
				       &hwpt_id));
	/* Bits a guest may not set */
	EXPECT_ERRNO(EIO, alloc_nested(self->fd, self->dev_id, viommu_id, 0,
				       v | STE0_CFG(STE_CFG_S1_TRANS) |
					       (1ULL << 55),
				       0, &hwpt_id));
	EXPECT_ERRNO(EIO, alloc_nested(self->fd, self->dev_id, viommu_id, 0,
				       v | STE0_CFG(STE_CFG_S1_TRANS),
				       1ULL << 40, &hwpt_id));
	/* EATS split-stage */
	EXPECT_ERRNO(EIO, alloc_nested(self->fd, self->dev_id, viommu_id, 0,
				       v | STE0_CFG(STE_CFG_S1_TRANS),
				       STE1_EATS(2), &hwpt_id));
	/* No flags; no other data type */
	EXPECT_ERRNO(EOPNOTSUPP,
		     alloc_nested(self->fd, self->dev_id, viommu_id,
				  IOMMU_HWPT_ALLOC_PASID,
				  v | STE0_CFG(STE_CFG_BYPASS), 0, &hwpt_id));
	EXPECT_ERRNO(EINVAL,
		     _test_cmd_hwpt_alloc(self->fd, self->dev_id, viommu_id, 0,
					  0, &hwpt_id, IOMMU_HWPT_DATA_SELFTEST,
					  &selftest, sizeof(selftest)));

	/* The device moves between them and back to its parent */
	test_cmd_mock_domain_replace(self->stdev_id, bypass_id);
	test_cmd_mock_domain_replace(self->stdev_id, abort_id);
	test_cmd_mock_domain_replace(self->stdev_id, off_id);
	/* A translating entry needs the device's vSID first */
	test_err_mock_domain_replace(ENOENT, self->stdev_id, s1_id);
	test_cmd_vdevice_alloc(viommu_id, self->dev_id, 0x8, &vdev_id);
	test_cmd_mock_domain_replace(self->stdev_id, s1_id);
	/* In use */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, s1_id));
	test_cmd_mock_domain_replace(self->stdev_id, self->parent_id);

	test_ioctl_destroy(vdev_id);
	test_ioctl_destroy(off_id);
	test_ioctl_destroy(s1_id);
	test_ioctl_destroy(bypass_id);
	test_ioctl_destroy(abort_id);
	test_ioctl_destroy(viommu_id);
}

/* vDEVICEs: the virtual ID is the vSID, each takes a SID slot */
TEST_F(cmdqv, vdevice)
{
	struct iommu_viommu_tegra241_cmdqv data = {};
	uint32_t dev_ids[SID_SLOTS + 1], vdev_ids[SID_SLOTS];
	uint32_t viommu_id, plain_id, vdev_id;
	int i;

	ASSERT_EQ(0, alloc_viommu(self->fd, self->dev_id, self->parent_id,
				  &data, sizeof(data), &viommu_id));
	dev_ids[0] = self->dev_id;
	for (i = 1; i != SID_SLOTS + 1; i++)
		test_cmd_mock_domain_flags(self->ioas_id, CMDQV_FLAG, NULL,
					   NULL, &dev_ids[i]);

	/* vSIDs are 20 bits */
	test_err_vdevice_alloc(EINVAL, viommu_id, dev_ids[0], 0x100000,
			       &vdev_id);
	/* A device the CMDQV is not in front of */
	test_cmd_mock_domain(self->ioas_id, NULL, NULL, &plain_id);
	test_err_vdevice_alloc(EINVAL, viommu_id, plain_id, 1, &vdev_id);

	for (i = 0; i != SID_SLOTS; i++)
		test_cmd_vdevice_alloc(viommu_id, dev_ids[i], 0xfffff - i,
				       &vdev_ids[i]);
	/* Every slot in use */
	test_err_vdevice_alloc(ENOSPC, viommu_id, dev_ids[SID_SLOTS], 0x10,
			       &vdev_id);
	/* The core's checks come first */
	test_err_vdevice_alloc(EEXIST, viommu_id, dev_ids[0], 0x10, &vdev_id);

	/* A destroyed vDEVICE frees its slot */
	test_ioctl_destroy(vdev_ids[3]);
	test_cmd_vdevice_alloc(viommu_id, dev_ids[SID_SLOTS], 0x10,
			       &vdev_ids[3]);

	/* A vIOMMU with vDEVICEs cannot go */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, viommu_id));
	for (i = SID_SLOTS - 1; i >= 0; i--)
		test_ioctl_destroy(vdev_ids[i]);
	test_ioctl_destroy(viommu_id);
}

/* IOMMU_HWPT_INVALIDATE on the vIOMMU: upstream's arm_vsmmu_cache_invalidate() */
TEST_F(cmdqv, invalidate_trapped)
{
	struct iommu_viommu_tegra241_cmdqv data = {};
	struct iommu_viommu_arm_smmuv3_invalidate cmds[4] = {
		/* TLBI_NH_ASID, ASID 5 */
		{ .cmd = { 0x0005000000000011ULL, 0 } },
		/* ATC_INV for vSID 0x10, which has a vDEVICE */
		{ .cmd = { 0x0000001000000040ULL, 0 } },
		/* ATC_INV for vSID 0x11, which has none */
		{ .cmd = { 0x0000001100000040ULL, 0 } },
		/* TLBI_NH_ALL */
		{ .cmd = { 0x10, 0 } },
	};
	struct iommu_viommu_arm_smmuv3_invalidate sync = { .cmd = { 0x46, 0 } };
	uint32_t viommu_id, vdev_id, num;
	uint64_t short_cmds[2] = { 0x10, 0x0000001000000040ULL };

	ASSERT_EQ(0, alloc_viommu(self->fd, self->dev_id, self->parent_id,
				  &data, sizeof(data), &viommu_id));
	test_cmd_vdevice_alloc(viommu_id, self->dev_id, 0x10, &vdev_id);

	/* Handled up to the unknown vSID */
	num = 4;
	EXPECT_ERRNO(EIO, _test_cmd_viommu_invalidate(
				  self->fd, viommu_id, cmds,
				  IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
				  sizeof(cmds[0]), &num));
	EXPECT_EQ(2, num);
	/* CMD_SYNC is the host's */
	num = 1;
	EXPECT_ERRNO(EIO, _test_cmd_viommu_invalidate(
				  self->fd, viommu_id, &sync,
				  IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
				  sizeof(sync), &num));
	EXPECT_EQ(0, num);
	/* Nothing to do, or another data type: EINVAL, nothing handled */
	num = 0;
	EXPECT_ERRNO(EINVAL, _test_cmd_viommu_invalidate(
				     self->fd, viommu_id, cmds,
				     IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
				     sizeof(cmds[0]), &num));
	EXPECT_EQ(0, num);
	num = 2;
	EXPECT_ERRNO(EINVAL, _test_cmd_viommu_invalidate(
				     self->fd, viommu_id, cmds,
				     IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
				     sizeof(cmds[0]), &num));
	EXPECT_EQ(0, num);
	/* All handled */
	num = 2;
	ASSERT_EQ(0, _test_cmd_viommu_invalidate(
			     self->fd, viommu_id, cmds,
			     IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
			     sizeof(cmds[0]), &num));
	EXPECT_EQ(2, num);
	/* Entries shorter than a command are zero-extended */
	num = 2;
	ASSERT_EQ(0, _test_cmd_viommu_invalidate(
			     self->fd, viommu_id, short_cmds,
			     IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
			     sizeof(short_cmds[0]), &num));
	EXPECT_EQ(2, num);
	/* Longer ones must be zero past it */
	num = 1;
	EXPECT_ERRNO(E2BIG, _test_cmd_viommu_invalidate(
				    self->fd, viommu_id, cmds,
				    IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
				    2 * sizeof(cmds[0]), &num));
	EXPECT_EQ(0, num);

	test_ioctl_destroy(vdev_id);
	test_ioctl_destroy(viommu_id);
}

/* A VMM with a vIOMMU and guest queue memory mapped in the IOAS */
FIXTURE(cmdqv_queue)
{
	int fd;
	uint32_t ioas_id;
	uint32_t dev_id;
	uint32_t parent_id;
	uint32_t viommu_id;
	uint64_t iova;
	uint32_t *page;
	struct iommu_viommu_tegra241_cmdqv data;
};

FIXTURE_SETUP(cmdqv_queue)
{
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, self->fd);
	test_ioctl_ioas_alloc(&self->ioas_id);
	test_cmd_mock_domain_flags(self->ioas_id, CMDQV_FLAG, NULL, NULL,
				   &self->dev_id);
	test_cmd_hwpt_alloc(self->dev_id, self->ioas_id,
			    IOMMU_HWPT_ALLOC_NEST_PARENT, &self->parent_id);
	ASSERT_EQ(0, alloc_viommu(self->fd, self->dev_id, self->parent_id,
				  &self->data, sizeof(self->data),
				  &self->viommu_id));
	self->page = mmap(NULL, self->data.out_vintf_mmap_length,
			  PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
			  self->data.out_vintf_mmap_offset);
	ASSERT_NE(MAP_FAILED, self->page);
	/* The guest's memory: a hugepage at a 2 MiB aligned IOVA */
	self->iova = MOCK_APERTURE_START;
	test_ioctl_ioas_map_fixed(buffer, BUFFER_SIZE, self->iova);
}

FIXTURE_TEARDOWN(cmdqv_queue)
{
	munmap(self->page, SZ_64K);
	teardown_iommufd(self->fd, _metadata);
}

/* HW_QUEUE_ALLOC's driver checks, in upstream's order */
TEST_F(cmdqv_queue, errnos)
{
	uint32_t q0, q1, qid;

	/* Not a queue type of the CMDQV */
	test_err_hw_queue_alloc(EOPNOTSUPP, self->viommu_id,
				IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, self->iova,
				PAGE_SIZE, &qid);
	/* Index past the VINTF's LVCMDQs */
	test_err_hw_queue_alloc(EINVAL, self->viommu_id, QUEUE_TYPE, LVCMDQS,
				self->iova, PAGE_SIZE, &qid);
	/* The previous LVCMDQ must be allocated */
	test_err_hw_queue_alloc(EIO, self->viommu_id, QUEUE_TYPE, 1,
				self->iova, PAGE_SIZE, &qid);
	/* Length: a power of 2, at least two entries */
	test_err_hw_queue_alloc(EINVAL, self->viommu_id, QUEUE_TYPE, 0,
				self->iova, 48, &qid);
	test_err_hw_queue_alloc(EINVAL, self->viommu_id, QUEUE_TYPE, 0,
				self->iova, 16, &qid);
	/* Base aligned to the length */
	test_err_hw_queue_alloc(EINVAL, self->viommu_id, QUEUE_TYPE, 0,
				self->iova + PAGE_SIZE, 2 * PAGE_SIZE, &qid);
	test_err_hw_queue_alloc(EINVAL, self->viommu_id, QUEUE_TYPE, 0,
				self->iova + 32, 64, &qid);

	/* The smallest queue, then the index is taken */
	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 0, self->iova, 32,
				&q0);
	test_err_hw_queue_alloc(EEXIST, self->viommu_id, QUEUE_TYPE, 0,
				self->iova + PAGE_SIZE, PAGE_SIZE, &qid);
	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 1,
				self->iova + SZ_2M / 2, SZ_2M / 2, &q1);

	/* Destroyed in descending order only */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, q0));
	test_ioctl_destroy(q1);
	test_ioctl_destroy(q0);
	/* And the indexes are free again */
	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 0, self->iova,
				PAGE_SIZE, &q0);
	test_ioctl_destroy(q0);
}

/* Every LVCMDQ, programmed and left disabled for the guest to enable */
TEST_F(cmdqv_queue, all_lvcmdqs)
{
	uint32_t qids[LVCMDQS], qid;
	int i;

	for (i = 0; i != LVCMDQS; i++) {
		test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, i,
					self->iova + i * 4 * PAGE_SIZE,
					4 * PAGE_SIZE, &qids[i]);
		ASSERT_EQ(0, LVCMDQ_REG(self->page, i, LVCMDQ_CONFIG));
		ASSERT_EQ(0, LVCMDQ_REG(self->page, i, LVCMDQ_STATUS));
		ASSERT_EQ(0, LVCMDQ_REG(self->page, i, LVCMDQ_CONS));
		ASSERT_EQ(0, LVCMDQ_REG(self->page, i, LVCMDQ_PROD));
	}
	test_err_hw_queue_alloc(EINVAL, self->viommu_id, QUEUE_TYPE, LVCMDQS,
				self->iova, PAGE_SIZE, &qid);
	/* A vIOMMU with queues cannot go */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, self->viommu_id));
	for (i = LVCMDQS - 1; i >= 0; i--)
		test_ioctl_destroy(qids[i]);
}

/* The hardware executes the guest's queue: handshake, laps, errors */
TEST_F(cmdqv_queue, execute)
{
	/* Eight commands, at the start of the guest's memory */
	const unsigned int entries = 8, ptr_mask = 2 * entries - 1;
	struct {
		struct iommufd_vevent_header hdr;
		struct iommu_vevent_tegra241_cmdqv event;
	} vevent;
	uint32_t qid, prod = 0, bad, gerror, veventq_id, veventq_fd;
	int lap, i;

	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 0, self->iova,
				entries * 16, &qid);

	/* Disabled: nothing is consumed */
	put_cmd(buffer, 0, CMD_TLBI_NH_ASID(1), 0);
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, ++prod);
	usleep(20000);
	ASSERT_EQ(0, LVCMDQ_REG(self->page, 0, LVCMDQ_CONS));
	ASSERT_EQ(0, LVCMDQ_REG(self->page, 0, LVCMDQ_STATUS));

	/* The guest enables it; STATUS follows, and the command is consumed */
	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 1);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_STATUS, 1, 1));
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_CONS, CONS_RD, prod));

	/* Batches of six around the ring: the wrap bit flips each lap */
	for (lap = 0; lap != 5; lap++) {
		for (i = 0; i != 6; i++) {
			put_cmd(buffer, prod % entries,
				i % 2 ? CMD_SYNC : CMD_TLBI_NH_ASID(lap), 0);
			prod = (prod + 1) & ptr_mask;
		}
		lvcmdq_write(self->page, 0, LVCMDQ_PROD, prod);
		ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_CONS, CONS_RD,
					prod));
	}

	/* An illegal command stops the queue on it, reported to the vEVENTQ */
	test_cmd_veventq_alloc(self->viommu_id,
			       IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV, 2,
			       &veventq_id, &veventq_fd);
	bad = prod;
	put_cmd(buffer, bad % entries, CMD_CFGI_STE, 0);
	prod = (prod + 1) & ptr_mask;
	put_cmd(buffer, prod % entries, CMD_SYNC, 0);
	prod = (prod + 1) & ptr_mask;
	gerror = LVCMDQ_REG(self->page, 0, LVCMDQ_GERROR);
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, prod);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_GERROR, 1,
				(gerror ^ 1) & 1));
	ASSERT_EQ(bad, LVCMDQ_REG(self->page, 0, LVCMDQ_CONS) & CONS_RD);
	ASSERT_EQ(CERROR_ILL,
		  CONS_ERR(LVCMDQ_REG(self->page, 0, LVCMDQ_CONS)));
	ASSERT_EQ(sizeof(vevent), read(veventq_fd, &vevent, sizeof(vevent)));
	ASSERT_EQ(0, vevent.hdr.flags);
	/* The VINTF's LVCMDQ error map: LVCMDQ 0 */
	ASSERT_EQ(1, vevent.event.lvcmdq_err_map[0]);
	ASSERT_EQ(0, vevent.event.lvcmdq_err_map[1]);
	/* Halted until acknowledged */
	usleep(20000);
	ASSERT_EQ(bad, LVCMDQ_REG(self->page, 0, LVCMDQ_CONS) & CONS_RD);

	/* The guest skips the bad entry and acknowledges: it resumes */
	put_cmd(buffer, bad % entries, CMD_SYNC, 0);
	lvcmdq_write(self->page, 0, LVCMDQ_GERRORN,
		     LVCMDQ_REG(self->page, 0, LVCMDQ_GERROR));
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_CONS, CONS_RD, prod));

	/* Disabled again: STATUS follows */
	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 0);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_STATUS, 1, 0));
	test_ioctl_destroy(qid);
	/* One event only */
	ASSERT_EQ(0, read(veventq_fd, &vevent, sizeof(vevent)));
	close(veventq_fd);
	test_ioctl_destroy(veventq_id);
}

/* Bad input from the guest: nothing consumed, nothing hurt */
TEST_F(cmdqv_queue, guest_garbage)
{
	uint32_t q0, q1;

	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 0, self->iova,
				PAGE_SIZE, &q0);
	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 1,
				self->iova + PAGE_SIZE, 32, &q1);
	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 1);
	lvcmdq_write(self->page, 1, LVCMDQ_CONFIG, 1);
	ASSERT_TRUE(lvcmdq_wait(self->page, 1, LVCMDQ_STATUS, 1, 1));

	/* PROD more than a queue ahead of CONS (2 entries, wrap at bit 1) */
	lvcmdq_write(self->page, 1, LVCMDQ_PROD, 3);
	/* A queue full of garbage: stops on the first entry */
	memset(buffer, 0xff, PAGE_SIZE);
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, 200);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_GERROR, 1, 1));
	ASSERT_EQ(0, LVCMDQ_REG(self->page, 0, LVCMDQ_CONS) & CONS_RD);
	usleep(20000);
	ASSERT_EQ(0, LVCMDQ_REG(self->page, 1, LVCMDQ_CONS));

	/* Destroyed with commands pending, enabled */
	test_ioctl_destroy(q1);
	test_ioctl_destroy(q0);
	/* Reset by the driver */
	ASSERT_EQ(0, LVCMDQ_REG(self->page, 0, LVCMDQ_CONFIG));
	ASSERT_EQ(0, LVCMDQ_REG(self->page, 0, LVCMDQ_PROD));
	memset(buffer, 0, PAGE_SIZE);
}

/* Closing the file with everything live tears it all down */
TEST_F(cmdqv_queue, close_live)
{
	uint32_t q0, q1, vdev_id, hwpt_id;

	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 0, self->iova,
				PAGE_SIZE, &q0);
	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 1,
				self->iova + PAGE_SIZE, PAGE_SIZE, &q1);
	test_cmd_vdevice_alloc(self->viommu_id, self->dev_id, 0x42, &vdev_id);
	ASSERT_EQ(0, alloc_nested(self->fd, self->dev_id, self->viommu_id, 0,
				  STE0_V | STE0_CFG(STE_CFG_BYPASS), 0,
				  &hwpt_id));
	/* The teardown closes the file; its checks find nothing left */
}

/* The module: refused while a vIOMMU of it exists, unloaded, loaded again */
TEST_F(cmdqv, module_lifetime)
{
	struct iommu_viommu_tegra241_cmdqv data = {};
	uint32_t viommu_id, stdev_id;
	uint32_t *page;

	ASSERT_EQ(0, alloc_viommu(self->fd, self->dev_id, self->parent_id,
				  &data, sizeof(data), &viommu_id));
	EXPECT_ERRNO(EWOULDBLOCK, delete_module(MODULE_NAME));
	page = mmap(NULL, data.out_vintf_mmap_length, PROT_READ | PROT_WRITE,
		    MAP_SHARED, self->fd, data.out_vintf_mmap_offset);
	ASSERT_NE(MAP_FAILED, page);
	/* The mapping holds the vIOMMU, which holds the module */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, viommu_id));
	EXPECT_ERRNO(EWOULDBLOCK, delete_module(MODULE_NAME));
	ASSERT_EQ(0, munmap(page, data.out_vintf_mmap_length));
	test_ioctl_destroy(viommu_id);

	/* Nothing of it is left: it unloads */
	ASSERT_EQ(0, delete_module(MODULE_NAME));
	test_err_mock_domain_flags(EOPNOTSUPP, self->ioas_id, CMDQV_FLAG,
				   &stdev_id, NULL);
	/* Its device, created before, gets no vIOMMU now */
	EXPECT_ERRNO(EOPNOTSUPP, alloc_viommu(self->fd, self->dev_id,
					      self->parent_id, &data,
					      sizeof(data), &viommu_id));

	/* Loaded again, it serves again */
	ASSERT_EQ(0, load_module());
	EXPECT_ERRNO(EEXIST, load_module());
	memset(&data, 0, sizeof(data));
	ASSERT_EQ(0, alloc_viommu(self->fd, self->dev_id, self->parent_id,
				  &data, sizeof(data), &viommu_id));
	ASSERT_EQ(SZ_64K, data.out_vintf_mmap_length);
	test_ioctl_destroy(viommu_id);
}

TEST_HARNESS_MAIN
