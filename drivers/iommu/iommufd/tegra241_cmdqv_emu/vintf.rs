// SPDX-License-Identifier: GPL-2.0

//! The driver's programming of a guest's VINTF: its enable, its LVCMDQs and its SID slots, as
//! the upstream driver programs a user VINTF (`tegra241_vintf_hw_init()`,
//! `tegra241_vintf_alloc_lvcmdq_user()`, `tegra241_vintf_init_vsid()`).
//!
//! Everything goes through [`CmdqvHw`], so the same logic would drive real MMIO.

use super::{
    queue::{
        check_geometry,
        check_index, //
    },
    regs::{
        sid_slot,
        CMDQV_CMDQ_ALLOC,
        CMDQV_CONFIG,
        CMDQV_PARAM,
        CMDQV_STATUS,
        LVCMDQ_BASE,
        LVCMDQ_CONFIG,
        LVCMDQ_CONS,
        LVCMDQ_CONS_INDX_BASE,
        LVCMDQ_GERROR,
        LVCMDQ_GERRORN,
        LVCMDQ_PROD,
        VINTF_CONFIG,
        VINTF_SID_MATCH,
        VINTF_SID_REPLACE,
        VINTF_STATUS, //
    },
};
use kernel::{
    io::{
        register::Array,
        Io,
        IoCapable,
        IoKnownSize, //
    },
    prelude::*,
};

/// A CMDQV's register pages.
pub(crate) trait CmdqvHw {
    /// The type of its pages: a page of CMDQV registers, on real MMIO or emulated.
    type Page: Io + IoKnownSize + IoCapable<u32> + IoCapable<u64>;

    /// The config page.
    fn config(&self) -> &Self::Page;

    /// Page0 and page1 of VINTF `index`, if it exists.
    fn vintf_pages(&self, index: usize) -> Option<(&Self::Page, &Self::Page)>;

    /// Gives the hardware time to react to what was written; real hardware needs none.
    fn settle(&self) {}
}

/// Enables the CMDQV, as the driver's probe does; `ETIMEDOUT` if the hardware does not report
/// it enabled.
pub(crate) fn enable_cmdqv(hw: &impl CmdqvHw) -> Result {
    hw.config()
        .write_reg(CMDQV_CONFIG::zeroed().with_cmdqv_en(true));
    hw.settle();
    if !hw.config().read(CMDQV_STATUS).enabled() {
        return Err(ETIMEDOUT);
    }
    Ok(())
}

/// The geometry a CMDQV reports in `PARAM`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    /// The number of VINTFs, VINTF0 being the host's.
    pub(crate) vintfs: u32,
    /// The number of LVCMDQs of each VINTF.
    pub(crate) lvcmdqs: u32,
    /// The number of SID slots of each VINTF.
    pub(crate) sids: u32,
}

impl Geometry {
    /// Reads the geometry of `hw`.
    pub(crate) fn read(hw: &impl CmdqvHw) -> Self {
        let param = hw.config().read(CMDQV_PARAM);
        let vintfs = 1u32 << param.num_vintf_log2().get();
        Self {
            vintfs,
            lvcmdqs: (1u32 << param.num_vcmdq_log2().get()) / vintfs,
            sids: 1u32 << param.num_sid_per_vm_log2().get(),
        }
    }
}

/// The physical stream ID that `vsid` maps to in VINTF `vintf` of `sids` SID slots, as the
/// hardware finds it: the first enabled slot whose `SID_MATCH` is `vsid` gives its `SID_REPLACE`.
pub(crate) fn match_sid(hw: &impl CmdqvHw, vintf: usize, sids: u32, vsid: u32) -> Option<u32> {
    (0..sids as usize).find_map(|slot| {
        let index = sid_slot(vintf, slot)?;
        let sid_match = hw.config().read(VINTF_SID_MATCH::try_at(index)?);
        (sid_match.enable() && sid_match.virt_sid().get() == vsid)
            .then(|| VINTF_SID_REPLACE::try_at(index).map(|r| u32::from(hw.config().read(r))))?
    })
}

/// The VMID the hardware substitutes in the commands of VINTF `vintf`.
pub(crate) fn vmid(hw: &impl CmdqvHw, vintf: usize) -> Option<u16> {
    Some(hw.config().read(VINTF_CONFIG::try_at(vintf)?).vmid().get() as u16)
}

/// A guest's VINTF, enabled, with the LVCMDQs and SID slots it has given out.
///
/// # Invariants
///
/// `index` is a VINTF of the hardware other than VINTF0; bit `l` of `lvcmdqs` is set when
/// LVCMDQ `l` is allocated, bit `s` of `sids` when SID slot `s` is in use.
pub(crate) struct Vintf {
    index: usize,
    geometry: Geometry,
    lvcmdqs: u128,
    sids: u32,
}

impl Vintf {
    /// Resets VINTF `index` and enables it for a guest whose VMID is `vmid`.
    ///
    /// Fails with `EINVAL` for VINTF0 (the host's) or a VINTF the hardware does not have, and
    /// with `ETIMEDOUT` if the hardware does not report it enabled.
    pub(crate) fn enable(hw: &impl CmdqvHw, index: usize, vmid: u16) -> Result<Self> {
        let geometry = Geometry::read(hw);
        if index == 0 || index >= geometry.vintfs as usize {
            return Err(EINVAL);
        }
        let this = Self {
            index,
            geometry,
            lvcmdqs: 0,
            sids: 0,
        };
        this.reset(hw)?;
        // Register locations are used once each; they are checked against the arrays here.
        let config = || VINTF_CONFIG::try_at(index).ok_or(EINVAL);
        // Owned by the guest (HYP_OWN clear), with its VMID; then enabled.
        let value = VINTF_CONFIG::zeroed().with_vmid(vmid);
        hw.config().write(config()?, value);
        hw.config().write(config()?, value.with_enable(true));
        hw.settle();
        if !hw
            .config()
            .read(VINTF_STATUS::try_at(index).ok_or(EINVAL)?)
            .enabled()
        {
            hw.config().write(config()?, VINTF_CONFIG::zeroed());
            return Err(ETIMEDOUT);
        }
        Ok(this)
    }

    /// Disables the VINTF and clears its SID slots.
    fn reset(&self, hw: &impl CmdqvHw) -> Result {
        let config = VINTF_CONFIG::try_at(self.index).ok_or(EINVAL)?;
        hw.config().write(config, VINTF_CONFIG::zeroed());
        hw.settle();
        for slot in 0..self.geometry.sids as usize {
            self.clear_sid_slot(hw, slot)?;
        }
        Ok(())
    }

    /// The VINTF's index.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    fn taken(&self, lvcmdq: u32) -> bool {
        lvcmdq < u128::BITS && self.lvcmdqs & (1 << lvcmdq) != 0
    }

    /// The global VCMDQ behind LVCMDQ `lvcmdq`.
    fn vcmdq(&self, lvcmdq: u32) -> usize {
        self.index * self.geometry.lvcmdqs as usize + lvcmdq as usize
    }

    /// Allocates LVCMDQ `lvcmdq` for a queue of `length` bytes at `base_pa`, on an SMMU whose
    /// largest queue has `1 << cmdqs` entries: checks the request as upstream does
    /// ([`check_index`], then [`check_geometry`]), assigns a VCMDQ to the LVCMDQ, resets the
    /// queue and programs its base. The queue stays disabled: the guest enables it.
    pub(crate) fn alloc_lvcmdq(
        &mut self,
        hw: &impl CmdqvHw,
        lvcmdq: u32,
        length: u64,
        base_pa: u64,
        cmdqs: u32,
    ) -> Result {
        check_index(lvcmdq, self.geometry.lvcmdqs, |l| self.taken(l))?;
        let log2size = check_geometry(length, base_pa, cmdqs)?;
        let (_, page1) = hw.vintf_pages(self.index).ok_or(EINVAL)?;
        let alloc = CMDQV_CMDQ_ALLOC::try_at(self.vcmdq(lvcmdq)).ok_or(EINVAL)?;
        let base = LVCMDQ_BASE::try_at(lvcmdq as usize).ok_or(EINVAL)?;
        hw.config().write(
            alloc,
            CMDQV_CMDQ_ALLOC::zeroed()
                .try_with_vintf(self.index as u32)?
                .try_with_lvcmdq(lvcmdq)?
                .with_allocated(true),
        );
        self.reset_lvcmdq(hw, lvcmdq)?;
        page1.write(
            base,
            LVCMDQ_BASE::zeroed()
                .try_with_addr(base_pa >> 5)?
                .try_with_log2size(u64::from(log2size))?,
        );
        self.lvcmdqs |= 1 << lvcmdq;
        Ok(())
    }

    /// Resets LVCMDQ `lvcmdq` and takes its VCMDQ back.
    pub(crate) fn free_lvcmdq(&mut self, hw: &impl CmdqvHw, lvcmdq: u32) -> Result {
        if !self.taken(lvcmdq) {
            return Err(EINVAL);
        }
        self.reset_lvcmdq(hw, lvcmdq)?;
        let alloc = CMDQV_CMDQ_ALLOC::try_at(self.vcmdq(lvcmdq)).ok_or(EINVAL)?;
        hw.config().write(alloc, CMDQV_CMDQ_ALLOC::zeroed());
        // Whatever the guest wrote to its `CONFIG` meanwhile, the queue is now off.
        hw.settle();
        self.lvcmdqs &= !(1 << lvcmdq);
        Ok(())
    }

    /// Disables LVCMDQ `lvcmdq`, empties it, clears its base and acknowledges its errors.
    fn reset_lvcmdq(&self, hw: &impl CmdqvHw, lvcmdq: u32) -> Result {
        let (page0, page1) = hw.vintf_pages(self.index).ok_or(EINVAL)?;
        let l = lvcmdq as usize;
        page0.write(
            LVCMDQ_CONFIG::try_at(l).ok_or(EINVAL)?,
            LVCMDQ_CONFIG::zeroed(),
        );
        hw.settle();
        page0.write(LVCMDQ_PROD::try_at(l).ok_or(EINVAL)?, LVCMDQ_PROD::zeroed());
        page0.write(LVCMDQ_CONS::try_at(l).ok_or(EINVAL)?, LVCMDQ_CONS::zeroed());
        page1.write(LVCMDQ_BASE::try_at(l).ok_or(EINVAL)?, LVCMDQ_BASE::zeroed());
        page1.write(
            LVCMDQ_CONS_INDX_BASE::try_at(l).ok_or(EINVAL)?,
            LVCMDQ_CONS_INDX_BASE::zeroed(),
        );
        let gerror = page0
            .read(LVCMDQ_GERROR::try_at(l).ok_or(EINVAL)?)
            .cmdq_err();
        let gerrorn = || LVCMDQ_GERRORN::try_at(l).ok_or(EINVAL);
        if page0.read(gerrorn()?).cmdq_err() != gerror {
            page0.write(gerrorn()?, LVCMDQ_GERRORN::zeroed().with_cmdq_err(gerror));
        }
        Ok(())
    }

    /// Gives a SID slot to the guest's virtual SID `vsid`, standing for the physical SID
    /// `psid`, and returns the slot.
    ///
    /// Fails with `EINVAL` for a virtual SID wider than 20 bits and with `ENOSPC` when every
    /// slot is in use.
    pub(crate) fn alloc_sid(&mut self, hw: &impl CmdqvHw, vsid: u64, psid: u32) -> Result<usize> {
        let vsid = u32::try_from(vsid).map_err(|_| EINVAL)?;
        let virt_sid = VINTF_SID_MATCH::zeroed()
            .try_with_virt_sid(vsid)
            .map_err(|_| EINVAL)?;
        let slot = (0..self.geometry.sids as usize)
            .find(|&s| self.sids & (1 << s) == 0)
            .ok_or(ENOSPC)?;
        let index = sid_slot(self.index, slot).ok_or(EINVAL)?;
        hw.config().write(
            VINTF_SID_REPLACE::try_at(index).ok_or(EINVAL)?,
            VINTF_SID_REPLACE::from(psid),
        );
        hw.config().write(
            VINTF_SID_MATCH::try_at(index).ok_or(EINVAL)?,
            virt_sid.with_enable(true),
        );
        self.sids |= 1 << slot;
        Ok(slot)
    }

    /// The physical SID that virtual SID `vsid` stands for, as the hardware finds it: the
    /// `SID_REPLACE` of the enabled slot whose `SID_MATCH` has it.
    pub(crate) fn lookup_sid(&self, hw: &impl CmdqvHw, vsid: u32) -> Option<u32> {
        match_sid(hw, self.index, self.geometry.sids, vsid)
    }

    /// Takes SID slot `slot` back.
    pub(crate) fn free_sid(&mut self, hw: &impl CmdqvHw, slot: usize) -> Result {
        if slot >= self.geometry.sids as usize || self.sids & (1 << slot) == 0 {
            return Err(EINVAL);
        }
        self.clear_sid_slot(hw, slot)?;
        self.sids &= !(1 << slot);
        Ok(())
    }

    fn clear_sid_slot(&self, hw: &impl CmdqvHw, slot: usize) -> Result {
        let index = sid_slot(self.index, slot).ok_or(EINVAL)?;
        hw.config().write(
            VINTF_SID_MATCH::try_at(index).ok_or(EINVAL)?,
            VINTF_SID_MATCH::zeroed(),
        );
        hw.config().write(
            VINTF_SID_REPLACE::try_at(index).ok_or(EINVAL)?,
            VINTF_SID_REPLACE::zeroed(),
        );
        Ok(())
    }

    /// Frees the LVCMDQs in descending order, disables the VINTF and clears its SID slots.
    pub(crate) fn disable(&mut self, hw: &impl CmdqvHw) -> Result {
        for lvcmdq in (0..self.geometry.lvcmdqs).rev() {
            if self.taken(lvcmdq) {
                self.free_lvcmdq(hw, lvcmdq)?;
            }
        }
        self.reset(hw)
    }
}

#[kunit_tests(tegra241_cmdqv_emu_vintf)]
mod tests {
    use super::*;
    use crate::hw::Cmdqv;

    const CMDQS: u32 = 19;

    /// An emulated CMDQV, enabled.
    fn enabled_hw() -> Result<Cmdqv> {
        let hw = Cmdqv::new()?;
        enable_cmdqv(&hw)?;
        Ok(hw)
    }

    #[test]
    fn enable() -> Result {
        let hw = enabled_hw()?;
        assert_eq!(Vintf::enable(&hw, 0, 1).err(), Some(EINVAL));
        assert_eq!(Vintf::enable(&hw, 4, 1).err(), Some(EINVAL));
        let mut vintf = Vintf::enable(&hw, 2, 0x1234)?;
        assert_eq!(vintf.index(), 2);
        let config = hw.config().read(VINTF_CONFIG::at(2));
        assert_eq!(config.vmid().get(), 0x1234);
        assert!(config.enable());
        assert!(!config.hyp_own());
        assert!(hw.config().read(VINTF_STATUS::at(2)).enabled());
        vintf.disable(&hw)?;
        assert!(!hw.config().read(VINTF_STATUS::at(2)).enabled());
        Ok(())
    }

    #[test]
    fn lvcmdqs() -> Result {
        let hw = enabled_hw()?;
        let mut vintf = Vintf::enable(&hw, 1, 7)?;
        let (page0, page1) = hw.vintf_pages(1).ok_or(EINVAL)?;
        // In ascending order only.
        assert_eq!(
            vintf.alloc_lvcmdq(&hw, 1, 4096, 0x8000_0000, CMDQS),
            Err(EIO)
        );
        // A bad queue programs nothing.
        assert_eq!(
            vintf.alloc_lvcmdq(&hw, 0, 4096, 0x8000_0800, CMDQS),
            Err(EINVAL)
        );
        assert!(!hw.config().read(CMDQV_CMDQ_ALLOC::at(4)).allocated());
        vintf.alloc_lvcmdq(&hw, 0, 4096, 0x8000_0000, CMDQS)?;
        // VINTF1's LVCMDQ0 is VCMDQ 4.
        let alloc = hw.config().read(CMDQV_CMDQ_ALLOC::at(4));
        assert!(alloc.allocated());
        assert_eq!((alloc.vintf().get(), alloc.lvcmdq().get()), (1, 0));
        assert_eq!(page1.read::<u64, _>(0x0usize), 0x8000_0000 | 8);
        assert_eq!(
            vintf.alloc_lvcmdq(&hw, 0, 4096, 0x8000_1000, CMDQS),
            Err(EEXIST)
        );
        assert_eq!(
            vintf.alloc_lvcmdq(&hw, 4, 4096, 0x8000_1000, CMDQS),
            Err(EINVAL)
        );
        // Allocation resets the queue and acknowledges a pending error.
        page0.write(Array::at(1), LVCMDQ_GERROR::zeroed().with_cmdq_err(true));
        page0.write(Array::at(1), LVCMDQ_PROD::from(5u32));
        vintf.alloc_lvcmdq(&hw, 1, 32, 0x9000_0020, CMDQS)?;
        assert!(page0.read(LVCMDQ_GERRORN::at(1)).cmdq_err());
        assert_eq!(page0.read(LVCMDQ_PROD::at(1)).wr().get(), 0);
        assert_eq!(page1.read::<u64, _>(0x80usize), 0x9000_0020 | 1);
        // Free: the base is cleared and the VCMDQ taken back.
        vintf.free_lvcmdq(&hw, 1)?;
        assert_eq!(page1.read::<u64, _>(0x80usize), 0);
        assert!(!hw.config().read(CMDQV_CMDQ_ALLOC::at(5)).allocated());
        assert_eq!(vintf.free_lvcmdq(&hw, 1), Err(EINVAL));
        vintf.disable(&hw)?;
        assert!(!hw.config().read(CMDQV_CMDQ_ALLOC::at(4)).allocated());
        Ok(())
    }

    #[test]
    fn sids() -> Result {
        let hw = enabled_hw()?;
        let mut vintf = Vintf::enable(&hw, 3, 1)?;
        assert_eq!(vintf.alloc_sid(&hw, 0x10_0000, 1), Err(EINVAL));
        assert_eq!(vintf.alloc_sid(&hw, u64::MAX, 1), Err(EINVAL));
        for s in 0..16u32 {
            assert_eq!(
                vintf.alloc_sid(&hw, 0xf_ff00 + u64::from(s), 100 + s)?,
                s as usize
            );
        }
        assert_eq!(vintf.alloc_sid(&hw, 1, 1), Err(ENOSPC));
        let slot = sid_slot(3, 2).ok_or(EINVAL)?;
        let matched = hw.config().read(VINTF_SID_MATCH::at(slot));
        assert!(matched.enable());
        assert_eq!(matched.virt_sid().get(), 0xf_ff02);
        assert_eq!(
            hw.config()
                .read(VINTF_SID_REPLACE::at(slot))
                .phys_sid()
                .get(),
            102
        );
        vintf.free_sid(&hw, 2)?;
        assert!(!hw.config().read(VINTF_SID_MATCH::at(slot)).enable());
        assert_eq!(vintf.free_sid(&hw, 2), Err(EINVAL));
        // The freed slot is given out again.
        assert_eq!(vintf.alloc_sid(&hw, 5, 5)?, 2);
        vintf.disable(&hw)?;
        assert_eq!(
            hw.config()
                .read(VINTF_SID_REPLACE::at(slot))
                .phys_sid()
                .get(),
            0
        );
        Ok(())
    }
}
