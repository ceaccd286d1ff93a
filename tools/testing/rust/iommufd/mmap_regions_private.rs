// SPDX-License-Identifier: GPL-2.0

//! A context's region tree is private to the mmap abstraction: safe code cannot reach a
//! registered region to point it at another address, nor take one out of the tree and keep it
//! past its owner's life. (It may remove a region with `unregister_mmap`, which drops it.)
//!
//! crate: hw_queue
//! expect: E0624

use crate::iommufd::Ctx;

/// Removes the region at `offset`, whoever owns it.
pub(crate) fn steal(ctx: &Ctx, offset: usize) -> bool {
    #[cfg(fail)]
    let stolen = ctx.mmap_regions().erase(offset).is_some();
    #[cfg(not(fail))]
    let stolen = ctx.unregister_mmap(core::ptr::null(), offset).is_ok();
    stolen
}
