// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VMM's flow on a Tegra241 CMDQV, against the emulated one
 * (tegra241_cmdqv_emu.ko) behind the selftest's mock devices created with
 * MOCK_FLAGS_DEVICE_TEGRA241_CMDQV: hardware information, the vIOMMU and its
 * mmapped VINTF page, nested STE domains, vDEVICEs and HW queues, with the
 * errnos of upstream's tegra241-cmdqv.c and arm-smmu-v3-iommufd.c, then the
 * teardown in descending order and the module's lifetime.
 *
 * The module must be loaded, or the tests skip; the last test unloads and
 * reloads it from $TEGRA241_CMDQV_EMU_KO (default
 * /modules/tegra241_cmdqv_emu.ko).
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "iommufd_utils.h"
#include "iommufd_tegra241_cmdqv_utils.h"
#include "iommufd_hwq_race.h"
#include "iommufd_ptdump.h"

#define CMDQV_FLAG MOCK_FLAGS_DEVICE_TEGRA241_CMDQV
#define VIOMMU_TYPE IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV
#define QUEUE_TYPE IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV
#define SZ_64K (64UL << 10)

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

/*
 * The emulated SMMU's log of the invalidations it executed, one per line:
 * "<seq> <source>: <command as the SMMU got it>"
 */
#define LOG_PATH "/sys/kernel/debug/" CMDQV_MODULE "/invalidations"
#define LOG_MAX 64

struct log_line {
	unsigned long seq;
	char source[32];
	char text[128];
};

/* Reads the log's lines after @after into @lines; returns how many, or -1 */
static int read_log(unsigned long after, struct log_line *lines)
{
	char line[256];
	int n = 0;
	FILE *f;

	f = fopen(LOG_PATH, "r");
	if (!f)
		return -1;
	while (n < LOG_MAX && fgets(line, sizeof(line), f)) {
		struct log_line *l = &lines[n];
		int text;

		if (sscanf(line, "%lu %31[^:]: %n", &l->seq, l->source,
			   &text) != 2) {
			n = -1;
			break;
		}
		if (l->seq <= after)
			continue;
		snprintf(l->text, sizeof(l->text), "%s", line + text);
		l->text[strcspn(l->text, "\n")] = 0;
		n++;
	}
	fclose(f);
	return n;
}

/* The sequence number of the last line of the log, 0 if none */
static unsigned long log_last(void)
{
	struct log_line lines[LOG_MAX];
	int n = read_log(0, lines);

	return n > 0 ? lines[n - 1].seq : 0;
}

/* Removes " sid=<n>" from @text, the one field that names a physical device */
static void strip_sid(char *text)
{
	char *sid = strstr(text, " sid=");
	char *end;

	if (!sid)
		return;
	end = strchr(sid + 1, ' ');
	memmove(sid, end ? end : sid + strlen(sid),
		strlen(end ? end : sid + strlen(sid)) + 1);
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
	if (!cmdqv_backend_present())
		SKIP(return, CMDQV_SKIP_MSG);
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

	/*
	 * The VINTF page, as the VMM maps it for its guest: all queues idle,
	 * with no error pending (GERROR and GERRORN toggle: a queue that had
	 * an error before keeps the toggled value in both)
	 */
	page = mmap(NULL, data.out_vintf_mmap_length, PROT_READ | PROT_WRITE,
		    MAP_SHARED, self->fd, data.out_vintf_mmap_offset);
	ASSERT_NE(MAP_FAILED, page);
	for (i = 0; i != LVCMDQS; i++) {
		ASSERT_EQ(0, LVCMDQ_REG(page, i, LVCMDQ_CONS));
		ASSERT_EQ(0, LVCMDQ_REG(page, i, LVCMDQ_PROD));
		ASSERT_EQ(0, LVCMDQ_REG(page, i, LVCMDQ_CONFIG));
		ASSERT_EQ(0, LVCMDQ_REG(page, i, LVCMDQ_STATUS));
		ASSERT_EQ(LVCMDQ_REG(page, i, LVCMDQ_GERRORN),
			  LVCMDQ_REG(page, i, LVCMDQ_GERROR));
	}
	/* While mapped, the vIOMMU cannot go */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, viommu_ids[1]));
	ASSERT_EQ(0, munmap(page, data.out_vintf_mmap_length));

	/* Only the exact region maps: not a part (with pages under 64 KiB) */
	if (PAGE_SIZE < SZ_64K)
		EXPECT_EQ(MAP_FAILED,
			  mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
			       MAP_SHARED, self->fd,
			       data.out_vintf_mmap_offset));
	EXPECT_EQ(MAP_FAILED,
		  mmap(NULL, 2 * SZ_64K, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->fd, data.out_vintf_mmap_offset));

	for (i = USER_VINTFS - 1; i >= 0; i--)
		test_ioctl_destroy(viommu_ids[i]);
}

/*
 * The plain vSMMUv3 that Grace offers besides, what a VMM uses with CMDQV off
 * (upstream's arm_smmu_get_viommu_size() accepts it on a CMDQV): no driver
 * data, no VINTF (so no limit of VINTFs, and no HW queue), vDEVICEs of any
 * virtual ID, nested STEs and trapped invalidations as on the CMDQV type
 */
TEST_F(cmdqv, viommu_arm_smmuv3)
{
	struct iommu_viommu_arm_smmuv3_invalidate cmds[3] = {
		/* TLBI_NH_ASID, ASID 5 */
		{ .cmd = { 0x0005000000000011ULL, 0 } },
		/* ATC_INV for vSID 0x20000, the vDEVICE's */
		{ .cmd = { 0x0002000000000040ULL, 0 } },
		/* ATC_INV for vSID 0x11, which has none */
		{ .cmd = { 0x0000001100000040ULL, 0 } },
	};
	uint32_t viommu_ids[USER_VINTFS + 1], vdev_id, s1_id, qid, num;
	uint32_t veventq_id, veventq_fd;
	int i;

	for (i = 0; i != USER_VINTFS + 1; i++)
		ASSERT_EQ(0, _test_cmd_viommu_alloc(self->fd, self->dev_id,
						    self->parent_id, 0,
						    IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
						    NULL, 0, &viommu_ids[i]));
	/* No HW queue on it */
	test_ioctl_ioas_map_fixed(buffer, PAGE_SIZE, MOCK_APERTURE_START);
	test_err_hw_queue_alloc(EOPNOTSUPP, viommu_ids[0], QUEUE_TYPE, 0,
				MOCK_APERTURE_START, PAGE_SIZE, &qid);
	/* A vSID wider than SID_MATCH takes no slot here */
	test_cmd_vdevice_alloc(viommu_ids[0], self->dev_id, 0x20000, &vdev_id);
	ASSERT_EQ(0, alloc_nested(self->fd, self->dev_id, viommu_ids[0], 0,
				  STE0_V | STE0_CFG(STE_CFG_S1_TRANS),
				  STE1_EATS(1), &s1_id));
	test_cmd_mock_domain_replace(self->stdev_id, s1_id);
	test_cmd_veventq_alloc(viommu_ids[0], IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 4,
			       &veventq_id, &veventq_fd);

	/* Handled up to the vSID that has no vDEVICE */
	num = 3;
	EXPECT_ERRNO(EIO, _test_cmd_viommu_invalidate(
				  self->fd, viommu_ids[0], cmds,
				  IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
				  sizeof(cmds[0]), &num));
	EXPECT_EQ(2, num);

	close(veventq_fd);
	test_ioctl_destroy(veventq_id);
	test_cmd_mock_domain_replace(self->stdev_id, self->parent_id);
	test_ioctl_destroy(s1_id);
	test_ioctl_destroy(vdev_id);
	/* Once its vDEVICE is gone, its vSID is unknown */
	num = 2;
	EXPECT_ERRNO(EIO, _test_cmd_viommu_invalidate(
				  self->fd, viommu_ids[0], cmds,
				  IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
				  sizeof(cmds[0]), &num));
	EXPECT_EQ(1, num);
	for (i = 0; i != USER_VINTFS + 1; i++)
		test_ioctl_destroy(viommu_ids[i]);
	test_ioctl_ioas_unmap(MOCK_APERTURE_START, PAGE_SIZE);
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

/*
 * Large arrays, in blocks of 63 commands (a batch of 64 with its CMD_SYNC):
 * the largest array the core allows costs no large allocation (a warning
 * from the page allocator before), and a failure reports exactly what was
 * issued, earlier blocks included
 */
TEST_F(cmdqv, invalidate_trapped_blocks)
{
	const uint32_t max = 1U << 19;	/* IOMMU_HWPT_INVALIDATE_ENTRY_NUM_MAX */
	const size_t page = sysconf(_SC_PAGE_SIZE), len = 128 * 16;
	const size_t room = (len + page - 1) / page * page;
	struct iommu_viommu_tegra241_cmdqv data = {};
	uint64_t (*cmds)[2];
	uint32_t viommu_id, num;
	char *map;
	int i;

	ASSERT_EQ(0, alloc_viommu(self->fd, self->dev_id, self->parent_id,
				  &data, sizeof(data), &viommu_id));
	/* 128 TLBI_NH_ASID commands that end where a PROT_NONE page starts */
	map = mmap(NULL, room + page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, mprotect(map + room, page, PROT_NONE));
	cmds = (void *)(map + room - len);
	for (i = 0; i != 128; i++) {
		cmds[i][0] = 0x0005000000000011ULL;
		cmds[i][1] = 0;
	}

	/*
	 * An illegal command in the second block: the first block and the
	 * commands before it in the second are issued
	 */
	cmds[70][0] = 0x46;
	num = 128;
	EXPECT_ERRNO(EIO, _test_cmd_viommu_invalidate(
				  self->fd, viommu_id, cmds,
				  IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
				  sizeof(cmds[0]), &num));
	EXPECT_EQ(70, num);
	cmds[70][0] = 0x0005000000000011ULL;

	/* The largest array: two blocks are read, the third faults */
	num = max;
	EXPECT_ERRNO(EFAULT, _test_cmd_viommu_invalidate(
				     self->fd, viommu_id, cmds,
				     IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
				     sizeof(cmds[0]), &num));
	EXPECT_EQ(126, num);
	/* One past the largest: the core refuses it */
	num = max + 1;
	EXPECT_ERRNO(EINVAL, _test_cmd_viommu_invalidate(
				     self->fd, viommu_id, cmds,
				     IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
				     sizeof(cmds[0]), &num));
	/* All of them, in three blocks */
	num = 128;
	ASSERT_EQ(0, _test_cmd_viommu_invalidate(
			     self->fd, viommu_id, cmds,
			     IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
			     sizeof(cmds[0]), &num));
	EXPECT_EQ(128, num);

	munmap(map, room + page);
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
	if (!cmdqv_backend_present())
		SKIP(return, CMDQV_SKIP_MSG);
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

	/* The index comes before the base: EIO, not EINVAL, at an odd one */
	test_err_hw_queue_alloc(EIO, self->viommu_id, QUEUE_TYPE, 1,
				self->iova + 1, 32, &qid);

	/* The smallest queue, then the index is taken */
	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 0, self->iova, 32,
				&q0);
	test_err_hw_queue_alloc(EEXIST, self->viommu_id, QUEUE_TYPE, 0,
				self->iova + PAGE_SIZE, PAGE_SIZE, &qid);
	test_err_hw_queue_alloc(EEXIST, self->viommu_id, QUEUE_TYPE, 0,
				self->iova + 1, 32, &qid);
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

/*
 * LVCMDQ1 depends on LVCMDQ0, which must not go first: not even one whose
 * allocation fails after the driver allocated its LVCMDQ (hwq_race_run())
 */
TEST_F(cmdqv_queue, depend_on_aborted)
{
	struct hwq_race race = {
		.fd = self->fd,
		.viommu_id = self->viommu_id,
		.type = QUEUE_TYPE,
		.iova0 = self->iova,
		.iova1 = self->iova + PAGE_SIZE,
		.length = PAGE_SIZE,
	};

	test_hwq_race(&race, 3);
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

/*
 * CONS, STATUS and GERROR are the hardware's: what a guest writes over them
 * does not stick, and neither a forged GERROR nor a forged CONS moves the
 * queue. Only while the queue is disabled may the guest reset CONS.RD, as
 * a driver does.
 */
TEST_F(cmdqv_queue, hardware_registers)
{
	const unsigned int entries = 8, ptr_mask = 2 * entries - 1;
	uint32_t qid, prod = 0, gerror, cons;
	int i;

	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 0, self->iova,
				entries * 16, &qid);
	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 1);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_STATUS, 1, 1));
	for (i = 0; i != 3; i++)
		put_cmd(buffer, prod++, CMD_TLBI_NH_ASID(1), 0);
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, prod);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_CONS, ~0u, prod));

	/* Forged CONS and STATUS are put back */
	lvcmdq_write(self->page, 0, LVCMDQ_CONS, 1);
	lvcmdq_write(self->page, 0, LVCMDQ_STATUS, 0);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_CONS, ~0u, prod));
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_STATUS, ~0u, 1));

	/* An illegal command halts the queue */
	put_cmd(buffer, prod, CMD_CFGI_STE, 0);
	prod = (prod + 1) & ptr_mask;
	gerror = LVCMDQ_REG(self->page, 0, LVCMDQ_GERROR);
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, prod);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_GERROR, 1,
				(gerror ^ 1) & 1));
	cons = LVCMDQ_REG(self->page, 0, LVCMDQ_CONS);
	ASSERT_EQ(CERROR_ILL, CONS_ERR(cons));
	/* Undoing GERROR does not acknowledge: the hardware restores it */
	put_cmd(buffer, cons & ptr_mask, CMD_SYNC, 0);
	lvcmdq_write(self->page, 0, LVCMDQ_GERROR, gerror);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_GERROR, ~0u,
				(gerror ^ 1) & 1));
	/* Nor does a CONS moved past the bad entry */
	lvcmdq_write(self->page, 0, LVCMDQ_CONS, prod);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_CONS, ~0u, cons));
	usleep(20000);
	ASSERT_EQ(cons, LVCMDQ_REG(self->page, 0, LVCMDQ_CONS));
	/* GERRORN does, and the fixed entry runs */
	lvcmdq_write(self->page, 0, LVCMDQ_GERRORN, (gerror ^ 1) & 1);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_CONS, CONS_RD, prod));

	/* Disabled, the guest resets its queue: PROD and CONS to 0 */
	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 0);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_STATUS, 1, 0));
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, 0);
	lvcmdq_write(self->page, 0, LVCMDQ_CONS, 0);
	usleep(20000);
	ASSERT_EQ(0, LVCMDQ_REG(self->page, 0, LVCMDQ_CONS) & CONS_RD);
	/* And runs it again from the start */
	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 1);
	put_cmd(buffer, 0, CMD_SYNC, 0);
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, 1);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_CONS, CONS_RD, 1));
	test_ioctl_destroy(qid);
}

/* Spins up to 2 s for (reg & mask) to be want: a guest that does not sleep */
static bool lvcmdq_spin(void *page, unsigned int lidx, unsigned int off,
			uint32_t mask, uint32_t want)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		if ((LVCMDQ_REG(page, lidx, off) & mask) == want)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 2);
	return false;
}

/*
 * While a queue is disabled, its CONS.RD is the guest's: what the guest writes
 * there stands, even when the engine, kept busy by another queue of the
 * VINTF, visits the disabled queue just as the guest writes
 */
TEST_F(cmdqv_queue, disabled_cons_stands)
{
	const unsigned int entries = 8, entries1 = PAGE_SIZE / 16;
	char *queue1 = (char *)buffer + PAGE_SIZE;
	uint32_t q0, q1, prod1 = 0, rd;
	unsigned int i, batch, lost = 0;

	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 0, self->iova,
				entries * 16, &q0);
	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 1,
				self->iova + PAGE_SIZE, PAGE_SIZE, &q1);
	lvcmdq_write(self->page, 1, LVCMDQ_CONFIG, 1);
	ASSERT_TRUE(lvcmdq_wait(self->page, 1, LVCMDQ_STATUS, 1, 1));

	for (i = 0; i != 20000; i++) {
		rd = i & (2 * entries - 1);
		lvcmdq_write(self->page, 0, LVCMDQ_CONS, rd);
		/* Two batches on LVCMDQ1: a whole visit of LVCMDQ0 between */
		for (batch = 0; batch != 2; batch++) {
			put_cmd(queue1, prod1 % entries1, CMD_SYNC, 0);
			prod1 = (prod1 + 1) & (2 * entries1 - 1);
			lvcmdq_write(self->page, 1, LVCMDQ_PROD, prod1);
			ASSERT_TRUE(lvcmdq_spin(self->page, 1, LVCMDQ_CONS,
						CONS_RD, prod1));
		}
		lost += (LVCMDQ_REG(self->page, 0, LVCMDQ_CONS) & CONS_RD) != rd;
	}
	EXPECT_EQ(0, lost);
	/* Still disabled, so nothing was consumed */
	ASSERT_EQ(0, LVCMDQ_REG(self->page, 0, LVCMDQ_STATUS));
	test_ioctl_destroy(q1);
	test_ioctl_destroy(q0);
}

/*
 * The VINTF page0 is memory that the emulated hardware reads and writes
 * through the kernel's cacheable mapping: the VMM maps it as memory too, not
 * uncached as the real hardware's MMIO, so that both see the same registers
 * where memory attributes matter
 */
TEST_F(cmdqv_queue, page0_mapped_cached)
{
	/* mmap() mapped every page of the region at once */
	long uncached = pages_uncached(self->page, SZ_64K);

	if (uncached == -1)
		SKIP(return, PTDUMP_SKIP_MSG);
	EXPECT_EQ(0, uncached);
}

/*
 * A VINTF given to the next vIOMMU comes with a clean page0: nothing the
 * previous guest wrote there, registers or other offsets, is left to read
 */
TEST_F(cmdqv_queue, clean_page_between_vms)
{
	struct iommu_viommu_tegra241_cmdqv data;
	uint32_t viommu_id, *page;
	unsigned int i, dirty = 0;

	/* This guest writes all over its page, queue registers included */
	for (i = 0; i != SZ_64K / 4; i++)
		__atomic_store_n(&self->page[i], 0xa5a5a5a5 ^ i,
				 __ATOMIC_RELAXED);
	munmap(self->page, SZ_64K);
	self->page = MAP_FAILED;
	test_ioctl_destroy(self->viommu_id);

	/* The next guest, given that VINTF again or another, reads zeros */
	ASSERT_EQ(0, alloc_viommu(self->fd, self->dev_id, self->parent_id,
				  &data, sizeof(data), &viommu_id));
	page = mmap(NULL, data.out_vintf_mmap_length, PROT_READ | PROT_WRITE,
		    MAP_SHARED, self->fd, data.out_vintf_mmap_offset);
	ASSERT_NE(MAP_FAILED, page);
	for (i = 0; i != SZ_64K / 4; i++)
		dirty += !!__atomic_load_n(&page[i], __ATOMIC_RELAXED);
	EXPECT_EQ(0, dirty);
	munmap(page, SZ_64K);
	test_ioctl_destroy(viommu_id);
}

/* The commands whose effects the tests check, for vSID @vsid */
static unsigned int effect_cmds(uint64_t cmds[][2], uint32_t vsid)
{
	unsigned int n = 0;

	cmds[n][0] = CMD_TLBI_NH_ASID(5);
	cmds[n++][1] = 0;
	cmds[n][0] = CMD_TLBI_NH_VA(5);
	cmds[n++][1] = 0x12345000;
	/* Cache entry 2: the device's ATC for substream 2 */
	cmds[n][0] = CMD_ATC_INV(vsid) | ATC_SSID(2);
	cmds[n++][1] = 0x1000;
	/* Entry 0: the translations without a substream */
	cmds[n][0] = CMD_ATC_INV(vsid);
	cmds[n++][1] = ATC_ALL_ADDRS;
	/* A substream with no entry: nothing to clear */
	cmds[n][0] = CMD_ATC_INV(vsid) | ATC_SSID(9);
	cmds[n++][1] = 0;
	return n;
}

/* Waits for CONS to reach PROD, at most 2 s */
#define wait_cons(page, lidx, prod)                                          \
	ASSERT_TRUE(lvcmdq_wait(page, lidx, LVCMDQ_CONS, CONS_RD | 0x7f000000, \
				prod))

/*
 * What the guest's commands do: TLB invalidations reach the SMMU with the
 * VINTF's VMID, ATC invalidations the device behind the vSID. The same
 * commands through IOMMU_HWPT_INVALIDATE, for a second device, do the same.
 */
/*
 * A queue destroyed while the guest has it enabled is off at once, stays off
 * whatever the guest writes, and leaves nothing enabled for the next queue
 */
TEST_F(cmdqv_queue, destroy_enabled)
{
	uint32_t qid;

	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 0, self->iova,
				8 * 16, &qid);
	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 1);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_STATUS, 1, 1));
	test_ioctl_destroy(qid);
	ASSERT_EQ(0, LVCMDQ_REG(self->page, 0, LVCMDQ_STATUS));
	ASSERT_EQ(0, LVCMDQ_REG(self->page, 0, LVCMDQ_CONFIG));

	/* No VCMDQ behind it: the guest cannot turn it on */
	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 1);
	usleep(20000);
	ASSERT_EQ(0, LVCMDQ_REG(self->page, 0, LVCMDQ_STATUS));

	/* The next queue starts reset and disabled */
	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 0, self->iova,
				8 * 16, &qid);
	ASSERT_EQ(0, LVCMDQ_REG(self->page, 0, LVCMDQ_CONFIG));
	ASSERT_EQ(0, LVCMDQ_REG(self->page, 0, LVCMDQ_STATUS));
	test_ioctl_destroy(qid);
}

TEST_F(cmdqv_queue, effects)
{
	const uint32_t vsid1 = 0x42, vsid2 = 0x43;
	struct log_line queued[LOG_MAX], trapped[LOG_MAX];
	struct iommu_viommu_arm_smmuv3_invalidate inv[8];
	uint64_t cmds[8][2];
	uint32_t dev2_id, vdev1, vdev2, qid, num, prod = 0, vmid, asid;
	unsigned int n, i;
	int ret;
	unsigned long seq;
	char va[32];

	test_cmd_mock_domain_flags(self->ioas_id, CMDQV_FLAG, NULL, NULL,
				   &dev2_id);
	test_cmd_vdevice_alloc(self->viommu_id, self->dev_id, vsid1, &vdev1);
	test_cmd_vdevice_alloc(self->viommu_id, dev2_id, vsid2, &vdev2);
	test_cmd_dev_check_cache_all(self->dev_id,
				     IOMMU_TEST_DEV_CACHE_DEFAULT);
	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 0, self->iova,
				16 * 16, &qid);
	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 1);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_STATUS, 1, 1));

	/* Through the queue, for the first device, ending with a CMD_SYNC */
	seq = log_last();
	n = effect_cmds(cmds, vsid1);
	for (i = 0; i != n; i++)
		put_cmd(buffer, prod++, cmds[i][0], cmds[i][1]);
	put_cmd(buffer, prod++, CMD_SYNC, 0);
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, prod);
	wait_cons(self->page, 0, prod);
	test_cmd_dev_check_cache(self->dev_id, 0, 0);
	test_cmd_dev_check_cache(self->dev_id, 1, IOMMU_TEST_DEV_CACHE_DEFAULT);
	test_cmd_dev_check_cache(self->dev_id, 2, 0);
	test_cmd_dev_check_cache(self->dev_id, 3, IOMMU_TEST_DEV_CACHE_DEFAULT);
	test_cmd_dev_check_cache_all(dev2_id, IOMMU_TEST_DEV_CACHE_DEFAULT);

	/* The SMMU's log: each command but the CMD_SYNC, from the LVCMDQ */
	ASSERT_EQ(n, read_log(seq, queued));
	ret = sscanf(queued[0].text, "TLBI_NH_ASID vmid=%u asid=%u", &vmid,
		     &asid);
	ASSERT_EQ(2, ret);
	ASSERT_EQ(5, asid);
	snprintf(va, sizeof(va), "vintf%u.lvcmdq0", vmid);
	for (i = 0; i != n; i++)
		ASSERT_STREQ(va, queued[i].source);
	snprintf(va, sizeof(va), "vmid=%u asid=5 va=0x12345000", vmid);
	ASSERT_EQ(0, strncmp(queued[1].text, "TLBI_NH_VA ", 11));
	ASSERT_STREQ(va, queued[1].text + 11);
	ASSERT_EQ(0, strncmp(queued[2].text, "ATC_INV sid=", 12));
	ASSERT_NE(NULL, strstr(queued[2].text,
			       " ssid=2 global=0 addr=0x1000 size=0"));
	ASSERT_NE(NULL, strstr(queued[3].text,
			       " ssid=- global=0 addr=0x0 size=52"));

	/* Trapped, for the second device: the same effects */
	seq = log_last();
	n = effect_cmds(cmds, vsid2);
	for (i = 0; i != n; i++) {
		inv[i].cmd[0] = cmds[i][0];
		inv[i].cmd[1] = cmds[i][1];
	}
	num = n;
	ASSERT_EQ(0, _test_cmd_viommu_invalidate(
			     self->fd, self->viommu_id, inv,
			     IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
			     sizeof(*inv), &num));
	ASSERT_EQ(n, num);
	for (i = 0; i != 4; i++) {
		uint32_t want = i % 2 ? IOMMU_TEST_DEV_CACHE_DEFAULT : 0;

		test_cmd_dev_check_cache(dev2_id, i, want);
	}
	ASSERT_EQ(n, read_log(seq, trapped));
	for (i = 0; i != n; i++) {
		ASSERT_STREQ("host", trapped[i].source);
		/* Another device: another physical SID in the ATC_INVs */
		if (i >= 2)
			ASSERT_STRNE(queued[i].text, trapped[i].text);
		strip_sid(queued[i].text);
		strip_sid(trapped[i].text);
		ASSERT_STREQ(queued[i].text, trapped[i].text);
	}

	/* A vSID without a vDEVICE: the queue completes it, reaching nobody */
	seq = log_last();
	put_cmd(buffer, prod++, CMD_ATC_INV(0x99) | ATC_GLOBAL, 0);
	put_cmd(buffer, prod++, CMD_SYNC, 0);
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, prod);
	wait_cons(self->page, 0, prod);
	ASSERT_EQ(0, read_log(seq, queued));
	/* Trapped, the host refuses it */
	inv[0].cmd[0] = CMD_ATC_INV(0x99) | ATC_GLOBAL;
	inv[0].cmd[1] = 0;
	num = 1;
	EXPECT_ERRNO(EIO, _test_cmd_viommu_invalidate(
				  self->fd, self->viommu_id, inv,
				  IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
				  sizeof(*inv), &num));
	ASSERT_EQ(0, num);

	/* G: every entry of the first device, none of the second's */
	put_cmd(buffer, prod++, CMD_ATC_INV(vsid1) | ATC_GLOBAL, 0);
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, prod);
	wait_cons(self->page, 0, prod);
	test_cmd_dev_check_cache_all(self->dev_id, 0);
	test_cmd_dev_check_cache(dev2_id, 1, IOMMU_TEST_DEV_CACHE_DEFAULT);

	test_ioctl_destroy(qid);
	test_ioctl_destroy(vdev2);
	test_ioctl_destroy(vdev1);
}

/* Disabled mid-stream: the queue stops where it is, and goes on once enabled */
TEST_F(cmdqv_queue, disable_mid_stream)
{
	const unsigned int entries = 4096;
	uint32_t qid, cons, prod = entries - 1;
	unsigned int i;

	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 0, self->iova,
				entries * 16, &qid);
	for (i = 0; i != entries; i++)
		put_cmd(buffer, i, i % 2 ? CMD_SYNC : CMD_TLBI_NH_ASID(i), 0);
	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 1);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_STATUS, 1, 1));
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, prod);
	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 0);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_STATUS, 1, 0));
	cons = LVCMDQ_REG(self->page, 0, LVCMDQ_CONS);
	ASSERT_GE(prod, cons);
	usleep(20000);
	ASSERT_EQ(cons, LVCMDQ_REG(self->page, 0, LVCMDQ_CONS));

	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 1);
	wait_cons(self->page, 0, prod);
	/* Disabled and destroyed with a full queue pending */
	prod = (prod + entries) & (2 * entries - 1);
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, prod);
	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 0);
	test_ioctl_destroy(qid);
	memset(buffer, 0, entries * 16);
}

/*
 * Two vIOMMUs, two VMs: each VINTF's queue executes with its own VMID, and the
 * same vSID stands for each VM's own device; an error in one VM's queue does
 * not stop the other's
 */
TEST_F(cmdqv_queue, two_viommus)
{
	struct iommu_viommu_tegra241_cmdqv data2 = {};
	struct log_line lines[LOG_MAX];
	uint32_t dev2_id, viommu2_id, vdev1, vdev2, q1, q2, vmid1, vmid2;
	uint32_t prod1 = 0, prod2 = 0, gerror;
	unsigned long seq;
	uint32_t *page2;
	int n, i;

	test_cmd_mock_domain_flags(self->ioas_id, CMDQV_FLAG, NULL, NULL,
				   &dev2_id);
	ASSERT_EQ(0, alloc_viommu(self->fd, dev2_id, self->parent_id, &data2,
				  sizeof(data2), &viommu2_id));
	page2 = mmap(NULL, data2.out_vintf_mmap_length, PROT_READ | PROT_WRITE,
		     MAP_SHARED, self->fd, data2.out_vintf_mmap_offset);
	ASSERT_NE(MAP_FAILED, page2);
	ASSERT_NE(self->data.out_vintf_mmap_offset,
		  data2.out_vintf_mmap_offset);
	test_cmd_vdevice_alloc(self->viommu_id, self->dev_id, 0x42, &vdev1);
	test_cmd_vdevice_alloc(viommu2_id, dev2_id, 0x42, &vdev2);
	test_cmd_hw_queue_alloc(self->viommu_id, QUEUE_TYPE, 0, self->iova,
				PAGE_SIZE, &q1);
	test_cmd_hw_queue_alloc(viommu2_id, QUEUE_TYPE, 0,
				self->iova + PAGE_SIZE, PAGE_SIZE, &q2);
	lvcmdq_write(self->page, 0, LVCMDQ_CONFIG, 1);
	lvcmdq_write(page2, 0, LVCMDQ_CONFIG, 1);
	ASSERT_TRUE(lvcmdq_wait(self->page, 0, LVCMDQ_STATUS, 1, 1));
	ASSERT_TRUE(lvcmdq_wait(page2, 0, LVCMDQ_STATUS, 1, 1));

	/* VM 1 invalidates its device's ATC; VM 2 a TLB */
	seq = log_last();
	put_cmd(buffer, prod1++, CMD_ATC_INV(0x42) | ATC_GLOBAL, 0);
	put_cmd(buffer, prod1++, CMD_TLBI_NH_ASID(1), 0);
	put_cmd((char *)buffer + PAGE_SIZE, prod2++, CMD_TLBI_NH_ASID(1), 0);
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, prod1);
	lvcmdq_write(page2, 0, LVCMDQ_PROD, prod2);
	wait_cons(self->page, 0, prod1);
	wait_cons(page2, 0, prod2);
	test_cmd_dev_check_cache_all(self->dev_id, 0);
	test_cmd_dev_check_cache_all(dev2_id, IOMMU_TEST_DEV_CACHE_DEFAULT);
	n = read_log(seq, lines);
	ASSERT_EQ(3, n);
	vmid1 = vmid2 = 0;
	for (i = 0; i != n; i++) {
		uint32_t vintf, vmid, asid;
		int ret;

		if (sscanf(lines[i].text, "TLBI_NH_ASID vmid=%u asid=%u",
			   &vmid, &asid) != 2)
			continue;
		ASSERT_EQ(1, asid);
		ret = sscanf(lines[i].source, "vintf%u", &vintf);
		ASSERT_EQ(1, ret);
		ASSERT_EQ(vintf, vmid);
		if (!vmid1)
			vmid1 = vmid;
		else
			vmid2 = vmid;
	}
	ASSERT_NE(0, vmid2);
	ASSERT_NE(vmid1, vmid2);

	/* VM 2's queue stops on an illegal command; VM 1's goes on */
	gerror = LVCMDQ_REG(page2, 0, LVCMDQ_GERROR);
	put_cmd((char *)buffer + PAGE_SIZE, prod2++, CMD_CFGI_STE, 0);
	lvcmdq_write(page2, 0, LVCMDQ_PROD, prod2);
	ASSERT_TRUE(lvcmdq_wait(page2, 0, LVCMDQ_GERROR, 1, (gerror ^ 1) & 1));
	for (i = 0; i != 8; i++)
		put_cmd(buffer, prod1++, CMD_TLBI_NH_ASID(i), 0);
	lvcmdq_write(self->page, 0, LVCMDQ_PROD, prod1);
	wait_cons(self->page, 0, prod1);
	ASSERT_EQ(prod2 - 1, LVCMDQ_REG(page2, 0, LVCMDQ_CONS) & CONS_RD);

	test_ioctl_destroy(q2);
	test_ioctl_destroy(q1);
	test_ioctl_destroy(vdev2);
	test_ioctl_destroy(vdev1);
	munmap(page2, data2.out_vintf_mmap_length);
	test_ioctl_destroy(viommu2_id);
	memset(buffer, 0, 2 * PAGE_SIZE);
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
	EXPECT_ERRNO(EWOULDBLOCK, cmdqv_unload());
	page = mmap(NULL, data.out_vintf_mmap_length, PROT_READ | PROT_WRITE,
		    MAP_SHARED, self->fd, data.out_vintf_mmap_offset);
	ASSERT_NE(MAP_FAILED, page);
	/* The mapping holds the vIOMMU, which holds the module */
	EXPECT_ERRNO(EBUSY, _test_ioctl_destroy(self->fd, viommu_id));
	EXPECT_ERRNO(EWOULDBLOCK, cmdqv_unload());
	ASSERT_EQ(0, munmap(page, data.out_vintf_mmap_length));
	test_ioctl_destroy(viommu_id);

	/* Nothing of it is left: it unloads */
	ASSERT_EQ(0, cmdqv_unload());
	test_err_mock_domain_flags(EOPNOTSUPP, self->ioas_id, CMDQV_FLAG,
				   &stdev_id, NULL);
	/* Its device, created before, gets no vIOMMU now */
	EXPECT_ERRNO(EOPNOTSUPP, alloc_viommu(self->fd, self->dev_id,
					      self->parent_id, &data,
					      sizeof(data), &viommu_id));

	/* Loaded again, it serves again */
	ASSERT_EQ(0, cmdqv_load());
	EXPECT_ERRNO(EEXIST, cmdqv_load());
	memset(&data, 0, sizeof(data));
	ASSERT_EQ(0, alloc_viommu(self->fd, self->dev_id, self->parent_id,
				  &data, sizeof(data), &viommu_id));
	ASSERT_EQ(SZ_64K, data.out_vintf_mmap_length);
	test_ioctl_destroy(viommu_id);
}

TEST_HARNESS_MAIN
