// SPDX-License-Identifier: GPL-2.0

//! The engine: the emulated hardware executing the guests' queues.
//!
//! Real hardware fetches commands as soon as the guest moves `PROD`. Nothing traps the guest's
//! writes to its mapped VINTF page here, so the engine polls instead: a delayed work item visits
//! every LVCMDQ that has a HW queue, once per jiffy, for as long as any has one; with none, it
//! does not run at all. It polls allocated queues, not only enabled ones, because enabling a queue
//! is also a write to the page.
//!
//! On each visit an LVCMDQ behaves as the hardware does:
//!
//! - `STATUS.ENABLED` follows `CONFIG.CMDQ_EN`; a disabled queue is not consumed;
//! - while `GERROR.CMDQ_ERR` differs from `GERRORN.CMDQ_ERR` the queue is halted;
//! - otherwise the commands from `CONS` up to `PROD` are read straight from the queue's guest
//!   memory, at most [`BUDGET`] of them, and `CONS` advances past each one executed;
//! - an illegal command ([`cmd::decode`]), or an entry outside the queue's memory, stops the
//!   queue on it: `CONS.ERR` says why, `GERROR.CMDQ_ERR` toggles, the LVCMDQ's bit is set in
//!   its VINTF's `LVCMDQ_ERR_MAP`, and the map is reported to the vIOMMU's vEVENTQ of type
//!   `IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV`, as upstream's `tegra241_vintf_user_handle_error()`
//!   does. Once the guest acknowledges (`GERRORN` = `GERROR`), the bit clears and the queue
//!   fetches again from `CONS`.
//!
//! A `PROD` more than a queue ahead of `CONS` is inconsistent: nothing is consumed until the
//! guest fixes it.

use super::{
    cmd::{
        self,
        CERROR_ABT,
        CERROR_ILL, //
    },
    hw::Cmdqv,
    regs::{
        err_map_word,
        LVCMDQ_BASE,
        LVCMDQ_CONFIG,
        LVCMDQ_CONS,
        LVCMDQ_GERROR,
        LVCMDQ_GERRORN,
        LVCMDQ_PROD,
        LVCMDQ_STATUS,
        VINTF_LVCMDQ_ERR_MAP, //
    },
    ring::Ring,
    vintf::CmdqvHw,
};
use kernel::{
    bindings,
    io::{
        register::Array,
        Io, //
    },
    iommu::iommufd::driver::{
        EventReporter,
        QueueMemory, //
    },
    prelude::*,
};

/// The most commands a queue executes per visit, so that a guest filling its queue delays the
/// other queues by that many commands at most.
pub(crate) const BUDGET: u32 = 256;

/// The size of a command, in bytes.
const CMD_SIZE: usize = 16;

/// An LVCMDQ with a HW queue, as the engine visits it.
pub(crate) struct EngineQueue {
    /// The VINTF.
    pub(crate) vintf: usize,
    /// The LVCMDQ in the VINTF.
    pub(crate) lvcmdq: u32,
    /// The queue's guest memory.
    pub(crate) memory: QueueMemory,
    /// The vIOMMU's events.
    pub(crate) events: EventReporter,
}

/// Visits an LVCMDQ: see the module's documentation.
pub(crate) fn visit(hw: &Cmdqv, queue: &EngineQueue) -> Result {
    let (page0, page1) = hw.vintf_pages(queue.vintf).ok_or(EINVAL)?;
    let l = queue.lvcmdq as usize;

    let enabled = page0
        .read(LVCMDQ_CONFIG::try_at(l).ok_or(EINVAL)?)
        .cmdq_en();
    let status = || LVCMDQ_STATUS::try_at(l).ok_or(EINVAL);
    if page0.read(status()?).enabled() != enabled {
        page0.write(status()?, LVCMDQ_STATUS::zeroed().with_enabled(enabled));
    }
    if !enabled {
        return Ok(());
    }
    let gerror = page0
        .read(LVCMDQ_GERROR::try_at(l).ok_or(EINVAL)?)
        .cmdq_err();
    if page0
        .read(LVCMDQ_GERRORN::try_at(l).ok_or(EINVAL)?)
        .cmdq_err()
        != gerror
    {
        return Ok(());
    }
    set_err_map(hw, queue, false)?;

    let base = page1.read(LVCMDQ_BASE::try_at(l).ok_or(EINVAL)?);
    let ring = Ring::new(base.log2size().get() as u32).ok_or(EINVAL)?;
    let cons_reg = page0.read(LVCMDQ_CONS::try_at(l).ok_or(EINVAL)?);
    let prod = page0.read(LVCMDQ_PROD::try_at(l).ok_or(EINVAL)?).wr().get();
    let mut cons = cons_reg.rd().get();
    let Some(pending) = ring.pending(prod, cons) else {
        return Ok(());
    };

    // The error the queue stops on, if any.
    let mut error = None;
    for _ in 0..pending.min(BUDGET) {
        let mut entry = [0u64; 2];
        let offset = ring.index(cons) as usize * CMD_SIZE;
        if queue.memory.read_u64s(offset, &mut entry).is_err() {
            error = Some(CERROR_ABT);
            break;
        }
        // The emulated SMMU has no TLB or ATC to invalidate yet: executing is completing.
        if cmd::decode(entry).is_none() {
            error = Some(CERROR_ILL);
            break;
        }
        cons = ring.next(cons);
    }

    let err = error.unwrap_or(cons_reg.err().get());
    page0.write(
        LVCMDQ_CONS::try_at(l).ok_or(EINVAL)?,
        LVCMDQ_CONS::zeroed().try_with_rd(cons)?.try_with_err(err)?,
    );
    if error.is_some() {
        let event = bindings::iommu_vevent_tegra241_cmdqv {
            lvcmdq_err_map: set_err_map(hw, queue, true)?.map(u64::to_le),
        };
        // Without a vEVENTQ (`ENODEV`), or without memory for the event, it is lost, as the
        // vEVENTQ would count it. Reported before GERROR toggles, as an interrupt would be.
        let _ = queue.events.report(
            bindings::iommu_veventq_type_IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV,
            &event,
        );
        page0.write(
            LVCMDQ_GERROR::try_at(l).ok_or(EINVAL)?,
            LVCMDQ_GERROR::zeroed().with_cmdq_err(!gerror),
        );
    }
    Ok(())
}

/// Sets or clears the bit of `queue`'s LVCMDQ in its VINTF's error map, and returns the map.
pub(crate) fn set_err_map(hw: &Cmdqv, queue: &EngineQueue, error: bool) -> Result<[u64; 2]> {
    let word = (queue.lvcmdq / u64::BITS) as usize;
    let bit = 1u64 << (queue.lvcmdq % u64::BITS);
    let mut map = [0u64; 2];
    for (m, value) in map.iter_mut().enumerate() {
        let reg = || {
            err_map_word(queue.vintf, m)
                .and_then(VINTF_LVCMDQ_ERR_MAP::try_at)
                .ok_or(EINVAL)
        };
        let old = hw.config().read(reg()?).map().get();
        *value = match (m == word, error) {
            (true, true) => old | bit,
            (true, false) => old & !bit,
            (false, _) => old,
        };
        if *value != old {
            hw.config()
                .write(reg()?, VINTF_LVCMDQ_ERR_MAP::from(*value));
        }
    }
    Ok(map)
}
