//! Payload previews: exactly the bytes a device would get, so an admin can
//! check a profile against a real device before assigning it. The payload is
//! assembled like check-in's (`scepter_domain::payload`), with a placeholder
//! challenge that can never verify.

use chrono::{DateTime, Utc};
use scepter_domain::{
    payload::{self, Challenge, PayloadError},
    render::Rendered,
    subject_name::{ExpansionError, MissingValue, NameContext},
    Platform, ValidationErrors,
};
use scepter_storage::StoredDevice;
use uuid::Uuid;

use crate::{error::ApiError, state::AppState};

/// Never a valid challenge: previews must not hand out enrollment rights.
/// Letters only, so it fits every platform's challenge alphabet (Windows puts
/// it in a PrintableString and documents it as base64).
pub const PREVIEW_CHALLENGE: &str = "SCEPTERPREVIEWPLACEHOLDERNOTACHALLENGE";

/// A rendered payload and the settings its platform cannot express.
#[derive(Debug)]
pub struct Preview {
    pub rendered: Rendered,
    /// The profile's warnings, then the renderer's.
    pub warnings: Vec<String>,
}

impl Preview {
    /// The profile's warnings, then the ones the renderer moved out of `rendered`.
    fn new(mut rendered: Rendered, mut warnings: Vec<String>) -> Self {
        warnings.append(&mut rendered.warnings);
        Self { rendered, warnings }
    }
}

/// The SCEP profile's payload for `device_id`, which must run its platform;
/// a device whose values cannot fill the templates is a 422 naming the value.
pub async fn scep(state: &AppState, profile_id: Uuid, device_id: Uuid) -> Result<Preview, ApiError> {
    let profile = state
        .store
        .scep_profile(profile_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let device = device_for(state, device_id, profile.content.platform).await?;
    let user = match device.device.user_id {
        Some(user_id) => state.store.user(user_id).await?.map(|record| record.content),
        None => None,
    };
    let root = state
        .store
        .trusted_profile(profile.content.root_certificate_id)
        .await?
        .ok_or_else(|| ApiError::Internal("a SCEP profile's root profile is missing".to_owned()))?;
    let context = NameContext {
        device_id,
        device: &device.device,
        user: user.as_ref(),
    };
    let challenge = Challenge::Placeholder(PREVIEW_CHALLENGE);
    let rendered = payload::scep_payload(&profile, &root, &context, &state.organization, challenge).map_err(
        |error| match error {
            // One error per variable: the admin sees every value to fill at once.
            PayloadError::Name(ExpansionError::MissingValues(missing)) => {
                let mut errors = ValidationErrors::new();
                for MissingValue { variable, reason } in missing {
                    errors.push(
                        "deviceId",
                        "missingValue",
                        format!("{{{{{variable}}}}}: {reason}"),
                    );
                }
                ApiError::Validation(errors)
            }
            PayloadError::Name(ExpansionError::InvalidValue { field, rule, reason }) => {
                ApiError::field("deviceId", rule, format!("{field}: {reason}"))
            }
            PayloadError::Name(other) => ApiError::Internal(other.to_string()),
            PayloadError::Render(error) => ApiError::field("deviceId", "render", error.to_string()),
        },
    )?;
    Ok(Preview::new(rendered, profile.content.warnings()))
}

/// The trusted profile's payload for `device_id`, which must run its platform.
pub async fn trusted(
    state: &AppState,
    profile_id: Uuid,
    device_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Preview, ApiError> {
    let profile = state
        .store
        .trusted_profile(profile_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    device_for(state, device_id, profile.content.platform).await?;
    let rendered = payload::trusted_payload(&profile, device_id, &state.organization)
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(Preview::new(rendered, profile.content.warnings(now)))
}

/// The device, which must exist and run the profile's platform.
async fn device_for(state: &AppState, device_id: Uuid, platform: Platform) -> Result<StoredDevice, ApiError> {
    let device = state
        .store
        .device(device_id)
        .await?
        .ok_or_else(|| ApiError::field("deviceId", "exists", "does not name an existing device"))?
        .content;
    if device.device.platform != platform {
        return Err(ApiError::field(
            "deviceId",
            "platform",
            format!(
                "the device runs {}, the profile is for {platform}",
                device.device.platform
            ),
        ));
    }
    Ok(device)
}
