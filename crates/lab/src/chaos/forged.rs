//! Forged and abusive webhook deliveries: all refused, nothing stored, no provider called.

#[allow(unused_imports)]
use super::*;

/// One forged or abusive delivery, and the status it must get.
struct Forgery {
    kind: &'static str,
    body: Vec<u8>,
    secret: Option<&'static str>,
    expected: u16,
}

fn forgeries(sim: &SimHandle) -> anyhow::Result<Vec<Forgery>> {
    let leads = sim.state.leads();
    let event = |i: usize| {
        let mut e = c2s_sim::render::c2s_lead(&leads[i % leads.len()]);
        e["hook_action"] = serde_json::json!("on_create_lead");
        e
    };
    let many = |n: usize| {
        let batch: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                let mut e = event(i);
                e["id"] = serde_json::json!(format!("{:032x}", i + 1));
                e
            })
            .collect();
        serde_json::to_vec(&batch)
    };
    let one = serde_json::to_vec(&event(0))?;
    let mut long_key = event(0);
    long_key["attributes"]["updated_at"] = serde_json::json!("2".repeat(4096));
    let mut huge = event(0);
    huge["attributes"]["description"] = serde_json::json!("x".repeat(600 * 1024));
    let signed = Some(support::WEBHOOK_SECRET);
    Ok(vec![
        Forgery {
            kind: "unsigned",
            body: one.clone(),
            secret: None,
            expected: 401,
        },
        Forgery {
            kind: "wrong-secret",
            body: one.clone(),
            secret: Some("guess"),
            expected: 401,
        },
        Forgery {
            kind: "oversized-body",
            body: serde_json::to_vec(&huge)?,
            secret: signed,
            expected: 413,
        },
        Forgery {
            kind: "1000-events",
            body: many(1000)?,
            secret: signed,
            expected: 413,
        },
        Forgery {
            kind: "101-events",
            body: many(101)?,
            secret: signed,
            expected: 413,
        },
        Forgery {
            kind: "oversized-key",
            body: serde_json::to_vec(&long_key)?,
            secret: signed,
            expected: 400,
        },
        Forgery {
            kind: "not-json",
            body: b"{\"hook_action\": \"on_create_lead\", ".to_vec(),
            secret: signed,
            expected: 400,
        },
        Forgery {
            kind: "bad-lead-id",
            body: br#"{"hook_action":"on_create_lead","id":"../../etc/passwd","attributes":{}}"#
                .to_vec(),
            secret: signed,
            expected: 400,
        },
        Forgery {
            kind: "unknown-action",
            body: serde_json::to_vec(&{
                let mut e = event(0);
                e["hook_action"] = serde_json::json!("on_delete_everything");
                e
            })?,
            secret: signed,
            expected: 400,
        },
        Forgery {
            kind: "empty-batch",
            body: b"[]".to_vec(),
            secret: signed,
            expected: 400,
        },
    ])
}

/// Sends each forgery `rounds` times at once; how many were sent, and each
/// answer that was not the refusal expected.
async fn deliver_forgeries(
    url: &str,
    forgeries: Vec<Forgery>,
    rounds: usize,
) -> anyhow::Result<(usize, Vec<String>)> {
    let http = reqwest::Client::new();
    let mut sent = 0usize;
    let mut wrong = Vec::new();
    for f in forgeries {
        let mut tasks = Vec::new();
        for _ in 0..rounds {
            let mut rb = http
                .post(url)
                .header("content-type", "application/json")
                .body(f.body.clone());
            if let Some(s) = f.secret {
                rb = rb.header("x-webhook-token", s);
            }
            tasks.push(tokio::spawn(async move {
                rb.send().await.map(|r| r.status().as_u16())
            }));
        }
        for t in tasks {
            sent += 1;
            // An oversized body may be cut off mid-upload: a refused
            // connection is a refusal too.
            match t.await? {
                Ok(s) if s == f.expected => {}
                Ok(s) => wrong.push(format!("{}: {s} (expected {})", f.kind, f.expected)),
                Err(e) if f.expected == 413 && (e.is_request() || e.is_body()) => {}
                Err(e) => wrong.push(format!("{}: {e}", f.kind)),
            }
        }
    }
    wrong.dedup();
    Ok((sent, wrong))
}

/// Unsigned, wrong-secret, oversized, 1,000-event and malformed deliveries,
/// each many times over: all refused with the right status, nothing stored,
/// no provider called — and a genuine delivery afterwards still accepted.
pub async fn forged(server: &Server, o: &ChaosOptions) -> anyhow::Result<Outcome> {
    let sim = c2s_sim::start(sandbox(o, 5)).await?;
    let db = server.scratch("chaos_forged").await?;
    c2s_enrich::db::migrate_up(&db.pool).await?;
    let env = support::sim_env(&sim);
    let started = Instant::now();
    let child = Child::serve(&env, &db.url, &["--concurrency", "4"]).await?;
    let url = format!("{}/api/v1/webhooks/c2s", child.base);
    let rounds = (o.leads / 10).max(1);
    let (sent, wrong) = deliver_forgeries(&url, forgeries(&sim)?, rounds).await?;
    let stored: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM enrich.webhook_events), (SELECT count(*) FROM enrich.jobs),
                (SELECT count(*) FROM enrich.leads)",
    )
    .fetch_one(&db.pool)
    .await?;
    // Calls the deliveries could have caused: the reconciliation sweep's own
    // listing of C2S (it runs at start, whatever arrives) is not one of them.
    let calls = sim
        .state
        .journal()
        .calls
        .iter()
        .filter(|c| !(c.provider == "c2s" && c.operation == "list_leads"))
        .count();
    let ready = reqwest::get(format!("{}/health/ready", child.base))
        .await
        .is_ok_and(|r| r.status().is_success());
    // A genuine, signed delivery is still accepted.
    let genuine = burst(
        &sim,
        &child.base,
        Some(vec![sim.state.leads()[0].id.clone()]),
    )
    .await?;
    child.stop().await;
    anyhow::ensure!(
        wrong.is_empty(),
        "deliveries not refused as they should be:\n  {}",
        wrong.join("\n  ")
    );
    anyhow::ensure!(
        stored == (0, 0, 0),
        "forged deliveries left rows behind: {} events, {} jobs, {} leads",
        stored.0,
        stored.1,
        stored.2
    );
    anyhow::ensure!(
        calls == 0,
        "forged deliveries caused {calls} provider calls"
    );
    anyhow::ensure!(
        ready,
        "the service was not ready after the forged deliveries"
    );
    anyhow::ensure!(
        genuine.statuses.get(&202) == Some(&1),
        "a genuine delivery afterwards was not accepted: {genuine:?}"
    );
    let mut out = outcome("forged", o, started, 0, calls);
    out.details.insert("forged_deliveries", sent as f64);
    out.details.insert("kinds", 10.0);
    server.done(db).await?;
    Ok(out)
}
