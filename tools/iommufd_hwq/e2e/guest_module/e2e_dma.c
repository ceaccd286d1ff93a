// SPDX-License-Identifier: GPL-2.0
/*
 * The guest side of make e2e: a PCI driver for the passed-through test
 * function (QEMU's PCI test device ID, 1b36:0005) that maps and unmaps DMA
 * through the DMA API, so that the guest's SMMUv3 driver invalidates its TLB
 * (CMD_TLBI_NH_VA, one per page with the vSMMU's range invalidation off)
 * and the function's ATC (CMD_ATC_INV), then waits for them (CMD_SYNC). A
 * VM's default DMA domain is strict here, so each unmap does all three
 * before it returns. Under a vSMMU with the Tegra241 CMDQV, the driver
 * issues them through its VCMDQs, which the host's emulated CMDQV executes;
 * with cmdqv=off, every command traps to the VMM.
 *
 * At probe it shows one unmap's ATC invalidation reaching the function (BAR
 * 0 holds its ATC, one 32-bit entry per substream from 0x100, which an ATC
 * invalidation clears), then times `rounds` unmaps of 1 to 64 pages each.
 * The results are kernel messages; the driver stays bound until removed.
 *
 * A guest takes the function through its DMA API rather than through VFIO:
 * QEMU's accelerated SMMUv3 gives it an IORT RMR (for the MSI doorbell),
 * which makes the guest kernel refuse VFIO's domains for it.
 */
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/timekeeping.h>

#define E2E_BAR0_ATC0 0x100
#define E2E_ATC_CACHED 0xbaddad
#define E2E_MAX_PAGES 64

static unsigned int rounds = 100;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "Unmaps timed per size");

/* Unmaps one mapping of @pages pages of @buf and returns how long it took */
static int e2e_dma_unmap_ns(struct device *dev, void *buf, unsigned int pages, u64 *ns)
{
	size_t size = pages * PAGE_SIZE;
	dma_addr_t dma;
	u64 start;

	dma = dma_map_single(dev, buf, size, DMA_BIDIRECTIONAL);
	if (dma_mapping_error(dev, dma))
		return -ENOMEM;
	start = ktime_get_ns();
	dma_unmap_single(dev, dma, size, DMA_BIDIRECTIONAL);
	*ns = ktime_get_ns() - start;
	return 0;
}

static int e2e_dma_check(struct pci_dev *pdev, void __iomem *bar0, void *buf)
{
	u32 before, after;
	u64 ns;
	int rc;

	iowrite32(E2E_ATC_CACHED, bar0 + E2E_BAR0_ATC0);
	before = ioread32(bar0 + E2E_BAR0_ATC0);
	rc = e2e_dma_unmap_ns(&pdev->dev, buf, 1, &ns);
	if (rc)
		return rc;
	after = ioread32(bar0 + E2E_BAR0_ATC0);
	pci_info(pdev, "e2e: ATS %s; the function's ATC entry for SSID 0: %#x -> %#x after an unmap\n",
		 pdev->ats_enabled ? "enabled" : "disabled", before, after);
	if (before != E2E_ATC_CACHED || after) {
		pci_err(pdev, "e2e: FAIL: the unmap's ATC invalidation did not reach the function\n");
		return -EIO;
	}
	pci_info(pdev, "e2e: PASS: the unmap's ATC invalidation reached the function\n");
	return 0;
}

static int e2e_dma_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static int e2e_dma_bench(struct pci_dev *pdev, void *buf)
{
	static const unsigned int sizes[] = { 1, 4, 16, 64 };
	unsigned int i, r;
	u64 *ns, total;
	int rc = 0;

	if (!rounds)
		return 0;
	ns = kmalloc_array(rounds, sizeof(*ns), GFP_KERNEL);
	if (!ns)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		total = 0;
		for (r = 0; r < rounds; r++) {
			rc = e2e_dma_unmap_ns(&pdev->dev, buf, sizes[i], &ns[r]);
			if (rc)
				goto out;
			total += ns[r];
		}
		sort(ns, rounds, sizeof(*ns), e2e_dma_cmp_u64, NULL);
		pci_info(pdev, "e2e: unmap pages=%u rounds=%u median_ns=%llu p90_ns=%llu best_ns=%llu mean_ns=%llu\n",
			 sizes[i], rounds, ns[rounds / 2], ns[rounds * 9 / 10], ns[0],
			 total / rounds);
	}
out:
	kfree(ns);
	return rc;
}

static int e2e_dma_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	void __iomem *bar0;
	void *buf;
	int rc;

	rc = pcim_enable_device(pdev);
	if (rc)
		return rc;
	rc = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (rc)
		return rc;
	bar0 = pcim_iomap_region(pdev, 0, "e2e_dma");
	if (IS_ERR(bar0))
		return PTR_ERR(bar0);
	buf = devm_kzalloc(&pdev->dev, E2E_MAX_PAGES * PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;

	rc = e2e_dma_check(pdev, bar0, buf);
	if (!rc)
		rc = e2e_dma_bench(pdev, buf);
	pci_info(pdev, "e2e: done (%d)\n", rc);
	return rc;
}

static const struct pci_device_id e2e_dma_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT, 0x0005) },
	{}
};
MODULE_DEVICE_TABLE(pci, e2e_dma_ids);

static struct pci_driver e2e_dma_driver = {
	.name = "e2e_dma",
	.id_table = e2e_dma_ids,
	.probe = e2e_dma_probe,
};
module_pci_driver(e2e_dma_driver);

MODULE_DESCRIPTION("make e2e's guest driver of the emulated CMDQV's test function");
MODULE_LICENSE("GPL");
