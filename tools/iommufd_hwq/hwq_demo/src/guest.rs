// SPDX-License-Identifier: GPL-2.0
//! The guest's side: its LVCMDQ, driven through the VINTF page the VMM mapped for it, with no
//! system call, and the SMMUv3 commands it writes into its own memory.

use crate::by_hand::Mapping;
use std::time::{Duration, Instant};

/// LVCMDQ registers in VINTF page0, 0x80 bytes apart.
pub const CONS: usize = 0x00;
pub const PROD: usize = 0x04;
pub const CONFIG: usize = 0x08;
pub const STATUS: usize = 0x0c;
pub const GERROR: usize = 0x10;
pub const GERRORN: usize = 0x14;

/// `CONS.RD` (index and wrap bit) and `CONS.ERR`, which is meaningful only while
/// `GERROR.CMDQ_ERR` is active.
pub const CONS_RD: u32 = 0xfffff;
pub fn cons_rd(cons: u32) -> u32 {
    cons & CONS_RD
}
pub fn cons_err(cons: u32) -> u32 {
    (cons >> 24) & 0x7f
}

/// The commands.
pub fn tlbi_nh_va(asid: u16, va: u64) -> [u64; 2] {
    [0x12 | u64::from(asid) << 48, va & !0xfff]
}
pub fn atc_inv_ssid(vsid: u32, ssid: u32) -> [u64; 2] {
    [
        0x40 | u64::from(vsid) << 32 | u64::from(ssid) << 12 | 1 << 11,
        0,
    ]
}
pub fn cmd_sync() -> [u64; 2] {
    [0x46, 0]
}
/// CFGI_STE: the host's to issue, illegal in a guest queue.
pub fn cfgi_ste(sid: u32) -> [u64; 2] {
    [0x03 | u64::from(sid) << 32, 0]
}

/// LVCMDQ `index` of the guest's VINTF, with its ring in guest memory.
pub struct Lvcmdq<'a> {
    page: &'a Mapping,
    index: usize,
    ram: &'a Mapping,
    /// Where the ring starts in `ram`.
    ring: usize,
    entries: u32,
    /// The guest's PROD, index and wrap bit.
    pub prod: u32,
}

impl<'a> Lvcmdq<'a> {
    pub fn new(page: &'a Mapping, index: usize, ram: &'a Mapping, ring: usize, len: usize) -> Self {
        Self {
            page,
            index,
            ram,
            ring,
            entries: (len / 16) as u32,
            prod: 0,
        }
    }

    pub fn reg(&self, reg: usize) -> u32 {
        self.page.read32(0x80 * self.index + reg)
    }

    pub fn set(&self, reg: usize, value: u32) {
        self.page.write32(0x80 * self.index + reg, value)
    }

    /// Writes `cmd` at the producer index, advancing it (not PROD yet); returns its index.
    pub fn push(&mut self, cmd: [u64; 2]) -> u32 {
        let at = self.prod;
        self.put(at, cmd);
        self.prod = (self.prod + 1) & (2 * self.entries - 1);
        at
    }

    /// Writes `cmd` at ring index `at`.
    pub fn put(&self, at: u32, cmd: [u64; 2]) {
        let offset = self.ring + 16 * (at % self.entries) as usize;
        self.ram.write64(offset, cmd[0]);
        self.ram.write64(offset + 8, cmd[1]);
    }

    /// Tells the hardware: PROD.
    pub fn ring_doorbell(&self) {
        self.set(PROD, self.prod);
    }

    /// Waits up to 2 s for `reg & mask` to be `want`; how long it took.
    pub fn wait(&self, reg: usize, mask: u32, want: u32) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            if self.reg(reg) & mask == want {
                return Some(start.elapsed());
            }
            std::thread::yield_now();
        }
        None
    }
}
