// SPDX-License-Identifier: GPL-2.0

//! Mapping a region into a VMA relies on the caller not making the VMA a mixed map afterwards,
//! so only `unsafe` code may do it.
//!
//! crate: hw_queue
//! expect: E0133

use crate::iommufd::Ctx;
use kernel::{
    mm::virt::VmaNew,
    prelude::*, //
};

/// Maps a region, then inserts pages into the same VMA.
pub(crate) fn map_then_mix(ctx: &Ctx, vma: &VmaNew) -> Result {
    #[cfg(fail)]
    ctx.mmap_region(vma)?;
    // SAFETY: Nothing more is done with the VMA.
    #[cfg(not(fail))]
    unsafe { ctx.mmap_region(vma) }?;
    #[cfg(fail)]
    let _ = vma.set_mixedmap();
    Ok(())
}
