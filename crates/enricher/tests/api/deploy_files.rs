//! The deployment files agree with the service: the region, the health check
//! and metrics paths exist in the router, the image runs as a non-root user and
//! builds what CI builds. (No Docker engine runs here; the build itself is the
//! `cargo build --release --locked` CI-equivalent.)

use std::path::Path;

use c2s_enrich::http::routes;

fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn served(path: &str) -> bool {
    routes()
        .iter()
        .any(|(m, p, _)| *m == axum::http::Method::GET && *p == path)
}

#[test]
fn fly_toml_points_at_real_endpoints_in_sao_paulo() {
    let fly: toml::Value = toml::from_str(&repo_file("fly.toml")).expect("fly.toml parses");
    assert_eq!(fly["primary_region"].as_str(), Some("gru"));
    let service = &fly["http_service"];
    assert_eq!(service["internal_port"].as_integer(), Some(8080));
    assert_eq!(service["auto_stop_machines"].as_str(), Some("off"));
    let check = &service["checks"].as_array().expect("checks")[0];
    let health = check["path"].as_str().expect("health path");
    assert_eq!(health, "/health/ready");
    assert!(served(health));
    // The metrics listener: its own port (METRICS_ADDR), never the public one.
    assert_eq!(fly["metrics"]["path"].as_str(), Some("/metrics"));
    assert!(!served("/metrics"), "/metrics is not a public route");
    let port = fly["metrics"]["port"].as_integer().expect("metrics port");
    assert_ne!(Some(port), service["internal_port"].as_integer());
    let addr: std::net::SocketAddr = fly["env"]["METRICS_ADDR"]
        .as_str()
        .expect("METRICS_ADDR")
        .parse()
        .expect("an address");
    assert_eq!(i64::from(addr.port()), port);
    assert_eq!(
        fly["deploy"]["release_command"].as_str(),
        Some("c2s-enrich migrate")
    );
}

#[test]
fn the_image_is_multi_stage_and_runs_as_a_non_root_user() {
    let docker = repo_file("Dockerfile");
    assert_eq!(docker.lines().filter(|l| l.starts_with("FROM ")).count(), 2);
    // Built without the lab: production never links the provider sandbox.
    assert!(docker.contains("cargo build --release --locked -p c2s-enrich --no-default-features"));
    let user = docker
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "{user}"
    );
    assert!(docker.contains("CMD [\"serve\"]"));
    // The checked queries build offline from the committed query data.
    for copied in ["COPY .cargo ./.cargo", "COPY .sqlx ./.sqlx"] {
        assert!(docker.contains(copied), "the image lacks {copied}");
    }
}
