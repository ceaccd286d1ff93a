// SPDX-License-Identifier: GPL-2.0

//! The registered region type is private to the mmap abstraction: no safe code can build one,
//! or name it to change its physical address.
//!
//! crate: hw_queue
//! expect: E0603

#[cfg(not(fail))]
use crate::iommufd::ctx::Ctx as MmapRegion;
#[cfg(fail)]
use crate::iommufd::mmap::MmapRegion;

/// The size of a region.
pub(crate) fn size() -> usize {
    core::mem::size_of::<MmapRegion>()
}
