//! A real SMTP server for the alert tests: Python's `aiosmtpd` (installed by
//! `.ci/run`), writing what it receives into a Maildir of its own. Not a
//! mock of SMTP: lettre speaks the protocol to a server that implements it.

use std::path::PathBuf;
use std::time::Duration;

/// A running `aiosmtpd`; stopped and its mail removed when dropped.
#[derive(Debug)]
pub struct SmtpServer {
    pub port: u16,
    dir: PathBuf,
    _child: tokio::process::Child,
}

impl SmtpServer {
    /// Starts one on a free loopback port. `None` when `aiosmtpd` is not
    /// installed — unless `C2S_REQUIRE_SMTP` is set (CI), when that panics.
    pub async fn start() -> Option<Self> {
        let installed = std::process::Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(
                std::env::var_os("C2S_REQUIRE_SMTP").is_none(),
                "C2S_REQUIRE_SMTP is set but Python's aiosmtpd is not installed (pip install aiosmtpd)"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("c2s-smtp-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("mail dir");
        let maildir = dir.join("maildir");
        let child = tokio::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start aiosmtpd");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(Self {
                    port,
                    dir,
                    _child: child,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not listen on {port} within 10 s");
    }

    /// Every message received so far, decoded by Python's `email` package
    /// (headers in clear, the body's transfer encoding undone).
    pub fn messages(&self) -> Vec<Mail> {
        const READ: &str = r#"
import email, email.policy, json, os, sys
out = []
for sub in ("new", "cur"):
    d = os.path.join(sys.argv[1], sub)
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        with open(os.path.join(d, name), "rb") as f:
            m = email.message_from_binary_file(f, policy=email.policy.default)
        out.append({"from": str(m["from"]), "to": str(m["to"]), "subject": str(m["subject"]),
                    "body": m.get_content(), "raw_headers": "".join(f"{k}: {v}\n" for k, v in m.items())})
print(json.dumps(out))
"#;
        let output = std::process::Command::new("python3")
            .args(["-c", READ])
            .arg(self.dir.join("maildir"))
            .output()
            .expect("python3 reads the mail");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("the mail as JSON")
    }
}

/// One message as the server received it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Mail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Every header, `Name: value` per line.
    pub raw_headers: String,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
