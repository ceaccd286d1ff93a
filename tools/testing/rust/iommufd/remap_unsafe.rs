// SPDX-License-Identifier: GPL-2.0

//! `VmaNew::remap_pfn_range` maps whatever page frames of memory it is given into user space, as
//! `VmaNew::io_remap_pfn_range` does, so only `unsafe` code may call it.
//!
//! expect: E0133

use kernel::{
    mm::virt::VmaNew,
    prelude::*, //
};

/// Maps page frame 0, kernel RAM, into user space.
pub fn remap_anything(vma: &VmaNew) -> Result {
    #[cfg(fail)]
    let r = vma.remap_pfn_range(0);
    // SAFETY: Never called; this only shows the call compiles in an `unsafe` block.
    #[cfg(not(fail))]
    let r = unsafe { vma.remap_pfn_range(0) };
    r
}
