//! Bearer-token authentication and role checks.
//!
//! Tokens are HS256 JWTs signed with a per-installation secret: the algorithm
//! is pinned (a token claiming another `alg` is rejected), and `iss`, `aud`,
//! `sub`, `iat` and `exp` are required and checked. A token is refused when
//! it was issued (`iat`) or becomes valid (`nbf`) in the future beyond
//! [`LEEWAY_SECS`] of clock skew, when it lives (`exp − iat`) longer than its
//! role's [`TokenLifetimes`] cap — a leaked token must not work for a
//! century — and when its header carries `crit` (RFC 7515 §4.1.11: a
//! recipient must refuse extensions it does not understand, and Scepter
//! understands none). During a secret rotation the previous secret still
//! verifies but never signs. The HTTP side (`crate::http::auth`) turns a
//! verified token into the caller's role.

use std::{fmt, time::Duration};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "scepter";
pub const AUDIENCE: &str = "scepter-api";
/// Shorter secrets make HS256 guessable offline from any captured token.
pub const MIN_SECRET_BYTES: usize = 32;
/// Clock skew tolerated between the issuer and this server, for `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads and writes every admin resource.
    Admin,
    /// Reads every admin resource; writes are forbidden.
    Reader,
    /// The SCEP server's policy module: verifies challenges, reports issued
    /// certificates and revocations (`/connector/v1`); no admin access.
    Connector,
}

impl Role {
    pub fn can_read(self) -> bool {
        matches!(self, Role::Admin | Role::Reader)
    }

    pub fn can_write(self) -> bool {
        self == Role::Admin
    }

    pub fn can_connect(self) -> bool {
        self == Role::Connector
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reader => "reader",
            Role::Connector => "connector",
        }
    }
}

/// The longest lifetime (`exp − iat`) a token of each role may have.
/// People's tokens are short; the connector's is minted once per SCEP
/// server and rotated by hand, so it may live longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLifetimes {
    pub admin: Duration,
    pub reader: Duration,
    pub connector: Duration,
}

impl TokenLifetimes {
    pub const DEFAULT_ADMIN: Duration = Duration::from_secs(24 * 3600);
    pub const DEFAULT_READER: Duration = Duration::from_secs(24 * 3600);
    pub const DEFAULT_CONNECTOR: Duration = Duration::from_secs(30 * 24 * 3600);

    pub fn max(&self, role: Role) -> Duration {
        match role {
            Role::Admin => self.admin,
            Role::Reader => self.reader,
            Role::Connector => self.connector,
        }
    }
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self {
            admin: Self::DEFAULT_ADMIN,
            reader: Self::DEFAULT_READER,
            connector: Self::DEFAULT_CONNECTOR,
        }
    }
}

/// Why a token was not issued or not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
    #[error("the header carries `crit`, which Scepter does not understand")]
    CriticalHeader,
    #[error("issued in the future (iat)")]
    IssuedInFuture,
    #[error("a {role} token may live at most {max}", role = role.as_str(), max = humantime::format_duration(*max))]
    LifetimeTooLong { role: Role, max: Duration },
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// Not valid before (optional; checked when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// The HMAC secret. `Debug` is redacted so it can never reach a log line.
#[derive(Clone)]
pub struct JwtSecret(Vec<u8>);

impl JwtSecret {
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the JWT secret must be at least {MIN_SECRET_BYTES} bytes, got {}",
                bytes.len()
            ));
        }
        Ok(Self(bytes))
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(<redacted>)")
    }
}

/// Issues tokens with the current secret and verifies them with it (or,
/// during a rotation, with the previous one).
pub struct TokenAuthority {
    encoding: EncodingKey,
    decoding: DecodingKey,
    previous: Option<DecodingKey>,
    validation: Validation,
    lifetimes: TokenLifetimes,
}

impl TokenAuthority {
    /// An authority with the default [`TokenLifetimes`] and no previous secret.
    pub fn new(secret: &JwtSecret) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Self {
            encoding: EncodingKey::from_secret(&secret.0),
            decoding: DecodingKey::from_secret(&secret.0),
            previous: None,
            validation,
            lifetimes: TokenLifetimes::default(),
        }
    }

    /// Also accepts tokens signed with `previous` (rotation); never signs with it.
    pub fn with_previous_secret(mut self, previous: &JwtSecret) -> Self {
        self.previous = Some(DecodingKey::from_secret(&previous.0));
        self
    }

    pub fn with_lifetimes(mut self, lifetimes: TokenLifetimes) -> Self {
        self.lifetimes = lifetimes;
        self
    }

    pub fn lifetimes(&self) -> TokenLifetimes {
        self.lifetimes
    }

    /// A token for `subject` valid for `ttl`, which may not exceed the role's cap.
    pub fn issue(&self, subject: &str, role: Role, ttl: Duration) -> Result<String, TokenError> {
        let max = self.lifetimes.max(role);
        if ttl > max {
            return Err(TokenError::LifetimeTooLong { role, max });
        }
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
            nbf: None,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        if has_critical_header(token) {
            return Err(TokenError::CriticalHeader);
        }
        let decoded = match jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation) {
            Err(error) if *error.kind() == ErrorKind::InvalidSignature => match &self.previous {
                Some(previous) => jsonwebtoken::decode::<Claims>(token, previous, &self.validation),
                None => Err(error),
            },
            decoded => decoded,
        };
        let claims = decoded?.claims;
        let now = chrono::Utc::now().timestamp();
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(i64::MAX);
        if claims.iat > now.saturating_add(leeway) {
            return Err(TokenError::IssuedInFuture);
        }
        let max = self.lifetimes.max(claims.role);
        let lifetime = claims.exp.saturating_sub(claims.iat);
        if lifetime > i64::try_from(max.as_secs()).unwrap_or(i64::MAX) {
            return Err(TokenError::LifetimeTooLong {
                role: claims.role,
                max,
            });
        }
        Ok(claims)
    }
}

/// Whether the token's header has a `crit` parameter (jsonwebtoken ignores it).
/// A header that does not decode is left to jsonwebtoken to refuse.
fn has_critical_header(token: &str) -> bool {
    token
        .split('.')
        .next()
        .and_then(|header| URL_SAFE_NO_PAD.decode(header).ok())
        .and_then(|header| serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&header).ok())
        .is_some_and(|header| header.contains_key("crit"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> JwtSecret {
        JwtSecret::new(vec![byte; MIN_SECRET_BYTES]).unwrap()
    }

    #[test]
    fn the_previous_secret_verifies_but_never_signs() {
        let rotating = TokenAuthority::new(&secret(2)).with_previous_secret(&secret(1));
        let old = TokenAuthority::new(&secret(1))
            .issue("old", Role::Reader, Duration::from_secs(60))
            .unwrap();
        let new = rotating
            .issue("new", Role::Reader, Duration::from_secs(60))
            .unwrap();

        assert_eq!(rotating.verify(&old).unwrap().sub, "old");
        assert_eq!(TokenAuthority::new(&secret(2)).verify(&new).unwrap().sub, "new");
        assert!(TokenAuthority::new(&secret(1)).verify(&new).is_err());
    }

    #[test]
    fn issuing_past_the_role_cap_is_refused() {
        let authority = TokenAuthority::new(&secret(3));
        let day = Duration::from_secs(24 * 3600);

        assert!(authority.issue("a", Role::Admin, day).is_ok());
        let refused = authority.issue("a", Role::Admin, day + Duration::from_secs(1));
        assert!(matches!(
            refused,
            Err(TokenError::LifetimeTooLong {
                role: Role::Admin,
                ..
            })
        ));
        assert_eq!(
            refused.unwrap_err().to_string(),
            "a admin token may live at most 1day"
        );
        assert!(authority.issue("c", Role::Connector, 30 * day).is_ok());
        let longer = TokenAuthority::new(&secret(3)).with_lifetimes(TokenLifetimes {
            admin: 2 * day,
            ..TokenLifetimes::default()
        });
        assert!(longer.issue("a", Role::Admin, 2 * day).is_ok());
    }
}
