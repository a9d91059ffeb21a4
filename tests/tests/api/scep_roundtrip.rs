//! A real SCEP round trip with software nobody here wrote: Debian's `scep`
//! package, i.e. micromdm's `scepserver` and `scepclient`.
//!
//! `scepserver -csrverifierexec tests/scep/verify-csr.sh` hands every
//! certificate request (DER on stdin) to the script, which asks Scepter's
//! `POST /connector/v1/scep/verify` and exits 0 only when Scepter allows it.
//! The test plays the device: it checks in over `/device/v1/checkin`, takes the
//! challenge, subject, key size and SCEP URL from the Android payload it gets,
//! enrolls with `scepclient`, and reports the issued certificate to
//! `POST /connector/v1/scep/notify`, after which the admin API lists it for the
//! device. A wrong challenge, a subject other than the rendered one, and a
//! challenge that was already used get no certificate.
//!
//! Without `scepserver`, `scepclient`, `openssl` or `curl` on `PATH` the test is
//! skipped with a message, unless `SCEPTER_REQUIRE_SCEP=1` (set by
//! `scripts/test.sh`, which installs the `scep` package).
//!
//! What `scepclient` 2.1.0 can produce, and so what the profile may ask for:
//! a subject built by Go's `pkix.Name`, whose DER order is fixed — C, ST, L, O,
//! OU, CN, one single-valued RDN each, an empty flag leaving its RDN out — with
//! the challenge in the PKCS#9 `challengePassword` attribute, an RSA key, and no
//! subject alternative names.

use std::{
    env, fs,
    io::Write,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::helpers::*;
use reqwest::Method;
use scepter_api::tokens::Role;
use scepter_blackbox_tests::{backend_tests, json, Backend, TestApp, TestOptions};
use serde_json::{json, Value};
use uuid::Uuid;

backend_tests!(scepclient_enrolls_through_scepserver_only_with_what_scepter_rendered);

const USERS: &str = "/api/v1/users";
const DEVICES: &str = "/api/v1/devices";
const GROUPS: &str = "/api/v1/groups";
const CHECKIN: &str = "/device/v1/checkin";
const NOTIFY: &str = "/connector/v1/scep/notify";

const DEVICE_NAME: &str = "Scepter Pixel 8";
/// In Go's `pkix.Name` order (C, ST, L, O, OU, CN), so that `scepclient` writes
/// the RDNs in the order Scepter renders them.
const SUBJECT_TEMPLATE: &str = "C=NL,ST=Zuid-Holland,L=Delft,O=Scepter Tests,OU=Devices,CN={{DeviceName}}";
/// The subject RDNs `scepclient` can write, by OID, in the order it writes them.
const SCEPCLIENT_RDNS: [(&str, &str); 6] = [
    ("2.5.4.6", "-country"),
    ("2.5.4.8", "-province"),
    ("2.5.4.7", "-locality"),
    ("2.5.4.10", "-organization"),
    ("2.5.4.11", "-ou"),
    ("2.5.4.3", "-cn"),
];
const TOOLS: [&str; 4] = ["scepserver", "scepclient", "openssl", "curl"];
/// How long one `scepclient` run (including the verifier's call to Scepter) may take.
const SCEPCLIENT_DEADLINE: Duration = Duration::from_secs(60);

async fn scepclient_enrolls_through_scepserver_only_with_what_scepter_rendered(backend: Backend) {
    if !scep_tools_present() {
        return;
    }
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            allow_http_scep_urls: true,
            ..Default::default()
        },
    )
    .await;
    let connector_token = TestApp::authority()
        .issue("scep-connector", Role::Connector, Duration::from_secs(3600))
        .expect("connector token");
    let ca = ScepCa::start(&app.url(""), &connector_token);

    // ------------------------------------------------------------ the admin's setup
    let root = id_of(
        &create(
            &app,
            TRUSTED,
            &json!({
                "displayName": "scepserver CA (android)",
                "platform": "android",
                "trustedRootCertificate": ca.ca_pem(),
            }),
        )
        .await,
    );
    let user = id_of(
        &create(
            &app,
            USERS,
            &json!({ "userPrincipalName": "jane@contoso.example", "displayName": "Jane Doe" }),
        )
        .await,
    );
    let device = id_of(
        &create(
            &app,
            DEVICES,
            &json!({ "deviceName": DEVICE_NAME, "platform": "android", "userId": user }),
        )
        .await,
    );
    let group = id_of(
        &create(
            &app,
            GROUPS,
            &json!({ "displayName": "SCEP round trip", "groupType": "device" }),
        )
        .await,
    );
    let members = app
        .post(
            &format!("{GROUPS}/{group}/members"),
            &json!({ "memberIds": [device] }),
        )
        .await;
    expect_json(members, 200).await;
    let scep = id_of(
        &create(
            &app,
            SCEP,
            &json!({
                "displayName": "Device certificate (scepserver)",
                "platform": "android",
                "certificateType": "device",
                "subjectNameFormat": "custom",
                "subjectNameFormatString": SUBJECT_TEMPLATE,
                "keyUsage": ["digitalSignature"],
                "keySize": 2048,
                "rootCertificateId": root,
                "scepServerUrls": [ca.scep_url()],
            }),
        )
        .await,
    );
    for profile in [format!("{TRUSTED}/{root}"), format!("{SCEP}/{scep}")] {
        create(
            &app,
            &format!("{profile}/assignments"),
            &json!({ "groupId": group, "intent": "include" }),
        )
        .await;
    }
    let credential = issue_credential(&app, &device).await;

    // ------------------------------------------------------------ the device enrolls
    let first = checkin_scep_payload(&app, &credential, &root, &scep).await;
    let enrollment = Enrollment::from_payload(&first);
    assert_eq!(
        enrollment.flag("-cn"),
        Some(DEVICE_NAME),
        "the rendered subject names the device: {first}"
    );
    // The root in the payload is scepserver's CA, so the device can trust what it issues.
    let payload_root = payload_root_pem(&first);

    let issued = enroll(&ca, "issued", &enrollment);
    let certificate = issued.certificate.unwrap_or_else(|| {
        panic!(
            "scepclient got no certificate with the rendered challenge and subject:\n{}",
            issued.output
        )
    });
    let verdict = issued.verdict.expect("the verifier asked Scepter");
    assert_eq!(verdict["allowed"], true, "{verdict}");
    let cert_path = ca.dir.join("issued/cert.pem");
    assert_eq!(
        openssl(&[
            "x509",
            "-in",
            path_str(&cert_path),
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253"
        ]),
        "subject=CN=Scepter Pixel 8,OU=Devices,O=Scepter Tests,L=Delft,ST=Zuid-Holland,C=NL",
    );
    let root_path = ca.dir.join("payload-root.pem");
    fs::write(&root_path, payload_root).expect("write the payload's root");
    assert_eq!(
        openssl(&["verify", "-CAfile", path_str(&root_path), path_str(&cert_path)]),
        format!("{}: OK", path_str(&cert_path)),
    );

    // transactionId = hex SHA-256 of the SubjectPublicKeyInfo: the verifier took it
    // from the CSR, the connector takes it from the certificate; both must agree.
    let transaction_id = spki_sha256(&["x509", "-in", path_str(&cert_path)]);
    assert_eq!(issued.transaction_id.as_deref(), Some(transaction_id.as_str()));

    let notify = json!({ "transactionId": transaction_id, "certificate": certificate });
    let (status, recorded) = connector_post(&app, &connector_token, NOTIFY, &notify).await;
    assert_eq!(status, 201, "notify: {recorded}");
    // Reporting the same certificate again is harmless.
    let (status, again) = connector_post(&app, &connector_token, NOTIFY, &notify).await;
    assert_eq!(status, 200, "notify again: {again}");
    assert_eq!(again["id"], recorded["id"], "{again}");

    let listed = read(&app, &format!("{DEVICES}/{device}/certificates")).await;
    let items = listed["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list page: {listed}"));
    assert_eq!(items.len(), 1, "{listed}");
    let listed_certificate = &items[0];
    let serial = openssl(&["x509", "-in", path_str(&cert_path), "-noout", "-serial"]);
    let sha1 = openssl(&[
        "x509",
        "-in",
        path_str(&cert_path),
        "-noout",
        "-fingerprint",
        "-sha1",
    ]);
    let sha1 = normalise_hex(sha1.split_once('=').expect("fingerprint").1);
    assert_eq!(listed_certificate["id"], recorded["id"], "{listed}");
    assert_eq!(listed_certificate["deviceId"], device.as_str(), "{listed}");
    assert_eq!(listed_certificate["profileId"], scep.as_str(), "{listed}");
    assert_eq!(
        listed_certificate["transactionId"],
        transaction_id.as_str(),
        "{listed}"
    );
    assert_eq!(listed_certificate["thumbprintSha1"], sha1.as_str(), "{listed}");
    // openssl prints at least two hex digits ("02"); compare the number.
    assert_eq!(
        hex_field(listed_certificate, "serialNumber").trim_start_matches('0'),
        normalise_hex(serial.trim_start_matches("serial=")).trim_start_matches('0'),
        "{listed}"
    );
    assert_eq!(
        listed_certificate["subject"],
        "CN=Scepter Pixel 8,OU=Devices,O=Scepter Tests,L=Delft,ST=Zuid-Holland,C=NL",
        "{listed}"
    );
    assert_eq!(listed_certificate["certificateRevokeStatus"], "none", "{listed}");

    // ------------------------------------------------------------ what gets nothing
    let second = checkin_scep_payload(&app, &credential, &root, &scep).await;
    let fresh = Enrollment::from_payload(&second);
    assert_ne!(
        fresh.challenge, enrollment.challenge,
        "each check-in gets a new challenge"
    );
    assert_eq!(fresh.flags, enrollment.flags, "the same rendered subject");

    let wrong_challenge = Enrollment {
        challenge: change_one_character(&fresh.challenge),
        ..fresh.clone()
    };
    enroll(&ca, "wrong-challenge", &wrong_challenge).assert_refused_by_scepter("challengeInvalid");

    let mut other_subject = fresh.clone();
    other_subject.set_flag("-cn", "Someone Else");
    enroll(&ca, "wrong-subject", &other_subject).assert_refused_by_scepter("subjectMismatch");

    // The first challenge was used for the certificate above; the same subject and a
    // fresh key do not make it good again.
    enroll(&ca, "replayed-challenge", &enrollment).assert_refused_by_scepter("challengeReplayed");

    let listed = read(&app, &format!("{DEVICES}/{device}/certificates")).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1), "{listed}");

    // ------------------------------------------------------------ installed: nothing to do
    let versions = checkin(
        &app,
        &credential,
        &json!({ "installedProfiles": [], "installedCertificates": [] }),
    )
    .await;
    let version_of = |profile: &str| checkin_item(&versions, profile)["version"].clone();
    let report = json!({
        "installedProfiles": [
            { "profileId": root, "version": version_of(&root) },
            { "profileId": scep, "version": version_of(&scep) },
        ],
        "installedCertificates": [{
            "profileId": scep,
            "thumbprintSha1": sha1,
            "notBefore": certificate_date(&cert_path, "-startdate"),
            "notAfter": certificate_date(&cert_path, "-enddate"),
        }],
    });
    let settled = checkin(&app, &credential, &report).await;
    for profile in [&root, &scep] {
        let item = checkin_item(&settled, profile);
        assert_eq!(item["action"], "none", "{settled}");
        assert_eq!(item["reason"], "upToDate", "{settled}");
    }
}

// ---------------------------------------------------------------- Scepter over HTTP

async fn issue_credential(app: &TestApp, device: &str) -> String {
    let response = app
        .admin(Method::POST, &format!("{DEVICES}/{device}/credentials"))
        .send()
        .await
        .expect("request");
    let body = expect_json(response, 201).await;
    body["credential"].as_str().expect("credential").to_owned()
}

/// `POST /device/v1/checkin` with `report`; the 200 response.
async fn checkin(app: &TestApp, credential: &str, report: &Value) -> Value {
    let response = app
        .anonymous(Method::POST, CHECKIN)
        .bearer_auth(credential)
        .json(report)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let body = json(response).await;
    assert_eq!(status, 200, "check-in failed: {body}");
    body
}

/// The check-in item of `profile`.
fn checkin_item<'a>(response: &'a Value, profile: &str) -> &'a Value {
    response["items"]
        .as_array()
        .unwrap_or_else(|| panic!("check-in has no items: {response}"))
        .iter()
        .find(|item| item["profileId"] == profile)
        .unwrap_or_else(|| panic!("profile {profile} is not in the check-in: {response}"))
}

/// Checks in with nothing installed and returns the parsed Android payload of
/// the SCEP profile `scep`, which must be offered for installation (with its root).
async fn checkin_scep_payload(app: &TestApp, credential: &str, root: &str, scep: &str) -> Value {
    let response = checkin(
        app,
        credential,
        &json!({ "installedProfiles": [], "installedCertificates": [] }),
    )
    .await;
    let trusted = checkin_item(&response, root);
    assert_eq!(trusted["profileType"], "trustedCertificate", "{response}");
    assert_eq!(trusted["action"], "install", "{response}");
    let item = checkin_item(&response, scep);
    assert_eq!(item["profileType"], "scepCertificate", "{response}");
    assert_eq!(item["action"], "install", "{response}");
    assert_eq!(item["state"], "applicable", "{response}");
    assert_eq!(item["reason"], "notInstalled", "{response}");
    assert_eq!(item["contentType"], "application/json", "{response}");
    match &item["payload"] {
        Value::String(text) => {
            serde_json::from_str(text).unwrap_or_else(|error| panic!("payload is not JSON ({error}): {text}"))
        }
        other => panic!("payload is not the Android JSON text: {other}"),
    }
}

/// POSTs `body` to a `/connector/v1` path with the connector token: status and JSON body.
async fn connector_post(app: &TestApp, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let response = app
        .anonymous(Method::POST, path)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, json(response).await)
}

/// The root certificate the payload tells the device to trust, as PEM.
fn payload_root_pem(payload: &Value) -> String {
    let der_base64 = payload["certificates"][0]["X509"]
        .as_str()
        .unwrap_or_else(|| panic!("no root certificate in the payload: {payload}"));
    let lines: Vec<&str> = der_base64
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// A string member of a listed certificate, upper-case hex without separators.
fn hex_field(item: &Value, field: &str) -> String {
    normalise_hex(
        item[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {item}")),
    )
}

/// `openssl x509 -noout <-startdate|-enddate>` of a certificate, as RFC 3339.
fn certificate_date(cert_path: &Path, which: &str) -> String {
    let line = openssl(&["x509", "-in", path_str(cert_path), "-noout", which]);
    let (_, date) = line.split_once('=').expect("name=date");
    chrono::NaiveDateTime::parse_from_str(date, "%b %e %H:%M:%S %Y GMT")
        .unwrap_or_else(|error| panic!("unexpected openssl date {date:?}: {error}"))
        .and_utc()
        .to_rfc3339()
}

fn normalise_hex(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `challenge` with one character replaced by another printable one.
fn change_one_character(challenge: &str) -> String {
    let mut chars: Vec<char> = challenge.chars().collect();
    assert!(!chars.is_empty(), "empty challenge");
    let middle = chars.len() / 2;
    chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

// ---------------------------------------------------------------- scepclient

/// [`ScepCa::enroll`] off the async worker: scepclient blocks until scepserver's
/// verifier has had Scepter's answer.
fn enroll(ca: &ScepCa, name: &str, enrollment: &Enrollment) -> Attempt {
    tokio::task::block_in_place(|| ca.enroll(name, enrollment))
}

/// What one `scepclient` run sends: the challenge, the subject flags and the key size.
#[derive(Debug, Clone)]
struct Enrollment {
    url: String,
    challenge: String,
    key_size: u64,
    /// Every subject flag, in [`SCEPCLIENT_RDNS`] order; `""` leaves the RDN out.
    flags: Vec<(&'static str, String)>,
}

impl Enrollment {
    /// Reads the enrollment from the payload, refusing anything `scepclient`
    /// could not reproduce exactly (the test would then prove nothing).
    fn from_payload(payload: &Value) -> Self {
        let scep = &payload["scep"];
        let text = |value: &Value, what: &str| {
            value
                .as_str()
                .unwrap_or_else(|| panic!("no {what} in the payload: {payload}"))
                .to_owned()
        };
        let url = text(&scep["scepServerUrls"][0], "SCEP server URL");
        let challenge = text(&scep["challenge"], "challenge");
        let key_size = scep["keySize"]
            .as_u64()
            .unwrap_or_else(|| panic!("no key size in the payload: {payload}"));
        assert_eq!(
            scep["subjectAlternativeNames"],
            json!([]),
            "scepclient cannot request subject alternative names"
        );
        let rdns = scep["subject"]
            .as_array()
            .unwrap_or_else(|| panic!("no subject in the payload: {payload}"));
        // scepclient's flag for each RDN, by position in SCEPCLIENT_RDNS; the positions
        // must rise, or scepclient would write the RDNs in another order (or once only).
        let mut flags: Vec<(&'static str, String)> = SCEPCLIENT_RDNS
            .iter()
            .map(|(_, flag)| (*flag, String::new()))
            .collect();
        let mut last = None;
        for rdn in rdns {
            let attributes = rdn.as_array().expect("an RDN is an array");
            assert_eq!(
                attributes.len(),
                1,
                "scepclient writes single-valued RDNs only: {rdn}"
            );
            let oid = text(&attributes[0]["oid"], "RDN oid");
            let position = SCEPCLIENT_RDNS
                .iter()
                .position(|(known, _)| *known == oid)
                .unwrap_or_else(|| panic!("scepclient cannot write subject attribute {oid}"));
            assert!(
                last < Some(position),
                "the rendered subject is not in the order Go's pkix.Name writes \
                 (C, ST, L, O, OU, CN, each once): {rdns:?}"
            );
            last = Some(position);
            flags[position].1 = text(&attributes[0]["value"], "RDN value");
        }
        Self {
            url,
            challenge,
            key_size,
            flags,
        }
    }

    fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(flag, _)| *flag == name)
            .map(|(_, value)| value.as_str())
    }

    fn set_flag(&mut self, name: &str, value: &str) {
        let slot = self
            .flags
            .iter_mut()
            .find(|(flag, _)| *flag == name)
            .expect("known flag");
        slot.1 = value.to_owned();
    }
}

/// One `scepclient` run and what the verifier logged for it.
struct Attempt {
    name: String,
    /// The issued certificate (PEM), if any.
    certificate: Option<String>,
    /// scepclient's exit status and output, for messages.
    output: String,
    /// The transactionId the verifier computed from the CSR.
    transaction_id: Option<String>,
    /// Scepter's answer to the verifier, if it got one.
    verdict: Option<Value>,
}

impl Attempt {
    /// No certificate, and the reason is Scepter's `allowed: false` for `reason`.
    fn assert_refused_by_scepter(&self, reason: &str) {
        assert!(
            self.certificate.is_none(),
            "{}: scepclient got a certificate:\n{}",
            self.name,
            self.output
        );
        let verdict = self.verdict.as_ref().unwrap_or_else(|| {
            panic!(
                "{}: the verifier got no answer from Scepter:\n{}",
                self.name, self.output
            )
        });
        assert_eq!(verdict["allowed"], false, "{}: {verdict}", self.name);
        assert_eq!(verdict["reason"], reason, "{}: {verdict}", self.name);
        assert!(
            verdict["diagnosticCode"]
                .as_str()
                .is_some_and(|code| code != "0x00000000"),
            "{}: a refusal carries a diagnostic code: {verdict}",
            self.name
        );
    }
}

// ---------------------------------------------------------------- scepserver

/// A `scepserver` CA in a temporary directory, asking Scepter about every CSR;
/// killed and removed on drop (the directory is kept when the test fails).
struct ScepCa {
    dir: PathBuf,
    port: u16,
    server: Child,
    verify_log: PathBuf,
}

impl ScepCa {
    fn start(scepter_url: &str, connector_token: &str) -> Self {
        let verifier = Path::new(env!("CARGO_MANIFEST_DIR")).join("scep/verify-csr.sh");
        assert!(
            is_executable(&verifier),
            "{} must exist and be executable",
            verifier.display()
        );
        let dir = env::temp_dir().join(format!("scepter-scep-{}", Uuid::now_v7()));
        fs::create_dir_all(&dir).expect("create the temporary directory");
        let depot = dir.join("depot");
        run_checked(Command::new("scepserver").args([
            "ca",
            "-init",
            "-depot",
            path_str(&depot),
            "-keySize",
            "2048",
            "-organization",
            "Scepter Test CA",
            "-country",
            "NL",
        ]));
        let verify_log = dir.join("verify-csr.log");
        fs::write(&verify_log, "").expect("create the verifier log");

        for attempt in 1..=5 {
            let port = free_port();
            let log =
                fs::File::create(dir.join(format!("scepserver-{port}.log"))).expect("create the server log");
            let mut server = Command::new("scepserver")
                .args(["-depot", path_str(&depot), "-port", &port.to_string()])
                // scepserver refuses a second certificate for a DN it has already issued
                // unless it is within 14 days of expiry; 0 leaves every refusal to Scepter.
                .args(["-allowrenew", "0", "-debug"])
                .arg("-csrverifierexec")
                .arg(&verifier)
                .env("SCEPTER_URL", scepter_url)
                .env("SCEPTER_CONNECTOR_TOKEN", connector_token)
                .env("SCEPTER_VERIFY_LOG", &verify_log)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the log handle"))
                .stderr(log)
                .spawn()
                .expect("start scepserver");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(status) = server.try_wait().expect("poll scepserver") {
                    eprintln!("scepserver on port {port} exited with {status} (attempt {attempt})");
                    break;
                }
                // Someone else may have taken the port since free_port(): then scepserver
                // exits right after the connect succeeds.
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    thread::sleep(Duration::from_millis(100));
                    if server.try_wait().expect("poll scepserver").is_some() {
                        continue;
                    }
                    return Self {
                        dir,
                        port,
                        server,
                        verify_log,
                    };
                }
                if Instant::now() > deadline {
                    let _ = server.kill();
                    let _ = server.wait();
                    panic!("scepserver did not listen on port {port} within 10 s");
                }
                thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("scepserver did not start (logs in {})", dir.display());
    }

    fn ca_pem(&self) -> String {
        fs::read_to_string(self.dir.join("depot/ca.pem")).expect("read depot/ca.pem")
    }

    fn scep_url(&self) -> String {
        format!("http://127.0.0.1:{}/scep", self.port)
    }

    fn verify_log(&self) -> String {
        fs::read_to_string(&self.verify_log).unwrap_or_default()
    }

    /// Runs `scepclient` with a fresh key in `<dir>/<name>/`.
    fn enroll(&self, name: &str, enrollment: &Enrollment) -> Attempt {
        let work = self.dir.join(name);
        fs::create_dir(&work).expect("a fresh directory per attempt");
        let cert_path = work.join("cert.pem");
        let log_before = self.verify_log().len();

        let mut command = Command::new("scepclient");
        command
            .args(["-server-url", &enrollment.url])
            .args(["-challenge", &enrollment.challenge])
            .args(["-keySize", &enrollment.key_size.to_string()])
            .arg("-private-key")
            .arg(work.join("key.pem"))
            .arg("-certificate")
            .arg(&cert_path);
        for (flag, value) in &enrollment.flags {
            command.args([*flag, value.as_str()]);
        }
        let (status, output) = run_with_deadline(&mut command, &work, SCEPCLIENT_DEADLINE);
        let certificate = fs::read_to_string(&cert_path).ok();
        assert_eq!(
            status == Some(0),
            certificate.is_some(),
            "{name}: scepclient's exit status ({status:?}) and the certificate file disagree:\n{output}"
        );

        // The verifier's lines for this run: `transactionId=…` and `HTTP <status> <body>`.
        let log = self.verify_log();
        let lines = &log[log_before..];
        let transaction_id = lines.lines().find_map(|line| {
            line.split_once("transactionId=")
                .map(|(_, rest)| rest.split_whitespace().next().unwrap_or_default().to_owned())
        });
        let verdict = lines
            .lines()
            .find_map(|line| line.split_once(" HTTP 200 ").map(|(_, body)| body.to_owned()))
            .and_then(|body| serde_json::from_str(&body).ok());
        Attempt {
            name: name.to_owned(),
            certificate,
            output: format!("exit status {status:?}\n{output}\nverifier log:\n{lines}"),
            transaction_id,
            verdict,
        }
    }
}

impl Drop for ScepCa {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        if thread::panicking() {
            eprintln!(
                "scepserver's directory is kept: {}\n--- verifier log ---\n{}",
                self.dir.display(),
                self.verify_log()
            );
            if let Ok(log) = fs::read_to_string(self.dir.join(format!("scepserver-{}.log", self.port))) {
                eprintln!("--- scepserver log ---\n{log}");
            }
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

// ---------------------------------------------------------------- processes and tools

/// Whether the tools are on PATH; without them the test is skipped, or fails
/// when `SCEPTER_REQUIRE_SCEP=1`.
fn scep_tools_present() -> bool {
    let missing: Vec<&str> = TOOLS.into_iter().filter(|tool| !on_path(tool)).collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{} not found on PATH (Debian: apt-get install scep openssl curl)",
        missing.join(", ")
    );
    if env::var("SCEPTER_REQUIRE_SCEP").is_ok_and(|value| value == "1") {
        panic!("SCEPTER_REQUIRE_SCEP=1 but {message}");
    }
    eprintln!("skipping the SCEP round trip: {message}; SCEPTER_REQUIRE_SCEP=1 makes this a failure");
    false
}

fn on_path(tool: &str) -> bool {
    env::var_os("PATH").is_some_and(|path| env::split_paths(&path).any(|dir| is_executable(&dir.join(tool))))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a random port")
        .port()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Runs a command to completion, failing the test unless it succeeds.
fn run_checked(command: &mut Command) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed with {}:\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Runs a command with its output in `<dir>/output.log`, killing it after
/// `deadline`; returns the exit code (`None` when killed) and the output.
fn run_with_deadline(command: &mut Command, dir: &Path, deadline: Duration) -> (Option<i32>, String) {
    let log_path = dir.join("output.log");
    let log = fs::File::create(&log_path).expect("create the output log");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone the log handle"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|error| panic!("{command:?}: {error}"));
    let until = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            break status.code();
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    (status, fs::read_to_string(&log_path).unwrap_or_default())
}

/// `openssl <args>`, its trimmed standard output.
fn openssl(args: &[&str]) -> String {
    String::from_utf8(run_checked(Command::new("openssl").args(args)))
        .expect("UTF-8 output")
        .trim()
        .to_owned()
}

/// Lower-case hex SHA-256 of the SubjectPublicKeyInfo DER of the certificate or
/// request `openssl <args> -pubkey -noout` reads — what the verifier computes.
fn spki_sha256(args: &[&str]) -> String {
    let public_key_pem = run_checked(Command::new("openssl").args(args).args(["-pubkey", "-noout"]));
    let mut pkey = Command::new("openssl")
        .args(["pkey", "-pubin", "-outform", "DER"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start openssl pkey");
    pkey.stdin
        .take()
        .expect("stdin")
        .write_all(&public_key_pem)
        .expect("write the public key");
    let spki = pkey.wait_with_output().expect("openssl pkey");
    assert!(spki.status.success(), "openssl pkey failed");
    let mut digest = Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start openssl dgst");
    digest
        .stdin
        .take()
        .expect("stdin")
        .write_all(&spki.stdout)
        .expect("write the SPKI");
    let output = digest.wait_with_output().expect("openssl dgst");
    String::from_utf8(output.stdout)
        .expect("UTF-8 output")
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_owned()
}
