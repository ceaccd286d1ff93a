// SPDX-License-Identifier: GPL-2.0

//! Registering a region for `mmap()` hands user space whatever memory it names, on behalf of an
//! object that must outlive the registration: only `unsafe` code may do it.
//!
//! crate: hw_queue
//! expect: E0133

use crate::iommufd::Ctx;
use core::ptr::NonNull;
use kernel::{
    bindings,
    iommu::iommufd::driver::MmapType,
    prelude::*, //
};

/// Hands user space the first page of physical memory.
pub(crate) fn expose(ctx: &Ctx, owner: NonNull<bindings::iommufd_object>) -> Result<usize> {
    #[cfg(fail)]
    let offset = ctx.register_mmap(owner, MmapType::Mmio, 0, 4096);
    // SAFETY: Never called; this only shows the call compiles in an `unsafe` block.
    #[cfg(not(fail))]
    let offset = unsafe { ctx.register_mmap(owner, MmapType::Mmio, 0, 4096) };
    offset
}
