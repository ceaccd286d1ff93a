// SPDX-License-Identifier: GPL-2.0

//! Mapping I/O memory into a new VMA, and per-VMA data.
//!
//! C headers: [`include/linux/mm.h`](srctree/include/linux/mm.h) and
//! [`include/linux/mm_types.h`](srctree/include/linux/mm_types.h).
//!
//! A driver's `f_ops->mmap()` receives a [`VmaNew`]. To hand a device's MMIO page to user space it
//! checks the request ([`VmaNew::pgoff`] and the VMA's flags and size), makes the mapping
//! uncached ([`VmaNew::set_page_prot_noncached`]), maps the physical range
//! ([`VmaNew::io_remap_pfn_range`], `unsafe`: only the caller knows the memory may be
//! mapped) and attaches data that lives exactly as long as the mapping
//! ([`VmaNew::set_data`]), such as a reference that keeps the device's object alive. Kernel
//! memory that the driver also accesses is mapped the same way, but with the VMA's own,
//! cacheable, protection ([`VmaNew::remap_pfn_range`]), so that both mappings have the same
//! memory attributes.

use crate::{
    bindings,
    error::to_result,
    mm::virt::{
        flags,
        vm_flags_t,
        VmaNew, //
    },
    prelude::*,
    types::ForeignOwnable, //
};
use core::marker::PhantomData;

/// Whether a VMA with flags `vm_flags` may be remapped: `EBUSY` for a `VM_PFNMAP` or
/// `VM_MIXEDMAP` one, `EINVAL` for a copy-on-write (private, writable) one.
#[inline]
fn check_remap(vm_flags: vm_flags_t) -> Result {
    // One test for the usual case, a shared mapping not remapped yet.
    if vm_flags & (flags::SHARED | flags::PFNMAP | flags::MIXEDMAP) != flags::SHARED {
        if vm_flags & (flags::PFNMAP | flags::MIXEDMAP) != 0 {
            return Err(EBUSY);
        }
        // Private: only a mapping that can never be written is not copy-on-write.
        if vm_flags & flags::MAYWRITE != 0 {
            return Err(EINVAL);
        }
    }
    Ok(())
}

impl VmaNew {
    /// The offset into the file, in pages, that `mmap()` asked for.
    #[inline]
    pub fn pgoff(&self) -> usize {
        // SAFETY: The VMA is valid; `vm_pgoff` is a plain field.
        unsafe { (*self.as_ptr()).vm_pgoff }
    }

    /// Sets the VMA's file offset, in pages.
    ///
    /// Only meaningful for the driver itself: a driver that maps a region found by the offset
    /// may reset it, as C drivers do, so that later offsets inside the VMA start from zero.
    #[inline]
    pub fn set_pgoff(&self, pgoff: usize) {
        // SAFETY: The VMA is undergoing initial setup, so it is not yet shared, and `VmaNew` is
        // `!Sync`, so this is not a data race.
        unsafe { (*self.as_ptr()).vm_pgoff = pgoff };
    }

    /// Makes the VMA's page protection uncached, as MMIO needs.
    #[inline]
    pub fn set_page_prot_noncached(&self) {
        let vma = self.as_ptr();
        // SAFETY: As in `set_pgoff`; any protection derived from the VMA's own is valid.
        unsafe { (*vma).vm_page_prot = bindings::pgprot_noncached((*vma).vm_page_prot) };
    }

    /// Maps the whole VMA to the physical memory that starts at page frame `pfn`, with the VMA's
    /// page protection.
    ///
    /// This sets `VM_IO`, `VM_PFNMAP`, `VM_DONTEXPAND` and `VM_DONTDUMP` on the VMA: the pages
    /// are not refcounted, and the VMA can be neither grown by `mremap()` nor dumped. On failure
    /// nothing stays mapped.
    ///
    /// A VMA is remapped at most once: this fails with `EBUSY`, mapping nothing, if the VMA
    /// already is a `VM_PFNMAP` (remapped before) or `VM_MIXEDMAP` (see
    /// [`VmaNew::set_mixedmap`]) mapping, whose pages `remap_pfn_range()` would find in place.
    /// Copy-on-write (private, writable) mappings are refused with `EINVAL`: for them
    /// `remap_pfn_range()` records the first frame in the VMA's offset, which the mm then relies
    /// on and [`VmaNew::set_pgoff`] could change.
    ///
    /// # Safety
    ///
    /// - `pfn..pfn + (self.end() - self.start()) / PAGE_SIZE` must be memory that user space may
    ///   access through this VMA, with its page protection, for as long as the VMA or any VMA
    ///   derived from it maps it; typically the caller keeps the memory's owner alive with data
    ///   attached by [`VmaNew::set_data`].
    /// - The caller must not make the VMA a mixed map afterwards ([`VmaNew::set_mixedmap`]):
    ///   `VM_PFNMAP` and `VM_MIXEDMAP` together would let the mm treat these frames as
    ///   refcounted pages.
    ///
    /// [`VmaNew::set_mixedmap`]: crate::mm::virt::VmaNew::set_mixedmap
    #[inline]
    pub unsafe fn io_remap_pfn_range(&self, pfn: usize) -> Result {
        // SAFETY: The caller's guarantees are those of `remap`.
        unsafe { self.remap(pfn, true) }
    }

    /// Maps the whole VMA to kernel memory (RAM) that starts at page frame `pfn`, with the VMA's
    /// page protection, as [`VmaNew::io_remap_pfn_range`] maps I/O memory.
    ///
    /// For memory that the kernel also accesses through its linear mapping, such as registers
    /// that a driver emulates: unless the caller changes it, the VMA's protection is cacheable,
    /// as the kernel's mapping is, so that the two see the same contents on architectures that
    /// require mappings of the same memory to agree on their attributes (arm64).
    ///
    /// # Safety
    ///
    /// As for [`VmaNew::io_remap_pfn_range`].
    #[inline]
    pub unsafe fn remap_pfn_range(&self, pfn: usize) -> Result {
        // SAFETY: The caller's guarantees are those of `remap`.
        unsafe { self.remap(pfn, false) }
    }

    /// Maps the whole VMA to the frames from `pfn`, with `io_remap_pfn_range()` if `io`, else
    /// with `remap_pfn_range()`.
    ///
    /// # Safety
    ///
    /// As for [`VmaNew::io_remap_pfn_range`].
    #[inline]
    unsafe fn remap(&self, pfn: usize, io: bool) -> Result {
        check_remap(self.flags())?;
        let vma = self.as_ptr();
        let (start, end) = (self.start(), self.end());
        // SAFETY: The VMA is undergoing setup in `f_ops->mmap()`, where remapping its whole range
        // is allowed; it has no pages yet, since it is neither a `VM_PFNMAP` nor a `VM_MIXEDMAP`
        // mapping, which are the only ways to put pages in a new VMA, and it is not a
        // copy-on-write mapping. The page protection is the VMA's own, and the caller guarantees
        // the memory may be mapped.
        let ret = unsafe {
            let prot = (*vma).vm_page_prot;
            if io {
                bindings::io_remap_pfn_range(vma, start, pfn, end - start, prot)
            } else {
                bindings::remap_pfn_range(vma, start, pfn, end - start, prot)
            }
        };
        // Only a failure needs converting: the common case makes no call.
        match ret {
            0 => Ok(()),
            err => to_result(err),
        }
    }

    /// Attaches `data` to this VMA, and sets the VMA operations that keep it right.
    ///
    /// Every VMA the kernel derives from this one (by `fork()`, by splitting it in a partial
    /// `munmap()` or `mprotect()`, or by moving it with `mremap()`) gets its own copy made by
    /// [`VmaData::dup`], and each copy is dropped when its VMA is closed. So a reference held in
    /// `data` is held exactly as long as some VMA maps the region.
    ///
    /// Call this last in `f_ops->mmap()`, once nothing can fail any more: if `mmap()` fails the
    /// kernel discards the VMA without closing it, and `data` would leak. It replaces any VMA
    /// operations set before.
    pub fn set_data<T: VmaData>(&self, data: T) {
        let vma = self.as_ptr();
        // SAFETY: As in `set_pgoff`. `VmaDataOps::<T>` handles a private data made by
        // `T::into_foreign`, which is what is stored.
        unsafe {
            (*vma).vm_private_data = data.into_foreign();
            (*vma).vm_ops = VmaDataOps::<T>::build();
        }
    }
}

/// Data attached to a VMA with [`VmaNew::set_data`].
///
/// The data is duplicated when a process forks, and dropped by whichever thread unmaps the VMA
/// or tears down the address space, so it must be [`Send`] and [`Sync`].
pub trait VmaData: ForeignOwnable + Send + Sync + 'static {
    /// Makes the data of a VMA derived from one holding `this`.
    fn dup(this: Self::Borrowed<'_>) -> Self;
}

/// The VMA operations of VMAs carrying a `T`.
struct VmaDataOps<T>(PhantomData<T>);

impl<T: VmaData> VmaDataOps<T> {
    const VTABLE: bindings::vm_operations_struct = bindings::vm_operations_struct {
        open: Some(Self::open),
        close: Some(Self::close),
        ..pin_init::zeroed()
    };

    const fn build() -> &'static bindings::vm_operations_struct {
        &Self::VTABLE
    }

    /// # Safety
    ///
    /// Called by the mm core for a new VMA copied from one set up by [`VmaNew::set_data`] with a
    /// `T`, whose `vm_private_data` it copied.
    unsafe extern "C" fn open(vma: *mut bindings::vm_area_struct) {
        // SAFETY: The copied private data came from `T::into_foreign` and its original is still
        // owned by the VMA it was copied from, so it can be borrowed.
        let dup = T::dup(unsafe { T::borrow((*vma).vm_private_data) });
        // SAFETY: The new VMA is not visible yet; it owns the new value from here on.
        unsafe { (*vma).vm_private_data = dup.into_foreign() };
    }

    /// # Safety
    ///
    /// Called by the mm core once, when a VMA carrying a `T` is closed.
    unsafe extern "C" fn close(vma: *mut bindings::vm_area_struct) {
        // SAFETY: The VMA owns a value made by `T::into_foreign` (in `set_data` or `open`), and
        // is closed only once.
        drop(unsafe { T::from_foreign((*vma).vm_private_data) });
    }
}

#[macros::kunit_tests(rust_mm_virt_io)]
mod tests {
    use super::*;

    /// `check_remap` on every combination of the flags it looks at, against its rules written
    /// one by one.
    #[test]
    fn remap_refusals() {
        const ALL: [vm_flags_t; 4] = [
            flags::SHARED,
            flags::MAYWRITE,
            flags::PFNMAP,
            flags::MIXEDMAP,
        ];
        for bits in 0..1u32 << ALL.len() {
            let vm_flags = (0..ALL.len())
                .filter(|i| bits & (1 << i) != 0)
                .fold(flags::READ, |f, i| f | ALL[i]);
            let expected = if vm_flags & (flags::PFNMAP | flags::MIXEDMAP) != 0 {
                Err(EBUSY)
            } else if vm_flags & (flags::SHARED | flags::MAYWRITE) == flags::MAYWRITE {
                Err(EINVAL)
            } else {
                Ok(())
            };
            assert_eq!(check_remap(vm_flags), expected);
        }
    }
}
