// SPDX-License-Identifier: GPL-2.0

//! Regions (MMIO or kernel memory) that an iommufd context hands to user space for `mmap()`.
//!
//! A driver registers a region of its hardware on behalf of one of its objects through
//! `_iommufd_alloc_mmap()`, which the crate's entry points turn into [`Ctx::register_mmap`], and
//! returns the offset to user space, which maps exactly that offset and length
//! ([`Ctx::mmap_region`]); every VMA mapping it holds a `users` reference on the owner. The driver
//! removes the region through `_iommufd_destroy_mmap()` when the owner is destroyed
//! ([`Ctx::unregister_mmap`]).
//!
//! The regions themselves stay inside this module: nothing outside can change where a region
//! points, or keep one past its removal.

use super::{
    ctx::Ctx,
    object::UsersRef, //
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    io::PhysAddr,
    iommu::iommufd::driver::MmapType,
    maple_tree::MapleTreeAlloc,
    mm::virt::{
        flags,
        VmaNew, //
    },
    page::{
        PAGE_SHIFT,
        PAGE_SIZE, //
    },
    prelude::*,
};

/// A registered region, an entry of a context's `mt_mmap` tree.
///
/// # Invariants
///
/// While the region is in the tree, `owner` is an allocated object of the tree's context, and
/// `[mmio_addr, mmio_addr + length)` is memory of type `ty` that user space may map while `owner`
/// lives ([`Ctx::register_mmap`]). `vm_pgoff` is the region's offset in the file, in pages, once
/// [`Ctx::register_mmap`] returned.
struct MmapRegion {
    owner: NonNull<bindings::iommufd_object>,
    vm_pgoff: usize,
    ty: MmapType,
    mmio_addr: PhysAddr,
    length: usize,
}

// SAFETY: A region only holds the address of its owner, which it dereferences under the tree's
// lock; iommufd objects may be used from any thread.
unsafe impl Send for MmapRegion {}

fn page_aligned(x: u64) -> bool {
    x & (PAGE_SIZE as u64 - 1) == 0
}

impl Ctx {
    /// The MMIO regions of the context, keyed by their byte offset.
    #[inline]
    fn mmap_regions(&self) -> &MapleTreeAlloc<KBox<MmapRegion>> {
        // SAFETY: iommufd initializes `mt_mmap` with `MT_FLAGS_ALLOC_RANGE` at open, and it lives
        // as long as the context, which `self` borrows. iommufd never destroys it: each region
        // is removed with its owner, so the tree is empty when the context is freed. With
        // `CONFIG_IOMMUFD_HW_QUEUE_RUST` only this module stores entries in it, all of them
        // `KBox<MmapRegion>`.
        unsafe { MapleTreeAlloc::from_raw(&raw mut (*self.as_raw()).mt_mmap) }
    }

    /// Registers `[mmio_addr, mmio_addr + length)`, memory of type `ty`, for `mmap()` on behalf of
    /// `owner`, and returns the byte offset user space passes to `mmap()`.
    ///
    /// Offsets are page aligned and never 0, so that 0 stays an invalid offset. Fails with
    /// `EINVAL` if `mmio_addr` or `length` is not page aligned or `length` is 0, `ENOMEM`, or
    /// `EBUSY` if the file has no room left.
    ///
    /// # Safety
    ///
    /// `owner` must be an object of this context that stays allocated until its driver has
    /// removed the region with [`Ctx::unregister_mmap`], and the range must be memory of type
    /// `ty` that user space may map shared, read and write, for as long as `owner` lives:
    /// uncached for [`MmapType::Mmio`], with the kernel's attributes for [`MmapType::Memory`].
    pub(crate) unsafe fn register_mmap(
        &self,
        owner: NonNull<bindings::iommufd_object>,
        ty: MmapType,
        mmio_addr: PhysAddr,
        length: usize,
    ) -> Result<usize> {
        if !page_aligned(mmio_addr) {
            return Err(EINVAL);
        }
        if length == 0 || !page_aligned(length as u64) {
            return Err(EINVAL);
        }
        // INVARIANT: The caller guarantees the owner and the range; `vm_pgoff` is set below,
        // before this returns.
        let region = KBox::new(
            MmapRegion {
                owner,
                vm_pgoff: 0,
                ty,
                mmio_addr,
                length,
            },
            GFP_KERNEL,
        )?;
        let regions = self.mmap_regions();
        // Skip the first page, so that no region has offset 0.
        let start = regions.alloc_range(length, region, PAGE_SIZE.., GFP_KERNEL)?;
        // A lookup finds the region by any offset inside it; `mmap()` maps it only at its start.
        // Until this is set, `vm_pgoff` is 0, which no `mmap()` of the region matches.
        if let Some(region) = regions.lock().load(start) {
            region.vm_pgoff = start >> PAGE_SHIFT;
        }
        Ok(start)
    }

    /// Removes the region at `offset`, which `owner` registered.
    ///
    /// The region is removed whoever owns it, as in C; fails with `EINVAL` if there was none at
    /// `offset` or it belonged to another object, which is a driver bug.
    pub(crate) fn unregister_mmap(
        &self,
        owner: *const bindings::iommufd_object,
        offset: usize,
    ) -> Result {
        match self.mmap_regions().erase(offset) {
            Some(region) if region.owner.as_ptr().cast_const() == owner => Ok(()),
            _ => Err(EINVAL),
        }
    }

    /// Maps the region that `vma`'s offset names into `vma`, as the `mmap()` file operation of
    /// `/dev/iommu`: MMIO uncached, memory with the VMA's own protection, as the kernel maps it.
    ///
    /// The VMA must be shared (`EINVAL`), not executable (`EPERM`), and cover a region exactly:
    /// its offset must be the region's first page and its length the region's (`ENXIO`). The
    /// region's owner must be published (`ENXIO`): it is not while its allocation may still
    /// fail and destroy it. Each VMA mapping the region, and each VMA derived from one, holds a
    /// `users` reference on the owner, so that `IOMMU_DESTROY` of it fails with `EBUSY` until
    /// the last is unmapped; an owner being destroyed is not mapped (`ENXIO`). On success the
    /// VMA's offset is reset to 0, as drivers do.
    ///
    /// # Safety
    ///
    /// The caller must not make `vma` a mixed map afterwards (see
    /// [`VmaNew::io_remap_pfn_range`]); the simplest way is to do nothing more with it.
    #[inline]
    pub(crate) unsafe fn mmap_region(&self, vma: &VmaNew) -> Result {
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

        // The owner reference and the region's address, taken under the tree's lock.
        let (owner, ty, mmio_addr) = {
            let mut guard = self.mmap_regions().lock();
            let region = guard.load(vma.pgoff() << PAGE_SHIFT).ok_or(ENXIO)?;
            // The lookup finds a region by any offset inside it: only map it whole. (C checks
            // this once it holds the owner; the errno is the same, and a mismatch never takes a
            // reference that would make a racing `IOMMU_DESTROY` of the owner fail.)
            if vma.pgoff() != region.vm_pgoff || length != region.length {
                return Err(ENXIO);
            }
            let owner = region.owner;
            // SAFETY: The region is in the tree, whose lock is held, so its owner is an
            // allocated object of this context (type invariants of `MmapRegion`); `objects` is
            // the context's object table, whose `xa_load` takes the RCU read lock itself.
            let published = unsafe {
                bindings::xa_load(
                    &raw mut (*self.as_raw()).objects,
                    (*owner.as_ptr()).id as usize,
                ) == owner.as_ptr().cast()
            };
            if !published {
                return Err(ENXIO);
            }
            // SAFETY: As above, the owner is allocated while the lock is held.
            let owner = unsafe { UsersRef::try_get(owner) }.ok_or(ENXIO)?;
            (owner, region.ty, region.mmio_addr)
        };

        vma.set_pgoff(0);
        let pfn = (mmio_addr >> PAGE_SHIFT) as usize;
        // SAFETY: The VMA is shared and has exactly the region's length, and the region is
        // memory of type `ty` that user space may map shared while its owner lives (type
        // invariants of `MmapRegion`, established by `register_mmap`'s caller), mapped as that
        // type needs; the VMA and every VMA derived from it hold a reference on the owner, given
        // to it below. The caller does not make the VMA a mixed map.
        unsafe {
            match ty {
                MmapType::Memory => vma.remap_pfn_range(pfn),
                MmapType::Mmio => {
                    vma.set_page_prot_noncached();
                    vma.io_remap_pfn_range(pfn)
                }
            }
        }?;
        // Nothing fails from here on, so the reference cannot leak with a discarded VMA.
        vma.set_data(owner);
        Ok(())
    }
}
