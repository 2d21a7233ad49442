//! `c2s-enrich bench`: every benchmark of the service in one command, each
//! with its baseline measured in the same run, written as Markdown tables
//! (`docs/benchmarks.md`) and JSON. Absolute times depend on the machine; the
//! ratios are the figures.
//!
//! 1. pipeline overhead — end-to-end latency ÷ the critical path's 4·L;
//! 2. throughput (leads/s by worker concurrency) and storage ÷ `COPY`;
//! 3. hardening at scale — probe latency during `migrate` ÷ before;
//! 4. lookup API — requests/s and latency on the scale database;
//! 5. memory — RSS of `serve` idle and at peak;
//! 6. cost — paid calls per lead vs the floor and vs no cache;
//! 7. identity — precision, wrong-person notes and recall on labelled leads,
//!    against the previous release and the earlier service.

pub mod cost;
pub mod cpu;
pub mod hardening;
pub mod identity;
pub mod lookup;
pub mod pipeline;
pub mod statements;
pub mod storage;
pub mod support;
pub mod throughput;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use support::{Machine, Server};

/// What to run and how big.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Scale of the synthetic database for benchmarks 3 and 4.
    pub scale: f64,
    /// Small sizes everywhere (a smoke run: minutes → seconds).
    pub quick: bool,
    /// Only these benchmarks (1..=6); all when empty.
    pub only: Vec<u8>,
    pub markdown: Option<PathBuf>,
    pub json: Option<PathBuf>,
    /// Keep the scratch databases.
    pub keep: bool,
    /// The command line, for the report.
    pub command: String,
}

/// Every result, as written to JSON.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub command: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub seconds: f64,
    pub machine: Machine,
    pub pipeline: Option<pipeline::PipelineResult>,
    pub throughput: Option<throughput::ThroughputResult>,
    pub storage: Option<storage::StorageResult>,
    pub hardening: Option<hardening::HardeningResult>,
    pub lookup: Option<lookup::LookupResult>,
    pub cost: Option<cost::CostResult>,
    #[serde(default)]
    pub identity: Option<identity::IdentityResult>,
}

impl BenchOptions {
    fn wants(&self, n: u8) -> bool {
        self.only.is_empty() || self.only.contains(&n)
    }
}

/// Runs the selected benchmarks against scratch databases on `server`.
pub async fn run(
    server: &Server,
    machine_pool: &sqlx::PgPool,
    o: &BenchOptions,
) -> anyhow::Result<BenchReport> {
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    let machine = Machine::describe(machine_pool).await;
    let q = o.quick;
    let mut report = BenchReport {
        command: o.command.clone(),
        started_at,
        seconds: 0.0,
        machine,
        pipeline: None,
        throughput: None,
        storage: None,
        hardening: None,
        lookup: None,
        cost: None,
        identity: None,
    };
    if o.wants(1) {
        eprintln!("[1] pipeline overhead (L = 50 ms)");
        report.pipeline =
            Some(pipeline::run(server, 50, if q { 5 } else { 20 }, if q { 1 } else { 3 }).await?);
    }
    if o.wants(2) || o.wants(5) {
        eprintln!("[2] throughput (L = 0) and [5] memory");
        let levels: &[usize] = if q { &[1, 4] } else { &[1, 2, 4, 8, 16] };
        report.throughput = Some(throughput::run(server, if q { 30 } else { 200 }, levels).await?);
    }
    if o.wants(2) {
        eprintln!("[2] storage vs COPY");
        report.storage =
            Some(storage::run(server, if q { 30 } else { 300 }, if q { 1 } else { 3 }).await?);
    }
    if o.wants(3) || o.wants(4) {
        eprintln!("[3] hardening at scale {}", o.scale);
        let (h, db) =
            hardening::run(server, o.scale, Duration::from_secs(if q { 2 } else { 10 })).await?;
        report.hardening = Some(h);
        if o.wants(4) {
            eprintln!("[4] lookup API");
            report.lookup =
                Some(lookup::run(&db, 16, Duration::from_secs(if q { 2 } else { 15 })).await?);
        }
        server.done(db).await?;
    }
    if o.wants(6) {
        eprintln!("[6] cost replay");
        report.cost = Some(cost::run(server, if q { 100 } else { 1000 }).await?);
    }
    if o.wants(7) {
        let n = if q { 300 } else { 2000 };
        eprintln!("[7] identity ({n} labelled leads, three policies)");
        report.identity = Some(identity::run(server, n).await?);
    }
    report.seconds = started.elapsed().as_secs_f64();
    write_outputs(o, &report)?;
    Ok(report)
}

/// Writes the JSON and Markdown reports asked for; `--only 7` replaces
/// benchmark 7's figures and section and keeps the others'.
fn write_outputs(o: &BenchOptions, report: &BenchReport) -> anyhow::Result<()> {
    let only_identity = o.only == [7];
    if let Some(path) = &o.json {
        let json = if only_identity {
            // Keep the other benchmarks' last figures; replace benchmark 7's.
            let mut old: serde_json::Value = std::fs::read_to_string(path)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_else(|| serde_json::json!({}));
            old["identity"] = serde_json::to_value(&report.identity)?;
            old
        } else {
            serde_json::to_value(report)?
        };
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
    }
    if let Some(path) = &o.markdown {
        let text = if only_identity {
            let old = std::fs::read_to_string(path).unwrap_or_default();
            replace_identity_section(&old, &identity_markdown(report))
        } else {
            markdown(report)
        };
        std::fs::write(path, text)?;
    }
    Ok(())
}

/// `docs/benchmarks.md`.
pub fn markdown(r: &BenchReport) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(
        s,
        "# Benchmarks\n\nMade by `{}` on {} ({:.0} s in all; reproduce with `cargo run --release -p c2s-enrich -- bench`, against `DATABASE_URL` or the embedded default). Absolute times are this machine's; **the ratios are the figures** — each against a baseline measured in the same run.\n",
        r.command,
        r.started_at.format("%Y-%m-%d %H:%M UTC"),
        r.seconds
    );
    let _ = writeln!(
        s,
        "| machine | |\n|---|---|\n| CPU | {} ({} cores) |\n| memory | {} GiB |\n| OS | {} |\n| database | {} |\n| build | c2s-enrich {} ({}) |\n",
        m.cpu, m.cores, m.memory_gib, m.os, m.postgres, m.version, m.build
    );
    if let Some(p) = &r.pipeline {
        pipeline_section(&mut s, p);
    }
    if let Some(t) = &r.throughput {
        throughput::markdown(&mut s, t);
    }
    if let Some(st) = &r.storage {
        storage_section(&mut s, st);
    }
    if let Some(h) = &r.hardening {
        hardening_section(&mut s, h);
    }
    if let Some(l) = &r.lookup {
        lookup_section(&mut s, l);
    }
    if let Some(t) = &r.throughput {
        memory_section(&mut s, t, r);
    }
    if let Some(c) = &r.cost {
        cost_section(&mut s, c);
    }
    s.push_str(&identity_markdown(r));
    s
}

/// Section 1: the pipeline's overhead over its lower bound 4·L.
fn pipeline_section(s: &mut String, p: &pipeline::PipelineResult) {
    let _ = writeln!(
        s,
        "## 1. Pipeline overhead\n\nEvery sandbox call takes L = {} ms; the critical path's lower bound is 4·L = {} ms (C2S get, one parallel discovery round, one parallel dossier round, the note). `POST /api/v1/c2s/enrich/{{id}}` end to end, sequential requests, {} round(s), medians of the per-round ratios.\n\n| lead | requests | p50 | p99 | **p50 ÷ 4·L** | **p99 ÷ 4·L** |\n|---|---|---|---|---|---|\n| phone and e-mail → one person | {} | {:.0} ms | {:.0} ms | **{:.2}** | **{:.2}** |\n| phone and e-mail → two persons | {} | {:.0} ms | {:.0} ms | **{:.2}** | **{:.2}** |\n",
        p.latency_ms, p.lower_bound_ms, p.rounds,
        p.one_person.n, p.one_person.p50_ms, p.one_person.p99_ms, p.one_person_p50_ratio, p.one_person_p99_ratio,
        p.two_persons.n, p.two_persons.p50_ms, p.two_persons.p99_ms, p.two_persons_p50_ratio, p.two_persons_p99_ratio
    );
    pipeline::breakdown(s, p);
}

/// Section 2, continued: storing dossiers against `COPY` of the same rows.
fn storage_section(s: &mut String, st: &storage::StorageResult) {
    let _ = writeln!(
        s,
        "### Storage vs COPY\n\n`store_dossier` (one transaction per person, advisory locks, upserts) for {} distinct fixture-sized dossiers ({:.1} rows each: person, relatives, companies, phones, e-mails, addresses, links, snapshot), against `COPY` of exactly those rows into the same tables; medians of {} round(s).\n\n| path | persons/s |\n|---|---|\n| store_dossier | {:.0} |\n| COPY (physical limit) | {:.0} |\n| **store ÷ COPY (time)** | **{:.1}×** |\n\nStatements per dossier stored, `BEGIN` and `COMMIT` included (one round trip each; counted on the client): **{:.1}**.\n",
        st.persons, st.rows_per_person, st.rounds, st.store_persons_per_second, st.copy_persons_per_second, st.store_over_copy, st.statements_per_dossier
    );
}

/// Section 3: the hardening's effect on a probe, and its slowest moments.
fn hardening_section(s: &mut String, h: &hardening::HardeningResult) {
    let _ = writeln!(
        s,
        "## 3. Hardening at scale {}\n\n`synth --legacy --scale {}` ({} rows in {:.0} s), then `migrate` while a probe reads (by primary key) and writes `core.entity_phones` and `core.addresses` every 10 ms, each write its own transaction.\n\n| | probes | p50 | p99 | max | errors |\n|---|---|---|---|---|---|\n| before the migration | {} | {:.1} ms | {:.1} ms | {:.1} ms | – |\n| during the migration ({:.0} s) | {} | {:.1} ms | {:.1} ms | **{:.1} ms** | {} |\n| **during ÷ before** | | | **{:.1}×** | **{:.1}×** | |\n\nRows archived by the hardening (duplicates, phones without DDD, orphans): {}.\n",
        h.scale, h.scale, h.rows, h.synth_seconds,
        h.probe_before.n, h.probe_before.p50_ms, h.probe_before.p99_ms, h.probe_before.max_ms,
        h.migrate_seconds, h.probe_during.n, h.probe_during.p50_ms, h.probe_during.p99_ms, h.probe_during.max_ms, h.probe_errors_during,
        h.p99_ratio, h.max_ratio, h.archived_rows
    );
    if !h.slowest.is_empty() {
        let _ = writeln!(
            s,
            "The slowest probes during the migration, with what `pg_stat_activity` (sampled every 20 ms) showed meanwhile:\n\n| probe | the migration ran | the probe waited on | others |\n|---|---|---|---|"
        );
        let cell = |v: &[String]| {
            if v.is_empty() {
                "–".to_owned()
            } else {
                v.join("; ").replace('|', "\\|")
            }
        };
        for st in &h.slowest {
            let _ = writeln!(
                s,
                "| {:.0} ms | {} | {} | {} |",
                st.ms,
                cell(&st.migration_statements),
                cell(&st.probe_waits),
                cell(&st.others)
            );
        }
        let _ = writeln!(s);
    }
}

/// Section 4: the lookup API under closed-loop clients.
fn lookup_section(s: &mut String, l: &lookup::LookupResult) {
    let _ = writeln!(
        s,
        "## 4. Lookup API\n\nThe hardened scale database ({} people); `serve --no-worker`; {} closed-loop clients on loopback for {:.0} s per query kind; each answer is a full golden record plus an audit row, committed before the answer (group-committed with the other requests waiting). The floor: the golden-record statement run directly over as many connections, in the same run; beside it, the same reads with their audit rows through the same writer, without HTTP or key checks.\n\n| query | requests/s | p50 | p99 | failed | floor: direct reads/s | floor p99 | direct reads + audit/s | their p99 | **API ÷ floor (time)** |\n|---|---|---|---|---|---|---|---|---|---|",
        l.entities, l.concurrency, l.seconds
    );
    for e in &l.endpoints {
        let _ = writeln!(
            s,
            "| `?{}=` | {:.0} | {:.1} ms | {:.1} ms | {} | {:.0} | {:.1} ms | {:.0} | {:.1} ms | **{:.2}×** |",
            e.query,
            e.requests_per_second,
            e.latency.p50_ms,
            e.latency.p99_ms,
            e.failed,
            e.floor_per_second,
            e.floor_latency.p99_ms,
            e.audited_per_second,
            e.audited_latency.p99_ms,
            e.api_over_floor
        );
    }
    let _ = writeln!(
        s,
        "\nWhere the time goes: CPU milliseconds per request, by process (the three share the machine's 2 cores; the load generator is the benchmark itself).\n\n| query | API: `serve` | API: PostgreSQL | API: load generator | direct read: PostgreSQL | direct read: client |\n|---|---|---|---|---|---|"
    );
    for e in &l.endpoints {
        let _ = writeln!(
            s,
            "| `?{}=` | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            e.query,
            e.api_cpu_ms.service,
            e.api_cpu_ms.postgres,
            e.api_cpu_ms.client,
            e.floor_cpu_ms.postgres,
            e.floor_cpu_ms.client
        );
    }
    s.push('\n');
}

/// Section 5: the `serve` process's memory.
fn memory_section(s: &mut String, t: &throughput::ThroughputResult, r: &BenchReport) {
    let _ = writeln!(
        s,
        "## 5. Memory\n\n| `serve` process | RSS |\n|---|---|\n| idle (after start) | {:.0} MiB |\n| peak during benchmark 2 | {:.0} MiB |{}\n",
        t.idle_rss_mib,
        t.peak_rss_mib,
        r.lookup.as_ref().map(|l| format!("\n| after the lookup benchmark | {:.0} MiB |", l.serve_rss_mib)).unwrap_or_default()
    );
}

/// Section 6: paid calls against the floor and against no cache.
fn cost_section(s: &mut String, c: &cost::CostResult) {
    let _ = writeln!(
        s,
        "## 6. Cost\n\n{} leads, {:.0} % of them repeating the contacts of an earlier lead ({} distinct people). Paid calls = Diretrix and Work API requests the sandbox answered.\n\n| policy | paid calls | per lead | credits |\n|---|---|---|---|\n| floor (distinct lookups) | {} | {:.2} | – |\n| **ours** (ledger + database first) | {} | **{:.2}** | {} |\n| naive (no cache) | {} | {:.2} | {} |\n\n**ours ÷ floor = {:.2}**; naive ÷ ours = {:.2}.\n",
        c.leads, c.repeat_share * 100.0, c.distinct_people,
        c.floor_calls, c.floor_calls as f64 / c.leads as f64,
        c.ours.paid_calls, c.ours.paid_calls_per_lead, c.ours.credits,
        c.naive.paid_calls, c.naive.paid_calls_per_lead, c.naive.credits,
        c.ours_over_floor, c.naive_over_ours
    );
    if c.modes.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "`DISCOVERY_MODE`: {} leads of distinct people (nothing cached), every sandbox call taking {} ms, a fresh database per mode, one lead after another (`Pipeline::process`).\n\n| mode | paid calls per lead | leads presenting someone | p50 | p99 |\n|---|---|---|---|---|",
        c.modes[0].leads, c.mode_latency_ms
    );
    for m in &c.modes {
        let _ = writeln!(
            s,
            "| {} | {:.2} | {} | {:.0} ms | {:.0} ms |",
            m.mode, m.paid_calls_per_lead, m.presented, m.p50_ms, m.p99_ms
        );
    }
    s.push('\n');
}

const IDENTITY_START: &str = "<!-- benchmark 7: identity -->";
const IDENTITY_END: &str = "<!-- /benchmark 7 -->";

/// Benchmark 7's wrong-person notes by confounder, per policy.
fn confounder_table(s: &mut String, i: &identity::IdentityResult) {
    let kinds: std::collections::BTreeSet<&String> = [
        &i.ours,
        &i.ours_waterfall,
        &i.previous_release,
        &i.earlier_service,
    ]
    .iter()
    .flat_map(|p| p.wrong_by_confounder.keys())
    .collect();
    if !kinds.is_empty() {
        let _ = writeln!(s, "\nWrong-person notes by confounder (a lead can carry several):\n\n| confounder | ours | ours, waterfall | previous release | earlier service |\n|---|---|---|---|---|");
        for k in kinds {
            let n = |p: &identity::PolicyResult| p.wrong_by_confounder.get(k).copied().unwrap_or(0);
            let _ = writeln!(
                s,
                "| {k} | {} | {} | {} | {} |",
                n(&i.ours),
                n(&i.ours_waterfall),
                n(&i.previous_release),
                n(&i.earlier_service)
            );
        }
    }
}

/// Benchmark 7's section, between markers (so `--only 7` can replace it).
pub fn identity_markdown(r: &BenchReport) -> String {
    let Some(i) = &r.identity else {
        return String::new();
    };
    let mut s = String::new();
    let _ = writeln!(s, "{IDENTITY_START}");
    let _ = writeln!(
        s,
        "## 7. Identity\n\n{} labelled leads of the sandbox's labelled world (seed {}; `c2s-sim --world labelled`) through the real pipeline (`Pipeline::process`, sandbox over HTTP, fresh database per policy), each note judged against the truth: **precision** = notes presenting only the lead ÷ notes presenting anyone in full; **wrong-person notes** = notes presenting someone who is not the lead (a stranger's data); **recall** = resolvable leads whose note presents the lead ÷ resolvable leads; paid calls = Diretrix + Work API calls answered. Made by `{}` on {}. Baselines in the same run: the release before the identity model (name as tie-breaker only, any stored person listing the contact) and the earlier service (first result of the phone lookup, no name check). `C2S_BENCH_EXPLAIN=1` prints every wrong-person note and missed lead of each policy with the model's recorded reasons; `c2s-enrich identity-weights --explain` shows the relatives the model must tell from the lead; `C2S_BENCH_IDENTITY_SEED=N` draws another world.\n",
        i.leads,
        i.seed,
        r.command,
        r.started_at.format("%Y-%m-%d %H:%M UTC"),
    );
    let conf: Vec<String> = i
        .confounders
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(s, "Confounders among the leads: {}.\n", conf.join(", "));
    let _ = writeln!(
        s,
        "| policy | precision | wrong-person notes | recall | paid calls / lead |\n|---|---|---|---|---|"
    );
    for (label, p) in [
        ("**ours** (evidence model)", &i.ours),
        ("ours, `DISCOVERY_MODE=waterfall`", &i.ours_waterfall),
        ("previous release", &i.previous_release),
        ("earlier service", &i.earlier_service),
    ] {
        let _ = writeln!(
            s,
            "| {label} | {:.1} % ({}/{}) | {} | {:.1} % ({}/{}) | {:.2} |",
            100.0 * p.precision,
            p.correct,
            p.presenting,
            p.wrong_person_notes,
            100.0 * p.recall,
            p.resolved,
            p.resolvable,
            p.paid_calls_per_lead
        );
    }
    confounder_table(&mut s, i);
    let _ = writeln!(
        s,
        "\nPaid calls: ours ÷ previous release = **{:.2}**.",
        i.ours.paid_calls_per_lead / i.previous_release.paid_calls_per_lead.max(1e-9)
    );
    let _ = writeln!(s, "{IDENTITY_END}");
    s
}

fn replace_identity_section(old: &str, section: &str) -> String {
    match (old.find(IDENTITY_START), old.find(IDENTITY_END)) {
        (Some(a), Some(b)) if b > a => {
            let end = b + IDENTITY_END.len();
            let rest = old[end..].strip_prefix('\n').unwrap_or(&old[end..]);
            format!("{}{section}{rest}", &old[..a])
        }
        _ => format!("{}\n{section}", old.trim_end()),
    }
}
