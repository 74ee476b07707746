//! [`ProcessUsage`]: this process's CPU time and resident memory, read from `/proc/self` (Linux).
//! Two readings give the bot's own CPU cores over a window, so a report can separate the bot's
//! cost from the server's.

use std::time::Instant;

/// One reading of this process's resource use.
#[derive(Debug, Clone, Copy)]
pub struct ProcessUsage {
    pub at: Instant,
    /// User + system CPU seconds since the process started (all threads).
    pub cpu_seconds: f64,
    /// The system (kernel) part of `cpu_seconds`: for a network-bound process, mostly TCP.
    pub sys_seconds: f64,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
}

/// Linux reports `/proc/*/stat` times in USER_HZ, which is 100 on every architecture's ABI.
const USER_HZ: f64 = 100.0;

impl ProcessUsage {
    /// Reads `/proc/self/stat` and `/proc/self/status`; `None` where they do not exist.
    pub fn now() -> Option<ProcessUsage> {
        Self::read("/proc/self")
    }

    /// The same for another local process (e.g. the server under test, for CPU time finer than
    /// the whole seconds some Prometheus process collectors export).
    pub fn of_pid(pid: u32) -> Option<ProcessUsage> {
        Self::read(&format!("/proc/{pid}"))
    }

    fn read(dir: &str) -> Option<ProcessUsage> {
        let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
        let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
        Some(ProcessUsage {
            at: Instant::now(),
            cpu_seconds: parse_cpu_seconds(&stat)?.0,
            sys_seconds: parse_cpu_seconds(&stat)?.1,
            rss_bytes: parse_vm_rss(&status)?,
        })
    }

    /// CPU cores used between `earlier` and `self` (1.0 = one core busy all the time).
    pub fn cores_since(&self, earlier: &ProcessUsage) -> f64 {
        let wall = self.at.saturating_duration_since(earlier.at).as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        (self.cpu_seconds - earlier.cpu_seconds).max(0.0) / wall
    }

    /// The system (kernel) share of [`ProcessUsage::cores_since`].
    pub fn sys_cores_since(&self, earlier: &ProcessUsage) -> f64 {
        let wall = self.at.saturating_duration_since(earlier.at).as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        (self.sys_seconds - earlier.sys_seconds).max(0.0) / wall
    }
}

/// (utime + stime, stime) (fields 14 and 15) of a `/proc/<pid>/stat` line, in seconds. The
/// command name (field 2) may contain spaces and parentheses, so fields are counted after the
/// last `)`.
fn parse_cpu_seconds(stat: &str) -> Option<(f64, f64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace(); // field 3 onwards
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some(((utime + stime) / USER_HZ, stime / USER_HZ))
}

/// The machine's 1-minute load average (`/proc/loadavg`): runnable tasks competing for the CPUs.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The number of CPUs this process may run on.
pub fn cpus() -> Option<usize> {
    std::thread::available_parallelism().ok().map(|n| n.get())
}

/// This process's soft limit on open files (`Max open files` in `/proc/self/limits`); `None`
/// when unknown or unlimited. Each bot holds one socket.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files_limit(&limits)
}

fn parse_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `VmRSS:   1234 kB` of `/proc/<pid>/status`, in bytes.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_with_an_awkward_command_name() {
        let stat = "4242 (tick (cast) bot) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 3 0 100 200 300";
        assert_eq!(parse_cpu_seconds(stat), Some((3.0, 0.5)));
        assert_eq!(
            parse_vm_rss("Name:\tx\nVmRSS:\t  2048 kB\n"),
            Some(2 * 1024 * 1024)
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_open_files_limit(limits), Some(1024));
        assert!(open_files_limit().is_some());
    }

    #[test]
    fn reads_this_process() {
        let u = ProcessUsage::now().expect("linux /proc");
        assert!(u.rss_bytes > 0);
        assert!(u.cpu_seconds >= 0.0);
        let same = ProcessUsage::of_pid(std::process::id()).expect("own pid");
        assert!(same.cpu_seconds >= u.cpu_seconds);
        assert!(ProcessUsage::of_pid(u32::MAX).is_none());
    }
}
