//! The service's black-box tests, one module per area, in one test binary:
//! each test binary links the whole service, and on two cores one link is
//! much cheaper than twenty-five. The two log-privacy tests stay binaries of
//! their own: tracing's interest cache is process-wide, and another test's
//! threads would decide what their capture sees.

mod alerts;
mod api_docs;
mod backfill;
mod browser;
mod budget;
mod console;
mod console_browser;
mod customers;
mod deploy_files;
mod embedded_postgres;
mod erasure;
mod fuzz_regressions;
mod google_ads;
mod hardening;
mod hardening_online;
mod identity;
mod intake;
mod jobs;
mod ledger;
mod migrations;
mod note;
mod operations;
mod pipeline;
mod profile;
mod provider_contracts;
mod provider_policy;
mod reconcile;
mod retries;
mod sim_clients;
mod status_page_browser;
mod store;
mod subject_export;
mod subjects;
mod sync_api;
mod synth;
mod worker;
