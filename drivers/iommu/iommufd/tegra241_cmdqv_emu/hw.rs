// SPDX-License-Identifier: GPL-2.0

//! The emulated hardware: a Tegra241 CMDQV whose register pages are kernel memory.
//!
//! The driver programs it through the typed registers of [`regs`](super::regs), over [`Io`],
//! exactly as it would program real MMIO. Where real hardware reacts to a write by itself (a
//! status bit following an enable bit), the emulation reacts when the driver tells it that it
//! wrote: [`CmdqvHw::settle`].
//!
//! The geometry is that of a small Grace CMDQV: version 1, four VINTFs (VINTF0 is the host's),
//! sixteen VCMDQs, so four LVCMDQs per VINTF, and sixteen SID slots per VINTF.

use super::regs::{
    CMDQV_CMDQ_ALLOC,
    CMDQV_CONFIG,
    CMDQV_PARAM,
    CMDQV_STATUS,
    LVCMDQ_CONFIG,
    LVCMDQ_STATUS,
    MAX_LVCMDQS,
    MAX_SIDS_PER_VINTF,
    MAX_VINTFS,
    VINTF_CONFIG,
    VINTF_STATUS, //
};
use super::vintf::CmdqvHw;
use kernel::{
    io::{
        register::Array,
        sysmem::SysMem,
        Io,
        IoKnownSize, //
    },
    prelude::*,
    sync::Arc,
};

/// A 64 KiB page of registers.
pub(crate) type RegPage = SysMem<0x10000>;

/// The CMDQV's version.
const VERSION: u32 = 1;
/// log2 of the number of VINTFs.
pub(crate) const NUM_VINTF_LOG2: u32 = 2;
/// log2 of the number of VCMDQs, shared out evenly among the VINTFs.
pub(crate) const NUM_VCMDQ_LOG2: u32 = 4;
/// log2 of the SID slots of each VINTF.
pub(crate) const NUM_SID_PER_VM_LOG2: u32 = 4;
/// The LVCMDQs of each VINTF.
const LVCMDQS_PER_VINTF: usize = 1 << (NUM_VCMDQ_LOG2 - NUM_VINTF_LOG2);

const _: () = assert!(1 << NUM_VINTF_LOG2 <= MAX_VINTFS);
const _: () = assert!(1 << (NUM_VCMDQ_LOG2 - NUM_VINTF_LOG2) <= MAX_LVCMDQS);
const _: () = assert!(1 << NUM_SID_PER_VM_LOG2 <= MAX_SIDS_PER_VINTF);

/// The two pages of a VINTF.
pub(crate) struct VintfPages {
    /// The LVCMDQ queue registers, which a VMM maps for its guest: shared with the mappings,
    /// which may outlive a vIOMMU's use of the VINTF by a little.
    pub(crate) page0: Arc<RegPage>,
    /// The LVCMDQ base registers, which only the host writes.
    pub(crate) page1: RegPage,
}

/// An emulated Tegra241 CMDQV.
pub(crate) struct Cmdqv {
    config: RegPage,
    vintfs: KVec<VintfPages>,
}

impl Cmdqv {
    /// Powers the hardware on: every register zero, `PARAM` describing it.
    pub(crate) fn new() -> Result<Self> {
        let config = RegPage::new()?;
        config.write_reg(
            CMDQV_PARAM::zeroed()
                .with_const_ver::<VERSION>()
                .with_const_num_vintf_log2::<NUM_VINTF_LOG2>()
                .with_const_num_vcmdq_log2::<NUM_VCMDQ_LOG2>()
                .with_const_num_sid_per_vm_log2::<NUM_SID_PER_VM_LOG2>(),
        );
        let count = 1usize << NUM_VINTF_LOG2;
        let mut vintfs = KVec::with_capacity(count, GFP_KERNEL)?;
        for _ in 0..count {
            vintfs.push(
                VintfPages {
                    page0: Arc::new(RegPage::new()?, GFP_KERNEL)?,
                    page1: RegPage::new()?,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self { config, vintfs })
    }
}

impl Cmdqv {
    /// The version, as `PARAM.VER` reports it.
    pub(crate) fn version(&self) -> u8 {
        self.config.read(CMDQV_PARAM).ver().get() as u8
    }

    /// Page0 of VINTF `index`, the page a VMM maps, if the VINTF exists.
    pub(crate) fn vintf_page0(&self, index: usize) -> Option<Arc<RegPage>> {
        self.vintfs.get(index).map(|v| v.page0.clone())
    }
}

impl CmdqvHw for Cmdqv {
    type Page = RegPage;

    fn config(&self) -> &RegPage {
        &self.config
    }

    fn vintf_pages(&self, index: usize) -> Option<(&RegPage, &RegPage)> {
        self.vintfs.get(index).map(|v| (&*v.page0, &v.page1))
    }

    /// Each status follows its enable bit: the CMDQV's, each VINTF's, and each LVCMDQ's while
    /// a VCMDQ is assigned to the LVCMDQ. An LVCMDQ with none is off, whatever its `CONFIG`
    /// says: once the driver has taken the VCMDQ back, nothing a guest wrote keeps it enabled.
    ///
    /// A VINTF being enabled starts from a clean page0: every register at its reset value and
    /// every other offset zero, as on hardware, where page0 holds only the registers of the
    /// LVCMDQs the VINTF is given. Nothing one guest wrote there reaches the next one.
    fn settle(&self) {
        let on = self.config.read(CMDQV_CONFIG).cmdqv_en();
        self.config.update(CMDQV_STATUS, |r| r.with_enabled(on));
        for (v, pages) in self.vintfs.iter().enumerate() {
            // `v` is below the number of VINTFs, which fits the arrays (checked above).
            let (Some(config), Some(status)) = (VINTF_CONFIG::try_at(v), VINTF_STATUS::try_at(v))
            else {
                continue;
            };
            let vintf_on = on && self.config.read(config).enable();
            let was_on = VINTF_STATUS::try_at(v).is_some_and(|s| self.config.read(s).enabled());
            if vintf_on && !was_on {
                // Within the page (its size is a multiple of 8).
                for offset in (0..RegPage::MIN_SIZE).step_by(8) {
                    let _ = pages.page0.try_write64(0, offset);
                }
            }
            self.config.update(status, |r| r.with_enabled(vintf_on));
            for l in 0..LVCMDQS_PER_VINTF {
                let (Some(alloc), Some(config), Some(status)) = (
                    CMDQV_CMDQ_ALLOC::try_at(v * LVCMDQS_PER_VINTF + l),
                    LVCMDQ_CONFIG::try_at(l),
                    LVCMDQ_STATUS::try_at(l),
                ) else {
                    continue;
                };
                let alloc = self.config.read(alloc);
                let assigned = alloc.allocated()
                    && alloc.vintf().get() as usize == v
                    && alloc.lvcmdq().get() as usize == l;
                let on = assigned && pages.page0.read(config).cmdq_en();
                pages.page0.update(status, |r| r.with_enabled(on));
            }
        }
    }
}

#[kunit_tests(tegra241_cmdqv_emu_hw)]
mod tests {
    use super::*;

    #[test]
    fn power_on() -> Result {
        let hw = Cmdqv::new()?;
        let param = hw.config().read(CMDQV_PARAM);
        assert_eq!(param.ver().get(), 1);
        assert_eq!(param.num_vintf_log2().get(), NUM_VINTF_LOG2);
        assert_eq!(param.num_vcmdq_log2().get(), NUM_VCMDQ_LOG2);
        assert_eq!(param.num_sid_per_vm_log2().get(), NUM_SID_PER_VM_LOG2);
        assert!(hw.vintf_pages(4).is_none());
        // Each VINTF has two 64 KiB pages of its own, page0 to be mapped by a VMM.
        let (page0, page1) = hw.vintf_pages(3).ok_or(EINVAL)?;
        assert_eq!(page0.phys_addr() % 0x10000, 0);
        assert_ne!(page0.phys_addr(), page1.phys_addr());
        assert_eq!(page0.read::<u32, _>(0xfffcusize), 0);
        Ok(())
    }

    #[test]
    fn enable_handshake() -> Result {
        let hw = Cmdqv::new()?;
        let config = hw.config();
        config.write_reg(CMDQV_CONFIG::zeroed().with_cmdqv_en(true));
        config.write(Array::at(1), VINTF_CONFIG::zeroed().with_enable(true));
        assert!(!config.read(CMDQV_STATUS).enabled());
        hw.settle();
        assert!(config.read(CMDQV_STATUS).enabled());
        assert!(config.read(VINTF_STATUS::at(1)).enabled());
        assert!(!config.read(VINTF_STATUS::at(2)).enabled());
        // A VINTF is off while the CMDQV is.
        config.write_reg(CMDQV_CONFIG::zeroed());
        hw.settle();
        assert!(!config.read(CMDQV_STATUS).enabled());
        assert!(!config.read(VINTF_STATUS::at(1)).enabled());
        Ok(())
    }

    #[test]
    fn clean_page0() -> Result {
        let hw = Cmdqv::new()?;
        let (page0, _) = hw.vintf_pages(1).ok_or(EINVAL)?;
        let config = hw.config();
        config.write_reg(CMDQV_CONFIG::zeroed().with_cmdqv_en(true));
        // What a guest of the VINTF leaves behind: registers and reserved offsets.
        page0.write(Array::at(2), LVCMDQ_CONFIG::zeroed().with_cmdq_en(true));
        page0.try_write32(0xdead_beef, 0x44)?;
        page0.try_write32(0xdead_beef, 0xfffc)?;
        // Enabled for the next one: all of it zero.
        config.write(Array::at(1), VINTF_CONFIG::zeroed().with_enable(true));
        hw.settle();
        assert!(!page0.read(LVCMDQ_CONFIG::at(2)).cmdq_en());
        assert_eq!(page0.try_read32(0x44)?, 0);
        assert_eq!(page0.try_read32(0xfffc)?, 0);
        // Not while it stays enabled: the guest's writes are its own.
        page0.try_write32(1, 0x44)?;
        hw.settle();
        assert_eq!(page0.try_read32(0x44)?, 1);
        Ok(())
    }

    #[test]
    fn lvcmdq_status() -> Result {
        let hw = Cmdqv::new()?;
        let (page0, _) = hw.vintf_pages(2).ok_or(EINVAL)?;
        // Enabled by a guest while no VCMDQ is assigned: off.
        page0.write(Array::at(1), LVCMDQ_CONFIG::zeroed().with_cmdq_en(true));
        hw.settle();
        assert!(!page0.read(LVCMDQ_STATUS::at(1)).enabled());
        // Assigned (VINTF2's LVCMDQ1 is VCMDQ 9): STATUS follows CONFIG.
        let alloc = CMDQV_CMDQ_ALLOC::zeroed()
            .with_const_vintf::<2>()
            .with_const_lvcmdq::<1>()
            .with_allocated(true);
        hw.config().write(Array::at(9), alloc);
        hw.settle();
        assert!(page0.read(LVCMDQ_STATUS::at(1)).enabled());
        assert!(!page0.read(LVCMDQ_STATUS::at(0)).enabled());
        // Taken back with the guest's enable still set: off again.
        hw.config().write(Array::at(9), CMDQV_CMDQ_ALLOC::zeroed());
        hw.settle();
        assert!(!page0.read(LVCMDQ_STATUS::at(1)).enabled());
        Ok(())
    }
}
