// SPDX-License-Identifier: GPL-2.0

//! The emulated SMMU's caches, as the invalidations it executes reach them.
//!
//! Both ways a guest's invalidation reaches the SMMU end here: the engine executing an LVCMDQ
//! ([`super::engine`]), and the host issuing what a VMM passes through `IOMMU_HWPT_INVALIDATE`
//! ([`super::viommu`]). Either way the command has been converted for the SMMU first, with the
//! VINTF's VMID and the physical stream ID ([`Invalidation`]), and it has the same effects:
//!
//! - ATC: a device's ATC is the mock device's cache, whose entries
//!   `IOMMU_TEST_OP_DEV_CHECK_CACHE` reads. Entry `n` stands for the translations of substream
//!   `n`, entry 0 also for those without a substream. `ATC_INV` with `G` clears every entry,
//!   with `SSV` the entry of its substream (none past the last), otherwise entry 0. Addresses
//!   are not modelled: an entry covers all of them.
//! - TLB: nothing walks a guest's page tables here, so no translation is ever cached. Each TLB
//!   (and context descriptor) invalidation that reaches the SMMU is recorded instead, in a log
//!   of the last [`LOG_RECORDS`] that debugfs shows (`tegra241_cmdqv_emu/invalidations`), one
//!   line each: a sequence number, where it came from (`vintf1.lvcmdq0`, or `host` for the
//!   trapped path), then the command as the SMMU got it, e.g.
//!   `7 vintf1.lvcmdq0: TLBI_NH_VA vmid=1 asid=5 va=0x12345000`. ATC invalidations are
//!   recorded too.

use core::fmt;
use kernel::{
    debugfs::Writer,
    device::Device,
    iommu::iommufd::driver::mock,
    new_mutex,
    prelude::*,
    sync::{
        aref::ARef,
        Arc,
        Mutex, //
    },
};

/// How many invalidations the log keeps.
pub(crate) const LOG_RECORDS: usize = 64;

/// An invalidation as it reaches the SMMU: with the VMID of the VINTF, or of the vIOMMU, and
/// with a physical stream ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Invalidation {
    /// Every stage 1 entry of a VMID.
    TlbiNhAll { vmid: u16 },
    /// The entries of an ASID.
    TlbiNhAsid { vmid: u16, asid: u16 },
    /// The entries of an address in an ASID.
    TlbiNhVa { vmid: u16, asid: u16, va: u64 },
    /// The entries of an address in every ASID.
    TlbiNhVaa { vmid: u16, va: u64 },
    /// A device's ATC.
    AtcInv {
        sid: u32,
        ssid: Option<u32>,
        global: bool,
        addr: u64,
        size: u8,
    },
    /// A context descriptor of a stream.
    CfgiCd { sid: u32, ssid: u32 },
    /// Every context descriptor of a stream.
    CfgiCdAll { sid: u32 },
}

impl fmt::Display for Invalidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TlbiNhAll { vmid } => write!(f, "TLBI_NH_ALL vmid={vmid}"),
            Self::TlbiNhAsid { vmid, asid } => write!(f, "TLBI_NH_ASID vmid={vmid} asid={asid}"),
            Self::TlbiNhVa { vmid, asid, va } => {
                write!(f, "TLBI_NH_VA vmid={vmid} asid={asid} va={va:#x}")
            }
            Self::TlbiNhVaa { vmid, va } => write!(f, "TLBI_NH_VAA vmid={vmid} va={va:#x}"),
            Self::AtcInv {
                sid,
                ssid,
                global,
                addr,
                size,
            } => {
                write!(f, "ATC_INV sid={sid} ssid=")?;
                match ssid {
                    Some(ssid) => write!(f, "{ssid}")?,
                    None => write!(f, "-")?,
                }
                write!(f, " global={} addr={addr:#x} size={size}", u8::from(global))
            }
            Self::CfgiCd { sid, ssid } => write!(f, "CFGI_CD sid={sid} ssid={ssid}"),
            Self::CfgiCdAll { sid } => write!(f, "CFGI_CD_ALL sid={sid}"),
        }
    }
}

/// Where an invalidation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A guest's queue: LVCMDQ `lvcmdq` of VINTF `vintf`.
    Queue { vintf: usize, lvcmdq: u32 },
    /// The host, for a VMM's `IOMMU_HWPT_INVALIDATE`.
    Host,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Queue { vintf, lvcmdq } => write!(f, "vintf{vintf}.lvcmdq{lvcmdq}"),
            Self::Host => write!(f, "host"),
        }
    }
}

struct Record {
    seq: u64,
    source: Source,
    invalidation: Invalidation,
}

/// The last [`LOG_RECORDS`] invalidations, in a ring.
struct Log {
    /// The sequence number of the next record, from 1.
    next: u64,
    records: KVec<Record>,
}

/// A device that a vDEVICE stands for, on its physical stream.
struct Stream {
    sid: u32,
    dev: ARef<Device>,
}

/// The SMMU's caches: see the module's documentation.
#[pin_data]
pub(crate) struct Caches {
    /// The devices whose ATCs invalidations can reach, by physical stream ID.
    #[pin]
    streams: Mutex<KVec<Stream>>,
    #[pin]
    log: Mutex<Log>,
}

impl Caches {
    /// Empty caches, with room for the log.
    pub(crate) fn new() -> Result<Arc<Self>> {
        let records = KVec::with_capacity(LOG_RECORDS, GFP_KERNEL)?;
        Arc::pin_init(
            try_pin_init!(Self {
                streams <- new_mutex!(KVec::new()),
                log <- new_mutex!(Log { next: 1, records }),
            }),
            GFP_KERNEL,
        )
    }

    /// Lets invalidations for physical stream `sid` reach `dev`, until [`Self::remove_stream`].
    pub(crate) fn add_stream(&self, sid: u32, dev: &Device) -> Result {
        self.streams.lock().push(
            Stream {
                sid,
                dev: dev.into(),
            },
            GFP_KERNEL,
        )?;
        Ok(())
    }

    /// Undoes [`Self::add_stream`].
    pub(crate) fn remove_stream(&self, sid: u32) {
        let mut streams = self.streams.lock();
        if let Some(i) = streams.iter().position(|s| s.sid == sid) {
            let _ = streams.remove(i);
        }
    }

    /// Executes `invalidation`, from `source`.
    pub(crate) fn invalidate(&self, source: Source, invalidation: Invalidation) {
        if let Invalidation::AtcInv {
            sid, ssid, global, ..
        } = invalidation
        {
            let entry = match (global, ssid) {
                (true, _) => None,
                (false, ssid) => Some(ssid.unwrap_or(0)),
            };
            if let Some(stream) = self.streams.lock().iter().find(|s| s.sid == sid) {
                // `EINVAL` for a substream past the device's entries, which has none.
                let _ = mock::invalidate_cache(&stream.dev, entry);
            }
        }
        self.log.lock().record(source, invalidation);
    }
}

impl Log {
    fn record(&mut self, source: Source, invalidation: Invalidation) {
        let record = Record {
            seq: self.next,
            source,
            invalidation,
        };
        let slot = ring_slot(self.next);
        self.next += 1;
        match self.records.get_mut(slot) {
            Some(old) => *old = record,
            // The ring is filled in order, with the capacity reserved at creation.
            None => {
                let _ = self.records.push_within_capacity(record);
            }
        }
    }
}

/// Where in the ring record `seq` is.
fn ring_slot(seq: u64) -> usize {
    ((seq - 1) % LOG_RECORDS as u64) as usize
}

/// The debugfs view of the log, oldest record first.
pub(crate) struct LogFile(pub(crate) Arc<Caches>);

impl Writer for LogFile {
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let log = self.0.log.lock();
        let first = log.next.saturating_sub(LOG_RECORDS as u64).max(1);
        for seq in first..log.next {
            let Some(r) = log.records.get(ring_slot(seq)) else {
                break;
            };
            writeln!(f, "{} {}: {}", r.seq, r.source, r.invalidation)?;
        }
        Ok(())
    }
}

#[kunit_tests(tegra241_cmdqv_emu_caches)]
mod tests {
    use super::*;

    #[test]
    fn log_ring() -> Result {
        let caches = Caches::new()?;
        let host = Source::Host;
        for asid in 0..(LOG_RECORDS as u16 + 3) {
            caches.invalidate(host, Invalidation::TlbiNhAsid { vmid: 1, asid });
        }
        let log = caches.log.lock();
        assert_eq!(log.next, LOG_RECORDS as u64 + 4);
        assert_eq!(log.records.len(), LOG_RECORDS);
        // The oldest left is number 4, the newest LOG_RECORDS + 3.
        let oldest = &log.records[ring_slot(4)];
        assert_eq!(oldest.seq, 4);
        assert_eq!(
            oldest.invalidation,
            Invalidation::TlbiNhAsid { vmid: 1, asid: 3 }
        );
        Ok(())
    }

    #[test]
    fn atc_inv_without_device() -> Result {
        // No device on the stream: recorded, nothing else.
        let caches = Caches::new()?;
        let atc = Invalidation::AtcInv {
            sid: 3,
            ssid: Some(1),
            global: false,
            addr: 0x1000,
            size: 0,
        };
        caches.invalidate(
            Source::Queue {
                vintf: 1,
                lvcmdq: 2,
            },
            atc,
        );
        let log = caches.log.lock();
        assert_eq!(log.records.len(), 1);
        assert_eq!(log.records[0].invalidation, atc);
        Ok(())
    }
}
