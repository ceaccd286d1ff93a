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
//!   real MMIO could;
//! - [`smmu`]: the ID registers of the SMMUv3 it extends;
//! - [`cmd`], [`ring`] and [`engine`]: the commands a guest queue carries, its pointer
//!   arithmetic, and the engine that executes the guests' queues from their memory;
//! - [`caches`]: what the commands do: they reach the ATCs of the mock devices, and a log of
//!   the invalidations that debugfs shows (`tegra241_cmdqv_emu/invalidations`);
//! - [`tunables`]: the engine's idle polling period and fault injection, in debugfs;
//! - [`viommu`]: the vIOMMU driver that VMMs reach through iommufd, serving the selftest's mock
//!   devices created with `MOCK_FLAGS_DEVICE_TEGRA241_CMDQV`;
//! - [`vfio`] and [`pci`]: the module's own devices behind the emulated SMMU, which VMMs get
//!   through VFIO as PCI functions.
//!
//! At load it powers the emulated CMDQV on and enables it, as a driver's probe would, then
//! registers as the backend of those mock devices and creates `devices` (default 1) of its own;
//! it can be unloaded once no vIOMMU of it is left and none of its devices is bound to an
//! iommufd.

use kernel::{
    debugfs::{
        Dir,
        File, //
    },
    iommu::iommufd::driver::mock,
    prelude::*,
    sync::Arc, //
};

#[path = "tegra241_cmdqv_emu/caches.rs"]
mod caches;
#[path = "tegra241_cmdqv_emu/cmd.rs"]
mod cmd;
#[path = "tegra241_cmdqv_emu/engine.rs"]
mod engine;
#[path = "tegra241_cmdqv_emu/hw.rs"]
mod hw;
#[path = "tegra241_cmdqv_emu/pci.rs"]
mod pci;
#[path = "tegra241_cmdqv_emu/queue.rs"]
mod queue;
#[path = "tegra241_cmdqv_emu/regs.rs"]
mod regs;
#[path = "tegra241_cmdqv_emu/ring.rs"]
mod ring;
#[path = "tegra241_cmdqv_emu/smmu.rs"]
mod smmu;
#[path = "tegra241_cmdqv_emu/ste.rs"]
mod ste;
#[path = "tegra241_cmdqv_emu/tunables.rs"]
mod tunables;
#[path = "tegra241_cmdqv_emu/vfio.rs"]
mod vfio;
#[path = "tegra241_cmdqv_emu/vintf.rs"]
mod vintf;
#[path = "tegra241_cmdqv_emu/viommu.rs"]
mod viommu;

use caches::LogFile;
use hw::Cmdqv;
use tunables::TunableFile;
use viommu::{
    CmdqvDev,
    CmdqvViommu, //
};

module! {
    type: Tegra241CmdqvEmu,
    name: "tegra241_cmdqv_emu",
    authors: ["iommufd-hwq developers"],
    description: "Emulated Tegra241 CMDQV for the iommufd selftest",
    license: "GPL",
    imports_ns: ["IOMMUFD"],
    params: {
        devices: u32 {
            default: 1,
            description: "Devices behind the emulated SMMU created at load (VFIO devices)",
        },
    },
}

struct Tegra241CmdqvEmu {
    cmdqv: Arc<CmdqvDev>,
    _registration: mock::Registration<CmdqvViommu>,
    _log: Pin<KBox<File<LogFile>>>,
    _tunables: [Pin<KBox<File<TunableFile>>>; 2],
    _debugfs: Dir,
}

impl Drop for Tegra241CmdqvEmu {
    fn drop(&mut self) {
        // No HW queue is left, each vIOMMU holding the module; the engine may still be polling
        // for the last one.
        self.cmdqv.stop();
    }
}

impl kernel::Module for Tegra241CmdqvEmu {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let cmdqv = CmdqvDev::new(Cmdqv::new()?)?;
        let geometry = cmdqv.geometry();
        let debugfs = Dir::new(c"tegra241_cmdqv_emu");
        let log = KBox::pin_init(
            debugfs.read_only_file(c"invalidations", LogFile(cmdqv.caches().clone())),
            GFP_KERNEL,
        )?;
        let tunables = cmdqv.tunables();
        let tunables = [
            KBox::pin_init(
                debugfs
                    .read_write_file(c"idle_poll_us", TunableFile::idle_poll_us(tunables.clone())),
                GFP_KERNEL,
            )?,
            KBox::pin_init(
                debugfs.read_write_file(
                    c"inject_illegal",
                    TunableFile::inject_illegal(tunables.clone()),
                ),
                GFP_KERNEL,
            )?,
        ];
        // From here on, the selftest's devices of the flavour reach the module.
        let registration = mock::Registration::new(module, cmdqv.clone())?;
        // The module's own devices, which dropping the registration removes.
        for _ in 0..*module_parameters::devices.value() {
            mock::add_device()?;
        }
        pr_info!(
            "version 1, {} VINTFs of {} LVCMDQs and {} SID slots\n",
            geometry.vintfs,
            geometry.lvcmdqs,
            geometry.sids
        );
        Ok(Self {
            cmdqv,
            _registration: registration,
            _log: log,
            _tunables: tunables,
            _debugfs: debugfs,
        })
    }
}
