// SPDX-License-Identifier: GPL-2.0

//! A vIOMMU driver hands memory to user space for `mmap()` only through `MmapMemory`, whose
//! implementor promises that the memory may be mapped for as long as the value lives; only an
//! `unsafe impl` can make that promise.
//!
//! expect: E0200

use kernel::{
    io::PhysAddr,
    iommu::iommufd::driver::{
        MmapMemory,
        MmapType, //
    },
};

/// A physical range nobody owns.
pub struct Anywhere;

#[cfg(fail)]
impl MmapMemory for Anywhere {
    fn phys_addr(&self) -> PhysAddr {
        0
    }

    fn size(&self) -> usize {
        4096
    }

    fn mmap_type(&self) -> MmapType {
        MmapType::Mmio
    }
}

// SAFETY: Never registered: this only shows that the implementation must be `unsafe`.
#[cfg(not(fail))]
unsafe impl MmapMemory for Anywhere {
    fn phys_addr(&self) -> PhysAddr {
        0
    }

    fn size(&self) -> usize {
        4096
    }

    fn mmap_type(&self) -> MmapType {
        MmapType::Mmio
    }
}
