//! The COPY stream: rows in text format, sent in batches, with progress on stderr.

#[allow(unused_imports)]
use super::*;

/// Text COPY format: tab-separated, `\N` for NULL. Values never contain tabs,
/// newlines or backslashes (they are generated), but are escaped anyway.
pub(super) struct Line<'a>(&'a mut String, bool);

impl Line<'_> {
    pub(super) fn text(&mut self, v: &str) -> &mut Self {
        if self.1 {
            self.0.push('\t');
        }
        self.1 = true;
        for c in v.chars() {
            match c {
                '\\' => self.0.push_str("\\\\"),
                '\t' => self.0.push_str("\\t"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                c => self.0.push(c),
            }
        }
        self
    }
    pub(super) fn opt(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.text(v),
            None => {
                if self.1 {
                    self.0.push('\t');
                }
                self.1 = true;
                self.0.push_str("\\N");
                self
            }
        }
    }
    pub(super) fn end(&mut self) {
        self.0.push('\n');
    }
    /// The common tail of the customer tables: empty metadata, created and
    /// updated at `created`; ends the row.
    pub(super) fn stamps(&mut self, created: &str) {
        self.text("{}").text(created).text(created).end();
    }
}

pub(super) fn line(buf: &mut String) -> Line<'_> {
    Line(buf, false)
}

/// Progress on stderr: a live line on a terminal, a line per quarter otherwise.
pub(super) struct Progress {
    on: bool,
    tty: bool,
    table: &'static str,
    total: u64,
    started: Instant,
    last: Instant,
    quarter: u64,
}

impl Progress {
    pub(super) fn new(on: bool, table: &'static str, total: u64) -> Self {
        Self {
            on,
            tty: std::io::stderr().is_terminal(),
            table,
            total,
            started: Instant::now(),
            last: Instant::now(),
            quarter: 0,
        }
    }

    pub(super) fn line(&self, done: u64) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-6);
        format!(
            "  {:<22} {:>10} / {:<10} {:>3}%  {:>8.0} rows/s",
            self.table,
            done,
            self.total,
            done * 100 / self.total.max(1),
            done as f64 / secs
        )
    }

    pub(super) fn tick(&mut self, done: u64) {
        if !self.on {
            return;
        }
        if self.tty {
            if self.last.elapsed() > Duration::from_millis(250) {
                eprint!("\r{}", self.line(done));
                self.last = Instant::now();
            }
        } else {
            let q = done * 4 / self.total.max(1);
            if q > self.quarter && q < 4 {
                self.quarter = q;
                eprintln!("{}", self.line(done));
            }
        }
    }

    pub(super) fn done(&self) {
        if self.on {
            if self.tty {
                eprint!("\r");
            }
            eprintln!("{}", self.line(self.total));
        }
    }
}

pub(super) const BATCH_BYTES: usize = 4 << 20;

/// Streams `rows` rows made by `row` into `COPY table (columns)`.
pub(super) async fn copy(
    pool: &PgPool,
    table: &'static str,
    columns: &str,
    rows: u64,
    progress: bool,
    mut row: impl FnMut(u64, &mut String),
) -> Result<u64, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut copy = conn
        .copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN"))
        .await?;
    let mut buf = String::with_capacity(BATCH_BYTES + 4096);
    let mut p = Progress::new(progress, table, rows);
    for i in 0..rows {
        row(i, &mut buf);
        if buf.len() >= BATCH_BYTES {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
            p.tick(i + 1);
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_bytes()).await?;
    }
    let n = copy.finish().await?;
    p.done();
    Ok(n)
}
