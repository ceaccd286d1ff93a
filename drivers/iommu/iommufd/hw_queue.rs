// SPDX-License-Identifier: GPL-2.0

//! iommufd HW queue object, in Rust.
//!
//! This crate root is linked into `iommufd.o` when `CONFIG_IOMMUFD_HW_QUEUE_RUST=y`. For now it
//! holds the argument checks of the HW queue and their KUnit tests, which prove that Rust objects
//! build and run inside the iommufd module.

// Used by the HW queue object; only the KUnit tests use it so far.
#[allow(dead_code)]
#[path = "hw_queue/range.rs"]
mod range;
