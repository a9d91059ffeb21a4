//! The `scepter` binary as an operator runs it: serve on the embedded SQLite
//! default, mint a token, use the API, stop with SIGTERM, start again, and
//! find the data still there.

use std::{
    fs,
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
    for (name, _) in std::env::vars() {
        if name.starts_with("SCEPTER_") {
            command.env_remove(name);
        }
    }
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
        Self::start_with(dir, &[], &[], Stdio::null()).await
    }

    /// `scepter serve` with more arguments and environment variables, its
    /// log (stdout) going to `log`.
    async fn start_with(dir: &Path, args: &[&str], env: &[(&str, &str)], log: Stdio) -> Self {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut arguments = vec!["serve", "--listen", &listen];
        arguments.extend_from_slice(args);
        let child = scepter(dir, &arguments)
            .envs(env.iter().copied())
            .stdout(log)
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
    fn stop(self) {
        self.stop_and_read_log();
    }

    /// [`Server::stop`], returning what it wrote to a piped stdout.
    fn stop_and_read_log(mut self) -> String {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(killed.success());
        let mut log = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            std::io::Read::read_to_string(&mut stdout, &mut log).expect("read the log");
        }
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "graceful shutdown exits 0, got {status}");
        log
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
fn token_issue_refuses_a_ttl_over_the_role_cap() {
    let dir = tempfile::tempdir().unwrap();
    let issue = |role: &str, ttl: &str| run(dir.path(), &["token", "issue", "--role", role, "--ttl", ttl]);

    let day = issue("admin", "24h");
    let longer = issue("admin", "25h");
    let century = issue("reader", "36500d");
    let month = issue("connector", "30d");
    let longer_month = issue("connector", "31d");
    let raised = scepter(dir.path(), &["token", "issue", "--role", "admin", "--ttl", "25h"])
        .env("SCEPTER_MAX_TOKEN_LIFETIME_ADMIN", "48h")
        .output()
        .unwrap();

    for (output, what) in [
        (&day, "admin 24h"),
        (&month, "connector 30d"),
        (&raised, "admin 25h of 48h"),
    ] {
        assert!(
            output.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for (output, setting) in [
        (&longer, "SCEPTER_MAX_TOKEN_LIFETIME_ADMIN"),
        (&century, "SCEPTER_MAX_TOKEN_LIFETIME_READER"),
        (&longer_month, "SCEPTER_MAX_TOKEN_LIFETIME_CONNECTOR"),
    ] {
        assert!(!output.status.success());
        assert!(output.stdout.is_empty(), "no token is printed");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(setting), "{stderr}");
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The database holds users, devices and the certificate ledger: only its
/// owner may read it, whatever the umask (tests run with the usual 022).
#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_database_and_its_wal_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;

    for file in [
        "scepter.db",
        "scepter.db-wal",
        "scepter.db-shm",
        "scepter.key",
        "scepter.challenge-key",
    ] {
        assert_eq!(mode(&dir.path().join(file)), 0o600, "{file}");
    }
    server.stop();
}

#[cfg(unix)]
#[test]
fn secret_files_readable_by_others_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("jwt.key");
    fs::write(&key, "0123456789abcdef0123456789abcdef0123456789").unwrap();
    let issue = || {
        scepter(dir.path(), &["token", "issue", "--role", "admin"])
            .env("SCEPTER_JWT_SECRET_FILE", &key)
            .output()
            .unwrap()
    };

    for loose in [0o644, 0o640, 0o604, 0o660] {
        fs::set_permissions(&key, fs::Permissions::from_mode(loose)).unwrap();
        let refused = issue();
        assert!(!refused.status.success(), "mode {loose:o}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains(&key.display().to_string()) && stderr.contains("chmod 600"),
            "mode {loose:o}: {stderr}"
        );
    }
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let accepted = issue();
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );

    let challenge_key = dir.path().join("challenge.key");
    fs::write(&challenge_key, "0123456789abcdef0123456789abcdef0123456789").unwrap();
    fs::set_permissions(&challenge_key, fs::Permissions::from_mode(0o644)).unwrap();
    let serve = scepter(dir.path(), &["serve", "--listen", "127.0.0.1:0"])
        .env("SCEPTER_CHALLENGE_KEY_FILE", &challenge_key)
        .output()
        .unwrap();
    assert!(!serve.status.success(), "serve refuses to start");
    assert!(String::from_utf8_lossy(&serve.stderr).contains("chmod 600"));
}

const A_SECRET: &str = "0123456789abcdef0123456789abcdef-secret";

#[test]
fn secrets_given_as_flags_are_warned_about_and_env_vars_are_not() {
    let dir = tempfile::tempdir().unwrap();

    let flag = run(
        dir.path(),
        &["token", "issue", "--role", "admin", "--jwt-secret", A_SECRET],
    );
    let env = scepter(dir.path(), &["token", "issue", "--role", "admin"])
        .env("SCEPTER_JWT_SECRET", A_SECRET)
        .output()
        .unwrap();

    assert!(flag.status.success() && env.status.success());
    let warned = String::from_utf8_lossy(&flag.stderr);
    assert!(
        warned.contains("--jwt-secret") && warned.contains("SCEPTER_JWT_SECRET_FILE"),
        "{warned}"
    );
    assert_eq!(warned.matches("--jwt-secret").count(), 1, "once: {warned}");
    assert!(
        !String::from_utf8(flag.stdout).unwrap().contains("warn"),
        "stdout holds only the token"
    );
    assert!(env.stderr.is_empty(), "{}", String::from_utf8_lossy(&env.stderr));
}

#[tokio::test]
async fn serve_logs_a_warning_for_each_secret_given_as_a_flag() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &["--challenge-key", A_SECRET],
        &[("SCEPTER_JWT_SECRET", A_SECRET)],
        Stdio::piped(),
    )
    .await;

    let log = server.stop_and_read_log();

    let warnings: Vec<&str> = log.lines().filter(|line| line.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(
        warnings[0].contains("--challenge-key") && warnings[0].contains("SCEPTER_CHALLENGE_KEY_FILE"),
        "{log}"
    );
    assert!(!log.contains(A_SECRET), "the secret itself is never logged");
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

impl Server {
    /// SIGKILL: no chance to finish anything.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }
}

/// A membership change of 10,000 devices is one transaction: killing the
/// server (SIGKILL) while it runs leaves all of them or none, never a part.
#[tokio::test]
async fn a_killed_membership_change_is_all_or_nothing() {
    const DEVICES: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("externalId,deviceName,platform\n");
    for n in 0..DEVICES {
        csv.push_str(&format!("d{n},device-{n},android\n"));
    }
    fs::write(dir.path().join("devices.csv"), csv).unwrap();
    let imported = run(dir.path(), &["import", "devices.csv"]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let token = issue_token(dir.path(), "admin");
    let database = dir.path().join("scepter.db");
    let query = |sql: &'static str| {
        let database = database.clone();
        async move {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&database)
                .busy_timeout(Duration::from_secs(5));
            let mut connection = sqlx::ConnectOptions::connect(&options).await.unwrap();
            sqlx::query_scalar::<_, String>(sql)
                .fetch_all(&mut connection)
                .await
                .unwrap()
        }
    };
    let ids = query("SELECT lower(hex(id)) FROM devices").await;
    let ids: Vec<String> = ids
        .iter()
        .map(|hex| uuid::Uuid::parse_str(hex).unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), DEVICES);

    for (round, delay_ms) in [0u64, 5, 10, 15, 20, 25, 30, 40, 60].into_iter().enumerate() {
        let server = Server::start(dir.path()).await;
        let client = reqwest::Client::new();
        let group: serde_json::Value = client
            .post(format!("{}/api/v1/groups", server.base))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "displayName": format!("round {round}"), "groupType": "device" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let group_id = group["id"].as_str().unwrap().to_owned();
        let request = client
            .post(format!("{}/api/v1/groups/{group_id}/members", server.base))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "memberIds": ids }))
            .send();
        let in_flight = tokio::spawn(request);
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        server.kill();
        let answered = in_flight
            .await
            .unwrap()
            .map(|response| response.status().as_u16());
        let members = query("SELECT CAST(COUNT(*) AS TEXT) FROM device_group_members").await;
        let in_group: usize = members[0].parse().unwrap();
        // Earlier rounds' groups hold all their members or none as well.
        assert_eq!(
            in_group % DEVICES,
            0,
            "round {round}: {in_group} members after SIGKILL ({answered:?})"
        );
        eprintln!("round {round} (kill after {delay_ms} ms): answered {answered:?}, {in_group} memberships");
        if answered.as_ref().is_ok_and(|status| *status == 200) {
            assert!(
                in_group >= DEVICES,
                "round {round}: answered 200 but the members are gone"
            );
        }
    }
}
