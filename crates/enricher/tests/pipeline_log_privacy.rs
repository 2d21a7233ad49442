//! A full pipeline run (webhook → worker → providers → store → note, with a
//! provider failure retried) logs no CPF, phone, e-mail or name in clear. Alone in
//! its binary: tracing's interest cache is process-wide.

// A lead's whole run, awaited inside the worker or the bench, is a future
// type nested deeper than the default limit of 128 lets the compiler lay out.
#![recursion_limit = "256"]

use std::sync::Arc;

use c2s_enrich::pipeline::worker::{self, WorkerOptions, ENRICH_LEAD};
use c2s_enrich::store::jobs::{self, NewJob};
use c2s_lab::testing::capture_logs;
use c2s_lab::testing::sandbox::setup;
use c2s_sim::Faults;

#[tokio::test]
async fn a_full_pipeline_run_logs_no_personal_data() {
    let (guard, logs) = capture_logs();
    let (sim, test, pipeline) = setup().await;
    let pipeline = Arc::new(pipeline);
    let leads = sim.state.leads();
    for (i, lead) in leads.iter().take(10).enumerate() {
        let key = format!("privacy:{i}");
        let job = NewJob {
            kind: ENRICH_LEAD,
            job_key: Some(&key),
            lead_id: Some(&lead.id),
            payload: serde_json::json!({"lead_id": lead.id}),
            max_attempts: 5,
        };
        jobs::enqueue(&test.pool, &job).await.expect("enqueue");
    }
    sim.state.set_faults(
        "diretrix",
        Faults {
            fail_next: 2,
            ..Faults::default()
        },
    );
    let done = worker::drain(
        &pipeline,
        &WorkerOptions {
            id: "w".into(),
            ..WorkerOptions::default()
        },
    )
    .await
    .expect("drain");
    assert_eq!(done.len(), 10);
    drop(guard);
    let text = logs.text();
    assert!(text.contains("lead completed"), "the run was logged");
    assert!(text.contains("retrying"), "the failure was logged");

    let mut secrets: Vec<String> = Vec::new();
    for lead in leads.iter().take(10) {
        secrets.extend(lead.phone.iter().cloned());
        secrets.extend(lead.email.iter().cloned());
        secrets.push(lead.name.clone());
        if let Some(i) = lead.person {
            let p = &sim.state.population.people[i];
            secrets.push(p.cpf.digits().to_owned());
            secrets.push(p.cpf.to_string());
            secrets.push(p.name.clone());
            secrets.extend(p.phones.iter().map(|ph| ph.phone.national().to_owned()));
            secrets.extend(p.emails.iter().map(|e| e.as_str().to_owned()));
        }
    }
    for s in secrets.iter().filter(|s| s.len() >= 6) {
        assert!(
            !text.contains(s.as_str()),
            "personal data in the logs: {s:?}"
        );
    }
}
