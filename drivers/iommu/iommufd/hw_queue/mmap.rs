// SPDX-License-Identifier: GPL-2.0

//! The iommufd mmap interface: MMIO regions handed to a VMM.
//!
//! A driver whose hardware has a page that a guest may drive directly (the VINTF page of a
//! Tegra241 CMDQV, for instance) registers it with `_iommufd_alloc_mmap()` on behalf of one of
//! its objects, usually the vIOMMU, and returns the offset it gets to user space. The VMM then
//! calls `mmap()` on the iommufd file with exactly that offset and length. While any VMA maps the
//! region, the owner object holds a `users` reference, so `IOMMU_DESTROY` of it fails with
//! `EBUSY`. The driver removes the region with `_iommufd_destroy_mmap()` when the owner is
//! destroyed.
//!
//! Offsets are allocated from a per-context maple tree, page aligned, never 0, so that 0 stays
//! an invalid offset that drivers and user space can test for.

use core::{
    ptr::NonNull,
    sync::atomic::{AtomicBool, Ordering},
};
use kernel::{
    bindings,
    error::from_result,
    iommu::iommufd::{Ctx, MmapRegion},
    mm::virt::{flags, VmaNew},
    page::{PAGE_SHIFT, PAGE_SIZE},
    prelude::*,
};

fn page_aligned(x: u64) -> bool {
    x & (PAGE_SIZE as u64 - 1) == 0
}

/// Registers `[mmio_addr, mmio_addr + length)` for `mmap()` on behalf of `owner`, returning the
/// offset to give user space.
fn alloc_mmap(
    ctx: &Ctx,
    owner: NonNull<bindings::iommufd_object>,
    mmio_addr: u64,
    length: usize,
) -> Result<usize> {
    if !page_aligned(mmio_addr) {
        return Err(EINVAL);
    }
    if length == 0 || !page_aligned(length as u64) {
        return Err(EINVAL);
    }
    // SAFETY: The driver removes the region before freeing `owner` (the safety requirements of
    // `iommufd_rs_alloc_mmap`).
    let region = unsafe { MmapRegion::new(owner, mmio_addr, length) };
    let region = KBox::new(region, GFP_KERNEL)?;
    let regions = ctx.mmap_regions();
    // Skip the first page, so that no region has offset 0.
    let start = regions.alloc_range(length, region, PAGE_SIZE.., GFP_KERNEL)?;
    // `mmap()` finds the region by any offset inside it; it only maps at the start.
    if let Some(region) = regions.lock().load(start) {
        region.vm_pgoff = start >> PAGE_SHIFT;
    }
    Ok(start)
}

/// Warns once about a driver removing a region it did not register.
fn warn_bad_destroy() {
    static WARNED: AtomicBool = AtomicBool::new(false);

    if !WARNED.swap(true, Ordering::Relaxed) {
        kernel::warn_on!(true);
    }
}

/// Removes the region at `offset`, which `owner` registered.
fn destroy_mmap(ctx: &Ctx, owner: Option<NonNull<bindings::iommufd_object>>, offset: usize) {
    // Erased (and freed) whoever owns it, as in C.
    let region = ctx.mmap_regions().erase(offset);
    let ours = match (region, owner) {
        (Some(region), Some(owner)) => region.is_owned_by(owner),
        _ => false,
    };
    if !ours {
        warn_bad_destroy();
    }
}

/// Maps a registered region into `vma`, which must cover it exactly.
fn mmap(ctx: &Ctx, vma: &VmaNew) -> Result {
    let length = vma.end() - vma.start();
    if !page_aligned(length as u64) {
        return Err(EINVAL);
    }
    if vma.flags() & flags::SHARED == 0 {
        return Err(EINVAL);
    }
    if vma.flags() & flags::EXEC != 0 {
        return Err(EPERM);
    }

    let pgoff = vma.pgoff();
    // The tree's lock keeps the region, and so its owner, alive while a reference is taken.
    let (owner, mmio_addr, exact) = {
        let mut guard = ctx.mmap_regions().lock();
        let region = guard.load(pgoff << PAGE_SHIFT).ok_or(ENXIO)?;
        let owner = region.get_owner().ok_or(ENXIO)?;
        let exact = pgoff == region.vm_pgoff && length == region.length;
        (owner, region.mmio_addr, exact)
    };
    // The lookup finds a region by any offset inside it: only map it whole.
    if !exact {
        return Err(ENXIO);
    }

    vma.set_pgoff(0);
    vma.set_page_prot_noncached();
    vma.io_remap_pfn_range((mmio_addr >> PAGE_SHIFT) as usize)?;
    // Nothing fails from here on: each VMA mapping the region holds a reference on its owner.
    vma.set_data(owner);
    Ok(())
}

/// Allocates an offset for `mmap()` of a driver's MMIO region.
///
/// # Safety
///
/// `ictx` must be the context of `owner`, a live object of the calling driver that calls
/// `_iommufd_destroy_mmap()` for the region before it is freed, and `offset` must be valid for
/// writes.
#[export]
pub(crate) unsafe extern "C" fn iommufd_rs_alloc_mmap(
    ictx: *mut bindings::iommufd_ctx,
    owner: *mut bindings::iommufd_object,
    mmio_addr: bindings::phys_addr_t,
    length: usize,
    offset: *mut c_ulong,
) -> c_int {
    // SAFETY: The caller passes a live context (safety requirements).
    let ctx = unsafe { Ctx::from_raw(ictx) };
    from_result(|| {
        let owner = NonNull::new(owner).ok_or(EINVAL)?;
        let start = alloc_mmap(ctx, owner, mmio_addr, length)?;
        // SAFETY: `offset` is valid for writes (safety requirements).
        unsafe { *offset = start };
        Ok(0)
    })
}

/// Removes a region allocated by `_iommufd_alloc_mmap()`.
///
/// # Safety
///
/// `ictx` must be a live context; `owner` and `offset` those of a region the caller allocated.
#[export]
pub(crate) unsafe extern "C" fn iommufd_rs_destroy_mmap(
    ictx: *mut bindings::iommufd_ctx,
    owner: *mut bindings::iommufd_object,
    offset: c_ulong,
) {
    // SAFETY: The caller passes a live context (safety requirements).
    let ctx = unsafe { Ctx::from_raw(ictx) };
    destroy_mmap(ctx, NonNull::new(owner), offset);
}

/// The `mmap()` file operation of `/dev/iommu`.
///
/// # Safety
///
/// Only the VFS may call this, for an open `/dev/iommu` file and a VMA under setup.
#[export]
pub(crate) unsafe extern "C" fn iommufd_fops_mmap(
    filp: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: `f_op->mmap()` is called with an open `/dev/iommu` file.
    let ctx = unsafe { Ctx::from_file(filp) };
    // SAFETY: `f_op->mmap()` is called with a VMA under initial setup, for the whole call.
    let vma = unsafe { VmaNew::from_raw(vma) };
    from_result(|| mmap(ctx, vma).map(|()| 0))
}
