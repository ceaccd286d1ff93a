// SPDX-License-Identifier: GPL-2.0
//! What a VMM needs here that neither `vfio-ioctls` nor `iommufd-ioctls` offers, by hand: what
//! `VFIO_DEVICE_GET_INFO` says of the device (`VfioDevice` keeps the flags to itself), the
//! mapping of the VINTF page the vIOMMU hands out, and guest memory that is physically
//! contiguous (a hugepage).

use std::io;
use std::os::unix::io::RawFd;
use vfio_bindings::bindings::vfio::vfio_device_info;

/// `VFIO_DEVICE_GET_INFO`: `_IO(VFIO_TYPE, VFIO_BASE + 7)`.
const VFIO_DEVICE_GET_INFO: libc::c_ulong = 0x3b6b;

/// `VFIO_DEVICE_GET_INFO` on the device file `fd`.
pub fn device_info(fd: RawFd) -> io::Result<vfio_device_info> {
    let mut info = vfio_device_info {
        argsz: std::mem::size_of::<vfio_device_info>() as u32,
        ..Default::default()
    };
    // SAFETY: `info` is a valid `struct vfio_device_info` for the duration of the call.
    if unsafe { libc::ioctl(fd, VFIO_DEVICE_GET_INFO, &mut info) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(info)
}

/// A shared mapping, unmapped on drop.
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    /// `mmap()` of `len` bytes of `fd` at `offset`: the VINTF page the vIOMMU hands out.
    pub fn file(fd: RawFd, offset: u64, len: u64) -> io::Result<Self> {
        Self::map(len as usize, libc::MAP_SHARED, fd, offset as libc::off_t)
    }

    /// Anonymous memory in one hugepage, so physically contiguous, zeroed.
    pub fn hugepage(len: usize) -> io::Result<Self> {
        Self::map(
            len,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_HUGETLB,
            -1,
            0,
        )
    }

    fn map(len: usize, flags: libc::c_int, fd: RawFd, offset: libc::off_t) -> io::Result<Self> {
        // SAFETY: A new mapping, at an address the kernel chooses.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { ptr, len })
    }

    /// Where it is mapped.
    pub fn addr(&self) -> u64 {
        self.ptr as u64
    }

    /// Its length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Reads the `u32` at `offset`, as MMIO is read.
    pub fn read32(&self, offset: usize) -> u32 {
        assert!(offset + 4 <= self.len);
        // SAFETY: In the mapping, aligned; the "hardware" writes it concurrently.
        unsafe { std::ptr::read_volatile(self.ptr.cast::<u8>().add(offset).cast::<u32>()) }
    }

    /// Writes the `u32` at `offset`, as MMIO is written.
    pub fn write32(&self, offset: usize, value: u32) {
        assert!(offset + 4 <= self.len);
        std::sync::atomic::fence(std::sync::atomic::Ordering::Release);
        // SAFETY: In the mapping, aligned.
        unsafe { std::ptr::write_volatile(self.ptr.cast::<u8>().add(offset).cast::<u32>(), value) }
    }

    /// Writes the `u64` at `offset`.
    pub fn write64(&self, offset: usize, value: u64) {
        assert!(offset + 8 <= self.len);
        // SAFETY: In the mapping, aligned.
        unsafe { std::ptr::write_volatile(self.ptr.cast::<u8>().add(offset).cast::<u64>(), value) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: Mapped by `map`, and not used past this point.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}
