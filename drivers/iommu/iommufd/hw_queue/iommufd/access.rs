// SPDX-License-Identifier: GPL-2.0

//! Guest memory pinned through an internal access, `struct iommufd_access`.

use super::viommu::Viommu;
use core::{
    mem::{
        size_of,
        MaybeUninit, //
    },
    ptr::NonNull,
};
use kernel::{
    alloc::{
        flags,
        KVVec, //
    },
    bindings,
    error::{
        from_err_ptr,
        to_result, //
    },
    page::{
        PAGE_SHIFT,
        PAGE_SIZE, //
    },
    prelude::*,
};

/// A range of guest memory rounded out to whole pages, every one of which has an address.
///
/// # Invariants
///
/// `aligned_iova` is page aligned, `offset` is less than a page, and when `npages` is not 0,
/// `aligned_iova + (npages << page_shift) - 1` does not overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageSpan {
    aligned_iova: u64,
    offset: u64,
    npages: u64,
}

impl PageSpan {
    /// Rounds `[iova, iova + length)` out to pages of `1 << page_shift` bytes (`EINVAL` for a
    /// shift of 64 or more).
    ///
    /// Fails with `ERANGE` when the page-rounded length is not representable (as C's
    /// `iommufd_hw_queue_alloc_phys()` does), and with `EOVERFLOW` when the last page of the span
    /// would wrap past the end of the address space. So every page of a span has an address.
    #[inline]
    pub(crate) fn new(iova: u64, length: u64, page_shift: u32) -> Result<Self> {
        if page_shift >= u64::BITS {
            return Err(EINVAL);
        }
        let page_mask = (1u64 << page_shift) - 1;
        let aligned_iova = iova & !page_mask;
        let offset = iova - aligned_iova;
        let rounded = offset
            .checked_add(length)
            .and_then(|l| l.checked_add(page_mask))
            .ok_or(ERANGE)?;
        let npages = rounded >> page_shift;
        if npages != 0 {
            // `npages << page_shift <= rounded`, so the shift loses nothing.
            aligned_iova
                .checked_add((npages << page_shift) - 1)
                .ok_or(EOVERFLOW)?;
        }
        // INVARIANT: Checked above.
        Ok(Self {
            aligned_iova,
            offset,
            npages,
        })
    }

    /// The number of pages that cover the range.
    #[inline]
    pub(crate) fn npages(&self) -> u64 {
        self.npages
    }

    /// Splits the span into chunks of at most `chunk_pages` pages (at least one), as
    /// `(iova, npages)` in ascending order. The split depends only on the span and
    /// `chunk_pages`, so an unpin can walk exactly the chunks a pin made.
    #[inline]
    pub(crate) fn chunks(
        &self,
        chunk_pages: u64,
        page_shift: u32,
    ) -> impl Iterator<Item = (u64, u64)> {
        Chunks {
            iova: self.aligned_iova,
            left: self.npages,
            chunk_pages: chunk_pages.max(1),
            page_shift,
        }
    }
}

/// The chunks of a [`PageSpan`], as [`PageSpan::chunks`] returns them.
struct Chunks {
    iova: u64,
    left: u64,
    chunk_pages: u64,
    page_shift: u32,
}

impl Iterator for Chunks {
    type Item = (u64, u64);

    #[inline]
    fn next(&mut self) -> Option<(u64, u64)> {
        if self.left == 0 {
            return None;
        }
        let n = self.left.min(self.chunk_pages);
        let iova = self.iova;
        self.left -= n;
        // Every page of the span has an address (type invariants of `PageSpan`); only the start
        // after the last chunk may wrap, and it is never used.
        self.iova = iova.wrapping_add(n << self.page_shift);
        Some((iova, n))
    }
}

/// Guest memory pinned through an internal access attached to a vIOMMU's nesting parent IOAS.
///
/// While it lives, the pages cannot move and `IOMMU_IOAS_UNMAP` of the range fails with
/// `EBUSY`. Dropping it unpins the pages and detaches and destroys the access.
///
/// # Invariants
///
/// `access` is an internal access of `ictx`, attached to an IOAS, and `PageSpan::new(iova,
/// length)` succeeds. Of its chunks split by [`PinnedAccess::CHUNK_PAGES`], the first `pinned`
/// (all of them, once [`PinnedAccess::pin`] returned it) are pinned once on the access.
pub(crate) struct PinnedAccess {
    ictx: NonNull<bindings::iommufd_ctx>,
    access: NonNull<bindings::iommufd_access>,
    iova: u64,
    length: u64,
    pinned: usize,
}

/// An entry of the page array that `iommufd_access_pin_pages` fills.
type PageSlot = MaybeUninit<*mut bindings::page>;

/// The page frame numbers of one pinned chunk, in order.
///
/// # Invariants
///
/// Every slot was filled by `iommufd_access_pin_pages` with a page it pinned, still pinned.
pub(crate) struct Pfns<'a>(core::slice::Iter<'a, PageSlot>);

impl Iterator for Pfns<'_> {
    type Item = u64;

    #[inline]
    fn next(&mut self) -> Option<u64> {
        // SAFETY: The slot was filled (type invariants).
        let page = unsafe { self.0.next()?.assume_init() };
        // SAFETY: A pinned page is a valid page.
        Some(unsafe { bindings::page_to_pfn(page) } as u64)
    }
}

impl PinnedAccess {
    /// The most pages pinned by one call into the core, bounding the temporary page array to
    /// 16 KiB. Up to 8 MiB, the largest queue Tegra241 CMDQV supports, this is one call, as in
    /// C; larger ranges take more calls instead of a larger array. Each further call costs a
    /// record of the core's (`struct iopt_pages_access`, 56 bytes) held while the range is
    /// pinned, against C's array of 8 bytes per page, freed at once.
    pub(crate) const CHUNK_PAGES: u64 = 2048;

    /// The most pages whose array lives on the stack, 128 bytes: queues of up to 64 KiB (most
    /// of them) pin without allocating.
    const STACK_PAGES: usize = 16;

    /// Pins `[iova, iova + length)` of `viommu`'s nesting parent IOAS.
    ///
    /// The range is checked first: `EINVAL` if it is empty, `ERANGE` or `EOVERFLOW` if its pages
    /// are not all addressable ([`PageSpan::new`]). Chunks of at most [`Self::CHUNK_PAGES`] pages
    /// are then pinned in ascending order, and `visit` sees the page frame numbers of each chunk
    /// right after that chunk is pinned. Once `visit` fails it is not called again, but the
    /// remaining chunks are still pinned, so that a pinning error takes precedence over the
    /// verdict, as when C pins the whole range before checking it; the pin then fails with
    /// `visit`'s first error. Pinning errors are `ENOMEM` and what `iommufd_access_pin_pages`
    /// returns (`ENOENT` for an unmapped range, for instance).
    pub(crate) fn pin(
        viommu: &Viommu,
        iova: u64,
        length: u64,
        mut visit: impl FnMut(Pfns<'_>) -> Result,
    ) -> Result<Self> {
        if length == 0 {
            return Err(EINVAL);
        }
        let span = PageSpan::new(iova, length, PAGE_SHIFT as u32)?;
        let chunk = span.npages().min(Self::CHUNK_PAGES) as usize;
        // Left uninitialized: the core fills each chunk's slots before they are read.
        let mut on_stack = [const { PageSlot::uninit() }; Self::STACK_PAGES];
        let mut on_heap;
        let pages = if chunk <= Self::STACK_PAGES {
            &mut on_stack[..chunk]
        } else {
            on_heap = KVVec::<*mut bindings::page>::with_capacity(
                chunk,
                GFP_KERNEL | flags::__GFP_NOWARN,
            )?;
            &mut on_heap.spare_capacity_mut()[..chunk]
        };

        // SAFETY: A live vIOMMU has a valid context and nesting parent HWPT, with its IOAS.
        let (ictx, ioas) = unsafe { ((*viommu.raw()).ictx, (*(*viommu.raw()).hwpt).ioas) };
        // SAFETY: `ictx` is valid.
        let access = from_err_ptr(unsafe { bindings::iommufd_access_create_internal(ictx) })?;
        // SAFETY: `access` is a fresh internal access, `ioas` a live IOAS of the same context.
        if let Err(e) = to_result(unsafe { bindings::iommufd_access_attach_internal(access, ioas) })
        {
            // SAFETY: Not attached: destroy only.
            unsafe { bindings::iommufd_access_destroy_internal(ictx, access) };
            return Err(e);
        }
        // INVARIANT: `span` was made of this range, and no chunk is pinned yet. From here on,
        // dropping `this` unpins what is pinned and destroys the access.
        let mut this = Self {
            // SAFETY: Valid pointers are non-null.
            ictx: unsafe { NonNull::new_unchecked(ictx) },
            // SAFETY: `from_err_ptr` passed a valid access pointer.
            access: unsafe { NonNull::new_unchecked(access) },
            iova,
            length,
            pinned: 0,
        };

        let mut verdict = Ok(());
        for (chunk_iova, n) in span.chunks(Self::CHUNK_PAGES, PAGE_SHIFT as u32) {
            let buf = &mut pages[..n as usize];
            // SAFETY: `access` is attached; `buf` has room for the `n` pages of the chunk, and
            // `MaybeUninit<T>` has the layout of `T`.
            to_result(unsafe {
                bindings::iommufd_access_pin_pages(
                    access,
                    chunk_iova as usize,
                    (n << PAGE_SHIFT) as usize,
                    buf.as_mut_ptr().cast(),
                    0,
                )
            })?;
            // INVARIANT: One more chunk pinned, in order.
            this.pinned += 1;
            if verdict.is_ok() {
                // INVARIANT: The pin filled the chunk's `n` slots with the pages it pinned.
                verdict = visit(Pfns(buf.iter()));
            }
        }
        verdict.map(|()| this)
    }

    #[inline]
    pub(super) fn into_raw(self) -> (*mut bindings::iommufd_access, u64, u64) {
        // `pin` only returns values with every chunk pinned, which `from_raw` assumes.
        let raw = (self.access.as_ptr(), self.iova, self.length);
        core::mem::forget(self);
        raw
    }

    /// # Safety
    ///
    /// The arguments must come from [`PinnedAccess::into_raw`] of a value of context `ictx`, and
    /// be used once.
    pub(super) unsafe fn from_raw(
        ictx: *mut bindings::iommufd_ctx,
        access: *mut bindings::iommufd_access,
        iova: u64,
        length: u64,
    ) -> Self {
        // INVARIANT: As `into_raw` gave them up, with every chunk pinned.
        Self {
            // SAFETY: Non-null, as `into_raw` gave them up.
            ictx: unsafe { NonNull::new_unchecked(ictx) },
            // SAFETY: As above.
            access: unsafe { NonNull::new_unchecked(access) },
            iova,
            length,
            pinned: usize::MAX,
        }
    }
}

impl Drop for PinnedAccess {
    /// Unpins the pinned chunks, then detaches and destroys the access.
    fn drop(&mut self) {
        // Cannot fail: the span was made of the same range (type invariants).
        if let Ok(span) = PageSpan::new(self.iova, self.length, PAGE_SHIFT as u32) {
            for (iova, n) in span
                .chunks(Self::CHUNK_PAGES, PAGE_SHIFT as u32)
                .take(self.pinned)
            {
                // SAFETY: This chunk is pinned on the attached access (type invariants).
                unsafe {
                    bindings::iommufd_access_unpin_pages(
                        self.access.as_ptr(),
                        iova as usize,
                        (n << PAGE_SHIFT) as usize,
                    )
                };
            }
        }
        // SAFETY: `access` is an attached internal access of `ictx` with nothing pinned.
        unsafe {
            bindings::iommufd_access_detach_internal(self.access.as_ptr());
            bindings::iommufd_access_destroy_internal(self.ictx.as_ptr(), self.access.as_ptr());
        }
    }
}

// Used by `Pfns`; `PAGE_SIZE` documents the unit of `CHUNK_PAGES`.
const _: () = assert!(PinnedAccess::CHUNK_PAGES as usize * size_of::<usize>() <= 4 * PAGE_SIZE);

#[cfg(CONFIG_KUNIT)]
#[kernel::macros::kunit_tests(rust_iommufd_page_span)]
mod tests {
    use super::*;

    const SHIFT: u32 = 12;

    #[test]
    fn aligned() -> Result {
        let s = PageSpan::new(0x10000, 0x2000, SHIFT)?;
        assert_eq!(
            s,
            PageSpan {
                aligned_iova: 0x10000,
                offset: 0,
                npages: 2
            }
        );
        Ok(())
    }

    #[test]
    fn unaligned_crosses_pages() -> Result {
        // 16 bytes straddling a page boundary need two pages.
        let s = PageSpan::new(0x10ff8, 16, SHIFT)?;
        assert_eq!(
            s,
            PageSpan {
                aligned_iova: 0x10000,
                offset: 0xff8,
                npages: 2
            }
        );
        // One byte at the end of a page needs one.
        assert_eq!(PageSpan::new(0x10fff, 1, SHIFT)?.npages, 1);
        // A whole page starting one byte in needs two.
        assert_eq!(PageSpan::new(0x10001, 0x1000, SHIFT)?.npages, 2);
        // Half a page in the second half of a page needs one.
        assert_eq!(PageSpan::new(0x10800, 0x800, SHIFT)?.npages, 1);
        Ok(())
    }

    #[test]
    fn overflow_edges() -> Result {
        // The last page of the address space.
        let s = PageSpan::new(u64::MAX - 0xfff, 0x1000, SHIFT)?;
        assert_eq!(
            s,
            PageSpan {
                aligned_iova: u64::MAX - 0xfff,
                offset: 0,
                npages: 1
            }
        );
        // Rounding the length up to a page overflows.
        assert_eq!(PageSpan::new(0, u64::MAX, SHIFT), Err(ERANGE));
        assert_eq!(PageSpan::new(0, u64::MAX - 0xffe, SHIFT), Err(ERANGE));
        assert_eq!(
            PageSpan::new(0, u64::MAX - 0xfff, SHIFT)?.npages,
            u64::MAX >> SHIFT
        );
        // Offset plus length overflows.
        assert_eq!(PageSpan::new(0xfff, u64::MAX, SHIFT), Err(ERANGE));
        // The rounded length is representable but the span runs past the end of the address
        // space: its second page would have no address, and `chunks` would overflow.
        assert_eq!(
            PageSpan::new(u64::MAX - 0xfff, 0x2000, SHIFT),
            Err(EOVERFLOW)
        );
        assert_eq!(PageSpan::new(u64::MAX, 2, SHIFT), Err(EOVERFLOW));
        assert_eq!(PageSpan::new(1 << 63, 1 << 63, SHIFT)?.npages, 1 << 51);
        assert_eq!(PageSpan::new(1 << 63, (1 << 63) + 1, SHIFT), Err(EOVERFLOW));
        // Pages of 2^64 bytes or more do not exist.
        assert_eq!(PageSpan::new(0, 1, 64), Err(EINVAL));
        // An empty span has no pages, unless it starts inside a page.
        assert_eq!(PageSpan::new(0x1000, 0, SHIFT)?.npages, 0);
        assert_eq!(PageSpan::new(u64::MAX, 0, SHIFT)?.npages, 1);
        Ok(())
    }

    #[test]
    fn chunks() -> Result {
        let s = PageSpan::new(0x3000, 5 * 0x1000, SHIFT)?;
        let mut it = s.chunks(2, SHIFT);
        assert_eq!(it.next(), Some((0x3000, 2)));
        assert_eq!(it.next(), Some((0x5000, 2)));
        assert_eq!(it.next(), Some((0x7000, 1)));
        assert_eq!(it.next(), None);
        // The last page of the address space, in one chunk.
        let s = PageSpan::new(u64::MAX - 0xfff, 0x1000, SHIFT)?;
        let mut it = s.chunks(PinnedAccess::CHUNK_PAGES, SHIFT);
        assert_eq!(it.next(), Some((u64::MAX - 0xfff, 1)));
        assert_eq!(it.next(), None);
        // A zero chunk size still makes progress.
        assert_eq!(s.chunks(0, SHIFT).count(), 1);
        // 8 MiB is one chunk, 8 MiB and a byte two.
        assert_eq!(
            PageSpan::new(0, 8 << 20, SHIFT)?
                .chunks(PinnedAccess::CHUNK_PAGES, SHIFT)
                .count(),
            1
        );
        assert_eq!(
            PageSpan::new(0, (8 << 20) + 1, SHIFT)?
                .chunks(PinnedAccess::CHUNK_PAGES, SHIFT)
                .count(),
            2
        );
        Ok(())
    }
}
