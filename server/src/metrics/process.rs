//! The `prometheus` crate's process collector, with `process_cpu_seconds_total` made exact.
//! [`super::Metrics`] registers it; `GET /metrics` collects it with everything else.

use prometheus::core::{Collector, Desc};
use prometheus::process_collector::ProcessCollector;
use prometheus::proto::{Counter, MetricFamily};

/// The crate's collector exports CPU time as an integer counter, truncated to whole seconds,
/// which makes short load-test windows read 0 or 1 s. This wrapper keeps every other process
/// metric as the crate computes it and overwrites that one with `(utime + stime) / CLK_TCK`
/// as a float, read from `/proc/self/stat`.
#[derive(Debug)]
pub struct PreciseProcessCollector {
    inner: ProcessCollector,
    ticks_per_second: f64,
}

impl PreciseProcessCollector {
    pub fn new() -> Self {
        // SAFETY: sysconf has no preconditions.
        let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        PreciseProcessCollector {
            inner: ProcessCollector::for_self(),
            ticks_per_second: if tck > 0 { tck as f64 } else { 100.0 },
        }
    }

    pub(super) fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may contain spaces) start after the last ')'.
        let rest = &stat[stat.rfind(')')? + 2..];
        let mut fields = rest.split(' ');
        // rest starts at field 3 (state); utime and stime are fields 14 and 15.
        let utime: u64 = fields.nth(11)?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        Some((utime + stime) as f64 / self.ticks_per_second)
    }
}

impl Collector for PreciseProcessCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.inner.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut families = self.inner.collect();
        if let Some(seconds) = self.cpu_seconds() {
            for mf in &mut families {
                if mf.name() == "process_cpu_seconds_total" {
                    for m in mf.mut_metric() {
                        let mut c = Counter::default();
                        c.set_value(seconds);
                        m.set_counter(c);
                    }
                }
            }
        }
        families
    }
}
