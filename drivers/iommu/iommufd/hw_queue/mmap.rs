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
//!
//! Only regions whose owner is published are mapped. A driver registers its regions while the
//! owner is being allocated (in `viommu_init`), when the owner's allocation can still fail and
//! destroy it; a mapping made then would hold a reference on an object being aborted. Upstream
//! C had that race; "iommufd: Map only mmap regions of published objects" fixes it there.

use crate::iommufd::Ctx;
use core::{
    ptr::NonNull,
    sync::atomic::{
        AtomicBool,
        Ordering, //
    },
};
use kernel::{
    bindings,
    error::from_result,
    iommu::iommufd::driver::MmapType,
    mm::virt::VmaNew,
    prelude::*, //
};

/// Warns once about a driver removing a region it did not register.
fn warn_bad_destroy() {
    static WARNED: AtomicBool = AtomicBool::new(false);

    if !WARNED.swap(true, Ordering::Relaxed) {
        kernel::warn_on!(true);
    }
}

/// Allocates an offset for `mmap()` of a driver's MMIO region.
///
/// # Safety
///
/// `ictx` must be the context of `owner`, a live object of the calling driver that calls
/// `_iommufd_destroy_mmap()` for the region before it is freed; the region must be MMIO or
/// memory, as `ty` says, that user space may map while `owner` lives; `offset` must be valid for
/// writes.
#[export]
pub(crate) unsafe extern "C" fn iommufd_rs_alloc_mmap(
    ictx: *mut bindings::iommufd_ctx,
    owner: *mut bindings::iommufd_object,
    ty: bindings::iommufd_mmap_type,
    mmio_addr: bindings::phys_addr_t,
    length: usize,
    offset: *mut c_ulong,
) -> c_int {
    // SAFETY: The caller passes a live context (safety requirements).
    let ctx = unsafe { Ctx::from_raw(ictx) };
    from_result(|| {
        let owner = NonNull::new(owner).ok_or(EINVAL)?;
        let ty = MmapType::try_from(ty)?;
        // SAFETY: `owner` is a live object of `ictx` that removes the region before it is freed,
        // and its driver hands user space memory it may map (safety requirements).
        let start = unsafe { ctx.register_mmap(owner, ty, mmio_addr, length) }?;
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
    // Erased (and freed) whoever owns it, as in C.
    if ctx.unregister_mmap(owner, offset).is_err() {
        warn_bad_destroy();
    }
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
    // SAFETY: Nothing more is done with the VMA.
    from_result(|| unsafe { ctx.mmap_region(vma) }.map(|()| 0))
}
