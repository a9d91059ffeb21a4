//! The `scepter` binary as an operator runs it: serve on the embedded SQLite
//! default, mint a token, use the API, stop with SIGTERM, start again, and
//! find the data still there.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

const BINARY: &str = env!("CARGO_BIN_EXE_scepter");
const ROOT_PEM: &str = include_str!("../../domain/tests/fixtures/root-ca.pem");

fn scepter(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("SCEPTER_JWT_SECRET")
        .env_remove("SCEPTER_JWT_SECRET_FILE")
        .env_remove("SCEPTER_SQLITE_PATH")
        .env_remove("SCEPTER_LISTEN");
    command
}

fn run(dir: &Path, args: &[&str]) -> Output {
    scepter(dir, args).output().expect("run scepter")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(dir: &Path) -> Self {
        let port = free_port();
        let child = scepter(dir, &["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start scepter serve");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = reqwest::get(format!("{base}/readyz")).await {
                if response.status() == 200 {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "scepter serve did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, base }
    }

    /// SIGTERM, then wait: a graceful stop exits with status 0.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(killed.success());
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "graceful shutdown exits 0, got {status}");
    }
}

fn issue_token(dir: &Path, role: &str) -> String {
    let output = run(dir, &["token", "issue", "--role", role, "--ttl", "10m"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn embedded_default_serves_and_keeps_data_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    assert!(
        dir.path().join("scepter.db").exists(),
        "SQLite file in the working directory"
    );
    let key = std::fs::metadata(dir.path().join("scepter.key")).expect("generated secret file");
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777,
        0o600
    );

    let token = issue_token(dir.path(), "admin");
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{}/api/v1/trusted-certificate-profiles", server.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "displayName": "Contoso Root",
            "platform": "macos",
            "trustedRootCertificate": ROOT_PEM,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    server.stop();

    let server = Server::start(dir.path()).await;
    let read = client
        .get(format!("{}{location}", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200, "the token and the profile survive a restart");
    let body: serde_json::Value = read.json().await.unwrap();
    assert_eq!(body["displayName"], "Contoso Root");
    server.stop();
}

#[test]
fn token_for_postgres_needs_an_explicit_secret() {
    let dir = tempfile::tempdir().unwrap();
    let output = scepter(dir.path(), &["token", "issue", "--role", "admin"])
        .env("DATABASE_URL", "postgres://scepter@127.0.0.1:1/scepter")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("SCEPTER_JWT_SECRET"));
    assert!(
        !dir.path().join("scepter.key").exists(),
        "no secret file is invented"
    );
}

#[test]
fn short_secrets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = scepter(dir.path(), &["token", "issue", "--role", "reader"])
        .env("SCEPTER_JWT_SECRET", "too-short")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 32 bytes"));
}

#[test]
fn migrate_creates_the_database_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let output = run(dir.path(), &["migrate", "--sqlite-path", "data.db"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(dir.path().join("data.db").exists());
}
