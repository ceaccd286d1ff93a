// SPDX-License-Identifier: GPL-2.0

//! References on iommufd objects, `struct iommufd_object`.

use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    mm::virt_io::VmaData,
    prelude::*,
    types::ForeignOwnable, //
};

/// An iommufd object type that [`ObjectRef`] can hold.
///
/// # Safety
///
/// Implementors must be transparent wrappers of a C structure whose first member is its
/// `struct iommufd_object`.
pub(crate) unsafe trait Object {}

/// A reference on an iommufd object, taken by a lookup and put when dropped.
///
/// # Invariants
///
/// `obj` is a live object of `ictx` on which this value holds one `users` and one `wait_cnt`
/// reference, as `iommufd_get_object` returns it.
pub(crate) struct ObjectRef<'a, O: Object> {
    ictx: NonNull<bindings::iommufd_ctx>,
    obj: NonNull<O>,
    _p: PhantomData<&'a O>,
}

impl<O: Object> ObjectRef<'_, O> {
    /// Takes over the references a lookup returned.
    ///
    /// # Safety
    ///
    /// `obj` must be a live object of type `O` of the context `ictx`, which outlives `'a`, on
    /// which the caller gives up one `users` and one `wait_cnt` reference, as
    /// `iommufd_get_object` returns it.
    #[inline]
    pub(super) unsafe fn from_raw(ictx: *mut bindings::iommufd_ctx, obj: *mut O) -> Self {
        // INVARIANT: As the caller guarantees.
        Self {
            // SAFETY: A valid context is non-null.
            ictx: unsafe { NonNull::new_unchecked(ictx) },
            // SAFETY: A live object is non-null.
            obj: unsafe { NonNull::new_unchecked(obj) },
            _p: PhantomData,
        }
    }
}

impl<O: Object> core::ops::Deref for ObjectRef<'_, O> {
    type Target = O;

    #[inline]
    fn deref(&self) -> &O {
        // SAFETY: The reference held keeps the object alive (type invariants).
        unsafe { self.obj.as_ref() }
    }
}

impl<O: Object> Drop for ObjectRef<'_, O> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: This value holds the references `iommufd_put_object` puts (type invariants),
        // and `O` starts with its `struct iommufd_object` (`Object` safety requirement).
        unsafe { bindings::iommufd_put_object(self.ictx.as_ptr(), self.obj.as_ptr().cast()) };
    }
}

/// A `users` reference on an iommufd object, which makes `IOMMU_DESTROY` of the object fail
/// with `EBUSY` while it is held.
///
/// # Invariants
///
/// The pointer is a live object on which this value holds one `users` reference.
pub(crate) struct UsersRef(NonNull<bindings::iommufd_object>);

// SAFETY: A `UsersRef` only ever touches the object's atomic `users` count (to take and to put
// the reference it holds), which any thread may do; the object may be released from any thread.
unsafe impl Send for UsersRef {}

// SAFETY: Shared access to a `UsersRef` gives no access to the object at all; `VmaData::dup`
// increments the atomic `users` count, which any thread may do concurrently.
unsafe impl Sync for UsersRef {}

impl UsersRef {
    /// Takes a `users` reference on `obj`, unless its count already dropped to zero, which means
    /// it is being destroyed.
    ///
    /// # Safety
    ///
    /// `obj` must point to an allocated `struct iommufd_object` for the duration of the call.
    #[inline]
    pub(super) unsafe fn try_get(obj: NonNull<bindings::iommufd_object>) -> Option<Self> {
        // SAFETY: `obj` is allocated (safety requirements); `users` is an atomic count.
        if unsafe { bindings::refcount_inc_not_zero(&raw mut (*obj.as_ptr()).users) } {
            // INVARIANT: A reference was just taken, so the object stays live while it is held.
            Some(UsersRef(obj))
        } else {
            // Not `live.then_some(UsersRef(obj))`: that builds the value whatever `live` is, and
            // dropping it would put a reference never taken.
            None
        }
    }
}

impl Drop for UsersRef {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: This value holds a reference, so the object is live (type invariants).
        unsafe { bindings::refcount_dec(&raw mut (*self.0.as_ptr()).users) };
    }
}

/// A [`UsersRef`] owned by C code (a VMA's private data), borrowed.
pub(crate) struct BorrowedUsersRef<'a> {
    obj: NonNull<bindings::iommufd_object>,
    _p: PhantomData<&'a UsersRef>,
}

// SAFETY: `into_foreign` returns the object's address, which is aligned as
// `struct iommufd_object` is; `from_foreign` takes back the reference `into_foreign` gave up, and
// a borrow only carries the address while the foreign owner keeps the reference.
unsafe impl ForeignOwnable for UsersRef {
    const FOREIGN_ALIGN: usize = core::mem::align_of::<bindings::iommufd_object>();
    type Borrowed<'a> = BorrowedUsersRef<'a>;
    type BorrowedMut<'a> = BorrowedUsersRef<'a>;

    #[inline]
    fn into_foreign(self) -> *mut c_void {
        let ptr = self.0.as_ptr().cast();
        core::mem::forget(self);
        ptr
    }

    #[inline]
    unsafe fn from_foreign(ptr: *mut c_void) -> Self {
        // INVARIANT: `ptr` came from `into_foreign`, so it carries a reference.
        // SAFETY: `ptr` came from `into_foreign`, so it is non-null.
        Self(unsafe { NonNull::new_unchecked(ptr.cast()) })
    }

    #[inline]
    unsafe fn borrow<'a>(ptr: *mut c_void) -> BorrowedUsersRef<'a> {
        BorrowedUsersRef {
            // SAFETY: `ptr` came from `into_foreign`, so it is non-null.
            obj: unsafe { NonNull::new_unchecked(ptr.cast()) },
            _p: PhantomData,
        }
    }

    #[inline]
    unsafe fn borrow_mut<'a>(ptr: *mut c_void) -> BorrowedUsersRef<'a> {
        // SAFETY: Same requirements as `borrow`.
        unsafe { Self::borrow(ptr) }
    }
}

impl VmaData for UsersRef {
    #[inline]
    fn dup(this: BorrowedUsersRef<'_>) -> Self {
        // SAFETY: The borrowed value holds a reference, so the object is live and its count is
        // not zero.
        unsafe { bindings::refcount_inc(&raw mut (*this.obj.as_ptr()).users) };
        // INVARIANT: A reference was just taken.
        UsersRef(this.obj)
    }
}

#[cfg(CONFIG_KUNIT)]
#[kernel::macros::kunit_tests(rust_iommufd_object)]
mod tests {
    use super::*;

    fn users(obj: &bindings::iommufd_object) -> i32 {
        obj.users.refs.counter
    }

    /// An object whose `users` count is `n`; nothing else of it is used.
    fn object(n: i32) -> KBox<bindings::iommufd_object> {
        // The count is set right after; `users` is the only field `UsersRef` touches.
        let mut obj: KBox<bindings::iommufd_object> =
            KBox::new(pin_init::zeroed(), GFP_KERNEL).expect("allocation");
        // SAFETY: `obj` is a valid, exclusively owned object.
        unsafe { bindings::refcount_set(&raw mut obj.users, n) };
        obj
    }

    #[test]
    fn try_get_live() {
        let mut obj = object(1);
        // SAFETY: `obj` is allocated for the whole test.
        let r = unsafe { UsersRef::try_get(NonNull::from(&mut *obj)) };
        assert!(r.is_some());
        assert_eq!(users(&obj), 2);
        drop(r);
        assert_eq!(users(&obj), 1);
    }

    /// An object being destroyed (count 0) gives no reference, and its count stays 0.
    #[test]
    fn try_get_dying() {
        let mut obj = object(0);
        // SAFETY: `obj` is allocated for the whole test.
        let r = unsafe { UsersRef::try_get(NonNull::from(&mut *obj)) };
        assert!(r.is_none());
        assert_eq!(users(&obj), 0);
    }
}
