// SPDX-License-Identifier: GPL-2.0

//! Register files in system memory.
//!
//! C header: [`include/linux/gfp.h`](srctree/include/linux/gfp.h).
//!
//! An emulated device keeps its registers in ordinary kernel memory instead of MMIO. [`SysMem`]
//! lets such memory be accessed through [`Io`], the interface of MMIO, so that driver code
//! written against [`Io`] and typed registers ([`register!`](crate::io::register!)) works
//! unchanged on either. The memory is physically contiguous, page aligned and zeroed, so a page
//! of it can also be handed to user space the way a device's MMIO page is; both sides then see
//! each register access whole, as the accessors are single volatile loads and stores, like MMIO
//! accessors.
//!
//! The accessors also order like MMIO's `readl()` and `writel()`: a read completes before any
//! later memory read (a device's driver reads a producer index, then the entries it covers),
//! and a write is made only after every earlier memory access (an emulated device consumes
//! entries and carries out their effects, then advances its consumer index). 64-bit accesses
//! exist only where they are single accesses, on 64-bit kernels.

use crate::{
    alloc::{
        flags,
        AllocError, //
    },
    bindings,
    io::{
        Io,
        IoCapable,
        IoKnownSize,
        PhysAddr, //
    },
    page::{
        PAGE_SHIFT,
        PAGE_SIZE, //
    },
    sync::barrier::{
        smp_mb,
        smp_rmb, //
    },
};
use core::ptr::NonNull;

/// `SIZE` bytes of physically contiguous, zeroed kernel memory, accessed as registers.
///
/// `SIZE` is a power of two of at least a page.
///
/// # Invariants
///
/// `page` is the first page of an allocation of order [`SysMem::ORDER`] owned by this value, in
/// the kernel's direct map, which starts at the virtual address `addr`.
pub struct SysMem<const SIZE: usize> {
    page: NonNull<bindings::page>,
    addr: usize,
}

// SAFETY: The memory is owned by the value and only accessed with volatile loads and stores, as
// MMIO is; it may be freed from any thread.
unsafe impl<const SIZE: usize> Send for SysMem<SIZE> {}

// SAFETY: Shared references only allow single volatile loads and stores, which any number of
// threads (and user space, through a mapping) may make at once, as on MMIO.
unsafe impl<const SIZE: usize> Sync for SysMem<SIZE> {}

impl<const SIZE: usize> SysMem<SIZE> {
    /// The order of the allocation: `SIZE` is `PAGE_SIZE << ORDER`.
    pub const ORDER: u32 = {
        assert!(SIZE >= PAGE_SIZE && SIZE.is_power_of_two());
        (SIZE / PAGE_SIZE).trailing_zeros()
    };

    /// Allocates zeroed memory for the registers.
    pub fn new() -> Result<Self, AllocError> {
        let gfp = flags::GFP_KERNEL | flags::__GFP_ZERO;
        // SAFETY: Any flags and order may be asked for; without `__GFP_HIGHMEM` the pages are in
        // the direct map.
        let page = unsafe { bindings::alloc_pages(gfp.as_raw(), Self::ORDER) };
        let page = NonNull::new(page).ok_or(AllocError)?;
        // SAFETY: `page` is a valid page of the direct map.
        let addr = unsafe { bindings::page_address(page.as_ptr()) } as usize;
        // INVARIANT: A fresh allocation of order `ORDER`, at `addr` in the direct map.
        Ok(Self { page, addr })
    }

    /// The physical address of the first byte.
    #[inline]
    pub fn phys_addr(&self) -> PhysAddr {
        // SAFETY: `page` is a valid page (type invariants).
        let pfn = unsafe { bindings::page_to_pfn(self.page.as_ptr()) };
        (pfn as PhysAddr) << PAGE_SHIFT
    }
}

impl<const SIZE: usize> Drop for SysMem<SIZE> {
    fn drop(&mut self) {
        // SAFETY: The allocation of order `ORDER` is owned by `self` (type invariants).
        unsafe { bindings::__free_pages(self.page.as_ptr(), Self::ORDER) };
    }
}

impl<const SIZE: usize> Io for SysMem<SIZE> {
    #[inline]
    fn addr(&self) -> usize {
        self.addr
    }

    #[inline]
    fn maxsize(&self) -> usize {
        SIZE
    }
}

impl<const SIZE: usize> IoKnownSize for SysMem<SIZE> {
    const MIN_SIZE: usize = SIZE;
}

/// Implements [`IoCapable`] on [`SysMem`] for `$ty` with volatile accesses ordered as MMIO's.
macro_rules! impl_sysmem_io_capable {
    ($($ty:ty),*) => {
        $(
            impl<const SIZE: usize> IoCapable<$ty> for SysMem<SIZE> {
                #[inline]
                unsafe fn io_read(&self, address: usize) -> $ty {
                    // SAFETY: The caller guarantees that `address` is in bounds, which `Io`
                    // checks against `SIZE` bytes of memory owned by `self`; `Io` aligns it for
                    // the type.
                    let value = unsafe { core::ptr::read_volatile(address as *const $ty) };
                    // Later reads, of the memory the register describes, come after this one.
                    smp_rmb();
                    value
                }

                #[inline]
                unsafe fn io_write(&self, value: $ty, address: usize) {
                    // Every earlier access, of the memory the register describes, comes first:
                    // whoever sees this value sees their effects.
                    smp_mb();
                    // SAFETY: As in `io_read`.
                    unsafe { core::ptr::write_volatile(address as *mut $ty, value) }
                }
            }
        )*
    };
}

impl_sysmem_io_capable!(u8, u16, u32);
#[cfg(CONFIG_64BIT)]
impl_sysmem_io_capable!(u64);

#[cfg(all(CONFIG_KUNIT, CONFIG_64BIT))]
#[macros::kunit_tests(rust_io_sysmem)]
mod tests {
    use super::*;
    use crate::{
        io::register,
        prelude::*, //
    };

    register! {
        TEST_REG(u32) @ 0x10 {
            31:16 high;
            0:0 enable => bool;
        }
        TEST_ARRAY(u64)[4, stride = 0x80] @ 0x1000 {
            63:0 value;
        }
    }

    #[test]
    fn registers() -> Result {
        // Two pages, whatever their size.
        const SIZE: usize = 2 * PAGE_SIZE;
        let mem = SysMem::<SIZE>::new()?;
        assert_eq!(SysMem::<SIZE>::ORDER, 1);
        assert_eq!(mem.phys_addr() % SIZE as PhysAddr, 0);
        // Zeroed.
        assert_eq!(mem.read(TEST_REG).high().get(), 0);
        mem.write_reg(TEST_REG::zeroed().with_high(0xbeefu16).with_enable(true));
        let raw: u32 = mem.read(0x10usize);
        assert_eq!(raw, 0xbeef_0001);
        mem.write(register::Array::at(3), TEST_ARRAY::from(u64::MAX));
        let raw: u64 = mem.read(0x1180usize);
        assert_eq!(raw, u64::MAX);
        let raw: u64 = mem.read(0x1100usize);
        assert_eq!(raw, 0);
        Ok(())
    }
}
