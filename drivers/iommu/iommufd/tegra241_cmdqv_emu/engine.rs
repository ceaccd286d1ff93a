// SPDX-License-Identifier: GPL-2.0

//! The engine: the emulated hardware executing the guests' queues.
//!
//! Real hardware fetches commands as soon as the guest moves `PROD`. Nothing traps the guest's
//! writes to its mapped VINTF page here, so the engine polls instead, from a delayed work item
//! on a workqueue of its own (so that its visits never hold up the system's shared queues),
//! which visits every LVCMDQ with a HW queue:
//!
//! - with no HW queue, it does not run at all;
//! - while queues exist but execute nothing, it visits them once per jiffy ([`POLL_JIFFIES`]):
//!   that bounds the latency of the first command after a pause, and costs a few register
//!   reads per queue. It visits allocated queues, not only enabled ones, because enabling a
//!   queue is also a write to the page. A developer can have it visit them every few
//!   microseconds instead (`idle_poll_us`, [`Tunables`]), as hardware fetches at once, which
//!   keeps a CPU busy while queues exist;
//! - once a visit has executed commands, it keeps visiting, at once while there are commands
//!   and every [`HOT_PERIOD`] (sleeping in between) while there are none, until [`HOT`] has
//!   passed since the last, so that a guest that waits for `CONS` before writing more is not
//!   held to one batch per jiffy. A run of the work item lasts [`RUN_MAX`] at most; it queues
//!   itself again at once if still hot.
//!
//! On each visit an LVCMDQ behaves as the hardware does:
//!
//! - the registers the hardware owns are the engine's state ([`EngineQueue`]), written back to
//!   the page: `STATUS` and `GERROR` always, and `CONS` while the queue is enabled. What a guest
//!   writes over them lasts until the next visit at most and changes nothing; a write to
//!   `CONS.RD` while the queue is disabled stands, as a driver resets its queue so, and the
//!   engine does not write `CONS` then (a write-back could land after the guest's write);
//! - `STATUS.ENABLED` follows `CONFIG.CMDQ_EN`; a disabled queue is not consumed;
//! - while `GERROR.CMDQ_ERR` differs from `GERRORN.CMDQ_ERR` the queue is halted;
//! - otherwise the commands from `CONS` up to `PROD` are read straight from the queue's guest
//!   memory, at most [`BUDGET`] of them, executed ([`Caches::invalidate`]), and `CONS` advances
//!   past each one;
//! - an illegal command ([`cmd::decode`], [`Command::in_queue`], or one that fault injection
//!   rejects: `inject_illegal`, [`Tunables`]), or an entry outside the
//!   queue's memory, stops the queue on it: `CONS.ERR` says why, `GERROR.CMDQ_ERR` toggles, the
//!   LVCMDQ's bit is set in its VINTF's `LVCMDQ_ERR_MAP`, and the map is reported to the
//!   vIOMMU's vEVENTQ of type `IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV`, as upstream's
//!   `tegra241_vintf_user_handle_error()` does. Once the guest acknowledges (`GERRORN` =
//!   `GERROR`), the bit clears and the queue fetches again from `CONS`.
//!
//! The hardware puts the VINTF's VMID in the TLB invalidations, and maps an ATC invalidation's
//! virtual stream ID to the physical one through the VINTF's SID slots; one that matches no slot
//! reaches no device and completes without effect.
//!
//! A `PROD` more than a queue ahead of `CONS` is inconsistent: nothing is consumed until the
//! guest fixes it.

use super::{
    caches::{
        Caches,
        Source, //
    },
    cmd::{
        self,
        Command,
        CERROR_ABT,
        CERROR_ILL, //
    },
    hw::{
        Cmdqv,
        RegPage, //
    },
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
    tunables::Tunables,
    vintf::{
        self,
        CmdqvHw, //
    },
};
use kernel::{
    io::{
        register::Array,
        Io,
        IoLoc, //
    },
    iommu::iommufd::driver::{
        EventReporter,
        QueueMemory, //
    },
    new_mutex,
    prelude::*,
    sync::{
        Arc,
        Mutex, //
    },
    time::{
        delay::fsleep,
        Delta,
        Instant,
        Jiffies,
        Monotonic, //
    },
    uapi,
    workqueue::{
        self,
        impl_has_delayed_work,
        new_delayed_work,
        DelayedWork,
        OwnedQueue,
        WorkItem,
        WQ_UNBOUND, //
    },
};

/// The most commands a queue executes per visit, so that a guest filling its queue delays the
/// other queues by that many commands at most.
pub(crate) const BUDGET: u32 = 256;

/// The polling period while the queues are idle: one jiffy.
pub(crate) const POLL_JIFFIES: Jiffies = 1;

/// How long the engine keeps visiting often after it last executed a command: long enough for
/// a guest to notice `CONS` and write more, even when it shares the CPU with the engine and a
/// short sleep lasts a few hundred microseconds (as under QEMU's TCG).
pub(crate) const HOT: Delta = Delta::from_millis(2);

/// How often the engine visits while hot: it sleeps this long between visits that executed
/// nothing, so that a guest sharing the CPU gets to write more.
pub(crate) const HOT_PERIOD: Delta = Delta::from_micros(10);

/// The longest the engine visits in one run of its work item.
pub(crate) const RUN_MAX: Delta = Delta::from_millis(1);

/// The size of a command, in bytes.
const CMD_SIZE: usize = 16;

/// An LVCMDQ with a HW queue, as the engine visits it.
pub(crate) struct EngineQueue {
    /// The VINTF.
    vintf: usize,
    /// The LVCMDQ in the VINTF.
    lvcmdq: u32,
    /// The queue's guest memory.
    memory: QueueMemory,
    /// The vIOMMU's events.
    events: EventReporter,
    /// The queue's bit is set in its VINTF's error map.
    in_error: bool,
    /// The registers the hardware owns, as it set them last.
    cons: LVCMDQ_CONS,
    status: LVCMDQ_STATUS,
    gerror: LVCMDQ_GERROR,
}

impl EngineQueue {
    /// LVCMDQ `lvcmdq` of VINTF `vintf`, just reset, with its memory and its vIOMMU's events.
    pub(crate) fn new(
        vintf: usize,
        lvcmdq: u32,
        memory: QueueMemory,
        events: EventReporter,
    ) -> Self {
        Self {
            vintf,
            lvcmdq,
            memory,
            events,
            in_error: false,
            cons: LVCMDQ_CONS::zeroed(),
            status: LVCMDQ_STATUS::zeroed(),
            gerror: LVCMDQ_GERROR::zeroed(),
        }
    }
}

/// The engine's state.
struct State {
    queues: KVec<EngineQueue>,
    /// The polling work is queued or running, and will queue itself again while there are
    /// queues.
    armed: bool,
    /// When a visit last executed a command.
    busy: Option<Instant<Monotonic>>,
}

/// The engine of a CMDQV: see the module's documentation.
#[pin_data]
pub(crate) struct Engine {
    hw: Arc<Cmdqv>,
    caches: Arc<Caches>,
    tunables: Arc<Tunables>,
    /// The SID slots of each VINTF.
    sids: u32,
    #[pin]
    state: Mutex<State>,
    /// The polling, queued while `state.armed`.
    #[pin]
    poll: DelayedWork<Engine>,
    /// Where the polling runs. The engine is stopped ([`Engine::stop`]) before it is dropped.
    wq: OwnedQueue,
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for Engine { self.poll }
}

impl WorkItem for Engine {
    type Pointer = Arc<Engine>;

    fn run(this: Arc<Engine>) {
        let start = Instant::<Monotonic>::now();
        let delay = loop {
            let Some((executed, busy)) = this.visit_all() else {
                // No queue left: disarmed.
                return;
            };
            let hot = busy.is_some_and(|busy| busy.elapsed() < HOT);
            let idle_poll = this.tunables.idle_poll();
            if !hot && idle_poll.is_none() {
                break POLL_JIFFIES;
            }
            if start.elapsed() >= RUN_MAX {
                // Busy still: let the other work items of the CPU run first.
                break 0;
            }
            if executed == 0 {
                fsleep(match idle_poll {
                    Some(period) if !hot => period,
                    _ => HOT_PERIOD,
                });
            }
        };
        // Fails only while the module stops the engine (`stop`).
        let engine = this.clone();
        let _ = engine.wq.enqueue_delayed(this, delay);
    }
}

impl Engine {
    /// An idle engine for `hw`, whose VINTFs have `sids` SID slots each, executing into
    /// `caches`, as `tunables` say.
    pub(crate) fn new(
        hw: Arc<Cmdqv>,
        caches: Arc<Caches>,
        tunables: Arc<Tunables>,
        sids: u32,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                hw,
                caches,
                tunables,
                sids,
                state <- new_mutex!(State {
                    queues: KVec::new(),
                    armed: false,
                    busy: None,
                }),
                poll <- new_delayed_work!("tegra241_cmdqv_emu::engine"),
                wq: OwnedQueue::new(c"tegra241_cmdqv_emu", WQ_UNBOUND, 1)?,
            }),
            GFP_KERNEL,
        )
    }

    /// Has the engine visit `queue`, starting it if it is idle. The queue has just been reset:
    /// disabled, `CONS` zero and its error acknowledged, so `GERROR` is as the reset left it.
    pub(crate) fn add(self: &Arc<Self>, mut queue: EngineQueue) -> Result {
        let (page0, _) = self.hw.vintf_pages(queue.vintf).ok_or(EINVAL)?;
        let gerrorn = LVCMDQ_GERRORN::try_at(queue.lvcmdq as usize).ok_or(EINVAL)?;
        queue.gerror = LVCMDQ_GERROR::zeroed().with_cmdq_err(page0.read(gerrorn).cmdq_err());
        let mut state = self.state.lock();
        state.queues.push(queue, GFP_KERNEL)?;
        if !state.armed {
            state.armed = true;
            // Not queued, as not armed.
            let _ = self.wq.enqueue_delayed(self.clone(), POLL_JIFFIES);
        }
        Ok(())
    }

    /// Stops the engine's visits of LVCMDQ `lvcmdq` of VINTF `vintf`: when this returns, no
    /// visit is in progress or will come.
    pub(crate) fn remove(&self, vintf: usize, lvcmdq: u32) {
        self.state.lock().queues.retain(|q| {
            if q.vintf != vintf || q.lvcmdq != lvcmdq {
                return true;
            }
            // The queue's reset acknowledges its error.
            if q.in_error {
                let _ = set_err_map(&self.hw, q, false);
            }
            false
        });
    }

    /// Stops the engine: when this returns, the polling work is neither queued nor running.
    pub(crate) fn stop(self: &Arc<Self>) {
        workqueue::cancel_delayed_sync(self);
    }

    /// Visits every LVCMDQ, and returns how many commands they executed and when a visit last
    /// executed any; `None`, with the engine disarmed, if no queue is left.
    fn visit_all(&self) -> Option<(u32, Option<Instant<Monotonic>>)> {
        let mut state = self.state.lock();
        let mut executed = 0;
        // A queue whose registers cannot be reached, which the driver's checks rule out, is
        // visited no more.
        state.queues.retain(|queue| match self.visit(queue) {
            Ok(n) => {
                executed += n;
                true
            }
            Err(e) => {
                pr_warn!(
                    "VINTF{} LVCMDQ{}: stopped ({:?})\n",
                    queue.vintf,
                    queue.lvcmdq,
                    e
                );
                false
            }
        });
        if state.queues.is_empty() {
            state.armed = false;
            state.busy = None;
            return None;
        }
        if executed > 0 {
            state.busy = Some(Instant::now());
        }
        Some((executed, state.busy))
    }

    /// Visits an LVCMDQ (see the module's documentation), and returns how many commands it
    /// executed.
    fn visit(&self, queue: &mut EngineQueue) -> Result<u32> {
        let hw = &*self.hw;
        let (page0, page1) = hw.vintf_pages(queue.vintf).ok_or(EINVAL)?;
        let l = queue.lvcmdq as usize;

        let cons_at = || LVCMDQ_CONS::try_at(l).ok_or(EINVAL);
        let gerror_at = || LVCMDQ_GERROR::try_at(l).ok_or(EINVAL);
        let enabled = page0
            .read(LVCMDQ_CONFIG::try_at(l).ok_or(EINVAL)?)
            .cmdq_en();
        // While the queue was disabled, `CONS.RD` was the guest's to write; `ERR` never is.
        let was_enabled = queue.status.enabled();
        if !was_enabled {
            let rd = page0.read(cons_at()?).rd().get();
            queue.cons = queue.cons.try_with_rd(rd)?;
        }
        queue.status = LVCMDQ_STATUS::zeroed().with_enabled(enabled);
        // The hardware's registers as the hardware has them, whatever a guest wrote there;
        // `CONS` only while the hardware owns it: written back while the queue stays disabled,
        // it could undo a guest's write that came after the read above.
        if was_enabled || enabled {
            restore(page0, cons_at, queue.cons)?;
        }
        restore(
            page0,
            || LVCMDQ_STATUS::try_at(l).ok_or(EINVAL),
            queue.status,
        )?;
        restore(page0, gerror_at, queue.gerror)?;
        if !enabled {
            return Ok(0);
        }
        let gerror = queue.gerror.cmdq_err();
        if page0
            .read(LVCMDQ_GERRORN::try_at(l).ok_or(EINVAL)?)
            .cmdq_err()
            != gerror
        {
            return Ok(0);
        }
        if queue.in_error {
            set_err_map(hw, queue, false)?;
            queue.in_error = false;
        }

        let base = page1.read(LVCMDQ_BASE::try_at(l).ok_or(EINVAL)?);
        let ring = Ring::new(base.log2size().get() as u32).ok_or(EINVAL)?;
        let cons_reg = queue.cons;
        let prod = page0.read(LVCMDQ_PROD::try_at(l).ok_or(EINVAL)?).wr().get();
        let mut cons = cons_reg.rd().get();
        // Nothing to fetch, or an inconsistent `PROD`: nothing to do, `CONS` included.
        let Some(pending) = ring.pending(prod, cons).filter(|&n| n > 0) else {
            return Ok(0);
        };
        let vmid = vintf::vmid(hw, queue.vintf).ok_or(EINVAL)?;
        let source = Source::Queue {
            vintf: queue.vintf,
            lvcmdq: queue.lvcmdq,
        };

        // The error the queue stops on, if any.
        let mut error = None;
        let mut executed = 0;
        for _ in 0..pending.min(BUDGET) {
            let mut entry = [0u64; 2];
            let offset = ring.index(cons) as usize * CMD_SIZE;
            if queue.memory.read_u64s(offset, &mut entry).is_err() {
                error = Some(CERROR_ABT);
                break;
            }
            let Some(command) = cmd::decode(entry)
                .filter(Command::in_queue)
                .filter(|_| !self.tunables.take_illegal())
            else {
                error = Some(CERROR_ILL);
                break;
            };
            let psid = command
                .vsid()
                .and_then(|vsid| vintf::match_sid(hw, queue.vintf, self.sids, vsid));
            if let Some(invalidation) = command.issued(vmid, psid) {
                self.caches.invalidate(source, invalidation);
            }
            cons = ring.next(cons);
            executed += 1;
        }

        let err = error.unwrap_or(cons_reg.err().get());
        queue.cons = LVCMDQ_CONS::zeroed().try_with_rd(cons)?.try_with_err(err)?;
        page0.write(cons_at()?, queue.cons);
        if error.is_some() {
            let event = uapi::iommu_vevent_tegra241_cmdqv {
                lvcmdq_err_map: set_err_map(hw, queue, true)?.map(u64::to_le),
            };
            queue.in_error = true;
            // Without a vEVENTQ (`ENODEV`), or without memory for the event, it is lost, as the
            // vEVENTQ would count it. Reported before GERROR toggles, as an interrupt would be.
            let _ = queue.events.report(
                uapi::iommu_veventq_type_IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV,
                &event,
            );
            queue.gerror = LVCMDQ_GERROR::zeroed().with_cmdq_err(!gerror);
            page0.write(gerror_at()?, queue.gerror);
        }
        Ok(executed)
    }
}

/// Writes `value` to the register of `page` that `at` locates, unless it holds that already.
fn restore<T, L>(page: &RegPage, at: impl Fn() -> Result<L>, value: T) -> Result
where
    L: IoLoc<T, IoType = u32>,
    T: Copy,
    u32: From<T>,
{
    let current: T = page.read(at()?);
    if u32::from(current) != u32::from(value) {
        page.write(at()?, value);
    }
    Ok(())
}

/// Sets or clears the bit of `queue`'s LVCMDQ in its VINTF's error map, and returns the map.
fn set_err_map(hw: &Cmdqv, queue: &EngineQueue, error: bool) -> Result<[u64; 2]> {
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
