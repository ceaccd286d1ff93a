// SPDX-License-Identifier: GPL-2.0

//! The devices behind the emulated SMMU, which VMMs get through VFIO.
//!
//! The module creates devices of its own behind the emulated SMMU (see `devices` in the module's
//! parameters, and the selftest driver's `add` and `remove` attributes in
//! `/sys/bus/iommufd_mock/drivers/iommufd_mock_backend/`). Each is a VFIO device with a
//! physical iommufd binding, `/dev/vfio/devices/vfioN`: a VMM binds it to its iommufd
//! (`VFIO_DEVICE_BIND_IOMMUFD`), which gives the device ID on which it allocates the nesting
//! parent, vIOMMUs, vDEVICEs and HW queues, and attaches it with
//! `VFIO_DEVICE_ATTACH_IOMMUFD_PT`, as it would a `vfio-pci` function behind Grace's SMMU.
//!
//! To VFIO each is a PCI function ([`pci`]): `VFIO_DEVICE_GET_INFO` says `VFIO_DEVICE_FLAGS_PCI`
//! with `vfio-pci`'s nine regions and five interrupt indexes, of which the function has the
//! configuration space and BAR 0 (read and written through the device file, at `vfio-pci`'s
//! offsets) and no interrupts.

use super::pci;
use kernel::{
    device::{
        Bound,
        Device, //
    },
    prelude::*,
    sync::aref::ARef,
    vfio::{
        self,
        pci_region,
        DeviceInfo,
        RegionInfo, //
    }, //
};

/// A device behind the emulated SMMU, as VFIO presents it: a PCI function.
pub(crate) struct Function {
    pci: pci::Function,
}

#[vtable]
impl vfio::Driver for Function {
    const NAME: &'static CStr = c"tegra241_cmdqv_emu";

    fn info(_this: &Self) -> DeviceInfo {
        DeviceInfo::PCI
    }

    fn region_info(_this: &Self, index: u32) -> Result<RegionInfo> {
        let rw = RegionInfo::READ | RegionInfo::WRITE;
        Ok(match index {
            pci_region::CONFIG => RegionInfo {
                size: pci::CONFIG_SIZE as u64,
                flags: rw,
            },
            pci_region::BAR0 => RegionInfo {
                size: pci::BAR0_SIZE as u64,
                flags: rw,
            },
            _ => RegionInfo::NONE,
        })
    }

    fn read(this: &Self, index: u32, offset: u64, buf: &mut [u8]) -> Result<usize> {
        match index {
            pci_region::CONFIG => this.pci.read_config(offset, buf),
            pci_region::BAR0 => this.pci.read_bar0(offset, buf),
            _ => Err(EINVAL),
        }
    }

    fn write(this: &Self, index: u32, offset: u64, data: &[u8]) -> Result<usize> {
        match index {
            pci_region::CONFIG => this.pci.write_config(offset, data),
            pci_region::BAR0 => this.pci.write_bar0(offset, data),
            _ => Err(EINVAL),
        }
    }

    fn reset(this: &Self) -> Result {
        this.pci.reset();
        Ok(())
    }

    fn request(this: &Self, count: u32) {
        if count == 0 {
            pr_info!(
                "device of StreamID {} removed while open: waiting for it to be closed\n",
                this.pci.sid()
            );
        }
    }
}

/// What the module keeps for each device of its own while it is bound.
pub(crate) struct BoundFunction {
    _vfio: vfio::Registration<Function>,
}

impl BoundFunction {
    /// Registers `dev`, a device the module created, with VFIO.
    pub(crate) fn new(dev: &Device<Bound>) -> Result<Pin<KBox<Self>>> {
        let pci = pci::Function::new(ARef::from(&**dev))?;
        let vfio = vfio::Registration::new(dev, Function { pci })?;
        Ok(KBox::pin(Self { _vfio: vfio }, GFP_KERNEL)?)
    }
}
