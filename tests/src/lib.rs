//! Test harness: [`TestApp::spawn`] starts the real application on a random
//! loopback port with a fresh database — a new SQLite file, or a new database
//! in the PostgreSQL server named by `SCEPTER_TEST_POSTGRES_URL` — and tests
//! talk to it over HTTP only. [`backend_tests!`] runs each test on both backends.

pub mod pki;
pub mod proxy;

use std::{net::TcpListener, sync::Arc, time::Duration};

use actix_web::dev::ServerHandle;
use reqwest::{header, Method, RequestBuilder, Response};
use scepter_api::{
    tokens::{JwtSecret, Role, TokenAuthority},
    AppState, Application, EnrollmentSettings, ProfilePolicy, ServerSettings,
};
use scepter_domain::challenge::ChallengeKey;
pub use scepter_storage::testing::{postgres_url, Backend, TestDatabase};
use scepter_storage::{PoolSettings, Store};
use serde_json::Value;

/// The secret every test app signs tokens with (tests may forge tokens with it).
pub const TEST_JWT_SECRET: &[u8] = b"scepter-test-secret-0123456789-abcdefghijklmnop";

/// The key every test app signs challenges with (tests may mint challenges with it).
pub const TEST_CHALLENGE_KEY: &[u8] = b"scepter-test-challenge-key-0123456789-abcdefgh";

/// step-ca's webhook signing secret in test apps (raw bytes; step-ca prints them base64).
pub const TEST_STEP_CA_SECRET: &[u8] = b"scepter-test-step-ca-webhook-secret-0123456789";

/// Runs each named `async fn(Backend)` as one test per backend (the storage
/// crate's macro, shared by every test suite).
pub use scepter_storage::backend_tests;

/// Options a test may change before spawning.
#[derive(Debug, Clone, Copy)]
pub struct TestOptions {
    pub max_body_bytes: usize,
    pub allow_http_scep_urls: bool,
    pub challenge_lifetime_secs: i64,
    /// How long a request waits for a database connection before 503.
    pub db_acquire_timeout: Duration,
    /// How long a client may take to send a request body.
    pub body_read_timeout: Duration,
    /// Whether the step-ca webhooks have their signing secret ([`TEST_STEP_CA_SECRET`]).
    pub step_ca_webhooks: bool,
    /// A previous JWT secret the app still accepts (rotation).
    pub previous_jwt_secret: Option<&'static [u8]>,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: AppState::DEFAULT_MAX_BODY_BYTES,
            allow_http_scep_urls: false,
            challenge_lifetime_secs: 3600,
            db_acquire_timeout: PoolSettings::default().acquire_timeout,
            body_read_timeout: ServerSettings::DEFAULT_BODY_READ_TIMEOUT,
            step_ca_webhooks: true,
            previous_jwt_secret: None,
        }
    }
}

/// A running application and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub admin_token: String,
    pub reader_token: String,
    pub database: TestDatabase,
    options: TestOptions,
    store: Arc<dyn Store>,
    server: ServerHandle,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, TestOptions::default()).await
    }

    pub async fn spawn_with(backend: Backend, options: TestOptions) -> Self {
        Self::start(TestDatabase::fresh(backend).await, options).await
    }

    /// Starts an app on `database` (e.g. [`TestDatabase::share`] of another app's, or [`TestDatabase::at`]).
    pub async fn spawn_on(database: TestDatabase, options: TestOptions) -> Self {
        Self::start(database, options).await
    }

    /// A second instance on this app's database, with its own pool and caches
    /// (as a second process behind a load balancer would have).
    pub async fn another_instance(&self) -> Self {
        Self::start(self.database.share(), self.options).await
    }

    async fn start(database: TestDatabase, options: TestOptions) -> Self {
        let store = database
            .connect_with(PoolSettings {
                acquire_timeout: options.db_acquire_timeout,
                ..PoolSettings::default()
            })
            .await;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a random port");
        let mut tokens = Self::authority();
        if let Some(previous) = options.previous_jwt_secret {
            tokens = tokens
                .with_previous_secret(&JwtSecret::new(previous.to_vec()).expect("a long enough secret"));
        }
        let admin_token = tokens
            .issue("test-admin", Role::Admin, Duration::from_secs(600))
            .expect("token");
        let reader_token = tokens
            .issue("test-reader", Role::Reader, Duration::from_secs(600))
            .expect("token");
        let enrollment = EnrollmentSettings {
            challenge_lifetime_secs: options.challenge_lifetime_secs,
            step_ca_challenge_secret: options.step_ca_webhooks.then(|| TEST_STEP_CA_SECRET.to_vec()),
            step_ca_notify_secret: options.step_ca_webhooks.then(|| TEST_STEP_CA_SECRET.to_vec()),
            ..EnrollmentSettings::new(Self::challenge_key())
        };
        let state = AppState::new(store.clone(), tokens, enrollment)
            .with_policy(ProfilePolicy {
                allow_http_scep_urls: options.allow_http_scep_urls,
            })
            .with_max_body_bytes(options.max_body_bytes)
            .with_organization("Contoso");
        let settings = ServerSettings {
            workers: 1,
            shutdown_timeout_secs: 5,
            body_read_timeout: options.body_read_timeout,
            ..ServerSettings::default()
        };
        let application = Application::build(listener, state, settings).expect("build the application");
        let address = format!("http://127.0.0.1:{}", application.port());
        let server = application.into_server();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            address,
            client: reqwest::Client::new(),
            admin_token,
            reader_token,
            database,
            options,
            store,
            server: handle,
        }
    }

    /// The key this app signs challenges with.
    pub fn challenge_key() -> ChallengeKey {
        ChallengeKey::new(TEST_CHALLENGE_KEY).expect("test challenge key is long enough")
    }

    /// A token with role `connector` for this app.
    pub fn connector_token() -> String {
        Self::authority()
            .issue("test-connector", Role::Connector, Duration::from_secs(600))
            .expect("token")
    }

    /// The authority that signs this app's tokens.
    pub fn authority() -> TokenAuthority {
        TokenAuthority::new(&JwtSecret::new(TEST_JWT_SECRET.to_vec()).expect("test secret is long enough"))
    }

    /// Stops the server gracefully and starts a new one on the same database.
    pub async fn restart(self) -> Self {
        self.server.stop(true).await;
        self.store.close().await;
        Self::start(self.database, self.options).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request with the admin token.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.admin_token)
    }

    /// A request with the reader token.
    pub fn reader(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.reader_token)
    }

    /// A request without credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// POSTs `body` as admin and returns the response.
    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.admin(Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// GETs as admin and returns the response.
    pub async fn get(&self, path: &str) -> Response {
        self.admin(Method::GET, path).send().await.expect("request")
    }

    /// PUTs `body` as admin with `If-Match: "<version>"`.
    pub async fn put(&self, path: &str, version: i64, body: &Value) -> Response {
        self.admin(Method::PUT, path)
            .header(header::IF_MATCH, format!("\"{version}\""))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.admin(Method::DELETE, path).send().await.expect("request")
    }
}

/// Reads a JSON body, failing the test with the status and text otherwise.
pub async fn json(response: Response) -> Value {
    let status = response.status();
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text}"))
}

/// Asserts a problem+json response with `status` and returns the document.
pub async fn problem(response: Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let document = json(response).await;
    assert_eq!(document["status"], status, "{document}");
    assert!(
        document["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:scepter:problem:")),
        "{document}"
    );
    document
}

/// Asserts that a 422 problem lists an error for `field` with `rule`.
pub async fn assert_validation_error(response: Response, field: &str, rule: &str) -> Value {
    let document = problem(response, 422).await;
    let errors = document["errors"].as_array().cloned().unwrap_or_default();
    assert!(
        errors
            .iter()
            .any(|error| error["field"] == field && error["rule"] == rule),
        "expected {field}/{rule} in {document}"
    );
    document
}
