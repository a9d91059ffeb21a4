//! `POST /device/v1/checkin`: a device reports what it has and gets, per
//! profile, what to do — with rendered payloads and fresh challenges where it
//! must enroll. Decisions are `scepter_domain::checkin`'s; this module
//! gathers the facts, answers 304 when the device's state tag is unchanged,
//! and renders otherwise.

use std::{collections::HashMap, sync::Arc};

use actix_web::{
    http::header::{self, HeaderValue},
    web, HttpRequest, HttpResponse,
};
use chrono::{DateTime, Duration, Utc};
use scepter_domain::{
    challenge::{self, ChallengeClaims},
    checkin::{
        self, Action, CheckInReport, Decision, ItemReason, ItemState, LedgerCertificate, ProfileForDevice,
        TagInputs,
    },
    enrollment::MAX_DETAIL_CHARS,
    render::{self, ScepPayloadInput, TrustedPayloadInput, TrustedProfileRef},
    subject_name::{expand_name, ExpansionError, NameContext},
    targeting::{effective_profiles, Explain, ProfileKind},
    text::bounded,
};
use scepter_storage::{CheckInFacts, DeviceStep, EnrollmentStep};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::resource;
use crate::{error::ApiError, http::auth::DeviceCaller, http::extract::ValidJson, state::AppState};

pub const PATH: &str = "/device/v1/checkin";

/// How stale `lastCheckInDateTime` may get before an unchanged (304)
/// check-in writes it: idle check-ins then cost no write most of the time.
const LAST_CHECK_IN_RESOLUTION: Duration = Duration::seconds(60);

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(resource(PATH, "POST").route(web::post().to(check_in)));
}

/// What the device must do with one profile.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckInItem {
    pub profile_id: Uuid,
    /// Absent only for `remove` of a profile that no longer exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_type: Option<ProfileKind>,
    /// The profile's current version (for `remove` of a deleted profile, the reported one).
    pub version: i64,
    pub action: Action,
    /// The payload's media type; present with `payload`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The rendered payload for the device's platform (`install` and `renew`);
    /// SCEP payloads carry a fresh one-time challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    pub state: ItemState,
    pub reason: ItemReason,
    /// For a `failed` item: which value or rule stopped the payload, for admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckInResponse {
    pub items: Vec<CheckInItem>,
}

/// Check in
///
/// The device reports its installed profiles and certificates and gets one
/// item per profile that reaches it or that it must remove. The response
/// carries an `ETag` over the device's effective state; sending it back in
/// `If-None-Match` gets 304 without a body while nothing changed. Responses
/// with payloads change at least every half challenge lifetime, so a device
/// never holds on to an expired challenge.
#[utoipa::path(post, path = "/device/v1/checkin", tag = "device", operation_id = "checkIn",
    request_body = CheckInReport,
    params(("If-None-Match" = Option<String>, Header, description = "ETag of the last check-in response")),
    responses(
        (status = 200, description = "What to do per profile", body = CheckInResponse,
            headers(("ETag" = String, description = "Tag of the device's effective state"))),
        (status = 304, description = "Nothing changed since the response tagged `If-None-Match`",
            headers(("ETag" = String, description = "Tag of the device's effective state"))),
        (status = 401, description = "Missing, invalid or revoked device credential", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn check_in(
    caller: DeviceCaller,
    state: web::Data<AppState>,
    request: HttpRequest,
    body: ValidJson<CheckInReport>,
) -> Result<HttpResponse, ApiError> {
    let report = body.0.validate()?;
    let now = Utc::now();
    let facts = facts_of(&state, caller).await?;
    let decisions = decide(&state, &facts, &report, now).await?;
    let tag = checkin::state_tag(
        &TagInputs {
            device_id: caller.device_id,
            device_version: facts.device.version,
            user_version: facts.user.as_ref().map(|user| user.version),
            settings_fingerprint: state.settings_fingerprint,
            now: now.timestamp(),
            challenge_lifetime: state.enrollment.challenge_lifetime_secs,
        },
        &decisions,
    );
    let touch = facts
        .device
        .content
        .last_check_in_at
        .is_none_or(|last| now - last >= LAST_CHECK_IN_RESOLUTION);

    if if_none_match(&request, &tag) {
        record(&state, caller, &facts, touch, &[]).await?;
        state.metrics.observe_check_in("304");
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    }

    let mut items = Vec::with_capacity(decisions.len());
    let mut offered = Vec::new();
    for decision in decisions {
        let item = render_item(&state, &facts, decision, now).await?;
        if item.payload.is_some() && item.profile_type == Some(ProfileKind::ScepCertificate) {
            offered.push((item.profile_id, item.version));
        }
        items.push(item);
    }
    record(&state, caller, &facts, touch, &offered).await?;
    state.metrics.observe_check_in("200");
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        // Payloads carry one-time challenges: no cache may keep them.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CheckInResponse { items }))
}

/// The device's facts: cached at the caller's state generation, or read.
async fn facts_of(state: &AppState, caller: DeviceCaller) -> Result<Arc<CheckInFacts>, ApiError> {
    if let Some(facts) = state
        .check_in_facts
        .get(caller.device_id, caller.state_generation)
    {
        return Ok(facts);
    }
    let facts = Arc::new(
        state
            .store
            .check_in_facts(caller.device_id)
            .await?
            .ok_or(ApiError::NotFound)?,
    );
    state
        .check_in_facts
        .put(caller.device_id, caller.state_generation, Arc::clone(&facts));
    Ok(facts)
}

/// Writes what changed — a stale `lastCheckInDateTime`, `challengeIssued`
/// for offered profiles not yet in that state — and keeps the cached facts
/// in step. An unchanged device writes nothing.
async fn record(
    state: &AppState,
    caller: DeviceCaller,
    facts: &CheckInFacts,
    touch: bool,
    offered: &[(Uuid, i64)],
) -> Result<(), ApiError> {
    let new_steps: Vec<(Uuid, i64)> = offered
        .iter()
        .copied()
        .filter(|(profile_id, version)| {
            !facts.steps.iter().any(|step| {
                step.profile_id == *profile_id
                    && step.profile_version == *version
                    && step.step == EnrollmentStep::ChallengeIssued
            })
        })
        .collect();
    if !touch && new_steps.is_empty() {
        return Ok(());
    }
    let at = scepter_storage::now();
    state
        .store
        .record_check_in(caller.device_id, at, touch, &new_steps)
        .await?;
    let mut updated = facts.clone();
    if touch {
        updated.device.content.last_check_in_at = Some(at);
    }
    for (profile_id, profile_version) in new_steps {
        updated.steps.retain(|step| step.profile_id != profile_id);
        updated.steps.push(DeviceStep {
            profile_id,
            profile_version,
            step: EnrollmentStep::ChallengeIssued,
        });
    }
    state
        .check_in_facts
        .put(caller.device_id, caller.state_generation, Arc::new(updated));
    Ok(())
}

/// The decisions for this device, reading SCEP profiles' renewal thresholds from the cache.
async fn decide(
    state: &AppState,
    facts: &CheckInFacts,
    report: &CheckInReport,
    now: DateTime<Utc>,
) -> Result<Vec<Decision>, ApiError> {
    let versions: HashMap<(ProfileKind, Uuid), i64> = facts
        .profiles
        .iter()
        .map(|profile| ((profile.kind, profile.profile_id), profile.version))
        .collect();
    let known_kinds: HashMap<Uuid, ProfileKind> = facts
        .profiles
        .iter()
        .map(|profile| (profile.profile_id, profile.kind))
        .collect();
    let mut profiles = Vec::new();
    for effective in effective_profiles(&facts.memberships, &facts.profiles, Explain::No) {
        let version = versions
            .get(&(effective.kind, effective.profile_id))
            .copied()
            .unwrap_or_default();
        let renewal_threshold_percent = match effective.kind {
            ProfileKind::TrustedCertificate => None,
            ProfileKind::ScepCertificate => state
                .profiles
                .scep(state.store.as_ref(), effective.profile_id, version)
                .await?
                .map(|profile| profile.content.settings.renewal_threshold_percentage.percent()),
        };
        profiles.push(ProfileForDevice {
            effective,
            version,
            renewal_threshold_percent,
        });
    }
    let ledger: Vec<LedgerCertificate> = facts
        .certificates
        .iter()
        .map(|certificate| LedgerCertificate {
            profile_id: certificate.profile_id,
            thumbprint_sha1: certificate.thumbprint_sha1.clone(),
            not_before: certificate.not_before,
            not_after: certificate.not_after,
            revoke_status: certificate.revoke_status,
        })
        .collect();
    Ok(checkin::decide(&profiles, &known_kinds, report, &ledger, now))
}

/// Whether `If-None-Match` lists `tag` (strong comparison, RFC 9110 §13.1.2; `*` matches).
fn if_none_match(request: &HttpRequest, tag: &str) -> bool {
    request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value: &HeaderValue| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|candidate| candidate == tag || candidate == "*")
}

async fn render_item(
    state: &AppState,
    facts: &CheckInFacts,
    decision: Decision,
    now: DateTime<Utc>,
) -> Result<CheckInItem, ApiError> {
    let mut item = CheckInItem {
        profile_id: decision.profile_id,
        profile_type: decision.kind,
        version: decision.version,
        action: decision.action,
        content_type: None,
        payload: None,
        state: decision.state,
        reason: decision.reason,
        detail: None,
    };
    if !decision.action.has_payload() {
        return Ok(item);
    }
    let device_id = facts.device.id;
    let rendered = match decision.kind {
        Some(ProfileKind::TrustedCertificate) => {
            let Some(profile) = state
                .profiles
                .trusted(state.store.as_ref(), decision.profile_id, decision.version)
                .await?
            else {
                return Ok(unavailable(item));
            };
            render::render_trusted(&TrustedPayloadInput {
                profile: TrustedProfileRef::of(&profile),
                device_id,
                organization: &state.organization,
            })
        }
        Some(ProfileKind::ScepCertificate) => {
            let Some(profile) = state
                .profiles
                .scep(state.store.as_ref(), decision.profile_id, decision.version)
                .await?
            else {
                return Ok(unavailable(item));
            };
            let root_id = profile.content.root_certificate_id;
            let root_version = facts
                .profiles
                .iter()
                .find(|p| p.kind == ProfileKind::TrustedCertificate && p.profile_id == root_id)
                .map_or(-1, |p| p.version);
            let Some(root) = state
                .profiles
                .trusted(state.store.as_ref(), root_id, root_version)
                .await?
            else {
                return Ok(unavailable(item));
            };
            let context = NameContext {
                device_id,
                device: &facts.device.content.device,
                user: facts.user.as_ref().map(|user| &user.content),
            };
            let name = match expand_name(&profile.content.settings, &context) {
                Ok(name) => name,
                Err(error) => {
                    tracing::info!(%device_id, profile_id = %profile.id, %error, "cannot expand the subject name");
                    let reason = match error {
                        ExpansionError::MissingValue { .. } => ItemReason::SubjectNameUnavailable,
                        _ => ItemReason::PayloadUnrenderable,
                    };
                    return Ok(failed(item, reason, &error));
                }
            };
            let token = challenge::issue(
                &state.enrollment.challenge_key,
                &ChallengeClaims {
                    id: Uuid::new_v4(),
                    device_id,
                    profile_id: profile.id,
                    profile_version: profile.version,
                    name_digest: challenge::name_digest(&name),
                    issued_at: now.timestamp(),
                    expires_at: now.timestamp() + state.enrollment.challenge_lifetime_secs,
                },
            );
            item.version = profile.version;
            render::render_scep(&ScepPayloadInput {
                profile_id: profile.id,
                profile_version: profile.version,
                profile: &profile.content,
                root: TrustedProfileRef::of(&root),
                device_id,
                name: &name,
                challenge: &token,
                organization: &state.organization,
            })
        }
        None => return Ok(item),
    };
    // One value that cannot be rendered fails this item only: the device
    // still gets every other profile, its roots and its removals.
    let rendered = match rendered {
        Ok(rendered) => rendered,
        Err(error) => {
            tracing::info!(%device_id, profile_id = %item.profile_id, %error, "cannot render a payload");
            return Ok(failed(item, ItemReason::PayloadUnrenderable, &error));
        }
    };
    let Ok(payload) = String::from_utf8(rendered.body) else {
        return Ok(failed(
            item,
            ItemReason::PayloadUnrenderable,
            &"the payload is not UTF-8",
        ));
    };
    item.content_type = Some(rendered.content_type.to_owned());
    item.payload = Some(payload);
    Ok(item)
}

/// The item as `failed` for `reason`, with the error as its detail.
fn failed(mut item: CheckInItem, reason: ItemReason, error: &dyn std::fmt::Display) -> CheckInItem {
    item.action = Action::None;
    item.state = ItemState::Failed;
    item.reason = reason;
    item.detail = Some(bounded(&error.to_string(), MAX_DETAIL_CHARS));
    item
}

/// The profile was deleted between reading the facts and rendering.
fn unavailable(mut item: CheckInItem) -> CheckInItem {
    item.action = Action::None;
    item.state = ItemState::NotTargeted;
    item.reason = ItemReason::NoLongerAssigned;
    item
}
