/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A guest's side of an emulated Tegra241 CMDQV, for the tests that drive its
 * queues: the LVCMDQ registers of a mapped VINTF page0, the commands, and
 * guest queue memory.
 */
#ifndef __IOMMUFD_TEGRA241_CMDQV_UTILS_H
#define __IOMMUFD_TEGRA241_CMDQV_UTILS_H

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>

/* After iommufd_utils.h, whose buffer it sets up */

#define SZ_2M (2UL << 20)

/* LVCMDQ registers in VINTF page0, 0x80 bytes each, read as MMIO is */
#define LVCMDQ_CONS 0x00
#define LVCMDQ_PROD 0x04
#define LVCMDQ_CONFIG 0x08
#define LVCMDQ_STATUS 0x0c
#define LVCMDQ_GERROR 0x10
#define LVCMDQ_GERRORN 0x14

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
/* TLBI_NH_VA: the address is in the second word */
#define CMD_TLBI_NH_VA(asid) (0x12ULL | (uint64_t)(asid) << 48)
/* ATC_INV: SID, then SSID with SSV, or G; address and size in the second */
#define CMD_ATC_INV(vsid) (0x40ULL | (uint64_t)(vsid) << 32)
#define ATC_SSID(ssid) ((uint64_t)(ssid) << 12 | 1ULL << 11)
#define ATC_GLOBAL (1ULL << 9)
#define ATC_ALL_ADDRS 52

static void put_cmd(void *queue, unsigned int index, uint64_t dw0, uint64_t dw1)
{
	uint64_t *entry = (uint64_t *)queue + 2 * index;

	entry[0] = dw0;
	entry[1] = dw1;
}

/*
 * Whether a backend serves mock devices of the Tegra241 CMDQV flavour: without
 * one (the emulation is not loaded) creating such a device fails with
 * EOPNOTSUPP, and the tests have nothing to test.
 */
static bool cmdqv_backend_present(void)
{
	uint32_t ioas_id, dev_id;
	bool present = true;
	int fd;

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		return false;
	if (!_test_ioctl_ioas_alloc(fd, &ioas_id) &&
	    _test_cmd_mock_domain_flags(fd, ioas_id,
					MOCK_FLAGS_DEVICE_TEGRA241_CMDQV, NULL,
					NULL, &dev_id) &&
	    errno == EOPNOTSUPP)
		present = false;
	close(fd);
	return present;
}

#define CMDQV_SKIP_MSG "no Tegra241 CMDQV backend: load tegra241_cmdqv_emu.ko"

/*
 * IOMMU_GET_HW_INFO of @dev_id, of @in_type unless it is the default; @len is
 * the size of @data in, what the kernel wrote out
 */
static inline int get_hw_info(int fd, uint32_t dev_id, uint32_t in_type,
			      void *data, uint32_t *len, uint32_t *out_type)
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

#define CMDQV_MODULE "tegra241_cmdqv_emu"

/* Unloads the backend if nothing holds it (EWOULDBLOCK otherwise) */
static inline int cmdqv_unload(void)
{
	return syscall(SYS_delete_module, CMDQV_MODULE, O_NONBLOCK);
}

/*
 * Loads the backend from $TEGRA241_CMDQV_EMU_KO, by default where the test
 * runner puts it
 */
static inline int cmdqv_load(void)
{
	const char *path = getenv("TEGRA241_CMDQV_EMU_KO");
	int fd, ret;

	fd = open(path ? path : "/modules/" CMDQV_MODULE ".ko",
		  O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

static __attribute__((constructor)) void setup_buffers(void)
{
	PAGE_SIZE = sysconf(_SC_PAGE_SIZE);
	BUFFER_SIZE = SZ_2M;
	buffer = mmap(NULL, BUFFER_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	assert(buffer != MAP_FAILED);
	memset(buffer, 0, BUFFER_SIZE);
}

#endif
