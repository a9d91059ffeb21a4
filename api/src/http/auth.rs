//! Who is calling: bearer tokens (see `crate::tokens`) and device
//! credentials turned into typed extractors. Handlers state the role they
//! need by taking an [`Admin`], [`Reader`], [`Connector`] or [`DeviceCaller`]
//! argument, so an endpoint cannot forget its check.

use std::{
    future::{ready, Ready},
    marker::PhantomData,
};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpMessage, HttpRequest};

use crate::{error::ApiError, state::AppState, tokens::Role};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    /// The request's id (see `telemetry::request_span`), for the audit trail.
    pub request_id: Option<uuid::Uuid>,
}

fn authenticate(request: &HttpRequest) -> Result<Principal, ApiError> {
    let state = request
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("application state missing".to_owned()))?;
    let token = bearer_token(request)?;
    let claims = state.tokens.verify(token).map_err(|error| {
        tracing::info!(reason = %error, "rejected bearer token");
        ApiError::Unauthenticated("the bearer token is invalid or expired")
    })?;
    Ok(Principal {
        subject: claims.sub,
        role: claims.role,
        request_id: request
            .extensions()
            .get::<crate::http::telemetry::RequestId>()
            .map(|id| id.0),
    })
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(request: &HttpRequest) -> Result<&str, ApiError> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated("send Authorization: Bearer <token>"))?
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        // RFC 9110 §11.1: the scheme is case-insensitive.
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or(ApiError::Unauthenticated(
            "the Authorization header must be `Bearer <token>`",
        ))
}

fn authorize(
    request: &HttpRequest,
    allowed: fn(Role) -> bool,
    action: &'static str,
) -> Result<Principal, ApiError> {
    let principal = authenticate(request)?;
    if !allowed(principal.role) {
        tracing::info!(subject = %principal.subject, role = ?principal.role, action, "forbidden");
        return Err(ApiError::Forbidden(action));
    }
    Ok(principal)
}

/// A caller whose token's role meets `N`: [`Admin`], [`Reader`] or [`Connector`].
#[derive(Debug, Clone)]
pub struct Authorized<N>(pub Principal, PhantomData<N>);

impl<N> Authorized<N> {
    /// The caller as the audit trail names it.
    pub fn actor(&self) -> scepter_storage::Actor {
        self.0.actor()
    }
}

/// What an [`Authorized`] caller needs: a role that passes the check, or a
/// 403 naming the action.
pub trait Need {
    const NEED: (fn(Role) -> bool, &'static str);
}

impl<N: Need> FromRequest for Authorized<N> {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (allowed, action) = N::NEED;
        ready(authorize(request, allowed, action).map(|principal| Authorized(principal, PhantomData)))
    }
}

/// A caller allowed to change resources.
pub type Admin = Authorized<ChangeResources>;
/// A caller allowed to read resources.
pub type Reader = Authorized<ReadResources>;
/// The SCEP server's policy module (role `connector`).
pub type Connector = Authorized<Connect>;

#[derive(Debug, Clone)]
pub enum ChangeResources {}
#[derive(Debug, Clone)]
pub enum ReadResources {}
#[derive(Debug, Clone)]
pub enum Connect {}

impl Need for ChangeResources {
    const NEED: (fn(Role) -> bool, &'static str) = (Role::can_write, "this operation needs the admin role");
}
impl Need for ReadResources {
    const NEED: (fn(Role) -> bool, &'static str) =
        (Role::can_read, "this operation needs the reader or admin role");
}
impl Need for Connect {
    const NEED: (fn(Role) -> bool, &'static str) =
        (Role::can_connect, "this operation needs the connector role");
}

/// A device authenticated with its own credential (`/device/v1`). Handlers
/// take the device id from here, never from the request, so a device can only
/// ever act as itself.
#[derive(Debug, Clone, Copy)]
pub struct DeviceCaller {
    pub device_id: uuid::Uuid,
    /// The generations of the device's facts, read with the credential (see `facts_cache`).
    pub generations: scepter_storage::FactsGenerations,
}

impl FromRequest for DeviceCaller {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let credential = bearer_token(request)
            .ok()
            .and_then(|token| scepter_domain::device_credential::DeviceCredential::parse(token).ok());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("application state missing".to_owned()))?;
            let credential = credential.ok_or(ApiError::Unauthenticated(
                "send Authorization: Bearer <device credential>",
            ))?;
            let stored = state.store.device_credential(credential.id()).await?;
            match stored {
                Some(stored) if !stored.revoked && credential.matches(&stored.secret_digest) => {
                    Ok(DeviceCaller {
                        device_id: stored.device_id,
                        generations: stored.generations,
                    })
                }
                _ => {
                    tracing::info!(credential_id = %credential.id(), "rejected device credential");
                    Err(ApiError::Unauthenticated(
                        "the device credential is invalid or revoked",
                    ))
                }
            }
        })
    }
}
