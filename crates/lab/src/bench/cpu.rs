//! CPU time from /proc (Linux): of one process, and of every PostgreSQL
//! process on the machine — to say which side a benchmark saturates.

/// Clock ticks per second of /proc's times (`getconf CLK_TCK`: 100 on
/// every Linux this runs on).
const TICKS: f64 = 100.0;

/// User + system CPU seconds of `pid` so far (0 when unreadable).
pub fn process_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| ticks(&stat))
        .map_or(0.0, |t| t / TICKS)
}

/// User + system CPU seconds of every process named `postgres` so far
/// (the server and its backends; a backend that exited meanwhile is not
/// counted, so figures are a lower bound).
pub fn postgres_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .filter_map(|stat| ticks(&stat))
        .sum::<f64>()
        / TICKS
}

/// utime + stime from a /proc/<pid>/stat line (fields 14 and 15; the
/// command name in parentheses may hold spaces, so count after it).
fn ticks(stat: &str) -> Option<f64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) is index 11 here.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_stat_line_is_read_past_a_name_with_spaces() {
        let line = "42 (post gres) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 1 1 1";
        assert_eq!(super::ticks(line), Some(300.0));
    }

    #[test]
    fn this_process_has_spent_some_cpu() {
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        assert!(super::process_seconds(std::process::id()) > 0.0);
    }
}
