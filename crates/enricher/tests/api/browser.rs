//! A real headless Chromium for the page tests: the binary, and a WebDriver
//! session through Debian's `chromedriver` (`fantoccini`), with the page's
//! console log, screenshots kept as CI artefacts, and the `axe-core`
//! accessibility checker injected into the page.
//!
//! Without a browser (a developer machine) the tests say so and pass without
//! checking anything; CI installs `chromium`, `chromium-driver` and the
//! checker (`npm ci` in `tests/browser/`) and sets `C2S_REQUIRE_BROWSER=1`,
//! which turns anything missing into a failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// CI must run the browser tests (no skipping).
pub fn required() -> bool {
    std::env::var("C2S_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

fn first_existing(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Chromium's binary (`C2S_CHROMIUM`, else Debian's or Chrome's usual paths).
pub fn chromium() -> Option<PathBuf> {
    first_existing(
        "C2S_CHROMIUM",
        &[
            "/usr/bin/chromium",
            "/usr/bin/chromium-browser",
            "/usr/bin/google-chrome",
        ],
    )
}

/// `chromedriver` (`C2S_CHROMEDRIVER`, else Debian's path).
pub fn chromedriver() -> Option<PathBuf> {
    first_existing(
        "C2S_CHROMEDRIVER",
        &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
    )
}

/// The accessibility checker's script, installed by `npm ci` in
/// `crates/enricher/tests/browser`.
pub fn axe_script() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(path).ok()
}

/// Where screenshots go: `C2S_ARTIFACTS_DIR` (CI sets it), else the
/// system's temporary directory.
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var("C2S_ARTIFACTS_DIR")
        .map_or_else(
            |_| std::env::temp_dir().join("c2s-artifacts"),
            PathBuf::from,
        )
        .join("console");
    std::fs::create_dir_all(&dir).expect("artifacts directory");
    dir
}

/// The links and buttons whose text is `text`.
fn by_text(text: &str) -> String {
    format!("//a[normalize-space()='{text}'] | //button[normalize-space()='{text}']")
}

/// chromedriver's legacy log endpoint (the page's console messages since
/// the last read); W3C WebDriver has no command for it.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or("")))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

/// A headless Chromium driven through chromedriver; both stop when dropped.
pub struct Browser {
    pub client: Client,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
    pub downloads: tempfile::TempDir,
    axe: Option<String>,
    shots: PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a session; `None` (the
    /// test then skips) when this machine has no browser and CI does not
    /// require one.
    pub async fn start() -> Option<Self> {
        let (Some(chromium), Some(driver)) = (chromium(), chromedriver()) else {
            assert!(
                !required(),
                "C2S_REQUIRE_BROWSER=1 but Chromium or chromedriver is missing (apt-get install chromium chromium-driver)"
            );
            eprintln!("SKIPPED: no Chromium/chromedriver on this machine (Debian: chromium chromium-driver)");
            return None;
        };
        let axe = axe_script();
        assert!(
            axe.is_some() || !required(),
            "C2S_REQUIRE_BROWSER=1 but axe-core is missing (npm ci --prefix crates/enricher/tests/browser)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver started");
        let profile = tempfile::tempdir().expect("profile");
        let downloads = tempfile::tempdir().expect("downloads");
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--no-first-run", "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--window-size=1280,2400", "--lang=pt-BR",
                         format!("--user-data-dir={}", profile.path().display())],
                "prefs": {
                    "download.default_directory": downloads.path(),
                    "download.prompt_for_download": false
                }
            },
            "goog:loggingPrefs": { "browser": "ALL" }
        });
        let Value::Object(caps) = caps else {
            unreachable!("an object")
        };
        let webdriver = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&webdriver)
                .await
            {
                Ok(client) => {
                    return Some(Self {
                        client,
                        _driver: driver,
                        _profile: profile,
                        downloads,
                        axe,
                        shots: artifacts_dir(),
                    })
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session: {last:?}");
    }

    /// Opens `url` and waits for its `h1`.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("navigated");
        self.heading().await;
    }

    /// The page's `h1` (waiting for the page to have one).
    pub async fn heading(&self) -> String {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("h1"))
            .await
            .expect("a heading")
            .text()
            .await
            .expect("text")
    }

    /// The visible text of the page's `main`.
    pub async fn main_text(&self) -> String {
        self.client
            .find(Locator::Css("main"))
            .await
            .expect("main")
            .text()
            .await
            .expect("text")
    }

    /// Clicks the first element matching `css` and waits for the page it
    /// leads to.
    pub async fn click(&self, css: &str) {
        self.click_on(Locator::Css(css)).await;
    }

    /// Clicks the link or button whose text is `text`.
    pub async fn click_text(&self, text: &str) {
        let xpath = by_text(text);
        self.click_on(Locator::XPath(&xpath)).await;
    }

    /// Clicks the link or button whose text is `text` without waiting for
    /// a page (a download).
    pub async fn press(&self, text: &str) {
        let xpath = by_text(text);
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("{text} on the page: {e}"))
            .click()
            .await
            .expect("clicked");
    }

    async fn click_on(&self, at: Locator<'_>) {
        let target = self
            .client
            .find(at)
            .await
            .unwrap_or_else(|e| panic!("{at:?} on the page: {e}"));
        self.leading_to_next_page(async { target.click().await.expect("clicked") })
            .await;
    }

    /// Does `act` (a click, a key) and waits for the page it leads to: the
    /// old document goes stale once the next one has loaded.
    pub async fn leading_to_next_page(&self, act: impl std::future::Future<Output = ()>) {
        let before = self.client.find(Locator::Css("html")).await.expect("page");
        act.await;
        for _ in 0..200 {
            if before.tag_name().await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.heading().await;
    }

    /// The page's console messages since the last call (`level: text`).
    pub async fn console(&self) -> Vec<String> {
        let v = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("browser log");
        v.as_array()
            .unwrap_or_else(|| panic!("the browser log is a list: {v}"))
            .iter()
            .map(|e| format!("{}: {}", e["level"].as_str().unwrap_or("?"), e["message"]))
            .collect()
    }

    /// Saves a screenshot as `name.png` among the artefacts.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 5_000,
            "{name}: {} bytes",
            png.len()
        );
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("screenshot saved");
    }

    /// axe-core's WCAG 2.1 A/AA and best-practice rules on the current page:
    /// the violations (`rule: nodes`), empty when it passes. Skipped (empty)
    /// only where the checker is not installed and CI does not require it.
    pub async fn accessibility(&self) -> Vec<String> {
        let Some(axe) = &self.axe else {
            eprintln!("SKIPPED accessibility check: axe-core not installed");
            return Vec::new();
        };
        self.client
            .execute(axe, vec![])
            .await
            .expect("axe injected");
        let result = self
            .client
            .execute_async(
                r"const done = arguments[arguments.length - 1];
                  axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })
                     .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).slice(0, 5).join(', '))))
                     .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe ran");
        result
            .as_array()
            .unwrap_or_else(|| panic!("axe answers with a list: {result}"))
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect()
    }

    /// Runs `script` in the page (`arguments` empty) and returns its value.
    pub async fn run(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .expect("script ran")
    }
}
