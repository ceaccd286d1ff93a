// SPDX-License-Identifier: GPL-2.0

//! A context's MMIO regions are only reachable through the methods of `Ctx`: safe code can
//! neither point a registered region at another address nor take one out of the tree and keep
//! it past its owner's life.
//!
//! expect: E0624

use kernel::iommu::iommufd::Ctx;

/// Removes the region at `offset`, whoever owns it.
pub fn steal(ctx: &Ctx, offset: usize) -> bool {
    #[cfg(fail)]
    let stolen = ctx.mmap_regions().erase(offset).is_some();
    #[cfg(not(fail))]
    let stolen = ctx.unregister_mmap(core::ptr::null(), offset).is_ok();
    stolen
}
