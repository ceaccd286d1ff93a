// SPDX-License-Identifier: GPL-2.0

//! Data attached to a VMA is dropped by whichever thread unmaps it or tears down the address
//! space, so it must be `Send` (this data is `Sync`).
//!
//! expect: E0277

use kernel::{
    mm::virt_io::VmaData,
    prelude::*,
    types::ForeignOwnable, //
};

/// Data that is neither `Send` nor `Sync` by itself, as a raw pointer.
pub struct Local(*mut u8);

#[cfg(not(fail))]
// SAFETY: `Local` is never used; only its impls are compiled.
unsafe impl Send for Local {}

// SAFETY: As above.
unsafe impl Sync for Local {}

// SAFETY: The pointer is handed out and taken back as it is.
unsafe impl ForeignOwnable for Local {
    const FOREIGN_ALIGN: usize = 1;
    type Borrowed<'a> = ();
    type BorrowedMut<'a> = ();

    fn into_foreign(self) -> *mut c_void {
        self.0.cast()
    }

    unsafe fn from_foreign(ptr: *mut c_void) -> Self {
        Self(ptr.cast())
    }

    unsafe fn borrow<'a>(_ptr: *mut c_void) -> Self::Borrowed<'a> {}

    unsafe fn borrow_mut<'a>(_ptr: *mut c_void) -> Self::BorrowedMut<'a> {}
}

impl VmaData for Local {
    fn dup(_this: ()) -> Self {
        Self(core::ptr::null_mut())
    }
}
