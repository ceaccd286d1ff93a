// SPDX-License-Identifier: GPL-2.0

//! An emulated NVIDIA Tegra241 CMDQV, the backend of the iommufd selftest's vIOMMU HW queues.
//!
//! The Tegra241 (Grace) CMDQV gives each guest a VINTF: a set of virtual command queues
//! (LVCMDQs) that the guest fills in its own memory and drives through a 64 KiB MMIO page the
//! VMM maps for it, so that invalidations reach the SMMU without a VM exit. Upstream's driver
//! (`drivers/iommu/arm/arm-smmu-v3/tegra241-cmdqv.c`) needs Grace hardware. This module emulates
//! the hardware in kernel memory so that the iommufd HW queue flow runs, and is tested, on any
//! machine.
//!
//! It is built in layers:
//!
//! - [`regs`]: typed definitions of the CMDQV's registers;
//! - [`hw`]: the emulated hardware, whose register pages are kernel memory accessed through
//!   [`Io`](kernel::io::Io), as real MMIO would be;
//! - [`queue`] and [`ste`]: the rules the driver applies to what a VMM asks for, with upstream's
//!   errnos;
//! - [`vintf`]: the driver's programming of a guest's VINTF (enable, LVCMDQs, SID slots) over
//!   a register-access trait, [`vintf::CmdqvHw`], which the emulated hardware implements and
//!   real MMIO could.
//!
//! At load it powers the emulated CMDQV on and enables it, as a driver's probe would.

use kernel::{
    io::Io,
    prelude::*, //
};

#[path = "tegra241_cmdqv_emu/hw.rs"]
mod hw;
// The vIOMMU driver that applies these rules comes next; KUnit tests them now.
#[allow(dead_code)]
#[path = "tegra241_cmdqv_emu/queue.rs"]
mod queue;
#[path = "tegra241_cmdqv_emu/regs.rs"]
mod regs;
#[allow(dead_code)]
#[path = "tegra241_cmdqv_emu/ste.rs"]
mod ste;
#[allow(dead_code)]
#[path = "tegra241_cmdqv_emu/vintf.rs"]
mod vintf;

use hw::Cmdqv;
use regs::CMDQV_PARAM;
use vintf::CmdqvHw;

module! {
    type: Tegra241CmdqvEmu,
    name: "tegra241_cmdqv_emu",
    authors: ["iommufd-hwq developers"],
    description: "Emulated Tegra241 CMDQV for the iommufd selftest",
    license: "GPL",
}

struct Tegra241CmdqvEmu {
    _hw: Cmdqv,
}

impl kernel::Module for Tegra241CmdqvEmu {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let hw = Cmdqv::new()?;
        vintf::enable_cmdqv(&hw)?;
        let geometry = vintf::Geometry::read(&hw);
        pr_info!(
            "version {}, {} VINTFs of {} LVCMDQs and {} SID slots\n",
            hw.config().read(CMDQV_PARAM).ver().get(),
            geometry.vintfs,
            geometry.lvcmdqs,
            geometry.sids
        );
        Ok(Self { _hw: hw })
    }
}
