// SPDX-License-Identifier: GPL-2.0

//! The registered region type is private to the mmap abstraction: no safe code can build one,
//! or name it to change its physical address.
//!
//! expect: E0603

#[cfg(not(fail))]
use kernel::iommu::iommufd::ctx::Ctx as MmapRegion;
#[cfg(fail)]
use kernel::iommu::iommufd::mmap::MmapRegion;

/// The size of a region.
pub fn size() -> usize {
    core::mem::size_of::<MmapRegion>()
}
